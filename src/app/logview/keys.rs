//! What a key does to the log view: the key table's log commands ([`LogCommand`]) on the
//! lines, the input line (search, filter, save path) and the JSON popup. It changes only
//! the view's state and says what the event loop must do ([`LogViewAction`]).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use std::path::PathBuf;

use unicode_width::UnicodeWidthChar;

use super::{
    Input, InputKind, JsonPopup, LogViewAction, LogViewState, MAX_INPUT, NoteKind, StatusNote,
};
use crate::app::keys::LogCommand;

impl LogViewState {
    /// Applies a key. `viewport_height` is the number of rows of lines (the page size).
    /// Unknown keys do nothing and return [`LogViewAction::Ignored`].
    pub fn handle_key(&mut self, key: KeyEvent, viewport_height: u16) -> LogViewAction {
        if key.kind == KeyEventKind::Release {
            return LogViewAction::Ignored;
        }
        let rows = usize::from(viewport_height.max(1));
        if self.input.is_some() {
            return self.input_key(key, rows);
        }
        if self.popup.is_some() {
            return self.popup_key(key, rows);
        }
        if key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return LogViewAction::Ignored;
        }
        let previous_note = self.note.take();
        let action = match crate::app::keys::log_command_for(&key) {
            Some(LogCommand::Close) => LogViewAction::Close,
            Some(LogCommand::Move(delta)) => self.move_by(delta, rows),
            Some(LogCommand::Page(pages)) => self.move_by(pages * page(rows), rows),
            Some(LogCommand::Oldest) => {
                self.follow = false;
                self.selected = 0;
                self.top = 0;
                LogViewAction::None
            }
            Some(LogCommand::Newest) => {
                self.follow = true;
                self.selected = self.buffer.len().saturating_sub(1);
                LogViewAction::None
            }
            Some(LogCommand::Search) => self.open_input(InputKind::Search, self.search.clone()),
            Some(LogCommand::NextMatch) => self.next_match(true, rows),
            Some(LogCommand::PrevMatch) => self.next_match(false, rows),
            Some(LogCommand::Filter) => {
                let current = self.filter.clone().unwrap_or_default();
                self.open_input(InputKind::Filter, current)
            }
            Some(LogCommand::Save) => {
                self.open_input(InputKind::SavePath, self.default_save_path())
            }
            Some(LogCommand::Wrap) => {
                self.wrap = !self.wrap;
                self.settle(rows);
                LogViewAction::None
            }
            Some(LogCommand::Raw) => {
                self.raw = !self.raw;
                if let Some(i) = self.current_match
                    && self
                        .buffer
                        .match_ranges(i, &self.search, self.raw)
                        .is_empty()
                {
                    self.current_match = None;
                }
                self.settle(rows);
                self.say(if self.raw {
                    "raw lines: JSON and logfmt as written (r: compact)"
                } else {
                    "compact lines: level, message, then the fields (r: raw)"
                });
                LogViewAction::None
            }
            Some(LogCommand::Timestamps) => {
                self.timestamps = !self.timestamps;
                LogViewAction::None
            }
            Some(LogCommand::Sources) => {
                self.sources = !self.sources;
                LogViewAction::None
            }
            Some(LogCommand::Clear) => {
                self.clear_lines();
                self.say("cleared; new lines appear as they arrive");
                LogViewAction::None
            }
            Some(LogCommand::Json) => self.open_json(),
            // `?` is the app's (the help overlay).
            Some(LogCommand::Help) | None => LogViewAction::Ignored,
        };
        if action == LogViewAction::Ignored {
            self.note = previous_note;
        }
        action
    }

    fn say(&mut self, text: &str) {
        self.note = Some(StatusNote {
            text: text.to_string(),
            kind: NoteKind::Info,
        });
    }

    fn warn(&mut self, text: String) {
        self.note = Some(StatusNote {
            text,
            kind: NoteKind::Warn,
        });
    }

    /// Moves the selection by `delta` lines; moving up (or anywhere off the newest line)
    /// pauses following.
    fn move_by(&mut self, delta: i64, rows: usize) -> LogViewAction {
        let len = self.buffer.len();
        if len == 0 {
            return LogViewAction::None;
        }
        let last = len as i64 - 1;
        let target = (self.selected as i64 + delta).clamp(0, last) as usize;
        if delta < 0 || target as i64 != last || !self.follow {
            if self.follow {
                // Pausing: remember what was on screen so the view does not jump.
                self.top = self.window(rows, self.message_cols()).start;
            }
            self.follow = false;
        }
        if !self.follow && delta.unsigned_abs() > 1 {
            // A page key scrolls the view with the selection.
            let top = (self.top as i64 + delta).clamp(0, last) as usize;
            self.top = top;
        }
        self.selected = target;
        self.settle(rows);
        LogViewAction::None
    }

    /// Stores the top the view shows now, so that the next move starts from it.
    fn settle(&mut self, rows: usize) {
        if !self.follow {
            self.top = self.window(rows, self.message_cols()).start;
        }
    }

    fn message_cols(&self) -> usize {
        usize::from(self.drawn.cols.max(1))
    }

    /// Selects line `index`, paused, with some lines of context above it.
    fn jump_to(&mut self, index: usize, rows: usize) {
        self.follow = false;
        self.selected = index;
        self.top = index.saturating_sub(rows / 2);
        self.settle(rows);
    }

    fn next_match(&mut self, forward: bool, rows: usize) -> LogViewAction {
        if self.search.is_empty() {
            self.warn("no search: press / to search".into());
            return LogViewAction::None;
        }
        let len = self.buffer.len();
        let from = self.selected.min(len.saturating_sub(1));
        let found = if forward {
            self.buffer
                .find_next(from + 1, &self.search, self.raw)
                .map(|i| (i, false))
                .or_else(|| {
                    self.buffer
                        .find_next(0, &self.search, self.raw)
                        .map(|i| (i, true))
                })
        } else {
            from.checked_sub(1)
                .and_then(|f| self.buffer.find_prev(f, &self.search, self.raw))
                .map(|i| (i, false))
                .or_else(|| {
                    self.buffer
                        .find_prev(usize::MAX, &self.search, self.raw)
                        .map(|i| (i, true))
                })
        };
        let Some((i, wrapped)) = found else {
            self.current_match = None;
            let text = format!("no line matches /{}", self.search);
            self.warn(text);
            return LogViewAction::None;
        };
        self.current_match = Some(i);
        self.jump_to(i, rows);
        if wrapped {
            self.say(if forward {
                "search wrapped to the oldest line"
            } else {
                "search wrapped to the newest line"
            });
        }
        LogViewAction::None
    }

    /// A new search: the nearest match at or above the selected line (the newest one
    /// while following), else the first below it.
    fn start_search(&mut self, text: String, rows: usize) -> LogViewAction {
        self.search = text;
        self.current_match = None;
        if self.search.is_empty() {
            return LogViewAction::None;
        }
        let from = self.selected;
        let found = self
            .buffer
            .find_prev(from, &self.search, self.raw)
            .or_else(|| self.buffer.find_next(from, &self.search, self.raw));
        if let Some(i) = found {
            self.current_match = Some(i);
            self.jump_to(i, rows);
        } else {
            let text = format!("no line matches /{}", self.search);
            self.warn(text);
        }
        LogViewAction::None
    }

    fn open_input(&mut self, kind: InputKind, text: String) -> LogViewAction {
        self.input = Some(Input { kind, text });
        LogViewAction::None
    }

    fn input_key(&mut self, key: KeyEvent, rows: usize) -> LogViewAction {
        let Some(input) = self.input.as_mut() else {
            return LogViewAction::Ignored;
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => {
                self.input = None;
                LogViewAction::None
            }
            KeyCode::Enter => {
                let Some(Input { kind, text }) = self.input.take() else {
                    return LogViewAction::Ignored;
                };
                self.note = None;
                match kind {
                    InputKind::Search => self.start_search(text, rows),
                    InputKind::Filter => self.set_filter(&text),
                    InputKind::SavePath => {
                        let path = text.trim();
                        if path.is_empty() {
                            LogViewAction::None
                        } else {
                            LogViewAction::Save(PathBuf::from(path))
                        }
                    }
                }
            }
            KeyCode::Backspace => {
                input.text.pop();
                LogViewAction::None
            }
            KeyCode::Char('u') if ctrl => {
                input.text.clear();
                LogViewAction::None
            }
            KeyCode::Char(c)
                if !ctrl
                    && !c.is_control()
                    && input.text.chars().count() < MAX_INPUT
                    && c.width().is_some() =>
            {
                input.text.push(c);
                LogViewAction::None
            }
            _ => LogViewAction::Ignored,
        }
    }

    fn set_filter(&mut self, text: &str) -> LogViewAction {
        let text = text.trim();
        let filter = (!text.is_empty()).then(|| text.to_string());
        if filter == self.filter {
            return LogViewAction::None;
        }
        self.filter.clone_from(&filter);
        self.clear_lines();
        self.tail = None;
        self.backfilled = false;
        self.problem = None;
        self.say(match &self.filter {
            Some(_) => "filter set: reading the window again",
            None => "filter removed: reading the window again",
        });
        LogViewAction::Restart { filter }
    }

    fn clear_lines(&mut self) {
        self.buffer.clear();
        self.selected = 0;
        self.top = 0;
        self.follow = true;
        self.current_match = None;
    }

    fn open_json(&mut self) -> LogViewAction {
        if self.buffer.is_empty() {
            return LogViewAction::None;
        }
        match self.buffer.pretty_json(self.selected) {
            Some(text) => {
                self.popup = Some(JsonPopup {
                    line_number: self.selected + 1,
                    lines: text.lines().map(str::to_string).collect(),
                    scroll: 0,
                });
            }
            None => self.warn("the selected line holds no JSON".into()),
        }
        LogViewAction::None
    }

    fn popup_key(&mut self, key: KeyEvent, rows: usize) -> LogViewAction {
        let Some(popup) = self.popup.as_mut() else {
            return LogViewAction::Ignored;
        };
        let last = popup.lines.len().saturating_sub(1);
        match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => self.popup = None,
            KeyCode::Down | KeyCode::Char('j') => popup.scroll = (popup.scroll + 1).min(last),
            KeyCode::Up | KeyCode::Char('k') => popup.scroll = popup.scroll.saturating_sub(1),
            KeyCode::PageDown => popup.scroll = (popup.scroll + rows).min(last),
            KeyCode::PageUp => popup.scroll = popup.scroll.saturating_sub(rows),
            KeyCode::Home | KeyCode::Char('g') => popup.scroll = 0,
            _ => return LogViewAction::Ignored,
        }
        LogViewAction::None
    }
}

/// A page: the viewport less one line of overlap.
fn page(rows: usize) -> i64 {
    rows.saturating_sub(1).max(1) as i64
}
