//! The usual spelling of an RFC 3339 timestamp, read without chrono.

use tripgate_model::time::NANOS_PER_SECOND;
use tripgate_model::Nanos;

/// The usual spelling of a timestamp, `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`,
/// without chrono. Other spellings RFC 3339 allows (lowercase `t` or `z`,
/// more than 9 fractional digits, a leap second) and dates outside
/// 1900-2199 return `None`, and the caller asks chrono.
pub(crate) fn timestamp(text: &str) -> Option<Nanos> {
    let bytes = text.as_bytes();
    // The fixed part as an array: every index below is known in bounds.
    let head: &[u8; 19] = bytes.get(..19)?.try_into().ok()?;
    if bytes.len() < 20
        || head[4] != b'-'
        || head[7] != b'-'
        || head[10] != b'T'
        || head[13] != b':'
        || head[16] != b':'
    {
        return None;
    }
    const DIGITS: [usize; 14] = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    // One test of all fourteen, without an early exit, so it unrolls.
    let not_digits = DIGITS
        .iter()
        .fold(false, |bad, &at| bad | !head[at].is_ascii_digit());
    if not_digits {
        return None;
    }
    let digit = |at: usize| i64::from(head[at] - b'0');
    let pair = |at: usize| digit(at) * 10 + digit(at + 1);
    let year = pair(0) * 100 + pair(2);
    let month = pair(5);
    let day = pair(8);
    let hour = pair(11);
    let minute = pair(14);
    let second = pair(17);
    let number = |from: usize, to: usize| -> Option<i64> {
        let mut total = 0;
        for &byte in &bytes[from..to] {
            let digit = byte.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            total = total * 10 + i64::from(digit);
        }
        Some(total)
    };
    if !(1900..2200).contains(&year)
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut position = 19;
    let mut fraction_nanos = 0;
    if bytes[position] == b'.' {
        let digits = bytes[position + 1..]
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        const SCALE: [i64; 10] = [
            1_000_000_000,
            100_000_000,
            10_000_000,
            1_000_000,
            100_000,
            10_000,
            1_000,
            100,
            10,
            1,
        ];
        fraction_nanos = number(position + 1, position + 1 + digits)? * SCALE[digits];
        position += 1 + digits;
    }
    let offset_seconds = match &bytes[position..] {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let hours = number(position + 1, position + 3)?;
            let minutes = number(position + 4, position + 6)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = hours * 3600 + minutes * 60;
            if *sign == b'-' {
                -seconds
            } else {
                seconds
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(seconds * NANOS_PER_SECOND + fraction_nanos)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_chrono() {
        use tripgate_model::time::parse_rfc3339;
        for text in [
            "2025-01-01T10:00:00Z",
            "2025-01-01T10:00:00.5Z",
            "2025-01-01T10:00:00.123456789Z",
            "2024-02-29T23:59:59.999+05:30",
            "2025-12-31T00:00:00-00:00",
            "2025-06-30T12:00:00-23:59",
            "1900-01-01T00:00:00+23:59",
            "2199-12-31T23:59:59.000000001Z",
            "2000-02-29T01:02:03.04-11:00",
        ] {
            assert_eq!(timestamp(text), parse_rfc3339(text), "{text}");
            assert!(timestamp(text).is_some(), "{text}");
        }
        for text in [
            "2025-02-29T10:00:00Z",
            "1900-02-29T10:00:00Z",
            "2025-01-01T10:00:60Z",
            "2025-01-01t10:00:00Z",
            "2025-01-01T10:00:00z",
            "2025-01-01T10:00:00",
            "2025-01-01T10:00:00.Z",
            "2025-01-01T10:00:00.1234567891Z",
            "2025-01-01T10:00:00+24:00",
            "2025-01-01T10:00:00+0100",
            "2025-01-01 10:00:00Z",
            "2025-13-01T10:00:00Z",
            "1899-12-31T23:59:59Z",
            "+025-01-01T10:00:00Z",
        ] {
            assert_eq!(timestamp(text), None, "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn timestamps_agree_with_chrono_everywhere(
            year in 1890i64..2210, month in 0i64..14, day in 0i64..33,
            hour in 0i64..25, minute in 0i64..61, second in 0i64..61,
            fraction in proptest::option::of("[0-9]{1,10}"),
            offset in proptest::option::of((proptest::bool::ANY, 0i64..25, 0i64..61)),
        ) {
            let fraction = fraction.map(|digits| format!(".{digits}")).unwrap_or_default();
            let offset = match offset {
                None => "Z".to_string(),
                Some((east, hours, minutes)) => {
                    format!("{}{hours:02}:{minutes:02}", if east { '+' } else { '-' })
                }
            };
            let text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}{offset}");
            if let Some(fast) = timestamp(&text) {
                proptest::prop_assert_eq!(Some(fast), tripgate_model::time::parse_rfc3339(&text), "{}", text);
            }
        }
    }
}
