//! Rule and breaker evaluation per tick with many keys, and the `/metrics`
//! render at the export cap (issue 6 target: render ≤ 20 ms).
//!
//! Four rules of the playbook's shapes (a ratio with a baseline, a ratio, a
//! distribution percentile, a gauge), each over 10,000 keys (the default
//! `max_keys`). The snapshots move a tenth of the keys across thresholds
//! every few ticks, so breakers escalate and recover as they do in a bad
//! week. Time is the bench thread's CPU time (`benches/cpu_time.rs`).
//!
//!     cargo bench -p tripgate-alerter --bench breakers

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prometheus::{Encoder, Registry, TextEncoder};
use tripgate_alerter::metrics::AlerterMetrics;
use tripgate_alerter::Alerter;
use tripgate_model::config::Config;
use tripgate_model::time::NANOS_PER_SECOND;
use tripgate_model::{DistributionStats, KpiKind, Measure, SeriesValues, TickSnapshot};

#[path = "../../benches/cpu_time.rs"]
mod cpu_clock;
use cpu_clock::ThreadCpuTime;

const KEYS: usize = 10_000;
const TICK: i64 = 60 * NANOS_PER_SECOND;
/// Snapshots repeat with this period (in ticks).
const PERIOD: usize = 8;

const RULES: &str = r#"
[[rule]]
name = "defect-rate-sku"
kpi = "defect_rate"
scope = "sku"
window = "2d"
min_samples = 100
yellow = { above_baseline_by = 0.25 }
red = { above_baseline_by = 1.0 }
baseline = { window = "7d", offset = "2d" }
for = "2m"
recover_for = "3m"
actions.yellow = [{ name = "pause_sku_expansion" }]

[[rule]]
name = "on-time-warehouse"
kpi = "on_time_rate"
scope = "warehouse"
window = "1h"
min_samples = 30
yellow = { below = 0.95 }
red = { below = 0.80 }
for = "1m"
actions.red = [{ name = "throttle_acquisition", level = 1.0 }]

[[rule]]
name = "cycle-time-p95"
kpi = "cycle_time"
stat = "p95"
scope = "warehouse"
window = "2h"
min_samples = 30
yellow = { above = 129600 }
red = { above = 172800 }

[[rule]]
name = "backlog"
kpi = "fulfillment_backlog"
scope = "warehouse"
yellow = { above = 5000 }
red = { above = 20000 }
"#;

/// Snapshot `phase` of the period: key i is bad in phases where
/// (i + phase) % PERIOD < 3 if it is one of every tenth key.
fn snapshot(alerter: &Alerter, names: &[Arc<str>], phase: usize, tick: i64) -> TickSnapshot {
    let series = alerter
        .window_specs()
        .iter()
        .map(|spec| {
            let values = names
                .iter()
                .enumerate()
                .map(|(index, name)| {
                    let bad = index.is_multiple_of(10) && (index + phase) % PERIOD < 3;
                    let measure = match spec.kpi.kind() {
                        KpiKind::Ratio => Measure::Ratio {
                            // defect rate: baseline 0.01, bad 0.03; on-time: 0.99, bad 0.7
                            value: match (spec.kpi.as_str(), bad, spec.offset) {
                                ("defect_rate", _, offset) if offset > 0 => 0.01,
                                ("defect_rate", true, _) => 0.03,
                                ("defect_rate", false, _) => 0.011,
                                (_, true, _) => 0.7,
                                (_, false, _) => 0.99,
                            },
                            samples: 500,
                        },
                        KpiKind::Distribution => {
                            let p95 = if bad { 200_000.0 } else { 90_000.0 };
                            Measure::Distribution(DistributionStats {
                                count: 400,
                                mean: p95 / 2.0,
                                p50: p95 / 2.0,
                                p90: p95 * 0.9,
                                p95,
                                p99: p95 * 1.1,
                            })
                        }
                        KpiKind::Gauge => Measure::Gauge {
                            value: if bad { 30_000 } else { 100 },
                        },
                    };
                    (name.clone(), measure)
                })
                .collect();
            SeriesValues { values }
        })
        .collect();
    TickSnapshot { tick, series }
}

fn breaker_benches(c: &mut Criterion<ThreadCpuTime>) {
    let config = Config::from_toml(RULES).expect("valid rules");
    let names: Vec<Arc<str>> = (0..KEYS)
        .map(|i| Arc::from(format!("key-{i:05}")))
        .collect();
    let mut alerter = Alerter::new(&config);
    let snapshots: Vec<TickSnapshot> = (0..PERIOD)
        .map(|phase| snapshot(&alerter, &names, phase, phase as i64 * TICK))
        .collect();
    let rules = config.rules.len() as u64;

    let mut group = c.benchmark_group("alerter");
    group.throughput(Throughput::Elements(rules * KEYS as u64));
    let mut tick = 0usize;
    group.bench_function(
        format!("evaluate/{rules} rules x {KEYS} keys (per breaker)"),
        |b| {
            b.iter(|| {
                let mut snapshot = snapshots[tick % PERIOD].clone();
                snapshot.tick = tick as i64 * TICK;
                tick += 1;
                black_box(alerter.evaluate(&snapshot))
            })
        },
    );

    // /metrics: the tick's values go into the registry (observe), then a
    // scrape gathers and encodes the text. At the cap, each rule exports
    // its metrics_max_keys (50) worst keys.
    let registry = Registry::new();
    let metrics =
        AlerterMetrics::new(&registry, config.pipeline.metrics_max_keys).expect("fresh registry");
    let specs = alerter.window_specs().to_vec();
    let snapshot = &snapshots[0];
    let outcome = alerter.evaluate(snapshot);
    metrics.observe(&specs, snapshot, &outcome, &alerter);
    let mut body = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut body)
        .expect("encodes");
    let series = body.iter().filter(|&&byte| byte == b'\n').count();
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function(
        format!("metrics/observe tick ({} B, {series} lines)", body.len()),
        |b| b.iter(|| metrics.observe(&specs, black_box(snapshot), &outcome, &alerter)),
    );
    group.bench_function(format!("metrics/render scrape ({} B)", body.len()), |b| {
        b.iter(|| {
            let mut body = Vec::with_capacity(64 * 1024);
            TextEncoder::new()
                .encode(&registry.gather(), &mut body)
                .expect("encodes");
            black_box(body)
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .with_measurement(ThreadCpuTime)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(20);
    targets = breaker_benches
}
criterion_main!(benches);
