//! Hand-rolled decoders for the events producers actually send, in a
//! fraction of serde_json's time.
//!
//! Two tiers, both answering only when sure and otherwise handing the
//! document on:
//!
//! 1. [`read`] (`typed`) reads the usual valid event into slots that
//!    [`event`] turns straight into an [`Event`] or its rejection: no value
//!    tree, no allocation but the event's own strings. Anything it does not
//!    expect (a bad line, a duplicate key, an escape) returns `None`.
//! 2. [`parse`] builds the same value tree as `json::parse` for any document
//!    without escapes, repeats or unusual numbers, so `schema` can check it
//!    and word its rejection.
//!
//! Anything else (escapes, duplicates, syntax errors, deep nesting, numbers
//! serde_json would read differently) goes to serde_json, which owns every
//! rejection of the document itself. Debug builds (and so every test) check
//! each answer of a tier against the next one's.

mod cursor;
mod timestamp;
mod typed;

use tripgate_model::{Event, Rejection};

use crate::json::Value;
use crate::schema::{EVENT_FIELDS, LINES_FIELD, LINE_FIELDS};
use cursor::{event_slot, line_slot, Cursor, UnknownKeys};

pub(crate) use timestamp::timestamp;

pub(crate) use typed::{read, Slots};

/// The event [`read`] found in `text`, or the first rule it breaks as
/// `schema` words it. Debug builds (and so every test) check the answer
/// against the tree parser's; release builds return the call's result as
/// it is, so it is built where the caller wants it (see `crate::decode`).
#[inline]
pub(crate) fn event(text: &str, fields: &mut Slots<'_>) -> Result<Event, Rejection> {
    #[cfg(debug_assertions)]
    {
        let decoded = crate::schema::event_from_fields(fields);
        let tree = parse(text).expect("the typed decoder accepted what the tree parser refuses");
        assert_agrees(text, &tree);
        assert_eq!(
            decoded,
            crate::schema::event_from_object(&tree),
            "the typed decoder disagrees on {text}"
        );
        decoded
    }
    #[cfg(not(debug_assertions))]
    {
        let _ = text;
        crate::schema::event_from_fields(fields)
    }
}

/// The top-level object's kept fields, as `json::parse` keeps them.
pub(crate) fn parse(text: &str) -> Option<Vec<(&'static str, Value<'_>)>> {
    let mut cursor = Cursor::new(text);
    cursor.skip_whitespace();
    let fields = object(&mut cursor, &EVENT_FIELDS, Kept::Event)?;
    cursor.skip_whitespace();
    cursor.at_end().then_some(fields)
}

/// Debug builds (and so every test) compare each fast answer with serde_json's.
/// Unit tests call it directly, in every profile (`cargo bench` builds them
/// with release settings).
#[cfg(any(debug_assertions, test))]
pub(crate) fn assert_agrees(text: &str, fields: &[(&'static str, Value<'_>)]) {
    let slow = crate::json::parse(text).expect("the fast path accepted invalid JSON");
    assert!(
        slow.duplicate.is_none(),
        "the fast path missed a duplicate in {text}"
    );
    let Value::Object(slow_fields) = &slow.value else {
        panic!("the fast path accepted a non-object: {text}");
    };
    assert_eq!(
        slow_fields.as_slice(),
        fields,
        "the fast path disagrees on {text}"
    );
}

/// What the kept fields of an object hold.
#[derive(Clone, Copy, PartialEq)]
enum Kept {
    /// The event: scalars, and `lines`.
    Event,
    /// One line: scalars only.
    Line,
}

/// An object whose `known` keys are kept; the opening brace is next.
fn object<'de>(
    cursor: &mut Cursor<'de>,
    known: &'static [&'static str],
    kept: Kept,
) -> Option<Vec<(&'static str, Value<'de>)>> {
    cursor.eat(b'{')?;
    let mut fields = Vec::with_capacity(known.len().min(12));
    let mut seen_known: u32 = 0;
    let mut unknown = UnknownKeys::new();
    if cursor.object_ends() {
        return Some(fields);
    }
    loop {
        let key = cursor.key()?;
        let slot = match kept {
            Kept::Event => event_slot(key),
            Kept::Line => line_slot(key),
        };
        match slot {
            Some(slot) => {
                if seen_known & (1 << slot) != 0 {
                    return None;
                }
                seen_known |= 1 << slot;
                let value = if kept == Kept::Event && key == LINES_FIELD {
                    lines(cursor)?
                } else {
                    cursor.scalar()?
                };
                fields.push((known[slot], value));
            }
            None => {
                unknown.insert(key)?;
                cursor.skip_value(1)?;
            }
        }
        if !cursor.next_member(b'}')? {
            return Some(fields);
        }
    }
}

/// `lines`: an array of line objects, nothing else.
fn lines<'de>(cursor: &mut Cursor<'de>) -> Option<Value<'de>> {
    cursor.eat(b'[')?;
    let mut lines = Vec::new();
    cursor.skip_whitespace();
    if cursor.peek() == Some(b']') {
        cursor.eat(b']')?;
        return Some(Value::Array(lines));
    }
    loop {
        lines.push(Value::Object(object(cursor, &LINE_FIELDS, Kept::Line)?));
        if !cursor.next_member(b']')? {
            return Some(Value::Array(lines));
        }
    }
}

#[cfg(test)]
mod tests;
