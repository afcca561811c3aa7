//! `release` and `rollback`: move a service to another revision of its task definition,
//! and optionally follow the rollout.
//!
//! Both read the service and its family's active revisions first, to pick the target:
//! `release --latest` the newest revision, `--revision N` that one; `rollback` the
//! previous PRIMARY deployment's task definition while ECS still lists it, else the
//! revision before the running one ([`crate::ops::release::rollback_target`]). The plan
//! then carries the preview the operator confirms: the running revision, the newer ones,
//! and the diff with secret values masked. `--watch` reads the service every few seconds
//! and prints the deployments, their task counts and the new service events until the
//! rollout is what `--wait-until` asks for (deployed, or stable: the default), fails (a
//! rollback by ECS's circuit breaker too, with ECS's reason), or `--watch-timeout`
//! passes; a failed rollout prints the exact command that goes back. A plan whose checks
//! of what the target names failed is refused before anything is asked, unless
//! `--override-checks` asks for the override and its second confirmation. Nothing here
//! makes a mutating call: the executor does.

use std::collections::HashSet;
use std::time::Duration;

use serde::Serialize;

use super::{
    Console, Prepared, command_line, confirm_and_execute_holding, human, plan_and_print, prepare,
    refuse,
};
use crate::cli::{GlobalOpts, ReleaseArgs, RollbackArgs, WatchOpts, exit};
use crate::clock::EpochMs;
use crate::config::closest;
use crate::model::ecs::{
    Deployment, Service, ServiceEvent, short_task_definition, task_definition_revision,
};
use crate::ops::release::{
    RollbackSource, RolloutPhase, WaitUntil, back_op, rollback_target, rollout_failure,
    rollout_phase, task_definition_family,
};
use crate::ops::{Check, Op, Outcome, Readiness};
use crate::session::Session;
use crate::text::sanitize;

/// Runs `release`; returns the exit code.
pub async fn run_release(
    session: &Session,
    global: &GlobalOpts,
    args: &ReleaseArgs,
    console: &mut Console,
) -> i32 {
    let (prepared, service, revisions) =
        match prepare_service(session, global, &args.cluster, &args.service, console).await {
            Ok(found) => found,
            Err(code) => return code,
        };
    let family = task_definition_family(&service.task_definition).to_string();
    let target = if let Some(n) = args.revision {
        revision_arn(&revisions, &family, n)
    } else if let Some(newest) = revisions.first() {
        newest.clone()
    } else {
        console.say(format!(
            "ibet-console: the family {family} has no active revision"
        ));
        return exit::INVALID;
    };
    let op = Op::Release {
        env: prepared.ctx.environment.name.clone(),
        cluster: args.cluster.clone(),
        service: args.service.clone(),
        to_task_definition: target,
    };
    release_and_watch(console, &prepared, global, &op, &service, &args.watch, args).await
}

/// Runs `rollback`; returns the exit code.
pub async fn run_rollback(
    session: &Session,
    global: &GlobalOpts,
    args: &RollbackArgs,
    console: &mut Console,
) -> i32 {
    let (prepared, service, revisions) =
        match prepare_service(session, global, &args.cluster, &args.service, console).await {
            Ok(found) => found,
            Err(code) => return code,
        };
    let family = task_definition_family(&service.task_definition).to_string();
    let target = if let Some(n) = args.revision {
        revision_arn(&revisions, &family, n)
    } else if let Some(target) = rollback_target(&service, &revisions) {
        console.say(format!(
            "Rolling back to {}: {}",
            short_task_definition(&target.task_definition),
            match target.source {
                RollbackSource::PreviousDeployment => {
                    "the task definition of the previous PRIMARY deployment"
                }
                RollbackSource::PreviousRevision => "the revision before the running one",
            }
        ));
        console.record("rollback_target", &target);
        target.task_definition
    } else {
        console.say(format!(
            "Refused: nothing to roll back to: {} is the oldest active revision of {family} and ECS lists no earlier deployment",
            service.task_definition_short()
        ));
        return exit::REFUSED;
    };
    let op = Op::Rollback {
        env: prepared.ctx.environment.name.clone(),
        cluster: args.cluster.clone(),
        service: args.service.clone(),
        to_task_definition: target,
    };
    release_and_watch(console, &prepared, global, &op, &service, &args.watch, args).await
}

/// The confirmation flags of either command.
trait ActionArgs {
    fn action(&self) -> &crate::cli::ActionOpts;
    /// `--override-checks`.
    fn override_checks(&self) -> bool;
}

impl ActionArgs for ReleaseArgs {
    fn action(&self) -> &crate::cli::ActionOpts {
        &self.action
    }

    fn override_checks(&self) -> bool {
        self.override_checks
    }
}

impl ActionArgs for RollbackArgs {
    fn action(&self) -> &crate::cli::ActionOpts {
        &self.action
    }

    fn override_checks(&self) -> bool {
        self.override_checks
    }
}

/// Plans, confirms and executes `op`, then follows the rollout with `--watch`.
async fn release_and_watch(
    console: &mut Console,
    prepared: &Prepared,
    global: &GlobalOpts,
    op: &Op,
    before: &Service,
    watch: &WatchOpts,
    args: &impl ActionArgs,
) -> i32 {
    let plan = match plan_and_print(console, prepared, op, global).await {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    // A failed check refuses here, before anything is asked, unless overridden.
    let override_checks = plan.readiness == Readiness::NeedsOverride;
    if override_checks && !args.override_checks() {
        let failed: Vec<String> = plan.failed_checks().map(Check::line).collect();
        let reason = format!(
            "a check of what {} names failed: {}",
            short_task_definition(
                plan.release
                    .as_ref()
                    .map_or_else(|| op.target(), |p| p.target.clone())
                    .as_str()
            ),
            failed.join("; ")
        );
        let hint = Some(
            "fix what is missing and try again; to go on anyway, add --override-checks (it takes a second confirmation and is audited as an override)"
                .to_string(),
        );
        return refuse(console, prepared, &plan, reason, hint).await;
    }
    if override_checks {
        console.say(
            "--override-checks: going on despite the failed checks takes a second confirmation.",
        );
    }
    let (code, mut report, lease) =
        confirm_and_execute_holding(console, prepared, &plan, args.action(), override_checks).await;
    // The lock is held through the watch: nobody else rolls this service meanwhile.
    let (watch_lease, lease) = if watch.watching() {
        (lease, None)
    } else {
        (None, lease)
    };
    if let Some(lease) = lease {
        crate::ops::release_into(lease, &mut report).await;
    }
    if report.outcome != Outcome::Ok || !watch.watching() {
        return code;
    }
    let code = watch_and_say(console, prepared, global, op, before, watch, &plan, code).await;
    if let Some(lease) = watch_lease
        && let Err(e) = lease.release().await
    {
        console.say(format!(
            "the lock was not released: {}",
            sanitize(&e.to_string())
        ));
    }
    code
}

/// Follows the rollout `op` started and says how it ended; returns the exit code.
#[allow(clippy::too_many_arguments)]
async fn watch_and_say(
    console: &mut Console,
    prepared: &Prepared,
    global: &GlobalOpts,
    op: &Op,
    before: &Service,
    watch: &WatchOpts,
    plan: &crate::ops::Plan,
    code: i32,
) -> i32 {
    let (Op::Release {
        to_task_definition: target,
        ..
    }
    | Op::Rollback {
        to_task_definition: target,
        ..
    }) = op
    else {
        return code;
    };
    // The executor moved the service to the ARN the plan resolved.
    let target = plan
        .release
        .as_ref()
        .map_or_else(|| target.clone(), |p| p.target.clone());
    let back = back_op(op, &before.task_definition);
    let end = watch_rollout(console, prepared, before, &target, watch).await;
    match end {
        WatchEnd::Phase(RolloutPhase::Completed) => exit::OK,
        WatchEnd::RolledBack => {
            console.say(format!(
                "The rollout of {} failed, and ECS's circuit breaker put {} back: nothing to roll back.",
                short_task_definition(&target),
                short_task_definition(&before.task_definition)
            ));
            exit::DEGRADED
        }
        WatchEnd::Phase(_) => {
            console.say(format!(
                "The rollout of {} failed. To go back to {}:",
                short_task_definition(&target),
                short_task_definition(&before.task_definition)
            ));
            console.say(format!("  {}", command_line(global, &back)));
            console.record("back_command", &command_line(global, &back));
            exit::DEGRADED
        }
        WatchEnd::TimedOut => {
            console.say(format!(
                "The rollout of {} was not {} within {}; it goes on in ECS. To go back to {}:",
                short_task_definition(&target),
                watch.until().as_str(),
                human(watch.watch_timeout),
                short_task_definition(&before.task_definition)
            ));
            console.say(format!("  {}", command_line(global, &back)));
            console.record("back_command", &command_line(global, &back));
            exit::DEGRADED
        }
    }
}

/// Prepares the op context of `cluster` and reads `service` and its family's
/// revisions; on failure says why and gives the exit code.
async fn prepare_service(
    session: &Session,
    global: &GlobalOpts,
    cluster: &str,
    service: &str,
    console: &mut Console,
) -> Result<(Prepared, Service, Vec<String>), i32> {
    let prepared = prepare(session, global, cluster, console)?;
    let (service, revisions) = read_service(console, &prepared, service).await?;
    Ok((prepared, service, revisions))
}

/// The service (read from ECS) and the active revisions of its task definition's family,
/// newest first. Prints what is wrong and returns exit code 2 otherwise.
async fn read_service(
    console: &mut Console,
    prepared: &Prepared,
    name: &str,
) -> Result<(Service, Vec<String>), i32> {
    let ecs = &prepared.ctx.backends.ecs;
    let ecs_cluster = &prepared.cluster.ecs_cluster;
    let snapshot = match ecs.snapshot(ecs_cluster).await {
        Ok(snapshot) => snapshot,
        Err(e) => {
            console.say(format!("ibet-console: cannot read {ecs_cluster}: {e}"));
            if let Some(hint) = e.hint() {
                console.say(format!("  hint: {hint}"));
            }
            return Err(exit::INVALID);
        }
    };
    let Some(service) = snapshot.services.iter().find(|s| s.name == name) else {
        let names: Vec<&str> = snapshot.services.iter().map(|s| s.name.as_str()).collect();
        let hint = closest(name, &names).map_or_else(
            || format!("services: {}", names.join(", ")),
            |near| format!("did you mean `{near}`?"),
        );
        console.say(format!(
            "ibet-console: no service `{name}` in {ecs_cluster}; {hint}"
        ));
        return Err(exit::INVALID);
    };
    let family = task_definition_family(&service.task_definition);
    let revisions = match ecs.task_definition_revisions(family).await {
        Ok(revisions) => revisions,
        Err(e) => {
            console.say(format!(
                "ibet-console: cannot list the revisions of {family}: {e}"
            ));
            if let Some(hint) = e.hint() {
                console.say(format!("  hint: {hint}"));
            }
            return Err(exit::INVALID);
        }
    };
    Ok((service.clone(), revisions))
}

/// The ARN of revision `n` among `revisions`, or `family:n` for the plan to look up.
fn revision_arn(revisions: &[String], family: &str, n: u32) -> String {
    revisions
        .iter()
        .find(|arn| task_definition_revision(arn) == Some(n))
        .cloned()
        .unwrap_or_else(|| format!("{family}:{n}"))
}

/// How a watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WatchEnd {
    /// The rollout completed or failed.
    Phase(RolloutPhase),
    /// The rollout failed and ECS put the task definition of before back.
    RolledBack,
    /// Still in progress at the deadline.
    TimedOut,
}

/// What `--watch` saw, for the JSON output.
#[derive(Debug, Serialize)]
struct RolloutReport {
    /// What the watch waited for: `deployed` or `stable`.
    wait_until: WaitUntil,
    /// `completed`, `failed`, `rolled_back` (failed, and ECS put the revision before
    /// back) or `timed_out`.
    phase: &'static str,
    /// Why it failed, in ECS's words when ECS gave them.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// Reads of the service.
    polls: u32,
    /// The deployments at the last read.
    deployments: Vec<Deployment>,
    /// The service events that appeared while watching, oldest first.
    events: Vec<ServiceEvent>,
}

/// Reads the service every `--watch-interval` and prints the deployments when they
/// change and each new service event, until the rollout to `target` is what
/// `--wait-until` asks for or fails, or `--watch-timeout` passes (on the session's
/// clock). `before` is the service as read before the op: its events are not new, and
/// its task definition is where ECS's circuit breaker would put it back.
async fn watch_rollout(
    console: &mut Console,
    prepared: &Prepared,
    before: &Service,
    target: &str,
    opts: &WatchOpts,
) -> WatchEnd {
    let (service, known_events) = (before.name.as_str(), &before.events);
    let until = opts.until();
    let clock = &prepared.ctx.clock;
    let ecs = &prepared.ctx.backends.ecs;
    let ecs_cluster = &prepared.cluster.ecs_cluster;
    let start = clock.now_ms();
    let deadline = start.saturating_add(millis(opts.watch_timeout));
    let mut seen: HashSet<(EpochMs, String)> = known_events
        .iter()
        .map(|e| (e.at, e.message.clone()))
        .collect();
    let mut report = RolloutReport {
        wait_until: until,
        phase: "timed_out",
        polls: 0,
        reason: None,
        deployments: Vec::new(),
        events: Vec::new(),
    };
    let mut last_summary = String::new();
    console.say(format!(
        "Watching the rollout of {service} to {} until {} ({}; a read every {}, for up to {}):",
        short_task_definition(target),
        until.as_str(),
        until.describe(),
        human(opts.watch_interval),
        human(opts.watch_timeout)
    ));
    let end = loop {
        let elapsed = format!(
            "+{}",
            human(Duration::from_secs(
                u64::try_from((clock.now_ms() - start) / 1000).unwrap_or(0)
            ))
        );
        report.polls += 1;
        match ecs.snapshot(ecs_cluster).await {
            Err(e) => console.say(format!("  [{elapsed}] cannot read {ecs_cluster}: {e}")),
            Ok(snapshot) => {
                let Some(found) = snapshot.services.iter().find(|s| s.name == service) else {
                    console.say(format!(
                        "  [{elapsed}] {service} is no longer listed in {ecs_cluster}"
                    ));
                    break WatchEnd::Phase(RolloutPhase::Failed);
                };
                for event in found.events.iter().rev() {
                    if seen.insert((event.at, event.message.clone())) {
                        console.say(format!("  [{elapsed}] event: {}", sanitize(&event.message)));
                        report.events.push(event.clone());
                    }
                }
                let summary = deployments_summary(found);
                if summary != last_summary {
                    console.say(format!("  [{elapsed}] {summary}"));
                    last_summary = summary;
                }
                report.deployments.clone_from(&found.deployments);
                match rollout_phase(found, target, until) {
                    RolloutPhase::InProgress => {}
                    RolloutPhase::Completed => {
                        let how = match until {
                            WaitUntil::Deployed => "deployed",
                            WaitUntil::Stable => "completed",
                        };
                        console.say(format!(
                            "Rollout {how}: {service} runs {} ({} of {} tasks running).",
                            short_task_definition(target),
                            found.running,
                            found.desired
                        ));
                        break WatchEnd::Phase(RolloutPhase::Completed);
                    }
                    RolloutPhase::Failed => {
                        let why = rollout_failure(found, target, &before.task_definition, start)
                            .unwrap_or_else(|| {
                                format!("{service} runs {}", found.task_definition_short())
                            });
                        console.say(format!("Rollout failed: {}", sanitize(&why)));
                        report.reason = Some(why);
                        if found.task_definition == before.task_definition {
                            break WatchEnd::RolledBack;
                        }
                        break WatchEnd::Phase(RolloutPhase::Failed);
                    }
                }
            }
        }
        if clock.now_ms() >= deadline {
            break WatchEnd::TimedOut;
        }
        tokio::time::sleep(opts.watch_interval).await;
    };
    report.phase = match end {
        WatchEnd::Phase(RolloutPhase::Completed) => "completed",
        WatchEnd::RolledBack => "rolled_back",
        WatchEnd::Phase(_) => "failed",
        WatchEnd::TimedOut => "timed_out",
    };
    console.record("rollout", &report);
    end
}

/// `service 1/2 running, 1 pending; PRIMARY ibet-api:43 in_progress 1/2 running, 1
/// pending, 0 failed; ACTIVE ibet-api:42 completed 1/2 running, 0 pending, 0 failed`.
fn deployments_summary(service: &Service) -> String {
    let mut parts = vec![format!(
        "service {}/{} running, {} pending",
        service.running, service.desired, service.pending
    )];
    for d in &service.deployments {
        parts.push(format!(
            "{} {} {} {}/{} running, {} pending, {} failed",
            d.status,
            short_task_definition(&d.task_definition),
            d.rollout.as_str(),
            d.running,
            d.desired,
            d.pending,
            d.failed
        ));
    }
    parts.join("; ")
}

fn millis(duration: Duration) -> EpochMs {
    EpochMs::try_from(duration.as_millis()).unwrap_or(EpochMs::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ecs::Rollout;

    #[test]
    fn going_back_swaps_release_and_rollback() {
        let release = Op::Release {
            env: "staging".into(),
            cluster: "node-api".into(),
            service: "api".into(),
            to_task_definition: "ibet-api:43".into(),
        };
        assert_eq!(
            back_op(&release, "ibet-api:42"),
            Op::Rollback {
                env: "staging".into(),
                cluster: "node-api".into(),
                service: "api".into(),
                to_task_definition: "ibet-api:42".into(),
            }
        );
        let rollback = back_op(&release, "ibet-api:42");
        assert!(matches!(
            back_op(&rollback, "ibet-api:43"),
            Op::Release { .. }
        ));
    }

    #[test]
    fn revisions_resolve_to_arns_when_listed() {
        let revisions = vec![
            "arn:aws:ecs:ap-northeast-1:1:task-definition/ibet-api:43".to_string(),
            "arn:aws:ecs:ap-northeast-1:1:task-definition/ibet-api:42".to_string(),
        ];
        assert_eq!(revision_arn(&revisions, "ibet-api", 42), revisions[1]);
        assert_eq!(revision_arn(&revisions, "ibet-api", 7), "ibet-api:7");
    }

    #[test]
    fn summaries_name_every_deployment() {
        let service = Service {
            name: "api".into(),
            desired: 2,
            running: 3,
            pending: 1,
            deployments: vec![
                Deployment {
                    status: "PRIMARY".into(),
                    task_definition: "arn:x:task-definition/ibet-api:43".into(),
                    rollout: Rollout::InProgress,
                    desired: 2,
                    running: 1,
                    pending: 1,
                    ..Deployment::default()
                },
                Deployment {
                    status: "ACTIVE".into(),
                    task_definition: "arn:x:task-definition/ibet-api:42".into(),
                    rollout: Rollout::Completed,
                    desired: 2,
                    running: 2,
                    ..Deployment::default()
                },
            ],
            ..Service::default()
        };
        assert_eq!(
            deployments_summary(&service),
            "service 3/2 running, 1 pending; PRIMARY ibet-api:43 in_progress 1/2 running, 1 pending, 0 failed; ACTIVE ibet-api:42 completed 2/2 running, 0 pending, 0 failed"
        );
    }
}
