//! rumqttd inside the gateway.
//!
//! rumqttd keeps everything in memory: retained messages and sessions last as long as the
//! process. It acknowledges a device's QoS 1 publish when the router has it, before the
//! gateway stores it, so a crash of the process can lose readings that devices saw
//! acknowledged (see the README's delivery guarantee). Its commit log is sized for the
//! gateway's load rather than rumqttd's defaults (100 MiB × 10 segments).

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

use crate::config::BrokerConfig;

/// A running embedded broker (its threads live as long as the process).
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedBroker {
    /// The MQTT listener.
    pub addr: SocketAddr,
}

/// Starts rumqttd with the gateway's broker settings and waits until it accepts connections.
pub fn start_embedded(cfg: &BrokerConfig) -> anyhow::Result<EmbeddedBroker> {
    let auth = cfg.credentials()?.map(|(u, p)| HashMap::from([(u, p)]));
    let connections = ConnectionSettings {
        connection_timeout_ms: 10_000,
        max_payload_size: cfg.max_packet_bytes,
        max_inflight_count: cfg.max_inflight as usize,
        auth,
        external_auth: None,
        dynamic_filters: true,
    };
    let server = ServerSettings {
        name: "v4-gateway".into(),
        listen: cfg.listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: cfg.max_connections,
            max_outgoing_packet_count: 2000,
            max_segment_size: 8 * 1024 * 1024,
            max_segment_count: 4,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        ..Default::default()
    };
    let mut broker = Broker::new(config);
    std::thread::Builder::new()
        .name("rumqttd".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded broker stopped");
            }
        })?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if TcpStream::connect_timeout(&cfg.listen, Duration::from_millis(200)).is_ok() {
            tracing::info!(addr = %cfg.listen, "embedded MQTT broker listening");
            return Ok(EmbeddedBroker { addr: cfg.listen });
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "the embedded broker did not start listening on {} within 10 s (port in use?)",
                cfg.listen
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
