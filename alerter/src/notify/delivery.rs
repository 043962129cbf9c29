//! One receiver's delivery task: reads its messages from the outbox, oldest
//! first, and delivers each until the receiver accepts it.
//!
//! Retryable failures (5xx, 408, 429, timeouts, connection errors) are
//! retried forever with capped exponential backoff and jitter, never before a
//! `Retry-After`; a message stays in the outbox meanwhile, so nothing is lost
//! and nothing else waits. Other 4xx park the message (kept for operators);
//! 410 also disables the endpoint until the config is reloaded. Slack gets at
//! most one post per `min_interval`, and whatever accumulated during the
//! wait goes out as one digest.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::slack_digest::DIGEST_MAX;
use super::{DeliveryStats, Notifier, NotifyError, Outbox, Outgoing};

/// Where the dispatcher is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Running,
    /// No more input: finish what is pending, then stop.
    Draining,
    /// Stop now; pending messages stay in the outbox.
    Stopped,
}

pub(crate) struct Task {
    pub notifier: Notifier,
    pub outbox: Arc<Outbox>,
    pub stats: Arc<DeliveryStats>,
    pub phase: watch::Receiver<Phase>,
    /// Slack's pace: the least time between two posts to one webhook.
    pub min_interval: Duration,
}

enum Attempted {
    Accepted(Vec<Arc<Outgoing>>),
    Refused(Vec<Arc<Outgoing>>, NotifyError),
    Stopped,
}

impl Task {
    pub(crate) async fn run(mut self) {
        let name = self.notifier.name().to_string();
        let mut changes = self.outbox.subscribe();
        let mut last_post: Option<Instant> = None;
        let mut disabled: Option<String> = None;
        loop {
            if *self.phase.borrow() == Phase::Stopped {
                break;
            }
            changes.borrow_and_update();
            let mut batch = self.outbox.next_for(&name, 1);
            if batch.is_empty() {
                if *self.phase.borrow() == Phase::Draining {
                    break;
                }
                tokio::select! {
                    _ = changes.changed() => {}
                    _ = self.phase.changed() => {}
                }
                continue;
            }
            if let Some(reason) = &disabled {
                let reason = reason.clone();
                self.stats.add_failed(&name, batch.len() as u64);
                if !self.settle(&batch, Some(&reason)).await {
                    break;
                }
                continue;
            }
            if self.notifier.is_slack() && !batch[0].for_people() {
                // Lease renewals keep machines in step; in chat they are noise.
                if !self.settle(&batch, None).await {
                    break;
                }
                continue;
            }
            batch.truncate(1);
            match self.attempt_until_answered(&mut last_post).await {
                Attempted::Stopped => break,
                Attempted::Accepted(sent) => {
                    self.stats.add_delivered(&name, sent.len() as u64);
                    if !self.settle(&sent, None).await {
                        break;
                    }
                }
                Attempted::Refused(sent, error) => {
                    self.stats.add_failed(&name, sent.len() as u64);
                    let text = error.to_string();
                    tracing::error!(notifier = %name, kind = self.notifier.kind(), id = %sent[0].id(), error = %text, "receiver refused the message for good; parked");
                    if matches!(error, NotifyError::Status { status: 410, .. }) {
                        tracing::error!(notifier = %name, "receiver answered 410 gone; endpoint disabled until reload");
                        self.stats.disable(&name);
                        disabled = Some(format!("endpoint disabled after 410: {text}"));
                    }
                    if !self.settle(&sent, Some(&text)).await {
                        break;
                    }
                }
            }
        }
        tracing::debug!(notifier = %name, "delivery task stopped");
    }

    /// Posts the head of this receiver's messages (for Slack, everything
    /// pending up to a digest's size) until the receiver answers for good.
    async fn attempt_until_answered(&mut self, last_post: &mut Option<Instant>) -> Attempted {
        let name = self.notifier.name().to_string();
        let slack = self.notifier.is_slack();
        let mut retry = 0u32;
        loop {
            if slack {
                if let Some(last) = *last_post {
                    if !self.wait_until(last + self.min_interval).await {
                        return Attempted::Stopped;
                    }
                }
            }
            let limit = if slack { DIGEST_MAX } else { 1 };
            let batch: Vec<Arc<Outgoing>> = self
                .outbox
                .next_for(&name, limit)
                .into_iter()
                .filter(|message| !slack || message.for_people())
                .collect();
            if batch.is_empty() {
                // Only routine messages were left; the main loop settles them.
                return Attempted::Accepted(batch);
            }
            let body = match self.notifier.batch_body(&batch) {
                Ok(body) => body,
                Err(error) => return Attempted::Refused(batch, error),
            };
            *last_post = Some(Instant::now());
            let error = match self.notifier.post(batch[0].id(), &body).await {
                Ok(()) => {
                    tracing::info!(notifier = %name, kind = self.notifier.kind(), id = %batch[0].id(), messages = batch.len(), "delivered");
                    return Attempted::Accepted(batch);
                }
                Err(error) => error,
            };
            if !error.is_retryable() {
                return Attempted::Refused(batch, error);
            }
            retry = retry.saturating_add(1);
            self.stats.add_retry(&name);
            let delay = self.notifier.retry_policy().delay(
                retry,
                error.retry_after(),
                rand::random::<f64>(),
            );
            tracing::warn!(notifier = %name, id = %batch[0].id(), retry, delay_ms = delay.as_millis() as u64, error = %error, "delivery attempt failed; retrying until accepted");
            if !self.wait_until(Instant::now() + delay).await {
                return Attempted::Stopped;
            }
        }
    }

    /// Sleeps until `deadline`; false if told to stop meanwhile.
    async fn wait_until(&mut self, deadline: Instant) -> bool {
        loop {
            if *self.phase.borrow() == Phase::Stopped {
                return false;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return true,
                changed = self.phase.changed() => {
                    if changed.is_err() {
                        return false;
                    }
                }
            }
        }
    }

    /// Records the receiver's answer for each message (delivered, or parked
    /// with `refused`). The journal write may block, so it runs off the
    /// async threads. False if it could not be recorded: the task stops, as
    /// a crashed process would, and the messages stay pending.
    async fn settle(&self, batch: &[Arc<Outgoing>], refused: Option<&str>) -> bool {
        let outbox = Arc::clone(&self.outbox);
        let name = self.notifier.name().to_string();
        let ids: Vec<String> = batch.iter().map(|m| m.id().to_string()).collect();
        let refused = refused.map(str::to_string);
        let recorded = tokio::task::spawn_blocking(move || {
            ids.iter().try_for_each(|id| match &refused {
                None => outbox.mark_delivered(id, &name),
                Some(error) => outbox.park(id, &name, error),
            })
        })
        .await;
        match recorded {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                tracing::error!(notifier = %self.notifier.name(), error = %error, "cannot record a delivery; delivery task stops");
                false
            }
            Err(error) => {
                tracing::error!(notifier = %self.notifier.name(), error = %error, "recording a delivery panicked");
                false
            }
        }
    }
}
