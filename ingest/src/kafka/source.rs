//! The input source: one consumer assigned every partition of the input
//! topics, merged in timestamp order ([`Merge`]) and read on the engine's
//! own thread ([`SourceHandle::read`]). The merge holds up to
//! `max_buffered` records per partition, topped up from the partition's own
//! fetch queue when it holds less than half of that; while the engine is
//! busy nothing is taken, and librdkafka's bounded prefetch per partition
//! then stops fetching: a slow engine slows the consumer, it never grows
//! memory.
//!
//! Partitions are assigned, not subscribed: joins need every event of an
//! order, so one instance reads every partition (see docs/ARCHITECTURE.md,
//! "Live mode and durability", for splitting by co-partitioning later). The
//! group id is still set so committed offsets show up in lag tools.
//!
//! Messages are taken from librdkafka a batch at a time, each partition
//! from its own queue ([`FetchQueues`]): rdkafka's one-message poll cost
//! more than the message's copy.
//!
//! While in the merge, a message's key and payload wait in its partition's
//! [`ByteQueue`], and the engine reads them from there: a record is lent,
//! never copied again. Until the twelfth pass a thread of its own merged
//! the records and copied them into batches for the engine; copying them
//! into memory the other core had last used, and its reading them back
//! from this one, cost more than the merge itself (docs/BENCHMARKS.md).

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tripgate_model::config::KafkaConfig;

use super::client::{client_config, ClientHealth, HealthContext};
use super::fetch::{topic_position, FetchQueues, Fetched};
use super::merge::{Merge, PartitionId};
use super::KafkaSourceError;

/// One input message, lent for the length of a [`SourceHandle::read`]
/// callback.
#[derive(Clone, Copy, Debug)]
pub struct SourceRecord<'a> {
    pub topic: &'a str,
    /// Which input topic: an index into [`SourceHandle::topics`].
    pub topic_index: usize,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: Option<i64>,
    pub key: Option<&'a [u8]>,
    pub payload: Option<&'a [u8]>,
}

pub struct SourceOptions {
    /// Input topics; the index is the merge's tie-break.
    pub topics: Vec<String>,
    /// Where to resume per (topic, partition): the checkpoint's next
    /// offsets. Partitions not listed start from the beginning.
    pub start_offsets: BTreeMap<(String, i32), i64>,
    pub idle: Duration,
    pub metadata_timeout: Duration,
    /// Records the merge holds per partition at most: a partition is
    /// topped up from its queue when it holds less than half of that.
    pub max_buffered: usize,
}

pub struct SourceHandle {
    /// The input topics, in the order of [`SourceRecord::topic_index`].
    pub topics: Vec<String>,
    /// Every assigned partition, for readiness and metrics.
    pub partitions: Vec<(String, i32)>,
    consumer: Arc<BaseConsumer<HealthContext>>,
    health: Arc<ClientHealth>,
    merge: Merge<Buffered>,
    /// The bytes of each partition's buffered messages, in the merge's
    /// order of partitions, which is also the order of the fetch queues.
    bytes: Vec<(PartitionId, ByteQueue)>,
    fetch: FetchQueues,
    max_buffered: usize,
    last_refresh: Instant,
    last_error_log: Option<Instant>,
}

/// How often the statistics' high watermarks are read into the merge.
const END_REFRESH: Duration = Duration::from_millis(100);

/// The longest a wait for input sleeps before the merge looks again: an
/// idle partition's grace period must be noticed without a message.
const IDLE_CHECK: Duration = Duration::from_millis(20);

impl SourceHandle {
    /// Commits next offsets to the group. Asynchronous: the checkpoint is
    /// what restarts read, the group's offsets are for operators.
    pub fn commit(&self, offsets: &BTreeMap<(String, i32), i64>) -> Result<(), KafkaSourceError> {
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in offsets {
            list.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
        }
        if list.count() > 0 {
            self.consumer.commit(&list, CommitMode::Async)?;
        }
        Ok(())
    }

    /// Hands up to `limit` records to `each` in timestamp order, waiting up
    /// to `wait` for the merge to release the first; returns how many were
    /// handed on. The first error `each` returns ends the call; its record
    /// counts as read.
    pub fn read<E>(
        &mut self,
        wait: Duration,
        limit: usize,
        mut each: impl FnMut(SourceRecord<'_>) -> Result<(), E>,
    ) -> Result<usize, E> {
        let deadline = Instant::now() + wait;
        loop {
            self.serve_consumer();
            if self.refill() > 0 {
                self.health.mark_reachable();
            }
            if self.last_refresh.elapsed() >= END_REFRESH {
                self.refresh_ends();
                self.last_refresh = Instant::now();
            }
            let now = Instant::now();
            let mut handed = 0;
            while handed < limit {
                let Some((id, buffered)) = self.merge.pop(now) else {
                    break;
                };
                handed += 1;
                let Ok(index) = self.bytes.binary_search_by_key(&id, |(id, _)| *id) else {
                    unreachable!("a merged partition has bytes");
                };
                let queue = &mut self.bytes[index].1;
                let key = queue.take(buffered.key);
                let payload = queue.take(buffered.payload);
                each(SourceRecord {
                    topic: &self.topics[id.topic_index],
                    topic_index: id.topic_index,
                    partition: id.partition,
                    offset: buffered.offset,
                    timestamp_ms: buffered.timestamp_ms,
                    key: key.map(|range| &queue.bytes[range]),
                    payload: payload.map(|range| &queue.bytes[range]),
                })?;
            }
            if handed > 0 {
                return Ok(handed);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(0);
            }
            // Nothing merged: until a partition that had nothing receives
            // a message, or the next look at the idle partitions.
            self.fetch.wait(left.min(IDLE_CHECK));
        }
    }

    /// Tops up every partition holding less than half of `max_buffered`
    /// records from its queue, without waiting; returns how many were
    /// taken. The records of one turn arrive within microseconds of each
    /// other: one clock read serves them all.
    fn refill(&mut self) -> usize {
        let mut arrived: Option<Instant> = None;
        let mut taken = 0;
        // The fetch queues are in the order of `bytes`.
        for index in 0..self.bytes.len() {
            let (id, queue) = &mut self.bytes[index];
            let id = *id;
            queue.settle();
            let held = self.merge.buffered(id);
            if 2 * held >= self.max_buffered {
                continue;
            }
            let (merge, bytes, last_error_log) =
                (&mut self.merge, &mut self.bytes, &mut self.last_error_log);
            taken += self
                .fetch
                .take(index, self.max_buffered - held, |result| match result {
                    Ok(message) => {
                        let at = *arrived.get_or_insert_with(Instant::now);
                        buffer(merge, bytes, &message, at);
                    }
                    Err(error) => warn_quietly(&error, last_error_log),
                });
        }
        taken
    }

    /// Serves the consumer's own queue without waiting: statistics, errors
    /// and commit results. Never messages, which go to the fetch queues,
    /// but one that came would be buffered all the same.
    fn serve_consumer(&mut self) {
        while let Some(result) = self.consumer.poll(Duration::ZERO) {
            match result {
                Ok(message) => {
                    let fetched = Fetched {
                        topic_index: topic_position(&self.topics, message.topic().as_bytes()),
                        partition: message.partition(),
                        offset: message.offset(),
                        timestamp_ms: message.timestamp().to_millis(),
                        key: message.key(),
                        payload: message.payload(),
                    };
                    buffer(&mut self.merge, &mut self.bytes, &fetched, Instant::now());
                }
                Err(error) => warn_quietly(&error, &mut self.last_error_log),
            }
        }
    }

    fn refresh_ends(&mut self) {
        for index in 0..self.bytes.len() {
            let id = self.bytes[index].0;
            let topic = &self.topics[id.topic_index];
            if let Some(high) = self.health.high_watermark(topic, id.partition) {
                self.merge.observe_end(id, high);
            }
        }
    }
}

/// Buffers a message: its bytes in its partition's queue, the rest in the
/// merge.
fn buffer(
    merge: &mut Merge<Buffered>,
    bytes: &mut [(PartitionId, ByteQueue)],
    message: &Fetched<'_>,
    arrived: Instant,
) {
    let id = PartitionId {
        topic_index: message.topic_index,
        partition: message.partition,
    };
    let Ok(index) = bytes.binary_search_by_key(&id, |(id, _)| *id) else {
        return;
    };
    let queue = &mut bytes[index].1;
    let key = queue.push(message.key);
    let payload = queue.push(message.payload);
    let buffered = Buffered {
        offset: message.offset,
        timestamp_ms: message.timestamp_ms,
        key,
        payload,
    };
    let timestamp = message.timestamp_ms.unwrap_or(i64::MIN);
    merge.push(id, message.offset, timestamp, buffered, arrived);
}

/// librdkafka's prefetch of messages not yet taken, per partition (each
/// has its own queue, see `fetch`), smaller than its defaults (100,000
/// messages, up to 64 MiB): about 1 MiB or 1,000 messages, refilled 1 ms
/// after it drops below that (the default waits 1 s). With the defaults a
/// backlog is fetched far ahead of the engine, into fresh memory the kernel
/// zeroes page by page, and each message is read back long after it left
/// the cache. Catch-up takes no longer: the engine, not the fetching, sets
/// the pace (docs/BENCHMARKS.md, live mode).
///
/// And fetch requests the broker holds for at most 50 ms, not 500, when
/// none of their partitions has anything new. librdkafka has one fetch
/// request out per broker, and in a catch-up the partitions fetched to
/// their end early (a small topic's) are asked again as their queues
/// drain: that request waited at the broker for the full 500 ms while the
/// other partitions, their queues run dry, could not be fetched, and the
/// merge waited on them (a 7-day catch-up took 3.7 to 5.7 s instead of
/// 2.1 s; the cause is inferred, docs/BENCHMARKS.md, eleventh pass). The
/// cost is a fetch every 50 ms per broker while input is idle.
const PREFETCH: [(&str, &str); 4] = [
    ("queued.min.messages", "1000"),
    ("queued.max.messages.kbytes", "1024"),
    ("fetch.queue.backoff.ms", "1"),
    ("fetch.wait.max.ms", "50"),
];

/// The consumer's settings: the shared ones, `PREFETCH` unless the
/// passthrough sets them, and those tripgate owns.
fn consumer_config(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = client_config(kafka);
    for (key, value) in PREFETCH {
        if config.get(key).is_none() {
            config.set(key, value);
        }
    }
    config
        .set("group.id", &kafka.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false");
    config
}

/// Discovers the partitions and assigns them at the start offsets.
/// Blocking: call it from a blocking thread.
pub fn start_source(
    kafka: &KafkaConfig,
    health: Arc<ClientHealth>,
    options: SourceOptions,
) -> Result<SourceHandle, KafkaSourceError> {
    let context = HealthContext {
        health: health.clone(),
        role: "consumer",
        records_lag: true,
    };
    let consumer: Arc<BaseConsumer<HealthContext>> =
        Arc::new(consumer_config(kafka).create_with_context(context)?);
    let now = Instant::now();
    let mut merge = Merge::new(options.idle);
    let mut bytes = Vec::new();
    let mut assignment = TopicPartitionList::new();
    let mut partitions = Vec::new();
    let mut fetched = Vec::new();
    for (topic_index, topic) in options.topics.iter().enumerate() {
        let metadata = consumer.fetch_metadata(Some(topic), options.metadata_timeout)?;
        let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
            return Err(KafkaSourceError::Topic {
                topic: topic.clone(),
                problem: "not in the cluster's metadata".into(),
            });
        };
        if let Some(error) = found.error() {
            return Err(KafkaSourceError::Topic {
                topic: topic.clone(),
                problem: format!("{:?}", rdkafka::error::RDKafkaErrorCode::from(error)),
            });
        }
        let mut numbers: Vec<i32> = found.partitions().iter().map(|p| p.id()).collect();
        numbers.sort_unstable();
        for partition in numbers {
            let (low, high) =
                consumer.fetch_watermarks(topic, partition, options.metadata_timeout)?;
            let start = options
                .start_offsets
                .get(&(topic.clone(), partition))
                .copied();
            let next = start.unwrap_or(low).max(low);
            assignment.add_partition_offset(topic, partition, Offset::Offset(next))?;
            let id = PartitionId {
                topic_index,
                partition,
            };
            merge.add_partition(id, next, high, now);
            bytes.push((id, ByteQueue::default()));
            partitions.push((topic.clone(), partition));
            fetched.push((topic_index, partition));
            tracing::info!(topic = %topic, partition, start = next, end = high, "partition assigned");
        }
    }
    let fetch = FetchQueues::new(
        consumer.clone(),
        options.topics.clone(),
        &fetched,
        TAKE_AT_ONCE,
    )?;
    consumer.assign(&assignment)?;
    health.mark_reachable();
    Ok(SourceHandle {
        topics: options.topics,
        partitions,
        consumer,
        health,
        merge,
        bytes,
        fetch,
        max_buffered: options.max_buffered.max(2),
        last_refresh: Instant::now(),
        last_error_log: None,
    })
}

/// Messages taken from a fetch queue in one call at most.
const TAKE_AT_ONCE: usize = 512;

/// Logs a consumer error, at most one per 10 s: librdkafka repeats an
/// error every few hundred milliseconds during an outage.
fn warn_quietly(error: &KafkaError, last_logged: &mut Option<Instant>) {
    let quiet = last_logged.is_some_and(|at| at.elapsed() < Duration::from_secs(10));
    if !quiet {
        tracing::warn!(error = %error, "kafka consumer error");
        *last_logged = Some(Instant::now());
    }
}

/// A message waiting in the merge; its key and payload are in its
/// partition's [`ByteQueue`].
#[derive(Clone, Copy, Debug)]
struct Buffered {
    offset: i64,
    timestamp_ms: Option<i64>,
    /// Lengths of the key and payload; `None` for an absent one.
    key: Option<usize>,
    payload: Option<usize>,
}

/// The bytes of one partition's buffered messages, first in first out,
/// in one buffer: held here, the merge's messages cost no allocation each,
/// and the engine reads each record's bytes where they are.
#[derive(Default)]
struct ByteQueue {
    bytes: Vec<u8>,
    /// Where the unread bytes start.
    start: usize,
}

/// Room an emptied queue keeps: past it, the rest goes back.
const KEPT_QUEUE_BYTES: usize = 1 << 20;

impl ByteQueue {
    /// Appends `bytes`; their length, or `None` when absent.
    fn push(&mut self, bytes: Option<&[u8]>) -> Option<usize> {
        let bytes = bytes?;
        // Read bytes are dropped when they are most of the buffer, so a
        // queue that never empties does not grow without end.
        if self.start > 0 && self.start >= self.bytes.len() / 2 {
            self.bytes.drain(..self.start);
            self.start = 0;
        }
        self.bytes.extend_from_slice(bytes);
        Some(bytes.len())
    }

    /// Where the next `length` bytes are, now read; `None` for an absent
    /// message part. They stay in place until the next `push` or `settle`.
    fn take(&mut self, length: Option<usize>) -> Option<Range<usize>> {
        let start = self.start;
        self.start += length?;
        Some(start..self.start)
    }

    /// Empties a queue whose bytes have all been read, keeping at most
    /// `KEPT_QUEUE_BYTES` of room.
    fn settle(&mut self) {
        if self.start == self.bytes.len() {
            self.bytes.clear();
            self.start = 0;
            self.bytes.shrink_to(KEPT_QUEUE_BYTES);
        }
    }
}

#[cfg(test)]
mod tests {
    use tripgate_model::config::Config;

    use super::{consumer_config, topic_position, ByteQueue, KEPT_QUEUE_BYTES};

    #[test]
    fn the_prefetch_is_small_unless_the_passthrough_tunes_it() {
        let settings = |client: &str| {
            let text = format!("[kafka]\nbootstrap = \"localhost:9092\"\n[kafka.client]\n{client}");
            consumer_config(&Config::from_toml(&text).expect("valid config").kafka)
        };
        let default = settings("");
        assert_eq!(default.get("queued.min.messages"), Some("1000"));
        assert_eq!(default.get("queued.max.messages.kbytes"), Some("1024"));
        assert_eq!(default.get("fetch.queue.backoff.ms"), Some("1"));
        assert_eq!(default.get("fetch.wait.max.ms"), Some("50"));
        assert_eq!(default.get("group.id"), Some("tripgate"));
        let tuned = settings("queued_max_messages_kbytes = 65536");
        assert_eq!(tuned.get("queued.max.messages.kbytes"), Some("65536"));
        assert_eq!(tuned.get("queued.min.messages"), Some("1000"));
    }

    #[test]
    fn a_topic_is_known_by_its_name() {
        let topics = vec!["shop-orders".to_string(), "shop-tickets".to_string()];
        assert_eq!(topic_position(&topics, b"shop-orders"), 0);
        assert_eq!(topic_position(&topics, b"shop-tickets"), 1);
        assert_eq!(
            topic_position(&topics, b"shop-orders-eu"),
            0,
            "unknown: the first"
        );
    }

    #[test]
    fn a_byte_queue_gives_back_each_message_as_it_was() {
        let mut queue = ByteQueue::default();
        let first = queue.push(Some(b"first"));
        let absent = queue.push(None);
        let empty = queue.push(Some(b""));
        assert_eq!((first, absent, empty), (Some(5), None, Some(0)));
        let read = |queue: &mut ByteQueue, length| {
            let range = queue.take(length)?;
            Some(queue.bytes[range].to_vec())
        };
        assert_eq!(read(&mut queue, first).as_deref(), Some(&b"first"[..]));
        // Pushed while read bytes are held: those are dropped first.
        let second = queue.push(Some(b"second"));
        assert_eq!(read(&mut queue, absent), None);
        assert_eq!(read(&mut queue, empty).as_deref(), Some(&b""[..]));
        assert_eq!(read(&mut queue, second).as_deref(), Some(&b"second"[..]));
        queue.settle();
        assert_eq!((queue.bytes.len(), queue.start), (0, 0), "emptied");
        // Many messages in and out, never all read: the buffer stays
        // within twice what is unread.
        let mut lengths = std::collections::VecDeque::new();
        for round in 0..1000usize {
            let message = vec![(round % 251) as u8; round % 37];
            lengths.push_back((queue.push(Some(&message)), message));
            if round % 3 != 0 {
                let (length, message) = lengths.pop_front().unwrap();
                assert_eq!(read(&mut queue, length), Some(message));
            }
            queue.settle();
            let unread: usize = lengths.iter().map(|(_, m)| m.len()).sum();
            assert_eq!(queue.bytes.len() - queue.start, unread);
            assert!(queue.bytes.len() <= 2 * unread + 2 * 37, "round {round}");
        }
        // A queue read to its end gives its room back beyond what it keeps.
        let big = vec![7u8; 3 * KEPT_QUEUE_BYTES];
        let length = queue.push(Some(&big));
        while let Some((length, _)) = lengths.pop_front() {
            queue.take(length);
        }
        queue.take(length);
        queue.settle();
        assert!(queue.bytes.capacity() <= KEPT_QUEUE_BYTES);
    }
}
