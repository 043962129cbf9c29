//! Ingest: turns the bytes of one event into a validated [`Event`] or a
//! [`Rejection`] naming the first rule it breaks (contract sections 1, 2 and
//! 9, "Rejection order").
//!
//! Decoding is one pass into a value tree that keeps only the fields a check
//! reads, then the checks in the contract's order (`schema`, `check`). The
//! usual valid event skips the tree: a hand-rolled decoder reads it straight
//! into its checked form (`fast`). A hand-rolled parser builds the tree for
//! the rest, with serde_json (`json`) for everything it is not sure about. `future_timestamp` is not decided here: it needs
//! the wall clock, which the live-mode caller owns.
// `unsafe` in one module only: librdkafka's partition queues and batch
// consume, which rdkafka does not wrap (`kafka::fetch`).
#![deny(unsafe_code)]

mod check;
mod fast;
mod json;
pub mod kafka;
mod schema;

use tripgate_model::{Event, RejectReason, Rejection};

use crate::json::Value;

/// Decodes one event. The first failing check names the reason, in this
/// order: `too_large`, `invalid_utf8`, `malformed_json`, `not_an_object`,
/// `duplicate_field`, the `type` field, presence of required fields
/// (`missing_field`), then their values (`invalid_field`).
pub fn decode(bytes: &[u8], max_event_bytes: usize) -> Result<Event, Rejection> {
    if bytes.len() > max_event_bytes {
        let detail = format!(
            "event is {} bytes, more than max_event_bytes ({max_event_bytes})",
            bytes.len()
        );
        return Err(Rejection::new(RejectReason::TooLarge, detail));
    }
    // Validating UTF-8 up front puts invalid_utf8 ahead of any syntax error,
    // and lets serde_json read a &str without validating strings again.
    // SIMD validation (several times std's speed on ~300 B events); std's
    // only to describe a failure.
    let text = match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => {
            let error = std::str::from_utf8(bytes).expect_err("simdutf8 and std agree");
            return Err(Rejection::new(RejectReason::InvalidUtf8, error.to_string()));
        }
    };
    let mut fields = fast::Slots::default();
    if fast::read(text, &mut fields).is_some() {
        // Returned straight from the call, the 160-byte result is built in
        // place; wrapped in an `Option` on its way out, it was copied twice.
        return fast::event(text, &mut fields);
    }
    if let Some(fields) = fast::parse(text) {
        #[cfg(debug_assertions)]
        fast::assert_agrees(text, &fields);
        return schema::event_from_object(&fields);
    }
    let parsed = json::parse(text).map_err(|error| malformed(text, &error))?;
    let Value::Object(fields) = &parsed.value else {
        let detail = format!(
            "expected a JSON object, got {}",
            check::Shown(&parsed.value)
        );
        return Err(Rejection::new(RejectReason::NotAnObject, detail));
    };
    if let Some(duplicate) = &parsed.duplicate {
        let detail = format!(
            "duplicate field {:?}",
            check::shorten(&duplicate.to_string())
        );
        return Err(Rejection::new(RejectReason::DuplicateField, detail));
    }
    schema::event_from_object(fields)
}

fn malformed(text: &str, error: &serde_json::Error) -> Rejection {
    // serde_json reports a BOM as "expected value at column 1", which sends
    // whoever reads the dead letter hunting for an invisible character.
    let detail = if text.starts_with('\u{feff}') {
        "byte order mark before the JSON value".to_owned()
    } else {
        error.to_string()
    };
    Rejection::new(RejectReason::MalformedJson, detail)
}
