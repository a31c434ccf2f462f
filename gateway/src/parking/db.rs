//! Reservations in the gateway's SQLite file, through their own connection (they are few and
//! written at once), so that a restart finds them again.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection};

use super::reservation::{ResState, Reservation};

/// The reservation table.
#[derive(Debug)]
pub struct ReservationDb {
    conn: Mutex<Connection>,
}

impl ReservationDb {
    /// Opens (and creates) the table in the store folder.
    pub fn open(dir: &Path) -> Result<Self, crate::store::StoreError> {
        // Opened through the store's schema: the table is defined and migrated there.
        let conn = crate::store::schema::open(dir)?;
        Ok(ReservationDb {
            conn: Mutex::new(conn),
        })
    }

    /// Writes (inserts or replaces) reservations of `district`.
    pub fn save(&self, district: &str, items: &[Reservation]) -> rusqlite::Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let mut c = self.conn.lock().expect("reservation db lock");
        let tx = c.transaction()?;
        for r in items {
            tx.execute(
                "INSERT OR REPLACE INTO parking_reservation VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                params![
                    district,
                    r.id,
                    r.lot,
                    r.plate,
                    r.from_ms,
                    r.to_ms,
                    r.created_ms,
                    r.state.as_str(),
                    r.ended_ms
                ],
            )?;
        }
        tx.commit()
    }

    /// Every reservation of `district` that still holds or ended after `since`.
    pub fn load(&self, district: &str, since: i64) -> rusqlite::Result<Vec<Reservation>> {
        let c = self.conn.lock().expect("reservation db lock");
        let mut st = c.prepare(
            "SELECT id, lot, plate, from_ms, to_ms, created_ms, state, ended_ms FROM parking_reservation
             WHERE district = ?1 AND (state = 'booked' OR ended_ms >= ?2) ORDER BY created_ms, id",
        )?;
        let rows = st.query_map(params![district, since], |r| {
            Ok(Reservation {
                id: r.get(0)?,
                lot: r.get(1)?,
                plate: r.get(2)?,
                from_ms: r.get(3)?,
                to_ms: r.get(4)?,
                created_ms: r.get(5)?,
                state: ResState::parse(&r.get::<_, String>(6)?).unwrap_or(ResState::Expired),
                ended_ms: r.get(7)?,
            })
        })?;
        rows.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parking::reservation::{Book, Request};

    #[test]
    fn reservations_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = Book::default();
        let r = b
            .reserve(
                Request {
                    lot: "a".into(),
                    plate: "P1".into(),
                    from_ms: 0,
                    to_ms: 1000,
                },
                3,
                3,
                0,
            )
            .unwrap();
        ReservationDb::open(dir.path())
            .unwrap()
            .save("d", std::slice::from_ref(&r))
            .unwrap();
        let again = ReservationDb::open(dir.path())
            .unwrap()
            .load("d", 0)
            .unwrap();
        assert_eq!(again, vec![r]);
        assert!(ReservationDb::open(dir.path())
            .unwrap()
            .load("other", 0)
            .unwrap()
            .is_empty());
    }
}
