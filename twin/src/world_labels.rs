//! Labels plugin: text tags pinned to points of the district (zone names, lot counts, alert
//! tags), drawn as UI so they stay readable from across the room at any zoom. Each frame the
//! anchors are projected through the camera and laid out by [`crate::labels::layout`], most
//! important first, hidden where they would collide or cover the HUD.

use bevy::prelude::*;
use bevy::ui::UiGlobalTransform;

use crate::bigscreen::TwinCamera;
use crate::labels::{self, Want};

/// A label pinned to a world point.
#[derive(Component, Debug, Clone, Copy)]
pub struct WorldLabel {
    /// World position of what it names.
    pub anchor: Vec3,
    /// Placement priority (higher first).
    pub priority: i32,
    /// Size guess until the text is measured (UI px).
    pub estimate: Vec2,
    /// World box (min, max) of what it names.
    pub around: Option<(Vec3, Vec3)>,
    /// Keep all labels off what it names (a zone in alarm, an alert's building and beacon).
    pub protect: bool,
}

/// The world box over local bounds between two heights.
pub fn world_box(b: &crate::model::Bounds, bottom: f32, top: f32) -> (Vec3, Vec3) {
    (
        Vec3::new(b.min.x, bottom, -b.max.y),
        Vec3::new(b.max.x, top, -b.min.y),
    )
}

/// The screen rectangle (UI units) of a world box, None when any corner is behind the camera.
fn screen_rect(cam: &Camera, t: &GlobalTransform, (lo, hi): (Vec3, Vec3), k: f32) -> Option<Rect> {
    let mut r: Option<Rect> = None;
    for i in 0..8 {
        let p = Vec3::new(
            if i & 1 == 0 { lo.x } else { hi.x },
            if i & 2 == 0 { lo.y } else { hi.y },
            if i & 4 == 0 { lo.z } else { hi.z },
        );
        let q = cam.world_to_viewport(t, p).ok()? / k;
        r = Some(match r {
            Some(r) => r.union_point(q),
            None => Rect::from_corners(q, q),
        });
    }
    r
}

/// A HUD panel labels keep off.
#[derive(Component)]
pub struct HudPanel;

/// Where a label ended up (None: hidden), for the capture manifest.
#[derive(Component, Default, Debug, Clone, Copy)]
pub struct Placed(pub Option<Rect>);

/// Rect of a UI node in UI units (logical px divided by `UiScale`).
pub fn node_rect(c: &ComputedNode, t: &UiGlobalTransform) -> Rect {
    let s = c.inverse_scale_factor;
    let center = t.translation * s;
    Rect::from_center_size(center, c.size * s)
}

#[allow(clippy::type_complexity)]
fn place(
    camera: Query<(&Camera, &GlobalTransform), With<TwinCamera>>,
    ui_scale: Res<UiScale>,
    panels: Query<(&ComputedNode, &UiGlobalTransform), With<HudPanel>>,
    mut labels: Query<(
        &WorldLabel,
        &ComputedNode,
        &mut Node,
        &mut Visibility,
        &mut Placed,
    )>,
) {
    let Ok((cam, cam_t)) = camera.single() else {
        return;
    };
    let Some(view) = cam.logical_viewport_size() else {
        return;
    };
    let k = ui_scale.0.max(1e-3);
    let screen = view / k;
    let keep_out: Vec<Rect> = panels.iter().map(|(c, t)| node_rect(c, t)).collect();
    let wants: Vec<Want> = labels
        .iter()
        .map(|(l, c, _, _, _)| {
            let measured = c.size * c.inverse_scale_factor;
            Want {
                anchor: cam.world_to_viewport(cam_t, l.anchor).ok().map(|p| p / k),
                size: if measured.x > 1.0 {
                    measured
                } else {
                    l.estimate
                },
                priority: l.priority,
                around: l.around.and_then(|b| screen_rect(cam, cam_t, b, k)),
                protect: l.protect,
            }
        })
        .collect();
    let out = labels::layout(&wants, screen, &keep_out);
    for ((_, _, mut node, mut vis, mut placed), (pos, want)) in
        labels.iter_mut().zip(out.into_iter().zip(&wants))
    {
        match pos {
            Some(p) => {
                node.left = Val::Px(p.x.round());
                node.top = Val::Px(p.y.round());
                if *vis != Visibility::Inherited {
                    *vis = Visibility::Inherited;
                }
                placed.0 = Some(Rect::from_corners(p, p + want.size));
            }
            None => {
                if *vis != Visibility::Hidden {
                    *vis = Visibility::Hidden;
                }
                placed.0 = None;
            }
        }
    }
}

/// The labels plugin.
pub struct WorldLabelsPlugin;

impl Plugin for WorldLabelsPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, place.after(crate::bigscreen::CameraSet));
    }
}
