//! Transitions as notifications, with idempotency ids derived from the
//! transition itself so a replay after a restart sends the same id.

use sha2::{Digest, Sha256};
use tripgate_model::time::format_rfc3339;
use tripgate_model::{Band, Notification, NotificationType};

use crate::engine::{GateTransition, Transition};

/// `tg_` and 32 hex digits of SHA-256 over the parts that identify one
/// transition of one breaker or gate.
pub(crate) fn idempotency_id(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let hex: String = digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("tg_{hex}")
}

fn band_word(band: Band) -> String {
    band.as_str().to_string()
}

impl Transition {
    pub fn notification(&self) -> Notification {
        let tick = format_rfc3339(self.tick);
        let version = self.version.to_string();
        Notification {
            id: idempotency_id(&["breaker", &self.rule, &self.key, &version, &tick]),
            kind: NotificationType::BreakerTransition,
            tick,
            rule: Some(self.rule.clone()),
            gate: None,
            kpi: Some(self.kpi),
            scope: Some(self.scope),
            key: Some(self.key.to_string()),
            from: band_word(self.from),
            to: band_word(self.to),
            value: Some(self.value).filter(|v| v.is_finite()),
            baseline: self.baseline,
            threshold: self.threshold,
            samples: self.samples,
            window: self.window.clone(),
            actions: self.actions.clone(),
            version: self.version,
            notify: self.notify.clone(),
        }
    }
}

impl GateTransition {
    pub fn notification(&self) -> Notification {
        let tick = format_rfc3339(self.tick);
        let version = self.version.to_string();
        let word = |open: bool| if open { "open" } else { "closed" }.to_string();
        Notification {
            id: idempotency_id(&["gate", &self.gate, &version, &tick]),
            kind: NotificationType::GateTransition,
            tick,
            rule: None,
            gate: Some(self.gate.clone()),
            kpi: None,
            scope: None,
            key: None,
            from: word(!self.opened),
            to: word(self.opened),
            value: None,
            baseline: None,
            threshold: None,
            samples: None,
            window: None,
            actions: self.actions.clone(),
            version: self.version,
            notify: self.notify.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tripgate_model::{Kpi, ScopeDim};

    use super::*;

    fn transition(version: u64) -> Transition {
        Transition {
            tick: 1_735_725_600_000_000_000,
            rule: "ontime".into(),
            kpi: Kpi::OnTimeRate,
            scope: ScopeDim::Global,
            key: Arc::from("all"),
            from: Band::Green,
            to: Band::Red,
            value: 0.5,
            samples: Some(2),
            baseline: None,
            threshold: Some(0.6),
            window: Some("5m".into()),
            version,
            actions: Vec::new(),
            notify: vec!["hook".into()],
        }
    }

    #[test]
    fn ids_are_stable_and_distinct_per_transition() {
        assert_eq!(
            transition(1).notification().id,
            transition(1).notification().id
        );
        assert_ne!(
            transition(1).notification().id,
            transition(2).notification().id
        );
        let body = serde_json::to_value(transition(1).notification()).unwrap();
        assert_eq!(body["type"], "breaker.transition");
        assert_eq!(body["tick"], "2025-01-01T10:00:00Z");
        assert_eq!(body["to"], "red");
        assert!(body.get("notify").is_none());
    }
}
