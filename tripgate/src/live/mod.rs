//! `tripgate run`: live mode on Kafka. This module wires the stages,
//! downstream first: the outbox and its delivery tasks, the action layer
//! with the admin API, the HTTP endpoints, then on a blocking thread the
//! topics, the checkpoint, the engine, and last the source that feeds it.
//! See docs/ARCHITECTURE.md, "Live mode and durability", for the
//! guarantees.

mod checkpoint;
mod control;
mod dead_letters;
mod failpoint;
mod metrics;
mod output;
mod processor;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use prometheus::Registry;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tripgate_alerter::actions::ActionController;
use tripgate_alerter::metrics::AlerterMetrics;
use tripgate_alerter::notify::{Dispatcher, Outbox};
use tripgate_ingest::kafka::{
    ensure_topics, start_source, AckedProducer, ClientHealth, SourceHandle, SourceOptions,
    TopicSpec,
};
use tripgate_model::config::Config;

use self::checkpoint::{sha256_hex, LiveExtras, StateStore};
use self::control::Control;
use self::dead_letters::DeadLetters;
use self::metrics::LiveMetrics;
use self::output::OutputFile;
use self::processor::Processor;
use crate::admin::{rule_version, Admin, ReloadRequest};
use crate::engine::Engine;
use crate::server::{self, Endpoints, Health};
use crate::status::StatusBoard;

/// What the engine thread tells the health reporter.
#[derive(Default)]
pub struct LiveStatus {
    /// Set once restored and consuming; before that, startup owns /readyz.
    started: AtomicBool,
    /// Why dead-letter writes are failing, while they are.
    dead_letter_trouble: std::sync::Mutex<Option<String>>,
}

impl LiveStatus {
    pub fn set_dead_letter_trouble(&self, trouble: Option<String>) {
        *self.dead_letter_trouble.lock().expect("status lock") = trouble;
    }
}

/// A startup problem waiting will not fix (a checkpoint of another config,
/// an `--out` file changed behind tripgate's back): reported and fatal,
/// where broker trouble is retried.
#[derive(Debug)]
pub(crate) struct Fatal(String);

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Fatal {}

/// How long one attempt to reach the broker at startup may take.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// `config` is what `config_files` loaded; a reload reads them again.
pub fn run(config: Config, config_files: Vec<PathBuf>, out: Option<PathBuf>) -> anyhow::Result<()> {
    // Logging is set up by main (TRIPGATE_LOG, --log-format).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(serve(config, config_files, out));
    // After a shutdown past its deadline the engine thread may still wait
    // for the broker (a checkpoint waits up to minutes for acks): dropping
    // the runtime would wait for it too, so leave it behind.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// What the checkpoint's engine state must match: the pipeline settings
/// and the KPI windows the rules need. Rules and gates may change between
/// runs as a reload changes them (`Manifest::rule_versions`); notifiers
/// freely.
pub fn config_fingerprint(config: &Config) -> String {
    let windows = Engine::new(config).specs().to_vec();
    let relevant = serde_json::json!({
        "pipeline": config.pipeline,
        "windows": format!("{windows:?}"),
    });
    sha256_hex(relevant.to_string().as_bytes())
}

/// Each rule's definition fingerprint, as checkpointed.
pub fn rule_versions(config: &Config) -> BTreeMap<String, String> {
    config
        .rules
        .iter()
        .map(|rule| (rule.name.clone(), rule_version(config, &rule.name)))
        .collect()
}

async fn serve(
    config: Config,
    config_files: Vec<PathBuf>,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    // First, so that a SIGTERM during startup is a graceful stop too.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let registry = Registry::new();
    let metrics = Arc::new(LiveMetrics::new(&registry)?);
    let alerter_metrics = Arc::new(AlerterMetrics::new(
        &registry,
        config.pipeline.metrics_max_keys,
    )?);
    let health = Arc::new(Health::default());
    let board = Arc::new(StatusBoard::new("live", &config, &registry)?);
    let endpoints = Arc::new(Endpoints {
        registry,
        health: health.clone(),
        status: board.clone(),
    });
    // In memory: each checkpoint holds what is undelivered.
    let outbox = Arc::new(Outbox::in_memory());
    let dispatcher = Dispatcher::from_config(&config.notifiers)?;
    let (reload_requests, reloads) = mpsc::channel::<ReloadRequest>(4);
    let admin = Arc::new(Admin::new(
        &config,
        ActionController::new(&config),
        outbox.clone(),
        dispatcher.stats(),
        Some(reload_requests.clone()),
    ));
    let (persist_requests, persist) = std::sync::mpsc::channel();
    admin.set_persistence(persist_requests);
    admin.set_accepting(false);
    let delivery = dispatcher.start(outbox.clone());
    let server_stop = CancellationToken::new();
    let (address, server_task) = server::start(
        &config.server.listen,
        endpoints,
        Some(admin.clone()),
        server_stop.clone(),
    )
    .await
    .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    tracing::info!(%address, "serving /metrics, /healthz, /readyz and the admin API");
    let client_health = ClientHealth::new();
    let stop = Arc::new(AtomicBool::new(false));
    let status = Arc::new(LiveStatus::default());
    let reporter = tokio::spawn(report_health(
        metrics.clone(),
        client_health.clone(),
        admin.clone(),
        health.clone(),
        status.clone(),
    ));
    let deadline = config.kafka.shutdown_deadline.as_std();
    let control = Control {
        config_files,
        reloads,
        persist,
        outbox,
        delivery: Some(delivery),
        runtime: tokio::runtime::Handle::current(),
    };
    let mut worker = tokio::task::spawn_blocking({
        let stop = stop.clone();
        move || {
            let parts = Parts {
                board,
                status,
                config,
                out,
                admin,
                control,
                alerter_metrics,
                health,
                client_health,
                metrics,
                stop,
            };
            start_and_run(parts)
        }
    });
    let result = loop {
        tokio::select! {
            joined = &mut worker => break joined,
            _ = hangups.recv() => {
                // The engine thread applies it between records.
                let (reply, _) = oneshot::channel();
                let request = ReloadRequest { who: "sighup".into(), reply };
                if reload_requests.try_send(request).is_err() {
                    tracing::warn!("SIGHUP ignored: a reload is already waiting");
                }
            }
            signal = shutdown_signal(&mut terminate) => {
                signal?;
                tracing::info!("shutdown requested");
                stop.store(true, Ordering::Relaxed);
                match tokio::time::timeout(deadline, &mut worker).await {
                    Ok(joined) => break joined,
                    Err(_) => {
                        server_stop.cancel();
                        bail!("shutdown did not finish within kafka.shutdown_deadline ({deadline:?}); the last checkpoint stands")
                    }
                }
            }
        }
    };
    reporter.abort();
    server_stop.cancel();
    let _ = server_task.await;
    result.context("the live engine thread panicked")?
}

async fn shutdown_signal(terminate: &mut tokio::signal::unix::Signal) -> anyhow::Result<()> {
    tokio::select! {
        _ = terminate.recv() => {}
        interrupted = tokio::signal::ctrl_c() => interrupted?,
    }
    Ok(())
}

/// Once a second: client metrics, and /readyz's degraded reason. Done
/// here rather than on the engine thread, which may be blocked waiting for
/// the very broker whose absence must be reported.
async fn report_health(
    metrics: Arc<LiveMetrics>,
    client_health: Arc<ClientHealth>,
    admin: Arc<Admin>,
    health: Arc<Health>,
    status: Arc<LiveStatus>,
) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    loop {
        every.tick().await;
        metrics.observe_client(&client_health, admin.outbox.pending_count());
        metrics.observe_deliveries(&admin.delivery_stats());
        if !status.started.load(Ordering::Relaxed) {
            continue;
        }
        let degraded = if client_health.reachable() {
            status
                .dead_letter_trouble
                .lock()
                .expect("status lock")
                .clone()
        } else {
            let why = client_health.last_error().unwrap_or_default();
            Some(format!("kafka broker unreachable: {why}"))
        };
        health.set_degraded(degraded);
    }
}

struct Parts {
    board: Arc<StatusBoard>,
    status: Arc<LiveStatus>,
    config: Config,
    out: Option<PathBuf>,
    admin: Arc<Admin>,
    control: Control,
    alerter_metrics: Arc<AlerterMetrics>,
    health: Arc<Health>,
    client_health: Arc<ClientHealth>,
    metrics: Arc<LiveMetrics>,
    stop: Arc<AtomicBool>,
}

/// Waits for the broker (degraded meanwhile), restores, then runs.
fn start_and_run(parts: Parts) -> anyhow::Result<()> {
    let mut pause = Duration::from_secs(1);
    let (started, source) = loop {
        if parts.stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        match start(&parts) {
            Ok(started) => break started,
            Err(error) if error.downcast_ref::<Fatal>().is_some() => return Err(error),
            Err(error) => {
                let reason = format!("waiting for kafka: {error:#}");
                tracing::warn!(error = %format!("{error:#}"), retry_in_ms = pause.as_millis() as u64, "cannot start live mode yet");
                parts.health.set_degraded(Some(reason));
                let until = Instant::now() + pause;
                while Instant::now() < until && !parts.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                }
                pause = (pause * 2).min(Duration::from_secs(10));
            }
        }
    };
    parts.health.set_degraded(None);
    let Parts {
        board,
        status,
        config,
        admin,
        control,
        alerter_metrics,
        health,
        metrics,
        stop,
        ..
    } = parts;
    // Only now, when nothing can fail any more: a retried start must not
    // restore twice.
    if let Some(extras) = started.extras {
        let mut controller = ActionController::restore(&config, extras.actions);
        control.outbox.restore(extras.pending)?;
        // Actions of rules that changed since are released, as on reload.
        let now = started
            .engine
            .watermark()
            .unwrap_or_else(tripgate_model::time::wall_clock_now);
        admin.observe_time(now);
        for message in controller.reconfigure(&config, &started.dropped, now) {
            control.outbox.enqueue(message.into())?;
        }
        *admin.controller.lock().expect("admin lock") = controller;
    }
    admin.set_accepting(true);
    let specs = started.engine.specs().to_vec();
    // Restored bands and levels are scraped at once, not only after a tick,
    // and the status page shows them as of the last tick closed.
    alerter_metrics.export(&specs, None, started.engine.alerter());
    if let Some(watermark) = started.engine.watermark() {
        let tick = config.pipeline.tick.nanos();
        let last_closed = watermark.div_euclid(tick) * tick;
        board.observe(last_closed, &Default::default(), started.engine.alerter());
    }
    let processor = Processor {
        outbox: control.outbox.clone(),
        config,
        engine: started.engine,
        specs,
        out: started.out,
        admin,
        control,
        alerter_metrics,
        unexported: None,
        last_export: Instant::now(),
        dead_letters: started.dead_letters,
        offsets: started.offsets,
        store: started.store,
        health,
        metrics,
        stop,
        last_checkpoint: Instant::now(),
        checkpointed: (u64::MAX, 0, 0),
        state_size_hint: 0,
        status,
        board,
    };
    processor.run(source)
}

/// What a successful start restored and opened.
struct Started {
    engine: Engine,
    /// The action layer's part of the checkpoint, if there was one.
    extras: Option<LiveExtras>,
    /// Rules of the checkpoint changed or removed in the config since.
    dropped: Vec<String>,
    out: Option<OutputFile>,
    offsets: BTreeMap<(String, i32), i64>,
    store: StateStore,
    dead_letters: DeadLetters,
}

fn start(parts: &Parts) -> anyhow::Result<(Started, SourceHandle)> {
    let config = &parts.config;
    let kafka = &config.kafka;
    let mut topics = crate::produce::input_topics(kafka);
    // Dead letters are stamped when written, so the default retention applies.
    topics.push(TopicSpec {
        name: kafka.dead_letter_topic.clone(),
        partitions: kafka.partitions,
        replication_factor: kafka.replication_factor,
        compacted: false,
        retention_ms: None,
    });
    topics.push(TopicSpec {
        name: kafka.state_topic.clone(),
        partitions: 1,
        replication_factor: kafka.replication_factor,
        compacted: true,
        retention_ms: None,
    });
    parts.control.runtime.block_on(ensure_topics(
        kafka,
        parts.client_health.clone(),
        &topics,
        STARTUP_TIMEOUT,
    ))?;
    let state_producer =
        AckedProducer::new(kafka, parts.client_health.clone(), "state", Duration::ZERO)?;
    let mut store = StateStore::new(&kafka.state_topic, state_producer);
    let restored = store.read_latest(kafka, STARTUP_TIMEOUT * 3)?;
    let mut dropped = Vec::new();
    let (engine, manifest, extras) = match restored {
        Some(restored) => {
            let manifest = restored.manifest;
            if manifest.config_fingerprint != config_fingerprint(config) {
                return Err(Fatal(format!(
                    "the checkpoint in {} was made with other [pipeline] settings or KPI windows; \
                     restore those, or use a new state_topic and group_id to start over",
                    kafka.state_topic
                ))
                .into());
            }
            let mut engine = Engine::restore(config, &restored.engine).map_err(|error| {
                Fatal(format!(
                    "cannot restore the engine from the checkpoint: {error}"
                ))
            })?;
            // Rules edited while tripgate was down apply as a reload would.
            let versions = rule_versions(config);
            let kept: Vec<String> = versions
                .iter()
                .filter(|(name, version)| manifest.rule_versions.get(*name) == Some(version))
                .map(|(name, _)| name.clone())
                .collect();
            dropped = manifest
                .rule_versions
                .keys()
                .filter(|name| !kept.contains(name))
                .cloned()
                .collect();
            if kept.len() != versions.len() || !dropped.is_empty() {
                engine
                    .reconfigure(config, &kept)
                    .map_err(|problem| Fatal(format!("cannot apply the config: {problem}")))?;
                tracing::info!(
                    kept = kept.len(),
                    changed_or_removed = ?dropped,
                    "rules changed since the checkpoint: applied as a reload"
                );
            }
            tracing::info!(
                sequence = manifest.sequence,
                bytes = manifest.state_bytes,
                partitions = manifest.offsets.len(),
                pending_messages = restored.extras.pending.len(),
                engaged_actions = restored.extras.actions.engaged.len(),
                "checkpoint restored"
            );
            (engine, Some(manifest), Some(restored.extras))
        }
        None => {
            tracing::info!(topic = %kafka.state_topic, "no checkpoint: starting from the beginning of the input");
            (Engine::new(config), None, None)
        }
    };
    let out = match &parts.out {
        Some(path) => {
            let keep = manifest.as_ref().and_then(|m| m.out_len).unwrap_or(0);
            Some(OutputFile::open(path, keep).map_err(|error| Fatal(format!("{error:#}")))?)
        }
        None => None,
    };
    let offsets: BTreeMap<(String, i32), i64> = manifest
        .iter()
        .flat_map(|m| &m.offsets)
        .map(|o| ((o.topic.clone(), o.partition), o.next))
        .collect();
    let dead_letters = DeadLetters::new(
        &kafka.dead_letter_topic,
        AckedProducer::new(
            kafka,
            parts.client_health.clone(),
            "dead-letters",
            Duration::from_millis(5),
        )?,
    );
    let source = start_source(
        kafka,
        parts.client_health.clone(),
        SourceOptions {
            topics: kafka.topics.all().iter().map(|t| t.to_string()).collect(),
            start_offsets: offsets.clone(),
            idle: kafka.partition_idle.as_std(),
            metadata_timeout: STARTUP_TIMEOUT,
            // The merge's entries of 18 partitions (three topics of six)
            // then fit in the L2 cache, 64 bytes each: every record handed
            // on reads its partition's next one (docs/BENCHMARKS.md).
            max_buffered: 256,
        },
    )?;
    let started = Started {
        engine,
        extras,
        dropped,
        out,
        offsets,
        store,
        dead_letters,
    };
    Ok((started, source))
}
