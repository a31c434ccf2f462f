//! Buildings: footprints, floors, heights; subjects of fire and energy alerts.

use geo::MultiPolygon;

use super::Names;

/// A validated building.
#[derive(Debug, Clone)]
pub struct Building {
    /// Id, unique in the district.
    pub id: String,
    /// Display name (the id when the file gives none).
    pub names: Names,
    /// Index of the zone it stands in (`District::zones`).
    pub zone: usize,
    /// Floors above ground.
    pub floors: u32,
    /// Height in metres.
    pub height_m: f64,
    /// Footprint in lon/lat degrees.
    pub footprint: MultiPolygon<f64>,
    /// Rated load in kW, if known.
    pub rated_kw: Option<f64>,
}
