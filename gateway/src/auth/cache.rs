//! Verified (identity, password) pairs, remembered so that a reconnect does not pay for
//! PBKDF2 again.
//!
//! What is kept per identity is an HMAC-SHA256, under a key drawn at random when the process
//! starts, of the identity, its stored digest and the password: never the password, and
//! useless outside this process. A tag is bound to the stored hash, so a rotated or revoked
//! identity's old password stops matching at once. One entry per identity at most; a wrong
//! password is never remembered (it pays for the full verify every time).
//!
//! A hit costs one HMAC-SHA256 over about 100 bytes, a lock and a map lookup: 3.4–3.6 µs in
//! a debug build on the 2-core development machine (`cache_hit_cost`, `cargo test -p gateway
//! --lib auth::cache -- --nocapture`), against 0.38–0.55 ms for a `$7$` verify with 101
//! iterations: a hundred times less. The cache lives in the process: after a gateway
//! restart each device pays one full verify when it reconnects (20,000 devices: 8–11 s of
//! CPU in a debug build, on the blocking pool, spread over the reconnects); a device
//! reconnecting after a network blip, or a fleet reconnecting after the device port's
//! clients were dropped, pays the cache hit only.

use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::secret::random_bytes;
use super::PasswordHash;

/// Remembered verified pairs.
pub struct VerifiedCache {
    key: [u8; 32],
    tags: Mutex<HashMap<String, [u8; 32]>>,
}

impl Default for VerifiedCache {
    fn default() -> Self {
        VerifiedCache {
            key: random_bytes::<32>(),
            tags: Mutex::new(HashMap::new()),
        }
    }
}

impl std::fmt::Debug for VerifiedCache {
    /// The number of entries only: the key and the tags stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifiedCache({} identities)", self.len())
    }
}

impl VerifiedCache {
    fn tag(&self, id: &str, stored: &PasswordHash, password: &str) -> [u8; 32] {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        m.update(id.as_bytes());
        m.update(&[0]);
        m.update(stored.digest());
        m.update(&[0]);
        m.update(password.as_bytes());
        m.finalize().into_bytes().into()
    }

    /// Whether `password` was verified for `id` against `stored` before.
    pub fn hit(&self, id: &str, stored: &PasswordHash, password: &str) -> bool {
        let tag = self.tag(id, stored, password);
        let tags = self.tags.lock().expect("cache lock");
        tags.get(id).is_some_and(|t| bool::from(t.ct_eq(&tag)))
    }

    /// Remembers that `password` verified for `id` against `stored`.
    pub fn remember(&self, id: &str, stored: &PasswordHash, password: &str) {
        let tag = self.tag(id, stored, password);
        self.tags
            .lock()
            .expect("cache lock")
            .insert(id.to_string(), tag);
    }

    /// Forgets the identities `keep` refuses (those revoked).
    pub fn retain(&self, mut keep: impl FnMut(&str) -> bool) {
        self.tags
            .lock()
            .expect("cache lock")
            .retain(|id, _| keep(id));
    }

    /// Identities remembered now.
    pub fn len(&self) -> usize {
        self.tags.lock().expect("cache lock").len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_pair_hits_and_nothing_else_does() {
        let c = VerifiedCache::default();
        let h = PasswordHash::new("pw");
        assert!(!c.hit("ps-1", &h, "pw"));
        c.remember("ps-1", &h, "pw");
        assert!(c.hit("ps-1", &h, "pw"));
        assert!(!c.hit("ps-1", &h, "pw2"), "another password");
        assert!(!c.hit("ps-2", &h, "pw"), "another identity");
        let rotated = PasswordHash::new("pw");
        assert!(!c.hit("ps-1", &rotated, "pw"), "bound to the stored hash");
        c.retain(|id| id != "ps-1");
        assert!(c.is_empty());
    }

    #[test]
    fn the_cache_holds_no_password() {
        let c = VerifiedCache::default();
        c.remember(
            "ps-1",
            &PasswordHash::new("hunter2-secret"),
            "hunter2-secret",
        );
        assert!(!format!("{c:?}").contains("hunter2"));
        let other = VerifiedCache::default();
        let h = PasswordHash::new("pw");
        c.remember("x", &h, "pw");
        assert_ne!(
            c.tag("x", &h, "pw"),
            other.tag("x", &h, "pw"),
            "per-process key"
        );
    }

    #[test]
    fn cache_hit_cost() {
        let c = VerifiedCache::default();
        let h = PasswordHash::new("pw");
        c.remember("ps-1", &h, "pw");
        let n = 10_000;
        let t = std::time::Instant::now();
        for _ in 0..n {
            assert!(c.hit("ps-1", &h, "pw"));
        }
        let per = t.elapsed() / n;
        println!("one cache hit: {per:?}");
        assert!(per < std::time::Duration::from_millis(1), "{per:?}");
    }
}
