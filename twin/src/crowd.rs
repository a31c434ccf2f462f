//! Crowd overlay: each zone filled with its density level's colour, a fence of light along its
//! edge that rises with its heat (density against its critical density), moving people markers
//! in proportion to its occupancy (one shared mesh and a few shared materials, so they are
//! drawn instanced), and its name with people and level as a label. A zone with no data or
//! stale data turns grey and says so.

use bevy::prelude::*;
use district::contract::live::CrowdLevel;

use crate::colors;
use crate::hud::{fmt_count, Lang, UiFont};
use crate::labels::estimate_size;
use crate::live::Live;
use crate::model::{world, Layout};
use crate::scene::{DistrictLayout, ZoneFence, ZoneFill};
use crate::stale::Freshness;
use crate::world_labels::{world_box, Placed, WorldLabel};

/// How many people one marker stands for, and the caps.
#[derive(Resource, Clone, Copy, Debug)]
pub struct MarkerBudget {
    /// People per marker.
    pub people_per_marker: u32,
    /// Most markers in one zone.
    pub per_zone: usize,
    /// Most markers in all.
    pub total: usize,
}

impl Default for MarkerBudget {
    fn default() -> Self {
        MarkerBudget {
            people_per_marker: 40,
            per_zone: 400,
            total: 6000,
        }
    }
}

/// Ground a marker covers, m² (a 2.2 m disc).
const MARKER_M2: f64 = 3.8;

/// Markers wanted for a zone: `people / per_marker`, within the caps (`used` by other zones),
/// and covering at most 5 % of the zone's `area_m2` so its colour stays readable.
pub fn markers_for(people: u32, b: &MarkerBudget, used_elsewhere: usize, area_m2: f64) -> usize {
    let want = (people / b.people_per_marker.max(1)) as usize;
    let by_area = (area_m2.max(0.0) * 0.05 / MARKER_M2) as usize;
    want.min(b.per_zone)
        .min(by_area)
        .min(b.total.saturating_sub(used_elsewhere))
}

/// One walking person marker.
#[derive(Component)]
struct Walker {
    zone: usize,
    target: Vec2,
    speed: f32,
    seed: u64,
}

#[derive(Component)]
struct ZoneLabel(usize);

#[derive(Component)]
struct ZoneLabelLine(usize);

#[derive(Resource)]
struct CrowdAssets {
    marker: Handle<Mesh>,
    /// Marker material per level (normal, busy, crowded, critical).
    by_level: [Handle<StandardMaterial>; 4],
}

fn lcg(s: &mut u64) -> f32 {
    *s = s
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*s >> 40) as f32) / (1u64 << 24) as f32
}

/// A random point inside a zone and outside its buildings (a few tries, then its anchor).
pub fn random_spot(l: &Layout, zone: usize, seed: &mut u64) -> Vec2 {
    let z = &l.zones[zone];
    for _ in 0..30 {
        let p = z.bounds.min + z.bounds.size() * Vec2::new(lcg(seed), lcg(seed));
        if z.polys.iter().any(|poly| poly.contains(p))
            && !l
                .buildings
                .iter()
                .filter(|b| b.zone == zone)
                .any(|b| b.polys.iter().any(|bp| bp.contains(p)))
        {
            return p;
        }
    }
    z.anchor
}

fn level_index(l: CrowdLevel) -> usize {
    match l {
        CrowdLevel::Normal => 0,
        CrowdLevel::Busy => 1,
        CrowdLevel::Crowded => 2,
        CrowdLevel::Critical => 3,
    }
}

fn setup(
    mut commands: Commands,
    layout: Res<DistrictLayout>,
    font: Res<UiFont>,
    lang: Res<Lang>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let marker = meshes.add(Cylinder::new(1.1, 2.2));
    let by_level = [
        CrowdLevel::Normal,
        CrowdLevel::Busy,
        CrowdLevel::Crowded,
        CrowdLevel::Critical,
    ]
    .map(|lv| {
        // A lighter shade of the level colour: people read as people on their zone.
        let c = colors::crowd_level(lv).mix(&Srgba::WHITE, 0.55);
        materials.add(crate::scene::unlit(c))
    });
    commands.insert_resource(CrowdAssets { marker, by_level });
    for (i, z) in layout.0.zones.iter().enumerate() {
        let (first, second) = if lang.zh {
            (&z.names.zh, &z.names.en)
        } else {
            (&z.names.en, &z.names.zh)
        };
        let estimate = estimate_size(
            &[(first, 20.0), (second, 13.0), ("00,000 · 0.00/m²", 15.0)],
            Vec2::new(8.0, 4.0),
        );
        commands
            .spawn((
                Node {
                    position_type: PositionType::Absolute,
                    flex_direction: FlexDirection::Column,
                    align_items: AlignItems::Center,
                    padding: UiRect::axes(Val::Px(8.0), Val::Px(4.0)),
                    ..default()
                },
                BackgroundColor(Color::srgba(0.02, 0.03, 0.05, 0.72)),
                Visibility::Hidden,
                WorldLabel {
                    anchor: world(z.anchor, 2.0),
                    priority: 10,
                    estimate,
                    around: Some(world_box(&z.bounds, 0.0, colors::fence_height(1.0))),
                    protect: false,
                },
                Placed::default(),
                ZoneLabel(i),
            ))
            .with_children(|p| {
                p.spawn((
                    Text::new(first.clone()),
                    font.at(20.0),
                    TextColor(Color::WHITE),
                ));
                p.spawn((
                    Text::new(second.clone()),
                    font.at(13.0),
                    TextColor(Color::srgb(0.75, 0.8, 0.86)),
                ));
                p.spawn((
                    Text::new("--"),
                    font.at(15.0),
                    TextColor(colors::NO_DATA.into()),
                    ZoneLabelLine(i),
                ));
            });
    }
}

#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn recolor(
    live: Res<Live>,
    lang: Res<Lang>,
    layout: Res<DistrictLayout>,
    budget: Res<MarkerBudget>,
    assets: Res<CrowdAssets>,
    mut commands: Commands,
    mut materials: ResMut<Assets<StandardMaterial>>,
    fills: Query<(&ZoneFill, &MeshMaterial3d<StandardMaterial>)>,
    mut fences: Query<
        (
            &ZoneFence,
            &MeshMaterial3d<StandardMaterial>,
            &mut Transform,
        ),
        Without<Walker>,
    >,
    mut lines: Query<(&ZoneLabelLine, &mut Text, &mut TextColor)>,
    mut zone_labels: Query<(&ZoneLabel, &mut WorldLabel)>,
    mut walkers: Query<
        (Entity, &Walker, &mut MeshMaterial3d<StandardMaterial>),
        (Without<ZoneFill>, Without<ZoneFence>),
    >,
) {
    if !live.is_changed() {
        return;
    }
    let l = &layout.0;
    let state: Vec<(Freshness, Option<&district::contract::live::ZoneLive>)> = l
        .zones
        .iter()
        .map(|z| (live.zone_freshness(&z.id), live.zones.get(&z.id)))
        .collect();
    let color_of = |i: usize| match state[i] {
        (Freshness::Live, Some(z)) => colors::crowd_level(z.level),
        _ => colors::NO_DATA,
    };
    for (f, m) in fills.iter() {
        if let Some(mut mat) = materials.get_mut(&m.0) {
            let c: Color = color_of(f.0).into();
            if mat.base_color != c {
                mat.base_color = c;
            }
        }
    }
    for (f, m, mut t) in fences.iter_mut() {
        let (c, h) = match state[f.0] {
            (Freshness::Live, Some(z)) => (
                colors::crowd_level(z.level),
                colors::heat(z.density, l.zones[f.0].density.critical),
            ),
            _ => (colors::NO_DATA, 0.0),
        };
        if let Some(mut mat) = materials.get_mut(&m.0) {
            let c: Color = c.with_alpha(0.35 + 0.3 * h.min(1.0)).into();
            if mat.base_color != c {
                mat.base_color = c;
            }
        }
        t.scale.y = colors::fence_height(h);
    }
    // A zone in alarm keeps every label off itself, its own included.
    for (zl, mut wl) in zone_labels.iter_mut() {
        let hot =
            matches!(state[zl.0], (Freshness::Live, Some(z)) if z.level >= CrowdLevel::Crowded);
        if wl.protect != hot {
            wl.protect = hot;
        }
    }
    for (line, mut text, mut color) in lines.iter_mut() {
        let (fresh, z) = state[line.0];
        let (s, c) = match (fresh, z) {
            (Freshness::Live, Some(z)) => (
                format!(
                    "{} {} · {:.2}/m² · {}",
                    fmt_count(z.people as u64),
                    lang.pick("人", "people"),
                    z.density,
                    level_name(z.level, lang.zh)
                ),
                colors::crowd_level(z.level).mix(&Srgba::WHITE, 0.35),
            ),
            (f, Some(z)) => (
                format!(
                    "{} · {} {}",
                    f.label(lang.zh),
                    fmt_count(z.people as u64),
                    lang.pick("人", "people")
                ),
                colors::NO_DATA.mix(&Srgba::WHITE, 0.4),
            ),
            (f, None) => (
                f.label(lang.zh).to_string(),
                colors::NO_DATA.mix(&Srgba::WHITE, 0.4),
            ),
        };
        text.0 = s;
        color.0 = c.into();
    }
    // People markers: as many as each zone's occupancy asks for, coloured by its level; none
    // where the data is not live (no made-up crowd on a stale zone).
    let mut have: Vec<Vec<Entity>> = vec![Vec::new(); l.zones.len()];
    for (e, w, mut m) in walkers.iter_mut() {
        have[w.zone].push(e);
        if let (Freshness::Live, Some(z)) = state[w.zone] {
            let want = &assets.by_level[level_index(z.level)];
            if &m.0 != want {
                m.0 = want.clone();
            }
        }
    }
    let mut used = 0usize;
    for (i, z) in l.zones.iter().enumerate() {
        let want = match state[i] {
            (Freshness::Live, Some(zl)) => markers_for(zl.people, &budget, used, z.area_m2),
            _ => 0,
        };
        used += want;
        let n = have[i].len();
        if n > want {
            for e in &have[i][want..] {
                commands.entity(*e).despawn();
            }
        } else if let (Freshness::Live, Some(zl)) = state[i] {
            let mat = assets.by_level[level_index(zl.level)].clone();
            for k in n..want {
                let mut seed = (i as u64) << 32 | k as u64;
                let at = random_spot(l, i, &mut seed);
                let target = random_spot(l, i, &mut seed);
                commands.spawn((
                    Mesh3d(assets.marker.clone()),
                    MeshMaterial3d(mat.clone()),
                    Transform::from_translation(world(at, 1.1)),
                    Walker {
                        zone: i,
                        target,
                        speed: 1.0 + lcg(&mut seed) * 0.6,
                        seed,
                    },
                ));
            }
        }
        let _ = z;
    }
}

fn level_name(l: CrowdLevel, zh: bool) -> &'static str {
    match (l, zh) {
        (CrowdLevel::Normal, true) => "正常",
        (CrowdLevel::Busy, true) => "繁忙",
        (CrowdLevel::Crowded, true) => "拥挤",
        (CrowdLevel::Critical, true) => "危险",
        (CrowdLevel::Normal, false) => "normal",
        (CrowdLevel::Busy, false) => "busy",
        (CrowdLevel::Crowded, false) => "crowded",
        (CrowdLevel::Critical, false) => "critical",
    }
}

/// Walks the markers (at a brisk, exaggerated 8× pace so movement reads on a wall).
fn walk(time: Res<Time>, layout: Res<DistrictLayout>, mut q: Query<(&mut Transform, &mut Walker)>) {
    let dt = time.delta_secs().min(0.5);
    for (mut t, mut w) in q.iter_mut() {
        let here = Vec2::new(t.translation.x, -t.translation.z);
        let to = w.target - here;
        let step = w.speed * 8.0 * dt;
        if to.length() <= step {
            let mut s = w.seed;
            w.target = random_spot(&layout.0, w.zone, &mut s);
            w.seed = s;
        } else {
            let p = here + to.normalize() * step;
            t.translation = world(p, 1.1);
        }
    }
}

/// The crowd overlay plugin.
pub struct CrowdPlugin;

impl Plugin for CrowdPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<MarkerBudget>()
            .add_systems(Startup, setup)
            .add_systems(Update, (recolor, walk));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_follow_occupancy_within_caps() {
        let b = MarkerBudget {
            people_per_marker: 40,
            per_zone: 400,
            total: 500,
        };
        assert_eq!(markers_for(0, &b, 0, 1e9), 0);
        assert_eq!(markers_for(400, &b, 0, 1e9), 10);
        assert_eq!(markers_for(1_000_000, &b, 0, 1e9), 400);
        assert_eq!(markers_for(1_000_000, &b, 450, 1e9), 50);
        assert_eq!(markers_for(1_000_000, &b, 600, 1e9), 0);
        // A small plaza: 5 % of 8,000 m² at 3.8 m² a marker.
        assert_eq!(markers_for(1_000_000, &b, 0, 8000.0), 105);
    }

    #[test]
    fn random_spots_are_in_the_zone_and_off_the_buildings() {
        let d = district::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/districts/hubin.toml"
        ))
        .unwrap();
        let l = Layout::new(&d);
        let zi = l.zone("in77-a").unwrap();
        let mut seed = 7;
        for _ in 0..200 {
            let p = random_spot(&l, zi, &mut seed);
            assert!(l.zones[zi].polys.iter().any(|q| q.contains(p)));
            let inside_building = l
                .buildings
                .iter()
                .filter(|b| b.zone == zi)
                .any(|b| b.polys.iter().any(|q| q.contains(p)));
            assert!(!inside_building || p == l.zones[zi].anchor);
        }
    }
}
