//! One log line as the console keeps it: the raw message whole, its display-safe form and
//! its level.
//!
//! The only place a log message becomes displayable text is [`LogLine::new`]; nothing here
//! does I/O.

use std::sync::Arc;

use super::level::Level;
use crate::clock::EpochMs;
use crate::text;

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Event timestamp (ms since the epoch).
    pub timestamp: EpochMs,
    /// The label of the source it came from, e.g. `api/1a2b3c4d` (shared between lines).
    pub source: Arc<str>,
    /// Level detected from the message.
    pub level: Level,
    /// The message made display-safe ([`text::sanitize`]: no escapes or controls, tabs
    /// expanded). This is what is drawn, printed and searched.
    pub display: String,
    /// The original message, whole and untouched. This is what is saved.
    pub raw: String,
}

impl LogLine {
    /// Builds a line from a raw message: sanitises it and detects its level.
    pub fn new(timestamp: EpochMs, source: Arc<str>, raw: String) -> Self {
        let display = text::sanitize(&raw);
        let level = Level::detect(&display);
        Self {
            timestamp,
            source,
            level,
            display,
            raw,
        }
    }

    /// Heap bytes owned by this line (the shared source label is not counted).
    pub fn heap_bytes(&self) -> usize {
        self.display.capacity() + self.raw.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_sanitised_and_raw_is_kept() {
        let line = LogLine::new(
            5,
            "api/1a2b3c4d".into(),
            "\x1b[31mERROR\x1b[0m\tboom\n".into(),
        );
        assert_eq!(line.display, "ERROR   boom");
        assert_eq!(line.raw, "\x1b[31mERROR\x1b[0m\tboom\n");
        assert_eq!(line.level, Level::Error);
        assert!(line.heap_bytes() >= line.raw.len() + line.display.len());
    }
}
