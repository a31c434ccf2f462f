//! The time-ordered queue of periodic device reports.
//!
//! Every reporting device of every replica has one entry: when it reports next. Entries due at
//! the same instant come out ordered by replica then device, so the order of messages is fixed
//! by the district file and never by hashing or insertion order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// One due report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Due {
    /// When, epoch ms.
    pub at: i64,
    /// Replica index in the world.
    pub replica: u32,
    /// Device index in the replica's district.
    pub device: u32,
}

/// A min-queue of [`Due`] reports.
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    heap: BinaryHeap<Reverse<Due>>,
}

impl Schedule {
    /// Adds a report.
    pub fn push(&mut self, due: Due) {
        self.heap.push(Reverse(due));
    }

    /// Removes and returns the earliest report due at or before `t`.
    pub fn pop_due(&mut self, t: i64) -> Option<Due> {
        match self.heap.peek() {
            Some(Reverse(d)) if d.at <= t => self.heap.pop().map(|Reverse(d)| d),
            _ => None,
        }
    }

    /// When the earliest report is due.
    #[cfg(test)]
    pub fn next_at(&self) -> Option<i64> {
        self.heap.peek().map(|Reverse(d)| d.at)
    }

    /// Number of queued reports.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }
}

/// The first instant after `after` at which a device with `interval_ms` and `phase_ms` reports:
/// the smallest `t > after` with `(t - phase) % interval == 0`.
pub(crate) fn next_after(after: i64, interval_ms: i64, phase_ms: i64) -> i64 {
    let k = (after - phase_ms).div_euclid(interval_ms) + 1;
    phase_ms + k * interval_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_come_out_in_time_then_replica_then_device_order() {
        let mut s = Schedule::default();
        for (at, replica, device) in [(2000, 0, 5), (1000, 1, 0), (1000, 0, 9), (1000, 0, 2)] {
            s.push(Due {
                at,
                replica,
                device,
            });
        }
        assert_eq!(s.next_at(), Some(1000));
        let got: Vec<_> = std::iter::from_fn(|| s.pop_due(1000))
            .map(|d| (d.replica, d.device))
            .collect();
        assert_eq!(got, vec![(0, 2), (0, 9), (1, 0)]);
        assert!(s.pop_due(1999).is_none());
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn next_report_is_strictly_after_and_aligned() {
        assert_eq!(next_after(0, 60_000, 0), 60_000);
        assert_eq!(next_after(59_999, 60_000, 0), 60_000);
        assert_eq!(next_after(60_000, 60_000, 0), 120_000);
        assert_eq!(next_after(60_000, 3_600_000, 1_000), 1_000 + 3_600_000);
        assert_eq!(next_after(500, 3_600_000, 1_000), 1_000);
    }
}
