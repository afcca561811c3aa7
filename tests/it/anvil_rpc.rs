//! The Quorum RPC client and the node judgement against real JSON-RPC servers.
//!
//! Anvil nodes mining at 1 s stand in for Quorum nodes: they answer the `eth_*`, `web3_*`
//! and `txpool_*` methods, and not the Quorum-only ones (`istanbul_*`, `qbft_*`,
//! `net_peerCount`), which must show as "not available". A scripted JSON-RPC node covers
//! what anvil cannot: istanbul and Besu answers, and refused batches. A listener that
//! accepts and never answers stands in for a hung node. Everything listens on 127.0.0.1.
//! Run with `--nocapture` to see the measured timings.

use crate::support::anvil;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy_rpc_client::RpcClient;
use anvil::{Anvil, Mining};
use futures_util::future::join_all;
use ibet_console::backend::RpcApi;
use ibet_console::backend::rpc::QuorumRpc;
use ibet_console::clock::{Clock, EpochMs, ManualClock, SystemClock};
use ibet_console::config::QuorumNode;
use ibet_console::model::Health;
use ibet_console::model::quorum::{NodeRole, NodeState, Probe, TxPool};
use ibet_console::quorum::{NodeHistory, NodeView, QuorumThresholds, judge_chain, node_views};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Time between polls in these tests (the console polls every second).
const POLL_EVERY: Duration = Duration::from_millis(250);

fn node(name: &str, url: &str, role: NodeRole) -> QuorumNode {
    QuorumNode {
        name: name.to_owned(),
        rpc_url: url.to_owned(),
        role,
        service: None,
        exec_command: None,
    }
}

/// One JSON-RPC call, outside the client under test.
async fn call(url: &str, method: &'static str, params: Value) -> Value {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client");
    let client = RpcClient::new_http_with_client(http, url.parse().expect("url"));
    client
        .request::<Value, Value>(method, params)
        .await
        .unwrap_or_else(|e| panic!("{method} on {url}: {e}"))
}

/// A poll loop in miniature: polls every node concurrently, records the samples.
struct Monitor {
    rpc: QuorumRpc,
    nodes: Vec<QuorumNode>,
    histories: Vec<NodeHistory>,
    thresholds: QuorumThresholds,
    /// Longest round so far.
    slowest_round: Duration,
}

impl Monitor {
    fn new(rpc: QuorumRpc, nodes: Vec<QuorumNode>, thresholds: QuorumThresholds) -> Self {
        let histories = nodes
            .iter()
            .map(|n| NodeHistory::new(n.name.clone(), n.role))
            .collect();
        Self {
            rpc,
            nodes,
            histories,
            thresholds,
            slowest_round: Duration::ZERO,
        }
    }

    async fn round(&mut self) -> Vec<NodeView> {
        let started = Instant::now();
        let samples = join_all(
            self.nodes
                .iter()
                .zip(&self.histories)
                .map(|(n, h)| self.rpc.sample(n, h.wants_first_probes())),
        )
        .await;
        self.slowest_round = self.slowest_round.max(started.elapsed());
        for (history, sample) in self.histories.iter_mut().zip(samples) {
            history.record(sample);
        }
        self.views()
    }

    fn views(&self) -> Vec<NodeView> {
        node_views(&self.histories, SystemClock.now_ms(), &self.thresholds)
    }

    /// Polls until `done` holds for the views; panics with the views after `limit`.
    async fn until(
        &mut self,
        limit: Duration,
        what: &str,
        done: impl Fn(&[NodeView]) -> bool,
    ) -> (Vec<NodeView>, Duration) {
        let started = Instant::now();
        loop {
            let views = self.round().await;
            if done(&views) {
                return (views, started.elapsed());
            }
            assert!(
                started.elapsed() < limit,
                "not {what} after {limit:?}: {views:#?}"
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
}

fn states(views: &[NodeView]) -> Vec<NodeState> {
    views.iter().map(|v| v.state).collect()
}

fn system_rpc() -> QuorumRpc {
    QuorumRpc::new(Arc::new(SystemClock))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_synced_then_one_stops_stalls_and_lags() {
    let anvils: Vec<Anvil> = (0..3).map(|_| Anvil::start(Mining::EverySecs(1))).collect();
    let nodes: Vec<QuorumNode> = anvils
        .iter()
        .enumerate()
        .map(|(i, a)| node(&format!("general-{}", i + 1), &a.url(), NodeRole::General))
        .collect();
    // Anvil makes a block every second: a 3 s window, and a lag threshold wide enough to
    // see the stall before the lag.
    let thresholds = QuorumThresholds {
        max_lag_blocks: 6,
        stall_window_secs: 3,
        ..QuorumThresholds::default()
    };
    let mut monitor = Monitor::new(system_rpc(), nodes.clone(), thresholds);

    let (_, took) = monitor
        .until(Duration::from_secs(5), "all synced", |v| {
            states(v) == [NodeState::Synced; 3]
        })
        .await;
    eprintln!("all three synced after {took:?}");
    // Enough history to judge progress over the window (not just the head's age).
    let (views, _) = monitor
        .until(Duration::from_secs(8), "synced over a window", |v| {
            states(v) == [NodeState::Synced; 3] && v.iter().all(|v| v.blocks_in_window.is_some())
        })
        .await;
    for view in &views {
        assert!(
            view.blocks_in_window.is_some_and(|b| (2..=4).contains(&b)),
            "{view:#?}"
        );
    }

    // The heights and hashes are what the nodes have.
    for ((view, anvil), node) in views.iter().zip(&anvils).zip(&nodes) {
        let height = view.height.expect("height");
        let expected = anvil.started.elapsed().as_secs();
        assert!(
            height.abs_diff(expected) <= 2,
            "{}: height {height}, {expected} s after start",
            view.name
        );
        let sample = monitor.histories[view_index(&views, &view.name)]
            .last_answer()
            .expect("answer")
            .clone();
        let hash = monitor
            .rpc
            .block_hash_at(node, height)
            .await
            .expect("block hash");
        assert_eq!(hash, sample.block_hash, "{}", view.name);
        let age = SystemClock.now_ms() - sample.block_time.expect("block time");
        assert!((0..3000).contains(&age), "{}: head {age} ms old", view.name);
        assert!(
            view.client
                .as_deref()
                .is_some_and(|c| c.starts_with("anvil/"))
        );
        assert_eq!(view.peers, Probe::NotAvailable);
        assert_eq!(view.syncing, Probe::Value(None));
        assert_eq!(view.txpool, Probe::Value(TxPool::default()));
        assert_eq!(
            monitor.rpc.block_hash_at(node, height + 1000).await,
            Ok(None)
        );
    }

    // general-3 stops making blocks: stalled first, while the others are still close.
    call(&nodes[2].rpc_url, "evm_setIntervalMining", json!([0])).await;
    let stopped = Instant::now();
    let (views, took) = monitor
        .until(Duration::from_secs(8), "general-3 stalled", |v| {
            v[2].state == NodeState::Stalled
        })
        .await;
    eprintln!(
        "general-3 stalled {took:?} after it stopped: {} (lag {:?})",
        views[2].reason, views[2].lag
    );
    assert_eq!(states(&views[..2]), [NodeState::Synced; 2]);
    assert!(
        views[2].reason.starts_with("no new block in 3s"),
        "{}",
        views[2].reason
    );

    // Then lagging, once the others are more than 6 blocks ahead.
    let (views, _) = monitor
        .until(Duration::from_secs(15), "general-3 lagging", |v| {
            v[2].state == NodeState::Lagging
        })
        .await;
    eprintln!(
        "general-3 lagging {:?} after it stopped: {}",
        stopped.elapsed(),
        views[2].reason
    );
    assert!(views[2].lag.is_some_and(|lag| lag > 6));
    assert!(
        views[2].reason.contains("no new block in 3s"),
        "{}",
        views[2].reason
    );
    assert_eq!(states(&views[..2]), [NodeState::Synced; 2]);
    eprintln!("slowest round of three polls: {:?}", monitor.slowest_round);
}

fn view_index(views: &[NodeView], name: &str) -> usize {
    views.iter().position(|v| v.name == name).expect("view")
}

/// Accepts connections and never answers.
async fn hanging_listener() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_and_hung_nodes_are_down_without_holding_up_the_others() {
    let timeout = Duration::from_millis(600);
    let a = Anvil::start(Mining::EverySecs(1));
    let mut b = Anvil::start(Mining::EverySecs(1));
    let (hung_url, hung_task) = hanging_listener().await;
    let nodes = vec![
        node("general-1", &a.url(), NodeRole::General),
        node("general-2", &b.url(), NodeRole::General),
        node("hung", &hung_url, NodeRole::Validator),
    ];
    let mut monitor = Monitor::new(
        system_rpc().with_timeout(timeout),
        nodes,
        QuorumThresholds::default(),
    );

    // The hung node costs one timeout per round; the others answer at once.
    let mut rounds = 0;
    let (views, took) = monitor
        .until(Duration::from_secs(5), "hung node down", |v| {
            v[2].state == NodeState::Down
        })
        .await;
    for history in &monitor.histories {
        rounds = rounds.max(history.points().len() + history.consecutive_failures() as usize);
    }
    eprintln!(
        "hung node down after {took:?} ({rounds} rounds); slowest round {:?}",
        monitor.slowest_round
    );
    assert_eq!(rounds, 3, "down after exactly three failed polls");
    assert_eq!(
        views[2].reason,
        "no answer for 3 polls: no answer within 0.6s"
    );
    assert!(monitor.slowest_round < timeout + Duration::from_millis(400));
    for view in &views[..2] {
        assert_eq!(view.state, NodeState::Synced, "{view:#?}");
        let latency = view.latency_ms.expect("latency");
        assert!(
            latency < 300,
            "{}: {latency} ms next to a hung node",
            view.name
        );
        eprintln!(
            "{} answered in {latency} ms next to the hung node",
            view.name
        );
    }

    // general-2 dies: connection refused, down after three quick polls.
    b.stop();
    let killed = Instant::now();
    let (views, _) = monitor
        .until(Duration::from_secs(5), "general-2 down", |v| {
            v[1].state == NodeState::Down
        })
        .await;
    eprintln!("general-2 down {:?} after it was killed", killed.elapsed());
    assert_eq!(views[1].last_error.as_deref(), Some("connection refused"));
    assert_eq!(views[1].reason, "no answer for 3 polls: connection refused");
    assert_eq!(views[0].state, NodeState::Synced);

    // Back on the same port, with a fresh chain far behind general-1.
    b.restart();
    let restarted = Instant::now();
    let (views, _) = monitor
        .until(Duration::from_secs(5), "general-2 back", |v| {
            v[1].state != NodeState::Down
        })
        .await;
    eprintln!(
        "general-2 back {:?} after restart: {} {}",
        restarted.elapsed(),
        views[1].state.as_str(),
        views[1].reason
    );
    assert_eq!(views[1].consecutive_failures, 0);
    assert_eq!(views[1].state, NodeState::Lagging);
    hung_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_only_methods_are_not_available_on_anvil() {
    let anvil = Anvil::start(Mining::Off);
    let url = anvil.url();
    let validator = node("validator-1", &url, NodeRole::Validator);
    let rpc = system_rpc();

    let first = rpc.sample(&validator, true).await;
    eprintln!("first anvil poll took {} ms", first.latency_ms);
    assert!(first.reachable, "{first:#?}");
    assert_eq!(first.error, None);
    assert!(matches!(&first.client_version, Probe::Value(v) if v.starts_with("anvil/")));
    assert_eq!(first.block, Some(0));
    assert!(first.block_hash.is_some());
    assert_eq!(first.syncing, Probe::Value(None));
    assert_eq!(first.txpool, Probe::Value(TxPool::default()));
    assert_eq!(first.peers, Probe::NotAvailable);
    assert_eq!(first.signer, Probe::NotAvailable);
    assert_eq!(first.validators, Probe::NotAvailable);
    assert_eq!(first.proposers, Probe::NotAvailable);
    assert_eq!(
        rpc.absent_methods(&url),
        [
            "istanbul_getValidators",
            "istanbul_nodeAddress",
            "istanbul_status",
            "net_peerCount",
            "qbft_getSignerMetrics",
            "qbft_getValidatorsByBlockNumber",
        ]
    );
    assert!(!rpc.batch_refused(&url), "anvil takes batches");

    call(&url, "evm_mine", json!([])).await;
    let second = rpc.sample(&validator, false).await;
    eprintln!("second anvil poll took {} ms", second.latency_ms);
    assert_eq!(second.block, Some(1));
    assert_eq!(second.client_version, Probe::NotAsked);
    assert_eq!(second.peers, Probe::NotAvailable);
    assert_eq!(second.validators, Probe::NotAvailable);
    assert_eq!(second.proposers, Probe::NotAvailable);
    assert_eq!(
        rpc.block_hash_at(&validator, 1).await.expect("hash"),
        second.block_hash
    );

    // The chain view copes: the configured validator counts, activity is unknown.
    let mut history = NodeHistory::new("validator-1", NodeRole::Validator);
    history.record(second);
    let chain = judge_chain(
        [&history],
        SystemClock.now_ms(),
        &QuorumThresholds::default(),
    );
    assert_eq!(chain.validators_known, None);
    assert_eq!(chain.producing, None);
    assert_eq!(chain.reachable, 1);
}

// ---------------------------------------------------------------------------------------
// A scripted JSON-RPC node: GoQuorum or Besu answers, batches taken or refused.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Consensus {
    /// GoQuorum: `istanbul_*`.
    Istanbul,
    /// Besu: `qbft_*`.
    Besu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Batches {
    Taken,
    /// One JSON-RPC error object (id null) in place of the batch.
    RefusedWithError,
    /// HTTP 400.
    RefusedWithStatus,
}

const HEAD: u64 = 42;
const VALIDATORS: [&str; 4] = ["0xa1", "0xa2", "0xa3", "0xa4"];

struct ScriptedNode {
    url: String,
    /// Every request received: a method name, or `[batch]`.
    log: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedNode {
    async fn start(consensus: Consensus, batches: Batches) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let task_log = Arc::clone(&log);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let log = Arc::clone(&task_log);
                tokio::spawn(serve(socket, consensus, batches, log));
            }
        });
        Self { url, log, task }
    }

    fn count(&self, entry: &str) -> usize {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|e| *e == entry)
            .count()
    }
}

impl Drop for ScriptedNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves HTTP/1.1 requests on one connection until it closes.
async fn serve(
    socket: tokio::net::TcpStream,
    consensus: Consensus,
    batches: Batches,
    log: Arc<Mutex<Vec<String>>>,
) {
    let mut stream = BufReader::new(socket);
    loop {
        let mut length = 0;
        loop {
            let mut line = String::new();
            match stream.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().expect("content length");
            }
        }
        let mut body = vec![0; length];
        if stream.read_exact(&mut body).await.is_err() {
            return;
        }
        let request: Value = serde_json::from_slice(&body).expect("json request");
        let (status, reply) = respond(&request, consensus, batches, &log);
        let text = reply.to_string();
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{text}",
            text.len()
        );
        if stream
            .get_mut()
            .write_all(response.as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

fn respond(
    request: &Value,
    consensus: Consensus,
    batches: Batches,
    log: &Mutex<Vec<String>>,
) -> (&'static str, Value) {
    let Value::Array(calls) = request else {
        return ("200 OK", answer(request, consensus, log));
    };
    log.lock().expect("log").push("[batch]".to_owned());
    match batches {
        Batches::Taken => (
            "200 OK",
            Value::Array(calls.iter().map(|c| answer(c, consensus, log)).collect()),
        ),
        Batches::RefusedWithError => (
            "200 OK",
            json!({"jsonrpc": "2.0", "id": null,
                   "error": {"code": -32600, "message": "batch requests are not supported"}}),
        ),
        Batches::RefusedWithStatus => ("400 Bad Request", json!({"error": "no batches"})),
    }
}

fn answer(call: &Value, consensus: Consensus, log: &Mutex<Vec<String>>) -> Value {
    let method = call["method"].as_str().unwrap_or_default().to_owned();
    log.lock().expect("log").push(method.clone());
    let now_secs = SystemClock.now_ms() / 1000;
    let block = |n: u64| {
        json!({"number": format!("{n:#x}"), "hash": format!("0x{n:064x}"),
                               "timestamp": format!("{now_secs:#x}")})
    };
    let result = match (method.as_str(), consensus) {
        ("web3_clientVersion", _) => json!("Geth/v1.10.3-stable(quorum-v22.7.1)/linux-amd64"),
        ("eth_blockNumber", _) => json!(format!("{HEAD:#x}")),
        ("eth_getBlockByNumber", _) => match call["params"][0].as_str() {
            Some("latest") => block(HEAD),
            Some(hex) => match u64::from_str_radix(hex.trim_start_matches("0x"), 16) {
                Ok(n) if n <= HEAD => block(n),
                _ => Value::Null,
            },
            None => Value::Null,
        },
        ("eth_syncing", _) => json!(false),
        ("net_peerCount", _) => json!("0x3"),
        ("txpool_status", _) => json!({"pending": "0x1", "queued": "0x0"}),
        ("istanbul_nodeAddress", Consensus::Istanbul) => json!("0xA1"),
        ("istanbul_getValidators", Consensus::Istanbul)
        | ("qbft_getValidatorsByBlockNumber", Consensus::Besu) => json!(VALIDATORS),
        ("istanbul_status", Consensus::Istanbul) => json!({
            "numBlocks": 64,
            "sealerActivity": {"0xa1": 16, "0xa2": 16, "0xa3": 16, "0xa4": 16}
        }),
        ("qbft_getSignerMetrics", Consensus::Besu) => Value::Array(
            VALIDATORS
                .iter()
                .map(|a| {
                    json!({"address": a, "proposedBlockCount": "0x19",
                                "lastProposedBlockNumber": "0x28"})
                })
                .collect(),
        ),
        _ => {
            return json!({"jsonrpc": "2.0", "id": call["id"],
                          "error": {"code": -32601, "message": format!(
                              "the method {method} does not exist/is not available")}});
        }
    };
    json!({"jsonrpc": "2.0", "id": call["id"], "result": result})
}

#[tokio::test]
async fn goquorum_validator_answers_become_a_chain_view() {
    let node_server = ScriptedNode::start(Consensus::Istanbul, Batches::Taken).await;
    let rpc = system_rpc();
    let validator = node("validator-1", &node_server.url, NodeRole::Validator);
    let sample = rpc.sample(&validator, true).await;
    assert_eq!(sample.error, None);
    assert_eq!(sample.block, Some(HEAD));
    assert_eq!(sample.peers, Probe::Value(3));
    assert_eq!(sample.signer, Probe::Value("0xa1".into()));
    assert_eq!(sample.validators.value().map(Vec::len), Some(4));
    assert_eq!(sample.proposers.value().map(Vec::len), Some(4));
    assert_eq!(node_server.count("[batch]"), 1, "one batch per poll");
    assert!(rpc.absent_methods(&node_server.url).is_empty());

    let mut history = NodeHistory::new("validator-1", NodeRole::Validator);
    history.record(sample);
    let chain = judge_chain(
        [&history],
        SystemClock.now_ms(),
        &QuorumThresholds::default(),
    );
    assert_eq!(chain.validators_known, Some(4));
    assert_eq!(chain.producing, Some(4));
    assert_eq!(chain.fault_tolerance, 1);
    assert_eq!(chain.validators[0].proposed, Some(16));
    assert_eq!(chain.health, Health::Ok, "{}", chain.reason);
}

#[tokio::test]
async fn refused_batches_fall_back_to_single_calls() {
    for refusal in [Batches::RefusedWithError, Batches::RefusedWithStatus] {
        let node_server = ScriptedNode::start(Consensus::Istanbul, refusal).await;
        let rpc = system_rpc();
        let validator = node("validator-1", &node_server.url, NodeRole::Validator);
        let first = rpc.sample(&validator, true).await;
        assert_eq!(first.error, None, "{refusal:?}");
        assert_eq!(first.block, Some(HEAD));
        assert_eq!(first.validators.value().map(Vec::len), Some(4));
        assert!(rpc.batch_refused(&node_server.url), "{refusal:?}");
        let second = rpc.sample(&validator, false).await;
        assert_eq!(second.block, Some(HEAD));
        assert_eq!(
            node_server.count("[batch]"),
            1,
            "{refusal:?}: no second batch"
        );
        assert_eq!(node_server.count("eth_blockNumber"), 2);
    }
}

#[tokio::test]
async fn besu_names_stand_in_and_absent_methods_are_rechecked() {
    let node_server = ScriptedNode::start(Consensus::Besu, Batches::Taken).await;
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let rpc = QuorumRpc::new(clock.clone()).with_recheck(Duration::from_secs(300));
    let validator = node("validator-1", &node_server.url, NodeRole::Validator);

    let first = rpc.sample(&validator, true).await;
    assert_eq!(first.validators.value().map(Vec::len), Some(4));
    assert_eq!(
        first.proposers.value().and_then(|p| p.first().cloned()),
        Some(("0xa1".to_owned(), 25))
    );
    assert_eq!(first.signer, Probe::NotAvailable);
    assert_eq!(node_server.count("istanbul_getValidators"), 1);

    let second = rpc.sample(&validator, false).await;
    assert_eq!(second.validators.value().map(Vec::len), Some(4));
    assert_eq!(
        node_server.count("istanbul_getValidators"),
        1,
        "not asked again"
    );
    assert_eq!(node_server.count("qbft_getValidatorsByBlockNumber"), 2);
    assert_eq!(
        node_server.count("[batch]"),
        3,
        "the fallback was a second batch"
    );

    clock.advance(301_000);
    let later: EpochMs = clock.now_ms();
    let third = rpc.sample(&validator, false).await;
    assert_eq!(third.at, later);
    assert_eq!(third.validators.value().map(Vec::len), Some(4));
    assert_eq!(node_server.count("istanbul_getValidators"), 2, "re-checked");
}
