//! tripgate's HTTP endpoints: `/` (the status page), `/metrics` (Prometheus
//! text format), `/healthz` (the process is alive) and `/readyz` (ready and
//! not degraded).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::admin::{self, Admin};
use crate::status::{render, StatusBoard};

/// Readiness as the run loop sees it.
#[derive(Debug, Default)]
pub struct Health {
    state: Mutex<HealthState>,
}

#[derive(Debug, Default, Clone)]
struct HealthState {
    ready: bool,
    /// Why the pipeline cannot make progress right now, if it cannot.
    degraded: Option<String>,
}

impl Health {
    pub fn set_ready(&self, ready: bool) {
        self.state.lock().expect("health lock").ready = ready;
    }

    pub fn set_degraded(&self, reason: Option<String>) {
        self.state.lock().expect("health lock").degraded = reason;
    }

    /// `Ok` when ready and not degraded, otherwise why not.
    pub fn readiness(&self) -> Result<(), String> {
        let state = self.state.lock().expect("health lock").clone();
        match (state.ready, state.degraded) {
            (_, Some(reason)) => Err(format!("degraded: {reason}")),
            (false, None) => Err("not ready: starting".to_string()),
            (true, None) => Ok(()),
        }
    }
}

/// What the endpoints read.
pub struct Endpoints {
    pub registry: Registry,
    pub health: Arc<Health>,
    /// What `/` shows; the run loop refreshes it after each tick.
    pub status: Arc<StatusBoard>,
}

/// Binds `listen` and serves until `shutdown` is cancelled, with the admin
/// API (`/api/v1/...`, `/-/reload`) when `admin` is given. Returns the bound
/// address (useful with port 0) and the server task.
pub async fn start(
    listen: &str,
    endpoints: Arc<Endpoints>,
    admin: Option<Arc<Admin>>,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let Ok((stream, peer)) = accepted else {
                continue;
            };
            let endpoints = endpoints.clone();
            let admin = admin.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let endpoints = endpoints.clone();
                    let admin = admin.clone();
                    async move {
                        let path = request.uri().path();
                        if let Some(admin) =
                            admin.filter(|_| path.starts_with("/api/v1/") || path == "/-/reload")
                        {
                            return Ok::<_, Infallible>(
                                admin::handle(admin, request, Some(peer)).await,
                            );
                        }
                        Ok::<_, Infallible>(route(&endpoints, &request))
                    }
                });
                if let Err(error) = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(%error, "http connection ended with an error");
                }
            });
        }
    });
    Ok((address, task))
}

fn route(endpoints: &Endpoints, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    match request.uri().path() {
        "/" => respond(
            StatusCode::OK,
            "text/html; charset=utf-8",
            render::page(&endpoints.status.snapshot()).into_bytes(),
        ),
        "/metrics" => {
            let mut buffer = Vec::new();
            let encoder = TextEncoder::new();
            match encoder.encode(&endpoints.registry.gather(), &mut buffer) {
                Ok(()) => respond(StatusCode::OK, encoder.format_type(), buffer),
                Err(error) => respond(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "text/plain",
                    error.to_string().into_bytes(),
                ),
            }
        }
        "/healthz" => respond(StatusCode::OK, "text/plain", b"ok\n".to_vec()),
        "/readyz" => match endpoints.health.readiness() {
            Ok(()) => respond(StatusCode::OK, "text/plain", b"ready\n".to_vec()),
            Err(reason) => respond(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                format!("{reason}\n").into_bytes(),
            ),
        },
        _ => respond(
            StatusCode::NOT_FOUND,
            "text/plain",
            b"not found: try /, /metrics, /healthz or /readyz\n".to_vec(),
        ),
    }
}

fn respond(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("static response parts are valid")
}
