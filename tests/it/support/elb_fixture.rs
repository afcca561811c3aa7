//! ELBv2 worlds built in a moto server for the ELB tests: the internal-ALB switch in its
//! three wirings (listener, rule, targets), and a small request path (external ALB →
//! nginx; internal ALB → API and Quorum).
//!
//! moto's ELBv2 wants subnets that its EC2 knows, and the crate has no EC2 client: the
//! VPC and subnets are made with two plain EC2 query requests to the same moto server.
//! Everything else goes through the ELBv2 SDK client the caller passes. Test-only code;
//! it talks to nothing but the moto server on loopback.

#![allow(dead_code)]

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, LoadBalancerSchemeEnum, LoadBalancerTypeEnum,
    PathPatternConditionConfig, ProtocolEnum, RuleCondition, TargetDescription,
    TargetGroupStickinessConfig, TargetGroupTuple, TargetTypeEnum,
};
use ibet_console::config::AlbSwitch;
use ibet_console::model::alb::SwitchMode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The first general node's target in targets mode (and its address in listener mode).
pub const GENERAL_1: &str = "10.0.1.10:8443";
/// The second general node's target.
pub const GENERAL_2: &str = "10.0.2.10:8443";

/// A VPC with two subnets in two zones.
#[derive(Debug, Clone)]
pub struct Network {
    /// `vpc-...`.
    pub vpc_id: String,
    /// `subnet-...`, one per zone.
    pub subnets: Vec<String>,
}

impl Network {
    /// Creates the VPC and subnets through moto's EC2 query API at `url`.
    pub async fn create(url: &str) -> Self {
        let vpc = ec2(
            url,
            &[("Action", "CreateVpc"), ("CidrBlock", "10.0.0.0/16")],
        )
        .await;
        let vpc_id = xml_value(&vpc, "vpcId");
        let mut subnets = Vec::new();
        for (cidr, zone) in [
            ("10.0.1.0/24", "ap-northeast-1a"),
            ("10.0.2.0/24", "ap-northeast-1c"),
        ] {
            let subnet = ec2(
                url,
                &[
                    ("Action", "CreateSubnet"),
                    ("VpcId", &vpc_id),
                    ("CidrBlock", cidr),
                    ("AvailabilityZone", zone),
                ],
            )
            .await;
            subnets.push(xml_value(&subnet, "subnetId"));
        }
        Self { vpc_id, subnets }
    }
}

/// One EC2 query request to moto; the response body. moto reads the service and region
/// from the credential scope and does not check the signature.
async fn ec2(url: &str, params: &[(&str, &str)]) -> String {
    let host = url.trim_start_matches("http://");
    let body = params
        .iter()
        .chain(&[("Version", "2016-11-15")])
        .map(|(k, v)| format!("{k}={}", form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\n\
         Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20250101/ap-northeast-1/ec2/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .expect("connect to moto");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send EC2 request");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .expect("read EC2 response");
    let response = String::from_utf8_lossy(&response).into_owned();
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "EC2 {params:?} failed: {response}"
    );
    response
}

fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn xml_value(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml.find(&open).expect("tag in response") + open.len();
    let end = start + xml[start..].find('<').expect("closing tag");
    xml[start..end].to_string()
}

/// An application load balancer.
pub async fn create_alb(
    client: &Client,
    network: &Network,
    name: &str,
    scheme: LoadBalancerSchemeEnum,
) -> String {
    client
        .create_load_balancer()
        .name(name)
        .r#type(LoadBalancerTypeEnum::Application)
        .scheme(scheme)
        .set_subnets(Some(network.subnets.clone()))
        .send()
        .await
        .expect("create load balancer")
        .load_balancers()[0]
        .load_balancer_arn()
        .expect("load balancer ARN")
        .to_string()
}

/// An HTTP target group of IP targets.
pub async fn create_target_group(
    client: &Client,
    network: &Network,
    name: &str,
    port: i32,
) -> String {
    client
        .create_target_group()
        .name(name)
        .protocol(ProtocolEnum::Http)
        .port(port)
        .vpc_id(&network.vpc_id)
        .target_type(TargetTypeEnum::Ip)
        .health_check_path("/")
        .send()
        .await
        .expect("create target group")
        .target_groups()[0]
        .target_group_arn()
        .expect("target group ARN")
        .to_string()
}

/// Registers `IP:PORT` targets.
pub async fn register(client: &Client, group: &str, targets: &[&str]) {
    client
        .register_targets()
        .target_group_arn(group)
        .set_targets(Some(targets.iter().map(|t| description(t)).collect()))
        .send()
        .await
        .expect("register targets");
}

/// `IP:PORT` as a target description.
pub fn description(target: &str) -> TargetDescription {
    let (ip, port) = target.rsplit_once(':').expect("IP:PORT");
    TargetDescription::builder()
        .id(ip)
        .port(port.parse().expect("port"))
        .build()
}

/// A forward action to target groups with weights, stickiness on or off.
pub fn forward(groups: &[(&str, i32)], sticky: bool) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(
            ForwardActionConfig::builder()
                .set_target_groups(Some(
                    groups
                        .iter()
                        .map(|(arn, weight)| {
                            TargetGroupTuple::builder()
                                .target_group_arn(*arn)
                                .weight(*weight)
                                .build()
                        })
                        .collect(),
                ))
                .target_group_stickiness_config(
                    TargetGroupStickinessConfig::builder()
                        .enabled(sticky)
                        .set_duration_seconds(sticky.then_some(300))
                        .build(),
                )
                .build(),
        )
        .build()
}

/// A forward action in the single-group form.
pub fn forward_to(group: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(group)
        .build()
}

/// An HTTP listener on `port` with one default action.
pub async fn create_listener(client: &Client, alb: &str, port: i32, action: Action) -> String {
    client
        .create_listener()
        .load_balancer_arn(alb)
        .protocol(ProtocolEnum::Http)
        .port(port)
        .default_actions(action)
        .send()
        .await
        .expect("create listener")
        .listeners()[0]
        .listener_arn()
        .expect("listener ARN")
        .to_string()
}

/// A path-pattern rule on a listener.
pub async fn create_rule(
    client: &Client,
    listener: &str,
    priority: i32,
    path: &str,
    action: Action,
) -> String {
    client
        .create_rule()
        .listener_arn(listener)
        .priority(priority)
        .conditions(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(PathPatternConditionConfig::builder().values(path).build())
                .build(),
        )
        .actions(action)
        .send()
        .await
        .expect("create rule")
        .rules()[0]
        .rule_arn()
        .expect("rule ARN")
        .to_string()
}

/// The internal ALB switch between two Quorum general nodes, wired three ways at once:
/// the listener's default action and a rule both forward to `quorum-a` (weight 1) and
/// `quorum-b` (weight 0); a third target group has one node target of two registered.
#[derive(Debug, Clone)]
pub struct SwitchWorld {
    /// The network.
    pub network: Network,
    /// The internal ALB.
    pub alb: String,
    /// Target group of `general-1` (listener mode), target 10.0.1.10:8443.
    pub quorum_a: String,
    /// Target group of `general-2` (listener mode), target 10.0.2.10:8443.
    pub quorum_b: String,
    /// HTTP :80, default action forward to quorum-a (1) and quorum-b (0).
    pub listener: String,
    /// Rule `/rpc*` on that listener, forward to quorum-a (1) and quorum-b (0), sticky.
    pub rule: String,
    /// Targets-mode group: `general-1` ([`GENERAL_1`]) registered, `general-2` not.
    pub nodes_group: String,
    /// HTTP :8545 on the same ALB forwarding to the targets-mode group.
    pub nodes_listener: String,
}

impl SwitchWorld {
    /// Builds the world in the moto server at `url`, its load balancer and target group
    /// names starting with `prefix` (`""` in a server of its own; a name of the test's
    /// own in a shared one, where names must not meet).
    pub async fn build(client: &Client, url: &str, prefix: &str) -> Self {
        let network = Network::create(url).await;
        let alb = create_alb(
            client,
            &network,
            &format!("{prefix}quorum-internal"),
            LoadBalancerSchemeEnum::Internal,
        )
        .await;
        let quorum_a =
            create_target_group(client, &network, &format!("{prefix}quorum-a"), 8443).await;
        let quorum_b =
            create_target_group(client, &network, &format!("{prefix}quorum-b"), 8443).await;
        register(client, &quorum_a, &[GENERAL_1]).await;
        register(client, &quorum_b, &[GENERAL_2]).await;
        let listener = create_listener(
            client,
            &alb,
            80,
            forward(&[(&quorum_a, 1), (&quorum_b, 0)], false),
        )
        .await;
        let rule = create_rule(
            client,
            &listener,
            10,
            "/rpc*",
            forward(&[(&quorum_a, 1), (&quorum_b, 0)], true),
        )
        .await;
        let nodes_group =
            create_target_group(client, &network, &format!("{prefix}quorum-nodes"), 8443).await;
        register(client, &nodes_group, &[GENERAL_1]).await;
        let nodes_listener = create_listener(client, &alb, 8545, forward_to(&nodes_group)).await;
        Self {
            network,
            alb,
            quorum_a,
            quorum_b,
            listener,
            rule,
            nodes_group,
            nodes_listener,
        }
    }

    /// Listener mode on the listener's default action.
    pub fn listener_switch(&self) -> AlbSwitch {
        switch(
            SwitchMode::Listener,
            (Some(&self.listener), None, None),
            [("general-1", &self.quorum_a), ("general-2", &self.quorum_b)],
        )
    }

    /// Listener mode on the rule.
    pub fn rule_switch(&self) -> AlbSwitch {
        switch(
            SwitchMode::Listener,
            (None, Some(&self.rule), None),
            [("general-1", &self.quorum_a), ("general-2", &self.quorum_b)],
        )
    }

    /// Targets mode on the nodes group.
    pub fn targets_switch(&self) -> AlbSwitch {
        switch(
            SwitchMode::Targets,
            (None, None, Some(&self.nodes_group)),
            [("general-1", GENERAL_1), ("general-2", GENERAL_2)],
        )
    }
}

/// A switch configuration as the config file would give it (gate values at defaults).
pub fn switch(
    mode: SwitchMode,
    (listener, rule, group): (Option<&str>, Option<&str>, Option<&str>),
    nodes: [(&str, &str); 2],
) -> AlbSwitch {
    AlbSwitch {
        mode,
        listener_arn: listener.map(str::to_string),
        rule_arn: rule.map(str::to_string),
        target_group_arn: group.map(str::to_string),
        nodes: nodes
            .iter()
            .map(|(n, t)| ((*n).to_string(), (*t).to_string()))
            .collect::<BTreeMap<_, _>>(),
        max_lag_blocks: 0,
        max_head_age_secs: 15,
        consecutive_polls: 3,
        min_peers: 1,
    }
}

/// A request path: the internet-facing ALB forwards :80 to nginx; the internal ALB
/// forwards :80 to the API and `/rpc*` to Quorum, and :8545 to Quorum directly.
#[derive(Debug, Clone)]
pub struct PathWorld {
    /// What every load balancer and target group name starts with.
    pub prefix: String,
    /// Internet-facing ALB.
    pub external_alb: String,
    /// Internal ALB.
    pub internal_alb: String,
    /// nginx target group (:80), two targets.
    pub nginx: String,
    /// API target group (:5000), one target.
    pub api: String,
    /// Quorum target group (:8545), one target.
    pub quorum: String,
    /// The external listener.
    pub external_listener: String,
    /// The internal listeners, :80 and :8545.
    pub internal_listeners: [String; 2],
}

impl PathWorld {
    /// Builds the world in the moto server at `url`, names starting with `prefix` (as
    /// for [`SwitchWorld::build`]).
    pub async fn build(client: &Client, url: &str, prefix: &str) -> Self {
        let network = Network::create(url).await;
        let named = |name: &str| format!("{prefix}{name}");
        let external_alb = create_alb(
            client,
            &network,
            &named("ibet-external"),
            LoadBalancerSchemeEnum::InternetFacing,
        )
        .await;
        let internal_alb = create_alb(
            client,
            &network,
            &named("ibet-internal"),
            LoadBalancerSchemeEnum::Internal,
        )
        .await;
        let nginx = create_target_group(client, &network, &named("nginx"), 80).await;
        let api = create_target_group(client, &network, &named("api"), 5000).await;
        let quorum = create_target_group(client, &network, &named("quorum"), 8545).await;
        register(client, &nginx, &["10.0.1.20:80", "10.0.2.20:80"]).await;
        register(client, &api, &["10.0.1.30:5000"]).await;
        register(client, &quorum, &["10.0.1.10:8545"]).await;
        let external_listener =
            create_listener(client, &external_alb, 80, forward_to(&nginx)).await;
        let api_listener = create_listener(client, &internal_alb, 80, forward_to(&api)).await;
        create_rule(client, &api_listener, 10, "/rpc*", forward_to(&quorum)).await;
        let quorum_listener =
            create_listener(client, &internal_alb, 8545, forward(&[(&quorum, 1)], false)).await;
        Self {
            prefix: prefix.to_string(),
            external_alb,
            internal_alb,
            nginx,
            api,
            quorum,
            external_listener,
            internal_listeners: [api_listener, quorum_listener],
        }
    }
}

/// A target group the staging world's services sit behind: name, container port and how
/// many tasks serve in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    /// Target group name, e.g. `ibet-stg-node-api-nginx`.
    pub name: String,
    /// The container port, also the targets' port.
    pub port: u16,
    /// Targets registered (IP targets, on the port): as many as the service runs tasks.
    pub targets: u32,
}

/// The load balancers of one wallet cluster of the staging world that
/// examples/moto_fixture.rs builds: `{cluster}-ext` (internet-facing) forwards :80 to the
/// `…-nginx` group; `{cluster}-int` (internal) forwards :80 to `…-api` and :8545 to
/// `…-quorum-a` (weight 1) beside `…-quorum-b` (weight 0), the switch between the two
/// general nodes. Each group gets its targets on `10.0.{1,2}.{first_host}…`. Returns every
/// group's ARN by name, and how many load balancers it made.
pub async fn wallet_load_balancers(
    client: &Client,
    network: &Network,
    ecs_cluster: &str,
    groups: &[GroupSpec],
    first_host: u8,
) -> (BTreeMap<String, String>, usize) {
    let mut arns = BTreeMap::new();
    let mut host = first_host;
    for group in groups {
        let arn = create_target_group(client, network, &group.name, i32::from(group.port)).await;
        let targets: Vec<String> = (0..group.targets)
            .map(|i| {
                host = host.wrapping_add(1);
                format!("10.0.{}.{host}:{}", 1 + i % 2, group.port)
            })
            .collect();
        if !targets.is_empty() {
            register(
                client,
                &arn,
                &targets.iter().map(String::as_str).collect::<Vec<_>>(),
            )
            .await;
        }
        arns.insert(group.name.clone(), arn);
    }
    let group = |suffix: &str| {
        arns.iter()
            .find(|(name, _)| name.ends_with(suffix))
            .map(|(_, arn)| arn.clone())
    };
    let mut load_balancers = 1;
    if let Some(nginx) = group("-nginx") {
        load_balancers += 1;
        let external = create_alb(
            client,
            network,
            &format!("{ecs_cluster}-ext"),
            LoadBalancerSchemeEnum::InternetFacing,
        )
        .await;
        create_listener(client, &external, 80, forward_to(&nginx)).await;
    }
    let internal = create_alb(
        client,
        network,
        &format!("{ecs_cluster}-int"),
        LoadBalancerSchemeEnum::Internal,
    )
    .await;
    if let Some(api) = group("-api") {
        create_listener(client, &internal, 80, forward_to(&api)).await;
    }
    if let (Some(a), Some(b)) = (group("-quorum-a"), group("-quorum-b")) {
        create_listener(client, &internal, 8545, forward(&[(&a, 1), (&b, 0)], false)).await;
    }
    (arns, load_balancers)
}
