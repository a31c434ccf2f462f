//! The gateway as a separate process (so it can be killed): its binary, built once per test
//! process, its start and stop, its metrics, and the configuration of the delivery tests.

use super::*;

/// The gateway binary, built once per test process.
pub fn gateway_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("target"));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        // Without the variables cargo set for this test process (CARGO_PKG_NAME, ...): some
        // build scripts (ring's) rerun when they change, which would rebuild them on every
        // test run and again on every build outside.
        let mut build = Command::new(cargo);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if (k.starts_with("CARGO_") && k != "CARGO_HOME") || k == "OUT_DIR" {
                build.env_remove(&*k);
            }
        }
        let status = build
            .args(["build", "--locked", "-p", "gateway", "--bin", "gateway"])
            .current_dir(root())
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("run cargo build for the gateway binary");
        assert!(status.success(), "building the gateway binary failed");
        let bin = target.join("debug/gateway");
        assert!(bin.exists(), "{} not found after building", bin.display());
        bin
    })
    .clone()
}

/// A gateway running as its own process (so it can be killed with SIGKILL).
pub struct GatewayProc {
    pub child: Child,
    pub http_port: u16,
    /// The device port (`--device-addr`).
    pub device_port: u16,
    pub log: PathBuf,
}

impl GatewayProc {
    /// `gateway run --config CONFIG --district DISTRICT --data-dir DATA --mqtt-addr
    /// 127.0.0.1:MQTT --http-addr 127.0.0.1:HTTP --start START --speed SPEED`, waiting for
    /// its API to answer; its device port is on a free port. The test admin
    /// ([`provision_admin`]) is provisioned in DATA first, and the test identities
    /// ([`super::identities`], the bridge publishing for every device of DISTRICT) given with
    /// `--credentials` unless CONFIG sets how clients authenticate.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        config: &Path,
        district: &Path,
        data: &Path,
        mqtt_port: u16,
        http_port: u16,
        start: &str,
        speed: f64,
        log: &Path,
    ) -> GatewayProc {
        Self::start_on(
            config,
            district,
            data,
            [mqtt_port, http_port, free_port()],
            start,
            speed,
            log,
        )
    }

    /// As [`GatewayProc::start`], with the ports `[mqtt, http, device]` given (a restarted
    /// gateway keeps its device port, so devices reconnect to it).
    pub fn start_on(
        config: &Path,
        district: &Path,
        data: &Path,
        [mqtt_port, http_port, device_port]: [u16; 3],
        start: &str,
        speed: f64,
        log: &Path,
    ) -> GatewayProc {
        provision_admin(data);
        // The test identities, unless the config chose how clients authenticate.
        let cfg = gateway::config::GatewayConfig::load(config).expect("the test's config");
        let mut credentials = Vec::new();
        if cfg.mqtt_admission().is_err() {
            let d = district::load(district).expect("the test's district file");
            credentials.push("--credentials".into());
            credentials.push(super::identities::provision(data, &[d], &[]).into_os_string());
        }
        let child = Command::new(gateway_bin())
            .arg("run")
            .args(credentials)
            .arg("--config")
            .arg(config)
            .arg("--district")
            .arg(district)
            .arg("--data-dir")
            .arg(data)
            .arg("--mqtt-addr")
            .arg(format!("127.0.0.1:{mqtt_port}"))
            .arg("--http-addr")
            .arg(format!("127.0.0.1:{http_port}"))
            .arg("--device-addr")
            .arg(format!("127.0.0.1:{device_port}"))
            .arg("--start")
            .arg(start)
            .arg("--speed")
            .arg(speed.to_string())
            .env("RUST_LOG", "info,rumqttd=warn,rumqttc=warn")
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .unwrap(),
            )
            .spawn()
            .expect("start the gateway");
        let mut g = GatewayProc {
            child,
            http_port,
            device_port,
            log: log.to_path_buf(),
        };
        let port = http_port;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if matches!(http_get(port, "/healthz"), Ok((200, _))) {
                break;
            }
            if let Some(s) = g.child.try_wait().unwrap() {
                panic!(
                    "gateway exited with {s}: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "gateway API did not answer");
            std::thread::sleep(Duration::from_millis(50));
        }
        g
    }

    /// `/metrics`, parsed into name{labels} → value.
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        match http_get(self.http_port, "/metrics") {
            Ok((200, body)) => parse_metrics(&body),
            _ => BTreeMap::new(),
        }
    }

    /// One counter or gauge of `/metrics` (0 when absent or the API does not answer).
    pub fn metric(&self, name: &str) -> f64 {
        self.metrics().get(name).copied().unwrap_or(0.0)
    }

    /// SIGKILL: no drain, no flush.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGINT: the gateway drains and flushes, then exits.
    pub fn stop(&mut self) {
        signal(self.child.id(), "INT");
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.wait();
    }
}

impl Drop for GatewayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Prometheus text to `name{labels}` → value.
pub fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// Writes a gateway config for the delivery tests: `broker` is the `[broker]` section; no
/// reading is refused for its age or its clock (the simulated clocks start days ago).
pub fn delivery_config(path: &Path, broker: &str) {
    std::fs::write(
        path,
        format!(
            "instance = \"delivery-test\"\n{broker}\n\
             [ingest]\nmax_future = \"3650d\"\nmax_future_state = \"3650d\"\nmax_late = \"3650d\"\n\
             [publish]\nrollup_close_after = \"6h\"\n"
        ),
    )
    .unwrap();
}

/// The `[broker]` section of a gateway on the external broker at `port`, with a persistent
/// session under `client_id`.
pub fn external_broker(port: u16, client_id: &str) -> String {
    format!(
        "[broker]\nmode = \"external\"\nhost = \"127.0.0.1\"\nport = {port}\nclient_id = \"{client_id}\"\nmax_inflight = 2000"
    )
}

/// Waits until the gateway `gw` on the external broker at `port` has subscribed: publishes a
/// probe for an unknown device of district `district` until the gateway has received one
/// (the probe is dead-lettered as `unknown_device`).
pub async fn wait_subscribed(gw: &GatewayProc, port: u16, district: &str) {
    let probe = Publisher::connect(port, &format!("probe-{}", free_port()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while gw.metric("gateway_received_total") < 1.0 {
        assert!(
            Instant::now() < deadline,
            "the gateway never received the probe"
        );
        probe
            .publish(
                &format!("district/{district}/sensors/footfall/probe-device"),
                "{}".into(),
            )
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    probe.close().await;
}
