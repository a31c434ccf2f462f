//! Flow statistics from bay sensors, pure: dwell time (a car's stay in a bay, from the bay
//! turning occupied to it turning free), turnover per bay (cars per bay), and the occupancy
//! share, as minute rollups beside the gateway's own (`free`, `entries`, `exits` per lot).
//!
//! Rollups (entity, id, metric), read through the history API:
//! - `lot`, `{lot}`, `occupancy`: occupied share 0..1 at the end of the minute (the
//!   occupancy curve of a day: `step=15m` or `1h`, averaged);
//! - `lot`, `{lot}`, `dwell_min`: mean stay, in minutes, of the cars that left in the minute
//!   (only minutes with a departure);
//! - `bay`, `{lot}/{bay}`, `entries`: cars that arrived in the bay in the minute (summed by the
//!   history API: `step=24h` is the bay's turnover per day). Only minutes with an arrival.
//!
//! Entries and exits per lot per hour are the gateway's `entries`/`exits` rollups with
//! `step=1h`. Dwell and turnover need bay sensors; entrance-counted lots have neither.

use std::collections::BTreeMap;

use district::District;

use crate::state::district::RollupPoint;
use crate::state::ledger::minute_of;
use crate::state::lot::BayState;

#[derive(Debug, Default, Clone)]
struct MinuteAcc {
    /// Per lot: summed stays (ms) and departures.
    dwell: BTreeMap<usize, (i64, u32)>,
    arrivals: BTreeMap<(usize, usize), u32>,
}

/// Flow statistics of one district.
#[derive(Debug, Clone, Default)]
pub struct Flow {
    /// Per lot, per bay: state last seen and, if occupied, since when (event ms).
    bays: Vec<Vec<(BayState, Option<i64>)>>,
    minutes: BTreeMap<i64, MinuteAcc>,
    /// Last minute closed.
    closed: i64,
}

impl Flow {
    /// A tracker for `d`, nothing seen yet.
    pub fn new(d: &District) -> Self {
        Flow {
            bays: d
                .lots
                .iter()
                .map(|l| vec![(BayState::Unknown, None); l.bays.len()])
                .collect(),
            minutes: BTreeMap::new(),
            closed: i64::MIN,
        }
    }

    /// The bays of lot `l` now: (state, event ms of its latest report).
    pub fn observe(&mut self, l: usize, bays: &[(BayState, i64)]) {
        let Some(seen) = self.bays.get_mut(l) else {
            return;
        };
        for (b, (&(state, ts), prev)) in bays.iter().zip(seen.iter_mut()).enumerate() {
            if state == prev.0 {
                continue;
            }
            match (prev.0, state) {
                (BayState::Free, BayState::Occupied) => {
                    let acc = self.minutes.entry(minute_of(ts)).or_default();
                    *acc.arrivals.entry((l, b)).or_default() += 1;
                    prev.1 = Some(ts);
                }
                (BayState::Occupied, BayState::Free) => {
                    if let Some(since) = prev.1.take() {
                        let acc = self.minutes.entry(minute_of(ts)).or_default();
                        let e = acc.dwell.entry(l).or_default();
                        e.0 += (ts - since).max(0);
                        e.1 += 1;
                    }
                }
                // First sight of a bay: an occupied bay's arrival time is not known.
                _ => prev.1 = None,
            }
            prev.0 = state;
        }
    }

    /// Closes every minute ending at or before `upto` (event ms): its rollups.
    /// `occupancy` gives a lot's occupied share now (used for the minutes being closed).
    pub fn close(
        &mut self,
        d: &District,
        upto: i64,
        occupancy: &[Option<f64>],
    ) -> Vec<RollupPoint> {
        let upto = minute_of(upto + 1) - crate::state::ledger::MINUTE_MS;
        let mut out = Vec::new();
        if self.closed == i64::MIN {
            self.closed = upto;
            self.minutes.retain(|&m, _| m > upto);
            return out;
        }
        let mut m = self.closed + crate::state::ledger::MINUTE_MS;
        while m <= upto {
            for (l, occ) in occupancy.iter().enumerate() {
                if let Some(o) = occ {
                    out.push(point(
                        "lot",
                        d.lots[l].id.clone(),
                        "occupancy",
                        m,
                        (o * 1000.0).round() / 1000.0,
                    ));
                }
            }
            m += crate::state::ledger::MINUTE_MS;
        }
        let later = self.minutes.split_off(&(upto + 1));
        for (minute, acc) in std::mem::replace(&mut self.minutes, later) {
            if minute <= self.closed {
                continue; // too late for a closed minute
            }
            for (l, (sum, n)) in &acc.dwell {
                let mean_min = *sum as f64 / *n as f64 / 60_000.0;
                out.push(point(
                    "lot",
                    d.lots[*l].id.clone(),
                    "dwell_min",
                    minute,
                    (mean_min * 10.0).round() / 10.0,
                ));
            }
            for ((l, b), n) in &acc.arrivals {
                let lot = &d.lots[*l];
                out.push(point(
                    "bay",
                    format!("{}/{}", lot.id, lot.bays[*b].id),
                    "entries",
                    minute,
                    *n as f64,
                ));
            }
        }
        self.closed = upto;
        out
    }
}

fn point(
    entity: &'static str,
    id: String,
    metric: &'static str,
    minute: i64,
    value: f64,
) -> RollupPoint {
    RollupPoint {
        entity,
        id,
        metric,
        minute,
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ledger::MINUTE_MS as M;
    use BayState::{Free as F, Occupied as O};

    #[test]
    fn dwell_and_turnover_from_bay_changes() {
        let d = crate::parking::testing::hubin();
        let l = d.lots.iter().position(|l| l.bays.len() >= 2).unwrap();
        let n = d.lots[l].bays.len();
        let mut f = Flow::new(&d);
        let mut bays = vec![(F, 0); n];
        f.observe(l, &bays);
        assert!(
            f.close(&d, 10 * M, &[]).is_empty(),
            "the first close only sets the start"
        );
        bays[0] = (O, 10 * M + 1);
        bays[1] = (O, 10 * M + 2);
        f.observe(l, &bays);
        bays[0] = (F, 40 * M + 1); // stayed 30 min
        f.observe(l, &bays);
        bays[0] = (O, 41 * M + 1);
        f.observe(l, &bays);
        let occ: Vec<Option<f64>> = d.lots.iter().map(|_| None).collect();
        let out = f.close(&d, 42 * M, &occ);
        let bay0 = format!("{}/{}", d.lots[l].id, d.lots[l].bays[0].id);
        let arrivals: f64 = out
            .iter()
            .filter(|p| p.entity == "bay" && p.id == bay0)
            .map(|p| p.value)
            .sum();
        assert_eq!(arrivals, 2.0, "turnover of bay 0");
        let dwell: Vec<f64> = out
            .iter()
            .filter(|p| p.metric == "dwell_min")
            .map(|p| p.value)
            .collect();
        assert_eq!(dwell, vec![30.0]);
        assert!(out.iter().all(|p| p.minute % M == 0 && p.minute <= 42 * M));
        assert!(
            f.close(&d, 42 * M, &occ).is_empty(),
            "a minute is closed once"
        );
    }
}
