//! The real AWS backends, on the AWS SDK for Rust.
//!
//! One SDK configuration per environment ([`auth::sdk_config`]): its profile, region and
//! optional endpoint URL, with the standard credential chain (SSO and assume-role
//! profiles included). SDK errors are classified into [`BackendError`]s with hints by
//! [`auth::classify`]. Nothing here knows about the terminal.

pub mod auth;
pub mod logs;

pub use crate::backend::BackendError;
