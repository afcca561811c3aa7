//! The ALB switch op: point a cluster's internal ALB at the other Quorum general node.
//!
//! Planning reads what the ALB does now (`ElbApi::read_switch`), names the node it
//! forwards to (A) and the candidate (B), previews the exact change (listener weights, or
//! target registrations), and polls the sync gate once ([`super::gate`]); the plan keeps
//! counting as more polls are recorded. Verification reads the switch back and expects B
//! to be the one active node. [`wait_for_gate`] is the command line's way to wait for the
//! gate; the TUI records polls from its own poller instead. Nothing here calls
//! `apply_switch`: only the executor does.

use std::time::Duration;

use super::gate::{self, GatePair, GateThresholds, GateTracker};
use super::{Check, Mutation, OpContext, Plan, Verification};
use crate::backend::ElbApi;
use crate::config::{AlbSwitch, Cluster, QuorumNode, closest};
use crate::model::alb::{SwitchMode, SwitchView};

/// Check name: the switch is configured and names the target node.
pub const CHECK_SWITCH: &str = "switch";
/// Check name: what the ALB does now.
pub const CHECK_ALB: &str = "alb";

/// The weight a listener gives the node it forwards to, when nothing else says.
const FULL_WEIGHT: u32 = 100;

/// Plans `SwitchAlb { to }` in `cluster` into `plan`; `prior` is an earlier gate for
/// the same pair of nodes to keep counting (the executor's last look).
pub(crate) async fn plan_switch(
    plan: &mut Plan,
    cluster: &Cluster,
    to: &str,
    ctx: &OpContext,
    prior: Option<&GateTracker>,
) {
    let Some(switch) = &cluster.alb_switch else {
        plan.check(Check::fail(CHECK_SWITCH, "not configured").detail(format!(
            "cluster `{}` has no alb_switch table",
            cluster.name
        )));
        return;
    };
    let Some(candidate) = configured_node(plan, cluster, switch, to) else {
        return;
    };
    let view = match ctx.backends.elb.read_switch(switch).await {
        Ok(view) => view,
        Err(e) => {
            let mut check = Check::fail(CHECK_ALB, "not read").detail(e.to_string());
            if let Some(hint) = e.hint() {
                check.value = format!("not read ({hint})");
            }
            plan.check(check);
            return;
        }
    };
    let active: Vec<&str> = view.active_nodes();
    if active == [to] {
        plan.check(
            Check::fail(CHECK_ALB, format!("forwards to {to}")).detail(format!(
                "{to} is already the active node: nothing to switch"
            )),
        );
        return;
    }
    // A: the node served now (the first one when several are); with none active, the
    // other configured node is what B is compared with.
    let reference = active
        .iter()
        .copied()
        .find(|n| *n != to)
        .or_else(|| switch.nodes.keys().map(String::as_str).find(|n| *n != to));
    let Some(reference) = reference else {
        plan.check(
            Check::fail(CHECK_SWITCH, "one node")
                .detail("the switch has no other node to compare the candidate with"),
        );
        return;
    };
    let Some(active_node) = cluster.quorum_nodes.iter().find(|n| n.name == reference) else {
        plan.check(
            Check::fail(CHECK_SWITCH, format!("{reference} unknown")).detail(format!(
                "`{reference}` is in alb_switch.nodes but not in quorum_nodes"
            )),
        );
        return;
    };
    plan.check(Check::pass(
        CHECK_ALB,
        match active.as_slice() {
            [] => "forwards to no node".to_string(),
            nodes => format!("forwards to {}", nodes.join(", ")),
        },
    ));
    match active.len() {
        0 => plan.warn(format!(
            "the internal ALB forwards to no general node now; {to} is compared with {reference}"
        )),
        1 => {}
        _ => plan.warn(format!(
            "the internal ALB forwards to {} now; after the switch only to {to}",
            active.join(", ")
        )),
    }
    for line in change_lines(switch, &view, to) {
        plan.change(line);
    }

    let pair = GatePair {
        active: active_node.clone(),
        candidate: candidate.clone(),
        thresholds: GateThresholds::from_switch(switch),
    };
    let mut tracker = match prior {
        Some(prior) if prior.pair() == &pair => prior.clone(),
        _ => GateTracker::new(pair.clone()),
    };
    tracker.record(gate::poll(ctx.backends.rpc.as_ref(), &pair, ctx.clock.as_ref()).await);
    plan.gate = Some(tracker);
    plan.set_action(
        Mutation::Switch {
            switch: switch.clone(),
            node: to.to_string(),
        },
        Verification::SwitchActive {
            switch: switch.clone(),
            node: to.to_string(),
        },
    );
}

/// The candidate's node configuration, or a failed check saying what is missing.
fn configured_node<'a>(
    plan: &mut Plan,
    cluster: &'a Cluster,
    switch: &AlbSwitch,
    to: &str,
) -> Option<&'a QuorumNode> {
    if !switch.nodes.contains_key(to) {
        let names: Vec<&str> = switch.nodes.keys().map(String::as_str).collect();
        let hint = closest(to, &names).map_or_else(
            || format!("the switch's nodes are {}", names.join(", ")),
            |near| format!("did you mean `{near}`?"),
        );
        plan.check(
            Check::fail(CHECK_SWITCH, format!("{to} unknown"))
                .detail(format!("`{to}` is not one of the switch's nodes; {hint}")),
        );
        return None;
    }
    let node = cluster.quorum_nodes.iter().find(|n| n.name == to);
    if node.is_none() {
        plan.check(
            Check::fail(CHECK_SWITCH, format!("{to} unknown")).detail(format!(
                "`{to}` is in alb_switch.nodes but not in quorum_nodes"
            )),
        );
    }
    node
}

/// One line per ELBv2 object that changes, e.g.
/// `listener/app/int/1/2: forward weight general-1 100 → 0, general-2 0 → 100`.
pub fn change_lines(switch: &AlbSwitch, view: &SwitchView, to: &str) -> Vec<String> {
    match switch.mode {
        SwitchMode::Listener => {
            let object = switch
                .rule_arn
                .as_deref()
                .or(switch.listener_arn.as_deref())
                .map_or_else(|| "listener".to_string(), |arn| resource(arn).to_string());
            let full = view
                .members
                .iter()
                .filter(|m| m.active)
                .filter_map(|m| m.weight)
                .find(|w| *w > 0)
                .unwrap_or(FULL_WEIGHT);
            let weights: Vec<String> = view
                .members
                .iter()
                .filter_map(|m| {
                    let new = if m.node == to { full } else { 0 };
                    let old = m.weight.unwrap_or(0);
                    (old != new).then(|| format!("{} {old} → {new}", m.node))
                })
                .collect();
            vec![format!("{object}: forward weight {}", weights.join(", "))]
        }
        SwitchMode::Targets => {
            let object = switch.target_group_arn.as_deref().map_or_else(
                || "target group".to_string(),
                |arn| resource(arn).to_string(),
            );
            let mut parts = Vec::new();
            if let Some(target) = switch.nodes.get(to)
                && !view.members.iter().any(|m| m.node == to && m.active)
            {
                parts.push(format!("register {to} ({target})"));
            }
            for m in view.members.iter().filter(|m| m.active && m.node != to) {
                parts.push(format!("deregister {} ({})", m.node, m.target));
            }
            vec![format!("{object}: {}", parts.join(", "))]
        }
    }
}

/// The resource part of an ARN: `listener/app/int/1/2` of `arn:aws:...:listener/app/int/1/2`.
fn resource(arn: &str) -> &str {
    arn.rsplit_once(':').map_or(arn, |(_, r)| r)
}

/// Reads the switch back: `node` must be the one active node.
pub(crate) async fn verify_active(
    elb: &dyn ElbApi,
    switch: &AlbSwitch,
    node: &str,
) -> Result<String, String> {
    match elb.read_switch(switch).await {
        Ok(view) if view.active() == Some(node) => Ok(format!("the ALB forwards to {node}")),
        Ok(view) => {
            let active = view.active_nodes();
            Err(format!(
                "read back: the ALB forwards to {}, not only to {node}",
                if active.is_empty() {
                    "no node".to_string()
                } else {
                    active.join(", ")
                }
            ))
        }
        Err(e) => Err(format!("read back failed: {e}")),
    }
}

/// Polls the plan's gate every `interval` until it opens or `timeout` passes on the
/// context's clock; `on_poll` sees the gate after each poll (to print progress). Returns
/// whether the gate is open. A plan without a gate returns false at once.
///
/// For the command line: the TUI records the polls of its own poller with
/// [`Plan::record_gate`] instead.
pub async fn wait_for_gate(
    plan: &mut Plan,
    ctx: &OpContext,
    interval: Duration,
    timeout: Duration,
    mut on_poll: impl FnMut(&GateTracker),
) -> bool {
    let Some(pair) = plan.gate_pair() else {
        return false;
    };
    let deadline = ctx
        .clock
        .now_ms()
        .saturating_add(i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX));
    loop {
        if plan.gate.as_ref().is_some_and(GateTracker::is_open) {
            return true;
        }
        if ctx.clock.now_ms() >= deadline {
            return false;
        }
        tokio::time::sleep(interval).await;
        let poll = gate::poll(ctx.backends.rpc.as_ref(), &pair, ctx.clock.as_ref()).await;
        plan.record_gate(poll);
        if let Some(gate) = &plan.gate {
            on_poll(gate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alb::SwitchMember;

    fn switch(mode: SwitchMode) -> AlbSwitch {
        AlbSwitch {
            mode,
            listener_arn: Some(
                "arn:aws:elasticloadbalancing:ap-northeast-1:1:listener/app/int/1/2".into(),
            ),
            rule_arn: None,
            target_group_arn: Some(
                "arn:aws:elasticloadbalancing:ap-northeast-1:1:targetgroup/quorum/3".into(),
            ),
            nodes: [
                ("general-1".to_string(), "10.1.2.3:8545".to_string()),
                ("general-2".to_string(), "10.1.2.4:8545".to_string()),
            ]
            .into(),
            max_lag_blocks: 0,
            max_head_age_secs: 15,
            consecutive_polls: 3,
            min_peers: 1,
        }
    }

    fn member(node: &str, target: &str, weight: Option<u32>, active: bool) -> SwitchMember {
        SwitchMember {
            node: node.into(),
            target: target.into(),
            weight,
            active,
            health: None,
        }
    }

    #[test]
    fn listener_changes_name_the_weights() {
        let view = SwitchView {
            mode: SwitchMode::Listener,
            members: vec![
                member("general-1", "tg-a", Some(100), true),
                member("general-2", "tg-b", Some(0), false),
            ],
        };
        assert_eq!(
            change_lines(&switch(SwitchMode::Listener), &view, "general-2"),
            ["listener/app/int/1/2: forward weight general-1 100 → 0, general-2 0 → 100"]
        );
    }

    #[test]
    fn target_changes_name_registrations() {
        let view = SwitchView {
            mode: SwitchMode::Targets,
            members: vec![
                member("general-1", "10.1.2.3:8545", None, true),
                member("general-2", "10.1.2.4:8545", None, false),
            ],
        };
        assert_eq!(
            change_lines(&switch(SwitchMode::Targets), &view, "general-2"),
            [
                "targetgroup/quorum/3: register general-2 (10.1.2.4:8545), deregister general-1 (10.1.2.3:8545)"
            ]
        );
    }
}
