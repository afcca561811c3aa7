//! Tests of the request path: every hop healthy, then each hop broken in turn, and what
//! `first_broken_hop` names.

use super::*;
use crate::backend::BackendError;
use crate::model::alb::{PathListener, SwitchMember, WeightedTargetGroup};
use crate::model::ecs::{Deployment, Task};
use crate::model::quorum::Probe;
use crate::world::PanelError;

const NGINX: &str = "arn:aws:elasticloadbalancing:ap-northeast-1:1:targetgroup/nginx/1";
const API: &str = "arn:aws:elasticloadbalancing:ap-northeast-1:1:targetgroup/api/2";
const Q1: &str = "arn:aws:elasticloadbalancing:ap-northeast-1:1:targetgroup/quorum-1/3";
const Q2: &str = "arn:aws:elasticloadbalancing:ap-northeast-1:1:targetgroup/quorum-2/4";
const EXT: &str = "arn:aws:elasticloadbalancing:ap-northeast-1:1:loadbalancer/app/ext/5";
const INT: &str = "arn:aws:elasticloadbalancing:ap-northeast-1:1:loadbalancer/app/int/6";

fn panel<T>(data: T) -> Panel<T> {
    Panel {
        data: Some(data),
        updated_at: Some(1),
        error: None,
        slowed_ms: 0,
    }
}

fn failed<T>(message: &str) -> Panel<T> {
    Panel {
        data: None,
        updated_at: None,
        error: Some(PanelError {
            error: BackendError::Other(message.into()),
            since: 1,
            at: 1,
        }),
        slowed_ms: 0,
    }
}

fn service(name: &str, desired: u32, running: u32, groups: &[(&str, u16)]) -> Service {
    Service {
        name: name.into(),
        status: "ACTIVE".into(),
        desired,
        running,
        deployments: vec![Deployment {
            rollout: Rollout::Completed,
            ..Deployment::default()
        }],
        target_groups: groups
            .iter()
            .map(|(arn, port)| TargetGroupRef {
                arn: (*arn).into(),
                container: name.into(),
                port: *port,
            })
            .collect(),
        ..Service::default()
    }
}

fn task(service: &str, id: &str, health: &str) -> Task {
    Task {
        id: id.into(),
        service: Some(service.into()),
        last_status: "RUNNING".into(),
        health_status: health.into(),
        ..Task::default()
    }
}

/// A node-api cluster: nginx-proxy ×2, api ×2, batch, two general nodes.
fn snapshot() -> ClusterSnapshot {
    ClusterSnapshot {
        cluster: "ibet-prd-node-api".into(),
        services: vec![
            service("api", 2, 2, &[(API, 5000)]),
            service("batch", 1, 1, &[]),
            service("nginx-proxy", 2, 2, &[(NGINX, 80)]),
            service("quorum-general-1", 1, 1, &[(Q1, 8443)]),
            service("quorum-general-2", 1, 1, &[(Q2, 8443)]),
        ],
        tasks: vec![
            task("api", "a1", "HEALTHY"),
            task("api", "a2", "HEALTHY"),
            task("nginx-proxy", "n1", "HEALTHY"),
            task("nginx-proxy", "n2", "HEALTHY"),
        ],
        ..ClusterSnapshot::default()
    }
}

fn target(ip: &str, port: u16, state: &str, reason: Option<&str>) -> TargetHealth {
    TargetHealth {
        id: ip.into(),
        port: Some(port),
        state: state.into(),
        reason: reason.map(str::to_owned),
        description: None,
    }
}

fn healthy(ip: &str, port: u16) -> TargetHealth {
    target(ip, port, "healthy", None)
}

fn group(
    arn: &str,
    name: &str,
    port: u16,
    lb: &str,
    targets: Vec<TargetHealth>,
) -> PathTargetGroup {
    PathTargetGroup {
        arn: arn.into(),
        name: name.into(),
        port: Some(port),
        protocol: Some("HTTP".into()),
        target_type: Some("ip".into()),
        load_balancer_arns: vec![lb.into()],
        targets,
    }
}

fn forward(arn: &str, weight: Option<u32>) -> WeightedTargetGroup {
    WeightedTargetGroup {
        target_group_arn: arn.into(),
        weight,
    }
}

fn topology() -> PathTopology {
    PathTopology {
        load_balancers: vec![
            PathLoadBalancer {
                arn: EXT.into(),
                name: "ibet-prd-node-api-ext".into(),
                scheme: LoadBalancerScheme::InternetFacing,
                kind: "application".into(),
                dns_name: None,
                state: Some("active".into()),
                listeners: vec![PathListener {
                    arn: "l1".into(),
                    port: Some(443),
                    protocol: Some("HTTPS".into()),
                    forwards_to: vec![forward(NGINX, None)],
                }],
            },
            PathLoadBalancer {
                arn: INT.into(),
                name: "ibet-prd-node-api-int".into(),
                scheme: LoadBalancerScheme::Internal,
                kind: "application".into(),
                dns_name: None,
                state: Some("active".into()),
                listeners: vec![PathListener {
                    arn: "l2".into(),
                    port: Some(80),
                    protocol: Some("HTTP".into()),
                    forwards_to: vec![forward(Q1, Some(1)), forward(Q2, Some(0))],
                }],
            },
        ],
        target_groups: vec![
            group(
                NGINX,
                "nginx",
                80,
                EXT,
                vec![healthy("10.0.1.20", 80), healthy("10.0.2.20", 80)],
            ),
            group(
                API,
                "api",
                5000,
                INT,
                vec![healthy("10.0.1.30", 5000), healthy("10.0.2.30", 5000)],
            ),
            group(Q1, "quorum-1", 8443, INT, vec![healthy("10.0.1.10", 8443)]),
            group(Q2, "quorum-2", 8443, INT, vec![healthy("10.0.2.10", 8443)]),
        ],
    }
}

fn member(node: &str, target: &str, active: bool, health: &str) -> SwitchMember {
    SwitchMember {
        node: node.into(),
        target: target.into(),
        weight: Some(u32::from(active)),
        active,
        health: Some(health.into()),
    }
}

fn switch() -> SwitchView {
    SwitchView {
        mode: SwitchMode::Listener,
        members: vec![
            member("general-1", Q1, true, "healthy"),
            member("general-2", Q2, false, "healthy"),
        ],
    }
}

fn node(name: &str, state: NodeState, reason: &str) -> GeneralNode {
    GeneralNode {
        view: NodeView {
            name: name.into(),
            role: NodeRole::General,
            client: None,
            height: Some(1000),
            lag: Some(0),
            head_age_ms: Some(500),
            head_age_warning: false,
            peers: Probe::Value(3),
            syncing: Probe::Value(None),
            txpool: Probe::NotAsked,
            blocks_in_window: Some(20),
            latency_ms: Some(3),
            consecutive_failures: 0,
            last_error: None,
            state,
            reason: reason.into(),
        },
        service: Some(format!("quorum-{name}")),
    }
}

fn nodes() -> Vec<GeneralNode> {
    vec![
        node("general-1", NodeState::Synced, "at the head"),
        node("general-2", NodeState::Synced, "at the head"),
    ]
}

fn chain(health: Health, faults_left: i64, reason: &str) -> ChainView {
    ChainView {
        validators_configured: 4,
        validators_known: Some(4),
        reachable: 4,
        producing: Some(4),
        fault_tolerance: 1,
        faults_left,
        best_height: Some(1000),
        best_head_age_ms: Some(500),
        validators: Vec::new(),
        health,
        reason: reason.into(),
    }
}

/// Everything the path reads, healthy; each test breaks one part.
struct World {
    ecs: Panel<ClusterSnapshot>,
    topology: Panel<PathTopology>,
    switch: Option<Panel<SwitchView>>,
    nodes: Vec<GeneralNode>,
    chain: Option<ChainView>,
}

impl World {
    fn healthy() -> Self {
        Self {
            ecs: panel(snapshot()),
            topology: panel(topology()),
            switch: Some(panel(switch())),
            nodes: nodes(),
            chain: Some(chain(
                Health::Ok,
                1,
                "4 of 4 validators producing; tolerates 1 failure",
            )),
        }
    }

    fn path(&self) -> RequestPath {
        build(&PathInputs {
            ecs: &self.ecs,
            topology: &self.topology,
            switch: self.switch.as_ref(),
            general_nodes: &self.nodes,
            chain: self.chain.as_ref(),
        })
    }

    fn snapshot(&mut self) -> &mut ClusterSnapshot {
        self.ecs.data.as_mut().expect("snapshot")
    }

    fn group(&mut self, arn: &str) -> &mut PathTargetGroup {
        self.topology
            .data
            .as_mut()
            .expect("topology")
            .target_groups
            .iter_mut()
            .find(|g| g.arn == arn)
            .expect("group")
    }

    fn service(&mut self, name: &str) -> &mut Service {
        self.snapshot()
            .services
            .iter_mut()
            .find(|s| s.name == name)
            .expect("service")
    }

    fn switch(&mut self) -> &mut SwitchView {
        self.switch
            .as_mut()
            .and_then(|p| p.data.as_mut())
            .expect("switch")
    }

    /// `name: reason` of the first broken hop.
    fn broken(&self) -> Option<String> {
        first_broken_hop(&self.path()).map(Hop::spelled_out)
    }
}

fn health_of(path: &RequestPath, name: &str) -> Health {
    path.hops
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no hop {name} in {path:#?}"))
        .health
}

#[test]
fn a_healthy_path_has_every_hop_in_order_and_nothing_broken() {
    let path = World::healthy().path();
    let names: Vec<&str> = path.hops.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "external ALB",
            "nginx-proxy",
            "internal ALB → api",
            "internal ALB → quorum",
            "quorum general-1 (active)",
            "validators",
        ]
    );
    let labels: Vec<&str> = path.hops.iter().map(|h| h.label.as_str()).collect();
    assert_eq!(
        labels,
        ["ext", "nginx", "api", "quorum", "general-1", "validators"]
    );
    assert!(
        path.hops.iter().all(|h| h.health == Health::Ok),
        "{path:#?}"
    );
    assert!(path.hops.iter().all(|h| h.reason.is_none()));
    assert_eq!(first_broken_hop(&path), None);
    assert_eq!(path.verdict(), "healthy end to end");
    assert_eq!(
        path.hops[0].detail,
        "ibet-prd-node-api-ext :443 · targets 2/2 healthy"
    );
    assert_eq!(path.hops[1].detail, "tasks 2/2 running");
    assert_eq!(
        path.hops[2].detail,
        "ibet-prd-node-api-int · targets 2/2 healthy · tasks 2/2 running"
    );
    assert_eq!(
        path.hops[3].detail,
        "forwards to general-1 · target healthy · standby general-2 healthy"
    );
    assert_eq!(path.hops[4].detail, "synced · #1000 · at the head");
    assert_eq!(
        path.hops[5].detail,
        "4/4 answering, 4 producing · tolerates 1 more failure"
    );
    let jumps: Vec<Option<Jump>> = path.hops.iter().map(|h| h.jump.clone()).collect();
    assert_eq!(
        jumps,
        [
            Some(Jump::Service("nginx-proxy".into())),
            Some(Jump::Service("nginx-proxy".into())),
            Some(Jump::Service("api".into())),
            Some(Jump::Node("general-1".into())),
            Some(Jump::Node("general-1".into())),
            Some(Jump::Validators),
        ]
    );
}

#[test]
fn the_external_alb_with_no_healthy_nginx_target_is_the_broken_hop() {
    let mut w = World::healthy();
    for t in &mut w.group(NGINX).targets {
        *t = target(&t.id, 80, "unhealthy", Some("Target.FailedHealthChecks"));
    }
    assert_eq!(
        w.broken().as_deref(),
        Some("external ALB: 0/2 targets healthy (Target.FailedHealthChecks)")
    );
    assert_eq!(health_of(&w.path(), "external ALB"), Health::Down);
    assert_eq!(
        w.path().verdict(),
        "broken at external ALB: 0/2 targets healthy (Target.FailedHealthChecks)"
    );
}

#[test]
fn an_external_alb_without_targets_says_so() {
    let mut w = World::healthy();
    w.group(NGINX).targets.clear();
    w.service("nginx-proxy").running = 0;
    assert_eq!(
        w.broken().as_deref(),
        Some("external ALB: no targets registered")
    );
}

#[test]
fn nginx_tasks_below_desired_degrade_the_nginx_hop() {
    let mut w = World::healthy();
    w.service("nginx-proxy").running = 1;
    w.group(NGINX).targets.truncate(1);
    let path = w.path();
    assert_eq!(health_of(&path, "external ALB"), Health::Ok);
    assert_eq!(health_of(&path, "nginx-proxy"), Health::Degraded);
    assert_eq!(
        w.broken().as_deref(),
        Some("nginx-proxy: 1/2 tasks running")
    );
    assert!(path.verdict().starts_with("degraded at nginx-proxy"));
}

#[test]
fn no_nginx_task_running_is_down() {
    let mut w = World::healthy();
    let nginx = w.service("nginx-proxy");
    nginx.running = 0;
    nginx.pending = 2;
    w.group(NGINX).targets.clear();
    let path = w.path();
    let hop = path
        .hops
        .iter()
        .find(|h| h.name == "nginx-proxy")
        .expect("hop");
    assert_eq!(hop.health, Health::Down);
    assert_eq!(
        hop.reason.as_deref(),
        Some("no task running (0/2, 2 pending)")
    );
}

#[test]
fn unhealthy_api_targets_break_the_internal_hop() {
    let mut w = World::healthy();
    for t in &mut w.group(API).targets {
        *t = target(&t.id, 5000, "unhealthy", Some("Target.FailedHealthChecks"));
    }
    for t in &mut w.snapshot().tasks {
        if t.service.as_deref() == Some("api") {
            t.health_status = "UNHEALTHY".into();
        }
    }
    assert_eq!(
        w.broken().as_deref(),
        Some("internal ALB → api: 0/2 targets healthy (Target.FailedHealthChecks)")
    );
}

#[test]
fn one_unhealthy_api_target_degrades_and_a_later_down_hop_wins() {
    let mut w = World::healthy();
    w.group(API).targets[1] = target("10.0.2.30", 5000, "unhealthy", Some("Target.Timeout"));
    assert_eq!(
        w.broken().as_deref(),
        Some("internal ALB → api: 1/2 targets healthy (Target.Timeout)")
    );
    // A hop further in that is down is where the path breaks.
    w.switch().members[0].health = Some("unhealthy".into());
    w.group(Q1).targets[0] = target("10.0.1.10", 8443, "unhealthy", Some("Target.Timeout"));
    assert_eq!(
        w.broken().as_deref(),
        Some("internal ALB → quorum: general-1's target unhealthy (Target.Timeout)")
    );
}

#[test]
fn a_target_on_the_wrong_port_or_a_task_not_registered_is_not_healthy() {
    let mut w = World::healthy();
    w.group(API).targets[1] = healthy("10.0.2.30", 5001);
    assert_eq!(
        w.broken().as_deref(),
        Some(
            "internal ALB → api: 1/2 targets healthy (registered on port 5001, the container listens on 5000)"
        )
    );
    let mut w = World::healthy();
    w.group(API).targets.truncate(1);
    assert_eq!(
        w.broken().as_deref(),
        Some("internal ALB → api: 1/2 targets healthy (1 running task not registered)")
    );
    let hop = &w.path().hops[2];
    assert_eq!(
        hop.detail,
        "ibet-prd-node-api-int · targets 1/2 healthy, 1 not registered · tasks 2/2 running"
    );
}

#[test]
fn draining_targets_do_not_count_against_the_path() {
    let mut w = World::healthy();
    w.group(API)
        .targets
        .push(target("10.0.3.30", 5000, "draining", None));
    let path = w.path();
    assert_eq!(health_of(&path, "internal ALB → api"), Health::Ok);
    assert!(path.hops[2].detail.contains("2/2 healthy, 1 draining"));
}

#[test]
fn no_active_quorum_node_is_down_and_two_are_degraded() {
    let mut w = World::healthy();
    w.switch().members[0].active = false;
    assert_eq!(
        w.broken().as_deref(),
        Some("internal ALB → quorum: the internal ALB forwards to no general node")
    );
    assert!(
        !w.path().hops.iter().any(|h| h.kind == HopKind::Node),
        "no node hop without an active node"
    );

    let mut w = World::healthy();
    w.switch().members[1].active = true;
    assert_eq!(
        w.broken().as_deref(),
        Some(
            "internal ALB → quorum: the internal ALB forwards to 2 general nodes at once (general-1, general-2); one is expected"
        )
    );
    let nodes: Vec<String> = w
        .path()
        .hops
        .iter()
        .filter(|h| h.kind == HopKind::Node)
        .map(|h| h.name.clone())
        .collect();
    assert_eq!(
        nodes,
        ["quorum general-1 (active)", "quorum general-2 (active)"]
    );
}

#[test]
fn the_active_nodes_target_in_initial_checks_is_degraded() {
    let mut w = World::healthy();
    w.switch().members[0].health = Some("initial".into());
    w.group(Q1).targets[0] = target(
        "10.0.1.10",
        8443,
        "initial",
        Some("Elb.InitialHealthChecking"),
    );
    assert_eq!(
        w.broken().as_deref(),
        Some("internal ALB → quorum: general-1's target is still in its first health checks")
    );
}

#[test]
fn the_switch_health_as_the_aws_backend_sums_it_up_is_understood() {
    let mut w = World::healthy();
    w.topology = panel(PathTopology::default());
    w.switch().members[0].health = Some("healthy 1/1".into());
    w.switch().members[1].health = Some("healthy 0/1, unhealthy 1".into());
    let path = w.path();
    assert_eq!(health_of(&path, "internal ALB → quorum"), Health::Ok);
    assert_eq!(
        path.hops[3].detail,
        "forwards to general-1 · target healthy 1/1 · standby general-2 healthy 0/1, unhealthy 1"
    );
    w.switch().members[0].health = Some("healthy 0/1, unhealthy 1".into());
    assert_eq!(
        w.broken().as_deref(),
        Some("internal ALB → quorum: general-1's targets healthy 0/1, unhealthy 1")
    );
    w.switch().members[0].health = Some("not registered".into());
    assert_eq!(
        w.broken().as_deref(),
        Some("internal ALB → quorum: general-1's target not registered")
    );
}

#[test]
fn a_lagging_active_node_is_named_and_a_lagging_standby_is_not() {
    let mut w = World::healthy();
    w.nodes[1] = node(
        "general-2",
        NodeState::Lagging,
        "30 blocks behind, no new block in 20s",
    );
    assert_eq!(w.broken(), None, "the standby does not carry requests");
    w.nodes[0] = node(
        "general-1",
        NodeState::Lagging,
        "30 blocks behind, no new block in 20s",
    );
    assert_eq!(
        w.broken().as_deref(),
        Some("quorum general-1 (active): lagging: 30 blocks behind, no new block in 20s")
    );
    w.nodes[0] = node("general-1", NodeState::Down, "no answer for 3 polls");
    assert_eq!(
        health_of(&w.path(), "quorum general-1 (active)"),
        Health::Down
    );
}

#[test]
fn validators_with_fault_tolerance_used_up_or_halted() {
    let mut w = World::healthy();
    w.chain = Some(chain(
        Health::Degraded,
        0,
        "validator-3 down; one more failure stops the chain",
    ));
    assert_eq!(
        w.broken().as_deref(),
        Some(
            "validators: fault tolerance used up: validator-3 down; one more failure stops the chain"
        )
    );
    assert!(
        w.path().hops[5]
            .detail
            .ends_with("tolerates 0 more failures")
    );
    w.chain = Some(chain(
        Health::Down,
        -1,
        "validator-2 down, validator-3 down; more than the 1 QBFT tolerates: no blocks until they recover",
    ));
    assert_eq!(
        w.broken().as_deref(),
        Some(
            "validators: halted: validator-2 down, validator-3 down; more than the 1 QBFT tolerates: no blocks until they recover"
        )
    );
    assert_eq!(w.path().local_health(), Health::Ok, "not the cluster's own");
}

#[test]
fn unknown_data_is_not_broken() {
    let w = World {
        ecs: Panel::default(),
        topology: Panel::default(),
        switch: Some(Panel::default()),
        nodes: nodes(),
        chain: Some(chain(Health::Unknown, 1, "waiting for the validators")),
    };
    let path = w.path();
    assert!(
        path.hops.iter().all(|h| h.health == Health::Unknown),
        "{path:#?}"
    );
    assert_eq!(first_broken_hop(&path), None);
    assert_eq!(
        path.verdict(),
        "not known yet: services, internal ALB → quorum, validators"
    );

    // Services known, load balancers not readable: the ALB hops are unknown, with why.
    let w = World {
        topology: failed("access denied"),
        ..World::healthy()
    };
    let path = w.path();
    assert_eq!(health_of(&path, "external ALB"), Health::Unknown);
    assert_eq!(
        path.hops[0].detail,
        "cannot read the load balancers: access denied"
    );
    assert_eq!(health_of(&path, "internal ALB → api"), Health::Unknown);
    assert_eq!(health_of(&path, "nginx-proxy"), Health::Ok);
    assert_eq!(first_broken_hop(&path), None);

    // The switch cannot be read.
    let w = World {
        switch: Some(failed("throttled")),
        ..World::healthy()
    };
    let path = w.path();
    assert_eq!(health_of(&path, "internal ALB → quorum"), Health::Unknown);
    assert_eq!(
        path.hops[3].detail,
        "cannot read the internal ALB: throttled"
    );
}

#[test]
fn before_the_load_balancers_are_known_names_order_the_hops() {
    let w = World {
        topology: Panel::default(),
        ..World::healthy()
    };
    let names: Vec<String> = w.path().hops.iter().map(|h| h.name.clone()).collect();
    assert_eq!(
        names[..3],
        ["external ALB", "nginx-proxy", "internal ALB → api"]
    );
}

#[test]
fn a_group_without_a_load_balancer_is_down() {
    let mut w = World::healthy();
    w.group(API).load_balancer_arns.clear();
    assert_eq!(
        w.broken().as_deref(),
        Some("internal ALB → api: no load balancer forwards to api")
    );
}

#[test]
fn the_groups_to_discover_are_the_services_then_the_switch() {
    let snap = snapshot();
    let listener = AlbSwitch {
        mode: SwitchMode::Listener,
        listener_arn: Some("l".into()),
        rule_arn: None,
        target_group_arn: None,
        nodes: [
            ("general-1".into(), Q1.into()),
            ("general-2".into(), Q2.into()),
        ]
        .into(),
        max_lag_blocks: 0,
        max_head_age_secs: 15,
        consecutive_polls: 3,
        min_peers: 1,
    };
    assert_eq!(
        target_groups_to_discover(Some(&snap), Some(&listener)),
        [API, NGINX, Q1, Q2]
    );
    let targets = AlbSwitch {
        mode: SwitchMode::Targets,
        target_group_arn: Some("arn:shared".into()),
        nodes: [("general-1".into(), "10.0.1.10:8443".into())].into(),
        ..listener
    };
    assert_eq!(
        target_groups_to_discover(None, Some(&targets)),
        ["arn:shared"]
    );
    assert!(target_groups_to_discover(None, None).is_empty());
}

/// The pollers read the groups the path draws: not those of the services the general
/// nodes run in (drawn only through the switch), unless they are the switch's.
#[test]
fn the_pollers_leave_out_the_general_nodes_groups_unless_the_switch_names_them() {
    let snap = snapshot();
    let nodes = r#"
        name = "node-api"
        ecs_cluster = "ibet-stg-node-api"
        [[quorum_nodes]]
        name = "general-1"
        rpc_url = "http://127.0.0.1:8545"
        role = "general"
        service = "quorum-general-1"
        [[quorum_nodes]]
        name = "general-2"
        rpc_url = "http://127.0.0.1:8546"
        role = "general"
        service = "quorum-general-2"
    "#;
    let mut cluster: crate::config::Cluster = toml::from_str(nodes).expect("a cluster");
    assert_eq!(
        target_groups_of_cluster(Some(&snap), &cluster),
        [API, NGINX]
    );
    cluster.alb_switch = Some(AlbSwitch {
        mode: SwitchMode::Listener,
        listener_arn: Some("l".into()),
        rule_arn: None,
        target_group_arn: None,
        nodes: [
            ("general-1".into(), Q1.into()),
            ("general-2".into(), Q2.into()),
        ]
        .into(),
        max_lag_blocks: 0,
        max_head_age_secs: 15,
        consecutive_polls: 3,
        min_peers: 1,
    });
    assert_eq!(
        target_groups_of_cluster(Some(&snap), &cluster),
        [API, NGINX, Q1, Q2]
    );
    // Nodes without a service: every service's group, as the path has no way to tell.
    cluster.alb_switch = None;
    for node in &mut cluster.quorum_nodes {
        node.service = None;
    }
    assert_eq!(
        target_groups_of_cluster(Some(&snap), &cluster),
        [API, NGINX, Q1, Q2]
    );
}
