//! ECS on the AWS SDK: cluster snapshots, task definitions, and the two ECS mutations
//! the console performs (stop a task, update a service).
//!
//! A snapshot reads at every poll only what moves, the services: one DescribeServices
//! per 10. The rest is read again only when something says it changed:
//!
//! - the list of services (one ListServices page per 100) every [`SERVICES_KEPT_FOR`],
//!   or sooner when a service it named is gone;
//! - the tasks (one ListTasks page per 100 running tasks plus one per 100 stopped ones,
//!   and one DescribeTasks per 100 tasks not yet seen stopped) when any service differs
//!   from the poll before (counts, deployments, events: a task that stops or starts
//!   shows there first), after this backend stopped a task or updated a service, and
//!   when a task kept turns out stopped or gone;
//! - the running tasks kept, described again without listing (one DescribeTasks per
//!   100) every [`TASKS_KEPT_FOR`] while the services stay the same: a container's
//!   health can turn without the service saying so;
//! - one DescribeTaskDefinition per task definition never seen before.
//!
//! What cannot change is kept for the life of the backend: task-definition revisions,
//! and tasks once STOPPED (until they leave ECS's list). A first snapshot reads the
//! services and the tasks side by side, and each run of Describe calls keeps at most
//! [`CONCURRENT_CALLS`] in flight. A still cluster costs one request a poll (two with
//! more than ten services). Every call is bounded by a timeout and retried by the SDK's standard retry
//! mode; every failure is classified by [`auth::classify_within`]. This module maps SDK
//! shapes to [`crate::model::ecs`] and nothing else: it knows no terminal, no poller and
//! no audit.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ecs::Client;
use aws_sdk_ecs::error::SdkError;
use aws_sdk_ecs::types::{self as sdk, DesiredStatus, SortOrder, TaskDefinitionStatus};
use futures_util::{StreamExt, TryStreamExt, stream};

use super::auth;
use super::metrics::RequestCounter;
use crate::backend::{BackendError, BackendResult, EcsApi, ServiceUpdate};
use crate::clock::{EpochMs, SharedClock};
use crate::model::ecs::{
    AwsLogs, CircuitBreaker, ClusterSnapshot, Container, ContainerDefinition, Deployment, Rollout,
    Service, ServiceEvent, TargetGroupRef, Task, TaskDefinition, short_task_definition,
    task_definition_revision,
};

/// Services per DescribeServices request (the API's maximum).
pub const DESCRIBE_SERVICES_BATCH: usize = 10;
/// Tasks per DescribeTasks request (the API's maximum).
pub const DESCRIBE_TASKS_BATCH: usize = 100;
/// Items per page of the List calls (the API's maximum).
pub const LIST_PAGE_SIZE: i32 = 100;
/// How long a stopped task stays in a snapshot.
pub const STOPPED_TASK_WINDOW_MS: EpochMs = 60 * 60 * 1000;
/// Service events kept per service, the newest.
pub const EVENTS_KEPT: usize = 20;
/// Requests of one snapshot in flight at once.
pub const CONCURRENT_CALLS: usize = 4;
/// How long a cluster's list of services is used before it is listed again.
pub const SERVICES_KEPT_FOR: Duration = Duration::from_secs(300);
/// How long a cluster's tasks are used, while its services stay the same, before they
/// are read again.
pub const TASKS_KEPT_FOR: Duration = Duration::from_secs(60);

/// How long services read alone for a first screen stand for the snapshot that follows.
const FIRST_LOOK_USED_FOR: Duration = Duration::from_secs(2);

/// What a cluster's last snapshot read that the next one may use again.
#[derive(Debug, Clone)]
struct Kept {
    /// The service ARNs listed, and when.
    service_arns: Vec<String>,
    listed_at: tokio::time::Instant,
    /// The services as last described: when they differ, the tasks are read again.
    services: Vec<Service>,
    /// The tasks as last read (running and recently stopped), and when; `None` when
    /// they must be read at the next snapshot.
    tasks: Option<(Vec<Task>, tokio::time::Instant)>,
    /// Set by a first look at the services alone: when they were described, so the
    /// snapshot that follows at once reads the tasks without describing them again.
    first_look: Option<tokio::time::Instant>,
}

/// The ECS backend of one environment.
pub struct AwsEcs {
    client: Client,
    profile: Option<String>,
    clock: SharedClock,
    limit: Duration,
    /// Task definitions by the reference they were fetched with (an ARN, or
    /// `family:revision`), and by their own ARN.
    definitions: Mutex<HashMap<String, TaskDefinition>>,
    /// Tasks seen STOPPED, by cluster and task ARN: a stopped task never changes again.
    stopped: Mutex<HashMap<String, HashMap<String, Task>>>,
    /// What each cluster's last snapshot read that the next may use again.
    kept: Mutex<HashMap<String, Kept>>,
    /// How long the service list and the tasks are used again ([`SERVICES_KEPT_FOR`],
    /// [`TASKS_KEPT_FOR`]).
    services_kept_for: Duration,
    tasks_kept_for: Duration,
}

impl std::fmt::Debug for AwsEcs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsEcs")
            .field("profile", &self.profile)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl AwsEcs {
    /// An ECS backend on `sdk` (see [`auth::sdk_config`]). `profile` only feeds error
    /// hints; `clock` decides which stopped tasks are recent. What `sdk` lacks of retries
    /// and timeouts is completed by [`auth::completed`].
    pub fn new(sdk: &aws_config::SdkConfig, profile: Option<String>, clock: SharedClock) -> Self {
        let (sdk, limit) = auth::completed(sdk);
        Self {
            client: Client::new(&sdk),
            profile,
            clock,
            limit,
            definitions: Mutex::new(HashMap::new()),
            stopped: Mutex::new(HashMap::new()),
            kept: Mutex::new(HashMap::new()),
            services_kept_for: SERVICES_KEPT_FOR,
            tasks_kept_for: TASKS_KEPT_FOR,
        }
    }

    /// The same backend with every call, all attempts included, bounded by `limit`.
    #[must_use]
    pub fn with_timeout(mut self, limit: Duration) -> Self {
        let config = self
            .client
            .config()
            .to_builder()
            .timeout_config(auth::timeouts_within(limit))
            .build();
        self.client = Client::from_conf(config);
        self.limit = limit;
        self
    }

    /// The same backend, using a service list and tasks read before for at most these
    /// long (zero: read them at every snapshot).
    #[must_use]
    pub fn with_kept_for(mut self, services: Duration, tasks: Duration) -> Self {
        self.services_kept_for = services;
        self.tasks_kept_for = tasks;
        self
    }

    /// The same backend, counting its requests into `counter`.
    #[must_use]
    pub fn with_request_counter(mut self, counter: &RequestCounter) -> Self {
        let config = self
            .client
            .config()
            .to_builder()
            .interceptor(counter.clone())
            .build();
        self.client = Client::from_conf(config);
        self
    }

    /// The limit of one call, all attempts included.
    pub fn call_limit(&self) -> Duration {
        self.limit
    }

    fn classify<E, R>(&self, err: &SdkError<E, R>, action: &str) -> BackendError
    where
        E: aws_sdk_ecs::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        auth::classify_within(err, action, self.profile.as_deref(), self.limit)
    }

    /// What the last snapshot of `cluster` kept.
    fn kept(&self, cluster: &str) -> Option<Kept> {
        self.kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(cluster)
            .cloned()
    }

    /// Keeps what a snapshot read: the service list (with when it was listed, if `listed`),
    /// the services, and the tasks (with when they were read, if `tasks_read`).
    fn keep(
        &self,
        cluster: &str,
        arns: Vec<String>,
        listed: bool,
        services: &[Service],
        tasks: &[Task],
        tasks_read: bool,
    ) {
        let now = tokio::time::Instant::now();
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let before = kept.remove(cluster);
        let listed_at = match &before {
            Some(b) if !listed => b.listed_at,
            _ => now,
        };
        let tasks_at = match &before {
            Some(Kept {
                tasks: Some((_, at)),
                ..
            }) if !tasks_read => *at,
            _ => now,
        };
        kept.insert(
            cluster.to_string(),
            Kept {
                service_arns: arns,
                listed_at,
                services: services.to_vec(),
                tasks: Some((tasks.to_vec(), tasks_at)),
                first_look: None,
            },
        );
    }

    /// Makes the next snapshot of `cluster` read its tasks (after this backend changed
    /// them).
    fn forget_tasks(&self, cluster: &str) {
        if let Some(kept) = self
            .kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(cluster)
        {
            kept.tasks = None;
        }
    }

    /// Fetches the task definitions `services` name while their tasks are still being
    /// read (the first snapshot's longest wait otherwise comes after both).
    async fn prefetch_definitions(&self, services: &[Service]) -> BackendResult<()> {
        self.task_definitions(&references(services, &[]))
            .await
            .map(drop)
    }

    /// A snapshot of `services` and `tasks` with the task definitions they name.
    async fn with_definitions(
        &self,
        cluster: &str,
        services: Vec<Service>,
        tasks: Vec<Task>,
    ) -> BackendResult<ClusterSnapshot> {
        let references = references(&services, &tasks);
        let task_definitions = self.task_definitions(&references).await?;
        Ok(ClusterSnapshot {
            cluster: cluster.to_string(),
            services,
            tasks,
            task_definitions,
        })
    }

    fn cached(&self, reference: &str) -> Option<TaskDefinition> {
        self.definitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(reference)
            .cloned()
    }

    fn remember(&self, reference: &str, definition: &TaskDefinition) {
        let mut cache = self
            .definitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cache.insert(definition.arn.clone(), definition.clone());
        cache.insert(reference.to_string(), definition.clone());
    }

    /// Every service of `cluster`, sorted by name, listed again when the list kept is
    /// older than [`SERVICES_KEPT_FOR`] or named a service that is gone; with the ARNs
    /// listed and whether they were listed now.
    async fn services(&self, cluster: &str) -> BackendResult<(Vec<Service>, Vec<String>, bool)> {
        let now = tokio::time::Instant::now();
        let kept = self
            .kept(cluster)
            .filter(|k| now.duration_since(k.listed_at) < self.services_kept_for)
            .map(|k| k.service_arns);
        if let Some(arns) = kept {
            let services = self.describe_all_services(cluster, &arns).await?;
            if services.len() == arns.len() {
                return Ok((services, arns, false));
            }
        }
        let arns = self.list_services(cluster).await?;
        let services = self.describe_all_services(cluster, &arns).await?;
        Ok((services, arns, true))
    }

    async fn list_services(&self, cluster: &str) -> BackendResult<Vec<String>> {
        self.client
            .list_services()
            .cluster(cluster)
            .max_results(LIST_PAGE_SIZE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.classify(&e, "ecs:ListServices"))
    }

    async fn describe_all_services(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> BackendResult<Vec<Service>> {
        let batches: Vec<Vec<Service>> = stream::iter(batches_of(arns, DESCRIBE_SERVICES_BATCH))
            .map(|batch| self.describe_services(cluster, batch))
            .buffered(CONCURRENT_CALLS)
            .try_collect()
            .await?;
        let mut services: Vec<Service> = batches.into_iter().flatten().collect();
        services.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(services)
    }

    async fn describe_services(
        &self,
        cluster: &str,
        arns: Vec<String>,
    ) -> BackendResult<Vec<Service>> {
        let out = self
            .client
            .describe_services()
            .cluster(cluster)
            .set_services(Some(arns))
            .send()
            .await
            .map_err(|e| self.classify(&e, "ecs:DescribeServices"))?;
        Ok(out.services().iter().map(service_from).collect())
    }

    /// Running tasks and recently stopped ones of `cluster`, sorted by service, newest
    /// first. Tasks already seen STOPPED are not described again.
    async fn tasks(&self, cluster: &str) -> BackendResult<Vec<Task>> {
        let (running, stopped) = futures_util::future::try_join(
            self.task_arns(cluster, DesiredStatus::Running),
            self.task_arns(cluster, DesiredStatus::Stopped),
        )
        .await?;
        let mut known = self.stopped_tasks_seen(cluster, &stopped);
        // A task that stopped between the two lists appears in both.
        let mut seen = BTreeSet::new();
        let unknown: Vec<String> = running
            .into_iter()
            .chain(stopped.into_iter().filter(|arn| !known.contains_key(arn)))
            .filter(|arn| seen.insert(arn.clone()))
            .collect();
        let batches: Vec<Vec<Task>> = stream::iter(batches_of(&unknown, DESCRIBE_TASKS_BATCH))
            .map(|batch| self.describe_tasks(cluster, batch))
            .buffered(CONCURRENT_CALLS)
            .try_collect()
            .await?;
        let described: Vec<Task> = batches.into_iter().flatten().collect();
        known.extend(
            described
                .iter()
                .filter(|t| t.is_stopped())
                .map(|t| (t.arn.clone(), t.clone())),
        );
        let now = self.clock.now_ms();
        let mut tasks: Vec<Task> = described
            .into_iter()
            .filter(|t| !t.is_stopped())
            .chain(known.values().cloned())
            .filter(|t| is_recent(t, now))
            .collect();
        sort_tasks(&mut tasks);
        self.stopped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(cluster.to_string(), known);
        Ok(tasks)
    }

    /// `tasks` as kept, the running ones described again (one DescribeTasks per 100,
    /// no list); `None` when one of them stopped or is gone, and the tasks must be listed
    /// again (a replacement may have started).
    async fn described_again(
        &self,
        cluster: &str,
        tasks: Vec<Task>,
    ) -> BackendResult<Option<Vec<Task>>> {
        let (stopped, running): (Vec<Task>, Vec<Task>) =
            tasks.into_iter().partition(Task::is_stopped);
        let arns: Vec<String> = running.iter().map(|t| t.arn.clone()).collect();
        let batches: Vec<Vec<Task>> = stream::iter(batches_of(&arns, DESCRIBE_TASKS_BATCH))
            .map(|batch| self.describe_tasks(cluster, batch))
            .buffered(CONCURRENT_CALLS)
            .try_collect()
            .await?;
        let described: Vec<Task> = batches.into_iter().flatten().collect();
        if described.len() != arns.len() || described.iter().any(Task::is_stopped) {
            return Ok(None);
        }
        let now = self.clock.now_ms();
        let mut tasks: Vec<Task> = described
            .into_iter()
            .chain(stopped)
            .filter(|t| is_recent(t, now))
            .collect();
        sort_tasks(&mut tasks);
        Ok(Some(tasks))
    }

    /// The stopped tasks of `cluster` already described, of those in `listed` (the rest
    /// have aged out of ECS's list and are forgotten).
    fn stopped_tasks_seen(&self, cluster: &str, listed: &[String]) -> HashMap<String, Task> {
        let cache = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(seen) = cache.get(cluster) else {
            return HashMap::new();
        };
        listed
            .iter()
            .filter_map(|arn| seen.get(arn).map(|t| (arn.clone(), t.clone())))
            .collect()
    }

    async fn task_arns(&self, cluster: &str, desired: DesiredStatus) -> BackendResult<Vec<String>> {
        self.client
            .list_tasks()
            .cluster(cluster)
            .desired_status(desired)
            .max_results(LIST_PAGE_SIZE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.classify(&e, "ecs:ListTasks"))
    }

    async fn describe_tasks(&self, cluster: &str, arns: Vec<String>) -> BackendResult<Vec<Task>> {
        let out = self
            .client
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(arns))
            .send()
            .await
            .map_err(|e| self.classify(&e, "ecs:DescribeTasks"))?;
        Ok(out.tasks().iter().map(task_from).collect())
    }

    /// The task definitions behind `references`, fetching only those not cached. One that
    /// ECS cannot describe (deleted) is left out of the answer and asked again next time.
    async fn task_definitions(
        &self,
        references: &BTreeSet<String>,
    ) -> BackendResult<BTreeMap<String, TaskDefinition>> {
        let mut found = BTreeMap::new();
        let mut missing = Vec::new();
        for reference in references {
            match self.cached(reference) {
                Some(definition) => {
                    found.insert(reference.clone(), definition);
                }
                None => missing.push(reference.clone()),
            }
        }
        let fetched: Vec<Option<(String, TaskDefinition)>> = stream::iter(missing)
            .map(|reference: String| async move {
                match self.fetch_task_definition(&reference).await {
                    Ok(definition) => Ok(Some((reference, definition))),
                    Err(BackendError::NotFound(_) | BackendError::Other(_)) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffered(CONCURRENT_CALLS)
            .try_collect()
            .await?;
        found.extend(fetched.into_iter().flatten());
        Ok(found)
    }

    async fn fetch_task_definition(&self, reference: &str) -> BackendResult<TaskDefinition> {
        let out = self
            .client
            .describe_task_definition()
            .task_definition(reference)
            .send()
            .await
            .map_err(|e| self.classify(&e, "ecs:DescribeTaskDefinition"))?;
        let definition = out
            .task_definition()
            .map(task_definition_from)
            .ok_or_else(|| BackendError::NotFound(reference.to_string()))?;
        self.remember(reference, &definition);
        Ok(definition)
    }
}

#[async_trait]
impl EcsApi for AwsEcs {
    async fn snapshot(&self, cluster: &str) -> BackendResult<ClusterSnapshot> {
        let ((services, arns), tasks) = futures_util::future::try_join(
            async {
                let arns = self.list_services(cluster).await?;
                let services = self.describe_all_services(cluster, &arns).await?;
                self.prefetch_definitions(&services).await?;
                Ok((services, arns))
            },
            self.tasks(cluster),
        )
        .await?;
        self.keep(cluster, arns, true, &services, &tasks, true);
        self.with_definitions(cluster, services, tasks).await
    }

    async fn services_only(&self, cluster: &str) -> BackendResult<Option<ClusterSnapshot>> {
        let arns = self.list_services(cluster).await?;
        let services = self.describe_all_services(cluster, &arns).await?;
        let now = tokio::time::Instant::now();
        self.kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(cluster.to_string())
            .or_insert_with(|| Kept {
                service_arns: arns,
                listed_at: now,
                services: services.clone(),
                tasks: None,
                first_look: Some(now),
            });
        Ok(Some(ClusterSnapshot {
            cluster: cluster.to_string(),
            services,
            tasks: Vec::new(),
            task_definitions: BTreeMap::new(),
        }))
    }

    async fn poll_snapshot(&self, cluster: &str) -> BackendResult<ClusterSnapshot> {
        let (services, arns, listed, tasks, tasks_read) = match self.kept(cluster) {
            // A first look: the services and the tasks side by side.
            None => {
                let ((services, arns, listed), tasks) = futures_util::future::try_join(
                    async {
                        let read = self.services(cluster).await?;
                        self.prefetch_definitions(&read.0).await?;
                        Ok(read)
                    },
                    self.tasks(cluster),
                )
                .await?;
                (services, arns, listed, tasks, true)
            }
            // The services were just read alone (a first screen): the tasks now.
            Some(Kept {
                service_arns,
                services,
                tasks: None,
                first_look: Some(at),
                ..
            }) if at.elapsed() < FIRST_LOOK_USED_FOR => {
                let ((), tasks) = futures_util::future::try_join(
                    self.prefetch_definitions(&services),
                    self.tasks(cluster),
                )
                .await?;
                (services, service_arns, true, tasks, true)
            }
            Some(kept) => {
                let (services, arns, listed) = self.services(cluster).await?;
                let now = tokio::time::Instant::now();
                match kept.tasks {
                    Some((tasks, at))
                        if kept.services == services
                            && now.duration_since(at) < self.tasks_kept_for =>
                    {
                        let now_ms = self.clock.now_ms();
                        let tasks = tasks.into_iter().filter(|t| is_recent(t, now_ms));
                        (services, arns, listed, tasks.collect(), false)
                    }
                    // The services say nothing moved: the tasks kept are described again
                    // for what can turn without them saying so (a container's health).
                    Some((tasks, _)) if kept.services == services => {
                        let tasks = match self.described_again(cluster, tasks).await? {
                            Some(tasks) => tasks,
                            None => self.tasks(cluster).await?,
                        };
                        (services, arns, listed, tasks, true)
                    }
                    _ => {
                        let tasks = self.tasks(cluster).await?;
                        (services, arns, listed, tasks, true)
                    }
                }
            }
        };
        self.keep(cluster, arns, listed, &services, &tasks, tasks_read);
        self.with_definitions(cluster, services, tasks).await
    }

    async fn task(&self, cluster: &str, task: &str) -> BackendResult<Option<Task>> {
        let mut found = self.describe_tasks(cluster, vec![task.to_string()]).await?;
        Ok(found.pop())
    }

    async fn task_definition(&self, arn: &str) -> BackendResult<TaskDefinition> {
        match self.cached(arn) {
            Some(definition) => Ok(definition),
            None => self.fetch_task_definition(arn).await,
        }
    }

    async fn task_definition_revisions(&self, family: &str) -> BackendResult<Vec<String>> {
        let arns: Vec<String> = self
            .client
            .list_task_definitions()
            .family_prefix(family)
            .status(TaskDefinitionStatus::Active)
            .sort(SortOrder::Desc)
            .max_results(LIST_PAGE_SIZE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.classify(&e, "ecs:ListTaskDefinitions"))?;
        Ok(revisions_newest_first(arns, family))
    }

    async fn stop_task(&self, cluster: &str, task: &str, reason: &str) -> BackendResult<()> {
        self.forget_tasks(cluster);
        self.client
            .stop_task()
            .cluster(cluster)
            .task(task)
            .reason(reason)
            .send()
            .await
            .map_err(|e| self.classify(&e, "ecs:StopTask"))?;
        self.forget_tasks(cluster);
        Ok(())
    }

    /// Updates a service; an update that asks for nothing sends nothing.
    async fn update_service(
        &self,
        cluster: &str,
        service: &str,
        update: &ServiceUpdate,
    ) -> BackendResult<()> {
        if update.task_definition.is_none() && !update.force_new_deployment {
            return Ok(());
        }
        self.forget_tasks(cluster);
        self.client
            .update_service()
            .cluster(cluster)
            .service(service)
            .set_task_definition(update.task_definition.clone())
            .force_new_deployment(update.force_new_deployment)
            .send()
            .await
            .map_err(|e| self.classify(&e, "ecs:UpdateService"))?;
        self.forget_tasks(cluster);
        Ok(())
    }
}

/// The task definitions `services` (and their deployments) and `tasks` run.
fn references(services: &[Service], tasks: &[Task]) -> BTreeSet<String> {
    services
        .iter()
        .flat_map(|s| {
            std::iter::once(&s.task_definition)
                .chain(s.deployments.iter().map(|d| &d.task_definition))
        })
        .chain(tasks.iter().map(|t| &t.task_definition))
        .filter(|r| !r.is_empty())
        .cloned()
        .collect()
}

/// `items` cut into owned batches of at most `size`.
fn batches_of(items: &[String], size: usize) -> Vec<Vec<String>> {
    items.chunks(size).map(<[String]>::to_vec).collect()
}

/// Epoch milliseconds of an SDK time.
fn epoch_ms(at: Option<&aws_sdk_ecs::primitives::DateTime>) -> Option<EpochMs> {
    at.and_then(|t| t.to_millis().ok())
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

fn text(s: Option<&str>) -> String {
    s.unwrap_or_default().to_string()
}

/// `None` for an absent or empty string.
fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_string)
}

fn service_from(s: &sdk::Service) -> Service {
    let deployments: Vec<Deployment> = s.deployments().iter().map(deployment_from).collect();
    // The service's own task definition is the primary deployment's.
    let task_definition = non_empty(s.task_definition())
        .or_else(|| {
            deployments
                .iter()
                .find(|d| d.status == "PRIMARY")
                .map(|d| d.task_definition.clone())
        })
        .unwrap_or_default();
    let mut deployments = deployments;
    deployments.sort_by_key(|d| d.status != "PRIMARY");
    let mut events: Vec<ServiceEvent> = s
        .events()
        .iter()
        .map(|e| ServiceEvent {
            at: epoch_ms(e.created_at()).unwrap_or_default(),
            message: text(e.message()),
        })
        .collect();
    events.sort_by_key(|e| std::cmp::Reverse(e.at));
    events.truncate(EVENTS_KEPT);
    Service {
        name: text(s.service_name()),
        arn: text(s.service_arn()),
        status: text(s.status()),
        desired: count(s.desired_count()),
        running: count(s.running_count()),
        pending: count(s.pending_count()),
        task_definition,
        deployments,
        events,
        target_groups: s
            .load_balancers()
            .iter()
            .filter_map(|lb| {
                Some(TargetGroupRef {
                    arn: lb.target_group_arn()?.to_string(),
                    container: text(lb.container_name()),
                    port: lb
                        .container_port()
                        .and_then(|p| u16::try_from(p).ok())
                        .unwrap_or(0),
                })
            })
            .collect(),
        circuit_breaker: s
            .deployment_configuration()
            .and_then(|c| c.deployment_circuit_breaker())
            .map_or(CircuitBreaker::Off, |b| {
                CircuitBreaker::from_flags(b.enable(), b.rollback())
            }),
    }
}

fn deployment_from(d: &sdk::Deployment) -> Deployment {
    Deployment {
        id: text(d.id()),
        status: text(d.status()),
        task_definition: text(d.task_definition()),
        desired: count(d.desired_count()),
        running: count(d.running_count()),
        pending: count(d.pending_count()),
        failed: count(d.failed_tasks()),
        rollout: d
            .rollout_state()
            .map_or(Rollout::Unknown, |r| Rollout::parse(r.as_str())),
        rollout_reason: non_empty(d.rollout_state_reason()),
        created_at: epoch_ms(d.created_at()),
        updated_at: epoch_ms(d.updated_at()),
    }
}

/// The service of a task whose group is `service:NAME`.
pub fn service_of_group(group: &str) -> Option<&str> {
    group.strip_prefix("service:").filter(|s| !s.is_empty())
}

fn task_from(t: &sdk::Task) -> Task {
    let arn = text(t.task_arn());
    Task {
        id: arn.rsplit('/').next().unwrap_or_default().to_string(),
        service: t.group().and_then(service_of_group).map(str::to_string),
        task_definition: text(t.task_definition_arn()),
        last_status: text(t.last_status()),
        desired_status: text(t.desired_status()),
        health_status: t
            .health_status()
            .map_or_else(|| "UNKNOWN".to_string(), |h| h.as_str().to_string()),
        created_at: epoch_ms(t.created_at()),
        started_at: epoch_ms(t.started_at()),
        stopped_at: epoch_ms(t.stopped_at()),
        stopped_reason: non_empty(t.stopped_reason()),
        containers: t
            .containers()
            .iter()
            .map(|c| Container {
                name: text(c.name()),
                image: text(c.image()),
                last_status: text(c.last_status()),
                health_status: c
                    .health_status()
                    .map_or_else(|| "UNKNOWN".to_string(), |h| h.as_str().to_string()),
                exit_code: c.exit_code(),
                reason: non_empty(c.reason()),
            })
            .collect(),
        enable_execute_command: t.enable_execute_command(),
        arn,
    }
}

/// Whether a task belongs in a snapshot taken at `now`: any task not stopped, and a
/// stopped one for [`STOPPED_TASK_WINDOW_MS`] after it stopped. A stopped task without a
/// stop time (ECS always gives one; local endpoints may not) is kept.
pub fn is_recent(task: &Task, now: EpochMs) -> bool {
    if !task.is_stopped() {
        return true;
    }
    task.stopped_at
        .is_none_or(|at| now.saturating_sub(at) <= STOPPED_TASK_WINDOW_MS)
}

/// Sorts tasks by service (tasks of no service last), then newest first.
fn sort_tasks(tasks: &mut [Task]) {
    tasks.sort_by(|a, b| {
        let service = |t: &Task| (t.service.is_none(), t.service.clone());
        let newest = |t: &Task| std::cmp::Reverse(t.started_at.or(t.created_at));
        service(a)
            .cmp(&service(b))
            .then_with(|| newest(a).cmp(&newest(b)))
            .then_with(|| a.id.cmp(&b.id))
    });
}

fn task_definition_from(td: &sdk::TaskDefinition) -> TaskDefinition {
    TaskDefinition {
        arn: text(td.task_definition_arn()),
        family: text(td.family()),
        revision: count(td.revision()),
        cpu: non_empty(td.cpu()),
        memory: non_empty(td.memory()),
        task_role: non_empty(td.task_role_arn()),
        execution_role: non_empty(td.execution_role_arn()),
        containers: td
            .container_definitions()
            .iter()
            .map(container_definition_from)
            .collect(),
    }
}

fn container_definition_from(c: &sdk::ContainerDefinition) -> ContainerDefinition {
    let mut environment: Vec<(String, String)> = c
        .environment()
        .iter()
        .map(|kv| (text(kv.name()), text(kv.value())))
        .collect();
    environment.sort();
    ContainerDefinition {
        name: text(c.name()),
        image: text(c.image()),
        // ECS reports 0 when no CPU units are reserved.
        cpu: Some(c.cpu()).filter(|&units| units > 0),
        memory: c.memory().or(c.memory_reservation()),
        environment,
        secrets: c
            .secrets()
            .iter()
            .map(|s| (s.name().to_string(), s.value_from().to_string()))
            .collect(),
        ports: c
            .port_mappings()
            .iter()
            .filter_map(|p| p.container_port().and_then(|p| u16::try_from(p).ok()))
            .collect(),
        log: c.log_configuration().and_then(awslogs_from),
    }
}

fn awslogs_from(log: &sdk::LogConfiguration) -> Option<AwsLogs> {
    if *log.log_driver() != sdk::LogDriver::Awslogs {
        return None;
    }
    let options = log.options()?;
    Some(AwsLogs {
        group: options.get("awslogs-group")?.clone(),
        region: options.get("awslogs-region").cloned(),
        stream_prefix: options.get("awslogs-stream-prefix").cloned(),
    })
}

/// The ARNs of `family` (others sharing its prefix dropped), highest revision first.
fn revisions_newest_first(arns: Vec<String>, family: &str) -> Vec<String> {
    let mut arns: Vec<String> = arns
        .into_iter()
        .filter(|arn| {
            short_task_definition(arn)
                .rsplit_once(':')
                .is_some_and(|(f, _)| f == family)
        })
        .collect();
    arns.sort_by_key(|arn| std::cmp::Reverse(task_definition_revision(arn)));
    arns
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::primitives::DateTime;

    const NOW: EpochMs = 1_795_000_000_000;

    fn sdk_task(status: &str, stopped_at: Option<EpochMs>) -> sdk::Task {
        sdk::Task::builder()
            .task_arn("arn:aws:ecs:ap-northeast-1:123:task/ibet-stg-node-api/abc123")
            .group("service:api")
            .task_definition_arn("arn:aws:ecs:ap-northeast-1:123:task-definition/api:3")
            .last_status(status)
            .desired_status("STOPPED")
            .stopped_reason("Essential container in task exited")
            .set_stopped_at(stopped_at.map(DateTime::from_millis))
            .containers(
                sdk::Container::builder()
                    .name("api")
                    .image("api:1.2")
                    .last_status(status)
                    .exit_code(137)
                    .build(),
            )
            .build()
    }

    #[test]
    fn maps_a_stopped_task() {
        let t = task_from(&sdk_task("STOPPED", Some(NOW - 1000)));
        assert_eq!(t.id, "abc123");
        assert_eq!(t.service.as_deref(), Some("api"));
        assert_eq!(
            t.stopped_reason.as_deref(),
            Some("Essential container in task exited")
        );
        assert_eq!(t.containers[0].exit_code, Some(137));
        assert_eq!(t.health_status, "UNKNOWN");
        assert_eq!(t.stopped_at, Some(NOW - 1000));
    }

    #[test]
    fn keeps_stopped_tasks_for_an_hour() {
        let recent = task_from(&sdk_task("STOPPED", Some(NOW - STOPPED_TASK_WINDOW_MS)));
        let old = task_from(&sdk_task("STOPPED", Some(NOW - STOPPED_TASK_WINDOW_MS - 1)));
        let undated = task_from(&sdk_task("STOPPED", None));
        let stopping = task_from(&sdk_task("DEACTIVATING", Some(0)));
        assert!(is_recent(&recent, NOW));
        assert!(!is_recent(&old, NOW));
        assert!(is_recent(&undated, NOW));
        assert!(is_recent(&stopping, NOW));
    }

    #[test]
    fn groups_name_services() {
        assert_eq!(service_of_group("service:nginx-proxy"), Some("nginx-proxy"));
        assert_eq!(service_of_group("family:api"), None);
        assert_eq!(service_of_group("service:"), None);
    }

    #[test]
    fn maps_a_service_with_events_and_target_groups() {
        let mut builder = sdk::Service::builder()
            .service_name("api")
            .service_arn("arn:svc/api")
            .status("ACTIVE")
            .desired_count(2)
            .running_count(1)
            .pending_count(1)
            .task_definition("arn:td/api:3")
            .deployments(
                sdk::Deployment::builder()
                    .id("old")
                    .status("ACTIVE")
                    .task_definition("arn:td/api:2")
                    .build(),
            )
            .deployments(
                sdk::Deployment::builder()
                    .id("new")
                    .status("PRIMARY")
                    .task_definition("arn:td/api:3")
                    .rollout_state(sdk::DeploymentRolloutState::InProgress)
                    .build(),
            )
            .load_balancers(
                sdk::LoadBalancer::builder()
                    .target_group_arn("arn:tg/api")
                    .container_name("api")
                    .container_port(5000)
                    .build(),
            );
        for i in 0..30 {
            builder = builder.events(
                sdk::ServiceEvent::builder()
                    .created_at(DateTime::from_millis(NOW - i * 1000))
                    .message(format!("event {i}"))
                    .build(),
            );
        }
        let no_configuration = service_from(&builder.clone().build());
        assert_eq!(no_configuration.circuit_breaker, CircuitBreaker::Off);
        let breaker = |enable, rollback| {
            sdk::DeploymentConfiguration::builder()
                .deployment_circuit_breaker(
                    sdk::DeploymentCircuitBreaker::builder()
                        .enable(enable)
                        .rollback(rollback)
                        .build(),
                )
                .build()
        };
        let on = service_from(
            &builder
                .clone()
                .deployment_configuration(breaker(true, false))
                .build(),
        );
        assert_eq!(on.circuit_breaker, CircuitBreaker::On);
        builder = builder.deployment_configuration(breaker(true, true));
        let s = service_from(&builder.build());
        assert_eq!(s.circuit_breaker, CircuitBreaker::Rollback);
        assert_eq!(s.deployments[0].id, "new");
        assert_eq!(s.deployments[0].rollout, Rollout::InProgress);
        assert_eq!(s.task_definition, "arn:td/api:3");
        assert_eq!(s.events.len(), EVENTS_KEPT);
        assert_eq!(s.events[0].message, "event 0");
        assert_eq!(
            s.target_groups,
            vec![TargetGroupRef {
                arn: "arn:tg/api".into(),
                container: "api".into(),
                port: 5000
            }]
        );
    }

    #[test]
    fn maps_a_task_definition() {
        let td = sdk::TaskDefinition::builder()
            .task_definition_arn("arn:aws:ecs:ap-northeast-1:123:task-definition/api:3")
            .family("api")
            .revision(3)
            .cpu("256")
            .memory("512")
            .container_definitions(
                sdk::ContainerDefinition::builder()
                    .name("api")
                    .image("api:1.2")
                    .cpu(0)
                    .memory_reservation(256)
                    .environment(sdk::KeyValuePair::builder().name("Z").value("1").build())
                    .environment(sdk::KeyValuePair::builder().name("A").value("2").build())
                    .secrets(
                        sdk::Secret::builder()
                            .name("DB")
                            .value_from("arn:ssm/db")
                            .build()
                            .expect("secret"),
                    )
                    .port_mappings(sdk::PortMapping::builder().container_port(5000).build())
                    .log_configuration(
                        sdk::LogConfiguration::builder()
                            .log_driver(sdk::LogDriver::Awslogs)
                            .options("awslogs-group", "/ecs/api")
                            .options("awslogs-stream-prefix", "ecs")
                            .build()
                            .expect("log configuration"),
                    )
                    .build(),
            )
            .build();
        let d = task_definition_from(&td);
        assert_eq!(d.revision, 3);
        let c = &d.containers[0];
        assert_eq!(c.cpu, None);
        assert_eq!(c.memory, Some(256));
        assert_eq!(c.environment[0], ("A".into(), "2".into()));
        assert_eq!(c.secrets, vec![("DB".into(), "arn:ssm/db".into())]);
        assert_eq!(c.ports, vec![5000]);
        let log = c.log.as_ref().expect("awslogs");
        assert_eq!(log.group, "/ecs/api");
        assert_eq!(log.stream_prefix.as_deref(), Some("ecs"));
        assert_eq!(log.region, None);
    }

    #[test]
    fn sorts_revisions_of_one_family() {
        let arns = [
            "arn:td/api:1",
            "arn:td/api-worker:9",
            "arn:td/api:10",
            "arn:td/api:2",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            revisions_newest_first(arns, "api"),
            vec!["arn:td/api:10", "arn:td/api:2", "arn:td/api:1"]
        );
    }

    #[test]
    fn sorts_tasks_by_service_then_newest() {
        let task = |id: &str, service: Option<&str>, started: i64| Task {
            id: id.into(),
            service: service.map(Into::into),
            started_at: Some(started),
            ..Task::default()
        };
        let mut tasks = vec![
            task("a", None, 5),
            task("b", Some("web"), 1),
            task("c", Some("api"), 1),
            task("d", Some("api"), 2),
        ];
        sort_tasks(&mut tasks);
        let ids: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["d", "c", "b", "a"]);
    }
}
