//! The sync gate: may the internal ALB move from the active general node A to B?
//!
//! B passes one poll when it answers RPC, is not syncing, is at most `max_lag_blocks`
//! behind A, has the same block hash as A at the lower of the two heads, has at least
//! `min_peers` peers (skipped, shown as "n/a", when the node cannot report peers), and its
//! head is at most `max_head_age_secs` old. The gate opens after `consecutive_polls`
//! passing polls in a row ([`GateTracker`]); any failure starts the count again. A's
//! pending transactions are a warning, not a check.
//!
//! [`evaluate`] is the pure per-poll judgement; [`poll`] takes the samples and the one
//! extra block hash through [`RpcApi`] and evaluates them. This module decides nothing
//! about the ALB itself and never sleeps: the caller chooses when to poll.

use serde::{Deserialize, Serialize};

use super::Check;
use crate::backend::RpcApi;
use crate::clock::{Clock, EpochMs, short_age, short_duration};
use crate::config::{AlbSwitch, QuorumNode};
use crate::model::quorum::{NodeSample, Probe};

/// Check name: B answers RPC.
pub const CHECK_RPC: &str = "rpc";
/// Check name: B is not syncing.
pub const CHECK_NOT_SYNCING: &str = "not_syncing";
/// Check name: B's height against A's.
pub const CHECK_HEIGHT: &str = "height";
/// Check name: B and A have the same block at the lower head.
pub const CHECK_SAME_CHAIN: &str = "same_chain";
/// Check name: B's peer count.
pub const CHECK_PEERS: &str = "peers";
/// Check name: the age of B's head block.
pub const CHECK_HEAD_AGE: &str = "head_age";
/// Check name: passes in a row.
pub const CHECK_CONSECUTIVE: &str = "consecutive_polls";

/// The gate's thresholds (from the cluster's `alb_switch` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateThresholds {
    /// B may be at most this many blocks behind A.
    pub max_lag_blocks: u64,
    /// B's head may be at most this old.
    pub max_head_age_secs: u64,
    /// Passing polls in a row needed.
    pub consecutive_polls: u32,
    /// Peers B needs at least.
    pub min_peers: u64,
}

impl GateThresholds {
    /// The thresholds configured for a switch.
    pub fn from_switch(switch: &AlbSwitch) -> Self {
        Self {
            max_lag_blocks: switch.max_lag_blocks,
            max_head_age_secs: switch.max_head_age_secs,
            consecutive_polls: switch.consecutive_polls,
            min_peers: switch.min_peers,
        }
    }

    /// Passing polls in a row needed (at least one).
    pub fn required_polls(&self) -> u32 {
        self.consecutive_polls.max(1)
    }
}

impl Default for GateThresholds {
    /// The configuration's defaults: no lag, 15 s head age, 3 polls, 1 peer.
    fn default() -> Self {
        Self {
            max_lag_blocks: 0,
            max_head_age_secs: 15,
            consecutive_polls: 3,
            min_peers: 1,
        }
    }
}

/// Which node the extra block hash of a poll comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashFrom {
    /// B's hash at A's head (B is level with or ahead of A).
    Candidate,
    /// A's hash at B's head (B is behind A, within the allowed lag).
    Active,
}

/// The height where A and B are compared, and whose hash must be asked there (the
/// other node's hash is its head hash from the sample). `None` when a head is unknown.
pub fn comparison_height(active: &NodeSample, candidate: &NodeSample) -> Option<(u64, HashFrom)> {
    let (a, b) = (active.block?, candidate.block?);
    Some(if b >= a {
        (a, HashFrom::Candidate)
    } else {
        (b, HashFrom::Active)
    })
}

/// One poll's inputs.
#[derive(Debug, Clone, Copy)]
pub struct GateInput<'a> {
    /// A's name.
    pub active_name: &'a str,
    /// B's name.
    pub candidate_name: &'a str,
    /// A's sample.
    pub active: &'a NodeSample,
    /// B's sample.
    pub candidate: &'a NodeSample,
    /// The hash asked at [`comparison_height`] from the node it names: `Value(None)` when
    /// that node does not have the block.
    pub hash_at: &'a Probe<Option<String>>,
    /// Now.
    pub now: EpochMs,
}

/// One poll of the gate: each check with its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatePoll {
    /// When it was evaluated.
    pub at: EpochMs,
    /// A.
    pub active: String,
    /// B.
    pub candidate: String,
    /// The checks, in a fixed order.
    pub checks: Vec<Check>,
    /// Things to know that do not fail the gate (A's pending transactions).
    pub warnings: Vec<String>,
}

impl GatePoll {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
}

/// Judges one poll. Pure: the same samples, hash and time give the same checks.
pub fn evaluate(thresholds: &GateThresholds, input: &GateInput<'_>) -> GatePoll {
    let GateInput {
        active_name: a_name,
        candidate_name: b_name,
        active: a,
        candidate: b,
        ..
    } = *input;
    let checks = vec![
        rpc_check(b_name, b),
        syncing_check(b),
        height_check(thresholds, a_name, b_name, a, b),
        same_chain_check(input),
        peers_check(thresholds, b),
        head_age_check(thresholds, b, input.now),
    ]
    .into_iter()
    .map(Check::overridable)
    .collect();
    let mut warnings = Vec::new();
    if let Probe::Value(pool) = &a.txpool
        && pool.pending > 0
    {
        warnings.push(format!(
            "{a_name} has {} pending and {} queued transactions in its txpool; clients \
             that sent them through {a_name} will see them only once they are mined",
            pool.pending, pool.queued
        ));
    }
    if !a.reachable {
        warnings.push(format!(
            "{a_name} does not answer: the gate cannot compare {b_name} with it"
        ));
    }
    GatePoll {
        at: input.now,
        active: a_name.to_string(),
        candidate: b_name.to_string(),
        checks,
        warnings,
    }
}

fn rpc_check(b_name: &str, b: &NodeSample) -> Check {
    if b.reachable {
        Check::pass(CHECK_RPC, format!("answers ({} ms)", b.latency_ms))
    } else {
        let why = b.error.clone().unwrap_or_else(|| "no answer".to_string());
        Check::fail(CHECK_RPC, "no answer").detail(format!("{b_name}: {why}"))
    }
}

fn syncing_check(b: &NodeSample) -> Check {
    match &b.syncing {
        Probe::Value(None) => Check::pass(CHECK_NOT_SYNCING, "not syncing"),
        Probe::Value(Some(progress)) => Check::fail(
            CHECK_NOT_SYNCING,
            format!("syncing, {} blocks left", progress.remaining()),
        )
        .detail(format!("at #{} of #{}", progress.current, progress.highest)),
        Probe::NotAvailable => {
            Check::fail(CHECK_NOT_SYNCING, "unknown").detail("the node does not offer eth_syncing")
        }
        Probe::NotAsked => Check::fail(CHECK_NOT_SYNCING, "unknown").detail("not asked"),
        Probe::Failed(e) => Check::fail(CHECK_NOT_SYNCING, "unknown").detail(e.clone()),
    }
}

fn height_check(
    thresholds: &GateThresholds,
    a_name: &str,
    b_name: &str,
    a: &NodeSample,
    b: &NodeSample,
) -> Check {
    let max = thresholds.max_lag_blocks;
    match (a.block, b.block) {
        (Some(ha), Some(hb)) => {
            let value = if hb >= ha {
                format!("{b_name} #{hb}, {a_name} #{ha} (level or ahead)")
            } else {
                format!(
                    "{b_name} #{hb}, {a_name} #{ha} ({} behind, max {max})",
                    ha - hb
                )
            };
            if hb.saturating_add(max) >= ha {
                Check::pass(CHECK_HEIGHT, value)
            } else {
                Check::fail(CHECK_HEIGHT, value)
                    .detail(format!("{b_name} must be at most {max} blocks behind"))
            }
        }
        (Some(ha), None) => Check::fail(CHECK_HEIGHT, format!("{b_name} ?, {a_name} #{ha}"))
            .detail(format!("{b_name}'s head is unknown")),
        (None, Some(hb)) => Check::fail(CHECK_HEIGHT, format!("{b_name} #{hb}, {a_name} ?"))
            .detail(format!(
                "{a_name}'s head is unknown: nothing to compare with"
            )),
        (None, None) => Check::fail(CHECK_HEIGHT, "both heads unknown"),
    }
}

fn same_chain_check(input: &GateInput<'_>) -> Check {
    let GateInput {
        active_name: a_name,
        candidate_name: b_name,
        active: a,
        candidate: b,
        hash_at,
        ..
    } = *input;
    let Some((height, from)) = comparison_height(a, b) else {
        return Check::fail(CHECK_SAME_CHAIN, "not compared")
            .detail("a head is unknown: nothing to compare");
    };
    // The head hash comes from one node's sample; the other node was asked at `height`.
    let (head, head_name, asked_name) = match from {
        HashFrom::Candidate => (&a.block_hash, a_name, b_name),
        HashFrom::Active => (&b.block_hash, b_name, a_name),
    };
    let Some(head) = head else {
        return Check::fail(CHECK_SAME_CHAIN, format!("not compared at #{height}"))
            .detail(format!("{head_name} did not report its head hash"));
    };
    match hash_at {
        Probe::Value(Some(asked)) if asked.eq_ignore_ascii_case(head) => Check::pass(
            CHECK_SAME_CHAIN,
            format!("same block at #{height} ({})", short_hash(head)),
        ),
        Probe::Value(Some(asked)) => Check::fail(
            CHECK_SAME_CHAIN,
            format!(
                "different blocks at #{height}: {a_name} {}, {b_name} {}",
                short_hash(if from == HashFrom::Candidate {
                    head
                } else {
                    asked
                }),
                short_hash(if from == HashFrom::Candidate {
                    asked
                } else {
                    head
                }),
            ),
        )
        .detail("the nodes are on different chains or one is on a fork"),
        Probe::Value(None) => Check::fail(
            CHECK_SAME_CHAIN,
            format!("{asked_name} has no block #{height}"),
        ),
        Probe::NotAvailable | Probe::NotAsked => {
            Check::fail(CHECK_SAME_CHAIN, format!("not compared at #{height}"))
                .detail(format!("{asked_name} was not asked for block #{height}"))
        }
        Probe::Failed(e) => Check::fail(CHECK_SAME_CHAIN, format!("not compared at #{height}"))
            .detail(format!("{asked_name}: {e}")),
    }
}

fn peers_check(thresholds: &GateThresholds, b: &NodeSample) -> Check {
    let min = thresholds.min_peers;
    match &b.peers {
        Probe::Value(n) if *n >= min => Check::pass(CHECK_PEERS, format!("{n} (min {min})")),
        Probe::Value(n) => Check::fail(CHECK_PEERS, format!("{n} (min {min})"))
            .detail("too few peers to be sure it follows the chain"),
        Probe::NotAvailable => {
            Check::pass(CHECK_PEERS, "n/a").detail("the node cannot report its peers; not checked")
        }
        Probe::NotAsked => Check::fail(CHECK_PEERS, "unknown").detail("not asked"),
        Probe::Failed(e) => Check::fail(CHECK_PEERS, "unknown").detail(e.clone()),
    }
}

fn head_age_check(thresholds: &GateThresholds, b: &NodeSample, now: EpochMs) -> Check {
    let max_ms = (thresholds.max_head_age_secs as i64).saturating_mul(1000);
    let max = short_duration(max_ms);
    match b.block_time {
        Some(t) => {
            let age = (now - t).max(0);
            let value = format!("{} (max {max})", short_age(age));
            if age <= max_ms {
                Check::pass(CHECK_HEAD_AGE, value)
            } else {
                Check::fail(CHECK_HEAD_AGE, value).detail("the node's head is not advancing")
            }
        }
        None => Check::fail(CHECK_HEAD_AGE, "unknown").detail("no head block time"),
    }
}

/// `0x1234…abcd` for a long hash.
fn short_hash(hash: &str) -> String {
    if hash.len() > 14 && hash.is_char_boundary(6) && hash.is_char_boundary(hash.len() - 4) {
        format!("{}…{}", &hash[..6], &hash[hash.len() - 4..])
    } else {
        hash.to_string()
    }
}

/// The two nodes a gate polls, and its thresholds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatePair {
    /// A: the node the ALB forwards to now.
    pub active: QuorumNode,
    /// B: the node it would forward to.
    pub candidate: QuorumNode,
    /// Thresholds.
    pub thresholds: GateThresholds,
}

/// Takes one poll: samples A and B together, asks the hash at the comparison height,
/// and evaluates. Never fails: what could not be read fails its check.
pub async fn poll(rpc: &dyn RpcApi, pair: &GatePair, clock: &dyn Clock) -> GatePoll {
    let (active, candidate) = tokio::join!(
        rpc.sample(&pair.active, false),
        rpc.sample(&pair.candidate, false)
    );
    let hash_at = match comparison_height(&active, &candidate) {
        Some((height, HashFrom::Candidate)) if candidate.reachable => {
            probe_hash(rpc.block_hash_at(&pair.candidate, height).await)
        }
        Some((height, HashFrom::Active)) if active.reachable => {
            probe_hash(rpc.block_hash_at(&pair.active, height).await)
        }
        _ => Probe::NotAsked,
    };
    let input = GateInput {
        active_name: &pair.active.name,
        candidate_name: &pair.candidate.name,
        active: &active,
        candidate: &candidate,
        hash_at: &hash_at,
        now: clock.now_ms(),
    };
    evaluate(&pair.thresholds, &input)
}

fn probe_hash(result: crate::backend::BackendResult<Option<String>>) -> Probe<Option<String>> {
    match result {
        Ok(hash) => Probe::Value(hash),
        Err(crate::backend::BackendError::MethodNotAvailable(_)) => Probe::NotAvailable,
        Err(e) => Probe::Failed(e.to_string()),
    }
}

/// Where a gate stands, for a dialog's headline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateState {
    /// Not polled yet.
    NotPolled,
    /// The last poll failed.
    Failing,
    /// Passing, but not yet for enough polls in a row.
    Counting,
    /// Passed the required polls in a row.
    Open,
}

/// Counts consecutive passing polls of one pair of nodes; any failure resets the count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateTracker {
    #[serde(skip)]
    pair: GatePair,
    active: String,
    candidate: String,
    state: GateState,
    consecutive: u32,
    required: u32,
    polls: u32,
    last: Option<GatePoll>,
}

impl GateTracker {
    /// A tracker for `pair`, with no poll yet.
    pub fn new(pair: GatePair) -> Self {
        Self {
            active: pair.active.name.clone(),
            candidate: pair.candidate.name.clone(),
            required: pair.thresholds.required_polls(),
            pair,
            state: GateState::NotPolled,
            consecutive: 0,
            polls: 0,
            last: None,
        }
    }

    /// Records a poll; a poll of another pair of nodes is ignored (returns false).
    pub fn record(&mut self, poll: GatePoll) -> bool {
        if poll.active != self.active || poll.candidate != self.candidate {
            return false;
        }
        self.polls += 1;
        self.consecutive = if poll.passed() {
            self.consecutive + 1
        } else {
            0
        };
        self.state = if !poll.passed() {
            GateState::Failing
        } else if self.consecutive >= self.required {
            GateState::Open
        } else {
            GateState::Counting
        };
        self.last = Some(poll);
        true
    }

    /// Whether the gate is open: the required polls in a row passed.
    pub fn is_open(&self) -> bool {
        self.state == GateState::Open
    }

    /// Where the gate stands.
    pub fn state(&self) -> GateState {
        self.state
    }

    /// Passing polls in a row so far.
    pub fn consecutive(&self) -> u32 {
        self.consecutive
    }

    /// Passing polls in a row needed.
    pub fn required(&self) -> u32 {
        self.required
    }

    /// Polls recorded.
    pub fn polls(&self) -> u32 {
        self.polls
    }

    /// The latest poll.
    pub fn last(&self) -> Option<&GatePoll> {
        self.last.as_ref()
    }

    /// The nodes and thresholds polled.
    pub fn pair(&self) -> &GatePair {
        &self.pair
    }

    /// The latest poll's checks and the count of passes in a row.
    pub fn checks(&self) -> Vec<Check> {
        let mut checks = self
            .last
            .as_ref()
            .map_or_else(Vec::new, |p| p.checks.clone());
        let value = format!("{}/{}", self.consecutive.min(self.required), self.required);
        let check = if self.is_open() {
            Check::pass(CHECK_CONSECUTIVE, value)
        } else {
            Check::fail(CHECK_CONSECUTIVE, value).detail(format!(
                "every check must pass {} polls in a row",
                self.required
            ))
        };
        checks.push(check.overridable());
        checks
    }

    /// The latest poll's warnings.
    pub fn warnings(&self) -> &[String] {
        self.last.as_ref().map_or(&[], |p| p.warnings.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::quorum::{SyncProgress, TxPool};

    const NOW: EpochMs = 1_800_000_000_000;
    const HASH_A: &str = "0xaaaa000000000000000000000000000000000000000000000000000000001200";

    fn sample(block: u64, hash: &str) -> NodeSample {
        NodeSample {
            at: NOW,
            reachable: true,
            block: Some(block),
            block_hash: Some(hash.into()),
            block_time: Some(NOW - 2_000),
            syncing: Probe::Value(None),
            peers: Probe::Value(3),
            txpool: Probe::Value(TxPool::default()),
            latency_ms: 4,
            ..NodeSample::default()
        }
    }

    fn judge(a: &NodeSample, b: &NodeSample, hash: &Probe<Option<String>>) -> GatePoll {
        judge_with(&GateThresholds::default(), a, b, hash)
    }

    fn judge_with(
        t: &GateThresholds,
        a: &NodeSample,
        b: &NodeSample,
        hash: &Probe<Option<String>>,
    ) -> GatePoll {
        evaluate(
            t,
            &GateInput {
                active_name: "general-1",
                candidate_name: "general-2",
                active: a,
                candidate: b,
                hash_at: hash,
                now: NOW,
            },
        )
    }

    fn same() -> Probe<Option<String>> {
        Probe::Value(Some(HASH_A.into()))
    }

    fn failed(poll: &GatePoll) -> Vec<&str> {
        poll.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.as_str())
            .collect()
    }

    fn check<'a>(poll: &'a GatePoll, name: &str) -> &'a Check {
        poll.checks.iter().find(|c| c.name == name).expect("check")
    }

    #[test]
    fn a_caught_up_candidate_passes_every_check() {
        let poll = judge(&sample(1200, HASH_A), &sample(1200, "0xbb"), &same());
        assert!(poll.passed(), "{:?}", poll.checks);
        assert_eq!(
            poll.checks
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            [
                CHECK_RPC,
                CHECK_NOT_SYNCING,
                CHECK_HEIGHT,
                CHECK_SAME_CHAIN,
                CHECK_PEERS,
                CHECK_HEAD_AGE
            ]
        );
        assert!(poll.checks.iter().all(|c| c.overridable));
        assert_eq!(check(&poll, CHECK_PEERS).value, "3 (min 1)");
        assert_eq!(check(&poll, CHECK_HEAD_AGE).value, "2s (max 15s)");
        assert_eq!(
            check(&poll, CHECK_SAME_CHAIN).value,
            "same block at #1200 (0xaaaa…1200)"
        );
        assert!(poll.warnings.is_empty());
    }

    #[test]
    fn an_unreachable_candidate_fails_rpc() {
        let mut b = NodeSample {
            reachable: false,
            error: Some("connection refused".into()),
            ..NodeSample::default()
        };
        b.at = NOW;
        let poll = judge(&sample(1200, HASH_A), &b, &Probe::NotAsked);
        assert!(failed(&poll).contains(&CHECK_RPC));
        assert_eq!(
            check(&poll, CHECK_RPC).detail.as_deref(),
            Some("general-2: connection refused")
        );
    }

    #[test]
    fn a_syncing_candidate_fails() {
        let mut b = sample(1200, "0xbb");
        b.syncing = Probe::Value(Some(SyncProgress {
            starting: 0,
            current: 1200,
            highest: 1300,
        }));
        let poll = judge(&sample(1200, HASH_A), &b, &same());
        assert_eq!(failed(&poll), [CHECK_NOT_SYNCING]);
        assert_eq!(
            check(&poll, CHECK_NOT_SYNCING).value,
            "syncing, 100 blocks left"
        );
    }

    #[test]
    fn a_candidate_behind_fails_unless_within_the_allowed_lag() {
        let a = sample(1202, "0xa2");
        let mut b = sample(1200, HASH_A);
        b.block_hash = Some(HASH_A.into());
        // Behind: the hash is A's at B's head (1200), compared with B's head hash.
        let poll = judge(&a, &b, &same());
        assert_eq!(failed(&poll), [CHECK_HEIGHT]);
        assert_eq!(
            check(&poll, CHECK_HEIGHT).value,
            "general-2 #1200, general-1 #1202 (2 behind, max 0)"
        );
        let lenient = GateThresholds {
            max_lag_blocks: 2,
            ..GateThresholds::default()
        };
        assert!(judge_with(&lenient, &a, &b, &same()).passed());
    }

    #[test]
    fn a_different_block_at_the_same_height_fails() {
        let poll = judge(
            &sample(1200, HASH_A),
            &sample(1201, "0xbb"),
            &Probe::Value(Some("0xdifferent".into())),
        );
        assert_eq!(failed(&poll), [CHECK_SAME_CHAIN]);
        assert!(
            check(&poll, CHECK_SAME_CHAIN)
                .value
                .starts_with("different blocks at #1200")
        );
    }

    #[test]
    fn a_missing_block_fails_the_chain_check() {
        let poll = judge(
            &sample(1200, HASH_A),
            &sample(1200, "0xbb"),
            &Probe::Value(None),
        );
        assert_eq!(failed(&poll), [CHECK_SAME_CHAIN]);
        assert_eq!(
            check(&poll, CHECK_SAME_CHAIN).value,
            "general-2 has no block #1200"
        );
        let poll = judge(
            &sample(1200, HASH_A),
            &sample(1200, "0xbb"),
            &Probe::Failed("timeout".into()),
        );
        assert_eq!(failed(&poll), [CHECK_SAME_CHAIN]);
    }

    #[test]
    fn too_few_peers_fail_but_unreported_peers_are_skipped() {
        let mut b = sample(1200, "0xbb");
        b.peers = Probe::Value(0);
        let poll = judge(&sample(1200, HASH_A), &b, &same());
        assert_eq!(failed(&poll), [CHECK_PEERS]);
        b.peers = Probe::NotAvailable;
        let poll = judge(&sample(1200, HASH_A), &b, &same());
        assert!(poll.passed());
        assert_eq!(check(&poll, CHECK_PEERS).value, "n/a");
        b.peers = Probe::Failed("boom".into());
        assert_eq!(
            failed(&judge(&sample(1200, HASH_A), &b, &same())),
            [CHECK_PEERS]
        );
    }

    #[test]
    fn an_old_head_fails() {
        let mut b = sample(1200, "0xbb");
        b.block_time = Some(NOW - 16_000);
        let poll = judge(&sample(1200, HASH_A), &b, &same());
        assert_eq!(failed(&poll), [CHECK_HEAD_AGE]);
        assert_eq!(check(&poll, CHECK_HEAD_AGE).value, "16s (max 15s)");
        b.block_time = None;
        assert_eq!(
            failed(&judge(&sample(1200, HASH_A), &b, &same())),
            [CHECK_HEAD_AGE]
        );
    }

    #[test]
    fn an_unreachable_active_node_cannot_be_compared() {
        let a = NodeSample {
            reachable: false,
            ..NodeSample::default()
        };
        let poll = judge(&a, &sample(1200, "0xbb"), &Probe::NotAsked);
        assert_eq!(failed(&poll), [CHECK_HEIGHT, CHECK_SAME_CHAIN]);
        assert!(poll.warnings[0].contains("general-1 does not answer"));
    }

    #[test]
    fn pending_transactions_on_the_active_node_warn() {
        let mut a = sample(1200, HASH_A);
        a.txpool = Probe::Value(TxPool {
            pending: 12,
            queued: 3,
        });
        let poll = judge(&a, &sample(1200, "0xbb"), &same());
        assert!(poll.passed());
        assert!(poll.warnings[0].starts_with("general-1 has 12 pending and 3 queued"));
    }

    #[test]
    fn the_comparison_height_is_the_lower_head() {
        assert_eq!(
            comparison_height(&sample(10, "a"), &sample(12, "b")),
            Some((10, HashFrom::Candidate))
        );
        assert_eq!(
            comparison_height(&sample(10, "a"), &sample(10, "b")),
            Some((10, HashFrom::Candidate))
        );
        assert_eq!(
            comparison_height(&sample(12, "a"), &sample(10, "b")),
            Some((10, HashFrom::Active))
        );
        assert_eq!(
            comparison_height(&NodeSample::default(), &sample(10, "b")),
            None
        );
    }

    fn pair() -> GatePair {
        let node = |name: &str| QuorumNode {
            name: name.into(),
            rpc_url: format!("http://{name}:8545"),
            role: crate::model::quorum::NodeRole::General,
            service: None,
            exec_command: None,
        };
        GatePair {
            active: node("general-1"),
            candidate: node("general-2"),
            thresholds: GateThresholds::default(),
        }
    }

    #[test]
    fn the_tracker_opens_after_consecutive_passes_and_resets_on_failure() {
        let pass = judge(&sample(1200, HASH_A), &sample(1200, "0xbb"), &same());
        let fail = judge(
            &sample(1200, HASH_A),
            &sample(1200, "0xbb"),
            &Probe::Value(None),
        );
        let mut gate = GateTracker::new(pair());
        assert_eq!(gate.state(), GateState::NotPolled);
        assert!(!gate.checks().last().expect("count").passed);
        assert!(gate.record(pass.clone()));
        assert!(gate.record(pass.clone()));
        assert_eq!((gate.state(), gate.consecutive()), (GateState::Counting, 2));
        assert_eq!(gate.checks().last().expect("count").value, "2/3");
        assert!(gate.record(fail));
        assert_eq!((gate.state(), gate.consecutive()), (GateState::Failing, 0));
        for _ in 0..3 {
            gate.record(pass.clone());
        }
        assert!(gate.is_open());
        assert_eq!(gate.polls(), 6);
        assert!(gate.checks().iter().all(|c| c.passed));
        gate.record(pass.clone());
        assert_eq!(gate.checks().last().expect("count").value, "3/3");
    }

    #[test]
    fn the_tracker_ignores_polls_of_another_pair() {
        let mut other = judge(&sample(1200, HASH_A), &sample(1200, "0xbb"), &same());
        other.candidate = "general-3".into();
        let mut gate = GateTracker::new(pair());
        assert!(!gate.record(other));
        assert_eq!(gate.polls(), 0);
    }
}
