//! The district file as written by a district manager (TOML), before validation.
//!
//! These structs mirror the file one to one; [`crate::load`] turns them into the validated
//! [`crate::District`]. Every table rejects unknown keys, so a misspelt key is an error that names
//! the key and its line, not a silently ignored setting. Units are in the key names (`_m`, `_kw`)
//! or written in the value (`interval = "60s"`).

use serde::Deserialize;

/// A name in Chinese and English: `name = { zh = "湖滨路步行街", en = "Hubin Road" }`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NamesSpec {
    /// Chinese name, shown on the twin and on signs.
    pub zh: String,
    /// English name.
    pub en: String,
}

/// A ring of `[longitude, latitude]` points in WGS 84 degrees; the last point repeats the first.
pub type RingSpec = Vec<[f64; 2]>;

/// The `[district]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistrictSpec {
    /// District id, used in every MQTT topic (`district/{id}/...`): lowercase letters, digits, `-`.
    pub id: String,
    /// Display name.
    pub name: NamesSpec,
    /// IANA time zone that defines "today", night and opening hours, e.g. `Asia/Shanghai`.
    pub timezone: String,
    /// A GeoJSON FeatureCollection beside this file that holds geometry by feature `id`
    /// (features with `kind` = `zone`, `building` or `lot`). Optional.
    pub geojson: Option<String>,
    /// Opening hours, local time, e.g. `{ open = "10:00", close = "22:00" }`.
    /// Default 10:00–22:00.
    pub opening_hours: Option<OpeningHoursSpec>,
    /// Public holidays, local dates `YYYY-MM-DD`: footfall is higher and shops keep weekend hours.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Local time of the nightly re-baseline of line-counter zone counts (the district is
    /// assumed empty then). Default `"04:00"`.
    pub rebaseline_at: Option<String>,
}

/// Opening hours in local time, `HH:MM`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningHoursSpec {
    /// Opening time, `HH:MM`.
    pub open: String,
    /// Closing time, `HH:MM`; may be after midnight (e.g. `"01:00"`).
    pub close: String,
}

/// Crowd density thresholds in persons per m² (Fruin levels of service).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DensitySpec {
    /// Busy from this density (default 2.0 p/m²: walking slows).
    pub warn: f64,
    /// Crowded from this density (default 4.0 p/m²).
    pub alarm: f64,
    /// Critical from this density (default 5.0 p/m²: dangerous crowd forces).
    pub critical: f64,
}

/// The `[thresholds]` table: district-wide defaults that zones and devices may override.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdsSpec {
    /// Crowd density thresholds for every zone without its own.
    pub density: Option<DensitySpec>,
    /// A device is offline after this many missed report intervals (default 3).
    pub offline_after_missed: Option<u32>,
    /// A car park's data is stale after this long without any report (default `"10min"`).
    pub lot_stale_after: Option<String>,
}

/// One `[[zones]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    /// Zone id, unique in the district.
    pub id: String,
    /// Display name.
    pub name: NamesSpec,
    /// Safe capacity in persons.
    pub capacity: u32,
    /// Outer ring; omit to take the geometry from the GeoJSON feature with this id.
    pub outline: Option<RingSpec>,
    /// Holes in the outline (courtyards, water).
    #[serde(default)]
    pub holes: Vec<RingSpec>,
    /// Overrides the district's density thresholds for this zone.
    pub density: Option<DensitySpec>,
}

/// One `[[buildings]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildingSpec {
    /// Building id, unique in the district.
    pub id: String,
    /// Display name (optional: small buildings often have none).
    pub name: Option<NamesSpec>,
    /// The zone it stands in; derived from the footprint when omitted.
    pub zone: Option<String>,
    /// Floors above ground.
    pub floors: u32,
    /// Height in metres.
    pub height_m: f64,
    /// Footprint ring; omit to take it from the GeoJSON feature with this id.
    pub outline: Option<RingSpec>,
    /// Rated electrical load in kW (for overload alerts). Optional.
    pub rated_kw: Option<f64>,
}

/// Kinds of car park.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LotKindSpec {
    /// Open-air car park.
    Surface,
    /// Underground garage.
    Underground,
    /// Multi-storey garage.
    Multistorey,
}

/// One level of a car park.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelSpec {
    /// Level id within the lot, e.g. `B1`.
    pub id: String,
    /// Spaces on this level. With bays listed it defaults to the number of bays on the level.
    pub capacity: Option<u32>,
}

/// One bay (parking space) of a car park.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaySpec {
    /// Bay id within the lot, e.g. `B1-017`.
    pub id: String,
    /// Level id.
    pub level: String,
    /// Position `[lon, lat]`; must lie inside the lot's outline.
    pub at: [f64; 2],
    /// Id of the bay's occupancy sensor, if it has one (a device of kind `parking`).
    pub sensor: Option<String>,
    /// Reporting interval of the sensor's heartbeat (default `"4h"`).
    pub heartbeat: Option<String>,
}

/// One `[[lots]]` entry: a car park.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LotSpec {
    /// Lot id, unique in the district.
    pub id: String,
    /// Display name, shown on signs.
    pub name: NamesSpec,
    /// Kind of car park (default `surface`).
    pub kind: Option<LotKindSpec>,
    /// The zone it lies in; derived from the outline when omitted.
    pub zone: Option<String>,
    /// Outline ring; omit to take it from the GeoJSON feature with this id.
    pub outline: Option<RingSpec>,
    /// Total spaces. Defaults to the sum of the levels' capacities.
    pub capacity: Option<u32>,
    /// Levels; a lot without levels has one implicit level `G`.
    #[serde(default)]
    pub levels: Vec<LevelSpec>,
    /// Bays with positions (and sensors where fitted).
    #[serde(default)]
    pub bays: Vec<BaySpec>,
    /// Stale after this long without a report from any of its devices (default: the district's).
    pub stale_after: Option<String>,
}

/// One `[[devices]]` entry. Bay sensors are declared on their bays instead.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    /// Device id, unique in the district (it is the last segment of its MQTT topic).
    pub id: String,
    /// `footfall`, `parking`, `air`, `energy` or `fire`.
    pub kind: String,
    /// For `footfall`: `line` (in/out counts across a line) or `area` (people in an area now).
    /// For `parking`: `entrance` (entries/exits of a lot). Ignored otherwise.
    pub counter: Option<String>,
    /// Position `[lon, lat]`.
    pub location: Option<[f64; 2]>,
    /// Zone; derived from `location` when omitted. For an area counter, the zone it counts.
    pub zone: Option<String>,
    /// Building (fire detectors, energy meters, indoor air monitors).
    pub building: Option<String>,
    /// Floor (1 = ground floor, negative below ground).
    pub floor: Option<i32>,
    /// Car park (entrance counters).
    pub lot: Option<String>,
    /// Line counter: the zone its `in` direction enters.
    pub enters: Option<String>,
    /// Line counter: the zone its `in` direction leaves, or `outside` (the default).
    pub leaves: Option<String>,
    /// Air monitor indoors (CO2 matters) rather than outdoors.
    #[serde(default)]
    pub indoor: bool,
    /// Expected report interval, with a unit: `"60s"`, `"5min"`, `"1h"`.
    pub interval: Option<String>,
}

/// Arrow on a guidance sign line.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ArrowSpec {
    /// ←
    Left,
    /// →
    Right,
    /// ↑
    Ahead,
    /// ↖
    AheadLeft,
    /// ↗
    AheadRight,
    /// ↓ (behind / U-turn)
    Back,
}

/// One line of a guidance sign.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignLineSpec {
    /// The lot this line points to.
    pub lot: String,
    /// Arrow shown before the lot.
    pub arrow: ArrowSpec,
    /// Short label, if different from the lot's name (signs have room for about 6 CJK characters).
    pub label: Option<NamesSpec>,
}

/// One `[[signs]]` entry: a parking guidance sign (停车诱导屏).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignSpec {
    /// Sign id, unique in the district.
    pub id: String,
    /// Where it stands, e.g. a junction.
    pub name: NamesSpec,
    /// Position `[lon, lat]`.
    pub location: [f64; 2],
    /// Its lines, top to bottom.
    pub lines: Vec<SignLineSpec>,
}
