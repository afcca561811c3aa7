//! The TUI's action dialog driven through `update` against the demo world: keys open
//! the dialog, the ops layer plans and executes, and the dialog shows the outcome.
//! The yes path, the no path and the read-only refusal are tested separately. The release
//! flow too: the revision picker and its masked diff, one `UpdateService` per
//! confirmation, the rollout followed to its end, and the one-step rollback of a rollout
//! that failed (the demo world's `ReleaseFails` fault).

use crate::support::screen;

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ibet_console::app::dialog::Stage;
use ibet_console::app::{Effect, Msg, State, update};
use ibet_console::ops::audit::AuditLog;
use ibet_console::ops::{Executor, OpContext, Outcome, Readiness};
use ibet_console::session::Session;
use screen::{demo_session, polled_state, screen};

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn ctx(session: &Session, env: usize, write: bool) -> OpContext {
    OpContext {
        environment: session.config.environments[env].clone(),
        backends: session.backends[env].clone(),
        clock: Arc::clone(&session.clock),
        write,
    }
}

/// Runs the effects the way the event loop does, feeding results back into `update`,
/// with the clock advanced a second between gate polls.
fn drive(
    rt: &tokio::runtime::Runtime,
    state: &mut State,
    session: &Session,
    clock: &ibet_console::clock::ManualClock,
    executor: &Executor,
    write: bool,
    effects: Vec<Effect>,
) {
    let mut queue: std::collections::VecDeque<Effect> = effects.into();
    let mut gate = None;
    let mut rounds = 0;
    loop {
        while let Some(e) = queue.pop_front() {
            match e {
                Effect::PlanOp { env, op } => {
                    let plan = rt.block_on(ibet_console::ops::plan(&op, &ctx(session, env, write)));
                    queue.extend(update(state, Msg::PlanReady(Box::new(plan))));
                }
                Effect::GatePolling(p) => gate = p,
                Effect::ExecuteOp {
                    env,
                    plan,
                    approval,
                } => {
                    let report =
                        rt.block_on(executor.execute(&plan, &approval, &ctx(session, env, write)));
                    update(state, Msg::OpDone(Box::new(report)));
                    return;
                }
                _ => {}
            }
        }
        rounds += 1;
        let Some((env, pair)) = gate.clone() else {
            return;
        };
        if rounds > 20 {
            return;
        }
        clock.advance(1000);
        let poll = rt.block_on(ibet_console::ops::gate::poll(
            session.backends[env].rpc.as_ref(),
            &pair,
            session.clock.as_ref(),
        ));
        update(state, Msg::GatePoll(Box::new(poll)));
        if state
            .dialog()
            .and_then(|d| d.plan.as_ref())
            .is_some_and(|p| p.readiness == Readiness::Ready)
        {
            return;
        }
    }
}

fn setup() -> (
    tokio::runtime::Runtime,
    Session,
    Arc<ibet_console::clock::ManualClock>,
    State,
    Executor,
    tempfile::TempDir,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (session, clock) = demo_session(3, 60);
    let state = polled_state(&session);
    let dir = tempfile::tempdir().expect("tmp");
    let executor = Executor::new(AuditLog::new(dir.path().join("audit.jsonl")), "tester");
    (rt, session, clock, state, executor, dir)
}

#[test]
fn switch_in_staging_after_the_gate_opens() {
    let (rt, session, clock, mut state, executor, dir) = setup();
    update(&mut state, key(KeyCode::Tab));
    assert!(!state.wants_full_rhythm(&Msg::Tick(state.now())));
    let fx = update(&mut state, key(KeyCode::Char('s')));
    drive(&rt, &mut state, &session, &clock, &executor, false, fx);
    let plan = state.dialog().and_then(|d| d.plan.as_ref()).expect("plan");
    assert_eq!(plan.readiness, Readiness::Ready, "{:?}", plan.checks);
    // While the dialog is open, every tick keeps the pollers at their full rhythm.
    assert!(state.wants_full_rhythm(&Msg::Tick(state.now())));
    let shown = screen(&mut state, 120, 40);
    assert!(shown.contains("sync gate: open"), "{shown}");
    let fx = update(&mut state, key(KeyCode::Char('y')));
    drive(&rt, &mut state, &session, &clock, &executor, false, fx);
    let Some(Stage::Done(report)) = state.dialog().map(|d| d.stage.clone()) else {
        panic!("not done: {:?}", state.dialog().map(|d| d.stage.clone()));
    };
    assert_eq!(report.outcome, Outcome::Ok, "{report:?}");
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("audit");
    assert_eq!(audit.lines().count(), 2, "before and after");
    update(&mut state, key(KeyCode::Enter));
    assert!(state.dialog().is_none());
}

#[test]
fn no_path_changes_nothing() {
    let (rt, session, clock, mut state, executor, dir) = setup();
    update(&mut state, key(KeyCode::Tab));
    let fx = update(&mut state, key(KeyCode::Char('s')));
    drive(&rt, &mut state, &session, &clock, &executor, false, fx);
    let fx = update(&mut state, key(KeyCode::Char('n')));
    assert!(fx.contains(&Effect::GatePolling(None)));
    assert!(state.dialog().is_none());
    assert!(
        !dir.path().join("audit.jsonl").exists(),
        "nothing audited, nothing run"
    );
}

#[test]
fn production_is_read_only_without_write() {
    let (rt, session, clock, mut state, executor, dir) = setup();
    let fx = update(&mut state, key(KeyCode::Char('s')));
    drive(&rt, &mut state, &session, &clock, &executor, false, fx);
    let plan = state.dialog().and_then(|d| d.plan.as_ref()).expect("plan");
    assert_eq!(plan.readiness, Readiness::Blocked);
    let shown = screen(&mut state, 120, 40);
    assert!(shown.contains("Cannot run"), "{shown}");
    assert!(
        update(&mut state, key(KeyCode::Char('y')))
            .iter()
            .all(|e| !matches!(e, Effect::ExecuteOp { .. }))
    );
    assert!(!dir.path().join("audit.jsonl").exists());
}

#[test]
fn production_with_write_needs_the_typed_name() {
    let (rt, session, clock, mut state, executor, _dir) = setup();
    let fx = update(&mut state, key(KeyCode::Char('s')));
    drive(&rt, &mut state, &session, &clock, &executor, true, fx);
    let plan = state.dialog().and_then(|d| d.plan.as_ref()).expect("plan");
    assert_eq!(plan.typed_confirmation.as_deref(), Some("production"));
    assert!(
        update(&mut state, key(KeyCode::Char('y')))
            .iter()
            .all(|e| !matches!(e, Effect::ExecuteOp { .. }))
    );
    for c in "staging".chars() {
        update(&mut state, key(KeyCode::Char(c)));
    }
    let fx = update(&mut state, key(KeyCode::Enter));
    drive(&rt, &mut state, &session, &clock, &executor, true, fx);
    let Some(Stage::Done(report)) = state.dialog().map(|d| d.stage.clone()) else {
        panic!("not done");
    };
    assert_eq!(
        report.outcome,
        Outcome::Refused,
        "the wrong name is refused"
    );
}

// ---- the release flow ----------------------------------------------------------------

use std::sync::atomic::{AtomicUsize, Ordering};

use ibet_console::app::ClusterAddr;
use ibet_console::app::release::read_revisions;
use ibet_console::backend::sim::Fault;
use ibet_console::backend::{BackendResult, EcsApi, ServiceUpdate};
use ibet_console::model::ecs::{ClusterSnapshot, TaskDefinition};
use ibet_console::ops::Op;
use ibet_console::ops::release::RolloutPhase;
use ibet_console::world::Observation;

/// The demo world's ECS, counting the `UpdateService` calls that go through it.
struct CountingEcs {
    inner: Arc<dyn EcsApi>,
    updates: AtomicUsize,
}

#[async_trait::async_trait]
impl EcsApi for CountingEcs {
    async fn snapshot(&self, cluster: &str) -> BackendResult<ClusterSnapshot> {
        self.inner.snapshot(cluster).await
    }
    async fn task_definition(&self, arn: &str) -> BackendResult<TaskDefinition> {
        self.inner.task_definition(arn).await
    }
    async fn task_definition_revisions(&self, family: &str) -> BackendResult<Vec<String>> {
        self.inner.task_definition_revisions(family).await
    }
    async fn stop_task(&self, cluster: &str, task: &str, reason: &str) -> BackendResult<()> {
        self.inner.stop_task(cluster, task, reason).await
    }
    async fn update_service(
        &self,
        cluster: &str,
        service: &str,
        update: &ServiceUpdate,
    ) -> BackendResult<()> {
        self.updates.fetch_add(1, Ordering::SeqCst);
        self.inner.update_service(cluster, service, update).await
    }
}

/// The demo world with the TUI's state, an executor, and ECS calls counted.
struct Release {
    rt: tokio::runtime::Runtime,
    session: Session,
    clock: Arc<ibet_console::clock::ManualClock>,
    state: State,
    executor: Executor,
    ecs: Arc<CountingEcs>,
    write: bool,
    dir: tempfile::TempDir,
}

impl Release {
    fn new(write: bool) -> Self {
        let (rt, session, clock, state, executor, dir) = setup();
        let ecs = Arc::new(CountingEcs {
            inner: Arc::clone(&session.backends[1].ecs),
            updates: AtomicUsize::new(0),
        });
        Self {
            rt,
            session,
            clock,
            state,
            executor,
            ecs,
            write,
            dir,
        }
    }

    fn ctx(&self, env: usize) -> OpContext {
        let mut c = ctx(&self.session, env, self.write);
        if env == 1 {
            c.backends.ecs = self.ecs.clone();
        }
        c
    }

    fn updates(&self) -> usize {
        self.ecs.updates.load(Ordering::SeqCst)
    }

    /// Selects `service` on the overview of environment `env` (0 production, 1 staging).
    fn select(&mut self, env: usize, service: &str) {
        update(
            &mut self.state,
            key(KeyCode::Char(if env == 0 { '1' } else { '2' })),
        );
        let row = self
            .state
            .visible_services()
            .iter()
            .position(|s| s.name == service)
            .expect("service listed");
        for _ in 0..row {
            update(&mut self.state, key(KeyCode::Down));
        }
    }

    /// Presses a key and does what the event loop would do with the effects.
    fn press(&mut self, code: KeyCode) {
        let effects = update(&mut self.state, key(code));
        self.run(effects);
    }

    fn run(&mut self, effects: Vec<Effect>) {
        let mut queue: std::collections::VecDeque<Effect> = effects.into();
        while let Some(effect) = queue.pop_front() {
            match effect {
                Effect::LoadRevisions {
                    at,
                    service,
                    current,
                } => {
                    let ecs = self.ctx(at.env).backends.ecs;
                    let result = self.rt.block_on(read_revisions(ecs.as_ref(), &current));
                    queue.extend(update(
                        &mut self.state,
                        Msg::Revisions {
                            at,
                            service,
                            result,
                        },
                    ));
                }
                Effect::PlanOp { env, op } => {
                    let plan = self
                        .rt
                        .block_on(ibet_console::ops::plan(&op, &self.ctx(env)));
                    queue.extend(update(&mut self.state, Msg::PlanReady(Box::new(plan))));
                }
                Effect::ExecuteOp {
                    env,
                    plan,
                    approval,
                } => {
                    let report =
                        self.rt
                            .block_on(self.executor.execute(&plan, &approval, &self.ctx(env)));
                    queue.extend(update(&mut self.state, Msg::OpDone(Box::new(report))));
                }
                _ => {}
            }
        }
    }

    /// Advances the clock a second and polls staging/node-api, as the poller would.
    fn tick_and_poll(&mut self) {
        self.clock.advance(1_000);
        let at = ClusterAddr { env: 1, cluster: 0 };
        let result = self
            .rt
            .block_on(self.session.backends[1].ecs.snapshot("ibet-stg-node-api"));
        let when = self.session.clock.now_ms();
        update(&mut self.state, Msg::Tick(when));
        update(
            &mut self.state,
            Msg::Observed(Observation::Ecs { at, result, when }),
        );
    }

    fn phase(&self) -> Option<RolloutPhase> {
        self.state
            .dialog()
            .and_then(|d| d.rollout.as_ref())
            .map(|w| w.phase)
    }

    /// Polls until the watched rollout leaves `in progress` (at most `secs` seconds).
    fn watch(&mut self, secs: u32) -> Option<RolloutPhase> {
        for _ in 0..secs {
            self.tick_and_poll();
            if self.phase() != Some(RolloutPhase::InProgress) {
                break;
            }
        }
        self.phase()
    }

    fn audit_lines(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("audit.jsonl"))
            .map_or(0, |t| t.lines().count())
    }
}

#[test]
fn release_picker_diff_confirm_once_and_rollout_completes() {
    let mut r = Release::new(false);
    r.select(1, "api");
    r.press(KeyCode::Char('u'));
    let picker = r.state.picker().expect("picker open");
    let chosen = picker.chosen().expect("revisions read");
    assert!(
        chosen.containers[0].image.ends_with(":v24.9.0"),
        "the newest revision is chosen first: {}",
        chosen.arn
    );
    let dsn = chosen.containers[0]
        .environment
        .iter()
        .find(|(k, _)| k == "SENTRY_DSN")
        .map(|(_, v)| v.clone())
        .expect("the new revision has a DSN");
    let running = picker.current.clone();
    let target = chosen.arn.clone();
    for (w, h) in [(80, 24), (160, 48)] {
        let shown = screen(&mut r.state, w, h);
        assert!(shown.contains("+ api env SENTRY_DSN=****"), "{shown}");
        assert!(shown.contains("● running"), "{shown}");
        assert!(!shown.contains(&dsn[8..20]), "the DSN leaked:\n{shown}");
    }
    // ↑↓ move the diff to another revision; the running one has nothing to change.
    r.press(KeyCode::Down);
    assert!(screen(&mut r.state, 160, 48).contains("This is the running revision"));
    r.press(KeyCode::Enter);
    assert!(
        r.state.dialog().is_none(),
        "the running revision is no release"
    );
    r.press(KeyCode::Up);

    r.press(KeyCode::Enter);
    assert!(r.state.picker().is_none());
    let plan = r
        .state
        .dialog()
        .and_then(|d| d.plan.as_ref())
        .expect("plan");
    assert!(matches!(plan.op, Op::Release { .. }), "{:?}", plan.op);
    assert_eq!(plan.readiness, Readiness::Ready, "{:?}", plan.checks);
    assert!(screen(&mut r.state, 160, 48).contains("Diff (secret values masked)"));
    assert_eq!(r.updates(), 0, "nothing runs before the confirmation");

    r.press(KeyCode::Char('y'));
    assert_eq!(r.updates(), 1, "one UpdateService");
    let Some(Stage::Done(report)) = r.state.dialog().map(|d| d.stage.clone()) else {
        panic!("not done");
    };
    assert_eq!(report.outcome, Outcome::Ok, "{report:?}");
    assert_eq!(r.audit_lines(), 2, "audited before and after");
    // Keys on the rollout view never run the op again.
    r.press(KeyCode::Char('y'));
    r.press(KeyCode::Char('b'));
    assert_eq!(r.updates(), 1);
    assert!(r.state.dialog().is_some_and(|d| d.rollout.is_some()));

    r.tick_and_poll();
    let rolling = screen(&mut r.state, 80, 24);
    assert!(rolling.contains("IN PROGRESS"), "{rolling}");
    assert!(rolling.contains("PRIMARY"), "{rolling}");
    assert_eq!(r.watch(60), Some(RolloutPhase::Completed));
    let done = screen(&mut r.state, 160, 48);
    assert!(done.contains("COMPLETED"), "{done}");
    assert!(!done.contains("roll back to"), "{done}");
    let now_running = &r.state.selected_service().expect("api").task_definition;
    assert_eq!(now_running, &target);
    assert_ne!(now_running, &running);
    // Esc closes the view; nothing else runs.
    r.press(KeyCode::Esc);
    assert!(r.state.dialog().is_none());
    assert_eq!(r.updates(), 1);
    assert_eq!(r.audit_lines(), 2);
}

#[test]
fn a_failed_rollout_offers_the_one_step_rollback() {
    let mut r = Release::new(false);
    r.session
        .world
        .as_ref()
        .expect("demo world")
        .inject(
            "staging",
            Fault::ReleaseFails {
                cluster: "node-api".into(),
                service: "api".into(),
                secs: 900,
            },
        )
        .expect("inject");
    r.select(1, "api");
    let running = r
        .state
        .selected_service()
        .expect("api")
        .task_definition
        .clone();
    r.press(KeyCode::Char('u'));
    r.press(KeyCode::Enter);
    r.press(KeyCode::Char('y'));
    assert_eq!(r.updates(), 1);
    assert_eq!(r.watch(90), Some(RolloutPhase::Failed));
    let failed = screen(&mut r.state, 80, 24);
    assert!(failed.contains("FAILED"), "{failed}");
    assert!(failed.contains("roll back to"), "{failed}");

    r.press(KeyCode::Char('b'));
    let dialog = r.state.dialog().expect("rollback dialog");
    assert_eq!(
        dialog.op,
        Op::Rollback {
            env: "staging".into(),
            cluster: "node-api".into(),
            service: "api".into(),
            to_task_definition: running.clone(),
        }
    );
    assert!(dialog.rollout.is_none(), "the rollback is confirmed first");
    assert_eq!(r.updates(), 1, "nothing ran yet");
    r.press(KeyCode::Char('y'));
    assert_eq!(r.updates(), 2);
    assert_eq!(r.audit_lines(), 4);
    assert_eq!(r.watch(60), Some(RolloutPhase::Completed));
    assert_eq!(
        r.state.selected_service().expect("api").task_definition,
        running
    );
}

#[test]
fn b_goes_straight_to_the_rollback_confirmation() {
    let mut r = Release::new(false);
    r.select(1, "api");
    let running = r
        .state
        .selected_service()
        .expect("api")
        .task_definition
        .clone();
    r.press(KeyCode::Char('b'));
    assert!(r.state.picker().is_none());
    let dialog = r.state.dialog().expect("dialog");
    let Op::Rollback {
        to_task_definition, ..
    } = &dialog.op
    else {
        panic!("{:?}", dialog.op);
    };
    let revision = |arn: &str| -> u32 {
        arn.rsplit(':')
            .next()
            .and_then(|r| r.parse().ok())
            .expect("revision")
    };
    assert_eq!(revision(to_task_definition) + 1, revision(&running));
    r.press(KeyCode::Esc);
    assert!(r.state.dialog().is_none());
    assert_eq!(r.updates(), 0);
}

#[test]
fn a_release_in_read_only_production_is_refused_with_the_reason() {
    let mut r = Release::new(false);
    r.select(0, "api");
    r.press(KeyCode::Char('u'));
    let shown = screen(&mut r.state, 80, 24);
    assert!(shown.contains("production is read-only"), "{shown}");
    r.press(KeyCode::Enter);
    let plan = r
        .state
        .dialog()
        .and_then(|d| d.plan.as_ref())
        .expect("plan");
    assert_eq!(plan.readiness, Readiness::Blocked);
    let shown = screen(&mut r.state, 120, 40);
    assert!(
        shown.contains("Cannot run: write_access: read-only"),
        "{shown}"
    );
    r.press(KeyCode::Char('y'));
    assert!(
        r.state.dialog().is_some_and(|d| d.stage == Stage::Review),
        "y does nothing on a blocked plan"
    );
    assert_eq!(r.audit_lines(), 0);
}
