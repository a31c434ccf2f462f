//! What the sink writes: one measurement per reading kind and per derived series, with the
//! district model's places as tags. [`SCHEMA`] lists every measurement, tag and field; the
//! README's table and the Grafana dashboard test are checked against it, and the unit tests
//! check that every point built here stays inside it.
//!
//! Raw readings keep the device's event time; derived series (minute rollups) are stamped
//! with the end of their minute; alerts with the time of their transition.

use district::contract::alert::{AlertMsg, AlertState, Severity};
use district::contract::reading::{FireState, Measurement};
use district::contract::time::parse_text;
use district::{Device, District, Role};

use super::line::{Field, Point};

/// The type of a field as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `12i`
    Int,
    /// `0.5`
    Float,
    /// `true`
    Bool,
    /// `"alarm"`
    Str,
}

/// One measurement of the schema.
#[derive(Debug)]
pub struct MeasurementSpec {
    /// Name.
    pub name: &'static str,
    /// Raw readings (`raw`), minute rollups (`minute`) or alert transitions (`alert`).
    pub source: &'static str,
    /// Tags it may carry.
    pub tags: &'static [&'static str],
    /// Fields it may carry.
    pub fields: &'static [(&'static str, Kind)],
}

use Kind::*;

/// Every measurement the sink writes.
pub const SCHEMA: &[MeasurementSpec] = &[
    MeasurementSpec {
        name: "footfall",
        source: "raw",
        tags: &["district", "zone", "building", "device"],
        fields: &[("in", Int), ("out", Int), ("count", Int)],
    },
    MeasurementSpec {
        name: "parking_bay",
        source: "raw",
        tags: &["district", "zone", "lot", "level", "device"],
        fields: &[("occupied", Bool)],
    },
    MeasurementSpec {
        name: "parking_entrance",
        source: "raw",
        tags: &["district", "zone", "lot", "device"],
        fields: &[("entries", Int), ("exits", Int)],
    },
    MeasurementSpec {
        name: "air",
        source: "raw",
        tags: &["district", "zone", "building", "device"],
        fields: &[
            ("pm25", Float),
            ("pm10", Float),
            ("no2", Float),
            ("so2", Float),
            ("o3", Float),
            ("co", Float),
            ("co2", Float),
            ("temp", Float),
            ("rh", Float),
        ],
    },
    MeasurementSpec {
        name: "energy",
        source: "raw",
        tags: &["district", "zone", "building", "device"],
        fields: &[("kwh", Float), ("kw", Float), ("v", Float), ("pf", Float)],
    },
    MeasurementSpec {
        name: "fire",
        source: "raw",
        tags: &["district", "zone", "building", "floor", "device"],
        fields: &[("state", Str), ("alarm", Bool)],
    },
    MeasurementSpec {
        name: "zone",
        source: "minute",
        tags: &["district", "zone"],
        fields: &[
            ("people", Int),
            ("density", Float),
            ("in", Int),
            ("out", Int),
        ],
    },
    MeasurementSpec {
        name: "parking_lot",
        source: "minute",
        tags: &["district", "zone", "lot"],
        fields: &[
            ("free", Int),
            ("capacity", Int),
            ("entries", Int),
            ("exits", Int),
            ("occupancy", Float),
            ("dwell_min", Float),
        ],
    },
    MeasurementSpec {
        name: "bay_flow",
        source: "minute",
        tags: &["district", "zone", "lot", "bay"],
        fields: &[("entries", Int)],
    },
    MeasurementSpec {
        name: "aqi",
        source: "minute",
        tags: &["district", "zone", "building", "device"],
        fields: &[
            ("aqi", Int),
            ("level", Int),
            ("pm25", Float),
            ("co2", Float),
        ],
    },
    MeasurementSpec {
        name: "building",
        source: "minute",
        tags: &["district", "zone", "building"],
        fields: &[("kw", Float), ("kwh_today", Float)],
    },
    MeasurementSpec {
        name: "alert",
        source: "alert",
        tags: &[
            "district", "rule", "category", "subject", "zone", "building",
        ],
        fields: &[
            ("severity", Int),
            ("active", Bool),
            ("state", Str),
            ("transition", Str),
            ("escalation", Int),
            ("id", Str),
        ],
    },
];

/// The spec of a measurement.
pub fn spec(name: &str) -> Option<&'static MeasurementSpec> {
    SCHEMA.iter().find(|m| m.name == name)
}

fn zone_id(d: &District, z: Option<usize>) -> String {
    z.and_then(|z| d.zones.get(z))
        .map(|z| z.id.clone())
        .unwrap_or_default()
}

fn building_id(d: &District, b: Option<usize>) -> String {
    b.and_then(|b| d.buildings.get(b))
        .map(|b| b.id.clone())
        .unwrap_or_default()
}

/// The point of one raw reading. `device` is `None` for a device the served districts no
/// longer declare (then only `district` and `device` tags are written).
pub fn reading(
    district_id: &str,
    device_id: &str,
    model: Option<(&District, &Device)>,
    ts_ms: i64,
    m: &Measurement,
) -> Point {
    let measurement = match m {
        Measurement::Line { .. } | Measurement::Area { .. } => "footfall",
        Measurement::Bay { .. } => "parking_bay",
        Measurement::Entrance { .. } => "parking_entrance",
        Measurement::Air(_) => "air",
        Measurement::Energy(_) => "energy",
        Measurement::Fire { .. } => "fire",
    };
    let mut p = Point::new(measurement, ts_ms)
        .tag("district", district_id)
        .tag("device", device_id);
    if let Some((d, dev)) = model {
        p = match &dev.role {
            Role::FootfallLine { enters, .. } => p
                .tag("zone", zone_id(d, Some(*enters)))
                .tag("building", building_id(d, dev.building)),
            Role::FootfallArea { zone } => p
                .tag("zone", zone_id(d, Some(*zone)))
                .tag("building", building_id(d, dev.building)),
            Role::Bay { lot, bay } => {
                let l = &d.lots[*lot];
                let level = l.bays.get(*bay).and_then(|b| l.levels.get(b.level));
                p.tag("lot", l.id.clone())
                    .tag("zone", zone_id(d, Some(l.zone)))
                    .tag("level", level.map(|v| v.id.clone()).unwrap_or_default())
            }
            Role::Entrance { lot } => p
                .tag("lot", d.lots[*lot].id.clone())
                .tag("zone", zone_id(d, Some(d.lots[*lot].zone))),
            Role::Air { .. } => p
                .tag("zone", zone_id(d, dev.zone))
                .tag("building", building_id(d, dev.building)),
            Role::Energy { building } | Role::Fire { building } => {
                let b = &d.buildings[*building];
                let p = p
                    .tag("building", b.id.clone())
                    .tag("zone", zone_id(d, dev.zone.or(Some(b.zone))));
                if matches!(dev.role, Role::Fire { .. }) {
                    p.tag(
                        "floor",
                        dev.floor.map(|f| f.to_string()).unwrap_or_default(),
                    )
                } else {
                    p
                }
            }
        };
    }
    match m {
        Measurement::Line { ins, outs } => p
            .field("in", Field::Int(*ins as i64))
            .field("out", Field::Int(*outs as i64)),
        Measurement::Area { count } => p.field("count", Field::Int(*count as i64)),
        Measurement::Bay { occupied } => p.field("occupied", Field::Bool(*occupied)),
        Measurement::Entrance { entries, exits } => p
            .field("entries", Field::Int(*entries as i64))
            .field("exits", Field::Int(*exits as i64)),
        Measurement::Air(a) => p
            .float("pm25", a.pm25)
            .float("pm10", a.pm10)
            .float("no2", a.no2)
            .float("so2", a.so2)
            .float("o3", a.o3)
            .float("co", a.co)
            .float("co2", a.co2)
            .float("temp", a.temp)
            .float("rh", a.rh),
        Measurement::Energy(e) => p
            .float("kwh", Some(e.kwh))
            .float("kw", e.kw)
            .float("v", e.v)
            .float("pf", e.pf),
        Measurement::Fire { state } => p
            .field(
                "state",
                Field::Str(
                    match state {
                        FireState::Alarm => "alarm",
                        FireState::Fault => "fault",
                        FireState::Normal => "normal",
                        FireState::Test => "test",
                    }
                    .into(),
                ),
            )
            .field("alarm", Field::Bool(*state == FireState::Alarm)),
    }
}

/// The measurement and tags of one rollup entity (`zone`, `lot`, `air`, `building`); `None`
/// for an entity this schema does not know (counted by the caller, not written).
pub fn rollup_series(
    district_id: &str,
    model: Option<&District>,
    entity: &str,
    id: &str,
    metric: &str,
    minute: i64,
) -> Option<Point> {
    let p = |m: &'static str| Point::new(m, minute).tag("district", district_id);
    Some(match entity {
        "zone" => p("zone").tag("zone", id),
        "lot" => {
            let mut pt = p("parking_lot").tag("lot", id);
            if let Some(l) = model.and_then(|d| d.lot_idx(id).map(|i| (d, &d.lots[i]))) {
                pt = pt.tag("zone", zone_id(l.0, Some(l.1.zone)));
                if metric == "free" {
                    // Beside `free`, so a panel can show free/total from one point.
                    pt = pt.field("capacity", Field::Int(l.1.capacity as i64));
                }
            }
            pt
        }
        "bay" => {
            // Bay flow rollups (parking task): id is `{lot}/{bay}`.
            let (lot, bay) = id.split_once('/').unwrap_or(("", id));
            let mut pt = p("bay_flow").tag("lot", lot).tag("bay", bay);
            if let Some(l) = model.and_then(|d| d.lot_idx(lot).map(|i| (d, &d.lots[i]))) {
                pt = pt.tag("zone", zone_id(l.0, Some(l.1.zone)));
            }
            pt
        }
        "air" => {
            let mut pt = p("aqi").tag("device", id);
            if let Some((d, dev)) = model.and_then(|d| d.device(id).map(|dev| (d, dev))) {
                pt = pt
                    .tag("zone", zone_id(d, dev.zone))
                    .tag("building", building_id(d, dev.building));
            }
            pt
        }
        "building" => {
            let mut pt = p("building").tag("building", id);
            if let Some(b) = model.and_then(|d| d.building_idx(id).map(|i| (d, &d.buildings[i]))) {
                pt = pt.tag("zone", zone_id(b.0, Some(b.1.zone)));
            }
            pt
        }
        _ => return None,
    })
}

/// Adds one rollup metric to its series' point; false for a metric this schema does not know.
pub fn rollup_field(p: &mut Point, metric: &str, value: f64) -> bool {
    let int = |v: f64| Field::Int(v.round() as i64);
    let (key, field): (&'static str, Field) = match (p.measurement, metric) {
        ("zone", "people") => ("people", int(value)),
        ("zone", "density") => ("density", Field::Float(value)),
        ("zone", "in") => ("in", int(value)),
        ("zone", "out") => ("out", int(value)),
        ("parking_lot", "free") => ("free", int(value)),
        ("parking_lot", "entries") => ("entries", int(value)),
        ("parking_lot", "exits") => ("exits", int(value)),
        ("parking_lot", "occupancy") => ("occupancy", Field::Float(value)),
        ("parking_lot", "dwell_min") => ("dwell_min", Field::Float(value)),
        ("bay_flow", "entries") => ("entries", int(value)),
        ("aqi", "aqi") => {
            p.fields.push(("level", Field::Int(aqi_level(value))));
            ("aqi", int(value))
        }
        ("aqi", "pm25") => ("pm25", Field::Float(value)),
        ("aqi", "co2") => ("co2", Field::Float(value)),
        ("building", "kw") => ("kw", Field::Float(value)),
        ("building", "kwh_today") => ("kwh_today", Field::Float(value)),
        _ => return false,
    };
    p.fields.push((key, field));
    true
}

/// HJ 633-2012 level (1 优 … 6 严重污染) of an AQI value.
pub fn aqi_level(aqi: f64) -> i64 {
    match aqi.round() as i64 {
        i64::MIN..=50 => 1,
        51..=100 => 2,
        101..=150 => 3,
        151..=200 => 4,
        201..=300 => 5,
        _ => 6,
    }
}

/// Severity as an integer, 1 (info) … 5 (critical), so panels can threshold and sort it.
pub fn severity_level(s: Severity) -> i64 {
    match s {
        Severity::Info => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

/// The point of one alert transition (the hook for the alert engine: see `source.rs`).
/// `zone` and `building` tags come from the alert's context when it names them.
pub fn alert(district_id: &str, a: &AlertMsg) -> Option<Point> {
    let ts = parse_text(&a.ts).ok()?;
    let ctx = |k: &str| {
        a.context
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let state = match a.state {
        AlertState::Raised => "raised",
        AlertState::Acknowledged => "acknowledged",
        AlertState::Cleared => "cleared",
    };
    Some(
        Point::new("alert", ts)
            .tag("district", district_id)
            .tag("rule", a.rule.clone())
            .tag("category", a.category.clone())
            .tag("subject", a.subject.clone())
            .tag("zone", ctx("zone"))
            .tag("building", ctx("building"))
            .field("severity", Field::Int(severity_level(a.severity)))
            .field("active", Field::Bool(a.state != AlertState::Cleared))
            .field("state", Field::Str(state.into()))
            .field("transition", Field::Str(a.transition.clone()))
            .field("escalation", Field::Int(a.escalation as i64))
            .field("id", Field::Str(a.id.clone())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use district::contract::reading::{AirSample, EnergySample};

    fn hubin() -> District {
        district::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/districts/hubin.toml"
        ))
        .unwrap()
    }

    /// Every tag and field of `p` is in the schema, with the declared type.
    fn conforms(p: &Point) {
        let s = spec(p.measurement).unwrap_or_else(|| panic!("{} not in SCHEMA", p.measurement));
        for (k, _) in &p.tags {
            assert!(s.tags.contains(k), "{}: tag {k} not in SCHEMA", s.name);
        }
        for (k, v) in &p.fields {
            let (_, kind) = s
                .fields
                .iter()
                .find(|(f, _)| f == k)
                .unwrap_or_else(|| panic!("{}: field {k} not in SCHEMA", s.name));
            let ok = matches!(
                (kind, v),
                (Int, Field::Int(_))
                    | (Float, Field::Float(_))
                    | (Bool, Field::Bool(_))
                    | (Str, Field::Str(_))
            );
            assert!(ok, "{}: field {k} is {v:?}, SCHEMA says {kind:?}", s.name);
        }
    }

    #[test]
    fn every_device_kind_maps_to_its_measurement_with_its_places() {
        let d = hubin();
        let mut seen = std::collections::BTreeSet::new();
        for dev in &d.devices {
            let m = match dev.role {
                Role::FootfallLine { .. } => Measurement::Line { ins: 12, outs: 9 },
                Role::FootfallArea { .. } => Measurement::Area { count: 57 },
                Role::Bay { .. } => Measurement::Bay { occupied: true },
                Role::Entrance { .. } => Measurement::Entrance {
                    entries: 3,
                    exits: 1,
                },
                Role::Air { .. } => Measurement::Air(AirSample {
                    pm25: Some(35.2),
                    co2: Some(650.0),
                    ..Default::default()
                }),
                Role::Energy { .. } => Measurement::Energy(EnergySample {
                    kwh: 123456.7,
                    kw: Some(42.0),
                    v: None,
                    pf: None,
                }),
                Role::Fire { .. } => Measurement::Fire {
                    state: FireState::Alarm,
                },
            };
            let p = reading(&d.id, &dev.id, Some((&d, dev)), 1_700_000_000_000, &m);
            conforms(&p);
            let line = p.to_line();
            assert!(line.contains(&format!("device={}", dev.id)), "{line}");
            seen.insert(p.measurement);
            match dev.role {
                Role::FootfallLine { .. } => assert!(line.contains(" in=12i,out=9i "), "{line}"),
                Role::Bay { .. } | Role::Entrance { .. } => {
                    assert!(line.contains(",lot="), "{line}")
                }
                Role::Energy { .. } => assert!(line.contains("kwh=123456.7,kw=42.0 "), "{line}"),
                Role::Fire { .. } => assert!(
                    line.contains(",building=") && line.contains("state=\"alarm\",alarm=true"),
                    "{line}"
                ),
                _ => {}
            }
            if dev.zone.is_some() {
                assert!(line.contains(",zone="), "{line}");
            }
        }
        assert_eq!(seen.len(), 6, "{seen:?}");
    }

    #[test]
    fn rollups_map_to_derived_measurements_with_integers_as_integers() {
        let d = hubin();
        let z = &d.zones[0].id;
        let mut p = rollup_series(&d.id, Some(&d), "zone", z, "people", 60_000).unwrap();
        for (m, v) in [
            ("people", 57.0),
            ("density", 0.25),
            ("in", 3.0),
            ("out", 1.0),
        ] {
            assert!(rollup_field(&mut p, m, v));
        }
        conforms(&p);
        assert_eq!(
            p.to_line(),
            format!(
                "zone,district={},zone={z} people=57i,density=0.25,in=3i,out=1i 60000",
                d.id
            )
        );
        let lot = &d.lots[0];
        let mut p = rollup_series(&d.id, Some(&d), "lot", &lot.id, "free", 60_000).unwrap();
        assert!(rollup_field(&mut p, "free", 12.0));
        conforms(&p);
        assert!(p
            .to_line()
            .contains(&format!("capacity={}i,free=12i", lot.capacity)));
        let air = d
            .devices
            .iter()
            .find(|v| matches!(v.role, Role::Air { .. }))
            .unwrap();
        let mut p = rollup_series(&d.id, Some(&d), "air", &air.id, "aqi", 60_000).unwrap();
        assert!(rollup_field(&mut p, "aqi", 75.0));
        conforms(&p);
        assert!(p.to_line().contains("level=2i,aqi=75i"), "{}", p.to_line());
        let b = &d.buildings[0];
        let mut p = rollup_series(&d.id, Some(&d), "building", &b.id, "kw", 60_000).unwrap();
        assert!(rollup_field(&mut p, "kw", 40.5));
        assert!(!rollup_field(&mut p, "unknown_metric", 1.0));
        conforms(&p);
        let mut p = rollup_series(
            &d.id,
            Some(&d),
            "bay",
            &format!("{}/B1-001", lot.id),
            "entries",
            60_000,
        )
        .unwrap();
        assert!(rollup_field(&mut p, "entries", 2.0));
        conforms(&p);
        assert!(
            p.to_line().starts_with(&format!(
                "bay_flow,bay=B1-001,district={},lot={}",
                d.id, lot.id
            )),
            "{}",
            p.to_line()
        );
        assert!(rollup_series(&d.id, Some(&d), "sign", "s1", "x", 0).is_none());
    }

    #[test]
    fn alert_transitions_have_a_point() {
        let a = AlertMsg {
            id: "fire:b1:1".into(),
            rule: "fire".into(),
            subject: "b1".into(),
            category: "fire".into(),
            sub_category: "buildingFire".into(),
            severity: Severity::Critical,
            state: AlertState::Raised,
            transition: "raised".into(),
            escalation: 0,
            text: "火警 fire".into(),
            context: serde_json::json!({"zone": "z1", "building": "b1", "people": 120}),
            raised_at: "2026-11-23T09:00:00+08:00".into(),
            ts: "2026-11-23T09:00:00+08:00".into(),
        };
        let p = alert("hubin", &a).unwrap();
        conforms(&p);
        assert_eq!(
            p.to_line(),
            "alert,building=b1,category=fire,district=hubin,rule=fire,subject=b1,zone=z1 severity=5i,active=true,state=\"raised\",transition=\"raised\",escalation=0i,id=\"fire:b1:1\" 1795395600000"
        );
    }

    #[test]
    fn aqi_levels_follow_hj_633() {
        assert_eq!(
            [0.0, 50.0, 51.0, 100.0, 150.0, 200.0, 300.0, 301.0].map(aqi_level),
            [1, 1, 2, 2, 3, 4, 5, 6]
        );
    }
}
