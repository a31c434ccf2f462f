//! VictoriaMetrics (Debian's) standing in for InfluxDB, and the store compared with it series
//! by series.

use super::*;

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

/// Every field of every reading the store in `data_dir` holds, mapped by the sink's own schema:
/// `each(series name, device, event time, value as stored)`. Returns the readings seen.
fn each_stored_field(data_dir: &Path, mut each: impl FnMut(String, &str, i64, f64)) -> u64 {
    let reader = gateway::store::Reader::open(data_dir).unwrap();
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
                each(
                    format!("{}_{k}", p.measurement),
                    &r.device,
                    r.reading.ts_ms,
                    as_stored(v),
                );
            }
        })
        .unwrap()
}

/// What the store holds, mapped by the sink's own schema: per (`{measurement}_{field}`,
/// device), strings as 0 and booleans as 1/0 as VictoriaMetrics stores them.
pub fn store_readings(data_dir: &Path) -> (Tallies, u64) {
    let mut out = Tallies::new();
    let n = each_stored_field(data_dir, |name, device, _, x| {
        let t = out.entry((name, device.to_string())).or_default();
        t.count += 1;
        t.sum += x;
    });
    (out, n)
}

/// What a server that keeps one sample per series and millisecond (InfluxDB overwriting,
/// VictoriaMetrics with dedup) should hold: the store's readings with those of one device in
/// the same millisecond collapsed to one (the last written). Also returns the series where
/// that happened: there the server may have kept either value, so only counts compare.
pub fn store_readings_collapsed(
    data_dir: &Path,
) -> (Tallies, std::collections::BTreeSet<(String, String)>) {
    let mut last: BTreeMap<(String, String, i64), f64> = BTreeMap::new();
    let mut collided = std::collections::BTreeSet::new();
    each_stored_field(data_dir, |name, device, ts, x| {
        if last
            .insert((name.clone(), device.to_string(), ts), x)
            .is_some()
        {
            collided.insert((name, device.to_string()));
        }
    });
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

/// A field's value as VictoriaMetrics stores it: strings as 0, booleans as 1/0.
fn as_stored(v: &Field) -> f64 {
    match v {
        Field::Int(i) => *i as f64,
        Field::Float(f) => *f,
        Field::Bool(b) => *b as i64 as f64,
        Field::Str(_) => 0.0,
    }
}
