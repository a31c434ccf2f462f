//! Parking guidance (停车诱导): sign frames, reservations, space queries and the FIWARE view.
//!
//! - [`sign`]: what each guidance sign shows (pure: hysteresis, rate limit, stale, closed,
//!   plain-text LED rendering).
//! - [`reservation`]: the reservation book (pure); [`db`] keeps it across restarts.
//! - [`overlay`]: reservations layered on the pure live state (lot `reserved`, `R` bays).
//! - [`forecast`]: free spaces in 15/30/60 min (same weekday, adjusted by today).
//! - [`flow`]: dwell time, turnover per bay, occupancy share, as minute rollups.
//! - [`fiware`]: NGSI-LD `OffStreetParking` and `ParkingSpot`.
//! - [`task`]: the task that expires and uses reservations and publishes sign frames.
//!
//! Lock order: a district's live state before its parking state, never the other way round.

pub mod db;
pub mod fiware;
pub mod flow;
pub mod forecast;
pub mod overlay;
pub mod reservation;
pub mod sign;
pub mod task;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use district::contract::sign::SignFrame;
use district::District;
use serde::Deserialize;

use self::reservation::Book;
use self::sign::{Board, SignSettings};

/// `[parking]` in the gateway configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParkingConfig {
    /// How often reservations and signs are looked at (wall time). Default `500ms`.
    #[serde(with = "crate::config::duration")]
    pub tick: Duration,
    /// At most one frame per sign per this long (gateway clock). Default `5s`.
    #[serde(with = "crate::config::duration")]
    pub sign_min_interval: Duration,
    /// A lot shown FULL shows numbers again only from this many free spaces. Default 3.
    pub full_release: u32,
    /// Label width on signs, in Chinese characters. Default 4.
    pub label_chars: usize,
    /// Share of each lot's capacity that may be reserved at once. Default 0.2.
    pub reservable_share: f64,
    /// Lots closed by the operator (ids): signs say 暂停, the lot's status is `closed`.
    pub closed_lots: Vec<String>,
    /// Put the forecast on signs: a line's `note` says `预计{N}分钟后满` when the lot is
    /// expected to be full within 15, 30 or 60 minutes. Default false.
    pub forecast_on_signs: bool,
}

impl Default for ParkingConfig {
    fn default() -> Self {
        ParkingConfig {
            tick: Duration::from_millis(500),
            sign_min_interval: Duration::from_secs(5),
            full_release: 3,
            label_chars: 4,
            reservable_share: 0.2,
            closed_lots: Vec::new(),
            forecast_on_signs: false,
        }
    }
}

impl ParkingConfig {
    /// Sign settings.
    pub fn sign_settings(&self) -> SignSettings {
        SignSettings {
            min_interval_ms: self.sign_min_interval.as_millis() as i64,
            full_release: self.full_release.max(1),
            label_chars: self.label_chars.max(1),
        }
    }

    /// How many reservations of a lot of `capacity` may hold at once.
    pub fn limit(&self, capacity: u32) -> u32 {
        ((capacity as f64 * self.reservable_share).floor() as u32).max(1)
    }
}

/// Parking state of one district.
#[derive(Debug)]
pub struct DistrictParking {
    /// Reservations.
    pub book: Book,
    /// Sign hysteresis and rate limits.
    pub board: Board,
    /// The latest frame sent for each sign.
    pub frames: Vec<Option<SignFrame>>,
    /// The latest forecast of each lot (`live/forecast/{lot}` payloads; None while stale).
    pub forecasts: Vec<Option<serde_json::Value>>,
}

/// Parking state of every district (shared; one lock per district).
#[derive(Debug)]
pub struct Parking {
    /// Configuration.
    pub cfg: ParkingConfig,
    /// Reservations table.
    pub db: db::ReservationDb,
    districts: Vec<Mutex<DistrictParking>>,
}

impl Parking {
    /// Opens the reservation table and loads each district's book.
    pub fn open(
        cfg: &ParkingConfig,
        dir: &Path,
        districts: &[&District],
        now_ms: i64,
    ) -> anyhow::Result<Self> {
        let db = db::ReservationDb::open(dir)?;
        let mut ds = Vec::new();
        for d in districts {
            let items = db.load(&d.id, now_ms - 86_400_000)?;
            ds.push(Mutex::new(DistrictParking {
                book: Book::from_items(items),
                board: Board::new(d.lots.len(), d.signs.len(), cfg.sign_settings()),
                frames: vec![None; d.signs.len()],
                forecasts: vec![None; d.lots.len()],
            }));
        }
        Ok(Parking {
            cfg: cfg.clone(),
            db,
            districts: ds,
        })
    }

    /// Locks district `di`'s parking state (take the live state's lock first, if both).
    pub fn district(&self, di: usize) -> MutexGuard<'_, DistrictParking> {
        self.districts[di].lock().expect("parking lock")
    }

    /// True if the operator closed `lot`.
    pub fn closed(&self, lot: &str) -> bool {
        self.cfg.closed_lots.iter().any(|l| l == lot)
    }
}

impl Parking {
    /// Reservations of `lot` holding at `now` in district `di`.
    pub fn held(&self, di: usize, lot: &str, now: i64) -> u32 {
        self.district(di).book.held(lot, now)
    }

    /// `live/bays/{lot}` with reserved bays as `R`. `st` is the district's locked live state.
    pub fn bays_live(
        &self,
        di: usize,
        st: &crate::state::DistrictState,
        l: usize,
        now: i64,
    ) -> district::contract::live::BaysLive {
        let mut b = st.bays_live(l);
        overlay::bays(&mut b, self.held(di, &st.district.lots[l].id, now));
        b
    }

    /// `live/lots/{lot}` with reservations taken off and closed lots marked.
    pub fn lot_live(
        &self,
        di: usize,
        st: &crate::state::DistrictState,
        l: usize,
        now: i64,
    ) -> district::contract::live::LotLive {
        let model = &st.district.lots[l];
        let held = self.held(di, &model.id, now);
        let mut live = st.lot_live(l, now);
        let mut bays = st.bays_live(l);
        overlay::bays(&mut bays, held);
        overlay::lot(&mut live, model, Some(&bays), held, self.closed(&model.id));
        live
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use district::District;

    /// The example district.
    pub fn hubin() -> Arc<District> {
        Arc::new(
            district::load(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../config/districts/hubin.toml"
            ))
            .unwrap(),
        )
    }
}
