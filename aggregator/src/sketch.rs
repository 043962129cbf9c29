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

use crate::window::Wide;

/// The width of a bucket relative to its values: half the contract's 1%.
pub const RELATIVE_ACCURACY: f64 = 0.005;

const NANOS_PER_SECOND: f64 = 1e9;

fn gamma() -> f64 {
    1.0 + RELATIVE_ACCURACY
}

/// One bucket: how many values, and their exact sum in nanoseconds. The
/// form a sketch is saved in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Bucket {
    count: u64,
    sum_nanos: i128,
}

/// A bucket as held: its index beside its totals, the sum as two words so
/// nothing pads the entry to 16-byte alignment (32 bytes, not 48).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    index: i32,
    count: u64,
    sum_nanos: Wide,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sketch {
    zero_count: u64,
    /// Sparse and sorted by index: only buckets that hold values. Log
    /// buckets keep this to a few hundred entries even for values spanning
    /// seconds to weeks, and a tick's bucket of one key usually holds one
    /// to a few. A sorted vector rather than a B-tree: one small allocation
    /// instead of a ~400-byte node, and an insert reads one cache line
    /// where a node spreads keys and values over several.
    buckets: Vec<Entry>,
}

impl Sketch {
    /// Adds a value in nanoseconds; zero and below go to the zero bucket.
    pub fn insert(&mut self, nanos: i64) {
        if nanos <= 0 {
            self.zero_count += 1;
        } else {
            let entry = self.entry(bucket_of(nanos));
            entry.count += 1;
            entry.sum_nanos.add(i128::from(nanos));
        }
    }

    pub fn add(&mut self, other: &Sketch) {
        self.zero_count += other.zero_count;
        // Both sides are sorted: each search starts where the last ended.
        let mut from = 0;
        for theirs in &other.buckets {
            let position = self.position(theirs.index, from);
            let position = self.entry_at(position, theirs.index);
            let entry = &mut self.buckets[position];
            entry.count += theirs.count;
            entry.sum_nanos.add(theirs.sum_nanos.get());
            from = position + 1;
        }
    }

    /// Removes a sketch previously added; counts never go below zero.
    pub fn subtract(&mut self, other: &Sketch) {
        self.zero_count = self.zero_count.saturating_sub(other.zero_count);
        let mut from = 0;
        for theirs in &other.buckets {
            match self.position(theirs.index, from) {
                Ok(position) => {
                    let held = &mut self.buckets[position];
                    held.count = held.count.saturating_sub(theirs.count);
                    held.sum_nanos.add(-theirs.sum_nanos.get());
                    if held.count == 0 {
                        self.buckets.remove(position);
                        from = position;
                    } else {
                        from = position + 1;
                    }
                }
                Err(position) => from = position,
            }
        }
    }

    /// Asks for the start of the buckets' memory to be brought into the
    /// cache (see `KpiState::flush`), without waiting for it.
    pub(crate) fn prefetch(&self) {
        if let Some(entry) = self.buckets.first() {
            crate::prefetch::prefetch(entry);
        }
    }

    pub fn count(&self) -> u64 {
        self.zero_count + self.buckets.iter().map(|b| b.count).sum::<u64>()
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
        for bucket in &self.buckets {
            seen += bucket.count;
            while next < N && ranks[next] <= seen {
                answers[next] =
                    bucket.sum_nanos.get() as f64 / bucket.count as f64 / NANOS_PER_SECOND;
                next += 1;
            }
            if next == N {
                break;
            }
        }
        answers
    }

    /// Where bucket `index` is (`Ok`) or would go (`Err`), searching from
    /// position `from` on (every earlier entry has a smaller index).
    fn position(&self, index: i32, from: usize) -> Result<usize, usize> {
        self.buckets[from..]
            .binary_search_by_key(&index, |entry| entry.index)
            .map(|found| from + found)
            .map_err(|missing| from + missing)
    }

    /// Bucket `index`, created empty if needed.
    fn entry(&mut self, index: i32) -> &mut Entry {
        let position = self.position(index, 0);
        let position = self.entry_at(position, index);
        &mut self.buckets[position]
    }

    /// The position of bucket `index` found by `position`, inserting it
    /// empty where it was missing.
    fn entry_at(&mut self, position: Result<usize, usize>, index: i32) -> usize {
        match position {
            Ok(position) => position,
            Err(position) => {
                let empty = Entry {
                    index,
                    count: 0,
                    sum_nanos: Wide::default(),
                };
                self.buckets.insert(position, empty);
                position
            }
        }
    }
}

/// Saved as before the vector: the zero count and a map from bucket index to
/// `Bucket`, so a checkpoint's sketch reads the same.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename = "Sketch")]
struct SavedSketch<B> {
    zero_count: u64,
    buckets: B,
}

/// The buckets of a sketch being saved, written as a map without building one.
struct SavedBuckets<'a>(&'a [Entry]);

impl serde::Serialize for SavedBuckets<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|entry| {
            let bucket = Bucket {
                count: entry.count,
                sum_nanos: entry.sum_nanos.get(),
            };
            (entry.index, bucket)
        }))
    }
}

impl serde::Serialize for Sketch {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SavedSketch {
            zero_count: self.zero_count,
            buckets: SavedBuckets(&self.buckets),
        }
        .serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Sketch {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Sketch, D::Error> {
        let saved = SavedSketch::<BTreeMap<i32, Bucket>>::deserialize(deserializer)?;
        // A map iterates in index order: the vector comes out sorted.
        let buckets = saved
            .buckets
            .into_iter()
            .map(|(index, bucket)| {
                let mut sum_nanos = Wide::default();
                sum_nanos.set(bucket.sum_nanos);
                Entry {
                    index,
                    count: bucket.count,
                    sum_nanos,
                }
            })
            .collect();
        Ok(Sketch {
            zero_count: saved.zero_count,
            buckets,
        })
    }
}

fn bucket_of(nanos: i64) -> i32 {
    // `nanos` is at least 1, so the quotient is never negative: truncating
    // it (`as`) is the Euclidean division's floor, without its `fmod`.
    ((nanos as f64).ln() / gamma().ln()) as i32
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

    #[test]
    fn a_sketch_is_saved_as_a_map_of_buckets() {
        let mut sketch = Sketch::default();
        sketch.insert(0);
        sketch.insert(230 * SECOND);
        sketch.insert(140 * SECOND);
        sketch.insert(140 * SECOND);
        let mut map = BTreeMap::new();
        map.insert(
            bucket_of(140 * SECOND),
            Bucket {
                count: 2,
                sum_nanos: 280 * i128::from(SECOND),
            },
        );
        map.insert(
            bucket_of(230 * SECOND),
            Bucket {
                count: 1,
                sum_nanos: 230 * i128::from(SECOND),
            },
        );
        let expected = SavedSketch {
            zero_count: 1,
            buckets: map,
        };
        let saved = serde_json::to_string(&sketch).expect("serializes");
        assert_eq!(saved, serde_json::to_string(&expected).expect("serializes"));
        assert_eq!(
            serde_json::from_str::<Sketch>(&saved).expect("deserializes"),
            sketch
        );
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
        fn buckets_are_the_euclidean_quotient(nanos in 1i64..=i64::MAX) {
            let euclidean = (nanos as f64).ln().div_euclid(gamma().ln()) as i32;
            prop_assert_eq!(bucket_of(nanos), euclidean);
        }

        #[test]
        fn adding_sketches_equals_inserting_every_value(
            a in proptest::collection::vec(-SECOND..1_000_000 * SECOND, 0..100),
            b in proptest::collection::vec(-SECOND..1_000_000 * SECOND, 0..100),
        ) {
            let mut merged = Sketch::default();
            a.iter().for_each(|&v| merged.insert(v));
            let mut extra = Sketch::default();
            b.iter().for_each(|&v| extra.insert(v));
            merged.add(&extra);
            let mut direct = Sketch::default();
            a.iter().chain(&b).for_each(|&v| direct.insert(v));
            prop_assert_eq!(&merged, &direct);
            prop_assert!(merged.buckets.windows(2).all(|w| w[0].index < w[1].index));
            let saved = serde_json::to_string(&merged).expect("serializes");
            prop_assert_eq!(serde_json::from_str::<Sketch>(&saved).expect("deserializes"), merged);
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
