//! Benchmarks of the overview's hot paths with a large cluster selected (200 services,
//! 2,000 tasks, nine Quorum nodes with five minutes of history): drawing one frame on a
//! ratatui `TestBackend` at 160x48 and 200x50, and applying one poll's worth of messages
//! (a new snapshot of every cluster and a sample of every node) with `update`.
//!
//! The target is at most 2 ms per overview frame. It measures only; it asserts nothing.
//!
//! `render overview with metrics` draws the same state after one CloudWatch read: CPU and
//! memory with half-hour sparklines for the 200 services, and a request path (external
//! ALB → nginx → internal ALB → api, a WAF, a database and a queue) with its numbers;
//! its difference to `render overview` is what the metrics add to a frame (target:
//! at most 0.5 ms).

#![allow(missing_docs)]

#[path = "support/big_world.rs"]
mod big_world;

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ibet_console::app::update;
use ibet_console::ui::{Theme, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use big_world::{T0, big_state, config, poll_messages};

fn render_overview(c: &mut Criterion) {
    let state = big_state();
    let theme = Theme::default_theme();
    let mut group = c.benchmark_group("render overview (200 services, 2000 tasks)");
    for (w, h) in [(160, 48), (200, 50)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        group.bench_function(format!("{w}x{h}"), |b| {
            b.iter(|| {
                terminal
                    .draw(|f| {
                        render(black_box(&state), &theme, f);
                    })
                    .expect("draw");
            });
        });
    }
    group.finish();
}

/// [`big_state`] after the selected cluster's load balancers and one CloudWatch read of
/// every series its views need (30 one-minute points each).
fn big_state_with_metrics() -> ibet_console::app::State {
    use ibet_console::app::{ClusterAddr, Msg};
    use ibet_console::model::alb::{
        LoadBalancerScheme, PathLoadBalancer, PathTargetGroup, PathTopology, TargetHealth,
    };
    use ibet_console::model::ecs::TargetGroupRef;
    use ibet_console::model::metrics::{MINUTE_MS, PathResources, keys_for_cluster};
    use ibet_console::world::Observation;

    let mut state = big_state();
    let at = ClusterAddr { env: 0, cluster: 0 };
    let mut snapshot = state.world.envs[0].clusters[0]
        .ecs
        .data
        .clone()
        .expect("the big cluster");
    let arn = |kind: &str, name: &str| {
        format!(
            "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:{kind}/{name}/0123456789abcdef"
        )
    };
    let (ext, int) = (
        arn("loadbalancer", "app/ext"),
        arn("loadbalancer", "app/int"),
    );
    let mut groups = Vec::new();
    for (i, service) in snapshot.services.iter_mut().enumerate() {
        let behind = if service.name.starts_with("nginx-proxy") {
            &ext
        } else if service.name.starts_with("api") {
            &int
        } else {
            continue;
        };
        // One group per kind: the first nginx and the first api.
        if groups.iter().any(|(_, lb): &(String, String)| lb == behind) {
            continue;
        }
        let group = arn("targetgroup", &format!("tg-{i}"));
        service.target_groups.push(TargetGroupRef {
            arn: group.clone(),
            container: service.name.clone(),
            port: 80,
        });
        groups.push((group, behind.clone()));
    }
    let topology = PathTopology {
        load_balancers: [
            (&ext, LoadBalancerScheme::InternetFacing),
            (&int, LoadBalancerScheme::Internal),
        ]
        .into_iter()
        .map(|(arn, scheme)| PathLoadBalancer {
            arn: arn.clone(),
            name: arn.rsplit('/').nth(1).unwrap_or_default().to_string(),
            scheme,
            ..PathLoadBalancer::default()
        })
        .collect(),
        target_groups: groups
            .iter()
            .map(|(group, lb)| PathTargetGroup {
                arn: group.clone(),
                name: group.rsplit('/').nth(1).unwrap_or_default().to_string(),
                port: Some(80),
                load_balancer_arns: vec![lb.clone()],
                targets: vec![TargetHealth {
                    id: "10.0.0.1".into(),
                    port: Some(80),
                    state: "healthy".into(),
                    ..TargetHealth::default()
                }],
                ..PathTargetGroup::default()
            })
            .collect(),
    };
    let resources = PathResources {
        waf_web_acl: Some("waf".into()),
        rds_instances: vec!["db".into()],
        sqs_queues: vec!["queue".into()],
    };
    state.world.envs[0].clusters[0].resources = resources.clone();
    let services: Vec<String> = snapshot.services.iter().map(|s| s.name.clone()).collect();
    let keys = keys_for_cluster("ibet-stg-node-api", &services, Some(&topology), &resources);
    let end = T0 - T0.rem_euclid(MINUTE_MS);
    let batch = keys
        .into_iter()
        .enumerate()
        .map(|(k, key)| {
            let points = (0..30_i64)
                .map(|m| {
                    (
                        end - (30 - m) * MINUTE_MS,
                        ((k as i64 * 7 + m * 3) % 97) as f64,
                    )
                })
                .collect();
            (key, points)
        })
        .collect();
    for observation in [
        Observation::Ecs {
            at,
            result: Ok(snapshot),
            when: T0,
        },
        Observation::Paths {
            at,
            result: Ok(topology),
            when: T0,
        },
        Observation::Metrics {
            env: 0,
            result: Ok(batch),
            when: T0,
        },
    ] {
        update(&mut state, Msg::Observed(observation));
    }
    state
}

fn render_overview_with_metrics(c: &mut Criterion) {
    let theme = Theme::default_theme();
    let plain = big_state();
    let with_metrics = big_state_with_metrics();
    let mut group = c.benchmark_group("render overview with metrics (200 services)");
    for (w, h) in [(80, 24), (160, 48), (200, 50)] {
        for (name, state) in [("without", &plain), ("with", &with_metrics)] {
            let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
            group.bench_function(format!("{w}x{h} {name}"), |b| {
                b.iter(|| {
                    terminal
                        .draw(|f| {
                            render(black_box(state), &theme, f);
                        })
                        .expect("draw");
                });
            });
        }
    }
    group.finish();
}

fn apply_poll(c: &mut Criterion) {
    let config = config();
    let mut state = big_state();
    let mut generation = 0_u64;
    let mut group = c.benchmark_group("update");
    group.bench_function(
        "one poll: every cluster's snapshot and every node's sample",
        |b| {
            b.iter_batched(
                || {
                    generation += 1;
                    poll_messages(&config, T0 + generation as i64 * 1000, generation)
                },
                |msgs| {
                    for m in msgs {
                        black_box(update(&mut state, m));
                    }
                },
                BatchSize::LargeInput,
            );
        },
    );
    group.finish();
}

criterion_group!(
    benches,
    render_overview,
    render_overview_with_metrics,
    apply_poll
);
criterion_main!(benches);
