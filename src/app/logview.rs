//! The log view's state: the lines of one tail, where the operator is in them, and what
//! they look for. It changes only through [`LogViewState::handle_key`] (a key) and
//! [`LogViewState::apply`] (the tail's events, the tail starting, a save finishing).
//!
//! Pure data and pure transitions: no terminal, no network, no clock reads (time arrives
//! with [`LogViewState::set_now`]). A save ([`LogViewAction::Save`]) is written away
//! from the event loop, from the lines [`LogViewState::saver`] copies; a change of the
//! server-side filter comes back as [`LogViewAction::Restart`] for the event loop to
//! restart the tail. The view (`ui::logs`) draws this state and reports the geometry it
//! drew, which the loop hands back ([`LogViewState::set_drawn`]), so that paging keys
//! page by what the operator sees.
//!
//! Positions are indexes into the [`LogBuffer`]. They stay on the same line while lines
//! arrive: an older line inserted above, or the oldest line evicted, shifts them.
//!
//! Three files: this one (the state, reading it, the tail's events), `logview/window.rs`
//! (which lines fit the rows and columns drawn, wrapping counted) and `logview/keys.rs`
//! (what a key does, through the key table's log commands).

mod keys;
mod window;

pub use window::{row_end, wrapped_rows};

use std::path::{Path, PathBuf};

use crate::backend::BackendError;
use crate::clock::{EpochMs, iso_utc};
use crate::logs::tail::{Following, PollReason};
use crate::logs::{LogBuffer, TailConfig, TailEvent};

/// The longest text an input line takes.
const MAX_INPUT: usize = 512;

/// The widest source label column; longer labels are cut (keeping their end).
pub const MAX_SOURCE_WIDTH: usize = 28;

/// What the event loop must do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogViewAction {
    /// The key means nothing here: nothing changed, nothing to draw.
    Ignored,
    /// The key was handled inside the view; redraw.
    None,
    /// Leave the view (and stop its tail).
    Close,
    /// Restart the tail with this server-side filter pattern (`None`: no filter). The
    /// buffer has been emptied: the new tail reads the window again.
    Restart {
        /// The CloudWatch filter pattern.
        filter: Option<String>,
    },
    /// Save the buffer to this file ([`LogViewState::saver`]).
    Save(PathBuf),
}

/// What an input line at the bottom of the view is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// `/`: search the buffer.
    Search,
    /// `f`: the server-side filter pattern.
    Filter,
    /// `S`: the file to save to.
    SavePath,
}

/// An input line being edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// What it is for.
    pub kind: InputKind,
    /// The text typed so far.
    pub text: String,
}

/// The pretty-printed JSON of one line, shown over the lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPopup {
    /// The line's position when opened, counted from 1 (for the title).
    pub line_number: usize,
    /// The pretty-printed, display-safe text, one entry per row.
    pub lines: Vec<String>,
    /// Rows scrolled off the top.
    pub scroll: usize,
}

/// How a status note reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// Something done.
    Info,
    /// Something not done, nothing broken.
    Warn,
    /// Something failed.
    Error,
}

/// A one-line note in the status line, until the next key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusNote {
    /// What it says.
    pub text: String,
    /// How it reads.
    pub kind: NoteKind,
}

/// The last error the tail reported. The tail goes on; the view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailProblem {
    /// The log group asked.
    pub group: String,
    /// What went wrong.
    pub error: BackendError,
    /// Whether the same request is being retried.
    pub retrying: bool,
    /// When it was reported.
    pub at: EpochMs,
}

/// Something for the log view, from the event loop.
#[derive(Debug)]
pub enum LogsMsg {
    /// Tail `tail` started on this many streams, or the streams could not be found.
    Started {
        /// The tail's number.
        tail: u64,
        /// The number of streams, or why there are none.
        result: Result<usize, String>,
    },
    /// Tail `tail` now follows this many streams (tasks came or went).
    Sources {
        /// The tail's number.
        tail: u64,
        /// The number of streams.
        count: usize,
    },
    /// An event of tail `tail`.
    Tail {
        /// The tail's number (events of a stopped tail are dropped).
        tail: u64,
        /// The event.
        event: TailEvent,
    },
    /// A save finished: lines written and the file, or what failed.
    Saved(Result<(usize, PathBuf), String>),
}

/// A copy of a view's lines on their way to a file.
#[derive(Debug)]
pub struct LogSave {
    path: PathBuf,
    lines: crate::logs::buffer::RawLines,
}

impl LogSave {
    /// Writes the lines; the [`LogsMsg::Saved`] that says how it went.
    pub fn write(self) -> LogsMsg {
        let path = self.path;
        LogsMsg::Saved(
            self.lines
                .save(&path)
                .map(|n| (n, path.clone()))
                .map_err(|e| format!("cannot save to {}: {e}", path.display())),
        )
    }
}

/// The rows and message columns the view last drew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Rows of lines.
    pub rows: u16,
    /// Columns for the message (after the timestamp and source).
    pub cols: u16,
}

impl Default for Geometry {
    fn default() -> Self {
        Self { rows: 20, cols: 80 }
    }
}

/// The state of one log view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogViewState {
    env: String,
    cluster: String,
    target: String,
    streams: Option<usize>,
    tail: Option<u64>,
    discovery_error: Option<String>,
    window_secs: u64,
    backfilled: bool,
    buffer: LogBuffer,
    follow: bool,
    selected: usize,
    top: usize,
    wrap: bool,
    raw: bool,
    timestamps: bool,
    sources: bool,
    search: String,
    current_match: Option<usize>,
    filter: Option<String>,
    input: Option<Input>,
    popup: Option<JsonPopup>,
    note: Option<StatusNote>,
    problem: Option<TailProblem>,
    /// How each log group follows, as the tail last said.
    following: std::collections::BTreeMap<String, Following>,
    source_width: usize,
    now: EpochMs,
    drawn: Geometry,
}

impl LogViewState {
    /// A view of `target` (e.g. `api` or `api/1a2b3c4d`) in `env`/`cluster`, keeping at
    /// most `capacity` lines, opened at `now`. It waits for [`LogsMsg::Started`].
    pub fn new(env: &str, cluster: &str, target: &str, capacity: usize, now: EpochMs) -> Self {
        Self {
            env: env.to_string(),
            cluster: cluster.to_string(),
            target: target.to_string(),
            streams: None,
            tail: None,
            discovery_error: None,
            window_secs: TailConfig::default().since.as_secs(),
            backfilled: false,
            buffer: LogBuffer::new(capacity),
            follow: true,
            selected: 0,
            top: 0,
            wrap: false,
            raw: false,
            timestamps: true,
            sources: true,
            search: String::new(),
            current_match: None,
            filter: None,
            input: None,
            popup: None,
            note: None,
            problem: None,
            following: std::collections::BTreeMap::new(),
            source_width: 0,
            now,
            drawn: Geometry::default(),
        }
    }

    // ----- reading -----

    /// `env/cluster/target`, for the title.
    pub fn title(&self) -> String {
        format!("{}/{}/{}", self.env, self.cluster, self.target)
    }

    /// What is followed: `api`, or `api/1a2b3c4d` for a task.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Streams followed (`None` until the tail has started).
    pub fn streams(&self) -> Option<usize> {
        self.streams
    }

    /// Why no stream could be followed.
    pub fn discovery_error(&self) -> Option<&str> {
        self.discovery_error.as_deref()
    }

    /// The backfill window, in seconds.
    pub fn window_secs(&self) -> u64 {
        self.window_secs
    }

    /// Whether the backfill window has been read.
    pub fn backfilled(&self) -> bool {
        self.backfilled
    }

    /// The lines.
    pub fn buffer(&self) -> &LogBuffer {
        &self.buffer
    }

    /// Whether new lines scroll into view.
    pub fn following(&self) -> bool {
        self.follow
    }

    /// The selected line (the newest while following).
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// Long lines wrap (else they are cut with an ellipsis).
    pub fn wrap(&self) -> bool {
        self.wrap
    }

    /// Structured lines show as written (else in their compact form).
    pub fn raw(&self) -> bool {
        self.raw
    }

    /// Timestamps shown.
    pub fn timestamps(&self) -> bool {
        self.timestamps
    }

    /// Sources shown.
    pub fn sources(&self) -> bool {
        self.sources
    }

    /// The search text (empty: no search).
    pub fn search(&self) -> &str {
        &self.search
    }

    /// The line the last search jump landed on.
    pub fn current_match(&self) -> Option<usize> {
        self.current_match
    }

    /// The server-side filter pattern in effect.
    pub fn filter(&self) -> Option<&str> {
        self.filter.as_deref()
    }

    /// The input line being edited.
    pub fn input(&self) -> Option<&Input> {
        self.input.as_ref()
    }

    /// The JSON popup shown.
    pub fn popup(&self) -> Option<&JsonPopup> {
        self.popup.as_ref()
    }

    /// The status note.
    pub fn note(&self) -> Option<&StatusNote> {
        self.note.as_ref()
    }

    /// How the tail follows, in short: a group that polls when it should not (denied,
    /// sampled, sessions closing) first, then one that polls, else `live`; `None`
    /// until the tail has said (during the backfill).
    pub fn follows_by(&self) -> Option<Following> {
        let polling = |f: &&Following| matches!(f, Following::Polling { .. });
        let fallen = |f: &&Following| matches!(f, Following::Polling { why, .. } if *why != PollReason::Chosen);
        let all = self.following.values();
        all.clone()
            .find(fallen)
            .or_else(|| all.clone().find(polling))
            .or_else(|| self.following.values().next())
            .copied()
    }

    /// The last error of the tail.
    pub fn problem(&self) -> Option<&TailProblem> {
        self.problem.as_ref()
    }

    /// Width of the source column: the widest label seen, at most [`MAX_SOURCE_WIDTH`].
    pub fn source_width(&self) -> usize {
        self.source_width
    }

    /// Now, as the view knows it.
    pub fn now(&self) -> EpochMs {
        self.now
    }

    /// Whether keys go to an input line (so `?` and `q` are text).
    pub fn is_editing(&self) -> bool {
        self.input.is_some()
    }

    /// The number of the tail whose events this view takes.
    pub fn tail(&self) -> Option<u64> {
        self.tail
    }

    /// The geometry last drawn.
    pub fn drawn(&self) -> Geometry {
        self.drawn
    }

    /// Takes the geometry a frame drew ([`crate::ui::Drawn`]): it changes nothing but the
    /// page size of the next paging key and where lines wrap.
    pub fn set_drawn(&mut self, geometry: Geometry) {
        self.drawn = geometry;
    }

    /// The default file to save to: `./ibet-logs-<env>-<target>-<time>.log`.
    pub fn default_save_path(&self) -> String {
        let iso = iso_utc(self.now);
        let stamp: String = iso
            .chars()
            .take(19)
            .filter(|c| *c != '-' && *c != ':')
            .collect();
        format!(
            "./ibet-logs-{}-{}-{stamp}Z.log",
            file_safe(&self.env),
            file_safe(&self.target)
        )
    }

    // ----- events -----

    /// Sets the time (for the age of errors and the default file name).
    pub fn set_now(&mut self, now: EpochMs) {
        self.now = self.now.max(now);
    }

    /// Applies a message; returns whether anything visible changed.
    pub fn apply(&mut self, msg: LogsMsg) -> bool {
        match msg {
            LogsMsg::Started { tail, result } => {
                self.tail = Some(tail);
                match result {
                    Ok(n) => {
                        self.streams = Some(n);
                        self.discovery_error = None;
                    }
                    Err(e) => {
                        self.streams = None;
                        self.discovery_error = Some(crate::text::sanitize(&e));
                    }
                }
                true
            }
            LogsMsg::Sources { tail, count } => {
                if self.tail != Some(tail) {
                    return false;
                }
                self.streams = Some(count);
                true
            }
            LogsMsg::Tail { tail, event } => self.tail == Some(tail) && self.ingest(event),
            LogsMsg::Saved(result) => {
                self.note = Some(match result {
                    Ok((n, path)) => StatusNote {
                        text: format!("saved {} lines to {}", count(n), path.display()),
                        kind: NoteKind::Info,
                    },
                    Err(e) => StatusNote {
                        text: crate::text::sanitize(&e),
                        kind: NoteKind::Error,
                    },
                });
                true
            }
        }
    }

    /// Takes one event of the tail; returns whether anything visible changed.
    pub fn ingest(&mut self, event: TailEvent) -> bool {
        match event {
            TailEvent::Lines(lines) => {
                if lines.is_empty() {
                    return false;
                }
                for line in lines {
                    let width = line.source.chars().count().min(MAX_SOURCE_WIDTH);
                    self.source_width = self.source_width.max(width);
                    let full = self.buffer.len() >= self.buffer.capacity();
                    let Some(at) = self.buffer.push(line) else {
                        continue;
                    };
                    self.selected = shifted(self.selected, full, at).unwrap_or(0);
                    self.top = shifted(self.top, full, at).unwrap_or(0);
                    self.current_match = self.current_match.and_then(|m| shifted(m, full, at));
                }
                if self.follow {
                    self.selected = self.buffer.len().saturating_sub(1);
                }
                self.problem = None;
                true
            }
            TailEvent::Error {
                group,
                error,
                retrying,
            } => {
                self.problem = Some(TailProblem {
                    group,
                    error,
                    retrying,
                    at: self.now,
                });
                true
            }
            TailEvent::Backfilled => {
                self.backfilled = true;
                true
            }
            TailEvent::Following { group, how } => self.following.insert(group, how) != Some(how),
        }
    }

    /// The lines to save to `path` (a leading `~/` is the home folder), raw and whole,
    /// copied so that they can be written away from the event loop ([`LogSave::write`]).
    pub fn saver(&self, path: &Path) -> LogSave {
        LogSave {
            path: expand_home(path),
            lines: self.buffer.raw_lines(),
        }
    }
}

/// Where a line at `index` is after a push that landed at `at`, evicting the oldest line
/// first when the buffer was `full`. `None` when the line itself was evicted.
fn shifted(index: usize, full: bool, at: usize) -> Option<usize> {
    let index = if full { index.checked_sub(1)? } else { index };
    Some(if at <= index { index + 1 } else { index })
}

/// `12,345`.
pub fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Letters, digits, `.`, `_` and `-` kept; anything else becomes `-`.
fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn expand_home(path: &Path) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => directories::BaseDirs::new()
            .map_or_else(|| path.to_path_buf(), |d| d.home_dir().join(rest)),
        Err(_) => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::logs::LogLine;

    const ROWS: u16 = 10;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn line(ts: i64, msg: &str) -> LogLine {
        LogLine::new(ts, Arc::from("api/1a2b3c4d"), msg.to_string())
    }

    fn view_with(n: usize) -> LogViewState {
        let mut v = LogViewState::new("production", "node-api", "api", 1_000, 0);
        v.apply(LogsMsg::Started {
            tail: 1,
            result: Ok(2),
        });
        let lines = (0..n)
            .map(|i| line(i as i64, &format!("line {i}")))
            .collect();
        v.apply(LogsMsg::Tail {
            tail: 1,
            event: TailEvent::Lines(lines),
        });
        v
    }

    fn press(v: &mut LogViewState, code: KeyCode) -> LogViewAction {
        v.handle_key(key(code), ROWS)
    }

    fn type_text(v: &mut LogViewState, text: &str) {
        for c in text.chars() {
            press(v, KeyCode::Char(c));
        }
    }

    fn shown(v: &LogViewState) -> Vec<String> {
        v.window(usize::from(ROWS), 80)
            .map(|i| v.buffer().get(i).map(|l| l.display.clone()).unwrap())
            .collect()
    }

    #[test]
    fn follows_new_lines_until_scrolled_up() {
        let mut v = view_with(30);
        assert!(v.following());
        assert_eq!(v.selected(), 29);
        assert_eq!(v.window(10, 80), 20..30);
        press(&mut v, KeyCode::Char('k'));
        assert!(!v.following(), "scrolling up pauses");
        assert_eq!(v.selected(), 28);
        assert_eq!(v.window(10, 80), 20..30, "the view does not jump");
        let more = (30..35).map(|i| line(i, &format!("line {i}"))).collect();
        v.ingest(TailEvent::Lines(more));
        assert_eq!(v.selected(), 28, "paused: the selection stays on its line");
        assert_eq!(v.window(10, 80), 20..30, "paused: the view stays put");
        press(&mut v, KeyCode::Char('G'));
        assert!(v.following());
        assert_eq!(v.selected(), 34);
        assert_eq!(v.window(10, 80), 25..35);
    }

    #[test]
    fn moving_down_does_not_pause_at_the_newest_line() {
        let mut v = view_with(5);
        press(&mut v, KeyCode::Down);
        assert!(v.following());
        press(&mut v, KeyCode::Up);
        press(&mut v, KeyCode::Down);
        assert!(!v.following(), "only G resumes following");
        assert_eq!(v.selected(), 4);
    }

    #[test]
    fn paging_home_and_end() {
        let mut v = view_with(100);
        press(&mut v, KeyCode::PageUp);
        assert!(!v.following());
        assert_eq!(v.selected(), 90);
        assert_eq!(v.window(10, 80), 81..91);
        press(&mut v, KeyCode::PageUp);
        assert_eq!(v.selected(), 81);
        press(&mut v, KeyCode::PageDown);
        assert_eq!(v.selected(), 90);
        press(&mut v, KeyCode::Home);
        assert_eq!((v.selected(), v.window(10, 80)), (0, 0..10));
        press(&mut v, KeyCode::Char('j'));
        assert_eq!(v.window(10, 80), 0..10);
        press(&mut v, KeyCode::End);
        assert!(v.following());
        assert_eq!(v.window(10, 80), 90..100);
    }

    #[test]
    fn the_view_stays_on_its_lines_when_old_lines_are_evicted() {
        let mut v = LogViewState::new("e", "c", "t", 20, 0);
        v.apply(LogsMsg::Started {
            tail: 1,
            result: Ok(1),
        });
        v.ingest(TailEvent::Lines(
            (0..20).map(|i| line(i, &format!("line {i}"))).collect(),
        ));
        press(&mut v, KeyCode::Char('k'));
        let before = shown(&v);
        v.ingest(TailEvent::Lines(
            (20..25).map(|i| line(i, &format!("line {i}"))).collect(),
        ));
        assert_eq!(shown(&v), before, "five evicted, the same lines shown");
        assert_eq!(
            v.buffer().get(v.selected()).map(|l| l.display.as_str()),
            Some("line 18")
        );
    }

    #[test]
    fn a_late_line_above_keeps_the_selection_on_its_line() {
        let mut v = view_with(10);
        press(&mut v, KeyCode::Up);
        press(&mut v, KeyCode::Up);
        let selected = v.buffer().get(v.selected()).map(|l| l.display.clone());
        v.ingest(TailEvent::Lines(vec![line(3, "late")]));
        assert_eq!(
            v.buffer().get(v.selected()).map(|l| l.display.clone()),
            selected
        );
    }

    #[test]
    fn search_jumps_and_n_wraps_both_ways() {
        let mut v = LogViewState::new("e", "c", "t", 100, 0);
        v.apply(LogsMsg::Started {
            tail: 1,
            result: Ok(1),
        });
        let msgs = [
            "boot",
            "ERROR one",
            "ok",
            "error two",
            "ok",
            "Error three",
            "ok",
        ];
        v.ingest(TailEvent::Lines(
            msgs.iter()
                .enumerate()
                .map(|(i, m)| line(i as i64, m))
                .collect(),
        ));
        press(&mut v, KeyCode::Char('/'));
        assert!(v.is_editing());
        type_text(&mut v, "error");
        press(&mut v, KeyCode::Enter);
        assert!(!v.is_editing());
        assert_eq!(v.search(), "error");
        assert_eq!(v.current_match(), Some(5), "the newest match first");
        assert!(!v.following(), "a search jump pauses");
        press(&mut v, KeyCode::Char('n'));
        assert_eq!(v.current_match(), Some(1), "wraps to the oldest");
        assert!(v.note().is_some_and(|n| n.text.contains("wrapped")));
        press(&mut v, KeyCode::Char('n'));
        assert_eq!(v.current_match(), Some(3));
        assert!(v.note().is_none());
        press(&mut v, KeyCode::Char('N'));
        assert_eq!(v.current_match(), Some(1));
        press(&mut v, KeyCode::Char('N'));
        assert_eq!(v.current_match(), Some(5), "wraps to the newest");
        assert_eq!(v.selected(), 5);
        press(&mut v, KeyCode::Char('/'));
        type_text(&mut v, "zzz");
        press(&mut v, KeyCode::Enter);
        assert_eq!(v.current_match(), None);
        assert!(v.note().is_some_and(|n| n.kind == NoteKind::Warn));
    }

    #[test]
    fn keys_in_an_input_are_text_and_esc_cancels() {
        let mut v = view_with(3);
        press(&mut v, KeyCode::Char('/'));
        type_text(&mut v, "q?Gx");
        assert_eq!(v.input().map(|i| i.text.as_str()), Some("q?Gx"));
        assert!(v.following(), "G was text");
        press(&mut v, KeyCode::Backspace);
        assert_eq!(v.input().map(|i| i.text.as_str()), Some("q?G"));
        assert_eq!(press(&mut v, KeyCode::Esc), LogViewAction::None);
        assert!(!v.is_editing());
        assert_eq!(v.search(), "", "Esc leaves the search as it was");
        assert_eq!(press(&mut v, KeyCode::Esc), LogViewAction::Close);
    }

    #[test]
    fn a_new_filter_restarts_the_tail_on_an_empty_buffer() {
        let mut v = view_with(10);
        press(&mut v, KeyCode::Char('f'));
        type_text(&mut v, " ERROR ");
        assert_eq!(
            press(&mut v, KeyCode::Enter),
            LogViewAction::Restart {
                filter: Some("ERROR".into())
            }
        );
        assert_eq!(v.filter(), Some("ERROR"));
        assert!(v.buffer().is_empty());
        assert!(v.following());
        // Events of the old tail are dropped; the new tail's are taken.
        assert!(!v.apply(LogsMsg::Tail {
            tail: 1,
            event: TailEvent::Lines(vec![line(99, "stale")]),
        }));
        assert!(v.buffer().is_empty());
        v.apply(LogsMsg::Started {
            tail: 2,
            result: Ok(2),
        });
        v.apply(LogsMsg::Tail {
            tail: 2,
            event: TailEvent::Lines(vec![line(100, "ERROR fresh")]),
        });
        assert_eq!(v.buffer().len(), 1);
        // The same filter again: nothing to restart.
        press(&mut v, KeyCode::Char('f'));
        assert_eq!(v.input().map(|i| i.text.as_str()), Some("ERROR"));
        assert_eq!(press(&mut v, KeyCode::Enter), LogViewAction::None);
        // Emptied: the filter goes.
        press(&mut v, KeyCode::Char('f'));
        press(&mut v, KeyCode::Char('u'));
        v.handle_key(
            KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL),
            ROWS,
        );
        assert_eq!(
            press(&mut v, KeyCode::Enter),
            LogViewAction::Restart { filter: None }
        );
    }

    #[test]
    fn save_writes_the_raw_lines() {
        let mut v = LogViewState::new("production", "node-api", "api/1a2b3c4d", 100, 0);
        v.apply(LogsMsg::Started {
            tail: 1,
            result: Ok(1),
        });
        v.ingest(TailEvent::Lines(vec![
            line(1_000, "\x1b[31mred\x1b[0m\tand a tab"),
            line(2_000, "a very long line ".repeat(40).trim_end()),
        ]));
        press(&mut v, KeyCode::Char('S'));
        let default = v.input().map(|i| i.text.clone()).unwrap();
        assert_eq!(
            default,
            "./ibet-logs-production-api-1a2b3c4d-19700101T000000Z.log"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("saved.log");
        v.handle_key(
            KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL),
            ROWS,
        );
        type_text(&mut v, &path.display().to_string());
        let action = press(&mut v, KeyCode::Enter);
        assert_eq!(action, LogViewAction::Save(path.clone()));
        let msg = v.saver(&path).write();
        v.apply(msg);
        assert!(v.note().is_some_and(|n| n.text.contains("saved 2 lines")));
        let saved = std::fs::read_to_string(&path).unwrap();
        let want = format!(
            "1970-01-01T00:00:01.000Z api/1a2b3c4d \x1b[31mred\x1b[0m\tand a tab\n\
             1970-01-01T00:00:02.000Z api/1a2b3c4d {}\n",
            "a very long line ".repeat(40).trim_end()
        );
        assert_eq!(saved, want, "raw and whole");
        let bad = v.saver(Path::new("/nonexistent-dir/x.log")).write();
        v.apply(bad);
        assert!(v.note().is_some_and(|n| n.kind == NoteKind::Error));
    }

    #[test]
    fn structured_lines_are_compact_until_r_and_search_finds_what_is_shown() {
        let mut v = view_with(0);
        let raw = r#"{"time":"2026-12-02T08:11:34.603Z","level":"INFO","msg":"block imported","number":42}"#;
        v.apply(LogsMsg::Tail {
            tail: 1,
            event: TailEvent::Lines(vec![line(1, raw), line(2, "plain line")]),
        });
        assert_eq!(shown(&v)[0], "INFO  block imported number=42");
        press(&mut v, KeyCode::Char('/'));
        type_text(&mut v, "\"msg\"");
        press(&mut v, KeyCode::Enter);
        assert_eq!(v.current_match(), None, "the JSON keys are not shown");
        press(&mut v, KeyCode::Char('r'));
        assert!(v.raw());
        assert!(v.note().is_some_and(|n| n.text.starts_with("raw lines")));
        press(&mut v, KeyCode::Char('n'));
        assert_eq!(
            v.current_match(),
            Some(0),
            "raw lines are searched as written"
        );
        assert_eq!(v.buffer().get(0).map(|l| l.text(v.raw())).unwrap(), raw);
        press(&mut v, KeyCode::Char('r'));
        assert_eq!(
            v.current_match(),
            None,
            "the match is gone from the compact line"
        );
    }

    #[test]
    fn toggles_clear_and_unknown_keys() {
        let mut v = view_with(5);
        press(&mut v, KeyCode::Char('w'));
        press(&mut v, KeyCode::Char('t'));
        press(&mut v, KeyCode::Char('s'));
        assert!(v.wrap() && !v.timestamps() && !v.sources());
        let before = v.clone();
        for c in ['x', 'z', '!', '0', 'Z', 'd'] {
            assert_eq!(press(&mut v, KeyCode::Char(c)), LogViewAction::Ignored);
        }
        assert_eq!(
            v.handle_key(
                KeyEvent::new(KeyCode::Char('g'), KeyModifiers::CONTROL),
                ROWS
            ),
            LogViewAction::Ignored
        );
        assert_eq!(v, before, "unknown keys change nothing");
        press(&mut v, KeyCode::Char('c'));
        assert!(v.buffer().is_empty());
        assert!(v.following());
    }

    #[test]
    fn pretty_json_popup_opens_scrolls_and_closes() {
        let mut v = LogViewState::new("e", "c", "t", 100, 0);
        v.apply(LogsMsg::Started {
            tail: 1,
            result: Ok(1),
        });
        v.ingest(TailEvent::Lines(vec![
            line(1, r#"{"level":"info","msg":"hi","n":[1,2]}"#),
            line(2, "plain words"),
        ]));
        press(&mut v, KeyCode::Enter);
        assert!(v.popup().is_none());
        assert!(v.note().is_some_and(|n| n.text.contains("no JSON")));
        press(&mut v, KeyCode::Up);
        press(&mut v, KeyCode::Enter);
        let popup = v.popup().unwrap();
        assert_eq!(popup.line_number, 1);
        assert_eq!(popup.lines[0], "{");
        press(&mut v, KeyCode::Char('j'));
        assert_eq!(v.popup().unwrap().scroll, 1);
        assert_eq!(press(&mut v, KeyCode::Char('x')), LogViewAction::Ignored);
        assert_eq!(press(&mut v, KeyCode::Esc), LogViewAction::None);
        assert!(v.popup().is_none(), "Esc closes the popup, not the view");
    }

    #[test]
    fn errors_are_kept_until_lines_flow_again() {
        let mut v = view_with(1);
        v.set_now(5_000);
        v.ingest(TailEvent::Error {
            group: "/ecs/api".into(),
            error: BackendError::Throttled("Rate exceeded".into()),
            retrying: true,
        });
        let p = v.problem().unwrap();
        assert_eq!((p.at, p.retrying), (5_000, true));
        v.ingest(TailEvent::Lines(vec![line(9, "again")]));
        assert!(v.problem().is_none());
    }

    #[test]
    fn wrapped_lines_take_rows_and_the_window_counts_them() {
        assert_eq!(wrapped_rows("", 10), 1);
        assert_eq!(wrapped_rows("abcdefghij", 10), 1);
        assert_eq!(wrapped_rows("abcdefghijk", 10), 2);
        assert_eq!(
            wrapped_rows("日本語日本", 3),
            5,
            "a wide character never splits"
        );
        let mut v = LogViewState::new("e", "c", "t", 100, 0);
        v.apply(LogsMsg::Started {
            tail: 1,
            result: Ok(1),
        });
        v.ingest(TailEvent::Lines(vec![
            line(1, "short"),
            line(2, &"x".repeat(25)),
            line(3, "short"),
        ]));
        press(&mut v, KeyCode::Char('w'));
        // 10 columns: 1 + 3 + 1 rows.
        assert_eq!(v.window(5, 10), 0..3);
        assert_eq!(v.window(4, 10), 1..3);
        assert_eq!(v.window(2, 10), 2..3);
    }

    #[test]
    fn counts_read_with_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(100_000), "100,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }
}
