//! The Quorum node monitor's judgement: from what the polls saw to `synced`, `lagging`,
//! `stalled` or `down`, with a one-line reason, per node and per chain.
//!
//! The chain these rules are tuned for is ibet's GoQuorum network under QBFT: a block
//! period of 1 s while there are transactions and an empty-block period of 10 s without
//! them, so a head 10 s old is normal, and four validators that tolerate one failure.
//! `eth_syncing == false` proves nothing on its own (a node with no peers that is far
//! behind says it too), so a node is judged against its neighbours' heights and against
//! its own progress over a time window, the way ibet's wallet API judges its node.
//!
//! Precedence, per node: `down` (the last [`QuorumThresholds::down_after_failures`] polls
//! failed) over `lagging` (behind the best node, or `eth_syncing` reports blocks left,
//! by more than [`QuorumThresholds::max_lag_blocks`]) over `stalled` (fewer than
//! [`QuorumThresholds::min_blocks_in_window`] new blocks over the last
//! [`QuorumThresholds::stall_window_secs`]) over `synced`. A node that stops while its
//! neighbours go on is first stalled, then lagging once they are far enough ahead; when
//! the whole chain stops, every node is stalled and none is lagging.
//!
//! Everything here is pure: no I/O and no clock reads (`now` is an argument). The poll
//! loop feeds [`NodeHistory`]; the views and `status` call [`node_views`] and
//! [`judge_chain`]. A judgement also tells a frame being drawn when it would change with
//! the clock alone ([`crate::clock::note_change_in`]; outside a drawing that is a no-op).

mod chain;
mod history;

use serde::{Deserialize, Serialize};

pub use self::chain::{ChainView, ValidatorView, fault_tolerance, judge_chain};
pub use self::history::{DEFAULT_HISTORY_POINTS, HeightPoint, NodeHistory, blocks_per_interval};
use crate::clock::{EpochMs, coarse_age, note_change_in, short_duration, watching_changes};
use crate::model::quorum::{NodeRole, NodeState, Probe, SyncProgress, TxPool};

/// The thresholds of the judgement (the config's Quorum monitor table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuorumThresholds {
    /// A node more than this many blocks behind the best node (or with more than this
    /// many blocks left to sync) is lagging. ibet's wallet API uses 2.
    pub max_lag_blocks: u64,
    /// The window over which a node must make progress: 20 s is two empty-block periods.
    pub stall_window_secs: u64,
    /// A node with fewer new blocks than this over the window is stalled.
    pub min_blocks_in_window: u64,
    /// A node whose last this-many polls failed is down.
    pub down_after_failures: u32,
    /// A head older than this is flagged (a new empty block comes every 10 s).
    pub head_age_warn_secs: u64,
}

impl Default for QuorumThresholds {
    fn default() -> Self {
        Self {
            max_lag_blocks: 2,
            stall_window_secs: 20,
            min_blocks_in_window: 1,
            down_after_failures: 3,
            head_age_warn_secs: 15,
        }
    }
}

impl QuorumThresholds {
    fn window_ms(&self) -> i64 {
        secs_to_ms(self.stall_window_secs)
    }

    fn head_age_warn_ms(&self) -> i64 {
        secs_to_ms(self.head_age_warn_secs)
    }

    fn is_down(&self, history: &NodeHistory) -> bool {
        history.consecutive_failures() >= self.down_after_failures.max(1)
    }
}

/// The judgement of one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeJudgement {
    /// The state.
    pub state: NodeState,
    /// Why, in one line.
    pub reason: String,
    /// Blocks behind the best node (not for a node that is down).
    pub lag: Option<u64>,
    /// Age of the node's head block (ms), from its timestamp.
    pub head_age_ms: Option<i64>,
    /// New blocks over the stall window, when the history reaches back that far.
    pub blocks_in_window: Option<u64>,
}

/// The highest head among the nodes that are not down: the reference for lag.
pub fn best_height<'a>(
    histories: impl IntoIterator<Item = &'a NodeHistory>,
    thresholds: &QuorumThresholds,
) -> Option<u64> {
    histories
        .into_iter()
        .filter(|h| !thresholds.is_down(h))
        .filter_map(NodeHistory::height)
        .max()
}

/// Age of the node's head block at `now` (ms, never negative).
pub fn head_age_ms(history: &NodeHistory, now: EpochMs) -> Option<i64> {
    history
        .last_answer()
        .and_then(|s| s.block_time)
        .map(|t| now.saturating_sub(t).max(0))
}

/// Judges one node against `best_height` (see [`best_height`]) at `now`.
pub fn judge_node(
    history: &NodeHistory,
    best_height: Option<u64>,
    now: EpochMs,
    thresholds: &QuorumThresholds,
) -> NodeJudgement {
    let failures = history.consecutive_failures();
    let failing_because = || history.last_error().unwrap_or("no answer");
    if thresholds.is_down(history) {
        return NodeJudgement {
            state: NodeState::Down,
            reason: format!("no answer for {failures} polls: {}", failing_because()),
            lag: None,
            head_age_ms: head_age_ms(history, now),
            blocks_in_window: None,
        };
    }
    let Some(last) = history.last_answer() else {
        let reason = if failures == 0 {
            "not polled yet".to_owned()
        } else {
            format!("no answer yet: {}", failing_because())
        };
        return NodeJudgement {
            state: NodeState::Unknown,
            reason,
            lag: None,
            head_age_ms: None,
            blocks_in_window: None,
        };
    };

    let height = last.block.unwrap_or(0);
    let lag = best_height.map(|best| best.saturating_sub(height));
    let head_age = head_age_ms(history, now);
    let window_ms = thresholds.window_ms();
    let window = short_duration(window_ms);
    let blocks_in_window = history.blocks_between(now.saturating_sub(window_ms), now);
    // When the verdict would change with the clock alone, for a frame being drawn: the
    // window slides past a new block, or the head's age passes a threshold.
    if watching_changes() {
        if let Some(ms) = history.slide_changes_in(now, window_ms, window_ms) {
            note_change_in(ms);
        }
        for limit in [window_ms, thresholds.head_age_warn_ms()] {
            if let Some(age) = head_age.filter(|age| *age <= limit) {
                note_change_in(limit - age + 1);
            }
        }
    }
    let sync_left = last
        .syncing
        .value()
        .copied()
        .flatten()
        .as_ref()
        .map(SyncProgress::remaining);
    let too_few = |blocks: u64| blocks < thresholds.min_blocks_in_window;

    let (state, reason) =
        if let Some(left) = sync_left.filter(|left| *left > thresholds.max_lag_blocks) {
            (
                NodeState::Lagging,
                format!("syncing, {} left", blocks(left)),
            )
        } else if let Some(behind) = lag.filter(|lag| *lag > thresholds.max_lag_blocks) {
            let progress = match blocks_in_window {
                Some(0) => format!(", no new block in {window}"),
                Some(added) => format!(", catching up (+{added} in {window})"),
                None => String::new(),
            };
            (
                NodeState::Lagging,
                format!("{} behind{progress}", blocks(behind)),
            )
        } else if let Some(count) = blocks_in_window.filter(|b| too_few(*b)) {
            let reason = if count == 0 {
                format!("no new block in {window}")
            } else {
                format!(
                    "only {} in {window}",
                    blocks(count).replace("block", "new block")
                )
            };
            (NodeState::Stalled, reason)
        } else if blocks_in_window.is_none() && head_age.is_some_and(|age| age > window_ms) {
            // Too little history to see progress yet: the head's own age decides (the HEAD
            // column shows it). Worded as the window's verdict will be once there is
            // history: the same fact, so the reason does not change when the window fills.
            (NodeState::Stalled, format!("no new block in {window}"))
        } else {
            let reason = match lag {
                Some(0) | None => "at the head".to_owned(),
                Some(behind) => format!("{} behind", blocks(behind)),
            };
            (NodeState::Synced, reason)
        };

    let mut notes = vec![reason];
    if failures > 0 {
        let polls = if failures == 1 { "poll" } else { "polls" };
        notes.push(format!("{failures} failed {polls}: {}", failing_because()));
    }
    if last.peers == Probe::Value(0) {
        notes.push("no peers".to_owned());
    }
    if state == NodeState::Synced
        && let Some(age) = head_age.filter(|age| *age > thresholds.head_age_warn_ms())
    {
        notes.push(format!("head {} old", coarse_age(age)));
    }
    let reason = notes.join("; ");

    NodeJudgement {
        state,
        reason,
        lag,
        head_age_ms: head_age,
        blocks_in_window,
    }
}

/// One row of the Quorum node table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeView {
    /// Node name from the config.
    pub name: String,
    /// General or validator.
    pub role: NodeRole,
    /// `web3_clientVersion`, once known.
    pub client: Option<String>,
    /// Head block number of the last answer.
    pub height: Option<u64>,
    /// Blocks behind the best node.
    pub lag: Option<u64>,
    /// Age of the head block (ms).
    pub head_age_ms: Option<i64>,
    /// The head is older than [`QuorumThresholds::head_age_warn_secs`].
    pub head_age_warning: bool,
    /// `net_peerCount` of the last answer.
    pub peers: Probe<u64>,
    /// `eth_syncing` of the last answer.
    pub syncing: Probe<Option<SyncProgress>>,
    /// `txpool_status` of the last answer.
    pub txpool: Probe<TxPool>,
    /// New blocks over the stall window.
    pub blocks_in_window: Option<u64>,
    /// Round trip of the last answer (ms).
    pub latency_ms: Option<u64>,
    /// Failed polls since the last answer.
    pub consecutive_failures: u32,
    /// Why polls are failing, while they are.
    pub last_error: Option<String>,
    /// The judged state.
    pub state: NodeState,
    /// Why, in one line.
    pub reason: String,
}

/// The row for one node, judged against `best_height` (see [`best_height`]).
pub fn node_view(
    history: &NodeHistory,
    best_height: Option<u64>,
    now: EpochMs,
    thresholds: &QuorumThresholds,
) -> NodeView {
    let judgement = judge_node(history, best_height, now, thresholds);
    let last = history.last_answer();
    NodeView {
        name: history.name().to_owned(),
        role: history.role(),
        client: history.client_version().map(str::to_owned),
        height: history.height(),
        lag: judgement.lag,
        head_age_ms: judgement.head_age_ms,
        head_age_warning: judgement
            .head_age_ms
            .is_some_and(|age| age > thresholds.head_age_warn_ms()),
        peers: last.map(|s| s.peers.clone()).unwrap_or_default(),
        syncing: last.map(|s| s.syncing.clone()).unwrap_or_default(),
        txpool: last.map(|s| s.txpool.clone()).unwrap_or_default(),
        blocks_in_window: judgement.blocks_in_window,
        latency_ms: last.map(|s| s.latency_ms),
        consecutive_failures: history.consecutive_failures(),
        last_error: history.last_error().map(str::to_owned),
        state: judgement.state,
        reason: judgement.reason,
    }
}

/// The rows for a set of nodes that share a chain (an environment's or a cluster's),
/// each judged against the best of them, in the given order.
pub fn node_views<'a>(
    histories: impl IntoIterator<Item = &'a NodeHistory>,
    now: EpochMs,
    thresholds: &QuorumThresholds,
) -> Vec<NodeView> {
    let histories: Vec<&NodeHistory> = histories.into_iter().collect();
    let best = best_height(histories.iter().copied(), thresholds);
    histories
        .into_iter()
        .map(|h| node_view(h, best, now, thresholds))
        .collect()
}

/// "1 block", "3 blocks".
fn blocks(count: u64) -> String {
    if count == 1 {
        "1 block".to_owned()
    } else {
        format!("{count} blocks")
    }
}

fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::quorum::NodeSample;

    const T0: EpochMs = 1_700_000_000_000;

    fn answered(at: EpochMs, block: u64) -> NodeSample {
        NodeSample {
            at,
            reachable: true,
            block: Some(block),
            block_time: Some(at - 500),
            peers: Probe::Value(3),
            ..NodeSample::default()
        }
    }

    fn failed(at: EpochMs) -> NodeSample {
        NodeSample {
            at,
            reachable: false,
            error: Some("connection refused".into()),
            ..NodeSample::default()
        }
    }

    /// A node polled every second from T0 for `secs` seconds, one block per second from
    /// `start`.
    fn producing(name: &str, start: u64, secs: i64) -> NodeHistory {
        let mut h = NodeHistory::new(name, NodeRole::General);
        for s in 0..=secs {
            h.record(answered(T0 + s * 1000, start + s as u64));
        }
        h
    }

    fn th() -> QuorumThresholds {
        QuorumThresholds::default()
    }

    #[test]
    fn defaults_fit_a_ten_second_empty_block_period() {
        let t = th();
        assert_eq!(t.max_lag_blocks, 2);
        assert_eq!(t.stall_window_secs, 20);
        assert_eq!(t.down_after_failures, 3);
        assert!(t.head_age_warn_secs > 10);
    }

    #[test]
    fn thresholds_deserialize_with_defaults_and_reject_unknown_keys() {
        let t: QuorumThresholds = toml::from_str("max_lag_blocks = 5").expect("parse");
        assert_eq!(t.max_lag_blocks, 5);
        assert_eq!(t.stall_window_secs, 20);
        assert!(toml::from_str::<QuorumThresholds>("max_lag = 5").is_err());
    }

    #[test]
    fn a_node_that_was_never_polled_is_unknown() {
        let h = NodeHistory::new("g", NodeRole::General);
        let j = judge_node(&h, None, T0, &th());
        assert_eq!(j.state, NodeState::Unknown);
        assert_eq!(j.reason, "not polled yet");
    }

    #[test]
    fn a_node_that_never_answered_is_unknown_then_down() {
        let mut h = NodeHistory::new("g", NodeRole::General);
        h.record(failed(T0));
        let j = judge_node(&h, Some(10), T0, &th());
        assert_eq!(j.state, NodeState::Unknown);
        assert_eq!(j.reason, "no answer yet: connection refused");
        h.record(failed(T0 + 1000));
        h.record(failed(T0 + 2000));
        let j = judge_node(&h, Some(10), T0 + 2000, &th());
        assert_eq!(j.state, NodeState::Down);
        assert_eq!(j.reason, "no answer for 3 polls: connection refused");
    }

    #[test]
    fn synced_at_the_head() {
        let h = producing("g", 100, 30);
        let j = judge_node(&h, Some(130), T0 + 30_000, &th());
        assert_eq!(j.state, NodeState::Synced, "{}", j.reason);
        assert_eq!(j.reason, "at the head");
        assert_eq!(j.lag, Some(0));
        assert_eq!(j.head_age_ms, Some(500));
        assert_eq!(j.blocks_in_window, Some(20));
    }

    #[test]
    fn within_the_lag_threshold_is_synced() {
        let h = producing("g", 100, 30);
        let j = judge_node(&h, Some(132), T0 + 30_000, &th());
        assert_eq!(j.state, NodeState::Synced);
        assert_eq!(j.reason, "2 blocks behind");
    }

    #[test]
    fn behind_by_more_than_the_threshold_is_lagging() {
        let h = producing("g", 100, 30);
        let j = judge_node(&h, Some(133), T0 + 30_000, &th());
        assert_eq!(j.state, NodeState::Lagging);
        assert_eq!(j.reason, "3 blocks behind, catching up (+20 in 20s)");
        assert_eq!(j.lag, Some(3));
    }

    #[test]
    fn syncing_with_blocks_left_is_lagging_even_at_the_best_height() {
        let mut h = NodeHistory::new("g", NodeRole::General);
        h.record(NodeSample {
            syncing: Probe::Value(Some(SyncProgress {
                starting: 0,
                current: 50,
                highest: 900,
            })),
            ..answered(T0, 50)
        });
        let j = judge_node(&h, Some(50), T0, &th());
        assert_eq!(j.state, NodeState::Lagging);
        assert_eq!(j.reason, "syncing, 850 blocks left");
    }

    #[test]
    fn syncing_close_to_the_head_is_not_lagging() {
        let mut h = producing("g", 100, 30);
        h.record(NodeSample {
            syncing: Probe::Value(Some(SyncProgress {
                starting: 0,
                current: 131,
                highest: 132,
            })),
            ..answered(T0 + 31_000, 131)
        });
        let j = judge_node(&h, Some(131), T0 + 31_000, &th());
        assert_eq!(j.state, NodeState::Synced);
    }

    #[test]
    fn no_progress_over_the_window_is_stalled() {
        let mut h = producing("g", 100, 10);
        for s in 11..=40 {
            h.record(NodeSample {
                block_time: Some(T0 + 9_500),
                ..answered(T0 + s * 1000, 110)
            });
        }
        let j = judge_node(&h, Some(110), T0 + 40_000, &th());
        assert_eq!(j.state, NodeState::Stalled);
        assert_eq!(j.reason, "no new block in 20s");
        assert_eq!(j.blocks_in_window, Some(0));
    }

    #[test]
    fn a_stalled_node_becomes_lagging_when_the_others_move_on() {
        let mut h = producing("g", 100, 10);
        for s in 11..=40 {
            h.record(answered(T0 + s * 1000, 110));
        }
        let j = judge_node(&h, Some(140), T0 + 40_000, &th());
        assert_eq!(j.state, NodeState::Lagging);
        assert_eq!(j.reason, "30 blocks behind, no new block in 20s");
    }

    #[test]
    fn too_few_blocks_is_stalled_with_a_higher_minimum() {
        let mut h = producing("g", 100, 0);
        for s in 1..=20 {
            h.record(answered(T0 + s * 1000, 100 + (s as u64) / 15));
        }
        let t = QuorumThresholds {
            min_blocks_in_window: 2,
            ..th()
        };
        let j = judge_node(&h, Some(101), T0 + 20_000, &t);
        assert_eq!(j.state, NodeState::Stalled);
        assert_eq!(j.reason, "only 1 new block in 20s");
    }

    #[test]
    fn an_idle_chain_with_empty_blocks_every_ten_seconds_is_synced() {
        let mut h = NodeHistory::new("g", NodeRole::General);
        for s in 0..60 {
            let block = 100 + (s as u64) / 10;
            let block_time = T0 + (s / 10) * 10_000;
            h.record(NodeSample {
                block_time: Some(block_time),
                ..answered(T0 + s * 1000, block)
            });
        }
        let now = T0 + 59_000;
        let j = judge_node(&h, Some(105), now, &th());
        assert_eq!(j.state, NodeState::Synced, "{}", j.reason);
        assert_eq!(j.reason, "at the head", "a 9 s old head is normal");
    }

    #[test]
    fn a_judgement_says_when_the_clock_alone_changes_it() {
        // A node that answered for ten seconds with a new block each, then stopped: its
        // verdict turns as the head ages and the window slides past its last blocks.
        let h = producing("g", 100, 10);
        let verdict = |now| {
            let j = judge_node(&h, Some(110), now, &th());
            (j.state, j.reason, j.blocks_in_window)
        };
        let mut now = T0 + 10_000;
        let mut turns = Vec::new();
        for _ in 0..40 {
            let (before, next) = crate::clock::watch_changes(|| verdict(now));
            let Some(ms) = next else { break };
            assert_eq!(
                verdict(now + ms - 1),
                before,
                "no change before the time told"
            );
            now += ms;
            let after = verdict(now);
            if after != before {
                turns.push((now - T0, after.0));
            }
        }

        assert_eq!(
            verdict(now + 3_600_000),
            verdict(now),
            "nothing changes once nothing is noted"
        );
        // The window slides past the blocks from 20 s on (one a second), the head turns
        // old at 15 s of age (last block 9.5 s in), and the node stalls when the window
        // holds no new block.
        assert_eq!(
            turns.first(),
            Some(&(20_000, NodeState::Synced)),
            "{turns:?}"
        );
        assert!(turns.contains(&(24_501, NodeState::Synced)), "{turns:?}");
        assert_eq!(
            turns.last(),
            Some(&(30_000, NodeState::Stalled)),
            "{turns:?}"
        );
    }

    #[test]
    fn with_little_history_an_old_head_is_stalled() {
        let mut h = NodeHistory::new("g", NodeRole::General);
        h.record(NodeSample {
            block_time: Some(T0 - 3_600_000),
            ..answered(T0, 100)
        });
        let j = judge_node(&h, Some(100), T0, &th());
        assert_eq!(j.state, NodeState::Stalled);
        assert_eq!(j.reason, "no new block in 20s");
        assert_eq!(j.blocks_in_window, None);
    }

    #[test]
    fn with_little_history_a_fresh_head_is_synced() {
        let mut h = NodeHistory::new("g", NodeRole::General);
        h.record(answered(T0, 100));
        let j = judge_node(&h, Some(100), T0, &th());
        assert_eq!(j.state, NodeState::Synced);
    }

    #[test]
    fn a_few_failed_polls_keep_the_judgement_and_say_so() {
        let mut h = producing("g", 100, 30);
        h.record(failed(T0 + 31_000));
        let j = judge_node(&h, Some(130), T0 + 31_000, &th());
        assert_eq!(j.state, NodeState::Synced);
        assert_eq!(j.reason, "at the head; 1 failed poll: connection refused");
        h.record(failed(T0 + 32_000));
        let j = judge_node(&h, Some(130), T0 + 32_000, &th());
        assert!(
            j.reason.ends_with("2 failed polls: connection refused"),
            "{}",
            j.reason
        );
    }

    #[test]
    fn down_after_consecutive_failures_and_up_again() {
        let mut h = producing("g", 100, 30);
        for s in 31..=33 {
            h.record(failed(T0 + s * 1000));
        }
        let j = judge_node(&h, Some(133), T0 + 33_000, &th());
        assert_eq!(j.state, NodeState::Down);
        assert_eq!(j.lag, None);
        h.record(answered(T0 + 34_000, 134));
        let j = judge_node(&h, Some(134), T0 + 34_000, &th());
        assert_eq!(j.state, NodeState::Synced, "{}", j.reason);
    }

    #[test]
    fn no_peers_and_an_old_head_are_mentioned() {
        let mut h = producing("g", 100, 30);
        h.record(NodeSample {
            peers: Probe::Value(0),
            block_time: Some(T0 + 14_000),
            ..answered(T0 + 31_000, 131)
        });
        let j = judge_node(&h, Some(131), T0 + 31_000, &th());
        assert_eq!(j.state, NodeState::Synced);
        assert_eq!(j.reason, "at the head; no peers; head 10s old");
    }

    #[test]
    fn the_best_height_ignores_nodes_that_are_down() {
        let up = producing("a", 100, 5);
        let mut down = producing("b", 200, 5);
        for s in 6..=8 {
            down.record(failed(T0 + s * 1000));
        }
        assert_eq!(best_height([&up, &down], &th()), Some(105));
        assert_eq!(best_height([], &th()), None);
    }

    #[test]
    fn rows_for_the_table() {
        let mut a = producing("general-1", 100, 30);
        a.record(NodeSample {
            client_version: Probe::Value("Geth/v1.10.3-stable(quorum-v22.7.0)".into()),
            txpool: Probe::Value(TxPool {
                pending: 4,
                queued: 1,
            }),
            syncing: Probe::Value(None),
            latency_ms: 12,
            ..answered(T0 + 31_000, 131)
        });
        let b = producing("general-2", 90, 30);
        let rows = node_views([&a, &b], T0 + 31_000, &th());
        assert_eq!(rows.len(), 2);
        let first = &rows[0];
        assert_eq!(first.name, "general-1");
        assert_eq!(
            first.client.as_deref(),
            Some("Geth/v1.10.3-stable(quorum-v22.7.0)")
        );
        assert_eq!(first.height, Some(131));
        assert_eq!(first.lag, Some(0));
        assert_eq!(first.peers, Probe::Value(3));
        assert_eq!(first.syncing, Probe::Value(None));
        assert_eq!(first.txpool.value().map(|t| t.pending), Some(4));
        assert_eq!(first.latency_ms, Some(12));
        assert_eq!(first.state, NodeState::Synced);
        let second = &rows[1];
        assert_eq!(second.lag, Some(11));
        assert_eq!(second.state, NodeState::Lagging);
        assert_eq!(second.txpool, Probe::NotAsked);
    }

    #[test]
    fn rows_of_nodes_without_answers() {
        let mut h = NodeHistory::new("v1", NodeRole::Validator);
        h.record(failed(T0));
        let row = node_view(&h, None, T0, &th());
        assert_eq!(row.state, NodeState::Unknown);
        assert_eq!(row.height, None);
        assert_eq!(row.latency_ms, None);
        assert_eq!(row.consecutive_failures, 1);
        assert_eq!(row.last_error.as_deref(), Some("connection refused"));
        assert!(!row.head_age_warning);
    }
}
