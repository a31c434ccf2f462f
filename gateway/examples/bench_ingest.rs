//! Ingest benchmark: readings into the gateway and its store at QoS 1, acknowledged only after
//! commit, through the device port and through the embedded broker, against the bare broker
//! pass-through (the same publisher into rumqttd and a subscriber that only counts), in the
//! same process and run.
//!
//! `cargo run --release -p gateway --example bench_ingest -- [READINGS] [SCALE] [RATE]`
//! (defaults 200,000 readings, scale 1, rate 0 = as fast as the publisher goes; a rate in
//! readings/s paces the publisher, for the arrival-to-commit latency at that load). Prints
//! readings/s of each path, its ratio to the bare broker, commit latency and peak RSS.

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
async fn publish(port: u16, devices: &[(String, String)], n: usize, base_ts: i64, rate: u64) {
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
    let started = Instant::now();
    for i in 0..n {
        if rate > 0 && i % 100 == 0 {
            let due = Duration::from_secs_f64(i as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
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

/// One path into the gateway.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Path {
    /// Devices on the device port.
    DevicePort,
    /// Devices on the embedded broker; the gateway's ingest session takes them from there.
    Broker,
}

/// What one gateway run measured.
struct Run {
    seconds: f64,
    accepted: u64,
    stored: i64,
    commits: u64,
    commit_mean_ms: f64,
    commit_max_ms: f64,
    p50_us: u64,
    p99_us: u64,
}

async fn gateway_run(
    path: Path,
    districts: Vec<district::District>,
    devices: &[(String, String)],
    n: usize,
    base_ts: i64,
    rate: u64,
) -> anyhow::Result<Run> {
    let dir = tempfile::tempdir()?;
    let mut cfg = GatewayConfig::default();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse()?;
    cfg.devices.listen = "127.0.0.1:0".parse()?;
    cfg.http.listen = "127.0.0.1:0".parse()?;
    cfg.store.data_dir = dir.path().to_path_buf();
    // The reference of this benchmark's ratios is anonymous (`bench_tls` measures what
    // identities and TLS cost).
    cfg.devices.allow_anonymous = true;
    let gw = gateway::Gateway::start(cfg, districts, Clock::wall()).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let port: u16 = match path {
        Path::DevicePort => gw.device_addr.expect("device port enabled").port(),
        Path::Broker => gw.mqtt_addr.rsplit(':').next().unwrap().parse()?,
    };
    let m = gw.shared.metrics.clone();
    let t = Instant::now();
    publish(port, devices, n, base_ts, rate).await;
    while m.acks.load(Relaxed) < n as u64 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let seconds = t.elapsed().as_secs_f64();
    while m.decided() < n as u64 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let commits = m.store_commits.load(Relaxed).max(1);
    let run = Run {
        seconds,
        accepted: m.accepted.load(Relaxed),
        stored: 0,
        commits,
        commit_mean_ms: m.store_commit_us_sum.load(Relaxed) as f64 / commits as f64 / 1000.0,
        commit_max_ms: m.store_commit_us_max.load(Relaxed) as f64 / 1000.0,
        p50_us: m.stored_latency.quantile_us(0.5),
        p99_us: m.stored_latency.quantile_us(0.99),
    };
    gw.shutdown().await;
    let stored = gateway::store::Reader::open(dir.path())?.reading_count()?;
    Ok(Run { stored, ..run })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let scale: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let rate: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(0);
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
    let bcfg = BrokerConfig {
        listen: format!("127.0.0.1:{}", free_port()).parse()?,
        ..Default::default()
    };
    let broker = gateway::broker::start_embedded(&bcfg, None)?;
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
    publish(broker.addr.port(), &devices, n, base_ts, rate).await;
    while count.load(Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let ref_s = t.elapsed().as_secs_f64();
    let rss_before = peak_rss_mib();

    println!(
        "readings: {n}, districts: {scale}, devices publishing: {}, rate: {}",
        devices.len(),
        if rate == 0 {
            "burst".to_string()
        } else {
            format!("{rate}/s")
        }
    );
    println!(
        "bare broker pass-through: {:.0} readings/s",
        n as f64 / ref_s
    );
    for path in [Path::DevicePort, Path::Broker] {
        let r = gateway_run(path, districts.clone(), &devices, n, base_ts, rate).await?;
        println!(
            "{path:?}: {:.0} readings/s stored and acknowledged, ratio to the bare broker {:.2}",
            n as f64 / r.seconds,
            ref_s / r.seconds
        );
        println!(
            "  accepted: {}, stored: {}, lost: {}; commits: {}, mean {:.2} ms, max {:.2} ms, rows per commit {:.0}",
            r.accepted,
            r.stored,
            n as i64 - r.stored,
            r.commits,
            r.commit_mean_ms,
            r.commit_max_ms,
            n as f64 / r.commits as f64
        );
        println!(
            "  arrival to commit: p50 <= {} us, p99 <= {} us (power-of-two bucket bounds)",
            r.p50_us, r.p99_us
        );
        println!(
            "  peak RSS of the process so far: {:.0} MiB",
            peak_rss_mib()
        );
    }
    println!(
        "peak RSS: {:.0} MiB (before the gateways started: {:.0} MiB)",
        peak_rss_mib(),
        rss_before
    );
    Ok(())
}
