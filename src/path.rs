//! The request path of a wallet-shaped cluster (node-api, issuer, bank), hop by hop:
//! external ALB → nginx-proxy tasks → internal ALB → API tasks, and internal ALB →
//! the active Quorum general node → the validators behind it. It answers the on-call
//! engineer's first question at night: where is the path broken?
//!
//! [`build`] turns what the pollers saw (the ECS snapshot, the ELBv2 path topology, the
//! internal-ALB switch, the judged Quorum nodes and the validators' chain) into a
//! [`RequestPath`]: one [`Hop`] per line with a health, a detail and where Enter jumps.
//! [`first_broken_hop`] picks the hop to name: the first one that is down, else the first
//! one that is degraded. Which target groups belong to which hop is read from the data,
//! not from names: a group behind an internet-facing load balancer is the external
//! entry, one behind an internal load balancer an inner hop, and a group of the ALB
//! switch (or of a Quorum node's service, or asked for but claimed by no service) is the
//! Quorum route. Only before the load balancers are known does a service's name decide
//! (`nginx…` is the entry).
//!
//! [`readings`] puts CloudWatch's numbers on the hops (requests, 5xx, p95) and adds the
//! WAF, database and queue hops of the cluster's config.
//!
//! Pure: no I/O, no clock reads, no screen; it changes nothing.

use std::fmt::Write as _;

use serde::Serialize;

pub mod readings;

pub use readings::Reading;

use crate::config::AlbSwitch;
use crate::model::Health;
use crate::model::alb::{
    LoadBalancerScheme, PathLoadBalancer, PathTargetGroup, PathTopology, SwitchMember, SwitchMode,
    SwitchView, TargetHealth,
};
use crate::model::ecs::{ClusterSnapshot, Rollout, Service, TargetGroupRef};
use crate::model::quorum::{NodeRole, NodeState};
use crate::problems::Location;
use crate::quorum::{ChainView, NodeView, judge_chain};
use crate::world::{ClusterAddr, Panel, World};

/// Where Enter on a hop takes the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum Jump {
    /// The tasks screen of this service of the cluster.
    Service(String),
    /// This Quorum node of the cluster (its service's tasks, when it has one).
    Node(String),
    /// The environment's validators (the cluster that runs them).
    Validators,
}

/// What a hop stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HopKind {
    /// A load balancer and the health of the targets it forwards to.
    LoadBalancer,
    /// An ECS service's tasks.
    Service,
    /// The internal ALB's route to the Quorum general nodes.
    Switch,
    /// The active Quorum general node.
    Node,
    /// The validators that make the blocks.
    Validators,
    /// The WAF web ACL in front of the external ALB.
    Waf,
    /// An RDS instance the API uses.
    Database,
    /// An SQS queue (the bank link).
    Queue,
}

impl HopKind {
    /// Whether the hop is known from CloudWatch alone (WAF, RDS, SQS): without data it
    /// is not judged, and the path is not "not known yet" for it.
    pub fn is_resource(self) -> bool {
        matches!(self, Self::Waf | Self::Database | Self::Queue)
    }
}

/// One hop of the request path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// What the hop is, e.g. `internal ALB → api`.
    pub name: String,
    /// A short label for the one-line summary, e.g. `api`.
    pub label: String,
    /// What kind of hop.
    pub kind: HopKind,
    /// Its health.
    pub health: Health,
    /// One line of what was seen: targets, tasks, the active node, the validators.
    pub detail: String,
    /// Why it is not ok, when it is not (e.g. `0/2 targets healthy
    /// (Target.FailedHealthChecks)`).
    pub reason: Option<String>,
    /// Where Enter goes.
    pub jump: Option<Jump>,
    /// What CloudWatch says of it (requests, 5xx, response times; the WAF's, the
    /// database's, the queue's numbers), `null` where there is no data.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "readings::as_map"
    )]
    pub metrics: Vec<Reading>,
    /// The target group the hop forwards to, for its metrics.
    #[serde(skip)]
    pub target_group: Option<String>,
}

impl Hop {
    /// `name: reason`, the hop as a problem line.
    pub fn spelled_out(&self) -> String {
        match &self.reason {
            Some(reason) => format!("{}: {reason}", self.name),
            None => format!("{}: {}", self.name, self.detail),
        }
    }

    fn new(name: impl Into<String>, label: impl Into<String>, kind: HopKind) -> Self {
        Self {
            name: name.into(),
            label: label.into(),
            kind,
            health: Health::Unknown,
            detail: String::new(),
            reason: None,
            jump: None,
            metrics: Vec::new(),
            target_group: None,
        }
    }
}

/// A cluster's request path, outside in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RequestPath {
    /// The hops in the order a request meets them.
    pub hops: Vec<Hop>,
}

impl RequestPath {
    /// One line telling where the path stands: `broken at …`, `degraded at …`, `not known
    /// yet: …` or `healthy end to end`.
    pub fn verdict(&self) -> String {
        if let Some(hop) = first_broken_hop(self) {
            let word = if hop.health == Health::Down {
                "broken"
            } else {
                "degraded"
            };
            return format!("{word} at {}", hop.spelled_out());
        }
        let unknown: Vec<&str> = self
            .hops
            .iter()
            .filter(|h| h.health == Health::Unknown)
            .map(|h| h.name.as_str())
            .collect();
        let unknown: Vec<&str> = unknown
            .into_iter()
            .filter(|name| {
                self.hops
                    .iter()
                    .any(|h| h.name == *name && !h.kind.is_resource())
            })
            .collect();
        if unknown.is_empty() {
            "healthy end to end".to_owned()
        } else {
            format!("not known yet: {}", unknown.join(", "))
        }
    }

    /// The worst health among the hops of the cluster itself (the validators, shared by
    /// every cluster of the environment, left out).
    pub fn local_health(&self) -> Health {
        self.hops
            .iter()
            .filter(|h| h.kind != HopKind::Validators && h.health != Health::Unknown)
            .map(|h| h.health)
            .fold(Health::Ok, Health::worst)
    }
}

/// The hop where the request path breaks: the first hop that is down, else the first
/// that is degraded; `None` when no hop is either (unknown hops are not broken).
pub fn first_broken_hop(path: &RequestPath) -> Option<&Hop> {
    path.hops
        .iter()
        .find(|h| h.health == Health::Down)
        .or_else(|| path.hops.iter().find(|h| h.health == Health::Degraded))
}

/// A Quorum general node of the cluster, judged, with the ECS service that runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneralNode {
    /// The judged row.
    pub view: NodeView,
    /// Its ECS service, when configured.
    pub service: Option<String>,
}

/// Everything [`build`] reads.
#[derive(Debug, Clone, Copy)]
pub struct PathInputs<'a> {
    /// The cluster's ECS data.
    pub ecs: &'a Panel<ClusterSnapshot>,
    /// The load balancers and target health of the cluster's target groups.
    pub topology: &'a Panel<PathTopology>,
    /// The internal-ALB switch, when one is configured.
    pub switch: Option<&'a Panel<SwitchView>>,
    /// The cluster's general nodes.
    pub general_nodes: &'a [GeneralNode],
    /// The environment's validators, when it has any.
    pub chain: Option<&'a ChainView>,
}

/// The target groups whose load balancers and health make the path of a cluster: the
/// services' groups, then the switch's (its node groups in listener mode, its one group
/// in targets mode), each once.
pub fn target_groups_to_discover(
    snapshot: Option<&ClusterSnapshot>,
    switch: Option<&AlbSwitch>,
) -> Vec<String> {
    groups_to_discover(snapshot, switch, &[])
}

/// [`target_groups_to_discover`] for a configured cluster, which the pollers read: the
/// groups of the services its Quorum general nodes run in are left out, because the path
/// draws those nodes only through the switch (whose groups stay), and their health would
/// be read at every poll for nothing.
pub fn target_groups_of_cluster(
    snapshot: Option<&ClusterSnapshot>,
    cluster: &crate::config::Cluster,
) -> Vec<String> {
    let node_services: Vec<&str> = cluster
        .quorum_nodes
        .iter()
        .filter(|n| n.role == NodeRole::General)
        .filter_map(|n| n.service.as_deref())
        .collect();
    groups_to_discover(snapshot, cluster.alb_switch.as_ref(), &node_services)
}

fn groups_to_discover(
    snapshot: Option<&ClusterSnapshot>,
    switch: Option<&AlbSwitch>,
    skipped_services: &[&str],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let services = snapshot.map_or(&[][..], |s| s.services.as_slice());
    let from_services = services
        .iter()
        .filter(|s| !skipped_services.contains(&s.name.as_str()))
        .flat_map(|s| s.target_groups.iter().map(|g| g.arn.clone()));
    let from_switch = switch.into_iter().flat_map(|sw| match sw.mode {
        SwitchMode::Listener => sw.nodes.values().cloned().collect::<Vec<_>>(),
        SwitchMode::Targets => sw.target_group_arn.iter().cloned().collect(),
    });
    for arn in from_services.chain(from_switch) {
        if !arn.is_empty() && !out.contains(&arn) {
            out.push(arn);
        }
    }
    out
}

/// The request path of cluster `cluster` of environment `env` in `world`, or `None` for
/// a cluster without one (no ALB switch and no service behind a load balancer, like the
/// validators' cluster).
pub fn for_cluster(world: &World, env: usize, cluster: usize) -> Option<RequestPath> {
    let env_state = world.envs.get(env)?;
    let c = env_state.clusters.get(cluster)?;
    let behind_alb = c
        .ecs
        .data
        .as_ref()
        .is_some_and(|s| s.services.iter().any(|svc| !svc.target_groups.is_empty()));
    if c.switch.is_none() && !behind_alb {
        return None;
    }
    let views = env_state.node_views(cluster, world.now, &world.thresholds);
    let general_nodes: Vec<GeneralNode> = c
        .nodes
        .iter()
        .zip(views)
        .filter(|(slot, _)| slot.config.role == NodeRole::General)
        .map(|(slot, view)| GeneralNode {
            view,
            service: slot.config.service.clone(),
        })
        .collect();
    let chain = env_state
        .clusters
        .iter()
        .find(|other| {
            other
                .nodes
                .iter()
                .any(|n| n.config.role == NodeRole::Validator)
        })
        .map(|v| {
            judge_chain(
                v.nodes.iter().map(|n| &n.history),
                world.now,
                &world.thresholds,
            )
        });
    let mut path = build(&PathInputs {
        ecs: &c.ecs,
        topology: &c.paths,
        switch: c.switch.as_ref(),
        general_nodes: &general_nodes,
        chain: chain.as_ref(),
    });
    readings::attach(&mut path, c, &env_state.metrics, &world.metric_thresholds);
    Some(path)
}

/// Where a hop's [`Jump`] leads from cluster `at`, and what to tell the operator there.
///
/// A service's hop leads to its tasks; a node's to its ECS service's tasks (or nowhere,
/// with a notice, when none is configured); the validators' to the cluster that runs them.
pub fn jump_target(
    world: &World,
    at: ClusterAddr,
    jump: &Jump,
) -> (Option<Location>, Option<&'static str>) {
    let Some(env) = world.envs.get(at.env) else {
        return (None, None);
    };
    let here = |service| Location {
        env: at.env,
        cluster: at.cluster,
        service,
    };
    match jump {
        Jump::Service(name) => (Some(here(Some(name.clone()))), None),
        Jump::Node(name) => {
            let service = env
                .clusters
                .get(at.cluster)
                .and_then(|c| c.nodes.iter().find(|n| &n.config.name == name))
                .and_then(|n| n.config.service.clone());
            match service {
                Some(service) => (Some(here(Some(service))), None),
                None => (
                    None,
                    Some("no ECS service is configured for this node: see the Quorum panel"),
                ),
            }
        }
        Jump::Validators => {
            let validators = env
                .clusters
                .iter()
                .position(|c| c.nodes.iter().any(|n| n.config.role == NodeRole::Validator));
            (
                validators.map(|cluster| Location {
                    env: at.env,
                    cluster,
                    service: None,
                }),
                validators.map(|_| "the validators: see the Quorum panel"),
            )
        }
    }
}

/// Builds the request path from what the pollers saw.
pub fn build(inputs: &PathInputs<'_>) -> RequestPath {
    let snapshot = inputs.ecs.data.as_ref();
    let topology = inputs.topology.data.as_ref();
    let switch_view = inputs.switch.and_then(|p| p.data.as_ref());
    let node_services: Vec<&str> = inputs
        .general_nodes
        .iter()
        .filter_map(|n| n.service.as_deref())
        .collect();
    let switch_groups: Vec<&str> = switch_view
        .filter(|v| v.mode == SwitchMode::Listener)
        .map(|v| v.members.iter().map(|m| m.target.as_str()).collect())
        .unwrap_or_default();

    // The services behind load balancers, split into the entry (internet-facing) and the
    // inner hops; the Quorum nodes' groups are the switch's business.
    let mut front = Vec::new();
    let mut back = Vec::new();
    for service in snapshot.map_or(&[][..], |s| s.services.as_slice()) {
        if node_services.contains(&service.name.as_str()) {
            continue;
        }
        for group in &service.target_groups {
            if switch_groups.contains(&group.arn.as_str()) {
                continue;
            }
            if faces_internet(service, group, topology) {
                front.push((service, group));
            } else {
                back.push((service, group));
            }
        }
    }

    let mut hops = Vec::new();
    let ecs_unknown = ecs_unknown_reason(inputs.ecs);
    if snapshot.is_none() {
        let mut hop = Hop::new("services", "ecs", HopKind::Service);
        hop.detail.clone_from(&ecs_unknown);
        hops.push(hop);
    }
    let tasks_of = |svc: &Service| snapshot.map(|s| task_counts(s, svc));
    for (service, group) in &front {
        let name = if front.len() == 1 {
            "external ALB".to_owned()
        } else {
            format!("external ALB → {}", service.name)
        };
        hops.push(target_group_hop(
            &name,
            "ext",
            service,
            group,
            inputs.topology,
            None,
        ));
        hops.push(service_hop(service, tasks_of(service).unwrap_or_default()));
    }
    for (service, group) in &back {
        hops.push(target_group_hop(
            &format!("internal ALB → {}", service.name),
            &short_label(&service.name),
            service,
            group,
            inputs.topology,
            Some(tasks_of(service).unwrap_or_default()),
        ));
    }
    if let Some(switch) = inputs.switch {
        hops.push(switch_hop(switch, topology));
        hops.extend(node_hops(switch_view, inputs.general_nodes));
    }
    if let Some(chain) = inputs.chain {
        hops.push(validators_hop(chain));
    }
    RequestPath { hops }
}

fn ecs_unknown_reason(ecs: &Panel<ClusterSnapshot>) -> String {
    match &ecs.error {
        Some(e) => format!("cannot read ECS: {}", e.error),
        None => "ECS not read yet".to_owned(),
    }
}

/// Whether a service's group is the internet-facing entry of the path.
fn faces_internet(
    service: &Service,
    group: &TargetGroupRef,
    topology: Option<&PathTopology>,
) -> bool {
    let schemes: Vec<LoadBalancerScheme> = topology
        .and_then(|t| {
            let tg = t.target_group(&group.arn)?;
            Some(
                tg.load_balancer_arns
                    .iter()
                    .filter_map(|arn| t.load_balancer(arn))
                    .map(|lb| lb.scheme)
                    .collect(),
            )
        })
        .unwrap_or_default();
    if schemes.iter().any(|s| *s != LoadBalancerScheme::Unknown) {
        schemes.contains(&LoadBalancerScheme::InternetFacing)
    } else {
        service.name.contains("nginx")
    }
}

/// `nginx-proxy` → `nginx`, `api` → `api`.
fn short_label(service: &str) -> String {
    service.split('-').next().unwrap_or(service).to_owned()
}

/// A service's task counts, for details and reasons.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct TaskCounts {
    desired: u32,
    running: u32,
    pending: u32,
    unhealthy: usize,
    rollout: Rollout,
    health: Health,
}

fn task_counts(snapshot: &ClusterSnapshot, service: &Service) -> TaskCounts {
    TaskCounts {
        desired: service.desired,
        running: service.running,
        pending: service.pending,
        unhealthy: snapshot
            .tasks_of(&service.name)
            .filter(|t| t.is_running() && t.health_status == "UNHEALTHY")
            .count(),
        rollout: service.rollout(),
        health: service.health(snapshot.tasks_of(&service.name)),
    }
}

impl TaskCounts {
    fn detail(&self) -> String {
        let mut out = format!("tasks {}/{} running", self.running, self.desired);
        if self.pending > 0 {
            let _ = write!(out, ", {} pending", self.pending);
        }
        if self.rollout != Rollout::Completed && self.rollout != Rollout::Unknown {
            let _ = write!(
                out,
                " · rollout {}",
                self.rollout.as_str().replace('_', " ")
            );
        }
        out
    }

    /// Why the service is not ok, the worst first.
    fn reasons(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.desired > 0 && self.running == 0 {
            out.push(format!(
                "no task running (0/{}, {} pending)",
                self.desired, self.pending
            ));
        } else if self.running < self.desired {
            out.push(format!("{}/{} tasks running", self.running, self.desired));
        }
        if self.unhealthy > 0 {
            let tasks = if self.unhealthy == 1 { "task" } else { "tasks" };
            out.push(format!("{} {tasks} failing health checks", self.unhealthy));
        }
        match self.rollout {
            Rollout::Failed => out.push("rollout failed".into()),
            Rollout::InProgress => out.push("rollout in progress".into()),
            _ => {}
        }
        out
    }
}

fn service_hop(service: &Service, counts: TaskCounts) -> Hop {
    let mut hop = Hop::new(&service.name, short_label(&service.name), HopKind::Service);
    hop.jump = Some(Jump::Service(service.name.clone()));
    hop.health = counts.health;
    hop.detail = counts.detail();
    if counts.health != Health::Ok {
        hop.reason = Some(counts.reasons().join("; ")).filter(|r| !r.is_empty());
    }
    hop
}

/// The health of one target group as its load balancers judge it.
struct GroupJudgement {
    health: Health,
    detail: String,
    reason: Option<String>,
}

/// A load balancer → target group hop; `tasks` folds the service's own state in (for a
/// service without a hop of its own).
fn target_group_hop(
    name: &str,
    label: &str,
    service: &Service,
    group: &TargetGroupRef,
    topology: &Panel<PathTopology>,
    tasks: Option<TaskCounts>,
) -> Hop {
    let mut hop = Hop::new(name, label, HopKind::LoadBalancer);
    hop.jump = Some(Jump::Service(service.name.clone()));
    hop.target_group = Some(group.arn.clone());
    let judged = judge_group(group, service, topology);
    let mut detail = judged.detail;
    let mut health = judged.health;
    let mut reasons: Vec<String> = judged.reason.into_iter().collect();
    if let Some(tasks) = tasks {
        detail.push_str(" · ");
        detail.push_str(&tasks.detail());
        let service_reasons = tasks.reasons();
        if tasks.health > health && health != Health::Unknown {
            reasons = service_reasons;
        } else if tasks.health == health && health != Health::Ok {
            reasons.extend(service_reasons);
        }
        health = if health == Health::Unknown {
            Health::Unknown
        } else {
            health.worst(tasks.health)
        };
    }
    hop.health = health;
    hop.detail = detail;
    if health != Health::Ok {
        hop.reason = Some(reasons.join("; ")).filter(|r| !r.is_empty());
    }
    hop
}

fn judge_group(
    group: &TargetGroupRef,
    service: &Service,
    topology: &Panel<PathTopology>,
) -> GroupJudgement {
    let unknown = |why: String| GroupJudgement {
        health: Health::Unknown,
        detail: why,
        reason: None,
    };
    let Some(topology) = topology.data.as_ref() else {
        return unknown(match &topology.error {
            Some(e) => format!("cannot read the load balancers: {}", e.error),
            None => "load balancers not read yet".to_owned(),
        });
    };
    let Some(tg) = topology.target_group(&group.arn) else {
        return unknown(format!("target group {} not found", tail(&group.arn)));
    };
    let lbs: Vec<&PathLoadBalancer> = tg
        .load_balancer_arns
        .iter()
        .filter_map(|arn| topology.load_balancer(arn))
        .collect();
    let mut detail = if lbs.is_empty() {
        tg.name.clone()
    } else {
        lbs.iter()
            .map(|lb| lb_with_ports(lb, &tg.arn))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if lbs.is_empty() && tg.load_balancer_arns.is_empty() {
        return GroupJudgement {
            health: Health::Down,
            detail,
            reason: Some(format!("no load balancer forwards to {}", tg.name)),
        };
    }
    let mut health = Health::Ok;
    let mut reasons = Vec::new();
    for lb in &lbs {
        match lb.state.as_deref() {
            Some("failed") => {
                health = Health::Down;
                reasons.push(format!("load balancer {} failed", lb.name));
            }
            Some(state @ ("provisioning" | "active_impaired")) => {
                health = health.worst(Health::Degraded);
                reasons.push(format!(
                    "load balancer {} {}",
                    lb.name,
                    state.replace('_', " ")
                ));
            }
            _ => {}
        }
    }
    let targets = TargetCount::of(tg, group.port, service.running);
    detail.push_str(" · ");
    detail.push_str(&targets.detail());
    let (target_health, target_reason) = targets.judge();
    if target_health > health {
        reasons.clear();
    }
    if target_health >= health {
        reasons.extend(target_reason);
    }
    health = health.worst(target_health);
    GroupJudgement {
        health,
        detail,
        reason: Some(reasons.join("; ")).filter(|r| !r.is_empty()),
    }
}

/// `ibet-prd-node-api-ext :443` (the listener ports whose default action forwards to the
/// group), or the bare name.
fn lb_with_ports(lb: &PathLoadBalancer, group: &str) -> String {
    let ports: Vec<String> = lb
        .listeners
        .iter()
        .filter(|l| {
            l.forwards_to
                .iter()
                .any(|f| f.target_group_arn == group && f.receives_traffic())
        })
        .filter_map(|l| l.port.map(|p| format!(":{p}")))
        .collect();
    if ports.is_empty() {
        lb.name.clone()
    } else {
        format!("{} {}", lb.name, ports.join(","))
    }
}

/// The last part of an ARN (`.../targetgroup/NAME/ID` → `NAME/ID`).
fn tail(arn: &str) -> &str {
    arn.split_once("targetgroup/").map_or(arn, |(_, t)| t)
}

/// The targets of a group, counted for a judgement.
#[derive(Debug, Default)]
struct TargetCount {
    /// Targets that serve: healthy, on the right port.
    serving: usize,
    /// Registered targets that are not draining.
    registered: usize,
    /// Targets draining.
    draining: usize,
    /// Running tasks of the service beyond the registered targets.
    unregistered: usize,
    /// Why the others do not serve, with counts, most frequent first.
    why: Vec<(String, usize)>,
    /// Counts per non-healthy state, for the detail.
    states: Vec<(String, usize)>,
}

impl TargetCount {
    fn of(tg: &PathTargetGroup, container_port: u16, running_tasks: u32) -> Self {
        let mut count = Self::default();
        // With IP targets (awsvpc), ECS registers the container port itself: a target on
        // another port does not reach the container.
        let checks_port = tg.target_type.as_deref() == Some("ip") && container_port != 0;
        for target in &tg.targets {
            if target.state == "draining" {
                count.draining += 1;
                continue;
            }
            count.registered += 1;
            let wrong_port = checks_port && target.port.is_some_and(|p| p != container_port);
            if wrong_port {
                let port = target.port.unwrap_or_default();
                bump(
                    &mut count.why,
                    format!("registered on port {port}, the container listens on {container_port}"),
                );
                bump(&mut count.states, "on a wrong port".to_owned());
            } else if target.is_healthy() {
                count.serving += 1;
            } else {
                bump(&mut count.why, target_why(target));
                bump(&mut count.states, target.state.clone());
            }
        }
        let running = usize::try_from(running_tasks).unwrap_or(usize::MAX);
        if !tg.targets.is_empty() || running > 0 {
            count.unregistered = running.saturating_sub(count.registered);
        }
        if count.unregistered > 0 {
            let tasks = if count.unregistered == 1 {
                "running task"
            } else {
                "running tasks"
            };
            bump(
                &mut count.why,
                format!("{} {tasks} not registered", count.unregistered),
            );
        }
        count.why.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        count
    }

    fn total(&self) -> usize {
        self.registered + self.unregistered
    }

    fn detail(&self) -> String {
        if self.total() == 0 && self.draining == 0 {
            return "no targets".to_owned();
        }
        let mut out = format!("targets {}/{} healthy", self.serving, self.total());
        for (state, n) in &self.states {
            let _ = write!(out, ", {n} {state}");
        }
        if self.unregistered > 0 {
            let _ = write!(out, ", {} not registered", self.unregistered);
        }
        if self.draining > 0 {
            let _ = write!(out, ", {} draining", self.draining);
        }
        out
    }

    fn judge(&self) -> (Health, Option<String>) {
        let why = self
            .why
            .iter()
            .map(|(w, _)| w.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if self.total() == 0 {
            let reason = if self.draining > 0 {
                format!("no healthy target ({} draining)", self.draining)
            } else {
                "no targets registered".to_owned()
            };
            return (Health::Down, Some(reason));
        }
        let counts = format!("{}/{} targets healthy", self.serving, self.total());
        let reason = Some(format!("{counts} ({why})"));
        if self.serving == 0 {
            (Health::Down, reason)
        } else if self.serving < self.total() {
            (Health::Degraded, reason)
        } else {
            (Health::Ok, None)
        }
    }
}

fn bump(counts: &mut Vec<(String, usize)>, key: String) {
    match counts.iter_mut().find(|(k, _)| *k == key) {
        Some((_, n)) => *n += 1,
        None => counts.push((key, 1)),
    }
}

/// Why a target is not healthy: its reason code (`Target.FailedHealthChecks`), else its
/// state.
fn target_why(target: &TargetHealth) -> String {
    target
        .reason
        .clone()
        .unwrap_or_else(|| target.state.clone())
}

/// The internal ALB's route to the general nodes.
fn switch_hop(switch: &Panel<SwitchView>, topology: Option<&PathTopology>) -> Hop {
    let mut hop = Hop::new("internal ALB → quorum", "quorum", HopKind::Switch);
    let Some(view) = switch.data.as_ref() else {
        hop.detail = match &switch.error {
            Some(e) => format!("cannot read the internal ALB: {}", e.error),
            None => "internal ALB not read yet".to_owned(),
        };
        return hop;
    };
    let active: Vec<_> = view.members.iter().filter(|m| m.active).collect();
    let standby: Vec<String> = view
        .members
        .iter()
        .filter(|m| !m.active)
        .map(|m| {
            format!(
                "standby {} {}",
                m.node,
                member_health(view.mode, m, topology).shown
            )
        })
        .collect();
    let with_standby = |mut s: String| {
        for st in &standby {
            s.push_str(" · ");
            s.push_str(st);
        }
        s
    };
    match active.as_slice() {
        [] => {
            hop.health = Health::Down;
            hop.detail = with_standby("forwards to no general node".to_owned());
            hop.reason = Some("the internal ALB forwards to no general node".to_owned());
        }
        [member] => {
            hop.jump = Some(Jump::Node(member.node.clone()));
            if view.mode == SwitchMode::Listener {
                hop.target_group = Some(member.target.clone());
            }
            let judged = member_health(view.mode, member, topology);
            hop.detail = with_standby(format!(
                "forwards to {} · target {}",
                member.node, judged.shown
            ));
            hop.health = judged.health;
            hop.reason = judged.why.map(|why| format!("{}'s {why}", member.node));
        }
        many => {
            let names: Vec<&str> = many.iter().map(|m| m.node.as_str()).collect();
            hop.health = Health::Degraded;
            hop.detail = format!("forwards to {} at once", names.join(" and "));
            hop.reason = Some(format!(
                "the internal ALB forwards to {} general nodes at once ({}); one is expected",
                many.len(),
                names.join(", ")
            ));
        }
    }
    hop
}

/// A general node's target as the internal ALB judges it.
struct MemberHealth {
    health: Health,
    /// The word shown: `healthy`, `healthy 1/2`, `initial`, `unhealthy`, `no targets`.
    shown: String,
    /// Why it is not ok, to follow the node's name (`target unhealthy (Target.Timeout)`).
    why: Option<String>,
}

/// Judges one switch member: from its own target group's targets when the topology has
/// them (listener mode), else from the health the switch read reported.
fn member_health(
    mode: SwitchMode,
    member: &SwitchMember,
    topology: Option<&PathTopology>,
) -> MemberHealth {
    let group = topology
        .filter(|_| mode == SwitchMode::Listener)
        .and_then(|t| t.target_group(&member.target));
    if let Some(group) = group {
        let targets: Vec<&TargetHealth> = group
            .targets
            .iter()
            .filter(|t| t.state != "draining")
            .collect();
        let healthy = targets.iter().filter(|t| t.is_healthy()).count();
        return judge_member(
            healthy,
            targets.len(),
            targets.iter().find(|t| !t.is_healthy()).copied(),
        );
    }
    let why = |state: &str| {
        let reason = quorum_target(mode, &member.target, topology)
            .and_then(|t| t.reason.clone())
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        format!("target {state}{reason}")
    };
    match member.health.as_deref() {
        None => MemberHealth {
            health: Health::Unknown,
            shown: "health unknown".into(),
            why: None,
        },
        Some("healthy") => judge_member(1, 1, None),
        Some("initial") => MemberHealth {
            health: Health::Degraded,
            shown: "initial".into(),
            why: Some("target is still in its first health checks".into()),
        },
        Some(counted) if counted.starts_with("healthy ") => {
            // `healthy 1/2, unhealthy 1`, as the AWS backend sums up a group.
            let fraction = counted["healthy ".len()..]
                .split(',')
                .next()
                .and_then(|f| f.split_once('/'))
                .and_then(|(h, n)| Some((h.trim().parse().ok()?, n.trim().parse().ok()?)));
            match fraction {
                Some((healthy, total)) => {
                    let mut judged = judge_member(healthy, total, None);
                    counted.clone_into(&mut judged.shown);
                    if judged.health != Health::Ok {
                        judged.why = Some(format!("targets {counted}"));
                    }
                    judged
                }
                None => MemberHealth {
                    health: Health::Unknown,
                    shown: counted.to_owned(),
                    why: None,
                },
            }
        }
        Some(other) => MemberHealth {
            health: Health::Down,
            shown: other.to_owned(),
            why: Some(why(other)),
        },
    }
}

fn judge_member(healthy: usize, total: usize, sick: Option<&TargetHealth>) -> MemberHealth {
    let because = sick
        .and_then(|t| t.reason.as_deref())
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    if total == 0 {
        return MemberHealth {
            health: Health::Down,
            shown: "no targets".into(),
            why: Some("target group has no targets".into()),
        };
    }
    if healthy == total {
        return MemberHealth {
            health: Health::Ok,
            shown: if total == 1 {
                "healthy".into()
            } else {
                format!("healthy {healthy}/{total}")
            },
            why: None,
        };
    }
    let state = sick.map_or("unhealthy", |t| t.state.as_str());
    if healthy > 0 {
        return MemberHealth {
            health: Health::Degraded,
            shown: format!("healthy {healthy}/{total}"),
            why: Some(format!("targets: {healthy}/{total} healthy{because}")),
        };
    }
    if state == "initial" {
        return MemberHealth {
            health: Health::Degraded,
            shown: "initial".into(),
            why: Some("target is still in its first health checks".into()),
        };
    }
    MemberHealth {
        health: Health::Down,
        shown: state.to_owned(),
        why: Some(if total == 1 {
            format!("target {state}{because}")
        } else {
            format!("targets: 0/{total} healthy{because}")
        }),
    }
}

/// The target of the active node in the topology: its own group's target (listener
/// mode), or the registered `IP:PORT` (targets mode).
fn quorum_target<'a>(
    mode: SwitchMode,
    target: &str,
    topology: Option<&'a PathTopology>,
) -> Option<&'a TargetHealth> {
    let topology = topology?;
    match mode {
        SwitchMode::Listener => topology
            .target_group(target)?
            .targets
            .iter()
            .find(|t| !t.is_healthy()),
        SwitchMode::Targets => {
            let (ip, port) = target.rsplit_once(':')?;
            let port: u16 = port.parse().ok()?;
            topology
                .target_groups
                .iter()
                .flat_map(|g| &g.targets)
                .find(|t| t.id == ip && t.port == Some(port))
        }
    }
}

/// The active node (or nodes) as hops.
fn node_hops(view: Option<&SwitchView>, nodes: &[GeneralNode]) -> Vec<Hop> {
    let Some(view) = view else {
        return Vec::new();
    };
    view.members
        .iter()
        .filter(|m| m.active)
        .map(|m| {
            let mut hop = Hop::new(
                format!("quorum {} (active)", m.node),
                m.node.clone(),
                HopKind::Node,
            );
            hop.jump = Some(Jump::Node(m.node.clone()));
            match nodes.iter().find(|n| n.view.name == m.node) {
                None => "not a configured Quorum node".clone_into(&mut hop.detail),
                Some(node) => {
                    let v = &node.view;
                    hop.health = match v.state {
                        NodeState::Synced => Health::Ok,
                        NodeState::Unknown => Health::Unknown,
                        NodeState::Lagging | NodeState::Stalled => Health::Degraded,
                        NodeState::Down => Health::Down,
                    };
                    let height = v.height.map(|h| format!(" · #{h}")).unwrap_or_default();
                    hop.detail = format!("{}{height} · {}", v.state.as_str(), v.reason);
                    if !matches!(hop.health, Health::Ok | Health::Unknown) {
                        hop.reason = Some(format!("{}: {}", v.state.as_str(), v.reason));
                    }
                }
            }
            hop
        })
        .collect()
}

fn validators_hop(chain: &ChainView) -> Hop {
    let mut hop = Hop::new("validators", "validators", HopKind::Validators);
    hop.jump = Some(Jump::Validators);
    hop.health = chain.health;
    let producing = chain
        .producing
        .map(|p| format!(", {p} producing"))
        .unwrap_or_default();
    hop.detail = format!(
        "{}/{} answering{producing} · tolerates {} more failure{}",
        chain.reachable,
        chain.validators_configured,
        chain.faults_left.max(0),
        if chain.faults_left == 1 { "" } else { "s" }
    );
    hop.reason = match chain.health {
        Health::Ok | Health::Unknown => None,
        _ if chain.faults_left < 0 => Some(format!("halted: {}", chain.reason)),
        _ if chain.faults_left == 0 && chain.fault_tolerance > 0 => {
            Some(format!("fault tolerance used up: {}", chain.reason))
        }
        _ => Some(chain.reason.clone()),
    };
    if chain.health == Health::Unknown {
        hop.detail.clone_from(&chain.reason);
    }
    hop
}

#[cfg(test)]
mod tests;
