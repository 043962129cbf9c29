//! Timestamp synchronisation across partitions (Kafka Streams' rule): the
//! next record handed on is the buffered head with the smallest timestamp,
//! and only once every partition either has a buffered head or is known to
//! be caught up and has received nothing for `idle`.
//!
//! Why: joins and windows need event-time order, and Kafka orders nothing
//! across partitions. Producers that set the message timestamp to the
//! event's `occurred_at` (as `tripgate produce` does) get their events fed
//! in time order, so no event becomes late merely because another partition
//! was fetched first, and a replay from the same offsets takes exactly the
//! same path. Pure and clock-injected, so it is tested without a broker.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A partition of one of the input topics; the topic index (the order of
/// `TopicsConfig::all`) breaks timestamp ties before the partition number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionId {
    pub topic_index: usize,
    pub partition: i32,
}

struct Lane<R> {
    buffer: VecDeque<(i64, R)>,
    /// The offset after the last record received.
    next_offset: i64,
    /// The high watermark as last known: records below it exist.
    end_offset: i64,
    /// When the buffer last became empty.
    empty_since: Instant,
    /// When the last record arrived (or tracking began): a caught-up lane
    /// holds the merge until it has been quiet for `idle`. Counting from the
    /// arrival rather than from when the buffer emptied matters at the end
    /// of a backlog: partitions run out one after another, each long after
    /// its last record arrived, and would otherwise each hold the others
    /// for `idle` in turn.
    last_arrival: Instant,
}

/// Partitions whose records exist but have not arrived hold the merge, so
/// that the order never depends on fetch timing. A partition whose last
/// offsets can never arrive (transaction markers) would hold it forever;
/// after this long it is passed over, with a warning.
pub const STALL_LIMIT: Duration = Duration::from_secs(300);

pub struct Merge<R> {
    /// Sorted by partition id. A vector rather than a map: a few dozen
    /// lanes side by side are found and read faster than through a tree's
    /// nodes.
    lanes: Vec<(PartitionId, Lane<R>)>,
    /// Each lane's head timestamp, in the order of `lanes`; `EMPTY` for an
    /// empty lane. Every record handed on compares all of them: side by
    /// side they are a few cache lines, where each lane's head is in its
    /// own buffer.
    heads: Vec<i64>,
    /// How many lanes are empty: only then can a lane hold the merge.
    empty: usize,
    idle: Duration,
}

/// The head of an empty lane, larger than any other: a record may have
/// this timestamp too, which `pop` allows for.
const EMPTY: i64 = i64::MAX;

impl<R> Merge<R> {
    pub fn new(idle: Duration) -> Merge<R> {
        Merge {
            lanes: Vec::new(),
            heads: Vec::new(),
            empty: 0,
            idle,
        }
    }

    /// Where `id`'s lane is, or would go to keep the lanes sorted.
    fn position(&self, id: PartitionId) -> Result<usize, usize> {
        self.lanes.binary_search_by_key(&id, |(id, _)| *id)
    }

    /// Starts tracking a partition read from `next_offset`, with records up
    /// to `end_offset` (exclusive) known to exist.
    pub fn add_partition(
        &mut self,
        id: PartitionId,
        next_offset: i64,
        end_offset: i64,
        now: Instant,
    ) {
        let lane = Lane {
            buffer: VecDeque::new(),
            next_offset,
            end_offset,
            empty_since: now,
            last_arrival: now,
        };
        match self.position(id) {
            Ok(index) => {
                if !self.lanes[index].1.buffer.is_empty() {
                    self.empty += 1;
                }
                self.lanes[index].1 = lane;
                self.heads[index] = EMPTY;
            }
            Err(index) => {
                self.lanes.insert(index, (id, lane));
                self.heads.insert(index, EMPTY);
                self.empty += 1;
            }
        }
    }

    /// Records that records below `end_offset` exist (a newer high watermark).
    pub fn observe_end(&mut self, id: PartitionId, end_offset: i64) {
        if let Ok(index) = self.position(id) {
            let lane = &mut self.lanes[index].1;
            lane.end_offset = lane.end_offset.max(end_offset);
        }
    }

    /// Buffers a record; records of one partition arrive in offset order.
    pub fn push(&mut self, id: PartitionId, offset: i64, timestamp: i64, record: R, now: Instant) {
        let Ok(index) = self.position(id) else {
            return;
        };
        let lane = &mut self.lanes[index].1;
        lane.last_arrival = now;
        lane.next_offset = offset + 1;
        lane.end_offset = lane.end_offset.max(offset + 1);
        if lane.buffer.is_empty() {
            self.heads[index] = timestamp;
            self.empty -= 1;
        }
        lane.buffer.push_back((timestamp, record));
    }

    pub fn buffered(&self, id: PartitionId) -> usize {
        self.position(id)
            .map_or(0, |index| self.lanes[index].1.buffer.len())
    }

    pub fn partitions(&self) -> impl Iterator<Item = PartitionId> + '_ {
        self.lanes.iter().map(|(id, _)| *id)
    }

    /// The next record in timestamp order, if the merge may decide now.
    pub fn pop(&mut self, now: Instant) -> Option<(PartitionId, R)> {
        if self.empty > 0 && self.held(now) {
            return None;
        }
        // The first of the smallest heads: lanes are in id order, so ties
        // go to the smallest id.
        let mut best = EMPTY;
        let mut index = usize::MAX;
        for (at, &head) in self.heads.iter().enumerate() {
            if head < best {
                best = head;
                index = at;
            }
        }
        if index == usize::MAX {
            // Every head is `EMPTY`: the first lane with a record, if any,
            // has the smallest id among records timestamped `EMPTY`.
            index = self
                .lanes
                .iter()
                .position(|(_, lane)| !lane.buffer.is_empty())?;
        }
        let (id, lane) = &mut self.lanes[index];
        let (_, record) = lane.buffer.pop_front()?;
        match lane.buffer.front() {
            Some((timestamp, _)) => self.heads[index] = *timestamp,
            None => {
                lane.empty_since = now;
                self.heads[index] = EMPTY;
                self.empty += 1;
            }
        }
        Some((*id, record))
    }

    /// Whether an empty lane holds the merge: one caught up that received
    /// a record less than `idle` ago, or one whose records exist but have
    /// not arrived (for up to `STALL_LIMIT`).
    fn held(&self, now: Instant) -> bool {
        for (id, lane) in &self.lanes {
            if !lane.buffer.is_empty() {
                continue;
            }
            let caught_up = lane.next_offset >= lane.end_offset;
            if caught_up {
                if now.saturating_duration_since(lane.last_arrival) < self.idle {
                    return true;
                }
                continue;
            }
            if now.saturating_duration_since(lane.empty_since) < STALL_LIMIT {
                return true;
            }
            tracing::warn!(
                topic_index = id.topic_index,
                partition = id.partition,
                next_offset = lane.next_offset,
                end_offset = lane.end_offset,
                "partition stalled below its high watermark; merging without it"
            );
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use proptest::strategy::Just;

    use super::*;

    fn id(topic_index: usize, partition: i32) -> PartitionId {
        PartitionId {
            topic_index,
            partition,
        }
    }

    const IDLE: Duration = Duration::from_millis(500);

    #[test]
    fn heads_are_taken_in_timestamp_order_ties_by_topic_then_partition() {
        let start = Instant::now();
        let mut merge = Merge::new(IDLE);
        // Added out of order: ties still go by topic, then partition.
        for lane in [id(1, 0), id(0, 1), id(0, 0)] {
            merge.add_partition(lane, 0, 2, start);
        }
        merge.push(id(0, 0), 0, 10, "a10", start);
        merge.push(id(0, 0), 1, 30, "a30", start);
        merge.push(id(0, 1), 0, 20, "b20", start);
        merge.push(id(0, 1), 1, 30, "b30", start);
        merge.push(id(1, 0), 0, 5, "c5", start);
        merge.push(id(1, 0), 1, 30, "c30", start);
        let order: Vec<&str> = std::iter::from_fn(|| merge.pop(start).map(|(_, r)| r)).collect();
        assert_eq!(order, ["c5", "a10", "b20", "a30"]);
        // Partition (0, 0) is drained and caught up: the others wait until
        // it has been quiet for `idle`.
        let later = start + IDLE;
        assert_eq!(merge.pop(later - Duration::from_millis(1)), None);
        assert_eq!(merge.pop(later).map(|(_, r)| r), Some("b30"));
        // (0, 1) is drained too, but its last record came `idle` ago.
        assert_eq!(merge.pop(later).map(|(_, r)| r), Some("c30"));
    }

    #[test]
    fn partitions_running_out_after_a_backlog_hold_the_merge_only_for_fresh_records() {
        let start = Instant::now();
        let mut merge = Merge::new(IDLE);
        for lane in [id(0, 0), id(0, 1)] {
            merge.add_partition(lane, 0, 2, start);
        }
        // The whole backlog arrived at the start and sat in the buffers.
        merge.push(id(0, 0), 0, 10, "a10", start);
        merge.push(id(0, 0), 1, 20, "a20", start);
        merge.push(id(0, 1), 0, 15, "b15", start);
        merge.push(id(0, 1), 1, 40, "b40", start);
        let much_later = start + 10 * IDLE;
        let order: Vec<&str> =
            std::iter::from_fn(|| merge.pop(much_later).map(|(_, r)| r)).collect();
        assert_eq!(order, ["a10", "b15", "a20", "b40"]);
        // A record that arrives now restarts the lane's quiet period.
        merge.observe_end(id(0, 0), 3);
        merge.push(id(0, 0), 2, 50, "a50", much_later);
        merge.observe_end(id(0, 1), 3);
        merge.push(id(0, 1), 2, 60, "b60", much_later);
        assert_eq!(merge.pop(much_later).map(|(_, r)| r), Some("a50"));
        assert_eq!(merge.pop(much_later + IDLE / 2), None);
        assert_eq!(merge.pop(much_later + IDLE).map(|(_, r)| r), Some("b60"));
    }

    #[test]
    fn a_partition_with_unfetched_records_holds_the_merge() {
        let start = Instant::now();
        let mut merge = Merge::new(IDLE);
        merge.add_partition(id(0, 0), 0, 1, start);
        merge.add_partition(id(0, 1), 0, 1, start);
        merge.push(id(0, 0), 0, 10, "a", start);
        // Records exist in partition 1 but have not arrived: wait, however long.
        assert!(merge.pop(start + Duration::from_secs(60)).is_none());
        merge.push(id(0, 1), 0, 5, "b", start);
        assert_eq!(merge.pop(start).map(|(_, r)| r), Some("b"));
    }

    #[test]
    fn a_caught_up_empty_partition_holds_the_merge_only_for_idle() {
        let start = Instant::now();
        let mut merge = Merge::new(IDLE);
        merge.add_partition(id(0, 0), 0, 1, start);
        merge.add_partition(id(2, 0), 7, 7, start);
        merge.push(id(0, 0), 0, 10, "a", start);
        assert!(merge.pop(start + Duration::from_millis(100)).is_none());
        assert_eq!(merge.pop(start + IDLE).map(|(_, r)| r), Some("a"));
    }

    #[test]
    fn a_partition_stalled_below_its_end_is_passed_over_after_the_limit() {
        let start = Instant::now();
        let mut merge = Merge::new(IDLE);
        merge.add_partition(id(0, 0), 0, 1, start);
        merge.add_partition(id(0, 1), 3, 4, start);
        merge.push(id(0, 0), 0, 10, "a", start);
        assert!(merge.pop(start + STALL_LIMIT / 2).is_none());
        assert_eq!(merge.pop(start + STALL_LIMIT).map(|(_, r)| r), Some("a"));
    }

    proptest::proptest! {
        /// Whatever the order of pushes and pops, each record handed on is
        /// the smallest (timestamp, partition) among the lanes' heads at
        /// that moment, timestamps at the extremes included.
        #[test]
        fn each_pop_takes_the_smallest_head(
            steps in proptest::collection::vec(
                (0usize..5, proptest::prop_oneof![
                    Just(i64::MIN), Just(i64::MAX), -3i64..3, Just(EMPTY - 1)
                ], proptest::bool::ANY),
                1..200,
            ),
        ) {
            let start = Instant::now();
            // Long past every lane's quiet period: no empty lane holds.
            let later = start + 2 * IDLE;
            let lanes: Vec<PartitionId> = (0..5).map(|n| id(n % 2, n as i32)).collect();
            let mut merge = Merge::new(IDLE);
            let mut model: Vec<VecDeque<(i64, usize)>> = vec![VecDeque::new(); lanes.len()];
            let mut offsets = vec![0i64; lanes.len()];
            let mut serial = 0;
            for lane in &lanes {
                merge.add_partition(*lane, 0, 0, start);
            }
            for (lane, timestamp, pop) in steps {
                if pop {
                    let smallest = (0..lanes.len())
                        .filter_map(|n| model[n].front().map(|(at, _)| (*at, lanes[n], n)))
                        .min();
                    let expected = smallest.map(|(_, id, n)| (id, model[n].pop_front().unwrap().1));
                    proptest::prop_assert_eq!(merge.pop(later), expected);
                } else {
                    merge.push(lanes[lane], offsets[lane], timestamp, serial, start);
                    model[lane].push_back((timestamp, serial));
                    offsets[lane] += 1;
                    serial += 1;
                }
            }
        }
    }
}
