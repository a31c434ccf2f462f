//! Scene plugin: the district drawn from its file, once at startup. Ground, zones as flat
//! tinted areas with a fence of light along their edges (the crowd overlay colours and raises
//! them), buildings extruded to their heights, car parks with their bays, device and sign
//! markers, the sun. Nothing here knows about live data; the overlays find these entities by
//! their marker components.

use std::sync::Arc;

use bevy::light::GlobalAmbientLight;
use bevy::prelude::*;
use district::{DeviceKind, LotKind};

use crate::colors;
use crate::geometry::{bay_quads, extrude, fence, flat, ribbon, MeshData};
use crate::model::{world, Layout};

/// The district being shown.
#[derive(Resource, Clone)]
pub struct DistrictLayout(pub Arc<Layout>);

/// A zone's flat area; its material is its own.
#[derive(Component)]
pub struct ZoneFill(pub usize);

/// A zone's fence of light (a unit-high mesh, scaled to its height).
#[derive(Component)]
pub struct ZoneFence(pub usize);

/// A building; `own` is its own material (the energy overlay tints it; the alert overlay
/// swaps in a shared alert material and back).
#[derive(Component)]
pub struct BuildingBody {
    /// Building index.
    pub index: usize,
    /// Its own material.
    pub own: Handle<StandardMaterial>,
}

/// A lot's surface slab (its material is its own).
#[derive(Component)]
pub struct LotSlab(pub usize);

/// A lot's bays: one mesh with a colour per bay strip.
#[derive(Component)]
pub struct LotBays(pub usize);

/// An air monitor's marker (index into `Layout::devices`).
#[derive(Component)]
pub struct AirMarker(pub usize);

/// Heights of the layers, m (far enough apart for the depth buffer at 2 km).
pub mod layer {
    /// Ground plane.
    pub const GROUND: f32 = -0.4;
    /// Zone areas.
    pub const ZONE: f32 = 0.0;
    /// Car park slabs.
    pub const LOT: f32 = 0.25;
    /// Bays.
    pub const BAYS: f32 = 0.5;
}

/// An unlit material of one colour (what you set is what the screen shows).
pub fn unlit(c: impl Into<Color>) -> StandardMaterial {
    StandardMaterial {
        base_color: c.into(),
        unlit: true,
        ..default()
    }
}

fn spawn_scene(
    mut commands: Commands,
    layout: Res<DistrictLayout>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let l = &layout.0;
    // Ground: the district's bounds and a margin.
    let b = l.bounds;
    let margin = b.size().max_element() * 0.35 + 200.0;
    let ground = Plane3d::default()
        .mesh()
        .size(b.size().x + 2.0 * margin, b.size().y + 2.0 * margin);
    commands.spawn((
        Mesh3d(meshes.add(ground)),
        MeshMaterial3d(materials.add(unlit(colors::rgb(22, 27, 34)))),
        Transform::from_translation(world(b.center(), layer::GROUND)),
        Name::new("ground"),
    ));

    for (i, z) in l.zones.iter().enumerate() {
        let fill = flat(&z.polys, layer::ZONE);
        commands.spawn((
            Mesh3d(meshes.add(fill.into_mesh(false))),
            MeshMaterial3d(materials.add(unlit(colors::NO_DATA))),
            ZoneFill(i),
            Name::new(format!("zone {}", z.id)),
        ));
        let f = fence(&z.polys, 0.0, 1.0);
        commands.spawn((
            Mesh3d(meshes.add(f.into_mesh(false))),
            MeshMaterial3d(materials.add(StandardMaterial {
                alpha_mode: AlphaMode::Blend,
                ..unlit(colors::NO_DATA.with_alpha(0.45))
            })),
            Transform::from_scale(Vec3::new(1.0, colors::fence_height(0.0), 1.0)),
            ZoneFence(i),
        ));
    }

    // Zone borders: one mesh of dark bands just inside every zone's edge.
    let mut borders = MeshData::default();
    for z in &l.zones {
        borders.extend(&ribbon(&z.polys, 2.5, layer::ZONE + 0.12));
    }
    commands.spawn((
        Mesh3d(meshes.add(borders.into_mesh(false))),
        MeshMaterial3d(materials.add(unlit(colors::rgb(24, 29, 38)))),
        Name::new("zone borders"),
    ));

    // Mid-grey, so the energy overlay's glow reads against it under the sun.
    let concrete = colors::rgb(120, 128, 142);
    for (i, bd) in l.buildings.iter().enumerate() {
        let m = extrude(&bd.polys, 0.0, bd.height);
        let own = materials.add(StandardMaterial {
            base_color: concrete.into(),
            perceptual_roughness: 0.85,
            ..default()
        });
        commands.spawn((
            Mesh3d(meshes.add(m.into_mesh(false))),
            MeshMaterial3d(own.clone()),
            BuildingBody { index: i, own },
            Name::new(format!("building {}", bd.id)),
        ));
    }

    let bay_material = materials.add(StandardMaterial {
        base_color: Color::WHITE,
        unlit: true,
        ..default()
    });
    for (i, lot) in l.lots.iter().enumerate() {
        let slab_color = match lot.kind {
            LotKind::Surface => colors::rgb(52, 58, 70),
            LotKind::Multistorey => colors::rgb(60, 64, 92),
            LotKind::Underground => colors::rgb(38, 52, 86),
        };
        commands.spawn((
            Mesh3d(meshes.add(flat(&lot.polys, layer::LOT).into_mesh(false))),
            MeshMaterial3d(materials.add(unlit(slab_color))),
            LotSlab(i),
        ));
        if !lot.spots.is_empty() {
            let unknown = colors::bay(b'U').to_f32_array();
            let lin = LinearRgba::from(Srgba::from_f32_array(unknown)).to_f32_array();
            let m: MeshData = bay_quads(&lot.spots, lot.bay_size, layer::BAYS, |_| lin);
            commands.spawn((
                Mesh3d(meshes.add(m.into_mesh(true))),
                MeshMaterial3d(bay_material.clone()),
                LotBays(i),
            ));
        }
    }

    // Devices that stand outside: counters and signs as small symbolic pylons; air monitors
    // as balls on a pole (the air overlay colours them).
    let pylon = meshes.add(Cuboid::new(3.0, 8.0, 3.0));
    let counter_mat = materials.add(unlit(colors::rgb(128, 222, 234)));
    let ball = meshes.add(
        Sphere::new(7.0)
            .mesh()
            .ico(2)
            .unwrap_or_else(|_| Sphere::new(7.0).into()),
    );
    for (i, dv) in l.devices.iter().enumerate() {
        match dv.kind {
            DeviceKind::Footfall | DeviceKind::Parking => {
                commands.spawn((
                    Mesh3d(pylon.clone()),
                    MeshMaterial3d(counter_mat.clone()),
                    Transform::from_translation(world(dv.at, dv.height + 4.0)),
                ));
            }
            DeviceKind::Air => {
                let h = dv.height + if dv.indoor { 6.0 } else { 14.0 };
                commands.spawn((
                    Mesh3d(ball.clone()),
                    MeshMaterial3d(materials.add(unlit(colors::NO_DATA))),
                    Transform::from_translation(world(dv.at, h)),
                    AirMarker(i),
                ));
            }
            DeviceKind::Energy | DeviceKind::Fire => {}
        }
    }
    let board = meshes.add(Cuboid::new(10.0, 5.0, 1.0));
    let sign_mat = materials.add(unlit(colors::rgb(30, 136, 229)));
    for (_, at) in &l.signs {
        commands.spawn((
            Mesh3d(board.clone()),
            MeshMaterial3d(sign_mat.clone()),
            Transform::from_translation(world(*at, 6.0)),
        ));
    }

    commands.spawn((
        DirectionalLight {
            illuminance: 4_000.0,
            shadow_maps_enabled: false,
            ..default()
        },
        Transform::from_xyz(0.0, 0.0, 0.0).looking_at(Vec3::new(-0.45, -1.0, -0.6), Vec3::Y),
    ));
    commands.insert_resource(GlobalAmbientLight {
        color: Color::WHITE,
        brightness: 500.0,
        ..default()
    });
    commands.insert_resource(ClearColor(colors::rgb(10, 13, 18).into()));
}

/// The scene plugin.
pub struct ScenePlugin {
    /// The district.
    pub layout: Arc<Layout>,
}

impl Plugin for ScenePlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(DistrictLayout(self.layout.clone()))
            .add_systems(Startup, spawn_scene);
    }
}
