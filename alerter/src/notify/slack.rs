//! The Slack incoming-webhook message for one transition (contract section 8,
//! "Slack"): who changed, from which band to which, by how much, and what was
//! done about it.

use serde_json::{json, Value};
use tripgate_model::{ActionState, Notification, NotificationType};

pub const GREEN: &str = "#2eb67d";
pub const YELLOW: &str = "#ecb22e";
pub const RED: &str = "#e01e5a";

/// The attachment colour of the state moved to: bands by name, an open gate
/// green, a closed one red. `None` for a state we do not know, rather than a
/// colour that would claim something.
pub fn colour(state: &str) -> Option<&'static str> {
    match state {
        "green" | "open" => Some(GREEN),
        "yellow" => Some(YELLOW),
        "red" | "closed" => Some(RED),
        _ => None,
    }
}

/// The JSON body to POST to a Slack incoming webhook.
///
/// The headline goes in `text` (what Slack shows in push notifications and
/// screen readers); the details go in an attachment, the only way an
/// incoming webhook can show a coloured bar.
pub fn message(notification: &Notification) -> Value {
    let headline = headline(notification);
    let mut blocks = vec![section(format!(
        "{}: *{}*",
        headline.rich,
        change(notification)
    ))];
    let fields = fields(notification);
    if !fields.is_empty() {
        blocks.push(json!({ "type": "section", "fields": fields }));
    }
    blocks.push(section(actions(notification)));
    blocks.push(json!({
        "type": "context",
        "elements": [{
            "type": "mrkdwn",
            "text": format!("id `{}` · version {}", escape(&notification.id), notification.version),
        }],
    }));
    let plain = format!("{}: {}", headline.plain, change(notification));
    let mut attachment = json!({ "fallback": plain, "blocks": blocks });
    if let Some(colour) = colour(&notification.to) {
        attachment["color"] = json!(colour);
    }
    json!({ "text": plain, "attachments": [attachment] })
}

struct Headline {
    /// With mrkdwn emphasis, for the message body.
    rich: String,
    /// Without markup, for notifications and the fallback.
    plain: String,
}

fn headline(notification: &Notification) -> Headline {
    let unnamed = String::from("(unnamed)");
    match notification.kind {
        NotificationType::GateTransition => {
            let gate = escape(notification.gate.as_ref().unwrap_or(&unnamed));
            Headline {
                rich: format!("Gate *{gate}*"),
                plain: format!("Gate {gate}"),
            }
        }
        NotificationType::BreakerTransition => {
            let rule = escape(notification.rule.as_ref().unwrap_or(&unnamed));
            let mut context = Vec::new();
            if let Some(kpi) = notification.kpi {
                context.push(kpi.to_string());
            }
            match (notification.scope, &notification.key) {
                (Some(scope), Some(key)) => context.push(format!("{scope} {}", escape(key))),
                (None, Some(key)) => context.push(escape(key)),
                _ => {}
            }
            let suffix = if context.is_empty() {
                String::new()
            } else {
                format!(" ({})", context.join(", "))
            };
            Headline {
                rich: format!("Rule *{rule}*{suffix}"),
                plain: format!("Rule {rule}{suffix}"),
            }
        }
    }
}

/// The headline and band change on one line, for digests.
pub(crate) fn one_line(notification: &Notification) -> String {
    format!(
        "{}: *{}*",
        headline(notification).rich,
        change(notification)
    )
}

fn change(notification: &Notification) -> String {
    format!(
        "{} → {}",
        escape(&notification.from),
        escape(&notification.to)
    )
}

fn fields(notification: &Notification) -> Vec<Value> {
    let mut fields = Vec::new();
    if notification.value.is_some() || notification.threshold.is_some() {
        let value = notification.value.map_or("no value".to_string(), number);
        let compared = match notification.threshold {
            Some(threshold) => format!("{value} vs threshold {}", number(threshold)),
            None => value,
        };
        fields.push(field("Value", compared));
    }
    if let Some(baseline) = notification.baseline {
        fields.push(field("Baseline", number(baseline)));
    }
    if let Some(window) = &notification.window {
        fields.push(field("Window", escape(window)));
    }
    if let Some(samples) = notification.samples {
        fields.push(field("Samples", samples.to_string()));
    }
    fields.push(field("Tick", escape(&notification.tick)));
    fields
}

fn actions(notification: &Notification) -> String {
    if notification.actions.is_empty() {
        return "*Actions*\nnone".to_string();
    }
    let lines: Vec<String> = notification
        .actions
        .iter()
        .map(|action| match action.state {
            ActionState::Engaged => format!(
                "• `{}` engaged at level {}",
                escape(&action.name),
                number(action.level)
            ),
            ActionState::Released => format!("• `{}` released", escape(&action.name)),
        })
        .collect();
    format!("*Actions*\n{}", lines.join("\n"))
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

fn field(label: &str, value: String) -> Value {
    json!({ "type": "mrkdwn", "text": format!("*{label}*\n{value}") })
}

/// Up to four decimals without trailing zeros: KPI values are rates and
/// seconds, where more digits are noise in a chat message.
pub(crate) fn number(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_string();
    }
    if value != 0.0 && value.abs() < 0.001 {
        return format!("{value:.2e}");
    }
    let fixed = format!("{value:.4}");
    let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Slack reads `<...>` as links and mentions (`<!channel>`); keys come from
/// events, so they are escaped as Slack asks.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use tripgate_model::{ActionChange, Kpi, ScopeDim};

    use super::*;

    fn breaker() -> Notification {
        Notification {
            id: "on-time-delivery/warehouse/wh-1/3".into(),
            kind: NotificationType::BreakerTransition,
            tick: "2024-05-01T10:00:00Z".into(),
            rule: Some("on-time-delivery".into()),
            gate: None,
            kpi: Some(Kpi::OnTimeRate),
            scope: Some(ScopeDim::Warehouse),
            key: Some("wh-1".into()),
            from: "yellow".into(),
            to: "red".into(),
            value: Some(0.761_234),
            baseline: None,
            threshold: Some(0.8),
            samples: Some(42),
            window: Some("1h".into()),
            actions: vec![ActionChange {
                name: "throttle_acquisition".into(),
                level: 1.0,
                state: ActionState::Engaged,
            }],
            version: 3,
            notify: vec!["ops-slack".into()],
        }
    }

    fn texts(message: &Value) -> String {
        message.to_string()
    }

    #[test]
    fn breaker_message_has_everything_the_contract_lists() {
        let message = message(&breaker());
        assert_eq!(
            message["text"],
            "Rule on-time-delivery (on_time_rate, warehouse wh-1): yellow → red"
        );
        let attachment = &message["attachments"][0];
        assert_eq!(attachment["color"], RED);
        let all = texts(&message);
        for expected in [
            "0.7612 vs threshold 0.8",
            "*Window*\\n1h",
            "*Samples*\\n42",
            "`throttle_acquisition` engaged at level 1",
            "version 3",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in {all}");
        }
    }

    #[test]
    fn gate_message_is_coloured_by_gate_state() {
        let mut gate = breaker();
        gate.kind = NotificationType::GateTransition;
        gate.rule = None;
        gate.gate = Some("expansion-readiness".into());
        (
            gate.kpi,
            gate.scope,
            gate.key,
            gate.value,
            gate.threshold,
            gate.samples,
            gate.window,
        ) = (None, None, None, None, None, None, None);
        gate.from = "closed".into();
        gate.to = "open".into();
        gate.actions = vec![ActionChange {
            name: "pause_expansion".into(),
            level: 0.0,
            state: ActionState::Released,
        }];
        let message = message(&gate);
        assert_eq!(message["text"], "Gate expansion-readiness: closed → open");
        assert_eq!(message["attachments"][0]["color"], GREEN);
        assert!(texts(&message).contains("`pause_expansion` released"));
    }

    #[test]
    fn colours_follow_the_state_moved_to() {
        assert_eq!(colour("green"), Some(GREEN));
        assert_eq!(colour("yellow"), Some(YELLOW));
        assert_eq!(colour("red"), Some(RED));
        assert_eq!(colour("closed"), Some(RED));
        assert_eq!(colour("insufficient"), None);
    }

    #[test]
    fn keys_cannot_inject_mentions_or_links() {
        let mut hostile = breaker();
        hostile.key = Some("<!channel> & <https://evil|click>".into());
        let all = texts(&message(&hostile));
        assert!(!all.contains("<!channel>"), "{all}");
        assert!(
            all.contains("&lt;!channel&gt; &amp; &lt;https://evil|click&gt;"),
            "{all}"
        );
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(number(0.95), "0.95");
        assert_eq!(number(1.0), "1");
        assert_eq!(number(1234.56789), "1234.5679");
        assert_eq!(number(0.00001234), "1.23e-5");
        assert_eq!(number(-0.00001), "-1.00e-5");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(f64::NAN), "n/a");
    }
}
