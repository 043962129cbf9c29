//! Shared by the delivery tests: a real HTTP/1.1 receiver on 127.0.0.1 that
//! answers from a closure of the request and tokio's (pausable) clock, can be
//! "down" (accepts and drops connections), and records what it saw.
#![allow(dead_code)] // each test file uses a different part

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tripgate_alerter::notify::{Notifier, RetryPolicy};
use tripgate_model::config::{NotifierConfig, Sensitive};
use tripgate_model::{
    ActionChange, ActionState, Kpi, Notification, NotificationType, ScopeDim, Span,
};

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Clone, Debug)]
pub struct Seen {
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// On tokio's clock: virtual when the test paused time.
    pub at: Instant,
    pub status: u16,
}

impl Seen {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
}

/// Status and headers to answer with.
pub type Answer = (u16, Vec<(&'static str, String)>);
type Script = dyn Fn(&Seen, usize) -> Answer + Send + Sync;

pub struct TestReceiver {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// When connections arrived while down.
    refused: Arc<Mutex<Vec<Instant>>>,
    down: Arc<AtomicBool>,
    server: JoinHandle<()>,
}

impl TestReceiver {
    /// `script(request, index)` decides each answer (index counts answered
    /// requests from 0).
    pub async fn start(
        script: impl Fn(&Seen, usize) -> Answer + Send + Sync + 'static,
    ) -> TestReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let refused = Arc::new(Mutex::new(Vec::new()));
        let (seen2, down2, refused2) = (seen.clone(), down.clone(), refused.clone());
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                if down2.load(Ordering::SeqCst) {
                    refused2.lock().unwrap().push(Instant::now());
                    drop(stream); // as good as a dead process: reset
                    continue;
                }
                let (seen, script) = (seen2.clone(), script.clone());
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request| answer(seen.clone(), script.clone(), request));
                    let _ = http1::Builder::new()
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TestReceiver {
            url,
            seen,
            refused,
            down,
            server,
        }
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn refused_at(&self) -> Vec<Instant> {
        self.refused.lock().unwrap().clone()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn accepted(&self) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.status < 300).collect()
    }
}

impl Drop for TestReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn answer(
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Script>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let mut record = Seen {
        headers,
        body: body.to_vec(),
        at: Instant::now(),
        status: 0,
    };
    let (status, extra) = {
        let mut all = seen.lock().unwrap();
        let answer = script(&record, all.len());
        record.status = answer.0;
        all.push(record);
        answer
    };
    let mut response = Response::builder().status(status);
    for (name, value) in extra {
        response = response.header(name, value);
    }
    Ok(response.body(Full::new(Bytes::from_static(b"ok"))).unwrap())
}

/// Production-like pacing: 1 s doubling to 60 s.
pub fn policy() -> RetryPolicy {
    RetryPolicy {
        retries: 0,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(60),
        max_retry_after: Duration::from_secs(3600),
    }
}

pub fn webhook(name: &str, url: &str) -> Notifier {
    let config = NotifierConfig::Webhook {
        url: Sensitive(url.to_string()),
        secret: Sensitive(SECRET.to_string()),
        timeout: Span::parse("5s").unwrap(),
        retries: 0,
    };
    Notifier::from_config(name, &config)
        .unwrap()
        .with_retry_policy(policy())
}

pub fn slack(name: &str, url: &str) -> Notifier {
    let config = NotifierConfig::Slack {
        url: Sensitive(url.to_string()),
        timeout: Span::parse("5s").unwrap(),
        retries: 0,
    };
    Notifier::from_config(name, &config)
        .unwrap()
        .with_retry_policy(policy())
}

/// A distinct transition (`version`) of one breaker, for `notify`.
pub fn transition(version: u64, notify: &[&str]) -> Notification {
    Notification {
        id: format!("tg_test_{version:04}"),
        kind: NotificationType::BreakerTransition,
        tick: "2025-01-01T10:00:00Z".into(),
        rule: Some("on-time-delivery".into()),
        gate: None,
        kpi: Some(Kpi::OnTimeRate),
        scope: Some(ScopeDim::Global),
        key: Some("all".into()),
        from: "green".into(),
        to: "red".into(),
        value: Some(0.7),
        baseline: None,
        threshold: Some(0.8),
        samples: Some(40),
        window: Some("1h".into()),
        actions: vec![ActionChange {
            name: "throttle_acquisition".into(),
            level: 1.0,
            state: ActionState::Engaged,
        }],
        version,
        notify: notify.iter().map(|n| n.to_string()).collect(),
    }
}

/// Lets the runtime (and paused time) run until `done` or `limit` passes.
pub async fn run_until(limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "not done within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
