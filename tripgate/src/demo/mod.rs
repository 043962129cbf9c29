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
use tripgate_alerter::actions::ActionController;
use tripgate_alerter::metrics::AlerterMetrics;
use tripgate_alerter::notify::{Dispatcher, Outbox, Outgoing};
use tripgate_alerter::{Alerter, Outcome};
use tripgate_model::config::{Config, NotifierConfig, Sensitive, DEMO_TOML};
use tripgate_model::time::parse_rfc3339;
use tripgate_model::Span;
use tripgate_simulator::{Business, Controls, Scenario};

use crate::admin::reload::{self, ReloadReport};
use crate::admin::{Admin, ReloadRequest};
use crate::engine::Engine;
use crate::metrics::PipelineMetrics;
use crate::server::{self, Endpoints, Health};
use crate::status::StatusBoard;

const START: &str = "2025-01-06T08:00:00Z";
const NANOS_PER_MINUTE: i64 = 60_000_000_000;

#[derive(clap::Args)]
pub struct DemoOptions {
    /// Config files over the demo rules.
    #[arg(long)]
    pub config: Vec<PathBuf>,
    /// Wall-clock length of the demo.
    #[arg(long, default_value_t = 120)]
    pub seconds: u64,
    /// Simulated hours played in that time.
    #[arg(long, default_value_t = 5)]
    pub hours: u64,
    /// Same seed, same simulated business.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Also post transitions to this Slack incoming webhook.
    #[arg(long, env = "TRIPGATE_DEMO_SLACK_URL")]
    pub slack_url: Option<String>,
    /// Also post transitions to this webhook (Standard Webhooks signed).
    #[arg(long, env = "TRIPGATE_DEMO_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// The whsec_ secret for --webhook-url.
    #[arg(long, env = "TRIPGATE_DEMO_WEBHOOK_SECRET")]
    pub webhook_secret: Option<String>,
    /// The outbox journal (JSON Lines); undelivered messages survive a restart in it
    /// (default: a file in the temp folder).
    #[arg(long)]
    pub outbox: Option<PathBuf>,
}

pub async fn run(options: DemoOptions) -> anyhow::Result<()> {
    let controls = Arc::new(Mutex::new(Controls::default()));
    let (log, mut story) = mpsc::channel::<String>(1024);
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(random_key())
    );
    let acquisition = receiver::start(&secret, controls.clone(), log.clone()).await?;
    let acquisition_url = format!("http://{acquisition}/hooks/tripgate");
    let mut config = demo_config(&options, &secret, &acquisition_url)?;
    // Without a configured token the demo makes one up and prints it, so
    // the admin API is never open without authentication.
    let token = match &config.admin.token {
        Some(token) => token.clone(),
        None => Sensitive(hex(&random_key()[..16])),
    };
    config.admin.token = Some(token.clone());

    let shutdown = CancellationToken::new();
    let registry = prometheus::Registry::new();
    let alerter_metrics = AlerterMetrics::new(&registry, config.pipeline.metrics_max_keys)?;
    let pipeline_metrics = PipelineMetrics::new(&registry)?;
    let health = Arc::new(Health::default());
    let status = Arc::new(StatusBoard::new("demo", &config, &registry)?);
    let endpoints = Arc::new(Endpoints {
        registry,
        health: health.clone(),
        status: status.clone(),
    });

    let outbox_path = options.outbox.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("tripgate-demo-outbox-{}.jsonl", std::process::id()))
    });
    let outbox = Arc::new(
        Outbox::open_file(&outbox_path)
            .with_context(|| format!("cannot open the outbox {}", outbox_path.display()))?,
    );
    let dispatcher = Dispatcher::from_config(&config.notifiers)?;
    let mut delivery_stats = dispatcher.stats();
    let mut delivery = dispatcher.start(outbox.clone());
    let (reload_requests, mut reloads) = mpsc::channel::<ReloadRequest>(1);
    let admin = Arc::new(Admin::new(
        &config,
        ActionController::new(&config),
        outbox.clone(),
        delivery_stats.clone(),
        Some(reload_requests),
    ));
    let (metrics_address, server_task) = server::start(
        &config.server.listen,
        endpoints,
        Some(admin.clone()),
        shutdown.clone(),
    )
    .await
    .with_context(|| {
        format!(
            "cannot listen on {} (set TRIPGATE__SERVER__LISTEN)",
            config.server.listen
        )
    })?;
    health.set_ready(true);
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;

    println!(
        "tripgate demo: a growing shop, {} simulated hours in {} s",
        options.hours, options.seconds
    );
    println!("  status page:        http://{metrics_address}/");
    println!("  metrics:            http://{metrics_address}/metrics");
    println!(
        "  admin api:          http://{metrics_address}/api/v1/actions (Authorization: Bearer {})",
        token.expose()
    );
    println!("  outbox journal:     {}", outbox_path.display());
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
        let reload_by = tokio::select! {
            _ = ticker.tick() => None,
            _ = tokio::signal::ctrl_c() => break,
            _ = hangups.recv() => Some((String::from("sighup"), None)),
            Some(request) = reloads.recv() => Some((request.who, Some(request.reply))),
        };
        if let Some((who, reply)) = reload_by {
            let result = reload_config(
                &options,
                &secret,
                &acquisition_url,
                &token,
                &admin,
                &mut engine,
                &config,
            );
            let answer = match result {
                Ok((new_config, report, released)) => {
                    enqueue_all(&outbox, released);
                    delivery.stop().await;
                    let dispatcher = Dispatcher::from_config(&new_config.notifiers)?;
                    delivery_stats = dispatcher.stats();
                    admin.set_stats(delivery_stats.clone());
                    delivery = dispatcher.start(outbox.clone());
                    config = new_config;
                    println!(
                        "{}  config reloaded by {who}: {report}",
                        clock(start, business_now(start, step, step_nanos))
                    );
                    Ok(report)
                }
                Err(problem) => {
                    tracing::warn!(who = %who, error = %problem, "config reload rejected; the old config keeps running");
                    println!("config reload by {who} rejected: {problem}");
                    Err(problem)
                }
            };
            if let Some(reply) = reply {
                let _ = reply.send(answer);
            }
            continue;
        }
        let now = business_now(start, step, step_nanos);
        let current_controls = controls.lock().expect("controls lock").clone();
        let mut outgoing = Vec::new();
        for line in business.advance(now, &current_controls) {
            engine.ingest(line.as_bytes());
            let watermark = engine.watermark();
            engine.advance(|snapshot, outcome, alerter| {
                alerter_metrics.observe(&specs, &snapshot, outcome, alerter);
                status.observe(snapshot.tick, outcome, alerter);
                for line in describe(start, outcome) {
                    println!("{line}");
                }
                transitions += (outcome.transitions.len() + outcome.gates.len()) as u64;
                outgoing.extend(admin.on_tick(snapshot.tick, outcome, watermark));
                admin.refresh_views(alerter);
            });
        }
        // Leases are renewed (and release steps taken) between ticks too.
        outgoing.extend(admin.poll(now));
        pipeline_metrics.observe(&engine);
        pipeline_metrics.observe_deliveries(&delivery_stats);
        enqueue_all(&outbox, outgoing);
        while let Ok(line) = story.try_recv() {
            println!("{}  {line}", clock(start, now));
        }
        if now >= next_status {
            println!(
                "{}  {}",
                clock(start, now),
                status_line(&business, engine.alerter())
            );
            next_status += 30 * NANOS_PER_MINUTE;
        }
    }
    delivery.drain(Duration::from_secs(5)).await;
    while let Ok(line) = story.try_recv() {
        println!("{line}");
    }
    println!();
    println!(
        "{transitions} transitions; deliveries: {:?}; {} still pending in the outbox",
        delivery_stats.snapshot(),
        outbox.pending_count()
    );
    // A journal of the default temporary path belongs to this run only.
    if options.outbox.is_none() && outbox.pending_count() == 0 {
        let _ = std::fs::remove_file(&outbox_path);
    }
    shutdown.cancel();
    let _ = server_task.await;
    Ok(())
}

fn business_now(start: i64, step: u64, step_nanos: i64) -> i64 {
    start + step as i64 * step_nanos
}

/// Queues messages durably; the journal fsyncs, so off the async threads.
fn enqueue_all(outbox: &Outbox, messages: Vec<Outgoing>) {
    tokio::task::block_in_place(|| {
        for message in messages {
            if let Err(error) = outbox.enqueue(message) {
                tracing::error!(%error, "cannot queue a message");
            }
        }
    });
}

/// Loads the config files again over the demo rules and applies them.
#[allow(clippy::too_many_arguments)]
fn reload_config(
    options: &DemoOptions,
    secret: &str,
    acquisition_url: &str,
    token: &Sensitive,
    admin: &Admin,
    engine: &mut Engine,
    old: &Config,
) -> Result<(Config, ReloadReport, Vec<Outgoing>), String> {
    let mut new =
        demo_config(options, secret, acquisition_url).map_err(|error| format!("{error:#}"))?;
    if new.admin.token.is_none() {
        new.admin.token = Some(token.clone());
    }
    let (report, released) = reload::apply(admin, engine, old, &new)?;
    reload::park_orphans(admin, &new);
    Ok((new, report, released))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The demo rules, the user's files over them, and the notifiers pointed
/// at the local acquisition system (and at real Slack/webhook URLs if given).
fn demo_config(
    options: &DemoOptions,
    secret: &str,
    acquisition_url: &str,
) -> anyhow::Result<Config> {
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
            NotifierConfig::Slack {
                url: Sensitive(url.clone()),
                timeout: timeout.clone(),
                retries: 3,
            },
        );
        extra.push("ops-slack".to_string());
    }
    if let Some(url) = &options.webhook_url {
        let secret = options
            .webhook_secret
            .clone()
            .context("--webhook-url needs --webhook-secret (whsec_...)")?;
        config.notifiers.insert(
            "external-webhook".into(),
            NotifierConfig::Webhook {
                url: Sensitive(url.clone()),
                secret: Sensitive(secret),
                timeout,
                retries: 3,
            },
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
        let samples = t
            .samples
            .map_or(String::new(), |n| format!(", {n} samples"));
        let window = t
            .window
            .as_deref()
            .map_or(String::new(), |w| format!(", {w}"));
        let actions: Vec<String> = t
            .actions
            .iter()
            .map(|a| format!("{} {:?} {:.1}", a.name, a.state, a.level).to_lowercase())
            .collect();
        let actions = if actions.is_empty() {
            String::new()
        } else {
            format!("  => {}", actions.join(", "))
        };
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
        let actions: Vec<String> = g
            .actions
            .iter()
            .map(|a| format!("{} {:?}", a.name, a.state).to_lowercase())
            .collect();
        lines.push(format!(
            "{}  gate {} -> {to}  {}",
            clock(start, g.tick),
            g.gate,
            actions.join(", ")
        ));
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
            let value = slot
                .last_value
                .map_or("n/a".to_string(), |v| format!("{:.1}%", v * 100.0));
            format!("on-time {value} ({})", slot.breaker.state)
        })
        .unwrap_or_else(|| "on-time n/a".to_string());
    let queued: usize = status.warehouses.iter().map(|w| w.backlog).sum();
    format!(
        "status: demand {:.0}/h, after throttle {:.0}/h, {queued} orders queued, {on_time}",
        status.demand_per_hour, status.effective_demand_per_hour
    )
}
