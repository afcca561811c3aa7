//! `switch`: point a cluster's internal ALB at another Quorum general node.
//!
//! Plans the switch (what the ALB does now, the exact listener or target change, the
//! first poll of the sync gate), prints it, then polls the gate every `rpc_poll_secs`,
//! printing each poll's checks, until it has passed the configured number of polls in a
//! row or `--gate-timeout` runs out. A gate that did not pass refuses the switch, unless
//! `--override-gate` was given: then a second confirmation is asked for and the executor
//! records the switch as an override. The switch itself, its audit lines and its
//! verification (reading the ALB back) are the executor's. Nothing here calls ELBv2.

use std::time::Duration;

use super::{Console, Prepared, confirm_and_execute, human, plan_and_print, prepare, refuse};
use crate::cli::{GlobalOpts, SwitchArgs};
use crate::ops::gate::{GatePoll, GateTracker};
use crate::ops::switch::wait_for_gate;
use crate::ops::{Op, Readiness};
use crate::session::Session;
use crate::text::sanitize;

/// Runs `switch`; returns the exit code.
pub async fn run(
    session: &Session,
    global: &GlobalOpts,
    args: &SwitchArgs,
    console: &mut Console,
) -> i32 {
    let prepared = match prepare(session, global, &args.cluster, console) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let op = Op::SwitchAlb {
        env: prepared.ctx.environment.name.clone(),
        cluster: args.cluster.clone(),
        to: args.to.clone(),
    };
    let mut plan = match plan_and_print(console, &prepared, &op, global).await {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    let interval = Duration::from_secs(session.config.rpc_poll_secs.max(1));
    let mut polls: Vec<GatePoll> = Vec::new();
    if let Some(gate) = plan.gate.clone()
        && !gate.is_open()
    {
        console.say(format!(
            "Waiting for the sync gate: {} passing polls in a row, a poll every {}, for up to {}",
            gate.required(),
            human(interval),
            human(args.gate_timeout)
        ));
        if let Some(first) = gate.last() {
            console.say(poll_line(&gate, first));
            polls.push(first.clone());
        }
        let open = wait_for_gate(&mut plan, &prepared.ctx, interval, args.gate_timeout, |g| {
            if let Some(poll) = g.last() {
                console.say(poll_line(g, poll));
                polls.push(poll.clone());
            }
        })
        .await;
        console.record("gate_polls", &polls);
        if open {
            console.say("The sync gate passed.");
        } else if args.override_gate {
            console.say(format!(
                "The sync gate did not pass within {}; --override-gate: switching anyway takes a second confirmation.",
                human(args.gate_timeout)
            ));
        } else {
            return gate_refusal(console, &prepared, &plan, args).await;
        }
    }
    console.record("plan", &plan);
    let override_gate = plan.readiness == Readiness::NeedsOverride && args.override_gate;
    let (code, _) =
        confirm_and_execute(console, &prepared, &plan, &args.action, override_gate).await;
    code
}

/// Refuses a switch whose gate did not pass in time, naming the checks that failed.
async fn gate_refusal(
    console: &mut Console,
    prepared: &Prepared,
    plan: &crate::ops::Plan,
    args: &SwitchArgs,
) -> i32 {
    let failed: Vec<String> = plan.failed_checks().map(crate::ops::Check::line).collect();
    let reason = format!(
        "the sync gate did not pass within {}: {}",
        human(args.gate_timeout),
        failed.join("; ")
    );
    let hint = Some(
        "wait for the node to catch up and try again; to switch anyway, add --override-gate (it takes a second confirmation and is audited as an override)"
            .to_string(),
    );
    refuse(console, prepared, plan, reason, hint).await
}

/// One gate poll in a line: the count of passes in a row, then every check with its
/// value (`FAIL` before a failed one).
fn poll_line(gate: &GateTracker, poll: &GatePoll) -> String {
    let checks: Vec<String> = poll
        .checks
        .iter()
        .map(|c| {
            let mark = if c.passed { "" } else { "FAIL " };
            format!("{mark}{} {}", c.name, sanitize(&c.value))
        })
        .collect();
    format!(
        "  poll {:>2} [{}/{}] {}",
        gate.polls(),
        gate.consecutive().min(gate.required()),
        gate.required(),
        checks.join(" | ")
    )
}
