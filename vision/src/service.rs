//! The running counter: a video thread (source → pipeline) and the publisher thread, joined by
//! a bounded channel the video thread never waits on.
//!
//! The video thread keeps counts it could not hand over (channel full) and adds them to its
//! next update; it logs and sends a health snapshot every few seconds. A file is processed at
//! its own frame rate when `realtime` (as a camera would deliver it), else as fast as possible.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use district::clock::Clock;
use opencv::core::Mat;
use opencv::prelude::*;
use tokio::sync::mpsc;

use crate::config::{Config, Resolved};
use crate::cv::{self, Pipeline, Read, Source};
use crate::health::{FpsMeter, Health, StreamState};
use crate::publish::{self, PublisherConfig, Summary, Update};

/// What a run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunSummary {
    /// Frames processed.
    pub frames: u64,
    /// People counted in.
    pub ins: u64,
    /// People counted out.
    pub outs: u64,
    /// The publisher's side.
    pub published: Summary,
}

/// Runs the counter until the source ends (a file) or `stop` is set.
pub fn run(
    cfg: &Config,
    resolved: &Resolved,
    clock: Clock,
    stop: Arc<AtomicBool>,
    security: &district::client::ClientSecurity,
) -> Result<RunSummary> {
    cv::single_threaded()?;
    let (tx, rx) = mpsc::channel::<Update>(publish::CHANNEL);
    let publisher = publish::spawn(
        PublisherConfig {
            broker: cfg.broker.clone(),
            security: security.clone(),
            client_id: security.client_id(&format!(
                "footfall-counter-{}-{}",
                resolved.district, cfg.device
            )),
            district: resolved.district.clone(),
            device: cfg.device.clone(),
            interval: resolved.interval,
            health_interval: cfg.health_interval,
            tz: resolved.tz.clone(),
            clock,
            first_seq: 1,
            flush_timeout: Duration::from_secs(10),
        },
        rx,
    )?;
    let video = {
        let cfg = cfg.clone();
        let tz = resolved.tz.clone();
        std::thread::Builder::new()
            .name("video".into())
            .spawn(move || video_loop(&cfg, &tz, clock, &stop, tx))?
    };
    let mut summary = video
        .join()
        .map_err(|_| anyhow::anyhow!("the video thread panicked"))??;
    summary.published = publisher
        .join()
        .map_err(|_| anyhow::anyhow!("the publisher thread panicked"))?;
    Ok(summary)
}

fn video_loop(
    cfg: &Config,
    tz: &crate::config::Tz,
    clock: Clock,
    stop: &AtomicBool,
    tx: mpsc::Sender<Update>,
) -> Result<RunSummary> {
    let mut source = Source::new(&cfg.source, cfg.loop_file);
    let mut frame = Mat::default();
    let mut pipeline: Option<Pipeline> = None;
    let started = Instant::now();
    let mut meter = FpsMeter::new(5.0);
    let mut busy = FpsMeter::new(5.0);
    let mut busy_ms: std::collections::VecDeque<f64> = Default::default();
    let (mut carry_in, mut carry_out) = (0u64, 0u64);
    let mut last_health = Instant::now() - Duration::from_secs(3600);
    let mut next_due: Option<Instant> = None;
    let mut summary = RunSummary::default();
    let mut state = StreamState::Connecting;
    while !stop.load(Ordering::Relaxed) {
        let read = source.read(&mut frame);
        state = source.state();
        match read {
            Read::Ended => break,
            Read::Retry => std::thread::sleep(Duration::from_millis(20)),
            Read::Frame => {
                let t0 = Instant::now();
                if pipeline.is_none() {
                    let fps = source.fps().unwrap_or(25.0);
                    pipeline = Some(Pipeline::new(
                        &cfg.detector,
                        &cfg.line,
                        frame.cols(),
                        frame.rows(),
                        fps,
                    )?);
                }
                let p = pipeline.as_mut().expect("created above");
                let r = p.process(&frame)?;
                for c in &r.crossings {
                    match c.direction {
                        crate::count::Direction::In => carry_in += c.people as u64,
                        crate::count::Direction::Out => carry_out += c.people as u64,
                    }
                    tracing::debug!(frame = c.frame, track = c.track, direction = ?c.direction, people = c.people, "crossing");
                }
                if carry_in + carry_out > 0 {
                    match tx.try_send(Update::Counts {
                        ins: carry_in,
                        outs: carry_out,
                    }) {
                        Ok(()) => (carry_in, carry_out) = (0, 0),
                        Err(mpsc::error::TrySendError::Full(_)) => {} // kept, merged into the next
                        Err(mpsc::error::TrySendError::Closed(_)) => {
                            anyhow::bail!("the publisher stopped")
                        }
                    }
                }
                let now = started.elapsed().as_secs_f64();
                meter.tick(now);
                busy.tick(now);
                busy_ms.push_back(t0.elapsed().as_secs_f64() * 1000.0);
                if busy_ms.len() > 100 {
                    busy_ms.pop_front();
                }
                // A file at its own pace, as a camera would deliver it.
                if cfg.realtime && !cfg.source.contains("://") {
                    let period = Duration::from_secs_f64(1.0 / source.fps().unwrap_or(25.0));
                    let due = next_due
                        .map(|d| d + period)
                        .unwrap_or_else(|| Instant::now() + period);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    next_due = Some(due.max(Instant::now() - period));
                }
            }
        }
        if last_health.elapsed() >= Duration::from_secs(2) {
            last_health = Instant::now();
            let totals = pipeline.as_ref().map(|p| p.totals()).unwrap_or_default();
            let h = Health {
                ts: tz.format(clock.now_ms()),
                device: cfg.device.clone(),
                state,
                fps: (meter.fps(started.elapsed().as_secs_f64()) * 10.0).round() / 10.0,
                source_fps: source.fps(),
                frames: pipeline.as_ref().map(|p| p.frames()).unwrap_or(0),
                reconnects: source.reconnects(),
                frame_ms: if busy_ms.is_empty() {
                    0.0
                } else {
                    (busy_ms.iter().sum::<f64>() / busy_ms.len() as f64 * 10.0).round() / 10.0
                },
                tracks: pipeline
                    .as_ref()
                    .map(|p| p.tracks().iter().filter(|t| t.confirmed()).count())
                    .unwrap_or(0),
                in_total: totals.ins,
                out_total: totals.outs,
                unpublished: 0,
                relearning: pipeline.as_ref().is_some_and(|p| p.last().relearning),
                last_error: source.last_error().map(str::to_string),
            };
            tracing::info!(state = ?h.state, fps = h.fps, frame_ms = h.frame_ms, tracks = h.tracks, ins = h.in_total, outs = h.out_total, reconnects = h.reconnects, "health");
            let _ = tx.try_send(Update::Health(Box::new(h)));
        }
    }
    // Hand over what is left; wait for room, the publisher is draining.
    if carry_in + carry_out > 0 {
        let _ = tx.blocking_send(Update::Counts {
            ins: carry_in,
            outs: carry_out,
        });
    }
    let totals = pipeline.as_ref().map(|p| p.totals()).unwrap_or_default();
    let frames = pipeline.as_ref().map(|p| p.frames()).unwrap_or(0);
    let final_health = Health {
        ts: tz.format(clock.now_ms()),
        device: cfg.device.clone(),
        state: if state == StreamState::Ended {
            StreamState::Ended
        } else {
            StreamState::Offline
        },
        fps: 0.0,
        source_fps: source.fps(),
        frames,
        reconnects: source.reconnects(),
        frame_ms: 0.0,
        tracks: 0,
        in_total: totals.ins,
        out_total: totals.outs,
        unpublished: 0,
        relearning: false,
        last_error: source.last_error().map(str::to_string),
    };
    let _ = tx.blocking_send(Update::Health(Box::new(final_health)));
    summary.frames = frames;
    summary.ins = totals.ins;
    summary.outs = totals.outs;
    Ok(summary)
}
