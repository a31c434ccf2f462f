//! What can go wrong with API accounts: each message says which file, which line and what is
//! wrong, and never contains a token or a hash.

use std::path::PathBuf;

/// An error of the users file or the `gateway users` command line.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A line of the file is wrong.
    #[error("{}:{line}: {what}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// Its line number, from 1.
        line: usize,
        /// What is wrong with it.
        what: String,
    },
    /// No account of that name.
    #[error("unknown account \"{0}\"")]
    Unknown(String),
    /// The account exists already.
    #[error("account \"{0}\" exists already (use `rotate` for a new token)")]
    Duplicate(String),
    /// A password that cannot be used (the message never contains it).
    #[error("password refused: {0}")]
    BadPassword(&'static str),
    /// An account name that cannot be used.
    #[error("invalid account name \"{name}\": {why}")]
    InvalidName {
        /// The name given.
        name: String,
        /// Why it cannot be used.
        why: &'static str,
    },
}

impl UsersError {
    /// A [`UsersError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        UsersError::Io {
            path: path.into(),
            source,
        }
    }
}
