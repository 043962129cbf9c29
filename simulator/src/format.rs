//! Contract events written straight into strings.
//!
//! The simulator produces millions of events, so lines are built with plain pushes instead of
//! `serde_json::Value` trees. That is safe because every string it writes is an id from the
//! contract's alphabet `[A-Za-z0-9._:-]` or a fixed type name: nothing ever needs escaping.

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

pub(crate) fn push_u64(buf: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for &digit in &digits[start..] {
        buf.push(digit as char);
    }
}

fn push_padded(buf: &mut String, value: u64, width: usize) {
    let mut divisor = 10u64.pow(width as u32 - 1);
    while divisor > 0 {
        buf.push((b'0' + (value / divisor % 10) as u8) as char);
        divisor /= 10;
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`), so formatting needs no calendar library per event.
fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as u64, day as u64)
}

/// RFC 3339 in UTC with `Z`: milliseconds when the instant is whole milliseconds (all the
/// simulator produces), nanoseconds otherwise, so the text is always exact.
pub(crate) fn push_timestamp(buf: &mut String, nanos: i64) {
    let seconds = nanos.div_euclid(NANOS_PER_SECOND);
    let fraction = nanos.rem_euclid(NANOS_PER_SECOND) as u64;
    let (year, month, day) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY) as u64;
    push_padded(buf, year.clamp(0, 9999) as u64, 4);
    buf.push('-');
    push_padded(buf, month, 2);
    buf.push('-');
    push_padded(buf, day, 2);
    buf.push('T');
    push_padded(buf, second_of_day / 3600, 2);
    buf.push(':');
    push_padded(buf, second_of_day / 60 % 60, 2);
    buf.push(':');
    push_padded(buf, second_of_day % 60, 2);
    buf.push('.');
    if fraction.is_multiple_of(1_000_000) {
        push_padded(buf, fraction / 1_000_000, 3);
    } else {
        push_padded(buf, fraction, 9);
    }
    buf.push('Z');
}

/// Money from integer cents, always with two decimals (`12.50`).
pub(crate) fn push_money(buf: &mut String, cents: i64) {
    let cents = cents.max(0) as u64;
    push_u64(buf, cents / 100);
    buf.push('.');
    push_padded(buf, cents % 100, 2);
}

/// Opens an event object with the three fields every event has.
pub(crate) fn start_event(buf: &mut String, event_number: u64, event_type: &str, occurred_at: i64) {
    buf.push_str("{\"event_id\":\"ev-");
    push_u64(buf, event_number);
    buf.push_str("\",\"type\":\"");
    buf.push_str(event_type);
    buf.push_str("\",\"occurred_at\":\"");
    push_timestamp(buf, occurred_at);
    buf.push('"');
}

/// Adds `,"name":"prefix-number"`, the shape of every generated order and ticket id.
pub(crate) fn push_numbered_id(buf: &mut String, field: &str, prefix: &str, number: u64) {
    buf.push_str(",\"");
    buf.push_str(field);
    buf.push_str("\":\"");
    buf.push_str(prefix);
    push_u64(buf, number);
    buf.push('"');
}

/// Adds `,"name":"value"` for a value that is already a safe id or enum word.
pub(crate) fn push_text(buf: &mut String, field: &str, value: &str) {
    buf.push_str(",\"");
    buf.push_str(field);
    buf.push_str("\":\"");
    buf.push_str(value);
    buf.push('"');
}

pub(crate) fn push_timestamp_field(buf: &mut String, field: &str, nanos: i64) {
    buf.push_str(",\"");
    buf.push_str(field);
    buf.push_str("\":\"");
    push_timestamp(buf, nanos);
    buf.push('"');
}

pub(crate) fn push_money_field(buf: &mut String, field: &str, cents: i64) {
    buf.push_str(",\"");
    buf.push_str(field);
    buf.push_str("\":");
    push_money(buf, cents);
}

pub(crate) fn push_integer_field(buf: &mut String, field: &str, value: u64) {
    buf.push_str(",\"");
    buf.push_str(field);
    buf.push_str("\":");
    push_u64(buf, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripgate_model::time::parse_rfc3339;

    #[test]
    fn timestamps_round_trip_through_the_contract_parser() {
        let samples = [
            0,
            1_735_689_600_000_000_000,   // 2025-01-01
            1_709_164_800_123_000_000,   // 2024-02-29, a leap day
            4_102_444_799_999_000_000,   // 2099-12-31T23:59:59.999
            1_735_689_600_000_000_001,   // not whole milliseconds
            951_782_400_000_000_000 - 1, // just before 2000-02-29
        ];
        for nanos in samples {
            let mut text = String::new();
            push_timestamp(&mut text, nanos);
            assert!(text.ends_with('Z'), "{text}");
            assert_eq!(parse_rfc3339(&text), Some(nanos), "{text}");
        }
        let mut text = String::new();
        push_timestamp(&mut text, 1_709_164_800_123_000_000);
        assert_eq!(text, "2024-02-29T00:00:00.123Z");
    }

    #[test]
    fn every_day_of_a_few_centuries_matches_chrono() {
        for day in (-1000..60_000).step_by(7) {
            let nanos = day * SECONDS_PER_DAY * NANOS_PER_SECOND + 3_723_000_000_000;
            let mut text = String::new();
            push_timestamp(&mut text, nanos);
            assert_eq!(parse_rfc3339(&text), Some(nanos), "{text}");
        }
    }

    #[test]
    fn money_has_two_decimals() {
        let mut text = String::new();
        push_money(&mut text, 1250);
        push_text(&mut text, "x", "y");
        push_money_field(&mut text, "amount", 7);
        assert_eq!(text, "12.50,\"x\":\"y\",\"amount\":0.07");
    }
}
