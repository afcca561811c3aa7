//! `ibet-console status`: one poll of everything configured, as a table or JSON.
//!
//! The JSON shape is a contract for scripts (keep these names; add fields freely):
//! `{"environments":[{"name","locks":[…],"clusters":[{"name","services":[…],"tasks":[…],
//! "quorum_nodes":[…],"request_path":{…},"errors":[…]}]}],"health",
//! (each service with `metrics`: `cpu_pct`, `memory_pct`; each hop of a request path
//! with CloudWatch numbers with `metrics`, name → value, `null` without data; the
//! CloudWatch alarms in ALARM are critical problems),
//! "problems":[{"severity","environment","cluster","subject","summary","since",
//! "next_step"}]}`, the
//! problems worst first (`critical`, then `warning`). The exit code is 0 when everything
//! is healthy, 1 when something is degraded (a service, a task, a Quorum node that is
//! lagging, stalled or down, a hop of a request path, any problem in the list), 2 when
//! something could not be read.
//!
//! The report reaches a judgement: a node that does not answer is polled again until it
//! is judged, within a bounded wait ([`crate::poll::NodeWait`]), and every read that
//! failed (ECS, ELB, the internal ALB, a node's RPC) is also a problem in the list, so
//! "no problems" never stands beside an error and "overall: ok" never beside a
//! problem.

use std::fmt::Write as _;

use serde::Serialize;

use crate::cli::exit;
use crate::clock::{EpochMs, Zone, iso_utc, parse_iso};
use crate::model::Health;
use crate::model::ecs::{CircuitBreaker, short_task_definition};
use crate::model::quorum::{NodeState, Probe};
use crate::path::{Hop, first_broken_hop};
use crate::problems::{ProblemSince, Severity};
use crate::world::World;

/// The plain-text mark of a hop's health in the table.
fn glyph(h: Health) -> &'static str {
    match h {
        Health::Ok => "ok",
        Health::Degraded => "DEGRADED",
        Health::Down => "DOWN",
        Health::Unknown => "?",
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// When the poll finished (ISO UTC).
    pub at: String,
    /// Overall health.
    pub health: Health,
    /// Environments.
    pub environments: Vec<EnvReport>,
    /// What is wrong now, worst first.
    pub problems: Vec<ProblemReport>,
}

/// One current problem.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemReport {
    /// `critical` or `warning`.
    pub severity: Severity,
    /// Environment name.
    pub environment: String,
    /// Cluster name.
    pub cluster: String,
    /// What is affected: a service, a node, `ecs`, `alb`, `elb`, `chain`, `path`.
    pub subject: String,
    /// One line for a person.
    pub summary: String,
    /// Since when it is known (ISO UTC).
    pub since: String,
    /// What to do next (`null` when nothing more precise than the summary is known).
    pub next_step: Option<String>,
}

/// A cluster's request path.
#[derive(Debug, Clone, Serialize)]
pub struct PathReport {
    /// Where the path stands, in one line (`healthy end to end`, `broken at …`).
    pub verdict: String,
    /// The hop where it breaks, as `hop: reason`.
    pub first_broken: Option<String>,
    /// The hops, outside in.
    pub hops: Vec<Hop>,
}

/// One environment.
#[derive(Debug, Clone, Serialize)]
pub struct EnvReport {
    /// Name.
    pub name: String,
    /// Danger environment.
    pub danger: bool,
    /// The action locks held in it (expired ones included, marked).
    pub locks: Vec<LockReport>,
    /// Clusters.
    pub clusters: Vec<ClusterReport>,
}

/// One action lock ([`crate::backend::lock::LockRecord`]).
#[derive(Debug, Clone, Serialize)]
pub struct LockReport {
    /// The scope: `ENV/CLUSTER` or `ENV/CLUSTER/SERVICE`.
    pub lock_id: String,
    /// Who holds it: `user@host`.
    pub owner: String,
    /// The holder's AWS caller identity.
    pub caller_arn: String,
    /// What the holder is doing.
    pub action: String,
    /// Since when (ISO UTC).
    pub since: String,
    /// When its lease ends unless renewed (ISO UTC).
    pub expires_at: String,
    /// The lease has run out (a console that died): `unlock` breaks it.
    pub expired: bool,
}

/// One cluster.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterReport {
    /// Display name.
    pub name: String,
    /// ECS cluster name.
    pub ecs_cluster: String,
    /// Services.
    pub services: Vec<ServiceReport>,
    /// Tasks (running, and stopped in the last hour).
    pub tasks: Vec<TaskReport>,
    /// Quorum nodes.
    pub quorum_nodes: Vec<NodeReport>,
    /// The general node the internal ALB forwards to, when a switch is configured.
    pub alb_active_node: Option<String>,
    /// The request path, for a cluster behind load balancers.
    pub request_path: Option<PathReport>,
    /// Errors met while reading this cluster.
    pub errors: Vec<ErrorReport>,
}

/// One service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceReport {
    /// Name.
    pub name: String,
    /// ECS status.
    pub status: String,
    /// Desired count.
    pub desired: u32,
    /// Running count.
    pub running: u32,
    /// Pending count.
    pub pending: u32,
    /// `family:revision`.
    pub task_definition: String,
    /// Rollout state.
    pub rollout: String,
    /// The deployment circuit breaker: `off`, `on`, or `rollback` (on, with rollback).
    pub circuit_breaker: CircuitBreaker,
    /// Judged health.
    pub health: Health,
    /// CloudWatch's newest minute: `cpu_pct`, `memory_pct` (`null` without data).
    pub metrics: ServiceMetrics,
}

/// A service's CPU and memory use, the newest minute CloudWatch has (%).
#[derive(Debug, Clone, Serialize)]
pub struct ServiceMetrics {
    /// CPUUtilization, average.
    pub cpu_pct: Option<f64>,
    /// MemoryUtilization, average.
    pub memory_pct: Option<f64>,
}

/// One task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskReport {
    /// Task id.
    pub id: String,
    /// Service.
    pub service: Option<String>,
    /// Last status.
    pub last_status: String,
    /// Judged health.
    pub health: Health,
    /// Started at (ISO UTC).
    pub started_at: Option<String>,
    /// Why it stopped.
    pub stopped_reason: Option<String>,
}

/// One Quorum node.
#[derive(Debug, Clone, Serialize)]
pub struct NodeReport {
    /// Name.
    pub name: String,
    /// `general` or `validator`.
    pub role: String,
    /// Answered the poll.
    pub reachable: bool,
    /// Latest block.
    pub block: Option<u64>,
    /// Blocks behind the environment's best node.
    pub lag: Option<u64>,
    /// Age of the latest block.
    pub head_age_secs: Option<i64>,
    /// Peer count (`null` when the node cannot report it).
    pub peers: Option<u64>,
    /// Whether `eth_syncing` reports progress (`null` when not available).
    pub syncing: Option<bool>,
    /// `synced`, `lagging`, `stalled` or `down`.
    pub state: NodeState,
    /// Why, in one line.
    pub reason: String,
}

/// An error met while reading.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorReport {
    /// What was being read: `ecs`, `alb`, `elb` (the request path) or a node name.
    pub source: String,
    /// The error.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl StatusReport {
    /// Builds the report from a world that saw one poll of everything.
    pub fn from_world(world: &World, now: EpochMs) -> Self {
        let mut overall = Health::Ok;
        let mut unreadable = false;
        let environments = world
            .envs
            .iter()
            .enumerate()
            .map(|(ei, env)| EnvReport {
                name: env.name.clone(),
                danger: env.danger,
                locks: env
                    .locks
                    .iter()
                    .map(|l| LockReport {
                        lock_id: l.lock_id.clone(),
                        owner: l.owner.clone(),
                        caller_arn: l.caller_arn.clone(),
                        action: l.action.clone(),
                        since: iso_utc(l.since.saturating_mul(1000)),
                        expires_at: iso_utc(l.expires_at.saturating_mul(1000)),
                        expired: l.expired(now / 1000),
                    })
                    .collect(),
                clusters: env
                    .clusters
                    .iter()
                    .enumerate()
                    .map(|(ci, c)| {
                        let mut errors = Vec::new();
                        if let Some(e) = &c.ecs.error {
                            unreadable = true;
                            errors.push(ErrorReport {
                                source: "ecs".into(),
                                message: e.error.to_string(),
                                hint: e.error.hint(),
                            });
                        }
                        if let Some(e) = &c.paths.error {
                            unreadable = true;
                            errors.push(ErrorReport {
                                source: "elb".into(),
                                message: e.error.to_string(),
                                hint: e.error.hint(),
                            });
                        }
                        let request_path = crate::path::for_cluster(world, ei, ci).map(|path| {
                            if path.local_health() != Health::Ok {
                                overall = overall.worst(Health::Degraded);
                            }
                            PathReport {
                                verdict: path.verdict(),
                                first_broken: first_broken_hop(&path).map(Hop::spelled_out),
                                hops: path.hops,
                            }
                        });
                        let mut alb_active_node = None;
                        if let Some(sw) = &c.switch {
                            if let Some(e) = &sw.error {
                                unreadable = true;
                                errors.push(ErrorReport {
                                    source: "alb".into(),
                                    message: e.error.to_string(),
                                    hint: e.error.hint(),
                                });
                            }
                            alb_active_node = sw
                                .data
                                .as_ref()
                                .and_then(|v| v.active().map(str::to_string));
                        }
                        let (services, tasks) = c.ecs.data.as_ref().map_or_else(
                            || (Vec::new(), Vec::new()),
                            |snap| {
                                let services = snap
                                    .services
                                    .iter()
                                    .map(|s| {
                                        let health = s.health(snap.tasks_of(&s.name));
                                        overall = overall.worst(health);
                                        ServiceReport {
                                            name: s.name.clone(),
                                            status: s.status.clone(),
                                            desired: s.desired,
                                            running: s.running,
                                            pending: s.pending,
                                            task_definition: short_task_definition(
                                                &s.task_definition,
                                            )
                                            .to_string(),
                                            rollout: s.rollout().as_str().to_string(),
                                            circuit_breaker: s.circuit_breaker,
                                            health,
                                            metrics: {
                                                let (cpu_pct, memory_pct) =
                                                    crate::path::readings::service_usage(
                                                        &env.metrics,
                                                        &c.ecs_cluster,
                                                        &s.name,
                                                    );
                                                ServiceMetrics {
                                                    cpu_pct,
                                                    memory_pct,
                                                }
                                            },
                                        }
                                    })
                                    .collect();
                                let tasks = snap
                                    .tasks
                                    .iter()
                                    .map(|t| TaskReport {
                                        id: t.id.clone(),
                                        service: t.service.clone(),
                                        last_status: t.last_status.clone(),
                                        health: t.health(),
                                        started_at: t.started_at.map(iso_utc),
                                        stopped_reason: t.stopped_reason.clone(),
                                    })
                                    .collect();
                                (services, tasks)
                            },
                        );
                        let quorum_nodes = env
                            .node_views(ci, now, &world.thresholds)
                            .into_iter()
                            .map(|v| {
                                let reachable = v.consecutive_failures == 0 && v.height.is_some();
                                if v.state != NodeState::Synced {
                                    overall = overall.worst(Health::Degraded);
                                }
                                if let (false, Some(e)) = (reachable, &v.last_error) {
                                    errors.push(ErrorReport {
                                        source: v.name.clone(),
                                        message: e.clone(),
                                        hint: Some(
                                            "check the node's RPC port from this host".into(),
                                        ),
                                    });
                                }
                                NodeReport {
                                    name: v.name.clone(),
                                    role: v.role.as_str().to_string(),
                                    reachable,
                                    block: v.height,
                                    lag: v.lag,
                                    head_age_secs: v.head_age_ms.map(|ms| ms / 1000),
                                    peers: v.peers.value().copied(),
                                    syncing: match &v.syncing {
                                        Probe::Value(p) => Some(p.is_some()),
                                        _ => None,
                                    },
                                    state: v.state,
                                    reason: v.reason,
                                }
                            })
                            .collect();
                        ClusterReport {
                            name: c.name.clone(),
                            ecs_cluster: c.ecs_cluster.clone(),
                            services,
                            tasks,
                            quorum_nodes,
                            alb_active_node,
                            request_path,
                            errors,
                        }
                    })
                    .collect(),
            })
            .collect();
        if unreadable {
            overall = Health::Down;
        }
        let mut problems = crate::problems::current(world);
        ProblemSince::default().track(&mut problems, now);
        // Never "ok" beside a problem: the list and the verdict say the same thing.
        if !problems.is_empty() {
            overall = overall.worst(Health::Degraded);
        }
        Self {
            at: iso_utc(now),
            health: overall,
            environments,
            problems: problems
                .into_iter()
                .map(|p| ProblemReport {
                    severity: p.severity,
                    environment: p.environment,
                    cluster: p.cluster,
                    subject: p.subject,
                    summary: p.summary,
                    since: iso_utc(p.since),
                    next_step: p.next_step,
                })
                .collect(),
        }
    }

    /// The exit code: 0 healthy, 1 degraded, 2 unreadable.
    pub fn exit_code(&self) -> i32 {
        match self.health {
            Health::Ok => exit::OK,
            Health::Degraded | Health::Unknown => exit::DEGRADED,
            Health::Down => {
                if self
                    .environments
                    .iter()
                    .flat_map(|e| &e.clusters)
                    .any(|c| !c.errors.is_empty())
                {
                    exit::INVALID
                } else {
                    exit::DEGRADED
                }
            }
        }
    }

    /// What `status` prints: the JSON document (`json`) or the table in `zone`, with
    /// account IDs and IP addresses masked when `redact` ([`crate::redact`]; in JSON
    /// only its strings, so it stays valid).
    pub fn output(&self, json: bool, zone: &Zone, redact: bool) -> serde_json::Result<String> {
        if json {
            let mut value = serde_json::to_value(self)?;
            if redact {
                crate::redact::json(&mut value);
            }
            return Ok(serde_json::to_string_pretty(&value)? + "\n");
        }
        let table = self.to_table(zone);
        Ok(if redact {
            crate::redact::text(&table).into_owned()
        } else {
            table
        })
    }

    /// The report as an aligned text table (columns as wide as their longest value),
    /// times in `zone` (the SINCE column names it).
    pub fn to_table(&self, zone: &Zone) -> String {
        let mut out = String::new();
        let services: Vec<_> = self
            .environments
            .iter()
            .flat_map(|e| e.clusters.iter().map(move |c| (e, c)))
            .flat_map(|(e, c)| c.services.iter().map(move |s| (e, c, s)))
            .collect();
        let env_w = column_width(
            "ENVIRONMENT",
            self.environments.iter().map(|e| e.name.as_str()),
        );
        let cluster_w = column_width(
            "CLUSTER",
            self.environments
                .iter()
                .flat_map(|e| &e.clusters)
                .map(|c| c.name.as_str()),
        );
        let service_w = column_width("SERVICE", services.iter().map(|(_, _, s)| s.name.as_str()));
        let taskdef_w = column_width(
            "TASK DEFINITION",
            services.iter().map(|(_, _, s)| s.task_definition.as_str()),
        );
        let _ = writeln!(
            out,
            "{:<env_w$} {:<cluster_w$} {:<service_w$} {:<8} {:>7} {:>4}  {:<taskdef_w$} {:<11} {:<8} {:>4} {:>4}",
            "ENVIRONMENT",
            "CLUSTER",
            "SERVICE",
            "STATUS",
            "RUN/DES",
            "PEND",
            "TASK DEFINITION",
            "ROLLOUT",
            "HEALTH",
            "CPU",
            "MEM"
        );
        let percent = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| format!("{v:.0}%"));
        for (e, c, s) in &services {
            let _ = writeln!(
                out,
                "{:<env_w$} {:<cluster_w$} {:<service_w$} {:<8} {:>7} {:>4}  {:<taskdef_w$} {:<11} {:<8} {:>4} {:>4}",
                e.name,
                c.name,
                s.name,
                s.status,
                format!("{}/{}", s.running, s.desired),
                s.pending,
                s.task_definition,
                s.rollout,
                s.health.as_str(),
                percent(s.metrics.cpu_pct),
                percent(s.metrics.memory_pct)
            );
        }
        let nodes: Vec<_> = self
            .environments
            .iter()
            .flat_map(|e| e.clusters.iter().map(move |c| (e, c)))
            .flat_map(|(e, c)| c.quorum_nodes.iter().map(move |n| (e, c, n)))
            .collect();
        if !nodes.is_empty() {
            // One more column for the `*` of the active node.
            let node_w = column_width("NODE", nodes.iter().map(|(_, _, n)| n.name.as_str())) + 1;
            let _ = writeln!(
                out,
                "\n{:<env_w$} {:<cluster_w$} {:<node_w$} {:<9} {:>10} {:>5} {:>6} {:>5}  {:<8} WHY",
                "ENVIRONMENT", "CLUSTER", "NODE", "ROLE", "BLOCK", "LAG", "HEAD", "PEERS", "STATE"
            );
            for (e, c, n) in nodes {
                let active = if c.alb_active_node.as_deref() == Some(n.name.as_str()) {
                    "*"
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "{:<env_w$} {:<cluster_w$} {:<node_w$} {:<9} {:>10} {:>5} {:>6} {:>5}  {:<8} {}",
                    e.name,
                    c.name,
                    format!("{}{active}", n.name),
                    n.role,
                    n.block.map_or("-".into(), |b| b.to_string()),
                    n.lag.map_or("-".into(), |b| b.to_string()),
                    n.head_age_secs.map_or("-".into(), |s| format!("{s}s")),
                    n.peers.map_or("n/a".into(), |p| p.to_string()),
                    n.state.as_str(),
                    n.reason
                );
            }
            let _ = writeln!(out, "(* = the internal ALB forwards to this node)");
        }
        for e in &self.environments {
            for c in &e.clusters {
                for err in &c.errors {
                    let _ = write!(
                        out,
                        "\nerror: {} {} {}: {}",
                        e.name, c.name, err.source, err.message
                    );
                    if let Some(h) = &err.hint {
                        let _ = write!(out, "\n  hint: {h}");
                    }
                    out.push('\n');
                }
            }
        }
        let paths: Vec<_> = self
            .environments
            .iter()
            .flat_map(|e| e.clusters.iter().map(move |c| (e, c)))
            .filter_map(|(e, c)| {
                let p = c.request_path.as_ref()?;
                let hops = p
                    .hops
                    .iter()
                    .map(|h| format!("{} {}", h.label, glyph(h.health)))
                    .collect::<Vec<_>>()
                    .join(" → ");
                Some((e, c, hops, p))
            })
            .collect();
        if !paths.is_empty() {
            let width = paths
                .iter()
                .map(|(_, _, hops, _)| hops.chars().count())
                .max()
                .unwrap_or(0);
            let _ = writeln!(
                out,
                "\n{:<env_w$} {:<cluster_w$} {:<width$}  VERDICT",
                "ENVIRONMENT", "CLUSTER", "REQUEST PATH"
            );
            for (e, c, hops, p) in &paths {
                let _ = writeln!(
                    out,
                    "{:<env_w$} {:<cluster_w$} {hops:<width$}  {}",
                    e.name, c.name, p.verdict
                );
            }
            // What CloudWatch says of each hop that has numbers.
            let numbered: Vec<_> = paths
                .iter()
                .flat_map(|(e, c, _, p)| p.hops.iter().map(move |h| (e, c, h)))
                .filter(|(_, _, h)| !h.metrics.is_empty())
                .collect();
            if !numbered.is_empty() {
                let hop_w = column_width("HOP", numbered.iter().map(|(_, _, h)| h.name.as_str()));
                let _ = writeln!(
                    out,
                    "\n{:<env_w$} {:<cluster_w$} {:<hop_w$}  METRICS (newest minute)",
                    "ENVIRONMENT", "CLUSTER", "HOP"
                );
                for (e, c, h) in numbered {
                    let _ = writeln!(
                        out,
                        "{:<env_w$} {:<cluster_w$} {:<hop_w$}  {}",
                        e.name,
                        c.name,
                        h.name,
                        crate::path::readings::line(&h.metrics)
                    );
                }
            }
        }
        let locks: Vec<_> = self
            .environments
            .iter()
            .flat_map(|e| e.locks.iter())
            .collect();
        if !locks.is_empty() {
            let id_w = column_width("LOCK", locks.iter().map(|l| l.lock_id.as_str()));
            let owner_w = column_width("HELD BY", locks.iter().map(|l| l.owner.as_str()));
            let since_header = format!("SINCE ({})", zone.label(parse_iso(&self.at).unwrap_or(0)));
            let since_w = since_header.len().max(19);
            let _ = writeln!(
                out,
                "\n{:<id_w$} {:<owner_w$} {since_header:<since_w$} ACTION",
                "LOCK", "HELD BY"
            );
            for l in locks {
                let since =
                    parse_iso(&l.since).map_or_else(|| l.since.clone(), |at| zone.date_time(at));
                let expired = if l.expired { " (lease expired)" } else { "" };
                let _ = writeln!(
                    out,
                    "{:<id_w$} {:<owner_w$} {since:<since_w$} {}{expired}",
                    l.lock_id, l.owner, l.action
                );
            }
        }
        if self.problems.is_empty() {
            let _ = writeln!(out, "\nno problems");
        } else {
            let since_header = format!("SINCE ({})", zone.label(parse_iso(&self.at).unwrap_or(0)));
            let since_w = since_header.len().max(19);
            let _ = writeln!(
                out,
                "\n{:<8} {:<env_w$} {:<cluster_w$} {:<18} {since_header:<since_w$} SUMMARY",
                "SEVERITY", "ENVIRONMENT", "CLUSTER", "SUBJECT"
            );
            for p in &self.problems {
                let severity = match p.severity {
                    Severity::Critical => "critical",
                    Severity::Warning => "warning",
                };
                let since =
                    parse_iso(&p.since).map_or_else(|| p.since.clone(), |at| zone.date_time(at));
                let _ = writeln!(
                    out,
                    "{severity:<8} {:<env_w$} {:<cluster_w$} {:<18} {since:<since_w$} {}",
                    p.environment, p.cluster, p.subject, p.summary
                );
                if let Some(step) = &p.next_step {
                    let indent = 8 + 1 + env_w + 1 + cluster_w + 1 + 18 + 1 + since_w + 1;
                    let _ = writeln!(out, "{:indent$}→ {step}", "");
                }
            }
        }
        let _ = writeln!(out, "\noverall: {}", self.health.as_str());
        out
    }
}

/// The width of a text column: its longest value or its header, in terminal columns.
fn column_width<'a>(header: &str, values: impl Iterator<Item = &'a str>) -> usize {
    values
        .map(crate::text::display_width)
        .chain(std::iter::once(header.len()))
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendError;
    use crate::config::Config;
    use crate::model::ecs::ClusterSnapshot;
    use crate::model::quorum::NodeSample;
    use crate::world::{ClusterAddr, Observation};

    const NOW: EpochMs = 1_800_000_000_000;
    const AT: ClusterAddr = ClusterAddr { env: 0, cluster: 0 };

    /// A world of one cluster with a general node and a validator, its ECS read, then
    /// `observations`.
    fn world(observations: Vec<Observation>) -> World {
        let text = r#"
[[environments]]
name = "staging"
region = "ap-northeast-1"

[[environments.clusters]]
name = "node-api"
ecs_cluster = "ibet-stg-node-api"

[[environments.clusters.quorum_nodes]]
name = "general-1"
rpc_url = "http://127.0.0.1:1"

[[environments.clusters.quorum_nodes]]
name = "validator-1"
rpc_url = "http://127.0.0.1:2"
role = "validator"
"#;
        let config = Config::parse(text, std::path::Path::new("test.toml")).unwrap();
        let mut world = World::new(&config, NOW);
        world.apply(Observation::Ecs {
            at: AT,
            result: Ok(ClusterSnapshot::default()),
            when: NOW,
        });
        for o in observations {
            world.apply(o);
        }
        world
    }

    fn answer(node: usize, block: u64) -> Observation {
        Observation::Node {
            at: AT,
            node,
            sample: Box::new(NodeSample {
                at: NOW,
                reachable: true,
                block: Some(block),
                block_time: Some(NOW - 1_000),
                ..NodeSample::default()
            }),
        }
    }

    fn refused(node: usize) -> Observation {
        Observation::Node {
            at: AT,
            node,
            sample: Box::new(NodeSample {
                at: NOW,
                error: Some("connection refused".into()),
                ..NodeSample::default()
            }),
        }
    }

    fn subjects(report: &StatusReport) -> Vec<(String, Severity)> {
        report
            .problems
            .iter()
            .map(|p| (p.subject.clone(), p.severity))
            .collect()
    }

    #[test]
    fn a_node_whose_polls_failed_is_down_a_critical_problem_and_the_chain_feels_it() {
        let w = world(vec![answer(0, 10), refused(1), refused(1), refused(1)]);
        let report = StatusReport::from_world(&w, NOW);
        let node = &report.environments[0].clusters[0].quorum_nodes[1];
        assert_eq!(node.state, NodeState::Down);
        let problems = subjects(&report);
        assert!(problems.contains(&("validator-1".into(), Severity::Critical)));
        assert!(problems.iter().any(|(s, _)| s == "chain"), "{problems:?}");
        assert_eq!(report.exit_code(), exit::DEGRADED);
        let table = report.to_table(&Zone::utc());
        assert!(!table.contains("no problems"), "{table}");
    }

    #[test]
    fn a_read_that_failed_is_always_a_problem_and_never_ok() {
        // One failed poll of a node (not yet judged), and a load-balancer read that
        // failed: each is in the list, and the verdict is not ok.
        let w = world(vec![
            answer(0, 10),
            refused(1),
            Observation::Paths {
                at: AT,
                result: Err(BackendError::Timeout { secs: 5 }),
                when: NOW,
            },
        ]);
        let report = StatusReport::from_world(&w, NOW);
        let problems = subjects(&report);
        assert!(problems.contains(&("validator-1".into(), Severity::Warning)));
        assert!(problems.contains(&("elb".into(), Severity::Warning)));
        let errors = &report.environments[0].clusters[0].errors;
        assert_eq!(errors.len(), 2, "{errors:?}");
        let table = report.to_table(&Zone::utc());
        assert!(!table.contains("no problems"), "{table}");
        assert!(!table.contains("overall: ok"), "{table}");
    }
}
