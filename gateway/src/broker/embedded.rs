//! rumqttd inside the gateway.
//!
//! Who may connect: with `[devices] credentials`, the identities of that file (each with its
//! own password, and a client id in its own namespace, as on the device port), the
//! `[broker]` username and password when set, and the gateway's own sessions (an internal
//! secret made at start, never written anywhere). rumqttd 0.20 has no topic permissions, so
//! with identities it listens on a loopback port of its own and the gateway's front
//! ([`super::front`]) takes `[broker] listen`: the front checks each identity and screens
//! what it publishes, and rumqttd takes an identity only with the front's secret in place of
//! its password ([`FrontPass`]).
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

use super::front::FrontPass;
use crate::config::BrokerConfig;

/// A running embedded broker (its threads live as long as the process).
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedBroker {
    /// The MQTT listener.
    pub addr: SocketAddr,
}

/// Starts rumqttd with the gateway's broker settings and waits until it accepts connections:
/// on `[broker] listen`, or with `identities` on a free loopback port behind the gateway's
/// front, taking the `[broker]` pair and the identities the front forwards.
pub fn start_embedded(
    cfg: &BrokerConfig,
    identities: Option<FrontPass>,
) -> anyhow::Result<EmbeddedBroker> {
    let listen = match identities {
        // Taken by rumqttd a moment later (another process could take it first: the start
        // then fails).
        Some(_) => std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| anyhow::anyhow!("choosing the embedded broker's loopback port: {e}"))?,
        None => cfg.listen,
    };
    let pair = cfg.credentials()?;
    let (auth, external_auth) = match identities {
        Some(pass) => (None, Some(identity_check(pass, pair))),
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
        listen,
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
        if TcpStream::connect_timeout(&listen, Duration::from_millis(200)).is_ok() {
            tracing::info!(addr = %listen, "embedded MQTT broker listening");
            return Ok(EmbeddedBroker { addr: listen });
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "the embedded broker did not start listening on {listen} within 10 s (port in use?)"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// rumqttd's check of a CONNECT: the `[broker]` pair (the gateway's own sessions use it), or
/// an identity that the front has verified (its password replaced by the front's secret)
/// with a client id of its own. An identity's own password is refused: a client that skips
/// the front gets nothing.
fn identity_check(pass: FrontPass, pair: Option<(String, String)>) -> AuthHandler {
    let shared = Arc::new((pass, pair));
    Arc::new(move |client_id: String, user: String, password: String| {
        let shared = shared.clone();
        Box::pin(async move {
            let (pass, pair) = shared.as_ref();
            let same = |a: &str, b: &str| bool::from(a.as_bytes().ct_eq(b.as_bytes()));
            if let Some((u, p)) = pair {
                if same(&user, u) && same(&password, p) {
                    return true;
                }
            }
            if !same(&password, &pass.token) {
                tracing::warn!(client_id = %client_id, "embedded broker: connection refused (identities connect through the gateway's front)");
                return false;
            }
            let admitted = pass
                .ids
                .identity(&user)
                .and_then(|identity| pass.ids.check_client_id(&identity, &client_id));
            match admitted {
                Ok(()) => true,
                Err(why) => {
                    tracing::warn!(client_id = %client_id, reason = ?why, "embedded broker: connection refused");
                    false
                }
            }
        })
    })
}
