//! TLS benchmark: readings into the gateway through the device port at QoS 1 (acknowledged
//! after commit), in plaintext and over TLS, with and without a credentials file, in the same
//! process and run. One publisher connection sends for every footfall line counter of the
//! district (a `bridge` identity when credentials are on).
//!
//! `cargo run --release -p gateway --example bench_tls -- [READINGS]` (default 100,000).
//! Prints readings/s of each variant and its ratio to plaintext without credentials.
//!
//! | variant | device port | the publisher gives |
//! |---|---|---|
//! | plain | TCP | nothing (anonymous) |
//! | plain + credentials | TCP, `credentials` | username and password |
//! | TLS + credentials | TLS (`client_ca` set) | CA, username and password |
//! | TLS + client certificate | TLS (`client_ca` set), `credentials` | CA and a certificate with CN = the bridge |

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use district::client::ClientSecurity;
use district::clock::Clock;
use district::contract::topic;
use gateway::auth::{Credentials, Identity, PasswordHash, Role};
use gateway::config::GatewayConfig;
use gateway::tls::TlsConfig;
use rumqttc::{AsyncClient, MqttOptions, QoS};

const BRIDGE: &str = "bench-bridge";
const PASSWORD: &str = "bench-password-1";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Publishes `n` footfall line readings round-robin over `devices` at QoS 1 with `security`;
/// the client's event loop task (abort it once everything is acknowledged).
async fn publish(
    port: u16,
    security: &ClientSecurity,
    devices: &[(String, String)],
    n: usize,
    base_ts: i64,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut o = MqttOptions::new(format!("{BRIDGE}-{port}"), "localhost", port);
    o.set_inflight(1000);
    o.set_max_packet_size(1 << 16, 1 << 16);
    security.apply(&mut o)?;
    let (client, mut el) = AsyncClient::new(o, 10_000);
    let poll = tokio::spawn(async move {
        loop {
            if let Err(e) = el.poll().await {
                eprintln!("publisher: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let topics: Vec<String> = devices
        .iter()
        .map(|(d, dev)| topic::sensor(d, district::DeviceKind::Footfall, dev))
        .collect();
    for i in 0..n {
        let k = i % topics.len();
        let seq = i / topics.len() + 1;
        let payload = format!(
            r#"{{"ts":{},"seq":{seq},"in":{},"out":{}}}"#,
            base_ts + seq as i64,
            i % 5,
            i % 3
        );
        client
            .publish(topics[k].clone(), QoS::AtLeastOnce, false, payload)
            .await?;
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(poll)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Variant {
    Plain,
    PlainCredentials,
    TlsCredentials,
    TlsClientCertificate,
}

/// Readings/s stored and acknowledged, and the readings stored.
async fn run(
    variant: Variant,
    certs: &Path,
    passwd: &Path,
    districts: Vec<district::District>,
    devices: &[(String, String)],
    n: usize,
    base_ts: i64,
) -> anyhow::Result<(f64, i64)> {
    let dir = tempfile::tempdir()?;
    let mut cfg = GatewayConfig::default();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse()?;
    cfg.devices.listen = "127.0.0.1:0".parse()?;
    cfg.http.listen = "127.0.0.1:0".parse()?;
    cfg.store.data_dir = dir.path().to_path_buf();
    let ca = certs.join("ca.pem");
    let mut security = ClientSecurity::default();
    if variant == Variant::Plain {
        // The reference of the ratios: anonymous plaintext, as the gateway allows only when
        // told to.
        cfg.devices.allow_anonymous = true;
    } else {
        cfg.devices.credentials = Some(passwd.to_path_buf());
    }
    if matches!(variant, Variant::PlainCredentials | Variant::TlsCredentials) {
        let pw = dir.path().join("password");
        std::fs::write(&pw, PASSWORD)?;
        security.username = Some(BRIDGE.into());
        security.password_file = Some(pw);
    }
    if matches!(
        variant,
        Variant::TlsCredentials | Variant::TlsClientCertificate
    ) {
        cfg.devices.tls = Some(TlsConfig {
            cert: certs.join("server.pem"),
            key: certs.join("server.key"),
            client_ca: Some(ca.clone()),
            require_client_cert: false,
        });
        security.cafile = Some(ca);
    }
    if variant == Variant::TlsClientCertificate {
        security.cert = Some(certs.join(format!("{BRIDGE}.pem")));
        security.key = Some(certs.join(format!("{BRIDGE}.key")));
    }
    let gw = gateway::Gateway::start(cfg, districts, Clock::wall()).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let port = gw.device_addr.expect("device port enabled").port();
    let m = gw.shared.metrics.clone();
    let t = Instant::now();
    let poll = publish(port, &security, devices, n, base_ts).await?;
    let deadline = Instant::now() + Duration::from_secs(600);
    while m.acks.load(Relaxed) < n as u64 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "{variant:?}: only {} of {n} acknowledged after 600 s",
            m.acks.load(Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let seconds = t.elapsed().as_secs_f64();
    poll.abort();
    gw.shutdown().await;
    let stored = gateway::store::Reader::open(dir.path())?.reading_count()?;
    Ok((n as f64 / seconds, stored))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let hubin = district::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/districts/hubin.toml"
    ))?;
    let devices: Vec<(String, String)> = hubin
        .devices
        .iter()
        .filter(|dev| matches!(dev.role, district::Role::FootfallLine { .. }))
        .map(|dev| (hubin.id.clone(), dev.id.clone()))
        .collect();
    let base_ts = chrono::Utc::now().timestamp_millis() - 3_600_000;

    let keep = tempfile::tempdir()?;
    let certs = keep.path().join("certs");
    gateway::tls::certs::init(&certs, &["localhost".into(), "127.0.0.1".into()])?;
    gateway::tls::certs::client(&certs, BRIDGE)?;
    let passwd = keep.path().join("devices.passwd");
    let mut creds = Credentials::default();
    let ids: BTreeSet<String> = devices.iter().map(|(_, d)| d.clone()).collect();
    creds.insert(
        Identity::new(BRIDGE, Role::Bridge, ids)?,
        PasswordHash::new(PASSWORD),
    )?;
    gateway::auth::file::save(&passwd, &creds)?;

    println!(
        "readings: {n}, devices publishing: {} over one connection, QoS 1, acknowledged after commit",
        devices.len()
    );
    let mut plain = None;
    for variant in [
        Variant::Plain,
        Variant::PlainCredentials,
        Variant::TlsCredentials,
        Variant::TlsClientCertificate,
    ] {
        let (rate, stored) = run(
            variant,
            &certs,
            &passwd,
            vec![hubin.clone()],
            &devices,
            n,
            base_ts,
        )
        .await?;
        let base = *plain.get_or_insert(rate);
        println!(
            "{variant:?}: {rate:.0} readings/s, ratio to plain {:.2}, stored {stored} of {n}",
            rate / base
        );
    }
    Ok(())
}
