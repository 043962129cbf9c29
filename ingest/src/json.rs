//! One pass of serde_json over the event, into a value tree that keeps only
//! what validation reads.
//!
//! serde_json owns the syntax (NaN, Infinity, lone surrogates, a BOM and
//! trailing garbage are all its errors). This module adds what serde_json
//! cannot tell us with its own value type: whether a number was written as an
//! integer token, and whether any object repeats a key. Repeated keys are
//! recorded instead of failing the parse, because a document with a repeated
//! key *and* a later syntax error must still be `malformed_json`.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::schema::{EVENT_FIELDS, LINES_FIELD, LINE_FIELDS};

/// A JSON value, parsed as deeply as a check may look.
#[derive(Debug, PartialEq)]
pub(crate) enum Value<'de> {
    Null,
    Bool(bool),
    /// An integer token that fits a `u64`.
    Unsigned(u64),
    /// A negative integer token that fits an `i64`.
    Negative(i64),
    /// A token with a fraction or exponent (or an integer too long for 64 bits,
    /// which serde_json hands over as a double).
    Float(f64),
    /// Borrowed from the input unless the string had escapes.
    String(Cow<'de, str>),
    /// Elements are kept only for `lines`; anywhere else only the kind matters.
    Array(Vec<Value<'de>>),
    /// Only the fields a check may read, under their static names.
    Object(Vec<(&'static str, Value<'de>)>),
}

/// The first repeated key, with the path to the object that repeats it.
#[derive(Debug)]
pub(crate) struct Duplicate {
    key: String,
    /// Innermost first: filled in while the parse unwinds, so the happy path
    /// never builds a path.
    reversed_path: Vec<Segment>,
}

#[derive(Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

impl fmt::Display for Duplicate {
    /// Writes the path the way the other details do: `lines[1].sku`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut separator = "";
        for segment in self.reversed_path.iter().rev() {
            match segment {
                Segment::Key(key) => write!(f, "{separator}{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
            separator = ".";
        }
        write!(f, "{separator}{}", self.key)
    }
}

/// A syntactically valid document.
pub(crate) struct Parsed<'de> {
    pub(crate) value: Value<'de>,
    pub(crate) duplicate: Option<Duplicate>,
}

/// Parses `text` as exactly one JSON value (surrounding whitespace allowed).
pub(crate) fn parse(text: &str) -> Result<Parsed<'_>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    // The contract sets no depth limit, so a deeply nested unknown field is
    // valid; serde_stacker moves the recursion to heap-allocated stack
    // segments, so max_event_bytes of `[` cannot overflow the thread's stack.
    deserializer.disable_recursion_limit();
    let mut duplicate = None;
    let value = ValueSeed {
        keep: Keep::Event,
        duplicate: &mut duplicate,
    }
    .deserialize(serde_stacker::Deserializer::new(&mut deserializer))?;
    deserializer.end()?;
    Ok(Parsed { value, duplicate })
}

/// How much of a value to keep, decided by where it sits.
#[derive(Clone, Copy, PartialEq)]
enum Keep {
    /// The top-level object: the fields some event type reads.
    Event,
    /// The `lines` field: an array of line objects.
    Lines,
    /// One element of `lines`.
    Line,
    /// A field read as a scalar: nested content is only checked for syntax
    /// and duplicates.
    Scalar,
    /// An unknown field: checked for syntax and duplicates, nothing kept.
    Nothing,
}

impl Keep {
    /// The keys of an object in this position that are kept.
    fn known_fields(self) -> &'static [&'static str] {
        match self {
            Keep::Event => &EVENT_FIELDS,
            Keep::Line => &LINE_FIELDS,
            Keep::Lines | Keep::Scalar | Keep::Nothing => &[],
        }
    }

    fn for_field(self, name: &str) -> Keep {
        match self {
            Keep::Event if name == LINES_FIELD => Keep::Lines,
            _ => Keep::Scalar,
        }
    }

    fn for_element(self) -> Keep {
        match self {
            Keep::Lines => Keep::Line,
            _ => Keep::Nothing,
        }
    }
}

struct ValueSeed<'s> {
    keep: Keep,
    duplicate: &'s mut Option<Duplicate>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value<'de>, E> {
        Ok(Value::Bool(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value<'de>, E> {
        Ok(Value::Unsigned(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value<'de>, E> {
        // serde_json only sends negatives here, but the distinction that
        // matters is integer versus float, not the visit used.
        Ok(u64::try_from(value).map_or(Value::Negative(value), Value::Unsigned))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value<'de>, E> {
        Ok(Value::Float(value))
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Borrowed(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value<'de>, E> {
        // An escaped string has to be copied out of serde_json's scratch
        // buffer; skip the copy where nobody reads it.
        if self.keep == Keep::Nothing {
            return Ok(Value::Null);
        }
        Ok(Value::String(Cow::Owned(value.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let element_keep = self.keep.for_element();
        let mut elements = Vec::new();
        let mut index = 0;
        loop {
            let had_duplicate = self.duplicate.is_some();
            let seed = ValueSeed {
                keep: element_keep,
                duplicate: &mut *self.duplicate,
            };
            let Some(element) = seq.next_element_seed(seed)? else {
                break;
            };
            if !had_duplicate {
                if let Some(duplicate) = self.duplicate.as_mut() {
                    duplicate.reversed_path.push(Segment::Index(index));
                }
            }
            if element_keep != Keep::Nothing {
                elements.push(element);
            }
            index += 1;
        }
        Ok(Value::Array(elements))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        let known = self.keep.known_fields();
        let mut kept = Vec::new();
        // Known keys are few and fixed, so a bit each; anything else goes in
        // a set that allocates only when an unknown key turns up.
        let mut seen_known: u32 = 0;
        let mut seen_other = KeySet::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let slot = known.iter().position(|name| *name == key);
            let repeated = match slot {
                Some(index) => seen_known & (1 << index) != 0,
                None => seen_other.contains(&key),
            };
            if repeated && self.duplicate.is_none() {
                *self.duplicate = Some(Duplicate {
                    key: key.to_string(),
                    reversed_path: Vec::new(),
                });
            }
            let had_duplicate = self.duplicate.is_some();
            let keep = if slot.is_some() {
                self.keep.for_field(&key)
            } else {
                Keep::Nothing
            };
            let value = map.next_value_seed(ValueSeed {
                keep,
                duplicate: &mut *self.duplicate,
            })?;
            if !had_duplicate {
                if let Some(duplicate) = self.duplicate.as_mut() {
                    duplicate.reversed_path.push(Segment::Key(key.to_string()));
                }
            }
            match slot {
                Some(index) if !repeated => {
                    seen_known |= 1 << index;
                    kept.push((known[index], value));
                }
                Some(_) => {}
                None => seen_other.insert(key),
            }
        }
        Ok(Value::Object(kept))
    }
}

/// Keys read as borrowed strings where the input allows (no escapes).
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E>(self, key: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(key.to_owned()))
    }
}

/// The unknown keys of one object. A scan of a short list beats hashing for
/// the handful of keys real events carry; a hash set takes over past that so
/// an object with thousands of keys stays linear.
#[derive(Default)]
struct KeySet<'de> {
    few: Vec<Cow<'de, str>>,
    many: HashSet<Cow<'de, str>>,
}

impl<'de> KeySet<'de> {
    const SCAN_LIMIT: usize = 16;

    fn contains(&self, key: &str) -> bool {
        self.few.iter().any(|seen| seen == key) || self.many.contains(key)
    }

    fn insert(&mut self, key: Cow<'de, str>) {
        if self.few.len() < Self::SCAN_LIMIT {
            self.few.push(key);
        } else {
            self.many.insert(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duplicate_path(text: &str) -> Option<String> {
        parse(text)
            .unwrap()
            .duplicate
            .map(|duplicate| duplicate.to_string())
    }

    #[test]
    fn integer_and_float_tokens_stay_apart() {
        let parsed = parse(r#"{"quantity":10,"amount":10.0}"#).unwrap();
        let Value::Object(fields) = parsed.value else {
            panic!("not an object")
        };
        assert_eq!(fields[0], ("quantity", Value::Unsigned(10)));
        assert_eq!(fields[1], ("amount", Value::Float(10.0)));
    }

    #[test]
    fn unknown_fields_are_not_kept() {
        let parsed = parse(r#"{"x":{"y":[1,2]},"order_id":"O1"}"#).unwrap();
        assert_eq!(
            parsed.value,
            Value::Object(vec![("order_id", Value::String("O1".into()))])
        );
    }

    #[test]
    fn duplicates_are_found_with_their_path() {
        assert_eq!(duplicate_path(r#"{"a":1,"a":2}"#).as_deref(), Some("a"));
        assert_eq!(
            duplicate_path(r#"{"a":1,"\u0061":2}"#).as_deref(),
            Some("a")
        );
        assert_eq!(
            duplicate_path(r#"{"lines":[{"sku":"A"},{"sku":"A","sku":"B"}]}"#).as_deref(),
            Some("lines[1].sku")
        );
        assert_eq!(
            duplicate_path(r#"{"x":[[{"k":1,"k":1}]]}"#).as_deref(),
            Some("x[0][0].k")
        );
        assert_eq!(duplicate_path(r#"{"a":{"b":1},"c":{"b":1}}"#), None);
    }

    #[test]
    fn many_keys_use_the_set() {
        let keys: Vec<String> = (0..100).map(|index| format!("\"k{index}\":0")).collect();
        let unique = format!("{{{}}}", keys.join(","));
        assert_eq!(duplicate_path(&unique), None);
        let repeated = format!("{{{},\"k50\":1}}", keys.join(","));
        assert_eq!(duplicate_path(&repeated).as_deref(), Some("k50"));
    }
}
