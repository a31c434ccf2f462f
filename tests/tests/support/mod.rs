//! The one test kit of the end-to-end tests (each test file says `mod support;`): free
//! loopback ports, HTTP requests, the embedded broker alone and a subscriber that keeps every
//! message, Debian's mosquitto as the external broker, a QoS 1 publisher counting PUBACKs,
//! real servers started with temporary data folders and stopped by pid, the gateway as a
//! separate process (so it can be killed), and the store read back by reading identity or
//! compared with the server series by series. One file per job:
//! - this file: ports, waits, HTTP (every request with the test admin's bearer token, see
//!   [`provision_admin`]), signals;
//! - [`identities`]: the test's device and subscriber identities (authentication is on in
//!   every test gateway);
//! - [`gateway_proc`]: the gateway binary and its process, its delivery-test configuration;
//! - [`login`]: identities a test makes with `gateway credentials`, clients that log in with
//!   them, the mini district's parking topics;
//! - [`mqtt`]: the embedded broker alone, a subscriber, mosquitto, a QoS 1 publisher;
//! - [`store`]: what the store holds, by reading identity;
//! - [`vm`]: VictoriaMetrics and the store compared with it series by series.
//!
//! - VictoriaMetrics (Debian `victoria-metrics`) stands in for InfluxDB: it accepts
//!   `/api/v2/write` and names each series `{measurement}_{field}`; read back through
//!   `/api/v1/export`.
//! - The gateway binary: `target/debug/gateway` under `CARGO_TARGET_DIR` (or the workspace's
//!   `target/`), built once per test process with `cargo build -p gateway --bin gateway`
//!   (cargo holds its build lock only while compiling, not while tests run, so this does not
//!   wait on the `cargo test` that started us; it is a no-op when the binary is fresh).
#![allow(dead_code, unused_imports)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use gateway::forward::line::Field;
use gateway::forward::schema;

mod gateway_proc;
pub mod identities;
mod login;
mod mqtt;
mod store;
pub mod tls;
mod vm;

pub use gateway_proc::*;
pub use login::*;
pub use mqtt::*;
pub use store::*;
pub use vm::*;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A simulated start three days ago at 08:00 +08:00, so every timestamp is in the past for
/// the server (VictoriaMetrics drops samples more than two days in the future).
pub fn start_3_days_ago() -> DateTime<FixedOffset> {
    let tz = FixedOffset::east_opt(8 * 3600).unwrap();
    let day = (Utc::now() - chrono::Duration::days(3))
        .with_timezone(&tz)
        .date_naive();
    tz.from_local_datetime(&day.and_hms_opt(8, 0, 0).unwrap())
        .unwrap()
}

/// Polls `f` every 50 ms until it returns `Some`, or panics with `what` after `limit`.
pub fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Async [`wait_for`].
pub async fn wait_for_async<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// [`wait_for_async`] with an async condition (one that asks a district's owner, say).
pub async fn wait_until<T>(
    limit: Duration,
    what: &str,
    mut f: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// People in zone `zone` of district `d` now, asked of the district's owner.
pub async fn people(gw: &gateway::Gateway, d: &str, zone: usize) -> u32 {
    gw.shared
        .district(d)
        .expect("a served district")
        .owner
        .ask(move |c, _| c.state.zones[zone].people())
        .await
        .expect("the district's owner is running")
}

/// The name of the admin account every test gateway gets ([`provision_admin`]).
pub const TEST_ADMIN: &str = "test-admin";

/// The test admin's bearer token: new for each test process, the same for every gateway
/// that process starts.
pub fn admin_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(gateway::users::token::new_token)
}

/// Provisions the admin account [`TEST_ADMIN`] with [`admin_token`] for a test gateway whose
/// data folder is `data_dir` (its default users file, `users.toml` there), before it starts:
/// in-process with `cfg.store.data_dir`, [`GatewayProc`] does it for its data folder. The
/// support HTTP helpers send that token, so tests that call the API keep their meaning with
/// authentication on.
pub fn provision_admin(data_dir: &Path) {
    use gateway::users::{file, Account, ApiRole, TokenHash};
    let path = file::default_path(None, data_dir);
    let mut accounts = file::load_or_empty(&path).expect("the test gateway's users file");
    if accounts.get(TEST_ADMIN).is_some() {
        accounts.remove(TEST_ADMIN).unwrap();
    }
    accounts
        .add(Account {
            name: TEST_ADMIN.into(),
            role: ApiRole::Admin,
            hash: TokenHash::of(admin_token()),
            created: String::new(),
        })
        .unwrap();
    file::save(&path, &accounts).expect("write the test gateway's users file");
}

/// A plain HTTP/1.0 GET with the test admin's token (the server closes the connection after
/// the body, no chunking).
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\r\n",
        admin_token()
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_string()))
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Sends a signal by pid (`kill -SIG PID` through `sh`).
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -{sig} {pid}"))
        .status();
}

/// One HTTP/1.1 request with a JSON body (empty for none) and the test admin's token;
/// returns the status and the body.
pub fn http(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let auth = format!("Bearer {}", admin_token());
    http_with(addr, method, path, body, &[("Authorization", &auth)])
}

/// One HTTP/1.1 request with exactly the headers given besides Host, Content-Type,
/// Content-Length and Connection (no token unless given); returns the status, the headers
/// (lowercase names) and the body.
pub fn http_raw(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let out = String::from_utf8_lossy(&raw).into_owned();
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

/// [`http_raw`] without the response headers.
pub fn http_with(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let (status, _, body) = http_raw(addr, method, path, body, headers);
    (status, body)
}

/// `GET path` on the API at `addr`, asserting 200; the body as JSON.
pub fn get_json(addr: std::net::SocketAddr, path: &str) -> serde_json::Value {
    let (status, body) = http_json(addr, "GET", path, "");
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// [`http`], with the body parsed as JSON (`Null` when it is not JSON).
pub fn http_json(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let (status, body) = http(addr, method, path, body);
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// A WebSocket handshake on `path` with `headers` besides the upgrade's own; the HTTP status
/// it was answered with (101 when accepted; only the status line is read).
pub fn ws_handshake(addr: std::net::SocketAddr, path: &str, headers: &[(&str, &str)]) -> u16 {
    let mut all = vec![
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    all.extend_from_slice(headers);
    use std::io::BufRead;
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let extra: String = all.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}\r\n").unwrap();
    let mut line = String::new();
    std::io::BufReader::new(s).read_line(&mut line).unwrap();
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}
