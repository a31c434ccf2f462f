//! Parking overlay: every bay coloured free / occupied / reserved / unknown from
//! `district/{d}/live/bays/{lot}` (bays of stacked levels at one spot are drawn as strips side
//! by side, one per level), each lot labelled with its name and free/total (per level too), and
//! a full lot made obvious: its slab turns red and its label says 满 FULL. A lot whose data is
//! stale says so instead of showing an old number.

use bevy::mesh::VertexAttributeValues;
use bevy::prelude::*;
use district::contract::live::LotStatus;

use crate::colors;
use crate::geometry::recolor_bays;
use crate::hud::{fmt_count, Lang, UiFont};
use crate::labels::estimate_size;
use crate::live::Live;
use crate::model::world;
use crate::scene::{DistrictLayout, LotBays, LotSlab};
use crate::stale::Freshness;
use crate::world_labels::{Placed, WorldLabel};

/// The line a lot label shows: `free / total`, `满 FULL`, or why the number is not shown.
pub fn lot_line(
    free: u32,
    total: u32,
    status: LotStatus,
    fresh: Freshness,
    zh: bool,
) -> (String, bool) {
    match fresh {
        Freshness::Live => {}
        f => return (f.label(zh).to_string(), false),
    }
    match status {
        LotStatus::Full => (
            format!(
                "{} 0 / {}",
                if zh { "满 FULL" } else { "FULL 满" },
                fmt_count(total as u64)
            ),
            true,
        ),
        LotStatus::Closed => (
            (if zh { "关闭 CLOSED" } else { "CLOSED 关闭" }).to_string(),
            false,
        ),
        LotStatus::Stale => (
            Freshness::Stale(crate::stale::StaleReason::Gateway)
                .label(zh)
                .to_string(),
            false,
        ),
        LotStatus::Open => (
            format!(
                "{} {} / {}",
                if zh { "空位" } else { "free" },
                fmt_count(free as u64),
                fmt_count(total as u64)
            ),
            free == 0,
        ),
    }
}

/// Linear RGBA of a bay state for vertex colours.
fn bay_linear(state: u8) -> [f32; 4] {
    LinearRgba::from(colors::bay(state)).to_f32_array()
}

#[derive(Component)]
struct LotLabel(usize);

#[derive(Component)]
struct LotLine(usize);

#[derive(Component)]
struct LotLevels(usize);

fn setup(mut commands: Commands, layout: Res<DistrictLayout>, font: Res<UiFont>, lang: Res<Lang>) {
    for (i, lot) in layout.0.lots.iter().enumerate() {
        let name = if lang.zh {
            &lot.names.zh
        } else {
            &lot.names.en
        };
        let estimate = estimate_size(
            &[(&format!("P {name}"), 17.0), ("free 0,000 / 0,000", 17.0)],
            Vec2::new(8.0, 4.0),
        );
        commands
            .spawn((
                Node {
                    position_type: PositionType::Absolute,
                    flex_direction: FlexDirection::Column,
                    align_items: AlignItems::Center,
                    padding: UiRect::axes(Val::Px(8.0), Val::Px(3.0)),
                    border: UiRect::all(Val::Px(2.0)),
                    ..default()
                },
                BackgroundColor(Color::srgba(0.05, 0.12, 0.28, 0.85)),
                BorderColor::all(Color::srgb(0.12, 0.53, 0.9)),
                Visibility::Hidden,
                WorldLabel {
                    anchor: world(lot.anchor, 3.0),
                    priority: 8,
                    estimate,
                    around: None,
                    protect: false,
                },
                Placed::default(),
                LotLabel(i),
            ))
            .with_children(|p| {
                p.spawn((
                    Text::new(format!("P {name}")),
                    font.at(17.0),
                    TextColor(Color::WHITE),
                ));
                p.spawn((
                    Text::new("--"),
                    font.at(17.0),
                    TextColor(Color::WHITE),
                    LotLine(i),
                ));
                p.spawn((
                    Text::new(""),
                    font.at(12.0),
                    TextColor(Color::srgb(0.75, 0.8, 0.86)),
                    LotLevels(i),
                ));
            });
    }
}

#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn update(
    live: Res<Live>,
    lang: Res<Lang>,
    layout: Res<DistrictLayout>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    bays: Query<(&LotBays, &Mesh3d)>,
    slabs: Query<(&LotSlab, &MeshMaterial3d<StandardMaterial>)>,
    mut lines: Query<(&LotLine, &mut Text, &mut TextColor), Without<LotLevels>>,
    mut levels: Query<(&LotLevels, &mut Text), Without<LotLine>>,
    mut labels: Query<(&LotLabel, &mut BorderColor, &mut BackgroundColor)>,
    mut applied: Local<Vec<u64>>,
    mut slab_base: Local<Vec<Option<Color>>>,
) {
    if !live.is_changed() {
        return;
    }
    let l = &layout.0;
    applied.resize(l.lots.len(), u64::MAX);
    slab_base.resize(l.lots.len(), None);
    let feed_ok = live.feed_stale.is_none();
    for (lb, mesh) in bays.iter() {
        let lot = &l.lots[lb.0];
        // Bays show their states while the feed is up; grey (unknown) when it is not.
        let (rev, states) = match (live.bays.get(&lot.id), feed_ok) {
            (Some((b, rev)), true) => (*rev, Some(b.states.as_bytes())),
            _ => (0, None),
        };
        if applied[lb.0] == rev {
            continue;
        }
        applied[lb.0] = rev;
        if let Some(mut m) = meshes.get_mut(&mesh.0) {
            if let Some(VertexAttributeValues::Float32x4(cols)) =
                m.attribute_mut(Mesh::ATTRIBUTE_COLOR)
            {
                recolor_bays(cols, &lot.spots, |i| {
                    bay_linear(states.and_then(|s| s.get(i).copied()).unwrap_or(b'U'))
                });
            }
        }
    }
    let full_of = |i: usize| -> bool {
        let lot = &l.lots[i];
        live.lot_freshness(&lot.id) == Freshness::Live
            && live.lots.get(&lot.id).is_some_and(|x| {
                x.status == LotStatus::Full || (x.status == LotStatus::Open && x.free == 0)
            })
    };
    for (s, m) in slabs.iter() {
        if let Some(mut mat) = materials.get_mut(&m.0) {
            let base = *slab_base[s.0].get_or_insert(mat.base_color);
            let want = if full_of(s.0) {
                colors::LOT_FULL.mix(&Srgba::BLACK, 0.35).into()
            } else {
                base
            };
            if mat.base_color != want {
                mat.base_color = want;
            }
        }
    }
    for (line, mut text, mut color) in lines.iter_mut() {
        let lot = &l.lots[line.0];
        let fresh = live.lot_freshness(&lot.id);
        let (s, full) = match live.lots.get(&lot.id) {
            Some(x) => lot_line(x.free, x.total, x.status, fresh, lang.zh),
            None => (fresh.label(lang.zh).to_string(), false),
        };
        text.0 = s;
        color.0 = if full {
            colors::LOT_FULL.mix(&Srgba::WHITE, 0.25).into()
        } else if fresh.is_live() {
            Color::WHITE
        } else {
            colors::NO_DATA.mix(&Srgba::WHITE, 0.4).into()
        };
    }
    for (lv, mut text) in levels.iter_mut() {
        let lot = &l.lots[lv.0];
        text.0 = match live.lots.get(&lot.id) {
            Some(x) if x.levels.len() > 1 && live.lot_freshness(&lot.id).is_live() => x
                .levels
                .iter()
                .map(|v| format!("{} {}/{}", v.level, v.free, v.total))
                .collect::<Vec<_>>()
                .join(" · "),
            _ => String::new(),
        };
    }
    for (lb, mut border, mut bg) in labels.iter_mut() {
        let full = full_of(lb.0);
        *border = BorderColor::all(if full {
            colors::LOT_FULL.into()
        } else {
            Color::srgb(0.12, 0.53, 0.9)
        });
        bg.0 = if full {
            Color::srgba(0.35, 0.04, 0.04, 0.9)
        } else {
            Color::srgba(0.05, 0.12, 0.28, 0.85)
        };
    }
}

/// The parking overlay plugin.
pub struct ParkingPlugin;

impl Plugin for ParkingPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, setup).add_systems(Update, update);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stale::StaleReason;

    #[test]
    fn lot_lines_show_free_full_or_why_not() {
        assert_eq!(
            lot_line(12, 600, LotStatus::Open, Freshness::Live, true),
            ("空位 12 / 600".into(), false)
        );
        assert_eq!(
            lot_line(0, 1600, LotStatus::Full, Freshness::Live, true),
            ("满 FULL 0 / 1,600".into(), true)
        );
        assert_eq!(
            lot_line(0, 600, LotStatus::Full, Freshness::Live, false).0,
            "FULL 满 0 / 600"
        );
        // Never an old number while stale.
        let (s, full) = lot_line(
            12,
            600,
            LotStatus::Open,
            Freshness::Stale(StaleReason::LinkDown),
            false,
        );
        assert_eq!((s.as_str(), full), ("LINK DOWN", false));
        assert_eq!(
            lot_line(12, 600, LotStatus::Stale, Freshness::Live, true).0,
            "数据过期"
        );
    }
}
