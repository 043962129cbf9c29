//! Series that describe the rules themselves, so a dashboard can draw each
//! rule's limits beside its KPI without copying thresholds out of the config.
//! Label values come from the config only; the values never change while
//! the process runs.

use prometheus::{GaugeVec, Opts, Registry};
use tripgate_model::config::Config;

use super::format::fixed_limit;

pub fn register_rule_metrics(registry: &Registry, config: &Config) -> prometheus::Result<()> {
    let info = GaugeVec::new(
        Opts::new(
            "tripgate_rule_info",
            "1 per rule; its labels say which tripgate_kpi series the rule reads (join on kpi, stat, scope, window).",
        ),
        &["rule", "kpi", "stat", "scope", "window"],
    )?;
    let threshold = GaugeVec::new(
        Opts::new(
            "tripgate_rule_threshold",
            "A rule's fixed yellow or red limit (rules comparing with a baseline have none: their limit moves).",
        ),
        &["rule", "band"],
    )?;
    registry.register(Box::new(info.clone()))?;
    registry.register(Box::new(threshold.clone()))?;
    for rule in &config.rules {
        let window = rule.window().map_or("", |w| w.text());
        info.with_label_values(&[
            &rule.name,
            rule.kpi.as_str(),
            rule.stat.as_str(),
            rule.scope.as_str(),
            window,
        ])
        .set(1.0);
        for (band, limit) in [
            ("yellow", rule.yellow_threshold()),
            ("red", rule.red_threshold()),
        ] {
            if let Some(limit) = fixed_limit(limit) {
                threshold.with_label_values(&[&rule.name, band]).set(limit);
            }
        }
    }
    Ok(())
}
