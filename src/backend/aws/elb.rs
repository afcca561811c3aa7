//! ELBv2 on the AWS SDK: [`AwsElb`], the [`ElbApi`] of one environment, and what its two
//! halves share (the client, error classification, target health, forward actions).
//!
//! `switch` reads and flips the internal-ALB switch between the Quorum general nodes
//! (`alb_switch.mode` listener or targets; the wiring is explained there). `paths` finds
//! the load balancers, listeners and target health a request passes through.
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
//! balancer) and `DescribeTargetHealth` (one per target group). Only target health moves
//! from one poll to the next: the rest (the topology) is kept and read again after
//! [`TOPOLOGY_KEPT_FOR`], when the set of target groups asked about changes, and when a
//! switch is applied here or a read of the switch finds it forwarding elsewhere (a
//! listener's forward is part of the topology). A still request path costs one
//! `DescribeTargetHealth` per target group a poll.
//!
//! This module decides nothing about whether a switch is wise (the sync gate does), and
//! knows nothing of the terminal.

mod paths;
mod switch;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, TargetDescription, TargetGroupTuple, TargetHealthDescription,
};

use super::auth::classify;
use crate::backend::{BackendError, BackendResult, ElbApi};
use crate::config::AlbSwitch;
use crate::model::alb::{PathTopology, SwitchView, TargetHealth, WeightedTargetGroup};

pub use paths::ARNS_PER_DESCRIBE;
pub use switch::HealthWait;

/// How long a request path's topology (target groups, load balancers, listeners) is used
/// before it is read again, when nothing said it changed sooner.
pub const TOPOLOGY_KEPT_FOR: Duration = Duration::from_secs(300);

/// ELBv2 for one environment.
#[derive(Clone)]
pub struct AwsElb {
    client: Client,
    profile: Option<String>,
    health_wait: HealthWait,
    kept: Arc<Mutex<Kept>>,
}

/// What the reads of this environment keep between polls.
#[derive(Debug, Default)]
struct Kept {
    /// Topologies by the target groups asked about.
    topologies: HashMap<Vec<String>, paths::KeptTopology>,
    /// The nodes each switch forwarded to at its last read, by its configuration.
    forwards: HashMap<String, Vec<String>>,
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
            kept: Arc::default(),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops every topology kept: the next discovery reads them whole.
    fn forget_topologies(&self) {
        self.kept().topologies.clear();
    }

    /// Changes how long a targets-mode switch waits for the new target's health.
    #[must_use]
    pub fn with_health_wait(mut self, wait: HealthWait) -> Self {
        self.health_wait = wait;
        self
    }

    fn fail<E, R>(&self, operation: &str) -> impl Fn(SdkError<E, R>) -> BackendError + '_
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let action = format!("elasticloadbalancing:{operation}");
        move |err| classify(&err, &action, self.profile.as_deref())
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
}

#[async_trait]
impl ElbApi for AwsElb {
    async fn read_switch(&self, switch: &AlbSwitch) -> BackendResult<SwitchView> {
        let view = self.switch_view(switch).await?;
        let key = format!(
            "{:?}|{:?}|{:?}",
            switch.listener_arn, switch.rule_arn, switch.target_group_arn
        );
        let forwards: Vec<String> = view
            .active_nodes()
            .into_iter()
            .map(str::to_string)
            .collect();
        let mut kept = self.kept();
        if kept
            .forwards
            .insert(key, forwards.clone())
            .is_some_and(|before| before != forwards)
        {
            // Switched by someone else: the listeners kept forward elsewhere now.
            kept.topologies.clear();
        }
        Ok(view)
    }

    async fn apply_switch(&self, switch: &AlbSwitch, node: &str) -> BackendResult<()> {
        let result = self.switch_to(switch, node).await;
        self.forget_topologies();
        result
    }

    async fn discover_paths(&self, target_group_arns: &[String]) -> BackendResult<PathTopology> {
        self.discover(target_group_arns).await
    }
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
