//! The tasks of one service, the selected task's containers, and the service's
//! deployments and recent events.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

use super::Theme;
use super::widgets::{fit, header_style, health_span, inner, pane};
use crate::app::state::State;
use crate::clock::short_age;
use crate::model::ecs::{CircuitBreaker, Task, task_definition_revision};

/// Draws the tasks screen of `service` into `area`.
pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, service: &str) {
    let Some(cluster) = state.current_cluster() else {
        return;
    };
    let tasks = state.visible_tasks();
    let svc = state.selected_service();
    let detail_h = if area.height >= 30 { 12 } else { 7 };
    let [top, bottom] =
        Layout::vertical([Constraint::Min(5), Constraint::Length(detail_h)]).areas(area);

    let mut title = vec![
        Span::styled(" Tasks ", theme.accent()),
        Span::styled(format!("· {} / {service} ", cluster.name), theme.text()),
    ];
    if let Some(s) = svc {
        title.push(Span::styled(
            format!("· {}/{} running ", s.running, s.desired),
            theme.dim(),
        ));
        // Off is worth noticing: ECS will not stop a rollout whose tasks keep failing.
        let style = if s.circuit_breaker == CircuitBreaker::Off {
            theme.warn()
        } else {
            theme.dim()
        };
        title.push(Span::styled(
            format!("· circuit breaker {} ", s.circuit_breaker.text()),
            style,
        ));
    } else if cluster.ecs.data.is_some() {
        title.push(Span::styled("· service no longer exists ", theme.warn()));
    }
    let block = pane(Line::from(title), theme, true);
    let table_area = inner(top);
    frame.render_widget(block, top);
    if tasks.is_empty() {
        let msg = if cluster.tasks_pending {
            "reading the tasks…".to_string()
        } else if state.filter.text.is_empty() {
            "No tasks (running or stopped in the last hour).".to_string()
        } else {
            format!("No task matches /{}", state.filter.text)
        };
        frame.render_widget(Paragraph::new(msg).style(theme.dim()), table_area);
    } else {
        let wide = table_area.width >= 100;
        let mut header = vec!["TASK", "STATUS", "HEALTH", "REV", "AGE"];
        if wide {
            header.push("STARTED");
        }
        header.push("STOP REASON");
        let rows = tasks.iter().map(|t| {
            let status_style = if t.is_stopped() {
                theme.dim()
            } else if t.is_running() {
                theme.text()
            } else {
                theme.warn()
            };
            let age = t
                .started_at
                .or(t.created_at)
                .map_or("-".into(), |s| short_age(state.world.now - s));
            let mut cells = vec![
                Cell::from(short_id(&t.id, if wide { 32 } else { 8 })),
                Cell::from(t.last_status.clone()).style(status_style),
                Cell::from(health_span(t.health(), theme)),
                Cell::from(
                    task_definition_revision(&t.task_definition)
                        .map_or("-".into(), |r| r.to_string()),
                ),
                Cell::from(age),
            ];
            if wide {
                cells.push(Cell::from(t.started_at.map_or("-".into(), |s| {
                    format!("{} {}", state.zone.hms(s), state.zone.label(s))
                })));
            }
            cells.push(Cell::from(t.stopped_reason.clone().unwrap_or_default()).style(theme.dim()));
            Row::new(cells)
        });
        let mut widths = vec![
            Constraint::Length(if wide { 32 } else { 8 }),
            Constraint::Length(12),
            Constraint::Length(10),
            Constraint::Length(4),
            Constraint::Length(4),
        ];
        if wide {
            widths.push(Constraint::Length(12));
        }
        widths.push(Constraint::Min(10));
        let table = Table::new(rows, widths)
            .header(Row::new(header).style(header_style(theme)))
            .row_highlight_style(theme.selected())
            .column_spacing(1);
        let mut ts = TableState::default().with_selected(Some(state.task_row));
        frame.render_stateful_widget(table, table_area, &mut ts);
    }

    let selected = tasks.get(state.task_row).copied();
    if area.width >= 120 {
        let [l, r] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(bottom);
        render_containers(selected, theme, frame, l);
        render_events(state, theme, frame, r);
    } else {
        render_containers(selected, theme, frame, bottom);
    }
}

fn short_id(id: &str, n: usize) -> String {
    id.chars().take(n).collect()
}

fn render_containers(task: Option<&Task>, theme: &Theme, frame: &mut Frame, area: Rect) {
    let title = match task {
        Some(t) => format!(" Containers · task {} ", short_id(&t.id, 8)),
        None => " Containers ".into(),
    };
    let block = pane(
        Line::from(Span::styled(title, theme.accent())),
        theme,
        false,
    );
    let Some(t) = task else {
        frame.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let rows = t.containers.iter().map(|c| {
        let exit = c.exit_code.map_or("-".into(), |e| e.to_string());
        let exit_style = match c.exit_code {
            Some(0) | None => theme.dim(),
            Some(_) => theme.error(),
        };
        Row::new(vec![
            Cell::from(c.name.clone()),
            Cell::from(c.last_status.clone()),
            Cell::from(c.health_status.clone()).style(if c.health_status == "UNHEALTHY" {
                theme.warn()
            } else {
                theme.dim()
            }),
            Cell::from(exit).style(exit_style),
            Cell::from(
                c.reason
                    .clone()
                    .unwrap_or_else(|| image_tag(&c.image).to_string()),
            )
            .style(theme.dim()),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(18),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(4),
            Constraint::Min(10),
        ],
    )
    .header(
        Row::new(["NAME", "STATUS", "HEALTH", "EXIT", "IMAGE / REASON"]).style(header_style(theme)),
    )
    .column_spacing(1)
    .block(block);
    frame.render_widget(table, area);
}

fn image_tag(image: &str) -> &str {
    image.rsplit_once('/').map_or(image, |(_, t)| t)
}

fn render_events(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = pane(
        Line::from(Span::styled(" Deployments & events ", theme.accent())),
        theme,
        false,
    );
    let Some(svc) = state.selected_service() else {
        frame.render_widget(block, area);
        return;
    };
    let mut lines = Vec::new();
    for d in &svc.deployments {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:<8}", d.status),
                theme.text().add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!(
                    "{} {}/{} pend {} fail {} ",
                    crate::model::ecs::short_task_definition(&d.task_definition),
                    d.running,
                    d.desired,
                    d.pending,
                    d.failed
                ),
                theme.text(),
            ),
            Span::styled(d.rollout.as_str().replace('_', " "), theme.dim()),
        ]));
    }
    for e in svc.events.iter().take(area.height as usize) {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} ", short_age(state.world.now - e.at)),
                theme.dim(),
            ),
            Span::styled(fit(&e.message, 200), theme.text()),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
        area,
    );
}
