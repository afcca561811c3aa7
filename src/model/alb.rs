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
    /// The node the ALB forwards to, when exactly one is active.
    pub fn active(&self) -> Option<&str> {
        let mut active = self.members.iter().filter(|m| m.active);
        match (active.next(), active.next()) {
            (Some(m), None) => Some(m.node.as_str()),
            _ => None,
        }
    }
}
