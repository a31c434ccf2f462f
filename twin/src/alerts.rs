//! Alert overlay: for every open alert a beacon at its place (the burning building, the crowded
//! zone, the device) coloured by severity: a tall column of light and a ring pulsing out from
//! its foot; a building that is the subject of a fire alert is painted in the alert colour; an
//! alert tag names it. Feeds the camera director ([`AlertTargets`]), which flies to a new
//! critical alert and back to the tour once it is acknowledged.

use std::collections::HashMap;

use bevy::prelude::*;
use district::contract::alert::{AlertMsg, AlertState, Severity};

use crate::bigscreen::AlertTargets;
use crate::colors;
use crate::hud::{Lang, UiFont};
use crate::labels::estimate_size;
use crate::live::Live;
use crate::model::{poly_bounds, world, Bounds, Layout};
use crate::scene::{BuildingBody, DistrictLayout};
use crate::tour::AlertView;
use crate::world_labels::{world_box, Placed, WorldLabel};

/// Where an alert is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spot {
    /// Ground point, local metres.
    pub at: Vec2,
    /// Height of the thing (building height; 0 on the ground).
    pub height: f32,
    /// The building it paints, if any.
    pub building: Option<usize>,
    /// Its extent on the ground.
    pub bounds: crate::model::Bounds,
}

/// Places an alert: the `building` of its context, else its `zone`, `lot` or `device`, else its
/// subject read as a building, zone, lot or device id.
pub fn locate(a: &AlertMsg, l: &Layout) -> Option<Spot> {
    let ctx = |k: &str| a.context.get(k).and_then(|v| v.as_str());
    let building = |id: &str| {
        l.building(id).map(|i| Spot {
            at: l.buildings[i].anchor,
            height: l.buildings[i].height,
            building: Some(i),
            bounds: poly_bounds(&l.buildings[i].polys),
        })
    };
    let zone = |id: &str| {
        l.zone(id).map(|i| Spot {
            at: l.zones[i].anchor,
            height: 0.0,
            building: None,
            bounds: l.zones[i].bounds,
        })
    };
    let lot = |id: &str| {
        l.lot(id).map(|i| Spot {
            at: l.lots[i].anchor,
            height: 0.0,
            building: None,
            bounds: poly_bounds(&l.lots[i].polys),
        })
    };
    let device = |id: &str| {
        l.device(id).map(|i| Spot {
            at: l.devices[i].at,
            height: l.devices[i].height,
            building: None,
            bounds: Bounds {
                min: l.devices[i].at - Vec2::splat(10.0),
                max: l.devices[i].at + Vec2::splat(10.0),
            },
        })
    };
    ctx("building")
        .and_then(building)
        .or_else(|| ctx("zone").and_then(zone))
        .or_else(|| ctx("lot").and_then(lot))
        .or_else(|| ctx("device").and_then(device))
        .or_else(|| building(&a.subject))
        .or_else(|| zone(&a.subject))
        .or_else(|| lot(&a.subject))
        .or_else(|| device(&a.subject))
}

/// Open alerts gathered by place, so one place shows one beacon: a building, else the zone
/// the alert's spot lies in (a zone's own alerts and those of its devices), else the spot.
/// Each group: where (a zone group sits at the zone's anchor) and its alerts, worst first.
pub fn by_place<'a>(open: &[&'a AlertMsg], l: &Layout) -> Vec<(Spot, Vec<&'a AlertMsg>)> {
    let mut groups: Vec<((u8, usize), Spot, Vec<&'a AlertMsg>)> = Vec::new();
    for a in open {
        let Some(spot) = locate(a, l) else { continue };
        let (key, spot) = match spot.building {
            Some(b) => ((0, b), spot),
            None => match l
                .zones
                .iter()
                .position(|z| z.polys.iter().any(|p| p.contains(spot.at)))
            {
                Some(z) => (
                    (1, z),
                    Spot {
                        at: l.zones[z].anchor,
                        height: 0.0,
                        building: None,
                        bounds: l.zones[z].bounds,
                    },
                ),
                None => ((2, groups.len()), spot),
            },
        };
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.2.push(a),
            None => groups.push((key, spot, vec![a])),
        }
    }
    groups
        .into_iter()
        .map(|(_, spot, mut v)| {
            v.sort_by_key(|a| std::cmp::Reverse((a.severity, a.state == AlertState::Raised)));
            (spot, v)
        })
        .collect()
}

/// What an alert is, in two words per language, from its Smart Data Models sub-category.
pub fn kind_name(a: &AlertMsg) -> (&'static str, &'static str) {
    match a.sub_category.as_str() {
        "buildingFire" => ("火警", "Fire"),
        "crowdRisk" => ("人流密度", "Crowd density"),
        "overCapacity" => ("超出容量", "Over capacity"),
        "crowdRisingFast" => ("人数快升", "Crowd rising"),
        "airPollution" => ("空气污染", "Air pollution"),
        "indoorCO2" => ("二氧化碳", "CO2"),
        "powerOverload" => ("用电超载", "Power overload"),
        "consumptionWhenClosed" => ("闭店用电", "Power when closed"),
        "deviceNotResponding" => ("设备离线", "Device offline"),
        "detectorFault" => ("探测器故障", "Detector fault"),
        "stuckValue" | "implausibleValue" => ("设备读数异常", "Device reading"),
        _ => match a.category.as_str() {
            "fire" => ("火警", "Fire"),
            "security" => ("安全", "Security"),
            "environment" => ("环境", "Environment"),
            "traffic" => ("交通", "Traffic"),
            _ => ("告警", "Alert"),
        },
    }
}

/// A short tag for the 3D view: `火警 Fire · 湖滨银泰in77 A区` (the gateway's own text is a
/// sentence in both languages, fine for the list, too long to pin on a building).
pub fn tag_title(a: &AlertMsg, l: &Layout, zh: bool) -> String {
    let (kz, ke) = kind_name(a);
    let name = |n: &district::Names| if zh { n.zh.clone() } else { n.en.clone() };
    let ctx = |k: &str| a.context.get(k).and_then(|v| v.as_str());
    let place = ctx("building")
        .and_then(|b| l.building(b))
        .map(|i| name(&l.buildings[i].names))
        .or_else(|| {
            ctx("zone")
                .or(Some(a.subject.as_str()))
                .and_then(|z| l.zone(z))
                .map(|i| name(&l.zones[i].names))
        })
        .or_else(|| l.building(&a.subject).map(|i| name(&l.buildings[i].names)))
        .unwrap_or_else(|| a.subject.clone());
    if zh {
        format!("{kz} {ke} · {place}")
    } else {
        format!("{ke} {kz} · {place}")
    }
}

/// Beacon pulse: ring radius factor and column brightness at time `t` (s), one pulse a second
/// for critical alerts, slower below.
pub fn pulse(t: f32, s: Severity) -> (f32, f32) {
    let period = if s == Severity::Critical { 1.0 } else { 2.0 };
    let phase = (t / period).fract();
    (0.3 + 0.7 * phase, 0.75 + 0.25 * (1.0 - phase))
}

/// Everything drawn for the open alerts (despawned and redrawn when the list changes).
#[derive(Component)]
struct Beacon;

#[derive(Component)]
struct Ring {
    severity: Severity,
    radius: f32,
}

#[derive(Resource)]
struct AlertAssets {
    column: Handle<Mesh>,
    ring: Handle<Mesh>,
    /// Per severity: column, ring, building paint.
    mats: HashMap<Severity, [Handle<StandardMaterial>; 3]>,
}

const SEVERITIES: [Severity; 5] = [
    Severity::Info,
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];

fn setup(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let column = meshes.add(Cylinder::new(4.0, 1.0));
    let ring = meshes.add(Annulus::new(0.85, 1.0).mesh().resolution(64));
    let mats = SEVERITIES
        .iter()
        .map(|&s| {
            let c = colors::severity(s);
            let col = materials.add(crate::scene::unlit(c));
            let ring = materials.add(StandardMaterial {
                alpha_mode: AlphaMode::Blend,
                double_sided: true,
                cull_mode: None,
                ..crate::scene::unlit(c.with_alpha(0.8))
            });
            let paint = materials.add(crate::scene::unlit(c));
            (s, [col, ring, paint])
        })
        .collect();
    commands.insert_resource(AlertAssets { column, ring, mats });
}

#[allow(clippy::too_many_arguments)]
fn sync(
    mut commands: Commands,
    live: Res<Live>,
    layout: Res<DistrictLayout>,
    assets: Res<AlertAssets>,
    font: Res<UiFont>,
    lang: Res<Lang>,
    mut targets: ResMut<AlertTargets>,
    beacons: Query<(Entity, &Beacon)>,
    mut buildings: Query<(&BuildingBody, &mut MeshMaterial3d<StandardMaterial>)>,
    mut shown: Local<Vec<(String, Severity, AlertState)>>,
) {
    if !live.is_changed() {
        return;
    }
    let l = &layout.0;
    let open: Vec<&AlertMsg> = live
        .alerts
        .as_ref()
        .map(|a| {
            a.alerts
                .iter()
                .filter(|a| a.state != AlertState::Cleared)
                .collect()
        })
        .unwrap_or_default();
    targets.0 = open
        .iter()
        .map(|a| AlertView {
            id: a.id.clone(),
            severity: a.severity,
            state: a.state,
            at: locate(a, l).map(|s| world(s.at, s.height * 0.5)),
        })
        .collect();
    let key: Vec<_> = open
        .iter()
        .map(|a| (a.id.clone(), a.severity, a.state))
        .collect();
    if *shown == key {
        return;
    }
    *shown = key;
    for (e, _) in beacons.iter() {
        commands.entity(e).despawn();
    }
    // Buildings: the worst open alert on each paints it; the others get their own look back.
    let mut paint: HashMap<usize, Severity> = HashMap::new();
    for a in &open {
        if let Some(Spot {
            building: Some(b), ..
        }) = locate(a, l)
        {
            let s = paint.entry(b).or_insert(a.severity);
            *s = (*s).max(a.severity);
        }
    }
    for (b, mut m) in buildings.iter_mut() {
        let want = match paint.get(&b.index) {
            Some(s) => assets.mats[s][2].clone(),
            None => b.own.clone(),
        };
        if m.0 != want {
            m.0 = want;
        }
    }
    for (spot, group) in by_place(&open, l) {
        let a = group[0];
        let [col, ring, _] = &assets.mats[&a.severity];
        let tall = 120.0 + spot.height;
        let radius = if spot.building.is_some() {
            45.0
        } else {
            (spot.bounds.size().min_element() * 0.45).clamp(20.0, 60.0)
        };
        commands
            .spawn((
                Transform::from_translation(world(spot.at, 0.0)),
                Visibility::Inherited,
                Beacon,
            ))
            .with_children(|p| {
                p.spawn((
                    Mesh3d(assets.column.clone()),
                    MeshMaterial3d(col.clone()),
                    Transform::from_xyz(0.0, spot.height + (tall - spot.height) * 0.5, 0.0)
                        .with_scale(Vec3::new(1.0, tall - spot.height, 1.0)),
                ));
                p.spawn((
                    Mesh3d(assets.ring.clone()),
                    MeshMaterial3d(ring.clone()),
                    Transform::from_xyz(0.0, 1.0, 0.0)
                        .with_rotation(Quat::from_rotation_x(-std::f32::consts::FRAC_PI_2))
                        .with_scale(Vec3::splat(radius)),
                    Ring {
                        severity: a.severity,
                        radius,
                    },
                ));
            });
        // The tag: the worst alert here, and how many more.
        let c = colors::severity(a.severity);
        let state = if group.iter().any(|a| a.state == AlertState::Raised) {
            lang.pick("未确认", "UNACKED")
        } else {
            lang.pick("已确认", "ACKED")
        };
        let title = tag_title(a, l, lang.zh);
        let title = if group.len() > 1 {
            format!("{title} (+{})", group.len() - 1)
        } else {
            title
        };
        let estimate = estimate_size(&[(&title, 17.0), (state, 14.0)], Vec2::new(8.0, 4.0));
        commands
            .spawn((
                Node {
                    position_type: PositionType::Absolute,
                    flex_direction: FlexDirection::Column,
                    padding: UiRect::axes(Val::Px(8.0), Val::Px(3.0)),
                    border: UiRect::all(Val::Px(2.0)),
                    ..default()
                },
                BackgroundColor(Color::srgba(0.1, 0.0, 0.04, 0.88)),
                BorderColor::all(c),
                Visibility::Hidden,
                WorldLabel {
                    anchor: world(spot.at, tall),
                    priority: 20 + a.severity as i32,
                    estimate,
                    // The subject, its ring and its column stay in sight.
                    // A high or critical alert keeps labels off its subject: the building (or
                    // the ring on a zone) and the column above it.
                    around: Some(world_box(
                        &match spot.building {
                            Some(_) => spot.bounds,
                            None => Bounds {
                                min: spot.at - Vec2::splat(radius),
                                max: spot.at + Vec2::splat(radius),
                            },
                        },
                        0.0,
                        tall,
                    )),
                    protect: a.severity >= Severity::High,
                },
                Placed::default(),
                Beacon,
            ))
            .with_children(|p| {
                p.spawn((Text::new(title), font.at(17.0), TextColor(Color::WHITE)));
                p.spawn((Text::new(state), font.at(14.0), TextColor(c.into())));
            });
    }
}

fn animate(time: Res<Time>, mut rings: Query<(&Ring, &mut Transform)>) {
    let t = time.elapsed_secs();
    for (r, mut tr) in rings.iter_mut() {
        let (k, _) = pulse(t, r.severity);
        tr.scale = Vec3::splat(r.radius * k);
    }
}

/// The alert overlay plugin.
pub struct AlertsPlugin;

impl Plugin for AlertsPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, setup)
            .add_systems(Update, (sync.before(crate::bigscreen::CameraSet), animate));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(subject: &str, ctx: serde_json::Value) -> AlertMsg {
        AlertMsg {
            id: "a".into(),
            rule: "fire".into(),
            subject: subject.into(),
            category: "fire".into(),
            sub_category: "buildingFire".into(),
            severity: Severity::Critical,
            state: AlertState::Raised,
            transition: "raised".into(),
            escalation: 0,
            text: "t".into(),
            context: ctx,
            raised_at: "t".into(),
            ts: "t".into(),
        }
    }

    #[test]
    fn alerts_are_placed_by_context_then_subject() {
        let d = district::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/districts/hubin.toml"
        ))
        .unwrap();
        let l = Layout::new(&d);
        let b05 = l.building("b05").unwrap();
        let fire = locate(
            &alert(
                "b05",
                serde_json::json!({"building": "b05", "zone": "in77-a"}),
            ),
            &l,
        )
        .unwrap();
        assert_eq!(fire.building, Some(b05));
        assert_eq!(fire.at, l.buildings[b05].anchor);
        let crowd = locate(
            &alert(
                "fountain-plaza",
                serde_json::json!({"zone": "fountain-plaza"}),
            ),
            &l,
        )
        .unwrap();
        assert_eq!(crowd.at, l.zones[l.zone("fountain-plaza").unwrap()].anchor);
        assert_eq!(crowd.building, None);
        // No context: the subject.
        assert_eq!(
            locate(&alert("b05", serde_json::json!({})), &l)
                .unwrap()
                .building,
            Some(b05)
        );
        assert!(
            locate(&alert("aq-03", serde_json::json!(null)), &l).is_some(),
            "a device"
        );
        assert!(locate(&alert("nowhere", serde_json::json!({})), &l).is_none());
    }

    #[test]
    fn alerts_at_one_place_share_one_beacon_worst_first() {
        let d = district::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/districts/hubin.toml"
        ))
        .unwrap();
        let l = Layout::new(&d);
        let mut crowd = alert(
            "fountain-plaza",
            serde_json::json!({"zone": "fountain-plaza"}),
        );
        crowd.id = "crowd".into();
        let mut occ = crowd.clone();
        occ.id = "occupancy".into();
        occ.severity = Severity::High;
        let mut dev = alert("fa-01", serde_json::json!({"device": "fa-01"}));
        dev.id = "jump".into();
        dev.severity = Severity::Low;
        let fire = alert(
            "b05",
            serde_json::json!({"building": "b05", "zone": "in77-a"}),
        );
        let open = [&occ, &dev, &crowd, &fire];
        let g = by_place(&open, &l);
        assert_eq!(
            g.len(),
            2,
            "the plaza (its alerts and its counter's) and the building"
        );
        let ids: Vec<&str> = g[0].1.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["crowd", "occupancy", "jump"]);
        assert_eq!(g[0].0.at, l.zones[l.zone("fountain-plaza").unwrap()].anchor);
        assert_eq!(g[1].0.building, l.building("b05"));
    }

    #[test]
    fn tags_are_short_and_name_the_place() {
        let d = district::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/districts/hubin.toml"
        ))
        .unwrap();
        let l = Layout::new(&d);
        let fire = alert(
            "b05",
            serde_json::json!({"building": "b05", "zone": "in77-a"}),
        );
        let t = tag_title(&fire, &l, true);
        assert!(t.starts_with("火警 Fire · "), "{t}");
        assert!(t.chars().count() < 30, "{t}");
        let mut crowd = alert(
            "fountain-plaza",
            serde_json::json!({"zone": "fountain-plaza"}),
        );
        crowd.sub_category = "crowdRisk".into();
        assert_eq!(
            tag_title(&crowd, &l, false),
            "Crowd density 人流密度 · Musical Fountain Plaza"
        );
    }

    #[test]
    fn critical_beacons_pulse_faster() {
        let (a, _) = pulse(0.5, Severity::Critical);
        let (b, _) = pulse(0.5, Severity::Medium);
        assert!(a > b);
        let (k0, _) = pulse(0.0, Severity::Critical);
        let (k1, _) = pulse(0.99, Severity::Critical);
        assert!(k0 < k1 && k1 <= 1.0);
    }
}
