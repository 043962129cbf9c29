//! The JSON Lines output of contract section 8 ("Backtest"), shared by
//! `tripgate backtest` and `tripgate run --out` so the two can be compared.

use std::io::{self, Write};

use serde::Serialize;
use tripgate_model::time::format_rfc3339;
use tripgate_model::{Measure, TickSnapshot, WindowSpec};

use crate::engine::Outcome;

/// Gauges print as integers, everything else as floats.
#[derive(Serialize)]
#[serde(untagged)]
enum Number {
    Integer(i64),
    Float(f64),
}

#[derive(Serialize)]
struct KpiRecord<'a> {
    kind: &'static str,
    tick: &'a str,
    kpi: &'static str,
    scope: &'static str,
    key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    samples: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p50: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p90: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p95: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p99: Option<f64>,
}

#[derive(Serialize)]
struct TransitionRecord<'a> {
    kind: &'static str,
    tick: &'a str,
    rule: &'a str,
    scope: &'static str,
    key: &'a str,
    from: &'static str,
    to: &'static str,
    value: Number,
    /// Always written; `null` for gauges.
    samples: Option<u64>,
}

#[derive(Serialize)]
struct GateRecord<'a> {
    kind: &'static str,
    tick: &'a str,
    gate: &'a str,
    from: &'static str,
    to: &'static str,
}

fn gate_word(open: bool) -> &'static str {
    if open {
        "open"
    } else {
        "closed"
    }
}

/// Writes one tick: its kpi records (reported windows only), then its
/// transitions, then its gate changes.
pub fn write_tick(
    out: &mut impl Write,
    specs: &[WindowSpec],
    snapshot: &TickSnapshot,
    outcome: &Outcome,
) -> io::Result<()> {
    let tick = format_rfc3339(snapshot.tick);
    for (spec, series) in specs.iter().zip(&snapshot.series) {
        if !spec.is_reported() {
            continue;
        }
        for (key, measure) in &series.values {
            let mut record = KpiRecord {
                kind: "kpi",
                tick: &tick,
                kpi: spec.kpi.as_str(),
                scope: spec.scope.as_str(),
                key,
                window: spec.window.as_ref().map(|w| w.text()),
                samples: measure.samples(),
                value: None,
                count: None,
                mean: None,
                p50: None,
                p90: None,
                p95: None,
                p99: None,
            };
            match measure {
                Measure::Ratio { value, .. } => record.value = Some(Number::Float(*value)),
                Measure::Gauge { value } => record.value = Some(Number::Integer(*value)),
                Measure::Distribution(stats) => {
                    record.count = Some(stats.count);
                    record.mean = Some(stats.mean);
                    record.p50 = Some(stats.p50);
                    record.p90 = Some(stats.p90);
                    record.p95 = Some(stats.p95);
                    record.p99 = Some(stats.p99);
                }
            }
            serde_json::to_writer(&mut *out, &record)?;
            out.write_all(b"\n")?;
        }
    }
    for transition in &outcome.transitions {
        let value = match transition.samples {
            None => Number::Integer(transition.value as i64),
            Some(_) => Number::Float(transition.value),
        };
        let record = TransitionRecord {
            kind: "transition",
            tick: &tick,
            rule: &transition.rule,
            scope: transition.scope.as_str(),
            key: &transition.key,
            from: transition.from.as_str(),
            to: transition.to.as_str(),
            value,
            samples: transition.samples,
        };
        serde_json::to_writer(&mut *out, &record)?;
        out.write_all(b"\n")?;
    }
    for gate in &outcome.gates {
        let record = GateRecord {
            kind: "gate",
            tick: &tick,
            gate: &gate.gate,
            from: gate_word(!gate.opened),
            to: gate_word(gate.opened),
        };
        serde_json::to_writer(&mut *out, &record)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
