//! The sub-commands. Those that need OpenCV say so when built without the `vision` feature.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use footfall_vision::config::{Config, CountMethod, DetectorConfig, DetectorKind, LineConfig};
use footfall_vision::count::Direction;
use footfall_vision::eval::{self, Reference, Score};
use footfall_vision::synth::{Preset, Scene, Truth};

/// `run`: flags override the config file.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Configuration file (see vision/counter.example.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Device id, e.g. fc-07.
    #[arg(long)]
    device: Option<String>,
    /// District id, e.g. hubin (not needed with --district-file).
    #[arg(long)]
    district: Option<String>,
    /// District file: the device must be a footfall line counter there.
    #[arg(long)]
    district_file: Option<PathBuf>,
    /// MQTT broker HOST:PORT.
    #[arg(long)]
    broker: Option<String>,
    #[command(flatten)]
    security: district::client::ClientSecurity,
    /// Video file or stream URL.
    #[arg(long)]
    source: Option<String>,
    /// Counting line x1,y1,x2,y2 (or polygon x,y;x,y;...), image pixels.
    #[arg(long)]
    line: Option<String>,
    /// Direction of `in`: left-to-right, right-to-left, top-to-bottom, bottom-to-top.
    #[arg(long)]
    in_direction: Option<String>,
    /// Reading interval when no district file says, e.g. 60s.
    #[arg(long)]
    interval: Option<String>,
    /// Detector.
    #[arg(long, value_enum)]
    detector: Option<DetectorKind>,
    /// Process a file as fast as possible instead of at its frame rate.
    #[arg(long)]
    fast: bool,
    /// Loop a file forever.
    #[arg(long = "loop")]
    looping: bool,
    /// Simulated clock start (RFC 3339), as the simulator and gateway take it.
    #[arg(long)]
    start: Option<String>,
    /// Simulated seconds per wall second (with --start).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
}

fn build_config(a: &RunArgs) -> Result<Config> {
    let mut c = match &a.config {
        Some(p) => Config::from_file(p)?,
        None => {
            let need = |o: &Option<String>, flag: &str| {
                o.clone()
                    .with_context(|| format!("--{flag} is required without --config"))
            };
            Config {
                device: need(&a.device, "device")?,
                district: None,
                district_file: None,
                broker: "127.0.0.1:1883".into(),
                source: need(&a.source, "source")?,
                interval: std::time::Duration::from_secs(60),
                utc_offset: "+08:00".into(),
                health_interval: std::time::Duration::from_secs(10),
                line: LineConfig {
                    points: need(&a.line, "line")?,
                    in_direction: footfall_vision::geometry::InDirection::LeftToRight,
                    band_px: None,
                    anchor: Default::default(),
                    method: Default::default(),
                },
                detector: DetectorConfig::default(),
                loop_file: false,
                realtime: true,
            }
        }
    };
    if let Some(v) = &a.device {
        c.device = v.clone();
    }
    if let Some(v) = &a.district {
        c.district = Some(v.clone());
    }
    if let Some(v) = &a.district_file {
        c.district_file = Some(v.clone());
    }
    if let Some(v) = &a.broker {
        c.broker = v.clone();
    }
    if let Some(v) = &a.source {
        c.source = v.clone();
    }
    if let Some(v) = &a.line {
        c.line.points = v.clone();
    }
    if let Some(v) = &a.in_direction {
        c.line.in_direction = v.parse()?;
    }
    if let Some(v) = &a.interval {
        c.interval = humantime::parse_duration(v).context("--interval")?;
    }
    if let Some(v) = a.detector {
        c.detector.kind = v;
    }
    c.realtime &= !a.fast;
    c.loop_file |= a.looping;
    Ok(c)
}

#[cfg(feature = "vision")]
pub fn run(a: RunArgs) -> Result<()> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let cfg = build_config(&a)?;
    let resolved = cfg.resolve()?;
    let clock = match &a.start {
        Some(s) => district::clock::Clock::simulated(
            chrono::DateTime::parse_from_rfc3339(s)
                .context("--start")?
                .to_utc(),
            a.speed,
        ),
        None => district::clock::Clock::wall(),
    };
    tracing::info!(device = %cfg.device, district = %resolved.district, source = %cfg.source, line = %cfg.line.region()?, interval = ?resolved.interval, broker = %cfg.broker, "footfall counter starting");
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(async {
                    let _ = tokio::signal::ctrl_c().await;
                });
                tracing::info!("interrupted; publishing the last counts");
                stop.store(true, Ordering::Relaxed);
            }
        });
    }
    let s = footfall_vision::service::run(&cfg, &resolved, clock, stop, &a.security)?;
    tracing::info!(
        frames = s.frames,
        ins = s.ins,
        outs = s.outs,
        readings = s.published.readings,
        acked = s.published.acked,
        unpublished = s.published.unpublished,
        "stopped"
    );
    println!(
        "{}",
        serde_json::json!({"frames": s.frames, "in": s.ins, "out": s.outs, "readings": s.published.readings, "acked": s.published.acked, "unpublished": s.published.unpublished})
    );
    Ok(())
}

#[cfg(not(feature = "vision"))]
pub fn run(a: RunArgs) -> Result<()> {
    let cfg = build_config(&a)?;
    cfg.resolve()?;
    no_vision("run")
}

#[allow(dead_code)]
fn no_vision(what: &str) -> Result<()> {
    anyhow::bail!(
        "`{what}` needs OpenCV: build with `--features vision` (Debian: apt-get install libopencv-dev clang libclang-dev)"
    )
}

pub fn synth(
    preset: Preset,
    seed: u64,
    width: u32,
    height: u32,
    fps: f64,
    out: Option<PathBuf>,
    truth: Option<PathBuf>,
) -> Result<()> {
    let scene = Scene::generate(&preset.spec(width, height, fps), seed);
    let t = scene.truth();
    let json = serde_json::to_string_pretty(&t)?;
    match &truth {
        Some(p) => std::fs::write(p, json).with_context(|| format!("writing {}", p.display()))?,
        None if out.is_none() => println!("{json}"),
        None => {}
    }
    if let Some(p) = out {
        write_video(&scene, &p)?;
        eprintln!(
            "{}: {} {}x{} {} fps, {} frames, {} people, true in {} out {}",
            p.display(),
            preset.name(),
            width,
            height,
            fps,
            t.frames,
            t.people,
            t.ins,
            t.outs
        );
    }
    Ok(())
}

#[cfg(feature = "vision")]
fn write_video(scene: &Scene, p: &Path) -> Result<()> {
    footfall_vision::cv::offline::write_scene(scene, p)
}

#[cfg(not(feature = "vision"))]
fn write_video(_: &Scene, _: &Path) -> Result<()> {
    no_vision("synth --out")
}

/// A reference from either format.
#[cfg_attr(not(feature = "vision"), allow(dead_code))]
fn load_reference(p: &Path) -> Result<Reference> {
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    if let Ok(r) = serde_json::from_str::<Reference>(&text) {
        return Ok(r);
    }
    let t: Truth = serde_json::from_str(&text)
        .with_context(|| format!("{}: neither a reference nor a synth truth", p.display()))?;
    Ok(truth_reference(&t))
}

#[cfg_attr(not(feature = "vision"), allow(dead_code))]
fn truth_reference(t: &Truth) -> Reference {
    Reference {
        video: format!("synth {} seed {}", t.preset.name(), t.seed),
        line: t.line.clone(),
        in_direction: t.in_direction.clone(),
        frames: t.frames,
        crossings: t
            .crossings
            .iter()
            .map(|c| eval::RefCrossing {
                frame: c.frame,
                direction: c.direction,
                who: format!("p{}", c.person),
                doubtful: None,
            })
            .collect(),
        not_counted: vec![],
    }
}

#[cfg_attr(not(feature = "vision"), allow(dead_code))]
fn truth_pairs(r: &Reference) -> Vec<(u64, Direction)> {
    r.crossings.iter().map(|c| (c.frame, c.direction)).collect()
}

#[cfg_attr(not(feature = "vision"), allow(dead_code))]
fn print_score(label: &str, s: &Score) {
    println!(
        "{label:<24} true in {:>4} out {:>4} | counted in {:>4} out {:>4} | count error {:>3} = {:>5.1}/100 (accuracy {:>5.1} %) | events: matched {:>4}, false {:>3}, missed {:>3} ({:.1}/100)",
        s.true_in,
        s.true_out,
        s.counted_in,
        s.counted_out,
        s.count_error(),
        s.error_per_100(),
        100.0 - s.error_per_100(),
        s.matched,
        s.false_counts,
        s.missed,
        s.event_error_per_100()
    );
}

#[cfg(feature = "vision")]
#[allow(clippy::too_many_arguments)]
pub fn eval(
    video: &str,
    reference: Option<PathBuf>,
    line: Option<String>,
    in_direction: Option<String>,
    detector: DetectorKind,
    tolerance: u64,
    method: CountMethod,
    annotate: Option<PathBuf>,
    events: bool,
) -> Result<()> {
    footfall_vision::cv::single_threaded()?;
    let r = reference.as_deref().map(load_reference).transpose()?;
    let points = line
        .or_else(|| r.as_ref().map(|r| r.line.clone()))
        .context("--line is required without --reference")?;
    let dir = in_direction
        .or_else(|| r.as_ref().map(|r| r.in_direction.clone()))
        .unwrap_or_else(|| "left-to-right".into());
    let line = LineConfig {
        points,
        in_direction: dir.parse()?,
        band_px: None,
        anchor: Default::default(),
        method,
    };
    let det = DetectorConfig {
        kind: detector,
        ..Default::default()
    };
    let c = footfall_vision::cv::offline::count_file(video, &det, &line, annotate.as_deref())?;
    println!(
        "{video}: {} frames, pipeline {:.1} fps, with decoding {:.1} fps; counted in {} out {}",
        c.frames,
        c.pipeline_fps(),
        c.total_fps(),
        c.totals.ins,
        c.totals.outs
    );
    if let Some(r) = &r {
        let truth = truth_pairs(r);
        let s = eval::score(&truth, &c.crossings, tolerance);
        print_score("score", &s);
        if events {
            print_events(&truth, &c.crossings, tolerance);
        }
    } else if events {
        for x in &c.crossings {
            println!(
                "  frame {:>5} track {:>4} {:?} x{}",
                x.frame, x.track, x.direction, x.people
            );
        }
    }
    Ok(())
}

#[cfg(feature = "vision")]
fn print_events(
    truth: &[(u64, Direction)],
    counted: &[footfall_vision::count::Crossing],
    tolerance: u64,
) {
    let mut rows: Vec<(u64, String)> = Vec::new();
    for (f, d) in truth {
        let hit = counted
            .iter()
            .any(|c| c.direction == *d && c.frame.abs_diff(*f) <= tolerance);
        rows.push((
            *f,
            format!("true    {d:?}{}", if hit { "" } else { "   <-- missed?" }),
        ));
    }
    for c in counted {
        let hit = truth
            .iter()
            .any(|(f, d)| *d == c.direction && c.frame.abs_diff(*f) <= tolerance);
        rows.push((
            c.frame,
            format!(
                "counted {:?} x{} (track {}){}",
                c.direction,
                c.people,
                c.track,
                if hit { "" } else { "   <-- false?" }
            ),
        ));
    }
    rows.sort_by_key(|r| r.0);
    for (f, s) in rows {
        println!("  {f:>5}  {s}");
    }
}

#[cfg(not(feature = "vision"))]
#[allow(clippy::too_many_arguments)]
pub fn eval(
    _: &str,
    _: Option<PathBuf>,
    _: Option<String>,
    _: Option<String>,
    _: DetectorKind,
    _: u64,
    _: CountMethod,
    _: Option<PathBuf>,
    _: bool,
) -> Result<()> {
    no_vision("eval")
}

#[cfg(feature = "vision")]
#[allow(clippy::too_many_arguments)]
pub fn score(
    presets: &[Preset],
    seeds: &[u64],
    width: u32,
    height: u32,
    fps: f64,
    detector: DetectorKind,
    tolerance: u64,
    method: CountMethod,
    events: bool,
) -> Result<()> {
    footfall_vision::cv::single_threaded()?;
    let det = DetectorConfig {
        kind: detector,
        ..Default::default()
    };
    let mut all = Score::default();
    for p in presets {
        let mut total = Score::default();
        let mut fps_sum = 0.0;
        for seed in seeds {
            let scene = Scene::generate(&p.spec(width, height, fps), *seed);
            let t = scene.truth();
            let truth: Vec<(u64, Direction)> =
                t.crossings.iter().map(|c| (c.frame, c.direction)).collect();
            let mut line = footfall_vision::cv::offline::scene_line(&scene);
            line.method = method;
            let c = footfall_vision::cv::offline::count_scene(&scene, &det, &line)?;
            let s = eval::score(&truth, &c.crossings, tolerance);
            fps_sum += c.pipeline_fps();
            print_score(&format!("{} seed {seed}", p.name()), &s);
            if events {
                print_events(&truth, &c.crossings, tolerance);
            }
            total.add(&s);
        }
        print_score(
            &format!(
                "{} ALL ({:.0} fps)",
                p.name(),
                fps_sum / seeds.len().max(1) as f64
            ),
            &total,
        );
        all.add(&total);
    }
    print_score("ALL PRESETS", &all);
    Ok(())
}

#[cfg(not(feature = "vision"))]
#[allow(clippy::too_many_arguments)]
pub fn score(
    _: &[Preset],
    _: &[u64],
    _: u32,
    _: u32,
    _: f64,
    _: DetectorKind,
    _: u64,
    _: CountMethod,
    _: bool,
) -> Result<()> {
    no_vision("score")
}

#[cfg(feature = "vision")]
pub fn bench(
    sizes: &[String],
    seconds: f64,
    fps: f64,
    preset: Preset,
    dir: Option<PathBuf>,
) -> Result<()> {
    footfall_vision::cv::single_threaded()?;
    let tmp = tempdir_or(dir)?;
    for size in sizes {
        let (w, h) = size
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
            .with_context(|| format!("size {size} is not WxH"))?;
        let mut spec = preset.spec(w, h, fps);
        spec.duration_s = seconds;
        spec.arrivals_until_s = (seconds - 8.0).max(1.0);
        let scene = Scene::generate(&spec, 1);
        let path = tmp.join(format!(
            "bench-{}-{w}x{h}-{fps}fps-{seconds}s.avi",
            preset.name()
        ));
        if !path.exists() {
            footfall_vision::cv::offline::write_scene(&scene, &path)?;
        }
        let line = footfall_vision::cv::offline::scene_line(&scene);
        let file = path.to_string_lossy();
        // The reference: the same clip decoded and nothing else, just before the counting run
        // (the machine may be shared; compare the two, not the absolute figures).
        let (n, decode_s) = footfall_vision::cv::offline::decode_only(&file)?;
        let c = footfall_vision::cv::offline::count_file(
            &file,
            &DetectorConfig::default(),
            &line,
            None,
        )?;
        let t = scene.truth();
        let decode_fps = n as f64 / decode_s.max(1e-9);
        println!(
            "{w}x{h} {fps} fps MJPG, {} frames: counter {:.1} fps (decode + pipeline; pipeline alone {:.1} fps, {:.1} ms/frame) | reference: bare decode {:.1} fps | counter/decode {:.2} | real time x{:.1} | counted in {} out {}, true in {} out {}",
            c.frames,
            c.total_fps(),
            c.pipeline_fps(),
            1000.0 * c.pipeline_s / c.frames.max(1) as f64,
            decode_fps,
            c.total_fps() / decode_fps.max(1e-9),
            c.total_fps() / fps,
            c.totals.ins,
            c.totals.outs,
            t.ins,
            t.outs
        );
    }
    Ok(())
}

#[cfg(feature = "vision")]
fn tempdir_or(dir: Option<PathBuf>) -> Result<PathBuf> {
    let d = dir.unwrap_or_else(|| std::env::temp_dir().join("footfall-bench"));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

#[cfg(not(feature = "vision"))]
pub fn bench(_: &[String], _: f64, _: f64, _: Preset, _: Option<PathBuf>) -> Result<()> {
    no_vision("bench")
}

#[cfg(feature = "vision")]
pub fn frames(
    video: &str,
    out: &Path,
    from: u64,
    to: u64,
    every: u64,
    line: Option<String>,
) -> Result<()> {
    use opencv::core::{Mat, Point, Scalar, Vector};
    use opencv::imgcodecs;
    use opencv::imgproc;

    std::fs::create_dir_all(out)?;
    let mut src = footfall_vision::cv::Source::open_now(video)?;
    let mut frame = Mat::default();
    let pts: Option<Vec<f64>> =
        line.map(|l| l.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    let mut i = 0u64;
    let mut written = 0;
    while i < to && src.read(&mut frame) == footfall_vision::cv::Read::Frame {
        if i >= from && (i - from).is_multiple_of(every.max(1)) {
            if let Some(p) = pts.as_ref().filter(|p| p.len() == 4) {
                let a = Point::new(p[0] as i32, p[1] as i32);
                let b = Point::new(p[2] as i32, p[3] as i32);
                imgproc::line(
                    &mut frame,
                    a,
                    b,
                    Scalar::new(0.0, 0.0, 255.0, 0.0),
                    1,
                    imgproc::LINE_8,
                    0,
                )?;
            }
            imgproc::put_text(
                &mut frame,
                &i.to_string(),
                Point::new(8, 24),
                imgproc::FONT_HERSHEY_SIMPLEX,
                0.7,
                Scalar::new(0.0, 255.0, 255.0, 0.0),
                2,
                imgproc::LINE_8,
                false,
            )?;
            imgcodecs::imwrite(out.join(format!("{i:05}.png")), &frame, &Vector::new())?;
            written += 1;
        }
        i += 1;
    }
    eprintln!("{written} frames written to {}", out.display());
    Ok(())
}

#[cfg(not(feature = "vision"))]
pub fn frames(_: &str, _: &Path, _: u64, _: u64, _: u64, _: Option<String>) -> Result<()> {
    no_vision("frames")
}
