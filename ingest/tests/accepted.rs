//! Every event type's happy path, decoded field by field, and what is
//! ignored rather than rejected.

use tripgate_ingest::decode;
use tripgate_model::time::parse_rfc3339;
use tripgate_model::{Event, EventBody, Line, Money, Priority};

const LIMIT: usize = 65536;

fn at(text: &str) -> i64 {
    parse_rfc3339(text).expect("test timestamp")
}

fn units(amount: f64) -> Money {
    Money::from_f64(amount)
}

fn decoded(text: &str) -> Event {
    decode(text.as_bytes(), LIMIT).unwrap_or_else(|rejection| panic!("{rejection} for {text}"))
}

fn event(event_id: &str, occurred_at: &str, body: EventBody) -> Event {
    Event {
        event_id: event_id.into(),
        occurred_at: at(occurred_at),
        body,
    }
}

#[test]
fn every_event_type_decodes() {
    let cases = [
        (
            r#"{"event_id":"e1","type":"order.placed","occurred_at":"2025-01-01T10:00:10Z","order_id":"O1","channel":"web","region":"r1","warehouse":"W1","promised_by":"2025-01-01T11:05:00+01:00","lines":[{"sku":"A","quantity":2,"unit_price":10.0,"unit_cost":4},{"sku":"B","quantity":1000000,"unit_price":5.5,"unit_cost":0}]}"#,
            event(
                "e1",
                "2025-01-01T10:00:10Z",
                EventBody::OrderPlaced {
                    order_id: "O1".into(),
                    channel: "web".into(),
                    region: "r1".into(),
                    warehouse: "W1".into(),
                    promised_by: at("2025-01-01T10:05:00Z"),
                    lines: vec![
                        Line {
                            sku: "A".into(),
                            quantity: 2,
                            unit_price: units(10.0),
                            unit_cost: units(4.0),
                        },
                        Line {
                            sku: "B".into(),
                            quantity: 1_000_000,
                            unit_price: units(5.5),
                            unit_cost: Money(0),
                        },
                    ],
                },
            ),
        ),
        (
            r#"{"event_id":"e2","type":"order.cancelled","occurred_at":"2025-01-01T10:04:40Z","order_id":"O3"}"#,
            event(
                "e2",
                "2025-01-01T10:04:40Z",
                EventBody::OrderCancelled {
                    order_id: "O3".into(),
                },
            ),
        ),
        (
            r#"{"event_id":"e3","type":"order.refunded","occurred_at":"2025-01-01T10:04:30Z","order_id":"O1","amount":3.25}"#,
            event(
                "e3",
                "2025-01-01T10:04:30Z",
                EventBody::OrderRefunded {
                    order_id: "O1".into(),
                    amount: units(3.25),
                },
            ),
        ),
        (
            r#"{"event_id":"e4","type":"order.chargeback","occurred_at":"2025-01-01T10:04:30Z","order_id":"O1","amount":1000000000}"#,
            event(
                "e4",
                "2025-01-01T10:04:30Z",
                EventBody::OrderChargeback {
                    order_id: "O1".into(),
                    amount: Money::from_units(1_000_000_000),
                },
            ),
        ),
        (
            r#"{"event_id":"e5","type":"fulfillment.shipped","occurred_at":"2025-01-01T10:01:30Z","order_id":"O1","carrier":"C1"}"#,
            event(
                "e5",
                "2025-01-01T10:01:30Z",
                EventBody::Shipped {
                    order_id: "O1".into(),
                    carrier: "C1".into(),
                },
            ),
        ),
        (
            r#"{"event_id":"e6","type":"fulfillment.delivered","occurred_at":"2025-01-01T10:03:30.250Z","order_id":"O2"}"#,
            event(
                "e6",
                "2025-01-01T10:03:30.25Z",
                EventBody::Delivered {
                    order_id: "O2".into(),
                },
            ),
        ),
        (
            r#"{"event_id":"e7","type":"fulfillment.defect_reported","occurred_at":"2025-01-01T10:04:10Z","order_id":"O9","sku":"B","quantity":2,"reason":"damaged"}"#,
            event(
                "e7",
                "2025-01-01T10:04:10Z",
                EventBody::DefectReported {
                    order_id: "O9".into(),
                    sku: "B".into(),
                    quantity: 2,
                    reason: "damaged".into(),
                },
            ),
        ),
        (
            r#"{"event_id":"e8","type":"ticket.opened","occurred_at":"2025-01-01T10:02:10Z","ticket_id":"T1","category":"billing","priority":"high","order_id":"O1"}"#,
            event(
                "e8",
                "2025-01-01T10:02:10Z",
                EventBody::TicketOpened {
                    ticket_id: "T1".into(),
                    category: "billing".into(),
                    priority: Priority::High,
                    order_id: Some("O1".into()),
                },
            ),
        ),
        (
            r#"{"event_id":"e9","type":"ticket.first_response","occurred_at":"2025-01-01T10:03:40Z","ticket_id":"T1"}"#,
            event(
                "e9",
                "2025-01-01T10:03:40Z",
                EventBody::TicketFirstResponse {
                    ticket_id: "T1".into(),
                },
            ),
        ),
        (
            r#"{"event_id":"e10","type":"ticket.resolved","occurred_at":"2025-01-01T10:06:00Z","ticket_id":"T1"}"#,
            event(
                "e10",
                "2025-01-01T10:06:00Z",
                EventBody::TicketResolved {
                    ticket_id: "T1".into(),
                },
            ),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(decoded(text), expected, "{text}");
    }
}

#[test]
fn ticket_order_id_is_optional_and_may_be_null() {
    for text in [
        r#"{"event_id":"e1","type":"ticket.opened","occurred_at":"2025-01-01T10:00:00Z","ticket_id":"T1","category":"c","priority":"low"}"#,
        r#"{"event_id":"e1","type":"ticket.opened","occurred_at":"2025-01-01T10:00:00Z","ticket_id":"T1","category":"c","priority":"low","order_id":null}"#,
    ] {
        let EventBody::TicketOpened {
            order_id, priority, ..
        } = decoded(text).body
        else {
            panic!("not opened")
        };
        assert_eq!(order_id, None);
        assert_eq!(priority, Priority::Low);
    }
}

#[test]
fn unknown_and_unused_fields_are_ignored() {
    // Fields of other types are ignored too, whatever they hold: `amount`
    // means nothing on a shipment.
    let text = r#" {"v":2,"meta":{"src":["x",1.5,null,{"deep":true}]},"amount":"lots","lines":[],"event_id":"e1","type":"fulfillment.shipped","note":"\ud83d\ude00 \"quoted\"","occurred_at":"2025-01-01T10:01:30Z","order_id":"O1","carrier":"C1"}
"#;
    let expected = event(
        "e1",
        "2025-01-01T10:01:30Z",
        EventBody::Shipped {
            order_id: "O1".into(),
            carrier: "C1".into(),
        },
    );
    assert_eq!(decoded(text), expected);
}

#[test]
fn escaped_keys_and_values_are_read_decoded() {
    let text = r#"{"event\u005fid":"e\u0031","type":"fulfillment.delivered","occurred_at":"2025-01-01T10:00:00Z","order_id":"O\/1"}"#;
    // `\/` decodes to `/`, which is not an id character.
    let rejection = decode(text.as_bytes(), LIMIT).unwrap_err();
    assert_eq!(
        rejection.detail,
        r#"order_id: expected an id (1 to 128 of A-Z a-z 0-9 . _ : -), got "O/1""#
    );
    let fixed = text.replace(r#"O\/1"#, r#"O\u002d1"#);
    let event = decoded(&fixed);
    assert_eq!(event.event_id, "e1");
    assert_eq!(
        event.body,
        EventBody::Delivered {
            order_id: "O-1".into()
        }
    );
}

#[test]
fn boundary_values_are_accepted() {
    let id = "a".repeat(128);
    let text = format!(
        r#"{{"event_id":"{id}","type":"fulfillment.defect_reported","occurred_at":"2025-01-01T10:00:00-05:30","order_id":"Az09._:-","sku":"s","quantity":1,"reason":"r"}}"#
    );
    let event = decoded(&text);
    assert_eq!(event.event_id, id);
    assert_eq!(event.occurred_at, at("2025-01-01T15:30:00Z"));
    let zero = r#"{"event_id":"e","type":"order.refunded","occurred_at":"2025-01-01T10:00:00Z","order_id":"O","amount":0}"#;
    assert_eq!(
        decoded(zero).body,
        EventBody::OrderRefunded {
            order_id: "O".into(),
            amount: Money(0)
        }
    );
    let top = zero.replace("\"amount\":0", "\"amount\":1e9");
    assert_eq!(
        decoded(&top).body,
        EventBody::OrderRefunded {
            order_id: "O".into(),
            amount: Money::from_units(1_000_000_000)
        }
    );
}
