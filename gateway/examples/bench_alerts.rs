//! Alert latency under load: the gateway (device port, store, district owners) ingests a
//! background load of footfall readings (default 20,000 readings/s; 0 = a burst, as fast as
//! the gateway acknowledges) while fire detectors go to alarm one building after another; the
//! latency from publishing the detector's message to receiving the alert's `raised`
//! transition on `district/{d}/alerts` (on the broker) is measured for each.
//!
//! `cargo run --release -p gateway --example bench_alerts -- [RATE] [FIRES] [device|broker]`
//! (the last: where the load and the detectors publish; default the device port).

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use district::clock::Clock;
use district::contract::alert::AlertMsg;
use district::contract::topic;
use district::{DeviceKind, Role};
use gateway::config::GatewayConfig;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn client(port: u16, id: &str) -> (AsyncClient, rumqttc::EventLoop) {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    o.set_inflight(1000);
    o.set_max_packet_size(1 << 20, 1 << 20);
    AsyncClient::new(o, 10_000)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let rate: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let fires: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(30);
    let via_broker = args.get(3).is_some_and(|a| a == "broker");
    let d = district::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/districts/hubin.toml"
    ))?;
    let dir = tempfile::tempdir()?;
    let mut cfg = GatewayConfig::default();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse()?;
    cfg.devices.listen = "127.0.0.1:0".parse()?;
    cfg.http.listen = "127.0.0.1:0".parse()?;
    cfg.store.data_dir = dir.path().to_path_buf();
    // The reference of this benchmark's ratios is anonymous (`bench_tls` measures what
    // identities and TLS cost).
    cfg.devices.allow_anonymous = true;
    let gw = gateway::Gateway::start(cfg, vec![d.clone()], Clock::wall()).await?;
    let port: u16 = gw.mqtt_addr.rsplit(':').next().unwrap().parse()?;
    let devices_port = if via_broker {
        port
    } else {
        gw.device_addr.expect("device port").port()
    };

    // The security desk.
    let (sub, mut sel) = client(port, "bench-desk");
    sub.subscribe(topic::alerts(&d.id), QoS::AtLeastOnce)
        .await?;
    let raised: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let r2 = raised.clone();
    tokio::spawn(async move {
        while let Ok(ev) = sel.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = ev {
                if let Ok(m) = serde_json::from_slice::<AlertMsg>(&p.payload) {
                    if m.rule == "fire" && m.transition == "raised" {
                        r2.lock()
                            .unwrap()
                            .entry(m.subject)
                            .or_insert_with(Instant::now);
                    }
                }
            }
        }
    });

    // Background load: footfall line readings at `rate` per second, paced every 10 ms.
    let lines: Vec<String> = d
        .devices
        .iter()
        .filter(|dev| matches!(dev.role, Role::FootfallLine { .. }))
        .map(|dev| topic::sensor(&d.id, DeviceKind::Footfall, &dev.id))
        .collect();
    let (load, mut lel) = client(devices_port, "bench-load");
    tokio::spawn(async move { while lel.poll().await.is_ok() {} });
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sent2 = sent.clone();
    tokio::spawn(async move {
        let start = Instant::now();
        let mut seq = 0u64;
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        while !s2.load(Relaxed) {
            let due = if rate == 0 {
                seq + 1_000
            } else {
                tick.tick().await;
                (start.elapsed().as_secs_f64() * rate as f64) as u64
            };
            while seq < due {
                let t = &lines[(seq as usize) % lines.len()];
                let ts = chrono::Utc::now().timestamp_millis();
                let p = format!(
                    r#"{{"ts":{ts},"seq":{},"in":1,"out":1}}"#,
                    seq / lines.len() as u64 + 1
                );
                let _ = load.publish(t.clone(), QoS::AtLeastOnce, false, p).await;
                seq += 1;
            }
            sent2.store(seq, Relaxed);
        }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Fires: one detector per building, a second apart.
    let detectors: Vec<(String, String)> = {
        let mut seen = std::collections::BTreeSet::new();
        d.devices
            .iter()
            .filter_map(|dev| match dev.role {
                Role::Fire { building } if seen.insert(building) => {
                    Some((d.buildings[building].id.clone(), dev.id.clone()))
                }
                _ => None,
            })
            .take(fires)
            .collect()
    };
    let (alarm, mut ael) = client(devices_port, "bench-detectors");
    tokio::spawn(async move { while ael.poll().await.is_ok() {} });
    let mut published: Vec<(String, Instant)> = Vec::new();
    let received_before = gw.shared.metrics.received.load(Relaxed);
    let t0 = Instant::now();
    let mut queue_max = 0i64;
    for (building, det) in &detectors {
        queue_max = queue_max.max(gw.shared.metrics.store_queue.load(Relaxed));
        let ts = chrono::Utc::now().timestamp_millis();
        let p = format!(r#"{{"ts":{ts},"state":"alarm"}}"#);
        published.push((building.clone(), Instant::now()));
        alarm
            .publish(
                topic::sensor(&d.id, DeviceKind::Fire, det),
                QoS::AtLeastOnce,
                false,
                p,
            )
            .await?;
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let ingest_rate = (gw.shared.metrics.received.load(Relaxed) - received_before) as f64 / elapsed;
    stop.store(true, Relaxed);
    let raised = raised.lock().unwrap().clone();
    let mut lat: Vec<f64> = published
        .iter()
        .filter_map(|(b, at)| {
            raised
                .get(b)
                .map(|r| r.duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let q = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "path: {}; background load offered: {}; ingested during the fires: {ingest_rate:.0} readings/s; store queue up to {queue_max} (sampled at each fire)",
        if via_broker { "embedded broker" } else { "device port" },
        if rate == 0 { "burst".to_string() } else { format!("{rate} readings/s") }
    );
    println!("fires: {}, alerts raised: {}", published.len(), lat.len());
    println!(
        "detector message → alert on MQTT: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        q(0.5),
        q(0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    gw.shutdown().await;
    Ok(())
}
