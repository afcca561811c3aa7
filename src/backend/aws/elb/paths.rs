//! Request-path discovery: for a set of target groups, their load balancers, listeners
//! and target health, read in two rounds (the costs are in the parent module's
//! documentation).
//!
//! It only reads, and judges nothing: the `path` module finds the first broken hop. The
//! ALB switch is `switch`'s business.

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types::{
    ActionTypeEnum, Listener, LoadBalancer, LoadBalancerSchemeEnum, TargetGroup,
};
use futures_util::future::try_join_all;

use super::{AwsElb, forwards, port};
use crate::backend::BackendResult;
use crate::model::alb::{
    LoadBalancerScheme, PathListener, PathLoadBalancer, PathTargetGroup, PathTopology, TargetHealth,
};

/// The most ARNs ELBv2 accepts in one `DescribeTargetGroups` or `DescribeLoadBalancers`.
pub const ARNS_PER_DESCRIBE: usize = 20;

impl AwsElb {
    /// [`ElbApi::discover_paths`](crate::backend::ElbApi::discover_paths): the load
    /// balancers, listeners and target health behind `target_group_arns` (duplicates
    /// ignored). See the parent module's documentation for the requests it costs.
    pub(super) async fn discover(
        &self,
        target_group_arns: &[String],
    ) -> BackendResult<PathTopology> {
        let asked = unique(target_group_arns.iter().map(String::as_str));
        if asked.is_empty() {
            return Ok(PathTopology::default());
        }
        let key: Vec<String> = asked.iter().map(ToString::to_string).collect();
        let kept = self.kept().topologies.get(&key).cloned();
        if let Some(kept) = kept.filter(|k| k.read_at.elapsed() < super::TOPOLOGY_KEPT_FOR) {
            let health = try_join_all(kept.groups.iter().map(|tg| {
                self.target_health(tg.target_group_arn.as_deref().unwrap_or_default(), None)
            }))
            .await?;
            return Ok(PathTopology {
                load_balancers: kept.load_balancers,
                target_groups: kept
                    .groups
                    .iter()
                    .zip(health)
                    .map(|(tg, health)| path_target_group(tg, &health))
                    .collect(),
            });
        }
        let batches = try_join_all(
            asked
                .chunks(ARNS_PER_DESCRIBE)
                .map(|batch| self.describe_target_groups(batch)),
        )
        .await?;
        let mut by_arn: BTreeMap<String, TargetGroup> = batches
            .into_iter()
            .flatten()
            .filter_map(|tg| Some((tg.target_group_arn.clone()?, tg)))
            .collect();
        let groups: Vec<_> = asked.iter().filter_map(|arn| by_arn.remove(*arn)).collect();
        let lb_arns = unique(
            groups
                .iter()
                .flat_map(TargetGroup::load_balancer_arns)
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
        let load_balancers: Vec<PathLoadBalancer> = lb_arns
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
        self.kept().topologies.insert(
            key,
            KeptTopology {
                read_at: tokio::time::Instant::now(),
                groups,
                load_balancers: load_balancers.clone(),
            },
        );
        Ok(PathTopology {
            load_balancers,
            target_groups,
        })
    }

    async fn describe_target_groups(&self, arns: &[&str]) -> BackendResult<Vec<TargetGroup>> {
        let out = self
            .client
            .describe_target_groups()
            .set_target_group_arns(Some(arns.iter().map(ToString::to_string).collect()))
            .send()
            .await
            .map_err(self.fail("DescribeTargetGroups"))?;
        Ok(out.target_groups.unwrap_or_default())
    }

    async fn describe_load_balancers(&self, arns: &[&str]) -> BackendResult<Vec<LoadBalancer>> {
        let out = self
            .client
            .describe_load_balancers()
            .set_load_balancer_arns(Some(arns.iter().map(ToString::to_string).collect()))
            .send()
            .await
            .map_err(self.fail("DescribeLoadBalancers"))?;
        Ok(out.load_balancers.unwrap_or_default())
    }

    async fn listeners_of(&self, load_balancer_arn: &str) -> BackendResult<Vec<Listener>> {
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
}

/// The topology of the target groups once asked about: what a poll uses again.
#[derive(Debug, Clone)]
pub(super) struct KeptTopology {
    read_at: tokio::time::Instant,
    groups: Vec<TargetGroup>,
    load_balancers: Vec<PathLoadBalancer>,
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

fn path_target_group(tg: &TargetGroup, targets: &[TargetHealth]) -> PathTargetGroup {
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

fn path_load_balancer(lb: &LoadBalancer, listeners: &[Listener]) -> PathLoadBalancer {
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
    use super::*;

    #[test]
    fn unique_keeps_the_first_order() {
        assert_eq!(unique(["b", "a", "b", "c", "a"]), vec!["b", "a", "c"]);
    }
}
