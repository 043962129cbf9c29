//! Hot reload through the admin API.

use std::sync::Arc;

use serde_json::json;
use tripgate_alerter::breaker::Breaker;
use tripgate_alerter::{AlerterState, BreakerSlot};
use tripgate_model::config::Config;
use tripgate_model::Band;

use super::*;

#[tokio::test]
async fn reload_rejects_an_invalid_config_and_keeps_breakers_of_unchanged_rules() {
    let h = harness().await;
    let slot = |state: Band, version: u64| {
        let mut breaker = Breaker::new(0, 0);
        breaker.state = state;
        breaker.version = version;
        BreakerSlot {
            key: Arc::from("all"),
            breaker,
            engaged: vec![],
            last_observed: tripgate_alerter::breaker::Observed::Insufficient,
            last_value: None,
        }
    };
    h.engine.lock().unwrap().import_alerter_state(AlerterState {
        rules: vec![
            ("ontime".into(), vec![slot(Band::Red, 4)]),
            ("defects".into(), vec![slot(Band::Red, 2)]),
        ],
        gates: vec![],
    });
    let breakers = || {
        let engine = h.engine.lock().unwrap();
        engine
            .alerter()
            .breakers()
            .map(|(rule, slots)| {
                (
                    rule.config.name.clone(),
                    slots.first().map(|s| s.breaker.version),
                )
            })
            .collect::<Vec<_>>()
    };
    std::env::set_var(
        "TRIPGATE_TEST_NEXT_RULES",
        "[[rule]]\nname = \"broken\"\nkpi = \"nope\"\n",
    );
    let (status, rejected) = api(&h, "POST", "/-/reload", None).await;
    assert_eq!(status, 422, "{rejected}");
    assert_eq!(
        breakers(),
        [
            ("ontime".to_string(), Some(4)),
            ("defects".to_string(), Some(2))
        ],
        "the old config keeps running"
    );
    let changed = toml_of(&config("0.8")).replace("above = 0.2", "above = 0.3");
    std::env::set_var("TRIPGATE_TEST_NEXT_RULES", changed);
    let (status, report) = api(&h, "POST", "/api/v1/reload", None).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["kept"], json!(["ontime"]));
    assert_eq!(report["reset"], json!(["defects"]));
    assert_eq!(
        breakers(),
        [
            ("ontime".to_string(), Some(4)),
            ("defects".to_string(), None)
        ]
    );
}

/// The rules of `config("0.8")` as TOML again, for the reload "file".
fn toml_of(_: &Config) -> String {
    format!(
        "[admin]\ntoken = \"{TOKEN}\"\n[[rule]]\nname = \"ontime\"\nkpi = \"on_time_rate\"\nwindow = \"5m\"\nred = {{ below = 0.8 }}\nactions.red = [{{ name = \"throttle\", level = 1.0, release_steps = [0.5, 0.25], step_interval = \"2m\" }}]\n[[rule]]\nname = \"defects\"\nkpi = \"defect_rate\"\nwindow = \"5m\"\nred = {{ above = 0.2 }}\n"
    )
}
