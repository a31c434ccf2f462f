use super::render::Renderer;
use super::*;

fn spec(p: Preset) -> SceneSpec {
    p.spec(320, 180, 10.0)
}

#[test]
fn same_seed_same_scene() {
    for p in Preset::ALL {
        let a = Scene::generate(&spec(p), 3);
        let b = Scene::generate(&spec(p), 3);
        assert_eq!(a.truth(), b.truth());
        let c = Scene::generate(&spec(p), 4);
        assert_ne!(a.truth().crossings, c.truth().crossings);
    }
}

#[test]
fn every_preset_has_enough_crossings() {
    for (p, min) in [(Preset::Easy, 6), (Preset::Medium, 25), (Preset::Hard, 40)] {
        for seed in TUNING_SEEDS {
            let t = Scene::generate(&spec(p), seed).truth();
            assert!(
                t.crossings.len() >= min,
                "{p:?} seed {seed}: {}",
                t.crossings.len()
            );
            assert_eq!(t.ins + t.outs, t.crossings.len() as u64);
            assert!(t.ins > 0 && t.outs > 0);
            assert!(t.crossings.iter().all(|c| c.frame < t.frames));
        }
    }
}

#[test]
fn easy_people_never_overlap_and_each_crosses_once() {
    let s = spec(Preset::Easy);
    let scene = Scene::generate(&s, 1);
    for (i, a) in scene.people.iter().enumerate() {
        for b in &scene.people[i + 1..] {
            assert!(!overlaps(&s, a, b), "people {} and {} overlap", a.id, b.id);
        }
    }
    let t = scene.truth();
    let mut per_person = std::collections::HashMap::new();
    for c in &t.crossings {
        *per_person.entry(c.person).or_insert(0) += 1;
    }
    assert!(per_person.values().all(|n| *n == 1));
}

#[test]
fn turning_back_is_never_a_crossing_and_standing_on_the_line_is_one() {
    let s = spec(Preset::Hard);
    let scene = Scene::generate(&s, 2);
    let line = s.width as f64 / 2.0;
    let t = scene.truth();
    for p in &scene.people {
        let n = t.crossings.iter().filter(|c| c.person == p.id).count();
        let first = p.poses.first().unwrap().x;
        let last = p.poses.last().unwrap().x;
        let visible = (s.frames() - p.first_frame) as usize >= p.poses.len();
        if visible {
            // Whoever ends on the other side crossed once; whoever came back did not.
            let expected = usize::from((first < line) != (last < line));
            assert_eq!(n, expected, "person {}", p.id);
        }
    }
}

#[test]
fn frames_render_people_and_noise() {
    let s = spec(Preset::Medium);
    let scene = Scene::generate(&s, 1);
    let r = Renderer::new(&scene);
    let mut a = Vec::new();
    let mut b = Vec::new();
    r.render(0, &mut a);
    r.render(1, &mut b);
    assert_eq!(a.len(), r.frame_len());
    // Nobody in view at the start: frames differ by noise only.
    let diff = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| (**x as i16 - **y as i16).abs() > 30)
        .count();
    assert!(diff < a.len() / 1000, "{diff}");
    // A person in the middle of the frame changes the pixels where it stands.
    let (p, f) = scene
        .people
        .iter()
        .find_map(|p| {
            (0..p.poses.len())
                .find(|i| (p.poses[*i].x - 160.0).abs() < 20.0)
                .map(|i| (p, p.first_frame + i as u64))
        })
        .unwrap();
    let q = p.pose(f).unwrap();
    r.render(f, &mut a);
    let ph = scene.height_at(q.y) * p.look.size;
    let (x, y) = (q.x as usize, (q.y - 0.65 * ph) as usize);
    let i = (y * 320 + x) * 3;
    let mut bg = Vec::new();
    Renderer::new(&Scene {
        people: vec![],
        ..scene.clone()
    })
    .render(f, &mut bg);
    let d: i32 = (0..3)
        .map(|k| (a[i + k] as i32 - bg[i + k] as i32).abs())
        .sum();
    assert!(
        d > 20
            || p.look
                .top
                .iter()
                .zip(&bg[i..i + 3])
                .all(|(u, v)| (*u as i32 - *v as i32).abs() < 20)
    );
}

#[test]
fn hard_darkens_suddenly() {
    let s = spec(Preset::Hard);
    let r = Renderer::new(&Scene::generate(&s, 1));
    let at = (0.6 * s.frames() as f64) as u64;
    assert!(r.gain(at + 1) < 0.8 * r.gain(at - 1) + 0.05);
}

#[test]
#[ignore]
fn print_crossing_counts() {
    for p in Preset::ALL {
        for seed in TUNING_SEEDS {
            let sc = Scene::generate(&spec(p), seed);
            let t = sc.truth();
            println!(
                "{p:?} {seed}: people {} crossings {} (in {} out {})",
                sc.people.len(),
                t.crossings.len(),
                t.ins,
                t.outs
            );
        }
    }
}
