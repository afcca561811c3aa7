//! Benchmarks of the overview's hot paths with a large cluster selected (200 services,
//! 2,000 tasks, nine Quorum nodes with five minutes of history): drawing one frame on a
//! ratatui `TestBackend` at 160x48 and 200x50, and applying one poll's worth of messages
//! (a new snapshot of every cluster and a sample of every node) with `update`.
//!
//! The target is at most 2 ms per overview frame. It measures only; it asserts nothing.

#![allow(missing_docs)]

#[path = "support/big_world.rs"]
mod big_world;

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ibet_console::app::update;
use ibet_console::ui::{Theme, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use big_world::{T0, big_state, config, poll_messages};

fn render_overview(c: &mut Criterion) {
    let state = big_state();
    let theme = Theme::default_theme();
    let mut group = c.benchmark_group("render overview (200 services, 2000 tasks)");
    for (w, h) in [(160, 48), (200, 50)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        group.bench_function(format!("{w}x{h}"), |b| {
            b.iter(|| {
                terminal
                    .draw(|f| {
                        render(black_box(&state), &theme, f);
                    })
                    .expect("draw");
            });
        });
    }
    group.finish();
}

fn apply_poll(c: &mut Criterion) {
    let config = config();
    let mut state = big_state();
    let mut generation = 0_u64;
    let mut group = c.benchmark_group("update");
    group.bench_function(
        "one poll: every cluster's snapshot and every node's sample",
        |b| {
            b.iter_batched(
                || {
                    generation += 1;
                    poll_messages(&config, T0 + generation as i64 * 1000, generation)
                },
                |msgs| {
                    for m in msgs {
                        black_box(update(&mut state, m));
                    }
                },
                BatchSize::LargeInput,
            );
        },
    );
    group.finish();
}

criterion_group!(benches, render_overview, apply_poll);
criterion_main!(benches);
