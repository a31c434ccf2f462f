//! Device identity: one credential per device on the device port, and the same files on an
//! external mosquitto.
//!
//! - The gateway binary, with `[devices] credentials` made by `gateway credentials`, refuses
//!   an anonymous device and a wrong password (CONNACK "bad user name or password"), refuses
//!   a client id of another identity without disturbing that identity's session, dead-letters
//!   a device's publish on another device's topic as `not_your_topic` (acknowledged, counted
//!   for the identity, never stored nor shown), refuses every publish of a reader, lets a
//!   bridge publish for its devices only, and stores what each device publishes on its own
//!   topic. A line added by `mosquitto_passwd` opens the device port.
//! - Debian's mosquitto, with the same password file and the ACL from `gateway credentials
//!   mosquitto-acl`, accepts the secrets the gateway wrote and drops a device's publish on
//!   another device's topic and a reader's publish (a subscriber never sees them).
//!
//! Real clients: rumqttc and `mosquitto_pub`. Every wait is a bounded poll on a condition.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rumqttc::{ConnectReturnCode, Packet, QoS};
use support::*;

/// (topic, detail) of every `not_your_topic` dead letter in the store.
fn not_your_topic_letters(data: &Path) -> Vec<(String, String)> {
    let db = rusqlite::Connection::open_with_flags(
        data.join(gateway::store::schema::FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut q = db
        .prepare(
            "SELECT topic, detail FROM deadletter WHERE reason = 'not_your_topic' ORDER BY rowid",
        )
        .unwrap();
    q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_port_enforces_each_devices_identity() {
    let dir = tempfile::tempdir().unwrap();
    // The file the test gateway is started with (`--credentials`), beside the test's own
    // identities.
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let file = data.join(identities::FILE);
    let s1 = add(&file, &["ps-1", "--role", "device"]);
    let s2 = add(&file, &["ps-2", "--role", "device"]);
    let twin = add(&file, &["twin", "--role", "reader"]);
    let sim = add(
        &file,
        &["sim", "--role", "bridge", "--devices", "fc-1,fc-2"],
    );
    // A line from mosquitto_passwd serves the gateway as well.
    let st = Command::new("mosquitto_passwd")
        .arg("-b")
        .arg(&file)
        .args(["ps-3", "from-mosquitto"])
        .status()
        .expect("mosquitto_passwd (apt-get install mosquitto)");
    assert!(st.success());
    let roles = data.join("devices.passwd.roles");
    let mut text = std::fs::read_to_string(&roles).unwrap();
    text.push_str("ps-3 device\n");
    std::fs::write(&roles, text).unwrap();
    let listed = credentials(&file, &["list"]);
    assert!(listed.contains("ps-3  device"), "{listed}");
    assert!(
        !listed.contains('$') && !listed.contains(&s1),
        "no hash, no secret: {listed}"
    );

    let cfg = dir.path().join("gateway.toml");
    delivery_config(
        &cfg,
        &format!("[devices]\ncredentials = {:?}", file.display().to_string()),
    );
    let gw = GatewayProc::start(
        &cfg,
        &root().join("tests/fixtures/mini.toml"),
        &data,
        free_port(),
        free_port(),
        &chrono::Utc::now().to_rfc3339(),
        1.0,
        &dir.path().join("gateway.log"),
    );
    let port = gw.device_port;

    // Anonymous, and a wrong password: refused with "bad user name or password".
    let (_c, mut rx) = client(port, "ps-1", None);
    assert_eq!(
        connack(&mut rx).await,
        ConnectReturnCode::BadUserNamePassword
    );
    let (_c, mut rx) = client(port, "ps-1", Some(("ps-1", &s2)));
    assert_eq!(
        connack(&mut rx).await,
        ConnectReturnCode::BadUserNamePassword
    );
    assert!(!mosquitto_pub(
        port,
        "ps-1",
        ("ps-1", "wrong"),
        PS1,
        &bay(true, now_ms())
    ));
    wait_for(Duration::from_secs(10), "3 bad credentials counted", || {
        (gw.metric("gateway_device_bad_credentials_total") >= 3.0).then_some(())
    });

    // ps-2 holds its session; ps-1 cannot take its client id, and ps-2 goes on.
    let (b, mut brx) = client(port, "ps-2", Some(("ps-2", &s2)));
    assert_eq!(connack(&mut brx).await, ConnectReturnCode::Success);
    let (_c, mut rx) = client(port, "ps-2", Some(("ps-1", &s1)));
    assert_eq!(connack(&mut rx).await, ConnectReturnCode::BadClientId);
    let (_c, mut rx) = client(port, "ps-2-spare", Some(("ps-1", &s1)));
    assert_eq!(connack(&mut rx).await, ConnectReturnCode::BadClientId);

    // ps-1 on ps-2's topic: acknowledged, dead-lettered, never applied.
    let (a, mut arx) = client(port, "ps-1-main", Some(("ps-1", &s1)));
    assert_eq!(connack(&mut arx).await, ConnectReturnCode::Success);
    let forged_ts = now_ms();
    a.publish(PS2, QoS::AtLeastOnce, false, bay(true, forged_ts))
        .await
        .unwrap();
    puback(&mut arx).await;
    // And on its own topic: stored and shown.
    let own_ts = now_ms() + 1;
    a.publish(PS1, QoS::AtLeastOnce, false, bay(true, own_ts))
        .await
        .unwrap();
    puback(&mut arx).await;
    wait_for(Duration::from_secs(20), "G-1 occupied in the API", || {
        bays(gw.http_port).starts_with('O').then_some(())
    });
    assert_ne!(
        bays(gw.http_port).chars().nth(1),
        Some('O'),
        "G-2 untouched"
    );
    let stored = stored_identities(&data);
    assert!(stored.contains_key(&("ps-1".to_string(), own_ts, None)));
    assert!(
        !stored.keys().any(|(d, _, _)| d == "ps-2"),
        "nothing stored for ps-2: {stored:?}"
    );
    let letters = not_your_topic_letters(&data);
    assert_eq!(
        letters,
        [(
            PS2.to_string(),
            "device \"ps-1\" does not publish for device \"ps-2\"".to_string()
        )]
    );
    assert_eq!(
        gw.metric("gateway_device_not_your_topic_total{identity=\"ps-1\"}"),
        1.0
    );

    // ps-2's session was not disturbed: it still publishes on its own.
    let b_ts = now_ms();
    b.publish(PS2, QoS::AtLeastOnce, false, bay(false, b_ts))
        .await
        .unwrap();
    puback(&mut brx).await;
    assert!(stored_identities(&data).contains_key(&("ps-2".to_string(), b_ts, None)));

    // A reader publishes nothing (acknowledged, refused); a bridge only for its devices.
    assert!(mosquitto_pub(
        port,
        "twin",
        ("twin", &twin),
        PS3,
        &bay(true, now_ms())
    ));
    assert!(mosquitto_pub(
        port,
        "sim-1",
        ("sim", &sim),
        PS3,
        &bay(true, now_ms())
    ));
    let fc_ts = now_ms();
    assert!(mosquitto_pub(
        port,
        "sim-1",
        ("sim", &sim),
        "district/mini/sensors/footfall/fc-1",
        &format!(r#"{{"ts":{fc_ts},"in":3,"out":1}}"#)
    ));
    // The device that mosquitto_passwd added publishes for itself.
    let ps3_ts = now_ms();
    assert!(mosquitto_pub(
        port,
        "ps-3",
        ("ps-3", "from-mosquitto"),
        PS3,
        &bay(true, ps3_ts)
    ));
    let stored = stored_identities(&data);
    assert!(stored.contains_key(&("fc-1".to_string(), fc_ts, None)));
    assert!(stored.contains_key(&("ps-3".to_string(), ps3_ts, None)));
    let letters = not_your_topic_letters(&data);
    assert_eq!(letters.len(), 3, "{letters:?}");
    assert!(letters[1].1.contains("\"twin\" is a reader"), "{letters:?}");
    assert!(letters[2]
        .1
        .contains("bridge \"sim\" does not publish for device \"ps-3\""));
    let m = gw.metrics();
    assert_eq!(
        m["gateway_device_not_your_topic_total{identity=\"twin\"}"],
        1.0
    );
    assert_eq!(
        m["gateway_device_not_your_topic_total{identity=\"sim\"}"],
        1.0
    );
    assert_eq!(m["gateway_rejects_total{reason=\"not_your_topic\"}"], 3.0);
    while let Ok(e) = brx.try_recv() {
        assert!(e.is_ok(), "ps-2's session ended: {e:?}");
    }
}

/// The embedded broker, where the twin, the signs and the desk subscribe, takes the same
/// identities: an anonymous subscriber and a wrong password are refused, a reader identity
/// is served the retained live state (which the gateway's own sessions, with their internal
/// secret, keep publishing), and nobody may take the gateway's client id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_broker_takes_the_same_identities() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let file = data.join(identities::FILE);
    let screen = add(&file, &["screen-1", "--role", "reader"]);
    let s1 = add(&file, &["ps-1", "--role", "device"]);
    let cfg = dir.path().join("gateway.toml");
    delivery_config(
        &cfg,
        &format!("[devices]\ncredentials = {:?}", file.display().to_string()),
    );
    let mqtt = free_port();
    let gw = GatewayProc::start(
        &cfg,
        &root().join("tests/fixtures/mini.toml"),
        &dir.path().join("data"),
        mqtt,
        free_port(),
        &chrono::Utc::now().to_rfc3339(),
        1.0,
        &dir.path().join("gateway.log"),
    );
    let summary = "district/mini/live/summary";

    // Anonymous and wrong-password subscribers get nothing: the connection is closed without
    // a CONNACK (by the gateway's front, as rumqttd does).
    for login in [
        None,
        Some(("screen-1", "wrong")),
        Some(("screen-1", s1.as_str())),
    ] {
        let (_c, mut rx) = client(mqtt, "screen-1", login);
        next(&mut rx, |e| match e {
            Ok(Packet::ConnAck(a)) => panic!("{login:?} was let in: {a:?}"),
            Err(_) => Some(()),
            _ => None,
        })
        .await;
    }
    let sub = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &mqtt.to_string(), "-t", summary])
        .args(["-C", "1", "-W", "3"])
        .output()
        .expect("mosquitto_sub (apt-get install mosquitto-clients)");
    assert!(
        !sub.status.success() && sub.stdout.is_empty(),
        "an anonymous mosquitto_sub was served: {}",
        String::from_utf8_lossy(&sub.stdout)
    );

    // The reader, with its own password: served the retained summary (mosquitto_sub too).
    let (c, mut rx) = client(mqtt, "screen-1", Some(("screen-1", &screen)));
    assert_eq!(connack(&mut rx).await, ConnectReturnCode::Success);
    c.subscribe(summary, QoS::AtLeastOnce).await.unwrap();
    next(&mut rx, |e| match e {
        Ok(Packet::Publish(p)) if p.topic == summary => Some(()),
        Err(e) => panic!("the reader's connection ended: {e}"),
        _ => None,
    })
    .await;
    let sub = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &mqtt.to_string(), "-t", summary])
        .args(["-i", "screen-1-desk", "-u", "screen-1", "-P", &screen])
        .args(["-C", "1", "-W", "10"])
        .output()
        .unwrap();
    assert!(
        sub.status.success() && String::from_utf8_lossy(&sub.stdout).contains("\"people_now\""),
        "mosquitto_sub as the reader: {} {}",
        String::from_utf8_lossy(&sub.stdout),
        String::from_utf8_lossy(&sub.stderr)
    );

    // The gateway's client id is nobody's to take; its sessions go on publishing.
    let (_c, mut taker) = client(
        mqtt,
        "smart-district-gateway-live",
        Some(("screen-1", &screen)),
    );
    next(&mut taker, |e| match e {
        Ok(Packet::ConnAck(a)) => panic!("the gateway's client id was taken: {a:?}"),
        Err(_) => Some(()),
        _ => None,
    })
    .await;
    let (d, mut drx) = client(gw.device_port, "ps-1", Some(("ps-1", &s1)));
    assert_eq!(connack(&mut drx).await, ConnectReturnCode::Success);
    d.publish(PS1, QoS::AtLeastOnce, false, bay(true, now_ms()))
        .await
        .unwrap();
    puback(&mut drx).await;
    let bays_topic = "district/mini/live/bays/p1";
    c.subscribe(bays_topic, QoS::AtLeastOnce).await.unwrap();
    next(&mut rx, |e| match e {
        Ok(Packet::Publish(p)) if p.topic == bays_topic => std::str::from_utf8(&p.payload)
            .unwrap()
            .contains('O')
            .then_some(()),
        Err(e) => panic!("the reader's connection ended: {e}"),
        _ => None,
    })
    .await;
    drop(gw);
}

/// Debian's mosquitto with a password file and an ACL file, on a loopback port.
struct SecuredMosquitto {
    child: std::process::Child,
    port: u16,
}

impl SecuredMosquitto {
    fn start(dir: &Path, passwd: &Path, acl: &Path) -> SecuredMosquitto {
        let port = free_port();
        let conf = dir.join("mosquitto.conf");
        // Run as root, mosquitto switches to its own user unless told otherwise, and could
        // not read the 0600 files.
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0"))
            .unwrap_or(false);
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\nacl_file {}\n{}log_dest file {}\n",
                passwd.display(),
                acl.display(),
                if as_root { "user root\n" } else { "" },
                dir.join("mosquitto.log").display()
            ),
        )
        .unwrap();
        let child = Command::new(
            ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
                .into_iter()
                .find(|p| Path::new(p).exists())
                .expect("mosquitto not found: apt-get install mosquitto"),
        )
        .arg("-c")
        .arg(&conf)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start mosquitto");
        wait_for(Duration::from_secs(20), "mosquitto to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port))
                .ok()
                .map(|_| ())
        });
        SecuredMosquitto { child, port }
    }
}

impl Drop for SecuredMosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The payloads `rx` has received so far on subscribed topics, waiting until `last` is
/// among them.
async fn payloads_until(rx: &mut Events, last: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let p = next(rx, |e| match e {
            Ok(Packet::Publish(p)) => Some(String::from_utf8_lossy(&p.payload).into_owned()),
            Err(e) => panic!("the subscriber's connection ended: {e}"),
            _ => None,
        })
        .await;
        let done = p == last;
        seen.push(p);
        if done {
            return seen;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_enforces_the_same_identities() {
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("devices.passwd");
    let s1 = add(&file, &["ps-1", "--role", "device"]);
    add(&file, &["ps-2", "--role", "device"]);
    let twin = add(&file, &["twin", "--role", "reader"]);
    credentials(&file, &["mosquitto-acl"]);
    let acl = dir.path().join("devices.passwd.acl");
    let mq = SecuredMosquitto::start(dir.path(), &file, &acl);

    // A wrong password is refused by mosquitto too.
    assert!(!mosquitto_pub(mq.port, "ps-1", ("ps-1", "wrong"), PS1, "x"));

    let (sub, mut srx) = client(mq.port, "twin", Some(("twin", &twin)));
    assert_eq!(connack(&mut srx).await, ConnectReturnCode::Success);
    sub.subscribe("district/#", QoS::AtLeastOnce).await.unwrap();
    next(&mut srx, |e| match e {
        Ok(Packet::SubAck(_)) => Some(()),
        _ => None,
    })
    .await;

    // ps-1 on ps-2's topic, then on its own: mosquitto acknowledges both (QoS 1) and drops the
    // first; the subscriber sees only the second.
    assert!(mosquitto_pub(
        mq.port,
        "ps-1",
        ("ps-1", &s1),
        PS2,
        "forged-by-ps-1"
    ));
    assert!(mosquitto_pub(mq.port, "ps-1", ("ps-1", &s1), PS1, "own-1"));
    assert_eq!(payloads_until(&mut srx, "own-1").await, ["own-1"]);
    // A reader publishes nothing.
    assert!(mosquitto_pub(
        mq.port,
        "twin-pub",
        ("twin", &twin),
        PS1,
        "forged-by-twin"
    ));
    assert!(mosquitto_pub(mq.port, "ps-1", ("ps-1", &s1), PS1, "own-2"));
    assert_eq!(payloads_until(&mut srx, "own-2").await, ["own-2"]);
}
