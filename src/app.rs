//! The event loop: terminal events, backend messages and the age tick, merged into one
//! stream of [`Msg`]s applied by [`update`]; a frame is drawn only when the state says
//! something visible changed. While log lines stream, frames are coalesced to at most
//! one per [`LOG_FRAME`]; anything else (a key, a tick, a poll) draws at once.

pub mod dialog;
pub mod log_picker;
pub mod log_tail;
pub mod logview;
pub mod msg;
pub mod release;
pub mod state;
pub mod update;

pub use msg::{ClusterAddr, Effect, Msg};
pub use state::State;
pub use update::update;

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::Event;
use ratatui::Frame;
use ratatui::buffer::Buffer;
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
    let ops = OpRunner::new(&session, options.write, tx.clone());
    ops.load_recent_actions();
    let mut logs = LogTails::new(
        &session.config,
        &session.backends,
        Arc::clone(&clock),
        tx.clone(),
    );
    let mut last_frame = tokio::time::Instant::now();
    let mut urgent = true;
    let mut events = terminal_events();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut hangup = signal_stream();

    let mut written = None;
    loop {
        if state.dirty && (urgent || last_frame.elapsed() >= LOG_FRAME) {
            let (drawn, changes_in) = crate::clock::watch_changes(|| {
                draw_if_changed(&mut terminal, &mut written, |f| {
                    crate::ui::render(&state, &options.theme, f);
                })
            });
            drawn?;
            state.drawn(changes_in);
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
            Some(m) = rx.recv() => m,
            _ = tick.tick() => Msg::Tick(clock.now_ms()),
            () = hangup.recv() => break,
            // Lines arrived since the last frame: draw them when the frame is due.
            () = tokio::time::sleep_until(last_frame + LOG_FRAME), if state.dirty => {
                urgent = true;
                continue;
            }
        };
        // Keys are drawn at once; data (node samples, ECS, log lines) at most
        // 20 times a second, so a burst of messages is applied before one frame.
        urgent = matches!(msg, Msg::Key(_) | Msg::Resize);
        if state.wants_full_rhythm(&msg) {
            pollers.attention();
        }
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
                Effect::Repaint => {
                    crate::tui::repaint(&mut written)?;
                    state.dirty = true;
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
                other => {
                    ops.handle(other);
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

/// Renders a frame and writes what changed since the last frame written, in one write
/// and few bytes ([`crate::tui::frame`]): a redraw that changes nothing on screen (an age
/// tick that did not change a displayed age) writes not a byte, where `Terminal::draw`
/// would still send colour resets and a hide-cursor sequence. The cursor stays hidden
/// from [`crate::tui::enter`] on.
///
/// `last_frame` is what the screen shows; after a resize (ratatui clears the screen), a
/// repaint ([`crate::tui::repaint`]) or at the start it is a blank screen of the new size.
fn draw_if_changed(
    terminal: &mut crate::tui::Term,
    last_frame: &mut Option<Buffer>,
    render: impl FnOnce(&mut Frame),
) -> std::io::Result<()> {
    use std::io::Write as _;
    terminal.autoresize()?;
    render(&mut terminal.get_frame());
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
        return Ok(());
    }
    // The terminal's backend writes to stdout: so does the frame, through the same lock.
    let mut out = std::io::stdout().lock();
    out.write_all(&bytes)?;
    out.flush()?;
    drop(out);
    // ratatui's own record of the screen follows: its next frame starts blank.
    terminal.swap_buffers();
    Ok(())
}

/// Runs the ops layer for the TUI: plans, executions, the open dialog's gate poller and
/// the release picker's read of revisions, each in a spawned task that reports back as a
/// [`Msg`].
struct OpRunner {
    contexts: Vec<crate::ops::OpContext>,
    executor: Option<Arc<crate::ops::Executor>>,
    audit: Option<crate::ops::audit::AuditLog>,
    tx: mpsc::Sender<Msg>,
    gate_task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    gate_interval: Duration,
}

impl OpRunner {
    fn new(session: &Session, write: bool, tx: mpsc::Sender<Msg>) -> Self {
        use crate::ops::audit::{AuditLog, os_user_from_env};
        let contexts = session
            .config
            .environments
            .iter()
            .zip(&session.backends)
            .map(|(environment, backends)| crate::ops::OpContext {
                environment: environment.clone(),
                backends: backends.clone(),
                clock: Arc::clone(&session.clock),
                write,
            })
            .collect();
        // The demo world's actions are audited apart from real ones (unless a log is
        // named: `--audit-log`).
        let audit = if session.is_demo() && session.config.audit_log.is_none() {
            crate::config::data_dir().map(|d| AuditLog::new(d.join("audit-demo.jsonl")))
        } else {
            AuditLog::from_config(&session.config)
        };
        let executor = audit
            .clone()
            .map(|a| Arc::new(crate::ops::Executor::new(a, os_user_from_env())));
        Self {
            contexts,
            executor,
            audit,
            tx,
            gate_task: std::sync::Mutex::new(None),
            gate_interval: Duration::from_secs(session.config.rpc_poll_secs.max(1)),
        }
    }

    /// Reads the latest actions from the audit log, off the event loop.
    fn load_recent_actions(&self) {
        let Some(audit) = self.audit.clone() else {
            return;
        };
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let entries = tokio::task::spawn_blocking(move || audit.recent(8).unwrap_or_default())
                .await
                .unwrap_or_default();
            let _ = tx.send(Msg::RecentActions(entries)).await;
        });
    }

    fn handle(&self, effect: Effect) {
        match effect {
            Effect::Quit
            | Effect::RefreshNow
            | Effect::Repaint
            | Effect::OpenLogs { .. }
            | Effect::RestartLogs { .. }
            | Effect::SaveLogs(_)
            | Effect::CloseLogs => {}
            Effect::LoadRevisions {
                at,
                service,
                current,
            } => {
                let Some(ctx) = self.contexts.get(at.env).cloned() else {
                    return;
                };
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let result = release::read_revisions(ctx.backends.ecs.as_ref(), &current).await;
                    let _ = tx
                        .send(Msg::Revisions {
                            at,
                            service,
                            result,
                        })
                        .await;
                });
            }
            Effect::PlanOp { env, op } => {
                let Some(ctx) = self.contexts.get(env).cloned() else {
                    return;
                };
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let plan = crate::ops::plan(&op, &ctx).await;
                    let _ = tx.send(Msg::PlanReady(Box::new(plan))).await;
                });
            }
            Effect::ExecuteOp {
                env,
                plan,
                approval,
            } => {
                let Some(ctx) = self.contexts.get(env).cloned() else {
                    return;
                };
                let tx = self.tx.clone();
                let Some(executor) = self.executor.clone() else {
                    let report = crate::ops::OpReport {
                        plan_id: plan.id,
                        op: plan.op.clone(),
                        outcome: crate::ops::Outcome::Refused,
                        message: format!("{}: refused, no audit log location", plan.op.title()),
                        error: Some("no place to write the audit log".into()),
                        hint: Some("set `audit_log` in the config".into()),
                        override_gate: false,
                        checks: plan.checks.clone(),
                        repeat: None,
                    };
                    tokio::spawn(async move {
                        let _ = tx.send(Msg::OpDone(Box::new(report))).await;
                    });
                    return;
                };
                let audit = self.audit.clone();
                tokio::spawn(async move {
                    let report = executor.execute(&plan, &approval, &ctx).await;
                    let _ = tx.send(Msg::OpDone(Box::new(report))).await;
                    if let Some(audit) = audit {
                        let entries = tokio::task::spawn_blocking(move || {
                            audit.recent(8).unwrap_or_default()
                        })
                        .await
                        .unwrap_or_default();
                        let _ = tx.send(Msg::RecentActions(entries)).await;
                    }
                });
            }
            Effect::GatePolling(pair) => {
                let mut slot = match self.gate_task.lock() {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
                if let Some(task) = slot.take() {
                    task.abort();
                }
                let Some((env, pair)) = pair else {
                    return;
                };
                let Some(ctx) = self.contexts.get(env).cloned() else {
                    return;
                };
                let tx = self.tx.clone();
                let interval = self.gate_interval;
                *slot = Some(tokio::spawn(async move {
                    loop {
                        let poll = crate::ops::gate::poll(
                            ctx.backends.rpc.as_ref(),
                            &pair,
                            ctx.clock.as_ref(),
                        )
                        .await;
                        if tx.send(Msg::GatePoll(Box::new(poll))).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(interval).await;
                    }
                }));
            }
        }
    }
}

impl Drop for OpRunner {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.gate_task.lock()
            && let Some(task) = slot.take()
        {
            task.abort();
        }
    }
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
fn terminal_events() -> mpsc::Receiver<std::io::Result<Event>> {
    let (tx, rx) = mpsc::channel(64);
    let reader = move || {
        loop {
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
        return rx;
    }
    rx
}

fn signal_stream() -> Hangup {
    use tokio::signal::unix::{SignalKind, signal};
    Hangup {
        term: signal(SignalKind::terminate()).ok(),
        hup: signal(SignalKind::hangup()).ok(),
    }
}
