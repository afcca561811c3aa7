//! What a key press does: the open modal layer takes it first (a dialog, a picker, the
//! help), then the log view or the filter being typed, then the key table's command for
//! the screen ([`super::keys`]). Commands move around ([`super::navigate`]) or open
//! something ([`super::open`]).
//!
//! It changes the state and returns the effects for the loop; it calls no backend.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};

use super::keys::{self, Command, HelpCommand};
use super::msg::Effect;
use super::navigate::{clamp_rows, go_to, move_cluster, move_row, select_env};
use super::open;
use super::release::PickerIntent;
use super::state::{Filter, Focus, Modal, Screen, State};

/// Applies a key press; returns the effects for the loop.
pub fn on_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    state.dirty = true;
    if keys::is_interrupt(&key) {
        state.quit = true;
        return vec![Effect::Quit];
    }
    if keys::is_repaint(&key) {
        // Nothing of the state changes: the screen is written again whole.
        return vec![Effect::Repaint];
    }
    match &state.modal {
        Some(Modal::Dialog(_)) => return open::on_dialog_key(state, key),
        Some(Modal::Revisions(_)) => return open::on_picker_key(state, key),
        Some(Modal::Containers(_)) => return open::on_log_picker_key(state, key),
        Some(Modal::Help { .. }) => {
            on_help_key(state, &key);
            return Vec::new();
        }
        None => {}
    }
    if matches!(state.screen, Screen::Logs { .. }) {
        return open::on_log_key(state, key);
    }
    if state.filter.editing {
        on_filter_key(state, key);
        return Vec::new();
    }
    let tasks = matches!(state.screen, Screen::Tasks { .. });
    let Some(command) = keys::command_for(&key, tasks) else {
        state.dirty = false;
        return Vec::new();
    };
    run(state, command)
}

/// Carries out a command of the key table on the overview or the tasks screen.
fn run(state: &mut State, command: Command) -> Vec<Effect> {
    let envs = state.world.envs.len().max(1);
    match command {
        Command::Quit => {
            state.quit = true;
            return vec![Effect::Quit];
        }
        Command::Refresh => {
            state.say("refreshing…");
            return vec![Effect::RefreshNow];
        }
        Command::Help => state.modal = Some(Modal::Help { scroll: 0 }),
        Command::NextEnv => select_env(state, (state.env + 1) % envs),
        Command::PrevEnv => select_env(state, (state.env + envs - 1) % envs),
        Command::Env(i) => select_env(state, i),
        Command::Filter => state.filter.editing = true,
        Command::Path => toggle_path(state),
        Command::Back => {
            if state.focus == Focus::Path && state.screen == Screen::Overview {
                state.focus = Focus::Services;
            } else if !state.filter.text.is_empty() {
                state.filter.text.clear();
                clamp_rows(state);
            } else if matches!(state.screen, Screen::Tasks { .. }) {
                state.screen = Screen::Overview;
            }
        }
        Command::Move(delta) => move_row(state, delta),
        Command::Cluster(delta) => move_cluster(state, delta),
        Command::FocusClusters => {
            if state.screen == Screen::Overview {
                state.focus = Focus::Clusters;
            }
        }
        Command::FocusServices => {
            if state.screen == Screen::Overview {
                state.focus = Focus::Services;
            }
        }
        Command::Logs => return open::open_logs(state),
        Command::Open => on_enter(state),
        Command::Switch => return open::open_switch(state),
        Command::NextProblem => jump_to_problem(state),
        Command::Restart => return open::open_restart(state, false),
        Command::RestartService => return open::open_restart(state, true),
        Command::Release => return open::open_release(state, PickerIntent::Choose),
        Command::Rollback => return open::open_release(state, PickerIntent::RollBack),
        Command::Exec => return open::open_exec(state),
    }
    Vec::new()
}

/// `p`: focus the request-path panel at its first broken hop, or leave it.
fn toggle_path(state: &mut State) {
    if state.screen != Screen::Overview {
        return;
    }
    if state.focus == Focus::Path {
        state.focus = Focus::Services;
        return;
    }
    match state.current_path() {
        Some(path) => {
            state.path_row = crate::path::first_broken_hop(&path)
                .and_then(|broken| path.hops.iter().position(|h| h == broken))
                .unwrap_or(0);
            state.focus = Focus::Path;
        }
        None => state.say("this cluster has no request path"),
    }
}

/// Keys on the help overlay: any of `?` Esc q Enter closes it; the others scroll it when
/// it is taller than the screen (as far as the last frame drawn allowed).
fn on_help_key(state: &mut State, key: &KeyEvent) {
    let Some(Modal::Help { scroll }) = state.modal.as_mut() else {
        return;
    };
    let max = state.help_scroll_max;
    let before = *scroll;
    let step = |delta: i64| (i64::from(before) + delta).clamp(0, i64::from(u16::MAX)) as u16;
    *scroll = match keys::help_command_for(key) {
        Some(HelpCommand::Close) => {
            state.modal = None;
            return;
        }
        Some(HelpCommand::Scroll(delta)) => step(delta),
        Some(HelpCommand::Top) => 0,
        Some(HelpCommand::Bottom) => max,
        None => before,
    }
    .min(max);
    if *scroll == before {
        state.dirty = false;
    }
}

/// `e`: jump to the next current problem (worst first), cycling.
pub(super) fn jump_to_problem(state: &mut State) {
    let problems = &state.world.problems;
    if problems.is_empty() {
        state.say("no problems across the environments");
        return;
    }
    let i = state.problem_cursor % problems.len();
    let p = problems[i].clone();
    let count = problems.len();
    go_to(state, &p.location);
    state.problem_cursor = i + 1;
    let next = p
        .next_step
        .as_deref()
        .map(|step| format!(" → {step}"))
        .unwrap_or_default();
    state.say(format!(
        "problem {}/{count}: {}/{} {}: {}{next}",
        i + 1,
        p.environment,
        p.cluster,
        p.subject,
        p.summary
    ));
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
                state.filter = Filter::default();
            }
        }
        (Screen::Overview, Focus::Path) => {
            let at = state.selected_addr();
            let hop = state
                .current_path()
                .and_then(|p| p.hops.get(state.path_row).and_then(|h| h.jump.clone()));
            let Some(jump) = hop else {
                return;
            };
            let (place, notice) = crate::path::jump_target(&state.world, at, &jump);
            match place {
                Some(place) => go_to(state, &place),
                None => state.focus = Focus::Services,
            }
            if let Some(notice) = notice {
                state.say(notice);
            }
        }
        (Screen::Tasks { .. } | Screen::Logs { .. }, _) => {}
    }
}
