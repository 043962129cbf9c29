//! Number tokens, read as serde_json reads them, with a fast path for the
//! decimals producers write for prices.

use crate::json::Value;

use super::{put, Cursor};

impl<'de> Cursor<'de> {
    /// A number token, read as serde_json reads it: integers that fit a u64
    /// as `Unsigned`, negative ones that fit an i64 as `Negative`, fractions
    /// and exponents as a correctly rounded double. `-0` and integers past
    /// 64 bits go to serde_json, which has its own rules for them. With a
    /// positive fraction read exactly, also its digits and how many of them
    /// follow the point (see [`exact_decimal`]). The value is written to
    /// `slot`, where it is kept (see [`Cursor::scalar_into`]).
    #[inline]
    pub(super) fn number_into(
        &mut self,
        slot: &mut Option<Value<'de>>,
    ) -> Option<Option<(u64, usize)>> {
        let bytes = self.text.as_bytes();
        let start = self.position;
        let negative = bytes.get(start) == Some(&b'-');
        let mut end = start + usize::from(negative);
        // The digits before any exponent, as one integer while it is short
        // enough to be exact (see `exact_decimal`).
        let mut mantissa: u64 = 0;
        let mut digits = |end: &mut usize| {
            let from = *end;
            while let Some(&byte @ b'0'..=b'9') = bytes.get(*end) {
                mantissa = mantissa
                    .wrapping_mul(10)
                    .wrapping_add(u64::from(byte - b'0'));
                *end += 1;
            }
            *end - from
        };
        let whole_digits = match bytes.get(end)? {
            b'0' => {
                end += 1;
                1
            }
            b'1'..=b'9' => digits(&mut end),
            _ => return None,
        };
        let integer_end = end;
        let mut fraction_digits = 0;
        if bytes.get(end) == Some(&b'.') {
            end += 1;
            fraction_digits = digits(&mut end);
            if fraction_digits == 0 {
                return None;
            }
        }
        let mut exponent = false;
        if let Some(b'e' | b'E') = bytes.get(end) {
            exponent = true;
            end += 1;
            if let Some(b'+' | b'-') = bytes.get(end) {
                end += 1;
            }
            let from = end;
            while bytes.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
            if end == from {
                return None;
            }
        }
        self.position = end;
        // Sliced only where the general parsers need it: the usual number
        // never pays for the slice's checks.
        let text = self.text;
        let token = || &text[start..end];
        if end == integer_end {
            // Up to 18 digits cannot overflow either type.
            let value = match (negative, whole_digits <= 18) {
                (false, true) => Some(Value::Unsigned(mantissa)),
                (true, true) if mantissa == 0 => None,
                (true, true) => Some(Value::Negative(-(mantissa as i64))),
                (false, false) => token().parse::<u64>().ok().map(Value::Unsigned),
                (true, false) => match token().parse::<i64>() {
                    Ok(0) | Err(_) => None,
                    Ok(value) => Some(Value::Negative(value)),
                },
            };
            put(slot, value?);
            return Some(None);
        }
        if !exponent && whole_digits + fraction_digits <= MAX_EXACT_DIGITS {
            put(
                slot,
                Value::Float(exact_decimal(negative, mantissa, fraction_digits)),
            );
            return Some((!negative).then_some((mantissa, fraction_digits)));
        }
        // Rust's parser and serde_json's float_roundtrip both round
        // correctly, so they agree on every finite result.
        let value: f64 = token().parse().ok()?;
        if !value.is_finite() {
            return None;
        }
        put(slot, Value::Float(value));
        Some(None)
    }
}

/// Digits of a decimal read without the general float parser.
const MAX_EXACT_DIGITS: usize = 15;

/// A decimal with at most `MAX_EXACT_DIGITS` digits and no exponent (a
/// price as producers write it, `24.99`), given as its digits and how many
/// of them follow the point. Read exactly as a correct parser would: the
/// digits (below 2⁵³) and the power of ten (at most 10¹⁵) are both exact
/// doubles, so one IEEE division rounds the quotient correctly. This is
/// Clinger's fast path, the first thing `str::parse` tries too, without the
/// general parser's set-up.
pub(in crate::fast) fn exact_decimal(negative: bool, digits: u64, fraction_digits: usize) -> f64 {
    const POWERS_OF_TEN: [f64; MAX_EXACT_DIGITS + 1] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let value = digits as f64 / POWERS_OF_TEN[fraction_digits];
    if negative {
        -value
    } else {
        value
    }
}
