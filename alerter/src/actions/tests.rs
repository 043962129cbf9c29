//! The action layer on hand-made transitions, in controlled time.

use std::sync::Arc;

use tripgate_model::config::Config;
use tripgate_model::{
    ActionChange, ActionMessage, ActionReason, ActionState, Band, Kpi, Nanos, ScopeDim,
};

use super::*;
use crate::engine::{Outcome, Transition};

const MINUTE: Nanos = 60_000_000_000;
const T0: Nanos = 1_735_725_600_000_000_000;

fn config(steps: &str) -> Config {
    Config::from_toml(&format!(
        r#"
[actions]
repeat_interval = "5m"

[notifier.hook]
kind = "webhook"
url = "http://127.0.0.1:9/hook"
secret = "whsec_c2VjcmV0"

[[rule]]
name = "ontime"
kpi = "on_time_rate"
window = "5m"
yellow = {{ below = 0.9 }}
red = {{ below = 0.8 }}
actions.yellow = [{{ name = "throttle", level = 0.5 }}]
actions.red = [{{ name = "throttle", level = 1.0 {steps} }}]
notify = ["hook"]
"#
    ))
    .unwrap()
}

fn transition(from: Band, to: Band, version: u64, at: Nanos) -> Outcome {
    let level = match to {
        Band::Red => 1.0,
        Band::Yellow => 0.5,
        Band::Green => 0.0,
    };
    let state = if to == Band::Green {
        ActionState::Released
    } else {
        ActionState::Engaged
    };
    Outcome {
        transitions: vec![Transition {
            tick: at,
            rule: "ontime".into(),
            kpi: Kpi::OnTimeRate,
            scope: ScopeDim::Global,
            key: Arc::from("all"),
            from,
            to,
            value: 0.7,
            samples: Some(10),
            baseline: None,
            threshold: Some(0.8),
            window: Some("5m".into()),
            version,
            actions: vec![ActionChange {
                name: "throttle".into(),
                level,
                state,
            }],
            notify: vec!["hook".into()],
        }],
        gates: Vec::new(),
    }
}

fn levels(messages: &[ActionMessage]) -> Vec<(ActionReason, f64)> {
    messages.iter().map(|m| (m.reason, m.level)).collect()
}

#[test]
fn an_engaged_action_is_reasserted_with_its_version_and_a_lease() {
    let mut controller = ActionController::new(&config(""));
    let engaged = controller.on_tick(&transition(Band::Green, Band::Red, 1, T0), T0);
    assert_eq!(levels(&engaged), [(ActionReason::Engaged, 1.0)]);
    assert_eq!(
        engaged[0].expires_at.as_deref(),
        Some("2025-01-01T10:15:00Z")
    );
    assert_eq!(engaged[0].notify, ["hook"]);
    assert!(controller.poll(T0 + 4 * MINUTE).is_empty(), "not due yet");
    let renewed = controller.poll(T0 + 5 * MINUTE);
    assert_eq!(levels(&renewed), [(ActionReason::Reasserted, 1.0)]);
    assert_eq!(renewed[0].version, 1, "the same breaker version");
    assert_eq!(
        renewed[0].expires_at.as_deref(),
        Some("2025-01-01T10:20:00Z")
    );
    assert!(renewed[0].sequence > engaged[0].sequence);
    assert_ne!(renewed[0].id, engaged[0].id);
    let released = controller.on_tick(
        &transition(Band::Red, Band::Green, 2, T0 + 6 * MINUTE),
        T0 + 6 * MINUTE,
    );
    assert_eq!(levels(&released), [(ActionReason::Released, 0.0)]);
    assert_eq!(released[0].expires_at, None);
    assert!(controller.engaged().is_empty());
    assert!(
        controller.poll(T0 + 60 * MINUTE).is_empty(),
        "nothing re-asserted after release"
    );
}

#[test]
fn stepwise_release_steps_once_per_interval_then_releases() {
    let steps = r#", release_steps = [0.5, 0.25], step_interval = "2m""#;
    let mut controller = ActionController::new(&config(steps));
    controller.on_tick(&transition(Band::Green, Band::Red, 1, T0), T0);
    let green = T0 + 10 * MINUTE;
    let first = controller.on_tick(&transition(Band::Red, Band::Green, 2, green), green);
    assert_eq!(levels(&first), [(ActionReason::ReleaseStep, 0.5)]);
    assert!(controller.poll(green + MINUTE).is_empty());
    let second = controller.poll(green + 2 * MINUTE);
    assert_eq!(levels(&second), [(ActionReason::ReleaseStep, 0.25)]);
    assert_eq!(second[0].version, 2);
    let last = controller.poll(green + 4 * MINUTE);
    assert_eq!(levels(&last), [(ActionReason::Released, 0.0)]);
    assert!(controller.engaged().is_empty());
}

#[test]
fn a_regression_during_release_snaps_back_to_the_bands_level() {
    let steps = r#", release_steps = [0.5, 0.25], step_interval = "2m""#;
    let mut controller = ActionController::new(&config(steps));
    controller.on_tick(&transition(Band::Green, Band::Red, 1, T0), T0);
    controller.on_tick(
        &transition(Band::Red, Band::Green, 2, T0 + MINUTE),
        T0 + MINUTE,
    );
    let back = controller.on_tick(
        &transition(Band::Green, Band::Red, 3, T0 + 2 * MINUTE),
        T0 + 2 * MINUTE,
    );
    assert_eq!(levels(&back), [(ActionReason::SnappedBack, 1.0)]);
    assert_eq!(back[0].version, 3);
    let later = controller.poll(T0 + 7 * MINUTE);
    assert_eq!(
        levels(&later),
        [(ActionReason::Reasserted, 1.0)],
        "no more steps, only the lease"
    );
}

#[test]
fn overrides_win_until_they_end() {
    let mut controller = ActionController::new(&config(""));
    let target = ActionTarget {
        source: ActionSource::Rule("ontime".into()),
        key: "all".into(),
        action: "throttle".into(),
    };
    let off = controller
        .force_release(target.clone(), Some(T0 + 10 * MINUTE), "ops", None, T0)
        .unwrap();
    assert_eq!(levels(&off), [(ActionReason::ForcedRelease, 0.0)]);
    let ignored = controller.on_tick(
        &transition(Band::Green, Band::Red, 1, T0 + MINUTE),
        T0 + MINUTE,
    );
    assert!(ignored.is_empty(), "forced off: {ignored:?}");
    let ended = controller.poll(T0 + 10 * MINUTE);
    assert_eq!(
        levels(&ended),
        [(ActionReason::OverrideEnded, 1.0)],
        "the breaker is red"
    );
    let on = controller
        .force_engage(
            target.clone(),
            0.3,
            None,
            "ops",
            Some("drill".into()),
            T0 + 11 * MINUTE,
        )
        .unwrap();
    assert_eq!(levels(&on), [(ActionReason::ForcedEngage, 0.3)]);
    let cleared = controller
        .clear_override(&target, T0 + 12 * MINUTE)
        .unwrap();
    assert_eq!(levels(&cleared), [(ActionReason::OverrideEnded, 1.0)]);
    let unknown = ActionTarget {
        source: ActionSource::Gate("nope".into()),
        ..target
    };
    assert!(controller
        .force_release(unknown, None, "ops", None, T0)
        .is_err());
}

#[test]
fn silences_mute_transitions_of_a_rule_or_key_until_they_end() {
    let mut controller = ActionController::new(&config(""));
    let outcome = transition(Band::Green, Band::Red, 1, T0);
    controller
        .silence("ontime", Some("other".into()), T0 + MINUTE, "ops", None)
        .unwrap();
    assert_eq!(controller.notifications(&outcome, T0).len(), 1);
    let all = controller
        .silence("ontime", None, T0 + MINUTE, "ops", None)
        .unwrap();
    assert!(controller.notifications(&outcome, T0).is_empty());
    assert_eq!(
        controller.notifications(&outcome, T0 + MINUTE).len(),
        1,
        "expired"
    );
    assert!(controller.unsilence(all.id));
    assert!(controller.silence("nope", None, T0, "ops", None).is_err());
}

#[test]
fn state_round_trips_and_a_restored_controller_continues_identically() {
    let steps = r#", release_steps = [0.5], step_interval = "2m""#;
    let mut original = ActionController::new(&config(steps));
    original.on_tick(&transition(Band::Green, Band::Red, 1, T0), T0);
    original.on_tick(
        &transition(Band::Red, Band::Green, 2, T0 + MINUTE),
        T0 + MINUTE,
    );
    let json = serde_json::to_string(&original.export_state()).unwrap();
    let mut restored =
        ActionController::restore(&config(steps), serde_json::from_str(&json).unwrap());
    let expected = original.poll(T0 + 3 * MINUTE);
    assert_eq!(restored.poll(T0 + 3 * MINUTE), expected);
    assert_eq!(levels(&expected), [(ActionReason::Released, 0.0)]);
}

#[test]
fn reload_releases_actions_of_reset_rules_only() {
    let mut controller = ActionController::new(&config(""));
    controller.on_tick(&transition(Band::Green, Band::Red, 1, T0), T0);
    assert!(controller
        .reconfigure(&config(""), &[], T0 + MINUTE)
        .is_empty());
    assert_eq!(controller.engaged().len(), 1);
    let released = controller.reconfigure(&config(""), &["ontime".into()], T0 + MINUTE);
    assert_eq!(levels(&released), [(ActionReason::Released, 0.0)]);
    assert!(controller.engaged().is_empty());
}
