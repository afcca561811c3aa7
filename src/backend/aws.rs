//! The real AWS backends, on the AWS SDK for Rust.
//!
//! One SDK configuration per environment ([`auth::sdk_config`]): its profile, region and
//! optional endpoint URL, with the standard credential chain (SSO and assume-role
//! profiles included). SDK errors are classified into [`BackendError`]s with hints by
//! [`auth::classify`]; [`sources::CredentialSources`] says which profile and files the
//! SDK looked in, for the messages about credentials. [`ecs::AwsEcs`] reads and changes ECS, [`elb::AwsElb`] reads and
//! switches the internal ALB and discovers request paths, [`identity::AwsIdentity`]
//! answers who we are, [`logs::AwsLogs`] reads CloudWatch Logs, [`cloudwatch::AwsMetrics`]
//! reads CloudWatch metrics and alarms, [`locks::DynamoLocks`] keeps the action lock in
//! a DynamoDB table, [`verify::AwsVerify`] looks up what a release's task definition names
//! (ECR images, SSM parameters, Secrets Manager secrets, IAM roles), and
//! [`metrics::RequestCounter`] counts the requests any client
//! sends. Nothing here knows about the terminal.

pub mod auth;
pub mod cloudwatch;
pub mod ecs;
pub mod elb;
pub mod identity;
pub mod locks;
pub mod logs;
pub mod metrics;
pub mod sources;
pub mod verify;

pub use crate::backend::BackendError;
