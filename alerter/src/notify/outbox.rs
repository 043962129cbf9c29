//! Messages not yet accepted by every receiver they go to.
//!
//! The outbox is the source the delivery tasks read from, not a queue in
//! front of them: a receiver that is down simply leaves its messages here
//! (nothing is dropped, nothing waits on it), and live mode can checkpoint
//! [`Outbox::pending`] and hand it back with [`Outbox::restore`]. With a
//! journal ([`Outbox::open_file`]) every change is fsynced first.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::journal::{Journal, Record};
use super::{NotifyError, Outgoing};

/// Default bound on pending messages: far above what a day of transitions
/// and leases produces, low enough that memory stays small.
pub const DEFAULT_CAPACITY: usize = 100_000;
/// Parked (refused) deliveries kept for the admin API.
const PARKED_KEPT: usize = 1000;
/// A journal is rewritten once it holds this many lines more than pending.
const REWRITE_AFTER: usize = 4096;

/// A message and the notifiers that have not accepted it, as checkpointed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingDelivery {
    pub message: Outgoing,
    pub remaining: Vec<String>,
}

/// A delivery a receiver refused for good (a 4xx other than 408 and 429, or
/// an endpoint disabled by 410). Kept for operators, never retried.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParkedDelivery {
    pub id: String,
    pub notifier: String,
    pub error: String,
    /// Unix seconds when it was parked.
    pub parked_at: u64,
}

#[derive(Default)]
struct Index {
    next: u64,
    entries: BTreeMap<u64, (Arc<Outgoing>, BTreeSet<String>)>,
    /// The sequence of each pending message by id: enqueue and settle find
    /// a message without scanning (a receiver down for days leaves many).
    by_id: HashMap<String, u64>,
    parked: VecDeque<ParkedDelivery>,
}

pub struct Outbox {
    index: Mutex<Index>,
    journal: Option<Mutex<Journal>>,
    capacity: usize,
    /// Bumped on every change so delivery tasks and waiting producers wake.
    changed: watch::Sender<u64>,
    /// Test hook: make recording a delivery fail as a crash would.
    crash_before_recording: AtomicBool,
}

impl Outbox {
    /// An outbox in memory only (live mode persists it in its checkpoints).
    pub fn in_memory() -> Outbox {
        Outbox {
            index: Mutex::new(Index::default()),
            journal: None,
            capacity: DEFAULT_CAPACITY,
            changed: watch::channel(0).0,
            crash_before_recording: AtomicBool::new(false),
        }
    }

    /// An outbox journaled to `path`, with what the journal says is still
    /// pending (and parked) from an earlier run.
    pub fn open_file(path: &Path) -> Result<Outbox, NotifyError> {
        let (journal, records) = Journal::open(path)?;
        let outbox = Outbox {
            journal: Some(Mutex::new(journal)),
            ..Outbox::in_memory()
        };
        {
            let mut index = outbox.index.lock().expect("outbox lock");
            for record in records {
                apply(&mut index, record);
            }
        }
        outbox.rewrite_journal()?;
        Ok(outbox)
    }

    pub fn with_capacity(mut self, capacity: usize) -> Outbox {
        self.capacity = capacity.max(1);
        self
    }

    /// Adds a message for every notifier it names; durable (with a journal)
    /// when this returns. A message whose id is already pending only gains
    /// notifiers, so a replay after a restart does not send twice.
    pub fn enqueue(&self, message: Outgoing) -> Result<(), NotifyError> {
        let targets: BTreeSet<String> = message.notify().iter().cloned().collect();
        self.enqueue_to(message, targets.into_iter().collect())
    }

    /// Adds a message for the given notifiers (a checkpoint's `remaining`).
    pub fn enqueue_to(&self, message: Outgoing, notifiers: Vec<String>) -> Result<(), NotifyError> {
        if notifiers.is_empty() {
            return Ok(());
        }
        let mut index = self.index.lock().expect("outbox lock");
        let existing = index.by_id.contains_key(message.id());
        if !existing && index.entries.len() >= self.capacity {
            return Err(NotifyError::OutboxFull(self.capacity));
        }
        let record = Record::Add {
            remaining: notifiers,
            entry: message,
        };
        if let Some(journal) = &self.journal {
            journal.lock().expect("journal lock").append(&record)?;
        }
        apply(&mut index, record);
        drop(index);
        self.changed.send_modify(|generation| *generation += 1);
        Ok(())
    }

    /// Records that `notifier` accepted message `id`.
    pub fn mark_delivered(&self, id: &str, notifier: &str) -> Result<(), NotifyError> {
        if self.crash_before_recording.load(Ordering::Relaxed) {
            return Err(NotifyError::Journal {
                path: "(simulated crash)".into(),
                problem: "crashed before recording the delivery".into(),
            });
        }
        self.record(Record::Delivered {
            id: id.to_string(),
            notifier: notifier.to_string(),
        })
    }

    /// Records that `notifier` refused message `id` for good.
    pub fn park(&self, id: &str, notifier: &str, error: &str) -> Result<(), NotifyError> {
        self.record(Record::Parked {
            id: id.to_string(),
            notifier: notifier.to_string(),
            error: error.to_string(),
        })
    }

    fn record(&self, record: Record) -> Result<(), NotifyError> {
        let mut index = self.index.lock().expect("outbox lock");
        if let Some(journal) = &self.journal {
            journal.lock().expect("journal lock").append(&record)?;
        }
        apply(&mut index, record);
        let rewrite = self.journal.as_ref().is_some_and(|journal| {
            journal.lock().expect("journal lock").lines() > index.entries.len() + REWRITE_AFTER
        });
        drop(index);
        self.changed.send_modify(|generation| *generation += 1);
        if rewrite {
            self.rewrite_journal()?;
        }
        Ok(())
    }

    /// Everything not yet accepted, oldest first: what a checkpoint stores.
    pub fn pending(&self) -> Vec<PendingDelivery> {
        let index = self.index.lock().expect("outbox lock");
        index
            .entries
            .values()
            .map(|(message, remaining)| PendingDelivery {
                message: Outgoing::clone(message),
                remaining: remaining.iter().cloned().collect(),
            })
            .collect()
    }

    /// Puts a checkpoint's pending set back (live mode after a restart).
    pub fn restore(&self, pending: Vec<PendingDelivery>) -> Result<(), NotifyError> {
        for delivery in pending {
            self.enqueue_to(delivery.message, delivery.remaining)?;
        }
        Ok(())
    }

    pub fn pending_count(&self) -> usize {
        self.index.lock().expect("outbox lock").entries.len()
    }

    /// Pending messages for `notifier`, oldest first, at most `limit`.
    pub fn next_for(&self, notifier: &str, limit: usize) -> Vec<Arc<Outgoing>> {
        let index = self.index.lock().expect("outbox lock");
        index
            .entries
            .values()
            .filter(|(_, remaining)| remaining.contains(notifier))
            .take(limit)
            .map(|(message, _)| Arc::clone(message))
            .collect()
    }

    /// The most recent refused deliveries, oldest first.
    pub fn parked(&self) -> Vec<ParkedDelivery> {
        let index = self.index.lock().expect("outbox lock");
        index.parked.iter().cloned().collect()
    }

    /// A receiver of change notifications (delivery tasks wait on it).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Test hook: every later `mark_delivered` fails as if the process died
    /// between the receiver's 2xx and the journal write.
    pub fn simulate_crash_before_recording(&self) {
        self.crash_before_recording.store(true, Ordering::Relaxed);
    }

    fn rewrite_journal(&self) -> Result<(), NotifyError> {
        let Some(journal) = &self.journal else {
            return Ok(());
        };
        let records: Vec<Record> = self
            .pending()
            .into_iter()
            .map(|delivery| Record::Add {
                remaining: delivery.remaining,
                entry: delivery.message,
            })
            .collect();
        journal.lock().expect("journal lock").rewrite(&records)
    }
}

fn apply(index: &mut Index, record: Record) {
    match record {
        Record::Add { remaining, entry } => match index.by_id.get(entry.id()).copied() {
            Some(sequence) => {
                let (_, targets) = index.entries.get_mut(&sequence).expect("found above");
                targets.extend(remaining);
            }
            None => {
                let sequence = index.next;
                index.next += 1;
                let targets = remaining.into_iter().collect();
                index.by_id.insert(entry.id().to_string(), sequence);
                index.entries.insert(sequence, (Arc::new(entry), targets));
            }
        },
        Record::Delivered { id, notifier } => settle(index, &id, &notifier),
        Record::Parked {
            id,
            notifier,
            error,
        } => {
            settle(index, &id, &notifier);
            if index.parked.len() >= PARKED_KEPT {
                index.parked.pop_front();
            }
            let parked_at = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |since| since.as_secs());
            index.parked.push_back(ParkedDelivery {
                id,
                notifier,
                error,
                parked_at,
            });
        }
    }
}

fn settle(index: &mut Index, id: &str, notifier: &str) {
    let Some(sequence) = index.by_id.get(id).copied() else {
        return;
    };
    let Some((_, remaining)) = index.entries.get_mut(&sequence) else {
        return;
    };
    remaining.remove(notifier);
    if remaining.is_empty() {
        index.entries.remove(&sequence);
        index.by_id.remove(id);
    }
}
