//! The MQTT side of the counter: one rumqttc client on its own thread (a single-threaded tokio
//! runtime), driven by the [`Ledger`].
//!
//! - The video thread hands over [`Update`]s through a bounded channel with `try_send`; it never
//!   waits. When the channel is full it keeps the counts and adds them to its next update
//!   (counts are merged by summing, never dropped); health snapshots may be skipped.
//! - Every `interval` the pending counts become one QoS 1 reading on
//!   `district/{d}/sensors/footfall/{device}`; one reading is in flight at a time, and after a
//!   reconnect it is sent again with the same `seq` and `ts` (see [`crate::ledger`]).
//! - Health goes out retained (QoS 0) on `district/{d}/vision/{device}/health` every
//!   `health_interval`; the last will (retained) says `offline` if the process dies.
//! - The event loop reconnects with backoff: 100 ms doubling to 5 s, reset by a CONNACK
//!   (rumqttc itself would retry at once, in a loop).
//! - When the video thread ends, the pending counts are published and their acknowledgement
//!   awaited (up to `flush_timeout`), then `offline` is published and the client disconnects.

use std::time::Duration;

use district::backoff::Backoff;
use district::clock::Clock;
use district::contract::topic;
use district::DeviceKind;
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Outgoing, Packet, QoS};
use tokio::sync::mpsc;

use crate::config::Tz;
use crate::health::{Health, StreamState};
use crate::ledger::Ledger;

/// What the video thread sends.
#[derive(Debug, Clone)]
pub enum Update {
    /// Crossings counted since the previous update.
    Counts {
        /// In.
        ins: u64,
        /// Out.
        outs: u64,
    },
    /// The latest health.
    Health(Box<Health>),
}

/// Capacity of the channel from the video thread.
pub const CHANNEL: usize = 256;
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// `district/{d}/vision/{device}/health` (proposed addition to the contract).
pub fn health_topic(district: &str, device: &str) -> String {
    format!("{}/{district}/vision/{device}/health", topic::ROOT)
}

/// Publisher settings.
#[derive(Debug, Clone)]
pub struct PublisherConfig {
    /// Broker `HOST:PORT`.
    pub broker: String,
    /// TLS and credentials (`--cafile`, `--cert`, `--key`, `--username`, `--password-file`).
    pub security: district::client::ClientSecurity,
    /// MQTT client id.
    pub client_id: String,
    /// District id.
    pub district: String,
    /// Device id.
    pub device: String,
    /// Reading interval (in the clock's time).
    pub interval: Duration,
    /// Health interval (in the clock's time).
    pub health_interval: Duration,
    /// Timestamp zone.
    pub tz: Tz,
    /// The clock.
    pub clock: Clock,
    /// First `seq`.
    pub first_seq: u64,
    /// How long to wait for the last acknowledgement at shutdown.
    pub flush_timeout: Duration,
}

/// What happened over the publisher's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Readings handed to the client.
    pub readings: u64,
    /// Readings acknowledged by the broker.
    pub acked: u64,
    /// Successful connections.
    pub connects: u64,
    /// Counts still unpublished at the end (0 when everything was acknowledged).
    pub unpublished: u64,
}

enum Net {
    Connected,
    Written(u16),
    Acked(u16),
    Down(String),
}

/// Why the publisher could not start.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// `broker` is not `HOST:PORT`.
    #[error("broker address \"{0}\" is not HOST:PORT (e.g. 127.0.0.1:1883)")]
    BadAddress(String),
    /// The runtime could not start.
    #[error("starting the publisher: {0}")]
    Runtime(#[from] std::io::Error),
    /// A TLS or password file is unusable.
    #[error("{0}")]
    Security(#[from] district::client::ClientError),
}

fn parse_broker(s: &str) -> Result<(String, u16), PublishError> {
    let bad = || PublishError::BadAddress(s.to_string());
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// Starts the publisher thread; it runs until every sender of `rx` is dropped and the last
/// counts are flushed.
pub fn spawn(
    cfg: PublisherConfig,
    rx: mpsc::Receiver<Update>,
) -> Result<std::thread::JoinHandle<Summary>, PublishError> {
    let (host, port) = parse_broker(&cfg.broker)?;
    // Read the files now, so that a bad one is an error of the start.
    cfg.security
        .apply(&mut rumqttc::MqttOptions::new("check", &host, port))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(std::thread::Builder::new()
        .name("mqtt-publisher".into())
        .spawn(move || rt.block_on(run(cfg, host, port, rx)))?)
}

async fn run(
    cfg: PublisherConfig,
    host: String,
    port: u16,
    mut rx: mpsc::Receiver<Update>,
) -> Summary {
    let readings = topic::sensor(&cfg.district, DeviceKind::Footfall, &cfg.device);
    let health_t = health_topic(&cfg.district, &cfg.device);
    let offline = |h: Option<&Health>| -> Vec<u8> {
        let mut v = serde_json::json!({"device": cfg.device, "state": StreamState::Offline});
        if let Some(h) = h {
            v["in_total"] = h.in_total.into();
            v["out_total"] = h.out_total.into();
            v["frames"] = h.frames.into();
        }
        v["ts"] = cfg.tz.format(cfg.clock.now_ms()).into();
        serde_json::to_vec(&v).unwrap_or_default()
    };
    let mut o = MqttOptions::new(&cfg.client_id, host, port);
    o.set_keep_alive(Duration::from_secs(30))
        .set_clean_session(true)
        .set_inflight(10)
        .set_last_will(LastWill::new(
            &health_t,
            offline(None),
            QoS::AtLeastOnce,
            true,
        ));
    if let Err(e) = cfg.security.apply(&mut o) {
        tracing::error!(error = %e, "MQTT TLS or credentials");
    }
    let (client, mut eventloop) = AsyncClient::new(o, 64);
    let (net_tx, mut net) = mpsc::channel::<Net>(256);
    let driver = tokio::spawn(async move {
        let mut backoff = Backoff::new(BACKOFF_MIN, BACKOFF_MAX, None);
        loop {
            let msg = match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff.reset();
                    Net::Connected
                }
                Ok(Event::Incoming(Packet::PubAck(a))) => Net::Acked(a.pkid),
                Ok(Event::Outgoing(Outgoing::Publish(pkid))) if pkid != 0 => Net::Written(pkid),
                // Polling on would reconnect, and a later drop of that connection would make
                // the broker publish the last will over the final health message.
                Ok(Event::Outgoing(Outgoing::Disconnect)) => break,
                Ok(_) => continue,
                Err(e) => {
                    let _ = net_tx.send(Net::Down(e.to_string())).await;
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
            };
            if net_tx.send(msg).await.is_err() {
                break;
            }
        }
    });

    let speed = cfg.clock.speed().max(1e-6);
    let wall = |d: Duration| Duration::from_secs_f64((d.as_secs_f64() / speed).max(0.001));
    let mut tick = tokio::time::interval(wall(cfg.interval));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick fires at once; readings start one interval later
    let mut health_tick = tokio::time::interval(wall(cfg.health_interval));
    health_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ledger = Ledger::new(cfg.first_seq);
    let mut health: Option<Health> = None;
    let mut summary = Summary::default();
    let mut connected = false;

    let publish_reading = |client: &AsyncClient, r: crate::ledger::Report| {
        let payload = r.payload(&cfg.tz.format(r.ts_ms));
        let client = client.clone();
        let topic = readings.clone();
        async move {
            client
                .publish(topic, QoS::AtLeastOnce, false, payload)
                .await
        }
    };

    loop {
        tokio::select! {
            u = rx.recv() => match u {
                Some(Update::Counts { ins, outs }) => ledger.add(ins, outs),
                Some(Update::Health(h)) => health = Some(*h),
                None => break,
            },
            _ = tick.tick() => {
                if let Some(r) = ledger.tick(cfg.clock.now_ms()) {
                    summary.readings += 1;
                    if publish_reading(&client, r).await.is_err() {
                        break;
                    }
                } else {
                    tracing::warn!(unpublished = ledger.unpublished(), "previous reading not acknowledged yet; counts carried to the next reading");
                }
            }
            _ = health_tick.tick() => {
                if let Some(h) = &mut health {
                    h.ts = cfg.tz.format(cfg.clock.now_ms());
                    h.unpublished = ledger.unpublished();
                    if let Ok(p) = serde_json::to_vec(h) {
                        let _ = client.try_publish(&health_t, QoS::AtMostOnce, true, p);
                    }
                }
            }
            n = net.recv() => match n {
                Some(Net::Connected) => {
                    connected = true;
                    summary.connects += 1;
                    tracing::info!(broker = %cfg.broker, "connected");
                    if let Some(r) = ledger.reconnected() {
                        let _ = publish_reading(&client, r).await;
                    }
                }
                Some(Net::Written(p)) => ledger.written(p),
                Some(Net::Acked(p)) => { ledger.acked(p); }
                Some(Net::Down(e)) => {
                    if connected {
                        tracing::warn!(error = %e, "broker connection lost; reconnecting with backoff");
                    } else {
                        tracing::debug!(error = %e, "broker not reachable");
                    }
                    connected = false;
                }
                None => break,
            },
        }
    }

    // Flush: the last counts, then wait for their acknowledgement.
    let deadline = tokio::time::Instant::now() + cfg.flush_timeout;
    loop {
        if !ledger.in_flight() && ledger.unpublished() > 0 {
            if let Some(r) = ledger.tick(cfg.clock.now_ms()) {
                summary.readings += 1;
                let _ = publish_reading(&client, r).await;
            }
        }
        if ledger.unpublished() == 0 && !ledger.in_flight() {
            break;
        }
        match tokio::time::timeout_at(deadline, net.recv()).await {
            Ok(Some(Net::Written(p))) => ledger.written(p),
            Ok(Some(Net::Acked(p))) => {
                ledger.acked(p);
            }
            Ok(Some(Net::Connected)) => {
                summary.connects += 1;
                if let Some(r) = ledger.reconnected() {
                    let _ = publish_reading(&client, r).await;
                }
            }
            Ok(Some(Net::Down(_))) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let _ = client
        .publish(&health_t, QoS::AtLeastOnce, true, offline(health.as_ref()))
        .await;
    // Let the offline message go out before disconnecting.
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while let Some(n) = net.recv().await {
            if matches!(n, Net::Acked(_)) {
                break;
            }
        }
    })
    .await;
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_millis(200), driver).await;
    summary.acked = ledger.stats().1;
    summary.unpublished = ledger.unpublished();
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_addresses() {
        assert_eq!(
            parse_broker("127.0.0.1:1883").unwrap(),
            ("127.0.0.1".into(), 1883)
        );
        assert_eq!(parse_broker("[::1]:1883").unwrap(), ("::1".into(), 1883));
        assert!(parse_broker("localhost").is_err());
        assert!(parse_broker(":1883").is_err());
        assert_eq!(
            health_topic("hubin", "fc-07"),
            "district/hubin/vision/fc-07/health"
        );
    }
}
