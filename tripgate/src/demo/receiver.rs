//! The demo's acquisition system: a real HTTP receiver that checks the
//! Standard Webhooks signature of every request and obeys the action layer's
//! messages (newest sequence wins), as an ad-spend throttle would. It is the other end of the closed loop.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tripgate_alerter::notify::WebhookSigner;
use tripgate_model::{ActionMessage, ActionState};
use tripgate_simulator::Controls;

/// A transition's body, acknowledged but not acted on.
#[derive(Deserialize)]
struct Body {
    #[allow(dead_code)] // read only to tell a transition from garbage
    actions: Vec<serde_json::Value>,
}

struct Receiver {
    signer: WebhookSigner,
    controls: Arc<Mutex<Controls>>,
    /// Ids already applied: a retried delivery must not apply twice.
    applied: Mutex<HashSet<String>>,
    /// The newest action message sequence per (rule or gate, key, action):
    /// an older message arriving late must not undo a newer one.
    latest: Mutex<HashMap<(String, String, String), u64>>,
    /// What the receiver did, for the demo's story.
    log: mpsc::Sender<String>,
}

/// Starts the receiver on an ephemeral local port.
pub async fn start(
    secret: &str,
    controls: Arc<Mutex<Controls>>,
    log: mpsc::Sender<String>,
) -> anyhow::Result<SocketAddr> {
    let signer = WebhookSigner::from_secret("acquisition-system", secret)?;
    let receiver = Arc::new(Receiver {
        signer,
        controls,
        applied: Mutex::new(HashSet::new()),
        latest: Mutex::new(HashMap::new()),
        log,
    });
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let receiver = receiver.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let receiver = receiver.clone();
                    async move { Ok::<_, Infallible>(receiver.handle(request).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(address)
}

impl Receiver {
    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .unwrap_or_default()
        };
        let (id, timestamp, signature) = (
            header("webhook-id"),
            header("webhook-timestamp"),
            header("webhook-signature"),
        );
        let body = match request.into_body().collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return reply(StatusCode::BAD_REQUEST, "unreadable body"),
        };
        let Ok(timestamp) = timestamp.parse::<i64>() else {
            return reply(StatusCode::BAD_REQUEST, "missing webhook-timestamp");
        };
        let expected = self.signer.sign(&id, timestamp, &body);
        if !signature.split(' ').any(|candidate| candidate == expected) {
            let _ = self
                .log
                .send(format!("acquisition system: REJECTED {id}: bad signature"))
                .await;
            return reply(StatusCode::UNAUTHORIZED, "bad signature");
        }
        if !self
            .applied
            .lock()
            .expect("receiver lock")
            .insert(id.clone())
        {
            return reply(StatusCode::OK, "already applied");
        }
        // Transitions are the record of what the breakers did; actions are
        // obeyed from the action layer's messages, which carry leases,
        // release steps and operator overrides (docs/RECEIVERS.md).
        let Ok(message) = serde_json::from_slice::<ActionMessage>(&body) else {
            return match serde_json::from_slice::<Body>(&body) {
                Ok(_) => reply(StatusCode::OK, "noted"),
                Err(_) => reply(StatusCode::BAD_REQUEST, "unexpected body"),
            };
        };
        let source = message
            .rule
            .clone()
            .or(message.gate.clone())
            .unwrap_or_default();
        let slot = (source, message.key.clone(), message.action.clone());
        {
            let mut latest = self.latest.lock().expect("receiver lock");
            if latest
                .get(&slot)
                .is_some_and(|seen| *seen >= message.sequence)
            {
                return reply(StatusCode::OK, "stale, ignored");
            }
            latest.insert(slot, message.sequence);
        }
        let engaged = message.state == ActionState::Engaged;
        let mut done = Vec::new();
        {
            let mut controls = self.controls.lock().expect("controls lock");
            match message.action.as_str() {
                "throttle_acquisition" => {
                    let level = if engaged { message.level } else { 0.0 };
                    if (controls.acquisition_throttle - level).abs() > 1e-9 {
                        controls.acquisition_throttle = level;
                        done.push(format!("ad spend throttled to {:.0}%", level * 100.0));
                    }
                }
                "pause_sku_expansion" => {
                    let sku = &message.key;
                    if engaged && controls.paused_skus.insert(sku.clone()) {
                        done.push(format!("{sku} paused"));
                    } else if !engaged && controls.paused_skus.remove(sku) {
                        done.push(format!("{sku} selling again"));
                    }
                }
                "add_fulfillment_lanes" => {
                    let capacity = if engaged { 1.5 } else { 1.0 };
                    if (controls.extra_capacity - capacity).abs() > 1e-9 {
                        controls.extra_capacity = capacity;
                        done.push(format!("fulfillment capacity x{capacity:.1}"));
                    }
                }
                other if !message.reason.is_routine() => done.push(format!(
                    "{other} {}",
                    if engaged { "engaged" } else { "released" }
                )),
                _ => {}
            }
        }
        if !done.is_empty() {
            let _ = self
                .log
                .send(format!(
                    "acquisition system <- {id} (signature ok): {}",
                    done.join(", ")
                ))
                .await;
        }
        reply(StatusCode::OK, "applied")
    }
}

fn reply(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::from(text.to_string())))
        .expect("static response parts are valid")
}
