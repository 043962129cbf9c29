//! invalid_field rejections, checked in the order of the table in contract
//! section 1 once every required field is present.

mod common;

use common::*;
use tripgate_ingest::decode;
use tripgate_model::RejectReason::*;

#[test]
fn each_case_gets_its_reason_and_detail() {
    check_cases(vec![
        // invalid_field, in the order of the contract's table.
        case(
            "event_id with a space",
            edit(REFUNDED, "\"e9\"", "\"e 9\""),
            InvalidField,
            "event_id: expected an id",
        ),
        case(
            "event_id empty",
            edit(REFUNDED, "\"e9\"", "\"\""),
            InvalidField,
            "event_id",
        ),
        case(
            "event_id too long",
            edit(REFUNDED, "\"e9\"", &format!("\"{}\"", "e".repeat(129))),
            InvalidField,
            "event_id",
        ),
        case(
            "event_id a number",
            edit(REFUNDED, "\"e9\"", "9"),
            InvalidField,
            "got 9",
        ),
        case(
            "event_id not ASCII",
            edit(REFUNDED, "\"e9\"", "\"é9\""),
            InvalidField,
            "event_id",
        ),
        case(
            "timestamp without offset",
            edit(REFUNDED, "10:02:50Z", "10:02:50"),
            InvalidField,
            "occurred_at: expected an RFC 3339 timestamp",
        ),
        case(
            "timestamp not a date",
            edit(REFUNDED, "\"2025-01-01T10:02:50Z\"", "\"yesterday\""),
            InvalidField,
            "occurred_at",
        ),
        case(
            "timestamp a number",
            edit(REFUNDED, "\"2025-01-01T10:02:50Z\"", "1735725770"),
            InvalidField,
            "occurred_at",
        ),
        case(
            "order_id null",
            edit(REFUNDED, "\"O9\"", "null"),
            InvalidField,
            "order_id: expected an id",
        ),
        case(
            "order_id an object",
            edit(REFUNDED, "\"O9\"", r#"{"id":"O9"}"#),
            InvalidField,
            "got an object",
        ),
        case(
            "event_id reported before order_id",
            edit(&edit(REFUNDED, "\"e9\"", "\"e/9\""), "\"O9\"", "\"O/9\""),
            InvalidField,
            "event_id:",
        ),
        case(
            "amount negative",
            edit(REFUNDED, "5}", "-1}"),
            InvalidField,
            "amount: expected a number from 0 to 1e9, got -1",
        ),
        case(
            "amount too large",
            edit(REFUNDED, "5}", "1000000001}"),
            InvalidField,
            "amount",
        ),
        case(
            "amount a string",
            edit(REFUNDED, "5}", "\"5\"}"),
            InvalidField,
            "got \"5\"",
        ),
        case(
            "amount too large as a float",
            edit(REFUNDED, "5}", "1.0e10}"),
            InvalidField,
            "got 10000000000.0",
        ),
        case(
            "quantity a string",
            edit(DEFECT, "\"quantity\":1", "\"quantity\":\"10\""),
            InvalidField,
            "quantity: expected an integer from 1 to 1000000, got \"10\"",
        ),
        case(
            "quantity a float token",
            edit(DEFECT, "\"quantity\":1", "\"quantity\":10.0"),
            InvalidField,
            "got 10.0",
        ),
        case(
            "quantity an exponent token",
            edit(DEFECT, "\"quantity\":1", "\"quantity\":1e1"),
            InvalidField,
            "got 10.0",
        ),
        case(
            "quantity zero",
            edit(DEFECT, "\"quantity\":1", "\"quantity\":0"),
            InvalidField,
            "got 0",
        ),
        case(
            "quantity too large",
            edit(DEFECT, "\"quantity\":1", "\"quantity\":1000001"),
            InvalidField,
            "",
        ),
        case(
            "quantity negative",
            edit(DEFECT, "\"quantity\":1", "\"quantity\":-3"),
            InvalidField,
            "got -3",
        ),
        case(
            "quantity beyond 64 bits",
            edit(
                DEFECT,
                "\"quantity\":1",
                "\"quantity\":100000000000000000000000",
            ),
            InvalidField,
            "",
        ),
        case(
            "reason checked after quantity",
            edit(
                &edit(DEFECT, "\"quantity\":1", "\"quantity\":0"),
                "\"damaged\"",
                "\"\"",
            ),
            InvalidField,
            "quantity:",
        ),
        case(
            "promised_by without offset",
            edit(PLACED, "10:05:00Z", "10:05:00"),
            InvalidField,
            "promised_by",
        ),
        case(
            "channel before lines",
            edit(&with_lines("[]"), "\"web\"", "\"w b\""),
            InvalidField,
            "channel:",
        ),
        case(
            "lines empty",
            with_lines("[]"),
            InvalidField,
            "lines: expected an array of 1 to 1000 lines, got 0 lines",
        ),
        case(
            "lines an object",
            with_lines(r#"{"sku":"A"}"#),
            InvalidField,
            "lines: expected an array",
        ),
        case("lines null", with_lines("null"), InvalidField, "got null"),
        case("lines a string", with_lines("\"A\""), InvalidField, ""),
        case(
            "lines over 1000",
            with_lines(&lines_of(1001)),
            InvalidField,
            "got 1001 lines",
        ),
        case(
            "a line not an object",
            with_lines(r#"[{"sku":"A","quantity":1,"unit_price":1,"unit_cost":1},[]]"#),
            InvalidField,
            "lines[1]: expected a line object, got an array",
        ),
        case(
            "a line null",
            with_lines("[null]"),
            InvalidField,
            "lines[0]",
        ),
        case(
            "line shape before line fields",
            with_lines(r#"[{"sku":"","quantity":1,"unit_price":1,"unit_cost":1},7]"#),
            InvalidField,
            "lines[1]:",
        ),
        case(
            "line quantity float",
            edit(PLACED, "\"quantity\":1", "\"quantity\":10.0"),
            InvalidField,
            "lines[1].quantity: expected an integer from 1 to 1000000, got 10.0",
        ),
        case(
            "line sku invalid",
            edit(PLACED, "\"sku\":\"B\"", "\"sku\":\"B B\""),
            InvalidField,
            "lines[1].sku",
        ),
        case(
            "line sku before quantity",
            edit(
                &edit(PLACED, "\"sku\":\"A\"", "\"sku\":7"),
                "\"quantity\":2",
                "\"quantity\":0",
            ),
            InvalidField,
            "lines[0].sku",
        ),
        case(
            "unit_price negative",
            edit(PLACED, "\"unit_price\":5.5", "\"unit_price\":-5.5"),
            InvalidField,
            "lines[1].unit_price",
        ),
        case(
            "unit_cost null",
            edit(PLACED, "\"unit_cost\":4.0", "\"unit_cost\":null"),
            InvalidField,
            "lines[0].unit_cost: expected a number from 0 to 1e9, got null",
        ),
        case(
            "priority unknown",
            edit(OPENED, "\"high\"", "\"HIGH\""),
            InvalidField,
            "priority: expected one of low, normal, high, urgent, got \"HIGH\"",
        ),
        case(
            "priority null",
            edit(OPENED, "\"high\"", "null"),
            InvalidField,
            "priority",
        ),
        case(
            "optional order_id invalid",
            edit(OPENED, "\"O1\"", "\"O 1\""),
            InvalidField,
            "order_id",
        ),
        case(
            "optional order_id a number",
            edit(OPENED, "\"O1\"", "1"),
            InvalidField,
            "order_id",
        ),
        case(
            "category before priority",
            edit(&edit(OPENED, "\"billing\"", "\"\""), "\"high\"", "\"x\""),
            InvalidField,
            "category:",
        ),
    ]);
}

#[test]
fn exactly_1000_lines_are_accepted() {
    let event = decode(with_lines(&lines_of(1000)).as_bytes(), LIMIT * 2).unwrap();
    let tripgate_model::EventBody::OrderPlaced { lines, .. } = event.body else {
        panic!("not placed")
    };
    assert_eq!(lines.len(), 1000);
}
