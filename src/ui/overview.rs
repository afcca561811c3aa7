//! The overview: the environment's clusters, the selected cluster's services, its
//! request path (`super::path`) and its Quorum nodes. A cluster's glyph in the list
//! takes the worst of its services, its nodes and its own request-path hops. The services
//! table ends with CPU and memory from CloudWatch (from 100 columns with a half-hour
//! sparkline each; grey, with the permission named in the title, when CloudWatch refuses).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

use super::Theme;
use super::widgets::{
    error_lines, fit, freshness, header_style, health_glyph, health_span, inner, pane,
};
use crate::app::state::{Focus, State};
use crate::model::Health;
use crate::model::ecs::{ClusterSnapshot, task_definition_revision};
use crate::model::metrics::{MINUTE_MS, Metric, MetricKey, sparkline};
use crate::world::ClusterState;

/// Draws the overview into `area`.
pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(env) = state.current_env() else {
        render_setup(state, theme, frame, area);
        return;
    };
    let list_width = env
        .clusters
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(8)
        .clamp(8, 20) as u16
        + 6;
    let [left, right] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(20)]).areas(area);
    render_clusters(state, theme, frame, left);
    let Some(cluster) = env.clusters.get(state.selected_cluster()) else {
        return;
    };
    // Recent operator actions, when the screen is tall enough.
    let recent_h = if right.height >= 36 { 7 } else { 0 };
    let [right, recent] =
        Layout::vertical([Constraint::Min(5), Constraint::Length(recent_h)]).areas(right);
    if recent_h > 0 {
        render_recent(state, theme, frame, recent);
    }
    let path = state.current_path();
    if cluster.nodes.is_empty() && path.is_none() {
        render_services(state, cluster, theme, frame, right);
        return;
    }
    let services_min = 5;
    let quorum_height = if cluster.nodes.is_empty() {
        0
    } else {
        (cluster.nodes.len() as u16 + 3)
            .min(right.height.saturating_sub(services_min))
            .max(3)
    };
    // The request path goes under the services: every hop on its own line when the
    // services leave room for it, else the one-line summary, else nothing.
    let room = right.height.saturating_sub(quorum_height);
    let services_wanted = (state.visible_services().len() as u16 + 3).max(services_min);
    let (path_height, compact) = match &path {
        Some(p) if room >= services_wanted + super::path::full_height(p) => {
            (super::path::full_height(p), false)
        }
        Some(p) if room >= services_min + super::path::compact_height(state, p, right.width) => {
            (super::path::compact_height(state, p, right.width), true)
        }
        Some(_) if room >= services_min + super::path::MIN_COMPACT_HEIGHT => {
            (super::path::MIN_COMPACT_HEIGHT, true)
        }
        _ => (0, false),
    };
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Min(services_min),
        Constraint::Length(path_height),
        Constraint::Length(quorum_height),
    ])
    .areas(right);
    render_services(state, cluster, theme, frame, top);
    if let Some(p) = &path
        && path_height > 0
    {
        super::path::render(state, cluster, p, theme, frame, middle, compact);
    }
    if quorum_height > 0 {
        super::quorum::render(state, cluster, theme, frame, bottom);
    }
}

fn render_clusters(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(env) = state.current_env() else {
        return;
    };
    let focused = state.focus == Focus::Clusters;
    let lines: Vec<Line> = env
        .clusters
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let path = crate::path::for_cluster(&state.world, state.env, i)
                .map_or(Health::Ok, |p| p.local_health());
            let h = c
                .health(&env.node_views(i, state.world.now, &state.world.thresholds))
                .worst(path);
            let selected = i == state.selected_cluster();
            let name_style = if selected {
                if focused {
                    theme.selected()
                } else {
                    theme.text().add_modifier(Modifier::BOLD)
                }
            } else {
                theme.text()
            };
            // A lock held on the cluster or one of its services rides on the name.
            let prefix = format!("{}/{}", env.name, c.name);
            let locked = env.locks.iter().any(|l| {
                l.lock_id == prefix
                    || l.lock_id
                        .strip_prefix(&prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
            });
            let w = area.width.saturating_sub(5) as usize;
            let (name, name_style) = match (locked, c.name.chars().count() + 9 <= w) {
                (true, true) => (
                    format!("{} (locked)", c.name),
                    name_style.patch(theme.warn()),
                ),
                (true, false) => (c.name.clone(), name_style.patch(theme.warn())),
                (false, _) => (c.name.clone(), name_style),
            };
            Line::from(vec![
                Span::styled(format!(" {} ", health_glyph(h)), theme.health(h)),
                Span::styled(format!("{name:<w$}"), name_style),
            ])
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(pane(Line::from(" Clusters "), theme, focused)),
        area,
    );
}

fn render_services(
    state: &State,
    cluster: &ClusterState,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let focused = state.focus == Focus::Services;
    let mut title = vec![
        Span::styled(" Services ", theme.accent()),
        Span::styled(format!("· {} ", cluster.name), theme.text()),
    ];
    let metrics = state.current_env().map(|e| &e.metrics);
    let metrics_failed = metrics.is_some_and(|m| m.error.is_some());
    // The ECS cluster's name gives way to why the CPU and memory are grey.
    if area.width > if metrics_failed { 110 } else { 60 } {
        title.push(Span::styled(
            format!("({}) ", cluster.ecs_cluster),
            theme.dim(),
        ));
    }
    if let Some(f) = freshness(
        &cluster.ecs,
        state.world.now,
        state.world.stale_after_ms(),
        theme,
    ) {
        title.push(f);
    }
    if let Some(e) = metrics.and_then(|m| m.error.as_ref()) {
        // The CPU and memory columns are grey; the title says why.
        let why = match &e.error {
            crate::backend::BackendError::AccessDenied { action, .. } => {
                format!("· CPU/MEM –: no {action} ")
            }
            _ => "· CPU/MEM –: cannot read CloudWatch ".to_string(),
        };
        title.push(Span::styled(why, theme.dim()));
    }
    let block = pane(Line::from(title), theme, focused);
    let inner_area = inner(area);
    frame.render_widget(block, area);

    let mut table_area = inner_area;
    if let Some(err) = &cluster.ecs.error {
        let lines = error_lines(err, state.world.now, theme);
        if cluster.ecs.data.is_none() {
            // Nothing read yet: the panel is the error's, whole and wrapped (missing
            // credentials name the places looked in, longer than a row).
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner_area);
            return;
        }
        let h = (lines.len() as u16).min(inner_area.height);
        let [e, rest] =
            Layout::vertical([Constraint::Length(h), Constraint::Min(0)]).areas(inner_area);
        frame.render_widget(Paragraph::new(lines), e);
        table_area = rest;
    }
    let Some(snap) = cluster.ecs.data.as_ref() else {
        if cluster.ecs.error.is_none() {
            frame.render_widget(
                Paragraph::new(format!("Loading services of {}…", cluster.ecs_cluster))
                    .style(theme.dim()),
                table_area,
            );
        }
        return;
    };
    let services = state.visible_services();
    if services.is_empty() {
        let msg = if state.filter.text.is_empty() {
            "No services in this cluster.".to_string()
        } else {
            format!("No service matches /{}", state.filter.text)
        };
        frame.render_widget(Paragraph::new(msg).style(theme.dim()), table_area);
        return;
    }
    let wide = table_area.width >= 100;
    let header = if wide {
        vec![
            "NAME",
            "STATUS",
            "RUN/DES",
            "PEND",
            "TASK DEFINITION",
            "ROLLOUT",
            "HEALTH",
            if table_area.width >= SPARKLINES_FROM {
                "CPU 30m"
            } else {
                "CPU"
            },
            if table_area.width >= SPARKLINES_FROM {
                "MEM 30m"
            } else {
                "MEM"
            },
            "LAST EVENT",
        ]
    } else {
        vec![
            "NAME", "RUN/DES", "PEND", "REV", "ROLLOUT", "HEALTH", "CPU", "MEM",
        ]
    };
    // At 80 columns the names get what the other columns leave; a long one keeps its
    // end (`quorum-val…-3`), which tells it from its siblings.
    let narrow_name = usize::from(table_area.width).saturating_sub(36 + 8 + 7);
    // The sparklines need room that LAST EVENT would otherwise have.
    let sparklines = table_area.width >= SPARKLINES_FROM;
    let limits = state.world.metric_thresholds;
    let metrics_denied = metrics_failed;
    let usage_cell = |value: Option<f64>, points: &[(i64, f64)], limit: u64| {
        let style = match value {
            _ if metrics_denied => theme.dim(),
            Some(v) if v > limit as f64 => theme.warn(),
            Some(_) => theme.text(),
            None => theme.dim(),
        };
        let number = value.map_or_else(|| "–".to_string(), |v| format!("{v:.0}%"));
        if sparklines {
            // The half hour up to the last read: it moves with the data, not the clock.
            let read = metrics
                .and_then(|m| m.updated_at)
                .unwrap_or(state.world.now);
            let end = read - read.rem_euclid(MINUTE_MS);
            let line = sparkline(points, end, SPARK_WIDTH, 100.0);
            Cell::from(Line::from(vec![
                Span::styled(format!("{number:>4} "), style),
                Span::styled(
                    line,
                    if metrics_denied {
                        theme.dim()
                    } else {
                        theme.accent()
                    },
                ),
            ]))
        } else {
            Cell::from(format!("{number:>4}")).style(style)
        }
    };
    // Only the rows on screen are built: a Table draws no others, and building all of a
    // large cluster's rows would cost more than drawing the whole screen.
    let shown = visible_window(
        services.len(),
        table_area.height.saturating_sub(1) as usize,
        state.service_row,
    );
    let tasks = snap.tasks_by_service();
    let rows = services[shown.clone()].iter().map(|svc| {
        let h = svc.health(tasks.get(svc.name.as_str()).into_iter().flatten().copied());
        let counts = format!("{}/{}", svc.running, svc.desired);
        let counts_style = if svc.running < svc.desired {
            theme.warn()
        } else {
            theme.text()
        };
        let rollout = svc.rollout();
        let rollout_style = match rollout {
            crate::model::ecs::Rollout::Failed => theme.error(),
            crate::model::ecs::Rollout::InProgress => theme.warn(),
            _ => theme.dim(),
        };
        let env = state.current_env();
        let lock = env.and_then(|e| e.lock_on(&cluster.name, Some(&svc.name)));
        let name = if lock.is_some() {
            // An op holds the service: marked on the name, whose and what in LAST EVENT.
            Cell::from(format!("{} (locked)", svc.name)).style(theme.warn())
        } else if wide {
            Cell::from(svc.name.clone())
        } else if svc.status == "ACTIVE" {
            Cell::from(elide_middle(&svc.name, narrow_name.max(12)))
        } else {
            // Narrow screens have no STATUS column: an unusual status rides on the name.
            Cell::from(format!("{} ({})", svc.name, svc.status.to_lowercase())).style(theme.warn())
        };
        let mut cells = vec![name];
        if wide {
            cells.push(Cell::from(svc.status.clone()).style(theme.dim()));
        }
        cells.extend([
            Cell::from(counts).style(counts_style),
            Cell::from(svc.pending.to_string()).style(if svc.pending > 0 {
                theme.warn()
            } else {
                theme.dim()
            }),
        ]);
        if wide {
            cells.push(Cell::from(svc.task_definition_short().to_string()));
        } else {
            cells.push(Cell::from(
                task_definition_revision(&svc.task_definition)
                    .map_or_else(|| "-".to_string(), |r| r.to_string()),
            ));
        }
        cells.push(Cell::from(rollout.as_str().replace('_', " ")).style(rollout_style));
        cells.push(Cell::from(health_span(h, theme)));
        let (cpu, memory) = metrics.map_or((None, None), |m| {
            crate::path::readings::service_usage(m, &cluster.ecs_cluster, &svc.name)
        });
        let series = metrics.and_then(|m| m.data.as_ref());
        let points = |metric| {
            series.map_or(&[][..], |s| {
                s.points(&MetricKey::service(&cluster.ecs_cluster, &svc.name, metric))
            })
        };
        cells.push(usage_cell(cpu, points(Metric::Cpu), limits.cpu_warn_pct));
        cells.push(usage_cell(
            memory,
            points(Metric::Memory),
            limits.memory_warn_pct,
        ));
        if wide {
            if let Some(lock) = lock {
                let now = state.world.now;
                let held = if lock.expires_at.saturating_mul(1000) < now {
                    format!(
                        "lock past its lease: {}",
                        lock.describe(now.div_euclid(1000))
                    )
                } else {
                    format!("locked by {}", lock.describe(now.div_euclid(1000)))
                };
                cells.push(Cell::from(fit(&held, 80)).style(theme.warn()));
            } else {
                let ev = svc
                    .events
                    .first()
                    .map(|e| fit(&e.message, 80))
                    .unwrap_or_default();
                cells.push(Cell::from(ev).style(theme.dim()));
            }
        }
        Row::new(cells)
    });
    let locked = |name: &str| {
        state
            .current_env()
            .is_some_and(|e| e.lock_on(&cluster.name, Some(name)).is_some())
    };
    let name_w = services
        .iter()
        .map(|s| s.name.chars().count() + if locked(&s.name) { 9 } else { 0 })
        .max()
        .unwrap_or(4)
        .clamp(4, 28) as u16;
    let usage_width = if sparklines {
        SPARK_WIDTH as u16 + 5
    } else {
        4
    };
    let widths: Vec<Constraint> = if wide {
        vec![
            Constraint::Length(name_w),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Length(4),
            Constraint::Length(longest_td(snap).clamp(8, 40)),
            Constraint::Length(11),
            Constraint::Length(10),
            Constraint::Length(usage_width),
            Constraint::Length(usage_width),
            Constraint::Min(10),
        ]
    } else {
        vec![
            Constraint::Min(name_w.min(12)),
            Constraint::Length(7),
            Constraint::Length(4),
            Constraint::Length(4),
            Constraint::Length(11),
            Constraint::Length(10),
            Constraint::Length(4),
            Constraint::Length(4),
        ]
    };
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(header_style(theme)))
        .row_highlight_style(if focused {
            theme.selected()
        } else {
            theme.text().add_modifier(Modifier::BOLD)
        })
        .column_spacing(1);
    let selected = state
        .service_row
        .min(services.len() - 1)
        .saturating_sub(shown.start);
    let mut ts = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(table, table_area, &mut ts);
}

/// Characters of a CPU or memory sparkline: the half hour, three minutes a character.
const SPARK_WIDTH: usize = 10;

/// The services table's width from which CPU and memory have their sparklines (below it,
/// the values alone, and LAST EVENT keeps its room).
const SPARKLINES_FROM: u16 = 170;

/// `name` in `width` characters: whole when it fits, else its start, `…` and its last
/// two characters (what tells `quorum-validator-3` from its siblings).
fn elide_middle(name: &str, width: usize) -> String {
    let count = name.chars().count();
    if count <= width || width < 6 {
        return fit(name, width);
    }
    let head: String = name.chars().take(width - 3).collect();
    let tail: String = name.chars().skip(count - 2).collect();
    format!("{head}…{tail}")
}

/// The rows a table of `rows` one-line rows shows in `height` lines with row `selected`
/// selected: from the top, scrolled just far enough down to show the selected row (what
/// ratatui's `Table` does with a fresh `TableState`, so passing it only these rows, the
/// selection shifted by the window's start, draws the same screen).
fn visible_window(rows: usize, height: usize, selected: usize) -> std::ops::Range<usize> {
    let selected = selected.min(rows.saturating_sub(1));
    let start = (selected + 1).saturating_sub(height);
    start..rows.min(start + height).max(start)
}

fn longest_td(snap: &ClusterSnapshot) -> u16 {
    snap.services
        .iter()
        .map(|s| s.task_definition_short().chars().count())
        .max()
        .unwrap_or(8) as u16
}

/// What to do when nothing is configured: where the config goes, and how to try the demo.
fn render_setup(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut lines = vec![
        Line::from(Span::styled(
            "Nothing to show yet: no environments are configured.",
            theme.warn(),
        )),
        Line::default(),
    ];
    for l in state.setup.iter().flatten() {
        lines.push(Line::from(Span::styled(l.clone(), theme.text())));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(ratatui::widgets::Wrap { trim: false })
            .block(pane(Line::from(" Getting started "), theme, true)),
        area,
    );
}

/// The latest operator actions from the audit log: who, what, when, outcome.
fn render_recent(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let lines: Vec<Line> = if state.world.recent_actions.is_empty() {
        vec![Line::from(Span::styled(
            "No actions recorded in the audit log yet.",
            theme.dim(),
        ))]
    } else {
        state
            .world
            .recent_actions
            .iter()
            .take(usize::from(area.height.saturating_sub(2)))
            .map(|recent| {
                let a = &recent.entry;
                let outcome = a.outcome.map_or("started", |o| o.as_str());
                let style = match a.outcome {
                    Some(crate::ops::Outcome::Ok) => theme.health(crate::model::Health::Ok),
                    Some(crate::ops::Outcome::Refused) | None => theme.warn(),
                    Some(_) => theme.error(),
                };
                let when = crate::clock::parse_iso(&a.time).map_or_else(
                    || a.time.get(..19).unwrap_or(&a.time).replace('T', " "),
                    |at| state.zone.date_time(at),
                );
                // Another operator's line names where it came from.
                let who = if recent.theirs {
                    format!("{}@{}", a.os_user, a.host)
                } else {
                    a.os_user.clone()
                };
                let mut spans = vec![
                    Span::styled(format!("{when} "), theme.dim()),
                    Span::styled(format!("{who:<10} "), theme.text()),
                    Span::styled(format!("{outcome:<13} "), style),
                    Span::styled(a.op.title(), theme.text()),
                ];
                if recent.theirs {
                    spans.insert(2, Span::styled("theirs ", theme.warn()));
                }
                Line::from(spans)
            })
            .collect()
    };
    frame.render_widget(
        Paragraph::new(lines).block(pane(
            Line::from(format!(
                " Recent actions (audit log, {}) ",
                state.zone.label(state.world.now)
            )),
            theme,
            false,
        )),
        area,
    );
}

#[cfg(test)]
mod tests {
    use ratatui::buffer::Buffer;
    use ratatui::layout::{Constraint, Rect};
    use ratatui::widgets::{Row, StatefulWidget, Table, TableState};

    use super::visible_window;

    /// The rows ratatui's `Table` draws, given all of them and a fresh state.
    fn drawn_by_ratatui(rows: usize, height: u16, selected: usize) -> Vec<usize> {
        let area = Rect::new(0, 0, 6, height);
        let mut buf = Buffer::empty(area);
        let table = Table::new(
            (0..rows).map(|i| Row::new([i.to_string()])),
            [Constraint::Length(6)],
        );
        let mut state = TableState::default().with_selected(Some(selected));
        StatefulWidget::render(table, area, &mut buf, &mut state);
        (0..height)
            .filter_map(|y| {
                let line: String = (0..6).map(|x| buf[(x, y)].symbol()).collect();
                line.trim().parse().ok()
            })
            .collect()
    }

    #[test]
    fn the_window_is_what_a_table_of_every_row_would_show() {
        for rows in 1..=12 {
            for height in 1..=6_u16 {
                for selected in 0..rows + 2 {
                    let window: Vec<usize> =
                        visible_window(rows, height as usize, selected).collect();
                    assert_eq!(
                        window,
                        drawn_by_ratatui(rows, height, selected),
                        "{rows} rows, {height} lines, row {selected} selected"
                    );
                }
            }
        }
    }
}
