//! Guards: the topology rules an op must not break, as pure functions.
//!
//! - A read-only environment refuses every op unless the session has `--write`.
//! - A validator is never stopped or restarted while another validator of its chain is
//!   down or not producing: IBFT/QBFT with n validators tolerates f = ⌊(n−1)/3⌋ faults,
//!   one with 4 validators.
//! - Restarting the general node the internal ALB forwards to warns, and suggests
//!   switching the ALB to the other node first.
//! - A service in the middle of a deployment warns.
//!
//! ECS services map to Quorum nodes through `QuorumNode::service` in the configuration.
//! Nothing here calls a backend; the planners in [`super::restart`] gather the inputs.

use super::{Check, Op};
use crate::clock::{EpochMs, short_age};
use crate::config::{Cluster, Environment, QuorumNode};
use crate::model::ecs::{Rollout, Service};
use crate::model::quorum::{NodeRole, NodeSample, NodeState, Probe};

/// Check name: the environment may be changed in this session.
pub const CHECK_WRITE_ACCESS: &str = "write_access";
/// Check name: the validators left can still produce blocks.
pub const CHECK_VALIDATOR_QUORUM: &str = "validator_quorum";

/// A validator whose head is older than this is not producing.
pub const STALLED_AFTER_MS: i64 = 15_000;

/// Whether the session may change `environment`: refused for a read-only environment
/// without `--write` (`write`). Never overridable.
pub fn write_access(environment: &Environment, write: bool) -> Check {
    match (environment.is_read_only(), write) {
        (false, _) => Check::pass(CHECK_WRITE_ACCESS, "writable"),
        (true, true) => Check::pass(CHECK_WRITE_ACCESS, "read-only, unlocked by --write"),
        (true, false) => Check::fail(CHECK_WRITE_ACCESS, "read-only").detail(format!(
            "`{}` is read-only; start the console with --write to change it",
            environment.name
        )),
    }
}

/// The Quorum nodes the ECS service `service` runs.
pub fn nodes_of_service<'a>(cluster: &'a Cluster, service: &str) -> Vec<&'a QuorumNode> {
    cluster
        .quorum_nodes
        .iter()
        .filter(|n| n.service.as_deref() == Some(service))
        .collect()
}

/// Judges a node from one sample: down when it does not answer, lagging while it
/// syncs, stalled when its head is older than [`STALLED_AFTER_MS`], synced otherwise;
/// unknown without a head.
pub fn judge_sample(sample: &NodeSample, now: EpochMs) -> NodeState {
    if !sample.reachable {
        return NodeState::Down;
    }
    if matches!(sample.syncing, Probe::Value(Some(_))) {
        return NodeState::Lagging;
    }
    match sample.block_time {
        Some(t) if now - t > STALLED_AFTER_MS => NodeState::Stalled,
        Some(_) => NodeState::Synced,
        None => NodeState::Unknown,
    }
}

/// How many faulty validators a chain of `n` tolerates: ⌊(n−1)/3⌋.
pub fn fault_tolerance(n: usize) -> usize {
    n.saturating_sub(1) / 3
}

/// One validator and its judged state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorStatus {
    /// Node name.
    pub name: String,
    /// Judged state; only `Synced` counts as producing.
    pub state: NodeState,
}

/// Whether stopping the validators `targets` keeps the chain producing.
///
/// `validators` are the configured validators of the chain with their states;
/// `chain_size` is the number of validators the chain has (at least
/// `validators.len()`; more when the chain reports validators not in the config).
/// Refused when a target is producing and another validator is down or not producing,
/// or when the producing targets and the faulty others together exceed the tolerance.
/// Stopping only validators that are already faulty takes nothing away and passes.
/// Never overridable.
pub fn validator_quorum(
    targets: &[&str],
    validators: &[ValidatorStatus],
    chain_size: usize,
) -> Check {
    let n = chain_size.max(validators.len());
    let f = fault_tolerance(n);
    let producing = |v: &ValidatorStatus| v.state == NodeState::Synced;
    let up = validators.iter().filter(|v| producing(v)).count();
    let value = format!("{up}/{n} producing, tolerates {f}");
    let is_target = |v: &ValidatorStatus| targets.contains(&v.name.as_str());
    let working_targets: Vec<&ValidatorStatus> = validators
        .iter()
        .filter(|v| is_target(v) && producing(v))
        .collect();
    let faulty_others: Vec<&ValidatorStatus> = validators
        .iter()
        .filter(|v| !is_target(v) && !producing(v))
        .collect();
    if working_targets.is_empty() {
        return Check::pass(CHECK_VALIDATOR_QUORUM, value)
            .detail("the target is already not producing; restarting it takes nothing away");
    }
    let out_after = working_targets.len() + faulty_others.len();
    if faulty_others.is_empty() && out_after <= f {
        return Check::pass(CHECK_VALIDATOR_QUORUM, value);
    }
    let others = if faulty_others.is_empty() {
        "no other validator is out".to_string()
    } else {
        faulty_others
            .iter()
            .map(|v| format!("{} is {}", v.name, v.state.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Check::fail(CHECK_VALIDATOR_QUORUM, value).detail(format!(
        "{others}: stopping {} too leaves {out_after} of {n} out, and {n} validators \
         tolerate {f}; the chain would stop producing blocks",
        working_targets
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    ))
}

/// The warning for restarting the general node the internal ALB forwards to, and the
/// switch to suggest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveNodeWarning {
    /// What to tell the operator.
    pub warning: String,
    /// Switch the ALB here first (none when no other node is configured or every
    /// other node is restarted too).
    pub switch_first: Option<Op>,
}

/// Warns when `targets` (the nodes an op restarts) include the general node the ALB of
/// `cluster` forwards to (`active`).
pub fn active_general_node(
    env: &str,
    cluster: &Cluster,
    targets: &[&QuorumNode],
    active: &str,
) -> Option<ActiveNodeWarning> {
    let switch = cluster.alb_switch.as_ref()?;
    let hit = targets
        .iter()
        .find(|n| n.role == NodeRole::General && n.name == active)?;
    let other = switch
        .nodes
        .keys()
        .find(|name| name.as_str() != active && !targets.iter().any(|t| &t.name == *name));
    Some(match other {
        Some(other) => ActiveNodeWarning {
            warning: format!(
                "the internal ALB forwards to {}: restarting it interrupts RPC for the \
                 services behind the ALB; switch the ALB to {other} first",
                hit.name
            ),
            switch_first: Some(Op::SwitchAlb {
                env: env.to_string(),
                cluster: cluster.name.clone(),
                to: other.clone(),
            }),
        },
        None => ActiveNodeWarning {
            warning: format!(
                "the internal ALB forwards to {}, and no other general node is left to \
                 switch to: RPC behind the ALB is down until it is back",
                hit.name
            ),
            switch_first: None,
        },
    })
}

/// Warns when `service` is in the middle of a deployment (or its last one failed).
pub fn deployment_in_progress(service: &Service, now: EpochMs) -> Option<String> {
    let rollout = service.rollout();
    if !matches!(rollout, Rollout::InProgress | Rollout::Failed) {
        return None;
    }
    let since = service
        .deployments
        .first()
        .and_then(|d| d.created_at)
        .map(|t| format!(", started {} ago", short_age(now - t)))
        .unwrap_or_default();
    Some(match rollout {
        Rollout::Failed => format!(
            "the last deployment of {} failed ({} deployments{since})",
            service.name,
            service.deployments.len()
        ),
        _ => format!(
            "{} is in the middle of a deployment ({} deployments, rollout in progress{since}); \
             another change now mixes with it",
            service.name,
            service.deployments.len()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AlbSwitch;
    use crate::model::alb::SwitchMode;
    use crate::model::ecs::Deployment;

    fn env(danger: bool, read_only: Option<bool>) -> Environment {
        Environment {
            name: "production".into(),
            region: "ap-northeast-1".into(),
            aws_profile: None,
            endpoint_url: None,
            danger,
            read_only,
            redact: false,
            team: crate::config::Team::default(),
            alarm_prefix: None,
            clusters: Vec::new(),
        }
    }

    #[test]
    fn read_only_environments_need_write() {
        assert!(write_access(&env(false, None), false).passed);
        let refused = write_access(&env(true, None), false);
        assert!(!refused.passed && !refused.overridable);
        assert!(refused.detail.expect("detail").contains("--write"));
        assert!(write_access(&env(true, None), true).passed);
        assert!(!write_access(&env(false, Some(true)), false).passed);
        assert!(write_access(&env(true, Some(false)), false).passed);
    }

    fn validators(states: &[NodeState]) -> Vec<ValidatorStatus> {
        states
            .iter()
            .enumerate()
            .map(|(i, s)| ValidatorStatus {
                name: format!("validator-{}", i + 1),
                state: *s,
            })
            .collect()
    }

    #[test]
    fn fault_tolerance_follows_bft() {
        assert_eq!(
            [1, 2, 3, 4, 5, 6, 7, 10].map(fault_tolerance),
            [0, 0, 0, 1, 1, 1, 2, 3]
        );
        assert_eq!(fault_tolerance(0), 0);
    }

    #[test]
    fn four_healthy_validators_allow_one_restart() {
        let all = validators(&[NodeState::Synced; 4]);
        let check = validator_quorum(&["validator-1"], &all, 4);
        assert!(check.passed, "{check:?}");
        assert_eq!(check.value, "4/4 producing, tolerates 1");
    }

    #[test]
    fn another_validator_down_or_stalled_refuses() {
        use NodeState::{Down, Lagging, Stalled, Synced, Unknown};
        for bad in [Down, Stalled, Lagging, Unknown] {
            let v = validators(&[Synced, bad, Synced, Synced]);
            let check = validator_quorum(&["validator-1"], &v, 4);
            assert!(!check.passed && !check.overridable, "{bad:?}");
            let detail = check.detail.expect("detail");
            assert!(
                detail.starts_with(&format!("validator-2 is {}", bad.as_str())),
                "{detail}"
            );
            assert!(detail.contains("leaves 2 of 4 out"), "{detail}");
        }
    }

    #[test]
    fn the_literal_rule_holds_even_where_bft_would_tolerate_more() {
        // 7 validators tolerate 2, but another one is down: refused all the same.
        let mut v = validators(&[NodeState::Synced; 7]);
        v[3].state = NodeState::Down;
        assert!(!validator_quorum(&["validator-1"], &v, 7).passed);
    }

    #[test]
    fn stopping_more_than_tolerated_at_once_refuses() {
        let v = validators(&[NodeState::Synced; 4]);
        let check = validator_quorum(&["validator-1", "validator-2"], &v, 4);
        assert!(!check.passed);
        assert!(
            check
                .detail
                .expect("detail")
                .starts_with("no other validator is out")
        );
    }

    #[test]
    fn too_few_validators_to_tolerate_any_fault_refuse() {
        let v = validators(&[NodeState::Synced; 3]);
        assert!(!validator_quorum(&["validator-1"], &v, 3).passed);
    }

    #[test]
    fn restarting_a_validator_that_is_already_out_is_allowed() {
        let v = validators(&[
            NodeState::Down,
            NodeState::Down,
            NodeState::Synced,
            NodeState::Synced,
        ]);
        let check = validator_quorum(&["validator-1"], &v, 4);
        assert!(check.passed);
        assert_eq!(check.value, "2/4 producing, tolerates 1");
    }

    #[test]
    fn unconfigured_validators_count_towards_the_chain_size() {
        // 4 configured, 7 reported by the chain: tolerates 2, none other out.
        let v = validators(&[NodeState::Synced; 4]);
        let check = validator_quorum(&["validator-1", "validator-2"], &v, 7);
        assert!(check.passed, "{check:?}");
    }

    #[test]
    fn samples_judge_nodes() {
        let now = 1_000_000;
        let fresh = NodeSample {
            reachable: true,
            block_time: Some(now - 1_000),
            syncing: Probe::Value(None),
            ..NodeSample::default()
        };
        assert_eq!(judge_sample(&fresh, now), NodeState::Synced);
        let old = NodeSample {
            block_time: Some(now - STALLED_AFTER_MS - 1),
            ..fresh.clone()
        };
        assert_eq!(judge_sample(&old, now), NodeState::Stalled);
        let syncing = NodeSample {
            syncing: Probe::Value(Some(crate::model::quorum::SyncProgress {
                starting: 0,
                current: 1,
                highest: 5,
            })),
            ..fresh.clone()
        };
        assert_eq!(judge_sample(&syncing, now), NodeState::Lagging);
        assert_eq!(judge_sample(&NodeSample::default(), now), NodeState::Down);
        let headless = NodeSample {
            block_time: None,
            ..fresh
        };
        assert_eq!(judge_sample(&headless, now), NodeState::Unknown);
    }

    fn node(name: &str, role: NodeRole, service: &str) -> QuorumNode {
        QuorumNode {
            name: name.into(),
            rpc_url: format!("http://{name}:8545"),
            role,
            service: Some(service.into()),
            exec_command: None,
        }
    }

    fn cluster() -> Cluster {
        Cluster {
            name: "node-api".into(),
            ecs_cluster: "ibet-stg-node-api".into(),
            quorum_nodes: vec![
                node("general-1", NodeRole::General, "quorum-general-1"),
                node("general-2", NodeRole::General, "quorum-general-2"),
            ],
            alb_switch: Some(AlbSwitch {
                mode: SwitchMode::Listener,
                listener_arn: Some("arn:listener".into()),
                rule_arn: None,
                target_group_arn: None,
                nodes: [
                    ("general-1".to_string(), "arn:tg/a".to_string()),
                    ("general-2".to_string(), "arn:tg/b".to_string()),
                ]
                .into(),
                max_lag_blocks: 0,
                max_head_age_secs: 15,
                consecutive_polls: 3,
                min_peers: 1,
            }),
            log_groups: std::collections::BTreeMap::new(),
            exec_commands: std::collections::BTreeMap::new(),
            waf_web_acl: None,
            rds_instances: Vec::new(),
            sqs_queues: Vec::new(),
        }
    }

    #[test]
    fn services_map_to_their_nodes() {
        let c = cluster();
        let nodes = nodes_of_service(&c, "quorum-general-2");
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].name, "general-2");
        assert!(nodes_of_service(&c, "api").is_empty());
    }

    #[test]
    fn restarting_the_active_general_node_suggests_switching_first() {
        let c = cluster();
        let targets = nodes_of_service(&c, "quorum-general-1");
        let warning = active_general_node("staging", &c, &targets, "general-1").expect("warns");
        assert!(warning.warning.contains("forwards to general-1"));
        assert_eq!(
            warning.switch_first,
            Some(Op::SwitchAlb {
                env: "staging".into(),
                cluster: "node-api".into(),
                to: "general-2".into()
            })
        );
        assert_eq!(
            active_general_node("staging", &c, &targets, "general-2"),
            None
        );
        let both: Vec<&QuorumNode> = c.quorum_nodes.iter().collect();
        let warning = active_general_node("staging", &c, &both, "general-1").expect("warns");
        assert_eq!(warning.switch_first, None);
    }

    #[test]
    fn a_rolling_service_warns() {
        let deployment = |rollout| Deployment {
            rollout,
            created_at: Some(0),
            ..Deployment::default()
        };
        let mut service = Service {
            name: "api".into(),
            deployments: vec![deployment(Rollout::Completed)],
            ..Service::default()
        };
        assert_eq!(deployment_in_progress(&service, 60_000), None);
        service.deployments = vec![
            deployment(Rollout::InProgress),
            deployment(Rollout::Completed),
        ];
        let warning = deployment_in_progress(&service, 60_000).expect("warns");
        assert!(
            warning.starts_with("api is in the middle of a deployment (2 deployments, rollout in progress, started 1m ago)"),
            "{warning}"
        );
        service.deployments = vec![deployment(Rollout::Failed)];
        assert!(
            deployment_in_progress(&service, 60_000)
                .expect("warns")
                .contains("failed")
        );
    }
}
