//! Test support: the small fixture district, a world on it, and a replay of the readings
//! that checks every truth against them.

use std::collections::BTreeMap;

use chrono::DateTime;
use district::contract::reading::{decode, Measurement};
use district::contract::topic::Topic;
use district::contract::truth::Truth;
use district::{District, LotCounting, Role, Side, ZoneCounting};

use crate::scenario::Scenario;
use crate::world::{Outgoing, What, World, WorldConfig};

/// The small test district (`fixtures/small.toml`): four zones (two line-counted, two
/// area-counted, one of them without doors), a building with meters, detectors and an indoor
/// monitor, a bay-sensor lot and an entrance-counted lot.
pub(crate) fn small() -> District {
    district::load(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/small.toml"))
        .expect("fixtures/small.toml loads")
}

pub(crate) fn ms(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
}

pub(crate) fn world(d: &District, seed: u64, start: &str, scenario: Scenario) -> World {
    World::new(
        d,
        1,
        scenario,
        WorldConfig {
            seed,
            counter_error: 0.0,
            start_ms: ms(start),
        },
    )
}

/// Replays readings as the gateway would (exact counting) and checks each truth against them.
pub(crate) struct Replay<'a> {
    d: &'a District,
    /// In − out per zone from line counters.
    lines: Vec<i64>,
    /// Per line counter: total in, total out.
    pub line_totals: BTreeMap<String, (u64, u64)>,
    /// Latest count per area counter (indexed by device).
    area: Vec<Option<u32>>,
    bays: BTreeMap<usize, bool>,
    entrance: Vec<i64>,
    pub truths: Vec<Truth>,
    /// Truths checked.
    pub checked: usize,
    /// Skip the checks (while a scenario makes the readings disagree with the truth).
    pub lenient: bool,
}

impl<'a> Replay<'a> {
    pub fn new(d: &'a District) -> Self {
        Replay {
            d,
            lines: vec![0; d.zones.len()],
            line_totals: BTreeMap::new(),
            area: vec![None; d.devices.len()],
            bays: BTreeMap::new(),
            entrance: vec![0; d.lots.len()],
            truths: Vec::new(),
            checked: 0,
            lenient: false,
        }
    }

    /// Feeds one message; at a truth, checks it (panicking with the difference).
    pub fn feed(&mut self, o: &Outgoing) {
        match Topic::parse(&o.topic) {
            Some(Topic::SimTruth { .. }) => {
                let t: Truth = serde_json::from_slice(&o.payload).unwrap();
                self.check(&t);
                self.truths.push(t);
            }
            Some(Topic::Sensor {
                kind: Some(kind),
                device,
                ..
            }) => {
                if matches!(o.what, What::Injected { .. }) {
                    return;
                }
                let r = decode(kind, &o.payload).unwrap_or_else(|e| panic!("{}: {e}", o.topic));
                assert_eq!(r.ts_ms, o.ts_ms);
                let dev = self.d.device_idx(device).unwrap();
                match (&self.d.devices[dev].role, r.value) {
                    (Role::FootfallLine { enters, leaves }, Measurement::Line { ins, outs }) => {
                        let delta = ins as i64 - outs as i64;
                        self.lines[*enters] += delta;
                        if let Side::Zone(z) = leaves {
                            self.lines[*z] -= delta;
                        }
                        let t = self.line_totals.entry(device.to_string()).or_default();
                        t.0 += ins as u64;
                        t.1 += outs as u64;
                    }
                    (Role::FootfallArea { .. }, Measurement::Area { count }) => {
                        self.area[dev] = Some(count)
                    }
                    (Role::Bay { .. }, Measurement::Bay { occupied }) => {
                        self.bays.insert(dev, occupied);
                    }
                    (Role::Entrance { lot }, Measurement::Entrance { entries, exits }) => {
                        self.entrance[*lot] += entries as i64 - exits as i64
                    }
                    (
                        _,
                        Measurement::Air(_) | Measurement::Energy(_) | Measurement::Fire { .. },
                    ) => {}
                    (role, m) => panic!("{device}: {role:?} sent {m:?}"),
                }
            }
            _ => panic!("unexpected topic {}", o.topic),
        }
    }

    fn check(&mut self, t: &Truth) {
        if self.lenient {
            return;
        }
        for (z, zone) in self.d.zones.iter().enumerate() {
            let truth = t.people[&zone.id] as i64;
            if zone.counting == ZoneCounting::Lines {
                assert_eq!(self.lines[z], truth, "zone {} at {}", zone.id, t.sim_time);
            }
        }
        for (l, lot) in self.d.lots.iter().enumerate() {
            let truth = t.free_bays[&lot.id] as i64;
            let occupied = match lot.counting {
                LotCounting::Bays => {
                    self.bays.iter().filter(|(&dev, &occ)| occ && matches!(self.d.devices[dev].role, Role::Bay { lot: x, .. } if x == l)).count() as i64
                }
                LotCounting::Entrances => self.entrance[l],
                LotCounting::None => continue,
            };
            assert_eq!(
                lot.capacity as i64 - occupied,
                truth,
                "lot {} at {}",
                lot.id,
                t.sim_time
            );
        }
        self.checked += 1;
    }

    /// The zone's people from its area counters (their sum, as the gateway takes it).
    pub fn area(&self, zone: usize) -> Option<u32> {
        let counts: Vec<u32> = self
            .d
            .devices
            .iter()
            .enumerate()
            .filter(|(_, dev)| matches!(dev.role, Role::FootfallArea { zone: z } if z == zone))
            .filter_map(|(i, _)| self.area[i])
            .collect();
        (!counts.is_empty()).then(|| counts.iter().sum())
    }
}
