//! Checks of single field values (contract section 1), each naming the field
//! and what it got when it fails.

use std::fmt;

use tripgate_model::time::parse_rfc3339;
use tripgate_model::{Money, Nanos, Priority, RejectReason, Rejection, Text};

use crate::json::Value;

const MAX_ID_LENGTH: usize = 128;
const MAX_MONEY_UNITS: u64 = 1_000_000_000;
const MAX_QUANTITY: u64 = 1_000_000;
/// Details travel in dead-letter headers and logs, so echoed input is cut
/// short rather than copied whole (an event may be 64 KiB).
const MAX_ECHOED_CHARS: usize = 64;

/// Where a field sits, rendered only when a check fails.
#[derive(Clone, Copy)]
pub(crate) enum Path {
    Field(&'static str),
    Line(usize),
    LineField(usize, &'static str),
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Field(name) => f.write_str(name),
            Path::Line(index) => write!(f, "lines[{index}]"),
            Path::LineField(index, name) => write!(f, "lines[{index}].{name}"),
        }
    }
}

/// A value as a detail shows it: scalars as written, strings quoted and cut
/// short, containers by kind only.
pub(crate) struct Shown<'v, 'de>(pub(crate) &'v Value<'de>);

impl fmt::Display for Shown<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Null => f.write_str("null"),
            Value::Bool(value) => write!(f, "{value}"),
            Value::Unsigned(value) => write!(f, "{value}"),
            Value::Negative(value) => write!(f, "{value}"),
            // Debug keeps the token's float look: 10.0 stays "10.0", not "10".
            Value::Float(value) => write!(f, "{value:?}"),
            Value::String(text) => write!(f, "{:?}", shorten(text)),
            Value::Array(_) => f.write_str("an array"),
            Value::Object(_) => f.write_str("an object"),
        }
    }
}

/// At most `MAX_ECHOED_CHARS` characters of `text`, marked when cut.
pub(crate) fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHOED_CHARS) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

pub(crate) fn missing(path: Path) -> Rejection {
    Rejection::new(
        RejectReason::MissingField,
        format!("missing field \"{path}\""),
    )
}

pub(crate) fn invalid(path: Path, expected: &str, got: &Value<'_>) -> Rejection {
    Rejection::new(
        RejectReason::InvalidField,
        format!("{path}: expected {expected}, got {}", Shown(got)),
    )
}

/// A field's value, or `missing_field` (presence is checked before validity,
/// so validity checks only meet this if the two ever disagree).
pub(crate) fn present<'v, 'de>(
    path: Path,
    value: Option<&'v Value<'de>>,
) -> Result<&'v Value<'de>, Rejection> {
    value.ok_or_else(|| missing(path))
}

pub(crate) fn id(path: Path, value: Option<&Value<'_>>) -> Result<Text, Rejection> {
    let value = present(path, value)?;
    match value {
        Value::String(text) if is_id(text) => Ok(Text::new(text)),
        _ => Err(invalid(
            path,
            "an id (1 to 128 of A-Z a-z 0-9 . _ : -)",
            value,
        )),
    }
}

/// [`id`] for a value whose bytes the scanner already found all in the id
/// alphabet (`id_bytes`): only the length is left to check. Anything else
/// gets the full check, which words the rejection.
pub(crate) fn scanned_id(
    path: Path,
    value: Option<&Value<'_>>,
    id_bytes: bool,
) -> Result<Text, Rejection> {
    match value {
        Some(Value::String(text)) if id_bytes && (1..=MAX_ID_LENGTH).contains(&text.len()) => {
            Ok(Text::new(text))
        }
        _ => id(path, value),
    }
}

fn is_id(text: &str) -> bool {
    // Every allowed character is ASCII, so bytes and characters coincide.
    (1..=MAX_ID_LENGTH).contains(&text.len())
        && text.bytes().all(|byte| ID_BYTES[usize::from(byte)])
}

/// Which bytes an id may hold: a table lookup per byte instead of five tests.
pub(crate) static ID_BYTES: [bool; 256] = {
    let mut allowed = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        allowed[byte] = b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
        byte += 1;
    }
    allowed
};

pub(crate) fn timestamp(path: Path, value: Option<&Value<'_>>) -> Result<Nanos, Rejection> {
    let value = present(path, value)?;
    match value {
        Value::String(text) => crate::fast::timestamp(text).or_else(|| parse_rfc3339(text)),
        _ => None,
    }
    .ok_or_else(|| {
        invalid(
            path,
            "an RFC 3339 timestamp with an offset (Z or +hh:mm)",
            value,
        )
    })
}

pub(crate) fn money(path: Path, value: Option<&Value<'_>>) -> Result<Money, Rejection> {
    let value = present(path, value)?;
    match *value {
        // Integer tokens convert exactly; only fractions go through a double.
        Value::Unsigned(units) if units <= MAX_MONEY_UNITS => Ok(Money::from_units(units)),
        Value::Float(amount)
            if amount.is_finite() && (0.0..=MAX_MONEY_UNITS as f64).contains(&amount) =>
        {
            Ok(Money::from_f64(amount))
        }
        _ => Err(invalid(path, "a number from 0 to 1e9", value)),
    }
}

pub(crate) fn quantity(path: Path, value: Option<&Value<'_>>) -> Result<u32, Rejection> {
    let value = present(path, value)?;
    match *value {
        // Only an integer token counts: 10.0 and "10" are refused, not coerced.
        Value::Unsigned(count) if (1..=MAX_QUANTITY).contains(&count) => Ok(count as u32),
        _ => Err(invalid(path, "an integer from 1 to 1000000", value)),
    }
}

pub(crate) fn priority(path: Path, value: Option<&Value<'_>>) -> Result<Priority, Rejection> {
    let value = present(path, value)?;
    match value {
        Value::String(text) => Priority::parse(text),
        _ => None,
    }
    .ok_or_else(|| invalid(path, "one of low, normal, high, urgent", value))
}

/// An optional id: absent and `null` both mean none.
pub(crate) fn optional_id(
    path: Path,
    value: Option<&Value<'_>>,
) -> Result<Option<Text>, Rejection> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(_) => id(path, value).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_table_allows_exactly_the_contract_alphabet() {
        for byte in 0..=255u8 {
            let allowed = byte.is_ascii_alphanumeric() || b"._:-".contains(&byte);
            assert_eq!(ID_BYTES[usize::from(byte)], allowed, "{byte}");
        }
    }

    #[test]
    fn ids_allow_exactly_the_contract_alphabet() {
        assert!(is_id("Az09._:-"));
        assert!(is_id(&"a".repeat(128)));
        assert!(!is_id(&"a".repeat(129)));
        assert!(!is_id(""));
        assert!(!is_id("a b"));
        assert!(!is_id("é"));
        assert!(!is_id("a/b"));
    }

    #[test]
    fn money_converts_integers_exactly() {
        let path = Path::Field("amount");
        assert_eq!(
            money(path, Some(&Value::Unsigned(1_000_000_000))),
            Ok(Money(1_000_000_000_000_000_000_000))
        );
        assert_eq!(
            money(path, Some(&Value::Float(5.5))),
            Ok(Money(5_500_000_000_000))
        );
        assert_eq!(money(path, Some(&Value::Float(-0.0))), Ok(Money(0)));
        assert!(money(path, Some(&Value::Float(1e9 + 1.0))).is_err());
        assert!(money(path, Some(&Value::Negative(-1))).is_err());
    }

    #[test]
    fn long_strings_are_cut_in_details() {
        let long = "x".repeat(1000);
        let shown = Shown(&Value::String(long.as_str().into())).to_string();
        assert_eq!(shown, format!("\"{}...\"", "x".repeat(MAX_ECHOED_CHARS)));
    }
}
