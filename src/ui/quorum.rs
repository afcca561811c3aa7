//! The Quorum panel of a cluster: one row per node (judged by `crate::quorum`), the
//! internal ALB's active general node marked, and for validators the chain's fault
//! tolerance and a sparkline of blocks per interval.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Sparkline, Table};

use super::Theme;
use super::widgets::{header_style, inner, pane};
use crate::app::state::State;
use crate::clock::{coarse_age, short_age};
use crate::model::quorum::{NodeRole, Probe};
use crate::quorum::{NodeView, blocks_per_interval, judge_chain};
use crate::world::ClusterState;

/// Draws the Quorum panel of `cluster`.
pub fn render(state: &State, cluster: &ClusterState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(env) = state.current_env() else {
        return;
    };
    let views = env.node_views(
        state.selected_cluster(),
        state.world.now,
        &state.world.thresholds,
    );
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
    let has_validators = cluster
        .nodes
        .iter()
        .any(|n| n.config.role == NodeRole::Validator);
    let chain = has_validators.then(|| {
        judge_chain(
            cluster.nodes.iter().map(|n| &n.history),
            state.world.now,
            &state.world.thresholds,
        )
    });
    if let Some(chain) = &chain {
        let style = theme.health(chain.health);
        title.push(Span::styled(
            format!(
                "· {}/{} validators up, tolerates {} more ",
                chain.reachable,
                chain.validators_configured,
                chain.faults_left.max(0)
            ),
            style,
        ));
    }
    let block = pane(Line::from(title), theme, false);
    let body = inner(area);
    frame.render_widget(block, area);

    let spark_w = if body.width >= 110 { 32 } else { 0 };
    let [table_area, spark_area] =
        Layout::horizontal([Constraint::Min(40), Constraint::Length(spark_w)]).areas(body);
    let wide = table_area.width >= 90;
    let with_client = table_area.width >= 120;
    // The validators' share of the consensus' recent proposals, by name.
    let proposed = |name: &str| -> Option<String> {
        let chain = chain.as_ref()?;
        let v = chain.validators.iter().find(|v| v.name == name)?;
        let total: u64 = chain.validators.iter().filter_map(|v| v.proposed).sum();
        Some(match v.proposed {
            Some(n) if total > 0 => format!("{n} ({}%)", n * 100 / total),
            Some(n) => n.to_string(),
            None => "n/a".into(),
        })
    };
    let with_proposed = wide && chain.is_some();
    let mut header = vec![
        "", "NODE", "ROLE", "HEIGHT", "LAG", "HEAD", "PEERS", "TXPOOL", "STATE",
    ];
    if with_proposed {
        header.push("PROPOSED");
    }
    if with_client {
        header.push("CLIENT");
    }
    if wide {
        header.push("WHY");
    }
    let rows = views.iter().map(|v| {
        let marker = if active.as_deref() == Some(v.name.as_str()) {
            "▶"
        } else {
            " "
        };
        let mut cells = vec![
            Cell::from(marker).style(theme.accent()),
            Cell::from(v.name.clone()),
            Cell::from(if wide {
                v.role.as_str()
            } else {
                match v.role {
                    NodeRole::General => "gen",
                    NodeRole::Validator => "val",
                }
            })
            .style(theme.dim()),
            Cell::from(v.height.map_or("-".into(), |b| b.to_string())),
            Cell::from(v.lag.map_or("-".into(), |l| l.to_string())).style(
                if v.lag.unwrap_or(0) > 0 {
                    theme.warn()
                } else {
                    theme.text()
                },
            ),
            // Exact while the head is young; ten seconds at a time once it is old (a
            // stalled node's age would otherwise redraw the row every second).
            Cell::from(v.head_age_ms.map_or("-".into(), |age| {
                if v.head_age_warning {
                    coarse_age(age)
                } else {
                    short_age(age)
                }
            }))
            .style(if v.head_age_warning {
                theme.warn()
            } else {
                theme.text()
            }),
            Cell::from(probe_text(&v.peers, ToString::to_string)),
            Cell::from(probe_text(&v.txpool, |p| {
                format!("{}/{}", p.pending, p.queued)
            })),
            Cell::from(state_text(v)).style(theme.node_state(v.state)),
        ];
        if with_proposed {
            cells.push(Cell::from(proposed(&v.name).unwrap_or_default()));
        }
        if with_client {
            cells.push(
                Cell::from(v.client.as_deref().map_or("-".into(), short_client)).style(theme.dim()),
            );
        }
        if wide {
            cells.push(Cell::from(v.reason.clone()).style(theme.dim()));
        }
        Row::new(cells)
    });
    let name_w = views
        .iter()
        .map(|v| v.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 24) as u16;
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(name_w),
        Constraint::Length(if wide { 9 } else { 4 }),
        Constraint::Length(10),
        Constraint::Length(4),
        Constraint::Length(4),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(9),
    ];
    if with_proposed {
        widths.push(Constraint::Length(9));
    }
    if with_client {
        widths.push(Constraint::Length(CLIENT_WIDTH as u16));
    }
    if wide {
        widths.push(Constraint::Min(10));
    }
    frame.render_widget(
        Table::new(rows, widths)
            .header(Row::new(header).style(header_style(theme)))
            .column_spacing(1),
        table_area,
    );
    if spark_w > 0 {
        render_sparkline(cluster, state, theme, frame, spark_area);
    }
}

/// Blocks per 5 s of the best node over the last couple of minutes.
fn render_sparkline(
    cluster: &ClusterState,
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let Some(best) = cluster
        .nodes
        .iter()
        .max_by_key(|n| n.history.height().unwrap_or(0))
    else {
        return;
    };
    let buckets = area.width.saturating_sub(1) as usize;
    let data: Vec<u64> = blocks_per_interval(&best.history, state.world.now, 5_000, buckets)
        .into_iter()
        .map(|b| b.unwrap_or(0))
        .collect();
    let [label, spark] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    frame.render_widget(
        ratatui::widgets::Paragraph::new(Span::styled(" blocks / 5 s", theme.dim())),
        label,
    );
    frame.render_widget(
        Sparkline::default()
            .data(&data)
            .style(theme.health(crate::model::Health::Ok)),
        spark,
    );
}

/// Columns of the client name and version.
const CLIENT_WIDTH: usize = 22;

/// The client's name and version from `web3_clientVersion`, cut to the column:
/// a GoQuorum build shows its Quorum release (`Geth/v1.10.3-stable(quorum-v22.7.0)/…` →
/// `quorum-v22.7.0`), others their name and release (`Geth/v1.13.14-stable-…/linux` →
/// `Geth/v1.13.14`).
fn short_client(version: &str) -> String {
    let mut parts = version.split('/');
    let name = parts.next().unwrap_or_default();
    let short = match parts.next() {
        Some(release) => match release.find("quorum-v") {
            Some(at) => release[at..]
                .split(')')
                .next()
                .unwrap_or_default()
                .to_string(),
            None => format!("{name}/{}", release.split('-').next().unwrap_or_default()),
        },
        None => name.to_string(),
    };
    crate::text::truncate_to_width(&short, CLIENT_WIDTH).to_string()
}

fn state_text(v: &NodeView) -> String {
    match (&v.syncing, v.state) {
        (Probe::Value(Some(p)), _) => format!("sync -{}", p.remaining()),
        _ => v.state.as_str().to_string(),
    }
}

fn probe_text<T>(p: &Probe<T>, f: impl Fn(&T) -> String) -> String {
    match p {
        Probe::Value(v) => f(v),
        Probe::NotAvailable => "n/a".into(),
        Probe::NotAsked => "-".into(),
        Probe::Failed(_) => "err".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_versions_are_shortened_to_name_and_release() {
        assert_eq!(
            short_client("Geth/v1.13.14-stable-2bd6bd01/linux-amd64/go1.21.7"),
            "Geth/v1.13.14"
        );
        assert_eq!(
            short_client("Geth/v1.10.3-stable(quorum-v22.7.0)/linux-amd64/go1.20.14"),
            "quorum-v22.7.0"
        );
        assert_eq!(
            short_client("Geth/v1.10.3-stable(quorum-v21.7.1-ibet.2)/linux-amd64/go1.20.14"),
            "quorum-v21.7.1-ibet.2"
        );
        assert_eq!(short_client("anvil/v1.7.1"), "anvil/v1.7.1");
        assert_eq!(short_client("besu"), "besu");
    }
}
