//! Which log streams to follow: [`LogSource`]s computed from a [`ClusterSnapshot`].
//!
//! An ECS container that logs with the `awslogs` driver writes to the group named by
//! `awslogs-group`, in the stream `prefix/container/task-id`. From the snapshot's task
//! definitions and tasks this module computes one source per (task, container) of a
//! service, per container of a task, or exactly one for a container. A per-service group
//! override (the config's `log_groups`) wins over the task definition's group. Pure: no
//! I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::clock::EpochMs;
use crate::model::ecs::{ClusterSnapshot, ContainerDefinition, Task};

/// How many characters of a task id a label shows.
pub const SHORT_TASK_ID: usize = 8;

/// One log stream to follow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogSource {
    /// Log group.
    pub group: String,
    /// Exact stream name; `None` follows every stream of the group.
    pub stream: Option<String>,
    /// What lines from it are labelled with, e.g. `api/1a2b3c4d`.
    pub label: Arc<str>,
}

/// What to follow, in operator terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    /// Every container of every running (or recently stopped) task of a service.
    Service(String),
    /// One container in every running (or recently stopped) task of a service.
    ServiceContainer {
        /// Service name.
        service: String,
        /// Container name.
        container: String,
    },
    /// Every container of one task (id, ARN or a unique id prefix).
    Task(String),
    /// One container of one task.
    Container {
        /// Task id, ARN or unique id prefix.
        task: String,
        /// Container name.
        container: String,
    },
}

impl LogTarget {
    /// The target named by the `logs` subcommand's options: `--task` (with `--container`)
    /// picks a task (or one of its containers), else `--container` picks that container
    /// in every task of `--service`, else the whole service.
    pub fn select(service: &str, task: Option<&str>, container: Option<&str>) -> Self {
        match (task, container) {
            (Some(task), Some(container)) => Self::Container {
                task: task.to_string(),
                container: container.to_string(),
            },
            (Some(task), None) => Self::Task(task.to_string()),
            (None, Some(container)) => Self::ServiceContainer {
                service: service.to_string(),
                container: container.to_string(),
            },
            (None, None) => Self::Service(service.to_string()),
        }
    }
}

/// Why no source could be found for a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// The service is not in the snapshot.
    #[error("no service named `{0}` in the cluster")]
    UnknownService(String),
    /// No task matches.
    #[error("no task `{0}` in the cluster")]
    UnknownTask(String),
    /// Several tasks start with that prefix.
    #[error("task `{0}` is ambiguous: give more of its id")]
    AmbiguousTask(String),
    /// The task has no such container.
    #[error("task `{task}` has no container `{container}`")]
    UnknownContainer {
        /// Task id.
        task: String,
        /// Container name.
        container: String,
    },
    /// The task definition is not in the snapshot.
    #[error("task definition `{0}` is not known")]
    UnknownTaskDefinition(String),
    /// Nothing of the target logs with the `awslogs` driver (and no override applies).
    #[error("`{0}` has no awslogs log configuration (set log_groups in the config)")]
    NoAwsLogs(String),
    /// The service has no running or recent task to take streams from.
    #[error("service `{0}` has no running or recently stopped task")]
    NoTasks(String),
}

/// Computes the sources of `targets` in `snapshot`, without duplicates, sorted by group
/// and stream.
///
/// - `group_overrides` maps a service name to the log group to read instead of the task
///   definition's `awslogs-group`. Where a container has no stream prefix but the
///   service has an override, the whole override group is followed.
/// - `stopped_since`: stopped tasks are included when they stopped at or after it (or
///   their stop time is unknown), so the window being read still shows their last words.
///   Pass the start of the window read (`now - since`).
pub fn discover(
    snapshot: &ClusterSnapshot,
    targets: &[LogTarget],
    group_overrides: &BTreeMap<String, String>,
    stopped_since: EpochMs,
) -> Result<Vec<LogSource>, DiscoveryError> {
    let mut out = BTreeSet::new();
    for target in targets {
        let found = match target {
            LogTarget::Service(name) => {
                service_sources(snapshot, name, None, group_overrides, stopped_since)?
            }
            LogTarget::ServiceContainer { service, container } => service_sources(
                snapshot,
                service,
                Some(container),
                group_overrides,
                stopped_since,
            )?,
            LogTarget::Task(task) => {
                let task = find_task(snapshot, task)?;
                task_sources(snapshot, task, None, group_overrides)?
            }
            LogTarget::Container { task, container } => {
                let task = find_task(snapshot, task)?;
                task_sources(snapshot, task, Some(container), group_overrides)?
            }
        };
        out.extend(found);
    }
    Ok(out.into_iter().collect())
}

/// Adds to `followed` the sources of `found` it lacks (tasks that came), keeping those
/// that went (their last lines stay readable), sorted; returns whether any was added.
pub fn merge_sources(followed: &mut Vec<LogSource>, found: Vec<LogSource>) -> bool {
    let before = followed.len();
    for source in found {
        if !followed.contains(&source) {
            followed.push(source);
        }
    }
    if followed.len() == before {
        return false;
    }
    followed.sort();
    true
}

/// The first [`SHORT_TASK_ID`] characters of a task id.
pub fn short_task_id(id: &str) -> &str {
    id.char_indices()
        .nth(SHORT_TASK_ID)
        .map_or(id, |(at, _)| &id[..at])
}

fn service_sources(
    snapshot: &ClusterSnapshot,
    service: &str,
    only: Option<&str>,
    overrides: &BTreeMap<String, String>,
    stopped_since: EpochMs,
) -> Result<Vec<LogSource>, DiscoveryError> {
    if !snapshot.services.iter().any(|s| s.name == service) {
        return Err(DiscoveryError::UnknownService(service.to_string()));
    }
    let tasks: Vec<&Task> = snapshot
        .tasks_of(service)
        .filter(|t| !t.is_stopped() || t.stopped_at.is_none_or(|at| at >= stopped_since))
        .collect();
    if tasks.is_empty() {
        return Err(DiscoveryError::NoTasks(service.to_string()));
    }
    let mut out = Vec::new();
    let mut last_error = None;
    for task in tasks {
        match task_sources(snapshot, task, only, overrides) {
            Ok(found) => out.extend(found),
            Err(e) => last_error = Some(e),
        }
    }
    match (out.is_empty(), last_error) {
        (true, Some(DiscoveryError::NoAwsLogs(_))) => {
            Err(DiscoveryError::NoAwsLogs(service.to_string()))
        }
        (true, Some(e)) => Err(e),
        _ => Ok(out),
    }
}

fn task_sources(
    snapshot: &ClusterSnapshot,
    task: &Task,
    only: Option<&str>,
    overrides: &BTreeMap<String, String>,
) -> Result<Vec<LogSource>, DiscoveryError> {
    let definition = snapshot
        .task_definitions
        .get(&task.task_definition)
        .ok_or_else(|| DiscoveryError::UnknownTaskDefinition(task.task_definition.clone()))?;
    let containers: Vec<&ContainerDefinition> = match only {
        Some(name) => {
            let c = definition
                .containers
                .iter()
                .find(|c| c.name == name)
                .ok_or_else(|| DiscoveryError::UnknownContainer {
                    task: task.id.clone(),
                    container: name.to_string(),
                })?;
            vec![c]
        }
        None => definition.containers.iter().collect(),
    };
    let override_group = task.service.as_ref().and_then(|s| overrides.get(s));
    // Counted over the whole task, so a container's label is the same however it was
    // selected.
    let logging = definition
        .containers
        .iter()
        .filter(|c| c.log.is_some() || override_group.is_some())
        .count();
    let mut out = Vec::new();
    for container in containers {
        if let Some(source) = container_source(task, container, override_group, logging) {
            out.push(source);
        }
    }
    if out.is_empty() {
        let what = only.map_or_else(|| task.id.clone(), |c| format!("{}/{c}", task.id));
        return Err(DiscoveryError::NoAwsLogs(what));
    }
    Ok(out)
}

/// The source of one container of one task. Labels read `service/short-id` when the task
/// has one logging container, `container/short-id` otherwise.
fn container_source(
    task: &Task,
    container: &ContainerDefinition,
    override_group: Option<&String>,
    logging_containers: usize,
) -> Option<LogSource> {
    let short = short_task_id(&task.id);
    let name = match (&task.service, logging_containers) {
        (Some(service), 1) => service.as_str(),
        _ => container.name.as_str(),
    };
    let stream = container
        .log
        .as_ref()
        .and_then(|l| l.stream_for(&container.name, &task.id));
    match (override_group, &container.log) {
        (Some(group), _) => Some(LogSource {
            group: group.clone(),
            label: match &stream {
                Some(_) => Arc::from(format!("{name}/{short}")),
                None => Arc::from(task.service.as_deref().unwrap_or(name)),
            },
            stream,
        }),
        (None, Some(log)) => Some(LogSource {
            group: log.group.clone(),
            label: Arc::from(format!("{name}/{short}")),
            stream: Some(stream?),
        }),
        (None, None) => None,
    }
}

fn find_task<'a>(snapshot: &'a ClusterSnapshot, wanted: &str) -> Result<&'a Task, DiscoveryError> {
    if wanted.is_empty() {
        return Err(DiscoveryError::UnknownTask(String::new()));
    }
    if let Some(task) = snapshot
        .tasks
        .iter()
        .find(|t| t.id == wanted || t.arn == wanted)
    {
        return Ok(task);
    }
    let mut matching = snapshot.tasks.iter().filter(|t| t.id.starts_with(wanted));
    match (matching.next(), matching.next()) {
        (Some(task), None) => Ok(task),
        (Some(_), Some(_)) => Err(DiscoveryError::AmbiguousTask(wanted.to_string())),
        _ => Err(DiscoveryError::UnknownTask(wanted.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ecs::{AwsLogs, Service, TaskDefinition};

    const TD_API: &str = "arn:aws:ecs:ap-northeast-1:1:task-definition/api:3";
    const TD_AP: &str = "arn:aws:ecs:ap-northeast-1:1:task-definition/ap:7";
    const TD_NGINX: &str = "arn:aws:ecs:ap-northeast-1:1:task-definition/nginx:1";

    fn awslogs(group: &str, prefix: &str) -> AwsLogs {
        AwsLogs {
            group: group.into(),
            region: Some("ap-northeast-1".into()),
            stream_prefix: (!prefix.is_empty()).then(|| prefix.to_string()),
        }
    }

    fn container(name: &str, log: Option<AwsLogs>) -> ContainerDefinition {
        ContainerDefinition {
            name: name.into(),
            log,
            ..ContainerDefinition::default()
        }
    }

    fn task(id: &str, service: &str, td: &str, status: &str, stopped_at: Option<i64>) -> Task {
        Task {
            id: id.into(),
            arn: format!("arn:aws:ecs:ap-northeast-1:1:task/c/{id}"),
            service: Some(service.into()),
            task_definition: td.into(),
            last_status: status.into(),
            stopped_at,
            ..Task::default()
        }
    }

    fn snapshot() -> ClusterSnapshot {
        let mut tds = BTreeMap::new();
        tds.insert(
            TD_API.to_string(),
            TaskDefinition {
                arn: TD_API.into(),
                containers: vec![container("api", Some(awslogs("/ecs/api", "ecs")))],
                ..TaskDefinition::default()
            },
        );
        tds.insert(
            TD_AP.to_string(),
            TaskDefinition {
                arn: TD_AP.into(),
                containers: vec![
                    container("web", Some(awslogs("/ecs/ap", "ap"))),
                    container("notification", Some(awslogs("/ecs/ap", "ap"))),
                    // awslogs without a stream prefix: its stream name cannot be known.
                    container("legacy", Some(awslogs("/ecs/ap", ""))),
                    container("sidecar", None),
                ],
                ..TaskDefinition::default()
            },
        );
        tds.insert(
            TD_NGINX.to_string(),
            TaskDefinition {
                arn: TD_NGINX.into(),
                containers: vec![container("nginx", None)],
                ..TaskDefinition::default()
            },
        );
        let service = |name: &str| Service {
            name: name.into(),
            ..Service::default()
        };
        ClusterSnapshot {
            cluster: "c".into(),
            services: vec![
                service("api"),
                service("ap"),
                service("nginx"),
                service("idle"),
            ],
            tasks: vec![
                task("1a2b3c4d5e6f", "api", TD_API, "RUNNING", None),
                task("55887766aabb", "api", TD_API, "STOPPED", Some(1_000)),
                task("55554444cccc", "api", TD_API, "STOPPED", Some(10_000)),
                task("abcdef012345", "ap", TD_AP, "RUNNING", None),
                task("0000111122223333", "nginx", TD_NGINX, "RUNNING", None),
            ],
            task_definitions: tds,
        }
    }

    fn pairs(sources: &[LogSource]) -> Vec<(String, Option<String>, String)> {
        sources
            .iter()
            .map(|s| (s.group.clone(), s.stream.clone(), s.label.to_string()))
            .collect()
    }

    fn p(group: &str, stream: Option<&str>, label: &str) -> (String, Option<String>, String) {
        (group.into(), stream.map(str::to_string), label.into())
    }

    #[test]
    fn a_service_gives_one_source_per_running_or_recent_task() {
        let found = discover(
            &snapshot(),
            &[LogTarget::Service("api".into())],
            &BTreeMap::new(),
            5_000,
        )
        .unwrap();
        assert_eq!(
            pairs(&found),
            [
                p("/ecs/api", Some("ecs/api/1a2b3c4d5e6f"), "api/1a2b3c4d"),
                p("/ecs/api", Some("ecs/api/55554444cccc"), "api/55554444"),
            ]
        );
    }

    #[test]
    fn a_multi_container_service_labels_by_container() {
        let found = discover(
            &snapshot(),
            &[LogTarget::Service("ap".into())],
            &BTreeMap::new(),
            0,
        )
        .unwrap();
        assert_eq!(
            pairs(&found),
            [
                p(
                    "/ecs/ap",
                    Some("ap/notification/abcdef012345"),
                    "notification/abcdef01"
                ),
                p("/ecs/ap", Some("ap/web/abcdef012345"), "web/abcdef01"),
            ]
        );
    }

    #[test]
    fn several_services_together_without_duplicates() {
        let found = discover(
            &snapshot(),
            &[
                LogTarget::Service("api".into()),
                LogTarget::Service("ap".into()),
                LogTarget::Task("1a2b".into()),
            ],
            &BTreeMap::new(),
            i64::MAX,
        )
        .unwrap();
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].group, "/ecs/ap");
        assert_eq!(found[2].stream.as_deref(), Some("ecs/api/1a2b3c4d5e6f"));
    }

    #[test]
    fn a_task_and_a_container() {
        let snap = snapshot();
        let none = BTreeMap::new();
        let task = discover(&snap, &[LogTarget::Task("abcdef".into())], &none, 0).unwrap();
        assert_eq!(task.len(), 2);
        let one = discover(
            &snap,
            &[LogTarget::Container {
                task: "arn:aws:ecs:ap-northeast-1:1:task/c/abcdef012345".into(),
                container: "web".into(),
            }],
            &none,
            0,
        )
        .unwrap();
        assert_eq!(
            pairs(&one),
            [p("/ecs/ap", Some("ap/web/abcdef012345"), "web/abcdef01")]
        );
    }

    #[test]
    fn an_override_wins() {
        let overrides = BTreeMap::from([
            ("api".to_string(), "/custom/api".to_string()),
            ("nginx".to_string(), "/custom/nginx".to_string()),
        ]);
        let found = discover(
            &snapshot(),
            &[
                LogTarget::Service("api".into()),
                LogTarget::Service("nginx".into()),
            ],
            &overrides,
            i64::MAX,
        )
        .unwrap();
        assert_eq!(
            pairs(&found),
            [
                p("/custom/api", Some("ecs/api/1a2b3c4d5e6f"), "api/1a2b3c4d"),
                p("/custom/nginx", None, "nginx"),
            ]
        );
    }

    #[test]
    fn errors_name_what_is_missing() {
        let snap = snapshot();
        let none = BTreeMap::new();
        let err = |t: LogTarget| discover(&snap, &[t], &none, 0).unwrap_err();
        assert_eq!(
            err(LogTarget::Service("nope".into())),
            DiscoveryError::UnknownService("nope".into())
        );
        assert_eq!(
            err(LogTarget::Service("idle".into())),
            DiscoveryError::NoTasks("idle".into())
        );
        assert_eq!(
            err(LogTarget::Service("nginx".into())),
            DiscoveryError::NoAwsLogs("nginx".into())
        );
        assert_eq!(
            err(LogTarget::Task("zzz".into())),
            DiscoveryError::UnknownTask("zzz".into())
        );
        assert_eq!(
            err(LogTarget::Task(String::new())),
            DiscoveryError::UnknownTask(String::new())
        );
        assert_eq!(
            err(LogTarget::Task("55".into())),
            DiscoveryError::AmbiguousTask("55".into())
        );
        assert_eq!(
            err(LogTarget::Container {
                task: "abcdef".into(),
                container: "sidecar".into()
            }),
            DiscoveryError::NoAwsLogs("abcdef012345/sidecar".into())
        );
        assert!(matches!(
            err(LogTarget::Container {
                task: "abcdef".into(),
                container: "db".into()
            }),
            DiscoveryError::UnknownContainer { .. }
        ));
    }

    #[test]
    fn one_container_across_a_service() {
        let found = discover(
            &snapshot(),
            &[LogTarget::select("ap", None, Some("web"))],
            &BTreeMap::new(),
            0,
        )
        .unwrap();
        assert_eq!(
            pairs(&found),
            [p("/ecs/ap", Some("ap/web/abcdef012345"), "web/abcdef01")]
        );
    }

    #[test]
    fn selection_from_command_options() {
        assert_eq!(
            LogTarget::select("api", None, None),
            LogTarget::Service("api".into())
        );
        assert_eq!(
            LogTarget::select("api", Some("1a2b"), None),
            LogTarget::Task("1a2b".into())
        );
        assert_eq!(
            LogTarget::select("api", Some("1a2b"), Some("web")),
            LogTarget::Container {
                task: "1a2b".into(),
                container: "web".into()
            }
        );
    }

    #[test]
    fn short_ids() {
        assert_eq!(short_task_id("1a2b3c4d5e6f"), "1a2b3c4d");
        assert_eq!(short_task_id("abc"), "abc");
    }
}
