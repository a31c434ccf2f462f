//! Line-crossing counts with hysteresis.
//!
//! Each track has a *side* of the counting region: the last side its anchor point (feet, or box
//! centre) was seen on **beyond a band** of half-width [`CounterConfig::band`] pixels around the
//! line. A crossing is counted when a track is next seen beyond the band on the other side:
//! - jitter on the line never counts (the side only changes outside the band);
//! - a person who walks up to the line, stands on it and goes back is not counted;
//! - a person who crosses and comes back counts once each way;
//! - a track first seen inside the band takes its side from where it leaves the band, without
//!   a count (nobody saw it come from the other side);
//! - a track split from a group inherits the group's side, so a person who leaves a group after
//!   the line is counted once, as the person the group stood for;
//! - only observations count: a position predicted while the person is hidden, or guessed
//!   while they are inside a group's blob, never changes a side; the crossing is counted when
//!   the person is seen on their own on the other side, or when the whole blob of the group
//!   they are in is on the other side.
//!
//! The band is the larger of [`CounterConfig::band`] and half the person's width, so people
//! near the camera, who look wide, must get further past the line.
//!
//! A tentative track's crossing waits until the track is confirmed, and is dropped if the track
//! ends unconfirmed (noise does not count). A track standing for a group of `n` people counts
//! `n`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::geometry::{BBox, CountingRegion, Point};
use crate::tracker::{Track, TrackEvents};

/// Which point of a person's box is tested against the counting region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Anchor {
    /// The middle of the box's bottom edge (where the person stands): right for lines drawn on
    /// the ground.
    #[default]
    Foot,
    /// The box centre.
    Centre,
}

/// Counter parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterConfig {
    /// Half-width of the hysteresis band around the line, image pixels.
    pub band: f64,
    /// Which point of the box is tested.
    pub anchor: Anchor,
    /// How far beyond a line segment's ends a crossing still counts, pixels.
    pub extent_margin: f64,
    /// The band is at least this fraction of the person's width (a person near the camera must
    /// get further past the line than one far away).
    pub band_body: f64,
    /// Hybrid counting: tracks count one person each, and crossings of tracks inside blobs of
    /// more people than tracks are left to the flow counter.
    pub flow_owns_unresolved: bool,
}

impl CounterConfig {
    /// Defaults for an image `width` pixels wide: a band of 2 % of the width (at least 4 px).
    pub fn for_width(width: f64) -> Self {
        CounterConfig {
            band: (0.02 * width).max(4.0),
            anchor: Anchor::Foot,
            extent_margin: 0.02 * width,
            band_body: 0.5,
            flow_owns_unresolved: false,
        }
    }
}

/// Direction of a crossing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// In the configured `in` direction (or into the polygon).
    In,
    /// The other way.
    Out,
}

/// One counted crossing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Crossing {
    /// Frame index where the side changed (for a tentative track, where it happened, not where
    /// it was confirmed).
    pub frame: u64,
    /// Track id.
    pub track: u64,
    /// Direction.
    pub direction: Direction,
    /// People counted (a group seen as one blob counts more than one).
    pub people: u32,
}

/// Totals since the counter started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Totals {
    /// People in.
    pub ins: u64,
    /// People out.
    pub outs: u64,
}

impl Totals {
    /// Adds one crossing.
    pub fn add(&mut self, c: &Crossing) {
        match c.direction {
            Direction::In => self.ins += c.people as u64,
            Direction::Out => self.outs += c.people as u64,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Before,
    After,
}

#[derive(Debug, Clone, Default)]
struct TrackSide {
    side: Option<Side>,
    pending: Vec<Crossing>,
}

/// The counter: feed it every frame's tracks.
#[derive(Debug, Clone)]
pub struct LineCounter {
    region: CountingRegion,
    cfg: CounterConfig,
    sides: HashMap<u64, TrackSide>,
    totals: Totals,
}

impl LineCounter {
    /// A counter for `region`.
    pub fn new(region: CountingRegion, cfg: CounterConfig) -> Self {
        LineCounter {
            region,
            cfg,
            sides: HashMap::new(),
            totals: Totals::default(),
        }
    }

    /// The counting region.
    pub fn region(&self) -> &CountingRegion {
        &self.region
    }

    /// The configuration.
    pub fn config(&self) -> &CounterConfig {
        &self.cfg
    }

    /// Totals so far.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// The point of a track tested against the region.
    pub fn anchor(&self, t: &Track) -> Point {
        match self.cfg.anchor {
            Anchor::Foot => t.bbox.foot(),
            Anchor::Centre => t.centre(),
        }
    }

    /// The side a whole box is on, beyond `band` (None when it touches the band).
    fn box_side(&self, b: &BBox, band: f64) -> Option<Side> {
        let corners = [
            Point::new(b.x, b.y),
            Point::new(b.right(), b.y),
            Point::new(b.x, b.bottom()),
            Point::new(b.right(), b.bottom()),
        ];
        let d: Vec<f64> = corners
            .iter()
            .map(|p| self.region.signed_distance(*p))
            .collect();
        if d.iter().all(|v| *v > band) {
            Some(Side::After)
        } else if d.iter().all(|v| *v < -band) {
            Some(Side::Before)
        } else {
            None
        }
    }

    /// Processes one frame: `tracks` after the tracker's update, `events` from it. Returns the
    /// crossings counted this frame.
    pub fn update(&mut self, frame: u64, tracks: &[Track], events: &TrackEvents) -> Vec<Crossing> {
        let mut out = Vec::new();
        for (child, parent) in &events.splits {
            let side = self.sides.get(parent).and_then(|s| s.side);
            self.sides.entry(*child).or_default().side = side;
        }
        for t in tracks {
            let a = self.anchor(t);
            let d = self.region.signed_distance(a);
            let band = self.cfg.band.max(self.cfg.band_body * t.bbox.w);
            // Only the track's own observations move it across: not a prediction while it is
            // hidden, not a guess while it is inside a group.
            let now = if t.observed() {
                if d > band {
                    Some(Side::After)
                } else if d < -band {
                    Some(Side::Before)
                } else {
                    None
                }
            } else if let Some(g) = t.group_box.filter(|_| t.seen) {
                // Inside a group: its members are on a side once the whole group blob is.
                self.box_side(&g, band)
            } else {
                None
            };
            let within = self.region.within_extent(a, self.cfg.extent_margin);
            let st = self.sides.entry(t.id).or_default();
            if let Some(now) = now {
                match st.side {
                    // In hybrid counting, people in a blob of more people than tracks are
                    // counted by the flow through the line: the side moves without a count.
                    Some(prev)
                        if prev != now
                            && within
                            && self.cfg.flow_owns_unresolved
                            && t.unresolved =>
                    {
                        st.side = Some(now);
                    }
                    Some(prev) if prev != now && within => {
                        st.pending.push(Crossing {
                            frame,
                            track: t.id,
                            direction: if now == Side::After {
                                Direction::In
                            } else {
                                Direction::Out
                            },
                            people: t.people.max(1),
                        });
                        st.side = Some(now);
                    }
                    // Passing beside a line segment's end changes side without a count.
                    _ => st.side = Some(now),
                }
            }
            if t.confirmed() && !st.pending.is_empty() {
                for c in st.pending.drain(..) {
                    self.totals.add(&c);
                    out.push(c);
                }
            }
        }
        for id in &events.ended {
            self.sides.remove(id);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{BBox, InDirection};
    use crate::tracker::{Detection, Tracker, TrackerConfig};

    fn run(path: &[f64], band: f64) -> (Totals, Vec<Crossing>) {
        let region = CountingRegion::parse("100,0,100,200", InDirection::LeftToRight).unwrap();
        let mut cfg = CounterConfig::for_width(200.0);
        cfg.band = band;
        let mut counter = LineCounter::new(region, cfg);
        let mut tracker = Tracker::new(TrackerConfig::for_fps(10.0), 200.0, 200.0);
        let mut all = Vec::new();
        for (f, x) in path.iter().enumerate() {
            let ev = tracker.update(&[Detection::from_box(BBox::centred(
                Point::new(*x, 100.0),
                10.0,
                30.0,
            ))]);
            all.extend(counter.update(f as u64, tracker.tracks(), &ev));
        }
        (counter.totals(), all)
    }

    #[test]
    fn a_walk_across_counts_once() {
        let path: Vec<f64> = (0..40).map(|i| 40.0 + 3.0 * i as f64).collect();
        let (t, c) = run(&path, 5.0);
        assert_eq!(t, Totals { ins: 1, outs: 0 });
        assert_eq!(c[0].direction, Direction::In);
        let back: Vec<f64> = path.iter().rev().copied().collect();
        assert_eq!(run(&back, 5.0).0, Totals { ins: 0, outs: 1 });
    }

    #[test]
    fn jitter_on_the_line_does_not_count() {
        let mut path: Vec<f64> = (0..15).map(|i| 60.0 + 2.5 * i as f64).collect();
        for i in 0..30 {
            path.push(if i % 2 == 0 { 97.0 } else { 103.0 });
        }
        path.extend((0..15).map(|i| 97.0 - 2.5 * i as f64));
        assert_eq!(run(&path, 5.0).0, Totals::default());
    }

    #[test]
    fn there_and_back_counts_both_ways() {
        let mut path: Vec<f64> = (0..20).map(|i| 60.0 + 4.0 * i as f64).collect();
        path.extend((0..20).map(|i| 140.0 - 4.0 * i as f64));
        assert_eq!(run(&path, 5.0).0, Totals { ins: 1, outs: 1 });
    }

    #[test]
    fn born_in_the_band_is_not_counted() {
        let path: Vec<f64> = (0..20).map(|i| 100.0 + 3.0 * i as f64).collect();
        assert_eq!(run(&path, 5.0).0, Totals::default());
    }

    #[test]
    fn line_segment_ends() {
        // A segment from y=0 to y=50 does not count people walking at y=100.
        let region = CountingRegion::parse("100,0,100,50", InDirection::LeftToRight).unwrap();
        let mut counter = LineCounter::new(region, CounterConfig::for_width(200.0));
        let mut tracker = Tracker::new(TrackerConfig::for_fps(10.0), 200.0, 200.0);
        for i in 0..40 {
            let x = 40.0 + 3.0 * i as f64;
            let ev = tracker.update(&[Detection::from_box(BBox::centred(
                Point::new(x, 100.0),
                10.0,
                30.0,
            ))]);
            counter.update(i, tracker.tracks(), &ev);
        }
        assert_eq!(counter.totals(), Totals::default());
    }
}
