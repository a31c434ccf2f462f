//! MQTT I/O: one rumqttc client, its event loop polled in its own task, reconnection with
//! backoff, and a flush that waits for the broker's acknowledgements before disconnecting.
//!
//! - Client options: clean session, keep-alive 30 s, maximum packet size 256 KiB both ways (so
//!   the `oversized` malformed variety, above the gateway's 4 KiB reading limit, reaches the
//!   broker), 1,000 QoS 1 messages in flight, a request channel of 10,000 messages.
//! - rumqttc reconnects as soon as it is polled again after an error; the task waits between
//!   attempts instead, 100 ms doubling to 5 s, reset by a successful connection.
//! - With a clean session, messages in flight or queued when the connection drops are lost
//!   (rumqttc clears them on the new session); [`Link::close`] reports how many were
//!   acknowledged, so a loss shows in the run's summary.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use district::backoff::Backoff;
use rumqttc::{
    AsyncClient, ClientError, ConnectionError, Event, EventLoop, MqttOptions, Packet, QoS, Request,
};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Largest packet the client sends or accepts.
pub const MAX_PACKET_BYTES: usize = 256 * 1024;
/// QoS 1 messages in flight at once.
pub const INFLIGHT: u16 = 1000;
/// Messages queued between the simulator and the event loop.
pub const REQUEST_CHANNEL: usize = 10_000;
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// `--broker` is not `HOST:PORT`.
    #[error("broker address \"{0}\" is not HOST:PORT (e.g. 127.0.0.1:1883)")]
    BadAddress(String),
    /// The event loop task has ended.
    #[error("the MQTT event loop has stopped: {0}")]
    Closed(#[from] ClientError),
    /// `--cafile`, `--cert`, `--key` or `--password-file` unusable.
    #[error("{0}")]
    Security(#[from] district::client::ClientError),
}

/// Splits `HOST:PORT` (IPv6 hosts in brackets: `[::1]:1883`).
pub fn parse_broker(s: &str) -> Result<(String, u16), PublishError> {
    let bad = || PublishError::BadAddress(s.to_string());
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

#[derive(Debug, Default)]
struct Stats {
    written: AtomicU64,
    acked: AtomicU64,
    connects: AtomicU64,
    errors: AtomicU64,
    stop: AtomicBool,
}

/// What reached the broker by the end of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Publishes written to the connection.
    pub written: u64,
    /// QoS 1 publishes acknowledged by the broker.
    pub acked: u64,
    /// Successful connections (1 when it never dropped).
    pub connects: u64,
    /// Connection errors.
    pub errors: u64,
    /// Whether everything handed over was written and every QoS 1 message acknowledged.
    pub complete: bool,
}

/// A connection to the broker.
pub struct Link {
    client: AsyncClient,
    stats: Arc<Stats>,
    task: JoinHandle<()>,
}

impl Link {
    /// Starts the client and its event loop task (the connection itself is made, and retried,
    /// by the task).
    pub fn connect(broker: &str, client_id: &str) -> Result<Link, PublishError> {
        Link::connect_with(broker, client_id, &Default::default())
    }

    /// The same with TLS and credentials (`--cafile`, `--cert`, `--key`, `--username`,
    /// `--password-file`).
    pub fn connect_with(
        broker: &str,
        client_id: &str,
        security: &district::client::ClientSecurity,
    ) -> Result<Link, PublishError> {
        let (host, port) = parse_broker(broker)?;
        let mut o = MqttOptions::new(client_id, host, port);
        security.apply(&mut o)?;
        o.set_keep_alive(Duration::from_secs(30))
            .set_clean_session(true)
            .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES)
            .set_inflight(INFLIGHT);
        let (client, eventloop) = AsyncClient::new(o, REQUEST_CHANNEL);
        let stats = Arc::new(Stats::default());
        let task = tokio::spawn(drive(eventloop, stats.clone()));
        Ok(Link {
            client,
            stats,
            task,
        })
    }

    /// Hands one message to the client, waiting while its queue is full.
    pub async fn publish(
        &self,
        topic: String,
        qos: QoS,
        retain: bool,
        payload: Vec<u8>,
    ) -> Result<(), PublishError> {
        match self.client.try_publish(topic, qos, retain, payload) {
            Ok(()) => Ok(()),
            Err(ClientError::TryRequest(Request::Publish(p))) => Ok(self
                .client
                .publish_bytes(p.topic, qos, retain, p.payload)
                .await?),
            Err(e) => Err(e.into()),
        }
    }

    /// QoS 1 publishes acknowledged so far.
    pub fn acked(&self) -> u64 {
        self.stats.acked.load(Ordering::Relaxed)
    }

    /// Waits (up to `timeout`) until `handed` publishes have been written and `qos1` of them
    /// acknowledged, then disconnects.
    pub async fn close(self, handed: u64, qos1: u64, timeout: Duration) -> Delivery {
        let deadline = Instant::now() + timeout;
        let done = |s: &Stats| {
            s.written.load(Ordering::Relaxed) >= handed && s.acked.load(Ordering::Relaxed) >= qos1
        };
        while !done(&self.stats) && Instant::now() < deadline && !self.task.is_finished() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let complete = done(&self.stats);
        self.stats.stop.store(true, Ordering::Relaxed);
        let _ = self.client.try_disconnect();
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(2), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
        Delivery {
            written: self.stats.written.load(Ordering::Relaxed),
            acked: self.stats.acked.load(Ordering::Relaxed),
            connects: self.stats.connects.load(Ordering::Relaxed),
            errors: self.stats.errors.load(Ordering::Relaxed),
            complete,
        }
    }
}

/// Polls the event loop until disconnected, counting writes and acknowledgements.
async fn drive(mut eventloop: EventLoop, stats: Arc<Stats>) {
    let mut backoff = Backoff::new(BACKOFF_MIN, BACKOFF_MAX, None);
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                stats.connects.fetch_add(1, Ordering::Relaxed);
                backoff.reset();
                tracing::info!("connected to the MQTT broker");
            }
            Ok(Event::Incoming(Packet::PubAck(_))) => {
                stats.acked.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Publish(_))) => {
                stats.written.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
            Ok(_) => {}
            Err(ConnectionError::RequestsDone) => break,
            Err(e) => {
                if stats.stop.load(Ordering::Relaxed) {
                    break;
                }
                stats.errors.fetch_add(1, Ordering::Relaxed);
                let wait = backoff.next_delay();
                tracing::warn!(error = %e, retry_in = ?wait, "MQTT connection failed");
                tokio::time::sleep(wait).await;
            }
        }
    }
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
        assert_eq!(
            parse_broker("mqtt.local:8883").unwrap(),
            ("mqtt.local".into(), 8883)
        );
        assert_eq!(parse_broker("[::1]:1883").unwrap(), ("::1".into(), 1883));
        for bad in ["localhost", ":1883", "host:0", "host:port", "host:70000"] {
            assert!(parse_broker(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_broker_is_retried_with_backoff_not_in_a_flood() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let link = Link::connect(&format!("127.0.0.1:{port}"), "backoff-test").unwrap();
        link.publish("t".into(), QoS::AtLeastOnce, false, b"x".to_vec())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let errors = link.stats.errors.load(Ordering::Relaxed);
        // Waits of 50–100, 100–200, 200–400 and 400–800 ms: at most 5 attempts in the
        // second, not hundreds.
        assert!((2..=5).contains(&errors), "{errors} attempts in a second");
        let d = link.close(1, 1, Duration::from_millis(50)).await;
        assert!(!d.complete && d.acked == 0 && d.connects == 0, "{d:?}");
    }
}
