//! The `ibet-console` binary: parse the command line, then run the TUI or a subcommand.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use ibet_console::app::{self, RunOptions};
use ibet_console::cli::{Cli, Command, GlobalOpts, LogsArgs, exit, generated};
use ibet_console::clock::{SharedClock, SystemClock};
use ibet_console::config::{self, Config, ConfigError};
use ibet_console::poll::{NodeWait, observe_once_within};
use ibet_console::session::Session;
use ibet_console::status::StatusReport;
use ibet_console::ui::Theme;
use ibet_console::ui::theme::no_color_requested;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One thread runs everything: the draw loop, the pollers, the log tails and the ops
    // (blocking file work goes to tokio's blocking pool; terminal input has a reader
    // thread of its own, blocked in `read`). Each added worker thread
    // bought nothing measurable (the console waits on the network almost all the time)
    // and cost resident memory: its stack and its own malloc arena (about 1 MB for the
    // first, 0.5 MB for the second, measured with scripts/bench-process).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ibet-console: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INVALID as u8);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            None => run_tui(&cli.global).await,
            Some(Command::CheckConfig) => check_config(&cli.global),
            Some(Command::Status { json }) => status(&cli.global, json).await,
            Some(Command::Logs(args)) => logs(&cli.global, &args).await,
            Some(Command::Completions { shell }) => print_bytes(&generated::completions(shell)),
            Some(Command::Man { dir: None }) => match generated::man_page() {
                Ok(page) => print_bytes(&page),
                Err(e) => {
                    eprintln!("ibet-console: cannot write the manual page: {e}");
                    exit::DEGRADED
                }
            },
            Some(Command::Man { dir: Some(dir) }) => match generated::write_man_pages(&dir) {
                Ok(files) => {
                    for file in files {
                        println!("{}", file.display());
                    }
                    exit::OK
                }
                Err(e) => {
                    eprintln!(
                        "ibet-console: cannot write the manual pages to {}: {e}",
                        dir.display()
                    );
                    exit::DEGRADED
                }
            },
            Some(
                action @ (Command::Switch(_)
                | Command::Restart(_)
                | Command::Release(_)
                | Command::Rollback(_)
                | Command::Locks { .. }
                | Command::Unlock(_)
                | Command::Exec(_)),
            ) => match open_session(&cli.global).await {
                Ok(session) => ibet_console::commands::run(session, &cli.global, &action).await,
                Err(code) => code,
            },
        }
    });
    ExitCode::from(code as u8)
}

/// Writes generated text to stdout; a reader that stops early (`| head`) is no error.
fn print_bytes(bytes: &[u8]) -> i32 {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => exit::OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            eprintln!("ibet-console: cannot write to stdout: {e}");
            exit::DEGRADED
        }
    }
}

fn clock() -> SharedClock {
    Arc::new(SystemClock)
}

/// The config file named by `--config`, `IBET_CONSOLE_CONFIG` or the XDG default.
fn config_path(global: &GlobalOpts) -> Option<std::path::PathBuf> {
    config::resolve_config_path(
        global.config.as_deref(),
        std::env::var_os("IBET_CONSOLE_CONFIG"),
    )
    .map(|r| r.path)
}

fn check_config(global: &GlobalOpts) -> i32 {
    let Some(path) = config_path(global) else {
        eprintln!("ibet-console: no config path: pass --config PATH");
        return exit::INVALID;
    };
    match Config::load(&path) {
        Ok(c) => {
            let clusters: usize = c.environments.iter().map(|e| e.clusters.len()).sum();
            println!(
                "{}: valid ({} environments, {clusters} clusters)",
                path.display(),
                c.environments.len()
            );
            exit::OK
        }
        Err(ConfigError::Invalid { problems }) => {
            for p in &problems {
                println!("{p}");
            }
            exit::INVALID
        }
        Err(e) => {
            eprintln!("{e}");
            exit::INVALID
        }
    }
}

/// Opens the session a subcommand works on: the demo world, or the config's backends,
/// limited to `--env` when given.
async fn open_session(global: &GlobalOpts) -> Result<Session, i32> {
    let mut session = if global.demo {
        Session::demo(global.seed, clock())
    } else {
        let Some(path) = config_path(global) else {
            eprintln!("ibet-console: no config file: pass --config PATH, or try --demo");
            return Err(exit::INVALID);
        };
        match Config::load(&path) {
            Ok(config) => Session::connect(config, clock()).await,
            Err(e) => {
                eprintln!("{e}");
                return Err(exit::INVALID);
            }
        }
    };
    if let Some(env) = &global.env
        && let Err(e) = session.restrict_to_env(env)
    {
        eprintln!("ibet-console: {e}");
        return Err(exit::INVALID);
    }
    apply_display_options(global, &mut session)?;
    Ok(session)
}

/// `--timezone` over the config's `timezone` (a name that is no zone is refused), and
/// `--redact` on every environment.
fn apply_display_options(global: &GlobalOpts, session: &mut Session) -> Result<(), i32> {
    if global.redact {
        for env in &mut session.config.environments {
            env.redact = true;
        }
    }
    if let Some(zone) = &global.timezone {
        if let Err(e) = ibet_console::clock::Zone::named(zone) {
            eprintln!("ibet-console: --timezone: {e}");
            return Err(exit::INVALID);
        }
        session.config.timezone.clone_from(zone);
    }
    Ok(())
}

async fn status(global: &GlobalOpts, json: bool) -> i32 {
    let mut session = match open_session(global).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    // A node is judged within the wait: a slow answer inside it still counts.
    let wait = NodeWait::default();
    session.use_rpc_timeout(wait.bound);
    let world = observe_once_within(&session.config, &session.backends, &session.clock, wait).await;
    let report = StatusReport::from_world(&world, world.now);
    match report.output(json, &session.config.zone(), session.config.redacted()) {
        Ok(text) => print!("{text}"),
        Err(e) => {
            eprintln!("ibet-console: {e}");
            return exit::INVALID;
        }
    }
    report.exit_code()
}

async fn logs(global: &GlobalOpts, args: &LogsArgs) -> i32 {
    use ibet_console::logs::{
        LineFormat, LogTarget, Tail, TailConfig, discover, merge_sources, parse_since,
        print_logs_of,
    };
    let since = match parse_since(&args.since) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("ibet-console: --since: {e}");
            return exit::INVALID;
        }
    };
    if global.env.is_none() {
        eprintln!("ibet-console: logs needs --env NAME");
        return exit::INVALID;
    }
    let session = match open_session(global).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (Some(env), Some(backends)) = (
        session.config.environments.first(),
        session.backends.first(),
    ) else {
        return exit::INVALID;
    };
    let Some(cluster) = env
        .clusters
        .iter()
        .find(|c| c.name == args.cluster || c.ecs_cluster == args.cluster)
    else {
        let names: Vec<_> = env.clusters.iter().map(|c| c.name.as_str()).collect();
        eprintln!(
            "ibet-console: no cluster `{}` in {}; configured: {}",
            args.cluster,
            env.name,
            names.join(", ")
        );
        return exit::INVALID;
    };
    let snapshot = match backends.ecs.snapshot(&cluster.ecs_cluster).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "ibet-console: cannot read ECS cluster {}: {e}",
                cluster.ecs_cluster
            );
            if let Some(h) = e.hint() {
                eprintln!("  hint: {h}");
            }
            return exit::INVALID;
        }
    };
    let targets: Vec<LogTarget> = args
        .service
        .iter()
        .map(|s| LogTarget::select(s, args.task.as_deref(), args.container.as_deref()))
        .collect();
    let now = session.clock.now_ms();
    let window_start = now - i64::try_from(since.as_millis()).unwrap_or(i64::MAX);
    let sources = match discover(&snapshot, &targets, &cluster.log_groups, window_start) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ibet-console: {e}");
            return exit::INVALID;
        }
    };
    let config = TailConfig {
        since,
        filter_pattern: args.filter.clone(),
        follow: args.follow,
        live: session.config.logs.follow.is_live() && !args.poll,
        ..TailConfig::default()
    };
    let tail = Tail::new(
        std::sync::Arc::clone(&backends.logs),
        std::sync::Arc::clone(&session.clock),
    )
    .with_config(config);
    let (sources_tx, sources_rx) = tokio::sync::watch::channel(sources.clone());
    // Following a service, its tasks are looked up again every refresh: a task that
    // comes (a deployment, a replaced task) joins the tail, read from the window start.
    let rediscover = async {
        let by_service = targets.iter().any(|t| {
            matches!(
                t,
                LogTarget::Service(_) | LogTarget::ServiceContainer { .. }
            )
        });
        if !args.follow || !by_service {
            return std::future::pending::<()>().await;
        }
        let mut followed = sources;
        let every = std::time::Duration::from_secs(session.config.refresh_secs.max(1));
        loop {
            tokio::time::sleep(every).await;
            let Ok(snapshot) = backends.ecs.snapshot(&cluster.ecs_cluster).await else {
                continue;
            };
            let now = session.clock.now_ms();
            let window_start = now - i64::try_from(since.as_millis()).unwrap_or(i64::MAX);
            let Ok(found) = discover(&snapshot, &targets, &cluster.log_groups, window_start) else {
                continue;
            };
            if merge_sources(&mut followed, found) {
                sources_tx.send_replace(followed.clone());
            }
        }
    };
    let format = LineFormat {
        zone: session.config.zone(),
        compact: args.compact,
        redact: session.config.redacted(),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut err = std::io::stderr();
    let result = tokio::select! {
        r = print_logs_of(tail, sources_rx, &format, &mut out, &mut err) => r,
        () = rediscover => return exit::OK,
        _ = tokio::signal::ctrl_c() => {
            let _ = std::io::Write::flush(&mut out);
            return exit::OK;
        }
    };
    let _ = std::io::Write::flush(&mut out);
    match result {
        Ok(_) => exit::OK,
        Err(e) => {
            eprintln!("ibet-console: {e}");
            exit::DEGRADED
        }
    }
}

async fn run_tui(global: &GlobalOpts) -> i32 {
    let mut setup = None;
    let session = if global.demo {
        Session::demo(global.seed, clock())
    } else {
        let path = config_path(global);
        match path.as_deref().map(Config::load) {
            Some(Ok(config)) => Session::connect(config, clock()).await,
            Some(Err(ConfigError::Read { path, source }))
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                setup = Some(setup_lines(&path));
                Session::empty(clock())
            }
            None => {
                setup = Some(setup_lines(std::path::Path::new(
                    "~/.config/ibet-console/config.toml",
                )));
                Session::empty(clock())
            }
            Some(Err(e)) => {
                eprintln!("{e}");
                eprintln!(
                    "ibet-console: fix the config (`ibet-console check-config`) or try `ibet-console --demo`"
                );
                return exit::INVALID;
            }
        }
    };
    let mut session = session;
    if let Some(path) = &global.audit_log {
        session.config.audit_log = Some(path.clone());
    }
    if let Err(code) = apply_display_options(global, &mut session) {
        return code;
    }
    let theme_name = global
        .theme
        .clone()
        .unwrap_or_else(|| session.config.theme.clone());
    let theme = match Theme::load(
        &theme_name,
        config::themes_dir().as_deref(),
        no_color_requested(std::env::var_os("NO_COLOR").as_deref()),
    ) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("ibet-console: {e}");
            return exit::INVALID;
        }
    };
    if let Some(env) = &global.env
        && !session.config.environments.iter().any(|e| &e.name == env)
        && setup.is_none()
    {
        let names: Vec<_> = session
            .config
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        eprintln!(
            "ibet-console: no environment `{env}`; configured: {}",
            names.join(", ")
        );
        return exit::INVALID;
    }
    let options = RunOptions {
        theme,
        start_env: global.env.clone(),
        write: global.write,
        setup,
    };
    match app::run(session, options).await {
        Ok(()) => exit::OK,
        Err(e) => {
            // The terminal may be gone (a closed SSH session): the error is said if it
            // can be, and never turns into a panic on a dead stderr.
            let _ = writeln!(std::io::stderr(), "ibet-console: {e}");
            exit::DEGRADED
        }
    }
}

fn setup_lines(path: &std::path::Path) -> Vec<String> {
    vec![
        format!("No config file at {}.", path.display()),
        String::new(),
        "To create one, copy the commented example and edit it:".into(),
        format!(
            "    mkdir -p {} && cp assets/config.example.toml {}",
            path.parent()
                .map_or_else(|| ".".into(), |p| p.display().to_string()),
            path.display()
        ),
        "    ibet-console check-config".into(),
        String::new(),
        "Or point at another file: --config PATH or IBET_CONSOLE_CONFIG=PATH.".into(),
        String::new(),
        "To look around first, try the embedded demo world (no AWS, no nodes):".into(),
        "    ibet-console --demo".into(),
        String::new(),
        "Press q to quit.".into(),
    ]
}
