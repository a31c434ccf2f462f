//! TLS for the gateway's three listeners (the device port, the embedded broker's TLS front
//! and the HTTP API), and a local certificate authority for trying it out.
//!
//! - [`config`]: the `tls = { cert, key, client_ca, require_client_cert }` tables.
//! - [`load`]: PEM files read into a rustls server configuration (ring provider), with the
//!   client-certificate verifier when a client CA is given.
//! - [`peer`]: the common name (CN) of a verified client certificate: the device identity.
//! - [`listener`]: HTTPS for axum: handshakes on their own tasks, each bounded in time.
//! - [`certs`], [`cli`]: `gateway certs init | client`: a local CA, a server certificate for
//!   the given hosts and client certificates (for tests and first steps; production uses the
//!   operator's own PKI).
//! - [`error`]: [`TlsError`], naming the file and what is wrong with it.
//!
//! Key material is never logged nor printed: errors name files, not contents.

pub mod certs;
pub mod cli;
pub mod config;
pub mod error;
pub mod listener;
pub mod load;
pub mod peer;

pub use config::{CertKey, TlsConfig};
pub use error::TlsError;
pub use load::{acceptor, server_config};
