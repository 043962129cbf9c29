//! Topic creation: the broker refuses to auto-create topics (and should),
//! so tripgate creates what it needs and leaves existing topics alone.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::RDKafkaErrorCode;
use tripgate_model::config::KafkaConfig;

use super::client::{client_config, ClientHealth, HealthContext};
use super::KafkaSourceError;

/// A topic tripgate needs.
#[derive(Clone, Debug)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i32,
    /// Compacted topics keep the latest record per key (the state topic).
    pub compacted: bool,
    /// `retention.ms` for a new topic; `None` keeps the broker's default.
    /// Input topics loaded with recorded logs need -1 (keep forever): their
    /// messages carry the events' old timestamps, which time-based
    /// retention would delete at once.
    pub retention_ms: Option<i64>,
}

/// Creates each topic that does not exist yet. An existing topic is left
/// as it is, whatever its partition count.
pub async fn ensure_topics(
    kafka: &KafkaConfig,
    health: std::sync::Arc<ClientHealth>,
    topics: &[TopicSpec],
    timeout: Duration,
) -> Result<(), KafkaSourceError> {
    let context = HealthContext {
        health,
        role: "admin",
        records_lag: false,
    };
    let admin: AdminClient<HealthContext> = client_config(kafka).create_with_context(context)?;
    let retention: Vec<Option<String>> = topics
        .iter()
        .map(|topic| topic.retention_ms.map(|ms| ms.to_string()))
        .collect();
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .zip(&retention)
        .map(|(topic, retention)| {
            let mut new = NewTopic::new(
                &topic.name,
                topic.partitions,
                TopicReplication::Fixed(topic.replication_factor),
            );
            if let Some(retention) = retention {
                new = new.set("retention.ms", retention);
            }
            if topic.compacted {
                // Chunks of a checkpoint are deleted by tombstones soon after
                // the next checkpoint; compact eagerly so the topic stays small.
                new.set("cleanup.policy", "compact")
                    .set("min.cleanable.dirty.ratio", "0.1")
                    .set("segment.ms", "600000")
            } else {
                new
            }
        })
        .collect();
    let options = AdminOptions::new().request_timeout(Some(timeout));
    let results = admin.create_topics(new_topics.iter(), &options).await?;
    for result in results {
        match result {
            Ok(name) => tracing::info!(topic = %name, "topic created"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(KafkaSourceError::Topic {
                    topic: name,
                    problem: format!("cannot create: {code}"),
                })
            }
        }
    }
    Ok(())
}
