//! One message in, one store message out: validation against the district, and the candidate
//! reading (or the dead letter) that the store decides on. Shared by both ways readings
//! arrive: the ingest session on a broker ([`super::pipeline`]) and the device port
//! ([`crate::transport`]).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use super::deadletter::DeadLetters;
use super::validate::{validate, Limits};
use crate::shared::Shared;
use crate::store::writer::{Candidate, DeadLetterRow};
use crate::store::{Ack, StoreMsg};

/// What admission needs: the districts, the dead-letter publisher and the time limits.
#[derive(Debug, Clone)]
pub struct Admission {
    /// The served districts, clock and metrics.
    pub shared: Arc<Shared>,
    /// Rejects, published live (rate-limited).
    pub deadletters: Arc<DeadLetters>,
    /// Clock-skew and late-data limits.
    pub limits: Limits,
}

impl Admission {
    /// Validates one message (counted as received) and returns what to hand to the store: a
    /// candidate reading, or a reject's dead letter (counted by reason and published). `ack`
    /// travels with it and is sent only after the commit.
    pub fn admit(&self, topic: &str, payload: &[u8], ack: Option<Ack>) -> StoreMsg {
        let shared = &self.shared;
        shared.metrics.received.fetch_add(1, Relaxed);
        let arrived = Instant::now();
        let now = shared.clock.now_ms();
        let letter = |district: String, reason: &'static str, detail: String| DeadLetterRow {
            received: now,
            district,
            topic: topic.to_string(),
            reason,
            detail,
            payload: payload.to_vec(),
        };
        match validate(shared, self.limits, topic, payload, now) {
            Ok(v) => {
                let h = &shared.districts[v.district];
                if let Some(why) = &v.clock_untrusted {
                    shared.metrics.fire_clock_untrusted.fetch_add(1, Relaxed);
                    tracing::warn!(district = %h.model.id, device = %h.model.devices[v.device].id, why = %why, "fire alarm taken at arrival time: its own time is not plausible");
                }
                let late = v
                    .late
                    .map(|r| letter(h.model.id.clone(), r.reason(), r.to_string()));
                StoreMsg::Reading(Box::new(Candidate {
                    district: v.district,
                    device: v.device,
                    district_id: h.id.clone(),
                    device_id: h.device_ids[v.device].clone(),
                    kind: h.model.devices[v.device].kind.as_str(),
                    reading: v.reading,
                    arrived,
                    late,
                    ack,
                    rowid: 0,
                }))
            }
            Err((di, reject)) => {
                let reason = reject.reason();
                let district = di
                    .map(|i| shared.districts[i].model.id.clone())
                    .unwrap_or_default();
                self.reject(di, letter(district, reason, reject.to_string()), ack)
            }
        }
    }

    /// A reject found before validation could run (an oversized message on the device port):
    /// counted, published and stored like any other.
    pub fn reject(
        &self,
        district: Option<usize>,
        row: DeadLetterRow,
        ack: Option<Ack>,
    ) -> StoreMsg {
        self.shared.metrics.reject(row.reason);
        if let Some(i) = district {
            self.deadletters.publish(i, &row);
        }
        StoreMsg::DeadLetter { row, ack }
    }
}
