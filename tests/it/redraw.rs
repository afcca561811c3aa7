//! The event loop draws again on a clock tick only once the frame on screen would come
//! out different: every frame notes when it changes with the clock alone
//! (`clock::watch_changes`), and the tick marks the screen dirty from then on.
//!
//! These tests hold the demo world's data still, move only the clock (in steps that do not
//! fall on whole seconds), and check the promise both ways: a frame drawn when the tick did
//! not ask for one is identical, cell by cell and colour by colour, to the frame on screen;
//! and once everything has turned (stalled, stale, ages in minutes), few frames are drawn.
//! The problems list, recomputed on a tick only when due the same way, is checked against
//! a fresh computation at every step. And Ctrl-l, the repaint after something else wrote
//! to the terminal, is asked for wherever the operator is and changes nothing else.

use crate::support::screen;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ibet_console::app::{Effect, Msg, State, update};
use ibet_console::problems::current as current_problems;
use ibet_console::ui::{Drawn, Theme, render};
use ibet_console::world::LONGEST_STILL_MS;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use screen::{demo_session, polled_state, run_log_effects, screen};

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// One frame of `state` with every cell's symbol and style, and what it reported.
fn frame(state: &State, width: u16, height: u16) -> (Buffer, Drawn) {
    let theme = Theme::default_theme();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    let mut drawn = Drawn::default();
    terminal
        .draw(|f| drawn = render(state, &theme, f))
        .expect("draw");
    (terminal.backend().buffer().clone(), drawn)
}

fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    (0..area.height)
        .map(|y| {
            let line: String = (0..area.width).map(|x| buffer[(x, y)].symbol()).collect();
            line.trim_end().to_owned() + "\n"
        })
        .collect()
}

/// What the clock alone did to the screen over a run.
#[derive(Debug, Default)]
struct Run {
    /// Frames the ticks asked for.
    drawn: usize,
    /// Of those, frames that differed from the one on screen.
    changed: usize,
    /// The same two counts over the run's last five minutes.
    late_drawn: usize,
    late_changed: usize,
}

/// Moves the clock of `state` by `step_ms` at a time for `minutes`, its data held still,
/// ticking as the event loop does; checks every frame against the one on screen.
fn run_clock(state: &mut State, width: u16, height: u16, minutes: i64, step_ms: i64) -> Run {
    let start = state.now();
    let end = start + minutes * 60_000;
    let late = end - 5 * 60_000;
    let (mut shown, changes_in) = frame(state, width, height);
    state.drawn(changes_in);
    let mut run = Run::default();
    let mut now = start;
    while now < end {
        now += step_ms;
        update(state, Msg::Tick(now));
        let at = (now - start) as f64 / 1000.0;
        // The problems list is recomputed only when due: it must be what it would be.
        let listed: Vec<(String, String)> = state
            .world
            .problems
            .iter()
            .map(|p| (p.key(), p.summary.clone()))
            .collect();
        let current: Vec<(String, String)> = current_problems(&state.world)
            .iter()
            .map(|p| (p.key(), p.summary.clone()))
            .collect();
        assert_eq!(
            listed,
            current,
            "{width}x{height}: at +{at:.1} s the problems list is out of date (due at +{:.1} s)",
            (state.world.problems_due_at.unwrap_or(0) - start) as f64 / 1000.0,
        );
        let (next, changes_in) = frame(state, width, height);
        if state.dirty {
            run.drawn += 1;
            let changed = next != shown;
            run.changed += usize::from(changed);
            if now >= late {
                run.late_drawn += 1;
                run.late_changed += usize::from(changed);
            }
            state.drawn(changes_in);
            shown = next;
        } else {
            assert!(
                next == shown,
                "{width}x{height}: at +{at:.1} s the frame changed, but the frame on screen \
                 said it would not change before +{:.1} s\n--- on screen:\n{}--- now:\n{}",
                (state.redraw_at.unwrap_or(0) - start) as f64 / 1000.0,
                text(&shown),
                text(&next),
            );
        }
    }
    run
}

/// Ages shown in minutes tick once a minute; the still frame is drawn again every
/// `LONGEST_STILL_MS` at most. Over five still minutes that is the most drawing allowed.
fn assert_quiet_late(what: &str, run: &Run) {
    eprintln!("{what}: {run:?}");
    let bound = usize::try_from(5 * 60_000 / LONGEST_STILL_MS).unwrap_or(usize::MAX) + 10;
    assert!(
        run.late_drawn <= bound,
        "{what}: {} frames drawn in the last five still minutes (at most {bound})",
        run.late_drawn
    );
    assert!(
        run.late_changed <= 12,
        "{what}: the screen changed {} times in the last five still minutes",
        run.late_changed
    );
}

#[test]
fn the_overview_is_drawn_again_only_when_it_would_change() {
    for (width, height) in [(80, 24), (160, 48)] {
        let (session, _clock) = demo_session(7, 120);
        let mut state = polled_state(&session);
        // The chains stop, the data turns stale, problems pile up and age.
        let run = run_clock(&mut state, width, height, 12, 700);
        assert!(
            run.changed > 10,
            "{width}x{height}: the clock changed nothing? {run:?}"
        );
        assert_quiet_late(&format!("overview {width}x{height}"), &run);
    }
}

#[test]
fn the_quorum_sparkline_and_the_path_move_with_the_clock_as_they_said() {
    // Staging satoshi: validators with a sparkline of blocks per 5 s, which slides.
    let (session, clock) = demo_session(11, 90);
    let mut state = polled_state(&session);
    // A minute of polls every second, so the node histories hold blocks to slide.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for _ in 0..60 {
        clock.advance(1_000);
        for msg in rt.block_on(ibet_console::poll::poll_once(
            &session.config,
            &session.backends,
            &session.clock,
        )) {
            update(&mut state, Msg::Observed(msg));
        }
    }
    update(&mut state, key(KeyCode::Tab));
    update(&mut state, key(KeyCode::Char(']')));
    let run = run_clock(&mut state, 160, 48, 8, 450);
    assert_quiet_late("satoshi 160x48", &run);
    // The path panel, focused.
    update(&mut state, key(KeyCode::Char('[')));
    update(&mut state, key(KeyCode::Char('p')));
    run_clock(&mut state, 120, 40, 3, 1_300);
}

#[test]
fn the_tasks_and_the_log_view_are_drawn_again_only_when_they_would_change() {
    let (session, _clock) = demo_session(7, 120);
    let mut state = polled_state(&session);
    update(&mut state, key(KeyCode::Enter));
    let run = run_clock(&mut state, 160, 48, 8, 900);
    assert_quiet_late("tasks 160x48", &run);
    update(&mut state, key(KeyCode::Esc));
    let effects = update(&mut state, key(KeyCode::Char('l')));
    run_log_effects(&mut state, &session, effects);
    let run = run_clock(&mut state, 80, 24, 8, 1_100);
    assert_quiet_late("logs 80x24", &run);
}

#[test]
fn ctrl_l_asks_for_a_repaint_wherever_the_operator_is_and_does_nothing_else() {
    fn repaints(state: &mut State, where_: &str) {
        let before = screen(state, 80, 24);
        let ctrl_l = Msg::Key(KeyEvent::new(KeyCode::Char('l'), KeyModifiers::CONTROL));
        assert_eq!(update(state, ctrl_l), [Effect::Repaint], "{where_}");
        assert!(state.dirty, "{where_}");
        assert_eq!(screen(state, 80, 24), before, "{where_}");
    }
    let (session, _clock) = demo_session(7, 120);
    let mut state = polled_state(&session);
    // Not `l` (the service's logs) on the overview.
    repaints(&mut state, "overview");
    // Not an `l` typed into the filter.
    update(&mut state, key(KeyCode::Char('/')));
    repaints(&mut state, "filter");
    update(&mut state, key(KeyCode::Esc));
    update(&mut state, key(KeyCode::Char('?')));
    repaints(&mut state, "help");
    update(&mut state, key(KeyCode::Esc));
    let effects = update(&mut state, key(KeyCode::Char('l')));
    run_log_effects(&mut state, &session, effects);
    assert!(screen(&mut state, 80, 24).contains("Logs ·"));
    repaints(&mut state, "logs");
}
