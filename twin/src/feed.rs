//! The MQTT side of the live feed, on its own thread: subscribes to the gateway's retained live
//! topics and alerts, decodes each payload off the render thread, and leaves it in the
//! [`Inbox`] that the Bevy side drains once a frame.
//!
//! The inbox keeps only the latest message per topic (plus the last alert transitions), so it is
//! bounded by the district's size whatever the message rate, and a slow renderer (software
//! Vulkan draws a 4K frame in seconds) never backs up the broker. Reconnects back off from
//! 0.5 s to 10 s (rumqttc alone retries at once, flooding the broker) and resubscribe.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use district::backoff::Backoff;
use district::contract::alert::{ActiveAlerts, AlertMsg};
use district::contract::live::{
    AirLive, BaysLive, EnergyLive, GatewayStatus, LotLive, Summary, ZoneLive,
};
use district::contract::topic::{self, Topic};
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

/// One decoded message.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// `live/zones/{zone}`.
    Zone(ZoneLive),
    /// `live/lots/{lot}`.
    Lot(LotLive),
    /// `live/bays/{lot}`.
    Bays(BaysLive),
    /// `live/air/{device}`.
    Air(AirLive),
    /// `live/energy/{building}`.
    Energy(EnergyLive),
    /// `live/summary`.
    Summary(Summary),
    /// `alerts/active`.
    Active(ActiveAlerts),
    /// `gateway/status`.
    Status(GatewayStatus),
}

/// Decodes a message of the district's topics; `Err` says why not (counted, never fatal).
pub fn decode(topic_name: &str, payload: &[u8]) -> Result<Option<Decoded>, String> {
    let Some(t) = Topic::parse(topic_name) else {
        return Ok(None);
    };
    fn j<T: serde::de::DeserializeOwned>(p: &[u8]) -> Result<T, String> {
        serde_json::from_slice(p).map_err(|e| e.to_string())
    }
    Ok(Some(match t {
        Topic::LiveZone { .. } => Decoded::Latest(Msg::Zone(j(payload)?)),
        Topic::LiveLot { .. } => Decoded::Latest(Msg::Lot(j(payload)?)),
        Topic::LiveBays { .. } => Decoded::Latest(Msg::Bays(j(payload)?)),
        Topic::LiveAir { .. } => Decoded::Latest(Msg::Air(j(payload)?)),
        Topic::LiveEnergy { .. } => Decoded::Latest(Msg::Energy(j(payload)?)),
        Topic::Summary { .. } => Decoded::Latest(Msg::Summary(j(payload)?)),
        Topic::AlertsActive { .. } => Decoded::Latest(Msg::Active(j(payload)?)),
        Topic::GatewayStatus { .. } => Decoded::Latest(Msg::Status(j(payload)?)),
        Topic::Alerts { .. } => Decoded::Transition(j(payload)?),
        _ => return Ok(None),
    }))
}

/// What a decoded message is for.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// State: only the latest per topic matters.
    Latest(Msg),
    /// An alert transition: each one is kept (the last [`TRANSITIONS_KEPT`]).
    Transition(AlertMsg),
}

/// Alert transitions kept between two drains.
pub const TRANSITIONS_KEPT: usize = 64;

/// Messages waiting for the next frame, and the state of the connection.
#[derive(Debug, Default)]
pub struct Inbox {
    /// Latest state message per topic since the last drain.
    pub latest: HashMap<String, Msg>,
    /// Alert transitions since the last drain (oldest dropped beyond [`TRANSITIONS_KEPT`]).
    pub transitions: VecDeque<AlertMsg>,
    /// Whether the MQTT session is up.
    pub connected: bool,
    /// When `connected` last changed.
    pub since: Option<Instant>,
    /// When the last message arrived.
    pub last_message: Option<Instant>,
    /// Messages received.
    pub received: u64,
    /// Messages that did not decode.
    pub rejected: u64,
    /// Transitions dropped because the renderer did not drain in time.
    pub dropped_transitions: u64,
    /// Connection attempts that failed.
    pub reconnects: u64,
    /// Last connection error.
    pub last_error: Option<String>,
}

impl Inbox {
    /// Files one message.
    pub fn put(&mut self, topic_name: &str, payload: &[u8]) {
        self.received += 1;
        self.last_message = Some(Instant::now());
        match decode(topic_name, payload) {
            Ok(Some(Decoded::Latest(m))) => {
                self.latest.insert(topic_name.to_string(), m);
            }
            Ok(Some(Decoded::Transition(a))) => {
                if self.transitions.len() >= TRANSITIONS_KEPT {
                    self.transitions.pop_front();
                    self.dropped_transitions += 1;
                }
                self.transitions.push_back(a);
            }
            Ok(None) => {}
            Err(e) => {
                self.rejected += 1;
                self.last_error = Some(format!("{topic_name}: {e}"));
            }
        }
    }

    /// Marks the connection up or down.
    pub fn set_connected(&mut self, up: bool) {
        if self.connected != up || self.since.is_none() {
            self.connected = up;
            self.since = Some(Instant::now());
        }
    }
}

/// The inbox shared by the feed thread and the renderer.
pub type SharedInbox = Arc<Mutex<Inbox>>;

/// The topics the twin subscribes to.
pub fn subscriptions(d: &str) -> Vec<String> {
    vec![
        format!("{}/{d}/live/#", topic::ROOT),
        topic::alerts(d),
        topic::alerts_active(d),
        topic::gateway_status(d),
    ]
}

/// Starts the MQTT thread for one district on `broker` (`HOST:PORT`).
/// `security`: TLS and credentials (`--cafile`, `--cert`, `--key`, `--username`,
/// `--password-file`), read now.
pub fn spawn_mqtt(
    broker: &str,
    security: &district::client::ClientSecurity,
    district_id: &str,
    inbox: SharedInbox,
) -> anyhow::Result<()> {
    let (host, port) = broker
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| anyhow::anyhow!("--broker \"{broker}\" is not HOST:PORT"))?;
    let topics = subscriptions(district_id);
    let client_id = security.client_id(&format!("twin-{}-{}", district_id, std::process::id()));
    let mut opts = MqttOptions::new(client_id, host, port);
    security.apply(&mut opts)?;
    std::thread::Builder::new()
        .name("twin-mqtt".into())
        .spawn(move || {
            opts.set_keep_alive(Duration::from_secs(15))
                .set_clean_session(true)
                .set_max_packet_size(4 << 20, 64 << 10);
            let (client, mut conn) = Client::new(opts, 64);
            let mut backoff =
                Backoff::new(Duration::from_millis(500), Duration::from_secs(10), None);
            for ev in conn.iter() {
                match ev {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        backoff.reset();
                        for t in &topics {
                            let _ = client.try_subscribe(t.clone(), QoS::AtLeastOnce);
                        }
                        inbox.lock().unwrap().set_connected(true);
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        inbox.lock().unwrap().put(&p.topic, &p.payload);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        {
                            let mut i = inbox.lock().unwrap();
                            i.set_connected(false);
                            i.reconnects += 1;
                            i.last_error = Some(e.to_string());
                        }
                        std::thread::sleep(backoff.next_delay());
                    }
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_each_topic_and_rejects_garbage() {
        let z = r#"{"zone":"z","ts":"2026-11-21T01:00:00Z","people":10,"density":0.5,"level":"busy","in_per_min":1,"out_per_min":0,"capacity":100,"area_m2":20.0,"visits_today":5,"stale":false}"#;
        match decode("district/d/live/zones/z", z.as_bytes()) {
            Ok(Some(Decoded::Latest(Msg::Zone(zl)))) => assert_eq!(zl.people, 10),
            other => panic!("{other:?}"),
        }
        assert!(decode("district/d/live/zones/z", b"{nope").is_err());
        assert_eq!(decode("elsewhere/x", b"{}"), Ok(None));
        assert_eq!(decode("district/d/sensors/air/aq-1", b"{}"), Ok(None));
    }

    #[test]
    fn inbox_keeps_the_latest_per_topic_and_bounds_transitions() {
        let mut i = Inbox::default();
        let b = |s: &str| format!(r#"{{"lot":"p","ts":"t","states":"{s}"}}"#);
        i.put("district/d/live/bays/p", b("FF").as_bytes());
        i.put("district/d/live/bays/p", b("FO").as_bytes());
        assert_eq!(i.latest.len(), 1);
        assert!(matches!(&i.latest["district/d/live/bays/p"], Msg::Bays(x) if x.states == "FO"));
        let a = r#"{"id":"a","rule":"fire","subject":"b1","category":"fire","sub_category":"buildingFire","severity":"critical","state":"raised","transition":"raised","escalation":0,"text":"t","context":{},"raised_at":"t","ts":"t"}"#;
        for _ in 0..TRANSITIONS_KEPT + 5 {
            i.put("district/d/alerts", a.as_bytes());
        }
        assert_eq!(i.transitions.len(), TRANSITIONS_KEPT);
        assert_eq!(i.dropped_transitions, 5);
        i.put("district/d/live/summary", b"garbage");
        assert_eq!(i.rejected, 1);
        assert_eq!(i.received, 2 + TRANSITIONS_KEPT as u64 + 5 + 1);
    }

    #[test]
    fn subscribes_to_live_alerts_and_status_of_its_district_only() {
        let s = subscriptions("hubin");
        assert!(s.contains(&"district/hubin/live/#".to_string()));
        assert!(s.contains(&"district/hubin/alerts/active".to_string()));
        assert!(s.iter().all(|t| t.starts_with("district/hubin/")));
    }
}
