//! The outbox: the one place where the gateway's live messages leave it. The district owners
//! ([`crate::owner`]) hand it the snapshots that changed on each of their ticks; it publishes
//! those whose payload differs from the last one sent (retained, QoS 1, over the gateway's
//! own MQTT session) and streams the same to WebSocket clients; dead letters go the same way,
//! not retained. It also publishes the gateway's status (`online`, and `offline` once every
//! owner has made its last tick) and asks the store to prune on a timer.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use district::contract::live::GatewayStatus;
use district::contract::time::format_millis;
use district::contract::{topic, CONTRACT_VERSION};
use rumqttc::{AsyncClient, LastWill, MqttOptions, QoS};
use tokio::sync::mpsc;

use crate::shared::{LiveUpdate, Shared};
use crate::store::{StoreMsg, StoreTx};

/// Outbox settings.
#[derive(Debug, Clone)]
pub struct PublishSettings {
    /// Raw retention, ms.
    pub raw_retention_ms: i64,
    /// Rollup retention, ms.
    pub rollup_retention_ms: i64,
    /// Set a last will on the status topic (external brokers).
    pub last_will: bool,
}

/// Runs the outbox until every sender of `snapshots` (the district owners) is gone; then
/// publishes `offline` and returns.
pub async fn run(
    shared: Arc<Shared>,
    mut opts: MqttOptions,
    settings: PublishSettings,
    store: StoreTx,
    mut snapshots: mpsc::Receiver<Vec<(String, String)>>,
    mut deadletters: mpsc::Receiver<LiveUpdate>,
) {
    let status = |state: &str| GatewayStatus {
        state: state.into(),
        instance: shared.instance.clone(),
        contract: CONTRACT_VERSION.into(),
        since: format_millis(chrono::Utc::now().timestamp_millis()),
    };
    if settings.last_will {
        if let Some(first) = shared.districts.first() {
            let will = serde_json::to_vec(&status("offline")).unwrap_or_default();
            opts.set_last_will(LastWill::new(
                topic::gateway_status(&first.model.id),
                will,
                QoS::AtLeastOnce,
                true,
            ));
        }
    }
    let client = super::spawn_session(opts, 20_000);
    publish_status(&shared, &client, &status("online")).await;
    let mut last: HashMap<String, Arc<str>> = HashMap::new();
    let mut prune = tokio::time::interval(Duration::from_secs(600));
    prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            batch = snapshots.recv() => match batch {
                Some(batch) => publish(&shared, &client, &mut last, batch).await,
                // Every owner has made its last tick: the gateway is stopping.
                None => break,
            },
            Some(dl) = deadletters.recv() => {
                let _ = client.publish(dl.topic.clone(), QoS::AtLeastOnce, false, dl.payload.as_bytes().to_vec()).await;
                let _ = shared.live.send(dl);
            }
            _ = prune.tick() => {
                let now = shared.clock.now_ms();
                store.send(StoreMsg::Prune {
                    raw_before: now - settings.raw_retention_ms,
                    rollup_before: now - settings.rollup_retention_ms,
                }).await;
            }
        }
    }
    publish_status(&shared, &client, &status("offline")).await;
    let _ = client.disconnect().await;
}

/// The gateway's status, retained, on every district's status topic.
async fn publish_status(shared: &Shared, client: &AsyncClient, status: &GatewayStatus) {
    let payload = serde_json::to_string(status).unwrap_or_default();
    for d in &shared.districts {
        let _ = client
            .publish(
                topic::gateway_status(&d.model.id),
                QoS::AtLeastOnce,
                true,
                payload.clone(),
            )
            .await;
    }
}

/// Publishes what changed since the last time each topic was sent.
async fn publish(
    shared: &Shared,
    client: &AsyncClient,
    last: &mut HashMap<String, Arc<str>>,
    batch: Vec<(String, String)>,
) {
    for (t, payload) in batch {
        if last.get(&t).is_some_and(|p| **p == *payload) {
            continue;
        }
        let payload: Arc<str> = payload.into();
        if client
            .publish(
                t.clone(),
                QoS::AtLeastOnce,
                true,
                payload.as_bytes().to_vec(),
            )
            .await
            .is_ok()
        {
            shared.metrics.live_published.fetch_add(1, Relaxed);
        }
        let _ = shared.live.send(LiveUpdate {
            topic: t.clone(),
            payload: payload.clone(),
        });
        last.insert(t, payload);
    }
}
