//! Device identity: who may connect to the device port, with which client ids, and what each
//! may publish.
//!
//! - [`hash`]: mosquitto's password hashes (`$7$` PBKDF2-SHA512, `$6$` SHA-512).
//! - [`secret`]: new secrets and salts from the operating system's RNG.
//! - [`identity`]: roles (`device`, `bridge`, `reader`, `gateway`) and what each may
//!   publish; the same rules as MQTT topic filters.
//! - [`credentials`]: the identities by id, and which identity owns a client id.
//! - [`file`]: the password file (mosquitto's format) and its `.roles` companion, read with
//!   file:line errors and written with mode 0600.
//! - [`cache`]: verified (identity, password) pairs, kept as keyed hashes.
//! - [`authenticator`]: the check of a CONNECT on the device port; reloads changed files.
//! - [`provision`]: identities made by programs (the demo's simulator, twin and desk).
//! - [`required`]: the gateway refuses to start with anonymous MQTT unless told to.
//! - [`acl`]: mosquitto's ACL file from the same identities.
//! - [`import`], [`cli`]: `gateway credentials add | rotate | revoke | list | import |
//!   mosquitto-acl`.
//! - [`error`]: the domain's error type, [`AuthError`].

pub mod acl;
pub mod authenticator;
pub mod cache;
pub mod cli;
pub mod credentials;
pub mod error;
pub mod file;
pub mod hash;
pub mod identity;
pub mod import;
pub mod provision;
pub mod required;
pub mod secret;

pub use authenticator::{Authenticator, Refusal};
pub use credentials::{Credentials, Entry};
pub use error::AuthError;
pub use hash::PasswordHash;
pub use identity::{Denied, Identity, Role};
