//! A producer whose every message is tracked until the broker acknowledges
//! it (acks=all, idempotent), so callers can make "written" a precondition:
//! a checkpoint waits for its chunks, and for the dead letters of the
//! offsets it covers.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::Statistics;
use tripgate_model::config::KafkaConfig;

use super::client::{client_config, ClientHealth, HealthContext};
use super::KafkaSourceError;

/// One message to write.
pub struct Outgoing<'a> {
    pub topic: &'a str,
    pub key: Option<&'a [u8]>,
    /// `None` writes a tombstone (compaction deletes the key).
    pub payload: Option<&'a [u8]>,
    pub headers: Option<OwnedHeaders>,
    /// Message timestamp in Unix milliseconds (CreateTime); `None` lets the
    /// client stamp the current time.
    pub timestamp_ms: Option<i64>,
}

/// Acknowledgements by message id; the delivery callback fills it.
#[derive(Default)]
struct Acks {
    done: Mutex<BTreeMap<usize, Result<(), String>>>,
    /// Ids nobody will wait for (tombstones): not recorded, so the map
    /// does not grow over months of running.
    forgotten: Mutex<std::collections::BTreeSet<usize>>,
    signal: Condvar,
}

pub struct AckContext {
    inner: HealthContext,
    acks: Arc<Acks>,
}

impl ClientContext for AckContext {
    fn stats(&self, statistics: Statistics) {
        self.inner.stats(statistics)
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.inner.error(error, reason)
    }

    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        self.inner.log(level, facility, message)
    }
}

impl ProducerContext for AckContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, id: usize) {
        let outcome = match result {
            Ok(_) => {
                self.inner.health.mark_reachable();
                Ok(())
            }
            Err((error, _)) => Err(error.to_string()),
        };
        if self.acks.forgotten.lock().expect("ack lock").remove(&id) {
            if let Err(error) = outcome {
                tracing::warn!(error = %error, "unawaited kafka write failed");
            }
            return;
        }
        self.acks.done.lock().expect("ack lock").insert(id, outcome);
        self.acks.signal.notify_all();
    }
}

pub struct AckedProducer {
    producer: ThreadedProducer<AckContext>,
    acks: Arc<Acks>,
    next_id: usize,
}

impl AckedProducer {
    /// An idempotent, acks=all producer. `linger` batches bulk loads
    /// (`tripgate produce`); live mode keeps it small.
    pub fn new(
        kafka: &KafkaConfig,
        health: Arc<ClientHealth>,
        role: &'static str,
        linger: Duration,
    ) -> Result<AckedProducer, KafkaSourceError> {
        let acks = Arc::new(Acks::default());
        let context = AckContext {
            inner: HealthContext {
                health,
                role,
                records_lag: false,
            },
            acks: acks.clone(),
        };
        let mut config = client_config(kafka);
        config
            .set("acks", "all")
            .set("enable.idempotence", "true")
            // Java's partitioner, so keys land where Java producers put them
            // (co-partitioning by order_id across tools).
            .set("partitioner", "murmur2_random")
            .set("linger.ms", linger.as_millis().to_string())
            // Checkpoint chunks are up to 900 KiB.
            .set("message.max.bytes", "1000000");
        let producer = config.create_with_context(context)?;
        Ok(AckedProducer {
            producer,
            acks,
            next_id: 0,
        })
    }

    /// Queues one message and returns the id to wait for. A full local
    /// queue is waited out, not reported: it drains as the broker acks.
    pub fn send(&mut self, message: &Outgoing<'_>) -> Result<usize, KafkaSourceError> {
        let id = self.next_id;
        self.next_id += 1;
        loop {
            let mut record: BaseRecord<'_, [u8], [u8], usize> =
                BaseRecord::with_opaque_to(message.topic, id);
            if let Some(key) = message.key {
                record = record.key(key);
            }
            if let Some(payload) = message.payload {
                record = record.payload(payload);
            }
            if let Some(headers) = &message.headers {
                record = record.headers(headers.clone());
            }
            if let Some(timestamp) = message.timestamp_ms {
                record = record.timestamp(timestamp);
            }
            match self.producer.send(record) {
                Ok(()) => return Ok(id),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((error, _)) => return Err(error.into()),
            }
        }
    }

    /// Waits until `id` is acknowledged or failed, or `timeout` passes
    /// (`None`). The outcome is consumed.
    pub fn wait(&self, id: usize, timeout: Duration) -> Option<Result<(), String>> {
        let deadline = Instant::now() + timeout;
        let mut done = self.acks.done.lock().expect("ack lock");
        loop {
            if let Some(outcome) = done.remove(&id) {
                return Some(outcome);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            done = self
                .acks
                .signal
                .wait_timeout(done, left)
                .expect("ack lock")
                .0;
        }
    }

    /// Stops tracking `id`: nobody will wait for it.
    pub fn forget(&self, id: usize) {
        let mut forgotten = self.acks.forgotten.lock().expect("ack lock");
        if self
            .acks
            .done
            .lock()
            .expect("ack lock")
            .remove(&id)
            .is_none()
        {
            forgotten.insert(id);
        }
    }

    /// Takes the outcome of `id` if it is already known.
    pub fn try_take(&self, id: usize) -> Option<Result<(), String>> {
        self.acks.done.lock().expect("ack lock").remove(&id)
    }

    /// Messages queued and not yet acknowledged or failed.
    pub fn in_flight(&self) -> i32 {
        self.producer.in_flight_count()
    }

    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaSourceError> {
        self.producer.flush(timeout)?;
        Ok(())
    }
}
