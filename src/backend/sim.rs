//! The embedded demo world: a simulated ibet infrastructure behind the same backend
//! traits as AWS and Quorum, for `--demo`, render snapshots and sales demos.
//!
//! [`demo_config`] describes the world (production and staging, each with the clusters
//! node-api, satoshi, issuer and bank, their Quorum nodes and internal-ALB switches);
//! [`SimWorld`] runs it. Each environment is stepped lazily, in fixed one-second ticks,
//! up to the injected clock's time whenever one of its backends is called; every tick
//! draws from a seeded stream of its own, so what the world shows at a time depends only
//! on the seed, that time and the mutations applied, not on how often it was polled. The
//! world lives by itself (tasks fail health checks or exit and are replaced, services
//! roll deployments, general nodes fall behind and catch up, validators pause), and
//! [`SimWorld::inject`] adds [`Fault`]s on demand. Each wallet cluster has an external
//! and an internal ALB whose targets follow the tasks and nodes (the request path).
//!
//! It must not do I/O, sleep, read the system clock, or know about the terminal.

mod chain;
mod chatter;
mod ecs;
mod elb;
mod logs;
mod metrics;
mod paths;
mod rng;
mod topology;
mod world;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::backend::lock::MemoryLocks;
use crate::backend::{
    BackendError, BackendResult, EcrImage, EcsApi, ElbApi, EnvBackends, IdentityApi,
    ImageReference, LogsApi, Lookup, MetricsApi, RpcApi, ServiceUpdate, VerifyApi,
};
use crate::clock::SharedClock;
use crate::config::{AlbSwitch, QuorumNode};
use crate::model::alb::{PathTopology, SwitchView};
use crate::model::ecs::{ClusterSnapshot, TaskDefinition};
use crate::model::logs::{LogEvent, LogPage, LogQuery};
use crate::model::quorum::NodeSample;

pub use topology::{DEMO_AUDIT_GROUP, demo_config};

use topology::{ENVS, EnvSpec};
use world::EnvWorld;

/// A fault injected into the demo world, for tests and for showing what the console does
/// when things go wrong. Every fault ends by itself after `secs`.
///
/// `cluster` is the display name (`node-api`) or the ECS cluster name
/// (`ibet-stg-node-api`); `node` a Quorum node name (`general-1`); `service` an ECS
/// service name (`api`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A node imports slowly: its lag grows and `eth_syncing` shows progress; then it
    /// catches up.
    NodeFallsBehind {
        /// Cluster of the node.
        cluster: String,
        /// Node name.
        node: String,
        /// How long it imports slowly.
        secs: u64,
    },
    /// A node stops importing blocks (its head freezes, it does not say it is syncing)
    /// while still answering RPC; then it catches up.
    NodeStalls {
        /// Cluster of the node.
        cluster: String,
        /// Node name.
        node: String,
        /// How long it is stuck.
        secs: u64,
    },
    /// A validator of the satoshi chain stops proposing and voting.
    ValidatorStopsProducing {
        /// Validator name (`validator-3`).
        node: String,
        /// How long it is idle.
        secs: u64,
    },
    /// A service's running tasks fail their health checks.
    TasksUnhealthy {
        /// Cluster of the service.
        cluster: String,
        /// Service name.
        service: String,
        /// How long the checks fail.
        secs: u64,
    },
    /// A service's tasks exit, and the replacements exit at start: zero running.
    ServiceDown {
        /// Cluster of the service.
        cluster: String,
        /// Service name.
        service: String,
        /// How long the tasks keep failing.
        secs: u64,
    },
    /// A bad release: tasks of any task-definition revision newer than the one the
    /// service runs now exit as they start. ECS's deployment circuit breaker marks the
    /// deployment of such a revision FAILED after three failed tasks and stops launching
    /// it; the old tasks keep serving until the operator rolls back.
    ReleaseFails {
        /// Cluster of the service.
        cluster: String,
        /// Service name.
        service: String,
        /// How long newer revisions keep failing.
        secs: u64,
    },
    /// A general node's target fails the internal ALB's health checks.
    TargetUnhealthy {
        /// Cluster of the node.
        cluster: String,
        /// Node name.
        node: String,
        /// How long the target is unhealthy.
        secs: u64,
    },
}

/// The simulated world: every environment of [`demo_config`], sharing one seed and one
/// clock. Cheap to clone; clones share the state.
#[derive(Clone)]
pub struct SimWorld {
    shared: Arc<Shared>,
}

struct Shared {
    seed: u64,
    clock: SharedClock,
    envs: Vec<(&'static EnvSpec, Mutex<EnvWorld>)>,
    /// The demo world's lock table, one for every environment (scopes name theirs).
    locks: Arc<MemoryLocks>,
    /// Log groups written to (the shared audit trail), by name: the demo's operators.
    written: Mutex<std::collections::HashMap<String, Vec<LogEvent>>>,
}

impl std::fmt::Debug for SimWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimWorld")
            .field("seed", &self.shared.seed)
            .finish_non_exhaustive()
    }
}

impl SimWorld {
    /// A world for `seed`, whose time is `clock`. It starts with a quarter of an hour of
    /// history before the clock's current time (logs, events, stopped tasks).
    pub fn new(seed: u64, clock: SharedClock) -> Self {
        let now = clock.now_ms();
        let config = demo_config();
        let envs = ENVS
            .iter()
            .filter_map(|spec| {
                let env = config.environment(spec.name)?;
                Some((spec, Mutex::new(EnvWorld::new(spec, env, seed, now))))
            })
            .collect();
        Self {
            shared: Arc::new(Shared {
                seed,
                clock,
                envs,
                locks: Arc::new(MemoryLocks::default()),
                written: Mutex::new(std::collections::HashMap::new()),
            }),
        }
    }

    /// The backends of environment `env`, all over this world's shared state.
    pub fn backends(&self, env: &str) -> Option<EnvBackends> {
        let index = self.env_index(env)?;
        let handle = Arc::new(SimEnv {
            world: self.clone(),
            index,
        });
        Some(EnvBackends {
            ecs: handle.clone(),
            elb: handle.clone(),
            logs: handle.clone(),
            metrics: handle.clone(),
            rpc: handle.clone(),
            identity: handle.clone(),
            verify: handle,
            locks: self.shared.locks.clone(),
        })
    }

    /// The lock table every environment's backends share.
    pub fn locks(&self) -> Arc<MemoryLocks> {
        Arc::clone(&self.shared.locks)
    }

    /// Injects a fault into environment `env`, now.
    pub fn inject(&self, env: &str, fault: Fault) -> BackendResult<()> {
        let index = self
            .env_index(env)
            .ok_or_else(|| BackendError::NotFound(format!("environment {env}")))?;
        self.with_env(index, |w| w.inject(fault))
    }

    fn env_index(&self, env: &str) -> Option<usize> {
        self.shared
            .envs
            .iter()
            .position(|(spec, _)| spec.name == env)
    }

    /// Steps environment `index` to the clock's time, then runs `f` on it.
    fn with_env<R>(&self, index: usize, f: impl FnOnce(&mut EnvWorld) -> R) -> R {
        let now = self.shared.clock.now_ms();
        let (_, slot) = &self.shared.envs[index];
        let mut world = slot.lock().unwrap_or_else(PoisonError::into_inner);
        world.step_to(now);
        f(&mut world)
    }
}

/// The backends of one environment of a [`SimWorld`].
struct SimEnv {
    world: SimWorld,
    index: usize,
}

impl SimEnv {
    /// The environment's fixed description.
    fn spec(&self) -> &'static EnvSpec {
        self.world.shared.envs[self.index].0
    }

    fn with<R>(&self, f: impl FnOnce(&mut EnvWorld) -> R) -> R {
        self.world.with_env(self.index, f)
    }

    /// The environment a `sim://env/cluster/node` URL names (this one by default).
    fn env_of_url(&self, url: &str) -> usize {
        url.strip_prefix("sim://")
            .and_then(|rest| rest.split('/').next())
            .and_then(|env| self.world.env_index(env))
            .unwrap_or(self.index)
    }
}

#[async_trait]
impl EcsApi for SimEnv {
    async fn snapshot(&self, cluster: &str) -> BackendResult<ClusterSnapshot> {
        self.with(|w| w.snapshot(cluster))
    }

    async fn task_definition(&self, arn: &str) -> BackendResult<TaskDefinition> {
        self.with(|w| w.task_definition(arn))
    }

    async fn task_definition_revisions(&self, family: &str) -> BackendResult<Vec<String>> {
        Ok(self.with(|w| w.task_definition_revisions(family)))
    }

    async fn stop_task(&self, cluster: &str, task: &str, reason: &str) -> BackendResult<()> {
        self.with(|w| w.stop_task(cluster, task, reason))
    }

    async fn update_service(
        &self,
        cluster: &str,
        service: &str,
        update: &ServiceUpdate,
    ) -> BackendResult<()> {
        self.with(|w| w.update_service(cluster, service, update))
    }
}

#[async_trait]
impl ElbApi for SimEnv {
    async fn read_switch(&self, switch: &AlbSwitch) -> BackendResult<SwitchView> {
        self.with(|w| w.read_switch(switch))
    }

    async fn apply_switch(&self, switch: &AlbSwitch, node: &str) -> BackendResult<()> {
        self.with(|w| w.apply_switch(switch, node))
    }

    async fn discover_paths(&self, target_group_arns: &[String]) -> BackendResult<PathTopology> {
        self.with(|w| paths::discover(w, target_group_arns))
    }
}

#[async_trait]
impl LogsApi for SimEnv {
    async fn filter(&self, query: &LogQuery) -> BackendResult<LogPage> {
        {
            let written = self
                .world
                .shared
                .written
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(events) = written.get(&query.group) {
                let events = events
                    .iter()
                    .filter(|e| e.timestamp >= query.start)
                    .filter(|e| query.end.is_none_or(|end| e.timestamp <= end))
                    .cloned()
                    .collect();
                return Ok(LogPage {
                    events,
                    next_token: None,
                });
            }
        }
        self.with(|w| w.filter_logs(query))
    }

    async fn put_lines(
        &self,
        group: &str,
        stream: &str,
        lines: &[(crate::clock::EpochMs, String)],
    ) -> BackendResult<()> {
        let now = self.world.shared.clock.now_ms();
        let mut written = self
            .world
            .shared
            .written
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let events = written.entry(group.to_string()).or_default();
        for (at, text) in lines {
            let n = events.len();
            events.push(LogEvent {
                timestamp: *at,
                ingestion: now,
                event_id: format!("{group}-{n}"),
                group: group.to_string(),
                stream: stream.to_string(),
                message: text.clone(),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl MetricsApi for SimEnv {
    async fn metric_data(
        &self,
        keys: &[crate::model::metrics::MetricKey],
        start: crate::clock::EpochMs,
        end: crate::clock::EpochMs,
    ) -> BackendResult<Vec<Vec<(crate::clock::EpochMs, f64)>>> {
        let seed = self.world.shared.seed;
        Ok(self.with(|w| metrics::metric_data(w, seed, keys, start, end)))
    }

    async fn alarms(
        &self,
        prefix: Option<&str>,
    ) -> BackendResult<Vec<crate::model::metrics::Alarm>> {
        Ok(self.with(|w| metrics::alarms(w, prefix)))
    }
}

#[async_trait]
impl RpcApi for SimEnv {
    async fn sample(&self, node: &QuorumNode, first: bool) -> NodeSample {
        let now = self.world.shared.clock.now_ms();
        let index = self.env_of_url(&node.rpc_url);
        self.world
            .with_env(index, |w| w.sample(&node.rpc_url, first, now))
    }

    async fn block_hash_at(&self, node: &QuorumNode, height: u64) -> BackendResult<Option<String>> {
        let index = self.env_of_url(&node.rpc_url);
        self.world
            .with_env(index, |w| w.block_hash_at(&node.rpc_url, height))
    }
}

#[async_trait]
impl IdentityApi for SimEnv {
    async fn caller(&self) -> BackendResult<String> {
        Ok(self.with(|w| w.spec.caller_arn()))
    }
}

/// The demo world's ECR, SSM, Secrets Manager and IAM: everything its revisions name
/// exists, but the parameter the batch indexers' next revision names.
#[async_trait]
impl VerifyApi for SimEnv {
    async fn ecr_image(&self, image: &EcrImage) -> BackendResult<Lookup> {
        let spec = self.spec();
        Ok(match &image.reference {
            ImageReference::Tag(tag) if spec.has_image(&image.registry, &image.repository, tag) => {
                Lookup::Found(String::new())
            }
            reference => Lookup::Missing(format!("no image {}", reference.as_str())),
        })
    }

    async fn ssm_parameters(&self, names: &[String]) -> BackendResult<Vec<String>> {
        let spec = self.spec();
        Ok(names
            .iter()
            .filter(|name| spec.has_parameter(name))
            .cloned()
            .collect())
    }

    async fn secret(&self, id: &str) -> BackendResult<Lookup> {
        Ok(if self.spec().has_secret(id) {
            Lookup::Found(String::new())
        } else {
            Lookup::Missing("no such secret".into())
        })
    }

    async fn iam_role(&self, name: &str) -> BackendResult<Lookup> {
        Ok(if self.spec().has_role(name) {
            Lookup::Found(String::new())
        } else {
            Lookup::Missing("no such role".into())
        })
    }
}
