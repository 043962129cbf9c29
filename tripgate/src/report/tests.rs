//! The report built from a real alerter over synthetic ticks.

use std::sync::Arc;

use tripgate_alerter::Alerter;
use tripgate_model::config::Config;
use tripgate_model::{Measure, SeriesValues, TickSnapshot};

use super::*;

const RULES: &str = r#"
[[rule]]
name = "on-time"
kpi = "on_time_rate"
window = "5m"
yellow = { below = 0.95 }
red = { below = 0.80 }

[[gate]]
name = "expansion"
rules = ["on-time"]
actions_when_closed = [{ name = "pause_expansion" }]
"#;

const MINUTE: i64 = 60_000_000_000;

/// One day of minute ticks: green, then two hours red, then green again.
fn report() -> Report {
    let config = Config::from_toml(RULES).unwrap();
    let mut alerter = Alerter::new(&config);
    let mut report = Report::new(&config);
    for minute in 0..1440 {
        let value = if (600..720).contains(&minute) {
            0.5
        } else {
            0.99
        };
        let snapshot = TickSnapshot {
            tick: 1_735_689_600_000_000_000 + minute * MINUTE,
            series: vec![SeriesValues {
                values: vec![(
                    Arc::from("all"),
                    Measure::Ratio {
                        value,
                        samples: 100,
                    },
                )],
            }],
        };
        let outcome = alerter.evaluate(&snapshot);
        report.observe(&snapshot, &outcome, &alerter);
    }
    report
}

#[test]
fn time_in_band_transitions_and_gates_are_counted() {
    let report = report();
    assert!((report.days() - 1.0).abs() < 1e-9);
    let rule = &report.rules[0];
    assert_eq!(rule.keys[0].ticks_in, [1320, 0, 120]);
    assert_eq!(rule.transitions_total, 2);
    assert_eq!(report.gates[0].changes.len(), 2);
    assert_eq!(report.gates[0].closed_ticks, 120);
}

#[test]
fn the_page_is_self_contained_and_says_what_happened() {
    let html = render::page(&report());
    assert!(html.contains("2025-01-01 00:00 to 2025-01-01 23:59 UTC · 1.0 days"));
    assert!(html.contains(r##"<a href="#rule-on-time">on-time</a>"##));
    assert!(html.contains("yellow below 95.0%, red below 80.0%"));
    assert!(
        html.contains("<title>yellow limit 95.0%</title>"),
        "the threshold line is drawn"
    );
    assert!(
        html.contains("2025-01-01 10:00 all: green → red"),
        "the transition is marked"
    );
    assert!(
        html.contains("8.3% <small>(2h 00m)</small>"),
        "two hours of 24 in red"
    );
    assert!(
        html.contains(r#"<td class="num">2</td><td class="num">2.0</td>"#),
        "2 transitions, 2 flaps per day"
    );
    assert!(html.contains("expansion closed from 2025-01-01 10:00 to 2025-01-01 12:00"));
    // Nothing loads from elsewhere: no scripts, links or remote URLs beyond the SVG namespace.
    let without_namespace = html.replace("http://www.w3.org/2000/svg", "");
    for forbidden in ["<script", "<link", "http://", "https://", "src="] {
        assert!(
            !without_namespace.contains(forbidden),
            "the report contains {forbidden}"
        );
    }
}

#[test]
fn an_empty_backtest_still_writes_a_page() {
    let config = Config::from_toml(RULES).unwrap();
    let html = render::page(&Report::new(&config));
    assert!(html.contains("no tick closed"));
}
