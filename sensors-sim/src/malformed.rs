//! Malformed messages injected by `malformed` scenario events, each with the reason the gateway
//! is expected to give when it dead-letters it.
//!
//! Decode failures use the stable [`DecodeError::reason`](district::contract::reading::DecodeError::reason)
//! codes of `district::contract::reading`; two varieties decode fine and are the gateway's own
//! checks: `unknown_device` (a device id not in the district, on a valid kind topic) and
//! `clock_skew` (a timestamp a day in the future). None of them carries a `seq`, so none can
//! collide with a device's real sequence numbers, and the ones on real line counters carry
//! counts that would not move a zone even if accepted.

use district::contract::reading::MAX_READING_BYTES;
use district::contract::topic;
use district::{DeviceKind, District, Role};

use crate::payload;
use crate::random::{self, SimRng};

/// A kind of malformed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variety {
    /// Truncated JSON.
    BadJson,
    /// Counts sent as strings.
    WrongTypes,
    /// A `NaN` literal (not JSON).
    NanLiteral,
    /// Negative people counts.
    NegativeCounts,
    /// A valid reading from a device id that is not in the district.
    UnknownDevice,
    /// A valid reading padded above the gateway's reading limit (8 KiB; the broker takes it).
    Oversized,
    /// A valid reading stamped a day in the future.
    FutureTimestamp,
    /// CO of 600 "mg/m³" (µg/m³ sent by mistake).
    WrongUnit,
    /// A reading without `ts`.
    MissingField,
    /// `ts` without a UTC offset.
    BadTimestamp,
}

impl Variety {
    /// Every variety, in the order a burst sends them.
    pub const ALL: [Variety; 10] = [
        Variety::BadJson,
        Variety::WrongTypes,
        Variety::NanLiteral,
        Variety::NegativeCounts,
        Variety::UnknownDevice,
        Variety::Oversized,
        Variety::FutureTimestamp,
        Variety::WrongUnit,
        Variety::MissingField,
        Variety::BadTimestamp,
    ];

    /// The name used in scenario files and in the injected-messages file.
    pub fn name(self) -> &'static str {
        match self {
            Variety::BadJson => "bad_json",
            Variety::WrongTypes => "wrong_types",
            Variety::NanLiteral => "nan_literal",
            Variety::NegativeCounts => "negative_counts",
            Variety::UnknownDevice => "unknown_device",
            Variety::Oversized => "oversized",
            Variety::FutureTimestamp => "future_timestamp",
            Variety::WrongUnit => "wrong_unit",
            Variety::MissingField => "missing_field",
            Variety::BadTimestamp => "bad_timestamp",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Variety> {
        Variety::ALL.into_iter().find(|v| v.name() == s)
    }

    /// The reason the gateway should give when it refuses this message.
    pub fn expected_reason(self) -> &'static str {
        match self {
            Variety::BadJson | Variety::WrongTypes | Variety::NanLiteral => "malformed",
            Variety::NegativeCounts | Variety::WrongUnit => "out_of_range",
            Variety::UnknownDevice => "unknown_device",
            Variety::Oversized => "oversized",
            Variety::FutureTimestamp => "clock_skew",
            Variety::MissingField => "missing_field",
            Variety::BadTimestamp => "bad_timestamp",
        }
    }

    /// Kinds of device whose topic carries it, in order of preference.
    fn kinds(self) -> &'static [DeviceKind] {
        use DeviceKind::*;
        match self {
            Variety::WrongTypes | Variety::NegativeCounts => &[Footfall],
            Variety::NanLiteral | Variety::WrongUnit => &[Air, Energy],
            Variety::FutureTimestamp | Variety::MissingField | Variety::BadTimestamp => {
                &[Air, Energy, Fire]
            }
            Variety::BadJson | Variety::Oversized => &[Air, Energy, Fire, Footfall, Parking],
            Variety::UnknownDevice => &[],
        }
    }
}

/// One injected message.
#[derive(Debug, Clone, PartialEq)]
pub struct Injected {
    /// Its variety.
    pub variety: Variety,
    /// Topic it was sent on.
    pub topic: String,
    /// Exact bytes sent.
    pub payload: Vec<u8>,
}

/// Chooses a device of `d` for `v` (a made-up id for `UnknownDevice`) and builds the message.
/// `ts` and `ts_next_day` are the current time and a day later as devices write them. None when
/// the district has no device to carry it.
pub(crate) fn build(
    v: Variety,
    d: &District,
    ts: &str,
    ts_next_day: &str,
    rng: &mut SimRng,
) -> Option<Injected> {
    let (kind, device) = match v {
        Variety::UnknownDevice => {
            let mut n = random::index(rng, 1000);
            let id = loop {
                let id = format!("ghost-{n:03}");
                if d.device(&id).is_none() {
                    break id;
                }
                n += 1;
            };
            (DeviceKind::Footfall, id)
        }
        _ => {
            let kind = *v
                .kinds()
                .iter()
                .find(|k| d.devices.iter().any(|x| fits(v, **k, &x.role)))?;
            let candidates: Vec<&str> = d
                .devices
                .iter()
                .filter(|x| fits(v, kind, &x.role))
                .map(|x| x.id.as_str())
                .collect();
            (
                kind,
                candidates[random::index(rng, candidates.len())].to_string(),
            )
        }
    };
    let body: &str = match (v, kind) {
        (Variety::BadJson, _) => {
            return Some(raw(
                v,
                d,
                kind,
                &device,
                format!("{{\"ts\":\"{ts}\",\"pm25\":3"),
            ))
        }
        (Variety::WrongTypes, _) => r#""in":"3","out":"1""#,
        (Variety::NanLiteral, DeviceKind::Air) => r#""pm25":NaN,"pm10":40"#,
        (Variety::NanLiteral, _) => r#""kwh":NaN,"kw":12.5"#,
        (Variety::NegativeCounts, _) => r#""in":-3,"out":2"#,
        (Variety::UnknownDevice, _) => r#""in":0,"out":0"#,
        (Variety::WrongUnit, DeviceKind::Air) => r#""co":600"#,
        (Variety::WrongUnit, _) => r#""kwh":120000.0,"kw":250000"#,
        (Variety::MissingField, _) => {
            return Some(raw(
                v,
                d,
                kind,
                &device,
                format!("{{{}}}", valid_body(kind)),
            ));
        }
        (Variety::BadTimestamp, _) => {
            let naive = ts.get(..19).unwrap_or(ts);
            return Some(raw(
                v,
                d,
                kind,
                &device,
                format!("{{\"ts\":\"{naive}\",{}}}", valid_body(kind)),
            ));
        }
        (Variety::FutureTimestamp, _) => {
            return Some(raw(
                v,
                d,
                kind,
                &device,
                format!("{{\"ts\":\"{ts_next_day}\",{}}}", valid_body(kind)),
            ));
        }
        (Variety::Oversized, _) => {
            let pad = "x".repeat(2 * MAX_READING_BYTES);
            return Some(raw(
                v,
                d,
                kind,
                &device,
                format!(
                    "{{\"ts\":\"{ts}\",{},\"note\":\"{pad}\"}}",
                    valid_body(kind)
                ),
            ));
        }
    };
    Some(Injected {
        variety: v,
        topic: topic::sensor(&d.id, kind, &device),
        payload: payload::reading(ts, None, body.as_bytes()),
    })
}

fn raw(v: Variety, d: &District, kind: DeviceKind, device: &str, text: String) -> Injected {
    Injected {
        variety: v,
        topic: topic::sensor(&d.id, kind, device),
        payload: text.into_bytes(),
    }
}

/// Whether a device of role `role` is a carrier of `v` on kind `kind`.
fn fits(v: Variety, kind: DeviceKind, role: &Role) -> bool {
    match (kind, role) {
        (DeviceKind::Footfall, Role::FootfallLine { .. }) => true,
        (DeviceKind::Footfall, Role::FootfallArea { .. }) => {
            !matches!(v, Variety::WrongTypes | Variety::NegativeCounts)
        }
        (DeviceKind::Parking, Role::Bay { .. } | Role::Entrance { .. }) => true,
        (DeviceKind::Air, Role::Air { .. }) => true,
        (DeviceKind::Energy, Role::Energy { .. }) => true,
        (DeviceKind::Fire, Role::Fire { .. }) => true,
        _ => false,
    }
}

/// A harmless valid body for a kind.
fn valid_body(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Footfall => r#""in":0,"out":0"#,
        DeviceKind::Parking => r#""entries":0,"exits":0"#,
        DeviceKind::Air => r#""pm25":35.0,"temp":18.5"#,
        DeviceKind::Energy => r#""kwh":1000.0,"kw":10.0"#,
        DeviceKind::Fire => r#""state":"normal""#,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use district::contract::reading::decode;
    use district::contract::topic::Topic;

    #[test]
    fn every_variety_gets_the_reason_the_gateway_will_give() {
        let d = crate::testing::small();
        let mut rng = random::rng(1, 0, random::Stream::Malformed);
        let ts = "2026-11-23T09:30:00.000+08:00";
        let next = "2026-11-24T09:30:00.000+08:00";
        for v in Variety::ALL {
            let m = build(v, &d, ts, next, &mut rng).unwrap_or_else(|| panic!("{v:?}"));
            let Some(Topic::Sensor {
                kind: Some(kind),
                device,
                ..
            }) = Topic::parse(&m.topic)
            else {
                panic!("{v:?}: topic {}", m.topic)
            };
            let got = decode(kind, &m.payload);
            match v.expected_reason() {
                "unknown_device" => {
                    assert!(got.is_ok(), "{v:?}: {got:?}");
                    assert!(d.device(device).is_none());
                }
                "clock_skew" => {
                    let r = got.unwrap_or_else(|e| panic!("{v:?}: {e}"));
                    assert_eq!(
                        r.ts_ms - 86_400_000,
                        district::contract::time::parse_text(ts).unwrap()
                    );
                    assert!(d.device(device).is_some());
                }
                reason => {
                    let e = got.expect_err(v.name());
                    assert_eq!(e.reason(), reason, "{v:?}: {e}");
                    assert!(d.device(device).is_some(), "{v:?} goes to a real device");
                }
            }
            if v == Variety::Oversized {
                assert!(m.payload.len() > MAX_READING_BYTES && m.payload.len() < 64 * 1024);
            }
            assert_eq!(Variety::parse(v.name()), Some(v));
        }
    }
}
