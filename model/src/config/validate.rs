//! What serde cannot check: references, multiples of the tick, one
//! condition per band... every problem collected, each with its path.

use std::collections::HashSet;

use super::{Config, ConfigError, Threshold};
use crate::duration::Span;
use crate::kpi::{KpiKind, ScopeDim};

impl Config {
    /// Checks everything serde cannot, collecting every error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut errors = Vec::new();
        let tick = self.pipeline.tick.nanos();
        if tick <= 0 {
            errors.push("pipeline.tick: must be greater than 0".to_string());
        }
        if self.pipeline.max_keys == 0 {
            errors.push("pipeline.max_keys: must be at least 1".to_string());
        }
        let multiple_of_tick = |span: &Span, path: String, errors: &mut Vec<String>| {
            if tick > 0 && span.nanos() % tick != 0 {
                errors.push(format!(
                    "{path}: {span} is not a whole multiple of pipeline.tick ({})",
                    self.pipeline.tick
                ));
            }
        };
        let mut names = HashSet::new();
        for (index, rule) in self.rules.iter().enumerate() {
            let at = format!("rule[{index}] ({})", rule.name);
            validate_name(&rule.name, &format!("{at}.name"), &mut errors);
            if !names.insert(rule.name.as_str()) {
                errors.push(format!(
                    "{at}.name: another rule is already named {:?}",
                    rule.name
                ));
            }
            let kind = rule.kpi.kind();
            if !rule.kpi.scopes().contains(&rule.scope) {
                let allowed: Vec<&str> = rule.kpi.scopes().iter().map(|s| s.as_str()).collect();
                errors.push(format!(
                    "{at}.scope: {} has no scope {}; use one of {}",
                    rule.kpi,
                    rule.scope,
                    allowed.join(", ")
                ));
            }
            if !rule.stat.valid_for(kind) {
                let hint = if kind == KpiKind::Distribution {
                    "count, mean, p50, p90, p95 or p99"
                } else {
                    "value"
                };
                errors.push(format!(
                    "{at}.stat: {} of {} is not available; use {hint}",
                    rule.stat.as_str(),
                    rule.kpi
                ));
            }
            match (&rule.window, kind) {
                (None, KpiKind::Ratio | KpiKind::Distribution) => {
                    errors.push(format!("{at}.window: required for {}", rule.kpi))
                }
                (Some(window), KpiKind::Ratio | KpiKind::Distribution) => {
                    if window.nanos() <= 0 {
                        errors.push(format!("{at}.window: must be greater than 0"));
                    }
                    multiple_of_tick(window, format!("{at}.window"), &mut errors);
                }
                _ => {}
            }
            for (band, condition) in [("yellow", &rule.yellow), ("red", &rule.red)] {
                if let Some(condition) = condition {
                    match condition.threshold() {
                        Ok(threshold) => {
                            if let Threshold::AboveBaselineBy(r) | Threshold::BelowBaselineBy(r) =
                                threshold
                            {
                                if !r.is_finite() || r < 0.0 {
                                    errors.push(format!(
                                        "{at}.{band}: the ratio must be finite and at least 0"
                                    ));
                                }
                            }
                        }
                        Err(problem) => errors.push(format!("{at}.{band}: {problem}")),
                    }
                }
            }
            if rule.needs_baseline() && rule.baseline.is_none() {
                errors.push(format!(
                    "{at}.baseline: required by *_baseline_by (baseline = {{ offset = \"1d\" }})"
                ));
            }
            if let Some(baseline) = &rule.baseline {
                multiple_of_tick(
                    &baseline.offset,
                    format!("{at}.baseline.offset"),
                    &mut errors,
                );
                if baseline.offset.nanos() <= 0 {
                    errors.push(format!("{at}.baseline.offset: must be greater than 0"));
                }
                if let Some(window) = &baseline.window {
                    multiple_of_tick(window, format!("{at}.baseline.window"), &mut errors);
                }
            }
            if let Some(span) = &rule.for_ {
                multiple_of_tick(span, format!("{at}.for"), &mut errors);
            }
            if let Some(span) = &rule.recover_for {
                multiple_of_tick(span, format!("{at}.recover_for"), &mut errors);
            }
            for notifier in &rule.notify {
                if !self.notifiers.contains_key(notifier) {
                    errors.push(format!(
                        "{at}.notify: no [notifier.{notifier}] is configured"
                    ));
                }
            }
        }
        let mut gate_names = HashSet::new();
        for (index, gate) in self.gates.iter().enumerate() {
            let at = format!("gate[{index}] ({})", gate.name);
            validate_name(&gate.name, &format!("{at}.name"), &mut errors);
            if !gate_names.insert(gate.name.as_str()) {
                errors.push(format!(
                    "{at}.name: another gate is already named {:?}",
                    gate.name
                ));
            }
            if gate.rules.is_empty() {
                errors.push(format!("{at}.rules: a gate needs at least one rule"));
            }
            for member in &gate.rules {
                match self.rule(member) {
                    None => errors.push(format!("{at}.rules: no rule named {member:?}")),
                    Some(rule) if rule.scope != ScopeDim::Global => errors.push(format!(
                        "{at}.rules: {member:?} has scope {}; gates take rules of scope global only",
                        rule.scope
                    )),
                    Some(_) => {}
                }
            }
            if gate.min_green() > gate.rules.len() {
                errors.push(format!(
                    "{at}.min_green: {} is more than the gate's {} rules",
                    gate.min_green(),
                    gate.rules.len()
                ));
            }
            for notifier in &gate.notify {
                if !self.notifiers.contains_key(notifier) {
                    errors.push(format!(
                        "{at}.notify: no [notifier.{notifier}] is configured"
                    ));
                }
            }
        }
        self.kafka.validate(&mut errors);
        self.validate_actions(&mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(errors))
        }
    }
}

fn validate_name(name: &str, path: &str, errors: &mut Vec<String>) {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !valid {
        errors.push(format!(
            "{path}: {name:?} must be non-empty and use only a-z, 0-9, _ and -"
        ));
    }
}
