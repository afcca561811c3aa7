//! The action lock around an op: which scopes it needs, and the lease held while it runs.
//!
//! An op locks its scope ([`LockScope`]): `ENV/CLUSTER` for a switch of the cluster's
//! internal ALB, `ENV/CLUSTER/SERVICE` for the ECS ops. A switch also conflicts with
//! the service locks of the cluster's general nodes, and an op on a general node's
//! service with the cluster's switch. The [`Lease`] is taken just before the executor
//! plans for the last time (a conditional write; with conflicts, one consistent read
//! after it, so of two conflicting ops taken at once at least one sees the other and
//! backs off), renewed in the background every third of the lease and once more right
//! before the mutating call, and released after the verification. A lease whose renewal
//! failed is lost: the executor makes no further AWS call for that op.
//!
//! [`lock_check`] is the plan's look at the locks (one list of the environment's locks),
//! so a held lock refuses the op before the operator is asked to confirm. The store
//! itself is `backend::lock`; nothing here writes the audit or draws.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::{Check, Mutation, Op, OpContext, Plan, Verification};
use crate::backend::lock::{LockError, LockRecord, LockStore};
use crate::clock::SharedClock;
use crate::config::Environment;
use crate::model::quorum::NodeRole;

/// The scope an op locks, and the scopes it must not run beside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockScope {
    /// The lock taken: `ENV/CLUSTER` or `ENV/CLUSTER/SERVICE`.
    pub id: String,
    /// Scopes held by others that refuse this op too.
    pub conflicts: Vec<String>,
}

impl LockScope {
    /// Whether a lock on `lock_id` stands in this op's way.
    pub fn blocked_by(&self, lock_id: &str) -> bool {
        self.id == lock_id || self.conflicts.iter().any(|c| c == lock_id)
    }
}

/// The scope of `op` in `environment` (the cluster's general nodes decide the conflicts).
pub fn scope(op: &Op, environment: &Environment) -> LockScope {
    let cluster_id = format!("{}/{}", op.env(), op.cluster());
    let general_services: Vec<&str> = environment
        .clusters
        .iter()
        .find(|c| c.name == op.cluster())
        .filter(|c| c.alb_switch.is_some())
        .map(|c| {
            c.quorum_nodes
                .iter()
                .filter(|n| n.role == NodeRole::General)
                .filter_map(|n| n.service.as_deref())
                .collect()
        })
        .unwrap_or_default();
    match op.service() {
        None => LockScope {
            conflicts: general_services
                .iter()
                .map(|s| format!("{cluster_id}/{s}"))
                .collect(),
            id: cluster_id,
        },
        Some(service) => LockScope {
            id: format!("{cluster_id}/{service}"),
            conflicts: if general_services.contains(&service) {
                vec![cluster_id]
            } else {
                Vec::new()
            },
        },
    }
}

/// This host's name: the kernel's, else `HOSTNAME`, else `localhost`.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "localhost".to_string())
}

/// `held by alice@bastion-2: release api → ibet-api:43, since 40s ago (staging/node-api/api)`.
pub fn held_text(record: &LockRecord, now: i64) -> String {
    format!("held by {} ({})", record.describe(now), record.lock_id)
}

/// The plan's look at the locks: passes when no live lock of another run stands in the
/// op's way; fails naming the holder, or the store's problem, otherwise. One list call.
pub async fn lock_check(
    op: &Op,
    environment: &Environment,
    store: &dyn LockStore,
    now_ms: i64,
) -> Check {
    let scope = scope(op, environment);
    let now = now_ms.div_euclid(1000);
    match store.list(&format!("{}/", op.env())).await {
        Ok(records) => {
            let live = records
                .iter()
                .find(|r| scope.blocked_by(&r.lock_id) && !r.expired(now));
            match live {
                Some(record) => {
                    let error = LockError::Held(Box::new(record.clone()));
                    let check = Check::fail("lock", held_text(record, now));
                    match error.hint() {
                        Some(hint) => check.detail(hint),
                        None => check,
                    }
                }
                None => Check::pass("lock", format!("free ({})", scope.id)),
            }
        }
        Err(e) => {
            let check = Check::fail("lock", e.to_string());
            match e.hint() {
                Some(hint) => check.detail(hint),
                None => check,
            }
        }
    }
}

/// Plans breaking `lock_id`: it must be held (a check naming the holder and whether its
/// lease has expired); the change says whose lock goes.
pub(super) async fn plan_break(plan: &mut Plan, lock_id: &str, ctx: &OpContext) {
    let env = &ctx.environment.name;
    if !lock_id.starts_with(&format!("{env}/")) {
        plan.check(Check::fail("lock", lock_id).detail(format!(
            "a lock of `{env}` starts with `{env}/` (see `ibet-console locks --env {env}`)"
        )));
        return;
    }
    let now = ctx.clock.now_ms().div_euclid(1000);
    let found = match ctx.backends.locks.list(lock_id).await {
        Ok(found) => found.into_iter().find(|r| r.lock_id == lock_id),
        Err(e) => {
            let check = Check::fail("lock", e.to_string());
            plan.check(match e.hint() {
                Some(hint) => check.detail(hint),
                None => check,
            });
            return;
        }
    };
    let Some(held) = found else {
        plan.check(
            Check::fail("lock", format!("{lock_id} is not held"))
                .detail(format!("see `ibet-console locks --env {env}`")),
        );
        return;
    };
    let lease = if held.expired(now) {
        format!(
            "its lease ran out {} ago",
            crate::clock::short_duration(now.saturating_sub(held.expires_at).saturating_mul(1000))
        )
    } else {
        format!(
            "its lease runs {} more",
            crate::clock::short_duration(held.expires_at.saturating_sub(now).saturating_mul(1000))
        )
    };
    plan.check(Check::pass("lock", held_text(&held, now)).detail(lease));
    plan.change(format!(
        "break the lock {lock_id} of {} (caller {}): {}, since {} ago",
        held.owner,
        held.caller_arn,
        held.action,
        crate::clock::short_duration(now.saturating_sub(held.since).saturating_mul(1000))
    ));
    plan.warn(
        "the holder's op may still be running: its next renewal fails and it stops before \
         its next AWS call"
            .to_string(),
    );
    plan.set_action(
        Mutation::BreakLock {
            lock_id: lock_id.to_string(),
        },
        Verification::LockBroken {
            lock_id: lock_id.to_string(),
            owner: held.owner,
            since: held.since,
        },
    );
}

/// Reads the lock back after a break: gone, or held by another run than the one broken.
pub(super) async fn verify_broken(
    store: &dyn LockStore,
    lock_id: &str,
    owner: &str,
    since: i64,
) -> Result<String, String> {
    let found = store
        .list(lock_id)
        .await
        .map_err(|e| format!("could not read the lock back: {e}"))?;
    match found.into_iter().find(|r| r.lock_id == lock_id) {
        None => Ok(format!("{lock_id} is free")),
        Some(r) if r.owner != owner || r.since != since => Ok(format!(
            "{lock_id} is free of {owner}; {} took it since",
            r.owner
        )),
        Some(_) => Err(format!("{lock_id} is still held by {owner}")),
    }
}

/// A lock this run holds: renewed in the background until released or dropped.
#[derive(Debug)]
pub struct Lease {
    store: Arc<dyn LockStore>,
    record: LockRecord,
    term_secs: i64,
    clock: SharedClock,
    lost: Arc<Mutex<Option<String>>>,
    renewer: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for dyn LockStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.place())
    }
}

/// What a run puts in its lock: who, what, for how long.
#[derive(Debug, Clone)]
pub struct LeaseRequest {
    /// The scope.
    pub scope: LockScope,
    /// `user@host`.
    pub owner: String,
    /// The AWS caller identity, or `unknown`.
    pub caller_arn: String,
    /// The op in one line.
    pub action: String,
    /// Unique to the run.
    pub token: String,
    /// The lease, seconds.
    pub lease_secs: u64,
}

impl Lease {
    /// Takes the lock of `request.scope`, then (with conflicts) reads the environment's
    /// locks once and gives the lock back when a conflicting one is held.
    pub async fn take(
        store: Arc<dyn LockStore>,
        request: LeaseRequest,
        clock: SharedClock,
    ) -> Result<Self, LockError> {
        let now = clock.now_ms().div_euclid(1000);
        let lease_secs = i64::try_from(request.lease_secs).unwrap_or(i64::MAX / 2);
        let record = LockRecord {
            lock_id: request.scope.id.clone(),
            owner: request.owner,
            caller_arn: request.caller_arn,
            action: request.action,
            since: now,
            expires_at: now.saturating_add(lease_secs),
            token: request.token,
        };
        store.acquire(&record, now).await?;
        if !request.scope.conflicts.is_empty() {
            let prefix = format!("{}/", record.lock_id.split('/').next().unwrap_or_default());
            let found = match store.list(&prefix).await {
                Ok(found) => found,
                Err(e) => {
                    let _ = store.release(&record).await;
                    return Err(e);
                }
            };
            if let Some(other) = found
                .into_iter()
                .find(|r| request.scope.conflicts.contains(&r.lock_id) && !r.expired(now))
            {
                let _ = store.release(&record).await;
                return Err(LockError::Held(Box::new(other)));
            }
        }
        let lost = Arc::new(Mutex::new(None));
        let renewer = tokio::spawn(renew_forever(
            Arc::clone(&store),
            record.clone(),
            lease_secs,
            Arc::clone(&clock),
            Arc::clone(&lost),
        ));
        Ok(Self {
            store,
            record,
            term_secs: lease_secs,
            clock,
            lost,
            renewer,
        })
    }

    /// The lock as stored.
    pub fn record(&self) -> &LockRecord {
        &self.record
    }

    /// Why the lease was lost, when a renewal failed.
    pub fn lost(&self) -> Option<String> {
        self.lost
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Renews now (right before the mutating call): `Err` says why the lock is not ours.
    pub async fn confirm(&self) -> Result<(), String> {
        if let Some(why) = self.lost() {
            return Err(why);
        }
        let now = self.clock.now_ms().div_euclid(1000);
        match self
            .store
            .renew(&self.record, now.saturating_add(self.term_secs))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => {
                let why = renewal_failed(&e);
                *self.lost.lock().unwrap_or_else(PoisonError::into_inner) = Some(why.clone());
                Err(why)
            }
        }
    }

    /// Stops renewing and releases the lock.
    pub async fn release(self) -> Result<(), LockError> {
        self.renewer.abort();
        self.store.release(&self.record).await
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

fn renewal_failed(e: &LockError) -> String {
    format!("the lock's renewal failed: {e}")
}

/// Renews every third of the lease until a renewal fails (then says why and stops).
async fn renew_forever(
    store: Arc<dyn LockStore>,
    record: LockRecord,
    lease_secs: i64,
    clock: SharedClock,
    lost: Arc<Mutex<Option<String>>>,
) {
    let every = Duration::from_secs((lease_secs.max(3) / 3).unsigned_abs());
    loop {
        tokio::time::sleep(every).await;
        let now = clock.now_ms().div_euclid(1000);
        if let Err(e) = store.renew(&record, now.saturating_add(lease_secs)).await {
            *lost.lock().unwrap_or_else(PoisonError::into_inner) = Some(renewal_failed(&e));
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::lock::MemoryLocks;
    use crate::clock::ManualClock;

    fn demo_env() -> Environment {
        crate::backend::sim::demo_config()
            .environments
            .into_iter()
            .find(|e| e.clusters.iter().any(|c| c.alb_switch.is_some()))
            .expect("an environment with a switch")
    }

    fn switch_and_general_service(env: &Environment) -> (Op, Op) {
        let cluster = env
            .clusters
            .iter()
            .find(|c| c.alb_switch.is_some())
            .expect("switch");
        let node = cluster
            .quorum_nodes
            .iter()
            .find(|n| n.role == NodeRole::General && n.service.is_some())
            .expect("general node with a service");
        (
            Op::SwitchAlb {
                env: env.name.clone(),
                cluster: cluster.name.clone(),
                to: node.name.clone(),
            },
            Op::ForceDeploy {
                env: env.name.clone(),
                cluster: cluster.name.clone(),
                service: node.service.clone().expect("service"),
            },
        )
    }

    fn request(scope: LockScope, owner: &str) -> LeaseRequest {
        LeaseRequest {
            scope,
            owner: owner.into(),
            caller_arn: "unknown".into(),
            action: "test".into(),
            token: owner.into(),
            lease_secs: 30,
        }
    }

    #[test]
    fn a_switch_conflicts_with_its_general_nodes_services() {
        let env = demo_env();
        let (switch, deploy) = switch_and_general_service(&env);
        let switch_scope = scope(&switch, &env);
        let deploy_scope = scope(&deploy, &env);
        assert_eq!(
            switch_scope.id,
            format!("{}/{}", env.name, switch.cluster())
        );
        assert!(switch_scope.blocked_by(&deploy_scope.id));
        assert!(deploy_scope.blocked_by(&switch_scope.id));
    }

    #[tokio::test(start_paused = true)]
    async fn a_switch_backs_off_from_a_held_service_lock() {
        let env = demo_env();
        let (switch, deploy) = switch_and_general_service(&env);
        let store: Arc<dyn LockStore> = Arc::new(MemoryLocks::default());
        let clock: SharedClock = Arc::new(ManualClock::new(1_000_000));
        let held = Lease::take(
            Arc::clone(&store),
            request(scope(&deploy, &env), "bob@b2"),
            Arc::clone(&clock),
        )
        .await
        .expect("service lock");
        let refused = Lease::take(
            Arc::clone(&store),
            request(scope(&switch, &env), "alice@b1"),
            Arc::clone(&clock),
        )
        .await;
        match refused {
            Err(LockError::Held(r)) => assert_eq!(r.owner, "bob@b2"),
            other => panic!("expected held, got {other:?}"),
        }
        // The switch gave its own lock back.
        assert_eq!(store.list("").await.expect("list").len(), 1);
        let check = lock_check(&switch, &env, store.as_ref(), 1_010_000).await;
        assert!(!check.passed);
        assert!(check.value.contains("bob@b2"), "{}", check.value);
        held.release().await.expect("release");
        assert!(
            lock_check(&switch, &env, store.as_ref(), 1_010_000)
                .await
                .passed
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_renewal_loses_the_lease() {
        let memory = Arc::new(MemoryLocks::default());
        let store: Arc<dyn LockStore> = memory.clone();
        let clock: SharedClock = Arc::new(ManualClock::new(1_000_000));
        let scope = LockScope {
            id: "stg/node-api/api".into(),
            conflicts: Vec::new(),
        };
        let lease = Lease::take(store, request(scope, "alice@b1"), clock)
            .await
            .expect("lock");
        lease.confirm().await.expect("still ours");
        let mut other = lease.record().clone();
        other.owner = "bob@b2".into();
        other.token = "b".into();
        memory.put(other);
        tokio::time::sleep(Duration::from_secs(11)).await;
        let why = lease.lost().expect("lost");
        assert!(why.contains("bob@b2"), "{why}");
        assert!(lease.confirm().await.is_err());
    }
}
