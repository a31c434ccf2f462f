//! A count that changes by deltas stamped with event time, readable "as of" any closed minute.
//!
//! Readings arrive out of order and late; rollups need the value at the end of each minute
//! from exactly the readings of that minute and before. A ledger keeps a closed base plus
//! open per-minute deltas: closing minute `M` folds every delta up to `M` into the base and
//! returns the value at `M`; the live value is the base plus every open delta. A delta for a
//! minute already closed is folded into the base at once and counted as late.

use std::collections::BTreeMap;

/// Milliseconds in a minute.
pub const MINUTE_MS: i64 = 60_000;

/// The minute bucket of an event time: the minute *ending* at or after `ts` (a reading at
/// exactly 10:01:00 belongs to the minute that ends at 10:01:00).
pub fn minute_of(ts_ms: i64) -> i64 {
    let start = ts_ms.div_euclid(MINUTE_MS).saturating_mul(MINUTE_MS);
    if ts_ms.rem_euclid(MINUTE_MS) == 0 {
        start
    } else {
        start.saturating_add(MINUTE_MS)
    }
}

/// A signed count with per-minute deltas.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    base: i64,
    closed_through: Option<i64>,
    open: BTreeMap<i64, i64>,
}

impl Ledger {
    /// Adds `delta` at event time `ts_ms`; returns false if its minute was already closed
    /// (the delta still counts, from the next minute on).
    pub fn add(&mut self, ts_ms: i64, delta: i64) -> bool {
        let m = minute_of(ts_ms);
        match self.closed_through {
            Some(c) if m <= c => {
                self.base += delta;
                false
            }
            _ => {
                *self.open.entry(m).or_default() += delta;
                true
            }
        }
    }

    /// The value with every delta so far.
    pub fn live(&self) -> i64 {
        self.base + self.open.values().sum::<i64>()
    }

    /// Closes every minute up to and including `minute`, returning the value at its end.
    pub fn close(&mut self, minute: i64) -> i64 {
        let later = self.open.split_off(&(minute + 1));
        self.base += self.open.values().sum::<i64>();
        self.open = later;
        self.closed_through = Some(self.closed_through.map_or(minute, |c| c.max(minute)));
        self.base
    }

    /// Sets the value to `value` as of the end of `minute` (a re-baseline), keeping later deltas.
    pub fn rebase(&mut self, minute: i64, value: i64) {
        self.close(minute);
        self.base = value;
    }

    /// The last closed minute.
    pub fn closed_through(&self) -> Option<i64> {
        self.closed_through
    }
}

/// Per-minute counts of events (entries, exits) over a trailing window, by event time.
#[derive(Debug, Clone, Default)]
pub struct MinuteCounts {
    buckets: BTreeMap<i64, u64>,
}

impl MinuteCounts {
    /// Adds `n` events at `ts_ms`.
    pub fn add(&mut self, ts_ms: i64, n: u64) {
        if n > 0 {
            *self.buckets.entry(minute_of(ts_ms)).or_default() += n;
        }
    }

    /// Events in the minute ending at `minute`.
    pub fn in_minute(&self, minute: i64) -> u64 {
        self.buckets.get(&minute).copied().unwrap_or(0)
    }

    /// Events in the `n` minutes ending at `minute` (inclusive).
    pub fn in_last(&self, minute: i64, n: i64) -> u64 {
        self.buckets
            .range(minute - (n - 1) * MINUTE_MS..=minute)
            .map(|(_, v)| v)
            .sum()
    }

    /// Events from `from_ms` (exclusive minute start) on.
    pub fn since(&self, from_ms: i64) -> u64 {
        self.buckets
            .range(minute_of(from_ms + 1)..)
            .map(|(_, v)| v)
            .sum()
    }

    /// Drops buckets older than `before_ms`.
    pub fn prune(&mut self, before_ms: i64) {
        self.buckets = self.buckets.split_off(&before_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = MINUTE_MS;

    #[test]
    fn minute_buckets_end_on_the_minute() {
        assert_eq!(minute_of(10 * M), 10 * M);
        assert_eq!(minute_of(10 * M + 1), 11 * M);
        assert_eq!(minute_of(11 * M - 1), 11 * M);
        assert!(
            minute_of(i64::MIN) < 0 && minute_of(i64::MAX) > 0,
            "no overflow at the extremes"
        );
    }

    #[test]
    fn closing_reads_the_value_at_the_end_of_a_minute_despite_reordering() {
        let mut l = Ledger::default();
        l.add(2 * M, 5); // minute 2
        l.add(3 * M, 7); // minute 3 arrives before the rest of minute 2
        l.add(2 * M - 10, -2); // minute 2, late within the open window
        assert_eq!(l.live(), 10);
        assert_eq!(l.close(2 * M), 3);
        assert_eq!(l.live(), 10);
        // A delta for a closed minute is folded into the base.
        assert!(!l.add(M + 5, 1));
        assert_eq!(l.close(3 * M), 11);
    }

    #[test]
    fn rebase_keeps_later_deltas() {
        let mut l = Ledger::default();
        l.add(M, 40);
        l.add(3 * M, 2);
        l.rebase(2 * M, 0);
        assert_eq!(l.live(), 2);
    }

    #[test]
    fn minute_counts_window() {
        let mut c = MinuteCounts::default();
        c.add(M, 1);
        c.add(2 * M, 2);
        c.add(61 * M, 4);
        assert_eq!(c.in_minute(2 * M), 2);
        assert_eq!(c.in_last(61 * M, 60), 6);
        assert_eq!(c.in_last(61 * M, 1), 4);
        c.prune(2 * M);
        assert_eq!(c.in_last(61 * M, 61), 6);
    }
}
