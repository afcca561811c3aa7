//! ELBv2 on the AWS SDK: the internal-ALB switch between the Quorum general nodes, and
//! the discovery of the load balancers a request passes through.
//!
//! [`AwsElb`] implements [`ElbApi`]. A switch is wired in one of two ways
//! (`alb_switch.mode` in the configuration):
//!
//! - **listener**: the forward action of a listener's default action (or of a rule, when
//!   `rule_arn` is set) holds one target group per node; the active node is the one whose
//!   weight is above zero. A switch rewrites the weights in one `ModifyListener` (or
//!   `ModifyRule`) call and keeps everything else of the actions: stickiness, other
//!   groups, authentication actions. The single-group form (`TargetGroupArn`) switches by
//!   replacing the group.
//! - **targets**: one target group; each node is a target; the active node is the
//!   registered one. A switch registers the new target, waits (bounded) until the load
//!   balancer judges it healthy, then deregisters the old one; ELBv2 drains it.
//!
//! Requests per call, with two nodes: `read_switch` costs 3 in listener mode (the action
//! and the health of both groups, all at once) and 1 in targets mode; `apply_switch` costs 2
//! in listener mode and 4 in targets mode (read, register, one health poll per interval
//! until healthy, deregister). Unknown nodes and incomplete switch configurations are
//! refused before any request; switching to the node already active sends no change.
//!
//! [`ElbApi::discover_paths`] reads, for a set of target groups, their load balancers,
//! listeners and target health in two rounds: `DescribeTargetGroups` (20 ARNs a call),
//! then together `DescribeLoadBalancers` (20 a call), `DescribeListeners` (one per load
//! balancer) and `DescribeTargetHealth` (one per target group).
//!
//! This module decides nothing about whether a switch is wise (the sync gate does), and
//! knows nothing of the terminal.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, LoadBalancerSchemeEnum, TargetDescription, TargetGroupTuple,
    TargetHealthDescription,
};
use futures_util::future::try_join_all;

use super::auth::classify;
use crate::backend::{BackendError, BackendResult, ElbApi};
use crate::config::AlbSwitch;
use crate::model::alb::{
    LoadBalancerScheme, PathListener, PathLoadBalancer, PathTargetGroup, PathTopology,
    SwitchMember, SwitchMode, SwitchView, TargetHealth, WeightedTargetGroup, health_summary,
};

/// The most ARNs ELBv2 accepts in one `DescribeTargetGroups` or `DescribeLoadBalancers`.
pub const ARNS_PER_DESCRIBE: usize = 20;

/// How long a targets-mode switch waits for the new target to become healthy, and how
/// often it asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthWait {
    /// Pause between two `DescribeTargetHealth` polls.
    pub interval: Duration,
    /// Give up (and withdraw the new target) after this long.
    pub limit: Duration,
}

impl Default for HealthWait {
    /// Every 5 s for at most 5 minutes: enough for the default health check (5 healthy
    /// checks 30 s apart) with room to spare.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            limit: Duration::from_secs(300),
        }
    }
}

/// ELBv2 for one environment.
#[derive(Clone)]
pub struct AwsElb {
    client: Client,
    profile: Option<String>,
    health_wait: HealthWait,
}

impl std::fmt::Debug for AwsElb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsElb")
            .field("profile", &self.profile)
            .field("health_wait", &self.health_wait)
            .finish_non_exhaustive()
    }
}

impl AwsElb {
    /// A backend on the environment's SDK configuration; `profile` names the profile in
    /// error hints (`aws sso login --profile X`).
    pub fn new(sdk: &aws_config::SdkConfig, profile: Option<String>) -> Self {
        Self::from_client(Client::new(sdk), profile)
    }

    /// A backend on a client built elsewhere (tests attach interceptors to it).
    pub fn from_client(client: Client, profile: Option<String>) -> Self {
        Self {
            client,
            profile,
            health_wait: HealthWait::default(),
        }
    }

    /// Changes how long a targets-mode switch waits for the new target's health.
    #[must_use]
    pub fn with_health_wait(mut self, wait: HealthWait) -> Self {
        self.health_wait = wait;
        self
    }

    /// [`ElbApi::discover_paths`]: the load balancers, listeners and target health
    /// behind `target_group_arns` (duplicates ignored). See the module documentation for
    /// the requests it costs.
    async fn discover(&self, target_group_arns: &[String]) -> BackendResult<PathTopology> {
        let asked = unique(target_group_arns.iter().map(String::as_str));
        if asked.is_empty() {
            return Ok(PathTopology::default());
        }
        let batches = try_join_all(
            asked
                .chunks(ARNS_PER_DESCRIBE)
                .map(|batch| self.describe_target_groups(batch)),
        )
        .await?;
        let mut by_arn: BTreeMap<String, aws_sdk_elasticloadbalancingv2::types::TargetGroup> =
            batches
                .into_iter()
                .flatten()
                .filter_map(|tg| Some((tg.target_group_arn.clone()?, tg)))
                .collect();
        let groups: Vec<_> = asked.iter().filter_map(|arn| by_arn.remove(*arn)).collect();
        let lb_arns = unique(
            groups
                .iter()
                .flat_map(aws_sdk_elasticloadbalancingv2::types::TargetGroup::load_balancer_arns)
                .map(String::as_str),
        );

        let load_balancers = try_join_all(
            lb_arns
                .chunks(ARNS_PER_DESCRIBE)
                .map(|batch| self.describe_load_balancers(batch)),
        );
        let listeners = try_join_all(lb_arns.iter().map(|arn| self.listeners_of(arn)));
        let health = try_join_all(groups.iter().map(|tg| {
            self.target_health(tg.target_group_arn.as_deref().unwrap_or_default(), None)
        }));
        let (load_balancers, listeners, health) =
            futures_util::future::try_join3(load_balancers, listeners, health).await?;

        let mut load_balancers: BTreeMap<String, _> = load_balancers
            .into_iter()
            .flatten()
            .filter_map(|lb| Some((lb.load_balancer_arn.clone()?, lb)))
            .collect();
        let load_balancers = lb_arns
            .iter()
            .zip(listeners)
            .filter_map(|(arn, listeners)| {
                let lb = load_balancers.remove(*arn)?;
                Some(path_load_balancer(&lb, &listeners))
            })
            .collect();
        let target_groups = groups
            .iter()
            .zip(health)
            .map(|(tg, health)| path_target_group(tg, &health))
            .collect();
        Ok(PathTopology {
            load_balancers,
            target_groups,
        })
    }

    fn fail<E, R>(&self, operation: &str) -> impl Fn(SdkError<E, R>) -> BackendError + '_
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let action = format!("elasticloadbalancing:{operation}");
        move |err| classify(&err, &action, self.profile.as_deref())
    }

    async fn describe_target_groups(
        &self,
        arns: &[&str],
    ) -> BackendResult<Vec<aws_sdk_elasticloadbalancingv2::types::TargetGroup>> {
        let out = self
            .client
            .describe_target_groups()
            .set_target_group_arns(Some(arns.iter().map(ToString::to_string).collect()))
            .send()
            .await
            .map_err(self.fail("DescribeTargetGroups"))?;
        Ok(out.target_groups.unwrap_or_default())
    }

    async fn describe_load_balancers(
        &self,
        arns: &[&str],
    ) -> BackendResult<Vec<aws_sdk_elasticloadbalancingv2::types::LoadBalancer>> {
        let out = self
            .client
            .describe_load_balancers()
            .set_load_balancer_arns(Some(arns.iter().map(ToString::to_string).collect()))
            .send()
            .await
            .map_err(self.fail("DescribeLoadBalancers"))?;
        Ok(out.load_balancers.unwrap_or_default())
    }

    async fn listeners_of(
        &self,
        load_balancer_arn: &str,
    ) -> BackendResult<Vec<aws_sdk_elasticloadbalancingv2::types::Listener>> {
        let mut listeners = Vec::new();
        let mut marker = None;
        loop {
            let out = self
                .client
                .describe_listeners()
                .load_balancer_arn(load_balancer_arn)
                .set_marker(marker)
                .send()
                .await
                .map_err(self.fail("DescribeListeners"))?;
            listeners.extend(out.listeners.unwrap_or_default());
            marker = out.next_marker.filter(|m| !m.is_empty());
            if marker.is_none() {
                return Ok(listeners);
            }
        }
    }

    /// Target health of a group: of every registered target (`targets == None`), or of
    /// the named ones, registered or not.
    async fn target_health(
        &self,
        target_group_arn: &str,
        targets: Option<Vec<TargetDescription>>,
    ) -> BackendResult<Vec<TargetHealth>> {
        let out = self
            .client
            .describe_target_health()
            .target_group_arn(target_group_arn)
            .set_targets(targets)
            .send()
            .await
            .map_err(self.fail("DescribeTargetHealth"))?;
        Ok(out
            .target_health_descriptions
            .unwrap_or_default()
            .iter()
            .map(target_health)
            .collect())
    }

    async fn read_actions(&self, place: ActionPlace<'_>) -> BackendResult<Vec<Action>> {
        match place {
            ActionPlace::Listener(arn) => {
                let out = self
                    .client
                    .describe_listeners()
                    .listener_arns(arn)
                    .send()
                    .await
                    .map_err(self.fail("DescribeListeners"))?;
                out.listeners
                    .unwrap_or_default()
                    .into_iter()
                    .next()
                    .map(|l| l.default_actions.unwrap_or_default())
                    .ok_or_else(|| BackendError::NotFound(format!("listener {arn}")))
            }
            ActionPlace::Rule(arn) => {
                let out = self
                    .client
                    .describe_rules()
                    .rule_arns(arn)
                    .send()
                    .await
                    .map_err(self.fail("DescribeRules"))?;
                out.rules
                    .unwrap_or_default()
                    .into_iter()
                    .next()
                    .map(|r| r.actions.unwrap_or_default())
                    .ok_or_else(|| BackendError::NotFound(format!("rule {arn}")))
            }
        }
    }

    async fn write_actions(
        &self,
        place: ActionPlace<'_>,
        actions: Vec<Action>,
    ) -> BackendResult<()> {
        match place {
            ActionPlace::Listener(arn) => {
                self.client
                    .modify_listener()
                    .listener_arn(arn)
                    .set_default_actions(Some(actions))
                    .send()
                    .await
                    .map_err(self.fail("ModifyListener"))?;
            }
            ActionPlace::Rule(arn) => {
                self.client
                    .modify_rule()
                    .rule_arn(arn)
                    .set_actions(Some(actions))
                    .send()
                    .await
                    .map_err(self.fail("ModifyRule"))?;
            }
        }
        Ok(())
    }

    async fn read_listener_switch(
        &self,
        place: ActionPlace<'_>,
        switch: &AlbSwitch,
    ) -> BackendResult<SwitchView> {
        // The node groups are known from the configuration: ask their health together
        // with the action.
        let health = try_join_all(
            switch
                .nodes
                .values()
                .map(|group| self.target_health(group, None)),
        );
        let (actions, health) =
            futures_util::future::try_join(self.read_actions(place), health).await?;
        let forwards = forwards(forward_action(&actions, place)?);
        let members = switch
            .nodes
            .iter()
            .zip(health)
            .map(|((node, group), health)| {
                let share = forwards.iter().find(|f| &f.target_group_arn == group);
                SwitchMember {
                    node: node.clone(),
                    target: group.clone(),
                    weight: share.and_then(|f| f.weight),
                    active: share.is_some_and(WeightedTargetGroup::receives_traffic),
                    health: Some(health_summary(&health)),
                }
            })
            .collect();
        Ok(SwitchView {
            mode: SwitchMode::Listener,
            members,
        })
    }

    async fn apply_listener_switch(
        &self,
        place: ActionPlace<'_>,
        switch: &AlbSwitch,
        group: &str,
    ) -> BackendResult<()> {
        let actions = self.read_actions(place).await?;
        forward_action(&actions, place)?;
        let node_groups: Vec<&str> = switch.nodes.values().map(String::as_str).collect();
        match switched_actions(&actions, &node_groups, group) {
            Some(next) => self.write_actions(place, next).await,
            // Already there: no change to send.
            None => Ok(()),
        }
    }

    async fn read_targets_switch(
        &self,
        target_group: &str,
        switch: &AlbSwitch,
    ) -> BackendResult<SwitchView> {
        let targets = node_targets(switch)?;
        let registered = self.target_health(target_group, None).await?;
        let members = targets
            .iter()
            .map(|(node, (text, target))| {
                let found = registered.iter().find(|h| target.is(h));
                SwitchMember {
                    node: (*node).to_string(),
                    target: (*text).to_string(),
                    weight: None,
                    active: found.is_some_and(is_serving),
                    health: Some(found.map_or_else(|| NOT_REGISTERED.into(), |h| h.state.clone())),
                }
            })
            .collect();
        Ok(SwitchView {
            mode: SwitchMode::Targets,
            members,
        })
    }

    async fn apply_targets_switch(
        &self,
        target_group: &str,
        switch: &AlbSwitch,
        node: &str,
    ) -> BackendResult<()> {
        let targets = node_targets(switch)?;
        let Some((text, new)) = targets.get(node).cloned() else {
            return Err(unknown_node(switch, node));
        };
        let registered = self.target_health(target_group, None).await?;
        let new_health = registered.iter().find(|h| new.is(h)).cloned();
        // The other nodes' registrations as ELBv2 holds them (with their ports).
        let old: Vec<TargetDescription> = registered
            .iter()
            .filter(|h| is_serving(h))
            .filter(|h| {
                targets
                    .iter()
                    .any(|(name, (_, target))| *name != node && target.is(h))
            })
            .map(|h| {
                TargetDescription::builder()
                    .id(&h.id)
                    .set_port(h.port.map(i32::from))
                    .build()
            })
            .collect();
        let new_serving = new_health.as_ref().is_some_and(is_serving);
        if new_serving && old.is_empty() {
            return Ok(());
        }

        if !new_serving {
            self.client
                .register_targets()
                .target_group_arn(target_group)
                .targets(new.description())
                .send()
                .await
                .map_err(self.fail("RegisterTargets"))?;
        }
        let known_healthy =
            new_serving && new_health.as_ref().is_some_and(TargetHealth::is_healthy);
        if !known_healthy {
            let new_ref = &new;
            let probe = move || async move {
                let health = self
                    .target_health(target_group, Some(vec![new_ref.description()]))
                    .await?;
                Ok(health.into_iter().next().unwrap_or_else(|| TargetHealth {
                    id: new_ref.id.clone(),
                    port: new_ref.port,
                    state: NOT_REGISTERED.into(),
                    ..TargetHealth::default()
                }))
            };
            if let HealthOutcome::NotHealthy { last, waited } =
                wait_until_healthy(probe, self.health_wait).await?
            {
                return Err(self
                    .withdraw(target_group, &new, text, !new_serving, &last, waited)
                    .await);
            }
        }

        if old.is_empty() {
            return Ok(());
        }
        self.client
            .deregister_targets()
            .target_group_arn(target_group)
            .set_targets(Some(old))
            .send()
            .await
            .map_err(self.fail("DeregisterTargets"))?;
        Ok(())
    }

    /// After the new target failed to become healthy: deregisters it again when this
    /// switch registered it, and says what happened.
    async fn withdraw(
        &self,
        target_group: &str,
        new: &NodeTarget,
        text: &str,
        registered_here: bool,
        last: &TargetHealth,
        waited: Duration,
    ) -> BackendError {
        let why = format!(
            "{text} did not become healthy within {}s (last: {}{})",
            waited.as_secs(),
            last.state,
            last.reason
                .as_deref()
                .map(|r| format!(", {r}"))
                .unwrap_or_default()
        );
        let outcome = if registered_here {
            let withdrawn = self
                .client
                .deregister_targets()
                .target_group_arn(target_group)
                .targets(new.description())
                .send()
                .await
                .map_err(self.fail("DeregisterTargets"));
            match withdrawn {
                Ok(_) => "it was deregistered again, nothing changed".to_string(),
                Err(e) => format!("deregistering it again failed: {e}"),
            }
        } else {
            "the old target stays registered".to_string()
        };
        BackendError::Other(format!("{why}; {outcome}"))
    }
}

#[async_trait]
impl ElbApi for AwsElb {
    async fn read_switch(&self, switch: &AlbSwitch) -> BackendResult<SwitchView> {
        match wiring(switch)? {
            Wiring::Actions(place) => self.read_listener_switch(place, switch).await,
            Wiring::Targets(group) => self.read_targets_switch(group, switch).await,
        }
    }

    async fn apply_switch(&self, switch: &AlbSwitch, node: &str) -> BackendResult<()> {
        let wiring = wiring(switch)?;
        let target = switch
            .nodes
            .get(node)
            .ok_or_else(|| unknown_node(switch, node))?;
        match wiring {
            Wiring::Actions(place) => self.apply_listener_switch(place, switch, target).await,
            Wiring::Targets(group) => self.apply_targets_switch(group, switch, node).await,
        }
    }

    async fn discover_paths(&self, target_group_arns: &[String]) -> BackendResult<PathTopology> {
        self.discover(target_group_arns).await
    }
}

/// The health word of a target the group does not list.
const NOT_REGISTERED: &str = "not registered";

/// Where the actions of a listener-mode switch live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ActionPlace<'a> {
    /// A listener's default actions.
    Listener(&'a str),
    /// A rule's actions.
    Rule(&'a str),
}

/// How a configured switch is wired, checked before any request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wiring<'a> {
    /// Listener mode: the forward action at this place.
    Actions(ActionPlace<'a>),
    /// Targets mode: this target group.
    Targets(&'a str),
}

fn wiring(switch: &AlbSwitch) -> BackendResult<Wiring<'_>> {
    match switch.mode {
        SwitchMode::Listener => match (&switch.rule_arn, &switch.listener_arn) {
            (Some(rule), _) => Ok(Wiring::Actions(ActionPlace::Rule(rule))),
            (None, Some(listener)) => Ok(Wiring::Actions(ActionPlace::Listener(listener))),
            (None, None) => Err(BackendError::Other(
                "alb_switch in listener mode needs listener_arn or rule_arn".into(),
            )),
        },
        SwitchMode::Targets => switch
            .target_group_arn
            .as_deref()
            .map(Wiring::Targets)
            .ok_or_else(|| {
                BackendError::Other("alb_switch in targets mode needs target_group_arn".into())
            }),
    }
}

fn unknown_node(switch: &AlbSwitch, node: &str) -> BackendError {
    let known: Vec<&str> = switch.nodes.keys().map(String::as_str).collect();
    BackendError::NotFound(format!(
        "node `{node}` is not one of the switch's nodes ({})",
        known.join(", ")
    ))
}

/// The forward action among a listener's or rule's actions (the last one: a forward
/// ends the chain).
fn forward_action<'a>(actions: &'a [Action], place: ActionPlace<'_>) -> BackendResult<&'a Action> {
    actions
        .iter()
        .rev()
        .find(|a| a.r#type == Some(ActionTypeEnum::Forward))
        .ok_or_else(|| {
            let (what, arn) = match place {
                ActionPlace::Listener(arn) => ("listener's default action", arn),
                ActionPlace::Rule(arn) => ("rule's action", arn),
            };
            let kinds: Vec<&str> = actions
                .iter()
                .filter_map(|a| a.r#type.as_ref().map(ActionTypeEnum::as_str))
                .collect();
            BackendError::Other(format!(
                "the {what} of {arn} is not a forward ({})",
                if kinds.is_empty() {
                    "none".to_string()
                } else {
                    kinds.join(", ")
                }
            ))
        })
}

/// The single-group form: `TargetGroupArn`, possibly echoed as a one-group
/// `ForwardConfig`.
fn is_single_group(action: &Action) -> bool {
    action.target_group_arn.is_some() && groups_of(action).len() <= 1
}

fn groups_of(action: &Action) -> &[TargetGroupTuple] {
    action
        .forward_config
        .as_ref()
        .map_or(&[], |f| f.target_groups())
}

/// The target groups a forward action sends requests to, with their weights.
fn forwards(action: &Action) -> Vec<WeightedTargetGroup> {
    let weight = |t: &TargetGroupTuple| t.weight.map(|w| w.max(0) as u32);
    if is_single_group(action) {
        let arn = action.target_group_arn.clone().unwrap_or_default();
        let weight = groups_of(action).first().and_then(weight);
        return vec![WeightedTargetGroup {
            target_group_arn: arn,
            weight,
        }];
    }
    groups_of(action)
        .iter()
        .map(|t| WeightedTargetGroup {
            target_group_arn: t.target_group_arn.clone().unwrap_or_default(),
            weight: weight(t),
        })
        .collect()
}

/// The actions with the forward action pointed at `group` alone among the node groups,
/// or `None` when it already is. Everything else is kept: other actions, other groups
/// and their weights, stickiness, order.
fn switched_actions(actions: &[Action], node_groups: &[&str], group: &str) -> Option<Vec<Action>> {
    let at = actions
        .iter()
        .rposition(|a| a.r#type == Some(ActionTypeEnum::Forward))?;
    let current = forwards(&actions[at]);
    let serving = |arn: &str| {
        current
            .iter()
            .any(|f| f.target_group_arn == arn && f.receives_traffic())
    };
    if serving(group) && node_groups.iter().all(|g| *g == group || !serving(g)) {
        return None;
    }

    let mut next = actions.to_vec();
    let forward = &mut next[at];
    if is_single_group(forward) {
        forward.target_group_arn = Some(group.to_string());
        if let Some(tuple) = forward
            .forward_config
            .as_mut()
            .and_then(|f| f.target_groups.as_mut())
            .and_then(|g| g.first_mut())
        {
            tuple.target_group_arn = Some(group.to_string());
        }
    } else {
        let weight = current
            .iter()
            .filter(|f| node_groups.contains(&f.target_group_arn.as_str()))
            .filter_map(|f| f.weight)
            .max()
            .filter(|w| *w > 0)
            .unwrap_or(1) as i32;
        forward.target_group_arn = None;
        let tuples = forward
            .forward_config
            .get_or_insert_with(|| {
                aws_sdk_elasticloadbalancingv2::types::ForwardActionConfig::builder().build()
            })
            .target_groups
            .get_or_insert_with(Vec::new);
        for tuple in tuples.iter_mut() {
            let arn = tuple.target_group_arn.as_deref().unwrap_or_default();
            if arn == group {
                tuple.weight = Some(weight);
            } else if node_groups.contains(&arn) {
                tuple.weight = Some(0);
            }
        }
        if !tuples
            .iter()
            .any(|t| t.target_group_arn.as_deref() == Some(group))
        {
            tuples.push(
                TargetGroupTuple::builder()
                    .target_group_arn(group)
                    .weight(weight)
                    .build(),
            );
        }
    }
    // ELBv2 never returns an OIDC client secret; ask it to keep the one it has.
    for action in &mut next {
        if let Some(oidc) = action.authenticate_oidc_config.as_mut() {
            oidc.client_secret = None;
            oidc.use_existing_client_secret = Some(true);
        }
    }
    Some(next)
}

/// A node of a targets-mode switch: `IP:PORT`, `i-...:PORT`, or an ID alone (any port).
#[derive(Debug, Clone, PartialEq, Eq)]
struct NodeTarget {
    id: String,
    port: Option<u16>,
}

impl NodeTarget {
    fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (id, port) = match text.rsplit_once(':') {
            Some((id, port)) if !id.contains(':') || id.ends_with(']') => {
                (id, Some(port.parse::<u16>().ok()?))
            }
            _ => (text, None),
        };
        let id = id.trim_start_matches('[').trim_end_matches(']');
        (!id.is_empty()).then(|| Self {
            id: id.to_string(),
            port,
        })
    }

    /// Whether a health report is about this target.
    fn is(&self, health: &TargetHealth) -> bool {
        health.id == self.id && (self.port.is_none() || self.port == health.port)
    }

    fn description(&self) -> TargetDescription {
        TargetDescription::builder()
            .id(&self.id)
            .set_port(self.port.map(i32::from))
            .build()
    }
}

/// Every node's target, parsed: node → (as configured, parsed).
fn node_targets(switch: &AlbSwitch) -> BackendResult<BTreeMap<&str, (&str, NodeTarget)>> {
    switch
        .nodes
        .iter()
        .map(|(node, text)| {
            NodeTarget::parse(text)
                .map(|t| (node.as_str(), (text.as_str(), t)))
                .ok_or_else(|| {
                    BackendError::Other(format!(
                        "alb_switch node `{node}`: `{text}` is not IP:PORT or i-...:PORT"
                    ))
                })
        })
        .collect()
}

/// Whether a registered target takes new requests (a draining one does not).
fn is_serving(health: &TargetHealth) -> bool {
    health.state != "draining" && health.state != NOT_REGISTERED
}

/// How waiting for a target's health ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HealthOutcome {
    /// The load balancer judged it healthy.
    Healthy,
    /// It was not healthy in time, or can never be (not in use by any load balancer,
    /// health checks disabled).
    NotHealthy {
        /// The last report.
        last: TargetHealth,
        /// How long we waited.
        waited: Duration,
    },
}

/// Asks `probe` at once and then every `wait.interval` until the target is healthy, for
/// at most `wait.limit`. Waits on tokio's clock (tests pause it).
async fn wait_until_healthy<F, Fut>(mut probe: F, wait: HealthWait) -> BackendResult<HealthOutcome>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = BackendResult<TargetHealth>>,
{
    let start = tokio::time::Instant::now();
    loop {
        let health = probe().await?;
        if health.is_healthy() {
            return Ok(HealthOutcome::Healthy);
        }
        let hopeless = match health.state.as_str() {
            "unused" => health.reason.as_deref() != Some("Target.NotRegistered"),
            "unavailable" => health.reason.as_deref() == Some("Target.HealthCheckDisabled"),
            _ => false,
        };
        let waited = start.elapsed();
        if hopeless || waited + wait.interval > wait.limit {
            return Ok(HealthOutcome::NotHealthy {
                last: health,
                waited,
            });
        }
        tokio::time::sleep(wait.interval).await;
    }
}

/// The distinct strings, in the order first met.
fn unique<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

fn port(port: Option<i32>) -> Option<u16> {
    port.and_then(|p| u16::try_from(p).ok())
}

fn target_health(description: &TargetHealthDescription) -> TargetHealth {
    let target = description.target.as_ref();
    let health = description.target_health.as_ref();
    TargetHealth {
        id: target.and_then(|t| t.id.clone()).unwrap_or_default(),
        port: port(target.and_then(|t| t.port)),
        state: health
            .and_then(|h| h.state.as_ref())
            .map_or("unknown", |s| s.as_str())
            .to_string(),
        reason: health
            .and_then(|h| h.reason.as_ref())
            .map(|r| r.as_str().to_string()),
        description: health.and_then(|h| h.description.clone()),
    }
}

fn path_target_group(
    tg: &aws_sdk_elasticloadbalancingv2::types::TargetGroup,
    targets: &[TargetHealth],
) -> PathTargetGroup {
    PathTargetGroup {
        arn: tg.target_group_arn.clone().unwrap_or_default(),
        name: tg.target_group_name.clone().unwrap_or_default(),
        port: port(tg.port),
        protocol: tg.protocol.as_ref().map(|p| p.as_str().to_string()),
        target_type: tg.target_type.as_ref().map(|t| t.as_str().to_string()),
        load_balancer_arns: unique(tg.load_balancer_arns().iter().map(String::as_str))
            .into_iter()
            .map(str::to_string)
            .collect(),
        targets: targets.to_vec(),
    }
}

fn path_load_balancer(
    lb: &aws_sdk_elasticloadbalancingv2::types::LoadBalancer,
    listeners: &[aws_sdk_elasticloadbalancingv2::types::Listener],
) -> PathLoadBalancer {
    let mut listeners: Vec<PathListener> = listeners
        .iter()
        .map(|l| PathListener {
            arn: l.listener_arn.clone().unwrap_or_default(),
            port: port(l.port),
            protocol: l.protocol.as_ref().map(|p| p.as_str().to_string()),
            forwards_to: l
                .default_actions()
                .iter()
                .rev()
                .find(|a| a.r#type == Some(ActionTypeEnum::Forward))
                .map(forwards)
                .unwrap_or_default(),
        })
        .collect();
    listeners.sort_by_key(|l| l.port);
    PathLoadBalancer {
        arn: lb.load_balancer_arn.clone().unwrap_or_default(),
        name: lb.load_balancer_name.clone().unwrap_or_default(),
        scheme: match lb.scheme {
            Some(LoadBalancerSchemeEnum::InternetFacing) => LoadBalancerScheme::InternetFacing,
            Some(LoadBalancerSchemeEnum::Internal) => LoadBalancerScheme::Internal,
            _ => LoadBalancerScheme::Unknown,
        },
        kind: lb
            .r#type
            .as_ref()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        dns_name: lb.dns_name.clone(),
        state: lb
            .state
            .as_ref()
            .and_then(|s| s.code.as_ref())
            .map(|c| c.as_str().to_string()),
        listeners,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use aws_sdk_elasticloadbalancingv2::types::{
        AuthenticateOidcActionConfig, ForwardActionConfig, TargetGroupStickinessConfig,
    };

    use super::*;

    const A: &str = "arn:tg/quorum-a";
    const B: &str = "arn:tg/quorum-b";
    const OTHER: &str = "arn:tg/canary";

    fn weighted(groups: &[(&str, i32)], sticky: bool) -> Action {
        Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .forward_config(
                ForwardActionConfig::builder()
                    .set_target_groups(Some(
                        groups
                            .iter()
                            .map(|(arn, w)| {
                                TargetGroupTuple::builder()
                                    .target_group_arn(*arn)
                                    .weight(*w)
                                    .build()
                            })
                            .collect(),
                    ))
                    .target_group_stickiness_config(
                        TargetGroupStickinessConfig::builder()
                            .enabled(sticky)
                            .duration_seconds(600)
                            .build(),
                    )
                    .build(),
            )
            .build()
    }

    fn weights(action: &Action) -> Vec<(String, Option<u32>)> {
        forwards(action)
            .into_iter()
            .map(|f| (f.target_group_arn, f.weight))
            .collect()
    }

    #[test]
    fn weights_flip_and_the_rest_of_the_action_stays() {
        let before = weighted(&[(A, 100), (B, 0), (OTHER, 5)], true);
        let after = switched_actions(std::slice::from_ref(&before), &[A, B], B).expect("a change");
        assert_eq!(after.len(), 1);
        assert_eq!(
            weights(&after[0]),
            vec![
                (A.into(), Some(0)),
                (B.into(), Some(100)),
                (OTHER.into(), Some(5))
            ]
        );
        assert_eq!(
            after[0]
                .forward_config
                .as_ref()
                .and_then(|f| f.target_group_stickiness_config.clone()),
            before
                .forward_config
                .as_ref()
                .and_then(|f| f.target_group_stickiness_config.clone()),
        );
    }

    #[test]
    fn the_active_node_needs_no_change_but_a_split_does() {
        assert_eq!(
            switched_actions(&[weighted(&[(A, 1), (B, 0)], false)], &[A, B], A),
            None
        );
        let split = switched_actions(&[weighted(&[(A, 1), (B, 1)], false)], &[A, B], A)
            .expect("the split is closed");
        assert_eq!(
            weights(&split[0]),
            vec![(A.into(), Some(1)), (B.into(), Some(0))]
        );
    }

    #[test]
    fn a_missing_node_group_is_added_with_weight_one_when_nothing_is_active() {
        let after = switched_actions(&[weighted(&[(A, 0)], false)], &[A, B], B).expect("a change");
        assert_eq!(
            weights(&after[0]),
            vec![(A.into(), Some(0)), (B.into(), Some(1))]
        );
    }

    #[test]
    fn the_single_group_form_switches_by_replacing_the_group() {
        let plain = Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn(A)
            .build();
        assert_eq!(weights(&plain), vec![(A.into(), None)]);
        let after = switched_actions(&[plain], &[A, B], B).expect("a change");
        assert_eq!(after[0].target_group_arn.as_deref(), Some(B));
        assert!(after[0].forward_config.is_none());

        // ELBv2 echoes a single group as a one-group ForwardConfig too.
        let mut echoed = weighted(&[(A, 1)], true);
        echoed.target_group_arn = Some(A.into());
        let after = switched_actions(&[echoed], &[A, B], B).expect("a change");
        assert_eq!(after[0].target_group_arn.as_deref(), Some(B));
        assert_eq!(weights(&after[0]), vec![(B.into(), Some(1))]);
    }

    #[test]
    fn authentication_before_the_forward_keeps_its_secret() {
        let oidc = Action::builder()
            .r#type(ActionTypeEnum::AuthenticateOidc)
            .order(1)
            .authenticate_oidc_config(
                AuthenticateOidcActionConfig::builder()
                    .issuer("https://idp.example")
                    .client_id("console")
                    .build(),
            )
            .build();
        let mut forward = weighted(&[(A, 1), (B, 0)], false);
        forward.order = Some(2);
        let after = switched_actions(&[oidc, forward], &[A, B], B).expect("a change");
        assert_eq!(after[0].r#type, Some(ActionTypeEnum::AuthenticateOidc));
        assert_eq!(
            after[0]
                .authenticate_oidc_config
                .as_ref()
                .and_then(|c| c.use_existing_client_secret),
            Some(true)
        );
        assert_eq!(after[1].order, Some(2));
        assert_eq!(
            weights(&after[1]),
            vec![(A.into(), Some(0)), (B.into(), Some(1))]
        );
    }

    #[test]
    fn an_action_that_is_no_forward_is_named_in_the_error() {
        let fixed = Action::builder()
            .r#type(ActionTypeEnum::FixedResponse)
            .build();
        let err = forward_action(&[fixed], ActionPlace::Listener("arn:listener/x"))
            .expect_err("no forward");
        assert_eq!(
            err,
            BackendError::Other(
                "the listener's default action of arn:listener/x is not a forward (fixed-response)"
                    .into()
            )
        );
    }

    #[test]
    fn node_targets_parse_with_and_without_port() {
        let parsed = |s| NodeTarget::parse(s).map(|t| (t.id, t.port));
        assert_eq!(
            parsed("10.0.1.10:8443"),
            Some(("10.0.1.10".into(), Some(8443)))
        );
        assert_eq!(
            parsed("i-0123456789abcdef0:8545"),
            Some(("i-0123456789abcdef0".into(), Some(8545)))
        );
        assert_eq!(parsed("10.0.1.10"), Some(("10.0.1.10".into(), None)));
        assert_eq!(
            parsed("[fd00::10]:8443"),
            Some(("fd00::10".into(), Some(8443)))
        );
        assert_eq!(parsed("10.0.1.10:http"), None);
        assert_eq!(parsed(""), None);
    }

    #[test]
    fn a_switch_without_its_arns_is_refused() {
        let switch = AlbSwitch {
            mode: SwitchMode::Targets,
            listener_arn: Some("arn:listener/x".into()),
            rule_arn: None,
            target_group_arn: None,
            nodes: BTreeMap::new(),
            max_lag_blocks: 0,
            max_head_age_secs: 15,
            consecutive_polls: 3,
            min_peers: 1,
        };
        assert!(matches!(wiring(&switch), Err(BackendError::Other(_))));
        let listener = AlbSwitch {
            mode: SwitchMode::Listener,
            rule_arn: Some("arn:rule/y".into()),
            ..switch
        };
        assert_eq!(
            wiring(&listener),
            Ok(Wiring::Actions(ActionPlace::Rule("arn:rule/y")))
        );
    }

    fn health(state: &str, reason: Option<&str>) -> TargetHealth {
        TargetHealth {
            id: "10.0.2.10".into(),
            port: Some(8443),
            state: state.into(),
            reason: reason.map(str::to_string),
            description: None,
        }
    }

    /// A probe answering `states` in turn (the last one forever), counting its calls.
    fn scripted(
        states: Vec<TargetHealth>,
    ) -> (
        impl FnMut() -> std::future::Ready<BackendResult<TargetHealth>>,
        std::sync::Arc<Mutex<usize>>,
    ) {
        let calls = std::sync::Arc::new(Mutex::new(0));
        let counter = calls.clone();
        let probe = move || {
            let mut n = counter.lock().expect("lock");
            let answer = states[(*n).min(states.len() - 1)].clone();
            *n += 1;
            std::future::ready(Ok(answer))
        };
        (probe, calls)
    }

    const WAIT: HealthWait = HealthWait {
        interval: Duration::from_secs(5),
        limit: Duration::from_secs(60),
    };

    #[tokio::test(start_paused = true)]
    async fn waiting_ends_when_the_target_turns_healthy() {
        let (probe, calls) = scripted(vec![
            health("initial", Some("Elb.RegistrationInProgress")),
            health("initial", Some("Elb.InitialHealthChecking")),
            health("healthy", None),
        ]);
        let start = tokio::time::Instant::now();
        assert_eq!(
            wait_until_healthy(probe, WAIT).await,
            Ok(HealthOutcome::Healthy)
        );
        assert_eq!(*calls.lock().expect("lock"), 3);
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_is_bounded() {
        let (probe, calls) = scripted(vec![health(
            "unhealthy",
            Some("Target.ResponseCodeMismatch"),
        )]);
        let outcome = wait_until_healthy(probe, WAIT).await.expect("no error");
        let HealthOutcome::NotHealthy { last, waited } = outcome else {
            panic!("expected a timeout, got {outcome:?}");
        };
        assert_eq!(last.reason.as_deref(), Some("Target.ResponseCodeMismatch"));
        assert_eq!(waited, Duration::from_secs(60));
        assert_eq!(*calls.lock().expect("lock"), 13);
    }

    #[tokio::test(start_paused = true)]
    async fn a_target_that_can_never_be_healthy_ends_the_wait_at_once() {
        let (probe, calls) = scripted(vec![health("unused", Some("Target.NotInUse"))]);
        assert!(matches!(
            wait_until_healthy(probe, WAIT).await,
            Ok(HealthOutcome::NotHealthy { .. })
        ));
        assert_eq!(*calls.lock().expect("lock"), 1);
    }

    #[test]
    fn unique_keeps_the_first_order() {
        assert_eq!(unique(["b", "a", "b", "c", "a"]), vec!["b", "a", "c"]);
    }
}
