//! Live mode against a real broker: a simulated day produced into
//! 3-partition topics and consumed by `tripgate run --out` gives exactly
//! backtest's output; every malformed input of the contract ends up in the
//! dead-letter topic with its reason while the valid events around it count.

mod live_common;

use std::collections::BTreeMap;
use std::fs;
use std::time::{Duration, Instant};

use live_common::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::ClientConfig;

/// With a short lateness and idle timeout the whole of backtest's output
/// appears: once the topics are idle the watermark moves on with the clock
/// from the last event (contract section 3; docs/CONTRACT-NOTES.md), closing
/// the ticks backtest closes at end of input, and later ones after them.
#[test]
fn live_output_equals_backtest() {
    let Some(bootstrap) = bootstrap() else { return };
    let scenario = Scenario::new("equal", &bootstrap, None);
    scenario.set_pipeline("allowed_lateness = \"10s\"\nidle_timeout = \"2s\"");
    let events = scenario.simulate(11, None);
    let expected = scenario.backtest_output(&events);
    assert!(
        expected.contains("\"kind\":\"transition\""),
        "the rules must make transitions"
    );
    assert!(
        expected.contains("\"kind\":\"gate\""),
        "the rules must move the gate"
    );
    let last_tick = tick_of(expected.lines().last().unwrap()).to_string();
    scenario.produce(&events);
    let out = scenario.dir.join("live.jsonl");
    let port = free_port();
    let started = Instant::now();
    let mut child = scenario.start(&out, port, &[]);
    let through_last_tick = |written: &str| up_to_tick(written, &last_tick);
    wait_for_output_where(
        &scenario,
        &mut child,
        &out,
        &expected,
        Duration::from_secs(240),
        through_last_tick,
    );
    let caught_up = started.elapsed();
    let (status, body) = http_get(port, "/readyz").expect("/readyz answers");
    assert_eq!(status, 200, "{body}");
    let lines = fs::read_to_string(&events).unwrap().lines().count() as f64;
    wait_for_metric(port, "tripgate_events_total", lines);
    let metrics = wait_for_series(port, "tripgate_consumer_lag{");
    assert!(
        metrics.contains("tripgate_checkpoint_age_seconds"),
        "{metrics}"
    );
    let status = terminate(&mut child, Duration::from_secs(30));
    assert!(
        status.success(),
        "graceful shutdown failed: {status}\n{}",
        tail(&scenario.log())
    );
    let written = fs::read_to_string(&out).unwrap();
    assert_eq!(through_last_tick(&written), expected);
    // Whatever closed after backtest's last tick is whole ticks, in order.
    assert!(written.starts_with(&expected));
    let later: Vec<&str> = written[expected.len()..].lines().map(tick_of).collect();
    assert!(later.windows(2).all(|pair| pair[0] <= pair[1]));
    assert!(later.iter().all(|tick| *tick > last_tick.as_str()));
    eprintln!(
        "live run caught up with {lines} events in {:.1}s ({:.0} events/s, debug build)",
        caught_up.as_secs_f64(),
        lines / caught_up.as_secs_f64()
    );
}

/// One malformed input per contract reason, and the reason it must get.
fn malformed_inputs() -> Vec<(Vec<u8>, &'static str)> {
    let placed = r#"{"event_id":"bad-%","type":"order.placed","occurred_at":"2025-01-06T01:00:00Z","order_id":"bad-ord-%","channel":"web","region":"us-east","warehouse":"wh-east","promised_by":"2025-01-07T01:00:00Z","lines":[{"sku":"SKU-001","quantity":1,"unit_price":1.0,"unit_cost":0.5}]}"#;
    let big = format!(
        r#"{{"event_id":"big","type":"order.cancelled","occurred_at":"2025-01-06T01:00:00Z","order_id":"o","pad":"{}"}}"#,
        "x".repeat(70_000)
    );
    vec![
        (big.into_bytes(), "too_large"),
        (b"{\"event_id\":\"\xff\xfe\",\"type\":\"order.cancelled\"}".to_vec(), "invalid_utf8"),
        (br#"{"event_id":"cut","type":"order.cancel"#.to_vec(), "malformed_json"),
        (b"[1,2,3]".to_vec(), "not_an_object"),
        (br#"{"event_id":"u1","type":"order.teleported","occurred_at":"2025-01-06T01:00:00Z"}"#.to_vec(), "unknown_type"),
        (br#"{"event_id":"m1","type":"order.cancelled","occurred_at":"2025-01-06T01:00:00Z"}"#.to_vec(), "missing_field"),
        (placed.replace('%', "q").replace("\"quantity\":1", "\"quantity\":\"1\"").into_bytes(), "invalid_field"),
        (br#"{"event_id":"d1","type":"order.cancelled","type":"order.cancelled","occurred_at":"2025-01-06T01:00:00Z","order_id":"o"}"#.to_vec(), "duplicate_field"),
        (placed.replace('%', "future").replace("2025-01-06T01", "2200-01-06T01").into_bytes(), "future_timestamp"),
        (br#"{"event_id":"t1","type":"ticket.opened","occurred_at":"2025-01-06T01:00:00","ticket_id":"t","category":"c","priority":"low"}"#.to_vec(), "invalid_field"),
    ]
}

#[test]
fn every_malformed_input_is_dead_lettered_and_the_rest_counts() {
    let Some(bootstrap) = bootstrap() else { return };
    let scenario = Scenario::new("dlq", &bootstrap, None);
    let valid = scenario.simulate(5, Some(6_000));
    let valid_lines = read_lines(&valid);
    let malformed = malformed_inputs();
    // Spread through the log, among valid events of all three topics.
    let mut mixed: Vec<Vec<u8>> = Vec::new();
    let every = valid_lines.len() / (malformed.len() + 1);
    for (index, line) in valid_lines.iter().enumerate() {
        if index > 0 && index % every == 0 {
            if let Some((bad, _)) = malformed.get(index / every - 1) {
                mixed.push(bad.clone());
            }
        }
        mixed.push(line.clone());
    }
    let events = scenario.dir.join("mixed.jsonl");
    fs::write(&events, mixed.join(&b"\n"[..])).unwrap();
    // Backtest has no wall clock: without the future event, its rejections
    // are live mode's, and the output must match.
    let without_future: Vec<Vec<u8>> = mixed
        .iter()
        .filter(|l| !l.windows(10).any(|w| w == b"2200-01-06"))
        .cloned()
        .collect();
    let reference = scenario.dir.join("reference.jsonl");
    fs::write(&reference, without_future.join(&b"\n"[..])).unwrap();
    let expected = scenario.expected_live_output(&reference);
    scenario.produce(&events);
    let out = scenario.dir.join("live.jsonl");
    let port = free_port();
    let mut child = scenario.start(&out, port, &[]);
    scenario.wait_caught_up(&mut child, &out, &expected);

    // All read, every rejection counted under its reason.
    wait_for_metric(port, "tripgate_events_total", mixed.len() as f64);
    let metrics = wait_for_metric(port, "tripgate_dead_letters_total", malformed.len() as f64);
    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, reason) in &malformed {
        *by_reason.entry(reason).or_default() += 1;
    }
    for (reason, count) in &by_reason {
        let series = format!("tripgate_events_rejected_total{{reason=\"{reason}\"}}");
        assert_eq!(
            metric(&metrics, &series),
            Some(*count as f64),
            "{series}\n{metrics}"
        );
    }
    assert_eq!(
        metric(&metrics, "tripgate_dead_letters_total"),
        Some(malformed.len() as f64)
    );
    let status = terminate(&mut child, Duration::from_secs(30));
    assert!(status.success(), "{status}\n{}", tail(&scenario.log()));

    // The dead-letter topic: original bytes, reason, detail and source.
    let letters = read_topic(&bootstrap, &scenario.topic("dlq"), malformed.len());
    assert_eq!(letters.len(), malformed.len());
    for (bytes, reason) in &malformed {
        let letter = letters
            .iter()
            .find(|letter| letter.payload == *bytes)
            .unwrap_or_else(|| panic!("no dead letter for the {reason} input"));
        assert_eq!(letter.headers["tripgate-reason"], *reason);
        assert!(!letter.headers["tripgate-detail"].is_empty());
        assert!(letter.headers["tripgate-source-topic"].starts_with(&scenario.name));
        let partition: i32 = letter.headers["tripgate-source-partition"].parse().unwrap();
        let offset: i64 = letter.headers["tripgate-source-offset"].parse().unwrap();
        assert!(partition >= 0 && offset >= 0);
    }
}

struct Letter {
    payload: Vec<u8>,
    headers: BTreeMap<String, String>,
}

fn read_topic(bootstrap: &str, topic: &str, want: usize) -> Vec<Letter> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", unique("dlq-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut letters = Vec::new();
    let started = Instant::now();
    while letters.len() < want && started.elapsed() < Duration::from_secs(60) {
        let Some(Ok(message)) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let mut headers = BTreeMap::new();
        if let Some(list) = message.headers() {
            for header in list.iter() {
                let value = header
                    .value
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default();
                headers.insert(header.key.to_string(), value);
            }
        }
        letters.push(Letter {
            payload: message.payload().unwrap_or_default().to_vec(),
            headers,
        });
    }
    letters
}
