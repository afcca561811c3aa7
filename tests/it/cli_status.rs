//! `ibet-console status` end to end: the built binary, a config pointing at a moto
//! server populated like staging and at three real anvil nodes (two mining, one not).
//! What it prints must agree with what moto and the nodes hold.

use crate::support::{anvil, config_toml, ecs_fixture, moto};

use std::process::Command;
use std::time::Duration;

use anvil::{Anvil, Mining};
use ecs_fixture::{ClusterShape, EcsFixture};

const BIN: &str = env!("CARGO_BIN_EXE_ibet-console");

#[test]
fn status_json_agrees_with_moto_and_the_nodes() {
    let moto = moto::Moto::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cluster = rt
        .block_on(async {
            EcsFixture::connect(&moto::sdk_config(&moto.url()))
                .await?
                .staging_cluster("node-api", ClusterShape::Wallet)
                .await
        })
        .expect("cluster");
    let g1 = Anvil::start(Mining::EverySecs(1));
    let g2 = Anvil::start(Mining::EverySecs(1));
    let still = Anvil::start(Mining::Off);
    // Let the miners get ahead of the node that does not mine.
    std::thread::sleep(Duration::from_secs(4));

    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        [
            config_toml::environment("staging", Some(&moto.url()), false),
            config_toml::cluster("node-api", &cluster.ecs_cluster),
            config_toml::quorum_node("general-1", &g1.url(), None, None),
            config_toml::quorum_node("general-2", &g2.url(), None, None),
            config_toml::quorum_node("general-3", &still.url(), None, None),
        ]
        .concat(),
    )
    .expect("write config");

    let out = Command::new(BIN)
        .args(["status", "--json", "--config"])
        .arg(&config)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", dir.path())
        .output()
        .expect("run status");
    let text = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    let c = &json["environments"][0]["clusters"][0];
    // The fixture registers no load balancers, so only the request-path discovery may
    // complain (about target groups that do not exist); ECS and the nodes must not.
    let errors = c["errors"].as_array().expect("errors");
    assert!(errors.iter().all(|e| e["source"] == "elb"), "{c}");

    // Services and tasks as moto holds them.
    let mut names: Vec<&str> = c["services"]
        .as_array()
        .expect("services")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    names.sort_unstable();
    let mut want: Vec<&str> = cluster
        .services
        .iter()
        .map(|s| s.spec.name.as_str())
        .collect();
    want.sort_unstable();
    assert_eq!(names, want);
    let running = c["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["last_status"] == "RUNNING")
        .count();
    assert_eq!(running, cluster.running_tasks());
    let stopped: Vec<&serde_json::Value> = c["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["last_status"] == "STOPPED")
        .collect();
    assert_eq!(stopped.len(), cluster.stopped.len());
    assert_eq!(
        stopped[0]["stopped_reason"],
        "Essential container in task exited"
    );

    // The nodes: two synced miners, one that does not mine, judged not synced.
    let nodes = c["quorum_nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 3);
    for n in &nodes[..2] {
        assert_eq!(n["reachable"], true, "{n}");
        assert!(n["block"].as_u64().is_some_and(|b| b >= 2), "{n}");
        assert_eq!(
            n["peers"],
            serde_json::Value::Null,
            "anvil cannot report peers: n/a"
        );
    }
    assert_ne!(nodes[2]["state"], "synced", "{}", nodes[2]);
    assert!(
        nodes[2]["lag"].as_u64().is_some_and(|l| l >= 2),
        "{}",
        nodes[2]
    );
    // A node not in sync makes it degraded (1); unreadable load balancers make it 2.
    let want = if errors.is_empty() { 1 } else { 2 };
    assert_eq!(out.status.code(), Some(want));
    drop((g1, g2, still));
}
