//! CloudWatch Logs on the AWS SDK: [`AwsLogs`] implements [`LogsApi`] with
//! FilterLogEvents and StartLiveTail, and writes the shared audit trail's lines with
//! PutLogEvents (one request per batch; CreateLogStream once, when the stream is not
//! there yet).
//!
//! One call is one page; following `next_token`, batching streams and pacing requests is
//! the tail engine's job (`crate::logs::tail`), not this adapter's. A Live Tail session
//! is one long-lived request whose answer streams an update about every second
//! ([`AwsLiveSession`]); StartLiveTail names log groups by ARN, so the first session of
//! a group asks DescribeLogGroups for it (one request per group for the life of the
//! client: the ARN is kept). Errors pass through [`classify`], so throttling arrives as
//! [`crate::backend::BackendError::Throttled`] and a refused StartLiveTail names
//! `logs:StartLiveTail`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::error::StartLiveTailResponseStreamError;
use aws_sdk_cloudwatchlogs::types::{InputLogEvent, StartLiveTailResponseStream};

use super::auth::classify;
use crate::backend::{BackendError, BackendResult, LiveSession, LogsApi};
use crate::model::logs::{LiveQuery, LiveUpdate, LogEvent, LogPage, LogQuery};

/// The IAM action behind [`LogsApi::filter`], as error messages name it.
const FILTER_ACTION: &str = "logs:FilterLogEvents";
/// The IAM actions behind [`LogsApi::put_lines`].
const PUT_ACTION: &str = "logs:PutLogEvents";
const CREATE_STREAM_ACTION: &str = "logs:CreateLogStream";
/// The IAM actions behind [`LogsApi::live_tail`].
const LIVE_TAIL_ACTION: &str = "logs:StartLiveTail";
const DESCRIBE_GROUPS_ACTION: &str = "logs:DescribeLogGroups";

/// CloudWatch Logs of one environment.
#[derive(Debug, Clone)]
pub struct AwsLogs {
    client: aws_sdk_cloudwatchlogs::Client,
    profile: Option<String>,
    /// An endpoint set in the configuration (a local endpoint): StartLiveTail is sent
    /// to it as it is, without the `streaming-` host prefix AWS's own endpoints take.
    endpoint_override: bool,
    /// Log group name to ARN, as DescribeLogGroups gave it.
    arns: Arc<Mutex<HashMap<String, String>>>,
}

impl AwsLogs {
    /// A client from the environment's SDK configuration; `profile` names the AWS
    /// profile in hints (e.g. `aws sso login --profile X`).
    pub fn new(config: &aws_config::SdkConfig, profile: Option<String>) -> Self {
        Self {
            client: aws_sdk_cloudwatchlogs::Client::new(config),
            profile,
            endpoint_override: config.endpoint_url().is_some(),
            arns: Arc::default(),
        }
    }

    /// The ARN of log group `group` (without the trailing `:*`), asked once.
    async fn group_arn(&self, group: &str) -> BackendResult<String> {
        if let Some(arn) = self
            .arns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(group)
        {
            return Ok(arn.clone());
        }
        let output = self
            .client
            .describe_log_groups()
            .log_group_name_prefix(group)
            .send()
            .await
            .map_err(|e| classify(&e, DESCRIBE_GROUPS_ACTION, self.profile.as_deref()))?;
        let arn = output
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(group))
            .and_then(|g| {
                g.log_group_arn()
                    .map(str::to_string)
                    .or_else(|| g.arn().map(|a| a.trim_end_matches(":*").to_string()))
            })
            .ok_or_else(|| {
                BackendError::NotFound(format!("log group {group} (DescribeLogGroups)"))
            })?;
        self.arns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(group.to_string(), arn.clone());
        Ok(arn)
    }
}

/// A Live Tail session on the SDK's event stream.
struct AwsLiveSession {
    output: aws_sdk_cloudwatchlogs::operation::start_live_tail::StartLiveTailOutput,
    group: String,
    profile: Option<String>,
}

#[async_trait]
impl LiveSession for AwsLiveSession {
    async fn next(&mut self) -> BackendResult<Option<LiveUpdate>> {
        loop {
            let message = match self.output.response_stream.recv().await {
                Ok(Some(message)) => message,
                Ok(None) => return Ok(None),
                // The three-hour end of every session is an end, not a failure.
                Err(e)
                    if e.as_service_error().is_some_and(
                        StartLiveTailResponseStreamError::is_session_timeout_exception,
                    ) =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(classify(&e, LIVE_TAIL_ACTION, self.profile.as_deref())),
            };
            let StartLiveTailResponseStream::SessionUpdate(update) = message else {
                // The session's start (already seen when it opened), or a kind of event
                // this SDK does not know.
                continue;
            };
            let events = update
                .session_results()
                .iter()
                .map(|e| LogEvent {
                    timestamp: e.timestamp().unwrap_or_default(),
                    ingestion: e.ingestion_time().unwrap_or_default(),
                    event_id: String::new(),
                    group: self.group.clone(),
                    stream: e.log_stream_name().unwrap_or_default().to_string(),
                    message: e.message().unwrap_or_default().to_string(),
                })
                .collect();
            return Ok(Some(LiveUpdate {
                events,
                sampled: update
                    .session_metadata()
                    .is_some_and(aws_sdk_cloudwatchlogs::types::LiveTailSessionMetadata::sampled),
            }));
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

    async fn live_tail(&self, query: &LiveQuery) -> BackendResult<Option<Box<dyn LiveSession>>> {
        let arn = self.group_arn(&query.group).await?;
        let mut request = self
            .client
            .start_live_tail()
            .log_group_identifiers(arn)
            .set_log_event_filter_pattern(query.filter_pattern.clone());
        // The service takes names or prefixes (with exactly one group), not both.
        if !query.streams.is_empty() {
            request = request.set_log_stream_names(Some(query.streams.clone()));
        } else if !query.stream_prefixes.is_empty() {
            request = request.set_log_stream_name_prefixes(Some(query.stream_prefixes.clone()));
        }
        let sent = if self.endpoint_override {
            request
                .customize()
                .mutate_request(|request| {
                    let uri = request.uri().replacen("://streaming-", "://", 1);
                    let _ = request.set_uri(uri);
                })
                .send()
                .await
        } else {
            request.send().await
        };
        // `send` returns once the session's start has arrived.
        let output = sent.map_err(|e| classify(&e, LIVE_TAIL_ACTION, self.profile.as_deref()))?;
        Ok(Some(Box::new(AwsLiveSession {
            output,
            group: query.group.clone(),
            profile: self.profile.clone(),
        })))
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
