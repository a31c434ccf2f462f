//! The one test kit of the end-to-end tests (each test file says `mod support;`): free
//! loopback ports, HTTP requests, the embedded broker alone and a subscriber that keeps every
//! message, Debian's mosquitto as the external broker, a QoS 1 publisher counting PUBACKs,
//! real servers started with temporary data folders and stopped by pid, the gateway as a
//! separate process (so it can be killed), and the store read back by reading identity or
//! compared with the server series by series.
//!
//! - VictoriaMetrics (Debian `victoria-metrics`) stands in for InfluxDB: it accepts
//!   `/api/v2/write` and names each series `{measurement}_{field}`; read back through
//!   `/api/v1/export`.
//! - The gateway binary: `target/debug/gateway` under `CARGO_TARGET_DIR` (or the workspace's
//!   `target/`), built once per test process with `cargo build -p gateway --bin gateway`
//!   (cargo holds its build lock only while compiling, not while tests run, so this does not
//!   wait on the `cargo test` that started us; it is a no-op when the binary is fresh).
#![allow(dead_code)]

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

/// A plain HTTP/1.0 GET (the server closes the connection after the body, no chunking).
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
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

fn vm_binary() -> PathBuf {
    let p = std::env::var_os("VICTORIA_METRICS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/victoria-metrics"));
    assert!(
        p.exists(),
        "{} not found: install Debian's victoria-metrics (apt-get install victoria-metrics) or set VICTORIA_METRICS",
        p.display()
    );
    p
}

/// One VictoriaMetrics server on a loopback port with a temporary data folder.
pub struct Vm {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    dedup: bool,
}

impl Vm {
    /// Starts a server; with `dedup`, one sample per series and millisecond survives
    /// (`-dedup.minScrapeInterval=1ms`), so re-sent points are collapsed.
    pub fn start(dedup: bool) -> Vm {
        let mut vm = Vm {
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
            dedup,
        };
        vm.run();
        vm
    }

    fn run(&mut self) {
        let mut cmd = Command::new(vm_binary());
        cmd.arg(format!(
            "-storageDataPath={}",
            self.dir.path().join("data").display()
        ))
        .arg(format!("-httpListenAddr=127.0.0.1:{}", self.port))
        .arg("-retentionPeriod=100y")
        .arg("-search.latencyOffset=0s")
        .arg("-loggerLevel=ERROR")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(self.dir.path().join("vm.log")).unwrap());
        if self.dedup {
            cmd.arg("-dedup.minScrapeInterval=1ms");
        }
        self.child = Some(cmd.spawn().expect("start victoria-metrics"));
        let port = self.port;
        wait_for(Duration::from_secs(30), "VictoriaMetrics to listen", || {
            matches!(http_get(port, "/health"), Ok((200, _))).then_some(())
        });
    }

    /// The write URL for a `[[forward]]` target.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Graceful stop (SIGTERM: it flushes what it accepted), waiting for the process to end.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(c.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(30);
            while c.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = c.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and data.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// Makes recent writes visible to queries.
    pub fn flush(&self) {
        let _ = http_get(self.port, "/internal/force_flush");
    }

    /// Every series matching `selector`, all time.
    pub fn export(&self, selector: &str) -> Vec<Series> {
        self.flush();
        let path = format!(
            "/api/v1/export?match[]={}&start=0&end=4102444800",
            urlencode(selector)
        );
        let (status, body) = http_get(self.port, &path).unwrap();
        assert_eq!(status, 200, "export: {body}");
        body.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Samples the server stored in total (duplicates included), from its own metrics.
    pub fn rows_inserted(&self) -> u64 {
        let (_, body) = http_get(self.port, "/metrics").unwrap();
        body.lines()
            .find(|l| l.starts_with("vm_rows_inserted_total{type=\"influx\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One exported series.
#[derive(Debug, serde::Deserialize)]
pub struct Series {
    pub metric: BTreeMap<String, String>,
    pub values: Vec<f64>,
    pub timestamps: Vec<i64>,
}

/// Count and sum of one series (metric name and device).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    pub count: u64,
    pub sum: f64,
}

pub type Tallies = BTreeMap<(String, String), Tally>;

/// What the server holds for raw readings: per (`{measurement}_{field}`, device).
pub fn server_readings(vm: &Vm) -> Tallies {
    let raw: Vec<&str> = schema::SCHEMA
        .iter()
        .filter(|m| m.source == "raw")
        .map(|m| m.name)
        .collect();
    let sel = format!("{{__name__=~\"({})_.+\",device!=\"\"}}", raw.join("|"));
    let mut out = Tallies::new();
    for s in vm.export(&sel) {
        let name = s.metric["__name__"].clone();
        // parking_bay_occupied also matches parking_(bay)…; keep exact measurement prefixes.
        let t = out.entry((name, s.metric["device"].clone())).or_default();
        t.count += s.values.len() as u64;
        t.sum += s.values.iter().sum::<f64>();
    }
    out
}

/// What the store holds, mapped by the sink's own schema: per (`{measurement}_{field}`,
/// device), strings as 0 and booleans as 1/0 as VictoriaMetrics stores them.
pub fn store_readings(data_dir: &Path) -> (Tallies, u64) {
    let reader = gateway::store::Reader::open(data_dir).unwrap();
    let mut out = Tallies::new();
    let mut n = 0;
    reader
        .replay(i64::MIN, |r| {
            n += 1;
            let p = schema::reading(
                &r.district,
                &r.device,
                None,
                r.reading.ts_ms,
                &r.reading.value,
            );
            for (k, v) in &p.fields {
                let x = match v {
                    Field::Int(i) => *i as f64,
                    Field::Float(f) => *f,
                    Field::Bool(b) => *b as i64 as f64,
                    Field::Str(_) => 0.0,
                };
                let t = out
                    .entry((format!("{}_{k}", p.measurement), r.device.clone()))
                    .or_default();
                t.count += 1;
                t.sum += x;
            }
        })
        .unwrap();
    (out, n)
}

/// What a server that keeps one sample per series and millisecond (InfluxDB overwriting,
/// VictoriaMetrics with dedup) should hold: the store's readings with those of one device in
/// the same millisecond collapsed to one (the last written). Also returns the series where
/// that happened: there the server may have kept either value, so only counts compare.
pub fn store_readings_collapsed(
    data_dir: &Path,
) -> (Tallies, std::collections::BTreeSet<(String, String)>) {
    let reader = gateway::store::Reader::open(data_dir).unwrap();
    let mut last: BTreeMap<(String, String, i64), f64> = BTreeMap::new();
    let mut collided = std::collections::BTreeSet::new();
    reader
        .replay(i64::MIN, |r| {
            let p = schema::reading(
                &r.district,
                &r.device,
                None,
                r.reading.ts_ms,
                &r.reading.value,
            );
            for (k, v) in &p.fields {
                let x = match v {
                    Field::Int(i) => *i as f64,
                    Field::Float(f) => *f,
                    Field::Bool(b) => *b as i64 as f64,
                    Field::Str(_) => 0.0,
                };
                let name = format!("{}_{k}", p.measurement);
                if last
                    .insert((name.clone(), r.device.clone(), r.reading.ts_ms), x)
                    .is_some()
                {
                    collided.insert((name, r.device.clone()));
                }
            }
        })
        .unwrap();
    let mut out = Tallies::new();
    for ((name, device, _), x) in last {
        let t = out.entry((name, device)).or_default();
        t.count += 1;
        t.sum += x;
    }
    (out, collided)
}

/// [`assert_same`], comparing only counts for the series in `counts_only`.
pub fn assert_same_except_sums(
    store: &Tallies,
    server: &Tallies,
    counts_only: &std::collections::BTreeSet<(String, String)>,
    what: &str,
) {
    let mut server = server.clone();
    let mut store = store.clone();
    for k in counts_only {
        if let (Some(a), Some(b)) = (store.get_mut(k), server.get_mut(k)) {
            a.sum = 0.0;
            b.sum = 0.0;
        }
    }
    assert_same(&store, &server, what)
}

/// Asserts the two agree series by series (counts exactly, sums to float precision).
pub fn assert_same(store: &Tallies, server: &Tallies, what: &str) {
    let mut missing = Vec::new();
    for (k, s) in store {
        match server.get(k) {
            None => missing.push(format!("{k:?}: store {} points, server none", s.count)),
            Some(v) if v.count != s.count => missing.push(format!(
                "{k:?}: store {} points, server {}",
                s.count, v.count
            )),
            Some(v) if (v.sum - s.sum).abs() > 1e-6 * s.sum.abs().max(1.0) => {
                missing.push(format!("{k:?}: store sum {}, server {}", s.sum, v.sum))
            }
            _ => {}
        }
    }
    for k in server.keys() {
        if !store.contains_key(k) {
            missing.push(format!("{k:?}: on the server, not in the store"));
        }
    }
    assert!(
        missing.is_empty(),
        "{what}: {} of {} series differ, e.g. {:#?}",
        missing.len(),
        store.len(),
        &missing[..missing.len().min(10)]
    );
}

/// Total points of a tally set.
pub fn points(t: &Tallies) -> u64 {
    t.values().map(|v| v.count).sum()
}

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
    pub log: PathBuf,
}

impl GatewayProc {
    /// `gateway run --config CONFIG --district DISTRICT --data-dir DATA --mqtt-addr
    /// 127.0.0.1:MQTT --http-addr 127.0.0.1:HTTP --start START --speed SPEED`, waiting for
    /// its API to answer.
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
        let child = Command::new(gateway_bin())
            .arg("run")
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

/// Debian's `mosquitto` as the external broker, on a loopback port with a temporary folder:
/// persistence on, `max_queued_messages 0` (it never drops a queued QoS 1 message for a
/// subscriber that falls behind), a high `max_inflight_messages`.
pub struct Mosquitto {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    pub fn start() -> Mosquitto {
        let bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("mosquitto not found: apt-get install mosquitto");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n\
                 persistence_location {}/\nmax_queued_messages 0\nmax_inflight_messages 10000\n\
                 persistent_client_expiration 1d\nlog_dest file {}/mosquitto.log\n",
                dir.path().display(),
                dir.path().display()
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        wait_for(Duration::from_secs(20), "mosquitto to listen", || {
            TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
        });
        Mosquitto {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a gateway config for the delivery tests: `broker` is the `[broker]` section; no
/// reading is refused for its age or its clock (the simulated clocks start days ago).
pub fn delivery_config(path: &Path, broker: &str) {
    std::fs::write(
        path,
        format!(
            "instance = \"delivery-test\"\n{broker}\n\
             [ingest]\nmax_future = \"3650d\"\nmax_late = \"3650d\"\n\
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

/// A reading's identity in the store: (device, event time ms, seq).
pub type Identity = (String, i64, Option<u64>);

/// Every reading the store in `data_dir` holds, by identity, with how many rows hold it.
pub fn stored_identities(data_dir: &Path) -> BTreeMap<Identity, u32> {
    let reader = gateway::store::Reader::open(data_dir).unwrap();
    let mut out = BTreeMap::new();
    reader
        .replay(i64::MIN, |r| {
            *out.entry((r.device, r.reading.ts_ms, r.reading.seq))
                .or_default() += 1;
        })
        .unwrap();
    out
}

/// Waits (blocking) until the store in `data_dir` holds at least `n` readings.
pub fn wait_stored(data_dir: &Path, n: usize) {
    wait_for(
        Duration::from_secs(180),
        &format!("{n} readings in the store"),
        || {
            let got = gateway::store::Reader::open(data_dir)
                .ok()?
                .reading_count()
                .ok()?;
            (got >= n as i64).then_some(())
        },
    )
}

/// Per identity, how often it is in `ids`.
pub fn multiset(ids: impl IntoIterator<Item = Identity>) -> BTreeMap<Identity, u32> {
    let mut out = BTreeMap::new();
    for id in ids {
        *out.entry(id).or_default() += 1;
    }
    out
}

/// Asserts that the store holds exactly `want`, each once, naming what differs.
pub fn assert_stored_exactly(data_dir: &Path, want: &BTreeMap<Identity, u32>, what: &str) {
    let got = stored_identities(data_dir);
    let twice: Vec<_> = got.iter().filter(|(_, &n)| n > 1).take(5).collect();
    let missing: Vec<_> = want
        .keys()
        .filter(|k| !got.contains_key(*k))
        .take(5)
        .collect();
    let extra: Vec<_> = got
        .keys()
        .filter(|k| !want.contains_key(*k))
        .take(5)
        .collect();
    assert!(
        twice.is_empty() && missing.is_empty() && extra.is_empty() && got.len() == want.len(),
        "{what}: the store holds {} readings, {} expected; stored twice (first 5): {twice:?}; \
         missing: {missing:?}; not published: {extra:?}",
        got.values().sum::<u32>(),
        want.values().sum::<u32>(),
    );
}

/// A device-like MQTT client publishing at QoS 1 through rumqttc, counting the broker's
/// PUBACKs.
pub struct Publisher {
    pub client: rumqttc::AsyncClient,
    acked: std::sync::Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Publisher {
    /// Connects as `client_id` to the broker on `port` (clean session, reconnecting after a
    /// short pause if the connection drops).
    pub fn connect(port: u16, client_id: &str) -> Publisher {
        let mut opts = rumqttc::MqttOptions::new(client_id, "127.0.0.1", port);
        opts.set_max_packet_size(1 << 16, 1 << 16);
        opts.set_inflight(500);
        let (client, mut el) = rumqttc::AsyncClient::new(opts, 2_000);
        let acked = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = acked.clone();
        let task = tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => {
                        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        Publisher {
            client,
            acked,
            task,
        }
    }

    /// PUBACKs received so far.
    pub fn acked(&self) -> u64 {
        self.acked.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Publishes one message at QoS 1 (waits while the client's queue is full).
    pub async fn publish(&self, topic: &str, payload: String) {
        self.client
            .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
    }

    /// Waits until the broker has acknowledged `n` messages.
    pub async fn wait_acked(&self, n: u64, limit: Duration) {
        wait_for_async(limit, &format!("{n} PUBACKs"), || {
            (self.acked() >= n).then_some(())
        })
        .await;
    }

    /// Disconnects and stops the event loop.
    pub async fn close(self) {
        let _ = self.client.disconnect().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.task.abort();
    }
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

/// One HTTP/1.1 request with a JSON body (empty for none); returns the status and the body.
pub fn http(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
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

/// The gateway's embedded rumqttd alone, on a free loopback port, accepting packets up to
/// `max_packet_bytes`.
pub fn start_broker(max_packet_bytes: usize) -> std::net::SocketAddr {
    let cfg = gateway::config::BrokerConfig {
        listen: format!("127.0.0.1:{}", free_port()).parse().unwrap(),
        max_packet_bytes,
        ..Default::default()
    };
    gateway::broker::start_embedded(&cfg)
        .expect("embedded broker")
        .addr
}

/// Every message a [`subscribe`]r got: (topic, payload, retained).
pub type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>, bool)>>>;

/// A QoS 1 subscriber to `filter` on the broker at `addr` as `client_id`, keeping every
/// message; returns once the subscription is acknowledged.
pub async fn subscribe(addr: std::net::SocketAddr, client_id: &str, filter: &str) -> Received {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let mut o = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
    o.set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(256 * 1024, 256 * 1024);
    let (client, mut eventloop) = AsyncClient::new(o, 100);
    client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    let received: Received = Default::default();
    let (ready_tx, ready) = tokio::sync::oneshot::channel();
    let sink = received.clone();
    tokio::spawn(async move {
        let _client = client;
        let mut ready_tx = Some(ready_tx);
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    sink.lock()
                        .unwrap()
                        .push((p.topic, p.payload.to_vec(), p.retain))
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    ready_tx.take().map(|t| t.send(()));
                }
                Ok(_) => {}
                Err(e) => panic!("subscriber: {e}"),
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), ready)
        .await
        .unwrap()
        .unwrap();
    received
}
