//! Energy overlay: each building glows by its power draw against its rated load
//! ([`colors::power_glow`]): dark when idle or unknown, cool white under load, warm at its
//! rating, red-orange above it. The glow goes out when the feed is stale.

use bevy::prelude::*;

use crate::colors;
use crate::live::Live;
use crate::scene::{BuildingBody, DistrictLayout};

fn update(
    live: Res<Live>,
    layout: Res<DistrictLayout>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    buildings: Query<&BuildingBody>,
) {
    if !live.is_changed() {
        return;
    }
    for b in buildings.iter() {
        let bd = &layout.0.buildings[b.index];
        let glow = match live.energy.get(&bd.id) {
            Some(e) if live.freshness(true).is_live() => {
                colors::power_glow(e.kw, e.rated_kw.or(bd.rated_kw))
            }
            _ => LinearRgba::BLACK,
        };
        // Emissive adds to the lit colour as is (about 1.0 is full white).
        let glow = glow * 1.5;
        if let Some(mut m) = materials.get_mut(&b.own) {
            if m.emissive != glow {
                m.emissive = glow;
            }
        }
    }
}

/// The energy overlay plugin.
pub struct EnergyPlugin;

impl Plugin for EnergyPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, update);
    }
}
