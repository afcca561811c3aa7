//! The mutating subcommands, `switch`, `restart`, `release` and `rollback` (and `exec`,
//! `locks`, `unlock`), on the ops layer: the same plans, gates, confirmations and audit
//! as the TUI.
//!
//! Each command turns its arguments into an [`Op`], plans it ([`ops::plan`]), prints the
//! plan (checks with their values, what will change, warnings), waits where the op needs
//! it (the sync gate of a switch), asks for the operator's confirmation, and hands the
//! plan to the [`Executor`], which guards, audits, executes once and verifies. What the
//! command itself decides not to run (a blocked plan, a gate that did not pass in time,
//! no terminal to confirm on) is refused through [`Executor::refuse_plan`], so it is
//! audited like every other refusal. The exit code is the report's: 0 done and verified,
//! 1 failed, 3 refused; 2 when the command line or config names nothing that exists.
//!
//! Confirmation, in one place ([`approval`]): `--yes` or `--confirm NAME` confirm
//! without a prompt; a danger environment needs its name (`--confirm NAME`); on a terminal
//! without those flags the operator is asked; without a terminal and without flags the op
//! is refused. An override of the sync gate takes a second confirmation of its own.
//!
//! Output goes through a [`Console`]: human text on stdout, or, with `--json`, progress
//! on stderr and one JSON document on stdout at the end. Prompts go to stderr. This
//! module and its children draw nothing and call no SDK: they talk to the backends only
//! through the ops layer and the backend traits.

pub mod exec;
pub mod locks;
pub mod release;
pub mod restart;
pub mod switch;

use std::collections::VecDeque;
use std::io::{BufRead, IsTerminal, Write};

use serde::Serialize;

use crate::cli::{ActionOpts, Command, GlobalOpts, exit};
use crate::config::{Cluster, Environment, closest};
use crate::model::ecs::short_task_definition;
use crate::ops::audit::{AuditLog, os_user_from_env};
use crate::ops::{
    self, Approval, Check, Confirmation, Executor, Op, OpContext, OpReport, Outcome, Plan,
    Readiness, task_id,
};
use crate::session::Session;
use crate::text::sanitize;

/// Asks the operator a question and reads the answer.
pub trait Prompter: Send {
    /// Whether there is someone to ask (a terminal on stdin).
    fn interactive(&self) -> bool;
    /// Shows `question` and returns the line typed (without its line ending); `None` at
    /// the end of input.
    fn ask(&mut self, question: &str) -> Option<String>;
}

/// Asks on the terminal: the question on stderr, the answer from stdin.
#[derive(Debug, Default)]
pub struct TerminalPrompter;

impl Prompter for TerminalPrompter {
    fn interactive(&self) -> bool {
        std::io::stdin().is_terminal()
    }

    fn ask(&mut self, question: &str) -> Option<String> {
        let mut err = std::io::stderr();
        let _ = write!(err, "{question}");
        let _ = err.flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
        }
    }
}

/// Answers from a list, for tests and scripted runs; records the questions asked.
#[derive(Debug, Default, Clone)]
pub struct ScriptedPrompter {
    answers: VecDeque<String>,
    terminal: bool,
    /// The questions asked so far (shared by clones).
    pub questions: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ScriptedPrompter {
    /// A prompter on a terminal that answers `answers`, in order, then reaches the end of
    /// input.
    pub fn new<S: Into<String>>(answers: impl IntoIterator<Item = S>) -> Self {
        Self {
            answers: answers.into_iter().map(Into::into).collect(),
            terminal: true,
            questions: std::sync::Arc::default(),
        }
    }

    /// A prompter with no terminal: nobody to ask.
    pub fn without_terminal() -> Self {
        Self::default()
    }

    /// The questions asked so far.
    pub fn asked(&self) -> Vec<String> {
        self.questions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Prompter for ScriptedPrompter {
    fn interactive(&self) -> bool {
        self.terminal
    }

    fn ask(&mut self, question: &str) -> Option<String> {
        self.questions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(question.to_string());
        self.answers.pop_front()
    }
}

/// Where a command writes, and how it asks.
pub struct Console {
    out: Box<dyn Write + Send>,
    err: Box<dyn Write + Send>,
    prompter: Box<dyn Prompter>,
    json: bool,
    document: serde_json::Map<String, serde_json::Value>,
    /// Account IDs and IP addresses masked in what is printed ([`crate::redact`]).
    redact: bool,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}

impl Console {
    /// stdout, stderr and the terminal; `json`: one JSON document on stdout.
    pub fn terminal(json: bool) -> Self {
        Self::new(
            Box::new(std::io::stdout()),
            Box::new(std::io::stderr()),
            Box::new(TerminalPrompter),
            json,
        )
    }

    /// A console on the given streams and prompter.
    pub fn new(
        out: Box<dyn Write + Send>,
        err: Box<dyn Write + Send>,
        prompter: Box<dyn Prompter>,
        json: bool,
    ) -> Self {
        Self {
            out,
            err,
            prompter,
            json,
            document: serde_json::Map::new(),
            redact: false,
        }
    }

    /// Prints one line for the operator: stdout, or stderr in JSON mode.
    pub fn say(&mut self, line: impl AsRef<str>) {
        let stream = if self.json {
            &mut self.err
        } else {
            &mut self.out
        };
        let line = line.as_ref();
        let line = if self.redact {
            crate::redact::text(line)
        } else {
            line.into()
        };
        let _ = writeln!(stream, "{line}");
        let _ = stream.flush();
    }

    /// Adds `value` under `key` to the JSON document (ignored without `--json`).
    pub fn record(&mut self, key: &str, value: &impl Serialize) {
        if self.json
            && let Ok(value) = serde_json::to_value(value)
        {
            self.document.insert(key.to_string(), value);
        }
    }

    /// Prints the JSON document, once, at the end of a command.
    fn finish_json(&mut self) {
        if !self.json {
            return;
        }
        let mut document = serde_json::Value::Object(std::mem::take(&mut self.document));
        if self.redact {
            crate::redact::json(&mut document);
        }
        match serde_json::to_string_pretty(&document) {
            Ok(text) => {
                let _ = writeln!(self.out, "{text}");
            }
            Err(e) => {
                let _ = writeln!(self.err, "ibet-console: {e}");
            }
        }
        let _ = self.out.flush();
    }

    fn interactive(&self) -> bool {
        self.prompter.interactive()
    }

    fn ask(&mut self, question: &str) -> Option<String> {
        self.prompter.ask(question)
    }
}

/// Runs one of the action subcommands on `session` with the terminal as console;
/// returns the exit code. Other commands are not actions: exit 2.
pub async fn run(session: Session, global: &GlobalOpts, command: &Command) -> i32 {
    let json = match command {
        Command::Switch(args) => args.action.json,
        Command::Restart(args) => args.action.json,
        Command::Release(args) => args.action.json,
        Command::Rollback(args) => args.action.json,
        Command::Unlock(args) => args.action.json,
        Command::Exec(args) => args.action.json,
        Command::Locks { json } => *json,
        _ => return exit::INVALID,
    };
    let mut console = Console::terminal(json);
    run_on(session, global, command, &mut console).await
}

/// [`run`] on a given console (tests pass buffers and a scripted prompter).
pub async fn run_on(
    session: Session,
    global: &GlobalOpts,
    command: &Command,
    console: &mut Console,
) -> i32 {
    console.redact = session.config.redacted();
    let code = match command {
        Command::Switch(args) => switch::run(&session, global, args, console).await,
        Command::Restart(args) => restart::run(&session, global, args, console).await,
        Command::Release(args) => release::run_release(&session, global, args, console).await,
        Command::Rollback(args) => release::run_rollback(&session, global, args, console).await,
        Command::Locks { .. } => locks::run_locks(&session, console).await,
        Command::Unlock(args) => locks::run_unlock(&session, global, args, console).await,
        Command::Exec(args) => exec::run(&session, global, args, console).await,
        _ => exit::INVALID,
    };
    console.record("exit_code", &code);
    console.finish_json();
    code
}

/// What an action works with: its environment's context, the cluster, the executor.
pub(crate) struct Prepared {
    pub ctx: OpContext,
    pub cluster: Cluster,
    pub executor: Executor,
}

/// Finds the environment (`--env`, or the only one configured) and the cluster, and
/// opens the audit log (`--audit-log`, the config's `audit_log`, or the default path).
/// Prints what is wrong and returns exit code 2 otherwise.
pub(crate) fn prepare(
    session: &Session,
    global: &GlobalOpts,
    cluster: &str,
    console: &mut Console,
) -> Result<Prepared, i32> {
    let environments = &session.config.environments;
    let names = || {
        environments
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
    };
    let index = match &global.env {
        Some(name) => environments.iter().position(|e| &e.name == name),
        None if environments.len() == 1 => Some(0),
        None => {
            console.say(format!(
                "ibet-console: name the environment with --env NAME; configured: {}",
                names().join(", ")
            ));
            return Err(exit::INVALID);
        }
    };
    let Some(index) = index else {
        console.say(format!(
            "ibet-console: no environment `{}`; configured: {}",
            global.env.as_deref().unwrap_or_default(),
            names().join(", ")
        ));
        return Err(exit::INVALID);
    };
    let environment: &Environment = &environments[index];
    let Some(backends) = session.backends.get(index) else {
        console.say(format!(
            "ibet-console: no backends for `{}`",
            environment.name
        ));
        return Err(exit::INVALID);
    };
    let Some(found) = environment.clusters.iter().find(|c| c.name == cluster) else {
        let clusters: Vec<&str> = environment
            .clusters
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        let hint = closest(cluster, &clusters).map_or_else(
            || format!("configured: {}", clusters.join(", ")),
            |near| format!("did you mean `{near}`?"),
        );
        console.say(format!(
            "ibet-console: no cluster `{cluster}` in `{}`; {hint}",
            environment.name
        ));
        return Err(exit::INVALID);
    };
    let audit = match &global.audit_log {
        Some(path) => Some(AuditLog::new(path)),
        None => AuditLog::from_config(&session.config),
    };
    let Some(audit) = audit else {
        console.say(
            "ibet-console: no place for the audit log: set audit_log in the config or pass --audit-log PATH",
        );
        return Err(exit::INVALID);
    };
    Ok(Prepared {
        ctx: OpContext {
            environment: environment.clone(),
            backends: backends.clone(),
            clock: session.clock.clone(),
            write: global.write,
        },
        cluster: found.clone(),
        executor: Executor::new(audit, os_user_from_env()),
    })
}

/// `ok`, `FAIL`, or `fail*` for a gate check an override may pass over.
fn mark(check: &Check) -> &'static str {
    match (check.passed, check.overridable) {
        (true, _) => "ok  ",
        (false, false) => "FAIL",
        (false, true) => "fail",
    }
}

/// Prints a plan: title, environment, checks with values, the release preview, what will
/// change, warnings, and ops worth doing first.
pub(crate) fn print_plan(console: &mut Console, plan: &Plan, global: &GlobalOpts) {
    console.say(format!("Plan: {}", sanitize(&plan.op.title())));
    let env = &plan.op.env();
    console.say(format!(
        "  environment {env}{}",
        if plan.danger {
            " (danger: confirm with its name)"
        } else {
            ""
        }
    ));
    if !plan.checks.is_empty() {
        console.say("Checks:");
        let width = plan.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for check in &plan.checks {
            let detail = check
                .detail
                .as_deref()
                .map(|d| format!(" ({})", sanitize(d)))
                .unwrap_or_default();
            console.say(format!(
                "  {} {:width$}  {}{detail}",
                mark(check),
                check.name,
                sanitize(&check.value)
            ));
        }
    }
    if let Some(preview) = &plan.release {
        console.say(format!(
            "Running revision: {}",
            short_task_definition(&preview.current)
        ));
        if preview.newer_revisions.is_empty() {
            console.say("Newer revisions: none (the service runs the newest active revision)");
        } else {
            let newer: Vec<&str> = preview
                .newer_revisions
                .iter()
                .map(|r| short_task_definition(r))
                .collect();
            console.say(format!(
                "Newer revisions (newest first): {}",
                newer.join(", ")
            ));
        }
        console.say(format!(
            "Diff {} → {}:",
            short_task_definition(&preview.current),
            short_task_definition(&preview.target)
        ));
        if preview.diff.is_empty() {
            console.say("  (no difference in images, variables, secrets, resources or logs)");
        }
        for line in &preview.diff {
            console.say(format!("  {}", sanitize(&line.text())));
        }
    }
    if !plan.changes.is_empty() {
        console.say("Will change:");
        for change in &plan.changes {
            console.say(format!("  {}", sanitize(change)));
        }
    }
    if !plan.warnings.is_empty() {
        console.say("Warnings:");
        for warning in &plan.warnings {
            console.say(format!("  ! {}", sanitize(warning)));
        }
    }
    if !plan.suggestions.is_empty() {
        console.say("Worth doing first:");
        for op in &plan.suggestions {
            console.say(format!("  {}", command_line(global, op)));
        }
    }
}

/// Why a blocked plan will not run: its failed checks that cannot be overridden.
pub(crate) fn blocked_reason(plan: &Plan) -> String {
    let failed: Vec<String> = plan
        .failed_checks()
        .filter(|c| !c.overridable)
        .map(Check::line)
        .collect();
    if failed.is_empty() {
        "nothing to do".to_string()
    } else {
        failed.join("; ")
    }
}

/// The operator's approval of `plan`, from the flags or the prompt; `Err` with the
/// reason to refuse when there is no way to ask. `override_gate`: the plan needs the
/// gate's override and the operator asked for it (`--override-gate`), so a second
/// confirmation is gathered too.
///
/// Flags: `--yes` or `--confirm` confirm without a prompt. The first `--confirm` is the
/// typed confirmation (needed on a danger environment); the override's is the second
/// `--confirm` on a danger environment, and `--yes` (or the flag itself) elsewhere. The
/// executor judges whether they fit; this only gathers them.
pub(crate) fn approval(
    console: &mut Console,
    plan: &Plan,
    opts: &ActionOpts,
    override_gate: bool,
) -> Result<Approval, String> {
    let env = plan.op.env().to_string();
    if opts.yes || !opts.confirm.is_empty() {
        let confirmation = opts
            .confirm
            .first()
            .map_or(Confirmation::Yes, |c| Confirmation::Typed(c.clone()));
        let mut approval = Approval {
            confirmation,
            override_gate: None,
        };
        if override_gate {
            approval.override_gate = Some(if plan.danger {
                Confirmation::Typed(opts.confirm.get(1).cloned().unwrap_or_default())
            } else {
                Confirmation::Yes
            });
        }
        return Ok(approval);
    }
    if !console.interactive() {
        return Err(if plan.danger {
            format!("no terminal to confirm on: pass --yes --confirm {env}")
        } else {
            "no terminal to confirm on: pass --yes".to_string()
        });
    }
    let question = if plan.danger {
        format!(
            "`{env}` is a danger environment. Type its name to {}: ",
            plan.op.title()
        )
    } else {
        format!("{}? Type yes to go on: ", capitalise(&plan.op.title()))
    };
    let answer = console.ask(&question).unwrap_or_default();
    let mut approval = Approval::typed(answer);
    if override_gate {
        let (failed, anyway) = if plan.gate.is_some() {
            ("The sync gate has NOT passed", "switch anyway")
        } else {
            ("A check has FAILED", "go on anyway")
        };
        let question = if plan.danger {
            format!("{failed}. Type `{env}` again to {anyway} (audited as an override): ")
        } else {
            format!(
                "{failed}. {} (audited as an override)? Type yes: ",
                capitalise(anyway)
            )
        };
        let second = console.ask(&question).unwrap_or_default();
        approval = approval.with_override(Confirmation::Typed(second));
    }
    Ok(approval)
}

/// What to tell an operator whose flags will not satisfy the executor, before it says
/// so: the flag to add.
pub(crate) fn confirmation_hint(
    plan: &Plan,
    opts: &ActionOpts,
    override_gate: bool,
) -> Option<String> {
    let env = plan.op.env();
    let flags = opts.yes || !opts.confirm.is_empty();
    if !flags || !plan.danger {
        return None;
    }
    if opts.confirm.is_empty() {
        return Some(format!(
            "`{env}` is a danger environment: add --confirm {env}"
        ));
    }
    if override_gate && opts.confirm.len() < 2 {
        return Some(format!(
            "the override takes its own confirmation: give --confirm {env} a second time"
        ));
    }
    None
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// Refuses `plan` through the executor (audited), prints why, and returns exit code 3.
pub(crate) async fn refuse(
    console: &mut Console,
    prepared: &Prepared,
    plan: &Plan,
    reason: String,
    hint: Option<String>,
) -> i32 {
    let mut report = prepared
        .executor
        .refuse_plan(plan, &prepared.ctx, reason)
        .await;
    if report.hint.is_none() {
        report.hint = hint;
    }
    print_report(console, prepared, &report)
}

/// Prints how an op ended and returns its exit code.
pub(crate) fn print_report(console: &mut Console, prepared: &Prepared, report: &OpReport) -> i32 {
    console.say(format!("Result: {}", sanitize(&report.message)));
    if report.override_gate {
        console.say(if matches!(report.op, Op::SwitchAlb { .. }) {
            "  the failed sync gate was overridden (audited as an override)"
        } else {
            "  the failed checks were overridden (audited as an override)"
        });
    }
    if let Some(error) = &report.error {
        console.say(format!("  {}", sanitize(error)));
    }
    if let Some(hint) = &report.hint {
        console.say(format!("  hint: {}", sanitize(hint)));
    }
    console.say(format!(
        "Audit log: {}",
        prepared.executor.audit_log().path().display()
    ));
    console.record("report", report);
    console.record("audit_log", &prepared.executor.audit_log().path());
    report.exit_code()
}

/// Confirms and executes a plan that is ready (or needs the override the operator asked
/// for), prints the report, and returns the exit code.
pub(crate) async fn confirm_and_execute(
    console: &mut Console,
    prepared: &Prepared,
    plan: &Plan,
    opts: &ActionOpts,
    override_gate: bool,
) -> (i32, OpReport) {
    let (code, mut report, lease) =
        confirm_and_execute_holding(console, prepared, plan, opts, override_gate).await;
    if let Some(lease) = lease {
        crate::ops::release_into(lease, &mut report).await;
        if let Some(hint) = report.hint.as_ref().filter(|h| h.contains("not released")) {
            console.say(format!("  hint: {}", sanitize(hint)));
        }
    }
    (code, report)
}

/// [`confirm_and_execute`] that keeps the action lock of a run that went well, for the
/// caller to release after watching what it started.
pub(crate) async fn confirm_and_execute_holding(
    console: &mut Console,
    prepared: &Prepared,
    plan: &Plan,
    opts: &ActionOpts,
    override_gate: bool,
) -> (i32, OpReport, Option<crate::ops::lock::Lease>) {
    let hint = confirmation_hint(plan, opts, override_gate);
    let approval = match approval(console, plan, opts, override_gate) {
        Ok(approval) => approval,
        Err(reason) => {
            let report = prepared
                .executor
                .refuse_plan(plan, &prepared.ctx, reason)
                .await;
            let code = print_report(console, prepared, &report);
            return (code, report, None);
        }
    };
    let (mut report, lease) = prepared
        .executor
        .execute_holding(plan, &approval, &prepared.ctx)
        .await;
    if report.outcome == Outcome::Refused && report.hint.is_none() {
        report.hint = hint;
    }
    let code = print_report(console, prepared, &report);
    (code, report, lease)
}

/// Plans `op`, prints the plan, refuses it when blocked; `Ok(plan)` when it may go on.
pub(crate) async fn plan_and_print(
    console: &mut Console,
    prepared: &Prepared,
    op: &Op,
    global: &GlobalOpts,
) -> Result<Plan, i32> {
    let plan = ops::plan(op, &prepared.ctx).await;
    print_plan(console, &plan, global);
    console.record("plan", &plan);
    if plan.readiness == Readiness::Blocked {
        let reason = blocked_reason(&plan);
        return Err(refuse(console, prepared, &plan, reason, None).await);
    }
    Ok(plan)
}

/// The command line that runs `op` with the same config, environment and `--write`.
pub fn command_line(global: &GlobalOpts, op: &Op) -> String {
    let mut words = vec!["ibet-console".to_string()];
    if global.demo {
        words.push("--demo".into());
    }
    if let Some(config) = &global.config {
        words.push("--config".into());
        words.push(crate::text::shell_word(&config.display().to_string()));
    }
    if let Some(audit) = &global.audit_log {
        words.push("--audit-log".into());
        words.push(crate::text::shell_word(&audit.display().to_string()));
    }
    words.push("--env".into());
    words.push(crate::text::shell_word(op.env()));
    if global.write {
        words.push("--write".into());
    }
    let revision = |td: &str| {
        crate::model::ecs::task_definition_revision(td)
            .map_or_else(|| short_task_definition(td).to_string(), |r| r.to_string())
    };
    let (command, args): (&str, Vec<(&str, String)>) = match op {
        Op::SwitchAlb { cluster, to, .. } => (
            "switch",
            vec![("--cluster", cluster.clone()), ("--to", to.clone())],
        ),
        Op::StopTask {
            cluster,
            service,
            task,
            ..
        } => (
            "restart",
            vec![
                ("--cluster", cluster.clone()),
                ("--service", service.clone()),
                ("--task", task_id(task).to_string()),
            ],
        ),
        Op::ForceDeploy {
            cluster, service, ..
        } => (
            "restart",
            vec![
                ("--cluster", cluster.clone()),
                ("--service", service.clone()),
            ],
        ),
        Op::Release {
            cluster,
            service,
            to_task_definition,
            ..
        } => (
            "release",
            vec![
                ("--cluster", cluster.clone()),
                ("--service", service.clone()),
                ("--revision", revision(to_task_definition)),
            ],
        ),
        Op::Rollback {
            cluster,
            service,
            to_task_definition,
            ..
        } => (
            "rollback",
            vec![
                ("--cluster", cluster.clone()),
                ("--service", service.clone()),
                ("--revision", revision(to_task_definition)),
            ],
        ),
        Op::BreakLock { lock, .. } => ("unlock", vec![("--lock", lock.clone())]),
        Op::Exec {
            cluster,
            service,
            task,
            container,
            command,
            ..
        } => {
            let mut args = vec![
                ("--cluster", cluster.clone()),
                ("--service", service.clone()),
                ("--task", task_id(task).to_string()),
            ];
            if let Some(container) = container {
                args.push(("--container", container.clone()));
            }
            if let Some(command) = command {
                args.push(("--command", command.clone()));
            }
            ("exec", args)
        }
    };
    words.push(command.to_string());
    for (flag, value) in args {
        words.push(flag.to_string());
        words.push(crate::text::shell_word(&value));
    }
    words.join(" ")
}

/// A duration as written on the command line: `60s`, `2m`, `1m30s`, `500ms`.
pub(crate) fn human(duration: std::time::Duration) -> String {
    let ms = duration.as_millis();
    if ms > 0 && ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = duration.as_secs();
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global() -> GlobalOpts {
        GlobalOpts {
            config: Some("/etc/ibet console/config.toml".into()),
            demo: false,
            env: Some("staging".into()),
            theme: None,
            write: false,
            timezone: None,
            redact: false,
            audit_log: None,
            seed: 7,
        }
    }

    #[test]
    fn command_lines_rerun_an_op_with_the_same_config() {
        let op = Op::SwitchAlb {
            env: "staging".into(),
            cluster: "node-api".into(),
            to: "general-2".into(),
        };
        assert_eq!(
            command_line(&global(), &op),
            "ibet-console --config '/etc/ibet console/config.toml' --env staging switch --cluster node-api --to general-2"
        );
        let back = Op::Rollback {
            env: "production".into(),
            cluster: "node-api".into(),
            service: "api".into(),
            to_task_definition: "arn:aws:ecs:ap-northeast-1:1:task-definition/ibet-api:42".into(),
        };
        let mut g = global();
        g.write = true;
        g.config = None;
        assert_eq!(
            command_line(&g, &back),
            "ibet-console --env production --write rollback --cluster node-api --service api --revision 42"
        );
        assert_eq!(crate::text::shell_word("it's"), r"'it'\''s'");
    }

    #[test]
    fn durations_read_as_written() {
        use std::time::Duration;
        assert_eq!(human(Duration::from_secs(60)), "1m");
        assert_eq!(human(Duration::from_secs(45)), "45s");
        assert_eq!(human(Duration::from_secs(90)), "1m30s");
        assert_eq!(human(Duration::from_millis(500)), "500ms");
        assert_eq!(human(Duration::ZERO), "0s");
    }

    #[test]
    fn capitalises_titles() {
        assert_eq!(capitalise("switch the ALB"), "Switch the ALB");
        assert_eq!(capitalise(""), "");
    }
}
