//! A data folder written by the release before this one opens and is upgraded: the store's
//! schema migrates to the current version at start, and what the old release kept is still
//! there and in use (readings replayed into the live state, history, alerts, reservations,
//! dead letters). The folder is rebuilt from a SQL dump kept in the repository
//! (`tests/fixtures/store-v1.sql`, its provenance at its top).

mod support;

use std::time::Duration;

use district::clock::Clock;
use gateway::config::GatewayConfig;
use gateway::store::schema;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_folder_of_the_previous_release_is_upgraded_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let dump = std::fs::read_to_string(root().join("tests/fixtures/store-v1.sql")).unwrap();
    {
        let conn = rusqlite::Connection::open(dir.path().join(schema::FILE)).unwrap();
        conn.execute_batch(&dump).unwrap();
        assert_eq!(
            schema::version(&conn).unwrap(),
            1,
            "the dump is of version 1"
        );
    }
    let mini = district::load(root().join("tests/fixtures/mini.toml")).unwrap();
    let mut cfg = GatewayConfig::default();
    cfg.devices.listen = "127.0.0.1:0".parse().unwrap();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.store.data_dir = dir.path().to_path_buf();
    support::provision_admin(&cfg.store.data_dir);
    // The old run's clock: just after it stopped.
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-02T10:09:00+08:00").unwrap();
    let gw =
        support::identities::start_gateway(cfg, vec![mini], Clock::simulated(at.to_utc(), 1.0))
            .await
            .unwrap();
    {
        let conn = rusqlite::Connection::open(dir.path().join(schema::FILE)).unwrap();
        assert_eq!(schema::version(&conn).unwrap(), schema::VERSION, "migrated");
    }
    let replayed = gw
        .shared
        .metrics
        .replayed
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(replayed, 37, "every reading of the old release is replayed");
    let api = gw.http_addr;
    let history = get_json(
        api,
        "/api/v1/districts/mini/history?entity=zone&id=west&metric=people&from=2026-12-02T10:00:00%2B08:00&to=2026-12-02T10:09:00%2B08:00",
    );
    assert!(
        history["points"].as_array().unwrap().len() >= 5,
        "the old minute rollups are served: {history}"
    );
    let alerts = get_json(api, "/api/v1/districts/mini/alerts?state=history&rule=fire");
    assert!(alerts.to_string().contains("\"rule\":\"fire\""), "{alerts}");
    let booked = get_json(api, "/api/v1/districts/mini/lots/p1/reservations");
    assert!(booked.to_string().contains("浙A12345"), "{booked}");
    // The old release's store keeps working: a new reading goes in beside the old ones.
    let device = Publisher::connect(gw.device_addr.unwrap().port(), "fc-1");
    device
        .publish(
            "district/mini/sensors/footfall/fc-1",
            format!(
                r#"{{"ts":{},"seq":999,"in":1,"out":0}}"#,
                at.timestamp_millis()
            ),
        )
        .await;
    device.wait_acked(1, Duration::from_secs(10)).await;
    device.close().await;
    gw.shutdown().await;
    let reader = gateway::store::Reader::open(dir.path()).unwrap();
    assert_eq!(reader.reading_count().unwrap(), 38);
    let reasons: i64 = reader
        .deadletters_per_reason()
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(reasons, 10, "the old dead letters are kept");
}
