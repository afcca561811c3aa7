//! The `?` help overlay: the keys of the screen it is opened on, grouped by where they
//! work.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::Theme;
use super::widgets::pane;

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
    ("everywhere", "Ctrl-r", "refresh now"),
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
    ("logs", "Ctrl-c", "quit"),
];

/// The sections shown on the overview.
pub const OVERVIEW_SECTIONS: &[&str] = &["everywhere", "overview", "actions"];

/// The sections shown on the tasks screen.
pub const TASKS_SECTIONS: &[&str] = &["everywhere", "tasks", "actions"];

/// The sections shown on the log view (its keys are its own).
pub const LOG_SECTIONS: &[&str] = &["logs"];

/// Draws the overlay of `sections` centred over `area`.
pub fn render(theme: &Theme, frame: &mut Frame, area: Rect, sections: &[&str]) {
    let keys: Vec<_> = KEYS.iter().filter(|k| sections.contains(&k.0)).collect();
    let width = area.width.min(72);
    let height = area
        .height
        .min(keys.len() as u16 + 2 * sections.len() as u16 + 2);
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);
    let mut lines = Vec::new();
    let mut section = "";
    for (sec, key, what) in keys {
        if *sec != section {
            if !section.is_empty() {
                lines.push(Line::default());
            }
            lines.push(Line::from(Span::styled((*sec).to_string(), theme.accent())));
            section = sec;
        }
        lines.push(Line::from(vec![
            Span::styled(format!("  {key:<16}"), theme.text()),
            Span::styled((*what).to_string(), theme.dim()),
        ]));
    }
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(pane(
            Line::from(" Keys "),
            theme,
            true,
        )),
        popup,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

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
