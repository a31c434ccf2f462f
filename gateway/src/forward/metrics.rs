//! Metrics of the forward targets, one [`ForwardMetrics`] per target, rendered for Prometheus
//! under `/metrics` with a `target` label.
//!
//! The API finds the targets of its gateway through [`render_for`]: a small registry keyed by
//! the gateway's [`Shared`] (several gateways may run in one process, as in the tests).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};

use crate::shared::Shared;

/// Counters and gauges of one forward target.
#[derive(Debug, Default)]
pub struct ForwardMetrics {
    /// Target name.
    pub target: String,
    /// Points the server accepted, raw readings.
    pub points_readings: AtomicU64,
    /// Points the server accepted, rollups.
    pub points_rollups: AtomicU64,
    /// Points the server accepted, alert transitions.
    pub points_alerts: AtomicU64,
    /// Write requests accepted.
    pub batches: AtomicU64,
    /// Bytes of accepted requests.
    pub bytes: AtomicU64,
    /// Retries (failed attempts that will be tried again).
    pub retries: AtomicU64,
    /// Failed attempts by reason (`connect`, `timeout`, `http_5xx`, `auth`, ...).
    pub failures: Mutex<BTreeMap<&'static str, u64>>,
    /// Points the server refused as invalid (a 4xx other than auth/size/throttling): dropped,
    /// counted, logged, so one bad batch cannot stop the target.
    pub rejected: AtomicU64,
    /// Raw readings pruned by the store's retention before this target sent them.
    pub lost_pruned: AtomicU64,
    /// Rollup rows this schema does not know (not written).
    pub unmapped: AtomicU64,
    /// Raw readings waiting (rows after the cursor).
    pub backlog_readings: AtomicI64,
    /// Rollup values waiting, all districts.
    pub backlog_rollups: AtomicI64,
    /// Event-time age of the oldest waiting raw reading, ms (0 when none waits).
    pub backlog_age_ms: AtomicI64,
    /// The reading cursor (rowid everything up to which was sent).
    pub cursor: AtomicI64,
    /// 1 while the live lane runs beside a backlog.
    pub live_lane: AtomicI64,
    /// 1 when the latest attempt succeeded.
    pub up: AtomicI64,
    /// Wall time of the last accepted write, epoch ms.
    pub last_success_ms: AtomicI64,
    /// Sum of accepted write durations, µs.
    pub write_us_sum: AtomicU64,
}

impl ForwardMetrics {
    /// Metrics of a target.
    pub fn new(target: &str) -> Self {
        ForwardMetrics {
            target: target.into(),
            ..Default::default()
        }
    }

    /// Counts a failed attempt.
    pub fn failure(&self, reason: &'static str) {
        *self
            .failures
            .lock()
            .expect("forward metrics lock")
            .entry(reason)
            .or_default() += 1;
    }

    /// Failures so far by reason.
    pub fn failures(&self) -> BTreeMap<&'static str, u64> {
        self.failures.lock().expect("forward metrics lock").clone()
    }

    /// Points accepted in total.
    pub fn points(&self) -> u64 {
        self.points_readings.load(Relaxed)
            + self.points_rollups.load(Relaxed)
            + self.points_alerts.load(Relaxed)
    }
}

/// Prometheus text for several targets.
pub fn render(targets: &[Arc<ForwardMetrics>]) -> String {
    let mut s = String::new();
    if targets.is_empty() {
        return s;
    }
    let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, String)>| {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in rows {
            let _ = writeln!(s, "{name}{{{labels}}} {v}");
        }
    };
    let t = |m: &ForwardMetrics| format!("target=\"{}\"", m.target.replace('"', "'"));
    let each = |f: &dyn Fn(&ForwardMetrics) -> String| -> Vec<(String, String)> {
        targets.iter().map(|m| (t(m), f(m))).collect()
    };
    family(
        "gateway_forward_points_total",
        "counter",
        "Points the server accepted, by stream.",
        targets
            .iter()
            .flat_map(|m| {
                [
                    (
                        format!("{},stream=\"readings\"", t(m)),
                        m.points_readings.load(Relaxed).to_string(),
                    ),
                    (
                        format!("{},stream=\"rollups\"", t(m)),
                        m.points_rollups.load(Relaxed).to_string(),
                    ),
                    (
                        format!("{},stream=\"alerts\"", t(m)),
                        m.points_alerts.load(Relaxed).to_string(),
                    ),
                ]
            })
            .collect(),
    );
    family(
        "gateway_forward_batches_total",
        "counter",
        "Write requests accepted.",
        each(&|m| m.batches.load(Relaxed).to_string()),
    );
    family(
        "gateway_forward_bytes_total",
        "counter",
        "Bytes of accepted write requests.",
        each(&|m| m.bytes.load(Relaxed).to_string()),
    );
    family(
        "gateway_forward_retries_total",
        "counter",
        "Failed write attempts that are retried.",
        each(&|m| m.retries.load(Relaxed).to_string()),
    );
    family(
        "gateway_forward_failures_total",
        "counter",
        "Failed write attempts by reason.",
        targets
            .iter()
            .flat_map(|m| {
                m.failures()
                    .into_iter()
                    .map(|(r, n)| (format!("{},reason=\"{r}\"", t(m)), n.to_string()))
                    .collect::<Vec<_>>()
            })
            .collect(),
    );
    family(
        "gateway_forward_rejected_points_total",
        "counter",
        "Points the server refused as invalid (dropped).",
        each(&|m| m.rejected.load(Relaxed).to_string()),
    );
    family(
        "gateway_forward_lost_total",
        "counter",
        "Raw readings pruned by retention before they were sent.",
        each(&|m| m.lost_pruned.load(Relaxed).to_string()),
    );
    family(
        "gateway_forward_unmapped_total",
        "counter",
        "Rollup rows of an unknown entity or metric (not written).",
        each(&|m| m.unmapped.load(Relaxed).to_string()),
    );
    family(
        "gateway_forward_backlog_readings",
        "gauge",
        "Raw readings waiting to be sent.",
        each(&|m| m.backlog_readings.load(Relaxed).to_string()),
    );
    family(
        "gateway_forward_backlog_rollups",
        "gauge",
        "Rollup values waiting to be sent (all districts).",
        each(&|m| m.backlog_rollups.load(Relaxed).to_string()),
    );
    family(
        "gateway_forward_backlog_age_seconds",
        "gauge",
        "Event-time age of the oldest waiting reading.",
        each(&|m| format!("{:.3}", m.backlog_age_ms.load(Relaxed) as f64 / 1000.0)),
    );
    family(
        "gateway_forward_cursor",
        "gauge",
        "Reading rowid up to which everything was sent.",
        each(&|m| m.cursor.load(Relaxed).to_string()),
    );
    family(
        "gateway_forward_live_lane",
        "gauge",
        "1 while live readings go in a lane beside the backlog.",
        each(&|m| m.live_lane.load(Relaxed).to_string()),
    );
    family(
        "gateway_forward_up",
        "gauge",
        "1 when the latest write attempt succeeded.",
        each(&|m| m.up.load(Relaxed).to_string()),
    );
    family(
        "gateway_forward_last_success_timestamp_seconds",
        "gauge",
        "Wall time of the last accepted write.",
        each(&|m| format!("{:.3}", m.last_success_ms.load(Relaxed) as f64 / 1000.0)),
    );
    family(
        "gateway_forward_write_microseconds_sum",
        "counter",
        "Time spent in accepted writes.",
        each(&|m| m.write_us_sum.load(Relaxed).to_string()),
    );
    s
}

type Registry = Mutex<Vec<(usize, Arc<ForwardMetrics>)>>;

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(Default::default)
}

fn key(s: &Shared) -> usize {
    s as *const Shared as usize
}

/// Registers a target's metrics under its gateway.
pub fn register(shared: &Shared, m: Arc<ForwardMetrics>) {
    registry()
        .lock()
        .expect("forward registry")
        .push((key(shared), m));
}

/// Forgets a gateway's targets (at shutdown).
pub fn unregister(shared: &Shared) {
    let k = key(shared);
    registry()
        .lock()
        .expect("forward registry")
        .retain(|(g, _)| *g != k);
}

/// The metrics of a gateway's targets, in configuration order.
pub fn of(shared: &Shared) -> Vec<Arc<ForwardMetrics>> {
    let k = key(shared);
    registry()
        .lock()
        .expect("forward registry")
        .iter()
        .filter(|(g, _)| *g == k)
        .map(|(_, m)| m.clone())
        .collect()
}

/// The `/metrics` text of a gateway's targets (empty with none).
pub fn render_for(shared: &Shared) -> String {
    render(&of(shared))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_labelled_by_target() {
        let a = Arc::new(ForwardMetrics::new("influx-a"));
        a.points_readings.store(10, Relaxed);
        a.failure("connect");
        a.failure("connect");
        a.backlog_age_ms.store(1500, Relaxed);
        let text = render(&[a, Arc::new(ForwardMetrics::new("b"))]);
        assert!(
            text.contains(
                "gateway_forward_points_total{target=\"influx-a\",stream=\"readings\"} 10"
            ),
            "{text}"
        );
        assert!(text
            .contains("gateway_forward_failures_total{target=\"influx-a\",reason=\"connect\"} 2"));
        assert!(text.contains("gateway_forward_backlog_age_seconds{target=\"influx-a\"} 1.500"));
        assert!(text.contains("gateway_forward_up{target=\"b\"} 0"));
        assert_eq!(render(&[]), "");
    }
}
