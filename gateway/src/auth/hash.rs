//! Password hashes in mosquitto's password-file format, so that one file serves the gateway
//! and an external mosquitto.
//!
//! - `$7$ITERATIONS$SALT$HASH`: PBKDF2-HMAC-SHA512 (mosquitto 2's default), a 12-byte salt and
//!   a 64-byte hash, both in standard base64 with padding. Written by the gateway with 101
//!   iterations, as `mosquitto_passwd` does.
//! - `$6$SALT$HASH`: one SHA-512 over password then salt (mosquitto 1.6's default): read and
//!   verified, never written.
//!
//! Cost, measured on the 2-core development machine in a debug build (dependencies at
//! opt-level 1) by the unit test `verify_cost` (`cargo test -p gateway --lib
//! auth::hash::tests::verify_cost -- --nocapture --test-threads=1`): one `$7$` verify with
//! 101 iterations takes 0.38–0.55 ms (CPython's OpenSSL-backed `hashlib.pbkdf2_hmac`: about
//! 0.1 ms). A file with more iterations costs proportionally more; the verified-pair cache
//! ([`super::cache`]) makes a reconnect with a known password cost about 3.5 µs whatever the
//! iterations.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use super::secret::random_bytes;

/// Iterations of new `$7$` hashes (mosquitto_passwd's default).
pub const DEFAULT_ITERATIONS: u32 = 101;
/// Salt length of new hashes, bytes (mosquitto's `SALT_LEN`).
pub const SALT_LEN: usize = 12;
/// Most iterations a stored hash may ask for (a bound against a file that would stall
/// every connect).
pub const MAX_ITERATIONS: u32 = 10_000_000;

/// A stored password hash.
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordHash {
    /// `$7$`: PBKDF2-HMAC-SHA512.
    Pbkdf2Sha512 {
        /// Iterations.
        iterations: u32,
        /// Salt.
        salt: Vec<u8>,
        /// Derived key, 64 bytes.
        hash: [u8; 64],
    },
    /// `$6$`: SHA-512 of password then salt.
    Sha512 {
        /// Salt.
        salt: Vec<u8>,
        /// Digest, 64 bytes.
        hash: [u8; 64],
    },
}

impl PasswordHash {
    /// A new `$7$` hash of `password` with a random salt and the default iterations.
    pub fn new(password: &str) -> PasswordHash {
        PasswordHash::with_iterations(password, DEFAULT_ITERATIONS)
    }

    /// A new `$7$` hash of `password` with a random salt and `iterations` (at least 1).
    pub fn with_iterations(password: &str, iterations: u32) -> PasswordHash {
        let iterations = iterations.clamp(1, MAX_ITERATIONS);
        let salt = random_bytes::<SALT_LEN>().to_vec();
        let hash = pbkdf2_sha512(password.as_bytes(), &salt, iterations);
        PasswordHash::Pbkdf2Sha512 {
            iterations,
            salt,
            hash,
        }
    }

    /// Parses the part of a password-file line after `id:`.
    pub fn parse(s: &str) -> Result<PasswordHash, String> {
        let parts: Vec<&str> = s.split('$').collect();
        match parts.as_slice() {
            ["", "7", iterations, salt, hash] => {
                let iterations: u32 = iterations
                    .parse()
                    .map_err(|_| format!("iterations \"{iterations}\" is not a whole number"))?;
                if iterations == 0 || iterations > MAX_ITERATIONS {
                    return Err(format!(
                        "iterations {iterations} out of range 1..={MAX_ITERATIONS}"
                    ));
                }
                Ok(PasswordHash::Pbkdf2Sha512 {
                    iterations,
                    salt: decode("salt", salt)?,
                    hash: digest(hash)?,
                })
            }
            ["", "6", salt, hash] => Ok(PasswordHash::Sha512 {
                salt: decode("salt", salt)?,
                hash: digest(hash)?,
            }),
            ["", kind, ..] => Err(format!(
                "unsupported hash type ${kind}$ (expected $7$ PBKDF2-SHA512 or $6$ SHA-512)"
            )),
            _ => Err(
                "not a hashed password (expected $7$ITERATIONS$SALT$HASH; plain passwords are not accepted)"
                    .into(),
            ),
        }
    }

    /// The stored digest (64 bytes): what tells one stored hash from another (a new salt
    /// gives a new digest).
    pub fn digest(&self) -> &[u8; 64] {
        match self {
            PasswordHash::Pbkdf2Sha512 { hash, .. } | PasswordHash::Sha512 { hash, .. } => hash,
        }
    }

    /// Whether `password` matches, in time independent of where the hashes differ.
    pub fn verify(&self, password: &str) -> bool {
        match self {
            PasswordHash::Pbkdf2Sha512 {
                iterations,
                salt,
                hash,
            } => {
                let got = pbkdf2_sha512(password.as_bytes(), salt, *iterations);
                got.ct_eq(hash).into()
            }
            PasswordHash::Sha512 { salt, hash } => {
                let mut h = Sha512::new();
                h.update(password.as_bytes());
                h.update(salt);
                let got: [u8; 64] = h.finalize().into();
                got.ct_eq(hash).into()
            }
        }
    }
}

impl fmt::Display for PasswordHash {
    /// The mosquitto password-file form (`$7$101$salt$hash`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordHash::Pbkdf2Sha512 {
                iterations,
                salt,
                hash,
            } => write!(
                f,
                "$7${iterations}${}${}",
                STANDARD.encode(salt),
                STANDARD.encode(hash)
            ),
            PasswordHash::Sha512 { salt, hash } => {
                write!(f, "$6${}${}", STANDARD.encode(salt), STANDARD.encode(hash))
            }
        }
    }
}

impl fmt::Debug for PasswordHash {
    /// Says the kind only: hashes stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordHash::Pbkdf2Sha512 { iterations, .. } => {
                write!(f, "PasswordHash(pbkdf2-sha512, {iterations} iterations)")
            }
            PasswordHash::Sha512 { .. } => f.write_str("PasswordHash(sha512)"),
        }
    }
}

fn decode(what: &str, s: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(s)
        .map_err(|e| format!("{what} is not base64: {e}"))
}

fn digest(s: &str) -> Result<[u8; 64], String> {
    let b = decode("hash", s)?;
    b.try_into()
        .map_err(|b: Vec<u8>| format!("hash is {} bytes, expected 64", b.len()))
}

/// PBKDF2-HMAC-SHA512 (RFC 8018) with a 64-byte output: one block.
pub fn pbkdf2_sha512(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 64] {
    let prf = Hmac::<Sha512>::new_from_slice(password).expect("HMAC takes a key of any length");
    let mut u = prf.clone();
    u.update(salt);
    u.update(&1u32.to_be_bytes());
    let mut u: [u8; 64] = u.finalize().into_bytes().into();
    let mut out = u;
    for _ in 1..iterations {
        let mut m = prf.clone();
        m.update(&u);
        u = m.finalize().into_bytes().into();
        for (o, x) in out.iter_mut().zip(u.iter()) {
            *o ^= x;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made with `mosquitto_passwd -b -c pw alice s3cret` (mosquitto 2.0.11).
    const MOSQUITTO_7: &str = "$7$101$w/avwkD9zcRqWDD5$3bsl/rkt5X6FxwQYJwsLj7aq4xNPl4isWR0s0BLev8/3aD7VTD4Sm9CKAjfYsaZALz5alKAGSWITZXKEWsUBaw==";
    /// Made with `mosquitto_passwd -H sha512 -b -c pw bob pw`.
    const MOSQUITTO_6: &str = "$6$qxLAIGyDM+0Wj0Lt$ozgpDvNCz4shZ6WykouYLWtJU7XyvLhIc+NByf5opqXliGtw9kR/HriISmoTXJpD6WHgkdwc3AeZ9LRcJ/6n2g==";

    #[test]
    fn a_mosquitto_passwd_hash_verifies_and_round_trips() {
        let h = PasswordHash::parse(MOSQUITTO_7).unwrap();
        assert!(h.verify("s3cret"));
        assert!(!h.verify("s3creT"));
        assert!(!h.verify(""));
        assert_eq!(h.to_string(), MOSQUITTO_7);
        let h6 = PasswordHash::parse(MOSQUITTO_6).unwrap();
        assert!(h6.verify("pw"));
        assert!(!h6.verify("pw "));
        assert_eq!(h6.to_string(), MOSQUITTO_6);
    }

    #[test]
    fn a_new_hash_has_mosquittos_shape_and_verifies() {
        let h = PasswordHash::new("correct horse");
        let s = h.to_string();
        let parts: Vec<&str> = s.split('$').collect();
        assert_eq!(parts[1..3], ["7", "101"]);
        assert_eq!(parts[3].len(), 16, "12-byte salt");
        assert_eq!(parts[4].len(), 88, "64-byte hash");
        assert_eq!(PasswordHash::parse(&s).unwrap(), h);
        assert!(h.verify("correct horse"));
        assert!(!h.verify("correct horse "));
        assert_ne!(PasswordHash::new("correct horse").to_string(), s, "salted");
    }

    #[test]
    fn pbkdf2_matches_a_published_vector() {
        // PBKDF2-HMAC-SHA512, P = "password", S = "salt", c = 1 (the vectors in the
        // `pbkdf2` crate and in Python's hashlib agree on it).
        let got = pbkdf2_sha512(b"password", b"salt", 1);
        assert_eq!(&got[..8], &[0x86, 0x7f, 0x70, 0xcf, 0x1a, 0xde, 0x02, 0xcf]);
    }

    #[test]
    fn broken_hashes_say_what_is_wrong() {
        for (s, want) in [
            ("plain", "not a hashed password"),
            ("$5$a$b", "unsupported hash type $5$"),
            ("$7$x$AAAA$AAAA", "not a whole number"),
            ("$7$0$AAAA$AAAA", "out of range"),
            ("$7$101$!!$AAAA", "salt is not base64"),
            ("$7$101$AAAA$AAAA", "hash is 3 bytes, expected 64"),
        ] {
            let e = PasswordHash::parse(s).unwrap_err();
            assert!(e.contains(want), "{s}: {e}");
        }
    }

    #[test]
    fn debug_shows_no_hash() {
        let h = PasswordHash::parse(MOSQUITTO_7).unwrap();
        assert_eq!(
            format!("{h:?}"),
            "PasswordHash(pbkdf2-sha512, 101 iterations)"
        );
    }

    #[test]
    fn verify_cost() {
        let h = PasswordHash::parse(MOSQUITTO_7).unwrap();
        let n = 200;
        let t = std::time::Instant::now();
        for _ in 0..n {
            assert!(h.verify("s3cret"));
        }
        let per = t.elapsed() / n;
        println!("one $7$ verify (101 iterations): {per:?}");
        assert!(per < std::time::Duration::from_millis(50), "{per:?}");
    }
}
