//! The status page at `/`: what the breakers, gates and actions are right
//! now. The run loop (demo or live) hands each closed tick to a
//! [`StatusBoard`]; the HTTP server renders the board's latest
//! [`StatusSnapshot`] with the pure [`render::page`].

pub mod format;
pub mod render;
mod rule_metrics;

use std::collections::VecDeque;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use tripgate_alerter::metrics::worst;
use tripgate_alerter::{Alerter, Outcome};
use tripgate_model::config::Threshold;
use tripgate_model::{Band, Kpi, Nanos, ScopeDim, Stat};

use self::format::kpi_value;
use self::rule_metrics::register_rule_metrics;

/// How many keys per rule the page lists (worst first); the rest are counted.
const KEYS_SHOWN: usize = 8;
/// How many transitions the page keeps, newest first.
const TRANSITIONS_KEPT: usize = 25;
/// While a replay closes many ticks a second, rebuilding the breaker tables
/// at every tick would cost more than the evaluation itself; once a second
/// is as often as anyone reloads the page.
const REBUILD_EVERY: Duration = Duration::from_secs(1);

/// What the page shows, copied out of the alerter after a tick.
#[derive(Clone, Debug, Default)]
pub struct StatusSnapshot {
    /// `demo` or `live`: tells a reader whether the numbers are real.
    pub mode: &'static str,
    /// The latest closed tick (event time), if any closed yet.
    pub tick: Option<Nanos>,
    pub rules: Vec<RuleStatus>,
    pub gates: Vec<GateStatus>,
    pub actions: Vec<EngagedAction>,
    /// Newest first.
    pub transitions: VecDeque<TransitionLine>,
}

#[derive(Clone, Debug)]
pub struct RuleStatus {
    pub name: String,
    pub kpi: Kpi,
    pub stat: Stat,
    pub scope: ScopeDim,
    pub window: Option<String>,
    pub yellow: Option<Threshold>,
    pub red: Option<Threshold>,
    /// Breakers per band: green, yellow, red.
    pub counts: [usize; 3],
    /// The worst keys, worst first.
    pub keys: Vec<KeyStatus>,
}

#[derive(Clone, Debug)]
pub struct KeyStatus {
    pub key: String,
    /// The breaker's state (what actions follow).
    pub state: Band,
    /// The band the latest tick showed; `None` when it had too few samples.
    pub observed: Option<Band>,
    pub value: Option<f64>,
    pub engaged: Vec<(String, f64)>,
}

#[derive(Clone, Debug)]
pub struct GateStatus {
    pub name: String,
    pub open: bool,
    /// Member rules and their global breaker's state.
    pub members: Vec<(String, Band)>,
    pub min_green: usize,
    pub worst: Band,
    pub actions_when_closed: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct EngagedAction {
    pub action: String,
    pub level: f64,
    /// `rule on-time-delivery [global=all]` or `gate expansion-readiness`.
    pub by: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TransitionLine {
    pub tick: Nanos,
    /// `on-time-delivery [global=all]` or `gate expansion-readiness`.
    pub subject: String,
    pub from: String,
    pub to: String,
    /// The KPI value and limit, already formatted.
    pub detail: String,
    pub actions: String,
}

impl StatusSnapshot {
    pub fn new(mode: &'static str) -> StatusSnapshot {
        StatusSnapshot {
            mode,
            ..StatusSnapshot::default()
        }
    }

    /// Records a tick's transitions (cheap, every tick).
    pub fn record(&mut self, tick: Nanos, outcome: &Outcome) {
        self.tick = Some(tick);
        for t in &outcome.transitions {
            let (kpi, stat) = (t.kpi, Stat::Value);
            let value = kpi_value(kpi, stat, t.value);
            let detail = match t.threshold {
                Some(limit) => format!("{value} vs limit {}", kpi_value(kpi, stat, limit)),
                None => value,
            };
            self.push(TransitionLine {
                tick,
                subject: format!("{} [{}={}]", t.rule, t.scope, t.key),
                from: t.from.as_str().to_string(),
                to: t.to.as_str().to_string(),
                detail,
                actions: actions_text(&t.actions),
            });
        }
        for g in &outcome.gates {
            let word = |open: bool| if open { "open" } else { "closed" }.to_string();
            self.push(TransitionLine {
                tick,
                subject: format!("gate {}", g.gate),
                from: word(!g.opened),
                to: word(g.opened),
                detail: String::new(),
                actions: actions_text(&g.actions),
            });
        }
    }

    fn push(&mut self, line: TransitionLine) {
        self.transitions.push_front(line);
        self.transitions.truncate(TRANSITIONS_KEPT);
    }

    /// Copies the breakers, gates and engaged actions out of the alerter.
    pub fn rebuild(&mut self, alerter: &Alerter) {
        self.rules.clear();
        self.actions.clear();
        for (rule, slots) in alerter.breakers() {
            let mut counts = [0usize; 3];
            for slot in slots {
                counts[slot.breaker.state as usize] += 1;
                for (action, level) in &slot.engaged {
                    self.actions.push(EngagedAction {
                        action: action.clone(),
                        level: *level,
                        by: format!(
                            "rule {} [{}={}]",
                            rule.config.name, rule.config.scope, slot.key
                        ),
                    });
                }
            }
            let keys = worst(slots, KEYS_SHOWN)
                .into_iter()
                .map(|slot| KeyStatus {
                    key: slot.key.to_string(),
                    state: slot.breaker.state,
                    observed: match slot.last_observed {
                        tripgate_alerter::breaker::Observed::Band(band) => Some(band),
                        tripgate_alerter::breaker::Observed::Insufficient => None,
                    },
                    value: slot.last_value,
                    engaged: slot.engaged.clone(),
                })
                .collect();
            self.rules.push(RuleStatus {
                name: rule.config.name.clone(),
                kpi: rule.config.kpi,
                stat: rule.config.stat,
                scope: rule.config.scope,
                window: rule.config.window().map(|w| w.text().to_string()),
                yellow: rule.yellow,
                red: rule.red,
                counts,
                keys,
            });
        }
        let global_state = |name: &str| {
            alerter
                .breakers()
                .find(|(rule, _)| rule.config.name == name)
                .and_then(|(_, slots)| slots.iter().find(|s| &*s.key == ScopeDim::GLOBAL_KEY))
                .map_or(Band::Green, |slot| slot.breaker.state)
        };
        self.gates = alerter
            .gates()
            .map(|(gate, open)| {
                if !open {
                    for action in &gate.actions_when_closed {
                        self.actions.push(EngagedAction {
                            action: action.name.clone(),
                            level: action.level(),
                            by: format!("gate {}", gate.name),
                        });
                    }
                }
                GateStatus {
                    name: gate.name.clone(),
                    open,
                    members: gate
                        .rules
                        .iter()
                        .map(|r| (r.clone(), global_state(r)))
                        .collect(),
                    min_green: gate.min_green(),
                    worst: gate.worst(),
                    actions_when_closed: gate
                        .actions_when_closed
                        .iter()
                        .map(|a| a.name.clone())
                        .collect(),
                }
            })
            .collect();
    }
}

fn actions_text(actions: &[tripgate_model::ActionChange]) -> String {
    let parts: Vec<String> = actions
        .iter()
        .map(|a| format!("{} {:?} {:.1}", a.name, a.state, a.level).to_lowercase())
        .collect();
    parts.join(", ")
}

/// The snapshot the server reads and the run loop writes, plus the
/// per-rule series (`tripgate_rule_info`, `tripgate_rule_threshold`) that
/// let Grafana draw each rule's limits next to its KPI.
pub struct StatusBoard {
    snapshot: RwLock<StatusSnapshot>,
    last_rebuild: RwLock<Option<Instant>>,
}

impl StatusBoard {
    /// A board for `mode`, registering the rule series on `registry`.
    pub fn new(
        mode: &'static str,
        config: &tripgate_model::config::Config,
        registry: &prometheus::Registry,
    ) -> prometheus::Result<StatusBoard> {
        register_rule_metrics(registry, config)?;
        Ok(StatusBoard {
            snapshot: RwLock::new(StatusSnapshot::new(mode)),
            last_rebuild: RwLock::new(None),
        })
    }

    /// After each closed tick: transitions always, tables at most once a second.
    pub fn observe(&self, tick: Nanos, outcome: &Outcome, alerter: &Alerter) {
        let mut last = self.last_rebuild.write().expect("status lock");
        let stale = match *last {
            None => true,
            Some(at) => at.elapsed() >= REBUILD_EVERY,
        };
        let due = stale || !outcome.transitions.is_empty() || !outcome.gates.is_empty();
        let mut snapshot = self.snapshot.write().expect("status lock");
        snapshot.record(tick, outcome);
        if due {
            snapshot.rebuild(alerter);
            *last = Some(Instant::now());
        }
    }

    /// A copy to render without holding the lock while writing the response.
    pub fn snapshot(&self) -> StatusSnapshot {
        self.snapshot.read().expect("status lock").clone()
    }
}

impl Default for StatusBoard {
    /// An empty board (no rules) for servers that have no run loop.
    fn default() -> StatusBoard {
        StatusBoard {
            snapshot: RwLock::new(StatusSnapshot::new("starting")),
            last_rebuild: RwLock::new(None),
        }
    }
}
