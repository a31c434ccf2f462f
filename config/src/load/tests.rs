//! Loader tests: a small valid district, and every validation error with its line.

use crate::{load_str, ConfigError, DeviceKind, LotCounting, Place, Role, Side, ZoneCounting};

/// Two adjacent zones of about 190 m × 220 m side by side, a building, a lot with three bays
/// (shared with the gateway's tests).
pub(crate) const MINI: &str = include_str!("../../../tests/fixtures/mini.toml");

#[test]
fn a_valid_district_loads_with_its_derived_facts() {
    let d = load_str("mini.toml", MINI).unwrap();
    assert_eq!(d.zones.len(), 2);
    // 0.002° × 0.002° at 30.25°N ≈ 192.5 m × 221.7 m ≈ 42,670 m².
    let a = d.zones[0].area_m2;
    assert!((a - 42_670.0).abs() < 200.0, "{a}");
    assert_eq!(d.buildings[0].zone, 0);
    assert_eq!(d.lots[0].zone, 1);
    assert_eq!(d.lots[0].capacity, 3);
    assert_eq!(d.lots[0].counting, LotCounting::Bays);
    assert_eq!(d.zones[0].counting, ZoneCounting::Lines);
    let aq = d.device("aq-1").unwrap();
    assert_eq!(aq.zone, Some(1), "the zone is derived from the location");
    assert_eq!(
        d.device("fc-2").unwrap().role,
        Role::FootfallLine {
            enters: 1,
            leaves: Side::Zone(0)
        }
    );
    assert_eq!(
        d.device("fc-1").unwrap().role,
        Role::FootfallLine {
            enters: 0,
            leaves: Side::Outside
        }
    );
    assert_eq!(d.device("fc-2").unwrap().interval.as_secs(), 30);
    assert_eq!(d.device("ps-2").unwrap().kind, DeviceKind::Parking);
    assert_eq!(d.devices.len(), 7);
    assert_eq!(d.signs[0].lines[0].label.zh, "东停车场");
}

fn problems(text: &str) -> Vec<(usize, String)> {
    match load_str("bad.toml", text) {
        Ok(_) => panic!("expected problems"),
        Err(ConfigError::Invalid(ps)) => ps
            .into_iter()
            .map(|p| match p.place {
                Place::Line(l) => (l, p.message),
                other => panic!("unexpected place {other:?}"),
            })
            .collect(),
        Err(e) => panic!("{e}"),
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

#[test]
fn every_problem_is_reported_at_once_with_its_line() {
    let text = MINI
        .replace(
            "capacity = 2000\noutline = [[120.162",
            "capacty = 2000\noutline = [[120.162",
        )
        .replace(r#"id = "sd-1""#, r#"id = "fc-1""#)
        .replace(r#"lot = "p1", arrow"#, r#"lot = "p9", arrow"#)
        .replace(
            "{ id = \"G-3\", level = \"G\", at = [120.1631, 30.2507]",
            "{ id = \"G-3\", level = \"G\", at = [120.1700, 30.2507]",
        )
        .replace("height_m = 13.5", "height_m = 1350")
        .replace(
            "location = [120.1630, 30.2515]",
            "location = [120.2000, 30.2515]",
        );
    let ps = problems(&text);
    let find = |s: &str| {
        ps.iter()
            .find(|(_, m)| m.contains(s))
            .unwrap_or_else(|| panic!("no problem with {s:?} in {ps:#?}"))
    };
    assert_eq!(find("unknown field `capacty`").0, line_of(&text, "capacty"));
    assert_eq!(
        find("duplicate device id \"fc-1\"").0,
        line_of(&text, "[[devices]]\nid = \"fc-1\"\nkind = \"fire\"")
    );
    assert!(find("duplicate device id")
        .1
        .contains("first declared on line"));
    assert_eq!(find("lot \"p9\"").0, line_of(&text, "[[signs]]"));
    assert_eq!(find("bay \"G-3\"").0, line_of(&text, "{ id = \"G-3\""));
    assert!(find("height_m = 1350").1.contains("metres"));
    assert!(find("outside every zone").1.contains("aq-1"));
    assert!(ps.len() >= 6, "{ps:#?}");
}

#[test]
fn open_and_self_intersecting_outlines_are_refused() {
    let open = MINI.replace(
        "[120.164, 30.252], [120.162, 30.252], [120.162, 30.250]]",
        "[120.164, 30.252], [120.162, 30.252], [120.1621, 30.2501]]",
    );
    let ps = problems(&open);
    assert!(
        ps.iter()
            .any(|(l, m)| m.contains("not closed")
                && *l == line_of(&open, "[[zones]]\nid = \"east\"")),
        "{ps:#?}"
    );
    let bowtie = MINI.replace(
        "[[120.162, 30.250], [120.164, 30.250], [120.164, 30.252], [120.162, 30.252], [120.162, 30.250]]",
        "[[120.162, 30.250], [120.164, 30.252], [120.164, 30.250], [120.162, 30.252], [120.162, 30.250]]",
    );
    let ps = problems(&bowtie);
    assert!(
        ps.iter().any(|(_, m)| m.contains("self-intersecting")),
        "{ps:#?}"
    );
}

#[test]
fn wrong_units_are_named() {
    let t = MINI.replace("interval = \"30s\"", "interval = \"30\"");
    assert!(problems(&t).iter().any(|(_, m)| m.contains("has no unit")));
    let t = MINI.replace("timezone = \"Asia/Shanghai\"", "timezone = \"Beijing\"");
    assert!(problems(&t).iter().any(|(_, m)| m.contains("IANA")));
    let t = MINI.replace(
        "location = [120.1630, 30.2515]",
        "location = [30.2515, 120.1630]",
    );
    assert!(problems(&t)
        .iter()
        .any(|(_, m)| m.contains("[latitude, longitude]")));
    let t = MINI.replace(
        "capacity = 2000\noutline = [[120.162",
        "capacity = 2000000\noutline = [[120.162",
    );
    assert!(problems(&t).iter().any(|(_, m)| m.contains("persons/m²")));
}

#[test]
fn a_syntax_error_names_its_line() {
    let t = MINI.replace("floors = 3", "floors = = 3");
    let ps = problems(&t);
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].0, line_of(&t, "floors = = 3"));
}

#[test]
fn geometry_can_come_from_geojson_with_feature_errors() {
    let dir = tempfile::tempdir().unwrap();
    let geo = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"kind":"building","id":"b1","source":"gis"},
       "geometry":{"type":"MultiPolygon","coordinates":[[[[120.1605,30.2505,0],[120.1610,30.2505,0],[120.1610,30.2510,0],[120.1605,30.2510,0],[120.1605,30.2505,0]]]]}},
      {"type":"Feature","properties":{"kind":"lot","id":"p1"},
       "geometry":{"type":"Polygon","coordinates":[[[120.1625,30.2505],[120.1635,30.2505],[120.1635,30.2510],[120.1625,30.2510]]]}}
    ]}"#;
    std::fs::write(dir.path().join("mini.geojson"), geo).unwrap();
    let text = MINI
        .replace("timezone = \"Asia/Shanghai\"", "timezone = \"Asia/Shanghai\"\ngeojson = \"mini.geojson\"")
        .replace("outline = [[120.1605, 30.2505], [120.1610, 30.2505], [120.1610, 30.2510], [120.1605, 30.2510], [120.1605, 30.2505]]\n", "")
        .replace("outline = [[120.1625, 30.2505], [120.1635, 30.2505], [120.1635, 30.2510], [120.1625, 30.2510], [120.1625, 30.2505]]\n", "");
    let path = dir.path().join("mini.toml");
    std::fs::write(&path, &text).unwrap();
    let err = crate::load(&path).unwrap_err();
    let ps = err.problems();
    assert!(
        ps.iter().any(|p| p.place
            == Place::Feature {
                index: 1,
                id: Some("p1".into())
            }
            && p.message.contains("not closed")),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("mini.geojson: feature #1 (id \"p1\")"),
        "{err}"
    );
    // Fix the lot's ring: it loads, the building's 3D MultiPolygon included.
    std::fs::write(
        dir.path().join("mini.geojson"),
        geo.replace(
            "[120.1625,30.2510]]]",
            "[120.1625,30.2510],[120.1625,30.2505]]]",
        ),
    )
    .unwrap();
    let d = crate::load(&path).unwrap();
    assert_eq!(d.buildings[0].zone, 0);
    assert_eq!(d.lots[0].zone, 1);
}
