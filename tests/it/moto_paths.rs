//! The request path over the real protocols: ECS services registered behind ELBv2
//! target groups in a moto server, read by the AWS backends, polled into the state, and
//! judged hop by hop.
//!
//! moto judges every registered target healthy, so the unhealthy cases here are the two
//! the path itself must catch: a target registered on a port the container does not
//! listen on, and a running task that is not registered at all. moto is started with
//! `MOTO_ECS_SERVICE_RUNNING=2` so that its services report their deployments completed.

use crate::support::{config_toml, ecs_fixture, elb_fixture, moto};

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ecs::types::{LaunchType, LoadBalancer};
use aws_sdk_elasticloadbalancingv2::Client as ElbClient;
use aws_sdk_elasticloadbalancingv2::types::LoadBalancerSchemeEnum;
use ibet_console::backend::aws::ecs::AwsEcs;
use ibet_console::backend::aws::elb::AwsElb;
use ibet_console::backend::{EcsApi, ElbApi};
use ibet_console::clock::{ManualClock, SharedClock};
use ibet_console::config::Config;
use ibet_console::model::Health;
use ibet_console::path::{RequestPath, first_broken_hop, for_cluster, target_groups_to_discover};
use ibet_console::world::{ClusterAddr, Observation, World};

use ecs_fixture::{EcsFixture, ServiceSpec};
use elb_fixture::{Network, create_alb, create_listener, create_target_group, description};
use moto::Moto;

const CLUSTER: &str = "ibet-stg-node-api";
const T0: i64 = 1_795_000_000_000;

/// The load balancers and target groups of one wallet cluster.
struct Elb {
    nginx: String,
    api: String,
    quorum_a: String,
    quorum_b: String,
    switch_listener: String,
}

async fn build_elb(client: &ElbClient, url: &str) -> Elb {
    let network = Network::create(url).await;
    let ext = create_alb(
        client,
        &network,
        "ibet-stg-node-api-ext",
        LoadBalancerSchemeEnum::InternetFacing,
    )
    .await;
    let int = create_alb(
        client,
        &network,
        "ibet-stg-node-api-int",
        LoadBalancerSchemeEnum::Internal,
    )
    .await;
    let nginx = create_target_group(client, &network, "stg-node-api-nginx", 80).await;
    let api = create_target_group(client, &network, "stg-node-api-api", 5000).await;
    let quorum_a = create_target_group(client, &network, "stg-node-api-quorum-1", 8443).await;
    let quorum_b = create_target_group(client, &network, "stg-node-api-quorum-2", 8443).await;
    elb_fixture::register(client, &nginx, &["10.0.1.20:80", "10.0.2.20:80"]).await;
    elb_fixture::register(client, &api, &["10.0.1.30:5000", "10.0.2.30:5000"]).await;
    elb_fixture::register(client, &quorum_a, &["10.0.1.10:8443"]).await;
    elb_fixture::register(client, &quorum_b, &["10.0.2.10:8443"]).await;
    create_listener(client, &ext, 443, elb_fixture::forward_to(&nginx)).await;
    create_listener(client, &int, 80, elb_fixture::forward_to(&api)).await;
    let switch_listener = create_listener(
        client,
        &int,
        8545,
        elb_fixture::forward(&[(&quorum_a, 1), (&quorum_b, 0)], false),
    )
    .await;
    Elb {
        nginx,
        api,
        quorum_a,
        quorum_b,
        switch_listener,
    }
}

/// One service behind `group` (or none), with its tasks running.
async fn service(
    fixture: &EcsFixture,
    name: &str,
    port: u16,
    desired: u32,
    group: Option<&str>,
) -> anyhow::Result<()> {
    let spec = ServiceSpec {
        name: name.into(),
        image: format!(
            "{}.dkr.ecr.ap-northeast-1.amazonaws.com/ibet/{name}:1",
            ecs_fixture::ACCOUNT
        ),
        port: Some(port),
        desired,
        environment: Vec::new(),
        secrets: Vec::new(),
        target_group: None,
        older_images: Vec::new(),
    };
    let family = format!("{CLUSTER}-{name}");
    let td = fixture
        .task_definition(&family, CLUSTER, &spec, &spec.image)
        .await?;
    let mut create = fixture
        .client()
        .create_service()
        .cluster(CLUSTER)
        .service_name(name)
        .task_definition(&td)
        .desired_count(i32::try_from(desired)?)
        .launch_type(LaunchType::Fargate);
    if let Some(group) = group {
        create = create.load_balancers(
            LoadBalancer::builder()
                .target_group_arn(group)
                .container_name(name)
                .container_port(i32::from(port))
                .build(),
        );
    }
    create.send().await?;
    fixture
        .client()
        .update_service()
        .cluster(CLUSTER)
        .service(name)
        .desired_count(i32::try_from(desired)?)
        .send()
        .await?;
    fixture.run_tasks(CLUSTER, name, &td, desired).await?;
    Ok(())
}

fn config(url: &str, elb: &Elb) -> Config {
    let text = [
        config_toml::environment("staging", Some(url), false),
        config_toml::cluster("node-api", CLUSTER),
        config_toml::quorum_node(
            "general-1",
            "http://127.0.0.1:9",
            Some("general"),
            Some("quorum-general-1"),
        ),
        config_toml::quorum_node(
            "general-2",
            "http://127.0.0.1:9",
            Some("general"),
            Some("quorum-general-2"),
        ),
        config_toml::listener_switch(&elb.switch_listener, [&elb.quorum_a, &elb.quorum_b], None),
    ]
    .concat();
    Config::parse(&text, std::path::Path::new("moto_paths.toml")).expect("config")
}

/// Everything the moto test reads: the backends and the config.
struct Bench {
    _moto: Moto,
    elb_client: ElbClient,
    elb: Elb,
    config: Config,
    ecs: AwsEcs,
    aws_elb: AwsElb,
}

async fn bench() -> Bench {
    let moto = Moto::start_with_env(&[("MOTO_ECS_SERVICE_RUNNING", "2")]);
    let url = moto.url();
    let sdk = moto::patient_sdk_config(&url, Duration::from_secs(60));
    let fixture = EcsFixture::connect(&sdk).await.expect("moto answers ECS");
    let elb_client = ElbClient::new(&sdk);
    let elb = build_elb(&elb_client, &url).await;
    fixture.cluster(CLUSTER).await.expect("cluster");
    for (name, port, desired, group) in [
        ("nginx-proxy", 80, 2, Some(elb.nginx.as_str())),
        ("api", 5000, 2, Some(elb.api.as_str())),
        ("batch", 5000, 1, None),
        ("quorum-general-1", 8443, 1, Some(elb.quorum_a.as_str())),
        ("quorum-general-2", 8443, 1, Some(elb.quorum_b.as_str())),
    ] {
        service(&fixture, name, port, desired, group)
            .await
            .unwrap_or_else(|e| panic!("service {name}: {e:#}"));
    }
    let clock: SharedClock = Arc::new(ManualClock::new(T0));
    Bench {
        _moto: moto,
        config: config(&url, &elb),
        elb,
        elb_client,
        ecs: AwsEcs::new(&sdk, None, clock),
        aws_elb: AwsElb::new(&sdk, None),
    }
}

impl Bench {
    /// One poll of ECS, the path and the switch, as the pollers do it, into a world.
    async fn path(&self) -> RequestPath {
        let cluster = &self.config.environments[0].clusters[0];
        let switch = cluster.alb_switch.as_ref().expect("switch");
        let at = ClusterAddr { env: 0, cluster: 0 };
        let snapshot = self.ecs.snapshot(CLUSTER).await;
        let groups = target_groups_to_discover(snapshot.as_ref().ok(), Some(switch));
        let topology = self.aws_elb.discover_paths(&groups).await;
        let view = self.aws_elb.read_switch(switch).await;
        let mut world = World::new(&self.config, T0);
        for seen in [
            Observation::Ecs {
                at,
                result: snapshot,
                when: T0,
            },
            Observation::Paths {
                at,
                result: topology,
                when: T0,
            },
            Observation::Switch {
                at,
                result: view,
                when: T0,
            },
        ] {
            world.apply(seen);
        }
        for_cluster(&world, 0, 0).expect("the cluster has a request path")
    }

    async fn deregister(&self, group: &str, target: &str) {
        self.elb_client
            .deregister_targets()
            .target_group_arn(group)
            .targets(description(target))
            .send()
            .await
            .expect("deregister");
    }
}

#[tokio::test]
async fn services_behind_load_balancers_make_a_path_and_its_breaks_are_named() {
    let b = bench().await;

    // Every hop found and healthy; the active node has not been polled (no RPC here).
    let path = b.path().await;
    let hops: Vec<(&str, Health)> = path
        .hops
        .iter()
        .map(|h| (h.name.as_str(), h.health))
        .collect();
    assert_eq!(
        hops,
        [
            ("external ALB", Health::Ok),
            ("nginx-proxy", Health::Ok),
            ("internal ALB → api", Health::Ok),
            ("internal ALB → quorum", Health::Ok),
            ("quorum general-1 (active)", Health::Unknown),
        ],
        "{path:#?}"
    );
    assert_eq!(first_broken_hop(&path), None);
    assert_eq!(
        path.hops[0].detail,
        "ibet-stg-node-api-ext :443 · targets 2/2 healthy"
    );
    assert_eq!(
        path.hops[3].detail,
        "forwards to general-1 · target healthy · standby general-2 healthy"
    );

    // An API target moved to a port the container does not listen on.
    b.deregister(&b.elb.api, "10.0.2.30:5000").await;
    elb_fixture::register(&b.elb_client, &b.elb.api, &["10.0.2.30:5001"]).await;
    let path = b.path().await;
    assert_eq!(
        first_broken_hop(&path)
            .map(ibet_console::path::Hop::spelled_out)
            .as_deref(),
        Some(
            "internal ALB → api: 1/2 targets healthy (registered on port 5001, the container listens on 5000)"
        )
    );

    // Both API targets gone: the route to the API is down.
    b.deregister(&b.elb.api, "10.0.1.30:5000").await;
    b.deregister(&b.elb.api, "10.0.2.30:5001").await;
    let path = b.path().await;
    let broken = first_broken_hop(&path).expect("broken");
    assert_eq!(broken.health, Health::Down);
    assert_eq!(
        broken.spelled_out(),
        "internal ALB → api: 0/2 targets healthy (2 running tasks not registered)"
    );

    // An nginx task not registered: the entry is degraded, the API still names the break.
    b.deregister(&b.elb.nginx, "10.0.2.20:80").await;
    let path = b.path().await;
    let ext = &path.hops[0];
    assert_eq!(ext.health, Health::Degraded);
    assert_eq!(
        ext.spelled_out(),
        "external ALB: 1/2 targets healthy (1 running task not registered)"
    );
    assert_eq!(
        first_broken_hop(&path).map(|h| h.name.as_str()),
        Some("internal ALB → api"),
        "a hop that is down wins over an earlier degraded one"
    );
}
