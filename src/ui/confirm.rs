//! The action dialog: the plan of an operator action, its checks with their measured
//! values (the sync gate's live), what will change, warnings, and the confirmation the
//! environment needs; then progress and the verified outcome.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::Theme;
use super::widgets::{centered, pane};
use crate::app::dialog::{OpDialog, Stage};
use crate::model::alb::SwitchView;
use crate::ops::gate::GateState;
use crate::ops::{Outcome, Plan, Readiness};

/// The body of an ended op's dialog: the checks made before it in one line, then the
/// state after, as read since.
fn done_lines(plan: &Plan, after: After<'_>, theme: &Theme, lines: &mut Vec<Line<'static>>) {
    let passed = plan.checks.iter().filter(|c| c.passed).count();
    lines.push(Line::from(Span::styled(
        format!(
            "Checked before: {passed} of {} checks passed",
            plan.checks.len()
        ),
        theme.dim(),
    )));
    if !matches!(plan.op, crate::ops::Op::SwitchAlb { .. }) {
        return;
    }
    let now = match after.switch {
        None => "Now: reading the internal ALB again…".to_string(),
        Some(view) => {
            let active = view.active_nodes();
            if active.is_empty() {
                "Now: the internal ALB forwards to no general node".to_string()
            } else {
                format!("Now: the internal ALB forwards to {}", active.join(", "))
            }
        }
    };
    lines.push(Line::from(Span::styled(now, theme.text())));
}

/// What the console has read since an op ended: for a switch, the internal ALB's view
/// (`None` until it was read again after the op).
#[derive(Debug, Clone, Copy, Default)]
pub struct After<'a> {
    /// The switch's view, read after the op ended.
    pub switch: Option<&'a SwitchView>,
}

/// Draws the dialog centred over `area`. Once the op has ended, the checks made before it
/// shrink to one line and `after` says how things stand now.
pub fn render(
    dialog: &OpDialog,
    danger: bool,
    after: After<'_>,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let mut lines: Vec<Line> = Vec::new();
    let mut with_diff = false;
    lines.push(Line::from(Span::styled(
        dialog.op.title(),
        theme.text().add_modifier(Modifier::BOLD),
    )));
    lines.push(Line::default());
    let done = matches!(dialog.stage, Stage::Done(_));
    match &dialog.plan {
        Some(plan) if done => done_lines(plan, after, theme, &mut lines),
        None => lines.push(Line::from(Span::styled(
            "Reading the current state…",
            theme.dim(),
        ))),
        Some(plan) => {
            if let Some(gate) = &plan.gate {
                let (text, style) = match gate.state() {
                    GateState::NotPolled => (
                        "sync gate: waiting for the first poll".to_string(),
                        theme.dim(),
                    ),
                    GateState::Failing => ("sync gate: FAILING".to_string(), theme.error()),
                    GateState::Counting => (
                        format!(
                            "sync gate: {} of {} passing polls in a row so far",
                            gate.consecutive(),
                            gate.required()
                        ),
                        theme.warn(),
                    ),
                    GateState::Open => (
                        format!(
                            "sync gate: open (every check passed the last {} polls)",
                            gate.consecutive()
                        ),
                        theme.health(crate::model::Health::Ok),
                    ),
                };
                lines.push(Line::from(Span::styled(text, style)));
            }
            // Values line up after the longest check name of this plan.
            let name_width = plan.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
            for c in &plan.checks {
                let (glyph, style) = if c.passed {
                    ("✔", theme.health(crate::model::Health::Ok))
                } else {
                    ("✖", theme.error())
                };
                let mut spans = vec![
                    Span::styled(format!(" {glyph} "), style),
                    Span::styled(format!("{:<name_width$}  ", c.name), theme.text()),
                    // Values quote AWS (image names, error messages): sanitised.
                    Span::styled(
                        crate::text::sanitize(&c.value),
                        if c.passed {
                            theme.text()
                        } else {
                            theme.error()
                        },
                    ),
                ];
                if let Some(d) = &c.detail {
                    spans.push(Span::styled(
                        format!("  {}", crate::text::sanitize(d)),
                        theme.dim(),
                    ));
                }
                lines.push(Line::from(spans));
            }
            if !plan.changes.is_empty() {
                lines.push(Line::default());
                lines.push(Line::from(Span::styled("Will change:", theme.accent())));
                for ch in &plan.changes {
                    lines.push(Line::from(Span::styled(format!("  {ch}"), theme.text())));
                }
            }
            if plan.release.as_ref().is_some_and(|p| !p.diff.is_empty()) {
                with_diff = true;
            }
            for w in &plan.warnings {
                lines.push(Line::from(Span::styled(format!("⚠ {w}"), theme.warn())));
            }
            for s in &plan.suggestions {
                lines.push(Line::from(Span::styled(
                    format!("→ consider first: {}", s.title()),
                    theme.accent(),
                )));
            }
        }
    }
    let footer_lines = {
        let mut f = vec![Line::default()];
        f.extend(footer(dialog, theme));
        f
    };

    let width = area.width.saturating_sub(4).min(100);
    let inner_w = usize::from(width.saturating_sub(2)).max(1);
    let rows_of = |lines: &[Line]| -> usize {
        lines
            .iter()
            .map(|l| {
                let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
                wrapped_rows(&text, inner_w)
            })
            .sum()
    };
    let footer_rows = rows_of(&footer_lines);
    // A release's diff comes last and takes the room left: the footer with the keys is
    // drawn apart, at the bottom, so it always shows.
    if with_diff && let Some(preview) = dialog.plan.as_ref().and_then(|p| p.release.as_ref()) {
        let room = usize::from(area.height.saturating_sub(2))
            .saturating_sub(rows_of(&lines) + footer_rows);
        lines.extend(diff_lines(&preview.diff, room, inner_w, theme));
    }
    let rows = rows_of(&lines) + footer_rows;
    let height = u16::try_from(rows + 2).unwrap_or(u16::MAX).min(area.height);
    let popup = centered(area, width, height);
    let title = if danger {
        Line::from(Span::styled(
            " ■ DANGER ENVIRONMENT · confirm action ",
            theme.danger(),
        ))
    } else {
        Line::from(Span::styled(" Confirm action ", theme.accent()))
    };
    let mut block = pane(title, theme, true);
    if danger {
        block = block.border_style(theme.danger());
    }
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);
    let inner = super::widgets::inner(popup);
    let footer_height = u16::try_from(footer_rows)
        .unwrap_or(u16::MAX)
        .min(inner.height);
    let [body, foot] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(footer_height)]).areas(inner);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
    frame.render_widget(
        Paragraph::new(footer_lines).wrap(Wrap { trim: false }),
        foot,
    );
}

/// The rows `text` takes wrapped at word boundaries in `width` columns, as the
/// paragraph wraps it (a word longer than a row is broken across rows): counting
/// characters alone says too few when a long word moves to the next row, and the
/// dialog's last line (its keys) would fall off.
fn wrapped_rows(text: &str, width: usize) -> usize {
    use crate::text::display_width;
    let width = width.max(1);
    let mut rows = 1;
    let mut col = 0;
    for word in text.split_inclusive(' ') {
        let mut visible = display_width(word.trim_end_matches(' '));
        let mut len = display_width(word);
        if col > 0 && col + visible > width {
            rows += 1;
            col = 0;
        }
        while col + visible > width {
            rows += 1;
            visible -= width;
            len -= width;
        }
        col += len;
    }
    rows
}

/// The diff of a release or rollback in at most `room` rows of `width` columns: a blank
/// line, the heading, as many diff lines as fit, and how many were left out. Nothing
/// when not even the heading and one line fit (the picker showed the diff already).
/// Word wrapping may take a row more than counted; the body clips, never the footer.
fn diff_lines(
    diff: &[crate::ops::release::DiffLine],
    room: usize,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    if room < 3 {
        return Vec::new();
    }
    let mut out = vec![
        Line::default(),
        Line::from(vec![
            Span::styled("Diff", theme.accent()),
            Span::styled(" (secret values masked):", theme.dim()),
        ]),
    ];
    let mut used = 2;
    for (i, line) in diff.iter().enumerate() {
        let text = format!("  {}", crate::text::sanitize(&line.text()));
        // A wrapped line breaks at words: count a row more than the columns need.
        let columns = unicode_width::UnicodeWidthStr::width(text.as_str()).max(1);
        let rows = columns.div_ceil(width) + usize::from(columns > width);
        let left = diff.len() - i;
        let reserve = usize::from(left > 1);
        if used + rows + reserve > room {
            out.push(Line::from(Span::styled(
                format!("  … and {left} more"),
                theme.dim(),
            )));
            return out;
        }
        used += rows;
        out.push(Line::from(Span::styled(text, theme.text())));
    }
    out
}

fn footer(dialog: &OpDialog, theme: &Theme) -> Vec<Line<'static>> {
    let key = |k: &str| Span::styled(k.to_string(), theme.accent());
    let txt = |t: &str| Span::styled(t.to_string(), theme.dim());
    let plan = dialog.plan.as_ref();
    // The override passes a failed sync gate, or a release's failed checks.
    let gated = plan.is_some_and(|p| p.gate.is_some());
    match &dialog.stage {
        Stage::Planning => vec![Line::from(vec![key("Esc"), txt(" cancel")])],
        Stage::Review if dialog.armed() => vec![Line::from(vec![
            Span::styled(
                "Confirmed: the switch runs as soon as the sync gate holds again…   ",
                theme.warn(),
            ),
            key("Esc"),
            txt(" cancel"),
        ])],
        Stage::Review => {
            let typed = plan.and_then(|p| p.typed_confirmation.clone());
            match plan.map(|p| p.readiness) {
                Some(Readiness::Ready) => vec![Line::from(vec![
                    key("y"),
                    txt(if typed.is_some() {
                        " confirm (then type the environment name)   "
                    } else {
                        " confirm   "
                    }),
                    key("n/Esc"),
                    txt(" cancel"),
                ])],
                Some(Readiness::NeedsOverride)
                    if plan.and_then(|p| p.gate.as_ref()).is_some_and(|g| {
                        matches!(g.state(), GateState::Counting | GateState::NotPolled)
                    }) && plan.is_some_and(|p| {
                        p.failed_checks().all(|c| c.name == "consecutive_polls")
                    }) =>
                {
                    vec![Line::from(vec![
                        Span::styled(
                            "Waiting for the sync gate to pass enough polls in a row…   ",
                            theme.warn(),
                        ),
                        key("Esc"),
                        txt(" cancel"),
                    ])]
                }
                Some(Readiness::NeedsOverride) => vec![
                    Line::from(Span::styled(
                        match plan.map(|p| &p.op) {
                            _ if gated => "A sync-gate check failed: the switch is refused.",
                            Some(crate::ops::Op::Rollback { .. }) => {
                                "A check failed: the rollback is refused."
                            }
                            _ => "A check failed: the release is refused.",
                        },
                        theme.error(),
                    )),
                    Line::from(vec![
                        key("O"),
                        txt(" override anyway (asks again, audited as an override)   "),
                        key("Esc"),
                        txt(" cancel"),
                    ]),
                ],
                _ => {
                    let why = plan.and_then(|p| p.failed_checks().next()).map_or_else(
                        || "nothing to do".to_string(),
                        |c| format!("{}: {}", c.name, c.value),
                    );
                    vec![
                        Line::from(Span::styled(format!("Cannot run: {why}"), theme.error())),
                        Line::from(vec![key("Esc"), txt(" close")]),
                    ]
                }
            }
        }
        Stage::Typing {
            input,
            for_override,
        } => {
            let name = plan
                .and_then(|p| p.typed_confirmation.clone())
                .unwrap_or_default();
            let what = if *for_override && gated {
                "To OVERRIDE the failed gate, type the environment name again"
            } else if *for_override {
                "To OVERRIDE the failed checks, type the environment name again"
            } else {
                "Type the environment name to confirm"
            };
            vec![
                Line::from(vec![
                    Span::styled(format!("{what} ("), theme.warn()),
                    Span::styled(name, theme.danger()),
                    Span::styled("):", theme.warn()),
                ]),
                Line::from(vec![
                    Span::styled(format!("> {input}"), theme.text()),
                    Span::styled("█", theme.accent()),
                    txt("   Enter confirm   Esc back"),
                ]),
            ]
        }
        Stage::ConfirmOverride => vec![Line::from(vec![
            Span::styled(
                if gated {
                    "Override the failed sync gate? "
                } else {
                    "Override the failed checks? "
                },
                theme.error(),
            ),
            key("y"),
            txt(if gated {
                " yes, switch anyway   "
            } else {
                " yes, go on anyway   "
            }),
            key("n"),
            txt(" no"),
        ])],
        Stage::Running => vec![Line::from(Span::styled(
            "Running… audited before and after, verified by reading AWS back.",
            theme.warn(),
        ))],
        Stage::Done(report) => {
            let style = match report.outcome {
                Outcome::Ok => theme.health(crate::model::Health::Ok),
                Outcome::Refused => theme.warn(),
                Outcome::Failed | Outcome::VerifyFailed => theme.error(),
            };
            let mut out = vec![Line::from(Span::styled(
                format!("{}: {}", report.outcome.as_str(), report.message),
                style.add_modifier(Modifier::BOLD),
            ))];
            if let Some(e) = &report.error {
                out.push(Line::from(Span::styled(e.clone(), theme.error())));
            }
            if let Some(h) = &report.hint {
                out.push(Line::from(vec![
                    key("hint: "),
                    Span::styled(h.clone(), theme.text()),
                ]));
            }
            let mut keys = vec![key("Enter"), txt(" close")];
            if dialog.switched_from.is_some()
                && matches!(report.outcome, Outcome::Failed | Outcome::VerifyFailed)
            {
                keys.extend([txt("   "), key("b"), txt(" switch back")]);
            }
            out.push(Line::from(keys));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::wrapped_rows;

    #[test]
    fn rows_count_words_moved_to_the_next_row() {
        assert_eq!(wrapped_rows("", 10), 1);
        assert_eq!(wrapped_rows("abc def", 10), 1);
        // Fits by its characters (14 in 2 rows of 7), not as words: one a row.
        assert_eq!(wrapped_rows("aaaa bbbb cccc", 7), 3);
        assert_eq!(wrapped_rows("aaaa bbbb cccc dddd", 9), 2);
        assert_eq!(wrapped_rows("aaaaaaa bbbbbbb ccccccc", 10), 3);
        // A word longer than a row is broken.
        assert_eq!(wrapped_rows("abcdefghijklmnopqrstuvwxy", 10), 3);
    }
}
