//! One or more cases per rejection reason and per ordering rule of contract
//! section 9 ("Rejection order").

use tripgate_ingest::decode;
use tripgate_model::RejectReason::{self, *};

const LIMIT: usize = 65536;

const PLACED: &str = r#"{"event_id":"e1","type":"order.placed","occurred_at":"2025-01-01T10:00:10Z","order_id":"O1","channel":"web","region":"r1","warehouse":"W1","promised_by":"2025-01-01T10:05:00Z","lines":[{"sku":"A","quantity":2,"unit_price":10.0,"unit_cost":4.0},{"sku":"B","quantity":1,"unit_price":5.5,"unit_cost":5}]}"#;
const REFUNDED: &str = r#"{"event_id":"e9","type":"order.refunded","occurred_at":"2025-01-01T10:02:50Z","order_id":"O9","amount":5}"#;
const DEFECT: &str = r#"{"event_id":"e12","type":"fulfillment.defect_reported","occurred_at":"2025-01-01T10:03:50Z","order_id":"O1","sku":"A","quantity":1,"reason":"damaged"}"#;
const OPENED: &str = r#"{"event_id":"e8","type":"ticket.opened","occurred_at":"2025-01-01T10:02:10Z","ticket_id":"T1","category":"billing","priority":"high","order_id":"O1"}"#;

/// An expected rejection: the reason, and text the detail must contain.
struct Case {
    name: &'static str,
    input: String,
    reason: RejectReason,
    detail: &'static str,
}

fn case(name: &'static str, input: impl Into<String>, reason: RejectReason, detail: &'static str) -> Case {
    Case { name, input: input.into(), reason, detail }
}

/// `text` with the first occurrence of `from` replaced, failing loudly if
/// the case no longer applies to its base event.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in {text}");
    text.replacen(from, to, 1)
}

fn lines_of(count: usize) -> String {
    let line = r#"{"sku":"A","quantity":1,"unit_price":1,"unit_cost":1}"#;
    format!("[{}]", vec![line; count].join(","))
}

/// PLACED with `lines` replaced by the JSON text `lines`.
fn with_lines(lines: &str) -> String {
    let start = PLACED.find("\"lines\"").expect("PLACED has lines");
    format!("{}\"lines\":{lines}}}", &PLACED[..start])
}

fn cases() -> Vec<Case> {
    vec![
        // malformed_json: syntax is serde_json's, plus the contract's named cases.
        case("truncated", r#"{"event_id":"bad1","type":"order.refunded","#, MalformedJson, "EOF"),
        case("empty", "", MalformedJson, ""),
        case("whitespace only", " \n", MalformedJson, ""),
        case("NaN", edit(REFUNDED, "5}", "NaN}"), MalformedJson, ""),
        case("Infinity", edit(REFUNDED, "5}", "Infinity}"), MalformedJson, ""),
        case("minus Infinity", edit(REFUNDED, "5}", "-Infinity}"), MalformedJson, ""),
        case("lone high surrogate", edit(REFUNDED, "\"O9\"", r#""O\ud800""#), MalformedJson, "escape"),
        case("high surrogate before a plain escape", edit(REFUNDED, "\"O9\"", r#""\ud800\u0041""#), MalformedJson, "surrogate"),
        case("lone low surrogate", edit(REFUNDED, "\"O9\"", r#""O\udc00""#), MalformedJson, ""),
        case("lone surrogate in an unknown field", edit(REFUNDED, "{", r#"{"note":["\udfff"],"#), MalformedJson, ""),
        case("lone surrogate in a key", edit(REFUNDED, "{", r#"{"\ud800":1,"#), MalformedJson, ""),
        case("byte order mark", format!("\u{feff}{REFUNDED}"), MalformedJson, "byte order mark"),
        case("trailing garbage", format!("{REFUNDED} x"), MalformedJson, "trailing"),
        case("two objects", format!("{REFUNDED}{REFUNDED}"), MalformedJson, "trailing"),
        case("trailing comma", edit(REFUNDED, "5}", "5,}"), MalformedJson, ""),
        case("single quotes", "{'event_id':'e1'}", MalformedJson, ""),
        case("comment", format!("{REFUNDED} // note"), MalformedJson, ""),
        case("raw newline in a string", edit(REFUNDED, "\"O9\"", "\"O\n9\""), MalformedJson, ""),
        case("duplicate then syntax error", r#"{"a":1,"a":2,"#, MalformedJson, ""),
        case("duplicate and unclosed", edit(REFUNDED, "}", r#","amount":5"#), MalformedJson, ""),
        // not_an_object, including over a duplicate inside the array.
        case("array", r#"["order.placed"]"#, NotAnObject, "got an array"),
        case("string", r#""order.placed""#, NotAnObject, "got \"order.placed\""),
        case("number", "5", NotAnObject, "got 5"),
        case("null", "null", NotAnObject, "got null"),
        case("array holding a duplicate", r#"[{"a":1,"a":2}]"#, NotAnObject, ""),
        // duplicate_field: any object at any depth, before anything about type.
        case("repeated order_id", r#"{"event_id":"bad4","type":"order.cancelled","occurred_at":"2025-01-01T10:04:35Z","order_id":"O4","order_id":"O4"}"#, DuplicateField, r#"duplicate field "order_id""#),
        case("escaped repeat", edit(REFUNDED, "\"amount\":5", r#""amount":5,"\u0061mount":5"#), DuplicateField, "\"amount\""),
        case("repeat plus unknown type", edit(REFUNDED, "order.refunded\"", r#"order.exploded","type":"x""#), DuplicateField, "\"type\""),
        case("repeat plus missing event_id", edit(REFUNDED, "\"event_id\":\"e9\",", r#""x":1,"x":2,"#), DuplicateField, ""),
        case("repeat in unknown field", edit(REFUNDED, "{", r#"{"meta":{"k":[{"a":1,"a":2}]},"#), DuplicateField, r#""meta.k[0].a""#),
        case("repeat in a line", edit(PLACED, r#""sku":"B","#, r#""sku":"B","sku":"B","#), DuplicateField, r#""lines[1].sku""#),
        case("repeat in an ignored field of another type", edit(REFUNDED, "{", r#"{"lines":[{"sku":1,"sku":2}],"#), DuplicateField, ""),
        // type
        case("no type", edit(REFUNDED, r#""type":"order.refunded","#, ""), MissingField, r#"missing field "type""#),
        case("type not a string", edit(REFUNDED, "\"order.refunded\"", "5"), InvalidField, "type: expected a string, got 5"),
        case("type null", edit(REFUNDED, "\"order.refunded\"", "null"), InvalidField, "got null"),
        case("unknown type", edit(REFUNDED, "order.refunded", "order.exploded"), UnknownType, "\"order.exploded\""),
        case("type is case sensitive", edit(REFUNDED, "order.refunded", "Order.Refunded"), UnknownType, ""),
        case("unknown type plus missing event_id", edit(&edit(REFUNDED, "order.refunded", "x"), "\"event_id\":\"e9\",", ""), UnknownType, ""),
        case("unknown type plus missing fields", r#"{"type":"nope"}"#, UnknownType, ""),
        // missing_field: presence of everything before any value is judged.
        case("no warehouse", edit(PLACED, r#""warehouse":"W1","#, ""), MissingField, r#"missing field "warehouse""#),
        case("no event_id", edit(REFUNDED, "\"event_id\":\"e9\",", ""), MissingField, "\"event_id\""),
        case("missing beats invalid id", edit(&edit(REFUNDED, "\"e9\"", "\"bad id\""), ",\"amount\":5", ""), MissingField, "\"amount\""),
        case("line field missing beats invalid event_id", edit(&edit(PLACED, "\"e1\"", "\"\""), r#""quantity":1,"#, ""), MissingField, r#"missing field "lines[1].quantity""#),
        case("line field missing beats invalid earlier line", edit(&edit(PLACED, "\"quantity\":2", "\"quantity\":0"), r#","unit_cost":5"#, ""), MissingField, "\"lines[1].unit_cost\""),
        case("missing beats invalid lines", edit(&with_lines("[5]"), r#""region":"r1","#, ""), MissingField, "\"region\""),
        // invalid_field, in the order of the contract's table.
        case("event_id with a space", edit(REFUNDED, "\"e9\"", "\"e 9\""), InvalidField, "event_id: expected an id"),
        case("event_id empty", edit(REFUNDED, "\"e9\"", "\"\""), InvalidField, "event_id"),
        case("event_id too long", edit(REFUNDED, "\"e9\"", &format!("\"{}\"", "e".repeat(129))), InvalidField, "event_id"),
        case("event_id a number", edit(REFUNDED, "\"e9\"", "9"), InvalidField, "got 9"),
        case("event_id not ASCII", edit(REFUNDED, "\"e9\"", "\"é9\""), InvalidField, "event_id"),
        case("timestamp without offset", edit(REFUNDED, "10:02:50Z", "10:02:50"), InvalidField, "occurred_at: expected an RFC 3339 timestamp"),
        case("timestamp not a date", edit(REFUNDED, "\"2025-01-01T10:02:50Z\"", "\"yesterday\""), InvalidField, "occurred_at"),
        case("timestamp a number", edit(REFUNDED, "\"2025-01-01T10:02:50Z\"", "1735725770"), InvalidField, "occurred_at"),
        case("order_id null", edit(REFUNDED, "\"O9\"", "null"), InvalidField, "order_id: expected an id"),
        case("order_id an object", edit(REFUNDED, "\"O9\"", r#"{"id":"O9"}"#), InvalidField, "got an object"),
        case("event_id reported before order_id", edit(&edit(REFUNDED, "\"e9\"", "\"e/9\""), "\"O9\"", "\"O/9\""), InvalidField, "event_id:"),
        case("amount negative", edit(REFUNDED, "5}", "-1}"), InvalidField, "amount: expected a number from 0 to 1e9, got -1"),
        case("amount too large", edit(REFUNDED, "5}", "1000000001}"), InvalidField, "amount"),
        case("amount a string", edit(REFUNDED, "5}", "\"5\"}"), InvalidField, "got \"5\""),
        case("amount too large as a float", edit(REFUNDED, "5}", "1.0e10}"), InvalidField, "got 10000000000.0"),
        case("quantity a string", edit(DEFECT, "\"quantity\":1", "\"quantity\":\"10\""), InvalidField, "quantity: expected an integer from 1 to 1000000, got \"10\""),
        case("quantity a float token", edit(DEFECT, "\"quantity\":1", "\"quantity\":10.0"), InvalidField, "got 10.0"),
        case("quantity an exponent token", edit(DEFECT, "\"quantity\":1", "\"quantity\":1e1"), InvalidField, "got 10.0"),
        case("quantity zero", edit(DEFECT, "\"quantity\":1", "\"quantity\":0"), InvalidField, "got 0"),
        case("quantity too large", edit(DEFECT, "\"quantity\":1", "\"quantity\":1000001"), InvalidField, ""),
        case("quantity negative", edit(DEFECT, "\"quantity\":1", "\"quantity\":-3"), InvalidField, "got -3"),
        case("quantity beyond 64 bits", edit(DEFECT, "\"quantity\":1", "\"quantity\":100000000000000000000000"), InvalidField, ""),
        case("reason checked after quantity", edit(&edit(DEFECT, "\"quantity\":1", "\"quantity\":0"), "\"damaged\"", "\"\""), InvalidField, "quantity:"),
        case("promised_by without offset", edit(PLACED, "10:05:00Z", "10:05:00"), InvalidField, "promised_by"),
        case("channel before lines", edit(&with_lines("[]"), "\"web\"", "\"w b\""), InvalidField, "channel:"),
        case("lines empty", with_lines("[]"), InvalidField, "lines: expected an array of 1 to 1000 lines, got 0 lines"),
        case("lines an object", with_lines(r#"{"sku":"A"}"#), InvalidField, "lines: expected an array"),
        case("lines null", with_lines("null"), InvalidField, "got null"),
        case("lines a string", with_lines("\"A\""), InvalidField, ""),
        case("lines over 1000", with_lines(&lines_of(1001)), InvalidField, "got 1001 lines"),
        case("a line not an object", with_lines(r#"[{"sku":"A","quantity":1,"unit_price":1,"unit_cost":1},[]]"#), InvalidField, "lines[1]: expected a line object, got an array"),
        case("a line null", with_lines("[null]"), InvalidField, "lines[0]"),
        case("line shape before line fields", with_lines(r#"[{"sku":"","quantity":1,"unit_price":1,"unit_cost":1},7]"#), InvalidField, "lines[1]:"),
        case("line quantity float", edit(PLACED, "\"quantity\":1", "\"quantity\":10.0"), InvalidField, "lines[1].quantity: expected an integer from 1 to 1000000, got 10.0"),
        case("line sku invalid", edit(PLACED, "\"sku\":\"B\"", "\"sku\":\"B B\""), InvalidField, "lines[1].sku"),
        case("line sku before quantity", edit(&edit(PLACED, "\"sku\":\"A\"", "\"sku\":7"), "\"quantity\":2", "\"quantity\":0"), InvalidField, "lines[0].sku"),
        case("unit_price negative", edit(PLACED, "\"unit_price\":5.5", "\"unit_price\":-5.5"), InvalidField, "lines[1].unit_price"),
        case("unit_cost null", edit(PLACED, "\"unit_cost\":4.0", "\"unit_cost\":null"), InvalidField, "lines[0].unit_cost: expected a number from 0 to 1e9, got null"),
        case("priority unknown", edit(OPENED, "\"high\"", "\"HIGH\""), InvalidField, "priority: expected one of low, normal, high, urgent, got \"HIGH\""),
        case("priority null", edit(OPENED, "\"high\"", "null"), InvalidField, "priority"),
        case("optional order_id invalid", edit(OPENED, "\"O1\"", "\"O 1\""), InvalidField, "order_id"),
        case("optional order_id a number", edit(OPENED, "\"O1\"", "1"), InvalidField, "order_id"),
        case("category before priority", edit(&edit(OPENED, "\"billing\"", "\"\""), "\"high\"", "\"x\""), InvalidField, "category:"),
    ]
}

#[test]
fn each_case_gets_its_reason_and_detail() {
    let mut failures = Vec::new();
    for case in cases() {
        match decode(case.input.as_bytes(), LIMIT) {
            Ok(event) => failures.push(format!("{}: decoded to {event:?}", case.name)),
            Err(rejection) if rejection.reason != case.reason || !rejection.detail.contains(case.detail) => {
                failures.push(format!("{}: expected {} with {:?}, got {rejection}", case.name, case.reason, case.detail))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{} failing cases:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn size_is_checked_first_and_inclusive() {
    let bytes = REFUNDED.as_bytes();
    assert!(decode(bytes, bytes.len()).is_ok());
    let rejection = decode(bytes, bytes.len() - 1).unwrap_err();
    assert_eq!(rejection.reason, TooLarge);
    assert!(rejection.detail.contains(&bytes.len().to_string()), "{rejection}");
    // Even bytes that are neither UTF-8 nor JSON are too_large first.
    assert_eq!(decode(&[0xff; 100], 10).unwrap_err().reason, TooLarge);
}

#[test]
fn utf8_is_checked_before_syntax() {
    let inside_a_string = [br#"{"event_id":""#.as_slice(), &[0xff], br#""}"#].concat();
    assert_eq!(decode(&inside_a_string, LIMIT).unwrap_err().reason, InvalidUtf8);
    let and_truncated = [br#"{"a":"#.as_slice(), &[0xc3]].concat();
    assert_eq!(decode(&and_truncated, LIMIT).unwrap_err().reason, InvalidUtf8);
    // A UTF-16 surrogate encoded as UTF-8 (CESU-8) is not UTF-8.
    let encoded_surrogate = [br#"{"a":""#.as_slice(), &[0xed, 0xa0, 0x80], br#""}"#].concat();
    assert_eq!(decode(&encoded_surrogate, LIMIT).unwrap_err().reason, InvalidUtf8);
}

#[test]
fn a_number_too_large_for_a_double_is_malformed_or_invalid() {
    let reason = decode(edit(REFUNDED, "5}", "1e400}").as_bytes(), LIMIT).unwrap_err().reason;
    assert!(matches!(reason, MalformedJson | InvalidField), "{reason}");
}

#[test]
fn nesting_past_serde_jsons_limit_is_malformed() {
    // The depth limit keeps a hostile event from exhausting the stack.
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let event = edit(REFUNDED, "{", &format!("{{\"x\":{deep},"));
    assert_eq!(decode(event.as_bytes(), LIMIT).unwrap_err().reason, MalformedJson);
    let shallow = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let event = edit(REFUNDED, "{", &format!("{{\"x\":{shallow},"));
    assert!(decode(event.as_bytes(), LIMIT).is_ok());
}

#[test]
fn exactly_1000_lines_are_accepted() {
    let event = decode(with_lines(&lines_of(1000)).as_bytes(), LIMIT * 2).unwrap();
    let tripgate_model::EventBody::OrderPlaced { lines, .. } = event.body else { panic!("not placed") };
    assert_eq!(lines.len(), 1000);
}

#[test]
fn every_required_field_is_missing_field_when_removed() {
    let events = [PLACED, REFUNDED, DEFECT, OPENED];
    for text in events {
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).unwrap();
        for name in object.keys().filter(|name| !(text == OPENED && *name == "order_id")) {
            let mut without = object.clone();
            without.remove(name);
            let rejection = decode(serde_json::to_string(&without).unwrap().as_bytes(), LIMIT).unwrap_err();
            assert_eq!(rejection.reason, MissingField, "{name}: {rejection}");
            assert_eq!(rejection.detail, format!("missing field \"{name}\""));
        }
    }
}
