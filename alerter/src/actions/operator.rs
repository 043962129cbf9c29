//! What operators change by hand: overrides of one action, silences of a
//! rule's notifications, and a reloaded config.

use std::collections::HashSet;

use tripgate_model::config::Config;
use tripgate_model::{ActionMessage, ActionReason, Nanos, Notification};

use super::controller::{ActionController, Settings};
use super::state::{ActionSource, ActionTarget, EngagedAction, Override, Silence};
use crate::engine::Outcome;
use crate::notify::NotifyError;

impl ActionController {
    /// Forces an action on at `level` until `until` (or until cleared),
    /// whatever the breaker says meanwhile.
    pub fn force_engage(
        &mut self,
        target: ActionTarget,
        level: f64,
        until: Option<Nanos>,
        by: &str,
        reason: Option<String>,
        now: Nanos,
    ) -> Result<Vec<ActionMessage>, NotifyError> {
        if !(level > 0.0 && level <= 1.0) {
            return Err(NotifyError::InvalidLevel(level));
        }
        self.set_override(
            target,
            Some(level),
            until,
            by,
            reason,
            now,
            ActionReason::ForcedEngage,
        )
    }

    /// Forces an action off until `until` (or until cleared): transitions do
    /// not engage it meanwhile.
    pub fn force_release(
        &mut self,
        target: ActionTarget,
        until: Option<Nanos>,
        by: &str,
        reason: Option<String>,
        now: Nanos,
    ) -> Result<Vec<ActionMessage>, NotifyError> {
        self.set_override(
            target,
            None,
            until,
            by,
            reason,
            now,
            ActionReason::ForcedRelease,
        )
    }

    /// Ends an override; the breaker's state applies again. `None` if there
    /// was none.
    pub fn clear_override(
        &mut self,
        target: &ActionTarget,
        now: Nanos,
    ) -> Option<Vec<ActionMessage>> {
        let index = self.position(target)?;
        self.state.engaged[index].overridden.take()?;
        let mut out = Vec::new();
        self.emit(index, ActionReason::OverrideEnded, now, &mut out);
        self.state.engaged.retain(|entry| !entry.finished());
        Some(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn set_override(
        &mut self,
        target: ActionTarget,
        level: Option<f64>,
        until: Option<Nanos>,
        by: &str,
        reason: Option<String>,
        now: Nanos,
        why: ActionReason,
    ) -> Result<Vec<ActionMessage>, NotifyError> {
        self.check_source(&target.source)?;
        let index = match self.position(&target) {
            Some(index) => index,
            None => {
                self.state.engaged.push(EngagedAction::new(target, now));
                self.state.engaged.len() - 1
            }
        };
        self.state.engaged[index].overridden = Some(Override {
            level,
            until,
            by: by.to_string(),
            reason,
            since: now,
        });
        let mut out = Vec::new();
        self.emit(index, why, now, &mut out);
        Ok(out)
    }

    fn check_source(&self, source: &ActionSource) -> Result<(), NotifyError> {
        if self.settings.notify.contains_key(source) {
            Ok(())
        } else {
            Err(NotifyError::UnknownSource {
                kind: source.kind(),
                name: source.name().to_string(),
            })
        }
    }

    /// Mutes transition notifications of `rule` (one `key`, or all) until
    /// `until`. Actions keep flowing: a silence quiets people, it does not
    /// release a throttle (use an override for that).
    pub fn silence(
        &mut self,
        rule: &str,
        key: Option<String>,
        until: Nanos,
        by: &str,
        reason: Option<String>,
    ) -> Result<Silence, NotifyError> {
        self.check_source(&ActionSource::Rule(rule.to_string()))?;
        self.state.next_silence += 1;
        let silence = Silence {
            id: self.state.next_silence,
            rule: rule.to_string(),
            key,
            until,
            by: by.to_string(),
            reason,
        };
        self.state.silences.push(silence.clone());
        Ok(silence)
    }

    /// Removes a silence; false if there is none with that id.
    pub fn unsilence(&mut self, id: u64) -> bool {
        let before = self.state.silences.len();
        self.state.silences.retain(|silence| silence.id != id);
        before != self.state.silences.len()
    }

    pub fn silences(&self) -> &[Silence] {
        &self.state.silences
    }

    pub fn is_silenced(&self, rule: &str, key: &str, now: Nanos) -> bool {
        self.state
            .silences
            .iter()
            .any(|s| s.matches(rule, key, now))
    }

    /// The tick's transition notifications, without the silenced ones.
    pub fn notifications(&self, outcome: &Outcome, now: Nanos) -> Vec<Notification> {
        let transitions = outcome
            .transitions
            .iter()
            .filter(|t| !self.is_silenced(&t.rule, &t.key, now))
            .map(|t| t.notification());
        let gates = outcome.gates.iter().map(|g| g.notification());
        transitions.chain(gates).collect()
    }

    /// Adopts a reloaded config. Actions of rules whose breakers were reset
    /// (`reset_rules`: changed or removed) and of removed gates are released,
    /// since no transition will ever release them; the rest carry on.
    pub fn reconfigure(
        &mut self,
        config: &Config,
        reset_rules: &[String],
        now: Nanos,
    ) -> Vec<ActionMessage> {
        let mut out = Vec::new();
        let reset: HashSet<&str> = reset_rules.iter().map(String::as_str).collect();
        let settings = Settings::new(config);
        for index in 0..self.state.engaged.len() {
            let source = self.state.engaged[index].target.source.clone();
            let gone = !settings.notify.contains_key(&source);
            let was_reset =
                matches!(&source, ActionSource::Rule(name) if reset.contains(name.as_str()));
            if !(gone || was_reset) {
                continue;
            }
            let entry = &mut self.state.engaged[index];
            entry.auto_level = 0.0;
            entry.release = None;
            if gone {
                entry.overridden = None;
            }
            if entry.effective_level() != entry.asserted_level || entry.asserted_level > 0.0 {
                // Sent with the old routing: its receivers hold the lease.
                self.emit(index, ActionReason::Released, now, &mut out);
            }
        }
        self.settings = settings;
        self.state.engaged.retain(|entry| !entry.finished());
        self.state
            .silences
            .retain(|s| config.rule(&s.rule).is_some());
        out
    }
}
