//! OpenCV's HOG people detector (Dalal–Triggs, the default 64×128 SVM), as an alternative
//! detector when `detector.kind = "hog"`.
//!
//! It finds people who stand still as well as walkers, but it is slow (tens to hundreds of
//! milliseconds per frame here, far from real time at 720p on one core) and misses people
//! under about 100 pixels tall unless the frame is scaled up, which makes it slower still. The
//! default detector is MOG2.

use anyhow::Result;
use opencv::core::{Mat, Rect, Size, Vector};
use opencv::imgproc;
use opencv::objdetect::HOGDescriptor;
use opencv::prelude::*;

use crate::config::DetectorConfig;
use crate::geometry::BBox;

/// The HOG detector.
pub struct HogDetector {
    hog: HOGDescriptor,
    scale: f64,
    small: Mat,
    threshold: f64,
}

impl HogDetector {
    /// A detector for frames `width` pixels wide.
    pub fn new(cfg: &DetectorConfig, width: i32) -> Result<Self> {
        let mut hog = HOGDescriptor::default()?;
        hog.set_svm_detector_input_array(&HOGDescriptor::get_default_people_detector()?)?;
        let scale = if width as u32 > cfg.process_width {
            cfg.process_width as f64 / width as f64
        } else {
            1.0
        };
        Ok(HogDetector {
            hog,
            scale,
            small: Mat::default(),
            threshold: cfg.hog_threshold,
        })
    }

    /// People boxes in image pixels, with their SVM weights.
    pub fn detect(&mut self, frame: &Mat) -> Result<Vec<(BBox, f64)>> {
        let input = if self.scale < 1.0 {
            imgproc::resize(
                frame,
                &mut self.small,
                Size::new(0, 0),
                self.scale,
                self.scale,
                imgproc::INTER_AREA,
            )?;
            &self.small
        } else {
            frame
        };
        let mut found: Vector<Rect> = Vector::new();
        let mut weights: Vector<f64> = Vector::new();
        self.hog.detect_multi_scale_weights(
            input,
            &mut found,
            &mut weights,
            self.threshold,
            Size::new(8, 8),
            Size::new(8, 8),
            1.05,
            2.0,
            false,
        )?;
        let inv = 1.0 / self.scale;
        Ok(found
            .iter()
            .zip(weights.iter())
            .map(|(r, w)| {
                // The default detector's box is loose: the person fills about the middle 80 %
                // of its height and half of its width.
                let b =
                    BBox::new(r.x as f64, r.y as f64, r.width as f64, r.height as f64).scaled(inv);
                (
                    BBox::new(b.x + 0.25 * b.w, b.y + 0.1 * b.h, 0.5 * b.w, 0.8 * b.h),
                    w,
                )
            })
            .collect())
    }
}
