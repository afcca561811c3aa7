//! The log writer of the demo world: what every container of one environment writes
//! during one tick, read from the state the tick left.
//!
//! nginx writes access lines for wallet traffic and ALB health checks, the API a JSON
//! line per request and now and then a warning or an error, notification and batch their
//! periodic work, Quorum nodes a line per imported or sealed block, validators round
//! changes; tasks that start, stop, crash or fail health checks say so. It draws only
//! from the tick's log stream, so skipping it never changes the world; it changes no
//! state.

use std::sync::Arc;

use super::chain::{Chain, NodeMode, SimNode};
use super::ecs::{EcsNote, Phase, SimCluster, SimTask, TaskHealth, TaskNote};
use super::elb::SimSwitch;
use super::logs::{Level, Line, Style, agents_of, routes_of};
use super::rng::SplitMix;
use super::topology::{EnvSpec, ServiceKind};

/// One line written during the tick.
#[derive(Debug, Clone)]
pub(super) struct Written {
    pub group: usize,
    pub at: i64,
    pub stream: Arc<str>,
    pub line: Line,
}

/// The state the log writer reads.
pub(super) struct Chatter<'a> {
    pub env: &'a EnvSpec,
    pub clusters: &'a [SimCluster],
    pub nodes: &'a [SimNode],
    pub chain: &'a Chain,
    pub switches: &'a [SimSwitch],
    /// Log group index per cluster and service.
    pub groups: &'a [Vec<usize>],
    pub now: i64,
}

/// API warnings and the range of their number.
const API_WARNINGS: &[(&str, i64, i64)] = &[
    ("Slow query: {a} ms on token_holders_list", 1200, 4800),
    ("Company list cache expired; reloading from S3", 0, 0),
    ("RDS connection pool near capacity ({a}/20)", 17, 19),
    ("Slow eth_call: {a} ms (contract {addr})", 1500, 3900),
];

const API_ERRORS: &[&str] = &[
    "Web3 call failed: execution reverted",
    "Failed to send transaction: nonce too low",
    "Unexpected error while listing positions: canceling statement due to statement timeout",
];

struct Out<'o> {
    lines: &'o mut Vec<Written>,
    base: i64,
}

impl Out<'_> {
    fn push(&mut self, group: usize, at: i64, stream: &Arc<str>, line: Line) {
        self.lines.push(Written {
            group,
            at: at.clamp(self.base + 1, self.base + 1000),
            stream: stream.clone(),
            line,
        });
    }

    /// Several lines in a row, a few ms apart.
    fn burst(
        &mut self,
        group: usize,
        stream: &Arc<str>,
        rng: &mut SplitMix,
        style: Style,
        lines: &[(Level, &'static str)],
        a: u64,
    ) {
        let mut at = self.base + rng.range(1, 900);
        for (level, text) in lines {
            self.push(
                group,
                at,
                stream,
                Line::Text {
                    style,
                    level: *level,
                    text,
                    a,
                    b: 0,
                },
            );
            at += rng.range(0, 12);
        }
    }
}

fn text(style: Style, level: Level, text: &'static str, a: u64, b: u64) -> Line {
    Line::Text {
        style,
        level,
        text,
        a,
        b,
    }
}

impl Chatter<'_> {
    /// Writes the tick's lines into `lines` (unordered).
    pub(super) fn write(&self, notes: &[EcsNote], rng: &mut SplitMix, lines: &mut Vec<Written>) {
        let mut out = Out {
            lines,
            base: (self.now - 1) * 1000,
        };
        for cluster in self.clusters {
            if !cluster.spec.validators {
                self.traffic(cluster, rng, &mut out);
            }
            self.periodic(cluster, rng, &mut out);
        }
        self.quorum(rng, &mut out);
        for note in notes {
            self.note(note, rng, &mut out);
        }
    }

    fn group(&self, cluster: usize, service: usize) -> usize {
        self.groups
            .get(cluster)
            .and_then(|g| g.get(service))
            .copied()
            .unwrap_or(usize::MAX)
    }

    fn running<'c>(
        &self,
        cluster: &'c SimCluster,
        kind: ServiceKind,
    ) -> impl Iterator<Item = &'c SimTask> + 'c {
        let now = self.now;
        cluster.tasks.iter().filter(move |t| {
            t.phase == Phase::Running
                && cluster.services[t.service].spec.kind == kind
                && t.health(&cluster.services[t.service], now) != TaskHealth::Unhealthy
        })
    }

    /// Whether the cluster's API can reach a Quorum node through the internal ALB.
    fn chain_reachable(&self, cluster: usize) -> bool {
        self.switches
            .iter()
            .find(|s| s.cluster == cluster)
            .and_then(|s| s.active().map(|m| s.members[m].node_index))
            .and_then(|n| self.nodes.get(n))
            .is_some_and(|n| n.reachable(self.now) && self.now >= n.target_unhealthy_until)
    }

    fn traffic(&self, cluster: &SimCluster, rng: &mut SplitMix, out: &mut Out) {
        // ALB health checks, every 30 s per task.
        let mut nginx_count = 0;
        for task in self.running(cluster, ServiceKind::Nginx) {
            nginx_count += 1;
            if (self.now + task.created_at / 1000) % 30 == 0 {
                let client = (1 + rng.below(2) as u16) << 8 | (20 + rng.below(3) as u16);
                out.push(
                    self.group(cluster.index, task.service),
                    out.base + rng.range(1, 1000),
                    &task.stream,
                    Line::HealthCheck { client },
                );
            }
        }
        if nginx_count == 0 {
            return;
        }
        let api_count = self.running(cluster, ServiceKind::Api).count();
        let rate = self.env.requests_per_ks * cluster.spec.traffic_share / 1000;
        let requests = rate / 1000 + u64::from(rng.below(1000) < rate % 1000);
        let routes = routes_of(cluster.index);
        let total_weight: u64 = routes.iter().map(|r| u64::from(r.weight)).sum();
        let chain_ok = self.chain_reachable(cluster.index);
        for _ in 0..requests {
            let mut pick = rng.below(total_weight);
            let mut route = 0usize;
            for (i, r) in routes.iter().enumerate() {
                if pick < u64::from(r.weight) {
                    route = i;
                    break;
                }
                pick -= u64::from(r.weight);
            }
            let arg = rng.below(1 << 31) as u32;
            let at = out.base + rng.range(2, 1000);
            let pick = rng.below(nginx_count as u64) as usize;
            let Some(nginx_task) = self.running(cluster, ServiceKind::Nginx).nth(pick) else {
                continue;
            };
            let client = (1 + rng.below(2) as u16) << 8 | (10 + rng.below(240) as u16);
            let mut millis = 6 + rng.below(45) as u32;
            if rng.chance(10) {
                millis += 300 + rng.below(2500) as u32;
            }
            let (status, served_by) = match rng.index(api_count) {
                None => (502, None),
                Some(a) => {
                    let status = if routes[route].chain && !chain_ok {
                        503
                    } else if rng.chance(20) {
                        404
                    } else if rng.chance(10) {
                        400
                    } else {
                        200
                    };
                    (status, self.running(cluster, ServiceKind::Api).nth(a))
                }
            };
            if let Some(api_task) = served_by {
                out.push(
                    self.group(cluster.index, api_task.service),
                    at - 1,
                    &api_task.stream,
                    Line::ApiRequest {
                        route: route as u8,
                        arg,
                        status,
                        millis,
                        worker: rng.below(8) as u8,
                    },
                );
                if status == 503 {
                    out.push(
                        self.group(cluster.index, api_task.service),
                        at - 1,
                        &api_task.stream,
                        text(
                            Style::Json("app.web3"),
                            Level::Error,
                            "Web3 request failed: 502 Bad Gateway from the internal load balancer",
                            0,
                            0,
                        ),
                    );
                }
            }
            let bytes = match status {
                200 => 180 + rng.below(4800) as u32,
                502 | 503 => 157,
                _ => 60 + rng.below(40) as u32,
            };
            out.push(
                self.group(cluster.index, nginx_task.service),
                at,
                &nginx_task.stream,
                Line::Access {
                    client,
                    route: route as u8,
                    arg,
                    status,
                    bytes,
                    micros: millis * 1000 + rng.below(900) as u32,
                    agent: rng.below(agents_of(cluster.index).len() as u64) as u8,
                },
            );
        }
        for task in self.running(cluster, ServiceKind::Api) {
            let group = self.group(cluster.index, task.service);
            if rng.chance(2) {
                let (t, lo, hi) = API_WARNINGS[rng.index(API_WARNINGS.len()).unwrap_or(0)];
                let line = text(
                    Style::Json("app"),
                    Level::Warn,
                    t,
                    rng.range(lo, hi) as u64,
                    0,
                );
                out.push(group, out.base + rng.range(1, 1000), &task.stream, line);
            }
            if rng.chance(1) {
                let t = API_ERRORS[rng.index(API_ERRORS.len()).unwrap_or(0)];
                let line = text(Style::Json("app"), Level::Error, t, 0, 0);
                out.push(group, out.base + rng.range(1, 1000), &task.stream, line);
            }
        }
    }

    fn periodic(&self, cluster: &SimCluster, rng: &mut SplitMix, out: &mut Out) {
        let head = self.chain.head;
        for task in cluster.tasks.iter().filter(|t| t.phase == Phase::Running) {
            let group = self.group(cluster.index, task.service);
            let phase = task.created_at / 1000;
            let at = out.base + rng.range(1, 1000);
            match cluster.services[task.service].spec.kind {
                ServiceKind::Notification if (self.now + phase) % 10 == 0 => {
                    let line = text(
                        Style::Json("notification"),
                        Level::Info,
                        "Processed blocks {a}-{b}: 0 new events",
                        head.saturating_sub(9),
                        head,
                    );
                    out.push(group, at, &task.stream, line);
                    if rng.chance(120) {
                        let via = ["FCM", "APNs", "SNS"][rng.index(3).unwrap_or(0)];
                        let t: &'static str = match via {
                            "FCM" => "Sent {a} push notifications via FCM",
                            "APNs" => "Sent {a} push notifications via APNs",
                            _ => "Published {a} messages to SNS",
                        };
                        let line = text(
                            Style::Json("notification"),
                            Level::Info,
                            t,
                            rng.range(1, 4) as u64,
                            0,
                        );
                        out.push(group, at + 3, &task.stream, line);
                    }
                }
                ServiceKind::Batch if (self.now + phase) % 15 == 0 => {
                    let line = text(
                        Style::Plain("indexer_transfer"),
                        Level::Info,
                        "Syncing from={a}, to={b}",
                        head.saturating_sub(14),
                        head,
                    );
                    out.push(group, at, &task.stream, line);
                    if rng.chance(40) {
                        let line = text(
                            Style::Plain("indexer_transfer"),
                            Level::Warn,
                            "eth_getLogs timed out; retrying (attempt {a}/3)",
                            rng.range(1, 2) as u64,
                            0,
                        );
                        out.push(group, at + 5, &task.stream, line);
                    }
                }
                ServiceKind::Batch if (self.now + phase) % 60 == 7 => {
                    let line = text(
                        Style::Plain("processor_company_list"),
                        Level::Info,
                        "Company list refreshed: {a} companies",
                        38,
                        0,
                    );
                    out.push(group, at, &task.stream, line);
                }
                _ => {}
            }
        }
    }

    fn quorum(&self, rng: &mut SplitMix, out: &mut Out) {
        let sealed = self.chain.note.sealed;
        for node in self.nodes {
            if !node.up {
                continue;
            }
            let Some(cluster) = self.clusters.get(node.cluster) else {
                continue;
            };
            let Some(task) = cluster
                .tasks
                .iter()
                .find(|t| t.service == node.service && t.phase == Phase::Running)
            else {
                continue;
            };
            let group = self.group(node.cluster, node.service);
            let imported = node.head.saturating_sub(node.head_before);
            let at = out.base + rng.range(1, 1000);
            let micros = 400 + rng.below(2600) as u32;
            if imported > 0 {
                let line = match (node.validator, sealed) {
                    (Some(v), Some(b)) if imported == 1 && b.height == node.head => {
                        if usize::from(b.proposer) == v {
                            Line::Sealed {
                                number: b.height,
                                micros,
                            }
                        } else {
                            Line::Committed {
                                number: b.height,
                                round: b.round,
                                proposer: b.proposer,
                            }
                        }
                    }
                    _ => Line::Imported {
                        blocks: imported as u32,
                        txs: self
                            .chain
                            .blocks_between(node.head_before, node.head)
                            .map(|b| b.txs)
                            .sum(),
                        number: node.head,
                        micros: micros * imported.min(50) as u32,
                    },
                };
                out.push(group, at, &task.stream, line);
            }
            if let (Some(_), Some((number, round, proposer))) =
                (node.validator, self.chain.note.round_change)
                && node.mode == NodeMode::Following
                && self.now >= node.idle_until
            {
                out.push(
                    group,
                    at + 1,
                    &task.stream,
                    Line::RoundChange {
                        number,
                        round,
                        proposer,
                    },
                );
            }
            if matches!(node.mode, NodeMode::Behind { .. }) && rng.chance(60) {
                let line = text(
                    Style::Geth,
                    Level::Warn,
                    "Database compacting, degraded performance  database=/eth/geth/chaindata",
                    0,
                    0,
                );
                out.push(group, at + 2, &task.stream, line);
            }
        }
    }

    fn note(&self, note: &EcsNote, rng: &mut SplitMix, out: &mut Out) {
        let Some(cluster) = self.clusters.get(note.cluster) else {
            return;
        };
        let Some(service) = cluster.services.get(note.service) else {
            return;
        };
        let group = self.group(note.cluster, note.service);
        let head = self
            .nodes
            .iter()
            .find(|n| n.cluster == note.cluster && n.service == note.service)
            .map_or(self.chain.head, |n| n.head);
        let (style, lines): (Style, &[(Level, &'static str)]) = match (service.spec.kind, note.what)
        {
            (ServiceKind::Nginx, TaskNote::Started) => (
                Style::Nginx,
                &[
                    (Level::Info, "1#1: using the \"epoll\" event method"),
                    (Level::Info, "1#1: nginx/1.25.4"),
                    (Level::Info, "1#1: start worker processes"),
                ],
            ),
            (ServiceKind::Nginx, TaskNote::Stopping) => (
                Style::Nginx,
                &[
                    (
                        Level::Info,
                        "1#1: signal 15 (SIGTERM) received from 1, exiting",
                    ),
                    (Level::Info, "1#1: exit"),
                ],
            ),
            (ServiceKind::Nginx, TaskNote::Crashed(0)) => (
                Style::Nginx,
                &[(
                    Level::Info,
                    "1#1: signal 3 (SIGQUIT) received, shutting down (scheduled restart)",
                )],
            ),
            (ServiceKind::Nginx, TaskNote::Crashed(_)) => (
                Style::Nginx,
                &[(Level::Error, "1#1: worker process 29 exited on signal 9")],
            ),
            (ServiceKind::Nginx, TaskNote::HealthFailing) => (
                Style::Nginx,
                &[(
                    Level::Error,
                    "29#29: *{a} upstream timed out (110: Connection timed out) while reading response header from upstream",
                )],
            ),
            (ServiceKind::Api, TaskNote::Started) => (
                Style::Json("gunicorn.error"),
                &[
                    (Level::Info, "Starting gunicorn 21.2.0"),
                    (Level::Info, "Listening at: http://0.0.0.0:5000 (1)"),
                    (Level::Info, "Using worker: uvicorn.workers.UvicornWorker"),
                    (Level::Info, "Booting worker with pid: 7"),
                ],
            ),
            (
                ServiceKind::Api | ServiceKind::Notification | ServiceKind::Batch,
                TaskNote::Stopping,
            ) => (
                Style::Json("gunicorn.error"),
                &[
                    (Level::Info, "Handling signal: term"),
                    (Level::Info, "Shutting down: Master"),
                ],
            ),
            (ServiceKind::Api, TaskNote::Crashed(137)) => (
                Style::Json("gunicorn.error"),
                &[(
                    Level::Error,
                    "Worker (pid:7) was sent SIGKILL! Perhaps out of memory?",
                )],
            ),
            (
                ServiceKind::Api | ServiceKind::Notification | ServiceKind::Batch,
                TaskNote::Crashed(0),
            ) => (
                Style::Json("app"),
                &[(Level::Info, "Scheduled restart from cron: exiting")],
            ),
            (
                ServiceKind::Api | ServiceKind::Notification | ServiceKind::Batch,
                TaskNote::Crashed(_),
            ) => (
                Style::Json("app"),
                &[
                    (
                        Level::Error,
                        "psycopg2.OperationalError: could not connect to server: Connection timed out",
                    ),
                    (Level::Error, "Worker failed to boot."),
                ],
            ),
            (ServiceKind::Api, TaskNote::HealthFailing) => (
                Style::Json("app.health"),
                &[(
                    Level::Warn,
                    "Health check failed: database ping timed out after 5.0s",
                )],
            ),
            (ServiceKind::Notification | ServiceKind::Batch, TaskNote::HealthFailing) => (
                Style::Json("app.health"),
                &[(
                    Level::Warn,
                    "Health check failed: worker heartbeat is {a} s old",
                )],
            ),
            (ServiceKind::Notification, TaskNote::Started) => (
                Style::Json("notification"),
                &[(Level::Info, "Notification worker started (interval=10s)")],
            ),
            (ServiceKind::Batch, TaskNote::Started) => (
                Style::Plain("main"),
                &[(
                    Level::Info,
                    "Batch processors started: indexer_transfer, processor_company_list",
                )],
            ),
            (ServiceKind::General(_) | ServiceKind::Validator(_), TaskNote::Started) => (
                Style::Geth,
                &[
                    (
                        Level::Info,
                        "Starting Quorum node  network=ibet datadir=/eth",
                    ),
                    (Level::Info, "Maximum peer count  ETH=50 LES=0 total=50"),
                    (
                        Level::Info,
                        "Loaded most recent local full block  number={a} hash={ha}",
                    ),
                    (
                        Level::Info,
                        "HTTP server started  endpoint=[::]:8545 prefix= cors=* vhosts=*",
                    ),
                    (
                        Level::Info,
                        "Started P2P networking  self=enode://a1f4…@127.0.0.1:30303",
                    ),
                ],
            ),
            (
                ServiceKind::General(_) | ServiceKind::Validator(_),
                TaskNote::Stopping | TaskNote::Crashed(0),
            ) => (
                Style::Geth,
                &[
                    (Level::Info, "Got interrupt, shutting down..."),
                    (Level::Info, "HTTP server stopped  endpoint=[::]:8545"),
                    (Level::Info, "Blockchain stopped"),
                ],
            ),
            (ServiceKind::General(_) | ServiceKind::Validator(_), TaskNote::Crashed(_)) => (
                Style::Geth,
                &[(
                    Level::Error,
                    "Fatal: out of memory allocating block cache  number={a}",
                )],
            ),
            (ServiceKind::General(_) | ServiceKind::Validator(_), TaskNote::HealthFailing) => (
                Style::Geth,
                &[(
                    Level::Warn,
                    "Served eth_blockNumber timed out  reqid={a} t=5.000s",
                )],
            ),
        };
        let a = match note.what {
            TaskNote::HealthFailing => rng.range(20, 90) as u64,
            _ => head,
        };
        out.burst(group, &note.stream, rng, style, lines, a);
    }
}
