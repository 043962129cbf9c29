//! The status page and the backtest report as a person sees them: headless
//! Chromium (Debian's) loads each, and the test reads the rendered text and
//! keeps a screenshot in the target tmp dir (printed) for a human look.
//! Skipped (with a note on stderr) when TRIPGATE_CHROMIUM is unset.

mod ops_common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use ops_common::{
    chromium_dom, chromium_screenshot, http_get, tool, visible_text, workspace, Demo,
};

fn screenshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

fn assert_png(path: &PathBuf) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
        "{} is not a real screenshot",
        path.display()
    );
    eprintln!("screenshot: {}", path.display());
}

fn assert_reads(text: &str, expected: &[&str]) {
    for phrase in expected {
        assert!(
            text.contains(phrase),
            "the page does not read {phrase:?}; it reads:\n{text}"
        );
    }
}

#[test]
fn the_status_page_shows_breakers_gates_actions_and_transitions() {
    let Some(chromium) = tool("TRIPGATE_CHROMIUM", "ops_browser status page") else {
        return;
    };
    let demo = Demo::start(90, 5);
    // By then on-time delivery is red, a SKU is paused and the gate closed.
    demo.wait_for_line(Duration::from_secs(80), |line| {
        line.contains("gate expansion-readiness -> closed")
    });
    std::thread::sleep(Duration::from_millis(1500));
    let url = format!("http://{}/", demo.address);
    let (status, html) = http_get(&demo.address, "/");
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"<meta http-equiv="refresh""#),
        "the page refreshes itself"
    );

    let text = visible_text(&chromium_dom(&chromium, &url));
    assert_reads(
        &text,
        &[
            "tripgate status",
            "mode: demo",
            "Gates",
            "expansion-readiness closed",
            "Engaged actions",
            "throttle_acquisition",
            "gate expansion-readiness",
            "KPIs and breakers",
            "per global",
            "on-time-delivery",
            "per warehouse",
            "cycle-time-p95",
            "per sku",
            "defect-rate-sku",
            "SKU-017",
            "Latest transitions",
            "on-time-delivery [global=all]",
            "green → yellow",
            "open → closed",
        ],
    );
    // Worst first: the paused SKU heads its rule's table.
    let sku_table = &text[text
        .find("defect-rate-sku defect_rate")
        .expect("the rule card")..];
    let first_key = sku_table.split("engaged ").nth(1).unwrap_or_default();
    assert!(
        first_key.starts_with("SKU-017"),
        "the worst SKU is not listed first: {sku_table}"
    );

    let png = screenshot_path("status-page.png");
    chromium_screenshot(&chromium, &url, &png, 1800);
    assert_png(&png);
}

#[test]
fn the_backtest_report_draws_every_rule_and_gate() {
    let Some(chromium) = tool("TRIPGATE_CHROMIUM", "ops_browser backtest report") else {
        return;
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let events = dir.join("ops-report-events.jsonl");
    let report = dir.join("ops-report.html");
    let binary = env!("CARGO_BIN_EXE_tripgate");
    let simulated = Command::new(binary)
        .args(["simulate", "--days", "2", "--seed", "3", "--out"])
        .arg(&events)
        .output()
        .unwrap();
    assert!(
        simulated.status.success(),
        "{}",
        String::from_utf8_lossy(&simulated.stderr)
    );
    let config = workspace().join("tripgate/tests/fixtures/simulated-week.toml");
    let results = dir.join("ops-report-results.jsonl");
    let backtest = Command::new(binary)
        .args(["backtest", "--events"])
        .arg(&events)
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(&results)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&backtest.stderr);
    assert!(backtest.status.success(), "{said}");
    assert!(
        said.contains(&format!("report: {}", report.display())),
        "{said}"
    );

    // The JSON Lines output is the same with and without --report.
    let plain = dir.join("ops-report-plain.jsonl");
    let without = Command::new(binary)
        .args(["backtest", "--events"])
        .arg(&events)
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(&plain)
        .output()
        .unwrap();
    assert!(without.status.success());
    assert!(
        std::fs::read(&plain).unwrap() == std::fs::read(&results).unwrap(),
        "--report changed the JSON Lines output"
    );

    let url = format!("file://{}", report.display());
    let dom = chromium_dom(&chromium, &url);
    let text = visible_text(&dom);
    assert_reads(
        &text,
        &[
            "tripgate backtest report",
            "2.0 days",
            "Summary",
            "flaps per day",
            "Gates over time",
            "expansion-readiness",
            "Rules",
            "on-time-warehouse",
            "on_time_rate over 1h per warehouse",
            "yellow below 95.0%, red below 80.0%",
            "wh-west",
            "defect-spike-sku",
            "yellow limit",
            "red limit",
        ],
    );
    let rules = 5;
    assert!(
        dom.matches(r#"<svg class="chart""#).count() >= rules - 1,
        "a KPI chart per rule with data"
    );
    assert!(
        dom.matches(r#"<svg class="strips""#).count() >= rules,
        "band strips per rule and the gates"
    );

    let png = screenshot_path("backtest-report.png");
    chromium_screenshot(&chromium, &url, &png, 2400);
    assert_png(&png);
}
