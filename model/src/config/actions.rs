//! Settings of the action layer and the admin API: how often engaged actions
//! are re-asserted, how long a lease lasts, and who may steer tripgate.

use serde::{Deserialize, Serialize};

use super::{ActionConfig, Config, Sensitive};
use crate::duration::Span;

/// `[actions]`: the lease every engaged action carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsSettings {
    /// How often an engaged action is re-asserted to its receivers, so a
    /// receiver that missed a message converges within this long.
    #[serde(default = "default_repeat_interval")]
    pub repeat_interval: Span,
    /// How long a receiver may keep obeying an assertion without hearing
    /// from tripgate again. Default: three repeat intervals, so two lost
    /// re-assertions do not let a throttle lapse, and a dead tripgate never
    /// leaves one stuck for longer than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Span>,
}

impl Default for ActionsSettings {
    fn default() -> ActionsSettings {
        ActionsSettings {
            repeat_interval: default_repeat_interval(),
            lease: None,
        }
    }
}

impl ActionsSettings {
    pub fn repeat_nanos(&self) -> i64 {
        self.repeat_interval.nanos()
    }

    pub fn lease_nanos(&self) -> i64 {
        self.lease
            .as_ref()
            .map_or(3 * self.repeat_interval.nanos(), Span::nanos)
    }
}

fn default_repeat_interval() -> Span {
    Span::parse("5m").expect("constant duration")
}

/// `[admin]`: the operator API under `/api/v1` and `/-/reload`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// The bearer token every admin request must carry. Without one the
    /// admin API answers 503: an unauthenticated way to release a throttle
    /// is worse than none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Sensitive>,
}

impl Config {
    /// Checks the action layer's settings (called by `validate`).
    pub(super) fn validate_actions(&self, errors: &mut Vec<String>) {
        if self.actions.repeat_interval.nanos() <= 0 {
            errors.push("actions.repeat_interval: must be greater than 0".into());
        }
        if self.actions.lease_nanos() < self.actions.repeat_interval.nanos() {
            errors.push("actions.lease: must be at least actions.repeat_interval".into());
        }
        if let Some(token) = &self.admin.token {
            if token.expose().len() < 16 || token.expose().chars().any(char::is_whitespace) {
                errors
                    .push("admin.token: use at least 16 characters and no whitespace".to_string());
            }
        }
        for rule in &self.rules {
            for (band, actions) in [("yellow", &rule.actions.yellow), ("red", &rule.actions.red)] {
                for action in actions {
                    let at = format!("rule ({}).actions.{band} ({})", rule.name, action.name);
                    validate_action(action, &at, errors);
                }
            }
        }
        for gate in &self.gates {
            for action in &gate.actions_when_closed {
                let at = format!("gate ({}).actions_when_closed ({})", gate.name, action.name);
                validate_action(action, &at, errors);
            }
        }
    }
}

fn validate_action(action: &ActionConfig, at: &str, errors: &mut Vec<String>) {
    let mut previous = 1.0;
    for step in &action.release_steps {
        // Fractions of the engaged level, each lower than the one before, so
        // every step really loosens the action and release always ends.
        if !(*step > 0.0 && *step < previous) {
            errors.push(format!(
                "{at}.release_steps: each step must be in (0, 1) and below the one before"
            ));
            break;
        }
        previous = *step;
    }
    if let Some(interval) = &action.step_interval {
        if interval.nanos() <= 0 {
            errors.push(format!("{at}.step_interval: must be greater than 0"));
        }
        if action.release_steps.is_empty() {
            errors.push(format!("{at}.step_interval: set only with release_steps"));
        }
    }
}
