//! Devices: what reports, where, how often, and what its readings mean.

use std::fmt;
use std::time::Duration;

use geo::Point;
use serde::{Deserialize, Serialize};

/// The five kinds of device, also the `{kind}` segment of sensor topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// People counters (line or area).
    Footfall,
    /// Bay sensors and lot entrance counters.
    Parking,
    /// Air quality monitors.
    Air,
    /// Energy meters.
    Energy,
    /// Smoke / fire detectors.
    Fire,
}

impl DeviceKind {
    /// Every kind, in topic order.
    pub const ALL: [DeviceKind; 5] = [
        DeviceKind::Footfall,
        DeviceKind::Parking,
        DeviceKind::Air,
        DeviceKind::Energy,
        DeviceKind::Fire,
    ];

    /// The topic segment (`footfall`, `parking`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Footfall => "footfall",
            DeviceKind::Parking => "parking",
            DeviceKind::Air => "air",
            DeviceKind::Energy => "energy",
            DeviceKind::Fire => "fire",
        }
    }

    /// Parses a topic segment.
    pub fn parse(s: &str) -> Option<Self> {
        DeviceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One side of a footfall line: a zone or outside the district.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A zone (index into `District::zones`).
    Zone(usize),
    /// Outside the district.
    Outside,
}

/// What a device is and what its readings refer to.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    /// Footfall line counter: `in` moves people from `leaves` into `enters`.
    FootfallLine {
        /// The zone `in` enters.
        enters: usize,
        /// Where `in` comes from.
        leaves: Side,
    },
    /// Footfall area counter: people in the zone now.
    FootfallArea {
        /// The zone it counts.
        zone: usize,
    },
    /// Bay occupancy sensor.
    Bay {
        /// Lot index.
        lot: usize,
        /// Bay index within the lot.
        bay: usize,
    },
    /// Lot entrance counter (entries/exits since the last report).
    Entrance {
        /// Lot index.
        lot: usize,
    },
    /// Air monitor.
    Air {
        /// Indoors (CO2 is watched).
        indoor: bool,
    },
    /// Energy meter of a building.
    Energy {
        /// Building index.
        building: usize,
    },
    /// Smoke / fire detector.
    Fire {
        /// Building index.
        building: usize,
    },
}

/// A validated device.
#[derive(Debug, Clone)]
pub struct Device {
    /// Id, unique in the district.
    pub id: String,
    /// Kind (topic segment).
    pub kind: DeviceKind,
    /// What it measures.
    pub role: Role,
    /// Position, when known.
    pub location: Option<Point<f64>>,
    /// Zone index, when it has one.
    pub zone: Option<usize>,
    /// Building index, when it is inside one.
    pub building: Option<usize>,
    /// Floor, when known.
    pub floor: Option<i32>,
    /// Expected interval between reports (heartbeat for on-change devices).
    pub interval: Duration,
}
