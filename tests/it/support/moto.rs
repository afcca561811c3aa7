//! A moto server for tests: started on a free loopback port, stopped on drop.
//!
//! [`Moto::start`] gives a test its own server (for tests that stop it or start it with
//! moto's switches); [`Moto::shared`] gives every test of a binary the same one, started
//! once, so tests keep apart by naming what they create (their own cluster, load
//! balancer and target group names), not by paying for a server each. The binary comes
//! from `IBET_TEST_MOTO_SERVER` (set by `scripts/test`) or `.tools/venv/bin/moto_server`.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    child: Child,
    /// Port on 127.0.0.1.
    pub port: u16,
    /// Environment variables the server was started with (moto reads some settings,
    /// e.g. `MOTO_ECS_SERVICE_RUNNING`, from its environment).
    env: Vec<(String, String)>,
}

impl Moto {
    /// Starts a moto server and waits until it answers.
    pub fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// Starts a moto server with extra environment variables (moto's own switches, e.g.
    /// `MOTO_ECS_SERVICE_RUNNING`) and waits until it answers.
    pub fn start_with_env(vars: &[(&str, &str)]) -> Self {
        let port = free_port();
        let child = Command::new(binary())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Self {
            child,
            port,
            env: vars
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        };
        moto.wait_ready();
        moto
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn wait_ready(&self) {
        wait_ready(self.port);
    }

    /// Stops the server (the port stays free for a restart with [`Moto::restart`]).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a fresh server on the same port (state is lost).
    pub fn restart(&mut self) {
        self.stop();
        self.child = Command::new(binary())
            .args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("restart moto_server");
        self.wait_ready();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The server every test of this binary shares: started on first use, and gone when the
/// binary exits, however it exits (statics are never dropped, so the server runs under
/// a shell that kills it when the pipe from this process closes).
pub struct SharedMoto {
    /// The shell that runs the server and stops it when `lifeline` closes.
    _shell: Child,
    /// Held open for the life of the process; its closing stops the server.
    _lifeline: ChildStdin,
    /// Port on 127.0.0.1.
    pub port: u16,
}

impl SharedMoto {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Moto {
    /// The one server of this test binary, with moto's default settings.
    pub fn shared() -> &'static SharedMoto {
        static SHARED: OnceLock<SharedMoto> = OnceLock::new();
        SHARED.get_or_init(|| {
            let port = free_port();
            let mut shell = Command::new("sh")
                .arg("-c")
                .arg(r#""$0" "$@" & read -r line; kill $!; wait $!"#)
                .arg(binary())
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server");
            let lifeline = shell.stdin.take().expect("the shell's stdin");
            wait_ready(port);
            SharedMoto {
                _shell: shell,
                _lifeline: lifeline,
                port,
            }
        })
    }
}

/// A name no other test of this binary uses: `base-N`, N counting up from 1 in the
/// order tests ask. For what tests create in a [`Moto::shared`] server.
pub fn unique(base: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    format!("{base}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The moto_server binary.
fn binary() -> PathBuf {
    let bin = std::env::var_os("IBET_TEST_MOTO_SERVER").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin/moto_server"),
        PathBuf::from,
    );
    assert!(
        bin.exists(),
        "moto_server not found at {}: run scripts/test",
        bin.display()
    );
    bin
}

/// Waits until something accepts connections on `port`.
fn wait_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("moto_server did not start on port {port}");
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// An SDK configuration that talks to `url` with fixed test credentials.
pub fn sdk_config(url: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("ap-northeast-1"))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(
            aws_sdk_ecs::config::Credentials::new("testing", "testing", None, None, "test"),
        ))
        .build()
}

/// [`sdk_config`] with every call limited to `patience`: moto loads a service on its
/// first call, which takes seconds on a busy machine.
pub fn patient_sdk_config(url: &str, patience: Duration) -> aws_config::SdkConfig {
    sdk_config(url)
        .to_builder()
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(patience)
                .build(),
        )
        .build()
}

/// Request counts per operation, as `RequestCounter::snapshot` gives them.
pub fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_string(), *v)).collect()
}
