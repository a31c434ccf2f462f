//! A server outage under load, with two targets: the gateway forwards a simulated day to two
//! VictoriaMetrics servers (no deduplication: a point sent twice would show twice). Server B
//! is stopped (by pid) while the simulator publishes and restarted later. While it is down,
//! A keeps receiving and B's backlog (size and age) rises and its failures are counted;
//! after the restart B drains its backlog alone, faster than real time, and the backlog
//! falls to zero. In the end both servers hold every accepted reading exactly once.

mod support;

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use district::clock::Clock;
use gateway::config::GatewayConfig;
use gateway::forward::ForwardTarget;
use sensors_sim::{SimOptions, Speed};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_server_down_under_load_catches_up_alone_with_nothing_missing_or_doubled() {
    let vm_a = Vm::start(false);
    let mut vm_b = Vm::start(false);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let hubin = root().join("config/districts/hubin.toml");
    let d = district::load(&hubin).unwrap();
    let start = start_3_days_ago();
    let speed = 2880.0;
    let clock = Clock::simulated(start.to_utc(), speed);
    let mut cfg = GatewayConfig::default();
    cfg.devices.listen = "127.0.0.1:0".parse().unwrap();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.store.data_dir = data.clone();
    cfg.publish.rollup_close_after = Duration::from_secs(6 * 3600);
    let target = |name: &str, vm: &Vm| {
        let mut t = ForwardTarget::new(name, &vm.url(), "district", "district");
        t.batch_age = Duration::from_millis(200);
        t.retry_min = Duration::from_millis(100);
        t.retry_max = Duration::from_millis(800);
        t.jitter_seed = Some(1);
        t
    };
    cfg.forward = vec![target("a", &vm_a), target("b", &vm_b)];
    let gw = support::identities::start_gateway(cfg, vec![d.clone()], clock)
        .await
        .unwrap();
    let fwd = gateway::forward::metrics::of(&gw.shared);
    let (a, b) = (fwd[0].clone(), fwd[1].clone());

    let sim = tokio::spawn(sensors_sim::run(
        SimOptions {
            security: support::identities::client_security(support::identities::BRIDGE),
            config: hubin.clone(),
            broker: gw.device_addr.unwrap().to_string(),
            seed: 12,
            speed: Speed::Factor(speed),
            start: Some(start),
            duration: Some(Duration::from_secs(86_400)),
            ..Default::default()
        },
        clock,
    ));

    // Under load: stop B once both are forwarding.
    wait_for_async(Duration::from_secs(60), "both targets to forward", || {
        (a.points_readings.load(Relaxed) > 5_000 && b.points_readings.load(Relaxed) > 5_000)
            .then_some(())
    })
    .await;
    tokio::task::block_in_place(|| vm_b.stop());
    let a_at_stop = a.points_readings.load(Relaxed);
    let down_since = Instant::now();
    let (mut max_backlog, mut max_age, mut a_backlog_max) = (0i64, 0i64, 0i64);
    // B stays down for 10 s wall (about 8 simulated hours) while the simulator publishes.
    while down_since.elapsed() < Duration::from_secs(10) {
        max_backlog = max_backlog.max(b.backlog_readings.load(Relaxed));
        max_age = max_age.max(b.backlog_age_ms.load(Relaxed));
        a_backlog_max = a_backlog_max.max(a.backlog_readings.load(Relaxed));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(b.up.load(Relaxed), 0, "B is down");
    let failures = b.failures();
    assert!(
        failures.get("connect").copied().unwrap_or(0) > 0,
        "{failures:?}"
    );
    assert!(b.retries.load(Relaxed) > 3);
    assert!(max_backlog > 10_000, "B's backlog rose: {max_backlog}");
    assert!(
        max_age > 3_600_000,
        "B's backlog aged (event time): {max_age} ms"
    );
    let a_during = a.points_readings.load(Relaxed) - a_at_stop;
    assert!(
        a_during > 10_000,
        "A kept receiving while B was down: {a_during}"
    );
    assert!(
        a_backlog_max < 10_000,
        "A did not fall behind: {a_backlog_max}"
    );
    assert!(a.failures().is_empty(), "{:?}", a.failures());

    tokio::task::block_in_place(|| vm_b.restart());
    let restarted = Instant::now();
    let summary = sim.await.unwrap().unwrap();
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
    let accepted = m.accepted.load(Relaxed);
    wait_for_async(Duration::from_secs(180), "B to catch up", || {
        (b.points_readings.load(Relaxed) >= accepted && a.points_readings.load(Relaxed) >= accepted)
            .then_some(())
    })
    .await;
    let drained_in = restarted.elapsed();
    wait_for_async(Duration::from_secs(30), "B's backlog gauge to fall", || {
        (b.backlog_readings.load(Relaxed) == 0).then_some(())
    })
    .await;
    assert_eq!(b.up.load(Relaxed), 1);
    eprintln!(
        "B: backlog peaked at {max_backlog} readings ({:.1} simulated h); drained with live traffic in {:.1} s; failures {:?}",
        max_age as f64 / 3.6e6,
        drained_in.as_secs_f64(),
        b.failures()
    );
    gw.shutdown().await;

    let (store, stored) = store_readings(&data);
    assert_eq!(stored, accepted);
    for (name, vm, f) in [("A", &vm_a, &a), ("B", &vm_b, &b)] {
        let server = wait_for(
            Duration::from_secs(60),
            "the server to show every point",
            || {
                let s = server_readings(vm);
                (points(&s) >= points(&store)).then_some(s)
            },
        );
        assert_same(&store, &server, name);
        assert_eq!(
            f.points_readings.load(Relaxed),
            stored,
            "{name} sent each reading once"
        );
        assert_eq!(f.lost_pruned.load(Relaxed), 0);
    }
}
