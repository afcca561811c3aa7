//! Live CloudWatch Logs: which streams to read, the tail engine that reads them, and the
//! buffer a log view keeps.
//!
//! The pieces, in the order data flows through them:
//!
//! - [`discovery`]: [`LogSource`]s (group, stream, label) from a cluster snapshot's task
//!   definitions (`awslogs` options) and tasks, for services, tasks or containers.
//! - [`tail`]: the [`Tail`] engine. It backfills a window, then follows each log group
//!   by a CloudWatch Logs Live Tail session (with a catch-up read at each start), or
//!   polls FilterLogEvents adaptively where it cannot, batching the streams of a group
//!   into one request and sweeping the group's quiet streams for late batches, under a
//!   [`RequestBudget`] shared by all tails ([`budget`]), delivering each event once and
//!   downloading it about once ([`cursor`]) as [`LogLine`]s ([`mod@line`]) over a
//!   channel.
//! - [`buffer`]: the bounded [`LogBuffer`] a log view holds, with search and saving.
//! - [`command`]: the `logs` subcommand's core ([`print_logs`], [`parse_since`]).
//!
//! Every message is sanitised ([`crate::text`]) before it can be displayed. Nothing here
//! draws: the log view builds on these types, and the AWS side is behind
//! [`crate::backend::LogsApi`].

pub mod budget;
pub mod buffer;
pub mod command;
pub mod cursor;
pub mod discovery;
pub mod level;
pub mod line;
pub mod structured;
pub mod tail;

#[cfg(test)]
mod fake;

pub use budget::RequestBudget;
pub use buffer::LogBuffer;
pub use command::{LineFormat, PrintError, PrintSummary, parse_since, print_logs, print_logs_of};
pub use discovery::{DiscoveryError, LogSource, LogTarget, discover, merge_sources};
pub use level::Level;
pub use line::LogLine;
pub use tail::{Tail, TailConfig, TailEvent, TailHandle};
