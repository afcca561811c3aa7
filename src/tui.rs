//! The terminal: enter and leave full-screen mode, restore it on every exit path, and
//! clear it for a repaint.
//!
//! [`TerminalGuard`] restores the terminal when dropped; the panic hook installed by
//! [`enter`] restores it before the panic message is printed, so an operator never
//! inherits a terminal in raw mode, with a hidden cursor or with a narrowed scroll
//! region (the frame writer sets one for a moment to move rows). This module writes no
//! frames: [`frame`] does.
//!
//! [`SessionTerminal`] hands the terminal to an exec session and takes it back: the
//! input thread parked ([`InputGate`]), the full screen left, then entered again
//! whatever the session's end.

use std::io::{self, Stdout, Write};

use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::style::{Attribute, SetAttribute};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::buffer::Buffer;

pub mod frame;

/// The terminal type the console draws on.
pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Restores the terminal when dropped.
#[derive(Debug)]
pub struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Switches to raw mode and the alternate screen, and installs the restoring panic hook.
pub fn enter() -> io::Result<(Term, TerminalGuard)> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    enable_raw_mode()?;
    let guard = TerminalGuard;
    let mut out = io::stdout();
    execute!(out, EnterAlternateScreen, Hide)?;
    let terminal = Terminal::new(CrosstermBackend::new(out))?;
    Ok((terminal, guard))
}

/// Leaves raw mode and the alternate screen and shows the cursor. Safe to call twice.
pub fn restore() {
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    let _ = leave(&mut out);
    let _ = out.flush();
}

/// Writes what leaves the full screen: the whole screen as the scroll region again
/// (before leaving the alternate screen, as resetting it also moves the cursor home),
/// the default pen, the main screen, and the cursor shown.
fn leave(out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"\x1b[r")?;
    execute!(
        out,
        SetAttribute(Attribute::Reset),
        LeaveAlternateScreen,
        Show
    )
}

/// Stops the terminal input thread while another program reads the terminal, and lets
/// it go on after. The thread asks [`InputGate::wait_while_paused`] before each read;
/// [`InputGate::pause`] wakes it out of the read it is blocked in.
#[derive(Debug, Clone, Default)]
pub struct InputGate {
    inner: std::sync::Arc<(std::sync::Mutex<GateState>, std::sync::Condvar)>,
}

#[derive(Debug, Default)]
struct GateState {
    paused: bool,
    parked: bool,
}

impl InputGate {
    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.inner
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Called by the input thread before each read: returns at once unless paused, else
    /// when resumed.
    pub fn wait_while_paused(&self) {
        let (_, ready) = &*self.inner;
        let mut state = self.lock();
        while state.paused {
            state.parked = true;
            ready.notify_all();
            state = ready
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        state.parked = false;
    }

    /// Stops the input thread before its next read and waits (up to a second) until it
    /// is parked. The thread is blocked in crossterm's read: a window-size signal to
    /// this process ends that read with a resize event (which the console redraws
    /// for anyway), and the thread parks before reading again.
    pub fn pause(&self) {
        let (_, ready) = &*self.inner;
        let mut state = self.lock();
        state.paused = true;
        if state.parked {
            return;
        }
        drop(state);
        let _ = signal_hook::low_level::raise(signal_hook::consts::SIGWINCH);
        let state = self.lock();
        let _ = ready
            .wait_timeout_while(state, std::time::Duration::from_secs(1), |s| !s.parked)
            .map_err(|_| ());
    }

    /// Lets the input thread read again.
    pub fn resume(&self) {
        let (_, ready) = &*self.inner;
        self.lock().paused = false;
        ready.notify_all();
    }
}

/// The terminal handed to an exec session and taken back: what the event loop does
/// around the session's command.
pub trait Handover: Send {
    /// Where the session's standard streams go.
    fn attach(&self) -> crate::ops::exec::Attach;
    /// Before the command runs; `what` names the session.
    fn suspend(&mut self, what: &str) -> io::Result<()>;
    /// After it ended as `end`, whatever that was.
    fn resume(&mut self, end: &crate::ops::exec::SessionEnd) -> io::Result<()>;
}

/// No terminal to hand over (a console drawn on a test backend): the session runs with
/// its streams detached.
#[derive(Debug, Default)]
pub struct NoTerminal;

impl Handover for NoTerminal {
    fn attach(&self) -> crate::ops::exec::Attach {
        crate::ops::exec::Attach::Detached
    }

    fn suspend(&mut self, _what: &str) -> io::Result<()> {
        Ok(())
    }

    fn resume(&mut self, _end: &crate::ops::exec::SessionEnd) -> io::Result<()> {
        Ok(())
    }
}

/// The real terminal: input parked, raw mode and the alternate screen left and the
/// cursor shown for the session; all of it back after. A session that did not end
/// with exit status 0 leaves what the AWS CLI printed on screen until Enter, since the
/// console's screen would cover it.
#[derive(Debug)]
pub struct SessionTerminal {
    input: InputGate,
}

impl SessionTerminal {
    /// Hands over the terminal whose input thread `input` gates.
    pub fn new(input: InputGate) -> Self {
        Self { input }
    }
}

impl Handover for SessionTerminal {
    fn attach(&self) -> crate::ops::exec::Attach {
        crate::ops::exec::Attach::Terminal
    }

    fn suspend(&mut self, what: &str) -> io::Result<()> {
        self.input.pause();
        restore();
        let mut out = io::stdout();
        writeln!(
            out,
            "ibet-console: {}; leave it (exit) to come back to the console.",
            crate::text::sanitize(what)
        )?;
        out.flush()
    }

    fn resume(&mut self, end: &crate::ops::exec::SessionEnd) -> io::Result<()> {
        if end != &crate::ops::exec::SessionEnd::Exited(0) {
            let mut out = io::stdout();
            let _ = write!(
                out,
                "\nibet-console: the session ended ({}). Press Enter to go back to the console.",
                crate::text::sanitize(&end.describe())
            );
            let _ = out.flush();
            let mut line = String::new();
            let _ = io::stdin().read_line(&mut line);
        }
        let entered = enable_raw_mode().and_then(|()| {
            let mut out = io::stdout();
            execute!(out, EnterAlternateScreen, Hide)
        });
        self.input.resume();
        entered
    }
}

/// Clears the terminal for a repaint (after anything else wrote to it) and drops the
/// frame writer's model of the screen, `shown`: the next frame is written whole.
pub fn repaint(out: &mut impl Write, shown: &mut Option<Buffer>) -> io::Result<()> {
    *shown = None;
    out.write_all(frame::REPAINT)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_input_thread_parks_before_its_next_read_until_resumed() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let gate = InputGate::default();
        let reads = std::sync::Arc::new(AtomicUsize::new(0));
        let (thread_gate, thread_reads) = (gate.clone(), std::sync::Arc::clone(&reads));
        std::thread::spawn(move || {
            loop {
                thread_gate.wait_while_paused();
                // A read that ends by itself (crossterm's ends on the window-size signal).
                std::thread::sleep(std::time::Duration::from_millis(5));
                thread_reads.fetch_add(1, Ordering::SeqCst);
            }
        });
        gate.pause();
        let parked = reads.load(Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(reads.load(Ordering::SeqCst), parked, "no read while paused");
        gate.resume();
        let start = std::time::Instant::now();
        while reads.load(Ordering::SeqCst) == parked {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(5),
                "reads again"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn leaving_resets_the_scroll_region_before_the_main_screen_comes_back() {
        let mut out = Vec::new();
        leave(&mut out).expect("to a vector");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(text, "\x1b[r\x1b[0m\x1b[?1049l\x1b[?25h");
    }

    #[test]
    fn a_narrowed_scroll_region_does_not_outlive_the_console() {
        // The frame writer narrowed the region and was cut short (a panic, a failed
        // write). tmux keeps one region for both screens; vt100 keeps one per screen,
        // so the region is narrowed on the main screen here. After leaving, a shell's
        // output at the bottom scrolls the whole screen.
        let mut parser = vt100::Parser::new(
            std::num::NonZeroU16::new(6).expect("rows"),
            std::num::NonZeroU16::new(10).expect("cols"),
            0,
        );
        parser.process(b"top\x1b[2;4r");
        let mut out = Vec::new();
        leave(&mut out).expect("to a vector");
        parser.process(&out);
        parser.process(b"\x1b[6;1Hlast\r\nnext");
        let screen = parser.screen();
        assert_eq!(screen.contents(), "\n\n\n\nlast\nnext");
        assert!(!screen.hide_cursor());
    }
}
