//! Ingest benchmark: readings through the embedded broker into the gateway and its store
//! (QoS 1, acknowledged only after commit), against the bare broker pass-through (the same
//! publisher into rumqttd and a subscriber that only counts), in the same process and run.
//!
//! `cargo run --release -p gateway --example bench_ingest -- [READINGS] [SCALE]`
//! (defaults 200,000 readings, scale 1). Prints readings/s of both, the ratio, commit
//! latency and peak RSS.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use district::clock::Clock;
use district::contract::topic;
use gateway::config::{BrokerConfig, GatewayConfig};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn peak_rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Publishes `n` footfall line readings round-robin over `devices` (district, device) at QoS 1.
async fn publish(port: u16, devices: &[(String, String)], n: usize, base_ts: i64) {
    let mut o = MqttOptions::new(format!("bench-pub-{port}"), "127.0.0.1", port);
    o.set_inflight(1000);
    o.set_max_packet_size(1 << 16, 1 << 16);
    let (client, mut el) = AsyncClient::new(o, 10_000);
    let poll = tokio::spawn(async move {
        loop {
            if el.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let topics: Vec<String> = devices
        .iter()
        .map(|(d, dev)| topic::sensor(d, district::DeviceKind::Footfall, dev))
        .collect();
    for i in 0..n {
        let k = i % topics.len();
        let seq = i / topics.len() + 1;
        let payload = format!(
            r#"{{"ts":{},"seq":{seq},"in":{},"out":{}}}"#,
            base_ts + seq as i64,
            i % 5,
            i % 3
        );
        client
            .publish(topics[k].clone(), QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
    }
    // Let the event loop drain its queue before the caller stops measuring.
    tokio::time::sleep(Duration::from_millis(10)).await;
    std::mem::forget(poll);
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let scale: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let hubin = district::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/districts/hubin.toml"
    ))?;
    let districts = district::scale::replicate(&hubin, scale);
    let devices: Vec<(String, String)> = districts
        .iter()
        .flat_map(|d| {
            d.devices
                .iter()
                .filter(|dev| matches!(dev.role, district::Role::FootfallLine { .. }))
                .map(|dev| (d.id.clone(), dev.id.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let base_ts = chrono::Utc::now().timestamp_millis() - 3_600_000;

    // Reference: bare broker pass-through to a counting subscriber.
    let mut bcfg = BrokerConfig::default();
    bcfg.listen = format!("127.0.0.1:{}", free_port()).parse()?;
    let broker = gateway::broker::start_embedded(&bcfg)?;
    let mut so = MqttOptions::new("bench-sub", "127.0.0.1", broker.addr.port());
    so.set_max_packet_size(1 << 16, 1 << 16);
    let (sub, mut sel) = AsyncClient::new(so, 10_000);
    sub.subscribe(topic::ALL_SENSORS, QoS::AtLeastOnce).await?;
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c2 = count.clone();
    tokio::spawn(async move {
        loop {
            match sel.poll().await {
                Ok(Event::Incoming(Packet::Publish(_))) => {
                    c2.fetch_add(1, Relaxed);
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    publish(broker.addr.port(), &devices, n, base_ts).await;
    while count.load(Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let ref_s = t.elapsed().as_secs_f64();

    // The gateway: embedded broker, pipeline, store; done when every reading is acknowledged
    // (committed).
    let dir = tempfile::tempdir()?;
    let mut cfg = GatewayConfig::default();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse()?;
    cfg.http.listen = "127.0.0.1:0".parse()?;
    cfg.store.data_dir = dir.path().to_path_buf();
    let rss_before = peak_rss_mib();
    let gw = gateway::Gateway::start(cfg, districts, Clock::wall()).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let port: u16 = gw.mqtt_addr.rsplit(':').next().unwrap().parse()?;
    let m = gw.shared.metrics.clone();
    let t = Instant::now();
    publish(port, &devices, n, base_ts).await;
    while m.acks.load(Relaxed) < n as u64 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let gw_s = t.elapsed().as_secs_f64();
    while m.decided() < n as u64 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let accepted = m.accepted.load(Relaxed);
    let commits = m.store_commits.load(Relaxed).max(1);
    let commit_mean_ms = m.store_commit_us_sum.load(Relaxed) as f64 / commits as f64 / 1000.0;
    let commit_max_ms = m.store_commit_us_max.load(Relaxed) as f64 / 1000.0;
    gw.shutdown().await;
    let stored = gateway::store::Reader::open(dir.path())?.reading_count()?;
    println!(
        "readings: {n}, districts: {scale}, devices publishing: {}",
        devices.len()
    );
    println!(
        "bare broker pass-through: {:.0} readings/s",
        n as f64 / ref_s
    );
    println!(
        "gateway (stored and acked): {:.0} readings/s",
        n as f64 / gw_s
    );
    println!("ratio: {:.2}", ref_s / gw_s);
    println!(
        "accepted: {accepted}, stored: {stored}, lost: {}",
        n as i64 - stored
    );
    println!(
        "commits: {commits}, mean {:.2} ms, max {:.2} ms, rows per commit {:.0}",
        commit_mean_ms,
        commit_max_ms,
        n as f64 / commits as f64
    );
    println!(
        "arrival to commit: p50 <= {} us, p99 <= {} us (power-of-two bucket bounds)",
        m.stored_latency.quantile_us(0.5),
        m.stored_latency.quantile_us(0.99)
    );
    println!(
        "peak RSS: {:.0} MiB (before the gateway started: {:.0} MiB)",
        peak_rss_mib(),
        rss_before
    );
    Ok(())
}
