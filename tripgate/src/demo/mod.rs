//! `tripgate demo`: the simulated business in accelerated time, in a closed
//! loop. tripgate watches it, its webhooks reach the business's acquisition
//! system (a real local HTTP receiver), the business obeys, and the story is
//! printed as it unfolds while `/metrics` serves the contract's series.

mod receiver;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use base64::Engine as _;
use rand::RngCore;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tripgate_alerter::metrics::AlerterMetrics;
use tripgate_alerter::notify::Dispatcher;
use tripgate_alerter::{Alerter, Outcome};
use tripgate_model::config::{Config, NotifierConfig, Sensitive, DEMO_TOML};
use tripgate_model::time::parse_rfc3339;
use tripgate_model::{Notification, Span};
use tripgate_simulator::{Business, Controls, Scenario};

use crate::engine::Engine;
use crate::metrics::PipelineMetrics;
use crate::server::{self, Endpoints, Health};
use crate::status::StatusBoard;

const START: &str = "2025-01-06T08:00:00Z";
const NANOS_PER_MINUTE: i64 = 60_000_000_000;

pub struct DemoOptions {
    pub config: Vec<PathBuf>,
    /// Wall-clock length of the run.
    pub seconds: u64,
    /// Simulated hours shown in that time.
    pub hours: u64,
    pub seed: u64,
    /// Also post every transition to this Slack incoming webhook.
    pub slack_url: Option<String>,
    /// Also post every transition to this webhook, signed with `webhook_secret`.
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
}

pub async fn run(options: DemoOptions) -> anyhow::Result<()> {
    let controls = Arc::new(Mutex::new(Controls::default()));
    let (log, mut story) = mpsc::channel::<String>(1024);
    let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(random_key()));
    let acquisition = receiver::start(&secret, controls.clone(), log.clone()).await?;
    let config = demo_config(&options, &secret, &format!("http://{acquisition}/hooks/tripgate"))?;

    let shutdown = CancellationToken::new();
    let registry = prometheus::Registry::new();
    let alerter_metrics = AlerterMetrics::new(&registry, config.pipeline.metrics_max_keys)?;
    let pipeline_metrics = PipelineMetrics::new(&registry)?;
    let health = Arc::new(Health::default());
    let status = Arc::new(StatusBoard::new("demo", &config, &registry)?);
    let endpoints = Arc::new(Endpoints { registry, health: health.clone(), status: status.clone() });
    let (metrics_address, server_task) = server::start(&config.server.listen, endpoints, shutdown.clone())
        .await
        .with_context(|| format!("cannot listen on {} (set TRIPGATE__SERVER__LISTEN)", config.server.listen))?;
    health.set_ready(true);

    let dispatcher = Dispatcher::from_config(&config.notifiers)?;
    let delivery_stats = dispatcher.stats();
    let (notifications, queued) = mpsc::channel::<Notification>(1024);
    let dispatch_task = dispatcher.spawn(queued);

    println!("tripgate demo: a growing shop, {} simulated hours in {} s", options.hours, options.seconds);
    println!("  status page:        http://{metrics_address}/");
    println!("  metrics:            http://{metrics_address}/metrics");
    println!("  acquisition system: http://{acquisition}/hooks/tripgate (verifies signatures, obeys actions)");
    println!();

    let start = parse_rfc3339(START).expect("constant timestamp");
    let mut business = Business::new(Scenario::demo(), options.seed, start);
    let mut engine = Engine::new(&config);
    let specs = engine.specs().to_vec();
    let steps = (options.seconds * 10).max(1);
    let step_nanos = (options.hours as i64 * 60 * NANOS_PER_MINUTE) / steps as i64;
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let mut next_status = start;
    let mut transitions = 0u64;
    for step in 1..=steps {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        let now = start + step as i64 * step_nanos;
        let current_controls = controls.lock().expect("controls lock").clone();
        let mut outgoing = Vec::new();
        for line in business.advance(now, &current_controls) {
            engine.ingest(line.as_bytes());
            engine.advance(|snapshot, outcome, alerter| {
                alerter_metrics.observe(&specs, snapshot, outcome, alerter);
                status.observe(snapshot.tick, outcome, alerter);
                for line in describe(start, outcome) {
                    println!("{line}");
                }
                transitions += (outcome.transitions.len() + outcome.gates.len()) as u64;
                outgoing.extend(outcome.transitions.iter().map(|t| t.notification()));
                outgoing.extend(outcome.gates.iter().map(|g| g.notification()));
            });
        }
        pipeline_metrics.observe(&engine);
        pipeline_metrics.observe_deliveries(&delivery_stats);
        for notification in outgoing {
            if !notification.notify.is_empty() {
                notifications.send(notification).await.context("notification dispatcher stopped")?;
            }
        }
        while let Ok(line) = story.try_recv() {
            println!("{}  {line}", clock(start, now));
        }
        if now >= next_status {
            println!("{}  {}", clock(start, now), status_line(&business, engine.alerter()));
            next_status += 30 * NANOS_PER_MINUTE;
        }
    }
    drop(notifications);
    let _ = tokio::time::timeout(Duration::from_secs(5), dispatch_task).await;
    while let Ok(line) = story.try_recv() {
        println!("{line}");
    }
    println!();
    println!("{transitions} transitions; deliveries: {:?}", delivery_stats.snapshot());
    shutdown.cancel();
    let _ = server_task.await;
    Ok(())
}

/// The demo rules, the user's files over them, and the notifiers pointed
/// at the local acquisition system (and at real Slack/webhook URLs if given).
fn demo_config(options: &DemoOptions, secret: &str, acquisition_url: &str) -> anyhow::Result<Config> {
    let mut config = Config::load_over(Some(DEMO_TOML), &options.config)?;
    let timeout = Span::parse("2s").expect("constant duration");
    config.notifiers.insert(
        "acquisition-system".into(),
        NotifierConfig::Webhook {
            url: Sensitive(acquisition_url.into()),
            secret: Sensitive(secret.into()),
            timeout: timeout.clone(),
            retries: 5,
        },
    );
    let mut extra = Vec::new();
    if let Some(url) = &options.slack_url {
        config.notifiers.insert(
            "ops-slack".into(),
            NotifierConfig::Slack { url: Sensitive(url.clone()), timeout: timeout.clone(), retries: 3 },
        );
        extra.push("ops-slack".to_string());
    }
    if let Some(url) = &options.webhook_url {
        let secret = options.webhook_secret.clone().context("--webhook-url needs --webhook-secret (whsec_...)")?;
        config.notifiers.insert(
            "external-webhook".into(),
            NotifierConfig::Webhook { url: Sensitive(url.clone()), secret: Sensitive(secret), timeout, retries: 3 },
        );
        extra.push("external-webhook".to_string());
    }
    for rule in &mut config.rules {
        rule.notify.extend(extra.iter().cloned());
    }
    for gate in &mut config.gates {
        gate.notify.extend(extra.iter().cloned());
    }
    config.validate()?;
    Ok(config)
}

fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    key
}

/// Simulated time since the start, as `t+h:mm`.
fn clock(start: i64, now: i64) -> String {
    let minutes = (now - start) / NANOS_PER_MINUTE;
    format!("t+{}:{:02}", minutes / 60, minutes % 60)
}

fn describe(start: i64, outcome: &Outcome) -> Vec<String> {
    let mut lines = Vec::new();
    for t in &outcome.transitions {
        let comparison = match t.threshold {
            Some(limit) => format!("{:.3} vs limit {:.3}", t.value, limit),
            None => format!("{:.3}", t.value),
        };
        let samples = t.samples.map_or(String::new(), |n| format!(", {n} samples"));
        let window = t.window.as_deref().map_or(String::new(), |w| format!(", {w}"));
        let actions: Vec<String> = t
            .actions
            .iter()
            .map(|a| format!("{} {:?} {:.1}", a.name, a.state, a.level).to_lowercase())
            .collect();
        let actions = if actions.is_empty() { String::new() } else { format!("  => {}", actions.join(", ")) };
        lines.push(format!(
            "{}  breaker {} [{}={}]: {} -> {}  ({comparison}{window}{samples}){actions}",
            clock(start, t.tick),
            t.rule,
            t.scope,
            t.key,
            t.from,
            t.to
        ));
    }
    for g in &outcome.gates {
        let to = if g.opened { "open" } else { "closed" };
        let actions: Vec<String> = g.actions.iter().map(|a| format!("{} {:?}", a.name, a.state).to_lowercase()).collect();
        lines.push(format!("{}  gate {} -> {to}  {}", clock(start, g.tick), g.gate, actions.join(", ")));
    }
    lines
}

fn status_line(business: &Business, alerter: &Alerter) -> String {
    let status = business.status();
    let on_time = alerter
        .breakers()
        .find(|(rule, _)| rule.config.name == "on-time-delivery")
        .and_then(|(_, slots)| slots.first())
        .map(|slot| {
            let value = slot.last_value.map_or("n/a".to_string(), |v| format!("{:.1}%", v * 100.0));
            format!("on-time {value} ({})", slot.breaker.state)
        })
        .unwrap_or_else(|| "on-time n/a".to_string());
    let queued: usize = status.warehouses.iter().map(|w| w.backlog).sum();
    format!(
        "status: demand {:.0}/h, after throttle {:.0}/h, {queued} orders queued, {on_time}",
        status.demand_per_hour, status.effective_demand_per_hour
    )
}
