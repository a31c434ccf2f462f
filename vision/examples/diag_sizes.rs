//! Tuning aid (tuning seeds only): how well the blob people-estimate matches the true number of
//! people in each detection of a synthetic scene.
//! `cargo run --release -p footfall-vision --features vision --example diag_sizes -- medium 1`

use footfall_vision::config::DetectorConfig;
use footfall_vision::cv::{mat_from_bgr, Pipeline};
use footfall_vision::synth::render::Renderer;
use footfall_vision::synth::{height_at, Preset, Scene};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let preset = match args.get(1).map(String::as_str) {
        Some("easy") => Preset::Easy,
        Some("hard") => Preset::Hard,
        _ => Preset::Medium,
    };
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    assert!(seed < 1000, "never on held-out seeds");
    let spec = preset.spec(640, 360, 15.0);
    let scene = Scene::generate(&spec, seed);
    let line = footfall_vision::cv::offline::scene_line(&scene);
    let mut p = Pipeline::new(&DetectorConfig::default(), &line, 640, 360, 15.0)?;
    let r = Renderer::new(&scene);
    let (mut buf, mut mat) = (Vec::new(), opencv::core::Mat::default());
    // [true k][estimate rounded] counts
    let mut table = vec![vec![0u32; 7]; 6];
    let mut csv = std::env::var("DIAG_CSV")
        .ok()
        .map(|p| std::fs::File::create(p).unwrap());
    for f in 0..spec.frames() {
        r.render(f, &mut buf);
        mat_from_bgr(&buf, 640, 360, &mut mat)?;
        let res = p.process(&mat)?.clone();
        if f < 200 {
            continue;
        }
        for d in &res.detections {
            let k = scene
                .people
                .iter()
                .filter_map(|q| q.pose(f).map(|x| (q, x)))
                .filter(|(q, x)| {
                    let h = height_at(&spec, x.y) * q.look.size;
                    let c = (x.x, x.y - 0.5 * h);
                    d.bbox
                        .contains(footfall_vision::geometry::Point::new(c.0, c.1), 0.0)
                })
                .count();
            let e = (d.people.round() as usize).min(6);
            table[k.min(5)][e] += 1;
            if let Some(w) = csv.as_mut() {
                let x = p.sizes().expected(d.bbox.bottom());
                use std::io::Write;
                writeln!(
                    w,
                    "{k},{:.3},{:.3},{:.3},{:.3}",
                    d.area / x.area,
                    d.bbox.w / x.width,
                    d.bbox.h / x.height,
                    d.people
                )?;
            }
        }
    }
    println!("rows: true people in the blob (0..5); columns: estimate rounded (0..6)");
    for (k, row) in table.iter().enumerate() {
        println!("{k}: {row:?}");
    }
    Ok(())
}
