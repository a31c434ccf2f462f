//! Identities a test makes itself (the tests about identities): `gateway credentials` to
//! provision them, real clients (rumqttc, `mosquitto_pub`) that log in with them, and the
//! mini district's parking topics and bay states to see what a publish changed.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rumqttc::{AsyncClient, ConnectReturnCode, Event, MqttOptions, Packet};

use super::{gateway_bin, get_json};

/// `gateway credentials --file FILE ARGS...`; its standard output (it must succeed).
pub fn credentials(file: &Path, args: &[&str]) -> String {
    let out = Command::new(gateway_bin())
        .arg("credentials")
        .arg("--file")
        .arg(file)
        .args(args)
        .output()
        .expect("run gateway credentials");
    assert!(
        out.status.success(),
        "gateway credentials {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Adds an identity; its secret.
pub fn add(file: &Path, args: &[&str]) -> String {
    let mut all = vec!["add"];
    all.extend_from_slice(args);
    credentials(file, &all).trim().to_string()
}

/// `mosquitto_pub` at QoS 1, one message; whether it exited 0 (connected and acknowledged).
pub fn mosquitto_pub(
    port: u16,
    client_id: &str,
    login: (&str, &str),
    topic: &str,
    msg: &str,
) -> bool {
    Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q", "1"])
        .args(["-i", client_id, "-u", login.0, "-P", login.1])
        .args(["-t", topic, "-m", msg])
        .stderr(std::process::Stdio::null())
        .status()
        .expect("mosquitto_pub (apt-get install mosquitto-clients)")
        .success()
}

pub type Events = tokio::sync::mpsc::UnboundedReceiver<Result<Packet, String>>;

/// A rumqttc client; `events` gets every incoming packet, then the error that ended it.
pub fn client(port: u16, client_id: &str, login: Option<(&str, &str)>) -> (AsyncClient, Events) {
    let mut o = MqttOptions::new(client_id, "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(30));
    if let Some((u, p)) = login {
        o.set_credentials(u, p);
    }
    events(o)
}

/// A rumqttc client with options `o`, its event loop running; `events` gets every incoming
/// packet, then the error that ended it.
pub fn events(o: MqttOptions) -> (AsyncClient, Events) {
    let (c, mut el) = AsyncClient::new(o, 100);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(p)) => {
                    if tx.send(Ok(p)).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = tx.send(Err(format!("{e:?}")));
                    return;
                }
            }
        }
    });
    (c, rx)
}

/// The next event `pick` accepts (others skipped), within 10 s.
pub async fn next<T>(
    rx: &mut Events,
    mut pick: impl FnMut(&Result<Packet, String>) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("an event within 10 s")
            .expect("the client's event loop is running");
        if let Some(t) = pick(&got) {
            return t;
        }
    }
}

/// Connects and returns the CONNACK's code (rumqttc reports a refusal as an error).
pub async fn connack(rx: &mut Events) -> ConnectReturnCode {
    next(rx, |e| match e {
        Ok(Packet::ConnAck(a)) => Some(a.code),
        Err(e) if e.contains("ConnectionRefused") => Some(if e.contains("BadUserNamePassword") {
            ConnectReturnCode::BadUserNamePassword
        } else if e.contains("BadClientId") {
            ConnectReturnCode::BadClientId
        } else {
            ConnectReturnCode::NotAuthorized
        }),
        Err(e) => panic!("connection failed: {e}"),
        _ => None,
    })
    .await
}

/// The next PUBACK's packet id (the connection must not end first).
pub async fn puback(rx: &mut Events) -> u16 {
    next(rx, |e| match e {
        Ok(Packet::PubAck(a)) => Some(a.pkid),
        Err(e) => panic!("the connection ended: {e}"),
        _ => None,
    })
    .await
}

/// A parking bay's reading.
pub fn bay(occupied: bool, ts: i64) -> String {
    format!(r#"{{"ts":{ts},"occupied":{occupied}}}"#)
}

/// The wall clock, ms since the epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The bay states of lot p1 of the mini district ("G-1", "G-2", "G-3"), as the API shows them.
pub fn bays(http: u16) -> String {
    let addr = format!("127.0.0.1:{http}").parse().unwrap();
    get_json(addr, "/api/v1/districts/mini/lots/p1/bays")["states"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The mini district's parking sensors.
pub const PS1: &str = "district/mini/sensors/parking/ps-1";
pub const PS2: &str = "district/mini/sensors/parking/ps-2";
pub const PS3: &str = "district/mini/sensors/parking/ps-3";
