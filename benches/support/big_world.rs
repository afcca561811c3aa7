//! A large, deterministic console state for the benchmarks: one environment of four
//! clusters whose first (selected) cluster runs 200 services and 2,000 tasks, with the
//! Quorum nodes of a staging-like topology, built only through [`update`] the way the
//! pollers feed it. No I/O, no clock reads, no randomness.

#![allow(dead_code)]

use std::fmt::Write as _;

use ibet_console::app::{ClusterAddr, Msg, State, update};
use ibet_console::clock::EpochMs;
use ibet_console::config::Config;
use ibet_console::model::ecs::{
    CircuitBreaker, ClusterSnapshot, Container, Deployment, Rollout, Service, ServiceEvent, Task,
};
use ibet_console::model::quorum::{NodeSample, Probe, SyncProgress, TxPool};
use ibet_console::world::Observation;

/// The benchmark's clock at the last poll: 2026-11-28 03:00:00 UTC.
pub const T0: EpochMs = 1_795_748_400_000;
/// Services of the selected cluster.
pub const BIG_SERVICES: usize = 200;
/// Tasks of the selected cluster (running and recently stopped).
pub const BIG_TASKS: usize = 2_000;
/// Services of each of the other clusters.
const SMALL_SERVICES: usize = 8;
/// Tasks of each of the other clusters.
const SMALL_TASKS: usize = 24;
/// Seconds of one-second node polls fed before the benchmark (height points per node).
pub const HISTORY_SECS: i64 = 300;

/// Cluster names and how many Quorum nodes of each role they hold (general, validator).
const CLUSTERS: [(&str, usize, usize); 4] = [
    ("node-api", 2, 0),
    ("satoshi", 0, 4),
    ("issuer", 2, 0),
    ("bank", 2, 0),
];

/// The config of the benchmark world.
pub fn config() -> Config {
    let mut toml = String::from(
        "refresh_secs = 5\n\n[[environments]]\nname = \"staging\"\nregion = \"ap-northeast-1\"\n",
    );
    let mut port = 8545;
    for (name, generals, validators) in CLUSTERS {
        let _ = write!(
            toml,
            "\n[[environments.clusters]]\nname = \"{name}\"\necs_cluster = \"ibet-stg-{name}\"\n"
        );
        let nodes = (0..generals)
            .map(|i| (format!("{name}-general-{}", i + 1), "general"))
            .chain((0..validators).map(|i| (format!("validator-{}", i + 1), "validator")));
        for (node, role) in nodes {
            let _ = write!(
                toml,
                "\n[[environments.clusters.quorum_nodes]]\nname = \"{node}\"\n\
                 rpc_url = \"http://127.0.0.1:{port}\"\nrole = \"{role}\"\n"
            );
            port += 1;
        }
    }
    Config::parse(&toml, std::path::Path::new("bench.toml")).expect("benchmark config")
}

fn service_name(i: usize) -> String {
    const KINDS: [&str; 8] = [
        "api",
        "batch-indexer",
        "notification",
        "nginx-proxy",
        "processor-payment",
        "explorer",
        "bridge-worker",
        "scheduler",
    ];
    format!("{}-{i:03}", KINDS[i % KINDS.len()])
}

/// A snapshot of `ecs_cluster` with `services` services and `tasks` tasks, as of `now`;
/// `generation` varies the counts and messages from poll to poll.
pub fn snapshot(
    ecs_cluster: &str,
    services: usize,
    tasks: usize,
    now: EpochMs,
    generation: u64,
) -> ClusterSnapshot {
    let td = |name: &str, rev: usize| {
        format!("arn:aws:ecs:ap-northeast-1:123456789012:task-definition/ibet-stg-{name}:{rev}")
    };
    let services: Vec<Service> = (0..services)
        .map(|i| {
            let name = service_name(i);
            let rev = 10 + i % 7;
            let rolling = (i as u64 + generation).is_multiple_of(37);
            let desired = 2 + (i % 4) as u32;
            let running = if (i as u64 + generation).is_multiple_of(23) {
                desired - 1
            } else {
                desired
            };
            let mut deployments = vec![Deployment {
                id: format!("ecs-svc/{i:019}"),
                status: "PRIMARY".into(),
                task_definition: td(&name, rev),
                desired,
                running,
                pending: desired - running,
                failed: 0,
                rollout: if rolling {
                    Rollout::InProgress
                } else {
                    Rollout::Completed
                },
                rollout_reason: None,
                created_at: Some(now - 86_400_000),
                updated_at: Some(now - 3_600_000),
            }];
            if rolling {
                deployments.push(Deployment {
                    id: format!("ecs-svc/{:019}", i + 1_000),
                    status: "ACTIVE".into(),
                    task_definition: td(&name, rev - 1),
                    rollout: Rollout::Completed,
                    ..deployments[0].clone()
                });
            }
            let events = (0..20)
                .map(|e| ServiceEvent {
                    at: now - (i64::from(e) + 1) * 360_000 - i as i64 * 1_000,
                    message: format!(
                        "(service {name}) has reached a steady state. (poll {generation}, event {e})"
                    ),
                })
                .collect();
            Service {
                arn: format!(
                    "arn:aws:ecs:ap-northeast-1:123456789012:service/{ecs_cluster}/{name}"
                ),
                name: name.clone(),
                status: "ACTIVE".into(),
                desired,
                running,
                pending: desired - running,
                task_definition: td(&name, rev),
                deployments,
                events,
                target_groups: Vec::new(),
                circuit_breaker: CircuitBreaker::Rollback,
            }
        })
        .collect();
    let per_service = tasks / services.len().max(1);
    let mut all_tasks = Vec::with_capacity(tasks);
    for (i, svc) in services.iter().enumerate() {
        for t in 0..per_service {
            let n = i * per_service + t;
            let stopped = t >= per_service.saturating_sub(2);
            let id = format!("{:032x}", (n as u128) * 0x9e37_79b9_7f4a_7c15);
            all_tasks.push(Task {
                arn: format!("arn:aws:ecs:ap-northeast-1:123456789012:task/{ecs_cluster}/{id}"),
                id,
                service: Some(svc.name.clone()),
                task_definition: svc.task_definition.clone(),
                last_status: if stopped { "STOPPED" } else { "RUNNING" }.into(),
                desired_status: if stopped { "STOPPED" } else { "RUNNING" }.into(),
                health_status: if n.is_multiple_of(97) {
                    "UNHEALTHY"
                } else {
                    "HEALTHY"
                }
                .into(),
                created_at: Some(now - 7_200_000 - n as i64 * 1_000),
                started_at: Some(now - 7_100_000 - n as i64 * 1_000),
                stopped_at: stopped.then_some(now - 600_000),
                stopped_reason: stopped.then(|| "Scaling activity initiated by deployment".into()),
                containers: vec![Container {
                    name: svc.name.clone(),
                    image: format!(
                        "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/{}:v1.{}",
                        svc.name,
                        i % 9
                    ),
                    last_status: if stopped { "STOPPED" } else { "RUNNING" }.into(),
                    health_status: "HEALTHY".into(),
                    exit_code: stopped.then_some(0),
                    reason: None,
                }],
                enable_execute_command: true,
            });
        }
    }
    ClusterSnapshot {
        cluster: ecs_cluster.into(),
        services,
        tasks: all_tasks,
        task_definitions: std::collections::BTreeMap::new(),
    }
}

/// One node poll at `at`: a chain that adds a block every second.
pub fn sample(at: EpochMs, node: usize, validators: bool) -> NodeSample {
    let secs = (at - T0) / 1000 + HISTORY_SECS;
    let lag = u64::from(node % 3 == 2);
    NodeSample {
        at,
        reachable: true,
        error: None,
        client_version: Probe::Value(
            "Geth/v1.10.3-stable-5ea2f2c7(quorum-v22.7.0)/linux-amd64/go1.19".into(),
        ),
        block: Some(1_000_000 + secs as u64 - lag),
        block_hash: Some(format!("0x{secs:064x}")),
        block_time: Some(at - 400),
        syncing: Probe::Value(None::<SyncProgress>),
        peers: if validators {
            Probe::Value(3)
        } else {
            Probe::NotAvailable
        },
        txpool: Probe::Value(TxPool {
            pending: (secs % 5) as u64,
            queued: 0,
        }),
        signer: Probe::NotAsked,
        validators: Probe::NotAsked,
        proposers: Probe::NotAsked,
        latency_ms: 3,
    }
}

/// One poll's worth of messages at `now`: a new snapshot for every cluster and one
/// sample for every node.
pub fn poll_messages(config: &Config, now: EpochMs, generation: u64) -> Vec<Msg> {
    let mut msgs = Vec::new();
    for (ei, env) in config.environments.iter().enumerate() {
        for (ci, cluster) in env.clusters.iter().enumerate() {
            let at = ClusterAddr {
                env: ei,
                cluster: ci,
            };
            let (services, tasks) = if ci == 0 {
                (BIG_SERVICES, BIG_TASKS)
            } else {
                (SMALL_SERVICES, SMALL_TASKS)
            };
            msgs.push(Msg::Observed(Observation::Ecs {
                at,
                result: Ok(snapshot(
                    &cluster.ecs_cluster,
                    services,
                    tasks,
                    now,
                    generation,
                )),
                when: now,
            }));
            msgs.extend(node_messages(config, ei, ci, now));
        }
    }
    msgs
}

/// One sample for each node of cluster `ci` of environment `ei`, taken at `now`.
pub fn node_messages(config: &Config, ei: usize, ci: usize, now: EpochMs) -> Vec<Msg> {
    let cluster = &config.environments[ei].clusters[ci];
    let validators = cluster
        .quorum_nodes
        .iter()
        .any(|n| n.role == ibet_console::model::quorum::NodeRole::Validator);
    (0..cluster.quorum_nodes.len())
        .map(|ni| {
            Msg::Observed(Observation::Node {
                at: ClusterAddr {
                    env: ei,
                    cluster: ci,
                },
                node: ni,
                sample: Box::new(sample(now, ni, validators)),
            })
        })
        .collect()
}

/// The state after [`HISTORY_SECS`] seconds of node polls and one ECS poll, at [`T0`].
pub fn big_state() -> State {
    let config = config();
    let mut state = State::new(&config, T0 - HISTORY_SECS * 1000);
    for s in (1..HISTORY_SECS).rev() {
        let at = T0 - s * 1000;
        for (ei, env) in config.environments.iter().enumerate() {
            for ci in 0..env.clusters.len() {
                for m in node_messages(&config, ei, ci, at) {
                    update(&mut state, m);
                }
            }
        }
    }
    for m in poll_messages(&config, T0, 0) {
        update(&mut state, m);
    }
    update(&mut state, Msg::Tick(T0));
    state
}
