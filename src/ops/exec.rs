//! ECS Exec: an interactive session in a running container, through
//! `aws ecs execute-command --interactive` (the AWS CLI and its Session Manager plugin).
//!
//! Planning (`plan_exec`) finds the two programs on `PATH` and reads the task (one
//! DescribeTasks): it must be RUNNING, started with ExecuteCommand enabled, and have the
//! container. Each is a check whose failure names the fix (the install pages, the
//! `update-service --enable-execute-command` to run, the IAM permissions), and a plan
//! with a failed check runs nothing. The plan's action is the exact command line
//! ([`ExecCommand`]); the executor runs it with the terminal handed over
//! ([`super::Executor::execute_session`]) and audits the session's exit status.
//!
//! A session changes nothing in ECS, so it takes no action lock (README: "Exec"); it is
//! still refused in a read-only environment without `--write` and confirmed with the
//! environment's name on a danger one, since what is typed into it can change anything.
//! Nothing here draws or reads the keyboard; [`run_attached`] is the one place that
//! starts the child.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Check, Mutation, OpContext, Plan, Verification, task_id};
use crate::config::{Cluster, Environment};

/// The AWS CLI's program name.
pub const AWS_CLI: &str = "aws";
/// The Session Manager plugin's program name, which the AWS CLI runs for the session.
pub const SESSION_MANAGER_PLUGIN: &str = "session-manager-plugin";

/// Check name: the AWS CLI is on `PATH`.
pub const CHECK_AWS_CLI: &str = "aws_cli";
/// Check name: the Session Manager plugin is on `PATH`.
pub const CHECK_PLUGIN: &str = "session_manager_plugin";
/// Check name: the task started with ExecuteCommand enabled.
pub const CHECK_EXECUTE_COMMAND: &str = "execute_command";
/// Check name: the task has the container.
pub const CHECK_CONTAINER: &str = "container";

/// Where to get the AWS CLI.
pub const AWS_CLI_INSTALL: &str = "install the AWS CLI v2: \
    https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html";
/// Where to get the Session Manager plugin.
pub const PLUGIN_INSTALL: &str = "install the Session Manager plugin for the AWS CLI: \
    https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html";
/// What the identity and the task role need for a session.
pub const IAM_NEEDS: &str = "a session also needs ecs:ExecuteCommand for you and the \
    ssmmessages:{Create,Open}{Control,Data}Channel permissions for the task role";

/// What to look at when a session ends badly (the README's "Exec" lists the
/// permissions in full).
pub const SESSION_FAILED_HINT: &str = "the AWS CLI printed why; when AWS refused the \
    session: ecs:ExecuteCommand for you, ssmmessages:* for the task role, and the SSM \
    agent running in the container";

/// The command line of a session: the program (the AWS CLI found on `PATH`) and its
/// arguments, exactly as run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecCommand {
    /// The AWS CLI.
    pub program: PathBuf,
    /// `ecs execute-command --cluster … --interactive --command …`.
    pub args: Vec<String>,
}

impl ExecCommand {
    /// The arguments of `aws` for a session in `container` of `task` (id or ARN) in the
    /// ECS cluster `ecs_cluster` running `command`, in `environment`'s region, with its
    /// profile and endpoint when it sets them.
    pub fn new(
        program: PathBuf,
        environment: &Environment,
        ecs_cluster: &str,
        task: &str,
        container: &str,
        command: &str,
    ) -> Self {
        let mut args: Vec<String> = [
            "ecs",
            "execute-command",
            "--cluster",
            ecs_cluster,
            "--task",
            task_id(task),
            "--container",
            container,
            "--interactive",
            "--command",
            command,
            "--region",
            &environment.region,
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
        if let Some(profile) = &environment.aws_profile {
            args.extend(["--profile".to_string(), profile.clone()]);
        }
        if let Some(endpoint) = &environment.endpoint_url {
            args.extend(["--endpoint-url".to_string(), endpoint.clone()]);
        }
        Self { program, args }
    }

    /// The command as a shell would take it: `aws ecs execute-command … --command
    /// 'geth attach /data/geth.ipc'` (the program by its name).
    pub fn shell_text(&self) -> String {
        std::iter::once(AWS_CLI.to_string())
            .chain(self.args.iter().map(|a| crate::text::shell_word(a)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEnd {
    /// The AWS CLI exited with this status.
    Exited(i32),
    /// The AWS CLI was ended by this signal.
    Signalled(i32),
    /// It could not be started (or waited for): why.
    NotStarted(String),
}

impl SessionEnd {
    /// The exit status, when the CLI exited.
    pub fn exit_status(&self) -> Option<i32> {
        match self {
            Self::Exited(code) => Some(*code),
            _ => None,
        }
    }

    /// `exit status 0`, `ended by signal 9`, `not started: …`.
    pub fn describe(&self) -> String {
        match self {
            Self::Exited(code) => format!("exit status {code}"),
            Self::Signalled(signal) => format!("ended by signal {signal}"),
            Self::NotStarted(why) => format!("not started: {why}"),
        }
    }
}

/// Where the child's standard streams go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// The terminal the console runs on (the TUI has handed it over).
    Terminal,
    /// Nowhere: stdin empty, output dropped (a console with no terminal of its own,
    /// such as one driven by tests).
    Detached,
}

/// Runs `command` and waits for it on the blocking pool, so the console's other tasks
/// (its pollers, a lock being renewed) go on meanwhile. While it runs, Ctrl-C and
/// Ctrl-\ typed on the terminal reach the session, not the console: the console takes
/// SIGINT and SIGQUIT for itself (as a shell does while it waits for a command), and the
/// child starts with the default handling.
pub async fn run_attached(command: &ExecCommand, attach: Attach) -> SessionEnd {
    use tokio::signal::unix::{SignalKind, signal};
    let _interrupt = signal(SignalKind::interrupt()).ok();
    let _quit = signal(SignalKind::quit()).ok();
    let mut child = std::process::Command::new(&command.program);
    child.args(&command.args);
    if attach == Attach::Detached {
        child
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
    }
    let mut child = match child.spawn() {
        Ok(child) => child,
        Err(e) => return SessionEnd::NotStarted(format!("{}: {e}", command.program.display())),
    };
    match tokio::task::spawn_blocking(move || child.wait()).await {
        Ok(Ok(status)) => {
            use std::os::unix::process::ExitStatusExt;
            match (status.code(), status.signal()) {
                (Some(code), _) => SessionEnd::Exited(code),
                (None, Some(signal)) => SessionEnd::Signalled(signal),
                (None, None) => SessionEnd::NotStarted("no exit status".into()),
            }
        }
        Ok(Err(e)) => SessionEnd::NotStarted(format!("waiting for it: {e}")),
        Err(e) => SessionEnd::NotStarted(format!("waiting for it: {e}")),
    }
}

/// The executable file `name` in the folders of `path` (a `PATH` value), the first one
/// found.
pub fn find_on_path(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The programs a session needs, as found on `path`; a check each.
fn tool_checks(path: Option<&OsStr>) -> (Option<PathBuf>, Vec<Check>) {
    let aws = find_on_path(AWS_CLI, path);
    let plugin = find_on_path(SESSION_MANAGER_PLUGIN, path);
    let found = |name: &str, at: &Option<PathBuf>, install: &str| match at {
        Some(at) => Check::pass(name, at.display().to_string()),
        None => Check::fail(name, "not found on PATH").detail(install),
    };
    let checks = vec![
        found(CHECK_AWS_CLI, &aws, AWS_CLI_INSTALL),
        found(CHECK_PLUGIN, &plugin, PLUGIN_INSTALL),
    ];
    (aws, checks)
}

/// What a plan of an exec looks for, besides its environment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExecTarget<'a> {
    pub service: &'a str,
    pub task: &'a str,
    pub container: Option<&'a str>,
    pub command: Option<&'a str>,
}

/// Plans a session in `target`: the programs on `PATH`, then the task as ECS reports it.
/// Every check is made, so the operator sees every fix at once; the action is set only
/// when all pass.
pub(crate) async fn plan_exec(
    plan: &mut Plan,
    cluster: &Cluster,
    target: ExecTarget<'_>,
    ctx: &OpContext,
) {
    plan_exec_with_path(
        plan,
        cluster,
        target,
        ctx,
        std::env::var_os("PATH").as_deref(),
    )
    .await;
}

async fn plan_exec_with_path(
    plan: &mut Plan,
    cluster: &Cluster,
    target: ExecTarget<'_>,
    ctx: &OpContext,
    path: Option<&OsStr>,
) {
    let (aws, tools) = tool_checks(path);
    for check in tools {
        plan.check(check);
    }
    let ExecTarget {
        service,
        task,
        container,
        command,
    } = target;
    // The task alone, as ECS describes it now (one DescribeTasks).
    let found = match ctx.backends.ecs.task(&cluster.ecs_cluster, task).await {
        Ok(found) => found,
        Err(e) => {
            let value = e
                .hint()
                .map_or_else(|| "not read".to_string(), |h| format!("not read ({h})"));
            plan.check(Check::fail(super::restart::CHECK_ECS, value).detail(e.to_string()));
            return;
        }
    };
    let Some(found) = found else {
        plan.check(
            Check::fail(
                super::restart::CHECK_TASK,
                format!("{} not found", task_id(task)),
            )
            .detail(format!(
                "no task `{}` in {}",
                task_id(task),
                cluster.ecs_cluster
            )),
        );
        return;
    };
    let id = found.id.clone();
    if found.service.as_deref() != Some(service) {
        plan.check(
            Check::fail(
                super::restart::CHECK_TASK,
                format!("{id} is not of {service}"),
            )
            .detail(format!(
                "it belongs to {}",
                found.service.as_deref().unwrap_or("no service")
            )),
        );
        return;
    }
    if found.is_running() {
        plan.check(Check::pass(
            super::restart::CHECK_TASK,
            format!("{id} RUNNING"),
        ));
    } else {
        plan.check(
            Check::fail(
                super::restart::CHECK_TASK,
                format!("{id} {}", found.last_status),
            )
            .detail("a session needs a RUNNING task: pick a running one"),
        );
    }
    if found.enable_execute_command {
        plan.check(Check::pass(CHECK_EXECUTE_COMMAND, "enabled"));
    } else {
        plan.check(
            Check::fail(CHECK_EXECUTE_COMMAND, "not enabled on this task").detail(format!(
                "run `aws ecs update-service --cluster {} --service {service} \
                 --enable-execute-command --force-new-deployment`: the tasks it starts \
                 can be entered; {IAM_NEEDS}",
                cluster.ecs_cluster
            )),
        );
    }
    let names: Vec<&str> = found.containers.iter().map(|c| c.name.as_str()).collect();
    let chosen = match container {
        Some(name) if names.contains(&name) => Some(name),
        Some(name) => {
            plan.check(
                Check::fail(CHECK_CONTAINER, format!("{name} not in the task"))
                    .detail(format!("its containers: {}", names.join(", "))),
            );
            None
        }
        None if names.len() == 1 => names.first().copied(),
        None => {
            plan.check(Check::fail(CHECK_CONTAINER, "not named").detail(format!(
                "the task has {} containers ({}): name one",
                names.len(),
                names.join(", ")
            )));
            None
        }
    };
    let Some(container) = chosen else {
        return;
    };
    plan.check(Check::pass(CHECK_CONTAINER, container));
    let command = command.unwrap_or_else(|| cluster.exec_command_of(service));
    // What would run is shown only when it will: a refused plan lists its fixes alone.
    let Some(aws) = aws.filter(|_| !plan.is_blocked()) else {
        return;
    };
    let exec = ExecCommand::new(
        aws,
        &ctx.environment,
        &cluster.ecs_cluster,
        &found.arn,
        container,
        command,
    );
    plan.change(format!(
        "open an interactive session in {service}/{id}/{container}: {} (nothing in ECS changes)",
        exec.shell_text()
    ));
    plan.set_action(Mutation::Session(exec), Verification::SessionEnded);
}

/// The task of `service` a session goes to when none is named: the newest RUNNING task
/// with ExecuteCommand enabled, else the newest RUNNING one (its plan then says what is
/// missing). Returns the task and how many were running.
pub fn pick_task<'a>(
    snapshot: &'a crate::model::ecs::ClusterSnapshot,
    service: &'a str,
) -> (Option<&'a crate::model::ecs::Task>, usize) {
    let running: Vec<_> = snapshot
        .tasks_of(service)
        .filter(|t| t.is_running())
        .collect();
    let picked = running
        .iter()
        .find(|t| t.enable_execute_command)
        .or_else(|| running.first())
        .copied();
    (picked, running.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment() -> Environment {
        Environment {
            name: "staging".into(),
            region: "ap-northeast-1".into(),
            aws_profile: Some("ibet-stg".into()),
            endpoint_url: None,
            danger: false,
            read_only: None,
            redact: false,
            alarm_prefix: None,
            team: crate::config::Team::default(),
            clusters: Vec::new(),
        }
    }

    #[test]
    fn the_command_line_names_cluster_task_container_command_region_and_profile() {
        let exec = ExecCommand::new(
            PathBuf::from("/usr/local/bin/aws"),
            &environment(),
            "ibet-stg-satoshi",
            "arn:aws:ecs:ap-northeast-1:123456789012:task/ibet-stg-satoshi/0f1e2d3c",
            "quorum",
            "geth attach /data/geth.ipc",
        );
        assert_eq!(
            exec.args,
            [
                "ecs",
                "execute-command",
                "--cluster",
                "ibet-stg-satoshi",
                "--task",
                "0f1e2d3c",
                "--container",
                "quorum",
                "--interactive",
                "--command",
                "geth attach /data/geth.ipc",
                "--region",
                "ap-northeast-1",
                "--profile",
                "ibet-stg",
            ]
        );
        assert_eq!(
            exec.shell_text(),
            "aws ecs execute-command --cluster ibet-stg-satoshi --task 0f1e2d3c \
             --container quorum --interactive --command 'geth attach /data/geth.ipc' \
             --region ap-northeast-1 --profile ibet-stg"
        );
    }

    #[test]
    fn programs_are_found_on_path_when_executable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let other = tempfile::tempdir().expect("tempdir");
        let aws = dir.path().join("aws");
        std::fs::write(&aws, "#!/bin/sh\n").expect("write");
        std::fs::write(other.path().join(SESSION_MANAGER_PLUGIN), "").expect("write");
        let path = std::env::join_paths([other.path(), dir.path()]).expect("join");
        // Not executable yet: not found.
        assert_eq!(find_on_path(AWS_CLI, Some(&path)), None);
        std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(find_on_path(AWS_CLI, Some(&path)), Some(aws));
        assert_eq!(find_on_path(SESSION_MANAGER_PLUGIN, Some(&path)), None);
        assert_eq!(find_on_path(AWS_CLI, None), None);
        let (found, checks) = tool_checks(Some(&path));
        assert!(found.is_some());
        assert!(checks[0].passed);
        assert!(!checks[1].passed);
        assert_eq!(checks[1].value, "not found on PATH");
        assert!(
            checks[1]
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("install the Session Manager plugin"))
        );
    }

    #[test]
    fn sessions_end_in_words() {
        assert_eq!(SessionEnd::Exited(0).describe(), "exit status 0");
        assert_eq!(SessionEnd::Exited(0).exit_status(), Some(0));
        assert_eq!(SessionEnd::Signalled(9).describe(), "ended by signal 9");
        assert_eq!(SessionEnd::Signalled(9).exit_status(), None);
    }

    #[tokio::test]
    async fn a_detached_session_runs_the_program_with_its_arguments() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let program = dir.path().join("aws");
        let record = dir.path().join("args");
        std::fs::write(
            &program,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexit 3\n",
                record.display()
            ),
        )
        .expect("write");
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let command = ExecCommand {
            program,
            args: vec!["ecs".into(), "--command".into(), "geth attach".into()],
        };
        assert_eq!(
            run_attached(&command, Attach::Detached).await,
            SessionEnd::Exited(3)
        );
        assert_eq!(
            std::fs::read_to_string(&record).expect("recorded"),
            "ecs\n--command\ngeth attach\n"
        );
        let missing = ExecCommand {
            program: dir.path().join("nope"),
            args: Vec::new(),
        };
        assert!(matches!(
            run_attached(&missing, Attach::Detached).await,
            SessionEnd::NotStarted(_)
        ));
    }
}
