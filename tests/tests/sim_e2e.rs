//! End to end: the simulator publishes one simulated hour of a district (hubin, or the
//! `SIM_E2E_DISTRICT` file, or the simulator's small fixture while hubin is missing) through a
//! real rumqttd broker to a real rumqttc subscriber. Every device is heard from, each periodic
//! device sends exactly its hour of reports, the injected malformed messages arrive byte for
//! byte, and the ground truth agrees with the readings at every simulated minute.
//!
//! `sim_throughput` (ignored) measures the publish rate at `--speed max` with `--scale`:
//! `cargo test -p district-tests --release --test sim_e2e -- --ignored --nocapture`.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::{root, start_broker, subscribe};

use chrono::DateTime;
use district::contract::reading::{decode, Measurement};
use district::contract::topic::Topic;
use district::contract::truth::Truth;
use district::{District, LotCounting, Role, Side, ZoneCounting};
use sensors_sim::{SimOptions, Speed};

const START: &str = "2026-11-23T09:00:00+08:00"; // a Monday

fn district_file() -> PathBuf {
    if let Ok(p) = std::env::var("SIM_E2E_DISTRICT") {
        return p.into();
    }
    let hubin = root().join("config/districts/hubin.toml");
    if hubin.exists() {
        hubin
    } else {
        root().join("sensors-sim/fixtures/small.toml")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_simulated_hour_reaches_a_subscriber_and_agrees_with_the_truth() {
    let addr = start_broker(256 * 1024);
    let received = subscribe(addr, "sim-e2e-subscriber", "district/#").await;
    let dir = tempfile::tempdir().unwrap();
    let config = district_file();
    let d = district::load(&config).unwrap();
    let opts = SimOptions {
        security: support::identities::client_security(support::identities::BRIDGE),
        config,
        broker: addr.to_string(),
        seed: 42,
        speed: Speed::Factor(3600.0),
        start: Some(DateTime::parse_from_rfc3339(START).unwrap()),
        duration: Some(Duration::from_secs(3600)),
        scenario: Some(root().join("sensors-sim/scenarios/malformed.toml")),
        truth: Some(dir.path().join("truth.jsonl")),
        injected: Some(dir.path().join("injected.jsonl")),
        client_id: Some("sim-e2e".into()),
        ..SimOptions::default()
    };
    let clock = opts.clock();
    let summary = sensors_sim::run(opts, clock).await.unwrap();
    println!("{summary}");
    assert!(summary.delivered_all, "{summary}");
    assert!(!summary.interrupted);
    assert_eq!(
        summary.per_district,
        BTreeMap::from([(d.id.clone(), summary.published)])
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while (received.lock().unwrap().len() as u64) < summary.published {
        assert!(
            Instant::now() < deadline,
            "received {} of {}",
            received.lock().unwrap().len(),
            summary.published
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut msgs = std::mem::take(&mut *received.lock().unwrap());
    assert_eq!(
        msgs.len() as u64,
        summary.published,
        "nothing more than was published"
    );

    // The injected malformed messages arrived byte for byte, and decode as the sim said.
    let injected: Vec<serde_json::Value> =
        std::fs::read_to_string(dir.path().join("injected.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    assert_eq!(injected.len(), 2 * 10 + 5 * 2);
    assert_eq!(summary.malformed_injected, injected.len() as u64);
    for rec in &injected {
        let (topic, payload) = (
            rec["topic"].as_str().unwrap(),
            rec["payload"].as_str().unwrap().as_bytes(),
        );
        assert_eq!(rec["payload_len"].as_u64(), Some(payload.len() as u64));
        let i = msgs
            .iter()
            .position(|(t, p, _)| t == topic && p == payload)
            .unwrap_or_else(|| panic!("injected {} on {topic} not received", rec["variety"]));
        msgs.swap_remove(i);
        let Some(Topic::Sensor {
            kind: Some(kind),
            device,
            ..
        }) = Topic::parse(topic)
        else {
            panic!("{topic}")
        };
        match (
            rec["expected_reason"].as_str().unwrap(),
            decode(kind, payload),
        ) {
            ("unknown_device", Ok(_)) => assert!(d.device(device).is_none()),
            ("clock_skew", Ok(r)) => assert!(r.ts_ms >= ms(START) + 86_400_000),
            (want, Err(e)) => assert_eq!(e.reason(), want, "{}", rec["variety"]),
            (want, Ok(r)) => panic!("{} decoded ({r:?}) but should be {want}", rec["variety"]),
        }
    }

    // Every device was heard from; periodic devices sent exactly an hour of reports.
    let mut readings: Vec<(i64, usize, Measurement)> = Vec::new();
    let mut truths: Vec<Truth> = Vec::new();
    let mut per_kind: BTreeMap<String, u64> = BTreeMap::new();
    for (topic, payload, _) in &msgs {
        match Topic::parse(topic) {
            Some(Topic::SimTruth { .. }) => truths.push(serde_json::from_slice(payload).unwrap()),
            Some(Topic::Sensor {
                kind: Some(kind),
                device,
                ..
            }) => {
                *per_kind.entry(kind.as_str().to_string()).or_default() += 1;
                let r = decode(kind, payload).unwrap_or_else(|e| panic!("{topic}: {e}"));
                readings.push((r.ts_ms, d.device_idx(device).unwrap(), r.value));
            }
            _ => panic!("unexpected topic {topic}"),
        }
    }
    per_kind.insert("truth".into(), truths.len() as u64);
    per_kind.insert("malformed".into(), injected.len() as u64);
    assert_eq!(per_kind, summary.per_kind);
    let mut count = vec![0u64; d.devices.len()];
    let mut first = vec![i64::MAX; d.devices.len()];
    for (ts, dev, _) in &readings {
        count[*dev] += 1;
        first[*dev] = first[*dev].min(*ts);
    }
    for (i, dev) in d.devices.iter().enumerate() {
        assert!(count[i] > 0, "{} never reported", dev.id);
        let per_hour = 3600 / dev.interval.as_secs();
        match dev.role {
            Role::Bay { .. } => assert_eq!(first[i], ms(START), "{} boots at the start", dev.id),
            _ => assert_eq!(count[i], per_hour, "{} ({:?})", dev.id, dev.interval),
        }
    }

    // The truth agrees with the readings at every simulated minute.
    truths.sort_by_key(|t| t.ts_ms);
    assert_eq!(truths.len(), 61);
    assert_eq!(truths[0].ts_ms, ms(START));
    let file: Vec<Truth> = std::fs::read_to_string(dir.path().join("truth.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(file, truths, "the truth file holds what was published");
    readings.sort_by_key(|r| r.0);
    let mut state = Replay::new(&d);
    let mut next = 0;
    for t in &truths {
        while next < readings.len() && readings[next].0 <= t.ts_ms {
            state.apply(&readings[next]);
            next += 1;
        }
        state.check(t);
    }
    let people: u32 = truths.last().unwrap().people.values().sum();
    let capacity: u32 = d.zones.iter().map(|z| z.capacity).sum();
    assert!(
        people > capacity / 20,
        "at 10:00 the district has people: {people} (capacity {capacity})"
    );
}

fn ms(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
}

/// The district as the readings tell it: in − out per zone, area counts, bay states, cars in.
struct Replay<'a> {
    d: &'a District,
    lines: Vec<i64>,
    /// Latest (ts, count) per area counter (indexed by device).
    area: Vec<Option<(i64, u32)>>,
    bays: Vec<bool>,
    cars: Vec<i64>,
}

impl<'a> Replay<'a> {
    fn new(d: &'a District) -> Self {
        let n = d.zones.len();
        Replay {
            d,
            lines: vec![0; n],
            area: vec![None; d.devices.len()],
            bays: vec![false; d.devices.len()],
            cars: vec![0; d.lots.len()],
        }
    }

    fn apply(&mut self, (ts, dev, m): &(i64, usize, Measurement)) {
        match (&self.d.devices[*dev].role, m) {
            (Role::FootfallLine { enters, leaves }, Measurement::Line { ins, outs }) => {
                let delta = *ins as i64 - *outs as i64;
                self.lines[*enters] += delta;
                if let Side::Zone(z) = leaves {
                    self.lines[*z] -= delta;
                }
            }
            (Role::FootfallArea { .. }, Measurement::Area { count }) => {
                self.area[*dev] = Some((*ts, *count))
            }
            (Role::Bay { .. }, Measurement::Bay { occupied }) => self.bays[*dev] = *occupied,
            (Role::Entrance { lot }, Measurement::Entrance { entries, exits }) => {
                self.cars[*lot] += *entries as i64 - *exits as i64
            }
            _ => {}
        }
    }

    fn check(&self, t: &Truth) {
        for (z, zone) in self.d.zones.iter().enumerate() {
            let truth = t.people[&zone.id];
            match zone.counting {
                ZoneCounting::Lines => assert_eq!(
                    self.lines[z], truth as i64,
                    "zone {} at {}",
                    zone.id, t.sim_time
                ),
                ZoneCounting::Area if t.ts_ms > ms(START) => {
                    // The gateway sums a zone's area counters; each must be of this minute.
                    let counters: Vec<(i64, u32)> = self
                        .d
                        .devices
                        .iter()
                        .enumerate()
                        .filter(
                            |(_, dev)| matches!(dev.role, Role::FootfallArea { zone: x } if x == z),
                        )
                        .filter_map(|(i, _)| self.area[i])
                        .collect();
                    assert!(
                        counters.iter().all(|(ts, _)| *ts == t.ts_ms),
                        "area zone {} at {}",
                        zone.id,
                        t.sim_time
                    );
                    assert_eq!(
                        Some((t.ts_ms, counters.iter().map(|c| c.1).sum::<u32>())),
                        Some((t.ts_ms, truth)),
                        "area zone {} at {}",
                        zone.id,
                        t.sim_time
                    )
                }
                _ => {}
            }
        }
        for (l, lot) in self.d.lots.iter().enumerate() {
            let occupied = match lot.counting {
                LotCounting::Bays => self
                    .d
                    .devices
                    .iter()
                    .enumerate()
                    .filter(|(i, x)| {
                        self.bays[*i] && matches!(x.role, Role::Bay { lot: y, .. } if y == l)
                    })
                    .count() as i64,
                LotCounting::Entrances => self.cars[l],
                LotCounting::None => continue,
            };
            assert_eq!(
                lot.capacity as i64 - occupied,
                t.free_bays[&lot.id] as i64,
                "lot {} at {}",
                lot.id,
                t.sim_time
            );
        }
    }
}

/// Publish rate at `--speed max`: `SIM_BENCH_SCALE` replicas (default 100) for
/// `SIM_BENCH_MINUTES` simulated minutes (default 10) at QoS `SIM_BENCH_QOS` (default 1),
/// against an in-process rumqttd with no subscriber.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn sim_throughput() {
    let env = |k: &str, default: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let addr = start_broker(256 * 1024);
    let opts = SimOptions {
        security: support::identities::client_security(support::identities::BRIDGE),
        config: district_file(),
        broker: addr.to_string(),
        speed: Speed::Max,
        start: Some(DateTime::parse_from_rfc3339("2026-11-28T18:00:00+08:00").unwrap()),
        duration: Some(Duration::from_secs(60 * env("SIM_BENCH_MINUTES", 10))),
        scale: env("SIM_BENCH_SCALE", 100) as usize,
        qos: env("SIM_BENCH_QOS", 1) as u8,
        dry_run: env("SIM_BENCH_DRY", 0) == 1,
        client_id: Some("sim-bench".into()),
        ..SimOptions::default()
    };
    let clock = opts.clock();
    let summary = sensors_sim::run(opts, clock).await.unwrap();
    println!("{summary}");
    assert!(summary.delivered_all);
}
