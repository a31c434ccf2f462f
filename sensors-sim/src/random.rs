//! Deterministic randomness: one ChaCha8 stream per (seed, replica, subsystem), and the few
//! distributions the simulator needs, written out here so that a run depends only on the seed
//! (never on the wall clock, and not on another crate's choice of algorithm).
//!
//! Each subsystem draws from its own stream, so that, for example, turning the counter error on
//! changes what the counters report but not what the people do.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random number generator of the simulator.
pub(crate) type SimRng = ChaCha8Rng;

/// The independent random streams of one replica.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    /// Fixed per-run layout choices (zone weights, dwell times, meter shares).
    Layout = 1,
    /// Crossings of the line counters.
    People,
    /// Car arrivals, dwell times and bay choice.
    Parking,
    /// Weather and air monitor noise.
    Air,
    /// Energy meter noise.
    Energy,
    /// Which detectors of a building go into alarm.
    Fire,
    /// Counter error (missed and double-counted crossings).
    CounterError,
    /// Which devices carry malformed messages.
    Malformed,
}

/// The stream `stream` of replica `replica` (0 when the district is not scaled) for `seed`.
pub(crate) fn rng(seed: u64, replica: usize, stream: Stream) -> SimRng {
    let mut r = ChaCha8Rng::seed_from_u64(mix(seed ^ mix(replica as u64 + 1)));
    r.set_stream(stream as u64);
    r
}

/// The splitmix64 finaliser: a cheap, well-mixed hash of a `u64`.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stable hash of a text (FNV-1a, then mixed), for per-device phases that must not depend on
/// iteration order.
pub(crate) fn hash_str(seed: u64, s: &str) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix(h ^ seed)
}

/// Uniform in `[0, 1)`.
pub(crate) fn unit(r: &mut SimRng) -> f64 {
    r.gen::<f64>()
}

/// Uniform in `[lo, hi)`.
pub(crate) fn uniform(r: &mut SimRng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * unit(r)
}

/// Uniform index in `0..n` (`n` > 0).
pub(crate) fn index(r: &mut SimRng, n: usize) -> usize {
    r.gen_range(0..n)
}

/// Standard normal (Box–Muller; the second variate is dropped for simplicity).
pub(crate) fn normal(r: &mut SimRng) -> f64 {
    let u1 = 1.0 - unit(r); // (0, 1]
    let u2 = unit(r);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Poisson with mean `lambda`: exact inversion below 12, a rounded normal above.
pub(crate) fn poisson(r: &mut SimRng, lambda: f64) -> u32 {
    if lambda.is_nan() || lambda <= 0.0 {
        return 0;
    }
    if lambda < 12.0 {
        let u = unit(r);
        let mut p = (-lambda).exp();
        let mut cdf = p;
        let mut k = 0u32;
        while u > cdf && k < 200 {
            k += 1;
            p *= lambda / k as f64;
            cdf += p;
        }
        k
    } else {
        let x = lambda + lambda.sqrt() * normal(r);
        x.round().clamp(0.0, u32::MAX as f64 / 2.0) as u32
    }
}

/// What a counter with error `p` reports for `n` real crossings: each crossing is missed with
/// probability `p` and counted twice with probability `p / 3`.
pub(crate) fn observe(r: &mut SimRng, n: u32, p: f64) -> u32 {
    if p <= 0.0 {
        return n;
    }
    let mut seen = 0;
    for _ in 0..n {
        let u = unit(r);
        seen += if u < p {
            0
        } else if u < p + p / 3.0 {
            2
        } else {
            1
        };
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_has_the_right_mean_on_both_branches() {
        let mut r = rng(7, 0, Stream::People);
        for lambda in [0.3, 4.0, 40.0] {
            let n = 20_000;
            let sum: u64 = (0..n).map(|_| poisson(&mut r, lambda) as u64).sum();
            let mean = sum as f64 / n as f64;
            assert!(
                (mean - lambda).abs() < 0.05 * lambda + 0.02,
                "{lambda}: {mean}"
            );
        }
        assert_eq!(poisson(&mut r, 0.0), 0);
        assert_eq!(poisson(&mut r, f64::NAN), 0);
    }

    #[test]
    fn streams_differ_by_seed_replica_and_stream() {
        let a = unit(&mut rng(1, 0, Stream::People));
        assert_eq!(a, unit(&mut rng(1, 0, Stream::People)));
        assert_ne!(a, unit(&mut rng(2, 0, Stream::People)));
        assert_ne!(a, unit(&mut rng(1, 1, Stream::People)));
        assert_ne!(a, unit(&mut rng(1, 0, Stream::Parking)));
        // Seed + replica collisions (1, 1) vs (2, 0) do not share a stream.
        assert_ne!(
            unit(&mut rng(1, 1, Stream::Air)),
            unit(&mut rng(2, 0, Stream::Air))
        );
    }

    #[test]
    fn counter_error_misses_and_double_counts() {
        let mut r = rng(3, 0, Stream::CounterError);
        assert_eq!(observe(&mut r, 1000, 0.0), 1000);
        let seen = observe(&mut r, 100_000, 0.06);
        // Expected 1 - 0.06 + 0.02 = 0.96 of the real crossings.
        assert!((seen as f64 / 100_000.0 - 0.96).abs() < 0.005, "{seen}");
    }
}
