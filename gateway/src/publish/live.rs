//! The outbox: the one place where the gateway's messages leave it. The district owners
//! ([`crate::owner`]) hand it what their steps made ([`Out`]):
//! - retained topics (live snapshots, sign frames, forecasts): published when their payload
//!   differs from the last one sent (retained, QoS 1, over the gateway's own MQTT session);
//! - alert transitions: published (QoS 1, not retained) once the store has committed them,
//!   with the open list (`alerts/active`, retained); the webhook worker is woken for their
//!   deliveries, and whoever waits for them (an operator's action) is told.
//!
//! Everything published is streamed to WebSocket clients too; dead letters go the same way,
//! not retained. It also publishes the gateway's status (`online`, and `offline` once every
//! owner has made its last tick) and asks the store to prune on a timer.
//!
//! A transition the store could not take is published all the same (a fire must reach the
//! fire team on a full disk too), counted as a store error, and an operator who caused it is
//! told.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use district::contract::live::GatewayStatus;
use district::contract::time::format_millis;
use district::contract::{topic, CONTRACT_VERSION};
use rumqttc::{AsyncClient, LastWill, MqttOptions, QoS};
use tokio::sync::{mpsc, Notify};

use crate::owner::{AlertsOut, Out};
use crate::shared::{LiveUpdate, Shared};
use crate::store::{StoreMsg, StoreTx, WriteError};

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
    mut outbox: mpsc::UnboundedReceiver<Out>,
    mut deadletters: mpsc::Receiver<LiveUpdate>,
    webhooks: Arc<Notify>,
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
            out = outbox.recv() => match out {
                Some(Out::Retained(batch)) => publish(&shared, &client, &mut last, batch).await,
                Some(Out::Alerts(a)) => alerts(&shared, &client, a, &webhooks).await,
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

/// Publishes alert transitions once stored, then the open list; tells whoever waits.
async fn alerts(shared: &Shared, client: &AsyncClient, a: AlertsOut, webhooks: &Notify) {
    let stored = a.stored.await.unwrap_or(Err(WriteError::Stopped));
    match &stored {
        Ok(()) if a.webhooks => webhooks.notify_one(),
        Ok(()) => {}
        Err(e) => {
            tracing::error!(district = %a.district, error = %e, "alert transitions could not be stored; published all the same")
        }
    }
    let t = topic::alerts(&a.district);
    for msg in &a.msgs {
        tracing::info!(alert = %msg.id, transition = %msg.transition, severity = ?msg.severity, "alert");
        let payload: Arc<str> = serde_json::to_string(msg).unwrap_or_default().into();
        if client
            .publish(
                t.clone(),
                QoS::AtLeastOnce,
                false,
                payload.as_bytes().to_vec(),
            )
            .await
            .is_ok()
        {
            shared.metrics.alert_transitions.fetch_add(1, Relaxed);
        }
        let _ = shared.live.send(LiveUpdate {
            topic: t.clone(),
            payload,
        });
    }
    let active = topic::alerts_active(&a.district);
    let payload: Arc<str> = serde_json::to_string(&a.active).unwrap_or_default().into();
    let _ = client
        .publish(
            active.clone(),
            QoS::AtLeastOnce,
            true,
            payload.as_bytes().to_vec(),
        )
        .await;
    let _ = shared.live.send(LiveUpdate {
        topic: active,
        payload,
    });
    if let Some(published) = a.published {
        let _ = published.send(stored);
    }
}
