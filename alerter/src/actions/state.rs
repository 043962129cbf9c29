//! The action layer's state: plain serde data, so live mode can checkpoint
//! it next to the engine state and a restart re-sends nothing new.

use serde::{Deserialize, Serialize};
use tripgate_model::Nanos;

/// What engaged an action: a rule's breaker (per key) or a gate.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionSource {
    Rule(String),
    Gate(String),
}

impl ActionSource {
    pub fn kind(&self) -> &'static str {
        match self {
            ActionSource::Rule(_) => "rule",
            ActionSource::Gate(_) => "gate",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            ActionSource::Rule(name) | ActionSource::Gate(name) => name,
        }
    }
}

/// One action of one breaker (or gate): the unit receivers converge on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ActionTarget {
    pub source: ActionSource,
    /// The breaker's key; `all` for gates.
    pub key: String,
    pub action: String,
}

/// Stepwise release in progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReleaseProgress {
    /// Fractions of `engaged_level`, from the action's `release_steps`.
    pub steps: Vec<f64>,
    /// The step applied next; `steps.len()` means release comes next.
    pub next_step: usize,
    pub interval: Nanos,
    pub next_at: Nanos,
}

/// An operator's override, which wins over the breaker until it ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Override {
    /// `Some(level)` forces the action on at that level; `None` forces it off.
    pub level: Option<f64>,
    /// When the automatic state applies again; `None` until cleared.
    pub until: Option<Nanos>,
    pub by: String,
    pub reason: Option<String>,
    pub since: Nanos,
}

/// An action that is engaged, being released, or overridden.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngagedAction {
    pub target: ActionTarget,
    /// The level the breaker's band engaged it at; release steps scale it.
    pub engaged_level: f64,
    /// What the breaker wants now: `engaged_level`, a release step, or 0.
    pub auto_level: f64,
    /// The action's `release_steps` and `step_interval`, captured when it
    /// was engaged so a reload does not change a release under way.
    pub release_steps: Vec<f64>,
    pub step_interval: Nanos,
    pub release: Option<ReleaseProgress>,
    #[serde(rename = "override")]
    pub overridden: Option<Override>,
    /// The breaker (or gate) version of the transition it follows.
    pub version: u64,
    /// The level receivers were last told; 0 = released.
    pub asserted_level: f64,
    pub last_sent: Nanos,
    pub expires_at: Option<Nanos>,
    pub engaged_since: Nanos,
}

impl EngagedAction {
    pub(crate) fn new(target: ActionTarget, now: Nanos) -> EngagedAction {
        EngagedAction {
            target,
            engaged_level: 0.0,
            auto_level: 0.0,
            release_steps: Vec::new(),
            step_interval: 0,
            release: None,
            overridden: None,
            version: 0,
            asserted_level: 0.0,
            last_sent: now,
            expires_at: None,
            engaged_since: now,
        }
    }

    /// The level in force: an override's, else the breaker's.
    pub fn effective_level(&self) -> f64 {
        match &self.overridden {
            Some(overridden) => overridden.level.unwrap_or(0.0),
            None => self.auto_level,
        }
    }

    /// Nothing left to say or remember about it.
    pub(crate) fn finished(&self) -> bool {
        self.asserted_level == 0.0
            && self.auto_level == 0.0
            && self.release.is_none()
            && self.overridden.is_none()
    }
}

/// A rule (or one key of it) whose transition notifications are muted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: u64,
    pub rule: String,
    /// `None` silences every key of the rule.
    pub key: Option<String>,
    pub until: Nanos,
    pub by: String,
    pub reason: Option<String>,
}

impl Silence {
    pub fn matches(&self, rule: &str, key: &str, now: Nanos) -> bool {
        let key_matches = match &self.key {
            None => true,
            Some(silenced) => silenced == key,
        };
        self.rule == rule && key_matches && now < self.until
    }
}

/// Everything the controller keeps; `ActionController::export_state` and
/// `restore` round-trip it (serde, JSON or bincode).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionControllerState {
    /// The next message's `sequence`: strictly increasing, never reused.
    pub next_sequence: u64,
    pub next_silence: u64,
    pub engaged: Vec<EngagedAction>,
    pub silences: Vec<Silence>,
}
