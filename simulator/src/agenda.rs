//! The time-ordered queue of everything the simulation has scheduled.
//!
//! A plain binary heap spent most of the run on cache misses: follow-ups are scheduled hours
//! to weeks ahead (deliveries, refunds, chargebacks), so the heap held hundreds of thousands
//! of entries. Entries due beyond the next few minutes now wait in coarse buckets and join
//! the heap only when simulated time gets near them; the heap stays small and the order is
//! unchanged: by time, then by scheduling order.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

/// Width of a far-future bucket.
const BUCKET_NANOS: i64 = 10 * 60 * 1_000_000_000;

struct Entry<T> {
    at: i64,
    sequence: u64,
    item: T,
}

// Reversed so that `BinaryHeap`, a max-heap, pops the earliest entry first.
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Entry<T>) -> Ordering {
        (other.at, other.sequence).cmp(&(self.at, self.sequence))
    }
}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Entry<T>) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Entry<T>) -> bool {
        (self.at, self.sequence) == (other.at, other.sequence)
    }
}
impl<T> Eq for Entry<T> {}

pub(crate) struct Agenda<T> {
    /// Every entry due before `horizon`.
    near: BinaryHeap<Entry<T>>,
    /// Entries due at or after `horizon`, by bucket start (`horizon` plus whole buckets).
    far: BTreeMap<i64, Vec<Entry<T>>>,
    horizon: i64,
    next_sequence: u64,
}

impl<T> Agenda<T> {
    pub(crate) fn new(start: i64) -> Agenda<T> {
        Agenda {
            near: BinaryHeap::new(),
            far: BTreeMap::new(),
            horizon: start,
            next_sequence: 0,
        }
    }

    pub(crate) fn push(&mut self, at: i64, item: T) {
        let entry = Entry {
            at,
            sequence: self.next_sequence,
            item,
        };
        self.next_sequence += 1;
        if at < self.horizon {
            self.near.push(entry);
        } else {
            let bucket = self.horizon + (at - self.horizon) / BUCKET_NANOS * BUCKET_NANOS;
            self.far.entry(bucket).or_default().push(entry);
        }
    }

    /// The earliest entry due at or before `until`, if any.
    pub(crate) fn pop_due(&mut self, until: i64) -> Option<(i64, T)> {
        loop {
            if self.near.peek().is_some_and(|next| next.at <= until) {
                return self.near.pop().map(|entry| (entry.at, entry.item));
            }
            if self.horizon > until {
                return None;
            }
            // Nothing near is due, but the far buckets may hold something before `until`.
            let bucket = self.horizon;
            self.horizon += BUCKET_NANOS;
            if let Some(entries) = self.far.remove(&bucket) {
                self.near.extend(entries);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_scheduling_order_across_buckets() {
        let mut agenda = Agenda::new(0);
        let hour = 3_600_000_000_000;
        for (at, label) in [
            (5 * hour, "e"),
            (1, "a"),
            (hour, "c"),
            (1, "b"),
            (5 * hour, "f"),
            (2 * hour + 7, "d"),
        ] {
            agenda.push(at, label);
        }
        assert_eq!(agenda.pop_due(0), None);
        let mut order = Vec::new();
        while let Some((_, label)) = agenda.pop_due(i64::MAX / 2) {
            order.push(label);
            if label == "c" {
                agenda.push(hour + 1, "c2"); // scheduled while running, before later buckets
            }
        }
        assert_eq!(order, ["a", "b", "c", "c2", "d", "e", "f"]);
    }
}
