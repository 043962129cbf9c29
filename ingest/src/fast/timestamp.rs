//! The usual spelling of an RFC 3339 timestamp, read without chrono.

use std::cell::Cell;

use tripgate_model::time::NANOS_PER_SECOND;
use tripgate_model::Nanos;

/// The usual spelling of a timestamp, `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`,
/// without chrono. Other spellings RFC 3339 allows (lowercase `t` or `z`,
/// more than 9 fractional digits, a leap second) and dates outside
/// 1900-2199 return `None`, and the caller asks chrono.
pub(crate) fn timestamp(text: &str) -> Option<Nanos> {
    let (nanos, length) = leading_timestamp(text.as_bytes())?;
    (length == text.len()).then_some(nanos)
}

/// The timestamp `bytes` start with, in the spelling [`timestamp`] reads,
/// and how many bytes it takes: a string can be read as a timestamp
/// before its end is found.
pub(super) fn leading_timestamp(bytes: &[u8]) -> Option<(Nanos, usize)> {
    // The fixed part as an array: every index below is known in bounds.
    let head: &[u8; 19] = bytes.get(..19)?.try_into().ok()?;
    if bytes.len() < 20 || !time_part_is_well_formed(head) {
        return None;
    }
    let date = Date::of(head);
    let days = match LAST_DATES.get() {
        [(last, days), _] | [_, (last, days)] if last == date => days,
        [newest, _] => {
            let days = date.days(head)?;
            LAST_DATES.set([(date, days), newest]);
            days
        }
    };
    let hour = pair(head, 11);
    let minute = pair(head, 14);
    let second = pair(head, 17);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let (fraction_nanos, offset) = fraction(&bytes[19..])?;
    let (offset_seconds, offset_length) = offset_seconds(offset)?;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    let length = bytes.len() - offset.len() + offset_length;
    Some((seconds * NANOS_PER_SECOND + fraction_nanos, length))
}

thread_local! {
    /// The last two valid dates read on this thread, newest first, with
    /// their days since 1970-01-01. A log's timestamps mostly share their
    /// date with one read just before (two: an order's `promised_by` is
    /// usually a day or two after its `occurred_at`), and a date found here
    /// is valid and its days known: that spares about 95 of a timestamp's
    /// 270 instructions (callgrind). Starts as no dates: the bytes of
    /// `Date::NONE` are no `str`'s.
    static LAST_DATES: Cell<[(Date, i64); 2]> = const { Cell::new([(Date::NONE, 0); 2]) };
}

/// The ten bytes `YYYY-MM-DD` of a timestamp, as two words.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Date(u64, u16);

impl Date {
    /// 0xff bytes, which UTF-8 never holds.
    const NONE: Date = Date(u64::MAX, u16::MAX);

    fn of(head: &[u8; 19]) -> Date {
        Date(
            u64::from_le_bytes(head[..8].try_into().expect("8 bytes")),
            u16::from_le_bytes([head[8], head[9]]),
        )
    }

    /// Days since 1970-01-01 if `head` starts with a valid date from 1900
    /// to 2199; its day's digits were checked with the time's.
    fn days(self, head: &[u8; 19]) -> Option<i64> {
        const DATE: Template = Template::new(b"0000-00-");
        if !DATE.matches(self.0) {
            return None;
        }
        let year = pair(head, 0) * 100 + pair(head, 2);
        let month = pair(head, 5);
        let day = pair(head, 8);
        if !(1900..2200).contains(&year)
            || !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
        {
            return None;
        }
        Some(days_from_civil(year, month, day))
    }
}

/// The two digits at `at` (checked by a template) as a number.
fn pair(head: &[u8; 19], at: usize) -> i64 {
    i64::from(head[at] - b'0') * 10 + i64::from(head[at + 1] - b'0')
}

/// Whether `head` reads `..........DDTDD:DD:DD` (D a digit), tested eight
/// bytes at a time without a branch per byte: two words, overlapping by five
/// bytes, each against its template (the date's word is `Date::days`').
fn time_part_is_well_formed(head: &[u8; 19]) -> bool {
    const DAY_AND_HOUR: Template = Template::new(b"00T00:00");
    const TIME: Template = Template::new(b"00:00:00");
    let word = |at: usize| u64::from_le_bytes(head[at..at + 8].try_into().expect("8 bytes"));
    DAY_AND_HOUR.matches(word(8)) & TIME.matches(word(11))
}

/// Eight bytes a word must hold, `0` standing for any digit.
struct Template {
    /// 0xff on the digits.
    digits: u64,
    /// The other bytes, zero on the digits.
    separators: u64,
}

impl Template {
    const fn new(template: &[u8; 8]) -> Template {
        let mut digits = 0;
        let mut separators = 0;
        let mut index = 0;
        while index < 8 {
            if template[index] == b'0' {
                digits |= 0xff << (8 * index);
            } else {
                separators |= (template[index] as u64) << (8 * index);
            }
            index += 1;
        }
        Template { digits, separators }
    }

    /// A digit is a byte whose high nibble is 3 and stays 3 when 6 is
    /// added. Adding 6 carries into the next byte only from bytes 0xfa and
    /// up, which fail the nibble test themselves, so a carry never hides a
    /// bad byte.
    #[inline]
    fn matches(&self, word: u64) -> bool {
        let nibbles = 0xf0f0_f0f0_f0f0_f0f0 & self.digits;
        let threes = 0x3030_3030_3030_3030 & self.digits;
        ((word & !self.digits) == self.separators)
            & ((word & nibbles) == threes)
            & ((word.wrapping_add(0x0606_0606_0606_0606) & nibbles) == threes)
    }
}

/// After the seconds: the nanoseconds of an optional `.` and 1 to 9
/// digits, and the offset that follows them.
fn fraction(rest: &[u8]) -> Option<(i64, &[u8])> {
    let [b'.', digits @ ..] = rest else {
        return Some((0, rest));
    };
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
    let mut value = 0;
    let mut count = 0;
    for &byte in digits {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        value = value * 10 + i64::from(digit);
        count += 1;
        // More than 9 digits is the exotic spelling left to chrono.
        if count > 9 {
            return None;
        }
    }
    if count == 0 {
        return None;
    }
    Some((value * SCALE[count], &digits[count..]))
}

/// The `Z` or `±HH:MM` `offset` starts with, in seconds east of UTC, and
/// its length.
fn offset_seconds(offset: &[u8]) -> Option<(i64, usize)> {
    let [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2, ..] = offset else {
        return (offset.first() == Some(&b'Z')).then_some((0, 1));
    };
    let two_digits = |tens: u8, ones: u8| {
        let (tens, ones) = (tens.wrapping_sub(b'0'), ones.wrapping_sub(b'0'));
        (tens <= 9 && ones <= 9).then(|| i64::from(tens) * 10 + i64::from(ones))
    };
    let hours = two_digits(*h1, *h2)?;
    let minutes = two_digits(*m1, *m2)?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    let seconds = hours * 3600 + minutes * 60;
    Some((if *sign == b'-' { -seconds } else { seconds }, 6))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a Gregorian date from the year 1900 on (Howard
/// Hinnant's `days_from_civil`). Unsigned: with no year before 0, its
/// divisions need none of the fix-ups signed ones round with.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    debug_assert!(year >= 1900 && (1..=12).contains(&month) && day >= 1);
    let year = (if month <= 2 { year - 1 } else { year }) as u64;
    let (month, day) = (month as u64, day as u64);
    let era = year / 400;
    let year_of_era = year % 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    (era * 146_097 + day_of_era) as i64 - 719_468
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

    /// The dates read last are remembered (`LAST_DATES`): a date read again,
    /// a day that differs in its last digit only, a bad time on a date read
    /// before and a bad date in a month read before all read as chrono reads
    /// them.
    #[test]
    fn dates_read_before_read_as_chrono_reads_them() {
        use tripgate_model::time::parse_rfc3339;
        for text in [
            "2025-01-01T10:00:00Z",
            "2025-01-01T23:59:59.5Z",
            "2025-01-01T24:00:00Z",
            "2025-01-01T10:60:00Z",
            "2025-01-01T1a:00:00Z",
            "2025-01-02T10:00:00Z",
            "2025-01-01T10:00:00+01:00",
            "2025-02-28T10:00:00Z",
            "2025-02-29T10:00:00Z",
            "2024-02-29T10:00:00Z",
            "2025-02-29T10:00:00Z",
        ] {
            assert_eq!(timestamp(text), parse_rfc3339(text), "{text}");
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

        /// Timestamps on a few dates, so most find their date remembered.
        #[test]
        fn timestamps_on_few_dates_agree_with_chrono(
            stamps in proptest::collection::vec(
                (2023i64..2026, 1i64..4, 26i64..32, 0i64..25, 0i64..61),
                1..40,
            ),
        ) {
            for (year, month, day, hour, minute) in stamps {
                let text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:07Z");
                proptest::prop_assert_eq!(
                    timestamp(&text),
                    tripgate_model::time::parse_rfc3339(&text),
                    "{}",
                    text
                );
            }
        }
    }
}
