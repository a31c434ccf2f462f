//! Crowd surges from scenarios: extra people pushed into a zone over a ramp, held, then let go.

/// How big a crowd surge is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SurgeSize {
    /// Extra people on top of the normal target.
    People(u32),
    /// The target is raised to at least this density (persons/m² of the zone's area).
    Density(f64),
}

/// A crowd surge: extra people pushed into a zone over a ramp, held, then leaving over a ramp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Surge {
    /// Zone index.
    pub zone: usize,
    /// Start, epoch ms.
    pub start_ms: i64,
    /// Ramp up (and down) time, ms.
    pub ramp_ms: i64,
    /// Time held at full size, ms.
    pub hold_ms: i64,
    /// Size.
    pub size: SurgeSize,
}

impl Surge {
    /// Whether the surge is ramping up at `t`.
    pub(crate) fn rising(&self, t: i64) -> bool {
        t > self.start_ms && t < self.start_ms + self.ramp_ms
    }

    /// 0 before and after, 1 while held, linear on the ramps.
    pub(crate) fn factor(&self, t: i64) -> f64 {
        let ramp = self.ramp_ms.max(1) as f64;
        let d = (t - self.start_ms) as f64;
        let up_end = ramp;
        let hold_end = up_end + self.hold_ms as f64;
        if d <= 0.0 || d >= hold_end + ramp {
            0.0
        } else if d < up_end {
            d / ramp
        } else if d <= hold_end {
            1.0
        } else {
            1.0 - (d - hold_end) / ramp
        }
    }
}
