//! The ECS ops: stop a task, force a new deployment, move a service to another task
//! definition (the shared path of release and rollback).
//!
//! Planning reads the cluster (`EcsApi::snapshot`), finds the service and task, and runs
//! the guards for what the service runs: the validator quorum for validators (sampling
//! every validator of the cluster over RPC), the active-node warning for the general
//! node the internal ALB forwards to (reading the switch), and the rollout warning.
//! A release or rollback also gets its preview ([`super::release`]): the newer revisions
//! of the family and the diff against the running task definition, the checks that what
//! the target names exists ([`super::verify`]), and a warning when the service's
//! deployment circuit breaker is off. Verification reads the cluster back: a stopped
//! task must be stopping or stopped; a forced deployment must show a new PRIMARY
//! deployment; a release or rollback must show the service on the target task
//! definition (and a new PRIMARY deployment, when ECS lists one, on it too).
//! Nothing here makes a mutating call: only the executor does.

use futures_util::future::join_all;

use super::guard::{self, ValidatorStatus};
use super::release::{self, ReleasePreview};
use super::{Check, Mutation, OpContext, Plan, Verification, task_id};
use crate::backend::{EcsApi, ServiceUpdate};
use crate::config::Cluster;
use crate::model::ecs::{
    CircuitBreaker, ClusterSnapshot, Service, TaskDefinition, short_task_definition,
};
use crate::model::quorum::{NodeRole, Probe};

/// Check name: the cluster could be read.
pub const CHECK_ECS: &str = "ecs";
/// Check name: the service exists.
pub const CHECK_SERVICE: &str = "service";
/// Check name: the task exists, belongs to the service and is running.
pub const CHECK_TASK: &str = "task";
/// Check name: the target task definition exists and differs from the current one.
pub const CHECK_TASK_DEFINITION: &str = "task_definition";

/// ECS statuses of a task on its way down.
const STOPPING: [&str; 4] = ["DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"];

/// Reads the cluster, or records why not.
async fn snapshot(plan: &mut Plan, cluster: &Cluster, ctx: &OpContext) -> Option<ClusterSnapshot> {
    match ctx.backends.ecs.snapshot(&cluster.ecs_cluster).await {
        Ok(snapshot) => Some(snapshot),
        Err(e) => {
            let mut check = Check::fail(CHECK_ECS, "not read").detail(e.to_string());
            if let Some(hint) = e.hint() {
                check.value = format!("not read ({hint})");
            }
            plan.check(check);
            None
        }
    }
}

/// Finds the service in the snapshot, or records that it is missing.
fn find_service<'a>(
    plan: &mut Plan,
    snapshot: &'a ClusterSnapshot,
    cluster: &Cluster,
    name: &str,
) -> Option<&'a Service> {
    let found = snapshot.services.iter().find(|s| s.name == name);
    match found {
        Some(service) => plan.check(Check::pass(
            CHECK_SERVICE,
            format!(
                "{name}: {} running of {} desired, {}",
                service.running,
                service.desired,
                service.task_definition_short()
            ),
        )),
        None => plan.check(
            Check::fail(CHECK_SERVICE, format!("{name} not found"))
                .detail(format!("no service `{name}` in {}", cluster.ecs_cluster)),
        ),
    }
    found
}

/// The guards for restarting what `service` runs: validator quorum, the active general
/// node, a rollout in progress.
async fn service_guards(plan: &mut Plan, cluster: &Cluster, service: &Service, ctx: &OpContext) {
    let now = ctx.clock.now_ms();
    if let Some(warning) = guard::deployment_in_progress(service, now) {
        plan.warn(warning);
    }
    let targets = guard::nodes_of_service(cluster, &service.name);
    if targets.iter().any(|n| n.role == NodeRole::Validator) {
        let validators: Vec<_> = cluster
            .quorum_nodes
            .iter()
            .filter(|n| n.role == NodeRole::Validator)
            .collect();
        let samples = join_all(validators.iter().map(|n| ctx.backends.rpc.sample(n, false))).await;
        let now = ctx.clock.now_ms();
        let chain_size = samples
            .iter()
            .filter_map(|s| match &s.validators {
                Probe::Value(set) => Some(set.len()),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let statuses: Vec<ValidatorStatus> = validators
            .iter()
            .zip(&samples)
            .map(|(node, sample)| ValidatorStatus {
                name: node.name.clone(),
                state: guard::judge_sample(sample, now),
            })
            .collect();
        let names: Vec<&str> = targets.iter().map(|n| n.name.as_str()).collect();
        plan.check(guard::validator_quorum(&names, &statuses, chain_size));
    }
    if let Some(switch) = &cluster.alb_switch
        && targets.iter().any(|n| n.role == NodeRole::General)
    {
        match ctx.backends.elb.read_switch(switch).await {
            Ok(view) => {
                for active in view.members.iter().filter(|m| m.active) {
                    let env = plan.op.env().to_string();
                    if let Some(w) =
                        guard::active_general_node(&env, cluster, &targets, &active.node)
                    {
                        plan.warn(w.warning);
                        if let Some(op) = w.switch_first {
                            plan.suggestions.push(op);
                        }
                    }
                }
            }
            Err(e) => plan.warn(format!(
                "cannot tell whether the internal ALB forwards to {}: {e}",
                targets
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// Plans `StopTask` into `plan`.
pub(crate) async fn plan_stop_task(
    plan: &mut Plan,
    cluster: &Cluster,
    service_name: &str,
    task: &str,
    ctx: &OpContext,
) {
    let Some(snapshot) = snapshot(plan, cluster, ctx).await else {
        return;
    };
    let Some(service) = find_service(plan, &snapshot, cluster, service_name) else {
        return;
    };
    let id = task_id(task);
    let Some(found) = snapshot.tasks.iter().find(|t| t.arn == task || t.id == id) else {
        plan.check(
            Check::fail(CHECK_TASK, format!("{id} not found"))
                .detail(format!("no task `{id}` in {}", cluster.ecs_cluster)),
        );
        return;
    };
    if found.service.as_deref() != Some(service_name) {
        plan.check(
            Check::fail(CHECK_TASK, format!("{id} not in {service_name}")).detail(format!(
                "task {id} belongs to {}",
                found.service.as_deref().unwrap_or("no service")
            )),
        );
        return;
    }
    if found.desired_status == "STOPPED" || STOPPING.contains(&found.last_status.as_str()) {
        plan.check(
            Check::fail(CHECK_TASK, format!("{id} {}", found.last_status))
                .detail("the task is already stopping or stopped"),
        );
        return;
    }
    plan.check(Check::pass(
        CHECK_TASK,
        format!(
            "{id} {}, {}",
            found.last_status,
            short_task_definition(&found.task_definition)
        ),
    ));
    plan.change(format!(
        "task {id} of {service_name} ({}): stop; {}",
        short_task_definition(&found.task_definition),
        if service.desired > 0 {
            format!("ECS starts a replacement (desired {})", service.desired)
        } else {
            "the service wants no tasks: no replacement".to_string()
        }
    ));
    let service = service.clone();
    service_guards(plan, cluster, &service, ctx).await;
    plan.set_action(
        Mutation::StopTask {
            ecs_cluster: cluster.ecs_cluster.clone(),
            task_arn: found.arn.clone(),
        },
        Verification::TaskStopping {
            ecs_cluster: cluster.ecs_cluster.clone(),
            task_arn: found.arn.clone(),
        },
    );
}

/// Plans `ForceDeploy` (`to` = `None`: same task definition, every task replaced) or a
/// move to another task definition (`Release`, `Rollback`) into `plan`.
pub(crate) async fn plan_service_update(
    plan: &mut Plan,
    cluster: &Cluster,
    service_name: &str,
    to: Option<&str>,
    ctx: &OpContext,
) {
    let Some(snapshot) = snapshot(plan, cluster, ctx).await else {
        return;
    };
    let Some(service) = find_service(plan, &snapshot, cluster, service_name) else {
        return;
    };
    let service = service.clone();
    let current = service.task_definition.clone();
    let (task_definition, update) = match to {
        None => {
            plan.change(format!(
                "service {service_name}: new deployment of {}; every task is replaced",
                short_task_definition(&current)
            ));
            (
                current,
                ServiceUpdate {
                    task_definition: None,
                    force_new_deployment: true,
                },
            )
        }
        Some(to) => {
            let Some(target) = target_task_definition(plan, &current, to, ctx).await else {
                return;
            };
            plan.change(format!(
                "service {service_name}: task definition {} → {}",
                short_task_definition(&current),
                short_task_definition(&target.arn)
            ));
            plan.release = Some(release_preview(plan, &snapshot, &current, &target, ctx).await);
            super::verify::verify_target(plan, &target, ctx).await;
            if service.circuit_breaker == CircuitBreaker::Off {
                plan.warn(format!(
                    "{service_name} has no circuit breaker: ECS will not stop a failing rollout"
                ));
            }
            let update = ServiceUpdate {
                task_definition: Some(target.arn.clone()),
                force_new_deployment: false,
            };
            (target.arn, update)
        }
    };
    service_guards(plan, cluster, &service, ctx).await;
    let known_deployments = service.deployments.iter().map(|d| d.id.clone()).collect();
    let verification = if to.is_some() {
        Verification::ServiceTaskDefinition {
            ecs_cluster: cluster.ecs_cluster.clone(),
            service: service_name.to_string(),
            task_definition,
            known_deployments,
        }
    } else {
        Verification::NewPrimary {
            ecs_cluster: cluster.ecs_cluster.clone(),
            service: service_name.to_string(),
            task_definition,
            known_deployments,
        }
    };
    plan.set_action(
        Mutation::UpdateService {
            ecs_cluster: cluster.ecs_cluster.clone(),
            service: service_name.to_string(),
            update,
        },
        verification,
    );
}

/// The preview of a move from `current` to `target`: the newer revisions of the family
/// and the diff. What cannot be read becomes a warning and an empty part.
async fn release_preview(
    plan: &mut Plan,
    snapshot: &ClusterSnapshot,
    current: &str,
    target: &TaskDefinition,
    ctx: &OpContext,
) -> ReleasePreview {
    let running = match snapshot.task_definitions.get(current) {
        Some(definition) => Some(definition.clone()),
        None => match ctx.backends.ecs.task_definition(current).await {
            Ok(definition) => Some(definition),
            Err(e) => {
                plan.warn(format!(
                    "cannot read the running task definition {}: {e}; no diff to show",
                    short_task_definition(current)
                ));
                None
            }
        },
    };
    let family = release::task_definition_family(current);
    let newer_revisions = match ctx.backends.ecs.task_definition_revisions(family).await {
        Ok(revisions) => release::newer_revisions(current, &revisions),
        Err(e) => {
            plan.warn(format!("cannot list the revisions of {family}: {e}"));
            Vec::new()
        }
    };
    ReleasePreview {
        current: current.to_string(),
        target: target.arn.clone(),
        newer_revisions,
        diff: running
            .map(|running| release::task_definition_diff(&running, target))
            .unwrap_or_default(),
    }
}

/// Reads the target task definition, checking it differs from `current` and warning
/// when a release goes back or a rollback forward.
async fn target_task_definition(
    plan: &mut Plan,
    current: &str,
    to: &str,
    ctx: &OpContext,
) -> Option<TaskDefinition> {
    let definition = match ctx.backends.ecs.task_definition(to).await {
        Ok(definition) => definition,
        Err(e) => {
            plan.check(
                Check::fail(CHECK_TASK_DEFINITION, format!("{to} not read")).detail(e.to_string()),
            );
            return None;
        }
    };
    if definition.arn == current {
        plan.check(
            Check::fail(
                CHECK_TASK_DEFINITION,
                short_task_definition(current).to_string(),
            )
            .detail("the service already runs this task definition"),
        );
        return None;
    }
    plan.check(Check::pass(
        CHECK_TASK_DEFINITION,
        format!(
            "{} → {}",
            short_task_definition(current),
            short_task_definition(&definition.arn)
        ),
    ));
    let from = crate::model::ecs::task_definition_revision(current);
    let backwards = from.is_some_and(|from| definition.revision < from);
    match (&plan.op, backwards) {
        (super::Op::Release { .. }, true) => plan.warn(format!(
            "{} is older than the running {}: this is a rollback",
            short_task_definition(&definition.arn),
            short_task_definition(current)
        )),
        (super::Op::Rollback { .. }, false) => plan.warn(format!(
            "{} is newer than the running {}: this is a release",
            short_task_definition(&definition.arn),
            short_task_definition(current)
        )),
        _ => {}
    }
    Some(definition)
}

/// Reads the task back: it must be stopping or stopped.
pub(crate) async fn verify_task_stopping(
    ecs: &dyn EcsApi,
    ecs_cluster: &str,
    task_arn: &str,
) -> Result<String, String> {
    let snapshot = ecs
        .snapshot(ecs_cluster)
        .await
        .map_err(|e| format!("read back failed: {e}"))?;
    let id = task_id(task_arn);
    let Some(task) = snapshot.tasks.iter().find(|t| t.arn == task_arn) else {
        return Err(format!("read back: task {id} is no longer listed"));
    };
    if task.desired_status == "STOPPED" || STOPPING.contains(&task.last_status.as_str()) {
        Ok(format!(
            "task {id} is {} (desired {})",
            task.last_status, task.desired_status
        ))
    } else {
        Err(format!(
            "read back: task {id} is still {} (desired {})",
            task.last_status, task.desired_status
        ))
    }
}

/// The service as ECS lists it now, for reading an op's result back.
async fn read_service_back(
    ecs: &dyn EcsApi,
    ecs_cluster: &str,
    service: &str,
) -> Result<crate::model::ecs::Service, String> {
    let snapshot = ecs
        .snapshot(ecs_cluster)
        .await
        .map_err(|e| format!("read back failed: {e}"))?;
    snapshot
        .services
        .into_iter()
        .find(|s| s.name == service)
        .ok_or_else(|| format!("read back: service {service} is no longer listed"))
}

/// Reads the service back after a release or rollback: the service must run
/// `task_definition`, and a PRIMARY deployment not among `known`, if there is one, must
/// run it too.
pub(crate) async fn verify_service_task_definition(
    ecs: &dyn EcsApi,
    ecs_cluster: &str,
    service: &str,
    task_definition: &str,
    known: &[String],
) -> Result<String, String> {
    let found = read_service_back(ecs, ecs_cluster, service).await?;
    if found.task_definition != task_definition {
        return Err(format!(
            "read back: {service} runs {}, not {}",
            short_task_definition(&found.task_definition),
            short_task_definition(task_definition)
        ));
    }
    let new_primary = found
        .deployments
        .iter()
        .find(|d| d.status == "PRIMARY" && !known.contains(&d.id));
    match new_primary {
        Some(d) if d.task_definition == task_definition => Ok(format!(
            "{service} runs {}, deployment {} is PRIMARY",
            short_task_definition(task_definition),
            d.id
        )),
        Some(d) => Err(format!(
            "read back: the new PRIMARY deployment {} runs {}, not {}",
            d.id,
            short_task_definition(&d.task_definition),
            short_task_definition(task_definition)
        )),
        None => Ok(format!(
            "{service} runs {}",
            short_task_definition(task_definition)
        )),
    }
}

/// Reads the service back: a PRIMARY deployment not among `known` must run
/// `task_definition`.
pub(crate) async fn verify_new_primary(
    ecs: &dyn EcsApi,
    ecs_cluster: &str,
    service: &str,
    task_definition: &str,
    known: &[String],
) -> Result<String, String> {
    let found = read_service_back(ecs, ecs_cluster, service).await?;
    let primary = found.deployments.iter().find(|d| d.status == "PRIMARY");
    match primary {
        Some(d) if !known.contains(&d.id) && d.task_definition == task_definition => Ok(format!(
            "deployment {} of {} is PRIMARY",
            d.id,
            short_task_definition(task_definition)
        )),
        Some(d) if known.contains(&d.id) => Err(format!(
            "read back: no new deployment; the PRIMARY one is still {}",
            d.id
        )),
        Some(d) => Err(format!(
            "read back: the new PRIMARY deployment runs {}, not {}",
            short_task_definition(&d.task_definition),
            short_task_definition(task_definition)
        )),
        None => Err(format!("read back: {service} has no PRIMARY deployment")),
    }
}
