//! The pipeline's own Prometheus series: what went in and what happened to it.

use prometheus::{Gauge, IntCounter, IntCounterVec, Opts, Registry};
use tripgate_alerter::notify::DeliveryStats;
use tripgate_model::time::nanos_to_seconds;
use tripgate_model::RejectReason;

use crate::engine::Engine;

pub struct PipelineMetrics {
    events: IntCounter,
    rejected: IntCounterVec,
    duplicates: IntCounter,
    late: IntCounter,
    unmatched: IntCounter,
    ticks: IntCounter,
    watermark: Gauge,
    notifications: IntCounterVec,
}

fn counter(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntCounter> {
    let counter = IntCounter::new(name, help)?;
    registry.register(Box::new(counter.clone()))?;
    Ok(counter)
}

/// Raises a counter to `total` (engine totals only grow).
fn raise(counter: &IntCounter, total: u64) {
    counter.inc_by(total.saturating_sub(counter.get()));
}

impl PipelineMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<PipelineMetrics> {
        let rejected = IntCounterVec::new(
            Opts::new(
                "tripgate_events_rejected_total",
                "Events rejected, by contract reason.",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(rejected.clone()))?;
        for reason in RejectReason::ALL {
            rejected.with_label_values(&[reason.as_str()]);
        }
        let notifications = IntCounterVec::new(
            Opts::new(
                "tripgate_notifications_total",
                "Notifications per notifier: delivered, failed or dropped.",
            ),
            &["notifier", "outcome"],
        )?;
        registry.register(Box::new(notifications.clone()))?;
        let watermark = Gauge::new(
            "tripgate_watermark_seconds",
            "The event-time watermark (Unix seconds).",
        )?;
        registry.register(Box::new(watermark.clone()))?;
        Ok(PipelineMetrics {
            events: counter(registry, "tripgate_events_total", "Messages read.")?,
            rejected,
            duplicates: counter(
                registry,
                "tripgate_duplicate_events_total",
                "Duplicates: repeated event ids and semantic duplicates.",
            )?,
            late: counter(
                registry,
                "tripgate_late_events_total",
                "Events below the watermark on arrival.",
            )?,
            unmatched: counter(
                registry,
                "tripgate_unmatched_events_total",
                "Events about an unknown order or ticket.",
            )?,
            ticks: counter(registry, "tripgate_ticks_total", "Ticks closed.")?,
            watermark,
            notifications,
        })
    }

    /// Brings the series up to the engine's totals.
    pub fn observe(&self, engine: &Engine) {
        let stats = &engine.stats;
        let counters = engine.counters();
        raise(&self.events, stats.read);
        for (reason, total) in &stats.rejected {
            raise(&self.rejected.with_label_values(&[reason.as_str()]), *total);
        }
        raise(
            &self.duplicates,
            counters.duplicate_ids + counters.semantic_duplicates,
        );
        raise(&self.late, counters.late);
        raise(&self.unmatched, counters.unmatched);
        raise(&self.ticks, counters.ticks);
        if let Some(watermark) = engine.watermark() {
            self.watermark.set(nanos_to_seconds(i128::from(watermark)));
        }
    }

    pub fn observe_deliveries(&self, stats: &DeliveryStats) {
        for (notifier, counts) in stats.snapshot() {
            for (outcome, total) in [
                ("delivered", counts.delivered),
                ("failed", counts.failed),
                ("dropped", counts.dropped),
            ] {
                raise(
                    &self.notifications.with_label_values(&[&notifier, outcome]),
                    total,
                );
            }
        }
    }
}
