//! `update(state, msg) -> effects`: the one place where the state changes. It routes a
//! message: keys to [`super::input`], what the pollers saw to the world, replies to the
//! dialog or the view that waits for them.
//!
//! Pure: no I/O, no clock reads (time arrives in messages). Unknown keys do nothing,
//! so a stray key can never act; nothing here calls a backend.

use super::dialog::DialogAction;
use super::input::on_key;
use super::msg::{Effect, Msg, Observation};
use super::navigate::clamp_rows;
use super::open::{gate_effect, observe_rollout, revisions_read};
use super::release::RolloutWatch;
use super::state::{Screen, State};

/// Applies one message; returns what the event loop must do.
///
/// What the pollers saw goes to the world ([`crate::world::World::apply`]), which says
/// what changed: a poll that brought what the world already held, the common case on a
/// quiet system, costs no frame. The clock tick draws only once the frame on screen
/// would change (`State::redraw_at`).
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => return on_key(state, key),
        Msg::Resize => state.dirty = true,
        Msg::Tick(now) => {
            if state.world.apply(Observation::Clock(now)).shown {
                state.dirty = true;
            }
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
        Msg::Observed(observation) => observed(state, observation),
        Msg::Revisions {
            at,
            service,
            result,
        } => return revisions_read(state, at, &service, result),
        Msg::PlanReady(plan) => {
            if let Some(d) = state.dialog_mut() {
                d.plan_ready(*plan);
                let env = d.env;
                let run = d.run_at_once();
                state.dirty = true;
                if let Some(DialogAction::Execute(plan, approval)) = run {
                    return vec![
                        Effect::GatePolling(None),
                        Effect::ExecuteOp {
                            env,
                            plan,
                            approval,
                        },
                    ];
                }
                return gate_effect(state);
            }
        }
        // The event loop hands the terminal over before this would be reached.
        Msg::Session(request) => {
            let _ = request.reply.send(crate::ops::exec::SessionEnd::NotStarted(
                "no terminal to hand over".into(),
            ));
        }
        Msg::GatePoll(poll) => {
            let Some(d) = state.dialog_mut() else {
                return Vec::new();
            };
            if !d.gate_poll(*poll) {
                return Vec::new();
            }
            let env = d.env;
            let run = d.run_if_armed();
            state.dirty = true;
            if let Some(DialogAction::Execute(plan, approval)) = run {
                return vec![
                    Effect::GatePolling(None),
                    Effect::ExecuteOp {
                        env,
                        plan,
                        approval,
                    },
                ];
            }
        }
        Msg::OpDone(report) => {
            // The message names the op already.
            state.say(report.message.clone());
            let now = state.now();
            if let Some(d) = state.dialog_mut() {
                if d.op == report.op {
                    d.rollout = RolloutWatch::after(&report, d.plan.as_deref(), now);
                }
                d.done(*report, now);
            }
            state.dirty = true;
            return vec![Effect::RefreshNow];
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

/// Applies what a poller saw to the world, and what the screen must do about it: draw,
/// keep its selections within the new lists, feed a rollout being watched.
fn observed(state: &mut State, observation: Observation) {
    let ecs_of = match &observation {
        Observation::Ecs { at, when, .. } => Some((*at, *when)),
        _ => None,
    };
    let lists = matches!(
        observation,
        Observation::Ecs { .. } | Observation::Paths { .. }
    );
    let change = state.world.apply(observation);
    if change.shown {
        state.dirty = true;
    }
    if change.sooner {
        // Data may now turn stale sooner than the frame on screen was told.
        state.redraw_at = Some(state.now());
    }
    if lists {
        clamp_rows(state);
    }
    if let Some((at, when)) = ecs_of {
        observe_rollout(state, at, when);
    }
}

/// How long a footer notice stays.
const NOTICE_MS: i64 = 5_000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::msg::{ClusterAddr, Poller};
    use crate::app::state::{Focus, Modal};
    use crate::backend::BackendError;
    use crate::clock::EpochMs;
    use crate::config::Config;
    use crate::logs::LogTarget;
    use crate::model::ecs::{ClusterSnapshot, Service, Task};
    use crate::model::quorum::{NodeSample, Probe};
    use crate::ops::Op;
    use crate::world::LONGEST_STILL_MS;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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

    fn help_scroll(s: &State) -> u16 {
        match s.modal {
            Some(Modal::Help { scroll }) => scroll,
            _ => 0,
        }
    }

    fn log_picker(s: &State) -> Option<&crate::app::log_picker::ContainerPicker> {
        match &s.modal {
            Some(Modal::Containers(p)) => Some(p),
            _ => None,
        }
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
            Msg::Observed(Observation::Ecs {
                at: ClusterAddr { env: 0, cluster: 0 },
                result: Ok(snapshot()),
                when: 1,
            }),
        );
        s
    }

    #[test]
    fn a_poll_that_brings_the_same_data_draws_nothing_and_a_tick_does() {
        let mut s = loaded();
        s.dirty = false;
        let again = |when| {
            Msg::Observed(Observation::Ecs {
                at: ClusterAddr { env: 0, cluster: 0 },
                result: Ok(snapshot()),
                when,
            })
        };
        update(&mut s, again(2));
        assert!(!s.dirty, "same data");
        let c = &s.world.envs[0].clusters[0];
        assert_eq!(c.ecs.updated_at, Some(2), "the data's age still moves");
        let mut changed = snapshot();
        changed.services[0].running = 0;
        update(
            &mut s,
            Msg::Observed(Observation::Ecs {
                at: ClusterAddr { env: 0, cluster: 0 },
                result: Ok(changed),
                when: 3,
            }),
        );
        assert!(s.dirty, "new data");
        s.dirty = false;
        update(&mut s, Msg::Tick(4_000));
        assert!(s.dirty, "time moves ages on screen");
        // An error is news once; the same error again is not.
        s.dirty = false;
        let failing = |when| {
            Msg::Observed(Observation::Ecs {
                at: ClusterAddr { env: 0, cluster: 0 },
                result: Err(BackendError::Timeout { secs: 5 }),
                when,
            })
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
        let pace = |slowed_ms| {
            Msg::Observed(Observation::Pace {
                at,
                poller: Poller::Cluster,
                slowed_ms,
            })
        };
        s.dirty = false;
        update(&mut s, pace(25_000));
        assert!(s.idle());
        assert!(s.dirty, "the header says the environment is idle");
        let c = &s.world.envs[0].clusters[0];
        assert_eq!((c.ecs.slowed_ms, c.paths.slowed_ms), (25_000, 25_000));
        // Three refreshes (15 s) plus the 25 s the poller now waits longer.
        assert_eq!(c.ecs.stale_since(40_001, s.world.stale_after_ms()), None);
        assert_eq!(c.ecs.stale_since(40_002, s.world.stale_after_ms()), Some(1));
        // The same pace told again changes nothing.
        s.dirty = false;
        update(&mut s, pace(25_000));
        assert!(!s.dirty);
        // Another environment's slowed poller is not this one's header.
        update(&mut s, key(KeyCode::Tab));
        assert!(!s.idle());
        update(&mut s, key(KeyCode::BackTab));
        // Back to the rhythm: stale after three refreshes again, looked at on the next
        // tick (the frame on screen was told it turns stale later).
        s.drawn(crate::ui::Drawn {
            changes_in: None,
            ..crate::ui::Drawn::default()
        });
        update(&mut s, pace(0));
        assert!(!s.idle());
        assert_eq!(s.redraw_at, Some(s.world.now));
        assert_eq!(s.world.problems_due_at, Some(s.world.now));
        let c = &s.world.envs[0].clusters[0];
        assert_eq!(c.ecs.stale_since(16_002, s.world.stale_after_ms()), Some(1));
        // A node's poller, and the switch of a cluster that has none: no panic.
        let node = Msg::Observed(Observation::Pace {
            at,
            poller: Poller::Node(7),
            slowed_ms: 4_000,
        });
        update(&mut s, node);
        let switch = Msg::Observed(Observation::Pace {
            at,
            poller: Poller::Switch,
            slowed_ms: 4_000,
        });
        update(&mut s, switch);
        assert!(!s.idle());
        // A key or a resize brings the full rhythm back; data and ticks do not (no
        // dialog is open).
        assert!(s.wants_full_rhythm(&key(KeyCode::Char('j'))));
        assert!(s.wants_full_rhythm(&Msg::Resize));
        assert!(!s.wants_full_rhythm(&Msg::Tick(s.world.now)));
        assert!(!s.wants_full_rhythm(&pace(0)));
    }

    #[test]
    fn a_tick_draws_only_once_the_frame_on_screen_would_change() {
        let mut s = loaded();
        update(&mut s, Msg::Tick(4_000));
        s.drawn(crate::ui::Drawn {
            changes_in: Some(5_000),
            ..crate::ui::Drawn::default()
        });
        update(&mut s, Msg::Tick(8_999));
        assert!(!s.dirty, "nothing on screen changes before 9 s");
        update(&mut s, Msg::Tick(9_000));
        assert!(s.dirty);
        // A frame with nothing that moves is drawn again after a while all the same.
        s.drawn(crate::ui::Drawn {
            changes_in: None,
            ..crate::ui::Drawn::default()
        });
        assert!(!s.dirty);
        assert_eq!(s.redraw_at, Some(9_000 + LONGEST_STILL_MS));
        s.drawn(crate::ui::Drawn {
            changes_in: Some(LONGEST_STILL_MS * 3),
            ..crate::ui::Drawn::default()
        });
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
        let poll = |at: EpochMs, peers: u64| {
            Msg::Observed(Observation::Node {
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
            })
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
        assert!(s.help_open());
        update(&mut s, key(KeyCode::Char('q')));
        assert!(!s.quit && !s.help_open(), "q closes help, does not quit");
    }

    #[test]
    fn a_tall_help_scrolls_as_far_as_the_view_allows() {
        let mut s = loaded();
        update(&mut s, key(KeyCode::Char('?')));
        // The view drew it 5 rows taller than the screen.
        s.help_scroll_max = 5;
        for _ in 0..3 {
            update(&mut s, key(KeyCode::Char('j')));
        }
        assert_eq!(help_scroll(&s), 3);
        update(&mut s, key(KeyCode::PageDown));
        assert_eq!(help_scroll(&s), 5);
        s.dirty = false;
        update(&mut s, key(KeyCode::Down));
        assert!(!s.dirty, "at the end: nothing to redraw");
        update(&mut s, key(KeyCode::Up));
        assert_eq!(help_scroll(&s), 4);
        update(&mut s, key(KeyCode::Home));
        assert_eq!(help_scroll(&s), 0);
        update(&mut s, key(KeyCode::End));
        update(&mut s, key(KeyCode::Esc));
        assert!(!s.help_open());
        assert_eq!(help_scroll(&s), 0, "it opens at the top again");
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
            Msg::Observed(Observation::Ecs {
                at,
                result: Err(err.clone()),
                when: 10,
            }),
        );
        update(
            &mut s,
            Msg::Observed(Observation::Ecs {
                at,
                result: Err(err),
                when: 20,
            }),
        );
        let c = s.current_cluster().expect("cluster");
        assert!(c.ecs.data.is_some());
        let e = c.ecs.error.as_ref().expect("error");
        assert_eq!((e.since, e.at), (10, 20));
        update(
            &mut s,
            Msg::Observed(Observation::Ecs {
                at,
                result: Ok(snapshot()),
                when: 30,
            }),
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
            Msg::Observed(Observation::Ecs {
                at: ClusterAddr { env: 0, cluster: 0 },
                result: Ok(snap),
                when: 2,
            }),
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
        assert_eq!(s.clusters[0], 1);
        update(&mut s, key(KeyCode::Char(']')));
        assert_eq!(s.clusters[0], 1, "clamped");
        update(&mut s, key(KeyCode::Left));
        update(&mut s, key(KeyCode::Up));
        assert_eq!(s.clusters[0], 0);
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
        assert!(s.help_open());
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
            Msg::Observed(Observation::Ecs {
                at: ClusterAddr { env: 0, cluster: 0 },
                result: Ok(snapshot()),
                when: 2,
            }),
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
    fn x_on_a_running_task_plans_a_session_in_its_container_or_says_why_not() {
        use crate::model::ecs::Container;
        let mut s = loaded();
        update(&mut s, key(KeyCode::Enter));
        // t1 runs, but its containers are not reported yet.
        assert!(update(&mut s, key(KeyCode::Char('x'))).is_empty());
        assert!(
            s.notice
                .as_ref()
                .is_some_and(|(n, _)| n.contains("no container"))
        );
        update(&mut s, key(KeyCode::Down));
        assert!(update(&mut s, key(KeyCode::Char('x'))).is_empty());
        assert!(
            s.notice
                .as_ref()
                .is_some_and(|(n, _)| n.contains("is STOPPED: a session needs a RUNNING task"))
        );
        update(&mut s, key(KeyCode::Up));
        let mut snap = snapshot();
        snap.tasks[0].containers = vec![Container {
            name: "api".into(),
            ..Container::default()
        }];
        update(
            &mut s,
            Msg::Observed(Observation::Ecs {
                at: ClusterAddr { env: 0, cluster: 0 },
                result: Ok(snap),
                when: 2,
            }),
        );
        // The demo world has no containers to enter: it says so and asks for nothing.
        s.demo = true;
        assert!(update(&mut s, key(KeyCode::Char('x'))).is_empty());
        assert!(
            s.notice
                .as_ref()
                .is_some_and(|(n, _)| n.contains("not available in the demo world"))
        );
        assert!(s.modal.is_none());
        s.demo = false;
        let op = Op::Exec {
            env: "production".into(),
            cluster: "node-api".into(),
            service: "api".into(),
            task: "t1".into(),
            container: Some("api".into()),
            command: None,
        };
        assert_eq!(
            update(&mut s, key(KeyCode::Char('x'))),
            vec![
                Effect::GatePolling(None),
                Effect::PlanOp {
                    env: 0,
                    op: op.clone()
                }
            ]
        );
        assert!(matches!(&s.modal, Some(Modal::Dialog(d)) if d.op == op));
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
            Msg::Observed(Observation::Ecs {
                at,
                result: Ok(snap),
                when: 1,
            }),
        );
        update(&mut s, key(KeyCode::Enter));
        assert!(update(&mut s, key(KeyCode::Char('l'))).is_empty());
        let picker = log_picker(&s).expect("the picker is open");
        assert_eq!(picker.containers, ["web", "notification"]);
        // Esc closes the picker and stays on the tasks.
        update(&mut s, key(KeyCode::Esc));
        assert!(log_picker(&s).is_none());
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
        assert!(log_picker(&s).is_none());
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
            Msg::Observed(Observation::Ecs {
                at,
                result: Ok(with_task_definitions(snapshot())),
                when: 2,
            }),
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
        assert!(s.picker().is_some());
        assert!(!update(&mut s, key(KeyCode::Char('q'))).contains(&Effect::Quit));
        assert!(s.picker().is_none() && !s.quit, "q closes the picker only");

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
        assert!(s.picker().is_none());
        assert_eq!(s.dialog().as_ref().map(|d| &d.op), Some(&rollback));

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
            s.world
                .problems
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
            Msg::Observed(Observation::Ecs {
                at,
                result: Ok(snap.clone()),
                when: 2,
            }),
        );
        assert!(!repeatedly(&s), "{:?}", s.world.problems);
        for t in &mut snap.tasks[3..] {
            t.stopped_reason = Some("Essential container in task exited".into());
        }
        update(
            &mut s,
            Msg::Observed(Observation::Ecs {
                at,
                result: Ok(snap),
                when: 3,
            }),
        );
        assert!(repeatedly(&s), "{:?}", s.world.problems);
    }
}
