//! The owner's task: one per district, alone in changing that district.
//!
//! It takes its inputs in order (the urgent inbox first: fire detectors' readings, questions
//! and operator actions), up to 10,000 at a time, and runs three ticks:
//! - live (`[publish] min_interval_ms`): closes complete minutes (rollups to the store) and
//!   hands the snapshots that changed to the outbox;
//! - alerts (`[alerts] tick_ms`, and at once after a fire detector's reading): evaluates the
//!   rules; transitions are stored (urgent lane of the store) and then published by the
//!   outbox;
//! - parking (`[parking] tick`): uses and expires reservations, sign frames to the outbox,
//!   flow rollups to the store; once a minute a forecast is computed from the store on the
//!   blocking pool and comes back as an input.
//!
//! Every pure step runs under `catch_unwind`: a panic rebuilds the district from the store
//! (the last day of its readings, its open alerts, its reservations) on the blocking pool
//! and the owner goes on; the other districts never notice. Inputs still queued that the
//! rebuild already holds (by row id) are skipped, so nothing counts twice. Restarts are
//! counted and shown by `/healthz`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use district::clock::Clock;
use district::contract::alert::AlertMsg;
use tokio::sync::{mpsc, oneshot, watch};

use super::core::{DistrictCore, OwnerConfig};
use super::{AlertsOut, Input, Out, OwnerHandle, Refused};
use crate::alerts::db::NewDelivery;
use crate::alerts::desk::{Action, AlertDesk};
use crate::alerts::{ActionError, Transition};
use crate::metrics::Metrics;
use crate::parking::desk::ParkingDesk;
use crate::parking::reservation::Reservation;
use crate::state::DistrictState;
use crate::store::{Reader, StoreMsg, StoreTx};

/// Most inputs taken in one step.
const STEP_INPUTS: usize = 10_000;

/// What an owner reads and where its outputs go.
#[derive(Debug, Clone)]
pub struct Outlets {
    /// The gateway's clock.
    pub clock: Clock,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// The store, for reading (rebuilds, forecasts; on the blocking pool).
    pub reader: Arc<Reader>,
    /// The outbox (MQTT, WebSocket).
    pub outbox: mpsc::UnboundedSender<Out>,
    /// The store, for writing.
    pub store: StoreTx,
}

/// A district's owner, until it is started.
#[derive(Debug)]
pub struct Owner {
    /// The district's id (every stored row names it).
    id: Arc<str>,
    inbox: mpsc::UnboundedReceiver<Input>,
    urgent: mpsc::UnboundedReceiver<Input>,
    /// Its own handle, for results computed off the task (forecasts).
    me: OwnerHandle,
    core: DistrictCore,
    /// Row ids up to this are already in the state (after a rebuild from the store).
    held_up_to: i64,
    /// Set when a step panicked: the district is rebuilt before the next input.
    broken: bool,
    /// The minute whose forecast was asked for last.
    forecast_minute: i64,
}

/// A new owner holding `core`, and the handle to it.
pub fn new(core: DistrictCore) -> (Owner, OwnerHandle) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (urgent_tx, urgent_rx) = mpsc::unbounded_channel();
    let handle = OwnerHandle {
        inbox: tx,
        urgent: urgent_tx,
    };
    (
        Owner {
            id: core.state.district.id.as_str().into(),
            inbox: rx,
            urgent: urgent_rx,
            me: handle.clone(),
            core,
            held_up_to: 0,
            broken: false,
            forecast_minute: i64::MIN,
        },
        handle,
    )
}

/// A district's alert and parking desks as the store holds them: its open alerts and its
/// reservations of the last day. Blocking.
pub fn load_desks(
    reader: &Reader,
    state: &DistrictState,
    cfg: &OwnerConfig,
    now: i64,
) -> Result<(AlertDesk, ParkingDesk), crate::store::StoreError> {
    let d = &state.district;
    let (open, items) = reader.with(|conn| {
        Ok::<_, rusqlite::Error>((
            crate::alerts::db::last_open(conn, &d.id)?,
            crate::parking::db::load(conn, &d.id, now - 86_400_000)?,
        ))
    })?;
    Ok((
        AlertDesk::new(&d.id, &cfg.alerts, &open),
        ParkingDesk::new(d, &cfg.parking, items),
    ))
}

fn interval(every: Duration) -> tokio::time::Interval {
    let mut i = tokio::time::interval(every.max(Duration::from_millis(10)));
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    i
}

impl Owner {
    /// Runs until `stop` turns true; then takes what is still queued, makes a last full live
    /// tick, and ends.
    pub async fn run(mut self, out: Outlets, mut stop: watch::Receiver<bool>) {
        let cfg = self.core.cfg.clone();
        let mut live = interval(Duration::from_millis(cfg.ticks.min_interval_ms));
        let mut alerts = interval(Duration::from_millis(cfg.alerts.tick_ms));
        let mut parking = interval(cfg.parking.tick);
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                biased;
                _ = crate::stop::stopped(&mut stop) => break,
                Some(first) = self.urgent.recv() => {
                    let batch = self.waiting(first);
                    self.step(&out, batch).await;
                }
                Some(first) = self.inbox.recv() => {
                    let batch = self.waiting(first);
                    self.step(&out, batch).await;
                }
                _ = live.tick() => {
                    n += 1;
                    self.live_tick(&out, n.is_multiple_of(10)).await;
                }
                _ = alerts.tick() => self.alert_tick(&out),
                _ = parking.tick() => self.parking_tick(&out).await,
            }
            if self.broken {
                self.rebuild(&out).await;
            }
        }
        // The last committed readings, then a last tick.
        let rest = self.waiting(None);
        if !rest.is_empty() {
            self.step(&out, rest).await;
        }
        self.alert_tick(&out);
        self.live_tick(&out, true).await;
    }

    /// `first` and what waits behind it: the urgent inbox, then the inbox (up to
    /// [`STEP_INPUTS`] in all).
    fn waiting(&mut self, first: impl Into<Option<Input>>) -> Vec<Input> {
        let mut batch: Vec<Input> = first.into().into_iter().collect();
        while let Ok(i) = self.urgent.try_recv() {
            batch.push(i);
        }
        while batch.len() < STEP_INPUTS {
            match self.inbox.try_recv() {
                Ok(i) => batch.push(i),
                Err(_) => break,
            }
        }
        batch
    }

    /// Runs `f` on the core; a panic marks the district broken (rebuilt before the next
    /// input) and gives `None`.
    fn guarded<T>(&mut self, f: impl FnOnce(&mut DistrictCore) -> T) -> Option<T> {
        if self.broken {
            return None;
        }
        let core = &mut self.core;
        match catch_unwind(AssertUnwindSafe(|| f(core))) {
            Ok(v) => Some(v),
            Err(_) => {
                self.broken = true;
                None
            }
        }
    }

    /// Takes a run of inputs in order.
    async fn step(&mut self, out: &Outlets, batch: Vec<Input>) {
        let now = out.clock.now_ms();
        let mut fire = false;
        let mut applied = 0;
        for input in batch {
            if self.broken {
                self.rebuild(out).await;
            }
            match input {
                Input::Committed(readings) => {
                    let held = self.held_up_to;
                    if let Some(o) = self.guarded(|c| c.apply(&readings, held)) {
                        applied += o.applied;
                        fire |= o.fire;
                    }
                }
                Input::Ask(question) => {
                    let core = &self.core;
                    if catch_unwind(AssertUnwindSafe(|| question(core, now))).is_err() {
                        tracing::error!(district = %core.state.district.id, "a question to the district panicked; the district is unchanged");
                    }
                }
                Input::Alert {
                    action,
                    id,
                    who,
                    note,
                    reply,
                } => self.act(out, action, (id, who, note), reply, now),
                Input::Reserve {
                    lot,
                    plate,
                    window,
                    owner,
                    reply,
                } => {
                    let result = self.guarded(|c| {
                        let r = c.parking.reserve(
                            &c.state,
                            &c.cfg.parking,
                            lot,
                            plate,
                            window,
                            owner,
                            now,
                        );
                        if r.is_ok() {
                            c.state.dirty.lots.insert(lot);
                            c.state.dirty.bays.insert(lot);
                        }
                        r
                    });
                    self.booked(out, result, reply);
                }
                Input::Cancel {
                    lot,
                    id,
                    own_only,
                    reply,
                } => {
                    let result = self.guarded(|c| {
                        let r = c.parking.cancel(&lot, &id, own_only.as_deref(), now);
                        if let Some(l) = c.state.district.lot_idx(&lot).filter(|_| r.is_ok()) {
                            c.state.dirty.lots.insert(l);
                            c.state.dirty.bays.insert(l);
                        }
                        r.map_err(Into::into)
                    });
                    self.booked(out, result, reply);
                }
                Input::Forecasts(f) => {
                    let d = self.core.state.district.clone();
                    let topics: Vec<(String, String)> = f
                        .iter()
                        .zip(&d.lots)
                        .filter_map(|(f, lot)| {
                            Some((
                                crate::parking::outlook::forecast_topic(&d.id, &lot.id),
                                f.as_ref()?.to_string(),
                            ))
                        })
                        .collect();
                    if self
                        .guarded(|c| c.parking.set_forecasts(&c.cfg.parking, f))
                        .is_some()
                        && !topics.is_empty()
                    {
                        let _ = out.outbox.send(Out::Retained(topics));
                    }
                }
                Input::Panic => {
                    let id = self.core.state.district.id.clone();
                    self.guarded(|_| panic!("injected panic in district {id}"));
                }
            }
        }
        out.metrics.accepted.fetch_add(applied, Relaxed);
        if fire {
            self.alert_tick(out);
        }
    }

    /// An operator action: audited whatever its outcome; a transition is stored and published,
    /// and the operator answered, by the outbox.
    fn act(
        &mut self,
        out: &Outlets,
        action: Action,
        (id, who, note): (String, String, String),
        reply: oneshot::Sender<Result<AlertMsg, Refused<ActionError>>>,
        now: i64,
    ) {
        let Some(result) = self.guarded(|c| c.alerts.act(action, &id, &who, &note, now)) else {
            let _ = reply.send(Err(Refused::Stopped));
            return;
        };
        let outcome = match &result {
            Ok(_) => "done".to_string(),
            Err(e) => e.to_string(),
        };
        let district = self.core.state.district.id.clone();
        // Nobody waits for the audit row: a failure is counted and logged by the store.
        drop(out.store.write_now(move |conn| {
            crate::alerts::db::audit(
                conn,
                &district,
                &id,
                action.as_str(),
                &who,
                &note,
                now,
                &outcome,
            )
        }));
        match result {
            Ok(t) => {
                let msg = t.to_msg();
                let (published, told) = oneshot::channel();
                self.transitions(out, vec![t], Some(published), now);
                tokio::spawn(async move {
                    let answer = match told.await {
                        Ok(Ok(())) => Ok(msg),
                        Ok(Err(e)) => Err(Refused::Store(e)),
                        Err(_) => Err(Refused::Stopped),
                    };
                    let _ = reply.send(answer);
                });
            }
            Err(e) => {
                let _ = reply.send(Err(Refused::Refused(e)));
            }
        }
    }

    /// A booking or cancellation: stored, then answered.
    fn booked(
        &mut self,
        out: &Outlets,
        result: Option<Result<Reservation, crate::parking::desk::ReserveError>>,
        reply: oneshot::Sender<Result<Reservation, Refused<crate::parking::desk::ReserveError>>>,
    ) {
        match result {
            None => {
                let _ = reply.send(Err(Refused::Stopped));
            }
            Some(Err(e)) => {
                let _ = reply.send(Err(Refused::Refused(e)));
            }
            Some(Ok(r)) => {
                let stored = self.save_reservations(out, vec![r.clone()]);
                tokio::spawn(async move {
                    let answer = match stored.await {
                        Ok(Ok(())) => Ok(r),
                        Ok(Err(e)) => Err(Refused::Store(e)),
                        Err(_) => Err(Refused::Stopped),
                    };
                    let _ = reply.send(answer);
                });
            }
        }
    }

    fn save_reservations(
        &self,
        out: &Outlets,
        items: Vec<Reservation>,
    ) -> oneshot::Receiver<Result<(), crate::store::WriteError>> {
        let district = self.core.state.district.id.clone();
        out.store
            .write_now(move |conn| crate::parking::db::save(conn, &district, &items))
    }

    /// Evaluates the alert rules now.
    fn alert_tick(&mut self, out: &Outlets) {
        let now = out.clock.now_ms();
        if let Some(ts) = self.guarded(|c| c.alert_tick(now)) {
            if !ts.is_empty() {
                self.transitions(out, ts, None, now);
            }
        }
    }

    /// Stores transitions with their webhook deliveries (urgent lane) and hands them to the
    /// outbox, which publishes them once stored.
    fn transitions(
        &mut self,
        out: &Outlets,
        ts: Vec<Transition>,
        published: Option<oneshot::Sender<Result<(), crate::store::WriteError>>>,
        now: i64,
    ) {
        let wall = chrono::Utc::now().timestamp_millis();
        let cfg = &self.core.cfg.alerts;
        let rows: Vec<(AlertMsg, i64, Option<String>, Vec<NewDelivery>)> = ts
            .iter()
            .map(|t| {
                let msg = t.to_msg();
                let deliveries = cfg
                    .webhooks
                    .iter()
                    .filter(|w| w.wants(&msg))
                    .map(|w| (w.name.clone(), wall + w.expire_after.as_millis() as i64))
                    .collect();
                (msg, t.at, t.by.clone(), deliveries)
            })
            .collect();
        let webhooks = rows.iter().any(|r| !r.3.is_empty());
        let msgs = rows.iter().map(|r| r.0.clone()).collect();
        let district = self.core.state.district.id.clone();
        let d = district.clone();
        let stored = out.store.write_now(move |conn| {
            for (msg, at, by, deliveries) in &rows {
                crate::alerts::db::record(conn, &d, msg, *at, by.as_deref(), deliveries, wall)?;
            }
            Ok(())
        });
        let _ = out.outbox.send(Out::Alerts(AlertsOut {
            district,
            msgs,
            active: self.core.alerts.active(now),
            stored,
            webhooks,
            published,
        }));
    }

    /// Uses and expires reservations, sends sign frames and flow rollups, and asks for the
    /// minute's forecast.
    async fn parking_tick(&mut self, out: &Outlets) {
        let now = out.clock.now_ms();
        let Some((t, frames)) = self.guarded(|c| c.parking_tick(now)) else {
            return;
        };
        if !t.changed.is_empty() {
            drop(self.save_reservations(out, t.changed));
        }
        if !frames.is_empty() {
            let _ = out.outbox.send(Out::Retained(frames));
        }
        if !t.rollups.is_empty() {
            out.store
                .send(StoreMsg::Rollups(self.id.clone(), t.rollups))
                .await;
        }
        let minute = now.div_euclid(60_000);
        if minute != self.forecast_minute {
            self.forecast_minute = minute;
            self.ask_forecast(out, now);
        }
    }

    /// Computes the lots' forecasts from the store on the blocking pool; they come back as
    /// [`Input::Forecasts`].
    fn ask_forecast(&mut self, out: &Outlets, now: i64) {
        let Some(lives) = self.guarded(|c| {
            (0..c.state.district.lots.len())
                .map(|l| c.lot_live(l, now))
                .collect::<Vec<_>>()
        }) else {
            return;
        };
        let reader = out.reader.clone();
        let d = self.core.state.district.clone();
        let me = self.me.clone();
        tokio::task::spawn_blocking(move || {
            let f = crate::parking::outlook::forecasts(&reader, &d, &lives, now);
            me.send(Input::Forecasts(f));
        });
    }

    /// Closes complete minutes (rollups to the store) and hands the changed snapshots (all of
    /// them when `all`) to the outbox.
    async fn live_tick(&mut self, out: &Outlets, all: bool) {
        let now = out.clock.now_ms();
        let ticks = self.core.cfg.ticks;
        let Some((rollups, snapshots)) = self.guarded(|c| {
            let rollups =
                c.state
                    .close_minutes(now, ticks.rollup_grace_ms, ticks.rollup_close_after_ms);
            let snapshots = c.snapshots(now, all || !rollups.is_empty());
            (rollups, snapshots)
        }) else {
            return;
        };
        if !snapshots.is_empty() {
            let _ = out.outbox.send(Out::Retained(snapshots));
        }
        if !rollups.is_empty() {
            out.store
                .send(StoreMsg::Rollups(self.id.clone(), rollups))
                .await;
        }
    }

    /// After a panic: the district again from the store (its readings of the last day, its
    /// open alerts, its reservations), read on the blocking pool.
    async fn rebuild(&mut self, out: &Outlets) {
        let reader = out.reader.clone();
        let cfg = self.core.cfg.clone();
        let model = self.core.state.district.clone();
        let started = Instant::now();
        let now = out.clock.now_ms();
        let m = model.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            catch_unwind(AssertUnwindSafe(|| {
                rebuild_from_store(&reader, m, &cfg, now)
            }))
        })
        .await;
        let id = model.id.clone();
        let (core, last_row) = match loaded {
            Ok(Ok(Ok((core, last_row, n)))) => {
                tracing::error!(district = %id, readings = n, took = ?started.elapsed(), "district rebuilt from the store after a panic");
                (core, last_row)
            }
            failed => {
                let why = match failed {
                    Ok(Ok(Err(e))) => e.to_string(),
                    _ => "replaying the store panicked too".to_string(),
                };
                tracing::error!(district = %id, error = %why, "district rebuilt empty after a panic");
                let state = DistrictState::new(model.clone(), now);
                let empty = DistrictCore::new(
                    state,
                    AlertDesk::new(&id, &self.core.cfg.alerts, &[]),
                    ParkingDesk::new(&model, &self.core.cfg.parking, Vec::new()),
                    self.core.cfg.clone(),
                );
                (empty, 0)
            }
        };
        self.core = core;
        // Everything is published again on the next tick.
        self.core.state.dirty.zones.extend(0..model.zones.len());
        self.held_up_to = self.held_up_to.max(last_row);
        self.broken = false;
        out.metrics.district_restart(&id);
    }
}

/// District `model` from the store: (core, last row applied, readings replayed). Blocking.
fn rebuild_from_store(
    reader: &Reader,
    model: Arc<district::District>,
    cfg: &Arc<OwnerConfig>,
    now: i64,
) -> Result<(DistrictCore, i64, u64), crate::store::StoreError> {
    let mut state = DistrictState::new(model.clone(), now);
    let mut last_row = 0;
    let n = reader.replay_district(Some(&model.id), now - 86_400_000, |r| {
        if let Some(dev) = model.device_idx(&r.device) {
            state.apply(dev, &r.reading);
        }
        last_row = last_row.max(r.rowid);
    })?;
    let (alerts, parking) = load_desks(reader, &state, cfg, now)?;
    Ok((
        DistrictCore::new(state, alerts, parking, cfg.clone()),
        last_row,
        n,
    ))
}
