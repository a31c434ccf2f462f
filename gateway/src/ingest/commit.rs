//! The store's verdicts, applied: what the store committed as new goes into the live state
//! (and wakes the alert task for a fire detector); copies are counted as duplicates; new
//! readings too late for the live state are counted and published as dead letters.
//!
//! Runs on the store writer's thread right after each commit, so the live state holds
//! exactly what the store holds, in commit order.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use super::deadletter::DeadLetters;
use crate::shared::Shared;
use crate::state::Applied;
use crate::store::writer::{OnCommit, Verdict};

/// The store writer's [`OnCommit`] for this gateway.
pub fn apply_verdicts(shared: Arc<Shared>, deadletters: Arc<DeadLetters>) -> OnCommit {
    Box::new(move |verdicts| {
        let metrics = &shared.metrics;
        let mut fire = false;
        // One lock per run of readings of the same district, not one per reading.
        let mut held: Option<(
            usize,
            std::sync::MutexGuard<'_, crate::state::DistrictState>,
        )> = None;
        for (c, verdict) in verdicts {
            match verdict {
                Verdict::Stored => {
                    let h = &shared.districts[c.district];
                    if held.as_ref().is_none_or(|(d, _)| *d != c.district) {
                        drop(held.take()); // release the previous district first
                        held = Some((c.district, h.state()));
                    }
                    let (_, state) = held.as_mut().expect("locked above");
                    let applied = state.apply(c.device, &c.reading);
                    debug_assert_eq!(applied, Applied::Accepted, "shape checked in validation");
                    metrics.accepted.fetch_add(1, Relaxed);
                    fire |= h.model.devices[c.device].kind == district::DeviceKind::Fire;
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
        drop(held);
        if fire {
            shared.alert_wake.notify_one();
        }
    })
}
