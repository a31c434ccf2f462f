//! Day profiles: how footfall, traffic, sunshine and business hours vary over a local day, and
//! the [`Moment`] (local hour, kind of day, month) that every subsystem reads them at.
//!
//! All profiles are plain functions of the local hour (0–24, fractional), so they are cheap to
//! evaluate every simulated second and easy to test.

use chrono::{Datelike, Offset, TimeZone, Timelike};
use district::contract::time::format_millis_in;
use district::{Calendar, DayKind};

/// Footfall share of a zone's workday peak, by local hour (linear between the points).
///
/// Near zero from 00:30 to 05:30 (the district empties before the gateway's 04:00 re-baseline),
/// an opening ramp, a lunch peak (12:00–13:00) and the evening peak (18:00–20:30).
const PEOPLE: [(f64, f64); 23] = [
    (0.0, 0.05),
    (0.5, 0.0),
    (5.5, 0.0),
    (7.0, 0.04),
    (8.0, 0.08),
    (9.0, 0.13),
    (10.0, 0.28),
    (11.0, 0.48),
    (12.0, 0.72),
    (12.5, 0.78),
    (13.0, 0.72),
    (14.0, 0.55),
    (15.0, 0.50),
    (16.0, 0.55),
    (17.0, 0.68),
    (18.0, 0.90),
    (19.0, 1.0),
    (20.0, 1.0),
    (20.5, 0.93),
    (21.0, 0.78),
    (22.0, 0.45),
    (23.0, 0.16),
    (24.0, 0.05),
];

/// Footfall share of the workday peak at a local hour (0–1).
pub fn people(hour: f64) -> f64 {
    let h = hour.rem_euclid(24.0);
    let i = PEOPLE
        .partition_point(|&(x, _)| x <= h)
        .clamp(1, PEOPLE.len() - 1);
    let (x0, y0) = PEOPLE[i - 1];
    let (x1, y1) = PEOPLE[i];
    y0 + (y1 - y0) * (h - x0) / (x1 - x0)
}

/// Footfall multiplier of a kind of day: workday 1, weekend 1.4, public holiday 1.7.
pub fn day_multiplier(kind: DayKind) -> f64 {
    match kind {
        DayKind::Workday => 1.0,
        DayKind::Weekend => 1.4,
        DayKind::Holiday => 1.7,
    }
}

fn bump(h: f64, at: f64, width: f64) -> f64 {
    let d = (h - at) / width;
    (-0.5 * d * d).exp()
}

/// Road traffic (0–1): morning (08:15) and evening (18:00) rush hours over a daytime base.
pub fn traffic(hour: f64) -> f64 {
    let h = hour.rem_euclid(24.0);
    let base = if (6.0..23.0).contains(&h) { 0.25 } else { 0.05 };
    (base + 0.75 * bump(h, 8.25, 1.0) + 0.7 * bump(h, 18.0, 1.2)).min(1.0)
}

/// Photochemical ozone drive (0–1), peaking mid-afternoon (15:00), zero at night.
pub fn ozone(hour: f64) -> f64 {
    let h = hour.rem_euclid(24.0);
    if !(6.0..20.0).contains(&h) {
        return 0.0;
    }
    bump(h, 15.0, 2.5)
}

/// Daily temperature swing (−1 before dawn … +1 at 14:00).
pub fn temperature_swing(hour: f64) -> f64 {
    ((hour - 8.0) / 24.0 * std::f64::consts::TAU).sin()
}

/// Business activity (0–1): 1 during opening hours, ramps of an hour either side.
/// `open` and `close` are local hours; a close at or before the opening is the next day.
pub fn business(hour: f64, open: f64, close: f64) -> f64 {
    let close = if close <= open { close + 24.0 } else { close };
    let h = hour.rem_euclid(24.0);
    [h, h + 24.0]
        .into_iter()
        .map(|h| {
            if h < open - 1.0 || h > close + 1.0 {
                0.0
            } else if h < open {
                h - (open - 1.0)
            } else if h <= close {
                1.0
            } else {
                close + 1.0 - h
            }
        })
        .fold(0.0, f64::max)
}

/// Monthly mean temperature (°C) of a subtropical east-Asian city, January first.
pub const MONTH_TEMP_C: [f64; 12] = [
    4.5, 6.5, 10.5, 16.5, 21.5, 25.5, 29.5, 29.0, 24.5, 19.0, 13.0, 7.0,
];

/// Monthly PM2.5 baseline factor (winter inversions, summer rain), January first.
pub const MONTH_PM: [f64; 12] = [1.6, 1.5, 1.2, 1.0, 0.85, 0.7, 0.6, 0.6, 0.7, 0.9, 1.2, 1.5];

/// One simulated instant as the subsystems see it.
#[derive(Debug, Clone)]
pub struct Moment {
    /// Epoch milliseconds.
    pub t_ms: i64,
    /// Local hour of day, fractional (0–24).
    pub hour: f64,
    /// Kind of the local day.
    pub day: DayKind,
    /// Local month, 0 = January.
    pub month0: usize,
    /// The instant as devices write it: RFC 3339 with the district's UTC offset.
    pub ts: String,
}

impl Moment {
    /// The moment `t_ms` in a district's calendar.
    pub fn of(cal: &Calendar, t_ms: i64) -> Moment {
        let utc = chrono::DateTime::from_timestamp_millis(t_ms).unwrap_or_default();
        let local = cal.timezone.from_utc_datetime(&utc.naive_utc());
        let offset = local.offset().fix();
        let hour = local.hour() as f64
            + local.minute() as f64 / 60.0
            + (local.second() as f64 + local.nanosecond() as f64 / 1e9) / 3600.0;
        Moment {
            t_ms,
            hour,
            day: cal.day_kind(local.date_naive()),
            month0: local.month0() as usize,
            ts: format_millis_in(t_ms, offset),
        }
    }

    /// Footfall level now: the day profile times the kind of day.
    pub fn footfall_level(&self) -> f64 {
        people(self.hour) * day_multiplier(self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footfall_has_lunch_and_evening_peaks_and_an_empty_night() {
        assert_eq!(people(3.0), 0.0);
        assert_eq!(people(4.0), 0.0);
        assert!(people(12.5) > 2.0 * people(9.0));
        assert!(people(19.5) > people(12.5));
        assert!(people(15.0) < people(12.5));
        assert!((people(24.0) - people(0.0)).abs() < 1e-9);
        assert!(people(1.0) == 0.0);
    }

    #[test]
    fn profiles_stay_in_range() {
        for i in 0..=480 {
            let h = i as f64 / 20.0;
            for v in [people(h), traffic(h), ozone(h), business(h, 10.0, 22.0)] {
                assert!((0.0..=1.0).contains(&v), "{h}: {v}");
            }
        }
        assert_eq!(business(15.0, 10.0, 22.0), 1.0);
        assert_eq!(business(3.0, 10.0, 22.0), 0.0);
        assert_eq!(business(0.5, 18.0, 1.0), 1.0, "closes after midnight");
        assert!(traffic(8.25) > traffic(13.0));
        assert!(ozone(15.0) > ozone(9.0));
    }
}
