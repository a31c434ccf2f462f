//! People in a zone: from line counters (in minus out since the last re-baseline) or from area
//! counters (their latest counts), with in/out per minute and visits.

use std::collections::{BTreeMap, VecDeque};

use super::ledger::{Ledger, MinuteCounts};

/// Most area counts kept per counter. Counts are kept until the minutes they answer for are
/// closed (however fast readings arrive before the next close); this only bounds memory when
/// minutes stop closing.
const AREA_HISTORY_MAX: usize = 4096;

/// The live state of one zone.
#[derive(Debug, Clone, Default)]
pub struct ZoneState {
    /// Net people from line counters (may dip below zero transiently; shown clamped at 0).
    pub net: Ledger,
    /// Latest counts per area counter (device index → recent (ts, count), oldest first).
    pub area: BTreeMap<usize, VecDeque<(i64, u32)>>,
    /// People entering, per minute.
    pub ins: MinuteCounts,
    /// People leaving, per minute.
    pub outs: MinuteCounts,
    /// Event time of the latest reading that touched the zone.
    pub last_ts: i64,
    /// People at the end of the last closed minute.
    pub closed_people: u32,
}

impl ZoneState {
    /// Applies `ins` people entering and `outs` leaving at `ts` (line counters).
    pub fn cross(&mut self, ts: i64, ins: u32, outs: u32) -> bool {
        self.ins.add(ts, ins as u64);
        self.outs.add(ts, outs as u64);
        self.last_ts = self.last_ts.max(ts);
        self.net.add(ts, ins as i64 - outs as i64)
    }

    /// Records an area counter's count at `ts`.
    pub fn area_count(&mut self, device: usize, ts: i64, count: u32) {
        let h = self.area.entry(device).or_default();
        let pos = h.iter().position(|&(t, _)| t > ts).unwrap_or(h.len());
        h.insert(pos, (ts, count));
        while h.len() > AREA_HISTORY_MAX {
            h.pop_front();
        }
        self.last_ts = self.last_ts.max(ts);
    }

    /// People now: the area counters' sum if the zone has any, else the line counters' net.
    pub fn people(&self) -> u32 {
        if self.area.is_empty() {
            self.net.live().max(0) as u32
        } else {
            self.area
                .values()
                .filter_map(|h| h.back())
                .map(|&(_, c)| c)
                .sum()
        }
    }

    /// People at the end of `minute` (closes that minute of the line ledger).
    pub fn close(&mut self, minute: i64) -> u32 {
        let from_lines = self.net.close(minute).max(0) as u32;
        self.closed_people = if self.area.is_empty() {
            from_lines
        } else {
            self.area
                .values()
                .filter_map(|h| h.iter().rev().find(|&&(t, _)| t <= minute))
                .map(|&(_, c)| c)
                .sum()
        };
        // Counts older than the last one at or before this minute answer for no open minute.
        for h in self.area.values_mut() {
            while h.len() >= 2 && h[1].0 <= minute {
                h.pop_front();
            }
        }
        self.closed_people
    }

    /// Re-baselines the line count to zero as of `minute` (the district is empty at night).
    pub fn rebaseline(&mut self, minute: i64) {
        self.net.rebase(minute, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ledger::MINUTE_MS as M;

    #[test]
    fn line_counts_never_show_negative_and_rebaseline_resets() {
        let mut z = ZoneState::default();
        z.cross(M, 0, 3);
        assert_eq!(z.people(), 0);
        z.cross(2 * M, 10, 0);
        assert_eq!(z.people(), 7);
        z.rebaseline(2 * M);
        assert_eq!(z.people(), 0);
        z.cross(3 * M, 4, 1);
        assert_eq!(z.people(), 3);
    }

    #[test]
    fn area_counts_are_summed_and_read_as_of_a_minute() {
        let mut z = ZoneState::default();
        z.area_count(7, M, 40);
        z.area_count(8, M, 10);
        z.area_count(7, 2 * M, 45);
        assert_eq!(z.people(), 55);
        assert_eq!(z.close(M), 50);
    }

    #[test]
    fn a_minute_closed_after_many_later_counts_still_reads_its_own() {
        // Counts every 10 s for half an hour arrive before the first minute is closed.
        let mut z = ZoneState::default();
        for i in 0..180 {
            z.area_count(7, M + i * 10_000, 100 + i as u32);
        }
        assert_eq!(z.close(M), 100);
        assert_eq!(z.close(2 * M), 106);
        assert_eq!(z.people(), 279);
        assert!(
            z.area[&7].len() < 180,
            "counts of closed minutes are let go"
        );
    }
}
