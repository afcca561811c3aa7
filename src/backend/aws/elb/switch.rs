//! The internal-ALB switch between the Quorum general nodes: which node is active, and
//! pointing the ALB at another. A switch is wired in one of two ways (`alb_switch.mode`
//! in the configuration):
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
//! The request costs are in the parent module's documentation. Whether a switch is wise
//! is the sync gate's call, not this module's.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, TargetDescription, TargetGroupTuple,
};
use futures_util::future::try_join_all;

use super::{AwsElb, forwards, is_single_group};
use crate::backend::{BackendError, BackendResult};
use crate::config::AlbSwitch;
use crate::model::alb::{
    SwitchMember, SwitchMode, SwitchView, TargetHealth, WeightedTargetGroup, health_summary,
};

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

impl AwsElb {
    /// [`ElbApi::read_switch`](crate::backend::ElbApi::read_switch).
    pub(super) async fn switch_view(&self, switch: &AlbSwitch) -> BackendResult<SwitchView> {
        match wiring(switch)? {
            Wiring::Actions(place) => self.read_listener_switch(place, switch).await,
            Wiring::Targets(group) => self.read_targets_switch(group, switch).await,
        }
    }

    /// [`ElbApi::apply_switch`](crate::backend::ElbApi::apply_switch).
    pub(super) async fn switch_to(&self, switch: &AlbSwitch, node: &str) -> BackendResult<()> {
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
    /// health checks disabled); `last` is the last report.
    NotHealthy {
        last: TargetHealth,
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
}
