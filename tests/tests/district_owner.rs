//! One owner per district: a panic inside one district's step (injected through the test
//! hook, as a bug would raise it) restarts that district from the store with its state
//! intact, while the other district keeps ingesting; `/healthz` and `/metrics` report the
//! restart, and nothing is counted twice, even when the panic comes with readings still
//! queued for the district.

mod support;

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use district::clock::Clock;
use gateway::config::GatewayConfig;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_one_district_restarts_it_from_the_store_and_spares_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let mini = district::load(root().join("tests/fixtures/mini.toml")).unwrap();
    let districts = district::scale::replicate(&mini, 2);
    let (a, b) = (districts[0].id.clone(), districts[1].id.clone());
    let mut cfg = GatewayConfig::default();
    cfg.devices.listen = "127.0.0.1:0".parse().unwrap();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.store.data_dir = dir.path().to_path_buf();
    support::provision_admin(&cfg.store.data_dir);
    cfg.publish.min_interval_ms = 50;
    let gw = support::identities::start_gateway(cfg, districts.clone(), Clock::wall())
        .await
        .unwrap();
    let device = Publisher::connect_persistent(gw.device_addr.unwrap().port(), "bridge");
    let m = gw.shared.metrics.clone();
    let t0 = chrono::Utc::now().timestamp_millis() - 3_600_000;
    // fc-1 of each district counts into zone `west`: 3 in, 1 out per reading.
    let send = |d: &districts::Id, seq: u64| {
        (
            format!("district/{}/sensors/footfall/fc-1{}", d.0, d.1),
            format!(
                r#"{{"ts":{},"seq":{seq},"in":3,"out":1}}"#,
                t0 + seq as i64 * 1_000
            ),
        )
    };
    let ids = [
        districts::Id(a.clone(), a.strip_prefix("mini").unwrap().to_string()),
        districts::Id(b.clone(), b.strip_prefix("mini").unwrap().to_string()),
    ];

    for seq in 1..=20 {
        for d in &ids {
            let (t, p) = send(d, seq);
            device.publish(&t, p).await;
        }
    }
    wait_for_async(Duration::from_secs(20), "40 readings decided", || {
        (m.decided() >= 40).then_some(())
    })
    .await;
    assert_eq!(
        (people(&gw, &a, 0).await, people(&gw, &b, 0).await),
        (40, 40)
    );
    // District a also holds a reservation and an open fire alert when it panics.
    let now = chrono::Utc::now().timestamp_millis();
    let (code, booked) = http_json(
        gw.http_addr,
        "POST",
        &format!("/api/v1/districts/{a}/lots/p1/reservations"),
        &format!(
            r#"{{"plate":"浙A12345","from":{},"to":{}}}"#,
            now + 3_600_000,
            now + 7_200_000
        ),
    );
    assert_eq!(code, 201, "{booked}");
    device
        .publish(
            &format!("district/{a}/sensors/fire/sd-1{}", ids[0].1),
            format!(r#"{{"ts":{now},"state":"alarm"}}"#),
        )
        .await;
    let active = |d: &str| {
        let (_, v) = http_json(
            gw.http_addr,
            "GET",
            &format!("/api/v1/districts/{d}/alerts"),
            "",
        );
        v["alerts"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x["id"].as_str().unwrap_or("").to_string())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let fire = wait_for_async(Duration::from_secs(20), "the fire alert", || {
        active(&a).into_iter().find(|id| id.contains("fire"))
    })
    .await;
    let reservations = |d: &str| {
        http_json(
            gw.http_addr,
            "GET",
            &format!("/api/v1/districts/{d}/lots/p1/reservations"),
            "",
        )
        .1
    };
    let before = reservations(&a);

    // A panic in district a's step: it is rebuilt from the store, with the same people.
    assert!(gw.inject_panic(&a));
    wait_for_async(Duration::from_secs(20), "district a restarted", || {
        (m.district_restarts().get(&a) == Some(&1)).then_some(())
    })
    .await;
    assert_eq!(
        people(&gw, &a, 0).await,
        40,
        "state intact after the restart"
    );
    assert_eq!(
        reservations(&a),
        before,
        "reservations intact after the restart"
    );
    assert!(
        active(&a).contains(&fire),
        "the fire alert is still open, same id"
    );
    // An operator can still act on it through the rebuilt owner.
    let (code, acked) = http_json(
        gw.http_addr,
        "POST",
        &format!("/api/v1/districts/{a}/alerts/{fire}/ack"),
        r#"{"who":"guard 7","note":"on the way"}"#,
    );
    assert_eq!(code, 200, "{acked}");
    assert_eq!(acked["state"], "acknowledged", "{acked}");
    assert_eq!(
        m.district_restarts().get(&b),
        None,
        "the other district never noticed"
    );

    // Both go on ingesting; district b panics in the middle of it, with readings of its own
    // still queued (the rebuild holds some of them already: those are skipped, not counted
    // twice).
    for seq in 21..=30 {
        for d in &ids {
            let (t, p) = send(d, seq);
            device.publish(&t, p).await;
        }
        if seq == 25 {
            assert!(gw.inject_panic(&b));
        }
    }
    wait_for_async(Duration::from_secs(20), "61 readings decided", || {
        (m.decided() >= 61).then_some(())
    })
    .await;
    wait_for_async(Duration::from_secs(20), "district b restarted", || {
        (m.district_restarts().get(&b) == Some(&1)).then_some(())
    })
    .await;
    assert_eq!(
        (people(&gw, &a, 0).await, people(&gw, &b, 0).await),
        (60, 60)
    );
    assert_eq!(
        m.accepted.load(Relaxed),
        61,
        "60 footfall readings and the fire alarm"
    );
    let (_, health) = http_json(gw.http_addr, "GET", "/healthz", "");
    assert_eq!(health["district_restarts"][&a], 1, "{health}");
    assert_eq!(health["district_restarts"][&b], 1, "{health}");
    assert_eq!(health["status"], "ok", "{health}");
    let metrics = http(gw.http_addr, "GET", "/metrics", "").1;
    assert!(
        metrics.contains(&format!(
            "gateway_district_restarts_total{{district=\"{a}\"}} 1"
        )),
        "{metrics}"
    );
    device.close().await;
    gw.shutdown().await;
}

mod districts {
    /// A district id and the suffix its devices carry.
    pub struct Id(pub String, pub String);
}
