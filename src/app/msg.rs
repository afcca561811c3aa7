//! Messages: everything that can change the state.
//!
//! Keys, ticks and backend results all arrive as a [`Msg`]; [`super::update`] is the only
//! place that applies them.

use std::path::PathBuf;

use crossterm::event::KeyEvent;

use super::logview::LogsMsg;

use crate::backend::BackendError;
use crate::clock::EpochMs;
use crate::logs::LogTarget;
use crate::model::ecs::TaskDefinition;
use crate::ops::exec::{ExecCommand, SessionEnd};
use crate::ops::gate::{GatePair, GatePoll};
use crate::ops::{Approval, Op, OpReport, Plan};
pub use crate::world::{ClusterAddr, Observation, Poller};

/// A change to the state.
#[derive(Debug)]
pub enum Msg {
    /// A key was pressed.
    Key(KeyEvent),
    /// The terminal was resized.
    Resize,
    /// The age tick (at most once a second).
    Tick(EpochMs),
    /// Something the pollers saw, for the world.
    Observed(Observation),
    /// A plan for the open dialog is ready.
    PlanReady(Box<Plan>),
    /// A poll of the open dialog's sync gate.
    GatePoll(Box<GatePoll>),
    /// An op finished.
    OpDone(Box<OpReport>),
    /// An exec session is audited and waits for the terminal: the event loop hands it
    /// over, runs the command, takes the terminal back and replies how it ended.
    Session(Box<SessionRequest>),
    /// Something for the open log view: its tail started, an event of the tail, a save.
    Logs(LogsMsg),
    /// The revisions of a service's task-definition family were read (release picker).
    Revisions {
        /// Which cluster.
        at: ClusterAddr,
        /// The service.
        service: String,
        /// The revisions, newest first, or the error.
        result: Result<Vec<TaskDefinition>, BackendError>,
    },
}

/// A session's command and where to send how it ended.
#[derive(Debug)]
pub struct SessionRequest {
    /// What the session is, for the line shown while it runs (the op's title).
    pub what: String,
    /// The command line to run.
    pub command: ExecCommand,
    /// Gets how it ended.
    pub reply: tokio::sync::oneshot::Sender<SessionEnd>,
}

/// What `update` asks the event loop to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Leave the console.
    Quit,
    /// Poll everything now.
    RefreshNow,
    /// Clear the terminal and draw the whole frame again (something else wrote to it).
    Repaint,
    /// Plan an op (reads the state it depends on); the plan comes back as
    /// [`Msg::PlanReady`].
    PlanOp {
        /// Environment index.
        env: usize,
        /// The op.
        op: Op,
    },
    /// Execute a confirmed plan; the report comes back as [`Msg::OpDone`].
    ExecuteOp {
        /// Environment index.
        env: usize,
        /// The plan.
        plan: Box<Plan>,
        /// The operator's approval.
        approval: Approval,
    },
    /// Poll the sync gate of the open dialog (or stop polling with `None`).
    GatePolling(Option<(usize, GatePair)>),
    /// Follow the logs of `target` in cluster `cluster` of environment `env` (the log
    /// view is open and waits for its tail).
    OpenLogs {
        /// Environment index.
        env: usize,
        /// Cluster index within the environment.
        cluster: usize,
        /// What to follow.
        target: LogTarget,
    },
    /// Restart the log view's tail with this server-side filter pattern.
    RestartLogs {
        /// The CloudWatch filter pattern (`None`: none).
        filter: Option<String>,
    },
    /// Save the log view's lines to this file.
    SaveLogs(PathBuf),
    /// The log view closed: stop its tail.
    CloseLogs,
    /// Read the task-definition revisions of `service`, which runs `current`, for the
    /// release picker; they come back as [`Msg::Revisions`].
    LoadRevisions {
        /// Which cluster.
        at: ClusterAddr,
        /// The service.
        service: String,
        /// The task definition it runs (ARN).
        current: String,
    },
}
