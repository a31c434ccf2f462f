//! Smoke / fire detectors: a `normal` heartbeat every interval (staggered per detector), and
//! alarms from `fire` scenario events.
//!
//! A fire in a building puts N of its detectors into `alarm`, 20 s apart: a run of neighbouring
//! detectors (ordered by floor, then id) starting at a random one, as smoke spreads. Each
//! detector reports its alarm at once and repeats it in its heartbeats until the fire is
//! cleared, when it reports `normal` again.

use district::{District, Role};

use crate::payload::field_str;
use crate::random::{self, SimRng};

/// The detectors of one district.
#[derive(Debug, Clone)]
pub(crate) struct Fire {
    device_of: Vec<u32>,
    alarm: Vec<bool>,
    by_building: Vec<Vec<u32>>,
    /// Detectors chosen for each fire event, by event index.
    groups: Vec<(usize, Vec<u32>)>,
}

impl Fire {
    /// The detectors of `d`; `slot[device]` is set to the detector index.
    pub fn new(d: &District, slot: &mut [u32]) -> Fire {
        let mut device_of = Vec::new();
        let mut by_building = vec![Vec::new(); d.buildings.len()];
        for (i, dev) in d.devices.iter().enumerate() {
            if let Role::Fire { building } = dev.role {
                slot[i] = device_of.len() as u32;
                by_building[building].push(device_of.len() as u32);
                device_of.push(i as u32);
            }
        }
        for list in by_building.iter_mut() {
            list.sort_by(|&a, &b| {
                let (da, db) = (
                    &d.devices[device_of[a as usize] as usize],
                    &d.devices[device_of[b as usize] as usize],
                );
                (da.floor, &da.id).cmp(&(db.floor, &db.id))
            });
        }
        Fire {
            alarm: vec![false; device_of.len()],
            device_of,
            by_building,
            groups: Vec::new(),
        }
    }

    /// Puts the `nth` detector of fire `event` in `building` (out of `count`) into alarm;
    /// returns its device, or None when the building has fewer detectors.
    pub fn alarm(
        &mut self,
        event: usize,
        building: usize,
        nth: usize,
        count: usize,
        rng: &mut SimRng,
    ) -> Option<u32> {
        let group = match self.groups.iter().position(|g| g.0 == event) {
            Some(i) => &self.groups[i].1,
            None => {
                let list = &self.by_building[building];
                if list.is_empty() {
                    return None;
                }
                let start = random::index(rng, list.len());
                let chosen = (0..count.min(list.len()))
                    .map(|k| list[(start + k) % list.len()])
                    .collect();
                self.groups.push((event, chosen));
                &self.groups.last()?.1
            }
        };
        let det = *group.get(nth)?;
        self.alarm[det as usize] = true;
        Some(self.device_of[det as usize])
    }

    /// Clears the `nth` detector of fire `event`; returns its device if it was in alarm.
    pub fn clear(&mut self, event: usize, nth: usize) -> Option<u32> {
        let group = &self.groups.iter().find(|g| g.0 == event)?.1;
        let det = *group.get(nth)?;
        let was = std::mem::replace(&mut self.alarm[det as usize], false);
        was.then_some(self.device_of[det as usize])
    }

    /// Writes detector `det`'s state into `body`.
    pub fn sample(&self, det: usize, body: &mut Vec<u8>) {
        field_str(
            body,
            "state",
            if self.alarm[det] { "alarm" } else { "normal" },
        );
    }
}
