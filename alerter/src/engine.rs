//! The alerter: evaluates every rule's breakers and every gate at each closed
//! tick (contract sections 6 and 7) and says what changed.

mod key_index;

use std::sync::Arc;

use tripgate_model::config::{ActionConfig, Config, GateConfig};
use tripgate_model::{
    ActionChange, ActionState, Band, Kpi, Measure, Nanos, ScopeDim, TickSnapshot, WindowSpec,
};

use crate::breaker::{Breaker, Observed};
use crate::rules::{compile, CompiledRule};
use key_index::KeyIndex;

/// A breaker's state change.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub tick: Nanos,
    pub rule: String,
    pub kpi: Kpi,
    pub scope: ScopeDim,
    pub key: Arc<str>,
    pub from: Band,
    pub to: Band,
    pub value: f64,
    /// `None` for gauges, which have no samples.
    pub samples: Option<u64>,
    pub baseline: Option<f64>,
    pub threshold: Option<f64>,
    pub window: Option<String>,
    pub version: u64,
    pub actions: Vec<ActionChange>,
    pub notify: Vec<String>,
}

/// A gate opening or closing.
#[derive(Clone, Debug, PartialEq)]
pub struct GateTransition {
    pub tick: Nanos,
    pub gate: String,
    pub opened: bool,
    pub version: u64,
    pub actions: Vec<ActionChange>,
    pub notify: Vec<String>,
}

/// Everything that changed at one tick, rules first, then gates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    pub transitions: Vec<Transition>,
    pub gates: Vec<GateTransition>,
}

/// Breaker and gate states by name: what a checkpoint keeps of the alerter.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct AlerterState {
    pub rules: Vec<(String, Vec<BreakerSlot>)>,
    pub gates: Vec<(String, bool, u64)>,
}

/// One (rule, key) breaker with what it has engaged.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct BreakerSlot {
    pub key: Arc<str>,
    pub breaker: Breaker,
    /// The actions currently engaged and their levels.
    pub engaged: Vec<(String, f64)>,
    /// The latest observation and its value, for status and metrics.
    pub last_observed: Observed,
    pub last_value: Option<f64>,
}

struct RuleState {
    rule: CompiledRule,
    slots: Vec<BreakerSlot>,
    by_key: KeyIndex,
}

/// Where one slot's key is in this tick's main and baseline series.
#[derive(Clone, Copy)]
struct SlotInputs {
    current: u32,
    baseline: u32,
}

impl SlotInputs {
    const ABSENT: u32 = u32::MAX;
    const NONE: SlotInputs = SlotInputs {
        current: Self::ABSENT,
        baseline: Self::ABSENT,
    };
}

struct GateState {
    config: GateConfig,
    open: bool,
    version: u64,
    /// Positions of the member rules.
    members: Vec<usize>,
}

pub struct Alerter {
    rules: Vec<RuleState>,
    gates: Vec<GateState>,
    specs: Vec<WindowSpec>,
    /// Per slot of the rule being evaluated, kept between ticks so that
    /// evaluating allocates nothing.
    inputs: Vec<SlotInputs>,
}

impl Alerter {
    /// Builds the alerter for a validated config.
    pub fn new(config: &Config) -> Alerter {
        let (rules, specs) = compile(config);
        let gates = config
            .gates
            .iter()
            .map(|gate| GateState {
                config: gate.clone(),
                open: true,
                version: 0,
                members: gate
                    .rules
                    .iter()
                    .map(|name| {
                        rules
                            .iter()
                            .position(|r| r.config.name == *name)
                            .expect("validated gate member")
                    })
                    .collect(),
            })
            .collect();
        let rules = rules
            .into_iter()
            .map(|rule| RuleState {
                rule,
                slots: Vec::new(),
                by_key: KeyIndex::default(),
            })
            .collect();
        Alerter {
            rules,
            gates,
            specs,
            inputs: Vec::new(),
        }
    }

    /// The windows the aggregator must compute for these rules.
    pub fn window_specs(&self) -> &[WindowSpec] {
        &self.specs
    }

    /// Evaluates one closed tick.
    pub fn evaluate(&mut self, snapshot: &TickSnapshot) -> Outcome {
        let mut outcome = Outcome::default();
        for state in &mut self.rules {
            evaluate_rule(state, snapshot, &mut self.inputs, &mut outcome.transitions);
        }
        for gate in &mut self.gates {
            let states = gate
                .members
                .iter()
                .map(|&member| breaker_state(&self.rules[member], ScopeDim::GLOBAL_KEY));
            let green = states.clone().filter(|band| *band == Band::Green).count();
            let worst = states.max().unwrap_or(Band::Green);
            let open = green >= gate.config.min_green() && worst <= gate.config.worst();
            if open == gate.open {
                continue;
            }
            gate.open = open;
            gate.version += 1;
            let state = if open {
                ActionState::Released
            } else {
                ActionState::Engaged
            };
            let actions = gate
                .config
                .actions_when_closed
                .iter()
                .map(|action| change(action, state))
                .collect();
            outcome.gates.push(GateTransition {
                tick: snapshot.tick,
                gate: gate.config.name.clone(),
                opened: open,
                version: gate.version,
                actions,
                notify: gate.config.notify.clone(),
            });
        }
        outcome
    }

    /// Every rule with its breakers, in config and creation order.
    pub fn breakers(&self) -> impl Iterator<Item = (&CompiledRule, &[BreakerSlot])> {
        self.rules
            .iter()
            .map(|state| (&state.rule, state.slots.as_slice()))
    }

    /// The breakers and gates, by name, for a checkpoint.
    pub fn export_state(&self) -> AlerterState {
        AlerterState {
            rules: self
                .rules
                .iter()
                .map(|s| (s.rule.config.name.clone(), s.slots.clone()))
                .collect(),
            gates: self
                .gates
                .iter()
                .map(|g| (g.config.name.clone(), g.open, g.version))
                .collect(),
        }
    }

    /// Restores breakers and gates saved by `export_state`. Rules and gates
    /// are matched by name, and a rule whose definition changed keeps its
    /// breakers only if its windows and thresholds are unchanged (the caller
    /// decides that by comparing configs); unknown names are ignored.
    pub fn import_state(&mut self, state: AlerterState) {
        for (name, slots) in state.rules {
            let Some(rule) = self.rules.iter_mut().find(|s| s.rule.config.name == name) else {
                continue;
            };
            rule.by_key.rebuild(&slots);
            rule.slots = slots;
        }
        for (name, open, version) in state.gates {
            if let Some(gate) = self.gates.iter_mut().find(|g| g.config.name == name) {
                gate.open = open;
                gate.version = version;
            }
        }
    }

    /// Every gate with whether it is open.
    pub fn gates(&self) -> impl Iterator<Item = (&GateConfig, bool)> {
        self.gates.iter().map(|gate| (&gate.config, gate.open))
    }
}

/// A member without an `all` breaker yet counts as green (section 9, "Gates").
fn breaker_state(state: &RuleState, key: &str) -> Band {
    state
        .by_key
        .find(&state.slots, key)
        .map_or(Band::Green, |slot| state.slots[slot].breaker.state)
}

fn change(action: &ActionConfig, state: ActionState) -> ActionChange {
    let level = if state == ActionState::Engaged {
        action.level()
    } else {
        0.0
    };
    ActionChange {
        name: action.name.clone(),
        level,
        state,
    }
}

fn evaluate_rule(
    state: &mut RuleState,
    snapshot: &TickSnapshot,
    inputs: &mut Vec<SlotInputs>,
    transitions: &mut Vec<Transition>,
) {
    let RuleState {
        rule,
        slots,
        by_key,
    } = state;
    let main = &snapshot.series[rule.main].values;
    inputs.clear();
    inputs.resize(slots.len(), SlotInputs::NONE);
    // A key's breaker exists from the first tick it has samples; snapshots
    // carry only such keys (gauges: value above 0). A key listed twice
    // reads its last entry.
    let mut hint = 0;
    for (position, (key, _)) in main.iter().enumerate() {
        let slot = match by_key.locate(slots, key, hint) {
            Some(slot) => slot,
            None => {
                slots.push(BreakerSlot {
                    key: key.clone(),
                    breaker: Breaker::new(rule.escalate_ticks, rule.recover_ticks),
                    engaged: Vec::new(),
                    last_observed: Observed::Insufficient,
                    last_value: None,
                });
                by_key.push(slots);
                inputs.push(SlotInputs::NONE);
                slots.len() - 1
            }
        };
        inputs[slot].current = series_position(position);
        hint = slot + 1;
    }
    if let Some(baseline) = rule.baseline {
        let mut hint = 0;
        for (position, (key, _)) in snapshot.series[baseline].values.iter().enumerate() {
            // A baseline without a breaker is read by none.
            if let Some(slot) = by_key.locate(slots, key, hint) {
                inputs[slot].baseline = series_position(position);
                hint = slot + 1;
            }
        }
    }
    let baselines = rule
        .baseline
        .map(|position| &snapshot.series[position].values);
    for (slot, inputs) in slots.iter_mut().zip(inputs.iter()) {
        let current = main.get(inputs.current as usize).map(|(_, m)| m);
        let baseline = baselines
            .and_then(|values| values.get(inputs.baseline as usize))
            .map(|(_, m)| m);
        let reading = read(rule, current, baseline);
        slot.last_observed = reading.observed;
        slot.last_value = reading.value;
        let from = slot.breaker.state;
        let Some(to) = slot.breaker.observe(reading.observed) else {
            continue;
        };
        // A move to green reports the limit it came back under: yellow's if set.
        let threshold_band = match (to, rule.yellow) {
            (Band::Green, Some(_)) => Band::Yellow,
            (Band::Green, None) => Band::Red,
            (band, _) => band,
        };
        let threshold = rule
            .threshold(threshold_band)
            .and_then(|t| t.limit(reading.baseline));
        let engaged: Vec<(String, f64)> = rule
            .config
            .actions
            .for_band(to)
            .iter()
            .map(|a| (a.name.clone(), a.level()))
            .collect();
        let mut actions: Vec<ActionChange> = slot
            .engaged
            .iter()
            .filter(|(name, _)| !engaged.iter().any(|(kept, _)| kept == name))
            .map(|(name, _)| ActionChange {
                name: name.clone(),
                level: 0.0,
                state: ActionState::Released,
            })
            .collect();
        actions.extend(
            rule.config
                .actions
                .for_band(to)
                .iter()
                .map(|a| change(a, ActionState::Engaged)),
        );
        slot.engaged = engaged;
        transitions.push(Transition {
            tick: snapshot.tick,
            rule: rule.config.name.clone(),
            kpi: rule.config.kpi,
            scope: rule.config.scope,
            key: slot.key.clone(),
            from,
            to,
            value: reading.value.unwrap_or(f64::NAN),
            samples: reading.samples,
            baseline: reading.baseline,
            threshold,
            window: rule.config.window().map(|w| w.text().to_string()),
            version: slot.breaker.version,
            actions,
            notify: rule.config.notify.clone(),
        });
    }
}

fn series_position(position: usize) -> u32 {
    u32::try_from(position)
        .ok()
        .filter(|&position| position != SlotInputs::ABSENT)
        .expect("fewer than 2^32 - 1 keys per series")
}

struct Reading {
    observed: Observed,
    value: Option<f64>,
    samples: Option<u64>,
    baseline: Option<f64>,
}

/// The observed band of one key at one tick (section 6, first bullet).
fn read(rule: &CompiledRule, current: Option<&Measure>, baseline: Option<&Measure>) -> Reading {
    let stat = rule.config.stat;
    let gauge_zero = Measure::Gauge { value: 0 };
    // A gauge without an entry is 0, never insufficient; others have no samples.
    let (current, baseline) = if rule.is_gauge() {
        (
            Some(current.unwrap_or(&gauge_zero)),
            Some(baseline.unwrap_or(&gauge_zero)),
        )
    } else {
        (current, baseline)
    };
    let samples = current.and_then(Measure::samples);
    let value = current.map(|m| m.stat(stat));
    let baseline_value = rule.baseline.and(baseline).map(|m| m.stat(stat));
    let insufficient = Reading {
        observed: Observed::Insufficient,
        value,
        samples,
        baseline: baseline_value,
    };
    let Some(value) = value.filter(|v| !v.is_nan()) else {
        return insufficient;
    };
    if !rule.is_gauge() && samples.unwrap_or(0) < rule.config.min_samples {
        return insufficient;
    }
    if rule.needs_baseline && !rule.is_gauge() {
        let baseline_samples = baseline.and_then(Measure::samples).unwrap_or(0);
        if baseline_value.is_none() || baseline_samples < rule.config.min_samples {
            return insufficient;
        }
    }
    let band = if rule.red.is_some_and(|t| t.holds(value, baseline_value)) {
        Band::Red
    } else if rule.yellow.is_some_and(|t| t.holds(value, baseline_value)) {
        Band::Yellow
    } else {
        Band::Green
    };
    Reading {
        observed: Observed::Band(band),
        value: Some(value),
        samples,
        baseline: baseline_value,
    }
}

#[cfg(test)]
mod tests;
