//! The embedded store: SQLite in WAL mode, durable against a process crash, needing no server.
//!
//! - [`schema`]: tables and pragmas.
//! - [`writer`]: one thread that commits readings, dead letters and rollups in group commits
//!   and hands back the MQTT acknowledgements of what it committed.
//! - [`reader`]: history queries for the API, and the start-up replay that rebuilds the live
//!   state and the duplicate windows.

pub mod reader;
pub mod schema;
pub mod writer;

pub use reader::Reader;
pub use writer::{start_writer, Ack, StoreMsg, StoreTx};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The data folder could not be made.
    #[error("store folder {path}: {source}")]
    Folder {
        /// Folder.
        path: std::path::PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}
