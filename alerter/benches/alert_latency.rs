//! Alert latency (issue 6 target: tick close → signed webhook received by a
//! local receiver, p99 ≤ 50 ms).
//!
//! Each round closes a tick (the alerter evaluates a snapshot whose value
//! crosses the rule's threshold, so its breaker transitions), turns the
//! transition into a notification and sends it with the webhook notifier
//! (Standard Webhooks signature, one HTTP/1.1 POST) to a hyper receiver on
//! 127.0.0.1, the same one the notifier tests use. Latency runs from the
//! start of the evaluation to the receiver having read the whole request.
//! Rounds run one after another; percentiles are nearest-rank.
//!
//!     cargo bench -p tripgate-alerter --bench alert_latency [-- ROUNDS]

#[path = "../tests/notify_support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{webhook_config, Receiver};
use tripgate_alerter::notify::Notifier;
use tripgate_alerter::Alerter;
use tripgate_model::config::Config;
use tripgate_model::time::NANOS_PER_SECOND;
use tripgate_model::{Measure, SeriesValues, TickSnapshot};

const RULE: &str = r#"
[[rule]]
name = "on-time-delivery-global"
kpi = "on_time_rate"
scope = "global"
window = "1h"
min_samples = 30
yellow = { below = 0.95 }
red = { below = 0.80 }
notify = ["hook"]
actions.red = [{ name = "throttle_acquisition", level = 1.0 }]
"#;

fn snapshot(round: usize) -> TickSnapshot {
    // Alternating red and green: every tick is a transition.
    let value = if round.is_multiple_of(2) { 0.7 } else { 0.99 };
    TickSnapshot {
        tick: 1_736_121_600 * NANOS_PER_SECOND + round as i64 * 60 * NANOS_PER_SECOND,
        series: vec![SeriesValues {
            values: vec![(
                Arc::from("all"),
                Measure::Ratio {
                    value,
                    samples: 500,
                },
            )],
        }],
    }
}

fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn main() {
    // `cargo bench` passes `--bench`; a bare number is the round count.
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(2000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let receiver = Receiver::start(Vec::new()).await;
        let notifier = Notifier::from_config("hook", &webhook_config(&receiver.url, "2s"))
            .expect("valid notifier");
        let notifier_table = format!(
            "\n[notifier.hook]\nkind = \"webhook\"\nurl = \"{}\"\nsecret = \"{}\"\ntimeout = \"2s\"\n",
            receiver.url,
            support::SECRET
        );
        let config = Config::from_toml(&format!("{RULE}{notifier_table}")).expect("valid rule");
        let mut alerter = Alerter::new(&config);
        let mut started = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let snapshot = snapshot(round);
            let closed = Instant::now();
            let outcome = alerter.evaluate(&snapshot);
            assert_eq!(outcome.transitions.len(), 1, "round {round} must transition");
            let notification = outcome.transitions[0].notification();
            notifier.send(&notification).await.expect("delivered");
            started.push(closed);
        }
        let requests = receiver.wait_for(rounds, Duration::from_secs(10)).await;
        assert!(requests
            .iter()
            .all(|request| request.header("webhook-signature").starts_with("v1,")));
        let mut latencies: Vec<Duration> = requests
            .iter()
            .zip(&started)
            .map(|(request, closed)| request.at.duration_since(*closed))
            .collect();
        latencies.sort();
        let show = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1e3);
        println!("alert latency, tick close -> signed webhook received, {rounds} rounds:");
        for percent in [50, 90, 99] {
            println!("  p{percent}: {}", show(percentile(&latencies, percent)));
        }
        println!("  max: {}", show(*latencies.last().expect("rounds > 0")));
    });
}
