//! Rejects on their way out: the dead-letter row for the store, and the dead-letter message
//! on `district/{d}/deadletter`, published at most `per_sec` times per district and second
//! (every reject is stored and counted whatever the rate; only the live copy is limited).

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use district::contract::deadletter::DeadLetter;
use district::contract::time::format_millis;
use district::contract::topic;
use tokio::sync::mpsc;

use crate::metrics::Metrics;
use crate::shared::LiveUpdate;
use crate::store::writer::DeadLetterRow;

/// Publishes dead letters, rate-limited per district. Used by the pipeline (rejects found by
/// validation) and by the store's verdicts (readings too late to be new).
#[derive(Debug)]
pub struct DeadLetters {
    tx: mpsc::Sender<LiveUpdate>,
    per_sec: u32,
    metrics: Arc<Metrics>,
    /// Per district index: (wall-clock second, messages published in it).
    budget: Mutex<HashMap<usize, (i64, u32)>>,
}

impl DeadLetters {
    /// Dead letters go to `tx` (the publisher's session), at most `per_sec` per district and
    /// second.
    pub fn new(tx: mpsc::Sender<LiveUpdate>, per_sec: u32, metrics: Arc<Metrics>) -> Self {
        DeadLetters {
            tx,
            per_sec,
            metrics,
            budget: Mutex::default(),
        }
    }

    /// Publishes the dead letter of `row` for served district `district` if this second's
    /// budget allows; a full queue to the publisher skips it (the row is stored either way).
    pub fn publish(&self, district: usize, row: &DeadLetterRow) {
        let second = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        {
            let mut budget = self.budget.lock().expect("dead-letter budget lock");
            let slot = budget.entry(district).or_insert((second, 0));
            if slot.0 != second {
                *slot = (second, 0);
            }
            if slot.1 >= self.per_sec {
                return;
            }
            slot.1 += 1;
        }
        let dl = DeadLetter::new(
            &row.topic,
            row.reason,
            row.detail.clone(),
            &row.payload,
            format_millis(row.received),
        );
        let msg = LiveUpdate {
            topic: topic::deadletter(&row.district),
            payload: serde_json::to_string(&dl).unwrap_or_default().into(),
        };
        if self.tx.try_send(msg).is_ok() {
            self.metrics.deadletters_published.fetch_add(1, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> DeadLetterRow {
        DeadLetterRow {
            received: 0,
            district: "d".into(),
            topic: "district/d/sensors/air/a1".into(),
            reason: "malformed",
            detail: "not JSON".into(),
            payload: b"{".to_vec(),
        }
    }

    #[test]
    fn publishes_at_most_the_budget_per_district_and_second() {
        let (tx, mut rx) = mpsc::channel(100);
        let m = Arc::new(Metrics::default());
        let out = DeadLetters::new(tx, 3, m.clone());
        for _ in 0..10 {
            out.publish(0, &row());
            out.publish(1, &row());
        }
        let mut n = 0;
        while let Ok(msg) = rx.try_recv() {
            assert_eq!(msg.topic, "district/d/deadletter");
            assert!(msg.payload.contains("not JSON"));
            n += 1;
        }
        // Two districts, three each (six, or more only if the wall clock's second turned).
        assert!((6..=12).contains(&n), "{n}");
        assert_eq!(m.deadletters_published.load(Relaxed), n);
    }
}
