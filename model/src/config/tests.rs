#![allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error, which is large by design.

use super::*;

const TINY: &str = include_str!("../../../config/examples/tiny.toml");

#[test]
fn the_playbook_and_defaults_are_valid() {
    let config = Config::from_figment(
        Figment::from(Toml::string(DEFAULT_TOML)).merge(Toml::string(PLAYBOOK_TOML)),
    )
    .unwrap();
    assert_eq!(config.pipeline.tick.text(), "1m");
    assert_eq!(config.pipeline.max_keys, 10000);
    assert!(config.rule("on-time-delivery-global").is_some());
    assert_eq!(config.gates[0].min_green(), 2);
}

#[test]
fn the_demo_rules_are_valid() {
    let config = Config::load_over(Some(DEMO_TOML), &[]).unwrap();
    assert!(config.notifiers.contains_key("acquisition-system"));
    assert_eq!(config.gates[0].name, "expansion-readiness");
}

#[test]
fn the_contract_example_parses_with_its_defaults() {
    let config = Config::from_toml(TINY).unwrap();
    assert_eq!(config.rules.len(), 9);
    let ontime = config.rule("ontime").unwrap();
    assert_eq!(ontime.for_nanos(), 60_000_000_000);
    assert_eq!(ontime.recover_for_nanos(), 120_000_000_000);
    let cyc = config.rule("cyc-wh").unwrap();
    assert_eq!(cyc.recover_for_nanos(), 0);
    assert_eq!(cyc.stat, Stat::Mean);
    let gate = &config.gates[0];
    assert_eq!(gate.worst(), Band::Yellow);
    assert_eq!(config.rule("backlog").unwrap().window(), None);
}

#[test]
fn every_semantic_error_is_reported_at_once_with_its_path() {
    let text = r#"
        [[rule]]
        name = "Bad Name"
        kpi = "on_time_rate"
        scope = "sku"
        window = "90s"
        yellow = { below = 0.9, above = 0.1 }
        notify = ["nowhere"]

        [[rule]]
        name = "base"
        kpi = "order_rate"
        stat = "p95"
        window = "1h"
        red = { below_baseline_by = 0.5 }

        [[gate]]
        name = "g"
        rules = ["missing"]
        min_green = 3
    "#;
    let ConfigError::Invalid(errors) = Config::from_toml(text).unwrap_err() else {
        panic!("expected validation errors");
    };
    let all = errors.join("\n");
    for expected in [
        "rule[0] (Bad Name).name",
        "rule[0] (Bad Name).scope: on_time_rate has no scope sku",
        "rule[0] (Bad Name).window: 90s is not a whole multiple of pipeline.tick",
        "rule[0] (Bad Name).yellow: holds more than one condition",
        "rule[0] (Bad Name).notify: no [notifier.nowhere]",
        "rule[1] (base).stat: p95 of order_rate is not available",
        "rule[1] (base).baseline: required",
        "gate[0] (g).rules: no rule named \"missing\"",
        "gate[0] (g).min_green: 3 is more than",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
}

#[test]
fn unknown_fields_are_refused_with_their_path() {
    let error = Config::from_toml("[pipeline]\ntikc = \"1m\"\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("tikc"), "{error}");
}

#[test]
fn environment_overrides_files() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("rules.toml", TINY)?;
        jail.set_env("TRIPGATE__PIPELINE__MAX_KEYS", "7");
        let config = Config::load(&[PathBuf::from("rules.toml")]).unwrap();
        assert_eq!(config.pipeline.max_keys, 7);
        assert_eq!(config.rules.len(), 9);
        Ok(())
    });
}

#[test]
fn secrets_are_redacted_in_debug_and_output() {
    let text = r#"
        [notifier.hook]
        kind = "webhook"
        url = "https://example.invalid/secret-path"
        secret = "whsec_c2VjcmV0"
    "#;
    let config = Config::from_toml(text).unwrap();
    let debug = format!("{config:?}");
    let printed = toml::to_string(&config).unwrap();
    for shown in [debug, printed] {
        assert!(!shown.contains("secret-path"), "{shown}");
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
    }
}

#[test]
fn kafka_defaults_files_and_env_secrets() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "live.toml",
            r#"
            [kafka]
            bootstrap = "broker-1:9093,broker-2:9093"
            checkpoint_interval = "2s"
            [kafka.topics]
            orders = "shop-orders"
            [kafka.client]
            "security.protocol" = "SASL_SSL"
            "sasl.username" = "tripgate"
            "session.timeout.ms" = 6000
            "#,
        )?;
        jail.set_env("TRIPGATE__KAFKA__CLIENT__SASL_PASSWORD", "hunter2");
        let config = Config::load(&[PathBuf::from("live.toml")]).unwrap();
        let kafka = &config.kafka;
        assert_eq!(kafka.bootstrap, "broker-1:9093,broker-2:9093");
        assert_eq!(kafka.checkpoint_interval.text(), "2s");
        assert_eq!(
            kafka.topics.all(),
            ["shop-orders", "fulfillment", "tickets"]
        );
        assert_eq!(kafka.state_topic, "tripgate-state");
        assert_eq!(kafka.partition_idle.nanos(), 500_000_000);
        let properties = kafka.client.properties();
        for expected in [
            ("security.protocol", "SASL_SSL"),
            ("sasl.username", "tripgate"),
            ("session.timeout.ms", "6000"),
            ("sasl.password", "hunter2"),
        ] {
            assert!(
                properties.contains(&(expected.0.to_string(), expected.1.to_string())),
                "{expected:?} not in {properties:?}"
            );
        }
        let printed = toml::to_string(&config).unwrap();
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("SASL_SSL"), "{printed}");
        assert!(!format!("{config:?}").contains("hunter2"));
        Ok(())
    });
}

#[test]
fn kafka_settings_tripgate_owns_and_clashing_topics_are_refused() {
    let text = r#"
        [kafka]
        dead_letter_topic = "orders"
        partitions = 0
        [kafka.client]
        "enable.auto.commit" = true
    "#;
    let error = Config::from_toml(text).unwrap_err().to_string();
    for expected in [
        "every topic must be distinct",
        "kafka.partitions: must be at least 1",
        "kafka.client.enable.auto.commit: set by tripgate",
    ] {
        assert!(
            error.contains(expected),
            "missing {expected:?} in:\n{error}"
        );
    }
}

#[test]
fn notifier_kinds_are_inferred_when_clear_and_errors_say_how_to_fix() {
    let text = r#"
        [notifier.signed]
        url = "https://example.invalid/hook"
        secret = "whsec_c2VjcmV0"

        [notifier.chat]
        url = "https://hooks.slack.com/services/T/B/X"

        [notifier.typed]
        type = "slack"
        url = "https://chat.example.invalid/hook"
    "#;
    let config = Config::from_toml(text).unwrap();
    assert!(matches!(
        config.notifiers["signed"],
        NotifierConfig::Webhook { .. }
    ));
    assert!(matches!(
        config.notifiers["chat"],
        NotifierConfig::Slack { .. }
    ));
    assert!(matches!(
        config.notifiers["typed"],
        NotifierConfig::Slack { .. }
    ));
    let error = Config::from_toml("[notifier.x]\nurl = \"https://example.invalid\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("add kind = \"slack\" or kind = \"webhook\""),
        "{error}"
    );
}
