//! Who the console acts as: STS GetCallerIdentity, asked once per backend.
//!
//! The audit log records the caller's ARN with every operation. The identity of a set of
//! credentials does not change while the console runs, so the first answer is kept and
//! later calls cost nothing; a failure is not kept, the next call asks again. This module
//! only answers the question: it writes no audit lines itself.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sts::Client;
use tokio::sync::OnceCell;

use super::auth;
use super::metrics::RequestCounter;
use crate::backend::{BackendResult, IdentityApi};

/// The STS caller identity of one environment's credentials.
#[derive(Debug)]
pub struct AwsIdentity {
    client: Client,
    profile: Option<String>,
    limit: Duration,
    caller: OnceCell<String>,
}

impl AwsIdentity {
    /// An identity backend on `sdk` (see [`auth::sdk_config`]); `profile` only feeds
    /// error hints. What `sdk` lacks of retries and timeouts is completed by
    /// [`auth::completed`].
    pub fn new(sdk: &aws_config::SdkConfig, profile: Option<String>) -> Self {
        let (sdk, limit) = auth::completed(sdk);
        Self {
            client: Client::new(&sdk),
            profile,
            limit,
            caller: OnceCell::new(),
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
        self.client = Client::from_conf(config);
        self
    }
}

#[async_trait]
impl IdentityApi for AwsIdentity {
    async fn caller(&self) -> BackendResult<String> {
        self.caller
            .get_or_try_init(|| async {
                let out = self
                    .client
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| {
                        auth::classify_within(
                            &e,
                            "sts:GetCallerIdentity",
                            self.profile.as_deref(),
                            self.limit,
                        )
                    })?;
                Ok(out.arn().unwrap_or_default().to_string())
            })
            .await
            .cloned()
    }
}
