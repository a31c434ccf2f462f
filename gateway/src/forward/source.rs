//! Reading what waits from the store, in order, into a [`Batch`]: this module's own SQLite
//! connection to the store file (WAL lets it read while the writer writes). Blocking: the
//! task calls it on the blocking pool. Cursors are saved by the store's writer.
//!
//! Each batch takes, in this order (rollups at most half of it while readings wait):
//! 0. alert transitions after the alert cursor (`alert_transition`, when the alert engine's
//!    table exists), so an alert is never stuck behind anything;
//! 1. rollups after each series' cursor (small, and what dashboards show, so they
//!    are never stuck behind a raw backlog);
//! 2. raw readings after the reading cursor. When more than `live_lane_after` readings wait
//!    (after an outage), a live lane opens at the head: each batch then carries the newest
//!    readings (up to half the batch) *and* the next slice of the backlog, oldest first; the
//!    lanes merge when the backlog reaches the point where the lane opened. So the server sees
//!    live data within `batch_age` while the backlog drains in order, as fast as the server
//!    accepts it.
//!
//! Loss: rows are never deleted except by the store's retention, and rowids are handed out
//! in commit order, so a rowid gap after the cursor is a reading pruned before it was sent;
//! gaps are counted (`gateway_forward_lost_total`). If the newest rows were pruned and their
//! rowids reused (a store idle for longer than the retention), the cursor steps back to the
//! newest row; re-sent points overwrite themselves. `VACUUM` renumbers rowids: never vacuum a
//! store with forward targets.
//!
//! Alerts: the alert engine stores each transition (its `AlertMsg` as JSON) in
//! `alert_transition` with an increasing `seq`; each becomes one `alert` point
//! ([`schema::alert`]).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use district::contract::alert::AlertMsg;
use district::contract::reading::Measurement;
use district::District;
use rusqlite::{params, Connection, OptionalExtension};

use super::batcher::Batch;
use super::cursor::{self, Cursor};
use super::schema;

/// The cursor key of one rollup series: district, entity and metric.
fn rollup_key(district: &str, entity: &str, metric: &str) -> String {
    format!("{district}/{entity}/{metric}")
}

/// A device row of the store, resolved against the served districts.
#[derive(Debug, Clone)]
struct Dev {
    district: String,
    device: String,
    /// (district index, device index) when the district still declares it.
    model: Option<(usize, usize)>,
}

/// What waits, for the backlog gauges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Raw readings not yet sent.
    pub readings: i64,
    /// Event time of the oldest waiting reading.
    pub oldest_ts: Option<i64>,
    /// Rollup values not yet sent, all districts.
    pub rollups: i64,
}

/// The store as seen by one target.
pub struct Source {
    conn: Connection,
    districts: Vec<Arc<District>>,
    devices: HashMap<i64, Dev>,
    live_lane_after: u64,
    readings: bool,
    rollups: bool,
    alerts_table: bool,
    series: Vec<Vec<(String, String)>>,
    series_at: Vec<std::time::Instant>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").finish_non_exhaustive()
    }
}

impl Source {
    /// Opens the store file `db` (created and migrated by [`crate::store::schema::open`]).
    pub fn open(
        db: &Path,
        districts: Vec<Arc<District>>,
        live_lane_after: u64,
        readings: bool,
        rollups: bool,
    ) -> rusqlite::Result<Self> {
        let conn = Connection::open(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Source {
            conn,
            districts,
            devices: HashMap::new(),
            live_lane_after,
            readings,
            rollups,
            alerts_table: false,
            series: Vec::new(),
            series_at: Vec::new(),
        })
    }

    /// The saved cursor of `target`, or `None` and the initial one for a new target (which
    /// the caller saves through the store's writer).
    pub fn cursor(&mut self, target: &str) -> rusqlite::Result<(Cursor, bool)> {
        if let Some(c) = cursor::load(&self.conn, target)? {
            return Ok((c, false));
        }
        Ok((cursor::initial(&self.conn)?, true))
    }

    /// Adds waiting rows to `batch` until it holds `limit` points or nothing waits.
    pub fn fill(&mut self, batch: &mut Batch, limit: usize) -> rusqlite::Result<()> {
        self.fill_alerts(batch, limit)?;
        // Rollups take at most half of the room while raw readings may wait, so neither
        // starves the other; whatever the readings leave goes to rollups again.
        if self.rollups {
            let share = if self.readings {
                batch.points() + limit.saturating_sub(batch.points()).div_ceil(2)
            } else {
                limit
            };
            for d in 0..self.districts.len() {
                self.fill_rollups(batch, d, share)?;
            }
        }
        if self.readings {
            self.fill_readings(batch, limit)?;
        }
        if self.rollups && self.readings {
            for d in 0..self.districts.len() {
                self.fill_rollups(batch, d, limit)?;
            }
        }
        Ok(())
    }

    fn fill_alerts(&mut self, batch: &mut Batch, limit: usize) -> rusqlite::Result<()> {
        if !self.alerts_table {
            self.alerts_table = self
                .conn
                .query_row(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alert_transition'",
                    [],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if !self.alerts_table {
                return Ok(());
            }
        }
        let room = limit.saturating_sub(batch.points()).max(1);
        let mut st = self.conn.prepare_cached(
            "SELECT seq, district, msg FROM alert_transition WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let mut rows = st.query(params![batch.next.alerts, room as i64])?;
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let district: String = r.get(1)?;
            let msg: String = r.get(2)?;
            let point = serde_json::from_str::<AlertMsg>(&msg)
                .ok()
                .and_then(|a| schema::alert(&district, &a));
            match point {
                Some(p) if p.write_to(&mut batch.body) => batch.alerts += 1,
                _ => batch.unmapped += 1,
            }
            batch.next.alerts = seq;
        }
        Ok(())
    }

    /// The (entity, metric) series of district `di` with rollups, found with a skip scan of
    /// the index (a few queries, whatever the table's size); refreshed every 10 s.
    fn series(&mut self, di: usize) -> rusqlite::Result<Vec<(String, String)>> {
        let fresh = self
            .series_at
            .get(di)
            .is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(10));
        if fresh {
            return Ok(self.series[di].clone());
        }
        let id = self.districts[di].id.clone();
        let mut found = Vec::new();
        let (mut e, mut m) = (String::new(), String::new());
        let mut st = self.conn.prepare_cached(
            "SELECT entity, metric FROM rollup INDEXED BY forward_rollup_by_series
             WHERE district = ?1 AND (entity, metric) > (?2, ?3) ORDER BY entity, metric LIMIT 1",
        )?;
        while let Some((ne, nm)) = st
            .query_row(params![id, e, m], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .optional()?
        {
            found.push((ne.clone(), nm.clone()));
            (e, m) = (ne, nm);
        }
        drop(st);
        if self.series.len() < self.districts.len() {
            self.series.resize(self.districts.len(), Vec::new());
            self.series_at
                .resize(self.districts.len(), std::time::Instant::now());
        }
        self.series[di] = found.clone();
        self.series_at[di] = std::time::Instant::now();
        Ok(found)
    }

    /// Rollups of district `di`, one minute of each (entity, metric) series per pass, until
    /// the batch holds `limit` points. Each series has its own cursor: rollups are written by
    /// more than one task (the live publisher, the parking flow task), each in minute order
    /// for its own series but not in step with the others.
    fn fill_rollups(&mut self, batch: &mut Batch, di: usize, limit: usize) -> rusqlite::Result<()> {
        let model = self.districts[di].clone();
        let id = model.id.as_str();
        let series = self.series(di)?;
        loop {
            let mut progress = false;
            for (entity, metric) in &series {
                if batch.points() >= limit {
                    return Ok(());
                }
                let key = rollup_key(id, entity, metric);
                let after = batch.next.rollups.get(&key).copied().unwrap_or(i64::MIN);
                let minute: Option<i64> = self
                    .conn
                    .prepare_cached(
                        "SELECT MIN(minute) FROM rollup INDEXED BY forward_rollup_by_series
                         WHERE district = ?1 AND entity = ?2 AND metric = ?3 AND minute > ?4",
                    )?
                    .query_row(params![id, entity, metric, after], |r| r.get(0))?;
                let Some(minute) = minute else { continue };
                let mut st = self.conn.prepare_cached(
                    "SELECT id, value FROM rollup INDEXED BY forward_rollup_by_series
                     WHERE district = ?1 AND entity = ?2 AND metric = ?3 AND minute = ?4",
                )?;
                let mut rows = st.query(params![id, entity, metric, minute])?;
                while let Some(r) = rows.next()? {
                    let eid: String = r.get(0)?;
                    let value: f64 = r.get(1)?;
                    let point =
                        schema::rollup_series(id, Some(&model), entity, &eid, metric, minute)
                            .and_then(|mut p| {
                                schema::rollup_field(&mut p, metric, value).then_some(p)
                            });
                    match point {
                        Some(p) if p.write_to(&mut batch.body) => batch.rollups += 1,
                        _ => batch.unmapped += 1,
                    }
                }
                batch.next.rollups.insert(key, minute);
                progress = true;
            }
            if !progress {
                return Ok(());
            }
        }
    }

    fn fill_readings(&mut self, batch: &mut Batch, limit: usize) -> rusqlite::Result<()> {
        let room = limit.saturating_sub(batch.points());
        if room == 0 {
            return Ok(());
        }
        let head: i64 =
            self.conn
                .query_row("SELECT IFNULL(MAX(rowid), 0) FROM reading", [], |r| {
                    r.get(0)
                })?;
        let c = &mut batch.next;
        if head < c.newest_sent() {
            // The newest rows were pruned and their rowids may be handed out again.
            tracing::warn!(
                head,
                cursor = c.newest_sent(),
                "store rowids went back (rows pruned at the head); the cursor follows"
            );
            c.done = c.done.min(head);
            c.live = None;
        }
        if c.live.is_none() && (head - c.done) as u64 > self.live_lane_after {
            c.live = Some((head, head));
        }
        match batch.next.live {
            Some((from, pos)) => {
                let live_room = (room / 2).max(1);
                let (n, pos) = self.read_range(batch, pos, None, live_room)?;
                let done = batch.next.done;
                let (_, done) = self.read_range(batch, done, Some(from), room.saturating_sub(n))?;
                batch.next.done = done;
                batch.next.live = Some((from, pos));
                if done >= from {
                    batch.next.done = pos;
                    batch.next.live = None;
                }
            }
            None => {
                let done = batch.next.done;
                let (_, done) = self.read_range(batch, done, None, room)?;
                batch.next.done = done;
            }
        }
        Ok(())
    }

    /// Reads readings with rowid in `(after, upto]`, at most `limit`; returns how many rows
    /// were read and the new position. Rowid gaps are counted as lost.
    fn read_range(
        &mut self,
        batch: &mut Batch,
        after: i64,
        upto: Option<i64>,
        limit: usize,
    ) -> rusqlite::Result<(usize, i64)> {
        if limit == 0 {
            return Ok((0, after));
        }
        let rows: Vec<(i64, i64, i64, String)> = {
            let mut st = self.conn.prepare_cached(
                "SELECT rowid, ts, device, value FROM reading WHERE rowid > ?1 AND rowid <= ?2
                 ORDER BY rowid LIMIT ?3",
            )?;
            let it = st.query_map(
                params![after, upto.unwrap_or(i64::MAX), limit as i64],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            it.collect::<Result<_, _>>()?
        };
        let mut expected = after + 1;
        for (rowid, ts, device, value) in &rows {
            batch.lost += (rowid - expected) as u64;
            expected = rowid + 1;
            let Some(dev) = self.device(*device)? else {
                batch.unmapped += 1;
                continue;
            };
            let Ok(m) = serde_json::from_str::<Measurement>(value) else {
                batch.unmapped += 1;
                continue;
            };
            let model = dev.model.map(|(d, i)| {
                let d = &self.districts[d];
                (&**d, &d.devices[i])
            });
            let p = schema::reading(&dev.district, &dev.device, model, *ts, &m);
            if p.write_to(&mut batch.body) {
                batch.readings += 1;
            }
        }
        let mut pos = expected - 1;
        if let Some(upto) = upto {
            if rows.len() < limit && pos < upto {
                batch.lost += (upto - pos) as u64;
                pos = upto;
            }
        }
        Ok((rows.len(), pos))
    }

    fn device(&mut self, id: i64) -> rusqlite::Result<Option<Dev>> {
        if let Some(d) = self.devices.get(&id) {
            return Ok(Some(d.clone()));
        }
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT district, device FROM device WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((district, device)) = row else {
            return Ok(None);
        };
        let model = self
            .districts
            .iter()
            .position(|d| d.id == district)
            .and_then(|di| self.districts[di].device_idx(&device).map(|i| (di, i)));
        let dev = Dev {
            district,
            device,
            model,
        };
        self.devices.insert(id, dev.clone());
        Ok(Some(dev))
    }

    /// What waits after `c`.
    pub fn backlog(&self, c: &Cursor) -> rusqlite::Result<Backlog> {
        let mut b = Backlog::default();
        if self.readings {
            let head: i64 =
                self.conn
                    .query_row("SELECT IFNULL(MAX(rowid), 0) FROM reading", [], |r| {
                        r.get(0)
                    })?;
            let lane = c.live.map_or(0, |(from, pos)| pos - from);
            b.readings = (head - c.done - lane).max(0);
            b.oldest_ts = self
                .conn
                .prepare_cached("SELECT ts FROM reading WHERE rowid > ?1 ORDER BY rowid LIMIT 1")?
                .query_row(params![c.done], |r| r.get(0))
                .optional()?;
        }
        if self.rollups {
            for (di, d) in self.districts.iter().enumerate() {
                for (entity, metric) in self.series.get(di).into_iter().flatten() {
                    let after = c
                        .rollups
                        .get(&rollup_key(&d.id, entity, metric))
                        .copied()
                        .unwrap_or(i64::MIN);
                    let n: i64 = self
                        .conn
                        .prepare_cached(
                            "SELECT COUNT(*) FROM rollup INDEXED BY forward_rollup_by_series
                             WHERE district = ?1 AND entity = ?2 AND metric = ?3 AND minute > ?4",
                        )?
                        .query_row(params![d.id, entity, metric, after], |r| r.get(0))?;
                    b.rollups += n;
                }
            }
        }
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hubin() -> Arc<District> {
        Arc::new(
            district::load(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../config/districts/hubin.toml"
            ))
            .unwrap(),
        )
    }

    /// A store with `n` area-counter readings (rowids 1..=n) and two minutes of zone rollups.
    fn store(n: i64) -> (tempfile::TempDir, std::path::PathBuf, Arc<District>) {
        let d = hubin();
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::schema::open(dir.path()).unwrap();
        let path = dir.path().join(crate::store::schema::FILE);
        let dev = d
            .devices
            .iter()
            .find(|v| matches!(v.role, district::Role::FootfallArea { .. }))
            .unwrap();
        conn.execute(
            "INSERT INTO device (id, district, device, kind) VALUES (1, ?1, ?2, 'footfall')",
            params![d.id, dev.id],
        )
        .unwrap();
        for i in 1..=n {
            conn.execute(
                "INSERT INTO reading (ts, device, seq, value) VALUES (?1, 1, ?2, ?3)",
                params![1_000 * i, i, format!("{{\"type\":\"area\",\"count\":{i}}}")],
            )
            .unwrap();
        }
        for minute in [60_000, 120_000] {
            for (metric, v) in [("people", 5.0), ("in", 1.0)] {
                conn.execute(
                    "INSERT INTO rollup VALUES (?1, 'zone', ?2, ?3, ?4, ?5)",
                    params![d.id, d.zones[0].id, metric, minute, v],
                )
                .unwrap();
            }
        }
        (dir, path, d)
    }

    #[test]
    fn rollups_come_first_then_readings_in_rowid_order() {
        let (_dir, path, d) = store(10);
        let mut s = Source::open(&path, vec![d.clone()], 1_000, true, true).unwrap();
        let c = s.cursor("t").unwrap().0;
        assert_eq!(c.done, 0);
        let mut b = Batch::new(&c);
        s.fill(&mut b, 10).unwrap();
        // Rollups take half the batch at most (here all 4: two minutes of people and in).
        assert_eq!((b.rollups, b.readings), (4, 6), "{}", b.body);
        let lines: Vec<&str> = b.body.lines().collect();
        assert!(
            lines[0].starts_with("zone,")
                && lines[0].contains(" in=1i ")
                && lines[0].ends_with(" 60000"),
            "{}",
            lines[0]
        );
        assert!(
            lines[4].starts_with("footfall,")
                && lines[4].contains("count=1i")
                && lines[4].ends_with(" 1000"),
            "{}",
            lines[4]
        );
        assert_eq!(b.next.done, 6);
        assert_eq!(
            b.next.rollups[&rollup_key(&d.id, "zone", "people")],
            120_000
        );
        cursor::save(&s.conn, "t", &b.next).unwrap();
        let c = s.cursor("t").unwrap().0;
        let bl = s.backlog(&c).unwrap();
        assert_eq!(
            bl,
            Backlog {
                readings: 4,
                oldest_ts: Some(7_000),
                rollups: 0
            }
        );
        let mut b = Batch::new(&c);
        s.fill(&mut b, 100).unwrap();
        assert_eq!((b.rollups, b.readings, b.lost), (0, 4, 0));
    }

    #[test]
    fn pruned_rows_the_cursor_had_not_reached_are_counted_as_lost() {
        let (_dir, path, d) = store(20);
        let mut s = Source::open(&path, vec![d], 1_000, true, false).unwrap();
        let c = s.cursor("t").unwrap().0;
        let mut b = Batch::new(&c);
        s.fill(&mut b, 5).unwrap();
        cursor::save(&s.conn, "t", &b.next).unwrap();
        // Retention prunes readings with ts < 12 s: rowids 6..=11 were never sent.
        s.conn
            .execute("DELETE FROM reading WHERE ts < 12000", [])
            .unwrap();
        let mut b = Batch::new(&b.next);
        s.fill(&mut b, 100).unwrap();
        assert_eq!((b.readings, b.lost, b.next.done), (9, 6, 20));
    }

    #[test]
    fn after_an_outage_a_live_lane_carries_new_rows_beside_the_backlog_in_order() {
        let (_dir, path, d) = store(100);
        let mut s = Source::open(&path, vec![d], 10, true, false).unwrap();
        let c = s.cursor("t").unwrap().0;
        let mut b = Batch::new(&c);
        s.fill(&mut b, 20).unwrap();
        // 100 waiting > 10: the lane opened at the head (100); nothing newer yet, so the whole
        // batch is backlog.
        assert_eq!(b.next.live, Some((100, 100)));
        assert_eq!((b.readings, b.next.done), (20, 20));
        // New rows arrive: half of each batch goes to them.
        let conn = Connection::open(&path).unwrap();
        for i in 101..=130 {
            conn.execute("INSERT INTO reading (ts, device, seq, value) VALUES (?1, 1, ?1, '{\"type\":\"area\",\"count\":1}')", params![1000 * i]).unwrap();
        }
        let mut b = Batch::new(&b.next);
        s.fill(&mut b, 20).unwrap();
        assert_eq!(b.next.live, Some((100, 110)));
        assert_eq!(b.next.done, 30);
        let ts: Vec<&str> = b
            .body
            .lines()
            .map(|l| l.rsplit(' ').next().unwrap())
            .collect();
        assert_eq!(ts[0], "101000", "live first");
        assert_eq!(ts[10], "21000", "then the backlog, in order");
        // Drain: the lanes merge once the backlog reaches the lane's start.
        let mut next = b.next;
        for _ in 0..20 {
            let mut b = Batch::new(&next);
            s.fill(&mut b, 20).unwrap();
            next = b.next;
        }
        assert_eq!(next.live, None);
        assert_eq!(next.done, 130);
    }

    #[test]
    fn when_the_newest_rows_were_pruned_the_cursor_steps_back() {
        let (_dir, path, d) = store(10);
        let mut s = Source::open(&path, vec![d], 1_000, true, false).unwrap();
        let mut b = Batch::new(&s.cursor("t").unwrap().0);
        s.fill(&mut b, 100).unwrap();
        assert_eq!(b.next.done, 10);
        s.conn
            .execute("DELETE FROM reading WHERE rowid > 7", [])
            .unwrap();
        let mut b2 = Batch::new(&b.next);
        s.fill(&mut b2, 100).unwrap();
        assert_eq!(b2.next.done, 7);
        s.conn.execute("INSERT INTO reading (ts, device, seq, value) VALUES (50000, 1, 50, '{\"type\":\"area\",\"count\":9}')", []).unwrap();
        let mut b3 = Batch::new(&b2.next);
        s.fill(&mut b3, 100).unwrap();
        assert_eq!(
            (b3.readings, b3.next.done),
            (1, 8),
            "the reused rowid 8 is sent"
        );
    }
}
