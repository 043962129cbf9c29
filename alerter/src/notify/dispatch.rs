//! Routes messages to the notifiers they name, through an [`Outbox`].
//!
//! Each notifier has its own task reading its messages from the outbox
//! (see `delivery.rs`), so a receiver that is down or slow keeps its own
//! messages waiting and delays no other receiver, the breakers or the
//! consumer. Nothing is dropped: what is not accepted stays in the outbox
//! (bounded; a full outbox makes producers wait or fail, never forget).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tripgate_model::config::NotifierConfig;
use tripgate_model::Notification;

use super::delivery::{Phase, Task};
use super::{Notifier, NotifyError, Outbox, Outgoing};

/// Delivery counters, per notifier, for logs, metrics and the admin API.
#[derive(Debug)]
pub struct DeliveryStats {
    per_notifier: BTreeMap<String, Counters>,
    /// Messages naming a notifier that does not exist; config validation
    /// should make this stay 0.
    unknown_notifier: AtomicU64,
    /// Endpoints that answered 410, disabled until the config is reloaded.
    disabled: Mutex<BTreeSet<String>>,
}

#[derive(Debug, Default)]
struct Counters {
    delivered: AtomicU64,
    failed: AtomicU64,
    retries: AtomicU64,
}

/// A reading of one notifier's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    /// Messages accepted by the receiver (2xx); a Slack digest counts each.
    pub delivered: u64,
    /// Messages parked: refused for good (a 4xx that no retry fixes).
    pub failed: u64,
    /// Always 0 since deliveries go through the outbox; kept so dashboards
    /// built on it keep working.
    pub dropped: u64,
    /// Attempts that failed and were tried again.
    pub retries: u64,
}

impl DeliveryStats {
    fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> DeliveryStats {
        DeliveryStats {
            per_notifier: names
                .into_iter()
                .map(|name| (name.to_string(), Counters::default()))
                .collect(),
            unknown_notifier: AtomicU64::new(0),
            disabled: Mutex::new(BTreeSet::new()),
        }
    }

    pub fn counts(&self, notifier: &str) -> Option<DeliveryCounts> {
        self.per_notifier
            .get(notifier)
            .map(|counters| DeliveryCounts {
                delivered: counters.delivered.load(Ordering::Relaxed),
                failed: counters.failed.load(Ordering::Relaxed),
                dropped: 0,
                retries: counters.retries.load(Ordering::Relaxed),
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

    /// Notifiers disabled by a 410.
    pub fn disabled(&self) -> Vec<String> {
        self.disabled
            .lock()
            .expect("stats lock")
            .iter()
            .cloned()
            .collect()
    }

    fn add(&self, notifier: &str, counter: fn(&Counters) -> &AtomicU64, count: u64) {
        if let Some(counters) = self.per_notifier.get(notifier) {
            counter(counters).fetch_add(count, Ordering::Relaxed);
        }
    }

    pub(crate) fn add_delivered(&self, notifier: &str, count: u64) {
        self.add(notifier, |c| &c.delivered, count);
    }

    pub(crate) fn add_failed(&self, notifier: &str, count: u64) {
        self.add(notifier, |c| &c.failed, count);
    }

    pub(crate) fn add_retry(&self, notifier: &str) {
        self.add(notifier, |c| &c.retries, 1);
    }

    pub(crate) fn disable(&self, notifier: &str) {
        self.disabled
            .lock()
            .expect("stats lock")
            .insert(notifier.to_string());
    }
}

/// The notifiers of a config, ready to be started.
#[derive(Debug)]
pub struct Dispatcher {
    notifiers: Vec<Notifier>,
    outbox_capacity: usize,
    stats: Arc<DeliveryStats>,
    min_slack_interval: Duration,
}

/// A running dispatcher: stop it, or let it drain, then join it.
pub struct DispatchHandle {
    phase: watch::Sender<Phase>,
    task: JoinHandle<()>,
}

impl DispatchHandle {
    /// Delivers what is pending, for at most `deadline`, then stops; what
    /// is still pending stays in the outbox for the next run.
    pub async fn drain(self, deadline: Duration) {
        let _ = self.phase.send(Phase::Draining);
        let mut task = self.task;
        if tokio::time::timeout(deadline, &mut task).await.is_err() {
            let _ = self.phase.send(Phase::Stopped);
            let _ = task.await;
        }
    }

    /// Stops at once (an attempt in flight finishes); nothing is lost.
    pub async fn stop(self) {
        let _ = self.phase.send(Phase::Stopped);
        let _ = self.task.await;
    }
}

impl Dispatcher {
    /// Slack allows one message per second per incoming webhook.
    pub const SLACK_MIN_INTERVAL: Duration = Duration::from_secs(1);

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
            outbox_capacity: super::outbox::DEFAULT_CAPACITY,
            stats: Arc::new(stats),
            min_slack_interval: Dispatcher::SLACK_MIN_INTERVAL,
        })
    }

    /// Bounds the outbox `spawn` creates (at least 1); a full outbox makes
    /// `spawn`'s router wait, so the input channel pushes back.
    pub fn with_queue_capacity(mut self, capacity: usize) -> Dispatcher {
        self.outbox_capacity = capacity.max(1);
        self
    }

    /// The counters, shared with the running tasks; take it before starting.
    pub fn stats(&self) -> Arc<DeliveryStats> {
        Arc::clone(&self.stats)
    }

    /// The names of the notifiers, to check routing before enqueueing.
    pub fn names(&self) -> Vec<String> {
        self.notifiers
            .iter()
            .map(|n| n.name().to_string())
            .collect()
    }

    /// Starts one delivery task per notifier over `outbox`.
    pub fn start(self, outbox: Arc<Outbox>) -> DispatchHandle {
        let (phase, watching) = watch::channel(Phase::Running);
        let mut tasks = JoinSet::new();
        for notifier in self.notifiers {
            let task = Task {
                notifier,
                outbox: Arc::clone(&outbox),
                stats: Arc::clone(&self.stats),
                phase: watching.clone(),
                min_interval: self.min_slack_interval,
            };
            tasks.spawn(task.run());
        }
        let task = tokio::spawn(async move {
            while let Some(finished) = tasks.join_next().await {
                if let Err(error) = finished {
                    tracing::error!(error = %error, "delivery task ended abnormally");
                }
            }
        });
        DispatchHandle { phase, task }
    }

    /// Reads `input` into an in-memory outbox until every sender is dropped,
    /// then delivers what is pending and ends (aborting the returned task
    /// stops delivery). For callers that need no durability.
    pub fn spawn(self, mut input: mpsc::Receiver<Notification>) -> JoinHandle<()> {
        let outbox = Arc::new(Outbox::in_memory().with_capacity(self.outbox_capacity));
        let names: BTreeSet<String> = self.names().into_iter().collect();
        let stats = self.stats();
        let handle = self.start(Arc::clone(&outbox));
        tokio::spawn(async move {
            let mut changes = outbox.subscribe();
            while let Some(notification) = input.recv().await {
                let mut message = Outgoing::Transition(notification);
                let targets = known_targets(&message, &names, &stats);
                message.set_notify(targets);
                loop {
                    changes.borrow_and_update();
                    match outbox.enqueue(message.clone()) {
                        Err(NotifyError::OutboxFull(_)) => {
                            let _ = changes.changed().await;
                        }
                        Err(error) => {
                            tracing::error!(id = %message.id(), %error, "cannot queue a notification");
                            break;
                        }
                        Ok(()) => break,
                    }
                }
            }
            handle.drain(Duration::MAX).await;
            tracing::debug!("notification dispatcher stopped");
        })
    }
}

/// The notifiers a message names that exist, each once; unknown ones are
/// counted and logged.
pub fn known_targets(
    message: &Outgoing,
    names: &BTreeSet<String>,
    stats: &DeliveryStats,
) -> Vec<String> {
    let mut targets = Vec::new();
    for name in message.notify() {
        if !names.contains(name) {
            stats.unknown_notifier.fetch_add(1, Ordering::Relaxed);
            tracing::error!(notifier = %name, id = %message.id(), "message names an unknown notifier");
        } else if !targets.contains(name) {
            targets.push(name.clone());
        }
    }
    targets
}
