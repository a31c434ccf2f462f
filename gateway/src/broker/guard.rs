//! What a client of the embedded broker may send, packet by packet: the same topic rules as
//! on the device port, applied by the broker's front ([`super::front`]) before rumqttd sees
//! a packet. Pure: an identity and a packet in, a verdict out.
//!
//! - PUBLISH: the gateway's own topics under `district/{d}/` (`live`, `signs`, `alerts`,
//!   `deadletter`, `gateway`) are refused whoever asks (`forbidden_topic`): the gateway's own
//!   sessions do not come through the front. Any other topic is
//!   [`Identity::may_publish`]'s to decide (`not_your_topic`): a device publishes its own
//!   topics, a bridge its devices' and `sim/`, a reader nothing.
//! - CONNECT: its last will is a publish made later by the broker, so its topic is screened
//!   the same way.
//! - Everything else passes: SUBSCRIBE (rumqttd has no per-topic read permissions; see
//!   docs/ARCHITECTURE.md), acknowledgements, PINGREQ, DISCONNECT.

use rumqttc::mqttbytes::v4::Packet;

use crate::auth::Identity;
use crate::transport::relay::{self, Route};

/// Why a packet was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The metric's label: `forbidden_topic` or `not_your_topic`.
    pub reason: &'static str,
    /// The refused topic.
    pub topic: String,
    /// What the log says.
    pub detail: String,
}

/// Whether `who` may publish on `topic` through the front.
pub fn publish(who: &Identity, topic: &str) -> Result<(), Refused> {
    if relay::route(topic) == Route::Forbidden {
        return Err(Refused {
            reason: "forbidden_topic",
            topic: topic.to_string(),
            detail: "only the gateway publishes this topic".into(),
        });
    }
    who.may_publish(topic).map_err(|denied| Refused {
        reason: "not_your_topic",
        topic: topic.to_string(),
        detail: denied.0,
    })
}

/// Whether `packet` from `who` may go on to the broker.
pub fn screen(who: &Identity, packet: &Packet) -> Result<(), Refused> {
    match packet {
        Packet::Publish(p) => publish(who, &p.topic),
        Packet::Connect(c) => match &c.last_will {
            Some(will) => publish(who, &will.topic).map_err(|r| Refused {
                detail: format!("last will: {}", r.detail),
                ..r
            }),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use rumqttc::mqttbytes::v4::{Connect, LastWill, Publish, Subscribe};
    use rumqttc::mqttbytes::QoS;

    fn ident(id: &str, role: Role, devices: &[&str]) -> Identity {
        Identity::new(id, role, devices.iter().map(|d| d.to_string()).collect()).unwrap()
    }

    fn publish_on(topic: &str) -> Packet {
        Packet::Publish(Publish::new(topic, QoS::AtLeastOnce, b"{}".to_vec()))
    }

    fn reason(who: &Identity, packet: &Packet) -> Option<&'static str> {
        screen(who, packet).err().map(|r| r.reason)
    }

    const GATEWAY_TOPICS: [&str; 6] = [
        "district/mini/live/summary",
        "district/mini/signs/s-1",
        "district/mini/alerts/active",
        "district/mini/alerts",
        "district/mini/deadletter",
        "district/mini/gateway/status",
    ];

    #[test]
    fn nobody_publishes_the_gateways_topics_through_the_front() {
        for who in [
            ident("twin", Role::Reader, &[]),
            ident("ps-1", Role::Device, &[]),
            ident("lns", Role::Bridge, &["ps-1"]),
            ident("ops", Role::Gateway, &[]),
        ] {
            for t in GATEWAY_TOPICS {
                assert_eq!(
                    reason(&who, &publish_on(t)),
                    Some("forbidden_topic"),
                    "{} on {t}",
                    who.id
                );
            }
        }
    }

    #[test]
    fn a_reader_publishes_nothing_and_subscribes() {
        let twin = ident("twin", Role::Reader, &[]);
        for t in [
            "district/mini/sensors/parking/ps-1",
            "district/mini/vision/fc-1/health",
            "district/mini/sim/truth",
            "weather/now",
        ] {
            assert_eq!(reason(&twin, &publish_on(t)), Some("not_your_topic"), "{t}");
        }
        let sub = Packet::Subscribe(Subscribe::new("district/#", QoS::AtLeastOnce));
        assert_eq!(screen(&twin, &sub), Ok(()));
        assert_eq!(screen(&twin, &Packet::PingReq), Ok(()));
        assert_eq!(screen(&twin, &Packet::Disconnect), Ok(()));
    }

    #[test]
    fn devices_and_bridges_publish_their_own_topics_only() {
        let ps1 = ident("ps-1", Role::Device, &[]);
        assert_eq!(
            screen(&ps1, &publish_on("district/mini/sensors/parking/ps-1")),
            Ok(())
        );
        let refused = screen(&ps1, &publish_on("district/mini/sensors/parking/ps-2")).unwrap_err();
        assert_eq!(refused.reason, "not_your_topic");
        assert_eq!(refused.topic, "district/mini/sensors/parking/ps-2");
        assert!(refused.detail.contains("ps-2"), "{}", refused.detail);
        let lns = ident("lns", Role::Bridge, &["ps-1", "ps-2"]);
        for t in [
            "district/mini/sensors/parking/ps-2",
            "district/mini/vision/ps-1/health",
            "district/mini/sim/truth",
        ] {
            assert_eq!(screen(&lns, &publish_on(t)), Ok(()), "{t}");
        }
        assert_eq!(
            reason(&lns, &publish_on("district/mini/sensors/parking/ps-3")),
            Some("not_your_topic")
        );
    }

    #[test]
    fn a_last_will_is_screened_like_a_publish() {
        let twin = ident("twin", Role::Reader, &[]);
        let mut c = Connect::new("twin-1");
        assert_eq!(screen(&twin, &Packet::Connect(c.clone())), Ok(()));
        c.last_will = Some(LastWill::new(
            "district/mini/signs/s-1",
            "FULL",
            QoS::AtLeastOnce,
            true,
        ));
        let refused = screen(&twin, &Packet::Connect(c)).unwrap_err();
        assert_eq!(refused.reason, "forbidden_topic");
        assert!(
            refused.detail.starts_with("last will"),
            "{}",
            refused.detail
        );
        let mut own = Connect::new("ps-1");
        own.last_will = Some(LastWill::new(
            "district/mini/vision/ps-1/health",
            "offline",
            QoS::AtLeastOnce,
            true,
        ));
        assert_eq!(
            screen(&ident("ps-1", Role::Device, &[]), &Packet::Connect(own)),
            Ok(())
        );
    }
}
