//! New secrets and salts, from the operating system's random number generator.

use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;

/// Bytes of randomness in a new secret.
pub const SECRET_BYTES: usize = 32;

/// A new secret: 32 random bytes, base64url without padding (43 characters), safe in a
/// shell, a CSV field and an MQTT password.
pub fn new_secret() -> String {
    let mut b = [0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// `N` random bytes (salts, keys).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    OsRng.fill_bytes(&mut b);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_43_url_safe_characters_and_differ() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 43);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a, b);
    }
}
