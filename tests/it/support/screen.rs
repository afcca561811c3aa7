//! Renders the console's state into a text screen, for snapshots and assertions.

use std::sync::Arc;

use ibet_console::app::log_tail::LogTails;
use ibet_console::app::{ClusterAddr, Effect, Msg, State, update};
use ibet_console::clock::{ManualClock, SharedClock};
use ibet_console::poll::poll_once;
use ibet_console::session::Session;
use ibet_console::ui::{Theme, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The demo world's start time in snapshots: 2026-11-28 03:00:00 UTC.
pub const T0: i64 = 1_795_748_400_000;

/// A demo session at a fixed seed, its clock at `T0 + secs`.
pub fn demo_session(seed: u64, secs: i64) -> (Session, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let shared: SharedClock = clock.clone();
    let session = Session::demo(seed, shared);
    clock.advance(secs * 1000);
    (session, clock)
}

/// A state filled by one poll of everything in `session`.
pub fn polled_state(session: &Session) -> State {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let msgs = rt.block_on(poll_once(
        &session.config,
        &session.backends,
        &session.clock,
    ));
    let mut state = State::new(&session.config, session.clock.now_ms());
    state.demo = session.is_demo();
    for m in msgs {
        update(&mut state, Msg::Observed(m));
    }
    state
}

/// Runs the log view's effects with the console's own log tails ([`LogTails`], what the
/// event loop's effect runner uses): an `OpenLogs` runs discovery on the state's
/// snapshot and starts the tail, which reads its backfill window and follows on a paused
/// tokio clock for a few seconds while the demo world's clock stands still (so nothing
/// new arrives and the lines are the same every run); every message it sends is applied
/// to the state. Other effects are ignored.
pub fn run_log_effects(state: &mut State, session: &Session, effects: Vec<Effect>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let mut tails = LogTails::new(
            &session.config,
            &session.backends,
            Arc::clone(&session.clock),
            tx,
        );
        for effect in effects {
            let Effect::OpenLogs {
                env,
                cluster,
                target,
            } = effect
            else {
                continue;
            };
            let started = tails.open(&state.world, ClusterAddr { env, cluster }, target, None);
            update(state, started);
        }
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        tails.close();
        while let Ok(msg) = rx.try_recv() {
            update(state, msg);
        }
    });
}

/// The screen as text, one line per row, trailing spaces trimmed.
pub fn screen(state: &mut State, width: u16, height: u16) -> String {
    let theme = Theme::default_theme();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    let mut drawn = None;
    terminal
        .draw(|f| drawn = Some(render(state, &theme, f)))
        .expect("draw");
    // What the frame reports goes back to the state, as the event loop does.
    if let Some(drawn) = drawn {
        state.drawn(drawn);
    }
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..height {
        let mut line = String::new();
        for x in 0..width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
