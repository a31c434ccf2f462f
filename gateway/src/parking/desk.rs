//! A district's parking desk: its reservation book, its sign board and its flow statistics,
//! held by the district's owner ([`crate::owner`]) beside the live state. Pure: every method
//! takes the live state and the time and returns what to store and publish.
//!
//! On each parking tick the desk uses reservations whose car arrived (entries counted in their
//! lot since the last tick), expires those whose window is over, recomputes the sign frames
//! the board lets through, and closes flow rollups (dwell, turnover, occupancy).

use district::contract::live::{BaysLive, LotLive, LotStatus};
use district::contract::sign::SignFrame;
use district::District;

use super::flow::Flow;
use super::reservation::{Book, BookError, Request, Reservation};
use super::sign::{Board, LotView};
use super::{overlay, ParkingConfig};
use crate::state::{DistrictState, RollupPoint};

/// Rollups are closed this long after a minute ends (late bay reports still count).
const FLOW_GRACE_MS: i64 = 120_000;

/// Parking state of one district.
#[derive(Debug, Clone)]
pub struct ParkingDesk {
    /// Reservations.
    pub book: Book,
    /// Sign hysteresis and rate limits.
    pub board: Board,
    /// The latest frame sent for each sign.
    pub frames: Vec<Option<SignFrame>>,
    /// The latest forecast of each lot (`live/forecast/{lot}` payloads; None while stale).
    pub forecasts: Vec<Option<serde_json::Value>>,
    flow: Flow,
    /// Entries counted so far, per lot (None until first looked at).
    entries: Vec<Option<u64>>,
    /// Held reservations at the last tick, per lot.
    held: Vec<u32>,
}

/// What one parking tick produced.
#[derive(Debug, Default)]
pub struct ParkingTick {
    /// Sign frames to publish (sign index, frame).
    pub frames: Vec<(usize, SignFrame)>,
    /// Flow rollups to store.
    pub rollups: Vec<RollupPoint>,
    /// Reservations that changed (used, expired), to save.
    pub changed: Vec<Reservation>,
    /// Lots whose held reservations changed (their live topics are republished).
    pub lots: Vec<usize>,
}

impl ParkingDesk {
    /// A desk for `d` with the reservations loaded from the store.
    pub fn new(d: &District, cfg: &ParkingConfig, items: Vec<Reservation>) -> Self {
        ParkingDesk {
            book: Book::from_items(items),
            board: Board::new(d.lots.len(), d.signs.len(), cfg.sign_settings()),
            frames: vec![None; d.signs.len()],
            forecasts: vec![None; d.lots.len()],
            flow: Flow::new(d),
            entries: vec![None; d.lots.len()],
            held: vec![0; d.lots.len()],
        }
    }

    /// `live/lots/{lot}` with reservations taken off and closed lots marked.
    pub fn lot_live(&self, st: &DistrictState, cfg: &ParkingConfig, l: usize, now: i64) -> LotLive {
        let model = &st.district.lots[l];
        let held = self.book.held(&model.id, now);
        let mut live = st.lot_live(l, now);
        let mut bays = st.bays_live(l);
        overlay::bays(&mut bays, held);
        overlay::lot(&mut live, model, Some(&bays), held, cfg.closed(&model.id));
        live
    }

    /// `live/bays/{lot}` with reserved bays as `R`.
    pub fn bays_live(&self, st: &DistrictState, l: usize, now: i64) -> BaysLive {
        let mut b = st.bays_live(l);
        overlay::bays(&mut b, self.book.held(&st.district.lots[l].id, now));
        b
    }

    /// Books a space in lot `l` for `owner` (the API account). A booking for now needs a
    /// space free now (before reservations); one for later does not.
    #[allow(clippy::too_many_arguments)]
    pub fn reserve(
        &mut self,
        st: &DistrictState,
        cfg: &ParkingConfig,
        l: usize,
        plate: String,
        window: (i64, i64),
        owner: Option<String>,
        now: i64,
    ) -> Result<Reservation, ReserveError> {
        let lot = &st.district.lots[l];
        if cfg.closed(&lot.id) {
            return Err(ReserveError::Closed(lot.id.clone()));
        }
        let free_now = st.lot_live(l, now).free;
        Ok(self.book.reserve(
            Request {
                lot: lot.id.clone(),
                plate,
                from_ms: window.0,
                to_ms: window.1,
                owner,
            },
            cfg.limit(lot.capacity),
            free_now,
            now,
        )?)
    }

    /// Cancels reservation `id` of lot `lot`. With `own_only`, only a reservation that
    /// account booked: another's is "not found" (404), as if it did not exist, so that an app
    /// cannot learn which ids other apps hold.
    pub fn cancel(
        &mut self,
        lot: &str,
        id: &str,
        own_only: Option<&str>,
        now: i64,
    ) -> Result<Reservation, BookError> {
        let theirs = |r: &Reservation| own_only.is_some_and(|o| r.owner.as_deref() != Some(o));
        if self.book.get(id).is_none_or(|r| r.lot != lot || theirs(r)) {
            return Err(BookError::NotFound(id.to_string()));
        }
        self.book.cancel(id, now)
    }

    /// One parking tick at `now`.
    pub fn tick(&mut self, st: &DistrictState, cfg: &ParkingConfig, now: i64) -> ParkingTick {
        let d = &st.district;
        let mut out = ParkingTick::default();
        let mut occupancy = Vec::with_capacity(d.lots.len());
        let mut raw = Vec::with_capacity(d.lots.len());
        for l in 0..d.lots.len() {
            let live = st.lot_live(l, now);
            self.flow.observe(l, &st.lots[l].bays);
            occupancy.push(
                (live.status != LotStatus::Stale && live.total > 0)
                    .then(|| live.occupied as f64 / live.total as f64),
            );
            raw.push((live.free, live.status, st.lots[l].entries.since(0)));
        }
        out.rollups = self.flow.close(d, now - FLOW_GRACE_MS, &occupancy);
        for (l, lot) in d.lots.iter().enumerate() {
            let total = raw[l].2;
            if let Some(before) = self.entries[l] {
                if total > before {
                    out.changed
                        .extend(self.book.arrive(&lot.id, total - before, now));
                }
            }
            self.entries[l] = Some(total);
        }
        out.changed.extend(self.book.expire(now, now - 86_400_000));
        let views: Vec<LotView> = d
            .lots
            .iter()
            .enumerate()
            .map(|(l, lot)| {
                let held = self.book.held(&lot.id, now);
                if held != self.held[l] {
                    self.held[l] = held;
                    out.lots.push(l);
                }
                if cfg.closed(&lot.id) {
                    LotView::Closed
                } else if raw[l].1 == LotStatus::Stale {
                    LotView::Stale
                } else {
                    LotView::Open {
                        free: raw[l].0 - held.min(raw[l].0),
                    }
                }
            })
            .collect();
        for (s, frame) in self.board.update(&d.signs, &d.lots, &views, now) {
            self.frames[s] = Some(frame.clone());
            out.frames.push((s, frame));
        }
        out
    }

    /// Takes the forecasts computed from the store (one per lot), for the API and, when
    /// configured, the signs' "full in N minutes" note.
    pub fn set_forecasts(
        &mut self,
        cfg: &ParkingConfig,
        forecasts: Vec<Option<serde_json::Value>>,
    ) {
        if cfg.forecast_on_signs {
            for (l, f) in forecasts.iter().enumerate() {
                let soon = f.as_ref().and_then(|f| f["full_in_min"].as_i64());
                self.board.set_soon_full(l, soon);
            }
        }
        self.forecasts = forecasts;
    }
}

/// Why a booking was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReserveError {
    /// The operator closed the lot.
    #[error("lot \"{0}\" is closed")]
    Closed(String),
    /// The book refused it.
    #[error(transparent)]
    Book(#[from] BookError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_cancels_its_own_reservations_only_and_an_admin_any() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let d = district::load(root.join("config/districts/hubin.toml")).unwrap();
        let lot = d.lots[0].id.clone();
        let booked = |id: &str, owner: Option<&str>| Reservation {
            id: id.into(),
            lot: lot.clone(),
            plate: "P1".into(),
            from_ms: 0,
            to_ms: 1000,
            created_ms: 0,
            state: super::super::reservation::ResState::Booked,
            ended_ms: None,
            owner: owner.map(str::to_string),
        };
        let mut desk = ParkingDesk::new(
            &d,
            &ParkingConfig::default(),
            vec![booked("rsv-1", Some("app-a")), booked("rsv-2", None)],
        );
        let not_found = |r| matches!(r, Err(BookError::NotFound(_)));
        assert!(not_found(desk.cancel(&lot, "rsv-1", Some("app-b"), 5)));
        assert!(not_found(desk.cancel(&lot, "rsv-2", Some("app-b"), 5)));
        assert!(not_found(desk.cancel(
            "other-lot",
            "rsv-1",
            Some("app-a"),
            5
        )));
        assert!(desk.cancel(&lot, "rsv-1", Some("app-a"), 5).is_ok());
        assert!(desk.cancel(&lot, "rsv-2", None, 5).is_ok());
    }
}
