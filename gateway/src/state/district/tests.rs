//! District state tests on the small test district.

use std::sync::Arc;

use district::contract::reading::{decode, Reading};
use district::DeviceKind;

use super::*;
use crate::state::ledger::MINUTE_MS as M;

pub(crate) fn mini() -> Arc<district::District> {
    let text = include_str!("../../../../tests/fixtures/mini.toml");
    Arc::new(district::load_str("mini.toml", text).expect("fixture loads"))
}

fn r(kind: DeviceKind, json: &str) -> Reading {
    decode(kind, json.as_bytes()).unwrap()
}

const T0: i64 = 1_795_312_800_000; // 2026-11-22T10:00:00+08:00, a whole minute

#[test]
fn line_counters_move_people_between_zones_exactly_per_minute() {
    let d = mini();
    let fc1 = d.device_idx("fc-1").unwrap();
    let fc2 = d.device_idx("fc-2").unwrap();
    let mut s = DistrictState::new(d.clone(), T0 - M);
    assert_eq!(
        s.apply(
            fc1,
            &r(
                DeviceKind::Footfall,
                &format!(r#"{{"ts":{},"seq":1,"in":10,"out":0}}"#, T0)
            )
        ),
        Applied::Accepted
    );
    // Minute 2 arrives before the rest of minute 1 (reordering).
    s.apply(
        fc2,
        &r(
            DeviceKind::Footfall,
            &format!(r#"{{"ts":{},"seq":2,"in":1,"out":0}}"#, T0 + M),
        ),
    );
    s.apply(
        fc2,
        &r(
            DeviceKind::Footfall,
            &format!(r#"{{"ts":{},"seq":1,"in":4,"out":1}}"#, T0),
        ),
    );
    // Duplicates never reach the state: the store refuses them first (store::writer).
    assert_eq!(s.zones[0].people(), 10 - 4 + 1 - 1);
    assert_eq!(s.zones[1].people(), 4);
    let rollups = s.close_minutes(T0 + 2 * M, 0, 10 * M);
    let people = |zone: &str, minute: i64| {
        rollups
            .iter()
            .find(|p| p.id == zone && p.metric == "people" && p.minute == minute)
            .map(|p| p.value)
    };
    assert_eq!(people("west", T0), Some(7.0));
    assert_eq!(people("east", T0), Some(3.0));
    assert_eq!(people("west", T0 + M), Some(6.0));
    assert_eq!(people("east", T0 + M), Some(4.0));
}

#[test]
fn wrong_shape_is_refused() {
    let d = mini();
    let fc1 = d.device_idx("fc-1").unwrap();
    let mut s = DistrictState::new(d, T0);
    let a = s.apply(
        fc1,
        &r(
            DeviceKind::Footfall,
            &format!(r#"{{"ts":{},"count":3}}"#, T0),
        ),
    );
    assert!(matches!(a, Applied::WrongShape(m) if m.contains("line counter")));
}

#[test]
fn bays_and_offline_devices() {
    let d = mini();
    let mut s = DistrictState::new(d.clone(), T0);
    for (i, occ) in [("ps-1", true), ("ps-2", false), ("ps-3", false)] {
        s.apply(
            d.device_idx(i).unwrap(),
            &r(
                DeviceKind::Parking,
                &format!(r#"{{"ts":{},"occupied":{occ}}}"#, T0),
            ),
        );
    }
    let live = s.lot_live(0, T0);
    assert_eq!((live.free, live.occupied, live.total), (2, 1, 3));
    assert_eq!(s.bays_live(0).states, "OFF");
    // Ten minutes later with nothing else heard, footfall counters (60 s interval, 3 missed) are offline.
    let off = s.offline_devices(T0 + 10 * M);
    assert!(off.contains(&d.device_idx("fc-1").unwrap()));
    assert!(
        !off.contains(&d.device_idx("ps-1").unwrap()),
        "bay sensors heartbeat every 4 h"
    );
    assert!(s.zone_live(0, T0 + 10 * M).stale);
}

#[test]
fn a_fire_reading_from_the_urgent_lane_does_not_close_minutes_early() {
    let d = mini();
    let fc1 = d.device_idx("fc-1").unwrap();
    let sd1 = d.device_idx("sd-1").unwrap();
    let mut s = DistrictState::new(d.clone(), T0 - 2 * M);
    let footfall = |ts: i64, seq: u64| {
        r(
            DeviceKind::Footfall,
            &format!(r#"{{"ts":{ts},"seq":{seq},"in":5,"out":0}}"#),
        )
    };
    // The rollup of minute T0 is the state at T0: readings stamped up to T0 count in it.
    s.apply(fc1, &footfall(T0 - 50_000, 1));
    // A detector's report three minutes on overtakes a footfall reading before T0.
    s.apply(
        sd1,
        &r(
            DeviceKind::Fire,
            &format!(r#"{{"ts":{},"state":"normal"}}"#, T0 + 3 * M),
        ),
    );
    let closed = s.close_minutes(T0 + 3 * M, 5_000, 10 * M);
    assert!(
        closed.iter().all(|p| p.minute < T0),
        "minute T0 stays open: {closed:?}"
    );
    s.apply(fc1, &footfall(T0 - 20_000, 2));
    s.apply(fc1, &footfall(T0 + 2 * M, 3));
    let closed = s.close_minutes(T0 + 3 * M, 5_000, 10 * M);
    let west = closed
        .iter()
        .find(|p| p.id == "west" && p.metric == "people" && p.minute == T0)
        .map(|p| p.value);
    assert_eq!(west, Some(10.0), "both readings before T0 counted in it");
}
