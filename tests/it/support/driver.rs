//! Drives the real event loop ([`Console::run`]) over ratatui's `TestBackend`: scripted
//! keys in, tokio's clock paused (it jumps ahead whenever everything waits), the frames'
//! bytes read by an independent terminal emulator (`vt100`), so a test sees what an
//! operator would. The demo world's clock is moved on with tokio's, a step at a time.

use std::future::Future;
use std::io::Write;
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ibet_console::app::{Console, RunOptions, State};
use ibet_console::clock::ManualClock;
use ibet_console::session::Session;
use ibet_console::ui::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::{mpsc, oneshot};

/// The terminal the frames are written to: an emulator that keeps the screen.
#[derive(Clone)]
pub struct Emulator(Arc<Mutex<vt100::Parser>>);

impl Emulator {
    fn new(width: u16, height: u16) -> Self {
        let rows = NonZeroU16::new(height).expect("rows");
        let cols = NonZeroU16::new(width).expect("cols");
        Self(Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0))))
    }

    /// The screen's text, one line per row.
    pub fn text(&self) -> String {
        self.0.lock().expect("emulator").screen().contents()
    }
}

impl Write for Emulator {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("emulator").process(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a script does to the console: press keys, let time pass, read the screen.
pub struct Operator {
    keys: mpsc::Sender<std::io::Result<Event>>,
    screen: Emulator,
    clock: Arc<ManualClock>,
}

impl Operator {
    /// Presses a key (with `modifiers`), then lets the loop take it.
    pub async fn press_with(&self, code: KeyCode, modifiers: KeyModifiers) {
        let event = Event::Key(KeyEvent::new(code, modifiers));
        self.keys
            .send(Ok(event))
            .await
            .expect("the loop takes keys");
        self.pass(Duration::from_millis(100)).await;
    }

    /// Presses a key and gives the loop only a moment (1 ms) to take it: for what shows
    /// right after a key, before any poll.
    pub async fn press_briefly(&self, code: KeyCode) {
        let event = Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
        self.keys
            .send(Ok(event))
            .await
            .expect("the loop takes keys");
        self.pass(Duration::from_millis(1)).await;
    }

    /// Presses a key.
    pub async fn press(&self, code: KeyCode) {
        self.press_with(code, KeyModifiers::NONE).await;
    }

    /// Types `text`, a key a character.
    pub async fn type_text(&self, text: &str) {
        for c in text.chars() {
            self.press(KeyCode::Char(c)).await;
        }
    }

    /// Lets `time` pass, on tokio's clock and the demo world's.
    pub async fn pass(&self, time: Duration) {
        tokio::time::sleep(time).await;
        self.clock
            .advance(i64::try_from(time.as_millis()).expect("ms"));
    }

    /// Writes `bytes` to the terminal behind the console's back (as `wall` or an SSO
    /// prompt would).
    pub fn scribble(&self, bytes: &[u8]) {
        self.screen.0.lock().expect("emulator").process(bytes);
    }

    /// The screen now.
    pub fn screen(&self) -> String {
        self.screen.text()
    }

    /// Lets time pass a second at a time until the screen shows `text` (at most `secs`
    /// seconds); the screen then.
    pub async fn wait_for(&self, text: &str, secs: u32) -> String {
        for _ in 0..secs * 4 {
            let shown = self.screen();
            if shown.contains(text) {
                return shown;
            }
            self.pass(Duration::from_millis(250)).await;
        }
        let shown = self.screen();
        assert!(shown.contains(text), "`{text}` never showed:\n{shown}");
        shown
    }
}

/// Runs the console on `session` at `width`×`height` with `script` as the operator, on a
/// paused clock; when the script ends (or `q` is pressed) the loop ends. Returns the
/// state it ended in and the last screen.
pub fn run_console<F, Fut>(
    session: &Session,
    clock: Arc<ManualClock>,
    write: bool,
    (width, height): (u16, u16),
    script: F,
) -> (State, String)
where
    F: FnOnce(Operator) -> Fut,
    Fut: Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    let options = RunOptions {
        theme: Theme::default_theme(),
        start_env: None,
        write,
        setup: None,
    };
    let screen = Emulator::new(width, height);
    rt.block_on(async {
        let console = Console::new(session, &options);
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
        let (keys, events) = mpsc::channel(64);
        let (done, stop) = oneshot::channel::<()>();
        let operator = Operator {
            keys,
            screen: screen.clone(),
            clock,
        };
        let run = console.run(&mut terminal, screen.clone(), events, async {
            let _ = stop.await;
        });
        let act = async {
            script(operator).await;
            let _ = done.send(());
        };
        let (ran, ()) = tokio::join!(run, act);
        let (console, _) = ran.expect("the loop ends without an error");
        (console.state().clone(), screen.text())
    })
}
