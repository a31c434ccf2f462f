//! Parking guidance endpoints: sign frames, free spaces now, nearest lots with free spaces,
//! reservations, and the FIWARE NGSI-LD view.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use district::contract::live::LotStatus;
use geo::{Centroid, Distance, Geodesic, Point};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{not_found, ApiError};
use crate::parking::reservation::{BookError, Request};
use crate::shared::{DistrictHandle, Shared};

type Api = Result<Json<Value>, ApiError>;

fn district<'a>(s: &'a Shared, d: &str) -> Result<(usize, &'a DistrictHandle), ApiError> {
    let di = *s
        .index
        .get(d)
        .ok_or_else(|| not_found(format!("district \"{d}\" is not served here")))?;
    Ok((di, &s.districts[di]))
}

fn lot_idx(h: &DistrictHandle, lot: &str) -> Result<usize, ApiError> {
    h.model.lot_idx(lot).ok_or_else(|| {
        not_found(format!(
            "lot \"{lot}\" is not in district \"{}\"",
            h.model.id
        ))
    })
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

/// `GET …/signs`: the latest frame of every sign (null until the first is computed).
pub async fn signs(State(s): State<Arc<Shared>>, Path(d): Path<String>) -> Api {
    let (di, _) = district(&s, &d)?;
    let frames = s.parking.district(di).frames.clone();
    Ok(Json(serde_json::to_value(frames).unwrap_or(Value::Null)))
}

/// `GET …/signs/{sign}`.
pub async fn sign(State(s): State<Arc<Shared>>, Path((d, sign)): Path<(String, String)>) -> Api {
    let (di, h) = district(&s, &d)?;
    let i = h
        .model
        .signs
        .iter()
        .position(|x| x.id == sign)
        .ok_or_else(|| not_found(format!("sign \"{sign}\" is not in district \"{d}\"")))?;
    let frame = s.parking.district(di).frames[i].clone();
    frame
        .map(|f| Json(serde_json::to_value(f).unwrap_or(Value::Null)))
        .ok_or_else(|| {
            ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("sign \"{sign}\" has no frame yet"),
            )
        })
}

/// `GET …/parking/free`: free spaces (reservations taken off) per lot and level now.
pub async fn free(State(s): State<Arc<Shared>>, Path(d): Path<String>) -> Api {
    let (di, h) = district(&s, &d)?;
    let now = s.clock.now_ms();
    let st = h.state();
    let lots: Vec<Value> = (0..h.model.lots.len())
        .map(|l| {
            let live = s.parking.lot_live(di, &st, l, now);
            json!({
                "lot": live.lot, "name": h.model.lots[l].names, "status": live.status,
                "free": live.free, "reserved": live.reserved, "total": live.total, "ts": live.ts,
                "levels": live.levels,
            })
        })
        .collect();
    Ok(Json(Value::Array(lots)))
}

/// Query of `…/parking/nearest`.
#[derive(Debug, Deserialize)]
pub struct NearQuery {
    lon: f64,
    lat: f64,
    limit: Option<usize>,
}

/// `GET …/parking/nearest?lon=&lat=&limit=`: open lots with free spaces, nearest first
/// (geodesic distance from the point to the lot's centroid, metres).
pub async fn nearest(
    State(s): State<Arc<Shared>>,
    Path(d): Path<String>,
    Query(q): Query<NearQuery>,
) -> Api {
    if !(-180.0..=180.0).contains(&q.lon) || !(-90.0..=90.0).contains(&q.lat) {
        return Err(bad(
            "lon must be in -180..180 and lat in -90..90 (degrees, WGS 84)",
        ));
    }
    let (di, h) = district(&s, &d)?;
    let now = s.clock.now_ms();
    let here = Point::new(q.lon, q.lat);
    let mut found: Vec<(f64, Value)> = {
        let st = h.state();
        h.model
            .lots
            .iter()
            .enumerate()
            .filter_map(|(l, lot)| {
                let live = s.parking.lot_live(di, &st, l, now);
                if live.status != LotStatus::Open || live.free == 0 {
                    return None;
                }
                let c = lot.outline.centroid()?;
                let m = Geodesic.distance(here, c);
                Some((
                    m,
                    json!({ "lot": lot.id, "name": lot.names, "free": live.free, "total": live.total,
                            "distance_m": m.round(), "at": [c.x(), c.y()] }),
                ))
            })
            .collect()
    };
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(Json(Value::Array(
        found
            .into_iter()
            .take(q.limit.unwrap_or(3).clamp(1, 50))
            .map(|f| f.1)
            .collect(),
    )))
}

/// Body of a reservation: `from`/`to` as RFC 3339 text or epoch ms.
#[derive(Debug, Deserialize)]
pub struct NewReservation {
    plate: String,
    from: Value,
    to: Value,
}

fn time_of(v: &Value, name: &str) -> Result<i64, ApiError> {
    match v {
        Value::String(t) => {
            district::contract::time::parse_text(t).map_err(|e| bad(format!("`{name}`: {e}")))
        }
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| bad(format!("`{name}` must be epoch milliseconds"))),
        _ => Err(bad(format!(
            "`{name}` must be RFC 3339 text or epoch milliseconds"
        ))),
    }
}

fn book_error(e: BookError) -> ApiError {
    let code = match e {
        BookError::OverBooked { .. } | BookError::NoFreeSpace(_) | BookError::Ended(..) => {
            StatusCode::CONFLICT
        }
        BookError::NotFound(_) => StatusCode::NOT_FOUND,
        BookError::BadWindow(_) => StatusCode::BAD_REQUEST,
    };
    ApiError(code, e.to_string())
}

/// `POST …/lots/{lot}/reservations` `{"plate":..,"from":..,"to":..}` → 201 with the
/// reservation, 409 when over-booked.
pub async fn reserve(
    State(s): State<Arc<Shared>>,
    Path((d, lot)): Path<(String, String)>,
    Json(body): Json<NewReservation>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (di, h) = district(&s, &d)?;
    let l = lot_idx(h, &lot)?;
    let (from_ms, to_ms) = (time_of(&body.from, "from")?, time_of(&body.to, "to")?);
    let now = s.clock.now_ms();
    // A booking for now needs a space free now (before reservations); one for later does not.
    let free_now = h.state().lot_live(l, now).free;
    if s.parking.closed(&lot) {
        return Err(ApiError(
            StatusCode::CONFLICT,
            format!("lot \"{lot}\" is closed"),
        ));
    }
    let limit = s.parking.cfg.limit(h.model.lots[l].capacity);
    let r = {
        let mut dp = s.parking.district(di);
        dp.book
            .reserve(
                Request {
                    lot: lot.clone(),
                    plate: body.plate,
                    from_ms,
                    to_ms,
                },
                limit,
                free_now,
                now,
            )
            .map_err(book_error)?
    };
    s.parking
        .db
        .save(&d, std::slice::from_ref(&r))
        .map_err(|e| {
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("saving the reservation: {e}"),
            )
        })?;
    Ok((StatusCode::CREATED, Json(reservation_json(&r))))
}

fn reservation_json(r: &crate::parking::reservation::Reservation) -> Value {
    use district::contract::time::format_millis;
    json!({
        "id": r.id, "lot": r.lot, "plate": r.plate, "from": format_millis(r.from_ms),
        "to": format_millis(r.to_ms), "created": format_millis(r.created_ms), "state": r.state,
        "ended": r.ended_ms.map(format_millis),
    })
}

/// `GET …/lots/{lot}/reservations`: the lot's reservations of the last day and to come.
pub async fn list(State(s): State<Arc<Shared>>, Path((d, lot)): Path<(String, String)>) -> Api {
    let (di, h) = district(&s, &d)?;
    lot_idx(h, &lot)?;
    let dp = s.parking.district(di);
    Ok(Json(Value::Array(
        dp.book
            .items()
            .iter()
            .filter(|r| r.lot == lot)
            .map(reservation_json)
            .collect(),
    )))
}

/// `DELETE …/lots/{lot}/reservations/{id}`: cancels.
pub async fn cancel(
    State(s): State<Arc<Shared>>,
    Path((d, lot, id)): Path<(String, String, String)>,
) -> Api {
    let (di, h) = district(&s, &d)?;
    lot_idx(h, &lot)?;
    let now = s.clock.now_ms();
    let r = {
        let mut dp = s.parking.district(di);
        if dp.book.get(&id).is_none_or(|r| r.lot != lot) {
            return Err(not_found(format!(
                "no reservation \"{id}\" in lot \"{lot}\""
            )));
        }
        dp.book.cancel(&id, now).map_err(book_error)?
    };
    s.parking
        .db
        .save(&d, std::slice::from_ref(&r))
        .map_err(|e| {
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("saving the reservation: {e}"),
            )
        })?;
    Ok(Json(reservation_json(&r)))
}

/// `GET …/lots/{lot}/ngsi-ld`: FIWARE `OffStreetParking`, NGSI-LD normalized.
pub async fn lot_ngsi(State(s): State<Arc<Shared>>, Path((d, lot)): Path<(String, String)>) -> Api {
    let (di, h) = district(&s, &d)?;
    let l = lot_idx(h, &lot)?;
    let now = s.clock.now_ms();
    let live = s.parking.lot_live(di, &h.state(), l, now);
    Ok(Json(crate::parking::fiware::off_street_parking(
        &h.model, l, &live,
    )))
}

/// `GET …/lots/{lot}/bays/ngsi-ld`: FIWARE `ParkingSpot` list, NGSI-LD normalized.
pub async fn bays_ngsi(
    State(s): State<Arc<Shared>>,
    Path((d, lot)): Path<(String, String)>,
) -> Api {
    let (di, h) = district(&s, &d)?;
    let l = lot_idx(h, &lot)?;
    let now = s.clock.now_ms();
    let bays = s.parking.bays_live(di, &h.state(), l, now);
    Ok(Json(crate::parking::fiware::parking_spots(
        &h.model, l, &bays,
    )))
}

/// `GET …/parking/forecast`: expected free spaces per lot in 15, 30 and 60 minutes.
pub async fn forecast(State(s): State<Arc<Shared>>, Path(d): Path<String>) -> Api {
    let (di, _) = district(&s, &d)?;
    let f = s.parking.district(di).forecasts.clone();
    Ok(Json(Value::Array(f.into_iter().flatten().collect())))
}
