//! Benchmark of the Quorum judgement: `quorum::node_views` over 50 nodes, each with a
//! history of 300 one-second polls (the judgement the Quorum panel and the cluster list
//! redo on every frame). It measures only; it asserts nothing.

#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ibet_console::clock::EpochMs;
use ibet_console::model::quorum::{NodeRole, NodeSample, Probe, TxPool};
use ibet_console::quorum::{NodeHistory, QuorumThresholds, judge_chain, node_views};

const NODES: usize = 50;
const POINTS: i64 = 300;
const T0: EpochMs = 1_795_748_400_000;

/// Fifty nodes polled every second for five minutes: most at the head, some behind,
/// some stalled, a few failing.
fn histories() -> Vec<NodeHistory> {
    (0..NODES)
        .map(|n| {
            let role = if n % 5 == 0 {
                NodeRole::Validator
            } else {
                NodeRole::General
            };
            let mut h = NodeHistory::new(format!("node-{n:02}"), role);
            for s in 0..POINTS {
                let at = T0 - (POINTS - s) * 1000;
                let stalled = n % 7 == 3 && s > POINTS - 40;
                let failing = n % 11 == 4 && s > POINTS - 4;
                let block = 1_000_000 + if stalled { POINTS - 40 } else { s } as u64
                    - (n % 4) as u64 * u64::from(n % 13 == 1);
                h.record(NodeSample {
                    at,
                    reachable: !failing,
                    error: failing.then(|| "connection refused".into()),
                    block: (!failing).then_some(block),
                    block_time: Some(at - 300),
                    peers: Probe::Value(3),
                    txpool: Probe::Value(TxPool {
                        pending: (s % 4) as u64,
                        queued: 0,
                    }),
                    latency_ms: 2,
                    ..NodeSample::default()
                });
            }
            h
        })
        .collect()
}

fn judgement(c: &mut Criterion) {
    let histories = histories();
    let thresholds = QuorumThresholds::default();
    let mut group = c.benchmark_group("quorum judgement");
    group.bench_function("node_views, 50 nodes x 300 points", |b| {
        b.iter(|| black_box(node_views(black_box(&histories), T0, &thresholds)));
    });
    group.bench_function("judge_chain, 50 nodes x 300 points", |b| {
        b.iter(|| black_box(judge_chain(black_box(&histories), T0, &thresholds)));
    });
    group.finish();
}

criterion_group!(benches, judgement);
criterion_main!(benches);
