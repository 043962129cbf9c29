//! What the alerter sends when a breaker or gate changes (contract section 8,
//! "Webhook"). The same value feeds Slack, webhooks and the audit log.

use serde::{Deserialize, Serialize};

use crate::kpi::{Kpi, ScopeDim};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotificationType {
    #[serde(rename = "breaker.transition")]
    BreakerTransition,
    #[serde(rename = "gate.transition")]
    GateTransition,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionState {
    Engaged,
    Released,
}

/// One action a transition engages or releases.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionChange {
    pub name: String,
    /// The level while engaged (1.0 = fully); 0.0 when released.
    pub level: f64,
    pub state: ActionState,
}

/// A breaker or gate transition as delivered to notifiers. `id` is derived
/// from the transition itself (never random), so every retry and every
/// restart sends the same idempotency key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: NotificationType,
    /// RFC 3339 UTC.
    pub tick: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kpi: Option<Kpi>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeDim>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// A band (`green`, `yellow`, `red`) or a gate state (`open`, `closed`).
    pub from: String,
    pub to: String,
    pub value: Option<f64>,
    pub baseline: Option<f64>,
    /// The limit of the band moved to (for a move to green, of the band left).
    pub threshold: Option<f64>,
    pub samples: Option<u64>,
    pub window: Option<String>,
    pub actions: Vec<ActionChange>,
    /// Per breaker (or gate): 1 for its first transition, +1 for each after.
    pub version: u64,
    /// The `[notifier.NAME]`s this goes to; not part of the body.
    #[serde(skip)]
    pub notify: Vec<String>,
}
