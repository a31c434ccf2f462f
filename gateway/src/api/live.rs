//! Live state endpoints.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::{not_found, ApiError};
use crate::shared::{DistrictHandle, Shared};

type Api = Result<Json<Value>, ApiError>;

fn district<'a>(s: &'a Shared, d: &str) -> Result<&'a DistrictHandle, ApiError> {
    s.district(d)
        .ok_or_else(|| not_found(format!("district \"{d}\" is not served here")))
}

fn to_json<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

pub async fn districts(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(Value::Array(
        s.districts
            .iter()
            .map(|d| json!({ "id": d.model.id, "name": d.model.names, "zones": d.model.zones.len(), "lots": d.model.lots.len(), "devices": d.model.devices.len() }))
            .collect(),
    ))
}

pub async fn summary(State(s): State<Arc<Shared>>, Path(d): Path<String>) -> Api {
    let h = district(&s, &d)?;
    Ok(Json(to_json(
        h.state()
            .summary(s.clock.now_ms(), h.active_alerts.load(Relaxed)),
    )))
}

pub async fn zones(State(s): State<Arc<Shared>>, Path(d): Path<String>) -> Api {
    let h = district(&s, &d)?;
    let now = s.clock.now_ms();
    let st = h.state();
    Ok(Json(Value::Array(
        (0..h.model.zones.len())
            .map(|z| to_json(st.zone_live(z, now)))
            .collect(),
    )))
}

pub async fn zone(State(s): State<Arc<Shared>>, Path((d, zone)): Path<(String, String)>) -> Api {
    let h = district(&s, &d)?;
    let z = h
        .model
        .zone_idx(&zone)
        .ok_or_else(|| not_found(format!("zone \"{zone}\" is not in district \"{d}\"")))?;
    Ok(Json(to_json(h.state().zone_live(z, s.clock.now_ms()))))
}

pub async fn lots(State(s): State<Arc<Shared>>, Path(d): Path<String>) -> Api {
    let h = district(&s, &d)?;
    let now = s.clock.now_ms();
    let st = h.state();
    Ok(Json(Value::Array(
        (0..h.model.lots.len())
            .map(|l| to_json(s.parking.lot_live(s.index[&d], &st, l, now)))
            .collect(),
    )))
}

fn lot_idx(h: &DistrictHandle, d: &str, lot: &str) -> Result<usize, ApiError> {
    h.model
        .lot_idx(lot)
        .ok_or_else(|| not_found(format!("lot \"{lot}\" is not in district \"{d}\"")))
}

pub async fn lot(State(s): State<Arc<Shared>>, Path((d, lot)): Path<(String, String)>) -> Api {
    let h = district(&s, &d)?;
    let l = lot_idx(h, &d, &lot)?;
    let st = h.state();
    Ok(Json(to_json(s.parking.lot_live(
        s.index[&d],
        &st,
        l,
        s.clock.now_ms(),
    ))))
}

pub async fn bays(State(s): State<Arc<Shared>>, Path((d, lot)): Path<(String, String)>) -> Api {
    let h = district(&s, &d)?;
    let l = lot_idx(h, &d, &lot)?;
    let states = s
        .parking
        .bays_live(s.index[&d], &h.state(), l, s.clock.now_ms());
    let bays: Vec<Value> = h.model.lots[l]
        .bays
        .iter()
        .zip(states.states.chars())
        .map(|(b, c)| json!({ "bay": b.id, "level": h.model.lots[l].levels[b.level].id, "state": c.to_string(), "at": [b.at.x(), b.at.y()] }))
        .collect();
    Ok(Json(
        json!({ "lot": lot, "ts": states.ts, "states": states.states, "bays": bays }),
    ))
}

pub async fn air(State(s): State<Arc<Shared>>, Path(d): Path<String>) -> Api {
    let h = district(&s, &d)?;
    let st = h.state();
    let mut devs: Vec<usize> = st.monitors.keys().copied().collect();
    devs.sort_unstable();
    Ok(Json(Value::Array(
        devs.into_iter()
            .filter_map(|dev| st.air_live(dev))
            .map(to_json)
            .collect(),
    )))
}

pub async fn energy(State(s): State<Arc<Shared>>, Path(d): Path<String>) -> Api {
    let h = district(&s, &d)?;
    let st = h.state();
    Ok(Json(Value::Array(
        (0..h.model.buildings.len())
            .map(|b| to_json(st.energy_live(b)))
            .collect(),
    )))
}

pub async fn healthz(State(s): State<Arc<Shared>>) -> Json<Value> {
    let m = &s.metrics;
    Json(json!({
        "status": if m.mqtt_connected.load(Relaxed) { "ok" } else { "degraded" },
        "mqtt_connected": m.mqtt_connected.load(Relaxed),
        "device_port": s.device_port.get().map(|a| a.to_string()),
        "devices_connected": m.device_connected.load(Relaxed),
        "district_restarts": m.district_restarts(),
        "store_errors": m.store_errors.load(Relaxed),
        "received": m.received.load(Relaxed),
        "accepted": m.accepted.load(Relaxed),
        "clock": district::contract::time::format_millis(s.clock.now_ms()),
        "instance": s.instance,
    }))
}

pub async fn metrics(State(s): State<Arc<Shared>>) -> String {
    let now = s.clock.now_ms();
    let mut extra = String::from("# HELP district_devices_offline Devices offline now.\n# TYPE district_devices_offline gauge\n");
    for h in &s.districts {
        let n = h.state().offline_devices(now).len();
        extra.push_str(&format!(
            "district_devices_offline{{district=\"{}\"}} {n}\n",
            h.model.id
        ));
    }
    extra.push_str(&crate::forward::metrics::render_for(&s));
    s.metrics.render(&extra)
}
