//! What one district's owner holds and the pure steps on it: the live state, the alert desk
//! and the parking desk. Nothing here does I/O; the owner's task ([`super::task`]) sends what
//! these return to the store and the outbox.

use std::sync::Arc;

use district::contract::live::{BaysLive, LotLive, Summary};
use district::contract::reading::Reading;
use district::contract::topic;
use district::DeviceKind;

use crate::alerts::config::AlertsConfig;
use crate::alerts::desk::AlertDesk;
use crate::alerts::Transition;
use crate::parking::desk::{ParkingDesk, ParkingTick};
use crate::parking::ParkingConfig;
use crate::state::{Applied, DistrictState};

/// The configuration every district's owner reads.
#[derive(Debug, Clone, Default)]
pub struct OwnerConfig {
    /// `[alerts]`.
    pub alerts: AlertsConfig,
    /// `[parking]`.
    pub parking: ParkingConfig,
    /// Timing of the live topics and minute closing.
    pub ticks: super::TickSettings,
}

/// One district, as its owner holds it.
#[derive(Debug, Clone)]
pub struct DistrictCore {
    /// The live state.
    pub state: DistrictState,
    /// Alerts: engine and rule memory.
    pub alerts: AlertDesk,
    /// Parking: reservations, signs, flow.
    pub parking: ParkingDesk,
    /// Configuration.
    pub cfg: Arc<OwnerConfig>,
    /// Open alerts in the last summary handed out (`u32::MAX`: none yet).
    pub published_open: u32,
}

impl DistrictCore {
    /// A district as the store holds it: `state` replayed, desks loaded.
    pub fn new(
        state: DistrictState,
        alerts: AlertDesk,
        parking: ParkingDesk,
        cfg: Arc<OwnerConfig>,
    ) -> Self {
        DistrictCore {
            state,
            alerts,
            parking,
            cfg,
            published_open: u32::MAX,
        }
    }
}

/// What applying committed readings did.
#[derive(Debug, Default, Clone, Copy)]
pub struct ApplyOutcome {
    /// Readings applied.
    pub applied: u64,
    /// Whether a fire detector reported (rules are evaluated at once).
    pub fire: bool,
}

impl DistrictCore {
    /// Applies readings the store committed, skipping rows up to `held_up_to` (already in
    /// the state after a rebuild from the store).
    pub fn apply(&mut self, readings: &[(usize, Reading, i64)], held_up_to: i64) -> ApplyOutcome {
        let mut out = ApplyOutcome::default();
        for (dev, r, rowid) in readings {
            out.applied += 1;
            if *rowid <= held_up_to {
                continue;
            }
            let applied = self.state.apply(*dev, r);
            debug_assert_eq!(applied, Applied::Accepted, "shape checked in validation");
            out.fire |= self.state.district.devices[*dev].kind == DeviceKind::Fire;
        }
        out
    }

    /// Lot `l` now, with reservations taken off and closed lots marked.
    pub fn lot_live(&self, l: usize, now: i64) -> LotLive {
        self.parking
            .lot_live(&self.state, &self.cfg.parking, l, now)
    }

    /// Lot `l`'s bays now, reserved ones as `R`.
    pub fn bays_live(&self, l: usize, now: i64) -> BaysLive {
        self.parking.bays_live(&self.state, l, now)
    }

    /// The district's summary now.
    pub fn summary(&self, now: i64) -> Summary {
        self.state.summary(now, self.alerts.open_count())
    }

    /// Evaluates the alert rules at `now`.
    pub fn alert_tick(&mut self, now: i64) -> Vec<Transition> {
        self.alerts.evaluate(&self.state, &self.cfg.alerts, now)
    }

    /// One parking tick at `now`: lots whose reservations changed are marked for their live
    /// topics; sign frames come back as (topic, payload).
    pub fn parking_tick(&mut self, now: i64) -> (ParkingTick, Vec<(String, String)>) {
        let t = self.parking.tick(&self.state, &self.cfg.parking, now);
        for &l in &t.lots {
            self.state.dirty.lots.insert(l);
            self.state.dirty.bays.insert(l);
        }
        let d = &self.state.district;
        let frames = t
            .frames
            .iter()
            .map(|(s, f)| {
                (
                    topic::sign(&d.id, &d.signs[*s].id),
                    serde_json::to_string(f).unwrap_or_default(),
                )
            })
            .collect();
        (t, frames)
    }

    /// The topics of the snapshots that changed since the last call (every one when `all`),
    /// with their payloads.
    pub fn snapshots(&mut self, now: i64, all: bool) -> Vec<(String, String)> {
        let d = self.state.district.clone();
        let dirty = std::mem::take(&mut self.state.dirty);
        let json = |v: &dyn erased::Json| v.json();
        let st = &self.state;
        let mut out = Vec::new();
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
                    json(&self.lot_live(l, now)),
                ));
            }
            if all || dirty.bays.contains(&l) {
                out.push((
                    topic::live_bays(&d.id, &d.lots[l].id),
                    json(&self.bays_live(l, now)),
                ));
            }
        }
        let air: Vec<usize> = if all {
            st.monitors.keys().copied().collect()
        } else {
            dirty.air.iter().copied().collect()
        };
        for dev in air {
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
        let open = self.alerts.open_count();
        if all || !dirty.is_empty() || open != self.published_open {
            self.published_open = open;
            out.push((topic::summary(&d.id), json(&self.summary(now))));
        }
        out
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
