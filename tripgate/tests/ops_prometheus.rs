//! deploy/prometheus and deploy/grafana against the real thing: Debian's
//! Prometheus scrapes a running `tripgate demo` with the shipped config and
//! rules (only the target and intervals changed), then every query of the
//! Grafana dashboard and of the alert rules goes through its HTTP API.
//! Skipped (with a note on stderr) when TRIPGATE_PROMETHEUS is unset.

mod ops_common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ops_common::{encode, free_port, http_get, tool, workspace, Demo};
use serde_json::Value;

/// Series that only `tripgate run` (Kafka) exports; a dashboard query that
/// reads nothing else may come back empty from the demo. Each name is checked
/// against live mode's source below, so the list cannot name a ghost.
const LIVE_ONLY: &[&str] = &[
    "tripgate_kafka_records_total",
    "tripgate_consumer_lag",
    "tripgate_dead_letters_total",
    "tripgate_dead_letter_failures_total",
    "tripgate_checkpoint_age_seconds",
    "tripgate_checkpoint_duration_seconds",
    "tripgate_checkpoint_failures_total",
    "tripgate_kafka_broker_up",
    "tripgate_notifications_pending",
];

struct Prometheus {
    child: Child,
    address: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// deploy/prometheus/prometheus.yml with the demo as target and 1s intervals.
fn test_config(demo_address: &str) -> String {
    let shipped =
        std::fs::read_to_string(workspace().join("deploy/prometheus/prometheus.yml")).unwrap();
    let mut config = shipped.clone();
    for (from, to) in [
        (
            r#"targets: ["tripgate:9464"]"#,
            format!(r#"targets: ["{demo_address}"]"#),
        ),
        ("scrape_interval: 15s", "scrape_interval: 1s".to_string()),
        (
            "evaluation_interval: 15s",
            "evaluation_interval: 1s".to_string(),
        ),
    ] {
        assert!(
            config.contains(from),
            "deploy/prometheus/prometheus.yml no longer contains {from:?}: update this test"
        );
        config = config.replace(from, &to);
    }
    config
}

fn query(prometheus: &str, expr: &str) -> Result<Vec<Value>, String> {
    let (status, body) = http_get(prometheus, &format!("/api/v1/query?query={}", encode(expr)));
    let json: Value = serde_json::from_str(&body)
        .map_err(|e| format!("HTTP {status}, not JSON ({e}): {body}"))?;
    if json["status"] != "success" {
        return Err(format!("{}: {}", json["errorType"], json["error"]));
    }
    Ok(json["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// Every PromQL expression of the dashboard: panel targets (rows included)
/// and annotations, each with whether its panel repeats once per rule.
fn dashboard_queries(dashboard: &Value) -> Vec<(String, bool)> {
    fn walk(panel: &Value, out: &mut Vec<(String, bool)>) {
        let repeated = panel["repeat"] == "rule";
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                out.push((expr.to_string(), repeated));
            }
        }
        for inner in panel["panels"].as_array().into_iter().flatten() {
            walk(inner, out);
        }
    }
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        walk(panel, &mut out);
    }
    for annotation in dashboard["annotations"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(expr) = annotation["expr"].as_str() {
            out.push((expr.to_string(), false));
        }
    }
    out
}

fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("tripgate_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        names.insert(name);
    }
    names
}

fn start_prometheus(binary: &Path, dir: &Path, config: &str) -> Prometheus {
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    std::fs::copy(
        workspace().join("deploy/prometheus/alerts.yml"),
        dir.join("alerts.yml"),
    )
    .unwrap();
    let address = format!("127.0.0.1:{}", free_port());
    let child = Command::new(binary)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={address}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .expect("start prometheus");
    let prometheus = Prometheus { child, address };
    wait_until(Duration::from_secs(30), "prometheus ready", || {
        std::net::TcpStream::connect(&prometheus.address).is_ok()
            && http_get(&prometheus.address, "/-/ready").0 == 200
    });
    prometheus
}

fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn promtool(promtool: &Path, args: &[&str], stdin: Option<&str>) {
    let mut child = Command::new(promtool)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?} failed:\n{said}");
}

#[test]
fn prometheus_scrapes_the_demo_and_every_dashboard_and_alert_query_works() {
    let test = "ops_prometheus";
    let Some(prometheus_binary) = tool("TRIPGATE_PROMETHEUS", test) else {
        return;
    };
    let Some(promtool_binary) = tool("TRIPGATE_PROMTOOL", test) else {
        return;
    };
    let deploy = workspace().join("deploy/prometheus");
    promtool(
        &promtool_binary,
        &[
            "check",
            "rules",
            deploy.join("alerts.yml").to_str().unwrap(),
        ],
        None,
    );
    promtool(
        &promtool_binary,
        &[
            "check",
            "config",
            deploy.join("prometheus.yml").to_str().unwrap(),
        ],
        None,
    );

    // Long enough to outlast the checks; killed when the test ends.
    let demo = Demo::start(120, 5);
    let dir = std::env::temp_dir().join(format!("tripgate-ops-prometheus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = test_config(&demo.address);
    std::fs::write(dir.join("prometheus.yml"), &config).unwrap();
    std::fs::copy(deploy.join("alerts.yml"), dir.join("alerts.yml")).unwrap();
    promtool(
        &promtool_binary,
        &[
            "check",
            "config",
            dir.join("prometheus.yml").to_str().unwrap(),
        ],
        None,
    );
    let (status, exposition) = http_get(&demo.address, "/metrics");
    assert_eq!(status, 200);
    promtool(&promtool_binary, &["check", "metrics"], Some(&exposition));

    let prometheus = start_prometheus(&prometheus_binary, &dir, &config);
    let server = prometheus.address.clone();
    // The story has closed the gate and engaged actions by about a third of
    // its run; by then every demo series exists and rates have samples.
    wait_until(
        Duration::from_secs(90),
        "the demo's gate closing, seen by Prometheus",
        || {
            query(&server, "tripgate_gate_open == 0").is_ok_and(|r| !r.is_empty())
                && query(&server, "count(tripgate_action_level > 0) >= 2")
                    .is_ok_and(|r| !r.is_empty())
        },
    );
    std::thread::sleep(Duration::from_secs(3));

    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("deploy/grafana/dashboards/tripgate.json"))
            .unwrap(),
    )
    .unwrap();
    let (status, body) = http_get(
        &server,
        &format!(
            "/api/v1/label/rule/values?match[]={}",
            encode("tripgate_rule_info")
        ),
    );
    assert_eq!(status, 200, "{body}");
    let rules: Vec<String> = serde_json::from_str::<Value>(&body).unwrap()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(
        rules.len() >= 5,
        "the $rule variable's query (label_values(tripgate_rule_info, rule)) found {rules:?}"
    );
    let live_source =
        std::fs::read_to_string(workspace().join("tripgate/src/live/metrics.rs")).unwrap();
    for name in LIVE_ONLY {
        assert!(
            live_source.contains(&format!("\"{name}\"")),
            "{name} is not a live-mode series (tripgate/src/live/metrics.rs)"
        );
    }

    let mut failures = Vec::new();
    let mut checked = 0;
    // A repeated panel gets one rule; any other sees Grafana's "All" for the
    // multi-value variable, an alternation of every value.
    let all_rules = format!("({})", rules.join("|"));
    for (expr, repeated) in dashboard_queries(&dashboard) {
        let live_only = metric_names(&expr)
            .iter()
            .all(|name| LIVE_ONLY.contains(&name.as_str()));
        let values: Vec<&str> = if repeated {
            rules.iter().map(String::as_str).collect()
        } else {
            vec![all_rules.as_str()]
        };
        for rule in values {
            let concrete = expr
                .replace("$__rate_interval", "1m")
                .replace("$__range", "1h")
                .replace("$rule", rule);
            assert!(
                !concrete.contains('$'),
                "unknown Grafana variable in {expr}"
            );
            checked += 1;
            match query(&server, &concrete) {
                Err(error) => failures.push(format!("{concrete}\n    error: {error}")),
                Ok(result) if result.is_empty() && !live_only => {
                    failures.push(format!("{concrete}\n    no data"))
                }
                Ok(_) => {}
            }
        }
    }
    assert!(checked >= 25, "only {checked} dashboard queries found");

    // The alert rules as Prometheus loaded them: each evaluates without error.
    let (_, body) = http_get(&server, "/api/v1/rules");
    let groups: Value = serde_json::from_str(&body).unwrap();
    let loaded: Vec<&Value> = groups["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect();
    let shipped = std::fs::read_to_string(deploy.join("alerts.yml"))
        .unwrap()
        .matches("- alert:")
        .count();
    assert_eq!(
        loaded.len(),
        shipped,
        "Prometheus loaded {} of {shipped} alert rules",
        loaded.len()
    );
    wait_until(
        Duration::from_secs(20),
        "every alert rule evaluated once",
        || {
            let (_, body) = http_get(&server, "/api/v1/rules");
            let groups: Value = serde_json::from_str(&body).unwrap();
            groups["data"]["groups"][0]["lastEvaluation"]
                .as_str()
                .is_some_and(|t| !t.starts_with("0001"))
        },
    );
    let (_, body) = http_get(&server, "/api/v1/rules");
    let groups: Value = serde_json::from_str(&body).unwrap();
    for rule in groups["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
    {
        let name = rule["name"].as_str().unwrap();
        let expr = rule["query"].as_str().unwrap();
        if rule["health"] != "ok" {
            failures.push(format!(
                "alert {name}: health {} ({})",
                rule["health"], rule["lastError"]
            ));
        }
        if let Err(error) = query(&server, expr) {
            failures.push(format!("alert {name}: {expr}\n    error: {error}"));
        }
    }
    // The demo is healthy: none of tripgate's own alerts may be pending or firing.
    let firing = query(&server, "ALERTS").unwrap();
    assert!(
        firing.is_empty(),
        "alerts active against a healthy demo: {firing:?}"
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} dashboard queries or alert rules failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    drop(prometheus);
    drop(demo);
    let _ = std::fs::remove_dir_all(&dir);
}
