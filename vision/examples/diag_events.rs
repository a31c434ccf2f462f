//! Tuning aid (tuning seeds only): which true crossings are missed, by how many people were in
//! the person's blob when they crossed.
//! `cargo run --release -p footfall-vision --features vision --example diag_events -- hard 1`

use footfall_vision::config::DetectorConfig;
use footfall_vision::count::Crossing;
use footfall_vision::cv::{mat_from_bgr, Pipeline};
use footfall_vision::geometry::Point;
use footfall_vision::synth::render::Renderer;
use footfall_vision::synth::{height_at, Preset, Scene};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let preset = match args.get(1).map(String::as_str) {
        Some("easy") => Preset::Easy,
        Some("hard") => Preset::Hard,
        _ => Preset::Medium,
    };
    let seeds: Vec<u64> = args
        .get(2)
        .map(|s| s.split(',').map(|x| x.parse().unwrap()).collect())
        .unwrap_or(vec![1]);
    let mut by_k = [(0u32, 0u32); 6]; // (true crossings, missed)
    let mut false_total = 0;
    for seed in seeds {
        assert!(seed < 1000, "never on held-out seeds");
        let spec = preset.spec(640, 360, 15.0);
        let scene = Scene::generate(&spec, seed);
        let truth = scene.truth();
        let line = footfall_vision::cv::offline::scene_line(&scene);
        let mut p = Pipeline::new(&DetectorConfig::default(), &line, 640, 360, 15.0)?;
        let r = Renderer::new(&scene);
        let (mut buf, mut mat) = (Vec::new(), opencv::core::Mat::default());
        let mut counted: Vec<Crossing> = Vec::new();
        let mut k_at: std::collections::HashMap<(u32, u64), usize> = Default::default();
        for f in 0..spec.frames() {
            r.render(f, &mut buf);
            mat_from_bgr(&buf, 640, 360, &mut mat)?;
            let res = p.process(&mat)?.clone();
            counted.extend(res.crossings.iter().copied());
            for c in truth.crossings.iter().filter(|c| c.frame == f) {
                let person = scene.people.iter().find(|q| q.id == c.person).unwrap();
                let x = person.pose(f).unwrap();
                let h = height_at(&spec, x.y) * person.look.size;
                let centre = Point::new(x.x, x.y - 0.5 * h);
                let det = res.detections.iter().find(|d| d.bbox.contains(centre, 0.0));
                let k = det
                    .map(|d| {
                        scene
                            .people
                            .iter()
                            .filter_map(|q| q.pose(f).map(|y| (q, y)))
                            .filter(|(q, y)| {
                                let h = height_at(&spec, y.y) * q.look.size;
                                d.bbox.contains(Point::new(y.x, y.y - 0.5 * h), 0.0)
                            })
                            .count()
                    })
                    .unwrap_or(0);
                k_at.insert((c.person, c.frame), k);
            }
        }
        // Greedy matching as in eval.
        let mut people: Vec<(u64, footfall_vision::count::Direction)> = Vec::new();
        for c in &counted {
            for _ in 0..c.people {
                people.push((c.frame, c.direction));
            }
        }
        let mut used = vec![false; people.len()];
        let mut tc: Vec<_> = truth.crossings.clone();
        tc.sort_by_key(|c| c.frame);
        for c in &tc {
            let k = *k_at.get(&(c.person, c.frame)).unwrap_or(&0);
            let best = people
                .iter()
                .enumerate()
                .filter(|(j, p)| !used[*j] && p.1 == c.direction && p.0.abs_diff(c.frame) <= 15)
                .min_by_key(|(_, p)| p.0.abs_diff(c.frame))
                .map(|(j, _)| j);
            by_k[k.min(5)].0 += 1;
            match best {
                Some(j) => used[j] = true,
                None => by_k[k.min(5)].1 += 1,
            }
        }
        false_total += used.iter().filter(|u| !**u).count();
    }
    println!("k (people in the crosser's blob; 0 = not detected): true crossings, missed");
    for (k, (n, m)) in by_k.iter().enumerate() {
        println!("{k}: {n} {m}");
    }
    println!("false counts: {false_total}");
    Ok(())
}
