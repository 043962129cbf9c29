//! `tripgate produce`: a JSON Lines event log into the input topics, so a
//! recorded (or simulated) log can be replayed through live mode.
//!
//! Each line goes to the topic of its type (`order.*` to orders,
//! `fulfillment.*` to fulfillment, `ticket.*` to tickets), keyed by its
//! `ticket_id` (tickets) or `order_id` (the rest) so an order's events share
//! a partition number across topics, with the message timestamp set to its
//! `occurred_at` so that live mode's timestamp-ordered merge feeds events in
//! event-time order. A line that cannot be routed (not JSON, not an object,
//! no known type) goes to the orders topic unchanged and unkeyed: tripgate
//! dead-letters it there, as it would any producer's broken message. A line
//! without a readable `occurred_at` takes the previous line's timestamp, so
//! it stays among its neighbours; one ahead of the wall clock is stamped
//! with the current time (brokers refuse future timestamps).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use tripgate_ingest::kafka::{ensure_topics, AckedProducer, ClientHealth, Outgoing, TopicSpec};
use tripgate_model::config::{Config, KafkaConfig};
use tripgate_model::time::parse_rfc3339;

use crate::backtest::trim_line_end;

/// Messages in flight before the oldest is awaited (bounds memory).
const MAX_IN_FLIGHT: usize = 50_000;
const ACK_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Default)]
pub struct Produced {
    /// Per topic in `TopicsConfig::all` order.
    pub per_topic: [u64; 3],
    /// Lines sent unchanged to the orders topic because they name no type.
    pub unroutable: u64,
}

struct Route {
    /// False for lines that name no known type (sent to orders unchanged).
    routed: bool,
    topic_index: usize,
    key: Option<String>,
    timestamp_ms: Option<i64>,
}

fn route(line: &[u8]) -> Route {
    let unroutable = Route {
        routed: false,
        topic_index: 0,
        key: None,
        timestamp_ms: None,
    };
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice::<serde_json::Value>(line)
    else {
        return unroutable;
    };
    let Some(kind) = fields.get("type").and_then(|t| t.as_str()) else {
        return unroutable;
    };
    let (topic_index, key_field) = if kind.starts_with("order.") {
        (0, "order_id")
    } else if kind.starts_with("fulfillment.") {
        (1, "order_id")
    } else if kind.starts_with("ticket.") {
        (2, "ticket_id")
    } else {
        return unroutable;
    };
    let timestamp_ms = fields
        .get("occurred_at")
        .and_then(|t| t.as_str())
        .and_then(parse_rfc3339)
        .map(|nanos| nanos.div_euclid(1_000_000));
    Route {
        routed: true,
        topic_index,
        key: fields.get(key_field).and_then(|k| k.as_str()).map(str::to_string),
        timestamp_ms,
    }
}

/// The input topics as tripgate creates them when missing: `partitions`
/// each, and kept forever, because replayed logs carry old timestamps that
/// time-based retention would delete at once. Production topics are
/// usually created by their owners, with their own retention.
pub fn input_topics(kafka: &KafkaConfig) -> Vec<TopicSpec> {
    kafka
        .topics
        .all()
        .iter()
        .map(|name| TopicSpec {
            name: name.to_string(),
            partitions: kafka.partitions,
            replication_factor: kafka.replication_factor,
            compacted: false,
            retention_ms: Some(-1),
        })
        .collect()
}

pub fn run(events: &Path, config: &Config) -> anyhow::Result<Produced> {
    let kafka = &config.kafka;
    let health = ClientHealth::new();
    let topics = input_topics(kafka);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(ensure_topics(kafka, health.clone(), &topics, Duration::from_secs(30)))
        .context("cannot create the input topics")?;
    let input: Box<dyn Read> = if events == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            File::open(events)
                .with_context(|| format!("cannot open events file {}", events.display()))?,
        )
    };
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut producer = AckedProducer::new(kafka, health, "produce", Duration::from_millis(20))?;
    let names = kafka.topics.all();
    let mut produced = Produced::default();
    let mut in_flight = VecDeque::new();
    let mut last_timestamp = None;
    let mut line = Vec::with_capacity(4096);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).context("cannot read events")? == 0 {
            break;
        }
        let bytes = trim_line_end(&line);
        // Blank lines are not events in JSON Lines (backtest skips them too).
        if bytes.is_empty() {
            continue;
        }
        let routed = route(bytes);
        produced.unroutable += u64::from(!routed.routed);
        // Brokers refuse timestamps far ahead of their clock (Kafka 4's
        // log.message.timestamp.after.max.ms is 1h); such an event is
        // rejected as future_timestamp anyway, so stamping it "now" only
        // decides where it sorts: after every past event.
        let now_ms = chrono::Utc::now().timestamp_millis();
        let timestamp_ms = routed.timestamp_ms.map(|ms| ms.min(now_ms)).or(last_timestamp);
        last_timestamp = timestamp_ms;
        let id = producer.send(&Outgoing {
            topic: names[routed.topic_index],
            key: routed.key.as_deref().map(str::as_bytes),
            payload: Some(bytes),
            headers: None,
            timestamp_ms,
        })?;
        produced.per_topic[routed.topic_index] += 1;
        in_flight.push_back(id);
        if in_flight.len() >= MAX_IN_FLIGHT {
            let oldest = in_flight.pop_front().expect("not empty");
            await_ack(&producer, oldest)?;
        }
    }
    for id in in_flight {
        await_ack(&producer, id)?;
    }
    producer.flush(ACK_TIMEOUT)?;
    Ok(produced)
}

fn await_ack(producer: &AckedProducer, id: usize) -> anyhow::Result<()> {
    match producer.wait(id, ACK_TIMEOUT) {
        Some(Ok(())) => Ok(()),
        Some(Err(error)) => bail!("a message was not written: {error}"),
        None => bail!("a message was not acknowledged within {ACK_TIMEOUT:?}"),
    }
}
