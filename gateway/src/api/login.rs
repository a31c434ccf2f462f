//! Password login for people: `POST /api/v1/login` `{"user": .., "password": ..}` opens a
//! browser session ([`super::session`]) and answers its CSRF token; `POST /api/v1/logout`
//! ends it.
//!
//! - A wrong user name, a wrong password and an account without a password get the same
//!   401 and take the same time (a missing account's password is checked against a dummy
//!   hash of the same cost), so the answer does not tell which names exist.
//! - Failed logins are counted per address and per user name given ([`Failures`]): after
//!   `[http] login_failures` within `[http] login_window`, further logins from that address
//!   or for that name get 429 until the window has passed, before any password is checked.
//!   An attempt is counted before the password is checked (so a burst of logins sent at
//!   once cannot all pass) and a success takes it back; a success clears the name's count,
//!   not the address's (an attacker's own account must not reset the count of the address
//!   it guesses from).
//! - The password is checked on the blocking pool (PBKDF2 is slow on purpose).
//! - Neither the password, the cookie nor the CSRF token is logged.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::auth::Guard;
use super::session;
use super::ApiError;
use crate::auth::hash::PasswordHash;

/// The largest login body read, bytes.
const MAX_BODY: usize = 16 * 1024;
/// Keys kept at most by [`Failures`] before expired ones are dropped.
const MAX_KEYS: usize = 10_000;

/// Failed logins per key (an address, a user name), in fixed windows. Pure: the time is
/// given.
#[derive(Debug)]
pub struct Failures {
    max: u32,
    window: Duration,
    by_key: HashMap<String, (Instant, u32)>,
}

impl Failures {
    /// At most `max` failures (at least 1) per key within `window`.
    pub fn new(max: u32, window: Duration) -> Self {
        Failures {
            max: max.max(1),
            window,
            by_key: HashMap::new(),
        }
    }

    /// How long `key` must wait before trying again at `now` (`None`: it may try now).
    pub fn blocked(&self, key: &str, now: Instant) -> Option<Duration> {
        let (since, n) = self.by_key.get(key)?;
        let left = self
            .window
            .checked_sub(now.saturating_duration_since(*since))?;
        (*n >= self.max && !left.is_zero()).then_some(left)
    }

    /// Counts a failure of `key` at `now`.
    pub fn fail(&mut self, key: &str, now: Instant) {
        if self.by_key.len() >= MAX_KEYS && !self.by_key.contains_key(key) {
            let w = self.window;
            self.by_key
                .retain(|_, (since, _)| now.saturating_duration_since(*since) < w);
        }
        let e = self.by_key.entry(key.to_string()).or_insert((now, 0));
        if now.saturating_duration_since(e.0) >= self.window {
            *e = (now, 0);
        }
        e.1 += 1;
    }

    /// Forgets `key`'s failures (after a successful login).
    pub fn clear(&mut self, key: &str) {
        self.by_key.remove(key);
    }

    /// Takes back one failure of `key` (counted before a login that then succeeded).
    pub fn forgive(&mut self, key: &str) {
        if let Some(e) = self.by_key.get_mut(key) {
            e.1 = e.1.saturating_sub(1);
        }
    }
}

#[derive(Deserialize)]
struct LoginBody {
    user: String,
    password: String,
}

/// A hash of the login cost for a name without an account or without a password.
fn dummy() -> &'static PasswordHash {
    static DUMMY: OnceLock<PasswordHash> = OnceLock::new();
    DUMMY.get_or_init(|| crate::users::cli::hash_password("no account has this password"))
}

fn answer(code: StatusCode, msg: &str) -> Response {
    let mut r = ApiError(code, msg.to_string()).into_response();
    if code == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"gateway\""),
        );
    }
    r
}

fn throttled(wait: Duration) -> Response {
    let mut r = answer(
        StatusCode::TOO_MANY_REQUESTS,
        "too many failed logins; try again later",
    );
    let secs = wait.as_secs().max(1).to_string();
    if let Ok(v) = HeaderValue::from_str(&secs) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// `POST /api/v1/login`.
pub async fn login(State(g): State<Arc<Guard>>, req: Request) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let body = axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .unwrap_or_default();
    let Ok(b) = serde_json::from_slice::<LoginBody>(&body) else {
        return answer(
            StatusCode::BAD_REQUEST,
            "expected JSON {\"user\": NAME, \"password\": PASSWORD}",
        );
    };
    let from = match peer {
        Some(a) => format!("addr:{}", a.ip()),
        None => "addr:?".to_string(),
    };
    let user_key = format!("user:{}", b.user);
    if let Some(wait) = g.login_blocked(&[&from, &user_key]) {
        tracing::warn!(from = %from, "login refused: too many failed logins");
        return throttled(wait);
    }
    // Counted as a failure before the slow check, so that many logins sent at once cannot
    // all pass the throttle; a success takes it back.
    g.login_failed(&[&from, &user_key]);
    let accounts = g.accounts();
    let account = accounts.get(&b.user).cloned();
    let stored = accounts.password(&b.user).cloned();
    let checked = stored.clone().unwrap_or_else(|| dummy().clone());
    let password = b.password;
    let ok = tokio::task::spawn_blocking(move || checked.verify(&password))
        .await
        .unwrap_or(false);
    match (ok, account, stored) {
        (true, Some(a), Some(pw)) => {
            g.login_succeeded(&from, &user_key);
            let opened = g.open_session(&a.name, a.role, *pw.digest());
            tracing::info!(user = %a.name, role = %a.role, "logged in");
            let (idle, lifetime) = g.session_limits();
            let mut r = Json(serde_json::json!({
                "user": a.name,
                "role": a.role.as_str(),
                "csrf_token": opened.csrf,
                "idle_timeout_s": idle.as_secs(),
                "expires_in_s": lifetime.as_secs(),
            }))
            .into_response();
            let cookie = session::set_cookie(&opened.id, lifetime, g.secure_cookies());
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        _ => {
            // The name is logged only when it is an account's: a password typed into the
            // name field stays out of the log.
            let user = if accounts.get(&b.user).is_some() {
                b.user.as_str()
            } else {
                "(not an account)"
            };
            tracing::info!(user = %user, from = %from, "login failed");
            answer(StatusCode::UNAUTHORIZED, "wrong user name or password")
        }
    }
}

/// `POST /api/v1/logout`: ends the session of the request's cookie (the request must carry
/// its CSRF token) and removes the cookie; without a session it only removes the cookie.
pub async fn logout(State(g): State<Arc<Guard>>, headers: HeaderMap) -> Response {
    let cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    if let Some(id) = session::cookie(cookies, session::COOKIE) {
        let csrf = headers
            .get(session::CSRF_HEADER)
            .and_then(|v| v.to_str().ok());
        match g.resume_session(id) {
            Ok(s) if !s.csrf_matches(csrf) => {
                return answer(
                    StatusCode::FORBIDDEN,
                    "missing or wrong X-CSRF-Token for this session",
                )
            }
            Ok(s) => {
                g.close_session(id);
                tracing::info!(user = %s.name, "logged out");
            }
            Err(_) => {}
        }
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(g.secure_cookies())) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_block_a_key_for_the_rest_of_the_window() {
        let mut f = Failures::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        for s in 0..2 {
            f.fail("a", at(s));
            assert_eq!(f.blocked("a", at(s)), None);
        }
        f.fail("a", at(10));
        assert_eq!(f.blocked("a", at(10)), Some(Duration::from_secs(50)));
        assert_eq!(f.blocked("b", at(10)), None, "per key");
        assert_eq!(f.blocked("a", at(59)), Some(Duration::from_secs(1)));
        assert_eq!(f.blocked("a", at(60)), None, "the window has passed");
        // A new window counts from zero.
        f.fail("a", at(61));
        assert_eq!(f.blocked("a", at(61)), None);
        f.fail("a", at(62));
        f.fail("a", at(63));
        assert!(f.blocked("a", at(63)).is_some());
        f.forgive("a");
        assert_eq!(f.blocked("a", at(63)), None, "a success takes one back");
        f.fail("a", at(64));
        assert!(f.blocked("a", at(64)).is_some());
        f.clear("a");
        assert_eq!(f.blocked("a", at(64)), None);
    }
}
