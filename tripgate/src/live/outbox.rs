//! Notifications of live mode, tracked until delivered.
//!
//! Unlike the demo's dispatcher, which drops on a full queue, live mode
//! promises that no transition is lost: every notification stays in the
//! pending set until each notifier it names has answered 2xx (or refused it
//! permanently, a 4xx that no retry fixes). Each checkpoint stores the
//! pending set, and a restart re-sends it; ids are deterministic, so a
//! receiver that already had one sees the same id again, never a new one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tripgate_alerter::notify::{Notifier, NotifyError};
use tripgate_model::config::Config;
use tripgate_model::Notification;

/// Queued notifications per notifier. A receiver down long enough to fill
/// this stalls the pipeline (the engine waits) instead of dropping one.
const QUEUE_CAPACITY: usize = 1024;
/// The longest pause between attempts while a receiver keeps failing.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);

/// A notification some notifiers have not acknowledged yet, as checkpointed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingNotification {
    pub notification: Notification,
    /// The notifiers still to deliver it.
    pub remaining: Vec<String>,
}

type Entry = (u64, Arc<Notification>);

#[derive(Default)]
struct Pending {
    next: u64,
    entries: BTreeMap<u64, (Arc<Notification>, BTreeSet<String>)>,
}

#[derive(Clone)]
pub struct Outbox {
    pending: Arc<Mutex<Pending>>,
    queues: BTreeMap<String, mpsc::Sender<Entry>>,
}

impl Outbox {
    /// Builds every `[notifier.NAME]` and starts one delivery task each on
    /// the current runtime.
    pub fn spawn(config: &Config) -> Result<Outbox, NotifyError> {
        let pending = Arc::new(Mutex::new(Pending::default()));
        let mut queues = BTreeMap::new();
        for (name, notifier_config) in &config.notifiers {
            let notifier = Notifier::from_config(name, notifier_config)?;
            let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
            queues.insert(name.clone(), sender);
            tokio::spawn(deliver(notifier, receiver, pending.clone()));
        }
        Ok(Outbox { pending, queues })
    }

    /// Queues a new notification to every notifier it names. Blocking: call
    /// it from the engine thread, never from async code.
    pub fn enqueue(&self, notification: Notification) {
        let remaining: Vec<String> = notification.notify.clone();
        self.enqueue_to(notification, remaining);
    }

    /// Queues a notification to the given notifiers (a restart re-sends
    /// what the checkpoint says is undelivered).
    pub fn enqueue_to(&self, notification: Notification, notifiers: Vec<String>) {
        let targets: BTreeSet<String> = notifiers
            .into_iter()
            .filter(|name| {
                let known = self.queues.contains_key(name);
                if !known {
                    tracing::error!(notifier = %name, id = %notification.id, "notification names an unknown notifier");
                }
                known
            })
            .collect();
        if targets.is_empty() {
            return;
        }
        let notification = Arc::new(notification);
        let sequence = {
            let mut pending = self.pending.lock().expect("outbox lock");
            let sequence = pending.next;
            pending.next += 1;
            pending
                .entries
                .insert(sequence, (notification.clone(), targets.clone()));
            sequence
        };
        for name in targets {
            if let Some(queue) = self.queues.get(&name) {
                if queue
                    .blocking_send((sequence, notification.clone()))
                    .is_err()
                {
                    tracing::error!(notifier = %name, "notifier task gone; the notification stays pending");
                }
            }
        }
    }

    /// What is not delivered yet, oldest first, for a checkpoint.
    pub fn pending(&self) -> Vec<PendingNotification> {
        let pending = self.pending.lock().expect("outbox lock");
        pending
            .entries
            .values()
            .map(|(notification, remaining)| PendingNotification {
                notification: Notification::clone(notification),
                remaining: remaining.iter().cloned().collect(),
            })
            .collect()
    }

    pub fn pending_count(&self) -> usize {
        self.pending.lock().expect("outbox lock").entries.len()
    }
}

fn settle(pending: &Mutex<Pending>, sequence: u64, notifier: &str) {
    let mut pending = pending.lock().expect("outbox lock");
    if let Some((_, remaining)) = pending.entries.get_mut(&sequence) {
        remaining.remove(notifier);
        if remaining.is_empty() {
            pending.entries.remove(&sequence);
        }
    }
}

/// One notifier's task: in queue order, each notification until it is
/// delivered or refused for good. The notifier's own retries run first;
/// after those, a retryable failure is tried again at a capped pace for as
/// long as the process runs (the checkpoint keeps it across restarts).
async fn deliver(
    notifier: Notifier,
    mut queue: mpsc::Receiver<Entry>,
    pending: Arc<Mutex<Pending>>,
) {
    while let Some((sequence, notification)) = queue.recv().await {
        let mut pause = Duration::from_secs(1);
        loop {
            match notifier.send(&notification).await {
                Ok(()) => {
                    tracing::info!(notifier = %notifier.name(), id = %notification.id, "notification delivered");
                    break;
                }
                Err(error) if error.is_retryable() => {
                    tracing::warn!(notifier = %notifier.name(), id = %notification.id, error = %error, "notification delivery failing; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_RETRY_PAUSE);
                }
                Err(error) => {
                    tracing::error!(notifier = %notifier.name(), id = %notification.id, error = %error, "notification refused by the receiver; giving up");
                    break;
                }
            }
        }
        settle(&pending, sequence, notifier.name());
    }
}
