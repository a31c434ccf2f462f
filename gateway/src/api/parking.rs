//! Parking guidance endpoints: sign frames, free spaces now, nearest lots with free spaces,
//! reservations, and the FIWARE NGSI-LD view. Each asks the district's owner, which holds
//! the reservation book and the sign board; bookings and cancellations are answered once
//! stored.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use district::contract::live::LotStatus;
use geo::{Centroid, Distance, Geodesic, Point};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::{ask, district, not_found, ApiError};
use crate::owner::Refused;
use crate::parking::desk::ReserveError;
use crate::parking::reservation::BookError;
use crate::shared::{DistrictHandle, Shared};
use crate::users::ApiRole;

type Api = Result<Json<Value>, ApiError>;

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
    let h = district(&s, &d)?;
    let frames = ask(h, |c, _| serde_json::to_value(&c.parking.frames)).await?;
    Ok(Json(frames.unwrap_or(Value::Null)))
}

/// `GET …/signs/{sign}`.
pub async fn sign(State(s): State<Arc<Shared>>, Path((d, sign)): Path<(String, String)>) -> Api {
    let h = district(&s, &d)?;
    let i = h
        .model
        .signs
        .iter()
        .position(|x| x.id == sign)
        .ok_or_else(|| not_found(format!("sign \"{sign}\" is not in district \"{d}\"")))?;
    let frame = ask(h, move |c, _| c.parking.frames[i].clone()).await?;
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
    let h = district(&s, &d)?;
    let lots = ask(h, |c, now| {
        (0..c.state.district.lots.len())
            .map(|l| {
                let live = c.lot_live(l, now);
                json!({
                    "lot": live.lot, "name": c.state.district.lots[l].names, "status": live.status,
                    "free": live.free, "reserved": live.reserved, "total": live.total, "ts": live.ts,
                    "levels": live.levels,
                })
            })
            .collect()
    })
    .await?;
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
    let h = district(&s, &d)?;
    let here = Point::new(q.lon, q.lat);
    let lives = ask(h, |c, now| {
        (0..c.state.district.lots.len())
            .map(|l| c.lot_live(l, now))
            .collect::<Vec<_>>()
    })
    .await?;
    let mut found: Vec<(f64, Value)> = {
        h.model
            .lots
            .iter()
            .zip(lives)
            .filter_map(|(lot, live)| {
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

fn book_error(e: Refused<ReserveError>) -> ApiError {
    let code = match &e {
        Refused::Refused(ReserveError::Closed(_)) => StatusCode::CONFLICT,
        Refused::Refused(ReserveError::Book(b)) => match b {
            BookError::OverBooked { .. } | BookError::NoFreeSpace(_) | BookError::Ended(..) => {
                StatusCode::CONFLICT
            }
            BookError::NotFound(_) => StatusCode::NOT_FOUND,
            BookError::BadWindow(_) => StatusCode::BAD_REQUEST,
        },
        Refused::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Refused::Stopped => StatusCode::SERVICE_UNAVAILABLE,
    };
    ApiError(code, e.to_string())
}

/// The account a `parking-app` caller is limited to (its own reservations); None for roles
/// that see and cancel every reservation.
fn own_only(caller: &Caller) -> Option<String> {
    (caller.role == ApiRole::ParkingApp).then(|| caller.name.clone())
}

/// `POST …/lots/{lot}/reservations` `{"plate":..,"from":..,"to":..}` → 201 with the
/// reservation, booked for the caller's account; 409 when over-booked.
pub async fn reserve(
    State(s): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path((d, lot)): Path<(String, String)>,
    Json(body): Json<NewReservation>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let h = district(&s, &d)?;
    let l = lot_idx(h, &lot)?;
    let window = (time_of(&body.from, "from")?, time_of(&body.to, "to")?);
    let r = h
        .owner
        .reserve(l, body.plate, window, Some(caller.name))
        .await
        .map_err(book_error)?;
    Ok((StatusCode::CREATED, Json(reservation_json(&r))))
}

fn reservation_json(r: &crate::parking::reservation::Reservation) -> Value {
    use district::contract::time::format_millis;
    json!({
        "id": r.id, "lot": r.lot, "plate": r.plate, "from": format_millis(r.from_ms),
        "to": format_millis(r.to_ms), "created": format_millis(r.created_ms), "state": r.state,
        "ended": r.ended_ms.map(format_millis), "owner": r.owner,
    })
}

/// `GET …/lots/{lot}/reservations`: the lot's reservations of the last day and to come (a
/// `parking-app` sees its own only).
pub async fn list(
    State(s): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path((d, lot)): Path<(String, String)>,
) -> Api {
    let h = district(&s, &d)?;
    lot_idx(h, &lot)?;
    let only = own_only(&caller);
    let items = ask(h, move |c, _| {
        c.parking
            .book
            .items()
            .iter()
            .filter(|r| r.lot == lot)
            .filter(|r| only.is_none() || r.owner == only)
            .map(reservation_json)
            .collect()
    })
    .await?;
    Ok(Json(Value::Array(items)))
}

/// `DELETE …/lots/{lot}/reservations/{id}`: cancels (a `parking-app` its own only: another
/// app's reservation is 404, as if it did not exist).
pub async fn cancel(
    State(s): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path((d, lot, id)): Path<(String, String, String)>,
) -> Api {
    let h = district(&s, &d)?;
    lot_idx(h, &lot)?;
    let r = h
        .owner
        .cancel(lot, id, own_only(&caller))
        .await
        .map_err(book_error)?;
    Ok(Json(reservation_json(&r)))
}

/// `GET …/lots/{lot}/ngsi-ld`: FIWARE `OffStreetParking`, NGSI-LD normalized.
pub async fn lot_ngsi(State(s): State<Arc<Shared>>, Path((d, lot)): Path<(String, String)>) -> Api {
    let h = district(&s, &d)?;
    let l = lot_idx(h, &lot)?;
    let live = ask(h, move |c, now| c.lot_live(l, now)).await?;
    Ok(Json(crate::parking::fiware::off_street_parking(
        &h.model, l, &live,
    )))
}

/// `GET …/lots/{lot}/bays/ngsi-ld`: FIWARE `ParkingSpot` list, NGSI-LD normalized.
pub async fn bays_ngsi(
    State(s): State<Arc<Shared>>,
    Path((d, lot)): Path<(String, String)>,
) -> Api {
    let h = district(&s, &d)?;
    let l = lot_idx(h, &lot)?;
    let bays = ask(h, move |c, now| c.bays_live(l, now)).await?;
    Ok(Json(crate::parking::fiware::parking_spots(
        &h.model, l, &bays,
    )))
}

/// `GET …/parking/forecast`: expected free spaces per lot in 15, 30 and 60 minutes.
pub async fn forecast(State(s): State<Arc<Shared>>, Path(d): Path<String>) -> Api {
    let h = district(&s, &d)?;
    let f = ask(h, |c, _| c.parking.forecasts.clone()).await?;
    Ok(Json(Value::Array(f.into_iter().flatten().collect())))
}
