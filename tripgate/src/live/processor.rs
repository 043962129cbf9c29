//! The engine thread of live mode: records in time order from the source,
//! through the engine, out to `--out`, the action layer (the admin's
//! controller), the outbox and the dead-letter topic; checkpoints on an
//! interval, when an operator's change must be made durable, and at
//! shutdown; applies reloaded configs between records.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tripgate_alerter::metrics::AlerterMetrics;
use tripgate_alerter::notify::{NotifyError, Outbox, Outgoing as Message};
use tripgate_alerter::records::write_tick;
use tripgate_ingest::kafka::{DeadLetter, SourceHandle, SourceRecord};
use tripgate_model::config::Config;
use tripgate_model::time::format_rfc3339;
use tripgate_model::{Event, Nanos, RejectReason, Rejection, TickSnapshot, WindowSpec};

use super::checkpoint::{LiveExtras, Manifest, PartitionOffset, StateStore, FORMAT};
use super::control::Control;
use super::dead_letters::DeadLetters;
use super::metrics::LiveMetrics;
use super::output::OutputFile;
use super::{config_fingerprint, failpoint, rule_versions, LiveStatus};
use crate::admin::Admin;
use crate::engine::Engine;
use crate::server::Health;
use crate::status::StatusBoard;

/// Valid events offered to the engine together (`Engine::offer_all`).
const OFFER_TOGETHER: usize = 32;

/// Records read from the source between two turns of the engine loop
/// (advancing, exports, checkpoints).
const READ_AT_ONCE: usize = 512;

/// Dead letters awaiting acknowledgement before input is held back.
const MAX_UNACKED_DEAD_LETTERS: usize = 10_000;

pub struct Processor {
    pub config: Config,
    pub engine: Engine,
    pub specs: Vec<WindowSpec>,
    pub out: Option<OutputFile>,
    /// The action layer and the operator's view of it.
    pub admin: Arc<Admin>,
    pub outbox: Arc<Outbox>,
    /// Reloads and durability requests from the admin API and SIGHUP.
    pub control: Control,
    pub alerter_metrics: Arc<AlerterMetrics>,
    /// The last closed tick's snapshot while its values are not exported
    /// yet, and when they last were (see `export_metrics`).
    pub unexported: Option<TickSnapshot>,
    pub last_export: Instant,
    pub dead_letters: DeadLetters,
    pub offsets: BTreeMap<(String, i32), i64>,
    pub store: StateStore,
    pub health: Arc<Health>,
    pub metrics: Arc<LiveMetrics>,
    pub stop: Arc<AtomicBool>,
    pub last_checkpoint: Instant,
    /// (records read, ticks closed, notifications pending) at the last
    /// checkpoint: when none moved, an interval's checkpoint is skipped
    /// rather than rewriting the same state.
    pub checkpointed: (u64, u64, usize),
    /// The size to allocate for the next checkpoint's engine state.
    pub state_size_hint: usize,
    pub status: Arc<LiveStatus>,
    /// What `/` shows.
    pub board: Arc<StatusBoard>,
}

fn wall_clock_nanos() -> Nanos {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    since_epoch.as_nanos().min(i64::MAX as u128) as Nanos
}

impl Processor {
    /// Runs until `stop` is set, then shuts down within `deadline`: stop
    /// polling, let notifications go out, final checkpoint, commit.
    pub fn run(mut self, mut source: SourceHandle) -> anyhow::Result<()> {
        let idle_timeout = self.config.pipeline.idle_timeout.nanos();
        let interval = self.config.kafka.checkpoint_interval.as_std();
        self.health.set_ready(true);
        self.status.started.store(true, Ordering::Relaxed);
        while !self.stop.load(Ordering::Relaxed) {
            // Offered a few at a time and advanced once per read, as
            // backtest does (`Engine::offer_all`): ticks close as the
            // watermark reaches them, however often the engine advances.
            let mut events = Vec::with_capacity(OFFER_TOGETHER);
            // One clock read per read: its records arrived together.
            let mut future_limit = None;
            let read = source.read(Duration::from_millis(100), READ_AT_ONCE, |record| {
                let limit = *future_limit.get_or_insert_with(|| {
                    wall_clock_nanos().saturating_add(self.config.pipeline.max_future_skew.nanos())
                });
                self.process(&record, limit, &mut events)?;
                if events.len() == OFFER_TOGETHER {
                    self.engine.offer_all(&mut events);
                }
                anyhow::Ok(())
            })?;
            self.engine.offer_all(&mut events);
            self.metrics.events.inc_by(read as u64);
            let idle = read == 0;
            self.engine
                .observe_wall_clock(wall_clock_nanos(), idle_timeout);
            self.advance()?;
            if let Some(out) = &mut self.out {
                out.flush()?;
            }
            self.collect_dead_letter_acks(false)?;
            self.reload_if_asked();
            let persist = self.control.take_persist_requests();
            if !persist.is_empty() {
                let written = self.checkpoint(&source)?;
                for reply in persist {
                    let _ = reply.send(written.clone());
                }
            } else if self.last_checkpoint.elapsed() >= interval {
                if self.progress() == self.checkpointed {
                    self.last_checkpoint = Instant::now();
                } else {
                    let _ = self.checkpoint(&source)?;
                }
            }
            self.metrics.observe_engine(&self.engine);
            self.export_metrics(idle);
        }
        tracing::info!("shutting down: polling stopped");
        let deadline = Instant::now() + self.config.kafka.shutdown_deadline.as_std();
        let drain_until = Instant::now() + self.config.kafka.shutdown_deadline.as_std() / 2;
        while self.outbox.pending_count() > 0 && Instant::now() < drain_until {
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Err(problem) = self.checkpoint(&source)? {
            bail!("the final checkpoint failed ({problem}); the previous one stands");
        }
        drop(source);
        self.control.stop_delivery();
        tracing::info!(
            pending_notifications = self.outbox.pending_count(),
            left_ms = deadline
                .saturating_duration_since(Instant::now())
                .as_millis() as u64,
            "shutdown complete"
        );
        Ok(())
    }

    fn progress(&self) -> (u64, u64, usize) {
        (
            self.engine.stats.read,
            self.engine.counters().ticks,
            self.outbox.pending_count(),
        )
    }

    /// Puts the last closed tick's values into `/metrics` and the admin
    /// API's breaker and gate views: at once when
    /// input is idle, otherwise at most once a second. Catching up closes
    /// ticks far faster than anyone scrapes, and an export costs about a
    /// millisecond (every series is set again).
    fn export_metrics(&mut self, idle: bool) {
        if !idle && self.last_export.elapsed() < Duration::from_secs(1) {
            return;
        }
        if let Some(snapshot) = self.unexported.take() {
            self.alerter_metrics
                .export(&self.specs, Some(&snapshot), self.engine.alerter());
            self.admin.refresh_views(self.engine.alerter());
            self.last_export = Instant::now();
        }
    }

    /// Applies a reload asked for since the last record, if any; a config
    /// that does not load or cannot be applied leaves the running one.
    fn reload_if_asked(&mut self) {
        let Some((who, reply)) = self.control.take_reload_request() else {
            return;
        };
        let answer = self
            .control
            .reload(&self.admin, &mut self.engine, &self.config);
        let answer = match answer {
            Ok((config, report, released)) => {
                self.config = config;
                self.specs = self.engine.specs().to_vec();
                self.enqueue(released);
                tracing::info!(who = %who, report = %report, "config reloaded");
                Ok(report)
            }
            Err(problem) => {
                tracing::warn!(who = %who, error = %problem, "config reload rejected; the old config keeps running");
                Err(problem)
            }
        };
        if let Some(reply) = reply {
            let _ = reply.send(answer);
        }
    }

    /// Queues messages for delivery. A full outbox (receivers down for a
    /// long time) makes the engine wait here, so the consumer stops
    /// rather than a message being dropped.
    fn enqueue(&self, messages: Vec<Message>) {
        for message in messages {
            let mut warned = false;
            loop {
                match self.outbox.enqueue(message.clone()) {
                    Ok(()) => break,
                    Err(NotifyError::OutboxFull(capacity)) => {
                        if !warned {
                            tracing::warn!(
                                capacity,
                                "the outbox is full: input waits for deliveries"
                            );
                            warned = true;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    Err(error) => {
                        // Only a journal can fail otherwise, and live mode keeps none.
                        tracing::error!(id = %message.id(), %error, "cannot queue a message");
                        break;
                    }
                }
            }
        }
    }

    /// Adds the event a record holds to `events`, if it is valid (pushed
    /// where it is decoded: returned, it was copied twice more); an invalid
    /// one is dead-lettered. `future_limit`: the latest `occurred_at` accepted
    /// (the wall clock plus `max_future_skew`).
    fn process(
        &mut self,
        record: &SourceRecord<'_>,
        future_limit: Nanos,
        events: &mut Vec<Event>,
    ) -> anyhow::Result<()> {
        let topic = record.topic;
        // Found in place: no key to build for the records of a known partition.
        match self
            .offsets
            .iter_mut()
            .find(|((known, partition), _)| *partition == record.partition && known == topic)
        {
            Some((_, next)) => *next = record.offset + 1,
            None => {
                self.offsets
                    .insert((topic.to_string(), record.partition), record.offset + 1);
            }
        }
        self.engine.stats.read += 1;
        let bytes = record.payload.unwrap_or_default();
        let max_bytes = self.config.pipeline.max_event_bytes;
        let rejection = match tripgate_ingest::decode(bytes, max_bytes) {
            Ok(event) if event.occurred_at <= future_limit => {
                events.push(event);
                return Ok(());
            }
            Ok(event) => Rejection::new(
                RejectReason::FutureTimestamp,
                format!(
                    "occurred_at {} is more than max_future_skew ({}) ahead of the wall clock",
                    format_rfc3339(event.occurred_at),
                    self.config.pipeline.max_future_skew
                ),
            ),
            Err(rejection) => rejection,
        };
        // Counted in the engine's totals, exported as tripgate_events_rejected_total.
        self.engine.reject(rejection.reason);
        let letter = DeadLetter {
            key: record.key.map(<[u8]>::to_vec),
            payload: record.payload.map(<[u8]>::to_vec),
            rejection,
            source_topic: topic.to_string(),
            source_partition: record.partition,
            source_offset: record.offset,
        };
        self.dead_letters.send(letter)?;
        if self.dead_letters.outstanding() >= MAX_UNACKED_DEAD_LETTERS {
            self.collect_dead_letter_acks(true)?;
        }
        Ok(())
    }

    fn advance(&mut self) -> anyhow::Result<()> {
        let mut write_error = None;
        let mut messages = Vec::new();
        let watermark = self.engine.watermark();
        let Processor {
            engine,
            specs,
            out,
            admin,
            board,
            alerter_metrics,
            unexported,
            ..
        } = self;
        // Action timers run only at tick closes (which go on while input is
        // idle), never between them: messages are then a function of the
        // input alone, and a replay after a crash makes the same ones, ids
        // included.
        engine.advance(|snapshot, outcome, alerter| {
            board.observe(snapshot.tick, outcome, alerter);
            alerter_metrics.count(outcome);
            if let Some(out) = out.as_mut() {
                if let Err(error) = write_tick(out.writer(), specs, &snapshot, outcome) {
                    write_error.get_or_insert(error);
                }
            }
            messages.extend(admin.on_tick(snapshot.tick, outcome, watermark));
            *unexported = Some(snapshot);
        });
        self.enqueue(messages);
        match write_error {
            Some(error) => Err(error).context("cannot write the --out file"),
            None => Ok(()),
        }
    }

    fn collect_dead_letter_acks(&mut self, wait_all: bool) -> anyhow::Result<()> {
        self.dead_letters
            .collect(wait_all, &self.metrics, &self.status)
    }

    /// Writes a checkpoint covering every record processed so far, then
    /// commits those offsets to the group. A failed write is logged and
    /// retried at the next interval; the previous checkpoint stays in force.
    /// Returns whether it was written (or why not), for operators waiting on it.
    fn checkpoint(&mut self, source: &SourceHandle) -> anyhow::Result<Result<(), String>> {
        self.last_checkpoint = Instant::now();
        self.collect_dead_letter_acks(true)?;
        let out_len = match &mut self.out {
            Some(out) => Some(out.sync()?),
            None => None,
        };
        failpoint::hit("checkpoint-start");
        let engine = self.engine.save_state(self.state_size_hint);
        // The state grows while a backlog is read: room for some growth.
        self.state_size_hint = engine.len() + engine.len() / 8;
        // One lock over both, so an operator's change and the messages it
        // queued are in the same checkpoint or neither.
        let extras = {
            let controller = self.admin.controller.lock().expect("admin lock");
            LiveExtras {
                actions: controller.export_state(),
                pending: self.outbox.pending(),
            }
        };
        let manifest = Manifest {
            format: FORMAT,
            sequence: 0,
            chunks: 0,
            state_bytes: 0,
            state_sha256: String::new(),
            engine_bytes: 0,
            config_fingerprint: config_fingerprint(&self.config),
            rule_versions: rule_versions(&self.config),
            offsets: self
                .offsets
                .iter()
                .map(|((topic, partition), next)| PartitionOffset {
                    topic: topic.clone(),
                    partition: *partition,
                    next: *next,
                })
                .collect(),
            out_len,
        };
        let progress = self.progress();
        match self.store.write(engine, &extras, manifest) {
            Ok(written) => {
                self.checkpointed = progress;
                self.metrics.observe_checkpoint(&written);
                tracing::info!(
                    bytes = written.bytes,
                    chunks = written.chunks,
                    duration_ms = written.duration.as_millis() as u64,
                    "checkpoint written"
                );
                if let Err(error) = source.commit(&self.offsets) {
                    tracing::warn!(error = %error, "offset commit failed; the checkpoint stands");
                }
                Ok(Ok(()))
            }
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "checkpoint failed; retrying at the next interval");
                self.metrics.checkpoint_failures.inc();
                Ok(Err(format!("{error:#}")))
            }
        }
    }
}
