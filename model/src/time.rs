//! Event time as integer nanoseconds since the Unix epoch (UTC).
//!
//! Integers keep durations exact (contract section 9, "Numbers") and make
//! window arithmetic plain addition.

use chrono::{DateTime, SecondsFormat, Utc};

/// Nanoseconds since 1970-01-01T00:00:00Z.
pub type Nanos = i64;

pub const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// Parses an RFC 3339 timestamp that carries an offset (`Z` or `+hh:mm`).
/// Returns `None` for anything else, including timestamps without offset.
/// The date and time must be separated by `T` (or `t`, which RFC 3339
/// allows); the space that some parsers also accept is refused, so that
/// `2025-01-01 10:00:00Z` is invalid everywhere.
pub fn parse_rfc3339(text: &str) -> Option<Nanos> {
    let bytes = text.as_bytes();
    if !matches!(bytes.get(10), Some(b'T' | b't')) {
        return None;
    }
    // Second 60 exists only at real leap seconds, which UTC-based event
    // time cannot place; chrono would quietly read it as the next second.
    if bytes.get(17..19) == Some(b"60") {
        return None;
    }
    let parsed = DateTime::parse_from_rfc3339(text).ok()?;
    parsed.timestamp_nanos_opt()
}

/// Formats a tick as an RFC 3339 UTC string ending in `Z`, with fractional
/// seconds only when the instant has them.
pub fn format_rfc3339(instant: Nanos) -> String {
    DateTime::<Utc>::from_timestamp_nanos(instant).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Current wall-clock time, for the edges (live mode, demo); the core never calls it.
pub fn wall_clock_now() -> Nanos {
    Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// Seconds as a float, for reporting durations.
pub fn nanos_to_seconds(nanos: i128) -> f64 {
    nanos as f64 / NANOS_PER_SECOND as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_normalised_to_utc() {
        let with_offset = parse_rfc3339("2025-01-01T11:02:30+01:00").unwrap();
        let utc = parse_rfc3339("2025-01-01T10:02:30Z").unwrap();
        assert_eq!(with_offset, utc);
        assert_eq!(format_rfc3339(utc), "2025-01-01T10:02:30Z");
    }

    #[test]
    fn timestamps_without_offset_are_refused() {
        assert_eq!(parse_rfc3339("2025-01-01T10:08:30"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2025-01-01 10:08:30Z"), None);
        assert_eq!(parse_rfc3339("2025-01-01T23:59:60Z"), None);
        assert!(parse_rfc3339("2025-01-01t10:08:30z").is_some());
    }

    #[test]
    fn fractional_seconds_are_kept_exactly() {
        let a = parse_rfc3339("2025-01-01T10:03:30.000Z").unwrap();
        let b = parse_rfc3339("2025-01-01T10:03:30.123456789Z").unwrap();
        assert_eq!(b - a, 123_456_789);
    }
}
