//! The demo world's fixed topology: environments, clusters, services, names and ARNs,
//! task-definition revisions, and the configuration that points the console at it.
//!
//! Everything here is a pure function of the environment and cluster names (never of the
//! seed), so the demo configuration and the world agree on every ARN. Nothing here holds
//! state or changes over time.

use std::collections::BTreeMap;

use crate::config::{AlbSwitch, Cluster, Config, Environment, QuorumNode};
use crate::model::alb::SwitchMode;
use crate::model::ecs::{AwsLogs, CircuitBreaker, ContainerDefinition, TaskDefinition};
use crate::model::quorum::NodeRole;

use super::rng::{hash_str, hex_of, mix};

/// The AWS region of every environment.
pub(super) const REGION: &str = "ap-northeast-1";
/// Validators of the satoshi chain.
pub(super) const VALIDATORS: usize = 4;
/// General nodes per cluster that has them.
pub(super) const GENERALS: usize = 2;
/// Task-definition revisions deployed so far per family (the running one and older ones).
const REVISIONS: u32 = 4;

/// One simulated environment.
#[derive(Debug)]
pub(super) struct EnvSpec {
    /// `production` or `staging`.
    pub name: &'static str,
    /// `prd` or `stg`, used in resource names.
    pub short: &'static str,
    /// The AWS account holding it.
    pub account: &'static str,
    /// Production look.
    pub danger: bool,
    /// The first two octets of the VPC.
    pub net: &'static str,
    /// How the internal ALB switches between general nodes.
    pub switch_mode: SwitchMode,
    /// When the chain started (epoch seconds).
    pub genesis_s: i64,
    /// Image tags of the AP containers, oldest revision first.
    pub app_tags: [&'static str; REVISIONS as usize],
    /// Image tags of nginx.
    pub nginx_tags: [&'static str; REVISIONS as usize],
    /// Image tags of the patched Quorum build.
    pub quorum_tags: [&'static str; REVISIONS as usize],
    /// Image tag of the AP containers' next release: CI registered its revision, no
    /// service runs it yet.
    pub app_release_tag: &'static str,
    /// Wallet requests per 1000 s at the busiest cluster.
    pub requests_per_ks: u64,
    /// The chain's network id.
    pub network_id: u64,
}

/// The environments, in tab order.
pub(super) const ENVS: [EnvSpec; 2] = [
    EnvSpec {
        name: "production",
        short: "prd",
        account: "210987654321",
        danger: true,
        net: "10.10",
        switch_mode: SwitchMode::Listener,
        genesis_s: 1_609_459_200, // 2021-01-01
        app_tags: ["v23.12.0", "v24.3.0", "v24.6.0", "v24.6.1"],
        nginx_tags: ["1.24.0-r2", "1.24.0-r3", "1.25.3-r1", "1.25.4-r1"],
        quorum_tags: [
            "21.7.1-ibet.1",
            "21.7.1-ibet.2",
            "21.7.1-ibet.3",
            "21.7.1-ibet.4",
        ],
        app_release_tag: "v24.9.0",
        requests_per_ks: 1_400,
        network_id: 1_500_002,
    },
    EnvSpec {
        name: "staging",
        short: "stg",
        account: "123456789012",
        danger: false,
        net: "10.20",
        switch_mode: SwitchMode::Targets,
        genesis_s: 1_688_169_600, // 2023-07-01
        app_tags: ["v24.3.0", "v24.6.0", "v24.6.1", "v24.9.0-rc.2"],
        nginx_tags: ["1.24.0-r3", "1.25.3-r1", "1.25.4-r1", "1.25.4-r2"],
        quorum_tags: [
            "21.7.1-ibet.2",
            "21.7.1-ibet.3",
            "21.7.1-ibet.4",
            "21.7.1-ibet.5",
        ],
        app_release_tag: "v24.9.0",
        requests_per_ks: 450,
        network_id: 2_500_002,
    },
];

/// One ECS cluster of an environment.
#[derive(Debug)]
pub(super) struct ClusterSpec {
    /// Display name, e.g. `node-api`.
    pub name: &'static str,
    /// ECR repository of the AP image (empty for the validators' cluster).
    pub app_repo: &'static str,
    /// Whether this is the validators' cluster.
    pub validators: bool,
    /// The general node the internal ALB points at initially.
    pub initial_active: usize,
    /// Share of the environment's traffic, per mille.
    pub traffic_share: u64,
}

/// The clusters of every environment, in display order.
pub(super) const CLUSTERS: [ClusterSpec; 4] = [
    ClusterSpec {
        name: "node-api",
        app_repo: "ibet-wallet-api",
        validators: false,
        initial_active: 0,
        traffic_share: 1000,
    },
    ClusterSpec {
        name: "satoshi",
        app_repo: "",
        validators: true,
        initial_active: 0,
        traffic_share: 0,
    },
    ClusterSpec {
        name: "issuer",
        app_repo: "ibet-issuer-api",
        validators: false,
        initial_active: 1,
        traffic_share: 300,
    },
    ClusterSpec {
        name: "bank",
        app_repo: "ibet-bank-api",
        validators: false,
        initial_active: 0,
        traffic_share: 150,
    },
];

/// What a service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ServiceKind {
    /// The DMZ nginx proxy.
    Nginx,
    /// The Web API on port 5000.
    Api,
    /// The push-notification worker.
    Notification,
    /// The batch indexers.
    Batch,
    /// Quorum general node (0-based number within the cluster).
    General(usize),
    /// Quorum validator (0-based number).
    Validator(usize),
}

impl ServiceKind {
    /// Whether the service runs a Quorum node.
    pub(super) fn is_quorum(self) -> bool {
        matches!(self, Self::General(_) | Self::Validator(_))
    }

    /// The deployment circuit breaker its service has: the Web API's stops a failing
    /// rollout, nginx's and the notification worker's also roll it back; the batch
    /// indexers and the Quorum nodes (a node's data lives on its host) have none.
    pub(super) fn circuit_breaker(self) -> CircuitBreaker {
        match self {
            Self::Api => CircuitBreaker::On,
            Self::Nginx | Self::Notification => CircuitBreaker::Rollback,
            Self::Batch | Self::General(_) | Self::Validator(_) => CircuitBreaker::Off,
        }
    }
}

/// One ECS service.
#[derive(Debug, Clone)]
pub(super) struct ServiceSpec {
    /// Service name.
    pub name: String,
    /// What it runs.
    pub kind: ServiceKind,
    /// Desired tasks.
    pub desired: u32,
    /// The one container of its tasks.
    pub container: &'static str,
    /// Container ports.
    pub ports: Vec<u16>,
    /// CPU units.
    pub cpu: i32,
    /// Memory (MiB).
    pub memory: i32,
    /// Whether the container has a health check.
    pub health_check: bool,
}

/// The services of a cluster, sorted by name.
pub(super) fn services_of(cluster: &ClusterSpec) -> Vec<ServiceSpec> {
    let mut out = Vec::new();
    if cluster.validators {
        for v in 0..VALIDATORS {
            out.push(ServiceSpec {
                name: format!("quorum-validator-{}", v + 1),
                kind: ServiceKind::Validator(v),
                desired: 1,
                container: "quorum",
                ports: vec![8545, 30303],
                cpu: 1024,
                memory: 4096,
                health_check: true,
            });
        }
        return out;
    }
    let ap = |name: &str, kind, desired, container, ports: Vec<u16>, cpu, memory, hc| ServiceSpec {
        name: name.to_string(),
        kind,
        desired,
        container,
        ports,
        cpu,
        memory,
        health_check: hc,
    };
    out.push(ap(
        "api",
        ServiceKind::Api,
        2,
        "api",
        vec![5000],
        1024,
        2048,
        true,
    ));
    out.push(ap(
        "batch",
        ServiceKind::Batch,
        1,
        "batch",
        vec![],
        512,
        1024,
        false,
    ));
    out.push(ap(
        "nginx-proxy",
        ServiceKind::Nginx,
        2,
        "nginx",
        vec![80],
        256,
        512,
        true,
    ));
    out.push(ap(
        "notification",
        ServiceKind::Notification,
        1,
        "notification",
        vec![],
        512,
        1024,
        false,
    ));
    for g in 0..GENERALS {
        out.push(ap(
            &format!("quorum-general-{}", g + 1),
            ServiceKind::General(g),
            1,
            "quorum",
            vec![8443, 30303],
            2048,
            8192,
            true,
        ));
    }
    out
}

impl EnvSpec {
    /// A salt that separates this environment's random streams.
    pub(super) fn salt(&self) -> u64 {
        hash_str(self.name)
    }

    /// ECS cluster name, e.g. `ibet-stg-node-api`.
    pub(super) fn ecs_cluster(&self, cluster: &str) -> String {
        format!("ibet-{}-{cluster}", self.short)
    }

    /// Task-definition family, e.g. `ibet-stg-node-api-api`.
    pub(super) fn family(&self, cluster: &str, service: &str) -> String {
        format!("ibet-{}-{cluster}-{service}", self.short)
    }

    /// Log group, e.g. `/ecs/ibet-stg/node-api/api`.
    pub(super) fn log_group(&self, cluster: &str, service: &str) -> String {
        format!("/ecs/ibet-{}/{cluster}/{service}", self.short)
    }

    /// Task-definition ARN.
    pub(super) fn task_definition_arn(&self, family: &str, revision: u32) -> String {
        format!(
            "arn:aws:ecs:{REGION}:{}:task-definition/{family}:{revision}",
            self.account
        )
    }

    /// The ECS cluster's ARN.
    pub(super) fn cluster_arn(&self, ecs_cluster: &str) -> String {
        format!(
            "arn:aws:ecs:{REGION}:{}:cluster/{ecs_cluster}",
            self.account
        )
    }

    /// Service ARN.
    pub(super) fn service_arn(&self, ecs_cluster: &str, service: &str) -> String {
        format!(
            "arn:aws:ecs:{REGION}:{}:service/{ecs_cluster}/{service}",
            self.account
        )
    }

    /// Task ARN.
    pub(super) fn task_arn(&self, ecs_cluster: &str, id: &str) -> String {
        format!(
            "arn:aws:ecs:{REGION}:{}:task/{ecs_cluster}/{id}",
            self.account
        )
    }

    /// Target group ARN of a target group called `name`.
    pub(super) fn target_group_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:elasticloadbalancing:{REGION}:{}:targetgroup/{name}/{}",
            self.account,
            hex_of(hash_str(name), 16)
        )
    }

    /// The internal ALB's listener ARN of a cluster (its :80 listener, whose default
    /// action forwards to the Quorum general nodes).
    pub(super) fn listener_arn(&self, cluster: &str) -> String {
        self.listener_arn_on(&self.internal_alb(cluster), 80)
    }

    /// The ARN of load balancer `alb`'s listener on `port`.
    pub(super) fn listener_arn_on(&self, alb: &str, port: u16) -> String {
        let h = hash_str(alb);
        format!(
            "arn:aws:elasticloadbalancing:{REGION}:{}:listener/app/{alb}/{}/{}",
            self.account,
            hex_of(h, 16),
            hex_of(mix(h, u64::from(port)), 16)
        )
    }

    /// The internet-facing ALB of a cluster, e.g. `ibet-stg-node-api-ext`.
    pub(super) fn external_alb(&self, cluster: &str) -> String {
        format!("ibet-{}-{cluster}-ext", self.short)
    }

    /// The internal ALB of a cluster, e.g. `ibet-stg-node-api-int`.
    pub(super) fn internal_alb(&self, cluster: &str) -> String {
        format!("ibet-{}-{cluster}-int", self.short)
    }

    /// The ARN of load balancer `alb`.
    pub(super) fn load_balancer_arn(&self, alb: &str) -> String {
        format!(
            "arn:aws:elasticloadbalancing:{REGION}:{}:loadbalancer/app/{alb}/{}",
            self.account,
            hex_of(hash_str(alb), 16)
        )
    }

    /// The internal ALB's DNS name of a cluster.
    pub(super) fn internal_alb_dns(&self, cluster: &str) -> String {
        let alb = self.internal_alb(cluster);
        format!(
            "internal-{alb}-{}.{REGION}.elb.amazonaws.com",
            hash_str(&alb) % 9_000_000_000 + 1_000_000_000
        )
    }

    /// The internet-facing ALB's DNS name of a cluster.
    pub(super) fn external_alb_dns(&self, cluster: &str) -> String {
        let alb = self.external_alb(cluster);
        format!(
            "{alb}-{}.{REGION}.elb.amazonaws.com",
            hash_str(&alb) % 9_000_000_000 + 1_000_000_000
        )
    }

    /// The private IP of an ECS task of the `cluster_index`-th cluster (awsvpc), stable
    /// for its id; never one of the general nodes' addresses.
    pub(super) fn task_ip(&self, cluster_index: usize, task_id: &str) -> String {
        format!(
            "{}.{}.{}",
            self.net,
            11 + cluster_index,
            64 + hash_str(task_id) % 190
        )
    }

    /// The private IP of general node `node` of the `cluster_index`-th cluster.
    pub(super) fn general_ip(&self, cluster_index: usize, node: usize) -> String {
        format!("{}.{}.{}", self.net, 11 + cluster_index, 31 + node)
    }

    /// The private IP of validator `v`.
    pub(super) fn validator_ip(&self, v: usize) -> String {
        format!("{}.{}.{}", self.net, 40, 11 + v)
    }

    /// What `sts get-caller-identity` answers in this environment.
    pub(super) fn caller_arn(&self) -> String {
        format!(
            "arn:aws:sts::{}:assumed-role/ibet-operator/demo",
            self.account
        )
    }

    /// Whether the environment's ECR registry holds `repository:tag` (or a digest of
    /// it: none). Every tag of the demo's revisions was pushed.
    pub(super) fn has_image(&self, registry: &str, repository: &str, tag: &str) -> bool {
        let tags: Vec<&str> = match repository {
            "ibet-nginx-proxy" => self.nginx_tags.to_vec(),
            "ibet-quorum" => self.quorum_tags.to_vec(),
            repo if CLUSTERS
                .iter()
                .any(|c| !c.app_repo.is_empty() && c.app_repo == repo) =>
            {
                let mut tags = self.app_tags.to_vec();
                tags.push(self.app_release_tag);
                tags
            }
            _ => Vec::new(),
        };
        registry == self.account && tags.contains(&tag)
    }

    /// Whether the environment's SSM holds the parameter `name`: every parameter under
    /// `/ibet/{short}/` but the batch indexers' Slack webhook, which their next revision
    /// names and nobody created (the demo's release that its checks refuse).
    pub(super) fn has_parameter(&self, name: &str) -> bool {
        name.starts_with(&format!("/ibet/{}/", self.short)) && !name.ends_with(SLACK_WEBHOOK)
    }

    /// Whether Secrets Manager holds the secret `id` (ARN): the environment's `ibet-{short}/`
    /// secrets.
    pub(super) fn has_secret(&self, id: &str) -> bool {
        id.contains(&format!(":{}:secret:ibet-{}/", self.account, self.short))
    }

    /// Whether IAM has the role `name`: the environment's `ibet-{short}-` roles.
    pub(super) fn has_role(&self, name: &str) -> bool {
        name.starts_with(&format!("ibet-{}-", self.short))
    }

    fn ecr(&self, repo: &str, tag: &str) -> String {
        format!(
            "{}.dkr.ecr.{REGION}.amazonaws.com/{repo}:{tag}",
            self.account
        )
    }
}

/// The `sim://` RPC URL of a node.
pub(super) fn rpc_url(env: &str, cluster: &str, node: &str) -> String {
    format!("sim://{env}/{cluster}/{node}")
}

/// A password-looking string, stable for its inputs.
fn secret(parts: &[&str], len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let seed = parts.iter().fold(0x1b87_3593, |h, p| mix(h, hash_str(p)));
    (0..len)
        .map(|i| {
            let n = mix(seed, i as u64) % ALPHABET.len() as u64;
            char::from(ALPHABET[n as usize])
        })
        .collect()
}

/// The revision of `family` its service runs (the newest deployed one).
pub(super) fn deployed_revision(family: &str) -> u32 {
    first_revision(family) + REVISIONS - 1
}

fn first_revision(family: &str) -> u32 {
    3 + (hash_str(family) % 60) as u32
}

/// The last part of the batch indexers' Slack webhook parameter, which does not exist.
const SLACK_WEBHOOK: &str = "/slack-webhook-url";

/// The task-definition revisions of one service, oldest first: the deployed ones (the
/// last of them runs, see [`deployed_revision`]) and, for the AP containers, one newer
/// revision CI registered for the next release (new image tag, a Sentry DSN, and more
/// memory for the Web API).
pub(super) fn task_definitions(
    env: &EnvSpec,
    cluster_index: usize,
    service: &ServiceSpec,
) -> Vec<TaskDefinition> {
    let cluster = &CLUSTERS[cluster_index];
    let family = env.family(cluster.name, &service.name);
    let first = first_revision(&family);
    let app = matches!(
        service.kind,
        ServiceKind::Api | ServiceKind::Notification | ServiceKind::Batch
    );
    let count = if app { REVISIONS + 1 } else { REVISIONS };
    (0..count)
        .map(|i| {
            let revision = first + i;
            let next = i == REVISIONS;
            let tag = match service.kind {
                _ if next => env.app_release_tag,
                ServiceKind::Nginx => env.nginx_tags[i as usize],
                ServiceKind::General(_) | ServiceKind::Validator(_) => env.quorum_tags[i as usize],
                _ => env.app_tags[i as usize],
            };
            let repo = match service.kind {
                ServiceKind::Nginx => "ibet-nginx-proxy",
                ServiceKind::General(_) | ServiceKind::Validator(_) => "ibet-quorum",
                _ => cluster.app_repo,
            };
            let mut environment = environment_of(env, cluster_index, service, i);
            if next {
                environment.push((
                    "SENTRY_DSN".to_string(),
                    format!(
                        "https://{}@o4507.ingest.sentry.io/{}",
                        secret(&[env.name, cluster.name, "sentry"], 32),
                        4_507_000 + hash_str(&family) % 1000
                    ),
                ));
            }
            environment.sort();
            let memory = if next && service.kind == ServiceKind::Api {
                service.memory * 2
            } else {
                service.memory
            };
            let secrets = match service.kind {
                ServiceKind::Notification => vec![(
                    "APNS_AUTH_KEY".to_string(),
                    format!(
                        "arn:aws:secretsmanager:{REGION}:{}:secret:ibet-{}/apns-auth-key-{}",
                        env.account,
                        env.short,
                        secret(&[env.name, "apns"], 6)
                    ),
                )],
                // CI's next batch revision names a parameter nobody created.
                ServiceKind::Batch if next => vec![(
                    "SLACK_WEBHOOK_URL".to_string(),
                    format!(
                        "arn:aws:ssm:{REGION}:{}:parameter/ibet/{}/{}/batch{SLACK_WEBHOOK}",
                        env.account, env.short, cluster.name
                    ),
                )],
                _ => Vec::new(),
            };
            TaskDefinition {
                arn: env.task_definition_arn(&family, revision),
                family: family.clone(),
                revision,
                cpu: Some(service.cpu.to_string()),
                memory: Some(memory.to_string()),
                task_role: Some(format!(
                    "arn:aws:iam::{}:role/ibet-{}-{}-{}-task",
                    env.account, env.short, cluster.name, service.name
                )),
                execution_role: Some(format!(
                    "arn:aws:iam::{}:role/ibet-{}-ecs-task-execution",
                    env.account, env.short
                )),
                containers: vec![ContainerDefinition {
                    name: service.container.to_string(),
                    image: env.ecr(repo, tag),
                    cpu: Some(service.cpu),
                    memory: Some(memory),
                    environment,
                    secrets,
                    ports: service.ports.clone(),
                    log: Some(AwsLogs {
                        group: env.log_group(cluster.name, &service.name),
                        region: Some(REGION.to_string()),
                        stream_prefix: Some("ecs".to_string()),
                    }),
                }],
            }
        })
        .collect()
}

/// The environment variables of one revision of a service (unsorted).
fn environment_of(
    env: &EnvSpec,
    cluster_index: usize,
    service: &ServiceSpec,
    revision_index: u32,
) -> Vec<(String, String)> {
    let cluster = CLUSTERS[cluster_index].name;
    let kv = |k: &str, v: String| (k.to_string(), v);
    let database_url = format!(
        "postgresql://ibet:{}@ibet-{}-{cluster}.cluster-{}.{REGION}.rds.amazonaws.com:5432/ibet_{}",
        secret(&[env.name, cluster, "db"], 20),
        env.short,
        hex_of(hash_str(env.account), 12),
        cluster.replace('-', "_")
    );
    let web3 = format!("http://{}", env.internal_alb_dns(cluster));
    let token_list = format!(
        "0x{}",
        hex_of(hash_str(&format!("{}tokenlist", env.name)), 40)
    );
    match service.kind {
        ServiceKind::Nginx => vec![
            kv("BASIC_AUTH_USER", "ibet-app".into()),
            kv("BASIC_AUTH_PASSWORD", secret(&[env.name, cluster, "basic"], 16)),
            kv("UPSTREAM_HOST", env.internal_alb_dns(cluster)),
            kv("RESOLVER", format!("{}.0.2", env.net)),
            kv("RESOLVER_VALID", "30s".into()),
        ],
        ServiceKind::Api | ServiceKind::Notification | ServiceKind::Batch => {
            let mut vars = vec![
                kv("APP_ENV", env.name.into()),
                kv("AWS_REGION", REGION.into()),
                kv("DATABASE_URL", database_url),
                kv("LOG_LEVEL", "INFO".into()),
                kv("TOKEN_LIST_CONTRACT_ADDRESS", token_list),
                kv("WEB3_HTTP_PROVIDER", web3),
            ];
            match service.kind {
                ServiceKind::Api => {
                    vars.push(kv(
                        "COMPANY_LIST_URL",
                        format!(
                            "https://ibet-{}-company-list.s3.{REGION}.amazonaws.com/company_list.json",
                            env.short
                        ),
                    ));
                    vars.push(kv(
                        "WORKER_COUNT",
                        if revision_index < 2 { "4" } else { "8" }.into(),
                    ));
                }
                ServiceKind::Notification => {
                    vars.push(kv(
                        "FIREBASE_KEY",
                        format!("AAAA{}", secret(&[env.name, cluster, "fcm"], 36)),
                    ));
                    vars.push(kv("APNS_TOPIC", "jp.ibet.wallet".into()));
                    vars.push(kv(
                        "SNS_PLATFORM_APPLICATION_ARN",
                        format!(
                            "arn:aws:sns:{REGION}:{}:app/APNS/ibet-wallet-{}",
                            env.account, env.short
                        ),
                    ));
                }
                _ => vars.push(kv("BATCH_INTERVAL_SECS", "10".into())),
            }
            if cluster == "bank" {
                vars.push(kv(
                    "SQS_QUEUE_URL",
                    format!(
                        "https://sqs.{REGION}.amazonaws.com/{}/ibet-{}-bank-transfer.fifo",
                        env.account, env.short
                    ),
                ));
            }
            vars
        }
        ServiceKind::General(g) => vec![
            kv("NODE_NAME", format!("general-{}", g + 1)),
            kv("NETWORK_ID", env.network_id.to_string()),
            kv("PRIVATE_CONFIG", "ignore".into()),
            kv(
                "GETH_ARGS",
                "--syncmode full --gcmode archive --cache 1024 --http --http.port 8443 --http.api eth,net,web3,txpool,istanbul".into(),
            ),
        ],
        ServiceKind::Validator(v) => vec![
            kv("NODE_NAME", format!("validator-{}", v + 1)),
            kv("NETWORK_ID", env.network_id.to_string()),
            kv("PRIVATE_CONFIG", "ignore".into()),
            kv(
                "NODEKEY",
                hex_of(hash_str(&format!("{}validator{v}key", env.name)), 64),
            ),
            kv("DATA_DIR", format!("/quorum_data/v{}", v + 1)),
            kv(
                "GETH_ARGS",
                "--syncmode full --mine --istanbul.blockperiod 1 --http --http.api eth,net,web3,txpool,istanbul".into(),
            ),
        ],
    }
}

/// The address of validator `v` of an environment's chain.
pub(super) fn validator_address(env: &str, v: usize) -> String {
    format!(
        "0x{}",
        hex_of(hash_str(&format!("{env}/validator/{v}")), 40)
    )
}

/// The hash of block `height` of an environment's chain.
pub(super) fn block_hash(env: &str, height: u64) -> String {
    format!("0x{}", hex_of(mix(hash_str(env), height), 64))
}

/// The configuration of the demo world: both environments, every cluster, node and switch.
pub fn demo_config() -> Config {
    Config {
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
        environments: ENVS.iter().map(environment_config).collect(),
    }
}

/// The demo's shared audit group (in the demo world's memory).
pub const DEMO_AUDIT_GROUP: &str = "/ibet-console/audit";

fn environment_config(env: &EnvSpec) -> Environment {
    Environment {
        name: env.name.into(),
        region: REGION.into(),
        aws_profile: Some(format!("ibet-{}", env.short)),
        endpoint_url: None,
        danger: env.danger,
        redact: false,
        // The demo's operators share the demo world's lock table and audit group.
        team: crate::config::Team {
            lock_table: Some("ibet-console-locks".into()),
            audit_log_group: Some(DEMO_AUDIT_GROUP.into()),
            ..crate::config::Team::default()
        },
        read_only: None,
        alarm_prefix: None,
        clusters: CLUSTERS
            .iter()
            .enumerate()
            .map(|(i, c)| cluster_config(env, i, c))
            .collect(),
    }
}

fn cluster_config(env: &EnvSpec, cluster_index: usize, cluster: &ClusterSpec) -> Cluster {
    let node = |name: String, role, service: String| QuorumNode {
        rpc_url: rpc_url(env.name, cluster.name, &name),
        name,
        role,
        service: Some(service),
        exec_command: None,
    };
    let (quorum_nodes, alb_switch) = if cluster.validators {
        let nodes = (1..=VALIDATORS)
            .map(|v| {
                node(
                    format!("validator-{v}"),
                    NodeRole::Validator,
                    format!("quorum-validator-{v}"),
                )
            })
            .collect();
        (nodes, None)
    } else {
        let nodes = (1..=GENERALS)
            .map(|g| {
                node(
                    format!("general-{g}"),
                    NodeRole::General,
                    format!("quorum-general-{g}"),
                )
            })
            .collect();
        (nodes, Some(switch_config(env, cluster_index, cluster)))
    };
    Cluster {
        name: cluster.name.into(),
        ecs_cluster: env.ecs_cluster(cluster.name),
        quorum_nodes,
        alb_switch,
        log_groups: BTreeMap::new(),
        exec_commands: BTreeMap::new(),
        // The wallet clusters' path beyond ECS: a WAF before the external ALB, the
        // Postgres instance, and the bank link's queues.
        waf_web_acl: (!cluster.validators)
            .then(|| format!("ibet-{}-{}-waf", env.short, cluster.name)),
        rds_instances: if cluster.validators {
            Vec::new()
        } else {
            vec![format!("ibet-{}-{}-db", env.short, cluster.name)]
        },
        sqs_queues: if cluster.name == "bank" {
            vec![
                format!("ibet-{}-bank-transfer", env.short),
                format!("ibet-{}-bank-result", env.short),
            ]
        } else {
            Vec::new()
        },
    }
}

/// The name of the target group of general node `g` (listener mode) or of the shared
/// Quorum target group (`None`, targets mode).
pub(super) fn quorum_target_group_name(env: &EnvSpec, cluster: &str, g: Option<usize>) -> String {
    match g {
        Some(g) => format!("ibet-{}-{cluster}-quorum-{}", env.short, g + 1),
        None => format!("ibet-{}-{cluster}-quorum", env.short),
    }
}

fn switch_config(env: &EnvSpec, cluster_index: usize, cluster: &ClusterSpec) -> AlbSwitch {
    let mut switch = AlbSwitch {
        mode: env.switch_mode,
        listener_arn: None,
        rule_arn: None,
        target_group_arn: None,
        nodes: BTreeMap::new(),
        max_lag_blocks: 0,
        max_head_age_secs: 15,
        consecutive_polls: 3,
        min_peers: 1,
    };
    match env.switch_mode {
        SwitchMode::Listener => {
            switch.listener_arn = Some(env.listener_arn(cluster.name));
            for g in 0..GENERALS {
                switch.nodes.insert(
                    format!("general-{}", g + 1),
                    env.target_group_arn(&quorum_target_group_name(env, cluster.name, Some(g))),
                );
            }
        }
        SwitchMode::Targets => {
            switch.target_group_arn =
                Some(env.target_group_arn(&quorum_target_group_name(env, cluster.name, None)));
            for g in 0..GENERALS {
                switch.nodes.insert(
                    format!("general-{}", g + 1),
                    format!("{}:8443", env.general_ip(cluster_index, g)),
                );
            }
        }
    }
    switch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_config_has_the_agreed_shape() {
        let config = demo_config();
        let names: Vec<_> = config
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["production", "staging"]);
        let prd = config.environment("production").expect("production");
        assert!(prd.danger);
        let stg = config.environment("staging").expect("staging");
        assert!(!stg.danger);
        let clusters: Vec<_> = stg
            .clusters
            .iter()
            .map(|c| c.ecs_cluster.as_str())
            .collect();
        assert_eq!(
            clusters,
            [
                "ibet-stg-node-api",
                "ibet-stg-satoshi",
                "ibet-stg-issuer",
                "ibet-stg-bank"
            ]
        );
        let node_api = &prd.clusters[0];
        assert_eq!(
            node_api.quorum_nodes[0].rpc_url,
            "sim://production/node-api/general-1"
        );
        assert_eq!(
            node_api.quorum_nodes[1].service.as_deref(),
            Some("quorum-general-2")
        );
        let switch = node_api.alb_switch.as_ref().expect("switch");
        assert_eq!(switch.mode, SwitchMode::Listener);
        assert!(
            switch
                .listener_arn
                .as_deref()
                .is_some_and(|a| a.contains(":listener/app/"))
        );
        let stg_switch = stg.clusters[3].alb_switch.as_ref().expect("switch");
        assert_eq!(stg_switch.mode, SwitchMode::Targets);
        assert_eq!(stg_switch.nodes["general-2"], "10.20.14.32:8443");
        let satoshi = &prd.clusters[1];
        assert!(satoshi.alb_switch.is_none());
        assert_eq!(satoshi.quorum_nodes.len(), 4);
        assert_eq!(satoshi.quorum_nodes[3].role, NodeRole::Validator);
    }

    #[test]
    fn task_definitions_look_real() {
        let env = &ENVS[1];
        let api = services_of(&CLUSTERS[0])
            .into_iter()
            .find(|s| s.name == "api")
            .expect("api");
        let revisions = task_definitions(env, 0, &api);
        assert_eq!(
            revisions.len(),
            5,
            "four deployed, one registered for release"
        );
        let current = &revisions[3];
        assert_eq!(current.revision, deployed_revision(&current.family));
        let next = &revisions[4];
        assert!(next.containers[0].image.ends_with(":v24.9.0"));
        assert!(
            next.containers[0]
                .environment
                .iter()
                .any(|(k, _)| k == "SENTRY_DSN")
        );
        assert_eq!(current.family, "ibet-stg-node-api-api");
        assert!(
            current
                .arn
                .ends_with(&format!("ibet-stg-node-api-api:{}", current.revision))
        );
        let container = &current.containers[0];
        assert_eq!(container.ports, [5000]);
        assert!(container.image.ends_with("/ibet-wallet-api:v24.9.0-rc.2"));
        let log = container.log.as_ref().expect("awslogs");
        assert_eq!(log.group, "/ecs/ibet-stg/node-api/api");
        assert_eq!(log.stream_for("api", "abc").as_deref(), Some("ecs/api/abc"));
        assert!(
            container
                .environment
                .iter()
                .any(|(k, v)| k == "DATABASE_URL" && v.contains(":5432/"))
        );
        assert!(container.environment.windows(2).all(|w| w[0] <= w[1]));
    }
}
