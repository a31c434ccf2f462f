//! What a device may publish on the device port besides readings.
//!
//! A device often publishes more than readings: a people counter its health
//! (`district/{d}/vision/{device}/health`), the simulator its ground truth
//! (`district/{d}/sim/truth`). Such messages are relayed to the broker, where their
//! subscribers are. The topics the gateway itself publishes (live state, signs, alerts, dead
//! letters, its status) are refused from devices: nothing on the device port can forge them.

use rumqttc::{AsyncClient, QoS};

/// Where a device's message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A reading (or something admission refuses with its reason: a topic outside the
    /// scheme is `bad_topic`).
    Reading,
    /// Passed on to the broker as it is.
    Relay,
    /// A topic only the gateway publishes: refused as `forbidden_topic`.
    Forbidden,
}

/// Second segments of `district/{d}/…` that only the gateway publishes.
const GATEWAY_OWNED: [&str; 5] = ["live", "signs", "alerts", "deadletter", "gateway"];

/// Routes one topic.
pub fn route(topic: &str) -> Route {
    let mut parts = topic.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("district"), Some(d), Some(segment)) if !d.is_empty() && segment != "sensors" => {
            if GATEWAY_OWNED.contains(&segment) {
                Route::Forbidden
            } else {
                Route::Relay
            }
        }
        _ => Route::Reading,
    }
}

/// Hands a relayed message to the gateway's relay session without waiting; `false` when its
/// queue is full (the device is then not acknowledged, and resends).
pub fn relay(client: &AsyncClient, topic: &str, qos: QoS, retain: bool, payload: &[u8]) -> bool {
    client
        .try_publish(topic, qos, retain, payload.to_vec())
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_relays_and_forbidden_topics() {
        assert_eq!(route("district/hubin/sensors/air/aq-1"), Route::Reading);
        assert_eq!(route("district/hubin/sensors"), Route::Reading);
        assert_eq!(route("weather/now"), Route::Reading);
        assert_eq!(route("district/hubin/vision/fc-1/health"), Route::Relay);
        assert_eq!(route("district/hubin/sim/truth"), Route::Relay);
        for t in [
            "district/hubin/live/zones/west",
            "district/hubin/signs/s-1",
            "district/hubin/alerts/active",
            "district/hubin/alerts",
            "district/hubin/deadletter",
            "district/hubin/gateway/status",
        ] {
            assert_eq!(route(t), Route::Forbidden, "{t}");
        }
    }
}
