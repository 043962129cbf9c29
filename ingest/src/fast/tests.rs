use super::cursor::{event_slot, line_slot, needs_a_look};
use super::*;

/// The typed tier's answer, as `crate::decode` takes it.
fn decode(text: &str) -> Option<Result<Event, Rejection>> {
    let mut fields = Slots::default();
    read(text, &mut fields)?;
    Some(event(text, &mut fields))
}

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
fn line_amounts_read_exactly_or_through_the_double_agree() {
    use tripgate_model::{EventBody, Money};

    let placed = r#"{"event_id":"e1","type":"order.placed","occurred_at":"2025-01-01T10:00:00Z","order_id":"o1","channel":"web","region":"eu","warehouse":"w1","promised_by":"2025-01-02T10:00:00Z","lines":[{"sku":"A","quantity":1,"unit_price":PRICE,"unit_cost":COST}]}"#;
    // Exact decimals, then the ones past `Money::from_decimal`'s reach
    // (2⁵⁰ pico-units, 12 decimals), exponents, integers and invalid ones.
    for (price, valid) in [
        ("19.99", true),
        ("0.5", true),
        ("0.000000000001", true),
        ("1125.899906842623", true),
        ("1125.899906842624", true),
        ("0.0000000000005", true),
        ("0.00000000000049", true),
        ("12345678.125", true),
        ("999999999.999999", true),
        ("1.5e2", true),
        ("7", true),
        ("0.0", true),
        ("-1.5", false),
        ("1000000000.5", false),
    ] {
        let text = placed.replace("PRICE", price).replace("COST", "0.25");
        // Debug builds also compare the answer with the tree parser's.
        let decoded = decode(&text).map(|decoded| decoded.ok());
        let unit_price = decoded.flatten().map(|event| match event.body {
            EventBody::OrderPlaced { lines, .. } => lines[0].unit_price,
            body => panic!("not an order.placed: {body:?}"),
        });
        let expected = valid.then(|| Money::from_f64(price.parse().expect("a number")));
        assert_eq!(unit_price, expected, "{price}");
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

/// Reads `text` where an id belongs and checks it as `typed` does.
fn scanned_id(text: &str) -> (Option<Value<'_>>, Result<tripgate_model::Text, Rejection>) {
    let path = crate::check::Path::Field("order_id");
    let mut cursor = Cursor::new(text);
    let mut value = None;
    let Some(id_bytes) = cursor.id_into(&mut value) else {
        return (None, Err(crate::check::missing(path)));
    };
    let checked = crate::check::scanned_id(path, value.as_ref(), id_bytes);
    (value, checked)
}

/// Where the id scan vouches for a string, the full check agrees, and
/// the scan reads the same value as `scalar`.
fn id_scan_agrees(text: &str) {
    let (value, checked) = scanned_id(text);
    let mut plain = Cursor::new(text);
    assert_eq!(value, plain.scalar(), "{text}");
    if let Some(value) = &value {
        let path = crate::check::Path::Field("order_id");
        assert_eq!(checked, crate::check::id(path, Some(value)), "{text}");
    }
}

#[test]
fn the_id_scan_accepts_exactly_the_contract_ids() {
    use tripgate_model::RejectReason;
    for (text, valid) in [
        (r#""Az09._:-"}"#, true),
        (r#""ord-1""#, true),
        (r#""a""#, true),
        (r#""""#, false),
        (r#""a b"}"#, false),
        (r#""é"}"#, false),
        (r#""a/b"}"#, false),
        (r#"12}"#, false),
        (r#"null}"#, false),
    ] {
        id_scan_agrees(text);
        let (_, checked) = scanned_id(text);
        assert_eq!(checked.is_ok(), valid, "{text}");
        if !valid {
            assert_eq!(checked.unwrap_err().reason, RejectReason::InvalidField);
        }
    }
    // Escapes and control characters are serde_json's to read.
    for text in [r#""a\"b"}"#, r#""a\u0041"}"#, "\"a\tb\"}"] {
        id_scan_agrees(text);
        assert_eq!(scanned_id(text).0, None, "{text}");
    }
    let longest = format!("\"{}\"", "a".repeat(128));
    assert!(scanned_id(&longest).1.is_ok());
    let too_long = format!("\"{}\"", "a".repeat(129));
    assert!(scanned_id(&too_long).1.is_err());
    // Unterminated: neither reader answers.
    assert_eq!(scanned_id("\"abc").0, None);
    id_scan_agrees("\"abc");
}

/// Reads `text` where a timestamp belongs: the value agrees with
/// `scalar`'s, and a timestamp read with it agrees with the check's.
/// Answers whether a timestamp was read.
fn timestamp_read_agrees(text: &str) -> bool {
    let path = crate::check::Path::Field("occurred_at");
    let mut value = None;
    // A read that fails leaves the slot empty.
    let nanos = Cursor::new(text).timestamp_into(&mut value).flatten();
    assert_eq!(value, Cursor::new(text).scalar(), "{text}");
    if let Some(nanos) = nanos {
        let checked = crate::check::timestamp(path, value.as_ref());
        assert_eq!(Ok(nanos), checked, "{text}");
    }
    nanos.is_some()
}

#[test]
fn the_timestamp_read_agrees_with_the_string_and_its_check() {
    for (text, read) in [
        (r#""2025-01-01T10:00:00Z"}"#, true),
        (r#""2025-01-01T10:00:00.123+05:30","x":1}"#, true),
        (r#""2025-01-01T10:00:00Zx"}"#, false),
        (r#""2025-01-01T10:00:00+05:3"}"#, false),
        (r#""2025-01-01T10:00:00""#, false),
        (r#""2025-01-01t10:00:00Z"}"#, false),
        (r#""2025-01-01T10:00:00.1234567891Z"}"#, false),
        (r#""2025-01-01T10:00:00Z"#, false),
        (r#"20250101}"#, false),
    ] {
        assert_eq!(timestamp_read_agrees(text), read, "{text}");
    }
}

proptest::proptest! {
    #[test]
    fn the_timestamp_read_agrees_everywhere(
        text in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,11})?([Zz]|[+-][0-9]{2}:?[0-9]{2})?",
        tail in "[\"\\\\Z0-9:x]{0,3}",
    ) {
        timestamp_read_agrees(&format!("\"{text}{tail}"));
    }

    #[test]
    fn the_id_scan_agrees_with_the_full_check(
        text in "[A-Za-z0-9._:\\-]{0,130}|[ -~é\t]{0,20}",
        tail in "[,}\\]\" ]{0,3}",
    ) {
        let quoted = format!("\"{text}\"{tail}");
        id_scan_agrees(&quoted);
        id_scan_agrees(&format!("{quoted}{}", " ".repeat(16)));
    }

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
