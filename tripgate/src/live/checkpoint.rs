//! Checkpoints in a compacted Kafka topic (one partition).
//!
//! A checkpoint is the engine's state bytes followed by the action layer's
//! (engaged actions, overrides, silences, undelivered messages: see
//! `LiveExtras`), split into chunks of at most `CHUNK_BYTES` (a broker
//! refuses messages over ~1 MB), followed by a small manifest written last:
//! the chunk count and checksum, where the engine's bytes end, the next
//! input offset of every partition the state reflects and the length of
//! `--out`. The manifest is the commit point: one
//! written and acknowledged means a complete checkpoint; a crash before it
//! leaves the previous manifest in force, whose chunks are still there
//! because superseded chunks are deleted (tombstones) only after the new
//! manifest is acknowledged. Compaction keeps one manifest and the live
//! chunks, so the topic stays about one state in size.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tripgate_alerter::actions::ActionControllerState;
use tripgate_alerter::notify::PendingDelivery;
use tripgate_ingest::kafka::{client_config, AckedProducer, Outgoing};
use tripgate_model::config::KafkaConfig;

use super::failpoint;

const MANIFEST_KEY: &str = "manifest";
/// The layout of the manifest and of the state this build writes and reads.
/// The engine's bytes (bincode) do not describe themselves, so any change
/// to a saved type bumps this: an older checkpoint is refused, not misread.
/// 3: breakers as run counters, one name table per scope, sketches as
/// sorted vectors, 64-byte key entries.
pub const FORMAT: u32 = 3;
const CHUNK_BYTES: usize = 900 * 1024;
/// How long one checkpoint write may wait for acknowledgements; a broker
/// outage longer than this fails the checkpoint, which is retried later.
const ACK_TIMEOUT: Duration = Duration::from_secs(330);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub sequence: u64,
    pub chunks: u32,
    pub state_bytes: u64,
    pub state_sha256: String,
    /// Where the engine's state ends; `LiveExtras` (JSON) follows it.
    pub engine_bytes: u64,
    /// The pipeline settings and KPI windows of the state: must match.
    pub config_fingerprint: String,
    /// Each rule's definition fingerprint: a rule that differs at restart
    /// starts over, as on reload.
    pub rule_versions: BTreeMap<String, String>,
    pub offsets: Vec<PartitionOffset>,
    /// Length of the `--out` file when the state was taken.
    pub out_len: Option<u64>,
}

/// What live mode checkpoints besides the engine: the action controller
/// (engaged actions with their leases and release steps, overrides,
/// silences) and every message not yet accepted by all its receivers.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LiveExtras {
    pub actions: ActionControllerState,
    pub pending: Vec<PendingDelivery>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PartitionOffset {
    pub topic: String,
    pub partition: i32,
    /// The next offset to read: everything below is in the state.
    pub next: i64,
}

/// A checkpoint read back: the manifest and the state it names.
pub struct Restored {
    pub manifest: Manifest,
    pub engine: Vec<u8>,
    pub extras: LiveExtras,
}

/// What one write cost, for logs and metrics.
pub struct WriteStats {
    pub bytes: usize,
    pub chunks: usize,
    pub duration: Duration,
}

pub struct StateStore {
    topic: String,
    producer: AckedProducer,
    sequence: u64,
    /// Chunk keys of the checkpoint in force, deleted once superseded.
    live_chunks: Vec<String>,
}

fn chunk_key(sequence: u64, index: usize) -> String {
    format!("chunk/{sequence:016x}/{index:06}")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl StateStore {
    pub fn new(topic: &str, producer: AckedProducer) -> StateStore {
        StateStore {
            topic: topic.to_string(),
            producer,
            sequence: 0,
            live_chunks: Vec::new(),
        }
    }

    /// Reads the whole state topic and returns the latest complete
    /// checkpoint, if any. Chunks no manifest names (left by a crash
    /// mid-checkpoint, or whose tombstones were never sent) are deleted.
    pub fn read_latest(
        &mut self,
        kafka: &KafkaConfig,
        timeout: Duration,
    ) -> anyhow::Result<Option<Restored>> {
        let mut config = client_config(kafka);
        config
            .set("group.id", format!("{}-state-reader", kafka.group_id))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false");
        let consumer: BaseConsumer = config.create()?;
        let (low, high) = consumer
            .fetch_watermarks(&self.topic, 0, timeout)
            .with_context(|| format!("cannot read the offsets of state topic {}", self.topic))?;
        let mut latest: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        if high > low {
            let mut list = TopicPartitionList::new();
            list.add_partition_offset(&self.topic, 0, Offset::Offset(low))?;
            consumer.assign(&list)?;
            let deadline = Instant::now() + timeout;
            let mut next = low;
            while next < high {
                if Instant::now() > deadline {
                    bail!(
                        "state topic {}: read {next} of {high} records before timing out",
                        self.topic
                    );
                }
                let Some(polled) = consumer.poll(Duration::from_millis(200)) else {
                    continue;
                };
                let message = polled.context("cannot read the state topic")?;
                next = message.offset() + 1;
                let Some(key) = message.key() else { continue };
                let key = String::from_utf8_lossy(key).into_owned();
                match message.payload() {
                    Some(payload) => latest.insert(key, payload.to_vec()),
                    None => latest.remove(&key),
                };
            }
        }
        let manifest = match latest.remove(MANIFEST_KEY) {
            Some(bytes) => Some(read_manifest(&bytes)?),
            None => None,
        };
        let wanted: Vec<String> = manifest
            .as_ref()
            .map(|m| {
                (0..m.chunks as usize)
                    .map(|i| chunk_key(m.sequence, i))
                    .collect()
            })
            .unwrap_or_default();
        let orphans: Vec<String> = latest
            .keys()
            .filter(|key| !wanted.contains(key))
            .cloned()
            .collect();
        for key in &orphans {
            let id = self.producer.send(&tombstone(&self.topic, key))?;
            self.producer.forget(id);
        }
        let Some(manifest) = manifest else {
            return Ok(None);
        };
        let mut state = Vec::with_capacity(manifest.state_bytes as usize);
        for key in &wanted {
            let chunk = latest
                .get(key)
                .with_context(|| format!("checkpoint {} lacks chunk {key}", manifest.sequence))?;
            state.extend_from_slice(chunk);
        }
        if sha256_hex(&state) != manifest.state_sha256 {
            bail!(
                "checkpoint {}: the state does not match its checksum",
                manifest.sequence
            );
        }
        let split = (manifest.engine_bytes as usize).min(state.len());
        let extras = serde_json::from_slice(&state[split..])
            .context("the checkpoint's action state is unreadable")?;
        state.truncate(split);
        self.sequence = manifest.sequence;
        self.live_chunks = wanted;
        Ok(Some(Restored {
            manifest,
            engine: state,
            extras,
        }))
    }

    /// Writes a checkpoint; returns once the manifest is acknowledged. On an
    /// error the previous checkpoint stays in force.
    pub fn write(
        &mut self,
        engine: Vec<u8>,
        extras: &LiveExtras,
        mut manifest: Manifest,
    ) -> anyhow::Result<WriteStats> {
        let started = Instant::now();
        manifest.engine_bytes = engine.len() as u64;
        let mut state = engine;
        serde_json::to_writer(&mut state, extras)?;
        let state = state.as_slice();
        let sequence = self.sequence + 1;
        let chunks: Vec<&[u8]> = if state.is_empty() {
            vec![&[][..]]
        } else {
            state.chunks(CHUNK_BYTES).collect()
        };
        let keys: Vec<String> = (0..chunks.len()).map(|i| chunk_key(sequence, i)).collect();
        let mut ids = Vec::with_capacity(chunks.len());
        for (key, chunk) in keys.iter().zip(&chunks) {
            ids.push(self.producer.send(&Outgoing {
                topic: &self.topic,
                key: Some(key.as_bytes()),
                payload: Some(chunk),
                headers: None,
                timestamp_ms: None,
            })?);
        }
        for id in ids {
            self.await_ack(id)?;
        }
        failpoint::hit("checkpoint-before-manifest");
        manifest.sequence = sequence;
        manifest.chunks = chunks.len() as u32;
        manifest.state_bytes = state.len() as u64;
        manifest.state_sha256 = sha256_hex(state);
        let body = serde_json::to_vec(&manifest)?;
        let id = self.producer.send(&Outgoing {
            topic: &self.topic,
            key: Some(MANIFEST_KEY.as_bytes()),
            payload: Some(&body),
            headers: None,
            timestamp_ms: None,
        })?;
        self.await_ack(id)?;
        failpoint::hit("checkpoint-after-manifest");
        // Not awaited: a lost tombstone leaves an orphan the next start deletes.
        for key in std::mem::replace(&mut self.live_chunks, keys) {
            let id = self.producer.send(&tombstone(&self.topic, &key))?;
            self.producer.forget(id);
        }
        self.sequence = sequence;
        Ok(WriteStats {
            bytes: state.len() + body.len(),
            chunks: chunks.len(),
            duration: started.elapsed(),
        })
    }

    fn await_ack(&self, id: usize) -> anyhow::Result<()> {
        match self.producer.wait(id, ACK_TIMEOUT) {
            Some(Ok(())) => Ok(()),
            Some(Err(error)) => bail!("state topic write failed: {error}"),
            None => bail!("state topic write not acknowledged within {ACK_TIMEOUT:?}"),
        }
    }
}

/// A manifest of this build's format; an older one is refused with advice
/// rather than misread.
fn read_manifest(bytes: &[u8]) -> anyhow::Result<Manifest> {
    #[derive(Deserialize)]
    struct Format {
        format: u32,
    }
    let format = serde_json::from_slice::<Format>(bytes)
        .context("the checkpoint manifest is unreadable")?
        .format;
    if format != FORMAT {
        return Err(super::Fatal(format!(
            "the checkpoint has format {format}, this tripgate reads format {FORMAT}: \
             run the tripgate version that wrote it, or start over with a new state_topic \
             and group_id"
        ))
        .into());
    }
    serde_json::from_slice(bytes).context("the checkpoint manifest is unreadable")
}

fn tombstone<'a>(topic: &'a str, key: &'a str) -> Outgoing<'a> {
    Outgoing {
        topic,
        key: Some(key.as_bytes()),
        payload: None,
        headers: None,
        timestamp_ms: None,
    }
}
