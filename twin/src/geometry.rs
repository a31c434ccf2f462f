//! Mesh data from projected polygons: flat areas (triangulated with holes by `geo`'s earcut),
//! extruded buildings, light fences along zone edges, and bay quads. Plain vectors here; one
//! function turns them into a Bevy [`Mesh`].

use bevy::asset::RenderAssetUsages;
use bevy::math::{Vec2, Vec3};
use bevy::mesh::{Indices, Mesh, PrimitiveTopology};
use geo::TriangulateEarcut;

use crate::model::{world, Poly};

/// Triangles with per-vertex normals (and colours, when set).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeshData {
    /// Positions (Bevy world space).
    pub positions: Vec<[f32; 3]>,
    /// Normals.
    pub normals: Vec<[f32; 3]>,
    /// Linear RGBA per vertex (empty: none).
    pub colors: Vec<[f32; 4]>,
    /// Triangle list.
    pub indices: Vec<u32>,
}

impl MeshData {
    /// Adds a triangle facing `n` (the winding is fixed so its front face is on `n`'s side).
    pub fn tri(&mut self, a: Vec3, b: Vec3, c: Vec3, n: Vec3) {
        let base = self.positions.len() as u32;
        let (b, c) = if (b - a).cross(c - a).dot(n) >= 0.0 {
            (b, c)
        } else {
            (c, b)
        };
        for p in [a, b, c] {
            self.positions.push(p.to_array());
            self.normals.push(n.to_array());
        }
        self.indices.extend([base, base + 1, base + 2]);
    }

    /// Adds a quad `a b c d` (in order around it) facing `n`.
    pub fn quad(&mut self, a: Vec3, b: Vec3, c: Vec3, d: Vec3, n: Vec3) {
        self.tri(a, b, c, n);
        self.tri(a, c, d, n);
    }

    /// Appends another mesh.
    pub fn extend(&mut self, o: &MeshData) {
        let base = self.positions.len() as u32;
        self.positions.extend_from_slice(&o.positions);
        self.normals.extend_from_slice(&o.normals);
        self.colors.extend_from_slice(&o.colors);
        self.indices.extend(o.indices.iter().map(|i| i + base));
    }

    /// Number of triangles.
    pub fn triangles(&self) -> usize {
        self.indices.len() / 3
    }

    /// Total area of the triangles facing up (m²).
    pub fn up_area(&self) -> f32 {
        self.indices
            .chunks(3)
            .map(|t| {
                let [a, b, c] = [0, 1, 2].map(|k| Vec3::from_array(self.positions[t[k] as usize]));
                let n = (b - a).cross(c - a);
                if n.y > 0.0 {
                    n.length() * 0.5
                } else {
                    0.0
                }
            })
            .sum()
    }

    /// The Bevy mesh (kept in the main world too when `keep` is set, so colours can be changed).
    pub fn into_mesh(self, keep: bool) -> Mesh {
        let usage = if keep {
            RenderAssetUsages::default()
        } else {
            RenderAssetUsages::RENDER_WORLD
        };
        let mut m = Mesh::new(PrimitiveTopology::TriangleList, usage)
            .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, self.positions)
            .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, self.normals);
        if !self.colors.is_empty() {
            m.insert_attribute(Mesh::ATTRIBUTE_COLOR, self.colors);
        }
        m.with_inserted_indices(Indices::U32(self.indices))
    }
}

/// Triangulates a polygon (with its holes) into local-metre triangles.
pub fn triangulate(p: &Poly) -> Vec<[Vec2; 3]> {
    let close = |r: &Vec<Vec2>| -> geo::LineString<f64> {
        let mut c: Vec<geo::Coord<f64>> = r
            .iter()
            .map(|v| geo::coord! { x: v.x as f64, y: v.y as f64 })
            .collect();
        if let Some(f) = c.first().copied() {
            c.push(f);
        }
        geo::LineString(c)
    };
    if p.exterior.len() < 3 {
        return Vec::new();
    }
    let gp = geo::Polygon::new(
        close(&p.exterior),
        p.holes.iter().filter(|h| h.len() >= 3).map(close).collect(),
    );
    let raw = gp.earcut_triangles_raw();
    raw.triangle_indices
        .chunks(3)
        .filter(|t| t.len() == 3)
        .map(|t| {
            t.iter()
                .map(|&i| Vec2::new(raw.vertices[i][0] as f32, raw.vertices[i][1] as f32))
        })
        .map(|mut it| [it.next().unwrap(), it.next().unwrap(), it.next().unwrap()])
        .collect()
}

/// Flat, upward-facing areas at a height.
pub fn flat(polys: &[Poly], height: f32) -> MeshData {
    let mut m = MeshData::default();
    for p in polys {
        for [a, b, c] in triangulate(p) {
            m.tri(
                world(a, height),
                world(b, height),
                world(c, height),
                Vec3::Y,
            );
        }
    }
    m
}

/// A prism: roof at `top`, walls down to `bottom`, outward normals (flat shaded).
pub fn extrude(polys: &[Poly], bottom: f32, top: f32) -> MeshData {
    let mut m = flat(polys, top);
    for p in polys {
        for ring in p.rings() {
            walls(&mut m, ring, bottom, top);
        }
    }
    m
}

/// Vertical walls along a ring (exterior counter-clockwise or hole clockwise), facing away from
/// the solid: the right-hand side of each edge.
pub fn walls(m: &mut MeshData, ring: &[Vec2], bottom: f32, top: f32) {
    let n = ring.len();
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        let d = b - a;
        if d.length_squared() < 1e-6 {
            continue;
        }
        let out = Vec2::new(d.y, -d.x).normalize();
        let nw = world(out, 0.0);
        m.quad(
            world(a, bottom),
            world(b, bottom),
            world(b, top),
            world(a, top),
            nw,
        );
    }
}

/// A fence of light along the outer rings: walls seen from both sides (one quad each way).
pub fn fence(polys: &[Poly], bottom: f32, top: f32) -> MeshData {
    let mut m = MeshData::default();
    for p in polys {
        walls(&mut m, &p.exterior, bottom, top);
        let mut rev = p.exterior.clone();
        rev.reverse();
        walls(&mut m, &rev, bottom, top);
    }
    m
}

/// Flat bands `width` wide just inside every ring (the zone borders seen from above).
pub fn ribbon(polys: &[Poly], width: f32, height: f32) -> MeshData {
    let mut m = MeshData::default();
    for p in polys {
        for ring in p.rings() {
            let n = ring.len();
            for i in 0..n {
                let (a, b) = (ring[i], ring[(i + 1) % n]);
                let d = b - a;
                if d.length_squared() < 1e-6 {
                    continue;
                }
                // Left of the direction of travel is inside the solid for a counter-clockwise
                // exterior and for a clockwise hole alike.
                let inward = Vec2::new(-d.y, d.x).normalize() * width;
                m.quad(
                    world(a, height),
                    world(b, height),
                    world(b + inward, height),
                    world(a + inward, height),
                    Vec3::Y,
                );
            }
        }
    }
    m
}

/// Bay quads: one per spot, split east-west into one strip per level bay there, each coloured
/// by `color(bay index)`. Facing up at `height`.
pub fn bay_quads(
    spots: &[crate::model::BaySpot],
    size: Vec2,
    height: f32,
    mut color: impl FnMut(usize) -> [f32; 4],
) -> MeshData {
    let mut m = MeshData::default();
    for s in spots {
        let n = s.bays.len().max(1) as f32;
        let w = size.x / n;
        for (k, &bay) in s.bays.iter().enumerate() {
            let x0 = s.at.x - size.x * 0.5 + w * k as f32;
            let (x0, x1) = (x0 + 0.06, x0 + w - 0.06);
            let (y0, y1) = (s.at.y - size.y * 0.5, s.at.y + size.y * 0.5);
            let c = color(bay);
            m.quad(
                world(Vec2::new(x0, y0), height),
                world(Vec2::new(x1, y0), height),
                world(Vec2::new(x1, y1), height),
                world(Vec2::new(x0, y1), height),
                Vec3::Y,
            );
            m.colors.extend([c; 6]);
        }
    }
    m
}

/// Recolours the strips of [`bay_quads`] in place (same spot order, six vertices per strip).
pub fn recolor_bays(
    colors: &mut [[f32; 4]],
    spots: &[crate::model::BaySpot],
    mut color: impl FnMut(usize) -> [f32; 4],
) {
    let mut v = 0;
    for s in spots {
        for &bay in &s.bays {
            let c = color(bay);
            for slot in colors.iter_mut().skip(v).take(6) {
                *slot = c;
            }
            v += 6;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BaySpot, Layout};

    fn square(c: Vec2, s: f32) -> Vec<Vec2> {
        vec![
            c + Vec2::new(-s, -s),
            c + Vec2::new(s, -s),
            c + Vec2::new(s, s),
            c + Vec2::new(-s, s),
        ]
    }

    #[test]
    fn triangulation_covers_the_area_without_the_hole() {
        let mut hole = square(Vec2::ZERO, 2.0);
        hole.reverse();
        let p = Poly {
            exterior: square(Vec2::ZERO, 5.0),
            holes: vec![hole],
        };
        let m = flat(&[p], 0.0);
        assert!(
            (m.up_area() - (100.0 - 16.0)).abs() < 1e-3,
            "{}",
            m.up_area()
        );
        assert!(m.normals.iter().all(|n| *n == [0.0, 1.0, 0.0]));
    }

    #[test]
    fn extruded_walls_face_outwards_and_into_holes() {
        let mut hole = square(Vec2::ZERO, 1.0);
        hole.reverse();
        let p = Poly {
            exterior: square(Vec2::ZERO, 4.0),
            holes: vec![hole],
        };
        let m = extrude(&[p], 0.0, 10.0);
        // Every wall normal points away from the solid: for the outer walls away from the
        // centre, for the atrium walls towards it.
        for t in m.indices.chunks(3) {
            let [a, b, c] = [0, 1, 2].map(|k| Vec3::from_array(m.positions[t[k] as usize]));
            let n = Vec3::from_array(m.normals[t[0] as usize]);
            assert!(
                (b - a).cross(c - a).dot(n) > 0.0,
                "front face on the normal's side"
            );
            if n.y == 0.0 {
                let mid = (a + b + c) / 3.0;
                let r = Vec2::new(mid.x, -mid.z);
                let outward = Vec2::new(n.x, -n.z).dot(r) > 0.0;
                assert_eq!(outward, r.abs().max_element() > 2.0, "{r} {n}");
            }
        }
        // Roof area: 64 - 4.
        assert!((m.up_area() - 60.0).abs() < 1e-3);
    }

    #[test]
    fn every_building_of_hubin_triangulates_fully() {
        let d = district::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/districts/hubin.toml"
        ))
        .unwrap();
        let l = Layout::new(&d);
        for b in l.buildings.iter() {
            let m = flat(&b.polys, 0.0);
            let want: f32 = b.polys.iter().map(Poly::area).sum();
            assert!(
                (m.up_area() - want).abs() / want < 1e-3,
                "{}: {} vs {want}",
                b.id,
                m.up_area()
            );
        }
        for z in l.zones.iter() {
            let m = flat(&z.polys, 0.0);
            let want: f32 = z.polys.iter().map(Poly::area).sum();
            assert!((m.up_area() - want).abs() / want < 1e-3, "{}", z.id);
        }
    }

    #[test]
    fn ribbons_lie_inside_the_polygon() {
        let mut hole = square(Vec2::ZERO, 2.0);
        hole.reverse();
        let p = Poly {
            exterior: square(Vec2::ZERO, 10.0),
            holes: vec![hole],
        };
        let m = ribbon(&[p.clone()], 1.0, 0.0);
        for v in &m.positions {
            let q = Vec2::new(v[0], -v[2]);
            let in_outer = q.x.abs() <= 10.0 + 1e-4 && q.y.abs() <= 10.0 + 1e-4;
            let in_hole = q.x.abs() < 2.0 - 1e-4 && q.y.abs() < 2.0 - 1e-4;
            assert!(in_outer && !in_hole, "{q}");
        }
        // Outer band 4·(20·1) minus corner overlaps, plus the hole's band.
        assert!(m.up_area() > 70.0 && m.up_area() < 100.0, "{}", m.up_area());
    }

    #[test]
    fn bay_strips_follow_states_and_recolor_in_place() {
        let spots = vec![
            BaySpot {
                at: Vec2::ZERO,
                bays: vec![0, 2],
            },
            BaySpot {
                at: Vec2::new(3.0, 0.0),
                bays: vec![1],
            },
        ];
        let col = |states: &'static str| {
            move |i: usize| {
                if states.as_bytes()[i] == b'F' {
                    [0.0, 1.0, 0.0, 1.0]
                } else {
                    [1.0, 0.0, 0.0, 1.0]
                }
            }
        };
        let mut m = bay_quads(&spots, Vec2::new(2.4, 5.0), 0.1, col("FOF"));
        assert_eq!(m.triangles(), 6);
        assert_eq!(m.colors.len(), m.positions.len());
        assert_eq!(m.colors[0], [0.0, 1.0, 0.0, 1.0]); // bay 0 free
        assert_eq!(m.colors[12], [1.0, 0.0, 0.0, 1.0]); // bay 1 (second spot) occupied
        recolor_bays(&mut m.colors, &spots, col("OOO"));
        assert!(m.colors.iter().all(|c| *c == [1.0, 0.0, 0.0, 1.0]));
    }
}
