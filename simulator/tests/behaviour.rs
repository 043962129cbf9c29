//! The simulated business behaves as the demo and the tests of a pipeline need it to.

mod common;

use std::collections::{BTreeSet, HashSet};

use common::{
    count_of_type, on_time_share, parse, run, run_in_steps, steady, time_of, HOUR, MINUTE, START,
};
use tripgate_simulator::{Business, Controls, Scenario, SPIKE_SKU};

#[test]
fn the_same_seed_gives_the_same_events() {
    let controls = Controls::default();
    let first = run(Scenario::demo(), 5, 90, &controls);
    assert_eq!(first, run(Scenario::demo(), 5, 90, &controls));
    assert_ne!(first, run(Scenario::demo(), 6, 90, &controls));
    let day: Vec<String> = tripgate_simulator::simulate(1, 5, START)
        .take(5_000)
        .collect();
    assert_eq!(
        day,
        tripgate_simulator::simulate(1, 5, START)
            .take(5_000)
            .collect::<Vec<_>>()
    );
}

#[test]
fn how_a_run_is_cut_into_whole_minutes_does_not_change_it() {
    let controls = Controls::default();
    let by_minute = run_in_steps(Scenario::demo(), 9, 120, 1, &controls).concat();
    let at_once = run_in_steps(Scenario::demo(), 9, 120, 120, &controls).concat();
    assert!(
        by_minute == at_once,
        "advancing minute by minute differs from one advance"
    );
    let mut business = Business::new(Scenario::demo(), 9, START);
    let in_odd_steps: Vec<String> = (1..=160)
        .flat_map(|step| business.advance(START + step * 45_000_000_000, &controls))
        .collect();
    assert!(
        in_odd_steps == at_once,
        "advancing in 45-second steps differs from one advance"
    );
    let streamed: Vec<String> = tripgate_simulator::simulate(1, 9, START).collect();
    let mut business = Business::new(Scenario::realistic(1), 9, START);
    assert!(
        streamed == business.advance(START + 24 * HOUR, &controls),
        "simulate differs from one advance"
    );
}

#[test]
fn each_call_returns_its_span_in_time_order() {
    let batches = run_in_steps(Scenario::demo(), 2, 180, 7, &Controls::default());
    let mut previous_until = START;
    for (index, batch) in batches.iter().enumerate() {
        let until = START + (index as i64 + 1) * 7 * MINUTE;
        let times: Vec<i64> = batch
            .iter()
            .map(|line| time_of(&parse(line), "occurred_at"))
            .collect();
        assert!(
            times.windows(2).all(|pair| pair[0] <= pair[1]),
            "call {index} is out of order"
        );
        assert!(
            times.iter().all(|at| previous_until < *at && *at <= until),
            "call {index} left its span"
        );
        previous_until = until;
    }
}

#[test]
fn demand_above_capacity_makes_deliveries_late() {
    let controls = Controls::default();
    // The demo's warehouses pick about 1090 orders an hour in all.
    let (calm, calm_count) = on_time_share(&run(steady(600.0), 1, 3 * 60, &controls));
    let (overloaded, overloaded_count) = on_time_share(&run(steady(2400.0), 1, 3 * 60, &controls));
    assert!(
        calm_count > 500 && overloaded_count > 500,
        "{calm_count} {overloaded_count}"
    );
    assert!(calm > 0.95, "on time at 600/h: {calm}");
    assert!(
        overloaded < calm - 0.3,
        "on time at 2400/h: {overloaded}, at 600/h: {calm}"
    );

    // More capacity is the other way out.
    let doubled = Controls {
        extra_capacity: 2.5,
        ..Controls::default()
    };
    let (relieved, _) = on_time_share(&run(steady(2400.0), 1, 3 * 60, &doubled));
    assert!(
        relieved > 0.95,
        "on time at 2400/h with 2.5x capacity: {relieved}"
    );
}

#[test]
fn a_throttle_of_nine_tenths_removes_most_orders() {
    let full = count_of_type(
        &run(Scenario::demo(), 4, 120, &Controls::default()),
        "order.placed",
    );
    let throttled = Controls {
        acquisition_throttle: 0.9,
        ..Controls::default()
    };
    let cut = count_of_type(&run(Scenario::demo(), 4, 120, &throttled), "order.placed");
    assert!(full > 1500, "{full}");
    let share = cut as f64 / full as f64;
    assert!((0.05..0.16).contains(&share), "{cut} of {full}");
}

#[test]
fn paused_skus_get_no_new_order_lines() {
    let paused: BTreeSet<String> = [SPIKE_SKU, "SKU-001"].map(String::from).into();
    let skus_ordered = |controls: &Controls| -> HashSet<String> {
        run(Scenario::demo(), 8, 90, controls)
            .iter()
            .map(|line| parse(line))
            .filter(|event| event["type"] == "order.placed")
            .flat_map(|event| {
                let lines = event["lines"].as_array().cloned().unwrap_or_default();
                lines
                    .into_iter()
                    .map(|line| line["sku"].as_str().unwrap_or_default().to_string())
            })
            .collect()
    };
    let normal = skus_ordered(&Controls::default());
    assert!(paused.iter().all(|sku| normal.contains(sku)));
    let with_pause = skus_ordered(&Controls {
        paused_skus: paused.clone(),
        ..Controls::default()
    });
    assert!(paused.iter().all(|sku| !with_pause.contains(sku)));
    assert_eq!(with_pause.len(), normal.len() - 2);
}

#[test]
fn the_demo_saturates_and_its_spike_sku_recovers() {
    let mut business = Business::new(Scenario::demo(), 42, START);
    let controls = Controls::default();
    let mut lines = Vec::new();
    for minute in 1..=4 * 60 {
        lines.extend(business.advance(START + minute * MINUTE, &controls));
        if minute == 150 {
            let status = business.status();
            assert!(
                status
                    .warehouses
                    .iter()
                    .all(|warehouse| warehouse.backlog > 100),
                "{status}"
            );
            assert!(status.to_string().contains("wh-west"));
        }
    }
    let window = |from_hours: f64, to_hours: f64| -> Vec<String> {
        let (from, to) = (
            START + (from_hours * HOUR as f64) as i64,
            START + (to_hours * HOUR as f64) as i64,
        );
        lines
            .iter()
            .filter(|line| (from..to).contains(&time_of(&parse(line), "occurred_at")))
            .cloned()
            .collect()
    };
    // On-time delivery holds in the first hour and has collapsed two hours later.
    let (first_hour, delivered) = on_time_share(&window(0.0, 1.0));
    assert!(
        first_hour > 0.95 && delivered > 200,
        "{first_hour} of {delivered}"
    );
    let (third_hour, _) = on_time_share(&window(2.0, 3.0));
    assert!(third_hour < 0.5, "{third_hour}");

    let defect_rate = |from_hours: f64, to_hours: f64| {
        let events: Vec<_> = window(from_hours, to_hours)
            .iter()
            .map(|line| parse(line))
            .collect();
        let defects: u64 = events
            .iter()
            .filter(|event| {
                event["type"] == "fulfillment.defect_reported" && event["sku"] == SPIKE_SKU
            })
            .map(|event| event["quantity"].as_u64().unwrap_or(0))
            .sum();
        let placed: u64 = events
            .iter()
            .filter(|event| event["type"] == "order.placed")
            .flat_map(|event| event["lines"].as_array().cloned().unwrap_or_default())
            .filter(|line| line["sku"] == SPIKE_SKU)
            .map(|line| line["quantity"].as_u64().unwrap_or(0))
            .sum();
        defects as f64 / placed.max(1) as f64
    };
    // Units ordered in a window stand in for units delivered: close enough for a 10x spike.
    assert!(defect_rate(1.0, 2.0) > 0.1, "{}", defect_rate(1.0, 2.0));
    assert!(defect_rate(3.0, 4.0) < 0.05, "{}", defect_rate(3.0, 4.0));
}

#[test]
fn dirty_mode_adds_duplicates_late_and_broken_lines_to_the_same_events() {
    let controls = Controls::default();
    let clean = run(Scenario::demo(), 12, 180, &controls);
    let mut scenario = Scenario::demo();
    scenario.dirty = true;
    let dirty = run(scenario, 12, 180, &controls);

    let (mut malformed, mut repeated, mut out_of_order) = (0, 0, 0);
    let mut seen = HashSet::new();
    let mut latest = i64::MIN;
    for line in &dirty {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            malformed += 1;
            continue;
        };
        let quantity_is_text = event["lines"]
            .as_array()
            .is_some_and(|lines| lines.iter().any(|line| line["quantity"].is_string()));
        let Some(at) = event["occurred_at"]
            .as_str()
            .and_then(tripgate_model::time::parse_rfc3339)
        else {
            malformed += 1;
            continue;
        };
        if quantity_is_text {
            malformed += 1;
            continue;
        }
        if !seen.insert(line.clone()) {
            repeated += 1;
            continue;
        }
        if at < latest {
            out_of_order += 1;
            assert!(latest - at <= 2 * MINUTE, "held back too long: {line}");
        }
        latest = latest.max(at);
    }
    assert!(
        malformed > 0 && repeated > 0 && out_of_order > 0,
        "{malformed} {repeated} {out_of_order}"
    );

    // Underneath the dirt are the clean events, apart from lines still held back at the end.
    let clean_set: HashSet<String> = clean.iter().cloned().collect();
    assert!(seen.is_subset(&clean_set));
    let missing: Vec<&String> = clean.iter().filter(|line| !seen.contains(*line)).collect();
    assert!(
        missing
            .iter()
            .all(|line| time_of(&parse(line), "occurred_at") > START + 178 * MINUTE),
        "{missing:?}"
    );
}

#[test]
fn nonsense_controls_are_tamed_rather_than_hanging_the_run() {
    let controls = Controls {
        acquisition_throttle: f64::NAN,
        paused_skus: ["SKU-999".to_string()].into(),
        extra_capacity: 0.0,
    };
    let lines = run(Scenario::demo(), 1, 10, &controls);
    assert!(count_of_type(&lines, "order.placed") > 50);
    assert_eq!(
        count_of_type(&lines, "fulfillment.shipped"),
        0,
        "capacity 0 counts as 1% of it"
    );
}
