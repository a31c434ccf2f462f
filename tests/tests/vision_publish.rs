//! End to end: the OpenCV footfall counter's publishing side (no OpenCV needed: counts are fed
//! in as the video thread would) against a real gateway and a real broker.
//!
//! - The gateway takes the counter's readings as those of a counting camera: every reading is
//!   accepted (none dead-lettered) and the zone's people move by exactly what was counted.
//! - Through a connection that is cut twice and refused for a while, no count is lost and none
//!   is counted twice: readings sent again after a reconnect carry the same `seq` and `ts`, so
//!   the duplicate check drops them; health is published retained and ends `offline`.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{free_port, start_broker, subscribe};

use district::clock::Clock;
use district::contract::reading::{decode, Measurement};
use district::DeviceKind;
use footfall_vision::config::Tz;
use footfall_vision::health::{Health, StreamState};
use footfall_vision::publish::{self, PublisherConfig, Update};
use gateway::config::GatewayConfig;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

fn publisher(broker: String, district: &str, device: &str, interval_ms: u64) -> PublisherConfig {
    PublisherConfig {
        broker,
        security: support::identities::client_security(support::identities::BRIDGE),
        client_id: support::identities::client_id(
            support::identities::BRIDGE,
            &format!("vision-e2e-{device}"),
        ),
        district: district.into(),
        device: device.into(),
        interval: Duration::from_millis(interval_ms),
        health_interval: Duration::from_millis(100),
        tz: Tz::Fixed(chrono::FixedOffset::east_opt(8 * 3600).unwrap()),
        clock: Clock::wall(),
        first_seq: 1,
        flush_timeout: Duration::from_secs(10),
    }
}

fn health(device: &str, ins: u64, outs: u64) -> Update {
    Update::Health(Box::new(Health {
        ts: String::new(),
        device: device.into(),
        state: StreamState::Streaming,
        fps: 25.0,
        source_fps: Some(25.0),
        frames: 100,
        reconnects: 0,
        frame_ms: 10.0,
        tracks: 1,
        in_total: ins,
        out_total: outs,
        unpublished: 0,
        relearning: false,
        last_error: None,
    }))
}

async fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_takes_the_counter_for_a_counting_camera() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = GatewayConfig::default();
    cfg.devices.listen = "127.0.0.1:0".parse().unwrap();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.store.data_dir = dir.path().to_path_buf();
    let fixture =
        district::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mini.toml")).unwrap();
    let gw = support::identities::start_gateway(cfg, vec![fixture], Clock::wall())
        .await
        .unwrap();

    // fc-1 counts into zone `west`; the counter's video thread would send these as it counts.
    let (tx, rx) = mpsc::channel(publish::CHANNEL);
    let handle = publish::spawn(
        publisher(gw.device_addr.unwrap().to_string(), "mini", "fc-1", 150),
        rx,
    )
    .unwrap();
    let (mut ins, mut outs) = (0u64, 0u64);
    for i in 0..40u64 {
        let (a, b) = (1 + i % 3, i % 2);
        ins += a;
        outs += b;
        tx.try_send(Update::Counts { ins: a, outs: b }).unwrap();
        tx.try_send(health("fc-1", ins, outs)).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(tx);
    let summary = tokio::task::spawn_blocking(move || handle.join().unwrap())
        .await
        .unwrap();
    assert_eq!(summary.unpublished, 0, "{summary:?}");
    assert_eq!(summary.acked, summary.readings, "{summary:?}");
    assert!(summary.readings >= 2, "{summary:?}");

    let m = gw.shared.metrics.clone();
    wait_for("every reading accepted", 20, || {
        m.accepted.load(Ordering::Relaxed) >= summary.readings
    })
    .await;
    assert_eq!(m.accepted.load(Ordering::Relaxed), summary.readings);
    assert!(
        m.rejects().into_iter().all(|(_, n)| n == 0),
        "{:?}",
        m.rejects()
    );
    support::wait_until(
        Duration::from_secs(20),
        "the zone to take the counts",
        async || {
            (support::people(&gw, "mini", 0).await as i64 == ins as i64 - outs as i64).then_some(())
        },
    )
    .await;
}

/// A TCP proxy whose connections can be cut, and which can refuse connections for a while.
struct Proxy {
    addr: SocketAddr,
    cut: tokio::sync::broadcast::Sender<()>,
    refuse: Arc<AtomicBool>,
}

async fn proxy(to: SocketAddr) -> Proxy {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (cut, _) = tokio::sync::broadcast::channel::<()>(4);
    let refuse = Arc::new(AtomicBool::new(false));
    let (c, r) = (cut.clone(), refuse.clone());
    tokio::spawn(async move {
        loop {
            let (mut inbound, _) = listener.accept().await.unwrap();
            if r.load(Ordering::Relaxed) {
                let _ = inbound.shutdown().await;
                continue;
            }
            let mut stop = c.subscribe();
            tokio::spawn(async move {
                let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    _ = stop.recv() => {}
                }
            });
        }
    });
    Proxy { addr, cut, refuse }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_count_is_lost_or_doubled_across_connection_drops() {
    let broker = start_broker(65_536);
    let received = subscribe(broker, "vision-e2e-subscriber", "district/#").await;
    let px = proxy(broker).await;

    let (tx, rx) = mpsc::channel(publish::CHANNEL);
    let handle = publish::spawn(publisher(px.addr.to_string(), "hubin", "fc-07", 100), rx).unwrap();
    let (mut ins, mut outs) = (0u64, 0u64);
    for i in 0..150u64 {
        let (a, b) = (i % 4, (i + 1) % 3);
        ins += a;
        outs += b;
        tx.try_send(Update::Counts { ins: a, outs: b }).unwrap();
        if i % 10 == 0 {
            tx.try_send(health("fc-07", ins, outs)).unwrap();
        }
        match i {
            40 | 90 => {
                let _ = px.cut.send(());
            }
            100 => px.refuse.store(true, Ordering::Relaxed),
            115 => px.refuse.store(false, Ordering::Relaxed),
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    // The video thread's last word before it ends: the final totals.
    tx.try_send(health("fc-07", ins, outs)).unwrap();
    drop(tx);
    let summary = tokio::task::spawn_blocking(move || handle.join().unwrap())
        .await
        .unwrap();
    assert_eq!(summary.unpublished, 0, "{summary:?}");
    assert!(summary.connects >= 3, "the connection was cut: {summary:?}");

    tokio::time::sleep(Duration::from_millis(500)).await;
    let msgs = received.lock().unwrap().clone();
    let topic = "district/hubin/sensors/footfall/fc-07";
    // Unique readings by (seq, ts): a reading sent again after a reconnect is the same one.
    let mut unique: BTreeMap<u64, (i64, u32, u32)> = BTreeMap::new();
    for (t, p, _) in msgs.iter().filter(|m| m.0 == topic) {
        let r = decode(DeviceKind::Footfall, p).unwrap_or_else(|e| panic!("{t}: {e}"));
        let Measurement::Line { ins, outs } = r.value else {
            panic!("not a line reading")
        };
        let seq = r.seq.expect("the counter sends seq");
        if let Some(prev) = unique.insert(seq, (r.ts_ms, ins, outs)) {
            assert_eq!(
                prev,
                (r.ts_ms, ins, outs),
                "seq {seq} sent twice with different content"
            );
        }
    }
    let seqs: Vec<u64> = unique.keys().copied().collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "no seq missing"
    );
    let (got_in, got_out) = unique.values().fold((0u64, 0u64), |(a, b), (_, i, o)| {
        (a + *i as u64, b + *o as u64)
    });
    assert_eq!((got_in, got_out), (ins, outs), "every count arrived once");

    let health_topic = "district/hubin/vision/fc-07/health";
    let healths: Vec<serde_json::Value> = msgs
        .iter()
        .filter(|m| m.0 == health_topic)
        .map(|m| serde_json::from_slice(&m.1).unwrap())
        .collect();
    assert!(healths.len() >= 3);
    assert!(healths.iter().any(|h| h["state"] == "streaming"));
    let last = healths.last().unwrap();
    assert_eq!(last["state"], "offline", "{last}");
    assert_eq!(last["in_total"], ins);
}
