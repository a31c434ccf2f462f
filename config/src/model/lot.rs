//! Car parks (lots), their levels and bays.

use std::time::Duration;

use geo::{MultiPolygon, Point};

use super::Names;

/// Kind of car park.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LotKind {
    /// Open air.
    Surface,
    /// Underground garage.
    Underground,
    /// Multi-storey garage.
    Multistorey,
}

/// Where a lot's occupancy comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LotCounting {
    /// Bay sensors (one per bay).
    Bays,
    /// Entrance counters (entries minus exits).
    Entrances,
    /// Nothing reports on it.
    None,
}

/// One level of a lot.
#[derive(Debug, Clone)]
pub struct Level {
    /// Level id within the lot, e.g. `B1`.
    pub id: String,
    /// Spaces on this level.
    pub capacity: u32,
}

/// One bay.
#[derive(Debug, Clone)]
pub struct Bay {
    /// Bay id within the lot.
    pub id: String,
    /// Index into the lot's `levels`.
    pub level: usize,
    /// Position (lon, lat).
    pub at: Point<f64>,
    /// Id of its occupancy sensor, if fitted.
    pub sensor: Option<String>,
}

/// A validated car park.
#[derive(Debug, Clone)]
pub struct Lot {
    /// Id, unique in the district.
    pub id: String,
    /// Display name (shown on signs).
    pub names: Names,
    /// Kind of car park.
    pub kind: LotKind,
    /// Index of the zone it lies in.
    pub zone: usize,
    /// Outline in lon/lat degrees.
    pub outline: MultiPolygon<f64>,
    /// Total spaces.
    pub capacity: u32,
    /// Levels (at least one).
    pub levels: Vec<Level>,
    /// Bays in file order; the order of the compact per-bay message.
    pub bays: Vec<Bay>,
    /// Where occupancy comes from (derived).
    pub counting: LotCounting,
    /// Stale after this long without any report.
    pub stale_after: Duration,
}
