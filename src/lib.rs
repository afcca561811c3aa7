//! # ibet-console
//!
//! A full-screen terminal console for the ibet blockchain infrastructure on AWS.
//!
//! The crate is one library and a thin binary. The modules, from the data up:
//!
//! - [`clock`]: injected time (tests and the demo world pin it).
//! - [`config`]: the TOML topology and settings, validated with file:line:col.
//! - [`model`]: plain observed-state types (ECS, ALB, Quorum, logs, CloudWatch metrics and
//!   alarms) and their judgements.
//! - [`backend`]: the traits the rest talks to, and their implementations: the AWS SDK,
//!   Quorum JSON-RPC, and the embedded demo world (`backend::sim`); the action lock's
//!   stores (`backend::lock`: a DynamoDB table, this host's lock files, memory); the
//!   lookups that verify a release (`backend::VerifyApi`: ECR, SSM, Secrets Manager, IAM).
//! - [`quorum`]: the Quorum node monitor's judgement (synced, lagging, stalled, down; the
//!   chain's fault tolerance), pure over the samples the RPC backend takes.
//! - [`text`]: display-safe text; nothing from a log line or a node reaches the terminal
//!   unsanitised.
//! - [`logs`]: live CloudWatch Logs: stream discovery, the tail engine (polls, or one
//!   Live Tail session per log group), the log buffer, and the `logs` subcommand's core.
//! - [`world`]: everything observed and judged, per environment and cluster, changed only
//!   by [`world::World::apply`] of an observation; no screen in it.
//! - [`app`]: the TUI: its state (the world and the screen), `update`, the key table,
//!   navigation, the effect runner and the event loop ([`app::Console`]); [`ui`] draws
//!   the state; [`tui`] owns the terminal, writes frames and hands the terminal to an
//!   exec session and back.
//! - [`poll`]: the pollers that send observations to the world; [`session`]: the
//!   backends and clock a run talks to.
//! - [`path`]: the request path of a wallet cluster, hop by hop (external ALB → nginx →
//!   internal ALB → API and the active Quorum node → validators), and where it breaks.
//! - [`problems`]: what is wrong now, worst first; [`status`]: the `status` subcommand.
//!
//! Nothing below `app`, `ui` and `tui` imports them: the world, its judgements, the
//! pollers, the ops layer and the subcommands work without a terminal.
//! - [`cli`]: the command line.
//! - [`ops`]: operator actions as data (switch the ALB, stop a task, deploy), planned
//!   (a release's target verified: images, secrets, roles), guarded, confirmed, locked
//!   across consoles, audited, executed once and verified; shared by TUI and CLI.
//! - [`commands`]: the `switch`, `restart`, `release`, `rollback`, `locks`, `unlock` and
//!   `exec` subcommands on the ops layer (`exec`: an interactive session in a container,
//!   [`ops::exec`]).

pub mod app;
pub mod backend;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod logs;
pub mod model;
pub mod ops;
pub mod path;
pub mod poll;
pub mod problems;
pub mod quorum;
pub mod redact;
pub mod session;
pub mod status;
pub mod text;
pub mod tui;
pub mod ui;
pub mod world;
