//! The `[kafka]` table: where live mode reads, dead-letters and checkpoints.

use std::collections::BTreeMap;
use std::fmt;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::duration::Span;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// `bootstrap.servers`: comma-separated `host:port` list.
    pub bootstrap: String,
    /// The group input offsets are committed to. Offsets there are for
    /// operators and lag tools; restarts resume from the checkpoint.
    pub group_id: String,
    pub topics: TopicsConfig,
    /// Rejected messages go here with their original bytes (contract section 2).
    pub dead_letter_topic: String,
    /// Compacted topic holding checkpoints (engine state + input offsets).
    pub state_topic: String,
    /// Wall time between checkpoints; a crash replays at most this much input.
    pub checkpoint_interval: Span,
    /// How long SIGTERM may take: stop polling, deliver notifications,
    /// write the final checkpoint, commit.
    pub shutdown_deadline: Span,
    /// How long after its last record a caught-up partition with nothing
    /// buffered may hold back the others before the merge goes on without
    /// it (Kafka Streams' `max.task.idle.ms`).
    pub partition_idle: Span,
    /// Partitions of input topics `tripgate produce` creates when missing.
    pub partitions: i32,
    /// Replication factor of every topic tripgate creates.
    pub replication_factor: i32,
    /// librdkafka statistics period, the source of per-partition lag.
    pub statistics_interval: Span,
    /// Passed to librdkafka as is (`security.protocol`, `sasl.*`, `ssl.*`,
    /// ...). Keys may use `_` for `.` so that they can be set from the
    /// environment: `TRIPGATE__KAFKA__CLIENT__SASL_PASSWORD`.
    #[serde(default)]
    pub client: ClientSettings,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicsConfig {
    pub orders: String,
    pub fulfillment: String,
    pub tickets: String,
}

impl TopicsConfig {
    /// The input topics in a fixed order (ties in the merge go to the first).
    pub fn all(&self) -> [&str; 3] {
        [&self.orders, &self.fulfillment, &self.tickets]
    }
}

/// A librdkafka setting as written in TOML or read from the environment
/// (figment reads `6000` from the environment as a number).
#[derive(Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ClientValue {
    Text(String),
    Integer(i64),
    Flag(bool),
}

impl fmt::Display for ClientValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientValue::Text(text) => f.write_str(text),
            ClientValue::Integer(n) => write!(f, "{n}"),
            ClientValue::Flag(flag) => write!(f, "{flag}"),
        }
    }
}

/// The client passthrough. Printed (check-config, Debug) with the values of
/// credential-like keys redacted.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct ClientSettings(pub BTreeMap<String, ClientValue>);

impl ClientSettings {
    /// librdkafka property names and values; `_` in a key becomes `.`
    /// (librdkafka's own names never contain `_`).
    pub fn properties(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|(key, value)| (key.replace('_', "."), value.to_string()))
            .collect()
    }

    fn is_secret(key: &str) -> bool {
        let key = key.to_ascii_lowercase();
        ["password", "secret", "jaas", "key.pem", "key_pem", "token"]
            .iter()
            .any(|word| key.contains(word))
    }

    fn shown(&self) -> BTreeMap<&str, String> {
        self.0
            .iter()
            .map(|(key, value)| {
                let shown = if ClientSettings::is_secret(key) {
                    "<redacted>".to_string()
                } else {
                    value.to_string()
                };
                (key.as_str(), shown)
            })
            .collect()
    }
}

impl fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.shown()).finish()
    }
}

impl Serialize for ClientSettings {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let shown = self.shown();
        let mut map = serializer.serialize_map(Some(shown.len()))?;
        for (key, value) in shown {
            map.serialize_entry(key, &value)?;
        }
        map.end()
    }
}

impl KafkaConfig {
    /// Semantic checks serde cannot make, appended to `errors`.
    pub(super) fn validate(&self, errors: &mut Vec<String>) {
        let mut names: Vec<(&str, &str)> = vec![
            ("kafka.topics.orders", &self.topics.orders),
            ("kafka.topics.fulfillment", &self.topics.fulfillment),
            ("kafka.topics.tickets", &self.topics.tickets),
            ("kafka.dead_letter_topic", &self.dead_letter_topic),
            ("kafka.state_topic", &self.state_topic),
        ];
        for (path, name) in &names {
            if name.is_empty() {
                errors.push(format!("{path}: must not be empty"));
            }
        }
        names.sort_by_key(|(_, name)| *name);
        for pair in names.windows(2) {
            if pair[0].1 == pair[1].1 && !pair[0].1.is_empty() {
                errors.push(format!(
                    "{}: {:?} is also {}; every topic must be distinct",
                    pair[1].0, pair[1].1, pair[0].0
                ));
            }
        }
        if self.bootstrap.trim().is_empty() {
            errors.push("kafka.bootstrap: must not be empty".to_string());
        }
        if self.group_id.is_empty() {
            errors.push("kafka.group_id: must not be empty".to_string());
        }
        if self.partitions < 1 {
            errors.push("kafka.partitions: must be at least 1".to_string());
        }
        if self.replication_factor < 1 {
            errors.push("kafka.replication_factor: must be at least 1".to_string());
        }
        for (path, span) in [
            ("kafka.checkpoint_interval", &self.checkpoint_interval),
            ("kafka.shutdown_deadline", &self.shutdown_deadline),
            ("kafka.statistics_interval", &self.statistics_interval),
        ] {
            if span.nanos() <= 0 {
                errors.push(format!("{path}: must be greater than 0"));
            }
        }
        for key in self.client.0.keys() {
            let key = key.replace('_', ".");
            if matches!(
                key.as_str(),
                "enable.auto.commit" | "enable.auto.offset.store" | "group.id"
            ) {
                errors.push(format!(
                    "kafka.client.{key}: set by tripgate (offsets are committed only after a checkpoint)"
                ));
            }
        }
    }
}
