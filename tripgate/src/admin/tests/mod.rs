//! The admin API over real HTTP, in controlled (tick) time: the harness and
//! auth here; actions and reload in the submodules.

use std::sync::Arc;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tripgate_alerter::actions::ActionController;
use tripgate_alerter::notify::{Dispatcher, Outbox};
use tripgate_alerter::{Outcome, Transition};
use tripgate_model::config::Config;
use tripgate_model::{ActionChange, ActionState, Band, Kpi, Nanos, ScopeDim};

use super::{reload, Admin, ReloadRequest};

mod actions;
mod reloading;
use crate::engine::Engine;
use crate::server::{self, Endpoints, Health};
use crate::status::StatusBoard;

pub(super) const TOKEN: &str = "test-token-0123456789";
pub(super) const MINUTE: Nanos = 60_000_000_000;
pub(super) const T0: Nanos = 1_735_725_600_000_000_000;

pub(super) fn config(red_limit: &str) -> Config {
    Config::from_toml(&format!(
        r#"
[admin]
token = "{TOKEN}"

[[rule]]
name = "ontime"
kpi = "on_time_rate"
window = "5m"
red = {{ below = {red_limit} }}
actions.red = [{{ name = "throttle", level = 1.0, release_steps = [0.5, 0.25], step_interval = "2m" }}]

[[rule]]
name = "defects"
kpi = "defect_rate"
window = "5m"
red = {{ above = 0.2 }}
"#
    ))
    .unwrap()
}

pub(super) struct Harness {
    pub(super) admin: Arc<Admin>,
    pub(super) address: String,
    pub(super) engine: Arc<std::sync::Mutex<Engine>>,
}

pub(super) async fn harness() -> Harness {
    let config = config("0.8");
    let registry = prometheus::Registry::new();
    let status = Arc::new(StatusBoard::new("test", &config, &registry).unwrap());
    let endpoints = Arc::new(Endpoints {
        registry,
        health: Arc::new(Health::default()),
        status,
    });
    let outbox = Arc::new(Outbox::in_memory());
    let stats = Dispatcher::from_config(&config.notifiers).unwrap().stats();
    let (requests, mut reloads) = mpsc::channel::<ReloadRequest>(1);
    let admin = Arc::new(Admin::new(
        &config,
        ActionController::new(&config),
        outbox,
        stats,
        Some(requests),
    ));
    let (address, _) = server::start(
        "127.0.0.1:0",
        endpoints,
        Some(admin.clone()),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let engine = Arc::new(std::sync::Mutex::new(Engine::new(&config)));
    // Plays the run loop's part in a reload: the "file" it reloads is the
    // next config the test pushed, or an invalid one.
    let (loop_admin, loop_engine) = (admin.clone(), engine.clone());
    tokio::spawn(async move {
        let mut current = config;
        while let Some(request) = reloads.recv().await {
            let next =
                Config::from_toml(&std::env::var("TRIPGATE_TEST_NEXT_RULES").unwrap_or_default());
            let answer = match next {
                Err(error) => Err(error.to_string()),
                Ok(next) => {
                    let mut engine = loop_engine.lock().unwrap();
                    reload::apply(&loop_admin, &mut engine, &current, &next).map(|(report, _)| {
                        current = next;
                        report
                    })
                }
            };
            let _ = request.reply.send(answer);
        }
    });
    Harness {
        admin,
        address: address.to_string(),
        engine,
    }
}

pub(super) async fn call(
    address: &str,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}x-tripgate-operator: alice\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let json = response
        .split_once("\r\n\r\n")
        .map_or(Value::Null, |(_, b)| {
            serde_json::from_str(b).unwrap_or(Value::Null)
        });
    (status, json)
}

pub(super) async fn api(
    h: &Harness,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    call(
        &h.address,
        method,
        path,
        Some(&format!("Bearer {TOKEN}")),
        body,
    )
    .await
}

pub(super) fn red(to: Band, version: u64, at: Nanos) -> Outcome {
    let engaged = to == Band::Red;
    Outcome {
        transitions: vec![Transition {
            tick: at,
            rule: "ontime".into(),
            kpi: Kpi::OnTimeRate,
            scope: ScopeDim::Global,
            key: Arc::from("all"),
            from: if engaged { Band::Green } else { Band::Red },
            to,
            value: 0.7,
            samples: Some(12),
            baseline: None,
            threshold: Some(0.8),
            window: Some("5m".into()),
            version,
            actions: vec![ActionChange {
                name: "throttle".into(),
                level: if engaged { 1.0 } else { 0.0 },
                state: if engaged {
                    ActionState::Engaged
                } else {
                    ActionState::Released
                },
            }],
            notify: vec![],
        }],
        gates: vec![],
    }
}

pub(super) fn tick(h: &Harness, outcome: &Outcome, at: Nanos) {
    let engine = h.engine.lock().unwrap();
    h.admin.on_tick(at, outcome, Some(at + MINUTE));
    h.admin.refresh_views(engine.alerter());
}

pub(super) fn throttle_level(actions: &Value) -> Option<f64> {
    actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["target"]["action"] == "throttle")
        .map(|a| a["level"].as_f64().unwrap())
}

#[tokio::test]
async fn auth_is_401_without_or_malformed_and_403_when_wrong() {
    let h = harness().await;
    assert_eq!(
        call(&h.address, "GET", "/api/v1/breakers", None, None)
            .await
            .0,
        401
    );
    assert_eq!(
        call(
            &h.address,
            "GET",
            "/api/v1/breakers",
            Some("Token abc"),
            None
        )
        .await
        .0,
        401
    );
    assert_eq!(
        call(
            &h.address,
            "GET",
            "/api/v1/breakers",
            Some("Bearer nope"),
            None
        )
        .await
        .0,
        403
    );
    assert_eq!(api(&h, "GET", "/api/v1/breakers", None).await.0, 200);
    assert_eq!(
        call(&h.address, "GET", "/metrics", None, None).await.0,
        200,
        "other routes stay open"
    );
}
