//! Releases verified before they run, against moto: the built binary releases revisions
//! whose images are (or are not) in ECR, whose secrets are (or are not) in SSM and
//! Secrets Manager, and whose roles are (or are not) in IAM; a failed check refuses with
//! the service unchanged, and `--override-checks` goes on, audited as an override. The
//! deployment circuit breaker is set on a service in moto and read back by `status
//! --json` and the plan.
//!
//! The shared moto server, under a stage of this test's own: its clusters, task
//! definition families, repositories, parameters, secrets and roles meet no other test's.
//! moto grants every call, so the refusals of a role without the permissions come from a
//! stub on loopback that answers as ECR, SSM, Secrets Manager and IAM answer a denial.

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

/// An endpoint on loopback that denies every call as AWS does: the JSON services (ECR,
/// SSM, Secrets Manager) with HTTP 400 and `AccessDeniedException`, IAM (a query
/// protocol) with HTTP 403 and an XML `AccessDenied`; the message names the action the
/// request's `X-Amz-Target` (or `Action=`) asked for.
fn denying_endpoint() -> String {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { break };
            let mut raw = Vec::new();
            let mut buf = [0_u8; 4096];
            let (head, body) = loop {
                let Ok(n) = socket.read(&mut buf) else {
                    break (String::new(), String::new());
                };
                if n == 0 {
                    break (String::new(), String::new());
                }
                raw.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&raw).to_string();
                if let Some((head, rest)) = text.split_once("\r\n\r\n") {
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .and_then(|v| v.trim().parse().ok())
                        })
                        .unwrap_or(0);
                    if rest.len() >= length {
                        break (head.to_string(), rest.to_string());
                    }
                }
            };
            let target = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .starts_with("x-amz-target:")
                    .then(|| l.split_once(':').map(|(_, v)| v.trim().to_string()))
                    .flatten()
            });
            let denied = |action: &str| {
                format!(
                    "User: arn:aws:sts::123456789012:assumed-role/ibet-operator/alice is not \
                     authorized to perform: {action} on resource: * because no \
                     identity-based policy allows the {action} action"
                )
            };
            let (status, kind, answer) = if let Some(target) = target {
                let (service, operation) = target.split_once('.').unwrap_or_default();
                let prefix = if service.contains("ContainerRegistry") {
                    "ecr"
                } else if service.contains("SSM") {
                    "ssm"
                } else {
                    "secretsmanager"
                };
                let message = denied(&format!("{prefix}:{operation}"));
                let json = serde_json::json!({
                    "__type": "AccessDeniedException",
                    "message": message,
                });
                (
                    "400 Bad Request",
                    "application/x-amz-json-1.1",
                    json.to_string(),
                )
            } else {
                let operation = body
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("Action="))
                    .unwrap_or("GetRole")
                    .to_string();
                let xml = format!(
                    "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
                         <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{}</Message>\
                         </Error><RequestId>denied</RequestId></ErrorResponse>",
                    denied(&format!("iam:{operation}"))
                );
                ("403 Forbidden", "text/xml", xml)
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = socket.write_all(response.as_bytes());
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_read_aws_denies_names_the_permission() {
    use ibet_console::backend::aws::verify::AwsVerify;
    use ibet_console::backend::{BackendError, EcrImage, ImageReference, VerifyApi};
    let verify = AwsVerify::new(&moto::sdk_config(&denying_endpoint()), None);
    let action = |result: Result<_, BackendError>| match result {
        Err(e @ BackendError::AccessDenied { .. }) => {
            assert!(e.hint().is_some_and(|h| h.contains("must allow")), "{e}");
            let BackendError::AccessDenied {
                action, principal, ..
            } = e
            else {
                unreachable!()
            };
            assert_eq!(
                principal.as_deref(),
                Some("arn:aws:sts::123456789012:assumed-role/ibet-operator/alice")
            );
            action
        }
        other => panic!("not a denial: {other:?}"),
    };
    let image = EcrImage {
        registry: "123456789012".into(),
        region: "ap-northeast-1".into(),
        repository: "ibet/wallet-api".into(),
        reference: ImageReference::Tag("v25.1.0".into()),
    };
    assert_eq!(
        action(verify.ecr_image(&image).await.map(|_| ())),
        "ecr:DescribeImages"
    );
    assert_eq!(
        action(
            verify
                .ssm_parameters(&["/ibet/stg/db".into()])
                .await
                .map(|_| ())
        ),
        "ssm:DescribeParameters"
    );
    assert_eq!(
        action(verify.secret("ibet-stg/apns").await.map(|_| ())),
        "secretsmanager:DescribeSecret"
    );
    assert_eq!(
        action(verify.iam_role("ibet-stg-api-task").await.map(|_| ())),
        "iam:GetRole"
    );
}
