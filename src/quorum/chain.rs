//! The judgement of one chain from its validators: how many there are, how many answer
//! and propose, and how many more failures QBFT can take before blocks stop.
//!
//! QBFT (like IBFT before it) with `n` validators keeps making blocks while at most
//! `f = floor((n - 1) / 3)` of them are faulty: four validators tolerate one. A validator
//! counts as faulty when it is down, lagging or stalled, or when the consensus' own
//! proposer activity (`istanbul_status`, the last 64 blocks) shows fewer proposers than
//! validators. That activity trails by up to 64 blocks (about ten minutes of empty
//! blocks), so a validator that just died still shows as proposing; its polls tell first.
//! Pure: no I/O, no clock reads.

use serde::Serialize;

use super::{NodeHistory, NodeJudgement, QuorumThresholds, best_height, head_age_ms, judge_node};
use crate::clock::EpochMs;
use crate::model::Health;
use crate::model::quorum::{NodeRole, NodeState};

/// One validator as the chain view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidatorView {
    /// Node name from the config.
    pub name: String,
    /// Its signing address (`istanbul_nodeAddress`), once known.
    pub address: Option<String>,
    /// Its judged state.
    pub state: NodeState,
    /// Whether its last poll answered.
    pub answering: bool,
    /// Blocks it proposed in the consensus' recent window, when known.
    pub proposed: Option<u64>,
}

/// The state of one chain, judged from its validators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainView {
    /// Validators in the config.
    pub validators_configured: usize,
    /// Validators in the consensus' own set (`istanbul_getValidators`), when a node says.
    pub validators_known: Option<usize>,
    /// Configured validators whose last poll answered.
    pub reachable: usize,
    /// Validators that proposed a block in the consensus' recent window, when known.
    pub producing: Option<usize>,
    /// Failures the chain tolerates: `floor((n - 1) / 3)`.
    pub fault_tolerance: usize,
    /// Failures it can still take now; negative when blocks cannot be made.
    pub faults_left: i64,
    /// Highest head among the validators that are not down.
    pub best_height: Option<u64>,
    /// Age of that head (ms).
    pub best_head_age_ms: Option<i64>,
    /// The configured validators, in config order.
    pub validators: Vec<ValidatorView>,
    /// The verdict.
    pub health: Health,
    /// Why, in one line.
    pub reason: String,
}

/// Failures a QBFT/IBFT chain of `validators` tolerates: `floor((n - 1) / 3)`.
pub fn fault_tolerance(validators: usize) -> usize {
    validators.saturating_sub(1) / 3
}

/// Judges the chain of the validators among `histories` (other roles are ignored).
pub fn judge_chain<'a>(
    histories: impl IntoIterator<Item = &'a NodeHistory>,
    now: EpochMs,
    thresholds: &QuorumThresholds,
) -> ChainView {
    let validators: Vec<&NodeHistory> = histories
        .into_iter()
        .filter(|h| h.role() == NodeRole::Validator)
        .collect();
    let best = best_height(validators.iter().copied(), thresholds);
    let judgements: Vec<NodeJudgement> = validators
        .iter()
        .map(|h| judge_node(h, best, now, thresholds))
        .collect();

    // What the consensus says, from the answering validator with the highest head.
    let mut informed: Vec<&NodeHistory> = validators
        .iter()
        .copied()
        .filter(|h| h.is_answering())
        .collect();
    informed.sort_by_key(|h| std::cmp::Reverse(h.height()));
    let set = informed
        .iter()
        .find_map(|h| h.last_answer()?.validators.value().cloned());
    let activity = informed
        .iter()
        .find_map(|h| h.last_answer()?.proposers.value().cloned());
    let proposed_by = |address: &str| {
        activity.as_ref().map(|a| {
            a.iter()
                .find(|(who, _)| who == address)
                .map_or(0, |(_, n)| *n)
        })
    };
    let producing = activity.as_ref().map(|activity| match &set {
        Some(set) => set
            .iter()
            .filter(|address| proposed_by(address).is_some_and(|n| n > 0))
            .count(),
        None => activity.iter().filter(|(_, n)| *n > 0).count(),
    });

    let configured = validators.len();
    let n = set.as_ref().map_or(configured, Vec::len);
    let tolerance = fault_tolerance(n);
    let reachable = validators.iter().filter(|h| h.is_answering()).count();
    let unhealthy: Vec<(&str, NodeState)> = validators
        .iter()
        .zip(&judgements)
        .filter(|(_, j)| {
            matches!(
                j.state,
                NodeState::Down | NodeState::Lagging | NodeState::Stalled
            )
        })
        .map(|(h, j)| (h.name(), j.state))
        .collect();
    let waiting = judgements
        .iter()
        .filter(|j| j.state == NodeState::Unknown)
        .count();
    let not_proposing = producing.map_or(0, |p| n.saturating_sub(p));
    let faulty = unhealthy.len().max(not_proposing);
    let faults_left = to_i64(tolerance) - to_i64(faulty);

    let head = validators
        .iter()
        .zip(&judgements)
        .filter(|(h, j)| j.state != NodeState::Down && h.height().is_some())
        .max_by_key(|(h, _)| h.height());
    let best_head_age_ms = head.and_then(|(h, _)| head_age_ms(h, now));
    let chain_stopped = head
        .filter(|(_, j)| j.state == NodeState::Stalled)
        .map(|(_, j)| j.reason.clone());

    let (health, reason) = if configured == 0 {
        (Health::Unknown, "no validators configured".to_owned())
    } else if reachable == 0 && judgements.iter().any(|j| j.state == NodeState::Down) {
        (Health::Down, "no validator answers".to_owned())
    } else if reachable == 0 {
        (Health::Unknown, "waiting for the validators".to_owned())
    } else if let Some(why) = chain_stopped {
        (Health::Down, format!("chain stopped: {why}"))
    } else if faulty > 0 {
        let mut problems: Vec<String> = unhealthy
            .iter()
            .map(|(name, state)| format!("{name} {}", state.as_str()))
            .collect();
        if not_proposing > unhealthy.len() {
            problems.push(format!("{not_proposing} of {n} not proposing"));
        }
        let outlook = match faults_left {
            left if left < 0 => {
                format!("more than the {tolerance} QBFT tolerates: no blocks until they recover")
            }
            0 => "one more failure stops the chain".to_owned(),
            left => format!("tolerates {left} more"),
        };
        let health = if faults_left < 0 {
            Health::Down
        } else {
            Health::Degraded
        };
        (health, format!("{}; {outlook}", problems.join(", ")))
    } else if waiting > 0 {
        (
            Health::Unknown,
            format!("waiting for {waiting} of {configured} validators"),
        )
    } else {
        let doing = if producing.is_some() {
            "producing"
        } else {
            "answering"
        };
        let failures = if tolerance == 1 {
            "failure"
        } else {
            "failures"
        };
        (
            Health::Ok,
            format!("{n} of {n} validators {doing}; tolerates {tolerance} {failures}"),
        )
    };

    ChainView {
        validators_configured: configured,
        validators_known: set.as_ref().map(Vec::len),
        reachable,
        producing,
        fault_tolerance: tolerance,
        faults_left,
        best_height: best,
        best_head_age_ms,
        validators: validators
            .iter()
            .zip(&judgements)
            .map(|(h, j)| ValidatorView {
                name: h.name().to_owned(),
                address: h.signer().map(str::to_owned),
                state: j.state,
                answering: h.is_answering(),
                proposed: h.signer().and_then(proposed_by),
            })
            .collect(),
        health,
        reason,
    }
}

fn to_i64(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::quorum::{NodeSample, Probe};

    const T0: EpochMs = 1_700_000_000_000;
    const ADDRESSES: [&str; 4] = ["0xa1", "0xa2", "0xa3", "0xa4"];

    fn activity(counts: [u64; 4]) -> Vec<(String, u64)> {
        ADDRESSES
            .iter()
            .zip(counts)
            .map(|(a, n)| ((*a).to_owned(), n))
            .collect()
    }

    /// Validator `i` (0-based) polled every second for 30 s, producing one block a second,
    /// reporting the given proposer activity (or none, like anvil).
    fn validator(i: usize, proposals: Option<[u64; 4]>) -> NodeHistory {
        let mut h = NodeHistory::new(format!("validator-{}", i + 1), NodeRole::Validator);
        for s in 0..=30 {
            let (validators, proposers) = match proposals {
                Some(counts) => (
                    Probe::Value(ADDRESSES.iter().map(|a| (*a).to_owned()).collect()),
                    Probe::Value(activity(counts)),
                ),
                None => (Probe::NotAvailable, Probe::NotAvailable),
            };
            h.record(NodeSample {
                at: T0 + s * 1000,
                reachable: true,
                block: Some(100 + s as u64),
                block_time: Some(T0 + s * 1000 - 300),
                signer: if s == 0 {
                    Probe::Value(ADDRESSES[i].to_owned())
                } else {
                    Probe::NotAsked
                },
                validators,
                proposers,
                ..NodeSample::default()
            });
        }
        h
    }

    fn four(proposals: Option<[u64; 4]>) -> Vec<NodeHistory> {
        (0..4).map(|i| validator(i, proposals)).collect()
    }

    fn go_down(h: &mut NodeHistory) {
        for s in 31..=33 {
            h.record(NodeSample {
                at: T0 + s * 1000,
                reachable: false,
                error: Some("connection refused".into()),
                ..NodeSample::default()
            });
        }
    }

    const NOW: EpochMs = T0 + 30_000;

    fn judge(histories: &[NodeHistory]) -> ChainView {
        judge_chain(histories, NOW, &QuorumThresholds::default())
    }

    #[test]
    fn tolerance_is_a_third_of_the_rest() {
        let table: Vec<usize> = [0, 1, 2, 3, 4, 5, 6, 7, 10].map(fault_tolerance).into();
        assert_eq!(table, [0, 0, 0, 0, 1, 1, 1, 2, 3]);
    }

    #[test]
    fn four_producing_validators_are_ok() {
        let chain = judge(&four(Some([16, 16, 16, 16])));
        assert_eq!(chain.health, Health::Ok);
        assert_eq!(
            chain.reason,
            "4 of 4 validators producing; tolerates 1 failure"
        );
        assert_eq!(chain.validators_known, Some(4));
        assert_eq!(chain.reachable, 4);
        assert_eq!(chain.producing, Some(4));
        assert_eq!(chain.fault_tolerance, 1);
        assert_eq!(chain.faults_left, 1);
        assert_eq!(chain.best_height, Some(130));
        assert_eq!(chain.best_head_age_ms, Some(300));
        assert_eq!(chain.validators[2].address.as_deref(), Some("0xa3"));
        assert_eq!(chain.validators[2].proposed, Some(16));
    }

    #[test]
    fn one_validator_down_leaves_no_margin() {
        let mut histories = four(Some([16, 16, 16, 16]));
        go_down(&mut histories[2]);
        let chain = judge_chain(&histories, T0 + 33_000, &QuorumThresholds::default());
        assert_eq!(chain.health, Health::Degraded);
        assert_eq!(
            chain.reason,
            "validator-3 down; one more failure stops the chain"
        );
        assert_eq!(chain.reachable, 3);
        assert_eq!(chain.faults_left, 0);
        assert!(!chain.validators[2].answering);
        assert_eq!(chain.validators[2].state, NodeState::Down);
    }

    #[test]
    fn two_validators_down_stop_the_chain() {
        let mut histories = four(Some([16, 16, 16, 16]));
        go_down(&mut histories[0]);
        go_down(&mut histories[1]);
        let chain = judge_chain(&histories, T0 + 33_000, &QuorumThresholds::default());
        assert_eq!(chain.health, Health::Down);
        assert_eq!(chain.faults_left, -1);
        assert_eq!(
            chain.reason,
            "validator-1 down, validator-2 down; more than the 1 QBFT tolerates: \
             no blocks until they recover"
        );
    }

    #[test]
    fn a_validator_that_does_not_propose_is_a_fault() {
        let chain = judge(&four(Some([21, 21, 0, 22])));
        assert_eq!(chain.health, Health::Degraded);
        assert_eq!(chain.producing, Some(3));
        assert_eq!(
            chain.reason,
            "1 of 4 not proposing; one more failure stops the chain"
        );
        assert_eq!(chain.validators[2].proposed, Some(0));
    }

    #[test]
    fn a_lagging_validator_is_a_fault() {
        let mut histories = four(Some([16, 16, 16, 16]));
        let mut behind = NodeHistory::new("validator-4", NodeRole::Validator);
        for s in 0..=30 {
            behind.record(NodeSample {
                at: T0 + s * 1000,
                reachable: true,
                block: Some(50 + s as u64),
                ..NodeSample::default()
            });
        }
        histories[3] = behind;
        let chain = judge(&histories);
        assert_eq!(chain.health, Health::Degraded);
        assert_eq!(
            chain.reason,
            "validator-4 lagging; one more failure stops the chain"
        );
    }

    #[test]
    fn a_chain_without_new_blocks_has_stopped() {
        let mut histories = four(Some([16, 16, 16, 16]));
        for h in &mut histories {
            for s in 31..=60 {
                h.record(NodeSample {
                    at: T0 + s * 1000,
                    reachable: true,
                    block: Some(130),
                    block_time: Some(T0 + 29_700),
                    ..NodeSample::default()
                });
            }
        }
        let chain = judge_chain(&histories, T0 + 60_000, &QuorumThresholds::default());
        assert_eq!(chain.health, Health::Down);
        assert_eq!(chain.reason, "chain stopped: no new block in 20s");
        assert_eq!(chain.best_head_age_ms, Some(30_300));
    }

    #[test]
    fn without_istanbul_the_configured_validators_count() {
        let chain = judge(&four(None));
        assert_eq!(chain.validators_known, None);
        assert_eq!(chain.producing, None);
        assert_eq!(chain.health, Health::Ok);
        assert_eq!(
            chain.reason,
            "4 of 4 validators answering; tolerates 1 failure"
        );
        assert_eq!(chain.validators[0].proposed, None);
    }

    #[test]
    fn general_nodes_are_not_validators() {
        let mut histories = four(Some([16, 16, 16, 16]));
        let mut general = NodeHistory::new("general-1", NodeRole::General);
        go_down(&mut general);
        histories.push(general);
        let chain = judge_chain(&histories, T0 + 33_000, &QuorumThresholds::default());
        assert_eq!(chain.validators_configured, 4);
        assert_eq!(chain.health, Health::Ok);
    }

    #[test]
    fn no_validators_or_no_answers_yet() {
        let chain = judge(&[]);
        assert_eq!(chain.health, Health::Unknown);
        assert_eq!(chain.reason, "no validators configured");
        let fresh: Vec<NodeHistory> = (1..=4)
            .map(|i| NodeHistory::new(format!("validator-{i}"), NodeRole::Validator))
            .collect();
        let chain = judge(&fresh);
        assert_eq!(chain.health, Health::Unknown);
        assert_eq!(chain.reason, "waiting for the validators");
    }

    #[test]
    fn some_validators_not_polled_yet() {
        let mut histories = four(Some([16, 16, 16, 16]));
        histories[3] = NodeHistory::new("validator-4", NodeRole::Validator);
        let chain = judge(&histories);
        assert_eq!(chain.health, Health::Unknown);
        assert_eq!(chain.reason, "waiting for 1 of 4 validators");
    }

    #[test]
    fn every_validator_down() {
        let mut histories = four(Some([16, 16, 16, 16]));
        for h in &mut histories {
            go_down(h);
        }
        let chain = judge_chain(&histories, T0 + 33_000, &QuorumThresholds::default());
        assert_eq!(chain.health, Health::Down);
        assert_eq!(chain.reason, "no validator answers");
        assert_eq!(chain.best_height, None);
    }
}
