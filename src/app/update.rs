//! `update(state, msg) -> effects`: the one place where the state changes.
//!
//! Pure: no I/O, no clock reads (time arrives in messages). Unknown keys do nothing,
//! so a stray key can never act; nothing here calls a backend.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::dialog::{DialogAction, OpDialog};
use super::log_picker::{ContainerPicker, PickerAction as LogPickerAction};
use super::logview::{LogViewAction, LogViewState};
use super::msg::{ClusterAddr, Effect, Msg, Poller};
use super::release::{PickerAction, PickerIntent, RevisionPicker, RolloutWatch};
use super::state::{Focus, Panel, Screen, State};
use crate::backend::BackendError;
use crate::clock::EpochMs;
use crate::logs::LogTarget;
use crate::logs::discovery::short_task_id;
use crate::ops::Op;

/// Applies one message; returns what the event loop must do.
///
/// The problems list is recomputed after a poll that changed something, and on the clock
/// tick once the list would change with time alone (a head turns stalled, data turns
/// stale, an age in a summary ticks over: `State::problems_due_at`). A poll that brought
/// what the state already held, the common case on a quiet system, costs no
/// recomputation and no frame.
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let tick = matches!(msg, Msg::Tick(_));
    let data = matches!(
        msg,
        Msg::Ecs { .. } | Msg::Node { .. } | Msg::Switch { .. } | Msg::Paths { .. }
    );
    let pending = std::mem::replace(&mut state.dirty, false);
    let effects = apply(state, msg);
    let problems_due = state.problems_due_at.is_none_or(|at| state.now >= at);
    if (tick && problems_due) || (data && state.dirty) {
        state.refresh_problems();
    }
    state.dirty |= pending;
    effects
}

/// Applies a poll to a panel whose title says when its data is stale; whether the screen
/// must be drawn again: the data or the error changed, or the panel showed as stale.
fn redraws<T: PartialEq>(
    panel: &mut Panel<T>,
    result: Result<T, BackendError>,
    when: EpochMs,
    now: EpochMs,
    stale_after_ms: i64,
) -> bool {
    let was_stale = panel.is_stale(now, stale_after_ms);
    panel.apply(result, when) || was_stale
}

fn apply(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => return on_key(state, key),
        Msg::Resize => state.dirty = true,
        Msg::Tick(now) => {
            state.now = now;
            if let Screen::Logs { view, .. } = &mut state.screen {
                view.set_now(now);
            }
            if state
                .notice
                .as_ref()
                .is_some_and(|(_, at)| now - at > NOTICE_MS)
            {
                state.notice = None;
                state.dirty = true;
            }
            // Only when the frame on screen would come out different: a still screen
            // costs no rendering at all.
            if state.redraw_at.is_none_or(|at| now >= at) {
                state.dirty = true;
            }
        }
        Msg::Ecs { at, result, when } => {
            state.now = state.now.max(when);
            let (now, stale_after) = (state.now, state.stale_after_ms());
            if let Some(c) = cluster_mut(state, at.env, at.cluster)
                && redraws(&mut c.ecs, result, when, now, stale_after)
            {
                state.dirty = true;
            }
            clamp_rows(state);
            observe_rollout(state, at, when);
        }
        Msg::Revisions {
            at,
            service,
            result,
        } => return revisions_read(state, at, &service, result),
        Msg::Node { at, node, sample } => {
            if let Some(slot) =
                cluster_mut(state, at.env, at.cluster).and_then(|c| c.nodes.get_mut(node))
            {
                // Drawn again when the poll brought news: a failure (the count moves), or
                // an answer that differs in anything shown (height, peers, txpool...).
                let failures = slot.history.consecutive_failures();
                let news = slot
                    .history
                    .last_answer()
                    .is_none_or(|last| !last.same_news(&sample));
                slot.history.record(*sample);
                if news || failures != slot.history.consecutive_failures() {
                    state.dirty = true;
                }
            }
        }
        Msg::Pace {
            at,
            poller,
            slowed_ms,
        } => {
            let shown = state.polls_slowed();
            let mut was = 0;
            if let Some(c) = cluster_mut(state, at.env, at.cluster) {
                let slots = match poller {
                    Poller::Cluster => vec![&mut c.ecs.slowed_ms, &mut c.paths.slowed_ms],
                    Poller::Switch => c.switch.iter_mut().map(|p| &mut p.slowed_ms).collect(),
                    Poller::Node(i) => c
                        .nodes
                        .get_mut(i)
                        .map(|n| &mut n.slowed_ms)
                        .into_iter()
                        .collect(),
                };
                for slot in slots {
                    was = was.max(std::mem::replace(slot, slowed_ms));
                }
            }
            if shown != state.polls_slowed() {
                state.dirty = true;
            }
            // Data may now turn stale sooner than the screen and the problems were told.
            if slowed_ms < was {
                state.redraw_at = Some(state.now);
                state.problems_due_at = Some(state.now);
            }
        }
        Msg::PlanReady(plan) => {
            if let Some(d) = state.dialog.as_mut() {
                d.plan_ready(*plan);
                state.dirty = true;
                return gate_effect(state);
            }
        }
        Msg::GatePoll(poll) => {
            if let Some(d) = state.dialog.as_mut()
                && d.gate_poll(*poll)
            {
                state.dirty = true;
            }
        }
        Msg::RecentActions(entries) => {
            state.recent_actions = entries;
            state.dirty = true;
        }
        Msg::OpDone(report) => {
            // The message names the op already.
            state.notice = Some((report.message.clone(), state.now));
            if let Some(d) = state.dialog.as_mut() {
                if d.op == report.op {
                    d.rollout = RolloutWatch::after(&report, d.plan.as_deref(), state.now);
                }
                d.done(*report);
            }
            state.dirty = true;
            return vec![Effect::RefreshNow];
        }
        Msg::Switch { at, result, when } => {
            if let Some(panel) =
                cluster_mut(state, at.env, at.cluster).and_then(|c| c.switch.as_mut())
                && panel.apply(result, when)
            {
                state.dirty = true;
            }
        }
        Msg::Paths { at, result, when } => {
            let (now, stale_after) = (state.now.max(when), state.stale_after_ms());
            if let Some(c) = cluster_mut(state, at.env, at.cluster)
                && redraws(&mut c.paths, result, when, now, stale_after)
            {
                state.dirty = true;
            }
            clamp_rows(state);
        }
        Msg::Logs(m) => {
            if let Screen::Logs { view, .. } = &mut state.screen
                && view.apply(m)
            {
                state.dirty = true;
            }
        }
    }
    Vec::new()
}

/// How long a footer notice stays.
const NOTICE_MS: i64 = 5_000;

fn cluster_mut(
    state: &mut State,
    env: usize,
    cluster: usize,
) -> Option<&mut super::state::ClusterState> {
    state.envs.get_mut(env)?.clusters.get_mut(cluster)
}

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    state.dirty = true;
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        state.quit = true;
        return vec![Effect::Quit];
    }
    if ctrl && key.code == KeyCode::Char('l') {
        return vec![Effect::Repaint];
    }
    if state.dialog.is_some() {
        return on_dialog_key(state, key);
    }
    if state.picker.is_some() {
        return on_picker_key(state, key);
    }
    if state.log_picker.is_some() {
        return on_log_picker_key(state, key);
    }
    if state.help {
        on_help_key(state, key.code);
        return Vec::new();
    }
    if matches!(state.screen, Screen::Logs { .. }) {
        return on_log_key(state, key);
    }
    if state.filter.editing {
        on_filter_key(state, key);
        return Vec::new();
    }
    if ctrl && key.code == KeyCode::Char('r') {
        state.notice = Some(("refreshing…".into(), state.now));
        return vec![Effect::RefreshNow];
    }
    match key.code {
        KeyCode::Char('q') => {
            state.quit = true;
            return vec![Effect::Quit];
        }
        KeyCode::Char('?') => state.help = true,
        KeyCode::Tab => select_env(state, (state.env + 1) % state.envs.len().max(1)),
        KeyCode::BackTab => select_env(
            state,
            (state.env + state.envs.len().max(1) - 1) % state.envs.len().max(1),
        ),
        KeyCode::Char(c @ '1'..='9') => {
            let i = (c as usize) - ('1' as usize);
            if i < state.envs.len() {
                select_env(state, i);
            }
        }
        KeyCode::Char('/') => {
            state.filter.editing = true;
        }
        KeyCode::Char('p') => {
            if state.screen == Screen::Overview {
                state.focus = if state.focus == Focus::Path {
                    Focus::Services
                } else if let Some(path) = crate::path::current(state) {
                    state.path_row = crate::path::first_broken_hop(&path)
                        .and_then(|broken| path.hops.iter().position(|h| h == broken))
                        .unwrap_or(0);
                    Focus::Path
                } else {
                    state.notice = Some(("this cluster has no request path".into(), state.now));
                    state.focus
                };
            }
        }
        KeyCode::Esc => {
            if state.focus == Focus::Path && state.screen == Screen::Overview {
                state.focus = Focus::Services;
            } else if !state.filter.text.is_empty() {
                state.filter.text.clear();
                clamp_rows(state);
            } else if matches!(state.screen, Screen::Tasks { .. }) {
                state.screen = Screen::Overview;
            }
        }
        KeyCode::Up | KeyCode::Char('k') => move_row(state, -1),
        KeyCode::Down | KeyCode::Char('j') => move_row(state, 1),
        KeyCode::PageUp => move_row(state, -10),
        KeyCode::PageDown => move_row(state, 10),
        KeyCode::Home | KeyCode::Char('g') => move_row(state, -100_000),
        KeyCode::End | KeyCode::Char('G') => move_row(state, 100_000),
        KeyCode::Char('[') => move_cluster(state, -1),
        KeyCode::Char(']') => move_cluster(state, 1),
        KeyCode::Left | KeyCode::Char('h') => {
            if state.screen == Screen::Overview {
                state.focus = Focus::Clusters;
            }
        }
        KeyCode::Right => {
            if state.screen == Screen::Overview {
                state.focus = Focus::Services;
            }
        }
        KeyCode::Char('l') => return open_logs(state),
        KeyCode::Enter => on_enter(state),
        KeyCode::Char('s') => return open_switch(state),
        KeyCode::Char('e') => jump_to_problem(state),
        KeyCode::Char('r') => return open_restart(state, false),
        KeyCode::Char('R') => return open_restart(state, true),
        KeyCode::Char('u') => return open_release(state, PickerIntent::Choose),
        KeyCode::Char('b') => return open_release(state, PickerIntent::RollBack),
        _ => state.dirty = false,
    }
    Vec::new()
}

/// Keys on the help overlay: any of `?` Esc q Enter closes it; the others scroll it when
/// it is taller than the screen.
fn on_help_key(state: &mut State, code: KeyCode) {
    let max = state.help_scroll_max.get();
    let scroll = state.help_scroll;
    state.help_scroll = match code {
        KeyCode::Esc | KeyCode::Char('?' | 'q') | KeyCode::Enter => {
            state.help = false;
            0
        }
        KeyCode::Down | KeyCode::Char('j') => scroll.saturating_add(1),
        KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
        KeyCode::PageDown | KeyCode::Char(' ') => scroll.saturating_add(10),
        KeyCode::PageUp => scroll.saturating_sub(10),
        KeyCode::Home | KeyCode::Char('g') => 0,
        KeyCode::End | KeyCode::Char('G') => max,
        _ => scroll,
    }
    .min(max);
    if state.help && state.help_scroll == scroll {
        state.dirty = false;
    }
}

/// `e`: jump to the next current problem (worst first), cycling.
fn jump_to_problem(state: &mut State) {
    if state.problems.is_empty() {
        state.notice = Some(("no problems across the environments".into(), state.now));
        return;
    }
    let i = state.problem_cursor % state.problems.len();
    let p = state.problems[i].clone();
    crate::problems::jump(state, &p);
    state.problem_cursor = i + 1;
    state.notice = Some((
        format!(
            "problem {}/{}: {}/{} {}: {}",
            i + 1,
            state.problems.len(),
            p.environment,
            p.cluster,
            p.subject,
            p.summary
        ),
        state.now,
    ));
}

/// The gate poller the open dialog needs (or none).
fn gate_effect(state: &State) -> Vec<Effect> {
    let pair = state
        .dialog
        .as_ref()
        .filter(|d| d.wants_gate_polls())
        .and_then(|d| Some((d.env, d.plan.as_ref()?.gate_pair()?)));
    vec![Effect::GatePolling(pair)]
}

fn on_dialog_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(dialog) = state.dialog.as_mut() else {
        return Vec::new();
    };
    let env = dialog.env;
    let action = dialog.handle_key(key);
    match action {
        DialogAction::None => gate_effect(state),
        DialogAction::Close => {
            state.dialog = None;
            vec![Effect::GatePolling(None)]
        }
        DialogAction::Execute(plan, approval) => vec![
            Effect::GatePolling(None),
            Effect::ExecuteOp {
                env,
                plan,
                approval,
            },
        ],
        DialogAction::Open(op) => open_dialog(state, env, op, None),
    }
}

fn open_dialog(
    state: &mut State,
    env: usize,
    op: Op,
    switched_from: Option<String>,
) -> Vec<Effect> {
    state.dialog = Some(OpDialog::new(op.clone(), env, switched_from));
    vec![Effect::GatePolling(None), Effect::PlanOp { env, op }]
}

/// `s`: switch the internal ALB of the selected cluster to the general node it does not
/// point at now.
fn open_switch(state: &mut State) -> Vec<Effect> {
    let (Some(env), Some(cluster)) = (state.current_env(), state.current_cluster()) else {
        return Vec::new();
    };
    let Some(panel) = &cluster.switch else {
        state.notice = Some((
            format!("{} has no internal ALB switch configured", cluster.name),
            state.now,
        ));
        return Vec::new();
    };
    let Some(view) = &panel.data else {
        state.notice = Some((
            "the internal ALB has not been read yet; try again in a moment".into(),
            state.now,
        ));
        return Vec::new();
    };
    let active = view.active().map(str::to_string);
    let Some(to) = view
        .members
        .iter()
        .find(|m| Some(m.node.as_str()) != active.as_deref())
        .map(|m| m.node.clone())
    else {
        return Vec::new();
    };
    let op = Op::SwitchAlb {
        env: env.name.clone(),
        cluster: cluster.name.clone(),
        to,
    };
    let env_index = state.env;
    open_dialog(state, env_index, op, active)
}

/// `r`: restart the selected task (tasks screen) or roll the selected service
/// (overview); `R`: roll the service from the tasks screen too.
fn open_restart(state: &mut State, whole_service: bool) -> Vec<Effect> {
    let (Some(env), Some(cluster)) = (state.current_env(), state.current_cluster()) else {
        return Vec::new();
    };
    let (env_name, cluster_name) = (env.name.clone(), cluster.name.clone());
    let op = match &state.screen {
        Screen::Tasks { service } if !whole_service => {
            let Some(task) = state.visible_tasks().get(state.task_row).copied() else {
                return Vec::new();
            };
            if task.is_stopped() {
                state.notice = Some(("that task has already stopped".into(), state.now));
                return Vec::new();
            }
            Op::StopTask {
                env: env_name,
                cluster: cluster_name,
                service: service.clone(),
                task: task.id.clone(),
            }
        }
        Screen::Tasks { service } => Op::ForceDeploy {
            env: env_name,
            cluster: cluster_name,
            service: service.clone(),
        },
        Screen::Overview if state.focus == Focus::Services => {
            let Some(svc) = state.selected_service() else {
                return Vec::new();
            };
            Op::ForceDeploy {
                env: env_name,
                cluster: cluster_name,
                service: svc.name.clone(),
            }
        }
        Screen::Overview | Screen::Logs { .. } => return Vec::new(),
    };
    let env_index = state.env;
    open_dialog(state, env_index, op, None)
}

/// `u`: the revision picker of the selected service (overview) or the drilled-into one
/// (tasks screen); `b`: the same, straight to the one-step rollback once the revisions
/// are read.
fn open_release(state: &mut State, intent: PickerIntent) -> Vec<Effect> {
    let selectable = match state.screen {
        Screen::Overview => state.focus == Focus::Services,
        Screen::Tasks { .. } => true,
        Screen::Logs { .. } => false,
    };
    let (Some(env), Some(cluster)) = (state.current_env(), state.current_cluster()) else {
        return Vec::new();
    };
    let Some(service) = state.selected_service().filter(|_| selectable) else {
        return Vec::new();
    };
    if service.task_definition.is_empty() {
        state.notice = Some((
            format!("{} has no task definition to release from", service.name),
            state.now,
        ));
        return Vec::new();
    }
    let at = ClusterAddr {
        env: state.env,
        cluster: env.selected_cluster,
    };
    let picker = RevisionPicker::new(
        (at.env, at.cluster),
        &env.name,
        &cluster.name,
        &service.name,
        &service.task_definition,
        intent,
    );
    let effect = Effect::LoadRevisions {
        at,
        service: service.name.clone(),
        current: service.task_definition.clone(),
    };
    state.picker = Some(picker);
    vec![effect]
}

fn on_picker_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(picker) = state.picker.as_mut() else {
        return Vec::new();
    };
    let env = picker.env;
    match picker.handle_key(key) {
        PickerAction::None => {}
        PickerAction::Close => state.picker = None,
        PickerAction::Notice(text) => state.notice = Some((text, state.now)),
        PickerAction::Open(op) => {
            state.picker = None;
            return open_dialog(state, env, op, None);
        }
    }
    Vec::new()
}

/// The picker's revisions arrived; a `b` picker goes on to the rollback's dialog.
fn revisions_read(
    state: &mut State,
    at: ClusterAddr,
    service: &str,
    result: Result<Vec<crate::model::ecs::TaskDefinition>, crate::backend::BackendError>,
) -> Vec<Effect> {
    let Some(picker) = state
        .picker
        .as_mut()
        .filter(|p| p.is_for(at.env, at.cluster, service))
    else {
        return Vec::new();
    };
    picker.loaded(result);
    state.dirty = true;
    if picker.intent != PickerIntent::RollBack || picker.list().is_empty() {
        return Vec::new();
    }
    let picker = picker.clone();
    let live = state
        .envs
        .get(at.env)
        .and_then(|e| e.clusters.get(at.cluster))
        .and_then(|c| c.ecs.data.as_ref())
        .and_then(|s| s.services.iter().find(|x| x.name == service));
    if let Some(op) = live.and_then(|svc| picker.rollback_op(svc)) {
        state.picker = None;
        return open_dialog(state, at.env, op, None);
    }
    state.notice = Some((
        format!("{service}: no earlier revision to roll back to"),
        state.now,
    ));
    Vec::new()
}

/// Feeds a fresh ECS snapshot to the open dialog's rollout watch, when it is of that
/// service's cluster.
fn observe_rollout(state: &mut State, at: ClusterAddr, when: crate::clock::EpochMs) {
    let Some(dialog) = state.dialog.as_mut() else {
        return;
    };
    let Some(watch) = dialog.rollout.as_mut() else {
        return;
    };
    let service = state
        .envs
        .get(at.env)
        .filter(|_| dialog.env == at.env)
        .and_then(|e| e.clusters.get(at.cluster))
        .filter(|c| c.name == watch.op.cluster())
        .and_then(|c| c.ecs.data.as_ref())
        .and_then(|s| s.services.iter().find(|x| x.name == watch.service));
    if let Some(service) = service
        && watch.observe(service, when)
    {
        state.dirty = true;
    }
}

fn on_filter_key(state: &mut State, key: KeyEvent) {
    match key.code {
        KeyCode::Esc => {
            state.filter.text.clear();
            state.filter.editing = false;
        }
        KeyCode::Enter => state.filter.editing = false,
        KeyCode::Backspace => {
            state.filter.text.pop();
        }
        KeyCode::Char(c) if !c.is_control() && state.filter.text.chars().count() < 64 => {
            state.filter.text.push(c);
        }
        _ => {}
    }
    state.service_row = 0;
    state.task_row = 0;
}

fn on_enter(state: &mut State) {
    match (&state.screen, state.focus) {
        (Screen::Overview, Focus::Clusters) => state.focus = Focus::Services,
        (Screen::Overview, Focus::Services) => {
            if let Some(svc) = state.selected_service() {
                state.screen = Screen::Tasks {
                    service: svc.name.clone(),
                };
                state.task_row = 0;
                state.filter = super::state::Filter::default();
            }
        }
        (Screen::Overview, Focus::Path) => {
            let hop = crate::path::current(state)
                .and_then(|p| p.hops.get(state.path_row).and_then(|h| h.jump.clone()));
            if let Some(jump) = hop
                && let Some(notice) = crate::path::jump(state, &jump)
            {
                state.notice = Some((notice, state.now));
            }
        }
        (Screen::Tasks { .. } | Screen::Logs { .. }, _) => {}
    }
}

/// `l`: the logs of the selected service (overview) or task (tasks screen). In the
/// clusters pane it moves to the services, as `→` does.
fn open_logs(state: &mut State) -> Vec<Effect> {
    let (label, target) = match (&state.screen, state.focus) {
        (Screen::Overview, Focus::Clusters) => {
            state.focus = Focus::Services;
            return Vec::new();
        }
        (Screen::Overview, Focus::Services) => {
            let Some(svc) = state.selected_service() else {
                state.dirty = false;
                return Vec::new();
            };
            (svc.name.clone(), LogTarget::Service(svc.name.clone()))
        }
        (Screen::Tasks { service }, _) => {
            let Some(task) = state.visible_tasks().get(state.task_row).copied() else {
                state.dirty = false;
                return Vec::new();
            };
            let label = format!("{service}/{}", short_task_id(&task.id));
            let snapshot = state.current_cluster().and_then(|c| c.ecs.data.as_ref());
            if let Some(picker) = snapshot.and_then(|s| ContainerPicker::for_task(s, task, &label))
            {
                state.log_picker = Some(picker);
                return Vec::new();
            }
            (label, LogTarget::Task(task.id.clone()))
        }
        (Screen::Logs { .. }, _) | (Screen::Overview, Focus::Path) => return Vec::new(),
    };
    open_log_view(state, &label, target)
}

/// Keys while the container picker is open: a choice opens the log view.
fn on_log_picker_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(picker) = state.log_picker.as_mut() else {
        return Vec::new();
    };
    match picker.handle_key(key) {
        LogPickerAction::Ignored => state.dirty = false,
        LogPickerAction::Moved => {}
        LogPickerAction::Close => state.log_picker = None,
        LogPickerAction::Open { label, target } => {
            state.log_picker = None;
            return open_log_view(state, &label, target);
        }
    }
    Vec::new()
}

/// Opens the log view of `target` of the selected cluster, titled `label`.
fn open_log_view(state: &mut State, label: &str, target: LogTarget) -> Vec<Effect> {
    let Some(env) = state.current_env() else {
        return Vec::new();
    };
    let cluster = env.selected_cluster;
    let Some(cluster_name) = env.clusters.get(cluster).map(|c| c.name.clone()) else {
        return Vec::new();
    };
    let view = LogViewState::new(
        &env.name,
        &cluster_name,
        label,
        state.log_capacity,
        state.now,
    );
    let back = std::mem::take(&mut state.screen);
    state.screen = Screen::Logs {
        view: Box::new(view),
        back: Box::new(back),
    };
    vec![Effect::OpenLogs {
        env: state.env,
        cluster,
        target,
    }]
}

/// Keys on the logs screen go to the log view; `?` opens the help unless an input line
/// is being edited.
fn on_log_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Screen::Logs { view, .. } = &mut state.screen else {
        return Vec::new();
    };
    if key.code == KeyCode::Char('?') && !view.is_editing() && view.popup().is_none() {
        state.help = true;
        return Vec::new();
    }
    view.set_now(state.now);
    let rows = view.drawn().rows;
    match view.handle_key(key, rows) {
        LogViewAction::Ignored => {
            state.dirty = false;
            Vec::new()
        }
        LogViewAction::None => Vec::new(),
        LogViewAction::Close => {
            if let Screen::Logs { back, .. } = std::mem::take(&mut state.screen) {
                state.screen = *back;
            }
            clamp_rows(state);
            vec![Effect::CloseLogs]
        }
        LogViewAction::Restart { filter } => vec![Effect::RestartLogs { filter }],
        LogViewAction::Save(path) => vec![Effect::SaveLogs(path)],
    }
}

fn select_env(state: &mut State, i: usize) {
    if i != state.env {
        state.env = i;
        state.screen = Screen::Overview;
        state.service_row = 0;
        state.task_row = 0;
        state.filter = super::state::Filter::default();
        leave_missing_path(state);
    }
}

fn move_cluster(state: &mut State, delta: i64) {
    if state.screen != Screen::Overview {
        return;
    }
    if let Some(env) = state.envs.get_mut(state.env) {
        let n = env.clusters.len();
        if n > 0 {
            env.selected_cluster = step(env.selected_cluster, delta, n);
            state.service_row = 0;
        }
    }
    leave_missing_path(state);
}

/// Hands the keyboard back to the services table when the cluster shown has no path.
fn leave_missing_path(state: &mut State) {
    state.path_row = 0;
    if state.focus == Focus::Path && crate::path::current(state).is_none() {
        state.focus = Focus::Services;
    }
}

fn move_row(state: &mut State, delta: i64) {
    match (&state.screen, state.focus) {
        (Screen::Overview, Focus::Clusters) => move_cluster(state, delta),
        (Screen::Overview, Focus::Services) => {
            let n = state.visible_services().len();
            state.service_row = step(state.service_row, delta, n);
        }
        (Screen::Overview, Focus::Path) => {
            let n = crate::path::current(state).map_or(0, |p| p.hops.len());
            state.path_row = step(state.path_row, delta, n);
        }
        (Screen::Tasks { .. }, _) => {
            let n = state.visible_tasks().len();
            state.task_row = step(state.task_row, delta, n);
        }
        (Screen::Logs { .. }, _) => {}
    }
}

/// Moves an index by `delta` within `0..n`, clamping at the ends.
fn step(i: usize, delta: i64, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (i as i64 + delta).clamp(0, n as i64 - 1) as usize
}

fn clamp_rows(state: &mut State) {
    if matches!(state.screen, Screen::Logs { .. }) {
        // The rows belong to the screen behind; they are clamped on the way back.
        return;
    }
    let services = state.visible_services().len();
    state.service_row = state.service_row.min(services.saturating_sub(1));
    let tasks = state.visible_tasks().len();
    state.task_row = state.task_row.min(tasks.saturating_sub(1));
    if state.focus == Focus::Path {
        let hops = crate::path::current(state).map_or(0, |p| p.hops.len());
        state.path_row = state.path_row.min(hops.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::msg::ClusterAddr;
    use crate::app::state::LONGEST_STILL_MS;
    use crate::backend::BackendError;
    use crate::clock::EpochMs;
    use crate::config::Config;
    use crate::model::ecs::{ClusterSnapshot, Service, Task};
    use crate::model::quorum::{NodeSample, Probe};

    fn config() -> Config {
        Config::parse(
            r#"
            [[environments]]
            name = "production"
            danger = true
            [[environments.clusters]]
            name = "node-api"
            ecs_cluster = "ibet-prd-node-api"
            [[environments.clusters]]
            name = "satoshi"
            ecs_cluster = "ibet-prd-satoshi"
            [[environments]]
            name = "staging"
            [[environments.clusters]]
            name = "node-api"
            ecs_cluster = "ibet-stg-node-api"
            "#,
            std::path::Path::new("test.toml"),
        )
        .expect("config")
    }

    fn key(c: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    fn snapshot() -> ClusterSnapshot {
        let svc = |n: &str| Service {
            name: n.into(),
            desired: 1,
            running: 1,
            ..Service::default()
        };
        let task = |id: &str, svc: &str, status: &str| Task {
            id: id.into(),
            service: Some(svc.into()),
            last_status: status.into(),
            ..Task::default()
        };
        ClusterSnapshot {
            cluster: "ibet-prd-node-api".into(),
            services: vec![svc("api"), svc("batch"), svc("nginx-proxy")],
            tasks: vec![
                task("t1", "api", "RUNNING"),
                task("t2", "api", "STOPPED"),
                task("t3", "batch", "RUNNING"),
            ],
            ..ClusterSnapshot::default()
        }
    }

    fn loaded() -> State {
        let mut s = State::new(&config(), 0);
        update(
            &mut s,
            Msg::Ecs {
                at: ClusterAddr { env: 0, cluster: 0 },
                result: Ok(snapshot()),
                when: 1,
            },
        );
        s
    }

    #[test]
    fn a_poll_that_brings_the_same_data_draws_nothing_and_a_tick_does() {
        let mut s = loaded();
        s.dirty = false;
        let again = |when| Msg::Ecs {
            at: ClusterAddr { env: 0, cluster: 0 },
            result: Ok(snapshot()),
            when,
        };
        update(&mut s, again(2));
        assert!(!s.dirty, "same data");
        let c = &s.envs[0].clusters[0];
        assert_eq!(c.ecs.updated_at, Some(2), "the data's age still moves");
        let mut changed = snapshot();
        changed.services[0].running = 0;
        update(
            &mut s,
            Msg::Ecs {
                at: ClusterAddr { env: 0, cluster: 0 },
                result: Ok(changed),
                when: 3,
            },
        );
        assert!(s.dirty, "new data");
        s.dirty = false;
        update(&mut s, Msg::Tick(4_000));
        assert!(s.dirty, "time moves ages on screen");
        // An error is news once; the same error again is not.
        s.dirty = false;
        let failing = |when| Msg::Ecs {
            at: ClusterAddr { env: 0, cluster: 0 },
            result: Err(BackendError::Timeout { secs: 5 }),
            when,
        };
        update(&mut s, failing(5_000));
        assert!(s.dirty);
        s.dirty = false;
        update(&mut s, failing(10_000));
        assert!(!s.dirty);
        // A message that changes nothing keeps a frame still owed.
        s.dirty = true;
        update(&mut s, again(11_000));
        assert!(s.dirty);
        // The same data, after the panel showed it stale: its title changes.
        update(&mut s, Msg::Tick(60_000));
        s.dirty = false;
        update(&mut s, again(60_500));
        assert!(s.dirty, "stale, then fresh");
        s.dirty = false;
        update(&mut s, again(61_000));
        assert!(!s.dirty);
    }

    #[test]
    fn a_slowed_poller_makes_its_data_stale_later_and_the_header_says_so() {
        let mut s = loaded();
        let at = ClusterAddr { env: 0, cluster: 0 };
        let pace = |slowed_ms| Msg::Pace {
            at,
            poller: Poller::Cluster,
            slowed_ms,
        };
        s.dirty = false;
        update(&mut s, pace(25_000));
        assert!(s.polls_slowed());
        assert!(s.dirty, "the header says \"polls slowed\"");
        let c = &s.envs[0].clusters[0];
        assert_eq!((c.ecs.slowed_ms, c.paths.slowed_ms), (25_000, 25_000));
        // Three refreshes (15 s) plus the 25 s the poller now waits longer.
        assert_eq!(c.ecs.stale_since(40_001, s.stale_after_ms()), None);
        assert_eq!(c.ecs.stale_since(40_002, s.stale_after_ms()), Some(1));
        // The same pace told again changes nothing.
        s.dirty = false;
        update(&mut s, pace(25_000));
        assert!(!s.dirty);
        // Another environment's slowed poller is not this one's header.
        update(&mut s, key(KeyCode::Tab));
        assert!(!s.polls_slowed());
        update(&mut s, key(KeyCode::BackTab));
        // Back to the rhythm: stale after three refreshes again, looked at on the next
        // tick (the frame on screen was told it turns stale later).
        s.drawn(None);
        update(&mut s, pace(0));
        assert!(!s.polls_slowed());
        assert_eq!(s.redraw_at, Some(s.now));
        assert_eq!(s.problems_due_at, Some(s.now));
        let c = &s.envs[0].clusters[0];
        assert_eq!(c.ecs.stale_since(16_002, s.stale_after_ms()), Some(1));
        // A node's poller, and the switch of a cluster that has none: no panic.
        let node = Msg::Pace {
            at,
            poller: Poller::Node(7),
            slowed_ms: 4_000,
        };
        update(&mut s, node);
        let switch = Msg::Pace {
            at,
            poller: Poller::Switch,
            slowed_ms: 4_000,
        };
        update(&mut s, switch);
        assert!(!s.polls_slowed());
        // A key or a resize brings the full rhythm back; data and ticks do not (no
        // dialog is open).
        assert!(s.wants_full_rhythm(&key(KeyCode::Char('j'))));
        assert!(s.wants_full_rhythm(&Msg::Resize));
        assert!(!s.wants_full_rhythm(&Msg::Tick(s.now)));
        assert!(!s.wants_full_rhythm(&pace(0)));
    }

    #[test]
    fn a_tick_draws_only_once_the_frame_on_screen_would_change() {
        let mut s = loaded();
        update(&mut s, Msg::Tick(4_000));
        s.drawn(Some(5_000));
        update(&mut s, Msg::Tick(8_999));
        assert!(!s.dirty, "nothing on screen changes before 9 s");
        update(&mut s, Msg::Tick(9_000));
        assert!(s.dirty);
        // A frame with nothing that moves is drawn again after a while all the same.
        s.drawn(None);
        assert!(!s.dirty);
        assert_eq!(s.redraw_at, Some(9_000 + LONGEST_STILL_MS));
        s.drawn(Some(LONGEST_STILL_MS * 3));
        assert_eq!(s.redraw_at, Some(9_000 + LONGEST_STILL_MS));
    }

    #[test]
    fn a_node_poll_is_drawn_when_it_brings_news() {
        let config = Config::parse(
            r#"
            [[environments]]
            name = "staging"
            [[environments.clusters]]
            name = "node-api"
            ecs_cluster = "ibet-stg-node-api"
            [[environments.clusters.quorum_nodes]]
            name = "general-1"
            rpc_url = "http://127.0.0.1:8545"
            role = "general"
            "#,
            std::path::Path::new("test.toml"),
        )
        .expect("config");
        let mut s = State::new(&config, 0);
        let poll = |at: EpochMs, peers: u64| Msg::Node {
            at: ClusterAddr { env: 0, cluster: 0 },
            node: 0,
            sample: Box::new(NodeSample {
                at,
                reachable: true,
                block: Some(7),
                peers: Probe::Value(peers),
                latency_ms: u64::try_from(at).unwrap_or(0) % 17,
                ..NodeSample::default()
            }),
        };
        update(&mut s, poll(1_000, 3));
        assert!(s.dirty, "the first answer");
        s.dirty = false;
        update(&mut s, poll(2_000, 3));
        assert!(!s.dirty, "the same answer, later and slower");
        update(&mut s, poll(3_000, 0));
        assert!(
            s.dirty,
            "the peers went away: the height did not move, the screen does"
        );
    }

    #[test]
    fn quit_keys() {
        let mut s = loaded();
        assert_eq!(update(&mut s, key(KeyCode::Char('q'))), vec![Effect::Quit]);
        let mut s = loaded();
        let e = update(
            &mut s,
            Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        );
        assert_eq!(e, vec![Effect::Quit]);
    }

    #[test]
    fn environment_switching() {
        let mut s = loaded();
        update(&mut s, key(KeyCode::Tab));
        assert_eq!(s.env, 1);
        update(&mut s, key(KeyCode::Tab));
        assert_eq!(s.env, 0);
        update(&mut s, key(KeyCode::BackTab));
        assert_eq!(s.env, 1);
        update(&mut s, key(KeyCode::Char('1')));
        assert_eq!(s.env, 0);
        update(&mut s, key(KeyCode::Char('9')));
        assert_eq!(s.env, 0, "a number without an environment does nothing");
    }

    #[test]
    fn drill_down_and_back() {
        let mut s = loaded();
        update(&mut s, key(KeyCode::Down));
        assert_eq!(s.selected_service().map(|x| x.name.as_str()), Some("batch"));
        update(&mut s, key(KeyCode::Up));
        update(&mut s, key(KeyCode::Enter));
        assert_eq!(
            s.screen,
            Screen::Tasks {
                service: "api".into()
            }
        );
        let ids: Vec<_> = s.visible_tasks().iter().map(|t| t.id.clone()).collect();
        assert_eq!(ids, ["t1", "t2"], "running first");
        update(&mut s, key(KeyCode::Esc));
        assert_eq!(s.screen, Screen::Overview);
    }

    #[test]
    fn filter_narrows_and_esc_clears() {
        let mut s = loaded();
        update(&mut s, key(KeyCode::Char('/')));
        for c in "ngi".chars() {
            update(&mut s, key(KeyCode::Char(c)));
        }
        assert!(s.filter.editing);
        let names: Vec<_> = s
            .visible_services()
            .iter()
            .map(|x| x.name.clone())
            .collect();
        assert_eq!(names, ["nginx-proxy"]);
        update(&mut s, key(KeyCode::Char('q')));
        assert!(!s.quit, "q inside the filter is text");
        update(&mut s, key(KeyCode::Backspace));
        update(&mut s, key(KeyCode::Enter));
        assert!(!s.filter.editing);
        assert_eq!(s.filter.text, "ngi");
        update(&mut s, key(KeyCode::Esc));
        assert!(s.filter.text.is_empty());
        assert_eq!(s.visible_services().len(), 3);
    }

    #[test]
    fn help_swallows_keys() {
        let mut s = loaded();
        update(&mut s, key(KeyCode::Char('?')));
        assert!(s.help);
        update(&mut s, key(KeyCode::Char('q')));
        assert!(!s.quit && !s.help, "q closes help, does not quit");
    }

    #[test]
    fn a_tall_help_scrolls_as_far_as_the_view_allows() {
        let mut s = loaded();
        update(&mut s, key(KeyCode::Char('?')));
        // The view drew it 5 rows taller than the screen.
        s.help_scroll_max.set(5);
        for _ in 0..3 {
            update(&mut s, key(KeyCode::Char('j')));
        }
        assert_eq!(s.help_scroll, 3);
        update(&mut s, key(KeyCode::PageDown));
        assert_eq!(s.help_scroll, 5);
        s.dirty = false;
        update(&mut s, key(KeyCode::Down));
        assert!(!s.dirty, "at the end: nothing to redraw");
        update(&mut s, key(KeyCode::Up));
        assert_eq!(s.help_scroll, 4);
        update(&mut s, key(KeyCode::Home));
        assert_eq!(s.help_scroll, 0);
        update(&mut s, key(KeyCode::End));
        update(&mut s, key(KeyCode::Esc));
        assert!(!s.help);
        assert_eq!(s.help_scroll, 0, "it opens at the top again");
    }

    #[test]
    fn stray_keys_do_nothing() {
        let mut s = loaded();
        let before = s.clone();
        for c in ['x', 'z', '!', 'Z', '0', '$'] {
            assert!(update(&mut s, key(KeyCode::Char(c))).is_empty());
        }
        s.dirty = before.dirty;
        assert_eq!(s, before);
    }

    #[test]
    fn errors_keep_last_good_data() {
        let mut s = loaded();
        let at = ClusterAddr { env: 0, cluster: 0 };
        let err = BackendError::Timeout { secs: 10 };
        update(
            &mut s,
            Msg::Ecs {
                at,
                result: Err(err.clone()),
                when: 10,
            },
        );
        update(
            &mut s,
            Msg::Ecs {
                at,
                result: Err(err),
                when: 20,
            },
        );
        let c = s.current_cluster().expect("cluster");
        assert!(c.ecs.data.is_some());
        let e = c.ecs.error.as_ref().expect("error");
        assert_eq!((e.since, e.at), (10, 20));
        update(
            &mut s,
            Msg::Ecs {
                at,
                result: Ok(snapshot()),
                when: 30,
            },
        );
        assert!(s.current_cluster().expect("c").ecs.error.is_none());
    }

    #[test]
    fn p_selects_the_request_path_only_where_there_is_one() {
        let mut s = loaded();
        update(&mut s, key(KeyCode::Char('p')));
        assert_eq!(
            s.focus,
            Focus::Services,
            "no service behind a load balancer"
        );
        assert!(s.notice.is_some());

        let mut snap = snapshot();
        snap.services[0].target_groups = vec![crate::model::ecs::TargetGroupRef {
            arn: "arn:tg/api".into(),
            container: "api".into(),
            port: 5000,
        }];
        update(
            &mut s,
            Msg::Ecs {
                at: ClusterAddr { env: 0, cluster: 0 },
                result: Ok(snap),
                when: 2,
            },
        );
        update(&mut s, key(KeyCode::Char('p')));
        assert_eq!(s.focus, Focus::Path);
        assert_eq!(s.path_row, 0);
        update(&mut s, key(KeyCode::Down));
        assert_eq!(s.path_row, 0, "one hop: internal ALB → api");
        update(&mut s, key(KeyCode::Esc));
        assert_eq!(s.focus, Focus::Services);
        update(&mut s, key(KeyCode::Char('p')));
        update(&mut s, key(KeyCode::Enter));
        assert_eq!(
            s.screen,
            Screen::Tasks {
                service: "api".into()
            },
            "Enter on the hop opens its service's tasks"
        );
        // A cluster without a path hands the keyboard back.
        update(&mut s, key(KeyCode::Esc));
        update(&mut s, key(KeyCode::Char('p')));
        update(&mut s, key(KeyCode::Char(']')));
        assert_eq!(s.focus, Focus::Services);
    }

    #[test]
    fn cluster_navigation() {
        let mut s = loaded();
        update(&mut s, key(KeyCode::Char(']')));
        assert_eq!(s.envs[0].selected_cluster, 1);
        update(&mut s, key(KeyCode::Char(']')));
        assert_eq!(s.envs[0].selected_cluster, 1, "clamped");
        update(&mut s, key(KeyCode::Left));
        update(&mut s, key(KeyCode::Up));
        assert_eq!(s.envs[0].selected_cluster, 0);
        assert_eq!(s.focus, Focus::Clusters);
        update(&mut s, key(KeyCode::Enter));
        assert_eq!(s.focus, Focus::Services);
    }

    fn log_view(s: &State) -> &crate::app::logview::LogViewState {
        match &s.screen {
            Screen::Logs { view, .. } => view,
            other => panic!("not on the logs screen: {other:?}"),
        }
    }

    #[test]
    fn l_opens_the_logs_of_the_selected_service_and_esc_comes_back() {
        use crate::app::logview::LogsMsg;
        use crate::logs::{LogLine, TailEvent};
        let mut s = loaded();
        update(&mut s, key(KeyCode::Down));
        let effects = update(&mut s, key(KeyCode::Char('l')));
        assert_eq!(
            effects,
            vec![Effect::OpenLogs {
                env: 0,
                cluster: 0,
                target: LogTarget::Service("batch".into()),
            }]
        );
        assert_eq!(log_view(&s).title(), "production/node-api/batch");
        update(
            &mut s,
            Msg::Logs(LogsMsg::Started {
                tail: 7,
                result: Ok(1),
            }),
        );
        let line = LogLine::new(1, "batch/t3".into(), "INFO hello".into());
        s.dirty = false;
        update(
            &mut s,
            Msg::Logs(LogsMsg::Tail {
                tail: 7,
                event: TailEvent::Lines(vec![line.clone()]),
            }),
        );
        assert!(s.dirty, "new lines redraw");
        s.dirty = false;
        update(
            &mut s,
            Msg::Logs(LogsMsg::Tail {
                tail: 6,
                event: TailEvent::Lines(vec![line]),
            }),
        );
        assert!(!s.dirty, "lines of another tail are dropped");
        assert_eq!(log_view(&s).buffer().len(), 1);
        // Keys belong to the view: q goes back, it does not quit; ? still helps.
        assert!(update(&mut s, key(KeyCode::Char('x'))).is_empty());
        assert!(!s.dirty, "an unknown key draws nothing");
        update(&mut s, key(KeyCode::Char('?')));
        assert!(s.help);
        update(&mut s, key(KeyCode::Esc));
        assert_eq!(
            update(&mut s, key(KeyCode::Char('q'))),
            vec![Effect::CloseLogs]
        );
        assert!(!s.quit);
        assert_eq!(s.screen, Screen::Overview);
        assert_eq!(s.service_row, 1, "the selection is where it was");
    }

    #[test]
    fn l_on_the_tasks_screen_follows_the_selected_task() {
        let mut s = loaded();
        update(&mut s, key(KeyCode::Enter));
        update(&mut s, key(KeyCode::Down));
        let effects = update(&mut s, key(KeyCode::Char('l')));
        assert_eq!(
            effects,
            vec![Effect::OpenLogs {
                env: 0,
                cluster: 0,
                target: LogTarget::Task("t2".into()),
            }]
        );
        assert_eq!(log_view(&s).title(), "production/node-api/api/t2");
        // A poll while the logs are open does not disturb the screen behind.
        update(
            &mut s,
            Msg::Ecs {
                at: ClusterAddr { env: 0, cluster: 0 },
                result: Ok(snapshot()),
                when: 2,
            },
        );
        update(&mut s, key(KeyCode::Esc));
        assert_eq!(
            s.screen,
            Screen::Tasks {
                service: "api".into()
            }
        );
        assert_eq!(s.task_row, 1);
    }

    #[test]
    fn l_on_a_task_with_several_containers_asks_which() {
        use crate::model::ecs::{AwsLogs, ContainerDefinition, TaskDefinition};
        let logging = |name: &str| ContainerDefinition {
            name: name.into(),
            log: Some(AwsLogs {
                group: "/ecs/api".into(),
                region: None,
                stream_prefix: Some("api".into()),
            }),
            ..ContainerDefinition::default()
        };
        let mut snap = snapshot();
        let td = TaskDefinition {
            arn: "arn:td/api:1".into(),
            containers: vec![logging("web"), logging("notification")],
            ..TaskDefinition::default()
        };
        for t in &mut snap.tasks {
            t.task_definition.clone_from(&td.arn);
        }
        snap.task_definitions.insert(td.arn.clone(), td);
        let mut s = State::new(&config(), 0);
        let at = ClusterAddr { env: 0, cluster: 0 };
        update(
            &mut s,
            Msg::Ecs {
                at,
                result: Ok(snap),
                when: 1,
            },
        );
        update(&mut s, key(KeyCode::Enter));
        assert!(update(&mut s, key(KeyCode::Char('l'))).is_empty());
        let picker = s.log_picker.as_ref().expect("the picker is open");
        assert_eq!(picker.containers, ["web", "notification"]);
        // Esc closes the picker and stays on the tasks.
        update(&mut s, key(KeyCode::Esc));
        assert!(s.log_picker.is_none());
        assert!(matches!(s.screen, Screen::Tasks { .. }));
        // All containers, then one.
        update(&mut s, key(KeyCode::Char('l')));
        assert_eq!(
            update(&mut s, key(KeyCode::Enter)),
            vec![Effect::OpenLogs {
                env: 0,
                cluster: 0,
                target: LogTarget::Task("t1".into()),
            }]
        );
        update(&mut s, key(KeyCode::Esc));
        update(&mut s, key(KeyCode::Char('l')));
        update(&mut s, key(KeyCode::Down));
        update(&mut s, key(KeyCode::Down));
        assert_eq!(
            update(&mut s, key(KeyCode::Enter)),
            vec![Effect::OpenLogs {
                env: 0,
                cluster: 0,
                target: LogTarget::Container {
                    task: "t1".into(),
                    container: "notification".into(),
                },
            }]
        );
        assert!(s.log_picker.is_none());
        assert_eq!(
            log_view(&s).title(),
            "production/node-api/api/t1/notification"
        );
    }

    #[test]
    fn log_view_keys_become_effects() {
        let mut s = loaded();
        update(&mut s, key(KeyCode::Char('l')));
        update(&mut s, key(KeyCode::Char('f')));
        update(&mut s, key(KeyCode::Char('5')));
        assert_eq!(
            update(&mut s, key(KeyCode::Enter)),
            vec![Effect::RestartLogs {
                filter: Some("5".into())
            }]
        );
        update(&mut s, key(KeyCode::Char('S')));
        let effects = update(&mut s, key(KeyCode::Enter));
        assert!(
            matches!(&effects[..], [Effect::SaveLogs(p)] if p.to_string_lossy().starts_with("./ibet-logs-production-api-")),
            "{effects:?}"
        );
    }

    #[test]
    fn l_in_the_clusters_pane_moves_to_the_services() {
        let mut s = loaded();
        update(&mut s, key(KeyCode::Left));
        assert!(update(&mut s, key(KeyCode::Char('l'))).is_empty());
        assert_eq!(s.focus, Focus::Services);
        assert_eq!(s.screen, Screen::Overview);
    }

    fn with_task_definitions(mut snap: ClusterSnapshot) -> ClusterSnapshot {
        for svc in &mut snap.services {
            svc.task_definition = format!("arn:aws:ecs:r:1:task-definition/{}:2", svc.name);
        }
        snap
    }

    #[test]
    fn u_opens_the_picker_and_b_goes_to_the_rollback() {
        use crate::model::ecs::TaskDefinition;
        let mut s = loaded();
        let at = ClusterAddr { env: 0, cluster: 0 };
        update(
            &mut s,
            Msg::Ecs {
                at,
                result: Ok(with_task_definitions(snapshot())),
                when: 2,
            },
        );
        let arn = |r: u32| format!("arn:aws:ecs:r:1:task-definition/api:{r}");
        assert_eq!(
            update(&mut s, key(KeyCode::Char('u'))),
            vec![Effect::LoadRevisions {
                at,
                service: "api".into(),
                current: arn(2),
            }]
        );
        assert!(s.picker.is_some());
        assert!(!update(&mut s, key(KeyCode::Char('q'))).contains(&Effect::Quit));
        assert!(s.picker.is_none() && !s.quit, "q closes the picker only");

        update(&mut s, key(KeyCode::Char('b')));
        let revisions = (1..=3)
            .rev()
            .map(|r| TaskDefinition {
                arn: arn(r),
                family: "api".into(),
                revision: r,
                ..TaskDefinition::default()
            })
            .collect();
        let effects = update(
            &mut s,
            Msg::Revisions {
                at,
                service: "api".into(),
                result: Ok(revisions),
            },
        );
        let rollback = Op::Rollback {
            env: "production".into(),
            cluster: "node-api".into(),
            service: "api".into(),
            to_task_definition: arn(1),
        };
        assert!(
            effects.contains(&Effect::PlanOp {
                env: 0,
                op: rollback.clone()
            }),
            "{effects:?}"
        );
        assert!(s.picker.is_none());
        assert_eq!(s.dialog.as_ref().map(|d| &d.op), Some(&rollback));

        // Not from the clusters pane.
        update(&mut s, key(KeyCode::Esc));
        update(&mut s, key(KeyCode::Left));
        assert!(update(&mut s, key(KeyCode::Char('u'))).is_empty());
    }

    #[test]
    fn tasks_a_deployment_replaced_are_no_problem() {
        let mut s = loaded();
        let stopped = |id: &str, reason: &str| Task {
            id: id.into(),
            service: Some("batch".into()),
            last_status: "STOPPED".into(),
            stopped_reason: Some(reason.into()),
            ..Task::default()
        };
        let repeatedly = |s: &State| {
            s.problems
                .iter()
                .any(|p| p.summary.contains("stopping repeatedly"))
        };
        let mut snap = snapshot();
        for id in ["s1", "s2", "s3"] {
            snap.tasks.push(stopped(
                id,
                "Scaling activity initiated by (deployment ecs-svc/1)",
            ));
        }
        let at = ClusterAddr { env: 0, cluster: 0 };
        update(
            &mut s,
            Msg::Ecs {
                at,
                result: Ok(snap.clone()),
                when: 2,
            },
        );
        assert!(!repeatedly(&s), "{:?}", s.problems);
        for t in &mut snap.tasks[3..] {
            t.stopped_reason = Some("Essential container in task exited".into());
        }
        update(
            &mut s,
            Msg::Ecs {
                at,
                result: Ok(snap),
                when: 3,
            },
        );
        assert!(repeatedly(&s), "{:?}", s.problems);
    }
}
