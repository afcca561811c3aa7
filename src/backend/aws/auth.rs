//! SDK configuration per environment, and classification of SDK errors.
//!
//! Every AWS call's error passes through one classifier ([`classify_with`], behind
//! [`classify`] and [`classify_within`]), so that missing credentials, a profile that is
//! not there, an expired SSO session, a key AWS refuses, a missing permission or an
//! unreachable endpoint read the same on every panel, in `status` and in every command:
//! what is wrong in one line, and the fix in the hint. Never the SDK's debug output.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};

use aws_credential_types::provider::error::CredentialsError;

use super::sources::{ChosenBy, CredentialSources};
use crate::backend::{BackendError, KeyProblem};
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
/// limit (rounded up to whole seconds). `profile` is the environment's `aws_profile`;
/// when the error is about credentials, the process's environment and the shared files
/// are read to say which profile and files were looked at ([`CredentialSources::read`]).
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
    classify_with(err, action, limit, || CredentialSources::read(profile))
}

/// The one classifier of AWS errors: [`classify_within`] with the credential sources
/// given, asked for only when the error is about credentials.
pub fn classify_with<E, R>(
    err: &SdkError<E, R>,
    action: &str,
    limit: Duration,
    sources: impl FnOnce() -> CredentialSources,
) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let Some(credentials) = std::error::Error::source(err).and_then(credentials_error) {
        return credentials_problem(credentials, &sources());
    }
    let timeout = BackendError::Timeout {
        secs: limit.as_millis().div_ceil(1000) as u64,
    };
    match err {
        SdkError::TimeoutError(_) => timeout,
        SdkError::DispatchFailure(d) if d.is_timeout() => timeout,
        SdkError::DispatchFailure(d) => BackendError::Unreachable {
            endpoint: action.to_string(),
            detail: short(
                &d.as_connector_error()
                    .map_or_else(|| sdk_error_text(err), |c| innermost_cause(c)),
            ),
        },
        SdkError::ServiceError(s) => {
            let e = s.err();
            let code = e.code().unwrap_or_default();
            let message = e.message().unwrap_or_default().to_string();
            service_error(code, message, action, sources)
        }
        other => BackendError::Other(format!("{action}: {}", short(&sdk_error_text(other)))),
    }
}

/// An error code and message a service sent, classified.
fn service_error(
    code: &str,
    message: String,
    action: &str,
    sources: impl FnOnce() -> CredentialSources,
) -> BackendError {
    let key = match code {
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
            return denial(action, &message);
        }
        "ExpiredToken" | "ExpiredTokenException" => KeyProblem::Expired,
        "InvalidClientTokenId" | "UnrecognizedClientException" => KeyProblem::Unknown,
        "SignatureDoesNotMatch" | "InvalidSignatureException" => KeyProblem::BadSignature,
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => return BackendError::Throttled(message),
        c if c.ends_with("NotFoundException") || c.ends_with("NotFound") => {
            return BackendError::NotFound(if message.is_empty() {
                c.into()
            } else {
                message
            });
        }
        _ => {
            return BackendError::Other(
                format!("{action}: {code} {}", short(&message))
                    .trim()
                    .to_string(),
            );
        }
    };
    let sources = sources();
    // Keys an SSO profile signs with that AWS no longer takes: the session is over.
    if sources.sso && !sources.env_keys && key != KeyProblem::BadSignature {
        return BackendError::SsoExpired {
            profile: sources.named_profile().map(str::to_string),
        };
    }
    BackendError::KeyRejected {
        key,
        code: code.to_string(),
        keys: sources.keys(),
    }
}

/// AccessDenied, with who, what and on what read from AWS's message ([`read_denial`]).
/// A message of another shape is kept whole, with the action that was called.
fn denial(action: &str, message: &str) -> BackendError {
    read_denial(message).unwrap_or_else(|| BackendError::AccessDenied {
        action: action.to_string(),
        principal: None,
        resource: None,
        reason: (!message.is_empty()).then(|| short(message)),
    })
}

/// AWS's usual AccessDenied message, read: `User: ARN is not authorized to perform:
/// ACTION on resource: RESOURCE because …` (the resource and the reason may be missing;
/// the reason may be `with an explicit deny in …`).
fn read_denial(message: &str) -> Option<BackendError> {
    let rest = message.trim().strip_prefix("User: ")?;
    let (principal, rest) = rest.split_once(" is not authorized to perform: ")?;
    let (denied, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let rest = rest.trim();
    let (resource, rest) = match rest.strip_prefix("on resource: ") {
        Some(r) => {
            let (resource, rest) = r.split_once(' ').unwrap_or((r, ""));
            (
                Some(resource.trim_end_matches('.').to_string()),
                rest.trim(),
            )
        }
        None => (None, rest),
    };
    let reason = rest
        .strip_prefix("because ")
        .unwrap_or(rest)
        .trim_end_matches('.');
    Some(BackendError::AccessDenied {
        action: denied.trim_end_matches('.').to_string(),
        principal: Some(principal.to_string()),
        resource,
        reason: (!reason.is_empty()).then(|| short(reason)),
    })
}

/// The credentials provider's error in `err`'s chain of sources, if the call failed
/// for want of credentials.
fn credentials_error<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a CredentialsError> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<CredentialsError>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// A credentials failure in the operator's words, knowing where the SDK looked.
fn credentials_problem(err: &CredentialsError, sources: &CredentialSources) -> BackendError {
    let file = |p: &std::path::Path| p.display().to_string();
    if !sources.profile_found && sources.chosen_by != ChosenBy::Default {
        return BackendError::ProfileMissing {
            profile: sources.profile.clone(),
            chosen_by: match sources.chosen_by {
                ChosenBy::Config => "aws_profile in the console config",
                _ => "AWS_PROFILE",
            },
            config_file: file(&sources.config_file),
            file_exists: sources.config_file.exists(),
        };
    }
    if let CredentialsError::CredentialsNotLoaded(_) = err {
        return BackendError::NoCredentials {
            profile: sources.profile.clone(),
            config_file: file(&sources.config_file),
            credentials_file: file(&sources.credentials_file),
        };
    }
    let text = chain_text(err);
    let lower = text.to_ascii_lowercase();
    let sso = sources.sso || lower.contains("sso");
    if sso && (lower.contains("expired") || lower.contains("unauthorized")) {
        return BackendError::SsoExpired {
            profile: sources.named_profile().map(str::to_string),
        };
    }
    BackendError::CredentialsFailed {
        detail: short(&text),
        sso_profile: sources
            .sso
            .then(|| sources.named_profile().map(str::to_string))
            .flatten(),
    }
}

/// `err` and its sources in one line, `outer: inner: innermost`, each told once (an
/// error that repeats its source's words is left out).
fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// [`chain_text`] of an SDK error (which the chain cannot start from: its response type
/// need not be `'static`).
fn sdk_error_text<E, R>(err: &SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let outer = err.to_string();
    match std::error::Error::source(err).map(chain_text) {
        Some(inner) if inner.contains(&outer) => inner,
        Some(inner) => format!("{outer}: {inner}"),
        None => outer,
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use aws_sdk_ecs::error::ErrorMetadata;
    use aws_sdk_ecs::operation::list_clusters::ListClustersError;
    use aws_smithy_runtime_api::client::result::ConnectorError;

    use super::*;

    type Error = SdkError<ListClustersError, ()>;

    fn sources(profile: &str, chosen_by: ChosenBy, found: bool, sso: bool) -> CredentialSources {
        CredentialSources {
            profile: profile.into(),
            chosen_by,
            config_file: PathBuf::from("/nowhere/.aws/config"),
            credentials_file: PathBuf::from("/nowhere/.aws/credentials"),
            profile_found: found,
            sso,
            env_keys: false,
        }
    }

    fn no_credentials(err: CredentialsError) -> Error {
        SdkError::dispatch_failure(ConnectorError::other(Box::new(err), None))
    }

    fn service(code: &str, message: &str) -> Error {
        SdkError::service_error(
            ListClustersError::generic(
                ErrorMetadata::builder().code(code).message(message).build(),
            ),
            (),
        )
    }

    fn classify(err: &Error, sources: CredentialSources) -> BackendError {
        classify_with(err, "ecs:ListClusters", CALL_TIMEOUT, || sources)
    }

    fn plain(err: &BackendError) -> (String, String) {
        let text = err.to_string();
        let hint = err.hint().unwrap_or_default();
        for words in [&text, &hint] {
            assert!(!words.contains('\n'), "one line: {words}");
            for debug in ["Some(", "ConnectorError", "CredentialsNotLoaded", "{ "] {
                assert!(!words.contains(debug), "debug output in {words}");
            }
        }
        (text, hint)
    }

    #[test]
    fn no_credentials_names_where_the_sdk_looked() {
        let err = no_credentials(CredentialsError::not_loaded(
            "no providers in chain provided credentials",
        ));
        let e = classify(&err, sources("default", ChosenBy::Default, false, false));
        let (text, hint) = plain(&e);
        assert_eq!(
            text,
            "no AWS credentials found: looked in the environment (AWS_ACCESS_KEY_ID), \
             /nowhere/.aws/config and /nowhere/.aws/credentials (profile `default`), SSO, \
             and the container and instance metadata"
        );
        assert!(hint.contains("aws configure"), "{hint}");
    }

    #[test]
    fn a_profile_that_is_not_there_is_named_with_its_file() {
        for err in [
            CredentialsError::not_loaded("no providers in chain provided credentials"),
            CredentialsError::invalid_configuration(
                "ProfileFile provider could not be built: could not find source profile nope",
            ),
        ] {
            let e = classify(
                &no_credentials(err),
                sources("nope", ChosenBy::EnvVar, false, false),
            );
            let (text, hint) = plain(&e);
            assert_eq!(
                text,
                "the AWS profile `nope` (AWS_PROFILE) is not in /nowhere/.aws/config \
                 (no such file)"
            );
            assert!(
                hint.starts_with("add `[profile nope]` to /nowhere/.aws/config"),
                "{hint}"
            );
        }
        let e = classify(
            &no_credentials(CredentialsError::not_loaded("none")),
            sources("ibet-stg", ChosenBy::Config, false, false),
        );
        assert!(
            plain(&e)
                .0
                .contains("`ibet-stg` (aws_profile in the console config)"),
            "{e}"
        );
    }

    #[test]
    fn an_expired_sso_token_asks_for_a_login() {
        let err = no_credentials(CredentialsError::provider_error(
            "the SSO token has expired and cannot be refreshed",
        ));
        let e = classify(&err, sources("ibet-stg", ChosenBy::Config, true, true));
        assert_eq!(
            plain(&e),
            (
                "the AWS SSO session of profile `ibet-stg` has expired".to_string(),
                "run `aws sso login --profile ibet-stg`".to_string()
            )
        );
    }

    #[test]
    fn another_credentials_failure_is_told_in_the_sdks_words_not_its_debug() {
        let err = no_credentials(CredentialsError::provider_error(
            "credential_process exited with status 1",
        ));
        let e = classify(&err, sources("ops", ChosenBy::EnvVar, true, false));
        let (text, _) = plain(&e);
        assert!(text.starts_with("cannot load AWS credentials: "), "{text}");
        assert!(
            text.ends_with("credential_process exited with status 1"),
            "{text}"
        );
    }

    #[test]
    fn keys_aws_refuses_say_which_problem_and_where_the_keys_are() {
        let s = || sources("default", ChosenBy::Default, false, false);
        let expired = classify(&service("ExpiredToken", "The security token expired"), s());
        let (text, hint) = plain(&expired);
        assert_eq!(text, "the AWS session token has expired (ExpiredToken)");
        assert!(hint.contains("AWS_SESSION_TOKEN"), "{hint}");
        for code in ["InvalidClientTokenId", "UnrecognizedClientException"] {
            let e = classify(&service(code, "The security token is invalid"), s());
            assert_eq!(
                plain(&e).0,
                format!("AWS does not recognise the access key or its token ({code})")
            );
        }
        let e = classify(&service("SignatureDoesNotMatch", "no"), s());
        let (text, hint) = plain(&e);
        assert!(text.contains("secret key does not match"), "{text}");
        assert!(hint.contains("AWS_SECRET_ACCESS_KEY"), "{hint}");
        // Keys of a profile in the shared credentials file are named there.
        let e = classify(
            &service("InvalidClientTokenId", "invalid"),
            sources("ops", ChosenBy::EnvVar, true, false),
        );
        assert_eq!(
            plain(&e).1,
            "the key is mistyped, deleted or inactive: check the keys of profile `ops` \
             (/nowhere/.aws/credentials), or make a new key"
        );
        // From an SSO profile, an expired token means the session is over.
        let e = classify(
            &service("ExpiredTokenException", "expired"),
            sources("ibet-prd", ChosenBy::EnvVar, true, true),
        );
        assert_eq!(plain(&e).1, "run `aws sso login --profile ibet-prd`");
    }

    #[test]
    fn access_denied_reads_who_what_and_on_what() {
        let s = || sources("default", ChosenBy::Default, true, false);
        let e = classify(
            &service(
                "AccessDeniedException",
                "User: arn:aws:iam::123456789012:user/x is not authorized to perform: \
                 ecs:ListClusters on resource: * because no identity-based policy allows \
                 the ecs:ListClusters action",
            ),
            s(),
        );
        let (text, hint) = plain(&e);
        assert_eq!(
            text,
            "access denied: arn:aws:iam::123456789012:user/x may not ecs:ListClusters on * \
             (no identity-based policy allows the ecs:ListClusters action)"
        );
        assert_eq!(
            hint,
            "the IAM policy of arn:aws:iam::123456789012:user/x must allow \
             `ecs:ListClusters` on `*`, or use a profile whose role has it"
        );
        let e = classify(&service("AccessDenied", "Forbidden"), s());
        assert_eq!(
            plain(&e).0,
            "access denied for ecs:ListClusters (Forbidden)"
        );
    }

    #[test]
    fn the_sources_are_read_only_for_credentials() {
        let e = classify_with(
            &service("ThrottlingException", "Rate exceeded"),
            "ecs:ListClusters",
            CALL_TIMEOUT,
            || -> CredentialSources { panic!("not asked for") },
        );
        assert_eq!(e, BackendError::Throttled("Rate exceeded".into()));
    }
}
