//! Car park occupancy: from bay sensors (each bay free, occupied or unknown) or from entrance
//! counters (entries minus exits), per lot and level, with entries and exits per hour.

use district::LotCounting;

use super::ledger::{Ledger, MinuteCounts};

/// State of one bay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BayState {
    /// No report yet.
    #[default]
    Unknown,
    /// Free.
    Free,
    /// Occupied.
    Occupied,
}

impl BayState {
    /// The character of the compact per-bay message (reserved is layered on top by parking).
    pub fn code(self) -> char {
        match self {
            BayState::Unknown => 'U',
            BayState::Free => 'F',
            BayState::Occupied => 'O',
        }
    }
}

/// The live state of one lot.
#[derive(Debug, Clone)]
pub struct LotState {
    /// Where occupancy comes from.
    pub counting: LotCounting,
    /// Bay states and the event time of each bay's latest report.
    pub bays: Vec<(BayState, i64)>,
    /// Free bays (bay sensors) or occupied cars (entrance counters), per minute.
    pub ledger: Ledger,
    /// Entries per minute (entrance counters, or bays turning occupied).
    pub entries: MinuteCounts,
    /// Exits per minute.
    pub exits: MinuteCounts,
    /// Event time of the latest report.
    pub last_ts: i64,
    /// Capacity.
    pub capacity: u32,
    /// Reports refused because a newer one for the same bay was already applied.
    pub superseded: u64,
}

impl LotState {
    /// A lot with `bays` bays (all unknown) and `capacity` spaces.
    pub fn new(counting: LotCounting, bays: usize, capacity: u32) -> Self {
        LotState {
            counting,
            bays: vec![(BayState::Unknown, i64::MIN); bays],
            ledger: Ledger::default(),
            entries: MinuteCounts::default(),
            exits: MinuteCounts::default(),
            last_ts: i64::MIN,
            capacity,
            superseded: 0,
        }
    }

    /// A bay sensor's report. The ledger counts free bays.
    pub fn bay(&mut self, bay: usize, ts: i64, occupied: bool) {
        let Some(slot) = self.bays.get_mut(bay) else {
            return;
        };
        self.last_ts = self.last_ts.max(ts);
        if ts < slot.1 {
            self.superseded += 1;
            return;
        }
        let new = if occupied {
            BayState::Occupied
        } else {
            BayState::Free
        };
        let old = std::mem::replace(slot, (new, ts)).0;
        let free_delta = i64::from(new == BayState::Free) - i64::from(old == BayState::Free);
        if free_delta != 0 {
            self.ledger.add(ts, free_delta);
        }
        match (old, new) {
            (BayState::Free, BayState::Occupied) => self.entries.add(ts, 1),
            (BayState::Occupied, BayState::Free) => self.exits.add(ts, 1),
            _ => {}
        }
    }

    /// An entrance counter's report. The ledger counts cars inside.
    pub fn entrance(&mut self, ts: i64, entries: u32, exits: u32) {
        self.last_ts = self.last_ts.max(ts);
        self.entries.add(ts, entries as u64);
        self.exits.add(ts, exits as u64);
        self.ledger.add(ts, entries as i64 - exits as i64);
    }

    /// Free spaces from a ledger value.
    fn free_of(&self, ledger_value: i64) -> u32 {
        match self.counting {
            LotCounting::Bays => ledger_value.max(0) as u32,
            _ => (self.capacity as i64 - ledger_value.max(0)).clamp(0, self.capacity as i64) as u32,
        }
    }

    /// Free spaces now.
    pub fn free(&self) -> u32 {
        self.free_of(self.ledger.live())
    }

    /// Bays whose state is unknown.
    pub fn unknown(&self) -> u32 {
        self.bays
            .iter()
            .filter(|b| b.0 == BayState::Unknown)
            .count() as u32
    }

    /// Occupied spaces now (bays known occupied, or cars inside).
    pub fn occupied(&self) -> u32 {
        match self.counting {
            LotCounting::Bays => self
                .bays
                .iter()
                .filter(|b| b.0 == BayState::Occupied)
                .count() as u32,
            _ => self.capacity - self.free(),
        }
    }

    /// Free spaces at the end of `minute`.
    pub fn close(&mut self, minute: i64) -> u32 {
        let v = self.ledger.close(minute);
        self.free_of(v)
    }

    /// Re-baselines an entrance-counted lot to empty as of `minute` (bay lots need none).
    pub fn rebaseline(&mut self, minute: i64) {
        if self.counting == LotCounting::Entrances {
            self.ledger.rebase(minute, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ledger::MINUTE_MS as M;

    #[test]
    fn bays_count_free_and_ignore_stale_reports() {
        let mut l = LotState::new(LotCounting::Bays, 3, 3);
        l.bay(0, M, false);
        l.bay(1, M, true);
        assert_eq!((l.free(), l.occupied(), l.unknown()), (1, 1, 1));
        l.bay(0, 2 * M, true);
        l.bay(0, M + 5, false); // older than the applied report: superseded
        assert_eq!(l.free(), 0);
        assert_eq!(l.superseded, 1);
        assert_eq!(l.entries.in_minute(2 * M), 1);
        assert_eq!(l.close(M), 1);
    }

    #[test]
    fn entrance_counters_count_cars_inside() {
        let mut l = LotState::new(LotCounting::Entrances, 0, 100);
        l.entrance(M, 10, 2);
        l.entrance(2 * M, 1, 4);
        assert_eq!(l.free(), 95);
        l.entrance(3 * M, 0, 50);
        assert_eq!(l.free(), 100, "never more free than capacity");
        l.rebaseline(3 * M);
        assert_eq!(l.free(), 100);
    }
}
