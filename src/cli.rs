//! The command line: the TUI's options and the subcommands, as clap definitions.
//!
//! `--config`, `--demo`, `--env`, `--theme` and `--write` are global: they are accepted
//! before or after a subcommand. Every subcommand shares the model and the ops layer
//! with the TUI; its JSON output is a contract for scripts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Print a service's (or a task's, or a container's) CloudWatch Logs as
    /// `TIMESTAMP SOURCE MESSAGE` lines, sanitised; with --follow, keep printing new ones.
    Logs(LogsArgs),
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
    /// Keep printing new lines until interrupted.
    #[arg(long)]
    pub follow: bool,
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
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
