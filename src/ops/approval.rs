//! Approval: what the operator's confirmation must be, and whether one given fits.
//!
//! A plain yes is enough in an ordinary environment; a danger (production) environment
//! takes its name, typed. Overriding a failed gate takes a second confirmation of its
//! own. This module only judges confirmations: the executor asks it, and refuses the
//! plan when they do not fit. It prompts for nothing.

use crate::config::Environment;

/// One confirmation by the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// A plain yes (not enough in a danger environment).
    Yes,
    /// Text the operator typed (the environment name in a danger environment).
    Typed(String),
}

impl Confirmation {
    /// Whether this confirmation is enough in `environment`.
    ///
    /// A danger environment takes the typed environment name (surrounding whitespace
    /// aside, case as written). Elsewhere a yes is enough, typed or not; typed text that
    /// is neither `yes` nor the environment's name is refused: the operator has another
    /// environment in mind.
    pub(super) fn fits(&self, environment: &Environment) -> bool {
        match self {
            Self::Yes => !environment.danger,
            Self::Typed(text) => {
                let text = text.trim();
                text == environment.name
                    || (!environment.danger && ["y", "yes"].contains(&text.to_lowercase().as_str()))
            }
        }
    }
}

/// The operator's go-ahead for a plan: the confirmation, and the separate, explicit
/// second confirmation that overrides a failed gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The go-ahead itself, enough when every check passed.
    pub confirmation: Confirmation,
    /// Asked for on its own, after the first; `None`: no override.
    pub override_gate: Option<Confirmation>,
}

impl Approval {
    /// A plain yes, no override.
    pub fn yes() -> Self {
        Self {
            confirmation: Confirmation::Yes,
            override_gate: None,
        }
    }

    /// The typed environment name, no override.
    pub fn typed(text: impl Into<String>) -> Self {
        Self {
            confirmation: Confirmation::Typed(text.into()),
            override_gate: None,
        }
    }

    /// With the second confirmation that overrides a failed gate.
    #[must_use]
    pub fn with_override(mut self, second: Confirmation) -> Self {
        self.override_gate = Some(second);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(name: &str, danger: bool) -> Environment {
        Environment {
            name: name.into(),
            region: "ap-northeast-1".into(),
            aws_profile: None,
            endpoint_url: None,
            danger,
            read_only: None,
            redact: false,
            team: crate::config::Team::default(),
            alarm_prefix: None,
            clusters: Vec::new(),
        }
    }

    #[test]
    fn confirmations_fit_the_environment() {
        let production = environment("production", true);
        let staging = environment("staging", false);
        assert!(Confirmation::Yes.fits(&staging));
        assert!(!Confirmation::Yes.fits(&production));
        assert!(Confirmation::Typed("production\n".into()).fits(&production));
        assert!(!Confirmation::Typed("staging".into()).fits(&production));
        assert!(!Confirmation::Typed("Production".into()).fits(&production));
        assert!(!Confirmation::Typed("yes".into()).fits(&production));
        assert!(Confirmation::Typed("Yes".into()).fits(&staging));
        assert!(Confirmation::Typed("staging".into()).fits(&staging));
        assert!(!Confirmation::Typed("production".into()).fits(&staging));
    }
}
