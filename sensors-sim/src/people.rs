//! Zone populations and the crossings of the line counters that move people between them.
//!
//! Every zone starts empty. Each zone has a target population that follows the day
//! ([`crate::diurnal::people`] × the kind of day × the zone's peak, plus any crowd surge, whose
//! people are pushed in through the zone's doors over its ramp), and each simulated second:
//! - people leave each zone at a rate of `people / dwell` (faster when the zone is above its
//!   target), through the zone's line counters, preferring neighbours below their target and
//!   the outside when the neighbours are full;
//! - people arrive from outside through the district's entrance counters at a rate that
//!   replaces the zone's leavers to the outside and closes its gap to the target; a zone
//!   without an entrance of its own is reached through the nearest zones that have one, the
//!   arrivals crossing every counter on the way within the step;
//! - a zone that no line counter touches (an area-counted zone without doors, or an uncounted
//!   one) gains and loses people directly from and to the outside.
//!
//! A crossing is drawn per counter and direction from a Poisson law and never takes more people
//! out of a zone than are in it. Each crossing is added to the counter's pending `in` or `out`,
//! which the counter reports (and resets) at its next report: so, with no counter error, the
//! reports' `in − out` per zone add up to the zone's true population at every report instant.

use district::{District, Role, Side};

use crate::random::{self, SimRng};

mod surge;

pub use surge::{Surge, SurgeSize};

/// A zone's peak population on a workday, as a share of its safe capacity. The capacity is
/// defined at about 2 persons/m² of walking space, so this is about 0.9 persons/m² of walking
/// space (×1.4 at weekends, ×1.7 on holidays).
pub const PEAK_SHARE: f64 = 0.45;
/// Preference for a destination zone: `exp(PREF_GAIN × need)`, need in −1..1.
const PREF_GAIN: f64 = 1.5;
/// Preference for leaving the district.
const PREF_OUTSIDE: f64 = 1.0;
/// Leaving rate boost per unit of excess over the target (excess capped at `EXCESS_MAX`).
const EXCESS_GAIN: f64 = 3.0;
const EXCESS_MAX: f64 = 3.0;
/// Arrivals close a zone's gap to its target with this time constant, seconds.
const FILL_S: f64 = 600.0;
/// Populations are compared with targets relative to at least this many people.
const FLOOR: f64 = 10.0;

#[derive(Debug, Clone)]
struct ZoneSim {
    pop: u32,
    target: f64,
    peak: f64,
    dwell_s: f64,
    area_m2: f64,
    /// No line counter touches it: people come and go directly.
    direct: bool,
}

/// A line counter's pending counts.
#[derive(Debug, Clone)]
struct LineSim {
    pending_in: u32,
    pending_out: u32,
}

/// One way out of a zone: across `line`, in its `in` direction or not, into `to` (None: outside).
#[derive(Debug, Clone, Copy)]
struct Route {
    line: u32,
    inward: bool,
    to: Option<u32>,
}

/// How arrivals reach a zone: an entrance counter (from outside) into `via[0]`, then through
/// the zones of `via` (the last one is the destination).
#[derive(Debug, Clone)]
struct Path {
    entrance: u32,
    via: Vec<u32>,
}

/// The people of one district.
#[derive(Debug, Clone)]
pub(crate) struct People {
    zones: Vec<ZoneSim>,
    lines: Vec<LineSim>,
    exits: Vec<Vec<Route>>,
    /// How each zone's arrivals come in.
    paths: Vec<Vec<Path>>,
    /// Share of each zone's leavers that leave the district (at neutral preferences).
    outside_share: Vec<f64>,
    surges: Vec<Surge>,
    need: Vec<f64>,
    pref: Vec<f64>,
    out_rate: Vec<f64>,
    push: Vec<f64>,
}

impl People {
    /// The people model of `d`; `slot[device]` is set to the line index of each line counter.
    pub fn new(d: &District, slot: &mut [u32], layout: &mut SimRng) -> People {
        let n = d.zones.len();
        let mut lines = Vec::new();
        let mut exits = vec![Vec::new(); n];
        let mut own_entrances = vec![Vec::new(); n];
        let mut neighbours = vec![Vec::new(); n];
        let mut touched = vec![false; n];
        for (i, dev) in d.devices.iter().enumerate() {
            let Role::FootfallLine { enters, leaves } = dev.role else {
                continue;
            };
            let l = lines.len() as u32;
            slot[i] = l;
            lines.push(LineSim {
                pending_in: 0,
                pending_out: 0,
            });
            touched[enters] = true;
            let from = match leaves {
                Side::Zone(z) => Some(z as u32),
                Side::Outside => None,
            };
            exits[enters].push(Route {
                line: l,
                inward: false,
                to: from,
            });
            match from {
                Some(z) => {
                    touched[z as usize] = true;
                    exits[z as usize].push(Route {
                        line: l,
                        inward: true,
                        to: Some(enters as u32),
                    });
                    neighbours[enters].push(z as usize);
                    neighbours[z as usize].push(enters);
                }
                None => own_entrances[enters].push(l),
            }
        }
        let paths = (0..n)
            .map(|z| arrival_paths(z, &own_entrances, &neighbours))
            .collect();
        let outside_share = exits
            .iter()
            .map(|e: &Vec<Route>| match e.len() {
                0 => 1.0, // no doors: everyone leaving leaves the district
                n => e.iter().filter(|r| r.to.is_none()).count() as f64 / n as f64,
            })
            .collect();
        let zones = d
            .zones
            .iter()
            .enumerate()
            .map(|(i, z)| ZoneSim {
                pop: 0,
                target: 0.0,
                peak: z.capacity as f64 * PEAK_SHARE * random::uniform(layout, 0.8, 1.1),
                dwell_s: 60.0 * random::uniform(layout, 18.0, 32.0),
                area_m2: z.area_m2,
                direct: !touched[i],
            })
            .collect();
        People {
            zones,
            lines,
            exits,
            paths,
            outside_share,
            surges: Vec::new(),
            need: vec![0.0; n],
            pref: vec![1.0; n],
            out_rate: vec![0.0; n],
            push: vec![0.0; n],
        }
    }

    /// Adds a crowd surge.
    pub fn add_surge(&mut self, s: Surge) {
        self.surges.push(s);
    }

    /// True people in a zone.
    pub fn pop(&self, zone: usize) -> u32 {
        self.zones[zone].pop
    }

    /// The current target of a zone.
    pub fn target(&self, zone: usize) -> f64 {
        self.zones[zone].target
    }

    /// Takes (and resets) a line counter's crossings since its last report: `(in, out)`.
    pub fn take_line(&mut self, line: usize) -> (u32, u32) {
        let l = &mut self.lines[line];
        let c = (l.pending_in, l.pending_out);
        l.pending_in = 0;
        l.pending_out = 0;
        c
    }

    /// One simulated step of `dt_s` seconds at footfall `level` (day profile × kind of day).
    pub fn step(&mut self, t_ms: i64, dt_s: f64, level: f64, rng: &mut SimRng) {
        let n = self.zones.len();
        for z in 0..n {
            let (target, push) = self.target_at(z, t_ms, level);
            self.push[z] = push;
            let zs = &mut self.zones[z];
            zs.target = target;
            let pop = zs.pop as f64;
            let scale = target.max(FLOOR);
            self.need[z] = ((target - pop) / scale).clamp(-1.0, 1.0);
            self.pref[z] = (PREF_GAIN * self.need[z]).exp();
            let excess = ((pop - target) / scale).clamp(0.0, EXCESS_MAX);
            self.out_rate[z] = pop / zs.dwell_s * (1.0 + EXCESS_GAIN * excess) * dt_s;
        }
        for z in 0..n {
            if self.zones[z].pop == 0 || self.out_rate[z] <= 0.0 {
                continue;
            }
            if self.zones[z].direct {
                let k = random::poisson(rng, self.out_rate[z]).min(self.zones[z].pop);
                self.zones[z].pop -= k;
                continue;
            }
            let pref = |to: Option<u32>| to.map_or(PREF_OUTSIDE, |y| self.pref[y as usize]);
            let total: f64 = self.exits[z].iter().map(|r| pref(r.to)).sum();
            for i in 0..self.exits[z].len() {
                let r = self.exits[z][i];
                let lambda = self.out_rate[z] * pref(r.to) / total;
                let k = random::poisson(rng, lambda).min(self.zones[z].pop);
                if k == 0 {
                    continue;
                }
                self.zones[z].pop -= k;
                if let Some(y) = r.to {
                    self.zones[y as usize].pop += k;
                }
                let line = &mut self.lines[r.line as usize];
                if r.inward {
                    line.pending_in += k;
                } else {
                    line.pending_out += k;
                }
            }
        }
        for z in 0..n {
            let zs = &self.zones[z];
            let replace = zs.target * self.outside_share[z] / zs.dwell_s;
            let fill = (zs.target - zs.pop as f64) / FILL_S;
            let rate = (replace + fill + self.push[z]).max(0.0) * dt_s;
            if rate <= 0.0 {
                continue;
            }
            if zs.direct {
                let k = random::poisson(rng, rate);
                self.zones[z].pop += k;
                continue;
            }
            let n_paths = self.paths[z].len();
            for p in 0..n_paths {
                let k = random::poisson(rng, rate / n_paths as f64);
                if k > 0 {
                    self.arrive(z, p, k, rng);
                }
            }
        }
    }

    /// `k` people arrive along path `p` of zone `z`, crossing every counter on the way.
    fn arrive(&mut self, z: usize, p: usize, k: u32, rng: &mut SimRng) {
        let path = &self.paths[z][p];
        self.lines[path.entrance as usize].pending_in += k;
        for w in path.via.windows(2) {
            let (from, to) = (w[0] as usize, w[1]);
            let doors = self.exits[from].iter().filter(|r| r.to == Some(to)).count();
            let pick = random::index(rng, doors);
            let r = *self.exits[from]
                .iter()
                .filter(|r| r.to == Some(to))
                .nth(pick)
                .expect("a door");
            let line = &mut self.lines[r.line as usize];
            if r.inward {
                line.pending_in += k;
            } else {
                line.pending_out += k;
            }
        }
        self.zones[z].pop += k;
    }

    /// A zone's target at `t_ms`, and how fast surges push people in (people/s).
    fn target_at(&self, z: usize, t_ms: i64, level: f64) -> (f64, f64) {
        let zs = &self.zones[z];
        let base = zs.peak * level;
        let (mut target, mut push) = (base, 0.0);
        for s in self.surges.iter().filter(|s| s.zone == z) {
            let f = s.factor(t_ms);
            if f <= 0.0 {
                continue;
            }
            let full = match s.size {
                SurgeSize::People(n) => n as f64,
                SurgeSize::Density(d) => (d * zs.area_m2 - base).max(0.0),
            };
            target += f * full;
            if s.rising(t_ms) {
                push += full / (s.ramp_ms.max(1) as f64 / 1000.0);
            }
        }
        (target, push)
    }
}

/// How arrivals reach zone `z`: through its own entrance counters, else through those of the
/// nearest zones (fewest doors away) that have some, then zone by zone to `z`.
fn arrival_paths(z: usize, own: &[Vec<u32>], neighbours: &[Vec<usize>]) -> Vec<Path> {
    if !own[z].is_empty() {
        return own[z]
            .iter()
            .map(|&l| Path {
                entrance: l,
                via: vec![z as u32],
            })
            .collect();
    }
    // Breadth-first from z; `towards[y]` is the next zone from y on a shortest way to z.
    let mut towards = vec![usize::MAX; own.len()];
    towards[z] = z;
    let mut frontier = vec![z];
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for &f in &frontier {
            for &y in &neighbours[f] {
                if towards[y] == usize::MAX {
                    towards[y] = f;
                    next.push(y);
                }
            }
        }
        next.sort_unstable();
        next.dedup();
        let gates: Vec<usize> = next
            .iter()
            .copied()
            .filter(|&y| !own[y].is_empty())
            .collect();
        if !gates.is_empty() {
            let mut paths = Vec::new();
            for g in gates {
                let mut via = vec![g as u32];
                let mut at = g;
                while at != z {
                    at = towards[at];
                    via.push(at as u32);
                }
                paths.extend(own[g].iter().map(|&l| Path {
                    entrance: l,
                    via: via.clone(),
                }));
            }
            return paths;
        }
        frontier = next;
    }
    Vec::new()
}

#[cfg(test)]
mod tests;
