//! Live mode when writes to Kafka fail, against a real broker: dead-letter
//! writes the broker refuses hold the input back and make /readyz degraded,
//! and lose nothing once the broker accepts them again; a shutdown that
//! cannot finish (broker down) ends at `kafka.shutdown_deadline` with an
//! error, and a restart from the last checkpoint gives the uninterrupted
//! run's output. Its own test binary, because one test pauses the shared
//! broker (cargo runs test binaries one at a time); the two tests here take
//! turns for the same reason.

mod live_common;

use std::collections::BTreeMap;
use std::fs;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use live_common::*;
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// Small enough that the broker refuses every dead letter (a record batch
/// alone has 61 bytes of overhead), while the input topics take everything.
const REFUSING_MAX_MESSAGE_BYTES: &str = "64";
/// Kafka's default `max.message.bytes`.
const DEFAULT_MAX_MESSAGE_BYTES: &str = "1048588";

/// One test at a time: pausing the broker would disturb the other.
fn take_turn() -> MutexGuard<'static, ()> {
    static BROKER: Mutex<()> = Mutex::new(());
    BROKER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Malformed inputs for all three topics, with the reason each must get.
fn malformed_inputs() -> Vec<(Vec<u8>, &'static str)> {
    let big = format!(
        r#"{{"event_id":"big","type":"order.cancelled","occurred_at":"2025-01-06T01:00:00Z","order_id":"o","pad":"{}"}}"#,
        "x".repeat(70_000)
    );
    vec![
        (br#"{"event_id":"cut","type":"order.cancel"#.to_vec(), "malformed_json"),
        (b"[1,2,3]".to_vec(), "not_an_object"),
        (br#"{"event_id":"f1","type":"fulfillment.shipped","occurred_at":"2025-01-06T01:00:00Z","order_id":"ord-1"}"#.to_vec(), "missing_field"),
        (b"{\"event_id\":\"\xff\xfe\",\"type\":\"order.cancelled\"}".to_vec(), "invalid_utf8"),
        (br#"{"event_id":"t1","type":"ticket.opened","occurred_at":"2025-01-06T01:00:00","ticket_id":"t","category":"c","priority":"low"}"#.to_vec(), "invalid_field"),
        (br#"{"event_id":"u1","type":"order.teleported","occurred_at":"2025-01-06T01:00:00Z"}"#.to_vec(), "unknown_type"),
        (br#"{"event_id":"f2","type":"fulfillment.shipped","occurred_at":"2025-01-06T01:00:00Z","order_id":"ord-1","carrier":7}"#.to_vec(), "invalid_field"),
        (br#"{"event_id":"t2","type":"ticket.resolved","occurred_at":"2025-01-06T01:00:00Z"}"#.to_vec(), "missing_field"),
        (big.into_bytes(), "too_large"),
    ]
}

#[test]
fn refused_dead_letters_hold_back_input_and_arrive_once_accepted() {
    let Some(bootstrap) = bootstrap() else { return };
    let _turn = take_turn();
    let scenario = Scenario::new("dlqfail", &bootstrap, None);
    let valid = scenario.simulate_days(3, 43);
    let valid_lines = read_lines(&valid);
    // Early in the log, so the input still to come after them is large.
    let malformed = malformed_inputs();
    let mut mixed: Vec<Vec<u8>> = Vec::new();
    for (index, line) in valid_lines.iter().enumerate() {
        if index >= 200 && index % 200 == 0 {
            if let Some((bad, _)) = malformed.get(index / 200 - 1) {
                mixed.push(bad.clone());
            }
        }
        mixed.push(line.clone());
    }
    let events = scenario.dir.join("mixed.jsonl");
    fs::write(&events, mixed.join(&b"\n"[..])).unwrap();
    let expected = scenario.expected_live_output(&events);
    // tripgate creates only missing topics, so this one keeps its limit.
    let dead_letter_topic = scenario.topic("dlq");
    create_topic(
        &bootstrap,
        &dead_letter_topic,
        &[("max.message.bytes", REFUSING_MAX_MESSAGE_BYTES)],
    );
    scenario.produce(&events);
    let out = scenario.dir.join("live.jsonl");
    let port = free_port();
    // Frequent checkpoints: one soon meets the first unacknowledged dead letter.
    let mut child = scenario.start(
        &out,
        port,
        &[("TRIPGATE__KAFKA__CHECKPOINT_INTERVAL", "200ms")],
    );

    let degraded = wait_readyz_where(port, Duration::from_secs(120), |status, body| {
        status == 503 && mentions_dead_letters(body)
    });
    wait_for_metric_where(port, "tripgate_dead_letter_failures_total", |v| v >= 1.0);
    let held = wait_until_steady(port, "tripgate_kafka_records_total");
    assert!(
        held < mixed.len() as f64,
        "input not held back: all {held} records were read while every dead-letter write failed\n{}",
        tail(&scenario.log())
    );
    // Still failing, still retried, still degraded, nothing acknowledged.
    let (_, metrics) = http_get(port, "/metrics").expect("/metrics answers");
    let failures = metric(&metrics, "tripgate_dead_letter_failures_total").unwrap();
    wait_for_metric_where(port, "tripgate_dead_letter_failures_total", |v| {
        v > failures
    });
    let (status, body) = http_get(port, "/readyz").expect("/readyz answers");
    assert!(
        status == 503 && mentions_dead_letters(&body),
        "{status} {body}"
    );
    assert_eq!(metric(&metrics, "tripgate_dead_letters_total"), Some(0.0));
    assert!(
        child.try_wait().unwrap().is_none(),
        "{}",
        tail(&scenario.log())
    );
    let manifests_while_failing = read_manifests(&bootstrap, &scenario.topic("state"));
    eprintln!(
        "while dead letters failed: {held} of {} records read, {failures} failed writes, {} checkpoints, /readyz {degraded:?}",
        mixed.len(),
        manifests_while_failing.len()
    );

    set_topic_config(
        &bootstrap,
        &dead_letter_topic,
        "max.message.bytes",
        DEFAULT_MAX_MESSAGE_BYTES,
    );
    scenario.wait_caught_up(&mut child, &out, &expected);
    wait_readyz(port, 200, "ready", Duration::from_secs(60));
    wait_for_metric(port, "tripgate_dead_letters_total", malformed.len() as f64);
    wait_for_metric(port, "tripgate_events_total", mixed.len() as f64);
    let status = terminate(&mut child, Duration::from_secs(30));
    assert!(status.success(), "{status}\n{}", tail(&scenario.log()));
    assert_eq!(fs::read_to_string(&out).unwrap(), expected);

    // Each dead letter exactly once, with its reason and source.
    let letters = read_topic(&bootstrap, &dead_letter_topic);
    assert_eq!(
        letters.len(),
        malformed.len(),
        "dead letters lost or duplicated"
    );
    for (bytes, reason) in &malformed {
        let matching: Vec<&Record> = letters.iter().filter(|l| l.payload == *bytes).collect();
        assert_eq!(matching.len(), 1, "dead letters of the {reason} input");
        let headers = &matching[0].headers;
        assert_eq!(headers["tripgate-reason"], *reason);
        assert!(!headers["tripgate-detail"].is_empty());
        let source_topic = &headers["tripgate-source-topic"];
        assert!(
            ["orders", "fulfillment", "tickets"]
                .iter()
                .any(|which| *source_topic == scenario.topic(which)),
            "{reason}: source topic {source_topic}"
        );
    }
    // No checkpoint taken while they failed covers a rejected record.
    for letter in &letters {
        let source = (
            letter.headers["tripgate-source-topic"].clone(),
            letter.headers["tripgate-source-partition"].parse().unwrap(),
        );
        let offset: i64 = letter.headers["tripgate-source-offset"].parse().unwrap();
        for offsets in &manifests_while_failing {
            let next = offsets.get(&source).copied().unwrap_or(0);
            assert!(
                next <= offset,
                "a checkpoint covers {source:?} up to {next}, past offset {offset} whose dead letter was not acknowledged"
            );
        }
    }
}

/// Past the deadline the process exits with the error at once, even while
/// the engine thread still waits for the broker in its final checkpoint.
#[test]
fn shutdown_past_its_deadline_exits_with_an_error_and_a_restart_recovers() {
    let Some(bootstrap) = bootstrap() else { return };
    let _turn = take_turn();
    let scenario = Scenario::new("overrun", &bootstrap, None);
    // Long enough that the broker is down before tripgate caught up.
    let events = scenario.simulate_days(7, 47);
    let expected = scenario.expected_live_output(&events);
    let expected_lines = expected.lines().count();
    scenario.produce(&events);
    let out = scenario.dir.join("live.jsonl");
    let deadline = ("TRIPGATE__KAFKA__SHUTDOWN_DEADLINE", "3s");

    let port = free_port();
    let mut child = scenario.start(&out, port, &[deadline]);
    wait_readyz(port, 200, "ready", Duration::from_secs(60));
    // A checkpoint to come back to.
    wait_for_metric_where(port, "tripgate_checkpoints_total", |v| v >= 1.0);
    let paused = PausedBroker::pause();
    let at_pause = lines_in(&out);
    // The final checkpoint now waits for acknowledgements that cannot come.
    run_ok(
        Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string()),
    );
    let signalled = Instant::now();
    let status = wait_exit(&mut child, Duration::from_secs(60)).unwrap_or_else(|| {
        panic!(
            "tripgate still running 60s after SIGTERM with shutdown_deadline 3s\n{}",
            tail(&scenario.log())
        )
    });
    let took = signalled.elapsed();
    let log = scenario.log();
    assert!(
        status.code().is_some_and(|code| code != 0),
        "a shutdown past its deadline must exit with an error, not {status}\n{}",
        tail(&log)
    );
    assert!(
        log.contains("shutdown did not finish within kafka.shutdown_deadline"),
        "{}",
        tail(&log)
    );
    paused.resume();
    eprintln!(
        "exited {took:.1?} after SIGTERM ({status}), {at_pause} of {expected_lines} output lines at the pause"
    );

    let port = free_port();
    let mut child = scenario.start(&out, port, &[deadline]);
    wait_readyz(port, 200, "ready", Duration::from_secs(120));
    scenario.wait_caught_up(&mut child, &out, &expected);
    // Records this process read: the checkpoint did not cover them all.
    let (_, metrics) = http_get(port, "/metrics").expect("/metrics answers");
    let replayed = metric(&metrics, "tripgate_kafka_records_total").unwrap_or(0.0);
    let status = terminate(&mut child, Duration::from_secs(30));
    let log = scenario.log();
    assert!(status.success(), "{status}\n{}", tail(&log));
    assert_eq!(fs::read_to_string(&out).unwrap(), expected);
    assert!(
        replayed > 0.0,
        "the restart had nothing left to do: the broker was paused too late to test recovery"
    );
    eprintln!("the restart read {replayed} records after the checkpoint");
    // A start attempt that fails after reading the checkpoint (the broker
    // still electing leaders) reads it again: the same one each time.
    let restart = &log[log.find("shutdown did not finish").expect("logged above")..];
    let restored: std::collections::BTreeSet<&str> = restart
        .lines()
        .filter(|line| line.contains("checkpoint restored"))
        .filter_map(|line| line.split_whitespace().find(|w| w.starts_with("sequence=")))
        .collect();
    assert_eq!(
        restored.len(),
        1,
        "the restart must resume from the one checkpoint\n{}",
        tail(&log)
    );
    assert!(!restart.contains("no checkpoint"), "{}", tail(&log));
}

fn mentions_dead_letters(body: &str) -> bool {
    body.to_lowercase()
        .replace('-', " ")
        .contains("dead letter")
}

/// Polls /readyz until `accept(status, body)`; returns the body.
fn wait_readyz_where(port: u16, timeout: Duration, accept: impl Fn(u16, &str) -> bool) -> String {
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < timeout {
        last = http_get(port, "/readyz");
        if let Some((status, body)) = &last {
            if accept(*status, body) {
                return body.clone();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("/readyz not as expected within {timeout:?}; last: {last:?}");
}

/// Polls /metrics until `series` satisfies `accept` (60 s at most).
fn wait_for_metric_where(port: u16, series: &str, accept: impl Fn(f64) -> bool) -> f64 {
    let started = Instant::now();
    loop {
        let (_, metrics) = http_get(port, "/metrics").expect("/metrics answers");
        if let Some(value) = metric(&metrics, series).filter(|v| accept(*v)) {
            return value;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{series} not as expected after 60s:\n{metrics}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The value of `series` once it has not moved for 5 s (120 s at most):
/// 5 s in which a consumer that is not held back reads thousands of records.
fn wait_until_steady(port: u16, series: &str) -> f64 {
    let quiet = Duration::from_secs(5);
    let started = Instant::now();
    let mut value = f64::NAN;
    let mut since = Instant::now();
    loop {
        let (_, metrics) = http_get(port, "/metrics").expect("/metrics answers");
        let now = metric(&metrics, series).unwrap_or(f64::NAN);
        if now != value {
            (value, since) = (now, Instant::now());
        } else if since.elapsed() >= quiet {
            return value;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{series} still moving after 120s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The shared broker, paused until resumed or dropped: resumed then even
/// when an assertion failed, so the tests after this one find it up.
struct PausedBroker {
    script: String,
    resumed: bool,
}

impl PausedBroker {
    fn pause() -> PausedBroker {
        let script = std::env::var("TRIPGATE_KAFKA_SCRIPT")
            .expect("TRIPGATE_KAFKA_SCRIPT is set with the broker");
        run_ok(Command::new("bash").arg(&script).arg("pause"));
        PausedBroker {
            script,
            resumed: false,
        }
    }

    /// Resumes now, failing the test if the broker does not come back.
    fn resume(mut self) {
        run_ok(Command::new("bash").arg(&self.script).arg("resume"));
        self.resumed = true;
    }
}

impl Drop for PausedBroker {
    fn drop(&mut self) {
        if !self.resumed {
            let _ = Command::new("bash")
                .arg(&self.script)
                .arg("resume")
                .status();
        }
    }
}

fn admin(bootstrap: &str) -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap()
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn admin_options() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)))
}

/// Creates `name` with 3 partitions (as tripgate would) and `configs`.
fn create_topic(bootstrap: &str, name: &str, configs: &[(&str, &str)]) {
    let mut topic = NewTopic::new(name, 3, TopicReplication::Fixed(1));
    for (key, value) in configs {
        topic = topic.set(key, value);
    }
    let results = block_on(admin(bootstrap).create_topics([&topic], &admin_options())).unwrap();
    for result in results {
        result.unwrap_or_else(|(topic, code)| panic!("cannot create {topic}: {code}"));
    }
}

/// Sets one topic config at runtime (the whole set is replaced: the test's
/// topics have no other overrides).
fn set_topic_config(bootstrap: &str, name: &str, key: &str, value: &str) {
    let config = AlterConfig::new(ResourceSpecifier::Topic(name)).set(key, value);
    let results = block_on(admin(bootstrap).alter_configs([&config], &admin_options())).unwrap();
    for result in results {
        result.unwrap_or_else(|(_, code)| panic!("cannot set {key} on {name}: {code}"));
    }
}

struct Record {
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
    headers: BTreeMap<String, String>,
}

/// Every record of every partition of `topic`, up to its current end.
fn read_topic(bootstrap: &str, topic: &str) -> Vec<Record> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", unique("failures-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let timeout = Duration::from_secs(30);
    let metadata = consumer.fetch_metadata(Some(topic), timeout).unwrap();
    let mut assignment = TopicPartitionList::new();
    let mut ends = BTreeMap::new();
    for partition in metadata.topics()[0].partitions() {
        let id = partition.id();
        let (low, high) = consumer.fetch_watermarks(topic, id, timeout).unwrap();
        if high > low {
            ends.insert(id, high);
        }
        assignment
            .add_partition_offset(topic, id, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut records = Vec::new();
    let started = Instant::now();
    let reached_ends = |consumer: &BaseConsumer| {
        let positions = consumer.position().unwrap();
        ends.iter().all(|(partition, end)| {
            matches!(
                positions.find_partition(topic, *partition).map(|p| p.offset()),
                Some(Offset::Offset(at)) if at >= *end
            )
        })
    };
    while !reached_ends(&consumer) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{topic} not read to its end in 60s"
        );
        let Some(Ok(message)) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let mut headers = BTreeMap::new();
        for header in message.headers().iter().flat_map(|list| list.iter()) {
            let value = header
                .value
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            headers.insert(header.key.to_string(), value.into_owned());
        }
        records.push(Record {
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().unwrap_or_default().to_vec(),
            headers,
        });
    }
    records
}

/// The input offsets of each checkpoint manifest in the state topic.
fn read_manifests(bootstrap: &str, state_topic: &str) -> Vec<BTreeMap<(String, i32), i64>> {
    read_topic(bootstrap, state_topic)
        .into_iter()
        .filter(|record| record.key.as_deref() == Some(b"manifest".as_slice()))
        .filter(|record| !record.payload.is_empty())
        .map(|record| {
            let manifest: serde_json::Value = serde_json::from_slice(&record.payload).unwrap();
            manifest["offsets"]
                .as_array()
                .expect("a manifest lists its offsets")
                .iter()
                .map(|offset| {
                    let topic = offset["topic"].as_str().unwrap().to_string();
                    let partition = offset["partition"].as_i64().unwrap() as i32;
                    ((topic, partition), offset["next"].as_i64().unwrap())
                })
                .collect()
        })
        .collect()
}
