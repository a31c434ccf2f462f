//! The parking forecast's error on a held-out simulated week, against two baselines.
//!
//! The real simulator's world (no broker: its truth, free spaces per lot per minute) runs five
//! weeks of the Hubin district from Monday 2026-10-26. Weeks 1–4 are history; week 5 is held
//! out. Week 5 has a public holiday (Wednesday 2026-11-25, declared in the district calendar,
//! so the simulator's demand is ×1.7 of a workday) and an event day (Friday 2026-11-27: a
//! concert brings extra cars from 17:00 to 23:00, up to 35% of each lot, laid over the
//! simulator's truth; the simulator has no events for car parks). The simulator's own random
//! arrivals and stays are the noise.
//!
//! Every 5 minutes from 07:00 to 23:00 of the held-out week, each lot's free spaces in 15, 30
//! and 60 minutes are forecast from the history up to that moment and compared with what
//! happened. Baselines: free now = free later; the same time last week. The mean absolute
//! errors are printed (and recorded in BENCHMARKS.md) and the forecast must beat both at every
//! horizon.
//!
//! Slow in a debug build (five simulated weeks): `cargo test --release -p district-tests
//! --test parking_forecast -- --ignored --nocapture`.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate};
use gateway::parking::forecast::{self, ForecastSettings, Series};
use sensors_sim::{Scenario, World, WorldConfig};

const START: &str = "2026-10-26T00:00:00+08:00"; // a Monday
const M: i64 = 60_000;
const DAY: i64 = 86_400_000;

#[test]
#[ignore = "five simulated weeks; run with --release --ignored"]
fn forecast_beats_both_baselines_on_a_held_out_week() {
    let days: i64 = std::env::var("FORECAST_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(35);
    let mut d = district::load(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/districts/hubin.toml"),
    )
    .unwrap();
    d.calendar
        .holidays
        .insert(NaiveDate::from_ymd_opt(2026, 11, 25).unwrap());
    let t0 = DateTime::parse_from_rfc3339(START)
        .unwrap()
        .timestamp_millis();
    let mut world = World::new(
        &d,
        1,
        Scenario::default(),
        WorldConfig {
            seed: 2026,
            counter_error: 0.0,
            start_ms: t0,
        },
    );
    let mut series: BTreeMap<String, Series> = BTreeMap::new();
    let mut out = Vec::new();
    let clock = std::time::Instant::now();
    for m in 1..=days * 1440 {
        let t = t0 + m * M;
        world.step_into(t, &mut out);
        out.clear();
        let truth = world.truth(0);
        for (lot, free) in truth.free_bays {
            series.entry(lot).or_default().insert(t, free as f64);
        }
    }
    eprintln!("simulated {days} days in {:.1?}", clock.elapsed());
    // The event day: extra cars 17:00-23:00 (ramp up 2 h, hold 2 h, ramp down 2 h).
    let event = t0 + 32 * DAY;
    for (lot, s) in series.iter_mut() {
        let cap = d.lots[d.lot_idx(lot).unwrap()].capacity as f64;
        for (t, v) in s.range_mut(event + 17 * 3_600_000..event + 23 * 3_600_000) {
            let h = (t - event) as f64 / 3_600_000.0 - 17.0;
            let share = if h < 2.0 {
                h / 2.0
            } else if h < 4.0 {
                1.0
            } else {
                (6.0 - h) / 2.0
            };
            *v = (*v - 0.35 * cap * share).max(0.0).round();
        }
    }
    let held_out = t0 + 28 * DAY;
    assert!(days >= 29, "needs four weeks of history and a held-out day");
    let set = ForecastSettings::default();
    let horizons = [15, 30, 60];
    let mut err: BTreeMap<(i64, &str), (f64, u64)> = BTreeMap::new();
    // Per kind of day: (kind, horizon, method) → (sum, n).
    let mut by_day: BTreeMap<(&str, i64, &str), (f64, u64)> = BTreeMap::new();
    let mut add = |h: i64, name: &'static str, e: f64, kind: &'static str| {
        let x = err.entry((h, name)).or_default();
        x.0 += e;
        x.1 += 1;
        let y = by_day.entry((kind, h, name)).or_default();
        y.0 += e;
        y.1 += 1;
    };
    for (lot, s) in &series {
        let cap = d.lots[d.lot_idx(lot).unwrap()].capacity;
        for day in 0..(days - 28).min(7) {
            let base = held_out + day * DAY;
            let kind = match day {
                2 => "holiday (Wed)",
                4 => "event day (Fri)",
                _ => "other days",
            };
            for now in (base + 7 * 3_600_000..=base + 23 * 3_600_000).step_by(5 * M as usize) {
                // The forecast and the baselines read only values at or before `now` (the
                // profile of `now + h` looks a week or more back), so the whole series is safe.
                let known = s;
                for h in horizons {
                    let Some(truth) = forecast::at(s, now + h * M) else {
                        continue;
                    };
                    add(
                        h,
                        "forecast",
                        (forecast::forecast(known, now, h * M, cap, &set).unwrap() - truth).abs(),
                        kind,
                    );
                    add(
                        h,
                        "free now",
                        (forecast::persistence(known, now).unwrap() - truth).abs(),
                        kind,
                    );
                    add(
                        h,
                        "last week",
                        (forecast::last_week(known, now, h * M).unwrap() - truth).abs(),
                        kind,
                    );
                }
            }
        }
    }
    println!("| horizon | forecast MAE | free now = free later | same time last week | points |");
    println!("|---|---|---|---|---|");
    for h in horizons {
        let mae = |n| err[&(h, n)].0 / err[&(h, n)].1 as f64;
        println!(
            "| {h} min | {:.2} | {:.2} | {:.2} | {} |",
            mae("forecast"),
            mae("free now"),
            mae("last week"),
            err[&(h, "forecast")].1
        );
        assert!(mae("forecast") < mae("free now"), "{h} min: beats free now");
        assert!(
            mae("forecast") < mae("last week"),
            "{h} min: beats last week"
        );
    }
    println!();
    println!("| day | horizon | forecast MAE | free now = free later | same time last week |");
    println!("|---|---|---|---|---|");
    for k in ["holiday (Wed)", "event day (Fri)", "other days"] {
        for h in horizons {
            let Some(_) = by_day.get(&(k, h, "forecast")) else {
                continue;
            };
            let mae = |n| by_day[&(k, h, n)].0 / by_day[&(k, h, n)].1 as f64;
            println!(
                "| {k} | {h} min | {:.2} | {:.2} | {:.2} |",
                mae("forecast"),
                mae("free now"),
                mae("last week")
            );
        }
    }
}
