//! Operator actions as data: plan → guard → confirm → audit → execute → verify.
//!
//! Every mutating action of the console (switch the internal ALB, stop a task, force a
//! deployment, release, roll back) is an [`Op`]. [`plan`] reads the current state through
//! the backend traits and returns a [`Plan`]: the base_checks with their measured values,
//! exactly what will change, warnings, and what the operator must do to confirm. The
//! [`Executor`] then runs a confirmed plan, and it is the one place that enforces the
//! rules, whatever the caller (TUI dialog or `switch`/`restart` subcommand) already
//! showed:
//!
//! 1. a plan runs at most once, and one op per target at a time ([`OpKey`]);
//! 2. a read-only environment refuses without `--write`, before any backend call;
//! 3. the [`Approval`] must fit the environment (typed name on danger environments), and
//!    a failed gate needs its own second confirmation ([`Approval::override_gate`]);
//! 4. the executor plans again right before acting and refuses when the state moved;
//! 5. an audit line is written and flushed before the call and another after it;
//! 6. the result is read back from AWS ([`Outcome::VerifyFailed`] when it does not show).
//!
//! The rules themselves live beside: [`gate`] (the sync gate for the ALB switch),
//! [`guard`] (read-only, validator quorum, active general node, rollouts), [`audit`] (the
//! JSON-lines log). [`switch`] and [`restart`] turn their ops into plans; [`release`]
//! previews a release or rollback (the task-definition diff, secrets masked). Nothing here
//! draws, parses command lines or sleeps on its own, except [`switch::wait_for_gate`],
//! which a command-line caller asks for.

pub mod audit;
pub mod gate;
pub mod guard;
pub mod release;
pub mod restart;
pub mod switch;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::backend::{BackendError, EnvBackends, ServiceUpdate};
use crate::clock::{EpochMs, SharedClock, iso_utc};
use crate::config::{AlbSwitch, Environment};
use crate::model::ecs::short_task_definition;

use audit::{AuditEntry, AuditLog, Phase};
use gate::GateTracker;

/// Exit code of a command whose op was done and verified.
pub const EXIT_OK: i32 = 0;
/// Exit code of a command whose op failed (or could not be verified).
pub const EXIT_FAILED: i32 = 1;
/// Exit code of a command whose op was refused (gate, guard, read-only, confirmation).
pub const EXIT_REFUSED: i32 = 3;

/// One mutating action, as data.
///
/// `env` is the environment name and `cluster` the cluster's display name, both as in the
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Op {
    /// Point the cluster's internal ALB at the general node `to`.
    SwitchAlb {
        /// Environment.
        env: String,
        /// Cluster.
        cluster: String,
        /// Node name (a key of the switch's `nodes`).
        to: String,
    },
    /// Stop one task; the service starts a replacement.
    StopTask {
        /// Environment.
        env: String,
        /// Cluster.
        cluster: String,
        /// The service the task belongs to.
        service: String,
        /// Task id or ARN.
        task: String,
    },
    /// Replace every task of a service with the same task definition.
    ForceDeploy {
        /// Environment.
        env: String,
        /// Cluster.
        cluster: String,
        /// Service.
        service: String,
    },
    /// Move a service to a newer task definition.
    Release {
        /// Environment.
        env: String,
        /// Cluster.
        cluster: String,
        /// Service.
        service: String,
        /// Task definition ARN or `family:revision`.
        to_task_definition: String,
    },
    /// Move a service back to an earlier task definition.
    Rollback {
        /// Environment.
        env: String,
        /// Cluster.
        cluster: String,
        /// Service.
        service: String,
        /// Task definition ARN or `family:revision`.
        to_task_definition: String,
    },
}

impl Op {
    /// The environment name.
    pub fn env(&self) -> &str {
        match self {
            Self::SwitchAlb { env, .. }
            | Self::StopTask { env, .. }
            | Self::ForceDeploy { env, .. }
            | Self::Release { env, .. }
            | Self::Rollback { env, .. } => env,
        }
    }

    /// The cluster's display name.
    pub fn cluster(&self) -> &str {
        match self {
            Self::SwitchAlb { cluster, .. }
            | Self::StopTask { cluster, .. }
            | Self::ForceDeploy { cluster, .. }
            | Self::Release { cluster, .. }
            | Self::Rollback { cluster, .. } => cluster,
        }
    }

    /// The service acted on, for the ECS ops.
    pub fn service(&self) -> Option<&str> {
        match self {
            Self::SwitchAlb { .. } => None,
            Self::StopTask { service, .. }
            | Self::ForceDeploy { service, .. }
            | Self::Release { service, .. }
            | Self::Rollback { service, .. } => Some(service),
        }
    }

    /// The snake_case name of the kind of op (`switch_alb`, `stop_task`, ...), as in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::SwitchAlb { .. } => "switch_alb",
            Self::StopTask { .. } => "stop_task",
            Self::ForceDeploy { .. } => "force_deploy",
            Self::Release { .. } => "release",
            Self::Rollback { .. } => "rollback",
        }
    }

    /// What the op acts on, in a few words (`internal ALB → general-2`, `api/3f2a…`).
    pub fn target(&self) -> String {
        match self {
            Self::SwitchAlb { to, .. } => format!("internal ALB → {to}"),
            Self::StopTask { service, task, .. } => format!("{service}/{}", task_id(task)),
            Self::ForceDeploy { service, .. } => service.clone(),
            Self::Release {
                service,
                to_task_definition,
                ..
            }
            | Self::Rollback {
                service,
                to_task_definition,
                ..
            } => format!("{service} → {}", short_task_definition(to_task_definition)),
        }
    }

    /// A sentence naming the op, for dialogs and messages.
    pub fn title(&self) -> String {
        match self {
            Self::SwitchAlb { env, cluster, to } => {
                format!("switch the internal ALB of {env}/{cluster} to {to}")
            }
            Self::StopTask {
                env,
                cluster,
                service,
                task,
            } => format!("stop task {} of {env}/{cluster}/{service}", task_id(task)),
            Self::ForceDeploy {
                env,
                cluster,
                service,
            } => format!("force a new deployment of {env}/{cluster}/{service}"),
            Self::Release {
                env,
                cluster,
                service,
                to_task_definition,
            } => format!(
                "release {} to {env}/{cluster}/{service}",
                short_task_definition(to_task_definition)
            ),
            Self::Rollback {
                env,
                cluster,
                service,
                to_task_definition,
            } => format!(
                "roll {env}/{cluster}/{service} back to {}",
                short_task_definition(to_task_definition)
            ),
        }
    }

    /// The key under which at most one op runs at a time.
    ///
    /// All switches of one cluster's ALB share a key, and so do all ECS ops on one
    /// service (stopping two of its tasks at once, or stopping one mid-deployment, is
    /// exactly what the guards are there to prevent).
    pub fn key(&self) -> OpKey {
        let target = match self.service() {
            Some(service) => format!("service:{service}"),
            None => "alb_switch".to_string(),
        };
        OpKey {
            env: self.env().to_string(),
            cluster: self.cluster().to_string(),
            target,
        }
    }
}

/// The id part of a task ARN (the input when it is already an id).
pub fn task_id(task: &str) -> &str {
    task.rsplit_once('/').map_or(task, |(_, id)| id)
}

/// What an op acts on: one op per key runs at a time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct OpKey {
    /// Environment.
    pub env: String,
    /// Cluster.
    pub cluster: String,
    /// `alb_switch` or `service:NAME`.
    pub target: String,
}

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
    /// Whether an explicit override may proceed despite a failure (the sync gate). A
    /// failed check that is not overridable blocks the op.
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

/// What the executor will call, decided by the plan.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Mutation {
    /// `ElbApi::apply_switch`.
    Switch {
        /// The configured switch.
        switch: AlbSwitch,
        /// The node to point it at.
        node: String,
    },
    /// `EcsApi::stop_task`.
    StopTask {
        /// ECS cluster name.
        ecs_cluster: String,
        /// Task ARN.
        task_arn: String,
    },
    /// `EcsApi::update_service`.
    UpdateService {
        /// ECS cluster name.
        ecs_cluster: String,
        /// Service.
        service: String,
        /// The change.
        update: ServiceUpdate,
    },
}

/// How the executor reads the result back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verification {
    /// `read_switch` shows `node` as the one active node.
    SwitchActive {
        /// The configured switch.
        switch: AlbSwitch,
        /// The node expected active.
        node: String,
    },
    /// The task is stopping or stopped.
    TaskStopping {
        /// ECS cluster name.
        ecs_cluster: String,
        /// Task ARN.
        task_arn: String,
    },
    /// A PRIMARY deployment that was not there at planning time runs `task_definition`.
    NewPrimary {
        /// ECS cluster name.
        ecs_cluster: String,
        /// Service.
        service: String,
        /// Expected task-definition ARN.
        task_definition: String,
        /// Deployment ids seen when planning.
        known_deployments: Vec<String>,
    },
    /// The service runs `task_definition` now (a release or rollback), and no new
    /// PRIMARY deployment runs anything else.
    ServiceTaskDefinition {
        /// ECS cluster name.
        ecs_cluster: String,
        /// Service.
        service: String,
        /// Expected task-definition ARN.
        task_definition: String,
        /// Deployment ids seen when planning.
        known_deployments: Vec<String>,
    },
}

/// The preview of one op: what was measured, what will change, and what it takes to go.
///
/// Callers read it (draw it, print it as JSON) and hand it back to
/// [`Executor::execute`]; the executor plans again before acting, so editing a plan
/// changes nothing but the comparison of [`Plan::changes`] and the gate count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Unique within the process.
    pub id: PlanId,
    /// The op.
    pub op: Op,
    /// When it was planned.
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

/// What an op needs to know about its environment and session.
#[derive(Debug, Clone)]
pub struct OpContext {
    /// The environment's configuration.
    pub environment: Environment,
    /// The environment's backends.
    pub backends: EnvBackends,
    /// The clock (audit times, gate head ages).
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
    plan_with_gate(op, ctx, None).await
}

/// [`plan`] that continues counting an earlier gate (the executor's last look).
async fn plan_with_gate(op: &Op, ctx: &OpContext, gate: Option<&GateTracker>) -> Plan {
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
    }
    plan
}

/// One confirmation by the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// A plain yes (not enough in a danger environment).
    Yes,
    /// Text the operator typed (the environment name in a danger environment).
    Typed(String),
}

impl Confirmation {
    /// Whether this confirmation is enough in `environment`.
    ///
    /// A danger environment takes the typed environment name (surrounding whitespace
    /// aside, case as written). Elsewhere a yes is enough, typed or not; typed text that
    /// is neither `yes` nor the environment's name is refused: the operator has another
    /// environment in mind.
    fn fits(&self, environment: &Environment) -> bool {
        match self {
            Self::Yes => !environment.danger,
            Self::Typed(text) => {
                let text = text.trim();
                text == environment.name
                    || (!environment.danger && ["y", "yes"].contains(&text.to_lowercase().as_str()))
            }
        }
    }
}

/// The operator's go-ahead for a plan: the confirmation, and the separate, explicit
/// second confirmation that overrides a failed gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The confirmation.
    pub confirmation: Confirmation,
    /// The second confirmation to override failed gate checks; `None`: no override.
    pub override_gate: Option<Confirmation>,
}

impl Approval {
    /// A plain yes, no override.
    pub fn yes() -> Self {
        Self {
            confirmation: Confirmation::Yes,
            override_gate: None,
        }
    }

    /// The typed environment name, no override.
    pub fn typed(text: impl Into<String>) -> Self {
        Self {
            confirmation: Confirmation::Typed(text.into()),
            override_gate: None,
        }
    }

    /// With the second confirmation that overrides a failed gate.
    #[must_use]
    pub fn with_override(mut self, second: Confirmation) -> Self {
        self.override_gate = Some(second);
        self
    }
}

/// How an op ended, as the audit log and the JSON output say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done and verified.
    Ok,
    /// The call failed (or nothing could be done).
    Failed,
    /// Not done: a gate, guard, confirmation or read-only environment said no.
    Refused,
    /// The call succeeded but reading back did not show the change.
    VerifyFailed,
}

impl Outcome {
    /// The process exit code: 0 done and verified, 3 refused, 1 otherwise.
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Ok => EXIT_OK,
            Self::Refused => EXIT_REFUSED,
            Self::Failed | Self::VerifyFailed => EXIT_FAILED,
        }
    }

    /// The word used in the audit log and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Refused => "refused",
            Self::VerifyFailed => "verify_failed",
        }
    }
}

/// Why a report is the answer to an earlier confirmation rather than a new run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Repeat {
    /// The same plan is being executed right now; nothing was started.
    AlreadyRunning,
    /// The same plan was executed already; this is that run's report.
    AlreadyDone,
}

/// The result of executing a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpReport {
    /// The plan executed.
    pub plan_id: PlanId,
    /// The op.
    pub op: Op,
    /// How it ended.
    pub outcome: Outcome,
    /// One line for the operator.
    pub message: String,
    /// The error, when it failed or was refused.
    pub error: Option<String>,
    /// What to do about the error.
    pub hint: Option<String>,
    /// Whether a failed gate was overridden.
    pub override_gate: bool,
    /// The checks as they stood when the executor decided.
    pub checks: Vec<Check>,
    /// Set when this answers a repeated confirmation of the same plan.
    pub repeat: Option<Repeat>,
}

impl OpReport {
    /// The process exit code (see [`Outcome::exit_code`]).
    pub fn exit_code(&self) -> i32 {
        self.outcome.exit_code()
    }
}

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
    /// op on the same target is running. Otherwise plans again, refuses when the changes
    /// differ from `plan`'s or a check fails without an override, writes the "before"
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
        let fresh = plan_with_gate(&plan.op, ctx, plan.gate.as_ref()).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn switch_op() -> Op {
        Op::SwitchAlb {
            env: "staging".into(),
            cluster: "node-api".into(),
            to: "general-2".into(),
        }
    }

    #[test]
    fn ops_serialise_with_their_kind() {
        let json = serde_json::to_value(switch_op()).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"kind": "switch_alb", "env": "staging", "cluster": "node-api", "to": "general-2"})
        );
        let back: Op = serde_json::from_value(json).expect("parse");
        assert_eq!(back, switch_op());
    }

    #[test]
    fn keys_group_ops_on_one_target() {
        let stop = Op::StopTask {
            env: "staging".into(),
            cluster: "node-api".into(),
            service: "api".into(),
            task: "arn:aws:ecs:ap-northeast-1:1:task/node-api/abc".into(),
        };
        let deploy = Op::ForceDeploy {
            env: "staging".into(),
            cluster: "node-api".into(),
            service: "api".into(),
        };
        assert_eq!(stop.key(), deploy.key());
        assert_eq!(stop.target(), "api/abc");
        assert_eq!(switch_op().key().target, "alb_switch");
        assert_ne!(switch_op().key(), deploy.key());
    }

    fn environment(name: &str, danger: bool) -> Environment {
        Environment {
            name: name.into(),
            region: "ap-northeast-1".into(),
            aws_profile: None,
            endpoint_url: None,
            danger,
            read_only: None,
            clusters: Vec::new(),
        }
    }

    #[test]
    fn confirmations_fit_the_environment() {
        let production = environment("production", true);
        let staging = environment("staging", false);
        assert!(Confirmation::Yes.fits(&staging));
        assert!(!Confirmation::Yes.fits(&production));
        assert!(Confirmation::Typed("production\n".into()).fits(&production));
        assert!(!Confirmation::Typed("staging".into()).fits(&production));
        assert!(!Confirmation::Typed("Production".into()).fits(&production));
        assert!(!Confirmation::Typed("yes".into()).fits(&production));
        assert!(Confirmation::Typed("Yes".into()).fits(&staging));
        assert!(Confirmation::Typed("staging".into()).fits(&staging));
        assert!(!Confirmation::Typed("production".into()).fits(&staging));
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Outcome::Ok.exit_code(), 0);
        assert_eq!(Outcome::Failed.exit_code(), 1);
        assert_eq!(Outcome::VerifyFailed.exit_code(), 1);
        assert_eq!(Outcome::Refused.exit_code(), 3);
    }
}
