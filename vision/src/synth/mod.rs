//! Synthetic camera views with known truth: the simulator's camera.
//!
//! A [`Scene`] is generated from a [`SceneSpec`] (a [`Preset`] at some resolution) and a seed:
//! parties of people (alone or in groups) enter from the left or right edge of a walkway seen
//! obliquely from above, walk across at their own speed and depth, and some turn back or stop
//! on the way. Every person's feet are known at every frame, so the true crossings of the
//! counting line (vertical through the image centre) are known exactly ([`Scene::truth`]).
//! [`render`] draws any frame as a BGR image with no OpenCV, so the model and its truth are
//! unit-tested without the `vision` feature; `footfall-counter synth` writes the frames to a
//! video file.
//!
//! A true crossing is counted like the counter counts, on true positions: the feet move from
//! beyond a quarter body-width on one side of the line to beyond a quarter body-width on the
//! other. Turning back is always decided well before that, so the truth has no borderline case.

pub mod preset;
pub mod render;

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use preset::{Preset, SceneSpec, HELD_OUT_SEEDS, TUNING_SEEDS};

use crate::count::Direction;

/// A person's look.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Look {
    /// Shirt or coat, BGR.
    pub top: [u8; 3],
    /// Trousers, BGR.
    pub legs: [u8; 3],
    /// Skin, BGR.
    pub skin: [u8; 3],
    /// Hair, BGR.
    pub hair: [u8; 3],
    /// Body size relative to the average at the same depth.
    pub size: f64,
}

/// Where a person is in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pose {
    /// Feet, pixels.
    pub x: f64,
    /// Feet row, pixels.
    pub y: f64,
    /// Gait phase, radians (advances with distance walked).
    pub phase: f64,
    /// Whether walking (else standing).
    pub moving: bool,
}

/// One person of the scene.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Person {
    /// Id, unique in the scene.
    pub id: u32,
    /// The party (group) it belongs to.
    pub party: u32,
    /// Look.
    pub look: Look,
    /// First frame it exists in.
    pub first_frame: u64,
    /// Its pose in each frame from `first_frame` on.
    pub poses: Vec<Pose>,
}

impl Person {
    /// Its pose in `frame`, if it exists then.
    pub fn pose(&self, frame: u64) -> Option<Pose> {
        frame
            .checked_sub(self.first_frame)
            .and_then(|i| self.poses.get(i as usize))
            .copied()
    }
}

/// A generated scene.
#[derive(Debug, Clone)]
pub struct Scene {
    /// Its parameters.
    pub spec: SceneSpec,
    /// Its seed.
    pub seed: u64,
    /// Everyone in it.
    pub people: Vec<Person>,
}

/// One true crossing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrueCrossing {
    /// Frame where the feet passed the line.
    pub frame: u64,
    /// Person id.
    pub person: u32,
    /// Direction (`in` is left to right).
    pub direction: Direction,
}

/// The truth of a scene, as written next to its video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Preset name.
    pub preset: Preset,
    /// Seed.
    pub seed: u64,
    /// Frame size and rate.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Frames per second.
    pub fps: f64,
    /// Frames.
    pub frames: u64,
    /// Counting line, `x1,y1,x2,y2`.
    pub line: String,
    /// `in` direction.
    pub in_direction: String,
    /// People in the scene.
    pub people: usize,
    /// True crossings in.
    pub ins: u64,
    /// True crossings out.
    pub outs: u64,
    /// Every crossing.
    pub crossings: Vec<TrueCrossing>,
}

/// What a party does at the line.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Plan {
    Through,
    TurnBack { at: f64 },
    Loiter { at: f64, frames: u64 },
}

impl Scene {
    /// Generates the scene of `spec` for `seed`.
    pub fn generate(spec: &SceneSpec, seed: u64) -> Scene {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_cafe_f00d);
        let mut people: Vec<Person> = Vec::new();
        let mut t = 1.0;
        let mut party = 0u32;
        let mut attempts = 0;
        while t < spec.arrivals_until_s && attempts < 10_000 {
            attempts += 1;
            let members = make_party(spec, &mut rng, party, t, people.len() as u32);
            if spec.no_overlap
                && members
                    .iter()
                    .any(|m| people.iter().any(|p| overlaps(spec, m, p)))
            {
                t += 0.25;
                continue;
            }
            people.extend(members);
            party += 1;
            let gap = -spec.mean_gap_s * (1.0 - rng.gen::<f64>()).ln();
            t += gap.max(0.3);
        }
        Scene {
            spec: spec.clone(),
            seed,
            people,
        }
    }

    /// Person height in pixels at feet row `y` for body size 1.
    pub fn height_at(&self, y: f64) -> f64 {
        height_at(&self.spec, y)
    }

    /// The true crossings.
    pub fn truth(&self) -> Truth {
        let s = &self.spec;
        let line_x = s.width as f64 / 2.0;
        let mut crossings = Vec::new();
        for p in &self.people {
            let mut side: Option<bool> = None; // true: right of the line
            let visible = s.frames().saturating_sub(p.first_frame) as usize;
            for (i, pose) in p.poses.iter().take(visible).enumerate() {
                let band = 0.25 * body_width(s, pose.y, p.look.size);
                let now = if pose.x > line_x + band {
                    Some(true)
                } else if pose.x < line_x - band {
                    Some(false)
                } else {
                    None
                };
                if let (Some(prev), Some(now)) = (side, now) {
                    if prev != now {
                        crossings.push(TrueCrossing {
                            frame: p.first_frame + i as u64,
                            person: p.id,
                            direction: if now { Direction::In } else { Direction::Out },
                        });
                    }
                }
                if now.is_some() {
                    side = now;
                }
            }
        }
        crossings.sort_by_key(|c| (c.frame, c.person));
        let ins = crossings
            .iter()
            .filter(|c| c.direction == Direction::In)
            .count() as u64;
        Truth {
            preset: s.preset,
            seed: self.seed,
            width: s.width,
            height: s.height,
            fps: s.fps,
            frames: s.frames(),
            line: s.line(),
            in_direction: "left-to-right".into(),
            people: self.people.len(),
            ins,
            outs: crossings.len() as u64 - ins,
            crossings,
        }
    }
}

/// Person height in pixels at feet row `y`, body size 1.
pub fn height_at(s: &SceneSpec, y: f64) -> f64 {
    let h = s.height as f64;
    let (y0, y1) = (s.walk_band.0 * h, s.walk_band.1 * h);
    let f = ((y - y0) / (y1 - y0)).clamp(-0.5, 1.5);
    h * (s.person_height.0 + f * (s.person_height.1 - s.person_height.0))
}

/// Body width in pixels (shoulders and swinging arms) at feet row `y`.
pub fn body_width(s: &SceneSpec, y: f64, size: f64) -> f64 {
    0.3 * height_at(s, y) * size
}

fn pick_weighted(rng: &mut ChaCha8Rng, w: &[f64]) -> usize {
    let total: f64 = w.iter().sum();
    let mut r = rng.gen::<f64>() * total;
    for (i, x) in w.iter().enumerate() {
        if r < *x {
            return i;
        }
        r -= x;
    }
    w.len() - 1
}

const TOPS: [[u8; 3]; 12] = [
    [30, 30, 30],
    [40, 40, 140],
    [140, 60, 30],
    [60, 120, 60],
    [200, 200, 200],
    [40, 90, 170],
    [90, 60, 50],
    [20, 20, 90],
    [170, 160, 150],
    [60, 60, 60],
    [120, 40, 110],
    [50, 140, 200],
];
const LEGS: [[u8; 3]; 6] = [
    [40, 35, 30],
    [110, 70, 40],
    [30, 30, 30],
    [120, 140, 150],
    [70, 70, 70],
    [90, 50, 30],
];
const SKINS: [[u8; 3]; 4] = [
    [150, 180, 220],
    [120, 150, 200],
    [90, 120, 170],
    [60, 80, 120],
];
const HAIRS: [[u8; 3]; 4] = [[20, 20, 20], [30, 50, 80], [60, 110, 160], [120, 120, 120]];

fn make_party(
    spec: &SceneSpec,
    rng: &mut ChaCha8Rng,
    party: u32,
    t: f64,
    first_id: u32,
) -> Vec<Person> {
    let (w, h) = (spec.width as f64, spec.height as f64);
    let n = pick_weighted(rng, &spec.group_weights) + 1;
    // Without overlaps, walkers in opposite directions can hardly share the view, so they take
    // turns (a party waits until it fits); otherwise each party picks its direction.
    let rtl = if spec.no_overlap {
        let _ = rng.gen::<f64>();
        party % 2 == 1
    } else {
        rng.gen::<f64>() < spec.right_to_left_share
    };
    let dir = if rtl { -1.0 } else { 1.0 };
    let (yb0, yb1) = (spec.walk_band.0 * h, spec.walk_band.1 * h);
    let lane = yb0 + rng.gen::<f64>() * (yb1 - yb0);
    let drift = (rng.gen::<f64>() - 0.5) * 0.3 * (yb1 - yb0);
    let speed = spec.speed_mps.0 + rng.gen::<f64>() * (spec.speed_mps.1 - spec.speed_mps.0);
    let line_x = w / 2.0;
    let unit = height_at(spec, lane) / 1.7; // pixels per metre at the lane
    let r = rng.gen::<f64>();
    let plan = if r < spec.turn_back_share {
        // Turn back between 0.75 and 4 body widths before the line: never a borderline case.
        let bw = 0.3 * height_at(spec, lane);
        Plan::TurnBack {
            at: line_x - dir * bw * (0.75 + 3.25 * rng.gen::<f64>()),
        }
    } else if r < spec.turn_back_share + spec.loiter_share {
        let bw = 0.3 * height_at(spec, lane);
        let stay = spec.loiter_s.0 + rng.gen::<f64>() * (spec.loiter_s.1 - spec.loiter_s.0);
        Plan::Loiter {
            at: line_x + dir * bw * (rng.gen::<f64>() * 3.0 - 1.5),
            frames: (stay * spec.fps).round() as u64,
        }
    } else {
        Plan::Through
    };
    let start_frame = (t * spec.fps).round() as u64;
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        // Members walk beside (deeper or nearer) and slightly behind or ahead of the first.
        let (along_m, depth_m) = if k == 0 {
            (0.0, 0.0)
        } else {
            let side = if k % 2 == 1 { 1.0 } else { -1.0 };
            (
                (rng.gen::<f64>() - 0.5) * 1.2,
                side * (0.35 + 0.4 * rng.gen::<f64>()) * (1 + k as i32 / 2) as f64,
            )
        };
        let size = 1.0 + (rng.gen::<f64>() * 2.0 - 1.0) * spec.size_jitter;
        let look = Look {
            top: TOPS[rng.gen_range(0..TOPS.len())],
            legs: LEGS[rng.gen_range(0..LEGS.len())],
            skin: SKINS[rng.gen_range(0..SKINS.len())],
            hair: HAIRS[rng.gen_range(0..HAIRS.len())],
            size,
        };
        let my_lane = (lane + depth_m * unit * 0.35).clamp(yb0, yb1);
        let my_speed = speed * (1.0 + (rng.gen::<f64>() - 0.5) * 0.04);
        let poses = walk(
            spec, dir, my_lane, drift, my_speed, along_m, size, plan, rng,
        );
        out.push(Person {
            id: first_id + k as u32,
            party,
            look,
            first_frame: start_frame,
            poses,
        });
    }
    out
}

/// The poses of one walker, frame by frame, until it has left the frame.
#[allow(clippy::too_many_arguments)]
fn walk(
    spec: &SceneSpec,
    dir: f64,
    lane: f64,
    drift: f64,
    speed: f64,
    along_m: f64,
    size: f64,
    plan: Plan,
    rng: &mut ChaCha8Rng,
) -> Vec<Pose> {
    let w = spec.width as f64;
    let dt = 1.0 / spec.fps;
    let margin = 0.3 * height_at(spec, lane) * size + 2.0;
    let unit0 = height_at(spec, lane) / 1.7;
    // Everyone starts out of sight, members of a party up to 0.6 m ahead or behind.
    let mut x = if dir > 0.0 { -margin } else { w + margin } - dir * (along_m + 0.7) * unit0;
    let x_start = x;
    let mut y = lane;
    let mut phase = rng.gen::<f64>() * std::f64::consts::TAU;
    let mut heading = dir;
    let mut stopped: u64 = 0;
    let mut done_plan = false;
    let sway = rng.gen::<f64>() * 0.6;
    let mut poses = Vec::new();
    let total_dx = (w + 2.0 * margin).max(1.0);
    for _ in 0..(spec.frames() * 2) {
        let unit = height_at(spec, y) / 1.7 * size;
        let mut moving = true;
        match plan {
            Plan::TurnBack { at } if !done_plan && (x - at) * dir >= 0.0 => {
                heading = -dir;
                done_plan = true;
            }
            Plan::Loiter { at, frames } if !done_plan && (x - at) * dir >= 0.0 => {
                if stopped < frames {
                    stopped += 1;
                    moving = false;
                } else {
                    done_plan = true;
                }
            }
            _ => {}
        }
        if moving {
            x += heading * speed * unit * dt;
            let progress = ((x - x_start) * dir / total_dx).clamp(0.0, 1.0);
            y = lane + drift * progress + sway * unit * (progress * 9.0).sin() * 0.15;
            phase += speed * dt * std::f64::consts::TAU / 1.4;
        } else {
            // Standing people shift their weight a little.
            x += (rng.gen::<f64>() - 0.5) * 0.05 * unit;
        }
        poses.push(Pose {
            x,
            y,
            phase,
            moving,
        });
        let gone = if heading > 0.0 {
            x > w + margin
        } else {
            x < -margin
        };
        if gone {
            break;
        }
    }
    poses
}

fn overlaps(spec: &SceneSpec, a: &Person, b: &Person) -> bool {
    let box_of = |p: &Person, f: u64| {
        p.pose(f).map(|q| {
            let h = height_at(spec, q.y) * p.look.size;
            (q.x - 0.2 * h, q.y - h, q.x + 0.2 * h, q.y + 0.05 * h)
        })
    };
    let start = a.first_frame.max(b.first_frame);
    let end = (a.first_frame + a.poses.len() as u64).min(b.first_frame + b.poses.len() as u64);
    (start..end).any(|f| match (box_of(a, f), box_of(b, f)) {
        (Some(p), Some(q)) => p.0 < q.2 && q.0 < p.2 && p.1 < q.3 && q.1 < p.3,
        _ => false,
    })
}

#[cfg(test)]
mod tests;
