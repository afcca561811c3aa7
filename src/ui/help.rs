//! The `?` help overlay: the keys of the screen it is opened on, grouped by where they
//! work. Taller than the screen (the overview's keys at 80x24), it scrolls: the update
//! moves `State::help_scroll`, this view clamps it and says how far it can go.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::Theme;
use super::widgets::{centered, pane};

/// Every key the console knows: (section, key, what it does). The keys of a section
/// stay together: the overlay prints a section's title where its keys begin.
pub const KEYS: &[(&str, &str, &str)] = &[
    (
        "everywhere",
        "Tab / Shift-Tab",
        "next / previous environment",
    ),
    ("everywhere", "1 … 9", "environment by number"),
    (
        "everywhere",
        "/",
        "filter the current table (Enter keeps, Esc clears)",
    ),
    ("everywhere", "Esc", "clear the filter, then go back"),
    (
        "everywhere",
        "Ctrl-r",
        "refresh now (any key ends \"polls slowed\" for a minute)",
    ),
    ("everywhere", "Ctrl-l", "repaint the whole screen"),
    (
        "everywhere",
        "e",
        "jump to the next current problem (worst first)",
    ),
    (
        "everywhere",
        "?",
        "this help (any of ? Esc q Enter closes it)",
    ),
    ("everywhere", "q / Ctrl-c", "quit"),
    ("overview", "↑ ↓ / j k", "move in the focused pane"),
    ("overview", "PgUp PgDn g G", "page, first, last"),
    ("overview", "← → / h", "focus clusters / services"),
    ("overview", "[ ]", "previous / next cluster"),
    ("overview", "Enter", "open the service's tasks"),
    ("overview", "l", "live logs of the selected service"),
    (
        "overview",
        "s",
        "switch the internal ALB to the other general node (sync gate)",
    ),
    (
        "overview",
        "r",
        "restart the selected service (new deployment)",
    ),
    (
        "overview",
        "u",
        "release: pick a revision, see its diff, confirm",
    ),
    (
        "overview",
        "b",
        "roll back one step (to the previous revision)",
    ),
    (
        "overview",
        "p",
        "request path: ↑↓ pick a hop, Enter goes there",
    ),
    (
        "tasks",
        "↑ ↓ / j k",
        "select a task (its containers show below)",
    ),
    (
        "tasks",
        "r",
        "restart the selected task (stop it; the service replaces it)",
    ),
    ("tasks", "R", "restart the whole service (new deployment)"),
    (
        "tasks",
        "u",
        "release: pick a revision, see its diff, confirm",
    ),
    (
        "tasks",
        "b",
        "roll back one step (to the previous revision)",
    ),
    ("tasks", "l", "live logs of the selected task"),
    ("tasks", "Esc", "back to the overview"),
    (
        "actions",
        "y / type name",
        "confirm (danger environments: type the environment name)",
    ),
    (
        "actions",
        "O",
        "override a failed sync gate (asks again; audited)",
    ),
    ("actions", "n / Esc", "cancel"),
    (
        "actions",
        "b (rollout)",
        "rollout view: roll back a failed or stuck rollout",
    ),
    (
        "logs",
        "↑ ↓ / j k",
        "select a line; going up pauses following",
    ),
    ("logs", "PgUp PgDn", "page up / down"),
    ("logs", "g / Home", "oldest line"),
    ("logs", "G / End", "newest line, and follow again"),
    ("logs", "/  n  N", "search, next / previous match (wraps)"),
    (
        "logs",
        "f",
        "server-side filter pattern (restarts the tail)",
    ),
    ("logs", "Enter", "pretty JSON of the selected line"),
    ("logs", "w  t  s", "wrap long lines, timestamps, sources"),
    ("logs", "S", "save the lines to a file (raw, whole)"),
    ("logs", "c", "clear the lines shown"),
    ("logs", "Esc / q", "back (the tail stops)"),
    ("logs", "?", "this help"),
    ("logs", "Ctrl-l", "repaint the whole screen"),
    ("logs", "Ctrl-c", "quit"),
];

/// The sections shown on the overview.
pub const OVERVIEW_SECTIONS: &[&str] = &["everywhere", "overview", "actions"];

/// The sections shown on the tasks screen.
pub const TASKS_SECTIONS: &[&str] = &["everywhere", "tasks", "actions"];

/// The sections shown on the log view (its keys are its own).
pub const LOG_SECTIONS: &[&str] = &["logs"];

/// The widest the overlay gets.
const MAX_WIDTH: u16 = 78;

/// The key column: two spaces of indent and the key, padded.
const KEY_COLUMN: usize = 18;

/// Draws the overlay of `sections` centred over `area`, scrolled down `scroll` rows (at
/// most as far as the last row), and returns the furthest it can scroll at this size (0
/// when everything fits). A description too long for its column wraps under itself.
pub fn render(theme: &Theme, frame: &mut Frame, area: Rect, sections: &[&str], scroll: u16) -> u16 {
    let width = area.width.min(MAX_WIDTH);
    let lines = help_lines(theme, sections, usize::from(width.saturating_sub(2)));
    let total = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let height = area.height.min(total.saturating_add(2));
    let shown = height.saturating_sub(2);
    let max_scroll = total.saturating_sub(shown);
    let offset = scroll.min(max_scroll);
    let popup = centered(area, width, height);
    let mut block = pane(Line::from(" Keys "), theme, true);
    if max_scroll > 0 {
        let first = offset + 1;
        let last = offset + shown;
        block = block.title_bottom(Line::from(Span::styled(
            format!(" ↑↓ scroll · {first}–{last} of {total} "),
            theme.dim(),
        )));
    }
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).scroll((offset, 0)).block(block),
        popup,
    );
    max_scroll
}

/// The overlay's rows at `cols` inside: each section's title, its keys with their
/// descriptions wrapped in the description column, a blank row between sections.
fn help_lines<'a>(theme: &Theme, sections: &[&str], cols: usize) -> Vec<Line<'a>> {
    let described = cols.saturating_sub(KEY_COLUMN);
    let mut lines = Vec::new();
    let mut section = "";
    for (sec, key, what) in KEYS.iter().filter(|k| sections.contains(&k.0)) {
        if *sec != section {
            if !section.is_empty() {
                lines.push(Line::default());
            }
            lines.push(Line::from(Span::styled((*sec).to_string(), theme.accent())));
            section = sec;
        }
        let key = format!("  {key:<16}");
        // Too narrow for two columns: the description follows the key and wraps at the
        // edge.
        if described < 12 {
            for (i, part) in wrap_words(&format!("{key}{what}"), cols.max(1))
                .into_iter()
                .enumerate()
            {
                let style = if i == 0 { theme.text() } else { theme.dim() };
                lines.push(Line::from(Span::styled(part, style)));
            }
            continue;
        }
        for (i, part) in wrap_words(what, described).into_iter().enumerate() {
            let left = if i == 0 {
                key.clone()
            } else {
                " ".repeat(KEY_COLUMN)
            };
            lines.push(Line::from(vec![
                Span::styled(left, theme.text()),
                Span::styled(part, theme.dim()),
            ]));
        }
    }
    lines
}

/// `text` in rows of at most `cols` columns, broken between words (a word longer than a
/// row is broken inside).
fn wrap_words(text: &str, cols: usize) -> Vec<String> {
    let mut rows = Vec::new();
    let mut row = String::new();
    let mut used = 0;
    for word in text.split(' ') {
        let mut word = word;
        let mut width = crate::text::display_width(word);
        if used > 0 && used + 1 + width > cols {
            rows.push(std::mem::take(&mut row));
            used = 0;
        }
        if used > 0 {
            row.push(' ');
            used += 1;
        }
        while width > cols {
            let head = crate::text::truncate_to_width(word, cols - used);
            if head.is_empty() {
                break;
            }
            row.push_str(head);
            rows.push(std::mem::take(&mut row));
            used = 0;
            word = &word[head.len()..];
            width = crate::text::display_width(word);
        }
        row.push_str(word);
        used += width;
    }
    if !row.is_empty() || rows.is_empty() {
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;

    /// The screen's text with the help drawn at `scroll`, and the furthest scroll.
    fn draw(w: u16, h: u16, sections: &[&str], scroll: u16) -> (String, u16) {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        let theme = Theme::default_theme();
        let mut max = 0;
        terminal
            .draw(|f| max = render(&theme, f, f.area(), sections, scroll))
            .expect("draw");
        let buf = terminal.backend().buffer();
        let text = (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n");
        (text, max)
    }

    #[test]
    fn every_key_is_reachable_at_80x24_by_scrolling() {
        for sections in [OVERVIEW_SECTIONS, TASKS_SECTIONS, LOG_SECTIONS] {
            let (_, max) = draw(80, 24, sections, 0);
            let mut seen = String::new();
            for scroll in 0..=max {
                seen.push_str(&draw(80, 24, sections, scroll).0);
            }
            for (_, key, what) in KEYS.iter().filter(|k| sections.contains(&k.0)) {
                assert!(seen.contains(key.trim()), "{key} never shown");
                let last_word = what.rsplit(' ').next().unwrap_or_default();
                assert!(seen.contains(last_word), "{what} cut");
            }
        }
        let (top, max) = draw(80, 24, OVERVIEW_SECTIONS, 0);
        assert!(max > 0, "the overview's keys are taller than 24 rows");
        assert!(top.contains(&format!("1–22 of {}", 22 + max)), "{top}");
        // Scrolling past the end stops at the last row.
        let (bottom, _) = draw(80, 24, OVERVIEW_SECTIONS, max + 5);
        assert!(bottom.contains("cancel"));
        // Large enough, nothing scrolls and nothing says so.
        let (all, max) = draw(160, 48, OVERVIEW_SECTIONS, 3);
        assert_eq!(max, 0);
        assert!(!all.contains("scroll ·"));
    }

    #[test]
    fn descriptions_wrap_between_words() {
        assert_eq!(
            wrap_words("switch the internal ALB", 12),
            ["switch the", "internal ALB"]
        );
        assert_eq!(wrap_words("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap_words("", 4), [""]);
        assert_eq!(wrap_words("a b", 3), ["a b"]);
    }

    #[test]
    fn sections_are_contiguous_and_keys_unique() {
        let mut seen: Vec<&str> = Vec::new();
        for pair in KEYS.windows(2) {
            if pair[0].0 != pair[1].0 {
                seen.push(pair[0].0);
                assert!(
                    !seen.contains(&pair[1].0),
                    "section `{}` is split",
                    pair[1].0
                );
            }
        }
        for (i, a) in KEYS.iter().enumerate() {
            for b in &KEYS[i + 1..] {
                assert!(a.0 != b.0 || a.1 != b.1, "{a:?} twice");
            }
        }
        for sections in [OVERVIEW_SECTIONS, TASKS_SECTIONS, LOG_SECTIONS] {
            for s in sections {
                assert!(KEYS.iter().any(|k| k.0 == *s), "no keys for `{s}`");
            }
        }
    }
}
