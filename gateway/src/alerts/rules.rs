//! The rules: read a district's live state and say which conditions hold now. Pure.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use district::contract::alert::Severity;
use district::contract::live::CrowdLevel;
use district::contract::reading::FireState;
use district::{DensityThresholds, Role};
use serde_json::json;

use super::config::{crowd_severity, AlertsConfig};
use super::engine::Engine;
use super::model::{Condition, RuleId};
use crate::state::DistrictState;

/// What the rules remember between evaluations (people history for fast rises).
#[derive(Debug, Default, Clone)]
pub struct RuleMemory {
    people: HashMap<usize, VecDeque<(i64, u32)>>,
}

/// Rules evaluated on every tick.
pub const EVALUATED: [RuleId; 13] = super::config::RULES;

/// Evaluates every rule against the state at `now`; returns the conditions that hold.
pub fn evaluate(
    st: &DistrictState,
    engine: &Engine,
    cfg: &AlertsConfig,
    mem: &mut RuleMemory,
    now: i64,
) -> Vec<Condition> {
    let mut out = Vec::new();
    fire(st, &mut out);
    crowd(st, engine, cfg, mem, now, &mut out);
    air(st, cfg, &mut out);
    energy(st, cfg, now, &mut out);
    devices(st, cfg, now, &mut out);
    out
}

fn cond(
    rule: RuleId,
    subject: &str,
    severity: Severity,
    context: serde_json::Value,
    text: String,
) -> Condition {
    Condition {
        rule,
        subject: subject.to_string(),
        severity: Some(severity),
        context,
        text,
    }
}

/// Fire: one alert per building; any detector in alarm raises it as critical; two or more
/// confirm it. Detector faults are a separate low alert per building.
fn fire(st: &DistrictState, out: &mut Vec<Condition>) {
    let d = &st.district;
    let mut alarms: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut faults: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (&dev, &(state, _)) in &st.detectors {
        let Role::Fire { building } = d.devices[dev].role else {
            continue;
        };
        match state {
            FireState::Alarm => alarms.entry(building).or_default().push(dev),
            FireState::Fault => faults.entry(building).or_default().push(dev),
            _ => {}
        }
    }
    for (b, mut devs) in alarms {
        devs.sort_unstable();
        let building = &d.buildings[b];
        let zone = &d.zones[building.zone];
        let people_zone = st.zones[building.zone].people();
        let floors: BTreeSet<i32> = devs.iter().filter_map(|&i| d.devices[i].floor).collect();
        let confirmed = devs.len() >= 2;
        let ids: Vec<&str> = devs.iter().map(|&i| d.devices[i].id.as_str()).collect();
        let text = format!(
            "{}火警：{}（{}），{}楼，{} 个探测器报警；{}现有 {} 人 / Fire{} in {} ({}), floor(s) {:?}, {} detector(s) in alarm; {} people in {} now",
            if confirmed { "确认" } else { "" },
            building.names.zh,
            zone.names.zh,
            floors.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("、"),
            devs.len(),
            zone.names.zh,
            people_zone,
            if confirmed { " (confirmed)" } else { "" },
            building.names.en,
            zone.names.en,
            floors,
            devs.len(),
            people_zone,
            zone.names.en,
        );
        out.push(cond(
            "fire",
            &building.id,
            Severity::Critical,
            json!({
                "building": building.id, "building_name": building.names, "zone": zone.id, "zone_name": zone.names,
                "floors": floors, "detectors": ids, "confirmed": confirmed,
                "people_in_zone": people_zone, "zone_capacity": zone.capacity, "building_floors": building.floors,
            }),
            text,
        ));
    }
    for (b, devs) in faults {
        let building = &d.buildings[b];
        let ids: Vec<&str> = devs.iter().map(|&i| d.devices[i].id.as_str()).collect();
        out.push(cond(
            "fire_fault",
            &building.id,
            Severity::Low,
            json!({ "building": building.id, "zone": d.zones[building.zone].id, "detectors": ids }),
            format!(
                "{} 探测器故障 {} 个 / {} detector fault(s) in {}",
                building.names.zh,
                devs.len(),
                devs.len(),
                building.names.en
            ),
        ));
    }
}

/// A crowd level with hysteresis: a level holds until density falls below its threshold by
/// the hysteresis share.
pub fn level_with_hysteresis(
    density: f64,
    t: &DensityThresholds,
    current: Option<Severity>,
    h: f64,
) -> CrowdLevel {
    let raw = CrowdLevel::of(density, t);
    let held = match current {
        Some(Severity::Critical) if density >= t.critical * (1.0 - h) => CrowdLevel::Critical,
        Some(Severity::High) | Some(Severity::Critical) if density >= t.alarm * (1.0 - h) => {
            CrowdLevel::Crowded
        }
        Some(_) if density >= t.warn * (1.0 - h) => CrowdLevel::Busy,
        _ => CrowdLevel::Normal,
    };
    raw.max(held)
}

fn crowd(
    st: &DistrictState,
    engine: &Engine,
    cfg: &AlertsConfig,
    mem: &mut RuleMemory,
    now: i64,
    out: &mut Vec<Condition>,
) {
    let d = &st.district;
    for (z, zone) in d.zones.iter().enumerate() {
        if st.zone_stale(z, now) {
            continue; // no crowd alerts from stale data; the offline rules speak for it
        }
        let people = st.zones[z].people();
        let density = people as f64 / zone.area_m2;
        let level = level_with_hysteresis(
            density,
            &zone.density,
            engine.current("crowd", &zone.id),
            cfg.hysteresis,
        );
        let ctx = json!({ "zone": zone.id, "zone_name": zone.names, "people": people, "density": (density * 100.0).round() / 100.0,
                          "level": level, "capacity": zone.capacity, "thresholds": [zone.density.warn, zone.density.alarm, zone.density.critical] });
        if let Some(sev) = crowd_severity(level) {
            let text = format!(
                "{} 人流密度 {:.2} 人/㎡（{} 人） / {}: {:.2} persons/m² ({} people)",
                zone.names.zh, density, people, zone.names.en, density, people
            );
            out.push(cond("crowd", &zone.id, sev, ctx.clone(), text));
        }
        if people > zone.capacity {
            out.push(cond(
                "over_capacity",
                &zone.id,
                Severity::High,
                ctx.clone(),
                format!(
                    "{} 超出容量：{} / {} 人 / {} over capacity: {} of {}",
                    zone.names.zh, people, zone.capacity, zone.names.en, people, zone.capacity
                ),
            ));
        }
        let hist = mem.people.entry(z).or_default();
        hist.push_back((now, people));
        while hist.front().is_some_and(|&(t, _)| now - t > 5 * 60_000) {
            hist.pop_front();
        }
        if let Some(&(_, first)) = hist.front() {
            let rise = people as f64 - first as f64;
            if rise >= cfg.rise_share_5min * zone.capacity as f64 && level < CrowdLevel::Crowded {
                out.push(cond(
                    "crowd_rise",
                    &zone.id,
                    Severity::Medium,
                    ctx,
                    format!(
                        "{} 人数快速上升：5 分钟 +{:.0} / {} rising fast: +{:.0} in 5 min",
                        zone.names.zh, rise, zone.names.en, rise
                    ),
                ));
            }
        }
    }
}

fn air(st: &DistrictState, cfg: &AlertsConfig, out: &mut Vec<Condition>) {
    let d = &st.district;
    let mut devs: Vec<_> = st.monitors.iter().collect();
    devs.sort_by_key(|(k, _)| **k);
    for (&dev, m) in devs {
        let device = &d.devices[dev];
        let zone = device.zone.map(|z| d.zones[z].id.clone());
        if let Some(r) = &m.report {
            if let (Some(aqi), Some(level)) = (r.aqi, r.level) {
                if aqi >= cfg.aqi_from {
                    let sev = match level.grade() {
                        0..=3 => Severity::Low,
                        4 => Severity::Medium,
                        _ => Severity::High,
                    };
                    out.push(cond(
                        "air_quality",
                        &device.id,
                        sev,
                        json!({ "device": device.id, "zone": zone, "aqi": aqi, "level": level.name_zh(),
                                "primary": r.primary.iter().map(|p| p.code()).collect::<Vec<_>>() }),
                        format!("空气质量{}（AQI {}）/ air quality {} (AQI {}) at {}", level.name_zh(), aqi, level.name_en(), aqi, device.id),
                    ));
                }
            }
        }
        if let (Role::Air { indoor: true }, Some(co2)) = (&device.role, m.latest.co2) {
            if co2 >= cfg.co2_ppm {
                out.push(cond(
                    "co2",
                    &device.id,
                    Severity::Low,
                    json!({ "device": device.id, "zone": zone, "building": device.building.map(|b| d.buildings[b].id.clone()), "co2_ppm": co2 }),
                    format!("室内二氧化碳 {co2:.0} ppm / indoor CO2 {co2:.0} ppm at {}", device.id),
                ));
            }
        }
    }
}

fn energy(st: &DistrictState, cfg: &AlertsConfig, now: i64, out: &mut Vec<Condition>) {
    let d = &st.district;
    let open = d
        .calendar
        .is_open(chrono::DateTime::from_timestamp_millis(now).unwrap_or_default());
    for (b, building) in d.buildings.iter().enumerate() {
        let Some(rated) = building.rated_kw else {
            continue;
        };
        let (kw, _) = st.building_energy(b);
        let ctx = json!({ "building": building.id, "zone": d.zones[building.zone].id, "kw": (kw * 10.0).round() / 10.0, "rated_kw": rated });
        if kw > rated {
            out.push(cond(
                "energy_overload",
                &building.id,
                Severity::High,
                ctx.clone(),
                format!(
                    "{} 负荷 {kw:.0} kW 超过额定 {rated:.0} kW / {} load over rating",
                    building.names.zh, building.names.en
                ),
            ));
        } else if !open && kw > cfg.night_share * rated {
            out.push(cond(
                "energy_night",
                &building.id,
                Severity::Low,
                ctx,
                format!(
                    "{} 闭店时段用电 {kw:.0} kW / {} drawing {kw:.0} kW while closed",
                    building.names.zh, building.names.en
                ),
            ));
        }
    }
}

fn devices(st: &DistrictState, cfg: &AlertsConfig, now: i64, out: &mut Vec<Condition>) {
    let d = &st.district;
    let mut by_zone: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
    for dev in st.offline_devices(now) {
        by_zone.entry(d.devices[dev].zone).or_default().push(dev);
    }
    for (zone, devs) in by_zone {
        let zone_id = zone.map(|z| d.zones[z].id.clone());
        if let Some(z) = zone.filter(|_| devs.len() >= cfg.offline_group) {
            let z = &d.zones[z];
            let ids: Vec<&str> = devs.iter().map(|&i| d.devices[i].id.as_str()).collect();
            out.push(cond(
                "zone_offline",
                &z.id,
                Severity::Medium,
                json!({ "zone": z.id, "devices": ids, "count": ids.len() }),
                format!(
                    "{} 有 {} 台设备离线 / {} devices offline in {}",
                    z.names.zh,
                    ids.len(),
                    ids.len(),
                    z.names.en
                ),
            ));
        } else {
            for dev in devs {
                let device = &d.devices[dev];
                let last = st.liveness[dev]
                    .last_seen
                    .map(district::contract::time::format_millis);
                out.push(cond("device_offline", &device.id, Severity::Low,
                    json!({ "device": device.id, "kind": device.kind, "zone": zone_id, "last_seen": last }),
                    format!("设备 {} 离线 / device {} offline", device.id, device.id)));
            }
        }
    }
    let stuck_ms = cfg.stuck_after.as_millis() as i64;
    for (dev, l) in st.liveness.iter().enumerate() {
        let device = &d.devices[dev];
        if l.stuck(5, stuck_ms) {
            out.push(cond(
                "device_stuck",
                &device.id,
                Severity::Low,
                json!({ "device": device.id, "repeats": l.repeats }),
                format!(
                    "设备 {} 读数停滞 / device {} repeats the same values",
                    device.id, device.id
                ),
            ));
        }
        if l.jump_at.is_some_and(|t| now - t < 10 * 60_000) {
            out.push(cond(
                "implausible_jump",
                &device.id,
                Severity::Low,
                json!({ "device": device.id }),
                format!(
                    "设备 {} 读数突变 / device {} reported an implausible jump",
                    device.id, device.id
                ),
            ));
        }
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
