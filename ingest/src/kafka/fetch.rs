//! The input partitions' messages, taken from librdkafka a batch at a
//! time, each partition from its own queue.
//!
//! rdkafka's `BaseConsumer::poll` hands out one message per call, and each
//! call costs more than copying the message: a clock read in rdkafka, an
//! event wrapped in a fresh `Arc`, the queue's lock and librdkafka's own
//! poll-interval clock reads. On a catch-up that was most of the source
//! thread's time (docs/BENCHMARKS.md, live mode). So the source takes
//! messages with `rd_kafka_consume_batch_queue`, librdkafka's documented
//! batch consume, from each assigned partition's fetch queue, which it
//! keeps apart from the consumer's: the consumer's own queue keeps the
//! statistics, errors and commit results, which rdkafka's `poll` goes on
//! serving.
//!
//! Why a queue per partition, not all of them forwarded into one: a
//! partition's queue is what librdkafka's prefetch limits
//! (`queued.min.messages`, `queued.max.messages.kbytes`) apply to when it
//! is not forwarded, so every partition has its own bounded prefetch and
//! the source takes from each only what the merge needs. Forwarded into
//! one queue, the limits applied to all partitions together; fetches
//! brought one partition's batch after another, and the merge had to
//! buffer up to 20,000 messages per partition (then pause it, which
//! discards what librdkafka had fetched for it) before the partitions
//! behind in time arrived (docs/BENCHMARKS.md, tenth and eleventh passes).
//!
//! A queue that receives a message while empty writes one byte to a pipe
//! (`rd_kafka_queue_io_event_enable`), which [`FetchQueues::wait`] polls:
//! the source sleeps until some partition has something, not on a timer.
//!
//! This is the one module of ingest with `unsafe`: rdkafka wraps no batch
//! consume nor partition queues (up to 0.39). Every call is librdkafka's
//! public API, used as its header documents, or the C library's `pipe2`,
//! `poll`, `read` and `close`; the SAFETY notes say why each one is sound.
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
    /// An index into the topics the queues were made for.
    pub topic_index: usize,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: Option<i64>,
    pub key: Option<&'a [u8]>,
    pub payload: Option<&'a [u8]>,
}

/// The assigned partitions' fetch queues, in the order they were given.
pub(super) struct FetchQueues {
    queues: Vec<NonNull<rd::rd_kafka_queue_t>>,
    /// The pipe the queues write a byte to when a message arrives in an
    /// empty one: `[read end, write end]`, both non-blocking.
    wake: [libc::c_int; 2],
    topics: Vec<String>,
    /// The last message's topic handle and the topic's index (see
    /// `topic_index`).
    last_topic: Option<(usize, usize)>,
    /// Room for the messages of one call.
    messages: Vec<*mut rd::rd_kafka_message_t>,
    /// Holds the client alive for as long as the queues: librdkafka wants
    /// every queue handle destroyed before its client.
    _consumer: Arc<BaseConsumer<HealthContext>>,
}

impl FetchQueues {
    /// Takes the fetch queue of each of `partitions` (`(index into topics,
    /// partition)`) and keeps it from being forwarded to the consumer's.
    /// Call it before the partitions are assigned: the assignment then
    /// leaves them apart (librdkafka forwards a fetch queue to the
    /// consumer's only when the application has not set its forwarding).
    pub fn new(
        consumer: Arc<BaseConsumer<HealthContext>>,
        topics: Vec<String>,
        partitions: &[(usize, i32)],
        batch: usize,
    ) -> Result<FetchQueues, KafkaSourceError> {
        let client = consumer.client().native_ptr();
        let mut wake = [-1; 2];
        // SAFETY: room for the two descriptors `pipe2` writes.
        if unsafe { libc::pipe2(wake.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(KafkaSourceError::Topic {
                topic: topics.join(","),
                problem: format!("no pipe for wake-ups: {}", std::io::Error::last_os_error()),
            });
        }
        let mut fetch = FetchQueues {
            queues: Vec::with_capacity(partitions.len()),
            wake,
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
            // is a new queue handle, destroyed when `fetch` is dropped.
            let queue = NonNull::new(unsafe {
                rd::rd_kafka_queue_get_partition(client, name.as_ptr(), partition)
            })
            .ok_or_else(|| problem("librdkafka has no queue for it"))?;
            fetch.queues.push(queue);
            // SAFETY: a live queue handle. Forwarding to nothing marks the
            // queue as set by the application; the wake-up's payload is a
            // static byte, and the pipe outlives the setting (`Drop`).
            unsafe {
                rd::rd_kafka_queue_forward(queue.as_ptr(), std::ptr::null_mut());
                rd::rd_kafka_queue_io_event_enable(
                    queue.as_ptr(),
                    fetch.wake[1],
                    WAKE_BYTE.as_ptr().cast(),
                    WAKE_BYTE.len(),
                );
            }
        }
        Ok(fetch)
    }

    /// Takes up to `limit` of the messages partition `index`'s queue holds
    /// now, without waiting, and hands each to `each` in offset order.
    /// Returns how many were handed on. Taking from a queue, even an empty
    /// one, rearms its wake-up.
    pub fn take(
        &mut self,
        index: usize,
        limit: usize,
        mut each: impl FnMut(Result<Fetched<'_>, KafkaError>),
    ) -> usize {
        let mut handed = 0;
        while handed < limit {
            let asked = (limit - handed).min(self.messages.capacity());
            let got = self.take_some(index, asked, &mut each);
            handed += got;
            if got < asked {
                break;
            }
        }
        handed
    }

    /// Waits up to `wait` for a message to arrive in a queue that was empty
    /// when last taken from (or returns at once if one did since).
    pub fn wait(&mut self, wait: Duration) {
        let mut ready = libc::pollfd {
            fd: self.wake[0],
            events: libc::POLLIN,
            revents: 0,
        };
        let timeout = libc::c_int::try_from(wait.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid `pollfd`; an interrupted or failed poll only
        // returns early, and the caller looks at the queues either way.
        unsafe { libc::poll(&mut ready, 1, timeout) };
        let mut bytes = [0u8; 64];
        // SAFETY: reads into a buffer of its length from our non-blocking
        // pipe, until it is empty (-1, `EAGAIN`) or closed (0).
        while unsafe { libc::read(self.wake[0], bytes.as_mut_ptr().cast(), bytes.len()) } > 0 {}
    }

    fn take_some(
        &mut self,
        index: usize,
        limit: usize,
        each: &mut impl FnMut(Result<Fetched<'_>, KafkaError>),
    ) -> usize {
        let Some(queue) = self.queues.get(index) else {
            return 0;
        };
        let limit = limit.min(self.messages.capacity());
        // SAFETY: a live queue, and room for `limit` pointers, which the
        // call fills from the start; it returns how many (or -1).
        let count = unsafe {
            rd::rd_kafka_consume_batch_queue(queue.as_ptr(), 0, self.messages.as_mut_ptr(), limit)
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

/// What a queue writes to the wake-up pipe.
static WAKE_BYTE: [u8; 1] = [1];

impl Drop for FetchQueues {
    fn drop(&mut self) {
        for queue in &self.queues {
            // SAFETY: the handles are ours and the client is still alive
            // (`_consumer` is dropped after this). The partition's fetch
            // queue outlives our handle, so its wake-up is turned off
            // first: it must not write to the pipe once that is closed.
            unsafe {
                rd::rd_kafka_queue_io_event_enable(queue.as_ptr(), -1, std::ptr::null(), 0);
                rd::rd_kafka_queue_destroy(queue.as_ptr());
            }
        }
        for fd in self.wake {
            // SAFETY: our pipe's descriptors, closed once.
            unsafe { libc::close(fd) };
        }
    }
}
