//! Hot reload: a new config, validated as a whole by loading it, replaces
//! the running one; breakers of unchanged rules keep their state. Anything
//! this cannot apply in place is refused and the old config keeps running.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;
use tripgate_alerter::notify::Outgoing;
use tripgate_model::config::Config;

use super::{rule_version, Admin};
use crate::engine::Engine;

/// What a reload did, for the caller and the audit log.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ReloadReport {
    /// Rules whose definition is unchanged: breakers kept.
    pub kept: Vec<String>,
    /// Rules whose definition changed: breakers start over (green).
    pub reset: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Actions released because their rule was reset or removed.
    pub released_actions: usize,
}

impl fmt::Display for ReloadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rules kept, {} reset, {} added, {} removed, {} actions released",
            self.kept.len(),
            self.reset.len(),
            self.added.len(),
            self.removed.len(),
            self.released_actions
        )
    }
}

/// Sorts the rules of `new` against `old` by name and definition.
pub fn compare(old: &Config, new: &Config) -> ReloadReport {
    let mut report = ReloadReport::default();
    for rule in &new.rules {
        match old.rule(&rule.name) {
            None => report.added.push(rule.name.clone()),
            Some(_) if rule_version(old, &rule.name) == rule_version(new, &rule.name) => {
                report.kept.push(rule.name.clone())
            }
            Some(_) => report.reset.push(rule.name.clone()),
        }
    }
    let names: HashSet<&str> = new.rules.iter().map(|r| r.name.as_str()).collect();
    report.removed = old
        .rules
        .iter()
        .filter(|r| !names.contains(r.name.as_str()))
        .map(|r| r.name.clone())
        .collect();
    report
}

/// Switches the engine and the action layer to `new` (already loaded and
/// validated). Returns the report and the messages to enqueue (releases of
/// actions whose rule was reset or removed). On error nothing changed.
pub fn apply(
    admin: &Admin,
    engine: &mut Engine,
    old: &Config,
    new: &Config,
) -> Result<(ReloadReport, Vec<Outgoing>), String> {
    let mut report = compare(old, new);
    engine.reconfigure(new, &report.kept)?;
    let mut dropped = report.reset.clone();
    dropped.extend(report.removed.iter().cloned());
    let released =
        admin
            .controller
            .lock()
            .expect("admin lock")
            .reconfigure(new, &dropped, admin.now());
    report.released_actions = released.len();
    admin.adopt_config(new);
    tracing::info!(report = %report, "config reloaded");
    Ok((report, released.into_iter().map(Outgoing::from).collect()))
}

/// Parks pending messages for notifiers the new config no longer has:
/// nobody would ever deliver them.
pub fn park_orphans(admin: &Admin, new: &Config) {
    for pending in admin.outbox.pending() {
        for notifier in &pending.remaining {
            if !new.notifiers.contains_key(notifier) {
                let _ = admin.outbox.park(
                    pending.message.id(),
                    notifier,
                    "notifier removed by a config reload",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[[rule]]
name = "a"
kpi = "on_time_rate"
window = "5m"
red = { below = 0.8 }

[[rule]]
name = "b"
kpi = "on_time_rate"
window = "5m"
red = { below = 0.5 }
"#;

    #[test]
    fn compares_rules_by_definition() {
        let old = Config::from_toml(BASE).unwrap();
        let new = Config::from_toml(
            &BASE
                .replace("0.5", "0.6")
                .replace("name = \"a\"", "name = \"c\""),
        )
        .unwrap();
        let report = compare(&old, &new);
        assert_eq!(report.kept, Vec::<String>::new());
        assert_eq!(report.added, ["c"]);
        assert_eq!(report.reset, ["b"]);
        assert_eq!(report.removed, ["a"]);
        let same = compare(&old, &Config::from_toml(BASE).unwrap());
        assert_eq!(same.kept, ["a", "b"]);
    }
}
