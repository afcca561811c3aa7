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
