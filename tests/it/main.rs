//! The integration tests, in one binary so that the library, the AWS SDK and alloy are
//! linked once: one module per area, and the helpers they share in [`support`].
//!
//! Run one area by its module path, e.g. `cargo test --test it moto_ecs::`, or one test
//! by its name. The areas share one process: a test changes nothing process-wide (no
//! environment variables, no current directory), the moto tests share one server
//! ([`support::moto::Moto::shared`]) under names of their own, and a test that needs a
//! server to itself starts it on a free loopback port.

mod support;

mod anvil_rpc;
mod cli_errors;
mod cli_generated;
mod cli_ops;
mod cli_status;
mod config_fixtures;
mod e2e_tmux;
mod exec;
mod moto_ecs;
mod moto_elb;
mod moto_live_tail;
mod moto_locks;
mod moto_logs;
mod moto_metrics;
mod moto_paths;
mod moto_release;
mod ops;
mod path_faults;
mod redraw;
mod render_snapshots;
mod tui_actions;
mod tui_loop;
