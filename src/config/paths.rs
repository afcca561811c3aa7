//! Where the configuration, the user themes and the data (audit log) live.
//!
//! The config file is found in this order: `--config PATH`, then the
//! `IBET_CONSOLE_CONFIG` environment variable, then the platform's config folder
//! (`$XDG_CONFIG_HOME/ibet-console/config.toml` on Linux). This module only computes
//! paths: it never creates, reads or checks files, and it never reads the
//! `IBET_CONSOLE_CONFIG` variable itself: the caller passes its value in, so tests need
//! not touch the process environment.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use directories::ProjectDirs;

/// The environment variable naming the config file.
pub const CONFIG_ENV_VAR: &str = "IBET_CONSOLE_CONFIG";

/// The config file's name inside the config folder.
pub const CONFIG_FILE_NAME: &str = "config.toml";

/// The folder of user themes inside the config folder.
pub const THEMES_DIR_NAME: &str = "themes";

/// Where a config path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// The `--config` flag.
    Cli,
    /// The `IBET_CONSOLE_CONFIG` environment variable.
    Env,
    /// The platform's config folder.
    Default,
}

impl ConfigSource {
    /// How to name the source in a message, e.g. "from --config".
    pub fn describe(self) -> &'static str {
        match self {
            Self::Cli => "from --config",
            Self::Env => "from IBET_CONSOLE_CONFIG",
            Self::Default => "the default location",
        }
    }
}

/// A config path and where it came from.
///
/// A missing file is an error when the operator named it (`Cli`, `Env`) and merely
/// "not configured yet" at the `Default` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPath {
    /// The config file.
    pub path: PathBuf,
    /// Where the path came from.
    pub source: ConfigSource,
}

fn project_dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "ibet-console")
}

/// The platform's config folder for ibet-console (`~/.config/ibet-console` on Linux);
/// `None` when the home folder cannot be determined.
pub fn config_dir() -> Option<PathBuf> {
    project_dirs().map(|dirs| dirs.config_dir().to_path_buf())
}

/// `<config folder>/config.toml`; `None` when the home folder cannot be determined.
pub fn default_config_path() -> Option<PathBuf> {
    config_dir().map(|dir| dir.join(CONFIG_FILE_NAME))
}

/// Where user themes live: `<config folder>/themes/*.toml`.
pub fn themes_dir() -> Option<PathBuf> {
    config_dir().map(|dir| dir.join(THEMES_DIR_NAME))
}

/// The platform's data folder for ibet-console (`~/.local/share/ibet-console` on
/// Linux), where the audit log goes unless `audit_log` says otherwise.
pub fn data_dir() -> Option<PathBuf> {
    project_dirs().map(|dirs| dirs.data_dir().to_path_buf())
}

/// The config file to use: `cli` (the `--config` flag) beats `env` (the value of
/// `IBET_CONSOLE_CONFIG`, e.g. `std::env::var_os(CONFIG_ENV_VAR)`; an empty value
/// counts as unset), which beats [`default_config_path`]. `None` only when there is no
/// flag, no variable and no home folder.
pub fn resolve_config_path(cli: Option<&Path>, env: Option<OsString>) -> Option<ResolvedPath> {
    resolve_config_path_with(cli, env, default_config_path())
}

/// [`resolve_config_path`] with the default location given (for tests).
pub fn resolve_config_path_with(
    cli: Option<&Path>,
    env: Option<OsString>,
    default: Option<PathBuf>,
) -> Option<ResolvedPath> {
    if let Some(path) = cli {
        return Some(ResolvedPath {
            path: path.to_path_buf(),
            source: ConfigSource::Cli,
        });
    }
    if let Some(value) = env.filter(|v| !v.is_empty()) {
        return Some(ResolvedPath {
            path: PathBuf::from(value),
            source: ConfigSource::Env,
        });
    }
    default.map(|path| ResolvedPath {
        path,
        source: ConfigSource::Default,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &str = "/home/op/.config/ibet-console/config.toml";

    #[test]
    fn cli_beats_env_and_default() {
        let resolved = resolve_config_path_with(
            Some(Path::new("/etc/ibet/cli.toml")),
            Some(OsString::from("/etc/ibet/env.toml")),
            Some(PathBuf::from(DEFAULT)),
        );
        assert_eq!(
            resolved,
            Some(ResolvedPath {
                path: PathBuf::from("/etc/ibet/cli.toml"),
                source: ConfigSource::Cli,
            })
        );
    }

    #[test]
    fn env_beats_default() {
        let resolved = resolve_config_path_with(
            None,
            Some(OsString::from("/etc/ibet/env.toml")),
            Some(PathBuf::from(DEFAULT)),
        );
        assert_eq!(
            resolved,
            Some(ResolvedPath {
                path: PathBuf::from("/etc/ibet/env.toml"),
                source: ConfigSource::Env,
            })
        );
    }

    #[test]
    fn empty_env_counts_as_unset() {
        let resolved =
            resolve_config_path_with(None, Some(OsString::new()), Some(PathBuf::from(DEFAULT)));
        assert_eq!(resolved.map(|r| r.source), Some(ConfigSource::Default));
    }

    #[test]
    fn default_is_the_last_resort() {
        let resolved = resolve_config_path_with(None, None, Some(PathBuf::from(DEFAULT)));
        assert_eq!(
            resolved,
            Some(ResolvedPath {
                path: PathBuf::from(DEFAULT),
                source: ConfigSource::Default,
            })
        );
        assert_eq!(resolve_config_path_with(None, None, None), None);
    }

    #[test]
    fn cli_wins_even_without_a_home_folder() {
        let resolved = resolve_config_path_with(Some(Path::new("c.toml")), None, None);
        assert_eq!(resolved.map(|r| r.source), Some(ConfigSource::Cli));
    }

    #[test]
    fn the_public_entry_falls_back_to_the_platform_default() {
        let resolved = resolve_config_path(None, None);
        assert_eq!(
            resolved.as_ref().map(|r| r.source),
            default_config_path().map(|_| ConfigSource::Default)
        );
        assert_eq!(resolved.map(|r| r.path), default_config_path());
    }

    #[test]
    fn platform_paths_share_the_config_folder() {
        // The home folder exists wherever these tests run; the shape is what matters.
        let (Some(dir), Some(config), Some(themes)) =
            (config_dir(), default_config_path(), themes_dir())
        else {
            return;
        };
        assert!(dir.ends_with("ibet-console"));
        assert_eq!(config, dir.join("config.toml"));
        assert_eq!(themes, dir.join("themes"));
        assert!(data_dir().is_some_and(|d| d.ends_with("ibet-console")));
    }
}
