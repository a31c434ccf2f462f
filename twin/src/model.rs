//! The district as the twin draws it: every geometry projected once, through the system's one
//! projection ([`district::frame::LocalFrame`]), into local metres, plus id lookups.
//!
//! Map `x` (metres east) is Bevy's `+X`, map `y` (metres north) is Bevy's `-Z`, and height is
//! `+Y`: [`world`] is the only place that mapping is written. Everything here is plain data with
//! no Bevy systems, so it is unit-tested directly.

use std::collections::HashMap;

use bevy::math::{Vec2, Vec3};
use district::{DeviceKind, District, LotKind, Names, Role};
use geo::{MultiPolygon, Polygon};

/// Local east/north metres and a height to a Bevy world position.
pub fn world(p: Vec2, height: f32) -> Vec3 {
    Vec3::new(p.x, height, -p.y)
}

/// A world position back to local east/north metres.
pub fn local(w: Vec3) -> Vec2 {
    Vec2::new(w.x, -w.z)
}

/// A polygon in local metres: exterior counter-clockwise, holes clockwise, rings open (the
/// closing point is not repeated).
#[derive(Debug, Clone, PartialEq)]
pub struct Poly {
    /// Outer ring.
    pub exterior: Vec<Vec2>,
    /// Holes.
    pub holes: Vec<Vec<Vec2>>,
}

impl Poly {
    /// Every ring, exterior first.
    pub fn rings(&self) -> impl Iterator<Item = &Vec<Vec2>> {
        std::iter::once(&self.exterior).chain(self.holes.iter())
    }

    /// Whether a point is inside (holes excluded; boundary points may go either way).
    pub fn contains(&self, p: Vec2) -> bool {
        ring_contains(&self.exterior, p) && !self.holes.iter().any(|h| ring_contains(h, p))
    }

    /// Area in m² (holes excluded).
    pub fn area(&self) -> f32 {
        signed_area(&self.exterior).abs()
            - self.holes.iter().map(|h| signed_area(h).abs()).sum::<f32>()
    }
}

/// The signed area of an open ring (positive when counter-clockwise).
pub fn signed_area(ring: &[Vec2]) -> f32 {
    let n = ring.len();
    let mut a = 0.0;
    for i in 0..n {
        let p = ring[i];
        let q = ring[(i + 1) % n];
        a += p.x * q.y - q.x * p.y;
    }
    a * 0.5
}

/// Even-odd ray casting.
pub fn ring_contains(ring: &[Vec2], p: Vec2) -> bool {
    let n = ring.len();
    let mut inside = false;
    let mut j = n.wrapping_sub(1);
    for i in 0..n {
        let (a, b) = (ring[i], ring[j]);
        if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Axis-aligned bounds in local metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// South-west corner.
    pub min: Vec2,
    /// North-east corner.
    pub max: Vec2,
}

impl Bounds {
    /// Empty bounds (grow them with [`Bounds::add`]).
    pub fn empty() -> Self {
        Bounds {
            min: Vec2::splat(f32::INFINITY),
            max: Vec2::splat(f32::NEG_INFINITY),
        }
    }
    /// Grows to include a point.
    pub fn add(&mut self, p: Vec2) {
        self.min = self.min.min(p);
        self.max = self.max.max(p);
    }
    /// Centre.
    pub fn center(&self) -> Vec2 {
        (self.min + self.max) * 0.5
    }
    /// Width and depth.
    pub fn size(&self) -> Vec2 {
        (self.max - self.min).max(Vec2::ZERO)
    }
    /// Whether anything was added.
    pub fn is_empty(&self) -> bool {
        self.min.x > self.max.x
    }
}

/// A zone.
#[derive(Debug, Clone)]
pub struct ZoneGeo {
    /// Zone id.
    pub id: String,
    /// Names.
    pub names: Names,
    /// Geometry.
    pub polys: Vec<Poly>,
    /// A point well inside (for its label, its beacon and tests).
    pub anchor: Vec2,
    /// Bounds.
    pub bounds: Bounds,
    /// Safe capacity.
    pub capacity: u32,
    /// Area, m².
    pub area_m2: f64,
    /// Density thresholds (its critical density is the top of its heat scale).
    pub density: district::DensityThresholds,
}

/// A building.
#[derive(Debug, Clone)]
pub struct BuildingGeo {
    /// Building id.
    pub id: String,
    /// Names.
    pub names: Names,
    /// Zone index.
    pub zone: usize,
    /// Footprint.
    pub polys: Vec<Poly>,
    /// Height, m.
    pub height: f32,
    /// A point inside the footprint.
    pub anchor: Vec2,
    /// Rated load, kW.
    pub rated_kw: Option<f64>,
}

/// One bay position; bays of different levels at the same spot share a [`BaySpot`].
#[derive(Debug, Clone, PartialEq)]
pub struct BaySpot {
    /// Centre, local metres.
    pub at: Vec2,
    /// Index into the lot's bays (the `states` string order), one per level present here,
    /// in level order.
    pub bays: Vec<usize>,
}

/// A car park.
#[derive(Debug, Clone)]
pub struct LotGeo {
    /// Lot id.
    pub id: String,
    /// Names.
    pub names: Names,
    /// Surface, underground, multi-storey.
    pub kind: LotKind,
    /// Zone index.
    pub zone: usize,
    /// Outline.
    pub polys: Vec<Poly>,
    /// A point inside.
    pub anchor: Vec2,
    /// Spaces.
    pub capacity: u32,
    /// Level ids.
    pub levels: Vec<String>,
    /// Bay spots.
    pub spots: Vec<BaySpot>,
    /// Number of bays (length of the `states` string).
    pub bay_count: usize,
    /// Bay size (width east-west, depth north-south), m.
    pub bay_size: Vec2,
}

/// A device with a position.
#[derive(Debug, Clone)]
pub struct DeviceGeo {
    /// Device id.
    pub id: String,
    /// Kind.
    pub kind: DeviceKind,
    /// Position.
    pub at: Vec2,
    /// Height of its marker (top of its building for indoor devices).
    pub height: f32,
    /// Indoor air monitor.
    pub indoor: bool,
}

/// The whole district, projected.
#[derive(Debug, Clone)]
pub struct Layout {
    /// District id.
    pub id: String,
    /// Names.
    pub names: Names,
    /// Zones.
    pub zones: Vec<ZoneGeo>,
    /// Buildings.
    pub buildings: Vec<BuildingGeo>,
    /// Lots.
    pub lots: Vec<LotGeo>,
    /// Devices with a known position (bay sensors excluded: the bays show them).
    pub devices: Vec<DeviceGeo>,
    /// Guidance signs (id, position).
    pub signs: Vec<(String, Vec2)>,
    /// Bounds of everything.
    pub bounds: Bounds,
    /// Time zone for the clock.
    pub timezone: chrono_tz::Tz,
    zone_ix: HashMap<String, usize>,
    building_ix: HashMap<String, usize>,
    lot_ix: HashMap<String, usize>,
    device_ix: HashMap<String, usize>,
}

impl Layout {
    /// Projects a district.
    pub fn new(d: &District) -> Self {
        let f = &d.frame;
        let proj = |mp: &MultiPolygon<f64>| -> Vec<Poly> {
            mp.0.iter().map(|p| project_polygon(f, p)).collect()
        };
        let pt = |p: geo::Point<f64>| {
            let (x, y) = f.to_xy(p.x(), p.y());
            Vec2::new(x as f32, y as f32)
        };
        let mut bounds = Bounds::empty();
        let zones: Vec<ZoneGeo> = d
            .zones
            .iter()
            .map(|z| {
                let polys = proj(&z.geometry);
                let b = poly_bounds(&polys);
                bounds.add(b.min);
                bounds.add(b.max);
                ZoneGeo {
                    id: z.id.clone(),
                    names: z.names.clone(),
                    anchor: interior_point(&polys),
                    bounds: b,
                    polys,
                    capacity: z.capacity,
                    area_m2: z.area_m2,
                    density: z.density,
                }
            })
            .collect();
        let buildings: Vec<BuildingGeo> = d
            .buildings
            .iter()
            .map(|b| {
                let polys = proj(&b.footprint);
                let bb = poly_bounds(&polys);
                bounds.add(bb.min);
                bounds.add(bb.max);
                BuildingGeo {
                    id: b.id.clone(),
                    names: b.names.clone(),
                    zone: b.zone,
                    anchor: interior_point(&polys),
                    polys,
                    height: b.height_m.max(1.0) as f32,
                    rated_kw: b.rated_kw,
                }
            })
            .collect();
        let lots: Vec<LotGeo> = d
            .lots
            .iter()
            .map(|l| {
                let polys = proj(&l.outline);
                let positions: Vec<(Vec2, usize)> =
                    l.bays.iter().map(|b| (pt(b.at), b.level)).collect();
                let spots = group_spots(&positions);
                let bay_size = bay_size(&spots);
                LotGeo {
                    id: l.id.clone(),
                    names: l.names.clone(),
                    kind: l.kind,
                    zone: l.zone,
                    anchor: interior_point(&polys),
                    polys,
                    capacity: l.capacity,
                    levels: l.levels.iter().map(|v| v.id.clone()).collect(),
                    spots,
                    bay_count: l.bays.len(),
                    bay_size,
                }
            })
            .collect();
        let devices: Vec<DeviceGeo> = d
            .devices
            .iter()
            .filter(|dev| !matches!(dev.role, Role::Bay { .. }))
            .filter_map(|dev| {
                let at = pt(dev.location?);
                let height = dev.building.map(|b| buildings[b].height).unwrap_or(0.0);
                Some(DeviceGeo {
                    id: dev.id.clone(),
                    kind: dev.kind,
                    at,
                    height,
                    indoor: matches!(dev.role, Role::Air { indoor: true }),
                })
            })
            .collect();
        let signs = d
            .signs
            .iter()
            .map(|s| (s.id.clone(), pt(s.location)))
            .collect();
        if bounds.is_empty() {
            bounds.add(Vec2::splat(-100.0));
            bounds.add(Vec2::splat(100.0));
        }
        let mut layout = Layout {
            id: d.id.clone(),
            names: d.names.clone(),
            zones,
            buildings,
            lots,
            devices,
            signs,
            bounds,
            timezone: d.calendar.timezone,
            zone_ix: HashMap::new(),
            building_ix: HashMap::new(),
            lot_ix: HashMap::new(),
            device_ix: HashMap::new(),
        };
        layout.reindex();
        layout
    }

    fn reindex(&mut self) {
        fn ix<'a>(ids: impl Iterator<Item = &'a String>) -> HashMap<String, usize> {
            let mut m = HashMap::new();
            for (i, id) in ids.enumerate() {
                m.entry(id.clone()).or_insert(i);
            }
            m
        }
        self.zone_ix = ix(self.zones.iter().map(|z| &z.id));
        self.building_ix = ix(self.buildings.iter().map(|b| &b.id));
        self.lot_ix = ix(self.lots.iter().map(|l| &l.id));
        self.device_ix = ix(self.devices.iter().map(|d| &d.id));
    }

    /// Zone index by id.
    pub fn zone(&self, id: &str) -> Option<usize> {
        self.zone_ix.get(id).copied()
    }
    /// Building index by id.
    pub fn building(&self, id: &str) -> Option<usize> {
        self.building_ix.get(id).copied()
    }
    /// Lot index by id.
    pub fn lot(&self, id: &str) -> Option<usize> {
        self.lot_ix.get(id).copied()
    }
    /// Device index by id.
    pub fn device(&self, id: &str) -> Option<usize> {
        self.device_ix.get(id).copied()
    }

    /// `n` copies of this district side by side in a square-ish grid (for the benchmark of a
    /// larger district): copy `k` ≥ 2 gets every id suffixed `-t{k:02}` and its geometry moved
    /// by whole district widths plus a street.
    pub fn tiled(&self, n: usize) -> Layout {
        if n <= 1 {
            return self.clone();
        }
        let cols = (n as f32).sqrt().ceil() as usize;
        let step = self.bounds.size() + Vec2::splat(60.0);
        let mut out = self.clone();
        for k in 1..n {
            let off = Vec2::new((k % cols) as f32 * step.x, -((k / cols) as f32) * step.y);
            let sfx = format!("-t{:02}", k + 1);
            let zone0 = out.zones.len();
            let shift = |polys: &[Poly]| -> Vec<Poly> {
                polys
                    .iter()
                    .map(|p| Poly {
                        exterior: p.exterior.iter().map(|v| *v + off).collect(),
                        holes: p
                            .holes
                            .iter()
                            .map(|h| h.iter().map(|v| *v + off).collect())
                            .collect(),
                    })
                    .collect()
            };
            for z in &self.zones {
                let mut z2 = z.clone();
                z2.id.push_str(&sfx);
                z2.polys = shift(&z.polys);
                z2.anchor += off;
                z2.bounds = Bounds {
                    min: z.bounds.min + off,
                    max: z.bounds.max + off,
                };
                out.zones.push(z2);
            }
            for b in &self.buildings {
                let mut b2 = b.clone();
                b2.id.push_str(&sfx);
                b2.polys = shift(&b.polys);
                b2.anchor += off;
                b2.zone += zone0;
                out.buildings.push(b2);
            }
            for l in &self.lots {
                let mut l2 = l.clone();
                l2.id.push_str(&sfx);
                l2.polys = shift(&l.polys);
                l2.anchor += off;
                l2.zone += zone0;
                for s in l2.spots.iter_mut() {
                    s.at += off;
                }
                out.lots.push(l2);
            }
            for dv in &self.devices {
                let mut d2 = dv.clone();
                d2.id.push_str(&sfx);
                d2.at += off;
                out.devices.push(d2);
            }
            for (id, at) in &self.signs {
                out.signs.push((format!("{id}{sfx}"), *at + off));
            }
            out.bounds.add(self.bounds.min + off);
            out.bounds.add(self.bounds.max + off);
        }
        out.reindex();
        out
    }
}

fn project_polygon(f: &district::frame::LocalFrame, p: &Polygon<f64>) -> Poly {
    let ring = |ls: &geo::LineString<f64>, ccw: bool| -> Vec<Vec2> {
        let mut v: Vec<Vec2> =
            ls.0.iter()
                .map(|c| {
                    let (x, y) = f.to_xy(c.x, c.y);
                    Vec2::new(x as f32, y as f32)
                })
                .collect();
        if v.len() > 1 && v.first() == v.last() {
            v.pop();
        }
        if (signed_area(&v) > 0.0) != ccw {
            v.reverse();
        }
        v
    };
    Poly {
        exterior: ring(p.exterior(), true),
        holes: p.interiors().iter().map(|h| ring(h, false)).collect(),
    }
}

/// Bounds of polygons' outer rings.
pub fn poly_bounds(polys: &[Poly]) -> Bounds {
    let mut b = Bounds::empty();
    for p in polys {
        for v in &p.exterior {
            b.add(*v);
        }
    }
    b
}

/// A point inside the largest polygon, as far from its edges as a coarse grid search finds
/// (the area centroid when that is inside and clear of holes). Labels, beacons and the capture
/// test's sample points use it.
pub fn interior_point(polys: &[Poly]) -> Vec2 {
    let Some(p) = polys.iter().max_by(|a, b| a.area().total_cmp(&b.area())) else {
        return Vec2::ZERO;
    };
    let mut b = Bounds::empty();
    for v in &p.exterior {
        b.add(*v);
    }
    let mut best = (f32::NEG_INFINITY, b.center());
    let n = 24;
    for i in 0..=n {
        for j in 0..=n {
            let q = b.min + b.size() * Vec2::new(i as f32 / n as f32, j as f32 / n as f32);
            if !p.contains(q) {
                continue;
            }
            let d = p
                .rings()
                .map(|r| ring_distance(r, q))
                .fold(f32::INFINITY, f32::min);
            if d > best.0 {
                best = (d, q);
            }
        }
    }
    best.1
}

/// Distance from a point to a ring's edges.
pub fn ring_distance(ring: &[Vec2], p: Vec2) -> f32 {
    let n = ring.len();
    (0..n)
        .map(|i| segment_distance(ring[i], ring[(i + 1) % n], p))
        .fold(f32::INFINITY, f32::min)
}

fn segment_distance(a: Vec2, b: Vec2, p: Vec2) -> f32 {
    let ab = b - a;
    let t = if ab.length_squared() > 0.0 {
        ((p - a).dot(ab) / ab.length_squared()).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (a + ab * t).distance(p)
}

/// Groups bays at the same spot (within 0.3 m), keeping the district-file order of spots and
/// level order within a spot.
pub fn group_spots(bays: &[(Vec2, usize)]) -> Vec<BaySpot> {
    let key = |p: Vec2| ((p.x / 0.3).round() as i64, (p.y / 0.3).round() as i64);
    let mut index: HashMap<(i64, i64), usize> = HashMap::new();
    let mut spots: Vec<BaySpot> = Vec::new();
    for (i, (at, _)) in bays.iter().enumerate() {
        let k = key(*at);
        match index.get(&k) {
            Some(&s) => spots[s].bays.push(i),
            None => {
                index.insert(k, spots.len());
                spots.push(BaySpot {
                    at: *at,
                    bays: vec![i],
                });
            }
        }
    }
    for s in spots.iter_mut() {
        s.bays.sort_by_key(|&b| (bays[b].1, b));
    }
    spots
}

/// A bay's drawn size from the spacing of its neighbours: width is 90 % of the median
/// nearest-neighbour distance (1.5–3.0 m), depth twice that (at most 5.5 m).
pub fn bay_size(spots: &[BaySpot]) -> Vec2 {
    if spots.len() < 2 {
        return Vec2::new(2.5, 5.0);
    }
    // Sample at most 200 spots against all (quadratic but small).
    let step = (spots.len() / 200).max(1);
    let mut nn: Vec<f32> = spots
        .iter()
        .step_by(step)
        .map(|s| {
            spots
                .iter()
                .filter(|o| o.at != s.at)
                .map(|o| o.at.distance(s.at))
                .fold(f32::INFINITY, f32::min)
        })
        .filter(|d| d.is_finite())
        .collect();
    nn.sort_by(f32::total_cmp);
    let med = nn.get(nn.len() / 2).copied().unwrap_or(2.5);
    let w = (med * 0.9).clamp(1.5, 3.0);
    Vec2::new(w, (2.0 * w).min(5.5))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hubin() -> District {
        district::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/districts/hubin.toml"
        ))
        .unwrap()
    }

    #[test]
    fn map_east_is_plus_x_and_north_is_minus_z() {
        let w = world(Vec2::new(10.0, 20.0), 3.0);
        assert_eq!(w, Vec3::new(10.0, 3.0, -20.0));
        assert_eq!(local(w), Vec2::new(10.0, 20.0));
    }

    #[test]
    fn layout_uses_the_district_frame() {
        let d = hubin();
        let l = Layout::new(&d);
        // The first zone's first vertex, projected by the district's own frame.
        let c = d.zones[0].geometry.0[0].exterior().0[0];
        let (x, y) = d.frame.to_xy(c.x, c.y);
        let p = &l.zones[0].polys[0];
        assert!(p
            .exterior
            .iter()
            .any(|v| (v.x - x as f32).abs() < 1e-3 && (v.y - y as f32).abs() < 1e-3));
        // Areas agree with the geodesic areas within 1 %.
        for (z, zg) in d.zones.iter().zip(&l.zones) {
            let a: f32 = zg.polys.iter().map(Poly::area).sum();
            assert!(
                ((a as f64) - z.area_m2).abs() / z.area_m2 < 0.01,
                "{} {a} vs {}",
                z.id,
                z.area_m2
            );
        }
        // About 1.0 km × 1.16 km.
        let s = l.bounds.size();
        assert!(
            (900.0..1100.0).contains(&s.x) && (1050.0..1250.0).contains(&s.y),
            "{s}"
        );
    }

    #[test]
    fn rings_are_normalised_and_anchors_are_inside() {
        let l = Layout::new(&hubin());
        for z in &l.zones {
            for p in &z.polys {
                assert!(signed_area(&p.exterior) > 0.0);
                for h in &p.holes {
                    assert!(signed_area(h) < 0.0);
                }
            }
            assert!(z.polys.iter().any(|p| p.contains(z.anchor)), "{}", z.id);
        }
        let plaza = &l.zones[l.zone("fountain-plaza").unwrap()];
        assert_eq!(plaza.polys[0].holes.len(), 1);
        // The anchor keeps clear of the basin.
        assert!(!ring_contains(&plaza.polys[0].holes[0], plaza.anchor));
        for b in &l.buildings {
            assert!(b.polys.iter().any(|p| p.contains(b.anchor)), "{}", b.id);
        }
    }

    #[test]
    fn bays_of_stacked_levels_share_spots_in_level_order() {
        let l = Layout::new(&hubin());
        let p = &l.lots[l.lot("pinghai").unwrap()];
        assert_eq!(p.bay_count, 450);
        assert_eq!(p.spots.len(), 90);
        assert!(p.spots.iter().all(|s| s.bays.len() == 5));
        assert_eq!(p.spots[0].bays, vec![0, 90, 180, 270, 360]);
        assert!((2.0..3.0).contains(&p.bay_size.x), "{}", p.bay_size);
        let dongpo = &l.lots[l.lot("dongpo").unwrap()];
        assert_eq!(dongpo.spots.len(), 120);
    }

    #[test]
    fn tiling_makes_distinct_ids_and_disjoint_copies() {
        let l = Layout::new(&hubin());
        let t = l.tiled(10);
        assert_eq!(t.zones.len(), 10 * l.zones.len());
        assert_eq!(t.buildings.len(), 10 * l.buildings.len());
        assert!(t.zone("hubin-road-t10").is_some());
        let b = t.buildings.iter().find(|b| b.id == "b05-t03").unwrap();
        assert!(t.zones[b.zone].id.ends_with("-t03"));
        assert!(t.bounds.size().x > 3.0 * l.bounds.size().x);
    }

    #[test]
    fn point_in_polygon_respects_holes() {
        let sq = |s: f32| {
            vec![
                Vec2::new(-s, -s),
                Vec2::new(s, -s),
                Vec2::new(s, s),
                Vec2::new(-s, s),
            ]
        };
        let mut hole = sq(1.0);
        hole.reverse();
        let p = Poly {
            exterior: sq(3.0),
            holes: vec![hole],
        };
        assert!(p.contains(Vec2::new(2.0, 0.0)));
        assert!(!p.contains(Vec2::ZERO));
        assert!(!p.contains(Vec2::new(4.0, 0.0)));
        assert!((p.area() - 32.0).abs() < 1e-4);
        let a = interior_point(&[p.clone()]);
        assert!(p.contains(a));
        assert!(a.length() > 1.5, "{a}");
    }
}
