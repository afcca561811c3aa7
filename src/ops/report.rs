//! How an op ended: the [`OpReport`] the executor returns, its [`Outcome`] and the
//! process exit code that follows from it.
//!
//! These are the words the audit log, the JSON output and the exit codes share, so they
//! are a contract for scripts. Nothing here runs or judges an op.

use serde::{Deserialize, Serialize};

use super::{Check, Op, PlanId};

/// Exit code of a command whose op was done and verified.
pub const EXIT_OK: i32 = 0;
/// Exit code of a command whose op failed (or could not be verified).
pub const EXIT_FAILED: i32 = 1;
/// Exit code of a command whose op was refused (gate, guard, read-only, confirmation).
pub const EXIT_REFUSED: i32 = 3;

/// How an op ended, as the audit log and the JSON output say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done and verified.
    Ok,
    /// The call failed (or nothing could be done).
    Failed,
    /// Not done: a gate, guard, confirmation or read-only environment said no.
    Refused,
    /// The call succeeded but reading back did not show the change.
    VerifyFailed,
}

impl Outcome {
    /// The process exit code: 0 done and verified, 3 refused, 1 otherwise.
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Ok => EXIT_OK,
            Self::Refused => EXIT_REFUSED,
            Self::Failed | Self::VerifyFailed => EXIT_FAILED,
        }
    }

    /// The word used in the audit log and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Refused => "refused",
            Self::VerifyFailed => "verify_failed",
        }
    }
}

/// Why a report is the answer to an earlier confirmation rather than a new run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Repeat {
    /// The same plan is being executed right now; nothing was started.
    AlreadyRunning,
    /// The same plan was executed already; this is that run's report.
    AlreadyDone,
}

/// The result of executing a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpReport {
    /// The plan executed.
    pub plan_id: PlanId,
    /// The plan's op, for a reader holding only the report.
    pub op: Op,
    /// How it ended; the exit code follows from it.
    pub outcome: Outcome,
    /// One line for the operator.
    pub message: String,
    /// The error, when it failed or was refused.
    pub error: Option<String>,
    /// What to do about the error.
    pub hint: Option<String>,
    /// Whether a failed gate was overridden.
    pub override_gate: bool,
    /// The checks as they stood when the executor decided.
    pub checks: Vec<Check>,
    /// Set when this answers a repeated confirmation of the same plan.
    pub repeat: Option<Repeat>,
}

impl OpReport {
    /// The process exit code (see [`Outcome::exit_code`]).
    pub fn exit_code(&self) -> i32 {
        self.outcome.exit_code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(Outcome::Ok.exit_code(), 0);
        assert_eq!(Outcome::Failed.exit_code(), 1);
        assert_eq!(Outcome::VerifyFailed.exit_code(), 1);
        assert_eq!(Outcome::Refused.exit_code(), 3);
    }
}
