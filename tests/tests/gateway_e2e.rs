//! End to end: the gateway with its real embedded broker (rumqttd) and real SQLite store,
//! fed by real clients (rumqttc, Debian's mosquitto_pub/mosquitto_sub, Python paho-mqtt).
//! Every accepted reading is stored exactly once, duplicates are dropped, every malformed
//! message is dead-lettered with its reason, and retained live topics reach a late subscriber.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{free_port, http};

use district::clock::Clock;
use gateway::config::GatewayConfig;
use rumqttc::{AsyncClient, QoS};

fn fixture() -> district::District {
    district::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mini.toml")).unwrap()
}

async fn start(dir: &Path) -> gateway::Gateway {
    let mut cfg = GatewayConfig::default();
    cfg.devices.listen = "127.0.0.1:0".parse().unwrap();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.store.data_dir = dir.to_path_buf();
    support::provision_admin(&cfg.store.data_dir);
    cfg.publish.min_interval_ms = 50;
    // The bridge also publishes for "ghost", a device the district does not know, so that
    // its reading is refused by the district model (`unknown_device`), not by its identity.
    support::identities::secure_with(&mut cfg, &[fixture()], &["ghost"]);
    support::identities::start_gateway(cfg, vec![fixture()], Clock::wall())
        .await
        .unwrap()
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_are_stored_once_and_rejects_are_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path()).await;
    // Devices publish on the device port; subscribers read live topics from the broker.
    let port: u16 = gw.mqtt_addr.rsplit(':').next().unwrap().parse().unwrap();
    let dport = gw.device_addr.unwrap().port();
    let mut opts = support::identities::options(
        support::identities::BRIDGE,
        "e2e-device",
        "127.0.0.1",
        dport,
    );
    opts.set_max_packet_size(1 << 16, 1 << 16);
    let (client, mut el) = AsyncClient::new(opts, 1000);
    tokio::spawn(async move { while el.poll().await.is_ok() {} });

    // 100 line readings per counter, a minute apart, ending now; then the last 60 again (a QoS 1
    // redelivery, as a device that did not get its acks would send; the store refuses copies
    // by their identity).
    let now = chrono::Utc::now().timestamp_millis() / 60_000 * 60_000;
    let mut expected_west: i64 = 0;
    for round in 0..2 {
        for i in (if round == 0 { 0 } else { 40 })..100i64 {
            let ts = now - (99 - i) * 60_000;
            for (dev, ins, outs) in [("fc-1", 5 + i % 3, 2), ("fc-2", 1, i % 2)] {
                let p = format!(r#"{{"ts":{ts},"seq":{},"in":{ins},"out":{outs}}}"#, i + 1);
                if round == 0 {
                    expected_west += if dev == "fc-1" {
                        ins - outs
                    } else {
                        outs - ins
                    };
                }
                client
                    .publish(
                        format!("district/mini/sensors/footfall/{dev}"),
                        QoS::AtLeastOnce,
                        false,
                        p,
                    )
                    .await
                    .unwrap();
            }
        }
    }
    // Malformed messages, one of each kind of reject.
    let ts = now;
    let bad: Vec<(&str, String, &str)> = vec![
        (
            "district/mini/sensors/footfall/fc-1",
            "{not json".into(),
            "malformed",
        ),
        (
            "district/mini/sensors/footfall/fc-1",
            format!(r#"{{"ts":{ts},"in":"5","out":1}}"#),
            "malformed",
        ),
        (
            "district/mini/sensors/footfall/fc-1",
            format!(r#"{{"ts":{ts},"in":-5,"out":1}}"#),
            "out_of_range",
        ),
        (
            "district/mini/sensors/footfall/fc-1",
            format!(r#"{{"ts":{ts},"in":NaN,"out":1}}"#),
            "malformed",
        ),
        (
            "district/mini/sensors/footfall/ghost",
            format!(r#"{{"ts":{ts},"in":1,"out":1}}"#),
            "unknown_device",
        ),
        (
            "district/mini/sensors/air/fc-1",
            format!(r#"{{"ts":{ts},"pm25":3}}"#),
            "wrong_kind",
        ),
        (
            "district/mini/sensors/footfall/fc-1",
            format!(r#"{{"ts":{},"in":1,"out":1}}"#, ts + 86_400_000),
            "clock_skew",
        ),
        (
            "district/mini/sensors/footfall/fc-1",
            format!(r#"{{"ts":{ts},"count":4}}"#),
            "wrong_shape",
        ),
        (
            "district/mini/sensors/air/aq-1",
            format!(r#"{{"ts":{ts},"co":600}}"#),
            "out_of_range",
        ),
        (
            "district/mini/sensors/footfall/fc-1",
            format!(
                r#"{{"ts":{ts},"in":1,"out":1,"pad":"{}"}}"#,
                "x".repeat(5000)
            ),
            "oversized",
        ),
        (
            "district/other/sensors/footfall/fc-1",
            format!(r#"{{"ts":{ts},"in":1,"out":1}}"#),
            "unknown_district",
        ),
        (
            "district/mini/sensors/weather/fc-1",
            format!(r#"{{"ts":{ts},"in":1,"out":1}}"#),
            "unknown_kind",
        ),
    ];
    for (t, p, _) in &bad {
        client
            .publish(t.to_string(), QoS::AtLeastOnce, false, p.clone())
            .await
            .unwrap();
    }
    // A real client nobody here wrote: Debian's mosquitto_pub, and Python paho-mqtt.
    let st = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &dport.to_string(),
            "-q",
            "1",
            "-t",
            "district/mini/sensors/air/aq-1",
        ])
        .args(support::identities::mosquitto_args(
            support::identities::BRIDGE,
            "mosquitto-pub",
        ))
        .args([
            "-m",
            &format!(r#"{{"ts":{ts},"pm25":35,"pm10":60,"co2":640}}"#),
        ])
        .status()
        .expect("mosquitto_pub (apt install mosquitto-clients)");
    assert!(st.success());
    let paho = format!(
        "import paho.mqtt.publish as p; p.single('district/mini/sensors/fire/sd-1', '{{\"ts\":{ts},\"state\":\"normal\"}}', qos=1, hostname='127.0.0.1', port={dport}, client_id='{}', auth={{'username': '{}', 'password': '{}'}})",
        support::identities::client_id(support::identities::BRIDGE, "paho"),
        support::identities::BRIDGE,
        support::identities::secret(support::identities::BRIDGE),
    );
    let st = Command::new("/usr/bin/python3")
        .args(["-c", &paho])
        .status()
        .expect("python3 with paho-mqtt");
    assert!(st.success());

    let total = 320 + bad.len() as u64 + 2;
    let m = gw.shared.metrics.clone();
    wait_for("every message", || m.decided() >= total).await;
    assert_eq!(m.accepted.load(std::sync::atomic::Ordering::Relaxed), 202);
    assert_eq!(m.duplicates.load(std::sync::atomic::Ordering::Relaxed), 120);
    let mut want: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, _, r) in &bad {
        *want.entry(r).or_default() += 1;
    }
    let got: BTreeMap<&str, u64> = m.rejects().into_iter().collect();
    assert_eq!(got, want);

    // Live state and retained topics, seen by a late subscriber (mosquitto_sub).
    assert_eq!(
        support::people(&gw, "mini", 0).await as i64,
        expected_west.max(0)
    );
    let api = gw.http_addr;
    wait_for("the live zone topic", || {
        let out = Command::new("mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-t",
                "district/mini/live/zones/west",
            ])
            .args(support::identities::mosquitto_args(
                support::identities::READER,
                "mosquitto-sub",
            ))
            .args(["-C", "1", "-W", "2"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.contains(&format!("\"people\":{}", expected_west.max(0)))
    })
    .await;
    let body = http(api, "GET", "/api/v1/districts/mini/zones/west", "").1;
    assert!(
        body.contains(&format!("\"people\":{}", expected_west.max(0))),
        "{body}"
    );
    let metrics = http(api, "GET", "/metrics", "").1;
    assert!(
        metrics.contains("gateway_rejects_total{reason=\"oversized\"} 1"),
        "{metrics}"
    );

    gw.shutdown().await;
    let reader = gateway::store::Reader::open(dir.path()).unwrap();
    let counts: BTreeMap<String, i64> = reader
        .counts_per_device("mini")
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        counts.get("fc-1"),
        Some(&100),
        "each reading stored exactly once"
    );
    assert_eq!(counts.get("fc-2"), Some(&100));
    assert_eq!(counts.get("aq-1"), Some(&1));
    assert_eq!(counts.get("sd-1"), Some(&1));
    let dls: i64 = reader
        .deadletters_per_reason()
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(dls, bad.len() as i64);

    // A restart rebuilds the live state from the store, and a redelivery after it is still a duplicate.
    let gw = start(dir.path()).await;
    assert_eq!(
        support::people(&gw, "mini", 0).await as i64,
        expected_west.max(0)
    );
    assert_eq!(
        gw.shared
            .metrics
            .replayed
            .load(std::sync::atomic::Ordering::Relaxed),
        202
    );
    gw.shutdown().await;
}
