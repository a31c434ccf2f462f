//! The device port: devices publish their readings straight to the gateway over MQTT 3.1.1,
//! and each PUBACK is sent only once the reading's row is committed.
//!
//! Why the gateway owns this endpoint rather than letting devices publish into the embedded
//! broker (`docs/ARCHITECTURE.md`, "Device transport"): rumqttd acknowledges a publish when
//! its router has it, before the gateway has stored it, and drops messages when a subscriber
//! lags, so an acknowledged reading could be lost. Here a device's message goes from its
//! socket through admission ([`crate::ingest::admit`]) into the store's queue in the
//! connection's own task, and its acknowledgement comes back from the store writer after
//! the commit ([`crate::store::ack`]): two hand-offs, no broker in between. The broker stays
//! the place for subscribers (twin, signs, dashboards, retained live topics).
//!
//! - [`config`], the `[devices]` section.
//! - Identities ([`crate::auth`]): with `[devices] credentials`, each CONNECT is checked
//!   against the credentials file ([`crate::auth::Authenticator`]) and each PUBLISH against
//!   what the connected identity may publish ([`crate::auth::Identity::may_publish`]).
//! - [`frame`]: packets off the socket with rumqttc's MQTT codec; oversized publishes skipped
//!   and dead-lettered.
//! - [`registry`]: client ids connected now (a newer connection takes an id over).
//! - [`relay`]: a device's other messages (its health, say) passed on to the broker; the
//!   gateway's own topics refused.
//! - [`session`]: one connection, CONNECT to DISCONNECT.
//! - [`tls`]: the port over TLS (`[devices] tls`): the handshake, and devices identified by
//!   their client certificate; [`stream`]: plain or TLS connections alike to the session.

pub mod config;
pub mod frame;
pub mod registry;
pub mod relay;
pub mod session;
mod stream;
pub mod tls;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

pub use config::DevicesConfig;

use crate::ingest::admit::Admission;
use crate::store::StoreTx;

/// What every connection of the device port shares.
#[derive(Debug)]
pub(crate) struct Port {
    cfg: DevicesConfig,
    admission: Admission,
    store: StoreTx,
    /// Username and password every device must give (none: anonymous devices accepted),
    /// when no credentials file is configured.
    credentials: Option<(String, String)>,
    /// Per-device identities (`[devices] credentials`): when set, they replace
    /// `credentials`.
    auth: Option<Arc<crate::auth::Authenticator>>,
    /// Largest packet read whole, bytes (remaining length); larger publishes are dead-lettered.
    max_packet: usize,
    registry: registry::Registry,
    /// The session that passes relayed messages on to the broker.
    relay: Option<rumqttc::AsyncClient>,
    /// With `[devices] tls`: every connection is a TLS one.
    tls: Option<Arc<rustls::ServerConfig>>,
    next_conn: AtomicU64,
    stop: watch::Receiver<bool>,
}

/// A running device port.
#[derive(Debug)]
pub struct DevicePort {
    /// The bound address.
    pub addr: SocketAddr,
    /// The accept loop; it ends after `stop` turns true and every connection has written
    /// the acknowledgements it owes.
    pub task: tokio::task::JoinHandle<()>,
}

/// Binds the device port and starts accepting. Readings are admitted with `admission` and
/// queued on `store`; `cfg.credentials`, when set, names the identities devices connect
/// with (read now: a broken file is an error); otherwise `credentials`, when given, are
/// required of every device;
/// `max_packet` is the largest message read whole; `relay` passes devices' other messages on
/// to the broker.
pub async fn start(
    cfg: &DevicesConfig,
    admission: Admission,
    store: StoreTx,
    credentials: Option<(String, String)>,
    max_packet: usize,
    relay: Option<rumqttc::AsyncClient>,
    stop: watch::Receiver<bool>,
) -> std::io::Result<DevicePort> {
    let auth = match &cfg.credentials {
        Some(path) => {
            let a = crate::auth::Authenticator::open(path).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("device credentials: {e}"),
                )
            })?;
            tracing::info!(file = %path.display(), identities = a.credentials().len(), "device port: per-device identities required");
            Some(Arc::new(a))
        }
        None => None,
    };
    let tls = match &cfg.tls {
        Some(t) => Some(crate::tls::server_config(t, &[]).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("[devices] tls: {e}"),
            )
        })?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;
    let port = Arc::new(Port {
        cfg: cfg.clone(),
        admission,
        store,
        credentials,
        auth,
        max_packet,
        registry: Default::default(),
        relay,
        tls,
        next_conn: AtomicU64::new(1),
        stop: stop.clone(),
    });
    let slots = Arc::new(Semaphore::new(cfg.max_connections.max(1)));
    let task = tokio::spawn(accept_loop(listener, port, slots, stop));
    tracing::info!(%addr, tls = cfg.tls.is_some(), "device port listening");
    Ok(DevicePort { addr, task })
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    port: Arc<Port>,
    slots: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            _ = crate::stop::stopped(&mut stop) => break,
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match slots.clone().try_acquire_owned() {
                    Ok(slot) => {
                        let port = port.clone();
                        sessions.spawn(async move {
                            let _ = stream.set_nodelay(true);
                            match &port.tls {
                                None => session::serve(stream, peer, port, None).await,
                                Some(config) => {
                                    let acceptor = tokio_rustls::TlsAcceptor::from(config.clone());
                                    if let Some((tls, cn)) = tls::handshake(&port, &acceptor, stream, peer).await {
                                        session::serve(tls, peer, port, cn).await;
                                    }
                                }
                            }
                            drop(slot);
                        });
                    }
                    Err(_) => {
                        port.admission.shared.metrics.device_refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tracing::warn!(%peer, limit = port.cfg.max_connections, "device refused: too many connections");
                        drop(stream);
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "device port accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    while sessions.join_next().await.is_some() {}
}
