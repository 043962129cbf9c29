//! Slack messages beyond one transition: an action message, and the digest
//! that coalesces a burst into one post (Slack allows one per second per
//! incoming webhook; a burst is summarised, never dropped).

use serde_json::{json, Value};
use tripgate_model::{ActionMessage, ActionState};

use super::slack::{self, escape, number};
use super::Outgoing;

/// Slack refuses a message with more than 50 blocks; a digest keeps two for
/// its header and footer.
pub const DIGEST_MAX: usize = 48;

/// The Slack body for one message.
pub fn single(message: &Outgoing) -> Value {
    match message {
        Outgoing::Transition(notification) => slack::message(notification),
        Outgoing::Action(action) => {
            let text = action_line(action);
            json!({
                "text": plain(&text),
                "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": text } }],
            })
        }
    }
}

/// One post for a burst of up to [`DIGEST_MAX`] messages, oldest first.
pub fn digest(messages: &[std::sync::Arc<Outgoing>]) -> Value {
    let headline = format!("tripgate: {} updates", messages.len());
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": headline },
    })];
    for message in messages.iter().take(DIGEST_MAX) {
        let line = match &**message {
            Outgoing::Transition(notification) => {
                let mut line = slack::one_line(notification);
                if let Some(value) = notification.value {
                    line.push_str(&format!(" (value {})", number(value)));
                }
                line
            }
            Outgoing::Action(action) => action_line(action),
        };
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": line } }));
    }
    let ids: Vec<&str> = messages.iter().map(|message| message.id()).collect();
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": format!("ids {}", escape(&ids.join(", "))) }],
    }));
    json!({ "text": headline, "blocks": blocks })
}

fn action_line(action: &ActionMessage) -> String {
    let owner = match (&action.rule, &action.gate) {
        (Some(rule), _) => format!("rule *{}* ({})", escape(rule), escape(&action.key)),
        (None, Some(gate)) => format!("gate *{}*", escape(gate)),
        (None, None) => escape(&action.key),
    };
    let reason = serde_json::to_value(action.reason)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
        .replace('_', " ");
    match action.state {
        ActionState::Engaged => format!(
            "Action `{}` of {owner} at level {} ({reason})",
            escape(&action.action),
            number(action.level)
        ),
        ActionState::Released => {
            format!(
                "Action `{}` of {owner} released ({reason})",
                escape(&action.action)
            )
        }
    }
}

fn plain(text: &str) -> String {
    text.replace(['*', '`'], "")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tripgate_model::{ActionMessageType, ActionReason};

    use super::*;

    fn action(sequence: u64) -> Outgoing {
        Outgoing::Action(ActionMessage {
            id: format!("tg_{sequence}"),
            kind: ActionMessageType::Asserted,
            rule: Some("on-time".into()),
            gate: None,
            key: "<!channel>".into(),
            action: "throttle_acquisition".into(),
            state: ActionState::Engaged,
            level: 0.5,
            version: 2,
            sequence,
            reason: ActionReason::ReleaseStep,
            issued_at: "2025-01-01T00:00:00Z".into(),
            expires_at: Some("2025-01-01T00:15:00Z".into()),
            notify: vec![],
        })
    }

    #[test]
    fn a_digest_lists_every_message_and_escapes_keys() {
        let burst: Vec<Arc<Outgoing>> = (1..=3).map(|n| Arc::new(action(n))).collect();
        let body = digest(&burst);
        assert_eq!(body["text"], "tripgate: 3 updates");
        assert_eq!(body["blocks"].as_array().unwrap().len(), 5);
        let all = body.to_string();
        assert!(all.contains("tg_1, tg_2, tg_3"), "{all}");
        assert!(all.contains("release step"), "{all}");
        assert!(!all.contains("<!channel>"), "{all}");
    }
}
