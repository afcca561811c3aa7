//! Config fixtures: every `tests/valid_configs/*.toml` loads, and every
//! `tests/invalid_configs/*.toml` is rejected with exactly the problems listed in the
//! `.expected` file beside it (one `FILE:LINE:COL: message` line each, the file named
//! relative to its fixtures folder). Also checks `assets/config.example.toml`.
//!
//! After an intended change of messages, rewrite the expected files with
//! `UPDATE_EXPECTED=1 cargo test --test it config_fixtures::` and review the diff.

use std::fs;
use std::path::{Path, PathBuf};

use ibet_console::config::{Config, ConfigError};
use ibet_console::model::alb::SwitchMode;
use ibet_console::model::quorum::NodeRole;

fn fixtures(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(folder);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("fixtures folder")
        .map(|entry| entry.expect("folder entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

/// Parses a fixture, naming it by its file name so messages are stable.
fn parse_fixture(path: &Path) -> Result<Config, ConfigError> {
    let text = fs::read_to_string(path).expect("readable fixture");
    Config::parse(&text, Path::new(path.file_name().expect("file name")))
}

#[test]
fn valid_configs_load() {
    let mut failures = Vec::new();
    for path in fixtures("valid_configs") {
        if let Err(e) = parse_fixture(&path) {
            failures.push(format!("{}:\n{e}", path.display()));
        }
        // `load` reads the same file the same way.
        assert!(Config::load(&path).is_ok(), "{}", path.display());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn invalid_configs_report_every_problem() {
    let update = std::env::var_os("UPDATE_EXPECTED").is_some();
    let mut failures = Vec::new();
    for path in fixtures("invalid_configs") {
        let actual = match parse_fixture(&path) {
            Ok(_) => String::new(),
            Err(e) => {
                assert!(!e.problems().is_empty(), "{}", path.display());
                e.problems().iter().map(|p| p.to_string() + "\n").collect()
            }
        };
        assert!(!actual.is_empty(), "{} was accepted", path.display());
        let expected_path = path.with_extension("expected");
        if update {
            fs::write(&expected_path, &actual).expect("writable expected file");
            continue;
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "{}\n--- expected\n{expected}--- actual\n{actual}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_invalid_fixture_has_its_expected_output() {
    for path in fixtures("invalid_configs") {
        assert!(
            path.with_extension("expected").is_file(),
            "{} has no .expected file",
            path.display()
        );
    }
}

fn example() -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/config.example.toml");
    match Config::load(&path) {
        Ok(config) => config,
        Err(e) => panic!("the example config is invalid:\n{e}"),
    }
}

#[test]
fn example_config_is_valid_and_models_the_infrastructure() {
    let config = example();
    let names: Vec<&str> = config
        .environments
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["production", "staging"]);

    let production = config.environment("production").expect("present");
    assert!(production.danger);
    assert_eq!(production.read_only, None, "left at its default");
    assert!(production.is_read_only());
    let staging = config.environment("staging").expect("present");
    assert!(!staging.danger);
    assert!(!staging.is_read_only());

    for env in &config.environments {
        assert_eq!(env.region, "ap-northeast-1");
        assert!(env.aws_profile.is_some());
        let clusters: Vec<&str> = env.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(clusters, ["node-api", "satoshi", "issuer", "bank"]);
        for cluster in &env.clusters {
            if cluster.name == "satoshi" {
                let validators: Vec<&str> = cluster
                    .quorum_nodes
                    .iter()
                    .filter(|n| n.role == NodeRole::Validator)
                    .map(|n| n.name.as_str())
                    .collect();
                assert_eq!(validators, ["v1", "v2", "v3", "v4"]);
                assert!(cluster.alb_switch.is_none());
            } else {
                let generals = cluster
                    .quorum_nodes
                    .iter()
                    .filter(|n| n.role == NodeRole::General)
                    .count();
                assert_eq!(generals, 2, "{}/{}", env.name, cluster.name);
                let switch = cluster.alb_switch.as_ref().expect("present");
                assert_eq!(switch.nodes.len(), 2);
            }
        }
    }
    let modes: Vec<SwitchMode> = config
        .environments
        .iter()
        .flat_map(|e| &e.clusters)
        .filter_map(|c| c.alb_switch.as_ref().map(|s| s.mode))
        .collect();
    assert!(modes.contains(&SwitchMode::Listener));
    assert!(modes.contains(&SwitchMode::Targets));
}

/// The example spells out the global settings and the gate thresholds of production's
/// node-api switch; they must be the defaults its comments say they are.
#[test]
fn example_gate_thresholds_are_the_defaults() {
    let config = example();
    let spelled_out = config.environment("production").expect("present").clusters[0]
        .alb_switch
        .clone()
        .expect("present");
    let defaults: Config = Config::parse(
        "[[environments]]\nname = \"e\"\n[[environments.clusters]]\nname = \"c\"\n\
         ecs_cluster = \"c\"\n[[environments.clusters.quorum_nodes]]\nname = \"a\"\n\
         rpc_url = \"http://a\"\n[[environments.clusters.quorum_nodes]]\nname = \"b\"\n\
         rpc_url = \"http://b\"\n[environments.clusters.alb_switch]\nmode = \"targets\"\n\
         target_group_arn = \"arn:aws:elasticloadbalancing:r:1:targetgroup/t/1\"\n\
         nodes = { a = \"10.0.0.1:8545\", b = \"10.0.0.2:8545\" }\n",
        Path::new("defaults.toml"),
    )
    .expect("valid config");
    let default = defaults.environments[0].clusters[0]
        .alb_switch
        .clone()
        .expect("present");
    assert_eq!(spelled_out.max_lag_blocks, default.max_lag_blocks);
    assert_eq!(spelled_out.max_head_age_secs, default.max_head_age_secs);
    assert_eq!(spelled_out.consecutive_polls, default.consecutive_polls);
    assert_eq!(spelled_out.min_peers, default.min_peers);
    // The global settings it spells out are the defaults too.
    let empty = Config::parse("", Path::new("empty.toml")).expect("valid config");
    assert_eq!(config.refresh_secs, empty.refresh_secs);
    assert_eq!(config.rpc_poll_secs, empty.rpc_poll_secs);
    assert_eq!(config.theme, empty.theme);
    assert_eq!(config.log_buffer_lines, empty.log_buffer_lines);
    assert_eq!(config.audit_log, empty.audit_log);
    assert_eq!(config.quorum, empty.quorum);
}

/// The `[quorum]` table sets the monitor's thresholds; keys left out keep their defaults.
#[test]
fn quorum_thresholds_come_from_the_quorum_table() {
    let config = Config::parse(
        "[quorum]\nmax_lag_blocks = 5\nstall_window_secs = 40\n",
        Path::new("quorum.toml"),
    )
    .expect("valid config");
    let defaults = ibet_console::quorum::QuorumThresholds::default();
    assert_eq!(config.quorum.max_lag_blocks, 5);
    assert_eq!(config.quorum.stall_window_secs, 40);
    assert_eq!(
        config.quorum.down_after_failures,
        defaults.down_after_failures
    );
    assert_eq!(
        config.quorum.head_age_warn_secs,
        defaults.head_age_warn_secs
    );
    // The console judges with them (the Quorum panel, problems and `status`).
    let world = ibet_console::world::World::new(&config, 0);
    assert_eq!(world.thresholds, config.quorum);
}
