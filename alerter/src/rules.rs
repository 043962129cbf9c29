//! Rules compiled against the windows the aggregator computes.

use tripgate_model::config::{Config, RuleConfig, Threshold};
use tripgate_model::{Band, KpiKind, WindowSpec};

/// A rule with its thresholds parsed and its windows located.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    pub config: RuleConfig,
    pub yellow: Option<Threshold>,
    pub red: Option<Threshold>,
    /// Position of the rule's own window among the specs.
    pub main: usize,
    /// Position of the baseline window, when the rule has one.
    pub baseline: Option<usize>,
    /// Whether a band compares with the baseline (a "baseline rule").
    pub needs_baseline: bool,
    pub escalate_ticks: usize,
    pub recover_ticks: usize,
}

impl CompiledRule {
    pub fn threshold(&self, band: Band) -> Option<Threshold> {
        match band {
            Band::Red => self.red,
            Band::Yellow => self.yellow,
            Band::Green => None,
        }
    }

    pub fn is_gauge(&self) -> bool {
        self.config.kpi.kind() == KpiKind::Gauge
    }
}

/// Compiles every rule of a validated config and lists, without repeats, the
/// windows they need: first every rule's own window, then the baselines.
pub fn compile(config: &Config) -> (Vec<CompiledRule>, Vec<WindowSpec>) {
    let tick = config.pipeline.tick.nanos();
    let mut specs: Vec<WindowSpec> = Vec::new();
    let mains: Vec<usize> = config
        .rules
        .iter()
        .map(|rule| {
            let spec = WindowSpec {
                kpi: rule.kpi,
                scope: rule.scope,
                window: rule.window().cloned(),
                offset: 0,
            };
            locate(&mut specs, spec)
        })
        .collect();
    let rules = config
        .rules
        .iter()
        .zip(mains)
        .map(|(rule, main)| {
            let baseline = rule.baseline_span().map(|(window, offset)| {
                let window = if rule.kpi.kind() == KpiKind::Gauge {
                    None
                } else {
                    window.cloned()
                };
                let spec = WindowSpec {
                    kpi: rule.kpi,
                    scope: rule.scope,
                    window,
                    offset: offset.nanos(),
                };
                locate(&mut specs, spec)
            });
            CompiledRule {
                config: rule.clone(),
                yellow: rule.yellow_threshold(),
                red: rule.red_threshold(),
                main,
                baseline,
                needs_baseline: rule.needs_baseline(),
                escalate_ticks: (rule.for_nanos() / tick) as usize,
                recover_ticks: (rule.recover_for_nanos() / tick) as usize,
            }
        })
        .collect();
    (rules, specs)
}

fn locate(specs: &mut Vec<WindowSpec>, spec: WindowSpec) -> usize {
    match specs.iter().position(|known| known.same_as(&spec)) {
        Some(position) => position,
        None => {
            specs.push(spec);
            specs.len() - 1
        }
    }
}
