//! Short forecast of a lot's free spaces, pure: the same weekday's history adjusted by how
//! today differs from it now.
//!
//! `profile(t)` is the median (mean for fewer than three) of the free spaces at the same time of
//! day 7, 14, 21 and 28 days before. The forecast for `now + h` is
//! `profile(now + h) + r · exp(-h / τ)`, where `r = free_now − profile(now)` is today's
//! deviation averaged over the last `residual_window` (the last hours' trend), fading with
//! `τ` (default 180 min), clamped to `0 ..= capacity`. Without any same-weekday history it is
//! `free_now` (persistence).

use std::collections::BTreeMap;

/// One week, ms.
pub const WEEK_MS: i64 = 7 * 86_400_000;

/// Forecast settings.
#[derive(Debug, Clone, Copy)]
pub struct ForecastSettings {
    /// Fading of today's deviation, ms.
    pub tau_ms: i64,
    /// Today's deviation is averaged over this long before now, ms.
    pub residual_window_ms: i64,
    /// Weeks of history used at most.
    pub weeks: i64,
}

impl Default for ForecastSettings {
    fn default() -> Self {
        ForecastSettings {
            tau_ms: 180 * 60_000,
            residual_window_ms: 30 * 60_000,
            weeks: 4,
        }
    }
}

/// A lot's free spaces by minute (minute end, epoch ms).
pub type Series = BTreeMap<i64, f64>;

/// The value at `t` (the latest at or before it, within 10 minutes).
pub fn at(s: &Series, t: i64) -> Option<f64> {
    s.range(t - 600_000..=t).next_back().map(|(_, v)| *v)
}

/// The same-weekday profile at `t`: median of the values 1..=`weeks` weeks before.
pub fn profile(s: &Series, t: i64, weeks: i64) -> Option<f64> {
    let mut v: Vec<f64> = (1..=weeks).filter_map(|w| at(s, t - w * WEEK_MS)).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(if v.len() >= 3 {
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    })
}

/// Expected free spaces at `now + horizon_ms`, from `s` (history up to now) and `capacity`.
pub fn forecast(
    s: &Series,
    now: i64,
    horizon_ms: i64,
    capacity: u32,
    set: &ForecastSettings,
) -> Option<f64> {
    let free_now = at(s, now)?;
    let Some(later) = profile(s, now + horizon_ms, set.weeks) else {
        return Some(free_now);
    };
    // Today's deviation from the profile, averaged over the window before now.
    let mut devs = Vec::new();
    let mut t = now;
    while t >= now - set.residual_window_ms {
        if let (Some(a), Some(p)) = (at(s, t), profile(s, t, set.weeks)) {
            devs.push(a - p);
        }
        t -= 5 * 60_000;
    }
    let r = if devs.is_empty() {
        free_now - profile(s, now, set.weeks).unwrap_or(free_now)
    } else {
        // The newest deviation counts most: half now, half the window's mean.
        0.5 * devs[0] + 0.5 * devs.iter().sum::<f64>() / devs.len() as f64
    };
    let w = (-(horizon_ms as f64) / set.tau_ms as f64).exp();
    Some((later + r * w).clamp(0.0, capacity as f64))
}

/// Baseline: free now = free later.
pub fn persistence(s: &Series, now: i64) -> Option<f64> {
    at(s, now)
}

/// Baseline: the same time last week.
pub fn last_week(s: &Series, now: i64, horizon_ms: i64) -> Option<f64> {
    at(s, now + horizon_ms - WEEK_MS)
}

/// Minutes until the forecast first reaches 0 free within `horizons` (minutes), if it does.
pub fn full_within(
    s: &Series,
    now: i64,
    capacity: u32,
    horizons: &[i64],
    set: &ForecastSettings,
) -> Option<i64> {
    horizons
        .iter()
        .copied()
        .find(|&h| forecast(s, now, h * 60_000, capacity, set).is_some_and(|f| f < 0.5))
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000;
    const DAY: i64 = 86_400_000;

    /// A lot of 100 that fills from 08:00 to a low of `low` at 12:00 and empties by 20:00.
    fn day_shape(minute_of_day: i64, low: f64) -> f64 {
        let h = minute_of_day as f64 / 60.0;
        if !(8.0..20.0).contains(&h) {
            100.0
        } else if h < 12.0 {
            100.0 - (100.0 - low) * (h - 8.0) / 4.0
        } else {
            low + (100.0 - low) * (h - 12.0) / 8.0
        }
    }

    fn history(weeks: i64, low: impl Fn(i64) -> f64) -> Series {
        let mut s = Series::new();
        for m in (0..weeks * 7 * DAY).step_by(M as usize) {
            let day = m / DAY;
            s.insert(m, day_shape((m % DAY) / M, low(day)).round());
        }
        s
    }

    #[test]
    fn repeating_weeks_are_forecast_exactly() {
        let s = history(5, |_| 10.0);
        let now = 4 * WEEK_MS + 9 * 3_600_000;
        let set = ForecastSettings::default();
        for h in [15, 30, 60] {
            let f = forecast(&s, now, h * M, 100, &set).unwrap();
            let truth = at(&s, now + h * M).unwrap();
            assert!((f - truth).abs() < 1.0, "h {h}: {f} vs {truth}");
        }
    }

    #[test]
    fn a_busier_day_than_usual_is_followed_and_beats_the_baselines() {
        // Four normal weeks, then a day with 30 fewer free spaces all morning (an event).
        let s = history(5, |d| if d == 4 * 7 + 2 { 0.0 } else { 30.0 });
        let set = ForecastSettings::default();
        let (mut e_f, mut e_p, mut e_w) = (0.0, 0.0, 0.0);
        for now in ((4 * 7 + 2) * DAY + 9 * 3_600_000..(4 * 7 + 2) * DAY + 11 * 3_600_000)
            .step_by(5 * M as usize)
        {
            let truth = at(&s, now + 30 * M).unwrap();
            e_f += (forecast(&s, now, 30 * M, 100, &set).unwrap() - truth).abs();
            e_p += (persistence(&s, now).unwrap() - truth).abs();
            e_w += (last_week(&s, now, 30 * M).unwrap() - truth).abs();
        }
        assert!(
            e_f < e_p && e_f < e_w,
            "forecast {e_f}, persistence {e_p}, last week {e_w}"
        );
    }

    #[test]
    fn no_history_is_persistence_and_full_is_found() {
        let mut s = Series::new();
        s.insert(0, 7.0);
        let set = ForecastSettings::default();
        assert_eq!(forecast(&s, 0, 15 * M, 100, &set), Some(7.0));
        let s = history(2, |_| 0.0);
        let now = WEEK_MS + 11 * 3_600_000 + 30 * M; // half an hour before the weekly low of 0
        assert_eq!(full_within(&s, now, 100, &[15, 30, 60], &set), Some(30));
    }
}
