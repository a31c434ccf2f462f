//! One frame in, crossings out: detector → blobs → size model → tracker → counter.

use anyhow::Result;
use opencv::core::{Mat, Rect, Scalar};
use opencv::imgproc;
use opencv::prelude::*;

use super::detect::BlobDetector;
use super::flow::LineSampler;
use super::hog::HogDetector;
use crate::blobs::{self, Blob};
use crate::config::{CountMethod, DetectorConfig, DetectorKind, LineConfig};
use crate::count::{Crossing, LineCounter, Totals};
use crate::flux::{FluxConfig, LineFlux};
use crate::sizes::SizeModel;
use crate::tracker::{Detection, Track, Tracker, TrackerConfig};

/// Blobs shorter than this fraction of a person at their depth are not people.
const MIN_PERSON_FRACTION: f64 = 0.4;

enum Detector {
    Mog2(Box<BlobDetector>),
    Hog(Box<HogDetector>),
}

/// What one frame gave.
#[derive(Debug, Clone, Default)]
pub struct FrameResult {
    /// Crossings counted in this frame.
    pub crossings: Vec<Crossing>,
    /// The frame's detections.
    pub detections: Vec<Detection>,
    /// Whether the background was being relearned (no detections).
    pub relearning: bool,
}

/// The per-frame pipeline of one camera.
pub struct Pipeline {
    detector: Detector,
    sizes: SizeModel,
    tracker: Tracker,
    counter: LineCounter,
    width: f64,
    frame: u64,
    sample_every: u64,
    flow: Option<(LineSampler, LineFlux)>,
    flow_mask: Mat,
    method: CountMethod,
    totals: Totals,
    last: FrameResult,
}

impl Pipeline {
    /// A pipeline for frames of `width`×`height` at `fps`.
    pub fn new(
        det: &DetectorConfig,
        line: &LineConfig,
        width: i32,
        height: i32,
        fps: f64,
    ) -> Result<Self> {
        let (w, h) = (width as f64, height as f64);
        let detector = match det.kind {
            DetectorKind::Mog2 => Detector::Mog2(Box::new(BlobDetector::new(det, width)?)),
            DetectorKind::Hog => Detector::Hog(Box::new(HogDetector::new(det, width)?)),
        };
        let prior = (det.person_height.0 * h, det.person_height.1 * h);
        let region = line.region()?;
        // Hybrid counting falls back to tracks where flow cannot run (a polygon, the HOG
        // detector); flow alone cannot.
        let is_line = matches!(region, crate::geometry::CountingRegion::Line { .. });
        let method = match (&detector, line.method) {
            (Detector::Mog2(_), CountMethod::Hybrid) if is_line => CountMethod::Hybrid,
            (_, CountMethod::Hybrid) => {
                tracing::info!(
                    "hybrid counting needs a line and the mog2 detector; counting tracks only"
                );
                CountMethod::Tracks
            }
            (Detector::Mog2(_), CountMethod::Flow) if is_line => CountMethod::Flow,
            (_, CountMethod::Flow) => {
                anyhow::bail!(
                    "flow counting needs a counting line (not a polygon) and the mog2 detector"
                )
            }
            (_, m) => m,
        };
        let flow = match &detector {
            Detector::Mog2(d) if method != CountMethod::Tracks => {
                let sampler = LineSampler::new(&region, width, height, d.scale())
                    .ok_or_else(|| anyhow::anyhow!("the counting line lies outside the image"))?;
                Some((sampler, LineFlux::new(FluxConfig::default())))
            }
            _ => None,
        };
        let mut counter_cfg = line.counter(w);
        counter_cfg.flow_owns_unresolved = method == CountMethod::Hybrid;
        Ok(Pipeline {
            detector,
            sizes: SizeModel::new(h, prior),
            tracker: Tracker::new(TrackerConfig::for_fps(fps), w, h),
            counter: LineCounter::new(region, counter_cfg),
            width: w,
            frame: 0,
            sample_every: ((fps / 3.0).round() as u64).max(1),
            flow,
            flow_mask: Mat::default(),
            method,
            totals: Totals::default(),
            last: FrameResult::default(),
        })
    }

    /// Processes one BGR frame.
    pub fn process(&mut self, frame: &Mat) -> Result<&FrameResult> {
        let (detections, relearning) = match &mut self.detector {
            Detector::Mog2(d) => {
                let fg = d.detect(frame)?;
                let joined = blobs::join_fragments(fg.blobs, &self.sizes);
                // Size samples from whole (joined) blobs that stand alone, a few per second so
                // that one slow walker does not fill a band on their own.
                if self.frame.is_multiple_of(self.sample_every) {
                    for b in isolated(&joined) {
                        self.sizes.observe(&b.bbox, b.area, self.width);
                    }
                }
                (
                    blobs::detections(&joined, &self.sizes, MIN_PERSON_FRACTION),
                    fg.relearning,
                )
            }
            Detector::Hog(d) => (
                d.detect(frame)?
                    .into_iter()
                    .map(|(b, _)| Detection::from_box(b))
                    .collect(),
                false,
            ),
        };
        if tracing::enabled!(tracing::Level::TRACE) {
            for d in &detections {
                let e = self.sizes.expected(d.bbox.bottom());
                tracing::trace!(
                    frame = self.frame,
                    x = d.bbox.x as i32,
                    y = d.bbox.y as i32,
                    w = d.bbox.w as i32,
                    h = d.bbox.h as i32,
                    area = d.area as i32,
                    people = format!("{:.2}", d.people),
                    exp_h = e.height as i32,
                    exp_w = e.width as i32,
                    exp_area = e.area as i32,
                    "detection"
                );
            }
        }
        let events = self.tracker.update(&detections);
        let mut crossings = self
            .counter
            .update(self.frame, self.tracker.tracks(), &events);
        if let (Some((sampler, flux)), Detector::Mog2(d)) = (&mut self.flow, &self.detector) {
            let blobs: Vec<(crate::geometry::BBox, f64)> = detections
                .iter()
                .map(|x| {
                    (
                        x.bbox.scaled(d.scale()),
                        self.sizes.occlusion_factor(&x.bbox, x.area),
                    )
                })
                .collect();
            let samples = if self.method == CountMethod::Hybrid {
                // The flow counts only blobs of more people than tracks: the others are the
                // track counter's.
                d.mask().copy_to(&mut self.flow_mask)?;
                let s = d.scale();
                for (det, unresolved) in detections.iter().zip(&events.unresolved) {
                    if !unresolved {
                        let b = det.bbox.scaled(s);
                        let r = Rect::new(
                            b.x.floor() as i32,
                            b.y.floor() as i32,
                            b.w.ceil() as i32 + 1,
                            b.h.ceil() as i32 + 1,
                        );
                        imgproc::rectangle(
                            &mut self.flow_mask,
                            r,
                            Scalar::all(0.0),
                            imgproc::FILLED,
                            imgproc::LINE_8,
                            0,
                        )?;
                    }
                }
                sampler.sample(&self.flow_mask, &self.sizes, &blobs)?
            } else {
                crossings.clear();
                sampler.sample(d.mask(), &self.sizes, &blobs)?
            };
            crossings.extend(flux.update(&samples).into_iter().map(|direction| Crossing {
                frame: self.frame,
                track: 0,
                direction,
                people: 1,
            }));
        }
        for c in &crossings {
            self.totals.add(c);
        }
        self.frame += 1;
        self.last = FrameResult {
            crossings,
            detections,
            relearning,
        };
        Ok(&self.last)
    }

    /// The live tracks.
    pub fn tracks(&self) -> &[Track] {
        self.tracker.tracks()
    }

    /// The counter.
    pub fn counter(&self) -> &LineCounter {
        &self.counter
    }

    /// Totals since start.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// The size model.
    pub fn sizes(&self) -> &SizeModel {
        &self.sizes
    }

    /// The last frame's result.
    pub fn last(&self) -> &FrameResult {
        &self.last
    }

    /// Frames processed.
    pub fn frames(&self) -> u64 {
        self.frame
    }

    /// The foreground mask of the last frame (MOG2 only), processing resolution.
    pub fn mask(&self) -> Option<&Mat> {
        match &self.detector {
            Detector::Mog2(d) => Some(d.mask()),
            Detector::Hog(_) => None,
        }
    }

    /// Whether the frame rate suits this pipeline (the tracker's gates are per frame).
    pub fn width(&self) -> f64 {
        self.width
    }
}

/// Blobs with no other blob near them: safe samples of one person's size.
fn isolated(blobs: &[Blob]) -> Vec<Blob> {
    blobs
        .iter()
        .filter(|a| {
            blobs.iter().all(|b| {
                std::ptr::eq(*a, b) || {
                    let m = 0.5 * a.bbox.w.max(b.bbox.w);
                    let grown = crate::geometry::BBox::new(
                        a.bbox.x - m,
                        a.bbox.y - m,
                        a.bbox.w + 2.0 * m,
                        a.bbox.h + 2.0 * m,
                    );
                    grown.intersection(&b.bbox) == 0.0
                }
            })
        })
        .copied()
        .collect()
}
