//! Pollers: one tokio task per environment × cluster (ECS, ALB switch) and per Quorum
//! node, each calling its backend on an interval and sending the result as a [`Msg`].
//! The ECS poller also discovers the cluster's request path: after each snapshot it asks
//! ELBv2 once about the target groups of the services and of the ALB switch.
//!
//! The draw loop never waits on these: a hung endpoint makes its panel stale, never the
//! screen frozen. Throttling backs off exponentially with jitter ([`Backoff`]); other
//! errors are retried at the normal interval so recovery shows within one or two polls.
//! The backoff is the one the log tail uses ([`Backoff`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::app::msg::{ClusterAddr, Msg};
use crate::backend::{BackendError, EnvBackends};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::logs::budget::Backoff;
use crate::path::target_groups_to_discover;

/// The delay before the next poll after `result`.
fn delay_after<T>(
    result: &Result<T, BackendError>,
    interval: Duration,
    backoff: &mut Backoff,
) -> Duration {
    match result {
        Err(e) if e.is_throttling() => backoff.next_delay().max(interval),
        _ => {
            backoff.reset();
            interval
        }
    }
}

/// The running pollers; dropping this stops them.
#[derive(Debug)]
pub struct Pollers {
    handles: Vec<JoinHandle<()>>,
    refresh: watch::Sender<u64>,
}

impl Pollers {
    /// Asks every poller to poll now.
    pub fn refresh_now(&self) {
        self.refresh.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl Drop for Pollers {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

/// Waits `d`, or less when a refresh is asked for. Returns false when the sender is gone.
async fn pause(d: Duration, refresh: &mut watch::Receiver<u64>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => true,
        r = refresh.changed() => r.is_ok(),
    }
}

/// Starts every poller for `config`, one backend bundle per environment.
pub fn spawn(
    config: &Config,
    backends: &[EnvBackends],
    clock: &SharedClock,
    tx: &mpsc::Sender<Msg>,
) -> Pollers {
    let (refresh, _) = watch::channel(0u64);
    let mut handles = Vec::new();
    let ecs_interval = Duration::from_secs(config.refresh_secs.max(1));
    let rpc_interval = Duration::from_secs(config.rpc_poll_secs.max(1));
    for (ei, (env, be)) in config.environments.iter().zip(backends).enumerate() {
        for (ci, cluster) in env.clusters.iter().enumerate() {
            let at = ClusterAddr {
                env: ei,
                cluster: ci,
            };
            let seed = (ei as u64) << 32 | ci as u64;
            // ECS, then the request path of what the snapshot names
            {
                let ecs = Arc::clone(&be.ecs);
                let elb = Arc::clone(&be.elb);
                let name = cluster.ecs_cluster.clone();
                let switch = cluster.alb_switch.clone();
                let tx = tx.clone();
                let clock = Arc::clone(clock);
                let mut refresh = refresh.subscribe();
                handles.push(tokio::spawn(async move {
                    let mut backoff =
                        Backoff::new(ecs_interval, Duration::from_secs(120), seed ^ 0xEC5);
                    let mut groups = target_groups_to_discover(None, switch.as_ref());
                    loop {
                        let result = ecs.snapshot(&name).await;
                        let d = delay_after(&result, ecs_interval, &mut backoff);
                        if let Ok(snapshot) = &result {
                            groups = target_groups_to_discover(Some(snapshot), switch.as_ref());
                        }
                        let msg = Msg::Ecs {
                            at,
                            result,
                            when: clock.now_ms(),
                        };
                        if tx.send(msg).await.is_err() {
                            return;
                        }
                        if !groups.is_empty() {
                            let result = elb.discover_paths(&groups).await;
                            let msg = Msg::Paths {
                                at,
                                result,
                                when: clock.now_ms(),
                            };
                            if tx.send(msg).await.is_err() {
                                return;
                            }
                        }
                        if !pause(d, &mut refresh).await {
                            return;
                        }
                    }
                }));
            }
            // ALB switch
            if let Some(sw) = cluster.alb_switch.clone() {
                let elb = Arc::clone(&be.elb);
                let tx = tx.clone();
                let clock = Arc::clone(clock);
                let mut refresh = refresh.subscribe();
                handles.push(tokio::spawn(async move {
                    let mut backoff =
                        Backoff::new(ecs_interval, Duration::from_secs(120), seed ^ 0xA1B);
                    loop {
                        let result = elb.read_switch(&sw).await;
                        let d = delay_after(&result, ecs_interval, &mut backoff);
                        let msg = Msg::Switch {
                            at,
                            result,
                            when: clock.now_ms(),
                        };
                        if tx.send(msg).await.is_err() || !pause(d, &mut refresh).await {
                            return;
                        }
                    }
                }));
            }
            // Quorum nodes
            for (ni, node) in cluster.quorum_nodes.iter().enumerate() {
                let rpc = Arc::clone(&be.rpc);
                let node = node.clone();
                let tx = tx.clone();
                let mut refresh = refresh.subscribe();
                handles.push(tokio::spawn(async move {
                    let mut first = true;
                    loop {
                        let sample = rpc.sample(&node, first).await;
                        first = first && !sample.reachable;
                        let msg = Msg::Node {
                            at,
                            node: ni,
                            sample: Box::new(sample),
                        };
                        if tx.send(msg).await.is_err() || !pause(rpc_interval, &mut refresh).await {
                            return;
                        }
                    }
                }));
            }
        }
    }
    Pollers { handles, refresh }
}

/// Polls everything once, concurrently, and returns the results as messages in a fixed
/// order (environment, cluster, then ECS and the request path, switch, nodes). Used by
/// `status` and by tests.
pub async fn poll_once(config: &Config, backends: &[EnvBackends], clock: &SharedClock) -> Vec<Msg> {
    type Job<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Vec<Msg>> + Send + 'a>>;
    let mut jobs: Vec<Job<'_>> = Vec::new();
    for (ei, (env, be)) in config.environments.iter().zip(backends).enumerate() {
        for (ci, cluster) in env.clusters.iter().enumerate() {
            let at = ClusterAddr {
                env: ei,
                cluster: ci,
            };
            jobs.push(Box::pin(async move {
                let result = be.ecs.snapshot(&cluster.ecs_cluster).await;
                let groups =
                    target_groups_to_discover(result.as_ref().ok(), cluster.alb_switch.as_ref());
                let mut msgs = vec![Msg::Ecs {
                    at,
                    result,
                    when: clock.now_ms(),
                }];
                if !groups.is_empty() {
                    let result = be.elb.discover_paths(&groups).await;
                    msgs.push(Msg::Paths {
                        at,
                        result,
                        when: clock.now_ms(),
                    });
                }
                msgs
            }));
            if let Some(sw) = &cluster.alb_switch {
                jobs.push(Box::pin(async move {
                    let result = be.elb.read_switch(sw).await;
                    vec![Msg::Switch {
                        at,
                        result,
                        when: clock.now_ms(),
                    }]
                }));
            }
            for (ni, node) in cluster.quorum_nodes.iter().enumerate() {
                jobs.push(Box::pin(async move {
                    vec![Msg::Node {
                        at,
                        node: ni,
                        sample: Box::new(be.rpc.sample(node, true).await),
                    }]
                }));
            }
        }
    }
    futures_util::future::join_all(jobs)
        .await
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_throttling_backs_off() {
        let mut b = Backoff::new(Duration::from_secs(5), Duration::from_secs(60), 7);
        let i = Duration::from_secs(5);
        let other: Result<(), _> = Err(BackendError::Timeout { secs: 1 });
        assert_eq!(delay_after(&other, i, &mut b), i);
        let thr: Result<(), _> = Err(BackendError::Throttled("slow down".into()));
        assert!(delay_after(&thr, i, &mut b) >= i);
    }
}
