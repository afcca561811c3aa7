//! The problems strip at the top of every screen: what is wrong now across all
//! environments, worst first, each with its age; `e` jumps to the next one.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Theme;
use super::widgets::fit;
use crate::app::state::State;
use crate::clock::coarse_age;
use crate::model::Health;
use crate::problems::Severity;

/// Rows the strip needs at a screen height of `screen_height`.
pub fn height(state: &State, screen_height: u16) -> u16 {
    let cap = if screen_height < 30 { 2 } else { 5 };
    match state.world.problems.len() {
        0 => 1,
        n if n <= cap => n as u16,
        _ => cap as u16 + 1,
    }
}

/// Draws the strip into `area`.
pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let width = usize::from(area.width);
    let mut lines = Vec::new();
    if state.world.problems.is_empty() {
        let envs: Vec<&str> = state.world.envs.iter().map(|e| e.name.as_str()).collect();
        lines.push(Line::from(vec![
            Span::styled(" ✔ ", theme.health(Health::Ok)),
            Span::styled(
                format!("no problems across {}", envs.join(", ")),
                theme.dim(),
            ),
        ]));
    } else {
        let shown = usize::from(area.height).min(state.world.problems.len());
        let more = state.world.problems.len() > usize::from(area.height);
        let rows = if more { shown.saturating_sub(1) } else { shown };
        for (i, p) in state.world.problems.iter().take(rows).enumerate() {
            let (glyph, style) = match p.severity {
                Severity::Critical => ("✖", theme.health(Health::Down)),
                Severity::Warning => ("▲", theme.health(Health::Degraded)),
            };
            let age = coarse_age(state.world.now - p.since);
            let head = format!(" {glyph} {age:>3} ");
            let place = format!("{}/{} ", p.environment, p.cluster);
            // The worst problem says what to do about it.
            let rest = match p.next_step.as_deref().filter(|_| i == 0) {
                Some(step) => format!("{}: {} → {step}", p.subject, p.summary),
                None => format!("{}: {}", p.subject, p.summary),
            };
            let room = width.saturating_sub(head.chars().count() + place.chars().count());
            lines.push(Line::from(vec![
                Span::styled(head, style),
                Span::styled(place, theme.accent()),
                Span::styled(fit(&rest, room), theme.text()),
            ]));
        }
        if more {
            lines.push(Line::from(Span::styled(
                format!(
                    "   … {} more problems ({} critical in all) · e jumps to each in turn",
                    state.world.problems.len() - rows,
                    state
                        .world
                        .problems
                        .iter()
                        .filter(|p| p.severity == Severity::Critical)
                        .count()
                ),
                theme.dim(),
            )));
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}
