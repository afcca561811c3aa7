//! Following logs by CloudWatch Logs Live Tail, over the real AWS SDK protocol.
//!
//! moto cannot stream (it answers StartLiveTail with every event in one JSON document),
//! so these tests put `scripts/live-tail-stub` in front of it: the stub answers
//! StartLiveTail as AWS does (an event stream, an update a second built from moto's own
//! FilterLogEvents) and forwards the rest, counting every request. One test talks to
//! moto alone, to show that a server that closes every session falls back to polling
//! without a loop of sessions. Nothing leaves 127.0.0.1.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_ecs::types::{ContainerDefinition, LaunchType};
use ibet_console::backend::aws::logs::AwsLogs;
use ibet_console::backend::{BackendResult, LiveSession, LogsApi};
use ibet_console::clock::{Clock, SystemClock};
use ibet_console::logs::tail::{Following, PollReason};
use ibet_console::logs::{LogSource, RequestBudget, Tail, TailConfig, TailEvent, TailHandle};
use ibet_console::model::logs::{LiveQuery, LogPage, LogQuery};

use crate::support::ecs_fixture::awslogs;
use crate::support::live_tail_stub::LiveTailStub;
use crate::support::moto::{Moto, sdk_config};

fn now() -> i64 {
    SystemClock.now_ms()
}

async fn put(logs: &aws_sdk_cloudwatchlogs::Client, group: &str, stream: &str, text: &str) {
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .log_events(
            InputLogEvent::builder()
                .timestamp(now())
                .message(text)
                .build()
                .expect("log event"),
        )
        .send()
        .await
        .expect("put log events");
}

async fn create(logs: &aws_sdk_cloudwatchlogs::Client, group: &str, stream: &str) {
    let _ = logs.create_log_group().log_group_name(group).send().await;
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .expect("create log stream");
}

/// An ECS service `api` of cluster `ibet-live` with one task whose container logs with
/// awslogs to `/ecs/ibet-live/api`; returns the task's stream.
async fn service(config: &aws_config::SdkConfig) -> String {
    let ecs = aws_sdk_ecs::Client::new(config);
    let (cluster, group) = ("ibet-live", "/ecs/ibet-live/api");
    ecs.create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .expect("cluster");
    let td = ecs
        .register_task_definition()
        .family("ibet-live-api")
        .container_definitions(
            ContainerDefinition::builder()
                .name("api")
                .image("ibet/api:1")
                .memory(512)
                .log_configuration(awslogs(group, "ecs"))
                .build(),
        )
        .send()
        .await
        .expect("task definition");
    let td = td
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("arn")
        .to_string();
    ecs.create_service()
        .cluster(cluster)
        .service_name("api")
        .task_definition(&td)
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .send()
        .await
        .expect("service");
    let out = ecs
        .run_task()
        .cluster(cluster)
        .task_definition(&td)
        .launch_type(LaunchType::Fargate)
        .group("service:api")
        .started_by("ecs-svc/test")
        .send()
        .await
        .expect("run task");
    let arn = out.tasks()[0].task_arn().expect("task arn");
    let stream = format!("ecs/api/{}", arn.rsplit('/').next().expect("task id"));
    create(&aws_sdk_cloudwatchlogs::Client::new(config), group, &stream).await;
    stream
}

/// `logs --follow` of service `api` against `endpoint`, its stdout and stderr lines
/// arriving on channels.
struct FollowingCli {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
    dir: std::path::PathBuf,
}

impl FollowingCli {
    fn start(endpoint: &str, name: &str, extra: &[&str]) -> Self {
        let dir = std::env::temp_dir().join(format!("ibet-live-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let config = dir.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "refresh_secs = 1\n\n[[environments]]\nname = \"test\"\nregion = \"ap-northeast-1\"\n\
                 endpoint_url = \"{endpoint}\"\nread_only = true\n\n[[environments.clusters]]\n\
                 name = \"api\"\necs_cluster = \"ibet-live\"\n"
            ),
        )
        .expect("config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ibet-console"))
            .args([
                "--config",
                &config.to_string_lossy(),
                "--env",
                "test",
                "logs",
            ])
            .args([
                "--cluster",
                "api",
                "--service",
                "api",
                "--since",
                "5m",
                "--follow",
            ])
            .args(extra)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ibet-console logs");
        let lines = |pipe: Box<dyn std::io::Read + Send>| {
            let (tx, rx) = channel::<String>();
            std::thread::spawn(move || {
                use std::io::BufRead as _;
                for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
            rx
        };
        let out = lines(Box::new(child.stdout.take().expect("stdout")));
        let err = lines(Box::new(child.stderr.take().expect("stderr")));
        Self {
            child,
            out,
            err,
            dir,
        }
    }

    /// The messages of the lines printed until `want` or the deadline.
    fn messages(&self, want: usize, within: Duration) -> Vec<String> {
        let mut got = Vec::new();
        let end = Instant::now() + within;
        while got.len() < want {
            let Ok(line) = self
                .out
                .recv_timeout(end.saturating_duration_since(Instant::now()))
            else {
                break;
            };
            got.push(line.splitn(3, ' ').nth(2).unwrap_or_default().to_string());
        }
        got
    }

    /// The first stderr line containing `text`, waited for.
    fn said(&self, text: &str, within: Duration) -> Option<String> {
        let end = Instant::now() + within;
        loop {
            let line = self
                .err
                .recv_timeout(end.saturating_duration_since(Instant::now()))
                .ok()?;
            if line.contains(text) {
                return Some(line);
            }
        }
    }
}

impl Drop for FollowingCli {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `n` lines, one a PutLogEvents call, ten a second.
async fn write_lines(config: &aws_config::SdkConfig, stream: &str, n: usize) -> Vec<String> {
    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    let mut written = Vec::new();
    for i in 0..n {
        let text = format!("live {i}");
        put(&logs, "/ecs/ibet-live/api", stream, &text).await;
        written.push(text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    written
}

#[tokio::test]
async fn logs_follow_by_live_tail_prints_every_line_once_with_one_session() {
    let moto = Moto::start();
    let stub = LiveTailStub::start(&moto.url(), &[]);
    let config = sdk_config(&moto.url());
    let stream = service(&config).await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    put(&logs, "/ecs/ibet-live/api", &stream, "before").await;
    stub.reset();
    let cli = FollowingCli::start(&stub.url(), "once", &[]);
    assert_eq!(cli.messages(1, Duration::from_secs(30)), ["before"]);
    let written = write_lines(&config, &stream, 30).await;
    let mut printed = cli.messages(written.len(), Duration::from_secs(15));
    // Anything printed twice would come within the next updates.
    printed.extend(cli.messages(usize::MAX, Duration::from_millis(2_500)));
    assert_eq!(printed, written);
    assert!(
        cli.said("following by live tail", Duration::from_secs(1))
            .is_some()
    );
    let counts = stub.counts();
    assert_eq!(counts.requests("StartLiveTail"), 1, "{counts:?}");
    assert_eq!(
        counts.requests("FilterLogEvents"),
        2,
        "the backfill and one catch-up: {counts:?}"
    );
    assert_eq!(counts.requests("DescribeLogGroups"), 1, "{counts:?}");
    let streamed = counts.events.get("StartLiveTail").copied().unwrap_or(0);
    let log_bytes = counts.bytes.get("FilterLogEvents").copied().unwrap_or(0)
        + counts.bytes.get("StartLiveTail").copied().unwrap_or(0);
    eprintln!("{streamed} of 30 lines streamed, {log_bytes} bytes of logs API responses");
    assert!(streamed <= 30, "nothing streamed twice: {counts:?}");
}

#[tokio::test]
async fn a_denied_live_tail_polls_and_says_so_once() {
    let moto = Moto::start();
    let stub = LiveTailStub::start(&moto.url(), &["--deny"]);
    let config = sdk_config(&moto.url());
    let stream = service(&config).await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    put(&logs, "/ecs/ibet-live/api", &stream, "before").await;
    let cli = FollowingCli::start(&stub.url(), "denied", &[]);
    assert_eq!(cli.messages(1, Duration::from_secs(30)), ["before"]);
    let said = cli.said("live tail", Duration::from_secs(10));
    assert_eq!(
        said.as_deref(),
        Some(
            "note: /ecs/ibet-live/api: live tail not allowed (logs:StartLiveTail): polling every 0.5 s"
        )
    );
    let written = write_lines(&config, &stream, 10).await;
    let mut printed = cli.messages(written.len(), Duration::from_secs(10));
    printed.extend(cli.messages(usize::MAX, Duration::from_secs(1)));
    assert_eq!(printed, written);
    assert_eq!(stub.counts().requests("StartLiveTail"), 1, "asked once");
    assert!(cli.said("live tail", Duration::from_millis(200)).is_none());
}

#[tokio::test]
async fn logs_follow_poll_never_opens_a_session() {
    let moto = Moto::start();
    let stub = LiveTailStub::start(&moto.url(), &[]);
    let config = sdk_config(&moto.url());
    let stream = service(&config).await;
    let cli = FollowingCli::start(&stub.url(), "poll", &["--poll"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let written = write_lines(&config, &stream, 5).await;
    assert_eq!(cli.messages(5, Duration::from_secs(10)), written);
    assert_eq!(stub.counts().requests("StartLiveTail"), 0);
}

/// Counts the sessions asked of a backend.
struct CountingSessions {
    inner: AwsLogs,
    sessions: AtomicU64,
}

#[async_trait]
impl LogsApi for CountingSessions {
    async fn filter(&self, query: &LogQuery) -> BackendResult<LogPage> {
        self.inner.filter(query).await
    }

    async fn live_tail(&self, query: &LiveQuery) -> BackendResult<Option<Box<dyn LiveSession>>> {
        self.sessions.fetch_add(1, Ordering::Relaxed);
        self.inner.live_tail(query).await
    }
}

fn live_tail(logs: Arc<dyn LogsApi>, config: TailConfig) -> Tail {
    Tail::new(logs, Arc::new(SystemClock))
        .with_budget(Arc::new(RequestBudget::new(500.0, 50)))
        .with_config(TailConfig {
            live: true,
            since: Duration::from_secs(120),
            fast_poll: Duration::from_millis(50),
            slow_poll: Duration::from_millis(200),
            ..config
        })
}

/// Lines and how-it-follows events until `want` lines or the deadline.
async fn collect(
    handle: &mut TailHandle,
    want: usize,
    within: Duration,
) -> (Vec<String>, Vec<Following>) {
    let (mut lines, mut following) = (Vec::new(), Vec::new());
    let end = tokio::time::Instant::now() + within;
    while lines.len() < want {
        match tokio::time::timeout_at(end, handle.recv()).await {
            Ok(Some(TailEvent::Lines(batch))) => {
                lines.extend(batch.into_iter().map(|l| l.display));
            }
            Ok(Some(TailEvent::Following { how, .. })) => following.push(how),
            Ok(Some(TailEvent::Error { group, error, .. })) => panic!("{group}: {error}"),
            Ok(Some(TailEvent::Backfilled)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    (lines, following)
}

/// The tail's one source: `stream` of `group`, labelled `t1`.
fn one_stream(group: &str, stream: &str) -> Vec<LogSource> {
    vec![LogSource {
        group: group.into(),
        stream: Some(stream.into()),
        label: Arc::from("t1"),
    }]
}

#[tokio::test]
async fn a_session_closed_mid_way_loses_and_doubles_nothing() {
    let moto = Moto::start();
    let stub = LiveTailStub::start(&moto.url(), &["--cadence", "0.3", "--close-after", "1.5"]);
    let (group, stream) = ("/ecs/live-close", "ecs/api/t1");
    let config = sdk_config(&moto.url());
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    create(&logs, group, stream).await;
    let backend: Arc<dyn LogsApi> = Arc::new(AwsLogs::new(&sdk_config(&stub.url()), None));
    let tail = live_tail(
        backend,
        TailConfig {
            live_min_session: Duration::from_secs(1),
            ..TailConfig::default()
        },
    );
    let mut handle = tail.spawn(one_stream(group, stream), 64);
    collect(&mut handle, 0, Duration::from_millis(500)).await;
    let mut written = Vec::new();
    for i in 0..50 {
        let text = format!("line {i}");
        put(&logs, group, stream, &text).await;
        written.push(text);
        tokio::time::sleep(Duration::from_millis(80)).await;
    }
    let (mut lines, following) = collect(&mut handle, written.len(), Duration::from_secs(20)).await;
    lines.extend(
        collect(&mut handle, usize::MAX, Duration::from_secs(1))
            .await
            .0,
    );
    assert_eq!(lines, written);
    assert!(
        following.iter().all(|f| *f == Following::Live),
        "{following:?}"
    );
    let counts = stub.counts();
    assert!(counts.requests("StartLiveTail") >= 2, "{counts:?}");
}

#[tokio::test]
async fn moto_alone_closes_every_session_and_the_tail_polls_after_three() {
    let moto = Moto::start();
    let (group, stream) = ("/ecs/live-moto", "ecs/api/t1");
    let config = sdk_config(&moto.url());
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    create(&logs, group, stream).await;
    put(&logs, group, stream, "before").await;
    let backend = Arc::new(CountingSessions {
        inner: AwsLogs::new(&config, None),
        sessions: AtomicU64::new(0),
    });
    let tail = live_tail(
        backend.clone(),
        TailConfig {
            live_reopen_after: Duration::from_millis(100),
            ..TailConfig::default()
        },
    );
    let mut handle = tail.spawn(one_stream(group, stream), 64);
    let (lines, _) = collect(&mut handle, 1, Duration::from_secs(10)).await;
    assert_eq!(lines, ["before"]);
    // Three sessions, a pause before each of the last two, then polls.
    let (lines, following) = collect(&mut handle, usize::MAX, Duration::from_secs(3)).await;
    assert!(lines.is_empty(), "{lines:?}");
    assert_eq!(
        following.last(),
        Some(&Following::Polling {
            every: Duration::from_millis(50),
            why: PollReason::ClosedEarly
        }),
        "{following:?}"
    );
    assert_eq!(backend.sessions.load(Ordering::Relaxed), 3);
    put(&logs, group, stream, "after").await;
    let (lines, _) = collect(&mut handle, 1, Duration::from_secs(5)).await;
    assert_eq!(lines, ["after"]);
    assert_eq!(
        backend.sessions.load(Ordering::Relaxed),
        3,
        "no more sessions"
    );
}
