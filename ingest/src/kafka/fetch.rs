//! The input partitions' messages, taken from librdkafka a batch at a time.
//!
//! rdkafka's `BaseConsumer::poll` hands out one message per call, and each
//! call costs more than copying the message: a clock read in rdkafka, an
//! event wrapped in a fresh `Arc`, the queue's lock and librdkafka's own
//! poll-interval clock reads. On a catch-up that was most of the source
//! thread's time (docs/BENCHMARKS.md, live mode). So every assigned
//! partition's fetch queue is forwarded into one queue of ours, drained
//! with `rd_kafka_consume_batch_queue`, librdkafka's documented batch
//! consume; the consumer's own queue keeps the statistics, errors and
//! commit results, which rdkafka's `poll` goes on serving.
//!
//! This is the one module of ingest with `unsafe`: rdkafka wraps no batch
//! consume (up to 0.39). Every call is librdkafka's public API, used as its
//! header documents; the SAFETY notes say why each one is sound.
#![allow(unsafe_code)]

use std::ffi::{c_void, CStr, CString};
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;

use super::client::HealthContext;
use super::KafkaSourceError;

/// One fetched message, borrowed from librdkafka for the length of a call.
#[derive(Debug)]
pub(super) struct Fetched<'a> {
    /// An index into the topics the queue was made for.
    pub topic_index: usize,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: Option<i64>,
    pub key: Option<&'a [u8]>,
    pub payload: Option<&'a [u8]>,
}

/// Our queue, into which the partitions' fetch queues forward.
pub(super) struct FetchQueue {
    queue: NonNull<rd::rd_kafka_queue_t>,
    topics: Vec<String>,
    /// The last message's topic handle and the topic's index (see
    /// `topic_index`).
    last_topic: Option<(usize, usize)>,
    /// Room for the messages of one call.
    messages: Vec<*mut rd::rd_kafka_message_t>,
    /// Holds the client alive for as long as the queue: librdkafka wants
    /// every queue destroyed before its client.
    _consumer: Arc<BaseConsumer<HealthContext>>,
}

// SAFETY: librdkafka's queues may be used from any thread (its queue
// operations lock), and the raw pointers in `messages` are only ever
// between a batch call and the end of the same `drain`.
unsafe impl Send for FetchQueue {}

impl FetchQueue {
    /// Makes the queue and forwards the fetch queue of each of `partitions`
    /// (`(index into topics, partition)`) into it. Call it before the
    /// partitions are assigned: the assignment then leaves the forwarding in
    /// place (librdkafka forwards a fetch queue to the consumer's only when
    /// the application has not forwarded it).
    pub fn new(
        consumer: Arc<BaseConsumer<HealthContext>>,
        topics: Vec<String>,
        partitions: &[(usize, i32)],
        batch: usize,
    ) -> Result<FetchQueue, KafkaSourceError> {
        let client = consumer.client().native_ptr();
        // SAFETY: `client` is the live consumer's handle (held by `consumer`).
        let queue = NonNull::new(unsafe { rd::rd_kafka_queue_new(client) }).ok_or_else(|| {
            KafkaSourceError::Topic {
                topic: topics.join(","),
                problem: "librdkafka made no queue for the fetched messages".into(),
            }
        })?;
        let fetch = FetchQueue {
            queue,
            topics,
            last_topic: None,
            messages: Vec::with_capacity(batch.max(1)),
            _consumer: consumer,
        };
        for &(topic_index, partition) in partitions {
            let topic = &fetch.topics[topic_index];
            let problem = |problem: &str| KafkaSourceError::Topic {
                topic: topic.clone(),
                problem: format!("partition {partition}: {problem}"),
            };
            let name = CString::new(topic.as_str()).map_err(|_| problem("a NUL in the name"))?;
            // SAFETY: a live client and a NUL-terminated name; the result
            // is a new queue handle, destroyed below.
            let partition_queue =
                unsafe { rd::rd_kafka_queue_get_partition(client, name.as_ptr(), partition) };
            if partition_queue.is_null() {
                return Err(problem("librdkafka has no queue for it"));
            }
            // SAFETY: both handles are live. Destroying the partition's
            // handle drops our reference only: the fetch queue belongs to
            // the partition, and its forwarding stays.
            unsafe {
                rd::rd_kafka_queue_forward(partition_queue, fetch.queue.as_ptr());
                rd::rd_kafka_queue_destroy(partition_queue);
            }
        }
        Ok(fetch)
    }

    /// Waits up to `wait` for a first message, takes up to `limit` of those
    /// fetched already, and hands each to `each` in the order fetched (so a
    /// partition's in offset order). Returns how many were handed on.
    pub fn drain(
        &mut self,
        wait: Duration,
        limit: usize,
        mut each: impl FnMut(Result<Fetched<'_>, KafkaError>),
    ) -> usize {
        // A batch call waits until its batch is full or the time is up, so
        // the wait is for one message and the rest come without waiting.
        let mut handed = self.take(wait, 1, &mut each);
        if handed > 0 && limit > 1 {
            handed += self.take(Duration::ZERO, limit - 1, &mut each);
        }
        handed
    }

    fn take(
        &mut self,
        wait: Duration,
        limit: usize,
        each: &mut impl FnMut(Result<Fetched<'_>, KafkaError>),
    ) -> usize {
        let limit = limit.min(self.messages.capacity());
        let timeout = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: a live queue, and room for `limit` pointers, which the
        // call fills from the start; it returns how many (or -1).
        let count = unsafe {
            rd::rd_kafka_consume_batch_queue(
                self.queue.as_ptr(),
                timeout,
                self.messages.as_mut_ptr(),
                limit,
            )
        };
        let Ok(count) = usize::try_from(count) else {
            return 0;
        };
        // SAFETY: the call wrote `count` (≤ `limit` ≤ capacity) pointers.
        unsafe { self.messages.set_len(count) };
        // Destroys every message even if `each` panics: a message not
        // destroyed holds its partition, and the client's destruction
        // would wait on it.
        let mut batch = Destroyed(std::mem::take(&mut self.messages));
        for &message in &batch.0 {
            // SAFETY: librdkafka hands out valid messages, alive until
            // destroyed, which `batch` does only after this loop.
            let message = unsafe { &*message };
            each(self.fetched(message));
        }
        batch.destroy();
        self.messages = std::mem::take(&mut batch.0);
        count
    }

    fn fetched<'a>(
        &mut self,
        message: &'a rd::rd_kafka_message_t,
    ) -> Result<Fetched<'a>, KafkaError> {
        if message.err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(KafkaError::MessageConsumption(message.err.into()));
        }
        let mut kind = rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        // SAFETY: a valid message, and a place for the timestamp's kind.
        let timestamp = unsafe { rd::rd_kafka_message_timestamp(message, &mut kind) };
        let known = timestamp != -1
            && kind != rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        Ok(Fetched {
            topic_index: self.topic_index(message.rkt),
            partition: message.partition,
            offset: message.offset,
            timestamp_ms: known.then_some(timestamp),
            // SAFETY: librdkafka's pointer and length for the message's
            // bytes, alive as long as the message.
            key: unsafe { bytes(message.key, message.key_len) },
            payload: unsafe { bytes(message.payload, message.len) },
        })
    }

    /// Which topic a message's topic handle is. The handle of a topic lives
    /// for as long as any of its partitions is assigned, which for the
    /// source is the whole run, so the last handle's address answers most
    /// messages without reading the name (topic names share a long prefix,
    /// as `shop-prod-orders` and `shop-prod-tickets` do, and comparing them
    /// was 3% of a catch-up's CPU).
    fn topic_index(&mut self, topic: *mut rd::rd_kafka_topic_t) -> usize {
        let address = topic as usize;
        if let Some((held, index)) = self.last_topic {
            if held == address {
                return index;
            }
        }
        // SAFETY: a message's topic handle, valid while the message is; its
        // name is NUL-terminated.
        let name = unsafe { CStr::from_ptr(rd::rd_kafka_topic_name(topic)) };
        let index = topic_position(&self.topics, name.to_bytes());
        self.last_topic = Some((address, index));
        index
    }
}

/// Where `name` is in `topics`; the first when it is none of them (never,
/// for messages of the partitions the queue was made for).
pub(super) fn topic_position(topics: &[String], name: &[u8]) -> usize {
    topics
        .iter()
        .position(|topic| topic.as_bytes() == name)
        .unwrap_or(0)
}

/// librdkafka's (pointer, length) as bytes; `None` for a null pointer.
///
/// SAFETY: the caller passes a message's key or payload and its length, and
/// keeps the message alive for `'a`.
unsafe fn bytes<'a>(pointer: *mut c_void, length: usize) -> Option<&'a [u8]> {
    if pointer.is_null() {
        return None;
    }
    Some(unsafe { std::slice::from_raw_parts(pointer.cast::<u8>(), length) })
}

/// Messages destroyed when dropped.
struct Destroyed(Vec<*mut rd::rd_kafka_message_t>);

impl Destroyed {
    fn destroy(&mut self) {
        for message in self.0.drain(..) {
            // SAFETY: each was handed out by a batch call, and leaves the
            // list as it is destroyed: destroyed once.
            unsafe { rd::rd_kafka_message_destroy(message) };
        }
    }
}

impl Drop for Destroyed {
    fn drop(&mut self) {
        self.destroy();
    }
}

impl Drop for FetchQueue {
    fn drop(&mut self) {
        // SAFETY: the queue is ours and the client is still alive
        // (`_consumer` is dropped after this). Destroying it purges what is
        // left in it; the partitions' fetch queues forward nowhere after.
        unsafe { rd::rd_kafka_queue_destroy(self.queue.as_ptr()) };
    }
}
