//! One simulated environment: its ECS clusters, chain, ALB switches and logs, stepped in
//! fixed one-second ticks, with its own incidents and the faults injected into it.
//!
//! Every tick draws from streams derived from (seed, environment, tick), so the state at
//! a time depends only on the seed, that time, the creation time and the mutations
//! applied, never on how often it was read. Log lines are only written for ticks that
//! the retention window keeps, so a jump of an hour costs little. This module does not
//! read the clock: the caller passes the time to step to.

use crate::backend::{BackendError, BackendResult, ServiceUpdate};
use crate::clock::EpochMs;
use crate::config::{AlbSwitch, Environment};
use crate::model::alb::{SwitchMode, SwitchView};
use crate::model::ecs::{ClusterSnapshot, TargetGroupRef, TaskDefinition};
use crate::model::logs::{LogPage, LogQuery};
use crate::model::quorum::{NodeRole, NodeSample, TxPool};

use super::Fault;
use super::chain::{self, Chain, NodeMode, SimNode};
use super::chatter::{Chatter, Written};
use super::ecs::{Catalogue, EcsNote, Phase, SimCluster, TaskHealth, TickContext, deployment_id};
use super::elb::{Member, SimSwitch};
use super::logs::{LogRecord, LogStore};
use super::rng::{
    PURPOSE_LOGS, PURPOSE_MUTATION, PURPOSE_SETUP, PURPOSE_STATE, SplitMix, hash_str, mix,
};
use super::topology::{
    CLUSTERS, ClusterSpec, EnvSpec, ServiceKind, ServiceSpec, services_of, task_definitions,
};

/// History simulated before the creation time, so the demo starts with logs and events.
pub(super) const WARMUP_TICKS: i64 = 900;
/// Ticks of log lines kept per group (30 minutes).
pub(super) const LOG_RETENTION_TICKS: i64 = 1800;

/// One simulated environment.
#[derive(Debug)]
pub(super) struct EnvWorld {
    pub spec: &'static EnvSpec,
    seed: u64,
    /// The environment's salt for the random streams.
    salt: u64,
    /// The next tick to simulate (epoch seconds).
    next_tick: i64,
    catalogue: Catalogue,
    pub clusters: Vec<SimCluster>,
    pub nodes: Vec<SimNode>,
    pub chain: Chain,
    pub switches: Vec<SimSwitch>,
    pub logs: LogStore,
    /// Log group per cluster and service.
    groups: Vec<Vec<usize>>,
    /// Task events since the last tick, for the log writer.
    notes: Vec<EcsNote>,
    /// Scratch buffer of the log writer.
    written: Vec<Written>,
    next_incident: i64,
    mutations: u64,
    /// What stressed each recent minute (the metrics follow it).
    pub stress: super::metrics::Stress,
}

impl EnvWorld {
    /// The environment as it stood [`WARMUP_TICKS`] before `now_ms`.
    pub(super) fn new(
        spec: &'static EnvSpec,
        config: &Environment,
        seed: u64,
        now_ms: EpochMs,
    ) -> Self {
        let start = now_ms.div_euclid(1000) - WARMUP_TICKS;
        let mut rng = SplitMix::derive(seed, spec.salt(), PURPOSE_SETUP, 0);
        let mut catalogue = Catalogue::default();
        let mut clusters = Vec::new();
        let mut logs = LogStore::default();
        let mut groups = Vec::new();
        for (ci, cluster_spec) in CLUSTERS.iter().enumerate() {
            let switch = config
                .clusters
                .iter()
                .find(|c| c.name == cluster_spec.name)
                .and_then(|c| c.alb_switch.as_ref());
            let mut services = Vec::new();
            let mut cluster_groups = Vec::new();
            for service in services_of(cluster_spec) {
                for td in task_definitions(spec, ci, &service) {
                    catalogue.insert(td);
                }
                let tgs = target_groups_of(spec, cluster_spec, &service, switch);
                cluster_groups
                    .push(logs.add_group(spec.log_group(cluster_spec.name, &service.name), ci));
                services.push((service, tgs));
            }
            groups.push(cluster_groups);
            clusters.push(SimCluster::new(
                spec,
                ci,
                cluster_spec,
                services,
                &catalogue,
                start,
                &mut rng,
            ));
        }
        let chain = Chain::new(spec, start, &mut rng);
        let nodes = nodes_of(spec, config, &clusters, &chain, start);
        let switches = switches_of(config, &nodes, start);
        let next_incident = start + rng.range(60, 150);
        Self {
            spec,
            seed,
            salt: spec.salt(),
            next_tick: start + 1,
            catalogue,
            clusters,
            nodes,
            chain,
            switches,
            logs,
            groups,
            notes: Vec::new(),
            written: Vec::new(),
            next_incident,
            mutations: 0,
            stress: super::metrics::Stress::default(),
        }
    }

    /// The last simulated tick.
    pub(super) fn now_tick(&self) -> i64 {
        self.next_tick - 1
    }

    /// Simulates every tick up to `now_ms`.
    pub(super) fn step_to(&mut self, now_ms: EpochMs) {
        let target = now_ms.div_euclid(1000);
        let log_from = target - LOG_RETENTION_TICKS + 1;
        while self.next_tick <= target {
            let tick = self.next_tick;
            self.tick(tick, tick >= log_from);
            self.next_tick += 1;
        }
        self.logs.evict_through((log_from - 1) * 1000);
    }

    fn tick(&mut self, now: i64, write_logs: bool) {
        let mut rng = SplitMix::derive(self.seed, self.salt, PURPOSE_STATE, now);
        if now >= self.next_incident {
            self.incident(now, &mut rng);
        }
        let ctx = TickContext {
            env: self.spec,
            catalogue: &self.catalogue,
            now,
        };
        let mut ecs_moved = false;
        for cluster in &mut self.clusters {
            ecs_moved |= cluster.tick(&ctx, &mut rng, &mut self.notes);
        }
        if ecs_moved {
            self.sync_nodes(now);
        }
        self.chain.tick(now, &self.nodes, &mut rng);
        chain::follow(&mut self.nodes, &self.chain, now, &mut rng);
        for switch in &mut self.switches {
            switch.tick(now);
        }
        if write_logs {
            self.write_logs(now);
        }
        super::metrics::Stress::record(self, now);
        self.notes.clear();
    }

    /// Nodes go up and down with their ECS tasks.
    fn sync_nodes(&mut self, now: i64) {
        for node in &mut self.nodes {
            let Some(cluster) = self.clusters.get(node.cluster) else {
                continue;
            };
            let running = cluster
                .tasks
                .iter()
                .find(|t| t.service == node.service && t.phase == Phase::Running);
            match (running, node.up) {
                (Some(task), false) => {
                    node.up = true;
                    node.up_since = now;
                    node.mode = NodeMode::CatchingUp;
                    node.sync_start = None;
                    if let Some((_, tag)) = task.image.rsplit_once(':') {
                        node.build = tag.to_string();
                    }
                }
                (None, true) => {
                    node.up = false;
                    node.sync_start = None;
                }
                _ => {}
            }
        }
    }

    fn write_logs(&mut self, now: i64) {
        let mut rng = SplitMix::derive(self.seed, self.salt, PURPOSE_LOGS, now);
        let mut written = std::mem::take(&mut self.written);
        written.clear();
        Chatter {
            env: self.spec,
            clusters: &self.clusters,
            nodes: &self.nodes,
            chain: &self.chain,
            switches: &self.switches,
            groups: &self.groups,
            now,
        }
        .write(&self.notes, &mut rng, &mut written);
        written.sort_by_key(|w| w.at);
        for (i, w) in written.drain(..).enumerate() {
            self.logs.push(
                w.group,
                LogRecord {
                    at: w.at,
                    id: now as u64 * 100_000 + i as u64,
                    stream: w.stream,
                    line: w.line,
                },
            );
        }
        self.written = written;
    }

    // ---- incidents ---------------------------------------------------------------

    /// Starts one natural incident and schedules the next.
    fn incident(&mut self, now: i64, rng: &mut SplitMix) {
        let lasted = match rng.below(100) {
            0..25 => self.health_blip(now, rng),
            25..50 => self.task_exit(now, rng),
            50..72 => self.node_falls_behind(now, rng),
            72..85 => self.validator_idles(now, rng),
            _ => self.rolling_deployment(now, rng),
        };
        self.next_incident = now + lasted.unwrap_or(0) + rng.range(90, 210);
    }

    /// Running, serving tasks of services of the given kinds: (cluster, task index).
    fn serving_tasks(&self, now: i64, kinds: impl Fn(ServiceKind) -> bool) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (ci, cluster) in self.clusters.iter().enumerate() {
            for (ti, t) in cluster.tasks.iter().enumerate() {
                let service = &cluster.services[t.service];
                if t.phase == Phase::Running
                    && t.desired_running
                    && kinds(service.spec.kind)
                    && t.health(service, now) != TaskHealth::Unhealthy
                {
                    out.push((ci, ti));
                }
            }
        }
        out
    }

    fn health_blip(&mut self, now: i64, rng: &mut SplitMix) -> Option<i64> {
        let candidates =
            self.serving_tasks(now, |k| matches!(k, ServiceKind::Api | ServiceKind::Nginx));
        let (ci, ti) = candidates[rng.index(candidates.len())?];
        let secs = rng.range(15, 45);
        let kill = rng.chance(400);
        self.clusters[ci].sicken_task(ti, now + secs, kill);
        Some(secs + 20)
    }

    fn task_exit(&mut self, now: i64, rng: &mut SplitMix) -> Option<i64> {
        let quorum = rng.chance(200);
        let candidates = self.serving_tasks(now, |k| {
            if quorum {
                matches!(k, ServiceKind::General(_))
            } else {
                matches!(
                    k,
                    ServiceKind::Api
                        | ServiceKind::Nginx
                        | ServiceKind::Notification
                        | ServiceKind::Batch
                )
            }
        });
        let (ci, ti) = candidates[rng.index(candidates.len())?];
        let oom = Some("OutOfMemoryError: Container killed due to memory usage".to_string());
        let (code, reason) = match rng.below(10) {
            _ if quorum => (137, oom),
            0..4 => (137, oom),
            4..7 => (1, None),
            _ => (0, None),
        };
        self.clusters[ci].crash_task(ti, code, reason, now, &mut self.notes);
        Some(30)
    }

    fn node_falls_behind(&mut self, now: i64, rng: &mut SplitMix) -> Option<i64> {
        let candidates: Vec<usize> = (0..self.nodes.len())
            .filter(|&n| {
                let node = &self.nodes[n];
                node.role == NodeRole::General && node.up && node.mode == NodeMode::Following
            })
            .collect();
        let n = candidates[rng.index(candidates.len())?];
        let secs = rng.range(30, 100);
        self.nodes[n].mode = NodeMode::Behind { until: now + secs };
        Some(secs + 20)
    }

    fn validator_idles(&mut self, now: i64, rng: &mut SplitMix) -> Option<i64> {
        let validators: Vec<usize> = (0..self.nodes.len())
            .filter(|&n| self.nodes[n].validator.is_some())
            .collect();
        let all_producing = validators.iter().all(|&n| {
            let node = &self.nodes[n];
            node.up && node.mode == NodeMode::Following && node.idle_until <= now
        });
        if !all_producing {
            return None;
        }
        let n = validators[rng.index(validators.len())?];
        let secs = rng.range(30, 80);
        self.nodes[n].idle_until = now + secs;
        Some(secs + 10)
    }

    fn rolling_deployment(&mut self, now: i64, rng: &mut SplitMix) -> Option<i64> {
        let mut candidates = Vec::new();
        for (ci, cluster) in self.clusters.iter().enumerate() {
            for (si, service) in cluster.services.iter().enumerate() {
                if service.steady && !service.spec.kind.is_quorum() {
                    candidates.push((ci, si));
                }
            }
        }
        let (ci, si) = candidates[rng.index(candidates.len())?];
        let cluster = &mut self.clusters[ci];
        let td = cluster.services[si]
            .deployments
            .first()?
            .task_definition
            .clone();
        cluster.deploy(si, td, deployment_id(rng), now);
        Some(30)
    }

    // ---- faults and lookups ------------------------------------------------------

    /// Applies an injected fault now.
    pub(super) fn inject(&mut self, fault: Fault) -> BackendResult<()> {
        let now = self.now_tick();
        let until = |secs: u64| now + secs.min(i64::MAX as u64 / 4) as i64;
        match fault {
            Fault::NodeFallsBehind {
                cluster,
                node,
                secs,
            } => {
                let n = self.node_index(&cluster, &node)?;
                self.nodes[n].mode = NodeMode::Behind { until: until(secs) };
            }
            Fault::NodeStalls {
                cluster,
                node,
                secs,
            } => {
                let n = self.node_index(&cluster, &node)?;
                self.nodes[n].mode = NodeMode::Stalled { until: until(secs) };
            }
            Fault::ValidatorStopsProducing { node, secs } => {
                let n = self
                    .nodes
                    .iter()
                    .position(|n| n.validator.is_some() && n.name == node)
                    .ok_or_else(|| BackendError::NotFound(format!("validator {node}")))?;
                self.nodes[n].idle_until = until(secs);
            }
            Fault::TasksUnhealthy {
                cluster,
                service,
                secs,
            } => {
                let (c, s) = self.service_index(&cluster, &service)?;
                self.clusters[c].sicken_service(s, until(secs), now);
            }
            Fault::ServiceDown {
                cluster,
                service,
                secs,
            } => {
                let (c, s) = self.service_index(&cluster, &service)?;
                self.clusters[c].crash_service(s, until(secs), now, &mut self.notes);
            }
            Fault::ReleaseFails {
                cluster,
                service,
                secs,
            } => {
                let (c, s) = self.service_index(&cluster, &service)?;
                self.clusters[c].fail_newer_revisions(s, until(secs));
            }
            Fault::TargetUnhealthy {
                cluster,
                node,
                secs,
            } => {
                let n = self.node_index(&cluster, &node)?;
                self.nodes[n].target_unhealthy_until = until(secs);
            }
        }
        Ok(())
    }

    /// A cluster by display name, ECS name or ARN.
    fn cluster_index(&self, name: &str) -> BackendResult<usize> {
        self.clusters
            .iter()
            .position(|c| {
                c.spec.name == name
                    || c.ecs_name == name
                    || self.spec.cluster_arn(&c.ecs_name) == name
            })
            .ok_or_else(|| BackendError::NotFound(format!("cluster {name}")))
    }

    fn service_index(&self, cluster: &str, service: &str) -> BackendResult<(usize, usize)> {
        let c = self.cluster_index(cluster)?;
        let s = self.clusters[c].service_index(service).ok_or_else(|| {
            BackendError::NotFound(format!("service {service} in cluster {cluster}"))
        })?;
        Ok((c, s))
    }

    fn node_index(&self, cluster: &str, node: &str) -> BackendResult<usize> {
        let c = self.cluster_index(cluster)?;
        self.nodes
            .iter()
            .position(|n| n.cluster == c && n.name == node)
            .ok_or_else(|| BackendError::NotFound(format!("node {node} in cluster {cluster}")))
    }

    // ---- the backend calls -------------------------------------------------------

    pub(super) fn snapshot(&self, cluster: &str) -> BackendResult<ClusterSnapshot> {
        let c = self.cluster_index(cluster)?;
        Ok(self.clusters[c].snapshot(self.now_tick(), &self.catalogue))
    }

    pub(super) fn task_definition(&self, key: &str) -> BackendResult<TaskDefinition> {
        self.catalogue
            .get(key)
            .cloned()
            .ok_or_else(|| BackendError::NotFound(format!("task definition {key}")))
    }

    pub(super) fn task_definition_revisions(&self, family: &str) -> Vec<String> {
        self.catalogue.revisions(family).unwrap_or_default()
    }

    pub(super) fn stop_task(
        &mut self,
        cluster: &str,
        task: &str,
        reason: &str,
    ) -> BackendResult<()> {
        let c = self.cluster_index(cluster)?;
        let now = self.now_tick();
        self.clusters[c].stop_task(task, reason, now, &mut self.notes)
    }

    pub(super) fn update_service(
        &mut self,
        cluster: &str,
        service: &str,
        update: &ServiceUpdate,
    ) -> BackendResult<()> {
        let (c, s) = self.service_index(cluster, service)?;
        let task_definition = match &update.task_definition {
            Some(key) => self
                .catalogue
                .get(key)
                .map(|td| td.arn.clone())
                .ok_or_else(|| BackendError::NotFound(format!("task definition {key}")))?,
            None if update.force_new_deployment => self.clusters[c].services[s]
                .deployments
                .first()
                .map(|d| d.task_definition.clone())
                .unwrap_or_default(),
            None => return Ok(()),
        };
        let mut rng = SplitMix::derive(
            self.seed,
            self.salt,
            PURPOSE_MUTATION,
            self.mutations as i64,
        );
        self.mutations += 1;
        let now = self.now_tick();
        self.clusters[c].deploy(s, task_definition, deployment_id(&mut rng), now);
        Ok(())
    }

    fn switch_index(&self, config: &AlbSwitch) -> BackendResult<usize> {
        self.switches
            .iter()
            .position(|s| s.matches(config))
            .ok_or_else(|| {
                let arn = config
                    .listener_arn
                    .as_ref()
                    .or(config.rule_arn.as_ref())
                    .or(config.target_group_arn.as_ref())
                    .map_or("(none)", String::as_str);
                BackendError::NotFound(format!("load balancer switch {arn}"))
            })
    }

    pub(super) fn read_switch(&self, config: &AlbSwitch) -> BackendResult<SwitchView> {
        let i = self.switch_index(config)?;
        Ok(self.switches[i].view(&self.nodes, self.now_tick()))
    }

    pub(super) fn apply_switch(&mut self, config: &AlbSwitch, node: &str) -> BackendResult<()> {
        let i = self.switch_index(config)?;
        let now = self.now_tick();
        self.switches[i].apply(node, now)
    }

    pub(super) fn filter_logs(&self, query: &LogQuery) -> BackendResult<LogPage> {
        self.logs.filter(query, self.spec)
    }

    fn node_by_url(&self, url: &str) -> Option<&SimNode> {
        self.nodes.iter().find(|n| n.rpc_url == url)
    }

    pub(super) fn sample(&self, url: &str, first: bool, now_ms: EpochMs) -> NodeSample {
        let Some(node) = self.node_by_url(url) else {
            return NodeSample {
                at: now_ms,
                reachable: false,
                error: Some(format!("no such node: {url}")),
                ..NodeSample::default()
            };
        };
        let latency = 1 + mix(self.seed ^ hash_str(url), now_ms.div_euclid(1000) as u64) % 7;
        chain::sample(node, &self.nodes, &self.chain, now_ms, first, latency)
    }

    pub(super) fn block_hash_at(&self, url: &str, height: u64) -> BackendResult<Option<String>> {
        let node = self
            .node_by_url(url)
            .ok_or_else(|| BackendError::NotFound(format!("node {url}")))?;
        if !node.reachable(self.now_tick()) {
            return Err(BackendError::Unreachable {
                endpoint: url.to_string(),
                detail: "connection refused".into(),
            });
        }
        Ok((height <= node.head).then(|| self.chain.hash(height)))
    }
}

/// The target groups a service registers into.
fn target_groups_of(
    env: &EnvSpec,
    cluster: &ClusterSpec,
    service: &ServiceSpec,
    switch: Option<&AlbSwitch>,
) -> Vec<TargetGroupRef> {
    let tg = |name: String, port| TargetGroupRef {
        arn: env.target_group_arn(&name),
        container: service.container.to_string(),
        port,
    };
    match service.kind {
        ServiceKind::Nginx => vec![tg(format!("ibet-{}-{}-nginx", env.short, cluster.name), 80)],
        ServiceKind::Api => vec![tg(format!("ibet-{}-{}-api", env.short, cluster.name), 5000)],
        ServiceKind::General(g) => match switch {
            Some(s) if s.mode == SwitchMode::Listener => s
                .nodes
                .get(&format!("general-{}", g + 1))
                .map(|arn| TargetGroupRef {
                    arn: arn.clone(),
                    container: service.container.to_string(),
                    port: 8443,
                })
                .into_iter()
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn nodes_of(
    env: &EnvSpec,
    config: &Environment,
    clusters: &[SimCluster],
    chain: &Chain,
    start: i64,
) -> Vec<SimNode> {
    let mut nodes = Vec::new();
    for cluster in clusters {
        let Some(cluster_config) = config.clusters.iter().find(|c| c.name == cluster.spec.name)
        else {
            continue;
        };
        for node in &cluster_config.quorum_nodes {
            let Some(service) = node
                .service
                .as_deref()
                .and_then(|s| cluster.service_index(s))
            else {
                continue;
            };
            let (validator, ip) = match cluster.services[service].spec.kind {
                ServiceKind::Validator(v) => (Some(v), env.validator_ip(v)),
                ServiceKind::General(g) => (None, env.general_ip(cluster.index, g)),
                _ => continue,
            };
            let build = cluster
                .tasks
                .iter()
                .find(|t| t.service == service)
                .and_then(|t| t.image.rsplit_once(':'))
                .map(|(_, tag)| tag.to_string())
                .unwrap_or_default();
            nodes.push(SimNode {
                name: node.name.clone(),
                cluster: cluster.index,
                service,
                role: node.role,
                validator,
                rpc_url: node.rpc_url.clone(),
                ip,
                up: true,
                up_since: start - 86_400,
                head: chain.head,
                head_before: chain.head,
                mode: NodeMode::Following,
                sync_start: None,
                idle_until: 0,
                target_unhealthy_until: 0,
                txpool: TxPool::default(),
                build,
            });
        }
    }
    nodes
}

fn switches_of(config: &Environment, nodes: &[SimNode], start: i64) -> Vec<SimSwitch> {
    let mut switches = Vec::new();
    for (ci, spec) in CLUSTERS.iter().enumerate() {
        let Some(switch) = config
            .clusters
            .iter()
            .find(|c| c.name == spec.name)
            .and_then(|c| c.alb_switch.as_ref())
        else {
            continue;
        };
        let members: Vec<Member> = switch
            .nodes
            .iter()
            .filter_map(|(node, target)| {
                let node_index = nodes
                    .iter()
                    .position(|n| n.cluster == ci && n.name == *node)?;
                Some(Member {
                    node: node.clone(),
                    target: target.clone(),
                    node_index,
                })
            })
            .collect();
        let active_name = format!("general-{}", spec.initial_active + 1);
        let active = members
            .iter()
            .position(|m| m.node == active_name)
            .unwrap_or(0);
        switches.push(SimSwitch::new(ci, switch, members, active, start));
    }
    switches
}
