//! One log line as the console keeps it: the raw message whole, its display-safe form and
//! its level.
//!
//! The only place a log message becomes displayable text is [`LogLine::new`]; nothing here
//! does I/O. A structured line (JSON or logfmt) is shown in its compact form
//! ([`super::structured`]) unless the view asks for raw lines ([`LogLine::text`]).

use std::borrow::Cow;
use std::sync::Arc;

use super::level::Level;
use super::structured;
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
    /// What is drawn, printed and searched by default, made display-safe
    /// ([`text::sanitize`]: no escapes or controls, tabs expanded): the message, or for a
    /// structured line its compact form.
    pub display: String,
    /// The original message, whole and untouched. This is what is saved.
    pub raw: String,
    /// Bytes at the start of `display` that are the level tag of a structured line (0
    /// for other lines).
    pub tag_len: u8,
    /// Whether `display` is a structured line's compact form (else it is the message).
    pub structured: bool,
}

impl LogLine {
    /// Builds a line from a raw message: sanitises it (in its compact form when it is
    /// structured) and detects its level.
    pub fn new(timestamp: EpochMs, source: Arc<str>, raw: String) -> Self {
        if let Some(compact) = structured::compact(&raw) {
            let display = text::sanitize(&compact.text);
            let level = compact.level.unwrap_or_else(|| Level::detect(&display));
            return Self {
                timestamp,
                source,
                level,
                display,
                raw,
                tag_len: compact.tag_len as u8,
                structured: true,
            };
        }
        let display = text::sanitize(&raw);
        let level = Level::detect(&display);
        Self {
            timestamp,
            source,
            level,
            display,
            raw,
            tag_len: 0,
            structured: false,
        }
    }

    /// The text shown: `display`, or with `raw` the whole message made display-safe.
    pub fn text(&self, raw: bool) -> Cow<'_, str> {
        if raw && self.structured {
            text::sanitize_cow(&self.raw)
        } else {
            Cow::Borrowed(&self.display)
        }
    }

    /// Bytes of [`LogLine::text`] that are the level tag.
    pub fn tag_len(&self, raw: bool) -> usize {
        if raw { 0 } else { usize::from(self.tag_len) }
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
        assert_eq!(line.text(true), line.text(false));
    }

    #[test]
    fn a_structured_line_shows_compact_and_raw_on_request() {
        let raw = "{\"level\":\"warn\",\"msg\":\"slow\\u001b[2J\",\"ms\":900}\n";
        let line = LogLine::new(5, "api/1".into(), raw.into());
        assert_eq!(
            line.display, "WARN  slow ms=900",
            "the escape is removed whole"
        );
        assert_eq!(line.level, Level::Warn);
        assert_eq!(line.tag_len(false), 6);
        assert_eq!(line.text(true), raw.trim_end());
        assert_eq!(line.tag_len(true), 0);
        assert_eq!(line.raw, raw);
    }
}
