//! The simulated load balancers of one environment's request paths, as ELBv2's
//! `discover_paths` reports them.
//!
//! Every wallet cluster (node-api, issuer, bank) has an internet-facing ALB
//! `ibet-<env>-<cluster>-ext` (:443 forwards to the nginx target group, :80 redirects)
//! and an internal ALB `ibet-<env>-<cluster>-int` whose :80 listener forwards to the
//! Quorum general nodes (one target group per node, weighted, in listener mode; one
//! shared group in targets mode); the API's group (:5000) sits behind the same internal
//! ALB through a listener rule, which discovery does not read, as in AWS. The targets are
//! the running tasks' IPs, with health that follows the world: a task failing its health
//! check is `unhealthy` (`Target.FailedHealthChecks`), a task being drained `draining`,
//! a new one `initial` for its first checks; a general node's target follows its task
//! and [`super::Fault::TargetUnhealthy`]. Nothing here changes the world or reads the
//! clock.

use crate::backend::{BackendError, BackendResult};
use crate::model::alb::{
    LoadBalancerScheme, PathListener, PathLoadBalancer, PathTargetGroup, PathTopology, SwitchMode,
    TargetHealth, WeightedTargetGroup,
};

use super::ecs::{Phase, SimCluster, SimService, TaskHealth};
use super::elb::{SimSwitch, target_health};
use super::topology::{ServiceKind, quorum_target_group_name};
use super::world::EnvWorld;

/// Ticks a new task's target spends in its first health checks.
const INITIAL_TICKS: i64 = 3;
/// The port of the Quorum general nodes' RPC behind the internal ALB.
const QUORUM_PORT: u16 = 8443;

/// The load balancers, listeners and target health in front of `arns`, in the order
/// asked; an ARN the world does not know fails the call, as `DescribeTargetGroups` does.
pub(super) fn discover(world: &EnvWorld, arns: &[String]) -> BackendResult<PathTopology> {
    let now = world.now_tick();
    let (load_balancers, groups) = everything(world, now);
    let mut topology = PathTopology::default();
    for arn in arns {
        let group = groups
            .iter()
            .find(|g| &g.arn == arn)
            .ok_or_else(|| BackendError::NotFound(format!("target group {arn}")))?;
        if topology.target_group(arn).is_some() {
            continue;
        }
        for lb in &group.load_balancer_arns {
            if topology.load_balancer(lb).is_none()
                && let Some(found) = load_balancers.iter().find(|l| &l.arn == lb)
            {
                topology.load_balancers.push(found.clone());
            }
        }
        topology.target_groups.push(group.clone());
    }
    Ok(topology)
}

/// Every load balancer and target group of the environment at tick `now`.
fn everything(world: &EnvWorld, now: i64) -> (Vec<PathLoadBalancer>, Vec<PathTargetGroup>) {
    let env = world.spec;
    let mut load_balancers = Vec::new();
    let mut groups = Vec::new();
    for cluster in world.clusters.iter().filter(|c| !c.spec.validators) {
        let name = cluster.spec.name;
        let external = env.load_balancer_arn(&env.external_alb(name));
        let internal = env.load_balancer_arn(&env.internal_alb(name));
        let switch = world.switches.iter().find(|s| s.cluster == cluster.index);
        let mut nginx_groups = Vec::new();
        for service in &cluster.services {
            for tg in &service.target_groups {
                let behind = if service.spec.kind == ServiceKind::Nginx {
                    nginx_groups.push(tg.arn.clone());
                    &external
                } else {
                    &internal
                };
                let targets = match service.spec.kind {
                    ServiceKind::General(_) => node_targets(world, cluster, service, now),
                    _ => task_targets(world, cluster, service, tg.port, now),
                };
                groups.push(PathTargetGroup {
                    arn: tg.arn.clone(),
                    name: group_name(&tg.arn),
                    port: Some(tg.port),
                    protocol: Some("HTTP".into()),
                    target_type: Some("ip".into()),
                    load_balancer_arns: vec![behind.clone()],
                    targets,
                });
            }
        }
        let quorum_forward = match switch {
            Some(sw) if sw.mode == SwitchMode::Listener => sw
                .members
                .iter()
                .zip(&sw.weights)
                .map(|(m, w)| WeightedTargetGroup {
                    target_group_arn: m.target.clone(),
                    weight: Some(*w),
                })
                .collect(),
            Some(sw) => {
                groups.push(shared_quorum_group(world, sw, &internal, name, now));
                vec![WeightedTargetGroup {
                    target_group_arn: sw.arn.clone(),
                    weight: None,
                }]
            }
            None => Vec::new(),
        };
        let listener =
            |alb: &str, port, protocol: &str, to: Vec<WeightedTargetGroup>| PathListener {
                arn: env.listener_arn_on(alb, port),
                port: Some(port),
                protocol: Some(protocol.into()),
                forwards_to: to,
            };
        let ext_name = env.external_alb(name);
        load_balancers.push(PathLoadBalancer {
            arn: external,
            scheme: LoadBalancerScheme::InternetFacing,
            kind: "application".into(),
            dns_name: Some(env.external_alb_dns(name)),
            state: Some("active".into()),
            listeners: vec![
                listener(&ext_name, 80, "HTTP", Vec::new()),
                listener(
                    &ext_name,
                    443,
                    "HTTPS",
                    nginx_groups
                        .into_iter()
                        .map(|arn| WeightedTargetGroup {
                            target_group_arn: arn,
                            weight: None,
                        })
                        .collect(),
                ),
            ],
            name: ext_name,
        });
        let int_name = env.internal_alb(name);
        load_balancers.push(PathLoadBalancer {
            arn: internal,
            scheme: LoadBalancerScheme::Internal,
            kind: "application".into(),
            dns_name: Some(env.internal_alb_dns(name)),
            state: Some("active".into()),
            listeners: vec![PathListener {
                arn: env.listener_arn(name),
                ..listener(&int_name, 80, "HTTP", quorum_forward)
            }],
            name: int_name,
        });
    }
    (load_balancers, groups)
}

/// `arn:...:targetgroup/NAME/ID` → `NAME`.
fn group_name(arn: &str) -> String {
    arn.split_once("targetgroup/")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or(arn)
        .to_string()
}

/// The targets ECS registered for a service: its running tasks, and those being drained.
fn task_targets(
    world: &EnvWorld,
    cluster: &SimCluster,
    service: &SimService,
    port: u16,
    now: i64,
) -> Vec<TargetHealth> {
    let Some(s) = cluster.service_index(&service.spec.name) else {
        return Vec::new();
    };
    cluster
        .tasks
        .iter()
        .filter(|t| t.service == s)
        .filter_map(|t| {
            let (state, reason, description) = match t.phase {
                Phase::Deactivating => (
                    "draining",
                    "Target.DeregistrationInProgress",
                    "Target deregistration is in progress",
                ),
                Phase::Running if t.health(service, now) == TaskHealth::Unhealthy => (
                    "unhealthy",
                    "Target.FailedHealthChecks",
                    "Health checks failed",
                ),
                Phase::Running if now - t.since < INITIAL_TICKS => (
                    "initial",
                    "Elb.InitialHealthChecking",
                    "Initial health checks in progress",
                ),
                Phase::Running => ("healthy", "", ""),
                _ => return None,
            };
            Some(TargetHealth {
                id: world.spec.task_ip(cluster.index, &t.id),
                port: Some(port),
                state: state.into(),
                reason: (!reason.is_empty()).then(|| reason.into()),
                description: (!description.is_empty()).then(|| description.into()),
            })
        })
        .collect()
}

/// The target of a general node's own group (listener mode): the node, always
/// registered; its health follows its task and the injected faults.
fn node_targets(
    world: &EnvWorld,
    cluster: &SimCluster,
    service: &SimService,
    now: i64,
) -> Vec<TargetHealth> {
    let Some(s) = cluster.service_index(&service.spec.name) else {
        return Vec::new();
    };
    world
        .nodes
        .iter()
        .filter(|n| n.cluster == cluster.index && n.service == s)
        .map(|node| node_target(&node.ip, target_health(node, now), node.up))
        .collect()
}

/// The shared group of a targets-mode switch: the registered nodes.
fn shared_quorum_group(
    world: &EnvWorld,
    switch: &SimSwitch,
    internal: &str,
    cluster: &str,
    now: i64,
) -> PathTargetGroup {
    let view = switch.view(&world.nodes, now);
    let targets = switch
        .members
        .iter()
        .zip(&view.members)
        .filter_map(|(member, seen)| {
            let state = seen.health.as_deref()?;
            let node = world.nodes.get(member.node_index)?;
            Some(node_target(&node.ip, state, node.up))
        })
        .collect();
    PathTargetGroup {
        arn: switch.arn.clone(),
        name: quorum_target_group_name(world.spec, cluster, None),
        port: Some(QUORUM_PORT),
        protocol: Some("HTTP".into()),
        target_type: Some("ip".into()),
        load_balancer_arns: vec![internal.to_string()],
        targets,
    }
}

fn node_target(ip: &str, state: &str, up: bool) -> TargetHealth {
    let (reason, description) = match state {
        "unhealthy" if !up => (Some("Target.Timeout"), Some("Request timed out")),
        "unhealthy" => (
            Some("Target.FailedHealthChecks"),
            Some("Health checks failed"),
        ),
        "initial" => (
            Some("Elb.InitialHealthChecking"),
            Some("Initial health checks in progress"),
        ),
        "draining" => (
            Some("Target.DeregistrationInProgress"),
            Some("Target deregistration is in progress"),
        ),
        _ => (None, None),
    };
    TargetHealth {
        id: ip.to_string(),
        port: Some(QUORUM_PORT),
        state: state.to_string(),
        reason: reason.map(str::to_string),
        description: description.map(str::to_string),
    }
}
