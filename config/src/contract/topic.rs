//! The topic scheme: `district/{d}/...`. Builders return owned strings; [`Topic::parse`]
//! borrows from the topic it parses.

use crate::model::DeviceKind;

/// The root of every topic.
pub const ROOT: &str = "district";

/// A parsed topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic<'a> {
    /// `district/{d}/sensors/{kind}/{device}`: one reading, device → gateway.
    Sensor {
        /// District id.
        district: &'a str,
        /// Kind segment (None when the segment is not a known kind).
        kind: Option<DeviceKind>,
        /// The raw kind segment.
        kind_segment: &'a str,
        /// Device id.
        device: &'a str,
    },
    /// `district/{d}/live/zones/{zone}`.
    LiveZone { district: &'a str, zone: &'a str },
    /// `district/{d}/live/lots/{lot}`.
    LiveLot { district: &'a str, lot: &'a str },
    /// `district/{d}/live/bays/{lot}`.
    LiveBays { district: &'a str, lot: &'a str },
    /// `district/{d}/live/air/{device}`.
    LiveAir { district: &'a str, device: &'a str },
    /// `district/{d}/live/energy/{building}`.
    LiveEnergy {
        district: &'a str,
        building: &'a str,
    },
    /// `district/{d}/live/summary`.
    Summary { district: &'a str },
    /// `district/{d}/signs/{sign}`.
    Sign { district: &'a str, sign: &'a str },
    /// `district/{d}/alerts`.
    Alerts { district: &'a str },
    /// `district/{d}/alerts/active`.
    AlertsActive { district: &'a str },
    /// `district/{d}/deadletter`.
    DeadLetter { district: &'a str },
    /// `district/{d}/gateway/status`.
    GatewayStatus { district: &'a str },
    /// `district/{d}/sim/truth`.
    SimTruth { district: &'a str },
}

impl<'a> Topic<'a> {
    /// Parses a topic of the scheme; `None` for anything else.
    pub fn parse(topic: &'a str) -> Option<Topic<'a>> {
        let mut it = topic.split('/');
        if it.next()? != ROOT {
            return None;
        }
        let district = it.next().filter(|s| !s.is_empty())?;
        let parts: Vec<&'a str> = it.collect();
        if parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        Some(match parts.as_slice() {
            ["sensors", kind, device] => Topic::Sensor {
                district,
                kind: DeviceKind::parse(kind),
                kind_segment: kind,
                device,
            },
            ["live", "zones", zone] => Topic::LiveZone { district, zone },
            ["live", "lots", lot] => Topic::LiveLot { district, lot },
            ["live", "bays", lot] => Topic::LiveBays { district, lot },
            ["live", "air", device] => Topic::LiveAir { district, device },
            ["live", "energy", building] => Topic::LiveEnergy { district, building },
            ["live", "summary"] => Topic::Summary { district },
            ["signs", sign] => Topic::Sign { district, sign },
            ["alerts"] => Topic::Alerts { district },
            ["alerts", "active"] => Topic::AlertsActive { district },
            ["deadletter"] => Topic::DeadLetter { district },
            ["gateway", "status"] => Topic::GatewayStatus { district },
            ["sim", "truth"] => Topic::SimTruth { district },
            _ => return None,
        })
    }
}

/// `district/{d}/sensors/{kind}/{device}`.
pub fn sensor(d: &str, kind: DeviceKind, device: &str) -> String {
    format!("{ROOT}/{d}/sensors/{kind}/{device}")
}
/// `district/+/sensors/#`: every reading of every district.
pub const ALL_SENSORS: &str = "district/+/sensors/#";
/// `district/{d}/sensors/#`.
pub fn sensors_of(d: &str) -> String {
    format!("{ROOT}/{d}/sensors/#")
}
/// `district/{d}/live/zones/{zone}`.
pub fn live_zone(d: &str, zone: &str) -> String {
    format!("{ROOT}/{d}/live/zones/{zone}")
}
/// `district/{d}/live/lots/{lot}`.
pub fn live_lot(d: &str, lot: &str) -> String {
    format!("{ROOT}/{d}/live/lots/{lot}")
}
/// `district/{d}/live/bays/{lot}`.
pub fn live_bays(d: &str, lot: &str) -> String {
    format!("{ROOT}/{d}/live/bays/{lot}")
}
/// `district/{d}/live/air/{device}`.
pub fn live_air(d: &str, device: &str) -> String {
    format!("{ROOT}/{d}/live/air/{device}")
}
/// `district/{d}/live/energy/{building}`.
pub fn live_energy(d: &str, building: &str) -> String {
    format!("{ROOT}/{d}/live/energy/{building}")
}
/// `district/{d}/live/summary`.
pub fn summary(d: &str) -> String {
    format!("{ROOT}/{d}/live/summary")
}
/// `district/{d}/signs/{sign}`.
pub fn sign(d: &str, sign: &str) -> String {
    format!("{ROOT}/{d}/signs/{sign}")
}
/// `district/{d}/alerts`.
pub fn alerts(d: &str) -> String {
    format!("{ROOT}/{d}/alerts")
}
/// `district/{d}/alerts/active`.
pub fn alerts_active(d: &str) -> String {
    format!("{ROOT}/{d}/alerts/active")
}
/// `district/{d}/deadletter`.
pub fn deadletter(d: &str) -> String {
    format!("{ROOT}/{d}/deadletter")
}
/// `district/{d}/gateway/status`.
pub fn gateway_status(d: &str) -> String {
    format!("{ROOT}/{d}/gateway/status")
}
/// `district/{d}/sim/truth`.
pub fn sim_truth(d: &str) -> String {
    format!("{ROOT}/{d}/sim/truth")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_and_parser_agree() {
        let t = sensor("hubin", DeviceKind::Footfall, "fc-01");
        assert_eq!(t, "district/hubin/sensors/footfall/fc-01");
        assert_eq!(
            Topic::parse(&t),
            Some(Topic::Sensor {
                district: "hubin",
                kind: Some(DeviceKind::Footfall),
                kind_segment: "footfall",
                device: "fc-01"
            })
        );
        for (t, want) in [
            (
                live_zone("d", "z"),
                Topic::LiveZone {
                    district: "d",
                    zone: "z",
                },
            ),
            (
                live_lot("d", "l"),
                Topic::LiveLot {
                    district: "d",
                    lot: "l",
                },
            ),
            (
                live_bays("d", "l"),
                Topic::LiveBays {
                    district: "d",
                    lot: "l",
                },
            ),
            (
                live_air("d", "a"),
                Topic::LiveAir {
                    district: "d",
                    device: "a",
                },
            ),
            (
                live_energy("d", "b"),
                Topic::LiveEnergy {
                    district: "d",
                    building: "b",
                },
            ),
            (summary("d"), Topic::Summary { district: "d" }),
            (
                sign("d", "s"),
                Topic::Sign {
                    district: "d",
                    sign: "s",
                },
            ),
            (alerts("d"), Topic::Alerts { district: "d" }),
            (alerts_active("d"), Topic::AlertsActive { district: "d" }),
            (deadletter("d"), Topic::DeadLetter { district: "d" }),
            (gateway_status("d"), Topic::GatewayStatus { district: "d" }),
            (sim_truth("d"), Topic::SimTruth { district: "d" }),
        ] {
            assert_eq!(Topic::parse(&t), Some(want), "{t}");
        }
    }

    #[test]
    fn foreign_and_malformed_topics_are_none() {
        for t in [
            "",
            "district",
            "district//sensors/air/x",
            "district/d/sensors/air",
            "district/d/sensors/air/x/y",
            "other/d/live/summary",
            "district/d/sensors/air/",
        ] {
            assert_eq!(Topic::parse(t), None, "{t}");
        }
        let t = Topic::parse("district/d/sensors/weather/x").unwrap();
        assert!(matches!(
            t,
            Topic::Sensor {
                kind: None,
                kind_segment: "weather",
                ..
            }
        ));
    }
}
