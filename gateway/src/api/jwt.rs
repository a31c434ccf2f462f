//! Bearer JWTs signed by a city identity provider (Keycloak or another OpenID Connect
//! provider), configured in `[http.jwt]`: a bearer token that looks like a JWT (three
//! base64url parts) is verified here instead of being looked up in the users file.
//!
//! - The signature, against the provider's public key (a PEM file) or its keys (a JWKS file,
//!   chosen by the token's `kid`), with one of the configured algorithms: RS256/384/512,
//!   PS256/384/512, ES256/384. `none` and the HS* family (a shared secret, which a public key
//!   must never be used as) are refused when the configuration is read, and a token whose
//!   header names them is refused.
//! - `exp` (required), `nbf` (when present), both with a small leeway; `iss` and `aud`
//!   (both required, equal to the configured ones).
//! - The user: the claim `user_claim` (default `preferred_username`), the audit trail's
//!   `who`; the role: the highest of the provider's roles in `roles_claim` (a dotted path,
//!   default Keycloak's `realm_access.roles`) that `roles` maps to one of the API's roles
//!   ([`identify`]); none mapped → 403.
//!
//! The key files are read at start (a new provider key needs a restart). Tokens are never
//! logged; a refusal's reason (expired, wrong issuer, …) is.

use std::collections::BTreeMap;
use std::path::Path;

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::config::JwtConfig;
use crate::users::ApiRole;

/// The key family an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Rsa,
    Ec,
}

fn family(alg: Algorithm) -> Option<Family> {
    use Algorithm::*;
    match alg {
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => Some(Family::Rsa),
        ES256 | ES384 => Some(Family::Ec),
        HS256 | HS384 | HS512 | EdDSA => None,
    }
}

struct Key {
    kid: Option<String>,
    family: Family,
    key: DecodingKey,
}

/// What [`identify`] needs: the claims' names and the role mapping.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The claim naming the user.
    pub user_claim: String,
    /// The dotted path of the claim holding the roles.
    pub roles_claim: String,
    /// The provider's role names → the API's roles.
    pub roles: BTreeMap<String, ApiRole>,
}

/// Why a JWT was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not valid (signature, expiry, issuer, audience, shape): 401. The reason names no
    /// secret.
    Invalid(String),
    /// Valid, but no role of the user is mapped to one of the API's: 403.
    NoRole(String),
}

/// The verifier of `[http.jwt]`.
pub struct Verifier {
    keys: Vec<Key>,
    algorithms: Vec<Algorithm>,
    issuer: String,
    audience: String,
    leeway: u64,
    mapping: Mapping,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys.len())
            .field("algorithms", &self.algorithms)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// Whether a bearer token looks like a JWT: three dot-separated base64url parts (the
/// signature may be empty, as in an `alg: none` token, which is then refused).
pub fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && !parts[0].is_empty()
        && !parts[1].is_empty()
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
        })
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

impl Verifier {
    /// The verifier of `cfg`, its key file read; a wrong setting is an error naming it.
    pub fn new(cfg: &JwtConfig) -> Result<Self, String> {
        let mut algorithms = Vec::new();
        for a in &cfg.algorithms {
            let alg: Algorithm = a.parse().map_err(|_| {
                format!("algorithms: \"{a}\" is not an algorithm (RS256, ES256, …)")
            })?;
            if family(alg).is_none() {
                return Err(format!(
                    "algorithms: \"{a}\" is not accepted: only RS*, PS* and ES* (a public key is never used as an HMAC secret)"
                ));
            }
            algorithms.push(alg);
        }
        if algorithms.is_empty() {
            return Err("algorithms: none given".into());
        }
        let keys = match (&cfg.public_key, &cfg.jwks) {
            (Some(pem), None) => {
                let text = read(pem)?;
                let (key, family) = DecodingKey::from_rsa_pem(&text)
                    .map(|k| (k, Family::Rsa))
                    .or_else(|_| DecodingKey::from_ec_pem(&text).map(|k| (k, Family::Ec)))
                    .map_err(|e| {
                        format!(
                            "{}: not an RSA or EC public key in PEM ({e})",
                            pem.display()
                        )
                    })?;
                vec![Key {
                    kid: None,
                    family,
                    key,
                }]
            }
            (None, Some(jwks)) => {
                let set: JwkSet = serde_json::from_slice(&read(jwks)?)
                    .map_err(|e| format!("{}: not a JWKS ({e})", jwks.display()))?;
                let mut keys = Vec::new();
                for jwk in &set.keys {
                    let family = match jwk.algorithm {
                        AlgorithmParameters::RSA(_) => Family::Rsa,
                        AlgorithmParameters::EllipticCurve(_) => Family::Ec,
                        // Shared secrets and EdDSA keys are not used.
                        _ => continue,
                    };
                    let key = DecodingKey::from_jwk(jwk).map_err(|e| {
                        format!(
                            "{}: key {:?}: {e}",
                            jwks.display(),
                            jwk.common.key_id.as_deref().unwrap_or("")
                        )
                    })?;
                    keys.push(Key {
                        kid: jwk.common.key_id.clone(),
                        family,
                        key,
                    });
                }
                if keys.is_empty() {
                    return Err(format!("{}: no RSA or EC key", jwks.display()));
                }
                keys
            }
            _ => return Err("give exactly one of public_key and jwks".into()),
        };
        if !algorithms
            .iter()
            .any(|a| keys.iter().any(|k| family(*a) == Some(k.family)))
        {
            return Err("no configured algorithm fits the key(s)".into());
        }
        let mut roles = BTreeMap::new();
        for (theirs, ours) in &cfg.roles {
            let r: ApiRole = ours.parse().map_err(|e| format!("roles.{theirs}: {e}"))?;
            roles.insert(theirs.clone(), r);
        }
        if roles.is_empty() {
            return Err(
                "roles: no provider role is mapped to an API role, so every token would be refused"
                    .into(),
            );
        }
        Ok(Verifier {
            keys,
            algorithms,
            issuer: cfg.issuer.clone(),
            audience: cfg.audience.clone(),
            leeway: cfg.leeway.as_secs(),
            mapping: Mapping {
                user_claim: cfg.user_claim.clone(),
                roles_claim: cfg.roles_claim.clone(),
                roles,
            },
        })
    }

    /// The user and role of `token`, or why it is refused.
    pub fn verify(&self, token: &str) -> Result<(String, ApiRole), Refused> {
        let invalid = |why: &str| Refused::Invalid(why.to_string());
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| invalid("not a JWT (or alg none)"))?;
        if !self.algorithms.contains(&header.alg) {
            return Err(invalid("algorithm not accepted"));
        }
        let fam = family(header.alg).ok_or_else(|| invalid("algorithm not accepted"))?;
        let mut v = Validation::new(header.alg);
        v.algorithms = vec![header.alg];
        v.leeway = self.leeway;
        v.validate_exp = true;
        v.validate_nbf = true;
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        let candidates = self.keys.iter().filter(|k| {
            k.family == fam
                && match (&header.kid, &k.kid) {
                    (Some(want), Some(have)) => want == have,
                    _ => true,
                }
        });
        let mut last = invalid("no key for this token");
        for k in candidates {
            match jsonwebtoken::decode::<Value>(token, &k.key, &v) {
                Ok(data) => return identify(&data.claims, &self.mapping),
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind::*;
                    let why = match e.kind() {
                        InvalidSignature => "bad signature",
                        ExpiredSignature => "expired",
                        ImmatureSignature => "not valid yet (nbf)",
                        InvalidIssuer => "wrong issuer",
                        InvalidAudience => "wrong audience",
                        MissingRequiredClaim(_) => "exp, iss or aud missing",
                        InvalidAlgorithm => "algorithm does not fit the key",
                        _ => "malformed",
                    };
                    last = invalid(why);
                    // Only a bad signature may be another key's token; the rest is final.
                    if !matches!(e.kind(), InvalidSignature) {
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }
}

/// The rank of a role when a user has several: admin, operator, viewer, parking-app.
fn rank(r: ApiRole) -> u8 {
    match r {
        ApiRole::Admin => 3,
        ApiRole::Operator => 2,
        ApiRole::Viewer => 1,
        ApiRole::ParkingApp => 0,
    }
}

/// The user and the highest mapped role in verified `claims`.
pub fn identify(claims: &Value, m: &Mapping) -> Result<(String, ApiRole), Refused> {
    let user = claims
        .get(&m.user_claim)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|u| !u.is_empty() && u.len() <= 256 && !u.chars().any(char::is_control))
        .ok_or_else(|| Refused::Invalid(format!("no usable claim \"{}\"", m.user_claim)))?
        .to_string();
    let mut at = Some(claims);
    for part in m.roles_claim.split('.') {
        at = at.and_then(|v| v.get(part));
    }
    let names: Vec<&str> = match at {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => s.split_whitespace().collect(),
        _ => Vec::new(),
    };
    names
        .iter()
        .filter_map(|n| m.roles.get(*n).copied())
        .max_by_key(|r| rank(*r))
        .map(|r| (user.clone(), r))
        .ok_or(Refused::NoRole(user))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapping() -> Mapping {
        Mapping {
            user_claim: "preferred_username".into(),
            roles_claim: "realm_access.roles".into(),
            roles: [
                ("district-viewer", ApiRole::Viewer),
                ("district-operator", ApiRole::Operator),
                ("district-admin", ApiRole::Admin),
                ("parking", ApiRole::ParkingApp),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        }
    }

    #[test]
    fn claims_map_to_the_highest_role() {
        let m = mapping();
        let c = |roles: Value| json!({"preferred_username": "li.wei", "realm_access": {"roles": roles}});
        assert_eq!(
            identify(&c(json!(["offline_access", "district-viewer"])), &m),
            Ok(("li.wei".into(), ApiRole::Viewer))
        );
        assert_eq!(
            identify(
                &c(json!(["district-viewer", "district-operator", "parking"])),
                &m
            ),
            Ok(("li.wei".into(), ApiRole::Operator))
        );
        assert_eq!(
            identify(&c(json!(["parking", "district-viewer"])), &m)
                .unwrap()
                .1,
            ApiRole::Viewer
        );
        assert_eq!(
            identify(&c(json!(["district-admin", "district-operator"])), &m)
                .unwrap()
                .1,
            ApiRole::Admin
        );
        assert_eq!(
            identify(&c(json!("parking other")), &m).unwrap().1,
            ApiRole::ParkingApp,
            "a space-separated string (a `scope`-like claim)"
        );
        assert_eq!(
            identify(&c(json!(["offline_access"])), &m),
            Err(Refused::NoRole("li.wei".into()))
        );
        assert_eq!(
            identify(&json!({"preferred_username": "x"}), &m),
            Err(Refused::NoRole("x".into()))
        );
        assert!(matches!(
            identify(
                &json!({"sub": "1", "realm_access": {"roles": ["district-admin"]}}),
                &m
            ),
            Err(Refused::Invalid(_))
        ));
        assert!(matches!(
            identify(
                &json!({"preferred_username": "a\nb", "realm_access": {"roles": ["district-admin"]}}),
                &m
            ),
            Err(Refused::Invalid(_))
        ));
        // Another claim names the user; a top-level roles claim.
        let m2 = Mapping {
            user_claim: "email".into(),
            roles_claim: "groups".into(),
            ..mapping()
        };
        assert_eq!(
            identify(
                &json!({"email": "a@city.example", "groups": ["district-operator"]}),
                &m2
            ),
            Ok(("a@city.example".into(), ApiRole::Operator))
        );
    }

    #[test]
    fn jwts_are_told_from_tokens() {
        assert!(looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"));
        assert!(looks_like_jwt("eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."));
        assert!(!looks_like_jwt(&crate::users::token::new_token()));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a.b.c.d"));
        assert!(!looks_like_jwt("a.b c.d"));
    }

    fn config(dir: &Path, pem: &str, algorithms: &[&str]) -> JwtConfig {
        let p = dir.join("idp.pem");
        std::fs::write(&p, pem).unwrap();
        JwtConfig {
            issuer: "https://sso.example/realms/d".into(),
            audience: "gw".into(),
            public_key: Some(p),
            jwks: None,
            algorithms: algorithms.iter().map(|a| a.to_string()).collect(),
            user_claim: "preferred_username".into(),
            roles_claim: "realm_access.roles".into(),
            roles: [("ops".to_string(), "operator".to_string())].into(),
            leeway: std::time::Duration::from_secs(5),
        }
    }

    #[test]
    fn settings_that_would_weaken_verification_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let pem = kp.public_key_pem();
        assert!(Verifier::new(&config(dir.path(), &pem, &["ES256"])).is_ok());
        for bad in [&["none"][..], &["HS256"], &["ES256", "HS512"], &[]] {
            let e = Verifier::new(&config(dir.path(), &pem, bad)).unwrap_err();
            assert!(e.starts_with("algorithms:"), "{bad:?}: {e}");
        }
        let e = Verifier::new(&config(dir.path(), &pem, &["RS256"])).unwrap_err();
        assert!(e.contains("fits"), "{e}");
        let e = Verifier::new(&config(dir.path(), "not a key", &["ES256"])).unwrap_err();
        assert!(e.contains("PEM"), "{e}");
        let mut c = config(dir.path(), &pem, &["ES256"]);
        c.roles.insert("x".into(), "root".into());
        assert!(Verifier::new(&c).unwrap_err().contains("roles.x"));
        c.roles.clear();
        assert!(Verifier::new(&c).is_err());
        let mut c = config(dir.path(), &pem, &["ES256"]);
        c.jwks = c.public_key.clone();
        assert!(Verifier::new(&c).unwrap_err().contains("exactly one"));
    }

    #[test]
    fn a_jwks_key_is_chosen_by_kid() {
        use base64::Engine;
        use jsonwebtoken::{encode, EncodingKey, Header};
        let dir = tempfile::tempdir().unwrap();
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let (k1, k2) = (
            rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
            rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
        );
        // An uncompressed P-256 point: 0x04, x (32 bytes), y (32 bytes).
        let jwk = |kp: &rcgen::KeyPair, kid: &str| {
            let raw = kp.public_key_raw();
            json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
                   "x": b64(&raw[1..33]), "y": b64(&raw[33..65])})
        };
        let set = json!({"keys": [jwk(&k1, "one"), jwk(&k2, "two"),
            {"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]});
        let mut cfg = config(dir.path(), &k1.public_key_pem(), &["ES256"]);
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, set.to_string()).unwrap();
        cfg.public_key = None;
        cfg.jwks = Some(path);
        let v = Verifier::new(&cfg).unwrap();
        assert_eq!(v.keys.len(), 2, "the shared secret is not used");
        let claims = json!({"exp": jsonwebtoken::get_current_timestamp() + 60,
            "iss": "https://sso.example/realms/d", "aud": ["gw", "account"],
            "preferred_username": "wang", "realm_access": {"roles": ["ops"]}});
        let sign = |kp: &rcgen::KeyPair, kid: &str| {
            let mut h = Header::new(Algorithm::ES256);
            h.kid = Some(kid.into());
            let key = EncodingKey::from_ec_pem(kp.serialize_pem().as_bytes()).unwrap();
            encode(&h, &claims, &key).unwrap()
        };
        assert!(v.verify(&sign(&k1, "one")).is_ok());
        assert!(
            v.verify(&sign(&k2, "two")).is_ok(),
            "a second key, an audience list"
        );
        assert!(
            v.verify(&sign(&k1, "two")).is_err(),
            "the kid names the key"
        );
        assert!(v.verify(&sign(&k1, "three")).is_err());
    }

    #[test]
    fn an_es256_token_is_verified_against_the_key() {
        use jsonwebtoken::{encode, EncodingKey, Header};
        let dir = tempfile::tempdir().unwrap();
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let v = Verifier::new(&config(dir.path(), &kp.public_key_pem(), &["ES256"])).unwrap();
        let key = EncodingKey::from_ec_pem(kp.serialize_pem().as_bytes()).unwrap();
        let now = jsonwebtoken::get_current_timestamp();
        let sign = |claims: Value| encode(&Header::new(Algorithm::ES256), &claims, &key).unwrap();
        let claims = |exp: u64, iss: &str, aud: &str| {
            json!({"exp": exp, "iss": iss, "aud": aud, "preferred_username": "wang",
                   "realm_access": {"roles": ["ops"]}})
        };
        let iss = "https://sso.example/realms/d";
        assert_eq!(
            v.verify(&sign(claims(now + 60, iss, "gw"))),
            Ok(("wang".into(), ApiRole::Operator))
        );
        let why = |t: &str| match v.verify(t) {
            Err(Refused::Invalid(w)) => w,
            other => panic!("{other:?}"),
        };
        assert_eq!(why(&sign(claims(now - 60, iss, "gw"))), "expired");
        assert!(
            v.verify(&sign(claims(now - 2, iss, "gw"))).is_ok(),
            "leeway"
        );
        assert_eq!(
            why(&sign(claims(now + 60, "https://evil", "gw"))),
            "wrong issuer"
        );
        assert_eq!(why(&sign(claims(now + 60, iss, "other"))), "wrong audience");
        let mut nbf = claims(now + 600, iss, "gw");
        nbf["nbf"] = json!(now + 300);
        assert_eq!(why(&sign(nbf)), "not valid yet (nbf)");
        let other = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let other = EncodingKey::from_ec_pem(other.serialize_pem().as_bytes()).unwrap();
        let forged = encode(
            &Header::new(Algorithm::ES256),
            &claims(now + 60, iss, "gw"),
            &other,
        )
        .unwrap();
        assert_eq!(why(&forged), "bad signature");
        // alg none, and HS256 with the public key as the secret.
        use base64::Engine;
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let none = format!(
            "{}.{}.",
            b64(&json!({"alg": "none"})),
            b64(&claims(now + 60, iss, "gw"))
        );
        assert!(matches!(v.verify(&none), Err(Refused::Invalid(_))));
        let hs = encode(
            &Header::new(Algorithm::HS256),
            &claims(now + 60, iss, "gw"),
            &EncodingKey::from_secret(kp.public_key_pem().as_bytes()),
        )
        .unwrap();
        assert_eq!(why(&hs), "algorithm not accepted");
    }
}
