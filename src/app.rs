//! The event loop: terminal events, backend messages and the age tick, merged into one
//! stream of [`Msg`]s applied by [`update`]; a frame is drawn only when the state says
//! something visible changed. While log lines stream, frames are coalesced to at most
//! one per [`LOG_FRAME`]; anything else (a key, a tick, a poll) draws at once.

pub mod log_tail;
pub mod logview;
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
use tokio::sync::mpsc;

use crate::session::Session;
use crate::ui::Theme;
use log_tail::LogTails;

/// The shortest time between two frames drawn for new log lines (20 frames a second).
pub const LOG_FRAME: Duration = Duration::from_millis(50);

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
    let mut logs = LogTails::new(
        &session.config,
        &session.backends,
        Arc::clone(&clock),
        tx.clone(),
    );
    let mut last_frame = tokio::time::Instant::now();
    let mut urgent = true;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut hangup = signal_stream();

    loop {
        if state.dirty && (urgent || last_frame.elapsed() >= LOG_FRAME) {
            terminal.draw(|f| crate::ui::render(&state, &options.theme, f))?;
            state.dirty = false;
            last_frame = tokio::time::Instant::now();
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
            // Lines arrived since the last frame: draw them when the frame is due.
            () = tokio::time::sleep_until(last_frame + LOG_FRAME), if state.dirty => {
                urgent = true;
                continue;
            }
        };
        urgent = !matches!(msg, Msg::Logs(_));
        let ecs_at = match &msg {
            Msg::Ecs { at, .. } => Some(*at),
            _ => None,
        };
        for effect in update(&mut state, msg) {
            let reply = match effect {
                Effect::Quit => None,
                Effect::RefreshNow => {
                    pollers.refresh_now();
                    None
                }
                Effect::OpenLogs {
                    env,
                    cluster,
                    target,
                } => Some(logs.open(&state, ClusterAddr { env, cluster }, target, None)),
                Effect::RestartLogs { filter } => logs.restart(&state, filter),
                Effect::SaveLogs(path) => log_tail::save(&state, &path),
                Effect::CloseLogs => {
                    logs.close();
                    None
                }
            };
            if let Some(reply) = reply {
                update(&mut state, reply);
            }
        }
        if let Some(at) = ecs_at
            && let Some(reply) = logs.on_snapshot(&state, at)
        {
            update(&mut state, reply);
        }
        if state.quit {
            break;
        }
    }
    drop(pollers);
    Ok(())
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
