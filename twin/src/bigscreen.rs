//! Big-screen plugin: the camera. By default it tours the district on its own (the whole
//! district, then each zone, slowly circling) and flies to a new critical alert until it is
//! acknowledged; `--view overview` pins it north-up over the whole district (for captures that
//! must be compared); with the `window` feature an operator can take over with the mouse and
//! keyboard (press T to hand back to the tour).

use bevy::camera::RenderTarget;
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::prelude::*;
use bevy::render::render_resource::TextureFormat;
use bevy::render::renderer::RenderAdapter;

use crate::model::Bounds;
use crate::scene::DistrictLayout;
use crate::tour::{fit_distance, overview, AlertView, Director, Pose, Tour};

/// The twin's camera.
#[derive(Component)]
pub struct TwinCamera;

/// Systems that move the camera (labels are placed after them).
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub struct CameraSet;

/// How the camera is driven.
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub enum ViewMode {
    /// Automatic tour, flying to new critical alerts.
    Tour,
    /// The fixed overview.
    Overview,
    /// An operator's orbit.
    Orbit(Pose),
}

/// Where the camera renders: the window, or an off-screen image (headless capture).
#[derive(Resource, Clone, Default)]
pub struct CameraTarget(pub Option<Handle<Image>>);

/// Open alerts the camera may fly to (filled by the alert overlay).
#[derive(Resource, Default)]
pub struct AlertTargets(pub Vec<AlertView>);

/// The alert director and the tour.
#[derive(Resource)]
pub struct Camerawork {
    /// The tour.
    pub tour: Tour,
    /// The director.
    pub director: Director,
    /// Pose now.
    pub pose: Pose,
}

/// Vertical field of view.
pub const FOV_Y: f32 = 0.70;

fn spawn_camera(
    mut commands: Commands,
    target: Res<CameraTarget>,
    layout: Res<DistrictLayout>,
    samples: Res<Samples>,
    adapter: Option<Res<RenderAdapter>>,
) {
    let requested = samples.0.samples();
    let n = pick_samples(requested, |n| {
        adapter.as_ref().is_some_and(|a| {
            [TextureFormat::Rgba8UnormSrgb, TextureFormat::Depth32Float]
                .iter()
                .all(|f| {
                    a.get_texture_format_features(*f)
                        .flags
                        .sample_count_supported(n)
                })
        })
    });
    if n != requested {
        warn!("this GPU has no {requested}× MSAA; using {n}×");
    }
    let l = &layout.0;
    let zones: Vec<(Vec2, Bounds)> = l.zones.iter().map(|z| (z.anchor, z.bounds)).collect();
    let tour = Tour::new(&l.bounds, &zones, 4);
    let pose = tour.pose(0.0, FOV_Y, 16.0 / 9.0);
    let mut cam = commands.spawn((
        Camera3d::default(),
        Camera {
            order: 0,
            ..default()
        },
        Projection::Perspective(PerspectiveProjection {
            fov: FOV_Y,
            near: 2.0,
            far: 60_000.0,
            ..default()
        }),
        // Overlay colours are meant literally: no tonemapping, no HDR.
        Tonemapping::None,
        msaa(n),
        Transform::from_translation(pose.eye()).looking_at(pose.focus, Vec3::Y),
        IsDefaultUiCamera,
        TwinCamera,
    ));
    if let Some(img) = &target.0 {
        cam.insert(RenderTarget::Image(img.clone().into()));
    }
    commands.insert_resource(Camerawork {
        tour,
        director: Director::default(),
        pose,
    });
}

/// The fixed overview pose for a viewport aspect.
pub fn overview_pose(b: &Bounds, aspect: f32) -> Pose {
    let s = overview(b);
    // Fit the whole rectangle: width against the horizontal field, depth (foreshortened) against
    // the vertical one.
    let half_v = (FOV_Y * 0.5).tan();
    let need_w = b.size().x * 0.5 / (half_v * aspect);
    let need_d = b.size().y * 0.5 * s.pitch.sin() / half_v + b.size().y * 0.5 * s.pitch.cos();
    let distance = 1.08 * need_w.max(need_d).max(fit_distance(50.0, FOV_Y, aspect));
    Pose {
        focus: crate::model::world(s.at, 0.0),
        distance,
        yaw: 0.0,
        pitch: s.pitch,
    }
}

#[allow(clippy::too_many_arguments)]
fn drive(
    time: Res<Time>,
    mode: Res<ViewMode>,
    layout: Res<DistrictLayout>,
    targets: Res<AlertTargets>,
    mut work: ResMut<Camerawork>,
    mut camera: Query<(&Camera, &mut Transform, &mut GlobalTransform), With<TwinCamera>>,
) {
    let Ok((cam, mut t, mut g)) = camera.single_mut() else {
        return;
    };
    let aspect = cam
        .logical_viewport_size()
        .map(|s| s.x / s.y.max(1.0))
        .unwrap_or(16.0 / 9.0);
    let dt = time.delta_secs().min(0.5);
    let now = time.elapsed_secs();
    let work = work.as_mut();
    let pose = match *mode {
        ViewMode::Overview => overview_pose(&layout.0.bounds, aspect),
        ViewMode::Orbit(p) => p,
        ViewMode::Tour => {
            let tour_pose = work.tour.pose(now, FOV_Y, aspect);
            let focus = work.director.update(&targets.0, dt).map(str::to_string);
            let at = focus.and_then(|id| targets.0.iter().find(|a| a.id == id).and_then(|a| a.at));
            match at {
                Some(at) => tour_pose.lerp(
                    &Director::alert_pose(at, tour_pose.yaw),
                    work.director.blend(),
                ),
                None if work.director.blend() > 0.0 => {
                    // Flying back: from where the camera is towards the tour.
                    work.pose.lerp(&tour_pose, 1.0 - work.director.blend())
                }
                None => tour_pose,
            }
        }
    };
    work.pose = pose;
    *t = Transform::from_translation(pose.eye()).looking_at(pose.focus, Vec3::Y);
    // The camera has no parent: keep its global transform current this frame, so labels
    // projected through it land on what they name.
    *g = GlobalTransform::from(*t);
}

#[cfg(feature = "window")]
fn operator(
    keys: Res<ButtonInput<KeyCode>>,
    buttons: Res<ButtonInput<MouseButton>>,
    motion: Res<bevy::input::mouse::AccumulatedMouseMotion>,
    scroll: Res<bevy::input::mouse::AccumulatedMouseScroll>,
    time: Res<Time>,
    work: Res<Camerawork>,
    mut mode: ResMut<ViewMode>,
) {
    if keys.just_pressed(KeyCode::KeyT) {
        *mode = ViewMode::Tour;
        return;
    }
    let dt = time.delta_secs();
    let mut pan = Vec2::ZERO;
    for (k, d) in [
        (KeyCode::KeyW, Vec2::Y),
        (KeyCode::KeyS, -Vec2::Y),
        (KeyCode::KeyA, -Vec2::X),
        (KeyCode::KeyD, Vec2::X),
    ] {
        if keys.pressed(k) {
            pan += d;
        }
    }
    let rotate = buttons.pressed(MouseButton::Left) && motion.delta != Vec2::ZERO;
    let drag = buttons.pressed(MouseButton::Right) && motion.delta != Vec2::ZERO;
    let zoom = scroll.delta.y;
    let (q, e) = (keys.pressed(KeyCode::KeyQ), keys.pressed(KeyCode::KeyE));
    if !(rotate || drag || zoom != 0.0 || pan != Vec2::ZERO || q || e) {
        return;
    }
    let mut p = match *mode {
        ViewMode::Orbit(p) => p,
        _ => work.pose,
    };
    if rotate {
        p.yaw -= motion.delta.x * 0.005;
        p.pitch = (p.pitch + motion.delta.y * 0.004).clamp(0.15, 1.5);
    }
    if q {
        p.yaw += dt;
    }
    if e {
        p.yaw -= dt;
    }
    let (s, c) = p.yaw.sin_cos();
    let right = Vec3::new(c, 0.0, s);
    let forward = Vec3::new(s, 0.0, -c);
    if drag {
        let k = p.distance * 0.0015;
        p.focus += (-right * motion.delta.x + forward * motion.delta.y) * k;
    }
    p.focus += (right * pan.x + forward * pan.y) * p.distance * 0.8 * dt;
    p.distance = (p.distance * (1.0 - zoom * 0.1)).clamp(40.0, 40_000.0);
    *mode = ViewMode::Orbit(p);
}

/// The big-screen (camera) plugin.
pub struct BigScreenPlugin {
    /// Initial mode.
    pub mode: ViewMode,
    /// Multisample anti-aliasing samples per pixel (1, 2, 4 or 8).
    pub msaa: u32,
}

/// Samples per pixel of the camera's anti-aliasing.
#[derive(Resource, Clone, Copy)]
struct Samples(Msaa);

/// The sample count to use: the requested one if the GPU supports it for the colour and depth
/// targets, else 4, which every WebGPU device supports (software Vulkan has no 2× or 8×).
pub fn pick_samples(requested: u32, supported: impl Fn(u32) -> bool) -> u32 {
    if requested == 1 || supported(requested) {
        requested
    } else {
        4
    }
}

/// MSAA for a sample count (1 turns it off; anything else but 2, 4, 8 means 4).
pub fn msaa(samples: u32) -> Msaa {
    match samples {
        1 => Msaa::Off,
        2 => Msaa::Sample2,
        8 => Msaa::Sample8,
        _ => Msaa::Sample4,
    }
}

impl Plugin for BigScreenPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(self.mode)
            .insert_resource(Samples(msaa(self.msaa)))
            .init_resource::<CameraTarget>()
            .init_resource::<AlertTargets>()
            .add_systems(Startup, spawn_camera)
            .add_systems(Update, drive.in_set(CameraSet));
        #[cfg(feature = "window")]
        app.add_systems(Update, operator.before(CameraSet));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_msaa_falls_back_to_four_samples() {
        assert_eq!(pick_samples(2, |n| n == 4), 4);
        assert_eq!(pick_samples(2, |_| true), 2);
        assert_eq!(pick_samples(1, |_| false), 1);
        assert_eq!(pick_samples(8, |n| n == 4), 4);
    }

    #[test]
    fn the_overview_sees_every_corner() {
        let b = Bounds {
            min: Vec2::new(-500.0, -600.0),
            max: Vec2::new(500.0, 600.0),
        };
        for aspect in [16.0 / 9.0, 4.0 / 3.0, 32.0 / 9.0] {
            let p = overview_pose(&b, aspect);
            let view = Mat4::perspective_infinite_reverse_rh(FOV_Y, aspect, 1.0)
                * Mat4::look_at_rh(p.eye(), p.focus, Vec3::Y);
            for c in [
                b.min,
                b.max,
                Vec2::new(b.min.x, b.max.y),
                Vec2::new(b.max.x, b.min.y),
            ] {
                let ndc = view.project_point3(crate::model::world(c, 0.0));
                assert!(
                    ndc.x.abs() <= 1.0 && ndc.y.abs() <= 1.0,
                    "{aspect} {c} {ndc}"
                );
            }
        }
    }
}
