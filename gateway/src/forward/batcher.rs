//! A batch being built: line protocol text, its point counts, and the cursor it moves to once
//! the server accepts it. Sent when full (`batch_points`) or when its oldest point has waited
//! `batch_age`; so a backlog goes out in full batches at once, and live traffic in small
//! batches within `batch_age`.

use std::time::{Duration, Instant};

use super::cursor::Cursor;

/// One batch.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Line protocol, one point per line.
    pub body: String,
    /// Raw reading points.
    pub readings: usize,
    /// Rollup points.
    pub rollups: usize,
    /// Alert transition points.
    pub alerts: usize,
    /// Raw readings found pruned (rowid gaps) while filling.
    pub lost: u64,
    /// Rows that could not be mapped (unknown rollup metric, undecodable reading).
    pub unmapped: u64,
    /// The cursor once this batch is accepted.
    pub next: Cursor,
    /// When its first point was added.
    pub first_at: Option<Instant>,
}

impl Batch {
    /// An empty batch starting at `from`.
    pub fn new(from: &Cursor) -> Self {
        Batch {
            body: String::new(),
            readings: 0,
            rollups: 0,
            alerts: 0,
            lost: 0,
            unmapped: 0,
            next: from.clone(),
            first_at: None,
        }
    }

    /// Points in the batch.
    pub fn points(&self) -> usize {
        self.readings + self.rollups + self.alerts
    }

    /// Notes the time of the first point.
    pub fn touch(&mut self, now: Instant) {
        if self.first_at.is_none() && self.points() > 0 {
            self.first_at = Some(now);
        }
    }

    /// Whether to send now: full, or the oldest point waited `age`.
    pub fn ready(&self, limit: usize, age: Duration, now: Instant) -> bool {
        self.points() >= limit
            || self
                .first_at
                .is_some_and(|t| now.saturating_duration_since(t) >= age)
    }

    /// How long until it is due by age (zero when due or empty).
    pub fn due_in(&self, age: Duration, now: Instant) -> Duration {
        self.first_at
            .map_or(Duration::ZERO, |t| (t + age).saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_sent_when_full_or_old_enough() {
        let t0 = Instant::now();
        let age = Duration::from_secs(1);
        let mut b = Batch::new(&Cursor::default());
        b.touch(t0);
        assert!(b.first_at.is_none(), "an empty batch has no age");
        assert!(!b.ready(10, age, t0 + Duration::from_secs(5)));
        b.readings = 3;
        b.touch(t0);
        b.rollups = 2;
        b.touch(t0 + Duration::from_millis(300));
        assert_eq!(b.first_at, Some(t0));
        assert!(!b.ready(10, age, t0 + Duration::from_millis(900)));
        assert_eq!(
            b.due_in(age, t0 + Duration::from_millis(900)),
            Duration::from_millis(100)
        );
        assert!(b.ready(10, age, t0 + age));
        assert!(b.ready(5, age, t0), "full");
    }
}
