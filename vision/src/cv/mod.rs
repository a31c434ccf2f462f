//! Everything that touches pixels through OpenCV (feature `vision`).
//!
//! - [`source`]: video files and streams, reopened on failure.
//! - [`detect`]: MOG2 background subtraction with shadow removal, morphology, contours.
//! - [`hog`]: the optional HOG people detector.
//! - [`flow`]: the line's pixels and their optical flow, for flow counting.
//! - [`pipeline`]: one frame in, crossings out.
//! - [`offline`]: counting whole files and synthetic scenes (eval, score, bench, tests).
//! - this module: BGR buffers to `Mat`, the overlay drawn on annotated output, video writing.

pub mod detect;
pub mod flow;
pub mod hog;
pub mod offline;
pub mod pipeline;
pub mod source;

use anyhow::{Context, Result};
use opencv::core::{Mat, Point as CvPoint, Rect, Scalar, Size, CV_8UC3};
use opencv::imgproc;
use opencv::prelude::*;
use opencv::videoio::{VideoWriter, VideoWriterTrait};

pub use pipeline::{FrameResult, Pipeline};
pub use source::{Read, Source};

use crate::count::Totals;
use crate::geometry::CountingRegion;
use crate::tracker::Track;

/// Uses one OpenCV thread (the counter's budget is one core; the MQTT side needs little).
pub fn single_threaded() -> Result<()> {
    opencv::core::set_num_threads(1)?;
    Ok(())
}

/// A `Mat` (8-bit BGR) holding a copy of `bgr`, `width`×`height`.
pub fn mat_from_bgr(bgr: &[u8], width: i32, height: i32, mat: &mut Mat) -> Result<()> {
    if mat.rows() != height || mat.cols() != width || mat.typ() != CV_8UC3 {
        *mat = Mat::new_rows_cols_with_default(height, width, CV_8UC3, Scalar::all(0.0))?;
    }
    let data = mat.data_bytes_mut()?;
    anyhow::ensure!(
        data.len() == bgr.len(),
        "frame is {} bytes, expected {}",
        bgr.len(),
        data.len()
    );
    data.copy_from_slice(bgr);
    Ok(())
}

/// A video file writer (Motion JPEG in AVI: readable everywhere OpenCV is).
pub struct Writer {
    w: VideoWriter,
}

impl Writer {
    /// Creates `path` for frames of `width`×`height` at `fps`.
    pub fn create(path: &str, width: i32, height: i32, fps: f64) -> Result<Writer> {
        let fourcc = VideoWriter::fourcc('M', 'J', 'P', 'G')?;
        let w = VideoWriter::new(path, fourcc, fps, Size::new(width, height), true)
            .with_context(|| format!("creating {path}"))?;
        anyhow::ensure!(w.is_opened()?, "cannot write video {path} (MJPG/AVI)");
        Ok(Writer { w })
    }

    /// Appends a frame.
    pub fn write(&mut self, frame: &Mat) -> Result<()> {
        self.w.write(frame)?;
        Ok(())
    }

    /// Finishes the file.
    pub fn finish(mut self) -> Result<()> {
        self.w.release()?;
        Ok(())
    }
}

fn pt(p: crate::geometry::Point) -> CvPoint {
    CvPoint::new(p.x.round() as i32, p.y.round() as i32)
}

/// Draws the counting region, the tracks and the totals on `frame`.
pub fn draw_overlay(
    frame: &mut Mat,
    region: &CountingRegion,
    tracks: &[Track],
    totals: Totals,
    label: &str,
) -> Result<()> {
    let yellow = Scalar::new(0.0, 220.0, 255.0, 0.0);
    let outline = region.outline();
    let closed = matches!(region, CountingRegion::Polygon { .. });
    for i in 0..outline.len() {
        if i + 1 == outline.len() && !closed {
            break;
        }
        let j = (i + 1) % outline.len();
        imgproc::line(
            frame,
            pt(outline[i]),
            pt(outline[j]),
            yellow,
            2,
            imgproc::LINE_8,
            0,
        )?;
    }
    for t in tracks {
        let colour = if !t.confirmed() {
            Scalar::new(160.0, 160.0, 160.0, 0.0)
        } else if t.grouped > 0 {
            Scalar::new(255.0, 0.0, 255.0, 0.0)
        } else if t.seen {
            Scalar::new(0.0, 255.0, 0.0, 0.0)
        } else {
            Scalar::new(0.0, 128.0, 255.0, 0.0)
        };
        let b = t.bbox;
        let r = Rect::new(
            b.x.round() as i32,
            b.y.round() as i32,
            b.w.round().max(1.0) as i32,
            b.h.round().max(1.0) as i32,
        );
        imgproc::rectangle(frame, r, colour, 1, imgproc::LINE_8, 0)?;
        let text = if t.people > 1 {
            format!("{}x{}", t.id, t.people)
        } else {
            t.id.to_string()
        };
        imgproc::put_text(
            frame,
            &text,
            CvPoint::new(r.x, r.y - 3),
            imgproc::FONT_HERSHEY_SIMPLEX,
            0.4,
            colour,
            1,
            imgproc::LINE_8,
            false,
        )?;
    }
    let text = format!("{label} in {} out {}", totals.ins, totals.outs);
    imgproc::put_text(
        frame,
        &text,
        CvPoint::new(8, 20),
        imgproc::FONT_HERSHEY_SIMPLEX,
        0.6,
        Scalar::new(0.0, 0.0, 0.0, 0.0),
        3,
        imgproc::LINE_8,
        false,
    )?;
    imgproc::put_text(
        frame,
        &text,
        CvPoint::new(8, 20),
        imgproc::FONT_HERSHEY_SIMPLEX,
        0.6,
        yellow,
        1,
        imgproc::LINE_8,
        false,
    )?;
    Ok(())
}
