//! deploy/ as an operator uses it: the compose file and the Kubernetes
//! manifests pass the best validators the package registries offer here
//! (check-jsonschema with the vendored compose-spec schema; kubernetes-validate
//! with its bundled Kubernetes schemas, strict), the config they mount is valid
//! for tripgate, and the pieces point at each other (ports, paths, names).

mod ops_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use ops_common::{tool, workspace};
use serde_json::Value;

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A console script installed beside the venv's python.
fn venv_script(python: &Path, name: &str) -> PathBuf {
    python.parent().unwrap().join(name)
}

fn run_ok(program: &Path, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(workspace())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "run {}: {e} (scripts/setup.sh installs it)",
                program.display()
            )
        });
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{} {args:?} failed:\n{said}",
        program.display()
    );
    said
}

#[test]
fn compose_and_kubernetes_manifests_pass_their_validators() {
    let Some(python) = tool("TRIPGATE_PYTHON", "ops_deploy validators") else {
        return;
    };
    run_ok(
        &venv_script(&python, "check-jsonschema"),
        &[
            "--builtin-schema",
            "vendor.compose-spec",
            "deploy/compose.yaml",
        ],
    );
    let kustomization = read("deploy/k8s/kustomization.yaml");
    let mut manifests: Vec<String> = kustomization
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- "))
        .filter(|item| item.ends_with(".yaml"))
        .map(|item| format!("deploy/k8s/{item}"))
        .collect();
    assert_eq!(
        manifests.len(),
        3,
        "kustomization.yaml resources: {manifests:?}"
    );
    manifests.push("deploy/k8s/secret.example.yaml".into());
    let mut args = vec!["--strict"];
    args.extend(manifests.iter().map(String::as_str));
    let said = run_ok(&venv_script(&python, "kubernetes-validate"), &args);
    assert_eq!(said.matches(" passed for resource ").count(), 4, "{said}");
}

#[test]
fn the_deployed_config_is_valid_and_the_configmap_carries_it() {
    let config = read("deploy/config/tripgate.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_tripgate"))
        .args(["check-config", "deploy/config/tripgate.toml"])
        .current_dir(workspace())
        .env(
            "TRIPGATE__NOTIFIER__OPS_SLACK__URL",
            "https://hooks.slack.example/T/B/X",
        )
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("[notifier.ops_slack]") && printed.contains("[notifier.acquisition]"));

    // The ConfigMap's tripgate.toml is the same text, indented by four spaces.
    let configmap = read("deploy/k8s/configmap.yaml");
    let embedded: Vec<&str> = configmap
        .split_once("  tripgate.toml: |\n")
        .expect("configmap.yaml has data.tripgate.toml")
        .1
        .lines()
        .map(|line| line.strip_prefix("    ").unwrap_or(line))
        .collect();
    assert_eq!(
        embedded.join("\n").trim_end(),
        config.trim_end(),
        "deploy/k8s/configmap.yaml differs from deploy/config/tripgate.toml"
    );

    // Every secret the Deployment injects overrides a notifier the config defines.
    let deployment = read("deploy/k8s/deployment.yaml");
    for variable in [
        "TRIPGATE__NOTIFIER__OPS_SLACK__URL",
        "TRIPGATE__NOTIFIER__ACQUISITION__URL",
        "TRIPGATE__NOTIFIER__ACQUISITION__SECRET",
    ] {
        assert!(
            deployment.contains(&format!("name: {variable}")),
            "deployment.yaml lacks {variable}"
        );
        assert!(
            config.contains(variable),
            "tripgate.toml does not document {variable}"
        );
        assert!(read("deploy/tripgate.env.example").contains(variable));
    }
    for probe in [
        "path: /healthz",
        "path: /readyz",
        "prometheus.io/scrape: \"true\"",
        "prometheus.io/port: \"9464\"",
    ] {
        assert!(deployment.contains(probe), "deployment.yaml lacks {probe}");
    }
}

#[test]
fn grafana_provisioning_points_at_the_dashboard_and_prometheus() {
    let compose = read("deploy/compose.yaml");
    let datasource = read("deploy/grafana/provisioning/datasources/prometheus.yml");
    let provider = read("deploy/grafana/provisioning/dashboards/tripgate.yml");
    assert!(compose.contains("./grafana/dashboards:/var/lib/grafana/dashboards"));
    assert!(compose.contains("./grafana/provisioning:/etc/grafana/provisioning"));
    assert!(provider.contains("path: /var/lib/grafana/dashboards"));
    assert!(
        datasource.contains("type: prometheus")
            && datasource.contains("url: http://prometheus:9090")
    );
    assert!(compose.contains("./prometheus:/etc/prometheus"));
    assert!(
        read("deploy/prometheus/prometheus.yml").contains("tripgate:9464"),
        "compose's tripgate listens on 9464"
    );

    let dashboard: Value =
        serde_json::from_str(&read("deploy/grafana/dashboards/tripgate.json")).unwrap();
    assert_eq!(dashboard["uid"], "tripgate");
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    assert!(variables
        .iter()
        .any(|v| v["name"] == "datasource" && v["query"] == "prometheus"));
    // Every panel reads Prometheus through the datasource variable, and ids are unique.
    let mut ids = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        assert!(
            ids.insert(panel["id"].as_u64().unwrap()),
            "duplicate panel id {}",
            panel["id"]
        );
        if panel["type"] != "row" {
            assert_eq!(
                panel["datasource"]["uid"], "${datasource}",
                "panel {}",
                panel["title"]
            );
            assert!(
                !panel["targets"].as_array().unwrap().is_empty(),
                "panel {} has no query",
                panel["title"]
            );
            assert!(
                panel["description"].as_str().is_some_and(|d| d.len() > 20),
                "panel {} lacks a description",
                panel["title"]
            );
        }
    }
}
