//! Opening what an operator asks for from the overview or the tasks screen: an action's
//! dialog (switch, restart), the release picker, the container picker and the log view;
//! the keys of those that are open; and the replies they wait for (a plan, the gate's
//! polls, the revisions, a rollout's progress).
//!
//! Everything here changes the state and says what the loop must run ([`Effect`]); it
//! calls no backend.

use crossterm::event::KeyEvent;

use super::dialog::{DialogAction, OpDialog};
use super::log_picker::{ContainerPicker, PickerAction as LogPickerAction};
use super::logview::{LogViewAction, LogViewState};
use super::msg::{ClusterAddr, Effect};
use super::navigate::clamp_rows;
use super::release::{PickerAction, PickerIntent, RevisionPicker};
use super::state::{Focus, Modal, Screen, State};
use crate::logs::LogTarget;
use crate::logs::discovery::short_task_id;
use crate::ops::Op;

/// The gate poller the open dialog needs (or none).
pub(super) fn gate_effect(state: &State) -> Vec<Effect> {
    let pair = state
        .dialog()
        .filter(|d| d.wants_gate_polls())
        .and_then(|d| Some((d.env, d.plan.as_ref()?.gate_pair()?)));
    vec![Effect::GatePolling(pair)]
}

pub(super) fn on_dialog_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(dialog) = state.dialog_mut() else {
        return Vec::new();
    };
    let env = dialog.env;
    let action = dialog.handle_key(key);
    match action {
        DialogAction::None => gate_effect(state),
        DialogAction::Close => {
            state.modal = None;
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

pub(super) fn open_dialog(
    state: &mut State,
    env: usize,
    op: Op,
    switched_from: Option<String>,
) -> Vec<Effect> {
    state.modal = Some(Modal::Dialog(Box::new(OpDialog::new(
        op.clone(),
        env,
        switched_from,
    ))));
    vec![Effect::GatePolling(None), Effect::PlanOp { env, op }]
}

/// `s`: switch the internal ALB of the selected cluster to the general node it does not
/// point at now.
pub(super) fn open_switch(state: &mut State) -> Vec<Effect> {
    let (Some(env), Some(cluster)) = (state.current_env(), state.current_cluster()) else {
        return Vec::new();
    };
    let Some(panel) = &cluster.switch else {
        state.say(format!(
            "{} has no internal ALB switch configured",
            cluster.name
        ));
        return Vec::new();
    };
    let Some(view) = &panel.data else {
        state.say("the internal ALB has not been read yet; try again in a moment");
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
pub(super) fn open_restart(state: &mut State, whole_service: bool) -> Vec<Effect> {
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
                state.say("that task has already stopped");
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
pub(super) fn open_release(state: &mut State, intent: PickerIntent) -> Vec<Effect> {
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
        state.say(format!(
            "{} has no task definition to release from",
            service.name
        ));
        return Vec::new();
    }
    let at = ClusterAddr {
        env: state.env,
        cluster: state.selected_cluster(),
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
    state.modal = Some(Modal::Revisions(Box::new(picker)));
    vec![effect]
}

pub(super) fn on_picker_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(Modal::Revisions(picker)) = state.modal.as_mut() else {
        return Vec::new();
    };
    let env = picker.env;
    match picker.handle_key(key) {
        PickerAction::None => {}
        PickerAction::Close => state.modal = None,
        PickerAction::Notice(text) => state.say(text),
        PickerAction::Open(op) => {
            state.modal = None;
            return open_dialog(state, env, op, None);
        }
    }
    Vec::new()
}

/// The picker's revisions arrived; a `b` picker goes on to the rollback's dialog.
pub(super) fn revisions_read(
    state: &mut State,
    at: ClusterAddr,
    service: &str,
    result: Result<Vec<crate::model::ecs::TaskDefinition>, crate::backend::BackendError>,
) -> Vec<Effect> {
    let Some(Modal::Revisions(picker)) = state
        .modal
        .as_mut()
        .filter(|m| matches!(m, Modal::Revisions(p) if p.is_for(at.env, at.cluster, service)))
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
        .world
        .cluster(at)
        .and_then(|c| c.ecs.data.as_ref())
        .and_then(|s| s.services.iter().find(|x| x.name == service));
    if let Some(op) = live.and_then(|svc| picker.rollback_op(svc)) {
        state.modal = None;
        return open_dialog(state, at.env, op, None);
    }
    state.say(format!("{service}: no earlier revision to roll back to"));
    Vec::new()
}

/// Feeds a fresh ECS snapshot to the open dialog's rollout watch, when it is of that
/// service's cluster.
pub(super) fn observe_rollout(state: &mut State, at: ClusterAddr, when: crate::clock::EpochMs) {
    let Some(Modal::Dialog(dialog)) = state.modal.as_mut() else {
        return;
    };
    let Some(watch) = dialog.rollout.as_mut() else {
        return;
    };
    let service = state
        .world
        .cluster(at)
        .filter(|_| dialog.env == at.env)
        .filter(|c| c.name == watch.op.cluster())
        .and_then(|c| c.ecs.data.as_ref())
        .and_then(|s| s.services.iter().find(|x| x.name == watch.service));
    if let Some(service) = service
        && watch.observe(service, when)
    {
        state.dirty = true;
    }
}

/// `l`: the logs of the selected service (overview) or task (tasks screen). In the
/// clusters pane it moves to the services, as `→` does.
pub(super) fn open_logs(state: &mut State) -> Vec<Effect> {
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
                state.modal = Some(Modal::Containers(picker));
                return Vec::new();
            }
            (label, LogTarget::Task(task.id.clone()))
        }
        (Screen::Logs { .. }, _) | (Screen::Overview, Focus::Path) => return Vec::new(),
    };
    open_log_view(state, &label, target)
}

/// Keys while the container picker is open: a choice opens the log view.
pub(super) fn on_log_picker_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(Modal::Containers(picker)) = state.modal.as_mut() else {
        return Vec::new();
    };
    match picker.handle_key(key) {
        LogPickerAction::Ignored => state.dirty = false,
        LogPickerAction::Moved => {}
        LogPickerAction::Close => state.modal = None,
        LogPickerAction::Open { label, target } => {
            state.modal = None;
            return open_log_view(state, &label, target);
        }
        LogPickerAction::Exec { task, container } => {
            state.modal = None;
            return open_exec_dialog(state, task, container);
        }
    }
    Vec::new()
}

/// `x` on the tasks screen: a session in the selected task's container (the container
/// picker first when it has several). The demo world has no containers to enter: it
/// says so and asks for nothing.
pub(super) fn open_exec(state: &mut State) -> Vec<Effect> {
    let Screen::Tasks { service } = &state.screen else {
        return Vec::new();
    };
    if state.demo {
        // Short enough for the footer of an 80-column terminal.
        state.say("exec is not available in the demo world: it has no containers to enter");
        return Vec::new();
    }
    let Some(task) = state.visible_tasks().get(state.task_row).copied() else {
        state.dirty = false;
        return Vec::new();
    };
    if !task.is_running() {
        state.say(format!(
            "task {} is {}: a session needs a RUNNING task",
            short_task_id(&task.id),
            task.last_status
        ));
        return Vec::new();
    }
    let label = format!("{service}/{}", short_task_id(&task.id));
    if let Some(picker) = ContainerPicker::for_exec(task, &label) {
        state.modal = Some(Modal::Containers(picker));
        return Vec::new();
    }
    let (task, container) = (
        task.id.clone(),
        task.containers.first().map(|c| c.name.clone()),
    );
    let Some(container) = container else {
        state.say("the task reports no container yet; try again in a moment");
        return Vec::new();
    };
    open_exec_dialog(state, task, container)
}

/// The dialog of a session in `container` of `task` of the drilled-into service: it
/// plans (the AWS CLI and its plugin, the task, ExecuteCommand), shows what is missing,
/// asks a danger environment's name, and otherwise starts the session once the plan is
/// ready.
fn open_exec_dialog(state: &mut State, task: String, container: String) -> Vec<Effect> {
    let (Some(env), Some(cluster), Screen::Tasks { service }) =
        (state.current_env(), state.current_cluster(), &state.screen)
    else {
        return Vec::new();
    };
    let op = Op::Exec {
        env: env.name.clone(),
        cluster: cluster.name.clone(),
        service: service.clone(),
        task,
        container: Some(container),
        command: None,
    };
    let env_index = state.env;
    open_dialog(state, env_index, op, None)
}

/// Opens the log view of `target` of the selected cluster, titled `label`.
pub(super) fn open_log_view(state: &mut State, label: &str, target: LogTarget) -> Vec<Effect> {
    let Some(env) = state.current_env() else {
        return Vec::new();
    };
    let cluster = state.selected_cluster();
    let Some(cluster_name) = env.clusters.get(cluster).map(|c| c.name.clone()) else {
        return Vec::new();
    };
    let view = LogViewState::new(
        &env.name,
        &cluster_name,
        label,
        state.log_capacity,
        state.world.now,
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
pub(super) fn on_log_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Screen::Logs { view, .. } = &mut state.screen else {
        return Vec::new();
    };
    let help = super::keys::log_command_for(&key) == Some(super::keys::LogCommand::Help);
    if help && !view.is_editing() && view.popup().is_none() {
        state.modal = Some(Modal::Help { scroll: 0 });
        return Vec::new();
    }
    view.set_now(state.world.now);
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
