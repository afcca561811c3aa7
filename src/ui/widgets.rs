//! Small drawing pieces shared by the views: pane blocks, health cells, panel errors.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use super::Theme;
use crate::clock::{EpochMs, coarse_age};
use crate::model::Health;
use crate::world::{Panel, PanelError};

/// A bordered pane with a title; the focused one is highlighted.
pub fn pane<'a>(title: Line<'a>, theme: &Theme, focused: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.border(focused))
        .title(title)
}

/// `● ok`, `▲ degraded`, `✖ down`, `? unknown`.
pub fn health_span(h: Health, theme: &Theme) -> Span<'static> {
    let glyph = health_glyph(h);
    Span::styled(format!("{glyph} {}", h.as_str()), theme.health(h))
}

/// The glyph of a health.
pub fn health_glyph(h: Health) -> &'static str {
    match h {
        Health::Ok => "●",
        Health::Degraded => "▲",
        Health::Down => "✖",
        Health::Unknown => "?",
    }
}

/// A title suffix telling how old the data is, when it is stale or failing.
pub fn freshness<T>(
    panel: &Panel<T>,
    now: EpochMs,
    stale_after_ms: i64,
    theme: &Theme,
) -> Option<Span<'static>> {
    match (&panel.error, panel.updated_at) {
        (Some(_), Some(t)) => Some(Span::styled(
            format!(" last good data {} ago ", coarse_age(now - t)),
            theme.warn(),
        )),
        (Some(_), None) => Some(Span::styled(" no data yet ", theme.warn())),
        (None, None) => Some(Span::styled(" loading… ", theme.dim())),
        (None, Some(_)) => panel.stale_since(now, stale_after_ms).map(|t| {
            Span::styled(
                format!(" stale: {} old ", coarse_age(now - t)),
                theme.warn(),
            )
        }),
    }
}

/// The lines that show a panel's error inside the panel: what, since when, and a hint.
pub fn error_lines(err: &PanelError, now: EpochMs, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(vec![
        Span::styled("✖ ", theme.error()),
        Span::styled(err.error.to_string(), theme.error()),
        Span::styled(
            format!("  (failing for {})", coarse_age(now - err.since)),
            theme.dim(),
        ),
    ])];
    if let Some(hint) = err.error.hint() {
        lines.push(Line::from(vec![
            Span::styled("  hint: ", theme.accent()),
            Span::styled(hint, theme.text()),
        ]));
    }
    lines
}

/// Truncates `s` to `width` columns with an ellipsis.
pub fn fit(s: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// The inner area of a bordered pane.
pub fn inner(area: Rect) -> Rect {
    Rect {
        x: area.x.saturating_add(1),
        y: area.y.saturating_add(1),
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    }
}

/// The style of a table header row.
pub fn header_style(theme: &Theme) -> Style {
    theme.dim().add_modifier(ratatui::style::Modifier::BOLD)
}

/// A `width` x `height` rectangle centred in `area` (for popups and dialogs).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);
    popup
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn fit_truncates_with_ellipsis() {
        assert_eq!(fit("abcdef", 10), "abcdef");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("日本語テキスト", 5), "日本…");
    }
}
