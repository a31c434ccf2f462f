//! One owner per district: the task that alone holds a district's live state.
//!
//! Everything that changes a district's state arrives on one ordered inbox ([`Input`]): the
//! readings the store committed as new (in commit order), lots whose parking snapshot changed
//! outside the state (a reservation, a closure), and the owner's own ticks. The owner applies
//! them and, on each tick, closes the complete minutes (rollups to the store) and hands the
//! snapshots that changed to the outbox ([`crate::publish`]), which publishes them on MQTT and
//! streams them to WebSocket clients. After each run of inputs it publishes a read-only view
//! (`Arc<DistrictState>`) that the API, the alert task and the parking task read: no lock is
//! shared between tasks, so nothing can be poisoned.
//!
//! A panic while applying or ticking is caught here: the district is rebuilt from the store
//! (the last day of its readings, the same replay as at start-up) and goes on; the other
//! districts never notice. Inputs still queued that the rebuild already holds (by row id) are
//! skipped, so nothing counts twice. Restarts are counted and shown by `/healthz`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use district::contract::reading::Reading;
use district::contract::topic;
use district::DeviceKind;
use tokio::sync::{mpsc, watch};

use crate::shared::Shared;
use crate::state::{Applied, DistrictState};
use crate::store::{StoreMsg, StoreTx};

/// A change for one district's owner.
#[derive(Debug)]
pub enum Input {
    /// Readings the store committed as new, in commit order: (device index, reading, row id).
    Committed(Vec<(usize, Reading, i64)>),
    /// Lots whose parking snapshots changed outside the state.
    LotsChanged(Vec<usize>),
    /// Test hook: panic inside the step, as a bug would.
    #[doc(hidden)]
    Panic,
}

/// Timing of the owner's ticks and minute closing.
#[derive(Debug, Clone, Copy)]
pub struct TickSettings {
    /// Tick, wall ms (no live topic is published more often).
    pub min_interval_ms: u64,
    /// A minute closes once readings are this far past it (event ms).
    pub rollup_grace_ms: i64,
    /// ...or once the clock is this far past it.
    pub rollup_close_after_ms: i64,
}

/// The parts of a district's owner that others hold: its inbox and its latest view.
#[derive(Debug)]
pub struct OwnerHandle {
    inbox: mpsc::UnboundedSender<Input>,
    view: watch::Receiver<Arc<DistrictState>>,
}

impl OwnerHandle {
    /// The district's state as of the owner's last step (read-only).
    pub fn view(&self) -> Arc<DistrictState> {
        self.view.borrow().clone()
    }

    /// Queues an input (dropped if the owner has stopped: the gateway is shutting down).
    pub fn send(&self, input: Input) {
        let _ = self.inbox.send(input);
    }
}

/// The owner's side, until it is started.
#[derive(Debug)]
pub struct Owner {
    inbox: mpsc::UnboundedReceiver<Input>,
    view: watch::Sender<Arc<DistrictState>>,
    state: DistrictState,
}

/// A new owner for `state` and the handle to it.
pub fn new(state: DistrictState) -> (Owner, OwnerHandle) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (view_tx, view_rx) = watch::channel(Arc::new(state.clone()));
    (
        Owner {
            inbox: rx,
            view: view_tx,
            state,
        },
        OwnerHandle {
            inbox: tx,
            view: view_rx,
        },
    )
}

impl Owner {
    /// Runs district `di` until `stop` turns true; a last tick then closes what is complete
    /// and publishes, and the task ends. Snapshots go to `outbox`, rollups to `store`.
    pub async fn run(
        mut self,
        shared: Arc<Shared>,
        di: usize,
        settings: TickSettings,
        outbox: mpsc::Sender<Vec<(String, String)>>,
        store: StoreTx,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut tick =
            tokio::time::interval(Duration::from_millis(settings.min_interval_ms.max(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut n: u64 = 0;
        // Row ids up to this are already in the state (after a rebuild from the store).
        let mut held_up_to: i64 = 0;
        loop {
            let full = tokio::select! {
                biased;
                _ = crate::transport::stopped(&mut stop) => break,
                Some(first) = self.inbox.recv() => {
                    let mut batch = vec![first];
                    while batch.len() < 10_000 {
                        match self.inbox.try_recv() {
                            Ok(i) => batch.push(i),
                            Err(_) => break,
                        }
                    }
                    self.step(&shared, di, batch, &mut held_up_to);
                    continue;
                }
                _ = tick.tick() => { n += 1; n % 10 == 0 }
            };
            self.tick(
                &shared,
                di,
                settings,
                full,
                &outbox,
                &store,
                &mut held_up_to,
            )
            .await;
        }
        // The last committed readings, then a last tick.
        let mut rest = Vec::new();
        while let Ok(i) = self.inbox.try_recv() {
            rest.push(i);
        }
        if !rest.is_empty() {
            self.step(&shared, di, rest, &mut held_up_to);
        }
        self.tick(
            &shared,
            di,
            settings,
            true,
            &outbox,
            &store,
            &mut held_up_to,
        )
        .await;
    }

    /// Applies a run of inputs, then publishes the view and counts the readings accepted (so
    /// that a reading counted is one the view shows).
    fn step(&mut self, shared: &Shared, di: usize, batch: Vec<Input>, held_up_to: &mut i64) {
        let h = &shared.districts[di];
        let mut accepted = 0u64;
        let mut fire = false;
        let result = catch_unwind(AssertUnwindSafe(|| {
            for input in batch {
                match input {
                    Input::Committed(readings) => {
                        for (dev, r, rowid) in readings {
                            accepted += 1;
                            if rowid <= *held_up_to {
                                continue; // the rebuild from the store has it
                            }
                            let applied = self.state.apply(dev, &r);
                            debug_assert_eq!(
                                applied,
                                Applied::Accepted,
                                "shape checked in validation"
                            );
                            fire |= h.model.devices[dev].kind == DeviceKind::Fire;
                        }
                    }
                    Input::LotsChanged(lots) => {
                        for l in lots {
                            self.state.dirty.lots.insert(l);
                            self.state.dirty.bays.insert(l);
                        }
                    }
                    Input::Panic => panic!("injected panic in district {}", h.model.id),
                }
            }
        }));
        if result.is_err() {
            self.rebuild(shared, di, held_up_to);
        }
        self.view.send_replace(Arc::new(self.state.clone()));
        shared.metrics.accepted.fetch_add(accepted, Relaxed);
        if fire {
            shared.alert_wake.notify_one();
        }
    }

    /// Closes complete minutes and hands the changed snapshots to the outbox.
    #[allow(clippy::too_many_arguments)]
    async fn tick(
        &mut self,
        shared: &Shared,
        di: usize,
        settings: TickSettings,
        full: bool,
        outbox: &mpsc::Sender<Vec<(String, String)>>,
        store: &StoreTx,
        held_up_to: &mut i64,
    ) {
        let now = shared.clock.now_ms();
        let h = &shared.districts[di];
        let result = catch_unwind(AssertUnwindSafe(|| {
            let rollups = self.state.close_minutes(
                now,
                settings.rollup_grace_ms,
                settings.rollup_close_after_ms,
            );
            let out = snapshots(
                shared,
                di,
                &mut self.state,
                now,
                full || !rollups.is_empty(),
                h.active_alerts.load(Relaxed),
            );
            (rollups, out)
        }));
        let (rollups, out) = match result {
            Ok(r) => r,
            Err(_) => {
                self.rebuild(shared, di, held_up_to);
                (Vec::new(), Vec::new())
            }
        };
        self.view.send_replace(Arc::new(self.state.clone()));
        if !rollups.is_empty() {
            store.send(StoreMsg::Rollups(h.id.clone(), rollups)).await;
        }
        if !out.is_empty() {
            let _ = outbox.send(out).await;
        }
    }

    /// After a panic: the district's state again from the store.
    fn rebuild(&mut self, shared: &Shared, di: usize, held_up_to: &mut i64) {
        let h = &shared.districts[di];
        let started = Instant::now();
        let now = shared.clock.now_ms();
        let mut state = DistrictState::new(h.model.clone(), now);
        let mut last_row = 0;
        // The replay itself may meet the reading that panicked: then the district goes on
        // from an empty state (counted and logged) rather than stopping.
        let replayed = catch_unwind(AssertUnwindSafe(|| {
            shared
                .reader
                .replay_district(Some(&h.model.id), now - 86_400_000, |r| {
                    if let Some(dev) = h.model.device_idx(&r.device) {
                        state.apply(dev, &r.reading);
                    }
                    last_row = last_row.max(r.rowid);
                })
        }));
        match replayed {
            Ok(Ok(n)) => {
                tracing::error!(district = %h.model.id, readings = n, took = ?started.elapsed(), "district state rebuilt from the store after a panic");
            }
            Ok(Err(e)) => {
                tracing::error!(district = %h.model.id, error = %e, "district state rebuilt empty after a panic: the store could not be read");
                state = DistrictState::new(h.model.clone(), now);
            }
            Err(_) => {
                tracing::error!(district = %h.model.id, "district state rebuilt empty: replaying the store panicked too");
                state = DistrictState::new(h.model.clone(), now);
            }
        }
        // Everything is published again on the next tick.
        state.dirty.zones.extend(0..h.model.zones.len());
        self.state = state;
        *held_up_to = (*held_up_to).max(last_row);
        shared.metrics.district_restart(&h.model.id);
    }
}

/// The topics of the snapshots that changed since the last tick (every one when `all`), with
/// their payloads.
fn snapshots(
    shared: &Shared,
    di: usize,
    st: &mut DistrictState,
    now: i64,
    all: bool,
    active_alerts: u32,
) -> Vec<(String, String)> {
    let d = st.district.clone();
    let dirty = std::mem::take(&mut st.dirty);
    let json = |v: &dyn erased::Json| v.json();
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
                json(&shared.parking.lot_live(di, st, l, now)),
            ));
        }
        if all || dirty.bays.contains(&l) {
            out.push((
                topic::live_bays(&d.id, &d.lots[l].id),
                json(&shared.parking.bays_live(di, st, l, now)),
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
    if all || !dirty.is_empty() {
        out.push((topic::summary(&d.id), json(&st.summary(now, active_alerts))));
    }
    out
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
