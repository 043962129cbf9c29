//! The scanner both fast decoders share: JSON tokens of the usual event,
//! read in place, answering `None` for anything it is not sure of.

use std::borrow::Cow;

use tripgate_model::{Money, Nanos};

use super::timestamp::leading_timestamp;
use crate::check::ID_BYTES;
use crate::json::Value;

mod number;

#[cfg(test)]
pub(super) use number::exact_decimal;

/// serde_json stops at 128 levels; bailing out well before keeps this
/// parser's recursion shallow and the limit serde_json's to report.
const MAX_DEPTH: usize = 64;
/// Unknown keys of one object are compared pairwise to find repeats; past
/// this many the serde_json path (with its hash set) is cheaper.
const MAX_UNKNOWN_KEYS: usize = 32;
/// Unknown keys held on the stack before the rest go to the heap: real
/// events carry a few, and clearing room for 32 costs more than the scan.
const INLINE_UNKNOWN_KEYS: usize = 6;

pub(super) struct Cursor<'de> {
    text: &'de str,
    position: usize,
}

/// The keys of one object that are not kept, to find a repeated one. The
/// first few are held on the stack: the usual event has a handful, and a
/// heap list would cost an allocation per object.
pub(super) struct UnknownKeys<'de> {
    first: [&'de str; INLINE_UNKNOWN_KEYS],
    len: usize,
    rest: Vec<&'de str>,
}

impl<'de> UnknownKeys<'de> {
    pub(super) fn new() -> UnknownKeys<'de> {
        UnknownKeys {
            first: [""; INLINE_UNKNOWN_KEYS],
            len: 0,
            rest: Vec::new(),
        }
    }

    /// Remembers `key`; `None` if it repeats or there are too many to scan.
    pub(super) fn insert(&mut self, key: &'de str) -> Option<()> {
        let inline = self.len.min(INLINE_UNKNOWN_KEYS);
        if self.len == MAX_UNKNOWN_KEYS
            || self.first[..inline].contains(&key)
            || self.rest.contains(&key)
        {
            return None;
        }
        match self.first.get_mut(self.len) {
            Some(slot) => *slot = key,
            None => self.rest.push(key),
        }
        self.len += 1;
        Some(())
    }
}

/// Up to 16 bytes the text may continue with, ready for one compare.
pub(super) struct Literal {
    bytes: &'static [u8],
    /// `bytes` little-endian, and which of the 16 bytes they cover.
    word: u128,
    mask: u128,
}

impl Literal {
    pub(super) const fn new(bytes: &'static [u8]) -> Literal {
        assert!(bytes.len() <= 16);
        let mut word = 0;
        let mut index = 0;
        while index < bytes.len() {
            word |= (bytes[index] as u128) << (8 * index);
            index += 1;
        }
        let mask = if bytes.len() == 16 {
            u128::MAX
        } else {
            (1 << (8 * bytes.len())) - 1
        };
        Literal { bytes, word, mask }
    }

    #[cfg(test)]
    pub(super) fn bytes(&self) -> &[u8] {
        self.bytes
    }
}

impl<'de> Cursor<'de> {
    pub(super) fn new(text: &'de str) -> Cursor<'de> {
        Cursor { text, position: 0 }
    }

    pub(super) fn at_end(&self) -> bool {
        self.position == self.text.len()
    }

    #[inline]
    pub(super) fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.position).copied()
    }

    #[inline]
    pub(super) fn skip_whitespace(&mut self) {
        let bytes = self.text.as_bytes();
        // Producers mostly send compact JSON: one test for the usual case.
        while let Some(&byte) = bytes.get(self.position) {
            if byte > b' ' || !matches!(byte, b' ' | b'\n' | b'\t' | b'\r') {
                return;
            }
            self.position += 1;
        }
    }

    #[inline]
    pub(super) fn eat(&mut self, byte: u8) -> Option<()> {
        if self.peek() != Some(byte) {
            self.skip_whitespace();
        }
        if self.peek() == Some(byte) {
            self.position += 1;
            Some(())
        } else {
            None
        }
    }

    /// Right after an object's `{`: whether it is empty (its `}` consumed).
    #[inline]
    pub(super) fn object_ends(&mut self) -> bool {
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.position += 1;
            return true;
        }
        false
    }

    /// Whether the text continues with exactly `literal`, which is then
    /// consumed: one masked compare of the next 16 bytes where reading a
    /// key costs a scan and a match.
    #[inline]
    pub(super) fn spelled(&mut self, literal: &Literal) -> bool {
        let bytes = self.text.as_bytes();
        let matches = match bytes.get(self.position..self.position + 16) {
            Some(next) => {
                let next = u128::from_le_bytes(next.try_into().expect("16 bytes"));
                (next ^ literal.word) & literal.mask == 0
            }
            None => bytes[self.position..].starts_with(literal.bytes),
        };
        if matches {
            self.position += literal.bytes.len();
        }
        matches
    }

    /// A key and its colon.
    #[inline]
    pub(super) fn key(&mut self) -> Option<&'de str> {
        self.eat(b'"')?;
        let key = self.string_body()?;
        self.eat(b':')?;
        Some(key)
    }

    /// After a member or element: `Some(true)` at a comma, `Some(false)` at
    /// the `close` byte (consumed), `None` at anything else.
    #[inline]
    pub(super) fn next_member(&mut self, close: u8) -> Option<bool> {
        self.skip_whitespace();
        let byte = self.peek()?;
        self.position += 1;
        if byte == b',' {
            Some(true)
        } else if byte == close {
            Some(false)
        } else {
            None
        }
    }

    /// A string, number, boolean or null.
    #[inline]
    pub(super) fn scalar(&mut self) -> Option<Value<'de>> {
        let mut slot = None;
        self.scalar_into(&mut slot)?;
        slot
    }

    fn literal(&mut self, word: &str, value: Value<'de>) -> Option<Value<'de>> {
        let rest = &self.text.as_bytes()[self.position..];
        rest.starts_with(word.as_bytes()).then(|| {
            self.position += word.len();
            value
        })
    }

    /// The rest of a string whose opening quote was read. Escapes and
    /// control characters send the document to serde_json.
    #[inline]
    pub(super) fn string_body(&mut self) -> Option<&'de str> {
        let bytes = self.text.as_bytes();
        let start = self.position;
        let mut end = start;
        // Eight bytes at a time; the lowest flagged byte is always a real
        // match, so it is where the string ends (or turns unusual).
        while let Some(chunk) = bytes.get(end..end + 8) {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            let flagged = needs_a_look(word);
            if flagged != 0 {
                end += (flagged.trailing_zeros() / 8) as usize;
                return self.close_string(start, end);
            }
            end += 8;
        }
        // The last few bytes of the document, one at a time.
        while !matches!(*bytes.get(end)?, b'"' | b'\\' | 0..=0x1f) {
            end += 1;
        }
        self.close_string(start, end)
    }

    /// A scalar read into `slot`, which must be empty. Each value is built
    /// where it is kept: returned, a value went through a copy on the
    /// stack, written in words and read back in 16-byte halves, and each
    /// such read waited for the words before it to reach the cache (a
    /// store-forwarding stall, once the most costly line of the decoder).
    #[inline]
    pub(super) fn scalar_into(&mut self, slot: &mut Option<Value<'de>>) -> Option<()> {
        if self.peek()? <= b' ' {
            self.skip_whitespace();
        }
        let value = match self.peek()? {
            b'"' => {
                self.position += 1;
                Value::String(Cow::Borrowed(self.string_body()?))
            }
            b'-' | b'0'..=b'9' => return self.number_into(slot).map(drop),
            b't' => self.literal("true", Value::Bool(true))?,
            b'f' => self.literal("false", Value::Bool(false))?,
            b'n' => self.literal("null", Value::Null)?,
            _ => return None,
        };
        put(slot, value);
        Some(())
    }

    /// A value where an id belongs, read into `slot` as by
    /// [`Cursor::scalar_into`]; answers whether it is a string of id bytes
    /// only (see [`Cursor::id_body`]).
    #[inline]
    pub(super) fn id_into(&mut self, slot: &mut Option<Value<'de>>) -> Option<bool> {
        if self.peek()? != b'"' {
            self.scalar_into(slot)?;
            return Some(false);
        }
        self.position += 1;
        let (text, id_bytes) = self.id_body()?;
        put(slot, Value::String(Cow::Borrowed(text)));
        Some(id_bytes)
    }

    /// A value where an amount of money belongs, read into `slot` as by
    /// [`Cursor::scalar_into`]; answers the amount if the value is a
    /// decimal [`Money::from_decimal`] reads exactly (a price as producers
    /// write it), which spares the check a round and a conversion through
    /// the double.
    #[inline]
    pub(super) fn money_into(&mut self, slot: &mut Option<Value<'de>>) -> Option<Option<Money>> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            self.scalar_into(slot)?;
            return Some(None);
        }
        let decimal = self.number_into(slot)?;
        Some(
            decimal
                .and_then(|(digits, fraction_digits)| Money::from_decimal(digits, fraction_digits)),
        )
    }

    /// A value where a timestamp belongs, read into `slot` as by
    /// [`Cursor::scalar_into`]; answers the timestamp if the value is a
    /// string of it in the usual spelling (`fast::timestamp`). That string
    /// is read as a timestamp right away: its characters need no escape,
    /// so the quote after it ends it, without a scan for the end first.
    #[inline]
    pub(super) fn timestamp_into(
        &mut self,
        slot: &mut Option<Value<'de>>,
    ) -> Option<Option<Nanos>> {
        let bytes = self.text.as_bytes();
        if self.peek() == Some(b'"') {
            let start = self.position + 1;
            if let Some((nanos, length)) = leading_timestamp(&bytes[start..]) {
                let end = start + length;
                if bytes.get(end) == Some(&b'"') {
                    let text = self.close_string(start, end)?;
                    put(slot, Value::String(Cow::Borrowed(text)));
                    return Some(Some(nanos));
                }
            }
        }
        self.scalar_into(slot)?;
        Some(None)
    }

    /// The rest of a string expected to be an id, and whether every byte of
    /// it is in the id alphabet. One scan finds both: it stops at the first
    /// byte outside the alphabet, which for a valid id is the closing quote
    /// (quotes, backslashes and control bytes are all outside). Anything
    /// else is read again by [`Cursor::string_body`], and not vouched for.
    /// A byte at a time: ids are short, and a table lookup per byte costs
    /// less than testing eight-byte words for five ranges.
    #[inline]
    fn id_body(&mut self) -> Option<(&'de str, bool)> {
        let bytes = self.text.as_bytes();
        let start = self.position;
        let mut end = start;
        while bytes
            .get(end)
            .is_some_and(|&byte| ID_BYTES[usize::from(byte)])
        {
            end += 1;
        }
        if bytes.get(end) == Some(&b'"') {
            return self.close_string(start, end).map(|text| (text, true));
        }
        self.string_body().map(|text| (text, false))
    }

    /// Ends the string at `end` if the byte there is its closing quote.
    #[inline]
    fn close_string(&mut self, start: usize, end: usize) -> Option<&'de str> {
        if self.text.as_bytes()[end] != b'"' {
            return None;
        }
        self.position = end + 1;
        // Both ends sit next to an ASCII quote, so they are char boundaries.
        self.text.get(start..end)
    }

    /// Any value, checked for syntax and repeated keys and then dropped.
    pub(super) fn skip_value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_whitespace();
        match self.peek()? {
            b'{' => {
                self.position += 1;
                let mut keys = UnknownKeys::new();
                if self.object_ends() {
                    return Some(());
                }
                loop {
                    keys.insert(self.key()?)?;
                    self.skip_value(depth + 1)?;
                    if !self.next_member(b'}')? {
                        return Some(());
                    }
                }
            }
            b'[' => {
                self.position += 1;
                self.skip_whitespace();
                if self.peek() == Some(b']') {
                    self.position += 1;
                    return Some(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    if !self.next_member(b']')? {
                        return Some(());
                    }
                }
            }
            // Read into a slot that is never read: no copy to make.
            _ => self.scalar_into(&mut None),
        }
    }
}

/// The position of `key` in `EVENT_FIELDS`: a `match` compiles to length
/// tests and word compares, several times cheaper than scanning the list.
pub(super) fn event_slot(key: &str) -> Option<usize> {
    Some(match key {
        "event_id" => 0,
        "type" => 1,
        "occurred_at" => 2,
        "order_id" => 3,
        "channel" => 4,
        "region" => 5,
        "warehouse" => 6,
        "promised_by" => 7,
        "lines" => 8,
        "amount" => 9,
        "carrier" => 10,
        "sku" => 11,
        "quantity" => 12,
        "reason" => 13,
        "ticket_id" => 14,
        "category" => 15,
        "priority" => 16,
        _ => return None,
    })
}

/// The position of `key` in `LINE_FIELDS`.
pub(super) fn line_slot(key: &str) -> Option<usize> {
    Some(match key {
        "sku" => 0,
        "quantity" => 1,
        "unit_price" => 2,
        "unit_cost" => 3,
        _ => return None,
    })
}

/// Fills an empty slot. An assignment would call the drop code to find
/// that there is nothing to drop, and `get_or_insert` copied the value
/// through the stack, a byte-wide tag and the words after it read back
/// across the stores that wrote them (the stall `scalar_into` avoids).
#[inline(always)]
fn put<'de>(slot: &mut Option<Value<'de>>, value: Value<'de>) {
    debug_assert!(slot.is_none(), "slots are filled once");
    std::mem::forget(slot.replace(value));
}

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` (little-endian) that is a quote, a
/// backslash or a control character, by the classic SWAR zero-byte test. A
/// borrow may also flag a byte after a real match, never one before it, so
/// the lowest flagged byte is always a real match.
pub(super) fn needs_a_look(word: u64) -> u64 {
    let zero_byte = |x: u64| x.wrapping_sub(LOW_BITS) & !x & HIGH_BITS;
    let quote = zero_byte(word ^ (LOW_BITS * u64::from(b'"')));
    let backslash = zero_byte(word ^ (LOW_BITS * u64::from(b'\\')));
    let control = word.wrapping_sub(LOW_BITS * 0x20) & !word & HIGH_BITS;
    quote | backslash | control
}
