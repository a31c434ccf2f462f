//! Retry delays, one helper for every reconnect and retry loop of the project (the gateway's
//! MQTT sessions and forwarders, the simulator, the people counter, the twin): capped
//! exponential backoff with jitter, pure and seedable.
//!
//! The `n`-th consecutive failure waits a random time in `[d/2, d]` where
//! `d = min(max, min · 2ⁿ)` ("equal jitter": never less than half the step, so a failing
//! server is not hammered, and never in lock-step with other clients that failed at the same
//! moment). A success resets the step. With a seed the delays are the same every run.

use std::time::Duration;

/// Backoff state of one retry loop.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    failures: u32,
    rng: u64,
}

impl Backoff {
    /// A backoff between `min` and `max`; `seed` fixes the jitter (from the clock when `None`).
    pub fn new(min: Duration, max: Duration, seed: Option<u64>) -> Self {
        let seed = seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                ^ u64::from(std::process::id()).rotate_left(32)
        });
        Backoff {
            min,
            max: max.max(min),
            failures: 0,
            rng: seed,
        }
    }

    /// The delay before the next attempt, after one more failure.
    pub fn next_delay(&mut self) -> Duration {
        let step = self
            .min
            .checked_mul(1u32 << self.failures.min(30))
            .unwrap_or(self.max)
            .min(self.max);
        self.failures = self.failures.saturating_add(1);
        let half = step / 2;
        let span = (step - half).as_micros() as u64;
        half + Duration::from_micros(self.next_random() % (span + 1))
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// After a success.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// SplitMix64: small, fast and good enough for jitter.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_with_bounded_jitter_and_reset() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(2));
        let mut b = Backoff::new(min, max, Some(7));
        let delays: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        let steps = [100, 200, 400, 800, 1600, 2000, 2000, 2000];
        for (d, s) in delays.iter().zip(steps) {
            let s = Duration::from_millis(s);
            assert!(*d >= s / 2 && *d <= s, "{d:?} outside [{:?}, {s:?}]", s / 2);
        }
        // Jitter: the capped delays are not all equal.
        assert!(delays[5..].windows(2).any(|w| w[0] != w[1]), "{delays:?}");
        // Deterministic with a seed; another seed gives other delays.
        let mut again = Backoff::new(min, max, Some(7));
        assert_eq!(
            delays,
            (0..8).map(|_| again.next_delay()).collect::<Vec<_>>()
        );
        let mut other = Backoff::new(min, max, Some(8));
        assert_ne!(
            delays,
            (0..8).map(|_| other.next_delay()).collect::<Vec<_>>()
        );
        b.reset();
        assert!(b.next_delay() <= min);
        assert_eq!(b.failures(), 1);
    }

    #[test]
    fn a_huge_failure_count_stays_at_the_cap() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30), Some(1));
        for _ in 0..1000 {
            let d = b.next_delay();
            assert!(d <= Duration::from_secs(30));
        }
        assert!(b.next_delay() >= Duration::from_secs(15));
    }
}
