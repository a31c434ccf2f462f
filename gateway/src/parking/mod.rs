//! Parking guidance (停车诱导): sign frames, reservations, space queries and the FIWARE view.
//!
//! - [`sign`]: what each guidance sign shows (pure: hysteresis, rate limit, stale, closed,
//!   plain-text LED rendering).
//! - [`reservation`]: the reservation book (pure); [`db`] keeps it across restarts.
//! - [`overlay`]: reservations layered on the pure live state (lot `reserved`, `R` bays).
//! - [`forecast`]: free spaces in 15/30/60 min (same weekday, adjusted by today);
//!   [`outlook`] computes it for a district's lots from the stored rollups.
//! - [`flow`]: dwell time, turnover per bay, occupancy share, as minute rollups.
//! - [`fiware`]: NGSI-LD `OffStreetParking` and `ParkingSpot`.
//! - [`desk`]: a district's book, board and flow, held by the district's owner
//!   ([`crate::owner`]), which ticks it and answers the API's reservation requests.

pub mod db;
pub mod desk;
pub mod fiware;
pub mod flow;
pub mod forecast;
pub mod outlook;
pub mod overlay;
pub mod reservation;
pub mod sign;

use std::time::Duration;

use serde::Deserialize;

use self::sign::SignSettings;

/// `[parking]` in the gateway configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParkingConfig {
    /// How often reservations and signs are looked at (wall time). Default `500ms`.
    #[serde(with = "crate::duration")]
    pub tick: Duration,
    /// At most one frame per sign per this long (gateway clock). Default `5s`.
    #[serde(with = "crate::duration")]
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

    /// True if the operator closed `lot`.
    pub fn closed(&self, lot: &str) -> bool {
        self.closed_lots.iter().any(|l| l == lot)
    }

    /// How many reservations of a lot of `capacity` may hold at once.
    pub fn limit(&self, capacity: u32) -> u32 {
        ((capacity as f64 * self.reservable_share).floor() as u32).max(1)
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
