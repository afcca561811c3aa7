//! The release views: the revision picker with the diff of the chosen revision against
//! the running one, and the live rollout shown once a release or rollback was done.
//!
//! ```text
//! ┌ Release · staging/node-api/api · runs ibet-stg-node-api-api:47 ───────────────────┐
//! │ REV  IMAGE TAG       │ Diff :47 → :48 (secret values masked)                         │
//! │▶ 48  v24.9.0   newer │ ~ task memory: 1024 → 2048                                    │
//! │  47  v24.9.0-rc.2 ●  │ ~ api image …/ibet-wallet-api: v24.9.0-rc.2 → v24.9.0         │
//! │  46  v24.6.1         │ + api env SENTRY_DSN=****                                     │
//! │ ↑↓ choose  Enter review and confirm  Esc close                                       │
//! └──────────────────────────────────────────────────────────────────────────────────────┘
//! ```
//! Below 110 columns the diff goes under the list. The rollout view draws the service as
//! the last ECS poll saw it: phase (a failure with ECS's reason), what the watch waits
//! for, a gauge of the new revision's running tasks, counts, deployments and the latest
//! service events. Views read the state; they never change
//! it, and they draw the ops layer's diff lines as they are (sanitised), never their own.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::Theme;
use super::widgets::{centered, fit, inner, pane};
use crate::app::dialog::{OpDialog, Stage};
use crate::app::release::{PickerIntent, RevisionPicker, Revisions, RolloutWatch};
use crate::app::state::State;
use crate::clock::{short_age, short_duration};
use crate::model::Health;
use crate::model::ecs::{Service, TaskDefinition, short_task_definition};
use crate::ops::release::{DiffChange, RolloutPhase, rollout_failure};
use crate::text::sanitize;

/// Columns from which the diff stands beside the list rather than under it.
const SIDE_BY_SIDE_FROM: u16 = 110;
/// Width of the revision list when the diff stands beside it.
const LIST_WIDTH: u16 = 40;

/// A centred popup of at most `max_w` x `max_h` within `area`.
fn popup(area: Rect, max_w: u16, max_h: u16) -> Rect {
    let width = area.width.saturating_sub(4).min(max_w);
    let height = area.height.saturating_sub(2).min(max_h);
    centered(area, width, height)
}

/// The popup's block: danger environments get the danger border.
fn frame_block<'a>(title: &str, danger: bool, theme: &Theme) -> ratatui::widgets::Block<'a> {
    let title = if danger {
        Line::from(Span::styled(format!(" ■ {title} "), theme.danger()))
    } else {
        Line::from(Span::styled(format!(" {title} "), theme.accent()))
    };
    let block = pane(title, theme, true);
    if danger {
        block.border_style(theme.danger())
    } else {
        block
    }
}

/// `lead` and the task definition `arn` as `family:revision`, or only `:revision` when
/// that does not fit a popup `width` columns wide.
fn title_within(lead: &str, arn: &str, width: u16) -> String {
    let full = format!("{lead} {}", short_task_definition(arn));
    if full.chars().count() + 6 <= usize::from(width) {
        return full;
    }
    match crate::model::ecs::task_definition_revision(arn) {
        Some(revision) => format!("{lead} :{revision}"),
        None => full,
    }
}

/// The tag (or digest) of a revision's first container image.
fn image_tag(td: &TaskDefinition) -> String {
    let image = td.containers.first().map_or("", |c| c.image.as_str());
    let name = image.rsplit('/').next().unwrap_or(image);
    let tag = name
        .split_once('@')
        .map(|(_, digest)| digest)
        .or_else(|| name.rsplit_once(':').map(|(_, tag)| tag))
        .unwrap_or("latest");
    sanitize(tag)
}

/// Draws the revision picker over `area`.
pub fn render_picker(
    state: &State,
    picker: &RevisionPicker,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let env = state.world.envs.get(picker.env);
    let danger = env.is_some_and(|e| e.danger);
    let read_only = env.is_some_and(|e| e.read_only) && !state.write_enabled;
    let what = match picker.intent {
        PickerIntent::Choose => "Release",
        PickerIntent::RollBack => "Roll back",
    };
    let footer_rows: u16 = if read_only { 2 } else { 1 };
    let area = popup(area, 140, picker_height(picker, area, footer_rows));
    let title = title_within(
        &format!(
            "{what} · {}/{}/{} · runs",
            picker.env_name, picker.cluster_name, picker.service
        ),
        &picker.current,
        area.width,
    );
    frame.render_widget(Clear, area);
    frame.render_widget(frame_block(&title, danger, theme), area);
    let body = inner(area);
    let [main, footer] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(footer_rows)]).areas(body);
    render_picker_footer(picker, read_only, theme, frame, footer);

    let list = match &picker.revisions {
        Revisions::Loading => {
            let text = match picker.intent {
                PickerIntent::Choose => "Reading the revisions of the task definition…",
                PickerIntent::RollBack => "Reading the revisions to find the previous one…",
            };
            frame.render_widget(
                Paragraph::new(Span::styled(format!(" {text}"), theme.dim())),
                main,
            );
            return;
        }
        Revisions::Failed { error, hint } => {
            let mut lines = vec![Line::from(Span::styled(
                format!(" ✖ cannot read the revisions: {}", sanitize(error)),
                theme.error(),
            ))];
            if let Some(hint) = hint {
                lines.push(Line::from(vec![
                    Span::styled("   hint: ", theme.accent()),
                    Span::styled(hint.clone(), theme.text()),
                ]));
            }
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), main);
            return;
        }
        Revisions::Ready(list) => list,
    };
    let (list_area, diff_area) = if body.width >= SIDE_BY_SIDE_FROM {
        let [left, gap, right] = Layout::horizontal([
            Constraint::Length(LIST_WIDTH),
            Constraint::Length(1),
            Constraint::Min(1),
        ])
        .areas(main);
        frame.render_widget(
            Paragraph::new(vec![Line::from("│"); usize::from(gap.height)]).style(theme.dim()),
            gap,
        );
        (left, right)
    } else {
        let rows = u16::try_from(list.len().min(6)).unwrap_or(6) + 1;
        let [top, bottom] =
            Layout::vertical([Constraint::Length(rows), Constraint::Min(1)]).areas(main);
        (top, bottom)
    };
    render_revision_list(picker, list, theme, frame, list_area);
    render_diff(picker, theme, frame, diff_area);
}

/// Rows the picker needs in `area`: the list and the diff (beside or under it, wrapped)
/// and the footer, within borders; at least 12.
fn picker_height(picker: &RevisionPicker, area: Rect, footer_rows: u16) -> u16 {
    let inner_width = area.width.saturating_sub(4).min(140).saturating_sub(2);
    let list = picker.list().len() + 1;
    let side_by_side = inner_width >= SIDE_BY_SIDE_FROM;
    let diff_width = usize::from(if side_by_side {
        inner_width.saturating_sub(LIST_WIDTH + 2)
    } else {
        inner_width.saturating_sub(1)
    })
    .max(1);
    let diff: usize = 3 + picker.diff().map_or(0, |lines| {
        lines
            .iter()
            .map(|l| unicode_width(&l.text()).max(1).div_ceil(diff_width))
            .sum()
    });
    let content = if side_by_side {
        list.max(diff)
    } else {
        list.min(7) + diff
    };
    u16::try_from(content + 1)
        .unwrap_or(u16::MAX)
        .saturating_add(footer_rows + 2)
        .max(12)
}

fn render_picker_footer(
    picker: &RevisionPicker,
    read_only: bool,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let key = |k: &str| Span::styled(k.to_string(), theme.accent());
    let txt = |t: &str| Span::styled(t.to_string(), theme.dim());
    let mut lines = Vec::new();
    if read_only {
        lines.push(Line::from(Span::styled(
            format!(
                " {} is read-only: the plan will refuse; start the console with --write to act",
                picker.env_name
            ),
            theme.warn(),
        )));
    }
    let keys = if picker.list().is_empty() {
        vec![txt(" "), key("Esc"), txt(" close")]
    } else {
        vec![
            txt(" "),
            key("↑↓"),
            txt(" choose   "),
            key("Enter"),
            txt(" review the plan and confirm   "),
            key("Esc"),
            txt(" close"),
        ]
    };
    lines.push(Line::from(keys));
    frame.render_widget(Paragraph::new(lines), area);
}

fn render_revision_list(
    picker: &RevisionPicker,
    list: &[TaskDefinition],
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let width = usize::from(area.width);
    let mut lines = vec![Line::from(Span::styled(
        fit(" REV    IMAGE TAG", width),
        theme.dim().add_modifier(Modifier::BOLD),
    ))];
    let rows = usize::from(area.height.saturating_sub(1)).max(1);
    let first = picker.cursor.saturating_sub(rows - 1);
    let running = crate::model::ecs::task_definition_revision(&picker.current);
    for (i, td) in list.iter().enumerate().skip(first).take(rows) {
        let is_current = td.arn == picker.current;
        let note = if is_current {
            "● running"
        } else if running.is_some_and(|r| td.revision > r) {
            "newer"
        } else {
            ""
        };
        let marker = if i == picker.cursor { "▶" } else { " " };
        let text = fit(
            &format!("{marker}{:>5}  {:<16} {note}", td.revision, image_tag(td)),
            width,
        );
        let style = if i == picker.cursor {
            theme.selected()
        } else if is_current {
            theme.health(Health::Ok)
        } else {
            theme.text()
        };
        let pad = width.saturating_sub(unicode_width(&text));
        lines.push(Line::from(Span::styled(
            format!("{text}{}", " ".repeat(pad)),
            style,
        )));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn unicode_width(s: &str) -> usize {
    use unicode_width::UnicodeWidthStr;
    s.width()
}

fn render_diff(picker: &RevisionPicker, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(chosen) = picker.chosen() else {
        return;
    };
    let revision = |arn: &str| {
        crate::model::ecs::task_definition_revision(arn).map_or_else(
            || short_task_definition(arn).to_string(),
            |r| format!(":{r}"),
        )
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!(
                "Diff {} → {}",
                revision(&picker.current),
                revision(&chosen.arn)
            ),
            theme.accent(),
        ),
        Span::styled(", secret values masked", theme.dim()),
    ])];
    let summary = format!(
        "{}: image tag {} · cpu {} · memory {}",
        revision(&chosen.arn),
        image_tag(chosen),
        chosen.cpu.as_deref().unwrap_or("-"),
        chosen.memory.as_deref().unwrap_or("-"),
    );
    lines.push(Line::from(Span::styled(sanitize(&summary), theme.dim())));
    if chosen.arn == picker.current {
        lines.push(Line::from(Span::styled(
            "This is the running revision: nothing to change.",
            theme.dim(),
        )));
    } else {
        match picker.diff() {
            None => lines.push(Line::from(Span::styled(
                "The running revision could not be read: no diff to show.",
                theme.warn(),
            ))),
            Some(diff) if diff.is_empty() => lines.push(Line::from(Span::styled(
                "Same images, environment, secrets, cpu/memory, ports and log options.",
                theme.dim(),
            ))),
            Some(diff) => {
                for line in diff {
                    let style = match line.change {
                        DiffChange::Added => theme.health(Health::Ok),
                        DiffChange::Removed => theme.error(),
                        DiffChange::Changed => theme.warn(),
                    };
                    lines.push(Line::from(Span::styled(sanitize(&line.text()), style)));
                }
            }
        }
    }
    let area = Rect {
        x: area.x.saturating_add(1),
        width: area.width.saturating_sub(1),
        ..area
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

/// The service as the last poll of its cluster saw it.
fn live_service<'a>(state: &'a State, env: usize, watch: &RolloutWatch) -> Option<&'a Service> {
    state
        .world
        .envs
        .get(env)?
        .clusters
        .iter()
        .find(|c| c.name == watch.op.cluster())?
        .ecs
        .data
        .as_ref()?
        .services
        .iter()
        .find(|s| s.name == watch.service)
}

/// Draws the live rollout of a done release or rollback over `area`.
pub fn render_rollout(
    state: &State,
    dialog: &OpDialog,
    watch: &RolloutWatch,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let danger = state.world.envs.get(dialog.env).is_some_and(|e| e.danger);
    let title = title_within(
        &format!(
            "Rollout · {}/{}/{} →",
            watch.op.env(),
            watch.op.cluster(),
            watch.service
        ),
        &watch.target,
        area.width.saturating_sub(4).min(120),
    );
    let width = usize::from(area.width.saturating_sub(4).min(120).saturating_sub(3)).max(1);
    let now = state.world.now;
    let service = live_service(state, dialog.env, watch);

    let mut lines: Vec<Line> = Vec::new();
    let done_message = match &dialog.stage {
        Stage::Done(report) => sanitize(&report.message),
        _ => String::new(),
    };
    lines.push(Line::from(Span::styled(
        fit(&done_message, width),
        theme.dim(),
    )));
    lines.push(phase_line(watch, service, now, width, theme));
    lines.push(Line::from(Span::styled(
        fit(
            &format!(
                "Waits until {}: {}",
                watch.until.as_str(),
                watch.until.describe()
            ),
            width,
        ),
        theme.dim(),
    )));
    match service {
        None => lines.push(Line::from(Span::styled(
            "waiting for the next poll of the cluster…",
            theme.dim(),
        ))),
        Some(service) => {
            lines.extend(gauge_lines(watch, service, width, theme));
            lines.push(Line::default());
            lines.push(Line::from(Span::styled(
                fit(
                    "  STATUS   TASK DEFINITION                ROLLOUT      RUN  PEND  FAIL",
                    width,
                ),
                theme.dim().add_modifier(Modifier::BOLD),
            )));
            for d in &service.deployments {
                let style = match d.rollout {
                    crate::model::ecs::Rollout::Failed => theme.error(),
                    crate::model::ecs::Rollout::InProgress => theme.warn(),
                    _ => theme.text(),
                };
                let counts = format!("{}/{}", d.running, d.desired);
                lines.push(Line::from(Span::styled(
                    fit(
                        &format!(
                            "  {:<7}  {:<29}  {:<11}  {counts:>3}  {:>4}  {:>4}",
                            d.status,
                            short_task_definition(&d.task_definition),
                            d.rollout.as_str(),
                            d.pending,
                            d.failed
                        ),
                        width,
                    ),
                    style,
                )));
            }
        }
    }
    let footer = rollout_footer(watch, theme);
    let most = usize::from(area.height.saturating_sub(4).min(32));
    let room = most.saturating_sub(lines.len() + footer.len() + 3).min(8);
    if let Some(service) = service
        && room > 0
        && !service.events.is_empty()
    {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled("Latest events", theme.accent())));
        for event in service.events.iter().take(room) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:>4}  ", short_age(now - event.at)), theme.dim()),
                Span::styled(
                    fit(&sanitize(&event.message), width.saturating_sub(8)),
                    theme.text(),
                ),
            ]));
        }
    }
    lines.push(Line::default());
    lines.extend(footer);
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let area = popup(area, 120, height);
    frame.render_widget(Clear, area);
    frame.render_widget(frame_block(&title, danger, theme), area);
    let body = inner(area);
    let body = Rect {
        x: body.x.saturating_add(1),
        width: body.width.saturating_sub(1),
        ..body
    };
    frame.render_widget(Paragraph::new(lines), body);
}

fn phase_line(
    watch: &RolloutWatch,
    service: Option<&Service>,
    now: i64,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let (text, style) = match watch.phase {
        RolloutPhase::Completed => (
            format!(
                "● COMPLETED in {}",
                watch.ended_at.map_or_else(
                    || short_age(now - watch.since),
                    |end| short_duration(end - watch.since)
                )
            ),
            theme.health(Health::Ok),
        ),
        RolloutPhase::Failed => {
            let why = service
                .and_then(|s| rollout_failure(s, &watch.target, &watch.previous, watch.since))
                .map_or_else(String::new, |r| format!(": {}", sanitize(&r)));
            (format!("✖ FAILED{why}"), theme.error())
        }
        RolloutPhase::InProgress => (
            format!("▲ IN PROGRESS for {}", short_age(now - watch.since)),
            theme.warn(),
        ),
    };
    Line::from(vec![
        Span::styled("Rollout ", theme.text().add_modifier(Modifier::BOLD)),
        Span::styled(fit(&text, width.saturating_sub(8)), style),
    ])
}

/// The gauge and the counts under it.
fn gauge_lines(
    watch: &RolloutWatch,
    service: &Service,
    width: usize,
    theme: &Theme,
) -> [Line<'static>; 2] {
    let progress = watch.progress(service);
    let ratio = progress.ratio();
    let label = format!(" {:>3}%", (ratio * 100.0).round());
    let bar = width.saturating_sub(label.chars().count()).clamp(4, 60);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let filled = ((ratio * bar as f64).round() as usize).min(bar);
    let style: Style = match watch.phase {
        RolloutPhase::Completed => theme.health(Health::Ok),
        RolloutPhase::Failed => theme.error(),
        RolloutPhase::InProgress => theme.accent(),
    };
    let gauge = Line::from(vec![
        Span::styled("█".repeat(filled), style),
        Span::styled("░".repeat(bar - filled), theme.dim()),
        Span::styled(label, theme.text()),
    ]);
    let failed = if watch.failed_tasks > 0 {
        format!(" · {} failed", watch.failed_tasks)
    } else {
        String::new()
    };
    let counts = format!(
        "new {}/{} running · old {} still running · {} pending{failed}",
        progress.new_running, progress.desired, progress.old_running, service.pending
    );
    let counts_style = if watch.failed_tasks > 0 {
        theme.warn()
    } else {
        theme.text()
    };
    [
        gauge,
        Line::from(Span::styled(fit(&counts, width), counts_style)),
    ]
}

fn rollout_footer(watch: &RolloutWatch, theme: &Theme) -> Vec<Line<'static>> {
    let key = |k: &str| Span::styled(k.to_string(), theme.accent());
    let txt = |t: &str| Span::styled(t.to_string(), theme.dim());
    let mut lines = Vec::new();
    let close = if watch.phase == RolloutPhase::InProgress {
        " close (the rollout goes on in ECS)"
    } else {
        " close"
    };
    let mut keys = vec![key("Esc"), txt(close)];
    if let Some(reason) = watch.offer {
        let back = short_task_definition(&watch.previous).to_string();
        lines.push(Line::from(Span::styled(
            format!("⚠ {}: roll back to {back}?", reason.text()),
            theme.warn(),
        )));
        keys.extend([txt("   "), key("b"), txt(" roll back (asks to confirm)")]);
    }
    lines.push(Line::from(keys));
    lines
}
