//! Releases verified before they run, against moto: the built binary releases revisions
//! whose images are (or are not) in ECR, whose secrets are (or are not) in SSM and
//! Secrets Manager, and whose roles are (or are not) in IAM; a failed check refuses with
//! the service unchanged, and `--override-checks` goes on, audited as an override. The
//! deployment circuit breaker is set on a service in moto and read back by `status
//! --json` and the plan.
//!
//! The shared moto server, under a stage of this test's own: its clusters, task
//! definition families, repositories, parameters, secrets and roles meet no other test's.

use crate::cli_ops::{Scene, assert_says};
use crate::support::config_toml;
use crate::support::ecs_fixture::{ClusterShape, EcsFixture};
use crate::support::moto::{self, Moto};
use crate::support::release_fixture::{Artifacts, Revision, ecr_image, parameter_arn, role_arn};

use ibet_console::ops::Outcome;
use ibet_console::ops::audit::Phase;

/// The task definition a service runs in moto.
async fn running(fixture: &EcsFixture, cluster: &str, service: &str) -> String {
    let out = fixture
        .client()
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .expect("describe service");
    out.services()[0]
        .task_definition()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_is_verified_against_ecr_ssm_secrets_manager_and_iam() {
    let url = Moto::shared().url();
    let sdk = moto::sdk_config(&url);
    let stage = moto::unique("ibet-rel");
    let fixture = EcsFixture::connect(&sdk)
        .await
        .expect("moto ECS")
        .in_stage(&stage);
    let cluster = fixture
        .staging_cluster("node-api", ClusterShape::Wallet)
        .await
        .expect("cluster");
    let ecs_cluster = cluster.ecs_cluster.clone();
    let family = format!("{ecs_cluster}-api");

    // What the good revision names, made in moto.
    let artifacts = Artifacts::new(&sdk);
    let repository = format!("{stage}/wallet-api");
    artifacts.repository(&repository).await.expect("repository");
    artifacts
        .push(&repository, "v25.1.0")
        .await
        .expect("push v25.1.0");
    let database = format!("/{stage}/database-url");
    artifacts.parameter(&database).await.expect("parameter");
    let firebase = artifacts
        .secret(&format!("{stage}/firebase"))
        .await
        .expect("secret");
    let task_role = artifacts
        .role(&format!("{stage}-api-task"))
        .await
        .expect("task role");
    let execution_role = artifacts
        .role(&format!("{stage}-ecs-task-execution"))
        .await
        .expect("execution role");
    let good = Revision {
        container: "api".into(),
        image: ecr_image(&repository, "v25.1.0"),
        secrets: vec![
            ("DATABASE_URL".into(), parameter_arn(&database)),
            ("FIREBASE_CREDENTIALS".into(), firebase),
        ],
        task_role: Some(task_role),
        execution_role: Some(execution_role),
    };
    // The fixture registered revisions 1 and 2 (running): these are 3 to 6.
    let register = |revision: Revision| {
        let ecs = fixture.client().clone();
        let family = family.clone();
        async move { revision.register(&ecs, &family).await.expect("register") }
    };
    register(good.clone()).await;
    register(Revision {
        image: ecr_image(&repository, "v25.2.0"),
        ..good.clone()
    })
    .await;
    register(Revision {
        secrets: vec![(
            "DATABASE_URL".into(),
            parameter_arn(&format!("/{stage}/no-such-parameter")),
        )],
        ..good.clone()
    })
    .await;
    register(Revision {
        task_role: Some(role_arn(&format!("{stage}-no-such-role"))),
        ..good.clone()
    })
    .await;

    let scene = Scene::new(&format!(
        "{}{}",
        config_toml::environment("staging", Some(&url), false),
        config_toml::cluster("node-api", &ecs_cluster)
    ));
    let release = |extra: &[&str]| {
        let mut args = vec![
            "--env",
            "staging",
            "release",
            "--cluster",
            "node-api",
            "--service",
            "api",
            "--yes",
        ];
        args.extend_from_slice(extra);
        scene.run(&args)
    };
    let on = |revision: u32| format!("task-definition/{family}:{revision}");

    // Everything it names exists: released.
    let passed = release(&["--revision", "3"]);
    assert_eq!(passed.code, 0, "{passed:?}");
    assert_says(
        &passed.stdout,
        &[
            &format!("image            api {repository}:v25.1.0 in ECR, pushed 20"),
            "secrets          2 of 2 found",
            &format!("task_role        {stage}-api-task exists"),
            &format!("execution_role   {stage}-ecs-task-execution exists"),
            "! api has no circuit breaker: ECS will not stop a failing rollout",
        ],
    );
    assert!(
        running(&fixture, &ecs_cluster, "api")
            .await
            .ends_with(&on(3))
    );

    // A tag never pushed, a parameter never put, a role never made: each refuses, and
    // the service stays on revision 3.
    let no_image = release(&["--revision", "4"]);
    assert_eq!(no_image.code, 3, "{no_image:?}");
    assert_says(
        &no_image.stdout,
        &[
            &format!(
                "fail image            api {repository}:v25.2.0 not in ECR (no image v25.2.0 in the repository)"
            ),
            "refused",
            "add --override-checks",
        ],
    );
    let no_secret = release(&["--revision", "5"]);
    assert_eq!(no_secret.code, 3, "{no_secret:?}");
    assert_says(
        &no_secret.stdout,
        &[&format!(
            "fail secrets          missing: api DATABASE_URL (SSM /{stage}/no-such-parameter)"
        )],
    );
    let no_role = release(&["--revision", "6"]);
    assert_eq!(no_role.code, 3, "{no_role:?}");
    assert_says(
        &no_role.stdout,
        &[&format!(
            "fail task_role        {stage}-no-such-role missing (no such role)"
        )],
    );
    assert!(
        running(&fixture, &ecs_cluster, "api")
            .await
            .ends_with(&on(3)),
        "nothing changed"
    );

    // The override: a second confirmation (--yes on an ordinary environment), audited.
    let overridden = release(&["--revision", "4", "--override-checks"]);
    assert_eq!(overridden.code, 0, "{overridden:?}");
    assert_says(
        &overridden.stdout,
        &["the failed checks were overridden (audited as an override)"],
    );
    assert!(
        running(&fixture, &ecs_cluster, "api")
            .await
            .ends_with(&on(4))
    );

    assert_eq!(
        scene.audit_kinds(),
        [
            ("release", Phase::Before, None),
            ("release", Phase::After, Some(Outcome::Ok)),
            ("release", Phase::After, Some(Outcome::Refused)),
            ("release", Phase::After, Some(Outcome::Refused)),
            ("release", Phase::After, Some(Outcome::Refused)),
            ("release", Phase::Before, None),
            ("release", Phase::After, Some(Outcome::Ok)),
        ]
    );
    let audit = scene.audit();
    let failed = |i: usize| -> Vec<&str> {
        audit[i]
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.as_str())
            .collect()
    };
    assert_eq!(failed(2), ["image"]);
    assert_eq!(failed(3), ["secrets"]);
    assert_eq!(failed(4), ["task_role"]);
    assert!(audit[..5].iter().all(|e| !e.override_gate));
    assert!(
        audit[5..].iter().all(|e| e.override_gate),
        "{:?}",
        &audit[5..]
    );
    assert_eq!(
        failed(6),
        ["image"],
        "the override names what it passed over"
    );
    let audit_text = std::fs::read_to_string(scene.audit_path()).expect("audit");
    assert!(!audit_text.contains("not-for-the-console-to-read"));

    // The circuit breaker, as DescribeServices reports it.
    fixture
        .circuit_breaker(&ecs_cluster, "api", true, true)
        .await
        .expect("circuit breaker");
    let status = scene.run(&["--env", "staging", "status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).expect("status JSON");
    let services = &json["environments"][0]["clusters"][0]["services"];
    let breaker = |name: &str| {
        services
            .as_array()
            .and_then(|all| all.iter().find(|s| s["name"] == name))
            .map(|s| s["circuit_breaker"].clone())
    };
    assert_eq!(breaker("api"), Some("rollback".into()), "{services}");
    assert_eq!(breaker("batch"), Some("off".into()), "{services}");
    let with_breaker = release(&["--revision", "3"]);
    assert_eq!(with_breaker.code, 0, "{with_breaker:?}");
    assert!(
        !with_breaker.stdout.contains("no circuit breaker"),
        "{}",
        with_breaker.stdout
    );
}
