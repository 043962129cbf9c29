//! Client settings shared by every tripgate Kafka client, and the health
//! librdkafka reports through its callbacks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::Statistics;
use tripgate_model::config::KafkaConfig;

/// `bootstrap.servers`, the statistics period and the configured
/// passthrough (`security.protocol`, `sasl.*`, `ssl.*`, ...). The
/// passthrough comes last so an operator can tune anything tripgate does
/// not own (config validation refuses the settings it owns).
pub fn client_config(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &kafka.bootstrap)
        .set(
            "statistics.interval.ms",
            (kafka.statistics_interval.nanos() / 1_000_000).to_string(),
        )
        .set_log_level(RDKafkaLogLevel::Warning);
    for (key, value) in kafka.client.properties() {
        config.set(key, value);
    }
    config
}

/// One partition's consumer lag as librdkafka last reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    /// Messages between the consumer's position and the high watermark;
    /// `None` while librdkafka does not know it yet.
    pub lag: Option<i64>,
}

/// Per partition: (consumer lag, high watermark), each if known.
type Offsets = (Option<i64>, Option<i64>);

/// What librdkafka's callbacks say about the cluster, read by `/readyz` and
/// `/metrics`. Shared by every client of one process.
#[derive(Debug, Default)]
pub struct ClientHealth {
    /// Whether some broker connection is up, from the last statistics or
    /// error callback. Starts false: nothing has been reached yet.
    reachable: AtomicBool,
    last_error: Mutex<Option<String>>,
    lag: Mutex<BTreeMap<(String, i32), Offsets>>,
    /// When each (client, error) was last logged: librdkafka repeats an
    /// error every few hundred milliseconds during an outage.
    logged: Mutex<BTreeMap<(&'static str, String), std::time::Instant>>,
}

/// The same client error is logged at most this often.
const ERROR_LOG_PERIOD: std::time::Duration = std::time::Duration::from_secs(30);

impl ClientHealth {
    pub fn new() -> Arc<ClientHealth> {
        Arc::new(ClientHealth::default())
    }

    pub fn reachable(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }

    /// Something answered (a fetch, an acknowledgement): the broker is up,
    /// whatever the last statistics said.
    pub fn mark_reachable(&self) {
        if !self.reachable.swap(true, Ordering::Relaxed) {
            tracing::info!("kafka broker reachable");
        }
    }

    pub fn mark_unreachable(&self, why: &str) {
        *self.last_error.lock().expect("health lock") = Some(why.to_string());
        if self.reachable.swap(false, Ordering::Relaxed) {
            tracing::warn!(reason = %why, "kafka broker unreachable");
        }
    }

    /// Why the broker was last considered unreachable.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().expect("health lock").clone()
    }

    pub fn lag(&self) -> Vec<PartitionLag> {
        self.lag
            .lock()
            .expect("health lock")
            .iter()
            .map(|((topic, partition), (lag, _))| PartitionLag {
                topic: topic.clone(),
                partition: *partition,
                lag: *lag,
            })
            .collect()
    }

    /// The partition's high watermark from the last statistics.
    pub fn high_watermark(&self, topic: &str, partition: i32) -> Option<i64> {
        self.lag
            .lock()
            .expect("health lock")
            .get(&(topic.to_string(), partition))
            .and_then(|(_, high)| *high)
    }

    /// Whether an error seen now should be logged (and how many were not).
    fn should_log(&self, client: &'static str, error: &str) -> bool {
        let mut logged = self.logged.lock().expect("health lock");
        let now = std::time::Instant::now();
        match logged.get(&(client, error.to_string())) {
            Some(at) if now.duration_since(*at) < ERROR_LOG_PERIOD => false,
            _ => {
                logged.insert((client, error.to_string()), now);
                true
            }
        }
    }

    fn observe_statistics(&self, statistics: &Statistics) {
        let up = statistics
            .brokers
            .values()
            .any(|broker| broker.nodeid >= 0 && broker.state == "UP");
        if up {
            self.mark_reachable();
        } else {
            self.mark_unreachable("no broker connection is up");
        }
        let mut lag = self.lag.lock().expect("health lock");
        for (name, topic) in &statistics.topics {
            for (partition, stats) in &topic.partitions {
                // -1 is librdkafka's internal UA partition, not a real one.
                if *partition < 0 || stats.consumer_lag == -1 && stats.hi_offset == -1 {
                    continue;
                }
                let known = (stats.consumer_lag >= 0).then_some(stats.consumer_lag);
                let high = (stats.hi_offset >= 0).then_some(stats.hi_offset);
                lag.insert((name.clone(), *partition), (known, high));
            }
        }
    }
}

/// The context of every tripgate client: routes statistics and errors into
/// [`ClientHealth`] and librdkafka's own logs into tracing.
#[derive(Clone)]
pub struct HealthContext {
    pub(crate) health: Arc<ClientHealth>,
    /// `consumer`, `producer`, ... for logs.
    pub(crate) role: &'static str,
    /// Only the input consumer's statistics carry lag worth exporting; the
    /// others would report their own partitions.
    pub(crate) records_lag: bool,
}

impl ClientContext for HealthContext {
    fn stats(&self, statistics: Statistics) {
        if self.records_lag {
            self.health.observe_statistics(&statistics);
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let all_down = matches!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::AllBrokersDown)
        );
        if all_down {
            self.health.mark_unreachable(reason);
        }
        let text = error.to_string();
        if self.health.should_log(self.role, &text) {
            tracing::warn!(client = self.role, error = %text, reason = %reason, "kafka client error (repeats are logged every 30s)");
        }
    }

    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        use rdkafka::config::RDKafkaLogLevel as Level;
        match level {
            Level::Emerg | Level::Alert | Level::Critical | Level::Error => {
                tracing::error!(client = self.role, facility, message, "librdkafka")
            }
            Level::Warning => tracing::warn!(client = self.role, facility, message, "librdkafka"),
            _ => tracing::debug!(client = self.role, facility, message, "librdkafka"),
        }
    }
}

impl ConsumerContext for HealthContext {}
