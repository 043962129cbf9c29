//! Live mode's own series, beside the pipeline's (`crate::metrics`):
//! consumer lag, throughput, dead letters, checkpoints, broker health.

use std::sync::Mutex;
use std::time::Instant;

use prometheus::{Gauge, IntCounter, IntGauge, IntGaugeVec, Opts, Registry};
use tripgate_alerter::notify::DeliveryStats;
use tripgate_ingest::kafka::ClientHealth;

use super::checkpoint::WriteStats;
use crate::engine::Engine;
use crate::metrics::PipelineMetrics;

pub struct LiveMetrics {
    pipeline: PipelineMetrics,
    /// Records taken from Kafka (input of the events/s gauge).
    pub events: IntCounter,
    events_per_second: Gauge,
    pub dead_letters: IntCounter,
    pub dead_letter_failures: IntCounter,
    pub checkpoint_failures: IntCounter,
    checkpoints: IntCounter,
    checkpoint_bytes: IntGauge,
    checkpoint_seconds: Gauge,
    checkpoint_age: Gauge,
    consumer_lag: IntGaugeVec,
    broker_up: IntGauge,
    notifications_pending: IntGauge,
    /// (when, events counter then) of the last rate sample, and of the last checkpoint.
    rate_sample: Mutex<(Instant, u64)>,
    last_checkpoint: Mutex<Option<Instant>>,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    collector: T,
) -> prometheus::Result<T> {
    registry.register(Box::new(collector.clone()))?;
    Ok(collector)
}

impl LiveMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<LiveMetrics> {
        Ok(LiveMetrics {
            pipeline: PipelineMetrics::new(registry)?,
            events: register(registry, IntCounter::new("tripgate_kafka_records_total", "Records consumed from the input topics.")?)?,
            events_per_second: register(registry, Gauge::new("tripgate_events_per_second", "Records consumed per second over the last few seconds.")?)?,
            dead_letters: register(registry, IntCounter::new("tripgate_dead_letters_total", "Rejected messages acknowledged by the dead-letter topic.")?)?,
            dead_letter_failures: register(registry, IntCounter::new("tripgate_dead_letter_failures_total", "Dead-letter writes that failed and were retried.")?)?,
            checkpoint_failures: register(registry, IntCounter::new("tripgate_checkpoint_failures_total", "Checkpoints that could not be written (retried at the next interval).")?)?,
            checkpoints: register(registry, IntCounter::new("tripgate_checkpoints_total", "Checkpoints written.")?)?,
            checkpoint_bytes: register(registry, IntGauge::new("tripgate_checkpoint_bytes", "Size of the last checkpoint.")?)?,
            checkpoint_seconds: register(registry, Gauge::new("tripgate_checkpoint_duration_seconds", "How long the last checkpoint write took.")?)?,
            checkpoint_age: register(registry, Gauge::new("tripgate_checkpoint_age_seconds", "Seconds since the last checkpoint was acknowledged.")?)?,
            consumer_lag: register(registry, IntGaugeVec::new(Opts::new("tripgate_consumer_lag", "Messages behind the high watermark, per input partition (librdkafka statistics)."), &["topic", "partition"])?)?,
            broker_up: register(registry, IntGauge::new("tripgate_kafka_broker_up", "1 while a broker connection is up.")?)?,
            notifications_pending: register(registry, IntGauge::new("tripgate_notifications_pending", "Notifications not yet delivered to every notifier.")?)?,
            rate_sample: Mutex::new((Instant::now(), 0)),
            last_checkpoint: Mutex::new(None),
        })
    }

    pub fn observe_checkpoint(&self, written: &WriteStats) {
        self.checkpoints.inc();
        self.checkpoint_bytes.set(written.bytes as i64);
        self.checkpoint_seconds.set(written.duration.as_secs_f64());
        *self.last_checkpoint.lock().expect("metrics lock") = Some(Instant::now());
    }

    pub fn observe_engine(&self, engine: &Engine) {
        self.pipeline.observe(engine);
        let mut sample = self.rate_sample.lock().expect("metrics lock");
        let elapsed = sample.0.elapsed();
        if elapsed.as_secs_f64() >= 2.0 {
            let total = self.events.get();
            self.events_per_second
                .set((total - sample.1) as f64 / elapsed.as_secs_f64());
            *sample = (Instant::now(), total);
        }
        if let Some(at) = *self.last_checkpoint.lock().expect("metrics lock") {
            self.checkpoint_age.set(at.elapsed().as_secs_f64());
        }
    }

    pub fn observe_deliveries(&self, stats: &DeliveryStats) {
        self.pipeline.observe_deliveries(stats);
    }

    /// Topics and partitions come from the config and the cluster, never
    /// from message contents, so the label set stays bounded.
    pub fn observe_client(&self, health: &ClientHealth, pending_notifications: usize) {
        self.broker_up.set(i64::from(health.reachable()));
        self.notifications_pending.set(pending_notifications as i64);
        for lag in health.lag() {
            if let Some(value) = lag.lag {
                self.consumer_lag
                    .with_label_values(&[&lag.topic, &lag.partition.to_string()])
                    .set(value);
            }
        }
    }
}
