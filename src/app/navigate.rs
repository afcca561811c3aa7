//! Moving around: one function, [`go_to`], takes the screen to a place (an environment,
//! a cluster, a service's tasks) and leaves it consistent: the environment's selected
//! cluster, the screen, the filter, the rows and the focus all follow. The problems jump
//! (`e`), the request path's Enter, environment keys and cluster keys all go through it.
//! Row moves within a list and keeping selections inside lists that shrank are here too.
//!
//! It changes only the screen's part of the state, never the world.

use super::state::{Filter, Focus, Screen, State};
use crate::problems::Location;

/// Takes the screen to `place`: its environment and cluster on the overview, or its
/// service's tasks. The filter is cleared; the rows start at the top where the list
/// changed; the request-path panel keeps the keyboard only where there is a path.
pub fn go_to(state: &mut State, place: &Location) {
    let env = place.env.min(state.world.envs.len().saturating_sub(1));
    let clusters = state.world.envs.get(env).map_or(0, |e| e.clusters.len());
    let cluster = place.cluster.min(clusters.saturating_sub(1));
    let moved = env != state.env || cluster != state.selected_cluster();
    let screen = match &place.service {
        Some(service) => Screen::Tasks {
            service: service.clone(),
        },
        None => Screen::Overview,
    };
    if !moved && screen == state.screen {
        return;
    }
    state.env = env;
    if let Some(slot) = state.clusters.get_mut(env) {
        *slot = cluster;
    }
    state.screen = screen;
    state.filter = Filter::default();
    state.task_row = 0;
    if moved {
        state.service_row = 0;
        state.path_row = 0;
    }
    if state.focus == Focus::Path
        && (moved || place.service.is_none())
        && state.current_path().is_none()
    {
        state.focus = Focus::Services;
    }
}

/// The overview of environment `env` at the cluster it had selected.
pub fn select_env(state: &mut State, env: usize) {
    if env == state.env || env >= state.world.envs.len() {
        return;
    }
    let cluster = state.clusters.get(env).copied().unwrap_or(0);
    go_to(
        state,
        &Location {
            env,
            cluster,
            service: None,
        },
    );
}

/// The previous (`delta` < 0) or next cluster of the environment, on the overview.
pub fn move_cluster(state: &mut State, delta: i64) {
    if state.screen != Screen::Overview {
        return;
    }
    let n = state.current_env().map_or(0, |e| e.clusters.len());
    if n == 0 {
        return;
    }
    let cluster = step(state.selected_cluster(), delta, n);
    go_to(
        state,
        &Location {
            env: state.env,
            cluster,
            service: None,
        },
    );
}

/// The number of hops of the selected cluster's request path.
fn path_hops(state: &State) -> usize {
    state.current_path().map_or(0, |p| p.hops.len())
}

/// Moves the selection of the focused list by `delta` rows.
pub fn move_row(state: &mut State, delta: i64) {
    match (&state.screen, state.focus) {
        (Screen::Overview, Focus::Clusters) => move_cluster(state, delta),
        (Screen::Overview, Focus::Services) => {
            let n = state.visible_services().len();
            state.service_row = step(state.service_row, delta, n);
        }
        (Screen::Overview, Focus::Path) => {
            let n = path_hops(state);
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
pub fn step(i: usize, delta: i64, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (i as i64 + delta).clamp(0, n as i64 - 1) as usize
}

/// Keeps the selections inside lists that may have shrunk (new data, a filter).
pub fn clamp_rows(state: &mut State) {
    if matches!(state.screen, Screen::Logs { .. }) {
        // The rows belong to the screen behind; they are clamped on the way back.
        return;
    }
    let services = state.visible_services().len();
    state.service_row = state.service_row.min(services.saturating_sub(1));
    let tasks = state.visible_tasks().len();
    state.task_row = state.task_row.min(tasks.saturating_sub(1));
    if state.focus == Focus::Path {
        let hops = path_hops(state);
        state.path_row = state.path_row.min(hops.saturating_sub(1));
    }
}
