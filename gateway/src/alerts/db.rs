//! Alert history, operator audit trail and webhook deliveries, in the gateway's store.
//!
//! Writes ([`record`], [`audit`], [`delivered`], [`failed`]) are SQL run as jobs of the
//! store's one writer ([`crate::store::Write`]); reads go through [`AlertDb`], a read-only
//! connection, called on the blocking pool.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use district::contract::alert::AlertMsg;
use rusqlite::{params, Connection, OptionalExtension};

/// Why the alert database failed.
pub type DbError = rusqlite::Error;

/// The alerts' tables.
#[derive(Debug)]
pub struct AlertDb {
    conn: Mutex<Connection>,
}

/// A webhook delivery waiting to be sent.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Row id.
    pub id: i64,
    /// Webhook name.
    pub webhook: String,
    /// The URL of a delivery queued by an earlier release (with its body already made), else
    /// empty: the request is made from the webhook's configuration when it is sent.
    pub url: String,
    /// The alert message (JSON), or a queued body of an earlier release.
    pub body: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Give up after this (wall ms).
    pub expires: i64,
}

/// One operator action of the audit trail: (action, who, note, at, outcome).
pub type AuditRow = (String, String, String, i64, String);

/// A filter for listing alert transitions.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this alert.
    pub alert: Option<String>,
    /// Only this rule.
    pub rule: Option<String>,
    /// Only at or above this severity rank (0 info … 4 critical).
    pub min_severity: Option<u8>,
    /// Only transitions at or after this (clock ms).
    pub since: Option<i64>,
    /// At most this many, newest first.
    pub limit: usize,
}

impl AlertDb {
    /// Opens the store in `dir` for reading the alert tables (created and migrated by the
    /// store's schema before).
    pub fn open(dir: &Path) -> Result<Self, crate::store::StoreError> {
        let conn = Connection::open_with_flags(
            dir.join(crate::store::schema::FILE),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(AlertDb {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Transitions of a district, newest first.
    pub fn transitions(&self, district: &str, f: &Filter) -> Result<Vec<AlertMsg>, DbError> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT msg FROM alert_transition WHERE district = ?1 AND (?2 IS NULL OR alert = ?2) AND (?3 IS NULL OR rule = ?3)
             AND severity >= ?4 AND at >= ?5 ORDER BY seq DESC LIMIT ?6",
        )?;
        let rows = st.query_map(
            params![
                district,
                f.alert,
                f.rule,
                f.min_severity.unwrap_or(0),
                f.since.unwrap_or(i64::MIN),
                f.limit.max(1) as i64
            ],
            |r| r.get::<_, String>(0),
        )?;
        Ok(rows
            .filter_map(|r| r.ok())
            .filter_map(|s| serde_json::from_str(&s).ok())
            .collect())
    }

    /// The audit trail of an alert, oldest first: (action, who, note, at, outcome).
    pub fn actions(&self, alert: &str) -> Result<Vec<AuditRow>, DbError> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT action, who, note, at, outcome FROM alert_action WHERE alert = ?1 ORDER BY seq",
        )?;
        let rows = st.query_map(params![alert], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        rows.collect()
    }

    /// Deliveries due at `wall_now`, oldest first.
    pub fn due(&self, wall_now: i64, limit: usize) -> Result<Vec<Delivery>, DbError> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT id, webhook, url, body, attempts, expires FROM alert_delivery WHERE status = 'pending' AND next_at <= ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = st.query_map(params![wall_now, limit as i64], |r| {
            Ok(Delivery {
                id: r.get(0)?,
                webhook: r.get(1)?,
                url: r.get(2)?,
                body: r.get(3)?,
                attempts: r.get(4)?,
                expires: r.get(5)?,
            })
        })?;
        rows.collect()
    }

    /// Deliveries by status.
    pub fn delivery_counts(&self) -> Result<Vec<(String, i64)>, DbError> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT status, COUNT(*) FROM alert_delivery GROUP BY status ORDER BY status",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    }

    /// The latest message of every open alert of `district` ([`last_open`]).
    pub fn last_open(&self, district: &str) -> Result<Vec<AlertMsg>, DbError> {
        last_open(&self.conn(), district)
    }

    /// The id of any alert of `district` (to tell unknown ids from closed ones).
    pub fn exists(&self, alert: &str) -> Result<bool, DbError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM alert_transition WHERE alert = ?1 LIMIT 1",
                params![alert],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}

/// A webhook delivery to queue with a transition: (webhook name, expires wall ms). The row
/// keeps the alert message, never the robot's URL or a signature: those are made when it is
/// sent.
pub type NewDelivery = (String, i64);

/// Stores a transition and its webhook deliveries; returns its sequence.
pub fn record(
    conn: &Connection,
    district: &str,
    m: &AlertMsg,
    at: i64,
    by: Option<&str>,
    deliveries: &[NewDelivery],
    wall_now: i64,
) -> Result<i64, DbError> {
    conn.prepare_cached(
        "INSERT INTO alert_transition (district, alert, rule, subject, kind, severity, at, by, msg) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![district, m.id, m.rule, m.subject, m.transition, m.severity as u8, at, by, serde_json::to_string(m).unwrap_or_default()])?;
    let seq = conn.last_insert_rowid();
    let mut ins = conn.prepare_cached(
        "INSERT INTO alert_delivery (alert, transition, webhook, url, body, created, expires, next_at, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6, 'pending')",
    )?;
    let body = serde_json::to_string(m).unwrap_or_default();
    for (webhook, expires) in deliveries {
        ins.execute(params![m.id, seq, webhook, "", body, wall_now, expires])?;
    }
    Ok(seq)
}

/// Records an operator action (accepted or refused) in the audit trail.
#[allow(clippy::too_many_arguments)]
pub fn audit(
    conn: &Connection,
    district: &str,
    alert: &str,
    action: &str,
    who: &str,
    note: &str,
    at: i64,
    outcome: &str,
) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO alert_action (district, alert, action, who, note, at, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![district, alert, action, who, note, at, outcome])?;
    Ok(())
}

/// Marks a delivery done.
pub fn delivered(conn: &Connection, id: i64, wall_now: i64) -> Result<(), DbError> {
    conn.execute(
        "UPDATE alert_delivery SET status = 'delivered', delivered_at = ?2, attempts = attempts + 1, url = '' WHERE id = ?1",
        params![id, wall_now],
    )?;
    Ok(())
}

/// Records a failed attempt: retried at `next_at`, or expired.
pub fn failed(
    conn: &Connection,
    id: i64,
    error: &str,
    next_at: Option<i64>,
) -> Result<(), DbError> {
    match next_at {
        Some(t) => conn.execute(
            "UPDATE alert_delivery SET attempts = attempts + 1, last_error = ?2, next_at = ?3 WHERE id = ?1",
            params![id, error, t],
        )?,
        None => conn.execute(
            "UPDATE alert_delivery SET attempts = attempts + 1, last_error = ?2, status = 'expired', url = '' WHERE id = ?1",
            params![id, error],
        )?,
    };
    Ok(())
}

/// The latest message of every alert of `district` whose latest transition is not
/// `cleared`, oldest first (the open list after a restart).
pub fn last_open(conn: &Connection, district: &str) -> Result<Vec<AlertMsg>, DbError> {
    let mut st = conn.prepare_cached(
        "SELECT t.msg FROM alert_transition t JOIN (SELECT alert, MAX(seq) AS s FROM alert_transition WHERE district = ?1 GROUP BY alert) l
         ON t.seq = l.s WHERE t.kind != 'cleared' ORDER BY t.seq",
    )?;
    let rows = st.query_map(params![district], |r| r.get::<_, String>(0))?;
    Ok(rows
        .filter_map(|r| r.ok())
        .filter_map(|s| serde_json::from_str(&s).ok())
        .collect())
}
