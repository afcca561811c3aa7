//! Runs the built binary inside a private tmux server, types keys and reads the screen.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A tmux session on its own socket, killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `cmd` (a shell command line) in a detached `width`x`height` session.
    pub fn start(name: &str, width: u16, height: u16, cmd: &str) -> Self {
        let socket = format!("ibet-test-{name}-{}", std::process::id());
        let t = Self { socket };
        let out = t.tmux(&[
            "new-session",
            "-d",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            cmd,
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
        t
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux is installed (scripts/test installs it)")
    }

    /// Sends keys (tmux key names such as `Enter`, `Tab`, `Escape`, or literal text).
    pub fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        let out = self.tmux(&args);
        assert!(out.status.success(), "send-keys: {out:?}");
    }

    /// The visible screen as text.
    pub fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", "0"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen contains `needle`; returns the screen, or panics with it.
    ///
    /// A capture can land in the middle of a frame being drawn: what a test expects of a
    /// screen goes into what it waits for (every needle, or a predicate), never into an
    /// assertion on a screen returned for another reason.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for_all(&[needle], timeout)
    }

    /// Waits until the screen contains every one of `needles`.
    pub fn wait_for_all(&self, needles: &[&str], timeout: Duration) -> String {
        self.wait_until(&format!("{needles:?} on screen"), timeout, |s| {
            needles.iter().all(|n| s.contains(n))
        })
    }

    /// Waits until `ready` holds for the screen; returns that screen, or panics with the
    /// last one and `what` was awaited. After the deadline the screen is read once more:
    /// on a machine that stalled (a capture that itself took seconds), the verdict rests
    /// on a fresh screen, not on one read in the middle of the stall.
    pub fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut ready: impl FnMut(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        loop {
            let expired = start.elapsed() >= timeout;
            let s = self.screen();
            if ready(&s) {
                return s;
            }
            assert!(!expired, "{what}: not within {timeout:?}; screen:\n{s}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Writes `bytes` to the pane's terminal from outside the program, as `wall` or
    /// another process sharing the terminal would.
    pub fn write_to_terminal(&self, bytes: &[u8]) {
        let out = self.tmux(&["display-message", "-p", "-t", "0", "#{pane_tty}"]);
        assert!(out.status.success(), "pane_tty: {out:?}");
        let tty = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&tty)
            .unwrap_or_else(|e| panic!("open {tty}: {e}"));
        std::io::Write::write_all(&mut file, bytes).expect("write to the pane's terminal");
    }

    /// Whether the session (the program in it) is still running.
    pub fn alive(&self) -> bool {
        self.tmux(&["has-session", "-t", "0"]).status.success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}
