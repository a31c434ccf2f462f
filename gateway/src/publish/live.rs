//! The live publisher: on every tick, closes complete minutes (rollups to the store), builds
//! the snapshots of what changed, and publishes those whose payload differs from the last one
//! sent, retained, QoS 1. Ticks are `min_interval_ms` apart, so no topic is published more
//! often than that. Every tenth tick every snapshot is rebuilt, so a zone or lot that turns
//! stale without new data is republished.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use district::contract::live::GatewayStatus;
use district::contract::time::format_millis;
use district::contract::{topic, CONTRACT_VERSION};
use rumqttc::{AsyncClient, LastWill, MqttOptions, QoS};
use tokio::sync::{mpsc, watch};

use crate::shared::{LiveUpdate, Shared};
use crate::store::{StoreMsg, StoreTx};

/// Publisher settings.
#[derive(Debug, Clone)]
pub struct PublishSettings {
    /// Tick, wall ms.
    pub min_interval_ms: u64,
    /// Rollup grace, event ms.
    pub rollup_grace_ms: i64,
    /// Rollup close-after, clock ms.
    pub rollup_close_after_ms: i64,
    /// Raw retention, ms.
    pub raw_retention_ms: i64,
    /// Rollup retention, ms.
    pub rollup_retention_ms: i64,
    /// Set a last will on the status topic (external brokers).
    pub last_will: bool,
}

/// Runs the publisher until `shutdown`; then publishes `offline` and returns.
pub async fn run(
    shared: Arc<Shared>,
    mut opts: MqttOptions,
    settings: PublishSettings,
    store: StoreTx,
    mut deadletters: mpsc::Receiver<LiveUpdate>,
    mut shutdown: watch::Receiver<bool>,
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
    let online = serde_json::to_string(&status("online")).unwrap_or_default();
    for d in &shared.districts {
        let _ = client
            .publish(
                topic::gateway_status(&d.model.id),
                QoS::AtLeastOnce,
                true,
                online.clone(),
            )
            .await;
    }
    let mut last: HashMap<String, Arc<str>> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(settings.min_interval_ms.max(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    publish_tick(&shared, &client, &settings, &store, &mut last, true).await;
                    let offline = serde_json::to_string(&status("offline")).unwrap_or_default();
                    for d in &shared.districts {
                        let _ = client.publish(topic::gateway_status(&d.model.id), QoS::AtLeastOnce, true, offline.clone()).await;
                    }
                    let _ = client.disconnect().await;
                    return;
                }
            }
            Some(dl) = deadletters.recv() => {
                let _ = client.publish(dl.topic.clone(), QoS::AtLeastOnce, false, dl.payload.as_bytes().to_vec()).await;
                let _ = shared.live.send(dl);
            }
            _ = tick.tick() => {
                n += 1;
                publish_tick(&shared, &client, &settings, &store, &mut last, n % 10 == 0).await;
                if n % 600 == 1 {
                    let now = shared.clock.now_ms();
                    store.send(StoreMsg::Prune {
                        raw_before: now - settings.raw_retention_ms,
                        rollup_before: now - settings.rollup_retention_ms,
                    }).await;
                }
            }
        }
    }
}

async fn publish_tick(
    shared: &Shared,
    client: &AsyncClient,
    s: &PublishSettings,
    store: &StoreTx,
    last: &mut HashMap<String, Arc<str>>,
    full: bool,
) {
    let now = shared.clock.now_ms();
    for (di, h) in shared.districts.iter().enumerate() {
        let d = &h.model;
        let mut out: Vec<(String, String)> = Vec::new();
        let rollups = {
            let mut st = h.state();
            let rollups = st.close_minutes(now, s.rollup_grace_ms, s.rollup_close_after_ms);
            let dirty = std::mem::take(&mut st.dirty);
            let all = full || !rollups.is_empty();
            let json = |v: &dyn erased::Json| v.json();
            for z in 0..d.zones.len() {
                if all || dirty.zones.contains(&z) {
                    out.push((
                        topic::live_zone(&d.id, &d.zones[z].id),
                        json(&st.zone_live(z, now)),
                    ));
                }
            }
            for l in 0..d.lots.len() {
                if all || dirty.lots.contains(&l) {
                    out.push((
                        topic::live_lot(&d.id, &d.lots[l].id),
                        json(&shared.parking.lot_live(di, &st, l, now)),
                    ));
                }
                if all || dirty.bays.contains(&l) {
                    out.push((
                        topic::live_bays(&d.id, &d.lots[l].id),
                        json(&shared.parking.bays_live(di, &st, l, now)),
                    ));
                }
            }
            for dev in dirty.air.iter().copied().chain(if all {
                st.monitors.keys().copied().collect()
            } else {
                Vec::new()
            }) {
                if let Some(a) = st.air_live(dev) {
                    out.push((topic::live_air(&d.id, &d.devices[dev].id), json(&a)));
                }
            }
            for b in 0..d.buildings.len() {
                if all || dirty.buildings.contains(&b) {
                    out.push((
                        topic::live_energy(&d.id, &d.buildings[b].id),
                        json(&st.energy_live(b)),
                    ));
                }
            }
            if all || !dirty.is_empty() {
                out.push((
                    topic::summary(&d.id),
                    json(&st.summary(now, h.active_alerts.load(Relaxed))),
                ));
            }
            rollups
        };
        if !rollups.is_empty() {
            store.send(StoreMsg::Rollups(h.id.clone(), rollups)).await;
        }
        for (t, payload) in out {
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
}

/// Serialising the snapshot types through one small trait object.
mod erased {
    /// Anything serialisable to a JSON string.
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}
