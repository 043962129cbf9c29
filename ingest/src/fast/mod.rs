//! Hand-rolled decoders for the events producers actually send, in a
//! fraction of serde_json's time.
//!
//! Two tiers, both answering only when sure and otherwise handing the
//! document on:
//!
//! 1. [`decode`] (`typed`) reads the usual valid event straight into an
//!    [`Event`]: no value tree, no allocation but the event's own strings.
//!    Anything it does not expect (a bad line, a duplicate key, an escape)
//!    returns `None`.
//! 2. [`parse`] builds the same value tree as `json::parse` for any document
//!    without escapes, repeats or unusual numbers, so `schema` can check it
//!    and word its rejection.
//!
//! Anything else (escapes, duplicates, syntax errors, deep nesting, numbers
//! serde_json would read differently) goes to serde_json, which owns every
//! rejection of the document itself. Debug builds (and so every test) check
//! each answer of a tier against the next one's.

mod cursor;
mod timestamp;
mod typed;

use tripgate_model::{Event, Rejection};

use crate::json::Value;
use crate::schema::{EVENT_FIELDS, LINES_FIELD, LINE_FIELDS};
use cursor::{event_slot, line_slot, Cursor, UnknownKeys};

pub(crate) use timestamp::timestamp;

/// The usual event, decoded and checked; `None` hands it to [`parse`].
pub(crate) fn decode(text: &str) -> Option<Result<Event, Rejection>> {
    let decoded = typed::decode(text);
    #[cfg(debug_assertions)]
    if let Some(decoded) = &decoded {
        let fields = parse(text).expect("the typed decoder accepted what the tree parser refuses");
        assert_agrees(text, &fields);
        assert_eq!(
            decoded,
            &crate::schema::event_from_object(&fields),
            "the typed decoder disagrees on {text}"
        );
    }
    decoded
}

/// The top-level object's kept fields, as `json::parse` keeps them.
pub(crate) fn parse(text: &str) -> Option<Vec<(&'static str, Value<'_>)>> {
    let mut cursor = Cursor::new(text);
    cursor.skip_whitespace();
    let fields = object(&mut cursor, &EVENT_FIELDS, Kept::Event)?;
    cursor.skip_whitespace();
    cursor.at_end().then_some(fields)
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

/// An object whose `known` keys are kept; the opening brace is next.
fn object<'de>(
    cursor: &mut Cursor<'de>,
    known: &'static [&'static str],
    kept: Kept,
) -> Option<Vec<(&'static str, Value<'de>)>> {
    cursor.eat(b'{')?;
    let mut fields = Vec::with_capacity(known.len().min(12));
    let mut seen_known: u32 = 0;
    let mut unknown = UnknownKeys::new();
    if cursor.object_ends() {
        return Some(fields);
    }
    loop {
        let key = cursor.key()?;
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
                    lines(cursor)?
                } else {
                    cursor.scalar()?
                };
                fields.push((known[slot], value));
            }
            None => {
                unknown.insert(key)?;
                cursor.skip_value(1)?;
            }
        }
        if !cursor.next_member(b'}')? {
            return Some(fields);
        }
    }
}

/// `lines`: an array of line objects, nothing else.
fn lines<'de>(cursor: &mut Cursor<'de>) -> Option<Value<'de>> {
    cursor.eat(b'[')?;
    let mut lines = Vec::new();
    cursor.skip_whitespace();
    if cursor.peek() == Some(b']') {
        cursor.eat(b']')?;
        return Some(Value::Array(lines));
    }
    loop {
        lines.push(Value::Object(object(cursor, &LINE_FIELDS, Kept::Line)?));
        if !cursor.next_member(b']')? {
            return Some(Value::Array(lines));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cursor::{event_slot, line_slot, needs_a_look};
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
    fn the_typed_tier_answers_the_usual_event_and_leaves_bad_lines_alone() {
        use tripgate_model::{EventBody, RejectReason};

        let placed = r#"{"event_id":"e1","type":"order.placed","occurred_at":"2025-01-01T10:00:00Z","order_id":"o1","channel":"web","region":"eu","warehouse":"w1","promised_by":"2025-01-02T10:00:00Z","lines":[{"sku":"A","quantity":2,"unit_price":10.5,"unit_cost":4,"note":"x"},{"unit_cost":1.25,"sku":"B","unit_price":3,"quantity":1}],"meta":{"k":[1]}}"#;
        let Some(Ok(event)) = decode(placed) else {
            panic!("the usual event left the typed tier");
        };
        let EventBody::OrderPlaced { lines, .. } = event.body else {
            panic!("not an order.placed: {:?}", event.body);
        };
        assert_eq!(lines.len(), 2);
        // A rejection the checks word from the slots is answered here too.
        let no_warehouse = placed.replace(r#""warehouse":"w1","#, "");
        let Some(Err(rejection)) = decode(&no_warehouse) else {
            panic!("a missing warehouse left the typed tier");
        };
        assert_eq!(rejection.reason, RejectReason::MissingField);
        // A bad line goes to the tree parser, which reports it in order.
        for broken in [
            placed.replace(r#""quantity":2"#, r#""quantity":2.0"#),
            placed.replace(r#""sku":"B","#, ""),
            placed.replace(r#""lines":[{"#, r#""lines":[1,{"#),
            placed.replace(r#""note":"x""#, r#""note":"x","note":"y""#),
            placed.replace("\"e1\"", "\"e\\u0031\""),
        ] {
            assert!(decode(&broken).is_none(), "{broken}");
        }
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
                    let flagged = needs_a_look(u64::from_le_bytes(word));
                    assert_eq!(
                        flagged.trailing_zeros() / 8,
                        position as u32,
                        "{byte} at {position}"
                    );
                }
            }
        }
        assert_eq!(needs_a_look(u64::from_le_bytes(*b"ord-2025")), 0);
        assert_eq!(
            needs_a_look(u64::from_le_bytes("café-é".as_bytes().try_into().unwrap())),
            0
        );
        // A control byte borrows from the next one: still found first.
        assert_eq!(
            needs_a_look(u64::from_le_bytes(*b"ab\x00\"efgh")).trailing_zeros() / 8,
            2
        );
        let long = format!(
            "{{\"event_id\":\"{}\",\"x\":\"{}\\u0041\"}}",
            "a".repeat(40),
            "b".repeat(21)
        );
        assert!(parse(&long).is_none());
        assert!(agrees(&format!("{{\"event_id\":\"{}\"}}", "a".repeat(41))));
    }

    proptest::proptest! {
        #[test]
        fn short_decimals_match_the_full_parser(
            whole in 0u64..10_000_000_000,
            fraction in "[0-9]{1,10}",
            negative in proptest::bool::ANY,
        ) {
            let token = format!("{}{whole}.{fraction}", if negative { "-" } else { "" });
            let digits = whole.to_string().len() + fraction.len();
            if digits <= 15 {
                let mantissa: u64 = format!("{whole}{fraction}").parse().unwrap();
                let fast = super::cursor::exact_decimal(negative, mantissa, fraction.len());
                let parsed: f64 = token.parse().unwrap();
                proptest::prop_assert_eq!(fast.to_bits(), parsed.to_bits(), "{}", token);
            }
            // And the whole path, against serde_json in `agrees`.
            let text = format!("{{\"amount\":{token}}}");
            proptest::prop_assert!(agrees(&text), "{}", text);
        }

        #[test]
        fn integers_match_serde_json(value in proptest::num::i64::ANY, big in proptest::num::u64::ANY) {
            for token in [value.to_string(), big.to_string()] {
                let text = format!("{{\"quantity\":{token}}}");
                proptest::prop_assert!(agrees(&text), "{}", text);
            }
        }
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
            "24.99",
            "-0.5",
            "-0.0",
            "0.1000000000000",
            "99999999999999.9",
            "9999999999999.99",
            "0.000000000000001",
            "1.7976931348623157",
            "4503599627370495.5",
            "123456789012345.6",
        ] {
            assert!(agrees(&format!("{{\"amount\":{token}}}")), "{token}");
        }
    }
}
