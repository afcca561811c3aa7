//! The TUI. [`Console::run`] is the event loop: terminal events, what the pollers saw,
//! the effect runner's replies and the age tick, merged into one stream of [`Msg`]s
//! applied by [`update`]; a frame is drawn only when the state says something visible
//! changed. While log lines stream, frames are coalesced to at most one per
//! [`LOG_FRAME`]; a key, a resize, a cluster's first look at its services and the first
//! poll of a node on screen draw at once.
//!
//! The modules: [`state`] (the world and the screen), [`msg`], [`update`] (routing),
//! [`input`] (keys, through the table in [`keys`]), [`navigate`], `open` (dialogs,
//! pickers, the log view), [`effects`] (the effect runner), and the dialogs' and views'
//! own state ([`dialog`], [`release`], [`logview`], [`log_picker`], [`log_tail`]).

pub mod dialog;
pub mod effects;
pub mod input;
pub mod keys;
pub mod log_picker;
pub mod log_tail;
pub mod logview;
pub mod msg;
pub mod navigate;
mod open;
pub mod release;
pub mod state;
pub mod update;

pub use msg::{ClusterAddr, Effect, Msg};
pub use state::State;
pub use update::update;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::Event;
use ratatui::backend::Backend;
use ratatui::buffer::Buffer;
use ratatui::{Frame, Terminal};
use tokio::sync::mpsc;

use crate::poll::OnScreen;
use crate::session::Session;
use crate::ui::{Drawn, Theme};
use effects::Effects;
use msg::Observation;

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
    let mut hangup = signal_stream();
    let (events, input) = terminal_events();
    let console = Console::new(&session, &options)
        .with_handover(Box::new(crate::tui::SessionTerminal::new(input)));
    console
        .run(&mut terminal, std::io::stdout(), events, hangup.recv())
        .await?;
    Ok(())
}

/// One console at work: its state, the effect runner, and where messages arrive from.
/// [`Console::run`] is the event loop; it is generic over the terminal (a real one, or
/// ratatui's `TestBackend` with the frames written to a buffer), the source of terminal
/// events and what ends it besides `q`, so tests drive the real loop with scripted keys
/// on paused time.
pub struct Console {
    state: State,
    theme: Theme,
    effects: Effects,
    rx: mpsc::Receiver<Msg>,
    observations: mpsc::Receiver<Observation>,
    clock: crate::clock::SharedClock,
    repaint: bool,
    handover: Box<dyn crate::tui::Handover>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("effects", &self.effects)
            .finish_non_exhaustive()
    }
}

impl Console {
    /// A console on `session`: its state, its pollers started, its audit log read.
    pub fn new(session: &Session, options: &RunOptions) -> Self {
        let (tx, rx) = mpsc::channel::<Msg>(1024);
        let (seen_tx, observations) = mpsc::channel::<Observation>(1024);
        let clock = Arc::clone(&session.clock);
        let mut state = State::new(&session.config, clock.now_ms());
        state.demo = session.is_demo();
        state.write_enabled = options.write;
        state.setup.clone_from(&options.setup);
        if let Some(name) = &options.start_env
            && let Some(i) = state.world.envs.iter().position(|e| &e.name == name)
        {
            state.env = i;
        }
        let pollers = crate::poll::spawn(&session.config, &session.backends, &clock, &seen_tx);
        let effects = Effects::new(session, options.write, pollers, tx);
        Self {
            state,
            theme: options.theme.clone(),
            effects,
            rx,
            observations,
            clock,
            repaint: false,
            handover: Box::new(crate::tui::NoTerminal),
        }
    }

    /// The console with exec sessions run on `handover`'s terminal (without it, a
    /// session runs with its streams detached).
    #[must_use]
    pub fn with_handover(mut self, handover: Box<dyn crate::tui::Handover>) -> Self {
        self.handover = handover;
        self
    }

    /// The state, as of the last message.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Runs the event loop until the operator quits, the events end or `stop` completes;
    /// frames go to `terminal`'s size and their bytes to `out`. Returns the console, with
    /// the state it ended in and the screen it showed.
    pub async fn run<B>(
        mut self,
        terminal: &mut Terminal<B>,
        mut out: impl Write,
        mut events: mpsc::Receiver<std::io::Result<Event>>,
        stop: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<(Self, Option<Buffer>)>
    where
        B: Backend,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let mut last_frame = tokio::time::Instant::now();
        let mut urgent = true;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut stop = std::pin::pin!(stop);
        let mut written = None;
        loop {
            if std::mem::take(&mut self.repaint) {
                crate::tui::repaint(&mut out, &mut written)?;
                self.state.dirty = true;
                urgent = true;
            }
            let state = &mut self.state;
            if state.dirty && (urgent || last_frame.elapsed() >= LOG_FRAME) {
                let drawn = draw_if_changed(terminal, &mut out, &mut written, |f| {
                    crate::ui::render(state, &self.theme, f)
                })?;
                state.drawn(drawn);
                last_frame = tokio::time::Instant::now();
            }
            let msg = tokio::select! {
                ev = events.recv() => match ev {
                    Some(Ok(Event::Key(k))) => Msg::Key(k),
                    Some(Ok(Event::Resize(_, _))) => Msg::Resize,
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e.into()),
                    None => break,
                },
                Some(m) = self.rx.recv() => m,
                Some(o) = self.observations.recv() => Msg::Observed(o),
                _ = tick.tick() => Msg::Tick(self.clock.now_ms()),
                () = &mut stop => break,
                // Lines arrived since the last frame: draw them when the frame is due.
                () = tokio::time::sleep_until(last_frame + LOG_FRAME), if self.state.dirty => {
                    urgent = true;
                    continue;
                }
            };
            let msg = match msg {
                Msg::Session(request) => {
                    // The screen is the session's until it ends; then all of it again.
                    let end = self.hand_over(&request.what, &request.command).await;
                    let _ = request.reply.send(end);
                    self.repaint = true;
                    continue;
                }
                other => other,
            };
            // Keys are drawn at once, and so is the first sight of a cluster's services
            // and of the nodes on screen (the first screen does not wait for the frame
            // rhythm); other data (node samples, ECS, log lines) at most 20 times a
            // second, so a burst of messages is applied before one frame.
            urgent = matches!(msg, Msg::Key(_) | Msg::Resize) || self.state.first_sight(&msg);
            let wakes = self.state.wants_full_rhythm(&msg);
            let tick = matches!(msg, Msg::Tick(_));
            self.apply(msg);
            if wakes {
                // An open action (on a tick) holds every poller's rhythm; a key calls back
                // those of what the screen shows, in the state it leads to (a key that
                // selects another cluster calls that cluster's).
                let on_screen = if tick {
                    OnScreen::Everything
                } else {
                    self.state.on_screen()
                };
                self.effects.pollers().attention_to(on_screen);
            }
            if self.state.quit {
                break;
            }
        }
        Ok((self, written))
    }

    /// Runs an exec session's command on the terminal handed over, and takes the
    /// terminal back whatever the end; the loop then writes the whole frame again.
    async fn hand_over(
        &mut self,
        what: &str,
        command: &crate::ops::exec::ExecCommand,
    ) -> crate::ops::exec::SessionEnd {
        use crate::ops::exec::{SessionEnd, run_attached};
        if let Err(e) = self.handover.suspend(what) {
            let _ = self.handover.resume(&SessionEnd::Exited(0));
            return SessionEnd::NotStarted(format!("the terminal could not be handed over: {e}"));
        }
        let end = run_attached(command, self.handover.attach()).await;
        let _ = self.handover.resume(&end);
        end
    }

    /// Applies a message, runs the effects it asks for, and applies their immediate
    /// replies.
    pub fn apply(&mut self, msg: Msg) {
        let ecs_at = match &msg {
            Msg::Observed(Observation::Ecs { at, .. }) => Some(*at),
            _ => None,
        };
        for effect in update(&mut self.state, msg) {
            if effect == Effect::Repaint {
                // The loop owns the terminal: it repaints before the next frame.
                self.repaint = true;
                continue;
            }
            if let Some(reply) = self.effects.run(&self.state, effect) {
                update(&mut self.state, reply);
            }
        }
        if let Some(at) = ecs_at
            && let Some(reply) = self.effects.on_snapshot(&self.state, at)
        {
            update(&mut self.state, reply);
        }
    }
}

/// Renders a frame and writes what changed since the last frame written, in one write
/// and few bytes ([`crate::tui::frame`]): a redraw that changes nothing on screen (an age
/// tick that did not change a displayed age) writes not a byte, where `Terminal::draw`
/// would still send colour resets and a hide-cursor sequence. The cursor stays hidden
/// from [`crate::tui::enter`] on.
///
/// `last_frame` is what the screen shows; after a resize (ratatui clears the screen), a
/// repaint ([`crate::tui::repaint`]) or at the start it is a blank screen of the new size.
fn draw_if_changed<B>(
    terminal: &mut Terminal<B>,
    out: &mut impl Write,
    last_frame: &mut Option<Buffer>,
    render: impl FnOnce(&mut Frame) -> Drawn,
) -> std::io::Result<Drawn>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    terminal.autoresize().map_err(std::io::Error::other)?;
    let drawn = render(&mut terminal.get_frame());
    let frame = terminal.current_buffer_mut();
    let mut shown = match last_frame.take() {
        Some(b) if b.area == frame.area => b,
        _ => Buffer::empty(frame.area),
    };
    let mut bytes = Vec::new();
    crate::tui::frame::write_frame(&mut bytes, &mut shown, frame);
    *last_frame = Some(shown);
    if bytes.is_empty() {
        // Leave ratatui's buffers as they were: the next frame is drawn on a blank one.
        frame.reset();
        return Ok(drawn);
    }
    // The terminal's backend writes to stdout: so does the frame (through its lock).
    out.write_all(&bytes)?;
    out.flush()?;
    // ratatui's own record of the screen follows: its next frame starts blank.
    terminal.swap_buffers();
    Ok(drawn)
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

/// The terminal's events, read on a thread of their own. (crossterm's `EventStream` would
/// look at the terminal each time anything woke the loop, ten times a second with the
/// node polls alone, and each look spins on a lock its own waiting thread holds.) The
/// thread blocks in `read` until a key, a resize or the end of the input; it ends with
/// the process.
///
/// The [`crate::tui::InputGate`] parks the thread while an exec session reads the
/// terminal.
fn terminal_events() -> (
    mpsc::Receiver<std::io::Result<Event>>,
    crate::tui::InputGate,
) {
    let (tx, rx) = mpsc::channel(64);
    let gate = crate::tui::InputGate::default();
    let gated = gate.clone();
    let reader = move || {
        loop {
            gated.wait_while_paused();
            let event = crossterm::event::read();
            let failed = event.is_err();
            if tx.blocking_send(event).is_err() || failed {
                return;
            }
        }
    };
    if let Err(e) = std::thread::Builder::new()
        .name("terminal input".into())
        .spawn(reader)
    {
        // Without a reader the loop sees the input end, and says why.
        let (tx, rx) = mpsc::channel(1);
        let _ = tx.try_send(Err(e));
        return (rx, gate);
    }
    (rx, gate)
}

fn signal_stream() -> Hangup {
    use tokio::signal::unix::{SignalKind, signal};
    Hangup {
        term: signal(SignalKind::terminate()).ok(),
        hup: signal(SignalKind::hangup()).ok(),
    }
}
