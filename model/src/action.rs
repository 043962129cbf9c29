//! What the action layer sends about one engaged action: an assertion with a
//! lease, a release step, or the release. Receivers converge on the latest
//! message per (rule or gate, key, action); see docs/RECEIVERS.md.

use serde::{Deserialize, Serialize};

use crate::notification::ActionState;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionMessageType {
    /// The action is in force at `level` until `expires_at`.
    #[serde(rename = "action.asserted")]
    Asserted,
    /// The action is no longer in force.
    #[serde(rename = "action.released")]
    Released,
}

/// Why the message was sent; receivers need not act on it differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionReason {
    /// A transition engaged the action (or changed its level).
    Engaged,
    /// The periodic re-assertion that renews the lease.
    Reasserted,
    /// One step of a stepwise release.
    ReleaseStep,
    /// A regression during a stepwise release restored the band's level.
    SnappedBack,
    /// The breaker (or gate) no longer asks for it.
    Released,
    /// An operator forced it on.
    ForcedEngage,
    /// An operator forced it off.
    ForcedRelease,
    /// An operator override ended; the automatic state applies again.
    OverrideEnded,
}

impl ActionReason {
    /// Periodic lease renewals: routine for machines, noise for people.
    pub fn is_routine(self) -> bool {
        self == ActionReason::Reasserted
    }
}

/// The webhook body of an action message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionMessage {
    /// Idempotency key (`webhook-id`): the same on every retry and after a
    /// restart that replays it; distinct for every message.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ActionMessageType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    /// The breaker's key; `all` for gates.
    pub key: String,
    pub action: String,
    pub state: ActionState,
    /// 0.0 when released.
    pub level: f64,
    /// The version of the breaker (or gate) transition the state follows.
    pub version: u64,
    /// Strictly increasing over every action message tripgate sends:
    /// receivers ignore a message older than the last one they applied for
    /// the same (rule or gate, key, action).
    pub sequence: u64,
    pub reason: ActionReason,
    /// RFC 3339 UTC, tripgate's (event) time when it was issued.
    pub issued_at: String,
    /// RFC 3339 UTC; after this, a receiver that heard nothing newer treats
    /// the action as released. `None` on release.
    pub expires_at: Option<String>,
    /// The `[notifier.NAME]`s this goes to; not part of the body.
    #[serde(skip)]
    pub notify: Vec<String>,
}
