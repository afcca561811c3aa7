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
use crate::model::alb::{PathTopology, SwitchView};
use crate::model::ecs::{ClusterSnapshot, TaskDefinition};
use crate::model::quorum::NodeSample;
use crate::ops::gate::{GatePair, GatePoll};
use crate::ops::{Approval, Op, OpReport, Plan};

/// Where a poll result belongs: environment and cluster indexes into the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClusterAddr {
    /// Environment index.
    pub env: usize,
    /// Cluster index within the environment.
    pub cluster: usize,
}

/// Which of a cluster's pollers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poller {
    /// ECS, and the request path after it.
    Cluster,
    /// The ALB switch.
    Switch,
    /// A Quorum node (index within the cluster's `quorum_nodes`).
    Node(usize),
}

/// A change to the state.
#[derive(Debug)]
pub enum Msg {
    /// A key was pressed.
    Key(KeyEvent),
    /// The terminal was resized.
    Resize,
    /// The age tick (at most once a second).
    Tick(EpochMs),
    /// An ECS poll finished.
    Ecs {
        /// Which cluster.
        at: ClusterAddr,
        /// The snapshot or the error.
        result: Result<ClusterSnapshot, BackendError>,
        /// When it finished.
        when: EpochMs,
    },
    /// A poller now pauses longer than its rhythm (its reads keep repeating), or no
    /// longer does.
    Pace {
        /// Which cluster.
        at: ClusterAddr,
        /// Which of its pollers.
        poller: Poller,
        /// How much longer than its rhythm it pauses (ms); 0: its rhythm.
        slowed_ms: i64,
    },
    /// A Quorum node poll finished.
    Node {
        /// Which cluster.
        at: ClusterAddr,
        /// Node index within the cluster's `quorum_nodes`.
        node: usize,
        /// What the poll saw.
        sample: Box<NodeSample>,
    },
    /// A plan for the open dialog is ready.
    PlanReady(Box<Plan>),
    /// A poll of the open dialog's sync gate.
    GatePoll(Box<GatePoll>),
    /// An op finished.
    OpDone(Box<OpReport>),
    /// The latest actions from the audit log, newest first.
    RecentActions(Vec<crate::ops::audit::AuditEntry>),
    /// An ALB switch poll finished.
    Switch {
        /// Which cluster.
        at: ClusterAddr,
        /// The view or the error.
        result: Result<SwitchView, BackendError>,
        /// When it finished.
        when: EpochMs,
    },
    /// A request-path discovery (load balancers, target health) finished.
    Paths {
        /// Which cluster.
        at: ClusterAddr,
        /// The topology or the error.
        result: Result<PathTopology, BackendError>,
        /// When it finished.
        when: EpochMs,
    },
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
