//! Amounts of money, exact to the pico-unit.

use serde::{Deserialize, Serialize};

/// Money in pico-units (10⁻¹²), so sums are exact integers whatever the
/// arrival order (contract section 9 allows decimal or double; decimal makes
/// two runs of tripgate agree to the last bit). Twelve decimals keep amounts
/// far below a cent exact, and the largest order (1000 lines of 10⁶ units at
/// 10⁹) still fits an i128 a billion times over.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Money(pub i128);

impl Money {
    pub const SUBUNITS_PER_UNIT: i128 = 1_000_000_000_000;

    /// Converts a validated amount (finite, 0 to 1e9) to pico-units,
    /// rounding half away from zero.
    pub fn from_f64(amount: f64) -> Money {
        let scaled = amount * Money::SUBUNITS_PER_UNIT as f64;
        // Amounts below about 9.2 million units scale into an i64, where
        // rounding is a truncation and a look at the fraction: `round` is a
        // libm call here and f64 to i128 a soft-float one, together about 60
        // instructions per amount. NaN fails the test and takes the general
        // path, as do the rare larger amounts.
        if scaled.abs() < I64_LIMIT {
            return Money(i128::from(round_to_i64(scaled)));
        }
        Money(scaled.round() as i128)
    }

    /// `digits` × 10^-`fraction_digits` units (a decimal as written, `24.99`
    /// as 2499 and 2), exactly, where that is provably what [`from_f64`]
    /// gives for the double nearest the decimal, which is what a correct
    /// JSON parser reads; `None` elsewhere, for the caller to go through the
    /// double. It is wherever the pico-units are a whole number below 2⁵⁰
    /// (amounts up to about 1125 units with at most 12 decimals): the double
    /// nearest the amount is off by at most 2⁻⁵³ of it, scaling by 10¹²
    /// rounds off as much again, so the scaled double is within
    /// 2⁵⁰ × 2⁻⁵² × (1 + 2⁻⁵⁴) < 0.5 of the exact count and rounds to it.
    ///
    /// [`from_f64`]: Money::from_f64
    pub fn from_decimal(digits: u64, fraction_digits: usize) -> Option<Money> {
        const EXACT_LIMIT: u64 = 1 << 50;
        let scale = PICOS_PER_DECIMAL.get(fraction_digits)?;
        let picos = digits.checked_mul(*scale)?;
        (picos < EXACT_LIMIT).then_some(Money(i128::from(picos)))
    }

    /// Converts a whole number of units exactly.
    pub fn from_units(units: u64) -> Money {
        Money(i128::from(units) * Money::SUBUNITS_PER_UNIT)
    }
}

/// Pico-units in one unit of the decimal place after the point at each
/// index: 10¹² for whole units down to 1 for the twelfth decimal.
const PICOS_PER_DECIMAL: [u64; 13] = {
    let mut powers = [1; 13];
    let mut index = 12;
    while index > 0 {
        powers[index - 1] = powers[index] * 10;
        index -= 1;
    }
    powers
};

/// 2⁶³, the first double past `i64::MAX`.
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// `value.round() as i64` for |value| < 2⁶³. Below 2⁵³ the truncation and
/// `value` minus it are both exact doubles, so the fraction decides exactly;
/// above, every double is an integer and the fraction is zero.
fn round_to_i64(value: f64) -> i64 {
    let truncated = value as i64;
    let fraction = value - truncated as f64;
    if fraction >= 0.5 {
        truncated + 1
    } else if fraction <= -0.5 {
        truncated - 1
    } else {
        truncated
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What `from_f64` computed before it took the i64 path.
    fn reference(amount: f64) -> Money {
        Money((amount * Money::SUBUNITS_PER_UNIT as f64).round() as i128)
    }

    #[test]
    fn from_f64_rounds_halves_away_from_zero() {
        for (amount, expected) in [
            (0.0, 0),
            (-0.0, 0),
            (5.5, 5_500_000_000_000),
            (0.5e-12, 1),
            (-0.5e-12, -1),
            (0.49e-12, 0),
            (24.99, 24_990_000_000_000),
            (1e9, 1_000_000_000_000_000_000_000),
        ] {
            assert_eq!(Money::from_f64(amount), Money(expected), "{amount}");
        }
    }

    #[test]
    fn from_f64_matches_the_reference_at_the_edges() {
        let mut amounts = vec![f64::MAX, f64::MIN_POSITIVE, 1e9, 1e7, 9.2e6];
        // Around 2⁵², 2⁵³ and 2⁶³ pico-units, where doubles turn integers
        // and where the i64 path ends.
        for power in [52, 53, 62, 63] {
            let limit = 2f64.powi(power) / 1e12;
            let mut below = limit;
            let mut above = limit;
            for _ in 0..64 {
                below = below.next_down();
                above = above.next_up();
                amounts.extend([below, above]);
            }
        }
        for amount in amounts {
            for amount in [amount, -amount] {
                assert_eq!(Money::from_f64(amount), reference(amount), "{amount:e}");
            }
        }
    }

    /// The decimal `digits` × 10^-`fraction_digits` as JSON writes it, and
    /// the double a correct parser reads from it.
    fn written(digits: u64, fraction_digits: usize) -> (String, f64) {
        let padded = format!("{digits:0>width$}", width = fraction_digits + 1);
        let (whole, fraction) = padded.split_at(padded.len() - fraction_digits);
        let text = format!("{whole}.{fraction}");
        let amount = text.parse().expect("a decimal");
        (text, amount)
    }

    /// `from_decimal`'s answer is `from_f64`'s for the same text, and it
    /// answers wherever its bound says it may.
    fn check_decimal(digits: u64, fraction_digits: usize) -> Result<(), TestCaseError> {
        let (text, amount) = written(digits, fraction_digits);
        let exact = u128::from(digits) * 10u128.pow(12 - fraction_digits.min(12) as u32);
        match Money::from_decimal(digits, fraction_digits) {
            Some(money) => {
                prop_assert_eq!(money, Money::from_f64(amount), "{}", text);
                prop_assert_eq!(money, Money(exact as i128), "{}", text);
            }
            None => prop_assert!(fraction_digits > 12 || exact >= 1 << 50, "{}", text),
        }
        Ok(())
    }

    #[test]
    fn from_decimal_reads_prices_exactly() {
        assert_eq!(
            Money::from_decimal(2499, 2),
            Some(Money(24_990_000_000_000))
        );
        assert_eq!(Money::from_decimal(0, 1), Some(Money(0)));
        assert_eq!(Money::from_decimal(5, 12), Some(Money(5)));
        assert_eq!(Money::from_decimal(5, 13), None);
        assert_eq!(Money::from_decimal(1 << 50, 12), None);
        assert_eq!(
            Money::from_decimal((1 << 50) - 1, 12),
            Some(Money((1 << 50) - 1))
        );
        assert_eq!(Money::from_decimal(u64::MAX, 1), None);
    }

    #[test]
    fn from_decimal_matches_from_f64_below_its_limit() {
        // Just below 2⁵⁰ pico-units, where the bound is tightest, for every
        // number of decimals.
        for fraction_digits in 0..=12 {
            let limit = (1u64 << 50) / 10u64.pow(12 - fraction_digits as u32);
            for digits in limit.saturating_sub(20_000)..=limit + 1 {
                check_decimal(digits, fraction_digits).unwrap();
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn from_decimal_matches_from_f64(
            digits in 0u64..1_000_000_000_000_000,
            fraction_digits in 0usize..=15,
        ) {
            check_decimal(digits, fraction_digits)?;
        }

        #[test]
        fn from_decimal_matches_from_f64_for_prices(
            cents in 0u64..200_000_000,
            fraction_digits in 1usize..=4,
        ) {
            check_decimal(cents, fraction_digits)?;
        }

        #[test]
        fn from_decimal_matches_from_f64_with_many_decimals(
            digits in 0u64..(1 << 50),
            fraction_digits in 9usize..=12,
        ) {
            check_decimal(digits, fraction_digits)?;
        }

        #[test]
        fn from_f64_matches_the_reference(bits: u64) {
            let amount = f64::from_bits(bits);
            prop_assume!(amount.is_finite());
            prop_assert_eq!(Money::from_f64(amount), reference(amount));
        }

        #[test]
        fn from_f64_matches_the_reference_in_range(amount in 0.0f64..=1e9) {
            prop_assert_eq!(Money::from_f64(amount), reference(amount));
        }

        #[test]
        fn from_f64_matches_the_reference_near_halves(
            picos in 0i64..(1 << 60),
            steps in -3i64..=3,
        ) {
            // The double nearest a half pico-unit, and its neighbours.
            let mut amount = (picos as f64 + 0.5) / 1e12;
            for _ in 0..steps.abs() {
                amount = if steps < 0 { amount.next_down() } else { amount.next_up() };
            }
            prop_assert_eq!(Money::from_f64(amount), reference(amount));
        }
    }
}
