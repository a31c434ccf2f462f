//! Retry delays: capped exponential backoff with jitter, pure and seedable.
//!
//! The `n`-th consecutive failure waits a random time in `[d/2, d]` where
//! `d = min(max, min · 2ⁿ)` ("equal jitter": never less than half the step, so a
//! failing server is not hammered, and never in lock-step with other gateways). A success
//! resets the step. Tests pass a seed and get the same delays every run.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Backoff state of one target.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    failures: u32,
    rng: ChaCha8Rng,
}

impl Backoff {
    /// A backoff between `min` and `max`; `seed` fixes the jitter (random when `None`).
    pub fn new(min: Duration, max: Duration, seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(s) => ChaCha8Rng::seed_from_u64(s),
            None => ChaCha8Rng::from_entropy(),
        };
        Backoff {
            min,
            max: max.max(min),
            failures: 0,
            rng,
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
        let jitter = self.rng.gen_range(0..=(step - half).as_micros() as u64);
        half + Duration::from_micros(jitter)
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// After a success.
    pub fn reset(&mut self) {
        self.failures = 0;
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
        // Deterministic with a seed.
        let mut again = Backoff::new(min, max, Some(7));
        assert_eq!(
            delays,
            (0..8).map(|_| again.next_delay()).collect::<Vec<_>>()
        );
        b.reset();
        assert!(b.next_delay() <= min);
        assert_eq!(b.failures(), 1);
    }
}
