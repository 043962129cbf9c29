//! A mergeable quantile sketch with bounded relative error.
//!
//! Values (nanoseconds) fall into logarithmic buckets (the DDSketch idea):
//! bucket `i` holds values in (γ^(i-1), γ^i], so any two values of a bucket
//! are within γ − 1 (0.5%) of each other. A bucket keeps its count and the
//! exact sum of its values and answers with their mean: exact when a bucket
//! holds one distinct value, and never outside the bucket. Counts and sums
//! are integers, so sketches add and subtract exactly, which sliding windows
//! need, and sketches from several partitions merge by addition.

use std::collections::BTreeMap;

/// The width of a bucket relative to its values: half the contract's 1%.
pub const RELATIVE_ACCURACY: f64 = 0.005;

const NANOS_PER_SECOND: f64 = 1e9;

fn gamma() -> f64 {
    1.0 + RELATIVE_ACCURACY
}

/// One bucket: how many values, and their exact sum in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Bucket {
    count: u64,
    sum_nanos: i128,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sketch {
    zero_count: u64,
    /// Sparse: only buckets that hold values. Log buckets keep this to a few
    /// hundred entries even for values spanning seconds to weeks.
    buckets: BTreeMap<i32, Bucket>,
}

impl Sketch {
    /// Adds a value in nanoseconds; zero and below go to the zero bucket.
    pub fn insert(&mut self, nanos: i64) {
        if nanos <= 0 {
            self.zero_count += 1;
        } else {
            let bucket = self.buckets.entry(bucket_of(nanos)).or_default();
            bucket.count += 1;
            bucket.sum_nanos += i128::from(nanos);
        }
    }

    pub fn add(&mut self, other: &Sketch) {
        self.zero_count += other.zero_count;
        for (&index, theirs) in &other.buckets {
            let bucket = self.buckets.entry(index).or_default();
            bucket.count += theirs.count;
            bucket.sum_nanos += theirs.sum_nanos;
        }
    }

    /// Removes a sketch previously added; counts never go below zero.
    pub fn subtract(&mut self, other: &Sketch) {
        self.zero_count = self.zero_count.saturating_sub(other.zero_count);
        for (&index, theirs) in &other.buckets {
            if let Some(held) = self.buckets.get_mut(&index) {
                held.count = held.count.saturating_sub(theirs.count);
                held.sum_nanos -= theirs.sum_nanos;
                if held.count == 0 {
                    self.buckets.remove(&index);
                }
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.zero_count + self.buckets.values().map(|b| b.count).sum::<u64>()
    }

    pub fn is_empty(&self) -> bool {
        self.zero_count == 0 && self.buckets.is_empty()
    }

    /// The nearest-rank percentiles (the ⌈p·n/100⌉-th smallest) in seconds,
    /// for several `p`s in ascending order, in one pass over the buckets.
    pub fn percentiles<const N: usize>(&self, percents: [u64; N]) -> [f64; N] {
        let total = self.count();
        let mut answers = [0.0; N];
        if total == 0 {
            return answers;
        }
        let ranks = percents.map(|p| (p * total).div_ceil(100).max(1));
        let mut next = 0;
        let mut seen = self.zero_count;
        while next < N && ranks[next] <= seen {
            answers[next] = 0.0;
            next += 1;
        }
        for bucket in self.buckets.values() {
            seen += bucket.count;
            while next < N && ranks[next] <= seen {
                answers[next] = bucket.sum_nanos as f64 / bucket.count as f64 / NANOS_PER_SECOND;
                next += 1;
            }
            if next == N {
                break;
            }
        }
        answers
    }
}

fn bucket_of(nanos: i64) -> i32 {
    (nanos as f64).ln().div_euclid(gamma().ln()) as i32
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn nearest_rank(values: &[i64], percent: u64) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort();
        let rank = (percent * sorted.len() as u64).div_ceil(100).max(1);
        sorted[rank as usize - 1] as f64 / NANOS_PER_SECOND
    }

    const SECOND: i64 = 1_000_000_000;

    #[test]
    fn distinct_values_are_answered_exactly() {
        let mut sketch = Sketch::default();
        sketch.insert(140 * SECOND);
        sketch.insert(230 * SECOND);
        assert_eq!(sketch.percentiles([50, 90]), [140.0, 230.0]);
    }

    #[test]
    fn zero_is_exact() {
        let mut sketch = Sketch::default();
        sketch.insert(0);
        assert_eq!(sketch.percentiles([99]), [0.0]);
    }

    proptest! {
        #[test]
        fn percentiles_are_within_one_percent_of_nearest_rank(
            values in proptest::collection::vec(0i64..10_000_000 * SECOND, 1..400),
        ) {
            let mut sketch = Sketch::default();
            for &v in &values {
                sketch.insert(v);
            }
            let answers = sketch.percentiles([50, 90, 95, 99]);
            for (answer, p) in answers.iter().zip([50, 90, 95, 99]) {
                let exact = nearest_rank(&values, p);
                if exact > 0.0 {
                    prop_assert!((answer - exact).abs() / exact <= 0.01, "p{p}: {answer} vs {exact}");
                } else {
                    prop_assert_eq!(*answer, 0.0);
                }
            }
        }

        #[test]
        fn subtracting_what_was_added_restores_the_sketch(
            a in proptest::collection::vec(0i64..1_000_000 * SECOND, 0..100),
            b in proptest::collection::vec(0i64..1_000_000 * SECOND, 0..100),
        ) {
            let mut base = Sketch::default();
            a.iter().for_each(|&v| base.insert(v));
            let mut extra = Sketch::default();
            b.iter().for_each(|&v| extra.insert(v));
            let mut merged = base.clone();
            merged.add(&extra);
            merged.subtract(&extra);
            prop_assert_eq!(merged, base);
        }
    }
}
