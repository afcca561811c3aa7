//! ECS shapes: clusters, services, deployments, tasks, containers and task definitions.
//!
//! The backends fill these; [`Service::health`] and [`Service::rollout`] judge them.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::Health;
use crate::clock::EpochMs;

/// One poll's view of an ECS cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClusterSnapshot {
    /// The ECS cluster name.
    pub cluster: String,
    /// Services, sorted by name.
    pub services: Vec<Service>,
    /// Running tasks plus tasks stopped in the last hour, newest first within a service.
    pub tasks: Vec<Task>,
    /// Task definitions referenced by the services and tasks, by ARN.
    #[serde(skip)]
    pub task_definitions: BTreeMap<String, TaskDefinition>,
}

impl ClusterSnapshot {
    /// The tasks that belong to `service`.
    pub fn tasks_of<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a Task> + 'a {
        self.tasks
            .iter()
            .filter(move |t| t.service.as_deref() == Some(service))
    }

    /// The tasks of each service, in snapshot order, gathered in one pass over the tasks
    /// (where calling [`Self::tasks_of`] for every service scans every task each time).
    pub fn tasks_by_service(&self) -> HashMap<&str, Vec<&Task>> {
        let mut by_service: HashMap<&str, Vec<&Task>> = HashMap::new();
        for task in &self.tasks {
            if let Some(service) = task.service.as_deref() {
                by_service.entry(service).or_default().push(task);
            }
        }
        by_service
    }

    /// The worst health among the services (`Unknown` when there are none).
    pub fn health(&self) -> Health {
        let tasks = self.tasks_by_service();
        self.services
            .iter()
            .map(|s| s.health(tasks.get(s.name.as_str()).into_iter().flatten().copied()))
            .fold(None, |acc: Option<Health>, h| {
                Some(acc.map_or(h, |a| a.worst(h)))
            })
            .unwrap_or(Health::Unknown)
    }
}

/// An ECS service.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Service {
    /// Service name.
    pub name: String,
    /// Service ARN.
    pub arn: String,
    /// `ACTIVE`, `DRAINING` or `INACTIVE`.
    pub status: String,
    /// Desired task count.
    pub desired: u32,
    /// Running task count.
    pub running: u32,
    /// Pending task count.
    pub pending: u32,
    /// The primary deployment's task-definition ARN.
    pub task_definition: String,
    /// Deployments, the primary first.
    pub deployments: Vec<Deployment>,
    /// The latest service events, newest first.
    pub events: Vec<ServiceEvent>,
    /// Target groups the service registers its tasks in.
    pub target_groups: Vec<TargetGroupRef>,
    /// ECS's deployment circuit breaker (`deploymentConfiguration`).
    pub circuit_breaker: CircuitBreaker,
}

/// The deployment circuit breaker of a service: whether ECS stops a rollout whose tasks
/// keep failing, and whether it then puts the previous deployment back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitBreaker {
    /// Not enabled (also when ECS reports no deployment configuration): a failing
    /// rollout goes on until someone stops it.
    #[default]
    Off,
    /// Enabled without rollback: a failing rollout is marked failed and left as it is.
    On,
    /// Enabled with rollback: ECS rolls a failed rollout back to the last completed one.
    Rollback,
}

impl CircuitBreaker {
    /// From ECS's `deploymentCircuitBreaker` flags.
    pub fn from_flags(enable: bool, rollback: bool) -> Self {
        match (enable, rollback) {
            (false, _) => Self::Off,
            (true, false) => Self::On,
            (true, true) => Self::Rollback,
        }
    }

    /// `off`, `on`, `on, with rollback`.
    pub fn text(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::On => "on",
            Self::Rollback => "on, with rollback",
        }
    }
}

/// A target group a service registers into.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TargetGroupRef {
    /// Target group ARN.
    pub arn: String,
    /// Container registered.
    pub container: String,
    /// Container port registered.
    pub port: u16,
}

/// Rollout state of a deployment (ECS `rolloutState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Rollout {
    /// The deployment finished.
    Completed,
    /// The deployment is rolling.
    InProgress,
    /// The deployment failed (circuit breaker).
    Failed,
    /// Not reported.
    #[default]
    Unknown,
}

impl Rollout {
    /// Parses ECS's `COMPLETED`, `IN_PROGRESS`, `FAILED`.
    pub fn parse(s: &str) -> Self {
        match s {
            "COMPLETED" => Self::Completed,
            "IN_PROGRESS" => Self::InProgress,
            "FAILED" => Self::Failed,
            _ => Self::Unknown,
        }
    }

    /// The word shown in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::InProgress => "in_progress",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }
}

/// One deployment of a service.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Deployment {
    /// Deployment id.
    pub id: String,
    /// `PRIMARY`, `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// Task-definition ARN.
    pub task_definition: String,
    /// Desired tasks.
    pub desired: u32,
    /// Running tasks.
    pub running: u32,
    /// Pending tasks.
    pub pending: u32,
    /// Failed tasks.
    pub failed: u32,
    /// Rollout state.
    pub rollout: Rollout,
    /// Why the rollout is in that state, if ECS said.
    pub rollout_reason: Option<String>,
    /// Created at.
    pub created_at: Option<EpochMs>,
    /// Last updated at.
    pub updated_at: Option<EpochMs>,
}

/// A service event message.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServiceEvent {
    /// When ECS logged it.
    pub at: EpochMs,
    /// The message.
    pub message: String,
}

impl Service {
    /// Rollout state: failed or in progress when any deployment says so, else that of the
    /// primary deployment; a service with several deployments is in progress.
    pub fn rollout(&self) -> Rollout {
        if self
            .deployments
            .iter()
            .any(|d| d.rollout == Rollout::Failed)
        {
            return Rollout::Failed;
        }
        if self.deployments.len() > 1
            || self
                .deployments
                .iter()
                .any(|d| d.rollout == Rollout::InProgress)
        {
            return Rollout::InProgress;
        }
        self.deployments
            .first()
            .map_or(Rollout::Unknown, |d| d.rollout)
    }

    /// `family:revision` of the primary task definition.
    pub fn task_definition_short(&self) -> &str {
        short_task_definition(&self.task_definition)
    }

    /// Judges the service from its counts, rollout and tasks.
    ///
    /// - `down`: desired > 0 and nothing running;
    /// - `degraded`: fewer running than desired, a rollout in progress or failed, or a
    ///   running task whose health check says UNHEALTHY;
    /// - `ok`: otherwise (a service scaled to 0 is ok).
    pub fn health<'a>(&self, tasks: impl IntoIterator<Item = &'a Task>) -> Health {
        if self.desired > 0 && self.running == 0 {
            return Health::Down;
        }
        let unhealthy = tasks
            .into_iter()
            .any(|t| t.is_running() && t.health_status == "UNHEALTHY");
        if self.running < self.desired
            || unhealthy
            || matches!(self.rollout(), Rollout::InProgress | Rollout::Failed)
        {
            return Health::Degraded;
        }
        Health::Ok
    }
}

/// `family:revision` from a task-definition ARN (or the input when it is not an ARN).
pub fn short_task_definition(arn: &str) -> &str {
    arn.rsplit_once('/').map_or(arn, |(_, s)| s)
}

/// The revision number of a task-definition ARN or `family:revision`.
pub fn task_definition_revision(arn: &str) -> Option<u32> {
    short_task_definition(arn)
        .rsplit_once(':')
        .and_then(|(_, r)| r.parse().ok())
}

/// An ECS task.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Task {
    /// The task id (last part of the ARN).
    pub id: String,
    /// Task ARN.
    pub arn: String,
    /// The service it belongs to (from its `service:NAME` group).
    pub service: Option<String>,
    /// Task-definition ARN.
    pub task_definition: String,
    /// `PROVISIONING`, `PENDING`, `ACTIVATING`, `RUNNING`, `DEACTIVATING`, `STOPPING`,
    /// `DEPROVISIONING`, `STOPPED`.
    pub last_status: String,
    /// `RUNNING` or `STOPPED`.
    pub desired_status: String,
    /// `HEALTHY`, `UNHEALTHY` or `UNKNOWN`.
    pub health_status: String,
    /// Created at.
    pub created_at: Option<EpochMs>,
    /// Started at.
    pub started_at: Option<EpochMs>,
    /// Stopped at.
    pub stopped_at: Option<EpochMs>,
    /// Why it stopped.
    pub stopped_reason: Option<String>,
    /// Containers.
    pub containers: Vec<Container>,
    /// Whether ECS Exec (`aws ecs execute-command`) can open a session in it: the task
    /// was started with `enableExecuteCommand` (a service's setting applies to the tasks
    /// it starts after the change).
    pub enable_execute_command: bool,
}

impl Task {
    /// Whether the task is running.
    pub fn is_running(&self) -> bool {
        self.last_status == "RUNNING"
    }

    /// Whether the task has stopped.
    pub fn is_stopped(&self) -> bool {
        self.last_status == "STOPPED"
    }

    /// Health as `status` reports it: a stopped task is down, an unhealthy one degraded,
    /// a running one ok (HEALTHY or no health check), anything else unknown.
    pub fn health(&self) -> Health {
        match (self.last_status.as_str(), self.health_status.as_str()) {
            ("STOPPED", _) => Health::Down,
            (_, "UNHEALTHY") => Health::Degraded,
            ("RUNNING", _) => Health::Ok,
            _ => Health::Unknown,
        }
    }
}

/// A container of a task.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Container {
    /// Container name.
    pub name: String,
    /// Image.
    pub image: String,
    /// Last status.
    pub last_status: String,
    /// Health status.
    pub health_status: String,
    /// Exit code once stopped.
    pub exit_code: Option<i32>,
    /// Reason given by ECS.
    pub reason: Option<String>,
}

/// A task definition revision.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TaskDefinition {
    /// ARN.
    pub arn: String,
    /// Family.
    pub family: String,
    /// Revision.
    pub revision: u32,
    /// Task CPU units, as ECS reports them.
    pub cpu: Option<String>,
    /// Task memory (MiB), as ECS reports it.
    pub memory: Option<String>,
    /// The IAM role the containers act as (`taskRoleArn`: an ARN or a role name).
    pub task_role: Option<String>,
    /// The IAM role ECS pulls images and reads secrets with (`executionRoleArn`).
    pub execution_role: Option<String>,
    /// Containers.
    pub containers: Vec<ContainerDefinition>,
}

/// One container of a task definition.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContainerDefinition {
    /// Name.
    pub name: String,
    /// Image with tag.
    pub image: String,
    /// CPU units.
    pub cpu: Option<i32>,
    /// Memory (MiB).
    pub memory: Option<i32>,
    /// Environment variables, sorted by name.
    pub environment: Vec<(String, String)>,
    /// Secrets (name, value source ARN).
    pub secrets: Vec<(String, String)>,
    /// Container ports.
    pub ports: Vec<u16>,
    /// The `awslogs` log configuration, if it uses that driver.
    pub log: Option<AwsLogs>,
}

/// `awslogs` driver options of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AwsLogs {
    /// `awslogs-group`.
    pub group: String,
    /// `awslogs-region`.
    pub region: Option<String>,
    /// `awslogs-stream-prefix`.
    pub stream_prefix: Option<String>,
}

impl AwsLogs {
    /// The stream of `container` in task `task_id`: `prefix/container/task-id`.
    pub fn stream_for(&self, container: &str, task_id: &str) -> Option<String> {
        self.stream_prefix
            .as_ref()
            .map(|p| format!("{p}/{container}/{task_id}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(desired: u32, running: u32, rollouts: &[Rollout]) -> Service {
        Service {
            name: "api".into(),
            desired,
            running,
            deployments: rollouts
                .iter()
                .map(|r| Deployment {
                    rollout: *r,
                    ..Deployment::default()
                })
                .collect(),
            ..Service::default()
        }
    }

    #[test]
    fn service_health() {
        assert_eq!(svc(2, 2, &[Rollout::Completed]).health([]), Health::Ok);
        assert_eq!(
            svc(2, 1, &[Rollout::Completed]).health([]),
            Health::Degraded
        );
        assert_eq!(svc(2, 0, &[Rollout::Completed]).health([]), Health::Down);
        assert_eq!(svc(0, 0, &[Rollout::Completed]).health([]), Health::Ok);
        assert_eq!(
            svc(2, 2, &[Rollout::InProgress, Rollout::Completed]).health([]),
            Health::Degraded
        );
        let sick = Task {
            last_status: "RUNNING".into(),
            health_status: "UNHEALTHY".into(),
            ..Task::default()
        };
        assert_eq!(
            svc(1, 1, &[Rollout::Completed]).health([&sick]),
            Health::Degraded
        );
    }

    #[test]
    fn tasks_by_service_groups_in_snapshot_order() {
        let task = |id: &str, service: Option<&str>| Task {
            id: id.into(),
            service: service.map(Into::into),
            ..Task::default()
        };
        let snap = ClusterSnapshot {
            tasks: vec![
                task("a1", Some("api")),
                task("b1", Some("batch")),
                task("x", None),
                task("a2", Some("api")),
            ],
            ..ClusterSnapshot::default()
        };
        let groups = snap.tasks_by_service();
        let ids = |s: &str| -> Vec<&str> { groups[s].iter().map(|t| t.id.as_str()).collect() };
        assert_eq!(ids("api"), ["a1", "a2"]);
        assert_eq!(ids("batch"), ["b1"]);
        assert_eq!(groups.len(), 2, "a task without a service belongs to none");
        for name in ["api", "batch"] {
            assert_eq!(
                ids(name),
                snap.tasks_of(name)
                    .map(|t| t.id.as_str())
                    .collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn task_definition_names() {
        let arn = "arn:aws:ecs:ap-northeast-1:123:task-definition/ibet-api:42";
        assert_eq!(short_task_definition(arn), "ibet-api:42");
        assert_eq!(task_definition_revision(arn), Some(42));
        assert_eq!(task_definition_revision("nope"), None);
    }

    #[test]
    fn awslogs_stream_names() {
        let l = AwsLogs {
            group: "/ecs/api".into(),
            region: None,
            stream_prefix: Some("ecs".into()),
        };
        assert_eq!(l.stream_for("api", "abc").as_deref(), Some("ecs/api/abc"));
    }
}
