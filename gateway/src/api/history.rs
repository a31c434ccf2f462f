//! History of a metric from the minute rollups.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{not_found, ApiError};
use crate::shared::Shared;

/// Query of `GET /api/v1/districts/{d}/history`.
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    /// `zone`, `lot`, `air` or `building`.
    pub entity: String,
    /// Entity id.
    pub id: String,
    /// Metric (`people`, `density`, `in`, `out`, `free`, `entries`, `exits`, `aqi`, `pm25`, `co2`, `kw`, `kwh_today`).
    pub metric: String,
    /// Start: RFC 3339 or epoch ms. Default: 24 h before `to`.
    pub from: Option<String>,
    /// End: RFC 3339 or epoch ms. Default: now.
    pub to: Option<String>,
    /// Step (`1m`, `5m`, `1h`). Default `1m`.
    pub step: Option<String>,
}

fn instant(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .or_else(|_| district::contract::time::parse_text(s))
        .map_err(|_| {
            ApiError(
                StatusCode::BAD_REQUEST,
                format!("\"{s}\" is neither epoch ms nor RFC 3339 with offset"),
            )
        })
}

pub async fn history(
    State(s): State<Arc<Shared>>,
    Path(d): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    if s.district(&d).is_none() {
        return Err(not_found(format!("district \"{d}\" is not served here")));
    }
    let to =
        q.to.as_deref()
            .map(instant)
            .transpose()?
            .unwrap_or_else(|| s.clock.now_ms());
    let from = q
        .from
        .as_deref()
        .map(instant)
        .transpose()?
        .unwrap_or(to - 86_400_000);
    let step = match q.step.as_deref() {
        None => 60_000,
        Some(st) => humantime::parse_duration(st)
            .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("step \"{st}\": {e}")))?
            .as_millis() as i64,
    };
    let s2 = s.clone();
    let (entity, id, metric) = (q.entity.clone(), q.id.clone(), q.metric.clone());
    let d2 = d.clone();
    let points = tokio::task::spawn_blocking(move || {
        s2.reader
            .history(&d2, &entity, &id, &metric, from, to, step)
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(json!({
        "district": d, "entity": q.entity, "id": q.id, "metric": q.metric, "step_ms": step.max(60_000),
        "points": points.into_iter().map(|(t, v)| json!([t, v])).collect::<Vec<_>>(),
    })))
}
