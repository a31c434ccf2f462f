//! Exactly once, wherever a copy comes from: a reading's identity (device, event time, seq) is
//! a unique key of the store, so a second copy is refused however late it comes and however
//! many restarts lie between the two, and a refused copy never touches the live state.
//!
//! - A device that resends its last 1,000 readings after a reconnect (embedded broker).
//! - A copy arriving two simulated days and a restart after the first: a duplicate, not a
//!   late reading (the duplicate check comes before the lateness check).
//! - The gateway killed with SIGKILL and restarted three times in a row while a device
//!   publishes, the device on an external mosquitto, or on the gateway's own device port
//!   (a persistent session that resends what it has not seen acknowledged): the store holds
//!   each acknowledged reading once.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use district::clock::Clock;
use district::contract::time::format_millis;
use district::contract::topic;
use district::{DeviceKind, Role};
use gateway::config::GatewayConfig;
use support::*;

/// 2026-11-22T10:00:00+08:00.
const T0: i64 = 1_795_312_800_000;

/// A clock running at wall speed from `ms`.
fn clock_at(ms: i64) -> Clock {
    Clock::simulated(chrono::DateTime::from_timestamp_millis(ms).unwrap(), 1.0)
}

fn mini() -> district::District {
    district::load(root().join("tests/fixtures/mini.toml")).unwrap()
}

/// The gateway in this process with its embedded broker, on `clock`, storing in `dir`.
async fn start(dir: &Path, clock: Clock) -> (gateway::Gateway, u16) {
    let mut cfg = GatewayConfig::default();
    cfg.devices.listen = "127.0.0.1:0".parse().unwrap();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.store.data_dir = dir.to_path_buf();
    support::provision_admin(&cfg.store.data_dir);
    let gw = support::identities::start_gateway(cfg, vec![mini()], clock)
        .await
        .unwrap();
    let port = gw.device_addr.unwrap().port();
    (gw, port)
}

/// Accepted, duplicate and rejected readings so far (each counted once the store decided).
fn decided(gw: &gateway::Gateway) -> (u64, u64, BTreeMap<&'static str, u64>) {
    let m = &gw.shared.metrics;
    (
        m.accepted.load(Relaxed),
        m.duplicates.load(Relaxed),
        m.rejects(),
    )
}

async fn wait_decided(gw: &gateway::Gateway, n: u64) {
    let m = gw.shared.metrics.clone();
    wait_for_async(
        Duration::from_secs(60),
        &format!("{n} readings decided"),
        || (m.decided() >= n).then_some(()),
    )
    .await;
}

async fn people(gw: &gateway::Gateway, zone: usize) -> u32 {
    let d = gw.shared.districts[0].model.id.clone();
    support::people(gw, &d, zone).await
}

fn line(seq: u64, ts: i64, ins: u32) -> String {
    format!(r#"{{"ts":{ts},"seq":{seq},"in":{ins},"out":0}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_resending_its_last_1000_readings_is_stored_once_and_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, port) = start(dir.path(), clock_at(T0)).await;
    let t = topic::sensor("mini", DeviceKind::Footfall, "fc-1");
    let readings: Vec<(u64, i64)> = (1..=1_010u64)
        .map(|seq| (seq, T0 - 1_200_000 + seq as i64 * 1_000))
        .collect();

    let device = Publisher::connect(port, "fc-1");
    for &(seq, ts) in &readings[..1_000] {
        device.publish(&t, line(seq, ts, 1)).await;
    }
    device.wait_acked(1_000, Duration::from_secs(60)).await;
    wait_decided(&gw, 1_000).await;
    device.close().await;

    // After a reconnect the device resends its whole buffer, then carries on.
    let device = Publisher::connect(port, "fc-1");
    for &(seq, ts) in &readings {
        device.publish(&t, line(seq, ts, 1)).await;
    }
    device.wait_acked(1_010, Duration::from_secs(60)).await;
    wait_decided(&gw, 2_010).await;
    device.close().await;

    let (accepted, duplicates, rejects) = decided(&gw);
    assert_eq!(
        (accepted, duplicates),
        (1_010, 1_000),
        "rejects: {rejects:?}"
    );
    assert_eq!(
        people(&gw, 0).await,
        1_010,
        "each person entered once, whatever was resent"
    );
    gw.shutdown().await;
    let want = multiset(
        readings
            .iter()
            .map(|&(seq, ts)| ("fc-1".to_string(), ts, Some(seq))),
    );
    assert_stored_exactly(dir.path(), &want, "a device resending 1,000 readings");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_two_days_and_a_restart_later_is_a_duplicate_not_a_late_reading() {
    let dir = tempfile::tempdir().unwrap();
    let t = topic::sensor("mini", DeviceKind::Footfall, "fc-1");
    let first = line(1, T0 - 60_000, 3);

    let (gw, port) = start(dir.path(), clock_at(T0)).await;
    let device = Publisher::connect(port, "fc-1");
    device.publish(&t, first.clone()).await;
    wait_decided(&gw, 1).await;
    assert_eq!(decided(&gw).0, 1);
    assert_eq!(people(&gw, 0).await, 3);
    device.close().await;
    gw.shutdown().await;

    // Two days later (past the one-day late-data window) and after a restart, the same
    // reading comes again, then a new one just as old.
    let later = T0 + 2 * 86_400_000 + 3_600_000;
    let (gw, port) = start(dir.path(), clock_at(later)).await;
    let device = Publisher::connect(port, "fc-1");
    device.publish(&t, first).await;
    device.publish(&t, line(2, T0 - 30_000, 5)).await;
    wait_decided(&gw, 2).await;
    device.close().await;
    let (accepted, duplicates, rejects) = decided(&gw);
    assert_eq!((accepted, duplicates), (0, 1), "the copy is a duplicate");
    assert_eq!(
        rejects.get("too_late"),
        Some(&1),
        "the new old reading is late: {rejects:?}"
    );
    assert_eq!(
        people(&gw, 0).await,
        0,
        "neither the copy nor the late reading reached the live state"
    );
    let reader = gateway::store::Reader::open(dir.path()).unwrap();
    assert_eq!(
        reader.deadletters_per_reason().unwrap(),
        [("too_late".to_string(), 1)],
        "only the new reading is dead-lettered"
    );
    gw.shutdown().await;
    let want = multiset([("fc-1".to_string(), T0 - 60_000, Some(1))]);
    assert_stored_exactly(dir.path(), &want, "a copy two days later");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_kills_in_a_row_under_load_store_each_acknowledged_reading_once() {
    three_kills_under_load(Via::Mosquitto).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_kills_on_the_device_port_store_each_acknowledged_reading_once() {
    three_kills_under_load(Via::DevicePort).await;
}

/// How the device reaches the gateway.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Via {
    /// Through an external mosquitto, which keeps the gateway's persistent session.
    Mosquitto,
    /// On the gateway's device port, with a persistent session of its own.
    DevicePort,
}

async fn three_kills_under_load(via: Via) {
    let mq = (via == Via::Mosquitto).then(Mosquitto::start);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("gateway.log");
    let config = dir.path().join("gateway.toml");
    match &mq {
        Some(mq) => delivery_config(&config, &external_broker(mq.port, "gw-three-kills")),
        None => delivery_config(&config, ""),
    }
    let hubin = root().join("config/districts/hubin.toml");
    let d = district::load(&hubin).unwrap();
    let start = start_3_days_ago().timestamp_millis();
    // The same ports at every restart: the device reconnects where it was.
    let ports = [free_port(), free_port(), free_port()];
    let launch = || {
        GatewayProc::start_on(
            &config,
            &hubin,
            &data,
            ports,
            &format_millis(start),
            1.0,
            &log,
        )
    };
    let mut gw = tokio::task::block_in_place(launch);
    if let Some(mq) = &mq {
        wait_subscribed(&gw, mq.port, &d.id).await;
    }

    // One bridge publishes line counts for every line counter of the district, about 1,000
    // a second, until told to stop; it returns what it published.
    let counters: Vec<String> = d
        .devices
        .iter()
        .filter(|dev| matches!(dev.role, Role::FootfallLine { .. }))
        .map(|dev| dev.id.clone())
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = match &mq {
        Some(mq) => Publisher::connect(mq.port, "line-bridge"),
        None => Publisher::connect_persistent(gw.device_port, "line-bridge"),
    };
    let (district_id, stop_flag) = (d.id.clone(), stop.clone());
    let publishing = tokio::spawn(async move {
        let mut published = Vec::new();
        let mut seq = 0u64;
        while !stop_flag.load(Relaxed) {
            seq += 1;
            for dev in &counters {
                let ts = start - 3_600_000 + seq as i64 * 1_000;
                let t = topic::sensor(&district_id, DeviceKind::Footfall, dev);
                publisher.publish(&t, line(seq, ts, 1)).await;
                published.push((dev.clone(), ts, Some(seq)));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (publisher, published)
    });

    for round in 1..=3 {
        tokio::task::block_in_place(|| {
            wait_for(
                Duration::from_secs(120),
                "the gateway to store 500 readings since its start",
                || (gw.metric("gateway_acks_total") >= 500.0).then_some(()),
            )
        });
        tokio::task::block_in_place(|| gw.kill9());
        assert!(!publishing.is_finished(), "publishing at kill {round}");
        gw = tokio::task::block_in_place(launch);
    }
    tokio::task::block_in_place(|| {
        wait_for(
            Duration::from_secs(120),
            "500 more readings after the last restart",
            || (gw.metric("gateway_acks_total") >= 500.0).then_some(()),
        )
    });
    stop.store(true, Relaxed);
    let (publisher, published) = publishing.await.unwrap();
    publisher
        .wait_acked(published.len() as u64, Duration::from_secs(60))
        .await;
    publisher.close().await;
    tokio::task::block_in_place(|| wait_stored(&data, published.len()));
    let duplicates = gw.metric("gateway_duplicates_total");
    tokio::task::block_in_place(|| gw.stop());
    assert_stored_exactly(
        &data,
        &multiset(published.iter().cloned()),
        "three kills in a row",
    );
    eprintln!(
        "three kills ({via:?}): {} readings acknowledged, each stored once; {duplicates} copies refused after the last restart",
        published.len()
    );
}
