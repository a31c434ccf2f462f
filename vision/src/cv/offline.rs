//! Counting whole videos offline, as fast as possible: a file, or a synthetic scene rendered
//! in memory or through a video file. Used by `footfall-counter eval`, `score`, `bench` and
//! the accuracy tests.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use opencv::core::Mat;
use opencv::prelude::*;

use super::{draw_overlay, mat_from_bgr, Pipeline, Read, Source, Writer};
use crate::config::{DetectorConfig, LineConfig};
use crate::count::{Crossing, Totals};
use crate::geometry::InDirection;
use crate::synth::render::Renderer;
use crate::synth::Scene;

/// The result of counting one video.
#[derive(Debug, Clone, Default)]
pub struct VideoCount {
    /// Every crossing counted.
    pub crossings: Vec<Crossing>,
    /// Totals.
    pub totals: Totals,
    /// Frames processed.
    pub frames: u64,
    /// Seconds spent in the pipeline (detection, tracking, counting).
    pub pipeline_s: f64,
    /// Seconds spent reading (decoding) or rendering frames.
    pub input_s: f64,
}

impl VideoCount {
    /// Frames per second through the pipeline alone.
    pub fn pipeline_fps(&self) -> f64 {
        self.frames as f64 / self.pipeline_s.max(1e-9)
    }

    /// Frames per second including reading (decoding) the frames.
    pub fn total_fps(&self) -> f64 {
        self.frames as f64 / (self.pipeline_s + self.input_s).max(1e-9)
    }
}

/// The line configuration for the synthetic scenes: vertical through the centre, `in` to the right.
pub fn scene_line(scene: &Scene) -> LineConfig {
    LineConfig {
        points: scene.spec.line(),
        in_direction: InDirection::LeftToRight,
        band_px: None,
        anchor: Default::default(),
        method: Default::default(),
    }
}

/// Counts a video file. With `annotate`, writes the frames with the overlay to that file.
pub fn count_file(
    path: &str,
    det: &DetectorConfig,
    line: &LineConfig,
    annotate: Option<&Path>,
) -> Result<VideoCount> {
    let mut src = Source::open_now(path).with_context(|| format!("opening {path}"))?;
    let fps = src.fps().unwrap_or(25.0);
    let mut frame = Mat::default();
    let mut out = VideoCount::default();
    let mut pipeline: Option<Pipeline> = None;
    let mut writer: Option<Writer> = None;
    loop {
        let t0 = Instant::now();
        let r = src.read(&mut frame);
        out.input_s += t0.elapsed().as_secs_f64();
        match r {
            Read::Frame => {}
            Read::Ended => break,
            Read::Retry => anyhow::bail!("{path}: {}", src.last_error().unwrap_or("read failed")),
        }
        if pipeline.is_none() {
            pipeline = Some(Pipeline::new(det, line, frame.cols(), frame.rows(), fps)?);
            if let Some(a) = annotate {
                writer = Some(Writer::create(
                    &a.to_string_lossy(),
                    frame.cols(),
                    frame.rows(),
                    fps,
                )?);
            }
        }
        let p = pipeline.as_mut().expect("created above");
        let t1 = Instant::now();
        let r = p.process(&frame)?;
        out.pipeline_s += t1.elapsed().as_secs_f64();
        out.crossings.extend_from_slice(&r.crossings);
        if let Some(w) = &mut writer {
            let label = format!("#{}", p.frames() - 1);
            draw_overlay(
                &mut frame,
                p.counter().region(),
                p.tracks(),
                p.totals(),
                &label,
            )?;
            w.write(&frame)?;
        }
    }
    if let Some(w) = writer {
        w.finish()?;
    }
    if let Some(p) = &pipeline {
        out.totals = p.totals();
        out.frames = p.frames();
    }
    Ok(out)
}

/// Reads (decodes) every frame of a file and does nothing else: the reference speed a counting
/// run is compared with on a shared machine. Returns (frames, seconds).
pub fn decode_only(path: &str) -> Result<(u64, f64)> {
    let mut src = Source::open_now(path).with_context(|| format!("opening {path}"))?;
    let mut frame = Mat::default();
    let t0 = Instant::now();
    let mut n = 0u64;
    loop {
        match src.read(&mut frame) {
            Read::Frame => n += 1,
            Read::Ended => break,
            Read::Retry => anyhow::bail!("{path}: {}", src.last_error().unwrap_or("read failed")),
        }
    }
    Ok((n, t0.elapsed().as_secs_f64()))
}

/// Counts a synthetic scene rendered in memory (no codec); `line` is usually [`scene_line`].
pub fn count_scene(scene: &Scene, det: &DetectorConfig, line: &LineConfig) -> Result<VideoCount> {
    let s = &scene.spec;
    let mut p = Pipeline::new(det, line, s.width as i32, s.height as i32, s.fps)?;
    let r = Renderer::new(scene);
    let mut buf = Vec::new();
    let mut mat = Mat::default();
    let mut out = VideoCount::default();
    for f in 0..s.frames() {
        let t0 = Instant::now();
        r.render(f, &mut buf);
        mat_from_bgr(&buf, s.width as i32, s.height as i32, &mut mat)?;
        out.input_s += t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let res = p.process(&mat)?;
        out.pipeline_s += t1.elapsed().as_secs_f64();
        out.crossings.extend_from_slice(&res.crossings);
    }
    out.totals = p.totals();
    out.frames = p.frames();
    Ok(out)
}

/// Writes a synthetic scene to a video file (MJPG/AVI).
pub fn write_scene(scene: &Scene, path: &Path) -> Result<()> {
    let s = &scene.spec;
    let mut w = Writer::create(
        &path.to_string_lossy(),
        s.width as i32,
        s.height as i32,
        s.fps,
    )?;
    let r = Renderer::new(scene);
    let mut buf = Vec::new();
    let mut mat = Mat::default();
    for f in 0..s.frames() {
        r.render(f, &mut buf);
        mat_from_bgr(&buf, s.width as i32, s.height as i32, &mut mat)?;
        w.write(&mat)?;
    }
    w.finish()
}
