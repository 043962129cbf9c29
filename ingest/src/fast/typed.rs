//! The first tier: the usual event read straight into its checked form.
//!
//! The top-level fields land in slots by position in `EVENT_FIELDS`, on the
//! stack, and each line is checked as soon as it is read, into the event's
//! own `Vec<Line>`. So a valid event costs the allocations of its strings
//! and nothing else, where the value tree costs one per object besides.
//! The checks are `schema`'s own (through [`Fields`]) and `check`'s; what
//! this tier adds is where the values are kept, and three reads that spare
//! a check its work: ids scanned against the id alphabet while their end is
//! found, timestamps parsed in place, and line amounts taken exactly from
//! their digits where that gives what the double would. A
//! line that fails a check, like anything else unusual, returns `None`: the
//! tree parser then reports the first failure in the contract's order.

use std::mem::ManuallyDrop;

use tripgate_model::{Line, Money, Nanos, Rejection, Text};

use super::cursor::{event_slot, line_slot, Cursor, Literal, UnknownKeys};
use crate::check::{self, Path};
use crate::json::Value;
use crate::schema::{slot, Fields, EVENT_FIELDS, LINE_FIELDS};

/// `lines` holds at most this many (contract section 1); past it, or at
/// none, the tree parser words the rejection.
const MAX_LINES: usize = 1000;

/// Reads the event's kept fields into `fields`, which must be fresh; `None`
/// for anything this tier does not read (see the module's comment).
/// `fast::event` then checks them. Not inlined: inside `crate::decode` this
/// loop compiled some 40 instructions an event slower (callgrind).
#[inline(never)]
pub(crate) fn read<'de>(text: &'de str, fields: &mut Slots<'de>) -> Option<()> {
    let mut cursor = Cursor::new(text);
    cursor.skip_whitespace();
    cursor.eat(b'{')?;
    let mut seen_known: u32 = 0;
    let mut unknown = UnknownKeys::new();
    let mut expected = 0;
    if !cursor.object_ends() {
        loop {
            match next_key(&mut cursor, &QUOTED_EVENT_FIELDS, expected, event_slot)? {
                Ok(slot) => {
                    if seen_known & (1 << slot) != 0 {
                        return None;
                    }
                    seen_known |= 1 << slot;
                    expected = slot + 1;
                    if slot == slot::LINES {
                        fields.lines = Some(lines(&mut cursor)?);
                    } else if let Some(index) = timestamp_index(slot) {
                        fields.timestamps[index] =
                            cursor.timestamp_into(&mut fields.values[slot])?;
                    } else if ID_SLOTS & (1 << slot) != 0 {
                        let id_bytes = cursor.id_into(&mut fields.values[slot])?;
                        fields.id_bytes |= u32::from(id_bytes) << slot;
                    } else {
                        cursor.scalar_into(&mut fields.values[slot])?;
                    }
                }
                Err(key) => {
                    unknown.insert(key)?;
                    cursor.skip_value(1)?;
                }
            }
            if !cursor.next_member(b'}')? {
                break;
            }
        }
    }
    cursor.skip_whitespace();
    cursor.at_end().then_some(())
}

/// The slots of the top-level fields that hold ids, read with the scan that
/// also vouches for their bytes. Only a hint: an id read otherwise gets the
/// full check.
const ID_SLOTS: u32 = {
    use slot::*;
    let ids = [
        EVENT_ID, ORDER_ID, CHANNEL, REGION, WAREHOUSE, CARRIER, SKU, REASON, TICKET_ID, CATEGORY,
    ];
    let mut bits = 0;
    let mut index = 0;
    while index < ids.len() {
        bits |= 1 << ids[index];
        index += 1;
    }
    bits
};

/// `EVENT_FIELDS` as keys are written, quotes and colon included.
const QUOTED_EVENT_FIELDS: [Literal; EVENT_FIELDS.len()] = [
    Literal::new(b"\"event_id\":"),
    Literal::new(b"\"type\":"),
    Literal::new(b"\"occurred_at\":"),
    Literal::new(b"\"order_id\":"),
    Literal::new(b"\"channel\":"),
    Literal::new(b"\"region\":"),
    Literal::new(b"\"warehouse\":"),
    Literal::new(b"\"promised_by\":"),
    Literal::new(b"\"lines\":"),
    Literal::new(b"\"amount\":"),
    Literal::new(b"\"carrier\":"),
    Literal::new(b"\"sku\":"),
    Literal::new(b"\"quantity\":"),
    Literal::new(b"\"reason\":"),
    Literal::new(b"\"ticket_id\":"),
    Literal::new(b"\"category\":"),
    Literal::new(b"\"priority\":"),
];

/// The position of `sku` in `LINE_FIELDS`, the one id of a line.
const LINE_SKU: usize = 0;
/// The positions of `unit_price` and `unit_cost`, the line's amounts.
const LINE_UNIT_PRICE: usize = 2;
const LINE_UNIT_COST: usize = 3;

/// `LINE_FIELDS` as keys are written.
const QUOTED_LINE_FIELDS: [Literal; LINE_FIELDS.len()] = [
    Literal::new(b"\"sku\":"),
    Literal::new(b"\"quantity\":"),
    Literal::new(b"\"unit_price\":"),
    Literal::new(b"\"unit_cost\":"),
];

/// The next key and its colon: `Ok` with its slot in `quoted` if it is
/// kept, `Err` with the key if not. Producers write their keys in one order,
/// mostly the contract's, so the key after the last one kept is tried first
/// as a literal; anything else is read and matched as usual.
#[inline]
fn next_key<'de>(
    cursor: &mut Cursor<'de>,
    quoted: &[Literal],
    expected: usize,
    slot_of: fn(&str) -> Option<usize>,
) -> Option<Result<usize, &'de str>> {
    if let Some(literal) = quoted.get(expected) {
        if cursor.spelled(literal) {
            return Some(Ok(expected));
        }
    }
    let key = cursor.key()?;
    Some(slot_of(key).ok_or(key))
}

/// The kept top-level fields, and the lines already checked.
#[derive(Default)]
pub(crate) struct Slots<'de> {
    /// Never dropped: the cursor only builds scalars and borrowed strings,
    /// which own nothing, and walking 17 slots to find that out costs more
    /// than a check of a field.
    values: ManuallyDrop<[Option<Value<'de>>; EVENT_FIELDS.len()]>,
    /// Bit `slot` set: the scan found the slot's string all id bytes, so
    /// `id` checks only its length.
    id_bytes: u32,
    /// `occurred_at` and `promised_by` (see `timestamp_index`) as the scan
    /// read them, so `timestamp` need not read them again.
    timestamps: [Option<Nanos>; 2],
    lines: Option<Vec<Line>>,
}

/// Where `Slots` keeps the timestamp read from `slot`, if it holds one.
fn timestamp_index(slot: usize) -> Option<usize> {
    match slot {
        slot::OCCURRED_AT => Some(0),
        slot::PROMISED_BY => Some(1),
        _ => None,
    }
}

/// What `get` answers for `lines`, whose value only `lines()` reads: the
/// checks ask it only whether `lines` is present.
static LINES_PRESENT: Value<'static> = Value::Null;

impl<'de> Fields<'de> for Slots<'de> {
    fn get(&self, slot: usize) -> Option<&Value<'de>> {
        if slot == slot::LINES {
            return self.lines.as_ref().map(|_| &LINES_PRESENT);
        }
        self.values[slot].as_ref()
    }

    fn id(&self, slot: usize) -> Result<Text, Rejection> {
        let id_bytes = self.id_bytes & (1 << slot) != 0;
        check::scanned_id(Path::Field(EVENT_FIELDS[slot]), self.get(slot), id_bytes)
    }

    fn timestamp(&self, slot: usize) -> Result<Nanos, Rejection> {
        match timestamp_index(slot).and_then(|index| self.timestamps[index]) {
            Some(nanos) => Ok(nanos),
            None => self.field(slot, check::timestamp),
        }
    }

    fn check_line_presence(&self) -> Result<(), Rejection> {
        // Every line read had all its fields, or the read gave up.
        Ok(())
    }

    fn lines(&mut self) -> Result<Vec<Line>, Rejection> {
        Ok(self.lines.take().expect("presence was checked"))
    }
}

/// `lines`: 1 to `MAX_LINES` valid line objects, or `None`.
fn lines(cursor: &mut Cursor<'_>) -> Option<Vec<Line>> {
    cursor.eat(b'[')?;
    let mut lines = Vec::with_capacity(4);
    loop {
        line(cursor, &mut lines)?;
        if lines.len() > MAX_LINES {
            return None;
        }
        if !cursor.next_member(b']')? {
            return Some(lines);
        }
    }
}

/// One line object, every field present and valid, pushed onto `lines`
/// (built there: returned, it went through a copy, as values did; see
/// `Cursor::scalar_into`).
fn line(cursor: &mut Cursor<'_>, lines: &mut Vec<Line>) -> Option<()> {
    let index = lines.len();
    cursor.eat(b'{')?;
    // Scalars and borrowed strings only, as in `Slots`: nothing to drop.
    let mut values: ManuallyDrop<[Option<Value<'_>>; LINE_FIELDS.len()]> = Default::default();
    let mut sku_id_bytes = false;
    // `unit_price` and `unit_cost` where the scan read them exactly.
    let mut amounts: [Option<Money>; 2] = [None; 2];
    let mut unknown = UnknownKeys::new();
    let mut expected = 0;
    if !cursor.object_ends() {
        loop {
            match next_key(cursor, &QUOTED_LINE_FIELDS, expected, line_slot)? {
                Ok(slot) => {
                    if values[slot].is_some() {
                        return None;
                    }
                    expected = slot + 1;
                    let value = &mut values[slot];
                    match slot {
                        LINE_SKU => sku_id_bytes = cursor.id_into(value)?,
                        LINE_UNIT_PRICE | LINE_UNIT_COST => {
                            amounts[slot - LINE_UNIT_PRICE] = cursor.money_into(value)?;
                        }
                        _ => cursor.scalar_into(value)?,
                    }
                }
                Err(key) => {
                    unknown.insert(key)?;
                    cursor.skip_value(1)?;
                }
            }
            if !cursor.next_member(b'}')? {
                break;
            }
        }
    }
    let [sku, quantity, unit_price, unit_cost] = &*values;
    let at = |name| Path::LineField(index, name);
    lines.push(Line {
        sku: check::scanned_id(at("sku"), sku.as_ref(), sku_id_bytes).ok()?,
        quantity: check::quantity(at("quantity"), quantity.as_ref()).ok()?,
        unit_price: money(amounts[0], at("unit_price"), unit_price.as_ref())?,
        unit_cost: money(amounts[1], at("unit_cost"), unit_cost.as_ref())?,
    });
    Some(())
}

/// An amount the scan read exactly (always a valid one), or else the value
/// checked as usual.
fn money(read: Option<Money>, path: Path, value: Option<&Value<'_>>) -> Option<Money> {
    read.or_else(|| check::money(path, value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_match_exactly_their_bytes() {
        let sku = Literal::new(b"\"sku\":");
        for (text, expected) in [
            ("\"sku\":1}", true),
            ("\"sku\":\"A\",\"quantity\":1}", true),
            ("\"skU\":\"A\",\"quantity\":1}", false),
            ("\"sku2\":\"A\",\"quantity\":1}", false),
            ("\"sk", false),
        ] {
            let mut cursor = Cursor::new(text);
            assert_eq!(cursor.spelled(&sku), expected, "{text}");
        }
        let widest = Literal::new(b"0123456789abcdef");
        assert!(Cursor::new("0123456789abcdef").spelled(&widest));
        assert!(!Cursor::new("0123456789abcdeF").spelled(&widest));
    }

    #[test]
    fn quoted_keys_spell_the_field_lists() {
        for (quoted, name) in QUOTED_EVENT_FIELDS.iter().zip(EVENT_FIELDS) {
            assert_eq!(quoted.bytes(), format!("\"{name}\":").as_bytes());
        }
        for (quoted, name) in QUOTED_LINE_FIELDS.iter().zip(LINE_FIELDS) {
            assert_eq!(quoted.bytes(), format!("\"{name}\":").as_bytes());
        }
        assert_eq!(LINE_FIELDS[LINE_SKU], "sku");
        assert_eq!(LINE_FIELDS[LINE_UNIT_PRICE], "unit_price");
        assert_eq!(LINE_FIELDS[LINE_UNIT_COST], "unit_cost");
    }
}
