//! A local certificate authority for trying TLS out and for tests (`gateway certs`): a CA,
//! a server certificate for the given host names and addresses, and client certificates
//! whose common name is a device identity. ECDSA P-256 keys, written with mode 0600; nothing
//! is ever overwritten. Production uses the operator's own PKI.
//!
//! | file | what | valid |
//! |---|---|---|
//! | `ca.pem`, `ca.key` | the CA (`--cafile` of clients, `client_ca` of the gateway) | 10 years |
//! | `server.pem`, `server.key` | the gateway's certificate for the `--host`s | 825 days |
//! | `{ID}.pem`, `{ID}.key` | a client certificate with CN = ID | 825 days |

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

use super::TlsError;

/// The CA's common name (a CA made by [`init`] is recognised by it).
pub const CA_NAME: &str = "smart-district gateway local CA";

/// Days a server or client certificate is valid.
pub const LEAF_DAYS: i64 = 825;
/// Days the CA is valid.
pub const CA_DAYS: i64 = 3650;

/// What [`init`] wrote.
#[derive(Debug, Clone)]
pub struct Made {
    /// The CA certificate.
    pub ca_cert: PathBuf,
    /// The CA key (mode 0600).
    pub ca_key: PathBuf,
    /// The server certificate.
    pub server_cert: PathBuf,
    /// The server key (mode 0600).
    pub server_key: PathBuf,
}

/// What [`client`] wrote.
#[derive(Debug, Clone)]
pub struct ClientMade {
    /// The client certificate (CN = the id).
    pub cert: PathBuf,
    /// Its key (mode 0600).
    pub key: PathBuf,
}

/// Makes a CA and a server certificate for `hosts` (DNS names or IP addresses; the first is
/// also the CN) in `dir` (created if missing).
pub fn init(dir: &Path, hosts: &[String]) -> Result<Made, TlsError> {
    let made = Made {
        ca_cert: dir.join("ca.pem"),
        ca_key: dir.join("ca.key"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
    };
    for p in [
        &made.ca_cert,
        &made.ca_key,
        &made.server_cert,
        &made.server_key,
    ] {
        refuse_existing(p)?;
    }
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let ca_key = generate_key("the CA key")?;
    let ca = ca_params().self_signed(&ca_key).map_err(gen("the CA"))?;

    let hosts: Vec<String> = if hosts.is_empty() {
        vec!["localhost".into(), "127.0.0.1".into()]
    } else {
        hosts.to_vec()
    };
    let mut params =
        CertificateParams::new(hosts.clone()).map_err(gen("the server certificate"))?;
    params.distinguished_name = name(&hosts[0]);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, LEAF_DAYS);
    let server_key = generate_key("the server key")?;
    let server = params
        .signed_by(&server_key, &ca, &ca_key)
        .map_err(gen("the server certificate"))?;

    write(&made.ca_cert, ca.pem().as_bytes(), false)?;
    write(&made.ca_key, ca_key.serialize_pem().as_bytes(), true)?;
    write(&made.server_cert, server.pem().as_bytes(), false)?;
    write(
        &made.server_key,
        server_key.serialize_pem().as_bytes(),
        true,
    )?;
    Ok(made)
}

/// Makes a client certificate with CN = `id`, signed by the CA that [`init`] made in `dir`.
pub fn client(dir: &Path, id: &str) -> Result<ClientMade, TlsError> {
    crate::auth::identity::check_id(id).map_err(|e| TlsError::Pem {
        path: dir.join(format!("{id}.pem")),
        what: e.to_string(),
    })?;
    let made = ClientMade {
        cert: dir.join(format!("{id}.pem")),
        key: dir.join(format!("{id}.key")),
    };
    refuse_existing(&made.cert)?;
    refuse_existing(&made.key)?;
    let ca_key_path = dir.join("ca.key");
    let pem = std::fs::read_to_string(&ca_key_path).map_err(|source| TlsError::Read {
        path: ca_key_path.clone(),
        source,
    })?;
    let ca_key = KeyPair::from_pem(&pem).map_err(|e| TlsError::Pem {
        path: ca_key_path.clone(),
        what: format!("not a private key: {e}"),
    })?;
    // The issuer needs only the CA's name, key usages and key: the same as at `init`.
    let ca = ca_params().self_signed(&ca_key).map_err(gen("the CA"))?;

    let mut params =
        CertificateParams::new(Vec::<String>::new()).map_err(gen("the client certificate"))?;
    params.distinguished_name = name(id);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, LEAF_DAYS);
    let key = generate_key("the client key")?;
    let cert = params
        .signed_by(&key, &ca, &ca_key)
        .map_err(gen("the client certificate"))?;
    write(&made.cert, cert.pem().as_bytes(), false)?;
    write(&made.key, key.serialize_pem().as_bytes(), true)?;
    Ok(made)
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(CA_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params, CA_DAYS);
    params
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// Valid from yesterday (clock skew) for `days`.
fn validity(params: &mut CertificateParams, days: i64) {
    let day =
        |d: chrono::DateTime<Utc>| rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8);
    let now = Utc::now();
    params.not_before = day(now - Duration::days(1));
    params.not_after = day(now + Duration::days(days));
}

fn generate_key(what: &str) -> Result<KeyPair, TlsError> {
    KeyPair::generate().map_err(gen(what))
}

fn gen(what: &str) -> impl Fn(rcgen::Error) -> TlsError + '_ {
    move |source| TlsError::Generate {
        what: what.to_string(),
        source,
    }
}

fn refuse_existing(p: &Path) -> Result<(), TlsError> {
    if p.exists() {
        return Err(TlsError::Exists {
            path: p.to_path_buf(),
        });
    }
    Ok(())
}

/// Writes a new file (never replacing one): mode 0600 for a key, 0644 for a certificate.
fn write(path: &Path, bytes: &[u8], secret: bool) -> Result<(), TlsError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let werr = |source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut f = o.open(path).map_err(werr)?;
    f.write_all(bytes).map_err(werr)?;
    f.sync_all().map_err(werr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_and_client_write_keys_0600_and_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let made = init(dir.path(), &["127.0.0.1".into(), "localhost".into()]).unwrap();
        let c = client(dir.path(), "ps-001").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for k in [&made.ca_key, &made.server_key, &c.key] {
                let mode = std::fs::metadata(k).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", k.display());
            }
        }
        assert!(matches!(
            init(dir.path(), &[]),
            Err(TlsError::Exists { .. })
        ));
        assert!(matches!(
            client(dir.path(), "ps-001"),
            Err(TlsError::Exists { .. })
        ));
        assert!(client(dir.path(), "bad/id").is_err());
        let empty = tempfile::tempdir().unwrap();
        let e = client(empty.path(), "ps-002").unwrap_err().to_string();
        assert!(e.contains("ca.key"), "{e}");
    }

    #[test]
    fn the_client_certificate_verifies_against_the_ca() {
        use rustls::client::danger::ServerCertVerifier;
        use rustls::server::WebPkiClientVerifier;
        let dir = tempfile::tempdir().unwrap();
        let made = init(dir.path(), &[]).unwrap();
        let c = client(dir.path(), "ps-001").unwrap();
        let roots = crate::tls::load::roots(&made.ca_cert).unwrap();
        let verifier = WebPkiClientVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            crate::tls::load::provider(),
        )
        .build()
        .unwrap();
        let chain = crate::tls::load::certs(&c.cert).unwrap();
        verifier
            .verify_client_cert(&chain[0], &[], rustls::pki_types::UnixTime::now())
            .unwrap();
        // And the server certificate for the host it names.
        let roots = crate::tls::load::roots(&made.ca_cert).unwrap();
        let server = rustls::client::WebPkiServerVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            crate::tls::load::provider(),
        )
        .build()
        .unwrap();
        let chain = crate::tls::load::certs(&made.server_cert).unwrap();
        for host in ["localhost", "127.0.0.1"] {
            server
                .verify_server_cert(
                    &chain[0],
                    &[],
                    &rustls::pki_types::ServerName::try_from(host).unwrap(),
                    &[],
                    rustls::pki_types::UnixTime::now(),
                )
                .unwrap();
        }
    }
}
