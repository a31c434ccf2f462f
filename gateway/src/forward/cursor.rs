//! Where each target stands, persisted in the store file in a table of this module's own
//! (`forward_cursor`), written only after the server accepted a batch.
//!
//! - Raw readings: `reading` is an append-only rowid table, so its rowid is commit order.
//!   `done` is the rowid up to which everything was sent. While a live lane runs (after an
//!   outage, see `source.rs`), rows in `(live_from, live_pos]` were sent too, and the backlog
//!   `(done, live_from]` drains beside it; when it is drained the lanes merge.
//! - Rollups: `rollup` has no rowid (primary key district, entity, id, metric, minute). Each
//!   (district, entity, metric) series is written by one task, minute after minute (the
//!   live publisher writes zones, lots, air and buildings; the parking task its flow
//!   statistics, later and on its own cadence), so each series has its own cursor: the last
//!   minute sent (key `district/entity/metric`).
//! - Alert transitions: `alert_transition.seq` (the alert engine's table), the last sent.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};

/// The position of one target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Every reading with rowid ≤ `done` was sent.
    pub done: i64,
    /// Live lane `(from, pos)`: readings in `(from, pos]` were sent too.
    pub live: Option<(i64, i64)>,
    /// Per rollup series (`district/entity/metric`): every minute ≤ this was sent.
    pub rollups: BTreeMap<String, i64>,
    /// Every alert transition with `seq` ≤ this was sent.
    pub alerts: i64,
}

impl Cursor {
    /// Rowid of the newest reading sent.
    pub fn newest_sent(&self) -> i64 {
        self.live.map_or(self.done, |(_, pos)| pos.max(self.done))
    }
}

/// The saved cursor of `target`, or `None` for a target never started.
pub fn load(conn: &Connection, target: &str) -> rusqlite::Result<Option<Cursor>> {
    let mut st =
        conn.prepare_cached("SELECT stream, key, position FROM forward_cursor WHERE target = ?1")?;
    let rows = st.query_map(params![target], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut c = Cursor::default();
    let (mut any, mut from, mut pos) = (false, None, None);
    for row in rows {
        let (stream, key, p) = row?;
        any = true;
        match (stream.as_str(), key.as_str()) {
            ("reading", "done") => c.done = p,
            ("reading", "live_from") => from = Some(p),
            ("reading", "live_pos") => pos = Some(p),
            ("alert", "seq") => c.alerts = p,
            ("rollup", d) => {
                c.rollups.insert(d.to_string(), p);
            }
            _ => {}
        }
    }
    c.live = from.zip(pos);
    Ok(any.then_some(c))
}

/// Saves the cursor of `target`, inside the caller's transaction (the gateway runs it as a
/// job of the store's writer, [`crate::store::StoreTx::write`]).
pub fn save(tx: &Connection, target: &str, c: &Cursor) -> rusqlite::Result<()> {
    {
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO forward_cursor (target, stream, key, position) VALUES (?1, ?2, ?3, ?4)",
        )?;
        put.execute(params![target, "reading", "done", c.done])?;
        match c.live {
            Some((from, pos)) => {
                put.execute(params![target, "reading", "live_from", from])?;
                put.execute(params![target, "reading", "live_pos", pos])?;
            }
            None => {
                tx.execute(
                    "DELETE FROM forward_cursor WHERE target = ?1 AND stream = 'reading' AND key IN ('live_from', 'live_pos')",
                    params![target],
                )?;
            }
        }
        put.execute(params![target, "alert", "seq", c.alerts])?;
        for (d, m) in &c.rollups {
            put.execute(params![target, "rollup", d, m])?;
        }
    }
    Ok(())
}

/// The cursor of a target seen for the first time: everything the store still holds is
/// waiting (a new target is backfilled), and what retention pruned before it existed is not
/// counted as lost.
pub fn initial(conn: &Connection) -> rusqlite::Result<Cursor> {
    let first: Option<i64> = conn
        .query_row("SELECT MIN(rowid) FROM reading", [], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(Cursor {
        done: first.map_or(0, |f| f - 1),
        ..Default::default()
    })
}

/// The saved cursor of `target` in the store in `data_dir` (operators, tests).
pub fn saved(
    data_dir: &std::path::Path,
    target: &str,
) -> Result<Option<Cursor>, crate::store::StoreError> {
    let conn = crate::store::schema::open(data_dir)?;
    Ok(load(&conn, target)?)
}

/// Operator tool: makes target `target` re-send every raw reading after rowid `done` (for
/// example to refill a server restored from an old backup). Run with the gateway stopped.
/// The re-sent points overwrite themselves where the server still has them.
pub fn rewind(
    data_dir: &std::path::Path,
    target: &str,
    done: i64,
) -> Result<(), crate::store::StoreError> {
    let mut conn = crate::store::schema::open(data_dir)?;
    let mut c = load(&conn, target)?.unwrap_or_default();
    c.done = done;
    c.live = None;
    let tx = conn.transaction()?;
    save(&tx, target, &c)?;
    Ok(tx.commit()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_a_reopen_and_the_live_lane_is_removed_when_merged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(crate::store::schema::FILE);
        let conn = crate::store::schema::open(dir.path()).unwrap();
        assert_eq!(load(&conn, "a").unwrap(), None);
        let mut c = Cursor {
            done: 10,
            live: Some((500, 620)),
            rollups: [("hubin".to_string(), 60_000)].into(),
            alerts: 3,
        };
        save(&conn, "a", &c).unwrap();
        save(&conn, "b", &Cursor::default()).unwrap();
        drop(conn);
        let conn = Connection::open(&path).unwrap();
        assert_eq!(load(&conn, "a").unwrap().unwrap(), c);
        assert_eq!(c.newest_sent(), 620);
        c.done = 620;
        c.live = None;
        save(&conn, "a", &c).unwrap();
        assert_eq!(load(&conn, "a").unwrap().unwrap(), c);
        assert_eq!(load(&conn, "b").unwrap().unwrap(), Cursor::default());
    }
}
