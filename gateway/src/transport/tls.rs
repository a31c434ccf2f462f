//! The device port over TLS (`[devices] tls`): the handshake, and a CONNECT from a device
//! that presented a client certificate.
//!
//! With `tls` set the port speaks only TLS: a plaintext CONNECT fails the handshake. The
//! handshake must finish within the connect timeout. A failed or late handshake is counted
//! as a refusal (`gateway_device_refused_total` and `gateway_device_tls_refused_total`).
//!
//! With `client_ca`, a device may present a certificate signed by that CA; its common name
//! (CN) is then the device's identity:
//! - with `[devices] credentials`, the identity of that id in the credentials file (refused
//!   when there is none); the username may be omitted, and when given must equal the CN; no
//!   password is asked for; the client id must be in the identity's namespace as usual;
//! - without, the certificate stands in for the `[broker]` username and password.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use rumqttc::mqttbytes::v4::{Connect, ConnectReturnCode};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::Port;
use crate::auth::{Identity, Refusal};

/// Runs the TLS handshake of a new connection within the connect timeout: the stream and
/// the CN of the client's verified certificate, if it gave one; `None` (counted, logged)
/// when the handshake failed.
pub(super) async fn handshake(
    port: &Port,
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
) -> Option<(TlsStream<TcpStream>, Option<String>)> {
    let why = match tokio::time::timeout(port.cfg.connect_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => {
            let cn = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|leaf| crate::tls::peer::common_name(leaf));
            return match cn {
                None => Some((tls, None)),
                Some(Some(cn)) => Some((tls, Some(cn))),
                // A verified certificate without a CN names no one.
                Some(None) => {
                    refused(port, peer, "the client certificate has no common name (CN)");
                    None
                }
            };
        }
        Ok(Err(e)) => format!("TLS handshake failed: {e}"),
        Err(_) => "no TLS handshake within the connect timeout".to_string(),
    };
    refused(port, peer, &why);
    None
}

fn refused(port: &Port, peer: SocketAddr, why: &str) {
    let metrics = &port.admission.shared.metrics;
    metrics.device_refused.fetch_add(1, Relaxed);
    metrics.device_tls_refused.fetch_add(1, Relaxed);
    tracing::warn!(%peer, reason = "tls", %why, "device refused");
}

/// Checks a CONNECT from a device whose certificate names identity `cn` (see the module
/// doc): the client id and the identity, or the refusal's return code and reason.
pub(super) async fn accept_certified(
    port: &Port,
    connect: &Connect,
    conn: u64,
    cn: &str,
) -> Result<(String, Option<Arc<Identity>>), (ConnectReturnCode, String)> {
    if let Some(login) = &connect.login {
        if !login.username.is_empty() && login.username != cn {
            return Err((
                ConnectReturnCode::BadUserNamePassword,
                format!(
                    "username \"{}\" is not the client certificate's CN \"{cn}\"",
                    login.username
                ),
            ));
        }
    }
    let client_id = match (connect.client_id.is_empty(), connect.clean_session) {
        (false, _) => connect.client_id.clone(),
        (true, true) => format!("{cn}-{conn}"),
        (true, false) => {
            return Err((
                ConnectReturnCode::BadClientId,
                "a persistent session needs a client id".into(),
            ))
        }
    };
    let Some(auth) = &port.auth else {
        return Ok((client_id, None));
    };
    let refused = |r: Refusal| match r {
        Refusal::BadCredentials(why) => (ConnectReturnCode::BadUserNamePassword, why),
        Refusal::ClientId(why) => (ConnectReturnCode::BadClientId, why),
    };
    let identity = auth.identity(cn).map_err(refused)?;
    auth.check_client_id(&identity, &client_id)
        .map_err(refused)?;
    Ok((client_id, Some(identity)))
}
