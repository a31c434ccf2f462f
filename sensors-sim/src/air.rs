//! Air monitors: a district-wide weather baseline, per-monitor noise, traffic and sunshine.
//!
//! - PM2.5: a monthly baseline (winter inversions, summer rain) × a slow weather factor (an AR(1)
//!   process on its logarithm with a correlation time of about a day and a half, so it drifts
//!   over days) × a small rush-hour bump × per-monitor AR(1) noise (about 15 minutes).
//!   Pollution episodes from scenarios raise it to their peak.
//! - PM10 ≈ 1.5–1.9 × PM2.5 (a fixed ratio per monitor, with a little noise).
//! - NO2 and CO follow road traffic (CO 0.4–1.2 mg/m³), O3 the afternoon sun, SO2 stays low.
//! - Temperature follows the month and the hour; relative humidity moves against it.
//! - Indoor monitors report only PM2.5 (filtered, about 40% of outdoors), CO2, temperature and
//!   humidity. Their CO2 rises with the people in the building's zone: 450 ppm empty, about
//!   1,200 ppm when the zone is near its capacity, lagging by about 20 minutes.
//! - About half the outdoor monitors have no SO2 and CO sensors, and leave those out.

use district::{District, Role};

use crate::diurnal::{self, Moment, MONTH_PM, MONTH_TEMP_C};
use crate::payload::field_f;
use crate::random::{self, hash_str, SimRng};

/// Long-run PM2.5 mean before the monthly factor, µg/m³.
const PM25_MEAN: f64 = 30.0;
/// Weather correlation time, ms (36 h).
const WEATHER_TAU_MS: f64 = 36.0 * 3_600_000.0;
/// Stationary standard deviation of log PM2.5 from the weather.
const WEATHER_SIGMA: f64 = 0.45;
/// Monitor noise correlation time, ms (15 min).
const NOISE_TAU_MS: f64 = 15.0 * 60_000.0;
const NOISE_SIGMA: f64 = 0.12;
/// CO2 response time, ms (20 min).
const CO2_TAU_MS: f64 = 20.0 * 60_000.0;

/// A PM2.5/PM10 pollution episode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Episode {
    /// Start, epoch ms.
    pub start_ms: i64,
    /// Whole duration, ms (a quarter rising, half at the peak, a quarter falling).
    pub duration_ms: i64,
    /// Peak PM2.5, µg/m³ (PM10 follows through each monitor's ratio).
    pub peak_pm25: f64,
    /// Limited to the monitors of one zone, if set.
    pub zone: Option<usize>,
}

impl Episode {
    fn level(&self, t: i64) -> f64 {
        let d = (t - self.start_ms) as f64 / self.duration_ms.max(1) as f64;
        let f = if !(0.0..1.0).contains(&d) {
            0.0
        } else if d < 0.25 {
            d / 0.25
        } else if d < 0.75 {
            1.0
        } else {
            (1.0 - d) / 0.25
        };
        f * self.peak_pm25
    }
}

#[derive(Debug, Clone)]
struct Monitor {
    indoor: bool,
    zone: Option<usize>,
    so2_co: bool,
    pm10_ratio: f64,
    noise: f64,
    last_ms: i64,
    co2: f64,
}

/// The air of one district.
#[derive(Debug, Clone)]
pub(crate) struct Air {
    monitors: Vec<Monitor>,
    weather_ms: i64,
    /// Log PM2.5 deviation from the monthly baseline.
    weather: f64,
    /// Temperature deviation, °C.
    temp_dev: f64,
    episodes: Vec<Episode>,
}

impl Air {
    /// The air of `d`; `slot[device]` is set to the monitor index of each air monitor.
    pub fn new(
        d: &District,
        slot: &mut [u32],
        seed: u64,
        start_ms: i64,
        layout: &mut SimRng,
    ) -> Air {
        let mut monitors = Vec::new();
        for (i, dev) in d.devices.iter().enumerate() {
            let Role::Air { indoor } = dev.role else {
                continue;
            };
            slot[i] = monitors.len() as u32;
            monitors.push(Monitor {
                indoor,
                zone: dev.zone,
                so2_co: !indoor && hash_str(seed, &dev.id).is_multiple_of(2),
                pm10_ratio: random::uniform(layout, 1.5, 1.9),
                noise: 0.0,
                last_ms: start_ms,
                co2: 450.0,
            });
        }
        let weather = WEATHER_SIGMA * random::normal(layout);
        let temp_dev = 2.0 * random::normal(layout);
        Air {
            monitors,
            weather_ms: start_ms,
            weather,
            temp_dev,
            episodes: Vec::new(),
        }
    }

    /// Adds a pollution episode.
    pub fn add_episode(&mut self, e: Episode) {
        self.episodes.push(e);
    }

    fn advance_weather(&mut self, t: i64, rng: &mut SimRng) {
        const STEP: i64 = 60_000;
        let phi = (-(STEP as f64) / WEATHER_TAU_MS).exp();
        let k = (1.0 - phi * phi).sqrt();
        while self.weather_ms + STEP <= t {
            self.weather = phi * self.weather + k * WEATHER_SIGMA * random::normal(rng);
            self.temp_dev = phi * self.temp_dev + k * 2.0 * random::normal(rng);
            self.weather_ms += STEP;
        }
    }

    /// Writes monitor `m`'s sample at `now` into `body`; `occupancy` is its zone's people over
    /// the zone's capacity (used indoors).
    pub fn sample(
        &mut self,
        m: usize,
        now: &Moment,
        occupancy: f64,
        rng: &mut SimRng,
        body: &mut Vec<u8>,
    ) {
        self.advance_weather(now.t_ms, rng);
        let t = now.t_ms;
        let h = now.hour;
        let (weather, temp_dev) = (self.weather, self.temp_dev);
        let episode = self
            .episodes
            .iter()
            .filter(|e| e.zone.is_none() || e.zone == self.monitors[m].zone)
            .map(|e| e.level(t))
            .fold(0.0, f64::max);
        let mon = &mut self.monitors[m];
        let dt = (t - mon.last_ms).max(0) as f64;
        mon.last_ms = t;
        let phi = (-dt / NOISE_TAU_MS).exp();
        mon.noise = phi * mon.noise + (1.0 - phi * phi).sqrt() * NOISE_SIGMA * random::normal(rng);
        let traffic = diurnal::traffic(h);
        let outdoor_pm25 = (PM25_MEAN
            * MONTH_PM[now.month0]
            * weather.exp()
            * (0.85 + 0.3 * traffic)
            * mon.noise.exp())
        .max(episode)
        .clamp(2.0, 900.0);
        let temp_out = MONTH_TEMP_C[now.month0] + 4.5 * diurnal::temperature_swing(h) + temp_dev;
        if mon.indoor {
            let co2_target = 450.0 + 880.0 * occupancy.clamp(0.0, 1.6);
            let a = 1.0 - (-dt / CO2_TAU_MS).exp();
            mon.co2 += (co2_target - mon.co2) * a;
            let co2 = (mon.co2 + 15.0 * random::normal(rng)).max(400.0);
            field_f(body, "pm25", outdoor_pm25 * 0.4, 1);
            field_f(body, "co2", co2, 0);
            field_f(
                body,
                "temp",
                23.0 + 0.05 * (temp_out - 16.0) + 0.3 * mon.noise,
                1,
            );
            field_f(body, "rh", (48.0 + 10.0 * mon.noise).clamp(25.0, 70.0), 0);
            return;
        }
        let noise = mon.noise.exp();
        field_f(body, "pm25", outdoor_pm25, 1);
        field_f(
            body,
            "pm10",
            outdoor_pm25 * mon.pm10_ratio * (1.0 + 0.03 * random::normal(rng)).max(0.9),
            0,
        );
        field_f(body, "no2", (12.0 + 48.0 * traffic) * noise, 0);
        let sun = diurnal::ozone(h) * (0.4 + 0.04 * MONTH_TEMP_C[now.month0]);
        field_f(body, "o3", (18.0 + 110.0 * sun) / noise, 0);
        if mon.so2_co {
            field_f(body, "so2", (5.0 + 3.0 * traffic) * noise, 0);
            field_f(
                body,
                "co",
                ((0.4 + 0.7 * traffic) * noise).clamp(0.3, 1.4),
                2,
            );
        }
        field_f(body, "temp", temp_out, 1);
        let rh = 72.0 - 2.2 * (temp_out - MONTH_TEMP_C[now.month0]) + 8.0 * weather;
        field_f(body, "rh", rh.clamp(20.0, 98.0), 0);
    }
}
