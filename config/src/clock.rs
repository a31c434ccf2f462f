//! The one clock of a run: wall time in production, or simulated time (a start instant and a
//! speed) shared by the simulator and the gateway in demos and tests.
//!
//! `--start 2026-11-21T08:00:00+08:00 --speed 60` means: when the process starts, simulated time
//! is 08:00 and it advances 60 simulated seconds per wall second. Two processes given the same
//! flags agree up to the gap between their starts; the gateway's late-data window absorbs that.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Wall or simulated time.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Wall,
    Simulated {
        start_ms: i64,
        origin: Instant,
        speed: f64,
    },
}

impl Clock {
    /// Wall-clock time.
    pub fn wall() -> Self {
        Clock { kind: Kind::Wall }
    }

    /// Simulated time starting now at `start`, running `speed` times faster than wall time
    /// (`speed` ≤ 0 is taken as 1).
    pub fn simulated(start: DateTime<Utc>, speed: f64) -> Self {
        let speed = if speed > 0.0 && speed.is_finite() {
            speed
        } else {
            1.0
        };
        Clock {
            kind: Kind::Simulated {
                start_ms: start.timestamp_millis(),
                origin: Instant::now(),
                speed,
            },
        }
    }

    /// Now, epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        match self.kind {
            Kind::Wall => Utc::now().timestamp_millis(),
            Kind::Simulated {
                start_ms,
                origin,
                speed,
            } => start_ms + (origin.elapsed().as_secs_f64() * speed * 1000.0) as i64,
        }
    }

    /// Now as a date-time.
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.now_ms()).unwrap_or_default()
    }

    /// Simulated seconds per wall second (1 for wall time).
    pub fn speed(&self) -> f64 {
        match self.kind {
            Kind::Wall => 1.0,
            Kind::Simulated { speed, .. } => speed,
        }
    }

    /// Whether this is a simulated clock.
    pub fn is_simulated(&self) -> bool {
        matches!(self.kind, Kind::Simulated { .. })
    }

    /// The wall duration that a span of clock time takes.
    pub fn to_wall(&self, clock_span: Duration) -> Duration {
        clock_span.div_f64(self.speed())
    }

    /// The wall instant at which the clock reads `ts_ms` (now if already past; wall clocks
    /// convert through the system time).
    pub fn wall_instant_of(&self, ts_ms: i64) -> Instant {
        let ahead_ms = (ts_ms - self.now_ms()).max(0) as f64;
        Instant::now() + Duration::from_secs_f64(ahead_ms / 1000.0 / self.speed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_clock_starts_at_start_and_runs_fast() {
        let start = DateTime::parse_from_rfc3339("2026-11-21T08:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        let c = Clock::simulated(start, 3600.0);
        let t0 = c.now_ms();
        assert!(
            t0 - start.timestamp_millis() < 3_600_000,
            "within a wall second of start"
        );
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            c.now_ms() - t0 >= 70_000,
            "20 ms of wall time is over 70 s simulated"
        );
        assert_eq!(c.to_wall(Duration::from_secs(3600)), Duration::from_secs(1));
    }
}
