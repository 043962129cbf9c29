//! The dead-letter topic's writer: every rejected record is sent until the
//! broker acknowledges it, never dropped. A refused write is tried again
//! after a pause that doubles up to `MAX_PAUSE`; while any letter is
//! refused, health says so.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use tripgate_ingest::kafka::{dead_letter_headers, AckedProducer, DeadLetter, Outgoing};

use super::metrics::LiveMetrics;
use super::LiveStatus;

/// The first pause after a refused write, and the longest.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(5);
/// A refused write is logged at most this often (with a count).
const LOG_EVERY: Duration = Duration::from_secs(10);

pub struct DeadLetters {
    topic: String,
    producer: AckedProducer,
    /// Sent, not yet acknowledged, by send id.
    unacked: BTreeMap<usize, DeadLetter>,
    /// Refused, waiting for `retry_at`.
    refused: Vec<DeadLetter>,
    retry_at: Option<Instant>,
    pause: Duration,
    /// Send ids of letters refused before: health stays degraded until
    /// each of them is acknowledged.
    retried: BTreeSet<usize>,
    last_error: Option<String>,
    refusals_since_log: u64,
    last_log: Option<Instant>,
}

impl DeadLetters {
    pub fn new(topic: &str, producer: AckedProducer) -> DeadLetters {
        DeadLetters {
            topic: topic.to_string(),
            producer,
            unacked: BTreeMap::new(),
            refused: Vec::new(),
            retry_at: None,
            pause: FIRST_PAUSE,
            retried: BTreeSet::new(),
            last_error: None,
            refusals_since_log: 0,
            last_log: None,
        }
    }

    /// Letters not yet acknowledged (sent or waiting to be sent again).
    pub fn outstanding(&self) -> usize {
        self.unacked.len() + self.refused.len()
    }

    pub fn send(&mut self, letter: DeadLetter) -> anyhow::Result<()> {
        self.send_as(letter, false)
    }

    fn send_as(&mut self, letter: DeadLetter, retry: bool) -> anyhow::Result<()> {
        let headers = dead_letter_headers(&letter);
        let id = self.producer.send(&Outgoing {
            topic: &self.topic,
            key: letter.key.as_deref(),
            payload: letter.payload.as_deref(),
            headers: Some(headers),
            // Stamped now, not with the event's time: the topic's retention
            // then counts from when the message was dead-lettered.
            timestamp_ms: None,
        })?;
        self.unacked.insert(id, letter);
        if retry {
            self.retried.insert(id);
        }
        Ok(())
    }

    /// Takes in acknowledgements and re-sends refused letters whose pause
    /// is over. With `wait_all`, returns only once every letter is
    /// acknowledged: a checkpoint must not cover an offset whose dead
    /// letter could be lost.
    pub fn collect(
        &mut self,
        wait_all: bool,
        metrics: &LiveMetrics,
        status: &LiveStatus,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let ids: Vec<usize> = self.unacked.keys().copied().collect();
            for id in ids {
                let outcome = if wait_all {
                    self.producer.wait(id, Duration::from_millis(500))
                } else {
                    self.producer.try_take(id)
                };
                match outcome {
                    Some(Ok(())) => {
                        self.unacked.remove(&id);
                        self.retried.remove(&id);
                        metrics.dead_letters.inc();
                        self.pause = FIRST_PAUSE;
                    }
                    Some(Err(error)) => {
                        let letter = self.unacked.remove(&id).expect("listed above");
                        self.retried.remove(&id);
                        metrics.dead_letter_failures.inc();
                        self.refuse(letter, error);
                    }
                    None => {}
                }
            }
            if self.retry_at.is_some_and(|at| at <= Instant::now()) {
                self.retry_at = None;
                for letter in std::mem::take(&mut self.refused) {
                    self.send_as(letter, true)?;
                }
            }
            status.set_dead_letter_trouble(self.trouble(started, wait_all));
            if !wait_all || self.outstanding() == 0 {
                return Ok(());
            }
            if self.unacked.is_empty() {
                // Only refused letters left: wait out their pause.
                let until = self.retry_at.unwrap_or_else(Instant::now);
                std::thread::sleep(until.saturating_duration_since(Instant::now()));
            }
        }
    }

    fn refuse(&mut self, letter: DeadLetter, error: String) {
        self.refusals_since_log += 1;
        if self.last_log.is_none_or(|at| at.elapsed() >= LOG_EVERY) {
            tracing::warn!(
                error = %error,
                refused = self.refusals_since_log,
                topic = %letter.source_topic,
                partition = letter.source_partition,
                offset = letter.source_offset,
                retry_in_ms = self.pause.as_millis() as u64,
                "dead-letter writes refused; retrying, input is held back"
            );
            self.refusals_since_log = 0;
            self.last_log = Some(Instant::now());
        }
        self.last_error = Some(error);
        self.refused.push(letter);
        if self.retry_at.is_none() {
            self.retry_at = Some(Instant::now() + self.pause);
            self.pause = (self.pause * 2).min(MAX_PAUSE);
        }
    }

    /// Why health is degraded, while it is.
    fn trouble(&self, started: Instant, wait_all: bool) -> Option<String> {
        if !self.refused.is_empty() || !self.retried.is_empty() {
            let error = self.last_error.as_deref().unwrap_or("unknown error");
            return Some(format!(
                "dead-letter writes failing ({} letters outstanding): {error}",
                self.outstanding()
            ));
        }
        let slow = wait_all && started.elapsed() > Duration::from_secs(5);
        slow.then(|| {
            format!(
                "{} dead letters not acknowledged for {}s",
                self.outstanding(),
                started.elapsed().as_secs()
            )
        })
    }
}
