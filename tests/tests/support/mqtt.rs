//! MQTT peers for the tests: the gateway's embedded rumqttd alone, a subscriber that keeps
//! every message, Debian's mosquitto as the external broker, a QoS 1 publisher.

use super::*;

/// Debian's `mosquitto` as the external broker, on a loopback port with a temporary folder:
/// persistence on, `max_queued_messages 0` (it never drops a queued QoS 1 message for a
/// subscriber that falls behind), a high `max_inflight_messages`.
pub struct Mosquitto {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    pub fn start() -> Mosquitto {
        let bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("mosquitto not found: apt-get install mosquitto");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n\
                 persistence_location {}/\nmax_queued_messages 0\nmax_inflight_messages 10000\n\
                 persistent_client_expiration 1d\nlog_dest file {}/mosquitto.log\n",
                dir.path().display(),
                dir.path().display()
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        wait_for(Duration::from_secs(20), "mosquitto to listen", || {
            TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
        });
        Mosquitto {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A device-like MQTT client publishing at QoS 1 through rumqttc, counting the broker's
/// PUBACKs. It connects as the test bridge ([`super::identities::BRIDGE`]), its client id
/// `test-bridge-{client_id}`.
pub struct Publisher {
    pub client: rumqttc::AsyncClient,
    acked: std::sync::Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Publisher {
    /// Connects as `client_id` to the broker on `port` (clean session, reconnecting after a
    /// short pause if the connection drops).
    pub fn connect(port: u16, client_id: &str) -> Publisher {
        Self::start(port, client_id, true)
    }

    /// As [`Publisher::connect`] with a persistent session: after a reconnect to a server
    /// that kept the session, every message not yet acknowledged is sent again.
    pub fn connect_persistent(port: u16, client_id: &str) -> Publisher {
        Self::start(port, client_id, false)
    }

    fn start(port: u16, client_id: &str, clean: bool) -> Publisher {
        let mut opts =
            super::identities::options(super::identities::BRIDGE, client_id, "127.0.0.1", port);
        opts.set_clean_session(clean);
        opts.set_max_packet_size(1 << 16, 1 << 16);
        opts.set_inflight(500);
        let (client, mut el) = rumqttc::AsyncClient::new(opts, 2_000);
        let acked = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = acked.clone();
        let task = tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => {
                        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        Publisher {
            client,
            acked,
            task,
        }
    }

    /// PUBACKs received so far.
    pub fn acked(&self) -> u64 {
        self.acked.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Publishes one message at QoS 1 (waits while the client's queue is full).
    pub async fn publish(&self, topic: &str, payload: String) {
        self.client
            .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
    }

    /// Waits until the broker has acknowledged `n` messages.
    pub async fn wait_acked(&self, n: u64, limit: Duration) {
        wait_for_async(limit, &format!("{n} PUBACKs"), || {
            (self.acked() >= n).then_some(())
        })
        .await;
    }

    /// Disconnects and stops the event loop.
    pub async fn close(self) {
        let _ = self.client.disconnect().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.task.abort();
    }
}

/// The gateway's embedded rumqttd alone, on a free loopback port, accepting packets up to
/// `max_packet_bytes`.
pub fn start_broker(max_packet_bytes: usize) -> std::net::SocketAddr {
    let cfg = gateway::config::BrokerConfig {
        listen: format!("127.0.0.1:{}", free_port()).parse().unwrap(),
        max_packet_bytes,
        ..Default::default()
    };
    gateway::broker::start_embedded(&cfg, None)
        .expect("embedded broker")
        .addr
}

/// Every message a [`subscribe`]r got: (topic, payload, retained).
pub type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>, bool)>>>;

/// A QoS 1 subscriber to `filter` on the broker at `addr` as the test reader
/// ([`super::identities::READER`], client id `test-reader-{client_id}`), keeping every
/// message; returns once the subscription is acknowledged.
pub async fn subscribe(addr: std::net::SocketAddr, client_id: &str, filter: &str) -> Received {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let mut o = super::identities::options(
        super::identities::READER,
        client_id,
        &addr.ip().to_string(),
        addr.port(),
    );
    o.set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(256 * 1024, 256 * 1024);
    let (client, mut eventloop) = AsyncClient::new(o, 100);
    client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    let received: Received = Default::default();
    let (ready_tx, ready) = tokio::sync::oneshot::channel();
    let sink = received.clone();
    tokio::spawn(async move {
        let _client = client;
        let mut ready_tx = Some(ready_tx);
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    sink.lock()
                        .unwrap()
                        .push((p.topic, p.payload.to_vec(), p.retain))
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    ready_tx.take().map(|t| t.send(()));
                }
                Ok(_) => {}
                Err(e) => panic!("subscriber: {e}"),
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), ready)
        .await
        .unwrap()
        .unwrap();
    received
}
