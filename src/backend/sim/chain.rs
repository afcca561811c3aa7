//! The simulated Quorum chain of one environment: four QBFT validators sealing a block
//! about every second, and the general nodes that follow them.
//!
//! The proposer of a height rotates over the validators; when it is not producing, the
//! others wait for a round-change timeout and the next validator proposes. Fewer than
//! three producing validators halt the chain. A general node normally sits at the head
//! or one block behind; it can fall behind (lag grows, `eth_syncing` shows progress),
//! stall (head frozen, no syncing flag) or be down with its task, and then catches up.
//! Nothing here reads the clock or knows about ECS beyond "is this node's task up".

use std::collections::VecDeque;

use crate::clock::EpochMs;
use crate::model::quorum::{NodeRole, NodeSample, Probe, SyncProgress, TxPool};

use super::rng::SplitMix;
use super::topology::{EnvSpec, VALIDATORS, block_hash, validator_address};

/// Blocks remembered (times and proposers) for sampling.
const RECENT_BLOCKS: usize = 512;
/// The window `istanbul_status` counts proposers over.
const PROPOSER_WINDOW: usize = 64;
/// Ticks the validators wait for an absent proposer before changing round.
const ROUND_TIMEOUT_TICKS: i64 = 4;
/// A lagging node reports `eth_syncing` progress from this many blocks behind.
const SYNC_SHOWN_FROM_LAG: u64 = 12;
/// Ticks after a node's task starts before its RPC answers.
pub(super) const RPC_WARMUP_TICKS: i64 = 2;

/// One sealed block.
#[derive(Debug, Clone, Copy)]
pub(super) struct BlockMeta {
    pub height: u64,
    pub time: EpochMs,
    pub proposer: u8,
    pub round: u32,
    pub txs: u32,
}

/// What a node is doing about the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NodeMode {
    /// At the head (validators) or at most a block behind (general nodes).
    Following,
    /// Importing slowly until this tick.
    Behind { until: i64 },
    /// Importing nothing until this tick.
    Stalled { until: i64 },
    /// Importing many blocks a tick until at the head.
    CatchingUp,
}

/// One Quorum node.
#[derive(Debug, Clone)]
pub(super) struct SimNode {
    pub name: String,
    pub cluster: usize,
    /// Index of its service within the cluster.
    pub service: usize,
    pub role: NodeRole,
    pub validator: Option<usize>,
    pub rpc_url: String,
    pub ip: String,
    pub up: bool,
    pub up_since: i64,
    pub head: u64,
    /// The head at the start of the last tick (for import log lines).
    pub head_before: u64,
    pub mode: NodeMode,
    pub sync_start: Option<u64>,
    /// Validator: not proposing or voting until this tick.
    pub idle_until: i64,
    /// Its ALB target fails health checks until this tick.
    pub target_unhealthy_until: i64,
    pub txpool: TxPool,
    /// The Quorum image tag its task runs.
    pub build: String,
}

impl SimNode {
    /// Whether the RPC endpoint answers at tick `now`.
    pub(super) fn reachable(&self, now: i64) -> bool {
        self.up && now - self.up_since >= RPC_WARMUP_TICKS
    }

    /// Whether a validator takes part in consensus at tick `now`.
    fn producing(&self, now: i64, head: u64) -> bool {
        self.validator.is_some()
            && self.up
            && self.mode == NodeMode::Following
            && now >= self.idle_until
            && self.head == head
    }
}

/// What the chain did in the last tick, for the log writer.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ChainNote {
    /// A block was sealed.
    pub sealed: Option<BlockMeta>,
    /// A round change: (height, new round, the absent proposer).
    pub round_change: Option<(u64, u32, u8)>,
}

/// The chain of one environment.
#[derive(Debug, Clone)]
pub(super) struct Chain {
    pub head: u64,
    pub recent: VecDeque<BlockMeta>,
    pub round: u32,
    pub round_since: i64,
    pub validators: Vec<String>,
    pub note: ChainNote,
    /// Transactions waiting for the next block.
    pub queued_txs: u32,
    env_name: &'static str,
}

impl Chain {
    /// The chain as it stands at tick `start`.
    pub(super) fn new(env: &'static EnvSpec, start: i64, rng: &mut SplitMix) -> Self {
        let head = ((start - env.genesis_s).max(1_000) * 97 / 100) as u64;
        let recent = (0..RECENT_BLOCKS as u64)
            .rev()
            .map(|back| {
                let height = head - back;
                BlockMeta {
                    height,
                    time: (start - back as i64) * 1000,
                    proposer: (height % VALIDATORS as u64) as u8,
                    round: 0,
                    txs: u32::from(rng.chance(200)),
                }
            })
            .collect();
        Self {
            head,
            recent,
            round: 0,
            round_since: start,
            validators: (0..VALIDATORS)
                .map(|v| validator_address(env.name, v))
                .collect(),
            note: ChainNote::default(),
            queued_txs: 0,
            env_name: env.name,
        }
    }

    /// Seals the next block when its proposer and a quorum produce; otherwise changes
    /// round after the timeout.
    pub(super) fn tick(&mut self, now: i64, nodes: &[SimNode], rng: &mut SplitMix) {
        self.note = ChainNote::default();
        let mut producing = [false; VALIDATORS];
        for node in nodes {
            if let Some(v) = node.validator {
                producing[v] = node.producing(now, self.head);
            }
        }
        let quorum = producing.iter().filter(|p| **p).count() * 3 > VALIDATORS * 2;
        let next = self.head + 1;
        let proposer = ((next + u64::from(self.round)) % VALIDATORS as u64) as usize;
        if quorum && producing[proposer] {
            let block = BlockMeta {
                height: next,
                time: now * 1000,
                proposer: proposer as u8,
                round: self.round,
                txs: self.queued_txs,
            };
            self.queued_txs = 0;
            self.head = next;
            self.recent.push_back(block);
            if self.recent.len() > RECENT_BLOCKS {
                self.recent.pop_front();
            }
            self.round = 0;
            self.round_since = now;
            self.note.sealed = Some(block);
        } else if now - self.round_since >= ROUND_TIMEOUT_TICKS {
            self.round += 1;
            self.round_since = now;
            self.note.round_change = Some((next, self.round, proposer as u8));
        }
        // Transactions arriving for the next block.
        if rng.chance(120) {
            self.queued_txs += rng.range(1, 3) as u32;
        }
    }

    /// The hash of block `height` of this chain.
    pub(super) fn hash(&self, height: u64) -> String {
        block_hash(self.env_name, height)
    }

    /// The time of block `height` (estimated from the oldest remembered block when older).
    pub(super) fn block_time(&self, height: u64) -> EpochMs {
        let Some(first) = self.recent.front() else {
            return 0;
        };
        if height < first.height {
            return first.time - (first.height - height) as i64 * 1000;
        }
        self.recent
            .get((height - first.height) as usize)
            .map_or(first.time, |b| b.time)
    }

    /// Blocks between `from` (exclusive) and `to` (inclusive), as remembered.
    pub(super) fn blocks_between(&self, from: u64, to: u64) -> impl Iterator<Item = &BlockMeta> {
        let first = self.recent.front().map_or(0, |b| b.height);
        let end = ((to + 1).saturating_sub(first) as usize).min(self.recent.len());
        let begin = ((from + 1).saturating_sub(first) as usize).min(end);
        self.recent.range(begin..end)
    }

    /// Blocks proposed per validator over the last [`PROPOSER_WINDOW`] blocks up to `head`.
    fn proposers(&self, head: u64) -> Vec<(String, u64)> {
        let mut counts = vec![0u64; self.validators.len()];
        for b in self
            .recent
            .iter()
            .rev()
            .filter(|b| b.height <= head)
            .take(PROPOSER_WINDOW)
        {
            if let Some(c) = counts.get_mut(usize::from(b.proposer)) {
                *c += 1;
            }
        }
        self.validators.iter().cloned().zip(counts).collect()
    }
}

/// Moves every node's head for tick `now`, after the chain has moved.
pub(super) fn follow(nodes: &mut [SimNode], chain: &Chain, now: i64, rng: &mut SplitMix) {
    for node in nodes.iter_mut() {
        node.head_before = node.head;
        if !node.up {
            continue;
        }
        let head = chain.head;
        match node.mode {
            NodeMode::Following => {
                let lag = u64::from(node.validator.is_none() && rng.chance(80));
                node.head = node.head.max(head.saturating_sub(lag));
            }
            NodeMode::Behind { until } => {
                if now >= until {
                    node.mode = NodeMode::CatchingUp;
                } else if rng.chance(300) {
                    node.head = (node.head + 1).min(head);
                }
            }
            NodeMode::Stalled { until } => {
                if now >= until {
                    node.mode = NodeMode::CatchingUp;
                }
            }
            NodeMode::CatchingUp => {}
        }
        if node.mode == NodeMode::CatchingUp {
            let lag = head.saturating_sub(node.head);
            let step = (lag / 6).max(8) + rng.below(5);
            node.head = (node.head + step).min(head);
            if head - node.head <= 1 {
                node.mode = NodeMode::Following;
            }
        }
        let lag = head.saturating_sub(node.head);
        let syncing = matches!(node.mode, NodeMode::Behind { .. } | NodeMode::CatchingUp)
            && (lag >= SYNC_SHOWN_FROM_LAG || node.sync_start.is_some());
        if syncing {
            node.sync_start.get_or_insert(node.head_before);
        } else {
            node.sync_start = None;
        }
        node.txpool = if node.validator.is_none() && rng.chance(150) {
            TxPool {
                pending: rng.range(1, 3) as u64,
                queued: 0,
            }
        } else {
            TxPool::default()
        };
    }
}

/// What one RPC poll of `node` returns at `now_ms`.
pub(super) fn sample(
    node: &SimNode,
    nodes: &[SimNode],
    chain: &Chain,
    now_ms: EpochMs,
    first: bool,
    latency_ms: u64,
) -> NodeSample {
    let now = now_ms.div_euclid(1000);
    if !node.reachable(now) {
        return NodeSample {
            at: now_ms,
            reachable: false,
            error: Some(format!(
                "dial tcp {}:{}: connect: connection refused",
                node.ip,
                if node.validator.is_some() { 8545 } else { 8443 }
            )),
            latency_ms: 1,
            ..NodeSample::default()
        };
    }
    let peers = nodes
        .iter()
        .filter(|n| n.up && n.rpc_url != node.rpc_url)
        .count() as u64;
    let syncing = node.sync_start.map(|starting| SyncProgress {
        starting,
        current: node.head,
        highest: chain.head,
    });
    NodeSample {
        at: now_ms,
        reachable: true,
        error: None,
        client_version: if first {
            Probe::Value(client_version(&node.build))
        } else {
            Probe::NotAsked
        },
        block: Some(node.head),
        block_hash: Some(chain.hash(node.head)),
        block_time: Some(chain.block_time(node.head)),
        syncing: Probe::Value(syncing),
        peers: Probe::Value(peers),
        txpool: Probe::Value(node.txpool),
        validators: Probe::Value(chain.validators.clone()),
        proposers: if node.validator.is_some() {
            Probe::Value(chain.proposers(node.head))
        } else {
            Probe::NotAvailable
        },
        signer: match (first, node.validator) {
            (true, Some(i)) => chain
                .validators
                .get(i)
                .map_or(Probe::NotAvailable, |a| Probe::Value(a.clone())),
            (true, None) => Probe::NotAvailable,
            (false, _) => Probe::NotAsked,
        },
        latency_ms,
    }
}

/// `web3_clientVersion` of a patched Quorum build.
fn client_version(build: &str) -> String {
    format!("Geth/v1.10.3-stable(quorum-v{build})/linux-amd64/go1.20.14")
}
