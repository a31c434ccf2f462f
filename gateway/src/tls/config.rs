//! The `tls` tables of `[devices]`, `[broker]` and `[http]`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// TLS for an MQTT listener (`[devices] tls`, `[broker] tls`). Paths are relative to the
/// configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server's certificate chain, PEM (leaf first). Required.
    pub cert: PathBuf,
    /// The server's private key, PEM (PKCS#8, PKCS#1 or SEC1). Required; keep it mode 0600.
    pub key: PathBuf,
    /// CA certificates (PEM) that sign client certificates. When set, a client may present a
    /// certificate signed by one of them; on the device port its common name (CN) is then
    /// the device identity. Default: none (client certificates are not asked for).
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Refuse clients without a valid certificate (the handshake fails). Needs `client_ca`.
    /// Default `false`.
    #[serde(default)]
    pub require_client_cert: bool,
}

/// TLS for the HTTP API (`[http] tls`): certificate chain and key, PEM.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertKey {
    /// The server's certificate chain, PEM (leaf first).
    pub cert: PathBuf,
    /// The server's private key, PEM.
    pub key: PathBuf,
}

impl TlsConfig {
    /// The same with relative paths resolved against `base` (the configuration's folder).
    pub fn resolved(mut self, base: &Path) -> TlsConfig {
        self.cert = resolve(base, &self.cert);
        self.key = resolve(base, &self.key);
        self.client_ca = self.client_ca.map(|c| resolve(base, &c));
        self
    }

    /// The certificate and key alone.
    pub fn cert_key(&self) -> CertKey {
        CertKey {
            cert: self.cert.clone(),
            key: self.key.clone(),
        }
    }
}

impl CertKey {
    /// The same with relative paths resolved against `base`.
    pub fn resolved(mut self, base: &Path) -> CertKey {
        self.cert = resolve(base, &self.cert);
        self.key = resolve(base, &self.key);
        self
    }

    /// As a [`TlsConfig`] without client certificates.
    pub fn as_tls(&self) -> TlsConfig {
        TlsConfig {
            cert: self.cert.clone(),
            key: self.key.clone(),
            client_ca: None,
            require_client_cert: false,
        }
    }
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_relative() {
        base.join(p)
    } else {
        p.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_defaults_and_refuses_unknown_fields() {
        let t: TlsConfig = toml::from_str("cert = \"s.pem\"\nkey = \"k.pem\"").unwrap();
        assert_eq!(t.client_ca, None);
        assert!(!t.require_client_cert);
        let t = t.resolved(Path::new("/etc/gw"));
        assert_eq!(t.cert, PathBuf::from("/etc/gw/s.pem"));
        let e = toml::from_str::<TlsConfig>("cert = \"s\"\nkey = \"k\"\nciphers = 1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field"), "{e}");
        let e = toml::from_str::<CertKey>("cert = \"s\"\nkey = \"k\"\nclient_ca = \"c\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field"), "{e}");
    }
}
