//! Populates a running moto server with a staging-like ibet world and prints a console
//! config for it, so the console can be tried against real AWS APIs without an account.
//!
//! ```text
//! MOTO_ECS_SERVICE_RUNNING=2 .tools/venv/bin/moto_server -p 5000 &
//! cargo run --example moto_fixture -- http://127.0.0.1:5000 > /tmp/moto.toml
//! AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
//!     cargo run -- --config /tmp/moto.toml
//! ```
//!
//! It builds the node-api, satoshi, issuer and bank clusters (`ibet-stg-*`) with their
//! services, task definitions (awslogs options, environment variables, secrets) and
//! tasks, then writes the matching TOML to stdout (progress goes to stderr). Without
//! `MOTO_ECS_SERVICE_RUNNING`, moto reports every deployment as in progress. It only
//! talks to the URL it is given; the fixture code is `tests/support/ecs_fixture.rs`,
//! shared with the tests.

#[path = "../tests/support/ecs_fixture.rs"]
mod ecs_fixture;
#[path = "../tests/support/moto.rs"]
mod moto;

use anyhow::{Context as _, bail};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(url), None) = (args.next(), args.next()) else {
        bail!("usage: cargo run --example moto_fixture -- http://127.0.0.1:PORT");
    };
    let url = url.trim_end_matches('/').to_string();
    let fixture = ecs_fixture::EcsFixture::connect(&moto::sdk_config(&url))
        .await
        .with_context(|| format!("is moto running at {url}?"))?;
    let world = fixture.staging_world().await?;
    for cluster in &world {
        let target_groups: std::collections::BTreeSet<&str> = cluster
            .services
            .iter()
            .filter_map(|s| s.spec.target_group.as_deref())
            .collect();
        eprintln!(
            "{}: {} services, {} running tasks, {} stopped, {} target groups",
            cluster.ecs_cluster,
            cluster.services.len(),
            cluster.running_tasks(),
            cluster.stopped.len(),
            target_groups.len()
        );
    }
    print!("{}", ecs_fixture::config_toml(&url, &world));
    Ok(())
}
