//! The `?` help overlay: the keys of the screen it is opened on, grouped by where they
//! work, printed from the key table dispatch reads ([`crate::app::keys::TABLE`]). Taller
//! than the screen (the overview's keys at 80x24), it scrolls: a key moves the help's
//! scroll, this view clamps it and says how far it can go.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::Theme;
use super::widgets::{centered, pane};
use crate::app::keys::TABLE;

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
    for row in TABLE.iter().filter(|r| sections.contains(&r.section)) {
        let (sec, key, what) = (&row.section, row.label, row.what);
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
    use crate::app::keys::{LOG_SECTIONS, OVERVIEW_SECTIONS, TASKS_SECTIONS};

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
            for row in TABLE.iter().filter(|r| sections.contains(&r.section)) {
                let (key, what) = (row.label, row.what);
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
}
