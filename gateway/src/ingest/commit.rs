//! The store's verdicts, applied: what the store committed as new goes to its district's
//! owner ([`crate::owner`]), which applies it to the live state and counts it accepted;
//! copies are counted as duplicates; new readings too late for the live state are counted
//! and published as dead letters.
//!
//! Runs on the store writer's thread right after each commit, so each owner receives exactly
//! what the store holds, in commit order.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use super::deadletter::DeadLetters;
use crate::owner::Input;
use crate::shared::Shared;
use crate::store::writer::{OnCommit, Verdict};

/// The store writer's [`OnCommit`] for this gateway.
pub fn apply_verdicts(shared: Arc<Shared>, deadletters: Arc<DeadLetters>) -> OnCommit {
    Box::new(move |verdicts| {
        let metrics = &shared.metrics;
        // Per district: (fire detectors' readings, the others).
        let mut per_district: BTreeMap<usize, (Vec<_>, Vec<_>)> = BTreeMap::new();
        for (c, verdict) in verdicts {
            match verdict {
                Verdict::Stored => {
                    let lanes = per_district.entry(c.district).or_default();
                    let lane = if c.is_fire() {
                        &mut lanes.0
                    } else {
                        &mut lanes.1
                    };
                    lane.push((c.device, c.reading, c.rowid));
                }
                Verdict::Duplicate => {
                    metrics.duplicates.fetch_add(1, Relaxed);
                }
                Verdict::Late => {
                    if let Some(row) = &c.late {
                        metrics.reject(row.reason);
                        deadletters.publish(c.district, row);
                    }
                }
            }
        }
        for (di, (fire, others)) in per_district {
            let owner = &shared.districts[di].owner;
            // The others first: the urgent lane takes the inbox along with it.
            if !others.is_empty() {
                owner.send(Input::Committed(others));
            }
            if !fire.is_empty() {
                owner.send_urgent(Input::Committed(fire));
            }
        }
    })
}
