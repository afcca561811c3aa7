//! Tests of the demo world through the backend traits: determinism, cost of catching up,
//! the world's own incidents, the operator's mutations, logs and injected faults.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use super::*;
use crate::clock::{Clock, EpochMs, ManualClock};
use crate::config::Config;
use crate::model::Health;
use crate::model::alb::SwitchMode;
use crate::model::ecs::Rollout;
use crate::model::quorum::{NodeSample, Probe};

/// 2026-11-18T11:06:40Z.
const T0: i64 = 1_795_000_000_000;

fn run<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn world(seed: u64) -> (SimWorld, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    (SimWorld::new(seed, clock.clone()), clock)
}

fn backends(world: &SimWorld, env: &str) -> EnvBackends {
    world.backends(env).expect("environment")
}

fn config() -> Config {
    demo_config()
}

fn cluster<'a>(config: &'a Config, env: &str, name: &str) -> &'a crate::config::Cluster {
    config
        .environment(env)
        .and_then(|e| e.clusters.iter().find(|c| c.name == name))
        .expect("cluster")
}

/// Everything an operator sees of an environment, as one comparable string.
fn observe(world: &SimWorld, env: &str) -> String {
    let b = backends(world, env);
    let config = config();
    let mut out = String::new();
    run(async {
        for c in &config.environment(env).expect("env").clusters {
            let snap = b.ecs.snapshot(&c.ecs_cluster).await.expect("snapshot");
            out.push_str(&serde_json::to_string(&snap).expect("json"));
            for node in &c.quorum_nodes {
                let sample = b.rpc.sample(node, true).await;
                out.push_str(&serde_json::to_string(&sample).expect("json"));
            }
            if let Some(switch) = &c.alb_switch {
                let view = b.elb.read_switch(switch).await.expect("switch");
                out.push_str(&serde_json::to_string(&view).expect("json"));
            }
            for service in [
                "api",
                "nginx-proxy",
                "quorum-validator-1",
                "quorum-general-2",
            ] {
                let group = format!("/ecs/ibet-{}/{}/{service}", &c.ecs_cluster[5..8], c.name);
                if let Ok(page) = b
                    .logs
                    .filter(&LogQuery {
                        group,
                        start: 0,
                        ..LogQuery::default()
                    })
                    .await
                {
                    for e in page.events {
                        out.push_str(&e.event_id);
                        out.push_str(&e.stream);
                        out.push_str(&e.message);
                    }
                }
            }
        }
    });
    out
}

/// A judgement of the environment: all services ok and all nodes synced and reachable.
fn all_well(world: &SimWorld, env: &str) -> Result<(), String> {
    run(well(&backends(world, env), env))
}

async fn well(b: &EnvBackends, env: &str) -> Result<(), String> {
    let config = config();
    {
        let mut best = 0;
        let mut samples = Vec::new();
        for c in &config.environment(env).expect("env").clusters {
            let snap = b
                .ecs
                .snapshot(&c.ecs_cluster)
                .await
                .map_err(|e| e.to_string())?;
            for s in &snap.services {
                let health = s.health(snap.tasks_of(&s.name));
                if health != Health::Ok {
                    return Err(format!("{} {} is {}", c.name, s.name, health.as_str()));
                }
            }
            for node in &c.quorum_nodes {
                let sample = b.rpc.sample(node, false).await;
                best = best.max(sample.block.unwrap_or(0));
                samples.push((node.name.clone(), sample));
            }
        }
        for (name, s) in samples {
            if !s.reachable {
                return Err(format!("{name} unreachable"));
            }
            let lag = best - s.block.unwrap_or(0);
            if lag > 2 {
                return Err(format!("{name} lags {lag}"));
            }
            if let Probe::Value(proposers) = &s.proposers
                && proposers.iter().any(|(_, n)| *n < 8)
            {
                return Err(format!("{name} sees an idle validator"));
            }
        }
        Ok(())
    }
}

#[test]
fn same_seed_and_times_give_the_same_world_however_often_polled() {
    let (polled, polled_clock) = world(7);
    let (jumped, jumped_clock) = world(7);
    let stg = backends(&polled, "staging");
    let prd = backends(&polled, "production");
    for second in 0..150 {
        polled_clock.advance(1_000);
        run(async {
            let _ = stg.ecs.snapshot("ibet-stg-node-api").await;
            if second % 7 == 0 {
                let _ = prd.logs.filter(&LogQuery::default()).await;
            }
        });
    }
    jumped_clock.advance(150_000);
    // The same mutations at the same time, then more polling against one jump.
    for w in [&polled, &jumped] {
        let b = backends(w, "staging");
        run(async {
            let snap = b.ecs.snapshot("ibet-stg-bank").await.expect("snapshot");
            let task = snap
                .tasks_of("nginx-proxy")
                .next()
                .expect("task")
                .id
                .clone();
            b.ecs
                .stop_task("ibet-stg-bank", &task, "test")
                .await
                .expect("stop");
            let force = ServiceUpdate {
                task_definition: None,
                force_new_deployment: true,
            };
            b.ecs
                .update_service("ibet-stg-bank", "api", &force)
                .await
                .expect("update");
        });
    }
    for _ in 0..150 {
        polled_clock.advance(1_000);
        run(async {
            let _ = stg.ecs.snapshot("ibet-stg-bank").await;
        });
    }
    jumped_clock.advance(150_000);
    assert_eq!(observe(&polled, "staging"), observe(&jumped, "staging"));
    assert_eq!(
        observe(&polled, "production"),
        observe(&jumped, "production")
    );
    // Sub-second reads change nothing either.
    polled_clock.advance(400);
    jumped_clock.advance(400);
    assert_eq!(observe(&polled, "staging"), observe(&jumped, "staging"));
}

#[test]
fn the_quiet_shortcut_changes_nothing() {
    let (fast, fast_clock) = world(17);
    let (slow, slow_clock) = world(17);
    for env in 0..2 {
        slow.with_env(env, |w| {
            for c in &mut w.clusters {
                c.never_quiet = true;
            }
        });
    }
    fast_clock.advance(1_800_000);
    slow_clock.advance(1_800_000);
    assert_eq!(observe(&fast, "staging"), observe(&slow, "staging"));
    assert_eq!(observe(&fast, "production"), observe(&slow, "production"));
}

#[test]
fn different_seeds_give_different_worlds() {
    let (a, _) = world(1);
    let (b, _) = world(2);
    assert_ne!(observe(&a, "staging"), observe(&b, "staging"));
}

#[test]
fn jumping_an_hour_is_fast_and_deterministic() {
    let (a, clock_a) = world(11);
    let (b, clock_b) = world(11);
    clock_a.advance(3_600_000);
    let started = Instant::now();
    a.with_env(0, |_| ());
    a.with_env(1, |_| ());
    let elapsed = started.elapsed();
    eprintln!("an hour of both environments simulated in {elapsed:?}");
    assert!(elapsed.as_millis() < 3_000, "took {elapsed:?}");
    // The same hour in ten-minute steps.
    for _ in 0..6 {
        clock_b.advance(600_000);
        let _ = all_well(&b, "staging");
    }
    assert_eq!(observe(&a, "staging"), observe(&b, "staging"));
    let held = a.with_env(1, |w| w.logs.len());
    eprintln!("log records held for staging: {held}");
    assert!(held < 60_000, "{held} records");
}

#[test]
fn the_world_has_incidents_and_recovers() {
    for env in ["staging", "production"] {
        let (w, clock) = world(3);
        let mut well_ticks = 0;
        let mut recovered = 0;
        let mut sick = false;
        let mut seen = Vec::new();
        for _ in 0..600 {
            clock.advance(1_000);
            match all_well(&w, env) {
                Ok(()) => {
                    well_ticks += 1;
                    if sick {
                        recovered += 1;
                    }
                    sick = false;
                }
                Err(why) => {
                    if !sick {
                        seen.push(why);
                    }
                    sick = true;
                }
            }
        }
        eprintln!("{env}: {well_ticks}/600 ticks all well; incidents: {seen:?}");
        assert!(!seen.is_empty(), "{env}: no incident in 10 minutes");
        assert!(recovered >= 1, "{env}: never recovered");
        assert!(well_ticks > 300, "{env}: mostly unwell ({well_ticks}/600)");
    }
}

#[test]
fn stopped_task_is_replaced() {
    let (w, clock) = world(5);
    let b = backends(&w, "staging");
    run(async {
        let snap = b.ecs.snapshot("ibet-stg-node-api").await.expect("snapshot");
        let victim = snap
            .tasks_of("api")
            .find(|t| t.is_running())
            .expect("api task")
            .clone();
        b.ecs
            .stop_task(
                "ibet-stg-node-api",
                &victim.id,
                "Restarted from ibet-console",
            )
            .await
            .expect("stop");
        let snap = b.ecs.snapshot("ibet-stg-node-api").await.expect("snapshot");
        let t = snap.tasks.iter().find(|t| t.id == victim.id).expect("task");
        assert_eq!(t.last_status, "STOPPING");
        assert_eq!(t.desired_status, "STOPPED");

        let mut statuses = Vec::new();
        for _ in 0..8 {
            clock.advance(1_000);
            let snap = b.ecs.snapshot("ibet-stg-node-api").await.expect("snapshot");
            if let Some(new) = snap
                .tasks_of("api")
                .find(|t| t.created_at > victim.created_at && t.id != victim.id)
            {
                statuses.push(new.last_status.clone());
            }
        }
        statuses.dedup();
        assert_eq!(
            statuses,
            ["PROVISIONING", "PENDING", "RUNNING"],
            "{statuses:?}"
        );
        let snap = b.ecs.snapshot("ibet-stg-node-api").await.expect("snapshot");
        let old = snap
            .tasks
            .iter()
            .find(|t| t.id == victim.id)
            .expect("stopped task");
        assert_eq!(old.last_status, "STOPPED");
        assert_eq!(
            old.stopped_reason.as_deref(),
            Some("Restarted from ibet-console")
        );
        let api = snap.services.iter().find(|s| s.name == "api").expect("api");
        assert_eq!(api.running, 2);
        assert!(
            api.events
                .iter()
                .take(5)
                .any(|e| e.message.contains("has started 1 tasks"))
        );

        // Stopped tasks stay visible for an hour, then go.
        clock.advance(3_500_000);
        let snap = b.ecs.snapshot("ibet-stg-node-api").await.expect("snapshot");
        assert!(snap.tasks.iter().any(|t| t.id == victim.id));
        clock.advance(200_000);
        let snap = b.ecs.snapshot("ibet-stg-node-api").await.expect("snapshot");
        assert!(!snap.tasks.iter().any(|t| t.id == victim.id));
    });
}

#[test]
fn update_service_rolls_a_deployment() {
    let (w, clock) = world(9);
    let b = backends(&w, "production");
    let cluster = "ibet-prd-issuer";
    run(async {
        let revisions = b
            .ecs
            .task_definition_revisions("ibet-prd-issuer-api")
            .await
            .expect("revisions");
        assert_eq!(revisions.len(), 5, "one registered for the next release");
        let snap = b.ecs.snapshot(cluster).await.expect("snapshot");
        let api = snap.services.iter().find(|s| s.name == "api").expect("api");
        assert_eq!(api.task_definition, revisions[1]);
        let old: Vec<String> = snap.tasks_of("api").map(|t| t.id.clone()).collect();
        let previous = revisions[2].clone();
        let td = b.ecs.task_definition(&previous).await.expect("td");
        assert!(td.containers[0].image.ends_with(":v24.6.0"));

        let update = ServiceUpdate {
            task_definition: Some(short(&previous)),
            force_new_deployment: false,
        };
        b.ecs
            .update_service(cluster, "api", &update)
            .await
            .expect("update");
        let snap = b.ecs.snapshot(cluster).await.expect("snapshot");
        let api = snap.services.iter().find(|s| s.name == "api").expect("api");
        assert_eq!(api.task_definition, previous);
        assert_eq!(api.deployments.len(), 2);
        assert_eq!(api.deployments[0].rollout, Rollout::InProgress);
        assert_eq!(api.rollout(), Rollout::InProgress);

        let mut saw_new_pending = false;
        let mut saw_old_draining = false;
        let mut completed_after = None;
        for second in 1..=60 {
            clock.advance(1_000);
            let snap = b.ecs.snapshot(cluster).await.expect("snapshot");
            let api = snap.services.iter().find(|s| s.name == "api").expect("api");
            for t in snap.tasks_of("api") {
                if t.task_definition == previous && t.last_status == "PENDING" {
                    saw_new_pending = true;
                }
                if old.contains(&t.id) && t.last_status == "DEACTIVATING" {
                    saw_old_draining = true;
                }
            }
            if api.rollout() == Rollout::Completed {
                completed_after = Some(second);
                assert_eq!(api.deployments.len(), 1);
                assert_eq!(api.running, 2);
                assert!(
                    snap.tasks_of("api")
                        .filter(|t| t.is_running())
                        .all(|t| t.task_definition == previous)
                );
                assert!(
                    api.events
                        .iter()
                        .any(|e| e.message.contains("deployment completed"))
                );
                break;
            }
        }
        assert!(saw_new_pending && saw_old_draining);
        let secs = completed_after.expect("rollout completed");
        assert!(secs <= 30, "rollout took {secs}s");

        // A forced deployment of a Quorum general node stops the old task first.
        let force = ServiceUpdate {
            task_definition: None,
            force_new_deployment: true,
        };
        b.ecs
            .update_service(cluster, "quorum-general-2", &force)
            .await
            .expect("update");
        clock.advance(1_000);
        let snap = b.ecs.snapshot(cluster).await.expect("snapshot");
        let live: Vec<_> = snap
            .tasks_of("quorum-general-2")
            .filter(|t| t.desired_status == "RUNNING")
            .collect();
        assert!(
            live.is_empty(),
            "new task started before the old one stopped"
        );
        clock.advance(30_000);
        let snap = b.ecs.snapshot(cluster).await.expect("snapshot");
        let svc = snap
            .services
            .iter()
            .find(|s| s.name == "quorum-general-2")
            .expect("svc");
        assert_eq!(svc.rollout(), Rollout::Completed);
        assert_eq!(svc.running, 1);

        let missing = ServiceUpdate {
            task_definition: Some("ibet-prd-issuer-api:999".into()),
            force_new_deployment: false,
        };
        assert!(matches!(
            b.ecs.update_service(cluster, "api", &missing).await,
            Err(BackendError::NotFound(_))
        ));
    });
}

fn short(arn: &str) -> String {
    crate::model::ecs::short_task_definition(arn).to_string()
}

#[test]
fn listener_switch_flips_weights_in_one_call() {
    let (w, clock) = world(4);
    let b = backends(&w, "production");
    let config = config();
    let switch = cluster(&config, "production", "node-api")
        .alb_switch
        .clone()
        .expect("switch");
    assert_eq!(switch.mode, SwitchMode::Listener);
    run(async {
        let view = b.elb.read_switch(&switch).await.expect("view");
        assert_eq!(view.active(), Some("general-1"));
        assert_eq!(view.members[0].weight, Some(1));
        assert_eq!(view.members[1].weight, Some(0));
        b.elb
            .apply_switch(&switch, "general-2")
            .await
            .expect("switch");
        let view = b.elb.read_switch(&switch).await.expect("view");
        assert_eq!(view.active(), Some("general-2"));
        assert_eq!(view.members[1].weight, Some(1));
        assert_eq!(view.members[0].weight, Some(0));
        clock.advance(10_000);
        let view = b.elb.read_switch(&switch).await.expect("view");
        assert_eq!(view.active(), Some("general-2"));
        assert!(b.elb.apply_switch(&switch, "general-9").await.is_err());
        let mut other = switch.clone();
        other.listener_arn = Some("arn:aws:elasticloadbalancing:nope".into());
        assert!(matches!(
            b.elb.read_switch(&other).await,
            Err(BackendError::NotFound(_))
        ));
    });
}

#[test]
fn targets_switch_registers_then_drains() {
    let (w, clock) = world(4);
    let b = backends(&w, "staging");
    let config = config();
    let switch = cluster(&config, "staging", "issuer")
        .alb_switch
        .clone()
        .expect("switch");
    assert_eq!(switch.mode, SwitchMode::Targets);
    run(async {
        let view = b.elb.read_switch(&switch).await.expect("view");
        assert_eq!(view.active(), Some("general-2"));
        assert_eq!(view.members[1].health.as_deref(), Some("healthy"));
        assert_eq!(view.members[0].health, None);

        b.elb
            .apply_switch(&switch, "general-1")
            .await
            .expect("switch");
        let view = b.elb.read_switch(&switch).await.expect("view");
        assert_eq!(view.active(), Some("general-1"));
        assert_eq!(view.members[0].health.as_deref(), Some("initial"));
        assert_eq!(view.members[1].health.as_deref(), Some("draining"));
        assert!(!view.members[1].active);

        clock.advance(3_000);
        let view = b.elb.read_switch(&switch).await.expect("view");
        assert_eq!(view.members[0].health.as_deref(), Some("healthy"));
        assert_eq!(view.members[1].health.as_deref(), Some("draining"));

        clock.advance(3_000);
        let view = b.elb.read_switch(&switch).await.expect("view");
        assert_eq!(view.members[1].health, None);
        assert_eq!(view.active(), Some("general-1"));
    });
}

#[test]
fn logs_paginate_and_filter() {
    let (w, clock) = world(21);
    clock.advance(60_000);
    let b = backends(&w, "production");
    let group = "/ecs/ibet-prd/node-api/nginx-proxy".to_string();
    run(async {
        let now = T0 + 60_000;
        let all = b
            .logs
            .filter(&LogQuery {
                group: group.clone(),
                start: now - 600_000,
                ..LogQuery::default()
            })
            .await
            .expect("logs");
        assert!(all.next_token.is_none());
        let n = all.events.len();
        eprintln!("nginx-proxy lines in 10 minutes: {n}");
        assert!(n > 300 && n < 3_000, "{n} lines");
        assert!(
            all.events
                .windows(2)
                .all(|p| p[0].timestamp <= p[1].timestamp)
        );
        let mut ids: Vec<_> = all.events.iter().map(|e| e.event_id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert!(all.events.iter().all(|e| e.timestamp <= now));
        assert!(all.events.iter().any(|e| e.message.contains("\" 200 ")));

        // Pages of 100 add up to the same events.
        let mut paged = Vec::new();
        let mut token = None;
        loop {
            let page = b
                .logs
                .filter(&LogQuery {
                    group: group.clone(),
                    start: now - 600_000,
                    limit: Some(100),
                    next_token: token.clone(),
                    ..LogQuery::default()
                })
                .await
                .expect("page");
            assert!(page.events.len() <= 100);
            paged.extend(page.events);
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(paged, all.events);

        // Streams: exact names and prefixes.
        let stream = all.events[0].stream.clone();
        assert!(stream.starts_with("ecs/nginx/") && stream.len() == "ecs/nginx/".len() + 32);
        let one = b
            .logs
            .filter(&LogQuery {
                group: group.clone(),
                streams: vec![stream.clone()],
                start: now - 600_000,
                ..LogQuery::default()
            })
            .await
            .expect("logs");
        assert!(!one.events.is_empty() && one.events.iter().all(|e| e.stream == stream));
        assert!(one.events.len() < n);
        let prefixed = b
            .logs
            .filter(&LogQuery {
                group: group.clone(),
                stream_prefix: Some(stream[..14].to_string()),
                start: now - 600_000,
                ..LogQuery::default()
            })
            .await
            .expect("logs");
        assert!(
            prefixed
                .events
                .iter()
                .all(|e| e.stream.starts_with(&stream[..14]))
        );

        // Time window and pattern.
        let window = b
            .logs
            .filter(&LogQuery {
                group: group.clone(),
                start: now - 30_000,
                end: Some(now - 20_000),
                filter_pattern: Some("POST".into()),
                ..LogQuery::default()
            })
            .await
            .expect("logs");
        assert!(window.events.iter().all(|e| {
            e.timestamp >= now - 30_000 && e.timestamp <= now - 20_000 && e.message.contains("POST")
        }));
        let health = b
            .logs
            .filter(&LogQuery {
                group: group.clone(),
                start: now - 600_000,
                filter_pattern: Some("\"ELB-HealthChecker\"".into()),
                ..LogQuery::default()
            })
            .await
            .expect("logs");
        assert!(!health.events.is_empty());

        // Every container writes.
        for (g, needle) in [
            ("/ecs/ibet-prd/node-api/api", "app.access"),
            ("/ecs/ibet-prd/node-api/notification", "Processed blocks"),
            ("/ecs/ibet-prd/node-api/batch", "Syncing from="),
            (
                "/ecs/ibet-prd/node-api/quorum-general-1",
                "Imported new chain segment",
            ),
            ("/ecs/ibet-prd/satoshi/quorum-validator-2", "number="),
        ] {
            let page = b
                .logs
                .filter(&LogQuery {
                    group: g.into(),
                    start: now - 600_000,
                    filter_pattern: Some(format!("\"{needle}\"")),
                    limit: Some(5),
                    ..LogQuery::default()
                })
                .await
                .expect("logs");
            assert!(!page.events.is_empty(), "{g} has no {needle}");
        }
        assert!(matches!(
            b.logs
                .filter(&LogQuery {
                    group: "/ecs/nope".into(),
                    ..LogQuery::default()
                })
                .await,
            Err(BackendError::NotFound(_))
        ));
        assert!(
            b.logs
                .filter(&LogQuery {
                    group,
                    next_token: Some("bogus".into()),
                    ..LogQuery::default()
                })
                .await
                .is_err()
        );
    });
}

#[test]
fn rpc_and_identity_answer_like_the_real_thing() {
    let (w, clock) = world(8);
    let b = backends(&w, "staging");
    let config = config();
    let node_api = cluster(&config, "staging", "node-api");
    let satoshi = cluster(&config, "staging", "satoshi");
    run(async {
        let g1 = b.rpc.sample(&node_api.quorum_nodes[0], true).await;
        assert!(g1.reachable);
        let version = g1.client_version.value().expect("version");
        assert!(
            version.starts_with("Geth/v1.10.3-stable(quorum-v21.7.1-ibet."),
            "{version}"
        );
        let head = g1.block.expect("block");
        assert!(head > 1_000_000);
        let hash = b
            .rpc
            .block_hash_at(&node_api.quorum_nodes[0], head)
            .await
            .expect("hash");
        assert_eq!(hash, g1.block_hash);
        assert_eq!(hash.as_deref().map(str::len), Some(66));
        assert!(g1.validators.value().is_some_and(|v| v.len() == 4));
        assert_eq!(g1.proposers, Probe::NotAvailable);
        assert_eq!(g1.syncing, Probe::Value(None));
        assert!(g1.peers.value().is_some_and(|p| *p >= 4));
        let again = b.rpc.sample(&node_api.quorum_nodes[0], false).await;
        assert_eq!(again.client_version, Probe::NotAsked);

        let v1 = b.rpc.sample(&satoshi.quorum_nodes[0], false).await;
        let proposers = v1.proposers.value().expect("proposers");
        assert_eq!(proposers.len(), 4);
        assert_eq!(proposers.iter().map(|(_, n)| n).sum::<u64>(), 64);
        clock.advance(5_000);
        let later = b.rpc.sample(&satoshi.quorum_nodes[0], false).await;
        assert!(later.block > v1.block);
        assert!(later.block_time > v1.block_time);
        // Another node of the same chain agrees on hashes.
        let other = b
            .rpc
            .block_hash_at(&satoshi.quorum_nodes[2], head)
            .await
            .expect("hash");
        assert_eq!(other, hash);
        assert_eq!(
            b.rpc
                .block_hash_at(&satoshi.quorum_nodes[2], head + 10_000)
                .await
                .expect("hash"),
            None
        );

        let mut unknown = node_api.quorum_nodes[0].clone();
        unknown.rpc_url = "sim://staging/node-api/general-7".into();
        assert!(!b.rpc.sample(&unknown, true).await.reachable);

        let caller = b.identity.caller().await.expect("caller");
        assert_eq!(
            caller,
            "arn:aws:sts::123456789012:assumed-role/ibet-operator/demo"
        );
    });
}

#[test]
fn injected_faults_show_up_and_heal() {
    let (w, clock) = world(13);
    let b = backends(&w, "staging");
    let config = config();
    let bank = cluster(&config, "staging", "bank");
    let satoshi = cluster(&config, "staging", "satoshi");
    let fault = |f| w.inject("staging", f).expect("inject");
    run(async {
        // A general node falls behind: lag grows, eth_syncing shows progress.
        fault(Fault::NodeFallsBehind {
            cluster: "bank".into(),
            node: "general-2".into(),
            secs: 60,
        });
        clock.advance(50_000);
        let g2 = b.rpc.sample(&bank.quorum_nodes[1], false).await;
        let g1 = b.rpc.sample(&bank.quorum_nodes[0], false).await;
        let lag = g1.block.expect("g1") - g2.block.expect("g2");
        assert!(lag >= 12, "lag {lag}");
        let progress = g2.syncing.value().copied().flatten().expect("syncing");
        assert!(progress.remaining() > 0);
        clock.advance(60_000);
        let g2 = b.rpc.sample(&bank.quorum_nodes[1], false).await;
        assert_eq!(g2.syncing, Probe::Value(None));

        // A stalled node keeps answering with a frozen head and no syncing flag.
        fault(Fault::NodeStalls {
            cluster: "ibet-stg-bank".into(),
            node: "general-1".into(),
            secs: 30,
        });
        let before = b.rpc.sample(&bank.quorum_nodes[0], false).await;
        clock.advance(20_000);
        let during = b.rpc.sample(&bank.quorum_nodes[0], false).await;
        assert!(during.reachable);
        assert_eq!(during.block, before.block);
        assert_eq!(during.syncing, Probe::Value(None));

        // A validator stops producing: the proposer distribution shows it.
        fault(Fault::ValidatorStopsProducing {
            node: "validator-3".into(),
            secs: 200,
        });
        clock.advance(150_000);
        let v1 = b.rpc.sample(&satoshi.quorum_nodes[0], false).await;
        let proposers = v1.proposers.value().expect("proposers");
        let idle = &proposers[2];
        assert_eq!(idle.1, 0, "{proposers:?}");
        assert!(proposers.iter().filter(|(_, n)| *n > 10).count() == 3);

        // Tasks failing health checks.
        fault(Fault::TasksUnhealthy {
            cluster: "bank".into(),
            service: "api".into(),
            secs: 40,
        });
        clock.advance(1_000);
        let snap = b.ecs.snapshot("ibet-stg-bank").await.expect("snapshot");
        let api = snap.services.iter().find(|s| s.name == "api").expect("api");
        assert_eq!(api.health(snap.tasks_of("api")), Health::Degraded);
        assert!(snap.tasks_of("api").any(|t| t.health_status == "UNHEALTHY"));

        // A service with zero running tasks.
        fault(Fault::ServiceDown {
            cluster: "bank".into(),
            service: "notification".into(),
            secs: 60,
        });
        clock.advance(10_000);
        let snap = b.ecs.snapshot("ibet-stg-bank").await.expect("snapshot");
        let svc = snap
            .services
            .iter()
            .find(|s| s.name == "notification")
            .expect("svc");
        assert_eq!(svc.running, 0);
        assert_eq!(svc.health(snap.tasks_of("notification")), Health::Down);
        assert!(
            snap.tasks_of("notification")
                .any(|t| t.stopped_reason.as_deref() == Some("Essential container in task exited"))
        );

        // An unhealthy ALB target.
        let switch = bank.alb_switch.clone().expect("switch");
        let active = b.elb.read_switch(&switch).await.expect("view");
        let node = active.active().expect("active").to_string();
        fault(Fault::TargetUnhealthy {
            cluster: "bank".into(),
            node: node.clone(),
            secs: 20,
        });
        clock.advance(1_000);
        let view = b.elb.read_switch(&switch).await.expect("view");
        let member = view
            .members
            .iter()
            .find(|m| m.node == node)
            .expect("member");
        assert_eq!(member.health.as_deref(), Some("unhealthy"));

        // Everything heals.
        clock.advance(240_000);
        let mut healed = false;
        for _ in 0..120 {
            clock.advance(1_000);
            if well(&b, "staging").await.is_ok() {
                healed = true;
                break;
            }
        }
        assert!(healed, "{:?}", well(&b, "staging").await);

        assert!(matches!(
            w.inject(
                "staging",
                Fault::ServiceDown {
                    cluster: "bank".into(),
                    service: "nope".into(),
                    secs: 1
                }
            ),
            Err(BackendError::NotFound(_))
        ));
        assert!(
            w.inject(
                "development",
                Fault::ValidatorStopsProducing {
                    node: "validator-1".into(),
                    secs: 1
                }
            )
            .is_err()
        );
    });
}

#[test]
fn backends_exist_for_the_demo_environments_only() {
    let (w, _) = world(1);
    assert!(w.backends("production").is_some());
    assert!(w.backends("staging").is_some());
    assert!(w.backends("development").is_none());
}

/// The request path of one cluster: what the poller asks for, and what the world answers.
fn discover(b: &EnvBackends, c: &crate::config::Cluster) -> (ClusterSnapshot, PathTopology) {
    run(async {
        let snap = b.ecs.snapshot(&c.ecs_cluster).await.expect("snapshot");
        let groups = crate::path::target_groups_to_discover(Some(&snap), c.alb_switch.as_ref());
        let topology = b.elb.discover_paths(&groups).await.expect("discover");
        (snap, topology)
    })
}

#[test]
fn every_wallet_cluster_has_an_external_and_an_internal_alb() {
    use crate::model::alb::LoadBalancerScheme;
    let (w, clock) = world(5);
    clock.advance(30_000);
    let config = config();
    for env in ["production", "staging"] {
        let b = backends(&w, env);
        for c in &config.environment(env).expect("env").clusters {
            let (snap, topology) = discover(&b, c);
            if c.name == "satoshi" {
                assert!(
                    crate::path::target_groups_to_discover(Some(&snap), None).is_empty(),
                    "the validators are behind no load balancer"
                );
                continue;
            }
            let short = &c.ecs_cluster[5..8];
            let names: Vec<(&str, LoadBalancerScheme)> = topology
                .load_balancers
                .iter()
                .map(|lb| (lb.name.as_str(), lb.scheme))
                .collect();
            let ext = format!("ibet-{short}-{}-ext", c.name);
            let int = format!("ibet-{short}-{}-int", c.name);
            assert_eq!(
                names,
                [
                    (int.as_str(), LoadBalancerScheme::Internal),
                    (ext.as_str(), LoadBalancerScheme::InternetFacing)
                ],
                "{env}/{}",
                c.name
            );
            // Every registered target of a service is one of its running or draining
            // tasks, on the container port.
            for service in &snap.services {
                for tg in &service.target_groups {
                    let group = topology.target_group(&tg.arn).expect("group found");
                    assert_eq!(group.port, Some(tg.port));
                    let live = snap
                        .tasks_of(&service.name)
                        .filter(|t| matches!(t.last_status.as_str(), "RUNNING" | "DEACTIVATING"))
                        .count();
                    if !service.name.starts_with("quorum-") {
                        assert_eq!(group.targets.len(), live, "{}", service.name);
                    }
                    assert!(group.targets.iter().all(|t| t.port == Some(tg.port)));
                    let lb = topology
                        .load_balancer(&group.load_balancer_arns[0])
                        .expect("lb");
                    let facing = lb.scheme == LoadBalancerScheme::InternetFacing;
                    assert_eq!(facing, service.name == "nginx-proxy", "{}", service.name);
                }
            }
            // The internal ALB's :80 forwards to the Quorum route: the node groups with
            // the switch's weights (listener mode) or the shared group (targets mode).
            let switch = c.alb_switch.as_ref().expect("switch");
            let view = run(b.elb.read_switch(switch)).expect("switch");
            let internal = topology
                .load_balancers
                .iter()
                .find(|lb| lb.name == int)
                .expect("internal");
            let forwards = &internal.listeners[0].forwards_to;
            match switch.mode {
                SwitchMode::Listener => {
                    let weights: Vec<(String, Option<u32>)> = forwards
                        .iter()
                        .map(|f| (f.target_group_arn.clone(), f.weight))
                        .collect();
                    let expected: Vec<(String, Option<u32>)> = view
                        .members
                        .iter()
                        .map(|m| (m.target.clone(), m.weight))
                        .collect();
                    assert_eq!(weights, expected);
                }
                SwitchMode::Targets => {
                    let shared = switch.target_group_arn.clone().expect("group");
                    assert_eq!(forwards[0].target_group_arn, shared);
                    let registered: Vec<String> = topology
                        .target_group(&shared)
                        .expect("shared group")
                        .targets
                        .iter()
                        .map(|t| format!("{}:{}", t.id, t.port.unwrap_or(0)))
                        .collect();
                    let active = view.members.iter().find(|m| m.active).expect("active");
                    assert!(registered.contains(&active.target), "{registered:?}");
                }
            }
        }
    }
}

#[test]
fn target_health_follows_the_injected_faults() {
    let (w, clock) = world(21);
    clock.advance(30_000);
    let b = backends(&w, "production");
    let config = config();
    let issuer = cluster(&config, "production", "issuer");
    let fault = |f| w.inject("production", f).expect("inject");
    fault(Fault::TasksUnhealthy {
        cluster: "issuer".into(),
        service: "api".into(),
        secs: 60,
    });
    fault(Fault::TargetUnhealthy {
        cluster: "issuer".into(),
        node: "general-1".into(),
        secs: 60,
    });
    clock.advance(2_000);
    let (snap, topology) = discover(&b, issuer);
    let group_of = |service: &str| {
        let svc = snap
            .services
            .iter()
            .find(|s| s.name == service)
            .expect("service");
        topology
            .target_group(&svc.target_groups[0].arn)
            .expect("group")
    };
    let api = group_of("api");
    assert!(!api.targets.is_empty());
    for t in &api.targets {
        assert_eq!(t.state, "unhealthy");
        assert_eq!(t.reason.as_deref(), Some("Target.FailedHealthChecks"));
    }
    let general = group_of("quorum-general-1");
    assert_eq!(general.targets[0].state, "unhealthy");
    assert!(
        group_of("nginx-proxy")
            .targets
            .iter()
            .all(|t| t.state != "unhealthy")
    );
    // Over: the targets are healthy again.
    clock.advance(70_000);
    let (_, topology) = discover(&b, issuer);
    assert!(
        topology
            .target_group(&api.arn)
            .expect("api")
            .targets
            .iter()
            .all(crate::model::alb::TargetHealth::is_healthy)
    );

    let err = run(b.elb.discover_paths(&["arn:nope".into()])).expect_err("unknown group");
    assert!(matches!(err, BackendError::NotFound(_)), "{err}");
}

/// One round of what the console's pollers ask of an environment: every cluster's ECS
/// snapshot and switch, every node's sample, and the sync gate's hash look-up on the
/// general nodes. Returns the node samples.
async fn poll_like_the_console(b: &EnvBackends, env: &str) -> Vec<NodeSample> {
    let config = config();
    let mut samples = Vec::new();
    for c in &config.environment(env).expect("env").clusters {
        let _ = b.ecs.snapshot(&c.ecs_cluster).await;
        if let Some(switch) = &c.alb_switch {
            let _ = b.elb.read_switch(switch).await;
        }
        for node in &c.quorum_nodes {
            let sample = b.rpc.sample(node, samples.is_empty()).await;
            if let (Some(height), Some(_)) = (sample.block, c.alb_switch.as_ref()) {
                let _ = b.rpc.block_hash_at(node, height.saturating_sub(1)).await;
            }
            samples.push(sample);
        }
    }
    samples
}

/// Uneven steps of 137 to 613 ms, the same for every run.
fn uneven_steps() -> impl Iterator<Item = i64> {
    let mut rng = rng::SplitMix::new(0x5EED);
    std::iter::repeat_with(move || rng.range(137, 613))
}

/// Advances `clock` to `until` in uneven sub-second steps, polling both environments
/// like the console after every step.
fn poll_unevenly_until(w: &SimWorld, clock: &ManualClock, until: EpochMs) {
    let envs = [
        ("production", backends(w, "production")),
        ("staging", backends(w, "staging")),
    ];
    for step in uneven_steps() {
        let now = clock.now_ms();
        if now >= until {
            break;
        }
        clock.set((now + step).min(until));
        run(async {
            for (name, b) in &envs {
                poll_like_the_console(b, name).await;
            }
        });
    }
}

#[test]
fn uneven_sub_second_polling_keeps_heads_fresh() {
    let (w, clock) = world(21);
    let envs = [
        ("production", backends(&w, "production")),
        ("staging", backends(&w, "staging")),
    ];
    let best = |samples: &[NodeSample]| {
        samples
            .iter()
            .filter(|s| s.reachable)
            .max_by_key(|s| s.block)
            .map(|s| (s.block.unwrap_or(0), s.at - s.block_time.unwrap_or(0)))
            .expect("a node answers")
    };
    let first: Vec<u64> = envs
        .iter()
        .map(|(name, b)| best(&run(poll_like_the_console(b, name))).0)
        .collect();
    let mut polls = 0;
    let mut fresh = [0; 2];
    let mut elapsed = 0;
    let mut last = first.clone();
    for step in uneven_steps().take(1_500) {
        clock.advance(step);
        elapsed += step;
        polls += 1;
        for (i, (name, b)) in envs.iter().enumerate() {
            let (height, age) = best(&run(poll_like_the_console(b, name)));
            assert!(age >= 0, "{name}: head from the future ({age} ms)");
            if age <= 2_000 {
                fresh[i] += 1;
            }
            last[i] = height;
        }
    }
    for (i, (name, _)) in envs.iter().enumerate() {
        let rate = (last[i] - first[i]) as f64 * 1000.0 / elapsed as f64;
        eprintln!(
            "{name}: {:.3} blocks/s over {} s; best head at most 2 s old in {}/{polls} polls",
            rate,
            elapsed / 1000,
            fresh[i]
        );
        assert!(rate > 0.85, "{name}: {rate:.3} blocks/s");
        assert!(fresh[i] * 10 > polls * 9, "{name}: {}/{polls}", fresh[i]);
    }
}

#[test]
fn two_polling_rhythms_see_the_same_world() {
    let (busy, busy_clock) = world(5);
    let (idle, idle_clock) = world(5);
    let checkpoints = [97_000, 180_000, 333_000, 460_000, 601_000];
    for (i, at) in checkpoints.into_iter().enumerate() {
        // Sub-second, uneven, everything polled; against a look every 7 s.
        poll_unevenly_until(&busy, &busy_clock, T0 + at);
        while idle_clock.now_ms() + 7_000 < T0 + at {
            idle_clock.advance(7_000);
            let _ = run(backends(&idle, "staging").ecs.snapshot("ibet-stg-bank"));
        }
        idle_clock.set(T0 + at);
        for env in ["staging", "production"] {
            assert_eq!(
                observe(&busy, env),
                observe(&idle, env),
                "{env} at checkpoint {i}"
            );
        }
        if i == 1 {
            // The same mutations at the same time in both.
            for w in [&busy, &idle] {
                w.inject(
                    "staging",
                    Fault::NodeStalls {
                        cluster: "node-api".into(),
                        node: "general-2".into(),
                        secs: 40,
                    },
                )
                .expect("inject");
                w.inject(
                    "production",
                    Fault::ValidatorStopsProducing {
                        node: "validator-2".into(),
                        secs: 60,
                    },
                )
                .expect("inject");
            }
        }
    }
}

#[test]
fn concurrent_pollers_do_not_change_the_world() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let (polled, polled_clock) = world(9);
    let (jumped, jumped_clock) = world(9);
    let stop = Arc::new(AtomicBool::new(false));
    let pollers: Vec<_> = ["staging", "production"]
        .into_iter()
        .map(|env| {
            let w = polled.clone();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let b = backends(&w, env);
                let mut rounds = 0u32;
                while !stop.load(Ordering::SeqCst) {
                    run(poll_like_the_console(&b, env));
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    poll_unevenly_until(&polled, &polled_clock, T0 + 150_000);
    stop.store(true, Ordering::SeqCst);
    let rounds: Vec<u32> = pollers
        .into_iter()
        .map(|p| p.join().expect("poller"))
        .collect();
    eprintln!("concurrent poll rounds: {rounds:?}");
    jumped_clock.set(T0 + 150_000);
    for env in ["staging", "production"] {
        assert_eq!(observe(&polled, env), observe(&jumped, env), "{env}");
    }
}

#[test]
fn a_revision_naming_a_missing_parameter_cannot_start_its_tasks() {
    let (w, clock) = world(5);
    let b = backends(&w, "staging");
    let cluster = "ibet-stg-node-api";
    run(async {
        let revisions = b
            .ecs
            .task_definition_revisions("ibet-stg-node-api-batch")
            .await
            .expect("revisions");
        let (next, running) = (revisions[0].clone(), revisions[1].clone());
        b.ecs
            .update_service(
                cluster,
                "batch",
                &ServiceUpdate {
                    task_definition: Some(next.clone()),
                    force_new_deployment: false,
                },
            )
            .await
            .expect("release");
        clock.advance(60_000);
        let snap = b.ecs.snapshot(cluster).await.expect("snapshot");
        let stopped: Vec<_> = snap
            .tasks_of("batch")
            .filter(|t| t.task_definition == next)
            .collect();
        assert!(!stopped.is_empty());
        assert!(stopped.iter().all(|t| {
            t.is_stopped()
                && t.stopped_reason.as_deref().is_some_and(|r| {
                    r.starts_with(
                        "ResourceInitializationError: unable to pull secrets or registry auth",
                    ) && r.ends_with("/batch/slack-webhook-url")
                })
        }));
        let batch = snap
            .services
            .iter()
            .find(|s| s.name == "batch")
            .expect("batch");
        // No circuit breaker: the rollout goes on failing while the old task serves.
        assert_eq!(batch.deployments[0].rollout, Rollout::InProgress);
        assert!(batch.deployments[0].failed >= 2);
        assert!(
            snap.tasks_of("batch")
                .any(|t| t.task_definition == running && t.is_running())
        );
    });
}

#[test]
fn a_circuit_breaker_with_rollback_puts_the_previous_revision_back() {
    use crate::model::ecs::CircuitBreaker;
    use crate::ops::release::{RolloutPhase, WaitUntil, rollout_failure, rollout_phase};
    let (w, clock) = world(5);
    let b = backends(&w, "staging");
    let cluster = "ibet-stg-node-api";
    run(async {
        let revisions = b
            .ecs
            .task_definition_revisions("ibet-stg-node-api-notification")
            .await
            .expect("revisions");
        let (next, running) = (revisions[0].clone(), revisions[1].clone());
        w.inject(
            "staging",
            Fault::ReleaseFails {
                cluster: "node-api".into(),
                service: "notification".into(),
                secs: 600,
            },
        )
        .expect("inject");
        let since = clock.now_ms();
        b.ecs
            .update_service(
                cluster,
                "notification",
                &ServiceUpdate {
                    task_definition: Some(next.clone()),
                    force_new_deployment: false,
                },
            )
            .await
            .expect("release");
        let notification = |snap: &ClusterSnapshot| {
            snap.services
                .iter()
                .find(|s| s.name == "notification")
                .cloned()
                .expect("notification")
        };
        let mut rolled_back = None;
        for _ in 0..120 {
            clock.advance(1_000);
            let s = notification(&b.ecs.snapshot(cluster).await.expect("snapshot"));
            assert_eq!(s.circuit_breaker, CircuitBreaker::Rollback);
            if s.task_definition == running {
                rolled_back = Some(s);
                break;
            }
        }
        let s = rolled_back.expect("ECS's circuit breaker rolls back");
        assert!(
            s.deployments
                .iter()
                .any(|d| d.task_definition == next && d.rollout == Rollout::Failed)
        );
        assert!(
            s.events
                .iter()
                .any(|e| e.message.contains("rolling back to deployment"))
        );
        for until in [WaitUntil::Deployed, WaitUntil::Stable] {
            assert_eq!(rollout_phase(&s, &next, until), RolloutPhase::Failed);
        }
        let why = rollout_failure(&s, &next, &running, since).expect("a reason");
        assert!(
            why.starts_with("ECS deployment circuit breaker: 3 tasks failed to start; ECS put"),
            "{why}"
        );
        // The rollback rolls out and the service settles on the previous revision.
        let mut settled = false;
        for _ in 0..120 {
            clock.advance(1_000);
            let s = notification(&b.ecs.snapshot(cluster).await.expect("snapshot"));
            if rollout_phase(&s, &running, WaitUntil::Stable) == RolloutPhase::Completed {
                settled = true;
                break;
            }
        }
        assert!(settled, "the rollback completes");
    });
}

#[test]
fn a_bad_release_trips_the_circuit_breaker_and_a_rollback_recovers() {
    let (w, clock) = world(5);
    let b = backends(&w, "staging");
    let cluster = "ibet-stg-node-api";
    run(async {
        let revisions = b
            .ecs
            .task_definition_revisions("ibet-stg-node-api-api")
            .await
            .expect("revisions");
        let (next, running) = (revisions[0].clone(), revisions[1].clone());
        w.inject(
            "staging",
            Fault::ReleaseFails {
                cluster: "node-api".into(),
                service: "api".into(),
                secs: 600,
            },
        )
        .expect("inject");
        let to = |td: &str| ServiceUpdate {
            task_definition: Some(td.to_string()),
            force_new_deployment: false,
        };
        b.ecs
            .update_service(cluster, "api", &to(&next))
            .await
            .expect("release");
        let mut failed_after = None;
        for second in 1..=90 {
            clock.advance(1_000);
            let snap = b.ecs.snapshot(cluster).await.expect("snapshot");
            let api = snap.services.iter().find(|s| s.name == "api").expect("api");
            if api.deployments[0].rollout == Rollout::Failed {
                failed_after = Some(second);
                assert_eq!(api.task_definition, next);
                assert!(api.deployments[0].failed >= 3);
                assert_eq!(api.running, 2, "the old tasks keep serving");
                assert!(
                    api.events
                        .iter()
                        .any(|e| e.message.contains("deployment failed"))
                );
                break;
            }
        }
        let secs = failed_after.expect("the circuit breaker trips");
        assert!(secs <= 60, "took {secs}s");
        // No more launches of the failed deployment.
        clock.advance(30_000);
        let snap = b.ecs.snapshot(cluster).await.expect("snapshot");
        assert!(
            !snap
                .tasks_of("api")
                .any(|t| t.task_definition == next && !t.is_stopped())
        );

        b.ecs
            .update_service(cluster, "api", &to(&running))
            .await
            .expect("rollback");
        let mut completed = false;
        for _ in 0..60 {
            clock.advance(1_000);
            let snap = b.ecs.snapshot(cluster).await.expect("snapshot");
            let api = snap.services.iter().find(|s| s.name == "api").expect("api");
            if api.rollout() == Rollout::Completed {
                assert_eq!(api.task_definition, running);
                assert_eq!(api.running, 2);
                completed = true;
                break;
            }
        }
        assert!(completed, "the rollback rolls out although the fault lasts");
    });
}

/// The demo's metrics follow its incidents: the active general node falling behind
/// raises the API's 5xx and p95 and its alarm; a bad release raises the service's CPU
/// and its alarm. Both end with the incident.
#[test]
fn metrics_and_alarms_follow_the_incidents() {
    use crate::model::metrics::{MINUTE_MS, Metric, MetricKey, Scope, keys_for_cluster};
    let (w, clock) = world(11);
    let b = backends(&w, "staging");
    let config = config();
    let node_api = cluster(&config, "staging", "node-api");
    run(async {
        let snap = b
            .ecs
            .snapshot(&node_api.ecs_cluster)
            .await
            .expect("snapshot");
        let groups =
            crate::path::target_groups_to_discover(Some(&snap), node_api.alb_switch.as_ref());
        let topology = b.elb.discover_paths(&groups).await.expect("paths");
        let services: Vec<String> = snap.services.iter().map(|s| s.name.clone()).collect();
        let keys = keys_for_cluster(
            &node_api.ecs_cluster,
            &services,
            Some(&topology),
            &node_api.path_resources(),
        );
        let api_group = |metric| {
            keys.iter()
                .find(|k| {
                    k.metric == metric
                        && matches!(&k.scope, Scope::TargetGroup { target_group, load_balancer }
                            if target_group.contains("-api/") && load_balancer.contains("-int/"))
                })
                .cloned()
                .expect("the API's target group")
        };
        let asked = [
            api_group(Metric::Requests),
            api_group(Metric::Target5xx),
            api_group(Metric::ResponseP95),
            MetricKey::service(&node_api.ecs_cluster, "api", Metric::Cpu),
        ];
        // The newest whole minute of each key.
        let newest = || async {
            let now = clock.now_ms();
            let end = now - now.rem_euclid(MINUTE_MS);
            let series = b
                .metrics
                .metric_data(&asked, end - 5 * MINUTE_MS, end)
                .await
                .expect("metrics");
            series
                .iter()
                .map(|s| s.last().map(|(_, v)| *v))
                .collect::<Vec<_>>()
        };
        let quiet = newest().await;
        let (requests, p95) = (quiet[0].expect("requests"), quiet[2].expect("p95"));
        assert!(
            requests > 0.0 && quiet[1].is_none(),
            "no 5xx when quiet: {quiet:?}"
        );
        assert!(p95 < 0.5, "{quiet:?}");
        assert!(quiet[3].expect("cpu") < 60.0);
        let alarms = b.metrics.alarms(None).await.expect("alarms");
        assert!(
            alarms.iter().all(|a| !a.name.contains("node-api-api")),
            "{alarms:?}"
        );

        w.inject(
            "staging",
            Fault::NodeFallsBehind {
                cluster: "node-api".into(),
                node: "general-1".into(),
                secs: 600,
            },
        )
        .expect("inject");
        clock.advance(3 * MINUTE_MS);
        let lagging = newest().await;
        let share = lagging[1].expect("5xx") / lagging[0].expect("requests");
        assert!(share > 0.05, "5xx above 5 %: {lagging:?}");
        assert!(lagging[2].expect("p95") > 1.0, "p95 above 1 s: {lagging:?}");
        let alarms = b
            .metrics
            .alarms(Some("ibet-stg-node-api"))
            .await
            .expect("alarms");
        assert_eq!(
            alarms.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            ["ibet-stg-node-api-api-5xx"]
        );
        assert!(alarms[0].since <= clock.now_ms());

        w.inject(
            "staging",
            Fault::ServiceDown {
                cluster: "node-api".into(),
                service: "api".into(),
                secs: 240,
            },
        )
        .expect("inject");
        clock.advance(2 * MINUTE_MS);
        assert!(newest().await[3].expect("cpu") > 90.0, "CPU runs hot");
        let alarms = b
            .metrics
            .alarms(Some("ibet-stg-node-api"))
            .await
            .expect("alarms");
        assert!(
            alarms
                .iter()
                .any(|a| a.name == "ibet-stg-node-api-api-cpu-high"),
            "{alarms:?}"
        );

        // Both incidents over: quiet again, no alarm.
        clock.advance(12 * MINUTE_MS);
        let after = newest().await;
        assert!(
            after[1].is_none() && after[2].expect("p95") < 0.5,
            "{after:?}"
        );
        let alarms = b
            .metrics
            .alarms(Some("ibet-stg-node-api"))
            .await
            .expect("alarms");
        assert!(alarms.is_empty(), "{alarms:?}");
    });
}
