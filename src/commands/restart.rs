//! `restart`: stop one task of a service (ECS starts a replacement), or force a new
//! deployment that replaces every task of it.
//!
//! The plan carries the guards: a validator is refused while another validator of its
//! chain is down or not producing; restarting the general node the internal ALB forwards
//! to warns and names the `switch` to run first; a service in the middle of a deployment
//! warns. The stop reason the executor sends names the OS user. Nothing here calls ECS.

use super::{Console, confirm_and_execute, plan_and_print, prepare};
use crate::cli::{GlobalOpts, RestartArgs};
use crate::ops::Op;
use crate::session::Session;

/// Runs `restart`; returns the exit code.
pub async fn run(
    session: &Session,
    global: &GlobalOpts,
    args: &RestartArgs,
    console: &mut Console,
) -> i32 {
    let prepared = match prepare(session, global, &args.cluster, console) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let env = prepared.ctx.environment.name.clone();
    let op = match &args.task {
        Some(task) => Op::StopTask {
            env,
            cluster: args.cluster.clone(),
            service: args.service.clone(),
            task: task.clone(),
        },
        None => Op::ForceDeploy {
            env,
            cluster: args.cluster.clone(),
            service: args.service.clone(),
        },
    };
    let plan = match plan_and_print(console, &prepared, &op, global).await {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    let (code, _) = confirm_and_execute(console, &prepared, &plan, &args.action, false).await;
    code
}
