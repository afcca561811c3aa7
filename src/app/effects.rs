//! The effect runner: what `update` asks for, carried out. Ops (plans, executions, the
//! open dialog's gate poller, the release picker's read of revisions) run in spawned
//! tasks through the ops layer ([`crate::ops`]) and report back as [`Msg`]s; log tails
//! start, restart and stop ([`super::log_tail`]); a log view's save is written off the
//! loop; a refresh asks the pollers to poll now.
//!
//! It decides nothing: every refusal, confirmation and check is the ops layer's or the
//! state's. Replies that must be applied at once (a tail's start) are returned.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::log_tail::{self, LogTails};
use super::msg::{ClusterAddr, Effect, Msg, Observation};
use super::state::State;
use crate::poll::Pollers;
use crate::session::Session;

/// Runs the effects of one console: its pollers, its ops and its log tail.
pub struct Effects {
    pollers: Pollers,
    ops: OpRunner,
    logs: LogTails,
    tx: mpsc::Sender<Msg>,
}

impl std::fmt::Debug for Effects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Effects")
            .field("pollers", &self.pollers)
            .field("logs", &self.logs)
            .finish_non_exhaustive()
    }
}

impl Effects {
    /// The effect runner of `session`; replies go to `tx`, what the pollers see to the
    /// world through `pollers`.
    pub fn new(session: &Session, write: bool, pollers: Pollers, tx: mpsc::Sender<Msg>) -> Self {
        let ops = OpRunner::new(session, write, tx.clone());
        ops.load_recent_actions();
        ops.follow_shared_audit();
        let logs = LogTails::new(
            &session.config,
            &session.backends,
            Arc::clone(&session.clock),
            tx.clone(),
        );
        Self {
            pollers,
            ops,
            logs,
            tx,
        }
    }

    /// The pollers.
    pub fn pollers(&self) -> &Pollers {
        &self.pollers
    }

    /// Carries out `effect`; the message to apply at once, if any.
    pub fn run(&mut self, state: &State, effect: Effect) -> Option<Msg> {
        match effect {
            Effect::Quit | Effect::Repaint => None,
            Effect::RefreshNow => {
                self.pollers.refresh_now();
                None
            }
            Effect::OpenLogs {
                env,
                cluster,
                target,
            } => Some(
                self.logs
                    .open(&state.world, ClusterAddr { env, cluster }, target, None),
            ),
            Effect::RestartLogs { filter } => self.logs.restart(&state.world, filter),
            Effect::SaveLogs(path) => {
                log_tail::save(state, &path, &self.tx);
                None
            }
            Effect::CloseLogs => {
                self.logs.close();
                None
            }
            other => {
                self.ops.handle(other);
                None
            }
        }
    }

    /// After a new ECS snapshot of cluster `at`: the log tail follows tasks that came.
    pub fn on_snapshot(&mut self, state: &State, at: ClusterAddr) -> Option<Msg> {
        self.logs.on_snapshot(&state.world, at)
    }
}

/// Runs the ops layer for the TUI: plans, executions, the open dialog's gate poller and
/// the release picker's read of revisions, each in a spawned task that reports back as a
/// [`Msg`].
pub struct OpRunner {
    contexts: Vec<crate::ops::OpContext>,
    executor: Option<Arc<crate::ops::Executor>>,
    tx: mpsc::Sender<Msg>,
    gate_task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    gate_interval: Duration,
    recent: RecentActions,
}

/// What "Recent actions" is made of: this console's audit file and the lines the
/// team's groups brought, merged and sent to the world.
#[derive(Clone)]
struct RecentActions {
    audit: Option<crate::ops::audit::AuditLog>,
    shared: Arc<std::sync::Mutex<Vec<crate::ops::audit::AuditEntry>>>,
    user: String,
    host: String,
    tx: mpsc::Sender<Msg>,
}

/// Lines shown in "Recent actions".
const RECENT: usize = 8;
/// Lines of the groups kept to merge from.
const SHARED_KEPT: usize = 64;

impl RecentActions {
    /// Reads the file (off the loop), merges the groups' lines, and sends the result.
    async fn publish(&self) {
        let local = match self.audit.clone() {
            Some(audit) => {
                tokio::task::spawn_blocking(move || audit.recent(RECENT).unwrap_or_default())
                    .await
                    .unwrap_or_default()
            }
            None => Vec::new(),
        };
        let shared = self
            .shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let merged =
            crate::ops::shared_audit::merge_recent(local, &shared, &self.user, &self.host, RECENT);
        let _ = self
            .tx
            .send(Msg::Observed(Observation::RecentActions(merged)))
            .await;
    }

    /// Follows `group` with the log tail: every line another console writes there
    /// shows within a poll (a second while lines come, twelve when quiet).
    fn follow(&self, ctx: &crate::ops::OpContext, group: &str) {
        use crate::logs::tail::{Tail, TailConfig, TailEvent};
        let config = TailConfig {
            since: Duration::from_secs(24 * 3600),
            fast_poll: Duration::from_secs(1),
            slow_poll: Duration::from_secs(12),
            ..TailConfig::default()
        };
        let source = crate::logs::LogSource {
            group: group.to_string(),
            stream: None,
            label: Arc::from("audit"),
        };
        let mut handle = Tail::new(Arc::clone(&ctx.backends.logs), Arc::clone(&ctx.clock))
            .with_config(config)
            .spawn(vec![source], 256);
        let recent = self.clone();
        tokio::spawn(async move {
            while let Some(event) = handle.recv().await {
                let TailEvent::Lines(lines) = event else {
                    continue;
                };
                let read =
                    crate::ops::shared_audit::read_lines(lines.iter().map(|l| l.raw.as_str()));
                if read.is_empty() {
                    continue;
                }
                {
                    let mut shared = recent
                        .shared
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    shared.extend(read);
                    shared.sort_by(|a, b| a.time.cmp(&b.time));
                    let extra = shared.len().saturating_sub(SHARED_KEPT);
                    shared.drain(..extra);
                }
                recent.publish().await;
            }
        });
    }
}

impl OpRunner {
    /// The ops of `session`'s environments; `write`: started with `--write`. Replies go
    /// to `tx`.
    pub fn new(session: &Session, write: bool, tx: mpsc::Sender<Msg>) -> Self {
        use crate::ops::audit::{AuditLog, os_user_from_env};
        let contexts = session
            .config
            .environments
            .iter()
            .zip(&session.backends)
            .map(|(environment, backends)| crate::ops::OpContext {
                environment: environment.clone(),
                backends: backends.clone(),
                clock: Arc::clone(&session.clock),
                write,
            })
            .collect();
        // The demo world's actions are audited apart from real ones (unless a log is
        // named: `--audit-log`).
        let audit = if session.is_demo() && session.config.audit_log.is_none() {
            crate::config::data_dir().map(|d| AuditLog::new(d.join("audit-demo.jsonl")))
        } else {
            AuditLog::from_config(&session.config)
        };
        let user = os_user_from_env();
        let executor = audit
            .clone()
            .map(|a| Arc::new(crate::ops::Executor::new(a, user.clone())));
        let recent = RecentActions {
            audit: audit.clone(),
            shared: Arc::default(),
            user,
            host: crate::ops::lock::host_name(),
            tx: tx.clone(),
        };
        Self {
            contexts,
            executor,
            tx,
            gate_task: std::sync::Mutex::new(None),
            gate_interval: Duration::from_secs(session.config.rpc_poll_secs.max(1)),
            recent,
        }
    }

    /// Follows the team's audit groups (one tail per group), for "Recent actions".
    pub fn follow_shared_audit(&self) {
        let mut followed = std::collections::HashSet::new();
        for ctx in &self.contexts {
            if let Some(group) = &ctx.environment.team.audit_log_group
                && followed.insert(group.clone())
            {
                self.recent.follow(ctx, group);
            }
        }
    }

    /// Reads the latest actions from the audit log, off the event loop, and merges the
    /// lines the team's groups brought.
    pub fn load_recent_actions(&self) {
        let recent = self.recent.clone();
        tokio::spawn(async move { recent.publish().await });
    }

    /// Starts what an op effect asks for (the others are not its own).
    pub fn handle(&self, effect: Effect) {
        match effect {
            Effect::Quit
            | Effect::RefreshNow
            | Effect::Repaint
            | Effect::OpenLogs { .. }
            | Effect::RestartLogs { .. }
            | Effect::SaveLogs(_)
            | Effect::CloseLogs => {}
            Effect::LoadRevisions {
                at,
                service,
                current,
            } => {
                let Some(ctx) = self.contexts.get(at.env).cloned() else {
                    return;
                };
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let result =
                        super::release::read_revisions(ctx.backends.ecs.as_ref(), &current).await;
                    let _ = tx
                        .send(Msg::Revisions {
                            at,
                            service,
                            result,
                        })
                        .await;
                });
            }
            Effect::PlanOp { env, op } => {
                let Some(ctx) = self.contexts.get(env).cloned() else {
                    return;
                };
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let plan = crate::ops::plan(&op, &ctx).await;
                    let _ = tx.send(Msg::PlanReady(Box::new(plan))).await;
                });
            }
            Effect::ExecuteOp {
                env,
                plan,
                approval,
            } => {
                let Some(ctx) = self.contexts.get(env).cloned() else {
                    return;
                };
                let tx = self.tx.clone();
                let Some(executor) = self.executor.clone() else {
                    let report = crate::ops::OpReport {
                        plan_id: plan.id,
                        op: plan.op.clone(),
                        outcome: crate::ops::Outcome::Refused,
                        message: format!("{}: refused, no audit log location", plan.op.title()),
                        error: Some("no place to write the audit log".into()),
                        hint: Some("set `audit_log` in the config".into()),
                        override_gate: false,
                        checks: plan.checks.clone(),
                        repeat: None,
                    };
                    tokio::spawn(async move {
                        let _ = tx.send(Msg::OpDone(Box::new(report))).await;
                    });
                    return;
                };
                let recent = self.recent.clone();
                tokio::spawn(async move {
                    let report = if let crate::ops::Op::Exec { .. } = &plan.op {
                        let runner = session_runner(tx.clone(), plan.op.title());
                        executor
                            .execute_session(&plan, &approval, &ctx, runner)
                            .await
                    } else {
                        executor.execute(&plan, &approval, &ctx).await
                    };
                    let _ = tx.send(Msg::OpDone(Box::new(report))).await;
                    recent.publish().await;
                });
            }
            Effect::GatePolling(pair) => {
                let mut slot = match self.gate_task.lock() {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
                if let Some(task) = slot.take() {
                    task.abort();
                }
                let Some((env, pair)) = pair else {
                    return;
                };
                let Some(ctx) = self.contexts.get(env).cloned() else {
                    return;
                };
                let tx = self.tx.clone();
                let interval = self.gate_interval;
                *slot = Some(tokio::spawn(async move {
                    loop {
                        let poll = crate::ops::gate::poll(
                            ctx.backends.rpc.as_ref(),
                            &pair,
                            ctx.clock.as_ref(),
                        )
                        .await;
                        if tx.send(Msg::GatePoll(Box::new(poll))).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(interval).await;
                    }
                }));
            }
        }
    }
}

/// Runs a session through the event loop, which owns the terminal: sends it the
/// command and waits for its reply. A loop that has gone away ran nothing.
fn session_runner(tx: mpsc::Sender<Msg>, what: String) -> crate::ops::SessionRunner<'static> {
    use crate::ops::exec::SessionEnd;
    Box::new(move |command| {
        Box::pin(async move {
            let (reply, ended) = tokio::sync::oneshot::channel();
            let request = super::msg::SessionRequest {
                what,
                command,
                reply,
            };
            if tx.send(Msg::Session(Box::new(request))).await.is_err() {
                return SessionEnd::NotStarted("the console is closing".into());
            }
            ended
                .await
                .unwrap_or_else(|_| SessionEnd::NotStarted("the console is closing".into()))
        })
    })
}

impl Drop for OpRunner {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.gate_task.lock()
            && let Some(task) = slot.take()
        {
            task.abort();
        }
    }
}
