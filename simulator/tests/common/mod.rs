//! Helpers shared by the simulator's integration tests.
#![allow(dead_code)] // each test binary uses its own subset

use std::collections::HashMap;

use serde_json::Value;
use tripgate_model::time::parse_rfc3339;
use tripgate_simulator::{Business, Controls, Scenario};

pub const START: i64 = 1_735_689_600_000_000_000; // 2025-01-01T00:00:00Z
pub const MINUTE: i64 = 60_000_000_000;
pub const HOUR: i64 = 60 * MINUTE;

/// Runs `scenario` for `minutes` in steps of `step_minutes`, returning each call's lines.
pub fn run_in_steps(
    scenario: Scenario,
    seed: u64,
    minutes: i64,
    step_minutes: i64,
    controls: &Controls,
) -> Vec<Vec<String>> {
    let mut business = Business::new(scenario, seed, START);
    (1..=minutes / step_minutes)
        .map(|step| business.advance(START + step * step_minutes * MINUTE, controls))
        .collect()
}

pub fn run(scenario: Scenario, seed: u64, minutes: i64, controls: &Controls) -> Vec<String> {
    run_in_steps(scenario, seed, minutes, 10, controls).concat()
}

pub fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}"))
}

pub fn time_of(event: &Value, field: &str) -> i64 {
    parse_rfc3339(event[field].as_str().expect("a timestamp string"))
        .expect("an RFC 3339 timestamp")
}

pub fn count_of_type(lines: &[String], event_type: &str) -> usize {
    lines
        .iter()
        .filter(|line| parse(line)["type"] == event_type)
        .count()
}

/// Delivered orders that arrived by their promise, ÷ delivered orders with a known promise.
pub fn on_time_share(lines: &[String]) -> (f64, usize) {
    let mut promised: HashMap<String, i64> = HashMap::new();
    let (mut on_time, mut delivered) = (0, 0);
    for line in lines {
        let event = parse(line);
        let order = event["order_id"].as_str().unwrap_or_default().to_string();
        match event["type"].as_str() {
            Some("order.placed") => {
                promised.insert(order, time_of(&event, "promised_by"));
            }
            Some("fulfillment.delivered") => {
                if let Some(by) = promised.get(&order) {
                    delivered += 1;
                    on_time += usize::from(time_of(&event, "occurred_at") <= *by);
                }
            }
            _ => {}
        }
    }
    (on_time as f64 / delivered.max(1) as f64, delivered)
}

/// The demo's shape at a steady demand, for comparing loads.
pub fn steady(orders_per_hour: f64) -> Scenario {
    let mut scenario = Scenario::demo();
    scenario.base_orders_per_hour = orders_per_hour;
    scenario.growth_per_day = 0.0;
    scenario.defect_spikes.clear();
    scenario
}
