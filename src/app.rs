//! The event loop: terminal events, backend messages and the age tick, merged into one
//! stream of [`Msg`]s applied by [`update`]; a frame is drawn only when the state says
//! something visible changed.

pub mod msg;
pub mod state;
pub mod update;

pub use msg::{ClusterAddr, Effect, Msg};
pub use state::State;
pub use update::update;

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use ratatui::Frame;
use ratatui::backend::Backend as _;
use ratatui::buffer::Buffer;
use tokio::sync::mpsc;

use crate::session::Session;
use crate::ui::Theme;

/// How the TUI starts.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Colours.
    pub theme: Theme,
    /// Environment shown first.
    pub start_env: Option<String>,
    /// `--write` given.
    pub write: bool,
    /// Lines telling how to get started, when there is no config file.
    pub setup: Option<Vec<String>>,
}

/// Runs the TUI until the operator quits. The terminal is restored on every path.
pub async fn run(session: Session, options: RunOptions) -> anyhow::Result<()> {
    let (mut terminal, _guard) = crate::tui::enter()?;
    let (tx, mut rx) = mpsc::channel::<Msg>(1024);
    let clock = Arc::clone(&session.clock);
    let mut state = State::new(&session.config, clock.now_ms());
    state.demo = session.is_demo();
    state.write_enabled = options.write;
    state.setup = options.setup.clone();
    if let Some(name) = &options.start_env
        && let Some(i) = state.envs.iter().position(|e| &e.name == name)
    {
        state.env = i;
    }
    let pollers = crate::poll::spawn(&session.config, &session.backends, &clock, &tx);
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut hangup = signal_stream();

    let mut last_frame = None;
    loop {
        if state.dirty {
            draw_if_changed(&mut terminal, &mut last_frame, |f| {
                crate::ui::render(&state, &options.theme, f);
            })?;
            state.dirty = false;
        }
        let msg = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => Msg::Key(k),
                Some(Ok(Event::Resize(_, _))) => Msg::Resize,
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            Some(m) = rx.recv() => m,
            _ = tick.tick() => Msg::Tick(clock.now_ms()),
            () = hangup.recv() => break,
        };
        for effect in update(&mut state, msg) {
            match effect {
                Effect::Quit => {}
                Effect::RefreshNow => pollers.refresh_now(),
            }
        }
        if state.quit {
            break;
        }
    }
    drop(pollers);
    Ok(())
}

/// Renders a frame and writes it to the terminal only when it differs from the last frame
/// written: a redraw that changes nothing on screen (an age tick that did not change a
/// displayed age, a poll that brought the same data) writes not a byte, where
/// `Terminal::draw` would still send colour resets and a hide-cursor sequence. The cursor
/// stays hidden from [`crate::tui::enter`] on.
fn draw_if_changed(
    terminal: &mut crate::tui::Term,
    last_frame: &mut Option<Buffer>,
    render: impl FnOnce(&mut Frame),
) -> std::io::Result<()> {
    terminal.autoresize()?;
    render(&mut terminal.get_frame());
    let frame = terminal.current_buffer_mut();
    if last_frame.as_ref() == Some(&*frame) {
        // Leave ratatui's buffers as they were: the next frame is drawn on a blank one.
        frame.reset();
        return Ok(());
    }
    *last_frame = Some(frame.clone());
    terminal.flush()?;
    terminal.swap_buffers();
    terminal.backend_mut().flush()
}

/// SIGTERM and SIGHUP (a dropped SSH session) end the loop so the terminal is restored.
struct Hangup {
    term: Option<tokio::signal::unix::Signal>,
    hup: Option<tokio::signal::unix::Signal>,
}

impl Hangup {
    async fn recv(&mut self) {
        let term = async {
            match self.term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let hup = async {
            match self.hup.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = term => {},
            () = hup => {},
        }
    }
}

fn signal_stream() -> Hangup {
    use tokio::signal::unix::{SignalKind, signal};
    Hangup {
        term: signal(SignalKind::terminate()).ok(),
        hup: signal(SignalKind::hangup()).ok(),
    }
}
