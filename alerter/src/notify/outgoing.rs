//! Everything a notifier delivers: breaker and gate transitions (contract
//! section 8) and the action layer's lease messages.

use serde::{Deserialize, Serialize};
use tripgate_model::{ActionMessage, Notification};

/// One message for the notifiers it names. The webhook body is the inner
/// value as it is (no envelope); the `message` tag exists only in the
/// outbox journal, so a recovered entry knows which kind it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "message", rename_all = "snake_case")]
pub enum Outgoing {
    Transition(Notification),
    Action(ActionMessage),
}

impl Outgoing {
    /// The idempotency key (`webhook-id`).
    pub fn id(&self) -> &str {
        match self {
            Outgoing::Transition(notification) => &notification.id,
            Outgoing::Action(message) => &message.id,
        }
    }

    /// The notifiers it goes to.
    pub fn notify(&self) -> &[String] {
        match self {
            Outgoing::Transition(notification) => &notification.notify,
            Outgoing::Action(message) => &message.notify,
        }
    }

    pub fn set_notify(&mut self, notify: Vec<String>) {
        match self {
            Outgoing::Transition(notification) => notification.notify = notify,
            Outgoing::Action(message) => message.notify = notify,
        }
    }

    /// The JSON a webhook receiver gets, signed as it is.
    pub fn webhook_body(&self) -> Result<Vec<u8>, serde_json::Error> {
        match self {
            Outgoing::Transition(notification) => serde_json::to_vec(notification),
            Outgoing::Action(message) => serde_json::to_vec(message),
        }
    }

    /// Whether people want it in chat: lease renewals are for machines.
    pub fn for_people(&self) -> bool {
        match self {
            Outgoing::Transition(_) => true,
            Outgoing::Action(message) => !message.reason.is_routine(),
        }
    }
}

impl From<Notification> for Outgoing {
    fn from(notification: Notification) -> Outgoing {
        Outgoing::Transition(notification)
    }
}

impl From<ActionMessage> for Outgoing {
    fn from(message: ActionMessage) -> Outgoing {
        Outgoing::Action(message)
    }
}
