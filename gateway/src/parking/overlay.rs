//! Reservations and closed lots layered on the pure live snapshots: a lot's `reserved`,
//! `free` (free minus held reservations), `status`, levels, and `R` in the per-bay message.
//!
//! Which bays are shown `R`: the lowest-numbered free bays (file order), one per holding
//! reservation, so the choice is deterministic and moves only when those bays fill.

use district::contract::live::{BaysLive, LotLive, LotStatus};
use district::{Lot, LotCounting};

/// Layers `held` reservations (and `closed`) on a lot snapshot.
pub fn lot(live: &mut LotLive, model: &Lot, bays: Option<&BaysLive>, held: u32, closed: bool) {
    let reserved = held.min(live.free);
    live.reserved = reserved;
    live.free -= reserved;
    if model.counting == LotCounting::Bays {
        if let Some(b) = bays {
            let codes: Vec<char> = b.states.chars().collect();
            for (li, level) in live.levels.iter_mut().enumerate() {
                level.free = model
                    .bays
                    .iter()
                    .zip(&codes)
                    .filter(|(bay, c)| bay.level == li && **c == 'F')
                    .count() as u32;
            }
        }
    } else {
        let mut left = reserved;
        for level in &mut live.levels {
            let take = left.min(level.free);
            level.free -= take;
            left -= take;
        }
    }
    if closed {
        live.status = LotStatus::Closed;
    } else if live.status == LotStatus::Open && live.free == 0 {
        live.status = LotStatus::Full;
    }
}

/// Marks `held` free bays `R` (the lowest-numbered free ones).
pub fn bays(live: &mut BaysLive, held: u32) {
    let mut left = held;
    live.states = live
        .states
        .chars()
        .map(|c| {
            if c == 'F' && left > 0 {
                left -= 1;
                'R'
            } else {
                c
            }
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_bays_are_the_first_free_ones() {
        let mut b = BaysLive {
            lot: "a".into(),
            ts: String::new(),
            states: "OFUFF".into(),
        };
        bays(&mut b, 2);
        assert_eq!(b.states, "ORURF");
        bays(&mut b, 5);
        assert_eq!(b.states, "ORURR");
    }

    #[test]
    fn held_spaces_are_taken_off_free_and_levels() {
        use district::contract::live::LevelLive;
        let d = crate::parking::testing::hubin();
        let l = d
            .lots
            .iter()
            .position(|l| l.counting == LotCounting::Entrances)
            .unwrap();
        let mut live = LotLive {
            lot: d.lots[l].id.clone(),
            ts: String::new(),
            total: 120,
            free: 2,
            occupied: 118,
            reserved: 0,
            unknown: 0,
            status: LotStatus::Open,
            levels: vec![LevelLive {
                level: "G".into(),
                total: 120,
                free: 2,
            }],
            entries_per_hour: 0,
            exits_per_hour: 0,
        };
        lot(&mut live, &d.lots[l], None, 5, false);
        assert_eq!(
            (live.free, live.reserved, live.levels[0].free),
            (0, 2, 0),
            "never more reserved than free"
        );
        assert_eq!(live.status, LotStatus::Full);
        lot(&mut live, &d.lots[l], None, 0, true);
        assert_eq!(live.status, LotStatus::Closed);
    }
}
