//! Duplicate detection per device.
//!
//! A reading's key is `(seq, ts)` when it carries a sequence number, else `ts`. A QoS 1
//! redelivery repeats both; a device that rebooted restarts `seq` but with a new `ts`, so it is
//! not mistaken for duplicates. The last [`WINDOW`] keys per device are remembered, which
//! covers redeliveries (a broker redelivers only what is in flight); the store's replay on
//! start-up refills the windows.

use std::collections::VecDeque;

/// Keys remembered per device.
pub const WINDOW: usize = 64;

/// Recent keys of one device.
#[derive(Debug, Clone, Default)]
pub struct Dedup {
    recent: VecDeque<(Option<u64>, i64)>,
}

impl Dedup {
    /// True if this key was seen recently (a duplicate); otherwise remembers it.
    pub fn seen(&mut self, seq: Option<u64>, ts: i64) -> bool {
        let key = (seq, ts);
        if self.recent.contains(&key) {
            return true;
        }
        if self.recent.len() == WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(key);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redelivery_is_a_duplicate_but_a_reboot_is_not() {
        let mut d = Dedup::default();
        assert!(!d.seen(Some(1), 1000));
        assert!(!d.seen(Some(2), 2000));
        assert!(d.seen(Some(2), 2000));
        assert!(!d.seen(Some(1), 5000), "seq restarted after a reboot");
        assert!(!d.seen(None, 6000));
        assert!(d.seen(None, 6000));
    }
}
