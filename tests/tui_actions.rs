//! The TUI's action dialog driven through `update` against the demo world: keys open
//! the dialog, the ops layer plans and executes, and the dialog shows the outcome.
//! The yes path, the no path and the read-only refusal are tested separately.

#[path = "support/screen.rs"]
mod screen;

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
            .dialog
            .as_ref()
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
    let fx = update(&mut state, key(KeyCode::Char('s')));
    drive(&rt, &mut state, &session, &clock, &executor, false, fx);
    let plan = state
        .dialog
        .as_ref()
        .and_then(|d| d.plan.as_ref())
        .expect("plan");
    assert_eq!(plan.readiness, Readiness::Ready, "{:?}", plan.checks);
    let shown = screen(&state, 120, 40);
    assert!(shown.contains("sync gate: open"), "{shown}");
    let fx = update(&mut state, key(KeyCode::Char('y')));
    drive(&rt, &mut state, &session, &clock, &executor, false, fx);
    let Some(Stage::Done(report)) = state.dialog.as_ref().map(|d| d.stage.clone()) else {
        panic!("not done: {:?}", state.dialog.map(|d| d.stage));
    };
    assert_eq!(report.outcome, Outcome::Ok, "{report:?}");
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("audit");
    assert_eq!(audit.lines().count(), 2, "before and after");
    update(&mut state, key(KeyCode::Enter));
    assert!(state.dialog.is_none());
}

#[test]
fn no_path_changes_nothing() {
    let (rt, session, clock, mut state, executor, dir) = setup();
    update(&mut state, key(KeyCode::Tab));
    let fx = update(&mut state, key(KeyCode::Char('s')));
    drive(&rt, &mut state, &session, &clock, &executor, false, fx);
    let fx = update(&mut state, key(KeyCode::Char('n')));
    assert!(fx.contains(&Effect::GatePolling(None)));
    assert!(state.dialog.is_none());
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
    let plan = state
        .dialog
        .as_ref()
        .and_then(|d| d.plan.as_ref())
        .expect("plan");
    assert_eq!(plan.readiness, Readiness::Blocked);
    let shown = screen(&state, 120, 40);
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
    let plan = state
        .dialog
        .as_ref()
        .and_then(|d| d.plan.as_ref())
        .expect("plan");
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
    let Some(Stage::Done(report)) = state.dialog.as_ref().map(|d| d.stage.clone()) else {
        panic!("not done");
    };
    assert_eq!(
        report.outcome,
        Outcome::Refused,
        "the wrong name is refused"
    );
}
