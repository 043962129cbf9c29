//! Rejections about `type` and about missing fields, which come before any
//! field value is judged (contract section 9, "Rejection order").

mod common;

use common::*;
use tripgate_ingest::decode;
use tripgate_model::RejectReason::*;

#[test]
fn each_case_gets_its_reason_and_detail() {
    check_cases(vec![
        // type
        case(
            "no type",
            edit(REFUNDED, r#""type":"order.refunded","#, ""),
            MissingField,
            r#"missing field "type""#,
        ),
        case(
            "type not a string",
            edit(REFUNDED, "\"order.refunded\"", "5"),
            InvalidField,
            "type: expected a string, got 5",
        ),
        case(
            "type null",
            edit(REFUNDED, "\"order.refunded\"", "null"),
            InvalidField,
            "got null",
        ),
        case(
            "unknown type",
            edit(REFUNDED, "order.refunded", "order.exploded"),
            UnknownType,
            "\"order.exploded\"",
        ),
        case(
            "type is case sensitive",
            edit(REFUNDED, "order.refunded", "Order.Refunded"),
            UnknownType,
            "",
        ),
        case(
            "unknown type plus missing event_id",
            edit(
                &edit(REFUNDED, "order.refunded", "x"),
                "\"event_id\":\"e9\",",
                "",
            ),
            UnknownType,
            "",
        ),
        case(
            "unknown type plus missing fields",
            r#"{"type":"nope"}"#,
            UnknownType,
            "",
        ),
        // missing_field: presence of everything before any value is judged.
        case(
            "no warehouse",
            edit(PLACED, r#""warehouse":"W1","#, ""),
            MissingField,
            r#"missing field "warehouse""#,
        ),
        case(
            "no event_id",
            edit(REFUNDED, "\"event_id\":\"e9\",", ""),
            MissingField,
            "\"event_id\"",
        ),
        case(
            "missing beats invalid id",
            edit(&edit(REFUNDED, "\"e9\"", "\"bad id\""), ",\"amount\":5", ""),
            MissingField,
            "\"amount\"",
        ),
        case(
            "line field missing beats invalid event_id",
            edit(&edit(PLACED, "\"e1\"", "\"\""), r#""quantity":1,"#, ""),
            MissingField,
            r#"missing field "lines[1].quantity""#,
        ),
        case(
            "line field missing beats invalid earlier line",
            edit(
                &edit(PLACED, "\"quantity\":2", "\"quantity\":0"),
                r#","unit_cost":5"#,
                "",
            ),
            MissingField,
            "\"lines[1].unit_cost\"",
        ),
        case(
            "missing beats invalid lines",
            edit(&with_lines("[5]"), r#""region":"r1","#, ""),
            MissingField,
            "\"region\"",
        ),
    ]);
}

#[test]
fn every_required_field_is_missing_field_when_removed() {
    let events = [PLACED, REFUNDED, DEFECT, OPENED];
    for text in events {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).unwrap();
        for name in object
            .keys()
            .filter(|name| !(text == OPENED && *name == "order_id"))
        {
            let mut without = object.clone();
            without.remove(name);
            let rejection =
                decode(serde_json::to_string(&without).unwrap().as_bytes(), LIMIT).unwrap_err();
            assert_eq!(rejection.reason, MissingField, "{name}: {rejection}");
            assert_eq!(rejection.detail, format!("missing field \"{name}\""));
        }
    }
}
