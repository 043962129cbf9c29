//! The alerter's Prometheus series (contract section 8, "Prometheus").
//!
//! Label values come from the config (rule, gate, action names) or from keys
//! that the rules' own ranking bounds: per rule only the `metrics_max_keys`
//! worst keys are exported, so an event stream with a million SKUs still
//! gives a bounded number of series.

use std::collections::{HashMap, HashSet};

use prometheus::{GaugeVec, IntCounterVec, Opts, Registry};
use tripgate_model::{KpiKind, Measure, TickSnapshot, WindowSpec};

use crate::breaker::Observed;
use crate::engine::{Alerter, BreakerSlot, Outcome};

pub struct AlerterMetrics {
    kpi: GaugeVec,
    breaker_band: GaugeVec,
    gate_open: GaugeVec,
    action_level: GaugeVec,
    transitions: IntCounterVec,
    gate_transitions: IntCounterVec,
    max_keys: usize,
}

impl AlerterMetrics {
    pub fn new(registry: &Registry, metrics_max_keys: usize) -> prometheus::Result<AlerterMetrics> {
        let gauge = |name: &str, help: &str, labels: &[&str]| -> prometheus::Result<GaugeVec> {
            let vec = GaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(vec.clone()))?;
            Ok(vec)
        };
        let counter =
            |name: &str, help: &str, labels: &[&str]| -> prometheus::Result<IntCounterVec> {
                let vec = IntCounterVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(vec.clone()))?;
                Ok(vec)
            };
        Ok(AlerterMetrics {
            kpi: gauge(
                "tripgate_kpi",
                "KPI value at the latest closed tick, for the worst keys of each rule.",
                &["kpi", "stat", "scope", "key", "window"],
            )?,
            breaker_band: gauge(
                "tripgate_breaker_band",
                "Breaker state per rule and key: 0 green, 1 yellow, 2 red.",
                &["rule", "scope", "key"],
            )?,
            gate_open: gauge("tripgate_gate_open", "1 while the gate is open, 0 while closed.", &["gate"])?,
            action_level: gauge(
                "tripgate_action_level",
                "Level of each engaged action (1 = fully engaged); gates use scope \"gate\" and their name as key.",
                &["action", "scope", "key"],
            )?,
            transitions: counter(
                "tripgate_transitions_total",
                "Breaker transitions per rule and band moved to.",
                &["rule", "to"],
            )?,
            gate_transitions: counter("tripgate_gate_transitions_total", "Gate transitions per gate.", &["gate", "to"])?,
            max_keys: metrics_max_keys,
        })
    }

    /// Replaces the exported values with those of the tick just closed.
    pub fn observe(
        &self,
        specs: &[WindowSpec],
        snapshot: &TickSnapshot,
        outcome: &Outcome,
        alerter: &Alerter,
    ) {
        self.count(outcome);
        self.export(specs, Some(snapshot), alerter);
    }

    /// Counts a tick's transitions. With `export` this is `observe`, for a
    /// caller that exports the values less often than ticks close (live
    /// mode catching up closes thousands a second; a scrape sees one).
    pub fn count(&self, outcome: &Outcome) {
        for transition in &outcome.transitions {
            self.transitions
                .with_label_values(&[&transition.rule, transition.to.as_str()])
                .inc();
        }
        for gate in &outcome.gates {
            let to = if gate.opened { "open" } else { "closed" };
            self.gate_transitions
                .with_label_values(&[&gate.gate, to])
                .inc();
        }
    }

    /// Replaces the exported values with the alerter's and, given the
    /// snapshot of the last tick it evaluated, its KPI values (without one,
    /// as after a restart, the KPI series are left out until the next tick).
    pub fn export(&self, specs: &[WindowSpec], snapshot: Option<&TickSnapshot>, alerter: &Alerter) {
        self.kpi.reset();
        self.breaker_band.reset();
        self.action_level.reset();
        let mut exported_kpis: HashSet<(usize, &str)> = HashSet::new();
        let mut levels: HashMap<(String, &'static str, String), f64> = HashMap::new();
        for (rule, slots) in alerter.breakers() {
            let spec = &specs[rule.main];
            let scope = spec.scope.as_str();
            let values: HashMap<&str, &Measure> = snapshot
                .iter()
                .flat_map(|snapshot| &snapshot.series[rule.main].values)
                .map(|(key, measure)| (&**key, measure))
                .collect();
            for slot in worst(slots, self.max_keys) {
                self.breaker_band
                    .with_label_values(&[&rule.config.name, scope, &slot.key])
                    .set(slot.breaker.state.metric_value());
                for (action, level) in &slot.engaged {
                    let entry = levels
                        .entry((action.clone(), scope, slot.key.to_string()))
                        .or_insert(0.0);
                    *entry = entry.max(*level);
                }
                if !exported_kpis.insert((rule.main, &slot.key)) {
                    continue;
                }
                if snapshot.is_none() {
                    continue;
                }
                let measure = values
                    .get(&*slot.key)
                    .copied()
                    .copied()
                    .or(match spec.kpi.kind() {
                        KpiKind::Gauge => Some(Measure::Gauge { value: 0 }),
                        _ => None,
                    });
                if let Some(measure) = measure {
                    self.export_kpi(spec, &slot.key, &measure);
                }
            }
        }
        for (gate, open) in alerter.gates() {
            self.gate_open
                .with_label_values(&[&gate.name])
                .set(if open { 1.0 } else { 0.0 });
            if !open {
                for action in &gate.actions_when_closed {
                    levels.insert(
                        (action.name.clone(), "gate", gate.name.clone()),
                        action.level(),
                    );
                }
            }
        }
        for ((action, scope, key), level) in levels {
            self.action_level
                .with_label_values(&[&action, scope, &key])
                .set(level);
        }
    }

    fn export_kpi(&self, spec: &WindowSpec, key: &str, measure: &Measure) {
        let window = spec.window.as_ref().map_or("", |w| w.text());
        let labels =
            |stat: &'static str| [spec.kpi.as_str(), stat, spec.scope.as_str(), key, window];
        match measure {
            Measure::Ratio { value, .. } => {
                self.kpi.with_label_values(&labels("value")).set(*value)
            }
            Measure::Gauge { value } => self
                .kpi
                .with_label_values(&labels("value"))
                .set(*value as f64),
            Measure::Distribution(stats) => {
                for (stat, value) in [
                    ("count", stats.count as f64),
                    ("mean", stats.mean),
                    ("p50", stats.p50),
                    ("p90", stats.p90),
                    ("p95", stats.p95),
                    ("p99", stats.p99),
                ] {
                    self.kpi.with_label_values(&labels(stat)).set(value);
                }
            }
        }
    }
}

/// The `limit` worst breakers: by state, then by the latest observed band,
/// then in creation order (stable, so series do not flap between equals).
pub fn worst(slots: &[BreakerSlot], limit: usize) -> Vec<&BreakerSlot> {
    let observed_rank = |observed: &Observed| match observed {
        Observed::Band(band) => *band as u8 + 1,
        Observed::Insufficient => 0,
    };
    let mut ranked: Vec<&BreakerSlot> = slots.iter().collect();
    ranked.sort_by_key(|slot| {
        std::cmp::Reverse((slot.breaker.state, observed_rank(&slot.last_observed)))
    });
    ranked.truncate(limit);
    ranked
}
