//! Benchmark (ignored by default; run in release):
//! `cargo test --release -p district-tests --test influx_bench -- --ignored --nocapture`
//!
//! 1. Throughput: the simulator fills the store with a backlog (Hubin ×`BENCH_SCALE` (1), one
//!    simulated day, at `BENCH_FILL_RATE` (5,000) messages/s) while the VictoriaMetrics target is
//!    down; then the server starts and the forwarder drains the whole backlog. Points per
//!    second = points sent / time from the server's start to the last point.
//! 2. Drain after an outage at a realistic load: Hubin ×100 in real time (about 240 readings
//!    and 130 rollup points per second), the server stopped for `BENCH_OUTAGE_SECS` (600),
//!    restarted; the time until the backlog is gone while live traffic continues.

mod support;

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use district::clock::Clock;
use gateway::config::GatewayConfig;
use gateway::forward::ForwardTarget;
use sensors_sim::{SimOptions, Speed};
use support::*;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(data: &std::path::Path, vm: &Vm, fast_clock: bool) -> GatewayConfig {
    let mut cfg = GatewayConfig::default();
    cfg.devices.listen = "127.0.0.1:0".parse().unwrap();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.store.data_dir = data.to_path_buf();
    if fast_clock {
        cfg.ingest.max_future = Duration::from_secs(3650 * 86_400);
        cfg.ingest.max_future_state = Duration::from_secs(3650 * 86_400);
        cfg.ingest.max_late = Duration::from_secs(3650 * 86_400);
        cfg.publish.rollup_close_after = Duration::from_secs(6 * 3600);
    }
    let mut t = ForwardTarget::new("vm", &vm.url(), "district", "district");
    t.retry_max = Duration::from_secs(1);
    cfg.forward = vec![t];
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored in release"]
async fn forward_throughput_and_drain_after_an_outage() {
    let hubin = root().join("config/districts/hubin.toml");
    let base = district::load(&hubin).unwrap();

    // 1. Throughput of a full backlog.
    let scale = env("BENCH_SCALE", 1) as usize;
    let mut vm = Vm::start(false);
    tokio::task::block_in_place(|| vm.stop());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let start = start_3_days_ago();
    let clock = Clock::simulated(start.to_utc(), 1.0);
    let districts = district::scale::replicate(&base, scale);
    let gw = support::identities::start_gateway(config(&data, &vm, true), districts, clock)
        .await
        .unwrap();
    let summary = sensors_sim::run(
        SimOptions {
            security: support::identities::client_security(support::identities::BRIDGE),
            config: hubin.clone(),
            broker: gw.device_addr.unwrap().to_string(),
            seed: 31,
            speed: Speed::Max,
            // Under what the gateway ingests: the embedded broker must not get ahead of it.
            rate: Some(env("BENCH_FILL_RATE", 5_000) as u32),
            start: Some(start),
            duration: Some(Duration::from_secs(86_400)),
            scale,
            ..Default::default()
        },
        clock,
    )
    .await
    .unwrap();
    let readings: u64 = ["footfall", "parking", "air", "energy", "fire"]
        .iter()
        .map(|k| summary.per_kind.get(*k).copied().unwrap_or(0))
        .sum();
    let m = gw.shared.metrics.clone();
    wait_for_async(Duration::from_secs(60), "ingest", || {
        (m.decided() >= readings).then_some(())
    })
    .await;
    let accepted = m.accepted.load(Relaxed);
    let f = gateway::forward::metrics::of(&gw.shared)[0].clone();
    let before = f.points();
    let bytes_before = f.bytes.load(Relaxed);
    tokio::task::block_in_place(|| vm.restart());
    let t0 = Instant::now();
    wait_for_async(Duration::from_secs(1800), "the backlog to drain", || {
        (f.points_readings.load(Relaxed) >= accepted).then_some(())
    })
    .await;
    let secs = t0.elapsed().as_secs_f64();
    let sent = f.points() - before;
    let mb = (f.bytes.load(Relaxed) - bytes_before) as f64 / 1e6;
    eprintln!(
        "THROUGHPUT: {accepted} readings in the backlog ({scale} districts, one day); {sent} points ({:.0} MB of line protocol) drained in {secs:.1} s = {:.0} points/s ({:.0} readings/s); batches {}",
        mb,
        sent as f64 / secs,
        accepted as f64 / secs,
        f.batches.load(Relaxed)
    );
    gw.shutdown().await;
    drop(vm);

    // 2. Drain after an outage at a realistic load.
    let outage = Duration::from_secs(env("BENCH_OUTAGE_SECS", 600));
    let scale = env("BENCH_LIVE_SCALE", 100) as usize;
    let mut vm = Vm::start(false);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let start = start_3_days_ago();
    let clock = Clock::simulated(start.to_utc(), 1.0);
    let districts = district::scale::replicate(&base, scale);
    let gw = support::identities::start_gateway(config(&data, &vm, false), districts, clock)
        .await
        .unwrap();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let sim = tokio::spawn(sensors_sim::run(
        SimOptions {
            security: support::identities::client_security(support::identities::BRIDGE),
            config: hubin.clone(),
            broker: gw.device_addr.unwrap().to_string(),
            seed: 32,
            speed: Speed::Factor(1.0),
            start: Some(start),
            scale,
            shutdown: Some(shutdown),
            ..Default::default()
        },
        clock,
    ));
    let f = gateway::forward::metrics::of(&gw.shared)[0].clone();
    let m = gw.shared.metrics.clone();
    tokio::time::sleep(Duration::from_secs(30)).await; // warm up: live traffic flowing
    let live_before = (m.accepted.load(Relaxed), Instant::now());
    tokio::task::block_in_place(|| vm.stop());
    let down = Instant::now();
    let mut peak = 0i64;
    while down.elapsed() < outage {
        peak = peak.max(f.backlog_readings.load(Relaxed));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let rate =
        (m.accepted.load(Relaxed) - live_before.0) as f64 / live_before.1.elapsed().as_secs_f64();
    let points_before = f.points();
    tokio::task::block_in_place(|| vm.restart());
    let t0 = Instant::now();
    wait_for_async(Duration::from_secs(1800), "the backlog to drain", || {
        peak = peak.max(f.backlog_readings.load(Relaxed));
        (f.backlog_readings.load(Relaxed) < 500
            && f.live_lane.load(Relaxed) == 0
            && t0.elapsed() > Duration::from_secs(2))
        .then_some(())
    })
    .await;
    let secs = t0.elapsed().as_secs_f64();
    let sent = f.points() - points_before;
    eprintln!(
        "DRAIN: {scale} districts live at {rate:.0} readings/s; outage {:.0} s; backlog peaked at {peak} readings; drained with live traffic in {secs:.1} s ({:.0}x faster than it built up); {sent} points sent meanwhile = {:.0} points/s; failures {:?}",
        outage.as_secs_f64(),
        outage.as_secs_f64() / secs,
        sent as f64 / secs,
        f.failures()
    );
    let _ = stop.send(true);
    let _ = sim.await;
    gw.shutdown().await;
}
