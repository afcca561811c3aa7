//! The configuration: TOML topology and settings.
//!
//! Keys are a contract (DESIGN.md "Configuration"): runbooks depend on them. The structs
//! here are that contract; [`Config::parse`] checks a file against it and reports every
//! problem with its file, line and column (`validate`), then hands a clean file to
//! serde. `paths` finds the file (`--config`, `IBET_CONSOLE_CONFIG`, the XDG default)
//! and the themes and data folders. This module reads the config file and nothing else:
//! no environment variables (callers pass them in), no network, no writes.
//!
//! `assets/config.example.toml` is a complete, commented example; the fixtures under
//! `tests/valid_configs` and `tests/invalid_configs` pin the messages.

mod paths;
mod suggest;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::alb::SwitchMode;
use crate::model::quorum::NodeRole;
use crate::quorum::QuorumThresholds;

pub use paths::{
    CONFIG_ENV_VAR, ConfigSource, ResolvedPath, config_dir, data_dir, default_config_path,
    resolve_config_path, resolve_config_path_with, themes_dir,
};
pub use suggest::{closest, edit_distance};

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
    /// The longest pause between ECS/ELB polls of a cluster whose reads keep repeating
    /// (never shorter than `refresh_secs`).
    #[serde(default = "default_quiet_refresh_secs")]
    pub quiet_refresh_secs: u64,
    /// The longest pause between polls of a node whose answers keep repeating (never
    /// shorter than `rpc_poll_secs`).
    #[serde(default = "default_quiet_rpc_poll_secs")]
    pub quiet_rpc_poll_secs: u64,
    /// Theme name (built-in or a file in the config folder's `themes/`).
    #[serde(default = "default_theme")]
    pub theme: String,
    /// Lines kept in the log view.
    #[serde(default = "default_log_buffer_lines")]
    pub log_buffer_lines: usize,
    /// The zone times are shown in: `UTC`, `local` (the host's zone, `TZ` first) or an
    /// IANA name such as `Asia/Tokyo`. JSON output and the audit log stay in UTC.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Where the audit log is written (default: the XDG data folder).
    #[serde(default)]
    pub audit_log: Option<PathBuf>,
    /// The Quorum monitor's judgement thresholds (the `[quorum]` table).
    #[serde(default)]
    pub quorum: QuorumThresholds,
    /// When CloudWatch metrics become problems (the `[metrics]` table).
    #[serde(default)]
    pub metrics: crate::model::metrics::MetricThresholds,
    /// How log views and `logs --follow` follow new lines (the `[logs]` table).
    #[serde(default)]
    pub logs: LogsSettings,
    /// Environments, in tab order.
    #[serde(default)]
    pub environments: Vec<Environment>,
}

/// The `[logs]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsSettings {
    /// How new lines come after the backfill.
    #[serde(default)]
    pub follow: FollowBy,
}

/// How a log view follows new lines (`[logs] follow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FollowBy {
    /// One CloudWatch Logs Live Tail session per log group (billed per session minute),
    /// polling where it cannot be used.
    #[default]
    LiveTail,
    /// FilterLogEvents polls (every 0.5 s while lines flow).
    Poll,
}

impl FollowBy {
    /// Whether the tail follows by Live Tail.
    pub fn is_live(self) -> bool {
        self == Self::LiveTail
    }
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
    /// Mask account IDs and IP addresses on screen and in `status` and `logs` (screen
    /// sharing, demos): the whole console is masked while this environment is loaded.
    #[serde(default)]
    pub redact: bool,
    /// The team's shared action lock and audit trail; a host-local lock without it.
    #[serde(default)]
    pub team: Team,
    /// Only the CloudWatch alarms whose names start with this are read (all without it).
    #[serde(default)]
    pub alarm_prefix: Option<String>,
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

/// What the operators of an environment share through AWS (`[environments.team]`):
/// the action lock's DynamoDB table and the audit trail's log group. Both optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// DynamoDB table with partition key `lock_id` (S); without it, lock files on this
    /// host guard its consoles only.
    #[serde(default)]
    pub lock_table: Option<String>,
    /// CloudWatch Logs group every audit line also goes to.
    #[serde(default)]
    pub audit_log_group: Option<String>,
    /// How long a lock lasts unless renewed (renewed every third of it while an op runs).
    #[serde(default = "default_lease_secs")]
    pub lease_secs: u64,
}

impl Default for Team {
    fn default() -> Self {
        Self {
            lock_table: None,
            audit_log_group: None,
            lease_secs: default_lease_secs(),
        }
    }
}

fn default_lease_secs() -> u64 {
    120
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
    /// The command `exec` runs in a container of a service (ECS service name → command
    /// line); `/bin/sh` for a service not named here or by a Quorum node's `exec_command`.
    #[serde(default)]
    pub exec_commands: BTreeMap<String, String>,
    /// The WAF web ACL in front of the external ALB (its CloudWatch metrics).
    #[serde(default)]
    pub waf_web_acl: Option<String>,
    /// The RDS instances the API uses.
    #[serde(default)]
    pub rds_instances: Vec<String>,
    /// The SQS queues of the cluster (the bank link).
    #[serde(default)]
    pub sqs_queues: Vec<String>,
}

/// The shell `exec` opens when nothing else is configured or asked for.
pub const DEFAULT_EXEC_COMMAND: &str = "/bin/sh";

impl Cluster {
    /// The command `exec` runs in `service`'s containers: the Quorum node's
    /// `exec_command` (the node whose `service` it is), the cluster's `exec_commands`
    /// entry, else [`DEFAULT_EXEC_COMMAND`].
    pub fn exec_command_of(&self, service: &str) -> &str {
        self.quorum_nodes
            .iter()
            .filter(|n| n.service.as_deref() == Some(service))
            .find_map(|n| n.exec_command.as_deref())
            .or_else(|| self.exec_commands.get(service).map(String::as_str))
            .unwrap_or(DEFAULT_EXEC_COMMAND)
    }

    /// The CloudWatch resources of its request path beyond ECS and ELB.
    pub fn path_resources(&self) -> crate::model::metrics::PathResources {
        crate::model::metrics::PathResources {
            waf_web_acl: self.waf_web_acl.clone(),
            rds_instances: self.rds_instances.clone(),
            sqs_queues: self.sqs_queues.clone(),
        }
    }
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
    /// The command `exec` runs in the node's container (`geth attach /data/geth.ipc`);
    /// needs `service`.
    #[serde(default)]
    pub exec_command: Option<String>,
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
fn default_quiet_refresh_secs() -> u64 {
    9
}
fn default_quiet_rpc_poll_secs() -> u64 {
    5
}
fn default_theme() -> String {
    "default".into()
}
fn default_timezone() -> String {
    "local".into()
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

impl ConfigError {
    /// The problems found in the file (none for a read error).
    pub fn problems(&self) -> &[ConfigProblem] {
        match self {
            Self::Read { .. } => &[],
            Self::Invalid { problems } => problems,
        }
    }
}

impl Config {
    /// The zone of [`Config::timezone`]; UTC when the host's local zone cannot be read
    /// (a host without one keeps UTC). A name that is not a zone was refused at load.
    pub fn zone(&self) -> crate::clock::Zone {
        crate::clock::Zone::named(&self.timezone).unwrap_or_default()
    }

    /// Whether output is masked ([`crate::redact`]): an environment loaded has
    /// `redact = true` (`--redact` sets it on every one).
    pub fn redacted(&self) -> bool {
        self.environments.iter().any(|e| e.redact)
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates config text; `path` is used in messages only.
    ///
    /// On failure, [`ConfigError::Invalid`] holds every problem found, in file order.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let problems = validate::problems(text, path);
        if !problems.is_empty() {
            return Err(ConfigError::Invalid { problems });
        }
        // The checks above mirror these structs; should serde still object, say where.
        toml::from_str::<Self>(text).map_err(|e| {
            let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            ConfigError::Invalid {
                problems: vec![ConfigProblem {
                    path: path.to_path_buf(),
                    line,
                    col,
                    message: e.message().trim_end().to_string(),
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
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1; // inside a multi-byte character: count from its start
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.toml"))
    }

    fn messages(text: &str) -> Vec<String> {
        match parse(text) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems().iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn the_exec_command_of_a_service_is_its_nodes_then_the_clusters_then_a_shell() {
        let config = parse(
            r#"
[[environments]]
name = "staging"

[[environments.clusters]]
name = "node-api"
ecs_cluster = "ibet-stg-node-api"

[[environments.clusters.quorum_nodes]]
name = "general-1"
rpc_url = "http://10.1.2.3:8545"
service = "quorum-general-1"
exec_command = "geth attach /data/geth.ipc"

[environments.clusters.exec_commands]
api = "/bin/bash"
"#,
        )
        .expect("valid");
        let cluster = &config.environments[0].clusters[0];
        assert_eq!(
            cluster.exec_command_of("quorum-general-1"),
            "geth attach /data/geth.ipc"
        );
        assert_eq!(cluster.exec_command_of("api"), "/bin/bash");
        assert_eq!(cluster.exec_command_of("nginx-proxy"), DEFAULT_EXEC_COMMAND);
    }

    const MINIMAL: &str = r#"
[[environments]]
name = "staging"

[[environments.clusters]]
name = "node-api"
ecs_cluster = "ibet-stg-node-api"

[[environments.clusters.quorum_nodes]]
name = "general-1"
rpc_url = "http://10.1.2.3:8545"

[[environments.clusters.quorum_nodes]]
name = "general-2"
rpc_url = "http://10.1.2.4:8545"

[environments.clusters.alb_switch]
listener_arn = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:listener/app/int/1/2"

[environments.clusters.alb_switch.nodes]
general-1 = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/quorum-a/1"
general-2 = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/quorum-b/2"
"#;

    #[test]
    fn line_col_is_one_based_and_counts_characters() {
        let text = "ab\ncdé f\n\nx";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 1), (1, 2));
        assert_eq!(line_col(text, 2), (1, 3)); // the newline itself
        assert_eq!(line_col(text, 3), (2, 1));
        // `é` is two bytes, one column: `f` is the fifth character of line 2.
        assert_eq!(line_col(text, text.find('f').expect("f")), (2, 5));
        assert_eq!(line_col(text, text.find('x').expect("x")), (4, 1));
        assert_eq!(line_col(text, 10_000), (4, 2)); // clamped to the end
        assert_eq!(line_col("", 0), (1, 1));
        assert_eq!(line_col("é", 1), (1, 1)); // inside a character: never panics
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let config = parse("").expect("valid config");
        assert_eq!(config.refresh_secs, 5);
        assert_eq!(config.rpc_poll_secs, 1);
        assert_eq!(config.quiet_refresh_secs, 9);
        assert_eq!(config.quiet_rpc_poll_secs, 5);
        assert_eq!(config.theme, "default");
        assert_eq!(config.log_buffer_lines, 100_000);
        assert_eq!(config.audit_log, None);
        assert!(config.environments.is_empty());
    }

    #[test]
    fn minimal_topology_gets_defaults() {
        let config = parse(MINIMAL).expect("valid config");
        let env = config.environment("staging").expect("present");
        assert_eq!(env.region, "ap-northeast-1");
        assert!(!env.danger);
        assert!(!env.is_read_only());
        let cluster = &env.clusters[0];
        assert_eq!(cluster.quorum_nodes[0].role, NodeRole::General);
        let switch = cluster.alb_switch.as_ref().expect("present");
        assert_eq!(switch.mode, SwitchMode::Listener);
        assert_eq!(switch.max_lag_blocks, 0);
        assert_eq!(switch.max_head_age_secs, 15);
        assert_eq!(switch.consecutive_polls, 3);
        assert_eq!(switch.min_peers, 1);
    }

    #[test]
    fn read_only_defaults_to_danger() {
        let env = |extra: &str| {
            let text = format!("[[environments]]\nname = \"e\"\n{extra}");
            parse(&text).expect("valid config").environments.remove(0)
        };
        assert!(!env("").is_read_only());
        assert!(env("danger = true").is_read_only());
        assert!(!env("danger = true\nread_only = false").is_read_only());
        assert!(env("danger = false\nread_only = true").is_read_only());
        assert_eq!(env("danger = true").read_only, None);
    }

    #[test]
    fn every_problem_is_reported_in_file_order() {
        let text = "refesh_secs = 5\ntheme = 3\n[[environments]]\nname = \"\"\ndanger = \"yes\"\n";
        assert_eq!(
            messages(text),
            [
                "test.toml:1:1: unknown key `refesh_secs`; did you mean `refresh_secs`?",
                "test.toml:2:9: `theme` must be a string, found an integer",
                "test.toml:4:8: `environments[0].name` must not be empty",
                "test.toml:5:10: `environments[0].danger` must be a boolean (`true` or `false`), found a string",
            ]
        );
    }

    #[test]
    fn unknown_key_without_a_near_match_lists_the_valid_keys() {
        assert_eq!(
            messages("colour = \"red\""),
            [
                "test.toml:1:1: unknown key `colour`; valid keys are `refresh_secs`, \
              `rpc_poll_secs`, `quiet_refresh_secs`, `quiet_rpc_poll_secs`, `theme`, \
              `log_buffer_lines`, `timezone`, `audit_log`, `quorum`, `metrics`, `logs`, \
              `environments`"
            ]
        );
    }

    #[test]
    fn logs_follow_is_live_tail_unless_told_to_poll() {
        assert_eq!(parse("").unwrap().logs.follow, FollowBy::LiveTail);
        let poll = parse("[logs]\nfollow = \"poll\"\n").unwrap();
        assert_eq!(poll.logs.follow, FollowBy::Poll);
        assert_eq!(
            messages("[logs]\nfollow = \"stream\"\nevery = 2\n"),
            [
                "test.toml:2:10: `logs.follow` must be `live-tail` or `poll`, found `stream`",
                "test.toml:3:1: unknown key `every` in `logs`; valid keys are `follow`"
            ]
        );
    }

    #[test]
    fn integers_out_of_range() {
        assert_eq!(
            messages("refresh_secs = 0\nrpc_poll_secs = -2\nlog_buffer_lines = 0x10"),
            [
                "test.toml:1:16: `refresh_secs` must be at least 1, found 0",
                "test.toml:2:17: `rpc_poll_secs` must be at least 1, found -2",
            ]
        );
        let text = MINIMAL.replace(
            "[environments.clusters.alb_switch]\n",
            "[environments.clusters.alb_switch]\nmin_peers = -1\nconsecutive_polls = 5000000000\n",
        );
        let found = messages(&text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].ends_with(
            "`environments[0].clusters[0].alb_switch.min_peers` must not be negative, found -1"
        ));
        assert!(found[1].ends_with("`environments[0].clusters[0].alb_switch.consecutive_polls` must be at most 4294967295, found 5000000000"));
    }

    #[test]
    fn syntax_errors_point_at_the_text() {
        let found = messages("theme = \"default\"\nrefresh_secs = = 5\n");
        assert!(!found.is_empty());
        assert!(found[0].starts_with("test.toml:2:"), "{found:?}");
        assert!(found[0].contains("TOML syntax"), "{found:?}");
    }

    #[test]
    fn read_errors_name_the_file() {
        let missing = Path::new("/nonexistent/ibet-console/config.toml");
        let err = Config::load(missing).expect_err("should fail");
        assert!(matches!(err, ConfigError::Read { .. }));
        assert!(err.problems().is_empty());
        assert!(
            err.to_string()
                .starts_with("/nonexistent/ibet-console/config.toml: ")
        );
    }
}
