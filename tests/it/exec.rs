//! Exec end to end: `exec` and the TUI's `x` run the AWS CLI with exactly the arguments
//! a session needs, hand it the terminal and take it back, and audit the session's exit
//! status; a missing AWS CLI or Session Manager plugin, a task without ExecuteCommand
//! and a read-only environment are refused before anything runs.
//!
//! ECS is a moto server of the test's own (its task states held, so a task stays
//! RUNNING), seen through [`ExecProxy`]: moto 5.2.5 drops RunTask's
//! `enableExecuteCommand`, and the proxy gives it back to DescribeTasks for the tasks
//! started with it, as ECS reports them. The AWS CLI and the plugin are small shell
//! scripts the test writes into a folder put first on `PATH`. The fake `aws` writes its
//! arguments, one a line, to a file, prints a prompt, reads a line and exits 7 when the
//! line is `fail` (else with `FAKE_AWS_EXIT`, default 0): what reaches it proves the
//! terminal was handed over.

use crate::support::{config_toml, ecs_fixture, moto, tmux};

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use ecs_fixture::{EcsFixture, ServiceSpec};
use ibet_console::ops::Outcome;
use ibet_console::ops::audit::{AuditEntry, AuditLog, Phase};
use moto::Moto;

const BIN: &str = env!("CARGO_BIN_EXE_ibet-console");
const ECS_CLUSTER: &str = "ibet-stg-satoshi";
const WAIT: Duration = Duration::from_secs(30);
/// The staging environment's shared audit trail.
const AUDIT_GROUP: &str = "/ibet-console/audit";

/// A moto with one cluster: `quorum-validator-1` (container `quorum`, one task with
/// ExecuteCommand enabled) and `api` (container `api`, one task without); a config of
/// two environments on it (`staging`, and `production`, a danger environment); the fake
/// programs.
struct ExecWorld {
    _moto: Moto,
    proxy: ExecProxy,
    dir: tempfile::TempDir,
    validator_task: String,
}

impl ExecWorld {
    async fn new() -> Self {
        let moto = Moto::start();
        let proxy = ExecProxy::start(&moto.url());
        let fixture = EcsFixture::connect(&moto::sdk_config(&proxy.url))
            .await
            .expect("moto ECS");
        fixture.hold_task_states().await.expect("hold task states");
        aws_sdk_cloudwatchlogs::Client::new(&moto::sdk_config(&moto.url()))
            .create_log_group()
            .log_group_name(AUDIT_GROUP)
            .send()
            .await
            .expect("the team's audit group");
        fixture.cluster(ECS_CLUSTER).await.expect("cluster");
        let mut tasks = Vec::new();
        let image = "public.ecr.aws/docker/library/busybox:1";
        for (service, container, exec) in [
            ("quorum-validator-1", "quorum", true),
            ("api", "api", false),
        ] {
            let family = format!("{ECS_CLUSTER}-{service}");
            let definition = fixture
                .task_definition(
                    &family,
                    ECS_CLUSTER,
                    &ServiceSpec::new(container, image, None, 1),
                    image,
                )
                .await
                .expect("task definition");
            fixture
                .service(
                    ECS_CLUSTER,
                    &ServiceSpec::new(service, image, None, 1),
                    &definition,
                )
                .await
                .expect("service");
            let arn = fixture
                .run_task_with_exec(ECS_CLUSTER, service, &definition, exec)
                .await
                .expect("task");
            tasks.push(arn.rsplit('/').next().expect("id").to_string());
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let world = Self {
            validator_task: tasks[0].clone(),
            _moto: moto,
            proxy,
            dir,
        };
        std::fs::write(world.config_path(), world.config()).expect("config");
        world.fake(
            "aws",
            &format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nprintf 'fake shell> '\n\
                 read line\n[ \"$line\" = fail ] && exit 7\nexit \"${{FAKE_AWS_EXIT:-0}}\"\n",
                world.record().display()
            ),
        );
        world.fake("session-manager-plugin", "#!/bin/sh\nexit 0\n");
        world
    }

    fn config(&self) -> String {
        let url = &self.proxy.url;
        let cluster = || {
            config_toml::cluster("satoshi", ECS_CLUSTER)
                + &config_toml::quorum_node(
                    "validator-1",
                    "http://127.0.0.1:1",
                    Some("validator"),
                    Some("quorum-validator-1"),
                )
                + "exec_command = \"geth attach /data/geth.ipc\"\n"
        };
        format!(
            "{}[environments.team]\naudit_log_group = \"{AUDIT_GROUP}\"\n{}{}{}",
            config_toml::environment("staging", Some(url), false),
            cluster(),
            config_toml::environment("production", Some(url), true),
            cluster(),
        )
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn audit_path(&self) -> PathBuf {
        self.dir.path().join("audit.jsonl")
    }

    /// Where the fake `aws` writes its arguments.
    fn record(&self) -> PathBuf {
        self.dir.path().join("aws-args")
    }

    /// The folder of the fake programs (and `only-aws`, `only-plugin` beside it).
    fn fakes(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn fake(&self, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        for dir in [
            self.fakes(),
            self.dir.path().join(format!("only-{}", short(name))),
        ] {
            std::fs::create_dir_all(&dir).expect("mkdir");
            let path = dir.join(name);
            std::fs::write(&path, script).expect("write fake");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }

    /// The arguments the fake `aws` was last run with (and forgets them); `None` when it
    /// was not run.
    fn take_args(&self) -> Option<Vec<String>> {
        let text = std::fs::read_to_string(self.record()).ok()?;
        let _ = std::fs::remove_file(self.record());
        Some(text.lines().map(str::to_string).collect())
    }

    /// `PATH` for the console: `first`, then the system's folders (the scripts need
    /// `sh`), never the machine's own `aws`.
    fn path(first: &Path) -> String {
        format!("{}:/usr/bin:/bin", first.display())
    }

    /// Runs `exec` with `args` on `PATH` = `first` + system folders, no terminal.
    fn run(&self, first: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
        let none = self.dir.path().join("no-such-aws-file");
        let output = Process::new(BIN)
            .arg("--config")
            .arg(self.config_path())
            .arg("--audit-log")
            .arg(self.audit_path())
            .args(args)
            .env("PATH", Self::path(first))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_CONFIG_FILE", &none)
            .env("AWS_SHARED_CREDENTIALS_FILE", &none)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env("HOME", self.dir.path())
            .env("XDG_RUNTIME_DIR", self.dir.path())
            .env("USER", "ci-operator")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("run ibet-console");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("$ ibet-console {}\n{text}", args.join(" "));
        (output.status.code().unwrap_or(-1), text)
    }

    /// The audit log, oldest line first.
    fn audit(&self) -> Vec<AuditEntry> {
        let mut entries = AuditLog::new(self.audit_path())
            .recent(1000)
            .expect("audit log");
        entries.reverse();
        entries
    }

    /// The lines of the team's audit group (staging's), as its reader takes them.
    async fn shared_audit(&self) -> Vec<AuditEntry> {
        let page = aws_sdk_cloudwatchlogs::Client::new(&moto::sdk_config(&self.proxy.url))
            .filter_log_events()
            .log_group_name(AUDIT_GROUP)
            .start_time(0)
            .send()
            .await
            .expect("filter the audit group");
        let messages: Vec<String> = page
            .events()
            .iter()
            .filter_map(|e| e.message().map(str::to_string))
            .collect();
        ibet_console::ops::shared_audit::read_lines(messages.iter().map(String::as_str))
    }

    /// The command line of the console in tmux: the fakes first on `PATH`, test
    /// credentials, the staging environment.
    fn tui_command(&self) -> String {
        self.tui_command_with("--env staging")
    }

    /// [`Self::tui_command`] with other options of the console.
    fn tui_command_with(&self, options: &str) -> String {
        let none = self.dir.path().join("no-such-aws-file");
        format!(
            "env PATH={path} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
             AWS_CONFIG_FILE={none} AWS_SHARED_CREDENTIALS_FILE={none} \
             AWS_EC2_METADATA_DISABLED=true HOME={home} XDG_RUNTIME_DIR={home} \
             USER=ci-operator {BIN} --config {config} --audit-log {audit} {options}",
            path = Self::path(&self.fakes()),
            none = none.display(),
            home = self.dir.path().display(),
            config = self.config_path().display(),
            audit = self.audit_path().display(),
        )
    }
}

/// A loopback HTTP proxy in front of moto's ECS that gives `enableExecuteCommand` back:
/// a RunTask asking for it has its tasks' ARNs noted, and DescribeTasks (and RunTask's
/// own answer) reports `"enableExecuteCommand": true` for them. Everything else passes
/// through unchanged, one request per connection.
struct ExecProxy {
    url: String,
    /// The operations asked through it (`X-Amz-Target`'s last part), in order.
    asked: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ExecProxy {
    fn start(moto: &str) -> Self {
        use std::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let upstream = moto.trim_start_matches("http://").to_string();
        let enabled = std::sync::Arc::new(std::sync::Mutex::new(
            std::collections::HashSet::<String>::new(),
        ));
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let noted = std::sync::Arc::clone(&asked);
        std::thread::spawn(move || {
            for socket in listener.incoming() {
                let Ok(socket) = socket else { break };
                let upstream = upstream.clone();
                let enabled = std::sync::Arc::clone(&enabled);
                let noted = std::sync::Arc::clone(&noted);
                std::thread::spawn(move || {
                    let _ = proxy_one(socket, &upstream, &enabled, &noted);
                });
            }
        });
        Self { url, asked }
    }

    /// The operations asked since the last call, and forgets them.
    fn take_asked(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .asked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// Reads one HTTP message with a `Content-Length` body: (head, body).
fn read_message(
    stream: &mut impl std::io::Read,
    until_eof: bool,
) -> std::io::Result<(String, Vec<u8>)> {
    let mut raw = Vec::new();
    let mut buf = [0_u8; 8192];
    loop {
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..at]).into_owned();
            let length: Option<usize> = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .and_then(|v| v.trim().parse().ok())
            });
            let body = &raw[at + 4..];
            if length.is_some_and(|n| body.len() >= n) || (length.is_none() && !until_eof) {
                return Ok((head, body.to_vec()));
            }
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            let at = raw
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .unwrap_or(raw.len());
            let head = String::from_utf8_lossy(&raw[..at]).into_owned();
            let body = raw.get(at + 4..).unwrap_or_default().to_vec();
            return Ok((head, body));
        }
        raw.extend_from_slice(&buf[..n]);
    }
}

fn proxy_one(
    mut client: std::net::TcpStream,
    upstream: &str,
    enabled: &std::sync::Mutex<std::collections::HashSet<String>>,
    asked: &std::sync::Mutex<Vec<String>>,
) -> std::io::Result<()> {
    use std::io::Write;
    let (head, body) = read_message(&mut client, false)?;
    let target = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("x-amz-target:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    if let Some((_, operation)) = target.rsplit_once('.') {
        asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(operation.to_string());
    }
    let lines: Vec<&str> = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    let mut moto = std::net::TcpStream::connect(upstream)?;
    moto.write_all(format!("{}\r\nConnection: close\r\n\r\n", lines.join("\r\n")).as_bytes())?;
    moto.write_all(&body)?;
    let (answer_head, answer) = read_message(&mut moto, true)?;
    let asked: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let mut answer_json: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
    let mut set = enabled
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if target.ends_with(".runtask") && asked["enableExecuteCommand"] == true {
        for task in answer_json["tasks"].as_array().into_iter().flatten() {
            if let Some(arn) = task["taskArn"].as_str() {
                set.insert(arn.to_string());
            }
        }
    }
    let body = if target.ends_with(".describetasks") || target.ends_with(".runtask") {
        for task in answer_json["tasks"].as_array_mut().into_iter().flatten() {
            let on = task["taskArn"].as_str().is_some_and(|a| set.contains(a));
            task["enableExecuteCommand"] = serde_json::Value::Bool(on);
        }
        serde_json::to_vec(&answer_json).unwrap_or(answer)
    } else {
        answer
    };
    drop(set);
    let head: Vec<&str> = answer_head
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            !l.starts_with("content-length:") && !l.starts_with("connection:")
        })
        .collect();
    client.write_all(
        format!(
            "{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            head.join("\r\n"),
            body.len()
        )
        .as_bytes(),
    )?;
    client.write_all(&body)?;
    client.flush()
}

/// `aws` → `aws`, `session-manager-plugin` → `plugin`.
fn short(name: &str) -> &str {
    if name == "aws" { "aws" } else { "plugin" }
}

/// The arguments of a session in `container` of `task` running `command`, on the
/// world's endpoint.
fn session_args(world: &ExecWorld, task: &str, container: &str, command: &str) -> Vec<String> {
    [
        "ecs",
        "execute-command",
        "--cluster",
        ECS_CLUSTER,
        "--task",
        task,
        "--container",
        container,
        "--interactive",
        "--command",
        command,
        "--region",
        config_toml::REGION,
        "--endpoint-url",
        &world.proxy.url,
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect()
}

fn assert_says(text: &str, wants: &[&str]) {
    for want in wants {
        assert!(text.contains(want), "`{want}` missing:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_runs_the_aws_cli_with_its_arguments_and_audits_the_exit_status() {
    let world = ExecWorld::new().await;
    let fakes = world.fakes();
    let exec = |rest: &[&str]| {
        let mut args = vec!["--env", "staging", "exec", "--cluster", "satoshi"];
        args.extend_from_slice(rest);
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };

    // By service: the running task is picked and named; the node's configured command.
    let args = exec(&["--service", "quorum-validator-1"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _ = world.proxy.take_asked();
    let (code, out) = world.run(&fakes, &args, &[]);
    assert_eq!(code, 0, "{out}");
    let asked = world.proxy.take_asked();
    eprintln!("exec --service asked {} requests: {asked:?}", asked.len());
    assert_says(
        &out,
        &[
            &format!(
                "Task: {} of quorum-validator-1 (1 running)",
                world.validator_task
            ),
            "ok   aws_cli",
            "ok   session_manager_plugin",
            "ok   execute_command",
            "session ended (exit status 0)",
        ],
    );
    assert_eq!(
        world.take_args(),
        Some(session_args(
            &world,
            &world.validator_task,
            "quorum",
            "geth attach /data/geth.ipc"
        ))
    );

    // By task, with a command of its own; the CLI's exit status is the session's end.
    let args = exec(&[
        "--task",
        &world.validator_task,
        "--container",
        "quorum",
        "--command",
        "ls -l /data",
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out) = world.run(&fakes, &args, &[("FAKE_AWS_EXIT", "255")]);
    assert_eq!(code, 1, "{out}");
    let asked = world.proxy.take_asked();
    eprintln!("exec --task asked {} requests: {asked:?}", asked.len());
    assert_says(
        &out,
        &["session ended (exit status 255)", "ecs:ExecuteCommand"],
    );
    assert_eq!(
        world.take_args(),
        Some(session_args(
            &world,
            &world.validator_task,
            "quorum",
            "ls -l /data"
        ))
    );

    // A task without ExecuteCommand: the fix is named, nothing runs.
    let args = exec(&["--service", "api"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out) = world.run(&fakes, &args, &[]);
    assert_eq!(code, 3, "{out}");
    assert_says(
        &out,
        &[
            "FAIL execute_command",
            "not enabled on this task",
            &format!(
                "aws ecs update-service --cluster {ECS_CLUSTER} --service api \
                 --enable-execute-command --force-new-deployment"
            ),
            "ssmmessages:{Create,Open}{Control,Data}Channel",
        ],
    );
    assert_eq!(world.take_args(), None, "nothing ran");

    // No AWS CLI, then no plugin, on PATH: the install page is named, nothing runs.
    let by_service = exec(&["--service", "quorum-validator-1"]);
    let by_service: Vec<&str> = by_service.iter().map(String::as_str).collect();
    let (code, out) = world.run(&world.dir.path().join("only-plugin"), &by_service, &[]);
    assert_eq!(code, 3, "{out}");
    assert_says(
        &out,
        &[
            "FAIL aws_cli",
            "not found on PATH",
            "install the AWS CLI v2",
        ],
    );
    let (code, out) = world.run(&world.dir.path().join("only-aws"), &by_service, &[]);
    assert_eq!(code, 3, "{out}");
    assert_says(
        &out,
        &[
            "FAIL session_manager_plugin",
            "install the Session Manager plugin",
        ],
    );
    assert_eq!(world.take_args(), None, "nothing ran");

    // The demo world has no containers: nothing is tried.
    let (code, out) = world.run(
        &fakes,
        &[
            "--demo",
            "--env",
            "staging",
            "exec",
            "--cluster",
            "node-api",
            "--service",
            "api",
        ],
        &[],
    );
    assert_eq!(code, 2, "{out}");
    assert_says(&out, &["exec is not available in the demo world"]);
    assert_eq!(world.take_args(), None, "nothing ran");

    // A danger environment is read-only without --write, then takes its name.
    let mut production: Vec<&str> = vec!["--env", "production", "exec", "--cluster", "satoshi"];
    production.extend(["--service", "quorum-validator-1"]);
    let (code, out) = world.run(&fakes, &production, &[]);
    assert_eq!(code, 3, "{out}");
    assert_says(&out, &["start the console with --write"]);
    let mut written = production.clone();
    written.push("--write");
    let (code, out) = world.run(&fakes, &written, &[]);
    assert_eq!(code, 3, "{out}");
    assert_says(
        &out,
        &["no terminal to confirm on: pass --yes --confirm production"],
    );
    assert_eq!(world.take_args(), None, "nothing ran");
    written.extend(["--confirm", "production"]);
    let (code, out) = world.run(&fakes, &written, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(world.take_args().is_some());

    let audit = world.audit();
    let lines: Vec<(&str, Phase, Option<Outcome>, Option<i32>)> = audit
        .iter()
        .map(|e| (e.environment.as_str(), e.phase, e.outcome, e.exit_status))
        .collect();
    assert_eq!(
        lines,
        [
            ("staging", Phase::Before, None, None),
            ("staging", Phase::After, Some(Outcome::Ok), Some(0)),
            ("staging", Phase::Before, None, None),
            ("staging", Phase::After, Some(Outcome::Failed), Some(255)),
            ("staging", Phase::After, Some(Outcome::Refused), None),
            ("staging", Phase::After, Some(Outcome::Refused), None),
            ("staging", Phase::After, Some(Outcome::Refused), None),
            ("production", Phase::After, Some(Outcome::Refused), None),
            ("production", Phase::After, Some(Outcome::Refused), None),
            ("production", Phase::Before, None, None),
            ("production", Phase::After, Some(Outcome::Ok), Some(0)),
        ]
    );
    assert!(audit.iter().all(|e| e.op.kind() == "exec"));
    // Staging's lines are in the team's group too, the exit statuses with them.
    let shared: Vec<(Phase, Option<Outcome>, Option<i32>)> = world
        .shared_audit()
        .await
        .iter()
        .map(|e| (e.phase, e.outcome, e.exit_status))
        .collect();
    let local: Vec<(Phase, Option<Outcome>, Option<i32>)> = audit
        .iter()
        .filter(|e| e.environment == "staging")
        .map(|e| (e.phase, e.outcome, e.exit_status))
        .collect();
    assert_eq!(shared, local);
    assert!(
        audit[0]
            .changes
            .iter()
            .any(|c| c.contains("--command 'geth attach /data/geth.ipc'")),
        "{:?}",
        audit[0].changes
    );
    assert!(
        audit[7]
            .checks
            .iter()
            .any(|c| c.name == "write_access" && !c.passed)
    );
}

/// The tasks screen's `x` in a real terminal at 80x24: the console steps aside for the
/// session (the fake CLI's prompt on screen, a line typed reaching it), then its screen
/// is back and answers keys; a session that fails leaves its output until Enter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_hands_the_terminal_to_the_session_and_takes_it_back() {
    let world = ExecWorld::new().await;
    let t = tmux::Tmux::start("exec", 80, 24, &world.tui_command());
    t.wait_for_all(&["satoshi", "quorum-validator-1"], WAIT);
    // The services pane, the validator's tasks (its service sorts after api).
    t.send(&["Right"]);
    t.send(&["Down"]);
    t.send(&["Enter"]);
    t.wait_for_all(
        &["Tasks ·", "quorum-validator-1", "RUNNING", "x shell"],
        WAIT,
    );
    t.send(&["x"]);
    t.wait_for_all(
        &["ibet-console: open a session in task", "fake shell>"],
        WAIT,
    );
    t.send(&["exit", "Enter"]);
    t.wait_for_all(
        &["ok: open a session", "(exit status 0)", "Enter close"],
        WAIT,
    );
    assert_eq!(
        world.take_args(),
        Some(session_args(
            &world,
            &world.validator_task,
            "quorum",
            "geth attach /data/geth.ipc"
        ))
    );
    // The console reacts to keys again: the dialog closes, the help opens and closes.
    t.send(&["Enter"]);
    t.wait_until("the dialog closed", WAIT, |s| !s.contains("Enter close"));
    t.send(&["?"]);
    t.wait_for("Keys", WAIT);
    t.send(&["Escape"]);
    t.wait_until("the help closed", WAIT, |s| {
        s.contains("Tasks ·") && !s.contains("Keys")
    });

    // A session that fails: what it printed stays until Enter.
    t.send(&["x"]);
    t.wait_for("fake shell>", WAIT);
    t.send(&["fail", "Enter"]);
    t.wait_for_all(&["the session ended (exit status 7)", "Press Enter"], WAIT);
    std::thread::sleep(Duration::from_millis(500));
    let waiting = t.screen();
    assert!(
        waiting.contains("Press Enter") && !waiting.contains("Tasks ·"),
        "the console waits for Enter:\n{waiting}"
    );
    t.send(&["Enter"]);
    t.wait_for_all(
        &["failed: open a session", "(exit status 7)", "Enter close"],
        WAIT,
    );
    assert!(world.take_args().is_some());
    t.send(&["Enter"]);

    // The api's task has no ExecuteCommand: the dialog names the fix, nothing runs.
    t.send(&["Escape"]);
    t.wait_for("Services", WAIT);
    std::thread::sleep(Duration::from_millis(150));
    t.send(&["Up"]);
    t.send(&["Enter"]);
    t.wait_for_all(&["Tasks ·", "/ api"], WAIT);
    t.send(&["x"]);
    t.wait_for_all(&["execute_command", "not enabled on this task"], WAIT);
    assert_eq!(world.take_args(), None, "nothing ran");
    t.send(&["Escape"]);

    // Production is a danger environment, read-only without --write: refused on the
    // panel, nothing runs.
    t.send(&["Escape"]);
    t.wait_for("Services", WAIT);
    std::thread::sleep(Duration::from_millis(150));
    t.send(&["Tab"]);
    t.wait_for_all(&["PRODUCTION", "quorum-validator-1"], WAIT);
    t.send(&["Right", "G", "Enter"]);
    t.wait_for_all(&["Tasks ·", "/ quorum-validator-1", "RUNNING"], WAIT);
    t.send(&["x"]);
    t.wait_for_all(&["DANGER ENVIRONMENT", "write_access", "--write"], WAIT);
    assert_eq!(world.take_args(), None, "nothing ran");
    t.send(&["Escape"]);
    assert!(t.alive());
    t.send(&["q"]);

    let audit = world.audit();
    let outcomes: Vec<(Phase, Option<Outcome>, Option<i32>)> = audit
        .iter()
        .map(|e| (e.phase, e.outcome, e.exit_status))
        .collect();
    assert_eq!(
        outcomes,
        [
            (Phase::Before, None, None),
            (Phase::After, Some(Outcome::Ok), Some(0)),
            (Phase::Before, None, None),
            (Phase::After, Some(Outcome::Failed), Some(7)),
        ]
    );
}

/// On a danger environment unlocked with `--write`, `x` asks for the environment's name
/// before the session: a wrong name runs nothing, the right one opens it (200x50).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_on_a_danger_environment_takes_its_typed_name() {
    let world = ExecWorld::new().await;
    let t = tmux::Tmux::start(
        "exec-danger",
        200,
        50,
        &world.tui_command_with("--env production --write"),
    );
    t.wait_for_all(&["PRODUCTION", "quorum-validator-1"], WAIT);
    std::thread::sleep(Duration::from_millis(300));
    t.send(&["Right", "G", "Enter"]);
    t.wait_for_all(&["Tasks ·", "/ quorum-validator-1", "RUNNING"], WAIT);
    t.send(&["x"]);
    t.wait_for_all(
        &[
            "DANGER ENVIRONMENT",
            "confirm (then type the environment name)",
        ],
        WAIT,
    );
    t.send(&["y"]);
    t.wait_for("Type the environment name to confirm", WAIT);
    t.send(&["staging", "Enter"]);
    t.wait_for_all(
        &["refused:", "type the environment name `production`"],
        WAIT,
    );
    assert_eq!(world.take_args(), None, "nothing ran");
    t.send(&["Enter"]);
    t.wait_until("the dialog closed", WAIT, |s| !s.contains("Enter close"));
    t.send(&["x"]);
    t.wait_for("confirm (then type the environment name)", WAIT);
    t.send(&["y"]);
    t.wait_for("Type the environment name to confirm", WAIT);
    t.send(&["production", "Enter"]);
    t.wait_for("fake shell>", WAIT);
    t.send(&["exit", "Enter"]);
    t.wait_for_all(&["ok: open a session", "(exit status 0)"], WAIT);
    assert_eq!(
        world.take_args(),
        Some(session_args(
            &world,
            &world.validator_task,
            "quorum",
            "geth attach /data/geth.ipc"
        ))
    );
    t.send(&["Enter", "q"]);
    let audit = world.audit();
    let outcomes: Vec<(&str, Phase, Option<Outcome>)> = audit
        .iter()
        .map(|e| (e.environment.as_str(), e.phase, e.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("production", Phase::After, Some(Outcome::Refused)),
            ("production", Phase::Before, None),
            ("production", Phase::After, Some(Outcome::Ok)),
        ]
    );
}
