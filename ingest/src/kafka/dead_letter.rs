//! Dead letters (contract section 2): the rejected message's original key
//! and bytes, with headers saying why and where it came from.

use rdkafka::message::{Header, OwnedHeaders};
use tripgate_model::Rejection;

pub const HEADER_REASON: &str = "tripgate-reason";
pub const HEADER_DETAIL: &str = "tripgate-detail";
pub const HEADER_SOURCE_TOPIC: &str = "tripgate-source-topic";
pub const HEADER_SOURCE_PARTITION: &str = "tripgate-source-partition";
pub const HEADER_SOURCE_OFFSET: &str = "tripgate-source-offset";

/// A rejected input message, kept until the dead-letter topic acknowledges it.
#[derive(Clone, Debug)]
pub struct DeadLetter {
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub rejection: Rejection,
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
}

/// The headers of one dead letter. Reason and detail come from the closed
/// rejection set and the decoder's bounded detail text.
pub fn dead_letter_headers(letter: &DeadLetter) -> OwnedHeaders {
    let partition = letter.source_partition.to_string();
    let offset = letter.source_offset.to_string();
    OwnedHeaders::new_with_capacity(5)
        .insert(Header {
            key: HEADER_REASON,
            value: Some(letter.rejection.reason.as_str()),
        })
        .insert(Header {
            key: HEADER_DETAIL,
            value: Some(letter.rejection.detail.as_str()),
        })
        .insert(Header {
            key: HEADER_SOURCE_TOPIC,
            value: Some(letter.source_topic.as_str()),
        })
        .insert(Header {
            key: HEADER_SOURCE_PARTITION,
            value: Some(partition.as_str()),
        })
        .insert(Header {
            key: HEADER_SOURCE_OFFSET,
            value: Some(offset.as_str()),
        })
}
