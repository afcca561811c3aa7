//! The shared audit trail: every audit line also goes to the environment's CloudWatch
//! Logs group (`[environments.team] audit_log_group`), in a stream per host and user.
//!
//! The local file is always written first (`audit`); this module only sends what is
//! already there. A line the group does not take (unreachable, refused) is queued in a
//! file beside the local log (`audit.shared-queue.jsonl`: the group and the line) and
//! sent, before the new one, with the next line of any op of that group, from this run
//! or a later one. So no line is lost; a line sent whose queue was not emptied (a crash
//! between the two) is sent twice, and the reader drops the repeat by the line's `id`.
//! One PutLogEvents per audit line (plus CreateLogStream the first time); nothing here
//! decides an op or draws.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::audit::AuditEntry;
use crate::backend::LogsApi;
use crate::clock::{EpochMs, parse_iso};

/// A line waiting for its group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Queued {
    group: String,
    stream: String,
    entry: AuditEntry,
}

/// The queue's file beside the local audit log `local`.
pub fn queue_path(local: &Path) -> PathBuf {
    let stem = local
        .file_stem()
        .map_or_else(|| "audit".into(), |s| s.to_string_lossy().into_owned());
    local.with_file_name(format!("{stem}.shared-queue.jsonl"))
}

/// The stream of `user` on `host`: `host/user`.
pub fn stream_name(host: &str, user: &str) -> String {
    let clean = |text: &str| text.replace([':', '*'], "_");
    format!("{}/{}", clean(host), clean(user))
}

/// Why a line did not reach the group; it is queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotShared {
    /// The group.
    pub group: String,
    /// What failed.
    pub error: String,
    /// Lines now waiting, this one included.
    pub queued: usize,
    /// The queue's file.
    pub queue: PathBuf,
}

impl NotShared {
    /// One line for a report: what failed and where the lines wait.
    pub fn describe(&self) -> String {
        format!(
            "the shared audit group {} did not take the line ({}): {} line{} queued in {}, sent with the next audit line",
            self.group,
            self.error,
            self.queued,
            if self.queued == 1 { "" } else { "s" },
            self.queue.display()
        )
    }
}

fn read_queue(path: &Path) -> Vec<Queued> {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        })
        .unwrap_or_default()
}

fn write_queue(path: &Path, queued: &[Queued]) -> std::io::Result<()> {
    if queued.is_empty() {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    let mut text = Vec::new();
    for q in queued {
        serde_json::to_writer(&mut text, q).map_err(std::io::Error::other)?;
        text.push(b'\n');
    }
    let tmp = path.with_extension("jsonl.tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&text)?;
    file.sync_data()?;
    std::fs::rename(tmp, path)
}

/// Sends `entry` (already in the local file) to `group`, after whatever waits in the
/// queue for that group; on failure queues it. `Ok(n)`: `n` lines sent.
pub async fn share(
    logs: &dyn LogsApi,
    group: &str,
    stream: &str,
    entry: &AuditEntry,
    local: &Path,
) -> Result<usize, NotShared> {
    let queue = queue_path(local);
    let all = read_queue(&queue);
    let (mine, others): (Vec<Queued>, Vec<Queued>) =
        all.into_iter().partition(|q| q.group == group);
    let mut batch = mine.clone();
    batch.push(Queued {
        group: group.to_string(),
        stream: stream.to_string(),
        entry: entry.clone(),
    });
    // One stream per request: the queued lines of other streams go on their own.
    let mut sent = 0;
    let mut failure = None;
    let mut left = Vec::new();
    let mut streams: Vec<&str> = batch.iter().map(|q| q.stream.as_str()).collect();
    streams.dedup();
    streams.sort_unstable();
    streams.dedup();
    for name in streams {
        let of_stream: Vec<&Queued> = batch.iter().filter(|q| q.stream == name).collect();
        let mut lines: Vec<(EpochMs, String)> = of_stream
            .iter()
            .filter_map(|q| {
                let at = parse_iso(&q.entry.time)?;
                Some((at, serde_json::to_string(&q.entry).ok()?))
            })
            .collect();
        lines.sort_by_key(|(at, _)| *at);
        if failure.is_some() {
            left.extend(of_stream.into_iter().cloned());
            continue;
        }
        match logs.put_lines(group, name, &lines).await {
            Ok(()) => sent += lines.len(),
            Err(e) => {
                failure = Some(e.to_string());
                left.extend(of_stream.into_iter().cloned());
            }
        }
    }
    let queued = left.len();
    let mut keep = others;
    keep.extend(left);
    let rewrite = write_queue(&queue, &keep);
    match (failure, rewrite) {
        (None, Ok(())) => Ok(sent),
        (failure, rewrite) => Err(NotShared {
            group: group.to_string(),
            error: match (failure, rewrite) {
                (Some(f), Err(w)) => format!("{f}; the queue could not be written: {w}"),
                (Some(f), Ok(())) => f,
                (None, Err(w)) => format!("sent, but the queue could not be emptied: {w}"),
                (None, Ok(())) => String::new(),
            },
            queued,
            queue,
        }),
    }
}

/// One line of "Recent actions": an audit line, and whether another operator (another
/// user, or this user on another host) wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentAction {
    /// The line.
    pub entry: AuditEntry,
    /// Written by another operator's console.
    pub theirs: bool,
}

/// The newest `n` of this console's lines (`local`, from the file) and the group's
/// (`shared`), each line once (by `id`, else by run and phase), newest first; a line is
/// theirs when its host or user is not `user` on `host`.
pub fn merge_recent(
    local: Vec<AuditEntry>,
    shared: &[AuditEntry],
    user: &str,
    host: &str,
    n: usize,
) -> Vec<RecentAction> {
    let key = |e: &AuditEntry| {
        if e.id.is_empty() {
            format!("{}-{:?}", e.run, e.phase)
        } else {
            e.id.clone()
        }
    };
    let mut seen = std::collections::HashSet::new();
    let mut all: Vec<AuditEntry> = local
        .into_iter()
        .chain(shared.iter().cloned())
        .filter(|e| seen.insert(key(e)))
        .collect();
    all.sort_by(|a, b| b.time.cmp(&a.time));
    all.truncate(n);
    all.into_iter()
        .map(|entry| RecentAction {
            theirs: !entry.host.is_empty() && (entry.host != host || entry.os_user != user),
            entry,
        })
        .collect()
}

/// The audit lines in a group's events, each `id` once, oldest first (a line sent twice
/// by a run that crashed before emptying its queue is read once).
pub fn read_lines<'a>(messages: impl IntoIterator<Item = &'a str>) -> Vec<AuditEntry> {
    let mut seen = std::collections::HashSet::new();
    let mut entries: Vec<AuditEntry> = messages
        .into_iter()
        .filter_map(|m| serde_json::from_str::<AuditEntry>(m).ok())
        .filter(|e| e.id.is_empty() || seen.insert(e.id.clone()))
        .collect();
    entries.sort_by(|a, b| a.time.cmp(&b.time));
    entries
}
