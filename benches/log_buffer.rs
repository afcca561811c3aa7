//! Benchmarks of the log view's hot paths: ingesting lines into a [`LogBuffer`] (sanitise,
//! detect the level, push onto the ring) and searching 100,000 lines.
//!
//! The target is at least 500,000 lines per second of ingest. Criterion reports
//! throughput in elements (lines) per second. It measures only; it asserts nothing.

#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ibet_console::logs::{LogBuffer, LogLine};

const LINES: usize = 100_000;

/// A mix of what the ibet services print: Quorum/geth lines, JSON API logs, coloured
/// uvicorn lines, nginx access lines, Japanese messages, and a few hostile ones.
fn messages(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 7 {
            0 => format!(
                "INFO [05-01|12:00:{:02}.{:03}] Imported new chain segment blocks=1 txs={} mgas=0.000 elapsed=1.234ms number={}",
                i % 60,
                i % 1000,
                i % 7,
                1_000_000 + i
            ),
            1 => format!(
                r#"{{"time":"2024-05-01T12:00:00.{:03}Z","level":"info","msg":"request done","path":"/v2/Token/0x{:040x}","status":200,"ms":{}}}"#,
                i % 1000,
                i,
                i % 97
            ),
            2 => format!(
                "\x1b[32mINFO\x1b[0m:     10.0.{}.{}:{} - \"GET /v2/Blockchain/BlockNumber HTTP/1.1\" 200",
                i % 250,
                i % 200,
                40_000 + i % 20_000
            ),
            3 => format!(
                "10.0.1.{} - - [01/May/2024:12:00:00 +0900] \"POST /api/v2/tx HTTP/1.1\" 200 {} \"-\" \"ibet-wallet/3.{}\"",
                i % 250,
                100 + i % 900,
                i % 10
            ),
            4 => format!("WARN [05-01|12:00:00.000] Stale peer\tpeer={i:x}\tlatency={}ms", i % 500),
            5 => format!("INFO 通知を送信しました user_id={i} 結果=成功"),
            _ => format!("ERROR something failed\r\x1b]0;pwned\x07 attempt {i} \x1b[2J"),
        })
        .collect()
}

fn ingest(c: &mut Criterion) {
    let raw = messages(LINES);
    let source: Arc<str> = Arc::from("api/1a2b3c4d");
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(LINES as u64));
    group.sample_size(10);
    group.bench_function("100k lines into a 100k buffer", |b| {
        b.iter_batched(
            || raw.clone(),
            |raw| {
                let mut buffer = LogBuffer::new(LINES);
                for (i, message) in raw.into_iter().enumerate() {
                    buffer.push(LogLine::new(i as i64, source.clone(), message));
                }
                black_box(buffer.len())
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

fn search(c: &mut Criterion) {
    let mut buffer = LogBuffer::new(LINES);
    let source: Arc<str> = Arc::from("api/1a2b3c4d");
    for (i, message) in messages(LINES).into_iter().enumerate() {
        buffer.push(LogLine::new(i as i64, source.clone(), message));
    }
    let mut group = c.benchmark_group("search 100k lines");
    group.throughput(Throughput::Elements(LINES as u64));
    group.sample_size(10);
    group.bench_function("find_next, no match (full scan)", |b| {
        b.iter(|| black_box(buffer.find_next(0, black_box("no-such-needle"), false)));
    });
    group.bench_function("find_prev, no match (full scan)", |b| {
        b.iter(|| black_box(buffer.find_prev(LINES, black_box("No-Such-Needle"), false)));
    });
    group.bench_function("find_next, non-ASCII needle, no match", |b| {
        b.iter(|| black_box(buffer.find_next(0, black_box("ブロック"), false)));
    });
    group.bench_function("match_ranges of every line", |b| {
        b.iter(|| {
            let mut n = 0;
            for i in 0..buffer.len() {
                n += buffer.match_ranges(i, black_box("info"), false).len();
            }
            black_box(n)
        });
    });
    group.finish();
}

criterion_group!(benches, ingest, search);
criterion_main!(benches);
