//! End to end, alerts: the real simulator drives the real gateway (embedded rumqttd, SQLite)
//! through a fire and a crowd surge in the Hubin district at 600× on one simulated clock.
//!
//! - The fire is one critical alert (one id for the building, however many detectors), on MQTT
//!   within a second of the first detector's message, with the zone's people in its context.
//! - A webhook receiver that is down at first gets it once it comes up (retries), and the
//!   delivery survives in the store.
//! - Nobody acknowledges: it escalates; an acknowledgement through the API stops that; the
//!   alert's history through the API shows every transition and the audit trail the action.
//! - The crowd surge is one alert for the zone whose severity rises medium → high → critical,
//!   once each, and it clears when the crowd has gone.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{free_port, http, root};

use chrono::DateTime;
use district::clock::Clock;
use district::contract::alert::{AlertMsg, Severity};
use gateway::alerts::webhook::{Format, WebhookSpec};
use gateway::config::GatewayConfig;
use rumqttc::{AsyncClient, Event, Packet, QoS};
use sensors_sim::{SimOptions, Speed};

const START: &str = "2026-11-23T09:00:00+08:00"; // a Monday
const SPEED: f64 = 600.0;

/// A webhook receiver on `port`: records every JSON body it is sent.
fn webhook_receiver(port: u16, got: Arc<Mutex<Vec<serde_json::Value>>>) {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        if let Ok(v) = serde_json::from_str(&body[..len]) {
                            got.lock().unwrap().push(v);
                        }
                        let _ = stream.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        );
                        break;
                    }
                }
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fire_and_crowd_alerts_reach_mqtt_webhooks_and_operators() {
    let dir = tempfile::tempdir().unwrap();
    let hubin = root().join("config/districts/hubin.toml");
    let d = district::load(&hubin).unwrap();
    let start = DateTime::parse_from_rfc3339(START).unwrap();
    let clock = Clock::simulated(start.to_utc(), SPEED);
    let hook_port = free_port();
    let mut cfg = GatewayConfig::default();
    cfg.devices.listen = "127.0.0.1:0".parse().unwrap();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.store.data_dir = dir.path().join("data");
    support::provision_admin(&cfg.store.data_dir);
    cfg.publish.min_interval_ms = 50;
    cfg.alerts.tick_ms = 50;
    cfg.alerts.webhooks = vec![WebhookSpec {
        name: "security-desk".into(),
        url: format!("http://127.0.0.1:{hook_port}/hook"),
        format: Format::Generic,
        secret: None,
        min_severity: Severity::High,
        escalation: 0,
        expire_after: Duration::from_secs(3600),
    }];
    let gw = support::identities::start_gateway(cfg, vec![d.clone()], clock)
        .await
        .unwrap();
    let port: u16 = gw.mqtt_addr.rsplit(':').next().unwrap().parse().unwrap();

    // A security client subscribed to every district's alerts and to the fire detectors.
    let mut o = support::identities::options(
        support::identities::READER,
        "security-desk",
        "127.0.0.1",
        port,
    );
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (sub, mut el) = AsyncClient::new(o, 1000);
    sub.subscribe("district/+/alerts", QoS::AtLeastOnce)
        .await
        .unwrap();
    sub.subscribe("district/+/sensors/fire/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    let seen: Arc<Mutex<Vec<(Instant, String, Vec<u8>)>>> = Arc::default();
    let seen2 = seen.clone();
    tokio::spawn(async move {
        while let Ok(ev) = el.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = ev {
                seen2
                    .lock()
                    .unwrap()
                    .push((Instant::now(), p.topic.clone(), p.payload.to_vec()));
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    let scenario = dir.path().join("drill.toml");
    std::fs::write(
        &scenario,
        r#"
[[events]]
at = "+5min"
kind = "fire"
building = "b05"
detectors = 3
clear_after = "25min"

[[events]]
at = "+10min"
kind = "crowd_surge"
zone = "fountain-plaza"
density = 5.5
ramp = "10min"
hold = "15min"
"#,
    )
    .unwrap();
    let opts = SimOptions {
        security: support::identities::client_security(support::identities::BRIDGE),
        config: hubin.clone(),
        // Through the broker, where this test also sees the detectors' messages (to time
        // the alert from the first alarm); the broker path ingests them as the device port does.
        broker: gw.mqtt_addr.clone(),
        seed: 3,
        speed: Speed::Factor(SPEED),
        start: Some(start),
        duration: Some(Duration::from_secs(75 * 60)),
        scenario: Some(scenario),
        ..Default::default()
    };
    let sim = tokio::spawn(sensors_sim::run(opts, clock));

    // Acknowledge the fire once it has escalated.
    let alerts = |seen: &Mutex<Vec<(Instant, String, Vec<u8>)>>| -> Vec<(Instant, AlertMsg)> {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|(_, t, _)| t.ends_with("/alerts"))
            .map(|(at, _, p)| (*at, serde_json::from_slice(p).unwrap()))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let (fire_id, acked_at) = loop {
        assert!(Instant::now() < deadline, "the fire alert did not escalate");
        if let Some((_, m)) = alerts(&seen)
            .into_iter()
            .find(|(_, m)| m.rule == "fire" && m.transition == "escalated")
        {
            let (status, body) = http(
                gw.http_addr,
                "POST",
                &format!("/api/v1/districts/hubin/alerts/{}/ack", m.id),
                r#"{"who":"消防值班 王工","note":"dispatching"}"#,
            );
            assert_eq!(status, 200, "{body}");
            break (m.id.clone(), Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let summary = sim.await.unwrap().unwrap();
    assert!(summary.delivered_all);
    // Let the last minutes settle (the crowd clears 5 simulated minutes after it has gone).
    tokio::time::sleep(Duration::from_millis(800)).await;

    let all = alerts(&seen);
    // Fire: one alert id, raised once, critical, within a second of the first alarm.
    let fire: Vec<&(Instant, AlertMsg)> = all.iter().filter(|(_, m)| m.rule == "fire").collect();
    assert!(
        fire.iter()
            .all(|(_, m)| m.id == fire_id && m.subject == "b05"),
        "one alert for the building"
    );
    assert_eq!(
        fire.iter()
            .filter(|(_, m)| m.transition == "raised")
            .count(),
        1
    );
    let (raised_at, raised) = fire.iter().find(|(_, m)| m.transition == "raised").unwrap();
    assert_eq!(raised.severity, Severity::Critical);
    assert!(
        raised.context["people_in_zone"].as_u64().is_some(),
        "{}",
        raised.context
    );
    assert!(raised.text.contains("火警"));
    let first_alarm = seen
        .lock()
        .unwrap()
        .iter()
        .find(|(_, t, p)| {
            t.contains("/sensors/fire/") && String::from_utf8_lossy(p).contains("alarm")
        })
        .map(|(at, _, _)| *at)
        .unwrap();
    let latency = raised_at.duration_since(first_alarm);
    assert!(
        latency < Duration::from_secs(1),
        "fire alert after {latency:?}"
    );
    assert!(
        fire.iter().any(|(_, m)| m.context["confirmed"] == true),
        "a second detector confirms it"
    );
    // The acknowledgement stopped the escalation.
    assert!(fire.iter().any(|(_, m)| m.transition == "acknowledged"));
    let late_escalations = fire
        .iter()
        .filter(|(at, m)| {
            m.transition == "escalated" && *at > acked_at + Duration::from_millis(100)
        })
        .count();
    assert_eq!(late_escalations, 0);
    assert!(
        fire.iter().any(|(_, m)| m.transition == "cleared"),
        "the fire clears when the detectors do"
    );

    // Crowd: one alert, medium → high → critical once each on the way up, cleared at the end.
    let crowd: Vec<&AlertMsg> = all
        .iter()
        .map(|(_, m)| m)
        .filter(|m| m.rule == "crowd" && m.subject == "fountain-plaza")
        .collect();
    assert!(!crowd.is_empty(), "no crowd alert");
    assert!(
        crowd.iter().all(|m| m.id == crowd[0].id),
        "one alert for the zone"
    );
    let mut rising = Vec::new();
    for m in crowd
        .iter()
        .filter(|m| m.transition == "raised" || m.transition == "severity")
    {
        if rising.last().is_none_or(|s| m.severity > *s) {
            rising.push(m.severity);
        } else {
            break;
        }
    }
    let brief: Vec<_> = crowd
        .iter()
        .map(|m| {
            (
                m.transition.clone(),
                m.severity,
                m.ts.clone(),
                m.context["density"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rising,
        [Severity::Medium, Severity::High, Severity::Critical],
        "{brief:#?}"
    );
    assert_eq!(crowd.last().unwrap().transition, "cleared");

    // The webhook receiver was down: it comes up now and gets the fire from the retries.
    let got: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    webhook_receiver(hook_port, got.clone());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ok = got
            .lock()
            .unwrap()
            .iter()
            .any(|v| v["id"] == fire_id && v["transition"] == "raised");
        if ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "webhook never received the fire alert"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // History and audit trail through the API.
    let (status, body) = http(
        gw.http_addr,
        "GET",
        &format!("/api/v1/districts/hubin/alerts/{fire_id}"),
        "",
    );
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let kinds: Vec<&str> = v["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["transition"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"raised"));
    for k in ["escalated", "acknowledged", "cleared"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    // The audit trail names the token's account; the body's `who` is kept in the note.
    assert_eq!(v["actions"][0]["who"], support::TEST_ADMIN);
    assert_eq!(v["actions"][0]["note"], "消防值班 王工: dispatching");
    let (status, _) = http(
        gw.http_addr,
        "POST",
        &format!("/api/v1/districts/hubin/alerts/{fire_id}/ack"),
        r#"{"who":"x"}"#,
    );
    assert_eq!(status, 404, "a cleared alert cannot be acknowledged");
    let counts: BTreeMap<String, i64> = gw
        .shared
        .alert_db
        .delivery_counts()
        .unwrap()
        .into_iter()
        .collect();
    assert!(
        counts.get("delivered").copied().unwrap_or(0) >= 1,
        "{counts:?}"
    );
    gw.shutdown().await;
}
