//! The ELBv2 backend against a real moto server: reading and switching the internal ALB
//! in its three wirings, refusing what must not be sent, and discovering a request path,
//! with the exact number of requests each costs.
//!
//! The tests share one moto server on a free loopback port, each building its world
//! under names of its own. moto judges every registered target healthy at once, so a
//! targets-mode switch never waits here (the bounded wait itself is unit-tested on a
//! paused clock).

use crate::support::{elb_fixture, moto};

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, LoadBalancerSchemeEnum, Rule, TargetHealthReasonEnum, TargetHealthStateEnum,
};
use ibet_console::backend::aws::elb::AwsElb;
use ibet_console::backend::aws::metrics::RequestCounter;
use ibet_console::backend::{BackendError, ElbApi};
use ibet_console::config::AlbSwitch;
use ibet_console::model::alb::{
    LoadBalancerScheme, SwitchMember, SwitchMode, SwitchView, WeightedTargetGroup,
};

use elb_fixture::{GENERAL_1, GENERAL_2, PathWorld, SwitchWorld};
use moto::{Moto, counts};

/// A plain client for building and checking, the backend under test on a counted
/// client (both on the shared moto server), and a name prefix of the test's own.
struct Bench {
    url: String,
    client: Client,
    elb: AwsElb,
    requests: RequestCounter,
    prefix: String,
}

fn bench() -> Bench {
    let url = Moto::shared().url();
    let sdk = moto::sdk_config(&url);
    let requests = RequestCounter::new();
    let counted = aws_sdk_elasticloadbalancingv2::config::Builder::from(&sdk)
        .interceptor(requests.clone())
        .build();
    Bench {
        client: Client::new(&sdk),
        elb: AwsElb::from_client(Client::from_conf(counted), None),
        requests,
        url,
        prefix: format!("{}-", moto::unique("t")),
    }
}

/// A bench with the internal-ALB switch world built.
async fn switch_bench() -> (Bench, SwitchWorld) {
    let b = bench();
    let world = SwitchWorld::build(&b.client, &b.url, &b.prefix).await;
    (b, world)
}

impl Bench {
    /// The requests the backend sent since the last call, per operation.
    fn take_requests(&self) -> BTreeMap<String, u64> {
        let sent = self.requests.snapshot();
        self.requests.reset();
        sent
    }

    /// What the backend reads of `switch`.
    async fn read(&self, switch: &AlbSwitch) -> SwitchView {
        self.elb.read_switch(switch).await.expect("read_switch")
    }

    /// The node `switch` forwards to, as the backend reads it.
    async fn active(&self, switch: &AlbSwitch) -> Option<String> {
        self.read(switch).await.active().map(str::to_string)
    }

    /// Switches to `node` through the backend.
    async fn apply(&self, switch: &AlbSwitch, node: &str) {
        self.elb
            .apply_switch(switch, node)
            .await
            .expect("apply_switch");
    }

    /// The rule as moto holds it.
    async fn rule(&self, rule: &str) -> Rule {
        self.client
            .describe_rules()
            .rule_arns(rule)
            .send()
            .await
            .expect("moto answers")
            .rules()[0]
            .clone()
    }
}

fn member(
    node: &str,
    target: &str,
    weight: Option<u32>,
    active: bool,
    health: &str,
) -> SwitchMember {
    SwitchMember {
        node: node.into(),
        target: target.into(),
        weight,
        active,
        health: Some(health.into()),
    }
}

async fn default_action(client: &Client, listener: &str) -> Action {
    client
        .describe_listeners()
        .listener_arns(listener)
        .send()
        .await
        .expect("moto answers")
        .listeners()[0]
        .default_actions()
        .last()
        .cloned()
        .expect("a default action")
}

/// (target group, weight) of a forward action.
fn weights(action: &Action) -> Vec<(String, Option<i32>)> {
    action
        .forward_config()
        .map(aws_sdk_elasticloadbalancingv2::types::ForwardActionConfig::target_groups)
        .unwrap_or_default()
        .iter()
        .map(|t| {
            (
                t.target_group_arn().expect("group ARN").to_string(),
                t.weight(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_active_node_is_read_in_every_wiring() {
    let (b, world) = switch_bench().await;

    let listener = b.read(&world.listener_switch()).await;
    assert_eq!(
        listener,
        SwitchView {
            mode: SwitchMode::Listener,
            members: vec![
                member("general-1", &world.quorum_a, Some(1), true, "healthy 1/1"),
                member("general-2", &world.quorum_b, Some(0), false, "healthy 1/1"),
            ],
        }
    );
    assert_eq!(listener.active(), Some("general-1"));
    assert_eq!(
        b.take_requests(),
        counts(&[("DescribeListeners", 1), ("DescribeTargetHealth", 2)])
    );

    let rule = b.read(&world.rule_switch()).await;
    assert_eq!(rule.members, listener.members);
    assert_eq!(
        b.take_requests(),
        counts(&[("DescribeRules", 1), ("DescribeTargetHealth", 2)])
    );

    let targets = b.read(&world.targets_switch()).await;
    assert_eq!(
        targets,
        SwitchView {
            mode: SwitchMode::Targets,
            members: vec![
                member("general-1", GENERAL_1, None, true, "healthy"),
                member("general-2", GENERAL_2, None, false, "not registered"),
            ],
        }
    );
    assert_eq!(b.take_requests(), counts(&[("DescribeTargetHealth", 1)]));
}

#[tokio::test]
async fn a_listener_switch_flips_the_weights_in_one_call() {
    let (b, world) = switch_bench().await;
    let switch = world.listener_switch();

    b.apply(&switch, "general-2").await;
    assert_eq!(
        b.take_requests(),
        counts(&[("DescribeListeners", 1), ("ModifyListener", 1)])
    );

    let action = default_action(&b.client, &world.listener).await;
    assert_eq!(
        weights(&action),
        vec![
            (world.quorum_a.clone(), Some(0)),
            (world.quorum_b.clone(), Some(1))
        ]
    );
    let view = b.read(&switch).await;
    assert_eq!(view.active(), Some("general-2"));
    assert_eq!(
        view.members.iter().map(|m| m.weight).collect::<Vec<_>>(),
        vec![Some(0), Some(1)]
    );
    // The rule on the same listener is another switch: untouched.
    assert_eq!(
        weights(
            b.rule(&world.rule)
                .await
                .actions()
                .last()
                .expect("a rule action")
        ),
        vec![
            (world.quorum_a.clone(), Some(1)),
            (world.quorum_b.clone(), Some(0))
        ]
    );

    b.take_requests();
    b.apply(&switch, "general-1").await;
    assert_eq!(b.take_requests().get("ModifyListener"), Some(&1));
    let view = b.read(&switch).await;
    assert_eq!(view.active(), Some("general-1"));
}

#[tokio::test]
async fn a_rule_switch_keeps_the_listener_the_conditions_and_the_stickiness() {
    let (b, world) = switch_bench().await;
    let before = b.rule(&world.rule).await;

    b.apply(&world.rule_switch(), "general-2").await;
    assert_eq!(
        b.take_requests(),
        counts(&[("DescribeRules", 1), ("ModifyRule", 1)])
    );

    let after = b.rule(&world.rule).await;
    let action = after.actions().last().expect("an action");
    assert_eq!(
        weights(action),
        vec![
            (world.quorum_a.clone(), Some(0)),
            (world.quorum_b.clone(), Some(1))
        ]
    );
    let stickiness = action
        .forward_config()
        .and_then(|f| f.target_group_stickiness_config())
        .expect("stickiness");
    assert_eq!(stickiness.enabled(), Some(true));
    assert_eq!(stickiness.duration_seconds(), Some(300));
    assert_eq!(after.conditions(), before.conditions());
    assert_eq!(after.priority(), before.priority());
    assert_eq!(
        weights(&default_action(&b.client, &world.listener).await),
        vec![
            (world.quorum_a.clone(), Some(1)),
            (world.quorum_b.clone(), Some(0))
        ]
    );
    let view = b.read(&world.rule_switch()).await;
    assert_eq!(view.active(), Some("general-2"));
}

#[tokio::test]
async fn a_single_group_listener_switches_by_replacing_the_group() {
    let (b, world) = switch_bench().await;
    let listener = elb_fixture::create_listener(
        &b.client,
        &world.alb,
        8080,
        elb_fixture::forward_to(&world.quorum_a),
    )
    .await;
    let switch = elb_fixture::switch(
        SwitchMode::Listener,
        (Some(&listener), None, None),
        [
            ("general-1", &world.quorum_a),
            ("general-2", &world.quorum_b),
        ],
    );

    let view = b.read(&switch).await;
    assert_eq!(view.active(), Some("general-1"));
    assert!(!view.members[1].active);

    b.take_requests();
    b.apply(&switch, "general-2").await;
    assert_eq!(
        b.take_requests(),
        counts(&[("DescribeListeners", 1), ("ModifyListener", 1)])
    );
    let action = default_action(&b.client, &listener).await;
    assert_eq!(action.target_group_arn(), Some(world.quorum_b.as_str()));
    assert_eq!(b.active(&switch).await.as_deref(), Some("general-2"));
}

#[tokio::test]
async fn a_targets_switch_registers_waits_for_health_then_deregisters() {
    let (b, world) = switch_bench().await;
    let switch = world.targets_switch();

    b.apply(&switch, "general-2").await;
    assert_eq!(
        b.take_requests(),
        counts(&[
            ("DeregisterTargets", 1),
            ("DescribeTargetHealth", 2),
            ("RegisterTargets", 1),
        ])
    );

    let view = b.read(&switch).await;
    assert_eq!(
        view.members,
        vec![
            member("general-1", GENERAL_1, None, false, "not registered"),
            member("general-2", GENERAL_2, None, true, "healthy"),
        ]
    );
    // Asked by name, moto reports the old target as deregistered (AWS: draining first).
    let old = b
        .client
        .describe_target_health()
        .target_group_arn(&world.nodes_group)
        .targets(elb_fixture::description(GENERAL_1))
        .send()
        .await
        .expect("moto answers");
    let old = old.target_health_descriptions()[0]
        .target_health()
        .expect("a health report");
    assert_eq!(
        old.state().map(TargetHealthStateEnum::as_str),
        Some("unused")
    );
    assert_eq!(
        old.reason().map(TargetHealthReasonEnum::as_str),
        Some("Target.NotRegistered")
    );

    b.take_requests();
    b.apply(&switch, "general-1").await;
    assert_eq!(b.take_requests().get("RegisterTargets"), Some(&1));
    assert_eq!(b.active(&switch).await.as_deref(), Some("general-1"));
}

#[tokio::test]
async fn a_targets_switch_finishes_a_half_done_one() {
    let (b, world) = switch_bench().await;
    // Both registered, as after a switch that stopped before deregistering.
    elb_fixture::register(&b.client, &world.nodes_group, &[GENERAL_2]).await;
    let switch = world.targets_switch();
    assert_eq!(b.active(&switch).await.as_deref(), None);
    b.take_requests();

    b.apply(&switch, "general-2").await;
    assert_eq!(
        b.take_requests(),
        counts(&[("DeregisterTargets", 1), ("DescribeTargetHealth", 1)])
    );
    assert_eq!(b.active(&switch).await.as_deref(), Some("general-2"));
}

#[tokio::test]
async fn switching_to_the_active_node_sends_no_change() {
    let (b, world) = switch_bench().await;

    b.apply(&world.listener_switch(), "general-1").await;
    assert_eq!(b.take_requests(), counts(&[("DescribeListeners", 1)]));

    b.apply(&world.rule_switch(), "general-1").await;
    assert_eq!(b.take_requests(), counts(&[("DescribeRules", 1)]));

    b.apply(&world.targets_switch(), "general-1").await;
    assert_eq!(b.take_requests(), counts(&[("DescribeTargetHealth", 1)]));
}

#[tokio::test]
async fn an_unknown_node_or_an_incomplete_switch_is_refused_before_any_request() {
    let (b, world) = switch_bench().await;

    for switch in [
        world.listener_switch(),
        world.rule_switch(),
        world.targets_switch(),
    ] {
        let err = b
            .elb
            .apply_switch(&switch, "general-9")
            .await
            .expect_err("an error");
        assert_eq!(
            err,
            BackendError::NotFound(
                "node `general-9` is not one of the switch's nodes (general-1, general-2)".into()
            )
        );
    }

    let mut no_arns = world.listener_switch();
    no_arns.listener_arn = None;
    assert!(matches!(
        b.elb.read_switch(&no_arns).await,
        Err(BackendError::Other(_))
    ));
    let mut bad_target = world.targets_switch();
    bad_target
        .nodes
        .insert("general-2".into(), "10.0.2.10:rpc".into());
    let err = b
        .elb
        .apply_switch(&bad_target, "general-2")
        .await
        .expect_err("an error");
    assert_eq!(
        err,
        BackendError::Other(
            "alb_switch node `general-2`: `10.0.2.10:rpc` is not IP:PORT or i-...:PORT".into()
        )
    );
    assert_eq!(b.take_requests(), BTreeMap::new());
}

#[tokio::test]
async fn a_listener_that_is_gone_is_not_found() {
    let (b, world) = switch_bench().await;
    let mut switch = world.listener_switch();
    switch.listener_arn = Some(format!("{}-gone", world.listener));
    let err = b.elb.read_switch(&switch).await.expect_err("an error");
    assert!(matches!(err, BackendError::NotFound(_)), "{err:?}");
    // The health of the node groups was asked alongside.
    assert_eq!(
        b.take_requests(),
        counts(&[("DescribeListeners", 1), ("DescribeTargetHealth", 2)])
    );
    let err = b
        .elb
        .apply_switch(&switch, "general-2")
        .await
        .expect_err("an error");
    assert!(matches!(err, BackendError::NotFound(_)), "{err:?}");
    assert_eq!(b.take_requests(), counts(&[("DescribeListeners", 1)]));
}

#[tokio::test]
async fn the_request_path_is_discovered_in_the_fewest_requests() {
    let b = bench();
    let world = PathWorld::build(&b.client, &b.url, &b.prefix).await;
    let named = |name: &str| format!("{}{name}", world.prefix);

    let asked = [
        world.nginx.clone(),
        world.quorum.clone(),
        world.api.clone(),
        world.quorum.clone(),
    ];
    let topology = b.elb.discover_paths(&asked).await.expect("discover_paths");
    assert_eq!(
        b.take_requests(),
        counts(&[
            ("DescribeListeners", 2),
            ("DescribeLoadBalancers", 1),
            ("DescribeTargetGroups", 1),
            ("DescribeTargetHealth", 3),
        ])
    );

    let groups: Vec<(&str, Option<u16>, Option<&str>)> = topology
        .target_groups
        .iter()
        .map(|g| (g.name.as_str(), g.port, g.protocol.as_deref()))
        .collect();
    assert_eq!(
        groups,
        vec![
            (named("nginx").as_str(), Some(80), Some("HTTP")),
            (&named("quorum"), Some(8545), Some("HTTP")),
            (&named("api"), Some(5000), Some("HTTP")),
        ]
    );
    let nginx = topology.target_group(&world.nginx).expect("nginx");
    assert_eq!(nginx.load_balancer_arns, vec![world.external_alb.clone()]);
    assert_eq!(
        nginx
            .targets
            .iter()
            .map(|t| (t.id.as_str(), t.port, t.state.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("10.0.1.20", Some(80), "healthy"),
            ("10.0.2.20", Some(80), "healthy")
        ]
    );
    // The rule and the listener both send to Quorum: its load balancer is listed once.
    assert_eq!(
        topology
            .target_group(&world.quorum)
            .expect("the quorum group")
            .load_balancer_arns,
        vec![world.internal_alb.clone()]
    );

    let lbs: Vec<(&str, LoadBalancerScheme, &str)> = topology
        .load_balancers
        .iter()
        .map(|lb| (lb.name.as_str(), lb.scheme, lb.kind.as_str()))
        .collect();
    assert_eq!(
        lbs,
        vec![
            (
                named("ibet-external").as_str(),
                LoadBalancerScheme::InternetFacing,
                "application"
            ),
            (
                &named("ibet-internal"),
                LoadBalancerScheme::Internal,
                "application"
            ),
        ]
    );
    let external = topology
        .load_balancer(&world.external_alb)
        .expect("the external ALB");
    assert_eq!(external.listeners.len(), 1);
    assert_eq!(external.listeners[0].port, Some(80));
    assert_eq!(
        external.listeners[0].forwards_to,
        vec![WeightedTargetGroup {
            target_group_arn: world.nginx.clone(),
            weight: None
        }]
    );
    let internal = topology
        .load_balancer(&world.internal_alb)
        .expect("the internal ALB");
    assert_eq!(
        internal
            .listeners
            .iter()
            .map(|l| (l.arn.as_str(), l.port, l.protocol.as_deref()))
            .collect::<Vec<_>>(),
        vec![
            (world.internal_listeners[0].as_str(), Some(80), Some("HTTP")),
            (
                world.internal_listeners[1].as_str(),
                Some(8545),
                Some("HTTP")
            ),
        ]
    );
    assert_eq!(
        internal.listeners[1].forwards_to,
        vec![WeightedTargetGroup {
            target_group_arn: world.quorum.clone(),
            weight: Some(1)
        }]
    );

    // Through the trait, as the request-path view will ask; nothing asked, nothing sent.
    let elb: &dyn ElbApi = &b.elb;
    assert_eq!(
        elb.discover_paths(&[])
            .await
            .expect("discover_paths")
            .load_balancers,
        vec![]
    );
    assert_eq!(b.take_requests(), BTreeMap::new());
}

#[tokio::test]
async fn a_still_path_costs_its_target_health_until_a_switch_moves_it() {
    let (b, world) = switch_bench().await;
    let switch = world.listener_switch();
    let asked = [world.quorum_a.clone(), world.quorum_b.clone()];
    let forwards = |t: &ibet_console::model::alb::PathTopology| {
        t.load_balancers[0]
            .listeners
            .iter()
            .find(|l| l.arn == world.listener)
            .expect("the switch's listener")
            .forwards_to
            .iter()
            .map(|f| f.weight)
            .collect::<Vec<_>>()
    };
    let first = b.elb.discover_paths(&asked).await.expect("first");
    assert_eq!(b.take_requests().get("DescribeTargetGroups"), Some(&1));
    // Nothing said the topology changed: only what moves is read.
    let second = b.elb.discover_paths(&asked).await.expect("second");
    assert_eq!(b.take_requests(), counts(&[("DescribeTargetHealth", 2)]));
    assert_eq!(second, first);
    // Switched here: the next discovery reads the listeners again.
    b.apply(&switch, "general-2").await;
    b.take_requests();
    let after = b
        .elb
        .discover_paths(&asked)
        .await
        .expect("after the switch");
    assert_eq!(b.take_requests().get("DescribeListeners"), Some(&1));
    assert_eq!(forwards(&after), vec![Some(0), Some(1)]);
    // Switched by someone else: a read of the switch finds it forwarding elsewhere.
    b.read(&switch).await;
    b.elb.discover_paths(&asked).await.expect("settled");
    b.take_requests();
    // Another console's backend: this one learns of it only by reading the switch.
    AwsElb::from_client(b.client.clone(), None)
        .apply_switch(&switch, "general-1")
        .await
        .expect("someone else's switch");
    assert_eq!(b.active(&switch).await.as_deref(), Some("general-1"));
    b.take_requests();
    let back = b
        .elb
        .discover_paths(&asked)
        .await
        .expect("after their switch");
    assert_eq!(b.take_requests().get("DescribeListeners"), Some(&1));
    assert_eq!(forwards(&back), vec![Some(1), Some(0)]);
}

#[tokio::test]
async fn more_than_twenty_groups_and_load_balancers_are_described_in_batches() {
    let b = bench();
    let network = elb_fixture::Network::create(&b.url).await;
    let mut groups = Vec::new();
    for i in 0..21 {
        let alb = elb_fixture::create_alb(
            &b.client,
            &network,
            &format!("{}alb-{i:02}", b.prefix),
            LoadBalancerSchemeEnum::Internal,
        )
        .await;
        let group = elb_fixture::create_target_group(
            &b.client,
            &network,
            &format!("{}tg-{i:02}", b.prefix),
            8545,
        )
        .await;
        elb_fixture::create_listener(&b.client, &alb, 80, elb_fixture::forward_to(&group)).await;
        groups.push(group);
    }

    let topology = b.elb.discover_paths(&groups).await.expect("discover_paths");
    assert_eq!(
        b.take_requests(),
        counts(&[
            ("DescribeListeners", 21),
            ("DescribeLoadBalancers", 2),
            ("DescribeTargetGroups", 2),
            ("DescribeTargetHealth", 21),
        ])
    );
    assert_eq!(
        topology
            .target_groups
            .iter()
            .map(|g| g.arn.clone())
            .collect::<Vec<_>>(),
        groups
    );
    assert_eq!(topology.load_balancers.len(), 21);
    assert!(
        topology
            .load_balancers
            .iter()
            .all(|lb| lb.listeners.len() == 1 && lb.scheme == LoadBalancerScheme::Internal)
    );
}
