//! The gateway's own metrics, in one place, rendered for Prometheus at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// A latency histogram with power-of-two microsecond buckets (1 µs … 2^31 µs).
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; 32],
}

impl Histogram {
    /// Records one duration.
    pub fn record(&self, d: std::time::Duration) {
        let us = d.as_micros().max(1) as u64;
        let i = (63 - us.leading_zeros()).min(31) as usize;
        self.buckets[i].fetch_add(1, Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Relaxed)).sum()
    }

    /// The upper bound (µs) of the bucket holding quantile `q` (0..=1), or 0 with no data.
    pub fn quantile_us(&self, q: f64) -> u64 {
        let n = self.count();
        if n == 0 {
            return 0;
        }
        let target = ((n as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Relaxed);
            if seen >= target {
                return 1u64 << (i + 1);
            }
        }
        1u64 << 32
    }
}

/// Counters and gauges of the running gateway.
#[derive(Debug, Default)]
pub struct Metrics {
    /// MQTT messages received on sensor topics.
    pub received: AtomicU64,
    /// Readings accepted into the state and store.
    pub accepted: AtomicU64,
    /// Readings dropped as duplicates.
    pub duplicates: AtomicU64,
    /// Rejects by reason code.
    pub rejects: Mutex<BTreeMap<&'static str, u64>>,
    /// Dead letters published (rate-limited; every reject is counted and stored).
    pub deadletters_published: AtomicU64,
    /// Messages waiting between MQTT and the pipeline.
    pub ingest_queue: AtomicI64,
    /// Rows waiting for the store writer.
    pub store_queue: AtomicI64,
    /// Store commits.
    pub store_commits: AtomicU64,
    /// Rows committed.
    pub store_rows: AtomicU64,
    /// Sum of commit durations, µs.
    pub store_commit_us_sum: AtomicU64,
    /// Longest commit, µs.
    pub store_commit_us_max: AtomicU64,
    /// Store errors.
    pub store_errors: AtomicU64,
    /// From a reading's arrival at the pipeline to its commit.
    pub stored_latency: Histogram,
    /// QoS 1 acknowledgements sent after commit.
    pub acks: AtomicU64,
    /// Live messages published.
    pub live_published: AtomicU64,
    /// Rollup points written.
    pub rollups: AtomicU64,
    /// Whether the ingest session is connected.
    pub mqtt_connected: AtomicBool,
    /// Ingest session (re)connections.
    pub mqtt_connects: AtomicU64,
    /// Device connections open now on the device port.
    pub device_connected: AtomicI64,
    /// Device connections accepted (CONNACK success) on the device port.
    pub device_connects: AtomicU64,
    /// Device connections refused: credentials, protocol version, client id, connection limit,
    /// TLS handshake.
    pub device_refused: AtomicU64,
    /// Device connections refused for a missing, unknown or wrong username or password.
    pub device_bad_credentials: AtomicU64,
    /// Device connections refused in the TLS handshake (plaintext on a TLS port, an untrusted
    /// or CN-less client certificate, no handshake within the connect timeout); also counted
    /// in `device_refused`.
    pub device_tls_refused: AtomicU64,
    /// Device publishes refused as `not_your_topic` (a topic of another device, or any topic
    /// from a reader), by identity.
    pub device_not_your_topic: Mutex<BTreeMap<String, u64>>,
    /// Publishes refused by the embedded broker's front (each closed its connection), by
    /// reason: `forbidden_topic` (a topic only the gateway publishes), `not_your_topic` (not
    /// the identity's topic; every topic of a reader). A refused last will counts too.
    pub broker_publish_refused: Mutex<BTreeMap<&'static str, u64>>,
    /// Device connections closed for a protocol error (garbage, no CONNECT, unexpected packet).
    pub device_protocol_errors: AtomicU64,
    /// Device messages relayed to the broker (health and other non-reading topics).
    pub device_relayed: AtomicU64,
    /// Device messages not relayed because the relay session's queue was full (not
    /// acknowledged: the device resends).
    pub device_relay_full: AtomicU64,
    /// District owners restarted after a panic, by district id.
    pub district_restarts: Mutex<BTreeMap<String, u64>>,
    /// Readings replayed from the store at start-up.
    pub replayed: AtomicU64,
    /// Alert transitions published.
    pub alert_transitions: AtomicU64,
    /// Fire alarms taken at arrival time because their own time was implausible, missing or
    /// unreadable.
    pub fire_clock_untrusted: AtomicU64,
    /// Webhook deliveries that succeeded.
    pub webhooks_delivered: AtomicU64,
    /// Webhook attempts that failed (each is retried until it expires).
    pub webhook_failures: AtomicU64,
}

impl Metrics {
    /// Counts a reject.
    pub fn reject(&self, reason: &'static str) {
        *self
            .rejects
            .lock()
            .expect("metrics lock")
            .entry(reason)
            .or_default() += 1;
    }

    /// Counts a publish of identity `id` refused as `not_your_topic`.
    pub fn device_not_your_topic(&self, id: &str) {
        let mut m = self.device_not_your_topic.lock().expect("metrics lock");
        match m.get_mut(id) {
            Some(n) => *n += 1,
            None => {
                m.insert(id.to_string(), 1);
            }
        }
    }

    /// Counts a publish refused by the broker's front, for `reason`.
    pub fn broker_publish_refused(&self, reason: &'static str) {
        *self
            .broker_publish_refused
            .lock()
            .expect("metrics lock")
            .entry(reason)
            .or_default() += 1;
    }

    /// Counts a restart of district `id`'s owner.
    pub fn district_restart(&self, id: &str) {
        *self
            .district_restarts
            .lock()
            .expect("metrics lock")
            .entry(id.to_string())
            .or_default() += 1;
    }

    /// Restarts so far, by district.
    pub fn district_restarts(&self) -> BTreeMap<String, u64> {
        self.district_restarts.lock().expect("metrics lock").clone()
    }

    /// Rejects so far, by reason.
    pub fn rejects(&self) -> BTreeMap<&'static str, u64> {
        self.rejects.lock().expect("metrics lock").clone()
    }

    /// Received messages with a verdict so far: accepted (stored), duplicates and rejects.
    /// A reading counts as accepted only once the store has committed it, so this trails
    /// `received` by what waits in the pipeline and the store's queue.
    pub fn decided(&self) -> u64 {
        self.accepted.load(Relaxed)
            + self.duplicates.load(Relaxed)
            + self.rejects().values().sum::<u64>()
    }

    /// Records one commit.
    pub fn commit(&self, rows: usize, micros: u64) {
        self.store_commits.fetch_add(1, Relaxed);
        self.store_rows.fetch_add(rows as u64, Relaxed);
        self.store_commit_us_sum.fetch_add(micros, Relaxed);
        self.store_commit_us_max.fetch_max(micros, Relaxed);
    }

    /// Prometheus text exposition; `extra` lines (per-district gauges) are appended.
    pub fn render(&self, extra: &str) -> String {
        let mut s = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        counter(
            "gateway_received_total",
            "MQTT messages received on sensor topics.",
            self.received.load(Relaxed),
        );
        counter(
            "gateway_accepted_total",
            "Readings accepted.",
            self.accepted.load(Relaxed),
        );
        counter(
            "gateway_fire_alarms_clock_untrusted_total",
            "Fire alarms taken at arrival time: their own time was implausible, missing or unreadable.",
            self.fire_clock_untrusted.load(Relaxed),
        );
        counter(
            "gateway_duplicates_total",
            "Readings dropped as duplicates.",
            self.duplicates.load(Relaxed),
        );
        counter(
            "gateway_deadletters_published_total",
            "Dead letters published.",
            self.deadletters_published.load(Relaxed),
        );
        counter(
            "gateway_store_commits_total",
            "Store commits.",
            self.store_commits.load(Relaxed),
        );
        counter(
            "gateway_store_rows_total",
            "Rows committed.",
            self.store_rows.load(Relaxed),
        );
        counter(
            "gateway_store_commit_microseconds_sum",
            "Sum of commit durations.",
            self.store_commit_us_sum.load(Relaxed),
        );
        counter(
            "gateway_store_errors_total",
            "Store errors.",
            self.store_errors.load(Relaxed),
        );
        counter(
            "gateway_acks_total",
            "QoS 1 acknowledgements sent after commit.",
            self.acks.load(Relaxed),
        );
        counter(
            "gateway_live_published_total",
            "Live messages published.",
            self.live_published.load(Relaxed),
        );
        counter(
            "gateway_rollup_points_total",
            "Rollup points written.",
            self.rollups.load(Relaxed),
        );
        counter(
            "gateway_mqtt_connects_total",
            "Ingest session connections.",
            self.mqtt_connects.load(Relaxed),
        );
        counter(
            "gateway_replayed_total",
            "Readings replayed from the store at start-up.",
            self.replayed.load(Relaxed),
        );
        counter(
            "gateway_device_connects_total",
            "Device connections accepted on the device port.",
            self.device_connects.load(Relaxed),
        );
        counter(
            "gateway_device_refused_total",
            "Device connections refused (credentials, protocol, client id, limit).",
            self.device_refused.load(Relaxed),
        );
        counter(
            "gateway_device_bad_credentials_total",
            "Device connections refused for a missing, unknown or wrong username or password.",
            self.device_bad_credentials.load(Relaxed),
        );
        counter(
            "gateway_device_tls_refused_total",
            "Device connections refused in the TLS handshake (also in gateway_device_refused_total).",
            self.device_tls_refused.load(Relaxed),
        );
        counter(
            "gateway_device_protocol_errors_total",
            "Device connections closed for a protocol error.",
            self.device_protocol_errors.load(Relaxed),
        );
        counter(
            "gateway_device_relayed_total",
            "Device messages relayed to the broker.",
            self.device_relayed.load(Relaxed),
        );
        counter(
            "gateway_device_relay_full_total",
            "Device messages not relayed (relay queue full; not acknowledged).",
            self.device_relay_full.load(Relaxed),
        );
        let _ = writeln!(s, "# HELP gateway_rejects_total Rejected messages by reason.\n# TYPE gateway_rejects_total counter");
        for (reason, n) in self.rejects() {
            let _ = writeln!(s, "gateway_rejects_total{{reason=\"{reason}\"}} {n}");
        }
        let _ = writeln!(s, "# HELP gateway_device_not_your_topic_total Device publishes refused as not_your_topic, by identity.\n# TYPE gateway_device_not_your_topic_total counter");
        for (id, n) in self
            .device_not_your_topic
            .lock()
            .expect("metrics lock")
            .iter()
        {
            let _ = writeln!(
                s,
                "gateway_device_not_your_topic_total{{identity=\"{id}\"}} {n}"
            );
        }
        let _ = writeln!(s, "# HELP gateway_broker_publish_refused_total Publishes refused by the embedded broker's front (the connection closed), by reason.\n# TYPE gateway_broker_publish_refused_total counter");
        for (reason, n) in self
            .broker_publish_refused
            .lock()
            .expect("metrics lock")
            .iter()
        {
            let _ = writeln!(
                s,
                "gateway_broker_publish_refused_total{{reason=\"{reason}\"}} {n}"
            );
        }
        let _ = writeln!(s, "# HELP gateway_district_restarts_total District owners restarted after a panic.\n# TYPE gateway_district_restarts_total counter");
        for (district, n) in self.district_restarts() {
            let _ = writeln!(
                s,
                "gateway_district_restarts_total{{district=\"{district}\"}} {n}"
            );
        }
        let mut gauge = |name: &str, help: &str, v: i64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        gauge(
            "gateway_ingest_queue",
            "Messages waiting for the pipeline.",
            self.ingest_queue.load(Relaxed),
        );
        gauge(
            "gateway_store_queue",
            "Rows waiting for the store writer.",
            self.store_queue.load(Relaxed),
        );
        gauge(
            "gateway_store_commit_microseconds_max",
            "Longest commit.",
            self.store_commit_us_max.load(Relaxed) as i64,
        );
        gauge(
            "gateway_mqtt_connected",
            "1 when the ingest session is connected.",
            self.mqtt_connected.load(Relaxed) as i64,
        );
        gauge(
            "gateway_device_connected",
            "Device connections open on the device port.",
            self.device_connected.load(Relaxed),
        );
        s.push_str(extra);
        s
    }
}
