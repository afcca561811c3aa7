//! The simulated ECS of one environment: services, deployments, tasks and their
//! lifecycles, the service scheduler, and the mutations an operator can make.
//!
//! A task moves PROVISIONING → PENDING → RUNNING, and when stopped DEACTIVATING (when it
//! sits behind a load balancer and is drained) → STOPPING → STOPPED; stopped tasks stay
//! visible for an hour. Each service's scheduler keeps its primary deployment at the
//! desired count and rolls old deployments out. This module only moves state on ticks
//! and mutations; it never reads the clock, and it writes no log lines (it leaves
//! [`EcsNote`]s for the log writer instead).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use crate::backend::{BackendError, BackendResult};
use crate::model::ecs::{
    CircuitBreaker, ClusterSnapshot, Container, Deployment, Rollout, Service, ServiceEvent,
    TargetGroupRef, Task, TaskDefinition, task_definition_revision,
};

use super::rng::SplitMix;
use super::topology::{ClusterSpec, EnvSpec, ServiceSpec, deployed_revision};

/// Ticks a task spends in PROVISIONING.
const PROVISIONING_TICKS: i64 = 1;
/// Ticks a task spends in PENDING (image pull).
const PENDING_TICKS: i64 = 2;
/// Ticks after RUNNING before a container health check first passes.
const HEALTH_GRACE_TICKS: i64 = 2;
/// Ticks a task is drained from its target groups before it is stopped.
const DRAIN_TICKS: i64 = 3;
/// Ticks in STOPPING.
const STOPPING_TICKS: i64 = 2;
/// How long stopped tasks stay visible (ms).
const STOPPED_VISIBLE_MS: i64 = 3_600_000;
/// Seconds between start attempts while a service's tasks keep failing.
const CRASH_BACKOFF_TICKS: i64 = 15;
/// Events kept per service.
const EVENTS_KEPT: usize = 50;
/// Failed tasks after which the deployment circuit breaker fails a deployment.
const CIRCUIT_BREAKER_FAILED_TASKS: u32 = 3;

/// The lifecycle phase of a task (its `lastStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Provisioning,
    Pending,
    Running,
    Deactivating,
    Stopping,
    Stopped,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "PROVISIONING",
            Self::Pending => "PENDING",
            Self::Running => "RUNNING",
            Self::Deactivating => "DEACTIVATING",
            Self::Stopping => "STOPPING",
            Self::Stopped => "STOPPED",
        }
    }

    fn container_status(self) -> &'static str {
        match self {
            Self::Provisioning | Self::Pending => "PENDING",
            Self::Running | Self::Deactivating | Self::Stopping => "RUNNING",
            Self::Stopped => "STOPPED",
        }
    }
}

/// A container health-check verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TaskHealth {
    Unknown,
    Healthy,
    Unhealthy,
}

impl TaskHealth {
    fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "UNKNOWN",
            Self::Healthy => "HEALTHY",
            Self::Unhealthy => "UNHEALTHY",
        }
    }
}

/// What happened to a task, for the log writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TaskNote {
    /// The container started.
    Started,
    /// The container was asked to stop.
    Stopping,
    /// The container exited on its own with this code.
    Crashed(i32),
    /// The container's health check failed.
    HealthFailing,
}

/// A task event left for the log writer.
#[derive(Debug, Clone)]
pub(super) struct EcsNote {
    pub cluster: usize,
    pub service: usize,
    pub stream: Arc<str>,
    pub what: TaskNote,
}

/// The task-definition revisions of an environment.
#[derive(Debug, Default)]
pub(super) struct Catalogue {
    by_arn: BTreeMap<String, TaskDefinition>,
    /// Family → ARNs, oldest first.
    families: BTreeMap<String, Vec<String>>,
}

impl Catalogue {
    pub(super) fn insert(&mut self, td: TaskDefinition) {
        self.families
            .entry(td.family.clone())
            .or_default()
            .push(td.arn.clone());
        self.by_arn.insert(td.arn.clone(), td);
    }

    /// A revision by ARN, `family:revision`, or `family` (the newest).
    pub(super) fn get(&self, key: &str) -> Option<&TaskDefinition> {
        if let Some(td) = self.by_arn.get(key) {
            return Some(td);
        }
        let short = key.rsplit_once('/').map_or(key, |(_, s)| s);
        match short.rsplit_once(':') {
            Some((family, revision)) => self
                .families
                .get(family)?
                .iter()
                .filter_map(|arn| self.by_arn.get(arn))
                .find(|td| td.revision.to_string() == revision),
            None => self
                .families
                .get(short)?
                .last()
                .and_then(|arn| self.by_arn.get(arn)),
        }
    }

    /// ARNs of a family, newest first.
    pub(super) fn revisions(&self, family: &str) -> Option<Vec<String>> {
        self.families
            .get(family)
            .map(|arns| arns.iter().rev().cloned().collect())
    }
}

/// Task counts of one service, for its scheduler.
#[derive(Debug, Clone, Copy, Default)]
struct ServiceCounts {
    running: usize,
    alive_primary: usize,
    ready_primary: usize,
    old_alive: usize,
    old_remaining: usize,
}

/// One deployment of a service.
#[derive(Debug, Clone)]
pub(super) struct SimDeployment {
    /// Cluster-unique number the tasks refer to.
    pub serial: u32,
    pub id: String,
    pub task_definition: String,
    pub rollout: Rollout,
    pub rollout_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One service.
#[derive(Debug, Clone)]
pub(super) struct SimService {
    pub spec: ServiceSpec,
    pub arn: String,
    /// The primary deployment first.
    pub deployments: Vec<SimDeployment>,
    /// Newest first.
    pub events: VecDeque<ServiceEvent>,
    pub target_groups: Vec<TargetGroupRef>,
    /// Whether the last tick found it steady (for the "steady state" event).
    pub steady: bool,
    /// Fault: its running tasks fail health checks until this tick.
    pub unhealthy_until: i64,
    /// Fault: its containers exit at start until this tick.
    pub crash_until: i64,
    /// Start no task before this tick (backoff after failures).
    pub next_start_at: i64,
    /// Fault: tasks of revisions newer than this one exit at start, until the tick.
    pub bad_release: Option<(u32, i64)>,
}

impl SimService {
    fn event(&mut self, at: i64, message: String) {
        self.events.push_front(ServiceEvent { at, message });
        self.events.truncate(EVENTS_KEPT);
    }

    /// Quorum services stop the old task before starting the new one (host data dir).
    fn stops_first(&self) -> bool {
        self.spec.kind.is_quorum()
    }

    /// Whether a container of `task_definition` exits as it starts at tick `now`.
    fn crashes_at_start(&self, task_definition: &str, now: i64) -> bool {
        now < self.crash_until
            || self.bad_release.is_some_and(|(good, until)| {
                now < until && task_definition_revision(task_definition).is_some_and(|r| r > good)
            })
    }
}

/// One task.
#[derive(Debug, Clone)]
pub(super) struct SimTask {
    pub id: String,
    pub arn: String,
    pub service: usize,
    /// Serial of its deployment.
    pub deployment: u32,
    pub task_definition: String,
    pub image: String,
    pub phase: Phase,
    /// Tick the phase was entered.
    pub since: i64,
    pub desired_running: bool,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub stopped_at: Option<i64>,
    pub stopped_reason: Option<String>,
    pub exit_code: Option<i32>,
    pub container_reason: Option<String>,
    /// Whether it counts as a failed task of its deployment.
    pub failed: bool,
    /// Why ECS cannot start it, when its task definition names a secret that does not
    /// exist: it stops before its container runs.
    pub cannot_start: Option<String>,
    /// Natural incident: fails its health check until this tick...
    pub sick_until: i64,
    /// ...and is then replaced by ECS instead of recovering.
    pub sick_kill: bool,
    /// Its log stream, `ecs/<container>/<id>`.
    pub stream: Arc<str>,
}

impl SimTask {
    /// Health-check verdict at tick `now`.
    pub(super) fn health(&self, service: &SimService, now: i64) -> TaskHealth {
        if self.phase != Phase::Running {
            return TaskHealth::Unknown;
        }
        if now < service.unhealthy_until || now < self.sick_until {
            return TaskHealth::Unhealthy;
        }
        if !service.spec.health_check || now - self.since < HEALTH_GRACE_TICKS {
            return TaskHealth::Unknown;
        }
        TaskHealth::Healthy
    }

    /// Running and serving: healthy, or running without a health check.
    fn ready(&self, service: &SimService, now: i64) -> bool {
        match self.health(service, now) {
            TaskHealth::Healthy => true,
            TaskHealth::Unknown => self.phase == Phase::Running && !service.spec.health_check,
            TaskHealth::Unhealthy => false,
        }
    }

    fn alive(&self) -> bool {
        self.desired_running && self.phase != Phase::Stopped
    }

    fn begin_stop(&mut self, now: i64, phase: Phase, reason: String) {
        self.desired_running = false;
        self.phase = phase;
        self.since = now;
        self.stopped_reason = Some(reason);
    }
}

/// One ECS cluster.
#[derive(Debug, Clone)]
pub(super) struct SimCluster {
    pub index: usize,
    pub spec: &'static ClusterSpec,
    pub ecs_name: String,
    pub services: Vec<SimService>,
    pub tasks: Vec<SimTask>,
    /// Serial of the next deployment.
    next_serial: u32,
    /// Scratch space of the scheduler.
    counts: Vec<ServiceCounts>,
    /// Ticks before this one change nothing (see [`Self::quiet_until`]).
    quiet_until: i64,
    /// Tests turn the quiet shortcut off to check that it changes nothing.
    #[cfg(test)]
    pub(super) never_quiet: bool,
}

/// What the cluster needs to know about its environment during a tick.
pub(super) struct TickContext<'a> {
    pub env: &'a EnvSpec,
    pub catalogue: &'a Catalogue,
    pub now: i64,
}

impl SimCluster {
    /// Builds a cluster as it stands at tick `start`: every service steady at its current
    /// revision, its tasks started some time ago.
    pub(super) fn new(
        env: &EnvSpec,
        index: usize,
        spec: &'static ClusterSpec,
        services: Vec<(ServiceSpec, Vec<TargetGroupRef>)>,
        catalogue: &Catalogue,
        start: i64,
        rng: &mut SplitMix,
    ) -> Self {
        let ecs_name = env.ecs_cluster(spec.name);
        let mut cluster = Self {
            index,
            spec,
            ecs_name: ecs_name.clone(),
            services: Vec::new(),
            tasks: Vec::new(),
            next_serial: 0,
            counts: Vec::new(),
            quiet_until: 0,
            #[cfg(test)]
            never_quiet: false,
        };
        for (service_spec, target_groups) in services {
            let family = env.family(spec.name, &service_spec.name);
            let td = catalogue
                .get(&format!("{family}:{}", deployed_revision(&family)))
                .map(|td| td.arn.clone())
                .unwrap_or_default();
            let deployed_at = (start - rng.range(2 * 86_400, 20 * 86_400)) * 1000;
            cluster.next_serial += 1;
            let deployment = SimDeployment {
                serial: cluster.next_serial,
                id: deployment_id(rng),
                task_definition: td,
                rollout: Rollout::Completed,
                rollout_reason: None,
                created_at: deployed_at,
                updated_at: deployed_at + 300_000,
            };
            let mut service = SimService {
                arn: env.service_arn(&ecs_name, &service_spec.name),
                spec: service_spec,
                deployments: Vec::new(),
                events: VecDeque::new(),
                target_groups,
                steady: true,
                unhealthy_until: 0,
                crash_until: 0,
                next_start_at: 0,
                bad_release: None,
            };
            service.deployments.push(deployment);
            cluster.services.push(service);
            let s = cluster.services.len() - 1;
            let mut ids = Vec::new();
            for _ in 0..cluster.services[s].spec.desired {
                let created = deployed_at + rng.range(8_000, 15_000);
                let id = cluster.start_task(env, catalogue, s, start, rng);
                if let Some(task) = cluster.tasks.last_mut() {
                    task.phase = Phase::Running;
                    task.since = start - 86_400;
                    task.created_at = created;
                    task.started_at = Some(created + rng.range(15_000, 45_000));
                }
                ids.push(format!("(task {id})"));
            }
            let service = &mut cluster.services[s];
            let name = service.spec.name.clone();
            service.event(
                deployed_at + 5_000,
                format!(
                    "(service {name}) has started {} tasks: {}.",
                    ids.len(),
                    ids.join(" ")
                ),
            );
            service.event(
                deployed_at + 300_000,
                format!(
                    "(service {name}) (deployment {}) deployment completed.",
                    service.deployments[0].id
                ),
            );
            service.event(
                (start - rng.range(600, 6 * 3600)) * 1000,
                format!("(service {name}) has reached a steady state."),
            );
        }
        cluster
    }

    /// Starts a task of the primary deployment of service `s`; returns its id.
    fn start_task(
        &mut self,
        env: &EnvSpec,
        catalogue: &Catalogue,
        s: usize,
        now: i64,
        rng: &mut SplitMix,
    ) -> String {
        let service = &self.services[s];
        let Some(deployment) = service.deployments.first() else {
            return String::new();
        };
        let id = rng.hex(32);
        let image = catalogue
            .get(&deployment.task_definition)
            .and_then(|td| td.containers.first())
            .map(|c| c.image.clone())
            .unwrap_or_default();
        self.tasks.push(SimTask {
            arn: env.task_arn(&self.ecs_name, &id),
            stream: Arc::from(format!("ecs/{}/{id}", service.spec.container)),
            id: id.clone(),
            service: s,
            deployment: deployment.serial,
            task_definition: deployment.task_definition.clone(),
            image,
            phase: Phase::Provisioning,
            since: now,
            desired_running: true,
            created_at: now * 1000,
            started_at: None,
            stopped_at: None,
            stopped_reason: None,
            exit_code: None,
            container_reason: None,
            failed: false,
            cannot_start: cannot_start(env, catalogue, &deployment.task_definition),
            sick_until: 0,
            sick_kill: false,
        });
        id
    }

    /// Moves tasks along their lifecycles and runs every service's scheduler.
    /// Returns whether anything could have changed (a quiet cluster skips the tick).
    pub(super) fn tick(
        &mut self,
        ctx: &TickContext,
        rng: &mut SplitMix,
        notes: &mut Vec<EcsNote>,
    ) -> bool {
        let quiet = ctx.now < self.quiet_until;
        #[cfg(test)]
        let quiet = quiet && !self.never_quiet;
        if quiet {
            return false;
        }
        self.advance_tasks(ctx.now, notes);
        let horizon = ctx.now * 1000 - STOPPED_VISIBLE_MS;
        let expired =
            |t: &SimTask| t.phase == Phase::Stopped && t.stopped_at.unwrap_or(0) < horizon;
        if self.tasks.iter().any(expired) {
            self.tasks.retain(|t| !expired(t));
        }
        let mut counts = std::mem::take(&mut self.counts);
        self.count_into(ctx.now, &mut counts);
        for (s, c) in counts.iter().enumerate() {
            self.schedule(ctx, s, *c, rng, notes);
        }
        self.counts = counts;
        self.quiet_until = self.quiet_until(ctx.now);
        true
    }

    /// Until when the next ticks cannot change anything: every service steady, every
    /// task running untroubled or stopped. Only the eviction of a stopped task ends the
    /// quiet. `0` when the cluster is busy.
    fn quiet_until(&self, now: i64) -> i64 {
        let services_quiet = self
            .services
            .iter()
            .all(|s| s.steady && now >= s.unhealthy_until && now >= s.crash_until);
        let tasks_quiet = self.tasks.iter().all(|t| match t.phase {
            Phase::Running => t.sick_until == 0 && t.desired_running,
            Phase::Stopped => true,
            _ => false,
        });
        if !(services_quiet && tasks_quiet) {
            return 0;
        }
        self.tasks
            .iter()
            .filter_map(|t| t.stopped_at)
            .map(|at| (at + STOPPED_VISIBLE_MS).div_euclid(1000) + 1)
            .min()
            .unwrap_or(i64::MAX)
    }

    /// Natural incident: task `i` fails its health checks until `until`, then recovers
    /// or (when `kill`) is replaced.
    pub(super) fn sicken_task(&mut self, i: usize, until: i64, kill: bool) {
        self.quiet_until = 0;
        if let Some(task) = self.tasks.get_mut(i) {
            task.sick_until = until;
            task.sick_kill = kill;
        }
    }

    fn advance_tasks(&mut self, now: i64, notes: &mut Vec<EcsNote>) {
        let at = now * 1000;
        let cluster = self.index;
        for task in &mut self.tasks {
            let service = &mut self.services[task.service];
            let age = now - task.since;
            match task.phase {
                Phase::Provisioning if age >= PROVISIONING_TICKS => {
                    task.phase = Phase::Pending;
                    task.since = now;
                }
                Phase::Pending if age >= PENDING_TICKS => {
                    if let Some(why) = &task.cannot_start {
                        // ECS cannot give the container its secrets: it never runs.
                        task.desired_running = false;
                        task.phase = Phase::Stopped;
                        task.since = now;
                        task.stopped_at = Some(at);
                        task.stopped_reason = Some(why.clone());
                        task.failed = true;
                    } else if service.crashes_at_start(&task.task_definition, now) {
                        // The container exits as soon as it starts.
                        task.desired_running = false;
                        task.phase = Phase::Stopped;
                        task.since = now;
                        task.stopped_at = Some(at);
                        task.stopped_reason = Some("Essential container in task exited".into());
                        task.exit_code = Some(1);
                        task.failed = true;
                        notes.push(note_for(cluster, task, TaskNote::Crashed(1)));
                    } else {
                        task.phase = Phase::Running;
                        task.since = now;
                        task.started_at = Some(at);
                        notes.push(note_for(cluster, task, TaskNote::Started));
                        if let Some(tg) = service.target_groups.first() {
                            let message = format!(
                                "(service {}) registered 1 targets in (target-group {})",
                                service.spec.name, tg.arn
                            );
                            service.event(at, message);
                        }
                    }
                }
                Phase::Running if task.sick_until > 0 => {
                    if now >= task.sick_until {
                        task.sick_until = 0;
                        if task.sick_kill {
                            let message = format!(
                                "(service {}) (task {}) failed container health checks.",
                                service.spec.name, task.id
                            );
                            service.event(at, message);
                            task.begin_stop(
                                now,
                                Phase::Stopping,
                                "Task failed container health checks".into(),
                            );
                            task.failed = true;
                            task.exit_code = Some(137);
                            notes.push(note_for(cluster, task, TaskNote::Stopping));
                        }
                    } else if (now - task.sick_until) % 10 == 0 {
                        notes.push(note_for(cluster, task, TaskNote::HealthFailing));
                    }
                }
                Phase::Running if now < service.unhealthy_until && age % 10 == 0 => {
                    notes.push(note_for(cluster, task, TaskNote::HealthFailing));
                }
                Phase::Deactivating if age >= DRAIN_TICKS => {
                    task.phase = Phase::Stopping;
                    task.since = now;
                }
                Phase::Stopping if age >= STOPPING_TICKS => {
                    task.phase = Phase::Stopped;
                    task.since = now;
                    task.stopped_at = Some(at);
                    task.exit_code.get_or_insert(0);
                }
                _ => {}
            }
        }
    }

    /// Counts of every service's tasks, in one pass.
    fn count_into(&self, now: i64, counts: &mut Vec<ServiceCounts>) {
        counts.clear();
        counts.resize(self.services.len(), ServiceCounts::default());
        for t in &self.tasks {
            let service = &self.services[t.service];
            let c = &mut counts[t.service];
            let primary = service.deployments.first().map(|d| d.serial) == Some(t.deployment);
            if t.phase == Phase::Running {
                c.running += 1;
            }
            if primary {
                if t.alive() {
                    c.alive_primary += 1;
                    if t.ready(service, now) {
                        c.ready_primary += 1;
                    }
                }
            } else {
                if t.alive() {
                    c.old_alive += 1;
                }
                if t.phase != Phase::Stopped {
                    c.old_remaining += 1;
                }
            }
        }
    }

    fn schedule(
        &mut self,
        ctx: &TickContext,
        s: usize,
        c: ServiceCounts,
        rng: &mut SplitMix,
        notes: &mut Vec<EcsNote>,
    ) {
        let now = ctx.now;
        let at = now * 1000;
        let Some(primary) = self.services[s].deployments.first().map(|d| d.serial) else {
            return;
        };
        let desired = self.services[s].spec.desired as usize;
        let stops_first = self.services[s].stops_first();

        // Roll the old deployments out: quorum services stop first, the others once the
        // new tasks serve.
        if c.old_alive > 0 && (stops_first || c.ready_primary >= desired) {
            let old: Vec<usize> = (0..self.tasks.len())
                .filter(|&i| {
                    let t = &self.tasks[i];
                    t.service == s && t.alive() && t.deployment != primary
                })
                .collect();
            self.stop_for_deployment(s, &old, now, notes);
        }

        self.trip_circuit_breaker(s, primary, now, rng);
        let service = &self.services[s];
        let launching = service
            .deployments
            .first()
            .is_some_and(|d| d.rollout != Rollout::Failed);
        if launching
            && c.alive_primary < desired
            && (!stops_first || c.old_remaining == 0)
            && now >= service.next_start_at
        {
            let mut ids = Vec::new();
            for _ in c.alive_primary..desired {
                let id = self.start_task(ctx.env, ctx.catalogue, s, now, rng);
                ids.push(format!("(task {id})"));
            }
            let service = &mut self.services[s];
            let td = service
                .deployments
                .first()
                .map(|d| d.task_definition.clone())
                .unwrap_or_default();
            if service.crashes_at_start(&td, now)
                || cannot_start(ctx.env, ctx.catalogue, &td).is_some()
            {
                service.next_start_at = now + CRASH_BACKOFF_TICKS;
            }
            let message = format!(
                "(service {}) has started {} tasks: {}.",
                service.spec.name,
                ids.len(),
                ids.join(" ")
            );
            service.event(at, message);
        }

        let service = &mut self.services[s];
        let rolling = service.deployments.len() > 1
            || service
                .deployments
                .first()
                .is_some_and(|d| d.rollout == Rollout::InProgress);
        if rolling && c.old_remaining == 0 && c.ready_primary >= desired {
            service.deployments.truncate(1);
            if let Some(d) = service.deployments.first_mut() {
                d.rollout = Rollout::Completed;
                d.rollout_reason = Some(format!("ECS deployment {} completed.", d.id));
                d.updated_at = at;
                let message = format!(
                    "(service {}) (deployment {}) deployment completed.",
                    service.spec.name, d.id
                );
                service.event(at, message);
            }
        }
        let steady = service.deployments.len() == 1
            && service
                .deployments
                .first()
                .is_some_and(|d| d.rollout == Rollout::Completed)
            && c.running == desired
            && c.ready_primary >= desired;
        if steady && !service.steady {
            let message = format!(
                "(service {}) has reached a steady state.",
                service.spec.name
            );
            service.event(at, message);
        }
        service.steady = steady;
    }

    /// The deployment circuit breaker, when the service has one: a rolling primary
    /// deployment (serial `primary`) with [`CIRCUIT_BREAKER_FAILED_TASKS`] failed tasks is
    /// marked FAILED, and its service stops launching it; with rollback, a new primary
    /// deployment of the previous deployment's task definition takes over, as ECS does.
    fn trip_circuit_breaker(&mut self, s: usize, primary: u32, now: i64, rng: &mut SplitMix) {
        let at = now * 1000;
        let breaker = self.services[s].spec.kind.circuit_breaker();
        let rolling = self.services[s]
            .deployments
            .first()
            .is_some_and(|d| d.rollout == Rollout::InProgress);
        if !rolling || breaker == CircuitBreaker::Off {
            return;
        }
        let failed = self
            .tasks
            .iter()
            .filter(|t| t.service == s && t.deployment == primary && t.failed)
            .count() as u32;
        let service = &mut self.services[s];
        let Some(d) = service.deployments.first_mut() else {
            return;
        };
        if failed < CIRCUIT_BREAKER_FAILED_TASKS {
            return;
        }
        d.rollout = Rollout::Failed;
        d.rollout_reason = Some(format!(
            "ECS deployment circuit breaker: {failed} tasks failed to start."
        ));
        d.updated_at = at;
        let message = format!(
            "(service {}) (deployment {}) deployment failed: tasks failed to start.",
            service.spec.name, d.id
        );
        service.event(at, message);
        let previous = service
            .deployments
            .get(1)
            .map(|d| (d.id.clone(), d.task_definition.clone()));
        if breaker != CircuitBreaker::Rollback {
            return;
        }
        let Some((previous_id, task_definition)) = previous else {
            return;
        };
        let message = format!(
            "(service {}) rolling back to deployment {previous_id}.",
            service.spec.name
        );
        service.event(at, message);
        let id = deployment_id(rng);
        self.deploy(s, task_definition, id, now);
        if let Some(d) = self.services[s].deployments.first_mut() {
            d.rollout_reason = Some(format!(
                "ECS deployment circuit breaker: rolling back to deploymentId {previous_id}."
            ));
        }
    }

    fn stop_for_deployment(
        &mut self,
        s: usize,
        tasks: &[usize],
        now: i64,
        notes: &mut Vec<EcsNote>,
    ) {
        let at = now * 1000;
        let primary = self.services[s]
            .deployments
            .first()
            .map(|d| d.id.clone())
            .unwrap_or_default();
        let drains = !self.services[s].target_groups.is_empty();
        let mut ids = Vec::new();
        for &i in tasks {
            let task = &mut self.tasks[i];
            let phase = if drains && task.phase == Phase::Running {
                Phase::Deactivating
            } else {
                Phase::Stopping
            };
            task.begin_stop(
                now,
                phase,
                format!("Scaling activity initiated by (deployment {primary})"),
            );
            ids.push(format!("(task {})", task.id));
            notes.push(note_for(self.index, task, TaskNote::Stopping));
        }
        let service = &mut self.services[s];
        let name = service.spec.name.clone();
        if let Some(tg) = service.target_groups.first().map(|t| t.arn.clone()) {
            service.event(
                at,
                format!(
                    "(service {name}) has begun draining connections on {} tasks.",
                    ids.len()
                ),
            );
            service.event(
                at,
                format!(
                    "(service {name}) deregistered {} targets in (target-group {tg})",
                    ids.len()
                ),
            );
        }
        service.event(
            at,
            format!(
                "(service {name}) has stopped {} running tasks: {}.",
                ids.len(),
                ids.join(" ")
            ),
        );
    }

    /// The index of a service by name or ARN.
    pub(super) fn service_index(&self, name_or_arn: &str) -> Option<usize> {
        self.services
            .iter()
            .position(|s| s.spec.name == name_or_arn || s.arn == name_or_arn)
    }

    /// `StopTask`: the task goes STOPPING, then STOPPED with `reason`.
    pub(super) fn stop_task(
        &mut self,
        task: &str,
        reason: &str,
        now: i64,
        notes: &mut Vec<EcsNote>,
    ) -> BackendResult<()> {
        self.quiet_until = 0;
        let Some(t) = self
            .tasks
            .iter_mut()
            .find(|t| t.id == task || t.arn == task)
        else {
            return Err(BackendError::NotFound(format!(
                "task {task} in cluster {}",
                self.ecs_name
            )));
        };
        if !t.desired_running || t.phase == Phase::Stopped {
            return Ok(());
        }
        let reason = if reason.is_empty() {
            "Task stopped by user".to_string()
        } else {
            reason.to_string()
        };
        t.begin_stop(now, Phase::Stopping, reason);
        notes.push(note_for(self.index, t, TaskNote::Stopping));
        Ok(())
    }

    /// `UpdateService`: a new primary deployment of `task_definition`, rolled out by the
    /// scheduler on the next ticks.
    pub(super) fn deploy(&mut self, s: usize, task_definition: String, id: String, now: i64) {
        self.quiet_until = 0;
        let at = now * 1000;
        self.next_serial += 1;
        let serial = self.next_serial;
        let service = &mut self.services[s];
        service.deployments.insert(
            0,
            SimDeployment {
                serial,
                rollout_reason: Some(format!("ECS deployment {id} in progress.")),
                id,
                task_definition,
                rollout: Rollout::InProgress,
                created_at: at,
                updated_at: at,
            },
        );
        service.steady = false;
    }

    /// Fault: every live task of service `s` exits, and new ones exit at start, until
    /// tick `until`.
    pub(super) fn crash_service(
        &mut self,
        s: usize,
        until: i64,
        now: i64,
        notes: &mut Vec<EcsNote>,
    ) {
        self.quiet_until = 0;
        self.services[s].crash_until = until;
        for t in self
            .tasks
            .iter_mut()
            .filter(|t| t.service == s && t.alive())
        {
            t.begin_stop(
                now,
                Phase::Stopping,
                "Essential container in task exited".into(),
            );
            t.exit_code = Some(1);
            t.failed = true;
            notes.push(note_for(self.index, t, TaskNote::Crashed(1)));
        }
    }

    /// Fault: tasks of revisions newer than the one service `s` runs now exit at start,
    /// until tick `until`.
    pub(super) fn fail_newer_revisions(&mut self, s: usize, until: i64) {
        self.quiet_until = 0;
        let service = &mut self.services[s];
        let running = service
            .deployments
            .first()
            .and_then(|d| task_definition_revision(&d.task_definition))
            .unwrap_or(0);
        service.bad_release = Some((running, until));
    }

    /// Fault: the running tasks of service `s` fail health checks until tick `until`.
    pub(super) fn sicken_service(&mut self, s: usize, until: i64, now: i64) {
        self.quiet_until = 0;
        let at = now * 1000;
        let service = &mut self.services[s];
        service.unhealthy_until = until;
        let running: Vec<String> = self
            .tasks
            .iter()
            .filter(|t| t.service == s && t.phase == Phase::Running)
            .map(|t| t.id.clone())
            .collect();
        for id in running {
            let message = match service.target_groups.first() {
                Some(tg) => format!(
                    "(service {}) (task {id}) (port {}) is unhealthy in (target-group {}) due to (reason Health checks failed).",
                    service.spec.name, tg.port, tg.arn
                ),
                None => format!(
                    "(service {}) (task {id}) failed container health checks.",
                    service.spec.name
                ),
            };
            service.event(at, message);
        }
    }

    /// Natural incident: a running task exits with `exit_code`.
    pub(super) fn crash_task(
        &mut self,
        i: usize,
        exit_code: i32,
        container_reason: Option<String>,
        now: i64,
        notes: &mut Vec<EcsNote>,
    ) {
        self.quiet_until = 0;
        let task = &mut self.tasks[i];
        task.begin_stop(
            now,
            Phase::Stopping,
            "Essential container in task exited".into(),
        );
        task.exit_code = Some(exit_code);
        task.container_reason = container_reason;
        task.failed = exit_code != 0;
        notes.push(note_for(self.index, task, TaskNote::Crashed(exit_code)));
    }

    /// The cluster as `EcsApi::snapshot` reports it at tick `now`.
    pub(super) fn snapshot(&self, now: i64, catalogue: &Catalogue) -> ClusterSnapshot {
        let mut order: Vec<usize> = (0..self.services.len()).collect();
        order.sort_by(|&a, &b| self.services[a].spec.name.cmp(&self.services[b].spec.name));
        let mut services = Vec::new();
        let mut tasks = Vec::new();
        let mut referenced = BTreeSet::new();
        for s in order {
            let service = &self.services[s];
            let mut own: Vec<&SimTask> = self.tasks.iter().filter(|t| t.service == s).collect();
            own.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
            services.push(service_model(service, &own));
            for t in &own {
                referenced.insert(t.task_definition.clone());
                tasks.push(task_model(t, service, now));
            }
            for d in &service.deployments {
                referenced.insert(d.task_definition.clone());
            }
        }
        ClusterSnapshot {
            cluster: self.ecs_name.clone(),
            services,
            tasks,
            task_definitions: referenced
                .into_iter()
                .filter_map(|arn| catalogue.get(&arn).map(|td| (arn, td.clone())))
                .collect(),
        }
    }
}

fn service_model(service: &SimService, tasks: &[&SimTask]) -> Service {
    let count = |deployment: Option<u32>, phases: &[Phase]| {
        tasks
            .iter()
            .filter(|t| deployment.is_none_or(|d| t.deployment == d))
            .filter(|t| phases.contains(&t.phase))
            .count() as u32
    };
    let pending = [Phase::Provisioning, Phase::Pending];
    let deployments = service
        .deployments
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let alive = tasks
                .iter()
                .filter(|t| t.deployment == d.serial && t.alive())
                .count() as u32;
            Deployment {
                id: d.id.clone(),
                status: if i == 0 { "PRIMARY" } else { "ACTIVE" }.into(),
                task_definition: d.task_definition.clone(),
                desired: if i == 0 { service.spec.desired } else { alive },
                running: count(Some(d.serial), &[Phase::Running]),
                pending: count(Some(d.serial), &pending),
                failed: tasks
                    .iter()
                    .filter(|t| t.deployment == d.serial && t.failed)
                    .count() as u32,
                rollout: d.rollout,
                rollout_reason: d.rollout_reason.clone(),
                created_at: Some(d.created_at),
                updated_at: Some(d.updated_at),
            }
        })
        .collect();
    Service {
        name: service.spec.name.clone(),
        arn: service.arn.clone(),
        status: "ACTIVE".into(),
        desired: service.spec.desired,
        running: count(None, &[Phase::Running]),
        pending: count(None, &pending),
        task_definition: service
            .deployments
            .first()
            .map(|d| d.task_definition.clone())
            .unwrap_or_default(),
        deployments,
        events: service.events.iter().cloned().collect(),
        target_groups: service.target_groups.clone(),
        circuit_breaker: service.spec.kind.circuit_breaker(),
    }
}

fn task_model(t: &SimTask, service: &SimService, now: i64) -> Task {
    let health = t.health(service, now).as_str();
    Task {
        id: t.id.clone(),
        arn: t.arn.clone(),
        service: Some(service.spec.name.clone()),
        task_definition: t.task_definition.clone(),
        last_status: t.phase.as_str().into(),
        desired_status: if t.desired_running {
            "RUNNING"
        } else {
            "STOPPED"
        }
        .into(),
        health_status: health.into(),
        created_at: Some(t.created_at),
        started_at: t.started_at,
        stopped_at: t.stopped_at,
        stopped_reason: t.stopped_reason.clone(),
        containers: vec![Container {
            name: service.spec.container.into(),
            image: t.image.clone(),
            last_status: t.phase.container_status().into(),
            health_status: health.into(),
            exit_code: if t.phase == Phase::Stopped {
                t.exit_code
            } else {
                None
            },
            reason: t.container_reason.clone(),
        }],
        // As ECS Exec would be set up on the real services; the demo world opens no
        // session (`x` says so).
        enable_execute_command: true,
    }
}

fn note_for(cluster: usize, task: &SimTask, what: TaskNote) -> EcsNote {
    EcsNote {
        cluster,
        service: task.service,
        stream: task.stream.clone(),
        what,
    }
}

/// Why ECS cannot start a task of `task_definition`: an SSM parameter it names that the
/// environment does not have (the demo's one, see `EnvSpec::has_parameter`).
fn cannot_start(env: &EnvSpec, catalogue: &Catalogue, task_definition: &str) -> Option<String> {
    let td = catalogue.get(task_definition)?;
    let missing = td
        .containers
        .iter()
        .flat_map(|c| c.secrets.iter())
        .filter_map(|(_, from)| from.split_once(":parameter").map(|(_, name)| name))
        .find(|name| !env.has_parameter(name))?;
    Some(format!(
        "ResourceInitializationError: unable to pull secrets or registry auth: invalid ssm \
         parameters: {missing}"
    ))
}

/// A deployment id like `ecs-svc/3975218648271956352`.
pub(super) fn deployment_id(rng: &mut SplitMix) -> String {
    format!(
        "ecs-svc/{}",
        1_000_000_000_000_000_000 + rng.below(8_000_000_000_000_000_000)
    )
}
