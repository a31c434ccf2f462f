//! `[devices]`: the device port.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The device port: where devices publish their readings straight to the gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevicesConfig {
    /// Serve the device port. Default `true`. With `false`, readings arrive only through the
    /// broker (embedded or external).
    pub enabled: bool,
    /// MQTT 3.1.1 listener for devices. Default `127.0.0.1:1884` (port 0 picks a free port;
    /// the bound address is logged and shown by `/healthz`).
    pub listen: SocketAddr,
    /// Most device connections at once; further ones are closed at once
    /// (and counted as refused).
    /// Default 10,000.
    pub max_connections: usize,
    /// A connection that has not sent CONNECT within this is closed. Default `"10s"`.
    #[serde(with = "crate::duration")]
    pub connect_timeout: Duration,
    /// Per-device identities (`gateway credentials`): a password file in mosquitto's format,
    /// with its roles in the same path plus `.roles`. When set, every device must connect
    /// with username = its identity and that identity's password, with a client id that is
    /// the identity or starts with `{identity}-`, and may publish only its own topics
    /// (others are dead-lettered as `not_your_topic`); `[broker]`'s username and password no
    /// longer apply here. Default: none (the `[broker]` credentials, if any, are required of
    /// every device, and any device may publish for any device).
    pub credentials: Option<PathBuf>,
    /// Accept MQTT clients without an identity on the gateway's own listeners (the device
    /// port and the embedded broker) when neither `credentials` nor a `[broker]` username is
    /// set: anyone who reaches them may publish as any device and read everything. A warning
    /// is logged at every start. Default false: the gateway refuses to start without
    /// credentials, and says how to make them.
    pub allow_anonymous: bool,
    /// TLS (MQTT over TLS; port 8883 by convention): `{ cert, key, client_ca,
    /// require_client_cert }`, paths relative to this file. When set, the port accepts only
    /// TLS (a plaintext CONNECT fails the handshake, counted as a `tls` refusal); the
    /// handshake must finish within `connect_timeout`. With `client_ca`, a device's verified
    /// client certificate names its identity by its CN (no password needed; a username, if
    /// given, must equal the CN). Default: none (plain TCP).
    pub tls: Option<crate::tls::TlsConfig>,
}

impl Default for DevicesConfig {
    fn default() -> Self {
        DevicesConfig {
            enabled: true,
            listen: "127.0.0.1:1884".parse().expect("valid"),
            max_connections: 10_000,
            connect_timeout: Duration::from_secs(10),
            credentials: None,
            allow_anonymous: false,
            tls: None,
        }
    }
}
