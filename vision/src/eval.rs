//! Scoring counted crossings against the truth.
//!
//! Two views, both reported:
//! - **counts**: per direction, counted minus true; the error per 100 true crossings is
//!   `(|Δin| + |Δout|) / (true in + true out) × 100`, and accuracy is 100 minus that. This is
//!   what a reading's totals show and what counting-camera vendors quote.
//! - **events**: each counted person is matched to a true crossing of the same direction within
//!   a few frames (greedily, nearest first); unmatched counts are false, unmatched truths are
//!   missed. A miss and a false count can cancel in the totals but not here.

use serde::{Deserialize, Serialize};

use crate::count::{Crossing, Direction};

/// One true crossing of a reference (synthetic truth, or a hand-counted video).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefCrossing {
    /// Frame where the person passed the line.
    pub frame: u64,
    /// Direction.
    pub direction: Direction,
    /// Who (a label or an id).
    #[serde(default)]
    pub who: String,
    /// Why the case is doubtful, if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doubtful: Option<String>,
}

/// A reference: the true crossings of one video for one line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// The video it describes.
    pub video: String,
    /// Counting line, `x1,y1,x2,y2`.
    pub line: String,
    /// `in` direction.
    pub in_direction: String,
    /// Frames in the video.
    pub frames: u64,
    /// The crossings.
    pub crossings: Vec<RefCrossing>,
    /// Cases that were looked at and are *not* crossings, with why (documentation only).
    #[serde(default)]
    pub not_counted: Vec<String>,
}

impl Reference {
    /// True (in, out).
    pub fn totals(&self) -> (u64, u64) {
        let ins = self
            .crossings
            .iter()
            .filter(|c| c.direction == Direction::In)
            .count() as u64;
        (ins, self.crossings.len() as u64 - ins)
    }
}

/// The score of one video.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Score {
    /// True in.
    pub true_in: u64,
    /// True out.
    pub true_out: u64,
    /// Counted in.
    pub counted_in: u64,
    /// Counted out.
    pub counted_out: u64,
    /// Counted people matched to a true crossing.
    pub matched: u64,
    /// Counted people with no true crossing (false counts).
    pub false_counts: u64,
    /// True crossings nobody counted.
    pub missed: u64,
    /// `|Δin| + |Δout|` of each video, summed over the videos added together: one clip's
    /// overcount never hides another's undercount (each clip stands for one reading).
    pub clip_error: u64,
}

impl Score {
    /// `|Δin| + |Δout|`, per video, summed over the videos added together.
    pub fn count_error(&self) -> u64 {
        self.clip_error
    }

    /// Count error per 100 true crossings (per video, summed: see [`Score::clip_error`]).
    pub fn error_per_100(&self) -> f64 {
        let t = self.true_in + self.true_out;
        if t == 0 {
            return if self.count_error() == 0 { 0.0 } else { 100.0 };
        }
        100.0 * self.count_error() as f64 / t as f64
    }

    /// Event errors (false + missed) per 100 true crossings.
    pub fn event_error_per_100(&self) -> f64 {
        let t = (self.true_in + self.true_out).max(1);
        100.0 * (self.false_counts + self.missed) as f64 / t as f64
    }

    /// Adds another video's score.
    pub fn add(&mut self, o: &Score) {
        self.true_in += o.true_in;
        self.true_out += o.true_out;
        self.counted_in += o.counted_in;
        self.counted_out += o.counted_out;
        self.matched += o.matched;
        self.false_counts += o.false_counts;
        self.missed += o.missed;
        self.clip_error += o.clip_error;
    }
}

/// Scores `counted` against `truth` (frame, direction); counts within `tolerance` frames match.
pub fn score(truth: &[(u64, Direction)], counted: &[Crossing], tolerance: u64) -> Score {
    let mut s = Score::default();
    for (_, d) in truth {
        match d {
            Direction::In => s.true_in += 1,
            Direction::Out => s.true_out += 1,
        }
    }
    // One entry per counted person.
    let mut people: Vec<(u64, Direction)> = Vec::new();
    for c in counted {
        for _ in 0..c.people {
            people.push((c.frame, c.direction));
        }
        match c.direction {
            Direction::In => s.counted_in += c.people as u64,
            Direction::Out => s.counted_out += c.people as u64,
        }
    }
    // Greedy matching, closest pairs first.
    let mut pairs: Vec<(u64, usize, usize)> = Vec::new();
    for (i, t) in truth.iter().enumerate() {
        for (j, p) in people.iter().enumerate() {
            let d = t.0.abs_diff(p.0);
            if t.1 == p.1 && d <= tolerance {
                pairs.push((d, i, j));
            }
        }
    }
    pairs.sort_unstable();
    let mut used_t = vec![false; truth.len()];
    let mut used_p = vec![false; people.len()];
    for (_, i, j) in pairs {
        if !used_t[i] && !used_p[j] {
            used_t[i] = true;
            used_p[j] = true;
            s.matched += 1;
        }
    }
    s.missed = used_t.iter().filter(|u| !**u).count() as u64;
    s.false_counts = used_p.iter().filter(|u| !**u).count() as u64;
    s.clip_error = s.true_in.abs_diff(s.counted_in) + s.true_out.abs_diff(s.counted_out);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(frame: u64, direction: Direction, people: u32) -> Crossing {
        Crossing {
            frame,
            track: 0,
            direction,
            people,
        }
    }

    #[test]
    fn counts_and_events() {
        let truth = [
            (10, Direction::In),
            (50, Direction::In),
            (90, Direction::Out),
        ];
        // One right, one counted late but in time, one false out, one missed in.
        let counted = [
            c(12, Direction::In, 1),
            (c(95, Direction::Out, 1)),
            c(200, Direction::Out, 1),
        ];
        let s = score(&truth, &counted, 10);
        assert_eq!(
            (s.true_in, s.true_out, s.counted_in, s.counted_out),
            (2, 1, 1, 2)
        );
        assert_eq!((s.matched, s.false_counts, s.missed), (2, 1, 1));
        assert_eq!(s.count_error(), 2);
        assert!((s.error_per_100() - 200.0 / 3.0).abs() < 1e-9);
        // A group counted as two matches two truths.
        let s = score(
            &[(10, Direction::In), (11, Direction::In)],
            &[c(12, Direction::In, 2)],
            5,
        );
        assert_eq!((s.matched, s.false_counts, s.missed), (2, 0, 0));
    }

    #[test]
    fn clips_do_not_cancel() {
        // One clip counts one too many in, the next one too few: the sum is right, the
        // readings were not.
        let mut all = score(&[(10, Direction::In)], &[c(10, Direction::In, 2)], 5);
        all.add(&score(
            &[(10, Direction::In), (20, Direction::In)],
            &[c(10, Direction::In, 1)],
            5,
        ));
        assert_eq!((all.true_in, all.counted_in), (3, 3));
        assert_eq!(all.count_error(), 2);
        assert!((all.error_per_100() - 200.0 / 3.0).abs() < 1e-9);
    }
}
