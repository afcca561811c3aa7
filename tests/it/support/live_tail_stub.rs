//! `scripts/live-tail-stub` for tests: a stand-in for CloudWatch Logs Live Tail in
//! front of a moto server (which cannot stream), started on a free loopback port and
//! stopped on drop. Everything else it forwards to moto, counting the requests, so a
//! console pointed at it is counted whole (see [`LiveTailStub::counts`]).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running stub.
pub struct LiveTailStub {
    child: Child,
    /// Port on 127.0.0.1.
    pub port: u16,
}

/// What the stub counted, per operation (`FilterLogEvents`, `StartLiveTail`, ...).
#[derive(Debug, Default, serde::Deserialize)]
pub struct StubCounts {
    /// Requests.
    pub requests: BTreeMap<String, u64>,
    /// Response bytes (StartLiveTail: the frames streamed).
    pub bytes: BTreeMap<String, u64>,
    /// Events the responses held.
    pub events: BTreeMap<String, u64>,
}

impl StubCounts {
    /// Requests of `operation`.
    pub fn requests(&self, operation: &str) -> u64 {
        self.requests.get(operation).copied().unwrap_or(0)
    }
}

impl LiveTailStub {
    /// Starts the stub in front of moto at `moto_url` with the stub's options (e.g.
    /// `["--cadence", "0.5"]`) and waits until it listens.
    pub fn start(moto_url: &str, options: &[&str]) -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let python = std::env::var_os("IBET_TEST_MOTO_SERVER")
            .map(PathBuf::from)
            .and_then(|moto| moto.parent().map(|bin| bin.join("python")))
            .unwrap_or_else(|| root.join(".tools/venv/bin/python"));
        let mut child = Command::new(python)
            .arg(root.join("scripts/live-tail-stub"))
            .args(["--moto", moto_url])
            .args(options)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start scripts/live-tail-stub");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("the stub's stdout"))
            .read_line(&mut first)
            .expect("the stub's port");
        let port = first
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the stub said {first:?}"));
        Self { child, port }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What it counted so far.
    pub fn counts(&self) -> StubCounts {
        let body = self.call("GET", "/stub/counts");
        serde_json::from_str(&body).expect("the stub's counts")
    }

    /// Sets the counts to zero.
    pub fn reset(&self) {
        self.call("POST", "/stub/reset");
    }

    fn call(&self, method: &str, path: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("reach the stub");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .expect("ask the stub");
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .expect("the stub's answer");
        answer
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_default()
    }
}

impl Drop for LiveTailStub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
