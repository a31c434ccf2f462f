//! MQTT client options that every client program shares (`sensors-sim`, the twin, the
//! people counter): TLS with a CA file and, optionally, a client certificate; a username
//! and a password file. Feature `client`.
//!
//! TLS uses rustls with the ring provider; the server's certificate must be valid for the
//! host given to `--broker` (a DNS name or an IP address, as in its subjectAltName).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rumqttc::{MqttOptions, TlsConfiguration, Transport};

/// Why the client options could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A PEM file without what it should hold, or a certificate rustls refuses.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// `--cafile`, `--cert`, `--key`, `--username`, `--password-file`.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct ClientSecurity {
    /// Connect over TLS (MQTT over TLS, port 8883 by convention), trusting the CA
    /// certificate(s) in this PEM file [default: plain TCP].
    #[arg(long, value_name = "PEM")]
    pub cafile: Option<PathBuf>,
    /// Client certificate (PEM) to present, with --key and --cafile; on the gateway's device
    /// port its CN is the device identity (no password needed).
    #[arg(long, value_name = "PEM", requires_all = ["key", "cafile"])]
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,
    /// MQTT username (a device identity on the device port).
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,
    /// File holding the MQTT password (one line; trailing newline ignored), with --username.
    #[arg(long, value_name = "FILE", requires = "username")]
    pub password_file: Option<PathBuf>,
}

impl ClientSecurity {
    /// The client id to connect with: `name` when no `--username` is given or `name` is in
    /// the username's namespace already (the username itself, or `{username}-...`), else
    /// `{username}-{name}`. The gateway binds client ids to identities this way, so nobody
    /// can take another client's session over.
    pub fn client_id(&self, name: &str) -> String {
        match &self.username {
            Some(u) if name != u && !name.starts_with(&format!("{u}-")) => format!("{u}-{name}"),
            _ => name.to_string(),
        }
    }

    /// Sets TLS and credentials on `o`, reading the files now.
    pub fn apply(&self, o: &mut MqttOptions) -> Result<(), ClientError> {
        if let Some(tls) = self.tls()? {
            o.set_transport(Transport::tls_with_config(tls));
        }
        if let Some(user) = &self.username {
            let password = match &self.password_file {
                Some(f) => read_to_string(f)?
                    .trim_end_matches(['\n', '\r'])
                    .to_string(),
                None => String::new(),
            };
            o.set_credentials(user.clone(), password);
        }
        Ok(())
    }

    /// The TLS configuration, when `--cafile` is given.
    pub fn tls(&self) -> Result<Option<TlsConfiguration>, ClientError> {
        let Some(ca) = &self.cafile else {
            return Ok(None);
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in certs(ca)? {
            roots.add(cert).map_err(|e| ClientError::Pem {
                path: ca.clone(),
                what: format!("not a usable CA certificate: {e}"),
            })?;
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Pem {
            path: ca.clone(),
            what: e.to_string(),
        })?
        .with_root_certificates(roots);
        let config = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => builder
                .with_client_auth_cert(certs(cert)?, private_key(key)?)
                .map_err(|e| ClientError::Pem {
                    path: key.clone(),
                    what: format!("unusable with {}: {e}", cert.display()),
                })?,
            _ => builder.with_no_client_auth(),
        };
        Ok(Some(TlsConfiguration::Rustls(Arc::new(config))))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|source| ClientError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_to_string(path: &Path) -> Result<String, ClientError> {
    std::fs::read_to_string(path).map_err(|source| ClientError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn pem_error(path: &Path, what: String) -> ClientError {
    ClientError::Pem {
        path: path.to_path_buf(),
        what,
    }
}

fn certs(path: &Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, ClientError> {
    let bytes = read(path)?;
    let certs = rustls_pemfile::certs(&mut bytes.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, format!("unreadable PEM: {e}")))?;
    if certs.is_empty() {
        return Err(pem_error(path, "no CERTIFICATE block".into()));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<rustls::pki_types::PrivateKeyDer<'static>, ClientError> {
    let bytes = read(path)?;
    rustls_pemfile::private_key(&mut bytes.as_slice())
        .map_err(|e| pem_error(path, format!("unreadable PEM: {e}")))?
        .ok_or_else(|| pem_error(path, "no PRIVATE KEY block".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        security: ClientSecurity,
    }

    #[test]
    fn a_client_certificate_needs_its_key_and_a_ca() {
        assert!(Cli::try_parse_from(["x", "--cert", "c.pem"]).is_err());
        assert!(Cli::try_parse_from(["x", "--cert", "c.pem", "--key", "k.pem"]).is_err());
        assert!(Cli::try_parse_from(["x", "--password-file", "p"]).is_err());
        let c = Cli::try_parse_from([
            "x", "--cafile", "ca.pem", "--cert", "c.pem", "--key", "k.pem",
        ])
        .unwrap();
        assert_eq!(c.security.cafile, Some(PathBuf::from("ca.pem")));
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = ClientSecurity {
            cafile: Some(dir.path().join("missing.pem")),
            ..Default::default()
        };
        let e = s.tls().unwrap_err().to_string();
        assert!(e.contains("missing.pem"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not pem").unwrap();
        let s = ClientSecurity {
            cafile: Some(empty),
            ..Default::default()
        };
        let e = s.tls().unwrap_err().to_string();
        assert!(e.contains("no CERTIFICATE"), "{e}");
        let plain = ClientSecurity::default();
        let mut o = MqttOptions::new("c", "localhost", 1883);
        plain.apply(&mut o).unwrap();
        assert!(matches!(o.transport(), Transport::Tcp));
    }

    #[test]
    fn client_ids_fall_in_the_username_s_namespace() {
        let anon = ClientSecurity::default();
        assert_eq!(anon.client_id("twin-hubin-7"), "twin-hubin-7");
        let sec = ClientSecurity {
            username: Some("twin".into()),
            ..Default::default()
        };
        assert_eq!(sec.client_id("twin-hubin-7"), "twin-hubin-7");
        assert_eq!(sec.client_id("twin"), "twin");
        assert_eq!(sec.client_id("sensors-sim-1"), "twin-sensors-sim-1");
        assert_eq!(sec.client_id("twinkle"), "twin-twinkle");
    }
}
