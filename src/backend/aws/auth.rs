//! SDK configuration per environment, and classification of SDK errors.
//!
//! Every AWS call's error passes through [`classify`], so that an expired SSO token, a
//! missing permission or an unreachable endpoint read the same on every panel.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};

use crate::backend::BackendError;
use crate::config::Environment;

/// Per-call timeout: a hung endpoint makes data stale, never the console stuck.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Attempts per call under the standard retry mode (the first try included).
pub const MAX_ATTEMPTS: u32 = 3;

/// The SDK's standard retry mode: throttling and transient errors are retried with
/// jittered exponential backoff, the client-side token bucket keeps a struggling endpoint
/// from being hammered. [`sdk_config`] gets it from the SDK's defaults (which the
/// operator may tune with `AWS_MAX_ATTEMPTS`); clients built from a hand-made
/// configuration without one use this.
pub fn standard_retry() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

/// Timeouts under which no call, all attempts included, outlives `limit`.
pub fn timeouts_within(limit: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(limit.min(Duration::from_secs(3)))
        .operation_attempt_timeout(limit)
        .operation_timeout(limit)
        .build()
}

/// `sdk` completed with what every client of the console needs, where it sets none:
/// the standard retry mode ([`standard_retry`]) and timeouts ([`CALL_TIMEOUT`]); and the
/// longest a call may then take, all attempts included (its operation timeout).
pub fn completed(sdk: &aws_config::SdkConfig) -> (aws_config::SdkConfig, Duration) {
    let mut builder = sdk.to_builder();
    if sdk.retry_config().is_none() {
        builder.set_retry_config(Some(standard_retry()));
    }
    let set = sdk.timeout_config().and_then(|t| {
        t.operation_timeout()
            .or_else(|| t.operation_attempt_timeout())
    });
    let limit = set.unwrap_or_else(|| {
        builder.set_timeout_config(Some(timeouts_within(CALL_TIMEOUT)));
        CALL_TIMEOUT
    });
    (builder.build(), limit)
}

/// Loads the SDK configuration of one environment.
pub async fn sdk_config(env: &Environment) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(env.region.clone()))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(CALL_TIMEOUT)
                .operation_timeout(CALL_TIMEOUT * 2)
                .build(),
        );
    if let Some(profile) = &env.aws_profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &env.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// Turns an SDK error from `action` (e.g. `ecs:ListServices`) into a [`BackendError`].
pub fn classify<E, R>(err: &SdkError<E, R>, action: &str, profile: Option<&str>) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    classify_within(err, action, profile, CALL_TIMEOUT)
}

/// [`classify`] for a client whose calls are limited to `limit`: a timeout reports that
/// limit (rounded up to whole seconds).
pub fn classify_within<E, R>(
    err: &SdkError<E, R>,
    action: &str,
    profile: Option<&str>,
    limit: Duration,
) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let timeout = BackendError::Timeout {
        secs: limit.as_millis().div_ceil(1000) as u64,
    };
    match err {
        SdkError::TimeoutError(_) => timeout,
        SdkError::DispatchFailure(d) => {
            let detail = format!("{:?}", d.as_connector_error());
            if d.is_timeout() {
                timeout
            } else if ["sso", "token", "credential"]
                .iter()
                .any(|w| detail.to_ascii_lowercase().contains(w))
            {
                classify_credentials(&detail, profile)
            } else {
                let cause = d
                    .as_connector_error()
                    .map_or_else(|| detail.clone(), |c| innermost_cause(c));
                BackendError::Unreachable {
                    endpoint: action.to_string(),
                    detail: short(&cause),
                }
            }
        }
        SdkError::ConstructionFailure(_) => {
            classify_credentials(&format!("{:?}", std::error::Error::source(err)), profile)
        }
        SdkError::ServiceError(s) => {
            let e = s.err();
            let code = e.code().unwrap_or_default();
            let message = e.message().unwrap_or_default().to_string();
            match code {
                "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
                    BackendError::AccessDenied {
                        action: action.to_string(),
                        message,
                    }
                }
                "ExpiredToken"
                | "ExpiredTokenException"
                | "UnrecognizedClientException"
                | "InvalidClientTokenId" => BackendError::SsoExpired {
                    profile: profile.map(str::to_string),
                },
                "ThrottlingException"
                | "Throttling"
                | "TooManyRequestsException"
                | "RequestLimitExceeded" => BackendError::Throttled(message),
                c if c.ends_with("NotFoundException") || c.ends_with("NotFound") => {
                    BackendError::NotFound(if message.is_empty() {
                        c.into()
                    } else {
                        message
                    })
                }
                _ => BackendError::Other(format!("{action}: {code} {message}").trim().to_string()),
            }
        }
        other => BackendError::Other(format!("{action}: {}", short(&format!("{other:?}")))),
    }
}

fn classify_credentials(detail: &str, profile: Option<&str>) -> BackendError {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("sso") && (lower.contains("expired") || lower.contains("token")) {
        BackendError::SsoExpired {
            profile: profile.map(str::to_string),
        }
    } else {
        BackendError::NoCredentials(short(detail))
    }
}

/// The message of the deepest error in `err`'s source chain: for a refused connection
/// "Connection refused (os error 111)" rather than the transport's layers of wrappers.
fn innermost_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

fn short(s: &str) -> String {
    const MAX: usize = 200;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        s.chars().take(MAX).chain(std::iter::once('…')).collect()
    }
}
