//! The real event loop, driven as an operator would drive it: keys in, paused time, the
//! screen read back from a terminal emulator. Pollers, the effect runner (plans, the
//! sync gate's poller, the executor with its audit log, log tails, saving) and the frame
//! writer are the console's own; nothing here stands in for them.

use crate::support::driver::{Operator, run_console};
use crate::support::screen::demo_session;

use std::path::Path;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyModifiers};
use ibet_console::app::dialog::Stage;
use ibet_console::ops::Outcome;
use ibet_console::session::Session;

/// A demo session whose actions are audited to `audit`.
fn session_audited_to(audit: &Path) -> (Session, std::sync::Arc<ibet_console::clock::ManualClock>) {
    let (mut session, clock) = demo_session(3, 60);
    session.config.audit_log = Some(audit.to_path_buf());
    (session, clock)
}

fn audit_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// Staging's switch dialog, with its sync gate open.
async fn staging_switch_ready(op: &Operator) {
    op.wait_for("completed", 5).await;
    op.press(KeyCode::Tab).await;
    op.wait_for("staging", 5).await;
    op.press(KeyCode::Char('s')).await;
    op.wait_for("sync gate: open", 30).await;
}

#[test]
fn a_switch_confirmed_once_runs_once_audited_before_and_after() {
    let dir = tempfile::tempdir().expect("tmp");
    let audit = dir.path().join("audit.jsonl");
    let (session, clock) = session_audited_to(&audit);
    let (state, screen) = run_console(&session, clock, false, (120, 40), |op| async move {
        staging_switch_ready(&op).await;
        op.press(KeyCode::Char('y')).await;
        let done = op.wait_for("ok:", 30).await;
        assert!(done.contains("Enter close"), "{done}");
        // The dialog says how things stand after the switch, as read since, not the
        // checks from before it.
        let to = done
            .split("switch the internal ALB of staging/node-api to ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("the title names the node")
            .to_owned();
        let after = op.wait_for("Now: the internal ALB forwards to", 10).await;
        assert!(
            after.contains(&format!("Now: the internal ALB forwards to {to}")),
            "{after}"
        );
        assert!(after.contains("Checked before:"), "{after}");
        assert!(!after.contains("sync gate: open"), "{after}");
        // The dialog stays until closed; the loop refreshed what changed.
        op.pass(Duration::from_secs(2)).await;
        op.press(KeyCode::Enter).await;
        op.press(KeyCode::Char('q')).await;
    });
    assert!(state.quit, "q ended the loop");
    assert!(state.dialog().is_none(), "{screen}");
    assert_eq!(audit_lines(&audit), 2, "one op: before and after");
}

#[test]
fn n_on_the_dialog_runs_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let audit = dir.path().join("audit.jsonl");
    let (session, clock) = session_audited_to(&audit);
    let (state, _) = run_console(&session, clock, false, (120, 40), |op| async move {
        staging_switch_ready(&op).await;
        op.press(KeyCode::Char('n')).await;
        op.pass(Duration::from_secs(3)).await;
        assert!(!op.screen().contains("sync gate"), "{}", op.screen());
    });
    assert!(state.dialog().is_none());
    assert!(!audit.exists(), "nothing audited, nothing run");
}

#[test]
fn the_op_runner_refuses_when_the_audit_log_cannot_be_written() {
    let dir = tempfile::tempdir().expect("tmp");
    // A file where the audit log's folder should be: nothing can be written there.
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "").expect("file");
    let audit = blocker.join("audit.jsonl");
    let (session, clock) = session_audited_to(&audit);
    let before = {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let sw = session.config.environments[1].clusters[0]
            .alb_switch
            .clone()
            .expect("staging node-api has a switch");
        let elb = session.backends[1].elb.clone();
        move || {
            rt.block_on(elb.read_switch(&sw))
                .expect("switch")
                .active()
                .map(str::to_owned)
        }
    };
    let active = before();
    let (state, screen) = run_console(&session, clock, false, (120, 40), |op| async move {
        staging_switch_ready(&op).await;
        op.press(KeyCode::Char('y')).await;
        op.wait_for("Enter close", 30).await;
    });
    let Some(Stage::Done(report)) = state.dialog().map(|d| d.stage.clone()) else {
        panic!("the op did not end:\n{screen}");
    };
    assert_ne!(report.outcome, Outcome::Ok, "{report:?}");
    assert!(
        report.hint.as_deref().is_some_and(|h| h.contains("audit")),
        "{report:?}"
    );
    assert_eq!(before(), active, "the ALB was not switched");
    assert!(!audit.exists());
}

#[test]
fn logs_follow_then_save_to_a_file_off_the_loop() {
    let dir = tempfile::tempdir().expect("tmp");
    let saved = dir.path().join("api.log");
    let (session, clock) = demo_session(7, 120);
    let target = saved.clone();
    let (state, _) = run_console(&session, clock, false, (160, 48), |op| async move {
        op.wait_for("completed", 5).await;
        op.press(KeyCode::Char('l')).await;
        op.wait_for("following", 10).await;
        op.pass(Duration::from_secs(5)).await;
        op.press(KeyCode::Char('S')).await;
        // Clear the suggested path, then type ours.
        op.press_with(KeyCode::Char('u'), KeyModifiers::CONTROL)
            .await;
        op.type_text(&target.display().to_string()).await;
        op.press(KeyCode::Enter).await;
        let shown = op.wait_for("saved ", 10).await;
        assert!(shown.contains("lines to"), "{shown}");
        // Esc leaves the log view, and its tail stops.
        op.press(KeyCode::Esc).await;
        op.wait_for("Services", 5).await;
    });
    assert!(!state.quit);
    let text = std::fs::read_to_string(&saved).expect("saved");
    assert!(text.lines().count() > 10, "{text}");
}

#[test]
fn ctrl_l_repaints_and_the_help_reads_the_key_table() {
    let (session, clock) = demo_session(7, 120);
    let (_, screen) = run_console(&session, clock, false, (80, 24), |op| async move {
        op.wait_for("completed", 5).await;
        op.scribble(b"\x1b[2J\x1b[5;5HBroadcast message from root");
        op.pass(Duration::from_secs(3)).await;
        assert!(op.screen().contains("Broadcast"), "{}", op.screen());
        op.press_with(KeyCode::Char('l'), KeyModifiers::CONTROL)
            .await;
        let shown = op.screen();
        assert!(!shown.contains("Broadcast"), "{shown}");
        assert!(
            shown.contains("ibet-console") && shown.contains("completed"),
            "{shown}"
        );
        assert!(shown.contains("q quit"), "{shown}");
        op.press(KeyCode::Char('?')).await;
        op.wait_for("repaint the whole screen", 2).await;
        op.press(KeyCode::Esc).await;
    });
    assert!(!screen.contains("Keys"), "{screen}");
}

#[test]
fn a_y_pressed_before_the_gate_holds_runs_the_switch_when_it_does_without_a_second_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let audit = dir.path().join("audit.jsonl");
    let (session, clock) = session_audited_to(&audit);
    let (state, _) = run_console(&session, clock, false, (120, 40), |op| async move {
        op.wait_for("completed", 5).await;
        op.press(KeyCode::Tab).await;
        op.wait_for("staging", 5).await;
        op.press(KeyCode::Char('s')).await;
        // The gate counts its passing polls (three are needed).
        let counting = op.wait_for("passing polls in a row so far", 5).await;
        assert!(!counting.contains("y confirm"), "{counting}");
        op.press_briefly(KeyCode::Char('y')).await;
        let armed = op.screen();
        assert!(
            armed.contains("Confirmed: the switch runs as soon as the sync gate holds"),
            "{armed}"
        );
        let done = op.wait_for("ok:", 30).await;
        assert!(done.contains("Enter close"), "{done}");
    });
    assert!(state.dialog().is_some());
    assert_eq!(audit_lines(&audit), 2, "one switch: before and after");
}

/// The demo's ECS, as a remote endpoint answers a first look: the services at once,
/// the whole snapshot (tasks, task definitions) a second later.
struct ServicesFirst(std::sync::Arc<dyn ibet_console::backend::EcsApi>);

#[async_trait::async_trait]
impl ibet_console::backend::EcsApi for ServicesFirst {
    async fn snapshot(
        &self,
        cluster: &str,
    ) -> ibet_console::backend::BackendResult<ibet_console::model::ecs::ClusterSnapshot> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        self.0.snapshot(cluster).await
    }
    async fn services_only(
        &self,
        cluster: &str,
    ) -> ibet_console::backend::BackendResult<Option<ibet_console::model::ecs::ClusterSnapshot>>
    {
        let mut whole = self.0.snapshot(cluster).await?;
        whole.tasks.clear();
        whole.task_definitions.clear();
        Ok(Some(whole))
    }
    async fn task_definition(
        &self,
        arn: &str,
    ) -> ibet_console::backend::BackendResult<ibet_console::model::ecs::TaskDefinition> {
        self.0.task_definition(arn).await
    }
    async fn task_definition_revisions(
        &self,
        family: &str,
    ) -> ibet_console::backend::BackendResult<Vec<String>> {
        self.0.task_definition_revisions(family).await
    }
    async fn stop_task(
        &self,
        cluster: &str,
        task: &str,
        reason: &str,
    ) -> ibet_console::backend::BackendResult<()> {
        self.0.stop_task(cluster, task, reason).await
    }
    async fn update_service(
        &self,
        cluster: &str,
        service: &str,
        update: &ibet_console::backend::ServiceUpdate,
    ) -> ibet_console::backend::BackendResult<()> {
        self.0.update_service(cluster, service, update).await
    }
}

#[test]
fn the_first_look_at_the_services_is_drawn_without_waiting_for_the_frame_rhythm() {
    let (mut session, clock) = crate::support::screen::demo_session(3, 60);
    for be in &mut session.backends {
        be.ecs = std::sync::Arc::new(ServicesFirst(std::sync::Arc::clone(&be.ecs)));
    }
    let (_, screen) = run_console(&session, clock, false, (120, 40), |op| async move {
        // Well inside one frame interval (50 ms) after the first frame.
        op.pass(Duration::from_millis(10)).await;
        let shown = op.screen();
        assert!(shown.contains("nginx-proxy"), "{shown}");
        op.press(KeyCode::Char('q')).await;
    });
    assert!(screen.contains("nginx-proxy"), "{screen}");
}

/// The demo's nodes, each poll answering 10 ms after it was asked.
struct AnswersAfter10ms(std::sync::Arc<dyn ibet_console::backend::RpcApi>);

#[async_trait::async_trait]
impl ibet_console::backend::RpcApi for AnswersAfter10ms {
    async fn sample(
        &self,
        node: &ibet_console::config::QuorumNode,
        first: bool,
    ) -> ibet_console::model::quorum::NodeSample {
        tokio::time::sleep(Duration::from_millis(10)).await;
        self.0.sample(node, first).await
    }
    async fn block_hash_at(
        &self,
        node: &ibet_console::config::QuorumNode,
        height: u64,
    ) -> ibet_console::backend::BackendResult<Option<String>> {
        self.0.block_hash_at(node, height).await
    }
}

#[test]
fn the_first_poll_of_a_node_on_screen_is_drawn_without_waiting_for_the_frame_rhythm() {
    let (mut session, clock) = crate::support::screen::demo_session(3, 60);
    for be in &mut session.backends {
        be.ecs = std::sync::Arc::new(ServicesFirst(std::sync::Arc::clone(&be.ecs)));
        be.rpc = std::sync::Arc::new(AnswersAfter10ms(std::sync::Arc::clone(&be.rpc)));
    }
    let (_, screen) = run_console(&session, clock, false, (120, 40), |op| async move {
        // The services are drawn at once; the nodes, polled once they are in, answer
        // 10 ms later, well inside the frame interval (50 ms) that followed.
        op.pass(Duration::from_millis(5)).await;
        let before = op.screen();
        assert!(before.contains("nginx-proxy"), "{before}");
        assert!(!before.contains("synced"), "{before}");
        op.pass(Duration::from_millis(15)).await;
        let shown = op.screen();
        assert!(shown.contains("synced"), "{shown}");
        op.press(KeyCode::Char('q')).await;
    });
    assert!(screen.contains("synced"), "{screen}");
}
