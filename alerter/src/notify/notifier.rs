//! One receiver: builds the request for a notification and sends it, with
//! retries, to Slack or to a signed webhook.

use std::error::Error as _;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{redirect, Client, Response, StatusCode, Url};
use tripgate_model::config::NotifierConfig;
use tripgate_model::Notification;

use super::clock::{SystemClock, WallClock};
use super::retry::parse_retry_after;
use super::{slack, slack_digest, NotifyError, Outgoing, RetryPolicy, WebhookSigner};

/// How much of an error response is kept: enough for Slack's
/// `invalid_payload` or a receiver's one-line reason, not a whole HTML page.
const ERROR_BODY_LIMIT: usize = 512;

/// A configured `[notifier.NAME]`, ready to send.
pub struct Notifier {
    name: String,
    format: Format,
    /// Never logged or shown: Slack and many webhook URLs carry credentials.
    url: Url,
    /// Carries the per-request timeout and refuses redirects (a redirect could
    /// carry a signed throttle order to a host nobody configured).
    client: Client,
    timeout: Duration,
    retry: RetryPolicy,
    /// Reads `Retry-After` dates; tests inject one that follows paused time.
    clock: Arc<dyn WallClock>,
}

enum Format {
    Slack,
    Webhook(WebhookSigner),
}

impl Notifier {
    /// Builds the notifier `[notifier.NAME]` describes; fails on a secret not
    /// of the `whsec_` form, a URL that is not http(s), or a zero timeout.
    pub fn from_config(name: &str, config: &NotifierConfig) -> Result<Notifier, NotifyError> {
        let (format, url, timeout, retries) = match config {
            NotifierConfig::Slack {
                url,
                timeout,
                retries,
            } => (Format::Slack, url, timeout, *retries),
            NotifierConfig::Webhook {
                url,
                secret,
                timeout,
                retries,
            } => {
                let signer = WebhookSigner::from_secret(name, secret.expose())?;
                (Format::Webhook(signer), url, timeout, *retries)
            }
        };
        let invalid_url = |problem: String| NotifyError::InvalidUrl {
            notifier: name.to_string(),
            problem,
        };
        // The parser's messages never echo the URL, so they are safe to show.
        let url = Url::parse(url.expose()).map_err(|error| invalid_url(error.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid_url(format!(
                "scheme {:?} is not http or https",
                url.scheme()
            )));
        }
        let timeout = timeout.as_std();
        if timeout.is_zero() {
            return Err(NotifyError::InvalidTimeout {
                notifier: name.to_string(),
            });
        }
        let client = Client::builder()
            .timeout(timeout)
            .redirect(redirect::Policy::none())
            .user_agent(concat!("tripgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| NotifyError::Client {
                notifier: name.to_string(),
                source,
            })?;
        Ok(Notifier {
            name: name.to_string(),
            format,
            url,
            client,
            timeout,
            retry: RetryPolicy::with_retries(retries),
            clock: Arc::new(SystemClock),
        })
    }

    /// Replaces the wall clock used for `Retry-After` dates.
    pub fn with_clock(mut self, clock: Arc<dyn WallClock>) -> Notifier {
        self.clock = clock;
        self
    }

    pub fn is_slack(&self) -> bool {
        matches!(self.format, Format::Slack)
    }

    /// The bytes to POST for a batch: a webhook gets one message as it is;
    /// Slack gets one message, or a digest of a burst (it allows one post
    /// per second per webhook, and a burst must not be dropped).
    pub fn batch_body(&self, batch: &[Arc<Outgoing>]) -> Result<Vec<u8>, NotifyError> {
        match (&self.format, batch) {
            (Format::Webhook(_), [one]) => Ok(one.webhook_body()?),
            (Format::Slack, [one]) => Ok(serde_json::to_vec(&slack_digest::single(one))?),
            (Format::Slack, many) => Ok(serde_json::to_vec(&slack_digest::digest(many))?),
            (Format::Webhook(_), _) => unreachable!("webhooks are sent one message at a time"),
        }
    }

    /// One POST of `body` under `id` (the `webhook-id`), no retry: the
    /// dispatcher owns the retry loop when delivering until accepted.
    pub async fn post(&self, id: &str, body: &[u8]) -> Result<(), NotifyError> {
        self.attempt(id, body).await
    }

    /// Replaces the pacing (and number) of retries; tests use milliseconds.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Notifier {
        self.retry = retry;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `slack` or `webhook`, for logs.
    pub fn kind(&self) -> &'static str {
        match self.format {
            Format::Slack => "slack",
            Format::Webhook(_) => "webhook",
        }
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The exact bytes sent (and, for a webhook, signed).
    pub fn body(&self, notification: &Notification) -> Result<Vec<u8>, NotifyError> {
        Ok(match self.format {
            Format::Slack => serde_json::to_vec(&slack::message(notification))?,
            Format::Webhook(_) => serde_json::to_vec(notification)?,
        })
    }

    /// Delivers one notification, retrying what may succeed later up to the
    /// policy's `retries` times. Every attempt carries the same body and
    /// `webhook-id`, so a receiver that saw an earlier attempt can drop the
    /// repeat; the timestamp and signature are fresh per attempt because
    /// receivers reject old timestamps.
    pub async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        let body = self.body(notification)?;
        let mut retry = 0;
        loop {
            let error = match self.attempt(&notification.id, &body).await {
                Ok(()) => return Ok(()),
                Err(error) => error,
            };
            if !error.is_retryable() {
                return Err(error);
            }
            if retry >= self.retry.retries {
                return Err(NotifyError::Exhausted {
                    attempts: retry + 1,
                    last: Box::new(error),
                });
            }
            retry += 1;
            let delay = self
                .retry
                .delay(retry, error.retry_after(), rand::random::<f64>());
            tracing::warn!(
                notifier = %self.name,
                id = %notification.id,
                retry,
                delay_ms = delay.as_millis() as u64,
                error = %error,
                "delivery attempt failed, retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One POST: `Ok` on any 2xx.
    async fn attempt(&self, id: &str, body: &[u8]) -> Result<(), NotifyError> {
        let mut request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Format::Webhook(signer) = &self.format {
            // The header would carry bytes above ASCII, but receivers decode
            // them differently and the signature would then not match; an
            // empty id defeats deduplication.
            let valid_id = !id.is_empty() && id.bytes().all(|byte| byte.is_ascii_graphic());
            let id_header = HeaderValue::from_str(id)
                .ok()
                .filter(|_| valid_id)
                .ok_or_else(|| NotifyError::InvalidId(id.to_string()))?;
            let timestamp = unix_seconds();
            request = request
                .header("webhook-id", id_header)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signer.sign(id, timestamp, body));
        }
        let response = request
            .send()
            .await
            .map_err(|error| self.transport_error(error))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = match status {
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| parse_retry_after(value, self.clock.now())),
            _ => None,
        };
        let detail = if status.is_redirection() {
            "redirects are not followed".to_string()
        } else {
            error_body_start(response).await
        };
        Err(NotifyError::Status {
            status: status.as_u16(),
            retry_after,
            detail,
        })
    }

    fn transport_error(&self, error: reqwest::Error) -> NotifyError {
        if error.is_timeout() {
            return NotifyError::Timeout(self.timeout);
        }
        // `without_url`: reqwest puts the URL, credentials and all, in its
        // messages. The causes below it name the socket problem.
        let error = error.without_url();
        let mut text = error.to_string();
        let mut cause = error.source();
        while let Some(inner) = cause {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            cause = inner.source();
        }
        NotifyError::Transport(text)
    }
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("name", &self.name)
            .field("kind", &self.kind())
            .field("url", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

async fn error_body_start(mut response: Response) -> String {
    let mut start = Vec::new();
    while start.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => start.extend_from_slice(&chunk),
            _ => break,
        }
    }
    start.truncate(ERROR_BODY_LIMIT);
    String::from_utf8_lossy(&start).trim().to_string()
}

/// The `webhook-timestamp`: wall-clock time on purpose, since receivers
/// compare it with their own clock to refuse replays.
fn unix_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use tripgate_model::config::Sensitive;
    use tripgate_model::Span;

    use super::*;

    fn webhook(url: &str, secret: &str, timeout: &str) -> NotifierConfig {
        NotifierConfig::Webhook {
            url: Sensitive(url.into()),
            secret: Sensitive(secret.into()),
            timeout: Span::parse(timeout).unwrap(),
            retries: 2,
        }
    }

    #[test]
    fn builds_from_config_with_its_retries() {
        let notifier = Notifier::from_config(
            "hook",
            &webhook("https://example.com/h", "whsec_c2VjcmV0", "5s"),
        )
        .unwrap();
        assert_eq!(notifier.kind(), "webhook");
        assert_eq!(notifier.retry_policy().retries, 2);
    }

    #[test]
    fn refuses_bad_urls_without_echoing_them() {
        for url in [
            "not a url /T0/B0/SECRETPATH",
            "ftp://example.com/SECRETPATH",
        ] {
            let error =
                Notifier::from_config("hook", &webhook(url, "whsec_c2VjcmV0", "5s")).unwrap_err();
            let text = error.to_string();
            assert!(text.starts_with("notifier hook: invalid url"), "{text}");
            assert!(!text.contains("SECRETPATH"), "{text}");
        }
    }

    #[test]
    fn refuses_a_bad_secret_and_a_zero_timeout() {
        let bad_secret =
            Notifier::from_config("hook", &webhook("https://example.com", "c2VjcmV0", "5s"));
        assert!(matches!(bad_secret, Err(NotifyError::InvalidSecret { .. })));
        let zero = Notifier::from_config(
            "hook",
            &webhook("https://example.com", "whsec_c2VjcmV0", "0s"),
        );
        assert!(matches!(zero, Err(NotifyError::InvalidTimeout { .. })));
    }

    #[test]
    fn debug_hides_the_url() {
        let notifier = Notifier::from_config(
            "hook",
            &webhook("https://example.com/SECRETPATH", "whsec_c2VjcmV0", "5s"),
        )
        .unwrap();
        assert!(!format!("{notifier:?}").contains("SECRETPATH"));
    }
}
