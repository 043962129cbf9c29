//! The Kafka source against the real broker: every message of every
//! partition of two topics arrives once, with its key, payload and
//! timestamp, merged in timestamp order, while the merge takes a few
//! records at a time from each partition's queue.

mod live_common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use live_common::*;
use tripgate_ingest::kafka::{
    ensure_topics, start_source, AckedProducer, ClientHealth, Outgoing, SourceOptions, TopicSpec,
};
use tripgate_model::config::Config;

const PER_TOPIC: i64 = 150;
const START_MS: i64 = 1_700_000_000_000;

#[test]
fn every_message_arrives_once_in_timestamp_order_a_few_at_a_time() {
    let Some(bootstrap) = bootstrap() else { return };
    let name = unique("source");
    let text = format!("[kafka]\nbootstrap = \"{bootstrap}\"\ngroup_id = \"{name}-group\"\n");
    let kafka = Config::from_toml(&text).expect("valid config").kafka;
    let health = Arc::new(ClientHealth::default());
    let topics = vec![format!("{name}-a"), format!("{name}-b")];
    let specs: Vec<TopicSpec> = topics
        .iter()
        .map(|topic| TopicSpec {
            name: topic.clone(),
            partitions: 3,
            replication_factor: 1,
            compacted: false,
            retention_ms: Some(-1),
        })
        .collect();
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(ensure_topics(
            &kafka,
            health.clone(),
            &specs,
            Duration::from_secs(30),
        ))
        .expect("topics created");

    // Both topics interleaved, timestamps rising by one per message, so
    // the merge's order is the order written. Keys spread the messages
    // over the partitions.
    let mut producer =
        AckedProducer::new(&kafka, health.clone(), "test", Duration::from_millis(5)).unwrap();
    let mut sent = BTreeMap::new();
    let mut ids = Vec::new();
    for i in 0..PER_TOPIC * 2 {
        let topic = &topics[(i % 2) as usize];
        let key = format!("key-{}", i % 17);
        let payload = format!("{topic}/{i}");
        let timestamp_ms = START_MS + i;
        ids.push(
            producer
                .send(&Outgoing {
                    topic,
                    key: Some(key.as_bytes()),
                    payload: Some(payload.as_bytes()),
                    headers: None,
                    timestamp_ms: Some(timestamp_ms),
                })
                .unwrap(),
        );
        sent.insert(payload, (key, timestamp_ms));
    }
    for id in ids {
        let ack = producer.wait(id, Duration::from_secs(30));
        assert_eq!(ack, Some(Ok(())), "message {id} acknowledged");
    }

    // The merge holds at most four records per partition and takes more
    // from a partition's queue when it holds fewer than two: librdkafka
    // fetches far more than that at once, so every partition is topped up
    // many times, its queue full, while the test reads slowly.
    let mut source = start_source(
        &kafka,
        health,
        SourceOptions {
            topics: topics.clone(),
            start_offsets: BTreeMap::new(),
            idle: Duration::from_millis(200),
            metadata_timeout: Duration::from_secs(30),
            max_buffered: 4,
        },
    )
    .expect("source started");
    let mut received = Vec::new();
    let mut next_offsets: BTreeMap<(usize, i32), i64> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while received.len() < sent.len() {
        assert!(
            Instant::now() < deadline,
            "only {} of {} messages arrived",
            received.len(),
            sent.len()
        );
        // Seven at a time: partitions run dry in the merge and are topped
        // up between reads.
        let before = received.len();
        let read = source
            .read(Duration::from_millis(100), 7, |record| {
                let next = next_offsets
                    .entry((record.topic_index, record.partition))
                    .or_insert(0);
                assert_eq!(
                    record.offset, *next,
                    "offsets of a partition in order, none skipped"
                );
                *next += 1;
                assert_eq!(record.topic, topics[record.topic_index]);
                let payload = String::from_utf8(record.payload.unwrap().to_vec()).unwrap();
                assert!(
                    payload.starts_with(&format!("{}/", record.topic)),
                    "{payload} came as a message of {}",
                    record.topic
                );
                let key = String::from_utf8(record.key.unwrap().to_vec()).unwrap();
                received.push((payload, key, record.timestamp_ms));
                Ok::<(), std::convert::Infallible>(())
            })
            .unwrap();
        assert!(read <= 7, "{read} records in one read of 7");
        assert_eq!(received.len() - before, read, "every record counted");
        // A slow reader, so the buffers fill.
        std::thread::sleep(Duration::from_millis(2));
    }

    assert_eq!(received.len(), sent.len(), "no message twice");
    let timestamps: Vec<i64> = received.iter().map(|(_, _, at)| at.unwrap()).collect();
    assert!(
        timestamps.windows(2).all(|pair| pair[0] < pair[1]),
        "merged in timestamp order"
    );
    for (payload, key, timestamp_ms) in received {
        let (sent_key, sent_at) = &sent[&payload];
        assert_eq!(
            (&key, timestamp_ms),
            (sent_key, Some(*sent_at)),
            "{payload}"
        );
    }
    assert_eq!(next_offsets.len(), 6, "every partition had messages");
}
