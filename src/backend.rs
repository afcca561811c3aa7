//! The traits the rest of the console talks to, and the errors they return.
//!
//! Three kinds of backend implement them: the AWS SDK ([`aws`]), Quorum JSON-RPC
//! ([`rpc`]) and the embedded demo world ([`sim`]). Nothing here knows about the terminal;
//! nothing above here knows about the SDKs. A failure is a [`BackendError`] that the
//! panel owning the call draws, with [`BackendError::hint`] for the operator.

pub mod aws;
pub mod rpc;
pub mod sim;

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{AlbSwitch, QuorumNode};
use crate::model::alb::{PathTopology, SwitchView};
use crate::model::ecs::{ClusterSnapshot, TaskDefinition};
use crate::model::logs::{LogPage, LogQuery};
use crate::model::quorum::NodeSample;

/// A failed backend call, classified for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// No credentials could be found.
    #[error("no AWS credentials: {0}")]
    NoCredentials(String),
    /// The SSO session has expired.
    #[error("the AWS SSO session has expired")]
    SsoExpired {
        /// The profile to log in with.
        profile: Option<String>,
    },
    /// The caller is not allowed to do this.
    #[error("access denied for {action}: {message}")]
    AccessDenied {
        /// The API action that was denied, e.g. `ecs:ListServices`.
        action: String,
        /// What AWS said.
        message: String,
    },
    /// The endpoint could not be reached.
    #[error("cannot reach {endpoint}: {detail}")]
    Unreachable {
        /// Endpoint or URL.
        endpoint: String,
        /// What failed.
        detail: String,
    },
    /// No answer within the time limit.
    #[error("no answer within {secs}s")]
    Timeout {
        /// The limit.
        secs: u64,
    },
    /// The API is rate-limiting us.
    #[error("throttled: {0}")]
    Throttled(String),
    /// The resource does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The JSON-RPC node does not offer the method.
    #[error("method not available: {0}")]
    MethodNotAvailable(String),
    /// Anything else, with the service's own words.
    #[error("{0}")]
    Other(String),
}

impl BackendError {
    /// A short hint that tells the operator what to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NoCredentials(_) => {
                Some("set AWS_PROFILE or aws_profile in the config, or run `aws configure`".into())
            }
            Self::SsoExpired { profile } => Some(match profile {
                Some(p) => format!("run `aws sso login --profile {p}`"),
                None => "run `aws sso login`".into(),
            }),
            Self::AccessDenied { action, .. } => Some(format!(
                "the role needs `{action}`; check the IAM policy of the profile"
            )),
            Self::Unreachable { .. } => {
                Some("check the endpoint, the VPN or bastion, and security groups".into())
            }
            Self::Timeout { .. } => Some("the endpoint accepted but did not answer".into()),
            Self::Throttled(_) => Some("backing off; data refreshes more slowly".into()),
            Self::NotFound(_) => Some("check the names in the config".into()),
            Self::MethodNotAvailable(_) | Self::Other(_) => None,
        }
    }

    /// Whether a retry after a pause is the right reaction.
    pub fn is_throttling(&self) -> bool {
        matches!(self, Self::Throttled(_))
    }
}

/// Result of a backend call.
pub type BackendResult<T> = Result<T, BackendError>;

/// A change to an ECS service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceUpdate {
    /// Move to this task definition (ARN or `family:revision`).
    pub task_definition: Option<String>,
    /// Replace every task even if nothing changed.
    pub force_new_deployment: bool,
}

/// ECS, per environment.
#[async_trait]
pub trait EcsApi: Send + Sync {
    /// Services, running tasks, tasks stopped in the last hour, and their task
    /// definitions, of one ECS cluster.
    async fn snapshot(&self, cluster: &str) -> BackendResult<ClusterSnapshot>;
    /// One task definition by ARN or `family:revision`.
    async fn task_definition(&self, arn: &str) -> BackendResult<TaskDefinition>;
    /// ARNs of the active revisions of a family, newest first.
    async fn task_definition_revisions(&self, family: &str) -> BackendResult<Vec<String>>;
    /// Stops one task with a reason.
    async fn stop_task(&self, cluster: &str, task: &str, reason: &str) -> BackendResult<()>;
    /// Updates a service.
    async fn update_service(
        &self,
        cluster: &str,
        service: &str,
        update: &ServiceUpdate,
    ) -> BackendResult<()>;
}

/// ELBv2, per environment.
#[async_trait]
pub trait ElbApi: Send + Sync {
    /// What the ALB does now for a configured switch.
    async fn read_switch(&self, switch: &AlbSwitch) -> BackendResult<SwitchView>;
    /// Points the switch at `node` (one of the switch's configured nodes).
    async fn apply_switch(&self, switch: &AlbSwitch, node: &str) -> BackendResult<()>;
    /// The load balancers and listeners in front of these target groups, and the health
    /// of their targets: the request-path view. Backends without it say "not supported".
    async fn discover_paths(&self, target_group_arns: &[String]) -> BackendResult<PathTopology> {
        let _ = target_group_arns;
        Err(BackendError::Other("not supported".into()))
    }
}

/// CloudWatch Logs, per environment.
#[async_trait]
pub trait LogsApi: Send + Sync {
    /// One FilterLogEvents page.
    async fn filter(&self, query: &LogQuery) -> BackendResult<LogPage>;
}

/// Quorum JSON-RPC.
#[async_trait]
pub trait RpcApi: Send + Sync {
    /// Polls one node. Never fails: an unreachable node is a sample with
    /// `reachable == false`. `first` asks the things asked once (client version).
    async fn sample(&self, node: &QuorumNode, first: bool) -> NodeSample;
    /// The hash of block `height` on `node` (`None` when the node does not have it).
    async fn block_hash_at(&self, node: &QuorumNode, height: u64) -> BackendResult<Option<String>>;
}

/// Who we are, for the audit log.
#[async_trait]
pub trait IdentityApi: Send + Sync {
    /// The AWS caller identity (ARN).
    async fn caller(&self) -> BackendResult<String>;
}

/// The backends of one environment.
#[derive(Clone)]
pub struct EnvBackends {
    /// ECS.
    pub ecs: Arc<dyn EcsApi>,
    /// ELBv2.
    pub elb: Arc<dyn ElbApi>,
    /// CloudWatch Logs.
    pub logs: Arc<dyn LogsApi>,
    /// Quorum JSON-RPC.
    pub rpc: Arc<dyn RpcApi>,
    /// STS caller identity.
    pub identity: Arc<dyn IdentityApi>,
}

impl std::fmt::Debug for EnvBackends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnvBackends")
    }
}
