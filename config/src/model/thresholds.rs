//! District-wide thresholds with their defaults.

use std::time::Duration;

use super::DensityThresholds;

/// District-wide thresholds (the `[thresholds]` table).
#[derive(Debug, Clone)]
pub struct Thresholds {
    /// Density thresholds for zones without their own (default 2 / 4 / 5 p/m²).
    pub density: DensityThresholds,
    /// Offline after this many missed intervals (default 3).
    pub offline_after_missed: u32,
    /// A lot is stale after this long without a report (default 10 min).
    pub lot_stale_after: Duration,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            density: DensityThresholds::default(),
            offline_after_missed: 3,
            lot_stale_after: Duration::from_secs(600),
        }
    }
}
