//! A time series that never holds more than `MAX_BUCKETS` buckets: when full,
//! neighbours merge and the bucket width doubles. A chart is ~1000 px wide,
//! so a month of minute ticks loses nothing visible, and each bucket keeps its
//! minimum and maximum so a spike across a threshold still shows.

use tripgate_model::Nanos;

const MAX_BUCKETS: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    pub start: Nanos,
    pub end: Nanos,
    pub min: f64,
    pub max: f64,
    /// The latest value in the bucket (what the line follows).
    pub last: f64,
}

#[derive(Clone, Debug, Default)]
pub struct Series {
    buckets: Vec<Bucket>,
    /// Ticks per bucket span, in nanoseconds; 0 until the first merge.
    width: Nanos,
}

impl Series {
    pub fn push(&mut self, tick: Nanos, value: f64) {
        if let Some(last) = self.buckets.last_mut() {
            if tick < last.start + self.width {
                last.min = last.min.min(value);
                last.max = last.max.max(value);
                last.last = value;
                last.end = tick;
                return;
            }
        }
        self.buckets.push(Bucket {
            start: tick,
            end: tick,
            min: value,
            max: value,
            last: value,
        });
        if self.buckets.len() > MAX_BUCKETS {
            self.merge();
        }
    }

    fn merge(&mut self) {
        let first = self.buckets[0].start;
        let last = self.buckets[self.buckets.len() - 1].start;
        // Twice the average spacing, so one merge halves the count.
        self.width = ((last - first) / MAX_BUCKETS as i64 * 2)
            .max(self.width * 2)
            .max(1);
        let mut merged: Vec<Bucket> = Vec::with_capacity(MAX_BUCKETS);
        for bucket in self.buckets.drain(..) {
            match merged.last_mut() {
                Some(open) if bucket.start < open.start + self.width => {
                    open.min = open.min.min(bucket.min);
                    open.max = open.max.max(bucket.max);
                    open.last = bucket.last;
                    open.end = bucket.end;
                }
                _ => merged.push(bucket),
            }
        }
        self.buckets = merged;
    }

    pub fn buckets(&self) -> &[Bucket] {
        &self.buckets
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// (min, max) over every bucket.
    pub fn range(&self) -> Option<(f64, f64)> {
        self.buckets.iter().fold(None, |range, b| match range {
            None => Some((b.min, b.max)),
            Some((low, high)) => Some((low.min(b.min), high.max(b.max))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_series_stays_bounded_and_keeps_its_extremes() {
        let mut series = Series::default();
        for tick in 0..100_000i64 {
            let value = if tick == 54_321 {
                99.0
            } else {
                (tick % 7) as f64
            };
            series.push(tick * 60, value);
        }
        assert!(series.buckets().len() <= MAX_BUCKETS);
        assert!(
            series.buckets().len() > MAX_BUCKETS / 4,
            "{}",
            series.buckets().len()
        );
        assert_eq!(
            series.range(),
            Some((0.0, 99.0)),
            "the spike survives downsampling"
        );
        assert_eq!(series.buckets()[0].start, 0);
        assert_eq!(series.buckets().last().unwrap().end, 99_999 * 60);
        let spike = series.buckets().iter().find(|b| b.max == 99.0).unwrap();
        assert!(spike.start <= 54_321 * 60 && 54_321 * 60 <= spike.end);
    }

    #[test]
    fn a_short_series_is_kept_as_is() {
        let mut series = Series::default();
        series.push(10, 1.0);
        series.push(20, 3.0);
        assert_eq!(series.buckets().len(), 2);
        assert_eq!(series.buckets()[1].last, 3.0);
    }
}
