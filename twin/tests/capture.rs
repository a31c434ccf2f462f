//! Headless captures of a district the twin was never tuned on (`tests/fixtures/mini.toml`: two
//! zones, one building, one car park), read back by pixels:
//! - fed by the synthetic source, every zone gets live data and a crowd colour, and the fire
//!   the source starts shows in the critical alert colour;
//! - with no broker at all, nothing shows a crowd colour: every zone is the no-data grey.
//!
//! Needs Vulkan (a GPU, or Mesa's software `mesa-vulkan-drivers`) like the twin itself.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

#[derive(Deserialize)]
struct Manifest {
    hud_kpis: [f32; 4],
    hud_alerts: [f32; 4],
    hud_legend: [f32; 4],
    zones_with_data: usize,
    open_alerts: usize,
    palette: Palette,
}

#[derive(Deserialize)]
struct Palette {
    crowd: [[u8; 3]; 4],
    no_data: [u8; 3],
    severity: [[u8; 3]; 5],
}

fn mini() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/mini.toml")
}

fn capture(dir: &Path, name: &str, extra: &[&str]) -> (image::RgbImage, Manifest) {
    let png = dir.join(format!("{name}.png"));
    let out = Command::new(env!("CARGO_BIN_EXE_twin"))
        .arg("--config")
        .arg(mini())
        .arg("--screenshot")
        .arg(&png)
        .args(["--size", "640x360", "--view", "overview", "--after", "4"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "twin failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let keep = std::env::temp_dir().join("twin-capture");
    let _ = std::fs::create_dir_all(&keep);
    let _ = std::fs::copy(&png, keep.join(format!("mini-{name}.png")));
    let m: Manifest =
        serde_json::from_slice(&std::fs::read(format!("{}.json", png.display())).unwrap()).unwrap();
    (image::open(&png).unwrap().to_rgb8(), m)
}

/// Pixels of colour `c` outside the HUD panels (the legend shows every colour).
fn count(img: &image::RgbImage, m: &Manifest, c: [u8; 3]) -> usize {
    let hud = |x: u32, y: u32| {
        [m.hud_kpis, m.hud_alerts, m.hud_legend].iter().any(|r| {
            let (x, y) = (x as f32, y as f32);
            x >= r[0] && y >= r[1] && x < r[0] + r[2] && y < r[1] + r[3]
        })
    };
    img.enumerate_pixels()
        .filter(|(x, y, p)| {
            !hud(*x, *y)
                && p.0
                    .iter()
                    .zip(c)
                    .all(|(a, b)| (*a as i32 - b as i32).abs() <= 8)
        })
        .count()
}

#[test]
fn a_new_district_renders_live_and_shows_no_data_without_a_feed() {
    let dir = tempfile::tempdir().unwrap();

    let (img, m) = capture(dir.path(), "synthetic", &["--synthetic"]);
    assert_eq!(m.zones_with_data, 2, "both zones have live data");
    assert!(m.open_alerts >= 1, "the synthetic fire is open");
    let crowd: usize = m.palette.crowd.iter().map(|c| count(&img, &m, *c)).sum();
    assert!(
        crowd > 2_000,
        "zones are drawn in crowd colours ({crowd} px)"
    );
    let fire = count(&img, &m, m.palette.severity[4]);
    assert!(
        fire > 30,
        "the fire shows in the critical colour ({fire} px)"
    );

    // A port nobody listens on: the feed never connects.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (img, m) = capture(
        dir.path(),
        "no-feed",
        &["--broker", &format!("127.0.0.1:{port}")],
    );
    assert_eq!(m.zones_with_data, 0);
    let crowd: usize = m.palette.crowd.iter().map(|c| count(&img, &m, *c)).sum();
    assert!(crowd < 50, "no crowd colour without data ({crowd} px)");
    let grey = count(&img, &m, m.palette.no_data);
    assert!(grey > 2_000, "zones are no-data grey ({grey} px)");
}
