//! ECS fixtures in a moto server, built with the AWS SDK itself: a staging-shaped world
//! (the node-api, issuer and bank clusters, and the satoshi validators), bulk services
//! and tasks, and the config TOML that points the console at them.
//!
//! Shared by the moto tests and `examples/moto_fixture.rs` (included with `#[path]`),
//! so it returns errors instead of panicking. It talks only to the endpoint
//! of the SDK configuration it is given.
//!
//! moto's ECS differs from AWS in ways the builders work around:
//! - services never start tasks: tasks are started with RunTask in the service's group
//!   (`service:NAME`), which is how ECS names the service of a task;
//! - a task's status advances one step on every DescribeTasks unless moto's state
//!   manager is told otherwise ([`EcsFixture::hold_task_states`]);
//! - the FARGATE launch type needs no container instances, and without the `awsvpc`
//!   network mode no subnets or security groups are needed;
//! - a new service reports no running task until its desired count is updated, and
//!   reports its deployment in progress unless moto was started with
//!   `MOTO_ECS_SERVICE_RUNNING` at least the desired count;
//! - tasks carry no timestamps, and containers exit with code 0.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Context as _, bail};
use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    ContainerDefinition, KeyValuePair, LaunchType, LoadBalancer, LogConfiguration, LogDriver,
    PortMapping, Secret,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// moto's account id.
pub const ACCOUNT: &str = "123456789012";
/// The region of every fixture.
pub const REGION: &str = "ap-northeast-1";
/// Tasks per RunTask request (the API's maximum).
const RUN_TASK_BATCH: u32 = 10;

/// One service of a fixture cluster: its single container, what it runs, how many.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSpec {
    /// Service name, also the container name.
    pub name: String,
    /// Image of the current revision.
    pub image: String,
    /// Container port, if it listens.
    pub port: Option<u16>,
    /// Desired (and running) tasks.
    pub desired: u32,
    /// Environment variables.
    pub environment: Vec<(String, String)>,
    /// Secrets (name, SSM parameter ARN).
    pub secrets: Vec<(String, String)>,
    /// Target group name, when the service is behind an ALB.
    pub target_group: Option<String>,
    /// Images of older revisions registered before the current one, oldest first.
    pub older_images: Vec<String>,
}

impl ServiceSpec {
    pub fn new(name: &str, image: &str, port: Option<u16>, desired: u32) -> Self {
        Self {
            name: name.into(),
            image: image.into(),
            port,
            desired,
            environment: Vec::new(),
            secrets: Vec::new(),
            target_group: None,
            older_images: Vec::new(),
        }
    }

    fn env(mut self, pairs: &[(&str, &str)]) -> Self {
        self.environment
            .extend(pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())));
        self
    }

    fn secret(mut self, name: &str, parameter: &str) -> Self {
        self.secrets.push((
            name.into(),
            format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{parameter}"),
        ));
        self
    }

    fn behind(mut self, target_group: &str) -> Self {
        self.target_group = Some(target_group.into());
        self
    }
}

/// The shape of a cluster, as INFRASTRUCTURE.md describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterShape {
    /// nginx proxy, the API, notification, batch, two Quorum general nodes
    /// (node-api, issuer, bank).
    Wallet,
    /// Four Quorum IBFT validators (satoshi).
    Validators,
    /// A smaller node-api: nginx (six tasks), the API (eight) and the two Quorum general
    /// nodes; only the API and the general nodes sit behind a load balancer (the
    /// internal one).
    SmallWallet,
}

/// The staging world's clusters, as INFRASTRUCTURE.md lists them.
pub const STAGING_WORLD: [(&str, ClusterShape); 4] = [
    ("node-api", ClusterShape::Wallet),
    ("satoshi", ClusterShape::Validators),
    ("issuer", ClusterShape::Wallet),
    ("bank", ClusterShape::Wallet),
];

/// A small world: two clusters, eight services, twenty running tasks, one load balancer
/// (node-api's internal one, before the API and the two general nodes).
pub const SMALL_WORLD: [(&str, ClusterShape); 2] = [
    ("node-api", ClusterShape::SmallWallet),
    ("satoshi", ClusterShape::Validators),
];

/// A cluster the fixture built.
#[derive(Debug, Clone, PartialEq)]
pub struct FixtureCluster {
    /// Display name, e.g. `node-api`.
    pub name: String,
    /// ECS cluster name, e.g. `ibet-stg-node-api`.
    pub ecs_cluster: String,
    /// Services, in creation order.
    pub services: Vec<FixtureService>,
    /// Tasks stopped by the fixture (ARN), with their reason.
    pub stopped: Vec<(String, String)>,
}

impl FixtureCluster {
    /// The service called `name`.
    pub fn service(&self, name: &str) -> Option<&FixtureService> {
        self.services.iter().find(|s| s.spec.name == name)
    }

    /// Running tasks, all services together.
    pub fn running_tasks(&self) -> usize {
        self.services.iter().map(|s| s.tasks.len()).sum()
    }

    /// Distinct task definitions referenced by the services and by every task.
    pub fn task_definitions_referenced(&self) -> usize {
        let mut arns: Vec<&str> = self
            .services
            .iter()
            .map(|s| s.task_definition.as_str())
            .chain(
                self.services
                    .iter()
                    .flat_map(|s| s.stopped_task_definitions.iter().map(String::as_str)),
            )
            .collect();
        arns.sort_unstable();
        arns.dedup();
        arns.len()
    }
}

/// A service the fixture built.
#[derive(Debug, Clone, PartialEq)]
pub struct FixtureService {
    /// What it was built from.
    pub spec: ServiceSpec,
    /// ARN of the revision it runs.
    pub task_definition: String,
    /// ARNs of every revision registered for it, oldest first.
    pub revisions: Vec<String>,
    /// Its running tasks (ARN).
    pub tasks: Vec<String>,
    /// Task definitions of its stopped tasks.
    pub stopped_task_definitions: Vec<String>,
}

/// Builds ECS fixtures in one moto server.
#[derive(Debug, Clone)]
pub struct EcsFixture {
    client: Client,
    endpoint: String,
    /// What staging cluster names start with: `ibet-stg` unless [`EcsFixture::in_stage`]
    /// says otherwise.
    stage: String,
    /// ARNs of target groups that exist, by name ([`EcsFixture::with_target_groups`]);
    /// a name not here gets [`target_group_arn`], an ARN nothing answers for.
    target_groups: BTreeMap<String, String>,
}

impl EcsFixture {
    /// A builder on `sdk`, whose endpoint URL must be the moto server's.
    pub fn new(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let endpoint = sdk
            .endpoint_url()
            .context("the fixture needs the moto endpoint URL in the SDK configuration")?
            .trim_end_matches('/')
            .to_string();
        Ok(Self {
            client: Client::new(sdk),
            endpoint,
            stage: "ibet-stg".into(),
            target_groups: BTreeMap::new(),
        })
    }

    /// A builder on `sdk` once moto's ECS answers, with task states held
    /// ([`EcsFixture::ready`], [`EcsFixture::hold_task_states`]): what every test starts
    /// from.
    pub async fn connect(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let fixture = Self::new(sdk)?;
        fixture.ready().await?;
        fixture.hold_task_states().await?;
        Ok(fixture)
    }

    /// The same builder, naming staging clusters `{stage}-{name}`: tests that share a
    /// moto server each take a stage of their own, so their clusters and task definition
    /// families never meet.
    #[must_use]
    pub fn in_stage(mut self, stage: &str) -> Self {
        self.stage = stage.into();
        self
    }

    /// The same builder, putting services behind these target groups (name → ARN), made
    /// beforehand in moto's ELBv2.
    #[must_use]
    pub fn with_target_groups(mut self, groups: BTreeMap<String, String>) -> Self {
        self.target_groups = groups;
        self
    }

    /// The ECS cluster name of the staging cluster `name`: `{stage}-{name}`.
    pub fn staging_name(&self, name: &str) -> String {
        format!("{}-{name}", self.stage)
    }

    /// The SDK client the fixture uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Waits until moto's ECS answers: moto loads a service on its first call, which
    /// takes seconds on a busy machine.
    pub async fn ready(&self) -> anyhow::Result<()> {
        self.client
            .list_clusters()
            .send()
            .await
            .context("ListClusters")?;
        Ok(())
    }

    /// Tells moto's state manager to leave task statuses alone on DescribeTasks, so that
    /// a running task stays running until stopped. Lasts until moto restarts.
    pub async fn hold_task_states(&self) -> anyhow::Result<()> {
        let body = r#"{"model_name":"ecs::task","transition":{"progression":"manual","times":1000000000}}"#;
        post_json(
            &self.endpoint,
            "/moto-api/state-manager/set-transition",
            body,
        )
        .await
    }

    /// Creates an ECS cluster.
    pub async fn cluster(&self, name: &str) -> anyhow::Result<()> {
        self.client
            .create_cluster()
            .cluster_name(name)
            .send()
            .await
            .with_context(|| format!("CreateCluster {name}"))?;
        Ok(())
    }

    /// Registers a revision of `family` with one container built from `spec` and
    /// `image`, logging to `/ecs/{log_scope}/{spec.name}`; returns its ARN.
    pub async fn task_definition(
        &self,
        family: &str,
        log_scope: &str,
        spec: &ServiceSpec,
        image: &str,
    ) -> anyhow::Result<String> {
        let log = LogConfiguration::builder()
            .log_driver(LogDriver::Awslogs)
            .options("awslogs-group", format!("/ecs/{log_scope}/{}", spec.name))
            .options("awslogs-region", REGION)
            .options("awslogs-stream-prefix", "ecs")
            .build()?;
        let mut container = ContainerDefinition::builder()
            .name(&spec.name)
            .image(image)
            .cpu(256)
            .memory(512)
            .essential(true)
            .log_configuration(log)
            .set_environment(Some(
                spec.environment
                    .iter()
                    .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
                    .collect(),
            ));
        for (name, from) in &spec.secrets {
            container = container.secrets(Secret::builder().name(name).value_from(from).build()?);
        }
        if let Some(port) = spec.port {
            container = container.port_mappings(
                PortMapping::builder()
                    .container_port(i32::from(port))
                    .build(),
            );
        }
        let out = self
            .client
            .register_task_definition()
            .family(family)
            .cpu("512")
            .memory("1024")
            .container_definitions(container.build())
            .send()
            .await
            .with_context(|| format!("RegisterTaskDefinition {family}"))?;
        out.task_definition()
            .and_then(|td| td.task_definition_arn())
            .map(str::to_string)
            .context("RegisterTaskDefinition returned no ARN")
    }

    /// Creates a service running `task_definition` with `spec.desired` tasks, and makes
    /// moto report them running.
    pub async fn service(
        &self,
        cluster: &str,
        spec: &ServiceSpec,
        task_definition: &str,
    ) -> anyhow::Result<()> {
        let desired = i32::try_from(spec.desired)?;
        let mut create = self
            .client
            .create_service()
            .cluster(cluster)
            .service_name(&spec.name)
            .task_definition(task_definition)
            .desired_count(desired)
            .launch_type(LaunchType::Fargate);
        if let (Some(group), Some(port)) = (&spec.target_group, spec.port) {
            create = create.load_balancers(
                LoadBalancer::builder()
                    .target_group_arn(
                        self.target_groups
                            .get(group)
                            .cloned()
                            .unwrap_or_else(|| target_group_arn(group)),
                    )
                    .container_name(&spec.name)
                    .container_port(i32::from(port))
                    .build(),
            );
        }
        create
            .send()
            .await
            .with_context(|| format!("CreateService {cluster}/{}", spec.name))?;
        // moto counts a service's tasks as running only once its desired count is set.
        self.client
            .update_service()
            .cluster(cluster)
            .service(&spec.name)
            .desired_count(desired)
            .send()
            .await
            .with_context(|| format!("UpdateService {cluster}/{}", spec.name))?;
        Ok(())
    }

    /// Sets the deployment circuit breaker of `service` (UpdateService's
    /// `deploymentConfiguration`), which DescribeServices then reports.
    pub async fn circuit_breaker(
        &self,
        cluster: &str,
        service: &str,
        enable: bool,
        rollback: bool,
    ) -> anyhow::Result<()> {
        let breaker = aws_sdk_ecs::types::DeploymentCircuitBreaker::builder()
            .enable(enable)
            .rollback(rollback)
            .build();
        self.client
            .update_service()
            .cluster(cluster)
            .service(service)
            .deployment_configuration(
                aws_sdk_ecs::types::DeploymentConfiguration::builder()
                    .deployment_circuit_breaker(breaker)
                    .build(),
            )
            .send()
            .await
            .with_context(|| format!("UpdateService {cluster}/{service} circuit breaker"))?;
        Ok(())
    }

    /// Starts `count` tasks of `task_definition` in the group of `service`; returns
    /// their ARNs.
    pub async fn run_tasks(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
        count: u32,
    ) -> anyhow::Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut left = count;
        while left > 0 {
            let batch = left.min(RUN_TASK_BATCH);
            let out = self
                .client
                .run_task()
                .cluster(cluster)
                .task_definition(task_definition)
                .count(i32::try_from(batch)?)
                .launch_type(LaunchType::Fargate)
                .group(format!("service:{service}"))
                .started_by("ecs-svc/fixture")
                .send()
                .await
                .with_context(|| format!("RunTask {cluster}/{service}"))?;
            arns.extend(
                out.tasks()
                    .iter()
                    .filter_map(|t| t.task_arn().map(str::to_string)),
            );
            left -= batch;
        }
        Ok(arns)
    }

    /// Starts one task of `task_definition` in the group of `service`, with ECS Exec
    /// enabled or not (RunTask's `enableExecuteCommand`); returns its ARN.
    pub async fn run_task_with_exec(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
        enable_execute_command: bool,
    ) -> anyhow::Result<String> {
        let out = self
            .client
            .run_task()
            .cluster(cluster)
            .task_definition(task_definition)
            .count(1)
            .launch_type(LaunchType::Fargate)
            .group(format!("service:{service}"))
            .started_by("ecs-svc/fixture")
            .enable_execute_command(enable_execute_command)
            .send()
            .await
            .with_context(|| format!("RunTask {cluster}/{service}"))?;
        out.tasks()
            .iter()
            .find_map(|t| t.task_arn().map(str::to_string))
            .context("RunTask started no task")
    }

    /// Stops a task with `reason`.
    pub async fn stop_task(&self, cluster: &str, task: &str, reason: &str) -> anyhow::Result<()> {
        self.client
            .stop_task()
            .cluster(cluster)
            .task(task)
            .reason(reason)
            .send()
            .await
            .with_context(|| format!("StopTask {task}"))?;
        Ok(())
    }

    /// Builds a cluster of `services` from their specs: task definitions (older revisions
    /// first), services, and running tasks. Families are `{ecs_cluster}-{service}`.
    pub async fn build_cluster(
        &self,
        name: &str,
        ecs_cluster: &str,
        services: Vec<ServiceSpec>,
    ) -> anyhow::Result<FixtureCluster> {
        self.cluster(ecs_cluster).await?;
        let mut built = Vec::new();
        for spec in services {
            let family = format!("{ecs_cluster}-{}", spec.name);
            let mut revisions = Vec::new();
            for image in &spec.older_images {
                revisions.push(
                    self.task_definition(&family, ecs_cluster, &spec, image)
                        .await?,
                );
            }
            let task_definition = self
                .task_definition(&family, ecs_cluster, &spec, &spec.image)
                .await?;
            revisions.push(task_definition.clone());
            self.service(ecs_cluster, &spec, &task_definition).await?;
            let tasks = self
                .run_tasks(ecs_cluster, &spec.name, &task_definition, spec.desired)
                .await?;
            built.push(FixtureService {
                spec,
                task_definition,
                revisions,
                tasks,
                stopped_task_definitions: Vec::new(),
            });
        }
        Ok(FixtureCluster {
            name: name.into(),
            ecs_cluster: ecs_cluster.into(),
            services: built,
            stopped: Vec::new(),
        })
    }

    /// A staging cluster of `shape`: `{stage}-{name}`. A wallet cluster's `api` has
    /// two revisions, and one of its tasks on the older revision has stopped (the
    /// container exited), as after a release.
    pub async fn staging_cluster(
        &self,
        name: &str,
        shape: ClusterShape,
    ) -> anyhow::Result<FixtureCluster> {
        let ecs_cluster = self.staging_name(name);
        let specs = services_of(shape, &ecs_cluster);
        let mut cluster = self.build_cluster(name, &ecs_cluster, specs).await?;
        if let Some(api) = cluster.services.iter_mut().find(|s| s.spec.name == "api") {
            let old = api.revisions[0].clone();
            if old != api.task_definition {
                let reason = "Essential container in task exited";
                let task = self
                    .run_tasks(&ecs_cluster, "api", &old, 1)
                    .await?
                    .pop()
                    .context("RunTask started no task")?;
                self.stop_task(&ecs_cluster, &task, reason).await?;
                api.stopped_task_definitions.push(old);
                cluster.stopped.push((task, reason.into()));
            }
        }
        Ok(cluster)
    }

    /// The staging world: node-api, satoshi, issuer and bank.
    pub async fn staging_world(&self) -> anyhow::Result<Vec<FixtureCluster>> {
        self.world_of(&STAGING_WORLD).await
    }

    /// A world of these clusters (name, shape), built one after the other.
    pub async fn world_of(
        &self,
        clusters: &[(&str, ClusterShape)],
    ) -> anyhow::Result<Vec<FixtureCluster>> {
        let mut world = Vec::new();
        for (name, shape) in clusters {
            world.push(self.staging_cluster(name, *shape).await?);
        }
        Ok(world)
    }

    /// A cluster of `services` services (`svc-00`, `svc-01`, ...) sharing one task
    /// definition, with `tasks` running tasks spread evenly over them.
    pub async fn bulk_cluster(
        &self,
        ecs_cluster: &str,
        services: u32,
        tasks: u32,
    ) -> anyhow::Result<FixtureCluster> {
        self.cluster(ecs_cluster).await?;
        let base = ServiceSpec::new("svc", "public.ecr.aws/nginx/nginx:1.27", Some(80), 0);
        let family = format!("{ecs_cluster}-bulk");
        let task_definition = self
            .task_definition(&family, ecs_cluster, &base, &base.image)
            .await?;
        let mut built = Vec::new();
        for i in 0..services {
            let desired = tasks / services + u32::from(i < tasks % services);
            let spec = ServiceSpec {
                name: format!("svc-{i:02}"),
                desired,
                ..base.clone()
            };
            self.service(ecs_cluster, &spec, &task_definition).await?;
            let running = self
                .run_tasks(ecs_cluster, &spec.name, &task_definition, desired)
                .await?;
            built.push(FixtureService {
                spec,
                task_definition: task_definition.clone(),
                revisions: vec![task_definition.clone()],
                tasks: running,
                stopped_task_definitions: Vec::new(),
            });
        }
        Ok(FixtureCluster {
            name: ecs_cluster.into(),
            ecs_cluster: ecs_cluster.into(),
            services: built,
            stopped: Vec::new(),
        })
    }
}

/// The ARN of a target group called `name` when the fixture was given none of that name:
/// no ELB resource answers for it.
pub fn target_group_arn(name: &str) -> String {
    format!("arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/{name}/0f1e2d3c4b5a6978")
}

fn ecr(image: &str) -> String {
    format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{image}")
}

/// node-api, issuer and bank: INFRASTRUCTURE.md's chain behind the external ALB.
pub fn wallet_services(ecs_cluster: &str) -> Vec<ServiceSpec> {
    let internal_alb = format!("http://internal-{ecs_cluster}-int.{REGION}.elb.amazonaws.com");
    let quorum = ecr("ibet/quorum:24.4.1-patched");
    let mut api = ServiceSpec::new("api", &ecr("ibet/wallet-api:v24.12.0"), Some(5000), 2)
        .env(&[
            ("APP_ENV", "staging"),
            ("RUN_MODE", "server"),
            ("WEB3_HTTP_PROVIDER", &internal_alb),
            (
                "COMPANY_LIST_URL",
                "s3://ibet-stg-company-list/company_list.json",
            ),
        ])
        .secret(
            "DATABASE_URL",
            &format!("/ibet/stg/{ecs_cluster}/database-url"),
        )
        .behind(&format!("{ecs_cluster}-api"));
    api.older_images.push(ecr("ibet/wallet-api:v24.9.0"));
    let worker = |name: &str, mode: &str| {
        ServiceSpec::new(name, &ecr("ibet/wallet-api:v24.12.0"), None, 1)
            .env(&[
                ("APP_ENV", "staging"),
                ("RUN_MODE", mode),
                ("WEB3_HTTP_PROVIDER", &internal_alb),
            ])
            .secret(
                "DATABASE_URL",
                &format!("/ibet/stg/{ecs_cluster}/database-url"),
            )
    };
    vec![
        ServiceSpec::new("nginx-proxy", &ecr("ibet/nginx-proxy:1.27"), Some(80), 2)
            .env(&[
                ("UPSTREAM_HOST", &internal_alb),
                ("RESOLVER_VALID_SECS", "10"),
            ])
            .secret(
                "BASIC_AUTH_HTPASSWD",
                &format!("/ibet/stg/{ecs_cluster}/htpasswd"),
            )
            .behind(&format!("{ecs_cluster}-nginx")),
        api,
        worker("notification", "notification").secret(
            "FIREBASE_CREDENTIALS",
            &format!("/ibet/stg/{ecs_cluster}/firebase"),
        ),
        worker("batch", "batch"),
        ServiceSpec::new("quorum-general-1", &quorum, Some(8545), 1)
            .env(&[("NODE_ROLE", "general"), ("PRIVATE_CONFIG", "ignore")])
            .behind(&format!("{ecs_cluster}-quorum-a")),
        ServiceSpec::new("quorum-general-2", &quorum, Some(8545), 1)
            .env(&[("NODE_ROLE", "general"), ("PRIVATE_CONFIG", "ignore")])
            .behind(&format!("{ecs_cluster}-quorum-b")),
    ]
}

/// The services of a cluster of `shape`, as [`EcsFixture::staging_cluster`] builds it.
pub fn services_of(shape: ClusterShape, ecs_cluster: &str) -> Vec<ServiceSpec> {
    match shape {
        ClusterShape::Wallet => wallet_services(ecs_cluster),
        ClusterShape::Validators => validator_services(),
        ClusterShape::SmallWallet => small_wallet_services(ecs_cluster),
    }
}

/// [`ClusterShape::SmallWallet`]: the wallet services without notification and batch,
/// nginx with six tasks and no load balancer of its own, the API with eight.
pub fn small_wallet_services(ecs_cluster: &str) -> Vec<ServiceSpec> {
    wallet_services(ecs_cluster)
        .into_iter()
        .filter(|s| !matches!(s.name.as_str(), "notification" | "batch"))
        .map(|mut s| {
            match s.name.as_str() {
                "nginx-proxy" => {
                    s.desired = 6;
                    s.target_group = None;
                }
                "api" => s.desired = 8,
                _ => {}
            }
            s
        })
        .collect()
}

/// satoshi: four IBFT validators, data under `quorum_data/v1..v4` on the host.
fn validator_services() -> Vec<ServiceSpec> {
    (1..=4)
        .map(|i| {
            ServiceSpec::new(
                &format!("quorum-validator-{i}"),
                &ecr("ibet/quorum:24.4.1-patched"),
                Some(8545),
                1,
            )
            .env(&[
                ("NODE_ROLE", "validator"),
                ("CONSENSUS", "istanbul"),
                ("DATA_DIR", &format!("/quorum_data/v{i}")),
            ])
            .secret(
                "NODE_KEY",
                &format!("/ibet/stg/ibet-stg-satoshi/validator-{i}/nodekey"),
            )
        })
        .collect()
}

/// Loopback RPC ports handed to the Quorum nodes of the world, in order.
const FIRST_RPC_PORT: u16 = 8545;

/// A console config for `world` in moto at `endpoint` (keys as in `src/config.rs`):
/// one `staging` environment, its clusters, and their Quorum nodes on loopback ports
/// where nothing answers until someone starts nodes there.
pub fn config_toml(endpoint: &str, world: &[FixtureCluster]) -> String {
    let mut toml = String::new();
    let _ = writeln!(
        toml,
        "# The staging-like world examples/moto_fixture.rs built in moto at {endpoint}.\n\
         # Credentials: any static pair, e.g.\n\
         #   export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing\n\
         # The Quorum nodes' RPC URLs are loopback ports where nothing answers until nodes\n\
         # (e.g. anvil) are started there.\n\
         refresh_secs = 5\n\n\
         [[environments]]\n\
         name = \"staging\"\n\
         region = \"{REGION}\"\n\
         endpoint_url = \"{endpoint}\"\n\
         danger = false\n\
         read_only = false"
    );
    let mut port = FIRST_RPC_PORT;
    for cluster in world {
        let _ = writeln!(
            toml,
            "\n[[environments.clusters]]\nname = \"{}\"\necs_cluster = \"{}\"",
            cluster.name, cluster.ecs_cluster
        );
        for service in &cluster.services {
            let name = &service.spec.name;
            let Some(node) = name.strip_prefix("quorum-") else {
                continue;
            };
            let role = if node.starts_with("validator") {
                "validator"
            } else {
                "general"
            };
            let _ = writeln!(
                toml,
                "\n[[environments.clusters.quorum_nodes]]\nname = \"{node}\"\n\
                 rpc_url = \"http://127.0.0.1:{port}\"\nrole = \"{role}\"\nservice = \"{name}\""
            );
            port += 1;
        }
    }
    toml
}

/// POSTs a JSON body to moto's own HTTP API; fails unless moto answers 2xx.
async fn post_json(endpoint: &str, path: &str, body: &str) -> anyhow::Result<()> {
    let authority = endpoint
        .strip_prefix("http://")
        .context("moto's endpoint must be http://HOST:PORT")?;
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .with_context(|| format!("connect to {authority}"))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response);
    let status = response.lines().next().unwrap_or_default();
    if !status
        .split_whitespace()
        .nth(1)
        .is_some_and(|code| code.starts_with('2'))
    {
        bail!("moto answered {path} with {status}");
    }
    Ok(())
}

/// A container's awslogs configuration: group `group`, streams `prefix/CONTAINER/TASK`.
pub fn awslogs(group: &str, prefix: &str) -> aws_sdk_ecs::types::LogConfiguration {
    use aws_sdk_ecs::types::{LogConfiguration, LogDriver};
    LogConfiguration::builder()
        .log_driver(LogDriver::Awslogs)
        .options("awslogs-group", group)
        .options("awslogs-region", "ap-northeast-1")
        .options("awslogs-stream-prefix", prefix)
        .build()
        .expect("log configuration")
}
