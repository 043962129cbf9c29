//! HTTP for the live tests: tripgate's endpoints, and a webhook receiver.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `GET path` on 127.0.0.1:port: (status, body), or `None` if nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    http_request(port, "GET", path, None, "")
}

/// `method path` with an optional bearer token and a JSON body.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let authorization = token.map_or(String::new(), |token| {
        format!("Authorization: Bearer {token}\r\n")
    });
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{authorization}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// The value of a metric line `name{labels} value` (labels as written).
pub fn metric(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// Waits until /readyz answers `status` with `word` in its body.
pub fn wait_readyz(port: u16, status: u16, word: &str, timeout: Duration) -> String {
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < timeout {
        last = http_get(port, "/readyz");
        if let Some((answered, body)) = &last {
            if *answered == status && body.contains(word) {
                return body.clone();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("/readyz did not answer {status} {word:?} within {timeout:?}; last: {last:?}");
}

/// Polls /metrics until it has a line starting with `prefix` (30 s at
/// most: librdkafka's statistics, for one, come once an interval).
pub fn wait_for_series(port: u16, prefix: &str) -> String {
    let started = Instant::now();
    loop {
        let (_, metrics) = http_get(port, "/metrics").expect("/metrics answers");
        if metrics.lines().any(|line| line.starts_with(prefix)) {
            return metrics;
        }
        if started.elapsed() > Duration::from_secs(30) {
            panic!("no {prefix} series after 30s:\n{metrics}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Polls /metrics until `series` reads `value` (30 s at most); returns the
/// last page, asserting the value.
pub fn wait_for_metric(port: u16, series: &str, value: f64) -> String {
    let started = Instant::now();
    loop {
        let (_, metrics) = http_get(port, "/metrics").expect("/metrics answers");
        if metric(&metrics, series) == Some(value) {
            return metrics;
        }
        if started.elapsed() > Duration::from_secs(30) {
            panic!("{series} is not {value} after 30s:\n{metrics}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A webhook receiver on 127.0.0.1 that answers 200 and records every
/// request's `webhook-id` and body.
pub struct Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<(String, String)>>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        Receiver::start_with_delay(Duration::ZERO)
    }

    /// A receiver that takes `delay` to answer each request, so that
    /// notifications are still undelivered when checkpoints are taken.
    pub fn start_with_delay(delay: Duration) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let store = store.clone();
                std::thread::spawn(move || serve(stream, &store, delay));
            }
        });
        Receiver { url, received }
    }

    /// Distinct ids with their bodies; panics if one id came with two bodies.
    pub fn by_id(&self) -> BTreeMap<String, String> {
        let mut by_id = BTreeMap::new();
        for (id, body) in self.received.lock().unwrap().iter() {
            if let Some(previous) = by_id.insert(id.clone(), body.clone()) {
                assert_eq!(
                    previous, *body,
                    "id {id} was sent with two different bodies"
                );
            }
        }
        by_id
    }
}

fn serve(stream: TcpStream, store: &Mutex<Vec<(String, String)>>, delay: Duration) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut id = String::new();
        let mut length = 0;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "webhook-id" => id = value.trim().to_string(),
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        std::thread::sleep(delay);
        store
            .lock()
            .unwrap()
            .push((id, String::from_utf8_lossy(&body).into_owned()));
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

/// (tick, rule or gate, key, from, to) of every transition record in a
/// backtest-format output, sorted.
pub fn transitions_in_output(output: &str) -> Vec<(String, String, String, String, String)> {
    let mut found: Vec<_> = output
        .lines()
        .filter_map(|line| {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            let text = |field: &str| record[field].as_str().unwrap_or_default().to_string();
            match record["kind"].as_str()? {
                "transition" => Some((
                    text("tick"),
                    text("rule"),
                    text("key"),
                    text("from"),
                    text("to"),
                )),
                "gate" => Some((
                    text("tick"),
                    text("gate"),
                    String::new(),
                    text("from"),
                    text("to"),
                )),
                _ => None,
            }
        })
        .collect();
    found.sort();
    found
}

/// The same tuple from webhook bodies.
pub fn transitions_in_bodies<'a>(
    bodies: impl Iterator<Item = &'a String>,
) -> Vec<(String, String, String, String, String)> {
    let mut found: Vec<_> = bodies
        .map(|body| {
            let record: serde_json::Value = serde_json::from_str(body).unwrap();
            let text = |field: &str| record[field].as_str().unwrap_or_default().to_string();
            let name = if record["type"] == "gate.transition" {
                text("gate")
            } else {
                text("rule")
            };
            let key = if record["type"] == "gate.transition" {
                String::new()
            } else {
                text("key")
            };
            (text("tick"), name, key, text("from"), text("to"))
        })
        .collect();
    found.sort();
    found
}
