//! Counting by flow through the line, for crowds where people cannot be told apart.
//!
//! Every frame the counting line is sampled pixel by pixel: whether the pixel is foreground,
//! and how fast it moves across the line (optical flow, pixels per frame along the line's
//! normal). A person of area `A` who walks through the line sweeps all of `A` across it, so
//! the sum over frames of `foreground × normal speed / A` over the line's pixels is the number
//! of people who crossed, whatever their grouping; `A` comes from the perspective size model
//! for the depth of each pixel.
//!
//! The flow is accumulated per *run*: a stretch of consecutive foreground samples along the
//! line, followed from frame to frame by overlap (a one-dimensional tracker). A run's
//! accumulator is signed, so someone swaying on the line, or stepping onto it and back, adds up
//! to nothing. Whenever a run's accumulator passes +1 (or −1) one person is counted in (out)
//! and 1 is taken off; when a run ends (nobody on that stretch of the line any more) what is
//! left is rounded: half a person or more counts one. Runs that merge add their accumulators;
//! a run that splits shares its accumulator by length.

use crate::count::Direction;

/// One sample of the line in one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Position along the line, pixels from its start.
    pub s: f64,
    /// Whether the pixel is foreground.
    pub fg: bool,
    /// People carried across by this pixel this frame: normal speed × length of the sample /
    /// one person's area at its depth (signed: positive in the `in` direction).
    pub flow: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Run {
    s0: f64,
    s1: f64,
    acc: f64,
}

/// Parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct FluxConfig {
    /// Background gaps up to this long (pixels) do not break a run.
    pub gap: f64,
    /// Runs shorter than this (pixels) are noise.
    pub min_run: f64,
    /// Overlap tolerance when following runs between frames (pixels).
    pub slack: f64,
    /// What is left of a run when it ends counts one person from this much.
    pub round_at: f64,
}

impl Default for FluxConfig {
    fn default() -> Self {
        FluxConfig {
            gap: 3.0,
            min_run: 3.0,
            slack: 2.0,
            round_at: 0.5,
        }
    }
}

/// The flux counter of one line.
#[derive(Debug, Clone, Default)]
pub struct LineFlux {
    cfg: FluxConfig,
    runs: Vec<Run>,
}

impl LineFlux {
    /// A counter.
    pub fn new(cfg: FluxConfig) -> Self {
        LineFlux {
            cfg,
            runs: Vec::new(),
        }
    }

    /// Takes one frame's samples (ordered by `s`); returns the people counted this frame.
    pub fn update(&mut self, samples: &[Sample]) -> Vec<Direction> {
        // This frame's runs with their flow.
        let mut now: Vec<Run> = Vec::new();
        for x in samples.iter().filter(|x| x.fg) {
            match now.last_mut() {
                Some(r) if x.s - r.s1 <= self.cfg.gap + 1.0 => {
                    r.s1 = x.s;
                    r.acc += x.flow;
                }
                _ => now.push(Run {
                    s0: x.s,
                    s1: x.s,
                    acc: x.flow,
                }),
            }
        }
        now.retain(|r| r.s1 - r.s0 + 1.0 >= self.cfg.min_run);
        // Carry the accumulators over: each old run shares its accumulator among the new runs
        // it overlaps, by overlap length.
        let overlap =
            |a: &Run, b: &Run| (a.s1.min(b.s1) - a.s0.max(b.s0) + 1.0 + self.cfg.slack).max(0.0);
        let mut out = Vec::new();
        let mut carried = vec![0.0; now.len()];
        for old in &self.runs {
            let o: Vec<f64> = now.iter().map(|n| overlap(old, n)).collect();
            let total: f64 = o.iter().sum();
            if total <= 0.0 {
                // Nobody on that stretch any more: round what is left.
                if old.acc >= self.cfg.round_at {
                    out.push(Direction::In);
                } else if old.acc <= -self.cfg.round_at {
                    out.push(Direction::Out);
                }
                continue;
            }
            for (c, w) in carried.iter_mut().zip(&o) {
                *c += old.acc * w / total;
            }
        }
        for (r, c) in now.iter_mut().zip(carried) {
            r.acc += c;
            while r.acc >= 1.0 {
                out.push(Direction::In);
                r.acc -= 1.0;
            }
            while r.acc <= -1.0 {
                out.push(Direction::Out);
                r.acc += 1.0;
            }
        }
        self.runs = now;
        out
    }

    /// People on the line not yet counted (signed sum of the open accumulators).
    pub fn open(&self) -> f64 {
        self.runs.iter().map(|r| r.acc).sum()
    }
}

/// The foreground mask resampled in line coordinates: `len` samples along the line, each with
/// `2·half + 1` pixels along the normal (the middle one on the line).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Strip {
    /// Samples along the line.
    pub len: usize,
    /// Pixels on each side of the line.
    pub half: usize,
    /// Row-major: sample `s`, offset `k` (−half..=half) at `s·(2·half+1) + k + half`.
    pub fg: Vec<bool>,
}

impl Strip {
    fn at(&self, s: usize, k: isize) -> Option<bool> {
        let w = 2 * self.half + 1;
        let k = k + self.half as isize;
        (s < self.len && k >= 0 && (k as usize) < w).then(|| self.fg[s * w + k as usize])
    }

    /// Whether sample `s` on the line itself is foreground.
    pub fn on_line(&self, s: usize) -> bool {
        self.at(s, 0).unwrap_or(false)
    }
}

/// How far (pixels along the normal, signed) the silhouette on samples `s0..=s1` moved from
/// `prev` to `cur`: the shift that best overlays the two, by mismatch per compared pixel.
/// Works on silhouettes, so flat-coloured clothes move as well as textured ones.
pub fn silhouette_shift(prev: &Strip, cur: &Strip, s0: usize, s1: usize, max: isize) -> f64 {
    let h = prev.half.min(cur.half) as isize;
    let mut best = (f64::INFINITY, 0isize);
    for d in -max..=max {
        let mut miss = 0usize;
        let mut n = 0usize;
        for s in s0..=s1.min(cur.len.saturating_sub(1)) {
            for k in -h..=h {
                if let (Some(c), Some(p)) = (cur.at(s, k), prev.at(s, k - d)) {
                    n += 1;
                    if c != p {
                        miss += 1;
                    }
                }
            }
        }
        if n > 0 {
            let m = miss as f64 / n as f64 + 1e-4 * (d.abs() as f64);
            if m < best.0 {
                best = (m, d);
            }
        }
    }
    best.1 as f64
}

/// Samples for [`LineFlux::update`] from two consecutive strips: each run of foreground on the
/// line moves by its silhouette shift; `people_per_px(s)` is one over one person's area at
/// sample `s`'s depth (processing pixels²).
pub fn samples_from_strips(
    prev: &Strip,
    cur: &Strip,
    max_shift: isize,
    people_per_px: impl Fn(usize) -> f64,
) -> Vec<Sample> {
    let mut out: Vec<Sample> = (0..cur.len)
        .map(|s| Sample {
            s: s as f64,
            fg: cur.on_line(s),
            flow: 0.0,
        })
        .collect();
    if prev.len != cur.len {
        return out;
    }
    let mut s = 0;
    while s < cur.len {
        if !cur.on_line(s) {
            s += 1;
            continue;
        }
        let s0 = s;
        while s < cur.len && cur.on_line(s) {
            s += 1;
        }
        let s1 = s - 1;
        let v = silhouette_shift(prev, cur, s0, s1, max_shift);
        for x in &mut out[s0..=s1] {
            x.flow = v * people_per_px(x.s as usize);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A person of `len` samples at `s0..` whose crossing spreads `people` over `frames`.
    fn frames_of(s0: f64, len: usize, people: f64, frames: usize) -> Vec<Vec<Sample>> {
        (0..frames)
            .map(|_| {
                (0..len)
                    .map(|i| Sample {
                        s: s0 + i as f64,
                        fg: true,
                        flow: people / (frames * len) as f64,
                    })
                    .collect()
            })
            .collect()
    }

    fn run(flux: &mut LineFlux, frames: &[Vec<Sample>]) -> (usize, usize) {
        let mut r = (0, 0);
        for f in frames {
            for d in flux.update(f) {
                match d {
                    Direction::In => r.0 += 1,
                    Direction::Out => r.1 += 1,
                }
            }
        }
        for d in flux.update(&[]) {
            match d {
                Direction::In => r.0 += 1,
                Direction::Out => r.1 += 1,
            }
        }
        r
    }

    fn strip(len: usize, half: usize, f: impl Fn(usize, isize) -> bool) -> Strip {
        let mut fg = Vec::new();
        for s in 0..len {
            for k in -(half as isize)..=half as isize {
                fg.push(f(s, k));
            }
        }
        Strip { len, half, fg }
    }

    #[test]
    fn a_silhouette_moving_across_the_line() {
        // Samples 10..40 hold a body 8 px wide along the normal, moving +3 px per frame.
        let prev = strip(50, 12, |s, k| (10..40).contains(&s) && (-6..2).contains(&k));
        let cur = strip(50, 12, |s, k| (10..40).contains(&s) && (-3..5).contains(&k));
        assert_eq!(silhouette_shift(&prev, &cur, 10, 39, 8), 3.0);
        assert_eq!(silhouette_shift(&cur, &prev, 10, 39, 8), -3.0);
        let samples = samples_from_strips(&prev, &cur, 8, |_| 0.01);
        assert!(samples[5].flow == 0.0 && !samples[5].fg);
        assert!((samples[20].flow - 0.03).abs() < 1e-12 && samples[20].fg);
    }

    #[test]
    fn one_person_and_a_group() {
        let mut f = LineFlux::new(FluxConfig::default());
        assert_eq!(run(&mut f, &frames_of(10.0, 40, 0.85, 12)), (1, 0));
        assert_eq!(run(&mut f, &frames_of(10.0, 60, -2.3, 12)), (0, 2));
        assert_eq!(run(&mut f, &frames_of(10.0, 60, 2.6, 12)), (3, 0));
    }

    #[test]
    fn swaying_on_the_line_counts_nothing() {
        let mut f = LineFlux::new(FluxConfig::default());
        let mut frames = Vec::new();
        for i in 0..60 {
            let sign = if (i / 3) % 2 == 0 { 1.0 } else { -1.0 };
            frames.push(
                (0..40)
                    .map(|k| Sample {
                        s: 50.0 + k as f64,
                        fg: true,
                        flow: sign * 0.002,
                    })
                    .collect(),
            );
        }
        assert_eq!(run(&mut f, &frames), (0, 0));
        // Half-way in, then back out.
        let mut frames = frames_of(10.0, 40, 0.45, 6);
        frames.extend(frames_of(10.0, 40, -0.45, 6));
        assert_eq!(run(&mut f, &frames), (0, 0));
    }

    #[test]
    fn two_people_crossing_opposite_ways_at_different_heights() {
        let mut f = LineFlux::new(FluxConfig::default());
        let a = frames_of(10.0, 30, 1.0, 10);
        let b = frames_of(100.0, 30, -1.0, 10);
        let both: Vec<Vec<Sample>> = a
            .iter()
            .zip(&b)
            .map(|(x, y)| x.iter().chain(y).copied().collect())
            .collect();
        assert_eq!(run(&mut f, &both), (1, 1));
    }

    #[test]
    fn merging_and_splitting_runs_keep_the_total() {
        let mut f = LineFlux::new(FluxConfig::default());
        let mut frames = Vec::new();
        // Two stretches of 0.4 each, then merged, then split again, each adding flow.
        for _ in 0..5 {
            frames.push(
                (0..20)
                    .map(|k| Sample {
                        s: k as f64,
                        fg: true,
                        flow: 0.004,
                    })
                    .chain((0..20).map(|k| Sample {
                        s: 30.0 + k as f64,
                        fg: true,
                        flow: 0.004,
                    }))
                    .collect(),
            );
        }
        for _ in 0..5 {
            frames.push(
                (0..50)
                    .map(|k| Sample {
                        s: k as f64,
                        fg: true,
                        flow: 0.006,
                    })
                    .collect(),
            );
        }
        // 0.4 + 0.4 + 1.5 = 2.3 people.
        assert_eq!(run(&mut f, &frames), (2, 0));
        // Specks never count.
        let specks: Vec<Vec<Sample>> = (0..20)
            .map(|i| {
                vec![Sample {
                    s: i as f64 * 7.0,
                    fg: true,
                    flow: 0.2,
                }]
            })
            .collect();
        assert_eq!(run(&mut f, &specks), (0, 0));
    }
}
