//! Retained live snapshots the gateway publishes for the twin, screens and apps.
//!
//! Timestamps (`ts`) are the event time of the latest reading that changed the snapshot, as
//! RFC 3339 UTC strings.

use serde::{Deserialize, Serialize};

/// Crowd level of a zone, from its density thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrowdLevel {
    /// Below `warn`.
    Normal,
    /// At or above `warn` (alert severity medium).
    Busy,
    /// At or above `alarm` (alert severity high).
    Crowded,
    /// At or above `critical` (alert severity critical).
    Critical,
}

impl CrowdLevel {
    /// The level of a density against thresholds.
    pub fn of(density: f64, t: &crate::model::DensityThresholds) -> Self {
        if density >= t.critical {
            CrowdLevel::Critical
        } else if density >= t.alarm {
            CrowdLevel::Crowded
        } else if density >= t.warn {
            CrowdLevel::Busy
        } else {
            CrowdLevel::Normal
        }
    }
}

/// `district/{d}/live/zones/{zone}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneLive {
    /// Zone id.
    pub zone: String,
    /// Event time of the state.
    pub ts: String,
    /// People in the zone now.
    pub people: u32,
    /// Persons per m² (people / geodesic area).
    pub density: f64,
    /// Crowd level.
    pub level: CrowdLevel,
    /// People entering in the last full minute.
    pub in_per_min: u32,
    /// People leaving in the last full minute.
    pub out_per_min: u32,
    /// Safe capacity.
    pub capacity: u32,
    /// Area in m².
    pub area_m2: f64,
    /// Visits (entries) since local midnight.
    pub visits_today: u64,
    /// True when no counter of the zone has reported within its expected interval.
    pub stale: bool,
}

/// Status of a car park.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LotStatus {
    /// Spaces free.
    Open,
    /// No space free.
    Full,
    /// Closed by the operator.
    Closed,
    /// No recent data: the numbers must not be trusted.
    Stale,
}

/// One level of a lot in a live snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelLive {
    /// Level id.
    pub level: String,
    /// Spaces.
    pub total: u32,
    /// Free spaces (unknown bays are not counted as free).
    pub free: u32,
}

/// `district/{d}/live/lots/{lot}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LotLive {
    /// Lot id.
    pub lot: String,
    /// Event time of the state.
    pub ts: String,
    /// Spaces.
    pub total: u32,
    /// Free spaces.
    pub free: u32,
    /// Occupied spaces.
    pub occupied: u32,
    /// Reserved spaces (counted as taken on signs).
    pub reserved: u32,
    /// Bays whose state is unknown (no report yet).
    pub unknown: u32,
    /// Open, full, closed or stale.
    pub status: LotStatus,
    /// Per level.
    pub levels: Vec<LevelLive>,
    /// Entries in the last hour.
    pub entries_per_hour: u32,
    /// Exits in the last hour.
    pub exits_per_hour: u32,
}

/// `district/{d}/live/bays/{lot}`: every bay of a lot in one compact message.
///
/// `states` has one character per bay, in the order of the lot's bays in the district file:
/// `F` free, `O` occupied, `R` reserved, `U` unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaysLive {
    /// Lot id.
    pub lot: String,
    /// Event time.
    pub ts: String,
    /// One character per bay.
    pub states: String,
}

/// `district/{d}/live/air/{device}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AirLive {
    /// Monitor id.
    pub device: String,
    /// Zone id.
    pub zone: Option<String>,
    /// Event time.
    pub ts: String,
    /// AQI (HJ 633-2012), when any pollutant is known.
    pub aqi: Option<u32>,
    /// Level code (`excellent`, `good`, `lightly_polluted`, ...).
    pub level: Option<String>,
    /// Level name in Chinese (优, 良, 轻度污染, ...).
    pub level_zh: Option<String>,
    /// Primary pollutant codes.
    pub primary: Vec<String>,
    /// Latest PM2.5, µg/m³.
    pub pm25: Option<f64>,
    /// Latest PM10, µg/m³.
    pub pm10: Option<f64>,
    /// Latest CO2, ppm (indoor monitors).
    pub co2: Option<f64>,
    /// Latest temperature, °C.
    pub temp: Option<f64>,
    /// Latest relative humidity, %.
    pub rh: Option<f64>,
    /// Indoor monitor.
    pub indoor: bool,
}

/// `district/{d}/live/energy/{building}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyLive {
    /// Building id.
    pub building: String,
    /// Event time.
    pub ts: String,
    /// Power now, kW (sum over its meters).
    pub kw: f64,
    /// Energy since local midnight, kWh.
    pub kwh_today: f64,
    /// Rated load, kW.
    pub rated_kw: Option<f64>,
}

/// One entry of the business heat ranking (商业热区).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeatZone {
    /// Zone id.
    pub zone: String,
    /// Visits (entries) in the last hour.
    pub visits_last_hour: u64,
    /// 1 = hottest.
    pub rank: u32,
}

/// `district/{d}/live/summary`: district KPIs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// District id.
    pub district: String,
    /// Event time.
    pub ts: String,
    /// People in the district now.
    pub people_now: u64,
    /// Visits since local midnight.
    pub visits_today: u64,
    /// Free parking spaces.
    pub parking_free: u32,
    /// Parking spaces.
    pub parking_total: u32,
    /// Worst outdoor AQI now.
    pub aqi: Option<u32>,
    /// Power now, kW.
    pub power_kw: f64,
    /// Energy since local midnight, kWh.
    pub kwh_today: f64,
    /// Open alerts.
    pub active_alerts: u32,
    /// Devices offline now.
    pub devices_offline: u32,
    /// Zones by visits in the last hour, hottest first.
    pub heat_zones: Vec<HeatZone>,
}

/// `district/{d}/gateway/status` (retained; the last will where the broker is external).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayStatus {
    /// `online` or `offline`.
    pub state: String,
    /// Gateway instance id.
    pub instance: String,
    /// Contract version.
    pub contract: String,
    /// Wall-clock time of the change.
    pub since: String,
}
