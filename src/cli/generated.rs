//! What is generated from the clap definitions: the shell completion scripts
//! (`completions SHELL`) and the manual pages (`man`). Both are written from [`Cli`]'s
//! own definition, so they name exactly the options and subcommands that parse.
//!
//! This module only produces text (and, for `man --dir`, the page files); it neither
//! parses the command line nor installs anything outside the folder it is given.

use std::path::{Path, PathBuf};

use clap::CommandFactory as _;

use super::Cli;

/// The binary's name, as completions and the manual call it.
const NAME: &str = "ibet-console";

/// The command as the generators see it: without clap's `help` subcommand, which is
/// no command of the console's (`--help` stays).
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command(), NAME, &mut out);
    out
}

/// The console's manual page, `ibet-console(1)`, in roff. Its SUBCOMMANDS section
/// refers to the subcommands' own pages, which [`write_man_pages`] writes.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command()).render(&mut out)?;
    Ok(out)
}

/// Writes every manual page into `dir`: `ibet-console.1` and `ibet-console-NAME.1` for
/// each subcommand. Returns the files written, the console's page first.
pub fn write_man_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let cmd = command();
    let mut written = vec![clap_mangen::Man::new(cmd.clone()).generate_to(dir)?];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written.push(clap_mangen::Man::new(sub.clone()).generate_to(dir)?);
    }
    Ok(written)
}
