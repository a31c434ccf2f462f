//! End to end: the real simulator drives the real gateway (embedded rumqttd, SQLite store)
//! through one simulated hour of the Hubin district at 3600× on one shared simulated clock.
//!
//! - With counter error off, the gateway's people per zone and free spaces per lot, as written
//!   in its minute rollups, equal the simulator's ground truth at every simulated minute.
//! - With counter error on, the zone counts stay within the error the counters can make.
//! - Every injected malformed message is dead-lettered with the reason the simulator expects,
//!   and the store holds every accepted reading exactly once.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use support::{free_port, root};

use chrono::DateTime;
use district::clock::Clock;
use district::contract::truth::Truth;
use district::{LotCounting, ZoneCounting};
use gateway::config::GatewayConfig;
use sensors_sim::{SimOptions, Speed};

const START: &str = "2026-11-23T09:00:00+08:00"; // a Monday

struct Outcome {
    truths: Vec<Truth>,
    history: BTreeMap<(String, String, String), BTreeMap<i64, f64>>,
    rejects: BTreeMap<String, i64>,
    injected: BTreeMap<String, i64>,
    accepted: u64,
    stored: i64,
    sensor_readings: u64,
}

async fn run(counter_error: f64, scenario: Option<&str>) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let hubin = root().join("config/districts/hubin.toml");
    let d = district::load(&hubin).unwrap();
    let start = DateTime::parse_from_rfc3339(START).unwrap();
    let clock = Clock::simulated(start.to_utc(), 3600.0);
    let mut cfg = GatewayConfig::default();
    cfg.devices.listen = "127.0.0.1:0".parse().unwrap();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.store.data_dir = dir.path().join("data");
    cfg.publish.min_interval_ms = 20;
    // Minutes close when the readings have moved past them, not on the (fast) clock.
    cfg.publish.rollup_close_after = Duration::from_secs(6 * 3600);
    // The simulator's bridge may publish for the ids its `unknown_device` injections use, so
    // the district model refuses them, not the identity.
    let ghosts = support::identities::ghosts();
    let ghosts: Vec<&str> = ghosts.iter().map(String::as_str).collect();
    support::identities::secure_with(&mut cfg, std::slice::from_ref(&d), &ghosts);
    let gw = support::identities::start_gateway(cfg, vec![d.clone()], clock)
        .await
        .unwrap();
    let truth_file = dir.path().join("truth.jsonl");
    let injected_file = dir.path().join("injected.jsonl");
    let opts = SimOptions {
        security: support::identities::client_security(support::identities::BRIDGE),
        config: hubin.clone(),
        broker: gw.device_addr.unwrap().to_string(),
        seed: 7,
        speed: Speed::Factor(3600.0),
        start: Some(start),
        duration: Some(Duration::from_secs(3600)),
        truth: Some(truth_file.clone()),
        injected: Some(injected_file.clone()),
        scenario: scenario.map(|s| root().join("sensors-sim/scenarios").join(s)),
        counter_error,
        ..Default::default()
    };
    let summary = sensors_sim::run(opts, clock).await.unwrap();
    assert!(
        summary.delivered_all,
        "the broker acknowledged every message"
    );
    let sensor_readings: u64 = ["footfall", "parking", "air", "energy", "fire"]
        .iter()
        .map(|k| summary.per_kind.get(*k).copied().unwrap_or(0))
        .sum::<u64>()
        + summary.malformed_injected;
    let m = gw.shared.metrics.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Every message decided: stored, refused as a copy, or dead-lettered.
    while m.decided() < sensor_readings {
        assert!(
            Instant::now() < deadline,
            "gateway decided {} of {sensor_readings} (received {})",
            m.decided(),
            m.received.load(Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let accepted = m.accepted.load(Relaxed);
    gw.shutdown().await;

    let reader = gateway::store::Reader::open(&dir.path().join("data")).unwrap();
    let mut history = BTreeMap::new();
    let from = start.timestamp_millis();
    let to = from + 3_600_000;
    for z in &d.zones {
        for metric in ["people", "in", "out"] {
            let pts = reader
                .history(&d.id, "zone", &z.id, metric, from, to, 60_000)
                .unwrap();
            history.insert(
                ("zone".into(), z.id.clone(), metric.into()),
                pts.into_iter().collect(),
            );
        }
    }
    for l in &d.lots {
        let pts = reader
            .history(&d.id, "lot", &l.id, "free", from, to, 60_000)
            .unwrap();
        history.insert(
            ("lot".into(), l.id.clone(), "free".into()),
            pts.into_iter().collect(),
        );
    }
    let truths: Vec<Truth> = std::fs::read_to_string(&truth_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut injected = BTreeMap::new();
    if let Ok(text) = std::fs::read_to_string(&injected_file) {
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            *injected
                .entry(v["expected_reason"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    Outcome {
        truths,
        history,
        rejects: reader
            .deadletters_per_reason()
            .unwrap()
            .into_iter()
            .collect(),
        injected,
        accepted,
        stored: reader.reading_count().unwrap(),
        sensor_readings,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_counts_equal_the_simulators_truth_every_minute() {
    let o = run(0.0, Some("malformed.toml")).await;
    let d = district::load(root().join("config/districts/hubin.toml")).unwrap();
    let mut compared = 0;
    for t in &o.truths {
        for z in &d.zones {
            if z.counting == ZoneCounting::None {
                continue;
            }
            let Some(v) = o.history[&("zone".into(), z.id.clone(), "people".into())].get(&t.ts_ms)
            else {
                continue;
            };
            assert_eq!(
                *v as u32, t.people[&z.id],
                "zone {} at {}",
                z.id, t.sim_time
            );
            compared += 1;
        }
        for l in &d.lots {
            if l.counting == LotCounting::None {
                continue;
            }
            let Some(v) = o.history[&("lot".into(), l.id.clone(), "free".into())].get(&t.ts_ms)
            else {
                continue;
            };
            assert_eq!(
                *v as u32, t.free_bays[&l.id],
                "lot {} at {}",
                l.id, t.sim_time
            );
            compared += 1;
        }
    }
    // 60 minutes × (10 zones + 4 lots); the last minute may still be open at shutdown.
    assert!(compared >= 58 * 14, "compared only {compared} values");
    // Every malformed message was dead-lettered with the expected reason, and nothing else was.
    assert!(!o.injected.is_empty());
    assert_eq!(o.rejects, o.injected);
    // Every accepted reading is stored exactly once; every reading was accepted.
    assert_eq!(o.stored as u64, o.accepted);
    let injected: i64 = o.injected.values().sum();
    assert_eq!(o.accepted, o.sensor_readings - injected as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_counter_error_the_zone_counts_stay_within_the_counters_error() {
    let p = 0.05;
    let o = run(p, None).await;
    let d = district::load(root().join("config/districts/hubin.toml")).unwrap();
    let mut worst = 0.0f64;
    for z in d.zones.iter().filter(|z| z.counting == ZoneCounting::Lines) {
        let people = &o.history[&("zone".into(), z.id.clone(), "people".into())];
        let ins = &o.history[&("zone".into(), z.id.clone(), "in".into())];
        let outs = &o.history[&("zone".into(), z.id.clone(), "out".into())];
        let mut crossings = 0.0;
        for t in &o.truths {
            crossings += ins.get(&t.ts_ms).unwrap_or(&0.0) + outs.get(&t.ts_ms).unwrap_or(&0.0);
            let Some(v) = people.get(&t.ts_ms) else {
                continue;
            };
            let err = (*v - t.people[&z.id] as f64).abs();
            // Each counted crossing is wrong with probability p + p/3: the error since the last
            // re-baseline is at most that share of the crossings, plus a small allowance.
            let bound = 2.0 * (p + p / 3.0) * crossings + 10.0;
            assert!(
                err <= bound,
                "zone {} at {}: error {err} over bound {bound}",
                z.id,
                t.sim_time
            );
            worst = worst.max(err / crossings.max(1.0));
        }
    }
    assert!(worst > 0.0, "counter error must show up in the counts");
}
