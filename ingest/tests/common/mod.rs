//! What the rejection tests share: base events to break, and the table runner.
// Each test crate uses a different part of this module.
#![allow(dead_code)]

use tripgate_ingest::decode;
use tripgate_model::RejectReason;

pub const LIMIT: usize = 65536;

pub const PLACED: &str = r#"{"event_id":"e1","type":"order.placed","occurred_at":"2025-01-01T10:00:10Z","order_id":"O1","channel":"web","region":"r1","warehouse":"W1","promised_by":"2025-01-01T10:05:00Z","lines":[{"sku":"A","quantity":2,"unit_price":10.0,"unit_cost":4.0},{"sku":"B","quantity":1,"unit_price":5.5,"unit_cost":5}]}"#;
pub const REFUNDED: &str = r#"{"event_id":"e9","type":"order.refunded","occurred_at":"2025-01-01T10:02:50Z","order_id":"O9","amount":5}"#;
pub const DEFECT: &str = r#"{"event_id":"e12","type":"fulfillment.defect_reported","occurred_at":"2025-01-01T10:03:50Z","order_id":"O1","sku":"A","quantity":1,"reason":"damaged"}"#;
pub const OPENED: &str = r#"{"event_id":"e8","type":"ticket.opened","occurred_at":"2025-01-01T10:02:10Z","ticket_id":"T1","category":"billing","priority":"high","order_id":"O1"}"#;

/// An expected rejection: the reason, and text the detail must contain.
pub struct Case {
    pub name: &'static str,
    pub input: String,
    pub reason: RejectReason,
    pub detail: &'static str,
}

pub fn case(
    name: &'static str,
    input: impl Into<String>,
    reason: RejectReason,
    detail: &'static str,
) -> Case {
    Case {
        name,
        input: input.into(),
        reason,
        detail,
    }
}

/// `text` with the first occurrence of `from` replaced, failing loudly if
/// the case no longer applies to its base event.
pub fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in {text}");
    text.replacen(from, to, 1)
}

pub fn lines_of(count: usize) -> String {
    let line = r#"{"sku":"A","quantity":1,"unit_price":1,"unit_cost":1}"#;
    format!("[{}]", vec![line; count].join(","))
}

/// PLACED with `lines` replaced by the JSON text `lines`.
pub fn with_lines(lines: &str) -> String {
    let start = PLACED.find("\"lines\"").expect("PLACED has lines");
    format!("{}\"lines\":{lines}}}", &PLACED[..start])
}

/// Decodes every case and reports all that do not get their reason and detail.
pub fn check_cases(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in cases {
        match decode(case.input.as_bytes(), LIMIT) {
            Ok(event) => failures.push(format!("{}: decoded to {event:?}", case.name)),
            Err(rejection)
                if rejection.reason != case.reason || !rejection.detail.contains(case.detail) =>
            {
                failures.push(format!(
                    "{}: expected {} with {:?}, got {rejection}",
                    case.name, case.reason, case.detail
                ))
            }
            Err(_) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
