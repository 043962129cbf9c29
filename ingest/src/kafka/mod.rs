//! Kafka edges of ingest: the time-ordered source live mode reads from, an
//! acknowledged producer (dead letters, checkpoints, `tripgate produce`),
//! topic administration and the client health librdkafka reports.
//!
//! Everything here is synchronous and meant for dedicated threads: rdkafka's
//! poll loops block, and the async runtime must never wait on them.

mod admin;
mod client;
mod dead_letter;
mod fetch;
mod merge;
mod producer;
mod source;

pub use admin::{ensure_topics, TopicSpec};
pub use client::{client_config, ClientHealth, PartitionLag};
pub use dead_letter::{dead_letter_headers, DeadLetter, HEADER_DETAIL, HEADER_REASON};
pub use merge::{Merge, PartitionId};
pub use producer::{AckedProducer, Outgoing};
pub use source::{start_source, SourceHandle, SourceOptions, SourceRecord};

/// Everything that can go wrong talking to Kafka. Per-message problems are
/// never errors here: they are rejections, dead-lettered by the caller.
#[derive(Debug, thiserror::Error)]
pub enum KafkaSourceError {
    #[error("kafka client: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
    #[error("topic {topic}: {problem}")]
    Topic { topic: String, problem: String },
    #[error("no answer from the broker within {0:?}")]
    Timeout(std::time::Duration),
}
