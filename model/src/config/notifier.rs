//! `[notifier.NAME]` tables: where transitions are sent.

use serde::{Deserialize, Serialize};

use super::Sensitive;
use crate::duration::Span;

/// Where transitions are sent. `kind` (or `type`) may be left out when it
/// is clear: a `secret` means a signed webhook, a hooks.slack.com URL Slack.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    deny_unknown_fields,
    try_from = "NotifierTable"
)]
pub enum NotifierConfig {
    /// A Slack incoming webhook.
    Slack {
        url: Sensitive,
        #[serde(default = "default_timeout")]
        timeout: Span,
        #[serde(default = "default_retries")]
        retries: u32,
    },
    /// A generic webhook signed per Standard Webhooks.
    Webhook {
        url: Sensitive,
        /// `whsec_` followed by the base64 key, as Standard Webhooks writes it.
        secret: Sensitive,
        #[serde(default = "default_timeout")]
        timeout: Span,
        #[serde(default = "default_retries")]
        retries: u32,
    },
}

/// A `[notifier.NAME]` table as written, before its kind is decided.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifierTable {
    #[serde(alias = "type")]
    kind: Option<String>,
    url: Sensitive,
    secret: Option<Sensitive>,
    #[serde(default = "default_timeout")]
    timeout: Span,
    #[serde(default = "default_retries")]
    retries: u32,
}

impl TryFrom<NotifierTable> for NotifierConfig {
    type Error = String;

    fn try_from(table: NotifierTable) -> Result<NotifierConfig, String> {
        let kind =
            match table.kind.as_deref() {
                Some(kind) => kind.to_string(),
                None if table.secret.is_some() => "webhook".to_string(),
                None if table.url.expose().contains("hooks.slack.com") => "slack".to_string(),
                None => return Err(
                    "cannot tell the notifier's kind: add kind = \"slack\" or kind = \"webhook\""
                        .into(),
                ),
            };
        let NotifierTable {
            url,
            secret,
            timeout,
            retries,
            ..
        } = table;
        match (kind.as_str(), secret) {
            ("slack", None) => Ok(NotifierConfig::Slack {
                url,
                timeout,
                retries,
            }),
            ("slack", Some(_)) => {
                Err("a slack notifier takes no secret (Slack signs nothing)".into())
            }
            ("webhook", Some(secret)) => Ok(NotifierConfig::Webhook {
                url,
                secret,
                timeout,
                retries,
            }),
            ("webhook", None) => {
                Err("a webhook notifier needs secret = \"whsec_...\" to sign with".into())
            }
            (other, _) => Err(format!(
                "unknown notifier kind {other:?}: use \"slack\" or \"webhook\""
            )),
        }
    }
}

fn default_timeout() -> Span {
    Span::parse("5s").expect("constant duration")
}

fn default_retries() -> u32 {
    3
}
