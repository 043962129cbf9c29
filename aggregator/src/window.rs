//! Sliding windows as per-tick buckets that add and subtract.
//!
//! Events are applied in event-time order, so only the newest bucket ever
//! receives data; at each tick close a window adds the bucket entering it and
//! subtracts the bucket leaving it: O(1) per event and per (key, window)
//! per tick. Every total is an integer (counts, nanoseconds, nano-money,
//! sketch bucket counts), so sliding never accumulates rounding error, and
//! buckets from several partitions can be merged by addition.

use std::collections::VecDeque;

use crate::sketch::Sketch;

/// What a bucket or window holds.
pub trait Accumulator: Default + Clone + serde::Serialize + serde::de::DeserializeOwned {
    fn add(&mut self, other: &Self);
    fn subtract(&mut self, other: &Self);
}

/// Numerator and denominator of a ratio KPI.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RatioTotals {
    /// Count, or units, or nano-money (contribution margin).
    pub numerator: i128,
    pub samples: u64,
}

impl Accumulator for RatioTotals {
    fn add(&mut self, other: &Self) {
        self.numerator += other.numerator;
        self.samples += other.samples;
    }

    fn subtract(&mut self, other: &Self) {
        self.numerator -= other.numerator;
        self.samples -= other.samples;
    }
}

/// Samples of a distribution KPI.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DistributionTotals {
    pub count: u64,
    pub sum_nanos: i128,
    pub sketch: Sketch,
}

impl Accumulator for DistributionTotals {
    fn add(&mut self, other: &Self) {
        self.count += other.count;
        self.sum_nanos += other.sum_nanos;
        self.sketch.add(&other.sketch);
    }

    fn subtract(&mut self, other: &Self) {
        self.count -= other.count;
        self.sum_nanos -= other.sum_nanos;
        self.sketch.subtract(&other.sketch);
    }
}

/// A window `length` ticks long ending `offset` ticks before the tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WindowShape {
    pub length: i64,
    pub offset: i64,
}

/// The buckets and running windows of one key.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct KeyWindows<A> {
    /// Only the buckets that hold data, oldest first, and only while some
    /// window may still read them: memory follows the data, not the window
    /// length (a 9-day baseline at a 1-minute tick would otherwise cost
    /// 12,962 buckets for every key, most of them empty).
    buckets: VecDeque<(i64, A)>,
    running: Vec<A>,
    last_data_bucket: i64,
}

/// The totals of `bucket`, if it holds data. A window's entering bucket is
/// usually the newest and its leaving bucket the oldest, so the ends are
/// tried before a search.
fn read<A>(buckets: &VecDeque<(i64, A)>, bucket: i64) -> Option<&A> {
    let (newest, totals) = buckets.back()?;
    if *newest <= bucket {
        return (*newest == bucket).then_some(totals);
    }
    let (oldest, totals) = buckets.front()?;
    if *oldest >= bucket {
        return (*oldest == bucket).then_some(totals);
    }
    buckets
        .binary_search_by_key(&bucket, |(index, _)| *index)
        .ok()
        .map(|position| &buckets[position].1)
}

/// All keys of one (KPI, scope) and the windows kept for them.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Windows<A> {
    shapes: Vec<WindowShape>,
    /// After this many closes past its last data a key's windows are all
    /// empty and it is skipped.
    horizon: i64,
    keys: Vec<KeyWindows<A>>,
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
        }
    }

    /// The bucket `bucket` of key `key`, created empty if needed.
    pub fn bucket_mut(&mut self, key: u32, bucket: i64) -> &mut A {
        let key = key as usize;
        while self.keys.len() <= key {
            self.keys.push(KeyWindows {
                buckets: VecDeque::new(),
                running: vec![A::default(); self.shapes.len()],
                last_data_bucket: i64::MIN,
            });
        }
        let windows = &mut self.keys[key];
        windows.last_data_bucket = windows.last_data_bucket.max(bucket);
        let buckets = &mut windows.buckets;
        // Events arrive in event-time order, so the newest bucket is the usual one.
        let position = match buckets.back() {
            Some((newest, _)) if *newest == bucket => buckets.len() - 1,
            Some((newest, _)) if *newest > bucket => {
                match buckets.binary_search_by_key(&bucket, |(index, _)| *index) {
                    Ok(position) => position,
                    Err(position) => {
                        buckets.insert(position, (bucket, A::default()));
                        position
                    }
                }
            }
            _ => {
                buckets.push_back((bucket, A::default()));
                buckets.len() - 1
            }
        };
        &mut buckets[position].1
    }

    /// Slides every window to end at tick index `tick_index` (the tick at
    /// `tick_index × tick`), whose bucket `tick_index - 1` is now complete.
    /// Calls `visit(key, shape position, totals)` for keys whose window holds data.
    pub fn close(&mut self, tick_index: i64, mut visit: impl FnMut(u32, usize, &A)) {
        for (key, windows) in self.keys.iter_mut().enumerate() {
            if windows.last_data_bucket == i64::MIN
                || tick_index > windows.last_data_bucket + self.horizon
            {
                if windows.buckets.capacity() > 0 {
                    // Idle past every window: every bucket has left.
                    windows.buckets = VecDeque::new();
                }
                continue;
            }
            let KeyWindows {
                buckets, running, ..
            } = windows;
            for (position, shape) in self.shapes.iter().enumerate() {
                let entering = tick_index - shape.offset - 1;
                let leaving = entering - shape.length;
                let running = &mut running[position];
                if let Some(totals) = read(buckets, entering) {
                    running.add(totals);
                }
                if let Some(totals) = read(buckets, leaving) {
                    running.subtract(totals);
                }
                visit(key as u32, position, running);
            }
            // No later close reads a bucket this old (the oldest read is
            // `tick_index + 1 - horizon`).
            while buckets
                .front()
                .is_some_and(|(bucket, _)| *bucket <= tick_index - self.horizon)
            {
                buckets.pop_front();
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
        windows.close(tick_index, |key, position, totals| {
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
        assert_eq!(samples_at(&mut windows, 11), vec![(0, 0, 1)]);
        ratio(&mut windows, 0, 11, 2);
        assert_eq!(samples_at(&mut windows, 12), vec![(0, 0, 3)]);
        assert_eq!(samples_at(&mut windows, 13), vec![(0, 0, 3), (0, 1, 1)]);
        assert_eq!(samples_at(&mut windows, 14), vec![(0, 0, 2), (0, 1, 3)]);
        assert_eq!(samples_at(&mut windows, 15), vec![(0, 1, 2)]);
        assert_eq!(samples_at(&mut windows, 16), vec![]);
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
