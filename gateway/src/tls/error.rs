//! Why a TLS configuration or a certificate operation failed: the file, and what is wrong.

use std::path::PathBuf;

/// A TLS configuration or certificate error.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A PEM file holds no usable item of the kind expected.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong ("no certificate", "no private key", ...).
        what: String,
    },
    /// rustls refused the certificates or key (a key that does not match the certificate, an
    /// unsupported key type, an unusable CA).
    #[error("{path}: {what}")]
    Rejected {
        /// The file at fault (the certificate for a key mismatch).
        path: PathBuf,
        /// rustls's reason.
        what: String,
    },
    /// `require_client_cert = true` without `client_ca`: nothing to verify certificates with.
    #[error("require_client_cert = true needs client_ca (the CA that signs client certificates)")]
    RequireWithoutCa,
    /// A file that `gateway certs` would overwrite.
    #[error("{path} exists already (remove it first, or use another --dir)")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Certificate generation failed.
    #[error("generating {what}: {source}")]
    Generate {
        /// Which certificate.
        what: String,
        /// rcgen's reason.
        source: rcgen::Error,
    },
}

impl TlsError {
    pub(crate) fn pem(path: &std::path::Path, what: impl Into<String>) -> TlsError {
        TlsError::Pem {
            path: path.to_path_buf(),
            what: what.into(),
        }
    }
}
