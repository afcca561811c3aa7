//! The terminal: enter and leave full-screen mode, restore it on every exit path, and
//! clear it for a repaint.
//!
//! [`TerminalGuard`] restores the terminal when dropped; the panic hook installed by
//! [`enter`] restores it before the panic message is printed, so an operator never
//! inherits a terminal in raw mode, with a hidden cursor or with a narrowed scroll
//! region (the frame writer sets one for a moment to move rows). This module writes no
//! frames: [`frame`] does.

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
