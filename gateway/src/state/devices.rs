//! Device liveness: last seen, and offline after N missed intervals.

/// Last-seen bookkeeping for one device.
#[derive(Debug, Clone, Copy, Default)]
pub struct Liveness {
    /// Event time of the latest accepted reading (None: never seen).
    pub last_seen: Option<i64>,
    /// Accepted readings.
    pub readings: u64,
}

impl Liveness {
    /// Records a reading.
    pub fn seen(&mut self, ts: i64) {
        self.readings += 1;
        self.last_seen = Some(self.last_seen.map_or(ts, |t| t.max(ts)));
    }

    /// Offline when silent longer than `interval_ms × missed` as of `now` (never seen counts from
    /// `since`, the gateway's start).
    pub fn offline(&self, now: i64, interval_ms: i64, missed: u32, since: i64) -> bool {
        let last = self.last_seen.unwrap_or(since);
        now - last > interval_ms.saturating_mul(missed as i64)
    }
}
