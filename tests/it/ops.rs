//! The ops layer end to end over in-memory backends: plan, gate, confirmation, audit,
//! execute once, verify. The fakes keep a small world (one ALB switch, a few ECS
//! services, Quorum nodes on one chain) and record every backend call, so a test can
//! prove that a refused op called nothing.

use crate::support::config_toml;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ibet_console::backend::lock::{LockStore, MemoryLocks};
use ibet_console::backend::{
    BackendError, BackendResult, EcrImage, EcsApi, ElbApi, EnvBackends, IdentityApi, LogsApi,
    Lookup, RpcApi, ServiceUpdate, VerifyApi,
};
use ibet_console::clock::{Clock, EpochMs, ManualClock, SharedClock};
use ibet_console::config::{AlbSwitch, Config, QuorumNode};
use ibet_console::model::alb::{SwitchMember, SwitchMode, SwitchView};
use ibet_console::model::ecs::{
    CircuitBreaker, ClusterSnapshot, Deployment, Rollout, Service, Task, TaskDefinition,
};
use ibet_console::model::logs::{LogPage, LogQuery};
use ibet_console::model::quorum::{NodeSample, Probe, SyncProgress, TxPool};
use ibet_console::ops::audit::{AuditLog, Phase};
use ibet_console::ops::gate::GateState;
use ibet_console::ops::switch::wait_for_gate;
use ibet_console::ops::{
    Approval, Confirmation, Executor, Op, OpContext, OpReport, Outcome, Plan, Readiness, Repeat,
    plan,
};
use tokio::sync::Notify;

const NOW: EpochMs = 1_800_000_000_000;
const CALLER: &str = "arn:aws:sts::123456789012:assumed-role/ops/alice";
const TD: &str = "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/ibet-api";

/// Staging (node-api with its switch, satoshi's four validators) and production
/// (node-api with its switch, a danger environment). Nothing listens at the nodes' URLs:
/// the fakes answer for them.
fn config_text() -> String {
    let stg_arn = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012";
    let prd_arn = "arn:aws:elasticloadbalancing:ap-northeast-1:999999999999";
    [
        config_toml::environment("staging", None, false),
        config_toml::cluster("node-api", "ibet-stg-node-api"),
        config_toml::quorum_node(
            "general-1",
            "http://10.1.2.3:8545",
            None,
            Some("quorum-general-1"),
        ),
        config_toml::quorum_node(
            "general-2",
            "http://10.1.2.4:8545",
            None,
            Some("quorum-general-2"),
        ),
        config_toml::listener_switch(
            &format!("{stg_arn}:listener/app/int/1/2"),
            [
                &format!("{stg_arn}:targetgroup/quorum-a/1"),
                &format!("{stg_arn}:targetgroup/quorum-b/2"),
            ],
            None,
        ),
        config_toml::cluster("satoshi", "ibet-stg-satoshi"),
        config_toml::validators(
            [
                "http://10.1.3.1:8545",
                "http://10.1.3.2:8545",
                "http://10.1.3.3:8545",
                "http://10.1.3.4:8545",
            ],
            "validator-",
        ),
        config_toml::environment("production", None, true),
        config_toml::cluster("node-api", "ibet-prd-node-api"),
        config_toml::quorum_node("general-1", "http://10.9.2.3:8545", None, None),
        config_toml::quorum_node("general-2", "http://10.9.2.4:8545", None, None),
        config_toml::listener_switch(
            &format!("{prd_arn}:listener/app/int/9/9"),
            [
                &format!("{prd_arn}:targetgroup/quorum-a/1"),
                &format!("{prd_arn}:targetgroup/quorum-b/2"),
            ],
            None,
        ),
    ]
    .concat()
}

/// One Quorum node of the fake chain.
#[derive(Debug, Clone)]
struct FakeNode {
    block: u64,
    head_age_ms: i64,
    reachable: bool,
    syncing: bool,
    peers: Probe<u64>,
    /// On another chain: different hashes at every height.
    forked: bool,
    pending: u64,
}

impl Default for FakeNode {
    fn default() -> Self {
        Self {
            block: 1200,
            head_age_ms: 2_000,
            reachable: true,
            syncing: false,
            peers: Probe::Value(3),
            forked: false,
            pending: 0,
        }
    }
}

impl FakeNode {
    fn hash(&self, height: u64) -> String {
        if self.forked {
            format!("0xf0{height:062x}")
        } else {
            format!("0x{height:064x}")
        }
    }
}

#[derive(Default)]
struct World {
    nodes: HashMap<String, FakeNode>,
    switches: HashMap<String, Vec<(String, u32)>>,
    clusters: HashMap<String, ClusterSnapshot>,
    next_deployment: u32,
}

/// Every backend of one environment, in memory, with a log of the calls made.
pub(crate) struct Fake {
    world: Mutex<World>,
    calls: Mutex<Vec<String>>,
    clock: Arc<ManualClock>,
    /// Advance the clock by this much on every sample, so waits for a gate end.
    ms_per_sample: Mutex<i64>,
    /// Mutating calls succeed but change nothing (verification must notice).
    ignore_mutations: AtomicBool,
    /// Mutating calls fail.
    fail_mutations: AtomicBool,
    /// When set, a mutating call waits here (after saying so on `entered`).
    pub(crate) hold: Mutex<Option<Arc<Notify>>>,
    entered: Notify,
    /// The action lock, as another console would see it.
    locks: Arc<dyn LockStore>,
}

impl Fake {
    /// A fake world whose action lock is `locks` (the team's table in moto).
    pub(crate) fn with_locks(clock: Arc<ManualClock>, locks: Arc<dyn LockStore>) -> Arc<Self> {
        let mut world = World::default();
        for name in [
            "general-1",
            "general-2",
            "validator-1",
            "validator-2",
            "validator-3",
            "validator-4",
        ] {
            world.nodes.insert(name.into(), FakeNode::default());
        }
        for listener in ["listener/app/int/1/2", "listener/app/int/9/9"] {
            world.switches.insert(
                listener.into(),
                vec![("general-1".into(), 100), ("general-2".into(), 0)],
            );
        }
        let node_api = ClusterSnapshot {
            cluster: "ibet-stg-node-api".into(),
            services: vec![
                service("api", "ibet-api:42"),
                service("quorum-general-1", "quorum:7"),
                service("quorum-general-2", "quorum:7"),
            ],
            tasks: vec![
                task("api", "api-1", "ibet-api:42"),
                task("api", "api-2", "ibet-api:42"),
                task("quorum-general-1", "general-1-task", "quorum:7"),
            ],
            ..ClusterSnapshot::default()
        };
        let mut satoshi = ClusterSnapshot {
            cluster: "ibet-stg-satoshi".into(),
            ..ClusterSnapshot::default()
        };
        for i in 1..=4 {
            let name = format!("validator-{i}");
            satoshi.services.push(service(&name, "quorum:7"));
            satoshi
                .tasks
                .push(task(&name, &format!("{name}-task"), "quorum:7"));
        }
        world.clusters.insert(node_api.cluster.clone(), node_api);
        world.clusters.insert(satoshi.cluster.clone(), satoshi);
        Arc::new(Self {
            world: Mutex::new(world),
            calls: Mutex::new(Vec::new()),
            clock,
            ms_per_sample: Mutex::new(100),
            ignore_mutations: AtomicBool::new(false),
            fail_mutations: AtomicBool::new(false),
            hold: Mutex::new(None),
            entered: Notify::new(),
            locks,
        })
    }

    fn backends(self: &Arc<Self>) -> EnvBackends {
        EnvBackends {
            ecs: self.clone(),
            elb: self.clone(),
            logs: self.clone(),
            metrics: self.clone(),
            rpc: self.clone(),
            identity: self.clone(),
            verify: self.clone(),
            locks: self.locks.clone(),
        }
    }

    fn record(&self, call: impl Into<String>) {
        self.calls.lock().expect("calls").push(call.into());
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls").clone()
    }

    pub(crate) fn count(&self, prefix: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.starts_with(prefix))
            .count()
    }

    fn forget_calls(&self) {
        self.calls.lock().expect("calls").clear();
    }

    fn node(&self, name: &str, change: impl FnOnce(&mut FakeNode)) {
        change(
            self.world
                .lock()
                .expect("world")
                .nodes
                .get_mut(name)
                .expect("node"),
        );
    }

    fn active(&self, listener: &str) -> Vec<String> {
        self.world.lock().expect("world").switches[listener]
            .iter()
            .filter(|(_, w)| *w > 0)
            .map(|(n, _)| n.clone())
            .collect()
    }

    fn set_weights(&self, listener: &str, weights: &[(&str, u32)]) {
        self.world.lock().expect("world").switches.insert(
            listener.into(),
            weights
                .iter()
                .map(|(n, w)| ((*n).to_string(), *w))
                .collect(),
        );
    }

    fn service(&self, cluster: &str, name: &str) -> Service {
        self.world.lock().expect("world").clusters[cluster]
            .services
            .iter()
            .find(|s| s.name == name)
            .expect("service")
            .clone()
    }

    fn task(&self, cluster: &str, id: &str) -> Task {
        self.world.lock().expect("world").clusters[cluster]
            .tasks
            .iter()
            .find(|t| t.id == id)
            .expect("task")
            .clone()
    }

    /// Runs before every mutating call: fail, or wait while held.
    async fn mutate(&self, call: String) -> BackendResult<bool> {
        self.record(call);
        let hold = self.hold.lock().expect("hold").clone();
        if let Some(hold) = hold {
            self.entered.notify_one();
            hold.notified().await;
        }
        if self.fail_mutations.load(Ordering::SeqCst) {
            return Err(BackendError::AccessDenied {
                action: "elasticloadbalancing:ModifyListener".into(),
                principal: None,
                resource: None,
                reason: Some("not allowed".into()),
            });
        }
        Ok(!self.ignore_mutations.load(Ordering::SeqCst))
    }
}

fn service(name: &str, td: &str) -> Service {
    let arn = format!("{}/{td}", TD.trim_end_matches("/ibet-api"));
    Service {
        name: name.into(),
        arn: format!("arn:aws:ecs:ap-northeast-1:123456789012:service/{name}"),
        status: "ACTIVE".into(),
        desired: 2,
        running: 2,
        task_definition: arn.clone(),
        deployments: vec![Deployment {
            id: format!("ecs-svc/{name}-0"),
            status: "PRIMARY".into(),
            task_definition: arn,
            desired: 2,
            running: 2,
            rollout: Rollout::Completed,
            ..Deployment::default()
        }],
        // The fake services run with ECS's circuit breaker, as a team should.
        circuit_breaker: CircuitBreaker::Rollback,
        ..Service::default()
    }
}

fn task(service: &str, id: &str, td: &str) -> Task {
    Task {
        id: id.into(),
        arn: format!("arn:aws:ecs:ap-northeast-1:123456789012:task/cluster/{id}"),
        service: Some(service.into()),
        task_definition: format!("{}/{td}", TD.trim_end_matches("/ibet-api")),
        last_status: "RUNNING".into(),
        desired_status: "RUNNING".into(),
        health_status: "HEALTHY".into(),
        ..Task::default()
    }
}

fn listener_of(switch: &AlbSwitch) -> String {
    let arn = switch.listener_arn.as_deref().expect("listener");
    arn.rsplit_once(':').expect("arn").1.to_string()
}

#[async_trait]
impl EcsApi for Fake {
    async fn snapshot(&self, cluster: &str) -> BackendResult<ClusterSnapshot> {
        self.record(format!("snapshot {cluster}"));
        self.world
            .lock()
            .expect("world")
            .clusters
            .get(cluster)
            .cloned()
            .ok_or_else(|| BackendError::NotFound(cluster.into()))
    }

    async fn task_definition(&self, arn: &str) -> BackendResult<TaskDefinition> {
        self.record(format!("task_definition {arn}"));
        let short = arn.rsplit_once('/').map_or(arn, |(_, s)| s);
        let (family, revision) = short
            .split_once(':')
            .ok_or_else(|| BackendError::NotFound(arn.into()))?;
        let revision: u32 = revision
            .parse()
            .map_err(|_| BackendError::NotFound(arn.into()))?;
        if family != "ibet-api" || !(40..=43).contains(&revision) {
            return Err(BackendError::NotFound(arn.into()));
        }
        Ok(TaskDefinition {
            arn: format!("{TD}:{revision}"),
            family: family.into(),
            revision,
            ..TaskDefinition::default()
        })
    }

    async fn task_definition_revisions(&self, family: &str) -> BackendResult<Vec<String>> {
        self.record(format!("task_definition_revisions {family}"));
        Ok(Vec::new())
    }

    async fn stop_task(&self, cluster: &str, task: &str, reason: &str) -> BackendResult<()> {
        if self.mutate(format!("stop_task {task} ({reason})")).await? {
            let mut world = self.world.lock().expect("world");
            let snapshot = world.clusters.get_mut(cluster).expect("cluster");
            let task = snapshot
                .tasks
                .iter_mut()
                .find(|t| t.arn == task)
                .expect("task");
            task.desired_status = "STOPPED".into();
            task.last_status = "DEACTIVATING".into();
        }
        Ok(())
    }

    async fn update_service(
        &self,
        cluster: &str,
        service: &str,
        update: &ServiceUpdate,
    ) -> BackendResult<()> {
        if self.mutate(format!("update_service {service}")).await? {
            let mut world = self.world.lock().expect("world");
            world.next_deployment += 1;
            let id = format!("ecs-svc/new-{}", world.next_deployment);
            let snapshot = world.clusters.get_mut(cluster).expect("cluster");
            let service = snapshot
                .services
                .iter_mut()
                .find(|s| s.name == service)
                .expect("service");
            let td = update
                .task_definition
                .clone()
                .unwrap_or_else(|| service.task_definition.clone());
            for d in &mut service.deployments {
                d.status = "ACTIVE".into();
            }
            service.deployments.insert(
                0,
                Deployment {
                    id,
                    status: "PRIMARY".into(),
                    task_definition: td.clone(),
                    rollout: Rollout::InProgress,
                    ..Deployment::default()
                },
            );
            service.task_definition = td;
        }
        Ok(())
    }
}

#[async_trait]
impl ElbApi for Fake {
    async fn read_switch(&self, switch: &AlbSwitch) -> BackendResult<SwitchView> {
        self.record("read_switch");
        let world = self.world.lock().expect("world");
        let weights = &world.switches[&listener_of(switch)];
        Ok(SwitchView {
            mode: SwitchMode::Listener,
            members: weights
                .iter()
                .map(|(node, weight)| SwitchMember {
                    node: node.clone(),
                    target: switch.nodes[node].clone(),
                    weight: Some(*weight),
                    active: *weight > 0,
                    health: Some("healthy".into()),
                })
                .collect(),
        })
    }

    async fn apply_switch(&self, switch: &AlbSwitch, node: &str) -> BackendResult<()> {
        if self.mutate(format!("apply_switch {node}")).await? {
            let mut world = self.world.lock().expect("world");
            for (name, weight) in world
                .switches
                .get_mut(&listener_of(switch))
                .expect("switch")
            {
                *weight = if name == node { 100 } else { 0 };
            }
        }
        Ok(())
    }
}

#[async_trait]
impl LogsApi for Fake {
    async fn filter(&self, _query: &LogQuery) -> BackendResult<LogPage> {
        self.record("filter");
        Ok(LogPage::default())
    }
}

#[async_trait]
impl ibet_console::backend::MetricsApi for Fake {
    async fn metric_data(
        &self,
        keys: &[ibet_console::model::metrics::MetricKey],
        _start: i64,
        _end: i64,
    ) -> BackendResult<Vec<Vec<(i64, f64)>>> {
        Ok(vec![Vec::new(); keys.len()])
    }

    async fn alarms(
        &self,
        _prefix: Option<&str>,
    ) -> BackendResult<Vec<ibet_console::model::metrics::Alarm>> {
        Ok(Vec::new())
    }
}

#[async_trait]
impl RpcApi for Fake {
    async fn sample(&self, node: &QuorumNode, _first: bool) -> NodeSample {
        self.record(format!("sample {}", node.name));
        let step = *self.ms_per_sample.lock().expect("step");
        self.clock.advance(step);
        let now = self.clock.now_ms();
        let fake = self.world.lock().expect("world").nodes[&node.name].clone();
        if !fake.reachable {
            return NodeSample {
                at: now,
                reachable: false,
                error: Some("connection refused".into()),
                ..NodeSample::default()
            };
        }
        NodeSample {
            at: now,
            reachable: true,
            block: Some(fake.block),
            block_hash: Some(fake.hash(fake.block)),
            block_time: Some(now - fake.head_age_ms),
            syncing: Probe::Value(fake.syncing.then_some(SyncProgress {
                starting: 0,
                current: fake.block,
                highest: fake.block + 100,
            })),
            peers: fake.peers.clone(),
            txpool: Probe::Value(TxPool {
                pending: fake.pending,
                queued: 0,
            }),
            validators: Probe::NotAsked,
            latency_ms: 3,
            ..NodeSample::default()
        }
    }

    async fn block_hash_at(&self, node: &QuorumNode, height: u64) -> BackendResult<Option<String>> {
        self.record(format!("block_hash_at {} {height}", node.name));
        let fake = self.world.lock().expect("world").nodes[&node.name].clone();
        Ok((height <= fake.block).then(|| fake.hash(height)))
    }
}

#[async_trait]
impl IdentityApi for Fake {
    async fn caller(&self) -> BackendResult<String> {
        self.record("caller");
        Ok(CALLER.into())
    }
}

/// Everything a release names exists.
#[async_trait]
impl VerifyApi for Fake {
    async fn ecr_image(&self, image: &EcrImage) -> BackendResult<Lookup> {
        self.record(format!("ecr_image {}", image.repository));
        Ok(Lookup::Found(String::new()))
    }

    async fn ssm_parameters(&self, names: &[String]) -> BackendResult<Vec<String>> {
        self.record("ssm_parameters");
        Ok(names.to_vec())
    }

    async fn secret(&self, id: &str) -> BackendResult<Lookup> {
        self.record(format!("secret {id}"));
        Ok(Lookup::Found(String::new()))
    }

    async fn iam_role(&self, name: &str) -> BackendResult<Lookup> {
        self.record(format!("iam_role {name}"));
        Ok(Lookup::Found(String::new()))
    }
}

/// A world, a context in one environment, and an executor writing to a temp audit log.
pub(crate) struct Harness {
    pub(crate) fake: Arc<Fake>,
    pub(crate) ctx: OpContext,
    pub(crate) executor: Executor,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new(env: &str, write: bool) -> Self {
        Self::with_locks(env, write, Arc::new(MemoryLocks::default()), "alice", NOW)
    }

    /// A harness in `env` whose action lock is `locks`, acting for the OS user `user`,
    /// its clock at `now`.
    pub(crate) fn with_locks(
        env: &str,
        write: bool,
        locks: Arc<dyn LockStore>,
        user: &str,
        now: EpochMs,
    ) -> Self {
        let config = Config::parse(&config_text(), Path::new("test.toml")).expect("config");
        let clock = Arc::new(ManualClock::new(now));
        let fake = Fake::with_locks(clock.clone(), locks);
        let shared: SharedClock = clock;
        let ctx = OpContext {
            environment: config.environment(env).expect("env").clone(),
            backends: fake.backends(),
            clock: shared,
            write,
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let executor = Executor::new(AuditLog::new(dir.path().join("audit.jsonl")), user);
        Self {
            fake,
            ctx,
            executor,
            _dir: dir,
        }
    }

    /// The audit log's lines as JSON, oldest first.
    pub(crate) fn audit(&self) -> Vec<serde_json::Value> {
        match std::fs::read_to_string(self.executor.audit_log().path()) {
            Ok(text) => text
                .lines()
                .map(|l| serde_json::from_str(l).expect("every audit line is JSON"))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Plans `op` in the harness's context.
    pub(crate) async fn plan(&self, op: &Op) -> Plan {
        plan(op, &self.ctx).await
    }

    /// Executes `plan` with `approval` in the harness's context.
    pub(crate) async fn execute(&self, plan: &Plan, approval: &Approval) -> OpReport {
        self.executor.execute(plan, approval, &self.ctx).await
    }

    /// Executes `plan` on a plain yes, and asserts that it went through.
    async fn execute_ok(&self, plan: &Plan) -> OpReport {
        let report = self.execute(plan, &Approval::yes()).await;
        assert_eq!(report.outcome, Outcome::Ok, "{report:?}");
        report
    }

    pub(crate) fn phases(&self) -> Vec<(String, Option<String>)> {
        self.audit()
            .iter()
            .map(|l| {
                (
                    l["phase"].as_str().expect("phase").to_string(),
                    l["outcome"].as_str().map(str::to_string),
                )
            })
            .collect()
    }
}

fn switch_to(env: &str, to: &str) -> Op {
    Op::SwitchAlb {
        env: env.into(),
        cluster: "node-api".into(),
        to: to.into(),
    }
}

const STG_LISTENER: &str = "listener/app/int/1/2";
const PRD_LISTENER: &str = "listener/app/int/9/9";

/// A staging harness and its switch to general-2, planned, with the gate open.
async fn staging_switch_ready() -> (Harness, Plan) {
    let h = Harness::new("staging", false);
    let mut plan = h.plan(&switch_to("staging", "general-2")).await;
    assert!(open_gate(&h, &mut plan).await);
    (h, plan)
}

/// The error a report carries.
fn error(report: &OpReport) -> &str {
    report.error.as_deref().expect("error")
}

/// Polls the gate with no pause until it opens (the fakes answer at once).
async fn open_gate(h: &Harness, plan: &mut Plan) -> bool {
    wait_for_gate(
        plan,
        &h.ctx,
        Duration::ZERO,
        Duration::from_secs(60),
        |_| {},
    )
    .await
}

#[tokio::test]
async fn a_switch_waits_for_the_gate_then_succeeds_and_verifies() {
    let h = Harness::new("staging", false);
    let op = switch_to("staging", "general-2");
    let mut plan = h.plan(&op).await;
    assert_eq!(
        plan.changes,
        ["listener/app/int/1/2: forward weight general-1 100 → 0, general-2 0 → 100"]
    );
    assert_eq!(plan.typed_confirmation, None);
    let gate = plan.gate.as_ref().expect("gate");
    assert_eq!((gate.state(), gate.consecutive()), (GateState::Counting, 1));
    assert_eq!(plan.readiness, Readiness::NeedsOverride, "1 of 3 polls");
    let mut seen = Vec::new();
    let open = wait_for_gate(
        &mut plan,
        &h.ctx,
        Duration::ZERO,
        Duration::from_secs(60),
        |g| seen.push(g.consecutive()),
    )
    .await;
    assert!(open);
    assert_eq!(seen, [2, 3]);
    assert_eq!(plan.readiness, Readiness::Ready);
    assert!(plan.checks.iter().all(|c| c.passed), "{:?}", plan.checks);

    let report = h.execute_ok(&plan).await;
    assert_eq!(report.exit_code(), 0);
    assert!(
        report
            .message
            .ends_with("done, the ALB forwards to general-2")
    );
    assert!(!report.override_gate);
    assert_eq!(h.fake.active(STG_LISTENER), ["general-2"]);
    assert_eq!(h.fake.count("apply_switch"), 1);

    let audit = h.audit();
    assert_eq!(
        h.phases(),
        [("before".into(), None), ("after".into(), Some("ok".into()))]
    );
    for line in &audit {
        assert_eq!(line["os_user"], "alice");
        assert_eq!(line["aws_caller"], CALLER);
        assert_eq!(line["environment"], "staging");
        assert_eq!(line["op"]["kind"], "switch_alb");
        assert_eq!(line["op"]["to"], "general-2");
        assert_eq!(line["target"], "internal ALB → general-2");
        assert_eq!(line["override_gate"], false);
        assert!(line["time"].as_str().expect("time").ends_with('Z'));
        let checks = line["checks"].as_array().expect("checks");
        let height = checks
            .iter()
            .find(|c| c["name"] == "height")
            .expect("height");
        assert_eq!(height["passed"], true);
        assert_eq!(
            height["value"],
            "general-2 #1200, general-1 #1200 (level or ahead)"
        );
        let count = checks
            .iter()
            .find(|c| c["name"] == "consecutive_polls")
            .expect("count");
        assert_eq!(count["value"], "3/3");
    }
    assert_eq!(audit[0]["run"], audit[1]["run"]);
    let recent = h.executor.audit_log().recent(1).expect("recent");
    assert_eq!(recent[0].phase, Phase::After);
    assert_eq!(recent[0].outcome, Some(Outcome::Ok));
}

#[tokio::test]
async fn a_failed_gate_refuses_and_changes_nothing() {
    let h = Harness::new("staging", false);
    h.fake.node("general-2", |n| n.forked = true);
    let mut plan = h.plan(&switch_to("staging", "general-2")).await;
    assert!(!open_gate(&h, &mut plan).await);
    assert_eq!(plan.readiness, Readiness::NeedsOverride);
    let failed: Vec<&str> = plan.failed_checks().map(|c| c.name.as_str()).collect();
    assert_eq!(failed, ["same_chain", "consecutive_polls"]);

    let report = h.execute(&plan, &Approval::yes()).await;
    assert_eq!(report.outcome, Outcome::Refused);
    assert_eq!(report.exit_code(), 3);
    assert!(error(&report).contains("overriding takes a second, explicit confirmation"));
    assert_eq!(h.fake.count("apply_switch"), 0);
    // Who asks is read once, for the lock's item; the lock is given back.
    assert_eq!(h.fake.count("caller"), 1);
    assert!(h.fake.locks.list("").await.expect("locks").is_empty());
    assert_eq!(h.fake.active(STG_LISTENER), ["general-1"]);
    assert_eq!(h.phases(), [("after".into(), Some("refused".into()))]);
}

#[tokio::test(start_paused = true)]
async fn a_gate_open_at_confirmation_that_flickers_is_held_again_not_refused() {
    let h = Harness::new("staging", false);
    let mut plan = h.plan(&switch_to("staging", "general-2")).await;
    assert!(open_gate(&h, &mut plan).await);
    // A block arrives between the two nodes' polls: general-2 is one behind for a
    // moment, then level again.
    h.fake.node("general-2", |n| n.block = 1199);
    let fake = Arc::clone(&h.fake);
    let level_again = async move {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        fake.node("general-2", |n| n.block = 1200);
    };
    let yes = Approval::yes();
    let (report, ()) = tokio::join!(h.execute(&plan, &yes), level_again);
    assert_eq!(report.outcome, Outcome::Ok, "{report:?}");
    assert_eq!(h.fake.count("apply_switch"), 1, "once");
    assert_eq!(h.fake.active(STG_LISTENER), ["general-2"]);
    let audit = h.audit();
    assert_eq!(audit.len(), 2, "before and after");
    assert_eq!(audit[0]["override_gate"], false);
}

#[tokio::test(start_paused = true)]
async fn a_gate_that_stays_failed_after_confirmation_is_refused() {
    let h = Harness::new("staging", false);
    let mut plan = h.plan(&switch_to("staging", "general-2")).await;
    assert!(open_gate(&h, &mut plan).await);
    h.fake.node("general-2", |n| n.block = 1150);
    let report = h.execute(&plan, &Approval::yes()).await;
    assert_eq!(report.outcome, Outcome::Refused, "{report:?}");
    assert_eq!(h.fake.count("apply_switch"), 0);
    assert_eq!(h.fake.active(STG_LISTENER), ["general-1"]);
}

#[tokio::test]
async fn an_override_goes_ahead_and_is_audited_as_one() {
    let h = Harness::new("staging", false);
    h.fake.node("general-2", |n| n.block = 1150);
    let plan = h.plan(&switch_to("staging", "general-2")).await;
    assert_eq!(plan.readiness, Readiness::NeedsOverride);
    let report = h
        .execute(&plan, &Approval::yes().with_override(Confirmation::Yes))
        .await;
    assert_eq!(report.outcome, Outcome::Ok, "{report:?}");
    assert!(report.override_gate);
    assert_eq!(h.fake.active(STG_LISTENER), ["general-2"]);
    let audit = h.audit();
    assert_eq!(audit.len(), 2);
    for line in &audit {
        assert_eq!(line["override_gate"], true);
        let height = line["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .find(|c| c["name"] == "height")
            .expect("height")
            .clone();
        assert_eq!(height["passed"], false);
        assert_eq!(
            height["value"],
            "general-2 #1150, general-1 #1200 (50 behind, max 0)"
        );
    }
}

#[tokio::test]
async fn a_read_only_environment_refuses_without_any_backend_call() {
    let h = Harness::new("production", false);
    let op = switch_to("production", "general-2");
    let plan = h.plan(&op).await;
    assert_eq!(plan.readiness, Readiness::Blocked);
    assert_eq!(plan.checks[0].name, "write_access");
    assert_eq!(plan.checks[0].value, "read-only");
    assert!(h.fake.calls().is_empty(), "{:?}", h.fake.calls());

    // Even a plan made where writing was allowed is refused by the executor itself.
    let writable = OpContext {
        write: true,
        ..h.ctx.clone()
    };
    let mut unlocked = ibet_console::ops::plan(&op, &writable).await;
    assert!(open_gate(&h, &mut unlocked).await);
    h.fake.forget_calls();
    let report = h.execute(&unlocked, &Approval::typed("production")).await;
    assert_eq!(report.outcome, Outcome::Refused);
    assert_eq!(report.exit_code(), 3);
    assert!(error(&report).contains("--write"));
    assert!(h.fake.calls().is_empty(), "{:?}", h.fake.calls());
    assert_eq!(h.fake.active(PRD_LISTENER), ["general-1"]);
    let audit = h.audit();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["outcome"], "refused");
    assert_eq!(audit[0]["aws_caller"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_danger_environment_takes_the_typed_name() {
    let h = Harness::new("production", true);
    let mut plan = h.plan(&switch_to("production", "general-2")).await;
    assert_eq!(plan.typed_confirmation.as_deref(), Some("production"));
    assert!(open_gate(&h, &mut plan).await);
    for wrong in [
        Approval::yes(),
        Approval::typed("staging"),
        Approval::typed("yes"),
    ] {
        let report = h.execute(&plan, &wrong).await;
        assert_eq!(report.outcome, Outcome::Refused, "{wrong:?}");
        assert!(error(&report).contains("`production`"));
    }
    assert_eq!(h.fake.count("apply_switch"), 0);
    let report = h.execute(&plan, &Approval::typed("production")).await;
    assert_eq!(report.outcome, Outcome::Ok, "{report:?}");
    assert_eq!(h.fake.active(PRD_LISTENER), ["general-2"]);
}

#[tokio::test]
async fn an_override_in_a_danger_environment_takes_the_name_twice() {
    let h = Harness::new("production", true);
    h.fake.node("general-2", |n| n.peers = Probe::Value(0));
    let plan = h.plan(&switch_to("production", "general-2")).await;
    let half = Approval::typed("production").with_override(Confirmation::Yes);
    let report = h.execute(&plan, &half).await;
    assert_eq!(report.outcome, Outcome::Refused);
    assert!(error(&report).contains("type `production` again"));
    assert_eq!(h.fake.count("apply_switch"), 0);
    let both =
        Approval::typed("production").with_override(Confirmation::Typed("production".into()));
    let report = h.execute(&plan, &both).await;
    assert_eq!(report.outcome, Outcome::Ok, "{report:?}");
    assert!(report.override_gate);
}

#[tokio::test]
async fn a_plan_executes_once() {
    let (h, plan) = staging_switch_ready().await;
    let first = h.execute(&plan, &Approval::yes()).await;
    assert_eq!(first.outcome, Outcome::Ok);
    let again = h.execute(&plan, &Approval::yes()).await;
    assert_eq!(again.repeat, Some(Repeat::AlreadyDone));
    assert_eq!(again.outcome, Outcome::Ok);
    assert_eq!(again.plan_id, first.plan_id);
    assert_eq!(h.fake.count("apply_switch"), 1);
    assert_eq!(h.audit().len(), 2, "a repeat writes nothing");
}

#[tokio::test]
async fn an_op_in_flight_is_not_started_again() {
    let (h, plan) = staging_switch_ready().await;
    let mut other = h.plan(&switch_to("staging", "general-2")).await;
    let hold = Arc::new(Notify::new());
    *h.fake.hold.lock().expect("hold") = Some(hold.clone());

    let yes = Approval::yes();
    let first = h.executor.execute(&plan, &yes, &h.ctx);
    let during = async {
        h.fake.entered.notified().await;
        let same = h.execute(&plan, &yes).await;
        assert!(open_gate(&h, &mut other).await);
        let different = h.execute(&other, &Approval::yes()).await;
        hold.notify_one();
        (same, different)
    };
    let (first, (same, different)) = tokio::join!(first, during);
    assert_eq!(first.outcome, Outcome::Ok, "{first:?}");
    assert_eq!(same.repeat, Some(Repeat::AlreadyRunning));
    assert_eq!(same.outcome, Outcome::Refused);
    assert_eq!(different.outcome, Outcome::Refused);
    assert!(error(&different).contains("is running"));
    assert_eq!(h.fake.count("apply_switch"), 1);
    // The first run's two lines and the refusal of the other plan.
    let phases = h.phases();
    assert_eq!(phases.len(), 3, "{phases:?}");
    assert!(phases.contains(&("after".into(), Some("refused".into()))));
}

#[tokio::test]
async fn a_change_that_does_not_show_is_verify_failed() {
    let (h, plan) = staging_switch_ready().await;
    h.fake.ignore_mutations.store(true, Ordering::SeqCst);
    let report = h.execute(&plan, &Approval::yes()).await;
    assert_eq!(report.outcome, Outcome::VerifyFailed);
    assert_eq!(report.exit_code(), 1);
    assert_eq!(
        report.error.as_deref(),
        Some("read back: the ALB forwards to general-1, not only to general-2")
    );
    assert_eq!(
        h.phases(),
        [
            ("before".into(), None),
            ("after".into(), Some("verify_failed".into()))
        ]
    );
}

#[tokio::test]
async fn a_failed_call_is_failed_with_a_hint() {
    let (h, plan) = staging_switch_ready().await;
    h.fake.fail_mutations.store(true, Ordering::SeqCst);
    let report = h.execute(&plan, &Approval::yes()).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(report.exit_code(), 1);
    assert!(
        report
            .hint
            .as_deref()
            .expect("hint")
            .contains("ModifyListener")
    );
    let audit = h.audit();
    assert_eq!(audit[1]["outcome"], "failed");
    assert!(
        audit[1]["error"]
            .as_str()
            .expect("error")
            .starts_with("access denied")
    );
}

#[tokio::test]
async fn a_crash_during_the_call_leaves_the_before_line() {
    let (h, plan) = staging_switch_ready().await;
    *h.fake.hold.lock().expect("hold") = Some(Arc::new(Notify::new()));
    let yes = Approval::yes();
    tokio::select! {
        _ = h.executor.execute(&plan, &yes, &h.ctx) => panic!("the call is held"),
        () = h.fake.entered.notified() => {}
    }
    // The execute future is dropped mid-call, as a killed process would leave it.
    assert_eq!(h.phases(), [("before".into(), None)]);
    // Its op key is free again, but its lock stays until the lease ends, as a killed
    // console's would: refused, naming the holder, then taken over.
    *h.fake.hold.lock().expect("hold") = None;
    let report = h.execute(&plan, &yes).await;
    assert_eq!(report.outcome, Outcome::Refused);
    assert!(
        error(&report).contains("another console holds the lock: held by"),
        "{report:?}"
    );
    h.fake.clock.advance(121_000);
    h.execute_ok(&plan).await;
}

#[tokio::test]
async fn a_plan_made_stale_by_someone_else_is_refused() {
    let (h, plan) = staging_switch_ready().await;
    h.fake
        .set_weights(STG_LISTENER, &[("general-1", 0), ("general-2", 100)]);
    let report = h.execute(&plan, &Approval::yes()).await;
    assert_eq!(report.outcome, Outcome::Refused);
    assert!(error(&report).contains("the state changed since the plan was made"));
    assert_eq!(h.fake.count("apply_switch"), 0);
}

#[tokio::test]
async fn switching_to_the_active_node_or_an_unknown_one_is_blocked() {
    let h = Harness::new("staging", false);
    let plan1 = h.plan(&switch_to("staging", "general-1")).await;
    assert_eq!(plan1.readiness, Readiness::Blocked);
    assert!(plan1.changes.is_empty());
    let plan2 = h.plan(&switch_to("staging", "genral-2")).await;
    assert_eq!(plan2.readiness, Readiness::Blocked);
    let detail = plan2
        .checks
        .last()
        .and_then(|c| c.detail.clone())
        .expect("detail");
    assert!(detail.contains("did you mean `general-2`?"), "{detail}");
    let report = h.execute(&plan1, &Approval::yes()).await;
    assert_eq!(report.outcome, Outcome::Refused);
}

#[tokio::test]
async fn the_gate_times_out_on_the_injected_clock() {
    let h = Harness::new("staging", false);
    h.fake.node("general-2", |n| n.syncing = true);
    *h.fake.ms_per_sample.lock().expect("step") = 1_000;
    let mut plan = h.plan(&switch_to("staging", "general-2")).await;
    let mut polls = 0;
    let open = wait_for_gate(
        &mut plan,
        &h.ctx,
        Duration::ZERO,
        Duration::from_secs(30),
        |_| polls += 1,
    )
    .await;
    assert!(!open);
    // Two samples a poll, one second each: 15 polls fill 30 seconds.
    assert_eq!(polls, 15);
    assert_eq!(
        plan.gate.as_ref().expect("gate").state(),
        GateState::Failing
    );
}

#[tokio::test]
async fn pending_transactions_on_the_active_node_are_a_warning() {
    let h = Harness::new("staging", false);
    h.fake.node("general-1", |n| n.pending = 7);
    let plan = h.plan(&switch_to("staging", "general-2")).await;
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.starts_with("general-1 has 7 pending"))
    );
}

fn stop(cluster: &str, service: &str, task: &str) -> Op {
    Op::StopTask {
        env: "staging".into(),
        cluster: cluster.into(),
        service: service.into(),
        task: task.into(),
    }
}

#[tokio::test]
async fn stopping_a_task_stops_it_and_verifies() {
    let h = Harness::new("staging", false);
    let plan = h.plan(&stop("node-api", "api", "api-1")).await;
    assert_eq!(plan.readiness, Readiness::Ready, "{:?}", plan.checks);
    assert_eq!(
        plan.changes,
        ["task api-1 of api (ibet-api:42): stop; ECS starts a replacement (desired 2)"]
    );
    let report = h.execute_ok(&plan).await;
    assert!(
        report
            .message
            .ends_with("task api-1 is DEACTIVATING (desired STOPPED)")
    );
    assert_eq!(
        h.fake.task("ibet-stg-node-api", "api-1").desired_status,
        "STOPPED"
    );
    let stops: Vec<String> = h
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("stop_task"))
        .collect();
    assert_eq!(stops.len(), 1);
    assert!(stops[0].ends_with("(ibet-console: stop_task by alice)"));
}

#[tokio::test]
async fn a_task_that_does_not_stop_is_verify_failed() {
    let h = Harness::new("staging", false);
    let plan = h.plan(&stop("node-api", "api", "api-2")).await;
    h.fake.ignore_mutations.store(true, Ordering::SeqCst);
    let report = h.execute(&plan, &Approval::yes()).await;
    assert_eq!(report.outcome, Outcome::VerifyFailed);
    assert_eq!(
        report.error.as_deref(),
        Some("read back: task api-2 is still RUNNING (desired RUNNING)")
    );
}

#[tokio::test]
async fn a_task_of_another_service_is_blocked() {
    let h = Harness::new("staging", false);
    let plan = h.plan(&stop("node-api", "api", "general-1-task")).await;
    assert_eq!(plan.readiness, Readiness::Blocked);
    let task = plan.checks.iter().find(|c| c.name == "task").expect("task");
    assert_eq!(
        task.detail.as_deref(),
        Some("task general-1-task belongs to quorum-general-1")
    );
}

#[tokio::test]
async fn a_validator_is_not_stopped_while_another_is_down() {
    let h = Harness::new("staging", false);
    let healthy = h
        .plan(&stop("satoshi", "validator-1", "validator-1-task"))
        .await;
    assert_eq!(healthy.readiness, Readiness::Ready, "{:?}", healthy.checks);
    let quorum = healthy
        .checks
        .iter()
        .find(|c| c.name == "validator_quorum")
        .expect("quorum");
    assert_eq!(quorum.value, "4/4 producing, tolerates 1");

    h.fake.node("validator-3", |n| n.reachable = false);
    let refused = h
        .plan(&stop("satoshi", "validator-1", "validator-1-task"))
        .await;
    assert_eq!(refused.readiness, Readiness::Blocked);
    let quorum = refused
        .checks
        .iter()
        .find(|c| c.name == "validator_quorum")
        .expect("quorum");
    assert!(!quorum.passed && !quorum.overridable);
    assert!(
        quorum
            .detail
            .as_deref()
            .expect("detail")
            .starts_with("validator-3 is down")
    );
    // No override gets past a guard.
    let report = h
        .execute(&refused, &Approval::yes().with_override(Confirmation::Yes))
        .await;
    assert_eq!(report.outcome, Outcome::Refused);
    assert_eq!(h.fake.count("stop_task"), 0);

    // The one that is down may be restarted: it takes nothing away.
    let down = h
        .plan(&stop("satoshi", "validator-3", "validator-3-task"))
        .await;
    assert_eq!(down.readiness, Readiness::Ready, "{:?}", down.checks);
}

#[tokio::test]
async fn restarting_the_active_general_node_warns_and_suggests_switching() {
    let h = Harness::new("staging", false);
    let op = stop("node-api", "quorum-general-1", "general-1-task");
    let plan = h.plan(&op).await;
    assert_eq!(plan.readiness, Readiness::Ready);
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.starts_with("the internal ALB forwards to general-1")),
        "{:?}",
        plan.warnings
    );
    assert_eq!(plan.suggestions, [switch_to("staging", "general-2")]);

    let deploy = Op::ForceDeploy {
        env: "staging".into(),
        cluster: "node-api".into(),
        service: "quorum-general-2".into(),
    };
    let plan = h.plan(&deploy).await;
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    assert!(plan.suggestions.is_empty());
}

#[tokio::test]
async fn a_forced_deployment_shows_a_new_primary_deployment() {
    let h = Harness::new("staging", false);
    let op = Op::ForceDeploy {
        env: "staging".into(),
        cluster: "node-api".into(),
        service: "api".into(),
    };
    let plan1 = h.plan(&op).await;
    assert_eq!(
        plan1.changes,
        ["service api: new deployment of ibet-api:42; every task is replaced"]
    );
    let report = h.execute_ok(&plan1).await;
    assert!(
        report
            .message
            .ends_with("deployment ecs-svc/new-1 of ibet-api:42 is PRIMARY")
    );

    // Now mid-deployment: a second one warns.
    let plan2 = h.plan(&op).await;
    assert!(
        plan2
            .warnings
            .iter()
            .any(|w| w.starts_with("api is in the middle of a deployment")),
        "{:?}",
        plan2.warnings
    );
    // A deployment that does not happen is caught.
    h.fake.ignore_mutations.store(true, Ordering::SeqCst);
    let report = h.execute(&plan2, &Approval::yes()).await;
    assert_eq!(report.outcome, Outcome::VerifyFailed);
    assert!(error(&report).contains("no new deployment"));
}

#[tokio::test]
async fn a_release_moves_the_service_to_the_new_task_definition() {
    let h = Harness::new("staging", false);
    let op = Op::Release {
        env: "staging".into(),
        cluster: "node-api".into(),
        service: "api".into(),
        to_task_definition: "ibet-api:43".into(),
    };
    let plan1 = h.plan(&op).await;
    assert_eq!(
        plan1.changes,
        ["service api: task definition ibet-api:42 → ibet-api:43"]
    );
    assert!(plan1.warnings.is_empty());
    h.execute_ok(&plan1).await;
    assert_eq!(
        h.fake.service("ibet-stg-node-api", "api").task_definition,
        format!("{TD}:43")
    );

    let back = Op::Rollback {
        env: "staging".into(),
        cluster: "node-api".into(),
        service: "api".into(),
        to_task_definition: "ibet-api:43".into(),
    };
    let plan2 = h.plan(&back).await;
    assert_eq!(plan2.readiness, Readiness::Blocked, "already on it");
    let missing = Op::Release {
        env: "staging".into(),
        cluster: "node-api".into(),
        service: "api".into(),
        to_task_definition: "ibet-api:99".into(),
    };
    assert_eq!(h.plan(&missing).await.readiness, Readiness::Blocked);
}

#[tokio::test]
async fn an_op_for_another_environment_is_refused() {
    let h = Harness::new("staging", false);
    let plan = h.plan(&switch_to("production", "general-2")).await;
    assert_eq!(plan.readiness, Readiness::Blocked);
    let report = h.execute(&plan, &Approval::yes()).await;
    assert_eq!(report.outcome, Outcome::Refused);
    assert!(h.fake.calls().is_empty());
}

#[tokio::test]
async fn plans_serialise_for_the_command_line() {
    let h = Harness::new("staging", false);
    let plan = h.plan(&switch_to("staging", "general-2")).await;
    let json = serde_json::to_value(&plan).expect("json");
    assert_eq!(json["readiness"], "needs_override");
    assert_eq!(json["op"]["kind"], "switch_alb");
    assert_eq!(json["gate"]["consecutive"], 1);
    assert_eq!(json["gate"]["required"], 3);
    assert_eq!(json["gate"]["state"], "counting");
    assert!(json["checks"].as_array().expect("checks").len() >= 8);
}

#[tokio::test]
async fn the_tui_flow_runs_in_spawned_tasks() {
    let h = Harness::new("staging", false);
    let op = switch_to("staging", "general-2");
    // The dialog opens: the plan is made in a task and sent back.
    let ctx = h.ctx.clone();
    let mut plan = tokio::spawn(async move { ibet_console::ops::plan(&op, &ctx).await })
        .await
        .expect("plan task");
    // Its gate poller reports polls; `update` records them.
    let pair = plan.gate_pair().expect("pair");
    while !plan.gate.as_ref().expect("gate").is_open() {
        let (rpc, clock, pair) = (
            h.ctx.backends.rpc.clone(),
            h.ctx.clock.clone(),
            pair.clone(),
        );
        let poll = tokio::spawn(async move {
            ibet_console::ops::gate::poll(rpc.as_ref(), &pair, clock.as_ref()).await
        })
        .await
        .expect("poll task");
        assert!(plan.record_gate(poll));
    }
    // Confirm: the executor runs in a task of its own.
    let executor = Arc::new(h.executor);
    let ctx = h.ctx.clone();
    let report = tokio::spawn({
        let executor = executor.clone();
        async move { executor.execute(&plan, &Approval::yes(), &ctx).await }
    })
    .await
    .expect("op task");
    assert_eq!(report.outcome, Outcome::Ok, "{report:?}");
    assert_eq!(h.fake.active(STG_LISTENER), ["general-2"]);
}
