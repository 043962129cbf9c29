//! Delivery of breaker and gate transitions to Slack and to signed webhooks
//! (contract section 8, "Webhook" and "Slack").
//!
//! The pieces, from the inside out: [`WebhookSigner`] and [`slack::message`]
//! are pure and build what goes on the wire; a [`Notifier`] sends one
//! notification to one receiver with retries; the [`Dispatcher`] routes each
//! notification to the notifiers it names, one queue and task per notifier so
//! a slow receiver never holds up another.

mod dispatch;
mod notifier;
mod retry;
pub mod slack;
mod webhook;

use std::time::Duration;

pub use dispatch::{DeliveryCounts, DeliveryStats, Dispatcher};
pub use notifier::Notifier;
pub use retry::RetryPolicy;
pub use webhook::WebhookSigner;

/// Everything that can go wrong building or using a notifier.
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
}

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
            | NotifyError::Encode(_) => false,
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
