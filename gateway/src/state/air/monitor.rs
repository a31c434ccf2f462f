//! One air monitor: pollutant averages for the AQI, and its latest raw values.

use district::contract::reading::AirSample;

use super::aqi::{AirAverager, AqiReport, Pollutant};

/// The live state of one air monitor.
#[derive(Debug, Clone, Default)]
pub struct MonitorState {
    /// Per-pollutant averages (1 h, 8 h, 24 h).
    pub averager: AirAverager,
    /// The latest sample.
    pub latest: AirSample,
    /// Its event time.
    pub last_ts: i64,
    /// The AQI as of `last_ts`.
    pub report: Option<AqiReport>,
}

impl MonitorState {
    /// Applies a sample and recomputes the real-time AQI.
    pub fn apply(&mut self, ts: i64, s: &AirSample) {
        for (p, v) in [
            (Pollutant::Pm25, s.pm25),
            (Pollutant::Pm10, s.pm10),
            (Pollutant::No2, s.no2),
            (Pollutant::So2, s.so2),
            (Pollutant::O3, s.o3),
            (Pollutant::Co, s.co),
        ] {
            if let Some(v) = v {
                self.averager.push(p, ts, v);
            }
        }
        if ts >= self.last_ts {
            self.latest = *s;
            self.last_ts = ts;
        }
        self.report = Some(self.averager.realtime_aqi(self.last_ts));
    }

    /// AQI now, if any pollutant is known.
    pub fn aqi(&self) -> Option<u32> {
        self.report.as_ref().and_then(|r| r.aqi)
    }
}
