//! The action subcommands end to end: `switch`, `restart`, `release` and `rollback`.
//!
//! The first tests run the built binary against a moto server (ECS, ELBv2, STS) and
//! anvil nodes, with a generated config and a temporary audit log, and check AWS (moto)
//! and the audit log afterwards. The switch and restart tests share one moto (the switch
//! tests name their load balancers apart); the release test starts its own, with the
//! switch that makes rollouts complete. The last ones call the commands as a library on the
//! embedded demo world, where faults can be injected and the terminal is scripted; the
//! demo world's clock follows tokio's paused clock, so waits for the gate or a rollout
//! take no real time.
//!
//! Anvil nodes are independent chains: two of them never have the same block hash at a
//! height, so the sync gate's `same_chain` check fails between them. The tests work with
//! that in two ways. Where the gate must pass, both general nodes of the config point at
//! the same anvil node (one chain seen through two names: the gate compares it with
//! itself, honestly, over RPC). Where it must fail for the right reason, the candidate is
//! an anvil started with `--fork-url` of the active node and mining off: it shares the
//! active node's history up to the fork (so `same_chain` passes at its height) and then
//! stays there while the active node mines on: it lags and stalls.

use crate::support::release_fixture::Artifacts;
use crate::support::{anvil, config_toml, ecs_fixture, elb_fixture, moto, tmux};

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command as Process, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anvil::{Anvil, Mining};
use aws_sdk_ecs::types::{ContainerDefinition, KeyValuePair, LogConfiguration, LogDriver, Secret};
use ecs_fixture::{ClusterShape, EcsFixture, FixtureCluster};
use elb_fixture::SwitchWorld;
use ibet_console::backend::sim::Fault;
use ibet_console::cli::{Cli, GlobalOpts};
use ibet_console::clock::{Clock, EpochMs};
use ibet_console::commands::{Console, ScriptedPrompter, run_on};
use ibet_console::ops::audit::{AuditEntry, AuditLog, Phase};
use ibet_console::ops::{Op, Outcome};
use ibet_console::session::Session;
use moto::Moto;

const BIN: &str = env!("CARGO_BIN_EXE_ibet-console");
const OPERATOR: &str = "ci-operator";

// ---- the binary against moto and anvil ----------------------------------------------

/// What one run of the binary did.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// A temporary folder with a config and an audit log.
pub(crate) struct Scene {
    dir: tempfile::TempDir,
}

impl Scene {
    pub(crate) fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("config.toml"), config).expect("write config");
        Self { dir }
    }

    pub(crate) fn audit_path(&self) -> PathBuf {
        self.dir.path().join("audit.jsonl")
    }

    /// Runs the binary with the scene's config and audit log, static AWS test
    /// credentials, no terminal on stdin, and `USER` set to [`OPERATOR`].
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        let none = self.dir.path().join("no-such-aws-file");
        let started = std::time::Instant::now();
        let output = Process::new(BIN)
            .arg("--config")
            .arg(self.dir.path().join("config.toml"))
            .arg("--audit-log")
            .arg(self.audit_path())
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_CONFIG_FILE", &none)
            .env("AWS_SHARED_CREDENTIALS_FILE", &none)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env("HOME", self.dir.path())
            .env("XDG_RUNTIME_DIR", self.dir.path())
            .env("USER", OPERATOR)
            .stdin(Stdio::null())
            .output()
            .expect("run ibet-console");
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        eprintln!(
            "$ ibet-console {} ({:.1}s)\n{}{}",
            args.join(" "),
            started.elapsed().as_secs_f64(),
            run.stdout,
            run.stderr
        );
        run
    }

    /// The audit log, oldest line first.
    pub(crate) fn audit(&self) -> Vec<AuditEntry> {
        let mut entries = AuditLog::new(self.audit_path())
            .recent(1000)
            .expect("read audit log");
        entries.reverse();
        entries
    }

    /// Each audit line's op kind, phase and outcome, oldest first.
    pub(crate) fn audit_kinds(&self) -> Vec<(&'static str, Phase, Option<Outcome>)> {
        self.audit()
            .iter()
            .map(|e| (e.op.kind(), e.phase, e.outcome))
            .collect()
    }
}

/// One environment `staging` on moto at `endpoint`, its nodes polled every second.
fn environment(endpoint: &str) -> String {
    format!(
        "rpc_poll_secs = 1\n{}",
        config_toml::environment("staging", Some(endpoint), false)
    )
}

/// The node-api cluster: the two general nodes at `general_1` and `general_2`, and a
/// listener switch (`[listener, general-1's target group, general-2's]`).
fn node_api(switch: Option<[&str; 3]>, general_1: &str, general_2: &str) -> String {
    let mut toml = config_toml::cluster("node-api", "ibet-stg-node-api");
    toml += &config_toml::quorum_node("general-1", general_1, None, Some("quorum-general-1"));
    toml += &config_toml::quorum_node("general-2", general_2, None, Some("quorum-general-2"));
    if let Some([listener, a, b]) = switch {
        toml += &config_toml::listener_switch(listener, [a, b], Some(3));
    }
    toml
}

/// The switch of `world` for [`node_api`].
fn listener_switch(world: &SwitchWorld) -> [&str; 3] {
    [&world.listener, &world.quorum_a, &world.quorum_b]
}

/// The satoshi cluster with its four validators at `urls`.
fn satoshi(urls: [&str; 4]) -> String {
    config_toml::cluster("satoshi", "ibet-stg-satoshi")
        + &config_toml::validators(urls, "quorum-validator-")
}

/// The listener's default forward action: target group ARN → weight.
async fn listener_weights(
    client: &aws_sdk_elasticloadbalancingv2::Client,
    listener: &str,
) -> Vec<(String, i32)> {
    let out = client
        .describe_listeners()
        .listener_arns(listener)
        .send()
        .await
        .expect("describe listener");
    let action = &out.listeners()[0].default_actions()[0];
    action
        .forward_config()
        .map(|f| {
            f.target_groups()
                .iter()
                .map(|t| {
                    (
                        t.target_group_arn().unwrap_or_default().to_string(),
                        t.weight().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The weight the listener gives `group`.
fn weight(weights: &[(String, i32)], group: &str) -> i32 {
    weights
        .iter()
        .find(|(arn, _)| arn == group)
        .map_or(0, |(_, w)| *w)
}

/// The command line of `command` on `cluster` of `env`, then `rest`.
fn op_args<'a>(env: &'a str, command: &'a str, cluster: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--env", env, command, "--cluster", cluster];
    args.extend_from_slice(rest);
    args
}

/// Asserts that `text` says every one of `wants`.
pub(crate) fn assert_says(text: &str, wants: &[&str]) {
    for want in wants {
        assert!(text.contains(want), "`{want}` missing:\n{text}");
    }
}

/// A URL where nothing listens.
fn dead_url() -> String {
    format!("http://127.0.0.1:{}", anvil::free_port())
}

/// The shared moto's URL, and the internal-ALB switch world built there under names of
/// the test's own.
async fn switch_world() -> (String, aws_sdk_elasticloadbalancingv2::Client, SwitchWorld) {
    let url = Moto::shared().url();
    let client = aws_sdk_elasticloadbalancingv2::Client::new(&moto::sdk_config(&url));
    let prefix = format!("{}-", moto::unique("t"));
    let world = SwitchWorld::build(&client, &url, &prefix).await;
    (url, client, world)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switch_moves_the_listener_to_a_synced_node() {
    let (url, client, world) = switch_world().await;
    // One chain behind both names: the gate compares general-2 with general-1 for real.
    let chain = Anvil::start(Mining::EverySecs(1));
    let scene = Scene::new(&format!(
        "{}{}",
        environment(&url),
        node_api(Some(listener_switch(&world)), &chain.url(), &chain.url())
    ));
    let before = listener_weights(&client, &world.listener).await;
    assert_eq!(weight(&before, &world.quorum_b), 0);

    let run = scene.run(&op_args(
        "staging",
        "switch",
        "node-api",
        &["--to", "general-2", "--yes", "--gate-timeout", "20s"],
    ));
    assert_eq!(run.code, 0, "{run:?}");
    assert_says(
        &run.stdout,
        &[
            "Plan: switch the internal ALB of staging/node-api to general-2",
            "forwards to general-1",
            "forward weight general-1 1 → 0, general-2 0 → 1",
            "poll  3 [3/3]",
            "same_chain same block at #",
            "The sync gate passed.",
            "done, the ALB forwards to general-2",
        ],
    );
    let after = listener_weights(&client, &world.listener).await;
    assert_eq!(weight(&after, &world.quorum_a), 0, "{after:?}");
    assert!(weight(&after, &world.quorum_b) > 0, "{after:?}");

    let audit = scene.audit();
    assert_eq!(audit.len(), 2, "{audit:?}");
    let (first, last) = (&audit[0], &audit[1]);
    assert_eq!((first.phase, last.phase), (Phase::Before, Phase::After));
    assert_eq!(first.run, last.run);
    assert_eq!(last.outcome, Some(Outcome::Ok));
    assert!(!last.override_gate);
    assert_eq!(last.os_user, OPERATOR);
    assert!(
        last.aws_caller
            .as_deref()
            .is_some_and(|arn| arn.contains("123456789012")),
        "{last:?}"
    );
    assert!(matches!(&last.op, Op::SwitchAlb { to, .. } if to == "general-2"));
    assert!(
        last.checks
            .iter()
            .any(|c| c.name == "consecutive_polls" && c.passed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_candidate_is_refused_and_only_an_override_switches() {
    let (url, client, world) = switch_world().await;
    let active = Anvil::start(Mining::EverySecs(1));
    std::thread::sleep(Duration::from_millis(1500));
    // Shares the active node's history up to now, then stays there.
    let stalled = Anvil::fork_of(&active.url(), Mining::Off);
    std::thread::sleep(Duration::from_millis(2500));
    let scene = Scene::new(&format!(
        "{}{}",
        environment(&url),
        node_api(Some(listener_switch(&world)), &active.url(), &stalled.url())
    ));
    let switch = |extra: &[&str]| {
        let mut args = op_args(
            "staging",
            "switch",
            "node-api",
            &["--to", "general-2", "--yes", "--gate-timeout", "2s"],
        );
        args.extend_from_slice(extra);
        scene.run(&args)
    };

    let refused = switch(&[]);
    assert_eq!(refused.code, 3, "{refused:?}");
    assert_says(
        &refused.stdout,
        &[
            "FAIL height general-2 #",
            "same_chain same block at #",
            "the sync gate did not pass within 2s",
            "--override-gate",
        ],
    );
    let weights = listener_weights(&client, &world.listener).await;
    assert_eq!(
        weight(&weights, &world.quorum_a),
        1,
        "unchanged: {weights:?}"
    );
    assert_eq!(
        weight(&weights, &world.quorum_b),
        0,
        "unchanged: {weights:?}"
    );
    let audit = scene.audit();
    assert_eq!(audit.len(), 1, "a refusal writes only its after line");
    assert_eq!(audit[0].outcome, Some(Outcome::Refused));
    assert_eq!(audit[0].aws_caller, None);

    let overridden = switch(&["--override-gate"]);
    assert_eq!(overridden.code, 0, "{overridden:?}");
    assert!(
        overridden
            .stdout
            .contains("the failed sync gate was overridden"),
        "{}",
        overridden.stdout
    );
    let weights = listener_weights(&client, &world.listener).await;
    assert!(weight(&weights, &world.quorum_b) > 0, "{weights:?}");
    let audit = scene.audit();
    assert_eq!(audit.len(), 3, "{audit:?}");
    let last = &audit[2];
    assert_eq!(last.outcome, Some(Outcome::Ok));
    assert!(last.override_gate, "audited as an override: {last:?}");
    assert!(audit[1].override_gate && audit[1].phase == Phase::Before);
    assert!(last.checks.iter().any(|c| c.name == "height" && !c.passed));
}

#[test]
fn a_read_only_environment_refuses_without_touching_aws() {
    // AWS and every node of this environment are this listener, which must see nothing.
    let listener = TcpListener::bind("127.0.0.1:0").expect("listener");
    listener.set_nonblocking(true).expect("non-blocking");
    let url = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    let config = format!(
        "{}{}",
        config_toml::environment("production", Some(&url), true),
        node_api(
            Some([
                "arn:aws:elasticloadbalancing:ap-northeast-1:1:listener/app/int/1/2",
                "arn:aws:elasticloadbalancing:ap-northeast-1:1:targetgroup/a/1",
                "arn:aws:elasticloadbalancing:ap-northeast-1:1:targetgroup/b/2",
            ]),
            &url,
            &url
        )
    );
    let scene = Scene::new(&config);
    for (command, what) in [
        ("switch", ["--to", "general-2"]),
        ("restart", ["--service", "api"]),
    ] {
        let mut args = op_args("production", command, "node-api", &what);
        args.extend(["--yes", "--confirm", "production"]);
        let refused = scene.run(&args);
        assert_eq!(refused.code, 3, "{refused:?}");
        assert_says(&refused.stdout, &["start the console with --write"]);
    }
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing may connect to AWS or a node"
    );
    let audit = scene.audit();
    assert_eq!(audit.len(), 2);
    assert!(audit.iter().all(|e| {
        e.outcome == Some(Outcome::Refused)
            && e.phase == Phase::After
            && e.checks
                .iter()
                .any(|c| c.name == "write_access" && !c.passed)
    }));
}

#[test]
fn the_terminal_prompt_confirms_on_a_real_terminal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let audit = dir.path().join("audit.jsonl");
    let t = tmux::Tmux::start(
        "prompt",
        160,
        40,
        &format!(
            "{BIN} --demo --env staging --audit-log {} restart --cluster node-api --service api; echo EXIT=$?; sleep 60",
            audit.display()
        ),
    );
    let wait = Duration::from_secs(20);
    t.wait_for(
        "Force a new deployment of staging/node-api/api? Type yes to go on:",
        wait,
    );
    t.send(&["yes", "Enter"]);
    let screen = t.wait_for("EXIT=0", wait);
    assert!(screen.contains("is PRIMARY"), "{screen}");
    assert_eq!(AuditLog::new(&audit).recent(10).expect("audit").len(), 2);
}

/// The staging ECS clusters `shapes` in the moto at `url`; tasks stay in the status
/// they are given.
async fn ecs_world(
    url: &str,
    shapes: &[(&str, ClusterShape)],
) -> (EcsFixture, Vec<FixtureCluster>) {
    let fixture = EcsFixture::connect(&moto::sdk_config(url))
        .await
        .expect("moto ECS");
    let mut clusters = Vec::new();
    for &(name, shape) in shapes {
        clusters.push(fixture.staging_cluster(name, shape).await.expect("cluster"));
    }
    (fixture, clusters)
}

/// The PRIMARY deployment id and the task definition of a service in moto.
async fn service_state(fixture: &EcsFixture, cluster: &str, service: &str) -> (String, String) {
    let out = fixture
        .client()
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .expect("describe service");
    let s = &out.services()[0];
    (
        s.deployments()[0].id().unwrap_or_default().to_string(),
        s.task_definition().unwrap_or_default().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_stops_a_task_or_forces_a_deployment_and_guards_validators() {
    // The only test that builds ECS clusters in the shared server: default names.
    let url = Moto::shared().url();
    let (fixture, clusters) = ecs_world(
        &url,
        &[
            ("node-api", ClusterShape::Wallet),
            ("satoshi", ClusterShape::Validators),
        ],
    )
    .await;
    let chain = Anvil::start(Mining::EverySecs(1));
    let (up, down) = (chain.url(), dead_url());
    let scene = Scene::new(&format!(
        "{}{}{}",
        environment(&url),
        node_api(None, &dead_url(), &dead_url()),
        satoshi([&up, &up, &down, &down])
    ));
    let api = clusters[0].service("api").expect("api");
    let task = api.tasks[0].clone();
    let task_id = task.rsplit('/').next().expect("id").to_string();
    let restart = |extra: &[&str]| scene.run(&op_args("staging", "restart", "node-api", extra));

    // No terminal, no flags: nobody confirmed.
    let unconfirmed = restart(&["--service", "api", "--task", &task_id]);
    assert_eq!(unconfirmed.code, 3, "{unconfirmed:?}");
    assert!(
        unconfirmed
            .stdout
            .contains("no terminal to confirm on: pass --yes")
    );

    let stopped = restart(&["--service", "api", "--task", &task_id, "--yes"]);
    assert_eq!(stopped.code, 0, "{stopped:?}");
    assert!(stopped.stdout.contains(&format!("task {task_id} of api")));
    let out = fixture
        .client()
        .describe_tasks()
        .cluster("ibet-stg-node-api")
        .tasks(&task)
        .send()
        .await
        .expect("describe task");
    let described = &out.tasks()[0];
    assert_eq!(described.desired_status(), Some("STOPPED"));
    assert_eq!(
        described.stopped_reason(),
        Some(format!("ibet-console: stop_task by {OPERATOR}").as_str())
    );

    let (before, td) = service_state(&fixture, "ibet-stg-node-api", "api").await;
    let deployed = restart(&["--service", "api", "--yes"]);
    assert_eq!(deployed.code, 0, "{deployed:?}");
    let (after, td_after) = service_state(&fixture, "ibet-stg-node-api", "api").await;
    assert_ne!(before, after, "a new deployment");
    assert_eq!(td, td_after, "of the same task definition");
    assert!(deployed.stdout.contains(&format!("deployment {after}")));

    // Two of the four validators do not answer: restarting a third stops the chain.
    let (validator_deployment, _) =
        service_state(&fixture, "ibet-stg-satoshi", "quorum-validator-1").await;
    let guarded = scene.run(&op_args(
        "staging",
        "restart",
        "satoshi",
        &["--service", "quorum-validator-1", "--yes"],
    ));
    assert_eq!(guarded.code, 3, "{guarded:?}");
    assert_says(
        &guarded.stdout,
        &[
            "FAIL validator_quorum",
            "2/4 producing, tolerates 1",
            "validator-3 is down, validator-4 is down",
        ],
    );
    let (still, _) = service_state(&fixture, "ibet-stg-satoshi", "quorum-validator-1").await;
    assert_eq!(validator_deployment, still, "nothing deployed");

    assert_eq!(
        scene.audit_kinds(),
        [
            ("stop_task", Phase::After, Some(Outcome::Refused)),
            ("stop_task", Phase::Before, None),
            ("stop_task", Phase::After, Some(Outcome::Ok)),
            ("force_deploy", Phase::Before, None),
            ("force_deploy", Phase::After, Some(Outcome::Ok)),
            ("force_deploy", Phase::After, Some(Outcome::Refused)),
        ]
    );
}

/// Registers a revision of the api's family with `image_tag` and `extra` variables,
/// and a second secret.
async fn register_api_revision(fixture: &EcsFixture, image_tag: &str, extra: &[(&str, &str)]) {
    let mut environment = vec![
        ("APP_ENV", "staging"),
        ("RUN_MODE", "server"),
        ("LOG_LEVEL", "INFO"),
    ];
    environment.extend_from_slice(extra);
    let container = ContainerDefinition::builder()
        .name("api")
        .image(format!(
            "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/ibet/wallet-api:{image_tag}"
        ))
        .cpu(256)
        .memory(1024)
        .essential(true)
        .log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", "/ecs/ibet-stg-node-api/api")
                .options("awslogs-region", "ap-northeast-1")
                .options("awslogs-stream-prefix", "ecs")
                .build()
                .expect("log configuration"),
        )
        .set_environment(Some(
            environment
                .iter()
                .map(|(k, v)| KeyValuePair::builder().name(*k).value(*v).build())
                .collect(),
        ))
        .secrets(
            Secret::builder()
                .name("DATABASE_URL")
                .value_from("arn:aws:ssm:ap-northeast-1:123456789012:parameter/ibet/stg/ibet-stg-node-api/database-url")
                .build()
                .expect("secret"),
        )
        .secrets(
            Secret::builder()
                .name("FIREBASE_CREDENTIALS")
                .value_from("arn:aws:ssm:ap-northeast-1:123456789012:parameter/ibet/stg/firebase")
                .build()
                .expect("secret"),
        )
        .build();
    fixture
        .client()
        .register_task_definition()
        .family("ibet-stg-node-api-api")
        .cpu("512")
        .memory("1024")
        .container_definitions(container)
        .send()
        .await
        .expect("register revision");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_then_rollback_move_the_service_between_revisions() {
    // Services report their rollouts completed (moto keeps the state it starts with).
    // A server of its own, for that switch.
    let moto = Moto::start_with_env(&[("MOTO_ECS_SERVICE_RUNNING", "100")]);
    let (fixture, _) = ecs_world(&moto.url(), &[("node-api", ClusterShape::Wallet)]).await;
    // What the revisions name exists: the images in ECR, the parameters in SSM.
    let artifacts = Artifacts::new(&moto::sdk_config(&moto.url()));
    artifacts
        .repository("ibet/wallet-api")
        .await
        .expect("repository");
    for tag in ["v25.1.0", "v25.2.0"] {
        artifacts.push("ibet/wallet-api", tag).await.expect("push");
    }
    for name in [
        "/ibet/stg/ibet-stg-node-api/database-url",
        "/ibet/stg/firebase",
    ] {
        artifacts.parameter(name).await.expect("parameter");
    }
    // The fixture registered revisions 1 (v24.9.0) and 2 (v24.12.0, running).
    register_api_revision(&fixture, "v25.1.0", &[("DB_PASSWORD", "first-pw-7f3a")]).await;
    register_api_revision(
        &fixture,
        "v25.2.0",
        &[
            ("DB_PASSWORD", "second-pw-91bc"),
            ("CACHE_URL", "redis://:cache-pw-55e1@cache.internal:6379/0"),
        ],
    )
    .await;
    let scene = Scene::new(&format!(
        "{}{}",
        environment(&moto.url()),
        node_api(None, &dead_url(), &dead_url())
    ));
    let family = "ibet-stg-node-api-api";
    let on = |revision: u32| format!("task-definition/{family}:{revision}");
    let command = |name: &str, extra: &[&str]| {
        let mut args = op_args("staging", name, "node-api", &["--service", "api", "--yes"]);
        args.extend_from_slice(extra);
        scene.run(&args)
    };

    let first = command("release", &["--revision", "3"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert_says(
        &first.stdout,
        &[
            format!("Running revision: {family}:2").as_str(),
            &format!("Newer revisions (newest first): {family}:4, {family}:3"),
            "~ api image 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/ibet/wallet-api: v24.12.0 → v25.1.0",
            "~ api memory: 512 → 1024",
            "+ api env DB_PASSWORD=****",
            "+ api env LOG_LEVEL=INFO",
            "- api env WEB3_HTTP_PROVIDER=http://internal-ibet-stg-node-api-int",
            "+ api secret FIREBASE_CREDENTIALS",
            &format!("api runs {family}:3"),
        ],
    );
    let (_, td) = service_state(&fixture, "ibet-stg-node-api", "api").await;
    assert!(td.ends_with(&on(3)), "{td}");

    let second = command(
        "release",
        &[
            "--latest",
            "--watch",
            "--watch-interval",
            "1s",
            "--watch-timeout",
            "30s",
        ],
    );
    assert_eq!(second.code, 0, "{second:?}");
    assert_says(
        &second.stdout,
        &[
            "~ api env DB_PASSWORD: **** → **** (changed)",
            "+ api env CACHE_URL=****",
            "Newer revisions (newest first): ibet-stg-node-api-api:4",
            "Watching the rollout of api",
            &format!("Rollout completed: api runs {family}:4"),
        ],
    );
    let (_, td) = service_state(&fixture, "ibet-stg-node-api", "api").await;
    assert!(td.ends_with(&on(4)), "{td}");

    let back = command("rollback", &["--json"]);
    assert_eq!(back.code, 0, "{back:?}");
    assert!(
        back.stderr.contains(&format!(
            "Rolling back to {family}:3: the revision before the running one"
        )),
        "{}",
        back.stderr
    );
    let json: serde_json::Value = serde_json::from_str(&back.stdout).expect("one JSON document");
    assert_eq!(json["report"]["outcome"], "ok");
    assert_eq!(json["exit_code"], 0);
    assert_eq!(json["rollback_target"]["source"], "previous_revision");
    assert_eq!(json["plan"]["release"]["diff"][0]["kind"], "image");
    let (_, td) = service_state(&fixture, "ibet-stg-node-api", "api").await;
    assert!(td.ends_with(&on(3)), "{td}");

    for run in [&first, &second, &back] {
        for secret in ["first-pw-7f3a", "second-pw-91bc", "cache-pw-55e1"] {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "{secret} leaked:\n{}{}",
                run.stdout,
                run.stderr
            );
        }
    }
    assert_eq!(
        scene.audit_kinds(),
        [
            ("release", Phase::Before, None),
            ("release", Phase::After, Some(Outcome::Ok)),
            ("release", Phase::Before, None),
            ("release", Phase::After, Some(Outcome::Ok)),
            ("rollback", Phase::Before, None),
            ("rollback", Phase::After, Some(Outcome::Ok)),
        ]
    );
    let audit_text = std::fs::read_to_string(scene.audit_path()).expect("audit");
    assert!(
        !audit_text.contains("second-pw"),
        "no secret in the audit log"
    );
}

// ---- the commands as a library on the demo world ------------------------------------

/// A clock that follows tokio's (paused) clock from a fixed start.
#[derive(Debug)]
struct TokioClock {
    start_ms: EpochMs,
    start: tokio::time::Instant,
}

impl TokioClock {
    fn new() -> Self {
        Self {
            start_ms: 1_800_000_000_000,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now_ms(&self) -> EpochMs {
        self.start_ms + self.start.elapsed().as_millis() as EpochMs
    }
}

/// An in-memory stream whose contents the test reads afterwards.
#[derive(Debug, Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The demo world on a clock that follows tokio's.
struct Demo {
    session: Option<Session>,
    audit: tempfile::TempDir,
}

/// What a library run printed.
struct Printed {
    code: i32,
    out: String,
    err: String,
    asked: Vec<String>,
}

impl Demo {
    fn new() -> Self {
        Self {
            session: Some(Session::demo(7, Arc::new(TokioClock::new()))),
            audit: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn inject(&self, env: &str, fault: Fault) {
        self.session
            .as_ref()
            .and_then(|s| s.world.as_ref())
            .expect("demo world")
            .inject(env, fault)
            .expect("inject");
    }

    fn audit_path(&self) -> PathBuf {
        self.audit.path().join("audit.jsonl")
    }

    /// Parses `args` as the command line and runs the command on this world (once: the
    /// session is the command's), answering prompts with `prompter`.
    async fn run(&mut self, args: &[&str], prompter: ScriptedPrompter) -> Printed {
        let mut argv = vec!["ibet-console", "--audit-log"];
        let audit = self.audit_path();
        let audit = audit.to_str().expect("utf-8 path").to_string();
        argv.push(&audit);
        argv.extend_from_slice(args);
        let cli = <Cli as clap::Parser>::try_parse_from(argv).expect("command line");
        let json = args.contains(&"--json");
        let (out, err) = (Captured::default(), Captured::default());
        let mut console = Console::new(
            Box::new(out.clone()),
            Box::new(err.clone()),
            Box::new(prompter.clone()),
            json,
        );
        let session = self.session.take().expect("one run per demo world");
        let global: GlobalOpts = cli.global;
        let command = cli.command.expect("a subcommand");
        let code = run_on(session, &global, &command, &mut console).await;
        Printed {
            code,
            out: out.text(),
            err: err.text(),
            asked: prompter.asked(),
        }
    }

    fn audit(&self) -> Vec<AuditEntry> {
        let mut entries = AuditLog::new(self.audit_path()).recent(100).expect("audit");
        entries.reverse();
        entries
    }
}

#[tokio::test(start_paused = true)]
async fn demo_validator_guard_refuses_with_two_validators_down() {
    let mut demo = Demo::new();
    for service in ["quorum-validator-3", "quorum-validator-4"] {
        demo.inject(
            "staging",
            Fault::ServiceDown {
                cluster: "satoshi".into(),
                service: service.into(),
                secs: 600,
            },
        );
    }
    // Their tasks stop within seconds; the chain halts, but validator-1's head is
    // still fresh: it is producing, and stopping it would leave three of four out.
    tokio::time::advance(Duration::from_secs(4)).await;
    let printed = demo
        .run(
            &op_args(
                "staging",
                "restart",
                "satoshi",
                &["--service", "quorum-validator-1", "--yes"],
            ),
            ScriptedPrompter::without_terminal(),
        )
        .await;
    assert_eq!(printed.code, 3, "{}", printed.out);
    assert!(
        printed.out.contains("FAIL validator_quorum"),
        "{}",
        printed.out
    );
    assert!(
        printed
            .out
            .contains("validator-3 is down, validator-4 is down"),
        "{}",
        printed.out
    );
    assert!(
        printed
            .out
            .contains("the chain would stop producing blocks")
    );
}

#[tokio::test(start_paused = true)]
async fn demo_danger_environment_takes_its_name_at_the_prompt() {
    let args = [
        "--env",
        "production",
        "--write",
        "switch",
        "--cluster",
        "node-api",
        "--to",
        "general-2",
    ];
    let mut wrong = Demo::new();
    let printed = wrong.run(&args, ScriptedPrompter::new(["yes"])).await;
    assert_eq!(printed.code, 3, "{}", printed.out);
    assert!(printed.asked[0].contains("`production` is a danger environment. Type its name"));
    assert!(
        printed
            .out
            .contains("type the environment name `production` to confirm")
    );

    let mut right = Demo::new();
    let printed = right
        .run(&args, ScriptedPrompter::new(["production"]))
        .await;
    assert_eq!(printed.code, 0, "{}", printed.out);
    assert!(printed.out.contains("done, the ALB forwards to general-2"));
    assert_eq!(printed.asked.len(), 1);
    let audit = right.audit();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[1].outcome, Some(Outcome::Ok));
}

#[tokio::test(start_paused = true)]
async fn demo_an_override_takes_its_own_confirmation() {
    let stall = Fault::NodeStalls {
        cluster: "node-api".into(),
        node: "general-2".into(),
        secs: 3600,
    };
    let args = [
        "--env",
        "staging",
        "switch",
        "--cluster",
        "node-api",
        "--to",
        "general-2",
        "--gate-timeout",
        "3s",
        "--override-gate",
    ];
    // Interactive: the second prompt is the override's; a no there refuses.
    let mut declined = Demo::new();
    declined.inject("staging", stall.clone());
    tokio::time::advance(Duration::from_secs(30)).await;
    let printed = declined
        .run(&args, ScriptedPrompter::new(["yes", "no"]))
        .await;
    assert_eq!(printed.code, 3, "{}", printed.out);
    assert_eq!(printed.asked.len(), 2, "{:?}", printed.asked);
    assert!(printed.asked[1].contains("The sync gate has NOT passed"));
    assert!(printed.out.contains("FAIL head_age"), "{}", printed.out);
    assert!(
        printed
            .out
            .contains("the override needs its own confirmation")
    );

    let mut accepted = Demo::new();
    accepted.inject("staging", stall.clone());
    tokio::time::advance(Duration::from_secs(30)).await;
    let printed = accepted
        .run(&args, ScriptedPrompter::new(["yes", "yes"]))
        .await;
    assert_eq!(printed.code, 0, "{}", printed.out);
    let audit = accepted.audit();
    assert!(audit.iter().all(|e| e.override_gate), "{audit:?}");

    // Flags on a danger environment: --confirm NAME twice.
    let danger = |confirms: usize| {
        let mut args = vec![
            "--env",
            "production",
            "--write",
            "switch",
            "--cluster",
            "node-api",
            "--to",
            "general-2",
            "--gate-timeout",
            "2s",
            "--override-gate",
            "--yes",
        ];
        for _ in 0..confirms {
            args.extend(["--confirm", "production"]);
        }
        args
    };
    let stall_production = Fault::NodeStalls {
        cluster: "node-api".into(),
        node: "general-2".into(),
        secs: 3600,
    };
    let mut once = Demo::new();
    once.inject("production", stall_production.clone());
    tokio::time::advance(Duration::from_secs(30)).await;
    let printed = once
        .run(&danger(1), ScriptedPrompter::without_terminal())
        .await;
    assert_eq!(printed.code, 3, "{}", printed.out);
    assert!(
        printed
            .out
            .contains("give --confirm production a second time"),
        "{}",
        printed.out
    );
    let mut twice = Demo::new();
    twice.inject("production", stall_production);
    tokio::time::advance(Duration::from_secs(30)).await;
    let printed = twice
        .run(&danger(2), ScriptedPrompter::without_terminal())
        .await;
    assert_eq!(printed.code, 0, "{}", printed.out);
    assert!(twice.audit().iter().all(|e| e.override_gate));
}

#[tokio::test(start_paused = true)]
async fn demo_rollback_watch_follows_the_rollout_to_the_end() {
    let mut demo = Demo::new();
    let printed = demo
        .run(
            &op_args(
                "staging",
                "rollback",
                "node-api",
                &[
                    "--service",
                    "api",
                    "--yes",
                    "--watch",
                    "--watch-interval",
                    "2s",
                ],
            ),
            ScriptedPrompter::without_terminal(),
        )
        .await;
    assert_eq!(printed.code, 0, "{}", printed.out);
    assert_says(
        &printed.out,
        &[
            "the revision before the running one",
            // The demo world has the next release registered, not deployed.
            "Newer revisions (newest first): ibet-stg-node-api-api:57",
            "~ api image",
            "Watching the rollout of api",
            "PRIMARY ibet-stg-node-api-api:55 in_progress",
            "event: (service api) has started 2 tasks",
            "Rollout completed: api runs ibet-stg-node-api-api:55",
        ],
    );
    assert_eq!(demo.audit().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn demo_a_rollout_the_circuit_breaker_rolls_back_fails_with_ecs_reason() {
    let mut demo = Demo::new();
    // The notification worker's circuit breaker rolls back; its next revision crashes.
    demo.inject(
        "staging",
        Fault::ReleaseFails {
            cluster: "node-api".into(),
            service: "notification".into(),
            secs: 900,
        },
    );
    let printed = demo
        .run(
            &op_args(
                "staging",
                "release",
                "node-api",
                &[
                    "--service",
                    "notification",
                    "--latest",
                    "--yes",
                    "--wait-until",
                    "deployed",
                    "--watch-interval",
                    "2s",
                    "--json",
                ],
            ),
            ScriptedPrompter::without_terminal(),
        )
        .await;
    assert_eq!(printed.code, 1, "{}", printed.err);
    assert_says(
        &printed.err,
        &[
            "Watching the rollout of notification to ibet-stg-node-api-notification:27 until deployed",
            "Rollout failed: ECS deployment circuit breaker: 3 tasks failed to start; ECS put ibet-stg-node-api-notification:26 back",
            "ECS's circuit breaker put ibet-stg-node-api-notification:26 back: nothing to roll back",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&printed.out).expect("one JSON document");
    assert_eq!(json["rollout"]["phase"], "rolled_back");
    assert_eq!(json["rollout"]["wait_until"], "deployed");
    assert!(
        json["rollout"]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("ECS deployment circuit breaker")),
        "{json}"
    );
    assert!(json.get("back_command").is_none(), "{json}");
}

#[tokio::test(start_paused = true)]
async fn demo_json_output_is_one_document_with_the_gate_polls() {
    let mut demo = Demo::new();
    let printed = demo
        .run(
            &op_args(
                "staging",
                "switch",
                "node-api",
                &["--to", "general-2", "--yes", "--json"],
            ),
            ScriptedPrompter::without_terminal(),
        )
        .await;
    assert_eq!(printed.code, 0, "{}", printed.err);
    let json: serde_json::Value = serde_json::from_str(&printed.out).expect("JSON");
    assert_eq!(json["exit_code"], 0);
    assert_eq!(json["report"]["outcome"], "ok");
    assert_eq!(json["plan"]["op"]["kind"], "switch_alb");
    assert_eq!(json["plan"]["gate"]["state"], "open");
    assert_eq!(json["gate_polls"].as_array().map(Vec::len), Some(3));
    assert!(printed.err.contains("Waiting for the sync gate"));
}

#[tokio::test(start_paused = true)]
async fn demo_locks_lists_a_held_lock_and_unlock_breaks_it_audited_with_its_holder() {
    let printed = with_carols_lock()
        .run(
            &["--env", "production", "locks"],
            ScriptedPrompter::without_terminal(),
        )
        .await;
    assert_eq!(printed.code, 0, "{}", printed.err);
    assert!(
        printed.out.contains(
            "production/node-api/api  carol@bastion-3  force a new deployment of production/node-api/api  since 5m ago  EXPIRED 1m ago"
        ),
        "{}",
        printed.out
    );

    // A danger environment: the typed name, then the break, audited with the holder.
    let mut breaking = with_carols_lock();
    let printed = breaking
        .run(
            &[
                "--env",
                "production",
                "--write",
                "unlock",
                "--lock",
                "production/node-api/api",
            ],
            ScriptedPrompter::new(["production"]),
        )
        .await;
    assert_eq!(printed.code, 0, "{}\n{}", printed.out, printed.err);
    assert!(
        printed.asked[0].contains("Type its name"),
        "{:?}",
        printed.asked
    );
    assert!(
        printed
            .out
            .contains("break the lock production/node-api/api of carol@bastion-3"),
        "{}",
        printed.out
    );
    let audit = breaking.audit();
    assert_eq!(audit.len(), 2);
    assert!(matches!(audit[0].op, Op::BreakLock { .. }));
    assert!(
        audit[0].changes[0]
            .contains("carol@bastion-3 (caller arn:aws:sts::123456789012:assumed-role/ops/carol)"),
        "{:?}",
        audit[0].changes
    );
    assert_eq!(audit[1].outcome, Some(Outcome::Ok));
}

#[tokio::test(start_paused = true)]
async fn status_lists_the_locks_and_an_expired_one_is_a_problem() {
    let demo = with_carols_lock();
    let session = demo.session.as_ref().expect("session");
    let seen =
        ibet_console::poll::observe_once(&session.config, &session.backends, &session.clock).await;
    let report = ibet_console::status::StatusReport::from_world(&seen, seen.now);
    let json = serde_json::to_value(&report).expect("json");
    let lock = &json["environments"][0]["locks"][0];
    assert_eq!(lock["owner"], "carol@bastion-3");
    assert_eq!(lock["expired"], true);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.summary.contains("carol@bastion-3")),
        "{:?}",
        report.problems
    );
    let table = report.to_table(&ibet_console::clock::Zone::utc());
    assert!(table.contains("LOCK"), "{table}");
    assert!(
        table.contains("carol@bastion-3") && table.contains("(lease expired)"),
        "{table}"
    );
}

/// A demo world where carol's console died holding a production lock.
fn with_carols_lock() -> Demo {
    let demo = Demo::new();
    let session = demo.session.as_ref().expect("session");
    let now = session.clock.now_ms() / 1000;
    let world = session.world.as_ref().expect("demo world");
    world.locks().put(ibet_console::backend::lock::LockRecord {
        lock_id: "production/node-api/api".into(),
        owner: "carol@bastion-3".into(),
        caller_arn: "arn:aws:sts::123456789012:assumed-role/ops/carol".into(),
        action: "force a new deployment of production/node-api/api".into(),
        since: now - 300,
        expires_at: now - 60,
        token: "carol-run".into(),
    });
    demo
}
