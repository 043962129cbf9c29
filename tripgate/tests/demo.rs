//! `tripgate demo` end to end: the closed loop plays out and /metrics serves
//! the contract's series while it runs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn http_get(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn the_demo_throttles_recovers_pauses_a_sku_and_serves_metrics() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tripgate"))
        .args(["demo", "--seconds", "25", "--hours", "5"])
        .env("TRIPGATE__SERVER__LISTEN", "127.0.0.1:0")
        .env_remove("TRIPGATE_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The log, passed on to the test's own stderr as it comes.
    let stderr = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut log = Vec::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            eprintln!("{line}");
            log.push(line);
        }
        log
    });
    let (lines_sender, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut story = Vec::new();
    let mut metrics_address = None;
    let mut scraped = None;
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(120)) {
        if let Some(url) = line.trim().strip_prefix("metrics:") {
            metrics_address = Some(
                url.trim()
                    .trim_start_matches("http://")
                    .trim_end_matches("/metrics")
                    .to_string(),
            );
        }
        // Scrape once the throttle is engaged: the series must show it.
        if scraped.is_none() && line.contains("ad spend throttled") {
            let address = metrics_address
                .clone()
                .expect("the metrics address is printed first");
            scraped = Some(http_get(&address, "/metrics"));
            let ready = http_get(&address, "/readyz");
            assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
        }
        story.push(line);
    }
    let status = child.wait().unwrap();
    let story = story.join("\n");
    assert!(status.success(), "demo failed:\n{story}");

    for expected in [
        "breaker on-time-delivery [global=all]: green -> yellow",
        "throttle_acquisition engaged 0.5",
        "breaker on-time-delivery [global=all]: yellow -> red",
        "ad spend throttled to 50%",
        "ad spend throttled to 80%",
        "throttle_acquisition released",
        "ad spend throttled to 0%",
        "breaker defect-rate-sku [sku=SKU-017]: green -> yellow",
        "SKU-017 paused",
        "gate expansion-readiness -> closed",
        "gate expansion-readiness -> open",
    ] {
        assert!(
            story.contains(expected),
            "the story lacks {expected:?}:\n{story}"
        );
    }
    // The story tells every delivered webhook; the log does not repeat it.
    let log = log.join().unwrap();
    assert!(
        !log.iter().any(|line| line.contains("delivered notifier=")),
        "the log repeats deliveries beside the story:\n{}",
        log.join("\n")
    );
    let metrics = scraped.expect("the demo engaged the throttle while running");
    for series in [
        "tripgate_breaker_band{key=\"all\",rule=\"on-time-delivery\",scope=\"global\"}",
        "tripgate_kpi{key=\"all\",kpi=\"on_time_rate\",scope=\"global\",stat=\"value\",window=\"30m\"}",
        "tripgate_action_level{action=\"throttle_acquisition\",key=\"all\",scope=\"global\"}",
        "tripgate_gate_open{gate=\"expansion-readiness\"}",
        "tripgate_events_total",
        "tripgate_events_rejected_total{reason=\"malformed_json\"} 0",
        "tripgate_late_events_total",
        "tripgate_notifications_total{notifier=\"acquisition-system\",outcome=\"delivered\"}",
    ] {
        assert!(metrics.contains(series), "/metrics lacks {series}:\n{metrics}");
    }
}
