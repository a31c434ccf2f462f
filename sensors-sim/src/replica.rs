//! One simulated district (a replica, with `--scale`): its subsystems, and its devices turning
//! their state into readings.
//!
//! Each device has a precomputed topic, a sequence counter (starting at 1), a role-specific
//! slot in its subsystem, and its fault state (silent or stuck, from scenarios).

use district::contract::topic;
use district::contract::truth::Truth;
use district::{District, Role};

use crate::air::Air;
use crate::diurnal::Moment;
use crate::energy::Energy;
use crate::fire::Fire;
use crate::parking::{self, BayChange, Parking};
use crate::payload::{self, field_bool, field_u};
use crate::people::People;
use crate::random::{self, hash_str, SimRng, Stream};
use crate::world::{Outgoing, What};

/// The random streams of a replica.
#[derive(Debug, Clone)]
pub(crate) struct Rngs {
    pub people: SimRng,
    pub parking: SimRng,
    pub air: SimRng,
    pub energy: SimRng,
    pub fire: SimRng,
    pub error: SimRng,
    pub malformed: SimRng,
}

/// One district being simulated.
#[derive(Debug)]
pub(crate) struct Replica {
    pub district: District,
    /// Position in the world (what [`What`] carries).
    pub pos: u32,
    topics: Vec<String>,
    truth_topic: String,
    /// Report interval and phase per device, ms.
    pub interval_ms: Vec<i64>,
    pub phase_ms: Vec<i64>,
    seq: Vec<u64>,
    slot: Vec<u32>,
    last_body: Vec<Vec<u8>>,
    silent_until: Vec<i64>,
    lose_counts: Vec<bool>,
    stuck_until: Vec<i64>,
    pub people: People,
    pub parking: Parking,
    pub air: Air,
    energy: Energy,
    pub fire: Fire,
    pub rng: Rngs,
    counter_error: f64,
    body: Vec<u8>,
    changes: Vec<BayChange>,
}

impl Replica {
    /// Builds replica `pos` of the world from `district`; `index` picks its random streams
    /// (0 when unscaled, else the replica number `k` of its `-{k:03}` suffix).
    pub fn new(
        district: District,
        pos: u32,
        index: usize,
        seed: u64,
        counter_error: f64,
        start: &Moment,
    ) -> Replica {
        let d = &district;
        let n = d.devices.len();
        let mut layout = random::rng(seed, index, Stream::Layout);
        let mut parking_rng = random::rng(seed, index, Stream::Parking);
        let mut slot = vec![u32::MAX; n];
        let people = People::new(d, &mut slot, &mut layout);
        let parking = Parking::new(d, &mut slot, start.t_ms, &mut layout, &mut parking_rng);
        let air = Air::new(d, &mut slot, seed, start.t_ms, &mut layout);
        let energy = Energy::new(d, &mut slot, start, &mut layout);
        let fire = Fire::new(d, &mut slot);
        let interval_ms: Vec<i64> = d
            .devices
            .iter()
            .map(|x| (x.interval.as_millis() as i64).max(1000))
            .collect();
        let phase_ms = d
            .devices
            .iter()
            .zip(&interval_ms)
            .map(|(x, &iv)| match x.role {
                Role::Bay { .. } | Role::Fire { .. } => {
                    (hash_str(seed, &x.id) % (iv as u64 / 1000)) as i64 * 1000
                }
                _ => 0,
            })
            .collect();
        Replica {
            topics: d
                .devices
                .iter()
                .map(|x| topic::sensor(&d.id, x.kind, &x.id))
                .collect(),
            truth_topic: topic::sim_truth(&d.id),
            interval_ms,
            phase_ms,
            seq: vec![0; n],
            slot,
            last_body: vec![Vec::new(); n],
            silent_until: vec![i64::MIN; n],
            lose_counts: vec![false; n],
            stuck_until: vec![i64::MIN; n],
            people,
            parking,
            air,
            energy,
            fire,
            rng: Rngs {
                people: random::rng(seed, index, Stream::People),
                parking: parking_rng,
                air: random::rng(seed, index, Stream::Air),
                energy: random::rng(seed, index, Stream::Energy),
                fire: random::rng(seed, index, Stream::Fire),
                error: random::rng(seed, index, Stream::CounterError),
                malformed: random::rng(seed, index, Stream::Malformed),
            },
            counter_error,
            body: Vec::with_capacity(256),
            changes: Vec::new(),
            district,
            pos,
        }
    }

    /// Boot messages: every bay sensor reports its state at the start.
    pub fn boot(&mut self, now: &Moment, out: &mut Vec<Outgoing>) {
        for dev in 0..self.district.devices.len() {
            if matches!(self.district.devices[dev].role, Role::Bay { .. }) {
                self.bay_state(dev, now, out);
            }
        }
    }

    /// Advances people and cars by one step ending at `now`; bay changes are reported at once.
    pub fn step(&mut self, now: &Moment, dt_s: f64, out: &mut Vec<Outgoing>) {
        self.people
            .step(now.t_ms, dt_s, now.footfall_level(), &mut self.rng.people);
        let mut changes = std::mem::take(&mut self.changes);
        self.parking.step(
            now.t_ms,
            dt_s,
            parking::level_ahead(now),
            &mut self.rng.parking,
            &mut changes,
        );
        for &(dev, occupied) in &changes {
            let dev = dev as usize;
            if !self.is_silent(dev, now.t_ms) && !self.is_stuck(dev, now.t_ms) {
                self.body.clear();
                field_bool(&mut self.body, "occupied", occupied);
                self.emit(dev, now, out);
            }
        }
        changes.clear();
        self.changes = changes;
    }

    fn is_silent(&self, dev: usize, t: i64) -> bool {
        t < self.silent_until[dev]
    }

    fn is_stuck(&self, dev: usize, t: i64) -> bool {
        t < self.stuck_until[dev]
    }

    /// A bay sensor reports its current state (boot, heartbeat, recovery).
    pub fn bay_state(&mut self, dev: usize, now: &Moment, out: &mut Vec<Outgoing>) {
        self.body.clear();
        field_bool(&mut self.body, "occupied", self.parking.bay_occupied(dev));
        self.emit(dev, now, out);
    }

    /// The periodic report of device `dev` at `now`.
    pub fn report(&mut self, dev: usize, now: &Moment, out: &mut Vec<Outgoing>) {
        let t = now.t_ms;
        let slot = self.slot[dev] as usize;
        let p = self.counter_error;
        if self.is_silent(dev, t) {
            // Silent devices send nothing; counters keep their counts unless told to lose them.
            if self.lose_counts[dev] {
                match self.district.devices[dev].role {
                    Role::FootfallLine { .. } => drop(self.people.take_line(slot)),
                    Role::Entrance { lot } => drop(self.parking.take_entrance(lot, slot)),
                    _ => {}
                }
            }
            return;
        }
        self.body.clear();
        match self.district.devices[dev].role {
            Role::FootfallLine { .. } => {
                let (i, o) = self.people.take_line(slot);
                field_u(
                    &mut self.body,
                    "in",
                    random::observe(&mut self.rng.error, i, p) as u64,
                );
                field_u(
                    &mut self.body,
                    "out",
                    random::observe(&mut self.rng.error, o, p) as u64,
                );
            }
            Role::FootfallArea { zone } => {
                // The gateway sums a zone's area counters (each covers its own part of the
                // zone), so the zone's people are split between them.
                let (k, n) = area_share(&self.district, dev, zone);
                let pop = self.people.pop(zone) as u64;
                let mut count = (pop * (k + 1) / n - pop * k / n) as f64;
                if p > 0.0 {
                    count *= 1.0 + random::uniform(&mut self.rng.error, -p, p);
                }
                field_u(&mut self.body, "count", count.round().max(0.0) as u64);
            }
            Role::Bay { .. } => {
                field_bool(&mut self.body, "occupied", self.parking.bay_occupied(dev))
            }
            Role::Entrance { lot } => {
                let (e, x) = self.parking.take_entrance(lot, slot);
                field_u(
                    &mut self.body,
                    "entries",
                    random::observe(&mut self.rng.error, e, p) as u64,
                );
                field_u(
                    &mut self.body,
                    "exits",
                    random::observe(&mut self.rng.error, x, p) as u64,
                );
            }
            Role::Air { .. } => {
                let occupancy = self.district.devices[dev].zone.map_or(0.0, |z| {
                    self.people.pop(z) as f64 / self.district.zones[z].capacity.max(1) as f64
                });
                self.air
                    .sample(slot, now, occupancy, &mut self.rng.air, &mut self.body);
            }
            Role::Energy { .. } => {
                self.energy
                    .sample(slot, now, &mut self.rng.energy, &mut self.body)
            }
            Role::Fire { .. } => self.fire.sample(slot, &mut self.body),
        }
        self.emit(dev, now, out);
    }

    /// Sends `self.body` as device `dev`'s reading (a stuck device repeats its last body).
    pub fn emit(&mut self, dev: usize, now: &Moment, out: &mut Vec<Outgoing>) {
        let stuck = self.is_stuck(dev, now.t_ms) && !self.last_body[dev].is_empty();
        if !stuck {
            let last = &mut self.last_body[dev];
            last.clear();
            last.extend_from_slice(&self.body);
        }
        let body = &self.last_body[dev];
        self.seq[dev] += 1;
        out.push(Outgoing {
            ts_ms: now.t_ms,
            topic: self.topics[dev].clone(),
            payload: payload::reading(&now.ts, Some(self.seq[dev]), body),
            retain: false,
            what: What::Reading {
                kind: self.district.devices[dev].kind,
                district: self.pos,
            },
        });
    }

    /// Silences devices until `until` (reporting resumes at their next report after it).
    pub fn silence(&mut self, devices: &[usize], until: i64, lose_counts: bool) {
        for &d in devices {
            self.silent_until[d] = until;
            self.lose_counts[d] = lose_counts;
        }
    }

    /// Ends a silence: bay sensors report their state at once.
    pub fn unsilence(&mut self, devices: &[usize], now: &Moment, out: &mut Vec<Outgoing>) {
        for &d in devices {
            self.silent_until[d] = i64::MIN;
            if matches!(self.district.devices[d].role, Role::Bay { .. }) {
                self.bay_state(d, now, out);
            }
        }
    }

    /// A device repeats its last values until `until` (or ends that, with `until` = None).
    pub fn stick(
        &mut self,
        device: usize,
        until: Option<i64>,
        now: &Moment,
        out: &mut Vec<Outgoing>,
    ) {
        match until {
            Some(u) => self.stuck_until[device] = u,
            None => {
                self.stuck_until[device] = i64::MIN;
                if matches!(self.district.devices[device].role, Role::Bay { .. }) {
                    self.bay_state(device, now, out);
                }
            }
        }
    }

    /// The truth now.
    pub fn truth(&self, now: &Moment) -> Truth {
        crate::truth::build(
            &self.district,
            now.t_ms,
            &now.ts,
            |z| self.people.pop(z),
            |l| self.parking.free(l),
        )
    }

    /// Publishes the truth now (retained).
    pub fn truth_message(&self, now: &Moment, out: &mut Vec<Outgoing>) {
        out.push(Outgoing {
            ts_ms: now.t_ms,
            topic: self.truth_topic.clone(),
            payload: crate::truth::to_json(&self.truth(now)),
            retain: true,
            what: What::Truth { district: self.pos },
        });
    }
}

/// Which of its zone's area counters `dev` is (`k`, 0-based, in file order) and how many the
/// zone has (`n`).
fn area_share(d: &district::District, dev: usize, zone: usize) -> (u64, u64) {
    let mut k = 0;
    let mut n = 0;
    for (i, other) in d.devices.iter().enumerate() {
        if matches!(other.role, Role::FootfallArea { zone: z } if z == zone) {
            if i < dev {
                k += 1;
            }
            n += 1;
        }
    }
    (k, n.max(1))
}
