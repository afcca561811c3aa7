//! Benchmark of drawing the log view: a 160x48 frame (ratatui's `TestBackend`) with
//! 100,000 lines buffered and a search active, following, paging through paused lines,
//! and with long lines wrapped.
//!
//! The target is at most 2 ms per frame: only the lines on screen may be laid out, so
//! the figure must not grow with the buffer. Before timing, it prints what a full buffer
//! of these 100,000 lines costs in memory: the buffer's own count and the growth of the
//! process's resident memory while the view was filled (the busy world of
//! `scripts/bench-process` does not fill its buffer within its window). It measures
//! only; it asserts nothing.

#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ibet_console::app::logview::{LogViewState, LogsMsg};
use ibet_console::logs::{LogLine, TailEvent};
use ibet_console::ui::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const LINES: usize = 100_000;
const WIDTH: u16 = 160;
const HEIGHT: u16 = 48;

/// What the ibet services print: JSON API lines (long), nginx access lines, geth lines,
/// Japanese messages and a few hostile ones.
fn message(i: usize) -> String {
    match i % 6 {
        0 => format!(
            r#"{{"time":"2026-11-28T03:00:00.{:03}Z","level":"INFO","logger":"app.access","pid":{},"message":"GET /v3/Position/0x{:040x}/StraightBond 200 0.0{}s"}}"#,
            i % 1000,
            i % 16,
            i,
            i % 90
        ),
        1 => format!(
            "10.10.1.{} - - [28/Nov/2026:03:00:00 +0000] \"POST /v3/Eth/SendRawTransaction HTTP/1.1\" 200 {} \"-\" \"ibet-wallet/2.14.0 (Android 14; Pixel 8)\" rt=0.0{}",
            i % 250,
            100 + i % 900,
            i % 90
        ),
        2 => format!(
            "INFO [11-28|03:00:00.000] Imported new chain segment number={} hash=0x{:x} txs={}",
            1_000_000 + i,
            i * 7919,
            i % 9
        ),
        3 => format!(
            "WARN [11-28|03:00:00.000] Stale peer id={i:x} latency={}ms",
            i % 500
        ),
        4 => format!("INFO 通知を送信しました user_id={i} 結果=成功 tx=0x{i:x}"),
        _ => format!("ERROR tx failed\r\x1b]0;pwned\x07 attempt {i} \x1b[2J"),
    }
}

fn full_view() -> LogViewState {
    let mut view = LogViewState::new("production", "node-api", "api", LINES, 0);
    view.apply(LogsMsg::Started {
        tail: 1,
        result: Ok(2),
    });
    let sources: [Arc<str>; 2] = [Arc::from("api/1a2b3c4d"), Arc::from("api/5e6f7a8b")];
    let lines = (0..LINES)
        .map(|i| LogLine::new(i as i64 * 10, Arc::clone(&sources[i % 2]), message(i)))
        .collect();
    view.ingest(TailEvent::Lines(lines));
    view
}

fn press(view: &mut LogViewState, code: KeyCode) {
    view.handle_key(KeyEvent::new(code, KeyModifiers::NONE), HEIGHT - 5);
}

fn search(view: &mut LogViewState, text: &str) {
    press(view, KeyCode::Char('/'));
    for c in text.chars() {
        press(view, KeyCode::Char(c));
    }
    press(view, KeyCode::Enter);
}

/// The process's resident memory in KiB (Linux), or 0 where it cannot be read.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Prints the memory a view with 100,000 lines buffered holds.
fn memory_of_a_full_view() {
    let before = rss_kib();
    let view = full_view();
    let after = rss_kib();
    let mib = |b: u64| b as f64 / 1024.0 / 1024.0;
    println!(
        "log view memory, {} lines buffered: buffer {:.1} MiB (LogBuffer::approx_bytes), \
         resident memory +{:.1} MiB while filling",
        view.buffer().len(),
        mib(view.buffer().approx_bytes() as u64),
        mib(after.saturating_sub(before) * 1024),
    );
    drop(view);
}

fn frames(c: &mut Criterion) {
    memory_of_a_full_view();
    let theme = Theme::default_theme();
    // Times in a zone with an offset: the costlier path (a zone lookup per line drawn).
    let zone = ibet_console::clock::Zone::named("Asia/Tokyo").expect("the tz database");
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
    let mut group = c.benchmark_group("log view frame 160x48, 100k lines, search active");

    // The fixed cost of a frame, for reference: the terminal diffing an unchanged screen.
    group.bench_function("baseline: a frame drawing nothing", |b| {
        b.iter(|| {
            terminal
                .draw(|f| {
                    black_box(f.area());
                })
                .expect("draw");
        });
    });

    let mut view = full_view();
    search(&mut view, "tx");
    press(&mut view, KeyCode::End);
    group.bench_function("following", |b| {
        b.iter(|| {
            terminal
                .draw(|f| {
                    ibet_console::ui::logs::render(&view, &zone, false, &theme, f, f.area());
                })
                .expect("draw");
            black_box(terminal.backend().buffer().area);
        });
    });

    // Writing to the terminal the frame after one more line arrived while following: the
    // rows move up by one (found and moved by the terminal) and one row is new.
    // The frame as rendered (the test backend's own buffer keeps stale cells behind
    // wide characters, which no terminal shows).
    let mut draw = |view: &LogViewState| {
        terminal
            .draw(|f| {
                ibet_console::ui::logs::render(view, &zone, false, &theme, f, f.area());
            })
            .expect("draw")
            .buffer
            .clone()
    };
    let before = draw(&view);
    let source: Arc<str> = Arc::from("api/1a2b3c4d");
    view.ingest(TailEvent::Lines(vec![LogLine::new(
        LINES as i64 * 10,
        source,
        message(LINES),
    )]));
    let after = draw(&view);
    let mut plain = Vec::new();
    ibet_console::tui::frame::encode(&mut plain, &before.diff(&after));
    let mut moved = Vec::new();
    ibet_console::tui::frame::write_frame(&mut moved, &mut before.clone(), &after);
    println!(
        "bytes written for one new line while following: {} with rows moved by the \
         terminal, {} cell by cell",
        moved.len(),
        plain.len()
    );
    group.bench_function("writing the frame after one new line", |b| {
        b.iter(|| {
            let mut shown = before.clone();
            let mut out = Vec::new();
            ibet_console::tui::frame::write_frame(&mut out, &mut shown, &after);
            black_box(out.len());
        });
    });

    // Paused in the middle: every frame shows other lines (a page up or down).
    press(&mut view, KeyCode::Char('n'));
    let mut up = true;
    group.bench_function("paging while paused", |b| {
        b.iter(|| {
            press(
                &mut view,
                if up {
                    KeyCode::PageUp
                } else {
                    KeyCode::PageDown
                },
            );
            up = !up;
            terminal
                .draw(|f| {
                    ibet_console::ui::logs::render(&view, &zone, false, &theme, f, f.area());
                })
                .expect("draw");
            black_box(terminal.backend().buffer().area);
        });
    });

    press(&mut view, KeyCode::Char('w'));
    group.bench_function("paging while paused, wrapped", |b| {
        b.iter(|| {
            press(
                &mut view,
                if up {
                    KeyCode::PageUp
                } else {
                    KeyCode::PageDown
                },
            );
            up = !up;
            terminal
                .draw(|f| {
                    ibet_console::ui::logs::render(&view, &zone, false, &theme, f, f.area());
                })
                .expect("draw");
            black_box(terminal.backend().buffer().area);
        });
    });
    group.finish();
}

criterion_group!(benches, frames);
criterion_main!(benches);
