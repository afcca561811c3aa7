//! Console config TOML for the integration tests, written from small pieces: an
//! environment, a cluster, a Quorum node, a listener switch. A test puts together only
//! what is its own, and the key names (`src/config/validate.rs`) are spelled here once.
//! Text only: parsing it is the console's job, and nothing here reads a file or a server.

use std::fmt::Write as _;

/// The region of every test environment.
pub const REGION: &str = "ap-northeast-1";

/// `[[environments]]` called `name` in [`REGION`], on `endpoint` when given (moto, or
/// a listener that must see nothing), marked `danger` when asked.
pub fn environment(name: &str, endpoint: Option<&str>, danger: bool) -> String {
    let mut toml = format!("\n[[environments]]\nname = \"{name}\"\nregion = \"{REGION}\"\n");
    if let Some(endpoint) = endpoint {
        let _ = writeln!(toml, "endpoint_url = \"{endpoint}\"");
    }
    if danger {
        toml.push_str("danger = true\n");
    }
    toml
}

/// `[[environments.clusters]]` `name`, the ECS cluster `ecs_cluster`.
pub fn cluster(name: &str, ecs_cluster: &str) -> String {
    format!("\n[[environments.clusters]]\nname = \"{name}\"\necs_cluster = \"{ecs_cluster}\"\n")
}

/// A Quorum node of the cluster above it, at `rpc_url`, with its role and ECS service
/// when given.
pub fn quorum_node(name: &str, rpc_url: &str, role: Option<&str>, service: Option<&str>) -> String {
    let mut toml = format!(
        "\n[[environments.clusters.quorum_nodes]]\nname = \"{name}\"\nrpc_url = \"{rpc_url}\"\n"
    );
    if let Some(role) = role {
        let _ = writeln!(toml, "role = \"{role}\"");
    }
    if let Some(service) = service {
        let _ = writeln!(toml, "service = \"{service}\"");
    }
    toml
}

/// The four validators of a chain, `validator-1` to `validator-4` at `urls`, their ECS
/// services named `{service_prefix}1` to `{service_prefix}4`.
pub fn validators(urls: [&str; 4], service_prefix: &str) -> String {
    urls.iter()
        .enumerate()
        .map(|(i, url)| {
            let n = i + 1;
            quorum_node(
                &format!("validator-{n}"),
                url,
                Some("validator"),
                Some(&format!("{service_prefix}{n}")),
            )
        })
        .collect()
}

/// The cluster's ALB switch in listener mode on `listener`, `general-1` and `general-2`
/// at the target groups `groups`, with `consecutive_polls` when given.
pub fn listener_switch(
    listener: &str,
    groups: [&str; 2],
    consecutive_polls: Option<u32>,
) -> String {
    let mut toml = format!(
        "\n[environments.clusters.alb_switch]\nmode = \"listener\"\nlistener_arn = \"{listener}\"\n"
    );
    if let Some(polls) = consecutive_polls {
        let _ = writeln!(toml, "consecutive_polls = {polls}");
    }
    let [a, b] = groups;
    let _ = write!(
        toml,
        "\n[environments.clusters.alb_switch.nodes]\ngeneral-1 = \"{a}\"\ngeneral-2 = \"{b}\"\n"
    );
    toml
}
