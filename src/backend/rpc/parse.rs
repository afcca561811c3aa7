//! Reading JSON-RPC answers into the model's shapes, carefully.
//!
//! Nodes are not all the same (GoQuorum, its ibet fork, Besu, anvil) and an answer may be
//! odd: quantities as hex strings or plain numbers, `null` where a block was expected,
//! timestamps in nanoseconds (Raft-era Quorum). Every function here is pure, total and
//! returns a short description of what was unexpected instead of panicking. Nothing here
//! does I/O.

use serde_json::Value;

use crate::clock::EpochMs;
use crate::model::quorum::{SyncProgress, TxPool};

/// How much of an unexpected answer an error message quotes.
const QUOTE_CHARS: usize = 60;

/// The head block as `eth_getBlockByNumber("latest", false)` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeadBlock {
    /// Block number.
    pub number: u64,
    /// Block hash, lowercase.
    pub hash: Option<String>,
    /// Block timestamp in milliseconds since the epoch.
    pub time: Option<EpochMs>,
}

/// A hex quantity string (`"0x1b"`) as a number; `None` for anything else, including
/// `"0x"`, signs, non-hex digits and values beyond `u64`.
pub(crate) fn hex_quantity(text: &str) -> Option<u64> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let significant = digits.trim_start_matches('0');
    if significant.len() > 16 {
        return None;
    }
    if significant.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(significant, 16).ok()
}

/// A quantity given either as a hex string or as a non-negative JSON integer.
pub(crate) fn quantity(value: &Value) -> Option<u64> {
    match value {
        Value::String(text) => hex_quantity(text),
        Value::Number(number) => number.as_u64(),
        _ => None,
    }
}

/// A block timestamp as milliseconds since the epoch.
///
/// QBFT and IBFT headers carry seconds; Quorum's Raft consensus wrote nanoseconds. A value
/// too large to be seconds (beyond the year 33658) is read as nanoseconds.
pub(crate) fn block_time_ms(timestamp: u64) -> Option<EpochMs> {
    const LARGEST_SECONDS: u64 = 1_000_000_000_000;
    let ms = if timestamp >= LARGEST_SECONDS {
        timestamp / 1_000_000
    } else {
        timestamp.checked_mul(1000)?
    };
    EpochMs::try_from(ms).ok()
}

/// The latest block: `Ok(None)` when the node answered `null` (no block yet).
pub(crate) fn head_block(value: &Value) -> Result<Option<HeadBlock>, String> {
    if value.is_null() {
        return Ok(None);
    }
    let Some(object) = value.as_object() else {
        return Err(unexpected("a block", value));
    };
    let number = object.get("number").and_then(quantity).ok_or_else(|| {
        unexpected(
            "a block number",
            object.get("number").unwrap_or(&Value::Null),
        )
    })?;
    let hash = object
        .get("hash")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    let time = object
        .get("timestamp")
        .and_then(quantity)
        .and_then(block_time_ms);
    Ok(Some(HeadBlock { number, hash, time }))
}

/// `eth_blockNumber`.
pub(crate) fn block_number(value: &Value) -> Result<u64, String> {
    quantity(value).ok_or_else(|| unexpected("a block number", value))
}

/// The hash of a block object, for `eth_getBlockByNumber(height)`: `Ok(None)` for `null`.
pub(crate) fn block_hash(value: &Value) -> Result<Option<String>, String> {
    if value.is_null() {
        return Ok(None);
    }
    value
        .get("hash")
        .and_then(Value::as_str)
        .map(|hash| Some(hash.to_ascii_lowercase()))
        .ok_or_else(|| unexpected("a block with a hash", value))
}

/// `eth_syncing`: `false` is `None`; the progress object is `Some`.
pub(crate) fn syncing(value: &Value) -> Result<Option<SyncProgress>, String> {
    match value {
        Value::Bool(false) => Ok(None),
        Value::Object(object) => {
            let field = |name: &str| object.get(name).and_then(quantity);
            match (field("currentBlock"), field("highestBlock")) {
                (Some(current), Some(highest)) => Ok(Some(SyncProgress {
                    starting: field("startingBlock").unwrap_or(0),
                    current,
                    highest,
                })),
                _ => Err(unexpected("sync progress", value)),
            }
        }
        _ => Err(unexpected("false or sync progress", value)),
    }
}

/// `net_peerCount`.
pub(crate) fn peer_count(value: &Value) -> Result<u64, String> {
    quantity(value).ok_or_else(|| unexpected("a peer count", value))
}

/// `txpool_status`.
pub(crate) fn txpool(value: &Value) -> Result<TxPool, String> {
    let count = |name: &str| value.get(name).and_then(quantity);
    match (count("pending"), count("queued")) {
        (Some(pending), Some(queued)) => Ok(TxPool { pending, queued }),
        _ => Err(unexpected("pending and queued counts", value)),
    }
}

/// A string answer (`web3_clientVersion`, `istanbul_nodeAddress`), trimmed.
pub(crate) fn text(value: &Value) -> Result<String, String> {
    value
        .as_str()
        .map(|s| crate::text::sanitize(s.trim()))
        .ok_or_else(|| unexpected("a string", value))
}

/// An address answer, lowercase.
pub(crate) fn address(value: &Value) -> Result<String, String> {
    text(value).map(|s| s.to_ascii_lowercase())
}

/// A list of addresses (`istanbul_getValidators`, `qbft_getValidatorsByBlockNumber`),
/// lowercase, in the node's order.
pub(crate) fn addresses(value: &Value) -> Result<Vec<String>, String> {
    let Some(items) = value.as_array() else {
        return Err(unexpected("a list of addresses", value));
    };
    items
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_ascii_lowercase)
                .ok_or_else(|| unexpected("an address", item))
        })
        .collect()
}

/// `istanbul_status`: `{ "numBlocks": 64, "sealerActivity": { address: count } }` as
/// (address, blocks proposed) sorted by address.
pub(crate) fn sealer_activity(value: &Value) -> Result<Vec<(String, u64)>, String> {
    let Some(activity) = value.get("sealerActivity") else {
        // A node that sealed nothing in the window may leave the map out entirely.
        return if value.is_object() {
            Ok(Vec::new())
        } else {
            Err(unexpected("proposer activity", value))
        };
    };
    if activity.is_null() {
        return Ok(Vec::new());
    }
    let Some(map) = activity.as_object() else {
        return Err(unexpected("proposer activity", activity));
    };
    let mut counts = map
        .iter()
        .map(|(address, count)| {
            quantity(count)
                .map(|n| (address.to_ascii_lowercase(), n))
                .ok_or_else(|| unexpected("a block count", count))
        })
        .collect::<Result<Vec<_>, _>>()?;
    counts.sort();
    Ok(counts)
}

/// Besu's `qbft_getSignerMetrics`: a list of `{ address, proposedBlockCount, ... }` as
/// (address, blocks proposed) sorted by address.
pub(crate) fn signer_metrics(value: &Value) -> Result<Vec<(String, u64)>, String> {
    let Some(items) = value.as_array() else {
        return Err(unexpected("signer metrics", value));
    };
    let mut counts = items
        .iter()
        .map(|item| {
            let address = item.get("address").and_then(Value::as_str);
            let count = item.get("proposedBlockCount").and_then(quantity);
            match (address, count) {
                (Some(address), Some(count)) => Ok((address.to_ascii_lowercase(), count)),
                _ => Err(unexpected("a signer metric", item)),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    counts.sort();
    Ok(counts)
}

/// `0x`-prefixed hex of a block height, as JSON-RPC block parameters want it.
pub(crate) fn hex_height(height: u64) -> String {
    format!("{height:#x}")
}

/// "expected X, got Y" with Y cut short.
fn unexpected(expected: &str, got: &Value) -> String {
    let mut shown = got.to_string();
    if shown.chars().count() > QUOTE_CHARS {
        shown = shown.chars().take(QUOTE_CHARS).collect::<String>() + "…";
    }
    format!("expected {expected}, got {shown}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn text_answers_are_made_inert() {
        let hostile = json!("Geth/v1\u{1b}]0;owned\u{7}\u{1b}[2J/linux\r\n");
        assert_eq!(text(&hostile).expect("a string"), "Geth/v1/linux");
    }

    #[test]
    fn hex_quantities_are_read_strictly() {
        assert_eq!(hex_quantity("0x0"), Some(0));
        assert_eq!(hex_quantity("0x1b"), Some(27));
        assert_eq!(hex_quantity("0X1B"), Some(27));
        assert_eq!(hex_quantity("0x00000000000000000000ff"), Some(255));
        assert_eq!(hex_quantity("0xffffffffffffffff"), Some(u64::MAX));
        assert_eq!(hex_quantity("0x10000000000000000"), None);
        for odd in [
            "", "0x", "1b", "0x-1", "0x+1", "0x1g", " 0x1", "0x1 ", "0x１",
        ] {
            assert_eq!(hex_quantity(odd), None, "{odd:?}");
        }
    }

    #[test]
    fn quantities_accept_numbers_but_not_negatives_or_floats() {
        assert_eq!(quantity(&json!(12)), Some(12));
        assert_eq!(quantity(&json!("0xc")), Some(12));
        assert_eq!(quantity(&json!(-1)), None);
        assert_eq!(quantity(&json!(1.5)), None);
        assert_eq!(quantity(&json!(null)), None);
        assert_eq!(quantity(&json!([1])), None);
    }

    #[test]
    fn block_times_in_seconds_or_nanoseconds() {
        assert_eq!(block_time_ms(1_700_000_000), Some(1_700_000_000_000));
        assert_eq!(
            block_time_ms(1_700_000_000_123_456_789),
            Some(1_700_000_000_123)
        );
        assert_eq!(block_time_ms(u64::MAX), Some((u64::MAX / 1_000_000) as i64));
    }

    #[test]
    fn head_block_reads_number_hash_and_time() {
        let block = json!({"number": "0x10", "hash": "0xABCD", "timestamp": "0x5"});
        assert_eq!(
            head_block(&block),
            Ok(Some(HeadBlock {
                number: 16,
                hash: Some("0xabcd".into()),
                time: Some(5000),
            }))
        );
        assert_eq!(head_block(&json!(null)), Ok(None));
        assert!(head_block(&json!({"hash": "0x1"})).is_err());
        assert!(head_block(&json!("0x10")).is_err());
        let no_time = json!({"number": "0x1", "timestamp": "soon"});
        assert_eq!(
            head_block(&no_time).map(|b| b.and_then(|b| b.time)),
            Ok(None)
        );
    }

    #[test]
    fn block_hash_of_missing_block_is_none() {
        assert_eq!(block_hash(&json!(null)), Ok(None));
        assert_eq!(
            block_hash(&json!({"hash": "0xAB"})),
            Ok(Some("0xab".into()))
        );
        assert!(block_hash(&json!({})).is_err());
    }

    #[test]
    fn syncing_false_or_progress() {
        assert_eq!(syncing(&json!(false)), Ok(None));
        let progress = json!({"startingBlock": "0x1", "currentBlock": "0x5", "highestBlock": "0x9",
                              "pulledStates": "0x0"});
        assert_eq!(
            syncing(&progress),
            Ok(Some(SyncProgress {
                starting: 1,
                current: 5,
                highest: 9,
            }))
        );
        assert!(syncing(&json!(true)).is_err());
        assert!(syncing(&json!({"currentBlock": "0x5"})).is_err());
    }

    #[test]
    fn txpool_and_peers() {
        assert_eq!(
            txpool(&json!({"pending": "0x2", "queued": "0x0"})),
            Ok(TxPool {
                pending: 2,
                queued: 0,
            })
        );
        assert!(txpool(&json!({"pending": "0x2"})).is_err());
        assert_eq!(peer_count(&json!("0x3")), Ok(3));
        assert!(peer_count(&json!("three")).is_err());
    }

    #[test]
    fn validator_lists_are_lowercased() {
        assert_eq!(
            addresses(&json!(["0xAA", "0xbb"])),
            Ok(vec!["0xaa".to_owned(), "0xbb".to_owned()])
        );
        assert!(addresses(&json!(["0xaa", 1])).is_err());
        assert!(addresses(&json!({})).is_err());
    }

    #[test]
    fn goquorum_sealer_activity() {
        let status = json!({"numBlocks": 64, "sealerActivity": {"0xBB": 15, "0xaa": "0x11"}});
        assert_eq!(
            sealer_activity(&status),
            Ok(vec![("0xaa".to_owned(), 17), ("0xbb".to_owned(), 15)])
        );
        assert_eq!(sealer_activity(&json!({"numBlocks": 0})), Ok(vec![]));
        assert!(sealer_activity(&json!({"sealerActivity": {"0xaa": -1}})).is_err());
        assert!(sealer_activity(&json!([])).is_err());
    }

    #[test]
    fn besu_signer_metrics() {
        let metrics = json!([
            {"address": "0xBB", "proposedBlockCount": "0x2", "lastProposedBlockNumber": "0x9"},
            {"address": "0xaa", "proposedBlockCount": "0x0", "lastProposedBlockNumber": "0x0"}
        ]);
        assert_eq!(
            signer_metrics(&metrics),
            Ok(vec![("0xaa".to_owned(), 0), ("0xbb".to_owned(), 2)])
        );
        assert!(signer_metrics(&json!([{"address": "0xaa"}])).is_err());
    }

    #[test]
    fn long_answers_are_cut_in_messages() {
        let long = json!("x".repeat(500));
        let message = peer_count(&long).expect_err("not a count");
        assert!(message.len() < 120, "{message}");
        assert!(message.ends_with('…'));
    }

    #[test]
    fn heights_as_hex() {
        assert_eq!(hex_height(0), "0x0");
        assert_eq!(hex_height(255), "0xff");
    }
}
