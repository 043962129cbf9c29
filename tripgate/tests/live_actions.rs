//! The action layer in live mode, through the admin API a user calls, with
//! the real broker and a real webhook receiver: an operator's override and
//! silence are answered only once checkpointed, so they survive SIGKILL;
//! the override's messages reach the receiver and are released again;
//! reloads (POST /-/reload and SIGHUP) apply a valid config, keep the
//! breakers of unchanged rules, and reject an invalid one while the old
//! config keeps running.

mod live_common;

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use live_common::*;
use serde_json::Value;

const TOKEN: &str = "live-actions-admin-token";

fn api(port: u16, method: &str, path: &str, body: &str) -> (u16, Value) {
    let (status, text) = http_request(port, method, path, Some(TOKEN), body)
        .unwrap_or_else(|| panic!("{method} {path}: no answer"));
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// Waits until the receiver has a body for which `wanted` holds.
fn wait_for_body(receiver: &Receiver, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let found = receiver.by_id().values().find_map(|body| {
            let value: Value = serde_json::from_str(body).ok()?;
            wanted(&value).then_some(value)
        });
        if let Some(value) = found {
            return value;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the receiver never got {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn is_pause(state: &'static str) -> impl Fn(&Value) -> bool {
    move |body| {
        body["rule"] == "manual"
            && body["action"] == "pause_sku_expansion"
            && body["state"] == state
    }
}

#[test]
fn operator_changes_survive_a_crash_and_reloads_apply_or_are_rejected() {
    let Some(bootstrap) = bootstrap() else { return };
    let receiver = Receiver::start();
    let scenario = Scenario::new("actions", &bootstrap, Some(&receiver.url));
    let rules = fs::read_to_string(&scenario.rules).unwrap();
    // A rule that never fires on its own: its action moves only when an
    // operator moves it.
    let rules = rules.replacen(
        "[[rule]]",
        "[[rule]]\nname = \"manual\"\nkpi = \"support_queue\"\nscope = \"global\"\n\
         red = { above = 1000000 }\nactions.red = [{ name = \"pause_sku_expansion\" }]\nnotify = [\"hook\"]\n\n[[rule]]",
        1,
    ) + &format!("\n[admin]\ntoken = \"{TOKEN}\"\n");
    fs::write(&scenario.rules, &rules).unwrap();
    let events = scenario.simulate(31, None);
    let expected = scenario.expected_live_output(&events);
    scenario.produce(&events);
    let out = scenario.dir.join("live.jsonl");
    let port = free_port();
    let mut child = scenario.start(&out, port, &[]);
    scenario.wait_caught_up(&mut child, &out, &expected);

    // Live mode exports the contract's breaker and KPI series: at once
    // when input goes idle, at most once a second while it flows, so the
    // output file can be complete a moment before they are.
    let metrics = wait_for_series(
        port,
        "tripgate_breaker_band{key=\"all\",rule=\"support\",scope=\"global\"}",
    );
    assert!(metrics.contains("tripgate_kpi{"), "{metrics}");
    // Authentication first: no token, a wrong one.
    let (status, _) = http_request(port, "GET", "/api/v1/breakers", None, "").unwrap();
    assert_eq!(status, 401);
    let (status, _) = http_request(port, "GET", "/api/v1/breakers", Some("x"), "").unwrap();
    assert_eq!(status, 403);
    let (status, breakers) = api(port, "GET", "/api/v1/breakers", "");
    assert_eq!(status, 200, "{breakers}");
    assert!(breakers.to_string().contains("\"manual\""), "{breakers}");

    // An override and a silence, each answered once checkpointed...
    let (status, engaged) = api(
        port,
        "POST",
        "/api/v1/actions/force-engage",
        r#"{"rule":"manual","key":"all","action":"pause_sku_expansion","reason":"stock count"}"#,
    );
    assert_eq!(status, 200, "{engaged}");
    assert_eq!(engaged["messages"][0]["reason"], "forced_engage");
    let (status, silence) = api(
        port,
        "POST",
        "/api/v1/silences",
        r#"{"rule":"response","duration":"1h","reason":"known issue"}"#,
    );
    assert_eq!(status, 201, "{silence}");
    let engaged_message = wait_for_body(&receiver, "the forced engagement", is_pause("engaged"));
    assert_eq!(engaged_message["reason"], "forced_engage");

    // ...so a SIGKILL right after loses neither.
    child.kill().unwrap();
    child.wait().unwrap();
    let mut child = scenario.start(&out, port, &[]);
    wait_readyz(port, 200, "ready", Duration::from_secs(60));
    // Restored bands are exported before any tick closes, and the status
    // page shows the breakers as of the last tick closed.
    let (_, page) = http_get(port, "/").unwrap();
    assert!(page.contains("latest tick 2025-01-0"), "{page}");
    assert!(!page.contains("No rules loaded yet."), "{page}");
    let (_, metrics) = http_get(port, "/metrics").unwrap();
    assert!(
        metrics.contains("tripgate_breaker_band{key=\"all\",rule=\"manual\",scope=\"global\"} 0"),
        "{metrics}"
    );
    let (_, actions) = api(port, "GET", "/api/v1/actions", "");
    let overridden = &actions.as_array().expect("a list of actions")[0];
    assert_eq!(
        overridden["target"]["action"], "pause_sku_expansion",
        "{actions}"
    );
    assert!(
        overridden.to_string().contains("stock count"),
        "the override is restored: {actions}"
    );
    let (_, silences) = api(port, "GET", "/api/v1/silences", "");
    assert!(
        silences.to_string().contains("known issue"),
        "the silence is restored: {silences}"
    );
    // Durations count from the restored event time (the log's day), not
    // from the wall clock.
    let (status, later) = api(
        port,
        "POST",
        "/api/v1/silences",
        r#"{"rule":"backlog","duration":"30m"}"#,
    );
    assert_eq!(status, 201, "{later}");
    assert!(
        later["until"].as_str().unwrap().starts_with("2025-01-0"),
        "{later}"
    );
    assert!(
        scenario
            .log()
            .contains("force-engage rule manual key all action pause_sku_expansion"),
        "the change is in the audit log"
    );
    scenario.wait_caught_up(&mut child, &out, &expected);

    // Clearing the override releases the action (the breaker is not red).
    let (status, cleared) = api(
        port,
        "POST",
        "/api/v1/actions/clear-override",
        r#"{"rule":"manual","key":"all","action":"pause_sku_expansion"}"#,
    );
    assert_eq!(status, 200, "{cleared}");
    let released = wait_for_body(&receiver, "the release", is_pause("released"));
    assert_eq!(released["version"], engaged_message["version"]);

    // A reload over HTTP: one rule changed, the others keep their breakers.
    fs::write(
        &scenario.rules,
        rules.replacen("yellow = { above = 28 }", "yellow = { above = 29 }", 1),
    )
    .unwrap();
    let (status, report) = api(port, "POST", "/-/reload", "");
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["reset"], serde_json::json!(["response"]), "{report}");
    assert!(report["kept"].to_string().contains("support"), "{report}");
    // An invalid config is rejected and the running one stays.
    fs::write(
        &scenario.rules,
        rules.replacen("kpi = \"support_queue\"", "kpi = \"support_queues\"", 1),
    )
    .unwrap();
    let (status, rejected) = api(port, "POST", "/-/reload", "");
    assert_eq!(status, 422, "{rejected}");
    assert!(
        rejected.to_string().contains("support_queues"),
        "the error names the problem: {rejected}"
    );
    let (status, _) = api(port, "GET", "/api/v1/breakers", "");
    assert_eq!(status, 200);
    // SIGHUP reloads too: back to the first rules.
    fs::write(&scenario.rules, &rules).unwrap();
    run_ok(Command::new("kill").args(["-HUP", &child.id().to_string()]));
    let started = Instant::now();
    while !scenario.log().contains("who=sighup") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "SIGHUP did not reload\n{}",
            tail(&scenario.log())
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(scenario.log().contains("config reloaded"));

    let status = terminate(&mut child, Duration::from_secs(30));
    assert!(status.success(), "{status}\n{}", tail(&scenario.log()));
    assert_eq!(fs::read_to_string(&out).unwrap(), expected);

    // Rules edited while tripgate is down apply at restart as a reload would.
    fs::write(
        &scenario.rules,
        rules.replacen("above = 1000000", "above = 2000000", 1),
    )
    .unwrap();
    let mut child = scenario.start(&out, port, &[]);
    wait_readyz(port, 200, "ready", Duration::from_secs(60));
    assert!(scenario
        .log()
        .contains("rules changed since the checkpoint: applied as a reload"));
    let status = terminate(&mut child, Duration::from_secs(30));
    assert!(status.success(), "{status}\n{}", tail(&scenario.log()));
    // A window the checkpoint's state does not have cannot be: a clear error.
    fs::write(
        &scenario.rules,
        rules.replacen("window = \"30m\"", "window = \"20m\"", 1),
    )
    .unwrap();
    let mut child = scenario.start(&out, port, &[]);
    let status = wait_exit(&mut child, Duration::from_secs(60)).expect("tripgate exits");
    assert!(!status.success());
    assert!(
        scenario
            .log()
            .contains("made with other [pipeline] settings or KPI windows"),
        "{}",
        tail(&scenario.log())
    );
    assert_eq!(fs::read_to_string(&out).unwrap(), expected);
}
