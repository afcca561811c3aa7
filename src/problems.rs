//! "What is wrong now": every current problem across environments, worst first.
//!
//! A pure function of the observed world ([`current`]); the overview's top panel and
//! `status` show the same list. The request path ([`crate::path`]) adds where it breaks and which
//! load balancers have unhealthy targets (or too many 5xx, or slow answers); CloudWatch adds
//! services over their CPU or memory threshold and every alarm in ALARM, on what its
//! dimensions name. How long a problem has lasted is remembered by
//! [`ProblemSince`], updated whenever data arrives.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::clock::{EpochMs, coarse_age};
use crate::model::Health;
use crate::model::ecs::Rollout;
use crate::model::quorum::{NodeRole, NodeState};
use crate::path::{Hop, HopKind, Jump, first_broken_hop};
use crate::quorum::judge_chain;
use crate::world::World;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something is down or about to break the request path.
    Critical,
    /// Degraded, or worth a look.
    Warning,
}

/// Where a problem is, so a key can jump there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Environment index.
    #[serde(skip)]
    pub env: usize,
    /// Cluster index.
    #[serde(skip)]
    pub cluster: usize,
    /// The service, when the problem is a service's.
    #[serde(skip)]
    pub service: Option<String>,
}

/// One current problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Critical or warning.
    pub severity: Severity,
    /// Environment name.
    pub environment: String,
    /// Cluster name.
    pub cluster: String,
    /// What is affected: a service, a node, `ecs`, `alb`, `chain`.
    pub subject: String,
    /// One line for a person.
    pub summary: String,
    /// Since when (ms); filled from [`ProblemSince`].
    pub since: EpochMs,
    /// What an experienced operator would do next, with its key when the console does
    /// it (`s: switch the ALB to general-2 (synced)`).
    pub next_step: Option<String>,
    /// Where to jump.
    #[serde(skip)]
    pub location: Location,
}

impl Problem {
    /// A key identifying the problem across polls (for "since").
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}/{:?}/{}",
            self.environment,
            self.cluster,
            self.subject,
            self.severity,
            self.summary.split(':').next().unwrap_or_default()
        )
    }
}

/// When each current problem was first seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProblemSince {
    first_seen: BTreeMap<String, EpochMs>,
}

impl ProblemSince {
    /// Remembers the problems present at `now`, forgetting those that went away, and
    /// fills in each problem's `since`.
    pub fn track(&mut self, problems: &mut [Problem], now: EpochMs) {
        let mut next = BTreeMap::new();
        for p in problems.iter_mut() {
            let key = p.key();
            let seen = self.first_seen.get(&key).copied().unwrap_or(now);
            // A problem that knows its own start (an error's first occurrence, the age of
            // stale data) keeps it; others date from when they were first seen here.
            let since = if p.since > 0 { p.since } else { seen };
            p.since = since;
            next.insert(key, since);
        }
        self.first_seen = next;
    }
}

/// Every current problem, worst first (critical before warning, then environment and
/// cluster order).
pub fn current(world: &World) -> Vec<Problem> {
    let mut out = Vec::new();
    let now = world.now;
    for (ei, env) in world.envs.iter().enumerate() {
        for (ci, c) in env.clusters.iter().enumerate() {
            // A lock past its lease: the console that held it died, or cannot renew.
            let prefix = format!("{}/{}", env.name, c.name);
            for lock in env.locks.iter().filter(|l| {
                l.lock_id == prefix
                    || l.lock_id
                        .strip_prefix(&prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
            }) {
                let expires_ms = lock.expires_at.saturating_mul(1000);
                if expires_ms >= now {
                    crate::clock::note_change_in(expires_ms - now + 1000);
                    continue;
                }
                let service = lock.lock_id.strip_prefix(&format!("{prefix}/"));
                out.push(Problem {
                    severity: Severity::Warning,
                    environment: env.name.clone(),
                    cluster: c.name.clone(),
                    subject: service.unwrap_or("lock").to_string(),
                    summary: format!(
                        "lock of {} past its lease by {}: its console may have died ({})",
                        lock.owner,
                        coarse_age(now - expires_ms),
                        lock.action
                    ),
                    since: expires_ms,
                    next_step: Some(format!(
                        "look at the resource, then `ibet-console unlock --env {} --lock {}` (the next op takes it over anyway)",
                        env.name, lock.lock_id
                    )),
                    location: Location {
                        env: ei,
                        cluster: ci,
                        service: service.map(str::to_string),
                    },
                });
            }
            let mut push = |severity,
                            subject: &str,
                            summary: String,
                            since: EpochMs,
                            service: Option<String>| {
                out.push(Problem {
                    severity,
                    environment: env.name.clone(),
                    cluster: c.name.clone(),
                    subject: subject.to_string(),
                    summary,
                    since,
                    next_step: None,
                    location: Location {
                        env: ei,
                        cluster: ci,
                        service,
                    },
                });
            };
            // ECS data itself.
            if let Some(e) = &c.ecs.error {
                push(
                    Severity::Critical,
                    "ecs",
                    format!("cannot read ECS: {}", e.error),
                    e.since,
                    None,
                );
            } else if let Some(t) = c.ecs.stale_since(now, world.stale_after_ms()) {
                push(
                    Severity::Warning,
                    "ecs",
                    format!("data is stale: {} old", coarse_age(now - t)),
                    t,
                    None,
                );
            }
            if let Some(snap) = &c.ecs.data {
                // One pass over the tasks, not three per service: this runs on every
                // data message, and a large cluster has thousands of tasks.
                let by_service = snap.tasks_by_service();
                for s in &snap.services {
                    let svc = Some(s.name.clone());
                    let tasks = by_service
                        .get(s.name.as_str())
                        .map_or(&[][..], Vec::as_slice);
                    let health = s.health(tasks.iter().copied());
                    if s.desired > 0 && s.running == 0 {
                        push(
                            Severity::Critical,
                            &s.name,
                            format!("no task running: 0/{} (pending {})", s.desired, s.pending),
                            0,
                            svc.clone(),
                        );
                    } else if s.running < s.desired {
                        push(
                            Severity::Warning,
                            &s.name,
                            format!("below desired: {}/{} running", s.running, s.desired),
                            0,
                            svc.clone(),
                        );
                    }
                    // ECS's circuit breaker put the previous revision back: the
                    // failed deployment is no longer the service's.
                    let rolled_back = s
                        .deployments
                        .iter()
                        .filter(|d| d.rollout == Rollout::Failed)
                        .find(|d| d.task_definition != s.task_definition);
                    match s.rollout() {
                        Rollout::Failed if rolled_back.is_some() => push(
                            Severity::Warning,
                            &s.name,
                            format!(
                                "rolled back by ECS: the rollout of {} failed",
                                rolled_back.map_or("", |d| {
                                    crate::model::ecs::short_task_definition(&d.task_definition)
                                })
                            ),
                            0,
                            svc.clone(),
                        ),
                        Rollout::Failed => push(
                            Severity::Critical,
                            &s.name,
                            "rollout failed".into(),
                            0,
                            svc.clone(),
                        ),
                        Rollout::InProgress => push(
                            Severity::Warning,
                            &s.name,
                            "rollout in progress".into(),
                            0,
                            svc.clone(),
                        ),
                        _ => {}
                    }
                    let unhealthy = tasks
                        .iter()
                        .filter(|t| t.is_running() && t.health_status == "UNHEALTHY")
                        .count();
                    if unhealthy > 0 && health != Health::Down {
                        push(
                            Severity::Warning,
                            &s.name,
                            format!("health check failing: {unhealthy} task(s) UNHEALTHY"),
                            0,
                            svc.clone(),
                        );
                    }
                    let (cpu, memory) =
                        crate::path::readings::service_usage(&env.metrics, &c.ecs_cluster, &s.name);
                    let limits = &world.metric_thresholds;
                    for (what, value, limit) in [
                        ("CPU", cpu, limits.cpu_warn_pct),
                        ("memory", memory, limits.memory_warn_pct),
                    ] {
                        if let Some(value) = value
                            && value > limit as f64
                        {
                            push(
                                Severity::Warning,
                                &s.name,
                                format!("{what} high: {value:.0} % (above {limit} %)"),
                                0,
                                svc.clone(),
                            );
                        }
                    }
                    // Tasks a deployment replaced stopped as planned, not by failing.
                    let stopped: Vec<_> = tasks
                        .iter()
                        .filter(|t| t.is_stopped() && !replaced_by_deployment(t))
                        .collect();
                    if stopped.len() >= 3 {
                        let reason = stopped
                            .iter()
                            .find_map(|t| t.stopped_reason.as_deref())
                            .unwrap_or("no reason given");
                        push(
                            Severity::Warning,
                            &s.name,
                            format!(
                                "tasks stopping repeatedly: {} in the last hour ({reason})",
                                stopped.len()
                            ),
                            0,
                            svc.clone(),
                        );
                    }
                }
            }
            // ALB switch.
            let active = c
                .switch
                .as_ref()
                .and_then(|p| p.data.as_ref())
                .and_then(|v| v.active().map(str::to_string));
            if let Some(sw) = &c.switch {
                if let Some(e) = &sw.error {
                    push(
                        Severity::Warning,
                        "alb",
                        format!("cannot read the internal ALB: {}", e.error),
                        e.since,
                        None,
                    );
                } else if sw.data.is_some() && active.is_none() {
                    push(
                        Severity::Critical,
                        "alb",
                        "internal ALB forwards to no single general node".into(),
                        0,
                        None,
                    );
                }
            }
            // Quorum nodes.
            for v in env.node_views(ci, now, &world.thresholds) {
                let is_active = active.as_deref() == Some(v.name.as_str());
                let severity = match (v.state, is_active) {
                    (NodeState::Down, _) | (NodeState::Lagging | NodeState::Stalled, true) => {
                        Severity::Critical
                    }
                    (NodeState::Lagging | NodeState::Stalled, false) => Severity::Warning,
                    // A failed read is a problem before it is a verdict.
                    (NodeState::Unknown, _) if v.consecutive_failures > 0 => Severity::Warning,
                    _ => continue,
                };
                let who = if is_active { " (ALB active)" } else { "" };
                push(
                    severity,
                    &v.name,
                    format!("{}{who}: {}", v.state.as_str(), v.reason),
                    0,
                    None,
                );
            }
            if c.nodes
                .iter()
                .any(|n| n.config.role == crate::model::quorum::NodeRole::Validator)
            {
                let chain = judge_chain(c.nodes.iter().map(|n| &n.history), now, &world.thresholds);
                if chain.reachable > 0 || chain.validators_configured > 0 {
                    if chain.faults_left < 0 {
                        push(
                            Severity::Critical,
                            "chain",
                            format!("cannot produce blocks: {}", chain.reason),
                            0,
                            None,
                        );
                    } else if chain.faults_left == 0 && chain.fault_tolerance > 0 {
                        push(
                            Severity::Critical,
                            "chain",
                            format!("fault tolerance used up: {}", chain.reason),
                            0,
                            None,
                        );
                    }
                }
            }
            out.extend(path_problems(world, ei, ci));
        }
        out.extend(cloudwatch_problems(world, ei));
    }
    for p in &mut out {
        p.next_step = next_step(world, p);
    }
    out.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(a.location.env.cmp(&b.location.env))
            .then(a.location.cluster.cmp(&b.location.cluster))
    });
    out
}

/// The problems of a cluster's request path: the hop where it breaks, the load balancers
/// with unhealthy targets further along, and a load-balancer read that failed.
fn path_problems(world: &World, env_index: usize, cluster_index: usize) -> Vec<Problem> {
    let mut out = Vec::new();
    let (Some(env), Some(cluster)) = (
        world.envs.get(env_index),
        world
            .envs
            .get(env_index)
            .and_then(|e| e.clusters.get(cluster_index)),
    ) else {
        return out;
    };
    let problem = |severity, subject: &str, summary: String, since, location| Problem {
        severity,
        environment: env.name.clone(),
        cluster: cluster.name.clone(),
        subject: subject.to_string(),
        summary,
        since,
        next_step: None,
        location,
    };
    let here = |service: Option<String>| Location {
        env: env_index,
        cluster: cluster_index,
        service,
    };
    if let Some(e) = &cluster.paths.error {
        out.push(problem(
            Severity::Warning,
            "elb",
            format!("cannot read the load balancers: {}", e.error),
            e.since,
            here(None),
        ));
    }
    let Some(path) = crate::path::for_cluster(world, env_index, cluster_index) else {
        return out;
    };
    let severity_of = |hop: &Hop| match hop.health {
        Health::Down => Some(Severity::Critical),
        Health::Degraded => Some(Severity::Warning),
        Health::Ok | Health::Unknown => None,
    };
    let location_of = |hop: &Hop| match &hop.jump {
        Some(Jump::Service(service)) => here(Some(service.clone())),
        Some(Jump::Node(node)) => here(
            cluster
                .nodes
                .iter()
                .find(|n| &n.config.name == node)
                .and_then(|n| n.config.service.clone()),
        ),
        Some(Jump::Validators) => Location {
            env: env_index,
            cluster: env
                .clusters
                .iter()
                .position(|c| c.nodes.iter().any(|n| n.config.role == NodeRole::Validator))
                .unwrap_or(cluster_index),
            service: None,
        },
        None => here(None),
    };
    let broken = first_broken_hop(&path);
    if let Some(hop) = broken
        && let Some(severity) = severity_of(hop)
    {
        let word = if hop.health == Health::Down {
            "broken"
        } else {
            "degraded"
        };
        out.push(problem(
            severity,
            "path",
            format!("request path {word} at {}", hop.spelled_out()),
            0,
            location_of(hop),
        ));
    }
    for hop in path
        .hops
        .iter()
        .filter(|h| (h.kind == HopKind::LoadBalancer || h.kind.is_resource()) && Some(*h) != broken)
    {
        let (Some(severity), Some(reason)) = (severity_of(hop), &hop.reason) else {
            continue;
        };
        let subject = match (&hop.jump, hop.kind) {
            (Some(Jump::Service(service)), _) => service.as_str(),
            (_, HopKind::LoadBalancer) => "elb",
            _ => hop.label.as_str(),
        };
        out.push(problem(
            severity,
            subject,
            format!("{}: {reason}", hop.name),
            0,
            location_of(hop),
        ));
    }
    out
}

/// The CloudWatch problems of environment `ei`: each alarm in ALARM, critical, on the
/// service, load balancer or cluster its dimensions name (the first cluster when they
/// name none of them); and a read of the metrics or the alarms that failed.
fn cloudwatch_problems(world: &World, ei: usize) -> Vec<Problem> {
    let mut out = Vec::new();
    let Some(env) = world.envs.get(ei) else {
        return out;
    };
    let Some(first) = env.clusters.first() else {
        return out;
    };
    let problem = |severity, ci: usize, subject: &str, summary: String, since, service| Problem {
        severity,
        environment: env.name.clone(),
        cluster: env
            .clusters
            .get(ci)
            .map_or_else(|| first.name.clone(), |c| c.name.clone()),
        subject: subject.to_string(),
        summary,
        since,
        next_step: None,
        location: Location {
            env: ei,
            cluster: ci,
            service,
        },
    };
    for (subject, what, panel_error) in [
        ("metrics", "CloudWatch metrics", env.metrics.error.as_ref()),
        ("alarms", "CloudWatch alarms", env.alarms.error.as_ref()),
    ] {
        if let Some(e) = panel_error {
            out.push(problem(
                Severity::Warning,
                0,
                subject,
                format!("cannot read {what}: {}", e.error),
                e.since,
                None,
            ));
        }
    }
    for alarm in env.alarms.data.iter().flatten() {
        let (ci, subject, service) = alarm_place(env, alarm);
        let reason = crate::text::sanitize(&alarm.reason);
        out.push(problem(
            Severity::Critical,
            ci,
            &subject,
            format!("alarm {}: {reason}", crate::text::sanitize(&alarm.name)),
            alarm.since.max(1),
            service,
        ));
    }
    out
}

/// Where an alarm belongs: the cluster, the subject (a service, `alb`, `alarm`) and the
/// service to jump to, read from its dimensions.
fn alarm_place(
    env: &crate::world::EnvState,
    alarm: &crate::model::metrics::Alarm,
) -> (usize, String, Option<String>) {
    if let Some(ecs) = alarm.dimension("ClusterName")
        && let Some(ci) = env.clusters.iter().position(|c| c.ecs_cluster == ecs)
    {
        return match alarm.dimension("ServiceName") {
            Some(service) => (
                ci,
                crate::text::sanitize(service),
                Some(service.to_string()),
            ),
            None => (ci, "ecs".to_string(), None),
        };
    }
    if let Some(lb) = alarm.dimension("LoadBalancer") {
        let group = alarm.dimension("TargetGroup");
        for (ci, c) in env.clusters.iter().enumerate() {
            let Some(topology) = c.paths.data.as_ref() else {
                continue;
            };
            let has_lb = topology
                .load_balancers
                .iter()
                .any(|l| crate::model::metrics::lb_dimension(&l.arn) == Some(lb));
            if !has_lb {
                continue;
            }
            // The service behind the alarm's target group, when it names one.
            let service = group.and_then(|g| {
                c.ecs.data.as_ref()?.services.iter().find(|s| {
                    s.target_groups
                        .iter()
                        .any(|t| crate::model::metrics::target_group_dimension(&t.arn) == Some(g))
                })
            });
            return match service {
                Some(s) => (ci, s.name.clone(), Some(s.name.clone())),
                None => (ci, "alb".to_string(), None),
            };
        }
    }
    let named = |c: &&crate::world::ClusterState| {
        let r = &c.resources;
        alarm
            .dimension("WebACL")
            .is_some_and(|w| r.waf_web_acl.as_deref() == Some(w))
            || alarm
                .dimension("DBInstanceIdentifier")
                .is_some_and(|d| r.rds_instances.iter().any(|i| i == d))
            || alarm
                .dimension("QueueName")
                .is_some_and(|q| r.sqs_queues.iter().any(|i| i == q))
    };
    match env.clusters.iter().position(|c| named(&c)) {
        Some(ci) => (ci, "alarm".to_string(), None),
        None => (0, "alarm".to_string(), None),
    }
}

/// The step an experienced operator would take for `p`, with the console's key for it.
fn next_step(world: &World, p: &Problem) -> Option<String> {
    let env = world.envs.get(p.location.env)?;
    let cluster = env.clusters.get(p.location.cluster)?;
    let what = p.summary.split(':').next().unwrap_or_default();
    if let Some(service) = p.location.service.as_deref().and_then(|name| {
        cluster
            .ecs
            .data
            .as_ref()?
            .services
            .iter()
            .find(|s| s.name == name)
    }) {
        return match what {
            "rollout failed" => Some(rollback_step(service)),
            "no task running"
            | "below desired"
            | "tasks stopping repeatedly"
            | "rolled back by ECS" => Some("Enter: its tasks and their stop reasons".to_string()),
            "health check failing" => Some("l: the logs of its tasks".to_string()),
            _ if what.starts_with("alarm ") || what.ends_with(" high") => {
                Some("Enter: its tasks; l: their logs".to_string())
            }
            _ => None,
        };
    }
    if let Some(node) = cluster.nodes.iter().find(|n| n.config.name == p.subject) {
        return node_step(world, env, p, node);
    }
    match p.subject.as_str() {
        "ecs" if what == "data is stale" => Some("Ctrl-r: read it again now".to_string()),
        "ecs" => cluster
            .ecs
            .error
            .as_ref()
            .and_then(|e| e.error.hint())
            .map(|hint| format!("{hint}, then Ctrl-r")),
        "chain" => Some(
            "restart the validators that are down one at a time (r on its task), \
             each back before the next"
                .to_string(),
        ),
        "alb" if what.starts_with("alarm ") => {
            Some("p: the request path, its numbers beside its health".to_string())
        }
        "alb" => Some("s: point the internal ALB at one synced general node".to_string()),
        "metrics" | "alarms" => {
            let panel_error = if p.subject == "metrics" {
                env.metrics.error.as_ref()
            } else {
                env.alarms.error.as_ref()
            };
            panel_error.and_then(|e| e.error.hint())
        }
        _ => Some("p: the request path, at the hop that breaks".to_string()),
    }
}

/// `b` and the revision it rolls back to, when the service's deployments name it.
fn rollback_step(service: &crate::model::ecs::Service) -> String {
    let previous = service
        .deployments
        .iter()
        .filter(|d| d.task_definition != service.task_definition)
        .filter_map(|d| crate::model::ecs::task_definition_revision(&d.task_definition))
        .max();
    match previous {
        Some(revision) => format!("b: roll back to :{revision}"),
        None => "b: roll back one step".to_string(),
    }
}

/// The next step for a Quorum node's problem: switch away from an active general node
/// that fell behind when the other is synced; restart a validator alone while the chain
/// can spare it.
fn node_step(
    world: &World,
    env: &crate::world::EnvState,
    p: &Problem,
    node: &crate::world::NodeSlot,
) -> Option<String> {
    let views = env.node_views(p.location.cluster, world.now, &world.thresholds);
    match node.config.role {
        NodeRole::General => {
            let active = p.summary.contains("(ALB active)");
            let synced_other = views.iter().find(|v| {
                v.role == NodeRole::General
                    && v.name != node.config.name
                    && v.state == NodeState::Synced
            });
            match (active, synced_other) {
                (true, Some(other)) => {
                    Some(format!("s: switch the ALB to {} (synced)", other.name))
                }
                (true, None) => Some(
                    "no synced general node to switch to: look at both nodes' logs (l)".to_string(),
                ),
                (false, _) => Some(
                    "not behind the ALB, users are not affected: restart it (r) when convenient"
                        .to_string(),
                ),
            }
        }
        NodeRole::Validator => {
            let chain = judge_chain(
                env.clusters
                    .get(p.location.cluster)?
                    .nodes
                    .iter()
                    .map(|n| &n.history),
                world.now,
                &world.thresholds,
            );
            let left = chain.faults_left.max(0);
            Some(format!(
                "restart it alone (r on its task): the chain tolerates {left} more failure{}",
                if left == 1 { "" } else { "s" }
            ))
        }
    }
}

/// Whether ECS stopped `task` to roll a deployment out (its stop reason says so).
fn replaced_by_deployment(task: &crate::model::ecs::Task) -> bool {
    task.stopped_reason
        .as_deref()
        .is_some_and(|r| r.starts_with("Scaling activity initiated by (deployment"))
}
