//! Every test gateway runs with device identities on, as `gateway run` requires by default:
//! [`secure`] (in-process) and [`GatewayProc`](super::GatewayProc) (its own process) write a
//! credentials file with two identities and point the gateway at it:
//! - [`BRIDGE`], a bridge for every device of the test's districts (and any extra device ids
//!   a test names): the test's publishers, the simulator, `mosquitto_pub` and paho connect as
//!   it, with client ids `test-bridge-...`;
//! - [`READER`], a reader: the test's subscribers connect as it, with client ids
//!   `test-reader-...`.
//!
//! Their secrets are fixed per test process, so a gateway restarted by a test, and every
//! client, use the same ones. Tests about identities themselves (`device_identity.rs`)
//! make their own.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gateway::auth::{provision, Identity, Role};
use gateway::config::GatewayConfig;

/// The identity of the test's devices and simulators.
pub const BRIDGE: &str = "test-bridge";
/// The identity of the test's subscribers.
pub const READER: &str = "test-reader";
/// The credentials file's name in a test gateway's data folder.
pub const FILE: &str = "devices.passwd";

/// The secret of `id` (one of [`BRIDGE`], [`READER`]): new for each test process.
pub fn secret(id: &str) -> &'static str {
    static BRIDGE_SECRET: OnceLock<String> = OnceLock::new();
    static READER_SECRET: OnceLock<String> = OnceLock::new();
    let cell = match id {
        BRIDGE => &BRIDGE_SECRET,
        READER => &READER_SECRET,
        other => panic!("no test identity \"{other}\""),
    };
    cell.get_or_init(gateway::auth::secret::new_secret)
}

/// A client id of `id`'s namespace: `{id}-{name}`, or `name` if it is in it already.
pub fn client_id(id: &str, name: &str) -> String {
    if name == id || name.starts_with(&format!("{id}-")) {
        name.to_string()
    } else {
        format!("{id}-{name}")
    }
}

/// Writes the test identities into `dir/devices.passwd`: [`BRIDGE`] for every device of
/// `districts` and `extra` device ids, [`READER`]; returns the file.
pub fn provision(dir: &Path, districts: &[district::District], extra: &[&str]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(FILE);
    let mut devices = provision::district_devices(districts);
    devices.extend(extra.iter().map(|s| s.to_string()));
    // A bridge needs at least one device; a test without districts still gets one.
    if devices.is_empty() {
        devices.insert("no-device".into());
    }
    let bridge = Identity::new(BRIDGE, Role::Bridge, devices).unwrap();
    provision::upsert_with(&path, bridge, secret(BRIDGE)).unwrap();
    let reader = Identity::new(READER, Role::Reader, BTreeSet::new()).unwrap();
    provision::upsert_with(&path, reader, secret(READER)).unwrap();
    path
}

/// Provisions the test identities in `cfg`'s data folder and points `[devices] credentials`
/// at them.
pub fn secure(cfg: &mut GatewayConfig, districts: &[district::District]) {
    secure_with(cfg, districts, &[]);
}

/// As [`secure`], the bridge also publishing for `extra` device ids (devices a test
/// publishes for that its district does not declare, to see them refused as unknown).
pub fn secure_with(cfg: &mut GatewayConfig, districts: &[district::District], extra: &[&str]) {
    cfg.devices.credentials = Some(provision(&cfg.store.data_dir, districts, extra));
}

/// The ids the simulator's `unknown_device` injections use (`ghost-000` … `ghost-999`), for
/// [`secure_with`]: a test that expects them refused as unknown to the district lets the
/// bridge publish for them.
pub fn ghosts() -> Vec<String> {
    (0..1000).map(|n| format!("ghost-{n:03}")).collect()
}

/// `id`'s username and password on a rumqttc client, with a client id of its namespace.
pub fn options(id: &str, name: &str, host: &str, port: u16) -> rumqttc::MqttOptions {
    let mut o = rumqttc::MqttOptions::new(client_id(id, name), host, port);
    o.set_credentials(id, secret(id));
    o
}

/// `mosquitto_pub` / `mosquitto_sub` arguments connecting as `id`: `-i CLIENT -u ID -P SECRET`.
pub fn mosquitto_args(id: &str, name: &str) -> Vec<String> {
    vec![
        "-i".into(),
        client_id(id, name),
        "-u".into(),
        id.into(),
        "-P".into(),
        secret(id).into(),
    ]
}

/// `id`'s password in a file (mode 0600) of this test process, for clients taking
/// `--password-file`.
pub fn password_file(id: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("district-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{id}.secret"));
    gateway::auth::file::write_private(&path, secret(id).as_bytes()).unwrap();
    path
}

/// A client's `ClientSecurity` connecting as `id` (the simulator, the twin, the counter).
pub fn client_security(id: &str) -> district::client::ClientSecurity {
    district::client::ClientSecurity {
        username: Some(id.into()),
        password_file: Some(password_file(id)),
        ..Default::default()
    }
}

/// Starts a test gateway in this process with the test identities ([`secure`]) unless the
/// test chose how clients authenticate (`[devices] credentials`, a `[broker]` username, or
/// `allow_anonymous` in a test named for it).
pub async fn start_gateway(
    mut cfg: GatewayConfig,
    districts: Vec<district::District>,
    clock: district::clock::Clock,
) -> anyhow::Result<gateway::Gateway> {
    if cfg.mqtt_admission().is_err() {
        secure(&mut cfg, &districts);
    }
    gateway::Gateway::start(cfg, districts, clock).await
}
