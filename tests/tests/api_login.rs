//! Password login, browser sessions and identity-provider JWTs end to end, on the gateway
//! with its real broker, store and API:
//! - a person logs in with a password and gets an HttpOnly, SameSite=Strict cookie and a
//!   CSRF token; a wrong password and an unknown name get the same 401; repeated failures
//!   get 429, even with the right password;
//! - the cookie reads; a state change with the cookie needs `X-CSRF-Token` (403 without),
//!   and the audit trail names the account; the WebSocket takes the cookie; after the logout
//!   (or once the account is revoked) the cookie no longer works;
//! - a JWT signed by the identity provider's key (ES256, made here with rcgen): an operator
//!   acknowledges; expired, wrong issuer, wrong audience, wrong key and `alg: none` are 401;
//!   a viewer is 403 on an action, and a user without a mapped role is 403.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use district::clock::Clock;
use gateway::config::{GatewayConfig, JwtConfig};
use gateway::users::{cli, file, ApiRole};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use support::*;

const D: &str = "/api/v1/districts/mini";
const ISSUER: &str = "https://sso.city.example/realms/district";

fn config(dir: &Path) -> GatewayConfig {
    let mut cfg = GatewayConfig::default();
    cfg.devices.listen = "127.0.0.1:0".parse().unwrap();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.store.data_dir = dir.to_path_buf();
    support::provision_admin(&cfg.store.data_dir);
    cfg.publish.min_interval_ms = 50;
    cfg
}

async fn start(cfg: GatewayConfig) -> gateway::Gateway {
    let mini = district::load(root().join("tests/fixtures/mini.toml")).unwrap();
    support::identities::start_gateway(cfg, vec![mini], Clock::wall())
        .await
        .unwrap()
}

/// Adds an account with `password` to the gateway's users file.
fn add_person(dir: &Path, name: &str, role: ApiRole, password: &str) {
    let path = file::default_path(None, dir);
    cli::add(&path, name, role).unwrap();
    let mut a = file::load(&path).unwrap();
    a.set_password(name, Some(cli::hash_password(password)))
        .unwrap();
    file::save(&path, &a).unwrap();
}

fn login(api: SocketAddr, user: &str, password: &str) -> (u16, Vec<(String, String)>, Value) {
    let body = json!({"user": user, "password": password}).to_string();
    let (code, headers, text) = http_raw(api, "POST", "/api/v1/login", &body, &[]);
    (
        code,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// Raises a fire alert in district mini; its id.
async fn fire_alert(gw: &gateway::Gateway) -> String {
    let api = gw.http_addr;
    let device = Publisher::connect(gw.device_addr.unwrap().port(), "sd-1");
    let now = chrono::Utc::now().timestamp_millis();
    device
        .publish(
            "district/mini/sensors/fire/sd-1",
            format!(r#"{{"ts":{now},"state":"alarm"}}"#),
        )
        .await;
    wait_for_async(Duration::from_secs(20), "the fire alert", || {
        let v = json_of(&http(api, "GET", &format!("{D}/alerts"), "").1);
        v["alerts"].as_array()?.iter().find_map(|a| {
            let id = a["id"].as_str()?;
            id.contains("fire").then(|| id.to_string())
        })
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_logs_in_acts_with_the_cookie_and_csrf_and_logs_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.http.login_failures = 3;
    add_person(dir.path(), "alice", ApiRole::Operator, "correct horse");
    add_person(dir.path(), "bob", ApiRole::Viewer, "battery staple");
    let gw = start(cfg).await;
    let api = gw.http_addr;

    // Login: a cookie only the browser holds, and the CSRF token in the body.
    let (code, headers, v) = login(api, "alice", "correct horse");
    assert_eq!(code, 200, "{v}");
    let set = header(&headers, "set-cookie").expect("a session cookie");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: {set}");
    let id = set
        .strip_prefix("sd_session=")
        .and_then(|r| r.split(';').next())
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 43, "32 random bytes");
    let csrf = v["csrf_token"].as_str().unwrap().to_string();
    assert_eq!(
        (v["user"].as_str(), v["role"].as_str()),
        (Some("alice"), Some("operator"))
    );
    assert_ne!(csrf, id);
    let cookie = format!("sd_session={id}");

    // The cookie reads.
    let (code, text) = http_with(
        api,
        "GET",
        &format!("{D}/summary"),
        "",
        &[("Cookie", &cookie)],
    );
    assert_eq!(code, 200, "{text}");

    // A state change with the cookie needs the CSRF token; the audit trail names alice.
    let fire = fire_alert(&gw).await;
    let ack = format!("{D}/alerts/{fire}/ack");
    let note = r#"{"note":"on my way"}"#;
    let (code, text) = http_with(api, "POST", &ack, note, &[("Cookie", &cookie)]);
    assert_eq!(code, 403, "{text}");
    assert!(json_of(&text)["error"]
        .as_str()
        .unwrap()
        .contains("X-CSRF-Token"));
    let (code, text) = http_with(
        api,
        "POST",
        &ack,
        note,
        &[("Cookie", &cookie), ("X-CSRF-Token", "not-the-token")],
    );
    assert_eq!(code, 403, "{text}");
    let own = format!("http://{api}");
    let (code, text) = http_with(
        api,
        "POST",
        &ack,
        note,
        &[
            ("Cookie", &cookie),
            ("X-CSRF-Token", &csrf),
            ("Origin", &own),
        ],
    );
    assert_eq!(code, 200, "{text}");
    let trail = json_of(&http(api, "GET", &format!("{D}/alerts/{fire}"), "").1);
    assert_eq!(trail["actions"][0]["who"], "alice", "{trail}");
    // The cookie and the token do not help another site's page.
    let (code, _) = http_with(
        api,
        "POST",
        &ack,
        note,
        &[
            ("Cookie", &cookie),
            ("X-CSRF-Token", &csrf),
            ("Origin", "https://evil.example"),
        ],
    );
    assert_eq!(code, 403);

    // The WebSocket takes the cookie.
    assert_eq!(ws_handshake(api, "/api/v1/ws", &[("Cookie", &cookie)]), 101);
    assert_eq!(
        ws_handshake(api, "/api/v1/ws", &[("Cookie", "sd_session=nope")]),
        401
    );

    // A viewer's session reads, but may not act.
    let (code, headers, v) = login(api, "bob", "battery staple");
    assert_eq!(code, 200, "{v}");
    let bob = header(&headers, "set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let bob_csrf = v["csrf_token"].as_str().unwrap().to_string();
    let (code, _) = http_with(
        api,
        "POST",
        &ack,
        note,
        &[("Cookie", &bob), ("X-CSRF-Token", &bob_csrf)],
    );
    assert_eq!(code, 403);

    // Logout needs the CSRF token too, then the cookie no longer works.
    let (code, _) = http_with(api, "POST", "/api/v1/logout", "", &[("Cookie", &cookie)]);
    assert_eq!(code, 403);
    let (code, headers, _) = http_raw(
        api,
        "POST",
        "/api/v1/logout",
        "",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
    );
    assert_eq!(code, 204);
    assert!(header(&headers, "set-cookie")
        .unwrap()
        .contains("Max-Age=0"));
    let (code, text) = http_with(
        api,
        "GET",
        &format!("{D}/summary"),
        "",
        &[("Cookie", &cookie)],
    );
    assert_eq!(code, 401, "{text}");
    assert!(text.contains("log in again"), "{text}");
    assert_eq!(ws_handshake(api, "/api/v1/ws", &[("Cookie", &cookie)]), 401);

    // A revoked account's session ends without a restart.
    let (code, _) = http_with(api, "GET", &format!("{D}/summary"), "", &[("Cookie", &bob)]);
    assert_eq!(code, 200);
    cli::run(
        &file::default_path(None, dir.path()),
        cli::UsersCommand::Revoke { name: "bob".into() },
        &mut Vec::new(),
    )
    .unwrap();
    wait_for_async(Duration::from_secs(10), "bob's session to end", || {
        let (code, _) = http_with(api, "GET", &format!("{D}/summary"), "", &[("Cookie", &bob)]);
        (code == 401).then_some(())
    })
    .await;

    // Wrong password and unknown name: the same answer.
    let (code, headers, wrong) = login(api, "alice", "wrong horse");
    assert_eq!(code, 401, "{wrong}");
    assert!(header(&headers, "set-cookie").is_none());
    let (code, _, unknown) = login(api, "nobody", "wrong horse");
    assert_eq!(code, 401);
    assert_eq!(wrong, unknown, "no user enumeration");
    // A third failure from this address: further logins get 429, even the right one.
    let (code, _, _) = login(api, "alice", "wrong again");
    assert_eq!(code, 401);
    let (code, headers, v) = login(api, "alice", "correct horse");
    assert_eq!(code, 429, "{v}");
    assert!(header(&headers, "retry-after").is_some());
    assert!(v["error"].is_string());
    let (code, _, _) = login(api, "alice", "");
    assert_eq!(code, 429);
    gw.shutdown().await;
}

struct Idp {
    key: EncodingKey,
    other: EncodingKey,
}

impl Idp {
    fn token(&self, user: &str, roles: &[&str], exp_in: i64, iss: &str, aud: &str) -> String {
        self.sign(&self.key, user, roles, exp_in, iss, aud)
    }

    fn sign(
        &self,
        key: &EncodingKey,
        user: &str,
        roles: &[&str],
        exp_in: i64,
        iss: &str,
        aud: &str,
    ) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "exp": now + exp_in, "iat": now, "nbf": now - 5, "iss": iss, "aud": aud,
            "preferred_username": user, "realm_access": {"roles": roles},
        });
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some("k1".into());
        encode(&h, &claims, key).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_provider_jwts_are_verified_and_mapped_to_roles() {
    let dir = tempfile::tempdir().unwrap();
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let other = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let pem = dir.path().join("idp.pem");
    std::fs::write(&pem, kp.public_key_pem()).unwrap();
    let idp = Idp {
        key: EncodingKey::from_ec_pem(kp.serialize_pem().as_bytes()).unwrap(),
        other: EncodingKey::from_ec_pem(other.serialize_pem().as_bytes()).unwrap(),
    };
    let mut cfg = config(dir.path());
    cfg.http.jwt = Some(JwtConfig {
        issuer: ISSUER.into(),
        audience: "district-gateway".into(),
        public_key: Some(pem),
        jwks: None,
        algorithms: vec!["ES256".into()],
        user_claim: "preferred_username".into(),
        roles_claim: "realm_access.roles".into(),
        roles: [
            ("district-operator".to_string(), "operator".to_string()),
            ("district-viewer".to_string(), "viewer".to_string()),
        ]
        .into(),
        leeway: Duration::from_secs(30),
    });
    let gw = start(cfg).await;
    let api = gw.http_addr;
    let fire = fire_alert(&gw).await;
    let ack = format!("{D}/alerts/{fire}/ack");
    let call = |token: &str, method: &str, path: &str| {
        let auth = format!("Bearer {token}");
        http_with(
            api,
            method,
            path,
            r#"{"note":"seen"}"#,
            &[("Authorization", &auth)],
        )
    };

    // A valid operator acknowledges; the audit trail names the provider's user.
    let op = idp.token(
        "li.wei",
        &["offline_access", "district-operator"],
        300,
        ISSUER,
        "district-gateway",
    );
    let (code, text) = call(&op, "POST", &ack);
    assert_eq!(code, 200, "{text}");
    let trail = json_of(&http(api, "GET", &format!("{D}/alerts/{fire}"), "").1);
    assert_eq!(trail["actions"][0]["who"], "li.wei", "{trail}");
    assert_eq!(
        ws_handshake(
            api,
            "/api/v1/ws",
            &[("Authorization", &format!("Bearer {op}"))]
        ),
        101
    );

    // A viewer reads but may not act; a user with no mapped role may do nothing.
    let viewer = idp.token(
        "zhang",
        &["district-viewer"],
        300,
        ISSUER,
        "district-gateway",
    );
    assert_eq!(call(&viewer, "GET", &format!("{D}/summary")).0, 200);
    assert_eq!(call(&viewer, "POST", &ack).0, 403);
    let nobody = idp.token("zhao", &["offline_access"], 300, ISSUER, "district-gateway");
    let (code, text) = call(&nobody, "GET", &format!("{D}/summary"));
    assert_eq!(code, 403, "{text}");

    // Refused with 401: expired, wrong issuer, wrong audience, wrong key, alg none.
    let roles = ["district-operator"];
    let expired = idp.token("li.wei", &roles, -120, ISSUER, "district-gateway");
    let wrong_iss = idp.token(
        "li.wei",
        &roles,
        300,
        "https://evil.example/realms/x",
        "district-gateway",
    );
    let wrong_aud = idp.token("li.wei", &roles, 300, ISSUER, "another-app");
    let wrong_key = idp.sign(
        &idp.other,
        "li.wei",
        &roles,
        300,
        ISSUER,
        "district-gateway",
    );
    use base64::Engine;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let payload = op.split('.').nth(1).unwrap();
    let none = format!("{}.{payload}.", b64(json!({"alg": "none", "typ": "JWT"})));
    let hs = encode(
        &Header::new(Algorithm::HS256),
        &json!({"exp": chrono::Utc::now().timestamp() + 300, "iss": ISSUER, "aud": "district-gateway",
                "preferred_username": "li.wei", "realm_access": {"roles": roles}}),
        &EncodingKey::from_secret(kp.public_key_pem().as_bytes()),
    )
    .unwrap();
    for (what, t) in [
        ("expired", &expired),
        ("wrong issuer", &wrong_iss),
        ("wrong audience", &wrong_aud),
        ("bad signature", &wrong_key),
        ("alg none", &none),
        ("HS256 with the public key", &hs),
    ] {
        let (code, text) = call(t, "POST", &ack);
        assert_eq!(code, 401, "{what}: {text}");
        assert!(
            json_of(&text)["error"]
                .as_str()
                .unwrap()
                .starts_with("JWT refused"),
            "{what}: {text}"
        );
        assert!(!text.contains(t.as_str()), "the token is not echoed");
    }
    // Bearer tokens of the users file keep working beside JWTs.
    assert_eq!(http(api, "GET", &format!("{D}/summary"), "").0, 200);
    gw.shutdown().await;
}
