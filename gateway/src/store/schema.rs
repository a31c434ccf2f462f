//! Tables and pragmas of the embedded store.
//!
//! - `device`: one row per (district, device), so readings carry a small integer.
//! - `reading`: every accepted reading once: event time, device, seq, and the decoded
//!   measurement as compact JSON. A rowid table with an index on `ts` (append-mostly, the
//!   fast shape measured for SQLite here); retention deletes by `ts`.
//! - `rollup`: one value per (district, entity, id, metric, minute), kept longer.
//! - `deadletter`: every reject with its reason and (cut) payload.
//!
//! `synchronous = NORMAL` in WAL mode: a committed transaction survives a crash of the
//! process (kill -9); a power cut can lose the last commits (use `FULL` for that, at about
//! two thirds of the write rate).

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

/// The database file inside the data folder.
pub const FILE: &str = "gateway.sqlite";

/// Opens (creating if needed) the store in `dir`.
pub fn open(dir: &Path) -> Result<Connection, StoreError> {
    std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
        path: dir.to_path_buf(),
        source,
    })?;
    let conn = Connection::open(dir.join(FILE))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -16000;
         CREATE TABLE IF NOT EXISTS device (
             id INTEGER PRIMARY KEY,
             district TEXT NOT NULL,
             device TEXT NOT NULL,
             kind TEXT NOT NULL,
             UNIQUE (district, device));
         CREATE TABLE IF NOT EXISTS reading (
             ts INTEGER NOT NULL,
             device INTEGER NOT NULL,
             seq INTEGER,
             value TEXT NOT NULL);
         CREATE INDEX IF NOT EXISTS reading_ts ON reading (ts);
         CREATE TABLE IF NOT EXISTS rollup (
             district TEXT NOT NULL,
             entity TEXT NOT NULL,
             id TEXT NOT NULL,
             metric TEXT NOT NULL,
             minute INTEGER NOT NULL,
             value REAL NOT NULL,
             PRIMARY KEY (district, entity, id, metric, minute)) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS deadletter (
             received INTEGER NOT NULL,
             district TEXT NOT NULL,
             topic TEXT NOT NULL,
             reason TEXT NOT NULL,
             detail TEXT NOT NULL,
             payload BLOB NOT NULL);",
    )?;
    Ok(conn)
}
