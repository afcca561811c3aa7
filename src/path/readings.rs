//! What CloudWatch says of each hop of a request path: requests a minute, the share of
//! 5xx answers (the external ALB's own 5xx included on its hop) and the response times
//! of each load balancer hop (its target group), and
//! the WAF, database and queue hops built from the cluster's config with their numbers.
//! Values over the `[metrics]` thresholds make a hop degraded (or down, for 5xx above
//! the critical share) with the reason, so the path, the problems list and `status`
//! say it the same way.
//!
//! Pure, like the rest of [`crate::path`]: it reads the world's series and changes
//! nothing else. A value without data is `None` (shown `–`), never 0.

use serde::Serialize;
use serde::ser::SerializeMap;

use super::{Hop, HopKind, RequestPath};
use crate::model::Health;
use crate::model::metrics::{
    Metric, MetricKey, MetricSeries, MetricThresholds, Scope, lb_dimension, per_minute,
    target_group_dimension,
};
use crate::world::{ClusterState, Panel};

/// One number of a hop: its name in `status --json` (`p95_ms`), its value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reading {
    /// The JSON name, which also says its unit.
    pub name: &'static str,
    /// The value; `None` without data.
    pub value: Option<f64>,
}

// The values are finite (series keep no NaN), so equality is total.
impl Eq for Reading {}

impl Reading {
    fn new(name: &'static str, value: Option<f64>) -> Self {
        Self { name, value }
    }

    /// For a person: `req/min 1.2k`, `5xx 0.3 %`, `p95 120 ms`; `–` without data.
    pub fn shown(&self) -> String {
        let (label, value) = match self.name {
            "req_per_min" => ("req/min", self.value.map(per_minute)),
            "errors_5xx_pct" => ("5xx", self.value.map(|v| format!("{v:.1} %"))),
            "p95_ms" => ("p95", self.value.map(|v| format!("{v:.0} ms"))),
            "avg_ms" => ("avg", self.value.map(|v| format!("{v:.0} ms"))),
            "allowed_per_min" => ("allowed/min", self.value.map(per_minute)),
            "blocked_pct" => ("blocked", self.value.map(|v| format!("{v:.1} %"))),
            "cpu_pct" => ("CPU", self.value.map(|v| format!("{v:.0} %"))),
            "connections" => ("conn", self.value.map(|v| format!("{v:.0}"))),
            "free_storage_gib" => ("free", self.value.map(|v| format!("{v:.1} GiB"))),
            "read_latency_ms" => ("read", self.value.map(|v| format!("{v:.1} ms"))),
            "write_latency_ms" => ("write", self.value.map(|v| format!("{v:.1} ms"))),
            "visible" => ("visible", self.value.map(|v| format!("{v:.0}"))),
            "oldest_age_secs" => ("oldest", self.value.map(|v| format!("{v:.0} s"))),
            other => (other, self.value.map(|v| format!("{v}"))),
        };
        format!("{label} {}", value.unwrap_or_else(|| "–".to_string()))
    }
}

/// Serializes readings as one JSON object, name → value (`null` without data).
pub(super) fn as_map<S: serde::Serializer>(
    readings: &[Reading],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(readings.len()))?;
    for r in readings {
        map.serialize_entry(r.name, &r.value)?;
    }
    map.end()
}

/// The readings of a hop, one line: `req/min 1.2k · 5xx 0.3 % · p95 120 ms`.
pub fn line(readings: &[Reading]) -> String {
    readings
        .iter()
        .map(Reading::shown)
        .collect::<Vec<_>>()
        .join(" · ")
}

/// A service's CPU and memory (%), the newest minute of each.
pub fn service_usage(
    metrics: &Panel<MetricSeries>,
    ecs_cluster: &str,
    service: &str,
) -> (Option<f64>, Option<f64>) {
    let Some(series) = metrics.data.as_ref() else {
        return (None, None);
    };
    (
        series.latest(&MetricKey::service(ecs_cluster, service, Metric::Cpu)),
        series.latest(&MetricKey::service(ecs_cluster, service, Metric::Memory)),
    )
}

/// Puts the metrics on the hops of `path` (a cluster's), adds the WAF, database and
/// queue hops, and judges them by `limits`.
pub(super) fn attach(
    path: &mut RequestPath,
    cluster: &ClusterState,
    metrics: &Panel<MetricSeries>,
    limits: &MetricThresholds,
) {
    let empty = MetricSeries::default();
    let series = metrics.data.as_ref().unwrap_or(&empty);
    let topology = cluster.paths.data.as_ref();
    for hop in &mut path.hops {
        let Some(group) = hop.target_group.clone() else {
            continue;
        };
        // The group's load balancer; the first when it has several.
        let lb = topology
            .and_then(|t| t.target_group(&group))
            .and_then(|g| g.load_balancer_arns.first())
            .and_then(|arn| lb_dimension(arn));
        let (Some(lb), Some(tg)) = (lb, target_group_dimension(&group)) else {
            continue;
        };
        let key = |metric| {
            MetricKey::new(
                Scope::TargetGroup {
                    load_balancer: lb.to_string(),
                    target_group: tg.to_string(),
                },
                metric,
            )
        };
        let requests = series.latest(&key(Metric::Requests));
        let mut errors = series
            .latest_pair(&key(Metric::Target5xx), &key(Metric::Requests))
            .filter(|(_, all)| *all > 0.0)
            .map(|(bad, all)| 100.0 * bad / all);
        // The entry's users also get the 5xx the load balancer answers itself (a 503 when
        // no nginx is left): its own count over all its requests is added.
        if hop.name.starts_with("external ALB") {
            let lb_key = |metric| {
                MetricKey::new(
                    Scope::LoadBalancer {
                        load_balancer: lb.to_string(),
                    },
                    metric,
                )
            };
            if let Some((own, all)) = series
                .latest_pair(&lb_key(Metric::Elb5xx), &lb_key(Metric::Requests))
                .filter(|(own, all)| *all > 0.0 && *own > 0.0)
            {
                errors = Some(errors.unwrap_or(0.0) + 100.0 * own / all);
            }
        }
        let p95 = series.latest(&key(Metric::ResponseP95)).map(|s| s * 1000.0);
        hop.metrics = vec![
            Reading::new("req_per_min", requests),
            Reading::new("errors_5xx_pct", errors),
            Reading::new("p95_ms", p95),
        ];
        let mut judged = Vec::new();
        if let Some(share) = errors {
            if share > limits.error_rate_critical_pct as f64 {
                judged.push((Health::Down, format!("5xx {share:.1} % of requests")));
            } else if share > limits.error_rate_warn_pct as f64 {
                judged.push((Health::Degraded, format!("5xx {share:.1} % of requests")));
            }
        }
        if let Some(ms) = p95
            && ms > limits.p95_warn_ms as f64
        {
            judged.push((Health::Degraded, format!("p95 {ms:.0} ms")));
        }
        judge(hop, judged);
    }
    // The WAF, database and queue hops are known from CloudWatch alone: not before it
    // was read once (a console that may not read it keeps the path it can judge).
    if metrics.data.is_none() {
        return;
    }
    let resources = &cluster.resources;
    if let Some(acl) = &resources.waf_web_acl {
        let key = |metric| MetricKey::new(Scope::WebAcl { name: acl.clone() }, metric);
        let allowed = series.latest(&key(Metric::WafAllowed));
        let blocked = series
            .latest_pair(&key(Metric::WafBlocked), &key(Metric::WafAllowed))
            .map(|(blocked, allowed)| (blocked, blocked + allowed))
            .filter(|(_, all)| *all > 0.0)
            .map(|(blocked, all)| 100.0 * blocked / all);
        let mut hop = resource_hop(format!("WAF {acl}"), "waf", HopKind::Waf);
        hop.metrics = vec![
            Reading::new("allowed_per_min", allowed),
            Reading::new("blocked_pct", blocked),
        ];
        let mut judged = Vec::new();
        if let Some(share) = blocked
            && share > limits.waf_blocked_warn_pct as f64
        {
            judged.push((
                Health::Degraded,
                format!("blocked {share:.1} % of requests"),
            ));
        }
        judge(&mut hop, judged);
        // Before the external ALB: the first hop.
        path.hops.insert(0, hop);
    }
    // Beside the API: after the inner hops, before the route to Quorum.
    let mut at = path
        .hops
        .iter()
        .position(|h| {
            matches!(
                h.kind,
                HopKind::Switch | HopKind::Node | HopKind::Validators
            )
        })
        .unwrap_or(path.hops.len());
    for instance in &resources.rds_instances {
        let key = |metric| {
            MetricKey::new(
                Scope::Database {
                    instance: instance.clone(),
                },
                metric,
            )
        };
        let free = series
            .latest(&key(Metric::DbFreeStorage))
            .map(|b| b / (1024.0 * 1024.0 * 1024.0));
        let mut hop = resource_hop(format!("RDS {instance}"), "rds", HopKind::Database);
        hop.metrics = vec![
            Reading::new("cpu_pct", series.latest(&key(Metric::DbCpu))),
            Reading::new("connections", series.latest(&key(Metric::DbConnections))),
            Reading::new("free_storage_gib", free),
            Reading::new(
                "read_latency_ms",
                series
                    .latest(&key(Metric::DbReadLatency))
                    .map(|s| s * 1000.0),
            ),
            Reading::new(
                "write_latency_ms",
                series
                    .latest(&key(Metric::DbWriteLatency))
                    .map(|s| s * 1000.0),
            ),
        ];
        let mut judged = Vec::new();
        if let Some(gib) = free
            && gib < limits.db_free_storage_warn_gib as f64
        {
            judged.push((Health::Degraded, format!("free storage {gib:.1} GiB")));
        }
        judge(&mut hop, judged);
        path.hops.insert(at, hop);
        at += 1;
    }
    for queue in &resources.sqs_queues {
        let key = |metric| {
            MetricKey::new(
                Scope::Queue {
                    name: queue.clone(),
                },
                metric,
            )
        };
        let oldest = series.latest(&key(Metric::QueueOldestAge));
        let mut hop = resource_hop(format!("SQS {queue}"), "sqs", HopKind::Queue);
        hop.metrics = vec![
            Reading::new("visible", series.latest(&key(Metric::QueueVisible))),
            Reading::new("oldest_age_secs", oldest),
        ];
        let mut judged = Vec::new();
        if let Some(secs) = oldest
            && secs > limits.queue_oldest_warn_secs as f64
        {
            judged.push((Health::Degraded, format!("oldest message {secs:.0} s old")));
        }
        judge(&mut hop, judged);
        path.hops.insert(at, hop);
        at += 1;
    }
}

fn resource_hop(name: String, label: &str, kind: HopKind) -> Hop {
    Hop::new(name, label, kind)
}

/// Folds what the metrics say into a hop: its health the worse of the two, the
/// metrics' reasons after its own when they are as bad. A resource hop with data and
/// nothing wrong is ok.
fn judge(hop: &mut Hop, judged: Vec<(Health, String)>) {
    let has_data = hop.metrics.iter().any(|r| r.value.is_some());
    if hop.kind.is_resource() {
        hop.detail = line(&hop.metrics);
        if has_data && hop.health == Health::Unknown {
            hop.health = Health::Ok;
        }
    }
    let Some(worst) = judged.iter().map(|(h, _)| *h).max() else {
        return;
    };
    let reasons: Vec<String> = judged
        .into_iter()
        .filter(|(h, _)| *h == worst)
        .map(|(_, r)| r)
        .collect();
    if worst > hop.health {
        hop.reason = Some(reasons.join("; "));
    } else if worst == hop.health {
        let mut all: Vec<String> = hop.reason.take().into_iter().collect();
        all.extend(reasons);
        hop.reason = Some(all.join("; "));
    }
    hop.health = hop.health.worst(worst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_shown_with_their_units_and_a_dash_without_data() {
        let readings = vec![
            Reading::new("req_per_min", Some(1234.0)),
            Reading::new("errors_5xx_pct", None),
            Reading::new("p95_ms", Some(118.4)),
        ];
        assert_eq!(line(&readings), "req/min 1.2k · 5xx – · p95 118 ms");
        let json = serde_json::to_string(&Hop {
            metrics: readings,
            ..Hop::new("external ALB", "ext", HopKind::LoadBalancer)
        })
        .expect("json");
        assert!(
            json.contains(
                r#""metrics":{"req_per_min":1234.0,"errors_5xx_pct":null,"p95_ms":118.4}"#
            ),
            "{json}"
        );
    }

    #[test]
    fn the_entrys_5xx_count_the_load_balancers_own() {
        use crate::model::alb::{PathLoadBalancer, PathTargetGroup, PathTopology};
        let lb_arn = "arn:aws:elasticloadbalancing:ap-northeast-1:1:loadbalancer/app/ext/1";
        let tg_arn = "arn:aws:elasticloadbalancing:ap-northeast-1:1:targetgroup/nginx/2";
        let cluster = ClusterState {
            name: "node-api".into(),
            ecs_cluster: "c".into(),
            ecs: Panel::default(),
            tasks_pending: false,
            nodes: Vec::new(),
            switch: None,
            paths: Panel {
                data: Some(PathTopology {
                    load_balancers: vec![PathLoadBalancer {
                        arn: lb_arn.into(),
                        ..PathLoadBalancer::default()
                    }],
                    target_groups: vec![PathTargetGroup {
                        arn: tg_arn.into(),
                        load_balancer_arns: vec![lb_arn.into()],
                        ..PathTargetGroup::default()
                    }],
                }),
                ..Panel::default()
            },
            resources: crate::model::metrics::PathResources::default(),
        };
        let at = 60_000;
        let tg = |metric| {
            MetricKey::new(
                Scope::TargetGroup {
                    load_balancer: "app/ext/1".into(),
                    target_group: "targetgroup/nginx/2".into(),
                },
                metric,
            )
        };
        let lb = |metric| {
            MetricKey::new(
                Scope::LoadBalancer {
                    load_balancer: "app/ext/1".into(),
                },
                metric,
            )
        };
        let mut series = MetricSeries::default();
        series.merge(
            vec![
                (tg(Metric::Requests), vec![(at, 900.0)]),
                (tg(Metric::Target5xx), vec![(at, 9.0)]),
                (tg(Metric::ResponseP95), vec![(at, 0.25)]),
                (lb(Metric::Requests), vec![(at, 1000.0)]),
                (lb(Metric::Elb5xx), vec![(at, 100.0)]),
            ],
            at,
        );
        let metrics = Panel {
            data: Some(series),
            ..Panel::default()
        };
        let mut hop = Hop::new("external ALB", "ext", HopKind::LoadBalancer);
        hop.health = Health::Ok;
        hop.target_group = Some(tg_arn.into());
        let mut path = RequestPath { hops: vec![hop] };
        attach(&mut path, &cluster, &metrics, &MetricThresholds::default());
        let hop = &path.hops[0];
        assert_eq!(
            line(&hop.metrics),
            "req/min 900 · 5xx 11.0 % · p95 250 ms",
            "1 % from the targets, 10 % the load balancer's own"
        );
        assert_eq!(hop.health, Health::Down);
        assert_eq!(hop.reason.as_deref(), Some("5xx 11.0 % of requests"));
    }

    #[test]
    fn the_metrics_judge_a_hop_no_better_than_its_targets() {
        let mut hop = Hop::new("external ALB", "ext", HopKind::LoadBalancer);
        hop.health = Health::Ok;
        judge(
            &mut hop,
            vec![
                (Health::Degraded, "p95 1800 ms".into()),
                (Health::Down, "5xx 7.5 % of requests".into()),
            ],
        );
        assert_eq!(hop.health, Health::Down);
        assert_eq!(hop.reason.as_deref(), Some("5xx 7.5 % of requests"));
        let mut broken = Hop::new("internal ALB → api", "api", HopKind::LoadBalancer);
        broken.health = Health::Down;
        broken.reason = Some("0/2 targets healthy".into());
        judge(&mut broken, vec![(Health::Degraded, "p95 1800 ms".into())]);
        assert_eq!(broken.reason.as_deref(), Some("0/2 targets healthy"));
    }
}
