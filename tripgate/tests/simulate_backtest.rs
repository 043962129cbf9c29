//! `tripgate simulate` → `tripgate backtest`: a simulated week trips the breakers it should.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn tripgate(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tripgate"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "tripgate {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stderr).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("simulate-backtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn transitions(path: &Path, rule: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|record| record["kind"] == "transition" && record["rule"] == rule)
        .collect()
}

#[test]
fn a_simulated_week_trips_the_expected_breakers() {
    let events = scratch("events.jsonl");
    let events_again = scratch("events-again.jsonl");
    let out = scratch("out.jsonl");
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/simulated-week.toml");
    let rules = rules.to_str().unwrap();
    for file in [&events, &events_again] {
        tripgate(&[
            "simulate",
            "--days",
            "5",
            "--seed",
            "11",
            "--out",
            file.to_str().unwrap(),
        ]);
    }
    assert_eq!(
        std::fs::read(&events).unwrap(),
        std::fs::read(&events_again).unwrap(),
        "simulate is deterministic"
    );
    let summary = tripgate(&[
        "backtest",
        "--events",
        events.to_str().unwrap(),
        "--config",
        rules,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(summary.contains("rejected: 0"), "{summary}");
    assert!(summary.contains("late: 0"), "{summary}");

    // SKU-015's bad batch ships on day 2 (2025-01-08); its defects show up after delivery.
    let defects = transitions(&out, "defect-spike-sku");
    let spike = defects
        .iter()
        .find(|t| t["key"] == "SKU-015" && t["to"] == "yellow")
        .unwrap_or_else(|| panic!("SKU-015 never breached: {defects:?}"));
    let tick = spike["tick"].as_str().unwrap();
    assert!(
        ("2025-01-09T00:00:00Z".."2025-01-10T00:00:00Z").contains(&tick),
        "{spike}"
    );
    assert!(
        defects.iter().any(|t| t["key"] == "SKU-015"
            && t["to"] == "green"
            && t["tick"].as_str().unwrap() > tick),
        "SKU-015 never recovered: {defects:?}"
    );

    // Growing demand saturates warehouses on busy evenings; every breach recovers.
    let warehouse = transitions(&out, "on-time-warehouse");
    assert!(
        warehouse
            .iter()
            .any(|t| t["key"] == "wh-west" && t["to"] == "yellow"),
        "{warehouse:?}"
    );
    for key in ["wh-east", "wh-central", "wh-west"] {
        if let Some(last) = warehouse.iter().rev().find(|t| t["key"] == key) {
            assert_eq!(last["to"], "green", "{key} did not recover: {warehouse:?}");
        }
    }
    // By day 5 the whole operation dips below 95% at the evening peak.
    let global = transitions(&out, "on-time-global");
    assert!(
        global
            .iter()
            .any(|t| t["to"] == "yellow" && t["tick"].as_str().unwrap().starts_with("2025-01-10")),
        "{global:?}"
    );
}
