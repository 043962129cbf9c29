//! Sliding windows as per-tick buckets that add and subtract.
//!
//! Events are applied in event-time order, so only the newest bucket ever
//! receives data; at each tick close a window adds the bucket entering it and
//! subtracts the bucket leaving it: O(1) per event and per (key, window)
//! per tick. Every total is an integer (counts, nanoseconds, pico-money,
//! sketch bucket counts), so sliding never accumulates rounding error, and
//! buckets from several partitions can be merged by addition.

use std::collections::VecDeque;

use crate::sketch::Sketch;

/// What a bucket or window holds.
pub trait Accumulator: Default + Clone + serde::Serialize + serde::de::DeserializeOwned {
    fn add(&mut self, other: &Self);
    fn subtract(&mut self, other: &Self);

    /// Prefetches what the totals hold outside themselves, if anything
    /// (see `KpiState::flush`).
    fn prefetch_held(&self) {}
}

/// Numerator and denominator of a ratio KPI.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RatioTotals {
    /// Count, or units, or pico-money (contribution margin).
    pub numerator: Wide,
    pub samples: u64,
}

impl Accumulator for RatioTotals {
    fn add(&mut self, other: &Self) {
        self.numerator.add(other.numerator.get());
        self.samples += other.samples;
    }

    fn subtract(&mut self, other: &Self) {
        self.numerator.add(-other.numerator.get());
        self.samples -= other.samples;
    }
}

/// An `i128` held as two 8-byte words. A ratio's numerator needs 128 bits
/// (margins are exact pico-money), but an `i128` field is 16-byte aligned,
/// which pads a bucket `(i64, RatioTotals)` from 32 to 48 bytes; ratio
/// buckets are most of a key's memory. Saved as the `i128` it holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wide {
    low: u64,
    high: i64,
}

impl Wide {
    pub fn get(self) -> i128 {
        (i128::from(self.high) << 64) | i128::from(self.low)
    }

    pub fn set(&mut self, value: i128) {
        // Truncation keeps the low 64 bits, the shift the high ones.
        self.low = value as u64;
        self.high = (value >> 64) as i64;
    }

    pub fn add(&mut self, value: i128) {
        self.set(self.get() + value);
    }
}

impl serde::Serialize for Wide {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i128(self.get())
    }
}

impl<'de> serde::Deserialize<'de> for Wide {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Wide, D::Error> {
        let mut wide = Wide::default();
        wide.set(i128::deserialize(deserializer)?);
        Ok(wide)
    }
}

/// Samples of a distribution KPI. Their count is the sketch's: a field of
/// its own would make a key's entry (`KeyBuckets`) larger than a cache line.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DistributionTotals {
    /// Two words, like a ratio's numerator, so nothing pads the totals.
    pub sum_nanos: Wide,
    pub sketch: Sketch,
}

impl Accumulator for DistributionTotals {
    fn add(&mut self, other: &Self) {
        self.sum_nanos.add(other.sum_nanos.get());
        self.sketch.add(&other.sketch);
    }

    fn subtract(&mut self, other: &Self) {
        self.sum_nanos.add(-other.sum_nanos.get());
        self.sketch.subtract(&other.sketch);
    }

    fn prefetch_held(&self) {
        self.sketch.prefetch();
    }
}

/// A window `length` ticks long ending `offset` ticks before the tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WindowShape {
    pub length: i64,
    pub offset: i64,
}

/// The buckets of one key: only those that hold data, and only while some
/// window may still read them. Memory follows the data, not the window
/// length (a 9-day baseline at a 1-minute tick would otherwise cost 12,962
/// buckets for every key, most of them empty), and a key whose buckets have
/// all left every window holds none and is skipped.
///
/// The newest bucket, which every event of the open tick updates, is held
/// in place: an update touches this one value, where a queue alone would
/// cost a second cache miss (its heap buffer) with many keys, and a key
/// with data in one tick of its windows needs no allocation at all.
///
/// Aligned to a cache line so that an update touches one line, not two: a
/// distribution key's entry is exactly 64 bytes, and a ratio key's 40
/// bytes are padded to 64.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[repr(align(64))]
struct KeyBuckets<A> {
    /// `(NO_BUCKET, empty)` when the key holds no bucket.
    newest: (i64, A),
    /// The older buckets, oldest first; none whenever `newest` is empty.
    /// Boxed, and absent until a key has data in a second tick: 8 bytes in
    /// the keys array instead of a 32-byte queue header, which keeps a
    /// distribution key's entry to one cache line, and no queue at all for
    /// the many keys with data in one tick only.
    #[allow(clippy::box_collection)]
    older: Option<Box<VecDeque<(i64, A)>>>,
}

/// Stands for "no bucket" in `KeyBuckets::newest`: below any tick index.
const NO_BUCKET: i64 = i64::MIN;

impl<A: Accumulator> KeyBuckets<A> {
    fn new() -> KeyBuckets<A> {
        KeyBuckets {
            newest: (NO_BUCKET, A::default()),
            older: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.newest.0 == NO_BUCKET
    }

    /// The bucket `bucket`, created empty if needed.
    fn bucket_mut(&mut self, bucket: i64) -> &mut A {
        let newest = self.newest.0;
        if bucket > newest {
            // Events arrive in event-time order: a new tick's first event.
            let previous = std::mem::replace(&mut self.newest, (bucket, A::default()));
            if previous.0 != NO_BUCKET {
                self.older.get_or_insert_default().push_back(previous);
            }
            return &mut self.newest.1;
        }
        if bucket == newest {
            return &mut self.newest.1;
        }
        let older = self.older.get_or_insert_default();
        let position = match older.binary_search_by_key(&bucket, |(index, _)| *index) {
            Ok(position) => position,
            Err(position) => {
                older.insert(position, (bucket, A::default()));
                position
            }
        };
        &mut older[position].1
    }

    /// The totals of `bucket`, if it holds data. A window's entering bucket
    /// is usually the newest and its leaving bucket the oldest, so the ends
    /// are tried before a search.
    ///
    /// The leaving bucket of a window shorter than the key's longest (a
    /// rule's window beside its baseline), and both ends of a baseline
    /// ending days ago, sit in the middle of days of buckets. `hint` is
    /// where the search for this window's bucket ended at the last close;
    /// a window moves one bucket per close, so the search starts there and
    /// mostly ends at once, and `hint` is left where the next one starts.
    /// Any `hint` gives the same answer, only slower.
    fn read(&self, bucket: i64, hint: &mut u32) -> Option<&A> {
        let (newest, totals) = &self.newest;
        if *newest <= bucket {
            return (*newest == bucket).then_some(totals);
        }
        let older = self.older.as_deref()?;
        let (oldest, totals) = older.front()?;
        if *oldest >= bucket {
            return (*oldest == bucket).then_some(totals);
        }
        let (last, _) = older.back()?;
        if *last < bucket {
            return None;
        }
        let found = gallop(older, bucket, *hint as usize);
        // Where the next close's bucket (this one + 1) is, or would be.
        let next = found.map_or_else(|insert_at| insert_at, |position| position + 1);
        *hint = u32::try_from(next).unwrap_or(u32::MAX);
        found.ok().map(|position| &older[position].1)
    }

    /// Drops every bucket at or before `cutoff`; how many older buckets
    /// went (the positions of the others moved down by as many).
    fn drop_through(&mut self, cutoff: i64) -> usize {
        let mut dropped = 0;
        if let Some(older) = &mut self.older {
            while older.front().is_some_and(|(bucket, _)| *bucket <= cutoff) {
                older.pop_front();
                dropped += 1;
            }
            if !older.is_empty() {
                return dropped;
            }
        }
        if self.newest.0 != NO_BUCKET && self.newest.0 <= cutoff {
            self.newest = (NO_BUCKET, A::default());
            // Idle past every window: give the queue back too.
            self.older = None;
        }
        dropped
    }
}

/// The position of `bucket` in `older` (sorted, without repeats), or where
/// it would go (as `binary_search` says), searched outwards from `guess` in
/// growing steps and then by halving the last step.
fn gallop<A>(older: &VecDeque<(i64, A)>, bucket: i64, guess: usize) -> Result<usize, usize> {
    let at = |position: usize| older[position].0;
    let guess = guess.min(older.len() - 1);
    // The bracket [low, high) that must hold `bucket` if it is here.
    let (low, high) = match at(guess).cmp(&bucket) {
        std::cmp::Ordering::Equal => return Ok(guess),
        std::cmp::Ordering::Less => {
            let mut step = 1;
            let mut low = guess + 1;
            loop {
                let probe = guess + step;
                if probe >= older.len() {
                    break (low, older.len());
                }
                if at(probe) >= bucket {
                    break (low, probe + 1);
                }
                low = probe + 1;
                step *= 2;
            }
        }
        std::cmp::Ordering::Greater => {
            let mut step = 1;
            let mut high = guess;
            loop {
                let Some(probe) = guess.checked_sub(step) else {
                    break (0, high);
                };
                if at(probe) <= bucket {
                    break (probe, high);
                }
                high = probe;
                step *= 2;
            }
        }
    };
    let (mut low, mut high) = (low, high);
    while low < high {
        let middle = low + (high - low) / 2;
        match at(middle).cmp(&bucket) {
            std::cmp::Ordering::Equal => return Ok(middle),
            std::cmp::Ordering::Less => low = middle + 1,
            std::cmp::Ordering::Greater => high = middle,
        }
    }
    Err(low)
}

/// All keys of one (KPI, scope) and the windows kept for them.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Windows<A> {
    shapes: Vec<WindowShape>,
    /// A bucket this many ticks before the closing tick is read by no later
    /// close, so it is dropped.
    horizon: i64,
    /// By key number: the key's row in its scope (`keys::ScopeNames`), so
    /// one name lookup finds the key in every KPI of the scope. A row no
    /// contribution of this KPI used holds an empty entry. In huge pages
    /// (`huge_pages`): an update reads one entry at random.
    #[serde(deserialize_with = "crate::huge_pages::deserialize_table")]
    keys: Vec<KeyBuckets<A>>,
    /// The running total of every (key, window), `shapes.len()` per key:
    /// one array for all keys rather than one allocation each.
    running: Vec<A>,
    /// How many keys hold a bucket: the most values a close reports per
    /// window, so the snapshot's lists are allocated once at their size.
    active: usize,
    /// Per (key, window), like `running`: where the searches for its
    /// entering and leaving buckets start (see `KeyBuckets::read`). Only
    /// hints, so not saved: a restored store starts them afresh.
    #[serde(skip)]
    hints: Vec<[u32; 2]>,
}

impl<A: Accumulator> Windows<A> {
    pub fn new(shapes: Vec<WindowShape>) -> Windows<A> {
        let horizon = shapes
            .iter()
            .map(|s| s.length + s.offset)
            .max()
            .unwrap_or(1)
            + 1;
        Windows {
            shapes,
            horizon,
            keys: Vec::new(),
            running: Vec::new(),
            active: 0,
            hints: Vec::new(),
        }
    }

    /// The bucket `bucket` of key `key`, created empty if needed.
    pub fn bucket_mut(&mut self, key: u32, bucket: i64) -> &mut A {
        let key = key as usize;
        if self.keys.len() <= key {
            crate::huge_pages::for_table(|| self.keys.resize_with(key + 1, KeyBuckets::new));
            self.running
                .resize((key + 1) * self.shapes.len(), A::default());
        }
        let buckets = &mut self.keys[key];
        if buckets.is_empty() {
            self.active += 1;
        }
        buckets.bucket_mut(bucket)
    }

    /// Prefetches `key`'s entry (see `KpiState::flush`).
    pub fn prefetch_entry(&self, key: u32) {
        if let Some(buckets) = self.keys.get(key as usize) {
            crate::prefetch::prefetch(buckets);
        }
    }

    /// Prefetches what `key`'s newest bucket holds elsewhere: reads the
    /// entry, so call it once `prefetch_entry` has had time to bring it in.
    pub fn prefetch_held(&self, key: u32) {
        if let Some(buckets) = self.keys.get(key as usize) {
            buckets.newest.1.prefetch_held();
        }
    }

    /// How many keys hold a bucket: no close reports more values per window.
    pub fn active_keys(&self) -> usize {
        self.active
    }

    /// Slides every window to end at tick index `tick_index` (the tick at
    /// `tick_index × tick`), whose bucket `tick_index - 1` is now complete.
    /// Calls `visit(key, shape position, totals)` for each key of `keys`, in
    /// that order, whose window holds data.
    pub fn close(
        &mut self,
        tick_index: i64,
        keys: impl IntoIterator<Item = u32>,
        mut visit: impl FnMut(u32, usize, &A),
    ) {
        let windows_per_key = self.shapes.len();
        if windows_per_key == 0 {
            // Every series reports at least one window; nothing to slide.
            return;
        }
        if self.hints.len() < self.running.len() {
            self.hints.resize(self.running.len(), [0, 0]);
        }
        for key in keys {
            let index = key as usize;
            let Some(buckets) = self.keys.get_mut(index) else {
                // Never given a bucket: nothing to slide.
                continue;
            };
            if buckets.is_empty() {
                // Every bucket has left every window (or none came): the
                // running totals are back to zero.
                continue;
            }
            let running = &mut self.running[index * windows_per_key..][..windows_per_key];
            let hints = &mut self.hints[index * windows_per_key..][..windows_per_key];
            for (position, shape) in self.shapes.iter().enumerate() {
                let entering = tick_index - shape.offset - 1;
                let leaving = entering - shape.length;
                let running = &mut running[position];
                let [entering_hint, leaving_hint] = &mut hints[position];
                if let Some(totals) = buckets.read(entering, entering_hint) {
                    running.add(totals);
                }
                if let Some(totals) = buckets.read(leaving, leaving_hint) {
                    running.subtract(totals);
                }
                visit(key, position, running);
            }
            // No later close reads a bucket this old (the oldest read is
            // `tick_index + 1 - horizon`).
            let dropped = buckets.drop_through(tick_index - self.horizon);
            for hint in hints.iter_mut().flatten() {
                *hint = hint.saturating_sub(dropped as u32);
            }
            if buckets.is_empty() {
                self.active -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratio(windows: &mut Windows<RatioTotals>, key: u32, bucket: i64, samples: u64) {
        windows.bucket_mut(key, bucket).samples += samples;
    }

    fn samples_at(windows: &mut Windows<RatioTotals>, tick_index: i64) -> Vec<(u32, usize, u64)> {
        let mut seen = Vec::new();
        let keys = 0..windows.keys.len() as u32;
        windows.close(tick_index, keys, |key, position, totals| {
            if totals.samples > 0 {
                seen.push((key, position, totals.samples));
            }
        });
        seen
    }

    #[test]
    fn windows_hold_exactly_the_buckets_they_cover() {
        // a 3-tick window and a 2-tick window ending 2 ticks earlier (a baseline)
        let mut windows = Windows::new(vec![
            WindowShape {
                length: 3,
                offset: 0,
            },
            WindowShape {
                length: 2,
                offset: 2,
            },
        ]);
        ratio(&mut windows, 0, 10, 1);
        assert_eq!(windows.active_keys(), 1);
        assert_eq!(samples_at(&mut windows, 11), vec![(0, 0, 1)]);
        ratio(&mut windows, 0, 11, 2);
        assert_eq!(samples_at(&mut windows, 12), vec![(0, 0, 3)]);
        assert_eq!(samples_at(&mut windows, 13), vec![(0, 0, 3), (0, 1, 1)]);
        assert_eq!(samples_at(&mut windows, 14), vec![(0, 0, 2), (0, 1, 3)]);
        assert_eq!(samples_at(&mut windows, 15), vec![(0, 1, 2)]);
        assert_eq!(samples_at(&mut windows, 16), vec![]);
    }

    #[test]
    fn wide_numerators_hold_any_i128_and_keep_buckets_small() {
        for value in [
            0,
            1,
            -1,
            i128::from(u64::MAX) + 7,
            -(1 << 100),
            i128::MAX,
            i128::MIN,
        ] {
            let mut wide = Wide::default();
            wide.set(value);
            assert_eq!(wide.get(), value);
        }
        let mut wide = Wide::default();
        wide.add(i128::from(u64::MAX));
        wide.add(1);
        wide.add(-2);
        assert_eq!(wide.get(), i128::from(u64::MAX) - 1);
        assert_eq!(std::mem::size_of::<(i64, RatioTotals)>(), 32);
        assert_eq!(std::mem::size_of::<KeyBuckets<RatioTotals>>(), 64);
        assert_eq!(std::mem::size_of::<KeyBuckets<DistributionTotals>>(), 64);
    }

    #[test]
    fn buckets_filled_out_of_order_land_in_order() {
        let mut windows = Windows::new(vec![WindowShape {
            length: 2,
            offset: 0,
        }]);
        ratio(&mut windows, 0, 12, 4);
        ratio(&mut windows, 0, 10, 1);
        ratio(&mut windows, 0, 11, 2);
        ratio(&mut windows, 0, 10, 8);
        assert_eq!(samples_at(&mut windows, 11), vec![(0, 0, 9)]);
        assert_eq!(samples_at(&mut windows, 12), vec![(0, 0, 11)]);
        assert_eq!(samples_at(&mut windows, 13), vec![(0, 0, 6)]);
        assert_eq!(samples_at(&mut windows, 14), vec![(0, 0, 4)]);
        assert_eq!(samples_at(&mut windows, 15), vec![]);
        assert!(windows.keys[0].is_empty());
        assert_eq!(windows.active_keys(), 0);
    }

    proptest::proptest! {
        /// The search from a guess finds what halving the whole queue finds,
        /// wherever the guess lands and whether or not the bucket is there.
        #[test]
        fn galloping_from_any_guess_agrees_with_binary_search(
            present in proptest::collection::btree_set(0i64..400, 1..120),
            bucket in -5i64..405,
            guess in 0usize..200,
        ) {
            let older: VecDeque<(i64, ())> = present.iter().map(|b| (*b, ())).collect();
            let expected = older.binary_search_by_key(&bucket, |(index, _)| *index);
            proptest::prop_assert_eq!(gallop(&older, bucket, guess), expected);
        }

        /// Reads give every bucket held, and nothing for the gaps, on
        /// sparse and dense keys alike, whatever hint they start from.
        #[test]
        fn reads_find_exactly_the_buckets_held(
            present in proptest::collection::btree_set(0i64..300, 1..100),
            mut hint in 0u32..200,
        ) {
            let mut key = KeyBuckets::<RatioTotals>::new();
            for bucket in &present {
                key.bucket_mut(*bucket).samples = *bucket as u64 + 1;
            }
            for bucket in -2i64..302 {
                let read = key.read(bucket, &mut hint).map(|totals| totals.samples);
                let expected = present.contains(&bucket).then(|| bucket as u64 + 1);
                proptest::prop_assert_eq!(read, expected, "bucket {}", bucket);
            }
        }
    }

    #[test]
    fn a_key_that_returns_after_a_long_gap_starts_clean() {
        let mut windows = Windows::new(vec![WindowShape {
            length: 2,
            offset: 0,
        }]);
        ratio(&mut windows, 0, 1, 5);
        for tick in 2..100 {
            samples_at(&mut windows, tick);
        }
        // bucket 1 + ring_len lands in the same slot as bucket 1
        ratio(&mut windows, 0, 100, 1);
        assert_eq!(samples_at(&mut windows, 101), vec![(0, 0, 1)]);
    }
}
