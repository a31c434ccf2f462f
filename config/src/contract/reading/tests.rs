//! Decoding tests: examples of every shape and reject, and a property test that mutates valid
//! payloads (fields removed, retyped, huge, NaN-like, nested) and random bytes: no panic, ever.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

const TS: &str = "2026-11-22T10:00:05+08:00";

#[test]
fn every_contract_example_decodes() {
    let line = decode(
        DeviceKind::Footfall,
        br#"{"ts":"2026-11-22T10:00:05+08:00","seq":812,"in":12,"out":9}"#,
    )
    .unwrap();
    assert_eq!(line.seq, Some(812));
    assert_eq!(line.value, Measurement::Line { ins: 12, outs: 9 });
    let area = decode(DeviceKind::Footfall, br#"{"ts":1795312805000,"count":57}"#).unwrap();
    assert_eq!(area.value, Measurement::Area { count: 57 });
    assert_eq!(area.ts_ms, line.ts_ms);
    assert_eq!(
        decode(
            DeviceKind::Parking,
            br#"{"ts":1795312805000,"occupied":true}"#
        )
        .unwrap()
        .value,
        Measurement::Bay { occupied: true }
    );
    assert_eq!(
        decode(
            DeviceKind::Parking,
            br#"{"ts":1795312805000,"entries":3,"exits":1}"#
        )
        .unwrap()
        .value,
        Measurement::Entrance {
            entries: 3,
            exits: 1
        }
    );
    let air = decode(DeviceKind::Air, br#"{"ts":1795312805000,"pm25":35.2,"pm10":61,"no2":28,"so2":6,"o3":80,"co":0.6,"co2":650,"temp":22.1,"rh":55}"#).unwrap();
    let Measurement::Air(a) = air.value else {
        panic!()
    };
    assert_eq!((a.pm25, a.co, a.rh), (Some(35.2), Some(0.6), Some(55.0)));
    let e = decode(
        DeviceKind::Energy,
        br#"{"ts":1795312805000,"kwh":123456.7,"kw":42.1,"v":229.8,"pf":0.95}"#,
    )
    .unwrap();
    assert!(matches!(e.value, Measurement::Energy(EnergySample { kwh, .. }) if kwh == 123456.7));
    assert_eq!(
        decode(DeviceKind::Fire, br#"{"ts":1795312805000,"state":"alarm"}"#)
            .unwrap()
            .value,
        Measurement::Fire {
            state: FireState::Alarm
        }
    );
}

#[test]
fn rejects_carry_the_right_reason() {
    let cases: &[(DeviceKind, &str, &str)] = &[
        (DeviceKind::Footfall, "not json", "malformed"),
        (DeviceKind::Footfall, "[1,2]", "malformed"),
        (
            DeviceKind::Footfall,
            r#"{"ts":1795312805000,"in":"12","out":1}"#,
            "malformed",
        ),
        (DeviceKind::Footfall, r#"{"in":1,"out":1}"#, "missing_field"),
        (
            DeviceKind::Footfall,
            r#"{"ts":1795312805000,"in":1}"#,
            "missing_field",
        ),
        (
            DeviceKind::Footfall,
            r#"{"ts":1795312805000,"in":-3,"out":1}"#,
            "out_of_range",
        ),
        (
            DeviceKind::Footfall,
            r#"{"ts":1795312805000,"in":1.5,"out":1}"#,
            "out_of_range",
        ),
        (
            DeviceKind::Footfall,
            r#"{"ts":1795312805000,"in":1,"out":1,"count":3}"#,
            "bad_shape",
        ),
        (DeviceKind::Footfall, r#"{"ts":1795312805000}"#, "bad_shape"),
        (
            DeviceKind::Footfall,
            r#"{"ts":1795312805,"count":3}"#,
            "bad_timestamp",
        ),
        (
            DeviceKind::Footfall,
            r#"{"ts":"2026-11-22 10:00","count":3}"#,
            "bad_timestamp",
        ),
        (
            DeviceKind::Footfall,
            r#"{"ts":1e300,"count":3}"#,
            "bad_timestamp",
        ),
        (
            DeviceKind::Footfall,
            r#"{"ts":1795312805000,"count":3,"count":4}"#,
            "malformed",
        ),
        (
            DeviceKind::Air,
            r#"{"ts":1795312805000,"co":600}"#,
            "out_of_range",
        ),
        (
            DeviceKind::Air,
            r#"{"ts":1795312805000,"pm25":NaN}"#,
            "malformed",
        ),
        (
            DeviceKind::Air,
            r#"{"ts":1795312805000,"pm25":1e999}"#,
            "malformed",
        ),
        (DeviceKind::Air, r#"{"ts":1795312805000}"#, "bad_shape"),
        (
            DeviceKind::Energy,
            r#"{"ts":1795312805000,"kw":3}"#,
            "missing_field",
        ),
        (
            DeviceKind::Energy,
            r#"{"ts":1795312805000,"kwh":1,"kw":4200000}"#,
            "out_of_range",
        ),
        (
            DeviceKind::Fire,
            r#"{"ts":1795312805000,"state":"burning"}"#,
            "malformed",
        ),
        (
            DeviceKind::Parking,
            r#"{"ts":1795312805000,"occupied":"yes"}"#,
            "malformed",
        ),
    ];
    for (kind, payload, reason) in cases {
        let e = decode(*kind, payload.as_bytes()).expect_err(payload);
        assert_eq!(e.reason(), *reason, "{payload}: {e}");
    }
    let big = format!(
        r#"{{"ts":1795312805000,"count":3,"pad":"{}"}}"#,
        "x".repeat(MAX_READING_BYTES)
    );
    assert_eq!(
        decode(DeviceKind::Footfall, big.as_bytes())
            .unwrap_err()
            .reason(),
        "oversized"
    );
}

#[test]
fn wrong_units_are_explained() {
    let e = decode(DeviceKind::Air, br#"{"ts":1795312805000,"co":600}"#).unwrap_err();
    assert!(e.to_string().contains("mg/m³ (not µg/m³)"), "{e}");
}

fn valid_payloads() -> Vec<(DeviceKind, Value)> {
    vec![
        (
            DeviceKind::Footfall,
            json!({"ts": TS, "seq": 812, "in": 12, "out": 9}),
        ),
        (
            DeviceKind::Footfall,
            json!({"ts": 1795312805000i64, "count": 57}),
        ),
        (DeviceKind::Parking, json!({"ts": TS, "occupied": true})),
        (
            DeviceKind::Parking,
            json!({"ts": TS, "entries": 3, "exits": 1}),
        ),
        (
            DeviceKind::Air,
            json!({"ts": TS, "pm25": 35.2, "pm10": 61, "no2": 28, "so2": 6, "o3": 80, "co": 0.6, "co2": 650, "temp": 22.1, "rh": 55}),
        ),
        (
            DeviceKind::Energy,
            json!({"ts": TS, "kwh": 123456.7, "kw": 42.1, "v": 229.8, "pf": 0.95}),
        ),
        (DeviceKind::Fire, json!({"ts": TS, "state": "alarm"})),
    ]
}

/// Replacement values: wrong types, extremes, nesting.
fn odd_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        Just(json!(1e308)),
        Just(json!(-1e308)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        ".{0,40}".prop_map(Value::String),
        Just(json!("NaN")),
        Just(json!("x".repeat(5000))),
        Just(json!([1, 2, {"a": [null]}])),
        Just(json!({"nested": {"deeper": {"ts": TS}}})),
    ]
}

/// A mutation of a valid payload: remove, retype or add fields, or corrupt the text.
#[derive(Debug, Clone)]
enum Mutation {
    Remove(usize),
    Replace(usize, Value),
    Add(String, Value),
    Truncate(usize),
    FlipByte(usize, u8),
    RawNaN(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Remove),
        (any::<usize>(), odd_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        ("[a-z0-9_]{1,6}", odd_value()).prop_map(|(k, v)| Mutation::Add(k, v)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::FlipByte(i, b)),
        any::<usize>().prop_map(Mutation::RawNaN),
    ]
}

fn apply(mut v: Value, muts: &[Mutation]) -> Vec<u8> {
    let mut text_edits = Vec::new();
    for m in muts {
        let obj = v.as_object_mut().unwrap();
        let keys: Vec<String> = obj.keys().cloned().collect();
        match m {
            Mutation::Remove(i) if !keys.is_empty() => {
                obj.remove(&keys[i % keys.len()]);
            }
            Mutation::Replace(i, new) if !keys.is_empty() => {
                obj.insert(keys[i % keys.len()].clone(), new.clone());
            }
            Mutation::Add(k, new) => {
                obj.insert(k.clone(), new.clone());
            }
            other => text_edits.push(other.clone()),
        }
    }
    let mut bytes = serde_json::to_vec(&v).unwrap();
    for m in text_edits {
        match m {
            Mutation::Truncate(i) if !bytes.is_empty() => bytes.truncate(i % bytes.len()),
            Mutation::FlipByte(i, b) if !bytes.is_empty() => {
                let n = bytes.len();
                bytes[i % n] = b;
            }
            Mutation::RawNaN(i) => {
                let s = String::from_utf8_lossy(&bytes).to_string();
                if let Some((pos, _)) = s.match_indices(':').nth(i % 4) {
                    let mut t = s[..=pos].to_string();
                    t.push_str("NaN");
                    if let Some(rest) = s[pos + 1..].find([',', '}']) {
                        t.push_str(&s[pos + 1 + rest..]);
                    }
                    bytes = t.into_bytes();
                }
            }
            _ => {}
        }
    }
    bytes
}

#[test]
fn a_fire_alarm_without_a_usable_time_is_taken_at_arrival_and_nothing_else_is() {
    let at = 1_795_312_800_000;
    for p in [
        r#"{"state":"alarm"}"#,
        r#"{"ts":"yesterday","state":"alarm","seq":4}"#,
        r#"{"ts":1.5,"state":"alarm"}"#,
    ] {
        let r = decode_fire_alarm_at(p.as_bytes(), at).expect(p);
        assert_eq!(r.ts_ms, at, "{p}");
        assert_eq!(
            r.value,
            Measurement::Fire {
                state: FireState::Alarm
            }
        );
    }
    assert_eq!(
        decode_fire_alarm_at(br#"{"state":"alarm","seq":7}"#, at).unwrap().seq,
        Some(7)
    );
    for p in [
        r#"{"state":"normal"}"#,
        r#"{"state":"fault"}"#,
        r#"{"state":"alarm","seq":-1}"#,
        r#"{"state":"smoke"}"#,
        r#"["alarm"]"#,
        "not json",
    ] {
        assert!(decode_fire_alarm_at(p.as_bytes(), at).is_none(), "{p}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100_000, failure_persistence: None, .. ProptestConfig::default() })]

    /// 100,000 mutated valid payloads, decoded as every kind: never a panic, and every reject
    /// has one of the documented reasons.
    #[test]
    fn mutated_payloads_never_panic(which in 0usize..7, muts in proptest::collection::vec(mutation(), 1..4), kind_ix in 0usize..5) {
        let (own_kind, v) = valid_payloads().swap_remove(which);
        let bytes = apply(v, &muts);
        for kind in [own_kind, DeviceKind::ALL[kind_ix]] {
            if let Err(e) = decode(kind, &bytes) {
                prop_assert!(["oversized", "malformed", "missing_field", "bad_shape", "out_of_range", "bad_timestamp"].contains(&e.reason()));
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, failure_persistence: None, .. ProptestConfig::default() })]

    /// Random bytes never panic either.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), kind_ix in 0usize..5) {
        let _ = decode(DeviceKind::ALL[kind_ix], &bytes);
    }
}
