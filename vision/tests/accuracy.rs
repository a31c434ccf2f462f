//! Counting accuracy with OpenCV (feature `vision`): synthetic clips of every preset on seeds
//! that were held out while tuning, and OpenCV's own pedestrian sample `vtest.avi` against the
//! hand-counted reference in `vision/data/vtest_reference.json`.
//!
//! `cargo test -p footfall-vision --features vision --test accuracy -- --nocapture` prints the
//! scores. The runs are deterministic (seeded scenes, one OpenCV thread). The thresholds are
//! regression guards set a little above the error the counter makes on these clips today (see
//! `vision/README.md`); they are not the goal of 5 errors per 100 crossings, which only the
//! easy preset meets.
#![cfg(feature = "vision")]

use std::path::{Path, PathBuf};

use footfall_vision::config::{DetectorConfig, LineConfig};
use footfall_vision::count::Direction;
use footfall_vision::cv::offline;
use footfall_vision::eval::{self, Reference, Score};
use footfall_vision::synth::{Preset, Scene, HELD_OUT_SEEDS};

/// Held-out seeds scored here (the benchmark scores all ten).
const SEEDS: usize = 2;

fn score_preset(p: Preset) -> Score {
    footfall_vision::cv::single_threaded().unwrap();
    let mut total = Score::default();
    for seed in HELD_OUT_SEEDS.take(SEEDS) {
        let scene = Scene::generate(&p.spec(640, 360, 15.0), seed);
        let truth: Vec<(u64, Direction)> = scene
            .truth()
            .crossings
            .iter()
            .map(|c| (c.frame, c.direction))
            .collect();
        let c = offline::count_scene(
            &scene,
            &DetectorConfig::default(),
            &offline::scene_line(&scene),
        )
        .unwrap();
        let s = eval::score(&truth, &c.crossings, 15);
        println!(
            "{} seed {seed}: true {}/{} counted {}/{} error {:.1}/100",
            p.name(),
            s.true_in,
            s.true_out,
            s.counted_in,
            s.counted_out,
            s.error_per_100()
        );
        total.add(&s);
    }
    println!(
        "{}: {:.1} errors per 100 crossings ({total:?})",
        p.name(),
        total.error_per_100()
    );
    total
}

#[test]
fn easy_held_out() {
    let s = score_preset(Preset::Easy);
    assert!(s.error_per_100() <= 5.0, "{s:?}");
}

#[test]
fn medium_held_out() {
    let s = score_preset(Preset::Medium);
    assert!(s.error_per_100() <= 30.0, "{s:?}");
}

#[test]
fn hard_held_out() {
    let s = score_preset(Preset::Hard);
    assert!(s.error_per_100() <= 50.0, "{s:?}");
}

fn vtest() -> PathBuf {
    PathBuf::from("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
}

#[test]
fn vtest_against_the_hand_count() {
    let video = vtest();
    assert!(
        video.exists(),
        "{} is missing: apt-get install opencv-doc (the test command installs it)",
        video.display()
    );
    footfall_vision::cv::single_threaded().unwrap();
    let reference: Reference = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("data/vtest_reference.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let line = LineConfig {
        points: reference.line.clone(),
        in_direction: reference.in_direction.parse().unwrap(),
        band_px: None,
        anchor: Default::default(),
        method: Default::default(),
    };
    let c = offline::count_file(
        &video.to_string_lossy(),
        &DetectorConfig::default(),
        &line,
        None,
    )
    .unwrap();
    assert_eq!(c.frames, reference.frames);
    let truth: Vec<(u64, Direction)> = reference
        .crossings
        .iter()
        .map(|c| (c.frame, c.direction))
        .collect();
    let s = eval::score(&truth, &c.crossings, 15);
    println!(
        "vtest.avi: {s:?}, {:.1} errors per 100 crossings",
        s.error_per_100()
    );
    // The aim is within 5 % (at most one of 30 crossings wrong); the counter gets two wrong
    // today: A, hidden behind B while crossing at frame 32, and K and L counted as three.
    assert!(s.count_error() <= 2, "{s:?}");
    assert!(s.matched >= 28, "{s:?}");
}
