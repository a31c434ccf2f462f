//! Live state endpoints: each asks the district's owner, which answers from its state between
//! two steps.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::{ask, district, not_found, ApiError};
use crate::shared::{DistrictHandle, Shared};

type Api = Result<Json<Value>, ApiError>;

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
    Ok(Json(ask(h, |c, now| to_json(c.summary(now))).await?))
}

pub async fn zones(State(s): State<Arc<Shared>>, Path(d): Path<String>) -> Api {
    let h = district(&s, &d)?;
    let zones = ask(h, |c, now| {
        (0..c.state.district.zones.len())
            .map(|z| to_json(c.state.zone_live(z, now)))
            .collect()
    })
    .await?;
    Ok(Json(Value::Array(zones)))
}

pub async fn zone(State(s): State<Arc<Shared>>, Path((d, zone)): Path<(String, String)>) -> Api {
    let h = district(&s, &d)?;
    let z = h
        .model
        .zone_idx(&zone)
        .ok_or_else(|| not_found(format!("zone \"{zone}\" is not in district \"{d}\"")))?;
    Ok(Json(
        ask(h, move |c, now| to_json(c.state.zone_live(z, now))).await?,
    ))
}

pub async fn lots(State(s): State<Arc<Shared>>, Path(d): Path<String>) -> Api {
    let h = district(&s, &d)?;
    let lots = ask(h, |c, now| {
        (0..c.state.district.lots.len())
            .map(|l| to_json(c.lot_live(l, now)))
            .collect()
    })
    .await?;
    Ok(Json(Value::Array(lots)))
}

fn lot_idx(h: &DistrictHandle, lot: &str) -> Result<usize, ApiError> {
    h.model.lot_idx(lot).ok_or_else(|| {
        not_found(format!(
            "lot \"{lot}\" is not in district \"{}\"",
            h.model.id
        ))
    })
}

pub async fn lot(State(s): State<Arc<Shared>>, Path((d, lot)): Path<(String, String)>) -> Api {
    let h = district(&s, &d)?;
    let l = lot_idx(h, &lot)?;
    Ok(Json(
        ask(h, move |c, now| to_json(c.lot_live(l, now))).await?,
    ))
}

pub async fn bays(State(s): State<Arc<Shared>>, Path((d, lot)): Path<(String, String)>) -> Api {
    let h = district(&s, &d)?;
    let l = lot_idx(h, &lot)?;
    let states = ask(h, move |c, now| c.bays_live(l, now)).await?;
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
    let air = ask(h, |c, _| {
        let mut devs: Vec<usize> = c.state.monitors.keys().copied().collect();
        devs.sort_unstable();
        devs.into_iter()
            .filter_map(|dev| c.state.air_live(dev))
            .map(to_json)
            .collect()
    })
    .await?;
    Ok(Json(Value::Array(air)))
}

pub async fn energy(State(s): State<Arc<Shared>>, Path(d): Path<String>) -> Api {
    let h = district(&s, &d)?;
    let energy = ask(h, |c, _| {
        (0..c.state.district.buildings.len())
            .map(|b| to_json(c.state.energy_live(b)))
            .collect()
    })
    .await?;
    Ok(Json(Value::Array(energy)))
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
    let mut extra = String::from("# HELP district_devices_offline Devices offline now.\n# TYPE district_devices_offline gauge\n");
    for h in &s.districts {
        // A stopping district is left out rather than reported as zero.
        if let Some(n) = h
            .owner
            .ask(|c, now| c.state.offline_devices(now).len())
            .await
        {
            extra.push_str(&format!(
                "district_devices_offline{{district=\"{}\"}} {n}\n",
                h.model.id
            ));
        }
    }
    extra.push_str(&crate::forward::metrics::render_for(&s));
    s.metrics.render(&extra)
}
