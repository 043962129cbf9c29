//! Delivery of breaker and gate transitions to Slack and to signed webhooks
//! (contract section 8, "Webhook" and "Slack").
//!
//! The pieces, from the inside out: [`WebhookSigner`] and [`slack::message`]
//! are pure and build what goes on the wire; a [`Notifier`] sends to one
//! receiver; the [`Outbox`] holds every [`Outgoing`] message until each
//! receiver it names accepted it (in memory, or journaled to a file); the
//! [`Dispatcher`] runs one delivery task per notifier over the outbox, so a
//! slow or dead receiver never holds up another, and delivers until accepted.

pub mod clock;
mod delivery;
mod dispatch;
mod journal;
mod notifier;
mod outbox;
mod outgoing;
mod retry;
pub mod slack;
mod slack_digest;
mod webhook;

use std::time::Duration;

pub use clock::{SystemClock, TokioClock, WallClock};
pub use dispatch::{known_targets, DeliveryCounts, DeliveryStats, DispatchHandle, Dispatcher};
pub use notifier::Notifier;
pub use outbox::{Outbox, ParkedDelivery, PendingDelivery};
pub use outgoing::Outgoing;
pub use retry::RetryPolicy;
pub use slack_digest::DIGEST_MAX;
pub use webhook::WebhookSigner;

/// The alerter crate's one error type: everything that can go wrong
/// building or using a notifier, the outbox or the action controller.
///
/// Delivery errors say whether trying again may help ([`NotifyError::is_retryable`]);
/// none of them ever carries the receiver's URL, which embeds credentials.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(
        "notifier {notifier}: the secret must be `whsec_` followed by a base64 key: {problem}"
    )]
    InvalidSecret {
        notifier: String,
        problem: &'static str,
    },
    #[error("notifier {notifier}: invalid url: {problem}")]
    InvalidUrl { notifier: String, problem: String },
    #[error("notifier {notifier}: the timeout must be greater than 0")]
    InvalidTimeout { notifier: String },
    #[error("notifier {notifier}: cannot build the http client: {source}")]
    Client {
        notifier: String,
        source: reqwest::Error,
    },
    #[error("two notifiers are named {0:?}")]
    DuplicateNotifier(String),
    /// Ids travel in the `webhook-id` header: non-empty visible ASCII.
    #[error("notification id {0:?} cannot be a webhook-id header (use visible ASCII, no spaces)")]
    InvalidId(String),
    #[error("cannot encode the notification: {0}")]
    Encode(#[from] serde_json::Error),
    /// The receiver answered with a status other than 2xx.
    #[error("receiver answered {status}{}", detail_suffix(.detail))]
    Status {
        status: u16,
        /// `Retry-After` in seconds, read only on 429 and 503.
        retry_after: Option<Duration>,
        /// The start of the response body, or why a 3xx counts as a failure.
        detail: String,
    },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Connection refused or reset, DNS, TLS: the request may not have arrived.
    #[error("cannot reach the receiver: {0}")]
    Transport(String),
    #[error("gave up after {attempts} attempts: {last}")]
    Exhausted {
        attempts: u32,
        last: Box<NotifyError>,
    },
    /// The outbox holds its maximum of pending messages.
    #[error("the outbox is full ({0} pending messages)")]
    OutboxFull(usize),
    #[error("outbox journal {path}: {problem}")]
    Journal { path: String, problem: String },
    /// An operator named a rule or gate the config does not have.
    #[error("no {kind} named {name:?}")]
    UnknownSource { kind: &'static str, name: String },
    #[error("action level must be in (0, 1], got {0}")]
    InvalidLevel(f64),
}

/// The alerter's error by the name the rest of the crate knows it.
pub type AlerterError = NotifyError;

impl NotifyError {
    /// Whether the same request may succeed later: 5xx, 429, 408, timeouts and
    /// transport errors may; other statuses and configuration errors will not.
    /// [`NotifyError::Exhausted`] reports its last error's answer, so a caller
    /// that parks failed notifications knows which are worth replaying.
    pub fn is_retryable(&self) -> bool {
        match self {
            NotifyError::Status { status, .. } => {
                *status >= 500 || *status == 429 || *status == 408
            }
            NotifyError::Timeout(_) | NotifyError::Transport(_) => true,
            NotifyError::Exhausted { last, .. } => last.is_retryable(),
            NotifyError::InvalidSecret { .. }
            | NotifyError::InvalidUrl { .. }
            | NotifyError::InvalidTimeout { .. }
            | NotifyError::InvalidId(_)
            | NotifyError::Client { .. }
            | NotifyError::DuplicateNotifier(_)
            | NotifyError::Encode(_)
            | NotifyError::UnknownSource { .. }
            | NotifyError::InvalidLevel(_) => false,
            NotifyError::OutboxFull(_) | NotifyError::Journal { .. } => true,
        }
    }

    /// How long the receiver asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            NotifyError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> NotifyError {
        NotifyError::Status {
            status,
            retry_after: None,
            detail: String::new(),
        }
    }

    #[test]
    fn retryable_statuses_are_server_errors_throttling_and_timeouts() {
        for code in [500, 502, 503, 504, 429, 408] {
            assert!(status(code).is_retryable(), "{code}");
        }
        for code in [301, 302, 400, 401, 403, 404, 410, 422] {
            assert!(!status(code).is_retryable(), "{code}");
        }
        assert!(NotifyError::Timeout(Duration::from_secs(1)).is_retryable());
        assert!(NotifyError::Transport("connection refused".into()).is_retryable());
    }

    #[test]
    fn exhausted_reports_its_last_error() {
        let exhausted = NotifyError::Exhausted {
            attempts: 4,
            last: Box::new(status(503)),
        };
        assert!(exhausted.is_retryable());
        assert_eq!(
            exhausted.to_string(),
            "gave up after 4 attempts: receiver answered 503"
        );
    }
}
