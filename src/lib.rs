//! # ibet-console
//!
//! A full-screen terminal console for the ibet blockchain infrastructure on AWS.
//!
//! The crate is one library and a thin binary. The modules, from the data up:
//!
//! - [`clock`]: injected time (tests and the demo world pin it).
//! - [`config`]: the TOML topology and settings, validated with file:line:col.
//! - [`model`]: plain observed-state types (ECS, ALB, Quorum, logs) and their judgements.
//! - [`backend`]: the traits the rest talks to, and their implementations: the AWS SDK,
//!   Quorum JSON-RPC, and the embedded demo world (`backend::sim`).
//! - [`ops`]: operator actions as data (switch the ALB, stop a task, deploy), planned,
//!   guarded, confirmed, audited, executed once and verified; shared by TUI and CLI.

pub mod app;
pub mod backend;
pub mod clock;
pub mod config;
pub mod model;
pub mod ops;
pub mod ui;
