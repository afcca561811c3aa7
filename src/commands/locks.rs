//! `locks` and `unlock`: the action locks of the environments, and breaking one.
//!
//! `locks` reads each environment's lock store once (one Scan of the team's table, or
//! the host's lock files) and prints who holds which scope, doing what, since when, and
//! whether the lease has run out (a console that died); `--json` prints the same as a
//! contract. `unlock` is an op like the others ([`Op::BreakLock`]): planned (the holder
//! named), confirmed (the typed name on a danger environment), audited before and after
//! with the holder's details, executed once and read back. Nothing here draws.

use serde::Serialize;

use super::{Console, confirm_and_execute, plan_and_print, prepare};
use crate::backend::lock::LockRecord;
use crate::cli::{GlobalOpts, UnlockArgs, exit};
use crate::clock::short_duration;
use crate::ops::Op;
use crate::session::Session;
use crate::text::sanitize;

/// One environment's locks, as `locks --json` prints them.
#[derive(Debug, Serialize)]
struct EnvLocks {
    environment: String,
    /// The table or folder read.
    store: String,
    /// Whether every console of the team sees these locks (false: this host only).
    shared: bool,
    locks: Vec<ListedLock>,
    /// Why the store could not be read, with the hint.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// A lock with its judgement at the time of reading.
#[derive(Debug, Serialize)]
struct ListedLock {
    #[serde(flatten)]
    record: LockRecord,
    expired: bool,
}

/// Runs `locks`; exit 0, or 2 when a store could not be read.
pub async fn run_locks(session: &Session, console: &mut Console) -> i32 {
    let now = session.clock.now_ms().div_euclid(1000);
    let mut listed = Vec::new();
    let mut code = exit::OK;
    for (environment, backends) in session.config.environments.iter().zip(&session.backends) {
        let store = &backends.locks;
        let mut entry = EnvLocks {
            environment: environment.name.clone(),
            store: store.place(),
            shared: store.shared(),
            locks: Vec::new(),
            error: None,
        };
        match store.list(&format!("{}/", environment.name)).await {
            Ok(records) => {
                entry.locks = records
                    .into_iter()
                    .map(|record| ListedLock {
                        expired: record.expired(now),
                        record,
                    })
                    .collect();
            }
            Err(e) => {
                code = exit::INVALID;
                entry.error = Some(match e.hint() {
                    Some(hint) => format!("{e}; hint: {hint}"),
                    None => e.to_string(),
                });
            }
        }
        listed.push(entry);
    }
    for entry in &listed {
        let scope = if entry.shared {
            ""
        } else {
            " (this host only)"
        };
        console.say(format!("{} — {}{scope}", entry.environment, entry.store));
        if let Some(error) = &entry.error {
            console.say(format!("  cannot read: {}", sanitize(error)));
        } else if entry.locks.is_empty() {
            console.say("  no locks held");
        }
        for lock in &entry.locks {
            let r = &lock.record;
            let lease = if lock.expired {
                format!(
                    "EXPIRED {} ago",
                    short_duration(now.saturating_sub(r.expires_at).saturating_mul(1000))
                )
            } else if r.expires_at == i64::MAX {
                "held while its console runs".to_string()
            } else {
                format!(
                    "lease {} left",
                    short_duration(r.expires_at.saturating_sub(now).saturating_mul(1000))
                )
            };
            console.say(format!(
                "  {}  {}  {}  since {} ago  {lease}",
                sanitize(&r.lock_id),
                sanitize(&r.owner),
                sanitize(&r.action),
                short_duration(now.saturating_sub(r.since).saturating_mul(1000)),
            ));
        }
    }
    console.record("environments", &listed);
    code
}

/// Runs `unlock`: plans, confirms and executes breaking the lock; returns the exit code.
pub async fn run_unlock(
    session: &Session,
    global: &GlobalOpts,
    args: &UnlockArgs,
    console: &mut Console,
) -> i32 {
    let Some(cluster) = args.lock.split('/').nth(1).filter(|c| !c.is_empty()) else {
        console.say(format!(
            "ibet-console: `{}` is not a lock id: ENV/CLUSTER or ENV/CLUSTER/SERVICE, as `locks` lists them",
            sanitize(&args.lock)
        ));
        return exit::INVALID;
    };
    let prepared = match prepare(session, global, cluster, console) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let op = Op::BreakLock {
        env: prepared.ctx.environment.name.clone(),
        lock: args.lock.clone(),
    };
    let plan = match plan_and_print(console, &prepared, &op, global).await {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    let (code, _) = confirm_and_execute(console, &prepared, &plan, &args.action, false).await;
    code
}
