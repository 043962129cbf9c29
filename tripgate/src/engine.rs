//! The synchronous heart shared by backtest, demo and live mode: bytes in,
//! closed ticks with their outcomes out. One engine, so every mode computes
//! the same thing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tripgate_aggregator::{Aggregator, Counters};
use tripgate_alerter::{Alerter, AlerterState, Outcome};
use tripgate_model::config::{Config, Pipeline};
use tripgate_model::{Event, Nanos, RejectReason, TickSnapshot, WindowSpec};

/// What `Engine::save_state` writes.
#[derive(Serialize)]
struct SavedState<'a> {
    aggregator: &'a Aggregator,
    alerter: AlerterState,
    stats: &'a EngineStats,
}

/// What `Engine::restore` reads: the same fields, owned.
#[derive(Deserialize)]
struct EngineState {
    aggregator: Aggregator,
    alerter: AlerterState,
    stats: EngineStats,
}

pub struct Engine {
    max_event_bytes: usize,
    /// The settings the aggregator was built with (reload must keep them).
    pipeline: Pipeline,
    aggregator: Aggregator,
    alerter: Alerter,
    pub stats: EngineStats,
}

/// Totals for the end-of-run summary and metrics.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EngineStats {
    pub read: u64,
    pub rejected: BTreeMap<RejectReason, u64>,
    pub transitions_per_rule: BTreeMap<String, u64>,
    pub transitions_per_gate: BTreeMap<String, u64>,
}

impl Engine {
    pub fn new(config: &Config) -> Engine {
        let alerter = Alerter::new(config);
        let aggregator = Aggregator::new(&config.pipeline, alerter.window_specs());
        Engine {
            max_event_bytes: config.pipeline.max_event_bytes,
            pipeline: config.pipeline.clone(),
            aggregator,
            alerter,
            stats: EngineStats::default(),
        }
    }

    /// Everything a restart needs to continue exactly where this engine is:
    /// windows, joins, dedup, pending events, breakers, gates and totals.
    /// The state as bytes, in a buffer of `size_hint` bytes to start with
    /// (`bincode::serialize` would first walk the whole state to size it).
    pub fn save_state(&self, size_hint: usize) -> Vec<u8> {
        let state = SavedState {
            aggregator: &self.aggregator,
            alerter: self.alerter.export_state(),
            stats: &self.stats,
        };
        let mut bytes = Vec::with_capacity(size_hint);
        bincode::serialize_into(&mut bytes, &state).expect("engine state is always serializable");
        bytes
    }

    /// An engine for `config` continuing from a saved state. The pipeline
    /// settings and windows must be those the state was saved with.
    pub fn restore(config: &Config, saved: &[u8]) -> Result<Engine, bincode::Error> {
        let state: EngineState = bincode::deserialize(saved)?;
        let mut engine = Engine::new(config);
        engine.aggregator = state.aggregator;
        engine.alerter.import_state(state.alerter);
        engine.stats = state.stats;
        Ok(engine)
    }

    /// Switches to a reloaded config in place: breakers of the rules named
    /// in `keep` (unchanged definitions) carry on, others start over. The
    /// windows are the aggregator's state, so a config that changes them
    /// (or the pipeline settings) is refused: that needs a restart.
    pub fn reconfigure(&mut self, config: &Config, keep: &[String]) -> Result<(), String> {
        let alerter = Alerter::new(config);
        if alerter.window_specs() != self.alerter.window_specs() {
            return Err("the new rules need different KPI windows; restart to apply them".into());
        }
        let settings = |pipeline: &Pipeline| serde_json::to_value(pipeline).ok();
        if settings(&config.pipeline) != settings(&self.pipeline) {
            return Err("the [pipeline] settings changed; restart to apply them".into());
        }
        let mut state = self.alerter.export_state();
        state.rules.retain(|(name, _)| keep.contains(name));
        let mut alerter = alerter;
        alerter.import_state(state);
        self.alerter = alerter;
        Ok(())
    }

    /// Puts breakers in a known state (admin API tests).
    #[cfg(test)]
    pub fn import_alerter_state(&mut self, state: AlerterState) {
        self.alerter.import_state(state);
    }

    pub fn specs(&self) -> &[WindowSpec] {
        self.alerter.window_specs()
    }

    pub fn alerter(&self) -> &Alerter {
        &self.alerter
    }

    pub fn counters(&self) -> &Counters {
        self.aggregator.counters()
    }

    pub fn watermark(&self) -> Option<Nanos> {
        self.aggregator.watermark()
    }

    /// Decodes and offers one message; ticks are closed by `advance`.
    pub fn ingest(&mut self, bytes: &[u8]) {
        if let Some(event) = self.decode(bytes) {
            self.aggregator.offer(event);
        }
    }

    /// Decodes one message, counting it as read and, when it is rejected,
    /// its reason.
    pub fn decode(&mut self, bytes: &[u8]) -> Option<Event> {
        self.stats.read += 1;
        match tripgate_ingest::decode(bytes, self.max_event_bytes) {
            Ok(event) => Some(event),
            Err(rejection) => {
                self.reject(rejection.reason);
                None
            }
        }
    }

    /// Offers decoded events in order, as `offer` one by one would, and
    /// leaves `events` empty (see `Aggregator::offer_all`).
    pub fn offer_all(&mut self, events: &mut Vec<Event>) {
        self.aggregator.offer_all(events);
    }

    pub fn reject(&mut self, reason: RejectReason) {
        *self.stats.rejected.entry(reason).or_insert(0) += 1;
    }

    pub fn observe_wall_clock(&mut self, now: Nanos, idle_timeout: Nanos) {
        self.aggregator.observe_wall_clock(now, idle_timeout);
    }

    /// Closes every tick the watermark reached and evaluates it.
    pub fn advance(&mut self, mut on_tick: impl FnMut(TickSnapshot, &Outcome, &Alerter)) {
        let Engine {
            aggregator,
            alerter,
            stats,
            ..
        } = self;
        aggregator.advance(|snapshot| evaluate(alerter, stats, snapshot, &mut on_tick));
    }

    /// End of input: closes the remaining ticks (backtest).
    pub fn finish(&mut self, mut on_tick: impl FnMut(TickSnapshot, &Outcome, &Alerter)) {
        let Engine {
            aggregator,
            alerter,
            stats,
            ..
        } = self;
        aggregator.finish(|snapshot| evaluate(alerter, stats, snapshot, &mut on_tick));
    }
}

fn evaluate(
    alerter: &mut Alerter,
    stats: &mut EngineStats,
    snapshot: TickSnapshot,
    on_tick: &mut impl FnMut(TickSnapshot, &Outcome, &Alerter),
) {
    let outcome = alerter.evaluate(&snapshot);
    for transition in &outcome.transitions {
        *stats
            .transitions_per_rule
            .entry(transition.rule.clone())
            .or_insert(0) += 1;
    }
    for gate in &outcome.gates {
        *stats
            .transitions_per_gate
            .entry(gate.gate.clone())
            .or_insert(0) += 1;
    }
    on_tick(snapshot, &outcome, alerter);
}
