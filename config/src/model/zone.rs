//! Zones: the areas whose people are counted and whose density is watched.

use geo::MultiPolygon;

use super::Names;

/// Crowd density thresholds in persons per m².
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DensityThresholds {
    /// Busy from this density (default 2.0).
    pub warn: f64,
    /// Crowded from this density (default 4.0).
    pub alarm: f64,
    /// Critical from this density (default 5.0).
    pub critical: f64,
}

impl Default for DensityThresholds {
    fn default() -> Self {
        DensityThresholds {
            warn: 2.0,
            alarm: 4.0,
            critical: 5.0,
        }
    }
}

/// How the people in a zone are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneCounting {
    /// In minus out over the line counters on its edges.
    Lines,
    /// Directly by area counters covering the zone (their sum).
    Area,
    /// No counter covers it.
    None,
}

/// A validated zone.
#[derive(Debug, Clone)]
pub struct Zone {
    /// Id, unique in the district.
    pub id: String,
    /// Display name.
    pub names: Names,
    /// Safe capacity in persons.
    pub capacity: u32,
    /// Geometry in WGS 84 lon/lat degrees.
    pub geometry: MultiPolygon<f64>,
    /// Geodesic area in m² (holes excluded).
    pub area_m2: f64,
    /// Density thresholds.
    pub density: DensityThresholds,
    /// How its people are counted (derived from the devices).
    pub counting: ZoneCounting,
}
