//! The audit log: one JSON line per step of every op, append-only, on local disk.
//!
//! An op writes a `before` line right before its mutating call and an `after` line with
//! the outcome once the call and its verification are done; each line is flushed to disk
//! (fsync) before the executor goes on, so a crash between the two leaves the `before`
//! line, and the `run` id pairs them. A refused op makes no call and writes only its
//! `after` line (outcome `refused`). Lines: who (OS user, AWS caller identity), where
//! (environment), what (the op, its target, the changes), the checks with their values,
//! whether a gate was overridden, the outcome and the error.
//!
//! The file is `Config::audit_log`, or `audit.jsonl` in the data folder. This module
//! only appends and reads back ([`AuditLog::recent`]); it never rewrites or truncates.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Check, Op, Outcome};
use crate::config::{Config, data_dir};

/// The audit log's file name in the data folder.
pub const AUDIT_FILE_NAME: &str = "audit.jsonl";

/// Which side of the mutating call a line was written on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Right before the call.
    Before,
    /// After the call and its verification, or instead of them when refused.
    After,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Unique to the line (`host-run-phase`): a reader of the shared group drops repeats.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// When, in UTC (`2026-11-18T11:06:40.123Z`).
    pub time: String,
    /// Pairs a run's lines: `<start ms>-<pid>-<plan id>`.
    pub run: String,
    /// Before or after the call.
    pub phase: Phase,
    /// The OS user who ran the console.
    pub os_user: String,
    /// The host it ran on.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// The AWS caller identity (ARN); `null` when unknown, or when refused before the
    /// lock was taken (the identity is read for the lock's item).
    pub aws_caller: Option<String>,
    /// Why the caller identity is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_caller_error: Option<String>,
    /// The environment.
    pub environment: String,
    /// The op with its arguments.
    pub op: Op,
    /// What it acts on, in words.
    pub target: String,
    /// What the plan said would change.
    #[serde(default)]
    pub changes: Vec<String>,
    /// The checks (gate and guards) with their values.
    #[serde(default)]
    pub checks: Vec<Check>,
    /// Whether a failed gate was overridden.
    #[serde(default)]
    pub override_gate: bool,
    /// How it ended (`after` lines).
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// The error, when it failed or was refused.
    #[serde(default)]
    pub error: Option<String>,
    /// The exit status of an exec session's AWS CLI (`after` lines of an exec that ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
}

/// Why the audit log could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file operation failed.
    #[error("audit log {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The entry could not be encoded.
    #[error("audit entry not encodable: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The audit log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// The log at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// `<data folder>/audit.jsonl`; `None` without a home folder.
    pub fn default_path() -> Option<PathBuf> {
        data_dir().map(|dir| dir.join(AUDIT_FILE_NAME))
    }

    /// The configured log: `audit_log` from the config, else [`Self::default_path`].
    pub fn from_config(config: &Config) -> Option<Self> {
        config
            .audit_log
            .clone()
            .or_else(Self::default_path)
            .map(Self::new)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, source: io::Error) -> AuditError {
        AuditError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends one line and flushes it to disk before returning. Creates the file
    /// (mode 0600) and its folder when missing. A torn last line left by a crash is
    /// closed first, so the new line stays whole.
    pub fn append(&self, entry: &AuditEntry) -> Result<(), AuditError> {
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| self.io_error(e))?;
        }
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&self.path).map_err(|e| self.io_error(e))?;
        if !ends_with_newline(&mut file).map_err(|e| self.io_error(e))? {
            line.insert(0, b'\n');
        }
        file.write_all(&line).map_err(|e| self.io_error(e))?;
        file.sync_data().map_err(|e| self.io_error(e))
    }

    /// [`Self::append`] on the blocking pool, so the async executor is not held up by
    /// the disk.
    pub async fn append_async(&self, entry: AuditEntry) -> Result<(), AuditError> {
        let log = self.clone();
        match tokio::task::spawn_blocking(move || log.append(&entry)).await {
            Ok(result) => result,
            Err(e) => Err(self.io_error(io::Error::other(e.to_string()))),
        }
    }

    /// The last `n` entries, newest first. Lines that are not valid entries (a line
    /// torn by a crash) are skipped; a missing file is an empty log. Reads from the end
    /// of the file, so a long log costs no more than a short one.
    pub fn recent(&self, n: usize) -> Result<Vec<AuditEntry>, AuditError> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io_error(e)),
        };
        let mut lines = ReverseLines::new(file).map_err(|e| self.io_error(e))?;
        let mut entries = Vec::new();
        while entries.len() < n {
            let Some(line) = lines.next_line().map_err(|e| self.io_error(e))? else {
                break;
            };
            if let Ok(entry) = serde_json::from_slice::<AuditEntry>(&line) {
                entries.push(entry);
            }
        }
        Ok(entries)
    }
}

fn ends_with_newline(file: &mut File) -> io::Result<bool> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0_u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// Reads a file's lines from the last to the first, a block at a time.
struct ReverseLines<R> {
    reader: R,
    /// Bytes before this offset are not read yet.
    unread: u64,
    /// The start of the earliest line read so far, possibly incomplete.
    head: Vec<u8>,
    /// Complete lines read, in file order (taken from the back).
    lines: Vec<Vec<u8>>,
}

const BLOCK: u64 = 8 * 1024;

impl<R: Read + Seek> ReverseLines<R> {
    fn new(mut reader: R) -> io::Result<Self> {
        let unread = reader.seek(SeekFrom::End(0))?;
        Ok(Self {
            reader,
            unread,
            head: Vec::new(),
            lines: Vec::new(),
        })
    }

    fn next_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(line) = self.lines.pop() {
                return Ok(Some(line));
            }
            if self.unread == 0 {
                let head = std::mem::take(&mut self.head);
                return Ok((!head.is_empty()).then_some(head));
            }
            let start = self.unread.saturating_sub(BLOCK);
            let mut block = vec![0; (self.unread - start) as usize];
            self.reader.seek(SeekFrom::Start(start))?;
            self.reader.read_exact(&mut block)?;
            self.unread = start;
            block.append(&mut self.head);
            let mut parts = block.split(|b| *b == b'\n');
            // The first part may continue in the block before; keep it for later.
            self.head = parts.next().map(<[u8]>::to_vec).unwrap_or_default();
            self.lines = parts
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec)
                .collect();
        }
    }
}

/// The OS user from `USER`, else `LOGNAME`, looked up through `var` (pass
/// `|k| std::env::var(k).ok()` for the process environment); `unknown` when neither is
/// set.
pub fn os_user(var: impl Fn(&str) -> Option<String>) -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| var(k).filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

/// [`os_user`] from the process environment; when neither variable is set (a cron job,
/// a stripped environment), the name of the process's real uid from `/etc/passwd`, or
/// `uid N`.
pub fn os_user_from_env() -> String {
    let name = os_user(|k| std::env::var(k).ok());
    if name != "unknown" {
        return name;
    }
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|rest| rest.split_whitespace().next().map(str::to_string))
        });
    let Some(uid) = uid else {
        return name;
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    user_of_uid(&passwd, &uid).unwrap_or_else(|| format!("uid {uid}"))
}

/// The user name of `uid` in `/etc/passwd` text.
fn user_of_uid(passwd: &str, uid: &str) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_lookup_in_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nops:x:1001:1001::/home/ops:/bin/sh\n";
        assert_eq!(user_of_uid(passwd, "1001").as_deref(), Some("ops"));
        assert_eq!(user_of_uid(passwd, "0").as_deref(), Some("root"));
        assert_eq!(user_of_uid(passwd, "7"), None);
    }

    fn entry(run: &str, phase: Phase) -> AuditEntry {
        AuditEntry {
            id: String::new(),
            time: "2026-11-18T11:06:40.123Z".into(),
            run: run.into(),
            phase,
            os_user: "alice".into(),
            host: String::new(),
            aws_caller: Some("arn:aws:sts::123456789012:assumed-role/ops/alice".into()),
            aws_caller_error: None,
            environment: "staging".into(),
            op: Op::ForceDeploy {
                env: "staging".into(),
                cluster: "node-api".into(),
                service: "api".into(),
            },
            target: "api".into(),
            changes: vec!["service api: new deployment".into()],
            checks: vec![Check::pass("write_access", "writable")],
            override_gate: false,
            outcome: (phase == Phase::After).then_some(Outcome::Ok),
            error: None,
            exit_status: None,
        }
    }

    #[test]
    fn appended_lines_are_json_and_read_back_newest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AuditLog::new(dir.path().join("nested/audit.jsonl"));
        assert!(log.recent(5).expect("empty").is_empty());
        log.append(&entry("1", Phase::Before)).expect("append");
        log.append(&entry("1", Phase::After)).expect("append");
        log.append(&entry("2", Phase::Before)).expect("append");
        let text = std::fs::read_to_string(log.path()).expect("read");
        assert_eq!(text.lines().count(), 3);
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).expect("json");
            assert_eq!(value["os_user"], "alice");
            assert_eq!(value["op"]["kind"], "force_deploy");
        }
        let first: serde_json::Value =
            serde_json::from_str(text.lines().next().expect("line")).expect("json");
        assert_eq!(first["phase"], "before");
        assert_eq!(first["outcome"], serde_json::Value::Null);
        let recent = log.recent(2).expect("recent");
        assert_eq!(
            recent
                .iter()
                .map(|e| (e.run.as_str(), e.phase))
                .collect::<Vec<_>>(),
            [("2", Phase::Before), ("1", Phase::After)]
        );
        assert_eq!(recent[1].outcome, Some(Outcome::Ok));
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        log.append(&entry("1", Phase::Before)).expect("append");
        let mode = std::fs::metadata(log.path())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_torn_line_is_skipped_and_closed_before_the_next_append() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        log.append(&entry("1", Phase::Before)).expect("append");
        let mut file = OpenOptions::new()
            .append(true)
            .open(log.path())
            .expect("open");
        file.write_all(b"{\"time\":\"2026-").expect("torn");
        drop(file);
        log.append(&entry("2", Phase::Before)).expect("append");
        let recent = log.recent(10).expect("recent");
        assert_eq!(
            recent.iter().map(|e| e.run.as_str()).collect::<Vec<_>>(),
            ["2", "1"]
        );
    }

    #[test]
    fn recent_reads_across_blocks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        for i in 0..200 {
            log.append(&entry(&i.to_string(), Phase::After))
                .expect("append");
        }
        assert!(std::fs::metadata(log.path()).expect("meta").len() > 4 * BLOCK);
        let recent = log.recent(150).expect("recent");
        assert_eq!(recent.len(), 150);
        assert_eq!(recent[0].run, "199");
        assert_eq!(recent[149].run, "50");
        assert_eq!(log.recent(1000).expect("all").len(), 200);
    }

    #[test]
    fn reverse_lines_handles_edges() {
        let read = |text: &str| {
            let mut lines =
                ReverseLines::new(io::Cursor::new(text.as_bytes().to_vec())).expect("lines");
            let mut out = Vec::new();
            while let Some(l) = lines.next_line().expect("line") {
                out.push(String::from_utf8(l).expect("utf8"));
            }
            out
        };
        assert!(read("").is_empty());
        assert_eq!(read("a"), ["a"]);
        assert_eq!(read("a\nb\n"), ["b", "a"]);
        assert_eq!(read("a\n\nb"), ["b", "a"]);
    }

    #[test]
    fn the_os_user_comes_from_user_then_logname() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| (*v).to_string())
            }
        };
        assert_eq!(
            os_user(env(&[("USER", "alice"), ("LOGNAME", "bob")])),
            "alice"
        );
        assert_eq!(os_user(env(&[("USER", ""), ("LOGNAME", "bob")])), "bob");
        assert_eq!(os_user(env(&[])), "unknown");
    }

    #[test]
    fn the_configured_path_wins() {
        let mut config = Config::parse("", Path::new("c.toml")).expect("config");
        config.audit_log = Some(PathBuf::from("/var/log/ibet/audit.jsonl"));
        assert_eq!(
            AuditLog::from_config(&config).map(|l| l.path().to_path_buf()),
            Some(PathBuf::from("/var/log/ibet/audit.jsonl"))
        );
        config.audit_log = None;
        assert_eq!(
            AuditLog::from_config(&config).map(|l| l.path().to_path_buf()),
            AuditLog::default_path()
        );
    }
}
