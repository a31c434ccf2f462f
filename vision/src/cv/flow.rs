//! The foreground mask around the counting line, resampled in line coordinates for
//! [`crate::flux`]: one [`Strip`] per frame, and the samples from two consecutive strips.
//!
//! Motion across the line is measured on the silhouettes (how far each run of foreground on
//! the line shifted along the normal since the previous frame), not by optical flow: the
//! inside of a plain coat has no texture for optical flow to follow, its outline does.

use anyhow::Result;
use opencv::core::Mat;
use opencv::prelude::*;

use crate::flux::{samples_from_strips, Sample, Strip};
use crate::geometry::{BBox, CountingRegion, Point};
use crate::sizes::SizeModel;

/// Strip half-width across the line, processing pixels.
const HALF: usize = 16;
/// Largest shift searched per frame, processing pixels.
const MAX_SHIFT: isize = 12;

/// Resamples the mask along a counting line.
pub struct LineSampler {
    points: Vec<Point>,
    normal: Point,
    scale: f64,
    prev: Strip,
}

impl LineSampler {
    /// A sampler for a line region (`None` for a polygon, or a line outside the image), frames
    /// `w`×`h` image pixels processed at `scale`.
    pub fn new(region: &CountingRegion, w: i32, h: i32, scale: f64) -> Option<LineSampler> {
        let CountingRegion::Line { a, b, normal, .. } = region else {
            return None;
        };
        let (pw, ph) = (w as f64 * scale, h as f64 * scale);
        let (a, b) = (
            Point::new(a.x * scale, a.y * scale),
            Point::new(b.x * scale, b.y * scale),
        );
        let n = a.dist(b).floor().max(1.0) as usize;
        let points: Vec<Point> = (0..=n)
            .map(|i| {
                let t = i as f64 / n as f64;
                Point::new(a.x + t * (b.x - a.x), a.y + t * (b.y - a.y))
            })
            .filter(|p| p.x >= 0.0 && p.y >= 0.0 && p.x < pw && p.y < ph)
            .collect();
        if points.is_empty() {
            return None;
        }
        Some(LineSampler {
            points,
            normal: *normal,
            scale,
            prev: Strip::default(),
        })
    }

    /// This frame's samples from the processing-resolution foreground `mask`; `blobs` are the
    /// detections' boxes (processing pixels) with their occlusion factor (a pixel of a group
    /// stands for more of a person than a pixel of someone alone).
    pub fn sample(
        &mut self,
        mask: &Mat,
        sizes: &SizeModel,
        blobs: &[(BBox, f64)],
    ) -> Result<Vec<Sample>> {
        let (cols, rows) = (mask.cols(), mask.rows());
        let w = 2 * HALF + 1;
        let mut fg = vec![false; self.points.len() * w];
        for (s, p) in self.points.iter().enumerate() {
            for k in 0..w {
                let o = k as f64 - HALF as f64;
                let (x, y) = (
                    (p.x + o * self.normal.x).round() as i32,
                    (p.y + o * self.normal.y).round() as i32,
                );
                if x >= 0 && y >= 0 && x < cols && y < rows {
                    fg[s * w + k] = *mask.at_2d::<u8>(y, x)? > 0;
                }
            }
        }
        let cur = Strip {
            len: self.points.len(),
            half: HALF,
            fg,
        };
        let inv = 1.0 / self.scale;
        let s2 = self.scale * self.scale;
        let points = &self.points;
        let samples = samples_from_strips(&self.prev, &cur, MAX_SHIFT, |s| {
            // One person's area at this pixel's depth, in processing pixels.
            let foot = sizes.foot_of_body_row(points[s].y * inv);
            let factor = blobs
                .iter()
                .filter(|(b, _)| b.contains(points[s], 0.0))
                .map(|(_, f)| *f)
                .fold(1.0, f64::max);
            factor / (sizes.expected(foot).area * s2).max(1.0)
        });
        self.prev = cur;
        Ok(samples)
    }
}
