//! The ingest pipeline: validate, deduplicate, apply to the live state, hand to the store.
//! Rejects are stored, counted by reason and published as dead letters (rate-limited).

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use district::contract::deadletter::DeadLetter;
use district::contract::time::format_millis;
use district::contract::topic;
use rumqttc::{Publish, QoS};
use tokio::sync::mpsc;

use super::validate::{validate, Limits, Reject};
use crate::shared::{LiveUpdate, Shared};
use crate::state::Applied;
use crate::store::{StoreMsg, StoreTx};

/// Runs until the queue closes, then flushes the store.
pub async fn run(
    shared: Arc<Shared>,
    mut rx: mpsc::Receiver<Publish>,
    store: StoreTx,
    deadletters: mpsc::Sender<LiveUpdate>,
    limits: Limits,
    deadletter_per_sec: u32,
) {
    let metrics = shared.metrics.clone();
    let mut budget: HashMap<Option<usize>, (i64, u32)> = HashMap::new();
    while let Some(mut p) = rx.recv().await {
        metrics.ingest_queue.fetch_sub(1, Relaxed);
        metrics.received.fetch_add(1, Relaxed);
        let arrived = std::time::Instant::now();
        let payload = std::mem::take(&mut p.payload);
        let topic_owned = p.topic.clone();
        let topic: &str = &topic_owned;
        let ack = (p.qos != QoS::AtMostOnce).then_some(p);
        let now = shared.clock.now_ms();
        let outcome = validate(&shared, limits, topic, &payload, now).and_then(|v| {
            let h = &shared.districts[v.district];
            let applied = h.state().apply(v.device, &v.reading);
            match applied {
                Applied::Accepted => Ok(Some(v)),
                Applied::Duplicate => Ok(None),
                Applied::WrongShape(m) => Err((Some(v.district), Reject::WrongShape(m))),
            }
        });
        match outcome {
            Ok(Some(v)) => {
                metrics.accepted.fetch_add(1, Relaxed);
                let h = &shared.districts[v.district];
                let dev = &h.model.devices[v.device];
                if dev.kind == district::DeviceKind::Fire {
                    shared.alert_wake.notify_one();
                }
                let value = serde_json::to_string(&v.reading.value).unwrap_or_default();
                store
                    .send(StoreMsg::Reading {
                        key: (v.district as u32, v.device as u32),
                        district: h.id.clone(),
                        device: h.device_ids[v.device].clone(),
                        arrived,
                        kind: dev.kind.as_str(),
                        ts: v.reading.ts_ms,
                        seq: v.reading.seq,
                        value,
                        ack,
                    })
                    .await;
            }
            Ok(None) => {
                metrics.duplicates.fetch_add(1, Relaxed);
                if let Some(a) = ack {
                    store.send(StoreMsg::AckOnly(a)).await;
                }
            }
            Err((di, reject)) => {
                let reason = reject.reason();
                metrics.reject(reason);
                let district = di
                    .map(|i| shared.districts[i].model.id.clone())
                    .unwrap_or_default();
                let detail = reject.to_string();
                if let Some(i) = di {
                    let slot = budget.entry(Some(i)).or_insert((0, 0));
                    let second = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs() as i64)
                        .unwrap_or_default();
                    if slot.0 != second {
                        *slot = (second, 0);
                    }
                    if slot.1 < deadletter_per_sec {
                        slot.1 += 1;
                        let dl = DeadLetter::new(
                            topic,
                            reason,
                            detail.clone(),
                            &payload,
                            format_millis(now),
                        );
                        let msg = LiveUpdate {
                            topic: topic::deadletter(&district),
                            payload: serde_json::to_string(&dl).unwrap_or_default().into(),
                        };
                        if deadletters.try_send(msg).is_ok() {
                            metrics.deadletters_published.fetch_add(1, Relaxed);
                        }
                    }
                }
                let cut = payload
                    .len()
                    .min(district::contract::deadletter::MAX_DEADLETTER_PAYLOAD);
                store
                    .send(StoreMsg::DeadLetter {
                        received: now,
                        district,
                        topic: topic.to_string(),
                        reason,
                        detail,
                        payload: payload[..cut].to_vec(),
                        ack,
                    })
                    .await;
            }
        }
    }
    store.flush().await;
}
