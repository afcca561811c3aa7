//! A session: the configuration, one backend bundle per environment, and the clock.
//!
//! The TUI and every subcommand start from a [`Session`], so they see the same world
//! through the same backends: the embedded demo world with `--demo`, AWS and Quorum
//! nodes otherwise.

use std::sync::Arc;

use crate::backend::EnvBackends;
use crate::backend::aws::locks::DynamoLocks;
use crate::backend::lock::{HostLocks, LockStore};
use crate::backend::sim::{SimWorld, demo_config};
use crate::clock::SharedClock;
use crate::config::Config;

/// Everything a view or a subcommand needs to talk to the world.
pub struct Session {
    /// The configuration (the demo world's own with `--demo`).
    pub config: Config,
    /// Backends, one bundle per environment, in config order.
    pub backends: Vec<EnvBackends>,
    /// The clock.
    pub clock: SharedClock,
    /// The demo world, when this is a demo session.
    pub world: Option<SimWorld>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("environments", &self.config.environments.len())
            .field("demo", &self.world.is_some())
            .finish_non_exhaustive()
    }
}

/// The environment's lock store: its team's DynamoDB table, else this host's lock files
/// (in a temporary folder when the host has no runtime, state or data folder).
fn lock_store(
    env: &crate::config::Environment,
    sdk: &aws_config::SdkConfig,
    profile: Option<String>,
) -> Arc<dyn LockStore> {
    match &env.team.lock_table {
        Some(table) => Arc::new(DynamoLocks::new(sdk, table, profile)),
        None => Arc::new(HostLocks::new(
            HostLocks::default_dir()
                .unwrap_or_else(|| std::env::temp_dir().join("ibet-console-locks")),
        )),
    }
}

impl Session {
    /// A session on the embedded demo world.
    pub fn demo(seed: u64, clock: SharedClock) -> Self {
        let world = SimWorld::new(seed, Arc::clone(&clock));
        let config = demo_config();
        let backends = config
            .environments
            .iter()
            .filter_map(|e| world.backends(&e.name))
            .collect();
        Self {
            config,
            backends,
            clock,
            world: Some(world),
        }
    }

    /// A session on AWS and the configured Quorum nodes: one SDK configuration per
    /// environment (its profile, region and endpoint), one RPC client for all nodes.
    pub async fn connect(config: Config, clock: SharedClock) -> Self {
        let rpc: Arc<dyn crate::backend::RpcApi> =
            Arc::new(crate::backend::rpc::QuorumRpc::new(Arc::clone(&clock)));
        let mut backends = Vec::with_capacity(config.environments.len());
        for env in &config.environments {
            let sdk = crate::backend::aws::auth::sdk_config(env).await;
            let profile = env.aws_profile.clone();
            backends.push(EnvBackends {
                ecs: Arc::new(crate::backend::aws::ecs::AwsEcs::new(
                    &sdk,
                    profile.clone(),
                    Arc::clone(&clock),
                )),
                elb: Arc::new(crate::backend::aws::elb::AwsElb::new(&sdk, profile.clone())),
                logs: Arc::new(crate::backend::aws::logs::AwsLogs::new(
                    &sdk,
                    profile.clone(),
                )),
                metrics: Arc::new(crate::backend::aws::cloudwatch::AwsMetrics::new(
                    &sdk,
                    profile.clone(),
                )),
                rpc: Arc::clone(&rpc),
                identity: Arc::new(crate::backend::aws::identity::AwsIdentity::new(
                    &sdk,
                    profile.clone(),
                )),
                verify: Arc::new(crate::backend::aws::verify::AwsVerify::new(
                    &sdk,
                    profile.clone(),
                )),
                locks: lock_store(env, &sdk, profile),
            });
        }
        Self {
            config,
            backends,
            clock,
            world: None,
        }
    }

    /// A session with nothing configured (the TUI then explains how to start).
    pub fn empty(clock: SharedClock) -> Self {
        Self {
            config: Config {
                refresh_secs: 5,
                rpc_poll_secs: 1,
                quiet_refresh_secs: 9,
                quiet_rpc_poll_secs: 5,
                theme: "default".into(),
                log_buffer_lines: 100_000,
                timezone: "UTC".into(),
                audit_log: None,
                quorum: crate::quorum::QuorumThresholds::default(),
                metrics: crate::model::metrics::MetricThresholds::default(),
                logs: crate::config::LogsSettings::default(),
                environments: Vec::new(),
            },
            backends: Vec::new(),
            clock,
            world: None,
        }
    }

    /// Gives every environment a Quorum RPC client whose polls may last `timeout` (for
    /// `status`, which waits that long for a slow node rather than judging it by the
    /// live console's shorter rhythm). The demo world keeps its own nodes.
    pub fn use_rpc_timeout(&mut self, timeout: std::time::Duration) {
        if self.is_demo() {
            return;
        }
        let rpc: Arc<dyn crate::backend::RpcApi> = Arc::new(
            crate::backend::rpc::QuorumRpc::new(Arc::clone(&self.clock)).with_timeout(timeout),
        );
        for backends in &mut self.backends {
            backends.rpc = Arc::clone(&rpc);
        }
    }

    /// Whether this is the demo world.
    pub fn is_demo(&self) -> bool {
        self.world.is_some()
    }

    /// Keeps only the environment called `name`; an error names the ones that exist.
    pub fn restrict_to_env(&mut self, name: &str) -> Result<(), String> {
        let Some(i) = self.config.environments.iter().position(|e| e.name == name) else {
            let names: Vec<_> = self
                .config
                .environments
                .iter()
                .map(|e| e.name.as_str())
                .collect();
            return Err(format!(
                "no environment `{name}`; configured: {}",
                names.join(", ")
            ));
        };
        self.config.environments = vec![self.config.environments.remove(i)];
        self.backends = vec![self.backends.remove(i)];
        Ok(())
    }
}
