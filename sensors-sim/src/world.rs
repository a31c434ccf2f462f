//! The world: every replica, the report schedule, the scenario timeline, and simulated time.
//!
//! Pure and deterministic: [`World::step_into`] advances simulated time in 1-second steps up to a
//! given instant and appends the messages of those steps, in time order, to a buffer. Within a
//! step the order is: scenario actions, bay changes, periodic reports (by replica, then device),
//! then, at a whole minute, the truth of each replica, so the truth of minute M always follows
//! every reading stamped at or before M. No I/O, no wall clock.

use district::contract::truth::Truth;
use district::{DeviceKind, District};

use crate::diurnal::Moment;
use crate::malformed::{self, Variety};
use crate::people::Surge;
use crate::replica::Replica;
use crate::scenario::{Action, EventKind, Scenario};
use crate::schedule::{next_after, Due, Schedule};

/// The simulation step, ms.
pub const STEP_MS: i64 = 1000;

/// What a message is, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// A device reading.
    Reading {
        /// Device kind.
        kind: DeviceKind,
        /// Replica position in the world.
        district: u32,
    },
    /// Ground truth (retained).
    Truth {
        /// Replica position in the world.
        district: u32,
    },
    /// A malformed message from a scenario.
    Injected {
        /// Its variety.
        variety: Variety,
        /// Replica position in the world.
        district: u32,
    },
}

impl What {
    /// The replica the message belongs to.
    pub fn district(self) -> u32 {
        match self {
            What::Reading { district, .. }
            | What::Truth { district }
            | What::Injected { district, .. } => district,
        }
    }
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Simulated time it belongs to, epoch ms.
    pub ts_ms: i64,
    /// MQTT topic.
    pub topic: String,
    /// Exact payload bytes.
    pub payload: Vec<u8>,
    /// Publish retained (the truth).
    pub retain: bool,
    /// What it is.
    pub what: What,
}

/// Settings of a world.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorldConfig {
    /// Seed of every random stream.
    pub seed: u64,
    /// Counter error probability (0 = exact counters).
    pub counter_error: f64,
    /// Start, epoch ms (rounded down to a whole second).
    pub start_ms: i64,
}

/// Every simulated district and the time they have reached.
#[derive(Debug)]
pub struct World {
    replicas: Vec<Replica>,
    schedule: Schedule,
    scenario: Scenario,
    actions: Vec<(i64, usize, Action)>,
    next_action: usize,
    start_ms: i64,
    t_ms: i64,
    booted: bool,
}

impl World {
    /// A world of `scale` replicas of `base` (one, unchanged, when `scale` ≤ 1), with a scenario
    /// checked against `base`, every zone empty at the start.
    pub fn new(base: &District, scale: usize, scenario: Scenario, cfg: WorldConfig) -> World {
        let start_ms = cfg.start_ms.div_euclid(1000) * 1000;
        let start = Moment::of(&base.calendar, start_ms);
        let scaled = scale > 1;
        let mut replicas = Vec::new();
        let mut schedule = Schedule::default();
        for (i, d) in district::scale::replicate(base, scale)
            .into_iter()
            .enumerate()
        {
            let index = if scaled { i + 1 } else { 0 };
            let mut r = Replica::new(d, i as u32, index, cfg.seed, cfg.counter_error, &start);
            for e in scenario
                .events
                .iter()
                .filter(|e| e.applies_to(&r.district.id))
            {
                let at = e.at.resolve(start_ms);
                match e.kind {
                    EventKind::CrowdSurge {
                        zone,
                        size,
                        ramp_ms,
                        hold_ms,
                    } => r.people.add_surge(Surge {
                        zone,
                        start_ms: at,
                        ramp_ms,
                        hold_ms,
                        size,
                    }),
                    EventKind::Pollution {
                        peak_pm25,
                        duration_ms,
                        zone,
                    } => r.air.add_episode(crate::air::Episode {
                        start_ms: at,
                        duration_ms,
                        peak_pm25,
                        zone,
                    }),
                    _ => {}
                }
            }
            for dev in 0..r.district.devices.len() {
                let at = next_after(start_ms, r.interval_ms[dev], r.phase_ms[dev]);
                schedule.push(Due {
                    at,
                    replica: i as u32,
                    device: dev as u32,
                });
            }
            replicas.push(r);
        }
        World {
            replicas,
            schedule,
            actions: scenario.actions(start_ms),
            scenario,
            next_action: 0,
            start_ms,
            t_ms: start_ms,
            booted: false,
        }
    }

    /// The start, epoch ms.
    pub fn start_ms(&self) -> i64 {
        self.start_ms
    }

    /// The simulated time reached: every message stamped at or before it has been produced
    /// (the start until the first step).
    pub fn now_ms(&self) -> i64 {
        self.t_ms
    }

    /// The districts simulated (replicas in order).
    pub fn districts(&self) -> impl Iterator<Item = &District> {
        self.replicas.iter().map(|r| &r.district)
    }

    /// The ground truth of replica `i` now.
    pub fn truth(&self, i: usize) -> Truth {
        let r = &self.replicas[i];
        r.truth(&Moment::of(&r.district.calendar, self.t_ms))
    }

    /// The target population of a zone of replica `i` at the last step (for tests and tuning).
    pub fn target(&self, i: usize, zone: usize) -> f64 {
        self.replicas[i].people.target(zone)
    }

    /// Cars turned away from full lots so far, all replicas.
    pub fn turned_away(&self) -> u64 {
        self.replicas.iter().map(|r| r.parking.turned_away()).sum()
    }

    /// Advances to `until_ms` (in whole steps) and returns the messages produced.
    pub fn step(&mut self, until_ms: i64) -> impl Iterator<Item = Outgoing> {
        let mut out = Vec::new();
        self.step_into(until_ms, &mut out);
        out.into_iter()
    }

    /// Advances to `until_ms` (in whole steps), appending the messages produced to `out`. The
    /// first call also produces the start's messages (bay sensors' boot states, the truth at the
    /// start when it is a whole minute).
    pub fn step_into(&mut self, until_ms: i64, out: &mut Vec<Outgoing>) {
        if !self.booted {
            self.booted = true;
            let now = self.moment(self.start_ms);
            self.apply_actions(&now, out);
            for r in &mut self.replicas {
                r.boot(&now, out);
            }
            if self.start_ms % 60_000 == 0 {
                for r in &self.replicas {
                    r.truth_message(&now, out);
                }
            }
        }
        while self.t_ms + STEP_MS <= until_ms {
            let t = self.t_ms + STEP_MS;
            self.tick(t, out);
            self.t_ms = t;
        }
    }

    fn moment(&self, t: i64) -> Moment {
        Moment::of(&self.replicas[0].district.calendar, t)
    }

    fn tick(&mut self, t: i64, out: &mut Vec<Outgoing>) {
        let now = self.moment(t);
        self.apply_actions(&now, out);
        for r in &mut self.replicas {
            r.step(&now, STEP_MS as f64 / 1000.0, out);
        }
        while let Some(due) = self.schedule.pop_due(t) {
            let r = &mut self.replicas[due.replica as usize];
            let dev = due.device as usize;
            r.report(dev, &now, out);
            let at = next_after(t, r.interval_ms[dev], r.phase_ms[dev]);
            self.schedule.push(Due { at, ..due });
        }
        if t % 60_000 == 0 {
            for r in &self.replicas {
                r.truth_message(&now, out);
            }
        }
    }

    fn apply_actions(&mut self, now: &Moment, out: &mut Vec<Outgoing>) {
        while let Some(&(at, ev, action)) = self.actions.get(self.next_action) {
            if at > now.t_ms {
                break;
            }
            self.next_action += 1;
            let event = &self.scenario.events[ev];
            let start = event.at.resolve(self.start_ms);
            let next_day =
                (action == Action::Malformed).then(|| self.moment(now.t_ms + 86_400_000).ts);
            for r in self
                .replicas
                .iter_mut()
                .filter(|r| event.applies_to(&r.district.id))
            {
                match (action, &event.kind) {
                    (Action::FireAlarm { nth, count }, EventKind::Fire { building, .. }) => {
                        if let Some(dev) = r.fire.alarm(ev, *building, nth, count, &mut r.rng.fire)
                        {
                            r.report(dev as usize, now, out);
                        }
                    }
                    (Action::FireClear { nth }, EventKind::Fire { .. }) => {
                        if let Some(dev) = r.fire.clear(ev, nth) {
                            r.report(dev as usize, now, out);
                        }
                    }
                    (
                        Action::SilenceStart,
                        EventKind::Silence {
                            devices,
                            duration_ms,
                            lose_counts,
                        },
                    ) => r.silence(devices, start + duration_ms, *lose_counts),
                    (Action::SilenceEnd, EventKind::Silence { devices, .. }) => {
                        r.unsilence(devices, now, out)
                    }
                    (
                        Action::StuckStart,
                        EventKind::Stuck {
                            device,
                            duration_ms,
                        },
                    ) => r.stick(*device, Some(start + duration_ms), now, out),
                    (Action::StuckEnd, EventKind::Stuck { device, .. }) => {
                        r.stick(*device, None, now, out)
                    }
                    (Action::Malformed, EventKind::Malformed { count, varieties }) => {
                        let next_day = next_day.as_deref().unwrap_or_default();
                        for _ in 0..*count {
                            for &v in varieties {
                                let Some(m) = malformed::build(
                                    v,
                                    &r.district,
                                    &now.ts,
                                    next_day,
                                    &mut r.rng.malformed,
                                ) else {
                                    continue;
                                };
                                out.push(Outgoing {
                                    ts_ms: now.t_ms,
                                    topic: m.topic,
                                    payload: m.payload,
                                    retain: false,
                                    what: What::Injected {
                                        variety: v,
                                        district: r.pos,
                                    },
                                });
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
