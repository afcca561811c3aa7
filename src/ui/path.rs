//! The "Request path" panel of the selected cluster: one line per hop (external ALB →
//! nginx → internal ALB → API, and → the active Quorum node → validators), coloured by
//! health, and the first broken hop's reason on a line of its own.
//!
//! ```text
//! ╭ Request path · broken at internal ALB → api ───────────────────────────╮
//! │ ● external ALB          ibet-prd-node-api-ext :443 · targets 2/2 healthy │ full
//! │ ● nginx-proxy           tasks 2/2 running                                │
//! │ ✖ internal ALB → api    ibet-prd-node-api-int · targets 0/2 healthy …    │
//! │ …                                                                        │
//! │ ✖ internal ALB → api: 0/2 targets healthy (Target.FailedHealthChecks)    │
//! ╰──────────────────────────────────────────────────────────────────────────╯
//! ╭ Request path ──────────────────────────────────────────────────────────╮
//! │ ext ● → nginx ● → api ✖ → quorum ● → general-1 ● → validators ●        │ compact
//! │ ✖ internal ALB → api: 0/2 targets healthy (Target.FailedHealthChecks)  │
//! ╰────────────────────────────────────────────────────────────────────────╯
//! ```
//! With the keyboard on the panel (`p`), the selected hop is highlighted; in the compact
//! form its detail replaces the verdict line. In the full form the load balancer hops have
//! their CloudWatch numbers in a column after the names (`85/min 5xx 0.3% p95 132ms`);
//! the WAF, database and queue hops show theirs as their detail, and the compact form
//! names them only when they are not ok. The view draws; it decides nothing.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::Theme;
use super::widgets::{fit, freshness, health_glyph, pane};
use crate::app::state::{Focus, State};
use crate::model::Health;
use crate::model::metrics::per_minute;
use crate::path::{Hop, RequestPath, first_broken_hop};
use crate::world::ClusterState;

/// Rows the full panel needs: one per hop, the reason line when something is wrong,
/// and the borders.
pub fn full_height(path: &RequestPath) -> u16 {
    let hops = u16::try_from(path.hops.len()).unwrap_or(u16::MAX);
    hops.saturating_add(2 + u16::from(needs_reason_line(path)))
}

/// Rows the compact panel needs at `width` columns: the borders, the summary, and the
/// reason (wrapped) when something is wrong, or the selected hop's detail when the
/// panel has the keyboard.
pub fn compact_height(state: &State, path: &RequestPath, width: u16) -> u16 {
    let inner = usize::from(width.saturating_sub(2)).max(1);
    let rows = |text: &str| u16::try_from(text.chars().count().div_ceil(inner)).unwrap_or(1);
    let summary = rows(&summary_text(path)).max(1);
    let selected = (state.focus == Focus::Path)
        .then(|| path.hops.get(state.path_row))
        .flatten();
    let second = match selected {
        Some(hop) => rows(&hop_detail_text(hop)).max(1),
        None if needs_reason_line(path) => rows(&format!(" ✖ {}", reason_text(path))).max(1),
        None => 0,
    };
    2 + summary + second
}

/// The smallest compact panel: the borders and the summary (the verdict rides in the
/// title).
pub const MIN_COMPACT_HEIGHT: u16 = 3;

fn needs_reason_line(path: &RequestPath) -> bool {
    path.hops
        .iter()
        .any(|h| h.health != Health::Ok && !(h.kind.is_resource() && h.health == Health::Unknown))
}

/// Draws the panel: every hop on its own line, or (`compact`) the one-line summary.
pub fn render(
    state: &State,
    cluster: &ClusterState,
    path: &RequestPath,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    compact: bool,
) {
    let focused = state.focus == Focus::Path;
    let selected = focused.then_some(state.path_row);
    let width = usize::from(area.width.saturating_sub(2));
    let broken = first_broken_hop(path);
    let mut title = vec![Span::styled(" Request path ", theme.accent())];
    match broken {
        Some(hop) => title.push(Span::styled(
            format!(
                "· {} at {} ",
                if hop.health == Health::Down {
                    "broken"
                } else {
                    "degraded"
                },
                hop.name
            ),
            theme.health(hop.health),
        )),
        None if !needs_reason_line(path) => {
            title.push(Span::styled(
                "· healthy end to end ",
                theme.health(Health::Ok),
            ));
        }
        None => {}
    }
    if let Some(f) = freshness(
        &cluster.paths,
        state.world.now,
        state.world.stale_after_ms(),
        theme,
    ) && cluster.paths.error.is_some()
    {
        title.push(f);
    }
    if focused {
        title.push(Span::styled("· ⏎ jump ", theme.dim()));
    } else if area.width > 70 {
        title.push(Span::styled("· p select ", theme.dim()));
    }
    let mut lines = if compact {
        vec![summary_line(path, selected, theme)]
    } else {
        hop_lines(path, selected, width, theme)
    };
    let second = match (compact, selected.and_then(|i| path.hops.get(i))) {
        (true, Some(hop)) => Some(hop_detail_line(hop, theme)),
        _ => reason_line(path, width, compact, theme),
    };
    lines.extend(second);
    let mut paragraph = Paragraph::new(lines).block(pane(Line::from(title), theme, focused));
    if compact {
        paragraph = paragraph.wrap(Wrap { trim: false });
    }
    frame.render_widget(paragraph, area);
}

/// Whether the one-line summary names `hop` (index `i`): every hop but a WAF,
/// database or queue that is fine or not known, unless it is the selected one.
fn summarised(hop: &Hop, i: usize, selected: Option<usize>) -> bool {
    !hop.kind.is_resource()
        || selected == Some(i)
        || matches!(hop.health, Health::Degraded | Health::Down)
}

fn summary_text(path: &RequestPath) -> String {
    let hops: Vec<String> = path
        .hops
        .iter()
        .enumerate()
        .filter(|(i, h)| summarised(h, *i, None))
        .map(|(_, h)| format!("{} {}", h.label, health_glyph(h.health)))
        .collect();
    format!(" {}", hops.join(" → "))
}

/// `ext ● → nginx ● → api ✖ → quorum ● → general-1 ● → validators ●`.
pub fn summary_line(path: &RequestPath, selected: Option<usize>, theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    let mut first = true;
    for (i, hop) in path.hops.iter().enumerate() {
        if !summarised(hop, i, selected) {
            continue;
        }
        if !std::mem::take(&mut first) {
            spans.push(Span::styled(" → ", theme.dim()));
        }
        let style = hop_style(hop, theme);
        if selected == Some(i) {
            spans.push(Span::styled(
                format!("{} {}", hop.label, health_glyph(hop.health)),
                theme.selected(),
            ));
        } else {
            spans.push(Span::styled(format!("{} ", hop.label), theme.text()));
            spans.push(Span::styled(health_glyph(hop.health).to_string(), style));
        }
    }
    Line::from(spans)
}

fn hop_lines(
    path: &RequestPath,
    selected: Option<usize>,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let name_width = path
        .hops
        .iter()
        .map(|h| h.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(28);
    // The load balancers' numbers in a column of their own, after the names.
    let numbers: Vec<Option<String>> = path
        .hops
        .iter()
        .map(|h| (!h.kind.is_resource() && !h.metrics.is_empty()).then(|| numbers(h)))
        .collect();
    let numbers_width = numbers
        .iter()
        .flatten()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0);
    path.hops
        .iter()
        .enumerate()
        .map(|(i, hop)| {
            let style = hop_style(hop, theme);
            let name_style = if selected == Some(i) {
                theme.selected()
            } else if hop.health == Health::Ok {
                theme.text()
            } else {
                style.add_modifier(Modifier::BOLD)
            };
            let detail_style = if hop.health == Health::Ok {
                theme.dim()
            } else {
                theme.text()
            };
            let mut spans = vec![
                Span::styled(format!(" {} ", health_glyph(hop.health)), style),
                Span::styled(
                    format!("{:<name_width$}", fit(&hop.name, name_width)),
                    name_style,
                ),
                Span::raw("  "),
            ];
            let mut used = name_width + 5;
            if numbers_width > 0 {
                let text = numbers[i].clone().unwrap_or_default();
                let text = fit(&text, width.saturating_sub(used));
                let numbers_style = if hop.metrics.iter().all(|r| r.value.is_none()) {
                    theme.dim()
                } else {
                    theme.text()
                };
                spans.push(Span::styled(
                    format!("{text:<numbers_width$}  "),
                    numbers_style,
                ));
                used += numbers_width + 2;
            }
            let detail_width = width.saturating_sub(used);
            spans.push(Span::styled(fit(&hop.detail, detail_width), detail_style));
            Line::from(spans)
        })
        .collect()
}

/// A load balancer hop's numbers, short: `1.2k/min 5xx 0.3% p95 120ms`, `–` where
/// there is no data.
fn numbers(hop: &Hop) -> String {
    let value = |name: &str| hop.metrics.iter().find(|r| r.name == name)?.value;
    let requests = value("req_per_min").map_or_else(|| "–".into(), per_minute);
    let errors = value("errors_5xx_pct").map_or_else(|| "–".into(), |v| format!("{v:.1}%"));
    let p95 = value("p95_ms").map_or_else(|| "–".into(), |v| format!("{v:.0}ms"));
    format!("{requests:>5}/min 5xx {errors:>5} p95 {p95:>6}")
}

/// The first broken hop spelled out, or what is not known yet.
fn reason_line(
    path: &RequestPath,
    width: usize,
    wrap: bool,
    theme: &Theme,
) -> Option<Line<'static>> {
    if !needs_reason_line(path) {
        return None;
    }
    let (glyph, style) = match first_broken_hop(path) {
        Some(hop) => (health_glyph(hop.health), theme.health(hop.health)),
        None => (health_glyph(Health::Unknown), theme.dim()),
    };
    let text = format!(" {glyph} {}", reason_text(path));
    let text = if wrap { text } else { fit(&text, width) };
    Some(Line::from(Span::styled(
        text,
        style.add_modifier(Modifier::BOLD),
    )))
}

/// The first broken hop spelled out, else what is not known yet.
fn reason_text(path: &RequestPath) -> String {
    first_broken_hop(path).map_or_else(|| path.verdict(), Hop::spelled_out)
}

fn hop_detail_line(hop: &Hop, theme: &Theme) -> Line<'static> {
    Line::from(Span::styled(hop_detail_text(hop), hop_style(hop, theme)))
}

/// ` name: reason`, or ` name: detail` for a hop that is fine.
fn hop_detail_text(hop: &Hop) -> String {
    if hop.kind.is_resource() || hop.metrics.is_empty() {
        format!(" {}", hop.spelled_out())
    } else {
        format!(" {} · {}", hop.spelled_out(), numbers(hop).trim_start())
    }
}

fn hop_style(hop: &Hop, theme: &Theme) -> Style {
    theme.health(hop.health)
}
