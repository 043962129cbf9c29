//! Prints how the demo scenario unfolds: demand, queues and the hourly on-time rate (as the
//! playbook's `on-time-delivery-global` rule would see it) every ten simulated minutes.
//!
//! `cargo run -p tripgate-simulator --example story -- [THROTTLE_AT_HOURS [THROTTLE]]`
//! applies the throttle from that hour on, to show what tripgate's action would do.

use std::collections::{HashMap, VecDeque};

use tripgate_model::time::{format_rfc3339, parse_rfc3339};
use tripgate_simulator::{Business, Controls, Scenario};

const MINUTE: i64 = 60_000_000_000;
const START: i64 = 1_735_689_600_000_000_000; // 2025-01-01T00:00:00Z

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let throttle_at_hours: f64 = arguments
        .first()
        .and_then(|text| text.parse().ok())
        .unwrap_or(f64::INFINITY);
    let throttle: f64 = arguments
        .get(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(1.0);
    let mut business = Business::new(Scenario::demo(), 42, START);
    let mut promised: HashMap<String, i64> = HashMap::new();
    // (delivered_at, on_time) within the last hour.
    let mut window: VecDeque<(i64, bool)> = VecDeque::new();
    let mut controls = Controls::default();
    for minute in 1..=6 * 60 {
        let until = START + minute * MINUTE;
        if (minute as f64) / 60.0 > throttle_at_hours {
            controls.acquisition_throttle = throttle;
        }
        for line in business.advance(until, &controls) {
            let event: serde_json::Value = serde_json::from_str(&line).expect("valid json");
            let at = parse_rfc3339(event["occurred_at"].as_str().unwrap_or_default())
                .unwrap_or_default();
            let order = event["order_id"].as_str().unwrap_or_default().to_string();
            match event["type"].as_str() {
                Some("order.placed") => {
                    let by = parse_rfc3339(event["promised_by"].as_str().unwrap_or_default())
                        .unwrap_or_default();
                    promised.insert(order, by);
                }
                Some("fulfillment.delivered") => {
                    let on_time = promised.get(&order).is_some_and(|by| at <= *by);
                    window.push_back((at, on_time));
                }
                _ => {}
            }
        }
        while window
            .front()
            .is_some_and(|(at, _)| *at < until - 60 * MINUTE)
        {
            window.pop_front();
        }
        if minute % 10 == 0 {
            let on_time = window.iter().filter(|(_, on_time)| *on_time).count();
            let rate = if window.is_empty() {
                f64::NAN
            } else {
                on_time as f64 / window.len() as f64
            };
            println!(
                "{} on-time(1h) {:5.1}% of {:4} | {}",
                format_rfc3339(until),
                rate * 100.0,
                window.len(),
                business.status()
            );
        }
    }
}
