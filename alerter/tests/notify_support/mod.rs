//! Shared by the `notify_*` tests: a real HTTP/1.1 receiver on 127.0.0.1
//! that records every request and answers from a script, and builders for
//! notifications and notifier configs.
#![allow(dead_code)] // each test file uses a different part

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tripgate_alerter::notify::RetryPolicy;
use tripgate_model::config::{NotifierConfig, Sensitive};
use tripgate_model::{
    ActionChange, ActionState, Kpi, Notification, NotificationType, ScopeDim, Span,
};

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    /// Lowercase names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("body is JSON")
    }
}

/// How the receiver answers one request; after the script, 200 at once.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub delay: Duration,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            delay: Duration::ZERO,
            headers: Vec::new(),
        }
    }

    pub fn delayed(status: u16, delay: Duration) -> Reply {
        Reply {
            delay,
            ..Reply::status(status)
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

struct State {
    requests: Mutex<Vec<Recorded>>,
    script: Mutex<VecDeque<Reply>>,
    count: watch::Sender<usize>,
}

pub struct Receiver {
    /// `http://127.0.0.1:PORT/hook/SECRETPATH`: the path stands for the
    /// credentials a real Slack URL carries, so tests can check it never leaks.
    pub url: String,
    state: Arc<State>,
    server: JoinHandle<()>,
}

impl Receiver {
    pub async fn start(script: Vec<Reply>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let url = format!("http://{}/hook/SECRETPATH", listener.local_addr().unwrap());
        let state = Arc::new(State {
            requests: Mutex::new(Vec::new()),
            script: Mutex::new(script.into()),
            count: watch::channel(0).0,
        });
        let server_state = Arc::clone(&state);
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&server_state);
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(Arc::clone(&state), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { url, state, server }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Waits until `count` requests arrived; panics after `within`.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Recorded> {
        let mut arrived = self.state.count.subscribe();
        tokio::time::timeout(within, arrived.wait_for(|seen| *seen >= count))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "expected {count} requests within {within:?}, got {}",
                    self.requests().len()
                )
            })
            .unwrap();
        self.requests()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn answer(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                value.to_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let recorded = Recorded {
        path: parts.uri.path().to_string(),
        headers,
        body: body.to_vec(),
        at: Instant::now(),
    };
    state.requests.lock().unwrap().push(recorded);
    state.count.send_modify(|count| *count += 1);
    let reply = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Reply::status(200));
    tokio::time::sleep(reply.delay).await;
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(*name, value);
    }
    Ok(response
        .body(Full::new(Bytes::from(format!("answer {}", reply.status))))
        .unwrap())
}

/// Retries paced in milliseconds so tests stay fast.
pub fn fast_retries(retries: u32) -> RetryPolicy {
    RetryPolicy {
        retries,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(2),
    }
}

pub fn webhook_config(url: &str, timeout: &str) -> NotifierConfig {
    NotifierConfig::Webhook {
        url: Sensitive(url.to_string()),
        secret: Sensitive(SECRET.to_string()),
        timeout: Span::parse(timeout).unwrap(),
        retries: 3,
    }
}

pub fn slack_config(url: &str) -> NotifierConfig {
    NotifierConfig::Slack {
        url: Sensitive(url.to_string()),
        timeout: Span::parse("2s").unwrap(),
        retries: 3,
    }
}

/// A breaker transition of `on-time-delivery` for warehouse wh-1.
pub fn transition(version: u64, from: &str, to: &str, notify: &[&str]) -> Notification {
    let engaged = to != "green";
    Notification {
        id: format!("on-time-delivery.warehouse.wh-1.{version}"),
        kind: NotificationType::BreakerTransition,
        tick: "2024-05-01T10:00:00Z".to_string(),
        rule: Some("on-time-delivery".to_string()),
        gate: None,
        kpi: Some(Kpi::OnTimeRate),
        scope: Some(ScopeDim::Warehouse),
        key: Some("wh-1".to_string()),
        from: from.to_string(),
        to: to.to_string(),
        value: Some(0.7612),
        baseline: None,
        threshold: Some(0.8),
        samples: Some(42),
        window: Some("1h".to_string()),
        actions: vec![ActionChange {
            name: "throttle_acquisition".to_string(),
            level: if engaged { 1.0 } else { 0.0 },
            state: if engaged {
                ActionState::Engaged
            } else {
                ActionState::Released
            },
        }],
        version,
        notify: notify.iter().map(|name| name.to_string()).collect(),
    }
}
