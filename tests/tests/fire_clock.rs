//! A detector's clock cannot silence a fire: an `alarm` stamped two days ahead, one without
//! any time, and one from last week are each taken at arrival time (counted as
//! clock-untrusted) and hold the detector in alarm; a `normal` stamped ten minutes ahead of
//! the gateway clock is refused (`clock_skew`) and does not clear it; a `normal` stamped now,
//! after the alarm, does.

mod support;

use std::time::Duration;

use district::clock::Clock;
use district::contract::reading::FireState;
use gateway::config::GatewayConfig;
use support::*;

/// The detector's state as its district's owner holds it.
async fn detector(gw: &gateway::Gateway) -> Option<FireState> {
    gw.shared
        .district("mini")
        .unwrap()
        .owner
        .ask(|c, _| {
            let dev = c.state.district.device_idx("sd-1").unwrap();
            c.state.detectors.get(&dev).map(|s| s.0)
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detector_clock_neither_refuses_an_alarm_nor_clears_one() {
    let dir = tempfile::tempdir().unwrap();
    let mini = district::load(root().join("tests/fixtures/mini.toml")).unwrap();
    let mut cfg = GatewayConfig::default();
    cfg.devices.listen = "127.0.0.1:0".parse().unwrap();
    cfg.broker.listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.store.data_dir = dir.path().to_path_buf();
    let gw = support::identities::start_gateway(cfg, vec![mini], Clock::wall())
        .await
        .unwrap();
    let device = Publisher::connect(gw.device_addr.unwrap().port(), "sd-1");
    let m = gw.shared.metrics.clone();
    let topic = "district/mini/sensors/fire/sd-1";
    let now = || chrono::Utc::now().timestamp_millis();
    let decided = |n: u64| {
        let m = m.clone();
        async move {
            wait_for_async(Duration::from_secs(20), &format!("{n} decided"), || {
                (m.decided() >= n).then_some(())
            })
            .await
        }
    };
    let untrusted = || {
        m.fire_clock_untrusted
            .load(std::sync::atomic::Ordering::Relaxed)
    };

    // Two days ahead: taken now, not refused.
    let ahead = now() + 2 * 86_400_000;
    device
        .publish(
            topic,
            format!(r#"{{"ts":{ahead},"seq":1,"state":"alarm"}}"#),
        )
        .await;
    decided(1).await;
    assert_eq!(detector(&gw).await, Some(FireState::Alarm));
    assert_eq!(untrusted(), 1);
    assert!(
        m.rejects().into_iter().all(|(_, n)| n == 0),
        "{:?}",
        m.rejects()
    );

    // A `normal` ten minutes ahead would freeze the state: refused, the alarm holds.
    let later = now() + 600_000;
    device
        .publish(
            topic,
            format!(r#"{{"ts":{later},"seq":2,"state":"normal"}}"#),
        )
        .await;
    decided(2).await;
    let rejects: std::collections::BTreeMap<_, _> = m.rejects().into_iter().collect();
    assert_eq!(rejects.get("clock_skew"), Some(&1), "{rejects:?}");
    assert_eq!(detector(&gw).await, Some(FireState::Alarm));

    // A `normal` stamped now, after the alarm was taken, clears it.
    tokio::time::sleep(Duration::from_millis(5)).await;
    device
        .publish(
            topic,
            format!(r#"{{"ts":{},"seq":3,"state":"normal"}}"#, now()),
        )
        .await;
    decided(3).await;
    assert_eq!(detector(&gw).await, Some(FireState::Normal));

    // No time at all, and a week behind: both alarms are taken at arrival.
    tokio::time::sleep(Duration::from_millis(5)).await;
    device
        .publish(topic, r#"{"seq":4,"state":"alarm"}"#.into())
        .await;
    decided(4).await;
    assert_eq!(detector(&gw).await, Some(FireState::Alarm));
    device
        .publish(
            topic,
            format!(r#"{{"ts":{},"seq":5,"state":"normal"}}"#, now() + 1),
        )
        .await;
    decided(5).await;
    assert_eq!(detector(&gw).await, Some(FireState::Normal));
    tokio::time::sleep(Duration::from_millis(5)).await;
    let week_ago = now() - 7 * 86_400_000;
    device
        .publish(
            topic,
            format!(r#"{{"ts":{week_ago},"seq":6,"state":"alarm"}}"#),
        )
        .await;
    decided(6).await;
    assert_eq!(detector(&gw).await, Some(FireState::Alarm));
    assert_eq!(untrusted(), 3);
    // A `fault` without a time is no alarm: refused for its missing time.
    device
        .publish(topic, r#"{"seq":7,"state":"fault"}"#.into())
        .await;
    decided(7).await;
    let rejects: std::collections::BTreeMap<_, _> = m.rejects().into_iter().collect();
    assert_eq!(rejects.get("missing_field"), Some(&1), "{rejects:?}");
    assert_eq!(detector(&gw).await, Some(FireState::Alarm));
    gw.shutdown().await;
}
