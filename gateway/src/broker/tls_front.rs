//! The embedded broker over TLS (`[broker] tls`): the gateway accepts TLS on `tls_listen`
//! and pipes each connection, once its handshake is done, to rumqttd's plaintext listener.
//!
//! Why not rumqttd's own TLS: in rumqttd 0.20 it needs the `use-rustls` feature (a second
//! rustls, 0.22, and x509-parser built beside the gateway's rustls 0.23), and its client
//! certificates are all or nothing: with `verify-client-cert` a certificate is required of
//! every client and its organisation (O) becomes a tenant prefix of every topic; without it
//! a client CA is ignored. Terminating here gives subscribers the same TLS settings as the
//! device port (optional or required client certificates, one crypto stack). The plaintext
//! listener stays, for the gateway's own sessions: keep `[broker] listen` on the loopback.
//! rumqttd sees every TLS client as coming from the loopback.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// A TLS handshake must finish within this (as the broker's own connection timeout).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A running TLS front.
#[derive(Debug)]
pub struct TlsFront {
    /// Where subscribers connect over TLS.
    pub addr: SocketAddr,
    /// The accept loop; it ends, closing every piped connection, once `stop` turns true.
    pub task: tokio::task::JoinHandle<()>,
}

/// Binds `listen` and pipes each TLS connection to the broker at `upstream`; at most
/// `max_connections` at once (further ones are closed at once).
pub async fn start(
    tls: &crate::tls::TlsConfig,
    listen: SocketAddr,
    upstream: SocketAddr,
    max_connections: usize,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<TlsFront> {
    let acceptor =
        crate::tls::acceptor(tls, &[]).map_err(|e| anyhow::anyhow!("[broker] tls: {e}"))?;
    if !upstream.ip().is_loopback() {
        tracing::warn!(listen = %upstream, "[broker] tls is set but the plaintext listener is not on the loopback: other hosts can still connect without TLS");
    }
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    let task = tokio::spawn(accept_loop(listener, acceptor, upstream, slots, stop));
    tracing::info!(%addr, %upstream, "embedded MQTT broker listening over TLS");
    Ok(TlsFront { addr, task })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    upstream: SocketAddr,
    slots: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    let mut pipes = JoinSet::new();
    loop {
        tokio::select! {
            _ = crate::stop::stopped(&mut stop) => break,
            Some(_) = pipes.join_next(), if !pipes.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => match slots.clone().try_acquire_owned() {
                    Ok(slot) => {
                        let acceptor = acceptor.clone();
                        pipes.spawn(async move {
                            pipe(acceptor, tcp, peer, upstream).await;
                            drop(slot);
                        });
                    }
                    Err(_) => tracing::warn!(%peer, "broker TLS client refused: too many connections"),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "broker TLS accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    // Dropping the set aborts the pipes still open.
    drop(pipes);
}

/// One client: the handshake, then bytes both ways until either side closes.
async fn pipe(acceptor: TlsAcceptor, tcp: TcpStream, peer: SocketAddr, upstream: SocketAddr) {
    let _ = tcp.set_nodelay(true);
    let mut tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::warn!(%peer, reason = "tls", error = %e, "broker TLS client refused");
            return;
        }
        Err(_) => {
            tracing::warn!(%peer, reason = "tls", "broker TLS client refused: no handshake within 10 s");
            return;
        }
    };
    let mut broker = match TcpStream::connect(upstream).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(%peer, error = %e, "broker TLS front: the broker is unreachable");
            return;
        }
    };
    let _ = broker.set_nodelay(true);
    if let Err(e) = tokio::io::copy_bidirectional(&mut tls, &mut broker).await {
        tracing::debug!(%peer, error = %e, "broker TLS connection ended");
    }
}
