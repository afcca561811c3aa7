//! The tail behind the log view: discovery on the cluster's current snapshot, a [`Tail`]
//! on the environment's [`LogsApi`](crate::backend::LogsApi) under the app's one shared
//! [`RequestBudget`], and a task that forwards its events into the event loop as
//! [`Msg::Logs`].
//!
//! The event loop owns one [`LogTails`] and calls it for the log effects; it hands back
//! the messages to apply. At most one tail runs: opening another, restarting, closing or
//! dropping stops the previous one. Every tail has a number, and the view drops events of
//! any other number, so lines of a stopped tail still queued are never shown. Nothing
//! here draws or decides what a key means.

use std::path::Path;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::logview::LogsMsg;
use super::msg::{ClusterAddr, Msg};
use super::state::{Screen, State};
use crate::backend::EnvBackends;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::logs::{LogSource, LogTarget, RequestBudget, Tail, TailConfig, discover, merge_sources};
use crate::world::World;

/// How many tail events may wait for the event loop before the tail waits.
const EVENT_QUEUE: usize = 16;

/// The log tails of the app: the shared request budget and the running tail.
#[derive(Debug)]
pub struct LogTails {
    config: Config,
    backends: Vec<EnvBackends>,
    budget: Arc<RequestBudget>,
    clock: SharedClock,
    tx: mpsc::Sender<Msg>,
    next_id: u64,
    running: Option<RunningTail>,
}

/// One running tail; dropping it stops it.
#[derive(Debug)]
struct RunningTail {
    id: u64,
    at: ClusterAddr,
    target: LogTarget,
    sources: Vec<LogSource>,
    sources_tx: watch::Sender<Vec<LogSource>>,
    task: JoinHandle<()>,
}

impl Drop for RunningTail {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LogTails {
    /// No tail yet. Tails will read through `backends` (one bundle per environment of
    /// `config`), share one default [`RequestBudget`], and send their events on `tx`.
    pub fn new(
        config: &Config,
        backends: &[EnvBackends],
        clock: SharedClock,
        tx: mpsc::Sender<Msg>,
    ) -> Self {
        Self {
            config: config.clone(),
            backends: backends.to_vec(),
            budget: Arc::new(RequestBudget::default()),
            clock,
            tx,
            next_id: 0,
            running: None,
        }
    }

    /// Whether a tail runs.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Stops the running tail, if any.
    pub fn close(&mut self) {
        self.running = None;
    }

    /// Starts following `target` of cluster `at` (stopping any other tail) and returns
    /// the [`LogsMsg::Started`] to apply: the number of streams, or why there are none.
    pub fn open(
        &mut self,
        world: &World,
        at: ClusterAddr,
        target: LogTarget,
        filter: Option<String>,
    ) -> Msg {
        self.running = None;
        self.next_id += 1;
        let id = self.next_id;
        let since = TailConfig::default().since;
        let found = sources_for(world, &self.config, at, &target, self.clock.now_ms(), since);
        let result = match (found, self.backends.get(at.env)) {
            (Ok(sources), Some(backend)) => {
                let count = sources.len();
                let tail = Tail::new(Arc::clone(&backend.logs), Arc::clone(&self.clock))
                    .with_budget(Arc::clone(&self.budget))
                    .with_config(TailConfig {
                        filter_pattern: filter,
                        live: self.config.logs.follow.is_live(),
                        ..TailConfig::default()
                    });
                let (sources_tx, sources_rx) = watch::channel(sources.clone());
                let task = tokio::spawn(forward(tail, sources_rx, id, self.tx.clone()));
                self.running = Some(RunningTail {
                    id,
                    at,
                    target,
                    sources,
                    sources_tx,
                    task,
                });
                Ok(count)
            }
            (Ok(_), None) => Err("no backend for this environment".to_string()),
            (Err(e), _) => Err(e),
        };
        Msg::Logs(LogsMsg::Started { tail: id, result })
    }

    /// Restarts the running tail's target with a new filter pattern.
    pub fn restart(&mut self, world: &World, filter: Option<String>) -> Option<Msg> {
        let running = self.running.take()?;
        let (at, target) = (running.at, running.target.clone());
        drop(running);
        Some(self.open(world, at, target, filter))
    }

    /// After a new ECS snapshot of cluster `at`: follows the streams of tasks that came
    /// and keeps those that went (their last lines stay readable), and returns the new
    /// stream count when it changed. Streams already followed keep their position.
    pub fn on_snapshot(&mut self, world: &World, at: ClusterAddr) -> Option<Msg> {
        let running = self.running.as_mut()?;
        if running.at != at
            || !matches!(
                running.target,
                LogTarget::Service(_) | LogTarget::ServiceContainer { .. }
            )
        {
            return None;
        }
        let since = TailConfig::default().since;
        let found = sources_for(
            world,
            &self.config,
            at,
            &running.target,
            self.clock.now_ms(),
            since,
        )
        .ok()?;
        if !merge_sources(&mut running.sources, found) {
            return None;
        }
        let count = running.sources.len();
        running.sources_tx.send_replace(running.sources.clone());
        Some(Msg::Logs(LogsMsg::Sources {
            tail: running.id,
            count,
        }))
    }
}

/// Runs `tail` and forwards its events as [`Msg::Logs`] until either side stops.
async fn forward(
    tail: Tail,
    sources: watch::Receiver<Vec<LogSource>>,
    id: u64,
    tx: mpsc::Sender<Msg>,
) {
    let (events_tx, mut events_rx) = mpsc::channel(EVENT_QUEUE);
    let engine = tail.run(sources, events_tx);
    let forwarder = async move {
        while let Some(event) = events_rx.recv().await {
            if tx
                .send(Msg::Logs(LogsMsg::Tail { tail: id, event }))
                .await
                .is_err()
            {
                return;
            }
        }
    };
    // When the forwarder stops, the engine's next send fails and it stops too.
    tokio::join!(engine, forwarder);
}

/// The log sources of `target` in cluster `at`, from the world's last ECS snapshot of it
/// and the cluster's `log_groups` overrides; stopped tasks count when they stopped within
/// `since` of `now`. The error is a sentence for the operator.
pub fn sources_for(
    world: &World,
    config: &Config,
    at: ClusterAddr,
    target: &LogTarget,
    now: crate::clock::EpochMs,
    since: std::time::Duration,
) -> Result<Vec<LogSource>, String> {
    let snapshot = world
        .cluster(at)
        .and_then(|c| c.ecs.data.as_ref())
        .ok_or_else(|| "no ECS data for the cluster yet; try again in a moment".to_string())?;
    let overrides = config
        .environments
        .get(at.env)
        .and_then(|e| e.clusters.get(at.cluster))
        .map(|c| c.log_groups.clone())
        .unwrap_or_default();
    let stopped_since = now - i64::try_from(since.as_millis()).unwrap_or(i64::MAX);
    discover(
        snapshot,
        std::slice::from_ref(target),
        &overrides,
        stopped_since,
    )
    .map_err(|e| e.to_string())
}

/// Saves the open log view's lines to `path` off the event loop: the lines are copied
/// here (their raw text), written by a blocking task, and the [`LogsMsg::Saved`] comes
/// back on `tx`. Nothing happens when no log view is open.
pub fn save(state: &State, path: &Path, tx: &mpsc::Sender<Msg>) {
    let Screen::Logs { view, .. } = &state.screen else {
        return;
    };
    let save = view.saver(path);
    let tx = tx.clone();
    tokio::spawn(async move {
        let saved = tokio::task::spawn_blocking(move || save.write())
            .await
            .unwrap_or_else(|e| LogsMsg::Saved(Err(format!("the save stopped: {e}"))));
        let _ = tx.send(Msg::Logs(saved)).await;
    });
}
