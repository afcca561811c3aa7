//! The demo world's CloudWatch: one-minute series for the keys the console asks, and
//! alarms, that follow the world's incidents.
//!
//! Each tick records what stresses the environment that minute ([`Stress`]): a
//! cluster whose active general node is behind (down, lagging, stalled or catching
//! up), and services whose tasks crash at start (a bad release, a service down). A
//! stressed minute moves the numbers: the API's and the entry's 5xx and response times
//! rise while the active node lags (the API waits on Quorum), a crashing service's CPU
//! runs hot. Everything else is a quiet baseline with noise drawn from (seed, key,
//! minute), so a series depends only on the seed, the time and what happened. Two
//! alarms follow the same minutes: `…-api-5xx` and `…-cpu-high`. Nothing here reads the
//! clock or changes the world.

use std::collections::VecDeque;

use crate::clock::EpochMs;
use crate::model::ecs::task_definition_revision;
use crate::model::metrics::{Alarm, MINUTE_MS, Metric, MetricKey, Scope};

use super::chain::NodeMode;
use super::rng::{hash_str, mix};
use super::topology::ServiceKind;
use super::world::EnvWorld;

/// Minutes of stress kept: the half hour of the sparklines and a little more.
const KEPT_MINUTES: usize = 40;

/// What stressed one minute of the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StressMinute {
    /// Epoch minute.
    minute: i64,
    /// Per cluster: its active general node was behind.
    lagging: Vec<bool>,
    /// Per cluster and service: its tasks crashed at start.
    crashing: Vec<Vec<bool>>,
}

/// The stress of the last [`KEPT_MINUTES`] minutes.
#[derive(Debug, Clone, Default)]
pub(super) struct Stress {
    minutes: VecDeque<StressMinute>,
}

impl Stress {
    /// Records tick `now` (epoch seconds) of `world`.
    pub(super) fn record(world: &mut EnvWorld, now: i64) {
        let minute = now.div_euclid(60);
        let lagging: Vec<bool> = world
            .clusters
            .iter()
            .map(|c| {
                world
                    .switches
                    .iter()
                    .find(|s| s.cluster == c.index)
                    .and_then(|s| s.members.get(s.active()?))
                    .and_then(|m| world.nodes.get(m.node_index))
                    .is_some_and(|n| !n.up || n.mode != NodeMode::Following)
            })
            .collect();
        let crashing: Vec<Vec<bool>> = world
            .clusters
            .iter()
            .map(|c| {
                c.services
                    .iter()
                    .map(|s| {
                        // A service down, or a release of a bad revision under way.
                        let releasing_bad = s.bad_release.is_some_and(|(good, until)| {
                            now < until
                                && s.deployments.first().is_some_and(|d| {
                                    task_definition_revision(&d.task_definition)
                                        .is_some_and(|r| r > good)
                                })
                        });
                        now < s.crash_until || releasing_bad
                    })
                    .collect()
            })
            .collect();
        let minutes = &mut world.stress.minutes;
        match minutes.back_mut() {
            Some(last) if last.minute == minute => {
                for (was, is) in last.lagging.iter_mut().zip(&lagging) {
                    *was |= *is;
                }
                for (was, is) in last.crashing.iter_mut().zip(&crashing) {
                    for (w, i) in was.iter_mut().zip(is) {
                        *w |= *i;
                    }
                }
            }
            _ => {
                minutes.push_back(StressMinute {
                    minute,
                    lagging,
                    crashing,
                });
                while minutes.len() > KEPT_MINUTES {
                    minutes.pop_front();
                }
            }
        }
    }

    fn at(&self, minute: i64) -> Option<&StressMinute> {
        self.minutes.iter().rev().find(|m| m.minute == minute)
    }
}

/// Where a key lands in the world: a cluster, and a service of it when the key names one.
struct Place {
    cluster: usize,
    service: Option<usize>,
}

fn place(world: &EnvWorld, scope: &Scope) -> Option<Place> {
    let spec = world.spec;
    let cluster_named = |name: &str| {
        world
            .clusters
            .iter()
            .position(|c| name.starts_with(&format!("ibet-{}-{}-", spec.short, c.spec.name)))
    };
    match scope {
        Scope::Service { cluster, service } => {
            let ci = world.clusters.iter().position(|c| &c.ecs_name == cluster)?;
            let si = world.clusters[ci]
                .services
                .iter()
                .position(|s| &s.spec.name == service)?;
            Some(Place {
                cluster: ci,
                service: Some(si),
            })
        }
        Scope::TargetGroup {
            load_balancer,
            target_group,
        } => {
            let lb = load_balancer.split('/').nth(1)?;
            let ci = cluster_named(lb)?;
            let si = world.clusters[ci].services.iter().position(|s| {
                s.target_groups
                    .iter()
                    .any(|g| g.arn.ends_with(&format!(":{target_group}")))
            });
            Some(Place {
                cluster: ci,
                service: si,
            })
        }
        Scope::LoadBalancer { load_balancer } => Some(Place {
            cluster: cluster_named(load_balancer.split('/').nth(1)?)?,
            service: None,
        }),
        Scope::WebAcl { name } | Scope::Queue { name } => Some(Place {
            cluster: cluster_named(name)?,
            service: None,
        }),
        Scope::Database { instance } => Some(Place {
            cluster: cluster_named(instance)?,
            service: None,
        }),
    }
}

/// A number in `0..1` drawn from `salt` and `minute`.
fn noise(salt: u64, minute: i64) -> f64 {
    (mix(salt, minute as u64) >> 11) as f64 / (1_u64 << 53) as f64
}

/// The points of every key from `start` to `end` (ms), as CloudWatch would answer.
pub(super) fn metric_data(
    world: &EnvWorld,
    seed: u64,
    keys: &[MetricKey],
    start: EpochMs,
    end: EpochMs,
) -> Vec<Vec<(EpochMs, f64)>> {
    let first = start.div_euclid(MINUTE_MS);
    // Nothing of a minute that has not ended yet in the world.
    let last = end.min((world.now_tick() + 1) * 1000).div_euclid(MINUTE_MS);
    keys.iter()
        .map(|key| {
            let Some(place) = place(world, &key.scope) else {
                return Vec::new();
            };
            let salt = mix(seed, hash_str(&format!("{key:?}")));
            (first..last)
                .filter_map(|minute| {
                    value(world, &place, key, minute, noise(salt, minute))
                        .map(|v| (minute * MINUTE_MS, v))
                })
                .collect()
        })
        .collect()
}

/// The value of `key` at `minute`, or `None` when CloudWatch has no point (a count of
/// nothing).
fn value(world: &EnvWorld, place: &Place, key: &MetricKey, minute: i64, noise: f64) -> Option<f64> {
    let stress = world.stress.at(minute);
    let lagging = stress.is_some_and(|s| s.lagging.get(place.cluster) == Some(&true));
    let crashing = place.service.is_some_and(|si| {
        stress.is_some_and(|s| {
            s.crashing
                .get(place.cluster)
                .and_then(|c| c.get(si))
                .copied()
                .unwrap_or(false)
        })
    });
    let cluster = &world.clusters[place.cluster];
    let kind = place
        .service
        .and_then(|si| cluster.services.get(si))
        .map(|s| s.spec.kind);
    // The API (and the entry in front of it) waits on the active node.
    let feels_lag = lagging && matches!(kind, Some(ServiceKind::Api | ServiceKind::Nginx));
    let share = cluster.spec.traffic_share.max(50) as f64 / 1000.0;
    let requests = world.spec.requests_per_ks as f64 * 0.06 * share * (0.9 + 0.2 * noise);
    Some(match key.metric {
        Metric::Cpu => {
            if crashing {
                93.0 + 5.0 * noise
            } else {
                let base = match kind {
                    Some(ServiceKind::Api) => 28.0,
                    Some(ServiceKind::Nginx) => 9.0,
                    Some(ServiceKind::General(_) | ServiceKind::Validator(_)) => 34.0,
                    _ => 14.0,
                };
                base + if feels_lag { 20.0 } else { 0.0 } + 6.0 * noise
            }
        }
        Metric::Memory => {
            // The Quorum containers creep up between their restarts (the leak).
            let creep = match kind {
                Some(ServiceKind::General(_) | ServiceKind::Validator(_)) => {
                    minute.rem_euclid(360) as f64 / 12.0
                }
                _ => 0.0,
            };
            45.0 + creep + 4.0 * noise
        }
        Metric::Requests | Metric::WafAllowed => requests,
        Metric::WafBlocked => requests * (0.03 + 0.03 * noise),
        // A quiet minute has no 5xx at all: CloudWatch then has no point.
        Metric::Target5xx if feels_lag => (requests * (0.07 + 0.04 * noise)).round(),
        Metric::Target5xx | Metric::Elb5xx => return None,
        Metric::ResponseP95 => {
            if feels_lag {
                1.6 + 0.8 * noise
            } else {
                0.12 + 0.06 * noise
            }
        }
        Metric::ResponseAverage => {
            if feels_lag {
                0.7 + 0.3 * noise
            } else {
                0.04 + 0.02 * noise
            }
        }
        Metric::DbCpu => 18.0 + 8.0 * noise,
        Metric::DbConnections => (40.0 + 20.0 * noise).round(),
        Metric::DbFreeStorage => {
            (62.0 - minute.rem_euclid(1440) as f64 / 1440.0) * 1024.0 * 1024.0 * 1024.0
        }
        Metric::DbReadLatency => 0.0015 + 0.001 * noise,
        Metric::DbWriteLatency => 0.003 + 0.002 * noise,
        Metric::QueueVisible => (5.0 * noise).floor(),
        Metric::QueueOldestAge => (5.0 + 35.0 * noise).floor(),
    })
}

/// The alarms in ALARM at tick `now`: a cluster's `…-api-5xx` while its active node has
/// lagged every minute since the alarm began, a service's `…-cpu-high` while its tasks
/// crash; each since the first minute of its run (ms).
pub(super) fn alarms(world: &EnvWorld, prefix: Option<&str>) -> Vec<Alarm> {
    let minutes = &world.stress.minutes;
    // The newest minute that has ended.
    let current = world.now_tick().div_euclid(60);
    let ended: Vec<&StressMinute> = minutes.iter().filter(|m| m.minute < current).collect();
    let since = |hit: &dyn Fn(&StressMinute) -> bool| -> Option<EpochMs> {
        let newest = ended.last().filter(|m| hit(m))?;
        let mut first = newest.minute;
        for m in ended.iter().rev() {
            if !hit(m) {
                break;
            }
            first = m.minute;
        }
        // CloudWatch moves to ALARM when the minute's data comes in.
        Some((first + 1) * MINUTE_MS)
    };
    let mut out = Vec::new();
    for (ci, cluster) in world.clusters.iter().enumerate() {
        if let Some(at) = since(&|m: &StressMinute| m.lagging.get(ci) == Some(&true)) {
            out.push(Alarm {
                name: format!("ibet-{}-{}-api-5xx", world.spec.short, cluster.spec.name),
                reason: "Threshold Crossed: 1 datapoint [8.2 (5xx %)] was greater than the \
                         threshold (5.0)."
                    .into(),
                since: at,
                metric: Some("AWS/ApplicationELB HTTPCode_Target_5XX_Count".into()),
                dimensions: cluster
                    .services
                    .iter()
                    .find(|s| s.spec.kind == ServiceKind::Api)
                    .and_then(|s| s.target_groups.first())
                    .map(|g| {
                        let lb = world
                            .spec
                            .load_balancer_arn(&world.spec.internal_alb(cluster.spec.name));
                        vec![
                            (
                                "LoadBalancer".to_string(),
                                crate::model::metrics::lb_dimension(&lb)
                                    .unwrap_or_default()
                                    .to_string(),
                            ),
                            (
                                "TargetGroup".to_string(),
                                crate::model::metrics::target_group_dimension(&g.arn)
                                    .unwrap_or_default()
                                    .to_string(),
                            ),
                        ]
                    })
                    .unwrap_or_default(),
            });
        }
        for (si, service) in cluster.services.iter().enumerate() {
            let hit = |m: &StressMinute| {
                m.crashing
                    .get(ci)
                    .and_then(|c| c.get(si))
                    .copied()
                    .unwrap_or(false)
            };
            if let Some(at) = since(&hit) {
                out.push(Alarm {
                    name: format!(
                        "ibet-{}-{}-{}-cpu-high",
                        world.spec.short, cluster.spec.name, service.spec.name
                    ),
                    reason: "Threshold Crossed: 1 datapoint [95.1 (CPU %)] was greater than \
                             the threshold (90.0)."
                        .into(),
                    since: at,
                    metric: Some("AWS/ECS CPUUtilization".into()),
                    dimensions: vec![
                        ("ClusterName".to_string(), cluster.ecs_name.clone()),
                        ("ServiceName".to_string(), service.spec.name.clone()),
                    ],
                });
            }
        }
    }
    out.retain(|a| prefix.is_none_or(|p| a.name.starts_with(p)));
    out.sort_by(|a, b| a.since.cmp(&b.since).then(a.name.cmp(&b.name)));
    out
}
