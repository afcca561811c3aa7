//! Snapshots of what the operator sees: the demo world at a fixed seed and clock,
//! rendered at 80x24 and 160x48. Review changes as screens (`cargo insta review`).

use crate::support::screen;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ibet_console::app::logview::LogsMsg;
use ibet_console::app::state::Modal;
use ibet_console::app::{Msg, State, update};
use ibet_console::backend::sim::Fault;
use ibet_console::logs::{LogLine, TailEvent};
use ibet_console::world::Observation;
use screen::{demo_session, polled_state, run_log_effects, screen};

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

#[test]
fn overview_production() {
    let (session, _clock) = demo_session(7, 120);
    let mut state = polled_state(&session);
    // 200x50 too: from there the services table has room for the CPU and memory
    // sparklines beside LAST EVENT.
    for (w, h) in SIZES.into_iter().chain([(200, 50)]) {
        insta::assert_snapshot!(
            format!("overview_production_{w}x{h}"),
            screen(&mut state, w, h)
        );
    }
}

#[test]
fn overview_staging_satoshi() {
    let (session, _clock) = demo_session(7, 120);
    let mut state = polled_state(&session);
    update(&mut state, key(KeyCode::Tab));
    update(&mut state, key(KeyCode::Char(']')));
    for (w, h) in SIZES {
        insta::assert_snapshot!(
            format!("overview_staging_satoshi_{w}x{h}"),
            screen(&mut state, w, h)
        );
    }
}

/// CloudWatch refused: the CPU and memory columns are grey (the last values read, or
/// `–`), the title names the permission, and the problems list says what to do.
#[test]
fn overview_metrics_denied() {
    use ibet_console::backend::BackendError;
    let (session, _clock) = demo_session(7, 120);
    let mut state = polled_state(&session);
    let when = state.world.now;
    update(
        &mut state,
        Msg::Observed(Observation::Metrics {
            env: 0,
            result: Err(BackendError::AccessDenied {
                action: "cloudwatch:GetMetricData".into(),
                principal: Some("arn:aws:iam::123456789012:user/ops".into()),
                resource: Some("*".into()),
                reason: None,
            }),
            when,
        }),
    );
    let shown = screen(&mut state, 80, 24);
    insta::assert_snapshot!("overview_metrics_denied_80x24", shown);
    let problem = state
        .world
        .problems
        .iter()
        .find(|p| p.subject == "metrics")
        .expect("a problem");
    assert!(
        problem
            .next_step
            .as_deref()
            .is_some_and(|s| s.contains("`cloudwatch:GetMetricData`")),
        "{problem:?}"
    );
}

#[test]
fn the_header_says_when_the_environment_is_idle() {
    use ibet_console::app::msg::{ClusterAddr, Poller};
    let (session, _clock) = demo_session(7, 120);
    let mut state = polled_state(&session);
    let pace = |env, slowed_ms| {
        Msg::Observed(Observation::Pace {
            at: ClusterAddr { env, cluster: 1 },
            poller: Poller::Node(0),
            slowed_ms,
        })
    };
    // A poller of the other environment: not this one's header.
    update(&mut state, pace(1, 4_000));
    let header = |state: &mut State, w| screen(state, w, 24).lines().next().map(str::to_owned);
    assert!(!header(&mut state, 80).expect("header").contains("idle"));
    update(&mut state, pace(0, 4_000));
    // As fully as the row allows: the longest pause now (a node's 1 s + 4 s, the ECS
    // refresh 5 s); the age of the oldest ECS read only once it is late.
    let wide = header(&mut state, 160).expect("header");
    assert!(
        wide.ends_with("idle · refresh 5s · demo world · read-only"),
        "{wide}"
    );
    let now = state.world.now;
    update(&mut state, Msg::Tick(now + 12_000));
    let late = header(&mut state, 160).expect("header");
    assert!(
        late.ends_with("idle · refresh 5s · read 10s ago · demo world · read-only"),
        "{late}"
    );
    let narrow = header(&mut state, 80).expect("header");
    assert!(
        narrow.ends_with("idle · demo world · read-only"),
        "{narrow}"
    );
    update(&mut state, pace(0, 0));
    assert!(!header(&mut state, 80).expect("header").contains("idle"));
    // The ECS reads of a cluster not on screen, slowed (a key calls back only the
    // cluster on screen's): not this screen's header.
    update(
        &mut state,
        Msg::Observed(Observation::Pace {
            at: ClusterAddr { env: 0, cluster: 1 },
            poller: Poller::Cluster,
            slowed_ms: 4_000,
        }),
    );
    assert!(!header(&mut state, 80).expect("header").contains("idle"));
}

/// The demo world polled, on the tasks screen of staging's `api` service.
fn staging_api_tasks() -> State {
    let (session, _clock) = demo_session(7, 120);
    let mut state = polled_state(&session);
    update(&mut state, key(KeyCode::Tab));
    let api = state
        .visible_services()
        .iter()
        .position(|s| s.name == "api")
        .expect("api service");
    for _ in 0..api {
        update(&mut state, key(KeyCode::Down));
    }
    update(&mut state, key(KeyCode::Enter));
    state
}

#[test]
fn tasks_of_api() {
    let mut state = staging_api_tasks();
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("tasks_api_{w}x{h}"), screen(&mut state, w, h));
    }
}

#[test]
fn help_overlay() {
    let (session, _clock) = demo_session(7, 120);
    let mut state = polled_state(&session);
    update(&mut state, key(KeyCode::Char('?')));
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("help_{w}x{h}"), screen(&mut state, w, h));
    }
    // At 80x24 the overview's keys are taller than the screen: the last ones are a
    // scroll away (the draw above at 160x48 fitted; draw at 80x24 first, as the
    // terminal would have).
    screen(&mut state, 80, 24);
    update(&mut state, key(KeyCode::End));
    let end = screen(&mut state, 80, 24);
    assert!(end.contains("cancel") && end.contains("of "), "{end}");
    insta::assert_snapshot!("help_80x24_scrolled_to_the_end", end);
}

#[test]
fn container_picker_over_the_tasks() {
    use ibet_console::app::log_picker::{ContainerPicker, PickerPurpose};
    let mut state = staging_api_tasks();
    // The demo's tasks run one container each: give the selected one three, as the AP
    // tasks have (Web API, Notification, and one more).
    let task = state.visible_tasks()[0].id.clone();
    state.modal = Some(Modal::Containers(ContainerPicker {
        task_label: format!("api/{}", &task[..8]),
        task,
        containers: vec!["api".into(), "notification".into(), "batch".into()],
        row: 2,
        purpose: PickerPurpose::Logs,
    }));
    for (w, h) in SIZES {
        let s = screen(&mut state, w, h);
        assert!(
            s.contains("all containers") && s.contains("notification"),
            "{s}"
        );
        insta::assert_snapshot!(format!("tasks_api_container_picker_{w}x{h}"), s);
    }
    // `x` on such a task asks which container to open a session in: no "all".
    let Some(Modal::Containers(picker)) = state.modal.as_mut() else {
        unreachable!("set above");
    };
    picker.purpose = PickerPurpose::Exec;
    picker.row = 1;
    for (w, h) in SIZES {
        let s = screen(&mut state, w, h);
        assert!(
            s.contains("Session in api/") && !s.contains("all containers"),
            "{s}"
        );
        insta::assert_snapshot!(format!("tasks_api_session_picker_{w}x{h}"), s);
    }
}

#[test]
fn same_seed_same_screen() {
    let mut a = polled_state(&demo_session(11, 300).0);
    let mut b = polled_state(&demo_session(11, 300).0);
    assert_eq!(screen(&mut a, 160, 48), screen(&mut b, 160, 48));
}

/// production/node-api with its API failing health checks: the path breaks at the
/// internal ALB's route to the API.
fn broken_api_state() -> State {
    let (session, clock) = demo_session(7, 120);
    let world = session.world.clone().expect("demo world");
    world
        .inject(
            "production",
            Fault::TasksUnhealthy {
                cluster: "node-api".into(),
                service: "api".into(),
                secs: 600,
            },
        )
        .expect("inject");
    clock.advance(5_000);
    polled_state(&session)
}

#[test]
fn overview_with_a_broken_path() {
    let mut state = broken_api_state();
    for (w, h) in SIZES {
        insta::assert_snapshot!(
            format!("overview_broken_path_{w}x{h}"),
            screen(&mut state, w, h)
        );
    }
}

#[test]
fn path_panel_focused_on_the_broken_hop() {
    let mut state = broken_api_state();
    update(&mut state, key(KeyCode::Char('p')));
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("path_focused_{w}x{h}"), screen(&mut state, w, h));
    }
    // Enter jumps to the tasks of the broken hop's service.
    update(&mut state, key(KeyCode::Enter));
    assert_eq!(
        state.screen,
        ibet_console::app::state::Screen::Tasks {
            service: "api".into()
        }
    );
}

/// The production overview with the logs of `api` (the first service) open and its
/// backfill window read.
fn logs_of_api() -> State {
    let (session, _clock) = demo_session(7, 120);
    let mut state = polled_state(&session);
    let effects = update(&mut state, key(KeyCode::Char('l')));
    run_log_effects(&mut state, &session, effects);
    state
}

#[test]
fn logs_of_api_following() {
    let mut state = logs_of_api();
    for (w, h) in SIZES {
        let s = screen(&mut state, w, h);
        assert!(s.contains("Logs · production/node-api/api · 2 streams · following"));
        insta::assert_snapshot!(format!("logs_api_{w}x{h}"), s);
    }
}

#[test]
fn logs_of_api_searched_wrapped_and_a_json_line_opened() {
    let mut state = logs_of_api();
    // Draw once so the view knows its page size, as the terminal would have.
    screen(&mut state, 160, 48);
    update(&mut state, key(KeyCode::Char('/')));
    for c in "error".chars() {
        update(&mut state, key(KeyCode::Char(c)));
    }
    update(&mut state, key(KeyCode::Enter));
    let searched = screen(&mut state, 160, 48);
    assert!(searched.contains("paused (G to follow)"), "{searched}");
    assert!(searched.contains("/error line "), "{searched}");
    insta::assert_snapshot!("logs_api_search_160x48", searched);
    update(&mut state, key(KeyCode::Char('w')));
    insta::assert_snapshot!("logs_api_search_wrap_80x24", screen(&mut state, 80, 24));
    update(&mut state, key(KeyCode::Enter));
    let popup = screen(&mut state, 80, 24);
    assert!(popup.contains("JSON · line"), "{popup}");
    insta::assert_snapshot!("logs_api_json_80x24", popup);
}

#[test]
fn logs_of_api_in_the_teams_zone() {
    let mut state = logs_of_api();
    let utc = screen(&mut state, 80, 24);
    state.zone = ibet_console::clock::Zone::named("Asia/Tokyo").expect("zone");
    let jst = screen(&mut state, 80, 24);
    assert!(utc.contains("│03:01:59.647 api/464a1ff7"), "{utc}");
    assert!(jst.contains("│12:01:59.647 api/464a1ff7"), "{jst}");
    assert!(jst.contains(" · JST"), "{jst}");
    insta::assert_snapshot!("logs_api_jst_80x24", jst);
}

#[test]
fn logs_of_api_compact_then_raw() {
    let mut state = logs_of_api();
    let compact = screen(&mut state, 80, 24);
    assert!(compact.contains("api/464a1ff7 INFO  GET /v3/"), "{compact}");
    assert!(!compact.contains("{\"time\""), "{compact}");
    update(&mut state, key(KeyCode::Char('r')));
    let raw = screen(&mut state, 80, 24);
    assert!(raw.contains("{\"time\":\"2026-"), "{raw}");
    assert!(
        raw.contains("raw lines: JSON and logfmt as written"),
        "{raw}"
    );
    insta::assert_snapshot!("logs_api_raw_80x24", raw);
}

#[test]
fn help_on_the_log_view_shows_its_keys() {
    let mut state = logs_of_api();
    update(&mut state, key(KeyCode::Char('?')));
    let s = screen(&mut state, 80, 24);
    assert!(s.contains("server-side filter pattern"), "{s}");
    assert!(!s.contains("environment by number"), "{s}");
    insta::assert_snapshot!("logs_help_80x24", s);
}

#[test]
fn a_hostile_log_line_renders_inert() {
    let mut state = logs_of_api();
    let tail = match &state.screen {
        ibet_console::app::state::Screen::Logs { view, .. } => view.tail().expect("tail"),
        _ => panic!("logs screen"),
    };
    let hostile = "\x1b[2J\x1b]0;pwned\x07cleared?\rover\x1b[31m red \x1b]8;;http://x\x1b\\link";
    let line = LogLine::new(screen::T0 + 120_000, "api/evil".into(), hostile.to_string());
    update(
        &mut state,
        Msg::Logs(LogsMsg::Tail {
            tail,
            event: TailEvent::Lines(vec![line]),
        }),
    );
    for (w, h) in SIZES {
        let s = screen(&mut state, w, h);
        for bad in ['\x1b', '\x07', '\r', '\u{9b}', '\u{9d}'] {
            assert!(!s.contains(bad), "{bad:?} reached the screen:\n{s}");
        }
        assert!(!s.contains("pwned"), "the title sequence is removed whole");
        assert!(s.contains("cleared?␍over red"), "{s}");
    }
    // Also in the JSON popup and with wrapping on.
    update(&mut state, key(KeyCode::Char('w')));
    update(&mut state, key(KeyCode::Enter));
    let s = screen(&mut state, 80, 24);
    assert!(!s.contains('\x1b') && !s.contains('\r'), "{s}");
}

/// Staging with the release picker of node-api/api open on the newest revision, and the
/// executor that confirms from it (audit in a temporary directory).
fn release_picker() -> (
    ibet_console::session::Session,
    std::sync::Arc<ibet_console::clock::ManualClock>,
    State,
    tempfile::TempDir,
) {
    release_picker_of("api")
}

/// [`release_picker`] of staging's node-api service `service`.
fn release_picker_of(
    service: &str,
) -> (
    ibet_console::session::Session,
    std::sync::Arc<ibet_console::clock::ManualClock>,
    State,
    tempfile::TempDir,
) {
    let (session, clock) = demo_session(7, 120);
    let mut state = polled_state(&session);
    update(&mut state, key(KeyCode::Tab));
    let at = state
        .visible_services()
        .iter()
        .position(|s| s.name == service)
        .expect("service");
    for _ in 0..at {
        update(&mut state, key(KeyCode::Down));
    }
    let effects = update(&mut state, key(KeyCode::Char('u')));
    let dir = tempfile::tempdir().expect("tmp");
    run_release_effects(&mut state, &session, &dir, effects);
    (session, clock, state, dir)
}

/// What the event loop does with the release flow's effects, one after another.
fn run_release_effects(
    state: &mut State,
    session: &ibet_console::session::Session,
    dir: &tempfile::TempDir,
    effects: Vec<ibet_console::app::Effect>,
) {
    use ibet_console::app::Effect;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let executor = ibet_console::ops::Executor::new(
        ibet_console::ops::audit::AuditLog::new(dir.path().join("audit.jsonl")),
        "operator",
    );
    let ctx = |env: usize| ibet_console::ops::OpContext {
        environment: session.config.environments[env].clone(),
        backends: session.backends[env].clone(),
        clock: std::sync::Arc::clone(&session.clock),
        write: false,
    };
    let mut queue: std::collections::VecDeque<Effect> = effects.into();
    while let Some(effect) = queue.pop_front() {
        let msg = match effect {
            Effect::LoadRevisions {
                at,
                service,
                current,
            } => Msg::Revisions {
                result: rt.block_on(ibet_console::app::release::read_revisions(
                    session.backends[at.env].ecs.as_ref(),
                    &current,
                )),
                at,
                service,
            },
            Effect::PlanOp { env, op } => Msg::PlanReady(Box::new(
                rt.block_on(ibet_console::ops::plan(&op, &ctx(env))),
            )),
            Effect::ExecuteOp {
                env,
                plan,
                approval,
            } => Msg::OpDone(Box::new(rt.block_on(executor.execute(
                &plan,
                &approval,
                &ctx(env),
            )))),
            _ => continue,
        };
        queue.extend(update(state, msg));
    }
}

#[test]
fn release_picker_with_the_diff() {
    let (_session, _clock, mut state, _dir) = release_picker();
    for (w, h) in SIZES {
        let s = screen(&mut state, w, h);
        assert!(s.contains("SENTRY_DSN=****"), "{s}");
        insta::assert_snapshot!(format!("release_picker_{w}x{h}"), s);
    }
}

#[test]
fn release_plan_with_its_checks() {
    let (session, _clock, mut state, dir) = release_picker();
    let effects = update(&mut state, key(KeyCode::Enter));
    run_release_effects(&mut state, &session, &dir, effects);
    for (w, h) in SIZES {
        let s = screen(&mut state, w, h);
        assert!(s.contains("ibet-wallet-api:v24.9.0 in ECR"), "{s}");
        assert!(s.contains("execution_role"), "{s}");
        insta::assert_snapshot!(format!("release_plan_{w}x{h}"), s);
    }
}

#[test]
fn release_plan_refused_by_a_missing_secret_and_overridden() {
    let (session, _clock, mut state, dir) = release_picker_of("batch");
    let effects = update(&mut state, key(KeyCode::Enter));
    run_release_effects(&mut state, &session, &dir, effects);
    for (w, h) in SIZES {
        let s = screen(&mut state, w, h);
        assert!(s.contains("missing: batch SLACK_WEBHOOK_URL"), "{s}");
        assert!(s.contains("batch has no circuit breaker"), "{s}");
        assert!(s.contains("A check failed: the release is refused."), "{s}");
        insta::assert_snapshot!(format!("release_plan_refused_{w}x{h}"), s);
    }
    // `y` does nothing; `O` asks again, and `y` then runs it as an override.
    let effects = update(&mut state, key(KeyCode::Char('y')));
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, ibet_console::app::Effect::ExecuteOp { .. })),
        "{effects:?}"
    );
    update(&mut state, key(KeyCode::Char('O')));
    let s = screen(&mut state, 80, 24);
    assert!(s.contains("Override the failed checks?"), "{s}");
    let effects = update(&mut state, key(KeyCode::Char('y')));
    run_release_effects(&mut state, &session, &dir, effects);
    let audit = ibet_console::ops::audit::AuditLog::new(dir.path().join("audit.jsonl"))
        .recent(10)
        .expect("audit");
    assert!(!audit.is_empty());
    assert!(audit.iter().all(|e| e.override_gate), "{audit:?}");
    assert!(
        audit
            .iter()
            .any(|e| e.checks.iter().any(|c| c.name == "secrets" && !c.passed))
    );
}

#[test]
fn redacted_for_an_audience() {
    let (_session, _clock, mut state, _dir) = release_picker();
    let plain = screen(&mut state, 80, 24);
    assert!(plain.contains("123456789012.dkr.ecr"), "{plain}");
    state.redact = true;
    let masked = screen(&mut state, 80, 24);
    assert!(masked.contains("************.dkr.ecr"), "{masked}");
    assert!(!masked.contains("123456789012"), "{masked}");
    insta::assert_snapshot!("release_picker_redacted_80x24", masked);
    let mut logs = logs_of_api();
    logs.redact = true;
    let s = screen(&mut logs, 160, 48);
    assert!(!s.contains("123456789012"), "{s}");
}

#[test]
fn release_rollout_gauge() {
    let (session, clock, mut state, dir) = release_picker();
    let effects = update(&mut state, key(KeyCode::Enter));
    run_release_effects(&mut state, &session, &dir, effects);
    let effects = update(&mut state, key(KeyCode::Char('y')));
    run_release_effects(&mut state, &session, &dir, effects);
    // Mid-rollout: the new tasks start while the old ones serve.
    clock.advance(4_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = rt.block_on(session.backends[1].ecs.snapshot("ibet-stg-node-api"));
    let when = session.clock.now_ms();
    update(&mut state, Msg::Tick(when));
    update(
        &mut state,
        Msg::Observed(Observation::Ecs {
            at: ibet_console::app::ClusterAddr { env: 1, cluster: 0 },
            result,
            when,
        }),
    );
    for (w, h) in SIZES {
        let s = screen(&mut state, w, h);
        assert!(s.contains("IN PROGRESS"), "{s}");
        insta::assert_snapshot!(format!("release_rollout_{w}x{h}"), s);
    }
}

#[test]
fn release_rollout_failed_offers_the_rollback() {
    let (session, clock, mut state, dir) = release_picker();
    session
        .world
        .as_ref()
        .expect("demo world")
        .inject(
            "staging",
            Fault::ReleaseFails {
                cluster: "node-api".into(),
                service: "api".into(),
                secs: 600,
            },
        )
        .expect("inject");
    let effects = update(&mut state, key(KeyCode::Enter));
    run_release_effects(&mut state, &session, &dir, effects);
    let effects = update(&mut state, key(KeyCode::Char('y')));
    run_release_effects(&mut state, &session, &dir, effects);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for _ in 0..90 {
        clock.advance(1_000);
        let result = rt.block_on(session.backends[1].ecs.snapshot("ibet-stg-node-api"));
        let when = session.clock.now_ms();
        update(&mut state, Msg::Tick(when));
        update(
            &mut state,
            Msg::Observed(Observation::Ecs {
                at: ibet_console::app::ClusterAddr { env: 1, cluster: 0 },
                result,
                when,
            }),
        );
        let failed = state
            .dialog()
            .and_then(|d| d.rollout.as_ref())
            .is_some_and(|w| w.phase == ibet_console::ops::release::RolloutPhase::Failed);
        if failed {
            break;
        }
    }
    let s = screen(&mut state, 80, 24);
    assert!(s.contains("FAILED"), "{s}");
    assert!(s.contains("b roll back"), "{s}");
    insta::assert_snapshot!("release_rollout_failed_80x24", s);
}

#[test]
fn a_cluster_that_cannot_be_read_says_why_and_what_to_do() {
    use ibet_console::app::msg::ClusterAddr;
    use ibet_console::backend::BackendError;
    let (session, _clock) = demo_session(7, 120);
    let now = session.clock.now_ms();
    let mut state = State::new(&session.config, now);
    state.demo = session.is_demo();
    update(
        &mut state,
        Msg::Observed(Observation::Ecs {
            at: ClusterAddr { env: 0, cluster: 0 },
            result: Err(BackendError::NoCredentials {
                profile: "default".into(),
                config_file: "/home/op/.aws/config".into(),
                credentials_file: "/home/op/.aws/credentials".into(),
            }),
            when: now,
        }),
    );
    insta::assert_snapshot!("no_credentials_80x24", screen(&mut state, 80, 24));
}
