//! CloudWatch metrics and alarms as the console reads them: which series it asks for
//! ([`MetricKey`]: a [`Scope`] and a [`Metric`]), the points a read brings
//! ([`MetricBatch`]), the series kept for the last half hour ([`MetricSeries`]), the
//! alarms in ALARM ([`Alarm`]), and the thresholds that turn values into problems
//! ([`MetricThresholds`]).
//!
//! A key says everything a backend needs to ask for it: its namespace, metric name,
//! statistic and dimensions ([`MetricKey::namespace`] and the others), so the AWS
//! backend and the demo world read the same thing. Nothing here does I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clock::EpochMs;

/// One minute, the resolution of every series (ms).
pub const MINUTE_MS: EpochMs = 60_000;
/// How far back the series go: the sparklines' half hour (ms).
pub const WINDOW_MS: EpochMs = 30 * MINUTE_MS;

/// What a series is about. Load balancers and target groups are named by their
/// CloudWatch dimension values (`app/NAME/ID`, `targetgroup/NAME/ID`), read from their
/// ARNs ([`lb_dimension`], [`target_group_dimension`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Scope {
    /// An ECS service (AWS/ECS: ClusterName, ServiceName).
    Service {
        /// The ECS cluster's name.
        cluster: String,
        /// The service's name.
        service: String,
    },
    /// A target group behind a load balancer (AWS/ApplicationELB: LoadBalancer,
    /// TargetGroup).
    TargetGroup {
        /// `app/NAME/ID`.
        load_balancer: String,
        /// `targetgroup/NAME/ID`.
        target_group: String,
    },
    /// A whole load balancer (AWS/ApplicationELB: LoadBalancer).
    LoadBalancer {
        /// `app/NAME/ID`.
        load_balancer: String,
    },
    /// A WAF web ACL (AWS/WAFV2: WebACL, Region, Rule=ALL).
    WebAcl {
        /// The web ACL's name.
        name: String,
    },
    /// An RDS instance (AWS/RDS: DBInstanceIdentifier).
    Database {
        /// The instance identifier.
        instance: String,
    },
    /// An SQS queue (AWS/SQS: QueueName).
    Queue {
        /// The queue's name.
        name: String,
    },
}

/// Which metric of a scope, with the statistic the console reads of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// ECS CPUUtilization, average (%).
    Cpu,
    /// ECS MemoryUtilization, average (%).
    Memory,
    /// ALB RequestCount, sum per minute.
    Requests,
    /// ALB HTTPCode_Target_5XX_Count, sum per minute.
    Target5xx,
    /// ALB HTTPCode_ELB_5XX_Count, sum per minute.
    Elb5xx,
    /// ALB TargetResponseTime, p95 (seconds).
    ResponseP95,
    /// ALB TargetResponseTime, average (seconds).
    ResponseAverage,
    /// WAF AllowedRequests, sum per minute.
    WafAllowed,
    /// WAF BlockedRequests, sum per minute.
    WafBlocked,
    /// RDS CPUUtilization, average (%).
    DbCpu,
    /// RDS DatabaseConnections, average.
    DbConnections,
    /// RDS FreeStorageSpace, average (bytes).
    DbFreeStorage,
    /// RDS ReadLatency, average (seconds).
    DbReadLatency,
    /// RDS WriteLatency, average (seconds).
    DbWriteLatency,
    /// SQS ApproximateNumberOfMessagesVisible, maximum.
    QueueVisible,
    /// SQS ApproximateAgeOfOldestMessage, maximum (seconds).
    QueueOldestAge,
}

/// One series the console reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct MetricKey {
    /// What it is about.
    pub scope: Scope,
    /// Which metric.
    pub metric: Metric,
}

impl MetricKey {
    /// A key.
    pub fn new(scope: Scope, metric: Metric) -> Self {
        Self { scope, metric }
    }

    /// A service's key.
    pub fn service(cluster: &str, service: &str, metric: Metric) -> Self {
        Self::new(
            Scope::Service {
                cluster: cluster.to_string(),
                service: service.to_string(),
            },
            metric,
        )
    }

    /// The CloudWatch namespace.
    pub fn namespace(&self) -> &'static str {
        match self.scope {
            Scope::Service { .. } => "AWS/ECS",
            Scope::TargetGroup { .. } | Scope::LoadBalancer { .. } => "AWS/ApplicationELB",
            Scope::WebAcl { .. } => "AWS/WAFV2",
            Scope::Database { .. } => "AWS/RDS",
            Scope::Queue { .. } => "AWS/SQS",
        }
    }

    /// The CloudWatch metric name.
    pub fn metric_name(&self) -> &'static str {
        match self.metric {
            Metric::Cpu | Metric::DbCpu => "CPUUtilization",
            Metric::Memory => "MemoryUtilization",
            Metric::Requests => "RequestCount",
            Metric::Target5xx => "HTTPCode_Target_5XX_Count",
            Metric::Elb5xx => "HTTPCode_ELB_5XX_Count",
            Metric::ResponseP95 | Metric::ResponseAverage => "TargetResponseTime",
            Metric::WafAllowed => "AllowedRequests",
            Metric::WafBlocked => "BlockedRequests",
            Metric::DbConnections => "DatabaseConnections",
            Metric::DbFreeStorage => "FreeStorageSpace",
            Metric::DbReadLatency => "ReadLatency",
            Metric::DbWriteLatency => "WriteLatency",
            Metric::QueueVisible => "ApproximateNumberOfMessagesVisible",
            Metric::QueueOldestAge => "ApproximateAgeOfOldestMessage",
        }
    }

    /// The statistic: `Sum`, `Average`, `Maximum` or a percentile (`p95`).
    pub fn stat(&self) -> &'static str {
        match self.metric {
            Metric::Requests
            | Metric::Target5xx
            | Metric::Elb5xx
            | Metric::WafAllowed
            | Metric::WafBlocked => "Sum",
            Metric::ResponseP95 => "p95",
            Metric::QueueVisible | Metric::QueueOldestAge => "Maximum",
            _ => "Average",
        }
    }

    /// The dimensions, name and value; `region` is the WAF's `Region`.
    pub fn dimensions(&self, region: &str) -> Vec<(&'static str, String)> {
        match &self.scope {
            Scope::Service { cluster, service } => vec![
                ("ClusterName", cluster.clone()),
                ("ServiceName", service.clone()),
            ],
            Scope::TargetGroup {
                load_balancer,
                target_group,
            } => vec![
                ("LoadBalancer", load_balancer.clone()),
                ("TargetGroup", target_group.clone()),
            ],
            Scope::LoadBalancer { load_balancer } => {
                vec![("LoadBalancer", load_balancer.clone())]
            }
            Scope::WebAcl { name } => vec![
                ("WebACL", name.clone()),
                ("Region", region.to_string()),
                ("Rule", "ALL".to_string()),
            ],
            Scope::Database { instance } => vec![("DBInstanceIdentifier", instance.clone())],
            Scope::Queue { name } => vec![("QueueName", name.clone())],
        }
    }
}

/// The `app/NAME/ID` dimension of a load balancer ARN (`…:loadbalancer/app/NAME/ID`).
pub fn lb_dimension(arn: &str) -> Option<&str> {
    arn.split_once(":loadbalancer/").map(|(_, rest)| rest)
}

/// The `targetgroup/NAME/ID` dimension of a target group ARN (`…:targetgroup/NAME/ID`).
pub fn target_group_dimension(arn: &str) -> Option<&str> {
    arn.rfind(":targetgroup/").map(|at| &arn[at + 1..])
}

/// The CloudWatch resources of a cluster's request path beyond ECS and ELB, from its
/// config: a WAF before the external ALB, RDS instances and SQS queues beside the API.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PathResources {
    /// The WAF web ACL's name.
    pub waf_web_acl: Option<String>,
    /// RDS instance identifiers.
    pub rds_instances: Vec<String>,
    /// SQS queue names.
    pub sqs_queues: Vec<String>,
}

/// The series a cluster's views need: CPU and memory of each service, requests, 5xx
/// and response times of each target group behind each of its load balancers and the
/// load balancers' own 5xx, and the WAF, RDS and SQS metrics of `resources`.
pub fn keys_for_cluster(
    ecs_cluster: &str,
    services: &[String],
    topology: Option<&crate::model::alb::PathTopology>,
    resources: &PathResources,
) -> Vec<MetricKey> {
    let mut out = Vec::new();
    for service in services {
        for metric in [Metric::Cpu, Metric::Memory] {
            out.push(MetricKey::service(ecs_cluster, service, metric));
        }
    }
    if let Some(topology) = topology {
        for lb in &topology.load_balancers {
            let Some(lb_dim) = lb_dimension(&lb.arn) else {
                continue;
            };
            for metric in [Metric::Requests, Metric::Elb5xx] {
                out.push(MetricKey::new(
                    Scope::LoadBalancer {
                        load_balancer: lb_dim.to_string(),
                    },
                    metric,
                ));
            }
        }
        for group in &topology.target_groups {
            let Some(tg_dim) = target_group_dimension(&group.arn) else {
                continue;
            };
            for lb in group
                .load_balancer_arns
                .iter()
                .filter_map(|a| lb_dimension(a))
            {
                for metric in [
                    Metric::Requests,
                    Metric::Target5xx,
                    Metric::ResponseP95,
                    Metric::ResponseAverage,
                ] {
                    out.push(MetricKey::new(
                        Scope::TargetGroup {
                            load_balancer: lb.to_string(),
                            target_group: tg_dim.to_string(),
                        },
                        metric,
                    ));
                }
            }
        }
    }
    if let Some(name) = &resources.waf_web_acl {
        for metric in [Metric::WafAllowed, Metric::WafBlocked] {
            out.push(MetricKey::new(Scope::WebAcl { name: name.clone() }, metric));
        }
    }
    for instance in &resources.rds_instances {
        for metric in [
            Metric::DbCpu,
            Metric::DbConnections,
            Metric::DbFreeStorage,
            Metric::DbReadLatency,
            Metric::DbWriteLatency,
        ] {
            out.push(MetricKey::new(
                Scope::Database {
                    instance: instance.clone(),
                },
                metric,
            ));
        }
    }
    for name in &resources.sqs_queues {
        for metric in [Metric::QueueVisible, Metric::QueueOldestAge] {
            out.push(MetricKey::new(Scope::Queue { name: name.clone() }, metric));
        }
    }
    out
}

/// What one read brought: per key, its points (minute start in ms, value), oldest
/// first. A key with no points had no data in the window.
pub type MetricBatch = Vec<(MetricKey, Vec<(EpochMs, f64)>)>;

/// The series of an environment as kept: per key, the points of the last
/// [`WINDOW_MS`], oldest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricSeries {
    /// Points per key.
    pub series: BTreeMap<MetricKey, Vec<(EpochMs, f64)>>,
}

impl MetricSeries {
    /// Merges a read in: a point of a minute already held replaces it (CloudWatch fills
    /// the newest minutes in late), points older than the window before `now` go, and
    /// so do keys the read did not ask (a service removed). Whether anything changed.
    pub fn merge(&mut self, batch: MetricBatch, now: EpochMs) -> bool {
        // The window's first minute began a little more than the window before `now`.
        let oldest = now - WINDOW_MS - MINUTE_MS;
        let mut changed = false;
        let asked: Vec<MetricKey> = batch.iter().map(|(k, _)| k.clone()).collect();
        for (key, points) in batch {
            let held = self.series.entry(key).or_default();
            let before = held.clone();
            for (at, value) in points {
                if !value.is_finite() {
                    continue;
                }
                match held.binary_search_by_key(&at, |(t, _)| *t) {
                    Ok(i) => held[i].1 = value,
                    Err(i) => held.insert(i, (at, value)),
                }
            }
            held.retain(|(t, _)| *t >= oldest);
            changed |= *held != before;
        }
        let count = self.series.len();
        self.series.retain(|k, _| asked.contains(k));
        changed | (count != self.series.len())
    }

    /// The points of `key`, oldest first (empty when none).
    pub fn points(&self, key: &MetricKey) -> &[(EpochMs, f64)] {
        self.series.get(key).map_or(&[], Vec::as_slice)
    }

    /// The newest value of `key`: `None` when it has no data.
    pub fn latest(&self, key: &MetricKey) -> Option<f64> {
        self.points(key).last().map(|(_, v)| *v)
    }

    /// The newest value of `key` at the newest minute `other` has too, for ratios of
    /// two series (5xx of requests); `None` when either has no data.
    pub fn latest_pair(&self, key: &MetricKey, other: &MetricKey) -> Option<(f64, f64)> {
        let b = self.points(other);
        let (at, vb) = *b.last()?;
        let a = self.points(key);
        // A count with no point in a minute had none (CloudWatch leaves zeroes out).
        let va = a
            .binary_search_by_key(&at, |(t, _)| *t)
            .map_or(0.0, |i| a[i].1);
        Some((va, vb))
    }
}

/// One CloudWatch alarm in state ALARM.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alarm {
    /// Its name.
    pub name: String,
    /// Why it is in ALARM, as CloudWatch put it.
    pub reason: String,
    /// Since when (ms).
    pub since: EpochMs,
    /// Its metric's namespace and name, when it watches one metric.
    pub metric: Option<String>,
    /// Its metric's dimensions, name and value.
    pub dimensions: Vec<(String, String)>,
}

impl Alarm {
    /// The value of dimension `name`.
    pub fn dimension(&self, name: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// When a metric becomes a problem (the `[metrics]` table of the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricThresholds {
    /// 5xx above this % of a hop's requests: a warning.
    pub error_rate_warn_pct: u64,
    /// 5xx above this %: critical.
    pub error_rate_critical_pct: u64,
    /// p95 response time above this: a warning (ms).
    pub p95_warn_ms: u64,
    /// A service's CPU above this %: a warning.
    pub cpu_warn_pct: u64,
    /// A service's memory above this %: a warning.
    pub memory_warn_pct: u64,
    /// WAF blocked requests above this % of all: a warning.
    pub waf_blocked_warn_pct: u64,
    /// A queue's oldest message older than this: a warning (seconds).
    pub queue_oldest_warn_secs: u64,
    /// An RDS instance's free storage below this: a warning (GiB).
    pub db_free_storage_warn_gib: u64,
}

impl Default for MetricThresholds {
    fn default() -> Self {
        Self {
            error_rate_warn_pct: 1,
            error_rate_critical_pct: 5,
            p95_warn_ms: 1000,
            cpu_warn_pct: 90,
            memory_warn_pct: 90,
            waf_blocked_warn_pct: 20,
            queue_oldest_warn_secs: 300,
            db_free_storage_warn_gib: 10,
        }
    }
}

/// A value for a person: `–` when there is none, never 0.
pub fn shown(value: Option<f64>, format: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "–".to_string(), format)
}

/// A count per minute, short: `950`, `1.2k`, `35k`.
pub fn per_minute(value: f64) -> String {
    if value >= 10_000.0 {
        format!("{:.0}k", value / 1000.0)
    } else if value >= 1000.0 {
        format!("{:.1}k", value / 1000.0)
    } else {
        format!("{value:.0}")
    }
}

/// A sparkline of `points` (oldest first) `width` characters wide over the window
/// ending at `end`: one character per slice of the window, the highest value in it, on
/// a scale from 0 to `max` (or the points' maximum when higher); a slice without data
/// is a space.
pub fn sparkline(points: &[(EpochMs, f64)], end: EpochMs, width: usize, max: f64) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if width == 0 {
        return String::new();
    }
    let top = points.iter().map(|(_, v)| *v).fold(max, f64::max);
    let start = end - WINDOW_MS;
    let mut slices = vec![None::<f64>; width];
    for (at, value) in points {
        if *at < start || *at >= end {
            continue;
        }
        let i = (((*at - start) as f64 / WINDOW_MS as f64) * width as f64) as usize;
        let slot = &mut slices[i.min(width - 1)];
        *slot = Some(slot.map_or(*value, |v: f64| v.max(*value)));
    }
    slices
        .into_iter()
        .map(|v| match v {
            None => ' ',
            Some(_) if top <= 0.0 => BARS[0],
            Some(v) => BARS[((v / top) * 7.0).round().clamp(0.0, 7.0) as usize],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(metric: Metric) -> MetricKey {
        MetricKey::service("c", "api", metric)
    }

    #[test]
    fn dimensions_come_from_arns() {
        let lb = "arn:aws:elasticloadbalancing:ap-northeast-1:1:loadbalancer/app/ext/50dc6c";
        let tg = "arn:aws:elasticloadbalancing:ap-northeast-1:1:targetgroup/api/73e2d6";
        assert_eq!(lb_dimension(lb), Some("app/ext/50dc6c"));
        assert_eq!(target_group_dimension(tg), Some("targetgroup/api/73e2d6"));
        assert_eq!(lb_dimension("nonsense"), None);
        let waf = MetricKey::new(Scope::WebAcl { name: "w".into() }, Metric::WafBlocked);
        assert_eq!(waf.dimensions("ap-northeast-1")[1].1, "ap-northeast-1");
        assert_eq!(
            (waf.namespace(), waf.metric_name(), waf.stat()),
            ("AWS/WAFV2", "BlockedRequests", "Sum")
        );
        assert_eq!(key(Metric::ResponseP95).stat(), "p95");
    }

    #[test]
    fn a_merge_replaces_minutes_drops_the_old_and_the_unasked() {
        let mut s = MetricSeries::default();
        let now = 100 * MINUTE_MS;
        let first = vec![
            (
                key(Metric::Cpu),
                vec![(60 * MINUTE_MS, 1.0), (99 * MINUTE_MS, 2.0)],
            ),
            (key(Metric::Memory), vec![]),
        ];
        assert!(s.merge(first, now));
        assert_eq!(s.points(&key(Metric::Cpu)), &[(99 * MINUTE_MS, 2.0)]);
        assert_eq!(s.latest(&key(Metric::Memory)), None, "no data is no value");
        let again = vec![(key(Metric::Cpu), vec![(99 * MINUTE_MS, 2.0)])];
        assert!(s.merge(again.clone(), now), "memory was not asked: dropped");
        assert!(!s.merge(again, now), "the same read changes nothing");
        let late = vec![(
            key(Metric::Cpu),
            vec![(99 * MINUTE_MS, 3.0), (100 * MINUTE_MS, f64::NAN)],
        )];
        assert!(s.merge(late, now));
        assert_eq!(s.latest(&key(Metric::Cpu)), Some(3.0));
    }

    #[test]
    fn a_ratio_pairs_the_newest_minute_and_counts_a_missing_count_as_none() {
        let mut s = MetricSeries::default();
        s.merge(
            vec![
                (key(Metric::Target5xx), vec![(MINUTE_MS, 5.0)]),
                (
                    key(Metric::Requests),
                    vec![(MINUTE_MS, 100.0), (2 * MINUTE_MS, 50.0)],
                ),
            ],
            2 * MINUTE_MS,
        );
        assert_eq!(
            s.latest_pair(&key(Metric::Target5xx), &key(Metric::Requests)),
            Some((0.0, 50.0))
        );
        assert_eq!(
            s.latest_pair(&key(Metric::Requests), &key(Metric::Cpu)),
            None
        );
    }

    #[test]
    fn sparklines_scale_to_the_top_and_leave_gaps() {
        let end = 30 * MINUTE_MS;
        let points: Vec<_> = (0..30).map(|m| (m * MINUTE_MS, m as f64)).collect();
        let line = sparkline(&points, end, 10, 0.0);
        assert_eq!(line.chars().count(), 10);
        assert!(line.starts_with('▁') && line.ends_with('█'), "{line}");
        let sparse = sparkline(&points[..3], end, 10, 100.0);
        assert_eq!(sparse, "▁         ");
        assert_eq!(shown(None, |v| format!("{v}")), "–");
        assert_eq!(per_minute(1234.0), "1.2k");
    }
}
