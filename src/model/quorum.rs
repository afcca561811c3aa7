//! Quorum node shapes: what one RPC poll of a node observed.
//!
//! A [`NodeSample`] is one poll; the judgement of a node's state over several samples
//! (synced, lagging, stalled, down) lives with the Quorum monitor. Methods a node does
//! not offer (anvil has no `istanbul_*`, `admin_*`, `net_peerCount`) are
//! [`Probe::NotAvailable`], shown as "n/a", never as an error.

use serde::Serialize;

use crate::clock::EpochMs;

/// Role of a Quorum node in the topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    /// A non-validating node serving RPC behind the internal ALB.
    #[default]
    General,
    /// An IBFT/QBFT validator.
    Validator,
}

impl NodeRole {
    /// The lowercase word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::General => "general",
            Self::Validator => "validator",
        }
    }
}

/// The outcome of asking a node one thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Probe<T> {
    /// The node answered.
    Value(T),
    /// The node does not offer the method (JSON-RPC -32601): shown as "n/a".
    NotAvailable,
    /// Not asked (yet).
    #[default]
    NotAsked,
    /// The call failed.
    Failed(String),
}

impl<T> Probe<T> {
    /// The value, if the node answered.
    pub fn value(&self) -> Option<&T> {
        match self {
            Self::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// `eth_syncing` progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SyncProgress {
    /// Block the sync started at.
    pub starting: u64,
    /// Current block.
    pub current: u64,
    /// Highest known block.
    pub highest: u64,
}

impl SyncProgress {
    /// Blocks left to sync.
    pub fn remaining(&self) -> u64 {
        self.highest.saturating_sub(self.current)
    }
}

/// `txpool_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct TxPool {
    /// Pending transactions.
    pub pending: u64,
    /// Queued transactions.
    pub queued: u64,
}

/// One poll of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct NodeSample {
    /// When the poll finished.
    pub at: EpochMs,
    /// Whether the node answered at all.
    pub reachable: bool,
    /// Why it did not, when it did not.
    pub error: Option<String>,
    /// `web3_clientVersion`.
    pub client_version: Probe<String>,
    /// Latest block number.
    pub block: Option<u64>,
    /// Latest block hash.
    pub block_hash: Option<String>,
    /// Latest block timestamp (ms).
    pub block_time: Option<EpochMs>,
    /// `eth_syncing`: `Value(None)` when not syncing.
    pub syncing: Probe<Option<SyncProgress>>,
    /// `net_peerCount`.
    pub peers: Probe<u64>,
    /// `txpool_status`.
    pub txpool: Probe<TxPool>,
    /// The validator's own signing address (`istanbul_nodeAddress`), asked with the
    /// once-only probes of a validator.
    pub signer: Probe<String>,
    /// Validator addresses (`istanbul_getValidators` / `qbft_getValidatorsByBlockNumber`).
    pub validators: Probe<Vec<String>>,
    /// Blocks proposed per validator over the recent window (`istanbul_status`: the last
    /// 64 blocks; Besu's `qbft_getSignerMetrics`: the last 100), sorted by address.
    pub proposers: Probe<Vec<(String, u64)>>,
    /// Round-trip time of the poll (ms).
    pub latency_ms: u64,
}

impl NodeSample {
    /// Whether `other` says what this sample says, apart from when it was taken and how
    /// long it took: a poll that brings nothing new changes nothing on screen.
    pub fn same_news(&self, other: &Self) -> bool {
        let Self {
            at: _,
            latency_ms: _,
            reachable,
            error,
            client_version,
            block,
            block_hash,
            block_time,
            syncing,
            peers,
            txpool,
            signer,
            validators,
            proposers,
        } = self;
        *reachable == other.reachable
            && *error == other.error
            && *client_version == other.client_version
            && *block == other.block
            && *block_hash == other.block_hash
            && *block_time == other.block_time
            && *syncing == other.syncing
            && *peers == other.peers
            && *txpool == other.txpool
            && *signer == other.signer
            && *validators == other.validators
            && *proposers == other.proposers
    }
}

/// The judged state of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// At the head and advancing.
    Synced,
    /// Not judged yet.
    #[default]
    Unknown,
    /// Behind the best node or syncing.
    Lagging,
    /// Not advancing.
    Stalled,
    /// Not answering.
    Down,
}

impl NodeState {
    /// The lowercase word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Synced => "synced",
            Self::Unknown => "unknown",
            Self::Lagging => "lagging",
            Self::Stalled => "stalled",
            Self::Down => "down",
        }
    }
}
