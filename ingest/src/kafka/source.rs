//! The input source: one consumer assigned every partition of the input
//! topics, read on its own thread, merged in timestamp order ([`Merge`]),
//! and handed on in batches through a bounded channel. The merge holds up
//! to `max_buffered` records per partition, topped up from the partition's
//! own fetch queue when it holds less than half of that; a full channel
//! stops the merge, so nothing more is taken, and librdkafka's bounded
//! prefetch per partition then stops fetching: a slow engine slows the
//! consumer, it never grows memory.
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
//! [`ByteQueue`]. Records are filled from there as batches are made, and go
//! back to the source once processed ([`SourceHandle::recycle`]) for their
//! buffers to be refilled: without that, each record cost two allocations
//! on this thread and two frees on the engine's, and jemalloc's bookkeeping
//! of memory freed by another thread than the one that allocated it was a
//! tenth of a catch-up's CPU time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
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

/// One input message, owned.
#[derive(Clone, Debug, Default)]
pub struct SourceRecord {
    /// Which input topic: an index into [`SourceHandle::topics`].
    pub topic_index: usize,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
}

pub struct SourceOptions {
    /// Input topics; the index is the merge's tie-break.
    pub topics: Vec<String>,
    /// Where to resume per (topic, partition): the checkpoint's next
    /// offsets. Partitions not listed start from the beginning.
    pub start_offsets: BTreeMap<(String, i32), i64>,
    pub idle: Duration,
    pub metadata_timeout: Duration,
    /// Records per batch sent to the engine.
    pub batch_size: usize,
    /// Batches in flight between the source and the engine.
    pub channel_batches: usize,
    /// Records the merge holds per partition at most: a partition is
    /// topped up from its queue when it holds less than half of that.
    pub max_buffered: usize,
}

pub struct SourceHandle {
    pub records: Receiver<Vec<SourceRecord>>,
    /// The input topics, in the order of [`SourceRecord::topic_index`].
    pub topics: Vec<String>,
    /// Processed batches on their way back to be refilled.
    returns: SyncSender<Vec<SourceRecord>>,
    /// Every assigned partition, for readiness and metrics.
    pub partitions: Vec<(String, i32)>,
    stop: Arc<AtomicBool>,
    consumer: Arc<BaseConsumer<HealthContext>>,
    thread: Option<JoinHandle<()>>,
}

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

    /// Hands processed records back for their buffers to be reused. Never
    /// blocks: when the source has enough spares already, they are dropped.
    pub fn recycle(&self, batch: Vec<SourceRecord>) {
        let _ = self.returns.try_send(batch);
    }

    /// Stops polling and waits for the thread; records in the channel are
    /// left unread.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // Unblocks a thread waiting on a full channel.
            drop(std::mem::replace(&mut self.records, sync_channel(1).1));
            let _ = thread.join();
        }
    }
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

/// Discovers the partitions, assigns them at the start offsets and starts
/// the polling thread. Blocking: call it from a blocking thread.
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
        options.batch_size.max(1),
    )?;
    consumer.assign(&assignment)?;
    health.mark_reachable();
    let (sender, records) = sync_channel(options.channel_batches.max(1));
    // Room for every batch that can be out at once: in the channel, being
    // processed, and waiting to be sent.
    let (returns, returned) = sync_channel(options.channel_batches.max(1) + 2);
    let stop = Arc::new(AtomicBool::new(false));
    let poller = Poller {
        consumer: consumer.clone(),
        health,
        topics: options.topics.clone(),
        merge,
        bytes,
        returned,
        spare: Vec::new(),
        empties: Vec::new(),
        batch_size: options.batch_size.max(1),
        max_buffered: options.max_buffered.max(2),
        stop: stop.clone(),
    };
    let thread = std::thread::Builder::new()
        .name("kafka-source".into())
        .spawn(move || poller.run(fetch, sender))?;
    Ok(SourceHandle {
        records,
        topics: options.topics,
        returns,
        partitions,
        stop,
        consumer,
        thread: Some(thread),
    })
}

struct Poller {
    consumer: Arc<BaseConsumer<HealthContext>>,
    health: Arc<ClientHealth>,
    topics: Vec<String>,
    merge: Merge<Buffered>,
    /// The bytes of each partition's buffered messages, in the merge's
    /// order of partitions, which is also the order of the fetch queues.
    bytes: Vec<(PartitionId, ByteQueue)>,
    returned: Receiver<Vec<SourceRecord>>,
    /// Processed records whose buffers the next messages are copied into.
    spare: Vec<SourceRecord>,
    /// Emptied spares, whose room holds the next batches: a batch is too
    /// big for jemalloc's thread cache, and allocating one per batch made
    /// this thread purge and fault in pages all the time.
    empties: Vec<Vec<SourceRecord>>,
    batch_size: usize,
    max_buffered: usize,
    stop: Arc<AtomicBool>,
}

/// How often the statistics' high watermarks are read into the merge.
const END_REFRESH: Duration = Duration::from_millis(100);

impl Poller {
    fn run(mut self, mut fetch: FetchQueues, sender: SyncSender<Vec<SourceRecord>>) {
        // A batch the engine had no room for yet. The consumer's queue is
        // served meanwhile (statistics and error callbacks come through it,
        // and /readyz depends on them), but nothing more is taken from the
        // partitions' queues: the records in the merge are enough to go on
        // with, and librdkafka's bounded prefetch holds the rest.
        let mut waiting: Option<Vec<SourceRecord>> = None;
        let mut last_refresh = Instant::now();
        let mut last_error_log: Option<Instant> = None;
        while !self.stop.load(Ordering::Relaxed) {
            let mut busy = false;
            if waiting.is_some() {
                self.serve_consumer(Duration::from_millis(1), &mut last_error_log);
            } else {
                self.serve_consumer(Duration::ZERO, &mut last_error_log);
                if self.refill(&mut fetch, &mut last_error_log) > 0 {
                    self.health.mark_reachable();
                    busy = true;
                }
            }
            if last_refresh.elapsed() >= END_REFRESH {
                self.refresh_ends();
                last_refresh = Instant::now();
            }
            // As many batches as the engine has room for: one per turn
            // would pace a backlog by the wait below.
            loop {
                if waiting.is_none() {
                    let batch = self.next_batch(Instant::now());
                    if batch.is_empty() {
                        break;
                    }
                    waiting = Some(batch);
                }
                let Some(batch) = waiting.take() else { break };
                match sender.try_send(batch) {
                    Ok(()) => busy = true,
                    Err(TrySendError::Full(batch)) => {
                        waiting = Some(batch);
                        break;
                    }
                    Err(TrySendError::Disconnected(_)) => return,
                }
            }
            if !busy && waiting.is_none() {
                // Nothing taken, nothing merged: until a partition that had
                // nothing receives a message. Short waits all the same: an
                // idle partition's grace period must be noticed.
                fetch.wait(Duration::from_millis(20));
            }
        }
    }

    /// Tops up every partition holding less than half of `max_buffered`
    /// records from its queue, without waiting; returns how many were
    /// taken. The records of one turn arrive within microseconds of each
    /// other: one clock read serves them all.
    fn refill(&mut self, fetch: &mut FetchQueues, last_error_log: &mut Option<Instant>) -> usize {
        let mut arrived: Option<Instant> = None;
        let mut taken = 0;
        // The fetch queues are in the order of `bytes`.
        for index in 0..self.bytes.len() {
            let held = self.merge.buffered(self.bytes[index].0);
            if 2 * held >= self.max_buffered {
                continue;
            }
            taken += fetch.take(index, self.max_buffered - held, |result| match result {
                Ok(message) => {
                    let at = *arrived.get_or_insert_with(Instant::now);
                    self.buffer(&message, at);
                }
                Err(error) => warn_quietly(&error, last_error_log),
            });
        }
        taken
    }

    /// Serves the consumer's own queue, waiting up to `wait`: statistics,
    /// errors and commit results. Never messages, which go to the fetch
    /// queue, but one that came would be buffered all the same.
    fn serve_consumer(&mut self, wait: Duration, last_error_log: &mut Option<Instant>) {
        let consumer = self.consumer.clone();
        let mut wait = wait;
        while let Some(result) = consumer.poll(wait) {
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
                    self.buffer(&fetched, Instant::now());
                }
                Err(error) => warn_quietly(&error, last_error_log),
            }
            wait = Duration::ZERO;
        }
    }

    fn buffer(&mut self, message: &Fetched<'_>, arrived: Instant) {
        let id = PartitionId {
            topic_index: message.topic_index,
            partition: message.partition,
        };
        let Some(queue) = self.byte_queue(id) else {
            return;
        };
        let key = queue.push(message.key);
        let payload = queue.push(message.payload);
        let buffered = Buffered {
            offset: message.offset,
            timestamp_ms: message.timestamp_ms,
            key,
            payload,
        };
        let timestamp = message.timestamp_ms.unwrap_or(i64::MIN);
        self.merge
            .push(id, message.offset, timestamp, buffered, arrived);
    }

    fn byte_queue(&mut self, id: PartitionId) -> Option<&mut ByteQueue> {
        let index = self.bytes.binary_search_by_key(&id, |(id, _)| *id).ok()?;
        Some(&mut self.bytes[index].1)
    }

    fn spare_record(&mut self) -> SourceRecord {
        if self.spare.is_empty() {
            if let Ok(batch) = self.returned.try_recv() {
                let empty = std::mem::replace(&mut self.spare, batch);
                if empty.capacity() >= self.batch_size {
                    self.empties.push(empty);
                }
            }
        }
        self.spare.pop().unwrap_or_default()
    }

    fn next_batch(&mut self, now: Instant) -> Vec<SourceRecord> {
        // Room is taken with the first record: most calls find nothing to
        // merge yet.
        let mut batch = Vec::new();
        while batch.len() < self.batch_size {
            let Some((id, buffered)) = self.merge.pop(now) else {
                break;
            };
            let mut record = self.spare_record();
            record.topic_index = id.topic_index;
            record.partition = id.partition;
            record.offset = buffered.offset;
            record.timestamp_ms = buffered.timestamp_ms;
            let queue = self.byte_queue(id).expect("a merged partition has bytes");
            queue.pop_into(buffered.key, &mut record.key);
            queue.pop_into(buffered.payload, &mut record.payload);
            if batch.capacity() == 0 {
                match self.empties.pop() {
                    Some(empty) => batch = empty,
                    None => batch.reserve_exact(self.batch_size),
                }
            }
            batch.push(record);
        }
        batch
    }

    fn refresh_ends(&mut self) {
        let ids: Vec<PartitionId> = self.merge.partitions().collect();
        for id in ids {
            let topic = &self.topics[id.topic_index];
            if let Some(high) = self.health.high_watermark(topic, id.partition) {
                self.merge.observe_end(id, high);
            }
        }
    }
}

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
/// and the records that go to the engine stay as many as the batches in
/// flight.
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

    /// Moves the next `length` bytes into `slot`, reusing the buffer it
    /// holds; `None` empties the slot.
    fn pop_into(&mut self, length: Option<usize>, slot: &mut Option<Vec<u8>>) {
        let Some(length) = length else {
            *slot = None;
            return;
        };
        let end = self.start + length;
        let buffer = slot.get_or_insert_with(Vec::new);
        buffer.clear();
        buffer.extend_from_slice(&self.bytes[self.start..end]);
        self.start = end;
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

    use super::{consumer_config, topic_position, ByteQueue};

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
        let mut slot = Some(b"a longer payload than any below".to_vec());
        let first = queue.push(Some(b"first"));
        let absent = queue.push(None);
        let empty = queue.push(Some(b""));
        assert_eq!((first, absent, empty), (Some(5), None, Some(0)));
        queue.pop_into(first, &mut slot);
        assert_eq!(slot.as_deref(), Some(&b"first"[..]));
        // Pushed while read bytes are held: those are dropped first.
        let second = queue.push(Some(b"second"));
        queue.pop_into(absent, &mut slot);
        assert_eq!(slot, None);
        queue.pop_into(empty, &mut slot);
        assert_eq!(slot.as_deref(), Some(&b""[..]));
        queue.pop_into(second, &mut slot);
        assert_eq!(slot.as_deref(), Some(&b"second"[..]));
        assert_eq!((queue.bytes.len(), queue.start), (0, 0), "emptied");
        // Many messages in and out, never all read: the buffer stays
        // within twice what is unread.
        let mut lengths = std::collections::VecDeque::new();
        for round in 0..1000usize {
            let message = vec![(round % 251) as u8; round % 37];
            lengths.push_back((queue.push(Some(&message)), message));
            if round % 3 != 0 {
                let (length, message) = lengths.pop_front().unwrap();
                queue.pop_into(length, &mut slot);
                assert_eq!(slot.as_deref(), Some(&message[..]));
            }
            let unread: usize = lengths.iter().map(|(_, m)| m.len()).sum();
            assert_eq!(queue.bytes.len() - queue.start, unread);
            assert!(queue.bytes.len() <= 2 * unread + 2 * 37, "round {round}");
        }
    }
}
