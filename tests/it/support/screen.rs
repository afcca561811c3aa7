//! Renders the console's state into a text screen, for snapshots and assertions.

use std::sync::Arc;

use ibet_console::app::log_tail::sources_for;
use ibet_console::app::logview::LogsMsg;
use ibet_console::app::{ClusterAddr, Effect, Msg, State, update};
use ibet_console::clock::{ManualClock, SharedClock};
use ibet_console::logs::{RequestBudget, Tail, TailConfig};
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

/// Does what the event loop does for the log view's effects, deterministically: an
/// `OpenLogs` runs discovery on the state's snapshot, then reads the backfill window once
/// (no following) on a paused tokio clock and feeds every event of the tail to `update`.
/// Other effects are ignored.
pub fn run_log_effects(state: &mut State, session: &Session, effects: Vec<Effect>) {
    for effect in effects {
        let Effect::OpenLogs {
            env,
            cluster,
            target,
        } = effect
        else {
            continue;
        };
        let config = TailConfig {
            follow: false,
            ..TailConfig::default()
        };
        let at = ClusterAddr { env, cluster };
        let found = sources_for(
            &state.world,
            &session.config,
            at,
            &target,
            session.clock.now_ms(),
            config.since,
        );
        let sources = match found {
            Ok(sources) => sources,
            Err(e) => {
                update(
                    state,
                    Msg::Logs(LogsMsg::Started {
                        tail: 1,
                        result: Err(e),
                    }),
                );
                continue;
            }
        };
        update(
            state,
            Msg::Logs(LogsMsg::Started {
                tail: 1,
                result: Ok(sources.len()),
            }),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime");
        let logs = Arc::clone(&session.backends[env].logs);
        let events = rt.block_on(async {
            let tail = Tail::new(logs, Arc::clone(&session.clock))
                .with_budget(Arc::new(RequestBudget::new(1_000.0, 1_000)))
                .with_config(config);
            let mut handle = tail.spawn(sources, 64);
            let mut events = Vec::new();
            while let Some(event) = handle.recv().await {
                events.push(event);
            }
            events
        });
        for event in events {
            update(state, Msg::Logs(LogsMsg::Tail { tail: 1, event }));
        }
    }
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
