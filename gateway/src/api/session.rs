//! Browser sessions of people who logged in with a password (`POST /api/v1/login`): the
//! cookie `sd_session` carries a random 32-byte id, and every state-changing request made
//! with it must also carry the session's CSRF token in `X-CSRF-Token`.
//!
//! The store is pure: every call is given the time, so expiry is tested without waiting. It
//! lives in memory in the API's [`super::auth::Guard`] (a restart ends every session). A
//! session ends after `[http] session_idle` without a request, `[http] session_lifetime`
//! after the login, at logout, and as soon as its account is revoked, changes role or gets a
//! new password (checked against the current accounts on every use).
//!
//! Ids are kept as their SHA-256, so neither a look-up's timing nor a dump of the memory
//! gives a usable id; the CSRF token is compared in constant time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::users::{Accounts, ApiRole};

/// The session cookie's name.
pub const COOKIE: &str = "sd_session";
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Sessions kept at most; past that, expired ones are dropped, then the oldest.
const MAX_SESSIONS: usize = 10_000;

/// One session.
#[derive(Clone)]
pub struct Session {
    /// The account's name.
    pub name: String,
    /// Its role at login.
    pub role: ApiRole,
    /// The password hash's digest at login (a new password ends the session).
    password: [u8; 64],
    csrf: String,
    created: Instant,
    last: Instant,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Whether `presented` (the `X-CSRF-Token` header) is this session's CSRF token.
    pub fn csrf_matches(&self, presented: Option<&str>) -> bool {
        let Some(p) = presented else {
            return false;
        };
        let (a, b) = (Sha256::digest(p.as_bytes()), Sha256::digest(&self.csrf));
        a.ct_eq(&b).into()
    }
}

/// A new session's secrets, for the login's answer (never logged).
pub struct Opened {
    /// The cookie's value.
    pub id: String,
    /// The CSRF token.
    pub csrf: String,
}

/// Why a session id was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Unknown id, logged out, or expired (idle or lifetime).
    Gone,
    /// Its account was revoked, changed role or got a new password.
    Revoked,
}

/// Every session, with its limits.
#[derive(Debug)]
pub struct Sessions {
    idle: Duration,
    lifetime: Duration,
    by_id: HashMap<[u8; 32], Session>,
}

fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    /// No sessions; each ends after `idle` without use or `lifetime` after it began.
    pub fn new(idle: Duration, lifetime: Duration) -> Self {
        Sessions {
            idle,
            lifetime,
            by_id: HashMap::new(),
        }
    }

    /// How long a new session lasts at most.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// How long a session may stay unused.
    pub fn idle(&self) -> Duration {
        self.idle
    }

    fn live(&self, s: &Session, now: Instant) -> bool {
        now.saturating_duration_since(s.last) < self.idle
            && now.saturating_duration_since(s.created) < self.lifetime
    }

    /// Opens a session for account `name` in `role` whose password digest is `password`.
    pub fn open(&mut self, name: &str, role: ApiRole, password: [u8; 64], now: Instant) -> Opened {
        if self.by_id.len() >= MAX_SESSIONS {
            let (idle, lifetime) = (self.idle, self.lifetime);
            self.by_id.retain(|_, s| {
                now.saturating_duration_since(s.last) < idle
                    && now.saturating_duration_since(s.created) < lifetime
            });
            if self.by_id.len() >= MAX_SESSIONS {
                if let Some(oldest) = self
                    .by_id
                    .iter()
                    .min_by_key(|(_, s)| s.last)
                    .map(|(k, _)| *k)
                {
                    self.by_id.remove(&oldest);
                }
            }
        }
        let id = crate::auth::secret::new_secret();
        let csrf = crate::auth::secret::new_secret();
        self.by_id.insert(
            key(&id),
            Session {
                name: name.to_string(),
                role,
                password,
                csrf: csrf.clone(),
                created: now,
                last: now,
            },
        );
        Opened { id, csrf }
    }

    /// The session of cookie value `id` at `now`, checked against `accounts` (the account
    /// must still exist with the same role and password) and marked used; an ended session
    /// is forgotten.
    pub fn resume(
        &mut self,
        id: &str,
        accounts: &Accounts,
        now: Instant,
    ) -> Result<Session, Ended> {
        let k = key(id);
        let Some(s) = self.by_id.get(&k) else {
            return Err(Ended::Gone);
        };
        if !self.live(s, now) {
            self.by_id.remove(&k);
            return Err(Ended::Gone);
        }
        let same = accounts.get(&s.name).is_some_and(|a| a.role == s.role)
            && accounts
                .password(&s.name)
                .is_some_and(|p| p.digest() == &s.password);
        if !same {
            self.by_id.remove(&k);
            return Err(Ended::Revoked);
        }
        let s = self.by_id.get_mut(&k).expect("present");
        s.last = now;
        Ok(s.clone())
    }

    /// Ends the session of cookie value `id`; whether there was one.
    pub fn close(&mut self, id: &str) -> bool {
        self.by_id.remove(&key(id)).is_some()
    }

    /// How many sessions are kept (some may have expired unseen).
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when none are kept.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie<'a>(headers: impl IntoIterator<Item = &'a str>, name: &str) -> Option<&'a str> {
    headers.into_iter().find_map(|h| {
        h.split(';').find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k.trim() == name).then(|| v.trim().trim_matches('"'))
        })
    })
}

/// The `Set-Cookie` value that gives the browser session `id` for `max_age`: HttpOnly
/// (no script reads it), SameSite=Strict (no other site's page sends it), `Secure` on TLS.
pub fn set_cookie(id: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", Duration::ZERO, secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::hash::PasswordHash;
    use crate::users::{Account, TokenHash};

    fn accounts(role: ApiRole, pw: &PasswordHash) -> Accounts {
        let mut a = Accounts::default();
        a.add(Account {
            name: "alice".into(),
            role,
            hash: TokenHash::of("t"),
            created: String::new(),
        })
        .unwrap();
        a.set_password("alice", Some(pw.clone())).unwrap();
        a
    }

    #[test]
    fn sessions_end_when_idle_or_old_with_explicit_time() {
        let pw = PasswordHash::new("pw");
        let acc = accounts(ApiRole::Operator, &pw);
        let mut s = Sessions::new(Duration::from_secs(60), Duration::from_secs(300));
        let t0 = Instant::now();
        let a = s.open("alice", ApiRole::Operator, *pw.digest(), t0);
        assert_eq!(a.id.len(), 43);
        assert_ne!(a.id, a.csrf);
        let at = |secs| t0 + Duration::from_secs(secs);
        // Used every 50 s, it lives past the idle time, up to its lifetime.
        for t in (50..300).step_by(50) {
            let got = s.resume(&a.id, &acc, at(t)).unwrap();
            assert_eq!((got.name.as_str(), got.role), ("alice", ApiRole::Operator));
        }
        assert_eq!(s.resume(&a.id, &acc, at(300)).unwrap_err(), Ended::Gone);
        assert!(s.is_empty(), "an ended session is forgotten");

        // Unused for the idle time: gone.
        let b = s.open("alice", ApiRole::Operator, *pw.digest(), t0);
        assert!(s.resume(&b.id, &acc, at(59)).is_ok());
        assert_eq!(s.resume(&b.id, &acc, at(119)).unwrap_err(), Ended::Gone);

        // Logout, unknown ids.
        let c = s.open("alice", ApiRole::Operator, *pw.digest(), t0);
        assert!(s.close(&c.id));
        assert!(!s.close(&c.id));
        assert_eq!(s.resume(&c.id, &acc, t0).unwrap_err(), Ended::Gone);
        assert_eq!(s.resume("nope", &acc, t0).unwrap_err(), Ended::Gone);
    }

    #[test]
    fn a_revoked_account_a_new_role_or_password_ends_its_sessions() {
        let pw = PasswordHash::new("pw");
        let mut s = Sessions::new(Duration::from_secs(60), Duration::from_secs(300));
        let t0 = Instant::now();
        let open = |s: &mut Sessions| s.open("alice", ApiRole::Operator, *pw.digest(), t0).id;

        let id = open(&mut s);
        let viewer = accounts(ApiRole::Viewer, &pw);
        assert_eq!(s.resume(&id, &viewer, t0).unwrap_err(), Ended::Revoked);
        assert_eq!(
            s.resume(&id, &accounts(ApiRole::Operator, &pw), t0)
                .unwrap_err(),
            Ended::Gone
        );

        let id = open(&mut s);
        assert_eq!(
            s.resume(&id, &Accounts::default(), t0).unwrap_err(),
            Ended::Revoked
        );

        let id = open(&mut s);
        let other = accounts(ApiRole::Operator, &PasswordHash::new("pw"));
        assert_eq!(
            s.resume(&id, &other, t0).unwrap_err(),
            Ended::Revoked,
            "new salt, new password"
        );

        let id = open(&mut s);
        let mut none = accounts(ApiRole::Operator, &pw);
        none.set_password("alice", None).unwrap();
        assert_eq!(s.resume(&id, &none, t0).unwrap_err(), Ended::Revoked);
    }

    #[test]
    fn the_csrf_token_must_match() {
        let pw = PasswordHash::new("pw");
        let acc = accounts(ApiRole::Operator, &pw);
        let mut s = Sessions::new(Duration::from_secs(60), Duration::from_secs(300));
        let t0 = Instant::now();
        let a = s.open("alice", ApiRole::Operator, *pw.digest(), t0);
        let b = s.open("alice", ApiRole::Operator, *pw.digest(), t0);
        let got = s.resume(&a.id, &acc, t0).unwrap();
        assert!(got.csrf_matches(Some(&a.csrf)));
        assert!(!got.csrf_matches(Some(&b.csrf)), "another session's token");
        assert!(!got.csrf_matches(None));
        assert!(!got.csrf_matches(Some("")));
        assert!(
            !got.csrf_matches(Some(&a.id)),
            "the cookie is not the token"
        );
        assert!(!format!("{got:?}").contains(&a.csrf));
    }

    #[test]
    fn cookies_are_read_and_written() {
        assert_eq!(cookie(["a=1; sd_session=xyz; b=2"], COOKIE), Some("xyz"));
        assert_eq!(cookie(["a=1", "sd_session=\"q\""], COOKIE), Some("q"));
        assert_eq!(cookie(["sd_sessionx=1"], COOKIE), None);
        assert_eq!(
            set_cookie("ID", Duration::from_secs(60), true),
            "sd_session=ID; HttpOnly; SameSite=Strict; Path=/; Max-Age=60; Secure"
        );
        assert_eq!(
            clear_cookie(false),
            "sd_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"
        );
    }
}
