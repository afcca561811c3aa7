//! The traits the rest of the console talks to, and the errors they return.
//!
//! Three kinds of backend implement them: the AWS SDK ([`aws`]), Quorum JSON-RPC
//! ([`rpc`]) and the embedded demo world ([`sim`]). Nothing here knows about the terminal;
//! nothing above here knows about the SDKs. A failure is a [`BackendError`] that the
//! panel owning the call draws, with [`BackendError::hint`] for the operator.

pub mod aws;
pub mod lock;
pub mod rpc;
pub mod sim;

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{AlbSwitch, QuorumNode};
use crate::model::alb::{PathTopology, SwitchView};
use crate::model::ecs::{ClusterSnapshot, Task, TaskDefinition};
use crate::model::logs::{LiveQuery, LiveUpdate, LogPage, LogQuery};
use crate::model::metrics::{Alarm, MetricKey};
use crate::model::quorum::NodeSample;

/// A failed backend call, classified for the operator: the message says what is wrong
/// in one line, [`BackendError::hint`] what to do about it in another. Neither carries
/// the SDK's debug output; the AWS ones come from one classifier
/// (`backend::aws::auth::classify_within`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// No credentials anywhere the SDK looks.
    #[error(
        "no AWS credentials found: looked in the environment (AWS_ACCESS_KEY_ID), \
         {config_file} and {credentials_file} (profile `{profile}`), SSO, \
         and the container and instance metadata"
    )]
    NoCredentials {
        /// The profile the SDK read.
        profile: String,
        /// The shared config file, as the SDK found it.
        config_file: String,
        /// The shared credentials file.
        credentials_file: String,
    },
    /// The chosen profile is in neither shared file.
    #[error(
        "the AWS profile `{profile}` ({chosen_by}) is not in {config_file}{}",
        if *.file_exists { "" } else { " (no such file)" }
    )]
    ProfileMissing {
        /// Its name.
        profile: String,
        /// Who chose it: `AWS_PROFILE`, or `aws_profile in the console config`.
        chosen_by: &'static str,
        /// The shared config file.
        config_file: String,
        /// Whether that file exists.
        file_exists: bool,
    },
    /// Credentials were found but could not be loaded (an invalid profile, a failing
    /// `credential_process`, a role that cannot be assumed), in the SDK's words.
    #[error("cannot load AWS credentials: {detail}")]
    CredentialsFailed {
        /// What the SDK said, its chain of causes in one line.
        detail: String,
        /// The profile, when it signs in with SSO (logging in again may mend it).
        sso_profile: Option<String>,
    },
    /// The SSO session has expired.
    #[error("{}", sso_expired(.profile.as_deref()))]
    SsoExpired {
        /// The profile to log in with.
        profile: Option<String>,
    },
    /// AWS refused the credentials themselves.
    #[error("{}", .key.describe(.code))]
    KeyRejected {
        /// What is wrong with them.
        key: KeyProblem,
        /// The error code AWS sent, e.g. `InvalidClientTokenId`.
        code: String,
        /// Where the keys are, as the hint names them (environment variables, or a
        /// profile and its file).
        keys: String,
    },
    /// The caller is not allowed to do this. `principal`, `resource` and `reason` are
    /// read from AWS's message when it has the usual shape; else `reason` is the message.
    #[error(
        "{}",
        access_denied(.principal.as_deref(), .action, .resource.as_deref(), .reason.as_deref())
    )]
    AccessDenied {
        /// The API action that was denied, e.g. `ecs:ListServices`.
        action: String,
        /// Who asked (an ARN).
        principal: Option<String>,
        /// What it was asked on (an ARN or `*`).
        resource: Option<String>,
        /// Why, as AWS put it.
        reason: Option<String>,
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

/// What AWS found wrong with an access key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    /// The session token has expired (`ExpiredToken`).
    Expired,
    /// AWS does not know the key or its token (`InvalidClientTokenId`,
    /// `UnrecognizedClientException`).
    Unknown,
    /// The signature does not match: a wrong secret key, or a clock far off
    /// (`SignatureDoesNotMatch`, `InvalidSignatureException`).
    BadSignature,
}

impl KeyProblem {
    fn describe(self, code: &str) -> String {
        match self {
            Self::Expired => format!("the AWS session token has expired ({code})"),
            Self::Unknown => format!("AWS does not recognise the access key or its token ({code})"),
            Self::BadSignature => format!(
                "AWS rejected the request's signature ({code}): the secret key does not \
                 match the access key, or this machine's clock is off"
            ),
        }
    }
}

fn sso_expired(profile: Option<&str>) -> String {
    match profile {
        Some(p) => format!("the AWS SSO session of profile `{p}` has expired"),
        None => "the AWS SSO session has expired".to_string(),
    }
}

fn access_denied(
    principal: Option<&str>,
    action: &str,
    resource: Option<&str>,
    reason: Option<&str>,
) -> String {
    let mut text = match principal {
        Some(who) => format!("access denied: {who} may not {action}"),
        None => format!("access denied for {action}"),
    };
    if let Some(resource) = resource {
        text.push_str(" on ");
        text.push_str(resource);
    }
    if let Some(reason) = reason {
        text.push_str(" (");
        text.push_str(reason);
        text.push(')');
    }
    text
}

impl BackendError {
    /// A short hint that tells the operator what to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NoCredentials { .. } => Some(
                "run `aws configure` (a key) or `aws configure sso`, or set AWS_PROFILE or \
                 aws_profile in the console config to a profile that has credentials"
                    .into(),
            ),
            Self::ProfileMissing {
                profile,
                config_file,
                ..
            } => Some(format!(
                "add `[profile {profile}]` to {config_file} (`aws configure --profile \
                 {profile}`), or name a profile that is there"
            )),
            Self::CredentialsFailed { sso_profile, .. } => Some(match sso_profile {
                Some(p) => format!("run `aws sso login --profile {p}`"),
                None => "check the profile in the shared config file, and its source".into(),
            }),
            Self::SsoExpired { profile } => Some(match profile {
                Some(p) => format!("run `aws sso login --profile {p}`"),
                None => "run `aws sso login`".into(),
            }),
            Self::KeyRejected { key, keys, .. } => Some(match key {
                KeyProblem::Expired => {
                    format!("get fresh credentials: a new AWS_SESSION_TOKEN, or renew {keys}")
                }
                KeyProblem::Unknown => format!(
                    "the key is mistyped, deleted or inactive: check {keys}, or make a new key"
                ),
                KeyProblem::BadSignature => {
                    format!("check the secret key in {keys}, and the clock (NTP)")
                }
            }),
            Self::AccessDenied {
                action,
                principal,
                resource,
                ..
            } => Some(format!(
                "the IAM policy of {} must allow `{action}`{}, or use a profile whose \
                 role has it",
                principal
                    .as_deref()
                    .unwrap_or("the role or user behind these credentials"),
                resource
                    .as_deref()
                    .map(|r| format!(" on `{r}`"))
                    .unwrap_or_default()
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
    /// definitions, of one ECS cluster, all read now (what verifies an action, and what a
    /// command acts on).
    async fn snapshot(&self, cluster: &str) -> BackendResult<ClusterSnapshot>;
    /// The same for a poller that reads the cluster again and again: a backend may use
    /// again what the snapshot before read and that the services say has not moved.
    async fn poll_snapshot(&self, cluster: &str) -> BackendResult<ClusterSnapshot> {
        self.snapshot(cluster).await
    }
    /// The services alone (no tasks), for a first screen that need not wait for the
    /// tasks; `None` when a backend answers a whole snapshot as fast.
    async fn services_only(&self, cluster: &str) -> BackendResult<Option<ClusterSnapshot>> {
        let _ = cluster;
        Ok(None)
    }
    /// One task (id or ARN) as ECS describes it now; `None` when ECS does not know it.
    /// For an op that needs that task alone (an exec session): a backend may read just
    /// it (one DescribeTasks) instead of the cluster.
    async fn task(&self, cluster: &str, task: &str) -> BackendResult<Option<Task>> {
        let id = task.rsplit_once('/').map_or(task, |(_, id)| id);
        let snapshot = self.snapshot(cluster).await?;
        Ok(snapshot
            .tasks
            .into_iter()
            .find(|t| t.id == id || t.arn == task))
    }
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
    /// Appends `lines` (time in epoch ms, text; in time order) to `stream` of `group`,
    /// creating the stream when it is missing (the group must exist). Backends that do
    /// not write logs say "not supported".
    async fn put_lines(
        &self,
        group: &str,
        stream: &str,
        lines: &[(crate::clock::EpochMs, String)],
    ) -> BackendResult<()> {
        let _ = (group, stream, lines);
        Err(BackendError::Other(
            "writing logs is not supported here".into(),
        ))
    }
    /// Opens a Live Tail session (StartLiveTail) and returns once it has started.
    /// `Ok(None)`: this backend has no live tail (the tail engine polls instead).
    async fn live_tail(&self, query: &LiveQuery) -> BackendResult<Option<Box<dyn LiveSession>>> {
        let _ = query;
        Ok(None)
    }
}

/// An open CloudWatch Logs Live Tail session: one long-lived streaming request that
/// brings the events ingested since it opened, about once a second. Dropping it closes
/// the session.
#[async_trait]
pub trait LiveSession: Send {
    /// The next update (possibly empty); `Ok(None)` once the session has ended (AWS ends
    /// every session after three hours).
    async fn next(&mut self) -> BackendResult<Option<LiveUpdate>>;
}

/// CloudWatch metrics and alarms, per environment.
#[async_trait]
pub trait MetricsApi: Send + Sync {
    /// The one-minute points of every key from `start` to `end` (ms, whole minutes), in
    /// the order of `keys`; a key without data has no points. As few requests as the
    /// service allows: one for up to 500 keys, pages followed.
    async fn metric_data(
        &self,
        keys: &[MetricKey],
        start: crate::clock::EpochMs,
        end: crate::clock::EpochMs,
    ) -> BackendResult<Vec<Vec<(crate::clock::EpochMs, f64)>>>;
    /// The alarms in state ALARM whose names start with `prefix` (all without one).
    async fn alarms(&self, prefix: Option<&str>) -> BackendResult<Vec<Alarm>>;
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

/// What a lookup by name found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// It exists; a few words on what was found (an image's push date), or nothing.
    Found(String),
    /// It does not; what the service answered, in a few words.
    Missing(String),
}

/// An image in an ECR registry, as a task definition names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrImage {
    /// The registry's account id.
    pub registry: String,
    /// The registry's region.
    pub region: String,
    /// The repository, e.g. `ibet/wallet-api`.
    pub repository: String,
    /// The tag (`latest` when the image names none) or the digest (`sha256:...`).
    pub reference: ImageReference,
}

/// How an image is pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageReference {
    /// By tag.
    Tag(String),
    /// By digest.
    Digest(String),
}

impl ImageReference {
    /// The tag, or the digest.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Tag(s) | Self::Digest(s) => s,
        }
    }
}

/// The reads that verify a release before it runs: what the target task definition
/// names outside ECS exists. Every lookup is by name; no backend ever reads a parameter's
/// or a secret's value.
#[async_trait]
pub trait VerifyApi: Send + Sync {
    /// The image in ECR (DescribeImages by tag or digest).
    async fn ecr_image(&self, image: &EcrImage) -> BackendResult<Lookup>;
    /// Which of the SSM parameters `names` exist (DescribeParameters by name; names, not
    /// ARNs), in any order.
    async fn ssm_parameters(&self, names: &[String]) -> BackendResult<Vec<String>>;
    /// The Secrets Manager secret `id`, an ARN or a name (DescribeSecret).
    async fn secret(&self, id: &str) -> BackendResult<Lookup>;
    /// The IAM role called `name` (GetRole).
    async fn iam_role(&self, name: &str) -> BackendResult<Lookup>;
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
    /// CloudWatch metrics and alarms.
    pub metrics: Arc<dyn MetricsApi>,
    /// Quorum JSON-RPC.
    pub rpc: Arc<dyn RpcApi>,
    /// STS caller identity.
    pub identity: Arc<dyn IdentityApi>,
    /// The action lock: the team's DynamoDB table, or this host's lock files.
    pub locks: Arc<dyn lock::LockStore>,
    /// ECR, SSM, Secrets Manager and IAM, looked up before a release.
    pub verify: Arc<dyn VerifyApi>,
}

impl std::fmt::Debug for EnvBackends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnvBackends")
    }
}
