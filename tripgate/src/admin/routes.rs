//! The admin HTTP API under `/api/v1` (and `POST /-/reload`). Every request
//! needs the bearer token; every mutation is audited with who and what.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tripgate_alerter::actions::{ActionSource, ActionTarget, GATE_KEY};
use tripgate_model::Span;

use super::auth::{self, Refusal};
use super::{views, Admin, ReloadRequest};

/// Admin requests are small JSON documents.
const BODY_LIMIT: usize = 64 * 1024;

type Reply = Response<Full<Bytes>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SilenceRequest {
    rule: String,
    key: Option<String>,
    duration: Span,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideRequest {
    rule: Option<String>,
    gate: Option<String>,
    key: Option<String>,
    action: String,
    level: Option<f64>,
    /// How long the override holds; without it, until cleared.
    duration: Option<Span>,
    reason: Option<String>,
}

impl OverrideRequest {
    fn target(&self) -> Result<ActionTarget, String> {
        let (source, key) = match (&self.rule, &self.gate) {
            (Some(rule), None) => (
                ActionSource::Rule(rule.clone()),
                self.key.clone().unwrap_or_else(|| "all".into()),
            ),
            (None, Some(gate)) => (ActionSource::Gate(gate.clone()), GATE_KEY.to_string()),
            _ => return Err("name exactly one of rule or gate".into()),
        };
        Ok(ActionTarget {
            source,
            key,
            action: self.action.clone(),
        })
    }
}

/// Serves one admin request.
pub async fn handle(
    admin: Arc<Admin>,
    request: Request<Incoming>,
    peer: Option<SocketAddr>,
) -> Reply {
    let token = admin.token.lock().expect("admin lock").clone();
    match auth::check(request.headers(), token.as_deref()) {
        Ok(()) => {}
        Err(Refusal::Disabled) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the admin API is off: set [admin] token (or TRIPGATE__ADMIN__TOKEN)",
            )
        }
        Err(Refusal::Unauthenticated) => {
            let mut reply = error(
                StatusCode::UNAUTHORIZED,
                "send Authorization: Bearer <token>",
            );
            reply.headers_mut().insert(
                "www-authenticate",
                hyper::header::HeaderValue::from_static("Bearer"),
            );
            return reply;
        }
        Err(Refusal::Forbidden) => return error(StatusCode::FORBIDDEN, "wrong token"),
    }
    let who = auth::who(request.headers(), peer);
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let body = match Limited::new(request.into_body(), BODY_LIMIT)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large or unreadable",
            )
        }
    };
    let route = path.trim_start_matches("/api/v1");
    if method != Method::GET && !admin.accepting() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "starting: changes are taken once the checkpoint is restored",
        );
    }
    match (method, route) {
        (Method::GET, "/breakers") => ok(json!(admin.view.lock().expect("admin lock").breakers)),
        (Method::GET, "/gates") => ok(json!(admin.view.lock().expect("admin lock").gates)),
        (Method::GET, "/actions") => {
            let controller = admin.controller.lock().expect("admin lock");
            ok(Value::Array(
                controller.engaged().iter().map(views::action).collect(),
            ))
        }
        (Method::GET, "/transitions") => {
            let limit = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("limit="))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(100);
            let view = admin.view.lock().expect("admin lock");
            let skip = view.transitions.len().saturating_sub(limit);
            ok(json!(view
                .transitions
                .iter()
                .skip(skip)
                .collect::<Vec<_>>()))
        }
        (Method::GET, "/silences") => {
            let controller = admin.controller.lock().expect("admin lock");
            ok(Value::Array(
                controller.silences().iter().map(views::silence).collect(),
            ))
        }
        (Method::GET, "/deliveries") => {
            let stats = admin.stats.lock().expect("admin lock").clone();
            let counts: serde_json::Map<String, Value> = stats
                .snapshot()
                .into_iter()
                .map(|(name, c)| {
                    (
                        name,
                        json!({"delivered": c.delivered, "failed": c.failed, "retries": c.retries}),
                    )
                })
                .collect();
            ok(json!({
                "pending": admin.outbox.pending_count(),
                "notifiers": counts,
                "disabled": stats.disabled(),
                "parked": admin.outbox.parked(),
            }))
        }
        (Method::GET, "/audit") => ok(json!(admin
            .audit
            .lock()
            .expect("admin lock")
            .iter()
            .collect::<Vec<_>>())),
        (Method::POST, "/silences") => silence(&admin, &who, &body).await,
        (Method::DELETE, route) if route.starts_with("/silences/") => {
            let Ok(id) = route["/silences/".len()..].parse::<u64>() else {
                return error(StatusCode::BAD_REQUEST, "silence ids are numbers");
            };
            if !admin.controller.lock().expect("admin lock").unsilence(id) {
                return error(StatusCode::NOT_FOUND, "no such silence");
            }
            admin.audit(&who, format!("removed silence {id}"));
            durable(&admin, json!({"removed": id})).await
        }
        (
            Method::POST,
            "/actions/force-engage" | "/actions/force-release" | "/actions/clear-override",
        ) => override_action(&admin, &who, route, &body).await,
        (Method::POST, "/reload" | "/-/reload") => reload(&admin, who).await,
        (
            _,
            "/breakers" | "/gates" | "/actions" | "/transitions" | "/silences" | "/deliveries"
            | "/audit" | "/reload" | "/-/reload",
        ) => error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
        _ => error(StatusCode::NOT_FOUND, "no such admin route"),
    }
}

async fn silence(admin: &Admin, who: &str, body: &[u8]) -> Reply {
    let request: SilenceRequest = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(problem) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("invalid silence: {problem}"),
            )
        }
    };
    if request.duration.nanos() <= 0 {
        return error(StatusCode::BAD_REQUEST, "duration must be greater than 0");
    }
    let until = admin.now() + request.duration.nanos();
    let created = admin.controller.lock().expect("admin lock").silence(
        &request.rule,
        request.key.clone(),
        until,
        who,
        request.reason.clone(),
    );
    match created {
        Ok(silence) => {
            let key = request.key.as_deref().unwrap_or("*");
            admin.audit(
                who,
                format!(
                    "silenced rule {} key {key} for {} (id {})",
                    request.rule, request.duration, silence.id
                ),
            );
            match admin.persist().await {
                Ok(()) => respond(StatusCode::CREATED, views::silence(&silence)),
                Err(problem) => not_durable(&problem),
            }
        }
        Err(problem) => error(StatusCode::BAD_REQUEST, &problem.to_string()),
    }
}

async fn override_action(admin: &Arc<Admin>, who: &str, route: &str, body: &[u8]) -> Reply {
    let request: OverrideRequest = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(problem) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("invalid override: {problem}"),
            )
        }
    };
    let target = match request.target() {
        Ok(target) => target,
        Err(problem) => return error(StatusCode::BAD_REQUEST, &problem),
    };
    let now = admin.now();
    let until = request.duration.as_ref().map(|d| now + d.nanos());
    let described = format!(
        "{} {} key {} action {}",
        target.source.kind(),
        target.source.name(),
        target.key,
        target.action
    );
    // The messages are queued before the controller is let go: a
    // checkpoint (which reads both under this lock) then holds the change
    // with its messages, or neither.
    let result = {
        let mut controller = admin.controller.lock().expect("admin lock");
        let changed = match route {
            "/actions/force-engage" => {
                let level = request.level.unwrap_or(1.0);
                controller
                    .force_engage(target, level, until, who, request.reason.clone(), now)
                    .map_err(|e| e.to_string())
            }
            "/actions/force-release" => controller
                .force_release(target, until, who, request.reason.clone(), now)
                .map_err(|e| e.to_string()),
            _ => controller
                .clear_override(&target, now)
                .ok_or_else(|| "no override on that action".to_string()),
        };
        changed.map(|messages| {
            let sent: Vec<Value> = messages.iter().map(|m| json!(m)).collect();
            let queued = messages
                .into_iter()
                .try_for_each(|message| admin.outbox.enqueue(message.into()));
            (sent, queued)
        })
    };
    let (sent, queued) = match result {
        Ok(done) => done,
        Err(problem) => return error(StatusCode::BAD_REQUEST, &problem),
    };
    let verb = route.trim_start_matches("/actions/");
    let span = request
        .duration
        .as_ref()
        .map_or("until cleared".to_string(), |d| format!("for {d}"));
    admin.audit(who, format!("{verb} {described} {span}"));
    if let Err(problem) = queued {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("applied, but cannot queue its messages: {problem}"),
        );
    }
    durable(admin, json!({"messages": sent})).await
}

/// Answers `value` once the change is durable.
async fn durable(admin: &Admin, value: Value) -> Reply {
    match admin.persist().await {
        Ok(()) => ok(value),
        Err(problem) => not_durable(&problem),
    }
}

fn not_durable(problem: &str) -> Reply {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!(
            "applied, but not yet checkpointed ({problem}); the next checkpoint retries, and a crash before it forgets the change"
        ),
    )
}

async fn reload(admin: &Admin, who: String) -> Reply {
    let Some(requests) = &admin.reload else {
        return error(
            StatusCode::NOT_IMPLEMENTED,
            "this mode cannot reload its config",
        );
    };
    let (reply, answer) = oneshot::channel();
    if requests
        .send(ReloadRequest {
            who: who.clone(),
            reply,
        })
        .await
        .is_err()
    {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the run loop is stopping");
    }
    match answer.await {
        Ok(Ok(report)) => {
            admin.audit(&who, format!("reloaded the config: {report}"));
            ok(json!(report))
        }
        Ok(Err(problem)) => {
            tracing::warn!(who = %who, error = %problem, "config reload rejected; the old config keeps running");
            error(StatusCode::UNPROCESSABLE_ENTITY, &problem)
        }
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the run loop stopped before answering",
        ),
    }
}

fn ok(value: Value) -> Reply {
    respond(StatusCode::OK, value)
}

fn error(status: StatusCode, message: &str) -> Reply {
    respond(status, json!({ "error": message }))
}

fn respond(status: StatusCode, value: Value) -> Reply {
    let mut body = serde_json::to_vec_pretty(&value).unwrap_or_default();
    body.push(b'\n');
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("static response parts are valid")
}
