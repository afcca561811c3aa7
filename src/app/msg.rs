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
use crate::model::alb::SwitchView;
use crate::model::ecs::ClusterSnapshot;
use crate::model::quorum::NodeSample;

/// Where a poll result belongs: environment and cluster indexes into the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClusterAddr {
    /// Environment index.
    pub env: usize,
    /// Cluster index within the environment.
    pub cluster: usize,
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
    /// A Quorum node poll finished.
    Node {
        /// Which cluster.
        at: ClusterAddr,
        /// Node index within the cluster's `quorum_nodes`.
        node: usize,
        /// What the poll saw.
        sample: Box<NodeSample>,
    },
    /// An ALB switch poll finished.
    Switch {
        /// Which cluster.
        at: ClusterAddr,
        /// The view or the error.
        result: Result<SwitchView, BackendError>,
        /// When it finished.
        when: EpochMs,
    },
    /// Something for the open log view: its tail started, an event of the tail, a save.
    Logs(LogsMsg),
}

/// What `update` asks the event loop to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Leave the console.
    Quit,
    /// Poll everything now.
    RefreshNow,
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
}
