//! `tripgate backtest --report FILE.html`: what the backtest saw, drawn for
//! a person. [`Report`] watches every closed tick beside the JSON Lines
//! writer (it changes nothing there) and keeps a bounded summary: per rule and
//! key a downsampled KPI series, time per band and transitions; per gate its
//! changes. [`render::page`] turns that into one self-contained HTML file.

pub mod render;
mod series;
mod svg;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tripgate_alerter::{Alerter, Outcome};
use tripgate_model::config::{Config, Threshold};
use tripgate_model::{Band, Kpi, Nanos, ScopeDim, Stat, TickSnapshot};

pub use self::series::Series;

/// Keys per rule whose KPI is kept over time; later keys are only counted.
/// Enough for every warehouse or region, and for the SKUs that matter once
/// ranked; bounded so a million-SKU backtest stays in memory.
const KEYS_TRACKED: usize = 200;
/// Transitions kept per rule for markers (a rule flapping more than this is
/// already told by its counts).
const TRANSITIONS_KEPT: usize = 5_000;

pub struct Report {
    pub tick_nanos: Nanos,
    pub first_tick: Option<Nanos>,
    pub last_tick: Option<Nanos>,
    pub rules: Vec<RuleTrack>,
    pub gates: Vec<GateTrack>,
}

pub struct RuleTrack {
    pub name: String,
    pub kpi: Kpi,
    pub stat: Stat,
    pub scope: ScopeDim,
    pub window: Option<String>,
    pub yellow: Option<Threshold>,
    pub red: Option<Threshold>,
    /// Tracked keys in the order they appeared.
    pub keys: Vec<KeyTrack>,
    index: HashMap<Arc<str>, usize>,
    /// Keys seen beyond `KEYS_TRACKED`.
    pub untracked_keys: usize,
    /// (tick, key, from, to), oldest first.
    pub transitions: Vec<(Nanos, Arc<str>, Band, Band)>,
    pub transitions_total: u64,
}

pub struct KeyTrack {
    pub key: Arc<str>,
    pub values: Series,
    /// The baseline the rule compared with (baseline rules only).
    pub baselines: Series,
    /// Ticks spent in each breaker state (green, yellow, red) since the key appeared.
    pub ticks_in: [u64; 3],
    pub transitions: u64,
}

pub struct GateTrack {
    pub name: String,
    /// (tick, opened), oldest first; every gate starts open.
    pub changes: Vec<(Nanos, bool)>,
    pub closed_ticks: u64,
    pub ticks: u64,
}

impl Report {
    pub fn new(config: &Config) -> Report {
        let alerter = Alerter::new(config);
        let rules = alerter
            .breakers()
            .map(|(rule, _)| RuleTrack {
                name: rule.config.name.clone(),
                kpi: rule.config.kpi,
                stat: rule.config.stat,
                scope: rule.config.scope,
                window: rule.config.window().map(|w| w.text().to_string()),
                yellow: rule.yellow,
                red: rule.red,
                keys: Vec::new(),
                index: HashMap::new(),
                untracked_keys: 0,
                transitions: Vec::new(),
                transitions_total: 0,
            })
            .collect();
        let gates = config
            .gates
            .iter()
            .map(|gate| GateTrack {
                name: gate.name.clone(),
                changes: Vec::new(),
                closed_ticks: 0,
                ticks: 0,
            })
            .collect();
        Report {
            tick_nanos: config.pipeline.tick.nanos(),
            first_tick: None,
            last_tick: None,
            rules,
            gates,
        }
    }

    /// Called with every closed tick, after the alerter evaluated it.
    pub fn observe(&mut self, snapshot: &TickSnapshot, outcome: &Outcome, alerter: &Alerter) {
        let tick = snapshot.tick;
        self.first_tick.get_or_insert(tick);
        self.last_tick = Some(tick);
        for ((rule, slots), track) in alerter.breakers().zip(&mut self.rules) {
            let baselines: HashMap<&str, f64> = rule
                .baseline
                .filter(|_| rule.needs_baseline)
                .map(|at| {
                    snapshot.series[at]
                        .values
                        .iter()
                        .map(|(k, m)| (&**k, m.stat(rule.config.stat)))
                        .collect()
                })
                .unwrap_or_default();
            for slot in slots {
                let at = match track.index.get(&slot.key) {
                    Some(&at) => at,
                    None if track.keys.len() < KEYS_TRACKED => {
                        track.index.insert(slot.key.clone(), track.keys.len());
                        track.keys.push(KeyTrack {
                            key: slot.key.clone(),
                            values: Series::default(),
                            baselines: Series::default(),
                            ticks_in: [0; 3],
                            transitions: 0,
                        });
                        track.keys.len() - 1
                    }
                    None => {
                        // Counted once: the index remembers it with an out-of-range slot.
                        track.index.insert(slot.key.clone(), usize::MAX);
                        track.untracked_keys += 1;
                        continue;
                    }
                };
                let Some(key) = track.keys.get_mut(at) else {
                    continue;
                };
                key.ticks_in[slot.breaker.state as usize] += 1;
                if let Some(value) = slot.last_value.filter(|v| v.is_finite()) {
                    key.values.push(tick, value);
                }
                if let Some(baseline) = baselines.get(&*slot.key) {
                    key.baselines.push(tick, *baseline);
                }
            }
        }
        for transition in &outcome.transitions {
            let Some(track) = self.rules.iter_mut().find(|t| t.name == transition.rule) else {
                continue;
            };
            track.transitions_total += 1;
            if let Some(key) = track
                .index
                .get(&transition.key)
                .and_then(|&at| track.keys.get_mut(at))
            {
                key.transitions += 1;
            }
            if track.transitions.len() < TRANSITIONS_KEPT {
                track.transitions.push((
                    tick,
                    transition.key.clone(),
                    transition.from,
                    transition.to,
                ));
            }
        }
        for (gate, track) in alerter.gates().zip(&mut self.gates) {
            debug_assert_eq!(gate.0.name, track.name);
            track.ticks += 1;
            if !gate.1 {
                track.closed_ticks += 1;
            }
        }
        for change in &outcome.gates {
            if let Some(track) = self.gates.iter_mut().find(|t| t.name == change.gate) {
                track.changes.push((tick, change.opened));
            }
        }
    }

    /// Days covered, at least one tick's worth (so rates never divide by zero).
    pub fn days(&self) -> f64 {
        let span = match (self.first_tick, self.last_tick) {
            (Some(first), Some(last)) => last - first + self.tick_nanos,
            _ => self.tick_nanos,
        };
        span.max(1) as f64 / 86_400e9
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, render::page(self))
            .with_context(|| format!("cannot write the report {}", path.display()))
    }
}

#[cfg(test)]
mod tests;
