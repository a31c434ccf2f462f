//! The API (axum): live state, history, a WebSocket stream of live updates, alerts, parking,
//! health and Prometheus metrics. All under `/api/v1` except `/healthz` and `/metrics`.
//!
//! Every route but `/healthz`, the login and the logout needs a caller whose role allows it:
//! a bearer token of an account, a JWT of the identity provider ([`jwt`]) or a browser
//! session's cookie ([`session`]) ([`auth`]: who may what, cross-site origins, CSRF;
//! [`limit`]: the rate limit per account). The "needs" column is the least role; `admin` may
//! everything.
//!
//! | route | what | needs |
//! |---|---|---|
//! | `GET /api/v1/districts` | served districts | parking-app, viewer |
//! | `GET /api/v1/districts/{d}/summary` | district KPIs | viewer |
//! | `GET /api/v1/districts/{d}/zones[/{zone}]` | zone live state | viewer |
//! | `GET /api/v1/districts/{d}/lots[/{lot}]` | lot live state | parking-app, viewer |
//! | `GET /api/v1/districts/{d}/lots/{lot}/bays` | per-bay states | parking-app, viewer |
//! | `GET /api/v1/districts/{d}/air` | air monitors | viewer |
//! | `GET /api/v1/districts/{d}/energy` | buildings' power and energy | viewer |
//! | `GET /api/v1/districts/{d}/history?entity=zone&id=..&metric=people&from=..&to=..&step=5m` | rollups | viewer |
//! | `GET /api/v1/districts/{d}/alerts?state=active\|history&rule=&severity=&since=&limit=` | alerts | viewer |
//! | `GET /api/v1/districts/{d}/alerts/{id}` | one alert's transitions and audit trail | viewer |
//! | `POST /api/v1/districts/{d}/alerts/{id}/ack` `{"note":..}` | acknowledge (the audit trail names the account) | operator |
//! | `POST /api/v1/districts/{d}/alerts/{id}/clear` `{"note":..}` | clear by hand (where the rule allows) | operator |
//! | `GET /api/v1/districts/{d}/signs[/{sign}]` | guidance sign frames (see docs/SIGNS.md) | anyone with `public_parking`; parking-app, viewer |
//! | `GET /api/v1/districts/{d}/parking/free` | free spaces per lot and level now (reservations taken off) | anyone with `public_parking`; parking-app, viewer |
//! | `GET /api/v1/districts/{d}/parking/forecast` | free spaces per lot in 15/30/60 min (also retained on `live/forecast/{lot}`) | anyone with `public_parking`; parking-app, viewer |
//! | `GET /api/v1/districts/{d}/parking/nearest?lon=&lat=&limit=` | nearest open lots with free spaces (geodesic) | anyone with `public_parking`; parking-app, viewer |
//! | `GET\|POST /api/v1/districts/{d}/lots/{lot}/reservations` `{"plate":..,"from":..,"to":..}` | list, book (201; 409 over-booked) | list: parking-app (its own), viewer; book: parking-app |
//! | `DELETE /api/v1/districts/{d}/lots/{lot}/reservations/{id}` | cancel | parking-app (its own) |
//! | `GET /api/v1/districts/{d}/lots/{lot}/ngsi-ld`, `…/bays/ngsi-ld` | FIWARE OffStreetParking / ParkingSpot (NGSI-LD) | parking-app, viewer |
//! | `GET /api/v1/ws` | WebSocket: every live update as `{"topic":..,"payload":..}` | viewer (token in the header or `?access_token=`, or the session cookie) |
//! | `GET /healthz`, `GET /metrics` | health, Prometheus | open / viewer |
//! | `POST /api/v1/login` `{"user":..,"password":..}` | a browser session: cookie `sd_session` and `{"csrf_token":..}` ([`login`]) | open (an account with a password) |
//! | `POST /api/v1/logout` | ends the session of the cookie (with `X-CSRF-Token`) | open |

mod alerts;
pub mod auth;
mod history;
pub mod jwt;
pub mod limit;
mod live;
pub mod login;
pub mod origin;
mod parking;
pub mod session;
mod ws;

use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};

use crate::owner::DistrictCore;
use crate::shared::{DistrictHandle, Shared};

/// An API error: a status and a message, as JSON `{"error": ...}`.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

/// 404 with a message.
pub fn not_found(what: impl Into<String>) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, what.into())
}

/// 503 with a message.
pub fn unavailable(what: impl Into<String>) -> ApiError {
    ApiError(StatusCode::SERVICE_UNAVAILABLE, what.into())
}

/// District `d`'s handle (404 if it is not served here).
pub fn district<'a>(s: &'a Shared, d: &str) -> Result<&'a DistrictHandle, ApiError> {
    s.district(d)
        .ok_or_else(|| not_found(format!("district \"{d}\" is not served here")))
}

/// Asks district `h`'s owner (503 once it has stopped: the gateway is shutting down).
pub async fn ask<T: Send + 'static>(
    h: &DistrictHandle,
    f: impl FnOnce(&DistrictCore, i64) -> T + Send + 'static,
) -> Result<T, ApiError> {
    h.owner
        .ask(f)
        .await
        .ok_or_else(|| unavailable(format!("district \"{}\" is stopping", h.model.id)))
}

/// What the handlers share: the gateway's state, and the gatekeeper (for the login).
#[derive(Clone)]
pub struct ApiState {
    shared: Arc<Shared>,
    guard: Arc<auth::Guard>,
}

impl FromRef<ApiState> for Arc<Shared> {
    fn from_ref(s: &ApiState) -> Self {
        s.shared.clone()
    }
}

impl FromRef<ApiState> for Arc<auth::Guard> {
    fn from_ref(s: &ApiState) -> Self {
        s.guard.clone()
    }
}

/// The API's router, every route behind `guard` ([`auth::check`]).
pub fn router(shared: Arc<Shared>, guard: Arc<auth::Guard>) -> Router {
    Router::new()
        .route("/api/v1/districts", get(live::districts))
        .route("/api/v1/districts/{d}/summary", get(live::summary))
        .route("/api/v1/districts/{d}/zones", get(live::zones))
        .route("/api/v1/districts/{d}/zones/{zone}", get(live::zone))
        .route("/api/v1/districts/{d}/lots", get(live::lots))
        .route("/api/v1/districts/{d}/lots/{lot}", get(live::lot))
        .route("/api/v1/districts/{d}/lots/{lot}/bays", get(live::bays))
        .route("/api/v1/districts/{d}/air", get(live::air))
        .route("/api/v1/districts/{d}/energy", get(live::energy))
        .route("/api/v1/districts/{d}/history", get(history::history))
        .route("/api/v1/districts/{d}/alerts", get(alerts::list))
        .route("/api/v1/districts/{d}/alerts/{id}", get(alerts::one))
        .route(
            "/api/v1/districts/{d}/alerts/{id}/ack",
            post(alerts::acknowledge),
        )
        .route(
            "/api/v1/districts/{d}/alerts/{id}/clear",
            post(alerts::clear),
        )
        .route("/api/v1/districts/{d}/signs", get(parking::signs))
        .route("/api/v1/districts/{d}/signs/{sign}", get(parking::sign))
        .route("/api/v1/districts/{d}/parking/free", get(parking::free))
        .route(
            "/api/v1/districts/{d}/parking/nearest",
            get(parking::nearest),
        )
        .route(
            "/api/v1/districts/{d}/parking/forecast",
            get(parking::forecast),
        )
        .route(
            "/api/v1/districts/{d}/lots/{lot}/reservations",
            get(parking::list).post(parking::reserve),
        )
        .route(
            "/api/v1/districts/{d}/lots/{lot}/reservations/{id}",
            delete(parking::cancel),
        )
        .route(
            "/api/v1/districts/{d}/lots/{lot}/ngsi-ld",
            get(parking::lot_ngsi),
        )
        .route(
            "/api/v1/districts/{d}/lots/{lot}/bays/ngsi-ld",
            get(parking::bays_ngsi),
        )
        .route("/api/v1/ws", get(ws::upgrade))
        .route("/healthz", get(live::healthz))
        .route("/metrics", get(live::metrics))
        .route("/api/v1/login", post(login::login))
        .route("/api/v1/logout", post(login::logout))
        .route_layer(axum::middleware::from_fn_with_state(
            guard.clone(),
            auth::check,
        ))
        .with_state(ApiState { shared, guard })
}

/// Serves the API until `shutdown` turns true: HTTPS only when `tls` is given (`[http] tls`;
/// a plain HTTP request then fails the handshake), HTTP otherwise.
pub async fn serve(
    shared: Arc<Shared>,
    guard: Arc<auth::Guard>,
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let app = router(shared, guard).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let stopped = async move {
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
    };
    match tls {
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
        }
        Some(acceptor) => {
            let handshake = std::time::Duration::from_secs(10);
            // `tap_io` (a no-op) is what gives a custom listener the peer's address as
            // `ConnectInfo<SocketAddr>` in axum 0.8.
            let listener = crate::tls::listener::TlsListener::new(listener, acceptor, handshake)?
                .tap_io(|_| {});
            axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
        }
    }
}
