//! The API's rate limit: a token bucket per account (per address for callers without a
//! token). A bucket holds up to `burst` requests and refills at `rate` per second; a request
//! that finds it empty is answered 429. Wall time, not the district clock: a simulated clock
//! running 60 times faster must not refill 60 times faster.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets kept before idle, full ones are forgotten (callers without a token are keyed by
/// address, so their number has no bound of its own).
const MAX_BUCKETS: usize = 10_000;

/// One bucket, pure: the time is given.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket at `now`.
    pub fn full(burst: u32, now: Instant) -> Self {
        Bucket {
            tokens: f64::from(burst),
            at: now,
        }
    }

    /// Takes one request at `now`: false when the bucket is empty.
    pub fn take(&mut self, rate: f64, burst: u32, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(f64::from(burst));
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn is_full(&self, rate: f64, burst: u32, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens + elapsed * rate >= f64::from(burst)
    }
}

/// The buckets of every caller.
#[derive(Debug)]
pub struct Limiter {
    rate: f64,
    burst: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limiter {
    /// `rate` requests per second on average, `burst` at once (at least 1 each).
    pub fn new(rate: f64, burst: u32) -> Self {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            f64::MIN_POSITIVE
        };
        Limiter {
            rate,
            burst: burst.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether caller `key` may make a request now.
    pub fn allow(&self, key: &str) -> bool {
        self.allow_at(key, Instant::now())
    }

    fn allow_at(&self, key: &str, now: Instant) -> bool {
        let mut b = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if b.len() >= MAX_BUCKETS && !b.contains_key(key) {
            let (rate, burst) = (self.rate, self.burst);
            b.retain(|_, x| !x.is_full(rate, burst, now));
        }
        b.entry(key.to_string())
            .or_insert_with(|| Bucket::full(self.burst, now))
            .take(self.rate, self.burst, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_passes_then_the_rate_refills() {
        let l = Limiter::new(2.0, 3);
        let t0 = Instant::now();
        assert!((0..3).all(|_| l.allow_at("a", t0)));
        assert!(!l.allow_at("a", t0));
        assert!(l.allow_at("b", t0), "buckets are per caller");
        assert!(!l.allow_at("a", t0 + Duration::from_millis(400)));
        assert!(l.allow_at("a", t0 + Duration::from_millis(500)));
        // A long pause refills up to the burst only.
        let later = t0 + Duration::from_secs(60);
        assert!((0..3).all(|_| l.allow_at("a", later)));
        assert!(!l.allow_at("a", later));
    }

    #[test]
    fn nonsense_settings_still_limit() {
        let l = Limiter::new(f64::NAN, 0);
        let t0 = Instant::now();
        assert!(l.allow_at("a", t0));
        assert!(!l.allow_at("a", t0 + Duration::from_secs(1)));
    }
}
