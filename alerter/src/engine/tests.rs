//! The evaluation against the one it replaced, which looked every slot's
//! key up in hash maps of the tick's series, over snapshots with keys in any
//! order, missing, new, or listed twice.

use std::collections::HashMap;

use proptest::prelude::*;
use tripgate_model::{DistributionStats, KpiKind, SeriesValues};

use super::*;

const RULES: &str = r#"
[[rule]]
name = "defects-by-sku"
kpi = "defect_rate"
scope = "sku"
window = "1h"
min_samples = 10
yellow = { above_baseline_by = 0.25 }
red = { above_baseline_by = 1.0 }
baseline = { window = "2h", offset = "1d" }
for = "1m"
recover_for = "2m"
actions.yellow = [{ name = "pause_sku_expansion" }]

[[rule]]
name = "backlog-by-warehouse"
kpi = "fulfillment_backlog"
scope = "warehouse"
yellow = { above_baseline_by = 0.5 }
baseline = { offset = "1d" }

[[rule]]
name = "cycle-time"
kpi = "cycle_time"
stat = "p95"
scope = "warehouse"
window = "2h"
min_samples = 10
yellow = { above = 100 }
red = { above = 200 }
recover_for = "1m"

[[rule]]
name = "on-time"
kpi = "on_time_rate"
window = "1h"
min_samples = 10
red = { below = 0.8 }
actions.red = [{ name = "throttle_acquisition", level = 1.0 }]

[[gate]]
name = "expansion"
rules = ["on-time"]
actions_when_closed = [{ name = "pause_expansion" }]
"#;

const KEYS: [&str; 6] = ["all", "a", "b", "c", "d", "e\"é"];

/// One key's entry in one series: which key, and a draw that makes its value.
type Entry = (usize, u64, u8);

fn measure(kind: KpiKind, samples: u64, level: u8) -> Measure {
    let level = f64::from(level);
    match kind {
        KpiKind::Ratio => Measure::Ratio {
            value: if level == 0.0 { f64::NAN } else { level / 8.0 },
            samples,
        },
        KpiKind::Distribution => Measure::Distribution(DistributionStats {
            count: samples,
            mean: level * 30.0,
            p50: level * 30.0,
            p90: level * 40.0,
            p95: level * 45.0,
            p99: level * 50.0,
        }),
        KpiKind::Gauge => Measure::Gauge {
            value: samples as i64 - 3,
        },
    }
}

fn snapshot(specs: &[WindowSpec], tick: i64, series: &[Vec<Entry>]) -> TickSnapshot {
    TickSnapshot {
        tick,
        series: specs
            .iter()
            .zip(series)
            .map(|(spec, entries)| SeriesValues {
                values: entries
                    .iter()
                    // Fresh `Arc`s: keys are equal by content, not by pointer.
                    .map(|&(key, samples, level)| {
                        (
                            Arc::from(KEYS[key]),
                            measure(spec.kpi.kind(), samples, level),
                        )
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// A transition as compared: rule, key, from, to, value bits, samples,
/// baseline bits, version.
type Change = (
    String,
    String,
    Band,
    Band,
    u64,
    Option<u64>,
    Option<u64>,
    u64,
);

/// A slot as compared: key, state, last observed, last value bits.
type SlotView = (String, Band, Observed, Option<u64>);

struct ReferenceSlot {
    key: Arc<str>,
    breaker: Breaker,
    observed: Observed,
    value: Option<f64>,
}

/// The old lookup: hash maps of the tick's series, every slot read through them.
#[derive(Default)]
struct Reference {
    slots: Vec<Vec<ReferenceSlot>>,
}

impl Reference {
    fn evaluate(&mut self, rules: &[RuleState], snapshot: &TickSnapshot) -> Vec<Change> {
        self.slots.resize_with(rules.len(), Vec::new);
        let mut transitions = Vec::new();
        for (state, slots) in rules.iter().zip(&mut self.slots) {
            let rule = &state.rule;
            let main = &snapshot.series[rule.main].values;
            for (key, _) in main {
                if !slots.iter().any(|slot| slot.key == *key) {
                    let breaker = Breaker::new(rule.escalate_ticks, rule.recover_ticks);
                    slots.push(ReferenceSlot {
                        key: key.clone(),
                        breaker,
                        observed: Observed::Insufficient,
                        value: None,
                    });
                }
            }
            let current: HashMap<&str, &Measure> =
                main.iter().map(|(key, m)| (&**key, m)).collect();
            let baselines: HashMap<&str, &Measure> = rule
                .baseline
                .map(|position| {
                    snapshot.series[position]
                        .values
                        .iter()
                        .map(|(key, m)| (&**key, m))
                        .collect()
                })
                .unwrap_or_default();
            for ReferenceSlot {
                key,
                breaker,
                observed,
                value,
            } in slots.iter_mut()
            {
                let reading = read(
                    rule,
                    current.get(&**key).copied(),
                    baselines.get(&**key).copied(),
                );
                *observed = reading.observed;
                *value = reading.value;
                let from = breaker.state;
                if let Some(to) = breaker.observe(reading.observed) {
                    transitions.push((
                        rule.config.name.clone(),
                        key.to_string(),
                        from,
                        to,
                        reading.value.unwrap_or(f64::NAN).to_bits(),
                        reading.samples,
                        reading.baseline.map(f64::to_bits),
                        breaker.version,
                    ));
                }
            }
        }
        transitions
    }
}

fn series_entries() -> impl Strategy<Value = Vec<Entry>> {
    proptest::collection::vec((0..KEYS.len(), 0u64..20, 0u8..14), 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn evaluation_reads_what_the_hash_maps_read(
        ticks in proptest::collection::vec(
            proptest::collection::vec(series_entries(), 8),
            1..40,
        ),
        restore_at in 0usize..40,
    ) {
        let config = Config::from_toml(RULES).unwrap();
        let mut alerter = Alerter::new(&config);
        let specs = alerter.window_specs().to_vec();
        prop_assert!(specs.len() <= 8, "one series draw per spec");
        let mut reference = Reference::default();
        for (tick, series) in ticks.iter().enumerate() {
            if tick == restore_at {
                // A checkpoint round trip half way: new `Arc`s, a rebuilt index.
                let saved = serde_json::to_string(&alerter.export_state()).unwrap();
                alerter = Alerter::new(&config);
                alerter.import_state(serde_json::from_str(&saved).unwrap());
            }
            let snapshot = snapshot(&specs, tick as i64 * 60_000_000_000, series);
            let expected = reference.evaluate(&alerter.rules, &snapshot);
            let outcome = alerter.evaluate(&snapshot);
            let actual: Vec<Change> = outcome
                .transitions
                .iter()
                .map(|t| {
                    (
                        t.rule.clone(),
                        t.key.to_string(),
                        t.from,
                        t.to,
                        t.value.to_bits(),
                        t.samples,
                        t.baseline.map(f64::to_bits),
                        t.version,
                    )
                })
                .collect();
            prop_assert_eq!(actual, expected, "tick {}", tick);
            for ((_, slots), reference) in alerter.breakers().zip(&reference.slots) {
                let actual: Vec<SlotView> = slots
                    .iter()
                    .map(|s| {
                        let value = s.last_value.map(f64::to_bits);
                        (s.key.to_string(), s.breaker.state, s.last_observed, value)
                    })
                    .collect();
                let expected: Vec<SlotView> = reference
                    .iter()
                    .map(|s| {
                        let value = s.value.map(f64::to_bits);
                        (s.key.to_string(), s.breaker.state, s.observed, value)
                    })
                    .collect();
                prop_assert_eq!(actual, expected, "tick {}", tick);
            }
        }
    }
}
