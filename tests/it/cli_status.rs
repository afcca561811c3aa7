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

/// A relay in front of the node at `node_port` that answers each request `delay` late:
/// a node that is slow, not dead. One request per connection.
fn slow_relay(node_port: u16, delay: Duration) -> u16 {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
    let port = listener.local_addr().expect("relay address").port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let Ok(read_half) = client.try_clone() else {
                    return;
                };
                let mut reader = BufReader::new(read_half);
                let mut head = Vec::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(n) = lower.strip_prefix("content-length:") {
                        length = n.trim().parse().unwrap_or(0);
                    }
                    if !lower.starts_with("connection:") {
                        head.extend_from_slice(line.as_bytes());
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                std::thread::sleep(delay);
                // The console may have judged and gone, and the node stopped, meanwhile.
                let Ok(mut node) = TcpStream::connect(("127.0.0.1", node_port)) else {
                    return;
                };
                head.extend_from_slice(b"Connection: close\r\n\r\n");
                head.extend_from_slice(&body);
                let mut answer = Vec::new();
                if node.write_all(&head).is_err() || node.read_to_end(&mut answer).is_err() {
                    return;
                }
                let mut client = client;
                let _ = client.write_all(&answer);
            });
        }
    });
    port
}

#[test]
fn status_judges_silent_nodes_down_within_the_wait_and_waits_for_a_slow_one() {
    let moto = moto::Moto::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        EcsFixture::connect(&moto::sdk_config(&moto.url()))
            .await?
            .cluster("ibet-stg-node-api")
            .await
    })
    .expect("cluster");
    let live = Anvil::start(Mining::EverySecs(1));
    let slow = slow_relay(live.port, Duration::from_secs(2));
    let refused = anvil::free_port();
    // Accepts connections (the kernel completes them) and never answers.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let hung_port = hung.local_addr().expect("address").port();
    std::thread::sleep(Duration::from_secs(2));

    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("config.toml");
    let url = |port: u16| format!("http://127.0.0.1:{port}");
    std::fs::write(
        &config,
        [
            config_toml::environment("staging", Some(&moto.url()), false),
            config_toml::cluster("node-api", "ibet-stg-node-api"),
            config_toml::quorum_node("general-1", &live.url(), None, None),
            config_toml::quorum_node("general-2", &url(slow), None, None),
            config_toml::quorum_node("general-3", &url(refused), None, None),
            config_toml::quorum_node("general-4", &url(hung_port), None, None),
            config_toml::quorum_node("validator-1", &url(refused), Some("validator"), None),
        ]
        .concat(),
    )
    .expect("write config");
    let status = |json: bool| {
        let mut command = Command::new(BIN);
        command.arg("status");
        if json {
            command.arg("--json");
        }
        let started = std::time::Instant::now();
        let out = command
            .arg("--config")
            .arg(&config)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("HOME", dir.path())
            .output()
            .expect("run status");
        eprintln!("status took {:?}", started.elapsed());
        out
    };

    let out = status(true);
    let text = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    let nodes = json["environments"][0]["clusters"][0]["quorum_nodes"]
        .as_array()
        .expect("nodes")
        .clone();
    let state = |name: &str| {
        nodes
            .iter()
            .find(|n| n["name"] == name)
            .map(|n| n["state"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    assert_eq!(state("general-3"), "down", "refused: {nodes:?}");
    assert_eq!(state("general-4"), "down", "hung: {nodes:?}");
    assert_eq!(state("validator-1"), "down", "{nodes:?}");
    assert_ne!(state("general-2"), "down", "slow, not dead: {nodes:?}");
    assert_ne!(state("general-2"), "unknown", "slow, not dead: {nodes:?}");
    assert_ne!(state("general-1"), "down", "{nodes:?}");
    let problems = json["problems"].as_array().expect("problems");
    let critical = |subject: &str| {
        problems
            .iter()
            .any(|p| p["subject"] == subject && p["severity"] == "critical")
    };
    for subject in ["general-3", "general-4", "validator-1", "chain"] {
        assert!(critical(subject), "{subject} critical: {problems:?}");
    }
    assert!(
        !problems.iter().any(|p| p["subject"] == "general-2"),
        "{problems:?}"
    );
    assert_eq!(json["health"], "degraded");
    assert_eq!(out.status.code(), Some(1), "degraded, everything read");

    let out = status(false);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(!table.contains("no problems"), "{table}");
    assert!(table.contains("overall: degraded"), "{table}");
    assert!(table.contains("general-4"), "{table}");
    assert_eq!(out.status.code(), Some(1));
    drop((live, hung));
}
