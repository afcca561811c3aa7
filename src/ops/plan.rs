//! Planning: what an op will change, what was measured first, and what it takes to go.
//!
//! [`plan`] reads the state an op depends on through the backend traits and returns a
//! [`Plan`]: its [`Check`]s with their values, the changes one line each, warnings, the
//! confirmation the operator owes, and (hidden from callers) the one call the executor
//! will make and how it reads the result back. Planning never fails (a failed read is a
//! failed check) and never changes anything. The per-op reading is in `switch` and
//! `restart`, the rules in `guard` and `gate`; the executor plans again before acting.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::gate::{self, GateTracker};
use super::{Op, guard, release, restart, switch};
use crate::backend::{EnvBackends, ServiceUpdate};
use crate::clock::{EpochMs, SharedClock};
use crate::config::{AlbSwitch, Environment};

/// One precheck with the value it measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Stable name (`write_access`, `height`, `validator_quorum`, ...).
    pub name: String,
    /// Whether it passed. A check that could not apply (a node that cannot report its
    /// peers) passes with the value `n/a`.
    pub passed: bool,
    /// What was measured, short: `general-2 #1200, general-1 #1201 (1 behind, max 2)`.
    pub value: String,
    /// Why it failed, or what it means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Whether an explicit override may proceed despite a failure (the sync gate, a
    /// release's checks of what its target names). A failed check that is not
    /// overridable blocks the op.
    #[serde(default)]
    pub overridable: bool,
}

impl Check {
    /// A check with its result.
    pub fn new(name: &str, passed: bool, value: impl Into<String>) -> Self {
        Self {
            name: name.to_string(),
            passed,
            value: value.into(),
            detail: None,
            overridable: false,
        }
    }

    /// A passed check.
    pub fn pass(name: &str, value: impl Into<String>) -> Self {
        Self::new(name, true, value)
    }

    /// A failed check.
    pub fn fail(name: &str, value: impl Into<String>) -> Self {
        Self::new(name, false, value)
    }

    /// With an explanation.
    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Marked as a gate check that an explicit override may pass over.
    #[must_use]
    pub fn overridable(mut self) -> Self {
        self.overridable = true;
        self
    }

    /// `name: value (detail)`, for messages and the command line.
    pub fn line(&self) -> String {
        match &self.detail {
            Some(detail) => format!("{}: {} ({detail})", self.name, self.value),
            None => format!("{}: {}", self.name, self.value),
        }
    }
}

/// Whether a plan can run, as far as its checks tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// Every check passed: a confirmation is enough.
    Ready,
    /// Only overridable (gate) checks failed: it runs only with an explicit override.
    NeedsOverride,
    /// A check that cannot be overridden failed: it will not run.
    #[default]
    Blocked,
}

/// A plan's unique id within this process: a repeated confirmation of the same plan is
/// recognised by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PlanId(pub u64);

static NEXT_PLAN_ID: AtomicU64 = AtomicU64::new(1);

/// The one call the executor will make, decided by the plan.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Mutation {
    /// `ElbApi::apply_switch`: point the configured `switch` at `node`.
    Switch { switch: AlbSwitch, node: String },
    /// `EcsApi::stop_task` of `task_arn` in the ECS cluster `ecs_cluster`.
    StopTask {
        ecs_cluster: String,
        task_arn: String,
    },
    /// `EcsApi::update_service`: apply `update` to `service` in the ECS cluster
    /// `ecs_cluster`.
    UpdateService {
        ecs_cluster: String,
        service: String,
        update: ServiceUpdate,
    },
    /// `LockStore::break_lock` of `lock_id`.
    BreakLock { lock_id: String },
    /// An interactive session: this command run with the terminal handed to it
    /// (`Executor::execute_session`; no backend call).
    Session(super::exec::ExecCommand),
}

/// How the executor reads the result back.
///
/// `ecs_cluster` is the ECS cluster's name, `task_definition` the expected ARN, and
/// `known_deployments` the deployment ids seen when planning.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verification {
    /// `read_switch` of `switch` shows `node` as the one active node.
    SwitchActive { switch: AlbSwitch, node: String },
    /// The task `task_arn` is stopping or stopped.
    TaskStopping {
        ecs_cluster: String,
        task_arn: String,
    },
    /// A PRIMARY deployment that was not there at planning time runs `task_definition`.
    NewPrimary {
        ecs_cluster: String,
        service: String,
        task_definition: String,
        known_deployments: Vec<String>,
    },
    /// The service runs `task_definition` now (a release or rollback), and no new
    /// PRIMARY deployment runs anything else.
    ServiceTaskDefinition {
        ecs_cluster: String,
        service: String,
        task_definition: String,
        known_deployments: Vec<String>,
    },
    /// The lock `lock_id` is not held by `owner` (with `since`) any more.
    LockBroken {
        lock_id: String,
        owner: String,
        since: i64,
    },
    /// Nothing to read back: a session changes nothing in AWS; its exit status is
    /// audited.
    SessionEnded,
}

/// The preview of one op: what was measured, what will change, and what it takes to go.
///
/// Callers read it (draw it, print it as JSON) and hand it back to
/// [`Executor::execute`](super::Executor::execute); the executor plans again before acting, so editing a plan
/// changes nothing but the comparison of [`Plan::changes`] and the gate count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Unique within the process.
    pub id: PlanId,
    /// What the operator asked for.
    pub op: Op,
    /// On the session's clock, which tests and the demo world pin.
    pub planned_at: EpochMs,
    /// Whether the environment is a danger (production) environment.
    pub danger: bool,
    /// What the operator must type to confirm (the environment name on danger
    /// environments); `None`: a plain yes is enough.
    pub typed_confirmation: Option<String>,
    /// Whether it can run, and how.
    pub readiness: Readiness,
    /// Prechecks, gate and guards, with their values; the gate's last poll included.
    pub checks: Vec<Check>,
    /// Exactly what will change, one human line per change.
    pub changes: Vec<String>,
    /// What the operator should know before confirming.
    pub warnings: Vec<String>,
    /// Ops worth doing first (switch the ALB away before restarting its node).
    pub suggestions: Vec<Op>,
    /// The sync gate, for an ALB switch: its last poll and the count of passes in a row.
    pub gate: Option<GateTracker>,
    /// For a release or rollback: the running and target task definitions, the newer
    /// revisions, and the diff between them (secret values masked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<release::ReleasePreview>,
    #[serde(skip)]
    base_checks: Vec<Check>,
    #[serde(skip)]
    base_warnings: Vec<String>,
    #[serde(skip)]
    pub(crate) mutation: Option<Mutation>,
    #[serde(skip)]
    pub(crate) verification: Option<Verification>,
}

impl Plan {
    fn new(op: &Op, environment: &Environment, now: EpochMs) -> Self {
        Self {
            id: PlanId(NEXT_PLAN_ID.fetch_add(1, Ordering::Relaxed)),
            op: op.clone(),
            planned_at: now,
            danger: environment.danger,
            typed_confirmation: environment.danger.then(|| environment.name.clone()),
            readiness: Readiness::Blocked,
            checks: Vec::new(),
            changes: Vec::new(),
            warnings: Vec::new(),
            suggestions: Vec::new(),
            gate: None,
            release: None,
            base_checks: Vec::new(),
            base_warnings: Vec::new(),
            mutation: None,
            verification: None,
        }
    }

    /// Adds a precheck.
    pub(crate) fn check(&mut self, check: Check) {
        self.base_checks.push(check);
        self.refresh();
    }

    /// Adds a line to what will change.
    pub(crate) fn change(&mut self, line: impl Into<String>) {
        self.changes.push(line.into());
    }

    /// Adds a warning.
    pub(crate) fn warn(&mut self, warning: impl Into<String>) {
        self.base_warnings.push(warning.into());
        self.refresh();
    }

    /// Whether a check that cannot be overridden failed (planning stops there).
    pub(crate) fn is_blocked(&self) -> bool {
        self.base_checks.iter().any(|c| !c.passed && !c.overridable)
    }

    /// Records one poll of the sync gate (a switch plan only; polls for another pair
    /// of nodes are ignored). Returns whether the poll was taken.
    ///
    /// The TUI dialog calls this for each [`gate::GatePoll`] its poller reports; the
    /// checks, warnings and readiness follow.
    pub fn record_gate(&mut self, poll: gate::GatePoll) -> bool {
        let taken = self.gate.as_mut().is_some_and(|g| g.record(poll));
        if taken {
            self.refresh();
        }
        taken
    }

    /// The two nodes and thresholds the gate polls, for a switch plan that got that far.
    pub fn gate_pair(&self) -> Option<gate::GatePair> {
        self.gate.as_ref().map(|g| g.pair().clone())
    }

    /// The checks that failed.
    pub fn failed_checks(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    fn refresh(&mut self) {
        self.checks.clone_from(&self.base_checks);
        self.warnings.clone_from(&self.base_warnings);
        if let Some(gate) = &self.gate {
            self.checks.extend(gate.checks());
            self.warnings.extend(gate.warnings().iter().cloned());
        }
        let hard = self.checks.iter().any(|c| !c.passed && !c.overridable);
        let soft = self.checks.iter().any(|c| !c.passed && c.overridable);
        self.readiness = if hard || self.mutation.is_none() {
            Readiness::Blocked
        } else if soft {
            Readiness::NeedsOverride
        } else {
            Readiness::Ready
        };
    }

    pub(crate) fn set_action(&mut self, mutation: Mutation, verification: Verification) {
        self.mutation = Some(mutation);
        self.verification = Some(verification);
        self.refresh();
    }
}

/// What an op needs to know about its environment and session: the one environment the
/// console acts in (an op for another is refused), its backends, the session's clock and
/// whether `--write` was given.
#[derive(Debug, Clone)]
pub struct OpContext {
    /// The configuration of the environment acted in.
    pub environment: Environment,
    /// Planning reads them; the executor makes its one call on them.
    pub backends: EnvBackends,
    /// For audit times and gate head ages.
    pub clock: SharedClock,
    /// Whether the session was started with `--write` (unlocks read-only environments).
    pub write: bool,
}

/// Plans `op`: reads the state it depends on and runs the base_checks.
///
/// Never fails: a read that fails is a failed check with the error as its value. A
/// read-only environment without `--write` is refused here too, before any backend
/// call.
pub async fn plan(op: &Op, ctx: &OpContext) -> Plan {
    plan_with_gate(op, ctx, None, true).await
}

/// [`plan`] that continues counting an earlier gate (the executor's last look). The
/// executor, which holds the lock by then, does not `look_at_locks`.
pub(super) async fn plan_with_gate(
    op: &Op,
    ctx: &OpContext,
    gate: Option<&GateTracker>,
    look_at_locks: bool,
) -> Plan {
    let environment = &ctx.environment;
    let mut plan = Plan::new(op, environment, ctx.clock.now_ms());
    if op.env() != environment.name {
        plan.check(Check::fail("environment", op.env()).detail(format!(
            "the op is for `{}` but the console is acting in `{}`",
            op.env(),
            environment.name
        )));
        return plan;
    }
    plan.check(guard::write_access(environment, ctx.write));
    if plan.is_blocked() {
        return plan;
    }
    if let Op::BreakLock { lock, .. } = op {
        super::lock::plan_break(&mut plan, lock, ctx).await;
        return plan;
    }
    // A session changes nothing in ECS: it takes no lock, and another console's lock
    // does not keep an operator out of a container (README: "Exec").
    if look_at_locks && !matches!(op, Op::Exec { .. }) {
        plan.check(
            super::lock::lock_check(
                op,
                environment,
                ctx.backends.locks.as_ref(),
                ctx.clock.now_ms(),
            )
            .await,
        );
        if plan.is_blocked() {
            return plan;
        }
    }
    let Some(cluster) = environment.clusters.iter().find(|c| c.name == op.cluster()) else {
        plan.check(Check::fail("cluster", op.cluster()).detail(format!(
            "no cluster `{}` in `{}`",
            op.cluster(),
            environment.name
        )));
        return plan;
    };
    match op {
        Op::SwitchAlb { to, .. } => switch::plan_switch(&mut plan, cluster, to, ctx, gate).await,
        Op::StopTask { service, task, .. } => {
            restart::plan_stop_task(&mut plan, cluster, service, task, ctx).await;
        }
        Op::ForceDeploy { service, .. } => {
            restart::plan_service_update(&mut plan, cluster, service, None, ctx).await;
        }
        Op::Release {
            service,
            to_task_definition,
            ..
        }
        | Op::Rollback {
            service,
            to_task_definition,
            ..
        } => {
            restart::plan_service_update(
                &mut plan,
                cluster,
                service,
                Some(to_task_definition),
                ctx,
            )
            .await;
        }
        Op::Exec {
            service,
            task,
            container,
            command,
            ..
        } => {
            let target = super::exec::ExecTarget {
                service,
                task,
                container: container.as_deref(),
                command: command.as_deref(),
            };
            super::exec::plan_exec(&mut plan, cluster, target, ctx).await;
        }
        // Planned above, before the cluster is looked for.
        Op::BreakLock { .. } => {}
    }
    plan
}
