//! Accepted events waiting for the watermark, released in event-time order
//! and then arrival order (contract section 9, "Event-time order").

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

use tripgate_model::{Event, Nanos};

/// An accepted event and where it sorts.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Pending {
    pub occurred_at: Nanos,
    pub arrival: u64,
    pub event: Event,
}

impl Pending {
    fn order_key(&self) -> (Nanos, u64) {
        (self.occurred_at, self.arrival)
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.order_key() == other.order_key()
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order_key().cmp(&other.order_key())
    }
}

/// Producers mostly send events in time order, so most arrive no earlier
/// than the last one queued: those go to the back of a queue, which is
/// already sorted (arrival numbers only grow). Only the others pay for a
/// heap, whose pushes and pops move the whole event `log n` times. The
/// next event is the smaller of the two heads.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct PendingEvents {
    in_order: VecDeque<Pending>,
    out_of_order: BinaryHeap<Reverse<Pending>>,
}

impl PendingEvents {
    /// `pending.arrival` must be larger than every arrival pushed before.
    pub fn push(&mut self, pending: Pending) {
        match self.in_order.back() {
            Some(last) if last.occurred_at > pending.occurred_at => {
                self.out_of_order.push(Reverse(pending));
            }
            _ => self.in_order.push_back(pending),
        }
    }

    /// The next event, if any is held.
    pub fn peek(&self) -> Option<&Pending> {
        if self.next_is_in_order()? {
            self.in_order.front()
        } else {
            self.out_of_order.peek().map(|Reverse(pending)| pending)
        }
    }

    /// Drops the next event (after `peek` and applying it in place).
    pub fn discard_next(&mut self) {
        drop(self.pop());
    }

    /// The events that arrived in time order, next first: nearly all of
    /// them, and in the order they will be released unless one that
    /// arrived out of order comes between.
    pub fn upcoming(&self) -> impl Iterator<Item = &Pending> + Clone {
        self.in_order.iter()
    }

    pub fn pop(&mut self) -> Option<Pending> {
        if self.next_is_in_order()? {
            self.in_order.pop_front()
        } else {
            self.out_of_order.pop().map(|Reverse(pending)| pending)
        }
    }

    /// Which head comes first; `None` when both are empty.
    fn next_is_in_order(&self) -> Option<bool> {
        match (self.in_order.front(), self.out_of_order.peek()) {
            (None, None) => None,
            (Some(_), None) => Some(true),
            (None, Some(_)) => Some(false),
            (Some(queued), Some(Reverse(heaped))) => Some(queued < heaped),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tripgate_model::EventBody;

    use super::*;

    fn pending(occurred_at: Nanos, arrival: u64) -> Pending {
        Pending {
            occurred_at,
            arrival,
            event: Event {
                event_id: format!("e{arrival}").into(),
                occurred_at,
                body: EventBody::Delivered {
                    order_id: "o".into(),
                },
            },
        }
    }

    proptest! {
        #[test]
        fn events_leave_sorted_by_time_then_arrival(
            times in proptest::collection::vec(0i64..20, 0..60),
            pops in proptest::collection::vec(0usize..4, 0..60),
        ) {
            let mut queue = PendingEvents::default();
            let mut expected: Vec<(Nanos, u64)> = Vec::new();
            for (arrival, (&time, &pop_count)) in times.iter().zip(pops.iter().chain(std::iter::repeat(&0))).enumerate() {
                queue.push(pending(time, arrival as u64));
                expected.push((time, arrival as u64));
                // Interleave pops with pushes, as the engine does.
                for _ in 0..pop_count {
                    expected.sort();
                    prop_assert_eq!(queue.peek().map(|next| next.occurred_at), expected.first().map(|(time, _)| *time));
                    if let Some(next) = queue.pop() {
                        let first = expected.remove(0);
                        prop_assert_eq!((next.occurred_at, next.arrival), first);
                    }
                }
            }
            expected.sort();
            while let Some(next) = queue.pop() {
                prop_assert_eq!((next.occurred_at, next.arrival), expected.remove(0));
            }
            prop_assert!(expected.is_empty());
            prop_assert_eq!(queue.peek().map(|next| next.occurred_at), None);
        }
    }
}
