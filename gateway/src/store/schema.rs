//! Tables, pragmas and the schema version of the embedded store.
//!
//! - `device`: one row per (district, device), so readings carry a small integer.
//! - `reading`: every accepted reading exactly once: event time, device, seq, and the decoded
//!   measurement as compact JSON. A rowid table (the forwarder's cursors are rowids, handed
//!   out in commit order). Its identity is the unique index `reading_identity` on
//!   `(ts, device, IFNULL(seq, -1))`: a reading is the same reading when the same device sent
//!   it with the same event time and the same sequence number (or none). Not `seq` alone,
//!   because counters restart on a reboot and LoRaWAN frame counters on a rejoin. Event time
//!   leads the key, the shape measured fastest for appends here; the same index serves
//!   retention (`DELETE ... WHERE ts < ?`) and the replay's range scan. `seq` is at most
//!   9·10¹⁵ (the contract's limit), so −1 can never be a real sequence number.
//! - `rollup`: one value per (district, entity, id, metric, minute), kept longer.
//! - `deadletter`: every reject with its reason and (cut) payload.
//! - The alert history, reservations (their booking account since migration 3) and the
//!   forwarders' cursors (migration 2), used by
//!   [`crate::alerts::db`], [`crate::parking`] and [`crate::forward`] on connections of their
//!   own, opened through [`open`] so that every table is at this version first.
//!
//! The version of this layout is SQLite's `PRAGMA user_version`, stepped by [`MIGRATIONS`]
//! (each runs once, in its own transaction, in order). A store written by a newer gateway
//! is refused rather than guessed at.
//!
//! `synchronous = NORMAL` in WAL mode: a committed transaction survives a crash of the
//! process (kill -9); a power cut can lose the last commits (use `FULL` for that, at about
//! two thirds of the write rate).

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

/// The database file inside the data folder.
pub const FILE: &str = "gateway.sqlite";

/// The store's identity expression for `seq` (absent = −1); used by every query that looks a
/// reading up by its identity, so that SQLite uses `reading_identity`.
pub const SEQ_KEY: &str = "IFNULL(seq, -1)";

/// Migration `i` takes the store from version `i` to `i + 1`.
///
/// 1. The baseline tables, and reading identity: duplicates that a store written before the
///    identity existed may hold are deleted (the first copy stays), then the unique index
///    replaces the plain index on `ts`.
/// 2. Every other table of the data folder, defined here rather than by the module using it:
///    the alert history (`alert_transition`, `alert_action`, `alert_delivery`), reservations
///    (`parking_reservation`) and the forwarders' cursors (`forward_cursor`), with the index
///    the forwarder's rollup queries use. A store written before this version already has
///    them (each module created its own); `IF NOT EXISTS` keeps them as they are.
/// 3. The API account that booked each reservation (`parking_reservation.owner`; NULL for
///    those booked before API accounts existed).
/// 4. Webhook deliveries no longer keep the robot's URL (it carries the robot's access
///    token): the URL and any signature are made when the request is sent, from the
///    configuration. The URLs of deliveries already done are wiped; pending ones keep theirs
///    until sent, then lose it.
pub const MIGRATIONS: &[&str] = &["CREATE TABLE IF NOT EXISTS device (
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
     DELETE FROM reading WHERE rowid NOT IN (
         SELECT MIN(rowid) FROM reading GROUP BY ts, device, IFNULL(seq, -1));
     DROP INDEX IF EXISTS reading_ts;
     CREATE UNIQUE INDEX reading_identity ON reading (ts, device, IFNULL(seq, -1));
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
    "CREATE TABLE IF NOT EXISTS alert_transition (
         seq INTEGER PRIMARY KEY, district TEXT NOT NULL, alert TEXT NOT NULL, rule TEXT NOT NULL,
         subject TEXT NOT NULL, kind TEXT NOT NULL, severity INTEGER NOT NULL, at INTEGER NOT NULL,
         by TEXT, msg TEXT NOT NULL);
     CREATE INDEX IF NOT EXISTS alert_transition_alert ON alert_transition (alert);
     CREATE TABLE IF NOT EXISTS alert_action (
         seq INTEGER PRIMARY KEY, district TEXT NOT NULL, alert TEXT NOT NULL, action TEXT NOT NULL,
         who TEXT NOT NULL, note TEXT NOT NULL, at INTEGER NOT NULL, outcome TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS alert_delivery (
         id INTEGER PRIMARY KEY, alert TEXT NOT NULL, transition INTEGER NOT NULL, webhook TEXT NOT NULL,
         url TEXT NOT NULL, body TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL,
         attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, status TEXT NOT NULL,
         last_error TEXT, delivered_at INTEGER);
     CREATE INDEX IF NOT EXISTS alert_delivery_pending ON alert_delivery (status, next_at);
     CREATE TABLE IF NOT EXISTS parking_reservation (
         district TEXT NOT NULL, id TEXT NOT NULL, lot TEXT NOT NULL, plate TEXT NOT NULL,
         from_ms INTEGER NOT NULL, to_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL,
         state TEXT NOT NULL, ended_ms INTEGER,
         PRIMARY KEY (district, id));
     CREATE TABLE IF NOT EXISTS forward_cursor (
         target TEXT NOT NULL,
         stream TEXT NOT NULL,
         key TEXT NOT NULL,
         position INTEGER NOT NULL,
         PRIMARY KEY (target, stream, key)) WITHOUT ROWID;
     DROP INDEX IF EXISTS forward_rollup_by_minute;
     CREATE INDEX IF NOT EXISTS forward_rollup_by_series ON rollup (district, entity, metric, minute);",
    "ALTER TABLE parking_reservation ADD COLUMN owner TEXT;",
    "UPDATE alert_delivery SET url = '' WHERE status != 'pending';",
];

/// The schema version this gateway writes.
pub const VERSION: u32 = MIGRATIONS.len() as u32;

/// Opens (creating or migrating if needed) the store in `dir`.
pub fn open(dir: &Path) -> Result<Connection, StoreError> {
    std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut conn = Connection::open(dir.join(FILE))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -16000;",
    )?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// The store's schema version (0 for a store from before versions existed).
pub fn version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Runs every migration the store has not had yet.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found = version(conn)?;
    if found > VERSION {
        return Err(StoreError::NewerSchema {
            found,
            known: VERSION,
        });
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", from as u32 + 1)?;
        tx.commit()?;
        tracing::info!(version = from + 1, "store schema migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_store_is_at_the_current_version_and_refuses_a_second_copy() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(dir.path()).unwrap();
        assert_eq!(version(&conn).unwrap(), VERSION);
        let ins =
            "INSERT OR IGNORE INTO reading (ts, device, seq, value) VALUES (?1, ?2, ?3, '{}')";
        let n = |ts: i64, dev: i64, seq: Option<i64>| conn.execute(ins, (ts, dev, seq)).unwrap();
        assert_eq!(n(1000, 1, Some(7)), 1);
        assert_eq!(n(1000, 1, Some(7)), 0, "same device, ts and seq");
        assert_eq!(n(1000, 1, Some(8)), 1, "another seq");
        assert_eq!(n(1000, 2, Some(7)), 1, "another device");
        assert_eq!(
            n(2000, 1, Some(7)),
            1,
            "seq restarted after a reboot: a new ts"
        );
        assert_eq!(n(3000, 1, None), 1);
        assert_eq!(n(3000, 1, None), 0, "no seq: ts alone");
        drop(conn);
        // Reopening runs no migration again and keeps the rows.
        let conn = open(dir.path()).unwrap();
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM reading", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 5);
    }

    #[test]
    fn a_store_from_before_versions_loses_its_duplicates_and_gains_the_identity() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join(FILE)).unwrap();
            conn.execute_batch(
                "CREATE TABLE reading (ts INTEGER NOT NULL, device INTEGER NOT NULL, seq INTEGER, value TEXT NOT NULL);
                 CREATE INDEX reading_ts ON reading (ts);
                 INSERT INTO reading VALUES (1, 1, 5, 'first'), (1, 1, 5, 'copy'), (1, 1, NULL, 'a'),
                     (1, 1, NULL, 'a copy'), (2, 1, 5, 'other');",
            )
            .unwrap();
        }
        let conn = open(dir.path()).unwrap();
        assert_eq!(version(&conn).unwrap(), VERSION);
        let kept: Vec<String> = conn
            .prepare("SELECT value FROM reading ORDER BY rowid")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(kept, ["first", "a", "other"]);
        let old_index: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'reading_ts'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old_index, 0);
    }

    #[test]
    fn a_store_from_a_newer_gateway_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join(FILE)).unwrap();
            conn.pragma_update(None, "user_version", VERSION + 1)
                .unwrap();
        }
        let err = open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("newer"), "{err}");
    }
}
