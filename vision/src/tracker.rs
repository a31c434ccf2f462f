//! The multi-person tracker: constant-velocity prediction, gated optimal assignment
//! ([`crate::assign`]), coasting through short occlusions, and merge/split handling.
//!
//! Per frame, given the detections (foreground blobs or detector boxes):
//! 1. every track predicts its box one frame ahead;
//! 2. tracks and detections are paired by the Hungarian method on a cost that mixes the
//!    centre distance (in units of the person's size) and the change of size, with a gate that
//!    widens while a track coasts;
//! 3. a paired track corrects its position and velocity (an alpha–beta filter);
//! 4. **merge**: a track left unpaired whose prediction lies inside a detection that already
//!    holds another track is *grouped*: it rides inside that blob (kept alive, its position held
//!    inside the blob) instead of being lost, so when the group splits again both tracks pick up
//!    their own blobs and neither person is forgotten or counted twice;
//! 5. **split**: a new detection that overlaps a track's recent box is a person leaving a group:
//!    its new track inherits the parent's side of the counting line, so its crossing is counted;
//! 6. other unpaired tracks coast on their prediction and are dropped after
//!    [`TrackerConfig::max_coast`] frames (a person hidden behind a pillar comes back as the
//!    same track); unpaired detections start tentative tracks, confirmed after
//!    [`TrackerConfig::confirm_hits`] hits.
//!
//! All of it is plain arithmetic on boxes; no image is touched.

use std::collections::VecDeque;

use crate::assign::{self, CostMatrix};
use crate::geometry::{BBox, Point};

/// How far above the half a blob's people estimate must be to vote for the next whole number.
const PEOPLE_BIAS: f64 = 0.2;

/// One detected blob or box in the image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// Bounding box, image pixels.
    pub bbox: BBox,
    /// Foreground pixels in the blob (image pixels²), or the box area for a detector box.
    pub area: f64,
    /// How many people the blob holds by its size (1 when unknown).
    pub people: f64,
    /// Mean colour of the upper and lower half (clothes), when the detector measured it.
    pub appearance: Option<Appearance>,
}

/// Mean colour (B, G, R, 0–1) of the upper half and of the lower half of a person.
pub type Appearance = [f32; 6];

/// Mean absolute difference of two appearances (0 same, 1 black against white).
pub fn appearance_distance(a: &Appearance, b: &Appearance) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() as f64)
        .sum::<f64>()
        / 6.0
}

impl Detection {
    /// A single-person detection from its box.
    pub fn from_box(bbox: BBox) -> Self {
        Detection {
            bbox,
            area: bbox.area(),
            people: 1.0,
            appearance: None,
        }
    }
}

/// Tracker parameters. Frame counts are derived from seconds and the frame rate by
/// [`TrackerConfig::for_fps`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// Frames a confirmed track survives without a detection.
    pub max_coast: u32,
    /// Frames a grouped track may ride inside a merged blob before it is dropped.
    pub max_grouped: u32,
    /// Paired frames before a track is confirmed.
    pub confirm_hits: u32,
    /// Gate on the centre distance, in units of the person's mean half-size.
    pub gate: f64,
    /// How much the gate widens per coasted frame (same units).
    pub gate_growth: f64,
    /// Largest accepted change of size between prediction and detection (ratio, > 1).
    pub max_size_ratio: f64,
    /// Position gain of the alpha–beta filter.
    pub alpha: f64,
    /// Velocity gain of the alpha–beta filter.
    pub beta: f64,
    /// Velocity kept per coasted frame (damping of the prediction).
    pub coast_damping: f64,
    /// Frames a box is remembered to recognise a split from it.
    pub split_memory: u32,
    /// Frames a lost track is remembered, to be taken up again by a detection near where it
    /// would be by now (a person lost in a crowd keeps their identity and side of the line).
    pub revive_frames: u32,
    /// Largest appearance difference for taking up a lost track.
    pub revive_appearance: f64,
    /// Weight of the appearance (clothes colour) difference in the pairing cost.
    pub appearance_weight: f64,
    /// Velocity kept per frame while grouped (people in a passing group keep walking; a group
    /// that stands slows its members down).
    pub group_damping: f64,
    /// A blob holds `floor(people + group_slack)` tracks (its size says how many people).
    pub group_slack: f64,
    /// A merged blob is unresolved when its size says this many more people than tracks.
    pub unresolved_margin: f64,
}

impl TrackerConfig {
    /// Defaults scaled to a frame rate: coasting 1.5 s, grouping 8 s, confirmation after
    /// 0.2 s (at least 2 frames).
    pub fn for_fps(fps: f64) -> Self {
        let fps = if fps.is_finite() && fps > 0.0 {
            fps
        } else {
            25.0
        };
        let frames = |s: f64| ((s * fps).round() as u32).max(1);
        // Per-frame gains: at low frame rates people move further between frames, so the
        // position is trusted more and the gate is wider.
        TrackerConfig {
            max_coast: frames(1.5),
            max_grouped: frames(8.0),
            confirm_hits: frames(0.2).max(2),
            gate: 1.0 + 5.0 / fps,
            gate_growth: 0.25,
            max_size_ratio: 2.5,
            alpha: 0.6,
            beta: 0.25,
            coast_damping: 0.9,
            split_memory: frames(0.5),
            revive_frames: frames(2.0),
            revive_appearance: 0.12,
            appearance_weight: 4.0,
            group_damping: 0.97,
            group_slack: 0.6,
            unresolved_margin: 0.8,
        }
    }
}

/// The state of a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackState {
    /// Seen fewer than `confirm_hits` times; may be noise.
    Tentative,
    /// A person.
    Confirmed,
}

/// A tracked person (or a group tracked as one).
#[derive(Debug, Clone)]
pub struct Track {
    /// Unique id, increasing.
    pub id: u64,
    /// Current box estimate.
    pub bbox: BBox,
    /// Velocity of the box centre, pixels per frame.
    pub vel: Point,
    /// State.
    pub state: TrackState,
    /// Frames paired with a detection.
    pub hits: u32,
    /// Consecutive frames without a detection of its own.
    pub misses: u32,
    /// Consecutive frames riding inside a merged blob.
    pub grouped: u32,
    /// Frames since birth.
    pub age: u32,
    /// People this track stands for (a group seen as one blob counts more than one).
    pub people: u32,
    /// The track this one split from, if any.
    pub parent: Option<u64>,
    /// Whether it was paired with a detection this frame.
    pub seen: bool,
    /// Whether the blob it is in this frame holds more people (by its size) than tracks: some
    /// of the people in it are not tracked one by one.
    pub unresolved: bool,
    /// Clothes colour, learned while seen alone.
    pub appearance: Option<Appearance>,
    /// The blob of the group it rides in this frame, if grouped.
    pub group_box: Option<BBox>,
    lost_for: u32,
    recent: VecDeque<BBox>,
    people_votes: VecDeque<u32>,
}

impl Track {
    fn new(id: u64, d: &Detection, parent: Option<u64>) -> Track {
        let mut t = Track {
            id,
            bbox: d.bbox,
            vel: Point::default(),
            state: TrackState::Tentative,
            hits: 1,
            misses: 0,
            grouped: 0,
            age: 0,
            people: 1,
            parent,
            seen: true,
            appearance: d.appearance,
            unresolved: false,
            group_box: None,
            lost_for: 0,
            recent: VecDeque::new(),
            people_votes: VecDeque::new(),
        };
        t.vote_people(d.people);
        t
    }

    /// The box centre.
    pub fn centre(&self) -> Point {
        self.bbox.centre()
    }

    /// Whether the track is confirmed.
    pub fn confirmed(&self) -> bool {
        self.state == TrackState::Confirmed
    }

    fn predicted(&self) -> BBox {
        let c = self.centre();
        BBox::centred(
            Point::new(c.x + self.vel.x, c.y + self.vel.y),
            self.bbox.w,
            self.bbox.h,
        )
    }

    /// Mean half-size, the unit of distances for this track.
    fn scale(&self) -> f64 {
        ((self.bbox.w + self.bbox.h) / 4.0).max(2.0)
    }

    fn remember(&mut self, memory: u32) {
        self.recent.push_back(self.bbox);
        while self.recent.len() > memory as usize {
            self.recent.pop_front();
        }
    }

    fn learn_appearance(&mut self, a: Option<Appearance>) {
        self.appearance = match (self.appearance, a) {
            (Some(old), Some(new)) => {
                let mut m = old;
                m.iter_mut()
                    .zip(new)
                    .for_each(|(o, n)| *o += 0.15 * (n - *o));
                Some(m)
            }
            (None, a) | (a, None) => a,
        };
    }

    /// Whether this frame's position is the track's own observation (paired with a detection
    /// of its own, not predicted, not a guess inside a group).
    pub fn observed(&self) -> bool {
        self.seen && self.grouped == 0
    }

    fn vote_people(&mut self, p: f64) {
        // A blob must be clearly bigger than one person to vote for two: one tall person in a
        // long stride is half as big again as the typical one.
        let n = (p + 0.5 - PEOPLE_BIAS).floor().clamp(1.0, 8.0) as u32;
        self.people_votes.push_back(n);
        while self.people_votes.len() > 15 {
            self.people_votes.pop_front();
        }
        let mut v: Vec<u32> = self.people_votes.iter().copied().collect();
        v.sort_unstable();
        self.people = v[v.len() / 2];
    }
}

/// What happened to tracks in one update, besides their new boxes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackEvents {
    /// Tracks that ended this frame (ids).
    pub ended: Vec<u64>,
    /// Tracks born from a split: (child, parent).
    pub splits: Vec<(u64, u64)>,
    /// Per detection of the frame: whether it holds more people (by its size) than tracks.
    pub unresolved: Vec<bool>,
}

/// The tracker.
#[derive(Debug, Clone)]
pub struct Tracker {
    cfg: TrackerConfig,
    tracks: Vec<Track>,
    lost: Vec<Track>,
    next_id: u64,
    frame: (f64, f64),
}

impl Tracker {
    /// A tracker for frames of `width`×`height` pixels.
    pub fn new(cfg: TrackerConfig, width: f64, height: f64) -> Self {
        Tracker {
            cfg,
            tracks: Vec::new(),
            lost: Vec::new(),
            next_id: 1,
            frame: (width, height),
        }
    }

    /// The live tracks.
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// The configuration.
    pub fn config(&self) -> &TrackerConfig {
        &self.cfg
    }

    /// Advances one frame with this frame's detections.
    pub fn update(&mut self, dets: &[Detection]) -> TrackEvents {
        let cfg = self.cfg.clone();
        let mut events = TrackEvents::default();
        for t in &mut self.tracks {
            t.age += 1;
            t.seen = false;
        }
        let preds: Vec<BBox> = self.tracks.iter().map(Track::predicted).collect();

        // 2. Gated optimal assignment.
        let mut m = CostMatrix::new(self.tracks.len(), dets.len());
        for (i, t) in self.tracks.iter().enumerate() {
            let gate = cfg.gate + cfg.gate_growth * t.misses.min(8) as f64;
            for (j, d) in dets.iter().enumerate() {
                m.set(
                    i,
                    j,
                    pair_cost(
                        t,
                        &preds[i],
                        d,
                        gate,
                        cfg.max_size_ratio,
                        cfg.appearance_weight,
                    ),
                );
            }
        }
        let pairs = assign::solve(&m);

        // Which tracks each detection explains (paired, or grouped into it below).
        let mut holders: Vec<Vec<usize>> = vec![Vec::new(); dets.len()];
        for (i, p) in pairs.iter().enumerate() {
            if let Some(j) = p {
                holders[*j].push(i);
            }
        }
        // 4. Merge: unpaired confirmed tracks whose prediction falls inside a held detection,
        // as many as the blob's size says it holds (a blob the size of one person holds no
        // second track: that one is hidden or gone, and coasts).
        let mut grouped_into: Vec<Option<usize>> = vec![None; self.tracks.len()];
        let mut candidates: Vec<Vec<(f64, usize)>> = vec![Vec::new(); dets.len()];
        for (i, t) in self.tracks.iter().enumerate() {
            if pairs[i].is_some() || !t.confirmed() {
                continue;
            }
            let c = preds[i].centre();
            let best = dets
                .iter()
                .enumerate()
                .filter(|(j, d)| {
                    !holders[*j].is_empty() && d.bbox.contains(c, 0.25 * t.bbox.w.min(d.bbox.w))
                })
                .map(|(j, d)| (c.dist(d.bbox.centre()), j))
                .min_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((dist, j)) = best {
                candidates[j].push((dist, i));
            }
        }
        for (j, mut c) in candidates.into_iter().enumerate() {
            let room = (dets[j].people + cfg.group_slack).floor() as usize;
            let room = room.saturating_sub(holders[j].len());
            c.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (_, i) in c.into_iter().take(room) {
                grouped_into[i] = Some(j);
                holders[j].push(i);
            }
        }

        // A blob is unresolved when it holds several tracks and is clearly bigger than them (a
        // crowd in which some people have no track of their own). A single track that stands
        // for a group is resolved: it counts its own people.
        events.unresolved = dets
            .iter()
            .zip(&holders)
            .map(|(d, h)| {
                let tracked: u32 = h.iter().map(|i| self.tracks[*i].people.max(1)).sum();
                h.len() >= 2 && d.people >= tracked as f64 + cfg.unresolved_margin
            })
            .collect();
        for (j, h) in holders.iter().enumerate() {
            for i in h {
                self.tracks[*i].unresolved = events.unresolved[j];
            }
        }
        for (i, t) in self.tracks.iter_mut().enumerate() {
            if pairs[i].is_none() && grouped_into[i].is_none() {
                t.unresolved = false;
            }
        }

        // 3. Correct paired tracks; move grouped ones.
        for (i, t) in self.tracks.iter_mut().enumerate() {
            let pred = preds[i];
            if let Some(j) = pairs[i] {
                let d = &dets[j];
                let shared = holders[j].len() > 1;
                if shared {
                    // The blob is a group: its centre is not this person's; keep the prediction,
                    // held inside the blob, and keep the person's own size.
                    t.bbox = clamp_inside(pred, &d.bbox);
                    t.group_box = Some(d.bbox);
                    t.vel = Point::new(t.vel.x * cfg.group_damping, t.vel.y * cfg.group_damping);
                    t.grouped += 1;
                } else {
                    let (pc, mc) = (pred.centre(), d.bbox.centre());
                    let r = Point::new(mc.x - pc.x, mc.y - pc.y);
                    let c = Point::new(pc.x + cfg.alpha * r.x, pc.y + cfg.alpha * r.y);
                    t.vel = Point::new(t.vel.x + cfg.beta * r.x, t.vel.y + cfg.beta * r.y);
                    let w = pred.w + 0.5 * (d.bbox.w - pred.w);
                    let h = pred.h + 0.5 * (d.bbox.h - pred.h);
                    t.bbox = BBox::centred(c, w, h);
                    t.grouped = 0;
                    t.group_box = None;
                    t.vote_people(d.people);
                    t.learn_appearance(d.appearance);
                }
                t.hits += 1;
                t.misses = 0;
                t.seen = true;
                if t.state == TrackState::Tentative && t.hits >= cfg.confirm_hits {
                    t.state = TrackState::Confirmed;
                }
            } else if let Some(j) = grouped_into[i] {
                t.bbox = clamp_inside(pred, &dets[j].bbox);
                t.group_box = Some(dets[j].bbox);
                t.vel = Point::new(t.vel.x * cfg.group_damping, t.vel.y * cfg.group_damping);
                t.grouped += 1;
                t.misses = 0;
                t.seen = true;
            } else {
                t.bbox = pred;
                t.group_box = None;
                t.vel = Point::new(t.vel.x * cfg.coast_damping, t.vel.y * cfg.coast_damping);
                t.misses += 1;
            }
        }

        // 6. Drop the lost.
        let (w, h) = self.frame;
        let mut kept = Vec::with_capacity(self.tracks.len());
        for t in self.tracks.drain(..) {
            let gone = match t.state {
                TrackState::Tentative => t.misses > 0,
                TrackState::Confirmed => t.misses > cfg.max_coast || t.grouped > cfg.max_grouped,
            };
            let outside =
                t.bbox.right() < 0.0 || t.bbox.x > w || t.bbox.bottom() < 0.0 || t.bbox.y > h;
            if outside && !t.seen || gone && !t.confirmed() {
                events.ended.push(t.id);
            } else if gone {
                // Lost, not yet forgotten: a detection near where it would be may take it up.
                let mut t = t;
                t.lost_for = 0;
                self.lost.push(t);
            } else {
                kept.push(t);
            }
        }
        self.tracks = kept;
        let mut remembered = Vec::with_capacity(self.lost.len());
        for mut t in self.lost.drain(..) {
            t.lost_for += 1;
            let c = t.centre();
            t.bbox = BBox::centred(Point::new(c.x + t.vel.x, c.y + t.vel.y), t.bbox.w, t.bbox.h);
            t.vel = Point::new(t.vel.x * cfg.coast_damping, t.vel.y * cfg.coast_damping);
            let outside =
                t.bbox.right() < 0.0 || t.bbox.x > w || t.bbox.bottom() < 0.0 || t.bbox.y > h;
            if t.lost_for > cfg.revive_frames || outside {
                events.ended.push(t.id);
            } else {
                remembered.push(t);
            }
        }
        self.lost = remembered;

        // 5. New tracks; a detection overlapping a track's recent box is a split from it.
        for (j, d) in dets.iter().enumerate() {
            if !holders[j].is_empty() {
                continue;
            }
            if let Some(k) = self.revivable(d) {
                let mut t = self.lost.swap_remove(k);
                t.bbox = d.bbox;
                t.misses = 0;
                t.grouped = 0;
                t.seen = true;
                t.group_box = None;
                t.hits += 1;
                t.learn_appearance(d.appearance);
                self.tracks.push(t);
                continue;
            }
            let parent = self
                .tracks
                .iter()
                .filter(|t| t.confirmed())
                .filter_map(|t| {
                    let o = t
                        .recent
                        .iter()
                        .map(|b| b.intersection(&d.bbox) / d.bbox.area().max(1.0))
                        .fold(0.0, f64::max);
                    (o > 0.3).then_some((t.id, o))
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(id, _)| id);
            let id = self.next_id;
            self.next_id += 1;
            let mut t = Track::new(id, d, parent);
            if let Some(p) = parent {
                events.splits.push((id, p));
                // The person was already tracked inside the group: no probation.
                t.state = TrackState::Confirmed;
                if let Some(pt) = self.tracks.iter_mut().find(|x| x.id == p) {
                    if pt.people > 1 {
                        pt.people -= 1;
                        pt.people_votes
                            .iter_mut()
                            .for_each(|v| *v = (*v).saturating_sub(1).max(1));
                    }
                    t.vel = pt.vel;
                }
            }
            self.tracks.push(t);
        }
        for t in &mut self.tracks {
            t.remember(cfg.split_memory);
        }
        events
    }
}

impl Tracker {
    /// The lost track a new detection takes up, if any: near where the track would be by now,
    /// of about its size, dressed alike.
    fn revivable(&self, d: &Detection) -> Option<usize> {
        let cfg = &self.cfg;
        self.lost
            .iter()
            .enumerate()
            .filter_map(|(k, t)| {
                let gate = cfg.gate + cfg.gate_growth * (cfg.max_coast + t.lost_for).min(12) as f64;
                let app = match (&t.appearance, &d.appearance) {
                    (Some(a), Some(b)) => appearance_distance(a, b),
                    _ => 0.0,
                };
                if app > cfg.revive_appearance {
                    return None;
                }
                pair_cost(
                    t,
                    &t.bbox,
                    d,
                    gate,
                    cfg.max_size_ratio,
                    cfg.appearance_weight,
                )
                .map(|c| (k, c))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(k, _)| k)
    }
}

/// Cost of pairing a track (predicted at `pred`) with a detection; `None` outside the gate.
fn pair_cost(
    t: &Track,
    pred: &BBox,
    d: &Detection,
    gate: f64,
    max_ratio: f64,
    w_app: f64,
) -> Option<f64> {
    let scale = (t.scale() + ((d.bbox.w + d.bbox.h) / 4.0).max(2.0)) / 2.0;
    let dist = pred.centre().dist(d.bbox.centre()) / scale;
    let rw = (d.bbox.w / pred.w.max(1.0)).ln().abs();
    let rh = (d.bbox.h / pred.h.max(1.0)).ln().abs();
    let limit = max_ratio.ln();
    // A detection that contains the prediction is acceptable however much bigger it is (a
    // merge); otherwise the size may change only so much.
    let inside = d.bbox.contains(pred.centre(), 0.0);
    if dist > gate || (!inside && (rw > limit || rh > limit)) {
        return None;
    }
    let app = match (&t.appearance, &d.appearance) {
        (Some(a), Some(b)) => appearance_distance(a, b),
        _ => 0.0,
    };
    Some(dist + 0.5 * (rw + rh).min(2.0 * limit) + w_app * app)
}

/// `b` moved (not resized) to lie inside `outer` (centred in it along an axis where it is
/// bigger than `outer`).
fn clamp_inside(b: BBox, outer: &BBox) -> BBox {
    let fit = |lo: f64, len: f64, olo: f64, olen: f64| {
        if len >= olen {
            olo + (olen - len) / 2.0
        } else {
            lo.clamp(olo, olo + olen - len)
        }
    };
    BBox::new(
        fit(b.x, b.w, outer.x, outer.w),
        fit(b.y, b.h, outer.y, outer.h),
        b.w,
        b.h,
    )
}

#[cfg(test)]
mod tests;
