//! The shell completions and the manual pages, as the built binary prints them: every
//! subcommand is in each shell's script and on the manual page, bash accepts its
//! script, and `man` renders the pages.

use std::path::Path;
use std::process::Command;

use clap::CommandFactory as _;
use ibet_console::cli::Cli;

const BIN: &str = env!("CARGO_BIN_EXE_ibet-console");

/// The subcommands as the clap definitions have them.
fn subcommands() -> Vec<String> {
    let names: Vec<String> = Cli::command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect();
    for must in [
        "status", "logs", "switch", "restart", "release", "rollback", "man",
    ] {
        assert!(names.iter().any(|n| n == must), "{must} in {names:?}");
    }
    names
}

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("run");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// What `man` shows of the page at `path`, 80 columns wide, or `None` without `man`.
fn rendered(path: &Path) -> Option<String> {
    let out = Command::new("man")
        .arg("-l")
        .arg(path)
        .env("MANWIDTH", "80")
        .env("MAN_KEEP_FORMATTING", "")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn the_completions_of_each_shell_name_every_subcommand() {
    let names = subcommands();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = run(&["completions", shell]);
        for name in &names {
            assert!(script.contains(name.as_str()), "{shell}: no {name}");
        }
        // fish writes `-l cluster`, the others `--cluster`.
        let long = |name: &str| match shell {
            "fish" => format!("-l {name}"),
            _ => format!("--{name}"),
        };
        for option in ["cluster", "env", "config", "follow"] {
            assert!(script.contains(&long(option)), "{shell}: no {option}");
        }
    }
    // bash takes its script and registers the completion.
    let dir = tempfile::tempdir().expect("tmp");
    let script = dir.path().join("ibet-console.bash");
    std::fs::write(&script, run(&["completions", "bash"])).expect("write");
    let out = Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p ibet-console",
            script.display()
        ))
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ibet-console"));
}

#[test]
fn the_manual_page_renders_and_names_every_subcommand() {
    let names = subcommands();
    let page = run(&["man"]);
    assert!(page.contains(".TH ibet-console 1"), "{page}");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("ibet-console.1");
    std::fs::write(&path, &page).expect("write");
    let text = rendered(&path).unwrap_or_else(|| page.replace("\\-", "-"));
    assert!(text.contains("SUBCOMMANDS"), "{text}");
    for name in &names {
        assert!(
            text.contains(&format!("ibet-console-{name}(1)")),
            "no {name}: {text}"
        );
    }
    assert!(text.contains("--config"), "{text}");
}

#[test]
fn man_dir_writes_a_page_per_subcommand_with_its_options() {
    let names = subcommands();
    let dir = tempfile::tempdir().expect("tmp");
    let listed = run(&["man", "--dir", &dir.path().display().to_string()]);
    let mut want = vec![dir.path().join("ibet-console.1")];
    want.extend(
        names
            .iter()
            .map(|n| dir.path().join(format!("ibet-console-{n}.1"))),
    );
    let listed: Vec<&Path> = listed.lines().map(Path::new).collect();
    assert_eq!(listed, want);
    let status = dir.path().join("ibet-console-status.1");
    let text = rendered(&status).unwrap_or_else(|| {
        std::fs::read_to_string(&status)
            .expect("read")
            .replace("\\-", "-")
    });
    assert!(text.contains("--json"), "{text}");
}
