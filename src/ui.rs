//! Layout and screen routing: `render(&state, &theme, frame) -> Drawn`, no side effects.
//!
//! ```text
//! ┌──────────────────────────────────────────────────────────────────────────┐
//! │ ibet-console  1 production  2 staging                    demo · read-only │ header
//! │ ■ PRODUCTION · read-only                                                  │ danger banner
//! │┌ Clusters ─┐┌ Services · node-api ─────────────────────────────────────┐ │
//! ││● node-api ││ NAME  STATUS  RUN/DES  PEND  REV  ROLLOUT  HEALTH          │ │ overview
//! ││● satoshi  │└──────────────────────────────────────────────────────────┘ │  (or tasks)
//! ││▲ issuer   │┌ Request path · healthy end to end ───────────────────────┐ │
//! ││           ││ ext ● → nginx ● → api ● → quorum ● → general-1 ● → …       │ │
//! ││           │└──────────────────────────────────────────────────────────┘ │
//! ││           │┌ Quorum · ALB → general-1 ────────────────────────────────┐ │
//! ││● bank     ││ NODE  ROLE  HEIGHT  LAG  HEAD  PEERS  TXPOOL  STATE       │ │
//! │└───────────┘└──────────────────────────────────────────────────────────┘ │
//! │ ⏎ tasks  l logs  s switch ALB  e problem  Tab env  ? help  q quit          │ footer
//! └──────────────────────────────────────────────────────────────────────────┘
//! ```
//! The modal layer draws over the screen: the release picker, the container picker, the
//! op dialog (or, after a release, its rollout view), the help overlay. The footer
//! ([`footer`]) keeps the reminders an operator reaches for most as the width allows.
//!
//! Views read the state and never change it. What a frame must tell the state (when it
//! changes with the clock alone, how far the help can scroll at this size, the log
//! view's rows and columns) comes back from [`render`] as a [`Drawn`], which the loop
//! hands to `State::drawn`.

pub mod confirm;
pub mod footer;
pub mod help;
pub mod logs;
pub mod overview;
pub mod path;
pub mod problems;
pub mod quorum;
pub mod release;
pub mod tasks;
pub mod theme;
pub mod widgets;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::keys::{LOG_SECTIONS, OVERVIEW_SECTIONS, TASKS_SECTIONS};
use crate::app::logview::Geometry;
use crate::app::state::{Modal, Screen, State};
use crate::poll::OnScreen;
pub use theme::Theme;

/// What a frame reports back: `changes_in` is in how many ms it comes out different with
/// the clock alone (`None`: it does not), as the age and staleness details it drew said
/// ([`crate::clock::watch_changes`]); `help_scroll_max` how far the help overlay can
/// scroll at this size (when it is open); `log_geometry` the log view's rows and message
/// columns (on the logs screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct Drawn {
    pub changes_in: Option<i64>,
    pub help_scroll_max: Option<u16>,
    pub log_geometry: Option<Geometry>,
}

/// Draws the whole screen; says what the state must know of the frame.
pub fn render(state: &State, theme: &Theme, frame: &mut Frame) -> Drawn {
    let (mut drawn, changes_in) = crate::clock::watch_changes(|| draw(state, theme, frame));
    drawn.changes_in = changes_in;
    drawn
}

fn draw(state: &State, theme: &Theme, frame: &mut Frame) -> Drawn {
    let mut drawn = Drawn::default();
    let area = frame.area();
    let danger = state.current_env().is_some_and(|e| e.danger);
    let strip = if state.world.envs.is_empty() {
        0
    } else {
        problems::height(state, area.height)
    };
    let [header, banner, strip_area, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(danger)),
        Constraint::Length(strip),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    if strip > 0 {
        problems::render(state, theme, frame, strip_area);
    }
    render_header(state, theme, frame, header);
    if danger {
        render_banner(state, theme, frame, banner);
    }
    match &state.screen {
        Screen::Overview => overview::render(state, theme, frame, body),
        Screen::Tasks { service } => tasks::render(state, theme, frame, body, service),
        Screen::Logs { view, .. } => {
            drawn.log_geometry = Some(logs::render(
                view,
                &state.zone,
                state.redact,
                theme,
                frame,
                body,
            ));
        }
    }
    footer::render(state, theme, frame, footer);
    match &state.modal {
        None => {}
        Some(Modal::Revisions(p)) => release::render_picker(state, p, theme, frame, area),
        Some(Modal::Containers(picker)) => logs::render_picker(picker, theme, frame, body),
        Some(Modal::Dialog(d)) => {
            if let Some(watch) = &d.rollout {
                release::render_rollout(state, d, watch, theme, frame, area);
            } else {
                let danger = state.world.envs.get(d.env).is_some_and(|e| e.danger);
                let after = confirm::After {
                    switch: switch_read_after(state, d),
                };
                confirm::render(d, danger, after, theme, frame, area);
            }
        }
        Some(Modal::Help { scroll }) => {
            let sections = match state.screen {
                Screen::Overview => OVERVIEW_SECTIONS,
                Screen::Tasks { .. } => TASKS_SECTIONS,
                Screen::Logs { .. } => LOG_SECTIONS,
            };
            drawn.help_scroll_max = Some(help::render(theme, frame, area, sections, *scroll));
        }
    }
    if state.redact {
        crate::redact::buffer(frame.buffer_mut());
    }
    drawn
}

/// The internal ALB's view of the dialog's switch, when it was read after the op ended.
fn switch_read_after<'a>(
    state: &'a State,
    dialog: &crate::app::dialog::OpDialog,
) -> Option<&'a crate::model::alb::SwitchView> {
    let crate::ops::Op::SwitchAlb { cluster, .. } = &dialog.op else {
        return None;
    };
    let done_at = dialog.done_at?;
    let panel = state
        .world
        .envs
        .get(dialog.env)?
        .clusters
        .iter()
        .find(|c| &c.name == cluster)?
        .switch
        .as_ref()?;
    panel
        .updated_at
        .filter(|at| *at >= done_at)
        .and(panel.data.as_ref())
}

fn render_header(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let base = Style::new().bg(theme.header_bg).fg(theme.header_fg);
    let mut spans = vec![Span::styled(
        " ibet-console ",
        base.add_modifier(Modifier::BOLD),
    )];
    for (i, env) in state.world.envs.iter().enumerate() {
        let label = format!(" {} {} ", i + 1, env.name);
        let style = if i == state.env {
            if env.danger {
                theme.danger()
            } else if theme.color {
                Style::new()
                    .bg(theme.tab_active_bg)
                    .fg(theme.tab_active_fg)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
            }
        } else if env.danger && theme.color {
            base.fg(theme.error)
        } else {
            base
        };
        spans.push(Span::styled(label, style));
        spans.push(Span::styled(" ", base));
    }
    let mut right = Vec::new();
    if state.demo {
        right.push("demo world".to_string());
    }
    if let Some(env) = state.current_env() {
        right.push(if env.read_only && !state.write_enabled {
            "read-only".to_string()
        } else {
            "writable".to_string()
        });
    }
    let used: usize = spans.iter().map(Span::width).sum();
    // A lock held in the environment: who does what, since when, as far as the row allows.
    if let Some(text) = held_lock_words(state).filter(|words| {
        used + words.chars().count() + 3 + right.join(" · ").chars().count() < area.width as usize
    }) {
        right.insert(0, text);
    }
    // Quiet polling: nothing changed for a while, so reads are further apart (any key
    // brings the full rhythm back). Said as fully as the row allows.
    if let Some(idle) = idle_words(state).into_iter().find(|words| {
        used + words.chars().count() + 3 + right.join(" · ").chars().count() < area.width as usize
    }) {
        right.insert(0, idle);
    }
    let right = format!("{} ", right.join(" · "));
    let pad = (area.width as usize).saturating_sub(used + right.chars().count());
    spans.push(Span::styled(" ".repeat(pad), base));
    spans.push(Span::styled(right, base.fg(theme.dim)));
    frame.render_widget(Paragraph::new(Line::from(spans)).style(base), area);
}

/// `alice@bastion-2: release api → ibet-api:43, since 40s ago`: the first live lock of the
/// environment on screen.
fn held_lock_words(state: &State) -> Option<String> {
    let env = state.current_env()?;
    let now = state.world.now;
    let lock = env
        .locks
        .iter()
        .find(|l| l.expires_at.saturating_mul(1000) >= now)?;
    Some(lock.describe(now.div_euclid(1000)))
}

/// What the header says while the environment's pollers are idle, longest first:
/// `idle · refresh 9s`, `idle`; and when the oldest read is older than the pause and a
/// refresh more (reads are late: slow or failing), `idle · refresh 9s · read 20s ago`
/// first. An age that is on time would tick every second and say nothing.
fn idle_words(state: &State) -> Vec<String> {
    let world = &state.world;
    let Some(env) = state.current_env() else {
        return Vec::new();
    };
    // On the overview and the tasks, the cluster on screen: a key brings its rhythm
    // back, and leaves the others' (at most the quiet rhythm).
    let shown = |ci: usize| match state.on_screen() {
        OnScreen::Cluster(at) => at.cluster == ci,
        OnScreen::NoCluster | OnScreen::Everything => true,
    };
    let Some(pause) = env.longest_pause_among_ms(shown, world.refresh_ms, world.rpc_poll_ms) else {
        return Vec::new();
    };
    let refresh = format!("idle · refresh {}", crate::clock::short_duration(pause));
    let mut words = Vec::new();
    if let Some(read) = env.oldest_read() {
        let late_after = pause + world.refresh_ms;
        let age_ms = world.now - read;
        if age_ms > late_after {
            let age = crate::clock::coarse_age(age_ms);
            words.push(format!("{refresh} · read {age} ago"));
        } else {
            crate::clock::note_change_in(late_after + 1 - age_ms);
        }
    }
    words.push(refresh);
    words.push("idle".to_string());
    words
}

fn render_banner(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(env) = state.current_env() else {
        return;
    };
    let mode = if env.read_only && !state.write_enabled {
        "read-only: start with --write to act"
    } else {
        "WRITABLE: actions need the environment name typed"
    };
    let text = format!(
        " ■ {} · danger environment · {mode}",
        env.name.to_uppercase()
    );
    frame.render_widget(Paragraph::new(text).style(theme.danger()), area);
}
