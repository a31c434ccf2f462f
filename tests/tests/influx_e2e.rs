//! End to end into a real server: the simulator drives the gateway (embedded broker, SQLite
//! store) through one simulated day of the Hubin district; a `[[forward]]` target sends it
//! on to VictoriaMetrics (Debian's, started here, without deduplication so a point sent
//! twice would show twice). Then every accepted reading is in the server exactly once: per
//! device and field, the count and the sum equal the embedded store's; the derived series
//! (people per zone, free per lot) equal the store's minute rollups.

mod support;

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use district::clock::Clock;
use gateway::config::GatewayConfig;
use gateway::forward::ForwardTarget;
use sensors_sim::{SimOptions, Speed};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_day_reaches_the_server_exactly_once() {
    let vm = Vm::start(false);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let hubin = root().join("config/districts/hubin.toml");
    let d = district::load(&hubin).unwrap();
    let start = start_3_days_ago();
    let speed = 2880.0; // a day in 30 s
    let clock = Clock::simulated(start.to_utc(), speed);
    let mut cfg = GatewayConfig::default();
    cfg.devices.listen = "127.0.0.1:0".parse().unwrap();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.store.data_dir = data.clone();
    cfg.publish.rollup_close_after = Duration::from_secs(6 * 3600);
    let mut target = ForwardTarget::new("vm", &vm.url(), "district", "district");
    target.batch_age = Duration::from_millis(200);
    cfg.forward = vec![target];
    let gw = support::identities::start_gateway(cfg, vec![d.clone()], clock)
        .await
        .unwrap();

    let summary = sensors_sim::run(
        SimOptions {
            security: support::identities::client_security(support::identities::BRIDGE),
            config: hubin.clone(),
            broker: gw.device_addr.unwrap().to_string(),
            seed: 11,
            speed: Speed::Factor(speed),
            start: Some(start),
            duration: Some(Duration::from_secs(86_400)),
            ..Default::default()
        },
        clock,
    )
    .await
    .unwrap();
    assert!(summary.delivered_all);
    let readings: u64 = ["footfall", "parking", "air", "energy", "fire"]
        .iter()
        .map(|k| summary.per_kind.get(*k).copied().unwrap_or(0))
        .sum();
    let m = gw.shared.metrics.clone();
    wait_for_async(
        Duration::from_secs(120),
        "the gateway to decide every reading",
        || (m.decided() >= readings).then_some(()),
    )
    .await;
    let fwd = gateway::forward::metrics::of(&gw.shared);
    assert_eq!(fwd.len(), 1);
    let f = fwd[0].clone();
    let accepted = m.accepted.load(Relaxed);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while f.points_readings.load(Relaxed) < accepted {
        assert!(
            std::time::Instant::now() < deadline,
            "the forwarder sent {} of {accepted} readings:\n{}",
            f.points_readings.load(Relaxed),
            gateway::forward::metrics::render(&fwd)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The minute rollups of the whole day have gone out too (after the day the clock runs
    // on and keeps closing empty minutes; those are not compared).
    let day_end = start.timestamp_millis() + 86_400_000;
    let first_zone = d.zones[0].id.clone();
    wait_for_async(
        Duration::from_secs(120),
        "the day's rollups on the server",
        || {
            vm.export(&format!("zone_people{{zone=\"{first_zone}\"}}"))
                .first()
                .and_then(|s| s.timestamps.last().copied())
                .filter(|t| *t >= day_end)
                .map(|_| ())
        },
    )
    .await;
    gw.shutdown().await;

    let (store, stored) = store_readings(&data);
    assert_eq!(stored, accepted);
    assert!(
        stored > 150_000,
        "a day of Hubin is about 200k readings, got {stored}"
    );
    let server = wait_for(
        Duration::from_secs(60),
        "the server to show every point",
        || {
            let s = server_readings(&vm);
            (points(&s) >= points(&store)).then_some(s)
        },
    );
    assert_same(&store, &server, "raw readings");
    // Sent once: no retries, and the server received exactly what the store holds plus rollups.
    assert_eq!(f.points_readings.load(Relaxed), stored);
    assert_eq!(f.retries.load(Relaxed), 0);
    assert_eq!(f.lost_pruned.load(Relaxed), 0);
    assert_eq!(vm.rows_inserted() as usize, {
        // Every field of every point is one sample: readings, rollups and alert transitions.
        let readings_samples = points(&store) as usize;
        let rollup_samples: usize = vm
            .export("{__name__=~\"(zone|parking_lot|bay_flow|aqi|building|alert)_.+\"}")
            .iter()
            .map(|s| s.values.len())
            .sum();
        readings_samples + rollup_samples
    });

    // Derived series: people per zone and free per lot equal the store's minute rollups.
    let reader = gateway::store::Reader::open(&data).unwrap();
    let (from, to) = (start.timestamp_millis(), day_end);
    let mut compared = 0;
    for (entity, ids, metric, series) in [
        (
            "zone",
            d.zones.iter().map(|z| z.id.clone()).collect::<Vec<_>>(),
            "people",
            "zone_people",
        ),
        (
            "lot",
            d.lots.iter().map(|l| l.id.clone()).collect(),
            "free",
            "parking_lot_free",
        ),
    ] {
        let label = if entity == "zone" { "zone" } else { "lot" };
        for id in ids {
            let want: Vec<(i64, f64)> = reader
                .history(&d.id, entity, &id, metric, from, to, 60_000)
                .unwrap();
            let got = vm.export(&format!("{series}{{{label}=\"{id}\"}}"));
            assert_eq!(got.len(), 1, "{series} {id}");
            let got: Vec<(i64, f64)> = got[0]
                .timestamps
                .iter()
                .copied()
                .zip(got[0].values.iter().copied())
                .filter(|(t, _)| (from..=to).contains(t))
                .collect();
            if got != want {
                let i = got
                    .iter()
                    .zip(&want)
                    .position(|(a, b)| a != b)
                    .unwrap_or(got.len().min(want.len()));
                panic!(
                    "{series} of {id}: server {} minutes, store {}; first difference at {i}: server {:?}, store {:?}",
                    got.len(),
                    want.len(),
                    &got[i.min(got.len())..(i + 3).min(got.len())],
                    &want[i.min(want.len())..(i + 3).min(want.len())]
                );
            }
            compared += want.len();
        }
    }
    assert!(
        compared > 1000 * (d.zones.len() + d.lots.len()),
        "compared {compared}"
    );
}
