//! A hand-rolled parser for the events producers actually send, building
//! the same value tree as `json::parse` in a fraction of the time.
//!
//! It answers only when it is sure: an object with no escapes in any string,
//! no repeated key, known fields holding scalars and `lines` an array of
//! objects. Anything else (escapes, duplicates, syntax errors, deep nesting,
//! numbers serde_json would read differently) returns `None`, and the caller
//! takes the serde_json path, which owns every rejection and its detail. So
//! the two paths can only disagree on documents this one accepts, and debug
//! builds check those against serde_json on every decode.

use std::borrow::Cow;

use tripgate_model::time::NANOS_PER_SECOND;
use tripgate_model::Nanos;

use crate::json::Value;
use crate::schema::{EVENT_FIELDS, LINES_FIELD, LINE_FIELDS};

/// serde_json stops at 128 levels; bailing out well before keeps this
/// parser's recursion shallow and the limit serde_json's to report.
const MAX_DEPTH: usize = 64;
/// Unknown keys of one object are compared pairwise to find repeats; past
/// this many the serde_json path (with its hash set) is cheaper.
const MAX_UNKNOWN_KEYS: usize = 32;

/// The top-level object's kept fields, as `json::parse` keeps them.
pub(crate) fn parse(text: &str) -> Option<Vec<(&'static str, Value<'_>)>> {
    let mut cursor = Cursor { text, position: 0 };
    cursor.skip_whitespace();
    let fields = cursor.object(&EVENT_FIELDS, Kept::Event)?;
    cursor.skip_whitespace();
    (cursor.position == text.len()).then_some(fields)
}

/// Debug builds (and so every test) compare each fast answer with serde_json's.
#[cfg(debug_assertions)]
pub(crate) fn assert_agrees(text: &str, fields: &[(&'static str, Value<'_>)]) {
    let slow = crate::json::parse(text).expect("the fast path accepted invalid JSON");
    assert!(
        slow.duplicate.is_none(),
        "the fast path missed a duplicate in {text}"
    );
    let Value::Object(slow_fields) = &slow.value else {
        panic!("the fast path accepted a non-object: {text}");
    };
    assert_eq!(
        slow_fields.as_slice(),
        fields,
        "the fast path disagrees on {text}"
    );
}

/// What the kept fields of an object hold.
#[derive(Clone, Copy, PartialEq)]
enum Kept {
    /// The event: scalars, and `lines`.
    Event,
    /// One line: scalars only.
    Line,
}

struct Cursor<'de> {
    text: &'de str,
    position: usize,
}

impl<'de> Cursor<'de> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.position).copied()
    }

    fn skip_whitespace(&mut self) {
        let bytes = self.text.as_bytes();
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = bytes.get(self.position) {
            self.position += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        if self.peek() == Some(byte) {
            self.position += 1;
            Some(())
        } else {
            None
        }
    }

    /// An object whose `known` keys are kept; the opening brace is next.
    fn object(
        &mut self,
        known: &'static [&'static str],
        kept: Kept,
    ) -> Option<Vec<(&'static str, Value<'de>)>> {
        self.eat(b'{')?;
        let mut fields = Vec::with_capacity(known.len().min(12));
        let mut seen_known: u32 = 0;
        let mut unknown: Vec<&'de str> = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.position += 1;
            return Some(fields);
        }
        loop {
            self.eat(b'"')?;
            let key = self.string_body()?;
            self.eat(b':')?;
            let slot = match kept {
                Kept::Event => event_slot(key),
                Kept::Line => line_slot(key),
            };
            match slot {
                Some(slot) => {
                    if seen_known & (1 << slot) != 0 {
                        return None;
                    }
                    seen_known |= 1 << slot;
                    let value = if kept == Kept::Event && key == LINES_FIELD {
                        self.lines()?
                    } else {
                        self.scalar()?
                    };
                    fields.push((known[slot], value));
                }
                None => {
                    if unknown.contains(&key) || unknown.len() == MAX_UNKNOWN_KEYS {
                        return None;
                    }
                    unknown.push(key);
                    self.skip_value(1)?;
                }
            }
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.position += 1,
                b'}' => {
                    self.position += 1;
                    return Some(fields);
                }
                _ => return None,
            }
            self.skip_whitespace();
        }
    }

    /// `lines`: an array of line objects, nothing else.
    fn lines(&mut self) -> Option<Value<'de>> {
        self.eat(b'[')?;
        let mut lines = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.position += 1;
            return Some(Value::Array(lines));
        }
        loop {
            lines.push(Value::Object(self.object(&LINE_FIELDS, Kept::Line)?));
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.position += 1,
                b']' => {
                    self.position += 1;
                    return Some(Value::Array(lines));
                }
                _ => return None,
            }
        }
    }

    /// A string, number, boolean or null.
    fn scalar(&mut self) -> Option<Value<'de>> {
        self.skip_whitespace();
        match self.peek()? {
            b'"' => {
                self.position += 1;
                Some(Value::String(Cow::Borrowed(self.string_body()?)))
            }
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Null),
            _ => None,
        }
    }

    fn literal(&mut self, word: &str, value: Value<'de>) -> Option<Value<'de>> {
        let rest = &self.text.as_bytes()[self.position..];
        rest.starts_with(word.as_bytes()).then(|| {
            self.position += word.len();
            value
        })
    }

    /// The rest of a string whose opening quote was read. Escapes and
    /// control characters send the document to serde_json.
    fn string_body(&mut self) -> Option<&'de str> {
        let bytes = self.text.as_bytes();
        let start = self.position;
        let mut end = start;
        // Eight bytes at a time up to the first one that needs a look.
        while let Some(chunk) = bytes.get(end..end + 8) {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            if needs_a_look(word) {
                break;
            }
            end += 8;
        }
        loop {
            match *bytes.get(end)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => end += 1,
            }
        }
        self.position = end + 1;
        // Both ends sit next to an ASCII quote, so they are char boundaries.
        self.text.get(start..end)
    }

    /// A number token, read as serde_json reads it: integers that fit a u64
    /// as `Unsigned`, negative ones that fit an i64 as `Negative`, fractions
    /// and exponents as a correctly rounded double. `-0` and integers past
    /// 64 bits go to serde_json, which has its own rules for them.
    fn number(&mut self) -> Option<Value<'de>> {
        let bytes = self.text.as_bytes();
        let start = self.position;
        let negative = bytes.get(start) == Some(&b'-');
        let mut end = start + usize::from(negative);
        let digits = |end: &mut usize| {
            let from = *end;
            while bytes.get(*end).is_some_and(u8::is_ascii_digit) {
                *end += 1;
            }
            *end - from
        };
        match bytes.get(end)? {
            b'0' => end += 1,
            b'1'..=b'9' => {
                digits(&mut end);
            }
            _ => return None,
        }
        let integer_end = end;
        if bytes.get(end) == Some(&b'.') {
            end += 1;
            if digits(&mut end) == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = bytes.get(end) {
            end += 1;
            if let Some(b'+' | b'-') = bytes.get(end) {
                end += 1;
            }
            if digits(&mut end) == 0 {
                return None;
            }
        }
        self.position = end;
        let token = &self.text[start..end];
        if end == integer_end {
            if !negative {
                return token.parse::<u64>().ok().map(Value::Unsigned);
            }
            return match token.parse::<i64>() {
                Ok(0) | Err(_) => None,
                Ok(value) => Some(Value::Negative(value)),
            };
        }
        // Rust's parser and serde_json's float_roundtrip both round
        // correctly, so they agree on every finite result.
        let value: f64 = token.parse().ok()?;
        value.is_finite().then_some(Value::Float(value))
    }

    /// Any value, checked for syntax and repeated keys and then dropped.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_whitespace();
        match self.peek()? {
            b'{' => {
                self.position += 1;
                let mut keys: Vec<&'de str> = Vec::new();
                self.skip_whitespace();
                if self.peek() == Some(b'}') {
                    self.position += 1;
                    return Some(());
                }
                loop {
                    self.eat(b'"')?;
                    let key = self.string_body()?;
                    if keys.contains(&key) || keys.len() == MAX_UNKNOWN_KEYS {
                        return None;
                    }
                    keys.push(key);
                    self.eat(b':')?;
                    self.skip_value(depth + 1)?;
                    self.skip_whitespace();
                    match self.peek()? {
                        b',' => self.position += 1,
                        b'}' => {
                            self.position += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                    self.skip_whitespace();
                }
            }
            b'[' => {
                self.position += 1;
                self.skip_whitespace();
                if self.peek() == Some(b']') {
                    self.position += 1;
                    return Some(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    self.skip_whitespace();
                    match self.peek()? {
                        b',' => self.position += 1,
                        b']' => {
                            self.position += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            _ => self.scalar().map(drop),
        }
    }
}

/// The position of `key` in `EVENT_FIELDS`: a `match` compiles to length
/// tests and word compares, several times cheaper than scanning the list.
fn event_slot(key: &str) -> Option<usize> {
    Some(match key {
        "event_id" => 0,
        "type" => 1,
        "occurred_at" => 2,
        "order_id" => 3,
        "channel" => 4,
        "region" => 5,
        "warehouse" => 6,
        "promised_by" => 7,
        "lines" => 8,
        "amount" => 9,
        "carrier" => 10,
        "sku" => 11,
        "quantity" => 12,
        "reason" => 13,
        "ticket_id" => 14,
        "category" => 15,
        "priority" => 16,
        _ => return None,
    })
}

/// The position of `key` in `LINE_FIELDS`.
fn line_slot(key: &str) -> Option<usize> {
    Some(match key {
        "sku" => 0,
        "quantity" => 1,
        "unit_price" => 2,
        "unit_cost" => 3,
        _ => return None,
    })
}

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `word` is a quote, a backslash or a control
/// character (the classic SWAR zero-byte test; it may flag a byte after a
/// real match, never miss one, and the byte-wise scan settles it).
fn needs_a_look(word: u64) -> bool {
    let zero_byte = |x: u64| x.wrapping_sub(LOW_BITS) & !x & HIGH_BITS;
    let quote = zero_byte(word ^ (LOW_BITS * u64::from(b'"')));
    let backslash = zero_byte(word ^ (LOW_BITS * u64::from(b'\\')));
    let control = word.wrapping_sub(LOW_BITS * 0x20) & !word & HIGH_BITS;
    quote | backslash | control != 0
}

/// The usual spelling of a timestamp, `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`,
/// without chrono. Other spellings RFC 3339 allows (lowercase `t` or `z`,
/// more than 9 fractional digits, a leap second) and dates outside
/// 1900-2199 return `None`, and the caller asks chrono.
pub(crate) fn timestamp(text: &str) -> Option<Nanos> {
    let bytes = text.as_bytes();
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b'T'
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<i64> {
        bytes[from..to].iter().try_fold(0i64, |total, byte| {
            byte.is_ascii_digit()
                .then(|| total * 10 + i64::from(byte - b'0'))
        })
    };
    let year = number(0, 4)?;
    let month = number(5, 7)?;
    let day = number(8, 10)?;
    let hour = number(11, 13)?;
    let minute = number(14, 16)?;
    let second = number(17, 19)?;
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
        fraction_nanos =
            number(position + 1, position + 1 + digits)? * 10i64.pow(9 - digits as u32);
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

    /// Where the fast parser answers, it answers what serde_json's path does.
    fn agrees(text: &str) -> bool {
        let Some(fast) = parse(text) else {
            return false;
        };
        assert_agrees(text, &fast);
        true
    }

    #[test]
    fn usual_events_take_the_fast_path() {
        assert!(agrees(
            r#"{"event_id":"e1","type":"order.placed","occurred_at":"2025-01-01T10:00:00Z","order_id":"o1","channel":"web","region":"eu","warehouse":"w1","promised_by":"2025-01-02T10:00:00Z","lines":[{"sku":"A","quantity":2,"unit_price":10.5,"unit_cost":4,"note":"x"}]}"#
        ));
        assert!(agrees(
            r#" { "event_id" : "e2" , "type":"ticket.opened","occurred_at":"2025-01-01T10:00:00+01:00","ticket_id":"t","category":"c","priority":"low","order_id":null,"meta":{"a":[1,2.5e3,{"b":true}],"c":""}} "#
        ));
        assert!(agrees(r#"{"amount":1e2,"quantity":0,"lines":[],"x":-1}"#));
        assert!(agrees(r#"{}"#));
        assert!(agrees(
            r#"{"amount":-3,"quantity":-9223372036854775808,"unit_cost":-0.0}"#
        ));
    }

    #[test]
    fn anything_unusual_goes_to_serde_json() {
        for text in [
            r#"{"event_id":"e\u0031"}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"x":{"k":1,"k":2}}"#,
            r#"{"event_id":"e1","event_id":"e1"}"#,
            r#"{"lines":[{"sku":"A","sku":"B"}]}"#,
            r#"{"lines":[1]}"#,
            r#"{"lines":"none"}"#,
            r#"{"order_id":{"a":1}}"#,
            r#"{"amount":-0}"#,
            r#"{"amount":-}"#,
            r#"{"quantity":-9223372036854775809}"#,
            r#"{"amount":1e400}"#,
            r#"{"quantity":18446744073709551616}"#,
            r#"{"quantity":01}"#,
            r#"{"amount":1.}"#,
            r#"{"a":NaN}"#,
            r#"{"a":1}x"#,
            r#"{"a":1,}"#,
            "{\"a\":\"tab\there\"}",
            "\u{feff}{}",
            r#"[1]"#,
            r#"{"a":tru}"#,
        ] {
            assert!(parse(text).is_none(), "{text}");
        }
        let deep = format!("{{\"x\":{}1{}}}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&deep).is_none());
    }

    #[test]
    fn slots_follow_the_field_lists() {
        for (slot, name) in EVENT_FIELDS.iter().enumerate() {
            assert_eq!(event_slot(name), Some(slot), "{name}");
        }
        for (slot, name) in LINE_FIELDS.iter().enumerate() {
            assert_eq!(line_slot(name), Some(slot), "{name}");
        }
        assert_eq!(event_slot("unit_price"), None);
        assert_eq!(line_slot("event_id"), None);
        assert_eq!(event_slot("Type"), None);
    }

    #[test]
    fn the_word_scan_never_misses_a_byte_that_needs_a_look() {
        for position in 0..8 {
            for byte in 0u8..=255 {
                let mut word = *b"abcdefgh";
                word[position] = byte;
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    assert!(
                        needs_a_look(u64::from_le_bytes(word)),
                        "{byte} at {position}"
                    );
                }
            }
        }
        assert!(!needs_a_look(u64::from_le_bytes(*b"ord-2025")));
        assert!(!needs_a_look(u64::from_le_bytes(
            "café-é".as_bytes().try_into().unwrap()
        )));
        let long = format!(
            "{{\"event_id\":\"{}\",\"x\":\"{}\\u0041\"}}",
            "a".repeat(40),
            "b".repeat(21)
        );
        assert!(parse(&long).is_none());
        assert!(agrees(&format!("{{\"event_id\":\"{}\"}}", "a".repeat(41))));
    }

    #[test]
    fn floats_match_serde_json_to_the_last_bit() {
        for token in [
            "0.1",
            "19.99",
            "999999999.999999999",
            "0.30000000000000004",
            "2.2250738585072014e-308",
            "4.9e-324",
            "1.7976931348623157e308",
            "123456789012345678901234567890.5",
            "0.000000000000000000000000000001e31",
        ] {
            assert!(agrees(&format!("{{\"amount\":{token}}}")), "{token}");
        }
    }

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
