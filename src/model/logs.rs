//! CloudWatch Logs shapes: events, queries and pages.

use serde::Serialize;

use crate::clock::EpochMs;

/// One log event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct LogEvent {
    /// Event timestamp (ms).
    pub timestamp: EpochMs,
    /// Ingestion time (ms).
    pub ingestion: EpochMs,
    /// CloudWatch event id (unique within a log group).
    pub event_id: String,
    /// Log group.
    pub group: String,
    /// Log stream.
    pub stream: String,
    /// The raw message, not yet sanitised.
    pub message: String,
}

/// A FilterLogEvents request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogQuery {
    /// Log group.
    pub group: String,
    /// Exact stream names (empty: all streams, or those under `stream_prefix`).
    pub streams: Vec<String>,
    /// Stream name prefix.
    pub stream_prefix: Option<String>,
    /// Start time (inclusive, ms).
    pub start: EpochMs,
    /// End time (inclusive, ms).
    pub end: Option<EpochMs>,
    /// Server-side filter pattern.
    pub filter_pattern: Option<String>,
    /// Continuation token.
    pub next_token: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
}

/// One FilterLogEvents response page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogPage {
    /// Events in timestamp order.
    pub events: Vec<LogEvent>,
    /// Continuation token, when there is more.
    pub next_token: Option<String>,
}

/// A Live Tail session request (StartLiveTail) on one log group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LiveQuery {
    /// Log group (its name; the backend finds its ARN).
    pub group: String,
    /// Exact stream names (at most 100), or empty.
    pub streams: Vec<String>,
    /// Stream name prefixes, used when `streams` is empty (empty too: every stream).
    pub stream_prefixes: Vec<String>,
    /// Server-side filter pattern.
    pub filter_pattern: Option<String>,
}

/// One update of a Live Tail session: the events ingested since the one before (their
/// `event_id` is empty: Live Tail sends none).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LiveUpdate {
    /// The events, in the order the service sent them.
    pub events: Vec<LogEvent>,
    /// The service sent a sample: more than it streams (about 500 events a second)
    /// matched, and some were left out.
    pub sampled: bool,
}
