//! Prints how the demo scenario unfolds: demand, queues and the hourly on-time rate every ten
//! simulated minutes.
//!
//! `cargo run -p tripgate-simulator --example story -- [OPTIONS]`
//! - `throttle H LEVEL`: set the acquisition throttle to LEVEL from hour H on;
//! - `breaker`: close the loop with a stand-in for the playbook's `on-time-delivery-global`
//!   rule (1h window, 30 samples, yellow < 0.95 → throttle 0.5, red < 0.80 → throttle 1.0,
//!   for 5m, recover_for 15m), to preview the demo;
//! - `unthrottled SHARE`: set `Scenario::unthrottled_share`;
//! - `seed N`: another history (default 42).
//!
//! The stand-in counts a delivery as on time from the events alone, as tripgate would, but it
//! is only a preview: tripgate's own aggregator is the reference.

use std::collections::{HashMap, VecDeque};

use tripgate_model::time::{format_rfc3339, parse_rfc3339};
use tripgate_simulator::{Business, Controls, Scenario};

const MINUTE: i64 = 60_000_000_000;
const START: i64 = 1_735_689_600_000_000_000; // 2025-01-01T00:00:00Z
const BANDS: [&str; 3] = ["green", "yellow", "red"];

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let value_after = |flag: &str, offset: usize| -> Option<f64> {
        let position = arguments.iter().position(|argument| argument == flag)?;
        arguments.get(position + offset)?.parse().ok()
    };
    let throttle_from_hour = value_after("throttle", 1).unwrap_or(f64::INFINITY);
    let throttle_level = value_after("throttle", 2).unwrap_or(1.0);
    let with_breaker = arguments.iter().any(|argument| argument == "breaker");
    let mut scenario = Scenario::demo();
    scenario.unthrottled_share =
        value_after("unthrottled", 1).unwrap_or(scenario.unthrottled_share);

    let seed = value_after("seed", 1).map_or(42, |seed| seed as u64);
    let mut business = Business::new(scenario, seed, START);
    let mut promised: HashMap<String, i64> = HashMap::new();
    let mut deliveries: VecDeque<(i64, bool)> = VecDeque::new();
    // Observed bands of recent ticks, newest last; None = insufficient.
    let mut observed: VecDeque<Option<usize>> = VecDeque::new();
    let mut band = 0;
    let mut controls = Controls::default();
    for minute in 1..=6 * 60 {
        let tick = START + minute * MINUTE;
        for line in business.advance(tick, &controls) {
            record(&line, &mut promised, &mut deliveries);
        }
        while deliveries
            .front()
            .is_some_and(|(at, _)| *at < tick - 60 * MINUTE)
        {
            deliveries.pop_front();
        }
        let on_time = deliveries.iter().filter(|(_, on_time)| *on_time).count();
        let rate = on_time as f64 / deliveries.len() as f64;
        let tick_band =
            (deliveries.len() >= 30).then(|| usize::from(rate < 0.95) + usize::from(rate < 0.80));
        observed.push_back(tick_band);
        if observed.len() > 16 {
            observed.pop_front();
        }
        let previous = band;
        band = next_band(band, &observed);
        if with_breaker {
            controls.acquisition_throttle = [0.0, 0.5, 1.0][band];
        } else if minute as f64 / 60.0 > throttle_from_hour {
            controls.acquisition_throttle = throttle_level;
        }
        if band != previous {
            println!(
                "{} breaker {} -> {}",
                format_rfc3339(tick),
                BANDS[previous],
                BANDS[band]
            );
        }
        if minute % 10 == 0 {
            let shown = rate * 100.0;
            println!(
                "{} on-time(1h) {shown:5.1}% of {:4} | {}",
                format_rfc3339(tick),
                deliveries.len(),
                business.status()
            );
        }
    }
}

fn record(line: &str, promised: &mut HashMap<String, i64>, deliveries: &mut VecDeque<(i64, bool)>) {
    let event: serde_json::Value =
        serde_json::from_str(line).expect("the simulator writes valid JSON");
    let timestamp =
        |field: &str| parse_rfc3339(event[field].as_str().unwrap_or_default()).unwrap_or_default();
    let order = event["order_id"].as_str().unwrap_or_default().to_string();
    match event["type"].as_str() {
        Some("order.placed") => {
            promised.insert(order, timestamp("promised_by"));
        }
        Some("fulfillment.delivered") => {
            let at = timestamp("occurred_at");
            deliveries.push_back((at, promised.get(&order).is_some_and(|by| at <= *by)));
        }
        _ => {}
    }
}

/// Contract section 6 with for = 5m (6 ticks) and recover_for = 15m (16 ticks).
fn next_band(band: usize, observed: &VecDeque<Option<usize>>) -> usize {
    let last = |count: usize| observed.iter().rev().take(count).collect::<Vec<_>>();
    let escalate = last(6);
    if escalate.len() == 6 {
        for worse in (band + 1..=2).rev() {
            if escalate
                .iter()
                .all(|seen| seen.is_some_and(|seen| seen >= worse))
            {
                return worse;
            }
        }
    }
    let recover = last(16);
    if recover.len() == 16 {
        for better in 0..band {
            if recover
                .iter()
                .all(|seen| seen.is_some_and(|seen| seen <= better))
            {
                return better;
            }
        }
    }
    band
}
