//! What reaches the engine thread from outside while it runs: config
//! reloads (admin API and SIGHUP) and requests to make an operator's change
//! durable now; and the delivery tasks, which a reload restarts with the
//! new notifiers.

use std::path::PathBuf;
use std::sync::mpsc as blocking;
use std::sync::Arc;

use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use tripgate_alerter::notify::{DispatchHandle, Dispatcher, Outbox, Outgoing};
use tripgate_model::config::Config;

use crate::admin::reload::{self, ReloadReport};
use crate::admin::{Admin, PersistRequest, ReloadRequest};
use crate::engine::Engine;

/// Whether two config tables say the same (as their serialized form).
fn same<T: serde::Serialize>(a: &T, b: &T) -> bool {
    serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
}

/// A reload's reply, if someone waits for it.
type ReloadReply = oneshot::Sender<Result<ReloadReport, String>>;

pub struct Control {
    /// The files `tripgate run --config` named, read again on reload.
    pub config_files: Vec<PathBuf>,
    pub reloads: mpsc::Receiver<ReloadRequest>,
    pub persist: blocking::Receiver<PersistRequest>,
    pub outbox: Arc<Outbox>,
    /// The running delivery tasks; `None` once stopped.
    pub delivery: Option<DispatchHandle>,
    pub runtime: Handle,
}

impl Control {
    pub fn take_reload_request(&mut self) -> Option<(String, Option<ReloadReply>)> {
        self.reloads
            .try_recv()
            .ok()
            .map(|request| (request.who, Some(request.reply)))
    }

    /// Every request to checkpoint now that arrived since the last call.
    pub fn take_persist_requests(&mut self) -> Vec<PersistRequest> {
        self.persist.try_iter().collect()
    }

    /// Loads the config files again and applies them: rules and gates in
    /// place (breakers of unchanged rules keep their state), notifiers by
    /// restarting the delivery tasks. Returns the new config, the report
    /// and the messages to queue (releases of actions whose rule changed).
    pub fn reload(
        &mut self,
        admin: &Admin,
        engine: &mut Engine,
        old: &Config,
    ) -> Result<(Config, ReloadReport, Vec<Outgoing>), String> {
        let mut new = Config::load(&self.config_files).map_err(|error| format!("{error:#}"))?;
        if !same(&new.kafka, &old.kafka) {
            return Err("the [kafka] settings changed; restart to apply them".into());
        }
        if !same(&new.server, &old.server) {
            return Err("the [server] settings changed; restart to apply them".into());
        }
        // Built before anything changes: an invalid notifier rejects the reload.
        let dispatcher =
            Dispatcher::from_config(&new.notifiers).map_err(|error| error.to_string())?;
        if new.admin.token.is_none() {
            new.admin.token = old.admin.token.clone();
        }
        let (report, released) = reload::apply(admin, engine, old, &new)?;
        reload::park_orphans(admin, &new);
        admin.set_stats(dispatcher.stats());
        if let Some(running) = self.delivery.take() {
            self.runtime.block_on(running.stop());
        }
        let _entered = self.runtime.enter();
        self.delivery = Some(dispatcher.start(self.outbox.clone()));
        Ok((new, report, released))
    }

    /// Stops the delivery tasks (an attempt in flight finishes); what is
    /// undelivered is in the last checkpoint.
    pub fn stop_delivery(&mut self) {
        if let Some(running) = self.delivery.take() {
            self.runtime.block_on(running.stop());
        }
    }
}
