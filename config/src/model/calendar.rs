//! The district's local calendar: time zone, opening hours, public holidays.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// What kind of day a local date is, for footfall patterns and forecasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayKind {
    /// Monday to Friday.
    Workday,
    /// Saturday or Sunday.
    Weekend,
    /// A public holiday from the district file.
    Holiday,
}

/// Time zone, opening hours and holidays of a district.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// IANA time zone.
    pub timezone: Tz,
    /// Opening time (local).
    pub open: NaiveTime,
    /// Closing time (local); before `open` means after midnight.
    pub close: NaiveTime,
    /// Public holidays (local dates).
    pub holidays: BTreeSet<NaiveDate>,
    /// Local time of the nightly re-baseline of zone counts.
    pub rebaseline_at: NaiveTime,
}

impl Calendar {
    /// The local date of an instant.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.timezone).date_naive()
    }

    /// The local time of day of an instant.
    pub fn local_time(&self, t: DateTime<Utc>) -> NaiveTime {
        t.with_timezone(&self.timezone).time()
    }

    /// Workday, weekend or holiday.
    pub fn day_kind(&self, date: NaiveDate) -> DayKind {
        if self.holidays.contains(&date) {
            DayKind::Holiday
        } else if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            DayKind::Weekend
        } else {
            DayKind::Workday
        }
    }

    /// Whether shops are open at this instant.
    pub fn is_open(&self, t: DateTime<Utc>) -> bool {
        let now = self.local_time(t);
        if self.open <= self.close {
            now >= self.open && now < self.close
        } else {
            now >= self.open || now < self.close
        }
    }

    /// The instant local midnight began on the local date of `t` ("today" starts there).
    pub fn start_of_day(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        self.at_local(self.local_date(t), NaiveTime::MIN)
    }

    /// The instant of a local date and time (the earlier one across a DST fold).
    pub fn at_local(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let naive = date.and_time(time);
        match self.timezone.from_local_datetime(&naive).earliest() {
            Some(t) => t.with_timezone(&Utc),
            // A gap (spring forward): take the instant one hour later.
            None => self
                .timezone
                .from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&naive)),
        }
    }

    /// The most recent re-baseline instant at or before `t`.
    pub fn last_rebaseline(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let date = self.local_date(t);
        let today = self.at_local(date, self.rebaseline_at);
        if today <= t {
            today
        } else {
            self.at_local(date.pred_opt().unwrap_or(date), self.rebaseline_at)
        }
    }
}
