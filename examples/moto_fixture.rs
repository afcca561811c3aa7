//! Populates a running moto server with a staging-like ibet world and prints a console
//! config for it, so the console can be tried against real AWS APIs without an account.
//!
//! ```text
//! MOTO_ECS_SERVICE_RUNNING=2 .tools/venv/bin/moto_server -p 5000 &
//! cargo run --example moto_fixture -- http://127.0.0.1:5000 > /tmp/moto.toml
//! AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
//!     cargo run -- --config /tmp/moto.toml
//! cargo run --example moto_fixture -- --shape small http://127.0.0.1:5000 > /tmp/small.toml
//! ```
//!
//! It builds the node-api, satoshi, issuer and bank clusters (`ibet-stg-*`) with their
//! services, task definitions (awslogs options, environment variables, secrets) and
//! tasks, the images and parameters they name (in ECR and SSM, so a release passes its
//! checks), and for node-api, issuer and bank the load balancers and target groups their
//! services sit behind (an internet-facing ALB to nginx, an internal one to the API and
//! the two Quorum general nodes), then writes the matching TOML to stdout (progress goes
//! to stderr). `--shape small` builds a smaller world instead: node-api (nginx with six
//! tasks, the API with eight, the two general nodes) and satoshi, two clusters, eight
//! services and twenty running tasks, behind one load balancer (node-api's internal
//! one: the API and the general nodes). Without `MOTO_ECS_SERVICE_RUNNING`, moto reports every deployment as in
//! progress. It only talks to the URL it is given; the fixture code is
//! `tests/it/support/ecs_fixture.rs`, `elb_fixture.rs` and `release_fixture.rs`, shared
//! with the tests.

#[path = "../tests/it/support/ecs_fixture.rs"]
mod ecs_fixture;
#[path = "../tests/it/support/elb_fixture.rs"]
mod elb_fixture;
#[path = "../tests/it/support/moto.rs"]
#[allow(dead_code)] // only `sdk_config` is needed here
mod moto;
#[path = "../tests/it/support/release_fixture.rs"]
mod release_fixture;

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (clusters, url): (&[(&str, ecs_fixture::ClusterShape)], &String) = match args.as_slice() {
        [url] => (&ecs_fixture::STAGING_WORLD, url),
        [flag, shape, url] if flag == "--shape" && shape == "staging" => {
            (&ecs_fixture::STAGING_WORLD, url)
        }
        [flag, shape, url] if flag == "--shape" && shape == "small" => {
            (&ecs_fixture::SMALL_WORLD, url)
        }
        _ => bail!(
            "usage: cargo run --example moto_fixture -- [--shape staging|small] \
                 http://127.0.0.1:PORT"
        ),
    };
    let url = url.trim_end_matches('/').to_string();
    let sdk = moto::sdk_config(&url);
    let fixture = ecs_fixture::EcsFixture::connect(&sdk)
        .await
        .with_context(|| format!("is moto running at {url}?"))?;

    // The wallet clusters' target groups and load balancers first: the services name
    // the groups' ARNs.
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let network = elb_fixture::Network::create(&url).await;
    let mut target_groups = BTreeMap::new();
    let mut load_balancers = BTreeMap::new();
    let behind_load_balancers = clusters
        .iter()
        .filter(|(_, shape)| *shape != ecs_fixture::ClusterShape::Validators);
    for (i, (name, shape)) in behind_load_balancers.enumerate() {
        let ecs_cluster = fixture.staging_name(name);
        let groups: Vec<elb_fixture::GroupSpec> = ecs_fixture::services_of(*shape, &ecs_cluster)
            .into_iter()
            .filter_map(|s| {
                Some(elb_fixture::GroupSpec {
                    name: s.target_group?,
                    port: s.port?,
                    targets: s.desired,
                })
            })
            .collect();
        let first_host = u8::try_from(10 + 20 * i)?;
        let (arns, made) =
            elb_fixture::wallet_load_balancers(&elb, &network, &ecs_cluster, &groups, first_host)
                .await;
        target_groups.extend(arns);
        load_balancers.insert(ecs_cluster, made);
    }
    let fixture = fixture.with_target_groups(target_groups);

    let world = fixture.world_of(clusters).await?;
    // What a release checks: the images in ECR, the secrets' parameters in SSM.
    let (images, parameters) = release_fixture::Artifacts::new(&sdk)
        .publish(&world)
        .await?;
    eprintln!("ECR: {images} images; SSM: {parameters} parameters");
    for cluster in &world {
        let target_groups: std::collections::BTreeSet<&str> = cluster
            .services
            .iter()
            .filter_map(|s| s.spec.target_group.as_deref())
            .collect();
        // The general nodes' groups are drawn through the ALB switch alone, which this
        // config leaves out: the console reads the others' health.
        let on_path = cluster
            .services
            .iter()
            .filter(|s| !s.spec.name.starts_with("quorum-general"))
            .filter_map(|s| s.spec.target_group.as_deref())
            .collect::<std::collections::BTreeSet<&str>>()
            .len();
        eprintln!(
            "{}: {} services, {} running tasks, {} stopped, {} target groups, {} load balancers, \
             {on_path} on the request path",
            cluster.ecs_cluster,
            cluster.services.len(),
            cluster.running_tasks(),
            cluster.stopped.len(),
            target_groups.len(),
            load_balancers.get(&cluster.ecs_cluster).unwrap_or(&0)
        );
    }
    print!("{}", ecs_fixture::config_toml(&url, &world));
    Ok(())
}
