//! Bearer tokens: new ones, and the hash the users file keeps.
//!
//! A token is 32 random bytes from the operating system ([`crate::auth::secret`]), so a
//! single SHA-256 is enough to store it: a slow, salted hash (as for the device passwords,
//! which people may choose) defends against guessing a low-entropy secret from its hash, and
//! 2²⁵⁶ candidates cannot be guessed however fast each try is. A fast hash also keeps the
//! check of every API request cheap. Comparisons run in constant time ([`subtle`]), so the
//! time an answer takes says nothing about how much of a hash matched.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 of a token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of `token`.
    pub fn of(token: &str) -> Self {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }

    /// From its 64 lowercase or uppercase hex digits.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(TokenHash(out))
    }

    /// Its 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Equality in constant time.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// A new token: 32 random bytes, base64url without padding (43 characters).
pub fn new_token() -> String {
    crate::auth::secret::new_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_round_trip_through_hex_and_match_only_their_token() {
        let t = new_token();
        assert_eq!(t.len(), 43);
        let h = TokenHash::of(&t);
        assert_eq!(TokenHash::from_hex(&h.to_hex()), Some(h.clone()));
        assert!(h.matches(&TokenHash::of(&t)));
        assert!(!h.matches(&TokenHash::of(&new_token())));
        // The SHA-256 of "abc" (FIPS 180-2's example).
        assert_eq!(
            TokenHash::of("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(format!("{h:?}"), "TokenHash(..)");
        for bad in ["", "zz", &"g".repeat(64), &"é".repeat(32)] {
            assert!(TokenHash::from_hex(bad).is_none(), "{bad}");
        }
    }
}
