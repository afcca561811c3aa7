//! The op: one mutating action of the console, as data, and what it says of itself.
//!
//! An [`Op`] is what a key or a subcommand asks for (switch the ALB, stop a task, force a
//! deployment, release, roll back). It names itself for dialogs and messages, and gives
//! the [`OpKey`] under which the executor runs one op per target at a time. It reads
//! nothing and decides nothing: planning, guards and execution live beside it.

use serde::{Deserialize, Serialize};

use crate::model::ecs::short_task_definition;

/// One mutating action, as data: what the operator asked for, before anything is read.
///
/// Tagged by `kind` in JSON, as the commands print it and the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Op {
    /// Point the cluster's internal ALB at the general node `to`.
    SwitchAlb {
        /// The environment's configured name.
        env: String,
        /// The cluster's configured display name, not its ECS name.
        cluster: String,
        /// Node name (a key of the switch's `nodes`).
        to: String,
    },
    /// Stop one task; the service starts a replacement.
    StopTask {
        /// The environment's configured name.
        env: String,
        /// The cluster's configured display name, not its ECS name.
        cluster: String,
        /// The ECS service the task belongs to.
        service: String,
        /// Task id or ARN.
        task: String,
    },
    /// Replace every task of a service with the same task definition.
    ForceDeploy {
        /// The environment's configured name.
        env: String,
        /// The cluster's configured display name, not its ECS name.
        cluster: String,
        /// The ECS service's name.
        service: String,
    },
    /// Move a service to a newer task definition.
    Release {
        /// The environment's configured name.
        env: String,
        /// The cluster's configured display name, not its ECS name.
        cluster: String,
        /// The ECS service's name.
        service: String,
        /// Task definition ARN or `family:revision`.
        to_task_definition: String,
    },
    /// Move a service back to an earlier task definition.
    Rollback {
        /// The environment's configured name.
        env: String,
        /// The cluster's configured display name, not its ECS name.
        cluster: String,
        /// The ECS service's name.
        service: String,
        /// Task definition ARN or `family:revision`.
        to_task_definition: String,
    },
    /// Open an interactive session in a running container (ECS Exec).
    Exec {
        /// The environment's configured name.
        env: String,
        /// The cluster's configured display name, not its ECS name.
        cluster: String,
        /// The ECS service the task belongs to.
        service: String,
        /// Task id or ARN.
        task: String,
        /// The container; `None`: the task's only container.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        container: Option<String>,
        /// What to run; `None`: the service's configured command, else `/bin/sh`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<String>,
    },
    /// Break another console's action lock (it died, or it is stuck).
    BreakLock {
        /// The environment's configured name.
        env: String,
        /// The lock's scope: `ENV/CLUSTER` or `ENV/CLUSTER/SERVICE`.
        lock: String,
    },
}

impl Op {
    /// The environment name.
    pub fn env(&self) -> &str {
        match self {
            Self::SwitchAlb { env, .. }
            | Self::StopTask { env, .. }
            | Self::ForceDeploy { env, .. }
            | Self::Release { env, .. }
            | Self::Rollback { env, .. }
            | Self::Exec { env, .. }
            | Self::BreakLock { env, .. } => env,
        }
    }

    /// The cluster's display name.
    pub fn cluster(&self) -> &str {
        match self {
            Self::SwitchAlb { cluster, .. }
            | Self::StopTask { cluster, .. }
            | Self::ForceDeploy { cluster, .. }
            | Self::Release { cluster, .. }
            | Self::Rollback { cluster, .. }
            | Self::Exec { cluster, .. } => cluster,
            Self::BreakLock { lock, .. } => lock.split('/').nth(1).unwrap_or_default(),
        }
    }

    /// The service acted on, for the ECS ops.
    pub fn service(&self) -> Option<&str> {
        match self {
            Self::SwitchAlb { .. } | Self::BreakLock { .. } => None,
            Self::StopTask { service, .. }
            | Self::ForceDeploy { service, .. }
            | Self::Release { service, .. }
            | Self::Rollback { service, .. }
            | Self::Exec { service, .. } => Some(service),
        }
    }

    /// The snake_case name of the kind of op (`switch_alb`, `stop_task`, ...), as in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::SwitchAlb { .. } => "switch_alb",
            Self::StopTask { .. } => "stop_task",
            Self::ForceDeploy { .. } => "force_deploy",
            Self::Release { .. } => "release",
            Self::Rollback { .. } => "rollback",
            Self::Exec { .. } => "exec",
            Self::BreakLock { .. } => "break_lock",
        }
    }

    /// What the op acts on, in a few words (`internal ALB → general-2`, `api/3f2a…`).
    pub fn target(&self) -> String {
        match self {
            Self::SwitchAlb { to, .. } => format!("internal ALB → {to}"),
            Self::StopTask { service, task, .. } => format!("{service}/{}", task_id(task)),
            Self::ForceDeploy { service, .. } => service.clone(),
            Self::Release {
                service,
                to_task_definition,
                ..
            }
            | Self::Rollback {
                service,
                to_task_definition,
                ..
            } => format!("{service} → {}", short_task_definition(to_task_definition)),
            Self::Exec {
                service,
                task,
                container,
                ..
            } => match container {
                Some(container) => format!("{service}/{}/{container}", task_id(task)),
                None => format!("{service}/{}", task_id(task)),
            },
            Self::BreakLock { lock, .. } => format!("lock {lock}"),
        }
    }

    /// A sentence naming the op, for dialogs and messages.
    pub fn title(&self) -> String {
        match self {
            Self::SwitchAlb { env, cluster, to } => {
                format!("switch the internal ALB of {env}/{cluster} to {to}")
            }
            Self::StopTask {
                env,
                cluster,
                service,
                task,
            } => format!("stop task {} of {env}/{cluster}/{service}", task_id(task)),
            Self::ForceDeploy {
                env,
                cluster,
                service,
            } => format!("force a new deployment of {env}/{cluster}/{service}"),
            Self::Release {
                env,
                cluster,
                service,
                to_task_definition,
            } => format!(
                "release {} to {env}/{cluster}/{service}",
                short_task_definition(to_task_definition)
            ),
            Self::Rollback {
                env,
                cluster,
                service,
                to_task_definition,
            } => format!(
                "roll {env}/{cluster}/{service} back to {}",
                short_task_definition(to_task_definition)
            ),
            Self::Exec {
                env,
                cluster,
                service,
                task,
                container,
                ..
            } => {
                let container = container
                    .as_deref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default();
                format!(
                    "open a session in task {}{container} of {env}/{cluster}/{service}",
                    crate::logs::discovery::short_task_id(task_id(task))
                )
            }
            Self::BreakLock { lock, .. } => format!("break the action lock {lock}"),
        }
    }

    /// The key under which at most one op runs at a time.
    ///
    /// All switches of one cluster's ALB share a key, and so do all ECS ops on one
    /// service (stopping two of its tasks at once, or stopping one mid-deployment, is
    /// exactly what the guards are there to prevent). A session is keyed by its task:
    /// it changes nothing, so it holds up no other op of the service.
    pub fn key(&self) -> OpKey {
        let target = match (self, self.service()) {
            (Self::BreakLock { lock, .. }, _) => format!("lock:{lock}"),
            (Self::Exec { task, .. }, _) => format!("exec:{}", task_id(task)),
            (_, Some(service)) => format!("service:{service}"),
            (_, None) => "alb_switch".to_string(),
        };
        OpKey {
            env: self.env().to_string(),
            cluster: self.cluster().to_string(),
            target,
        }
    }
}

/// The id part of a task ARN (the input when it is already an id).
pub fn task_id(task: &str) -> &str {
    task.rsplit_once('/').map_or(task, |(_, id)| id)
}

/// What an op acts on, as the executor counts it: one op per key runs at a time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct OpKey {
    /// The environment's configured name.
    pub env: String,
    /// The cluster's configured display name.
    pub cluster: String,
    /// `alb_switch` or `service:NAME`.
    pub target: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switch_op() -> Op {
        Op::SwitchAlb {
            env: "staging".into(),
            cluster: "node-api".into(),
            to: "general-2".into(),
        }
    }

    #[test]
    fn ops_serialise_with_their_kind() {
        let json = serde_json::to_value(switch_op()).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"kind": "switch_alb", "env": "staging", "cluster": "node-api", "to": "general-2"})
        );
        let back: Op = serde_json::from_value(json).expect("parse");
        assert_eq!(back, switch_op());
    }

    #[test]
    fn keys_group_ops_on_one_target() {
        let stop = Op::StopTask {
            env: "staging".into(),
            cluster: "node-api".into(),
            service: "api".into(),
            task: "arn:aws:ecs:ap-northeast-1:1:task/node-api/abc".into(),
        };
        let deploy = Op::ForceDeploy {
            env: "staging".into(),
            cluster: "node-api".into(),
            service: "api".into(),
        };
        assert_eq!(stop.key(), deploy.key());
        assert_eq!(stop.target(), "api/abc");
        assert_eq!(switch_op().key().target, "alb_switch");
        assert_ne!(switch_op().key(), deploy.key());
    }
}
