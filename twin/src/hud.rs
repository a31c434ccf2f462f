//! HUD plugin: district KPIs (people now and today, parking free/total, AQI, power, alerts),
//! the data clock in the district's time zone, the feed's state, the active-alert list and a
//! legend. Chinese and English, in a CJK font loaded from the system (Debian's
//! `fonts-wqy-microhei` by default; see [`find_cjk_font`]). Laid out for 1080 lines and scaled
//! to the screen, so a 4K wall shows the same layout twice as sharp.

use std::path::{Path, PathBuf};

use bevy::prelude::*;
use district::contract::alert::{AlertMsg, AlertState};

use crate::colors;
use crate::live::Live;
use crate::scene::DistrictLayout;
use crate::stale::Freshness;
use crate::world_labels::HudPanel;

/// Chinese first (`zh`) or English first.
#[derive(Resource, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lang {
    /// Chinese first.
    pub zh: bool,
}

impl Lang {
    /// Picks the caption for the language.
    pub fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.zh {
            zh
        } else {
            en
        }
    }
}

/// The UI font (a CJK font when one was found, else Bevy's built-in Latin subset).
#[derive(Resource, Clone)]
pub struct UiFont(pub Handle<Font>);

impl UiFont {
    /// Text style at a size.
    pub fn at(&self, size: f32) -> TextFont {
        TextFont {
            font: self.0.clone().into(),
            font_size: bevy::text::FontSize::Px(size),
            ..default()
        }
    }
}

/// CJK fonts looked for, in order (Debian/Ubuntu paths).
pub const CJK_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
];

/// The font file to use: `--font` if given, else the first CJK font found.
pub fn find_cjk_font(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    CJK_FONTS.iter().map(PathBuf::from).find(|p| p.exists())
}

/// `12345` → `12,345`.
pub fn fmt_count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// kW → `850 kW` or `12.3 MW`.
pub fn fmt_power(kw: f64) -> String {
    if kw >= 1000.0 {
        format!("{:.1} MW", kw / 1000.0)
    } else {
        format!("{kw:.0} kW")
    }
}

/// The data time in the district's zone: `2026-11-21 10:32:05`.
pub fn fmt_clock(ts: &str, tz: chrono_tz::Tz) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(ts).ok()?;
    Some(t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
}

#[derive(Component)]
struct ClockText;

#[derive(Component)]
struct StatusText;

#[derive(Component, Clone, Copy)]
enum Kpi {
    People,
    Visits,
    Parking,
    Aqi,
    Power,
    Alerts,
}

#[derive(Component)]
struct AqiChip;

#[derive(Component)]
struct AlertList;

/// The panel of KPIs (for the capture manifest and the test).
#[derive(Component)]
pub struct KpiPanel;

/// The alert panel.
#[derive(Component)]
pub struct AlertPanel;

/// The legend panel.
#[derive(Component)]
pub struct LegendPanel;

const PANEL: Color = Color::srgba(0.03, 0.05, 0.08, 0.82);
const DIM: Color = Color::srgb(0.62, 0.68, 0.76);

fn setup(mut commands: Commands, font: Res<UiFont>, lang: Res<Lang>, layout: Res<DistrictLayout>) {
    let f = font.clone();
    let l = &layout.0;
    let (first, second) = if lang.zh {
        (&l.names.zh, &l.names.en)
    } else {
        (&l.names.en, &l.names.zh)
    };
    let panel = |top: bool, left: bool| Node {
        position_type: PositionType::Absolute,
        top: if top { Val::Px(18.0) } else { Val::Auto },
        bottom: if top { Val::Auto } else { Val::Px(18.0) },
        left: if left { Val::Px(18.0) } else { Val::Auto },
        right: if left { Val::Auto } else { Val::Px(18.0) },
        flex_direction: FlexDirection::Column,
        padding: UiRect::all(Val::Px(14.0)),
        row_gap: Val::Px(4.0),
        ..default()
    };
    // KPI panel, top left.
    commands
        .spawn((
            panel(true, true),
            BackgroundColor(PANEL),
            HudPanel,
            KpiPanel,
            Name::new("hud kpis"),
        ))
        .with_children(|p| {
            p.spawn((
                Text::new(first.clone()),
                f.at(30.0),
                TextColor(Color::WHITE),
            ));
            p.spawn((Text::new(second.clone()), f.at(17.0), TextColor(DIM)));
            p.spawn((
                Text::new("--"),
                f.at(20.0),
                TextColor(Color::WHITE),
                ClockText,
            ));
            p.spawn((Text::new("--"), f.at(17.0), TextColor(DIM), StatusText));
            let rows: [(Kpi, &str, &str); 6] = [
                (Kpi::People, "在场人数", "People now"),
                (Kpi::Visits, "今日客流", "Visits today"),
                (Kpi::Parking, "停车 空闲/总数", "Parking free/total"),
                (Kpi::Aqi, "空气质量 AQI", "Air quality AQI"),
                (Kpi::Power, "用电功率", "Power"),
                (Kpi::Alerts, "未关闭告警", "Open alerts"),
            ];
            for (k, zh, en) in rows {
                p.spawn(Node {
                    column_gap: Val::Px(12.0),
                    align_items: AlignItems::Center,
                    margin: UiRect::top(Val::Px(6.0)),
                    ..default()
                })
                .with_children(|r| {
                    r.spawn((
                        Node {
                            width: Val::Px(190.0),
                            ..default()
                        },
                        Text::new(lang.pick(zh, en)),
                        f.at(20.0),
                        TextColor(DIM),
                    ));
                    if matches!(k, Kpi::Aqi) {
                        r.spawn((
                            Node {
                                width: Val::Px(18.0),
                                height: Val::Px(18.0),
                                ..default()
                            },
                            BackgroundColor(colors::NO_DATA.into()),
                            AqiChip,
                        ));
                    }
                    r.spawn((Text::new("--"), f.at(26.0), TextColor(Color::WHITE), k));
                });
            }
        });
    // Alert panel, top right.
    commands
        .spawn((
            Node {
                min_width: Val::Px(420.0),
                max_width: Val::Px(560.0),
                ..panel(true, false)
            },
            BackgroundColor(PANEL),
            HudPanel,
            AlertPanel,
            Name::new("hud alerts"),
        ))
        .with_children(|p| {
            p.spawn((
                Text::new(lang.pick("告警 Alerts", "Alerts 告警")),
                f.at(24.0),
                TextColor(Color::WHITE),
            ));
            p.spawn((
                Node {
                    flex_direction: FlexDirection::Column,
                    row_gap: Val::Px(6.0),
                    ..default()
                },
                AlertList,
            ))
            .with_children(|l| {
                l.spawn((
                    Text::new(lang.pick("无告警", "No open alerts")),
                    f.at(18.0),
                    TextColor(DIM),
                ));
            });
        });
    // Legend, bottom left.
    commands
        .spawn((
            Node {
                flex_direction: FlexDirection::Row,
                column_gap: Val::Px(14.0),
                align_items: AlignItems::Center,
                ..panel(false, true)
            },
            BackgroundColor(PANEL),
            HudPanel,
            LegendPanel,
            Name::new("hud legend"),
        ))
        .with_children(|p| {
            let levels = [
                ("正常", "Normal"),
                ("繁忙", "Busy"),
                ("拥挤", "Crowded"),
                ("危险", "Critical"),
            ];
            p.spawn((
                Text::new(lang.pick("人流密度", "Crowd")),
                f.at(16.0),
                TextColor(DIM),
            ));
            for ((_, c), (zh, en)) in colors::crowd_legend().into_iter().zip(levels) {
                p.spawn((
                    Node {
                        width: Val::Px(16.0),
                        height: Val::Px(16.0),
                        ..default()
                    },
                    BackgroundColor(c.into()),
                ));
                p.spawn((
                    Text::new(lang.pick(zh, en)),
                    f.at(16.0),
                    TextColor(Color::WHITE),
                ));
            }
            p.spawn((
                Node {
                    width: Val::Px(16.0),
                    height: Val::Px(16.0),
                    ..default()
                },
                BackgroundColor(colors::NO_DATA.into()),
            ));
            p.spawn((
                Text::new(lang.pick("无数据", "No data")),
                f.at(16.0),
                TextColor(Color::WHITE),
            ));
            p.spawn((
                Text::new(lang.pick("  车位", "  Bays")),
                f.at(16.0),
                TextColor(DIM),
            ));
            for (s, zh, en) in [
                (b'F', "空闲", "Free"),
                (b'O', "占用", "Taken"),
                (b'R', "预约", "Reserved"),
            ] {
                p.spawn((
                    Node {
                        width: Val::Px(16.0),
                        height: Val::Px(16.0),
                        ..default()
                    },
                    BackgroundColor(colors::bay(s).into()),
                ));
                p.spawn((
                    Text::new(lang.pick(zh, en)),
                    f.at(16.0),
                    TextColor(Color::WHITE),
                ));
            }
        });
}

#[allow(clippy::type_complexity)]
fn update_kpis(
    live: Res<Live>,
    lang: Res<Lang>,
    layout: Res<DistrictLayout>,
    mut texts: ParamSet<(
        Query<(&mut Text, &Kpi)>,
        Query<&mut Text, With<ClockText>>,
        Query<(&mut Text, &mut TextColor), With<StatusText>>,
    )>,
    mut chip: Query<&mut BackgroundColor, With<AqiChip>>,
) {
    if !live.is_changed() {
        return;
    }
    let fresh = live.freshness(live.summary.is_some());
    let stale_tag = if fresh.is_live() {
        String::new()
    } else {
        format!("  ({})", fresh.label(lang.zh))
    };
    if let Some(s) = &live.summary {
        for (mut t, k) in texts.p0().iter_mut() {
            let v = match k {
                Kpi::People => fmt_count(s.people_now),
                Kpi::Visits => fmt_count(s.visits_today),
                Kpi::Parking => format!(
                    "{} / {}",
                    fmt_count(s.parking_free as u64),
                    fmt_count(s.parking_total as u64)
                ),
                Kpi::Aqi => match s.aqi {
                    Some(a) => format!("{a} {}", aqi_name(colors::aqi_level(a), lang.zh)),
                    None => "--".into(),
                },
                Kpi::Power => fmt_power(s.power_kw),
                Kpi::Alerts => live
                    .alerts
                    .as_ref()
                    .map_or(s.active_alerts, |a| a.alerts.len() as u32)
                    .to_string(),
            };
            t.0 = format!(
                "{v}{}",
                if matches!(k, Kpi::People) {
                    &stale_tag
                } else {
                    ""
                }
            );
        }
        if let (Some(a), Ok(mut c)) = (s.aqi, chip.single_mut()) {
            c.0 = colors::aqi_color(colors::aqi_level(a)).into();
        }
        if let Ok(mut t) = texts.p1().single_mut() {
            let when = fmt_clock(&s.ts, layout.0.timezone).unwrap_or_else(|| s.ts.clone());
            t.0 = format!("{} {when}", lang.pick("数据时间", "Data time"));
        }
    }
    if let Ok((mut t, mut c)) = texts.p2().single_mut() {
        let (text, color) = match (fresh, live.health.connected) {
            (Freshness::Live, _) => (
                lang.pick("● 实时 LIVE", "● LIVE 实时").to_string(),
                colors::rgb(0, 200, 83),
            ),
            (Freshness::NoData, true) => (
                lang.pick("● 已连接，等待数据", "● Connected, waiting for data")
                    .to_string(),
                colors::rgb(255, 179, 0),
            ),
            (Freshness::NoData, false) => (
                lang.pick("● 正在连接…", "● Connecting…").to_string(),
                colors::rgb(255, 179, 0),
            ),
            (f, _) => (
                format!("● {} / {}", f.label(true), f.label(false)),
                colors::rgb(229, 57, 53),
            ),
        };
        t.0 = text;
        c.0 = color.into();
    }
}

fn aqi_name(level: u8, zh: bool) -> &'static str {
    let names = [
        ("优", "Good"),
        ("良", "Moderate"),
        ("轻度污染", "Light"),
        ("中度污染", "Moderate+"),
        ("重度污染", "Heavy"),
        ("严重污染", "Severe"),
    ];
    let (z, e) = names[(level.clamp(1, 6) - 1) as usize];
    if zh {
        z
    } else {
        e
    }
}

/// Where an alert is, in words: the building and zone names in the context.
pub fn alert_place(a: &AlertMsg, l: &crate::model::Layout, zh: bool) -> String {
    let name = |n: &district::Names| if zh { n.zh.clone() } else { n.en.clone() };
    let ctx = |k: &str| {
        a.context
            .get(k)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let mut parts = Vec::new();
    if let Some(b) = ctx("building").or_else(|| l.building(&a.subject).map(|_| a.subject.clone())) {
        parts.push(l.building(&b).map_or(b, |i| name(&l.buildings[i].names)));
    }
    if let Some(z) = ctx("zone").or_else(|| l.zone(&a.subject).map(|_| a.subject.clone())) {
        parts.push(l.zone(&z).map_or(z, |i| name(&l.zones[i].names)));
    }
    if let Some(f) = a.context.get("floors").or_else(|| a.context.get("floor")) {
        parts.push(format!("{}{f}", if zh { "楼层 " } else { "floor " }));
    }
    if let Some(p) = a.context.get("people").and_then(|v| v.as_u64()) {
        parts.push(format!(
            "{} {}",
            fmt_count(p),
            if zh { "人" } else { "people" }
        ));
    }
    parts.join(" · ")
}

fn update_alerts(
    mut commands: Commands,
    live: Res<Live>,
    lang: Res<Lang>,
    font: Res<UiFont>,
    layout: Res<DistrictLayout>,
    list: Query<Entity, With<AlertList>>,
    mut shown: Local<Option<Vec<(String, AlertState, district::contract::alert::Severity)>>>,
) {
    if !live.is_changed() {
        return;
    }
    let Ok(list) = list.single() else { return };
    let mut alerts: Vec<&AlertMsg> = live
        .alerts
        .as_ref()
        .map(|a| a.alerts.iter().collect())
        .unwrap_or_default();
    // Unacknowledged first, then by severity, newest first.
    alerts.sort_by(|a, b| {
        (b.state == AlertState::Raised, b.severity, &b.raised_at).cmp(&(
            a.state == AlertState::Raised,
            a.severity,
            &a.raised_at,
        ))
    });
    let key: Vec<_> = alerts
        .iter()
        .map(|a| (a.id.clone(), a.state, a.severity))
        .collect();
    if shown.as_ref() == Some(&key) {
        return;
    }
    *shown = Some(key);
    let f = font.clone();
    commands.entity(list).despawn_related::<Children>();
    commands.entity(list).with_children(|l| {
        if alerts.is_empty() {
            l.spawn((
                Text::new(lang.pick("无告警", "No open alerts")),
                f.at(18.0),
                TextColor(DIM),
            ));
        }
        for a in alerts.iter().take(8) {
            let c = colors::severity(a.severity);
            let state = match a.state {
                AlertState::Raised => lang.pick("未确认", "UNACKED"),
                AlertState::Acknowledged => lang.pick("已确认", "ACKED"),
                AlertState::Cleared => lang.pick("已清除", "CLEARED"),
            };
            l.spawn(Node {
                column_gap: Val::Px(10.0),
                align_items: AlignItems::Start,
                ..default()
            })
            .with_children(|r| {
                r.spawn((
                    Node {
                        width: Val::Px(10.0),
                        height: Val::Px(44.0),
                        ..default()
                    },
                    BackgroundColor(c.into()),
                ));
                r.spawn(Node {
                    flex_direction: FlexDirection::Column,
                    ..default()
                })
                .with_children(|col| {
                    col.spawn((
                        Text::new(a.text.clone()),
                        f.at(19.0),
                        TextColor(Color::WHITE),
                    ));
                    col.spawn((
                        Text::new(format!("{state} · {}", alert_place(a, &layout.0, lang.zh))),
                        f.at(15.0),
                        TextColor(if a.state == AlertState::Raised {
                            c.into()
                        } else {
                            DIM
                        }),
                    ));
                });
            });
        }
        if alerts.len() > 8 {
            l.spawn((
                Text::new(format!("+{}", alerts.len() - 8)),
                f.at(18.0),
                TextColor(DIM),
            ));
        }
    });
}

/// Scales the UI so the layout made for 1080 lines fills any screen.
fn scale_ui(
    camera: Query<&Camera, With<crate::bigscreen::TwinCamera>>,
    mut scale: ResMut<UiScale>,
) {
    if let Some(size) = camera.single().ok().and_then(|c| c.logical_viewport_size()) {
        let s = (size.y / 1080.0).max(0.25);
        if (scale.0 - s).abs() > 1e-3 {
            scale.0 = s;
        }
    }
}

/// The HUD plugin.
pub struct HudPlugin {
    /// Font bytes (a CJK font), or None for Bevy's built-in font.
    pub font: Option<Vec<u8>>,
    /// Language first shown.
    pub lang: Lang,
}

impl Plugin for HudPlugin {
    fn build(&self, app: &mut App) {
        let handle = match &self.font {
            Some(bytes) => app
                .world_mut()
                .resource_mut::<Assets<Font>>()
                .add(Font::from_bytes(bytes.clone())),
            None => Handle::default(),
        };
        app.insert_resource(UiFont(handle))
            .insert_resource(self.lang)
            .add_systems(Startup, setup)
            .add_systems(Update, (update_kpis, update_alerts, scale_ui));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well_from_across_the_room() {
        assert_eq!(fmt_count(0), "0");
        assert_eq!(fmt_count(999), "999");
        assert_eq!(fmt_count(1000), "1,000");
        assert_eq!(fmt_count(1234567), "1,234,567");
        assert_eq!(fmt_power(850.4), "850 kW");
        assert_eq!(fmt_power(12_345.0), "12.3 MW");
    }

    #[test]
    fn clock_is_in_the_district_time_zone() {
        let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
        assert_eq!(
            fmt_clock("2026-11-21T02:00:05Z", tz).as_deref(),
            Some("2026-11-21 10:00:05")
        );
        assert_eq!(fmt_clock("garbage", tz), None);
    }

    #[test]
    fn alert_place_names_building_zone_and_people() {
        let d = district::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/districts/hubin.toml"
        ))
        .unwrap();
        let l = crate::model::Layout::new(&d);
        let a = AlertMsg {
            id: "x".into(),
            rule: "fire".into(),
            subject: "b05".into(),
            category: "fire".into(),
            sub_category: "buildingFire".into(),
            severity: district::contract::alert::Severity::Critical,
            state: AlertState::Raised,
            transition: "raised".into(),
            escalation: 0,
            text: "火警".into(),
            context: serde_json::json!({"building": "b05", "zone": "in77-a", "people": 1234}),
            raised_at: "t".into(),
            ts: "t".into(),
        };
        let zh = alert_place(&a, &l, true);
        assert!(zh.contains("in77 A区") && zh.contains("1,234 人"), "{zh}");
        let en = alert_place(&a, &l, false);
        assert!(en.contains("in77 Zone A"), "{en}");
    }

    #[test]
    fn a_cjk_font_is_found_when_installed() {
        if Path::new(CJK_FONTS[0]).exists() {
            assert_eq!(
                find_cjk_font(None).as_deref(),
                Some(Path::new(CJK_FONTS[0]))
            );
        }
        assert_eq!(
            find_cjk_font(Some(Path::new("/x.ttf"))).as_deref(),
            Some(Path::new("/x.ttf"))
        );
    }
}
