//! Reservations in the store, so that a restart finds them again: the SQL only. Saving runs
//! as a job of the store's one writer ([`crate::store::Write`]); loading at start-up.

use rusqlite::{params, Connection};

use super::reservation::{ResState, Reservation};

/// Writes (inserts or replaces) reservations of `district`.
pub fn save(conn: &Connection, district: &str, items: &[Reservation]) -> rusqlite::Result<()> {
    let mut st = conn.prepare_cached(
        "INSERT OR REPLACE INTO parking_reservation
             (district, id, lot, plate, from_ms, to_ms, created_ms, state, ended_ms, owner)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
    )?;
    for r in items {
        st.execute(params![
            district,
            r.id,
            r.lot,
            r.plate,
            r.from_ms,
            r.to_ms,
            r.created_ms,
            r.state.as_str(),
            r.ended_ms,
            r.owner
        ])?;
    }
    Ok(())
}

/// Every reservation of `district` that still holds or ended after `since`.
pub fn load(conn: &Connection, district: &str, since: i64) -> rusqlite::Result<Vec<Reservation>> {
    let mut st = conn.prepare(
        "SELECT id, lot, plate, from_ms, to_ms, created_ms, state, ended_ms, owner FROM parking_reservation
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
            owner: r.get(8)?,
        })
    })?;
    rows.collect()
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
                    owner: Some("wx-app".into()),
                },
                3,
                3,
                0,
            )
            .unwrap();
        let open = || crate::store::schema::open(dir.path()).unwrap();
        save(&open(), "d", std::slice::from_ref(&r)).unwrap();
        assert_eq!(load(&open(), "d", 0).unwrap(), vec![r]);
        assert!(load(&open(), "other", 0).unwrap().is_empty());
    }
}
