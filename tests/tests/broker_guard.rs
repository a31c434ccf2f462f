//! The embedded broker's front with identities (`[devices] credentials`): what each identity
//! may publish on the broker's port, plaintext and TLS.
//!
//! The gateway binary, with a reader, two devices and a bridge made by `gateway credentials`:
//! - the reader subscribes and is served the retained live topics and sign frames;
//! - the reader publishing a forged retained sign frame (`mosquitto_pub -r`) or `alerts/active`
//!   (rumqttc) is disconnected, counted as `forbidden_topic`, and a fresh subscriber still
//!   gets the gateway's own sign frame;
//! - a device publishing another device's reading on the broker is disconnected (counted as
//!   `not_your_topic`) and that bay does not change, while its own reading there is applied;
//! - a bridge publishing its device's reading over the TLS front is applied, and the live
//!   topics that reading changes reach the reader (the gateway's own sessions keep
//!   publishing);
//! - rumqttd's own port, on the loopback, takes no identity's password (only the front's).
//!
//! Real clients: rumqttc, `mosquitto_pub` and `mosquitto_sub`. Every wait is a bounded poll.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use rumqttc::{ConnectReturnCode, Packet, QoS};
use support::*;

/// `mosquitto_pub -q 1` with `args` (login, TLS, retain) on `port`; whether it exited 0 (the
/// publish was acknowledged).
fn mosquitto_pub_args(host: &str, port: u16, args: &[&str]) -> bool {
    Command::new("mosquitto_pub")
        .args(["-h", host, "-p", &port.to_string(), "-q", "1"])
        .args(args)
        .stderr(Stdio::null())
        .status()
        .expect("mosquitto_pub (apt-get install mosquitto-clients)")
        .success()
}

/// The retained message on `topic` as a fresh `mosquitto_sub` sees it (3 s at most). No
/// `-i`, as people type it: the client id is left to the broker, which gives one in the
/// identity's namespace.
fn retained(port: u16, login: (&str, &str), topic: &str) -> Option<String> {
    let out = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-u", login.0, "-P", login.1, "-t", topic])
        .args(["-C", "1", "-W", "3"])
        .stderr(Stdio::null())
        .output()
        .expect("mosquitto_sub (apt-get install mosquitto-clients)");
    (out.status.success() && !out.stdout.is_empty())
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `gateway_broker_publish_refused_total{reason=...}`.
fn refused(gw: &GatewayProc, reason: &str) -> f64 {
    gw.metrics()
        .get(&format!(
            "gateway_broker_publish_refused_total{{reason=\"{reason}\"}}"
        ))
        .copied()
        .unwrap_or(0.0)
}

/// rumqttd's own address, from the gateway's log (colour codes left out).
fn internal_port(gw: &GatewayProc) -> u16 {
    let mut log = String::new();
    let mut in_escape = false;
    for c in std::fs::read_to_string(&gw.log).unwrap().chars() {
        match (in_escape, c) {
            (false, '\u{1b}') => in_escape = true,
            (false, c) => log.push(c),
            (true, 'm') => in_escape = false,
            (true, _) => {}
        }
    }
    let line = log
        .lines()
        .find(|l| l.contains("embedded MQTT broker listening addr="))
        .expect("rumqttd's address in the log");
    let addr = line.rsplit("addr=").next().unwrap();
    let port: String = addr
        .rsplit(':')
        .next()
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    port.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_front_enforces_each_identitys_topics() {
    let dir = tempfile::tempdir().unwrap();
    // The file the test gateway is started with (`--credentials`), beside the test's own
    // identities ([`support::identities`]).
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let file = data.join(identities::FILE);
    let twin = add(&file, &["twin", "--role", "reader"]);
    let s1 = add(&file, &["ps-1", "--role", "device"]);
    add(&file, &["ps-2", "--role", "device"]);
    let lns = add(&file, &["lns", "--role", "bridge", "--devices", "ps-3"]);
    let certs = dir.path().join("certs");
    let made = tls::make_certs(&certs, &[]);
    let tls_port = free_port();
    let cfg = dir.path().join("gateway.toml");
    delivery_config(
        &cfg,
        &format!(
            "[broker]\ntls = {{ cert = {:?}, key = {:?} }}\ntls_listen = \"127.0.0.1:{tls_port}\"",
            made.server_cert.display().to_string(),
            made.server_key.display().to_string(),
        ),
    );
    let mqtt = free_port();
    let gw = GatewayProc::start(
        &cfg,
        &root().join("tests/fixtures/mini.toml"),
        &data,
        mqtt,
        free_port(),
        &chrono::Utc::now().to_rfc3339(),
        1.0,
        &dir.path().join("gateway.log"),
    );
    let sign = "district/mini/signs/s1";
    let active = "district/mini/alerts/active";
    let bays_topic = "district/mini/live/bays/p1";

    // The reader subscribes and is served the retained sign frame.
    let (reader, mut rx) = client(mqtt, "twin", Some(("twin", &twin)));
    assert_eq!(connack(&mut rx).await, ConnectReturnCode::Success);
    reader.subscribe(sign, QoS::AtLeastOnce).await.unwrap();
    let real_sign = next(&mut rx, |e| match e {
        Ok(Packet::Publish(p)) if p.topic == sign => {
            Some(String::from_utf8_lossy(&p.payload).into_owned())
        }
        Err(e) => panic!("the reader's connection ended: {e}"),
        _ => None,
    })
    .await;

    // A forged retained sign frame: the connection is closed before any PUBACK, and a fresh
    // subscriber gets the gateway's frame.
    let forged = mosquitto_pub_args(
        "127.0.0.1",
        mqtt,
        &[
            "-i",
            "twin-forger",
            "-u",
            "twin",
            "-P",
            &twin,
            "-r",
            "-t",
            sign,
            "-m",
            "FORGED",
        ],
    );
    assert!(!forged, "the reader's forged sign frame was acknowledged");
    let after = retained(mqtt, ("twin", &twin), sign).expect("the sign frame still retained");
    assert!(!after.contains("FORGED"), "{after}");
    assert!(
        serde_json::from_str::<serde_json::Value>(&after).is_ok(),
        "{after}"
    );
    assert!(!real_sign.contains("FORGED"));
    assert!(refused(&gw, "forbidden_topic") >= 1.0);

    // rumqttc as the reader, on alerts/active: disconnected, nothing forged is retained.
    let (forger, mut frx) = client(mqtt, "twin-2", Some(("twin", &twin)));
    assert_eq!(connack(&mut frx).await, ConnectReturnCode::Success);
    forger
        .publish(active, QoS::AtLeastOnce, true, "FORGED")
        .await
        .unwrap();
    next(&mut frx, |e| match e {
        Ok(Packet::PubAck(_)) => panic!("the forged alerts/active was acknowledged"),
        Err(_) => Some(()),
        _ => None,
    })
    .await;
    assert!(!retained(mqtt, ("twin", &twin), active).is_some_and(|m| m.contains("FORGED")));
    assert!(refused(&gw, "forbidden_topic") >= 2.0);

    // ps-1 on ps-2's topic through the broker: refused, bay G-2 untouched; its own reading
    // there is applied.
    let ts = now_ms();
    assert!(!mosquitto_pub(
        mqtt,
        "ps-1",
        ("ps-1", &s1),
        PS2,
        &bay(true, ts)
    ));
    assert!(refused(&gw, "not_your_topic") >= 1.0);
    assert!(mosquitto_pub(
        mqtt,
        "ps-1",
        ("ps-1", &s1),
        PS1,
        &bay(true, ts + 1)
    ));
    wait_for(Duration::from_secs(20), "ps-1's reading applied", || {
        bays(gw.http_port).starts_with('O').then_some(())
    });
    assert_ne!(
        bays(gw.http_port).chars().nth(1),
        Some('O'),
        "ps-1 moved G-2"
    );

    // The bridge, over the TLS front, for its device: applied, and the reader sees the live
    // bays the gateway publishes.
    reader
        .subscribe(bays_topic, QoS::AtLeastOnce)
        .await
        .unwrap();
    assert!(mosquitto_pub_args(
        "localhost",
        tls_port,
        &[
            "--cafile",
            made.ca_cert.to_str().unwrap(),
            "-i",
            "lns-1",
            "-u",
            "lns",
            "-P",
            &lns,
            "-t",
            PS3,
            "-m",
            &bay(true, now_ms()),
        ],
    ));
    next(&mut rx, |e| match e {
        Ok(Packet::Publish(p)) if p.topic == bays_topic => {
            let live: serde_json::Value = serde_json::from_slice(&p.payload).unwrap();
            live["states"]
                .as_str()
                .is_some_and(|s| s.ends_with('O'))
                .then_some(())
        }
        Err(e) => panic!("the reader's connection ended: {e}"),
        _ => None,
    })
    .await;
    assert!(bays(gw.http_port).ends_with('O'));
    // The bridge over TLS on a topic not its own: refused there too.
    assert!(!mosquitto_pub_args(
        "localhost",
        tls_port,
        &[
            "--cafile",
            made.ca_cert.to_str().unwrap(),
            "-i",
            "lns-1",
            "-u",
            "lns",
            "-P",
            &lns,
            "-r",
            "-t",
            sign,
            "-m",
            "FORGED",
        ],
    ));
    assert_eq!(
        retained(mqtt, ("twin", &twin), sign)
            .as_deref()
            .map(|m| m.contains("FORGED")),
        Some(false)
    );

    // rumqttd's own port takes no identity's password.
    let (_c, mut drx) = client(internal_port(&gw), "twin-3", Some(("twin", &twin)));
    next(&mut drx, |e| match e {
        Ok(Packet::ConnAck(a)) if a.code == ConnectReturnCode::Success => {
            panic!("rumqttd's own port let an identity in")
        }
        Ok(Packet::ConnAck(_)) | Err(_) => Some(()),
        _ => None,
    })
    .await;
    drop(gw);
}
