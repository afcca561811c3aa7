//! The internal ALB switch: which Quorum general node the internal ALB forwards to.

use serde::Serialize;

/// How a switch is wired in ELBv2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SwitchMode {
    /// A listener's (or rule's) forward action holds one target group per node; the
    /// active node is the one whose weight is above zero.
    #[default]
    Listener,
    /// One target group; each node is a target; the active node is the registered one.
    Targets,
}

/// One general node as the ALB sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct SwitchMember {
    /// Node name from the configuration.
    pub node: String,
    /// Target group ARN (listener mode) or `IP:PORT` / `i-...:PORT` (targets mode).
    pub target: String,
    /// Forward weight (listener mode).
    pub weight: Option<u32>,
    /// Whether the ALB currently forwards to it.
    pub active: bool,
    /// Target health (`healthy`, `unhealthy`, `draining`, `initial`, `unused`...).
    pub health: Option<String>,
}

/// What the ALB currently does for one configured switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct SwitchView {
    /// Mode.
    pub mode: SwitchMode,
    /// The members in configuration order.
    pub members: Vec<SwitchMember>,
}

impl SwitchView {
    /// Every node the ALB forwards to now, in configuration order.
    pub fn active_nodes(&self) -> Vec<&str> {
        self.members
            .iter()
            .filter(|m| m.active)
            .map(|m| m.node.as_str())
            .collect()
    }

    /// The node the ALB forwards to, when exactly one is active.
    pub fn active(&self) -> Option<&str> {
        let mut active = self.members.iter().filter(|m| m.active);
        match (active.next(), active.next()) {
            (Some(m), None) => Some(m.node.as_str()),
            _ => None,
        }
    }
}

/// Where a load balancer takes its requests from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LoadBalancerScheme {
    /// Reachable from the internet (the public entry of a request path).
    InternetFacing,
    /// Reachable only inside the VPC.
    Internal,
    /// Not reported.
    #[default]
    Unknown,
}

/// The load balancers, listeners and target groups a request passes through, as ELBv2
/// reports them: what the request-path view draws (internet → external ALB → nginx →
/// internal ALB → Quorum general node).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PathTopology {
    /// The load balancers in front of the asked target groups, in the order first met.
    pub load_balancers: Vec<PathLoadBalancer>,
    /// The asked target groups, in the order asked.
    pub target_groups: Vec<PathTargetGroup>,
}

impl PathTopology {
    /// The load balancer with this ARN.
    pub fn load_balancer(&self, arn: &str) -> Option<&PathLoadBalancer> {
        self.load_balancers.iter().find(|lb| lb.arn == arn)
    }

    /// The target group with this ARN.
    pub fn target_group(&self, arn: &str) -> Option<&PathTargetGroup> {
        self.target_groups.iter().find(|tg| tg.arn == arn)
    }
}

/// One load balancer on a request path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PathLoadBalancer {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// Internet-facing or internal.
    pub scheme: LoadBalancerScheme,
    /// `application`, `network` or `gateway`.
    pub kind: String,
    /// DNS name.
    pub dns_name: Option<String>,
    /// `active`, `provisioning`, `active_impaired` or `failed`.
    pub state: Option<String>,
    /// Its listeners, by port.
    pub listeners: Vec<PathListener>,
}

/// One listener and where its default action forwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PathListener {
    /// ARN.
    pub arn: String,
    /// Port.
    pub port: Option<u16>,
    /// `HTTP`, `HTTPS`, `TCP`...
    pub protocol: Option<String>,
    /// The target groups the default action forwards to (empty for a redirect or a
    /// fixed response). Rules are not read.
    pub forwards_to: Vec<WeightedTargetGroup>,
}

/// One target group of a forward action, with its weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct WeightedTargetGroup {
    /// Target group ARN.
    pub target_group_arn: String,
    /// Weight, when the action carries one.
    pub weight: Option<u32>,
}

impl WeightedTargetGroup {
    /// Whether requests reach this group: any group but one weighted zero.
    pub fn receives_traffic(&self) -> bool {
        self.weight != Some(0)
    }
}

/// One target group on a request path, with the health of its targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PathTargetGroup {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// Port the targets receive on (unless a target names its own).
    pub port: Option<u16>,
    /// `HTTP`, `HTTPS`, `TCP`...
    pub protocol: Option<String>,
    /// `instance`, `ip`, `lambda` or `alb`.
    pub target_type: Option<String>,
    /// The load balancers that forward to it.
    pub load_balancer_arns: Vec<String>,
    /// Its registered targets and their health.
    pub targets: Vec<TargetHealth>,
}

/// One registered target and its health as the load balancer judges it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct TargetHealth {
    /// Instance ID, IP address, Lambda ARN or ALB ARN.
    pub id: String,
    /// Port.
    pub port: Option<u16>,
    /// `initial`, `healthy`, `unhealthy`, `unused`, `draining` or `unavailable`.
    pub state: String,
    /// Why it is not healthy, e.g. `Target.ResponseCodeMismatch`.
    pub reason: Option<String>,
    /// The load balancer's own words.
    pub description: Option<String>,
}

impl TargetHealth {
    /// Whether the load balancer judges the target healthy.
    pub fn is_healthy(&self) -> bool {
        self.state == "healthy"
    }
}

/// A one-line summary of the health of a target group's targets: `healthy 1/1`,
/// `healthy 1/2, draining 1`, or `no targets`.
pub fn health_summary(targets: &[TargetHealth]) -> String {
    if targets.is_empty() {
        return "no targets".into();
    }
    let healthy = targets.iter().filter(|t| t.is_healthy()).count();
    let mut others = std::collections::BTreeMap::<&str, usize>::new();
    for target in targets.iter().filter(|t| !t.is_healthy()) {
        *others.entry(target.state.as_str()).or_default() += 1;
    }
    std::iter::once(format!("healthy {healthy}/{}", targets.len()))
        .chain(
            others
                .iter()
                .map(|(state, count)| format!("{state} {count}")),
        )
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(state: &str) -> TargetHealth {
        TargetHealth {
            id: "10.0.1.10".into(),
            port: Some(8443),
            state: state.into(),
            ..TargetHealth::default()
        }
    }

    #[test]
    fn health_summary_counts_healthy_and_names_the_rest() {
        assert_eq!(health_summary(&[]), "no targets");
        assert_eq!(health_summary(&[target("healthy")]), "healthy 1/1");
        assert_eq!(
            health_summary(&[
                target("unhealthy"),
                target("healthy"),
                target("draining"),
                target("unhealthy")
            ]),
            "healthy 1/4, draining 1, unhealthy 2"
        );
    }

    #[test]
    fn only_a_zero_weight_stops_traffic() {
        let group = |weight| WeightedTargetGroup {
            target_group_arn: "tg".into(),
            weight,
        };
        assert!(group(None).receives_traffic());
        assert!(group(Some(100)).receives_traffic());
        assert!(!group(Some(0)).receives_traffic());
    }

    #[test]
    fn the_active_node_is_the_only_active_member() {
        let member = |node: &str, active| SwitchMember {
            node: node.into(),
            active,
            ..SwitchMember::default()
        };
        let mut view = SwitchView {
            mode: SwitchMode::Listener,
            members: vec![member("general-1", false), member("general-2", true)],
        };
        assert_eq!(view.active(), Some("general-2"));
        view.members[0].active = true;
        assert_eq!(view.active(), None);
    }
}
