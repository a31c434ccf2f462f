//! The device port: devices publish to the gateway itself, and a PUBACK means stored.
//!
//! - Every PUBACK a device receives comes after its reading is in the store (checked after
//!   each one, one reading in flight at a time).
//! - With credentials configured, a device without them or with a wrong password is refused
//!   (mosquitto_pub's exit status); with them, QoS 2 from mosquitto_pub is stored once.
//! - A device cannot subscribe there, cannot forge the gateway's own topics (refused and
//!   dead-lettered, the retained alert list untouched), and its health messages are relayed
//!   to the broker.
//! - A message over the packet limit is dead-lettered as `oversized` and acknowledged, and the
//!   connection goes on; garbage bytes close only that connection; a second connection with
//!   a client id takes it over. The gateway keeps serving, and `/healthz` counts it all.

mod support;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use district::clock::Clock;
use gateway::config::GatewayConfig;
use rumqttc::{AsyncClient, MqttOptions, Packet, QoS, SubscribeReasonCode};
use support::*;

fn mini() -> district::District {
    district::load(root().join("tests/fixtures/mini.toml")).unwrap()
}

async fn start(dir: &Path, credentials: Option<(&str, &str)>) -> gateway::Gateway {
    let mut cfg = GatewayConfig::default();
    cfg.devices.listen = "127.0.0.1:0".parse().unwrap();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.store.data_dir = dir.to_path_buf();
    support::provision_admin(&cfg.store.data_dir);
    match credentials {
        // The `[broker]` pair, required of every client (one password for all).
        Some((u, p)) => {
            cfg.broker.username = Some(u.into());
            cfg.broker.password = Some(p.into());
        }
        None => support::identities::secure(&mut cfg, &[mini()]),
    }
    support::identities::start_gateway(cfg, vec![mini()], Clock::wall())
        .await
        .unwrap()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn footfall(seq: u64, ts: i64) -> String {
    format!(r#"{{"ts":{ts},"seq":{seq},"in":2,"out":1}}"#)
}

/// A device on the device port; `events` gets every incoming packet.
fn device(port: u16, id: &str, login: Option<(&str, &str)>) -> (AsyncClient, Events) {
    // With the `[broker]` pair as given, else as the test bridge.
    let mut o = match login {
        Some((u, p)) => {
            let mut o = MqttOptions::new(id, "127.0.0.1", port);
            o.set_credentials(u, p);
            o
        }
        None => support::identities::options(support::identities::BRIDGE, id, "127.0.0.1", port),
    };
    o.set_max_packet_size(1 << 20, 1 << 20);
    o.set_inflight(1);
    events(o)
}

fn puback(p: &Result<Packet, String>) -> Option<u16> {
    match p {
        Ok(Packet::PubAck(a)) => Some(a.pkid),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_puback_comes_after_the_reading_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path(), None).await;
    let (client, mut rx) = device(gw.device_addr.unwrap().port(), "fc-1-device", None);
    let t0 = now_ms() - 600_000;
    for seq in 1..=60u64 {
        let ts = t0 + seq as i64 * 1_000;
        client
            .publish(
                "district/mini/sensors/footfall/fc-1",
                QoS::AtLeastOnce,
                false,
                footfall(seq, ts),
            )
            .await
            .unwrap();
        next(&mut rx, puback).await;
        let held = stored_identities(dir.path());
        assert_eq!(
            held.get(&("fc-1".to_string(), ts, Some(seq))),
            Some(&1),
            "reading {seq} acknowledged before it was stored"
        );
    }
    // Counted accepted once the district's view shows them (within the owner's view interval).
    let m = gw.shared.metrics.clone();
    wait_for_async(Duration::from_secs(10), "60 readings accepted", || {
        (m.accepted.load(Relaxed) >= 60).then_some(())
    })
    .await;
    assert_eq!(m.accepted.load(Relaxed), 60);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_port_refuses_what_it_must_and_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let login = ("district-devices", "s3cret-pass");
    let gw = start(dir.path(), Some(login)).await;
    let dport = gw.device_addr.unwrap().port();
    let bport: u16 = gw.mqtt_addr.rsplit(':').next().unwrap().parse().unwrap();
    let m = gw.shared.metrics.clone();
    let ts = now_ms() - 60_000;
    let air = |ts: i64| format!(r#"{{"ts":{ts},"pm25":12,"pm10":20,"co2":500}}"#);

    // Debian's mosquitto_pub: no credentials, a wrong password, then the right ones at QoS 2.
    let pub_cmd = |extra: &[&str], payload: &str| {
        Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &dport.to_string(), "-t"])
            .arg("district/mini/sensors/air/aq-1")
            .args(["-m", payload])
            .args(extra)
            .output()
            .expect("mosquitto_pub (apt install mosquitto-clients)")
    };
    let anonymous = pub_cmd(&["-q", "1"], &air(ts));
    assert!(
        !anonymous.status.success(),
        "an anonymous device is refused"
    );
    let wrong = pub_cmd(&["-q", "1", "-u", login.0, "-P", "not-it"], &air(ts));
    assert!(!wrong.status.success(), "a wrong password is refused");
    let ok = pub_cmd(&["-q", "2", "-u", login.0, "-P", login.1], &air(ts));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(m.device_refused.load(Relaxed) >= 2);

    let (client, mut rx) = device(dport, "aq-1-device", Some(login));
    // Subscribing is refused: live topics are on the broker.
    client
        .subscribe("district/mini/live/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    let codes = next(&mut rx, |p| match p {
        Ok(Packet::SubAck(s)) => Some(s.return_codes.clone()),
        _ => None,
    })
    .await;
    assert_eq!(codes, vec![SubscribeReasonCode::Failure]);

    // Over the packet limit (64 KiB by default): dead-lettered, acknowledged, and the
    // connection goes on.
    let big = format!(r#"{{"ts":{ts},"pm25":1,"pad":"{}"}}"#, "x".repeat(200_000));
    client
        .publish(
            "district/mini/sensors/air/aq-1",
            QoS::AtLeastOnce,
            false,
            big,
        )
        .await
        .unwrap();
    next(&mut rx, puback).await;
    client
        .publish(
            "district/mini/sensors/air/aq-1",
            QoS::AtLeastOnce,
            false,
            air(ts + 1_000),
        )
        .await
        .unwrap();
    next(&mut rx, puback).await;

    // A forged alert list: refused and dead-lettered; a health message: relayed.
    let forged = r#"{"alerts":[],"forged":true}"#;
    client
        .publish(
            "district/mini/alerts/active",
            QoS::AtLeastOnce,
            true,
            forged,
        )
        .await
        .unwrap();
    next(&mut rx, puback).await;
    client
        .publish(
            "district/mini/vision/fc-1/health",
            QoS::AtLeastOnce,
            true,
            r#"{"fps":12.5}"#,
        )
        .await
        .unwrap();
    next(&mut rx, puback).await;
    let sub = |topic: &str| {
        let out = Command::new("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-p", &bport.to_string()])
            .args([
                "-u", login.0, "-P", login.1, "-t", topic, "-C", "1", "-W", "3",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let health = wait_for_async(
        Duration::from_secs(10),
        "the relayed health message",
        || {
            let got = sub("district/mini/vision/fc-1/health");
            got.contains("12.5").then_some(got)
        },
    )
    .await;
    assert!(health.contains("fps"));
    assert!(!sub("district/mini/alerts/active").contains("forged"));

    // Garbage on a new connection: that connection closes, nothing else does.
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", dport)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut rest = Vec::new();
    let _ = raw.read_to_end(&mut rest);
    assert!(m.device_protocol_errors.load(Relaxed) >= 1);

    // A second connection with the same client id takes it over.
    let (_second, mut rx2) = device(dport, "aq-1-device", Some(login));
    next(&mut rx2, |p| {
        matches!(p, Ok(Packet::ConnAck(_))).then_some(())
    })
    .await;
    next(&mut rx, |p| p.is_err().then_some(())).await;

    wait_for_async(Duration::from_secs(10), "every message decided", || {
        (m.decided() >= 4).then_some(())
    })
    .await;
    let rejects = m.rejects();
    assert_eq!(rejects.get("oversized"), Some(&1), "{rejects:?}");
    assert_eq!(rejects.get("forbidden_topic"), Some(&1), "{rejects:?}");
    assert_eq!(
        m.accepted.load(Relaxed),
        2,
        "the QoS 2 reading and the one after the big one"
    );
    let (status, body) = http(gw.http_addr, "GET", "/healthz", "");
    assert_eq!(status, 200);
    assert!(body.contains("\"status\":\"ok\""), "{body}");
    gw.shutdown().await;
    let reader = gateway::store::Reader::open(dir.path()).unwrap();
    let reasons: Vec<String> = reader
        .deadletters_per_reason()
        .unwrap()
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    assert_eq!(reasons, ["forbidden_topic", "oversized"]);
}
