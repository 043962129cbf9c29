//! Routes notifications to the notifiers they name.
//!
//! One router task reads the alerter's bounded channel and hands each
//! notification to a bounded queue per notifier, each drained by its own task.
//! The router never waits on a notifier: a queue that is full (its receiver
//! is slow or down and retrying) drops the notification for that notifier
//! only, counted and logged, so one dead receiver can neither delay the
//! others nor back up into the breakers. Shutdown follows the input: when every
//! sender is dropped the router closes the queues, each notifier task finishes
//! what is queued, and the router's task ends after them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::task::{JoinHandle, JoinSet};
use tripgate_model::config::NotifierConfig;
use tripgate_model::Notification;

use super::{Notifier, NotifyError};

/// Delivery counters, per notifier, for logs and metrics. The set of
/// notifiers is fixed at construction, so counting needs no lock.
#[derive(Debug)]
pub struct DeliveryStats {
    per_notifier: BTreeMap<String, Counters>,
    /// Notifications naming a notifier that does not exist; config
    /// validation should make this stay 0.
    unknown_notifier: AtomicU64,
}

#[derive(Debug, Default)]
struct Counters {
    delivered: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

/// A reading of one notifier's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    /// Accepted by the receiver (2xx), retries included.
    pub delivered: u64,
    /// Given up on: a permanent error or retries exhausted.
    pub failed: u64,
    /// Never attempted because the notifier's queue was full.
    pub dropped: u64,
}

impl DeliveryStats {
    fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> DeliveryStats {
        DeliveryStats {
            per_notifier: names
                .into_iter()
                .map(|name| (name.to_string(), Counters::default()))
                .collect(),
            unknown_notifier: AtomicU64::new(0),
        }
    }

    pub fn counts(&self, notifier: &str) -> Option<DeliveryCounts> {
        self.per_notifier
            .get(notifier)
            .map(|counters| DeliveryCounts {
                delivered: counters.delivered.load(Ordering::Relaxed),
                failed: counters.failed.load(Ordering::Relaxed),
                dropped: counters.dropped.load(Ordering::Relaxed),
            })
    }

    /// Every notifier's counts, by name.
    pub fn snapshot(&self) -> BTreeMap<String, DeliveryCounts> {
        self.per_notifier
            .keys()
            .map(|name| (name.clone(), self.counts(name).unwrap_or_default()))
            .collect()
    }

    pub fn unknown_notifier(&self) -> u64 {
        self.unknown_notifier.load(Ordering::Relaxed)
    }

    fn add(&self, notifier: &str, counter: fn(&Counters) -> &AtomicU64) {
        if let Some(counters) = self.per_notifier.get(notifier) {
            counter(counters).fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The notifiers of a config, ready to be spawned.
#[derive(Debug)]
pub struct Dispatcher {
    notifiers: Vec<Notifier>,
    queue_capacity: usize,
    stats: Arc<DeliveryStats>,
}

impl Dispatcher {
    /// Per-notifier queue length. Transitions are rare (a few per tick at
    /// worst), so 256 covers a receiver that is down for many minutes while
    /// its retries run, without holding unbounded memory.
    pub const DEFAULT_QUEUE_CAPACITY: usize = 256;

    /// Builds every `[notifier.NAME]`; the first invalid one is the error.
    pub fn from_config(
        configs: &BTreeMap<String, NotifierConfig>,
    ) -> Result<Dispatcher, NotifyError> {
        let notifiers = configs
            .iter()
            .map(|(name, config)| Notifier::from_config(name, config))
            .collect::<Result<Vec<_>, _>>()?;
        Dispatcher::new(notifiers)
    }

    /// Dispatches to the given notifiers, whose names must be unique.
    pub fn new(notifiers: Vec<Notifier>) -> Result<Dispatcher, NotifyError> {
        let stats = DeliveryStats::new(notifiers.iter().map(Notifier::name));
        if stats.per_notifier.len() != notifiers.len() {
            let mut seen = std::collections::HashSet::new();
            let duplicate = notifiers
                .iter()
                .find(|notifier| !seen.insert(notifier.name()))
                .map(Notifier::name);
            return Err(NotifyError::DuplicateNotifier(
                duplicate.unwrap_or_default().to_string(),
            ));
        }
        Ok(Dispatcher {
            notifiers,
            queue_capacity: Dispatcher::DEFAULT_QUEUE_CAPACITY,
            stats: Arc::new(stats),
        })
    }

    /// Sets the per-notifier queue length (at least 1).
    pub fn with_queue_capacity(mut self, capacity: usize) -> Dispatcher {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// The counters, shared with the running tasks; take it before `spawn`.
    pub fn stats(&self) -> Arc<DeliveryStats> {
        Arc::clone(&self.stats)
    }

    /// Starts the router and one task per notifier, reading `input` until
    /// every sender is dropped. The returned task ends once every queue is
    /// drained. Aborting it aborts the notifier tasks too (they live in its
    /// `JoinSet`), which is how a caller bounds the drain at shutdown.
    pub fn spawn(self, input: mpsc::Receiver<Notification>) -> JoinHandle<()> {
        tokio::spawn(self.run(input))
    }

    async fn run(self, mut input: mpsc::Receiver<Notification>) {
        let mut tasks = JoinSet::new();
        let mut queues = BTreeMap::new();
        for notifier in self.notifiers {
            let (queue, queued) = mpsc::channel(self.queue_capacity);
            queues.insert(notifier.name().to_string(), queue);
            tasks.spawn(deliver_queued(notifier, queued, Arc::clone(&self.stats)));
        }
        while let Some(notification) = input.recv().await {
            // Shared, not cloned per notifier: the queues only read it.
            let notification = Arc::new(notification);
            for (index, name) in notification.notify.iter().enumerate() {
                if notification.notify[..index].contains(name) {
                    continue;
                }
                route(&queues, &self.stats, name, &notification);
            }
        }
        drop(queues);
        while let Some(finished) = tasks.join_next().await {
            if let Err(error) = finished {
                tracing::error!(error = %error, "notifier task ended abnormally");
            }
        }
        tracing::debug!("notification dispatcher stopped");
    }
}

fn route(
    queues: &BTreeMap<String, mpsc::Sender<Arc<Notification>>>,
    stats: &DeliveryStats,
    name: &str,
    notification: &Arc<Notification>,
) {
    let Some(queue) = queues.get(name) else {
        stats.unknown_notifier.fetch_add(1, Ordering::Relaxed);
        tracing::error!(notifier = %name, id = %notification.id, "notification names an unknown notifier");
        return;
    };
    match queue.try_send(Arc::clone(notification)) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            stats.add(name, |counters| &counters.dropped);
            tracing::error!(notifier = %name, id = %notification.id, "notifier queue full, notification dropped");
        }
        Err(TrySendError::Closed(_)) => {
            stats.add(name, |counters| &counters.dropped);
            tracing::error!(notifier = %name, id = %notification.id, "notifier task gone, notification dropped");
        }
    }
}

/// One notifier's task: sends in queue order, so a receiver sees a
/// breaker's transitions in the order they happened.
async fn deliver_queued(
    notifier: Notifier,
    mut queued: mpsc::Receiver<Arc<Notification>>,
    stats: Arc<DeliveryStats>,
) {
    while let Some(notification) = queued.recv().await {
        match notifier.send(&notification).await {
            Ok(()) => {
                stats.add(notifier.name(), |counters| &counters.delivered);
                tracing::info!(
                    notifier = %notifier.name(),
                    kind = notifier.kind(),
                    id = %notification.id,
                    "notification delivered"
                );
            }
            Err(error) => {
                stats.add(notifier.name(), |counters| &counters.failed);
                tracing::error!(
                    notifier = %notifier.name(),
                    kind = notifier.kind(),
                    id = %notification.id,
                    retryable = error.is_retryable(),
                    error = %error,
                    "notification delivery failed"
                );
            }
        }
    }
}
