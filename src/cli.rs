//! The command line: the TUI's options and the subcommands, as clap definitions.
//!
//! `--config`, `--demo`, `--env`, `--theme` and `--write` are global: they are accepted
//! before or after a subcommand. Every subcommand shares the model and the ops layer
//! with the TUI; its JSON output is a contract for scripts. The shell completions and
//! the manual page are generated from these definitions ([`generated`]).

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser as _;
use clap::{ArgGroup, Args, Parser, Subcommand};

use crate::ops::release::WaitUntil;

pub mod generated;

/// A full-screen terminal console for the ibet blockchain infrastructure on AWS.
#[derive(Debug, Parser)]
#[command(name = "ibet-console", version, about, long_about = None)]
pub struct Cli {
    /// Options shared by the TUI and every subcommand.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// A subcommand; without one the TUI starts.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options accepted everywhere.
#[derive(Debug, Clone, Args)]
pub struct GlobalOpts {
    /// Config file (default: $IBET_CONSOLE_CONFIG, then ~/.config/ibet-console/config.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Use the embedded demo world instead of AWS and Quorum nodes.
    #[arg(long, global = true)]
    pub demo: bool,
    /// Start on (or limit a subcommand to) this environment.
    #[arg(long, global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// Colour theme: default, light, high-contrast, or a file in the config folder's themes/.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Allow actions in read-only environments.
    #[arg(long, global = true)]
    pub write: bool,
    /// Mask AWS account IDs and IP addresses in every view, log line and output (screen
    /// sharing, demos); `redact = true` on an environment does the same.
    #[arg(long, global = true)]
    pub redact: bool,
    /// Show times in this zone: UTC, local or an IANA name such as Asia/Tokyo (default:
    /// `timezone` in the config, then local). JSON output stays in UTC.
    #[arg(long, global = true, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// Audit log file of the actions (switch, restart, release, rollback, unlock, exec)
    /// (default: `audit_log` in the config, then ~/.local/share/ibet-console/audit.jsonl).
    #[arg(long, global = true, value_name = "PATH")]
    pub audit_log: Option<PathBuf>,
    /// Seed of the demo world (the same seed shows the same world).
    #[arg(
        long,
        global = true,
        value_name = "N",
        default_value_t = 7,
        hide = true
    )]
    pub seed: u64,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config file: exit 0 when valid, or print every problem as
    /// PATH:LINE:COL: message and exit 2.
    CheckConfig,
    /// Poll everything once and print services, tasks and Quorum nodes; exit 0 when all
    /// is healthy, 1 when something is degraded, 2 when something could not be read.
    Status {
        /// Print JSON (a stable contract) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Point a cluster's internal ALB at another Quorum general node, once the sync gate
    /// has passed.
    #[command(after_help = SWITCH_HELP)]
    Switch(SwitchArgs),
    /// Stop one task of a service (ECS starts a replacement), or force a new deployment
    /// of the whole service.
    #[command(after_help = ACTION_HELP)]
    Restart(RestartArgs),
    /// Move a service to a newer (or a given) revision of its task definition.
    #[command(after_help = RELEASE_HELP)]
    Release(ReleaseArgs),
    /// Move a service back to the task definition it ran before.
    #[command(after_help = RELEASE_HELP)]
    Rollback(RollbackArgs),
    /// List the action locks of every environment (or --env's): who holds which scope,
    /// doing what, since when, and whether the lease has run out.
    Locks {
        /// Print JSON (a stable contract) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Break an action lock another console holds (it died, or is stuck), after a
    /// confirmation; audited as a break with the holder's details.
    Unlock(UnlockArgs),
    /// Open an interactive session in a running container (ECS Exec): runs
    /// `aws ecs execute-command --interactive` with /bin/sh or the service's configured
    /// command; audited with the session's exit status.
    #[command(after_help = EXEC_HELP)]
    Exec(ExecArgs),
    /// Print a service's (or a task's, or a container's) CloudWatch Logs as
    /// `TIMESTAMP SOURCE MESSAGE` lines, sanitised; with --follow, keep printing new ones.
    Logs(LogsArgs),
    /// Print the completion script of a shell (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff); with --dir, write it and a page per subcommand into
    /// DIR.
    Man {
        /// Write every page (ibet-console.1, ibet-console-NAME.1) into this folder.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Options of `logs`.
#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// Cluster (its display name from the config, e.g. node-api).
    #[arg(long)]
    pub cluster: String,
    /// Service; may be repeated to interleave several services.
    #[arg(long, required = true)]
    pub service: Vec<String>,
    /// Only this task (id, ARN or a unique prefix of the id).
    #[arg(long)]
    pub task: Option<String>,
    /// Only this container.
    #[arg(long)]
    pub container: Option<String>,
    /// How far back to start: 90s, 10m, 2h, 1d.
    #[arg(long, default_value = "10m")]
    pub since: String,
    /// CloudWatch Logs filter pattern, applied by the server.
    #[arg(long)]
    pub filter: Option<String>,
    /// Keep printing new lines until interrupted; following a service, tasks that start
    /// meanwhile join (looked up every refresh_secs).
    #[arg(long)]
    pub follow: bool,
    /// Follow by FilterLogEvents polls even when `[logs] follow` is `live-tail` (the
    /// default: one CloudWatch Logs Live Tail session per log group).
    #[arg(long, requires = "follow")]
    pub poll: bool,
    /// JSON and logfmt lines in their compact form (level, message, then the fields as
    /// key=value) instead of as written.
    #[arg(long)]
    pub compact: bool,
}

/// How the operator confirms an action, and how the result is printed.
#[derive(Debug, Clone, Default, Args)]
pub struct ActionOpts {
    /// Do not ask on the terminal: this flag is the confirmation. A danger environment
    /// also needs --confirm NAME.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// The environment's name, as it would be typed at the prompt; confirms without a
    /// prompt. Give it twice to confirm --override-gate (or --override-checks) on a danger
    /// environment.
    #[arg(long, value_name = "ENV_NAME")]
    pub confirm: Vec<String>,
    /// Print the plan, the gate polls and the result as one JSON document on stdout
    /// (progress goes to stderr).
    #[arg(long)]
    pub json: bool,
}

/// `unlock`.
#[derive(Debug, Clone, Args)]
pub struct UnlockArgs {
    /// The lock's scope as `locks` lists it: ENV/CLUSTER or ENV/CLUSTER/SERVICE.
    #[arg(long, value_name = "ID")]
    pub lock: String,
    /// Confirmation and output.
    #[command(flatten)]
    pub action: ActionOpts,
}

/// `switch`.
#[derive(Debug, Clone, Args)]
pub struct SwitchArgs {
    /// Cluster (its display name in the config, e.g. node-api).
    #[arg(long, value_name = "NAME")]
    pub cluster: String,
    /// The general node to switch to (a key of the cluster's alb_switch.nodes).
    #[arg(long, value_name = "NODE")]
    pub to: String,
    /// Switch even when the sync gate has not passed by the end of --gate-timeout. Takes
    /// a second, separate confirmation and is audited as an override.
    #[arg(long)]
    pub override_gate: bool,
    /// How long to wait for the sync gate to pass (e.g. 90s, 2m).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub gate_timeout: Duration,
    /// Confirmation and output.
    #[command(flatten)]
    pub action: ActionOpts,
}

/// `restart`.
#[derive(Debug, Clone, Args)]
pub struct RestartArgs {
    /// Cluster (its display name in the config).
    #[arg(long, value_name = "NAME")]
    pub cluster: String,
    /// ECS service.
    #[arg(long, value_name = "NAME")]
    pub service: String,
    /// Stop only this task (id or ARN); without it, force a new deployment.
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// Confirmation and output.
    #[command(flatten)]
    pub action: ActionOpts,
}

/// `exec`.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("where").required(true).args(["service", "task"])))]
pub struct ExecArgs {
    /// Cluster (its display name in the config).
    #[arg(long, value_name = "NAME")]
    pub cluster: String,
    /// ECS service: a running task of it is picked (the command says which).
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// The task (id or ARN).
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// The container (needed when the task has several).
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
    /// What to run (default: the service's `exec_command` in the config, then /bin/sh).
    #[arg(long, value_name = "CMD")]
    pub command: Option<String>,
    /// Confirmation and output.
    #[command(flatten)]
    pub action: ActionOpts,
}

/// Following a rollout after a release or rollback.
#[derive(Debug, Clone, Args)]
pub struct WatchOpts {
    /// Follow the rollout until it completes or fails (or --watch-timeout passes).
    #[arg(long)]
    pub watch: bool,
    /// What the watch waits for: `deployed` (the new deployment is PRIMARY and its
    /// rollout completed) or `stable` (also one deployment left and every desired task
    /// running: no old task serves). Default: stable. Implies --watch.
    #[arg(
        long,
        value_name = "WHEN",
        value_parser = clap::builder::PossibleValuesParser::new(["deployed", "stable"])
            .map(|s| WaitUntil::parse(&s).unwrap_or_default())
    )]
    pub wait_until: Option<WaitUntil>,
    /// How long --watch follows the rollout.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    pub watch_timeout: Duration,
    /// How often --watch reads the service.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration, hide = true)]
    pub watch_interval: Duration,
}

impl WatchOpts {
    /// Whether the rollout is followed (`--watch`, or `--wait-until`).
    pub fn watching(&self) -> bool {
        self.watch || self.wait_until.is_some()
    }

    /// What the watch waits for ([`WaitUntil::Stable`] unless told).
    pub fn until(&self) -> WaitUntil {
        self.wait_until.unwrap_or_default()
    }
}

/// `release`.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["revision", "latest"])))]
pub struct ReleaseArgs {
    /// Cluster (its display name in the config).
    #[arg(long, value_name = "NAME")]
    pub cluster: String,
    /// ECS service.
    #[arg(long, value_name = "NAME")]
    pub service: String,
    /// The revision of the service's task-definition family to release.
    #[arg(long, value_name = "N")]
    pub revision: Option<u32>,
    /// Release the newest active revision of the family.
    #[arg(long)]
    pub latest: bool,
    /// Release even when a check of what the target names failed (an image not in ECR,
    /// a missing secret or role, a read that was denied). Takes a second, separate
    /// confirmation and is audited as an override.
    #[arg(long)]
    pub override_checks: bool,
    /// Following the rollout.
    #[command(flatten)]
    pub watch: WatchOpts,
    /// Confirmation and output.
    #[command(flatten)]
    pub action: ActionOpts,
}

/// `rollback`.
#[derive(Debug, Clone, Args)]
pub struct RollbackArgs {
    /// Cluster (its display name in the config).
    #[arg(long, value_name = "NAME")]
    pub cluster: String,
    /// ECS service.
    #[arg(long, value_name = "NAME")]
    pub service: String,
    /// Roll back to this revision instead of the previous one.
    #[arg(long, value_name = "N")]
    pub revision: Option<u32>,
    /// Roll back even when a check of what the target names failed (an image not in
    /// ECR, a missing secret or role, a read that was denied). Takes a second, separate
    /// confirmation and is audited as an override.
    #[arg(long)]
    pub override_checks: bool,
    /// Following the rollout.
    #[command(flatten)]
    pub watch: WatchOpts,
    /// Confirmation and output.
    #[command(flatten)]
    pub action: ActionOpts,
}

/// The confirmation rules shown under every action's --help (a macro, so that `concat!`
/// can join it with each command's own text).
macro_rules! confirming_help {
    () => {
        "\
Confirming:
  On a terminal the plan is printed and you are asked: type `yes` (on a danger
  environment, type the environment's name). Without a terminal, pass --yes; a danger
  environment also needs --confirm NAME. --confirm NAME alone confirms too. Read-only
  environments (danger ones by default) refuse unless the console runs with --write.
  Every action is written to the audit log before and after the AWS call.

"
    };
}

/// Confirmation and exit codes of `restart`.
const ACTION_HELP: &str = concat!(
    confirming_help!(),
    "\
Exit codes:
  0  done and verified by reading AWS back
  1  failed (the call failed, or reading back did not show the change)
  2  invalid command line or config
  3  refused: read-only, a guard, or a missing or wrong confirmation"
);

/// What `exec` needs, confirmation and exit codes.
const EXEC_HELP: &str = "\
Needs the AWS CLI v2 and its Session Manager plugin on PATH, a RUNNING task started with
ExecuteCommand enabled, ecs:ExecuteCommand for you and the ssmmessages permissions for the
task role; each is checked first, naming the fix. A read-only environment needs --write;
a danger environment the typed name (or --confirm NAME). No action lock is taken: a
session changes nothing in ECS.

Exit codes:
  0  the session ended with exit status 0
  1  the AWS CLI ended with another status, or did not start
  2  invalid command line or config, or no running task to open a session in
  3  refused: read-only, a check (no aws, no plugin, exec not enabled), confirmation";

/// The sync gate, the override, confirmation and exit codes of `switch`.
const SWITCH_HELP: &str = concat!(
    "\
The sync gate:
  The candidate must answer RPC, not be syncing, be at most max_lag_blocks behind the
  active node with the same block hash, have min_peers peers and a fresh head, on
  consecutive_polls polls in a row. switch polls it every rpc_poll_secs and prints each
  poll, for up to --gate-timeout; if it does not pass, switch refuses (exit 3).

Overriding the gate:
  --override-gate switches anyway when the gate has not passed by the end of
  --gate-timeout, after a second confirmation: on a terminal a second prompt (`yes`, or
  the environment's name again on a danger environment); without one, --yes is the
  second confirmation on an ordinary environment, and on a danger environment
  --confirm NAME must be given twice. The audit log marks the switch as an override.

",
    confirming_help!(),
    "\
Exit codes:
  0  switched and verified by reading the ALB back
  1  failed (the call failed, or reading back did not show the change)
  2  invalid command line or config
  3  refused: read-only, the gate, a guard, or a missing or wrong confirmation"
);

/// The preview, --watch, confirmation and exit codes of `release` and `rollback`.
const RELEASE_HELP: &str = concat!(
    "\
Before confirming, the running revision, the newer revisions of the family and a diff
of the target against the running task definition are printed: images, environment
variables (values of secret-looking names, and URLs with passwords, shown as ****),
secrets (names only), CPU and memory, ports and log options. rollback goes to the
previous PRIMARY deployment's task definition while ECS still lists it, else to the
revision before the running one; --revision N picks one.

Checks before confirming:
  every image of the target in ECR (by tag or digest; an image outside ECR is not
  checked), every secret it names (SSM parameters and Secrets Manager secrets, by name:
  no value is read), and its task and execution roles in IAM. A failed check (a read
  that AWS denies too) refuses the release with the service unchanged;
  --override-checks goes on anyway after a second confirmation (on a terminal a second
  prompt; without one --yes, or --confirm NAME twice on a danger environment), audited
  as an override. A service without the deployment circuit breaker is warned about.

Watching:
  --watch follows the rollout (deployments, running/pending/failed tasks, new service
  events) until it is what --wait-until asks for, or fails; a failed rollout prints
  ECS's reason and the command that goes back (a rollout that ECS's circuit breaker
  rolled back is a failure too, with nothing left to roll back).
  --wait-until deployed: the new deployment is PRIMARY and its rollout completed (old
  tasks may still drain); --wait-until stable (the default): also one deployment left
  and every desired task running. --wait-until implies --watch.

",
    confirming_help!(),
    "\
Exit codes:
  0  done and verified (with --watch: and the rollout reached --wait-until)
  1  failed (the call failed, reading back did not show the change, or with --watch
     the rollout failed or did not reach --wait-until within --watch-timeout)
  2  invalid command line or config, or the service could not be read or found
  3  refused: read-only, a failed check without --override-checks, a guard, or a
     missing or wrong confirmation"
);

/// Parses a duration: a whole number with an optional unit, `ms`, `s` (the default),
/// `m` or `h`: `500ms`, `60s`, `90`, `2m`, `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 500ms, 60s, 2m, 1h)"))?;
    let millis = match unit.trim() {
        "ms" => Some(n),
        "" | "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`: use ms, s, m or h"
            ));
        }
    };
    millis
        .map(Duration::from_millis)
        .ok_or_else(|| format!("`{text}` is too long"))
}

/// Exit codes with a meaning for scripts.
pub mod exit {
    /// Success; everything healthy.
    pub const OK: i32 = 0;
    /// Degraded, or an action failed.
    pub const DEGRADED: i32 = 1;
    /// Invalid input, or unreachable.
    pub const INVALID: i32 = 2;
    /// Refused by a gate or read-only.
    pub const REFUSED: i32 = 3;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_options_before_and_after_subcommand() {
        let a = Cli::try_parse_from(["ibet-console", "--config", "x.toml", "check-config"])
            .expect("before");
        let b = Cli::try_parse_from(["ibet-console", "check-config", "--config", "x.toml"])
            .expect("after");
        assert_eq!(a.global.config, b.global.config);
        assert!(matches!(a.command, Some(Command::CheckConfig)));
        let c = Cli::try_parse_from(["ibet-console", "--demo", "--env", "staging"]).expect("tui");
        assert!(c.global.demo && c.command.is_none());
        assert_eq!(c.global.env.as_deref(), Some("staging"));
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn action_subcommands_parse() {
        let cli = Cli::try_parse_from([
            "ibet-console",
            "--env",
            "production",
            "switch",
            "--cluster",
            "node-api",
            "--to",
            "general-2",
            "--override-gate",
            "--yes",
            "--confirm",
            "production",
            "--confirm",
            "production",
            "--gate-timeout",
            "2m",
            "--audit-log",
            "/tmp/a.jsonl",
        ])
        .expect("switch");
        let Some(Command::Switch(args)) = cli.command else {
            panic!("not a switch");
        };
        assert!(args.override_gate && args.action.yes);
        assert_eq!(args.action.confirm, ["production", "production"]);
        assert_eq!(args.gate_timeout, Duration::from_secs(120));
        assert_eq!(
            cli.global.audit_log.as_deref(),
            Some(std::path::Path::new("/tmp/a.jsonl"))
        );
        // A release names its target: a revision or the latest, not both, not neither.
        let release = |extra: &[&str]| {
            let mut argv = vec![
                "ibet-console",
                "release",
                "--cluster",
                "node-api",
                "--service",
                "api",
            ];
            argv.extend_from_slice(extra);
            Cli::try_parse_from(argv)
        };
        assert!(release(&["--revision", "43"]).is_ok());
        assert!(release(&["--latest", "--watch"]).is_ok());
        // --wait-until names what the watch waits for, and watches.
        let waiting = |extra: &[&str]| -> Option<(bool, WaitUntil)> {
            match release(extra).ok()?.command {
                Some(Command::Release(args)) => Some((args.watch.watching(), args.watch.until())),
                _ => None,
            }
        };
        assert_eq!(
            waiting(&["--latest", "--wait-until", "deployed"]),
            Some((true, WaitUntil::Deployed))
        );
        assert_eq!(waiting(&["--latest"]), Some((false, WaitUntil::Stable)));
        assert_eq!(
            waiting(&["--latest", "--watch"]),
            Some((true, WaitUntil::Stable))
        );
        assert!(release(&["--latest", "--wait-until", "steady"]).is_err());
        assert!(release(&[]).is_err());
        assert!(release(&["--latest", "--revision", "43"]).is_err());
        let rollback = Cli::try_parse_from([
            "ibet-console",
            "rollback",
            "--cluster",
            "node-api",
            "--service",
            "api",
        ])
        .expect("rollback");
        assert!(matches!(rollback.command, Some(Command::Rollback(_))));
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
