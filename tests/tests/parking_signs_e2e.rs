//! End to end, parking guidance: the real simulator drives the real gateway (embedded rumqttd,
//! SQLite) for an hour of the Hubin district at 120× on one simulated clock.
//!
//! - Every sign line of a bay-counted lot shows, at every truth minute plus the sign's update
//!   limit, a free count that was true within that limit (true free = replay of the bay
//!   sensors' own reports), or 满 inside the hysteresis band near full.
//! - The Dongpo Road lot's two entrance counters go silent for 20 minutes: every sign with a
//!   Dongpo line turns it to `--` (stale) and shows no number until the counters are back.
//! - Reservations through the API: 201, 409 when over-booked, cancel, held spaces count as
//!   taken (`reserved`, an `R` bay, the sign one lower), and they survive a gateway restart.
//! - `mosquitto_sub` on a sign topic sees the retained frame at once; the API serves it too.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{free_port, http_json, root};

use chrono::DateTime;
use district::clock::Clock;
use district::contract::reading::decode;
use district::contract::sign::{LineState, SignFrame};
use district::contract::time::parse_text;
use district::contract::truth::Truth;
use district::{DeviceKind, LotCounting, Role};
use gateway::config::GatewayConfig;
use rumqttc::{AsyncClient, Event, Packet, QoS};
use sensors_sim::{SimOptions, Speed};

const START: &str = "2026-11-23T09:00:00+08:00"; // a Monday
const SPEED: f64 = 120.0;
const MIN: i64 = 60_000;

fn config(dir: &Path, mqtt: u16) -> GatewayConfig {
    let mut cfg = GatewayConfig::default();
    cfg.devices.listen = "127.0.0.1:0".parse().unwrap();
    cfg.broker.listen = format!("127.0.0.1:{mqtt}").parse().unwrap();
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.store.data_dir = dir.join("data");
    support::provision_admin(&cfg.store.data_dir);
    // The flow checks ask the history of 200 bays in a row, more than one account's default
    // burst (100 requests).
    cfg.http.burst = 1000;
    cfg.publish.min_interval_ms = 50;
    cfg.parking.tick = Duration::from_millis(20);
    cfg.parking.sign_min_interval = Duration::from_secs(10);
    cfg.parking.reservable_share = 0.0; // one reservation per lot at once
    cfg
}

/// Per lot, the bay reports (event ms, bay, occupied) seen on MQTT.
type Reports = BTreeMap<usize, Vec<(i64, usize, bool)>>;

/// True free bays of a lot at `t`: bays whose latest report at or before `t` says free.
fn true_free(reports: &[(i64, usize, bool)], bays: usize, t: i64) -> u32 {
    let mut last: Vec<Option<(i64, bool)>> = vec![None; bays];
    for &(ts, bay, occ) in reports.iter().filter(|r| r.0 <= t) {
        if last[bay].is_none_or(|(lt, _)| ts >= lt) {
            last[bay] = Some((ts, occ));
        }
    }
    last.iter()
        .filter(|b| matches!(b, Some((_, false))))
        .count() as u32
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signs_follow_the_truth_go_stale_and_count_reservations() {
    let dir = tempfile::tempdir().unwrap();
    let hubin = root().join("config/districts/hubin.toml");
    let d = district::load(&hubin).unwrap();
    // The gateway's copy never lets the bay lots go stale (the clock runs on after the sim).
    let mut gd = d.clone();
    for l in &mut gd.lots {
        if l.counting == LotCounting::Bays {
            l.stale_after = Duration::from_secs(86_400);
        }
    }
    let start = DateTime::parse_from_rfc3339(START).unwrap();
    let clock = Clock::simulated(start.to_utc(), SPEED);
    let mqtt = free_port();
    let gw = support::identities::start_gateway(config(dir.path(), mqtt), vec![gd.clone()], clock)
        .await
        .unwrap();
    let api = gw.http_addr;

    // Everything the signs, the truth and the bay sensors say.
    let mut o = support::identities::options(
        support::identities::READER,
        "sign-watcher",
        "127.0.0.1",
        mqtt,
    );
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (sub, mut el) = AsyncClient::new(o, 10_000);
    for t in [
        "district/hubin/signs/+",
        "district/hubin/sim/truth",
        "district/hubin/sensors/parking/+",
    ] {
        sub.subscribe(t, QoS::AtLeastOnce).await.unwrap();
    }
    let frames: Arc<Mutex<Vec<SignFrame>>> = Arc::default();
    let truths: Arc<Mutex<Vec<Truth>>> = Arc::default();
    let reports: Arc<Mutex<Reports>> = Arc::default();
    {
        let (frames, truths, reports, d) =
            (frames.clone(), truths.clone(), reports.clone(), d.clone());
        tokio::spawn(async move {
            while let Ok(ev) = el.poll().await {
                let Event::Incoming(Packet::Publish(p)) = ev else {
                    continue;
                };
                if p.topic.contains("/signs/") {
                    frames
                        .lock()
                        .unwrap()
                        .push(serde_json::from_slice(&p.payload).unwrap());
                } else if p.topic.ends_with("/sim/truth") {
                    truths
                        .lock()
                        .unwrap()
                        .push(serde_json::from_slice(&p.payload).unwrap());
                } else if let Some(dev) = d.device_idx(p.topic.rsplit('/').next().unwrap()) {
                    if let (Role::Bay { lot, bay }, Ok(r)) = (
                        &d.devices[dev].role,
                        decode(DeviceKind::Parking, &p.payload),
                    ) {
                        if let district::contract::reading::Measurement::Bay { occupied } = r.value
                        {
                            reports
                                .lock()
                                .unwrap()
                                .entry(*lot)
                                .or_default()
                                .push((r.ts_ms, *bay, occupied));
                        }
                    }
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Reservations: book for tomorrow, over-book, cancel, book again.
    let lots = "/api/v1/districts/hubin/lots";
    let window = r#"{"plate":"浙A12345","from":"2026-11-24T09:00:00+08:00","to":"2026-11-24T11:00:00+08:00"}"#;
    let (code, r1) = http_json(api, "POST", &format!("{lots}/in77/reservations"), window);
    assert_eq!(code, 201, "{r1}");
    let (code, err) = http_json(
        api,
        "POST",
        &format!("{lots}/in77/reservations"),
        &window.replace("浙A12345", "浙B2"),
    );
    assert_eq!(code, 409, "over-booked: {err}");
    assert!(
        err["error"].as_str().unwrap().contains("fully booked"),
        "{err}"
    );
    let id = r1["id"].as_str().unwrap().to_string();
    assert_eq!(
        http_json(api, "DELETE", &format!("{lots}/in77/reservations/{id}"), "").0,
        200
    );
    let (code, r2) = http_json(
        api,
        "POST",
        &format!("{lots}/in77/reservations"),
        &window.replace("浙A12345", "浙B2"),
    );
    assert_eq!(code, 201, "a cancelled booking frees its window: {r2}");
    let future_id = r2["id"].as_str().unwrap().to_string();

    // An hour, Dongpo's entrance counters silent from +20 to +40 min.
    let scenario = dir.path().join("silence.toml");
    std::fs::write(
        &scenario,
        "[[events]]\nat = \"+20min\"\nkind = \"silence\"\ndevice = \"pe-01\"\nduration = \"20min\"\n\n\
         [[events]]\nat = \"+20min\"\nkind = \"silence\"\ndevice = \"pe-02\"\nduration = \"20min\"\n",
    )
    .unwrap();
    let opts = SimOptions {
        security: support::identities::client_security(support::identities::BRIDGE),
        config: hubin.clone(),
        // Through the broker, where this test also reads the bay sensors' own reports (what
        // the signs are checked against); the broker path ingests them as the device port does.
        broker: gw.mqtt_addr.clone(),
        seed: 11,
        speed: Speed::Factor(SPEED),
        start: Some(start),
        duration: Some(Duration::from_secs(3600)),
        scenario: Some(scenario),
        ..Default::default()
    };
    let summary = sensors_sim::run(opts, clock).await.unwrap();
    assert!(summary.delivered_all);
    // Settled: the store has decided every reading received, and no sign frame has arrived
    // for a second (frames follow within the rate limit, 83 ms of wall time at 120×).
    let m = gw.shared.metrics.clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut seen = (usize::MAX, std::time::Instant::now());
    loop {
        use std::sync::atomic::Ordering::Relaxed;
        let decided = m.decided();
        let n = frames.lock().unwrap().len();
        if n != seen.0 {
            seen = (n, std::time::Instant::now());
        }
        if decided >= m.received.load(Relaxed) && seen.1.elapsed() >= Duration::from_secs(1) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the gateway did not settle after the run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Every truth minute: the frame in effect L later shows a value true within [m, m + L].
    let t0 = start.timestamp_millis();
    let limit_ms = 10_000 + 80_000; // rate limit + ticks and transport (0.67 s wall at 120×)
    let release = 3;
    let frames_now = frames.lock().unwrap().clone();
    let reports_now = reports.lock().unwrap().clone();
    let truths_now = truths.lock().unwrap().clone();
    assert!(truths_now.len() >= 55, "truths: {}", truths_now.len());
    let by_sign = |sign: &str, at: i64| -> Option<SignFrame> {
        frames_now
            .iter()
            .filter(|f| f.sign == sign && parse_text(&f.ts).unwrap() <= at)
            .max_by_key(|f| parse_text(&f.ts).unwrap())
            .cloned()
    };
    let (mut checked, mut exact, mut band) = (0, 0, 0);
    for t in &truths_now {
        let m = t.ts_ms;
        if m < t0 + 5 * MIN || m > t0 + 59 * MIN {
            continue;
        }
        for sign in &d.signs {
            let f = by_sign(&sign.id, m + limit_ms)
                .unwrap_or_else(|| panic!("{} has no frame at {}", sign.id, t.sim_time));
            for (line, lf) in sign.lines.iter().zip(&f.lines) {
                let lot = &d.lots[line.lot];
                if lot.counting != LotCounting::Bays {
                    continue;
                }
                let rs = &reports_now[&line.lot];
                let mut times: Vec<i64> = rs
                    .iter()
                    .map(|r| r.0)
                    .filter(|&x| x > m && x <= m + limit_ms)
                    .collect();
                times.push(m);
                let truth_vals: Vec<u32> = times
                    .iter()
                    .map(|&x| true_free(rs, lot.bays.len(), x))
                    .collect();
                assert_eq!(
                    true_free(rs, lot.bays.len(), m),
                    t.free_bays[&lot.id],
                    "replayed truth of {} at {}",
                    lot.id,
                    t.sim_time
                );
                checked += 1;
                match lf.state {
                    LineState::Free => {
                        let n = lf.free.unwrap();
                        assert!(
                            truth_vals.contains(&n),
                            "{} {} shows {n} at {}; true within the limit: {truth_vals:?}",
                            sign.id,
                            lot.id,
                            t.sim_time
                        );
                        exact += 1;
                    }
                    LineState::Full => {
                        assert!(
                            truth_vals.iter().any(|&v| v < release),
                            "{} {} shows 满 at {} with {truth_vals:?} free",
                            sign.id,
                            lot.id,
                            t.sim_time
                        );
                        band += 1;
                    }
                    s => panic!("{} {} is {s:?} at {}", sign.id, lot.id, t.sim_time),
                }
            }
        }
    }
    println!(
        "sign checks: {checked}, numbers true within the limit: {exact}, 满 in the band: {band}"
    );
    assert!(checked > 500);

    // No flicker: once a line says 满, it shows a number again only from `release` free.
    let mut last: BTreeMap<(String, usize), LineState> = BTreeMap::new();
    for f in &frames_now {
        for (i, l) in f.lines.iter().enumerate() {
            let prev = last.insert((f.sign.clone(), i), l.state);
            if prev == Some(LineState::Full) && l.state == LineState::Free {
                assert!(
                    l.free.unwrap() >= release,
                    "{} line {i} flickered: 满 then {:?}",
                    f.sign,
                    l.free
                );
            }
        }
    }

    // Dongpo silent from +20 min, stale 5 min later: its lines say `--` and never a number.
    let dongpo = d.lot_idx("dongpo").unwrap();
    let mut stale_seen = 0;
    for sign in d
        .signs
        .iter()
        .filter(|s| s.lines.iter().any(|l| l.lot == dongpo))
    {
        for at in [t0 + 28 * MIN, t0 + 33 * MIN, t0 + 38 * MIN] {
            let f = by_sign(&sign.id, at).unwrap();
            let (i, _) = sign
                .lines
                .iter()
                .enumerate()
                .find(|(_, l)| l.lot == dongpo)
                .unwrap();
            assert_eq!(
                f.lines[i].state,
                LineState::Stale,
                "{} at +{} min: {:?}",
                sign.id,
                (at - t0) / MIN,
                f.lines[i]
            );
            assert_eq!(f.lines[i].free, None);
            assert!(f.lines[i].text.ends_with("--"), "{}", f.lines[i].text);
            stale_seen += 1;
        }
    }
    assert!(stale_seen >= 3);

    // A reservation for now, with no car arriving (the simulator has stopped): taken at once.
    let now_window = format!(
        r#"{{"plate":"浙C3","from":{},"to":{}}}"#,
        clock.now_ms(),
        clock.now_ms() + 3_600_000
    );
    let (_, before) = http_json(api, "GET", &format!("{lots}/pinghai"), "");
    let (code, held) = http_json(
        api,
        "POST",
        &format!("{lots}/pinghai/reservations"),
        &now_window,
    );
    assert_eq!(code, 201, "{held}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (_, after) = http_json(api, "GET", &format!("{lots}/pinghai"), "");
    assert_eq!(after["reserved"], 1, "{after}");
    assert_eq!(
        after["free"].as_u64().unwrap() + 1,
        before["free"].as_u64().unwrap(),
        "{before} {after}"
    );
    let (_, bays) = http_json(api, "GET", &format!("{lots}/pinghai/bays"), "");
    assert_eq!(
        bays["states"].as_str().unwrap().matches('R').count(),
        1,
        "{bays}"
    );
    let (_, sg) = http_json(api, "GET", "/api/v1/districts/hubin/signs/sg-02", "");
    let pinghai = d.lot_idx("pinghai").unwrap();
    let i = d
        .signs
        .iter()
        .find(|s| s.id == "sg-02")
        .unwrap()
        .lines
        .iter()
        .position(|l| l.lot == pinghai)
        .unwrap();
    let shown = &sg["lines"][i];
    if shown["state"] == "free" {
        assert_eq!(
            shown["free"], after["free"],
            "the sign counts the reservation as taken: {sg}"
        );
    }
    assert!(sg["text"].as_str().unwrap().contains('\n'), "{sg}");

    // Flow statistics through the history API: entries per hour, the occupancy curve, dwell
    // time and turnover per bay.
    let hist = |q: &str| {
        http_json(
            api,
            "GET",
            &format!("/api/v1/districts/hubin/history?{q}&from={t0}"),
            "",
        )
        .1
    };
    let entries = hist("entity=lot&id=in77&metric=entries&step=1h");
    let per_hour: f64 = entries["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .sum();
    assert!(per_hour > 0.0, "{entries}");
    let occ = hist("entity=lot&id=in77&metric=occupancy&step=15m");
    assert!(occ["points"].as_array().unwrap().len() >= 3, "{occ}");
    assert!(occ["points"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| (0.0..=1.0).contains(&p[1].as_f64().unwrap())));
    let in77 = &d.lots[d.lot_idx("in77").unwrap()];
    let turnover: f64 = in77
        .bays
        .iter()
        .take(200)
        .map(|b| {
            let h = hist(&format!(
                "entity=bay&id=in77/{}&metric=entries&step=24h",
                b.id
            ));
            h["points"]
                .as_array()
                .unwrap_or_else(|| panic!("bay {}: {h}", b.id))
                .iter()
                .map(|p| p[1].as_f64().unwrap())
                .sum::<f64>()
        })
        .sum();
    assert!(
        turnover > 0.0,
        "some of the first 200 bays of in77 turned over"
    );
    println!("in77: {per_hour} entries in the hour; turnover of its first 200 bays: {turnover}");
    let dwell = hist("entity=lot&id=in77&metric=dwell_min&step=1h");
    println!("in77 dwell: {dwell}");

    // The forecast, published with the live state and served by the API.
    let (code, fc) = http_json(api, "GET", "/api/v1/districts/hubin/parking/forecast", "");
    assert_eq!(code, 200);
    let fc_in77 = fc
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["lot"] == "in77")
        .unwrap_or_else(|| panic!("{fc}"));
    assert_eq!(
        fc_in77["horizons"].as_array().unwrap().len(),
        3,
        "{fc_in77}"
    );

    // Space queries and FIWARE.
    let (code, near) = http_json(
        api,
        "GET",
        "/api/v1/districts/hubin/parking/nearest?lon=120.1646&lat=30.2517&limit=2",
        "",
    );
    assert_eq!(code, 200, "{near}");
    assert!(near.as_array().unwrap().len() <= 2);
    let dists: Vec<f64> = near
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["distance_m"].as_f64().unwrap())
        .collect();
    assert!(dists.windows(2).all(|w| w[0] <= w[1]), "{near}");
    let (code, ngsi) = http_json(api, "GET", &format!("{lots}/pinghai/ngsi-ld"), "");
    assert_eq!(code, 200);
    assert_eq!(ngsi["type"], "OffStreetParking");
    assert_eq!(ngsi["availableSpotNumber"]["value"], after["free"]);
    let (_, spots) = http_json(api, "GET", &format!("{lots}/pinghai/bays/ngsi-ld"), "");
    assert_eq!(spots.as_array().unwrap().len(), d.lots[pinghai].bays.len());

    // The retained frame reaches a new subscriber at once.
    let out = std::process::Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &mqtt.to_string(),
            "-t",
            "district/hubin/signs/sg-01",
        ])
        .args(support::identities::mosquitto_args(
            support::identities::READER,
            "mosquitto-sub",
        ))
        .args(["-C", "1", "-W", "3"])
        .output()
        .expect("mosquitto_sub (apt-get install mosquitto-clients)");
    let retained: SignFrame = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(retained.sign, "sg-01");
    assert_eq!(retained.lines.len(), 4);

    // Reservations survive a restart.
    gw.shutdown().await;
    let gw = support::identities::start_gateway(config(dir.path(), free_port()), vec![gd], clock)
        .await
        .unwrap();
    let (_, listed) = http_json(
        gw.http_addr,
        "GET",
        &format!("{lots}/in77/reservations"),
        "",
    );
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == future_id.as_str() && r["state"] == "booked"),
        "{listed}"
    );
    let (_, listed) = http_json(
        gw.http_addr,
        "GET",
        &format!("{lots}/pinghai/reservations"),
        "",
    );
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == held["id"] && r["state"] == "booked"),
        "{listed}"
    );
    gw.shutdown().await;
}
