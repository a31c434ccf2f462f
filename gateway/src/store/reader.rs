//! Reading the store: history for the API, counts for tests and operators, and the start-up
//! replay of recent readings.

use std::path::Path;
use std::sync::Mutex;

use district::contract::reading::{Measurement, Reading};
use rusqlite::{params, Connection, OpenFlags};

use super::{schema, StoreError};

/// A read-only connection (WAL lets it read while the writer writes).
#[derive(Debug)]
pub struct Reader {
    conn: Mutex<Connection>,
}

/// One replayed reading.
#[derive(Debug, Clone)]
pub struct Replayed {
    /// District id.
    pub district: String,
    /// Device id.
    pub device: String,
    /// The reading.
    pub reading: Reading,
    /// Its row (commit order).
    pub rowid: i64,
}

impl Reader {
    /// Opens the store in `dir` for reading (the writer must have created it).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let conn =
            Connection::open_with_flags(dir.join(schema::FILE), OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Reader {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs another domain's read-only SQL (alerts, reservations) on this connection.
    /// Blocking: call it on the blocking pool.
    pub fn with<T, E: Into<StoreError>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, StoreError> {
        f(&self.conn()).map_err(Into::into)
    }

    /// A metric's minute rollups in `[from, to]`, aggregated per `step_ms` bucket: the mean for
    /// levels (people, free, aqi, kw, ...) and the sum for counts (`in`, `out`, `entries`, `exits`).
    #[allow(clippy::too_many_arguments)]
    pub fn history(
        &self,
        district: &str,
        entity: &str,
        id: &str,
        metric: &str,
        from: i64,
        to: i64,
        step_ms: i64,
    ) -> Result<Vec<(i64, f64)>, StoreError> {
        let step = step_ms.max(60_000);
        let agg = if matches!(metric, "in" | "out" | "entries" | "exits") {
            "SUM"
        } else {
            "AVG"
        };
        let sql = format!(
            "SELECT ((minute - 1) / ?6) * ?6 + ?6 AS bucket, {agg}(value) FROM rollup
             WHERE district = ?1 AND entity = ?2 AND id = ?3 AND metric = ?4 AND minute BETWEEN ?5 AND ?7
             GROUP BY bucket ORDER BY bucket"
        );
        let conn = self.conn();
        let mut st = conn.prepare_cached(&sql)?;
        let rows = st.query_map(params![district, entity, id, metric, from, step, to], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Accepted readings per device of a district.
    pub fn counts_per_device(&self, district: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT d.device, COUNT(*) FROM reading r JOIN device d ON d.id = r.device
             WHERE d.district = ?1 GROUP BY d.device ORDER BY d.device",
        )?;
        let rows = st.query_map(params![district], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Readings stored in total.
    pub fn reading_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM reading", [], |r| r.get(0))?)
    }

    /// Dead letters per reason.
    pub fn deadletters_per_reason(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT reason, COUNT(*) FROM deadletter GROUP BY reason ORDER BY reason",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every reading with event time at or after `since`, in commit order, for the replay.
    pub fn replay(&self, since: i64, each: impl FnMut(Replayed)) -> Result<u64, StoreError> {
        self.replay_district(None, since, each)
    }

    /// As [`Reader::replay`], for one district only (`None`: all).
    pub fn replay_district(
        &self,
        district: Option<&str>,
        since: i64,
        mut each: impl FnMut(Replayed),
    ) -> Result<u64, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT d.district, d.device, r.ts, r.seq, r.value, r.rowid FROM reading r JOIN device d ON d.id = r.device
             WHERE r.ts >= ?1 AND (?2 IS NULL OR d.district = ?2) ORDER BY r.rowid",
        )?;
        let mut rows = st.query(params![since, district])?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            let value: String = row.get(4)?;
            let Ok(value) = serde_json::from_str::<Measurement>(&value) else {
                continue;
            };
            let seq: Option<i64> = row.get(3)?;
            each(Replayed {
                district: row.get(0)?,
                device: row.get(1)?,
                reading: Reading {
                    ts_ms: row.get(2)?,
                    seq: seq.map(|s| s as u64),
                    value,
                },
                rowid: row.get(5)?,
            });
            n += 1;
        }
        Ok(n)
    }
}
