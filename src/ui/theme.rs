//! Themes: the colours of every view, from TOML.
//!
//! Built-in themes live in `themes/*.toml` and are embedded at build time; users add
//! their own as `<config dir>/themes/NAME.toml`. `NO_COLOR` (any non-empty value)
//! selects a colourless theme that marks state with bold and reverse video only.

use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::model::Health;
use crate::model::quorum::NodeState;

/// The built-in themes: (name, TOML).
pub const BUILT_IN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// Colours of the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// Theme name.
    pub name: String,
    /// Whether colours are used at all (false under `NO_COLOR`).
    pub color: bool,
    /// Normal text.
    pub text: Color,
    /// Secondary text.
    pub dim: Color,
    /// Accents (keys in hints, active pane titles).
    pub accent: Color,
    /// Titles.
    pub title: Color,
    /// Borders.
    pub border: Color,
    /// Border of the focused pane.
    pub border_focus: Color,
    /// Header bar background.
    pub header_bg: Color,
    /// Header bar text.
    pub header_fg: Color,
    /// Active tab background.
    pub tab_active_bg: Color,
    /// Active tab text.
    pub tab_active_fg: Color,
    /// Selected row background.
    pub selected_bg: Color,
    /// Selected row text.
    pub selected_fg: Color,
    /// Healthy.
    pub ok: Color,
    /// Degraded.
    pub warn: Color,
    /// Down, errors.
    pub error: Color,
    /// Unknown.
    pub unknown: Color,
    /// Danger environment banner background.
    pub danger_bg: Color,
    /// Danger environment banner text.
    pub danger_fg: Color,
    /// Search highlight background.
    pub highlight_bg: Color,
    /// Search highlight text.
    pub highlight_fg: Color,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    text: String,
    dim: String,
    accent: String,
    title: String,
    border: String,
    border_focus: String,
    header_bg: String,
    header_fg: String,
    tab_active_bg: String,
    tab_active_fg: String,
    selected_bg: String,
    selected_fg: String,
    ok: String,
    warn: String,
    error: String,
    unknown: String,
    danger_bg: String,
    danger_fg: String,
    highlight_bg: String,
    highlight_fg: String,
}

/// Why a theme could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// No built-in or user theme has that name.
    #[error("unknown theme `{name}`; available: {available}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names that exist.
        available: String,
    },
    /// The theme file is not valid.
    #[error("theme `{name}`: {message}")]
    Invalid {
        /// Theme name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

impl Theme {
    /// Parses theme TOML.
    pub fn parse(name: &str, text: &str) -> Result<Self, ThemeError> {
        let invalid = |message: String| ThemeError::Invalid {
            name: name.to_string(),
            message,
        };
        let f: ThemeFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let c = |field: &str, v: &str| {
            Color::from_str(v).map_err(|_| invalid(format!("`{field}`: `{v}` is not a colour")))
        };
        Ok(Self {
            name: f.name.unwrap_or_else(|| name.to_string()),
            color: true,
            text: c("text", &f.text)?,
            dim: c("dim", &f.dim)?,
            accent: c("accent", &f.accent)?,
            title: c("title", &f.title)?,
            border: c("border", &f.border)?,
            border_focus: c("border_focus", &f.border_focus)?,
            header_bg: c("header_bg", &f.header_bg)?,
            header_fg: c("header_fg", &f.header_fg)?,
            tab_active_bg: c("tab_active_bg", &f.tab_active_bg)?,
            tab_active_fg: c("tab_active_fg", &f.tab_active_fg)?,
            selected_bg: c("selected_bg", &f.selected_bg)?,
            selected_fg: c("selected_fg", &f.selected_fg)?,
            ok: c("ok", &f.ok)?,
            warn: c("warn", &f.warn)?,
            error: c("error", &f.error)?,
            unknown: c("unknown", &f.unknown)?,
            danger_bg: c("danger_bg", &f.danger_bg)?,
            danger_fg: c("danger_fg", &f.danger_fg)?,
            highlight_bg: c("highlight_bg", &f.highlight_bg)?,
            highlight_fg: c("highlight_fg", &f.highlight_fg)?,
        })
    }

    /// The built-in default theme.
    pub fn default_theme() -> Self {
        Self::parse("default", BUILT_IN[0].1).unwrap_or_else(|_| Self::no_color())
    }

    /// The colourless theme used under `NO_COLOR`.
    pub fn no_color() -> Self {
        let r = Color::Reset;
        Self {
            name: "no-color".into(),
            color: false,
            text: r,
            dim: r,
            accent: r,
            title: r,
            border: r,
            border_focus: r,
            header_bg: r,
            header_fg: r,
            tab_active_bg: r,
            tab_active_fg: r,
            selected_bg: r,
            selected_fg: r,
            ok: r,
            warn: r,
            error: r,
            unknown: r,
            danger_bg: r,
            danger_fg: r,
            highlight_bg: r,
            highlight_fg: r,
        }
    }

    /// Finds a theme by name: a user theme in `user_dir` first, then a built-in one.
    /// `no_color` (the `NO_COLOR` convention) wins over everything.
    pub fn load(name: &str, user_dir: Option<&Path>, no_color: bool) -> Result<Self, ThemeError> {
        if no_color {
            return Ok(Self::no_color());
        }
        if let Some(dir) = user_dir {
            let file = dir.join(format!("{name}.toml"));
            if let Ok(text) = std::fs::read_to_string(&file) {
                return Self::parse(name, &text);
            }
        }
        if let Some((_, text)) = BUILT_IN.iter().find(|(n, _)| *n == name) {
            return Self::parse(name, text);
        }
        let mut available: Vec<String> = BUILT_IN.iter().map(|(n, _)| (*n).to_string()).collect();
        if let Some(dir) = user_dir
            && let Ok(entries) = std::fs::read_dir(dir)
        {
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "toml")
                    && let Some(stem) = p.file_stem()
                {
                    available.push(stem.to_string_lossy().into_owned());
                }
            }
        }
        Err(ThemeError::Unknown {
            name: name.to_string(),
            available: available.join(", "),
        })
    }

    /// Plain text.
    pub fn text(&self) -> Style {
        Style::new().fg(self.text)
    }

    /// Secondary text.
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(self.dim)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    /// Accent.
    pub fn accent(&self) -> Style {
        Style::new().fg(self.accent).add_modifier(Modifier::BOLD)
    }

    /// The selected row.
    pub fn selected(&self) -> Style {
        if self.color {
            Style::new()
                .bg(self.selected_bg)
                .fg(self.selected_fg)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// A pane border.
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            Style::new().fg(self.border_focus)
        } else {
            Style::new().fg(self.border)
        }
    }

    /// The danger banner.
    pub fn danger(&self) -> Style {
        if self.color {
            Style::new()
                .bg(self.danger_bg)
                .fg(self.danger_fg)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    /// Search match highlight.
    pub fn highlight(&self) -> Style {
        if self.color {
            Style::new().bg(self.highlight_bg).fg(self.highlight_fg)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// Colour for a health.
    pub fn health(&self, h: Health) -> Style {
        let s = match h {
            Health::Ok => Style::new().fg(self.ok),
            Health::Degraded => Style::new().fg(self.warn),
            Health::Down => Style::new().fg(self.error).add_modifier(Modifier::BOLD),
            Health::Unknown => Style::new().fg(self.unknown),
        };
        if self.color || h == Health::Ok {
            s
        } else {
            s.add_modifier(Modifier::BOLD)
        }
    }

    /// Colour for a node state.
    pub fn node_state(&self, s: NodeState) -> Style {
        self.health(match s {
            NodeState::Synced => Health::Ok,
            NodeState::Lagging | NodeState::Stalled => Health::Degraded,
            NodeState::Down => Health::Down,
            NodeState::Unknown => Health::Unknown,
        })
    }

    /// An error message.
    pub fn error(&self) -> Style {
        Style::new().fg(self.error).add_modifier(Modifier::BOLD)
    }

    /// A warning.
    pub fn warn(&self) -> Style {
        Style::new().fg(self.warn)
    }
}

/// Whether `NO_COLOR` asks for no colour (set and not empty).
pub fn no_color_requested(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_themes_parse() {
        for (name, text) in BUILT_IN {
            let t = Theme::parse(name, text).expect(name);
            assert_eq!(&t.name, name);
        }
    }

    #[test]
    fn unknown_theme_lists_available() {
        let e = Theme::load("nope", None, false).expect_err("unknown");
        assert!(e.to_string().contains("default, light, high-contrast"));
    }

    #[test]
    fn no_color_wins() {
        let t = Theme::load("light", None, true).expect("no color");
        assert!(!t.color);
        assert!(no_color_requested(Some(std::ffi::OsStr::new("1"))));
        assert!(!no_color_requested(Some(std::ffi::OsStr::new(""))));
        assert!(!no_color_requested(None));
    }

    #[test]
    fn bad_colour_is_named() {
        let text = BUILT_IN[0].1.replace("ok = \"green\"", "ok = \"greeen\"");
        let e = Theme::parse("x", &text).expect_err("bad");
        assert!(e.to_string().contains("`ok`"), "{e}");
    }

    #[test]
    fn user_theme_overrides() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("mine.toml"), BUILT_IN[1].1).expect("write");
        let t = Theme::load("mine", Some(dir.path()), false).expect("load");
        assert_eq!(t.name, "light");
    }
}
