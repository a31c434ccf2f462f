//! rumqttd inside the gateway.
//!
//! Who may connect: with `[devices] credentials`, the identities of that file (each with its
//! own password, and a client id in its own namespace, as on the device port), the
//! `[broker]` username and password when set, and the gateway's own sessions (an internal
//! secret made at start, never written anywhere). rumqttd 0.20 has no topic permissions:
//! an identity that connects here may publish any topic; per-device topic rules hold on the
//! device port and on an external mosquitto with the generated ACL.
//!
//! rumqttd keeps everything in memory: retained messages and sessions last as long as the
//! process. It acknowledges a device's QoS 1 publish when the router has it, before the
//! gateway stores it, so a crash of the process can lose readings that devices saw
//! acknowledged (see the README's delivery guarantee). Its commit log is sized for the
//! gateway's load rather than rumqttd's defaults (100 MiB × 10 segments).

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rumqttd::{AuthHandler, Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};
use subtle::ConstantTimeEq;

use crate::auth::Authenticator;
use crate::config::BrokerConfig;

/// A running embedded broker (its threads live as long as the process).
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedBroker {
    /// The MQTT listener.
    pub addr: SocketAddr,
}

/// Starts rumqttd with the gateway's broker settings and waits until it accepts connections.
/// With `identities`, clients connect with those identities (or the `[broker]` pair).
pub fn start_embedded(
    cfg: &BrokerConfig,
    identities: Option<Arc<Authenticator>>,
) -> anyhow::Result<EmbeddedBroker> {
    let pair = cfg.credentials()?;
    let (auth, external_auth) = match identities {
        Some(ids) => (None, Some(identity_check(ids, pair))),
        None => (pair.map(|(u, p)| HashMap::from([(u, p)])), None),
    };
    let connections = ConnectionSettings {
        connection_timeout_ms: 10_000,
        max_payload_size: cfg.max_packet_bytes,
        max_inflight_count: cfg.max_inflight as usize,
        auth,
        external_auth,
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

/// rumqttd's check of a CONNECT: the `[broker]` pair (the gateway's own sessions use it), or
/// an identity of the credentials file with a client id of its own.
fn identity_check(ids: Arc<Authenticator>, pair: Option<(String, String)>) -> AuthHandler {
    let pair = Arc::new(pair);
    Arc::new(move |client_id: String, user: String, pass: String| {
        let (ids, pair) = (ids.clone(), pair.clone());
        Box::pin(async move {
            if let Some((u, p)) = pair.as_ref() {
                if bool::from(user.as_bytes().ct_eq(u.as_bytes()))
                    && bool::from(pass.as_bytes().ct_eq(p.as_bytes()))
                {
                    return true;
                }
            }
            match ids.authenticate(&user, &pass).await {
                Ok(identity) => match ids.check_client_id(&identity, &client_id) {
                    Ok(()) => true,
                    Err(why) => {
                        tracing::warn!(client_id = %client_id, reason = ?why, "embedded broker: connection refused");
                        false
                    }
                },
                Err(why) => {
                    tracing::warn!(client_id = %client_id, reason = ?why, "embedded broker: connection refused");
                    false
                }
            }
        })
    })
}
