//! The ingest pipeline: validate, then hand to the store, which decides what is new.
//! Rejects are stored, counted by reason and published as dead letters (rate-limited).
//! Readings reach the live state only through the store's verdicts ([`super::commit`]).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use rumqttc::{Publish, QoS};
use tokio::sync::mpsc;

use super::deadletter::DeadLetters;
use super::validate::{validate, Limits};
use crate::shared::Shared;
use crate::store::writer::{Candidate, DeadLetterRow};
use crate::store::{StoreMsg, StoreTx};

/// Runs until the queue closes, then flushes the store.
pub async fn run(
    shared: Arc<Shared>,
    mut rx: mpsc::Receiver<Publish>,
    store: StoreTx,
    deadletters: Arc<DeadLetters>,
    limits: Limits,
) {
    let metrics = shared.metrics.clone();
    while let Some(mut p) = rx.recv().await {
        metrics.ingest_queue.fetch_sub(1, Relaxed);
        metrics.received.fetch_add(1, Relaxed);
        let arrived = std::time::Instant::now();
        let payload = std::mem::take(&mut p.payload);
        let topic = p.topic.clone();
        let ack = (p.qos != QoS::AtMostOnce).then_some(p);
        let now = shared.clock.now_ms();
        let letter = |district: String, reason: &'static str, detail: String| DeadLetterRow {
            received: now,
            district,
            topic: topic.clone(),
            reason,
            detail,
            payload: payload.to_vec(),
        };
        match validate(&shared, limits, &topic, &payload, now) {
            Ok(v) => {
                let h = &shared.districts[v.district];
                let late = v
                    .late
                    .map(|r| letter(h.model.id.clone(), r.reason(), r.to_string()));
                let candidate = Candidate {
                    district: v.district,
                    device: v.device,
                    district_id: h.id.clone(),
                    device_id: h.device_ids[v.device].clone(),
                    kind: h.model.devices[v.device].kind.as_str(),
                    reading: v.reading,
                    arrived,
                    late,
                    ack,
                };
                store.send(StoreMsg::Reading(Box::new(candidate))).await;
            }
            Err((di, reject)) => {
                let reason = reject.reason();
                metrics.reject(reason);
                let district = di
                    .map(|i| shared.districts[i].model.id.clone())
                    .unwrap_or_default();
                let row = letter(district, reason, reject.to_string());
                if let Some(i) = di {
                    deadletters.publish(i, &row);
                }
                store.send(StoreMsg::DeadLetter { row, ack }).await;
            }
        }
    }
    store.flush().await;
}
