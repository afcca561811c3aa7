//! A moto server for one test binary: started on a free loopback port, stopped on drop.
//!
//! The binary comes from `IBET_TEST_MOTO_SERVER` (set by `scripts/test`) or
//! `.tools/venv/bin/moto_server`.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
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
        let bin = std::env::var_os("IBET_TEST_MOTO_SERVER").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin/moto_server"),
            PathBuf::from,
        );
        assert!(
            bin.exists(),
            "moto_server not found at {}: run scripts/test",
            bin.display()
        );
        let port = free_port();
        let child = Command::new(&bin)
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
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not start on port {}", self.port);
    }

    /// Stops the server (the port stays free for a restart with [`Moto::restart`]).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a fresh server on the same port (state is lost).
    pub fn restart(&mut self) {
        self.stop();
        let bin = std::env::var_os("IBET_TEST_MOTO_SERVER").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin/moto_server"),
            PathBuf::from,
        );
        self.child = Command::new(&bin)
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
