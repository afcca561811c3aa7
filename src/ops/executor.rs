//! The executor: runs a confirmed plan once, with the audit trail around the one call.
//!
//! [`Executor::execute`] is the one place that enforces the rules, whatever the caller
//! (TUI dialog or subcommand) already showed: one run per plan and one op per target at a
//! time, read-only environments refused before any backend call, the [`Approval`] judged,
//! a fresh plan compared with the confirmed one, an audit line written and flushed before
//! the call and another after it, and the result read back from AWS. Its fresh plan is
//! made by the same code as [`plan`](super::plan()); it decides nothing about what an op
//! changes, and draws nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use super::audit::{self, AuditEntry, AuditLog, Phase};
use super::exec::{ExecCommand, SESSION_FAILED_HINT, SessionEnd};
use super::gate::GateTracker;
use super::lock::{self, Lease, LeaseRequest};
use super::plan::plan_with_gate;
use super::shared_audit;
use super::{
    Approval, Check, Mutation, Op, OpContext, OpKey, OpReport, Outcome, Plan, PlanId, Repeat,
    Verification, guard, restart, switch,
};
use crate::backend::lock::LockError;
use crate::backend::{BackendError, EnvBackends};
use crate::clock::iso_utc;
use futures_util::future::BoxFuture;

/// A gate that was open when the operator confirmed may fail its next poll for a moment
/// (two nodes polled a moment apart while a block arrives): polls it again, a second
/// apart, until it holds again (the required polls in a row) or a few more polls than
/// that have passed. Only gate checks may be failing; anything else refuses at once.
/// The gate is never skipped: the plan's checks are what the polls say.
async fn hold_gate_again(plan: &mut Plan, ctx: &OpContext) {
    let Some(pair) = plan.gate_pair() else {
        return;
    };
    let Some(required) = plan.gate.as_ref().map(GateTracker::required) else {
        return;
    };
    for _ in 0..required.saturating_add(2) {
        let open = plan.gate.as_ref().is_some_and(GateTracker::is_open);
        if open || !plan.failed_checks().all(|c| c.overridable) {
            return;
        }
        tokio::time::sleep(GATE_REPOLL).await;
        let poll = super::gate::poll(ctx.backends.rpc.as_ref(), &pair, ctx.clock.as_ref()).await;
        plan.record_gate(poll);
    }
}

/// The pause between two polls of a gate held again at execution.
const GATE_REPOLL: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs confirmed plans: guard, audit, execute once, verify.
///
/// One per session, shared (it is `Sync`) by the TUI's op tasks or used once by a
/// subcommand.
#[derive(Debug)]
pub struct Executor {
    audit: AuditLog,
    os_user: String,
    host: String,
    runs: Mutex<Runs>,
    /// The last shared audit write that failed, for the next report to show.
    not_shared: Mutex<Option<String>>,
}

/// Reports of executed plans kept to answer repeated confirmations.
const REMEMBERED_RUNS: usize = 64;

#[derive(Debug, Default)]
struct Runs {
    in_flight: HashMap<OpKey, PlanId>,
    done: VecDeque<OpReport>,
}

/// What a claim on an op key found.
enum Claim<'a> {
    /// Free: the slot is held until dropped.
    Fresh(Slot<'a>),
    /// The same plan again.
    Repeat(OpReport),
    /// Another plan of the same key is running.
    Busy,
}

/// An op key held in flight; released when dropped.
struct Slot<'a> {
    runs: &'a Mutex<Runs>,
    key: OpKey,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        runs.in_flight.remove(&self.key);
    }
}

/// What the executor knows while running one plan, for its audit lines and report.
struct Run<'a> {
    plan: &'a Plan,
    ctx: &'a OpContext,
    id: String,
    aws_caller: Option<String>,
    aws_caller_error: Option<String>,
    checks: Vec<Check>,
    changes: Vec<String>,
    override_gate: bool,
    /// How an exec session ended, for its "after" line.
    exit_status: Option<i32>,
}

impl<'a> Run<'a> {
    /// A run of `plan` in `ctx`, starting now: its id is unique to this process, and it
    /// starts from the plan's checks and changes.
    fn start(plan: &'a Plan, ctx: &'a OpContext) -> Self {
        let now = ctx.clock.now_ms();
        Self {
            plan,
            ctx,
            id: format!("{now}-{}-{}", std::process::id(), plan.id.0),
            aws_caller: None,
            aws_caller_error: None,
            checks: plan.checks.clone(),
            changes: plan.changes.clone(),
            override_gate: false,
            exit_status: None,
        }
    }
}

/// Runs an exec session's command with the terminal handed to it, and takes the
/// terminal back: the TUI suspends its screen around it, a subcommand runs it in place.
pub type SessionRunner<'a> = Box<dyn FnOnce(ExecCommand) -> BoxFuture<'a, SessionEnd> + Send + 'a>;

impl Executor {
    /// An executor writing to `audit`, acting for the OS user `os_user` (see
    /// [`audit::os_user_from_env`]).
    pub fn new(audit: AuditLog, os_user: impl Into<String>) -> Self {
        Self {
            audit,
            os_user: os_user.into(),
            host: lock::host_name(),
            runs: Mutex::new(Runs::default()),
            not_shared: Mutex::new(None),
        }
    }

    /// The audit log written to.
    pub fn audit_log(&self) -> &AuditLog {
        &self.audit
    }

    /// Executes a confirmed plan in `ctx` and reports how it ended.
    ///
    /// Refuses (exit code 3) without any backend call when the environment is read-only
    /// and the session has no `--write`, when the approval does not fit, or when another
    /// op on the same target is running. Otherwise plans again (a sync gate that was open
    /// when confirmed and fails its fresh poll is polled again until it holds, a few
    /// seconds at most: [`hold_gate_again`]), refuses when the changes differ from
    /// `plan`'s or a check fails without an override, writes the "before"
    /// audit line, makes the one mutating call, reads the result back, and writes the
    /// "after" line. A plan executed once answers every later confirmation with that
    /// run's report ([`Repeat::AlreadyDone`]).
    pub async fn execute(&self, plan: &Plan, approval: &Approval, ctx: &OpContext) -> OpReport {
        let (mut result, lease) = self.execute_holding(plan, approval, ctx).await;
        if let Some(lease) = lease {
            release_into(lease, &mut result).await;
        }
        result
    }

    /// [`Self::execute`] that keeps the action lock after a successful run, for the
    /// caller to release ([`release_into`]) once it has watched what the op started (a
    /// rollout). The lock goes on being renewed meanwhile.
    pub async fn execute_holding(
        &self,
        plan: &Plan,
        approval: &Approval,
        ctx: &OpContext,
    ) -> (OpReport, Option<Lease>) {
        let (mut report, lease) = self.run_holding(plan, approval, ctx, None).await;
        self.show_not_shared(&mut report);
        (report, lease)
    }

    /// Executes a confirmed exec plan: the same guards and audit as [`Self::execute`]
    /// (no action lock: a session changes nothing in ECS), with `runner` in place of the
    /// backend call. The "before" line is on disk before the session starts, and the
    /// "after" line has its exit status: 0 is `ok`, anything else `failed`.
    pub async fn execute_session(
        &self,
        plan: &Plan,
        approval: &Approval,
        ctx: &OpContext,
        runner: SessionRunner<'_>,
    ) -> OpReport {
        let (mut report, lease) = self.run_holding(plan, approval, ctx, Some(runner)).await;
        if let Some(lease) = lease {
            release_into(lease, &mut report).await;
        }
        self.show_not_shared(&mut report);
        report
    }

    /// Adds a failed shared audit write to `report`'s hint (the lines are queued).
    fn show_not_shared(&self, report: &mut OpReport) {
        let note = self
            .not_shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(note) = note {
            report.hint = Some(match report.hint.take() {
                Some(hint) => format!("{hint}; {note}"),
                None => note,
            });
        }
    }

    async fn run_holding(
        &self,
        plan: &Plan,
        approval: &Approval,
        ctx: &OpContext,
        session: Option<SessionRunner<'_>>,
    ) -> (OpReport, Option<Lease>) {
        let mut run = Run::start(plan, ctx);
        let _slot = match self.claim(plan) {
            Claim::Fresh(slot) => slot,
            Claim::Repeat(report) => return (report, None),
            Claim::Busy => {
                let error = format!(
                    "another {} on {} is running; wait for it to finish",
                    plan.op.kind(),
                    plan.op.target()
                );
                return (self.refuse(&run, error).await, None);
            }
        };

        // Guards that need no backend call.
        if plan.op.env() != ctx.environment.name {
            let error = format!(
                "the plan is for `{}` but the console is acting in `{}`",
                plan.op.env(),
                ctx.environment.name
            );
            return (self.refuse(&run, error).await, None);
        }
        let write = guard::write_access(&ctx.environment, ctx.write);
        if !write.passed {
            let error = write.detail.clone().unwrap_or_else(|| write.value.clone());
            run.checks = vec![write];
            return (self.refuse(&run, error).await, None);
        }
        let environment = &ctx.environment;
        if !approval.confirmation.fits(environment) {
            let error = if environment.danger {
                format!(
                    "type the environment name `{}` to confirm",
                    environment.name
                )
            } else {
                "the confirmation does not match; confirm with yes".to_string()
            };
            return (self.refuse(&run, error).await, None);
        }

        // Who, then the lock shared with the other consoles: a held one refuses here,
        // naming its holder, and nothing is changed.
        match ctx.backends.identity.caller().await {
            Ok(arn) => run.aws_caller = Some(arn),
            Err(e) => run.aws_caller_error = Some(e.to_string()),
        }
        // Breaking a lock takes none, nor does a session, which changes nothing in ECS.
        let lease = if matches!(plan.op, Op::BreakLock { .. } | Op::Exec { .. }) {
            None
        } else {
            match self.take_lock(&run).await {
                Ok(lease) => Some(lease),
                Err(e) => {
                    let now = ctx.clock.now_ms().div_euclid(1000);
                    let error = match &e {
                        LockError::Held(holder) => format!(
                            "another console holds the lock: {}",
                            lock::held_text(holder, now)
                        ),
                        other => format!("{other}; nothing was done"),
                    };
                    let mut result = self.refuse(&run, error).await;
                    result.hint = match (e.hint(), result.hint.take()) {
                        (Some(hint), Some(also)) => Some(format!("{hint}; {also}")),
                        (hint, also) => hint.or(also),
                    };
                    return (result, None);
                }
            }
        };
        if let Some(lease) = &lease {
            run.checks.push(Check::pass(
                "lock",
                format!("held by this run ({})", lease.record().lock_id),
            ));
        }
        let (mut result, remember) = self
            .execute_locked(&mut run, approval, lease.as_ref(), session)
            .await;
        if remember {
            self.remember(&result);
        }
        match lease {
            Some(lease) if result.outcome == Outcome::Ok => (result, Some(lease)),
            Some(lease) => {
                release_into(lease, &mut result).await;
                (result, None)
            }
            None => (result, None),
        }
    }

    /// Takes the action lock of `run`'s op for this run.
    async fn take_lock(&self, run: &Run<'_>) -> Result<Lease, LockError> {
        let ctx = run.ctx;
        let request = LeaseRequest {
            scope: lock::scope(&run.plan.op, &ctx.environment),
            owner: format!("{}@{}", self.os_user, self.host),
            caller_arn: run.aws_caller.clone().unwrap_or_else(|| "unknown".into()),
            action: run.plan.op.title(),
            token: format!("{}@{}", run.id, self.host),
            lease_secs: ctx.environment.team.lease_secs,
        };
        Lease::take(
            Arc::clone(&ctx.backends.locks),
            request,
            Arc::clone(&ctx.clock),
        )
        .await
    }

    /// The run under the lock: plans again, writes the "before" line, renews the lock
    /// once more, makes the one call, verifies, writes the "after" line. Returns the
    /// report, and whether later confirmations of the plan get it back.
    async fn execute_locked(
        &self,
        run: &mut Run<'_>,
        approval: &Approval,
        lease: Option<&Lease>,
        session: Option<SessionRunner<'_>>,
    ) -> (OpReport, bool) {
        let plan = run.plan;
        let ctx = run.ctx;
        let environment = &ctx.environment;
        // The state as it is now, not as it was when the dialog opened.
        let mut fresh = plan_with_gate(&plan.op, ctx, plan.gate.as_ref(), false).await;
        if plan.gate.as_ref().is_some_and(GateTracker::is_open) {
            hold_gate_again(&mut fresh, ctx).await;
        }
        let lock_check = run.checks.pop();
        run.checks.clone_from(&fresh.checks);
        run.checks.extend(lock_check);
        if fresh.changes != plan.changes {
            let error = format!(
                "the state changed since the plan was made; review the new plan: {}",
                if fresh.changes.is_empty() {
                    "nothing to change".to_string()
                } else {
                    fresh.changes.join("; ")
                }
            );
            return (self.refuse(run, error).await, false);
        }
        let failed: Vec<&Check> = fresh.failed_checks().collect();
        if failed.iter().any(|c| !c.overridable) || fresh.mutation.is_none() {
            let error = if failed.is_empty() {
                "nothing to do".to_string()
            } else {
                failed_lines(&failed)
            };
            return (self.refuse(run, error).await, false);
        }
        if !failed.is_empty() {
            match &approval.override_gate {
                Some(second) if second.fits(environment) => run.override_gate = true,
                Some(_) => {
                    let error = if environment.danger {
                        format!(
                            "the override needs its own confirmation: type `{}` again",
                            environment.name
                        )
                    } else {
                        "the override needs its own confirmation".to_string()
                    };
                    return (self.refuse(run, error).await, false);
                }
                None => {
                    let what = if fresh.gate.is_some() {
                        "the gate failed"
                    } else {
                        "a check failed"
                    };
                    let error = format!(
                        "{what} ({}); overriding takes a second, explicit confirmation",
                        failed_lines(&failed)
                    );
                    return (self.refuse(run, error).await, false);
                }
            }
        }
        let (Some(mutation), Some(verification)) = (&fresh.mutation, &fresh.verification) else {
            return (self.refuse(run, "nothing to do".to_string()).await, false);
        };
        let session = match (mutation, session) {
            (Mutation::Session(command), Some(runner)) => Some((command.clone(), runner)),
            (Mutation::Session(_), None) => {
                let error = "a session needs the terminal handed to it; nothing was run";
                return (self.refuse(run, error.to_string()).await, false);
            }
            _ => None,
        };

        // The "before" line; nothing is called unless it is on disk.
        if let Err(e) = self.write(run, Phase::Before, None, None).await {
            let result = report(
                run,
                Outcome::Failed,
                format!("{}: not done", plan.op.title()),
                Some(format!("{e}; nothing was done")),
                Some("check that the audit log's folder is writable".to_string()),
            );
            return (result, false);
        }
        // The lock is still ours right before the call, or nothing is called.
        let confirmed = match lease {
            Some(lease) => lease.confirm().await,
            None => Ok(()),
        };
        if let Err(why) = confirmed {
            let error = format!("{why}; stopped before the call, nothing was done");
            let hint = Some(
                "another console took the lock over (`ibet-console locks`); look at the \
                 resource before trying again"
                    .to_string(),
            );
            let (error, hint) = self.close(run, Outcome::Refused, &error, hint).await;
            let result = report(
                run,
                Outcome::Refused,
                format!("{}: stopped", plan.op.title()),
                Some(error),
                hint,
            );
            return (result, false);
        }

        if let Some((command, runner)) = session {
            let end = runner(command).await;
            return (self.session_ended(run, &end).await, true);
        }
        let reason = format!("ibet-console: {} by {}", plan.op.kind(), self.os_user);
        let result = match apply(mutation, &ctx.backends, &reason).await {
            Err(e) => {
                let hint = e.hint();
                let error = e.to_string();
                let (error, hint) = self.close(run, Outcome::Failed, &error, hint).await;
                report(
                    run,
                    Outcome::Failed,
                    format!("{}: failed", plan.op.title()),
                    Some(error),
                    hint,
                )
            }
            Ok(()) if lease.and_then(Lease::lost).is_some() => {
                let why = lease.and_then(Lease::lost).unwrap_or_default();
                let error = format!("{why}; the result was not read back (no further AWS call)");
                self.not_verified(run, plan, &error).await
            }
            Ok(()) => match verify(verification, &ctx.backends).await {
                Ok(seen) => {
                    let mut result = report(
                        run,
                        Outcome::Ok,
                        format!("{}: done, {seen}", plan.op.title()),
                        None,
                        None,
                    );
                    if let Err(e) = self.write(run, Phase::After, Some(Outcome::Ok), None).await {
                        result.error = Some(format!("done, but {e}"));
                    }
                    result
                }
                Err(why) => self.not_verified(run, plan, &why).await,
            },
        };
        (result, true)
    }

    /// The report and "after" line of a session that ended as `end`.
    async fn session_ended(&self, run: &mut Run<'_>, end: &SessionEnd) -> OpReport {
        let title = run.plan.op.title();
        run.exit_status = end.exit_status();
        if end == &SessionEnd::Exited(0) {
            let mut result = report(
                run,
                Outcome::Ok,
                format!("{title}: session ended ({})", end.describe()),
                None,
                None,
            );
            if let Err(e) = self.write(run, Phase::After, Some(Outcome::Ok), None).await {
                result.error = Some(format!("done, but {e}"));
            }
            return result;
        }
        let error = match end {
            SessionEnd::NotStarted(why) => format!("the AWS CLI did not start: {why}"),
            other => format!("the AWS CLI ended with {}", other.describe()),
        };
        let hint = Some(SESSION_FAILED_HINT.to_string());
        let (error, hint) = self.close(run, Outcome::Failed, &error, hint).await;
        report(
            run,
            Outcome::Failed,
            format!("{title}: session ended ({})", end.describe()),
            Some(error),
            hint,
        )
    }

    /// Refuses `plan` for a reason its caller found before asking to execute it (a plan
    /// that is blocked, a gate that did not open in time, no terminal to confirm on):
    /// writes the refusal's audit line, with the plan's checks, and reports it. Makes no
    /// backend call.
    pub async fn refuse_plan(
        &self,
        plan: &Plan,
        ctx: &OpContext,
        reason: impl Into<String>,
    ) -> OpReport {
        let run = Run::start(plan, ctx);
        let mut report = self.refuse(&run, reason.into()).await;
        self.show_not_shared(&mut report);
        report
    }

    /// Claims the plan's op key, or says why not.
    fn claim(&self, plan: &Plan) -> Claim<'_> {
        let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(done) = runs.done.iter().find(|r| r.plan_id == plan.id) {
            let mut done = done.clone();
            done.repeat = Some(Repeat::AlreadyDone);
            return Claim::Repeat(done);
        }
        let key = plan.op.key();
        match runs.in_flight.get(&key) {
            Some(id) if *id == plan.id => Claim::Repeat(OpReport {
                plan_id: plan.id,
                op: plan.op.clone(),
                outcome: Outcome::Refused,
                message: format!("{}: already running", plan.op.title()),
                error: None,
                hint: None,
                override_gate: false,
                checks: plan.checks.clone(),
                repeat: Some(Repeat::AlreadyRunning),
            }),
            Some(_) => Claim::Busy,
            None => {
                runs.in_flight.insert(key.clone(), plan.id);
                Claim::Fresh(Slot {
                    runs: &self.runs,
                    key,
                })
            }
        }
    }

    fn remember(&self, report: &OpReport) {
        let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        if runs.done.len() >= REMEMBERED_RUNS {
            runs.done.pop_front();
        }
        runs.done.push_back(report.clone());
    }

    /// Writes the refusal's audit line and reports it.
    async fn refuse(&self, run: &Run<'_>, error: String) -> OpReport {
        let mut result = report(
            run,
            Outcome::Refused,
            format!("{}: refused", run.plan.op.title()),
            Some(error.clone()),
            None,
        );
        if let Err(e) = self
            .write(run, Phase::After, Some(Outcome::Refused), Some(error))
            .await
        {
            result.hint = Some(format!("also: {e}"));
        }
        result
    }

    /// Writes the "after" line of a run that did not end well; returns the error and
    /// hint to report (the audit failure added when there is one).
    /// The report of a call that was made but could not be read back: audited as such.
    async fn not_verified(&self, run: &Run<'_>, plan: &Plan, why: &str) -> OpReport {
        let hint = Some("look at the resource in the console or AWS".to_string());
        let (error, hint) = self.close(run, Outcome::VerifyFailed, why, hint).await;
        report(
            run,
            Outcome::VerifyFailed,
            format!("{}: called, but not verified", plan.op.title()),
            Some(error),
            hint,
        )
    }

    async fn close(
        &self,
        run: &Run<'_>,
        outcome: Outcome,
        error: &str,
        hint: Option<String>,
    ) -> (String, Option<String>) {
        match self
            .write(run, Phase::After, Some(outcome), Some(error.to_string()))
            .await
        {
            Ok(()) => (error.to_string(), hint),
            Err(e) => (format!("{error}; also {e}"), hint),
        }
    }

    /// Appends one audit line for `run` (flushed to disk before returning).
    async fn write(
        &self,
        run: &Run<'_>,
        phase: Phase,
        outcome: Option<Outcome>,
        error: Option<String>,
    ) -> Result<(), audit::AuditError> {
        let entry = AuditEntry {
            id: format!(
                "{}-{}-{}",
                self.host,
                run.id,
                match phase {
                    Phase::Before => "before",
                    Phase::After => "after",
                }
            ),
            time: iso_utc(run.ctx.clock.now_ms()),
            run: run.id.clone(),
            phase,
            os_user: self.os_user.clone(),
            host: self.host.clone(),
            aws_caller: run.aws_caller.clone(),
            aws_caller_error: run.aws_caller_error.clone(),
            environment: run.plan.op.env().to_string(),
            op: run.plan.op.clone(),
            target: run.plan.op.target(),
            changes: run.changes.clone(),
            checks: run.checks.clone(),
            override_gate: run.override_gate,
            outcome,
            error,
            exit_status: run.exit_status,
        };
        self.audit.append_async(entry.clone()).await?;
        // Then the team's group; a failure is queued and shown, never fatal to the op.
        if let Some(group) = &run.ctx.environment.team.audit_log_group {
            let stream = shared_audit::stream_name(&self.host, &self.os_user);
            if let Err(not) = shared_audit::share(
                run.ctx.backends.logs.as_ref(),
                group,
                &stream,
                &entry,
                self.audit.path(),
            )
            .await
            {
                *self
                    .not_shared
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(not.describe());
            }
        }
        Ok(())
    }
}

/// Releases `lease`; a release that fails is noted in `report`'s hint.
pub async fn release_into(lease: Lease, report: &mut OpReport) {
    if let Err(e) = lease.release().await {
        let note = format!("the lock was not released: {e}");
        report.hint = Some(match report.hint.take() {
            Some(hint) => format!("{hint}; {note}"),
            None => note,
        });
    }
}

/// Builds the report of a run.
fn report(
    run: &Run<'_>,
    outcome: Outcome,
    message: String,
    error: Option<String>,
    hint: Option<String>,
) -> OpReport {
    OpReport {
        plan_id: run.plan.id,
        op: run.plan.op.clone(),
        outcome,
        message,
        error,
        hint,
        override_gate: run.override_gate,
        checks: run.checks.clone(),
        repeat: None,
    }
}

fn failed_lines(failed: &[&Check]) -> String {
    failed
        .iter()
        .map(|c| c.line())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Makes the one mutating call of a plan.
async fn apply(
    mutation: &Mutation,
    backends: &EnvBackends,
    reason: &str,
) -> Result<(), BackendError> {
    match mutation {
        Mutation::Switch { switch, node } => backends.elb.apply_switch(switch, node).await,
        Mutation::StopTask {
            ecs_cluster,
            task_arn,
        } => backends.ecs.stop_task(ecs_cluster, task_arn, reason).await,
        Mutation::UpdateService {
            ecs_cluster,
            service,
            update,
        } => {
            backends
                .ecs
                .update_service(ecs_cluster, service, update)
                .await
        }
        Mutation::BreakLock { lock_id } => match backends.locks.break_lock(lock_id).await {
            Ok(_) => Ok(()),
            Err(LockError::Store { source, .. }) => Err(*source),
            Err(e) => Err(BackendError::Other(e.to_string())),
        },
        // Run by `execute_locked` with the terminal handed over, never here.
        Mutation::Session(_) => Err(BackendError::Other(
            "a session is not a backend call".into(),
        )),
    }
}

/// Reads the result back: what was seen when it shows, why not otherwise.
async fn verify(verification: &Verification, backends: &EnvBackends) -> Result<String, String> {
    match verification {
        Verification::SwitchActive { switch, node } => {
            switch::verify_active(backends.elb.as_ref(), switch, node).await
        }
        Verification::TaskStopping {
            ecs_cluster,
            task_arn,
        } => restart::verify_task_stopping(backends.ecs.as_ref(), ecs_cluster, task_arn).await,
        Verification::NewPrimary {
            ecs_cluster,
            service,
            task_definition,
            known_deployments,
        } => {
            restart::verify_new_primary(
                backends.ecs.as_ref(),
                ecs_cluster,
                service,
                task_definition,
                known_deployments,
            )
            .await
        }
        Verification::ServiceTaskDefinition {
            ecs_cluster,
            service,
            task_definition,
            known_deployments,
        } => {
            restart::verify_service_task_definition(
                backends.ecs.as_ref(),
                ecs_cluster,
                service,
                task_definition,
                known_deployments,
            )
            .await
        }
        Verification::LockBroken {
            lock_id,
            owner,
            since,
        } => lock::verify_broken(backends.locks.as_ref(), lock_id, owner, *since).await,
        Verification::SessionEnded => Ok("session ended".to_string()),
    }
}
