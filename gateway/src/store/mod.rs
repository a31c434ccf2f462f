//! The embedded store: SQLite in WAL mode, durable against a process crash, needing no server.
//!
//! - [`schema`]: tables and pragmas.
//! - [`writer`]: one thread that commits readings, dead letters and rollups in group commits,
//!   decides through the store's identity key which readings are new and which are copies,
//!   and hands back the verdicts and MQTT acknowledgements of what it committed.
//! - [`ack`]: where each acknowledgement goes after commit (broker or device connection).
//! - [`reader`]: history queries for the API, and the start-up replay that rebuilds the live
//!   state.

pub mod ack;
pub mod reader;
pub mod schema;
pub mod writer;

pub use ack::{Ack, DeviceAcks};
pub use reader::Reader;
pub use writer::{start_writer, StoreMsg, StoreTx, Write, WriteError};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The store was written by a newer gateway (a later schema version).
    #[error("store schema version {found} is newer than this gateway knows ({known}): run the newer gateway, or restore a backup made by this version")]
    NewerSchema {
        /// Version found in the store.
        found: u32,
        /// Newest version this gateway knows.
        known: u32,
    },
    /// The data folder could not be made.
    #[error("store folder {path}: {source}")]
    Folder {
        /// Folder.
        path: std::path::PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}
