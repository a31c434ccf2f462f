//! TLS on the gateway's three listeners, with certificates made at test time by the code of
//! `gateway certs` (a CA, a server certificate for 127.0.0.1 and localhost, client
//! certificates with CN = a device id) and a credentials file written explicitly.
//!
//! - The device port (`[devices] tls` with `client_ca`): rumqttc trusting the CA publishes a
//!   reading with its identity's password and it is stored; a plaintext CONNECT is refused
//!   (the handshake fails; counted as a `tls` refusal); `mosquitto_pub --cafile` works; a
//!   client certificate whose CN is a device id publishes as that device without a password
//!   (rumqttc and `mosquitto_pub --cert --key`), and on another device's topic is refused as
//!   `not_your_topic`; a username that is not the certificate's CN is refused.
//! - The embedded broker's TLS listener (`[broker] tls` with `require_client_cert`):
//!   `mosquitto_sub --cafile --cert --key` gets a retained live message; without a client
//!   certificate, or in plaintext, it gets nothing.
//! - The API (`[http] tls`): HTTPS `GET /healthz` trusting the CA answers 200; plain HTTP
//!   gets no answer.
//!
//! Every wait is bounded.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use district::client::ClientSecurity;
use district::clock::Clock;
use gateway::auth::{Credentials, Identity, PasswordHash, Role};
use gateway::config::GatewayConfig;
use gateway::tls::{CertKey, TlsConfig};
use rumqttc::{AsyncClient, ConnectReturnCode, MqttOptions, Packet, QoS};
use support::*;

const PS1: &str = "district/mini/sensors/parking/ps-1";
const PS2: &str = "district/mini/sensors/parking/ps-2";
const BROKER_USER: &str = "subscriber";
const BROKER_PASS: &str = "broker-secret-1";

fn mini() -> district::District {
    district::load(root().join("tests/fixtures/mini.toml")).unwrap()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn bay(occupied: bool, ts: i64) -> String {
    format!(r#"{{"ts":{ts},"occupied":{occupied}}}"#)
}

/// A credentials file with devices ps-1 and ps-2, written as `gateway credentials` does.
fn credentials(path: &Path, ps2_password: &str) {
    let mut creds = Credentials::default();
    for (id, pw) in [("ps-1", "ps-1-password-never-used"), ("ps-2", ps2_password)] {
        creds
            .insert(
                Identity::new(id, Role::Device, BTreeSet::new()).unwrap(),
                PasswordHash::new(pw),
            )
            .unwrap();
    }
    gateway::auth::file::save(path, &creds).unwrap();
}

/// A rumqttc client with `security`; `events` gets every incoming packet, then the error
/// that ended it.
fn client(port: u16, client_id: &str, security: &ClientSecurity) -> (AsyncClient, Events) {
    let mut o = MqttOptions::new(client_id, "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(30));
    security.apply(&mut o).unwrap();
    events(o)
}

/// The first CONNACK's code, or the error that came instead, within 10 s.
async fn connack(rx: &mut Events) -> Result<ConnectReturnCode, String> {
    next(rx, |got| match got {
        Ok(Packet::ConnAck(a)) => Some(Ok(a.code)),
        Err(e) if e.contains("BadUserNamePassword") => {
            Some(Ok(ConnectReturnCode::BadUserNamePassword))
        }
        Err(e) => Some(Err(e.clone())),
        Ok(_) => None,
    })
    .await
}

/// `mosquitto_pub` (QoS 1, one message) with `args` (TLS, login); whether it exited 0.
fn mosquitto_pub(port: u16, args: &[&str], topic: &str, msg: &str) -> bool {
    Command::new("mosquitto_pub")
        .args(["-h", "localhost", "-p", &port.to_string(), "-q", "1"])
        .args(args)
        .args(["-t", topic, "-m", msg])
        .stderr(Stdio::null())
        .status()
        .expect("mosquitto_pub (apt-get install mosquitto-clients)")
        .success()
}

/// `mosquitto_sub` for one message on `filter` within 10 s, with `args`; what it printed.
fn mosquitto_sub(port: u16, args: &[&str], filter: &str) -> Option<String> {
    let out = Command::new("mosquitto_sub")
        .args(["-h", "localhost", "-p", &port.to_string()])
        .args(["-u", BROKER_USER, "-P", BROKER_PASS])
        .args(args)
        .args(["-t", filter, "-C", "1", "-W", "10", "-v"])
        .stderr(Stdio::null())
        .output()
        .expect("mosquitto_sub (apt-get install mosquitto-clients)");
    (out.status.success() && !out.stdout.is_empty())
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_on_the_device_port_the_broker_and_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let made = tls::make_certs(&certs, &["ps-1", "sub-1"]);
    let (ps1_cert, ps1_key) = (certs.join("ps-1.pem"), certs.join("ps-1.key"));
    let (sub_cert, sub_key) = (certs.join("sub-1.pem"), certs.join("sub-1.key"));
    let passwd = dir.path().join("devices.passwd");
    credentials(&passwd, "ps-2-secret");

    let mut cfg = GatewayConfig::default();
    cfg.store.data_dir = dir.path().join("data");
    provision_admin(&cfg.store.data_dir);
    cfg.devices.listen = "127.0.0.1:0".parse().unwrap();
    cfg.devices.credentials = Some(passwd);
    cfg.devices.tls = Some(TlsConfig {
        cert: made.server_cert.clone(),
        key: made.server_key.clone(),
        client_ca: Some(made.ca_cert.clone()),
        require_client_cert: false,
    });
    let broker_plain = free_port();
    cfg.broker.listen = format!("127.0.0.1:{broker_plain}").parse().unwrap();
    cfg.broker.username = Some(BROKER_USER.into());
    cfg.broker.password = Some(BROKER_PASS.into());
    cfg.broker.tls = Some(TlsConfig {
        cert: made.server_cert.clone(),
        key: made.server_key.clone(),
        client_ca: Some(made.ca_cert.clone()),
        require_client_cert: true,
    });
    cfg.broker.tls_listen = "127.0.0.1:0".parse().unwrap();
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.http.tls = Some(CertKey {
        cert: made.server_cert.clone(),
        key: made.server_key.clone(),
    });
    let data = cfg.store.data_dir.clone();
    let gw = gateway::Gateway::start(cfg, vec![mini()], Clock::wall())
        .await
        .unwrap();
    let port = gw.device_addr.unwrap().port();
    let broker_tls = gw.mqtt_tls_addr.unwrap().port();
    let http = gw.http_addr.port();
    let metrics = gw.shared.metrics.clone();
    let ca_only = ClientSecurity {
        cafile: Some(made.ca_cert.clone()),
        ..Default::default()
    };

    // rumqttc trusting the CA, with ps-2's password: its reading is stored.
    let pw_file = dir.path().join("ps-2.password");
    std::fs::write(&pw_file, "ps-2-secret\n").unwrap();
    let ps2 = ClientSecurity {
        username: Some("ps-2".into()),
        password_file: Some(pw_file),
        ..ca_only.clone()
    };
    let (c, mut rx) = client(port, "ps-2", &ps2);
    assert_eq!(connack(&mut rx).await, Ok(ConnectReturnCode::Success));
    let ts2 = now_ms();
    c.publish(PS2, QoS::AtLeastOnce, false, bay(true, ts2))
        .await
        .unwrap();
    puback(&mut rx).await;
    assert!(stored_identities(&data).contains_key(&("ps-2".to_string(), ts2, None)));
    c.disconnect().await.unwrap();

    // A plaintext CONNECT to the TLS port: the handshake fails, counted as a tls refusal.
    let refused_before = metrics.device_tls_refused.load(Relaxed);
    let (_c, mut rx) = client(port, "ps-2", &ClientSecurity::default());
    let plain = connack(&mut rx).await;
    assert!(plain.is_err(), "a plaintext CONNECT got {plain:?}");
    wait_for_async(Duration::from_secs(10), "the tls refusal counted", || {
        (metrics.device_tls_refused.load(Relaxed) > refused_before).then_some(())
    })
    .await;

    // mosquitto_pub trusting the CA, with ps-2's password.
    let ts = now_ms();
    assert!(mosquitto_pub(
        port,
        &[
            "--cafile",
            s(&made.ca_cert),
            "-i",
            "ps-2-mq",
            "-u",
            "ps-2",
            "-P",
            "ps-2-secret"
        ],
        PS2,
        &bay(false, ts),
    ));
    assert!(stored_identities(&data).contains_key(&("ps-2".to_string(), ts, None)));
    assert!(!mosquitto_pub(
        port,
        &["-i", "ps-2-mq", "-u", "ps-2", "-P", "ps-2-secret"],
        PS2,
        &bay(false, now_ms()),
    ));

    // A client certificate with CN = ps-1: ps-1 without a password, on its own topic only.
    let ps1 = ClientSecurity {
        cert: Some(ps1_cert.clone()),
        key: Some(ps1_key.clone()),
        ..ca_only.clone()
    };
    let (c, mut rx) = client(port, "ps-1", &ps1);
    assert_eq!(connack(&mut rx).await, Ok(ConnectReturnCode::Success));
    let ts1 = now_ms();
    c.publish(PS1, QoS::AtLeastOnce, false, bay(true, ts1))
        .await
        .unwrap();
    puback(&mut rx).await;
    assert!(stored_identities(&data).contains_key(&("ps-1".to_string(), ts1, None)));
    let forged = now_ms();
    c.publish(PS2, QoS::AtLeastOnce, false, bay(true, forged))
        .await
        .unwrap();
    puback(&mut rx).await;
    assert!(!stored_identities(&data).contains_key(&("ps-2".to_string(), forged, None)));
    assert_eq!(
        metrics.device_not_your_topic.lock().unwrap().get("ps-1"),
        Some(&1)
    );
    c.disconnect().await.unwrap();
    let ts = now_ms();
    assert!(mosquitto_pub(
        port,
        &[
            "--cafile",
            s(&made.ca_cert),
            "--cert",
            s(&ps1_cert),
            "--key",
            s(&ps1_key),
            "-i",
            "ps-1-mq",
        ],
        PS1,
        &bay(false, ts),
    ));
    assert!(stored_identities(&data).contains_key(&("ps-1".to_string(), ts, None)));
    // A username that is not the certificate's CN is refused.
    let (_c, mut rx) = client(
        port,
        "ps-2",
        &ClientSecurity {
            username: Some("ps-2".into()),
            ..ps1.clone()
        },
    );
    assert_eq!(
        connack(&mut rx).await,
        Ok(ConnectReturnCode::BadUserNamePassword)
    );

    // The broker over TLS with a required client certificate: retained live topics.
    let got = mosquitto_sub(
        broker_tls,
        &[
            "--cafile",
            s(&made.ca_cert),
            "--cert",
            s(&sub_cert),
            "--key",
            s(&sub_key),
        ],
        "district/mini/#",
    );
    assert!(
        got.as_deref()
            .is_some_and(|m| m.starts_with("district/mini/")),
        "{got:?}"
    );
    assert_eq!(
        mosquitto_sub(
            broker_tls,
            &["--cafile", s(&made.ca_cert)],
            "district/mini/#"
        ),
        None,
        "no client certificate: refused"
    );
    assert_eq!(
        mosquitto_sub(broker_tls, &[], "district/mini/#"),
        None,
        "plaintext: refused"
    );

    // The API over HTTPS only.
    let (status, body) =
        tokio::task::spawn_blocking(move || tls::https_get(http, "/healthz", &made.ca_cert))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(status, 200, "{body}");
    let plain = tokio::task::spawn_blocking(move || http_get(http, "/healthz"))
        .await
        .unwrap();
    assert!(
        !matches!(plain, Ok((200, _))),
        "plain HTTP answered: {plain:?}"
    );

    gw.shutdown().await;
}
