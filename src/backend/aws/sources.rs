//! Where the SDK looks for an environment's credentials, as an error message must name
//! it: which profile is in use and who chose it, the shared config and credentials files
//! with their paths, and what those files say about the profile.
//!
//! This is read only when a call has failed for want of credentials, to say what is
//! wrong in the operator's words ([`super::auth`] does the classifying). It never loads
//! credentials and never decides which ones the SDK uses: a tolerant scan of the files'
//! section headers and a few keys, nothing more.

use std::path::{Path, PathBuf};

/// Who chose the profile the SDK reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenBy {
    /// `aws_profile` of the environment in the console's config.
    Config,
    /// The `AWS_PROFILE` environment variable.
    EnvVar,
    /// Nobody: the SDK's `default`.
    Default,
}

/// The profile in use and the files it should be in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSources {
    /// The profile's name (`default` when none is chosen).
    pub profile: String,
    /// Who chose it.
    pub chosen_by: ChosenBy,
    /// The shared config file (`AWS_CONFIG_FILE`, else `~/.aws/config`).
    pub config_file: PathBuf,
    /// The shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else
    /// `~/.aws/credentials`).
    pub credentials_file: PathBuf,
    /// Whether either file has a section for the profile.
    pub profile_found: bool,
    /// Whether the profile's section in the config file signs in with SSO.
    pub sso: bool,
    /// Whether `AWS_ACCESS_KEY_ID` is set: the SDK then signs with the environment's
    /// keys, whatever the profile.
    pub env_keys: bool,
}

impl CredentialSources {
    /// What this process's environment and files say, for a client configured with
    /// `profile` (the environment's `aws_profile`).
    pub fn read(profile: Option<&str>) -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()))
            .unwrap_or_default();
        Self::from_parts(
            profile,
            |name| std::env::var(name).ok().filter(|v| !v.is_empty()),
            &home,
            |path| std::fs::read_to_string(path).ok(),
        )
    }

    /// [`CredentialSources::read`] with the environment variables, the home directory
    /// and the files given: `var` answers a variable, `read` a file's text (`None` when
    /// it cannot be read).
    pub fn from_parts(
        profile: Option<&str>,
        var: impl Fn(&str) -> Option<String>,
        home: &Path,
        read: impl Fn(&Path) -> Option<String>,
    ) -> Self {
        let (profile, chosen_by) = match (profile, var("AWS_PROFILE")) {
            (Some(p), _) => (p.to_string(), ChosenBy::Config),
            (None, Some(p)) => (p, ChosenBy::EnvVar),
            (None, None) => ("default".to_string(), ChosenBy::Default),
        };
        let file = |variable: &str, default: &str| match var(variable) {
            Some(path) => match path.strip_prefix("~/") {
                Some(rest) => home.join(rest),
                None => PathBuf::from(path),
            },
            None => home.join(".aws").join(default),
        };
        let config_file = file("AWS_CONFIG_FILE", "config");
        let credentials_file = file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
        let config = read(&config_file).unwrap_or_default();
        let credentials = read(&credentials_file).unwrap_or_default();
        let in_config = section(&config, &profile, true);
        let in_credentials = section(&credentials, &profile, false);
        let sso = in_config.as_ref().is_some_and(|keys| {
            keys.iter()
                .any(|k| k == "sso_session" || k == "sso_start_url")
        });
        Self {
            profile_found: in_config.is_some() || in_credentials.is_some(),
            profile,
            chosen_by,
            config_file,
            credentials_file,
            sso,
            env_keys: var("AWS_ACCESS_KEY_ID").is_some(),
        }
    }

    /// The profile's name as a hint names it: `None` for an unchosen `default`.
    pub fn named_profile(&self) -> Option<&str> {
        (self.chosen_by != ChosenBy::Default).then_some(self.profile.as_str())
    }

    /// Where the keys the SDK signed with are, as a hint names them: the environment's,
    /// else the profile's when the files have it.
    pub fn keys(&self) -> String {
        if self.profile_found && !self.env_keys {
            format!(
                "the keys of profile `{}` ({})",
                self.profile,
                self.credentials_file.display()
            )
        } else {
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_string()
        }
    }
}

/// The keys of profile `name`'s section in a shared file's `text`, or `None` when the
/// file has no such section. In the config file a profile is `[profile NAME]` (and
/// `default` may be `[default]`); in the credentials file it is `[NAME]`.
fn section(text: &str, name: &str, config_file: bool) -> Option<Vec<String>> {
    let mut keys: Option<Vec<String>> = None;
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let header = header.trim();
            let title = if config_file {
                match header.strip_prefix("profile ") {
                    Some(rest) => Some(rest.trim()),
                    None => (header == "default").then_some(header),
                }
            } else {
                Some(header)
            };
            inside = title == Some(name);
            if inside {
                keys.get_or_insert_with(Vec::new);
            }
        } else if inside
            && let Some((key, _)) = line.split_once('=')
            && let Some(keys) = keys.as_mut()
        {
            keys.push(key.trim().to_ascii_lowercase());
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(
        profile: Option<&str>,
        vars: &[(&str, &str)],
        files: &[(&str, &str)],
    ) -> CredentialSources {
        CredentialSources::from_parts(
            profile,
            |name| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_string())
            },
            Path::new("/home/op"),
            |path| {
                files
                    .iter()
                    .find(|(p, _)| Path::new(p) == path)
                    .map(|(_, t)| (*t).to_string())
            },
        )
    }

    #[test]
    fn the_config_profile_wins_over_aws_profile() {
        let s = sources(Some("ibet-stg"), &[("AWS_PROFILE", "other")], &[]);
        assert_eq!(s.profile, "ibet-stg");
        assert_eq!(s.chosen_by, ChosenBy::Config);
        assert!(!s.profile_found);
        let s = sources(None, &[("AWS_PROFILE", "other")], &[]);
        assert_eq!(
            (s.profile.as_str(), s.chosen_by),
            ("other", ChosenBy::EnvVar)
        );
        let s = sources(None, &[], &[]);
        assert_eq!(s.named_profile(), None);
        assert_eq!(s.keys(), "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
        assert_eq!(s.config_file, Path::new("/home/op/.aws/config"));
        assert_eq!(s.credentials_file, Path::new("/home/op/.aws/credentials"));
    }

    #[test]
    fn the_files_named_by_the_environment_are_read() {
        let s = sources(
            None,
            &[
                ("AWS_PROFILE", "ops"),
                ("AWS_CONFIG_FILE", "~/cfg/aws"),
                ("AWS_SHARED_CREDENTIALS_FILE", "/etc/aws-keys"),
            ],
            &[("/etc/aws-keys", "[ops]\naws_access_key_id = AKIA\n")],
        );
        assert_eq!(s.config_file, Path::new("/home/op/cfg/aws"));
        assert!(s.profile_found);
        assert!(!s.sso);
        assert_eq!(s.keys(), "the keys of profile `ops` (/etc/aws-keys)");
    }

    #[test]
    fn a_profile_is_found_by_its_header_and_sso_by_its_keys() {
        let config = "[default]\nregion = x\n\n[profile ibet-stg]\nsso_session = ibet\n\
                      sso_account_id = 1\n[sso-session ibet]\nsso_region = ap-northeast-1\n";
        let files = [("/home/op/.aws/config", config)];
        let s = sources(Some("ibet-stg"), &[], &files);
        assert!(s.profile_found && s.sso);
        let s = sources(None, &[], &files);
        assert!(
            s.profile_found && !s.sso,
            "[default] is the default profile"
        );
        let s = sources(Some("ibet"), &[], &files);
        assert!(!s.profile_found, "an sso-session is not a profile");
    }
}
