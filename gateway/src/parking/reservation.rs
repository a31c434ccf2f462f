//! The reservation book of one district, pure: book a space in a lot for a time window,
//! refuse over-booking, cancel, expire, and mark a reservation used when a car arrives.
//!
//! A reservation holds a space from `from` to `to` (clock ms): while it holds, the space counts
//! as taken on signs, in the lot's `reserved` and as an `R` bay. It stops holding when a car
//! arrives in its lot during the window (a bay turning occupied, or an entry: the oldest held
//! reservation of the lot is marked used), when it is cancelled, or when `to` passes.
//!
//! Capacity: at no moment may more than `limit` reservations of a lot hold at once (the lot's
//! reservable share); a window that starts now also needs a space free now that is not
//! already held.

use serde::Serialize;

/// Where a reservation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResState {
    /// Booked; holds a space during its window.
    Booked,
    /// A car arrived during the window.
    Used,
    /// Cancelled by the driver.
    Cancelled,
    /// The window passed without a car.
    Expired,
}

impl ResState {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResState::Booked => "booked",
            ResState::Used => "used",
            ResState::Cancelled => "cancelled",
            ResState::Expired => "expired",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "booked" => ResState::Booked,
            "used" => ResState::Used,
            "cancelled" => ResState::Cancelled,
            "expired" => ResState::Expired,
            _ => return None,
        })
    }
}

/// One reservation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reservation {
    /// Id (`rsv-N`).
    pub id: String,
    /// Lot id.
    pub lot: String,
    /// Number plate.
    pub plate: String,
    /// Window start, clock ms.
    pub from_ms: i64,
    /// Window end, clock ms.
    pub to_ms: i64,
    /// When booked.
    pub created_ms: i64,
    /// State.
    pub state: ResState,
    /// When it stopped holding (used, cancelled, expired).
    pub ended_ms: Option<i64>,
    /// The API account that booked it (None: booked before accounts existed); a
    /// `parking-app` account sees and cancels only its own.
    pub owner: Option<String>,
}

impl Reservation {
    /// True if it holds a space at `now`.
    pub fn holds(&self, now: i64) -> bool {
        self.state == ResState::Booked && self.from_ms <= now && now < self.to_ms
    }
}

/// Why a booking or a cancellation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    /// The window is not usable.
    #[error("bad window: {0}")]
    BadWindow(String),
    /// Too many reservations would hold at once.
    #[error("lot \"{lot}\" is fully booked for that window: at most {limit} reservations may hold at once")]
    OverBooked {
        /// Lot.
        lot: String,
        /// Its limit.
        limit: u32,
    },
    /// No space free now.
    #[error("lot \"{0}\" has no free space now")]
    NoFreeSpace(String),
    /// Unknown id.
    #[error("no reservation \"{0}\"")]
    NotFound(String),
    /// Already used, cancelled or expired.
    #[error("reservation \"{0}\" is already {1}")]
    Ended(String, &'static str),
}

/// A booking request.
#[derive(Debug, Clone)]
pub struct Request {
    /// Lot id.
    pub lot: String,
    /// Plate.
    pub plate: String,
    /// Window start, clock ms.
    pub from_ms: i64,
    /// Window end, clock ms.
    pub to_ms: i64,
    /// The API account booking it.
    pub owner: Option<String>,
}

/// Longest window accepted.
pub const MAX_WINDOW_MS: i64 = 24 * 3_600_000;

/// The reservations of one district.
#[derive(Debug, Clone, Default)]
pub struct Book {
    items: Vec<Reservation>,
    next: u64,
}

impl Book {
    /// A book holding `items` (loaded from the store).
    pub fn from_items(items: Vec<Reservation>) -> Self {
        let next = items
            .iter()
            .filter_map(|r| r.id.strip_prefix("rsv-")?.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        Book { items, next }
    }

    /// Every reservation, oldest first.
    pub fn items(&self) -> &[Reservation] {
        &self.items
    }

    /// One by id.
    pub fn get(&self, id: &str) -> Option<&Reservation> {
        self.items.iter().find(|r| r.id == id)
    }

    /// Reservations of `lot` holding at `now`.
    pub fn held(&self, lot: &str, now: i64) -> u32 {
        self.items
            .iter()
            .filter(|r| r.lot == lot && r.holds(now))
            .count() as u32
    }

    /// Most reservations of `lot` holding at once within `[from, to)`.
    fn peak(&self, lot: &str, from: i64, to: i64) -> u32 {
        let live: Vec<&Reservation> = self
            .items
            .iter()
            .filter(|r| {
                r.lot == lot && r.state == ResState::Booked && r.from_ms < to && from < r.to_ms
            })
            .collect();
        std::iter::once(from)
            .chain(live.iter().map(|r| r.from_ms).filter(|&t| t > from))
            .map(|t| {
                live.iter()
                    .filter(|r| r.from_ms <= t && t < r.to_ms)
                    .count() as u32
            })
            .max()
            .unwrap_or(0)
    }

    /// Books `req`. `limit` is the lot's reservable share; `free_now` its free spaces now
    /// (before reservations), checked when the window has begun.
    pub fn reserve(
        &mut self,
        req: Request,
        limit: u32,
        free_now: u32,
        now: i64,
    ) -> Result<Reservation, BookError> {
        let from = req.from_ms.max(now);
        if req.to_ms <= from {
            return Err(BookError::BadWindow(
                "`to` must be after `from` and in the future".into(),
            ));
        }
        if req.to_ms.saturating_sub(req.from_ms) > MAX_WINDOW_MS {
            return Err(BookError::BadWindow("a window may be at most 24 h".into()));
        }
        if req.plate.trim().is_empty() || req.plate.chars().count() > 16 {
            return Err(BookError::BadWindow(
                "`plate` must have 1 to 16 characters".into(),
            ));
        }
        if self.peak(&req.lot, from, req.to_ms) >= limit {
            return Err(BookError::OverBooked {
                lot: req.lot,
                limit,
            });
        }
        if from <= now && self.held(&req.lot, now) >= free_now {
            return Err(BookError::NoFreeSpace(req.lot));
        }
        self.next += 1;
        let r = Reservation {
            id: format!("rsv-{}", self.next),
            lot: req.lot,
            plate: req.plate.trim().to_string(),
            from_ms: from,
            to_ms: req.to_ms,
            created_ms: now,
            state: ResState::Booked,
            ended_ms: None,
            owner: req.owner,
        };
        self.items.push(r.clone());
        Ok(r)
    }

    /// Cancels a booked reservation.
    pub fn cancel(&mut self, id: &str, now: i64) -> Result<Reservation, BookError> {
        let r = self
            .items
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| BookError::NotFound(id.into()))?;
        if r.state != ResState::Booked {
            return Err(BookError::Ended(id.into(), r.state.as_str()));
        }
        r.state = ResState::Cancelled;
        r.ended_ms = Some(now);
        Ok(r.clone())
    }

    /// `n` cars arrived in `lot`: the oldest reservations holding now are used.
    pub fn arrive(&mut self, lot: &str, n: u64, now: i64) -> Vec<Reservation> {
        let mut changed = Vec::new();
        let mut idx: Vec<usize> = (0..self.items.len())
            .filter(|&i| self.items[i].lot == lot && self.items[i].holds(now))
            .collect();
        idx.sort_by_key(|&i| (self.items[i].from_ms, i));
        for i in idx.into_iter().take(n as usize) {
            let r = &mut self.items[i];
            r.state = ResState::Used;
            r.ended_ms = Some(now);
            changed.push(r.clone());
        }
        changed
    }

    /// Expires every booked reservation whose window is over; forgets ended ones older than
    /// `forget_before`.
    pub fn expire(&mut self, now: i64, forget_before: i64) -> Vec<Reservation> {
        let mut changed = Vec::new();
        for r in &mut self.items {
            if r.state == ResState::Booked && r.to_ms <= now {
                r.state = ResState::Expired;
                r.ended_ms = Some(r.to_ms);
                changed.push(r.clone());
            }
        }
        self.items.retain(|r| {
            r.state == ResState::Booked || r.ended_ms.unwrap_or(i64::MAX) >= forget_before
        });
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn req(from: i64, to: i64) -> Request {
        Request {
            lot: "a".into(),
            plate: "浙A12345".into(),
            from_ms: from,
            to_ms: to,
            owner: None,
        }
    }

    #[test]
    fn over_booking_is_refused_by_overlap_only() {
        let mut b = Book::default();
        b.reserve(req(H, 3 * H), 2, 100, 0).unwrap();
        b.reserve(req(2 * H, 4 * H), 2, 100, 0).unwrap();
        // 2h..3h already has two: refused.
        let e = b.reserve(req(2 * H + 1, 2 * H + 2), 2, 100, 0).unwrap_err();
        assert!(matches!(e, BookError::OverBooked { limit: 2, .. }), "{e}");
        assert!(e.to_string().contains("fully booked"));
        // Before and after the overlap: fine (touching ends do not overlap).
        b.reserve(req(0, H), 2, 100, 0).unwrap();
        b.reserve(req(3 * H, 5 * H), 2, 100, 0).unwrap();
        assert!(b.reserve(req(3 * H, 4 * H), 2, 100, 0).is_err());
        // Another lot has its own capacity.
        let mut other = req(2 * H, 3 * H);
        other.lot = "b".into();
        assert!(b.reserve(other, 2, 100, 0).is_ok());
    }

    #[test]
    fn cancel_frees_the_window_and_bad_windows_are_refused() {
        let mut b = Book::default();
        let r = b.reserve(req(H, 2 * H), 1, 10, 0).unwrap();
        assert_eq!(r.id, "rsv-1");
        assert!(b.reserve(req(H, 2 * H), 1, 10, 0).is_err());
        b.cancel(&r.id, 10).unwrap();
        assert!(matches!(
            b.cancel(&r.id, 11),
            Err(BookError::Ended(_, "cancelled"))
        ));
        assert!(b.reserve(req(H, 2 * H), 1, 10, 0).is_ok());
        assert!(matches!(
            b.reserve(req(2 * H, H), 5, 10, 0),
            Err(BookError::BadWindow(_))
        ));
        assert!(matches!(
            b.reserve(req(0, 30 * H), 5, 10, 0),
            Err(BookError::BadWindow(_))
        ));
        assert!(matches!(b.cancel("rsv-99", 0), Err(BookError::NotFound(_))));
    }

    #[test]
    fn holds_until_used_or_expired_and_needs_a_free_space_now() {
        let mut b = Book::default();
        b.reserve(req(0, H), 5, 2, 0).unwrap();
        b.reserve(req(0, H), 5, 2, 0).unwrap();
        assert_eq!(b.held("a", 1), 2);
        assert!(matches!(
            b.reserve(req(0, H), 5, 2, 0),
            Err(BookError::NoFreeSpace(_))
        ));
        let used = b.arrive("a", 1, 10);
        assert_eq!(used.len(), 1);
        assert_eq!(used[0].id, "rsv-1", "the oldest is used first");
        assert_eq!(b.held("a", 11), 1);
        let gone = b.expire(H, 0);
        assert_eq!(gone[0].state, ResState::Expired);
        assert_eq!(b.held("a", H), 0);
        let reloaded = Book::from_items(b.items().to_vec());
        assert_eq!(reloaded.next, 2, "ids continue after a restart");
    }
}
