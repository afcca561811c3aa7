//! The TUI's actions through the real event loop against the demo world: keys open the
//! dialog, the ops layer plans and executes, the dialog shows the outcome, and the
//! screen is read back as an operator reads it. The yes path, the no path and the
//! read-only refusal are tested separately (the switch's yes and no paths are in
//! `tui_loop`). The release flow too: the revision picker and its masked diff, one
//! `UpdateService` per confirmation, the rollout followed to its end by the pollers, and
//! the one-step rollback of a rollout that failed (the demo world's `ReleaseFails`
//! fault).

use crate::support::driver::{Operator, run_console};
use crate::support::screen::demo_session;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crossterm::event::KeyCode;
use ibet_console::app::release::read_revisions;
use ibet_console::backend::sim::Fault;
use ibet_console::backend::{BackendResult, EcsApi, ServiceUpdate};
use ibet_console::clock::{Clock, ManualClock};
use ibet_console::model::ecs::{ClusterSnapshot, TaskDefinition, task_definition_revision};
use ibet_console::session::Session;

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

/// The demo world with staging's ECS calls counted and the actions audited to a file of
/// the test's own.
struct World {
    session: Session,
    clock: Arc<ManualClock>,
    ecs: Arc<CountingEcs>,
    audit: PathBuf,
    _dir: tempfile::TempDir,
}

impl World {
    fn new() -> Self {
        let (mut session, clock) = demo_session(3, 60);
        let dir = tempfile::tempdir().expect("tmp");
        let audit = dir.path().join("audit.jsonl");
        session.config.audit_log = Some(audit.clone());
        let ecs = Arc::new(CountingEcs {
            inner: Arc::clone(&session.backends[1].ecs),
            updates: AtomicUsize::new(0),
        });
        session.backends[1].ecs = ecs.clone();
        Self {
            session,
            clock,
            ecs,
            audit,
            _dir: dir,
        }
    }

    fn updates(&self) -> usize {
        self.ecs.updates.load(Ordering::SeqCst)
    }

    fn audit_lines(&self) -> usize {
        audit_lines(&self.audit)
    }

    /// What staging's `api` runs now, read from the demo world.
    fn staging_api_runs(&self) -> String {
        block_on(self.session.backends[1].ecs.snapshot("ibet-stg-node-api"))
            .expect("snapshot")
            .services
            .iter()
            .find(|s| s.name == "api")
            .expect("api")
            .task_definition
            .clone()
    }

    /// Runs the console at `size` with `script` as the operator.
    fn run<F, Fut>(&self, write: bool, size: (u16, u16), script: F) -> String
    where
        F: FnOnce(Operator) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        run_console(&self.session, Arc::clone(&self.clock), write, size, script).1
    }
}

fn audit_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

#[test]
fn production_is_read_only_without_write() {
    let w = World::new();
    w.run(false, (120, 40), |op| async move {
        op.wait_for("completed", 5).await;
        op.press(KeyCode::Char('s')).await;
        op.wait_for("Cannot run", 10).await;
        op.press(KeyCode::Char('y')).await;
        op.pass(Duration::from_secs(3)).await;
        let shown = op.screen();
        assert!(shown.contains("Cannot run"), "y does nothing:\n{shown}");
    });
    assert_eq!(w.audit_lines(), 0);
}

#[test]
fn production_with_write_needs_the_typed_name() {
    let w = World::new();
    w.run(true, (120, 40), |op| async move {
        op.wait_for("completed", 5).await;
        op.press(KeyCode::Char('s')).await;
        op.wait_for("confirm (then type the environment name)", 30)
            .await;
        op.press(KeyCode::Char('y')).await;
        op.wait_for("Type the environment name to confirm", 2).await;
        op.type_text("staging").await;
        op.press(KeyCode::Enter).await;
        let done = op.wait_for("refused:", 10).await;
        assert!(done.contains("Enter close"), "{done}");
    });
    assert_eq!(w.audit_lines(), 1, "the refusal is audited");
}

#[test]
fn release_picker_diff_confirm_once_and_rollout_completes() {
    let w = World::new();
    let running = w.staging_api_runs();
    let revisions =
        block_on(read_revisions(w.session.backends[1].ecs.as_ref(), &running)).expect("revisions");
    let newest = revisions[0].clone();
    assert!(
        newest.containers[0].image.ends_with(":v24.9.0"),
        "the newest revision is chosen first: {}",
        newest.arn
    );
    let dsn = newest.containers[0]
        .environment
        .iter()
        .find(|(k, _)| k == "SENTRY_DSN")
        .map(|(_, v)| v.clone())
        .expect("the new revision has a DSN");
    let ecs = Arc::clone(&w.ecs);
    let audit = w.audit.clone();
    w.run(false, (160, 48), |op| async move {
        op.wait_for("completed", 5).await;
        op.press(KeyCode::Char('2')).await;
        op.wait_for("ibet-stg-node-api", 5).await;
        op.press(KeyCode::Char('u')).await;
        let shown = op.wait_for("+ api env SENTRY_DSN=****", 5).await;
        assert!(shown.contains("● running"), "{shown}");
        assert!(!shown.contains(&dsn[8..20]), "the DSN leaked:\n{shown}");
        // ↑↓ move the diff to another revision; the running one has nothing to change.
        op.press(KeyCode::Down).await;
        op.wait_for("This is the running revision", 2).await;
        op.press(KeyCode::Enter).await;
        assert!(
            op.screen().contains("This is the running revision"),
            "the running revision is no release"
        );
        op.press(KeyCode::Up).await;
        op.press(KeyCode::Enter).await;
        op.wait_for("Diff (secret values masked)", 10).await;
        assert_eq!(
            ecs.updates.load(Ordering::SeqCst),
            0,
            "nothing runs before y"
        );
        op.press(KeyCode::Char('y')).await;
        op.wait_for("PRIMARY", 10).await;
        assert_eq!(ecs.updates.load(Ordering::SeqCst), 1, "one UpdateService");
        assert_eq!(audit_lines(&audit), 2, "audited before and after");
        // Keys on the rollout view never run the op again.
        op.press(KeyCode::Char('y')).await;
        op.press(KeyCode::Char('b')).await;
        assert_eq!(ecs.updates.load(Ordering::SeqCst), 1);
        let done = op.wait_for("COMPLETED", 120).await;
        assert!(!done.contains("roll back to"), "{done}");
        // Esc closes the view; nothing else runs.
        op.press(KeyCode::Esc).await;
        op.pass(Duration::from_secs(2)).await;
        assert!(!op.screen().contains("COMPLETED"), "{}", op.screen());
    });
    assert_eq!(w.updates(), 1);
    assert_eq!(w.audit_lines(), 2);
    assert_eq!(w.staging_api_runs(), newest.arn);
}

#[test]
fn a_failed_rollout_offers_the_one_step_rollback() {
    let w = World::new();
    w.session
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
    let running = w.staging_api_runs();
    let ecs = Arc::clone(&w.ecs);
    let back_to = format!(
        "roll staging/node-api/api back to {}",
        running
            .rsplit_once('/')
            .map_or(running.as_str(), |(_, s)| s)
    );
    w.run(false, (160, 48), |op| async move {
        op.wait_for("completed", 5).await;
        op.press(KeyCode::Char('2')).await;
        op.wait_for("ibet-stg-node-api", 5).await;
        op.press(KeyCode::Char('u')).await;
        op.wait_for("● running", 5).await;
        op.press(KeyCode::Enter).await;
        op.wait_for("Diff (secret values masked)", 10).await;
        op.press(KeyCode::Char('y')).await;
        let failed = op.wait_for("FAILED", 180).await;
        assert!(failed.contains("roll back to"), "{failed}");
        assert_eq!(ecs.updates.load(Ordering::SeqCst), 1);
        op.press(KeyCode::Char('b')).await;
        let confirm = op.wait_for(&back_to, 5).await;
        assert!(confirm.contains("confirm"), "confirmed first:\n{confirm}");
        assert_eq!(ecs.updates.load(Ordering::SeqCst), 1, "nothing ran yet");
        op.press(KeyCode::Char('y')).await;
        op.wait_for("COMPLETED", 120).await;
    });
    assert_eq!(w.updates(), 2);
    assert_eq!(w.audit_lines(), 4);
    assert_eq!(w.staging_api_runs(), running);
}

#[test]
fn b_goes_straight_to_the_rollback_confirmation() {
    let w = World::new();
    let running = w.staging_api_runs();
    let revision = task_definition_revision(&running).expect("revision");
    let family = running
        .rsplit_once('/')
        .and_then(|(_, s)| s.rsplit_once(':'))
        .map(|(f, _)| f.to_owned())
        .expect("family");
    let back_to = format!(
        "roll staging/node-api/api back to {family}:{}",
        revision - 1
    );
    w.run(false, (160, 48), |op| async move {
        op.wait_for("completed", 5).await;
        op.press(KeyCode::Char('2')).await;
        op.wait_for("ibet-stg-node-api", 5).await;
        op.press(KeyCode::Char('b')).await;
        let shown = op.wait_for(&back_to, 5).await;
        assert!(!shown.contains("● running"), "no picker:\n{shown}");
        op.press(KeyCode::Esc).await;
        op.pass(Duration::from_secs(1)).await;
        assert!(!op.screen().contains(&back_to), "{}", op.screen());
    });
    assert_eq!(w.updates(), 0);
}

#[test]
fn a_release_in_read_only_production_is_refused_with_the_reason() {
    let w = World::new();
    w.run(false, (120, 40), |op| async move {
        op.wait_for("completed", 5).await;
        op.press(KeyCode::Char('u')).await;
        op.wait_for("production is read-only", 5).await;
        op.press(KeyCode::Enter).await;
        op.wait_for("Cannot run: write_access: read-only", 10).await;
        op.press(KeyCode::Char('y')).await;
        op.pass(Duration::from_secs(2)).await;
        assert!(
            op.screen().contains("Cannot run: write_access: read-only"),
            "y does nothing on a blocked plan"
        );
    });
    assert_eq!(w.audit_lines(), 0);
}

#[test]
fn another_operators_action_appears_in_recent_actions_marked_as_theirs() {
    let w = World::new();
    let logs = Arc::clone(&w.session.backends[1].logs);
    let clock = Arc::clone(&w.clock);
    let shown = w.run(true, (160, 48), |op| async move {
        op.wait_for("completed", 5).await;
        // Bob, on another bastion, restarts api: his console writes the line to the group.
        let line = serde_json::json!({
            "id": "bastion-2-1-4242-1-after",
            "time": ibet_console::clock::iso_utc(clock.now_ms()),
            "run": "1-4242-1",
            "phase": "after",
            "os_user": "bob",
            "host": "bastion-2",
            "aws_caller": null,
            "environment": "staging",
            "op": {"kind": "force_deploy", "env": "staging", "cluster": "node-api", "service": "api"},
            "target": "api",
            "outcome": "ok"
        });
        logs.put_lines(
            ibet_console::backend::sim::DEMO_AUDIT_GROUP,
            "bastion-2/bob",
            &[(clock.now_ms(), line.to_string())],
        )
        .await
        .expect("put");
        // Within a quiet tail's poll, on the screen of this console.
        op.pass(Duration::from_secs(13)).await;
    });
    assert!(shown.contains("bob@bastion-2"), "{shown}");
    assert!(shown.contains("theirs"), "{shown}");
    assert!(
        shown.contains("force a new deployment of staging/node-api/api"),
        "{shown}"
    );
}

#[test]
fn a_lock_held_by_another_console_shows_in_the_header_and_on_the_service_row() {
    let w = World::new();
    let now = w.clock.now_ms() / 1000;
    w.session.world.as_ref().expect("demo world").locks().put(
        ibet_console::backend::lock::LockRecord {
            lock_id: "staging/node-api/api".into(),
            owner: "carol@bastion-3".into(),
            caller_arn: "arn:aws:sts::123456789012:assumed-role/ops/carol".into(),
            action: "release api → ibet-api:43".into(),
            since: now - 40,
            expires_at: now + 80,
            token: "carol-run".into(),
        },
    );
    // 200 columns: LAST EVENT keeps its room beside the CPU and memory sparklines.
    let shown = w.run(false, (200, 50), |op| async move {
        op.wait_for("completed", 5).await;
        op.press(KeyCode::Char('2')).await;
        op.wait_for("api (locked)", 5).await;
    });
    // In the header, and on the row (the name, then whose in LAST EVENT).
    assert!(
        shown.contains(" carol@bastion-3: release api → ibet-api:43, since 40s ago"),
        "{shown}"
    );
    assert!(
        shown.contains("api (locked)") && shown.contains("locked by carol@bastion-3: release api"),
        "{shown}"
    );
}

/// Counts what an idle console asks of the team's AWS: lock lists and audit group reads.
struct CountingTeam {
    logs: Arc<dyn ibet_console::backend::LogsApi>,
    locks: Arc<dyn ibet_console::backend::lock::LockStore>,
    group_reads: AtomicUsize,
    lock_lists: AtomicUsize,
}

#[async_trait::async_trait]
impl ibet_console::backend::LogsApi for CountingTeam {
    async fn filter(
        &self,
        query: &ibet_console::model::logs::LogQuery,
    ) -> BackendResult<ibet_console::model::logs::LogPage> {
        if query.group == ibet_console::backend::sim::DEMO_AUDIT_GROUP {
            self.group_reads.fetch_add(1, Ordering::SeqCst);
        }
        self.logs.filter(query).await
    }
}

#[async_trait::async_trait]
impl ibet_console::backend::lock::LockStore for CountingTeam {
    fn place(&self) -> String {
        self.locks.place()
    }
    fn shared(&self) -> bool {
        true
    }
    async fn acquire(
        &self,
        r: &ibet_console::backend::lock::LockRecord,
        now: i64,
    ) -> Result<(), ibet_console::backend::lock::LockError> {
        self.locks.acquire(r, now).await
    }
    async fn renew(
        &self,
        r: &ibet_console::backend::lock::LockRecord,
        at: i64,
    ) -> Result<(), ibet_console::backend::lock::LockError> {
        self.locks.renew(r, at).await
    }
    async fn release(
        &self,
        r: &ibet_console::backend::lock::LockRecord,
    ) -> Result<(), ibet_console::backend::lock::LockError> {
        self.locks.release(r).await
    }
    async fn list(
        &self,
        prefix: &str,
    ) -> Result<Vec<ibet_console::backend::lock::LockRecord>, ibet_console::backend::lock::LockError>
    {
        self.lock_lists.fetch_add(1, Ordering::SeqCst);
        self.locks.list(prefix).await
    }
    async fn break_lock(
        &self,
        id: &str,
    ) -> Result<
        Option<ibet_console::backend::lock::LockRecord>,
        ibet_console::backend::lock::LockError,
    > {
        self.locks.break_lock(id).await
    }
}

#[test]
fn an_idle_console_asks_the_team_at_most_six_times_a_minute_per_environment() {
    let (mut session, clock) = demo_session(3, 60);
    // One environment: staging, as an operator started with --env staging.
    session.restrict_to_env("staging").expect("staging");
    let team = Arc::new(CountingTeam {
        logs: Arc::clone(&session.backends[0].logs),
        locks: Arc::clone(&session.backends[0].locks),
        group_reads: AtomicUsize::new(0),
        lock_lists: AtomicUsize::new(0),
    });
    session.backends[0].logs = team.clone();
    session.backends[0].locks = team.clone();
    let counted = Arc::clone(&team);
    let per_minute = Arc::new(std::sync::Mutex::new((0, 0)));
    let seen = Arc::clone(&per_minute);
    run_console(&session, clock, false, (120, 40), |op| async move {
        // Settled after the first minutes; then five minutes of nothing.
        op.pass(Duration::from_secs(180)).await;
        let (reads, lists) = (
            counted.group_reads.load(Ordering::SeqCst),
            counted.lock_lists.load(Ordering::SeqCst),
        );
        op.pass(Duration::from_secs(300)).await;
        let reads = counted.group_reads.load(Ordering::SeqCst) - reads;
        let lists = counted.lock_lists.load(Ordering::SeqCst) - lists;
        *seen.lock().expect("seen") = (reads, lists);
    });
    let (reads, lists) = *per_minute.lock().expect("counts");
    eprintln!("idle, five minutes: {reads} audit group reads, {lists} lock lists");
    assert!(
        reads + lists <= 30,
        "{reads} reads + {lists} lists in five minutes"
    );
}

#[test]
fn a_switch_is_refused_before_confirmation_while_another_console_holds_the_lock() {
    let w = World::new();
    let now = w.clock.now_ms() / 1000;
    w.session.world.as_ref().expect("demo world").locks().put(
        ibet_console::backend::lock::LockRecord {
            lock_id: "production/node-api".into(),
            owner: "carol@bastion-3".into(),
            caller_arn: "arn:aws:sts::123456789012:assumed-role/ops/carol".into(),
            action: "switch the internal ALB of production/node-api to general-1".into(),
            since: now - 40,
            expires_at: now + 80,
            token: "carol-run".into(),
        },
    );
    w.run(true, (160, 48), |op| async move {
        op.wait_for("completed", 5).await;
        op.press(KeyCode::Char('s')).await;
        let shown = op.wait_for("Cannot run", 10).await;
        assert!(shown.contains("held by carol@bastion-3"), "{shown}");
        op.press(KeyCode::Char('y')).await;
        op.pass(Duration::from_secs(3)).await;
        assert!(op.screen().contains("Cannot run"), "y does nothing");
    });
    assert_eq!(w.audit_lines(), 0, "nothing was confirmed");
}
