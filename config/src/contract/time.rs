//! Event timestamps on the wire: RFC 3339 with an offset, or integer epoch milliseconds.

use chrono::{DateTime, FixedOffset, SecondsFormat, TimeZone, Utc};

/// Epoch milliseconds below this are taken to be seconds sent by mistake (year 1973 in ms).
const MIN_PLAUSIBLE_MS: i64 = 100_000_000_000;

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TimeError {
    /// An RFC 3339 string that does not parse, or lacks its offset.
    #[error("ts \"{0}\" is not RFC 3339 with an offset (e.g. \"2026-11-22T10:00:05+08:00\")")]
    BadText(String),
    /// A number that looks like epoch seconds.
    #[error("ts {0} looks like epoch seconds; send epoch milliseconds")]
    Seconds(i64),
    /// A number out of the representable range or not an integer.
    #[error("ts {0} is not an integer epoch milliseconds value")]
    BadNumber(String),
}

/// Parses an RFC 3339 timestamp with offset into epoch milliseconds.
pub fn parse_text(s: &str) -> Result<i64, TimeError> {
    DateTime::<FixedOffset>::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| TimeError::BadText(truncate(s, 64)))
}

/// Checks an epoch-milliseconds integer.
pub fn check_millis(ms: i64) -> Result<i64, TimeError> {
    if (0..MIN_PLAUSIBLE_MS).contains(&ms) {
        return Err(TimeError::Seconds(ms));
    }
    if Utc.timestamp_millis_opt(ms).single().is_none() {
        return Err(TimeError::BadNumber(ms.to_string()));
    }
    Ok(ms)
}

/// RFC 3339 in UTC with milliseconds, the form the gateway writes.
pub fn format_millis(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// RFC 3339 in a fixed offset, the form devices in China send (`+08:00`).
pub fn format_millis_in(ms: i64, offset: FixedOffset) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| {
            t.with_timezone(&offset)
                .to_rfc3339_opts(SecondsFormat::Millis, false)
        })
        .unwrap_or_default()
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse_to_the_same_instant() {
        let a = parse_text("2026-11-22T10:00:05+08:00").unwrap();
        let b = check_millis(1_795_312_805_000).unwrap();
        assert_eq!(a, b);
        assert_eq!(format_millis(a), "2026-11-22T02:00:05.000Z");
    }

    #[test]
    fn naive_times_and_seconds_are_refused() {
        assert!(parse_text("2026-11-22T10:00:05").is_err());
        assert_eq!(
            check_millis(1_795_312_805),
            Err(TimeError::Seconds(1_795_312_805))
        );
    }
}
