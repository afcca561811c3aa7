//! An anvil node for one test: started on a free loopback port, stopped on drop.
//!
//! The binary comes from `IBET_TEST_ANVIL` (set by `scripts/test`) or the first regular
//! file named `anvil` under `.tools/npm`. Nodes listen on 127.0.0.1 only and print
//! nothing. [`Anvil::stop`] and [`Anvil::restart`] simulate a node that dies and comes
//! back on the same port (with a fresh chain: anvil keeps no state). [`Anvil::fork_of`]
//! starts a node that shares another's history up to the moment it starts.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How an anvil node makes blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mining {
    /// One block every this many seconds.
    EverySecs(u64),
    /// No blocks unless asked.
    Off,
}

/// A running anvil node.
pub struct Anvil {
    child: Option<Child>,
    mining: Mining,
    /// The node whose chain this one forked from (`--fork-url`).
    fork_url: Option<String>,
    /// Port on 127.0.0.1.
    pub port: u16,
    /// When the current process was started.
    pub started: Instant,
}

impl Anvil {
    /// Starts a node and waits until it accepts connections.
    pub fn start(mining: Mining) -> Self {
        let mut anvil = Self {
            child: None,
            mining,
            fork_url: None,
            port: free_port(),
            started: Instant::now(),
        };
        anvil.spawn();
        anvil
    }

    /// Starts a node forked from the node at `url` at its current head (`--fork-url`):
    /// both report the same blocks up to that height, then go their own ways.
    pub fn fork_of(url: &str, mining: Mining) -> Self {
        let mut anvil = Self {
            child: None,
            mining,
            fork_url: Some(url.to_string()),
            port: free_port(),
            started: Instant::now(),
        };
        anvil.spawn();
        anvil
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the node; the port stays free for [`Anvil::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a fresh node on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn spawn(&mut self) {
        let mut command = Command::new(binary());
        command.args([
            "--host",
            "127.0.0.1",
            "--port",
            &self.port.to_string(),
            "--quiet",
        ]);
        match self.mining {
            Mining::EverySecs(secs) => command.args(["--block-time", &secs.to_string()]),
            Mining::Off => command.arg("--no-mining"),
        };
        if let Some(url) = &self.fork_url {
            command.args(["--fork-url", url]);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start anvil");
        self.child = Some(child);
        self.started = Instant::now();
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("anvil did not start on port {}", self.port);
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The anvil binary.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("IBET_TEST_ANVIL") {
        return PathBuf::from(path);
    }
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/npm");
    find_file(&tools, "anvil", 8)
        .unwrap_or_else(|| panic!("no anvil under {}: run scripts/test", tools.display()))
}

/// The first regular file called `name` under `dir` (symlinks are not followed below
/// `dir`), searching at most `depth` levels.
fn find_file(dir: &Path, name: &str, depth: usize) -> Option<PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    let mut folders = Vec::new();
    for entry in entries {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_file() && entry.file_name() == name {
            return Some(entry.path());
        }
        if kind.is_dir() {
            folders.push(entry.path());
        }
    }
    if depth == 0 {
        return None;
    }
    folders
        .into_iter()
        .find_map(|folder| find_file(&folder, name, depth - 1))
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
