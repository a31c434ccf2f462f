//! API accounts end to end, on the gateway with its real broker, store and API:
//! - every route without a token is 401 (with `WWW-Authenticate: Bearer`), `/healthz` stays
//!   open and shows no secret;
//! - a viewer may read but not acknowledge, clear or book (403); an operator acknowledges and
//!   the audit trail names its account, not the body's `who` (kept in the note);
//! - a parking app books; another app can neither see nor cancel that reservation (404, as
//!   if it did not exist); the WebSocket needs a token (header or `?access_token=`);
//! - a revoked token stops working without a restart; a cross-site `Origin` is refused;
//! - a burst over the account's rate limit gets 429;
//! - anonymous access only where configured (`public_parking`, `allow_anonymous`);
//! - random and extreme input from an admin leaves the gateway healthy and storing.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use district::clock::Clock;
use gateway::config::GatewayConfig;
use gateway::users::{cli, file, ApiRole};
use serde_json::Value;
use support::*;

const D: &str = "/api/v1/districts/mini";

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

/// Adds an account to the gateway's users file; its token.
fn add(dir: &Path, name: &str, role: ApiRole) -> String {
    cli::add(&file::default_path(None, dir), name, role).unwrap()
}

fn as_(addr: SocketAddr, token: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let (code, body) = http_with(addr, method, path, body, &[("Authorization", &auth)]);
    (code, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// Every route of the API, with a body where it takes one.
fn routes() -> Vec<(&'static str, String, &'static str)> {
    let window =
        r#"{"plate":"浙A1","from":"2030-01-01T08:00:00+08:00","to":"2030-01-01T09:00:00+08:00"}"#;
    vec![
        ("GET", "/api/v1/districts".into(), ""),
        ("GET", format!("{D}/summary"), ""),
        ("GET", format!("{D}/zones"), ""),
        ("GET", format!("{D}/zones/west"), ""),
        ("GET", format!("{D}/lots"), ""),
        ("GET", format!("{D}/lots/p1"), ""),
        ("GET", format!("{D}/lots/p1/bays"), ""),
        ("GET", format!("{D}/air"), ""),
        ("GET", format!("{D}/energy"), ""),
        (
            "GET",
            format!("{D}/history?entity=zone&id=west&metric=people"),
            "",
        ),
        ("GET", format!("{D}/alerts"), ""),
        ("GET", format!("{D}/alerts/none"), ""),
        ("POST", format!("{D}/alerts/none/ack"), r#"{"note":"x"}"#),
        ("POST", format!("{D}/alerts/none/clear"), r#"{"note":"x"}"#),
        ("GET", format!("{D}/signs"), ""),
        ("GET", format!("{D}/signs/s1"), ""),
        ("GET", format!("{D}/parking/free"), ""),
        (
            "GET",
            format!("{D}/parking/nearest?lon=120.16&lat=30.25"),
            "",
        ),
        ("GET", format!("{D}/parking/forecast"), ""),
        ("GET", format!("{D}/lots/p1/reservations"), ""),
        ("POST", format!("{D}/lots/p1/reservations"), window),
        ("DELETE", format!("{D}/lots/p1/reservations/rsv-999"), ""),
        ("GET", format!("{D}/lots/p1/ngsi-ld"), ""),
        ("GET", format!("{D}/lots/p1/bays/ngsi-ld"), ""),
        ("GET", "/api/v1/ws".into(), ""),
        ("GET", "/metrics".into(), ""),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_needs_a_token_and_the_role_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let viewer = add(dir.path(), "screen", ApiRole::Viewer);
    let operator = add(dir.path(), "ops", ApiRole::Operator);
    let app_a = add(dir.path(), "app-a", ApiRole::ParkingApp);
    let app_b = add(dir.path(), "app-b", ApiRole::ParkingApp);
    let gw = start(cfg).await;
    let api = gw.http_addr;

    // Without a token (or with an unknown one) every route is 401, /healthz stays open.
    for (m, path, body) in routes() {
        let (code, headers, text) = http_raw(api, m, &path, body, &[]);
        assert_eq!(code, 401, "{m} {path}: {text}");
        assert!(
            headers
                .iter()
                .any(|(k, v)| k == "www-authenticate" && v.starts_with("Bearer")),
            "{m} {path}: {headers:?}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(v["error"].is_string(), "{text}");
        let (code, _) = as_(api, "not-a-token", m, &path, body);
        assert_eq!(code, 401, "{m} {path} with an unknown token");
    }
    let (code, _, health) = http_raw(api, "GET", "/healthz", "", &[]);
    assert_eq!(code, 200);
    for secret in [viewer.as_str(), &operator, &app_a, admin_token()] {
        assert!(!health.contains(secret), "{health}");
    }
    // An admin gets past the gate on every route (the WebSocket needs its upgrade headers).
    for (m, path, body) in routes() {
        let (code, v) = http_json(api, m, &path, body);
        let expect_upgrade = path == "/api/v1/ws";
        assert!(
            !matches!(code, 401 | 403 | 429) || (expect_upgrade && code != 401),
            "{m} {path}: {code} {v}"
        );
    }

    // A viewer reads, but may not acknowledge, clear or book.
    assert_eq!(as_(api, &viewer, "GET", &format!("{D}/summary"), "").0, 200);
    assert_eq!(as_(api, &viewer, "GET", "/metrics", "").0, 200);
    for (m, path, body) in routes() {
        if m == "GET" {
            continue;
        }
        let (code, v) = as_(api, &viewer, m, &path, body);
        assert_eq!(code, 403, "viewer {m} {path}: {v}");
        assert!(v["error"].as_str().unwrap().contains("viewer"), "{v}");
    }
    // A parking app may not read the district's summary nor act on alerts.
    assert_eq!(as_(api, &app_a, "GET", &format!("{D}/summary"), "").0, 403);
    assert_eq!(
        as_(api, &app_a, "POST", &format!("{D}/alerts/x/ack"), "{}").0,
        403
    );

    // A fire alarm raises an alert; the operator acknowledges it, and the audit trail names
    // the operator's account, with the body's `who` kept in the note.
    let device = Publisher::connect(gw.device_addr.unwrap().port(), "sd-1");
    let now = chrono::Utc::now().timestamp_millis();
    device
        .publish(
            "district/mini/sensors/fire/sd-1",
            format!(r#"{{"ts":{now},"state":"alarm"}}"#),
        )
        .await;
    let fire = wait_for_async(Duration::from_secs(20), "the fire alert", || {
        let (_, v) = as_(api, &viewer, "GET", &format!("{D}/alerts"), "");
        v["alerts"].as_array()?.iter().find_map(|a| {
            let id = a["id"].as_str()?;
            id.contains("fire").then(|| id.to_string())
        })
    })
    .await;
    let ack = format!("{D}/alerts/{fire}/ack");
    let (code, v) = as_(
        api,
        &operator,
        "POST",
        &ack,
        r#"{"who":"badge 7","note":"on my way"}"#,
    );
    assert_eq!(code, 200, "{v}");
    let (_, trail) = as_(api, &viewer, "GET", &format!("{D}/alerts/{fire}"), "");
    assert_eq!(trail["actions"][0]["who"], "ops", "{trail}");
    assert_eq!(trail["actions"][0]["note"], "badge 7: on my way", "{trail}");
    // Clearing by hand passes the gate for an operator (the fire rule itself may refuse: 409).
    let (code, v) = as_(
        api,
        &operator,
        "POST",
        &format!("{D}/alerts/{fire}/clear"),
        "{}",
    );
    assert!(matches!(code, 200 | 409), "{code} {v}");

    // Parking apps: each sees and cancels its own reservations only; another's is 404.
    let reservations = format!("{D}/lots/p1/reservations");
    let window = format!(
        r#"{{"plate":"浙A12345","from":{},"to":{}}}"#,
        now + 3_600_000,
        now + 7_200_000
    );
    let (code, r) = as_(api, &app_a, "POST", &reservations, &window);
    assert_eq!(code, 201, "{r}");
    assert_eq!(r["owner"], "app-a");
    let id = r["id"].as_str().unwrap().to_string();
    let one = format!("{reservations}/{id}");
    let (code, v) = as_(api, &app_b, "DELETE", &one, "");
    assert_eq!(code, 404, "another app's reservation is not found: {v}");
    let ids = |token: &str| {
        let (_, v) = as_(api, token, "GET", &reservations, "");
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert!(ids(&app_b).is_empty());
    assert_eq!(ids(&app_a), [id.clone()]);
    let all = ids(&viewer);
    assert!(
        all.contains(&id) && all.len() == 2,
        "a viewer sees every reservation (the admin's above too): {all:?}"
    );
    let (code, v) = as_(api, &app_a, "DELETE", &one, "");
    assert_eq!((code, v["state"].as_str()), (200, Some("cancelled")), "{v}");

    // The WebSocket: a token in the header or the query; a cross-site page is refused.
    let bearer = format!("Bearer {viewer}");
    assert_eq!(ws_handshake(api, "/api/v1/ws", &[]), 401);
    assert_eq!(
        ws_handshake(api, "/api/v1/ws", &[("Authorization", &bearer)]),
        101
    );
    assert_eq!(
        ws_handshake(api, &format!("/api/v1/ws?access_token={viewer}"), &[]),
        101
    );
    assert_eq!(
        ws_handshake(
            api,
            &format!("/api/v1/ws?access_token={viewer}"),
            &[("Origin", "https://evil.example")]
        ),
        403
    );
    // A state change from another site's page is refused, even with a good token; from
    // the API's own host it passes the gate.
    let admin = format!("Bearer {}", admin_token());
    let (code, text) = http_with(
        api,
        "POST",
        &ack,
        "{}",
        &[
            ("Authorization", &admin),
            ("Origin", "https://evil.example"),
        ],
    );
    assert_eq!(code, 403, "{text}");
    assert!(text.contains("cross-site"), "{text}");
    let own = format!("http://{api}");
    let (code, text) = http_with(
        api,
        "POST",
        &format!("{D}/alerts/no-such/ack"),
        "{}",
        &[("Authorization", &admin), ("Origin", &own)],
    );
    assert_eq!(code, 404, "{text}");

    // A revoked token stops working without a restart.
    cli::run(
        &file::default_path(None, dir.path()),
        cli::UsersCommand::Revoke {
            name: "screen".into(),
        },
        &mut Vec::new(),
    )
    .unwrap();
    wait_for_async(Duration::from_secs(10), "the revoked token refused", || {
        (as_(api, &viewer, "GET", &format!("{D}/summary"), "").0 == 401).then_some(())
    })
    .await;
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_the_rate_limit_gets_429() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.http.requests_per_sec = 0.001;
    cfg.http.burst = 5;
    let viewer = add(dir.path(), "screen", ApiRole::Viewer);
    let operator = add(dir.path(), "ops", ApiRole::Operator);
    let gw = start(cfg).await;
    let path = format!("{D}/summary");
    let codes: Vec<u16> = (0..8)
        .map(|_| as_(gw.http_addr, &viewer, "GET", &path, "").0)
        .collect();
    assert_eq!(codes, [200, 200, 200, 200, 200, 429, 429, 429]);
    let (code, headers, body) = http_raw(
        gw.http_addr,
        "GET",
        &path,
        "",
        &[("Authorization", &format!("Bearer {viewer}"))],
    );
    assert_eq!(code, 429);
    assert!(
        headers.iter().any(|(k, _)| k == "retry-after"),
        "{headers:?}"
    );
    assert!(body.contains("rate limit"), "{body}");
    // Each account has its own bucket.
    assert_eq!(as_(gw.http_addr, &operator, "GET", &path, "").0, 200);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_anonymous_and_public_parking_open_only_what_they_say() {
    // public_parking: the parking guidance reads are open, nothing else.
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.http.public_parking = true;
    let gw = start(cfg).await;
    let anon = |m: &str, path: &str, body: &str| http_with(gw.http_addr, m, path, body, &[]).0;
    for p in [
        "parking/free",
        "signs",
        "parking/forecast",
        "parking/nearest?lon=120.16&lat=30.25",
    ] {
        assert_eq!(anon("GET", &format!("{D}/{p}"), ""), 200, "{p}");
    }
    for p in ["summary", "lots", "lots/p1/reservations", "alerts"] {
        assert_eq!(anon("GET", &format!("{D}/{p}"), ""), 401, "{p}");
    }
    assert_eq!(
        anon("POST", &format!("{D}/lots/p1/reservations"), "{}"),
        401
    );
    gw.shutdown().await;

    // allow_anonymous: everything, as "anonymous".
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.http.allow_anonymous = true;
    let gw = start(cfg).await;
    let now = chrono::Utc::now().timestamp_millis();
    let (code, r) = http_with(
        gw.http_addr,
        "POST",
        &format!("{D}/lots/p1/reservations"),
        &format!(
            r#"{{"plate":"P1","from":{},"to":{}}}"#,
            now + 60_000,
            now + 120_000
        ),
        &[],
    );
    assert_eq!(code, 201, "{r}");
    assert!(r.contains(r#""owner":"anonymous""#), "{r}");
    assert_eq!(
        http_with(gw.http_addr, "GET", &format!("{D}/summary"), "", &[]).0,
        200
    );
    gw.shutdown().await;
}

/// A deterministic pseudo-random generator (SplitMix64), so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
}

/// Awkward values: extreme numbers and times, long and odd strings.
fn values() -> Vec<String> {
    let mut v: Vec<String> = [
        i64::MIN.to_string(),
        i64::MAX.to_string(),
        (i64::MIN + 1).to_string(),
        "-1".into(),
        "0".into(),
        "1e308".into(),
        "-1e308".into(),
        "NaN".into(),
        "18446744073709551616".into(),
        "99999999999999999999999999".into(),
        "2026-11-21T08:00:00+08:00".into(),
        "9999-12-31T23:59:59Z".into(),
        "-0001-01-01T00:00:00Z".into(),
        "".into(),
        "p1".into(),
        "west".into(),
        "s1".into(),
        "rsv-1".into(),
        "浙A12345".into(),
        "a/../../etc".into(),
        "%00".into(),
        "'; DROP TABLE reading; --".into(),
    ]
    .into();
    v.push("x".repeat(5000));
    v.push("满".repeat(2000));
    v
}

/// Awkward JSON bodies: wrong types, extreme numbers, long strings, not JSON at all.
fn bodies(r: &mut Rng, vals: &[String]) -> String {
    let num = |r: &mut Rng| {
        r.pick(&[
            "-9223372036854775808",
            "9223372036854775807",
            "-1",
            "0",
            "1e308",
            "3.5",
            "18446744073709551616",
        ])
        .to_string()
    };
    let any = |r: &mut Rng| match r.next() % 6 {
        0 => num(r),
        1 => serde_json::to_string(r.pick(vals)).unwrap(),
        2 => "null".to_string(),
        3 => "[1,2,{}]".to_string(),
        4 => "{\"a\":{\"b\":[]}}".to_string(),
        _ => "true".to_string(),
    };
    match r.next() % 5 {
        0 => format!(
            r#"{{"plate":{},"from":{},"to":{}}}"#,
            any(r),
            any(r),
            any(r)
        ),
        1 => format!(r#"{{"who":{},"note":{}}}"#, any(r), any(r)),
        2 => any(r),
        3 => "{\"plate\":".to_string(),
        _ => format!(
            r#"{{"plate":"P{}","from":{},"to":{}}}"#,
            r.next() % 1000,
            num(r),
            num(r)
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_extreme_input_leaves_the_gateway_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.http.requests_per_sec = 1e9;
    cfg.http.burst = 1_000_000;
    let gw = start(cfg).await;
    let api = gw.http_addr;
    let vals = values();
    let mut r = Rng(0x5EED_2026);
    let templates = [
        ("GET", "/api/v1/districts/{d}/summary"),
        ("GET", "/api/v1/districts/{d}/zones/{x}"),
        ("GET", "/api/v1/districts/{d}/lots/{x}"),
        ("GET", "/api/v1/districts/{d}/lots/{x}/bays"),
        ("GET", "/api/v1/districts/{d}/history?entity={x}&id={x}&metric={x}&from={x}&to={x}&step={x}"),
        ("GET", "/api/v1/districts/{d}/history?entity=zone&id=west&metric=people&from={x}&to={x}&step={x}"),
        ("GET", "/api/v1/districts/{d}/alerts?state={x}&rule={x}&severity={x}&since={x}&limit={x}"),
        ("GET", "/api/v1/districts/{d}/alerts/{x}"),
        ("POST", "/api/v1/districts/{d}/alerts/{x}/ack"),
        ("POST", "/api/v1/districts/{d}/alerts/{x}/clear"),
        ("GET", "/api/v1/districts/{d}/signs/{x}"),
        ("GET", "/api/v1/districts/{d}/parking/nearest?lon={x}&lat={x}&limit={x}"),
        ("GET", "/api/v1/districts/{d}/lots/{x}/reservations"),
        ("POST", "/api/v1/districts/{d}/lots/{x}/reservations"),
        ("POST", "/api/v1/districts/{d}/lots/p1/reservations"),
        ("DELETE", "/api/v1/districts/{d}/lots/{x}/reservations/{x}"),
        ("GET", "/api/v1/districts/{d}/lots/{x}/ngsi-ld"),
    ];
    let mut seen = std::collections::BTreeMap::<u16, u32>::new();
    // Every pair of extreme times as a reservation window (an overflow in the window's length
    // would panic the district's owner).
    let extremes = [
        "-9223372036854775808",
        "9223372036854775807",
        "-1",
        "0",
        "1e308",
    ];
    for from in extremes {
        for to in extremes {
            let body = format!(r#"{{"plate":"P1","from":{from},"to":{to}}}"#);
            let (code, text) = http(api, "POST", &format!("{D}/lots/p1/reservations"), &body);
            assert!(code == 400 || code == 409, "{body}: {code} {text}");
        }
    }
    for i in 0..400 {
        let (m, t) = *r.pick(&templates);
        let mut path = String::new();
        let mut rest = t;
        while let Some(at) = rest.find('{') {
            path.push_str(&rest[..at]);
            let end = rest[at..].find('}').unwrap() + at;
            let v = match &rest[at + 1..end] {
                "d" if r.next() % 4 != 0 => "mini".to_string(),
                _ => r.pick(&vals).clone(),
            };
            path.push_str(&urlencode(&v));
            rest = &rest[end + 1..];
        }
        path.push_str(rest);
        let body = if m == "GET" {
            String::new()
        } else {
            bodies(&mut r, &vals)
        };
        let (code, text) = http(api, m, &path, &body);
        assert!(
            code != 0 && code < 500,
            "request {i}: {m} {path} {body}: {code} {text}"
        );
        *seen.entry(code).or_default() += 1;
    }
    // The input reached the handlers: some requests succeeded, most were refused as bad.
    assert!(
        seen.get(&200).is_some() && seen.get(&400).is_some(),
        "{seen:?}"
    );
    let health = get_json(api, "/healthz");
    assert_eq!(health["status"], "ok", "{health}");
    assert!(
        health["district_restarts"]
            .as_object()
            .is_some_and(|m| m.is_empty()),
        "no district restarted: {health}"
    );
    // A reading published afterwards is still stored.
    let device = Publisher::connect(gw.device_addr.unwrap().port(), "fc-1");
    let ts = chrono::Utc::now().timestamp_millis();
    device
        .publish(
            "district/mini/sensors/footfall/fc-1",
            format!(r#"{{"ts":{ts},"seq":1,"in":3,"out":1}}"#),
        )
        .await;
    let data = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || wait_stored(&data, 1))
        .await
        .unwrap();
    assert!(stored_identities(dir.path()).contains_key(&("fc-1".to_string(), ts, Some(1))));
    gw.shutdown().await;
}
