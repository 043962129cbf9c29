//! The action layer after the alerter: turns each tick's transitions into a
//! level-triggered stream of leases, release steps and releases.
//!
//! Transitions stay what the contract says (backtest output never changes);
//! this layer only decides what to tell receivers and when: an engaged action
//! is re-asserted every `repeat_interval` with the same breaker version and a
//! lease (`expires_at`), so a receiver that missed a message converges and a
//! dead tripgate cannot leave a throttle stuck; a release may go in steps.
//! Time is passed in (tick or event time), so it is fully deterministic.

use std::collections::HashMap;

use tripgate_model::config::{ActionConfig, Config};
use tripgate_model::time::format_rfc3339;
use tripgate_model::{
    ActionChange, ActionMessage, ActionMessageType, ActionReason, ActionState, Band, Nanos,
};

use super::state::{
    ActionControllerState, ActionSource, ActionTarget, EngagedAction, ReleaseProgress,
};
use crate::engine::Outcome;
use crate::notifications::idempotency_id;

/// Key of a gate's actions, which have no breaker key.
pub const GATE_KEY: &str = "all";

/// The release plan of an action as configured for one band (or gate).
#[derive(Clone, Debug)]
struct Plan {
    steps: Vec<f64>,
    interval: Nanos,
}

/// What the controller reads from the config.
#[derive(Debug)]
pub(crate) struct Settings {
    pub repeat: Nanos,
    pub lease: Nanos,
    /// The notifiers of each rule and gate; also the set of known sources.
    pub notify: HashMap<ActionSource, Vec<String>>,
    /// By (source, band for rules, action name).
    plans: HashMap<(ActionSource, Option<Band>, String), Plan>,
}

impl Settings {
    pub(crate) fn new(config: &Config) -> Settings {
        let repeat = config.actions.repeat_nanos();
        let plan = |action: &ActionConfig| Plan {
            steps: action.release_steps.clone(),
            interval: action.step_interval.as_ref().map_or(repeat, |s| s.nanos()),
        };
        let mut notify = HashMap::new();
        let mut plans = HashMap::new();
        for rule in &config.rules {
            let source = ActionSource::Rule(rule.name.clone());
            for band in [Band::Yellow, Band::Red] {
                for action in rule.actions.for_band(band) {
                    let key = (source.clone(), Some(band), action.name.clone());
                    plans.insert(key, plan(action));
                }
            }
            notify.insert(source, rule.notify.clone());
        }
        for gate in &config.gates {
            let source = ActionSource::Gate(gate.name.clone());
            for action in &gate.actions_when_closed {
                plans.insert((source.clone(), None, action.name.clone()), plan(action));
            }
            notify.insert(source, gate.notify.clone());
        }
        Settings {
            repeat,
            lease: config.actions.lease_nanos(),
            notify,
            plans,
        }
    }
}

pub struct ActionController {
    pub(crate) settings: Settings,
    pub(crate) state: ActionControllerState,
}

impl ActionController {
    pub fn new(config: &Config) -> ActionController {
        ActionController {
            settings: Settings::new(config),
            state: ActionControllerState::default(),
        }
    }

    /// A controller continuing from a checkpointed state.
    pub fn restore(config: &Config, state: ActionControllerState) -> ActionController {
        ActionController {
            settings: Settings::new(config),
            state,
        }
    }

    /// What a checkpoint stores.
    pub fn export_state(&self) -> ActionControllerState {
        self.state.clone()
    }

    /// Every action engaged, being released or overridden.
    pub fn engaged(&self) -> &[EngagedAction] {
        &self.state.engaged
    }

    /// Feeds one closed tick: its transitions, then the timers due at `now`.
    pub fn on_tick(&mut self, outcome: &Outcome, now: Nanos) -> Vec<ActionMessage> {
        let mut out = Vec::new();
        for transition in &outcome.transitions {
            let source = ActionSource::Rule(transition.rule.clone());
            for change in &transition.actions {
                let band = Some(transition.to);
                self.apply(
                    &source,
                    &transition.key,
                    band,
                    transition.version,
                    change,
                    now,
                    &mut out,
                );
            }
        }
        for gate in &outcome.gates {
            let source = ActionSource::Gate(gate.gate.clone());
            for change in &gate.actions {
                self.apply(&source, GATE_KEY, None, gate.version, change, now, &mut out);
            }
        }
        out.extend(self.poll(now));
        out
    }

    /// Runs the timers due at `now`: overrides ending, release steps, and
    /// re-assertions. Call it between ticks too, so leases are renewed while
    /// input is idle.
    pub fn poll(&mut self, now: Nanos) -> Vec<ActionMessage> {
        let mut out = Vec::new();
        self.state.silences.retain(|silence| silence.until > now);
        for index in 0..self.state.engaged.len() {
            let entry = &mut self.state.engaged[index];
            if entry
                .overridden
                .as_ref()
                .and_then(|o| o.until)
                .is_some_and(|until| until <= now)
            {
                entry.overridden = None;
                self.emit(index, ActionReason::OverrideEnded, now, &mut out);
            }
            let entry = &mut self.state.engaged[index];
            let mut stepped = None;
            while let Some(release) = entry.release.as_mut().filter(|r| r.next_at <= now) {
                if release.next_step < release.steps.len() {
                    entry.auto_level = entry.engaged_level * release.steps[release.next_step];
                    release.next_step += 1;
                    release.next_at += release.interval;
                    stepped = Some(ActionReason::ReleaseStep);
                } else {
                    entry.auto_level = 0.0;
                    entry.release = None;
                    stepped = Some(ActionReason::Released);
                }
            }
            if let Some(reason) = stepped {
                if entry.overridden.is_none() {
                    self.emit(index, reason, now, &mut out);
                }
            }
            let entry = &self.state.engaged[index];
            if entry.asserted_level > 0.0 && now >= entry.last_sent + self.settings.repeat {
                self.emit(index, ActionReason::Reasserted, now, &mut out);
            }
        }
        self.state.engaged.retain(|entry| !entry.finished());
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        source: &ActionSource,
        key: &str,
        band: Option<Band>,
        version: u64,
        change: &ActionChange,
        now: Nanos,
        out: &mut Vec<ActionMessage>,
    ) {
        let target = ActionTarget {
            source: source.clone(),
            key: key.to_string(),
            action: change.name.clone(),
        };
        let plan_band = if matches!(source, ActionSource::Gate(_)) {
            None
        } else {
            band
        };
        let plan = self
            .settings
            .plans
            .get(&(source.clone(), plan_band, change.name.clone()))
            .cloned();
        let index = match (change.state, self.position(&target)) {
            (_, Some(index)) => index,
            (ActionState::Engaged, None) => {
                self.state.engaged.push(EngagedAction::new(target, now));
                self.state.engaged.len() - 1
            }
            // A release of something not engaged here (state from before a
            // reload, say): nothing to tell anyone.
            (ActionState::Released, None) => return,
        };
        let entry = &mut self.state.engaged[index];
        entry.version = version;
        let reason = match change.state {
            ActionState::Engaged => {
                let was_releasing = entry.release.take().is_some();
                entry.engaged_level = change.level;
                entry.auto_level = change.level;
                if let Some(plan) = plan {
                    entry.release_steps = plan.steps;
                    entry.step_interval = plan.interval;
                }
                if was_releasing {
                    ActionReason::SnappedBack
                } else {
                    ActionReason::Engaged
                }
            }
            ActionState::Released if entry.release.is_some() => return,
            ActionState::Released => match entry.release_steps.first() {
                Some(first) if entry.auto_level > 0.0 => {
                    entry.auto_level = entry.engaged_level * first;
                    entry.release = Some(ReleaseProgress {
                        steps: entry.release_steps.clone(),
                        next_step: 1,
                        interval: entry.step_interval,
                        next_at: now + entry.step_interval,
                    });
                    ActionReason::ReleaseStep
                }
                _ => {
                    entry.auto_level = 0.0;
                    ActionReason::Released
                }
            },
        };
        if self.state.engaged[index].overridden.is_none() {
            self.emit(index, reason, now, out);
        }
    }

    pub(crate) fn position(&self, target: &ActionTarget) -> Option<usize> {
        self.state
            .engaged
            .iter()
            .position(|entry| entry.target == *target)
    }

    /// Tells receivers the entry's effective state, renewing the lease.
    pub(crate) fn emit(
        &mut self,
        index: usize,
        reason: ActionReason,
        now: Nanos,
        out: &mut Vec<ActionMessage>,
    ) {
        let sequence = self.state.next_sequence;
        self.state.next_sequence += 1;
        let lease = self.settings.lease;
        let entry = &mut self.state.engaged[index];
        let level = entry.effective_level();
        let engaged = level > 0.0;
        entry.asserted_level = level;
        entry.last_sent = now;
        entry.expires_at = engaged.then_some(now + lease);
        let target = &entry.target;
        let issued_at = format_rfc3339(now);
        let id = idempotency_id(&[
            "action",
            target.source.kind(),
            target.source.name(),
            &target.key,
            &target.action,
            &entry.version.to_string(),
            &sequence.to_string(),
            &issued_at,
        ]);
        let (rule, gate) = match &target.source {
            ActionSource::Rule(name) => (Some(name.clone()), None),
            ActionSource::Gate(name) => (None, Some(name.clone())),
        };
        out.push(ActionMessage {
            id,
            kind: if engaged {
                ActionMessageType::Asserted
            } else {
                ActionMessageType::Released
            },
            rule,
            gate,
            key: target.key.clone(),
            action: target.action.clone(),
            state: if engaged {
                ActionState::Engaged
            } else {
                ActionState::Released
            },
            level,
            version: entry.version,
            sequence,
            reason,
            issued_at,
            expires_at: entry.expires_at.map(format_rfc3339),
            notify: self
                .settings
                .notify
                .get(&target.source)
                .cloned()
                .unwrap_or_default(),
        });
    }
}
