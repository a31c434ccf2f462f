//! The whole district and its lookups.

use std::collections::HashMap;

use geo::{Contains, Intersects, Point};

use super::{Building, Calendar, Device, Lot, Names, Sign, Thresholds, Zone};
use crate::frame::LocalFrame;

/// A validated district: every reference resolved to an index, every derived fact computed.
#[derive(Debug, Clone)]
pub struct District {
    /// Id (the `{d}` of every topic).
    pub id: String,
    /// Display name.
    pub names: Names,
    /// Time zone, opening hours, holidays.
    pub calendar: Calendar,
    /// District-wide thresholds.
    pub thresholds: Thresholds,
    /// Zones.
    pub zones: Vec<Zone>,
    /// Buildings.
    pub buildings: Vec<Building>,
    /// Car parks.
    pub lots: Vec<Lot>,
    /// Devices, bay sensors included.
    pub devices: Vec<Device>,
    /// Guidance signs.
    pub signs: Vec<Sign>,
    /// The local metric frame (east/north metres around the district's centre).
    pub frame: LocalFrame,
    pub(crate) device_index: HashMap<String, usize>,
    pub(crate) zone_index: HashMap<String, usize>,
    pub(crate) building_index: HashMap<String, usize>,
    pub(crate) lot_index: HashMap<String, usize>,
}

impl District {
    /// A device by id.
    pub fn device(&self, id: &str) -> Option<&Device> {
        self.device_index.get(id).map(|&i| &self.devices[i])
    }

    /// A device's index by id.
    pub fn device_idx(&self, id: &str) -> Option<usize> {
        self.device_index.get(id).copied()
    }

    /// A zone's index by id.
    pub fn zone_idx(&self, id: &str) -> Option<usize> {
        self.zone_index.get(id).copied()
    }

    /// A building's index by id.
    pub fn building_idx(&self, id: &str) -> Option<usize> {
        self.building_index.get(id).copied()
    }

    /// A lot's index by id.
    pub fn lot_idx(&self, id: &str) -> Option<usize> {
        self.lot_index.get(id).copied()
    }

    /// The zone containing a point (boundary points count as inside; the first zone wins).
    pub fn zone_at(&self, p: Point<f64>) -> Option<usize> {
        self.zones
            .iter()
            .position(|z| z.geometry.contains(&p))
            .or_else(|| self.zones.iter().position(|z| z.geometry.intersects(&p)))
    }

    /// Total parking spaces.
    pub fn parking_capacity(&self) -> u32 {
        self.lots.iter().map(|l| l.capacity).sum()
    }

    /// Rebuilds the id lookups after ids changed (used by [`crate::scale`]).
    pub(crate) fn reindex(&mut self) {
        self.device_index = index(self.devices.iter().map(|d| d.id.as_str()));
        self.zone_index = index(self.zones.iter().map(|z| z.id.as_str()));
        self.building_index = index(self.buildings.iter().map(|b| b.id.as_str()));
        self.lot_index = index(self.lots.iter().map(|l| l.id.as_str()));
    }
}

fn index<'a>(ids: impl Iterator<Item = &'a str>) -> HashMap<String, usize> {
    ids.enumerate().map(|(i, id)| (id.to_string(), i)).collect()
}
