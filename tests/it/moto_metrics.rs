//! CloudWatch metrics and alarms over the real protocol: datapoints put into a moto
//! server (PutMetricData) read back by the console's backend and shown, alarms put
//! (PutMetricAlarm) and moved by SetAlarmState, and the number of requests each read
//! costs (GetMetricData, DescribeAlarms), counted by the SDK interceptor.
//!
//! moto computes Sum, Average and Maximum but no percentiles: the p95 column is covered
//! by the demo world and unit tests; here it must stay `–`, never 0.

use crate::support::{config_toml, ecs_fixture, moto, screen};

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, MetricDatum, StandardUnit, StateValue, Statistic,
};
use ibet_console::backend::aws::cloudwatch::AwsMetrics;
use ibet_console::backend::aws::metrics::RequestCounter;
use ibet_console::backend::{EnvBackends, MetricsApi};
use ibet_console::clock::{Clock, SharedClock, SystemClock};
use ibet_console::config::Config;
use ibet_console::model::metrics::{MINUTE_MS, Metric, MetricKey, Scope};
use ibet_console::session::Session;
use ibet_console::world::Observation;

use ecs_fixture::{ClusterShape, EcsFixture};
use moto::Moto;

fn dimension(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

/// Puts one datapoint of `metric` in `namespace` at `at` (ms).
async fn put(
    client: &Client,
    namespace: &str,
    metric: &str,
    dims: &[(&str, &str)],
    at: i64,
    value: f64,
) {
    client
        .put_metric_data()
        .namespace(namespace)
        .metric_data(
            MetricDatum::builder()
                .metric_name(metric)
                .set_dimensions(Some(dims.iter().map(|(n, v)| dimension(n, v)).collect()))
                .timestamp(DateTime::from_millis(at))
                .value(value)
                .unit(StandardUnit::None)
                .build(),
        )
        .send()
        .await
        .expect("PutMetricData");
}

/// An alarm on a service's CPU called `name`, set to `state`.
async fn alarm(client: &Client, name: &str, cluster: &str, service: &str, state: StateValue) {
    client
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/ECS")
        .metric_name("CPUUtilization")
        .dimensions(dimension("ClusterName", cluster))
        .dimensions(dimension("ServiceName", service))
        .statistic(Statistic::Average)
        .period(60)
        .evaluation_periods(1)
        .threshold(90.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .expect("PutMetricAlarm");
    set_state(client, name, state).await;
}

async fn set_state(client: &Client, name: &str, state: StateValue) {
    client
        .set_alarm_state()
        .alarm_name(name)
        .state_value(state)
        .state_reason(
            "Threshold Crossed: 1 datapoint [97.0] was greater than the threshold (90.0).",
        )
        .send()
        .await
        .expect("SetAlarmState");
}

/// The start of the minute `minutes` before now (ms).
fn minutes_ago(minutes: i64) -> i64 {
    let now = SystemClock.now_ms();
    now - now.rem_euclid(MINUTE_MS) - minutes * MINUTE_MS
}

#[tokio::test]
async fn what_was_put_is_read_back_in_one_request_per_500_keys() {
    let url = Moto::shared().url();
    let sdk = moto::sdk_config(&url);
    let client = Client::new(&sdk);
    let cluster = moto::unique("metrics-read");
    let at = minutes_ago(2);
    let ecs = [("ClusterName", cluster.as_str()), ("ServiceName", "api")];
    put(&client, "AWS/ECS", "CPUUtilization", &ecs, at, 42.5).await;
    put(&client, "AWS/ECS", "MemoryUtilization", &ecs, at, 61.0).await;
    let lb = format!("app/{cluster}-ext/50dc6c495c0c9188");
    let tg = format!("targetgroup/{cluster}-api/73e2d6bc24d8a067");
    let alb = [("LoadBalancer", lb.as_str()), ("TargetGroup", tg.as_str())];
    put(
        &client,
        "AWS/ApplicationELB",
        "RequestCount",
        &alb,
        at,
        1200.0,
    )
    .await;
    put(
        &client,
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
        &alb,
        at,
        30.0,
    )
    .await;

    let requests = RequestCounter::new();
    let backend = AwsMetrics::new(&sdk, None).with_request_counter(&requests);
    let tg_key = |metric| {
        MetricKey::new(
            Scope::TargetGroup {
                load_balancer: lb.clone(),
                target_group: tg.clone(),
            },
            metric,
        )
    };
    let keys = vec![
        MetricKey::service(&cluster, "api", Metric::Cpu),
        MetricKey::service(&cluster, "api", Metric::Memory),
        MetricKey::service(&cluster, "new-service", Metric::Cpu),
        tg_key(Metric::Requests),
        tg_key(Metric::Target5xx),
    ];
    let end = minutes_ago(0);
    let series = backend
        .metric_data(&keys, end - 30 * MINUTE_MS, end)
        .await
        .expect("GetMetricData");
    assert_eq!(requests.count("GetMetricData"), 1);
    assert_eq!(series[0], vec![(at, 42.5)]);
    assert_eq!(series[1], vec![(at, 61.0)]);
    assert!(series[2].is_empty(), "no data is no point: {:?}", series[2]);
    assert_eq!(series[3], vec![(at, 1200.0)]);
    assert_eq!(series[4], vec![(at, 30.0)]);

    // 600 keys: two requests, the answers in the order of the keys.
    requests.reset();
    let many: Vec<MetricKey> = (0..600)
        .map(|i| MetricKey::service(&cluster, &format!("svc-{i}"), Metric::Cpu))
        .chain(std::iter::once(MetricKey::service(
            &cluster,
            "api",
            Metric::Cpu,
        )))
        .collect();
    let series = backend
        .metric_data(&many, end - 30 * MINUTE_MS, end)
        .await
        .expect("GetMetricData");
    assert_eq!(requests.count("GetMetricData"), 2);
    assert_eq!(series.len(), 601);
    assert_eq!(series[600], vec![(at, 42.5)]);
}

/// A console on moto: one wallet cluster, metrics of its `api`, an alarm on it.
struct Console {
    sdk: aws_config::SdkConfig,
    config: Config,
    ecs_cluster: String,
    prefix: String,
    dir: tempfile::TempDir,
}

async fn console() -> Console {
    let url = Moto::shared().url();
    let sdk = moto::patient_sdk_config(&url, Duration::from_secs(30));
    let fixture = EcsFixture::connect(&sdk)
        .await
        .expect("ecs")
        .in_stage(&moto::unique("m"));
    let cluster = fixture
        .staging_cluster("node-api", ClusterShape::Wallet)
        .await
        .expect("cluster");
    let prefix = format!("{}-", moto::unique("alarm"));
    let dir = tempfile::tempdir().expect("tmp");
    let text = [
        "refresh_secs = 30\n".to_string(),
        config_toml::environment("staging", Some(&url), false),
        format!("alarm_prefix = \"{prefix}\"\n"),
        config_toml::cluster("node-api", &cluster.ecs_cluster),
    ]
    .concat();
    let config = Config::parse(&text, std::path::Path::new("moto.toml")).expect("config");
    Console {
        sdk,
        config,
        ecs_cluster: cluster.ecs_cluster,
        prefix,
        dir,
    }
}

impl Console {
    /// The console's session on moto, its CloudWatch requests counted into `requests`.
    fn session(&self, requests: &RequestCounter) -> Session {
        use ibet_console::backend::aws::{ecs::AwsEcs, elb::AwsElb, identity::AwsIdentity};
        let clock: SharedClock = Arc::new(SystemClock);
        let sdk = &self.sdk;
        let backends = EnvBackends {
            ecs: Arc::new(AwsEcs::new(sdk, None, Arc::clone(&clock))),
            elb: Arc::new(AwsElb::new(sdk, None)),
            logs: Arc::new(ibet_console::backend::aws::logs::AwsLogs::new(sdk, None)),
            metrics: Arc::new(AwsMetrics::new(sdk, None).with_request_counter(requests)),
            rpc: Arc::new(ibet_console::backend::rpc::QuorumRpc::new(Arc::clone(
                &clock,
            ))),
            identity: Arc::new(AwsIdentity::new(sdk, None)),
            verify: Arc::new(ibet_console::backend::aws::verify::AwsVerify::new(
                sdk, None,
            )),
            locks: Arc::new(ibet_console::backend::lock::HostLocks::new(self.dir.path())),
        };
        Session {
            config: self.config.clone(),
            backends: vec![backends],
            clock,
            world: None,
        }
    }
}

#[test]
fn values_put_show_in_the_services_table_and_status_and_an_alarm_comes_and_goes() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let console = rt.block_on(console());
    let client = Client::new(&console.sdk);
    let at = minutes_ago(1);
    let dims = [
        ("ClusterName", console.ecs_cluster.as_str()),
        ("ServiceName", "api"),
    ];
    rt.block_on(async {
        put(&client, "AWS/ECS", "CPUUtilization", &dims, at, 87.0).await;
        put(&client, "AWS/ECS", "MemoryUtilization", &dims, at, 93.0).await;
    });
    let name = format!("{}api-cpu", console.prefix);
    rt.block_on(alarm(
        &client,
        &name,
        &console.ecs_cluster,
        "api",
        StateValue::Alarm,
    ));

    let requests = RequestCounter::new();
    let session = console.session(&requests);
    let mut state = screen::polled_state(&session);
    assert_eq!(
        requests.count("GetMetricData"),
        1,
        "{:?}",
        requests.snapshot()
    );
    assert_eq!(requests.count("DescribeAlarms"), 1);
    let shown = screen::screen(&mut state, 80, 24);
    let api_row = shown
        .lines()
        .find(|l| l.contains("│api "))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(api_row.contains(" 87%  93%"), "{api_row}");
    assert!(
        shown.contains(&format!("node-api api: alarm {name}")),
        "the alarm in the problems strip:\n{shown}"
    );
    // Memory above 90 % is a warning of its own; a service with no data shows –.
    let world = &state.world;
    assert!(
        world
            .problems
            .iter()
            .any(|p| p.summary == "memory high: 93 % (above 90 %)"),
        "{:?}",
        world.problems
    );
    let report = ibet_console::status::StatusReport::from_world(world, world.now);
    let json = serde_json::to_value(&report).expect("json");
    let services = &json["environments"][0]["clusters"][0]["services"];
    let api = services
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "api"))
        .expect("api");
    assert_eq!(api["metrics"]["cpu_pct"], 87.0);
    assert_eq!(api["metrics"]["memory_pct"], 93.0);
    let batch = services
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "batch"))
        .expect("batch");
    assert!(
        batch["metrics"]["cpu_pct"].is_null(),
        "no data: null, not 0"
    );
    let alarm_problem = json["problems"]
        .as_array()
        .and_then(|p| {
            p.iter()
                .find(|p| p["summary"].as_str().is_some_and(|s| s.contains(&name)))
        })
        .expect("the alarm in status --json");
    assert_eq!(alarm_problem["severity"], "critical");
    assert_eq!(alarm_problem["subject"], "api");

    // Back to OK: the next read leaves it out.
    rt.block_on(set_state(&client, &name, StateValue::Ok));
    let mut state = screen::polled_state(&session);
    let shown = screen::screen(&mut state, 80, 24);
    assert!(!shown.contains(&name), "{shown}");
    assert!(
        !state
            .world
            .problems
            .iter()
            .any(|p| p.summary.contains(&name))
    );
}

#[test]
fn the_pollers_read_metrics_once_a_minute_and_alarms_once_a_refresh() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let console = rt.block_on(console());
    let requests = RequestCounter::new();
    rt.block_on(async {
        let session = console.session(&requests);
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let pollers =
            ibet_console::poll::spawn(&session.config, &session.backends, &session.clock, &tx);
        let start = tokio::time::Instant::now();
        let (mut metrics, mut alarms) = (0, 0);
        let mut refreshes = 0;
        while start.elapsed() < Duration::from_secs(20) {
            let msg = tokio::time::timeout(Duration::from_secs(1), rx.recv()).await;
            match msg {
                Ok(Some(Observation::Metrics { result, .. })) => {
                    result.expect("metrics read");
                    metrics += 1;
                }
                Ok(Some(Observation::Alarms { result, .. })) => {
                    result.expect("alarms read");
                    alarms += 1;
                }
                _ => {}
            }
            // Two refreshes asked, after the first reads.
            if refreshes < 2 && start.elapsed() > Duration::from_secs(6 + 5 * refreshes) {
                refreshes += 1;
                pollers.refresh_now();
            }
        }
        drop(pollers);
        assert_eq!(
            metrics, 1,
            "one metrics read in the first minute, refreshes or not"
        );
        assert_eq!(requests.count("GetMetricData"), 1);
        assert_eq!(alarms, 3, "the first read and one per refresh");
        assert_eq!(requests.count("DescribeAlarms"), 3);
    });
}
