//! The live state of one district: readings in, snapshots and minute rollups out. Pure: the
//! caller passes event times and the clock's now.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use district::contract::reading::{FireState, Measurement, Reading};
use district::{Device, District, Role, Side};

use super::air::MonitorState;
use super::devices::Liveness;
use super::energy::MeterState;
use super::ledger::{minute_of, MINUTE_MS};
use super::lot::LotState;
use super::zone::ZoneState;

/// Result of applying a reading.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Applied to the state.
    Accepted,
    /// The payload's shape does not fit the device (e.g. an area count from a line counter).
    WrongShape(String),
}

/// What changed since the publisher last looked.
#[derive(Debug, Clone, Default)]
pub struct Dirty {
    /// Zone indices.
    pub zones: BTreeSet<usize>,
    /// Lot indices.
    pub lots: BTreeSet<usize>,
    /// Lots whose per-bay message changed.
    pub bays: BTreeSet<usize>,
    /// Air monitor device indices.
    pub air: BTreeSet<usize>,
    /// Building indices.
    pub buildings: BTreeSet<usize>,
}

impl Dirty {
    /// True if nothing changed.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
            && self.lots.is_empty()
            && self.bays.is_empty()
            && self.air.is_empty()
            && self.buildings.is_empty()
    }
}

/// One value of one series at the end of one minute.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupPoint {
    /// `zone`, `lot`, `air` or `building`.
    pub entity: &'static str,
    /// Entity id.
    pub id: String,
    /// Metric name (`people`, `in`, `out`, `free`, `aqi`, `kw`, ...).
    pub metric: &'static str,
    /// Minute end, epoch ms.
    pub minute: i64,
    /// Value.
    pub value: f64,
}

/// Counters of the state itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct StateCounters {
    /// Deltas that arrived for a minute already closed.
    pub late_after_close: u64,
    /// Minutes closed.
    pub minutes_closed: u64,
    /// Re-baselines done.
    pub rebaselines: u64,
}

/// The live state of one district.
#[derive(Debug, Clone)]
pub struct DistrictState {
    /// The district model.
    pub district: Arc<District>,
    /// Per zone.
    pub zones: Vec<ZoneState>,
    /// Per lot.
    pub lots: Vec<LotState>,
    /// Per air monitor (by device index).
    pub monitors: HashMap<usize, MonitorState>,
    /// Per energy meter (by device index).
    pub meters: HashMap<usize, MeterState>,
    /// Per fire detector (by device index): state and its event time.
    pub detectors: HashMap<usize, (FireState, i64)>,
    /// Per device.
    pub liveness: Vec<Liveness>,
    /// District entries from outside, per minute.
    pub visits: super::ledger::MinuteCounts,
    /// Latest event time accepted, fire readings aside (they take the urgent lane and may
    /// overtake readings received before them).
    pub watermark: i64,
    /// Last closed minute (None until the first close: then the minutes the clock rule has
    /// already passed count as closed).
    pub closed_minute: Option<i64>,
    next_rebaseline: i64,
    /// When this state started (gateway clock), for offline detection of never-seen devices.
    pub started_ms: i64,
    /// What changed.
    pub dirty: Dirty,
    /// Counters.
    pub counters: StateCounters,
}

impl DistrictState {
    /// An empty state as of `now_ms`.
    pub fn new(district: Arc<District>, now_ms: i64) -> Self {
        let lots = district
            .lots
            .iter()
            .map(|l| LotState::new(l.counting, l.bays.len(), l.capacity))
            .collect();
        let cal = &district.calendar;
        let now = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
        let next_rebaseline =
            (cal.last_rebaseline(now) + chrono::Duration::days(1)).timestamp_millis();
        DistrictState {
            zones: vec![ZoneState::default(); district.zones.len()],
            lots,
            monitors: HashMap::new(),
            meters: HashMap::new(),
            detectors: HashMap::new(),
            liveness: vec![Liveness::default(); district.devices.len()],
            visits: Default::default(),
            watermark: i64::MIN,
            closed_minute: None,
            next_rebaseline,
            started_ms: now_ms,
            dirty: Dirty::default(),
            counters: StateCounters::default(),
            district,
        }
    }

    /// Applies a decoded reading of device `dev` (an index into `district.devices`). Whether
    /// the reading is new is the store's decision, made before this: every reading applied
    /// here counts.
    pub fn apply(&mut self, dev: usize, r: &Reading) -> Applied {
        let d = self.district.clone();
        let device = &d.devices[dev];
        let role = &device.role;
        if let Err(why) = shape_fits(device, &r.value) {
            return Applied::WrongShape(why);
        }
        self.liveness[dev].seen(r.ts_ms);
        if matches!(
            role,
            Role::FootfallArea { .. } | Role::Air { .. } | Role::Energy { .. }
        ) {
            self.liveness[dev].values(r.ts_ms, &r.value);
        }
        // Fire readings take the urgent lane and may be applied before readings received
        // earlier, so only the others tell that the data has moved past a minute.
        if !matches!(role, Role::Fire { .. }) {
            self.watermark = self.watermark.max(r.ts_ms);
        }
        let ts = r.ts_ms;
        let mut late = false;
        match (role, &r.value) {
            (Role::FootfallLine { enters, leaves }, Measurement::Line { ins, outs }) => {
                late |= !self.zones[*enters].cross(ts, *ins, *outs);
                self.dirty.zones.insert(*enters);
                match leaves {
                    Side::Zone(z) => {
                        late |= !self.zones[*z].cross(ts, *outs, *ins);
                        self.dirty.zones.insert(*z);
                    }
                    Side::Outside => self.visits.add(ts, *ins as u64),
                }
            }
            (Role::FootfallArea { zone }, Measurement::Area { count }) => {
                let prev = self.zones[*zone]
                    .area
                    .get(&dev)
                    .and_then(|h| h.back())
                    .map(|&(_, c)| c);
                if prev.is_some_and(|p| {
                    p.abs_diff(*count) as f64 > 0.5 * d.zones[*zone].capacity as f64
                }) {
                    self.liveness[dev].jump(ts);
                }
                self.zones[*zone].area_count(dev, ts, *count);
                self.dirty.zones.insert(*zone);
            }
            (Role::Bay { lot, bay }, Measurement::Bay { occupied }) => {
                self.lots[*lot].bay(*bay, ts, *occupied);
                self.dirty.lots.insert(*lot);
                self.dirty.bays.insert(*lot);
            }
            (Role::Entrance { lot }, Measurement::Entrance { entries, exits }) => {
                self.lots[*lot].entrance(ts, *entries, *exits);
                self.dirty.lots.insert(*lot);
            }
            (Role::Air { .. }, Measurement::Air(s)) => {
                self.monitors.entry(dev).or_default().apply(ts, s);
                self.dirty.air.insert(dev);
            }
            (Role::Energy { building }, Measurement::Energy(e)) => {
                let rated = d.buildings[*building].rated_kw.unwrap_or(f64::INFINITY);
                if e.kw.is_some_and(|kw| kw.abs() > 3.0 * rated) {
                    self.liveness[dev].jump(ts);
                }
                let day_start = d
                    .calendar
                    .start_of_day(chrono::DateTime::from_timestamp_millis(ts).unwrap_or_default());
                self.meters.entry(dev).or_default().apply(
                    ts,
                    e.kwh,
                    e.kw,
                    day_start.timestamp_millis(),
                );
                self.dirty.buildings.insert(*building);
            }
            (Role::Fire { .. }, Measurement::Fire { state }) => {
                let slot = self.detectors.entry(dev).or_insert((*state, ts));
                if ts >= slot.1 {
                    *slot = (*state, ts);
                }
            }
            _ => unreachable!("shape checked above"),
        }
        if late {
            self.counters.late_after_close += 1;
        }
        Applied::Accepted
    }

    /// Closes every minute that is complete: up to `watermark − grace_ms` (the readings have
    /// moved past it) or `now_ms − close_after_ms` (the clock has), returning the rollups.
    pub fn close_minutes(
        &mut self,
        now_ms: i64,
        grace_ms: i64,
        close_after_ms: i64,
    ) -> Vec<RollupPoint> {
        let by_data = if self.watermark == i64::MIN {
            i64::MIN
        } else {
            self.watermark.min(now_ms + grace_ms) - grace_ms
        };
        let by_clock = (now_ms - close_after_ms).div_euclid(MINUTE_MS) * MINUTE_MS;
        let target = by_data.max(by_clock).div_euclid(MINUTE_MS) * MINUTE_MS;
        let closed = *self.closed_minute.get_or_insert(by_clock);
        let mut out = Vec::new();
        if target <= closed {
            return out;
        }
        // After a long idle gap, close only the last day's minutes.
        let mut m = (closed + MINUTE_MS).max(target - 1440 * MINUTE_MS);
        while m <= target {
            self.close_one(m, &mut out);
            m += MINUTE_MS;
        }
        self.closed_minute = Some(target);
        out
    }

    fn close_one(&mut self, m: i64, out: &mut Vec<RollupPoint>) {
        let d = self.district.clone();
        if m >= self.next_rebaseline {
            let at = self.next_rebaseline;
            for z in self.zones.iter_mut() {
                z.rebaseline(minute_of(at) - MINUTE_MS);
            }
            for l in self.lots.iter_mut() {
                l.rebaseline(minute_of(at) - MINUTE_MS);
            }
            self.next_rebaseline += 86_400_000;
            self.counters.rebaselines += 1;
        }
        self.counters.minutes_closed += 1;
        let mut push = |entity, id: &str, metric, value: f64| {
            out.push(RollupPoint {
                entity,
                id: id.to_string(),
                metric,
                minute: m,
                value,
            })
        };
        for (i, z) in self.zones.iter_mut().enumerate() {
            let people = z.close(m);
            let id = &d.zones[i].id;
            push("zone", id, "people", people as f64);
            push("zone", id, "density", people as f64 / d.zones[i].area_m2);
            push("zone", id, "in", z.ins.in_minute(m) as f64);
            push("zone", id, "out", z.outs.in_minute(m) as f64);
            z.ins.prune(m - 1440 * MINUTE_MS);
            z.outs.prune(m - 1440 * MINUTE_MS);
        }
        for (i, l) in self.lots.iter_mut().enumerate() {
            let free = l.close(m);
            let id = &d.lots[i].id;
            push("lot", id, "free", free as f64);
            push("lot", id, "entries", l.entries.in_minute(m) as f64);
            push("lot", id, "exits", l.exits.in_minute(m) as f64);
            l.entries.prune(m - 1440 * MINUTE_MS);
            l.exits.prune(m - 1440 * MINUTE_MS);
        }
        let mut monitors: Vec<_> = self.monitors.iter().collect();
        monitors.sort_by_key(|(k, _)| **k);
        for (dev, mon) in monitors {
            let id = &d.devices[*dev].id;
            if let Some(aqi) = mon.aqi() {
                push("air", id, "aqi", aqi as f64);
            }
            if let Some(v) = mon.latest.pm25 {
                push("air", id, "pm25", v);
            }
            if let Some(v) = mon.latest.co2 {
                push("air", id, "co2", v);
            }
        }
        for (b, building) in d.buildings.iter().enumerate() {
            let (kw, kwh) = self.building_energy(b);
            if kw != 0.0 || kwh != 0.0 {
                push("building", &building.id, "kw", kw);
                push("building", &building.id, "kwh_today", kwh);
            }
        }
        self.visits.prune(m - 1440 * MINUTE_MS);
    }

    /// kW now and kWh today of a building (sum over its meters).
    pub fn building_energy(&self, b: usize) -> (f64, f64) {
        let d = &self.district;
        self.meters
            .iter()
            .filter(|(dev, _)| matches!(d.devices[**dev].role, Role::Energy { building } if building == b))
            .fold((0.0, 0.0), |(kw, kwh), (_, m)| (kw + m.kw, kwh + m.kwh_today))
    }

    /// Devices offline as of `now_ms`.
    pub fn offline_devices(&self, now_ms: i64) -> Vec<usize> {
        let missed = self.district.thresholds.offline_after_missed;
        self.district
            .devices
            .iter()
            .enumerate()
            .filter(|(i, dev)| {
                self.liveness[*i].offline(
                    now_ms,
                    dev.interval.as_millis() as i64,
                    missed,
                    self.started_ms,
                )
            })
            .map(|(i, _)| i)
            .collect()
    }
}

/// Whether a measurement's shape fits the device's role (a line counter sends line counts, a
/// bay sensor occupancy, ...); the error says what was sent instead.
pub fn shape_fits(device: &Device, m: &Measurement) -> Result<(), String> {
    let fits = matches!(
        (&device.role, m),
        (Role::FootfallLine { .. }, Measurement::Line { .. })
            | (Role::FootfallArea { .. }, Measurement::Area { .. })
            | (Role::Bay { .. }, Measurement::Bay { .. })
            | (Role::Entrance { .. }, Measurement::Entrance { .. })
            | (Role::Air { .. }, Measurement::Air(_))
            | (Role::Energy { .. }, Measurement::Energy(_))
            | (Role::Fire { .. }, Measurement::Fire { .. })
    );
    if fits {
        Ok(())
    } else {
        Err(format!(
            "device \"{}\" is {}, but sent a {} reading",
            device.id,
            role_name(&device.role),
            m.shape()
        ))
    }
}

fn role_name(role: &Role) -> &'static str {
    match role {
        Role::FootfallLine { .. } => "a line counter",
        Role::FootfallArea { .. } => "an area counter",
        Role::Bay { .. } => "a bay sensor",
        Role::Entrance { .. } => "an entrance counter",
        Role::Air { .. } => "an air monitor",
        Role::Energy { .. } => "an energy meter",
        Role::Fire { .. } => "a fire detector",
    }
}

#[cfg(test)]
mod tests;
