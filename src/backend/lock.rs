//! The action lock's store: one op per scope at a time, across consoles.
//!
//! A lock is a [`LockRecord`] keyed by its scope (`ENV/CLUSTER` for a switch,
//! `ENV/CLUSTER/SERVICE` for the ECS ops). Three stores implement [`LockStore`]: a
//! DynamoDB table shared by every operator (`backend::aws::locks`), a folder of
//! `flock`ed files that guards the consoles of one host ([`HostLocks`]), and an
//! in-memory table for the demo world and tests ([`MemoryLocks`]). They share one
//! contract: a lock is taken when the scope is free or its lease has expired (judged by
//! `expires_at` against the caller's clock, never by a store's own expiry), renewed and
//! released only by the run that holds it (its `owner` and `token`), and broken only on
//! an operator's explicit request. Which scopes an op needs, and when to renew, is the
//! executor's business (`ops::lock`); nothing here plans, confirms or draws.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::BackendError;

/// One held lock, as stored. The DynamoDB item has exactly these attributes (`since` and
/// `expires_at` as numbers, epoch seconds); runbooks and other tools may read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    /// The scope: `ENV/CLUSTER` or `ENV/CLUSTER/SERVICE`.
    pub lock_id: String,
    /// Who holds it: `user@host`.
    pub owner: String,
    /// The holder's AWS caller identity (ARN), or `unknown`.
    pub caller_arn: String,
    /// What the holder is doing, in one line.
    pub action: String,
    /// When it was taken, epoch seconds.
    pub since: i64,
    /// When the lease ends unless renewed, epoch seconds.
    pub expires_at: i64,
    /// Tells two runs of one `owner` apart (two consoles of one user on one host);
    /// renewals and releases are conditioned on it.
    #[serde(default)]
    pub token: String,
}

impl LockRecord {
    /// Whether the lease has run out at `now` (epoch seconds).
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at < now
    }

    /// `alice@bastion-2: release api → ibet-api:43, since 40s` at `now`.
    pub fn describe(&self, now: i64) -> String {
        format!(
            "{}: {}, since {} ago",
            self.owner,
            self.action,
            crate::clock::short_duration(now.saturating_sub(self.since).saturating_mul(1000))
        )
    }
}

/// Why a lock was not taken, renewed, released or broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// Another run holds the scope and its lease has not expired.
    #[error("{} is held by {}", .0.lock_id, .0.owner)]
    Held(Box<LockRecord>),
    /// The lock is no longer this run's (taken over after its lease, or broken).
    #[error("the lock {lock_id} is no longer ours: {detail}")]
    Lost {
        /// The scope.
        lock_id: String,
        /// What was found instead.
        detail: String,
    },
    /// The store could not be used; `place` names it (the table, the folder).
    #[error("the lock store {place} cannot be used: {source}")]
    Store {
        /// The table or folder.
        place: String,
        /// The permission the call needs, e.g. `dynamodb:PutItem`.
        permission: &'static str,
        /// What failed.
        source: Box<BackendError>,
    },
}

impl LockError {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Held(_) => Some(
                "wait for it to finish; a console that died leaves a lock that expires \
                 after its lease (`ibet-console locks`, or `ibet-console unlock` to break it)"
                    .into(),
            ),
            Self::Lost { .. } => Some(
                "another console took the lock over (`ibet-console locks`); look at the \
                 resource before trying again"
                    .into(),
            ),
            Self::Store {
                place,
                permission,
                source,
            } => Some(match source.as_ref() {
                BackendError::NotFound(_) => format!(
                    "create {place} (see the README's Team section), or remove lock_table \
                     from the environment's [team] to use a host-local lock"
                ),
                BackendError::AccessDenied { .. } => format!(
                    "the IAM policy must allow `{permission}` on {place} (see the README's \
                     Team section)"
                ),
                other => other
                    .hint()
                    .unwrap_or_else(|| format!("check {place} and the permission {permission}")),
            }),
        }
    }
}

/// Where locks are kept. Times are epoch seconds from the caller's clock.
#[async_trait]
pub trait LockStore: Send + Sync {
    /// The store in words: `DynamoDB table ibet-console-locks`, `lock files in /run/…`.
    fn place(&self) -> String;
    /// Whether every console of the team sees these locks (false: this host only).
    fn shared(&self) -> bool;
    /// Takes `record.lock_id` when it is free or expired at `now`.
    async fn acquire(&self, record: &LockRecord, now: i64) -> Result<(), LockError>;
    /// Moves the lease of a lock this run holds to `expires_at`.
    async fn renew(&self, record: &LockRecord, expires_at: i64) -> Result<(), LockError>;
    /// Releases a lock this run holds.
    async fn release(&self, record: &LockRecord) -> Result<(), LockError>;
    /// Every lock whose scope starts with `prefix` (`ENV/`), expired ones included.
    async fn list(&self, prefix: &str) -> Result<Vec<LockRecord>, LockError>;
    /// Removes `lock_id` whoever holds it; returns what was there.
    async fn break_lock(&self, lock_id: &str) -> Result<Option<LockRecord>, LockError>;
}

/// Locks in memory: the demo world's table and the tests'. Same rules as the table.
#[derive(Debug, Default)]
pub struct MemoryLocks {
    items: Mutex<BTreeMap<String, LockRecord>>,
}

impl MemoryLocks {
    fn items(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, LockRecord>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `record` as it is, whoever holds the scope (tests: a console that died, an
    /// item changed under a run).
    pub fn put(&self, record: LockRecord) {
        self.items().insert(record.lock_id.clone(), record);
    }
}

fn lost(lock_id: &str, found: Option<&LockRecord>) -> LockError {
    LockError::Lost {
        lock_id: lock_id.to_string(),
        detail: found.map_or_else(
            || "it was removed".to_string(),
            |r| format!("it is held by {} now", r.owner),
        ),
    }
}

#[async_trait]
impl LockStore for MemoryLocks {
    fn place(&self) -> String {
        "the demo world's lock table".into()
    }

    fn shared(&self) -> bool {
        true
    }

    async fn acquire(&self, record: &LockRecord, now: i64) -> Result<(), LockError> {
        let mut items = self.items();
        if let Some(held) = items.get(&record.lock_id)
            && !held.expired(now)
        {
            return Err(LockError::Held(Box::new(held.clone())));
        }
        items.insert(record.lock_id.clone(), record.clone());
        Ok(())
    }

    async fn renew(&self, record: &LockRecord, expires_at: i64) -> Result<(), LockError> {
        let mut items = self.items();
        match items.get_mut(&record.lock_id) {
            Some(held) if held.owner == record.owner && held.token == record.token => {
                held.expires_at = expires_at;
                Ok(())
            }
            other => Err(lost(&record.lock_id, other.as_deref())),
        }
    }

    async fn release(&self, record: &LockRecord) -> Result<(), LockError> {
        let mut items = self.items();
        match items.get(&record.lock_id) {
            Some(held) if held.owner == record.owner && held.token == record.token => {
                items.remove(&record.lock_id);
                Ok(())
            }
            other => Err(lost(&record.lock_id, other)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<LockRecord>, LockError> {
        Ok(self
            .items()
            .values()
            .filter(|r| r.lock_id.starts_with(prefix))
            .cloned()
            .collect())
    }

    async fn break_lock(&self, lock_id: &str) -> Result<Option<LockRecord>, LockError> {
        Ok(self.items().remove(lock_id))
    }
}

/// Locks as `flock`ed files in one folder: they guard the consoles of one host. The
/// kernel drops a lock when its process ends, so a lease never needs to expire here; the
/// file holds the record (JSON) for others to name the holder.
#[derive(Debug)]
pub struct HostLocks {
    dir: PathBuf,
    held: Mutex<HashMap<String, File>>,
}

impl HostLocks {
    /// Lock files in `dir` (created when first needed).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            held: Mutex::new(HashMap::new()),
        }
    }

    /// `$XDG_RUNTIME_DIR/ibet-console/locks`, else `locks` in the state or data folder.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(run) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(run).join("ibet-console").join("locks"));
        }
        let dirs = directories::ProjectDirs::from("", "", "ibet-console")?;
        let base = dirs.state_dir().unwrap_or_else(|| dirs.data_dir());
        Some(base.join("locks"))
    }

    fn path(&self, lock_id: &str) -> PathBuf {
        let name: String = lock_id
            .chars()
            .map(|c| match c {
                '/' => '+',
                c if c.is_ascii_alphanumeric() || "-_.@".contains(c) => c,
                _ => '_',
            })
            .collect();
        self.dir.join(format!("{name}.lock"))
    }

    fn store_error(&self, permission: &'static str, e: &std::io::Error) -> LockError {
        LockError::Store {
            place: self.place(),
            permission,
            source: Box::new(BackendError::Other(e.to_string())),
        }
    }

    fn open(&self, path: &Path) -> Result<File, LockError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| self.store_error("write access", &e))?;
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options
            .open(path)
            .map_err(|e| self.store_error("write access", &e))
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, File>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The record in a lock file; `None` when it is empty or torn.
fn read_record(file: &mut File) -> Option<LockRecord> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

/// A holder that has not written its record yet (it is between its lock and its write).
fn unknown_holder(lock_id: &str, now: i64) -> LockRecord {
    LockRecord {
        lock_id: lock_id.to_string(),
        owner: "another console on this host".into(),
        caller_arn: "unknown".into(),
        action: "unknown".into(),
        since: now,
        expires_at: i64::MAX,
        token: String::new(),
    }
}

fn write_record(file: &mut File, record: &LockRecord) -> std::io::Result<()> {
    let text = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&text)?;
    file.flush()
}

#[async_trait]
impl LockStore for HostLocks {
    fn place(&self) -> String {
        format!("the lock files in {}", self.dir.display())
    }

    fn shared(&self) -> bool {
        false
    }

    async fn acquire(&self, record: &LockRecord, now: i64) -> Result<(), LockError> {
        let path = self.path(&record.lock_id);
        let mut file = self.open(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder =
                    read_record(&mut file).unwrap_or_else(|| unknown_holder(&record.lock_id, now));
                return Err(LockError::Held(Box::new(LockRecord {
                    // A flock never expires while its process runs.
                    expires_at: i64::MAX,
                    ..holder
                })));
            }
            Err(TryLockError::Error(e)) => return Err(self.store_error("flock", &e)),
        }
        write_record(&mut file, record).map_err(|e| self.store_error("write access", &e))?;
        self.held().insert(record.lock_id.clone(), file);
        Ok(())
    }

    async fn renew(&self, record: &LockRecord, _expires_at: i64) -> Result<(), LockError> {
        if self.held().contains_key(&record.lock_id) {
            Ok(())
        } else {
            Err(lost(&record.lock_id, None))
        }
    }

    async fn release(&self, record: &LockRecord) -> Result<(), LockError> {
        let Some(file) = self.held().remove(&record.lock_id) else {
            return Err(lost(&record.lock_id, None));
        };
        // Emptied before unlocking, so nobody reads a holder that is gone.
        let _ = file.set_len(0);
        file.unlock().map_err(|e| self.store_error("flock", &e))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<LockRecord>, LockError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.store_error("read access", &e)),
        };
        let mut records = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "lock") {
                continue;
            }
            let Ok(mut file) = File::open(&path) else {
                continue;
            };
            match file.try_lock_shared() {
                Ok(()) => {
                    let _ = file.unlock();
                }
                Err(_) => {
                    if let Some(record) = read_record(&mut file)
                        && record.lock_id.starts_with(prefix)
                    {
                        records.push(LockRecord {
                            expires_at: i64::MAX,
                            ..record
                        });
                    }
                }
            }
        }
        records.sort_by(|a, b| a.lock_id.cmp(&b.lock_id));
        Ok(records)
    }

    async fn break_lock(&self, lock_id: &str) -> Result<Option<LockRecord>, LockError> {
        let path = self.path(lock_id);
        let Ok(mut file) = File::open(&path) else {
            return Ok(None);
        };
        match file.try_lock_shared() {
            Ok(()) => {
                let _ = file.unlock();
                Ok(None)
            }
            Err(_) => Err(LockError::Store {
                place: self.place(),
                permission: "flock",
                source: Box::new(BackendError::Other(format!(
                    "a console on this host holds {lock_id} ({}); a host-local lock ends \
                     with its process: stop that console instead",
                    read_record(&mut file).map_or_else(|| "unknown".into(), |r| r.owner)
                ))),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, owner: &str, token: &str, expires_at: i64) -> LockRecord {
        LockRecord {
            lock_id: id.into(),
            owner: owner.into(),
            caller_arn: "arn:aws:iam::1:user/x".into(),
            action: "restart api".into(),
            since: 100,
            expires_at,
            token: token.into(),
        }
    }

    #[test]
    fn a_store_error_names_the_table_and_the_permission() {
        let denied = LockError::Store {
            place: "DynamoDB table `ibet-console-locks`".into(),
            permission: "dynamodb:PutItem",
            source: Box::new(BackendError::AccessDenied {
                action: "dynamodb:PutItem".into(),
                principal: Some("arn:aws:sts::1:assumed-role/ops/alice".into()),
                resource: None,
                reason: None,
            }),
        };
        assert!(
            denied.to_string().starts_with(
                "the lock store DynamoDB table `ibet-console-locks` cannot be used: access denied"
            ),
            "{denied}"
        );
        assert_eq!(
            denied.hint().as_deref(),
            Some(
                "the IAM policy must allow `dynamodb:PutItem` on DynamoDB table \
                 `ibet-console-locks` (see the README's Team section)"
            )
        );
    }

    #[tokio::test]
    async fn memory_locks_take_free_or_expired_scopes_only() {
        let locks = MemoryLocks::default();
        let alice = record("stg/node-api/api", "alice@b1", "a", 220);
        let bob = record("stg/node-api/api", "bob@b2", "b", 300);
        locks.acquire(&alice, 150).await.expect("free");
        match locks.acquire(&bob, 200).await {
            Err(LockError::Held(held)) => assert_eq!(held.owner, "alice@b1"),
            other => panic!("expected held, got {other:?}"),
        }
        locks
            .acquire(&bob, 221)
            .await
            .expect("expired lease taken over");
        assert!(matches!(
            locks.renew(&alice, 400).await,
            Err(LockError::Lost { .. })
        ));
        assert!(locks.release(&alice).await.is_err());
        locks.renew(&bob, 400).await.expect("renewed");
        assert_eq!(locks.list("stg/").await.expect("list")[0].expires_at, 400);
        locks.release(&bob).await.expect("released");
        assert!(locks.list("").await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn host_locks_hold_until_released_and_name_the_holder() {
        let dir = tempfile::tempdir().expect("dir");
        let one = HostLocks::new(dir.path());
        let two = HostLocks::new(dir.path());
        let alice = record("stg/node-api", "alice@b1", "a", 220);
        one.acquire(&alice, 150).await.expect("free");
        match two
            .acquire(&record("stg/node-api", "bob@b1", "b", 0), 1_000)
            .await
        {
            Err(LockError::Held(held)) => {
                assert_eq!(held.owner, "alice@b1");
                assert_eq!(held.action, "restart api");
            }
            other => panic!("expected held, got {other:?}"),
        }
        let listed = two.list("stg/").await.expect("list");
        assert_eq!(listed.len(), 1);
        assert!(two.break_lock("stg/node-api").await.is_err());
        one.release(&alice).await.expect("released");
        assert!(two.list("stg/").await.expect("list").is_empty());
        two.acquire(&record("stg/node-api", "bob@b1", "b", 0), 1_000)
            .await
            .expect("free again");
    }
}
