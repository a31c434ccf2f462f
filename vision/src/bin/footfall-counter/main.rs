//! `footfall-counter`: counts people crossing a line in a camera's video and publishes them as
//! a footfall line counter of the district; renders and scores synthetic camera views.
//!
//! Sub-commands: `run` (the device), `synth` (render a synthetic clip and its truth), `eval`
//! (count a video against a reference), `score` (accuracy on the synthetic set), `bench`
//! (frames per second at 720p/1080p), `frames` (a video's frames to PNG for counting by eye).
//! Everything but `synth --truth-only` needs the `vision` feature (OpenCV).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use footfall_vision::config::{CountMethod, DetectorKind};
use footfall_vision::synth::Preset;

mod commands;

#[derive(Parser)]
#[command(
    name = "footfall-counter",
    version,
    about = "People counting from plain camera video, published as footfall readings"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Seeds as `A..B` (B excluded) or a comma list.
#[derive(Debug, Clone)]
pub struct Seeds(pub Vec<u64>);

impl std::str::FromStr for Seeds {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some((a, b)) = s.split_once("..") {
            let a: u64 = a.parse().map_err(|_| format!("bad seed range {s}"))?;
            let b: u64 = b.parse().map_err(|_| format!("bad seed range {s}"))?;
            return Ok(Seeds((a..b).collect()));
        }
        s.split(',')
            .map(|x| x.trim().parse().map_err(|_| format!("bad seed {x}")))
            .collect::<Result<_, _>>()
            .map(Seeds)
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Run as the district's counting device: video in, readings and health out over MQTT.
    Run(commands::RunArgs),
    /// Render a synthetic camera view to a video file, with its true counts.
    Synth {
        /// Difficulty.
        #[arg(long, value_enum, default_value = "medium")]
        preset: Preset,
        /// Scene seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Frame width.
        #[arg(long, default_value_t = 640)]
        width: u32,
        /// Frame height.
        #[arg(long, default_value_t = 360)]
        height: u32,
        /// Frames per second.
        #[arg(long, default_value_t = 15.0)]
        fps: f64,
        /// Video file to write (MJPG in AVI); needs the `vision` feature.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Truth file to write (JSON); printed to stdout if absent.
        #[arg(long)]
        truth: Option<PathBuf>,
    },
    /// Count a video and compare with a reference (hand-counted JSON, or a synth truth file).
    Eval {
        /// The video.
        #[arg(long)]
        video: String,
        /// Reference: a `Reference` JSON (vision/data/*.json) or a synthetic truth JSON.
        #[arg(long)]
        reference: Option<PathBuf>,
        /// The counting line `x1,y1,x2,y2` (default: the reference's).
        #[arg(long)]
        line: Option<String>,
        /// In direction (default: the reference's, else left-to-right).
        #[arg(long)]
        in_direction: Option<String>,
        /// Detector.
        #[arg(long, value_enum, default_value = "mog2")]
        detector: DetectorKind,
        /// Frames within which a counted crossing matches a true one.
        #[arg(long, default_value_t = 15)]
        tolerance: u64,
        /// Counting method.
        #[arg(long, value_enum, default_value = "hybrid")]
        method: CountMethod,
        /// Write the video with tracks and counts drawn on it.
        #[arg(long)]
        annotate: Option<PathBuf>,
        /// Print every counted and true crossing.
        #[arg(long)]
        events: bool,
    },
    /// Accuracy on the synthetic set: render each preset for each seed, count, score.
    Score {
        /// Presets (comma list).
        #[arg(long, value_delimiter = ',', default_value = "easy,medium,hard")]
        presets: Vec<Preset>,
        /// Seeds, `A..B` or a list (default: the held-out seeds 1001..1011).
        #[arg(long, default_value = "1001..1011")]
        seeds: Seeds,
        /// Frame width.
        #[arg(long, default_value_t = 640)]
        width: u32,
        /// Frame height.
        #[arg(long, default_value_t = 360)]
        height: u32,
        /// Frames per second.
        #[arg(long, default_value_t = 15.0)]
        fps: f64,
        /// Detector.
        #[arg(long, value_enum, default_value = "mog2")]
        detector: DetectorKind,
        /// Frames within which a counted crossing matches a true one.
        #[arg(long, default_value_t = 15)]
        tolerance: u64,
        /// Counting method.
        #[arg(long, value_enum, default_value = "hybrid")]
        method: CountMethod,
        /// Print per-event mismatches.
        #[arg(long)]
        events: bool,
    },
    /// Frames per second at 720p and 1080p on one core: decode + detect + track + count.
    Bench {
        /// Resolutions, `WxH` comma list.
        #[arg(long, value_delimiter = ',', default_value = "1280x720,1920x1080")]
        sizes: Vec<String>,
        /// Seconds of video per resolution.
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
        /// Frame rate of the clip (a typical camera: 25).
        #[arg(long, default_value_t = 25.0)]
        fps: f64,
        /// Preset of the clip.
        #[arg(long, value_enum, default_value = "hard")]
        preset: Preset,
        /// Where to keep the clips (default: a temporary folder).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Write a video's frames as PNG files (with the line drawn), to count by eye.
    Frames {
        /// The video.
        #[arg(long)]
        video: String,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// First frame.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Frame after the last.
        #[arg(long, default_value_t = u64::MAX)]
        to: u64,
        /// Every n-th frame.
        #[arg(long, default_value_t = 1)]
        every: u64,
        /// Line to draw, `x1,y1,x2,y2`.
        #[arg(long)]
        line: Option<String>,
    },
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().cmd {
        Cmd::Run(a) => commands::run(a),
        Cmd::Synth {
            preset,
            seed,
            width,
            height,
            fps,
            out,
            truth,
        } => commands::synth(preset, seed, width, height, fps, out, truth),
        Cmd::Eval {
            video,
            reference,
            line,
            in_direction,
            detector,
            tolerance,
            method,
            annotate,
            events,
        } => commands::eval(
            &video,
            reference,
            line,
            in_direction,
            detector,
            tolerance,
            method,
            annotate,
            events,
        ),
        Cmd::Score {
            presets,
            seeds,
            width,
            height,
            fps,
            detector,
            tolerance,
            method,
            events,
        } => commands::score(
            &presets, &seeds.0, width, height, fps, detector, tolerance, method, events,
        ),
        Cmd::Bench {
            sizes,
            seconds,
            fps,
            preset,
            dir,
        } => commands::bench(&sizes, seconds, fps, preset, dir),
        Cmd::Frames {
            video,
            out,
            from,
            to,
            every,
            line,
        } => commands::frames(&video, &out, from, to, every, line),
    }
}
