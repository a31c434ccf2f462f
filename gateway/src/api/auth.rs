//! Who is calling the API, and whether they may. A caller proves who it is with one of:
//! - `Authorization: Bearer TOKEN`, a token of the users file ([`crate::users`]); the
//!   WebSocket may give `?access_token=TOKEN` instead, since browsers cannot set headers on a
//!   WebSocket;
//! - `Authorization: Bearer JWT`, a token signed by the city's identity provider, when
//!   `[http.jwt]` is set ([`super::jwt`]);
//! - the session cookie `sd_session` of a person who logged in with a password
//!   ([`super::login`], [`super::session`]), when the request has no bearer token.
//!
//! One middleware ([`check`]) runs on every route after routing, in this order:
//! 1. a state-changing request or a WebSocket handshake from another site's page
//!    ([`super::origin`]) → 403 (the login too);
//! 2. no credentials → 401 (unless `[http] allow_anonymous`, or `[http] public_parking` for
//!    the parking guidance reads), an unknown token, an invalid JWT or an ended session →
//!    401, all with `WWW-Authenticate: Bearer`; a JWT whose roles map to none of the API's
//!    → 403;
//! 3. a state-changing request made with the session cookie without the session's
//!    `X-CSRF-Token` → 403;
//! 4. the caller's rate limit ([`super::limit`]) → 429;
//! 5. the route's [`Access`] ([`access_of`]) against the caller's role → 403;
//! 6. the handler, with the [`Caller`] in the request's extensions: the audit trail's `who`
//!    and a reservation's owner come from it, never from the body.
//!
//! The users file is looked at again at most every two seconds and reloaded when it
//! changed, so `gateway users add | rotate | revoke | passwd` apply without a restart (a
//! session ends at its next request once its account is revoked, changes role or gets a new
//! password); a broken file keeps the previous accounts in force (logged). Tokens,
//! passwords, session cookies and CSRF tokens are never logged.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::jwt::{self, Verifier};
use super::limit::Limiter;
use super::login::Failures;
use super::session::{self, Ended, Opened, Session, Sessions};
use crate::config::HttpConfig;
use crate::users::accounts::ANONYMOUS;
use crate::users::{file, Access, Accounts, ApiRole};

/// How often the users file is looked at for changes.
const RECHECK: Duration = Duration::from_secs(2);

/// Who made a request (in the request's extensions once [`check`] let it through).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The account's name ([`ANONYMOUS`] without a token).
    pub name: String,
    /// Its role.
    pub role: ApiRole,
    /// True when no token was given (`allow_anonymous`, `public_parking`).
    pub anonymous: bool,
}

/// What a route needs, from its method and its route pattern (`/api/v1/districts/{d}/…`).
pub fn access_of(method: &Method, route: &str) -> Access {
    let Some(rest) = route.strip_prefix("/api/v1/districts") else {
        return match route {
            "/healthz" | "/api/v1/login" | "/api/v1/logout" => Access::Open,
            "/metrics" | "/api/v1/ws" => Access::Read,
            _ => Access::Admin,
        };
    };
    let rest = rest.strip_prefix("/{d}").unwrap_or(rest);
    match (method.as_str(), rest) {
        ("GET", "/parking/free" | "/parking/nearest" | "/parking/forecast")
        | ("GET", "/signs" | "/signs/{sign}") => Access::ParkingRead,
        ("GET", "" | "/lots" | "/lots/{lot}" | "/lots/{lot}/bays")
        | ("GET", "/lots/{lot}/ngsi-ld" | "/lots/{lot}/bays/ngsi-ld")
        | ("GET", "/lots/{lot}/reservations") => Access::ParkingDetail,
        ("POST", "/lots/{lot}/reservations") | ("DELETE", "/lots/{lot}/reservations/{id}") => {
            Access::Book
        }
        ("POST", "/alerts/{id}/ack" | "/alerts/{id}/clear") => Access::Operate,
        ("GET", _) => Access::Read,
        _ => Access::Admin,
    }
}

/// The API's gatekeeper: the accounts, the anonymous settings, the origins and the limits.
#[derive(Debug)]
pub struct Guard {
    path: PathBuf,
    accounts: RwLock<Arc<Accounts>>,
    seen: Mutex<(Instant, Option<Stamp>)>,
    allow_anonymous: bool,
    public_parking: bool,
    allowed_origins: Vec<String>,
    limiter: Limiter,
    sessions: Mutex<Sessions>,
    failures: Mutex<Failures>,
    secure_cookies: bool,
    jwt: Option<Verifier>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

type Stamp = (SystemTime, u64);

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl Guard {
    /// The gatekeeper of `http`, with the users file from `[http] users_file` or the data
    /// folder (no file: no accounts yet). A broken file or `[http.jwt]` is an error.
    pub fn new(http: &HttpConfig, data_dir: &Path) -> anyhow::Result<Self> {
        let path = file::default_path(http.users_file.as_deref(), data_dir);
        let accounts = file::load_or_empty(&path)?;
        let jwt = match &http.jwt {
            Some(j) => {
                let v = Verifier::new(j).map_err(|e| anyhow::anyhow!("[http.jwt] {e}"))?;
                tracing::info!(issuer = %j.issuer, audience = %j.audience, "bearer JWTs from the identity provider are accepted");
                Some(v)
            }
            None => None,
        };
        if http.allow_anonymous {
            tracing::warn!("[http] allow_anonymous = true: the API lets anyone without a token do everything, as \"anonymous\"");
        } else if accounts.is_empty() {
            tracing::warn!(file = %path.display(), "no API accounts: every API call but /healthz{} is refused until one is added with `gateway users add NAME --role ROLE`", if http.public_parking { " and the parking reads" } else { "" });
        }
        if http.public_parking && !http.allow_anonymous {
            tracing::info!("[http] public_parking = true: free spaces, signs, nearest lots and forecasts are open without a token");
        }
        Ok(Guard {
            seen: Mutex::new((Instant::now(), stamp(&path))),
            path,
            accounts: RwLock::new(Arc::new(accounts)),
            allow_anonymous: http.allow_anonymous,
            public_parking: http.public_parking,
            allowed_origins: http.allowed_origins.clone(),
            limiter: Limiter::new(http.requests_per_sec, http.burst),
            sessions: Mutex::new(Sessions::new(http.session_idle, http.session_lifetime)),
            failures: Mutex::new(Failures::new(http.login_failures, http.login_window)),
            secure_cookies: http.tls.is_some(),
            jwt,
        })
    }

    /// How long a failed-login key (an address, a name) must wait; `None`: none must.
    pub fn login_blocked(&self, keys: &[&str]) -> Option<Duration> {
        let f = lock(&self.failures);
        let now = Instant::now();
        keys.iter().filter_map(|k| f.blocked(k, now)).max()
    }

    /// Counts a failed login for each of `keys`.
    pub fn login_failed(&self, keys: &[&str]) {
        let mut f = lock(&self.failures);
        let now = Instant::now();
        for k in keys {
            f.fail(k, now);
        }
    }

    /// After a successful login: forgets the failed logins of the name `user_key`, and takes
    /// back the failure counted for address `from` before the check.
    pub fn login_succeeded(&self, from: &str, user_key: &str) {
        let mut f = lock(&self.failures);
        f.forgive(from);
        f.clear(user_key);
    }

    /// Opens a session for account `name` (in `role`, with password digest `password`).
    pub fn open_session(&self, name: &str, role: ApiRole, password: [u8; 64]) -> Opened {
        lock(&self.sessions).open(name, role, password, Instant::now())
    }

    /// The session of cookie value `id`, if it is still going.
    pub fn resume_session(&self, id: &str) -> Result<Session, Ended> {
        let accounts = self.accounts();
        let r = lock(&self.sessions).resume(id, &accounts, Instant::now());
        if let Err(Ended::Revoked) = r {
            tracing::info!("a browser session ended: its account was revoked, changed role or got a new password");
        }
        r
    }

    /// Ends the session of cookie value `id`.
    pub fn close_session(&self, id: &str) {
        lock(&self.sessions).close(id);
    }

    /// A session's idle timeout and lifetime.
    pub fn session_limits(&self) -> (Duration, Duration) {
        let s = lock(&self.sessions);
        (s.idle(), s.lifetime())
    }

    /// Whether cookies get `Secure` (the API is on TLS).
    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }

    /// The accounts now (reloaded first if the file changed).
    pub fn accounts(&self) -> Arc<Accounts> {
        self.refresh();
        self.accounts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn refresh(&self) {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.0.elapsed() < RECHECK {
            return;
        }
        seen.0 = Instant::now();
        let now = stamp(&self.path);
        if now == seen.1 {
            return;
        }
        seen.1 = now;
        match file::load_or_empty(&self.path) {
            Ok(a) => {
                tracing::info!(file = %self.path.display(), accounts = a.len(), "API accounts reloaded");
                *self
                    .accounts
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(a);
            }
            Err(e) => {
                tracing::error!(error = %e, "API accounts not reloaded: the previous accounts stay in force");
            }
        }
    }

    /// Who the caller is: `Ok(None)` for a caller without a token that may not go on.
    fn caller(&self, token: Option<&str>, access: Access) -> Result<Option<Caller>, Refusal> {
        let Some(token) = token else {
            let anonymous = |role| {
                Some(Caller {
                    name: ANONYMOUS.into(),
                    role,
                    anonymous: true,
                })
            };
            return Ok(if self.allow_anonymous {
                anonymous(ApiRole::Admin)
            } else if self.public_parking && access == Access::ParkingRead {
                anonymous(ApiRole::Viewer)
            } else {
                None
            });
        };
        if let Some(v) = self.jwt.as_ref().filter(|_| jwt::looks_like_jwt(token)) {
            return match v.verify(token) {
                Ok((name, role)) => Ok(Some(Caller {
                    name,
                    role,
                    anonymous: false,
                })),
                Err(jwt::Refused::Invalid(why)) => Err(Refusal::BadJwt(why)),
                Err(jwt::Refused::NoRole(user)) => Err(Refusal::NoRole(user)),
            };
        }
        let accounts = self.accounts();
        accounts
            .find(token)
            .map(|a| {
                Some(Caller {
                    name: a.name.clone(),
                    role: a.role,
                    anonymous: false,
                })
            })
            .ok_or(Refusal::UnknownToken)
    }

    /// The caller of session cookie `id`; a state-changing request must carry the
    /// session's CSRF token, `csrf`.
    fn session_caller(
        &self,
        id: &str,
        changes: bool,
        csrf: Option<&str>,
    ) -> Result<Caller, Refusal> {
        let s = self.resume_session(id).map_err(|_| Refusal::SessionEnded)?;
        if changes && !s.csrf_matches(csrf) {
            return Err(Refusal::Csrf);
        }
        Ok(Caller {
            name: s.name,
            role: s.role,
            anonymous: false,
        })
    }
}

enum Refusal {
    UnknownToken,
    BadJwt(String),
    NoRole(String),
    SessionEnded,
    Csrf,
}

/// The token of a request: `Authorization: Bearer TOKEN`, or for the WebSocket
/// `?access_token=TOKEN`.
fn token_of(req: &Request, route: &str) -> Option<String> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION) {
        let v = v.to_str().ok()?.trim();
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    if route != "/api/v1/ws" {
        return None;
    }
    req.uri().query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == "access_token").then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

fn refuse(code: StatusCode, msg: String) -> Response {
    let mut r = (code, Json(serde_json::json!({ "error": msg }))).into_response();
    match code {
        StatusCode::UNAUTHORIZED => {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gateway\""),
            );
        }
        StatusCode::TOO_MANY_REQUESTS => {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        _ => {}
    }
    r
}

/// The middleware: see the module's documentation for the order of the checks.
pub async fn check(State(g): State<Arc<Guard>>, mut req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let access = access_of(req.method(), &route);
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes || route == "/api/v1/ws" {
        let h = |n| {
            req.headers()
                .get(n)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let origin = h(header::ORIGIN);
        if !super::origin::allowed(origin, h(header::HOST), &g.allowed_origins) {
            return refuse(
                StatusCode::FORBIDDEN,
                format!(
                    "cross-site request from origin \"{}\" refused (not this host, not in [http] allowed_origins)",
                    origin.unwrap_or_default()
                ),
            );
        }
    }
    if access == Access::Open {
        return next.run(req).await;
    }
    let found = match token_of(&req, &route) {
        Some(token) => g.caller(Some(token.as_str()), access),
        None => {
            let cookies = req
                .headers()
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok());
            match session::cookie(cookies, session::COOKIE).filter(|id| !id.is_empty()) {
                Some(id) => {
                    let csrf = req
                        .headers()
                        .get(session::CSRF_HEADER)
                        .and_then(|v| v.to_str().ok());
                    g.session_caller(id, changes, csrf).map(Some)
                }
                None => g.caller(None, access),
            }
        }
    };
    let caller = match found {
        Ok(Some(c)) => c,
        Ok(None) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "this API needs a bearer token: Authorization: Bearer TOKEN (an account is added with `gateway users add NAME --role ROLE`), or a login (POST /api/v1/login)".into(),
            )
        }
        Err(Refusal::UnknownToken) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "unknown or revoked token".into(),
            )
        }
        Err(Refusal::BadJwt(why)) => {
            tracing::info!(why = %why, route = %route, "JWT refused");
            return refuse(StatusCode::UNAUTHORIZED, format!("JWT refused: {why}"));
        }
        Err(Refusal::NoRole(user)) => {
            return refuse(
                StatusCode::FORBIDDEN,
                format!("\"{user}\" has no role of the identity provider that this API maps to one of its roles"),
            )
        }
        Err(Refusal::SessionEnded) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "the session has ended (logged out, expired, or the account changed); log in again".into(),
            )
        }
        Err(Refusal::Csrf) => {
            return refuse(
                StatusCode::FORBIDDEN,
                "a request with the session cookie that changes state needs the session's X-CSRF-Token header".into(),
            )
        }
    };
    let key = if caller.anonymous {
        match req.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(a)) => format!("{ANONYMOUS}@{}", a.ip()),
            None => ANONYMOUS.to_string(),
        }
    } else {
        caller.name.clone()
    };
    if !g.limiter.allow(&key) {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "rate limit of \"{}\" exceeded; try again shortly",
                caller.name
            ),
        );
    }
    if !caller.role.may(access) {
        return refuse(
            StatusCode::FORBIDDEN,
            format!(
                "account \"{}\" ({}) may not {} {route}",
                caller.name,
                caller.role,
                req.method()
            ),
        );
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::{Account, TokenHash};

    #[test]
    fn every_route_has_its_access() {
        use Access::*;
        let d = "/api/v1/districts/{d}";
        let cases = [
            ("GET", "/healthz".to_string(), Open),
            ("POST", "/api/v1/login".into(), Open),
            ("POST", "/api/v1/logout".into(), Open),
            ("GET", "/metrics".into(), Read),
            ("GET", "/api/v1/ws".into(), Read),
            ("GET", "/api/v1/districts".into(), ParkingDetail),
            ("GET", format!("{d}/summary"), Read),
            ("GET", format!("{d}/zones"), Read),
            ("GET", format!("{d}/zones/{{zone}}"), Read),
            ("GET", format!("{d}/lots"), ParkingDetail),
            ("GET", format!("{d}/lots/{{lot}}"), ParkingDetail),
            ("GET", format!("{d}/lots/{{lot}}/bays"), ParkingDetail),
            ("GET", format!("{d}/air"), Read),
            ("GET", format!("{d}/energy"), Read),
            ("GET", format!("{d}/history"), Read),
            ("GET", format!("{d}/alerts"), Read),
            ("GET", format!("{d}/alerts/{{id}}"), Read),
            ("POST", format!("{d}/alerts/{{id}}/ack"), Operate),
            ("POST", format!("{d}/alerts/{{id}}/clear"), Operate),
            ("GET", format!("{d}/signs"), ParkingRead),
            ("GET", format!("{d}/signs/{{sign}}"), ParkingRead),
            ("GET", format!("{d}/parking/free"), ParkingRead),
            ("GET", format!("{d}/parking/nearest"), ParkingRead),
            ("GET", format!("{d}/parking/forecast"), ParkingRead),
            (
                "GET",
                format!("{d}/lots/{{lot}}/reservations"),
                ParkingDetail,
            ),
            ("POST", format!("{d}/lots/{{lot}}/reservations"), Book),
            (
                "DELETE",
                format!("{d}/lots/{{lot}}/reservations/{{id}}"),
                Book,
            ),
            ("GET", format!("{d}/lots/{{lot}}/ngsi-ld"), ParkingDetail),
            (
                "GET",
                format!("{d}/lots/{{lot}}/bays/ngsi-ld"),
                ParkingDetail,
            ),
            ("PUT", format!("{d}/summary"), Admin),
            ("GET", "/something/new".into(), Admin),
        ];
        for (m, route, want) in cases {
            let m: Method = m.parse().unwrap();
            assert_eq!(access_of(&m, &route), want, "{m} {route}");
        }
    }

    fn guard(dir: &Path, http: HttpConfig) -> Guard {
        let mut a = Accounts::default();
        a.add(Account {
            name: "screen".into(),
            role: ApiRole::Viewer,
            hash: TokenHash::of("tok-v"),
            created: String::new(),
        })
        .unwrap();
        file::save(&dir.join("users.toml"), &a).unwrap();
        Guard::new(&http, dir).unwrap()
    }

    #[test]
    fn callers_are_found_by_token_or_refused() {
        let dir = tempfile::tempdir().unwrap();
        let g = guard(dir.path(), HttpConfig::default());
        let c = g
            .caller(Some("tok-v"), Access::Read)
            .ok()
            .flatten()
            .unwrap();
        assert_eq!(
            (c.name.as_str(), c.role, c.anonymous),
            ("screen", ApiRole::Viewer, false)
        );
        assert!(g.caller(Some("nope"), Access::Read).is_err());
        assert!(matches!(g.caller(None, Access::ParkingRead), Ok(None)));

        let g = guard(
            dir.path(),
            HttpConfig {
                public_parking: true,
                ..Default::default()
            },
        );
        let c = g.caller(None, Access::ParkingRead).ok().flatten().unwrap();
        assert!(c.anonymous && c.role == ApiRole::Viewer);
        assert!(matches!(g.caller(None, Access::ParkingDetail), Ok(None)));
        assert!(matches!(g.caller(None, Access::Read), Ok(None)));

        let g = guard(
            dir.path(),
            HttpConfig {
                allow_anonymous: true,
                ..Default::default()
            },
        );
        let c = g.caller(None, Access::Book).ok().flatten().unwrap();
        assert_eq!((c.name.as_str(), c.role), (ANONYMOUS, ApiRole::Admin));
        // A token given is still checked.
        assert!(g.caller(Some("nope"), Access::Read).is_err());
    }

    #[test]
    fn a_session_caller_needs_the_csrf_token_to_change_state() {
        let dir = tempfile::tempdir().unwrap();
        let g = guard(dir.path(), HttpConfig::default());
        assert!(!g.secure_cookies());
        let path = dir.path().join("users.toml");
        let mut a = file::load(&path).unwrap();
        let pw = crate::auth::hash::PasswordHash::new("pw");
        a.set_password("screen", Some(pw.clone())).unwrap();
        file::save(&path, &a).unwrap();
        *g.accounts.write().unwrap() = Arc::new(a);
        let s = g.open_session("screen", ApiRole::Viewer, *pw.digest());
        let c = g.session_caller(&s.id, false, None).ok().unwrap();
        assert_eq!((c.name.as_str(), c.role), ("screen", ApiRole::Viewer));
        assert!(matches!(
            g.session_caller(&s.id, true, None),
            Err(Refusal::Csrf)
        ));
        assert!(matches!(
            g.session_caller(&s.id, true, Some("x")),
            Err(Refusal::Csrf)
        ));
        assert!(g.session_caller(&s.id, true, Some(&s.csrf)).is_ok());
        g.close_session(&s.id);
        assert!(matches!(
            g.session_caller(&s.id, false, None),
            Err(Refusal::SessionEnded)
        ));

        let tls = HttpConfig {
            tls: Some(crate::tls::CertKey {
                cert: "c.pem".into(),
                key: "k.pem".into(),
            }),
            ..Default::default()
        };
        assert!(guard(dir.path(), tls).secure_cookies(), "Secure on TLS");
    }

    #[test]
    fn a_broken_users_file_stops_the_start_and_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("users.toml"), "[[user]]\nname = 3\n").unwrap();
        let e = Guard::new(&HttpConfig::default(), dir.path()).unwrap_err();
        assert!(e.to_string().contains("users.toml:2:"), "{e}");
    }

    #[test]
    fn tokens_come_from_the_header_or_for_the_websocket_the_query() {
        let req = |uri: &str, auth: Option<&str>| {
            let mut b = axum::http::Request::builder().uri(uri);
            if let Some(a) = auth {
                b = b.header(header::AUTHORIZATION, a);
            }
            b.body(axum::body::Body::empty()).unwrap()
        };
        let t = |r: &Request, route| token_of(r, route);
        assert_eq!(
            t(&req("/x", Some("Bearer abc")), "/x").as_deref(),
            Some("abc")
        );
        assert_eq!(
            t(&req("/x", Some("bearer  abc ")), "/x").as_deref(),
            Some("abc")
        );
        assert_eq!(t(&req("/x", Some("Basic abc")), "/x"), None);
        assert_eq!(t(&req("/x?access_token=abc", None), "/x"), None);
        assert_eq!(
            t(
                &req("/api/v1/ws?a=1&access_token=a%2Db", None),
                "/api/v1/ws"
            )
            .as_deref(),
            Some("a-b")
        );
    }
}
