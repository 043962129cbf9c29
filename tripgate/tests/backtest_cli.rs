//! `tripgate backtest` and `tripgate check-config` through the binary, as a user runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn tripgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tripgate"))
}

#[path = "../../tests/support/contract_example.rs"]
mod contract_example;
use contract_example::tiny;

fn records(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

const PERCENTILES: [&str; 4] = ["p50", "p90", "p95", "p99"];

/// A record without its percentiles, as a canonical string, so that two
/// outputs compare exactly except where the contract allows 1%.
fn exact_part(record: &Value) -> String {
    let mut record = record.clone();
    if let Some(object) = record.as_object_mut() {
        for stat in PERCENTILES {
            object.remove(stat);
        }
    }
    record.to_string()
}

/// Compares two outputs as the contract does: order within a tick is free,
/// percentiles within 1%, everything else exact.
fn assert_same_output(expected: &[Value], actual: &[Value]) {
    let mut expected_sorted: Vec<(String, &Value)> =
        expected.iter().map(|r| (exact_part(r), r)).collect();
    let mut actual_sorted: Vec<(String, &Value)> =
        actual.iter().map(|r| (exact_part(r), r)).collect();
    expected_sorted.sort_by(|a, b| a.0.cmp(&b.0));
    actual_sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let expected_keys: Vec<&String> = expected_sorted.iter().map(|(k, _)| k).collect();
    let actual_keys: Vec<&String> = actual_sorted.iter().map(|(k, _)| k).collect();
    assert_eq!(expected_keys, actual_keys, "records differ");
    for ((_, want), (_, got)) in expected_sorted.iter().zip(&actual_sorted) {
        for stat in PERCENTILES {
            if let (Some(want), Some(got)) = (want[stat].as_f64(), got[stat].as_f64()) {
                assert!(
                    (want - got).abs() <= 0.01 * want.abs(),
                    "{stat}: {got} vs {want} in {want:?}"
                );
            }
        }
    }
}

#[test]
fn backtest_reproduces_the_contract_example() {
    let out = tempfile("tiny-out.jsonl");
    let output = tripgate()
        .args(["backtest", "--events"])
        .arg(tiny("events.jsonl"))
        .arg("--config")
        .arg(tiny("config.toml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = records(&std::fs::read_to_string(tiny("expected.jsonl")).unwrap());
    let actual = records(&std::fs::read_to_string(&out).unwrap());
    assert_same_output(&expected, &actual);

    // The summary carries the example's counters (README section 1).
    let summary = String::from_utf8_lossy(&output.stderr);
    for line in [
        "events read: 34",
        "rejected: 6 (malformed_json 1, not_an_object 1, missing_field 1, invalid_field 2, duplicate_field 1)",
        "duplicates: 4 (2 repeated event_id, 2 semantic)",
        "late: 1",
        "unmatched: 3",
        "ticks: 9",
        "transitions: 25",
        "gate transitions: 5",
    ] {
        assert!(summary.contains(line), "summary lacks {line:?}:\n{summary}");
    }
}

#[test]
fn backtest_reads_stdin_and_writes_stdout_deterministically() {
    let run = || {
        let mut child = tripgate()
            .args(["backtest", "--events", "-", "--config"])
            .arg(tiny("config.toml"))
            .args(["--out", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let events = std::fs::read(tiny("events.jsonl")).unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&events).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    let first = run();
    assert_eq!(first, run(), "two runs on the same input differ");
    assert_eq!(records(&first).len(), 104);
}

#[test]
fn check_config_prints_the_effective_config_with_secrets_redacted() {
    let output = check_config(
        "with-secret.toml",
        "[notifier.hook]\nkind = \"webhook\"\nurl = \"https://example.invalid/very-secret-path\"\nsecret = \"whsec_c2VjcmV0\"\n",
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("tick = \"1m\""), "{printed}");
    assert!(printed.contains("<redacted>"), "{printed}");
    assert!(!printed.contains("very-secret-path"), "{printed}");
}

#[test]
fn check_config_lists_every_error_with_its_path_and_fails() {
    let output = check_config(
        "broken.toml",
        "[[rule]]\nname = \"late\"\nkpi = \"on_time_rate\"\nwindow = \"90s\"\nyellow = { below = 0.9 }\nnotify = [\"nobody\"]\n",
    );
    assert!(!output.status.success());
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(
        errors.contains("rule[0] (late).window: 90s is not a whole multiple of pipeline.tick"),
        "{errors}"
    );
    assert!(
        errors.contains("rule[0] (late).notify: no [notifier.nobody] is configured"),
        "{errors}"
    );
}

#[test]
fn a_missing_events_file_is_a_clear_error() {
    let output = tripgate()
        .args(["backtest", "--events", "/nonexistent/events.jsonl"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(
        errors.contains("cannot open events file /nonexistent/events.jsonl"),
        "{errors}"
    );
}

/// Runs `tripgate check-config` on a file holding `contents`.
fn check_config(name: &str, contents: &str) -> std::process::Output {
    let config = tempfile(name);
    std::fs::write(&config, contents).unwrap();
    tripgate()
        .arg("check-config")
        .arg(&config)
        .output()
        .unwrap()
}

fn tempfile(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("backtest-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}
