//! Generates the example district `hubin`: Hangzhou's 湖滨商圈 (Hubin business district, by West
//! Lake), written as `config/districts/hubin.toml` and `config/districts/hubin.geojson`.
//!
//! ```text
//! cargo run -p district --example gen_hubin            # writes into config/districts/
//! cargo run -p district --example gen_hubin -- OUT_DIR # writes into OUT_DIR
//! ```
//!
//! The program uses nothing but `std` (it also builds alone:
//! `rustc --edition 2021 -O config/examples/gen_hubin.rs -o /tmp/gen_hubin`), and its output is
//! the same on every run: all variation comes from a fixed-seed splitmix64 generator. Change the
//! tables below and run it again; never edit the generated files by hand.
//!
//! # What it generates
//! - 10 zones that tile the district between the lake shore (Hubin Road, lon ≈ 120.1595) and
//!   Yan'an Road (lon ≈ 120.1700), Jiefang Road (lat ≈ 30.2515) and Qingchun Road (lat ≈ 30.2620).
//!   Nine are written inline in the TOML (`outline`), one (`hubin-park`) only in the GeoJSON.
//!   The fountain plaza has a hole (the fountain basin) and its own density thresholds.
//! - 36 buildings (TOML: id, name, floors, height, rated load; footprints in the GeoJSON, one of
//!   them a two-part MultiPolygon and one a Polygon with an atrium hole).
//! - 4 car parks (outlines in the GeoJSON) with 1,670 bays laid out in rows; three have a sensor
//!   on every bay, the surface lot on Dongpo Road has none and two entrance counters instead.
//! - Devices: footfall line counters on zone boundaries and on the district's edge, area counters
//!   for the two area-counted zones (`fountain-plaza`, `in77-bc`), air monitors, energy meters,
//!   smoke/fire detectors, parking entrance counters; and 6 parking guidance signs.
//!
//! # Layout rules (the generator asserts each of them before writing)
//! - Geometry is laid out in local metres (x east, y north) from the south-west corner
//!   (120.1595 E, 30.2515 N) and converted with 1° lat = 110,950 m and
//!   1° lon = 111,320 m × cos(30.257°); coordinates are written with 7 decimals (about 1 cm).
//!   They are plausible, not surveyed.
//! - Zones are convex, counter-clockwise, closed rings built from shared corner nodes, so
//!   neighbours share their edges exactly and never overlap. The district is split into four
//!   columns (lake shore, in77 blocks, Dongpo Road, Yan'an Road blocks), each cut into rows;
//!   where a row cut of one column meets the column line, the node is pushed a few metres into
//!   the column that has a corner there, which keeps both sides convex. Every ring in the TOML,
//!   the fountain basin hole included, runs counter-clockwise; the GeoJSON follows RFC 7946
//!   (outer rings counter-clockwise, holes such as the atrium clockwise), as GIS tools write it.
//! - Buildings and lots are convex (the atrium building has a hole, the MultiPolygon has two
//!   convex parts) and lie inside one zone with a margin of at least 5 m. Buildings do not overlap
//!   each other; the surface and multi-storey lots overlap no building (underground lots may lie
//!   under buildings).
//! - Bays lie in evenly spaced rows (2.5 m wide) inside their lot with a margin of 4 m; bay
//!   sensor ids are `ps-<lot>-<bay>`.
//! - Footfall: line counters sit on a boundary, either between two zones (`leaves` = the other
//!   zone) or on the district's outer edge (`leaves = "outside"`), and `zone` = the zone they
//!   enter. Every adjacent pair of zones has at least one line counter between them, every
//!   line-counted zone has at least two from outside. The two area-counted zones get their count
//!   from area counters alone: two each, each covering its own part (the plaza's west and east
//!   halves; the B and C blocks), together the whole zone. The gateway sums them.
//!   Footfall intervals divide 60 s.
//! - Every other device lies inside a zone; indoor devices (fire detectors, energy meters, indoor
//!   air monitors) lie inside their building's footprint, at a floor the building has; outdoor
//!   air monitors stand outside buildings. Every device id, bay sensor ids included, is unique.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;

// ---------------------------------------------------------------------------------------------
// Coordinates
// ---------------------------------------------------------------------------------------------

/// South-west corner of the local metre grid.
const LON0: f64 = 120.1595;
const LAT0: f64 = 30.2515;
/// Metres per degree of latitude.
const M_PER_DEG_LAT: f64 = 110_950.0;

fn m_per_deg_lon() -> f64 {
    111_320.0 * 30.257_f64.to_radians().cos()
}

/// A point in local metres (x east, y north).
#[derive(Clone, Copy, Debug, PartialEq)]
struct P {
    x: f64,
    y: f64,
}

const fn p(x: f64, y: f64) -> P {
    P { x, y }
}

fn lonlat(q: P) -> (f64, f64) {
    (LON0 + q.x / m_per_deg_lon(), LAT0 + q.y / M_PER_DEG_LAT)
}

/// `[lon, lat]` with 7 decimals.
fn fmt_ll(q: P) -> String {
    let (lon, lat) = lonlat(q);
    format!("[{lon:.7}, {lat:.7}]")
}

/// `[lon, lat, 0.0]` with 7 decimals (as some GIS exports write it).
fn fmt_ll3(q: P) -> String {
    let (lon, lat) = lonlat(q);
    format!("[{lon:.7}, {lat:.7}, 0.0]")
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------------------

/// splitmix64: tiny, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

// ---------------------------------------------------------------------------------------------
// Geometry (rings are stored open; the closing point is added when written)
// ---------------------------------------------------------------------------------------------

fn signed_area(r: &[P]) -> f64 {
    let n = r.len();
    (0..n)
        .map(|i| {
            let (a, b) = (r[i], r[(i + 1) % n]);
            a.x * b.y - b.x * a.y
        })
        .sum::<f64>()
        / 2.0
}

fn is_convex_ccw(r: &[P]) -> bool {
    let n = r.len();
    signed_area(r) > 0.0
        && (0..n).all(|i| {
            let (a, b, c) = (r[i], r[(i + 1) % n], r[(i + 2) % n]);
            (b.x - a.x) * (c.y - b.y) - (b.y - a.y) * (c.x - b.x) > 1e-9
        })
}

fn point_in_ring(q: P, r: &[P]) -> bool {
    let n = r.len();
    let mut inside = false;
    let mut j = n - 1;
    for i in 0..n {
        let (a, b) = (r[i], r[j]);
        if (a.y > q.y) != (b.y > q.y) && q.x < (b.x - a.x) * (q.y - a.y) / (b.y - a.y) + a.x {
            inside = !inside;
        }
        j = i;
    }
    inside
}

fn dist_seg(q: P, a: P, b: P) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let t = (((q.x - a.x) * dx + (q.y - a.y) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
    ((a.x + t * dx - q.x).powi(2) + (a.y + t * dy - q.y).powi(2)).sqrt()
}

fn dist_ring(q: P, r: &[P]) -> f64 {
    let n = r.len();
    (0..n)
        .map(|i| dist_seg(q, r[i], r[(i + 1) % n]))
        .fold(f64::INFINITY, f64::min)
}

/// Inside `outer`, outside every hole, and at least `margin` metres from every edge.
fn inside(q: P, outer: &[P], holes: &[Vec<P>], margin: f64) -> bool {
    point_in_ring(q, outer)
        && dist_ring(q, outer) >= margin
        && holes
            .iter()
            .all(|h| !point_in_ring(q, h) && dist_ring(q, h) >= margin)
}

/// Whether two convex rings overlap with positive area (touching edges do not count).
fn convex_overlap(a: &[P], b: &[P]) -> bool {
    for r in [a, b] {
        let n = r.len();
        for i in 0..n {
            let (e0, e1) = (r[i], r[(i + 1) % n]);
            let (nx, ny) = (e1.y - e0.y, e0.x - e1.x);
            let proj = |s: &[P]| {
                s.iter()
                    .map(|v| v.x * nx + v.y * ny)
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                        (lo.min(v), hi.max(v))
                    })
            };
            let ((alo, ahi), (blo, bhi)) = (proj(a), proj(b));
            let tol = 1e-6 * (nx * nx + ny * ny).sqrt();
            if ahi <= blo + tol || bhi <= alo + tol {
                return false;
            }
        }
    }
    true
}

fn centroid(r: &[P]) -> P {
    let n = r.len() as f64;
    p(
        r.iter().map(|v| v.x).sum::<f64>() / n,
        r.iter().map(|v| v.y).sum::<f64>() / n,
    )
}

/// A rectangle `w` × `d` metres centred on (`cx`, `cy`), turned `rot` degrees counter-clockwise,
/// with its corners cut by `chamfer` metres (0 for a plain rectangle). Counter-clockwise.
fn rect(cx: f64, cy: f64, w: f64, d: f64, rot: f64, chamfer: f64) -> Vec<P> {
    let (hw, hd, c) = (w / 2.0, d / 2.0, chamfer);
    let local: Vec<(f64, f64)> = if c > 0.0 {
        vec![
            (-hw + c, -hd),
            (hw - c, -hd),
            (hw, -hd + c),
            (hw, hd - c),
            (hw - c, hd),
            (-hw + c, hd),
            (-hw, hd - c),
            (-hw, -hd + c),
        ]
    } else {
        vec![(-hw, -hd), (hw, -hd), (hw, hd), (-hw, hd)]
    };
    let (s, co) = rot.to_radians().sin_cos();
    local
        .into_iter()
        .map(|(x, y)| p(cx + x * co - y * s, cy + x * s + y * co))
        .collect()
}

/// A regular polygon, counter-clockwise.
fn basin(cx: f64, cy: f64, radius: f64, sides: usize) -> Vec<P> {
    (0..sides)
        .map(|i| {
            let a = i as f64 * std::f64::consts::TAU / sides as f64 + 0.2;
            p(cx + radius * a.cos(), cy + radius * a.sin())
        })
        .collect()
}

fn bbox(r: &[P]) -> (f64, f64, f64, f64) {
    r.iter().fold(
        (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ),
        |b, v| (b.0.min(v.x), b.1.min(v.y), b.2.max(v.x), b.3.max(v.y)),
    )
}

// ---------------------------------------------------------------------------------------------
// Zone grid
// ---------------------------------------------------------------------------------------------

/// Column lines, west to east: 0 lake shore, 1 Hubin Road's east side, 2 and 3 the two sides of
/// the Dongpo Road strip, 4 Yan'an Road. Slightly slanted, like real streets.
fn line_x(line: usize, y: f64) -> f64 {
    match line {
        0 => 4.0 + 0.004 * y,
        1 => 92.0 + 0.006 * y,
        2 => 418.0 + 0.010 * y,
        3 => 598.0 - 0.008 * y,
        4 => 1006.0 - 0.003 * y,
        _ => unreachable!(),
    }
}

/// Jiefang Road side (south edge).
fn bottom_y(x: f64) -> f64 {
    2.0 + 0.004 * x
}

/// Qingchun Road side (north edge).
fn top_y(x: f64) -> f64 {
    1163.0 - 0.003 * x
}

/// A node on column line `line` at `y`, pushed `dx` metres east (negative: west).
fn node(line: usize, y: f64, dx: f64) -> P {
    p(line_x(line, y) + dx, y)
}

fn edge_node(line: usize, edge: fn(f64) -> f64) -> P {
    let mut y = edge(line_x(line, 0.0));
    for _ in 0..4 {
        y = edge(line_x(line, y));
    }
    p(line_x(line, y), y)
}

struct Zone {
    id: &'static str,
    zh: &'static str,
    en: &'static str,
    capacity: u32,
    ring: Vec<P>,
    holes: Vec<Vec<P>>,
    /// Outline only in the GeoJSON.
    in_geojson: bool,
    /// Counted by area counters only, which together cover it (else by line counters).
    area_counted: bool,
    density: Option<(f64, f64, f64)>,
}

fn zones() -> Vec<Zone> {
    let b: Vec<P> = (0..5).map(|l| edge_node(l, bottom_y)).collect();
    let t: Vec<P> = (0..5).map(|l| edge_node(l, top_y)).collect();
    // Row cuts. Each node is pushed towards the column that has a corner there (see module doc).
    let n0_556 = node(0, 556.0, 0.0);
    let n0_656 = node(0, 656.0, 0.0);
    let n1_378 = node(1, 378.0, 4.0);
    let n1_566 = node(1, 566.0, -4.0);
    let n1_668 = node(1, 668.0, -4.0);
    let n1_806 = node(1, 806.0, 4.0);
    let n2_386 = node(2, 386.0, -4.0);
    let n2_796 = node(2, 796.0, -4.0);
    let n3_476 = node(3, 476.0, 4.0);
    let n3_724 = node(3, 724.0, 4.0);
    let n4_488 = node(4, 488.0, 0.0);
    let n4_716 = node(4, 716.0, 0.0);
    let z = |id, zh, en, capacity, ring: Vec<P>| Zone {
        id,
        zh,
        en,
        capacity,
        ring,
        holes: vec![],
        in_geojson: false,
        area_counted: false,
        density: None,
    };
    vec![
        z(
            "hubin-road",
            "湖滨路步行街",
            "Hubin Road Pedestrian Street",
            12_000,
            vec![b[0], b[1], n1_378, n1_566, n0_556],
        ),
        Zone {
            holes: vec![basin(46.0, 612.0, 14.0, 12)],
            area_counted: true,
            density: Some((1.5, 3.0, 4.0)),
            ..z(
                "fountain-plaza",
                "音乐喷泉广场",
                "Musical Fountain Plaza",
                8_000,
                vec![n0_556, n1_566, n1_668, n0_656],
            )
        },
        Zone {
            in_geojson: true,
            ..z(
                "hubin-park",
                "湖滨公园",
                "Hubin Lakeside Park",
                8_000,
                vec![n0_656, n1_668, n1_806, t[1], t[0]],
            )
        },
        z(
            "in77-a",
            "湖滨银泰in77 A区",
            "in77 Zone A",
            10_000,
            vec![b[1], b[2], n2_386, n1_378],
        ),
        Zone {
            area_counted: true,
            ..z(
                "in77-bc",
                "湖滨银泰in77 B区·C区",
                "in77 Zones B and C",
                15_000,
                vec![n1_378, n2_386, n2_796, n1_806, n1_668, n1_566],
            )
        },
        z(
            "in77-de",
            "湖滨银泰in77 D区·E区",
            "in77 Zones D and E",
            10_000,
            vec![n1_806, n2_796, t[2], t[1]],
        ),
        z(
            "dongpo-road",
            "东坡路",
            "Dongpo Road",
            9_000,
            vec![b[2], b[3], n3_476, n3_724, t[3], t[2], n2_796, n2_386],
        ),
        z(
            "yanan-road",
            "延安路",
            "Yan'an Road",
            12_000,
            vec![b[3], b[4], n4_488, n3_476],
        ),
        z(
            "pinghai-road",
            "平海路",
            "Pinghai Road",
            8_000,
            vec![n3_476, n4_488, n4_716, n3_724],
        ),
        z(
            "longxiang-bridge",
            "龙翔桥",
            "Longxiang Bridge",
            14_000,
            vec![n3_724, n4_716, t[4], t[3]],
        ),
    ]
}

/// The edges (a, b) of zone `i` that no other zone shares: the district's outer edge.
fn outer_edges(zs: &[Zone], i: usize) -> Vec<(P, P)> {
    let r = &zs[i].ring;
    (0..r.len())
        .map(|k| (r[k], r[(k + 1) % r.len()]))
        .filter(|&(a, b)| {
            !zs.iter().enumerate().any(|(j, o)| {
                j != i
                    && (0..o.ring.len())
                        .any(|k| o.ring[k] == b && o.ring[(k + 1) % o.ring.len()] == a)
            })
        })
        .collect()
}

/// The edge zone `i` shares with zone `j`, in `i`'s direction.
fn shared_edge(zs: &[Zone], i: usize, j: usize) -> Option<(P, P)> {
    let (r, o) = (&zs[i].ring, &zs[j].ring);
    (0..r.len())
        .map(|k| (r[k], r[(k + 1) % r.len()]))
        .find(|&(a, b)| (0..o.len()).any(|k| o[k] == b && o[(k + 1) % o.len()] == a))
}

fn lerp(a: P, b: P, t: f64) -> P {
    p(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t)
}

// ---------------------------------------------------------------------------------------------
// Buildings
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Shape {
    /// Plain rectangle, corners cut by this many metres (0: none).
    Rect(f64),
    /// Rectangle with an atrium hole `w` × `d`.
    Atrium(f64, f64),
    /// Two rectangles of `w` × `d` north and south of the centre, this many metres apart
    /// (written as a MultiPolygon).
    Twin(f64),
}

/// (zone, zh name, en name, floors, centre x, centre y, width, depth, rotation°, shape, source)
type BSpec = (
    &'static str,
    Option<&'static str>,
    &'static str,
    u32,
    f64,
    f64,
    f64,
    f64,
    f64,
    Shape,
    &'static str,
);

const SURVEY: &str = "survey-2025";
const OSM: &str = "osm-2024";

#[rustfmt::skip]
const BUILDINGS: &[BSpec] = &[
    // Hubin Road pedestrian street (lake shore)
    ("hubin-road", Some("湖滨路历史建筑群"), "Hubin Road Heritage Houses", 2, 52.0, 150.0, 26.0, 40.0, 2.0, Shape::Rect(0.0), OSM),
    ("hubin-road", Some("湖滨路商铺"), "Hubin Road Shops", 3, 58.0, 420.0, 22.0, 70.0, -1.0, Shape::Rect(3.0), OSM),
    // Hubin lakeside park
    ("hubin-park", Some("湖滨茶室"), "Lakeside Teahouse", 2, 50.0, 820.0, 22.0, 16.0, 8.0, Shape::Rect(0.0), OSM),
    ("hubin-park", None, "park service building", 2, 55.0, 1060.0, 16.0, 12.0, 0.0, Shape::Rect(0.0), OSM),
    // in77 zone A
    ("in77-a", Some("湖滨银泰in77 A区"), "in77 Zone A", 6, 190.0, 130.0, 96.0, 72.0, 0.0, Shape::Atrium(24.0, 18.0), SURVEY),
    ("in77-a", Some("湖滨银泰in77 A区东楼"), "in77 Zone A East", 5, 345.0, 110.0, 56.0, 46.0, 1.0, Shape::Rect(0.0), SURVEY),
    ("in77-a", None, "shop block", 3, 140.0, 300.0, 30.0, 24.0, 0.0, Shape::Rect(0.0), OSM),
    ("in77-a", Some("湖滨国际名品街"), "Hubin International Boutiques", 4, 300.0, 300.0, 80.0, 36.0, -2.0, Shape::Rect(0.0), SURVEY),
    ("in77-a", None, "kiosk", 2, 365.0, 220.0, 20.0, 18.0, 0.0, Shape::Rect(0.0), OSM),
    // in77 zones B and C
    ("in77-bc", Some("湖滨银泰in77 B区"), "in77 Zone B", 6, 190.0, 470.0, 80.0, 44.0, 0.0, Shape::Twin(16.0), SURVEY),
    ("in77-bc", Some("湖滨银泰in77 C区"), "in77 Zone C", 7, 330.0, 460.0, 100.0, 64.0, 0.0, Shape::Rect(4.0), SURVEY),
    ("in77-bc", Some("湖滨银泰in77 C区北楼"), "in77 Zone C North", 5, 300.0, 700.0, 70.0, 50.0, 1.5, Shape::Rect(0.0), SURVEY),
    ("in77-bc", None, "shop block", 3, 160.0, 720.0, 34.0, 28.0, 0.0, Shape::Rect(0.0), OSM),
    ("in77-bc", Some("湖滨美食广场"), "Hubin Food Court", 2, 180.0, 620.0, 40.0, 30.0, 0.0, Shape::Rect(0.0), SURVEY),
    // in77 zones D and E
    ("in77-de", Some("湖滨银泰in77 D区"), "in77 Zone D", 6, 190.0, 900.0, 90.0, 60.0, 1.0, Shape::Rect(0.0), SURVEY),
    ("in77-de", Some("湖滨银泰in77 E区"), "in77 Zone E", 5, 330.0, 910.0, 80.0, 56.0, 0.0, Shape::Rect(6.0), SURVEY),
    ("in77-de", Some("湖滨国际酒店"), "Hubin International Hotel", 8, 200.0, 1080.0, 50.0, 40.0, -3.0, Shape::Rect(0.0), OSM),
    ("in77-de", None, "shop block", 3, 330.0, 1050.0, 30.0, 26.0, 0.0, Shape::Rect(0.0), OSM),
    ("in77-de", None, "shop block", 2, 380.0, 1120.0, 24.0, 20.0, 0.0, Shape::Rect(0.0), OSM),
    // Dongpo Road
    ("dongpo-road", Some("东坡大剧院"), "Dongpo Theatre", 4, 510.0, 420.0, 60.0, 50.0, 0.0, Shape::Rect(5.0), OSM),
    ("dongpo-road", Some("东坡路商铺"), "Dongpo Road Shops", 3, 470.0, 620.0, 30.0, 80.0, 0.5, Shape::Rect(0.0), OSM),
    ("dongpo-road", Some("东坡路酒店"), "Dongpo Road Hotel", 8, 540.0, 820.0, 44.0, 36.0, 0.0, Shape::Rect(0.0), OSM),
    ("dongpo-road", None, "shop block", 2, 500.0, 1060.0, 26.0, 20.0, 0.0, Shape::Rect(0.0), OSM),
    // Yan'an Road (south of Pinghai Road)
    ("yanan-road", Some("延安路商务大厦"), "Yan'an Road Tower", 24, 900.0, 250.0, 38.0, 38.0, 0.0, Shape::Rect(6.0), SURVEY),
    ("yanan-road", Some("解放路百货"), "Jiefang Road Department Store", 6, 720.0, 110.0, 90.0, 60.0, 0.0, Shape::Rect(0.0), OSM),
    ("yanan-road", None, "office block", 4, 700.0, 330.0, 50.0, 40.0, 2.0, Shape::Rect(0.0), OSM),
    ("yanan-road", Some("延安路商场"), "Yan'an Road Mall", 5, 880.0, 90.0, 70.0, 56.0, 0.0, Shape::Rect(0.0), SURVEY),
    ("yanan-road", None, "shop block", 3, 800.0, 400.0, 30.0, 24.0, 0.0, Shape::Rect(0.0), OSM),
    // Pinghai Road
    ("pinghai-road", Some("平海路写字楼"), "Pinghai Road Offices", 8, 850.0, 560.0, 60.0, 44.0, 0.0, Shape::Rect(0.0), OSM),
    ("pinghai-road", None, "shop block", 4, 950.0, 660.0, 40.0, 30.0, 0.0, Shape::Rect(0.0), OSM),
    ("pinghai-road", Some("平海路商铺"), "Pinghai Road Shops", 3, 800.0, 680.0, 70.0, 24.0, 0.0, Shape::Rect(0.0), OSM),
    // Longxiang Bridge
    ("longxiang-bridge", Some("龙翔桥大厦"), "Longxiang Tower", 22, 930.0, 1000.0, 40.0, 36.0, 0.0, Shape::Rect(0.0), SURVEY),
    ("longxiang-bridge", Some("龙翔服饰城"), "Longxiang Fashion Mall", 6, 790.0, 900.0, 100.0, 70.0, 0.0, Shape::Rect(0.0), SURVEY),
    ("longxiang-bridge", Some("龙翔桥地铁站商业"), "Longxiang Bridge Metro Retail", 2, 700.0, 780.0, 50.0, 20.0, 0.0, Shape::Rect(0.0), OSM),
    ("longxiang-bridge", None, "shop block", 4, 700.0, 1080.0, 40.0, 34.0, 0.0, Shape::Rect(0.0), OSM),
    ("longxiang-bridge", Some("庆春路商铺"), "Qingchun Road Shops", 3, 850.0, 1120.0, 60.0, 22.0, 0.0, Shape::Rect(0.0), OSM),
];

/// A convex part of a footprint, with its holes (clockwise, as in RFC 7946).
struct Part {
    outer: Vec<P>,
    holes: Vec<Vec<P>>,
}

struct Building {
    id: String,
    name: Option<(&'static str, &'static str)>,
    zone: usize,
    floors: u32,
    height_m: f64,
    rated_kw: f64,
    parts: Vec<Part>,
    source: &'static str,
}

impl Building {
    fn footprint_m2(&self) -> f64 {
        self.parts
            .iter()
            .map(|pt| signed_area(&pt.outer) + pt.holes.iter().map(|h| signed_area(h)).sum::<f64>())
            .sum()
    }
    fn contains(&self, q: P, margin: f64) -> bool {
        self.parts
            .iter()
            .any(|pt| inside(q, &pt.outer, &pt.holes, margin))
    }
    /// A point inside part `part`, at least 1.5 m from its walls and atrium.
    fn sample(&self, part: usize, rng: &mut Rng) -> P {
        let pt = &self.parts[part % self.parts.len()];
        let (x0, y0, x1, y1) = bbox(&pt.outer);
        loop {
            let q = p(rng.range(x0, x1), rng.range(y0, y1));
            if inside(q, &pt.outer, &pt.holes, 1.5) {
                return q;
            }
        }
    }
}

fn buildings(zs: &[Zone], rng: &mut Rng) -> Vec<Building> {
    BUILDINGS
        .iter()
        .enumerate()
        .map(
            |(i, &(zone, zh, en, floors, cx, cy, w, d, rot, shape, source))| {
                let zone = zs.iter().position(|z| z.id == zone).expect("building zone");
                let parts = match shape {
                    Shape::Rect(c) => vec![Part {
                        outer: rect(cx, cy, w, d, rot, c),
                        holes: vec![],
                    }],
                    Shape::Atrium(aw, ad) => {
                        let mut hole = rect(cx, cy, aw, ad, rot, 0.0);
                        hole.reverse();
                        vec![Part {
                            outer: rect(cx, cy, w, d, rot, 0.0),
                            holes: vec![hole],
                        }]
                    }
                    Shape::Twin(gap) => {
                        let off = (d + gap) / 2.0;
                        vec![
                            Part {
                                outer: rect(cx, cy - off, w, d, rot, 0.0),
                                holes: vec![],
                            },
                            Part {
                                outer: rect(cx, cy + off, w, d, rot, 0.0),
                                holes: vec![],
                            },
                        ]
                    }
                };
                let mut b = Building {
                    id: format!("b{:02}", i + 1),
                    name: zh.map(|zh| (zh, en)),
                    zone,
                    floors,
                    height_m: 0.0,
                    rated_kw: 0.0,
                    parts,
                    source,
                };
                b.height_m = ((floors as f64 * 4.5 + rng.range(-0.4, 0.6)) * 10.0).round() / 10.0;
                // About 60 W per m² of floor area plus a base load (lifts, pumps, lighting).
                let gfa = b.footprint_m2() * floors as f64;
                b.rated_kw = ((150.0 + 0.06 * gfa).clamp(200.0, 3000.0) / 10.0).round() * 10.0;
                b
            },
        )
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Car parks
// ---------------------------------------------------------------------------------------------

struct Bay {
    id: String,
    level: String,
    at: P,
    sensor: Option<String>,
}

struct Lot {
    id: &'static str,
    zh: &'static str,
    en: &'static str,
    kind: &'static str,
    zone: usize,
    ring: Vec<P>,
    levels: Vec<(String, u32)>,
    bays: Vec<Bay>,
    stale_after: Option<&'static str>,
    source: &'static str,
}

/// `n` bay positions in evenly spaced rows of 2.5 m wide bays inside the rectangle `r`, `margin`
/// metres from its sides.
fn bay_grid(r: &[P], n: usize, margin: f64) -> Vec<P> {
    let (x0, y0, x1, y1) = bbox(r);
    let inner_w = x1 - x0 - 2.0 * margin;
    let per_row = (inner_w / 2.5).floor() as usize;
    let rows = n.div_ceil(per_row);
    let pitch = (y1 - y0 - 2.0 * margin) / rows as f64;
    assert!(
        pitch >= 5.3,
        "lot too small for {n} bays ({pitch:.1} m between rows)"
    );
    let x_start = x0 + margin + (inner_w - per_row as f64 * 2.5) / 2.0 + 1.25;
    (0..n)
        .map(|k| {
            p(
                x_start + (k % per_row) as f64 * 2.5,
                y0 + margin + pitch * ((k / per_row) as f64 + 0.5),
            )
        })
        .collect()
}

/// (id, zh name, en name, kind, zone, outline (x0, y0, x1, y1), levels, bays per level,
/// bay sensors fitted, stale_after, source)
type LotSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    (f64, f64, f64, f64),
    &'static [&'static str],
    usize,
    bool,
    Option<&'static str>,
    &'static str,
);

fn lots(zs: &[Zone]) -> Vec<Lot> {
    #[rustfmt::skip]
    let specs: [LotSpec; 4] = [
        ("in77", "湖滨银泰in77地下停车场", "in77 Underground Car Park", "underground", "in77-bc",
            (190.0, 530.0, 320.0, 630.0), &["B1", "B2"], 300, true, None, SURVEY),
        ("dongpo", "东坡路停车场", "Dongpo Road Car Park", "surface", "dongpo-road",
            (450.0, 150.0, 530.0, 220.0), &["G"], 120, false, Some("5min"), OSM),
        ("pinghai", "平海路停车楼", "Pinghai Road Parking Garage", "multistorey", "pinghai-road",
            (650.0, 560.0, 734.0, 608.0), &["L1", "L2", "L3", "L4", "L5"], 90, true, None, SURVEY),
        ("longxiang", "龙翔桥地下停车场", "Longxiang Bridge Underground Car Park", "underground", "longxiang-bridge",
            (730.0, 850.0, 870.0, 940.0), &["B1", "B2"], 250, true, None, SURVEY),
    ];
    specs
        .iter()
        .map(
            |&(
                id,
                zh,
                en,
                kind,
                zone,
                (x0, y0, x1, y1),
                levels,
                per_level,
                sensors,
                stale_after,
                source,
            )| {
                let ring = vec![p(x0, y0), p(x1, y0), p(x1, y1), p(x0, y1)];
                let grid = bay_grid(&ring, per_level, 4.0);
                let bays = levels
                    .iter()
                    .flat_map(|lv| {
                        grid.iter().enumerate().map(move |(k, &at)| {
                            let bay = format!("{lv}-{:03}", k + 1);
                            Bay {
                                sensor: sensors.then(|| format!("ps-{id}-{bay}")),
                                id: bay,
                                level: lv.to_string(),
                                at,
                            }
                        })
                    })
                    .collect();
                Lot {
                    id,
                    zh,
                    en,
                    kind,
                    zone: zs.iter().position(|z| z.id == zone).expect("lot zone"),
                    ring,
                    levels: levels
                        .iter()
                        .map(|l| (l.to_string(), per_level as u32))
                        .collect(),
                    bays,
                    stale_after,
                    source,
                }
            },
        )
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Device {
    id: String,
    kind: &'static str,
    counter: Option<&'static str>,
    location: Option<P>,
    zone: Option<String>,
    building: Option<usize>,
    floor: Option<i32>,
    lot: Option<&'static str>,
    enters: Option<String>,
    leaves: Option<String>,
    indoor: bool,
    interval: &'static str,
    /// Written as a comment above the device.
    note: Option<String>,
}

fn zone_index(zs: &[Zone], id: &str) -> usize {
    zs.iter()
        .position(|z| z.id == id)
        .unwrap_or_else(|| panic!("no zone {id}"))
}

fn footfall(zs: &[Zone]) -> Vec<Device> {
    let mut out = Vec::new();
    let interval = |a: &str, b: &str| {
        if [a, b]
            .iter()
            .any(|z| *z == "hubin-road" || *z == "fountain-plaza")
        {
            "30s"
        } else {
            "60s"
        }
    };
    // District entrances: (zone, side of the zone's outer edge, fraction along it, what is there).
    #[rustfmt::skip]
    let entrances: &[(&str, char, f64, &str)] = &[
        ("hubin-road", 'S', 0.3, "Hubin Road at Jiefang Road"),
        ("hubin-road", 'S', 0.75, "Jiefang Road crossing"),
        ("hubin-road", 'W', 0.5, "lake promenade, Hubin pier"),
        ("in77-a", 'S', 0.3, "Jiefang Road, in77 A south gate"),
        ("in77-a", 'S', 0.7, "Jiefang Road, Dongpo Road corner"),
        ("in77-de", 'N', 0.35, "Qingchun Road, west"),
        ("in77-de", 'N', 0.75, "Qingchun Road, in77 E north gate"),
        ("dongpo-road", 'S', 0.5, "Dongpo Road at Jiefang Road"),
        ("dongpo-road", 'N', 0.5, "Dongpo Road at Qingchun Road"),
        ("yanan-road", 'S', 0.6, "Jiefang Road, Yan'an Road corner"),
        ("yanan-road", 'E', 0.2, "Yan'an Road crossing, south"),
        ("yanan-road", 'E', 0.7, "Yan'an Road crossing, north"),
        ("pinghai-road", 'E', 0.3, "Yan'an Road at Pinghai Road"),
        ("pinghai-road", 'E', 0.75, "Yan'an Road, Pinghai north"),
        ("longxiang-bridge", 'E', 0.4, "Longxiang Bridge metro exit, Yan'an Road"),
        ("longxiang-bridge", 'N', 0.3, "Qingchun Road, west"),
        ("longxiang-bridge", 'N', 0.8, "Qingchun Road at Yan'an Road"),
        ("hubin-park", 'N', 0.5, "lake promenade, north"),
        ("hubin-park", 'W', 0.4, "lake shore steps"),
    ];
    for &(zone, side, t, what) in entrances {
        let zi = zone_index(zs, zone);
        let want = match side {
            'S' => (0.0, -1.0),
            'N' => (0.0, 1.0),
            'E' => (1.0, 0.0),
            _ => (-1.0, 0.0),
        };
        // The outer edge whose outward normal points most to `side`.
        let (a, b) = outer_edges(zs, zi)
            .into_iter()
            .max_by(|&(a1, b1), &(a2, b2)| {
                let score = |a: P, b: P| {
                    let (nx, ny) = (b.y - a.y, a.x - b.x);
                    (nx * want.0 + ny * want.1) / (nx * nx + ny * ny).sqrt()
                };
                score(a1, b1).total_cmp(&score(a2, b2))
            })
            .expect("zone on the district edge");
        out.push(Device {
            kind: "footfall",
            counter: Some("line"),
            location: Some(lerp(a, b, t)),
            zone: Some(zone.into()),
            enters: Some(zone.into()),
            leaves: Some("outside".into()),
            interval: interval(zone, ""),
            note: Some(format!("entrance: {what}")),
            ..Device::default()
        });
    }
    // Between zones: (enters, leaves, fractions along the shared edge).
    #[rustfmt::skip]
    let links: &[(&str, &str, &[f64])] = &[
        ("fountain-plaza", "hubin-road", &[0.5]),
        ("hubin-park", "fountain-plaza", &[0.5]),
        ("in77-a", "hubin-road", &[0.3, 0.7]),
        ("in77-bc", "hubin-road", &[0.3, 0.7]),
        ("fountain-plaza", "in77-bc", &[0.5]),
        ("hubin-park", "in77-bc", &[0.5]),
        ("in77-de", "hubin-park", &[0.5]),
        ("in77-bc", "in77-a", &[0.3, 0.7]),
        ("in77-de", "in77-bc", &[0.3, 0.7]),
        ("dongpo-road", "in77-a", &[0.5]),
        ("in77-bc", "dongpo-road", &[0.3, 0.7]),
        ("dongpo-road", "in77-de", &[0.5]),
        ("yanan-road", "dongpo-road", &[0.5]),
        ("pinghai-road", "dongpo-road", &[0.3, 0.7]),
        ("longxiang-bridge", "dongpo-road", &[0.3, 0.7]),
        ("pinghai-road", "yanan-road", &[0.5]),
        ("longxiang-bridge", "pinghai-road", &[0.3, 0.7]),
    ];
    for &(enters, leaves, ts) in links {
        let (a, b) = shared_edge(zs, zone_index(zs, enters), zone_index(zs, leaves))
            .unwrap_or_else(|| panic!("{enters} and {leaves} are not neighbours"));
        for &t in ts {
            out.push(Device {
                kind: "footfall",
                counter: Some("line"),
                location: Some(lerp(a, b, t)),
                zone: Some(enters.into()),
                enters: Some(enters.into()),
                leaves: Some(leaves.into()),
                interval: interval(enters, leaves),
                ..Device::default()
            });
        }
    }
    for (i, d) in out.iter_mut().enumerate() {
        d.id = format!("fc-{:02}", i + 1);
    }
    // Area counters: each covers its own part of the zone, together all of it; the gateway sums
    // them for the zone.
    let areas: &[(&str, P, &str)] = &[
        (
            "fountain-plaza",
            p(20.0, 640.0),
            "the plaza west of the basin's axis",
        ),
        (
            "fountain-plaza",
            p(75.0, 585.0),
            "the plaza east of the basin's axis",
        ),
        ("in77-bc", p(130.0, 600.0), "the in77 B block (west part)"),
        ("in77-bc", p(380.0, 600.0), "the in77 C block (east part)"),
    ];
    for (i, &(zone, at, what)) in areas.iter().enumerate() {
        out.push(Device {
            id: format!("fa-{:02}", i + 1),
            kind: "footfall",
            counter: Some("area"),
            location: Some(at),
            zone: Some(zone.into()),
            interval: "60s",
            note: Some(format!("{zone}: counts {what}")),
            ..Device::default()
        });
    }
    out
}

fn building_index(bs: &[Building], id: &str) -> usize {
    bs.iter()
        .position(|b| b.id == id)
        .unwrap_or_else(|| panic!("no building {id}"))
}

fn air(bs: &[Building], rng: &mut Rng) -> Vec<Device> {
    let outdoor: &[P] = &[
        p(30.0, 280.0),   // hubin-road
        p(70.0, 600.0),   // fountain-plaza
        p(40.0, 950.0),   // hubin-park
        p(250.0, 220.0),  // in77-a
        p(260.0, 1000.0), // in77-de
        p(510.0, 300.0),  // dongpo-road
        p(800.0, 230.0),  // yanan-road
        p(650.0, 950.0),  // longxiang-bridge
    ];
    let indoor: &[(&str, i32)] = &[
        ("b05", 1),
        ("b10", 2),
        ("b11", 3),
        ("b15", 1),
        ("b24", 12),
        ("b33", 2),
    ];
    let mut out: Vec<Device> = outdoor
        .iter()
        .map(|&at| Device {
            kind: "air",
            location: Some(at),
            interval: "60s",
            ..Device::default()
        })
        .collect();
    for &(b, floor) in indoor {
        let bi = building_index(bs, b);
        out.push(Device {
            kind: "air",
            location: Some(bs[bi].sample(0, rng)),
            building: Some(bi),
            floor: Some(floor),
            indoor: true,
            interval: "60s",
            ..Device::default()
        });
    }
    for (i, d) in out.iter_mut().enumerate() {
        d.id = format!("aq-{:02}", i + 1);
    }
    out
}

fn energy(bs: &[Building], rng: &mut Rng) -> Vec<Device> {
    let mut out = Vec::new();
    for (bi, b) in bs.iter().enumerate() {
        let n = match b.rated_kw {
            kw if kw < 700.0 => 1,
            kw if kw < 1400.0 => 2,
            kw if kw < 2200.0 => 3,
            _ => 4,
        };
        for k in 0..n {
            out.push(Device {
                id: format!("em-{:02}", out.len() + 1),
                kind: "energy",
                location: Some(b.sample(k, rng)),
                building: Some(bi),
                interval: if b.rated_kw >= 800.0 { "60s" } else { "5min" },
                ..Device::default()
            });
        }
    }
    out
}

fn fire(bs: &[Building], rng: &mut Rng) -> Vec<Device> {
    let mut out = Vec::new();
    for (bi, b) in bs.iter().enumerate() {
        let by_area = ((b.footprint_m2() / 2000.0).round() as u32).clamp(1, 3);
        let per_floor = by_area.max(3u32.div_ceil(b.floors));
        for floor in 1..=b.floors {
            for k in 0..per_floor {
                out.push(Device {
                    id: format!("sd-{}-{floor}f-{:02}", b.id, k + 1),
                    kind: "fire",
                    location: Some(b.sample((k + floor) as usize, rng)),
                    building: Some(bi),
                    floor: Some(floor as i32),
                    interval: "1h",
                    ..Device::default()
                });
            }
        }
    }
    out
}

fn entrance_counters() -> Vec<Device> {
    [
        ("pe-01", p(490.0, 219.0), "north gate, entry and exit"),
        ("pe-02", p(451.0, 185.0), "west gate, entry and exit"),
    ]
    .iter()
    .map(|&(id, at, what)| Device {
        id: id.into(),
        kind: "parking",
        counter: Some("entrance"),
        location: Some(at),
        lot: Some("dongpo"),
        interval: "60s",
        note: Some(format!("Dongpo Road car park, {what}")),
        ..Device::default()
    })
    .collect()
}

// ---------------------------------------------------------------------------------------------
// Signs
// ---------------------------------------------------------------------------------------------

struct Sign {
    id: &'static str,
    zh: &'static str,
    en: &'static str,
    at: P,
    /// Compass heading of the traffic that reads it, degrees.
    heading: f64,
    lines: Vec<(&'static str, Option<(&'static str, &'static str)>)>,
}

fn signs() -> Vec<Sign> {
    vec![
        Sign {
            id: "sg-01",
            zh: "延安路解放路口",
            en: "Yan'an Rd / Jiefang Rd",
            at: p(990.0, 20.0),
            heading: 0.0,
            lines: vec![
                ("in77", Some(("银泰", "in77"))),
                ("dongpo", None),
                ("pinghai", None),
                ("longxiang", None),
            ],
        },
        Sign {
            id: "sg-02",
            zh: "延安路平海路口",
            en: "Yan'an Rd / Pinghai Rd",
            at: p(990.0, 600.0),
            heading: 0.0,
            lines: vec![
                ("pinghai", None),
                ("longxiang", None),
                ("in77", Some(("银泰", "in77"))),
            ],
        },
        Sign {
            id: "sg-03",
            zh: "庆春路东坡路口",
            en: "Qingchun Rd / Dongpo Rd",
            at: p(510.0, 1150.0),
            heading: 180.0,
            lines: vec![
                ("longxiang", Some(("龙翔桥", "Longxiang"))),
                ("in77", None),
                ("dongpo", None),
            ],
        },
        Sign {
            id: "sg-04",
            zh: "解放路东坡路口",
            en: "Jiefang Rd / Dongpo Rd",
            at: p(500.0, 15.0),
            heading: 0.0,
            lines: vec![("dongpo", None), ("in77", None), ("pinghai", None)],
        },
        Sign {
            id: "sg-05",
            zh: "东坡路in77停车场入口",
            en: "Dongpo Rd, in77 car park entrance",
            at: p(410.0, 580.0),
            heading: 0.0,
            lines: vec![("in77", None), ("pinghai", None), ("longxiang", None)],
        },
        Sign {
            id: "sg-06",
            zh: "龙翔桥停车场入口",
            en: "Longxiang car park entrance",
            at: p(700.0, 860.0),
            heading: 90.0,
            lines: vec![("longxiang", None), ("pinghai", None)],
        },
    ]
}

/// The arrow for a lot seen from `from` by traffic heading `heading` (compass degrees).
fn arrow(from: P, to: P, heading: f64) -> &'static str {
    let bearing = (to.x - from.x).atan2(to.y - from.y).to_degrees();
    let rel = (bearing - heading + 540.0).rem_euclid(360.0) - 180.0;
    let side = |left, right| if rel < 0.0 { left } else { right };
    match rel.abs() {
        a if a <= 15.0 => "ahead",
        a if a <= 70.0 => side("ahead-left", "ahead-right"),
        a if a <= 150.0 => side("left", "right"),
        _ => "back",
    }
}

// ---------------------------------------------------------------------------------------------
// Holidays
// ---------------------------------------------------------------------------------------------

/// China's 2026 public holidays (State Council schedule), as runs of consecutive days.
const HOLIDAYS: &[(&str, &str, u32, u32, u32)] = &[
    ("元旦 New Year's Day", "2026-01", 1, 3, 31),
    ("春节 Spring Festival", "2026-02", 15, 23, 28),
    ("清明节 Qingming Festival", "2026-04", 4, 6, 30),
    ("劳动节 Labour Day", "2026-05", 1, 5, 31),
    ("端午节 Dragon Boat Festival", "2026-06", 19, 21, 30),
    ("中秋节 Mid-Autumn Festival", "2026-09", 25, 27, 30),
    ("国庆节 National Day", "2026-10", 1, 7, 31),
];

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

fn containing_zones(zs: &[Zone], q: P, margin: f64) -> Vec<usize> {
    (0..zs.len())
        .filter(|&i| inside(q, &zs[i].ring, &zs[i].holes, margin))
        .collect()
}

fn check(zs: &[Zone], bs: &[Building], ls: &[Lot], ds: &[Device], ss: &[Sign]) {
    for z in zs {
        assert!(
            is_convex_ccw(&z.ring),
            "zone {} is not convex and counter-clockwise",
            z.id
        );
        for h in &z.holes {
            assert!(
                signed_area(h) > 0.0,
                "hole of {} is not counter-clockwise",
                z.id
            );
            assert!(
                h.iter().all(|&q| inside(q, &z.ring, &[], 5.0)),
                "hole of {} too near its edge",
                z.id
            );
        }
        assert!((1000..=20000).contains(&z.capacity));
    }
    for i in 0..zs.len() {
        for j in i + 1..zs.len() {
            assert!(
                !convex_overlap(&zs[i].ring, &zs[j].ring),
                "zones {} and {} overlap",
                zs[i].id,
                zs[j].id
            );
        }
    }
    for b in bs {
        for pt in &b.parts {
            assert!(
                is_convex_ccw(&pt.outer),
                "building {} part not convex",
                b.id
            );
            assert!(
                pt.holes.iter().all(|h| signed_area(h) < 0.0),
                "building {} hole not clockwise",
                b.id
            );
            for &q in &pt.outer {
                assert_eq!(
                    containing_zones(zs, q, 5.0),
                    vec![b.zone],
                    "building {} not 5 m inside its zone",
                    b.id
                );
            }
        }
        assert!((2..=30).contains(&b.floors) && (200.0..=3000.0).contains(&b.rated_kw));
    }
    for (i, a) in bs.iter().enumerate() {
        for b in &bs[i + 1..] {
            for pa in &a.parts {
                for pb in &b.parts {
                    assert!(
                        !convex_overlap(&pa.outer, &pb.outer),
                        "buildings {} and {} overlap",
                        a.id,
                        b.id
                    );
                }
            }
        }
    }
    for l in ls {
        for &q in &l.ring {
            assert_eq!(
                containing_zones(zs, q, 5.0),
                vec![l.zone],
                "lot {} not 5 m inside its zone",
                l.id
            );
        }
        if l.kind != "underground" {
            for b in bs {
                assert!(
                    b.parts.iter().all(|pt| !convex_overlap(&pt.outer, &l.ring)),
                    "lot {} overlaps {}",
                    l.id,
                    b.id
                );
            }
        }
        for bay in &l.bays {
            assert!(
                inside(bay.at, &l.ring, &[], 3.0),
                "bay {} {} outside its lot",
                l.id,
                bay.id
            );
        }
        for (lv, cap) in &l.levels {
            assert_eq!(
                l.bays.iter().filter(|b| &b.level == lv).count() as u32,
                *cap
            );
        }
    }
    let mut ids = HashSet::new();
    for d in ds {
        assert!(ids.insert(d.id.clone()), "duplicate device id {}", d.id);
        let q = d.location.expect("every device has a location");
        if d.counter == Some("line") {
            continue;
        }
        let zones = containing_zones(zs, q, 0.5);
        assert_eq!(
            zones.len(),
            1,
            "device {} is not inside exactly one zone",
            d.id
        );
        if let Some(bi) = d.building {
            assert!(
                bs[bi].contains(q, 1.0),
                "device {} outside its building",
                d.id
            );
            if let Some(f) = d.floor {
                assert!(
                    f >= 1 && f as u32 <= bs[bi].floors,
                    "device {} on a floor its building lacks",
                    d.id
                );
            }
        } else if d.kind == "air" {
            assert!(
                bs.iter().all(|b| !b.contains(q, 0.0)),
                "outdoor monitor {} inside a building",
                d.id
            );
        }
        if d.counter == Some("area") {
            assert_eq!(
                zs[zones[0]].id,
                d.zone.as_deref().unwrap(),
                "area counter {} outside its zone",
                d.id
            );
        }
        if let Some(lot) = d.lot {
            let l = ls.iter().find(|l| l.id == lot).unwrap();
            assert!(
                inside(q, &l.ring, &[], 0.5),
                "entrance counter {} not at its lot",
                d.id
            );
        }
    }
    for l in ls {
        for bay in &l.bays {
            if let Some(s) = &bay.sensor {
                assert!(ids.insert(s.clone()), "duplicate device id {s}");
            }
        }
    }
    // Line counters: on a boundary; neighbours linked; district entrances per line-counted zone.
    let mut pairs = HashSet::new();
    let mut from_outside: HashMap<&str, usize> = HashMap::new();
    for d in ds.iter().filter(|d| d.counter == Some("line")) {
        let (en, lv) = (d.enters.as_deref().unwrap(), d.leaves.as_deref().unwrap());
        assert_eq!(d.zone.as_deref(), Some(en));
        let q = d.location.unwrap();
        assert!(
            dist_ring(q, &zs[zone_index(zs, en)].ring) < 0.01,
            "{} not on the edge of {en}",
            d.id
        );
        if lv == "outside" {
            *from_outside.entry(en).or_default() += 1;
        } else {
            assert!(
                dist_ring(q, &zs[zone_index(zs, lv)].ring) < 0.01,
                "{} not on the edge of {lv}",
                d.id
            );
            pairs.insert(if en < lv { (en, lv) } else { (lv, en) });
        }
        assert!(["30s", "60s"].contains(&d.interval));
    }
    for i in 0..zs.len() {
        for j in i + 1..zs.len() {
            if shared_edge(zs, i, j).is_some() {
                let key = if zs[i].id < zs[j].id {
                    (zs[i].id, zs[j].id)
                } else {
                    (zs[j].id, zs[i].id)
                };
                assert!(
                    pairs.contains(&key),
                    "no line counter between {} and {}",
                    zs[i].id,
                    zs[j].id
                );
            }
        }
    }
    for z in zs {
        if z.area_counted {
            assert!(ds
                .iter()
                .any(|d| d.counter == Some("area") && d.zone.as_deref() == Some(z.id)));
        } else {
            assert!(
                from_outside.get(z.id).copied().unwrap_or(0) >= 2,
                "zone {} has fewer than 2 entrances",
                z.id
            );
        }
    }
    for s in ss {
        assert_eq!(
            containing_zones(zs, s.at, 1.0).len(),
            1,
            "sign {} not inside a zone",
            s.id
        );
        assert!((2..=4).contains(&s.lines.len()));
    }
    // Minimums.
    let count = |kind: &str| ds.iter().filter(|d| d.kind == kind).count();
    let bays: usize = ls.iter().map(|l| l.bays.len()).sum();
    assert!(zs.len() >= 8 && bs.len() >= 30 && ls.len() >= 4 && (1500..=1800).contains(&bays));
    assert!(
        count("footfall") >= 40
            && count("air") >= 12
            && count("energy") >= 60
            && count("fire") >= 200
    );
    assert!(ss.len() >= 6);
    for (bi, b) in bs.iter().enumerate() {
        assert!(
            ds.iter()
                .any(|d| d.kind == "energy" && d.building == Some(bi)),
            "{} has no meter",
            b.id
        );
        assert!(
            ds.iter()
                .filter(|d| d.kind == "fire" && d.building == Some(bi))
                .count()
                >= 3,
            "{} lacks detectors",
            b.id
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Writers
// ---------------------------------------------------------------------------------------------

fn ring_toml(r: &[P], indent: &str) -> String {
    let mut s = String::from("[\n");
    for &q in r.iter().chain(std::iter::once(&r[0])) {
        let _ = writeln!(s, "{indent}  {},", fmt_ll(q));
    }
    s + indent + "]"
}

fn names(zh: &str, en: &str) -> String {
    format!("{{ zh = \"{zh}\", en = \"{en}\" }}")
}

fn write_toml(zs: &[Zone], bs: &[Building], ls: &[Lot], ds: &[Device], ss: &[Sign]) -> String {
    let mut s = String::new();
    // Writing into a String cannot fail.
    macro_rules! emit {
        () => {
            s.push('\n')
        };
        ($($arg:tt)*) => {{
            let _ = writeln!(s, $($arg)*);
        }};
    }
    let bays: usize = ls.iter().map(|l| l.bays.len()).sum();
    emit!("# 湖滨商圈 Hubin business district, Hangzhou: the example district.");
    emit!("#");
    emit!("# GENERATED by `cargo run -p district --example gen_hubin` (config/examples/gen_hubin.rs).");
    emit!("# Do not edit by hand: change the generator and run it again.");
    emit!("#");
    emit!("# Coordinates are WGS 84 [lon, lat], plausible but not surveyed. Building footprints, car park");
    emit!("# outlines and the outline of zone `hubin-park` are in hubin.geojson; everything else is here.");
    emit!(
        "# {} zones, {} buildings, {} car parks with {} bays, {} devices (plus {} bay sensors), {} signs.",
        zs.len(),
        bs.len(),
        ls.len(),
        bays,
        ds.len(),
        ls.iter().flat_map(|l| &l.bays).filter(|b| b.sensor.is_some()).count(),
        ss.len()
    );
    emit!();
    emit!("[district]");
    emit!("id = \"hubin\"");
    emit!("name = {}", names("湖滨商圈", "Hubin Business District"));
    emit!("timezone = \"Asia/Shanghai\"");
    emit!("geojson = \"hubin.geojson\"");
    emit!("opening_hours = {{ open = \"10:00\", close = \"22:00\" }}");
    emit!("rebaseline_at = \"04:00\"");
    emit!("# China's 2026 public holidays. The make-up working weekends (调休) are ordinary days here.");
    emit!("holidays = [");
    for &(what, month, first, last, days_in_month) in HOLIDAYS {
        assert!(last <= days_in_month);
        let days: Vec<String> = (first..=last)
            .map(|d| format!("\"{month}-{d:02}\""))
            .collect();
        emit!("  # {what}");
        for chunk in days.chunks(5) {
            emit!("  {},", chunk.join(", "));
        }
    }
    emit!("]");
    emit!();
    emit!("[thresholds]");
    emit!("density = {{ warn = 2.0, alarm = 4.0, critical = 5.0 }}");
    emit!("offline_after_missed = 3");
    emit!("lot_stale_after = \"10min\"");

    emit!();
    emit!("# ---------------------------------------------------------------------------------------------");
    emit!("# Zones. Capacity = safe capacity of the zone's public walking space (streets, squares, open");
    emit!("# mall floors) at about 2 persons/m² of that space, not of the whole block.");
    emit!("# Counted by line counters, except fountain-plaza and in77-bc: area counters count those, each");
    emit!("# covering its own part of the zone, and the gateway sums them.");
    emit!("# ---------------------------------------------------------------------------------------------");
    for z in zs {
        emit!();
        if z.in_geojson {
            emit!("# Outline: the GeoJSON feature \"{}\".", z.id);
        }
        if z.area_counted {
            emit!("# Area-counted: the gateway sums this zone's two area counters (each counts its own part).");
        }
        emit!("[[zones]]");
        emit!("id = \"{}\"", z.id);
        emit!("name = {}", names(z.zh, z.en));
        emit!("capacity = {}", z.capacity);
        if let Some((warn, alarm, critical)) = z.density {
            emit!("# Stricter: steps down to the water and a crowd that gathers for the fountain shows.");
            emit!("density = {{ warn = {warn:.1}, alarm = {alarm:.1}, critical = {critical:.1} }}");
        }
        if !z.in_geojson {
            emit!("outline = {}", ring_toml(&z.ring, ""));
        }
        if !z.holes.is_empty() {
            emit!("# The fountain basin.");
            let holes: Vec<String> = z.holes.iter().map(|h| ring_toml(h, "  ")).collect();
            emit!("holes = [\n  {},\n]", holes.join(",\n  "));
        }
    }

    emit!();
    emit!("# ---------------------------------------------------------------------------------------------");
    emit!("# Buildings. Footprints: the GeoJSON features with the same id; the zone follows from them.");
    emit!("# ---------------------------------------------------------------------------------------------");
    for b in bs {
        emit!();
        emit!("[[buildings]]");
        emit!("id = \"{}\"", b.id);
        if let Some((zh, en)) = b.name {
            emit!("name = {}", names(zh, en));
        }
        emit!("floors = {}", b.floors);
        emit!("height_m = {:.1}", b.height_m);
        emit!("rated_kw = {:.1}", b.rated_kw);
    }

    emit!();
    emit!("# ---------------------------------------------------------------------------------------------");
    emit!("# Car parks. Outlines: the GeoJSON features with the same id. Bay sensors (ps-<lot>-<bay>) are");
    emit!("# declared on their bays; the Dongpo Road surface lot has none and two entrance counters instead.");
    emit!("# ---------------------------------------------------------------------------------------------");
    for l in ls {
        emit!();
        emit!("[[lots]]");
        emit!("id = \"{}\"", l.id);
        emit!("name = {}", names(l.zh, l.en));
        emit!("kind = \"{}\"", l.kind);
        if let Some(st) = l.stale_after {
            emit!("stale_after = \"{st}\"");
        }
        let levels: Vec<String> = l
            .levels
            .iter()
            .map(|(id, c)| format!("  {{ id = \"{id}\", capacity = {c} }},"))
            .collect();
        emit!("levels = [\n{}\n]", levels.join("\n"));
        emit!("bays = [");
        for b in &l.bays {
            let sensor = b
                .sensor
                .as_ref()
                .map(|s| format!(", sensor = \"{s}\""))
                .unwrap_or_default();
            emit!(
                "  {{ id = \"{}\", level = \"{}\", at = {}{sensor} }},",
                b.id,
                b.level,
                fmt_ll(b.at)
            );
        }
        emit!("]");
    }

    emit!();
    emit!("# ---------------------------------------------------------------------------------------------");
    emit!("# Devices. Line counters sit on a boundary: `in` enters `enters` and leaves `leaves` (another");
    emit!("# zone, or outside the district). Area counters count their part of their zone. Indoor devices name");
    emit!("# their building and floor; the zone of the others follows from their location.");
    emit!("# ---------------------------------------------------------------------------------------------");
    let mut section = "";
    for d in ds {
        let title = match (d.kind, d.counter) {
            ("footfall", Some("line")) => "Footfall: line counters",
            ("footfall", _) => "Footfall: area counters",
            ("parking", _) => "Parking: entrance counters of the Dongpo Road car park",
            ("air", _) => "Air quality monitors",
            ("energy", _) => "Energy meters",
            _ => "Smoke/fire detectors (heartbeat every hour)",
        };
        if title != section {
            section = title;
            emit!();
            emit!("# --- {title} ---");
        }
        emit!();
        if let Some(n) = &d.note {
            emit!("# {n}");
        }
        emit!("[[devices]]");
        emit!("id = \"{}\"", d.id);
        emit!("kind = \"{}\"", d.kind);
        if let Some(c) = d.counter {
            emit!("counter = \"{c}\"");
        }
        if let Some(z) = &d.zone {
            emit!("zone = \"{z}\"");
        }
        if let Some(e) = &d.enters {
            emit!("enters = \"{e}\"");
        }
        if let Some(l) = &d.leaves {
            emit!("leaves = \"{l}\"");
        }
        if let Some(l) = d.lot {
            emit!("lot = \"{l}\"");
        }
        if let Some(b) = d.building {
            emit!("building = \"{}\"", bs[b].id);
        }
        if let Some(f) = d.floor {
            emit!("floor = {f}");
        }
        if d.indoor {
            emit!("indoor = true");
        }
        if let Some(q) = d.location {
            emit!("location = {}", fmt_ll(q));
        }
        emit!("interval = \"{}\"", d.interval);
    }

    emit!();
    emit!("# ---------------------------------------------------------------------------------------------");
    emit!(
        "# Parking guidance signs (停车诱导屏). Arrows as seen by the traffic that reads the sign."
    );
    emit!("# ---------------------------------------------------------------------------------------------");
    for sg in ss {
        emit!();
        emit!("[[signs]]");
        emit!("id = \"{}\"", sg.id);
        emit!("name = {}", names(sg.zh, sg.en));
        emit!("location = {}", fmt_ll(sg.at));
        emit!("lines = [");
        for &(lot, label) in &sg.lines {
            let l = ls.iter().find(|l| l.id == lot).expect("sign lot");
            let dir = arrow(sg.at, centroid(&l.ring), sg.heading);
            let label = label
                .map(|(zh, en)| format!(", label = {}", names(zh, en)))
                .unwrap_or_default();
            emit!("  {{ lot = \"{lot}\", arrow = \"{dir}\"{label} }},");
        }
        emit!("]");
    }
    s
}

fn ring_json(r: &[P], three_d: bool) -> String {
    let pts: Vec<String> = r
        .iter()
        .chain(std::iter::once(&r[0]))
        .map(|&q| if three_d { fmt_ll3(q) } else { fmt_ll(q) })
        .collect();
    format!("[{}]", pts.join(", "))
}

fn polygon_json(outer: &[P], holes: &[Vec<P>], three_d: bool) -> String {
    let rings: Vec<String> = std::iter::once(outer)
        .chain(holes.iter().map(|h| h.as_slice()))
        .map(|r| ring_json(r, three_d))
        .collect();
    format!("[{}]", rings.join(", "))
}

fn feature(id: &str, props: &str, geometry: &str) -> String {
    format!("    {{\n      \"type\": \"Feature\",\n      \"id\": \"{id}\",\n      \"properties\": {{ {props} }},\n      \"geometry\": {geometry}\n    }}")
}

fn write_geojson(zs: &[Zone], bs: &[Building], ls: &[Lot]) -> String {
    let mut feats = Vec::new();
    for z in zs.iter().filter(|z| z.in_geojson) {
        let props = format!(
            "\"kind\": \"zone\", \"id\": \"{}\", \"name\": \"{}\", \"name_en\": \"{}\", \"source\": \"{OSM}\"",
            z.id, z.zh, z.en
        );
        let geom = format!(
            "{{ \"type\": \"Polygon\", \"coordinates\": {} }}",
            polygon_json(&z.ring, &z.holes, false)
        );
        feats.push(feature(z.id, &props, &geom));
    }
    for l in ls {
        let three_d = l.source == SURVEY;
        let props = format!(
            "\"kind\": \"lot\", \"id\": \"{}\", \"name\": \"{}\", \"parking\": \"{}\", \"levels\": {}, \"source\": \"{}\"",
            l.id,
            l.zh,
            l.kind,
            l.levels.len(),
            l.source
        );
        let geom = format!(
            "{{ \"type\": \"Polygon\", \"coordinates\": {} }}",
            polygon_json(&l.ring, &[], three_d)
        );
        feats.push(feature(l.id, &props, &geom));
    }
    for b in bs {
        let three_d = b.source == SURVEY;
        let name = b
            .name
            .map(|(zh, _)| format!("\"{zh}\""))
            .unwrap_or_else(|| "null".into());
        let props = format!(
            "\"kind\": \"building\", \"id\": \"{}\", \"name\": {name}, \"building:levels\": \"{}\", \"height\": {:.1}, \"source\": \"{}\"",
            b.id, b.floors, b.height_m, b.source
        );
        let geom = if b.parts.len() > 1 {
            let polys: Vec<String> = b
                .parts
                .iter()
                .map(|pt| polygon_json(&pt.outer, &pt.holes, three_d))
                .collect();
            format!(
                "{{ \"type\": \"MultiPolygon\", \"coordinates\": [{}] }}",
                polys.join(", ")
            )
        } else {
            let pt = &b.parts[0];
            format!(
                "{{ \"type\": \"Polygon\", \"coordinates\": {} }}",
                polygon_json(&pt.outer, &pt.holes, three_d)
            )
        };
        feats.push(feature(&b.id, &props, &geom));
    }
    format!(
        "{{\n  \"type\": \"FeatureCollection\",\n  \"name\": \"hubin\",\n  \"crs\": {{ \"type\": \"name\", \"properties\": {{ \"name\": \"urn:ogc:def:crs:OGC:1.3:CRS84\" }} }},\n  \"features\": [\n{}\n  ]\n}}\n",
        feats.join(",\n")
    )
}

fn main() {
    let out_dir = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => match option_env!("CARGO_MANIFEST_DIR") {
            Some(config) => PathBuf::from(config).join("districts"),
            None => PathBuf::from("config/districts"),
        },
    };
    let mut rng = Rng(0x4855_4249_4E00_2026); // "HUBIN" 2026
    let zs = zones();
    let bs = buildings(&zs, &mut rng);
    let ls = lots(&zs);
    let mut ds = footfall(&zs);
    ds.extend(entrance_counters());
    ds.extend(air(&bs, &mut rng));
    ds.extend(energy(&bs, &mut rng));
    ds.extend(fire(&bs, &mut rng));
    let ss = signs();
    check(&zs, &bs, &ls, &ds, &ss);

    std::fs::create_dir_all(&out_dir).expect("create output directory");
    let toml = write_toml(&zs, &bs, &ls, &ds, &ss);
    let geojson = write_geojson(&zs, &bs, &ls);
    for (name, text) in [("hubin.toml", &toml), ("hubin.geojson", &geojson)] {
        let path = out_dir.join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        println!("wrote {} ({} bytes)", path.display(), text.len());
    }
    let count = |kind: &str| ds.iter().filter(|d| d.kind == kind).count();
    println!(
        "{} zones, {} buildings, {} lots, {} bays ({} with sensors), footfall {} ({} line, {} area), air {}, energy {}, fire {}, parking entrance {}, signs {}",
        zs.len(),
        bs.len(),
        ls.len(),
        ls.iter().map(|l| l.bays.len()).sum::<usize>(),
        ls.iter().flat_map(|l| &l.bays).filter(|b| b.sensor.is_some()).count(),
        count("footfall"),
        ds.iter().filter(|d| d.counter == Some("line")).count(),
        ds.iter().filter(|d| d.counter == Some("area")).count(),
        count("air"),
        count("energy"),
        count("fire"),
        count("parking"),
        ss.len()
    );
}
