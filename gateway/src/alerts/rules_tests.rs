//! Rule tests on the small test district.

use std::sync::Arc;

use district::contract::alert::Severity;
use district::contract::live::CrowdLevel;
use district::contract::reading::decode;
use district::{DensityThresholds, DeviceKind};

use super::*;
use crate::alerts::config::AlertsConfig;
use crate::alerts::engine::Engine;
use crate::state::DistrictState;

const T0: i64 = 1_795_312_800_000;

fn mini() -> Arc<district::District> {
    Arc::new(
        district::load_str(
            "mini.toml",
            include_str!("../../../tests/fixtures/mini.toml"),
        )
        .unwrap(),
    )
}

fn apply(st: &mut DistrictState, dev: &str, kind: DeviceKind, json: &str) {
    let i = st.district.device_idx(dev).unwrap();
    st.apply(i, &decode(kind, json.as_bytes()).unwrap());
}

#[test]
fn a_detector_in_alarm_raises_a_critical_fire_with_the_zones_people() {
    let d = mini();
    let mut st = DistrictState::new(d.clone(), T0);
    apply(
        &mut st,
        "fc-1",
        DeviceKind::Footfall,
        &format!(r#"{{"ts":{T0},"in":42,"out":0}}"#),
    );
    apply(
        &mut st,
        "sd-1",
        DeviceKind::Fire,
        &format!(r#"{{"ts":{T0},"state":"alarm"}}"#),
    );
    let engine = Engine::new("mini", Default::default());
    let c = evaluate(
        &st,
        &engine,
        &AlertsConfig::default(),
        &mut RuleMemory::default(),
        T0,
    );
    let fire: Vec<_> = c.iter().filter(|c| c.rule == "fire").collect();
    assert_eq!(fire.len(), 1);
    assert_eq!(
        (fire[0].subject.as_str(), fire[0].severity),
        ("b1", Some(Severity::Critical))
    );
    assert_eq!(fire[0].context["people_in_zone"], 42);
    assert_eq!(fire[0].context["floors"], serde_json::json!([2]));
    assert_eq!(fire[0].context["confirmed"], false);
    assert!(fire[0].text.contains("火警"));
}

#[test]
fn crowd_levels_hold_within_the_hysteresis_band() {
    let t = DensityThresholds {
        warn: 2.0,
        alarm: 4.0,
        critical: 5.0,
    };
    assert_eq!(
        level_with_hysteresis(4.1, &t, None, 0.1),
        CrowdLevel::Crowded
    );
    assert_eq!(
        level_with_hysteresis(3.7, &t, Some(Severity::High), 0.1),
        CrowdLevel::Crowded,
        "within 10 % below"
    );
    assert_eq!(
        level_with_hysteresis(3.5, &t, Some(Severity::High), 0.1),
        CrowdLevel::Busy
    );
    assert_eq!(
        level_with_hysteresis(4.6, &t, Some(Severity::Critical), 0.1),
        CrowdLevel::Critical
    );
    assert_eq!(
        level_with_hysteresis(1.9, &t, Some(Severity::Medium), 0.1),
        CrowdLevel::Busy
    );
    assert_eq!(
        level_with_hysteresis(1.7, &t, Some(Severity::Medium), 0.1),
        CrowdLevel::Normal
    );
}

#[test]
fn many_offline_devices_of_one_zone_are_one_alert() {
    let d = mini();
    let st = DistrictState::new(d.clone(), T0);
    let cfg = AlertsConfig {
        offline_group: 2,
        ..Default::default()
    };
    let engine = Engine::new("mini", Default::default());
    // Nothing heard for ten minutes: the minute-interval devices are offline; the bays (4 h) are not.
    let c = evaluate(&st, &engine, &cfg, &mut RuleMemory::default(), T0 + 600_000);
    let zone: Vec<_> = c
        .iter()
        .filter(|c| c.rule == "zone_offline")
        .map(|c| c.subject.clone())
        .collect();
    let single: Vec<_> = c
        .iter()
        .filter(|c| c.rule == "device_offline")
        .map(|c| c.subject.clone())
        .collect();
    assert_eq!(zone, ["east"], "fc-2 and aq-1 in east");
    assert_eq!(single, ["fc-1"], "one device alone in west");
}
