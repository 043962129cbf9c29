//! The demo's acquisition system: a real HTTP receiver that checks the
//! Standard Webhooks signature of every request and obeys the actions in it,
//! as an ad-spend throttle would. It is the other end of the closed loop.

use std::collections::HashSet;
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
use tripgate_simulator::Controls;

/// The parts of a webhook body the acquisition system acts on.
#[derive(Deserialize)]
struct Body {
    key: Option<String>,
    actions: Vec<ActionBody>,
}

#[derive(Deserialize)]
struct ActionBody {
    name: String,
    level: f64,
    state: String,
}

struct Receiver {
    signer: WebhookSigner,
    controls: Arc<Mutex<Controls>>,
    /// Ids already applied: a retried delivery must not apply twice.
    applied: Mutex<HashSet<String>>,
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
    let receiver = Arc::new(Receiver { signer, controls, applied: Mutex::new(HashSet::new()), log });
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
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(address)
}

impl Receiver {
    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let header = |name: &str| {
            request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string).unwrap_or_default()
        };
        let (id, timestamp, signature) = (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
        let body = match request.into_body().collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return reply(StatusCode::BAD_REQUEST, "unreadable body"),
        };
        let Ok(timestamp) = timestamp.parse::<i64>() else {
            return reply(StatusCode::BAD_REQUEST, "missing webhook-timestamp");
        };
        let expected = self.signer.sign(&id, timestamp, &body);
        if !signature.split(' ').any(|candidate| candidate == expected) {
            let _ = self.log.send(format!("acquisition system: REJECTED {id}: bad signature")).await;
            return reply(StatusCode::UNAUTHORIZED, "bad signature");
        }
        if !self.applied.lock().expect("receiver lock").insert(id.clone()) {
            return reply(StatusCode::OK, "already applied");
        }
        let Ok(body) = serde_json::from_slice::<Body>(&body) else {
            return reply(StatusCode::BAD_REQUEST, "unexpected body");
        };
        let mut done = Vec::new();
        {
            let mut controls = self.controls.lock().expect("controls lock");
            for action in &body.actions {
                let engaged = action.state == "engaged";
                match action.name.as_str() {
                    "throttle_acquisition" => {
                        controls.acquisition_throttle = if engaged { action.level } else { 0.0 };
                        done.push(format!("ad spend throttled to {:.0}%", controls.acquisition_throttle * 100.0));
                    }
                    "pause_sku_expansion" => {
                        let Some(sku) = &body.key else { continue };
                        if engaged {
                            controls.paused_skus.insert(sku.clone());
                            done.push(format!("{sku} paused"));
                        } else {
                            controls.paused_skus.remove(sku);
                            done.push(format!("{sku} selling again"));
                        }
                    }
                    "add_fulfillment_lanes" => {
                        controls.extra_capacity = if engaged { 1.5 } else { 1.0 };
                        done.push(format!("fulfillment capacity x{:.1}", controls.extra_capacity));
                    }
                    other => done.push(format!("{other} {}", action.state)),
                }
            }
        }
        if !done.is_empty() {
            let _ = self.log.send(format!("acquisition system <- {id} (signature ok): {}", done.join(", "))).await;
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
