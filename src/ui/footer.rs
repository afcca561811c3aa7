//! The footer: the line of key reminders under every screen, or what takes its place
//! (the filter being typed, a notice, an open dialog's note that it takes the keys).
//!
//! Each screen lists its reminders in reading order, each with a rank: rank 0 always
//! shows (help and the way out), then the lower the rank, the sooner a reminder shows
//! as the width allows. So a narrow terminal keeps the keys an operator reaches for
//! most (logs, tasks, switching the ALB, the next problem) and drops the ones that
//! explain themselves (the arrows) or are rarer (the pane keys). What a key does is the
//! key table's business (`app::keys`); this module only reminds.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Theme;
use crate::app::state::{Focus, Modal, Screen, State};

/// One reminder: the key as written, what it does, and its rank (0: always shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reminder {
    /// The key as the footer writes it.
    pub key: &'static str,
    /// What it does, in a word or two.
    pub what: &'static str,
    rank: u8,
}

const fn r(key: &'static str, what: &'static str, rank: u8) -> Reminder {
    Reminder { key, what, rank }
}

/// The overview's reminders. At 80 columns: tasks, logs, switch, restart, the next
/// problem, environments, help and quit.
pub const OVERVIEW: &[Reminder] = &[
    r("↑↓", "move", 9),
    r("⏎", "tasks", 2),
    r("l", "logs", 1),
    r("s", "switch ALB", 3),
    r("r", "restart", 6),
    r("u", "release", 10),
    r("e", "problem", 4),
    r("←→", "pane", 12),
    r("p", "path", 8),
    r("[ ]", "cluster", 11),
    r("Tab", "env", 5),
    r("/", "filter", 7),
    r("?", "help", 0),
    r("q", "quit", 0),
];

/// The overview with the request path focused.
pub const PATH: &[Reminder] = &[
    r("↑↓", "hop", 1),
    r("⏎", "jump", 1),
    r("p/Esc", "back", 0),
    r("[ ]", "cluster", 3),
    r("Tab", "env", 2),
    r("?", "help", 0),
    r("q", "quit", 0),
];

/// The tasks screen.
pub const TASKS: &[Reminder] = &[
    r("↑↓", "move", 8),
    r("r", "restart task", 3),
    r("u", "release", 6),
    r("l", "logs", 2),
    r("x", "shell", 5),
    r("Esc", "back", 1),
    r("Tab", "env", 4),
    r("/", "filter", 7),
    r("?", "help", 0),
    r("q", "quit", 0),
];

/// The log view: the way back and the help always.
pub const LOGS: &[Reminder] = &[
    r("↑↓", "scroll", 1),
    r("G", "follow", 2),
    r("/", "search", 3),
    r("n N", "next/prev", 4),
    r("f", "filter", 5),
    r("⏎", "JSON", 6),
    r("r", "raw", 7),
    r("S", "save", 8),
    r("w t s", "wrap/time/source", 9),
    r("c", "clear", 10),
    r("?", "help", 0),
    r("Esc", "back", 0),
];

/// Columns a reminder takes: the key, a space, the words and two spaces.
fn width(reminder: &Reminder) -> usize {
    reminder.key.chars().count() + reminder.what.chars().count() + 3
}

/// The reminders of `all` that fit in `room` columns, in reading order: every rank-0
/// one, then by rank each that still fits (a long one that does not fit leaves its room
/// to shorter ones of a lower priority).
pub fn fitting(all: &[Reminder], room: usize) -> Vec<Reminder> {
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by_key(|&i| (all[i].rank, i));
    let mut shown = vec![false; all.len()];
    let mut used = 0;
    for i in order {
        let w = width(&all[i]);
        if all[i].rank == 0 || used + w <= room {
            used += w;
            shown[i] = true;
        }
    }
    all.iter()
        .zip(shown)
        .filter_map(|(reminder, shown)| shown.then_some(*reminder))
        .collect()
}

/// Draws the footer.
pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    if state.filter.editing {
        let line = Line::from(vec![
            Span::styled(" filter ", theme.accent()),
            Span::styled(format!("/{}", state.filter.text), theme.text()),
            Span::styled("█", theme.accent()),
            Span::styled("   ⏎ keep  Esc clear", theme.dim()),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    if let Some((notice, _)) = &state.notice {
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(format!(" {notice}"), theme.warn()))),
            area,
        );
        return;
    }
    // A popup takes the keys: the screen's reminders would not work until it closes.
    if matches!(
        state.modal,
        Some(Modal::Dialog(_) | Modal::Revisions(_) | Modal::Containers(_))
    ) {
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(
                " the open dialog takes the keys (listed at its bottom)",
                theme.dim(),
            ))),
            area,
        );
        return;
    }
    let all = match state.screen {
        Screen::Overview if state.focus == Focus::Path => PATH,
        Screen::Overview => OVERVIEW,
        Screen::Tasks { .. } => TASKS,
        Screen::Logs { .. } => LOGS,
    };
    let mut spans = vec![Span::raw(" ")];
    if !state.filter.text.is_empty() && !matches!(state.screen, Screen::Logs { .. }) {
        spans.push(Span::styled(
            format!("/{} ", state.filter.text),
            theme.accent(),
        ));
        spans.push(Span::styled("(Esc clears)  ", theme.dim()));
    }
    let used: usize = spans.iter().map(Span::width).sum();
    for reminder in fitting(all, usize::from(area.width).saturating_sub(used)) {
        spans.push(Span::styled(reminder.key, theme.accent()));
        spans.push(Span::styled(format!(" {}  ", reminder.what), theme.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(all: &[Reminder], room: usize) -> String {
        fitting(all, room)
            .iter()
            .map(|r| format!("{} {}", r.key, r.what))
            .collect::<Vec<_>>()
            .join("  ")
    }

    #[test]
    fn at_80_columns_the_overview_keeps_the_keys_reached_for_most() {
        assert_eq!(
            line(OVERVIEW, 79),
            "⏎ tasks  l logs  s switch ALB  r restart  e problem  Tab env  ? help  q quit"
        );
        // Narrower, the rarer ones go first; logs, help and quit stay.
        assert_eq!(line(OVERVIEW, 40), "⏎ tasks  l logs  ? help  q quit");
        assert_eq!(line(OVERVIEW, 10), "? help  q quit");
        // Wide, everything, in reading order.
        assert_eq!(fitting(OVERVIEW, 200), OVERVIEW.to_vec());
    }

    #[test]
    fn what_is_shown_fits_the_room_unless_only_the_fixed_ones_are_left() {
        for all in [OVERVIEW, PATH, TASKS, LOGS] {
            let fixed: usize = all.iter().filter(|r| r.rank == 0).map(width).sum();
            for room in 0..200 {
                let used: usize = fitting(all, room).iter().map(width).sum();
                assert!(used <= room.max(fixed), "{room}: {used}");
            }
        }
    }

    #[test]
    fn the_tasks_screen_and_the_log_view_at_80_columns() {
        // The arrows explain themselves: they give their room to the shell.
        assert_eq!(
            line(TASKS, 79),
            "r restart task  u release  l logs  x shell  Esc back  Tab env  ? help  q quit"
        );
        assert_eq!(
            line(LOGS, 79),
            "↑↓ scroll  G follow  / search  n N next/prev  f filter  ? help  Esc back"
        );
    }
}
