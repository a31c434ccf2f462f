//! Draws a [`Scene`] frame by frame into a BGR buffer (8 bits per channel, row-major, no
//! padding): the layout OpenCV's `Mat` of type `CV_8UC3` uses, so frames go straight into the
//! detector or a video file.
//!
//! A frame is: the static background (a building front, a paved walkway with tiles and texture,
//! a bench, a planter, a lamp post), then cast shadows, then the people from far to near (legs
//! swinging with their gait, arms, torso, head and hair), then the pillar in front (hard), then
//! the lighting gain and the sensor noise.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{height_at, Person, Pose, Scene};

/// Renders the frames of one scene.
pub struct Renderer {
    scene: Scene,
    background: Vec<u8>,
    noise: Vec<i8>,
}

const NOISE_SLACK: usize = 1 << 16;

impl Renderer {
    /// Prepares the background and the noise of `scene`.
    pub fn new(scene: &Scene) -> Renderer {
        let s = &scene.spec;
        let (w, h) = (s.width as usize, s.height as usize);
        let mut rng = ChaCha8Rng::seed_from_u64(scene.seed ^ 0xb0c4_9a11);
        let mut background = vec![0u8; w * h * 3];
        draw_background(&mut Canvas::new(&mut background, w, h), &mut rng);
        let mut noise = vec![0i8; w * h * 3 + NOISE_SLACK];
        if s.noise_sigma > 0.0 {
            for v in noise.iter_mut() {
                // Box–Muller.
                let (u1, u2): (f64, f64) = (rng.gen::<f64>().max(1e-12), rng.gen());
                let g = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                *v = (g * s.noise_sigma).round().clamp(-127.0, 127.0) as i8;
            }
        }
        Renderer {
            scene: scene.clone(),
            background,
            noise,
        }
    }

    /// Bytes of one frame.
    pub fn frame_len(&self) -> usize {
        self.scene.spec.width as usize * self.scene.spec.height as usize * 3
    }

    /// The lighting gain at `frame`.
    pub fn gain(&self, frame: u64) -> f64 {
        let s = &self.scene.spec;
        let t = frame as f64 / s.fps;
        let mut g = 1.0 + s.lighting_drift * (std::f64::consts::TAU * t / 30.0).sin();
        if let Some((at, step)) = s.lighting_step {
            if t >= at * s.duration_s {
                g *= step;
            }
        }
        g
    }

    /// Draws `frame` into `out` (resized to [`Renderer::frame_len`]).
    pub fn render(&self, frame: u64, out: &mut Vec<u8>) {
        let s = &self.scene.spec;
        let (w, h) = (s.width as usize, s.height as usize);
        out.clear();
        out.extend_from_slice(&self.background);
        let mut c = Canvas::new(out, w, h);
        let mut visible: Vec<(&Person, Pose)> = self
            .scene
            .people
            .iter()
            .filter_map(|p| p.pose(frame).map(|q| (p, q)))
            .collect();
        visible.sort_by(|a, b| a.1.y.total_cmp(&b.1.y));
        if let Some(dark) = s.shadow {
            for (p, q) in &visible {
                let ph = height_at(s, q.y) * p.look.size;
                c.shade_ellipse(q.x + 0.22 * ph, q.y - 0.01 * ph, 0.33 * ph, 0.05 * ph, dark);
            }
        }
        for (p, q) in &visible {
            draw_person(&mut c, height_at(s, q.y) * p.look.size, p, q);
        }
        if let Some((x0, wf)) = s.occluder {
            let (x0, x1) = (x0 * w as f64, (x0 + wf) * w as f64);
            c.fill_rect(x0, 0.0, x1, h as f64, [150, 152, 158]);
            c.fill_rect(x0, 0.0, x0 + 0.12 * (x1 - x0), h as f64, [110, 112, 118]);
            c.fill_rect(x1 - 0.12 * (x1 - x0), 0.0, x1, h as f64, [120, 122, 128]);
        }
        // Gain through a lookup table, then noise from a random window of the noise buffer.
        let g = self.gain(frame);
        let lut: Vec<i16> = (0..256)
            .map(|v| ((v as f64 * g).round() as i16).min(255))
            .collect();
        let mut r = ChaCha8Rng::seed_from_u64(self.scene.seed.wrapping_mul(31) ^ frame);
        let off = r.gen_range(0..NOISE_SLACK);
        let noise = &self.noise[off..off + out.len()];
        for (px, n) in out.iter_mut().zip(noise) {
            *px = (lut[*px as usize] + *n as i16).clamp(0, 255) as u8;
        }
    }
}

/// A BGR image being drawn on.
struct Canvas<'a> {
    data: &'a mut [u8],
    w: usize,
    h: usize,
}

impl<'a> Canvas<'a> {
    fn new(data: &'a mut [u8], w: usize, h: usize) -> Self {
        Canvas { data, w, h }
    }

    fn rows(&self, y0: f64, y1: f64) -> std::ops::Range<usize> {
        let a = y0.floor().max(0.0) as usize;
        let b = (y1.ceil().max(0.0) as usize).min(self.h);
        a..b.max(a)
    }

    fn cols(&self, x0: f64, x1: f64) -> std::ops::Range<usize> {
        let a = x0.floor().max(0.0) as usize;
        let b = (x1.ceil().max(0.0) as usize).min(self.w);
        a..b.max(a)
    }

    fn put(&mut self, x: usize, y: usize, c: [u8; 3]) {
        let i = (y * self.w + x) * 3;
        self.data[i..i + 3].copy_from_slice(&c);
    }

    fn fill_rect(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, c: [u8; 3]) {
        for y in self.rows(y0, y1) {
            for x in self.cols(x0, x1) {
                self.put(x, y, c);
            }
        }
    }

    fn fill_ellipse(&mut self, cx: f64, cy: f64, rx: f64, ry: f64, c: [u8; 3], max_y: f64) {
        let (rx, ry) = (rx.max(0.5), ry.max(0.5));
        for y in self.rows(cy - ry, (cy + ry).min(max_y)) {
            let dy = (y as f64 + 0.5 - cy) / ry;
            if dy.abs() > 1.0 {
                continue;
            }
            let half = rx * (1.0 - dy * dy).sqrt();
            for x in self.cols(cx - half, cx + half) {
                if (x as f64 + 0.5 - cx).abs() <= half {
                    self.put(x, y, c);
                }
            }
        }
    }

    fn shade_ellipse(&mut self, cx: f64, cy: f64, rx: f64, ry: f64, factor: f64) {
        let (rx, ry) = (rx.max(0.5), ry.max(0.5));
        for y in self.rows(cy - ry, cy + ry) {
            let dy = (y as f64 + 0.5 - cy) / ry;
            if dy.abs() > 1.0 {
                continue;
            }
            let half = rx * (1.0 - dy * dy).sqrt();
            for x in self.cols(cx - half, cx + half) {
                let i = (y * self.w + x) * 3;
                for v in &mut self.data[i..i + 3] {
                    *v = (*v as f64 * factor) as u8;
                }
            }
        }
    }

    /// A thick segment with round ends.
    fn fill_capsule(&mut self, ax: f64, ay: f64, bx: f64, by: f64, r: f64, c: [u8; 3]) {
        let r = r.max(0.7);
        let (dx, dy) = (bx - ax, by - ay);
        let l2 = (dx * dx + dy * dy).max(1e-9);
        for y in self.rows(ay.min(by) - r, ay.max(by) + r) {
            for x in self.cols(ax.min(bx) - r, ax.max(bx) + r) {
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                let t = (((px - ax) * dx + (py - ay) * dy) / l2).clamp(0.0, 1.0);
                let (qx, qy) = (ax + t * dx - px, ay + t * dy - py);
                if qx * qx + qy * qy <= r * r {
                    self.put(x, y, c);
                }
            }
        }
    }
}

fn shade(c: [u8; 3], f: f64) -> [u8; 3] {
    c.map(|v| (v as f64 * f).min(255.0) as u8)
}

fn draw_person(c: &mut Canvas, ph: f64, p: &Person, q: &Pose) {
    let (x, y) = (q.x, q.y);
    let swing = if q.moving { q.phase.sin() } else { 0.1 };
    let legs = p.look.legs;
    let hip = y - 0.48 * ph;
    // Far leg darker, then near leg.
    c.fill_capsule(
        x - 0.03 * ph,
        hip,
        x - swing * 0.13 * ph,
        y - 0.025 * ph,
        0.045 * ph,
        shade(legs, 0.8),
    );
    c.fill_capsule(
        x + 0.03 * ph,
        hip,
        x + swing * 0.13 * ph,
        y - 0.025 * ph,
        0.045 * ph,
        legs,
    );
    let top = p.look.top;
    let sh = y - 0.78 * ph;
    c.fill_capsule(
        x - 0.1 * ph,
        sh,
        x - 0.11 * ph + swing * 0.08 * ph,
        y - 0.5 * ph,
        0.035 * ph,
        shade(top, 0.85),
    );
    c.fill_capsule(x, y - 0.73 * ph, x, y - 0.56 * ph, 0.12 * ph, top);
    c.fill_capsule(
        x + 0.1 * ph,
        sh,
        x + 0.11 * ph - swing * 0.08 * ph,
        y - 0.5 * ph,
        0.035 * ph,
        shade(top, 0.9),
    );
    let hy = y - 0.91 * ph;
    c.fill_ellipse(x, hy, 0.055 * ph, 0.07 * ph, p.look.skin, f64::INFINITY);
    c.fill_ellipse(
        x,
        hy - 0.015 * ph,
        0.058 * ph,
        0.06 * ph,
        p.look.hair,
        hy - 0.01 * ph,
    );
}

fn draw_background(c: &mut Canvas, rng: &mut ChaCha8Rng) {
    let (w, h) = (c.w as f64, c.h as f64);
    // Building front with windows.
    let wall_bottom = 0.3 * h;
    c.fill_rect(0.0, 0.0, w, wall_bottom, [70, 90, 140]);
    let mut wx = 0.03 * w;
    while wx < w {
        c.fill_rect(wx, 0.05 * h, wx + 0.05 * w, 0.13 * h, [70, 55, 45]);
        c.fill_rect(wx, 0.17 * h, wx + 0.05 * w, 0.25 * h, [75, 60, 50]);
        wx += 0.09 * w;
    }
    c.fill_rect(0.46 * w, 0.17 * h, 0.52 * w, wall_bottom, [40, 45, 50]);
    // Paving: rows of tiles that grow towards the camera, each a little lighter or darker.
    let mut y = wall_bottom;
    let mut row = 0;
    while y < h {
        let f = (y - wall_bottom) / (h - wall_bottom);
        let th = (0.025 + 0.05 * f) * h;
        let tw = (0.05 + 0.08 * f) * w;
        let mut x = if row % 2 == 0 { 0.0 } else { -tw / 2.0 };
        while x < w {
            let v = 140.0 + rng.gen_range(-10.0..10.0);
            let col = [v as u8, (v + 2.0) as u8, (v + 6.0) as u8];
            c.fill_rect(x + 1.0, y + 1.0, x + tw, y + th, col);
            c.fill_rect(x, y, x + tw, y + 1.0, [105, 105, 108]);
            c.fill_rect(x, y, x + 1.0, y + th, [105, 105, 108]);
            x += tw;
        }
        y += th;
        row += 1;
    }
    // Grass along the bottom edge.
    c.fill_rect(0.0, 0.965 * h, w, h, [60, 130, 70]);
    // Static furniture: bench, planter, lamp post.
    c.fill_rect(0.12 * w, 0.5 * h, 0.2 * w, 0.53 * h, [40, 70, 110]);
    c.fill_rect(0.125 * w, 0.53 * h, 0.13 * w, 0.56 * h, [30, 30, 30]);
    c.fill_rect(0.19 * w, 0.53 * h, 0.195 * w, 0.56 * h, [30, 30, 30]);
    c.fill_rect(0.75 * w, 0.36 * h, 0.86 * w, 0.42 * h, [90, 100, 110]);
    c.fill_ellipse(
        0.805 * w,
        0.36 * h,
        0.055 * w,
        0.03 * h,
        [50, 110, 50],
        f64::INFINITY,
    );
    c.fill_rect(0.62 * w, 0.08 * h, 0.625 * w, 0.42 * h, [50, 50, 55]);
    // Fine texture, fixed: the camera sees the same grain every frame.
    for v in c.data.iter_mut() {
        *v = (*v as i16 + rng.gen_range(-4..=4)).clamp(0, 255) as u8;
    }
}
