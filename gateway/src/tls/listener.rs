//! HTTPS for axum: a listener whose connections come out of the TLS handshake.
//!
//! Handshakes run on their own tasks (at most [`HANDSHAKES`] at once, each within the
//! timeout), so a client that connects and says nothing holds up no one; a failed handshake
//! (plain HTTP, an untrusted certificate) is logged at debug and counted.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Handshakes in progress at once, at most; further connections wait to be accepted.
pub const HANDSHAKES: usize = 256;

/// A TCP listener whose connections are TLS streams (see the module doc).
#[derive(Debug)]
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    addr: SocketAddr,
    /// Handshakes that failed or timed out.
    pub failed: Arc<AtomicU64>,
}

impl TlsListener {
    /// Starts accepting on `listener`; handshakes with `acceptor` must finish within
    /// `timeout`.
    pub fn new(
        listener: TcpListener,
        acceptor: TlsAcceptor,
        timeout: Duration,
    ) -> std::io::Result<TlsListener> {
        let addr = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        let failed = Arc::new(AtomicU64::new(0));
        tokio::spawn(accept_loop(listener, acceptor, timeout, tx, failed.clone()));
        Ok(TlsListener { rx, addr, failed })
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    timeout: Duration,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    failed: Arc<AtomicU64>,
) {
    let slots = Arc::new(Semaphore::new(HANDSHAKES));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (tcp, peer) = tokio::select! {
            _ = tx.closed() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "HTTPS accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (acceptor, tx, failed) = (acceptor.clone(), tx.clone(), failed.clone());
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => {
                    let _ = tx.send((tls, peer)).await;
                }
                Ok(Err(e)) => {
                    failed.fetch_add(1, Relaxed);
                    tracing::debug!(%peer, error = %e, "HTTPS handshake failed");
                }
                Err(_) => {
                    failed.fetch_add(1, Relaxed);
                    tracing::debug!(%peer, "HTTPS handshake timed out");
                }
            }
            drop(slot);
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept loop ends only once this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}
