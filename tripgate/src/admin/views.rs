//! What the admin API shows: breakers, gates, engaged actions and recent
//! transitions with their lineage, as JSON-ready structs.

use std::collections::HashMap;

use serde::Serialize;
use tripgate_alerter::actions::{EngagedAction, Silence};
use tripgate_alerter::breaker::Observed;
use tripgate_alerter::{Alerter, GateTransition, Transition};
use tripgate_model::time::format_rfc3339;
use tripgate_model::{ActionChange, Band, Nanos};

#[derive(Clone, Debug, Serialize)]
pub struct BreakerView {
    pub rule: String,
    pub scope: String,
    pub key: String,
    pub state: Band,
    pub version: u64,
    pub last_observed: Observed,
    pub last_value: Option<f64>,
    pub rule_version: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct GateView {
    pub gate: String,
    pub open: bool,
    pub version: u64,
}

/// One transition and where its numbers came from.
#[derive(Clone, Debug, Serialize)]
pub struct TransitionRecord {
    /// The notification id (`webhook-id`) it was sent under.
    pub id: String,
    pub tick: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub from: String,
    pub to: String,
    pub version: u64,
    pub lineage: Lineage,
    pub actions: Vec<ActionChange>,
    /// Its notification was muted by a silence.
    pub silenced: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Lineage {
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub baseline: Option<f64>,
    pub window: Option<String>,
    pub samples: Option<u64>,
    /// The engine's watermark when the tick was evaluated.
    pub watermark: Option<String>,
    /// Fingerprint of the rule's definition (see `rule_version`).
    pub rule_version: Option<String>,
}

impl TransitionRecord {
    pub fn breaker(
        t: &Transition,
        watermark: Option<Nanos>,
        rule_version: String,
        silenced: bool,
    ) -> TransitionRecord {
        TransitionRecord {
            id: t.notification().id,
            tick: format_rfc3339(t.tick),
            rule: Some(t.rule.clone()),
            gate: None,
            scope: Some(t.scope.as_str().to_string()),
            key: Some(t.key.to_string()),
            from: t.from.as_str().to_string(),
            to: t.to.as_str().to_string(),
            version: t.version,
            lineage: Lineage {
                value: Some(t.value).filter(|v| v.is_finite()),
                threshold: t.threshold,
                baseline: t.baseline,
                window: t.window.clone(),
                samples: t.samples,
                watermark: watermark.map(format_rfc3339),
                rule_version: Some(rule_version),
            },
            actions: t.actions.clone(),
            silenced,
        }
    }

    pub fn gate(g: &GateTransition, watermark: Option<Nanos>) -> TransitionRecord {
        let word = |open: bool| if open { "open" } else { "closed" }.to_string();
        TransitionRecord {
            id: g.notification().id,
            tick: format_rfc3339(g.tick),
            rule: None,
            gate: Some(g.gate.clone()),
            scope: None,
            key: None,
            from: word(!g.opened),
            to: word(g.opened),
            version: g.version,
            lineage: Lineage {
                watermark: watermark.map(format_rfc3339),
                ..Lineage::default()
            },
            actions: g.actions.clone(),
            silenced: false,
        }
    }
}

pub fn breakers(alerter: &Alerter, versions: &HashMap<String, String>) -> Vec<BreakerView> {
    let mut views = Vec::new();
    for (rule, slots) in alerter.breakers() {
        for slot in slots {
            views.push(BreakerView {
                rule: rule.config.name.clone(),
                scope: rule.config.scope.as_str().to_string(),
                key: slot.key.to_string(),
                state: slot.breaker.state,
                version: slot.breaker.version,
                last_observed: slot.last_observed,
                last_value: slot.last_value.filter(|v| v.is_finite()),
                rule_version: versions.get(&rule.config.name).cloned().unwrap_or_default(),
            });
        }
    }
    views
}

pub fn gates(alerter: &Alerter) -> Vec<GateView> {
    alerter
        .export_state()
        .gates
        .into_iter()
        .map(|(gate, open, version)| GateView {
            gate,
            open,
            version,
        })
        .collect()
}

/// An engaged action with its times as RFC 3339.
pub fn action(entry: &EngagedAction) -> serde_json::Value {
    let mut value = serde_json::to_value(entry).unwrap_or_default();
    let time = |nanos: Nanos| serde_json::Value::String(format_rfc3339(nanos));
    value["level"] = serde_json::json!(entry.effective_level());
    value["last_sent"] = time(entry.last_sent);
    value["engaged_since"] = time(entry.engaged_since);
    value["expires_at"] = entry.expires_at.map_or(serde_json::Value::Null, time);
    if let Some(release) = &entry.release {
        value["release"]["next_at"] = time(release.next_at);
    }
    if let Some(overridden) = &entry.overridden {
        value["override"]["since"] = time(overridden.since);
        value["override"]["until"] = overridden.until.map_or(serde_json::Value::Null, time);
    }
    value
}

pub fn silence(silence: &Silence) -> serde_json::Value {
    let mut value = serde_json::to_value(silence).unwrap_or_default();
    value["until"] = serde_json::Value::String(format_rfc3339(silence.until));
    value
}
