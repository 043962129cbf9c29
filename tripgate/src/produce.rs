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
//! tripgate will reject (malformed, invalid, or `occurred_at` beyond
//! `max_future_skew`) takes the previous line's timestamp instead of its
//! own, so it stays among its neighbours rather than holding back its
//! partition in the merge (and brokers refuse far-future timestamps).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use bstr::io::BufReadExt;
use tripgate_ingest::kafka::{ensure_topics, AckedProducer, ClientHealth, Outgoing, TopicSpec};
use tripgate_model::config::{Config, KafkaConfig};

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

/// `max_event_bytes` and `max_future_skew` decide which lines carry their
/// own timestamp: only events tripgate will accept do.
fn route(line: &[u8], max_event_bytes: usize, latest_ms: i64) -> Route {
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
    // A rejected line's time means nothing, and a wrong one would sort it
    // far from its neighbours and hold back its partition in the merge.
    let timestamp_ms = tripgate_ingest::decode(line, max_event_bytes)
        .ok()
        .map(|event| event.occurred_at.div_euclid(1_000_000))
        .filter(|ms| *ms <= latest_ms);
    Route {
        routed: true,
        topic_index,
        key: fields
            .get(key_field)
            .and_then(|k| k.as_str())
            .map(str::to_string),
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
        .block_on(ensure_topics(
            kafka,
            health.clone(),
            &topics,
            Duration::from_secs(30),
        ))
        .context("cannot create the input topics")?;
    let input: Box<dyn Read> = if events == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            File::open(events)
                .with_context(|| format!("cannot open events file {}", events.display()))?,
        )
    };
    let reader = BufReader::with_capacity(1 << 20, input);
    let mut producer = AckedProducer::new(kafka, health, "produce", Duration::from_millis(20))?;
    let names = kafka.topics.all();
    let mut produced = Produced::default();
    let mut in_flight = VecDeque::new();
    let mut last_timestamp = None;
    let max_event_bytes = config.pipeline.max_event_bytes;
    let max_future_skew_ms = config.pipeline.max_future_skew.nanos() / 1_000_000;
    // Lines without their `\n` or `\r\n`, as backtest reads them.
    for line in reader.byte_lines() {
        let line = line.context("cannot read events")?;
        let bytes = line.as_slice();
        // Blank lines are not events in JSON Lines (backtest skips them too).
        if bytes.is_empty() {
            continue;
        }
        // Brokers refuse timestamps far ahead of their clock (Kafka 4's
        // log.message.timestamp.after.max.ms is 1h), and tripgate rejects
        // such events (future_timestamp): they too sort among their neighbours.
        let latest_ms = chrono::Utc::now().timestamp_millis() + max_future_skew_ms;
        let routed = route(bytes, max_event_bytes, latest_ms);
        produced.unroutable += u64::from(!routed.routed);
        let timestamp_ms = routed.timestamp_ms.or(last_timestamp);
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
