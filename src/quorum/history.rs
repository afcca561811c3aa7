//! What the monitor remembers of one node: a bounded ring of observed heights, the last
//! answer, and how many polls in a row have failed.
//!
//! The poll loop [`NodeHistory::record`]s every sample; the judgement reads it. Heights are
//! kept as small [`HeightPoint`]s (time and height), not whole samples, so ten minutes of
//! one-second polls of a dozen nodes stay small. No I/O and no clock reads: every question
//! that depends on time takes the time as an argument.

use std::collections::VecDeque;

use serde::Serialize;

use crate::clock::EpochMs;
use crate::model::quorum::{NodeRole, NodeSample, Probe};

/// Height points kept per node by default: ten minutes of one-second polls.
pub const DEFAULT_HISTORY_POINTS: usize = 600;

/// The fewest points a history keeps (progress needs two).
const MIN_HISTORY_POINTS: usize = 2;

/// A node's height as observed by one answered poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HeightPoint {
    /// When the poll finished.
    pub at: EpochMs,
    /// The node's head block number.
    pub block: u64,
}

/// What the monitor remembers of one node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeHistory {
    name: String,
    role: NodeRole,
    capacity: usize,
    points: VecDeque<HeightPoint>,
    last_answer: Option<NodeSample>,
    last_error: Option<String>,
    consecutive_failures: u32,
    client_version: Option<String>,
    signer: Option<String>,
}

impl NodeHistory {
    /// An empty history for the node `name`, keeping [`DEFAULT_HISTORY_POINTS`] heights.
    pub fn new(name: impl Into<String>, role: NodeRole) -> Self {
        Self {
            name: name.into(),
            role,
            capacity: DEFAULT_HISTORY_POINTS,
            points: VecDeque::new(),
            last_answer: None,
            last_error: None,
            consecutive_failures: 0,
            client_version: None,
            signer: None,
        }
    }

    /// Keeps at most `points` heights (at least two).
    #[must_use]
    pub fn with_capacity(mut self, points: usize) -> Self {
        self.capacity = points.max(MIN_HISTORY_POINTS);
        self.trim();
        self
    }

    /// Adds one poll. A poll counts as answered when the node was reachable and reported
    /// a block number; anything else is a failure.
    pub fn record(&mut self, sample: NodeSample) {
        let Some(block) = sample.block.filter(|_| sample.reachable) else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.last_error = Some(sample.error.unwrap_or_else(|| "no answer".to_owned()));
            return;
        };
        self.consecutive_failures = 0;
        self.last_error = None;
        let point = HeightPoint {
            at: sample.at,
            block,
        };
        // Polls may finish out of order; keep the ring sorted by time.
        let position = self.points.partition_point(|p| p.at <= point.at);
        self.points.insert(position, point);
        self.trim();
        if let Probe::Value(version) = &sample.client_version {
            self.client_version = Some(version.clone());
        }
        if let Probe::Value(signer) = &sample.signer {
            self.signer = Some(signer.clone());
        }
        let newer = self
            .last_answer
            .as_ref()
            .is_none_or(|last| last.at <= sample.at);
        if newer {
            self.last_answer = Some(sample);
        }
    }

    fn trim(&mut self) {
        while self.points.len() > self.capacity {
            self.points.pop_front();
        }
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node's role.
    pub fn role(&self) -> NodeRole {
        self.role
    }

    /// The newest answered poll.
    pub fn last_answer(&self) -> Option<&NodeSample> {
        self.last_answer.as_ref()
    }

    /// The height of the newest answered poll.
    pub fn height(&self) -> Option<u64> {
        self.last_answer.as_ref().and_then(|s| s.block)
    }

    /// The observed heights, oldest first.
    pub fn points(&self) -> &VecDeque<HeightPoint> {
        &self.points
    }

    /// Failed polls since the last answered one.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// Why the last poll failed, while polls are failing.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Whether the newest poll answered (and at least one has).
    pub fn is_answering(&self) -> bool {
        self.consecutive_failures == 0 && self.last_answer.is_some()
    }

    /// `web3_clientVersion`, once known (it is asked once, so it is kept here).
    pub fn client_version(&self) -> Option<&str> {
        self.client_version.as_deref()
    }

    /// A validator's signing address, once known.
    pub fn signer(&self) -> Option<&str> {
        self.signer.as_deref()
    }

    /// Whether the next poll should ask the once-only things (client version, and a
    /// validator's signing address): true until they have been answered.
    pub fn wants_first_probes(&self) -> bool {
        self.client_version.is_none()
    }

    /// Blocks the node added between `from` and `to` (both epoch ms), as observed by the
    /// polls; `None` when no poll answered at or before `from` (the history does not
    /// reach back that far). A height that goes down (a node reset to an empty chain)
    /// counts as no progress, and the climb after it counts again.
    pub fn blocks_between(&self, from: EpochMs, to: EpochMs) -> Option<u64> {
        let start = self.points.partition_point(|p| p.at <= from);
        let baseline = start.checked_sub(1).and_then(|i| self.points.get(i))?;
        let end = self.points.partition_point(|p| p.at <= to);
        let mut previous = baseline.block;
        let mut total = 0_u64;
        for point in self.points.range(start..end.max(start)) {
            total = total.saturating_add(point.block.saturating_sub(previous));
            previous = point.block;
        }
        Some(total)
    }

    /// How soon (ms after `now`) counting blocks over windows that slide with the clock
    /// gives another answer with no new poll: windows whose edges lie `step_ms` apart and
    /// reach `span_ms` (a multiple of `step_ms`) back from `now`, as the judgement's window
    /// ([`Self::blocks_between`] from `now - span_ms` to `now`, one step) or a sparkline's
    /// buckets. An answer changes when a point whose height differs from the one before
    /// crosses an edge, or when the first point passes an edge (a window gains the height
    /// it counts from). `None` when no such point is left to cross one.
    pub fn slide_changes_in(&self, now: EpochMs, step_ms: i64, span_ms: i64) -> Option<i64> {
        if step_ms <= 0 {
            return None;
        }
        let mut soonest: Option<i64> = None;
        let mut previous: Option<u64> = None;
        for point in &self.points {
            let moved = previous.is_none_or(|height| height != point.block);
            previous = Some(point.block);
            let age = now.saturating_sub(point.at);
            if !moved || age >= span_ms {
                continue;
            }
            let until = if age < 0 {
                -age
            } else {
                step_ms - age % step_ms
            };
            soonest = Some(soonest.map_or(until, |s| s.min(until)));
        }
        soonest
    }
}

/// Blocks per interval for a sparkline: `count` buckets of `interval_ms` each, oldest
/// first, the last one ending at `now`. A bucket the history does not reach back to is
/// `None`. Notes when the buckets change with the clock alone
/// ([`crate::clock::note_change_in`]).
pub fn blocks_per_interval(
    history: &NodeHistory,
    now: EpochMs,
    interval_ms: i64,
    count: usize,
) -> Vec<Option<u64>> {
    if interval_ms <= 0 {
        return vec![None; count];
    }
    let span = i64::try_from(count)
        .unwrap_or(i64::MAX)
        .saturating_mul(interval_ms);
    if crate::clock::watching_changes()
        && let Some(ms) = history.slide_changes_in(now, interval_ms, span)
    {
        crate::clock::note_change_in(ms);
    }
    (0..count)
        .map(|i| {
            let buckets_back = i64::try_from(count - i).unwrap_or(i64::MAX);
            let from = now.saturating_sub(buckets_back.saturating_mul(interval_ms));
            history.blocks_between(from, from.saturating_add(interval_ms))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn answered(at: EpochMs, block: u64) -> NodeSample {
        NodeSample {
            at,
            reachable: true,
            block: Some(block),
            ..NodeSample::default()
        }
    }

    fn failed(at: EpochMs, error: &str) -> NodeSample {
        NodeSample {
            at,
            reachable: false,
            error: Some(error.to_owned()),
            ..NodeSample::default()
        }
    }

    #[test]
    fn sliding_windows_tell_when_their_count_changes() {
        let mut h = NodeHistory::new("general-1", NodeRole::General);
        assert_eq!(h.slide_changes_in(5_000, 10_000, 10_000), None);
        for (at, block) in [(1_000, 5), (2_000, 5), (3_000, 6), (4_000, 6)] {
            h.record(answered(at, block));
        }
        // One 10 s window: the first point reaches its far edge in 6 s (the window then
        // has a height to count from), the new block at 3 s leaves it in 8 s.
        assert_eq!(h.slide_changes_in(5_000, 10_000, 10_000), Some(6_000));
        assert_eq!(h.slide_changes_in(11_000, 10_000, 10_000), Some(2_000));
        // Buckets of 1 s: the next edge either point meets.
        assert_eq!(h.slide_changes_in(5_500, 1_000, 10_000), Some(500));
        // Everything older than the span: no count changes any more.
        assert_eq!(h.slide_changes_in(20_000, 10_000, 10_000), None);
        // A point not reached yet (a poll stamped after the time drawn) enters at its time.
        h.record(answered(21_000, 7));
        assert_eq!(h.slide_changes_in(20_000, 10_000, 10_000), Some(1_000));
    }

    #[test]
    fn failures_count_until_an_answer() {
        let mut h = NodeHistory::new("general-1", NodeRole::General);
        assert!(!h.is_answering());
        h.record(answered(1000, 5));
        assert!(h.is_answering());
        h.record(failed(2000, "connection refused"));
        h.record(failed(3000, "connection refused"));
        assert_eq!(h.consecutive_failures(), 2);
        assert_eq!(h.last_error(), Some("connection refused"));
        assert_eq!(h.height(), Some(5), "the last answer is kept");
        h.record(answered(4000, 6));
        assert_eq!(h.consecutive_failures(), 0);
        assert_eq!(h.last_error(), None);
        assert_eq!(h.height(), Some(6));
    }

    #[test]
    fn a_reachable_node_without_a_block_number_is_a_failure() {
        let mut h = NodeHistory::new("v1", NodeRole::Validator);
        h.record(NodeSample {
            at: 1,
            reachable: true,
            error: Some("eth_blockNumber: internal".into()),
            ..NodeSample::default()
        });
        assert_eq!(h.consecutive_failures(), 1);
        assert_eq!(h.last_error(), Some("eth_blockNumber: internal"));
    }

    #[test]
    fn the_ring_is_bounded_and_sorted() {
        let mut h = NodeHistory::new("g", NodeRole::General).with_capacity(3);
        for (at, block) in [(1000, 1), (3000, 3), (2000, 2), (4000, 4)] {
            h.record(answered(at, block));
        }
        let ats: Vec<_> = h.points().iter().map(|p| p.at).collect();
        assert_eq!(ats, [2000, 3000, 4000]);
        assert_eq!(h.height(), Some(4));
        h.record(answered(3500, 9));
        assert_eq!(
            h.height(),
            Some(4),
            "an older poll does not replace the newest"
        );
    }

    #[test]
    fn once_only_answers_are_kept() {
        let mut h = NodeHistory::new("v1", NodeRole::Validator);
        assert!(h.wants_first_probes());
        h.record(NodeSample {
            client_version: Probe::Value("Geth/v1.10.3".into()),
            signer: Probe::Value("0xaa".into()),
            ..answered(1000, 1)
        });
        h.record(answered(2000, 2));
        assert!(!h.wants_first_probes());
        assert_eq!(h.client_version(), Some("Geth/v1.10.3"));
        assert_eq!(h.signer(), Some("0xaa"));
    }

    #[test]
    fn progress_between_two_times() {
        let mut h = NodeHistory::new("g", NodeRole::General);
        for (at, block) in [(0, 10), (1000, 10), (2000, 11), (3000, 13), (4000, 13)] {
            h.record(answered(at, block));
        }
        assert_eq!(h.blocks_between(0, 4000), Some(3));
        assert_eq!(
            h.blocks_between(1500, 4000),
            Some(3),
            "baseline is the poll at 1000"
        );
        assert_eq!(h.blocks_between(3000, 4000), Some(0));
        assert_eq!(h.blocks_between(-1, 4000), None, "no poll that early");
        assert_eq!(h.blocks_between(4000, 1000), Some(0));
    }

    #[test]
    fn a_reset_chain_counts_its_new_blocks() {
        let mut h = NodeHistory::new("g", NodeRole::General);
        for (at, block) in [(0, 50), (1000, 51), (2000, 0), (3000, 2)] {
            h.record(answered(at, block));
        }
        assert_eq!(h.blocks_between(0, 3000), Some(3));
    }

    #[test]
    fn sparkline_buckets() {
        let mut h = NodeHistory::new("g", NodeRole::General);
        for second in 0..=10 {
            h.record(answered(second * 1000, (second / 2) as u64));
        }
        // Buckets of 2 s ending at 10 s: (0,2] (2,4] (4,6] (6,8] (8,10], plus one too old.
        assert_eq!(
            blocks_per_interval(&h, 10_000, 2000, 6),
            [None, Some(1), Some(1), Some(1), Some(1), Some(1)]
        );
        assert_eq!(blocks_per_interval(&h, 10_000, 0, 2), [None, None]);
        assert!(blocks_per_interval(&h, 10_000, 1000, 0).is_empty());
    }
}
