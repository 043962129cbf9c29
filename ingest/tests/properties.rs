//! Properties: decode never panics, and any valid event written as JSON (in
//! any key order, with unknown fields) decodes back to itself.

use chrono::{DateTime, FixedOffset, SecondsFormat};
use proptest::prelude::*;
use serde_json::{json, Value as Json};
use tripgate_ingest::decode;
use tripgate_model::{Event, EventBody, Line, Money, Nanos, Priority, Text};

/// An event as generated: the JSON fields to write, and what they mean.
#[derive(Clone, Debug)]
struct Generated {
    fields: Vec<(String, Json)>,
    expected: Event,
}

fn id() -> impl Strategy<Value = Text> {
    "[A-Za-z0-9._:-]{1,128}".prop_map(Text::from)
}

/// A timestamp and one of its RFC 3339 spellings (Z or a numeric offset,
/// with 0, 3, 6 or 9 fractional digits).
fn timestamp() -> impl Strategy<Value = (Nanos, String)> {
    let instant = -2_000_000_000_000_000_000i64..4_102_444_800_000_000_000;
    let offset_seconds = prop_oneof![
        Just(None),
        (-(23 * 3600 + 59 * 60)..=(23 * 3600 + 59 * 60)).prop_map(Some)
    ];
    (instant, offset_seconds).prop_map(|(nanos, offset_seconds)| {
        let utc = DateTime::from_timestamp_nanos(nanos);
        let text = match offset_seconds {
            None => utc.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            Some(seconds) => {
                let offset = FixedOffset::east_opt(seconds / 60 * 60).expect("offset in range");
                utc.with_timezone(&offset)
                    .to_rfc3339_opts(SecondsFormat::AutoSi, false)
            }
        };
        (nanos, text)
    })
}

/// Money as an integer or a float token, with the value each must decode to.
fn money() -> impl Strategy<Value = (Money, Json)> {
    prop_oneof![
        (0u64..=1_000_000_000).prop_map(|units| (Money::from_units(units), json!(units))),
        (0.0f64..=1e9).prop_map(|amount| (Money::from_f64(amount), json!(amount))),
    ]
}

fn quantity() -> impl Strategy<Value = u32> {
    1u32..=1_000_000
}

fn line() -> impl Strategy<Value = (Line, Json)> {
    (id(), quantity(), money(), money()).prop_map(|(sku, quantity, (price, price_json), (cost, cost_json))| {
        let json = json!({"sku": sku, "quantity": quantity, "unit_price": price_json, "unit_cost": cost_json});
        (Line { sku, quantity, unit_price: price, unit_cost: cost }, json)
    })
}

fn priority() -> impl Strategy<Value = Priority> {
    prop_oneof![
        Just(Priority::Low),
        Just(Priority::Normal),
        Just(Priority::High),
        Just(Priority::Urgent)
    ]
}

/// The type's fields (beyond event_id, type and occurred_at) and its body.
fn body() -> impl Strategy<Value = (Vec<(String, Json)>, EventBody)> {
    let field = |name: &str, value: Json| (name.to_owned(), value);
    prop_oneof![
        (
            id(),
            id(),
            id(),
            id(),
            timestamp(),
            proptest::collection::vec(line(), 1..20)
        )
            .prop_map(
                move |(
                    order_id,
                    channel,
                    region,
                    warehouse,
                    (promised_by, promised_text),
                    lines,
                )| {
                    let (lines, lines_json): (Vec<Line>, Vec<Json>) = lines.into_iter().unzip();
                    let fields = vec![
                        field("order_id", json!(order_id)),
                        field("channel", json!(channel)),
                        field("region", json!(region)),
                        field("warehouse", json!(warehouse)),
                        field("promised_by", json!(promised_text)),
                        field("lines", Json::Array(lines_json)),
                    ];
                    (
                        fields,
                        EventBody::OrderPlaced {
                            order_id,
                            channel,
                            region,
                            warehouse,
                            promised_by,
                            lines,
                        },
                    )
                }
            ),
        id().prop_map(move |order_id| (
            vec![field("order_id", json!(order_id))],
            EventBody::OrderCancelled { order_id }
        )),
        (id(), money()).prop_map(move |(order_id, (amount, amount_json))| {
            let fields = vec![
                field("order_id", json!(order_id)),
                field("amount", amount_json),
            ];
            (fields, EventBody::OrderRefunded { order_id, amount })
        }),
        (id(), money()).prop_map(move |(order_id, (amount, amount_json))| {
            let fields = vec![
                field("order_id", json!(order_id)),
                field("amount", amount_json),
            ];
            (fields, EventBody::OrderChargeback { order_id, amount })
        }),
        (id(), id()).prop_map(move |(order_id, carrier)| {
            let fields = vec![
                field("order_id", json!(order_id)),
                field("carrier", json!(carrier)),
            ];
            (fields, EventBody::Shipped { order_id, carrier })
        }),
        id().prop_map(move |order_id| (
            vec![field("order_id", json!(order_id))],
            EventBody::Delivered { order_id }
        )),
        (id(), id(), quantity(), id()).prop_map(move |(order_id, sku, quantity, reason)| {
            let fields = vec![
                field("order_id", json!(order_id)),
                field("sku", json!(sku)),
                field("quantity", json!(quantity)),
                field("reason", json!(reason)),
            ];
            (
                fields,
                EventBody::DefectReported {
                    order_id,
                    sku,
                    quantity,
                    reason,
                },
            )
        }),
        (
            id(),
            id(),
            priority(),
            proptest::option::of(id()),
            any::<bool>()
        )
            .prop_map(
                move |(ticket_id, category, priority, order_id, null_when_none)| {
                    let mut fields = vec![
                        field("ticket_id", json!(ticket_id)),
                        field("category", json!(category)),
                        field("priority", json!(priority.as_str())),
                    ];
                    match &order_id {
                        Some(order_id) => fields.push(field("order_id", json!(order_id))),
                        None if null_when_none => fields.push(field("order_id", Json::Null)),
                        None => {}
                    }
                    (
                        fields,
                        EventBody::TicketOpened {
                            ticket_id,
                            category,
                            priority,
                            order_id,
                        },
                    )
                }
            ),
        id().prop_map(move |ticket_id| {
            (
                vec![field("ticket_id", json!(ticket_id))],
                EventBody::TicketFirstResponse { ticket_id },
            )
        }),
        id().prop_map(move |ticket_id| (
            vec![field("ticket_id", json!(ticket_id))],
            EventBody::TicketResolved { ticket_id }
        )),
    ]
}

/// Unknown fields, with names no event type reads, holding any JSON.
fn unknown_fields() -> impl Strategy<Value = Vec<(String, Json)>> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Json::from),
        ".{0,12}".prop_map(Json::from),
    ];
    let value = leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            proptest::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|map| Json::Object(map.into_iter().collect())),
        ]
    });
    proptest::collection::btree_map("x_[a-z]{1,8}", value, 0..4)
        .prop_map(|map| map.into_iter().collect())
}

fn generated() -> impl Strategy<Value = Generated> {
    (id(), timestamp(), body(), unknown_fields()).prop_flat_map(
        |(event_id, (occurred_at, occurred_text), (type_fields, body), unknown)| {
            let mut fields = vec![
                ("event_id".to_owned(), json!(event_id)),
                ("type".to_owned(), json!(body.type_name())),
                ("occurred_at".to_owned(), json!(occurred_text)),
            ];
            fields.extend(type_fields);
            fields.extend(unknown);
            let expected = Event {
                event_id,
                occurred_at,
                body,
            };
            // Any key order must decode the same.
            Just(fields)
                .prop_shuffle()
                .prop_map(move |fields| Generated {
                    fields,
                    expected: expected.clone(),
                })
        },
    )
}

fn to_json(fields: &[(String, Json)]) -> String {
    let members: Vec<String> = fields
        .iter()
        .map(|(key, value)| format!("{}:{}", Json::from(key.as_str()), value))
        .collect();
    format!("{{{}}}", members.join(","))
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1024), limit in 0usize..2048) {
        let _ = decode(&bytes, limit);
    }

    #[test]
    fn never_panics_on_json_like_text(text in r#"[\[\]{}",:0-9.eE+\-a-z\\ ]{0,200}"#) {
        let _ = decode(text.as_bytes(), 65536);
    }

    #[test]
    fn valid_events_decode_to_themselves(event in generated()) {
        let text = to_json(&event.fields);
        let decoded = decode(text.as_bytes(), 1 << 20);
        prop_assert_eq!(decoded, Ok(event.expected), "{}", text);
    }

    #[test]
    fn never_panics_on_damaged_events(event in generated(), cut in any::<prop::sample::Index>(), byte in any::<u8>(), truncate in any::<bool>()) {
        let mut bytes = to_json(&event.fields).into_bytes();
        let at = cut.index(bytes.len());
        if truncate {
            bytes.truncate(at);
        } else {
            bytes[at] = byte;
        }
        let _ = decode(&bytes, 1 << 20);
    }
}
