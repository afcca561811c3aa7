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
use std::sync::{Mutex, PoisonError};

use super::audit::{self, AuditEntry, AuditLog, Phase};
use super::gate::GateTracker;
use super::plan::plan_with_gate;
use super::{
    Approval, Check, Mutation, OpContext, OpKey, OpReport, Outcome, Plan, PlanId, Repeat,
    Verification, guard, restart, switch,
};
use crate::backend::{BackendError, EnvBackends};
use crate::clock::iso_utc;

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
    runs: Mutex<Runs>,
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
        }
    }
}

impl Executor {
    /// An executor writing to `audit`, acting for the OS user `os_user` (see
    /// [`audit::os_user_from_env`]).
    pub fn new(audit: AuditLog, os_user: impl Into<String>) -> Self {
        Self {
            audit,
            os_user: os_user.into(),
            runs: Mutex::new(Runs::default()),
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
        let mut run = Run::start(plan, ctx);
        let _slot = match self.claim(plan) {
            Claim::Fresh(slot) => slot,
            Claim::Repeat(report) => return report,
            Claim::Busy => {
                let error = format!(
                    "another {} on {} is running; wait for it to finish",
                    plan.op.kind(),
                    plan.op.target()
                );
                return self.refuse(&run, error).await;
            }
        };

        // Guards that need no backend call.
        if plan.op.env() != ctx.environment.name {
            let error = format!(
                "the plan is for `{}` but the console is acting in `{}`",
                plan.op.env(),
                ctx.environment.name
            );
            return self.refuse(&run, error).await;
        }
        let write = guard::write_access(&ctx.environment, ctx.write);
        if !write.passed {
            let error = write.detail.clone().unwrap_or_else(|| write.value.clone());
            run.checks = vec![write];
            return self.refuse(&run, error).await;
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
            return self.refuse(&run, error).await;
        }

        // The state as it is now, not as it was when the dialog opened.
        let mut fresh = plan_with_gate(&plan.op, ctx, plan.gate.as_ref()).await;
        if plan.gate.as_ref().is_some_and(GateTracker::is_open) {
            hold_gate_again(&mut fresh, ctx).await;
        }
        run.checks.clone_from(&fresh.checks);
        if fresh.changes != plan.changes {
            let error = format!(
                "the state changed since the plan was made; review the new plan: {}",
                if fresh.changes.is_empty() {
                    "nothing to change".to_string()
                } else {
                    fresh.changes.join("; ")
                }
            );
            return self.refuse(&run, error).await;
        }
        let failed: Vec<&Check> = fresh.failed_checks().collect();
        if failed.iter().any(|c| !c.overridable) || fresh.mutation.is_none() {
            let error = if failed.is_empty() {
                "nothing to do".to_string()
            } else {
                failed_lines(&failed)
            };
            return self.refuse(&run, error).await;
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
                    return self.refuse(&run, error).await;
                }
                None => {
                    let error = format!(
                        "the gate failed ({}); overriding takes a second, explicit confirmation",
                        failed_lines(&failed)
                    );
                    return self.refuse(&run, error).await;
                }
            }
        }
        let (Some(mutation), Some(verification)) = (&fresh.mutation, &fresh.verification) else {
            return self.refuse(&run, "nothing to do".to_string()).await;
        };

        // Who, then the "before" line; nothing is called unless it is on disk.
        match ctx.backends.identity.caller().await {
            Ok(arn) => run.aws_caller = Some(arn),
            Err(e) => run.aws_caller_error = Some(e.to_string()),
        }
        if let Err(e) = self.write(&run, Phase::Before, None, None).await {
            return report(
                &run,
                Outcome::Failed,
                format!("{}: not done", plan.op.title()),
                Some(format!("{e}; nothing was done")),
                Some("check that the audit log's folder is writable".to_string()),
            );
        }

        let reason = format!("ibet-console: {} by {}", plan.op.kind(), self.os_user);
        let result = match apply(mutation, &ctx.backends, &reason).await {
            Err(e) => {
                let hint = e.hint();
                let error = e.to_string();
                let (error, hint) = self.close(&run, Outcome::Failed, &error, hint).await;
                report(
                    &run,
                    Outcome::Failed,
                    format!("{}: failed", plan.op.title()),
                    Some(error),
                    hint,
                )
            }
            Ok(()) => match verify(verification, &ctx.backends).await {
                Ok(seen) => {
                    let mut result = report(
                        &run,
                        Outcome::Ok,
                        format!("{}: done, {seen}", plan.op.title()),
                        None,
                        None,
                    );
                    if let Err(e) = self
                        .write(&run, Phase::After, Some(Outcome::Ok), None)
                        .await
                    {
                        result.error = Some(format!("done, but {e}"));
                    }
                    result
                }
                Err(why) => {
                    let hint = Some("look at the resource in the console or AWS".to_string());
                    let (error, hint) = self.close(&run, Outcome::VerifyFailed, &why, hint).await;
                    report(
                        &run,
                        Outcome::VerifyFailed,
                        format!("{}: called, but not verified", plan.op.title()),
                        Some(error),
                        hint,
                    )
                }
            },
        };
        self.remember(&result);
        result
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
        self.refuse(&run, reason.into()).await
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
            time: iso_utc(run.ctx.clock.now_ms()),
            run: run.id.clone(),
            phase,
            os_user: self.os_user.clone(),
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
        };
        self.audit.append_async(entry).await
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
    }
}
