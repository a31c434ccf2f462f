//! Foreground blobs by background subtraction: MOG2 with shadow detection, shadows dropped,
//! morphology, external contours.
//!
//! Per frame: scale down to the processing width; MOG2 marks foreground (255), shadow (127)
//! and background (0); keeping only 255 drops the shadows; an opening removes specks and a
//! closing with a tall kernel joins a person's head, body and legs; the external contours give
//! the blobs. When a large part of the frame changes at once (lights switched, a cloud), MOG2 is
//! told to relearn quickly for a few frames and their blobs are ignored (the tracker coasts).

use anyhow::Result;
use opencv::core::{self, Mat, Point as CvPoint, Ptr, Rect, Size, Vector};
use opencv::imgproc;
use opencv::prelude::*;
use opencv::video::{self, BackgroundSubtractorMOG2};

use crate::blobs::Blob;
use crate::config::DetectorConfig;
use crate::geometry::BBox;
use crate::tracker::Appearance;

/// The MOG2 blob detector.
pub struct BlobDetector {
    cfg: DetectorConfig,
    mog: Ptr<BackgroundSubtractorMOG2>,
    scale: f64,
    small: Mat,
    raw: Mat,
    mask: Mat,
    tmp: Mat,
    open_k: Mat,
    close_k: Mat,
    relearn_left: u32,
    frames: u64,
}

/// One frame's result.
pub struct Foreground {
    /// Blobs, image pixels.
    pub blobs: Vec<Blob>,
    /// Fraction of the frame that is foreground.
    pub fraction: f64,
    /// Whether the background is being relearned (blobs are empty then).
    pub relearning: bool,
}

impl BlobDetector {
    /// A detector for frames `width` pixels wide.
    pub fn new(cfg: &DetectorConfig, width: i32) -> Result<Self> {
        let mut mog = video::create_background_subtractor_mog2(
            cfg.history,
            cfg.var_threshold,
            cfg.detect_shadows,
        )?;
        mog.set_shadow_threshold(cfg.shadow_threshold)?;
        let scale = if width as u32 > cfg.process_width {
            cfg.process_width as f64 / width as f64
        } else {
            1.0
        };
        let open_k = imgproc::get_structuring_element(
            imgproc::MORPH_ELLIPSE,
            Size::new(cfg.open_px.max(1), cfg.open_px.max(1)),
            CvPoint::new(-1, -1),
        )?;
        let close_k = imgproc::get_structuring_element(
            imgproc::MORPH_ELLIPSE,
            Size::new(cfg.close_px.max(1), (cfg.close_px * 2).max(1)),
            CvPoint::new(-1, -1),
        )?;
        Ok(BlobDetector {
            cfg: cfg.clone(),
            mog,
            scale,
            small: Mat::default(),
            raw: Mat::default(),
            mask: Mat::default(),
            tmp: Mat::default(),
            open_k,
            close_k,
            relearn_left: 0,
            frames: 0,
        })
    }

    /// Processing scale (processing pixels per image pixel).
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The last foreground mask (processing resolution), for drawing.
    pub fn mask(&self) -> &Mat {
        &self.mask
    }

    /// Detects the blobs of `frame` (BGR, image resolution).
    pub fn detect(&mut self, frame: &Mat) -> Result<Foreground> {
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
        self.frames += 1;
        let lr = if self.relearn_left > 0 {
            // First relearning frame: take the frame as the new background; then adapt fast.
            if self.relearn_left == self.cfg.relearn_frames {
                1.0
            } else {
                0.1
            }
        } else {
            -1.0
        };
        video::BackgroundSubtractorTrait::apply(&mut self.mog, input, &mut self.raw, lr)?;
        imgproc::threshold(
            &self.raw,
            &mut self.tmp,
            200.0,
            255.0,
            imgproc::THRESH_BINARY,
        )?;
        let total = (self.tmp.rows() * self.tmp.cols()).max(1) as f64;
        let fraction = core::count_non_zero(&self.tmp)? as f64 / total;
        if self.relearn_left > 0 {
            self.relearn_left -= 1;
            self.tmp.copy_to(&mut self.mask)?;
            return Ok(Foreground {
                blobs: Vec::new(),
                fraction,
                relearning: true,
            });
        }
        // A sudden change of most of the frame: relearn (not during MOG2's own warm-up).
        if fraction > self.cfg.relearn_fraction && self.frames > 5 {
            tracing::info!(
                fraction,
                "sudden change of the whole scene; relearning the background"
            );
            self.relearn_left = self.cfg.relearn_frames;
            self.tmp.copy_to(&mut self.mask)?;
            return Ok(Foreground {
                blobs: Vec::new(),
                fraction,
                relearning: true,
            });
        }
        let border = imgproc::morphology_default_border_value()?;
        imgproc::morphology_ex(
            &self.tmp,
            &mut self.mask,
            imgproc::MORPH_OPEN,
            &self.open_k,
            CvPoint::new(-1, -1),
            1,
            core::BORDER_CONSTANT,
            border,
        )?;
        imgproc::morphology_ex(
            &self.mask,
            &mut self.tmp,
            imgproc::MORPH_CLOSE,
            &self.close_k,
            CvPoint::new(-1, -1),
            1,
            core::BORDER_CONSTANT,
            border,
        )?;
        self.tmp.copy_to(&mut self.mask)?;
        let mut contours: Vector<Vector<CvPoint>> = Vector::new();
        imgproc::find_contours(
            &self.tmp,
            &mut contours,
            imgproc::RETR_EXTERNAL,
            imgproc::CHAIN_APPROX_SIMPLE,
            CvPoint::new(0, 0),
        )?;
        let min_area = self.cfg.min_area * total;
        let inv = 1.0 / self.scale;
        let mut blobs = Vec::new();
        for c in contours.iter() {
            let area = imgproc::contour_area(&c, false)?;
            if area < min_area {
                continue;
            }
            let r = imgproc::bounding_rect(&c)?;
            let bbox =
                BBox::new(r.x as f64, r.y as f64, r.width as f64, r.height as f64).scaled(inv);
            let appearance = appearance(input, &self.tmp, r)?;
            blobs.push(Blob {
                bbox,
                area: area * inv * inv,
                appearance,
            });
        }
        Ok(Foreground {
            blobs,
            fraction,
            relearning: false,
        })
    }
}

/// Mean colour of the foreground pixels in the upper and lower half of `r`.
fn appearance(frame: &Mat, mask: &Mat, r: Rect) -> Result<Option<Appearance>> {
    if r.height < 4 || r.width < 2 {
        return Ok(None);
    }
    let half = r.height / 2;
    let mut out = [0f32; 6];
    for (k, part) in [
        Rect::new(r.x, r.y, r.width, half),
        Rect::new(r.x, r.y + half, r.width, r.height - half),
    ]
    .into_iter()
    .enumerate()
    {
        let m = core::mean(&Mat::roi(frame, part)?, &Mat::roi(mask, part)?)?;
        for c in 0..3 {
            out[3 * k + c] = (m[c] / 255.0) as f32;
        }
    }
    Ok(Some(out))
}
