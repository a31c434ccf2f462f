//! PEM files into a rustls server configuration, with the ring provider.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use super::{TlsConfig, TlsError};

/// The crypto provider of every TLS endpoint here (ring; no process-wide default needed).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Every certificate in PEM file `path` (at least one).
pub fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certs = rustls_pemfile::certs(&mut bytes.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::pem(path, format!("unreadable PEM: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError::pem(path, "no CERTIFICATE block"));
    }
    Ok(certs)
}

/// The first private key in PEM file `path` (PKCS#8, PKCS#1 or SEC1).
pub fn key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    rustls_pemfile::private_key(&mut bytes.as_slice())
        .map_err(|e| TlsError::pem(path, format!("unreadable PEM: {e}")))?
        .ok_or_else(|| TlsError::pem(path, "no PRIVATE KEY block"))
}

/// The root store of CA file `path`.
pub fn roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for c in certs(path)? {
        roots.add(c).map_err(|e| TlsError::Rejected {
            path: path.to_path_buf(),
            what: format!("not a usable CA certificate: {e}"),
        })?;
    }
    Ok(roots)
}

/// The server configuration of `cfg`: its certificate and key; with `client_ca`, client
/// certificates signed by that CA are verified (and required with `require_client_cert`).
/// `alpn`: the protocols offered (`http/1.1` for the API; none for MQTT, as mosquitto's
/// clients send none).
pub fn server_config(cfg: &TlsConfig, alpn: &[&[u8]]) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = certs(&cfg.cert)?;
    let key = key(&cfg.key)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rejected {
            path: cfg.cert.clone(),
            what: e.to_string(),
        })?;
    let builder = match &cfg.client_ca {
        None if cfg.require_client_cert => return Err(TlsError::RequireWithoutCa),
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca)?), provider());
            let verifier = if cfg.require_client_cert {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            let verifier = verifier.build().map_err(|e| TlsError::Rejected {
                path: ca.clone(),
                what: e.to_string(),
            })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Rejected {
            path: cfg.key.clone(),
            what: format!("unusable with the certificate {}: {e}", cfg.cert.display()),
        })?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// A TLS acceptor for `cfg` (see [`server_config`]).
pub fn acceptor(cfg: &TlsConfig, alpn: &[&[u8]]) -> Result<TlsAcceptor, TlsError> {
    Ok(TlsAcceptor::from(server_config(cfg, alpn)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_and_the_fault() {
        let dir = tempfile::tempdir().unwrap();
        let made = crate::tls::certs::init(dir.path(), &["127.0.0.1".into()]).unwrap();
        let ok = TlsConfig {
            cert: made.server_cert.clone(),
            key: made.server_key.clone(),
            client_ca: Some(made.ca_cert.clone()),
            require_client_cert: false,
        };
        assert!(server_config(&ok, &[]).is_ok());

        let missing = TlsConfig {
            cert: dir.path().join("nope.pem"),
            ..ok.clone()
        };
        let e = server_config(&missing, &[]).unwrap_err().to_string();
        assert!(
            e.contains("nope.pem") && e.starts_with("cannot read"),
            "{e}"
        );

        let key_as_cert = TlsConfig {
            cert: made.server_key.clone(),
            ..ok.clone()
        };
        let e = server_config(&key_as_cert, &[]).unwrap_err().to_string();
        assert!(
            e.contains("server.key") && e.contains("no CERTIFICATE"),
            "{e}"
        );

        let cert_as_key = TlsConfig {
            key: made.server_cert.clone(),
            ..ok.clone()
        };
        let e = server_config(&cert_as_key, &[]).unwrap_err().to_string();
        assert!(e.contains("no PRIVATE KEY"), "{e}");

        let wrong_key = TlsConfig {
            key: made.ca_key.clone(),
            ..ok.clone()
        };
        let e = server_config(&wrong_key, &[]).unwrap_err().to_string();
        assert!(e.contains("ca.key") && e.contains("server.pem"), "{e}");

        let required_without_ca = TlsConfig {
            client_ca: None,
            require_client_cert: true,
            ..ok
        };
        assert!(matches!(
            server_config(&required_without_ca, &[]),
            Err(TlsError::RequireWithoutCa)
        ));
    }
}
