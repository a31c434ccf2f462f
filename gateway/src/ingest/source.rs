//! The gateway's MQTT ingest session: subscribes to every sensor topic with QoS 1 and manual
//! acknowledgements, forwards messages to the pipeline through a bounded queue, and sends each
//! acknowledgement only when the store has committed the message's row.
//!
//! The session is persistent (clean session off): with an external broker, messages that
//! arrive while the gateway is down or before their ack are kept by the broker and
//! redelivered; the pipeline drops redeliveries as duplicates.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use district::backoff::Backoff;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use tokio::sync::{mpsc, watch};

use crate::metrics::Metrics;

/// Runs the ingest session until `shutdown` turns true. `subscribed` is true while the
/// session is connected and its subscription acknowledged (readings flow).
pub async fn run(
    mut opts: MqttOptions,
    filter: String,
    tx: mpsc::Sender<Publish>,
    mut acks: mpsc::UnboundedReceiver<Vec<Publish>>,
    metrics: Arc<Metrics>,
    subscribed: watch::Sender<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    opts.set_manual_acks(true);
    opts.set_clean_session(false);
    let (client, mut eventloop) = AsyncClient::new(opts, 10_000);
    let acker = client.clone();
    tokio::spawn(async move {
        while let Some(batch) = acks.recv().await {
            for p in batch {
                // If the session is gone the broker redelivers the message; the pipeline then
                // drops it as a duplicate and acknowledges it again.
                let _ = acker.ack(&p).await;
            }
        }
    });
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), None);
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    let _ = client.disconnect().await;
                    return;
                }
            }
            ev = eventloop.poll() => match ev {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    metrics.ingest_queue.fetch_add(1, Relaxed);
                    if tx.send(p).await.is_err() {
                        return;
                    }
                }
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    backoff.reset();
                    metrics.mqtt_connected.store(true, Relaxed);
                    metrics.mqtt_connects.fetch_add(1, Relaxed);
                    tracing::info!(session_present = ack.session_present, "ingest session connected");
                    if let Err(e) = client.subscribe(filter.clone(), QoS::AtLeastOnce).await {
                        tracing::warn!(error = %e, "subscribe failed");
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    subscribed.send_replace(true);
                }
                Ok(_) => {}
                Err(e) => {
                    metrics.mqtt_connected.store(false, Relaxed);
                    subscribed.send_replace(false);
                    let wait = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in = ?wait, "ingest session lost; reconnecting");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}
