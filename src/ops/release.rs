//! Releases and rollbacks: what moving a service to another task definition changes, and
//! which revision a rollback goes back to.
//!
//! [`task_definition_diff`] compares two task definitions the way an operator reads a
//! release: images and tags, environment variables, secrets (names only), CPU and memory,
//! ports and the `awslogs` options, one [`DiffLine`] per difference. Values of variables
//! whose name looks secret (see [`is_secret_name`]) or whose value carries credentials
//! (`postgresql://user:password@host`, see [`has_credentials`]) never leave this module:
//! they are replaced by [`MASK`], and a changed one only says that it changed.
//! [`rollback_target`] picks the revision a rollback goes to, [`newer_revisions`] lists
//! what a release could go to, [`back_op`] names the op that goes back, and
//! [`rollout_phase`] judges a rollout being watched until what [`WaitUntil`] asks for,
//! and [`rollout_failure`] says why one failed, in ECS's words.
//!
//! Everything here is pure: the planner ([`super::restart`]) and the `release` and
//! `rollback` subcommands gather the inputs, and the TUI renders the same lines. Nothing
//! here calls a backend or prints.

use serde::Serialize;

use super::Op;
use crate::clock::EpochMs;
use crate::model::ecs::{
    AwsLogs, ContainerDefinition, Rollout, Service, TaskDefinition, short_task_definition,
    task_definition_revision,
};

/// What a masked value shows as.
pub const MASK: &str = "****";

/// Parts of a variable name that mark its value as secret (compared upper-case).
const SECRET_NAME_PARTS: [&str; 13] = [
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "KEY",
    "CREDENTIAL",
    "PRIVATE",
    "AUTH",
    "SIGNATURE",
    "SALT",
    "DSN",
    "CONNECTION_STRING",
];

/// Whether a variable called `name` holds a secret: its upper-cased name contains one of
/// PASSWORD, PASSWD, PASSPHRASE, SECRET, TOKEN, KEY, CREDENTIAL, PRIVATE, AUTH,
/// SIGNATURE, SALT, DSN or CONNECTION_STRING. Erring on the side of masking is intended.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_uppercase();
    SECRET_NAME_PARTS.iter().any(|part| upper.contains(part))
}

/// Whether `value` is a URL with a password in it (`scheme://user:password@host/...`), as
/// a `DATABASE_URL` usually is.
pub fn has_credentials(value: &str) -> bool {
    let Some((_, rest)) = value.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// What a diff line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// A container added or removed.
    Container,
    /// A container's image (repository and tag or digest).
    Image,
    /// An environment variable.
    Environment,
    /// A secret (its name; never its source).
    Secret,
    /// CPU units (the task's, or a container's).
    Cpu,
    /// Memory in MiB (the task's, or a container's).
    Memory,
    /// Container ports.
    Ports,
    /// An `awslogs` option.
    Log,
}

/// Whether a thing was added, removed or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffChange {
    /// Only in the target revision.
    Added,
    /// Only in the current revision.
    Removed,
    /// In both, different.
    Changed,
}

impl DiffChange {
    /// `+`, `-` or `~`.
    pub fn sign(self) -> char {
        match self {
            Self::Added => '+',
            Self::Removed => '-',
            Self::Changed => '~',
        }
    }
}

/// One difference between the current and the target task definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// The container; `None` for the task itself (task CPU and memory).
    pub container: Option<String>,
    /// What it is about.
    pub kind: DiffKind,
    /// The variable or secret name, or the `awslogs` option; empty otherwise.
    pub name: String,
    /// Added, removed or changed.
    pub change: DiffChange,
    /// The current value ([`MASK`] when masked; `None` when added, and for secrets).
    pub old: Option<String>,
    /// The target value ([`MASK`] when masked; `None` when removed, and for secrets).
    pub new: Option<String>,
    /// Whether the values are masked.
    pub masked: bool,
}

impl DiffLine {
    fn new(container: Option<&str>, kind: DiffKind, name: &str, change: DiffChange) -> Self {
        Self {
            container: container.map(str::to_string),
            kind,
            name: name.to_string(),
            change,
            old: None,
            new: None,
            masked: false,
        }
    }

    fn values(mut self, old: Option<&str>, new: Option<&str>) -> Self {
        self.old = old.map(str::to_string);
        self.new = new.map(str::to_string);
        self
    }

    /// The line as the operator reads it, e.g. `~ api image …/wallet-api: v24.9.0 →
    /// v24.12.0`, `~ api env DATABASE_URL: **** → **** (changed)`, `+ api secret
    /// FIREBASE_CREDENTIALS`, `~ task cpu: 512 → 1024`. Values are as stored: sanitise
    /// before printing.
    pub fn text(&self) -> String {
        let scope = self.container.as_deref().unwrap_or("task");
        let sign = self.change.sign();
        let old = self.old.as_deref().unwrap_or_default();
        let new = self.new.as_deref().unwrap_or_default();
        let what = match self.kind {
            DiffKind::Container => {
                return match self.change {
                    DiffChange::Removed => format!("{sign} container {scope} ({old})"),
                    _ => format!("{sign} container {scope} ({new})"),
                };
            }
            DiffKind::Image => {
                let (old_repo, old_tag) = split_image(old);
                let (new_repo, new_tag) = split_image(new);
                return if self.change == DiffChange::Changed && old_repo == new_repo {
                    format!("{sign} {scope} image {new_repo}: {old_tag} → {new_tag}")
                } else {
                    format!("{sign} {scope} image: {old} → {new}")
                };
            }
            DiffKind::Environment => format!("env {}", self.name),
            DiffKind::Secret => {
                let note = if self.change == DiffChange::Changed {
                    " (value source changed)"
                } else {
                    ""
                };
                return format!("{sign} {scope} secret {}{note}", self.name);
            }
            DiffKind::Cpu => "cpu".to_string(),
            DiffKind::Memory => "memory".to_string(),
            DiffKind::Ports => "ports".to_string(),
            DiffKind::Log => format!("log {}", self.name),
        };
        match self.change {
            DiffChange::Added => format!("{sign} {scope} {what}={new}"),
            DiffChange::Removed => format!("{sign} {scope} {what}={old}"),
            DiffChange::Changed if self.masked => {
                format!("{sign} {scope} {what}: {old} → {new} (changed)")
            }
            DiffChange::Changed => format!("{sign} {scope} {what}: {old} → {new}"),
        }
    }
}

/// `(repository, tag or digest)` of an image reference; the tag is empty when there is
/// none. A registry port (`host:5000/repo`) is not taken for a tag.
fn split_image(image: &str) -> (&str, &str) {
    if let Some((repo, digest)) = image.split_once('@') {
        return (repo, digest);
    }
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(i) => (&image[..last_slash + i], &image[last_slash + i + 1..]),
        None => (image, ""),
    }
}

/// Compares the running task definition `current` with the `target` of a release or
/// rollback: task CPU and memory first, then container by container (in `current`'s
/// order, then containers only `target` has): the container itself when added or
/// removed, its image, CPU, memory, ports, environment variables and secrets (by name),
/// and `awslogs` options. Secret-looking values are masked (see the module docs). Equal
/// definitions give no lines.
pub fn task_definition_diff(current: &TaskDefinition, target: &TaskDefinition) -> Vec<DiffLine> {
    let mut lines = Vec::new();
    optional_value(
        &mut lines,
        None,
        DiffKind::Cpu,
        "",
        current.cpu.as_deref(),
        target.cpu.as_deref(),
    );
    optional_value(
        &mut lines,
        None,
        DiffKind::Memory,
        "",
        current.memory.as_deref(),
        target.memory.as_deref(),
    );
    let empty = ContainerDefinition::default();
    for old in &current.containers {
        if let Some(new) = target.containers.iter().find(|c| c.name == old.name) {
            container_diff(&mut lines, old, new);
        } else {
            lines.push(
                DiffLine::new(
                    Some(&old.name),
                    DiffKind::Container,
                    "",
                    DiffChange::Removed,
                )
                .values(Some(&old.image), None),
            );
            container_diff(&mut lines, old, &empty);
        }
    }
    for new in &target.containers {
        if !current.containers.iter().any(|c| c.name == new.name) {
            lines.push(
                DiffLine::new(Some(&new.name), DiffKind::Container, "", DiffChange::Added)
                    .values(None, Some(&new.image)),
            );
            container_diff(
                &mut lines,
                &ContainerDefinition {
                    name: new.name.clone(),
                    ..empty.clone()
                },
                new,
            );
        }
    }
    lines
}

/// The lines of one container present in `old`, `new` or both (a missing side is an
/// empty definition with the same name).
fn container_diff(lines: &mut Vec<DiffLine>, old: &ContainerDefinition, new: &ContainerDefinition) {
    let name = if old.name.is_empty() {
        &new.name
    } else {
        &old.name
    };
    let scope = Some(name.as_str());
    let image = |c: &ContainerDefinition| (!c.image.is_empty()).then(|| c.image.clone());
    let (old_image, new_image) = (image(old), image(new));
    if old_image.is_some() && new_image.is_some() {
        optional_value(
            lines,
            scope,
            DiffKind::Image,
            "",
            old_image.as_deref(),
            new_image.as_deref(),
        );
    }
    let number = |n: Option<i32>| n.map(|n| n.to_string());
    optional_value(
        lines,
        scope,
        DiffKind::Cpu,
        "",
        number(old.cpu).as_deref(),
        number(new.cpu).as_deref(),
    );
    optional_value(
        lines,
        scope,
        DiffKind::Memory,
        "",
        number(old.memory).as_deref(),
        number(new.memory).as_deref(),
    );
    let ports = |c: &ContainerDefinition| {
        (!c.ports.is_empty()).then(|| {
            c.ports
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    optional_value(
        lines,
        scope,
        DiffKind::Ports,
        "",
        ports(old).as_deref(),
        ports(new).as_deref(),
    );
    environment_diff(lines, scope, &old.environment, &new.environment);
    secrets_diff(lines, scope, &old.secrets, &new.secrets);
    log_diff(lines, scope, old.log.as_ref(), new.log.as_ref());
}

/// One line when `old` and `new` differ (added, removed or changed).
fn optional_value(
    lines: &mut Vec<DiffLine>,
    container: Option<&str>,
    kind: DiffKind,
    name: &str,
    old: Option<&str>,
    new: Option<&str>,
) {
    let change = match (old, new) {
        (Some(a), Some(b)) if a == b => return,
        (None, None) => return,
        (Some(_), Some(_)) => DiffChange::Changed,
        (None, Some(_)) => DiffChange::Added,
        (Some(_), None) => DiffChange::Removed,
    };
    lines.push(DiffLine::new(container, kind, name, change).values(old, new));
}

/// Sorted `(name, value)` pairs merged by name: `(name, old, new)`.
fn merged<'a>(
    old: &'a [(String, String)],
    new: &'a [(String, String)],
) -> Vec<(&'a str, Option<&'a str>, Option<&'a str>)> {
    let mut names: Vec<&str> = old
        .iter()
        .chain(new)
        .map(|(name, _)| name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let find = |pairs: &'a [(String, String)], name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    names
        .into_iter()
        .map(|name| (name, find(old, name), find(new, name)))
        .collect()
}

fn environment_diff(
    lines: &mut Vec<DiffLine>,
    container: Option<&str>,
    old: &[(String, String)],
    new: &[(String, String)],
) {
    for (name, a, b) in merged(old, new) {
        let before = lines.len();
        optional_value(lines, container, DiffKind::Environment, name, a, b);
        let masked = is_secret_name(name)
            || a.is_some_and(has_credentials)
            || b.is_some_and(has_credentials);
        if masked && let Some(line) = lines.get_mut(before) {
            line.masked = true;
            line.old = line.old.as_ref().map(|_| MASK.to_string());
            line.new = line.new.as_ref().map(|_| MASK.to_string());
        }
    }
}

fn secrets_diff(
    lines: &mut Vec<DiffLine>,
    container: Option<&str>,
    old: &[(String, String)],
    new: &[(String, String)],
) {
    for (name, a, b) in merged(old, new) {
        let change = match (a, b) {
            (Some(a), Some(b)) if a == b => continue,
            (None, None) => continue,
            (Some(_), Some(_)) => DiffChange::Changed,
            (None, Some(_)) => DiffChange::Added,
            (Some(_), None) => DiffChange::Removed,
        };
        lines.push(DiffLine::new(container, DiffKind::Secret, name, change));
    }
}

fn log_diff(
    lines: &mut Vec<DiffLine>,
    container: Option<&str>,
    old: Option<&AwsLogs>,
    new: Option<&AwsLogs>,
) {
    let options = |log: Option<&AwsLogs>| -> [(&'static str, Option<String>); 3] {
        [
            ("awslogs-group", log.map(|l| l.group.clone())),
            ("awslogs-region", log.and_then(|l| l.region.clone())),
            (
                "awslogs-stream-prefix",
                log.and_then(|l| l.stream_prefix.clone()),
            ),
        ]
    };
    for ((name, a), (_, b)) in options(old).into_iter().zip(options(new)) {
        optional_value(
            lines,
            container,
            DiffKind::Log,
            name,
            a.as_deref(),
            b.as_deref(),
        );
    }
}

/// The family of a task-definition ARN or `family:revision`.
pub fn task_definition_family(arn: &str) -> &str {
    let short = short_task_definition(arn);
    short.rsplit_once(':').map_or(short, |(family, _)| family)
}

/// The revisions of `revisions` (ARNs of one family, newest first) newer than
/// `current`, newest first.
pub fn newer_revisions(current: &str, revisions: &[String]) -> Vec<String> {
    let Some(from) = task_definition_revision(current) else {
        return Vec::new();
    };
    revisions
        .iter()
        .filter(|arn| task_definition_revision(arn).is_some_and(|r| r > from))
        .cloned()
        .collect()
}

/// Where a rollback's target came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackSource {
    /// The task definition of the deployment that was PRIMARY before the current one
    /// (ECS still lists it while the current one rolls out).
    PreviousDeployment,
    /// The newest active revision of the family older than the running one.
    PreviousRevision,
}

/// The task definition a rollback goes to, and why that one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollbackTarget {
    /// Task-definition ARN.
    pub task_definition: String,
    /// Where it came from.
    pub source: RollbackSource,
}

/// The rollback target of `service`: the previous PRIMARY deployment's task definition
/// when ECS still lists that deployment (a release rolling out or failing), else the
/// newest of `revisions` (ARNs of the running task definition's family, newest first)
/// older than the running one. `None` when there is nothing to go back to.
pub fn rollback_target(service: &Service, revisions: &[String]) -> Option<RollbackTarget> {
    let current = service.task_definition.as_str();
    let previous = service
        .deployments
        .iter()
        .filter(|d| d.status != "PRIMARY")
        .find(|d| !d.task_definition.is_empty() && d.task_definition != current);
    if let Some(d) = previous {
        return Some(RollbackTarget {
            task_definition: d.task_definition.clone(),
            source: RollbackSource::PreviousDeployment,
        });
    }
    let from = task_definition_revision(current)?;
    revisions
        .iter()
        .filter(|arn| task_definition_family(arn) == task_definition_family(current))
        .filter_map(|arn| task_definition_revision(arn).map(|r| (r, arn)))
        .filter(|(r, _)| *r < from)
        .max_by_key(|(r, _)| *r)
        .map(|(_, arn)| RollbackTarget {
            task_definition: arn.clone(),
            source: RollbackSource::PreviousRevision,
        })
}

/// The op that puts the service back on `previous`: a rollback after a release, a
/// release after a rollback.
pub fn back_op(op: &Op, previous: &str) -> Op {
    let (env, cluster, service) = (
        op.env().to_string(),
        op.cluster().to_string(),
        op.service().unwrap_or_default().to_string(),
    );
    match op {
        Op::Rollback { .. } => Op::Release {
            env,
            cluster,
            service,
            to_task_definition: previous.to_string(),
        },
        _ => Op::Rollback {
            env,
            cluster,
            service,
            to_task_definition: previous.to_string(),
        },
    }
}

/// What the release preview of a plan shows before confirming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleasePreview {
    /// The running task definition (ARN).
    pub current: String,
    /// The target task definition (ARN).
    pub target: String,
    /// Active revisions of the family newer than the running one, newest first.
    pub newer_revisions: Vec<String>,
    /// The target against the running one.
    pub diff: Vec<DiffLine>,
}

/// Where a watched rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutPhase {
    /// Still rolling, or not yet what the watch waits for.
    InProgress,
    /// What the watch waits for is reached ([`WaitUntil`]).
    Completed,
    /// A deployment of the target failed, or the service left the target.
    Failed,
}

/// What a watched rollout waits for before it counts as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WaitUntil {
    /// The new deployment is the PRIMARY one and its rollout completed: ECS started the
    /// new tasks and judged them healthy. Old tasks may still be draining.
    Deployed,
    /// Deployed, and the service is steady: one deployment left and as many tasks
    /// running as desired (no old task left). The default: nothing of the old revision
    /// serves any more.
    #[default]
    Stable,
}

impl WaitUntil {
    /// `deployed` or `stable`, as on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployed => "deployed",
            Self::Stable => "stable",
        }
    }

    /// Parses `deployed` or `stable`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "deployed" => Some(Self::Deployed),
            "stable" => Some(Self::Stable),
            _ => None,
        }
    }

    /// What it waits for, in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Deployed => "the new deployment PRIMARY and its rollout completed",
            Self::Stable => "one deployment left, every desired task running",
        }
    }
}

/// Judges the rollout of `service` to the task definition `target`, waiting `until`:
///
/// - failed when a deployment of `target` reports a failed rollout, or the service's
///   task definition is no longer `target` (ECS's circuit breaker rolled it back, or
///   someone moved it): never a success;
/// - deployed when the PRIMARY deployment's rollout completed (when ECS does not report
///   rollout states: when it runs as many tasks as it wants, none pending); the
///   service's task definition is its PRIMARY deployment's, and it is `target`;
/// - stable when deployed, one deployment is left and the service runs as many tasks
///   as desired;
/// - in progress until what `until` asks for is reached.
pub fn rollout_phase(service: &Service, target: &str, until: WaitUntil) -> RolloutPhase {
    let failed = service
        .deployments
        .iter()
        .any(|d| d.rollout == Rollout::Failed && d.task_definition == target);
    if failed || service.task_definition != target {
        return RolloutPhase::Failed;
    }
    let Some(primary) = service
        .deployments
        .iter()
        .find(|d| d.status == "PRIMARY")
        .or(service.deployments.first())
    else {
        return RolloutPhase::InProgress;
    };
    let deployed = match primary.rollout {
        Rollout::Completed => true,
        Rollout::Failed => return RolloutPhase::Failed,
        Rollout::InProgress => false,
        Rollout::Unknown => primary.running >= primary.desired && primary.pending == 0,
    };
    let stable = service.deployments.len() == 1 && service.running == service.desired;
    match (until, deployed, stable) {
        (WaitUntil::Deployed, true, _) | (WaitUntil::Stable, true, true) => RolloutPhase::Completed,
        _ => RolloutPhase::InProgress,
    }
}

/// How far an event's time (ECS's clock) may lag the console's when the op ended.
const EVENT_CLOCK_SLACK_MS: EpochMs = 30_000;

/// Why the rollout of `service` to `target`, started at `since`, failed, in ECS's words:
/// the reason of a failed deployment of `target` (`ECS deployment circuit breaker:
/// tasks failed to start.`), else the reason a circuit breaker gave on another
/// deployment, else the newest service event since the start that says a deployment
/// failed or is rolled back; and, when the service is back on `previous`, that ECS put
/// it back. `None` when ECS says nothing (someone moved the service, say).
pub fn rollout_failure(
    service: &Service,
    target: &str,
    previous: &str,
    since: EpochMs,
) -> Option<String> {
    let failed = service
        .deployments
        .iter()
        .filter(|d| d.task_definition == target && d.rollout == Rollout::Failed)
        .find_map(|d| d.rollout_reason.clone());
    let breaker = || {
        service
            .deployments
            .iter()
            .filter_map(|d| d.rollout_reason.as_deref())
            .find(|r| r.contains("circuit breaker"))
            .map(str::to_string)
    };
    let event = || {
        service
            .events
            .iter()
            .filter(|e| e.at >= since - EVENT_CLOCK_SLACK_MS)
            .map(|e| e.message.as_str())
            .find(|m| {
                m.contains("deployment failed")
                    || m.contains("circuit breaker")
                    || m.contains("rolling back")
            })
            .map(str::to_string)
    };
    let why = failed.or_else(breaker).or_else(event);
    let back = (service.task_definition == previous && previous != target).then(|| {
        format!(
            "ECS put {} back",
            crate::model::ecs::short_task_definition(previous)
        )
    });
    match (why, back) {
        (Some(why), Some(back)) => Some(format!("{}; {back}", why.trim_end_matches('.'))),
        (why, back) => why.or(back),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ecs::Deployment;

    const ARN: &str = "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/ibet-api";

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    fn definition(revision: u32, container: ContainerDefinition) -> TaskDefinition {
        TaskDefinition {
            arn: format!("{ARN}:{revision}"),
            family: "ibet-api".into(),
            revision,
            cpu: Some("512".into()),
            memory: Some("1024".into()),
            containers: vec![container],
            ..TaskDefinition::default()
        }
    }

    fn api(image_tag: &str, environment: &[(&str, &str)]) -> ContainerDefinition {
        ContainerDefinition {
            name: "api".into(),
            image: format!(
                "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/ibet/wallet-api:{image_tag}"
            ),
            cpu: Some(256),
            memory: Some(512),
            environment: pairs(environment),
            secrets: pairs(&[("DATABASE_URL", "arn:aws:ssm:ap-northeast-1:1:parameter/db")]),
            ports: vec![5000],
            log: Some(AwsLogs {
                group: "/ecs/api".into(),
                region: Some("ap-northeast-1".into()),
                stream_prefix: Some("ecs".into()),
            }),
        }
    }

    fn texts(lines: &[DiffLine]) -> Vec<String> {
        lines.iter().map(DiffLine::text).collect()
    }

    #[test]
    fn equal_definitions_have_no_diff() {
        let a = definition(42, api("v1", &[("APP_ENV", "staging")]));
        assert!(task_definition_diff(&a, &a.clone()).is_empty());
    }

    #[test]
    fn a_release_shows_image_tag_variables_and_resources() {
        let current = definition(
            42,
            api(
                "v24.9.0",
                &[("APP_ENV", "staging"), ("LOG_LEVEL", "INFO"), ("OLD", "x")],
            ),
        );
        let mut target = definition(
            43,
            api(
                "v24.12.0",
                &[("APP_ENV", "staging"), ("LOG_LEVEL", "DEBUG"), ("NEW", "y")],
            ),
        );
        target.cpu = Some("1024".into());
        target.containers[0].memory = Some(1024);
        target.containers[0].ports = vec![5000, 9000];
        target.containers[0]
            .secrets
            .push(("SENTRY_DSN".into(), "arn:ssm:dsn".into()));
        if let Some(log) = &mut target.containers[0].log {
            log.group = "/ecs/api-v2".into();
        }
        assert_eq!(
            texts(&task_definition_diff(&current, &target)),
            [
                "~ task cpu: 512 → 1024",
                "~ api image 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/ibet/wallet-api: v24.9.0 → v24.12.0",
                "~ api memory: 512 → 1024",
                "~ api ports: 5000 → 5000, 9000",
                "~ api env LOG_LEVEL: INFO → DEBUG",
                "+ api env NEW=y",
                "- api env OLD=x",
                "+ api secret SENTRY_DSN",
                "~ api log awslogs-group: /ecs/api → /ecs/api-v2",
            ]
        );
    }

    #[test]
    fn secret_values_are_masked() {
        let current = definition(
            42,
            api(
                "v1",
                &[
                    (
                        "DATABASE_URL",
                        "postgresql://ibet:hunter2@db.internal:5432/ibet",
                    ),
                    ("DB_PASSWORD", "hunter2"),
                    ("FIREBASE_KEY", "AAAAsecret"),
                    ("API_TOKEN", "tok-1"),
                    ("OLD_SECRET", "gone"),
                ],
            ),
        );
        let target = definition(
            43,
            api(
                "v1",
                &[
                    (
                        "DATABASE_URL",
                        "postgresql://ibet:s3cr3t@db.internal:5432/ibet",
                    ),
                    ("DB_PASSWORD", "s3cr3t"),
                    ("FIREBASE_KEY", "AAAAsecret"),
                    ("API_TOKEN", "tok-2"),
                    ("AWS_SECRET_ACCESS_KEY", "abc"),
                    ("REPLICA_URL", "postgres://reader:pw@replica:5432/ibet"),
                ],
            ),
        );
        let diff = task_definition_diff(&current, &target);
        let text = texts(&diff);
        assert_eq!(
            text,
            [
                "~ api env API_TOKEN: **** → **** (changed)",
                "+ api env AWS_SECRET_ACCESS_KEY=****",
                "~ api env DATABASE_URL: **** → **** (changed)",
                "~ api env DB_PASSWORD: **** → **** (changed)",
                "- api env OLD_SECRET=****",
                "+ api env REPLICA_URL=****",
            ]
        );
        let json = serde_json::to_string(&diff).expect("json");
        for leak in ["hunter2", "s3cr3t", "tok-", "gone", "abc", "reader:pw"] {
            assert!(!json.contains(leak), "{leak} leaked: {json}");
            assert!(!text.join("\n").contains(leak), "{leak} leaked");
        }
        assert!(diff.iter().all(|l| l.masked));
    }

    #[test]
    fn secrets_show_names_only() {
        let current = definition(42, api("v1", &[]));
        let mut target = current.clone();
        target.containers[0].secrets = pairs(&[
            (
                "DATABASE_URL",
                "arn:aws:ssm:ap-northeast-1:1:parameter/db-v2",
            ),
            (
                "FIREBASE_CREDENTIALS",
                "arn:aws:ssm:ap-northeast-1:1:parameter/fb",
            ),
        ]);
        let diff = task_definition_diff(&current, &target);
        assert_eq!(
            texts(&diff),
            [
                "~ api secret DATABASE_URL (value source changed)",
                "+ api secret FIREBASE_CREDENTIALS",
            ]
        );
        assert!(diff.iter().all(|l| l.old.is_none() && l.new.is_none()));
    }

    #[test]
    fn containers_added_and_removed() {
        let current = definition(42, api("v1", &[("A", "1")]));
        let mut target = current.clone();
        target.containers = vec![ContainerDefinition {
            name: "sidecar".into(),
            image: "public.ecr.aws/envoy:1.30".into(),
            environment: pairs(&[("MODE", "proxy"), ("ADMIN_TOKEN", "t")]),
            ..ContainerDefinition::default()
        }];
        let text = texts(&task_definition_diff(&current, &target));
        assert_eq!(
            text[0],
            "- container api (123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/ibet/wallet-api:v1)"
        );
        assert!(text.contains(&"- api env A=1".to_string()), "{text:?}");
        assert!(text.contains(&"- api secret DATABASE_URL".to_string()));
        assert!(text.contains(&"+ container sidecar (public.ecr.aws/envoy:1.30)".to_string()));
        assert!(text.contains(&"+ sidecar env ADMIN_TOKEN=****".to_string()));
        assert!(text.contains(&"+ sidecar env MODE=proxy".to_string()));
    }

    #[test]
    fn secret_names_and_credential_urls() {
        for name in [
            "DB_PASSWORD",
            "password",
            "APNS_AUTH_KEY",
            "NODEKEY",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "PRIVATE_KEY_PEM",
            "SENTRY_DSN",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["APP_ENV", "LOG_LEVEL", "DATABASE_URL", "WEB3_HTTP_PROVIDER"] {
            assert!(!is_secret_name(name), "{name}");
        }
        assert!(has_credentials("postgresql://ibet:pw@db:5432/ibet"));
        assert!(has_credentials("redis://:pw@cache:6379/0"));
        assert!(!has_credentials("postgresql://db:5432/ibet"));
        assert!(!has_credentials("postgresql://ibet@db:5432/ibet"));
        assert!(!has_credentials("http://internal-alb:80/path@x:y"));
        assert!(!has_credentials("user:pw@host"));
    }

    #[test]
    fn images_split_into_repository_and_tag() {
        assert_eq!(split_image("nginx:1.27"), ("nginx", "1.27"));
        assert_eq!(
            split_image("registry:5000/team/app:v2"),
            ("registry:5000/team/app", "v2")
        );
        assert_eq!(
            split_image("registry:5000/team/app"),
            ("registry:5000/team/app", "")
        );
        assert_eq!(split_image("app@sha256:abcd"), ("app", "sha256:abcd"));
    }

    fn service(current: u32, deployments: &[(&str, u32, Rollout)]) -> Service {
        Service {
            name: "api".into(),
            task_definition: format!("{ARN}:{current}"),
            desired: 2,
            running: 2,
            deployments: deployments
                .iter()
                .map(|(status, revision, rollout)| Deployment {
                    id: format!("ecs-svc/{revision}"),
                    status: (*status).into(),
                    task_definition: format!("{ARN}:{revision}"),
                    rollout: *rollout,
                    ..Deployment::default()
                })
                .collect(),
            ..Service::default()
        }
    }

    fn revisions(numbers: &[u32]) -> Vec<String> {
        numbers.iter().map(|r| format!("{ARN}:{r}")).collect()
    }

    #[test]
    fn rollback_goes_to_the_previous_deployment_when_ecs_still_lists_it() {
        let rolling = service(
            45,
            &[
                ("PRIMARY", 45, Rollout::InProgress),
                ("ACTIVE", 42, Rollout::Completed),
            ],
        );
        assert_eq!(
            rollback_target(&rolling, &revisions(&[45, 44, 43, 42])),
            Some(RollbackTarget {
                task_definition: format!("{ARN}:42"),
                source: RollbackSource::PreviousDeployment,
            })
        );
    }

    #[test]
    fn rollback_otherwise_goes_to_the_revision_before_the_current_one() {
        let settled = service(44, &[("PRIMARY", 44, Rollout::Completed)]);
        // Revision 43 was deregistered: the one before 44 is 41.
        assert_eq!(
            rollback_target(&settled, &revisions(&[45, 44, 41, 40])),
            Some(RollbackTarget {
                task_definition: format!("{ARN}:41"),
                source: RollbackSource::PreviousRevision,
            })
        );
        let first = service(40, &[("PRIMARY", 40, Rollout::Completed)]);
        assert_eq!(rollback_target(&first, &revisions(&[41, 40])), None);
    }

    #[test]
    fn newer_revisions_are_listed_newest_first() {
        assert_eq!(
            newer_revisions(&format!("{ARN}:42"), &revisions(&[45, 44, 42, 41])),
            revisions(&[45, 44])
        );
        assert!(newer_revisions("nonsense", &revisions(&[1])).is_empty());
        assert_eq!(task_definition_family(&format!("{ARN}:42")), "ibet-api");
        assert_eq!(task_definition_family("ibet-api:42"), "ibet-api");
    }

    #[test]
    fn rollout_phases() {
        let target = format!("{ARN}:43");
        let phase = |s: &Service| rollout_phase(s, &target, WaitUntil::Stable);
        let rolling = service(
            43,
            &[
                ("PRIMARY", 43, Rollout::InProgress),
                ("ACTIVE", 42, Rollout::Completed),
            ],
        );
        assert_eq!(phase(&rolling), RolloutPhase::InProgress);
        let done = service(43, &[("PRIMARY", 43, Rollout::Completed)]);
        assert_eq!(phase(&done), RolloutPhase::Completed);
        let failed = service(
            43,
            &[
                ("PRIMARY", 43, Rollout::Failed),
                ("ACTIVE", 42, Rollout::Completed),
            ],
        );
        assert_eq!(phase(&failed), RolloutPhase::Failed);
        let rolled_back = service(42, &[("PRIMARY", 42, Rollout::InProgress)]);
        assert_eq!(phase(&rolled_back), RolloutPhase::Failed);
        let mut unreported = service(43, &[("PRIMARY", 43, Rollout::Unknown)]);
        unreported.deployments[0].desired = 2;
        unreported.deployments[0].running = 2;
        assert_eq!(phase(&unreported), RolloutPhase::Completed);
        unreported.running = 1;
        assert_eq!(phase(&unreported), RolloutPhase::InProgress);
    }

    #[test]
    fn deployed_is_a_completed_primary_and_stable_also_drained() {
        let target = format!("{ARN}:43");
        // ECS completed the new deployment; the old one still drains a task.
        let mut draining = service(
            43,
            &[
                ("PRIMARY", 43, Rollout::Completed),
                ("ACTIVE", 42, Rollout::Completed),
            ],
        );
        draining.running = 3;
        assert_eq!(
            rollout_phase(&draining, &target, WaitUntil::Deployed),
            RolloutPhase::Completed
        );
        assert_eq!(
            rollout_phase(&draining, &target, WaitUntil::Stable),
            RolloutPhase::InProgress
        );
        // One deployment left, but a task short of the desired count: deployed only.
        let mut short = service(43, &[("PRIMARY", 43, Rollout::Completed)]);
        short.running = 1;
        assert_eq!(
            rollout_phase(&short, &target, WaitUntil::Deployed),
            RolloutPhase::Completed
        );
        assert_eq!(
            rollout_phase(&short, &target, WaitUntil::Stable),
            RolloutPhase::InProgress
        );
        short.running = 2;
        assert_eq!(
            rollout_phase(&short, &target, WaitUntil::Stable),
            RolloutPhase::Completed
        );
        // Still rolling: neither.
        let rolling = service(
            43,
            &[
                ("PRIMARY", 43, Rollout::InProgress),
                ("ACTIVE", 42, Rollout::Completed),
            ],
        );
        for until in [WaitUntil::Deployed, WaitUntil::Stable] {
            assert_eq!(
                rollout_phase(&rolling, &target, until),
                RolloutPhase::InProgress
            );
        }
        assert_eq!(WaitUntil::default(), WaitUntil::Stable);
        assert_eq!(WaitUntil::parse("deployed"), Some(WaitUntil::Deployed));
        assert_eq!(WaitUntil::parse("steady"), None);
    }

    #[test]
    fn a_circuit_breaker_rollback_is_a_failure_with_its_reason() {
        let target = format!("{ARN}:43");
        let previous = format!("{ARN}:42");
        // ECS rolled back: a new PRIMARY of :42, the failed deployment of :43 draining.
        let mut rolled_back = service(
            42,
            &[
                ("PRIMARY", 42, Rollout::Completed),
                ("ACTIVE", 43, Rollout::Failed),
            ],
        );
        rolled_back.deployments[1].rollout_reason =
            Some("ECS deployment circuit breaker: tasks failed to start.".into());
        for until in [WaitUntil::Deployed, WaitUntil::Stable] {
            assert_eq!(
                rollout_phase(&rolled_back, &target, until),
                RolloutPhase::Failed
            );
        }
        assert_eq!(
            rollout_failure(&rolled_back, &target, &previous, 0).as_deref(),
            Some("ECS deployment circuit breaker: tasks failed to start; ECS put ibet-api:42 back")
        );
        // Later the failed deployment is gone: the reason is in the events.
        let mut later = service(42, &[("PRIMARY", 42, Rollout::Completed)]);
        later.events = vec![
            crate::model::ecs::ServiceEvent {
                at: 5_000,
                message: "(service api) has reached a steady state.".into(),
            },
            crate::model::ecs::ServiceEvent {
                at: 4_000,
                message: "(service api) (deployment ecs-svc/43) deployment failed: tasks failed to start.".into(),
            },
            crate::model::ecs::ServiceEvent {
                at: -100_000,
                message: "(service api) (deployment ecs-svc/41) deployment failed: an old one.".into(),
            },
        ];
        assert_eq!(
            rollout_failure(&later, &target, &previous, 3_000).as_deref(),
            Some(
                "(service api) (deployment ecs-svc/43) deployment failed: tasks failed to start; ECS put ibet-api:42 back"
            )
        );
        later.events.remove(1);
        assert_eq!(
            rollout_failure(&later, &target, &previous, 3_000).as_deref(),
            Some("ECS put ibet-api:42 back")
        );
    }
}
