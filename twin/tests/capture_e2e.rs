//! End to end: the twin's headless capture against a real gateway (embedded rumqttd broker,
//! SQLite store, live publisher) fed by the real simulator.
//!
//! Two runs of the same simulated afternoon over the example district: a baseline, and one with
//! a crowd surge on the fountain plaza (density 5 p/m², above its critical 4.0) and a fire in
//! building b05. For each, once the gateway publishes the state, `twin --screenshot` renders an
//! off-screen PNG of the same fixed overview. The PNGs are checked by reading pixels:
//! - at the plaza's projected screen positions the critical crowd colour appears in the surge
//!   capture and not in the baseline, and nowhere else on the surge capture;
//! - when the gateway publishes alerts (its alert engine), b05's roof shows the critical alert
//!   colour in the surge capture, not in the baseline, and that colour appears nowhere else;
//! - the HUD panel shows text.
//!
//! Positions come from the district file through the system's one projection
//! (`district::frame`), mapped to the screen by the camera matrix the twin writes beside its PNG
//! (`OUT.png.json`). Colours are the palette the twin reports there (its legend), which its
//! own unit tests pin.
//!
//! Needs Vulkan (a GPU, or Mesa's software `mesa-vulkan-drivers` + `libvulkan1`) and a CJK font
//! (`fonts-wqy-microhei`). PNGs are kept under `$TMPDIR/twin-capture/` for a look.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use district::clock::Clock;
use district::contract::alert::{ActiveAlerts, Severity};
use district::contract::live::{CrowdLevel, ZoneLive};
use district::District;
use gateway::auth::provision;
use geo::{BoundingRect, Contains, Point};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde::Deserialize;

const START: &str = "2026-11-23T14:00:00+08:00"; // a Monday afternoon
const SPEED: f64 = 60.0;
const SIZE: (u32, u32) = (1280, 720);
const PLAZA: &str = "fountain-plaza";
const BURNING: &str = "b05";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn hubin() -> PathBuf {
    root().join("config/districts/hubin.toml")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The twin binary cargo built for this test (same features as the rest of the build).
fn twin_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_twin"))
}

#[derive(Default)]
struct Seen {
    plaza: Option<ZoneLive>,
    zones: usize,
    active: Option<ActiveAlerts>,
}

/// A subscriber to the gateway's live zones and active alerts, as the twin's reader
/// identity.
async fn watch(port: u16, d: &str, secret: &str) -> Arc<Mutex<Seen>> {
    let mut o = MqttOptions::new(format!("twin-e2e-{port}"), "127.0.0.1", port);
    o.set_credentials("twin", secret);
    o.set_max_packet_size(4 << 20, 64 << 10);
    let (client, mut el) = AsyncClient::new(o, 100);
    client
        .subscribe(format!("district/{d}/live/zones/+"), QoS::AtLeastOnce)
        .await
        .unwrap();
    client
        .subscribe(format!("district/{d}/alerts/active"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let s = seen.clone();
    tokio::spawn(async move {
        let _client = client;
        let mut zones = std::collections::HashSet::new();
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let mut s = s.lock().unwrap();
                    if p.topic.ends_with("/alerts/active") {
                        s.active = serde_json::from_slice(&p.payload).ok();
                    } else if let Ok(z) = serde_json::from_slice::<ZoneLive>(&p.payload) {
                        zones.insert(z.zone.clone());
                        s.zones = zones.len();
                        if z.zone == PLAZA {
                            s.plaza = Some(z);
                        }
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    });
    seen
}

struct Run {
    png: PathBuf,
    manifest: Manifest,
    alerts_published: bool,
    /// Where the open critical alerts are: (building id, zone id) from their context.
    critical_at: Vec<(Option<String>, Option<String>)>,
}

/// Gateway + simulator (+ scenario), wait for `ready`, then capture with the twin.
async fn capture(
    dir: &Path,
    name: &str,
    scenario: Option<&str>,
    ready: impl Fn(&Seen) -> bool,
) -> Run {
    let d = district::load(hubin()).unwrap();
    let start = DateTime::parse_from_rfc3339(START).unwrap();
    let clock = Clock::simulated(start.with_timezone(&Utc), SPEED);
    let port = free_port();
    let mut cfg = gateway::config::GatewayConfig::default();
    cfg.broker.listen = format!("127.0.0.1:{port}").parse().unwrap();
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.devices.listen = "127.0.0.1:0".parse().unwrap();
    cfg.store.data_dir = dir.join(format!("{name}-data"));
    cfg.publish.min_interval_ms = 200;
    // Identities, as `gateway run` requires: the simulator a bridge for every device, the
    // twin (and this test's watcher) a reader.
    let passwd = dir.join(format!("{name}-devices.passwd"));
    let sim_secret =
        provision::upsert(&passwd, provision::bridge_for("sim", &[d.clone()]).unwrap()).unwrap();
    let twin_secret = provision::upsert(&passwd, provision::reader("twin").unwrap()).unwrap();
    let secret_file = |id: &str, secret: &str| {
        let p = dir.join(format!("{name}-{id}.secret"));
        std::fs::write(&p, secret).unwrap();
        p
    };
    let (sim_pw, twin_pw) = (
        secret_file("sim", &sim_secret),
        secret_file("twin", &twin_secret),
    );
    cfg.devices.credentials = Some(passwd);
    let gw = gateway::Gateway::start(cfg, vec![d.clone()], clock)
        .await
        .unwrap();
    let scenario_path = scenario.map(|s| {
        let p = dir.join(format!("{name}.toml"));
        std::fs::write(&p, s).unwrap();
        p
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let sim = sensors_sim::SimOptions {
        config: hubin(),
        broker: gw.mqtt_addr.clone(),
        seed: 7,
        speed: sensors_sim::Speed::Factor(SPEED),
        start: Some(start),
        scenario: scenario_path,
        shutdown: Some(stop_rx),
        client_id: Some(format!("sim-{name}")),
        security: district::client::ClientSecurity {
            username: Some("sim".into()),
            password_file: Some(sim_pw),
            ..Default::default()
        },
        ..Default::default()
    };
    let sim_task = tokio::spawn(sensors_sim::run(sim, clock));
    let seen = watch(port, &d.id, &twin_secret).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        {
            let s = seen.lock().unwrap();
            if s.zones == d.zones.len() && ready(&s) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: gateway state not ready: {} zones, plaza {:?}",
                s.zones,
                s.plaza.as_ref().map(|p| (p.people, p.density, p.level))
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let png = dir.join(format!("{name}.png"));
    let twin = twin_bin();
    let out = tokio::task::spawn_blocking({
        let png = png.clone();
        move || {
            Command::new(twin)
                .args([
                    "--config",
                    hubin().to_str().unwrap(),
                    "--broker",
                    &format!("127.0.0.1:{port}"),
                    "--username",
                    "twin",
                    "--password-file",
                    twin_pw.to_str().unwrap(),
                ])
                .args([
                    "--screenshot",
                    png.to_str().unwrap(),
                    "--size",
                    &format!("{}x{}", SIZE.0, SIZE.1),
                ])
                .args([
                    "--after",
                    "4",
                    "--view",
                    "overview",
                    "--lang",
                    "zh",
                    "--timeout",
                    "240",
                ])
                .output()
                .expect("run the twin")
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "twin failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (alerts_published, critical_at) = {
        let s = seen.lock().unwrap();
        let critical = s
            .active
            .iter()
            .flat_map(|a| &a.alerts)
            .filter(|a| a.severity == Severity::Critical);
        let place = |a: &district::contract::alert::AlertMsg, k: &str| {
            a.context.get(k).and_then(|v| v.as_str()).map(String::from)
        };
        (
            s.active.is_some(),
            critical
                .map(|a| (place(a, "building"), place(a, "zone")))
                .collect::<Vec<_>>(),
        )
    };
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(30), sim_task).await;
    gw.shutdown().await;
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(format!("{}.json", png.display())).unwrap()).unwrap();
    // Artifacts to look at.
    let keep = std::env::temp_dir().join("twin-capture");
    let _ = std::fs::create_dir_all(&keep);
    let _ = std::fs::copy(&png, keep.join(format!("{name}.png")));
    let _ = std::fs::copy(
        format!("{}.json", png.display()),
        keep.join(format!("{name}.png.json")),
    );
    Run {
        png,
        manifest,
        alerts_published,
        critical_at,
    }
}

#[derive(Deserialize, Debug)]
struct Manifest {
    width: u32,
    height: u32,
    clip_from_world: [f32; 16],
    hud_kpis: [f32; 4],
    hud_alerts: [f32; 4],
    #[serde(default)]
    hud_legend: [f32; 4],
    labels: Vec<[f32; 4]>,
    palette: Palette,
    zones_with_data: usize,
}

#[derive(Deserialize, Debug)]
struct Palette {
    crowd: [[u8; 3]; 4],
    severity: [[u8; 3]; 5],
}

impl Manifest {
    /// Screen px of a local east/north/up point (None behind the camera or off screen).
    fn project(&self, d: &District, lon: f64, lat: f64, up: f32) -> Option<(f32, f32)> {
        let (x, y) = d.frame.to_xy(lon, lat);
        let w = [x as f32, up, -(y as f32), 1.0]; // east → +X, north → −Z
        let m = &self.clip_from_world;
        let c: Vec<f32> = (0..4)
            .map(|r| (0..4).map(|k| m[k * 4 + r] * w[k]).sum())
            .collect();
        if c[3] <= 0.0 {
            return None;
        }
        let (nx, ny) = (c[0] / c[3], c[1] / c[3]);
        let px = (
            (nx + 1.0) * 0.5 * self.width as f32,
            (1.0 - ny) * 0.5 * self.height as f32,
        );
        (px.0 >= 0.0 && px.1 >= 0.0 && px.0 < self.width as f32 && px.1 < self.height as f32)
            .then_some(px)
    }

    /// HUD panels and labels: drawn over the scene, excluded from scene checks.
    fn covered(&self, (x, y): (f32, f32)) -> bool {
        let inside = |r: &[f32; 4]| {
            x >= r[0] - 2.0 && y >= r[1] - 2.0 && x < r[0] + r[2] + 2.0 && y < r[1] + r[3] + 2.0
        };
        [self.hud_kpis, self.hud_alerts, self.hud_legend]
            .iter()
            .any(inside)
            || self.labels.iter().any(inside)
    }
}

/// Grid points inside a geometry (lon/lat), at most `n` per side.
fn inside_points(g: &geo::MultiPolygon<f64>, n: usize) -> Vec<(f64, f64)> {
    let r = g.bounding_rect().unwrap();
    let mut out = Vec::new();
    for i in 1..n {
        for j in 1..n {
            let lon = r.min().x + r.width() * i as f64 / n as f64;
            let lat = r.min().y + r.height() * j as f64 / n as f64;
            if g.contains(&Point::new(lon, lat)) {
                out.push((lon, lat));
            }
        }
    }
    out
}

fn near(p: image::Rgb<u8>, c: [u8; 3], tol: i32) -> bool {
    p.0.iter()
        .zip(c)
        .all(|(a, b)| (*a as i32 - b as i32).abs() <= tol)
}

/// Fraction of the sample points (not covered by HUD or labels) showing colour `c`.
fn share(img: &image::RgbImage, m: &Manifest, pts: &[(f32, f32)], c: [u8; 3]) -> (f32, usize) {
    let usable: Vec<_> = pts.iter().filter(|p| !m.covered(**p)).collect();
    let hits = usable
        .iter()
        .filter(|(x, y)| near(*img.get_pixel(*x as u32, *y as u32), c, 10))
        .count();
    (hits as f32 / usable.len().max(1) as f32, usable.len())
}

type Area = (f32, f32, f32, f32);

/// Pixels of colour `c` outside the boxes `areas` (and outside HUD and labels).
fn stray(img: &image::RgbImage, m: &Manifest, areas: &[Area], c: [u8; 3]) -> usize {
    img.enumerate_pixels()
        .filter(|(x, y, p)| {
            let (x, y) = (*x as f32, *y as f32);
            let in_area = areas
                .iter()
                .any(|a| x >= a.0 && x <= a.2 && y >= a.1 && y <= a.3);
            !in_area && !m.covered((x, y)) && near(**p, c, 10)
        })
        .count()
}

/// Screen box of a geometry between two heights, with a margin.
fn screen_box(
    m: &Manifest,
    d: &District,
    g: &geo::MultiPolygon<f64>,
    top: f32,
    margin: f32,
) -> (f32, f32, f32, f32) {
    let r = g.bounding_rect().unwrap();
    let mut b = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for (lon, lat) in [
        (r.min().x, r.min().y),
        (r.max().x, r.min().y),
        (r.min().x, r.max().y),
        (r.max().x, r.max().y),
    ] {
        for h in [0.0, top] {
            if let Some((x, y)) = m.project(d, lon, lat, h) {
                b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
            }
        }
    }
    (b.0 - margin, b.1 - margin, b.2 + margin, b.3 + margin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crowd_surge_and_fire_show_where_they_are_and_nowhere_else() {
    let dir = tempfile::tempdir().unwrap();
    let d = district::load(hubin()).unwrap();
    let critical_level = |s: &Seen| {
        s.plaza
            .as_ref()
            .is_some_and(|p| p.level == CrowdLevel::Critical)
    };

    let base = capture(dir.path(), "baseline", None, |s| s.plaza.is_some()).await;
    let scenario = format!(
        "[[events]]\nat = \"+1min\"\nkind = \"crowd_surge\"\nzone = \"{PLAZA}\"\ndensity = 8.0\nramp = \"1min\"\nhold = \"3h\"\n\n\
         [[events]]\nat = \"+1min\"\nkind = \"fire\"\nbuilding = \"{BURNING}\"\ndetectors = 2\nclear_after = \"3h\"\n"
    );
    let surge = capture(dir.path(), "surge", Some(&scenario), critical_level).await;

    let bi = image::open(&base.png).unwrap().to_rgb8();
    let si = image::open(&surge.png).unwrap().to_rgb8();
    assert_eq!((si.width(), si.height()), SIZE);
    let m = &surge.manifest;
    assert_eq!(
        m.zones_with_data,
        d.zones.len(),
        "the twin had every zone's live state"
    );
    assert_eq!(
        base.manifest.clip_from_world, m.clip_from_world,
        "same view in both captures"
    );

    // The crowded zone: the critical level colour at its projected positions, only in the surge.
    let critical = m.palette.crowd[3];
    let plaza = &d.zones[d.zone_idx(PLAZA).unwrap()];
    let pts: Vec<(f32, f32)> = inside_points(&plaza.geometry, 14)
        .into_iter()
        .filter_map(|(lon, lat)| m.project(&d, lon, lat, 0.0))
        .collect();
    assert!(pts.len() >= 20, "plaza on screen: {} points", pts.len());
    let (in_surge, n) = share(&si, m, &pts, critical);
    let (in_base, _) = share(&bi, &base.manifest, &pts, critical);
    println!(
        "plaza: critical colour at {:.0}% of {n} points in the surge, {:.0}% in the baseline",
        in_surge * 100.0,
        in_base * 100.0
    );
    assert!(
        in_surge >= 0.5,
        "surge: plaza shows the critical colour at {:.0}% of points",
        in_surge * 100.0
    );
    assert!(
        in_base <= 0.05,
        "baseline: plaza shows the critical colour at {:.0}% of points",
        in_base * 100.0
    );
    // ... and nowhere else (its fence of light rises to 15 m, so its box goes up that high).
    let area = screen_box(m, &d, &plaza.geometry, 20.0, 12.0);
    let elsewhere = stray(&si, m, &[area], critical);
    assert!(
        elsewhere < 40,
        "critical crowd colour on {elsewhere} px away from the plaza"
    );
    assert_eq!(
        stray(&bi, &base.manifest, &[], critical),
        0,
        "baseline has no critical zone"
    );

    // The burning building, when the gateway publishes alerts.
    let alert = m.palette.severity[4];
    let b = &d.buildings[d.building_idx(BURNING).unwrap()];
    let roof: Vec<(f32, f32)> = inside_points(&b.footprint, 10)
        .into_iter()
        .filter_map(|(lon, lat)| m.project(&d, lon, lat, b.height_m as f32))
        .collect();
    if surge.alerts_published {
        let (in_surge, n) = share(&si, m, &roof, alert);
        let (in_base, _) = share(&bi, &base.manifest, &roof, alert);
        println!("{BURNING}: alert colour at {:.0}% of {n} roof points in the surge, {:.0}% in the baseline", in_surge * 100.0, in_base * 100.0);
        assert!(
            in_surge >= 0.5,
            "the burning building shows the alert colour at {:.0}% of its roof",
            in_surge * 100.0
        );
        assert!(in_base <= 0.05);
        // Nowhere but at the open critical alerts (the fire, and the crowd alert the gateway
        // raises for the plaza): a beacon column rises 120 m above its subject and a ring
        // spreads up to 60 m around it.
        assert!(
            surge
                .critical_at
                .iter()
                .any(|(b, _)| b.as_deref() == Some(BURNING)),
            "{:?}",
            surge.critical_at
        );
        let areas: Vec<Area> = surge
            .critical_at
            .iter()
            .filter_map(|(b, z)| match (b, z) {
                (Some(b), _) => d
                    .building_idx(b)
                    .map(|i| (&d.buildings[i].footprint, d.buildings[i].height_m as f32)),
                (None, Some(z)) => d.zone_idx(z).map(|i| (&d.zones[i].geometry, 0.0)),
                _ => None,
            })
            .map(|(g, h)| screen_box(m, &d, g, h + 125.0, 45.0))
            .collect();
        let elsewhere = stray(&si, m, &areas, alert);
        assert!(
            elsewhere < 40,
            "alert colour on {elsewhere} px away from the critical alerts"
        );
        assert_eq!(stray(&bi, &base.manifest, &[], alert), 0);
    } else {
        println!(
            "NOTE: the gateway published no alerts/active: the alert-colour checks were skipped"
        );
        assert_eq!(stray(&si, m, &[], alert), 0, "no alerts, no alert colour");
    }

    // The HUD shows text: bright glyph pixels on the dark panel, in both captures.
    for (img, man) in [(&si, m), (&bi, &base.manifest)] {
        let r = man.hud_kpis;
        assert!(r[2] > 100.0 && r[3] > 100.0, "HUD panel {r:?}");
        let (mut bright, mut dark) = (0, 0);
        for y in r[1] as u32..(r[1] + r[3]) as u32 {
            for x in r[0] as u32..(r[0] + r[2]) as u32 {
                let p = img.get_pixel(x.min(img.width() - 1), y.min(img.height() - 1));
                let l = p.0.iter().map(|v| *v as u32).sum::<u32>() / 3;
                if l > 180 {
                    bright += 1;
                } else if l < 60 {
                    dark += 1;
                }
            }
        }
        let area = r[2] * r[3];
        println!("HUD: {bright} bright and {dark} dark px of {area}");
        assert!(
            (bright as f32) > area * 0.01 && (bright as f32) < area * 0.5,
            "text pixels: {bright} of {area}"
        );
        assert!((dark as f32) > area * 0.3, "a dark panel behind the text");
    }
}
