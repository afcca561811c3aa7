//! CloudWatch metrics and alarms on the AWS SDK: [`AwsMetrics`] implements
//! [`MetricsApi`] with GetMetricData and DescribeAlarms.
//!
//! Request cost: [`MetricsApi::metric_data`] is one GetMetricData request for up to
//! [`QUERIES_PER_CALL`] keys (more keys: one request per 500), plus one per further page
//! when CloudWatch splits the answer (`NextToken`); every key is asked at a one-minute
//! period. [`MetricsApi::alarms`] is one DescribeAlarms request with StateValue=ALARM per
//! page of 100 alarms. How often they are made is the poller's business
//! (`crate::poll`). Errors pass through [`classify`].

use std::collections::HashSet;

use async_trait::async_trait;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric as CwMetric, MetricDataQuery, MetricStat, ScanBy, StateValue,
};

use super::auth::classify;
use super::metrics::RequestCounter;
use crate::backend::{BackendResult, MetricsApi};
use crate::clock::EpochMs;
use crate::model::metrics::{Alarm, MINUTE_MS, MetricKey};

/// The IAM actions behind the two calls, as error messages name them.
pub const GET_METRIC_DATA: &str = "cloudwatch:GetMetricData";
/// See [`GET_METRIC_DATA`].
pub const DESCRIBE_ALARMS: &str = "cloudwatch:DescribeAlarms";

/// The most queries GetMetricData takes in one request.
pub const QUERIES_PER_CALL: usize = 500;

/// CloudWatch of one environment.
#[derive(Debug, Clone)]
pub struct AwsMetrics {
    client: aws_sdk_cloudwatch::Client,
    profile: Option<String>,
    region: String,
}

impl AwsMetrics {
    /// A client from the environment's SDK configuration; `profile` names the AWS
    /// profile in hints.
    pub fn new(config: &aws_config::SdkConfig, profile: Option<String>) -> Self {
        Self {
            client: aws_sdk_cloudwatch::Client::new(config),
            profile,
            region: config.region().map(ToString::to_string).unwrap_or_default(),
        }
    }

    /// The same backend, counting its requests into `counter`.
    #[must_use]
    pub fn with_request_counter(mut self, counter: &RequestCounter) -> Self {
        let config = self
            .client
            .config()
            .to_builder()
            .interceptor(counter.clone())
            .build();
        self.client = aws_sdk_cloudwatch::Client::from_conf(config);
        self
    }

    fn query(&self, id: String, key: &MetricKey) -> MetricDataQuery {
        let dimensions = key
            .dimensions(&self.region)
            .into_iter()
            .map(|(name, value)| Dimension::builder().name(name).value(value).build())
            .collect();
        let metric = CwMetric::builder()
            .namespace(key.namespace())
            .metric_name(key.metric_name())
            .set_dimensions(Some(dimensions))
            .build();
        let stat = MetricStat::builder()
            .metric(metric)
            .period(60)
            .stat(key.stat())
            .build();
        MetricDataQuery::builder()
            .id(id)
            .metric_stat(stat)
            .return_data(true)
            .build()
    }
}

#[async_trait]
impl MetricsApi for AwsMetrics {
    async fn metric_data(
        &self,
        keys: &[MetricKey],
        start: EpochMs,
        end: EpochMs,
    ) -> BackendResult<Vec<Vec<(EpochMs, f64)>>> {
        let mut out = vec![Vec::new(); keys.len()];
        for (chunk_index, chunk) in keys.chunks(QUERIES_PER_CALL).enumerate() {
            let base = chunk_index * QUERIES_PER_CALL;
            // Ids must start with a lower-case letter: `q` and the key's index.
            let queries: Vec<MetricDataQuery> = chunk
                .iter()
                .enumerate()
                .map(|(i, key)| self.query(format!("q{}", base + i), key))
                .collect();
            let mut next_token: Option<String> = None;
            loop {
                let output = self
                    .client
                    .get_metric_data()
                    .set_metric_data_queries(Some(queries.clone()))
                    .start_time(DateTime::from_millis(start))
                    .end_time(DateTime::from_millis(end))
                    .scan_by(ScanBy::TimestampAscending)
                    .set_next_token(next_token.take())
                    .send()
                    .await
                    .map_err(|e| classify(&e, GET_METRIC_DATA, self.profile.as_deref()))?;
                for result in output.metric_data_results() {
                    let Some(index) = result
                        .id()
                        .and_then(|id| id.strip_prefix('q'))
                        .and_then(|n| n.parse::<usize>().ok())
                        .filter(|i| *i < keys.len())
                    else {
                        continue;
                    };
                    let points = result.timestamps().iter().zip(result.values()).filter_map(
                        |(at, value)| {
                            let at = at.to_millis().ok()?;
                            Some((at - at.rem_euclid(MINUTE_MS), *value))
                        },
                    );
                    out[index].extend(points);
                }
                next_token = output.next_token().map(str::to_string);
                if next_token.is_none() {
                    break;
                }
            }
        }
        for points in &mut out {
            points.sort_by_key(|(at, _)| *at);
            points.dedup_by_key(|(at, _)| *at);
        }
        Ok(out)
    }

    async fn alarms(&self, prefix: Option<&str>) -> BackendResult<Vec<Alarm>> {
        let mut out = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let output = self
                .client
                .describe_alarms()
                .state_value(StateValue::Alarm)
                .set_alarm_name_prefix(prefix.map(str::to_string))
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| classify(&e, DESCRIBE_ALARMS, self.profile.as_deref()))?;
            // The filter is asked of the service and checked here too: a server that
            // applies only one of prefix and state (moto does) must not bring OK back.
            for alarm in output
                .metric_alarms()
                .iter()
                .filter(|a| a.state_value() == Some(&StateValue::Alarm))
            {
                out.push(Alarm {
                    name: alarm.alarm_name().unwrap_or_default().to_string(),
                    reason: alarm.state_reason().unwrap_or_default().to_string(),
                    since: alarm
                        .state_updated_timestamp()
                        .and_then(|t| t.to_millis().ok())
                        .unwrap_or_default(),
                    metric: match (alarm.namespace(), alarm.metric_name()) {
                        (Some(ns), Some(name)) => Some(format!("{ns} {name}")),
                        (None, Some(name)) => Some(name.to_string()),
                        _ => None,
                    },
                    dimensions: alarm
                        .dimensions()
                        .iter()
                        .map(|d| {
                            (
                                d.name().unwrap_or_default().to_string(),
                                d.value().unwrap_or_default().to_string(),
                            )
                        })
                        .collect(),
                });
            }
            next_token = output.next_token().map(str::to_string);
            if next_token.is_none() {
                break;
            }
        }
        // One alarm once, oldest first: what has lasted longest leads.
        let mut seen = HashSet::new();
        out.retain(|a| seen.insert(a.name.clone()));
        out.sort_by(|a, b| a.since.cmp(&b.since).then(a.name.cmp(&b.name)));
        Ok(out)
    }
}
