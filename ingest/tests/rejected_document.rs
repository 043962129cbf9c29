//! Rejections about the document as a whole, in contract section 9's order:
//! too_large, invalid_utf8, malformed_json, not_an_object, duplicate_field.

mod common;

use common::*;
use tripgate_ingest::decode;
use tripgate_model::RejectReason::*;

#[test]
fn each_case_gets_its_reason_and_detail() {
    check_cases(vec![
        // malformed_json: syntax is serde_json's, plus the contract's named cases.
        case(
            "truncated",
            r#"{"event_id":"bad1","type":"order.refunded","#,
            MalformedJson,
            "EOF",
        ),
        case("empty", "", MalformedJson, ""),
        case("whitespace only", " \n", MalformedJson, ""),
        case("NaN", edit(REFUNDED, "5}", "NaN}"), MalformedJson, ""),
        case(
            "Infinity",
            edit(REFUNDED, "5}", "Infinity}"),
            MalformedJson,
            "",
        ),
        case(
            "minus Infinity",
            edit(REFUNDED, "5}", "-Infinity}"),
            MalformedJson,
            "",
        ),
        case(
            "lone high surrogate",
            edit(REFUNDED, "\"O9\"", r#""O\ud800""#),
            MalformedJson,
            "escape",
        ),
        case(
            "high surrogate before a plain escape",
            edit(REFUNDED, "\"O9\"", r#""\ud800\u0041""#),
            MalformedJson,
            "surrogate",
        ),
        case(
            "lone low surrogate",
            edit(REFUNDED, "\"O9\"", r#""O\udc00""#),
            MalformedJson,
            "",
        ),
        case(
            "lone surrogate in an unknown field",
            edit(REFUNDED, "{", r#"{"note":["\udfff"],"#),
            MalformedJson,
            "",
        ),
        case(
            "lone surrogate in a key",
            edit(REFUNDED, "{", r#"{"\ud800":1,"#),
            MalformedJson,
            "",
        ),
        case(
            "byte order mark",
            format!("\u{feff}{REFUNDED}"),
            MalformedJson,
            "byte order mark",
        ),
        case(
            "trailing garbage",
            format!("{REFUNDED} x"),
            MalformedJson,
            "trailing",
        ),
        case(
            "two objects",
            format!("{REFUNDED}{REFUNDED}"),
            MalformedJson,
            "trailing",
        ),
        case(
            "trailing comma",
            edit(REFUNDED, "5}", "5,}"),
            MalformedJson,
            "",
        ),
        case("single quotes", "{'event_id':'e1'}", MalformedJson, ""),
        case("comment", format!("{REFUNDED} // note"), MalformedJson, ""),
        case(
            "raw newline in a string",
            edit(REFUNDED, "\"O9\"", "\"O\n9\""),
            MalformedJson,
            "",
        ),
        case(
            "duplicate then syntax error",
            r#"{"a":1,"a":2,"#,
            MalformedJson,
            "",
        ),
        case(
            "duplicate and unclosed",
            edit(REFUNDED, "}", r#","amount":5"#),
            MalformedJson,
            "",
        ),
        // not_an_object, including over a duplicate inside the array.
        case("array", r#"["order.placed"]"#, NotAnObject, "got an array"),
        case(
            "string",
            r#""order.placed""#,
            NotAnObject,
            "got \"order.placed\"",
        ),
        case("number", "5", NotAnObject, "got 5"),
        case("null", "null", NotAnObject, "got null"),
        case(
            "array holding a duplicate",
            r#"[{"a":1,"a":2}]"#,
            NotAnObject,
            "",
        ),
        // duplicate_field: any object at any depth, before anything about type.
        case(
            "repeated order_id",
            r#"{"event_id":"bad4","type":"order.cancelled","occurred_at":"2025-01-01T10:04:35Z","order_id":"O4","order_id":"O4"}"#,
            DuplicateField,
            r#"duplicate field "order_id""#,
        ),
        case(
            "escaped repeat",
            edit(REFUNDED, "\"amount\":5", r#""amount":5,"\u0061mount":5"#),
            DuplicateField,
            "\"amount\"",
        ),
        case(
            "repeat plus unknown type",
            edit(
                REFUNDED,
                "order.refunded\"",
                r#"order.exploded","type":"x""#,
            ),
            DuplicateField,
            "\"type\"",
        ),
        case(
            "repeat plus missing event_id",
            edit(REFUNDED, "\"event_id\":\"e9\",", r#""x":1,"x":2,"#),
            DuplicateField,
            "",
        ),
        case(
            "repeat in unknown field",
            edit(REFUNDED, "{", r#"{"meta":{"k":[{"a":1,"a":2}]},"#),
            DuplicateField,
            r#""meta.k[0].a""#,
        ),
        case(
            "repeat in a line",
            edit(PLACED, r#""sku":"B","#, r#""sku":"B","sku":"B","#),
            DuplicateField,
            r#""lines[1].sku""#,
        ),
        case(
            "repeat in an ignored field of another type",
            edit(REFUNDED, "{", r#"{"lines":[{"sku":1,"sku":2}],"#),
            DuplicateField,
            "",
        ),
    ]);
}

#[test]
fn size_is_checked_first_and_inclusive() {
    let bytes = REFUNDED.as_bytes();
    assert!(decode(bytes, bytes.len()).is_ok());
    let rejection = decode(bytes, bytes.len() - 1).unwrap_err();
    assert_eq!(rejection.reason, TooLarge);
    assert!(
        rejection.detail.contains(&bytes.len().to_string()),
        "{rejection}"
    );
    // Even bytes that are neither UTF-8 nor JSON are too_large first.
    assert_eq!(decode(&[0xff; 100], 10).unwrap_err().reason, TooLarge);
}

#[test]
fn utf8_is_checked_before_syntax() {
    let inside_a_string = [br#"{"event_id":""#.as_slice(), &[0xff], br#""}"#].concat();
    assert_eq!(
        decode(&inside_a_string, LIMIT).unwrap_err().reason,
        InvalidUtf8
    );
    let and_truncated = [br#"{"a":"#.as_slice(), &[0xc3]].concat();
    assert_eq!(
        decode(&and_truncated, LIMIT).unwrap_err().reason,
        InvalidUtf8
    );
    // A UTF-16 surrogate encoded as UTF-8 (CESU-8) is not UTF-8.
    let encoded_surrogate = [br#"{"a":""#.as_slice(), &[0xed, 0xa0, 0x80], br#""}"#].concat();
    assert_eq!(
        decode(&encoded_surrogate, LIMIT).unwrap_err().reason,
        InvalidUtf8
    );
}

#[test]
fn a_number_too_large_for_a_double_is_malformed_or_invalid() {
    let reason = decode(edit(REFUNDED, "5}", "1e400}").as_bytes(), LIMIT)
        .unwrap_err()
        .reason;
    assert!(matches!(reason, MalformedJson | InvalidField), "{reason}");
}

#[test]
fn valid_json_of_any_depth_is_valid() {
    // The contract sets no depth limit; a deep unknown field is ignored, and
    // a document that is nothing but brackets must not exhaust the stack.
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let event = edit(REFUNDED, "{", &format!("{{\"x\":{deep},"));
    assert!(decode(event.as_bytes(), LIMIT).is_ok());
    let objects = format!("{}1{}", "{\"a\":".repeat(150), "}".repeat(150));
    let event = edit(REFUNDED, "{", &format!("{{\"x\":{objects},"));
    assert!(decode(event.as_bytes(), LIMIT).is_ok());
    let hostile = format!("{{\"x\":{}", "[".repeat(60_000));
    assert_eq!(
        decode(hostile.as_bytes(), LIMIT).unwrap_err().reason,
        MalformedJson
    );
    let balanced = format!("{{\"x\":{}{}}}", "[".repeat(30_000), "]".repeat(30_000));
    assert_eq!(
        decode(balanced.as_bytes(), LIMIT).unwrap_err().reason,
        MissingField
    );
    let shallow = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let event = edit(REFUNDED, "{", &format!("{{\"x\":{shallow},"));
    assert!(decode(event.as_bytes(), LIMIT).is_ok());
}
