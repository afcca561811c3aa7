//! `update(state, msg) -> effects`: the one place where the state changes.
//!
//! Pure: no I/O, no clock reads (time arrives in messages). Unknown keys do nothing,
//! so a stray key can never act; nothing here calls a backend.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::logview::{LogViewAction, LogViewState};
use super::msg::{Effect, Msg};
use super::state::{Focus, Screen, State};
use crate::logs::LogTarget;
use crate::logs::discovery::short_task_id;

/// Applies one message; returns what the event loop must do.
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
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
            }
            state.dirty = true;
        }
        Msg::Ecs { at, result, when } => {
            state.now = state.now.max(when);
            if let Some(c) = cluster_mut(state, at.env, at.cluster) {
                c.ecs.apply(result, when);
                state.dirty = true;
            }
            clamp_rows(state);
        }
        Msg::Node { at, node, sample } => {
            if let Some(slot) =
                cluster_mut(state, at.env, at.cluster).and_then(|c| c.nodes.get_mut(node))
            {
                let before = (slot.history.height(), slot.history.consecutive_failures());
                slot.history.record(*sample);
                if before != (slot.history.height(), slot.history.consecutive_failures()) {
                    state.dirty = true;
                }
            }
        }
        Msg::Switch { at, result, when } => {
            if let Some(panel) =
                cluster_mut(state, at.env, at.cluster).and_then(|c| c.switch.as_mut())
            {
                panel.apply(result, when);
                state.dirty = true;
            }
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
    if state.help {
        if matches!(
            key.code,
            KeyCode::Esc | KeyCode::Char('?' | 'q') | KeyCode::Enter
        ) {
            state.help = false;
        }
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
        KeyCode::Esc => {
            if !state.filter.text.is_empty() {
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
        _ => state.dirty = false,
    }
    Vec::new()
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
            (
                format!("{service}/{}", short_task_id(&task.id)),
                LogTarget::Task(task.id.clone()),
            )
        }
        (Screen::Logs { .. }, _) => return Vec::new(),
    };
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
        &label,
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
}

fn move_row(state: &mut State, delta: i64) {
    match (&state.screen, state.focus) {
        (Screen::Overview, Focus::Clusters) => move_cluster(state, delta),
        (Screen::Overview, Focus::Services) => {
            let n = state.visible_services().len();
            state.service_row = step(state.service_row, delta, n);
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::msg::ClusterAddr;
    use crate::backend::BackendError;
    use crate::config::Config;
    use crate::model::ecs::{ClusterSnapshot, Service, Task};

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
}
