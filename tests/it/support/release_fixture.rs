//! What a release's task definition names outside ECS, built in a moto server with the
//! AWS SDK: ECR repositories and images (PutImage), SSM parameters, Secrets Manager
//! secrets and IAM roles; and revisions of a family that name them.
//!
//! Each test names its own repositories, parameters, secrets and roles, so tests that
//! share a server never see each other's; [`Artifacts::publish`] makes what a fixture
//! world's task definitions name (`examples/moto_fixture.rs` includes this module). It
//! talks only to the endpoint of the SDK configuration it is given.

#![allow(dead_code)]

use std::collections::BTreeSet;

use anyhow::Context as _;
use aws_sdk_ecs::types::{ContainerDefinition, Secret};

use super::ecs_fixture::{ACCOUNT, FixtureCluster, REGION};

/// Clients of the four services a release is verified against.
#[derive(Debug, Clone)]
pub struct Artifacts {
    ecr: aws_sdk_ecr::Client,
    ssm: aws_sdk_ssm::Client,
    secrets: aws_sdk_secretsmanager::Client,
    iam: aws_sdk_iam::Client,
}

/// The ECR URI of `repository:tag` in moto's account and the fixtures' region.
pub fn ecr_image(repository: &str, tag: &str) -> String {
    format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repository}:{tag}")
}

/// The ARN of the SSM parameter `name` (which starts with `/`).
pub fn parameter_arn(name: &str) -> String {
    format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}")
}

/// The ARN of the IAM role `name`.
pub fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

impl Artifacts {
    /// Clients on `sdk`, whose endpoint URL must be the moto server's.
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            ecr: aws_sdk_ecr::Client::new(sdk),
            ssm: aws_sdk_ssm::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            iam: aws_sdk_iam::Client::new(sdk),
        }
    }

    /// Creates the ECR repository `name`.
    pub async fn repository(&self, name: &str) -> anyhow::Result<()> {
        self.ecr
            .create_repository()
            .repository_name(name)
            .send()
            .await
            .with_context(|| format!("CreateRepository {name}"))?;
        Ok(())
    }

    /// Pushes an image manifest tagged `tag` into `repository` (PutImage, as a CI's
    /// `docker push` ends); the manifest differs per tag.
    pub async fn push(&self, repository: &str, tag: &str) -> anyhow::Result<()> {
        // A digest of its own per tag (FNV-1a of the tag, widened).
        let hash = tag.bytes().fold(0xcbf2_9ce4_8422_2325_u128, |h, b| {
            (h ^ u128::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let digest = format!("{hash:064x}");
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":7023,"digest":"sha256:{digest}"}},"layers":[]}}"#
        );
        self.ecr
            .put_image()
            .repository_name(repository)
            .image_manifest(manifest)
            .image_tag(tag)
            .send()
            .await
            .with_context(|| format!("PutImage {repository}:{tag}"))?;
        Ok(())
    }

    /// Puts the SecureString parameter `name`.
    pub async fn parameter(&self, name: &str) -> anyhow::Result<()> {
        self.ssm
            .put_parameter()
            .name(name)
            .value("not-for-the-console-to-read")
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .with_context(|| format!("PutParameter {name}"))?;
        Ok(())
    }

    /// Creates the Secrets Manager secret `name`; returns its ARN.
    pub async fn secret(&self, name: &str) -> anyhow::Result<String> {
        let out = self
            .secrets
            .create_secret()
            .name(name)
            .secret_string("not-for-the-console-to-read")
            .send()
            .await
            .with_context(|| format!("CreateSecret {name}"))?;
        out.arn()
            .map(str::to_string)
            .context("CreateSecret returned no ARN")
    }

    /// Creates the IAM role `name` that ECS tasks may assume; returns its ARN.
    pub async fn role(&self, name: &str) -> anyhow::Result<String> {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let out = self
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust)
            .send()
            .await
            .with_context(|| format!("CreateRole {name}"))?;
        Ok(out
            .role()
            .map_or_else(|| role_arn(name), |r| r.arn().to_string()))
    }
}

impl Artifacts {
    /// Makes what the task definitions of `world` name: every image (the current and
    /// older revisions') in its ECR repository, every SSM parameter its secrets name.
    /// Returns how many images and parameters it made.
    pub async fn publish(&self, world: &[FixtureCluster]) -> anyhow::Result<(usize, usize)> {
        let specs = world
            .iter()
            .flat_map(|c| c.services.iter().map(|s| &s.spec));
        let mut images = BTreeSet::new();
        let mut parameters = BTreeSet::new();
        for spec in specs {
            for image in std::iter::once(&spec.image).chain(&spec.older_images) {
                if let Some((repository, tag)) = image
                    .split_once(".amazonaws.com/")
                    .and_then(|(_, path)| path.rsplit_once(':'))
                {
                    images.insert((repository.to_string(), tag.to_string()));
                }
            }
            for (_, from) in &spec.secrets {
                if let Some((_, name)) = from.split_once(":parameter") {
                    parameters.insert(name.to_string());
                }
            }
        }
        let repositories: BTreeSet<&str> = images.iter().map(|(r, _)| r.as_str()).collect();
        for repository in repositories {
            self.repository(repository).await?;
        }
        for (repository, tag) in &images {
            self.push(repository, tag).await?;
        }
        for name in &parameters {
            self.parameter(name).await?;
        }
        Ok((images.len(), parameters.len()))
    }
}

/// A revision of `family` for a release: one container `container` running `image`,
/// naming `secrets` (name, valueFrom) and the two roles.
#[derive(Debug, Clone, Default)]
pub struct Revision {
    /// The container's name.
    pub container: String,
    /// The image URI.
    pub image: String,
    /// Secrets: name and `valueFrom`.
    pub secrets: Vec<(String, String)>,
    /// `taskRoleArn`.
    pub task_role: Option<String>,
    /// `executionRoleArn`.
    pub execution_role: Option<String>,
}

impl Revision {
    /// Registers the revision in `family`; returns its ARN.
    pub async fn register(
        &self,
        ecs: &aws_sdk_ecs::Client,
        family: &str,
    ) -> anyhow::Result<String> {
        let mut container = ContainerDefinition::builder()
            .name(&self.container)
            .image(&self.image)
            .cpu(256)
            .memory(512)
            .essential(true);
        for (name, from) in &self.secrets {
            container = container.secrets(Secret::builder().name(name).value_from(from).build()?);
        }
        let out = ecs
            .register_task_definition()
            .family(family)
            .cpu("512")
            .memory("1024")
            .set_task_role_arn(self.task_role.clone())
            .set_execution_role_arn(self.execution_role.clone())
            .container_definitions(container.build())
            .send()
            .await
            .with_context(|| format!("RegisterTaskDefinition {family}"))?;
        out.task_definition()
            .and_then(|td| td.task_definition_arn())
            .map(str::to_string)
            .context("RegisterTaskDefinition returned no ARN")
    }
}
