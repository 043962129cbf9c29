//! Driving the aggregator and comparing what it emits, with the reference
//! or with another run.

use std::collections::BTreeMap;

use tripgate_aggregator::{Admission, Aggregator, Counters};
use tripgate_model::config::{Config, Pipeline};
use tripgate_model::snapshot::{Measure, TickSnapshot, WindowSpec};
use tripgate_model::time::{format_rfc3339, NANOS_PER_SECOND};
use tripgate_model::{Event, Kpi, KpiKind, Nanos, ScopeDim, Span};

use super::reference::{Expected, Reference};

pub const MINUTE: Nanos = 60 * NANOS_PER_SECOND;

/// The default pipeline with `settings` (`key = "value"` lines) on top.
pub fn pipeline(settings: &str) -> Pipeline {
    Config::from_toml(&format!("[pipeline]\n{settings}\n"))
        .expect("test pipeline settings are valid")
        .pipeline
}

fn spec(kpi: Kpi, scope: ScopeDim, window: Option<&str>, offset_minutes: i64) -> WindowSpec {
    WindowSpec {
        kpi,
        scope,
        window: window.map(|w| Span::parse(w).expect("test window")),
        offset: offset_minutes * MINUTE,
    }
}

/// Every (KPI, scope) of contract section 5: gauges once, windowed KPIs
/// over 3m and 10m (global also 1m), plus baselines (windows ending an
/// offset before the tick; for gauges, the gauge at T − offset).
pub fn all_specs() -> Vec<WindowSpec> {
    let mut specs = Vec::new();
    for kpi in Kpi::ALL {
        for &scope in kpi.scopes() {
            if kpi.kind() == KpiKind::Gauge {
                specs.push(spec(kpi, scope, None, 0));
                continue;
            }
            if scope == ScopeDim::Global {
                specs.push(spec(kpi, scope, Some("1m"), 0));
            }
            specs.push(spec(kpi, scope, Some("3m"), 0));
            specs.push(spec(kpi, scope, Some("10m"), 0));
        }
    }
    specs.extend([
        spec(Kpi::CycleTime, ScopeDim::Global, Some("10m"), 5),
        spec(Kpi::OnTimeRate, ScopeDim::Warehouse, Some("3m"), 2),
        spec(Kpi::DefectRate, ScopeDim::Sku, Some("3m"), 4),
        spec(Kpi::FirstResponseTime, ScopeDim::Priority, Some("10m"), 7),
        spec(Kpi::OrderRate, ScopeDim::Channel, Some("1h"), 1),
        spec(Kpi::FulfillmentBacklog, ScopeDim::Warehouse, None, 3),
        spec(Kpi::SupportQueue, ScopeDim::Global, None, 10),
    ]);
    specs
}

/// Everything one run emitted.
pub struct Run {
    pub snapshots: Vec<TickSnapshot>,
    pub counters: Counters,
    pub admissions: Vec<Admission>,
}

/// Offers `arrivals` in order, closing ticks after each offer when
/// `advance_each` (as the live pipeline does) or only at the end.
pub fn run(
    pipeline: &Pipeline,
    specs: &[WindowSpec],
    arrivals: &[Event],
    advance_each: bool,
) -> Run {
    let mut aggregator = Aggregator::new(pipeline, specs);
    let mut snapshots = Vec::new();
    let mut admissions = Vec::new();
    for event in arrivals {
        admissions.push(aggregator.offer(event.clone()));
        if advance_each {
            aggregator.advance(|snapshot| snapshots.push(snapshot));
        }
    }
    aggregator.finish(|snapshot| snapshots.push(snapshot));
    Run {
        snapshots,
        counters: aggregator.counters().clone(),
        admissions,
    }
}

/// Snapshots in a form `assert_eq!` can compare (keys in reported order).
pub type Flat = Vec<(Nanos, Vec<Vec<(String, Measure)>>)>;

pub fn flatten(snapshots: &[TickSnapshot]) -> Flat {
    snapshots
        .iter()
        .map(|snapshot| {
            let series = snapshot
                .series
                .iter()
                .map(|values| {
                    values
                        .values
                        .iter()
                        .map(|(key, m)| (key.to_string(), *m))
                        .collect()
                })
                .collect();
            (snapshot.tick, series)
        })
        .collect()
}

/// The ticks contract section 9 asks for: from the first tick strictly
/// after the earliest event to the largest tick ≤ the latest event.
pub fn expected_ticks(reference: &Reference, tick: Nanos) -> Vec<Nanos> {
    let (Some(earliest), Some(latest)) = (reference.earliest, reference.latest) else {
        return Vec::new();
    };
    let first = (earliest.div_euclid(tick) + 1) * tick;
    let last = latest.div_euclid(tick) * tick;
    (0..)
        .map(|n| first + n * tick)
        .take_while(|t| *t <= last)
        .collect()
}

fn describe_spec(spec: &WindowSpec) -> String {
    let window = spec
        .window
        .as_ref()
        .map_or("gauge".to_string(), |w| w.to_string());
    format!(
        "{}/{} window {window} offset {}s",
        spec.kpi,
        spec.scope,
        spec.offset / NANOS_PER_SECOND
    )
}

fn close(actual: f64, expected: f64, relative: f64) -> bool {
    actual == expected || (actual - expected).abs() <= relative * actual.abs().max(expected.abs())
}

/// The ⌈p·n/100⌉-th smallest, in seconds.
fn nearest_rank(sorted: &[Nanos], percent: usize) -> f64 {
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1] as f64 / NANOS_PER_SECOND as f64
}

fn check_measure(actual: &Measure, expected: &Expected) -> Result<(), String> {
    match (actual, expected) {
        (
            Measure::Ratio { value, samples },
            Expected::Ratio {
                value: want,
                samples: want_samples,
            },
        ) => {
            if samples != want_samples || !close(*value, *want, 1e-9) {
                return Err(format!(
                    "got {value} of {samples} samples, want {want} of {want_samples}"
                ));
            }
        }
        (Measure::Gauge { value }, Expected::Gauge(want)) => {
            if value != want {
                return Err(format!("got gauge {value}, want {want}"));
            }
        }
        (Measure::Distribution(stats), Expected::Distribution(values)) => {
            let sum: i128 = values.iter().map(|v| i128::from(*v)).sum();
            let mean = sum as f64 / (values.len() as f64 * NANOS_PER_SECOND as f64);
            if stats.count != values.len() as u64 || !close(stats.mean, mean, 1e-9) {
                return Err(format!(
                    "got {stats:?}, want count {} mean {mean}",
                    values.len()
                ));
            }
            let got = [stats.p50, stats.p90, stats.p95, stats.p99];
            for (answer, percent) in got.into_iter().zip([50, 90, 95, 99]) {
                let exact = nearest_rank(values, percent);
                if !close(answer, exact, 0.01) {
                    return Err(format!(
                        "p{percent}: got {answer}, nearest rank {exact}; samples {values:?}"
                    ));
                }
            }
        }
        _ => return Err(format!("got {actual:?}, want {expected:?}")),
    }
    Ok(())
}

/// Checks ticks, counters and every value of every spec against the reference.
pub fn check_against_reference(
    run: &Run,
    reference: &Reference,
    specs: &[WindowSpec],
    tick: Nanos,
) -> Result<(), String> {
    let ticks: Vec<Nanos> = run.snapshots.iter().map(|s| s.tick).collect();
    let want_ticks = expected_ticks(reference, tick);
    if ticks != want_ticks {
        let show = |ticks: &[Nanos]| ticks.iter().map(|t| format_rfc3339(*t)).collect::<Vec<_>>();
        return Err(format!(
            "ticks {:?}, want {:?}",
            show(&ticks),
            show(&want_ticks)
        ));
    }
    let counted = (run.counters.semantic_duplicates, run.counters.unmatched);
    if counted != (reference.semantic_duplicates, reference.unmatched) {
        return Err(format!(
            "counters {:?}, want semantic_duplicates {} and unmatched {}",
            run.counters, reference.semantic_duplicates, reference.unmatched
        ));
    }
    for snapshot in &run.snapshots {
        if snapshot.series.len() != specs.len() {
            return Err(format!(
                "{} series for {} specs",
                snapshot.series.len(),
                specs.len()
            ));
        }
        for (spec, values) in specs.iter().zip(&snapshot.series) {
            let at = || {
                format!(
                    "tick {} {}",
                    format_rfc3339(snapshot.tick),
                    describe_spec(spec)
                )
            };
            let mut actual: BTreeMap<String, Measure> = BTreeMap::new();
            for (key, measure) in &values.values {
                if actual.insert(key.to_string(), *measure).is_some() {
                    return Err(format!("{}: key {key} reported twice", at()));
                }
            }
            let expected = reference.expected(spec, snapshot.tick);
            if !actual.keys().eq(expected.keys()) {
                return Err(format!("{}: keys {actual:?}, want {expected:?}", at()));
            }
            for (key, want) in &expected {
                check_measure(&actual[key], want)
                    .map_err(|why| format!("{}, key {key}: {why}", at()))?;
            }
        }
    }
    Ok(())
}
