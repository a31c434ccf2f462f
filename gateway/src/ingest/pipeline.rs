//! The broker path's pipeline: messages from the ingest session, admitted
//! ([`super::admit`]) and handed to the store, which decides what is new. Readings reach the
//! live state only through the store's verdicts ([`super::commit`]).

use std::sync::atomic::Ordering::Relaxed;

use rumqttc::{Publish, QoS};
use tokio::sync::mpsc;

use super::admit::Admission;
use crate::store::{Ack, StoreTx};

/// Runs until the queue closes, then flushes the store.
pub async fn run(admission: Admission, mut rx: mpsc::Receiver<Publish>, store: StoreTx) {
    let metrics = admission.shared.metrics.clone();
    while let Some(mut p) = rx.recv().await {
        metrics.ingest_queue.fetch_sub(1, Relaxed);
        let payload = std::mem::take(&mut p.payload);
        let topic = p.topic.clone();
        let ack = (p.qos != QoS::AtMostOnce).then_some(Ack::Broker(p));
        // Always the queue, never the urgent lane: rumqttd disconnects a session whose PUBACK
        // is not for its oldest message in flight, and the lane would reorder them.
        store.send(admission.admit(&topic, &payload, ack)).await;
    }
    store.flush().await;
}
