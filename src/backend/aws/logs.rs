//! CloudWatch Logs on the AWS SDK: [`AwsLogs`] implements [`LogsApi`] with
//! FilterLogEvents, and writes the shared audit trail's lines with PutLogEvents (one
//! request per batch; CreateLogStream once, when the stream is not there yet).
//!
//! One call is one page; following `next_token`, batching streams and pacing requests is
//! the tail engine's job (`crate::logs::tail`), not this adapter's. Errors pass through
//! [`classify`], so throttling arrives as [`crate::backend::BackendError::Throttled`].

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;

use super::auth::classify;
use crate::backend::{BackendResult, LogsApi};
use crate::model::logs::{LogEvent, LogPage, LogQuery};

/// The IAM action behind [`LogsApi::filter`], as error messages name it.
const FILTER_ACTION: &str = "logs:FilterLogEvents";
/// The IAM actions behind [`LogsApi::put_lines`].
const PUT_ACTION: &str = "logs:PutLogEvents";
const CREATE_STREAM_ACTION: &str = "logs:CreateLogStream";

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

    async fn put_lines(
        &self,
        group: &str,
        stream: &str,
        lines: &[(crate::clock::EpochMs, String)],
    ) -> BackendResult<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let events: Vec<InputLogEvent> = lines
            .iter()
            .filter_map(|(at, text)| {
                InputLogEvent::builder()
                    .timestamp(*at)
                    .message(text)
                    .build()
                    .ok()
            })
            .collect();
        let put = |events: Vec<InputLogEvent>| {
            self.client
                .put_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .set_log_events(Some(events))
                .send()
        };
        match put(events.clone()).await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(
                aws_sdk_cloudwatchlogs::operation::put_log_events::PutLogEventsError::is_resource_not_found_exception,
            ) => {
                // The stream of this host and user is made on its first line.
                let created = self
                    .client
                    .create_log_stream()
                    .log_group_name(group)
                    .log_stream_name(stream)
                    .send()
                    .await;
                if let Err(e) = created
                    && !e.as_service_error().is_some_and(
                        aws_sdk_cloudwatchlogs::operation::create_log_stream::CreateLogStreamError::is_resource_already_exists_exception,
                    )
                {
                    return Err(classify(&e, CREATE_STREAM_ACTION, self.profile.as_deref()));
                }
                put(events)
                    .await
                    .map(|_| ())
                    .map_err(|e| classify(&e, PUT_ACTION, self.profile.as_deref()))
            }
            Err(e) => Err(classify(&e, PUT_ACTION, self.profile.as_deref())),
        }
    }
}
