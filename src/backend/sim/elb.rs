//! The simulated internal-ALB switches of one environment: which Quorum general node
//! each cluster's internal ALB forwards to.
//!
//! Listener mode: one target group per node, the listener's forward action weights them
//! and a switch flips the weights at once. Targets mode: one target group, the active
//! node is the registered target; a switch registers the new target (health `initial`
//! for a couple of ticks, then `healthy`) and drains the old one (`draining` for a few
//! ticks, then gone). Target health follows the node's task. Nothing here reads the
//! clock.

use crate::backend::{BackendError, BackendResult};
use crate::config::AlbSwitch;
use crate::model::alb::{SwitchMember, SwitchMode, SwitchView};

use super::chain::SimNode;

/// Ticks a new target reports `initial`.
const INITIAL_TICKS: i64 = 2;
/// Ticks a deregistered target reports `draining` before it disappears.
const DRAINING_TICKS: i64 = 5;

/// One general node of a switch.
#[derive(Debug, Clone)]
pub(super) struct Member {
    pub node: String,
    pub target: String,
    /// Index of the node in the environment's node list.
    pub node_index: usize,
}

/// A target registered in the shared target group (targets mode).
#[derive(Debug, Clone, Copy)]
pub(super) struct Registration {
    pub member: usize,
    pub since: i64,
    pub draining: bool,
}

/// One cluster's switch.
#[derive(Debug, Clone)]
pub(super) struct SimSwitch {
    pub cluster: usize,
    pub mode: SwitchMode,
    /// The listener (listener mode) or target group (targets mode) it is known by.
    pub arn: String,
    pub members: Vec<Member>,
    /// Forward weights (listener mode), per member.
    pub weights: Vec<u32>,
    /// Registered targets (targets mode).
    pub registered: Vec<Registration>,
}

impl SimSwitch {
    /// A switch pointing at member `active` since long before `start`.
    pub(super) fn new(
        cluster: usize,
        config: &AlbSwitch,
        members: Vec<Member>,
        active: usize,
        start: i64,
    ) -> Self {
        let arn = match config.mode {
            SwitchMode::Listener => config
                .listener_arn
                .clone()
                .or_else(|| config.rule_arn.clone()),
            SwitchMode::Targets => config.target_group_arn.clone(),
        }
        .unwrap_or_default();
        let weights = (0..members.len()).map(|m| u32::from(m == active)).collect();
        Self {
            cluster,
            mode: config.mode,
            arn,
            members,
            weights,
            registered: match config.mode {
                SwitchMode::Listener => Vec::new(),
                SwitchMode::Targets => vec![Registration {
                    member: active,
                    since: start - 86_400,
                    draining: false,
                }],
            },
        }
    }

    /// Whether a configured switch means this one.
    pub(super) fn matches(&self, config: &AlbSwitch) -> bool {
        if config.mode != self.mode {
            return false;
        }
        let key = match config.mode {
            SwitchMode::Listener => config.listener_arn.as_ref().or(config.rule_arn.as_ref()),
            SwitchMode::Targets => config.target_group_arn.as_ref(),
        };
        key.is_some_and(|k| *k == self.arn)
    }

    /// The member the ALB forwards to.
    pub(super) fn active(&self) -> Option<usize> {
        match self.mode {
            SwitchMode::Listener => self.weights.iter().position(|w| *w > 0),
            SwitchMode::Targets => self
                .registered
                .iter()
                .find(|r| !r.draining)
                .map(|r| r.member),
        }
    }

    /// Forgets targets that finished draining.
    pub(super) fn tick(&mut self, now: i64) {
        self.registered
            .retain(|r| !r.draining || now - r.since < DRAINING_TICKS);
    }

    /// What `read_switch` reports at tick `now`.
    pub(super) fn view(&self, nodes: &[SimNode], now: i64) -> SwitchView {
        let members = self
            .members
            .iter()
            .enumerate()
            .map(|(m, member)| {
                let node_health = nodes
                    .get(member.node_index)
                    .map_or("unavailable", |n| target_health(n, now));
                match self.mode {
                    SwitchMode::Listener => SwitchMember {
                        node: member.node.clone(),
                        target: member.target.clone(),
                        weight: Some(self.weights[m]),
                        active: self.weights[m] > 0,
                        health: Some(node_health.to_string()),
                    },
                    SwitchMode::Targets => {
                        let registration = self.registered.iter().find(|r| r.member == m);
                        let health = registration.map(|r| {
                            if r.draining {
                                "draining"
                            } else if now - r.since < INITIAL_TICKS && node_health == "healthy" {
                                "initial"
                            } else {
                                node_health
                            }
                        });
                        SwitchMember {
                            node: member.node.clone(),
                            target: member.target.clone(),
                            weight: None,
                            active: registration.is_some_and(|r| !r.draining),
                            health: health.map(str::to_string),
                        }
                    }
                }
            })
            .collect();
        SwitchView {
            mode: self.mode,
            members,
        }
    }

    /// Points the switch at `node` at tick `now`.
    pub(super) fn apply(&mut self, node: &str, now: i64) -> BackendResult<()> {
        let Some(target) = self.members.iter().position(|m| m.node == node) else {
            return Err(BackendError::NotFound(format!(
                "node {node} is not a member of switch {}",
                self.arn
            )));
        };
        match self.mode {
            SwitchMode::Listener => {
                for (m, w) in self.weights.iter_mut().enumerate() {
                    *w = u32::from(m == target);
                }
            }
            SwitchMode::Targets => {
                if self.active() == Some(target) {
                    return Ok(());
                }
                for r in &mut self.registered {
                    if !r.draining {
                        r.draining = true;
                        r.since = now;
                    }
                }
                self.registered.retain(|r| r.member != target);
                self.registered.push(Registration {
                    member: target,
                    since: now,
                    draining: false,
                });
            }
        }
        Ok(())
    }
}

/// The health the ALB sees for a node's target.
pub(super) fn target_health(node: &SimNode, now: i64) -> &'static str {
    if !node.up || now < node.target_unhealthy_until {
        "unhealthy"
    } else if now - node.up_since < INITIAL_TICKS + super::chain::RPC_WARMUP_TICKS {
        "initial"
    } else {
        "healthy"
    }
}
