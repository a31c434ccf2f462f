//! One owner per district: the task that alone holds a district's live state.
//!
//! Everything that changes a district's state arrives on one ordered inbox ([`Input`]): the
//! readings the store committed as new (in commit order), lots whose parking snapshot changed
//! outside the state (a reservation, a closure), and the owner's own ticks. The owner applies
//! them and, on each tick, closes the complete minutes (rollups to the store) and hands the
//! snapshots that changed to the outbox ([`crate::publish`]), which publishes them on MQTT and
//! streams them to WebSocket clients. It publishes a read-only view (`Arc<DistrictState>`)
//! that the API, the alert task and the parking task read, within [`VIEW_EVERY`] of a change
//! (at once for a fire detector's reading): no lock is shared between tasks, so nothing can be
//! poisoned.
//!
//! Under load the owner steps at most once per [`VIEW_EVERY`]: its inbox waits while a view
//! is due, so a burst of commits is neither a burst of wake-ups nor of clones. Fire detectors'
//! readings come on an urgent inbox ([`OwnerHandle::send_urgent`]) and are applied and shown
//! at once.
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
    urgent: mpsc::UnboundedSender<Input>,
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

    /// Queues an input that must not wait for the next view (fire detectors' readings): the
    /// owner takes it at once, with whatever waits in its inbox.
    pub fn send_urgent(&self, input: Input) {
        let _ = self.urgent.send(input);
    }
}

/// The shortest time between two views published after steps (ticks always publish one).
/// A view is a clone of the state (about 0.7 ms for a full day of the Hubin district), so a
/// burst of commits is not a burst of clones; readings are counted accepted only once a view
/// shows them, and a fire detector's reading is shown at once.
pub const VIEW_EVERY: Duration = Duration::from_millis(50);

/// The owner's side, until it is started.
#[derive(Debug)]
pub struct Owner {
    inbox: mpsc::UnboundedReceiver<Input>,
    urgent: mpsc::UnboundedReceiver<Input>,
    view: watch::Sender<Arc<DistrictState>>,
    state: DistrictState,
    /// Row ids up to this are already in the state (after a rebuild from the store).
    held_up_to: i64,
    /// Readings applied since the last view was published (counted accepted with it).
    unseen: u64,
    /// Whether the state changed since the last view.
    stale: bool,
    last_view: Instant,
}

/// A new owner for `state` and the handle to it.
pub fn new(state: DistrictState) -> (Owner, OwnerHandle) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (urgent_tx, urgent_rx) = mpsc::unbounded_channel();
    let (view_tx, view_rx) = watch::channel(Arc::new(state.clone()));
    (
        Owner {
            inbox: rx,
            urgent: urgent_rx,
            view: view_tx,
            state,
            held_up_to: 0,
            unseen: 0,
            stale: false,
            last_view: Instant::now(),
        },
        OwnerHandle {
            inbox: tx,
            urgent: urgent_tx,
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
        loop {
            let view_at = tokio::time::Instant::from_std(self.last_view + VIEW_EVERY);
            let full = tokio::select! {
                biased;
                _ = crate::run::stopped(&mut stop) => break,
                Some(first) = self.urgent.recv() => {
                    let batch = self.waiting(first);
                    self.step(&shared, di, batch);
                    continue;
                }
                // While applied readings wait for their view, the inbox waits too: under load
                // a district steps (and clones its view) at most once per VIEW_EVERY.
                Some(first) = self.inbox.recv(), if !self.stale => {
                    let batch = self.waiting(first);
                    self.step(&shared, di, batch);
                    continue;
                }
                _ = tokio::time::sleep_until(view_at), if self.stale => {
                    self.publish_view(&shared);
                    continue;
                }
                _ = tick.tick() => { n += 1; n.is_multiple_of(10) }
            };
            self.tick(&shared, di, settings, full, &outbox, &store)
                .await;
        }
        // The last committed readings, then a last tick.
        let rest = self.waiting(None);
        if !rest.is_empty() {
            self.step(&shared, di, rest);
        }
        self.tick(&shared, di, settings, true, &outbox, &store)
            .await;
    }

    /// `first` and what waits behind it: the urgent inbox, then the inbox (up to 10,000
    /// inputs in all).
    fn waiting(&mut self, first: impl Into<Option<Input>>) -> Vec<Input> {
        let mut batch: Vec<Input> = first.into().into_iter().collect();
        while let Ok(i) = self.urgent.try_recv() {
            batch.push(i);
        }
        while batch.len() < 10_000 {
            match self.inbox.try_recv() {
                Ok(i) => batch.push(i),
                Err(_) => break,
            }
        }
        batch
    }

    /// Publishes the view of the state as it is now, and counts the readings it newly shows.
    fn publish_view(&mut self, shared: &Shared) {
        self.view.send_replace(Arc::new(self.state.clone()));
        shared.metrics.accepted.fetch_add(self.unseen, Relaxed);
        self.unseen = 0;
        self.stale = false;
        self.last_view = Instant::now();
    }

    /// Applies a run of inputs. The view follows at once after a fire detector's reading (the
    /// alert task is woken to read it) or a rebuild, else within [`VIEW_EVERY`].
    fn step(&mut self, shared: &Shared, di: usize, batch: Vec<Input>) {
        let h = &shared.districts[di];
        let mut fire = false;
        let held_up_to = self.held_up_to;
        let (state, unseen) = (&mut self.state, &mut self.unseen);
        let result = catch_unwind(AssertUnwindSafe(|| {
            for input in batch {
                match input {
                    Input::Committed(readings) => {
                        for (dev, r, rowid) in readings {
                            *unseen += 1;
                            if rowid <= held_up_to {
                                continue; // the rebuild from the store has it
                            }
                            let applied = state.apply(dev, &r);
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
                            state.dirty.lots.insert(l);
                            state.dirty.bays.insert(l);
                        }
                    }
                    Input::Panic => panic!("injected panic in district {}", h.model.id),
                }
            }
        }));
        self.stale = true;
        let rebuilt = result.is_err();
        if rebuilt {
            self.rebuild(shared, di);
        }
        if fire || rebuilt || self.last_view.elapsed() >= VIEW_EVERY {
            self.publish_view(shared);
        }
        if fire {
            shared.alert_wake.notify_one();
        }
    }

    /// Closes complete minutes and hands the changed snapshots to the outbox.
    async fn tick(
        &mut self,
        shared: &Shared,
        di: usize,
        settings: TickSettings,
        full: bool,
        outbox: &mpsc::Sender<Vec<(String, String)>>,
        store: &StoreTx,
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
                self.rebuild(shared, di);
                self.stale = true;
                (Vec::new(), Vec::new())
            }
        };
        // A closed minute changes the state; an idle district costs no clone.
        if self.stale || !rollups.is_empty() {
            self.publish_view(shared);
        }
        if !rollups.is_empty() {
            store.send(StoreMsg::Rollups(h.id.clone(), rollups)).await;
        }
        if !out.is_empty() {
            let _ = outbox.send(out).await;
        }
    }

    /// After a panic: the district's state again from the store.
    fn rebuild(&mut self, shared: &Shared, di: usize) {
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
        self.held_up_to = self.held_up_to.max(last_row);
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
