//! What can go wrong with device credentials: each message says which file, which line and
//! what is wrong, and never contains a secret.

use std::path::PathBuf;

/// An error of the credentials files, the command line or a password hash.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A line of a file is broken.
    #[error("{}:{line}: {what}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// Its line number, from 1.
        line: usize,
        /// What is wrong with it.
        what: String,
    },
    /// An identity in one of the two files has no entry in the other.
    #[error("{}:{line}: identity \"{id}\" has no entry in {}", path.display(), other.display())]
    Unpaired {
        /// The file naming it.
        path: PathBuf,
        /// Its line there.
        line: usize,
        /// The identity.
        id: String,
        /// The file that lacks it.
        other: PathBuf,
    },
    /// No identity of that name.
    #[error("unknown identity \"{0}\"")]
    UnknownId(String),
    /// The identity exists already.
    #[error("identity \"{0}\" exists already (use `rotate` for a new secret)")]
    DuplicateId(String),
    /// An identity name that cannot be used.
    #[error("invalid identity \"{id}\": {why}")]
    InvalidId {
        /// The name given.
        id: String,
        /// Why it cannot be used.
        why: &'static str,
    },
    /// A role, or the devices given with it, that do not fit.
    #[error("{0}")]
    Role(String),
    /// A stored password hash that cannot be read.
    #[error("password hash: {0}")]
    Hash(String),
}

impl AuthError {
    /// An [`AuthError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AuthError::Io {
            path: path.into(),
            source,
        }
    }
}
