//! Scenario tests: the file format's errors, the example files, and each kind of event's effect
//! on the world.

use std::path::Path;

use super::*;
use crate::testing::{ms, small, world, Replay};
use crate::world::{Outgoing, What};

fn problems(text: &str) -> Vec<String> {
    match Scenario::parse("s.toml", text, &small()) {
        Err(ScenarioError::Invalid { problems, .. }) => problems,
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn every_problem_is_reported_with_its_line_and_what_to_write() {
    let text = r#"
[[events]]
at = "+10min"
kind = "earthquake"

[[events]]
at = "noon"
kind = "fire"
building = "b1"

[[events]]
at = "+1h"
kind = "fire"
building = "b9"

[[events]]
at = "+1h"
kind = "silence"
device = "fc-1"
duration = "15"

[[events]]
at = "+1h"
kind = "crowd_surge"
zone = "plaza"
peple = 300

[[events]]
at = "2026-11-21T12:00:00+08:00"
kind = "malformed"
varieties = ["bad_json", "rude_words"]
"#;
    let ps = problems(text);
    let find = |needle: &str| {
        ps.iter()
            .find(|p| p.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in {ps:#?}"))
            .clone()
    };
    assert!(find("kind \"earthquake\" is not one of fire, crowd_surge")
        .starts_with("line 2: events[0]"));
    assert!(find("at = \"noon\" is neither RFC 3339").starts_with("line 6: events[1] (fire)"));
    let b = find("building \"b9\"");
    assert!(
        b.starts_with("line 11: events[2] (fire)") && b.contains("buildings: b1"),
        "{b}"
    );
    assert!(find("duration = \"15\"").contains("with a unit"));
    assert!(find("unknown field `peple`").starts_with("line 22: events[4] (crowd_surge)"));
    assert!(find("variety \"rude_words\"").contains("bad_json, wrong_types"));
    assert_eq!(ps.len(), 6, "{ps:#?}");
    match Scenario::parse("s.toml", "[[events]\nat = 1", &small()) {
        Err(e @ ScenarioError::Syntax { .. }) => assert!(e.to_string().contains("s.toml"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_example_scenarios_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let m = Scenario::load(dir.join("scenarios/malformed.toml"), &small()).unwrap();
    assert_eq!(m.events.len(), 2);
    assert_eq!(m.events[0].at, At::AfterStart(600_000));
    // The drill names hubin's buildings, zones and devices.
    let hubin = dir.join("../config/districts/hubin.toml");
    if hubin.exists() {
        let d = district::load(&hubin).unwrap();
        let s = Scenario::load(dir.join("scenarios/drill.toml"), &d).unwrap();
        assert_eq!(s.events.len(), 6);
    } else {
        eprintln!("config/districts/hubin.toml is not there yet: drill.toml not checked");
    }
}

fn run(text: &str, start: &str, hours: f64) -> (Vec<Outgoing>, district::District) {
    let d = small();
    let s = Scenario::parse("s.toml", text, &d).unwrap();
    let mut w = world(&d, 21, start, s);
    let out = w.step(ms(start) + (hours * 3_600_000.0) as i64).collect();
    (out, d)
}

fn field(o: &Outgoing, key: &str) -> serde_json::Value {
    serde_json::from_slice::<serde_json::Value>(&o.payload).unwrap()[key].clone()
}

#[test]
fn a_fire_alarms_detectors_twenty_seconds_apart_then_clears() {
    let start = "2026-11-23T10:00:00+08:00";
    let text = "[[events]]\nat = \"+10min\"\nkind = \"fire\"\nbuilding = \"b1\"\ndetectors = 2\nclear_after = \"5min\"\n";
    let (out, _) = run(text, start, 1.0);
    let fire: Vec<_> = out.iter().filter(|o| o.topic.contains("/fire/")).collect();
    let alarms: Vec<_> = fire
        .iter()
        .filter(|o| field(o, "state") == "alarm")
        .collect();
    let t0 = ms(start) + 600_000;
    assert_eq!(alarms[0].ts_ms, t0);
    assert_eq!(alarms[1].ts_ms, t0 + 20_000);
    assert_ne!(alarms[0].topic, alarms[1].topic);
    // Heartbeats inside the alarm window repeat it; the clear comes 5 minutes after each alarm.
    let clears: Vec<_> = fire
        .iter()
        .filter(|o| o.ts_ms >= t0 + 300_000 && field(o, "state") == "normal")
        .take(2)
        .collect();
    assert_eq!(
        (clears[0].ts_ms, clears[1].ts_ms),
        (t0 + 300_000, t0 + 320_000)
    );
    assert!(alarms.iter().all(|o| o.ts_ms < t0 + 300_000));
}

#[test]
fn a_crowd_surge_fills_the_zone_and_then_lets_it_go() {
    let start = "2026-11-23T10:00:00+08:00";
    let surge = "[[events]]\nat = \"+30min\"\nkind = \"crowd_surge\"\nzone = \"plaza\"\npeople = 1500\nramp = \"5min\"\nhold = \"15min\"\n";
    let plaza_at = |text: &str, minute: i64| {
        let d = small();
        let mut w = world(&d, 21, start, Scenario::parse("s.toml", text, &d).unwrap());
        drop(w.step(ms(start) + minute * 60_000));
        w.truth(0).people["plaza"] as i64
    };
    let (base, with) = (plaza_at("", 50), plaza_at(surge, 50));
    assert!(with - base > 1000, "surge held: {base} → {with}");
    let (base, with) = (plaza_at("", 110), plaza_at(surge, 110));
    assert!((with - base).abs() < 250, "surge gone: {base} vs {with}");
    // People came in through the counters: the line-counted zones still add up at every minute.
    let (out, d) = run(surge, start, 1.5);
    let mut replay = Replay::new(&d);
    out.iter().for_each(|o| replay.feed(o));
    assert_eq!(replay.checked, 91);
}

#[test]
fn pollution_raises_particles_and_a_stuck_monitor_repeats_itself() {
    let start = "2026-11-23T10:00:00+08:00";
    let text = "[[events]]\nat = \"+10min\"\nkind = \"pollution\"\npeak_pm25 = 300.0\nduration = \"40min\"\n\n\
                [[events]]\nat = \"+1h\"\nkind = \"stuck\"\ndevice = \"aq-1\"\nduration = \"10min\"\n";
    let (out, _) = run(text, start, 1.5);
    let aq1: Vec<_> = out
        .iter()
        .filter(|o| o.topic.ends_with("/air/aq-1"))
        .collect();
    let at = |min: i64| {
        aq1.iter()
            .find(|o| o.ts_ms == ms(start) + min * 60_000)
            .unwrap()
    };
    assert!(field(at(30), "pm25").as_f64().unwrap() >= 299.0);
    assert!(field(at(5), "pm25").as_f64().unwrap() < 120.0);
    let pm10 = field(at(30), "pm10").as_f64().unwrap();
    assert!((450.0..=580.0).contains(&pm10), "{pm10}");
    let body = |o: &Outgoing| {
        let v: serde_json::Value = serde_json::from_slice(&o.payload).unwrap();
        (v["pm25"].clone(), v["temp"].clone(), v["rh"].clone())
    };
    let stuck: Vec<_> = (60..70).map(|m| body(at(m))).collect();
    assert!(stuck.iter().all(|b| *b == stuck[0]), "{stuck:?}");
    assert_ne!(body(at(70)), stuck[0]);
    assert_eq!(field(at(65), "seq"), 65, "fresh seq and ts while stuck");
}

#[test]
fn a_silent_counter_sends_its_crossings_after_the_silence() {
    let start = "2026-11-23T10:00:00+08:00";
    let text = "[[events]]\nat = \"+20min\"\nkind = \"silence\"\ndevice = \"fc-2\"\nduration = \"10min\"\n";
    let (out, d) = run(text, start, 1.0);
    let silent = (ms(start) + 1_200_000, ms(start) + 1_800_000);
    let fc2: Vec<_> = out.iter().filter(|o| o.topic.ends_with("/fc-2")).collect();
    assert!(fc2
        .iter()
        .all(|o| o.ts_ms < silent.0 || o.ts_ms >= silent.1));
    assert_eq!(
        fc2.len(),
        120 - 20,
        "30 s reports, 20 missed (10:20:00 … 10:29:30)"
    );
    let mut replay = Replay::new(&d);
    replay.lenient = true;
    for o in &out {
        replay.lenient = o.ts_ms >= silent.0 && o.ts_ms < silent.1;
        replay.feed(o);
    }
    assert_eq!(
        replay.checked,
        61 - 10,
        "the counts add up again once fc-2 reports"
    );
}

#[test]
fn a_malformed_burst_sends_count_of_each_variety() {
    let (out, _) = run(
        "[[events]]\nat = \"+10min\"\nkind = \"malformed\"\ncount = 2\n",
        "2026-11-23T10:00:00+08:00",
        0.5,
    );
    let injected: Vec<_> = out
        .iter()
        .filter(|o| matches!(o.what, What::Injected { .. }))
        .collect();
    assert_eq!(injected.len(), 2 * crate::malformed::Variety::ALL.len());
    assert!(injected
        .iter()
        .all(|o| o.ts_ms == ms("2026-11-23T10:10:00+08:00")));
}
