//! The reads that verify a release before it runs, on the AWS SDK: ECR DescribeImages,
//! SSM DescribeParameters, Secrets Manager DescribeSecret and IAM GetRole.
//!
//! Each answers whether something a task definition names exists, by name only: no call
//! here returns a parameter's or a secret's value (GetParameters and GetSecretValue are
//! never called, so the operator's role needs no `kms:Decrypt` either). Costs: one
//! DescribeImages per ECR image, one DescribeParameters per 50 parameter names (more when
//! AWS pages the answer), one DescribeSecret per secret, one GetRole per role. A "not
//! found" answer is [`Lookup::Missing`]; every other failure (AccessDenied first among
//! them) is classified by [`auth::classify_within`] and becomes the failed check of the
//! plan that asked. Nothing here knows about plans or the terminal.

use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};

use super::auth;
use crate::backend::{BackendResult, EcrImage, ImageReference, Lookup, VerifyApi};

/// Parameter names per DescribeParameters filter (the API's maximum).
pub const PARAMETERS_PER_CALL: usize = 50;

/// The four clients of one environment.
pub struct AwsVerify {
    /// The clients are made at the first check: a console that never plans a release
    /// never builds them (their code then stays out of its resident memory).
    sdk: aws_config::SdkConfig,
    ecr: OnceLock<aws_sdk_ecr::Client>,
    ssm: OnceLock<aws_sdk_ssm::Client>,
    secrets: OnceLock<aws_sdk_secretsmanager::Client>,
    iam: OnceLock<aws_sdk_iam::Client>,
    profile: Option<String>,
    limit: Duration,
}

impl std::fmt::Debug for AwsVerify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsVerify")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl AwsVerify {
    /// The clients on `sdk` (see [`auth::sdk_config`]); `profile` only feeds error
    /// hints. What `sdk` lacks of retries and timeouts is completed by
    /// [`auth::completed`].
    pub fn new(sdk: &aws_config::SdkConfig, profile: Option<String>) -> Self {
        let (sdk, limit) = auth::completed(sdk);
        Self {
            sdk,
            ecr: OnceLock::new(),
            ssm: OnceLock::new(),
            secrets: OnceLock::new(),
            iam: OnceLock::new(),
            profile,
            limit,
        }
    }

    fn ecr(&self) -> &aws_sdk_ecr::Client {
        self.ecr.get_or_init(|| aws_sdk_ecr::Client::new(&self.sdk))
    }

    fn ssm(&self) -> &aws_sdk_ssm::Client {
        self.ssm.get_or_init(|| aws_sdk_ssm::Client::new(&self.sdk))
    }

    fn secrets(&self) -> &aws_sdk_secretsmanager::Client {
        self.secrets
            .get_or_init(|| aws_sdk_secretsmanager::Client::new(&self.sdk))
    }

    fn iam(&self) -> &aws_sdk_iam::Client {
        self.iam.get_or_init(|| aws_sdk_iam::Client::new(&self.sdk))
    }

    fn classify<E, R>(&self, err: &SdkError<E, R>, action: &str) -> crate::backend::BackendError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        auth::classify_within(err, action, self.profile.as_deref(), self.limit)
    }
}

/// The error code AWS answered with, when it answered.
fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.as_service_error().and_then(ProvideErrorMetadata::code)
}

#[async_trait]
impl VerifyApi for AwsVerify {
    async fn ecr_image(&self, image: &EcrImage) -> BackendResult<Lookup> {
        let id = match &image.reference {
            ImageReference::Tag(tag) => aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_tag(tag)
                .build(),
            ImageReference::Digest(digest) => aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_digest(digest)
                .build(),
        };
        let answer = self
            .ecr()
            .describe_images()
            .registry_id(&image.registry)
            .repository_name(&image.repository)
            .image_ids(id)
            .send()
            .await;
        match answer {
            Ok(out) => Ok(match out.image_details().first() {
                Some(detail) => Lookup::Found(
                    detail
                        .image_pushed_at()
                        .and_then(|at| at.to_millis().ok())
                        .map(|ms| {
                            let at = crate::clock::iso_utc(ms);
                            format!("pushed {}", at.get(..10).unwrap_or(&at))
                        })
                        .unwrap_or_default(),
                ),
                None => Lookup::Missing(format!("no image {}", image.reference.as_str())),
            }),
            Err(e) => match code(&e) {
                Some("ImageNotFoundException") => Ok(Lookup::Missing(format!(
                    "no image {} in the repository",
                    image.reference.as_str()
                ))),
                Some("RepositoryNotFoundException") => Ok(Lookup::Missing(format!(
                    "no repository {}",
                    image.repository
                ))),
                _ => Err(self.classify(&e, "ecr:DescribeImages")),
            },
        }
    }

    async fn ssm_parameters(&self, names: &[String]) -> BackendResult<Vec<String>> {
        let mut found = Vec::new();
        for batch in names.chunks(PARAMETERS_PER_CALL) {
            let filter = aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .option("Equals")
                .set_values(Some(batch.to_vec()))
                .build()
                .map_err(|e| crate::backend::BackendError::Other(e.to_string()))?;
            let mut token: Option<String> = None;
            loop {
                let out = self
                    .ssm()
                    .describe_parameters()
                    .parameter_filters(filter.clone())
                    .max_results(50)
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(|e| self.classify(&e, "ssm:DescribeParameters"))?;
                found.extend(
                    out.parameters()
                        .iter()
                        .filter_map(|p| p.name().map(str::to_string)),
                );
                match out.next_token() {
                    Some(next) if !next.is_empty() => token = Some(next.to_string()),
                    _ => break,
                }
            }
        }
        Ok(found)
    }

    async fn secret(&self, id: &str) -> BackendResult<Lookup> {
        match self.secrets().describe_secret().secret_id(id).send().await {
            Ok(out) if out.deleted_date().is_some() => {
                Ok(Lookup::Missing("scheduled for deletion".into()))
            }
            Ok(_) => Ok(Lookup::Found(String::new())),
            Err(e) => match code(&e) {
                Some("ResourceNotFoundException") => Ok(Lookup::Missing("no such secret".into())),
                _ => Err(self.classify(&e, "secretsmanager:DescribeSecret")),
            },
        }
    }

    async fn iam_role(&self, name: &str) -> BackendResult<Lookup> {
        match self.iam().get_role().role_name(name).send().await {
            Ok(_) => Ok(Lookup::Found(String::new())),
            Err(e) => match code(&e) {
                Some("NoSuchEntity" | "NoSuchEntityException") => {
                    Ok(Lookup::Missing("no such role".into()))
                }
                _ => Err(self.classify(&e, "iam:GetRole")),
            },
        }
    }
}
