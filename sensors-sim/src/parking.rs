//! Car parks: cars arriving ahead of the footfall, staying a while, leaving.
//!
//! Arrivals follow the footfall profile 45 minutes ahead (cars come 30–60 minutes before the
//! people peaks), scaled so that a lot is about two-thirds full at a workday peak (×1.4 at
//! weekends, ×1.7 on holidays, when lots fill up and cars are turned away). Most cars stay
//! 1.5–3 h, one in seven 4–9 h.
//!
//! - Lots with bay sensors (`LotCounting::Bays`): a car takes a random free bay that has a
//!   sensor; each change is reported by that bay's sensor at once. Such lots start with a few
//!   cars left overnight (about 4% of the bays), which the sensors report at boot.
//! - Lots with entrance counters: they start empty; each car passes one of the counters
//!   (chosen at random when there are several) on the way in and on the way out.
//! - Lots with no devices are simulated too (they count in the truth).
//!
//! Truth: free spaces = capacity − cars parked.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use district::{District, LotCounting, Role};

use crate::random::{self, SimRng};

/// Lot occupancy at the workday footfall peak, before the per-lot weight.
const PEAK_OCCUPANCY: f64 = 0.75;
/// How far ahead of the footfall the cars come, hours.
const LEAD_H: f64 = 0.75;
/// Share of bays taken overnight in bay-sensor lots at the start.
const OVERNIGHT: f64 = 0.04;
const SHORT_STAY_H: (f64, f64) = (1.5, 3.0);
const LONG_STAY_H: (f64, f64) = (4.0, 9.0);
const LONG_STAY_SHARE: f64 = 1.0 / 7.0;

/// Mean stay in seconds (for the arrival rate).
fn mean_stay_s() -> f64 {
    let short = (SHORT_STAY_H.0 + SHORT_STAY_H.1) / 2.0;
    let long = (LONG_STAY_H.0 + LONG_STAY_H.1) / 2.0;
    3600.0 * (short * (1.0 - LONG_STAY_SHARE) + long * LONG_STAY_SHARE)
}

fn stay_ms(rng: &mut SimRng) -> i64 {
    let (lo, hi) = if random::unit(rng) < LONG_STAY_SHARE {
        LONG_STAY_H
    } else {
        SHORT_STAY_H
    };
    (random::uniform(rng, lo, hi) * 3_600_000.0) as i64
}

/// A bay change to report: `(device, occupied)`.
pub(crate) type BayChange = (u32, bool);

#[derive(Debug, Clone)]
struct LotSim {
    capacity: u32,
    /// Spaces cars may use: sensored bays of a bay-counted lot, else the capacity.
    spaces: u32,
    occupied: u32,
    weight: f64,
    bays: bool,
    /// Device of each usable bay (bay-counted lots).
    bay_device: Vec<u32>,
    bay_occupied: Vec<bool>,
    free: Vec<u32>,
    /// (leaves at, usable bay index or 0).
    departures: BinaryHeap<Reverse<(i64, u32)>>,
    /// Entrance counters: device index and pending (entries, exits).
    entrances: Vec<(u32, u32, u32)>,
}

/// The car parks of one district.
#[derive(Debug, Clone)]
pub(crate) struct Parking {
    lots: Vec<LotSim>,
    /// For each device: (lot, usable bay) of a bay sensor.
    bay_of: Vec<Option<(u32, u32)>>,
    turned_away: u64,
}

impl Parking {
    /// The car parks of `d` at `start_ms`; `slot[device]` is set to the entrance counter's index
    /// within its lot.
    pub fn new(
        d: &District,
        slot: &mut [u32],
        start_ms: i64,
        layout: &mut SimRng,
        rng: &mut SimRng,
    ) -> Parking {
        let mut bay_of = vec![None; d.devices.len()];
        let mut lots: Vec<LotSim> = d
            .lots
            .iter()
            .map(|l| LotSim {
                capacity: l.capacity,
                spaces: l.capacity,
                occupied: 0,
                weight: random::uniform(layout, 0.85, 1.1),
                bays: l.counting == LotCounting::Bays,
                bay_device: Vec::new(),
                bay_occupied: Vec::new(),
                free: Vec::new(),
                departures: BinaryHeap::new(),
                entrances: Vec::new(),
            })
            .collect();
        for (i, dev) in d.devices.iter().enumerate() {
            match dev.role {
                Role::Bay { lot, .. } if lots[lot].bays => {
                    let l = &mut lots[lot];
                    bay_of[i] = Some((lot as u32, l.bay_device.len() as u32));
                    l.free.push(l.bay_device.len() as u32);
                    l.bay_device.push(i as u32);
                    l.bay_occupied.push(false);
                }
                Role::Entrance { lot } => {
                    slot[i] = lots[lot].entrances.len() as u32;
                    lots[lot].entrances.push((i as u32, 0, 0));
                }
                _ => {}
            }
        }
        for l in lots.iter_mut().filter(|l| l.bays) {
            l.spaces = (l.bay_device.len() as u32).min(l.capacity);
            let overnight = (l.spaces as f64 * OVERNIGHT).round() as u32;
            for _ in 0..overnight {
                let j = random::index(rng, l.free.len());
                let bay = l.free.swap_remove(j);
                l.bay_occupied[bay as usize] = true;
                l.occupied += 1;
                let leaves = start_ms + (random::uniform(rng, 1.0, 8.0) * 3_600_000.0) as i64;
                l.departures.push(Reverse((leaves, bay)));
            }
        }
        Parking {
            lots,
            bay_of,
            turned_away: 0,
        }
    }

    /// Whether a bay sensor's bay is occupied now.
    pub fn bay_occupied(&self, device: usize) -> bool {
        match self.bay_of[device] {
            Some((l, b)) => self.lots[l as usize].bay_occupied[b as usize],
            None => false,
        }
    }

    /// True free spaces of a lot.
    pub fn free(&self, lot: usize) -> u32 {
        let l = &self.lots[lot];
        l.capacity.saturating_sub(l.occupied)
    }

    /// Cars turned away from full lots so far.
    pub fn turned_away(&self) -> u64 {
        self.turned_away
    }

    /// Takes (and resets) an entrance counter's `(entries, exits)` since its last report.
    pub fn take_entrance(&mut self, lot: usize, counter: usize) -> (u32, u32) {
        let e = &mut self.lots[lot].entrances[counter];
        let c = (e.1, e.2);
        e.1 = 0;
        e.2 = 0;
        c
    }

    /// One step ending at `t_ms` of `dt_s` seconds, at footfall `level_ahead` (the footfall
    /// level 45 minutes from now); bay changes are appended to `changes`.
    pub fn step(
        &mut self,
        t_ms: i64,
        dt_s: f64,
        level_ahead: f64,
        rng: &mut SimRng,
        changes: &mut Vec<BayChange>,
    ) {
        let per_space = PEAK_OCCUPANCY * level_ahead / mean_stay_s() * dt_s;
        for l in self.lots.iter_mut() {
            let cars = random::poisson(rng, l.spaces as f64 * l.weight * per_space);
            for _ in 0..cars {
                if l.occupied >= l.spaces {
                    self.turned_away += 1;
                    continue;
                }
                l.occupied += 1;
                let leaves = t_ms + stay_ms(rng);
                if l.bays {
                    let j = random::index(rng, l.free.len());
                    let bay = l.free.swap_remove(j);
                    l.bay_occupied[bay as usize] = true;
                    changes.push((l.bay_device[bay as usize], true));
                    l.departures.push(Reverse((leaves, bay)));
                } else {
                    l.departures.push(Reverse((leaves, 0)));
                }
                if !l.entrances.is_empty() {
                    let c = random::index(rng, l.entrances.len());
                    l.entrances[c].1 += 1;
                }
            }
            while let Some(&Reverse((at, bay))) = l.departures.peek() {
                if at > t_ms {
                    break;
                }
                l.departures.pop();
                l.occupied -= 1;
                if l.bays {
                    l.bay_occupied[bay as usize] = false;
                    l.free.push(bay);
                    changes.push((l.bay_device[bay as usize], false));
                }
                if !l.entrances.is_empty() {
                    let c = random::index(rng, l.entrances.len());
                    l.entrances[c].2 += 1;
                }
            }
        }
    }
}

/// The footfall level `LEAD_H` hours ahead of a moment, which drives car arrivals.
pub(crate) fn level_ahead(m: &crate::diurnal::Moment) -> f64 {
    crate::diurnal::people(m.hour + LEAD_H) * crate::diurnal::day_multiplier(m.day)
}
