//! Frame-time benchmark (`--bench SECONDS`): after a warm-up, records the time between frames
//! for the given wall time, prints a JSON summary (mean, median, p95, p99, worst, fps, the GPU
//! adapter) and exits. Each frame waits until the GPU has finished it (a blocking device poll
//! at the end of the render schedule), so the figure is the real, sustained frame time of an
//! off-screen 4K target and not just the CPU's submission rate.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::render::renderer::{RenderAdapterInfo, RenderDevice};
use bevy::render::{Render, RenderApp, RenderSystems};
use serde::Serialize;

/// Benchmark settings.
#[derive(Resource, Clone, Debug)]
pub struct BenchSpec {
    /// Frames before this are not counted.
    pub warmup: Duration,
    /// Recording length.
    pub duration: Duration,
    /// Where to write the summary (also printed).
    pub out: Option<std::path::PathBuf>,
    /// A label (district, size) for the summary.
    pub label: String,
}

#[derive(Resource)]
struct BenchState {
    started: Instant,
    last: Option<Instant>,
    recording_since: Option<Instant>,
    frames: Vec<f32>,
}

/// Summary statistics of frame times (ms).
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Summary {
    /// What was measured.
    pub label: String,
    /// GPU adapter and driver.
    pub adapter: String,
    /// Frames recorded.
    pub frames: usize,
    /// Mean frame time.
    pub mean_ms: f32,
    /// Median.
    pub p50_ms: f32,
    /// 95th percentile.
    pub p95_ms: f32,
    /// 99th percentile.
    pub p99_ms: f32,
    /// Worst.
    pub max_ms: f32,
    /// Frames per second (1000 / mean).
    pub fps: f32,
}

/// Summarises frame times in milliseconds.
pub fn summarise(label: &str, adapter: &str, ms: &[f32]) -> Summary {
    let mut v = ms.to_vec();
    v.sort_by(f32::total_cmp);
    let q = |p: f32| -> f32 {
        if v.is_empty() {
            return 0.0;
        }
        v[((v.len() - 1) as f32 * p).round() as usize]
    };
    let mean = if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f32>() / v.len() as f32
    };
    Summary {
        label: label.to_string(),
        adapter: adapter.to_string(),
        frames: v.len(),
        mean_ms: mean,
        p50_ms: q(0.5),
        p95_ms: q(0.95),
        p99_ms: q(0.99),
        max_ms: v.last().copied().unwrap_or(0.0),
        fps: if mean > 0.0 { 1000.0 / mean } else { 0.0 },
    }
}

fn record(
    spec: Res<BenchSpec>,
    mut st: ResMut<BenchState>,
    adapter: Option<Res<RenderAdapterInfo>>,
    mut exit: MessageWriter<AppExit>,
) {
    let now = Instant::now();
    if let Some(last) = st.last {
        if st.recording_since.is_some() {
            st.frames.push((now - last).as_secs_f32() * 1000.0);
        }
    }
    st.last = Some(now);
    if st.recording_since.is_none() && now - st.started >= spec.warmup {
        st.recording_since = Some(now);
    }
    if st.recording_since.is_some_and(|s| now - s >= spec.duration) {
        let a = adapter
            .map(|a| format!("{} ({:?}, {})", a.0.name, a.0.backend, a.0.driver_info))
            .unwrap_or_default();
        let s = summarise(&spec.label, &a, &st.frames);
        let json = serde_json::to_string_pretty(&s).unwrap_or_default();
        println!("{json}");
        if let Some(p) = &spec.out {
            if let Err(e) = std::fs::write(p, &json) {
                error!("{}: {e}", p.display());
            }
        }
        exit.write(AppExit::Success);
    }
}

/// Waits for the GPU to finish the frame just submitted.
fn gpu_sync(device: Res<RenderDevice>) {
    let _ = device
        .wgpu_device()
        .poll(bevy::render::render_resource::PollType::Wait {
            submission_index: None,
            timeout: None,
        });
}

/// The benchmark plugin.
pub struct BenchPlugin {
    /// Settings.
    pub spec: BenchSpec,
}

impl Plugin for BenchPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(self.spec.clone())
            .insert_resource(BenchState {
                started: Instant::now(),
                last: None,
                recording_since: None,
                frames: Vec::new(),
            })
            .add_systems(Last, record);
        if let Some(render) = app.get_sub_app_mut(RenderApp) {
            render.add_systems(Render, gpu_sync.in_set(RenderSystems::Cleanup));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_statistics() {
        let ms: Vec<f32> = (1..=100).map(|i| i as f32).collect();
        let s = summarise("x", "gpu", &ms);
        assert_eq!(s.frames, 100);
        assert!((s.mean_ms - 50.5).abs() < 1e-4);
        assert_eq!(s.p50_ms, 51.0);
        assert_eq!(s.p95_ms, 95.0);
        assert_eq!(s.max_ms, 100.0);
        assert!((s.fps - 1000.0 / 50.5).abs() < 1e-3);
        assert_eq!(summarise("x", "", &[]).fps, 0.0);
    }
}
