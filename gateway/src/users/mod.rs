//! Operator accounts of the HTTP API: who may call it, with which bearer token, in which role.
//!
//! - [`role`]: the roles (`viewer`, `operator`, `parking-app`, `admin`) and what each may do
//!   ([`Access`]).
//! - [`token`]: bearer tokens: new ones from the operating system's RNG, stored as SHA-256.
//! - [`accounts`]: the accounts by name, and the look-up of a presented token.
//! - [`file`]: the users file (TOML, mode 0600), read with file:line errors.
//! - [`cli`]: `gateway users add | rotate | revoke | list`.
//! - [`error`]: the domain's error type, [`UsersError`].

pub mod accounts;
pub mod cli;
pub mod error;
pub mod file;
pub mod role;
pub mod token;

pub use accounts::{Account, Accounts};
pub use error::UsersError;
pub use role::{Access, ApiRole};
pub use token::TokenHash;
