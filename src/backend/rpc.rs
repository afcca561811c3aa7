//! The Quorum JSON-RPC client: one poll of one node becomes a [`NodeSample`].
//!
//! [`QuorumRpc`] implements [`RpcApi`] over alloy's HTTP client. It keeps one client per
//! node URL (created on first use, then reused), asks everything of a poll in one
//! JSON-RPC batch (falling back to single calls when a node refuses batches), and bounds
//! each poll by a timeout, so a node that accepts and never answers costs one timeout and
//! never holds up the others. Methods a node does not offer (JSON-RPC -32601, or Besu's
//! -32604 "not enabled") are [`Probe::NotAvailable`], remembered per node and not asked
//! again for a while. Node RPC goes straight to the node over plain HTTP: proxy variables
//! in the environment are ignored and `https://` URLs are refused. It judges nothing (that is [`crate::quorum`]) and knows nothing of
//! the terminal.

mod parse;

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use alloy_json_rpc::RpcError;
use alloy_rpc_client::RpcClient;
use alloy_transport::{TransportError, TransportErrorKind};
use async_trait::async_trait;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::backend::{BackendError, BackendResult, RpcApi};
use crate::clock::{EpochMs, SharedClock};
use crate::config::QuorumNode;
use crate::model::quorum::{NodeRole, NodeSample, Probe};

/// Default limit for one poll of one node.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Default time after which a method found absent (or a refused batch) is tried again.
pub const DEFAULT_RECHECK: Duration = Duration::from_secs(300);

/// JSON-RPC "method not found".
const METHOD_NOT_FOUND: i64 = -32601;
/// Besu: the method exists but its API namespace is not enabled.
const METHOD_NOT_ENABLED: i64 = -32604;

/// The longest error text put into a sample.
const ERROR_CHARS: usize = 120;

/// The JSON-RPC methods a poll may ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Method {
    ClientVersion,
    BlockNumber,
    LatestBlock,
    Syncing,
    PeerCount,
    TxpoolStatus,
    IstanbulNodeAddress,
    IstanbulValidators,
    IstanbulStatus,
    QbftValidators,
    QbftSignerMetrics,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Self::ClientVersion => "web3_clientVersion",
            Self::BlockNumber => "eth_blockNumber",
            Self::LatestBlock => "eth_getBlockByNumber",
            Self::Syncing => "eth_syncing",
            Self::PeerCount => "net_peerCount",
            Self::TxpoolStatus => "txpool_status",
            Self::IstanbulNodeAddress => "istanbul_nodeAddress",
            Self::IstanbulValidators => "istanbul_getValidators",
            Self::IstanbulStatus => "istanbul_status",
            Self::QbftValidators => "qbft_getValidatorsByBlockNumber",
            Self::QbftSignerMetrics => "qbft_getSignerMetrics",
        }
    }

    fn params(self) -> Vec<Value> {
        match self {
            Self::LatestBlock => vec![json!("latest"), json!(false)],
            Self::QbftValidators => vec![json!("latest")],
            _ => Vec::new(),
        }
    }

    /// Whether a "not available" answer is remembered. The head of the chain is always
    /// asked: a node without `eth_blockNumber` is broken, not different.
    fn absence_is_remembered(self) -> bool {
        !matches!(self, Self::BlockNumber | Self::LatestBlock)
    }
}

/// What came back for one method.
#[derive(Debug, Clone)]
enum Answer {
    /// The result.
    Value(Value),
    /// The node does not offer the method.
    NotAvailable,
    /// A JSON-RPC error answer (the node is reachable).
    Refused(String),
    /// No JSON-RPC answer at all (connection, HTTP status, not JSON-RPC).
    Lost(String),
}

impl Answer {
    fn from_result(result: Result<Value, TransportError>) -> Self {
        match result {
            Ok(value) => Self::Value(value),
            Err(error) => match error.as_error_resp() {
                Some(payload) if is_not_available(payload.code) => Self::NotAvailable,
                Some(payload) => {
                    Self::Refused(cut(&format!("{} (code {})", payload.message, payload.code)))
                }
                None => Self::Lost(cut(&describe_transport_error(&error))),
            },
        }
    }

    fn is_answer(&self) -> bool {
        !matches!(self, Self::Lost(_))
    }
}

/// What we keep per node URL.
#[derive(Debug)]
struct NodeLink {
    client: RpcClient,
    /// Methods found not available, and when.
    absent_since: HashMap<Method, EpochMs>,
    /// When the node last refused a batch.
    batch_refused_at: Option<EpochMs>,
}

/// The Quorum JSON-RPC backend.
///
/// ```no_run
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// # use ibet_console::backend::rpc::QuorumRpc;
/// # use ibet_console::clock::SystemClock;
/// let rpc = QuorumRpc::new(Arc::new(SystemClock)).with_timeout(Duration::from_millis(1500));
/// ```
#[derive(Debug)]
pub struct QuorumRpc {
    clock: SharedClock,
    timeout: Duration,
    recheck_ms: i64,
    links: Mutex<HashMap<String, NodeLink>>,
}

impl QuorumRpc {
    /// A client with the default timeout ([`DEFAULT_TIMEOUT`]) and re-check period
    /// ([`DEFAULT_RECHECK`]); `clock` stamps samples and times the re-checks.
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            timeout: DEFAULT_TIMEOUT,
            recheck_ms: duration_ms(DEFAULT_RECHECK),
            links: Mutex::new(HashMap::new()),
        }
    }

    /// Sets the limit for one poll (and one [`RpcApi::block_hash_at`]) of one node.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets how long a method found absent, or a refused batch, is left alone before it
    /// is tried again.
    #[must_use]
    pub fn with_recheck(mut self, recheck: Duration) -> Self {
        self.recheck_ms = duration_ms(recheck);
        self
    }

    /// The limit for one poll.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The methods `url` is currently believed not to offer, by JSON-RPC name, sorted.
    pub fn absent_methods(&self, url: &str) -> Vec<&'static str> {
        let links = self.lock();
        let mut names = links
            .get(url)
            .map(|link| {
                link.absent_since
                    .keys()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        names.sort_unstable();
        names
    }

    /// Whether `url` currently gets single calls because it refused a batch.
    pub fn batch_refused(&self, url: &str) -> bool {
        let now = self.clock.now_ms();
        self.lock()
            .get(url)
            .and_then(|link| link.batch_refused_at)
            .is_some_and(|at| now - at < self.recheck_ms)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, NodeLink>> {
        self.links.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The node's client, created on first use.
    fn client(&self, url: &str) -> Result<RpcClient, String> {
        let mut links = self.lock();
        if let Some(link) = links.get(url) {
            return Ok(link.client.clone());
        }
        let shown = without_userinfo(url);
        if url.starts_with("https://") {
            return Err(format!(
                "{shown}: https is not supported for node RPC; use http://"
            ));
        }
        let parsed = url
            .parse()
            .map_err(|e| format!("bad RPC URL `{shown}`: {e}"))?;
        // Nodes are reached directly inside the VPC: a proxy set in the environment for
        // outside traffic (HTTP_PROXY) must not carry node RPC.
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot set up HTTP for {shown}: {e}"))?;
        let client = RpcClient::new_http_with_client(http, parsed);
        links.insert(
            url.to_owned(),
            NodeLink {
                client: client.clone(),
                absent_since: HashMap::new(),
                batch_refused_at: None,
            },
        );
        Ok(client)
    }

    /// Whether `method` is to be skipped on `url` now (found absent recently).
    fn known_absent(&self, url: &str, method: Method, now: EpochMs) -> bool {
        self.lock()
            .get(url)
            .and_then(|link| link.absent_since.get(&method))
            .is_some_and(|since| now - since < self.recheck_ms)
    }

    /// Remembers which methods answered "not available" (and forgets those that answered).
    fn learn(&self, url: &str, answers: &[(Method, Answer)], now: EpochMs) {
        let mut links = self.lock();
        let Some(link) = links.get_mut(url) else {
            return;
        };
        for (method, answer) in answers {
            match answer {
                Answer::NotAvailable if method.absence_is_remembered() => {
                    link.absent_since.entry(*method).or_insert(now);
                }
                Answer::Value(_) | Answer::Refused(_) => {
                    link.absent_since.remove(method);
                }
                _ => {}
            }
        }
        link.absent_since
            .retain(|_, since| now - *since < self.recheck_ms);
    }

    fn set_batch_refused(&self, url: &str, refused_at: Option<EpochMs>) {
        if let Some(link) = self.lock().get_mut(url) {
            link.batch_refused_at = refused_at;
        }
    }

    /// Asks `methods` of the node, as one batch when it takes batches.
    async fn ask(
        &self,
        url: &str,
        client: &RpcClient,
        methods: &[Method],
    ) -> Vec<(Method, Answer)> {
        let now = self.clock.now_ms();
        if methods.len() > 1 && !self.batch_refused(url) {
            match ask_batch(client, methods).await {
                BatchOutcome::Answered(answers) => return answers,
                BatchOutcome::Refused => {
                    let answers = ask_each(client, methods).await;
                    if answers.iter().any(|(_, a)| a.is_answer()) {
                        self.set_batch_refused(url, Some(now));
                    }
                    return answers;
                }
                // A transport failure: the single calls tell whether the node is there.
                BatchOutcome::NotSent => {}
            }
        }
        ask_each(client, methods).await
    }

    /// One poll without the time limit.
    async fn poll(&self, node: &QuorumNode, first: bool) -> NodeSample {
        let url = node.rpc_url.as_str();
        let client = match self.client(url) {
            Ok(client) => client,
            Err(error) => return unreachable_sample(error),
        };
        let now = self.clock.now_ms();
        let validator = node.role == NodeRole::Validator;

        let mut wanted = Vec::new();
        if first {
            wanted.push(Method::ClientVersion);
            if validator {
                wanted.push(Method::IstanbulNodeAddress);
            }
        }
        wanted.extend([
            Method::BlockNumber,
            Method::LatestBlock,
            Method::Syncing,
            Method::PeerCount,
            Method::TxpoolStatus,
        ]);
        if validator {
            for (istanbul, besu) in consensus_pairs() {
                // Besu's name only once istanbul is known absent; when both are, istanbul
                // stays in the list and is answered "not available" without asking.
                if self.known_absent(url, istanbul, now) && !self.known_absent(url, besu, now) {
                    wanted.push(besu);
                } else {
                    wanted.push(istanbul);
                }
            }
        }
        let (skipped, asked): (Vec<Method>, Vec<Method>) = wanted
            .into_iter()
            .partition(|m| m.absence_is_remembered() && self.known_absent(url, *m, now));

        let mut answers = self.ask(url, &client, &asked).await;
        if !answers.iter().any(|(_, a)| a.is_answer()) {
            let error = answers
                .into_iter()
                .find_map(|(_, a)| match a {
                    Answer::Lost(e) => Some(e),
                    _ => None,
                })
                .unwrap_or_else(|| "no answer".to_owned());
            return unreachable_sample(error);
        }

        // Besu's names, for what the istanbul namespace turned out not to offer.
        if validator {
            let fallbacks = consensus_pairs()
                .into_iter()
                .filter(|(istanbul, besu)| {
                    matches!(lookup(&answers, *istanbul), Some(Answer::NotAvailable))
                        && !self.known_absent(url, *besu, now)
                })
                .map(|(_, besu)| besu)
                .collect::<Vec<_>>();
            if !fallbacks.is_empty() {
                answers.extend(self.ask(url, &client, &fallbacks).await);
            }
        }
        self.learn(url, &answers, now);
        answers.extend(skipped.into_iter().map(|m| (m, Answer::NotAvailable)));
        sample_from(&answers, validator)
    }
}

#[async_trait]
impl RpcApi for QuorumRpc {
    async fn sample(&self, node: &QuorumNode, first: bool) -> NodeSample {
        let started = tokio::time::Instant::now();
        let outcome = tokio::time::timeout(self.timeout, self.poll(node, first)).await;
        let mut sample = outcome.unwrap_or_else(|_| {
            unreachable_sample(format!("no answer within {}", seconds(self.timeout)))
        });
        sample.at = self.clock.now_ms();
        sample.latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        sample
    }

    async fn block_hash_at(&self, node: &QuorumNode, height: u64) -> BackendResult<Option<String>> {
        let url = node.rpc_url.as_str();
        let endpoint = without_userinfo(url);
        let client = self.client(url).map_err(BackendError::Other)?;
        let call = client.request::<Vec<Value>, Value>(
            "eth_getBlockByNumber",
            vec![json!(parse::hex_height(height)), json!(false)],
        );
        let Ok(result) = tokio::time::timeout(self.timeout, call).await else {
            return Err(BackendError::Timeout {
                secs: self.timeout.as_millis().div_ceil(1000) as u64,
            });
        };
        match Answer::from_result(result) {
            Answer::Value(value) => parse::block_hash(&value).map_err(BackendError::Other),
            Answer::NotAvailable => Err(BackendError::MethodNotAvailable(
                "eth_getBlockByNumber".into(),
            )),
            Answer::Refused(message) => Err(BackendError::Other(message)),
            Answer::Lost(detail) => Err(BackendError::Unreachable { endpoint, detail }),
        }
    }
}

/// The istanbul methods a validator is asked, each with Besu's equivalent.
fn consensus_pairs() -> [(Method, Method); 2] {
    [
        (Method::IstanbulValidators, Method::QbftValidators),
        (Method::IstanbulStatus, Method::QbftSignerMetrics),
    ]
}

enum BatchOutcome {
    /// The node answered the batch (some answers may be errors).
    Answered(Vec<(Method, Answer)>),
    /// The node is there but did not take the batch (HTTP error, not JSON-RPC, or no
    /// answer for any request).
    Refused,
    /// The batch did not get through.
    NotSent,
}

async fn ask_batch(client: &RpcClient, methods: &[Method]) -> BatchOutcome {
    let mut batch = client.new_batch();
    let mut waiters = Vec::with_capacity(methods.len());
    for &method in methods {
        match batch.add_call::<Vec<Value>, Value>(method.name(), &method.params()) {
            Ok(waiter) => waiters.push((method, waiter)),
            Err(_) => return BatchOutcome::NotSent,
        }
    }
    if let Err(error) = batch.send().await {
        return if server_replied(&error) {
            BatchOutcome::Refused
        } else {
            BatchOutcome::NotSent
        };
    }
    let mut answers = Vec::with_capacity(waiters.len());
    let mut missing = 0;
    for (method, waiter) in waiters {
        let result = waiter.await;
        if matches!(
            &result,
            Err(RpcError::Transport(
                TransportErrorKind::MissingBatchResponse(_)
            ))
        ) {
            missing += 1;
        }
        answers.push((method, Answer::from_result(result)));
    }
    if missing == answers.len() {
        BatchOutcome::Refused
    } else {
        BatchOutcome::Answered(answers)
    }
}

async fn ask_each(client: &RpcClient, methods: &[Method]) -> Vec<(Method, Answer)> {
    join_all(methods.iter().map(|&method| async move {
        let result = client
            .request::<Vec<Value>, Value>(method.name(), method.params())
            .await;
        (method, Answer::from_result(result))
    }))
    .await
}

fn lookup(answers: &[(Method, Answer)], method: Method) -> Option<&Answer> {
    answers.iter().find(|(m, _)| *m == method).map(|(_, a)| a)
}

/// Reads one method's result.
type Reader<T> = fn(&Value) -> Result<T, String>;

/// The probe for a method: the first of `methods` that was asked decides.
fn probe<T>(answers: &[(Method, Answer)], methods: &[(Method, Reader<T>)]) -> Probe<T> {
    let mut result = Probe::NotAsked;
    for (method, read) in methods {
        match lookup(answers, *method) {
            None => {}
            Some(Answer::Value(value)) => {
                return read(value).map_or_else(Probe::Failed, Probe::Value);
            }
            Some(Answer::NotAvailable) => result = Probe::NotAvailable,
            Some(Answer::Refused(e) | Answer::Lost(e)) => return Probe::Failed(e.clone()),
        }
    }
    result
}

/// Puts the answers of a poll into a sample (`at` and `latency_ms` are set by the caller).
fn sample_from(answers: &[(Method, Answer)], validator: bool) -> NodeSample {
    let head = probe(answers, &[(Method::LatestBlock, parse::head_block)]);
    let number = probe(answers, &[(Method::BlockNumber, parse::block_number)]);
    let head = head.value().cloned().flatten();
    let block = head.as_ref().map(|h| h.number).or(number.value().copied());
    let error = match (&block, &number) {
        (Some(_), _) => None,
        (None, Probe::Failed(e)) => Some(format!("eth_blockNumber: {e}")),
        (None, Probe::NotAvailable) => Some("eth_blockNumber is not available".to_owned()),
        (None, _) => Some("no block number".to_owned()),
    };
    let mut sample = NodeSample {
        reachable: true,
        error,
        client_version: probe(answers, &[(Method::ClientVersion, parse::text)]),
        block,
        block_hash: head.as_ref().and_then(|h| h.hash.clone()),
        block_time: head.as_ref().and_then(|h| h.time),
        syncing: probe(answers, &[(Method::Syncing, parse::syncing)]),
        peers: probe(answers, &[(Method::PeerCount, parse::peer_count)]),
        txpool: probe(answers, &[(Method::TxpoolStatus, parse::txpool)]),
        ..NodeSample::default()
    };
    if validator {
        sample.signer = probe(answers, &[(Method::IstanbulNodeAddress, parse::address)]);
        sample.validators = probe(
            answers,
            &[
                (Method::IstanbulValidators, parse::addresses),
                (Method::QbftValidators, parse::addresses),
            ],
        );
        sample.proposers = probe(
            answers,
            &[
                (Method::IstanbulStatus, parse::sealer_activity),
                (Method::QbftSignerMetrics, parse::signer_metrics),
            ],
        );
    }
    sample
}

fn unreachable_sample(error: String) -> NodeSample {
    NodeSample {
        reachable: false,
        error: Some(error),
        ..NodeSample::default()
    }
}

fn is_not_available(code: i64) -> bool {
    code == METHOD_NOT_FOUND || code == METHOD_NOT_ENABLED
}

/// Whether the server answered the batch with something other than JSON-RPC answers.
fn server_replied(error: &TransportError) -> bool {
    matches!(
        error,
        RpcError::DeserError { .. }
            | RpcError::ErrorResp(_)
            | RpcError::Transport(
                TransportErrorKind::HttpError(_)
                    | TransportErrorKind::HttpErrorWithRetryAfter { .. }
            )
    )
}

/// A short, operator-readable reason for a failed call, without the URL (which may hold
/// credentials).
fn describe_transport_error(error: &TransportError) -> String {
    let text = match error {
        RpcError::Transport(
            TransportErrorKind::HttpError(http)
            | TransportErrorKind::HttpErrorWithRetryAfter { error: http, .. },
        ) => {
            format!("HTTP {}", http.status)
        }
        RpcError::Transport(TransportErrorKind::MissingBatchResponse(_)) => {
            "no answer in the batch".to_owned()
        }
        RpcError::Transport(kind) => root_cause(kind),
        RpcError::NullResp => "empty answer".to_owned(),
        RpcError::DeserError { .. } => "the answer is not JSON-RPC".to_owned(),
        other => other.to_string(),
    };
    cut(&text)
}

/// The innermost cause of an error chain, where the useful words usually are
/// ("Connection refused (os error 111)").
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    if let Some(io) = current.downcast_ref::<std::io::Error>() {
        return match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            std::io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
            std::io::ErrorKind::TimedOut => "connection timed out".to_owned(),
            _ => io.to_string(),
        };
    }
    current.to_string()
}

/// `url` with any `user:password@` removed.
fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// An error text from a node or the transport, made inert (a node's text never reaches
/// the terminal raw) and cut to [`ERROR_CHARS`].
fn cut(text: &str) -> String {
    let text = crate::text::sanitize(text);
    if text.chars().count() <= ERROR_CHARS {
        text
    } else {
        text.chars().take(ERROR_CHARS).collect::<String>() + "…"
    }
}

fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// `2s`, `1.5s`, `0.5s`.
fn seconds(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::quorum::{SyncProgress, TxPool};

    fn value(v: Value) -> Answer {
        Answer::Value(v)
    }

    #[test]
    fn a_full_poll_becomes_a_sample() {
        let answers = vec![
            (
                Method::ClientVersion,
                value(json!("Geth/v1.10.3-stable(quorum-v22.7.0)")),
            ),
            (Method::BlockNumber, value(json!("0x11"))),
            (
                Method::LatestBlock,
                value(json!({"number": "0x10", "hash": "0xAB", "timestamp": "0x64"})),
            ),
            (
                Method::Syncing,
                value(
                    json!({"startingBlock": "0x0", "currentBlock": "0x10", "highestBlock": "0x20"}),
                ),
            ),
            (Method::PeerCount, value(json!("0x3"))),
            (
                Method::TxpoolStatus,
                value(json!({"pending": "0x1", "queued": "0x2"})),
            ),
            (Method::IstanbulNodeAddress, value(json!("0xAA"))),
            (Method::IstanbulValidators, value(json!(["0xAA", "0xBB"]))),
            (
                Method::IstanbulStatus,
                value(json!({"numBlocks": 64, "sealerActivity": {"0xaa": 32, "0xbb": 32}})),
            ),
        ];
        let sample = sample_from(&answers, true);
        assert!(sample.reachable);
        assert_eq!(sample.error, None);
        assert_eq!(
            sample.block,
            Some(16),
            "the block object decides the height"
        );
        assert_eq!(sample.block_hash.as_deref(), Some("0xab"));
        assert_eq!(sample.block_time, Some(100_000));
        assert_eq!(
            sample.syncing,
            Probe::Value(Some(SyncProgress {
                starting: 0,
                current: 16,
                highest: 32
            }))
        );
        assert_eq!(sample.peers, Probe::Value(3));
        assert_eq!(
            sample.txpool,
            Probe::Value(TxPool {
                pending: 1,
                queued: 2
            })
        );
        assert_eq!(sample.signer, Probe::Value("0xaa".into()));
        assert_eq!(sample.validators.value().map(Vec::len), Some(2));
        assert_eq!(
            sample.proposers,
            Probe::Value(vec![("0xaa".into(), 32), ("0xbb".into(), 32)])
        );
    }

    #[test]
    fn missing_methods_are_not_available_and_besu_names_stand_in() {
        let answers = vec![
            (Method::BlockNumber, value(json!("0x5"))),
            (Method::LatestBlock, value(json!(null))),
            (Method::PeerCount, Answer::NotAvailable),
            (Method::IstanbulValidators, Answer::NotAvailable),
            (Method::QbftValidators, value(json!(["0xcc"]))),
            (Method::IstanbulStatus, Answer::NotAvailable),
            (Method::QbftSignerMetrics, Answer::NotAvailable),
        ];
        let sample = sample_from(&answers, true);
        assert_eq!(
            sample.block,
            Some(5),
            "eth_blockNumber when the block is null"
        );
        assert_eq!(sample.block_hash, None);
        assert_eq!(sample.peers, Probe::NotAvailable);
        assert_eq!(sample.validators, Probe::Value(vec!["0xcc".into()]));
        assert_eq!(sample.proposers, Probe::NotAvailable);
        assert_eq!(sample.client_version, Probe::NotAsked);
        assert_eq!(sample.txpool, Probe::NotAsked);
    }

    #[test]
    fn general_nodes_carry_no_validator_probes() {
        let answers = vec![
            (Method::BlockNumber, value(json!("0x5"))),
            (Method::IstanbulValidators, value(json!(["0xaa"]))),
        ];
        let sample = sample_from(&answers, false);
        assert_eq!(sample.validators, Probe::NotAsked);
    }

    #[test]
    fn odd_answers_fail_their_probe_only() {
        let answers = vec![
            (Method::BlockNumber, value(json!("0x5"))),
            (Method::LatestBlock, value(json!({"number": "five"}))),
            (Method::Syncing, value(json!("maybe"))),
            (
                Method::TxpoolStatus,
                Answer::Refused("txpool is off (code -32000)".into()),
            ),
        ];
        let sample = sample_from(&answers, false);
        assert_eq!(sample.block, Some(5));
        assert!(matches!(sample.syncing, Probe::Failed(_)));
        assert_eq!(
            sample.txpool,
            Probe::Failed("txpool is off (code -32000)".into())
        );
        assert_eq!(sample.error, None);
    }

    #[test]
    fn no_block_number_is_an_error_of_a_reachable_node() {
        let answers = vec![
            (
                Method::BlockNumber,
                Answer::Refused("internal (code -32603)".into()),
            ),
            (
                Method::LatestBlock,
                Answer::Refused("internal (code -32603)".into()),
            ),
        ];
        let sample = sample_from(&answers, false);
        assert!(sample.reachable);
        assert_eq!(sample.block, None);
        assert_eq!(
            sample.error.as_deref(),
            Some("eth_blockNumber: internal (code -32603)")
        );
    }

    #[test]
    fn error_answers_are_classified() {
        use alloy_json_rpc::ErrorPayload;
        let not_found = TransportError::ErrorResp(ErrorPayload::method_not_found());
        assert!(matches!(
            Answer::from_result(Err(not_found)),
            Answer::NotAvailable
        ));
        let not_enabled = TransportError::ErrorResp(ErrorPayload {
            code: METHOD_NOT_ENABLED,
            message: "Method not enabled".into(),
            data: None,
        });
        assert!(matches!(
            Answer::from_result(Err(not_enabled)),
            Answer::NotAvailable
        ));
        let internal = TransportError::ErrorResp(ErrorPayload::internal_error());
        assert!(matches!(
            Answer::from_result(Err(internal)),
            Answer::Refused(_)
        ));
        let http = TransportErrorKind::http_error(502, "bad gateway".into());
        match Answer::from_result(Err(http)) {
            Answer::Lost(text) => assert_eq!(text, "HTTP 502"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refused_batches_are_told_from_lost_ones() {
        assert!(server_replied(&TransportErrorKind::http_error(
            400,
            String::new()
        )));
        assert!(!server_replied(&TransportErrorKind::backend_gone()));
    }

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            without_userinfo("http://u:p@10.0.0.1:8545/x@y"),
            "http://10.0.0.1:8545/x@y"
        );
        assert_eq!(
            without_userinfo("http://10.0.0.1:8545"),
            "http://10.0.0.1:8545"
        );
        assert_eq!(without_userinfo("not a url"), "not a url");
    }

    #[test]
    fn timeouts_read_naturally() {
        assert_eq!(seconds(Duration::from_secs(2)), "2s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
        assert_eq!(seconds(Duration::from_millis(400)), "0.4s");
    }
}
