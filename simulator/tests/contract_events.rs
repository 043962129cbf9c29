//! Every line the simulator writes is a valid event of contract section 1.

mod common;

use std::collections::HashSet;

use common::{parse, run, START};
use serde_json::{Map, Value};
use tripgate_model::time::parse_rfc3339;
use tripgate_simulator::{Controls, Scenario};

#[derive(Clone, Copy)]
enum Kind {
    Id,
    Timestamp,
    Money,
    Quantity,
    Priority,
    Lines,
}

/// A field's name, kind, and whether it is required.
type Field = (&'static str, Kind, bool);

/// Contract section 1: the extra fields of each type (required unless marked optional).
const TABLE: [(&str, &[Field]); 10] = [
    (
        "order.placed",
        &[
            ("order_id", Kind::Id, true),
            ("channel", Kind::Id, true),
            ("region", Kind::Id, true),
            ("warehouse", Kind::Id, true),
            ("promised_by", Kind::Timestamp, true),
            ("lines", Kind::Lines, true),
        ],
    ),
    ("order.cancelled", &[("order_id", Kind::Id, true)]),
    (
        "order.refunded",
        &[("order_id", Kind::Id, true), ("amount", Kind::Money, true)],
    ),
    (
        "order.chargeback",
        &[("order_id", Kind::Id, true), ("amount", Kind::Money, true)],
    ),
    (
        "fulfillment.shipped",
        &[("order_id", Kind::Id, true), ("carrier", Kind::Id, true)],
    ),
    ("fulfillment.delivered", &[("order_id", Kind::Id, true)]),
    (
        "fulfillment.defect_reported",
        &[
            ("order_id", Kind::Id, true),
            ("sku", Kind::Id, true),
            ("quantity", Kind::Quantity, true),
            ("reason", Kind::Id, true),
        ],
    ),
    (
        "ticket.opened",
        &[
            ("ticket_id", Kind::Id, true),
            ("category", Kind::Id, true),
            ("priority", Kind::Priority, true),
            ("order_id", Kind::Id, false),
        ],
    ),
    ("ticket.first_response", &[("ticket_id", Kind::Id, true)]),
    ("ticket.resolved", &[("ticket_id", Kind::Id, true)]),
];

const LINE_FIELDS: [(&str, Kind); 4] = [
    ("sku", Kind::Id),
    ("quantity", Kind::Quantity),
    ("unit_price", Kind::Money),
    ("unit_cost", Kind::Money),
];

fn is_id(text: &str) -> bool {
    (1..=128).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

fn check_value(field: &str, value: &Value, kind: Kind) -> Result<(), String> {
    let valid = match kind {
        Kind::Id => value.as_str().is_some_and(is_id),
        Kind::Timestamp => value
            .as_str()
            .is_some_and(|text| text.ends_with('Z') && parse_rfc3339(text).is_some()),
        // Two decimals exactly: the amount in cents is a whole number.
        Kind::Money => value.as_f64().is_some_and(|amount| {
            (0.0..=1e9).contains(&amount)
                && ((amount * 100.0).round() - amount * 100.0).abs() < 1e-6
        }),
        Kind::Quantity => value
            .as_u64()
            .is_some_and(|quantity| (1..=1_000_000).contains(&quantity)),
        Kind::Priority => value
            .as_str()
            .is_some_and(|text| ["low", "normal", "high", "urgent"].contains(&text)),
        Kind::Lines => value.as_array().is_some_and(|lines| {
            (1..=1000).contains(&lines.len())
                && lines.iter().all(|line| {
                    line.as_object().is_some_and(|line| {
                        line.len() == LINE_FIELDS.len()
                            && LINE_FIELDS.iter().all(|(name, kind)| {
                                line.get(*name)
                                    .is_some_and(|value| check_value(name, value, *kind).is_ok())
                            })
                    })
                })
        }),
    };
    if valid {
        Ok(())
    } else {
        Err(format!("invalid {field}: {value}"))
    }
}

fn check_event(line: &str) -> Result<(), String> {
    let event: Map<String, Value> =
        serde_json::from_str(line).map_err(|error| format!("{error}"))?;
    check_value(
        "event_id",
        event.get("event_id").unwrap_or(&Value::Null),
        Kind::Id,
    )?;
    check_value(
        "occurred_at",
        event.get("occurred_at").unwrap_or(&Value::Null),
        Kind::Timestamp,
    )?;
    let event_type = event.get("type").and_then(Value::as_str).ok_or("no type")?;
    let (_, fields) = TABLE
        .iter()
        .find(|(name, _)| *name == event_type)
        .ok_or("unknown type")?;
    for (name, kind, required) in fields.iter() {
        match event.get(*name) {
            Some(value) => check_value(name, value, *kind)?,
            None if *required => return Err(format!("missing {name}")),
            None => {}
        }
    }
    let known = |name: &str| {
        ["event_id", "type", "occurred_at"].contains(&name)
            || fields.iter().any(|field| field.0 == name)
    };
    match event.keys().find(|name| !known(name)) {
        Some(extra) => Err(format!("field {extra} is not in the contract")),
        None => Ok(()),
    }
}

/// Money is written with exactly two decimals, which serde_json's numbers no longer show.
fn money_is_written_with_two_decimals(line: &str) -> bool {
    ["\"unit_price\":", "\"unit_cost\":", "\"amount\":"]
        .iter()
        .all(|field| {
            line.match_indices(field).all(|(position, _)| {
                let number: String = line[position + field.len()..]
                    .chars()
                    .take_while(|c| *c != ',' && *c != '}')
                    .collect();
                number.split_once('.').is_some_and(|(whole, cents)| {
                    !whole.is_empty()
                        && whole.chars().all(|c| c.is_ascii_digit())
                        && cents.len() == 2
                })
            })
        })
}

fn assert_all_valid(lines: &[String]) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut types = HashSet::new();
    for line in lines {
        if let Err(problem) = check_event(line) {
            panic!("{problem}: {line}");
        }
        assert!(money_is_written_with_two_decimals(line), "{line}");
        let event = parse(line);
        assert!(
            ids.insert(event["event_id"].as_str().unwrap().to_string()),
            "repeated event_id: {line}"
        );
        types.insert(event["type"].as_str().unwrap().to_string());
    }
    types
}

#[test]
fn demo_events_follow_the_contract_and_cover_every_type() {
    let mut scenario = Scenario::demo();
    scenario.chargeback_share = 0.05; // chargebacks come late; make some land within the run
    let lines = run(scenario, 3, 6 * 60, &Controls::default());
    assert!(lines.len() > 20_000, "{}", lines.len());
    let types = assert_all_valid(&lines);
    let expected: HashSet<String> = TABLE.iter().map(|(name, _)| name.to_string()).collect();
    assert_eq!(types, expected);
}

#[test]
fn a_realistic_day_follows_the_contract() {
    let lines: Vec<String> = tripgate_simulator::simulate(1, 11, START).collect();
    assert!((30_000..200_000).contains(&lines.len()), "{}", lines.len());
    assert_all_valid(&lines);
}

#[test]
fn the_checker_rejects_what_the_contract_rejects() {
    let good = r#"{"event_id":"e1","type":"fulfillment.defect_reported","occurred_at":"2025-01-01T00:00:00.000Z","order_id":"o","sku":"S","quantity":2,"reason":"damaged"}"#;
    assert_eq!(check_event(good), Ok(()));
    for broken in [
        good.replace("\"quantity\":2", "\"quantity\":\"2\""),
        good.replace("\"quantity\":2", "\"quantity\":2.0"),
        good.replace(",\"reason\":\"damaged\"", ""),
        good.replace("00.000Z", "00.000"),
        good.replace("\"sku\":\"S\"", "\"sku\":\"S K\""),
    ] {
        assert!(check_event(&broken).is_err(), "{broken}");
    }
}
