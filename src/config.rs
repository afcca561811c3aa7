//! The configuration: TOML topology and settings.
//!
//! Keys are a contract (DESIGN.md "Configuration"): runbooks depend on them. This module
//! parses and validates; it never touches the network.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::alb::SwitchMode;
use crate::model::quorum::NodeRole;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Seconds between ECS/ELB polls.
    #[serde(default = "default_refresh_secs")]
    pub refresh_secs: u64,
    /// Seconds between Quorum RPC polls.
    #[serde(default = "default_rpc_poll_secs")]
    pub rpc_poll_secs: u64,
    /// Theme name (built-in or a file in the config folder's `themes/`).
    #[serde(default = "default_theme")]
    pub theme: String,
    /// Lines kept in the log view.
    #[serde(default = "default_log_buffer_lines")]
    pub log_buffer_lines: usize,
    /// Where the audit log is written (default: the XDG data folder).
    #[serde(default)]
    pub audit_log: Option<PathBuf>,
    /// Environments, in tab order.
    #[serde(default)]
    pub environments: Vec<Environment>,
}

/// One environment (an AWS account and region, or part of one).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Name, e.g. `production`.
    pub name: String,
    /// AWS region.
    #[serde(default = "default_region")]
    pub region: String,
    /// AWS profile; the standard credential chain when absent.
    #[serde(default)]
    pub aws_profile: Option<String>,
    /// Endpoint URL override (local endpoints, tests).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Production look and typed confirmations.
    #[serde(default)]
    pub danger: bool,
    /// Refuse mutations unless started with `--write`. Defaults to `danger`.
    #[serde(default)]
    pub read_only: Option<bool>,
    /// Clusters, in display order.
    #[serde(default)]
    pub clusters: Vec<Cluster>,
}

impl Environment {
    /// Whether the environment refuses mutations without `--write`.
    pub fn is_read_only(&self) -> bool {
        self.read_only.unwrap_or(self.danger)
    }
}

/// One ECS cluster and the Quorum nodes and ALB switch that belong to it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// Display name, e.g. `node-api`.
    pub name: String,
    /// ECS cluster name.
    pub ecs_cluster: String,
    /// Quorum nodes of this cluster.
    #[serde(default)]
    pub quorum_nodes: Vec<QuorumNode>,
    /// The internal ALB switch between the general nodes.
    #[serde(default)]
    pub alb_switch: Option<AlbSwitch>,
    /// Log group per service, overriding discovery from task definitions.
    #[serde(default)]
    pub log_groups: BTreeMap<String, String>,
}

/// One Quorum node.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuorumNode {
    /// Name, e.g. `general-1`.
    pub name: String,
    /// JSON-RPC URL.
    pub rpc_url: String,
    /// `general` or `validator`.
    #[serde(default)]
    pub role: NodeRole,
    /// The ECS service that runs it (for restart guards).
    #[serde(default)]
    pub service: Option<String>,
}

/// The internal ALB switch between the general nodes, and its sync gate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlbSwitch {
    /// `listener` or `targets`.
    #[serde(default)]
    pub mode: SwitchMode,
    /// Listener whose default forward action is switched (listener mode).
    #[serde(default)]
    pub listener_arn: Option<String>,
    /// Rule whose forward action is switched (listener mode, instead of the listener).
    #[serde(default)]
    pub rule_arn: Option<String>,
    /// The target group (targets mode).
    #[serde(default)]
    pub target_group_arn: Option<String>,
    /// Node name → target group ARN (listener) or `IP:PORT` / `i-...:PORT` (targets).
    pub nodes: BTreeMap<String, String>,
    /// Gate: the candidate may be at most this many blocks behind the active node.
    #[serde(default)]
    pub max_lag_blocks: u64,
    /// Gate: the candidate's head may be at most this old.
    #[serde(default = "default_max_head_age_secs")]
    pub max_head_age_secs: u64,
    /// Gate: every check must pass this many polls in a row.
    #[serde(default = "default_consecutive_polls")]
    pub consecutive_polls: u32,
    /// Gate: the candidate needs at least this many peers.
    #[serde(default = "default_min_peers")]
    pub min_peers: u64,
}

fn default_refresh_secs() -> u64 {
    5
}
fn default_rpc_poll_secs() -> u64 {
    1
}
fn default_theme() -> String {
    "default".into()
}
fn default_log_buffer_lines() -> usize {
    100_000
}
fn default_region() -> String {
    "ap-northeast-1".into()
}
fn default_max_head_age_secs() -> u64 {
    15
}
fn default_consecutive_polls() -> u32 {
    3
}
fn default_min_peers() -> u64 {
    1
}

/// One problem in a config file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.col,
            self.message
        )
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file has problems.
    #[error("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// Every problem found.
        problems: Vec<ConfigProblem>,
    },
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates config text; `path` is used in messages only.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str::<Self>(text).map_err(|e| {
            let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            ConfigError::Invalid {
                problems: vec![ConfigProblem {
                    path: path.to_path_buf(),
                    line,
                    col,
                    message: e.message().to_string(),
                }],
            }
        })
    }

    /// The environment called `name`.
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }
}

/// 1-based line and column (in characters) of byte offset `at` in `text`.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit_once('\n')
        .map_or(before, |(_, l)| l)
        .chars()
        .count()
        + 1;
    (line, col)
}
