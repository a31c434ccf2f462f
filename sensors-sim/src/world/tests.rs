//! World tests: determinism, the line-counter/truth identity, daily balance, diurnal shape,
//! parking consistency, scale and counter error.

use std::collections::BTreeMap;

use district::contract::topic::Topic;
use district::contract::truth::Truth;
use district::{District, Role, Side};

use super::*;
use crate::testing::{ms, small, world, Replay};

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    let d = small();
    let run = |seed| {
        let mut w = world(&d, seed, "2026-11-23T09:00:00+08:00", Scenario::default());
        w.step(ms("2026-11-23T11:00:00+08:00"))
            .take(1500)
            .map(|o| (o.topic, o.payload))
            .collect::<Vec<_>>()
    };
    let a = run(7);
    assert_eq!(a.len(), 1500);
    assert_eq!(a, run(7));
    assert_ne!(a, run(8));
    // The start's boot messages are in file order and say where each bay stands.
    assert!(String::from_utf8_lossy(&a[0].1)
        .starts_with(r#"{"ts":"2026-11-23T09:00:00.000+08:00","seq":1,"occupied":"#));
}

#[test]
fn line_counts_add_up_to_the_truth_at_every_minute_for_three_hours() {
    let d = small();
    for start in ["2026-11-23T10:00:00+08:00", "2026-11-28T17:20:17+08:00"] {
        let mut w = world(&d, 11, start, Scenario::default());
        let mut replay = Replay::new(&d);
        for o in w.step(ms(start) + 3 * 3_600_000) {
            replay.feed(&o);
        }
        assert_eq!(
            replay.checked,
            if start.ends_with(":00:00+08:00") {
                181
            } else {
                180
            },
            "{start}"
        );
        let last = replay.truths.last().unwrap();
        let people: u32 = last.people.values().sum();
        assert!(
            people > 500,
            "{start}: a busy district has people: {last:?}"
        );
        // Area counters report the truth of their whole zone at each whole minute.
        let plaza = d.zone_idx("plaza").unwrap();
        assert_eq!(replay.area(plaza), Some(last.people["plaza"]));
    }
}

#[test]
fn over_a_day_from_four_to_four_every_zone_empties_and_ins_match_outs() {
    let d = small();
    let start = "2026-11-27T04:00:00+08:00";
    let mut w = world(&d, 3, start, Scenario::default());
    let mut replay = Replay::new(&d);
    let mut peak = 0u32;
    let end = ms(start) + 24 * 3_600_000;
    while w.now_ms() < end {
        for o in w.step(w.now_ms() + 3_600_000) {
            replay.feed(&o);
        }
        peak = peak.max(w.truth(0).people.values().sum());
    }
    let t = w.truth(0);
    assert!(t.people.values().all(|&p| p == 0), "{t:?}");
    assert!(peak > 2000, "peak {peak}");
    // Per zone, people in = people out over the day.
    let mut net = vec![0i64; d.zones.len()];
    let (mut from_outside, mut to_outside) = (0u64, 0u64);
    for (id, &(i, o)) in &replay.line_totals {
        let Role::FootfallLine { enters, leaves } = d.device(id).unwrap().role else {
            panic!()
        };
        net[enters] += i as i64 - o as i64;
        match leaves {
            Side::Zone(z) => net[z] -= i as i64 - o as i64,
            Side::Outside => {
                from_outside += i;
                to_outside += o;
            }
        }
    }
    assert!(net.iter().all(|&n| n == 0), "{net:?}");
    assert_eq!(from_outside, to_outside);
    assert!(from_outside > 5000, "{from_outside} visits");
}

fn total_at(d: &District, date: &str, hours: &[&str]) -> Vec<u32> {
    let mut w = world(d, 5, &format!("{date}T05:00:00+08:00"), Scenario::default());
    hours
        .iter()
        .map(|h| {
            drop(w.step(ms(&format!("{date}T{h}:00+08:00"))));
            w.truth(0).people.values().sum()
        })
        .collect()
}

#[test]
fn footfall_follows_the_day_and_holidays_are_busier() {
    let d = small();
    let hours = ["08:00", "12:30", "15:30", "19:30"];
    // 2026-10-01 is a Thursday and a holiday in the fixture; 2026-10-08 a plain Thursday.
    let workday = total_at(&d, "2026-10-08", &hours);
    let holiday = total_at(&d, "2026-10-01", &hours);
    let [early, lunch, afternoon, evening] = workday[..] else {
        unreachable!()
    };
    assert!(lunch > 3 * early && evening > 3 * early, "{workday:?}");
    assert!(evening > afternoon && lunch > afternoon, "{workday:?}");
    for i in 1..hours.len() {
        assert!(
            holiday[i] as f64 > 1.4 * workday[i] as f64,
            "{} {holiday:?} vs {workday:?}",
            hours[i]
        );
    }
    // The evening peak is busy but within the zones' capacity.
    let capacity: u32 = d.zones.iter().map(|z| z.capacity).sum();
    assert!(
        (evening as f64) > 0.25 * capacity as f64 && evening < capacity,
        "{evening} of {capacity}"
    );
}

#[test]
fn parking_truth_is_capacity_minus_cars_and_bay_sensors_keep_their_heartbeat() {
    let d = small();
    let start = "2026-11-28T06:00:00+08:00";
    let mut w = world(&d, 9, start, Scenario::default());
    let mut replay = Replay::new(&d);
    let mut last_seen: BTreeMap<String, i64> = BTreeMap::new();
    let mut max_gap = 0;
    let mut changes = 0;
    let mut state: BTreeMap<String, bool> = BTreeMap::new();
    let mut min_free = u32::MAX;
    for o in w.step(ms(start) + 20 * 3_600_000) {
        replay.feed(&o);
        if let Some(Topic::Sensor { device, .. }) = Topic::parse(&o.topic) {
            if device.starts_with("ps-") {
                let v: serde_json::Value = serde_json::from_slice(&o.payload).unwrap();
                let occ = v["occupied"].as_bool().unwrap();
                if state
                    .insert(device.to_string(), occ)
                    .is_some_and(|was| was != occ)
                {
                    changes += 1;
                }
                if let Some(prev) = last_seen.insert(device.to_string(), o.ts_ms) {
                    max_gap = max_gap.max(o.ts_ms - prev);
                }
            }
        }
        if let What::Truth { .. } = o.what {
            let t: Truth = serde_json::from_slice(&o.payload).unwrap();
            min_free = min_free.min(t.free_bays["p1"]);
            assert!(t.free_bays["p2"] <= 40);
        }
    }
    assert_eq!(last_seen.len(), 12, "every bay sensor reported");
    assert!(
        max_gap <= 4 * 3_600_000,
        "heartbeat every 4 h at most: {max_gap}"
    );
    assert!(changes > 20, "{changes} bay changes on a Saturday");
    assert!(min_free < 6, "the lot filled up at the peak: {min_free}");
    assert_eq!(replay.checked, 20 * 60 + 1);
}

#[test]
fn counter_error_changes_the_counts_but_not_the_truth() {
    let d = small();
    let start = ms("2026-11-23T10:00:00+08:00");
    let run = |p| {
        let mut w = World::new(
            &d,
            1,
            Scenario::default(),
            WorldConfig {
                seed: 4,
                counter_error: p,
                start_ms: start,
            },
        );
        w.step(start + 3_600_000).collect::<Vec<_>>()
    };
    let (exact, noisy) = (run(0.0), run(0.1));
    let truths = |v: &[Outgoing]| {
        v.iter()
            .filter(|o| o.retain)
            .map(|o| o.payload.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(truths(&exact), truths(&noisy));
    assert_ne!(exact, noisy);
    // The counted total stays within a few percent of the truth (expected 1 − P + P/3 = 0.933).
    let ins = |v: &[Outgoing]| -> u64 {
        v.iter()
            .filter(|o| o.topic.contains("/footfall/fc-"))
            .map(|o| {
                serde_json::from_slice::<serde_json::Value>(&o.payload).unwrap()["in"]
                    .as_u64()
                    .unwrap()
            })
            .sum()
    };
    let ratio = ins(&noisy) as f64 / ins(&exact) as f64;
    assert!((ratio - 0.933).abs() < 0.03, "{ratio}");
}

#[test]
fn replicas_have_suffixed_ids_and_their_own_randomness() {
    let d = small();
    let start = ms("2026-11-23T10:00:00+08:00");
    let mut w = World::new(
        &d,
        3,
        Scenario::default(),
        WorldConfig {
            seed: 4,
            counter_error: 0.0,
            start_ms: start,
        },
    );
    let ids: Vec<_> = w.districts().map(|d| d.id.clone()).collect();
    assert_eq!(ids, ["small-001", "small-002", "small-003"]);
    let out: Vec<_> = w.step(start + 600_000).collect();
    let of = |k: &str| {
        out.iter()
            .filter(|o| {
                o.topic
                    .starts_with(&format!("district/small-{k}/sensors/footfall"))
            })
            .map(|o| String::from_utf8_lossy(&o.payload).into_owned())
            .collect::<Vec<_>>()
    };
    assert!(out
        .iter()
        .any(|o| o.topic == "district/small-002/sensors/parking/ps-3-002"));
    assert_eq!(of("001").len(), of("002").len());
    assert_ne!(of("001"), of("002"));
    for k in 0..3 {
        assert_eq!(
            out.iter()
                .filter(|o| o.what == What::Truth { district: k })
                .count(),
            11
        );
    }
}
