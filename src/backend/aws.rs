//! The real AWS backends, on the AWS SDK for Rust.
//!
//! One SDK configuration per environment ([`auth::sdk_config`]): its profile, region and
//! optional endpoint URL, with the standard credential chain (SSO and assume-role
//! profiles included). SDK errors are classified into [`BackendError`]s with hints by
//! [`auth::classify`]. [`elb::AwsElb`] reads and switches the internal ALB and discovers
//! request paths. Nothing here knows about the terminal.

pub mod auth;
pub mod elb;

pub use crate::backend::BackendError;
