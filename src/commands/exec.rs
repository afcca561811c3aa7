//! `exec`: an interactive session in a running container (ECS Exec), from a shell.
//!
//! With `--service` it reads the cluster once to pick a running task of the service
//! (one with ExecuteCommand enabled when there is one) and says which; with `--task` it
//! reads that task (one DescribeTasks), which names its service. The plan checks the
//! AWS CLI and the Session Manager plugin on `PATH`, the task's state, ExecuteCommand
//! and the container (each failure names its fix, and nothing runs); a danger
//! environment asks for its name; then the executor audits, runs `aws ecs
//! execute-command --interactive` on this terminal, and audits its exit status. Nothing
//! here calls ECS but through the backend traits.

use super::{
    Console, Prepared, approval, confirmation_hint, plan_and_print, prepare, print_report,
};
use crate::cli::{ExecArgs, GlobalOpts, exit};
use crate::ops::exec::{Attach, pick_task, run_attached};
use crate::ops::{Approval, Op, Outcome, task_id};
use crate::session::Session;

/// Runs `exec`; returns the exit code.
pub async fn run(
    session: &Session,
    global: &GlobalOpts,
    args: &ExecArgs,
    console: &mut Console,
) -> i32 {
    if global.demo {
        console.say(
            "ibet-console: exec is not available in the demo world: it has no containers to \
             open a session in (in a real environment it runs aws ecs execute-command)",
        );
        return exit::INVALID;
    }
    let prepared = match prepare(session, global, &args.cluster, console) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let (service, task) = match target(&prepared, args, console).await {
        Ok(found) => found,
        Err(code) => return code,
    };
    let op = Op::Exec {
        env: prepared.ctx.environment.name.clone(),
        cluster: args.cluster.clone(),
        service,
        task,
        container: args.container.clone(),
        command: args.command.clone(),
    };
    let plan = match plan_and_print(console, &prepared, &op, global).await {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    // A danger environment takes its name; elsewhere opening a session is the whole
    // request (nothing in ECS changes).
    let approval = if plan.danger {
        let hint = confirmation_hint(&plan, &args.action, false);
        match approval(console, &plan, &args.action, false) {
            Ok(approval) => approval,
            Err(reason) => {
                let mut report = prepared
                    .executor
                    .refuse_plan(&plan, &prepared.ctx, reason)
                    .await;
                report.hint = report.hint.or(hint);
                return print_report(console, &prepared, &report);
            }
        }
    } else {
        Approval::yes()
    };
    console.say("Session (the AWS CLI's own output follows):");
    let runner: crate::ops::SessionRunner<'_> =
        Box::new(|command| Box::pin(async move { run_attached(&command, Attach::Terminal).await }));
    let mut report = prepared
        .executor
        .execute_session(&plan, &approval, &prepared.ctx, runner)
        .await;
    if report.outcome == Outcome::Refused && report.hint.is_none() {
        report.hint = confirmation_hint(&plan, &args.action, false);
    }
    print_report(console, &prepared, &report)
}

/// The service and task the session goes to: `--task`'s service, or a running task of
/// `--service` (said on the console). Exit code 2 when there is none.
async fn target(
    prepared: &Prepared,
    args: &ExecArgs,
    console: &mut Console,
) -> Result<(String, String), i32> {
    let ecs_cluster = &prepared.cluster.ecs_cluster;
    let ecs = &prepared.ctx.backends.ecs;
    let cannot_read = |console: &mut Console, e: &crate::backend::BackendError| {
        console.say(format!(
            "ibet-console: cannot read ECS cluster {ecs_cluster}: {e}"
        ));
        if let Some(hint) = e.hint() {
            console.say(format!("  hint: {hint}"));
        }
        exit::INVALID
    };
    if let Some(task) = &args.task {
        // The task alone (one DescribeTasks) names its service.
        let found = match ecs.task(ecs_cluster, task).await {
            Ok(found) => found,
            Err(e) => return Err(cannot_read(console, &e)),
        };
        let Some(found) = found else {
            console.say(format!(
                "ibet-console: no task `{}` in {ecs_cluster}",
                task_id(task)
            ));
            return Err(exit::INVALID);
        };
        let Some(service) = found.service.clone() else {
            console.say(format!(
                "ibet-console: task `{}` belongs to no service",
                found.id
            ));
            return Err(exit::INVALID);
        };
        if let Some(named) = &args.service
            && named != &service
        {
            console.say(format!(
                "ibet-console: task `{}` belongs to {service}, not {named}",
                found.id
            ));
            return Err(exit::INVALID);
        }
        return Ok((service, found.id.clone()));
    }
    let snapshot = match ecs.snapshot(ecs_cluster).await {
        Ok(snapshot) => snapshot,
        Err(e) => return Err(cannot_read(console, &e)),
    };
    let Some(service) = args.service.clone() else {
        return Err(exit::INVALID);
    };
    if !snapshot.services.iter().any(|s| s.name == service) {
        let names: Vec<&str> = snapshot.services.iter().map(|s| s.name.as_str()).collect();
        console.say(format!(
            "ibet-console: no service `{service}` in {ecs_cluster}; its services: {}",
            names.join(", ")
        ));
        return Err(exit::INVALID);
    }
    let (picked, running) = pick_task(&snapshot, &service);
    let Some(task) = picked.map(|t| t.id.clone()) else {
        console.say(format!(
            "ibet-console: {service} has no RUNNING task to open a session in"
        ));
        return Err(exit::INVALID);
    };
    let another = if running > 1 {
        "; pass --task ID for another"
    } else {
        ""
    };
    console.say(format!(
        "Task: {task} of {service} ({running} running{another})"
    ));
    Ok((service, task))
}
