//! The hand-written lines against serde_json's rendering of the record
//! structs they replaced (kept here as the reference).

use std::sync::Arc;

use proptest::prelude::*;
use serde::Serialize;
use tripgate_model::duration::Span;
use tripgate_model::{
    Band, DistributionStats, Kpi, Measure, ScopeDim, SeriesValues, TickSnapshot, WindowSpec,
};

use super::*;
use crate::engine::{GateTransition, Outcome, Transition};

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

/// `write_tick` as it was, through serde.
fn reference(specs: &[WindowSpec], snapshot: &TickSnapshot, outcome: &Outcome) -> Vec<u8> {
    let mut out = Vec::new();
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
            serde_json::to_writer(&mut out, &record).unwrap();
            out.push(b'\n');
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
        serde_json::to_writer(&mut out, &record).unwrap();
        out.push(b'\n');
    }
    for gate in &outcome.gates {
        let record = GateRecord {
            kind: "gate",
            tick: &tick,
            gate: &gate.gate,
            from: gate_word(!gate.opened),
            to: gate_word(gate.opened),
        };
        serde_json::to_writer(&mut out, &record).unwrap();
        out.push(b'\n');
    }
    out
}

fn written(specs: &[WindowSpec], snapshot: &TickSnapshot, outcome: &Outcome) -> Vec<u8> {
    let mut out = Vec::new();
    write_tick(&mut out, specs, snapshot, outcome).unwrap();
    out
}

/// Keys as events may spell them: plain, with JSON's special characters,
/// control characters and non-ASCII, or anything at all.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9_-]{0,12}",
        r#"[a-z"\\/]{0,6}"#,
        "[\\x00-\\x1f\\x7f a]{0,6}",
        "[é€😀\u{2028}\u{fffd}a]{0,6}",
        any::<String>(),
    ]
}

/// Any f64, NaN, the infinities, subnormals and negatives included.
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        proptest::num::f64::ANY,
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(0.1 + 0.2),
        (-1_000_000i64..1_000_000).prop_map(|n| n as f64 / 1000.0),
    ]
}

fn measure() -> impl Strategy<Value = Measure> {
    prop_oneof![
        (number(), any::<u64>()).prop_map(|(value, samples)| Measure::Ratio { value, samples }),
        any::<i64>().prop_map(|value| Measure::Gauge { value }),
        (
            any::<u64>(),
            [number(), number(), number(), number(), number()]
        )
            .prop_map(|(count, [mean, p50, p90, p95, p99])| Measure::Distribution(
                DistributionStats {
                    count,
                    mean,
                    p50,
                    p90,
                    p95,
                    p99,
                }
            )),
    ]
}

fn band() -> impl Strategy<Value = Band> {
    prop_oneof![Just(Band::Green), Just(Band::Yellow), Just(Band::Red)]
}

fn scope() -> impl Strategy<Value = ScopeDim> {
    prop_oneof![
        Just(ScopeDim::Global),
        Just(ScopeDim::Channel),
        Just(ScopeDim::Sku),
        Just(ScopeDim::Priority),
    ]
}

fn spec() -> impl Strategy<Value = WindowSpec> {
    (
        0..Kpi::ALL.len(),
        scope(),
        prop_oneof![
            Just(None),
            Just(Some("1h")),
            Just(Some("30m")),
            Just(Some("7d"))
        ],
        prop_oneof![Just(0), Just(86_400_000_000_000i64)],
    )
        .prop_map(|(kpi, scope, window, offset)| WindowSpec {
            kpi: Kpi::ALL[kpi],
            scope,
            window: window.map(|text| Span::parse(text).unwrap()),
            offset,
        })
}

fn series() -> impl Strategy<Value = SeriesValues> {
    proptest::collection::vec((key(), measure()), 0..6).prop_map(|values| SeriesValues {
        values: values
            .into_iter()
            .map(|(key, measure)| (Arc::from(key), measure))
            .collect(),
    })
}

fn transition() -> impl Strategy<Value = Transition> {
    (
        key(),
        key(),
        scope(),
        band(),
        band(),
        number(),
        proptest::option::of(any::<u64>()),
    )
        .prop_map(|(rule, key, scope, from, to, value, samples)| Transition {
            tick: 0,
            rule,
            kpi: Kpi::OnTimeRate,
            scope,
            key: Arc::from(key),
            from,
            to,
            value,
            samples,
            baseline: None,
            threshold: None,
            window: None,
            version: 1,
            actions: Vec::new(),
            notify: Vec::new(),
        })
}

fn gate() -> impl Strategy<Value = GateTransition> {
    (key(), any::<bool>()).prop_map(|(gate, opened)| GateTransition {
        tick: 0,
        gate,
        opened,
        version: 1,
        actions: Vec::new(),
        notify: Vec::new(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn lines_are_serde_jsons(
        tick in prop_oneof![Just(0i64), any::<i64>(), 1_700_000_000_000_000_000i64..1_800_000_000_000_000_000],
        specs_and_series in proptest::collection::vec((spec(), series()), 0..4),
        transitions in proptest::collection::vec(transition(), 0..4),
        gates in proptest::collection::vec(gate(), 0..3),
    ) {
        let (specs, series): (Vec<_>, Vec<_>) = specs_and_series.into_iter().unzip();
        let snapshot = TickSnapshot { tick, series };
        let outcome = Outcome { transitions, gates };
        let expected = reference(&specs, &snapshot, &outcome);
        let actual = written(&specs, &snapshot, &outcome);
        prop_assert_eq!(
            String::from_utf8(actual).unwrap(),
            String::from_utf8(expected).unwrap()
        );
    }
}

#[test]
fn a_tick_with_many_keys_is_written_whole() {
    let spec = WindowSpec {
        kpi: Kpi::OrderRate,
        scope: ScopeDim::Channel,
        window: Some(Span::parse("1h").unwrap()),
        offset: 0,
    };
    let values = (0..5_000)
        .map(|i| {
            let measure = Measure::Ratio {
                value: i as f64 / 7.0,
                samples: i,
            };
            (Arc::from(format!("key \"{i}\"\n")), measure)
        })
        .collect();
    let snapshot = TickSnapshot {
        tick: 1_750_000_000_000_000_000,
        series: vec![SeriesValues { values }],
    };
    let specs = [spec];
    let outcome = Outcome::default();
    let actual = written(&specs, &snapshot, &outcome);
    assert_eq!(actual.iter().filter(|&&byte| byte == b'\n').count(), 5_000);
    assert_eq!(actual, reference(&specs, &snapshot, &outcome));
}
