//! The simulator's ground truth, retained on `district/{d}/sim/truth` and written as JSON Lines.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What really was in the district at a simulated minute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// District id.
    pub district: String,
    /// Simulated time (RFC 3339, district offset), at a whole minute.
    pub sim_time: String,
    /// Simulated time, epoch ms.
    pub ts_ms: i64,
    /// True people per zone.
    pub people: BTreeMap<String, u32>,
    /// True free bays per lot.
    pub free_bays: BTreeMap<String, u32>,
}
