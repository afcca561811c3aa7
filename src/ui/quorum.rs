//! The Quorum panel of a cluster: one row per node, the ALB's active general node marked.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use super::Theme;
use super::widgets::{header_style, pane};
use crate::app::state::{ClusterState, NodeSlot, State};
use crate::clock::short_age;
use crate::model::quorum::{NodeState, Probe};

/// Draws the Quorum panel of `cluster`.
pub fn render(state: &State, cluster: &ClusterState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let active = cluster
        .switch
        .as_ref()
        .and_then(|p| p.data.as_ref())
        .and_then(|v| v.active().map(str::to_string));
    let mut title = vec![Span::styled(" Quorum ", theme.accent())];
    if let Some(sw) = &cluster.switch {
        match (&active, &sw.error) {
            (_, Some(e)) => title.push(Span::styled(format!("· ALB: {} ", e.error), theme.error())),
            (Some(a), None) => {
                title.push(Span::styled("· internal ALB → ", theme.text()));
                title.push(Span::styled(format!("{a} "), theme.accent()));
            }
            (None, None) if sw.data.is_some() => {
                title.push(Span::styled(
                    "· internal ALB: no single active node ",
                    theme.warn(),
                ));
            }
            (None, None) => title.push(Span::styled("· internal ALB: … ", theme.dim())),
        }
    }
    let best = cluster
        .nodes
        .iter()
        .filter_map(|n| {
            n.last
                .as_ref()
                .filter(|s| s.reachable)
                .and_then(|s| s.block)
        })
        .max();
    let header = Row::new([
        "", "NODE", "ROLE", "HEIGHT", "LAG", "HEAD", "PEERS", "TXPOOL", "STATE",
    ])
    .style(header_style(theme));
    let rows = cluster.nodes.iter().map(|n| {
        let st = interim_state(n, best, state.now);
        let s = n.last.as_ref();
        let marker = if active.as_deref() == Some(n.config.name.as_str()) {
            "▶"
        } else {
            " "
        };
        let height = s
            .and_then(|s| s.block)
            .map_or("-".into(), |b| b.to_string());
        let lag = match (best, s.and_then(|s| s.block)) {
            (Some(b), Some(h)) if s.is_some_and(|s| s.reachable) => {
                (b.saturating_sub(h)).to_string()
            }
            _ => "-".into(),
        };
        let head = s
            .and_then(|s| s.block_time)
            .map_or("-".into(), |t| short_age(state.now - t));
        let peers = s.map_or("-".into(), |s| probe_text(&s.peers, ToString::to_string));
        let txpool = s.map_or("-".into(), |s| {
            probe_text(&s.txpool, |p| format!("{}/{}", p.pending, p.queued))
        });
        Row::new(vec![
            Cell::from(marker).style(theme.accent()),
            Cell::from(n.config.name.clone()),
            Cell::from(n.config.role.as_str()).style(theme.dim()),
            Cell::from(height),
            Cell::from(lag),
            Cell::from(head),
            Cell::from(peers),
            Cell::from(txpool),
            Cell::from(st.as_str()).style(theme.node_state(st)),
        ])
    });
    let widths = [
        Constraint::Length(1),
        Constraint::Min(10),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(4),
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Length(7),
        Constraint::Length(8),
    ];
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .block(pane(Line::from(title), theme, false)),
        area,
    );
}

fn probe_text<T>(p: &Probe<T>, f: impl Fn(&T) -> String) -> String {
    match p {
        Probe::Value(v) => f(v),
        Probe::NotAvailable => "n/a".into(),
        Probe::NotAsked => "-".into(),
        Probe::Failed(_) => "err".into(),
    }
}

/// A first judgement from the latest sample only.
fn interim_state(n: &NodeSlot, best: Option<u64>, now: i64) -> NodeState {
    let Some(s) = &n.last else {
        return NodeState::Unknown;
    };
    if !s.reachable {
        return if n.failures >= 3 {
            NodeState::Down
        } else {
            NodeState::Unknown
        };
    }
    if let (Some(b), Some(h)) = (best, s.block)
        && b.saturating_sub(h) > 2
    {
        return NodeState::Lagging;
    }
    if s.block_time.is_some_and(|t| now - t > 20_000) {
        return NodeState::Stalled;
    }
    NodeState::Synced
}
