//! The perspective size model: how tall and how big one person looks at each row of the
//! image, learned from the blobs themselves, and so how many people a blob holds.
//!
//! Cameras look down at an angle, so a person's height in pixels grows with the row of the
//! feet. The model keeps the recent single-person-shaped blobs (upright, not touching the
//! frame's edge) in bands of rows, takes the median of each band (a few groups or fragments do
//! not move a median) and fits a straight line through the band medians: `height(y) = a + b·y`.
//! Until it has seen enough, a configured prior (a range of heights) is used.

use std::collections::VecDeque;

use crate::geometry::BBox;

/// Samples kept per band.
const PER_BAND: usize = 40;
/// Samples a band needs before it takes part in the fit.
const MIN_BAND: usize = 6;

#[derive(Debug, Clone, Default)]
struct Band {
    heights: VecDeque<f64>,
    areas: VecDeque<f64>,
    widths: VecDeque<f64>,
}

/// Largest occlusion factor (people per area ratio) of a crowd.
pub const OCCLUSION_CAP: f64 = 1.2;

/// People in a blob ≈ (area / one person's area) ^ this.
const AREA_EXPONENT: f64 = 1.5;

/// Share of the samples in the densest window taken as the typical single person.
const MODE_SHARE: f64 = 0.3;

/// The densest value: the middle of the narrowest window holding [`MODE_SHARE`] of the
/// samples. Groups that pass for one upright blob spread out above it; they do not move it.
fn mode(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = ((v.len() as f64 * MODE_SHARE) as usize).clamp(1, v.len());
    let i = (0..=v.len() - m)
        .min_by(|a, b| (v[a + m - 1] - v[*a]).total_cmp(&(v[b + m - 1] - v[*b])))
        .unwrap_or(0);
    v[i + m / 2]
}

fn median(v: &VecDeque<f64>) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().collect();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// A person's expected size at a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PersonSize {
    /// Height, pixels.
    pub height: f64,
    /// Width, pixels.
    pub width: f64,
    /// Foreground area, pixels².
    pub area: f64,
}

/// The learned model.
#[derive(Debug, Clone)]
pub struct SizeModel {
    image_height: f64,
    bands: Vec<Band>,
    fit: Option<(f64, f64)>,
    range: Option<(f64, f64)>,
    width_ratio: f64,
    fill: f64,
    prior: (f64, f64),
    updates: u64,
}

impl SizeModel {
    /// A model for images `image_height` pixels tall; `prior` is the (smallest, largest)
    /// person height in pixels to expect before anything is learned.
    pub fn new(image_height: f64, prior: (f64, f64)) -> Self {
        SizeModel {
            image_height,
            bands: vec![Band::default(); 12],
            fit: None,
            range: None,
            width_ratio: 0.38,
            fill: 0.6,
            prior,
            updates: 0,
        }
    }

    fn band(&self, y: f64) -> usize {
        let n = self.bands.len();
        ((y / self.image_height * n as f64).floor().max(0.0) as usize).min(n - 1)
    }

    /// Offers a blob; it is kept only if it looks like one upright person.
    pub fn observe(&mut self, b: &BBox, area: f64, frame_w: f64) {
        let aspect = b.h / b.w.max(1.0);
        let edge = b.x <= 1.0
            || b.right() >= frame_w - 1.0
            || b.y <= 1.0
            || b.bottom() >= self.image_height - 1.0;
        if edge || !(1.8..=4.5).contains(&aspect) || b.h < self.prior.0 * 0.5 {
            return;
        }
        let i = self.band(b.bottom());
        let band = &mut self.bands[i];
        band.heights.push_back(b.h);
        band.widths.push_back(b.w);
        band.areas.push_back(area / b.area().max(1.0));
        if band.heights.len() > PER_BAND {
            band.heights.pop_front();
            band.widths.pop_front();
            band.areas.pop_front();
        }
        self.updates += 1;
        if self.updates.is_multiple_of(4) {
            self.refit();
        }
    }

    fn refit(&mut self) {
        let pts: Vec<(f64, f64, f64)> = self
            .bands
            .iter()
            .enumerate()
            .filter(|(_, b)| b.heights.len() >= MIN_BAND)
            .map(|(i, b)| {
                let y = (i as f64 + 0.5) / self.bands.len() as f64 * self.image_height;
                (y, median(&b.heights), b.heights.len() as f64)
            })
            .collect();
        // Widths and areas relative to the height, at their densest: most upright blobs are
        // one person; groups that pass for one are wider and bigger, and spread out.
        let ready: Vec<&Band> = self
            .bands
            .iter()
            .filter(|b| b.heights.len() >= MIN_BAND)
            .collect();
        if !ready.is_empty() {
            let mut wr: Vec<f64> = Vec::new();
            let mut ar: Vec<f64> = Vec::new();
            for b in &ready {
                for ((h, w), a) in b.heights.iter().zip(&b.widths).zip(&b.areas) {
                    wr.push(w / h);
                    ar.push(a * w / h);
                }
            }
            self.width_ratio = mode(&mut wr);
            self.fill = mode(&mut ar) / self.width_ratio.max(1e-6);
        }
        let band_h = self.image_height / self.bands.len() as f64;
        let span = match (pts.first(), pts.last()) {
            (Some(a), Some(b)) => b.0 - a.0,
            _ => 0.0,
        };
        // A line through one band, or two neighbours, says nothing about the slope: keep the
        // prior until the samples span at least three bands.
        self.fit = match pts.len() {
            n if n < 3 || span < 2.0 * band_h => None,
            _ => {
                let w: f64 = pts.iter().map(|p| p.2).sum();
                let my = pts.iter().map(|p| p.0 * p.2).sum::<f64>() / w;
                let mh = pts.iter().map(|p| p.1 * p.2).sum::<f64>() / w;
                let sxy: f64 = pts.iter().map(|p| p.2 * (p.0 - my) * (p.1 - mh)).sum();
                let sxx: f64 = pts.iter().map(|p| p.2 * (p.0 - my) * (p.0 - my)).sum();
                // Farther is never taller: a negative slope is noise.
                let b = if sxx > 0.0 { (sxy / sxx).max(0.0) } else { 0.0 };
                Some((mh - b * my, b))
            }
        };
        // On a flat ground a person's height in the image grows linearly with the row of the
        // feet, so a line fitted over a few bands extrapolates to the rest of the image.
        self.range = self.fit.map(|_| (f64::NEG_INFINITY, f64::INFINITY));
    }

    /// Whether the model has learned the size of people with feet at row `y` (today: whether
    /// it has learned at all, from rows spanning at least a sixth of the image).
    pub fn reliable(&self, y: f64) -> bool {
        self.range.is_some_and(|(a, b)| y >= a && y <= b)
    }

    /// Whether the model has learned from data (rather than the prior).
    pub fn learned(&self) -> bool {
        self.fit.is_some()
    }

    /// Expected size of one person whose feet are at row `y`.
    pub fn expected(&self, y: f64) -> PersonSize {
        let height = match self.fit {
            Some((a, b)) => (a + b * y).max(self.prior.0 * 0.5),
            None => {
                let f = (y / self.image_height).clamp(0.0, 1.0);
                self.prior.0 + f * (self.prior.1 - self.prior.0)
            }
        };
        let width = height * self.width_ratio;
        PersonSize {
            height,
            width,
            area: height * width * self.fill,
        }
    }

    /// The row of the feet of a person one of whose body pixels is at row `y` (taken to be at
    /// mid-body): solves `foot = y + height(foot) / 2`.
    pub fn foot_of_body_row(&self, y: f64) -> f64 {
        let mut f = y;
        for _ in 0..4 {
            f = y + 0.5 * self.expected(f).height;
        }
        f
    }

    /// People per unit of area ratio in a blob: 1 for one person, more for a group whose
    /// members hide parts of each other (`people_in / (area / one person's area)`), up to
    /// [`OCCLUSION_CAP`]: in a crowd each person keeps about the same visible share.
    pub fn occlusion_factor(&self, b: &BBox, area: f64) -> f64 {
        if !self.reliable(b.bottom()) {
            return 1.0;
        }
        let r = area / self.expected(b.bottom()).area.max(1.0);
        r.max(1.0).powf(AREA_EXPONENT - 1.0).min(OCCLUSION_CAP)
    }

    /// How many people a blob holds, as a real number (1 for one person of the expected size;
    /// always 1 where the model has not learned the size of people yet).
    pub fn people_in(&self, b: &BBox, area: f64) -> f64 {
        if !self.reliable(b.bottom()) {
            return 1.0;
        }
        let e = self.expected(b.bottom());
        // Overlapping people hide each other: the area of k people grows slower than k.
        (area / e.area.max(1.0)).max(0.0).powf(AREA_EXPONENT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_perspective_line() {
        let mut m = SizeModel::new(400.0, (20.0, 120.0));
        for i in 0..2000 {
            let y = 150.0 + (i % 240) as f64;
            let h = 0.5 * y - 25.0; // 50 px at y=150, 170 px at y=390
            let b = BBox::new(100.0, y - h, h * 0.35, h);
            m.observe(&b, b.area() * 0.6, 640.0);
        }
        // A few pairs do not move the medians.
        for i in 0..100 {
            let y = 200.0 + i as f64;
            let h = 0.5 * y - 25.0;
            let b = BBox::new(100.0, y - h, h * 0.7, h);
            m.observe(&b, b.area() * 0.6, 640.0);
        }
        assert!(m.learned());
        let e = m.expected(300.0);
        assert!((e.height - 125.0).abs() < 8.0, "{e:?}");
        let one = BBox::new(0.0, 300.0 - 125.0, 125.0 * 0.35, 125.0);
        assert!((m.people_in(&one, one.area() * 0.6) - 1.0).abs() < 0.25);
        // Two people side by side hide part of each other: 1.6 times the area of one.
        let two = BBox::new(0.0, 300.0 - 125.0, 125.0 * 0.56, 125.0);
        assert!((m.people_in(&two, two.area() * 0.6) - 2.0).abs() < 0.3);
        assert!((m.occlusion_factor(&two, two.area() * 0.6) - OCCLUSION_CAP).abs() < 1e-9);
    }

    #[test]
    fn prior_before_learning() {
        let m = SizeModel::new(400.0, (20.0, 120.0));
        assert!(!m.learned());
        assert_eq!(m.expected(0.0).height, 20.0);
        assert_eq!(m.expected(400.0).height, 120.0);
    }
}
