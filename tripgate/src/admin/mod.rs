//! The operator's side of the action layer: the state the admin API reads
//! and changes, shared by the run loop (which feeds it every tick) and the
//! HTTP handlers (`routes.rs`). Mode-agnostic: the demo and live mode both
//! use it; live mode also makes every change durable before answering
//! ([`Admin::set_persistence`]).
//!
//! The run loop calls [`Admin::on_tick`] with each closed tick and
//! [`Admin::poll`] between ticks, and enqueues what they return into the
//! outbox; handlers enqueue what operator actions produce themselves.

mod auth;
pub mod reload;
mod routes;
#[cfg(test)]
mod tests;
mod views;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};
use tripgate_alerter::actions::ActionController;
use tripgate_alerter::notify::{DeliveryStats, Outbox, Outgoing};
use tripgate_alerter::{Alerter, Outcome};
use tripgate_model::config::Config;
use tripgate_model::time::format_rfc3339;
use tripgate_model::Nanos;

pub use routes::handle;
pub use views::TransitionRecord;
use views::{BreakerView, GateView};

/// Transitions kept for `GET /api/v1/transitions`.
const RECENT_TRANSITIONS: usize = 500;
/// Mutations kept for `GET /api/v1/audit` (each is also logged).
const AUDIT_KEPT: usize = 500;

/// A request to the run loop to checkpoint now; it answers once the
/// checkpoint is written (or why it could not be).
pub type PersistRequest = oneshot::Sender<Result<(), String>>;

/// A reload asked for over HTTP (or by SIGHUP); the run loop answers.
pub struct ReloadRequest {
    pub who: String,
    pub reply: oneshot::Sender<Result<reload::ReloadReport, String>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    pub at: String,
    pub who: String,
    pub what: String,
}

/// What the admin API serves and steers.
pub struct Admin {
    token: Mutex<Option<String>>,
    pub controller: Mutex<ActionController>,
    pub outbox: Arc<Outbox>,
    stats: Mutex<Arc<DeliveryStats>>,
    /// The controller's clock: the latest tick (event time) the loop saw.
    now: AtomicI64,
    view: Mutex<View>,
    audit: Mutex<VecDeque<AuditEntry>>,
    reload: Option<mpsc::Sender<ReloadRequest>>,
    /// Live mode: where to ask for a checkpoint after a change.
    persist: Mutex<Option<std::sync::mpsc::Sender<PersistRequest>>>,
    /// False while live mode restores its checkpoint: changes then would
    /// be overwritten by the restored state, so they are refused.
    accepting: AtomicBool,
}

#[derive(Default)]
struct View {
    breakers: Vec<BreakerView>,
    gates: Vec<GateView>,
    transitions: VecDeque<TransitionRecord>,
    rule_versions: HashMap<String, String>,
}

impl Admin {
    pub fn new(
        config: &Config,
        controller: ActionController,
        outbox: Arc<Outbox>,
        stats: Arc<DeliveryStats>,
        reload: Option<mpsc::Sender<ReloadRequest>>,
    ) -> Admin {
        let admin = Admin {
            token: Mutex::new(None),
            controller: Mutex::new(controller),
            outbox,
            stats: Mutex::new(stats),
            now: AtomicI64::new(0),
            view: Mutex::new(View::default()),
            audit: Mutex::new(VecDeque::new()),
            reload,
            persist: Mutex::new(None),
            accepting: AtomicBool::new(true),
        };
        admin.adopt_config(config);
        admin
    }

    /// Takes the token and rule versions of a (re)loaded config.
    pub fn adopt_config(&self, config: &Config) {
        *self.token.lock().expect("admin lock") =
            config.admin.token.as_ref().map(|t| t.expose().to_string());
        self.view.lock().expect("admin lock").rule_versions = config
            .rules
            .iter()
            .map(|rule| (rule.name.clone(), rule_version(config, &rule.name)))
            .collect();
    }

    /// Makes every change wait for a checkpoint before it is answered.
    pub fn set_persistence(&self, requests: std::sync::mpsc::Sender<PersistRequest>) {
        *self.persist.lock().expect("admin lock") = Some(requests);
    }

    /// Whether changes are taken now (see the field).
    pub fn set_accepting(&self, accepting: bool) {
        self.accepting.store(accepting, Ordering::Relaxed);
    }

    fn accepting(&self) -> bool {
        self.accepting.load(Ordering::Relaxed)
    }

    /// Waits until a change is durable (live mode: in a checkpoint); at
    /// once where nothing is checkpointed.
    async fn persist(&self) -> Result<(), String> {
        let Some(requests) = self.persist.lock().expect("admin lock").clone() else {
            return Ok(());
        };
        let (reply, answer) = oneshot::channel();
        requests
            .send(reply)
            .map_err(|_| "the run loop is stopping".to_string())?;
        answer
            .await
            .map_err(|_| "the run loop stopped before checkpointing".to_string())?
    }

    /// The counters of the delivery tasks running now.
    pub fn delivery_stats(&self) -> Arc<DeliveryStats> {
        self.stats.lock().expect("admin lock").clone()
    }

    /// The delivery counters of the current dispatcher (a reload swaps it).
    pub fn set_stats(&self, stats: Arc<DeliveryStats>) {
        *self.stats.lock().expect("admin lock") = stats;
    }

    /// The controller's time: the latest tick seen, or before the first
    /// one the wall clock (which event time follows in live mode), so a
    /// silence set at startup does not end at once.
    pub fn now(&self) -> Nanos {
        match self.now.load(Ordering::Relaxed) {
            0 => tripgate_model::time::wall_clock_now(),
            now => now,
        }
    }

    /// Sets the controller's time forward to `now` (live mode, to the
    /// restored watermark, so an operator's durations after a restart count
    /// from where event time is rather than from the wall clock).
    pub fn observe_time(&self, now: Nanos) {
        self.now.fetch_max(now, Ordering::Relaxed);
    }

    /// One closed tick: the action layer's messages and the transition
    /// notifications not silenced, in the order to enqueue them; records
    /// the lineage of each transition. `refresh_views` updates the rest.
    pub fn on_tick(
        &self,
        tick: Nanos,
        outcome: &Outcome,
        watermark: Option<Nanos>,
    ) -> Vec<Outgoing> {
        self.now.fetch_max(tick, Ordering::Relaxed);
        let mut controller = self.controller.lock().expect("admin lock");
        let notifications = controller.notifications(outcome, tick);
        let actions = controller.on_tick(outcome, tick);
        let mut view = self.view.lock().expect("admin lock");
        for transition in &outcome.transitions {
            let silenced = controller.is_silenced(&transition.rule, &transition.key, tick);
            let version = view
                .rule_versions
                .get(&transition.rule)
                .cloned()
                .unwrap_or_default();
            let record = TransitionRecord::breaker(transition, watermark, version, silenced);
            push_bounded(&mut view.transitions, record, RECENT_TRANSITIONS);
        }
        for gate in &outcome.gates {
            push_bounded(
                &mut view.transitions,
                TransitionRecord::gate(gate, watermark),
                RECENT_TRANSITIONS,
            );
        }
        let mut out: Vec<Outgoing> = notifications.into_iter().map(Outgoing::from).collect();
        out.extend(actions.into_iter().map(Outgoing::from));
        out
    }

    /// Rebuilds the breaker and gate views from `alerter`: after each tick,
    /// or (live mode catching up) at most once a second and when idle.
    pub fn refresh_views(&self, alerter: &Alerter) {
        let mut view = self.view.lock().expect("admin lock");
        view.breakers = views::breakers(alerter, &view.rule_versions);
        view.gates = views::gates(alerter);
    }

    /// Timers between ticks (re-assertions, release steps, override ends).
    pub fn poll(&self, now: Nanos) -> Vec<Outgoing> {
        self.now.fetch_max(now, Ordering::Relaxed);
        let mut controller = self.controller.lock().expect("admin lock");
        controller
            .poll(now)
            .into_iter()
            .map(Outgoing::from)
            .collect()
    }

    /// Logs a mutation and keeps it for `GET /api/v1/audit`.
    pub fn audit(&self, who: &str, what: String) {
        tracing::info!(who, what = %what, "admin mutation");
        let entry = AuditEntry {
            at: format_rfc3339(self.now()),
            who: who.to_string(),
            what,
        };
        push_bounded(
            &mut self.audit.lock().expect("admin lock"),
            entry,
            AUDIT_KEPT,
        );
    }
}

/// A short fingerprint of a rule's definition: transitions carry it so an
/// operator can tell which version of a rule fired, and reload keeps the
/// breakers of rules whose fingerprint did not change.
pub fn rule_version(config: &Config, rule: &str) -> String {
    let Some(rule) = config.rule(rule) else {
        return String::new();
    };
    let text = serde_json::to_string(rule).unwrap_or_default();
    let digest = Sha256::digest(text.as_bytes());
    digest[..6]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T, limit: usize) {
    if queue.len() >= limit {
        queue.pop_front();
    }
    queue.push_back(item);
}
