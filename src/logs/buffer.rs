//! The bounded, in-memory log of a log view: a ring of [`LogLine`]s in timestamp order,
//! with case-insensitive search, match ranges for highlighting, JSON pretty-printing of
//! one line, and saving to a file.
//!
//! It holds data only: no terminal, no network. Ingest is a push onto a ring (an older
//! line that arrives late is inserted where its timestamp belongs, near the end), so it
//! keeps up with any tail; `benches/log_buffer.rs` measures it.

use std::collections::VecDeque;
use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use super::line::LogLine;
use crate::clock::{EpochMs, iso_utc};
use crate::text;

/// How many lines a buffer keeps by default.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// A bounded ring of log lines, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogBuffer {
    lines: VecDeque<LogLine>,
    capacity: usize,
    heap_bytes: usize,
    evicted: u64,
    pushed: u64,
}

impl Default for LogBuffer {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl LogBuffer {
    /// An empty buffer that keeps at most `capacity` lines (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            lines: VecDeque::new(),
            capacity: capacity.max(1),
            heap_bytes: 0,
            evicted: 0,
            pushed: 0,
        }
    }

    /// The most lines kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Lines held now.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether no line is held.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Lines dropped from the front (oldest) since creation or the last [`clear`]:
    /// `evicted() + index` numbers a line for as long as nothing older arrives late.
    ///
    /// [`clear`]: LogBuffer::clear
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Lines ever pushed (including evicted and cleared ones).
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// The line at `index` (0 is the oldest held).
    pub fn get(&self, index: usize) -> Option<&LogLine> {
        self.lines.get(index)
    }

    /// The lines, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &LogLine> + ExactSizeIterator {
        self.lines.iter()
    }

    /// Adds one line, in timestamp order (equal timestamps keep arrival order). When full,
    /// the oldest line goes; a late line older than everything held is dropped.
    /// Returns the index the line landed at, or `None` when it was dropped.
    pub fn push(&mut self, line: LogLine) -> Option<usize> {
        self.pushed += 1;
        let full = self.lines.len() >= self.capacity;
        let at = match self.lines.back() {
            Some(last) if line.timestamp < last.timestamp => self
                .lines
                .partition_point(|l| l.timestamp <= line.timestamp),
            _ => self.lines.len(),
        };
        if full && at == 0 {
            self.evicted += 1;
            return None;
        }
        if full && let Some(old) = self.lines.pop_front() {
            self.heap_bytes -= old.heap_bytes();
            self.evicted += 1;
        }
        let at = if full { at - 1 } else { at };
        self.heap_bytes += line.heap_bytes();
        if at == self.lines.len() {
            self.lines.push_back(line);
        } else {
            self.lines.insert(at, line);
        }
        Some(at)
    }

    /// Adds lines in order (see [`LogBuffer::push`]).
    pub fn extend(&mut self, lines: impl IntoIterator<Item = LogLine>) {
        for line in lines {
            self.push(line);
        }
    }

    /// Drops every line.
    pub fn clear(&mut self) {
        self.lines.clear();
        self.heap_bytes = 0;
        self.evicted = 0;
    }

    /// Memory held, in bytes, as far as it is known: the ring's slots plus every line's
    /// text (the shared source labels are not counted).
    pub fn approx_bytes(&self) -> usize {
        self.lines.capacity() * std::mem::size_of::<LogLine>() + self.heap_bytes
    }

    /// Writes every line as `TIMESTAMP SOURCE RAW` (ISO UTC timestamp, the raw message
    /// whole, which may span lines) to `path`, replacing the file. Returns the number of
    /// lines written.
    pub fn save(&self, path: &Path) -> std::io::Result<usize> {
        self.raw_lines().save(path)
    }

    /// A copy of what [`LogBuffer::save`] writes, to write elsewhere (another thread).
    pub fn raw_lines(&self) -> RawLines {
        RawLines(
            self.lines
                .iter()
                .map(|l| (l.timestamp, Arc::clone(&l.source), l.raw.clone()))
                .collect(),
        )
    }

    /// The first line at or after `from` whose text as shown ([`LogLine::text`], raw or
    /// not) contains `needle`, ignoring case. An empty needle matches nothing.
    pub fn find_next(&self, from: usize, needle: &str, raw: bool) -> Option<usize> {
        let matcher = Matcher::new(needle)?;
        self.lines
            .range(from.min(self.lines.len())..)
            .position(|l| matcher.is_match(&l.text(raw)))
            .map(|i| i + from)
    }

    /// The last line at or before `from` whose text as shown contains `needle`, ignoring
    /// case (`from` past the end means from the last line).
    pub fn find_prev(&self, from: usize, needle: &str, raw: bool) -> Option<usize> {
        let matcher = Matcher::new(needle)?;
        let end = from.saturating_add(1).min(self.lines.len());
        self.lines
            .range(..end)
            .rposition(|l| matcher.is_match(&l.text(raw)))
    }

    /// Byte ranges of `needle` (ignoring case) in the text as shown of line `index`, for
    /// highlighting; empty when there is no such line or no match.
    pub fn match_ranges(&self, index: usize, needle: &str, raw: bool) -> Vec<Range<usize>> {
        match (self.lines.get(index), Matcher::new(needle)) {
            (Some(line), Some(matcher)) => matcher.ranges(&line.text(raw)),
            _ => Vec::new(),
        }
    }

    /// The JSON value in line `index`'s raw message (the whole message, or from its first
    /// `{` or `[` on, ignoring anything after the value), pretty-printed and display-safe.
    /// `None` when the line holds no JSON.
    pub fn pretty_json(&self, index: usize) -> Option<String> {
        pretty_json(&self.lines.get(index)?.raw)
    }
}

/// Pretty-prints the first JSON object or array found in `raw`, display-safe.
pub fn pretty_json(raw: &str) -> Option<String> {
    let start = raw.find(['{', '['])?;
    let value = serde_json::Deserializer::from_str(&raw[start..])
        .into_iter::<serde_json::Value>()
        .next()?
        .ok()?;
    let pretty = serde_json::to_string_pretty(&value).ok()?;
    let lines: Vec<String> = pretty.lines().map(text::sanitize).collect();
    Some(lines.join("\n"))
}

/// A case-insensitive substring search, prepared once for many lines.
#[derive(Debug, Clone)]
pub struct Matcher {
    needle: String,
    ascii: bool,
}

impl Matcher {
    /// A matcher for `needle`; `None` when it is empty.
    pub fn new(needle: &str) -> Option<Self> {
        if needle.is_empty() {
            return None;
        }
        let ascii = needle.is_ascii();
        let needle = if ascii {
            needle.to_ascii_lowercase()
        } else {
            fold(needle)
        };
        Some(Self { needle, ascii })
    }

    /// Whether `haystack` contains the needle.
    pub fn is_match(&self, haystack: &str) -> bool {
        if self.ascii {
            self.find_from(haystack, 0).is_some()
        } else if haystack.is_ascii() && !self.needle.is_ascii() {
            // ASCII folds to ASCII: most log lines are ruled out without folding.
            false
        } else {
            // Folding the whole line once and letting `str::contains` search is much
            // faster than trying the needle at every character.
            fold(haystack).contains(&self.needle)
        }
    }

    /// Every non-overlapping match in `haystack`, as byte ranges, left to right.
    pub fn ranges(&self, haystack: &str) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(range) = self.find_from(haystack, from) {
            from = range.end;
            out.push(range);
        }
        out
    }

    fn find_from(&self, haystack: &str, from: usize) -> Option<Range<usize>> {
        if self.ascii {
            find_ascii(haystack.as_bytes(), self.needle.as_bytes(), from)
        } else {
            find_unicode(haystack, &self.needle, from)
        }
    }
}

/// ASCII case-insensitive search; `needle` is lower-case. Matches fall on character
/// boundaries because ASCII bytes never occur inside a multi-byte character.
fn find_ascii(hay: &[u8], needle: &[u8], from: usize) -> Option<Range<usize>> {
    let (&first, rest) = needle.split_first()?;
    let last_start = hay.len().checked_sub(needle.len())?;
    // For a letter, `b | 0x20` folds exactly the two cases of it onto `first` (no other
    // byte folds onto a lower-case ASCII letter), so one comparison finds candidates.
    let fold = if first.is_ascii_lowercase() { 0x20 } else { 0 };
    let mut i = from;
    while i <= last_start {
        let at = i + hay[i..=last_start]
            .iter()
            .position(|&b| b | fold == first)?;
        if hay[at + 1..at + needle.len()].eq_ignore_ascii_case(rest) {
            return Some(at..at + needle.len());
        }
        i = at + 1;
    }
    None
}

/// Simple lower-case folding, character by character (as [`find_unicode`] compares).
fn fold(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// Unicode case-insensitive search (simple lower-case folding); `needle` is folded.
fn find_unicode(hay: &str, needle: &str, from: usize) -> Option<Range<usize>> {
    let tail = hay.get(from..)?;
    for (offset, _) in tail.char_indices() {
        let start = from + offset;
        let mut wanted = needle.chars();
        let mut want = wanted.next();
        let mut end = start;
        'hay: for (at, c) in hay[start..].char_indices() {
            for lc in c.to_lowercase() {
                match want {
                    Some(w) if w == lc => want = wanted.next(),
                    _ => break 'hay,
                }
            }
            if want.is_none() {
                end = start + at + c.len_utf8();
                break;
            }
        }
        if want.is_none() && end > start {
            return Some(start..end);
        }
    }
    None
}

/// The lines of a buffer as they are saved: timestamp, source, raw message.
#[derive(Debug, Clone, Default)]
pub struct RawLines(Vec<(EpochMs, Arc<str>, String)>);

impl RawLines {
    /// Writes every line as `TIMESTAMP SOURCE RAW` to `path`, replacing the file; the
    /// number of lines written.
    pub fn save(&self, path: &Path) -> std::io::Result<usize> {
        let file = std::fs::File::create(path)?;
        let mut out = std::io::BufWriter::new(file);
        for (timestamp, source, raw) in &self.0 {
            let raw = raw.strip_suffix('\n').unwrap_or(raw);
            writeln!(out, "{} {} {}", iso_utc(*timestamp), source, raw)?;
        }
        out.flush()?;
        Ok(self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn line(ts: i64, msg: &str) -> LogLine {
        LogLine::new(ts, Arc::from("api/1a2b3c4d"), msg.to_string())
    }

    fn messages(buf: &LogBuffer) -> Vec<&str> {
        buf.iter().map(|l| l.display.as_str()).collect()
    }

    #[test]
    fn keeps_the_newest_lines_up_to_capacity() {
        let mut buf = LogBuffer::new(3);
        for i in 0..5 {
            buf.push(line(i, &format!("m{i}")));
        }
        assert_eq!(messages(&buf), ["m2", "m3", "m4"]);
        assert_eq!(buf.evicted(), 2);
        assert_eq!(buf.pushed(), 5);
        assert_eq!(buf.len(), 3);
    }

    #[test]
    fn late_lines_land_in_timestamp_order() {
        let mut buf = LogBuffer::new(10);
        buf.extend([line(10, "a"), line(30, "c"), line(30, "d")]);
        assert_eq!(buf.push(line(20, "b")), Some(1));
        assert_eq!(buf.push(line(30, "e")), Some(4));
        assert_eq!(buf.push(line(5, "first")), Some(0));
        assert_eq!(messages(&buf), ["first", "a", "b", "c", "d", "e"]);
    }

    #[test]
    fn a_late_line_older_than_a_full_buffer_is_dropped() {
        let mut buf = LogBuffer::new(2);
        buf.extend([line(10, "a"), line(20, "b")]);
        assert_eq!(buf.push(line(5, "old")), None);
        assert_eq!(buf.push(line(15, "mid")), Some(0));
        assert_eq!(messages(&buf), ["mid", "b"]);
    }

    #[test]
    fn bytes_are_accounted_and_cleared() {
        let mut buf = LogBuffer::new(2);
        assert_eq!(buf.approx_bytes(), 0);
        buf.push(line(1, &"x".repeat(1000)));
        let one = buf.approx_bytes();
        assert!(one >= 2000, "{one}");
        buf.push(line(2, &"y".repeat(1000)));
        buf.push(line(3, "z"));
        assert!(buf.approx_bytes() < 2 * one);
        buf.clear();
        assert!(buf.is_empty());
        assert_eq!(
            buf.approx_bytes(),
            buf.lines.capacity() * std::mem::size_of::<LogLine>()
        );
    }

    #[test]
    fn search_ignores_case_both_ways() {
        let mut buf = LogBuffer::new(10);
        buf.extend([
            line(1, "Connection refused"),
            line(2, "all good"),
            line(3, "connection RESET"),
            line(4, "Ünïcode ÉRROR"),
        ]);
        assert_eq!(buf.find_next(0, "CONNECTION", false), Some(0));
        assert_eq!(buf.find_next(1, "connection", false), Some(2));
        assert_eq!(buf.find_next(3, "connection", false), None);
        assert_eq!(buf.find_prev(3, "connection", false), Some(2));
        assert_eq!(buf.find_prev(1, "connection", false), Some(0));
        assert_eq!(buf.find_prev(99, "good", false), Some(1));
        assert_eq!(buf.find_next(99, "good", false), None);
        assert_eq!(buf.find_next(0, "", false), None);
        assert_eq!(buf.find_next(0, "érror", false), Some(3));
        assert_eq!(buf.find_next(0, "ünï", false), Some(3));
    }

    #[test]
    fn match_ranges_for_highlighting() {
        let mut buf = LogBuffer::new(10);
        buf.push(line(1, "Error: error ERROR"));
        buf.push(line(2, "日本 Ärger ärger"));
        assert_eq!(buf.match_ranges(0, "error", false), [0..5, 7..12, 13..18]);
        assert_eq!(buf.match_ranges(0, "rr", false), [1..3, 8..10, 14..16]);
        assert_eq!(buf.match_ranges(1, "ärger", false), [7..13, 14..20]);
        assert_eq!(buf.match_ranges(1, "本", false), vec![3..6]);
        assert!(buf.match_ranges(5, "x", false).is_empty());
        assert!(buf.match_ranges(0, "", false).is_empty());
        let shown = &buf.get(1).map(|l| l.display.clone()).unwrap_or_default();
        for r in buf.match_ranges(1, "ärger", false) {
            assert!(shown.is_char_boundary(r.start) && shown.is_char_boundary(r.end));
        }
    }

    #[test]
    fn ascii_matches_in_unicode_text_fall_on_boundaries() {
        let m = Matcher::new("ab").unwrap();
        let hay = "日ab日AB";
        for r in m.ranges(hay) {
            assert!(hay.is_char_boundary(r.start) && hay.is_char_boundary(r.end));
        }
        assert_eq!(m.ranges(hay), [3..5, 8..10]);
        assert!(!m.is_match("a"));
        let a = Matcher::new("a").unwrap();
        assert!(a.is_match("xAx") && a.is_match("xax"));
        assert!(
            !a.is_match("@`!\u{c1}\u{e1}"),
            "only the two cases of a letter fold"
        );
        let bracket = Matcher::new("[e").unwrap();
        assert!(bracket.is_match("x[E") && !bracket.is_match("{e"));
    }

    #[test]
    fn pretty_json_of_a_line() {
        let mut buf = LogBuffer::new(10);
        buf.push(line(
            1,
            r#"{"level":"info","msg":"hi \u001b[2J","n":[1,2]}"#,
        ));
        buf.push(line(2, r#"INFO request {"path":"/a"} trailing"#));
        buf.push(line(3, "no json here"));
        buf.push(line(4, "{broken"));
        let pretty = buf.pretty_json(0).unwrap();
        assert!(pretty.contains("\"level\": \"info\""), "{pretty}");
        assert!(pretty.contains("\\u001b[2J"), "{pretty}");
        assert!(!pretty.contains('\u{1b}'));
        assert_eq!(buf.pretty_json(1).unwrap(), "{\n  \"path\": \"/a\"\n}");
        assert_eq!(buf.pretty_json(2), None);
        assert_eq!(buf.pretty_json(3), None);
        assert_eq!(buf.pretty_json(9), None);
    }

    #[test]
    fn saves_timestamp_source_and_raw() {
        let mut buf = LogBuffer::new(10);
        buf.push(line(0, "plain\n"));
        buf.push(line(1_000, "\x1b[31mred\x1b[0m\tand tab"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("saved.log");
        assert_eq!(buf.save(&path).unwrap(), 2);
        let saved = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            saved,
            "1970-01-01T00:00:00.000Z api/1a2b3c4d plain\n\
             1970-01-01T00:00:01.000Z api/1a2b3c4d \x1b[31mred\x1b[0m\tand tab\n"
        );
    }
}
