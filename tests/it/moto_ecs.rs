//! The ECS backend against a real moto server: what it reads, what it changes, how many
//! requests a refresh costs, and how it fails when the endpoint goes away or hangs.
//!
//! The tests share one moto on a free loopback port, each building its fixture with the
//! SDK (`support/ecs_fixture.rs`) in clusters of its own (`ibet-t-N-node-api`); the one
//! that stops moto starts its own. Two tests need no moto: a silent endpoint (accepts,
//! never answers) and a small fake ECS that pages its List answers the way AWS does,
//! which moto does not.

use crate::support::{ecs_fixture, moto};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ecs_fixture::{ClusterShape, EcsFixture, FixtureCluster, config_toml};
use ibet_console::backend::aws::ecs::AwsEcs;
use ibet_console::backend::aws::identity::AwsIdentity;
use ibet_console::backend::aws::metrics::RequestCounter;
use ibet_console::backend::{BackendError, EcsApi, IdentityApi, ServiceUpdate};
use ibet_console::clock::{ManualClock, SharedClock};
use ibet_console::config::Config;
use ibet_console::model::ecs::{ClusterSnapshot, Task};
use moto::{Moto, counts};

/// A fixture builder on a moto server with task states held, and a counted backend.
struct Bench {
    url: String,
    fixture: EcsFixture,
    ecs: AwsEcs,
    requests: RequestCounter,
}

/// How long a backend call against moto may take: moto loads a service on its first
/// call, which takes seconds on a busy machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// `moto::sdk_config` with calls limited to [`PATIENCE`].
fn patient_sdk_config(url: &str) -> aws_config::SdkConfig {
    moto::patient_sdk_config(url, PATIENCE)
}

/// A bench on the shared moto server, in a stage of the test's own.
async fn bench() -> Bench {
    bench_at(&Moto::shared().url(), &moto::unique("ibet-t")).await
}

/// A bench on the moto server at `url`, naming staging clusters `{stage}-NAME`.
async fn bench_at(url: &str, stage: &str) -> Bench {
    let sdk = patient_sdk_config(url);
    let fixture = EcsFixture::connect(&sdk)
        .await
        .expect("moto answers ECS")
        .in_stage(stage);
    let requests = RequestCounter::new();
    let clock: SharedClock = Arc::new(ManualClock::new(1_795_000_000_000));
    let ecs = AwsEcs::new(&sdk, None, clock).with_request_counter(&requests);
    Bench {
        url: url.to_string(),
        fixture,
        ecs,
        requests,
    }
}

/// A bench with its staging node-api cluster built.
async fn node_api_bench() -> (Bench, FixtureCluster) {
    let b = bench().await;
    let built = b.node_api().await;
    (b, built)
}

impl Bench {
    /// Registers a new revision of `cluster`'s api running `image`; its ARN.
    async fn api_revision(&self, cluster: &FixtureCluster, image: &str) -> String {
        let api = cluster.service("api").expect("api");
        let family = format!("{}-api", cluster.ecs_cluster);
        self.fixture
            .task_definition(&family, &cluster.ecs_cluster, &api.spec, image)
            .await
            .expect("new revision")
    }

    /// Builds the staging node-api cluster (a wallet cluster).
    async fn node_api(&self) -> FixtureCluster {
        self.fixture
            .staging_cluster("node-api", ClusterShape::Wallet)
            .await
            .expect("fixture")
    }
}

fn service_names(snapshot: &ClusterSnapshot) -> Vec<&str> {
    snapshot.services.iter().map(|s| s.name.as_str()).collect()
}

#[tokio::test]
async fn staging_cluster_appears_as_created() {
    let (b, built) = node_api_bench().await;
    let cluster = built.ecs_cluster.as_str();
    let snap = b.ecs.snapshot(cluster).await.expect("snapshot");

    assert_eq!(snap.cluster, cluster);
    assert_eq!(
        service_names(&snap),
        [
            "api",
            "batch",
            "nginx-proxy",
            "notification",
            "quorum-general-1",
            "quorum-general-2"
        ]
    );
    for service in &built.services {
        let seen = snap
            .services
            .iter()
            .find(|s| s.name == service.spec.name)
            .expect("service");
        assert_eq!(seen.desired, service.spec.desired);
        assert_eq!(seen.running, service.spec.desired);
        assert_eq!(seen.task_definition, service.task_definition);
        assert_eq!(seen.deployments[0].status, "PRIMARY");
        let mut running: Vec<&str> = snap
            .tasks_of(&service.spec.name)
            .filter(|t| t.is_running())
            .map(|t| t.arn.as_str())
            .collect();
        running.sort_unstable();
        let mut expected: Vec<&str> = service.tasks.iter().map(String::as_str).collect();
        expected.sort_unstable();
        assert_eq!(running, expected, "tasks of {}", service.spec.name);
    }

    let general = snap
        .services
        .iter()
        .find(|s| s.name == "quorum-general-1")
        .expect("general node");
    assert_eq!(general.target_groups.len(), 1);
    assert!(
        general.target_groups[0]
            .arn
            .contains(&format!("targetgroup/{cluster}-quorum-a/"))
    );
    assert_eq!(general.target_groups[0].port, 8545);

    let api = built.service("api").expect("api");
    let definition = &snap.task_definitions[&api.task_definition];
    assert_eq!(definition.family, format!("{cluster}-api"));
    assert_eq!(definition.revision, 2);
    let container = &definition.containers[0];
    assert!(container.image.ends_with("ibet/wallet-api:v24.12.0"));
    assert_eq!(container.ports, [5000]);
    assert!(
        container
            .environment
            .contains(&("RUN_MODE".into(), "server".into()))
    );
    assert!(container.environment.is_sorted());
    assert_eq!(container.secrets[0].0, "DATABASE_URL");
    let log = container.log.as_ref().expect("awslogs");
    assert_eq!(log.group, format!("/ecs/{cluster}/api"));
    assert_eq!(log.region.as_deref(), Some("ap-northeast-1"));
    assert_eq!(log.stream_prefix.as_deref(), Some("ecs"));
    assert_eq!(
        snap.task_definitions.len(),
        built.task_definitions_referenced()
    );
}

#[tokio::test]
async fn a_stopped_task_shows_why_it_stopped() {
    let (b, built) = node_api_bench().await;
    let cluster = built.ecs_cluster.as_str();
    let snap = b.ecs.snapshot(cluster).await.expect("snapshot");
    let (arn, reason) = &built.stopped[0];
    let stopped = snap
        .tasks
        .iter()
        .find(|t| &t.arn == arn)
        .expect("stopped task");
    assert!(stopped.is_stopped());
    assert_eq!(stopped.service.as_deref(), Some("api"));
    assert_eq!(stopped.stopped_reason.as_ref(), Some(reason));
    assert_eq!(stopped.containers[0].exit_code, Some(0));
    // The stopped task ran the older revision, which the snapshot describes too.
    assert_eq!(snap.task_definitions[&stopped.task_definition].revision, 1);
}

#[tokio::test]
async fn a_still_cluster_costs_one_request_and_moving_services_bring_the_tasks_back() {
    let (b, built) = node_api_bench().await;
    let cluster = built.ecs_cluster.as_str();
    let definitions = built.task_definitions_referenced() as u64;
    assert_eq!(definitions, 7, "six services, plus api's older revision");

    let first = b.ecs.poll_snapshot(cluster).await.expect("first");
    assert_eq!(
        b.requests.snapshot(),
        counts(&[
            ("DescribeServices", 1),
            ("DescribeTaskDefinition", definitions),
            ("DescribeTasks", 1),
            ("ListServices", 1),
            ("ListTasks", 2),
        ])
    );
    // The services alone, for a first screen: two requests, no tasks.
    b.requests.reset();
    let quick = b
        .ecs
        .services_only(cluster)
        .await
        .expect("services")
        .expect("the AWS backend reads them alone");
    assert_eq!(
        b.requests.snapshot(),
        counts(&[("DescribeServices", 1), ("ListServices", 1)])
    );
    assert_eq!(quick.services, first.services);
    assert!(quick.tasks.is_empty());

    // Nothing moved: the services are described, the rest is what the first read.
    b.requests.reset();
    let second = b.ecs.poll_snapshot(cluster).await.expect("second");
    assert_eq!(b.requests.snapshot(), counts(&[("DescribeServices", 1)]));
    assert_eq!(second.services, first.services);
    assert_eq!(second.tasks.len(), first.tasks.len());

    // A deployment starts (someone else's UpdateService): the services say so, and the
    // same snapshot reads the tasks again.
    let revision = b.api_revision(&built, "ibet-wallet-api:v9").await;
    b.fixture
        .client()
        .update_service()
        .cluster(cluster)
        .service("api")
        .task_definition(&revision)
        .send()
        .await
        .expect("someone else's update");
    b.requests.reset();
    let third = b.ecs.poll_snapshot(cluster).await.expect("third");
    assert_eq!(b.requests.count("DescribeServices"), 1);
    assert_eq!(
        b.requests.count("ListTasks"),
        2,
        "{:?}",
        b.requests.snapshot()
    );
    assert_eq!(b.requests.count("ListServices"), 0);
    let moved = third
        .services
        .iter()
        .find(|s| s.name == "api")
        .expect("api");
    assert_eq!(moved.task_definition, revision);

    // A task this console stops: its tasks are read at the next snapshot.
    b.requests.reset();
    b.ecs.poll_snapshot(cluster).await.expect("settled");
    assert_eq!(b.requests.snapshot(), counts(&[("DescribeServices", 1)]));
    let victim = &built.service("nginx-proxy").expect("nginx").tasks[0];
    b.ecs
        .stop_task(cluster, victim, "restart")
        .await
        .expect("stop");
    b.requests.reset();
    let after = b.ecs.poll_snapshot(cluster).await.expect("after the stop");
    assert_eq!(
        b.requests.count("ListTasks"),
        2,
        "{:?}",
        b.requests.snapshot()
    );
    assert!(
        after
            .tasks
            .iter()
            .any(|t| &t.arn == victim && t.is_stopped()),
        "the stopped task shows"
    );

    // Tasks kept no longer than asked, the services standing still: the running tasks
    // kept are described again, not listed (a container's health can turn alone).
    let ecs = b
        .ecs
        .with_kept_for(Duration::from_secs(300), Duration::ZERO);
    b.requests.reset();
    ecs.poll_snapshot(cluster).await.expect("tasks too old");
    assert_eq!(
        b.requests.snapshot(),
        counts(&[("DescribeServices", 1), ("DescribeTasks", 1)])
    );
    // Someone else stops a task, and moto's service counts do not move: described again,
    // the task is stopped, and the tasks are listed again (a replacement may be there).
    let other = &built.service("nginx-proxy").expect("nginx").tasks[1];
    b.fixture
        .stop_task(cluster, other, "someone else")
        .await
        .expect("someone else's stop");
    b.requests.reset();
    let seen = ecs.poll_snapshot(cluster).await.expect("stopped elsewhere");
    assert_eq!(
        b.requests.count("ListTasks"),
        2,
        "{:?}",
        b.requests.snapshot()
    );
    assert_eq!(b.requests.count("ListServices"), 0);
    assert!(
        seen.tasks.iter().any(|t| &t.arn == other && t.is_stopped()),
        "the task stopped elsewhere shows"
    );
    // A snapshot for an action reads everything now.
    b.requests.reset();
    ecs.snapshot(cluster).await.expect("fresh");
    assert_eq!(b.requests.count("ListServices"), 1);
    assert_eq!(b.requests.count("ListTasks"), 2);
}

#[tokio::test]
async fn a_first_look_reads_the_services_once_then_the_tasks() {
    // The poller's first look: the services alone (drawn at once), then the whole
    // snapshot, which reads the tasks and definitions without describing them again.
    let (b, built) = node_api_bench().await;
    let cluster = built.ecs_cluster.as_str();
    let definitions = built.task_definitions_referenced() as u64;
    let quick = b
        .ecs
        .services_only(cluster)
        .await
        .expect("services")
        .expect("the AWS backend reads them alone");
    assert_eq!(
        b.requests.snapshot(),
        counts(&[("DescribeServices", 1), ("ListServices", 1)])
    );
    b.requests.reset();
    let whole = b.ecs.poll_snapshot(cluster).await.expect("whole");
    assert_eq!(
        b.requests.snapshot(),
        counts(&[
            ("DescribeTaskDefinition", definitions),
            ("DescribeTasks", 1),
            ("ListTasks", 2),
        ])
    );
    assert_eq!(whole.services, quick.services);
    assert!(!whole.tasks.is_empty());
    // And after it, the rhythm as before: the services described, nothing else.
    b.requests.reset();
    b.ecs.poll_snapshot(cluster).await.expect("again");
    assert_eq!(b.requests.snapshot(), counts(&[("DescribeServices", 1)]));
    // A fresh snapshot (what verifies an action) reads everything again.
    b.requests.reset();
    b.ecs.snapshot(cluster).await.expect("fresh");
    assert_eq!(b.requests.count("ListServices"), 1);
    assert_eq!(b.requests.count("DescribeServices"), 1);
}

#[tokio::test]
async fn fresh_snapshots_describe_stopped_tasks_once_and_definitions_once() {
    let (b, built) = node_api_bench().await;
    // Everything read now, at every snapshot: what stays cached cannot change.
    let ecs = &b.ecs;
    let cluster = built.ecs_cluster.as_str();
    ecs.snapshot(cluster).await.expect("first");
    b.requests.reset();
    ecs.snapshot(cluster).await.expect("second");
    assert_eq!(
        b.requests.snapshot(),
        counts(&[
            ("DescribeServices", 1),
            ("DescribeTasks", 1),
            ("ListServices", 1),
            ("ListTasks", 2),
        ])
    );

    // Stop everything: the newly stopped tasks are described once, then never again.
    for service in &built.services {
        for arn in &service.tasks {
            b.fixture
                .stop_task(cluster, arn, "maintenance")
                .await
                .expect("stop");
        }
    }
    b.requests.reset();
    let snap = ecs.snapshot(cluster).await.expect("third");
    assert_eq!(b.requests.count("DescribeTasks"), 1);
    assert_eq!(snap.tasks.len(), built.running_tasks() + 1);
    assert!(snap.tasks.iter().all(Task::is_stopped));
    b.requests.reset();
    let again = ecs.snapshot(cluster).await.expect("fourth");
    assert_eq!(
        b.requests.snapshot(),
        counts(&[
            ("DescribeServices", 1),
            ("ListServices", 1),
            ("ListTasks", 2),
        ])
    );
    assert_eq!(again.tasks, snap.tasks);
}

#[tokio::test]
async fn more_than_ten_services_and_a_hundred_tasks_are_batched() {
    let b = bench().await;
    let bulk = moto::unique("bulk");
    let built = b
        .fixture
        .bulk_cluster(&bulk, 12, 130)
        .await
        .expect("fixture");
    // Stop a few so both task lists have entries.
    for arn in built.services[0].tasks.iter().take(3) {
        b.fixture
            .stop_task(&bulk, arn, "Scaling activity initiated by deployment")
            .await
            .expect("stop");
    }
    let snap = b.ecs.snapshot(&bulk).await.expect("snapshot");
    assert_eq!(snap.services.len(), 12);
    assert_eq!(snap.tasks.len(), 130);
    assert_eq!(snap.tasks.iter().filter(|t| t.is_stopped()).count(), 3);
    assert_eq!(snap.tasks_of("svc-00").count(), 11);
    assert_eq!(snap.tasks_of("svc-11").count(), 10);
    assert_eq!(
        b.requests.snapshot(),
        counts(&[
            ("DescribeServices", 2),
            ("DescribeTaskDefinition", 1),
            ("DescribeTasks", 2),
            ("ListServices", 1),
            ("ListTasks", 2),
        ])
    );
}

#[tokio::test]
async fn stop_task_and_update_service_change_what_moto_reports() {
    let (b, built) = node_api_bench().await;
    let cluster = built.ecs_cluster.as_str();
    let nginx = built.service("nginx-proxy").expect("nginx");

    let victim = &nginx.tasks[0];
    b.ecs
        .stop_task(cluster, victim, "restarted from the console")
        .await
        .expect("stop task");
    let snap = b.ecs.snapshot(cluster).await.expect("snapshot");
    let stopped = snap.tasks.iter().find(|t| &t.arn == victim).expect("task");
    assert!(stopped.is_stopped());
    assert_eq!(stopped.desired_status, "STOPPED");
    assert_eq!(
        stopped.stopped_reason.as_deref(),
        Some("restarted from the console")
    );

    let before = snap
        .services
        .iter()
        .find(|s| s.name == "nginx-proxy")
        .expect("service")
        .deployments[0]
        .id
        .clone();
    b.ecs
        .update_service(
            cluster,
            "nginx-proxy",
            &ServiceUpdate {
                task_definition: None,
                force_new_deployment: true,
            },
        )
        .await
        .expect("force new deployment");
    let snap = b.ecs.snapshot(cluster).await.expect("snapshot");
    let after = &snap
        .services
        .iter()
        .find(|s| s.name == "nginx-proxy")
        .expect("service")
        .deployments[0];
    assert_ne!(after.id, before, "a new deployment");

    let release = b.api_revision(&built, "ibet/wallet-api:v25.1.0").await;
    b.ecs
        .update_service(
            cluster,
            "api",
            &ServiceUpdate {
                task_definition: Some(release.clone()),
                force_new_deployment: false,
            },
        )
        .await
        .expect("release");
    let snap = b.ecs.snapshot(cluster).await.expect("snapshot");
    let api_now = snap.services.iter().find(|s| s.name == "api").expect("api");
    assert_eq!(api_now.task_definition, release);
    assert_eq!(api_now.task_definition_short(), format!("{cluster}-api:3"));
    assert!(
        snap.task_definitions[&release].containers[0]
            .image
            .ends_with("v25.1.0")
    );
}

#[tokio::test]
async fn revisions_are_listed_newest_first() {
    let (b, built) = node_api_bench().await;
    let cluster = built.ecs_cluster.as_str();
    let api = built.service("api").expect("api");
    let third = b.api_revision(&built, "ibet/wallet-api:v25.1.0").await;
    let revisions = b
        .ecs
        .task_definition_revisions(&format!("{cluster}-api"))
        .await
        .expect("revisions");
    let mut expected = api.revisions.clone();
    expected.push(third.clone());
    expected.reverse();
    assert_eq!(revisions, expected);

    let definition = b.ecs.task_definition(&third).await.expect("definition");
    assert_eq!(definition.revision, 3);
    let again = b.ecs.task_definition(&third).await.expect("cached");
    assert_eq!(again, definition);
    assert_eq!(b.requests.count("DescribeTaskDefinition"), 1);
}

#[tokio::test]
async fn an_unknown_cluster_is_not_found() {
    let b = bench().await;
    let err = b
        .ecs
        .snapshot("no-such-cluster")
        .await
        .expect_err("missing");
    assert!(matches!(err, BackendError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn moto_going_away_is_an_error_and_its_return_recovers() {
    // Its own server: this test stops it.
    let mut moto = Moto::start();
    let b = bench_at(&moto.url(), "ibet-stg").await;
    b.node_api().await;
    b.ecs.snapshot("ibet-stg-node-api").await.expect("before");

    moto.stop();
    let err = b
        .ecs
        .snapshot("ibet-stg-node-api")
        .await
        .expect_err("moto is down");
    assert!(matches!(err, BackendError::Unreachable { .. }), "{err:?}");
    assert!(err.hint().is_some());

    moto.restart();
    b.fixture
        .hold_task_states()
        .await
        .expect("hold task states");
    b.node_api().await;
    let snap = b.ecs.snapshot("ibet-stg-node-api").await.expect("after");
    assert_eq!(snap.services.len(), 6);
}

/// An endpoint that accepts connections and never answers, on the test's own runtime
/// (current-thread): the call must give up on time while other tasks keep running.
#[tokio::test]
async fn a_silent_endpoint_times_out_without_freezing_the_runtime() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = tokio::spawn({
        let ticks = ticks.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                ticks.fetch_add(1, Ordering::SeqCst);
            }
        }
    });

    let limit = Duration::from_millis(1500);
    let clock: SharedClock = Arc::new(ManualClock::new(0));
    let ecs = AwsEcs::new(&moto::sdk_config(&url), None, clock).with_timeout(limit);
    let started = Instant::now();
    let err = ecs
        .snapshot("ibet-stg-node-api")
        .await
        .expect_err("silence");
    let took = started.elapsed();

    assert_eq!(err, BackendError::Timeout { secs: 2 });
    assert!(took >= Duration::from_millis(1400), "{took:?}");
    assert!(took < limit + Duration::from_secs(1), "{took:?}");
    assert!(
        ticks.load(Ordering::SeqCst) >= 10,
        "the runtime kept running"
    );
    ticker.abort();
    silent.abort();
}

#[tokio::test]
async fn the_caller_identity_is_asked_once() {
    let requests = RequestCounter::new();
    let identity = AwsIdentity::new(&patient_sdk_config(&Moto::shared().url()), None)
        .with_request_counter(&requests);
    let arn = identity.caller().await.expect("caller");
    assert!(arn.starts_with("arn:aws:"), "{arn}");
    assert_eq!(identity.caller().await.expect("again"), arn);
    assert_eq!(requests.snapshot(), counts(&[("GetCallerIdentity", 1)]));
}

#[tokio::test]
async fn the_staging_world_comes_with_a_matching_config() {
    let b = bench().await;
    let world = b.fixture.staging_world().await.expect("world");
    let url = &b.url;
    let config = Config::parse(&config_toml(url, &world), "fixture.toml".as_ref())
        .expect("the printed config parses");
    let env = config.environment("staging").expect("staging");
    assert_eq!(env.endpoint_url.as_deref(), Some(url.as_str()));
    assert_eq!(env.aws_profile, None);
    let clusters: Vec<&str> = env
        .clusters
        .iter()
        .map(|c| c.ecs_cluster.as_str())
        .collect();
    assert_eq!(
        clusters,
        ["node-api", "satoshi", "issuer", "bank"].map(|name| b.fixture.staging_name(name))
    );
    let satoshi = &env.clusters[1];
    assert_eq!(satoshi.quorum_nodes.len(), 4);
    assert_eq!(
        satoshi.quorum_nodes[0].service.as_deref(),
        Some("quorum-validator-1")
    );
    for cluster in &env.clusters {
        let snap = b
            .ecs
            .snapshot(&cluster.ecs_cluster)
            .await
            .expect("snapshot");
        assert!(!snap.services.is_empty(), "{}", cluster.ecs_cluster);
    }
}

/// A fake ECS endpoint that pages its List answers like AWS (moto answers every List
/// call in one page): `services` services and as many running tasks, one task
/// definition. It records the largest Describe batch it was sent.
struct PagingEcs {
    url: String,
    largest_batch: Arc<std::sync::Mutex<BTreeMap<String, usize>>>,
    server: tokio::task::JoinHandle<()>,
}

impl PagingEcs {
    const TASK_DEFINITION: &str = "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/bulk:1";

    async fn start(services: usize) -> Self {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let largest_batch = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
        let batches = largest_batch.clone();
        let server = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut raw = Vec::new();
                let mut buf = [0_u8; 4096];
                let (head, body) = loop {
                    let n = socket.read(&mut buf).await.expect("read");
                    assert!(n > 0, "request cut short");
                    raw.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&raw).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().expect("length"))
                            })
                            .unwrap_or(0);
                        if body.len() >= length {
                            break (head.to_string(), body.to_string());
                        }
                    }
                };
                let target = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .starts_with("x-amz-target:")
                            .then(|| l.rsplit('.').next().unwrap_or_default().trim().to_string())
                    })
                    .expect("x-amz-target");
                let request: serde_json::Value = serde_json::from_str(&body).expect("json");
                let answer = Self::answer(&target, &request, services, &batches);
                let answer = answer.to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                socket.write_all(response.as_bytes()).await.expect("write");
            }
        });
        Self {
            url,
            largest_batch,
            server,
        }
    }

    /// One page of `items` after `request`'s `nextToken`, `maxResults` long.
    fn page(items: &[String], request: &serde_json::Value, key: &str) -> serde_json::Value {
        let start: usize = request["nextToken"]
            .as_str()
            .map_or(0, |t| t.parse().expect("token"));
        let size = request["maxResults"].as_u64().unwrap_or(10) as usize;
        let end = (start + size).min(items.len());
        let mut page = serde_json::json!({ key: items[start..end] });
        if end < items.len() {
            page["nextToken"] = end.to_string().into();
        }
        page
    }

    fn answer(
        target: &str,
        request: &serde_json::Value,
        services: usize,
        batches: &std::sync::Mutex<BTreeMap<String, usize>>,
    ) -> serde_json::Value {
        let service_arn =
            |i: usize| format!("arn:aws:ecs:ap-northeast-1:123456789012:service/bulk/svc-{i:03}");
        let task_arn =
            |i: usize| format!("arn:aws:ecs:ap-northeast-1:123456789012:task/bulk/{i:032x}");
        let record = |key: &str| {
            let size = request[key].as_array().map_or(0, Vec::len);
            let mut batches = batches.lock().expect("batches");
            let largest = batches.entry(target.to_string()).or_insert(0);
            *largest = (*largest).max(size);
        };
        match target {
            "ListServices" => Self::page(
                &(0..services).map(service_arn).collect::<Vec<_>>(),
                request,
                "serviceArns",
            ),
            "ListTasks" if request["desiredStatus"] == "STOPPED" => {
                serde_json::json!({ "taskArns": [] })
            }
            "ListTasks" => Self::page(
                &(0..services).map(task_arn).collect::<Vec<_>>(),
                request,
                "taskArns",
            ),
            "DescribeServices" => {
                record("services");
                let described: Vec<serde_json::Value> = request["services"]
                    .as_array()
                    .expect("services")
                    .iter()
                    .map(|arn| {
                        let arn = arn.as_str().expect("arn");
                        serde_json::json!({
                            "serviceArn": arn,
                            "serviceName": arn.rsplit('/').next(),
                            "status": "ACTIVE",
                            "desiredCount": 1,
                            "runningCount": 1,
                            "pendingCount": 0,
                            "taskDefinition": Self::TASK_DEFINITION,
                        })
                    })
                    .collect();
                serde_json::json!({ "services": described, "failures": [] })
            }
            "DescribeTasks" => {
                record("tasks");
                let described: Vec<serde_json::Value> = request["tasks"]
                    .as_array()
                    .expect("tasks")
                    .iter()
                    .map(|arn| {
                        let i = usize::from_str_radix(
                            arn.as_str().expect("arn").rsplit('/').next().expect("id"),
                            16,
                        )
                        .expect("task number");
                        serde_json::json!({
                            "taskArn": arn,
                            "group": format!("service:svc-{i:03}"),
                            "lastStatus": "RUNNING",
                            "desiredStatus": "RUNNING",
                            "taskDefinitionArn": Self::TASK_DEFINITION,
                        })
                    })
                    .collect();
                serde_json::json!({ "tasks": described, "failures": [] })
            }
            "DescribeTaskDefinition" => serde_json::json!({
                "taskDefinition": {
                    "taskDefinitionArn": Self::TASK_DEFINITION,
                    "family": "bulk",
                    "revision": 1,
                    "containerDefinitions": [{ "name": "app", "image": "app:1" }],
                }
            }),
            other => panic!("unexpected {other}"),
        }
    }
}

#[tokio::test]
async fn list_pages_are_followed_and_describe_batches_are_full() {
    let fake = PagingEcs::start(250).await;
    let requests = RequestCounter::new();
    let clock: SharedClock = Arc::new(ManualClock::new(0));
    let ecs =
        AwsEcs::new(&moto::sdk_config(&fake.url), None, clock).with_request_counter(&requests);

    let snap = ecs.snapshot("bulk").await.expect("snapshot");
    assert_eq!(snap.services.len(), 250);
    assert_eq!(snap.tasks.len(), 250);
    assert_eq!(snap.tasks_of("svc-249").count(), 1);
    assert_eq!(
        requests.snapshot(),
        counts(&[
            ("DescribeServices", 25),
            ("DescribeTaskDefinition", 1),
            ("DescribeTasks", 3),
            ("ListServices", 3),
            ("ListTasks", 4),
        ])
    );
    assert_eq!(
        *fake.largest_batch.lock().expect("batches"),
        counts(&[("DescribeServices", 10), ("DescribeTasks", 100)])
            .into_iter()
            .map(|(k, v)| (k, v as usize))
            .collect::<BTreeMap<_, _>>()
    );
    fake.server.abort();
}
