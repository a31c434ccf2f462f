//! Energy meters: each building draws a base load at night and a daytime load in business hours,
//! split between its meters; each meter integrates its power into a cumulative kWh register.
//!
//! - A building's daytime load is 40–70% of its `rated_kw` (a fixed share per building; a
//!   building without a rating is taken as 150 kW per floor); its night base load is 15–25% of
//!   that. Business hours are the district's opening hours, with an hour's ramp either side.
//! - A meter's share of its building is fixed (weights 0.5–1.5, normalised).
//! - `kwh` starts from a deterministic register value between 100,000 and 1,000,000 kWh and
//!   grows by the trapezoid of the power between reports; `v` and `pf` wander slightly.

use chrono::Timelike;
use district::{District, Role};

use crate::diurnal::{self, Moment};
use crate::payload::field_f;
use crate::random::{self, SimRng};

/// Assumed rated load per floor when a building has none, kW.
const KW_PER_FLOOR: f64 = 150.0;

#[derive(Debug, Clone)]
struct Meter {
    /// Power of the meter at full business activity, kW.
    day_kw: f64,
    /// Night base load as a share of `day_kw`.
    night: f64,
    kwh: f64,
    last_ms: i64,
    last_kw: f64,
    noise: f64,
    volts: f64,
    pf: f64,
}

/// The energy meters of one district.
#[derive(Debug, Clone)]
pub(crate) struct Energy {
    meters: Vec<Meter>,
    open_h: f64,
    close_h: f64,
}

impl Energy {
    /// The meters of `d` at `start_ms`; `slot[device]` is set to the meter index.
    pub fn new(d: &District, slot: &mut [u32], start: &Moment, layout: &mut SimRng) -> Energy {
        let hours = |t: chrono::NaiveTime| t.hour() as f64 + t.minute() as f64 / 60.0;
        let (open_h, close_h) = (hours(d.calendar.open), hours(d.calendar.close));
        let buildings: Vec<(f64, f64)> = d
            .buildings
            .iter()
            .map(|b| {
                let rated = b.rated_kw.unwrap_or(KW_PER_FLOOR * b.floors.max(1) as f64);
                let day = rated * random::uniform(layout, 0.4, 0.7);
                (day, random::uniform(layout, 0.15, 0.25))
            })
            .collect();
        let mut weights: Vec<(usize, usize, f64)> = Vec::new();
        for (i, dev) in d.devices.iter().enumerate() {
            if let Role::Energy { building } = dev.role {
                weights.push((i, building, random::uniform(layout, 0.5, 1.5)));
            }
        }
        let mut meters = Vec::with_capacity(weights.len());
        for &(i, b, w) in &weights {
            let total: f64 = weights.iter().filter(|x| x.1 == b).map(|x| x.2).sum();
            let (day, night) = buildings[b];
            slot[i] = meters.len() as u32;
            let mut m = Meter {
                day_kw: day * w / total,
                night,
                kwh: random::uniform(layout, 1.0e5, 1.0e6),
                last_ms: start.t_ms,
                last_kw: 0.0,
                noise: 0.0,
                volts: random::uniform(layout, 226.0, 234.0),
                pf: random::uniform(layout, 0.91, 0.97),
            };
            m.last_kw = kw(&m, start, open_h, close_h);
            meters.push(m);
        }
        Energy {
            meters,
            open_h,
            close_h,
        }
    }

    /// Writes meter `m`'s sample at `now` into `body`.
    pub fn sample(&mut self, m: usize, now: &Moment, rng: &mut SimRng, body: &mut Vec<u8>) {
        let (open_h, close_h) = (self.open_h, self.close_h);
        let me = &mut self.meters[m];
        me.noise = 0.8 * me.noise + 0.6 * random::normal(rng);
        let power = kw(me, now, open_h, close_h) * (1.0 + 0.03 * me.noise);
        let dt_h = (now.t_ms - me.last_ms).max(0) as f64 / 3_600_000.0;
        me.kwh += (me.last_kw + power) / 2.0 * dt_h;
        me.last_kw = power;
        me.last_ms = now.t_ms;
        me.volts = (me.volts + 0.4 * random::normal(rng)).clamp(218.0, 238.0);
        me.pf = (me.pf + 0.003 * random::normal(rng)).clamp(0.88, 0.99);
        field_f(body, "kwh", me.kwh, 1);
        field_f(body, "kw", power, 1);
        field_f(body, "v", me.volts, 1);
        field_f(body, "pf", me.pf, 2);
    }
}

fn kw(m: &Meter, now: &Moment, open_h: f64, close_h: f64) -> f64 {
    let activity = diurnal::business(now.hour, open_h, close_h);
    m.day_kw * (m.night + (1.0 - m.night) * activity)
}
