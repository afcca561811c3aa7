//! The request path in the demo world: a fault injected on any hop shows as that hop
//! being the first broken one, and as a problem in the problems list (and so in
//! `status`), within one poll of the fault taking effect.
//!
//! Faults that act at once (health checks failing, tasks exiting, a target failing the
//! ALB's checks) must show after one poll. Faults the Quorum judgement needs time to see
//! (a node falling behind or stalling, validators going quiet) must show within the
//! judgement's window, one poll a second as the console polls nodes.

use crate::support::screen;

use std::sync::Arc;

use ibet_console::app::{Msg, State, update};
use ibet_console::backend::sim::{Fault, SimWorld};
use ibet_console::clock::{Clock as _, ManualClock};
use ibet_console::model::Health;
use ibet_console::path::{Hop, first_broken_hop, for_cluster};
use ibet_console::poll::poll_once;
use ibet_console::problems::{self, Severity};
use ibet_console::session::Session;
use ibet_console::status::StatusReport;
use screen::demo_session;

/// A demo world polled once a second, as the TUI sees it.
struct Console {
    session: Session,
    clock: Arc<ManualClock>,
    world: SimWorld,
    state: State,
    rt: tokio::runtime::Runtime,
}

impl Console {
    /// A world at seed `seed`, polled for `warmup` seconds so the nodes have history.
    fn new(seed: u64, warmup: u32) -> Self {
        let (session, clock) = demo_session(seed, 120);
        let world = session.world.clone().expect("demo world");
        let state = State::new(&session.config, clock.now_ms());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut console = Self {
            session,
            clock,
            world,
            state,
            rt,
        };
        for _ in 0..warmup {
            console.poll();
        }
        console
    }

    /// One second later, one poll of everything.
    fn poll(&mut self) {
        self.clock.advance(1_000);
        let msgs = self.rt.block_on(poll_once(
            &self.session.config,
            &self.session.backends,
            &self.session.clock,
        ));
        for m in msgs {
            update(&mut self.state, Msg::Observed(m));
        }
        update(&mut self.state, Msg::Tick(self.clock.now_ms()));
    }

    fn cluster_index(&self, env: &str, cluster: &str) -> (usize, usize) {
        let e = self
            .state
            .world
            .envs
            .iter()
            .position(|e| e.name == env)
            .expect("env");
        let c = self.state.world.envs[e]
            .clusters
            .iter()
            .position(|c| c.name == cluster)
            .expect("cluster");
        (e, c)
    }

    /// The first broken hop of a cluster's path, spelled out.
    fn broken(&self, env: &str, cluster: &str) -> Option<(String, Health, String)> {
        let (e, c) = self.cluster_index(env, cluster);
        let path = for_cluster(&self.state.world, e, c).expect("a wallet cluster has a path");
        first_broken_hop(&path).map(|h: &Hop| (h.name.clone(), h.health, h.spelled_out()))
    }

    fn inject(&self, env: &str, fault: Fault) {
        self.world.inject(env, fault).expect("inject");
    }

    /// Polls until the cluster's first broken hop is `hop`, at most `polls` times;
    /// returns what it said and after how many polls.
    fn poll_until_broken_at(
        &mut self,
        env: &str,
        cluster: &str,
        hop: &str,
        polls: u32,
    ) -> (String, Health, u32) {
        for n in 1..=polls {
            self.poll();
            if let Some((name, health, said)) = self.broken(env, cluster)
                && name == hop
            {
                return (said, health, n);
            }
        }
        panic!(
            "{env}/{cluster}: after {polls} polls the first broken hop is {:?}, not {hop}",
            self.broken(env, cluster)
        );
    }

    /// The problems list has the path problem of this cluster naming `hop`.
    fn assert_problem(&self, env: &str, cluster: &str, hop: &str, severity: Severity) {
        let problems = problems::current(&self.state.world);
        let found = problems.iter().find(|p| {
            p.environment == env
                && p.cluster == cluster
                && p.subject == "path"
                && p.summary.contains(&format!(" at {hop}: "))
        });
        let found = found.unwrap_or_else(|| {
            panic!(
                "no path problem naming {hop} in {env}/{cluster}:\n{:#?}",
                problems
                    .iter()
                    .map(|p| format!(
                        "{} {} {}: {}",
                        p.environment, p.cluster, p.subject, p.summary
                    ))
                    .collect::<Vec<_>>()
            )
        });
        assert_eq!(found.severity, severity, "{}", found.summary);
    }
}

/// A world with every path healthy before the fault.
fn healthy(seed: u64, env: &str, cluster: &str, warmup: u32) -> Console {
    let console = Console::new(seed, warmup);
    if env == "staging" && cluster == "node-api" {
        // A quiet world has no problems, and `status` says so.
        let table = StatusReport::from_world(&console.state.world, console.state.now())
            .to_table(&ibet_console::clock::Zone::utc());
        assert!(table.contains("\nno problems\n"), "{table}");
    }
    assert_eq!(
        console.broken(env, cluster),
        None,
        "the path must be healthy before the fault"
    );
    console
}

#[test]
fn health_checks_failing_on_nginx_break_the_external_alb() {
    let mut c = healthy(3, "production", "node-api", 3);
    c.inject(
        "production",
        Fault::TasksUnhealthy {
            cluster: "node-api".into(),
            service: "nginx-proxy".into(),
            secs: 300,
        },
    );
    let (said, health, polls) = c.poll_until_broken_at("production", "node-api", "external ALB", 1);
    assert_eq!(polls, 1);
    assert_eq!(health, Health::Down);
    assert_eq!(
        said,
        "external ALB: 0/2 targets healthy (Target.FailedHealthChecks)"
    );
    c.assert_problem("production", "node-api", "external ALB", Severity::Critical);
    // On the screen, at the smallest size: the summary marks the hop, the reason is
    // spelled out.
    let shown = screen::screen(&mut c.state, 80, 24);
    assert!(
        shown.contains("Request path · broken at external ALB"),
        "{shown}"
    );
    assert!(shown.contains("ext ✖ → nginx"), "{shown}");
    assert!(
        shown.contains("✖ external ALB: 0/2 targets healthy"),
        "{shown}"
    );
}

#[test]
fn nginx_down_leaves_the_external_alb_without_targets() {
    let mut c = healthy(3, "staging", "issuer", 3);
    c.inject(
        "staging",
        Fault::ServiceDown {
            cluster: "issuer".into(),
            service: "nginx-proxy".into(),
            secs: 300,
        },
    );
    let (said, health, _) = c.poll_until_broken_at("staging", "issuer", "external ALB", 1);
    assert_eq!(health, Health::Down);
    assert!(said.starts_with("external ALB: no "), "{said}");
    c.assert_problem("staging", "issuer", "external ALB", Severity::Critical);
}

#[test]
fn the_api_failing_health_checks_breaks_the_internal_route_to_it() {
    let mut c = healthy(3, "production", "bank", 3);
    c.inject(
        "production",
        Fault::TasksUnhealthy {
            cluster: "bank".into(),
            service: "api".into(),
            secs: 300,
        },
    );
    let (said, _, _) = c.poll_until_broken_at("production", "bank", "internal ALB → api", 1);
    assert_eq!(
        said,
        "internal ALB → api: 0/2 targets healthy (Target.FailedHealthChecks)"
    );
    c.assert_problem(
        "production",
        "bank",
        "internal ALB → api",
        Severity::Critical,
    );

    // `status` carries the same: the problems worst first, the cluster's path.
    let report = StatusReport::from_world(&c.state.world, c.state.now());
    let json = serde_json::to_value(&report).expect("json");
    let first = &json["problems"][0];
    assert_eq!(first["severity"], "critical");
    for field in ["environment", "cluster", "subject", "summary", "since"] {
        assert!(first[field].is_string(), "{field}: {first}");
    }
    let want = "request path broken at internal ALB → api: 0/2 targets healthy (Target.FailedHealthChecks)";
    assert!(
        json["problems"]
            .as_array()
            .expect("problems")
            .iter()
            .any(|p| p["summary"] == want),
        "{}",
        json["problems"]
    );
    let bank = &json["environments"][0]["clusters"][3];
    assert_eq!(bank["name"], "bank");
    assert_eq!(
        bank["request_path"]["first_broken"],
        "internal ALB → api: 0/2 targets healthy (Target.FailedHealthChecks)"
    );
    let table = report.to_table(&ibet_console::clock::Zone::utc());
    assert!(table.contains(want), "{table}");
    assert!(!table.contains("no problems"));
    assert!(table.contains("SINCE (UTC)"), "{table}");
    assert_ne!(report.exit_code(), 0);
    // In the team's zone the table says so; the JSON stays in UTC.
    let tokyo = ibet_console::clock::Zone::named("Asia/Tokyo").expect("zone");
    let in_tokyo = report.to_table(&tokyo);
    assert!(in_tokyo.contains("SINCE (JST)"), "{in_tokyo}");
    let since = report.problems[0].since.clone();
    assert!(since.ends_with('Z'), "{since}");
    let at = ibet_console::clock::parse_iso(&since).expect("an RFC 3339 time");
    assert!(in_tokyo.contains(&tokyo.date_time(at)), "{in_tokyo}");
}

#[test]
fn the_api_down_breaks_the_internal_route_to_it() {
    let mut c = healthy(3, "staging", "node-api", 3);
    c.inject(
        "staging",
        Fault::ServiceDown {
            cluster: "node-api".into(),
            service: "api".into(),
            secs: 300,
        },
    );
    let (said, health, _) = c.poll_until_broken_at("staging", "node-api", "internal ALB → api", 1);
    assert_eq!(health, Health::Down);
    assert!(said.contains("no task running"), "{said}");
}

#[test]
fn the_active_nodes_target_failing_breaks_the_route_to_quorum_in_both_modes() {
    // Listener mode (production) and targets mode (staging).
    for env in ["production", "staging"] {
        let mut c = healthy(3, env, "node-api", 3);
        c.inject(
            env,
            Fault::TargetUnhealthy {
                cluster: "node-api".into(),
                node: "general-1".into(),
                secs: 300,
            },
        );
        let (said, health, _) = c.poll_until_broken_at(env, "node-api", "internal ALB → quorum", 1);
        assert_eq!(health, Health::Down, "{env}");
        assert_eq!(
            said, "internal ALB → quorum: general-1's target unhealthy (Target.FailedHealthChecks)",
            "{env}"
        );
        c.assert_problem(env, "node-api", "internal ALB → quorum", Severity::Critical);
    }
}

#[test]
fn the_standby_nodes_target_failing_breaks_nothing() {
    let mut c = healthy(3, "production", "node-api", 3);
    c.inject(
        "production",
        Fault::TargetUnhealthy {
            cluster: "node-api".into(),
            node: "general-2".into(),
            secs: 300,
        },
    );
    c.poll();
    assert_eq!(c.broken("production", "node-api"), None);
    let (e, i) = c.cluster_index("production", "node-api");
    let path = for_cluster(&c.state.world, e, i).expect("path");
    let switch = path
        .hops
        .iter()
        .position(|h| h.kind == ibet_console::path::HopKind::Switch)
        .expect("the switch hop");
    assert!(
        path.hops[switch]
            .detail
            .contains("standby general-2 unhealthy"),
        "{}",
        path.hops[switch].detail
    );
}

#[test]
fn the_active_node_down_shows_on_the_route_to_quorum_at_once() {
    let mut c = healthy(3, "production", "issuer", 3);
    // issuer's internal ALB points at general-2.
    c.inject(
        "production",
        Fault::ServiceDown {
            cluster: "issuer".into(),
            service: "quorum-general-2".into(),
            secs: 300,
        },
    );
    let (said, _, polls) =
        c.poll_until_broken_at("production", "issuer", "internal ALB → quorum", 3);
    assert!(polls <= 3, "the task stops within a couple of ticks");
    assert!(said.contains("general-2's target unhealthy"), "{said}");
}

#[test]
fn the_active_node_falling_behind_is_named_once_it_lags() {
    let mut c = healthy(3, "production", "node-api", 25);
    c.inject(
        "production",
        Fault::NodeFallsBehind {
            cluster: "node-api".into(),
            node: "general-1".into(),
            secs: 300,
        },
    );
    let (said, health, polls) =
        c.poll_until_broken_at("production", "node-api", "quorum general-1 (active)", 30);
    assert_eq!(health, Health::Degraded);
    assert!(said.contains("lagging"), "{said}");
    assert!(polls <= 15, "named after {polls} polls");
    c.assert_problem(
        "production",
        "node-api",
        "quorum general-1 (active)",
        Severity::Warning,
    );
    // The node's own problem says what to do: switch to the synced one.
    let problems = problems::current(&c.state.world);
    let node = problems
        .iter()
        .find(|p| p.environment == "production" && p.subject == "general-1")
        .expect("general-1's problem");
    assert_eq!(
        node.next_step.as_deref(),
        Some("s: switch the ALB to general-2 (synced)"),
        "{node:?}"
    );
}

#[test]
fn the_active_node_stalling_is_named_within_the_stall_window() {
    let mut c = healthy(3, "staging", "bank", 25);
    c.inject(
        "staging",
        Fault::NodeStalls {
            cluster: "bank".into(),
            node: "general-1".into(),
            secs: 300,
        },
    );
    let (said, _, polls) =
        c.poll_until_broken_at("staging", "bank", "quorum general-1 (active)", 30);
    assert!(
        said.contains("stalled") || said.contains("lagging"),
        "{said}"
    );
    assert!(
        polls <= 22,
        "the stall window is 20 s; named after {polls} polls"
    );
}

#[test]
fn validators_going_quiet_use_up_the_fault_tolerance_then_halt_the_chain() {
    let mut c = healthy(3, "production", "node-api", 25);
    c.inject(
        "production",
        Fault::ServiceDown {
            cluster: "satoshi".into(),
            service: "quorum-validator-3".into(),
            secs: 600,
        },
    );
    let (said, health, _) = c.poll_until_broken_at("production", "node-api", "validators", 10);
    assert_eq!(health, Health::Degraded);
    assert!(
        said.starts_with("validators: fault tolerance used up: "),
        "{said}"
    );
    // Every wallet cluster's path goes through the same validators.
    assert_eq!(
        c.broken("production", "issuer").map(|b| b.0).as_deref(),
        Some("validators")
    );
    c.assert_problem("production", "node-api", "validators", Severity::Warning);
    // The validator that is down: restart it alone; the chain can spare no other.
    let problems = problems::current(&c.state.world);
    let down = problems
        .iter()
        .find(|p| p.environment == "production" && p.subject == "validator-3")
        .expect("validator-3's problem");
    assert_eq!(
        down.next_step.as_deref(),
        Some("restart it alone (r on its task): the chain tolerates 0 more failures"),
        "{down:?}"
    );

    c.inject(
        "production",
        Fault::ServiceDown {
            cluster: "satoshi".into(),
            service: "quorum-validator-4".into(),
            secs: 600,
        },
    );
    // Two of four down: more than QBFT tolerates, no more blocks.
    let mut polls = 0;
    let said = loop {
        c.poll();
        polls += 1;
        match c.broken("production", "bank") {
            Some((hop, Health::Down, said)) if hop == "validators" => break said,
            other => assert!(polls < 40, "not halted after {polls} polls: {other:?}"),
        }
    };
    assert!(
        said.starts_with("validators: halted: ") || said.starts_with("validators: chain stopped"),
        "{said}"
    );
    c.assert_problem("production", "bank", "validators", Severity::Critical);
}
