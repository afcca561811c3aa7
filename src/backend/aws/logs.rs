//! CloudWatch Logs on the AWS SDK: [`AwsLogs`] implements [`LogsApi`] with
//! FilterLogEvents.
//!
//! One call is one page; following `next_token`, batching streams and pacing requests is
//! the tail engine's job (`crate::logs::tail`), not this adapter's. Errors pass through
//! [`classify`], so throttling arrives as [`crate::backend::BackendError::Throttled`].

use async_trait::async_trait;

use super::auth::classify;
use crate::backend::{BackendResult, LogsApi};
use crate::model::logs::{LogEvent, LogPage, LogQuery};

/// The IAM action behind [`LogsApi::filter`], as error messages name it.
const FILTER_ACTION: &str = "logs:FilterLogEvents";

/// CloudWatch Logs of one environment.
#[derive(Debug, Clone)]
pub struct AwsLogs {
    client: aws_sdk_cloudwatchlogs::Client,
    profile: Option<String>,
}

impl AwsLogs {
    /// A client from the environment's SDK configuration; `profile` names the AWS
    /// profile in hints (e.g. `aws sso login --profile X`).
    pub fn new(config: &aws_config::SdkConfig, profile: Option<String>) -> Self {
        Self {
            client: aws_sdk_cloudwatchlogs::Client::new(config),
            profile,
        }
    }
}

#[async_trait]
impl LogsApi for AwsLogs {
    async fn filter(&self, query: &LogQuery) -> BackendResult<LogPage> {
        let mut request = self
            .client
            .filter_log_events()
            .log_group_name(&query.group)
            .start_time(query.start)
            .set_end_time(query.end)
            .set_filter_pattern(query.filter_pattern.clone())
            .set_next_token(query.next_token.clone())
            .set_limit(query.limit.map(|l| i32::try_from(l).unwrap_or(i32::MAX)));
        // The service takes either names or a prefix, not both.
        if !query.streams.is_empty() {
            request = request.set_log_stream_names(Some(query.streams.clone()));
        } else if let Some(prefix) = &query.stream_prefix {
            request = request.log_stream_name_prefix(prefix);
        }
        let output = request
            .send()
            .await
            .map_err(|e| classify(&e, FILTER_ACTION, self.profile.as_deref()))?;
        let events = output
            .events()
            .iter()
            .map(|e| LogEvent {
                timestamp: e.timestamp().unwrap_or_default(),
                ingestion: e.ingestion_time().unwrap_or_default(),
                event_id: e.event_id().unwrap_or_default().to_string(),
                group: query.group.clone(),
                stream: e.log_stream_name().unwrap_or_default().to_string(),
                message: e.message().unwrap_or_default().to_string(),
            })
            .collect();
        Ok(LogPage {
            events,
            next_token: output.next_token().map(str::to_string),
        })
    }
}
