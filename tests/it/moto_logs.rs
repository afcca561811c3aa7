//! The log tail against a local moto server, over the real AWS SDK protocol.
//!
//! Each test starts its own moto on a free loopback port, registers what it needs (task
//! definitions with `awslogs` options, log groups and streams), writes events with
//! PutLogEvents and reads them back through `AwsLogs` and the tail engine. Poll intervals
//! are shortened so the tests stay fast; nothing leaves 127.0.0.1.

use crate::support::ecs_fixture::awslogs;
use crate::support::moto;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_ecs::types::{ContainerDefinition as EcsContainer, LogDriver};
use ibet_console::backend::aws::logs::AwsLogs;
use ibet_console::backend::{BackendResult, LogsApi};
use ibet_console::clock::{Clock, SystemClock};
use ibet_console::logs::{
    LogBuffer, LogLine, LogSource, LogTarget, RequestBudget, Tail, TailConfig, TailEvent,
    TailHandle, discover, print_logs,
};
use ibet_console::model::ecs::{
    AwsLogs as AwsLogsOptions, ClusterSnapshot, ContainerDefinition, Service, Task, TaskDefinition,
};
use ibet_console::model::logs::{LogPage, LogQuery};
use moto::{Moto, sdk_config};

/// Counts FilterLogEvents calls, polls (a call without a next token starts a query) and
/// the events the answers held.
struct Counting {
    inner: AwsLogs,
    calls: AtomicU64,
    queries: AtomicU64,
    returned: AtomicU64,
}

#[async_trait]
impl LogsApi for Counting {
    async fn filter(&self, query: &LogQuery) -> BackendResult<LogPage> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if query.next_token.is_none() {
            self.queries.fetch_add(1, Ordering::Relaxed);
        }
        let page = self.inner.filter(query).await?;
        self.returned
            .fetch_add(page.events.len() as u64, Ordering::Relaxed);
        Ok(page)
    }
}

struct World {
    moto: Moto,
    config: aws_config::SdkConfig,
    logs: aws_sdk_cloudwatchlogs::Client,
}

impl World {
    fn start() -> Self {
        let moto = Moto::start();
        let config = sdk_config(&moto.url());
        let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
        Self { moto, config, logs }
    }

    fn counting(&self) -> Arc<Counting> {
        Arc::new(Counting {
            inner: AwsLogs::new(&self.config, None),
            calls: AtomicU64::new(0),
            queries: AtomicU64::new(0),
            returned: AtomicU64::new(0),
        })
    }

    async fn create(&self, group: &str, streams: &[&str]) {
        let _ = self
            .logs
            .create_log_group()
            .log_group_name(group)
            .send()
            .await;
        for stream in streams {
            self.logs
                .create_log_stream()
                .log_group_name(group)
                .log_stream_name(*stream)
                .send()
                .await
                .expect("create log stream");
        }
    }

    async fn put(&self, group: &str, stream: &str, events: &[(i64, String)]) {
        let events: Vec<InputLogEvent> = events
            .iter()
            .map(|(ts, message)| {
                InputLogEvent::builder()
                    .timestamp(*ts)
                    .message(message)
                    .build()
                    .expect("log event")
            })
            .collect();
        self.logs
            .put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .set_log_events(Some(events))
            .send()
            .await
            .expect("put log events");
    }
}

/// Short intervals, a generous budget: tests take milliseconds per poll, not seconds.
fn fast_config(follow: bool) -> TailConfig {
    TailConfig {
        follow,
        since: Duration::from_secs(120),
        fast_poll: Duration::from_millis(20),
        slow_poll: Duration::from_millis(100),
        ..TailConfig::default()
    }
}

fn tail(logs: Arc<Counting>, config: TailConfig) -> Tail {
    let logs: Arc<dyn LogsApi> = logs;
    Tail::new(logs, Arc::new(SystemClock))
        .with_budget(Arc::new(RequestBudget::new(500.0, 50)))
        .with_config(config)
}

fn now() -> i64 {
    SystemClock.now_ms()
}

/// Lines until `want` have arrived (or the deadline passes); errors fail the test.
async fn collect(handle: &mut TailHandle, want: usize, deadline: Duration) -> Vec<LogLine> {
    let mut lines = Vec::new();
    let end = tokio::time::Instant::now() + deadline;
    while lines.len() < want {
        match tokio::time::timeout_at(end, handle.recv()).await {
            Ok(Some(TailEvent::Lines(batch))) => {
                assert!(batch.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
                lines.extend(batch);
            }
            Ok(Some(TailEvent::Backfilled | TailEvent::Following { .. })) => {}
            Ok(Some(TailEvent::Error { group, error, .. })) => panic!("{group}: {error}"),
            Ok(None) | Err(_) => break,
        }
    }
    lines
}

/// Our model of a task definition from ECS's answer (the ECS backend does this for the
/// console; this is just enough for the test).
fn to_model(td: &aws_sdk_ecs::types::TaskDefinition) -> TaskDefinition {
    TaskDefinition {
        arn: td.task_definition_arn().unwrap_or_default().to_string(),
        family: td.family().unwrap_or_default().to_string(),
        revision: u32::try_from(td.revision()).unwrap_or_default(),
        containers: td
            .container_definitions()
            .iter()
            .map(|c| ContainerDefinition {
                name: c.name().unwrap_or_default().to_string(),
                image: c.image().unwrap_or_default().to_string(),
                log: c.log_configuration().and_then(|l| {
                    let options = l.options()?;
                    (*l.log_driver() == LogDriver::Awslogs).then(|| AwsLogsOptions {
                        group: options.get("awslogs-group").cloned().unwrap_or_default(),
                        region: options.get("awslogs-region").cloned(),
                        stream_prefix: options.get("awslogs-stream-prefix").cloned(),
                    })
                }),
                ..ContainerDefinition::default()
            })
            .collect(),
        ..TaskDefinition::default()
    }
}

#[tokio::test]
async fn streams_are_discovered_from_a_registered_task_definition_and_read() {
    let world = World::start();
    let ecs = aws_sdk_ecs::Client::new(&world.config);
    let registered = ecs
        .register_task_definition()
        .family("ibet-ap")
        .container_definitions(
            EcsContainer::builder()
                .name("web")
                .image("ibet/web:1")
                .memory(512)
                .log_configuration(awslogs("/ecs/ibet-ap", "ap"))
                .build(),
        )
        .container_definitions(
            EcsContainer::builder()
                .name("notification")
                .image("ibet/notification:1")
                .memory(256)
                .log_configuration(awslogs("/ecs/ibet-ap", "ap"))
                .build(),
        )
        .send()
        .await
        .expect("register task definition");
    let td = to_model(registered.task_definition().expect("task definition"));
    let task_ids = [
        "1a2b3c4d5e6f708192a3b4c5d6e7f809",
        "ffeeddccbbaa99887766554433221100",
    ];
    let snapshot = ClusterSnapshot {
        cluster: "ibet-stg-node-api".into(),
        services: vec![Service {
            name: "ap".into(),
            task_definition: td.arn.clone(),
            ..Service::default()
        }],
        tasks: task_ids
            .iter()
            .map(|id| Task {
                id: (*id).into(),
                service: Some("ap".into()),
                task_definition: td.arn.clone(),
                last_status: "RUNNING".into(),
                ..Task::default()
            })
            .collect(),
        task_definitions: BTreeMap::from([(td.arn.clone(), td)]),
    };
    let sources = discover(
        &snapshot,
        &[LogTarget::Service("ap".into())],
        &BTreeMap::new(),
        0,
    )
    .expect("sources");
    let streams: Vec<(&str, &str, &str)> = sources
        .iter()
        .map(|s| {
            (
                s.group.as_str(),
                s.stream.as_deref().unwrap_or(""),
                &*s.label,
            )
        })
        .collect();
    assert_eq!(
        streams,
        [
            (
                "/ecs/ibet-ap",
                "ap/notification/1a2b3c4d5e6f708192a3b4c5d6e7f809",
                "notification/1a2b3c4d"
            ),
            (
                "/ecs/ibet-ap",
                "ap/notification/ffeeddccbbaa99887766554433221100",
                "notification/ffeeddcc"
            ),
            (
                "/ecs/ibet-ap",
                "ap/web/1a2b3c4d5e6f708192a3b4c5d6e7f809",
                "web/1a2b3c4d"
            ),
            (
                "/ecs/ibet-ap",
                "ap/web/ffeeddccbbaa99887766554433221100",
                "web/ffeeddcc"
            ),
        ]
    );

    // Write one line into each computed stream, and one into a stream not followed.
    let names: Vec<&str> = sources.iter().filter_map(|s| s.stream.as_deref()).collect();
    let mut all = names.clone();
    all.push("ap/web/someoneelse");
    world.create("/ecs/ibet-ap", &all).await;
    let t = now() - 5_000;
    for (i, stream) in all.iter().enumerate() {
        world
            .put(
                "/ecs/ibet-ap",
                stream,
                &[(t + i as i64, format!("hello from {stream}"))],
            )
            .await;
    }
    let counting = world.counting();
    let mut handle = tail(counting.clone(), fast_config(false)).spawn(sources.clone(), 16);
    let lines = collect(&mut handle, usize::MAX, Duration::from_secs(20)).await;
    let got: Vec<String> = lines
        .iter()
        .map(|l| format!("{} {}", l.source, l.display))
        .collect();
    assert_eq!(
        got,
        [
            "notification/1a2b3c4d hello from ap/notification/1a2b3c4d5e6f708192a3b4c5d6e7f809",
            "notification/ffeeddcc hello from ap/notification/ffeeddccbbaa99887766554433221100",
            "web/1a2b3c4d hello from ap/web/1a2b3c4d5e6f708192a3b4c5d6e7f809",
            "web/ffeeddcc hello from ap/web/ffeeddccbbaa99887766554433221100",
        ]
    );
    assert_eq!(
        counting.calls.load(Ordering::Relaxed),
        1,
        "four streams of one group: one request"
    );
}

#[tokio::test]
async fn ten_thousand_events_are_tailed_completely_each_once() {
    const TOTAL: usize = 10_000;
    const BATCH: usize = 500;
    let world = World::start();
    let group = "/ecs/ibet-api";
    let streams = ["ecs/api/task-a", "ecs/api/task-b"];
    world.create(group, &streams).await;
    let sources: Vec<LogSource> = streams
        .iter()
        .map(|s| LogSource {
            group: group.into(),
            stream: Some((*s).into()),
            label: Arc::from(*s),
        })
        .collect();
    let base = now() - 30_000;
    let batch_of = |b: usize| -> Vec<(i64, String)> {
        (b * BATCH..(b + 1) * BATCH)
            .map(|i| (base + (i / 2) as i64, format!("event {i:05}")))
            .collect()
    };
    // A fifth before the tail starts (the backfill), the rest while it follows; the two
    // streams take turns, and pairs of events share a timestamp.
    let batches = TOTAL / BATCH;
    for b in 0..batches / 5 {
        world.put(group, streams[b % 2], &batch_of(b)).await;
    }
    let counting = world.counting();
    let config = TailConfig {
        page_limit: Some(1_000),
        ..fast_config(true)
    };
    let started = Instant::now();
    let mut handle = tail(counting.clone(), config).spawn(sources, 64);
    let writer = async {
        for b in batches / 5..batches {
            world.put(group, streams[b % 2], &batch_of(b)).await;
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    };
    let (mut lines, ()) =
        tokio::join!(collect(&mut handle, TOTAL, Duration::from_secs(60)), writer);
    let took = started.elapsed();
    // A few more polls must bring nothing twice.
    lines.extend(collect(&mut handle, usize::MAX, Duration::from_millis(300)).await);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for line in &lines {
        *seen.entry(line.display.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(lines.len(), TOTAL, "every event delivered");
    // Each batch is in timestamp order (checked by `collect`). A batch of one stream can
    // land after a newer line of the other (moto pages stream by stream while the writer
    // writes); the look-back catches it, and the buffer files it where it belongs.
    let mut buffer = LogBuffer::new(TOTAL);
    buffer.extend(lines.iter().cloned());
    let in_order: Vec<&str> = buffer.iter().map(|l| l.display.as_str()).collect();
    let expected: Vec<String> = (0..TOTAL).map(|i| format!("event {i:05}")).collect();
    assert_eq!(in_order, expected);
    let calls = counting.calls.load(Ordering::Relaxed);
    let polls = counting.queries.load(Ordering::Relaxed);
    eprintln!(
        "10,000 events: {:.2?} to tail, {calls} requests in {polls} polls ({:.2} per poll)",
        took,
        calls as f64 / polls as f64
    );
}

#[tokio::test]
async fn a_busy_task_beside_a_quiet_one_is_downloaded_about_once_and_a_late_batch_kept() {
    let world = World::start();
    let group = "/ecs/ibet-api";
    let (busy, quiet) = ("ecs/api/task-busy", "ecs/api/task-quiet");
    world.create(group, &[busy, quiet]).await;
    let sources: Vec<LogSource> = [busy, quiet]
        .iter()
        .map(|s| LogSource {
            group: group.into(),
            stream: Some((*s).into()),
            label: Arc::from(*s),
        })
        .collect();
    let counting = world.counting();
    let config = TailConfig {
        fast_poll: Duration::from_millis(200),
        sweep_every: Duration::from_millis(500),
        ..fast_config(true)
    };
    let mut handle = tail(Arc::clone(&counting), config).spawn(sources, 64);
    collect(&mut handle, 0, Duration::from_millis(300)).await;
    let returned_before = counting.returned.load(Ordering::Relaxed);
    // 100 events on the busy task, one per call, while the other task stays quiet.
    let writer = async {
        for i in 0..100 {
            world
                .put(group, busy, &[(now(), format!("busy {i:03}"))])
                .await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let (lines, ()) = tokio::join!(collect(&mut handle, 100, Duration::from_secs(30)), writer);
    let shown: Vec<String> = lines.into_iter().map(|l| l.display).collect();
    let want: Vec<String> = (0..100).map(|i| format!("busy {i:03}")).collect();
    assert_eq!(shown, want, "each event once, in order");
    let returned = counting.returned.load(Ordering::Relaxed) - returned_before;
    assert!(
        returned * 2 <= 100 * 3,
        "{returned} events downloaded for 100"
    );
    // The quiet task's batch lands 4 s after its timestamp: the sweep reads it, once.
    world
        .put(group, quiet, &[(now() - 4_000, "quiet, late".to_string())])
        .await;
    let late: Vec<String> = collect(&mut handle, usize::MAX, Duration::from_secs(2))
        .await
        .into_iter()
        .map(|l| l.display)
        .collect();
    assert_eq!(late, ["quiet, late"]);
}

#[tokio::test]
async fn identical_timestamps_written_between_polls_arrive_once_each_in_order() {
    let world = World::start();
    let group = "/ecs/ibet-api";
    let stream = "ecs/api/task-a";
    world.create(group, &[stream]).await;
    let t = now() - 1_000;
    let source = LogSource {
        group: group.into(),
        stream: Some(stream.into()),
        label: Arc::from("api/task-a"),
    };
    let mut handle = tail(world.counting(), fast_config(true)).spawn(vec![source], 16);
    let mut expected = Vec::new();
    let mut received = Vec::new();
    for round in 0..5 {
        let events: Vec<(i64, String)> = (0..20)
            .map(|i| (t, format!("same ms {round}.{i:02}")))
            .collect();
        expected.extend(events.iter().map(|(_, m)| m.clone()));
        world.put(group, stream, &events).await;
        let lines = collect(&mut handle, 20, Duration::from_secs(10)).await;
        received.extend(lines.into_iter().map(|l| l.display));
    }
    received.extend(
        collect(&mut handle, usize::MAX, Duration::from_millis(300))
            .await
            .into_iter()
            .map(|l| l.display),
    );
    assert_eq!(received, expected);
}

#[tokio::test]
async fn a_task_discovered_late_is_backfilled_from_its_start_each_line_once() {
    let world = World::start();
    let group = "/ecs/ibet-api";
    let (first, late) = ("ecs/api/task-a", "ecs/api/task-b");
    world.create(group, &[first, late]).await;
    let source = |stream: &str| LogSource {
        group: group.into(),
        stream: Some(stream.into()),
        label: Arc::from(stream),
    };
    let t = now();
    world
        .put(group, first, &[(t - 3_000, "a before".to_string())])
        .await;
    // The late task has been logging for a minute before the console learns of it:
    // most of its lines are older than the 10 s look-back.
    let early: Vec<(i64, String)> = (0..30)
        .map(|i| (t - 60_000 + i * 2_000, format!("b {i:02}")))
        .collect();
    world.put(group, late, &early).await;
    let counting = world.counting();
    let mut handle = tail(counting.clone(), fast_config(true)).spawn(vec![source(first)], 16);
    let mut lines = collect(&mut handle, 1, Duration::from_secs(10)).await;
    handle.set_sources(vec![source(first), source(late)]);
    world
        .put(group, first, &[(now(), "a after".to_string())])
        .await;
    world
        .put(group, late, &[(now(), "b after".to_string())])
        .await;
    lines.extend(collect(&mut handle, 32, Duration::from_secs(10)).await);
    // A few more polls bring nothing twice.
    lines.extend(collect(&mut handle, usize::MAX, Duration::from_millis(500)).await);
    let mut got: Vec<&str> = lines.iter().map(|l| l.display.as_str()).collect();
    got.sort_unstable();
    let mut want: Vec<String> = early.into_iter().map(|(_, m)| m).collect();
    want.extend(["a before", "a after", "b after"].map(String::from));
    want.sort_unstable();
    assert_eq!(got, want);
}

/// `logs --follow` of a service, as a process: a task started while it follows joins,
/// with its lines from before the console saw it, each printed once.
#[tokio::test]
async fn logs_follow_picks_up_a_task_started_while_following() {
    let world = World::start();
    let ecs = aws_sdk_ecs::Client::new(&world.config);
    let (cluster, group) = ("ibet-test-api", "/ecs/ibet-test/api");
    ecs.create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .expect("cluster");
    let td = ecs
        .register_task_definition()
        .family("ibet-test-api")
        .container_definitions(
            EcsContainer::builder()
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
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .send()
        .await
        .expect("service");
    let run_task = || async {
        let out = ecs
            .run_task()
            .cluster(cluster)
            .task_definition(&td)
            .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
            .group("service:api")
            .started_by("ecs-svc/test")
            .send()
            .await
            .expect("run task");
        let arn = out.tasks()[0].task_arn().expect("task arn").to_string();
        let id = arn.rsplit('/').next().expect("task id").to_string();
        format!("ecs/api/{id}")
    };
    let first = run_task().await;
    world.create(group, &[first.as_str()]).await;
    world
        .put(group, &first, &[(now() - 2_000, "first task".to_string())])
        .await;
    let dir = std::env::temp_dir().join(format!("ibet-logs-follow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "refresh_secs = 1\n\n[[environments]]\nname = \"test\"\nregion = \"ap-northeast-1\"\n\
             endpoint_url = \"{}\"\nread_only = true\n\n[[environments.clusters]]\n\
             name = \"api\"\necs_cluster = \"{cluster}\"\n",
            world.moto.url()
        ),
    )
    .expect("config");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ibet-console"))
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
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start ibet-console logs");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let read_until = |want: usize, within: Duration| {
        let mut lines = Vec::new();
        let end = Instant::now() + within;
        while lines.len() < want {
            let left = end.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        lines
    };
    let mut printed = read_until(1, Duration::from_secs(30));
    // A second task starts; it logged a minute's worth before the console's next look.
    let second = run_task().await;
    world.create(group, &[second.as_str()]).await;
    let t = now();
    world
        .put(
            group,
            &second,
            &[
                (t - 60_000, "second task early".to_string()),
                (t, "second task now".to_string()),
            ],
        )
        .await;
    printed.extend(read_until(2, Duration::from_secs(30)));
    printed.extend(read_until(usize::MAX, Duration::from_secs(2)));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let messages: Vec<&str> = printed
        .iter()
        .map(|l| l.splitn(3, ' ').nth(2).unwrap_or_default())
        .collect();
    assert_eq!(
        messages,
        ["first task", "second task early", "second task now"],
        "{printed:#?}"
    );
}

#[tokio::test]
async fn filter_patterns_are_applied_by_the_service() {
    let world = World::start();
    let group = "/ecs/ibet-api";
    let stream = "ecs/api/task-a";
    world.create(group, &[stream]).await;
    let t = now() - 10_000;
    let messages = [
        "INFO block imported",
        "ERROR database unreachable",
        "WARN disk full soon",
        "ERROR disk full",
    ];
    let events: Vec<(i64, String)> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| (t + i as i64, (*m).to_string()))
        .collect();
    world.put(group, stream, &events).await;
    let source = LogSource {
        group: group.into(),
        stream: Some(stream.into()),
        label: Arc::from("api"),
    };
    // moto understands single terms, several terms (all must match) and quoted phrases.
    for (pattern, want) in [
        (
            "ERROR",
            vec!["ERROR database unreachable", "ERROR disk full"],
        ),
        ("disk full", vec!["WARN disk full soon", "ERROR disk full"]),
        ("\"full soon\"", vec!["WARN disk full soon"]),
        ("nothing", vec![]),
    ] {
        let config = TailConfig {
            filter_pattern: Some(pattern.into()),
            ..fast_config(false)
        };
        let mut handle = tail(world.counting(), config).spawn(vec![source.clone()], 16);
        let lines = collect(&mut handle, usize::MAX, Duration::from_secs(10)).await;
        let got: Vec<&str> = lines.iter().map(|l| l.display.as_str()).collect();
        assert_eq!(got, want, "pattern {pattern}");
    }
}

#[tokio::test]
async fn escape_sequences_arrive_inert() {
    let world = World::start();
    let group = "/ecs/ibet-api";
    let stream = "ecs/api/task-a";
    world.create(group, &[stream]).await;
    let t = now() - 10_000;
    let hostile = [
        "\x1b[2Jcleared?",
        "\x1b]0;owned title\x07after title",
        "\x1b]8;;https://example.invalid\x1b\\link text\x1b]8;;\x1b\\",
        "safe\roverwritten",
        "c1 \u{9b}31mcsi",
        "tab\there\x08\x07\x7f",
    ];
    let events: Vec<(i64, String)> = hostile
        .iter()
        .enumerate()
        .map(|(i, m)| (t + i as i64, (*m).to_string()))
        .collect();
    world.put(group, stream, &events).await;
    let source = LogSource {
        group: group.into(),
        stream: Some(stream.into()),
        label: Arc::from("api"),
    };
    let mut handle = tail(world.counting(), fast_config(false)).spawn(vec![source.clone()], 16);
    let lines = collect(&mut handle, usize::MAX, Duration::from_secs(10)).await;
    let shown: Vec<&str> = lines.iter().map(|l| l.display.as_str()).collect();
    assert_eq!(
        shown,
        [
            "cleared?",
            "after title",
            "link text",
            "safe␍overwritten",
            "c1 csi",
            "tab     here␈␇␡",
        ]
    );
    let raws: Vec<&str> = lines.iter().map(|l| l.raw.as_str()).collect();
    assert_eq!(raws, hostile, "the raw message is kept whole");

    // The `logs` command prints the same, inert.
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    let summary = print_logs(
        tail(world.counting(), fast_config(false)),
        vec![source],
        &ibet_console::logs::LineFormat::default(),
        &mut out,
        &mut errors,
    )
    .await
    .expect("print logs");
    assert_eq!(summary.lines, 6);
    let printed = String::from_utf8(out).expect("utf-8");
    assert!(
        !printed
            .chars()
            .any(|c| c != '\n' && (c.is_control() || ('\u{80}'..='\u{9f}').contains(&c))),
        "{printed:?}"
    );
    assert!(printed.lines().all(|l| l.contains(" api ")));
    assert!(errors.is_empty());
}

#[tokio::test]
async fn a_missing_group_is_an_error_message() {
    let world = World::start();
    let source = LogSource {
        group: "/ecs/nope".into(),
        stream: Some("ecs/nope/x".into()),
        label: Arc::from("nope"),
    };
    let mut handle = tail(world.counting(), fast_config(false)).spawn(vec![source], 16);
    let mut errors = Vec::new();
    while let Some(event) = handle.recv().await {
        if let TailEvent::Error { group, error, .. } = event {
            errors.push(format!("{group}: {error}"));
        }
    }
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("/ecs/nope: not found"), "{errors:?}");
}
