//! Energy meters: kW now and kWh today, with meter rollover and resets handled.

/// Registers roll over at a power of ten (99,999.9 → 0); a drop from above this share of the
/// next power of ten is a rollover, anything else is a reset (meter replaced or cleared).
const ROLLOVER_SHARE: f64 = 0.9;

/// The live state of one meter.
#[derive(Debug, Clone, Default)]
pub struct MeterState {
    /// Latest cumulative register, kWh, and its event time.
    pub last: Option<(i64, f64)>,
    /// Latest power, kW.
    pub kw: f64,
    /// Energy since local midnight, kWh.
    pub kwh_today: f64,
    /// The local midnight `kwh_today` counts from.
    pub day_start: i64,
    /// Rollovers seen.
    pub rollovers: u32,
    /// Resets seen.
    pub resets: u32,
}

impl MeterState {
    /// Applies a reading; `day_start` is the local midnight of the reading's day.
    pub fn apply(&mut self, ts: i64, kwh: f64, kw: Option<f64>, day_start: i64) {
        if let Some(kw) = kw {
            self.kw = kw;
        }
        if day_start > self.day_start {
            self.day_start = day_start;
            self.kwh_today = 0.0;
        }
        let Some((prev_ts, prev)) = self.last else {
            self.last = Some((ts, kwh));
            return;
        };
        if ts <= prev_ts {
            return; // late or repeated: the register is cumulative, later values supersede
        }
        let delta = if kwh >= prev {
            kwh - prev
        } else {
            let modulus = 10f64.powi(prev.max(1.0).log10().floor() as i32 + 1);
            if prev >= ROLLOVER_SHARE * modulus {
                self.rollovers += 1;
                modulus - prev + kwh
            } else {
                self.resets += 1;
                kwh
            }
        };
        self.kwh_today += delta;
        self.last = Some((ts, kwh));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollover_and_reset() {
        let mut m = MeterState::default();
        m.apply(1, 99_990.0, Some(10.0), 0);
        m.apply(2, 99_999.5, None, 0);
        m.apply(3, 4.5, None, 0); // rolled over at 100,000
        assert!((m.kwh_today - 14.5).abs() < 1e-9, "{}", m.kwh_today);
        assert_eq!(m.rollovers, 1);
        m.apply(4, 2.0, None, 0); // dropped far below the top: a reset to zero
        assert!((m.kwh_today - 16.5).abs() < 1e-9);
        assert_eq!(m.resets, 1);
        m.apply(5, 3.0, None, 100); // a new day
        assert!((m.kwh_today - 1.0).abs() < 1e-9);
    }
}
