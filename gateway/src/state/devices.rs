//! Device health: last seen (offline after N missed intervals), stuck values, implausible jumps.

use std::hash::{Hash, Hasher};

use district::contract::reading::Measurement;

/// Health bookkeeping for one device.
#[derive(Debug, Clone, Copy, Default)]
pub struct Liveness {
    /// Event time of the latest accepted reading (None: never seen).
    pub last_seen: Option<i64>,
    /// Accepted readings.
    pub readings: u64,
    /// Hash of the latest values (time excluded).
    value_hash: u64,
    /// Since when the values have not changed, and how many readings repeated them.
    pub unchanged_since: i64,
    /// Readings with the same values in a row.
    pub repeats: u32,
    /// Event time of the latest implausible jump.
    pub jump_at: Option<i64>,
}

impl Liveness {
    /// Records a reading.
    pub fn seen(&mut self, ts: i64) {
        self.readings += 1;
        self.last_seen = Some(self.last_seen.map_or(ts, |t| t.max(ts)));
    }

    /// Records the values of a reading, for stuck-value detection.
    pub fn values(&mut self, ts: i64, m: &Measurement) {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        serde_json::to_string(m).unwrap_or_default().hash(&mut h);
        let hash = h.finish();
        if self.readings > 1 && hash == self.value_hash {
            self.repeats += 1;
        } else {
            self.value_hash = hash;
            self.unchanged_since = ts;
            self.repeats = 0;
        }
    }

    /// Marks an implausible jump at `ts`.
    pub fn jump(&mut self, ts: i64) {
        self.jump_at = Some(ts);
    }

    /// Offline when silent longer than `interval_ms × missed` as of `now` (never seen counts from
    /// `since`, the gateway's start).
    pub fn offline(&self, now: i64, interval_ms: i64, missed: u32, since: i64) -> bool {
        let last = self.last_seen.unwrap_or(since);
        now - last > interval_ms.saturating_mul(missed as i64)
    }

    /// Stuck: the same values for at least `min_repeats` readings spanning `min_ms`.
    pub fn stuck(&self, min_repeats: u32, min_ms: i64) -> bool {
        self.repeats >= min_repeats
            && self
                .last_seen
                .is_some_and(|t| t - self.unchanged_since >= min_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_values_make_a_device_stuck() {
        let mut l = Liveness::default();
        let m = Measurement::Area { count: 40 };
        for i in 0..10 {
            l.seen(i * 60_000);
            l.values(i * 60_000, &m);
        }
        assert!(l.stuck(5, 5 * 60_000));
        l.seen(11 * 60_000);
        l.values(11 * 60_000, &Measurement::Area { count: 41 });
        assert!(!l.stuck(5, 5 * 60_000));
    }
}
