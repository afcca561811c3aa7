//! The key table: every key the console knows, once. Dispatch looks a pressed key up
//! here ([`command_for`], [`log_command_for`]) and the `?` overlay prints the same rows
//! (`ui::help`), so a key cannot work without being listed nor be listed without working.
//!
//! A row is what the help shows on one line (a section, the keys as written, what they
//! do) and the keys it stands for, each with its command. The overview, the tasks screen
//! and the log view dispatch by command; the action dialogs' keys depend on the dialog's
//! stage (planning, review, typing a name, done), so their rows describe them and the
//! dialog's own handler acts on them (a test holds the two together).
//!
//! This module decides what a key means; it changes nothing itself.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key as the table names it: a character typed without Ctrl or Alt (Shift is part of
/// the character), a character with Ctrl, or a named key without Ctrl or Alt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A typed character.
    Char(char),
    /// Ctrl and a character.
    Ctrl(char),
    /// A named key (arrows, Enter, Esc, Tab…).
    Code(KeyCode),
}

impl Key {
    /// Whether `event` is this key.
    pub fn matches(self, event: &KeyEvent) -> bool {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        let alt = event.modifiers.contains(KeyModifiers::ALT);
        match self {
            Key::Char(c) => !ctrl && !alt && event.code == KeyCode::Char(c),
            Key::Ctrl(c) => ctrl && event.code == KeyCode::Char(c),
            Key::Code(code) => !ctrl && !alt && event.code == code,
        }
    }
}

/// What a key does on the overview and the tasks screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Leave the console.
    Quit,
    /// Poll everything now.
    Refresh,
    /// Open the help overlay.
    Help,
    /// Next environment.
    NextEnv,
    /// Previous environment.
    PrevEnv,
    /// The environment of this index (0-based).
    Env(usize),
    /// Type a filter for the current table.
    Filter,
    /// Clear the filter, leave the path panel, then go back.
    Back,
    /// Move the selection by this many rows (clamped at the ends).
    Move(i64),
    /// Previous (-1) or next (1) cluster.
    Cluster(i64),
    /// Focus the cluster list.
    FocusClusters,
    /// Focus the services table.
    FocusServices,
    /// Open what is selected: a service's tasks, a hop's place.
    Open,
    /// Live logs of the selected service or task.
    Logs,
    /// Switch the internal ALB to the other general node.
    Switch,
    /// Jump to the next current problem.
    NextProblem,
    /// Restart the selected task (tasks screen) or service (overview).
    Restart,
    /// Restart the whole service from the tasks screen.
    RestartService,
    /// The release picker.
    Release,
    /// Roll back one step.
    Rollback,
    /// Focus (or leave) the request-path panel.
    Path,
    /// A session in the selected task's container (ECS Exec).
    Exec,
}

/// What a key does in the log view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogCommand {
    /// Back to the screen before (the tail stops).
    Close,
    /// Move the selection by this many lines.
    Move(i64),
    /// A page up (-1) or down (1).
    Page(i64),
    /// The oldest line.
    Oldest,
    /// The newest line, and follow again.
    Newest,
    /// Type a search.
    Search,
    /// Next match.
    NextMatch,
    /// Previous match.
    PrevMatch,
    /// Type a server-side filter pattern.
    Filter,
    /// Wrap long lines or not.
    Wrap,
    /// Structured lines as written, or compact.
    Raw,
    /// Show timestamps or not.
    Timestamps,
    /// Show sources or not.
    Sources,
    /// Save the lines to a file.
    Save,
    /// Clear the lines shown.
    Clear,
    /// Pretty JSON of the selected line.
    Json,
    /// The help overlay.
    Help,
}

/// What a key does to the help overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpCommand {
    /// Close it.
    Close,
    /// Scroll by this many rows.
    Scroll(i64),
    /// To the top.
    Top,
    /// To the bottom.
    Bottom,
}

/// The command of one key of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// On the overview and the tasks screen.
    Screen(Command),
    /// In the log view.
    Log(LogCommand),
    /// In an action dialog, as its stage allows (the dialog acts on it).
    Dialog,
    /// Quits from anywhere, whatever is open.
    Interrupt,
    /// Repaints the whole screen from anywhere, whatever is open.
    Repaint,
}

/// One line of the help and the keys it stands for.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// Where the keys work: `everywhere` (overview and tasks), `overview`, `tasks`,
    /// `actions` (dialogs), `logs`.
    pub section: &'static str,
    /// The keys as the help writes them.
    pub label: &'static str,
    /// What they do.
    pub what: &'static str,
    /// Each key and its command.
    pub keys: &'static [(Key, Action)],
}

/// Quits from anywhere.
pub const INTERRUPT: Key = Key::Ctrl('c');

/// Repaints the whole screen from anywhere (after something else wrote to the terminal).
pub const REPAINT: Key = Key::Ctrl('l');

use Action::{Dialog as D, Interrupt as I, Log as L, Repaint as P, Screen as S};
use Command as C;
use KeyCode as K;
use LogCommand as LC;

const fn row(
    section: &'static str,
    label: &'static str,
    what: &'static str,
    keys: &'static [(Key, Action)],
) -> Row {
    Row {
        section,
        label,
        what,
        keys,
    }
}

const UP_DOWN: &[(Key, Action)] = &[
    (Key::Code(K::Up), S(C::Move(-1))),
    (Key::Code(K::Down), S(C::Move(1))),
    (Key::Char('j'), S(C::Move(1))),
    (Key::Char('k'), S(C::Move(-1))),
];

const PAGES: &[(Key, Action)] = &[
    (Key::Code(K::PageUp), S(C::Move(-10))),
    (Key::Code(K::PageDown), S(C::Move(10))),
    (Key::Code(K::Home), S(C::Move(-100_000))),
    (Key::Char('g'), S(C::Move(-100_000))),
    (Key::Code(K::End), S(C::Move(100_000))),
    (Key::Char('G'), S(C::Move(100_000))),
];

/// Every key the console knows, section by section (a section's rows stay together: the
/// help prints its title where they begin).
pub const TABLE: &[Row] = &[
    row(
        "everywhere",
        "Tab / Shift-Tab",
        "next / previous environment",
        &[
            (Key::Code(K::Tab), S(C::NextEnv)),
            (Key::Code(K::BackTab), S(C::PrevEnv)),
        ],
    ),
    row(
        "everywhere",
        "1 … 9",
        "environment by number",
        &[
            (Key::Char('1'), S(C::Env(0))),
            (Key::Char('2'), S(C::Env(1))),
            (Key::Char('3'), S(C::Env(2))),
            (Key::Char('4'), S(C::Env(3))),
            (Key::Char('5'), S(C::Env(4))),
            (Key::Char('6'), S(C::Env(5))),
            (Key::Char('7'), S(C::Env(6))),
            (Key::Char('8'), S(C::Env(7))),
            (Key::Char('9'), S(C::Env(8))),
        ],
    ),
    row(
        "everywhere",
        "/",
        "filter the current table (Enter keeps, Esc clears)",
        &[(Key::Char('/'), S(C::Filter))],
    ),
    row(
        "everywhere",
        "Esc",
        "clear the filter, then go back",
        &[(Key::Code(K::Esc), S(C::Back))],
    ),
    row(
        "everywhere",
        "Ctrl-r",
        "refresh now (any key ends \"idle\" for a minute)",
        &[(Key::Ctrl('r'), S(C::Refresh))],
    ),
    row(
        "everywhere",
        "Ctrl-l",
        "repaint the whole screen",
        &[(REPAINT, P)],
    ),
    row(
        "everywhere",
        "e",
        "jump to the next current problem (worst first)",
        &[(Key::Char('e'), S(C::NextProblem))],
    ),
    row(
        "everywhere",
        "?",
        "this help (any of ? Esc q Enter closes it)",
        &[(Key::Char('?'), S(C::Help))],
    ),
    row(
        "everywhere",
        "q / Ctrl-c",
        "quit",
        &[(Key::Char('q'), S(C::Quit)), (INTERRUPT, I)],
    ),
    row("overview", "↑ ↓ / j k", "move in the focused pane", UP_DOWN),
    row("overview", "PgUp PgDn g G", "page, first, last", PAGES),
    row(
        "overview",
        "← → / h",
        "focus clusters / services",
        &[
            (Key::Code(K::Left), S(C::FocusClusters)),
            (Key::Code(K::Right), S(C::FocusServices)),
            (Key::Char('h'), S(C::FocusClusters)),
        ],
    ),
    row(
        "overview",
        "[ ]",
        "previous / next cluster",
        &[
            (Key::Char('['), S(C::Cluster(-1))),
            (Key::Char(']'), S(C::Cluster(1))),
        ],
    ),
    row(
        "overview",
        "Enter",
        "open the service's tasks",
        &[(Key::Code(K::Enter), S(C::Open))],
    ),
    row(
        "overview",
        "l",
        "live logs of the selected service",
        &[(Key::Char('l'), S(C::Logs))],
    ),
    row(
        "overview",
        "s",
        "switch the internal ALB to the other general node (sync gate)",
        &[(Key::Char('s'), S(C::Switch))],
    ),
    row(
        "overview",
        "r",
        "restart the selected service (new deployment)",
        &[(Key::Char('r'), S(C::Restart))],
    ),
    row(
        "overview",
        "u",
        "release: pick a revision, see its diff, confirm",
        &[(Key::Char('u'), S(C::Release))],
    ),
    row(
        "overview",
        "b",
        "roll back one step (to the previous revision)",
        &[(Key::Char('b'), S(C::Rollback))],
    ),
    row(
        "overview",
        "p",
        "request path: ↑↓ pick a hop, Enter goes there",
        &[(Key::Char('p'), S(C::Path))],
    ),
    row(
        "tasks",
        "↑ ↓ / j k",
        "select a task (its containers show below)",
        UP_DOWN,
    ),
    row("tasks", "PgUp PgDn g G", "page, first, last", PAGES),
    row(
        "tasks",
        "r",
        "restart the selected task (stop it; the service replaces it)",
        &[(Key::Char('r'), S(C::Restart))],
    ),
    row(
        "tasks",
        "R",
        "restart the whole service (new deployment)",
        &[(Key::Char('R'), S(C::RestartService))],
    ),
    row(
        "tasks",
        "u",
        "release: pick a revision, see its diff, confirm",
        &[(Key::Char('u'), S(C::Release))],
    ),
    row(
        "tasks",
        "b",
        "roll back one step (to the previous revision)",
        &[(Key::Char('b'), S(C::Rollback))],
    ),
    row(
        "tasks",
        "l",
        "live logs of the selected task",
        &[(Key::Char('l'), S(C::Logs))],
    ),
    row(
        "tasks",
        "x",
        "shell in the selected task's container (ECS Exec; the TUI steps aside)",
        &[(Key::Char('x'), S(C::Exec))],
    ),
    row(
        "tasks",
        "s",
        "switch the cluster's internal ALB (sync gate)",
        &[(Key::Char('s'), S(C::Switch))],
    ),
    row(
        "tasks",
        "Esc",
        "back to the overview",
        &[(Key::Code(K::Esc), S(C::Back))],
    ),
    row(
        "actions",
        "y / type name",
        "confirm (danger environments: type the environment name)",
        &[(Key::Char('y'), D), (Key::Code(K::Enter), D)],
    ),
    row(
        "actions",
        "O",
        "override a failed gate or check (asks again; audited)",
        &[(Key::Char('O'), D)],
    ),
    row(
        "actions",
        "n / Esc",
        "cancel",
        &[(Key::Char('n'), D), (Key::Code(K::Esc), D)],
    ),
    row(
        "actions",
        "b (rollout)",
        "rollout view: roll back a failed or stuck rollout",
        &[(Key::Char('b'), D)],
    ),
    row(
        "logs",
        "↑ ↓ / j k",
        "select a line; going up pauses following",
        &[
            (Key::Code(K::Up), L(LC::Move(-1))),
            (Key::Code(K::Down), L(LC::Move(1))),
            (Key::Char('j'), L(LC::Move(1))),
            (Key::Char('k'), L(LC::Move(-1))),
        ],
    ),
    row(
        "logs",
        "PgUp PgDn",
        "page up / down",
        &[
            (Key::Code(K::PageUp), L(LC::Page(-1))),
            (Key::Code(K::PageDown), L(LC::Page(1))),
        ],
    ),
    row(
        "logs",
        "g / Home",
        "oldest line",
        &[
            (Key::Char('g'), L(LC::Oldest)),
            (Key::Code(K::Home), L(LC::Oldest)),
        ],
    ),
    row(
        "logs",
        "G / End",
        "newest line, and follow again",
        &[
            (Key::Char('G'), L(LC::Newest)),
            (Key::Code(K::End), L(LC::Newest)),
        ],
    ),
    row(
        "logs",
        "/  n  N",
        "search, next / previous match (wraps)",
        &[
            (Key::Char('/'), L(LC::Search)),
            (Key::Char('n'), L(LC::NextMatch)),
            (Key::Char('N'), L(LC::PrevMatch)),
        ],
    ),
    row(
        "logs",
        "f",
        "server-side filter pattern (restarts the tail)",
        &[(Key::Char('f'), L(LC::Filter))],
    ),
    row(
        "logs",
        "Enter",
        "pretty JSON of the selected line",
        &[(Key::Code(K::Enter), L(LC::Json))],
    ),
    row(
        "logs",
        "w  t  s",
        "wrap long lines, timestamps, sources",
        &[
            (Key::Char('w'), L(LC::Wrap)),
            (Key::Char('t'), L(LC::Timestamps)),
            (Key::Char('s'), L(LC::Sources)),
        ],
    ),
    row(
        "logs",
        "r",
        "raw lines: JSON and logfmt as written, or compact",
        &[(Key::Char('r'), L(LC::Raw))],
    ),
    row(
        "logs",
        "S",
        "save the lines to a file (raw, whole)",
        &[(Key::Char('S'), L(LC::Save))],
    ),
    row(
        "logs",
        "c",
        "clear the lines shown",
        &[(Key::Char('c'), L(LC::Clear))],
    ),
    row(
        "logs",
        "Esc / q",
        "back (the tail stops)",
        &[
            (Key::Code(K::Esc), L(LC::Close)),
            (Key::Char('q'), L(LC::Close)),
        ],
    ),
    row("logs", "?", "this help", &[(Key::Char('?'), L(LC::Help))]),
    row(
        "logs",
        "Ctrl-l",
        "repaint the whole screen",
        &[(REPAINT, P)],
    ),
    row("logs", "Ctrl-c", "quit", &[(INTERRUPT, I)]),
];

/// The keys of the help overlay itself (its bottom line says "↑↓ scroll").
pub const HELP_KEYS: &[(Key, HelpCommand)] = &[
    (Key::Code(K::Esc), HelpCommand::Close),
    (Key::Char('?'), HelpCommand::Close),
    (Key::Char('q'), HelpCommand::Close),
    (Key::Code(K::Enter), HelpCommand::Close),
    (Key::Code(K::Down), HelpCommand::Scroll(1)),
    (Key::Char('j'), HelpCommand::Scroll(1)),
    (Key::Code(K::Up), HelpCommand::Scroll(-1)),
    (Key::Char('k'), HelpCommand::Scroll(-1)),
    (Key::Code(K::PageDown), HelpCommand::Scroll(10)),
    (Key::Char(' '), HelpCommand::Scroll(10)),
    (Key::Code(K::PageUp), HelpCommand::Scroll(-10)),
    (Key::Code(K::Home), HelpCommand::Top),
    (Key::Char('g'), HelpCommand::Top),
    (Key::Code(K::End), HelpCommand::Bottom),
    (Key::Char('G'), HelpCommand::Bottom),
];

/// The sections shown on the overview.
pub const OVERVIEW_SECTIONS: &[&str] = &["everywhere", "overview", "actions"];

/// The sections shown on the tasks screen.
pub const TASKS_SECTIONS: &[&str] = &["everywhere", "tasks", "actions"];

/// The sections shown on the log view (its keys are its own).
pub const LOG_SECTIONS: &[&str] = &["logs"];

/// The actions of `key` in `sections`, first section first.
fn actions<'a>(sections: &'a [&str], key: &'a KeyEvent) -> impl Iterator<Item = Action> + 'a {
    sections.iter().flat_map(move |section| {
        TABLE
            .iter()
            .filter(move |row| row.section == *section)
            .flat_map(|row| row.keys.iter())
            .filter(|(k, _)| k.matches(key))
            .map(|(_, action)| *action)
    })
}

/// Whether `key` quits from anywhere.
pub fn is_interrupt(key: &KeyEvent) -> bool {
    INTERRUPT.matches(key)
}

/// Whether `key` repaints the screen from anywhere.
pub fn is_repaint(key: &KeyEvent) -> bool {
    REPAINT.matches(key)
}

/// The command of `key` on the tasks screen (`tasks`) or the overview: the screen's own
/// section first, then `everywhere`.
pub fn command_for(key: &KeyEvent, tasks: bool) -> Option<Command> {
    let sections: &[&str] = if tasks {
        &["tasks", "everywhere"]
    } else {
        &["overview", "everywhere"]
    };
    actions(sections, key).find_map(|a| match a {
        Action::Screen(c) => Some(c),
        Action::Interrupt => Some(Command::Quit),
        _ => None,
    })
}

/// The command of `key` in the log view.
pub fn log_command_for(key: &KeyEvent) -> Option<LogCommand> {
    actions(LOG_SECTIONS, key).find_map(|a| match a {
        Action::Log(c) => Some(c),
        _ => None,
    })
}

/// The command of `key` on the help overlay.
pub fn help_command_for(key: &KeyEvent) -> Option<HelpCommand> {
    HELP_KEYS
        .iter()
        .find(|(k, _)| k.matches(key))
        .map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn keys_match_without_ctrl_or_alt_and_uppercase_with_shift() {
        let g = press(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(command_for(&g, false), Some(Command::Move(100_000)));
        let ctrl_j = press(KeyCode::Char('j'), KeyModifiers::CONTROL);
        assert_eq!(command_for(&ctrl_j, false), None, "Ctrl-j is not j");
        let ctrl_r = press(KeyCode::Char('r'), KeyModifiers::CONTROL);
        assert_eq!(command_for(&ctrl_r, true), Some(Command::Refresh));
        let r = press(KeyCode::Char('r'), KeyModifiers::NONE);
        assert_eq!(command_for(&r, true), Some(Command::Restart));
        assert!(is_interrupt(&press(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL
        )));
    }

    #[test]
    fn a_key_means_one_thing_in_a_section() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i..] {
                if a.section != b.section {
                    continue;
                }
                for (ka, aa) in a.keys {
                    for (kb, ab) in b.keys {
                        assert!(ka != kb || aa == ab, "{ka:?} is {aa:?} and {ab:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn sections_are_contiguous_and_rows_unique() {
        let mut seen: Vec<&str> = Vec::new();
        for pair in TABLE.windows(2) {
            if pair[0].section != pair[1].section {
                seen.push(pair[0].section);
                assert!(
                    !seen.contains(&pair[1].section),
                    "section `{}` is split",
                    pair[1].section
                );
            }
        }
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                assert!(
                    a.section != b.section || a.label != b.label,
                    "{} {} twice",
                    a.section,
                    a.label
                );
            }
        }
        for sections in [OVERVIEW_SECTIONS, TASKS_SECTIONS, LOG_SECTIONS] {
            for s in sections {
                assert!(TABLE.iter().any(|r| r.section == *s), "no keys for `{s}`");
            }
        }
    }
}
