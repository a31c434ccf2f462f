//! Air overlay: each air monitor's ball takes the HJ 633-2012 colour of its AQI level (grey
//! while it has no data or the feed is stale).

use bevy::prelude::*;

use crate::colors;
use crate::live::Live;
use crate::scene::{AirMarker, DistrictLayout};

/// The colour of a monitor from its live AQI (level code first, else the AQI value).
pub fn monitor_color(aqi: Option<u32>, level_code: Option<&str>, live: bool) -> Srgba {
    if !live {
        return colors::NO_DATA;
    }
    match (level_code.and_then(colors::aqi_level_of_code), aqi) {
        (Some(l), _) => colors::aqi_color(l),
        (None, Some(a)) => colors::aqi_color(colors::aqi_level(a)),
        (None, None) => colors::NO_DATA,
    }
}

fn update(
    live: Res<Live>,
    layout: Res<DistrictLayout>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    markers: Query<(&AirMarker, &MeshMaterial3d<StandardMaterial>)>,
) {
    if !live.is_changed() {
        return;
    }
    for (m, mat) in markers.iter() {
        let id = &layout.0.devices[m.0].id;
        let a = live.air.get(id);
        let fresh = live.freshness(a.is_some()).is_live();
        let c: Color = monitor_color(
            a.and_then(|a| a.aqi),
            a.and_then(|a| a.level.as_deref()),
            fresh,
        )
        .into();
        if let Some(mut mt) = materials.get_mut(&mat.0) {
            if mt.base_color != c {
                mt.base_color = c;
            }
        }
    }
}

/// The air overlay plugin.
pub struct AirPlugin;

impl Plugin for AirPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, update);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_takes_its_level_colour_or_grey() {
        assert_eq!(monitor_color(Some(35), None, true), colors::aqi_color(1));
        assert_eq!(
            monitor_color(Some(35), Some("moderately_polluted"), true),
            colors::aqi_color(4)
        );
        assert_eq!(monitor_color(Some(420), None, true), colors::aqi_color(6));
        assert_eq!(monitor_color(None, None, true), colors::NO_DATA);
        assert_eq!(monitor_color(Some(35), None, false), colors::NO_DATA);
    }
}
