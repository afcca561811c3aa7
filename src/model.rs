//! Plain observed-state types: what the backends report and the views draw.
//!
//! Nothing here does I/O or knows about ratatui or the AWS SDK. The submodules hold the
//! shapes of ECS ([`ecs`]), the internal ALB switch ([`alb`]), Quorum nodes ([`quorum`]),
//! CloudWatch Logs ([`logs`]) and CloudWatch metrics and alarms ([`metrics`]), plus the pure judgements over them (service health,
//! rollout state) that the TUI and `status` share.

pub mod alb;
pub mod ecs;
pub mod logs;
pub mod metrics;
pub mod quorum;

use serde::Serialize;

/// Health of a service, a task or a whole panel, as `status` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Everything as desired.
    Ok,
    /// Not known (yet): no data, or data that does not allow a judgement.
    #[default]
    Unknown,
    /// Working but not as desired (fewer tasks than desired, rollout in progress, ...).
    Degraded,
    /// Not working.
    Down,
}

impl Health {
    /// The worse of two healths (`Down` > `Degraded` > `Unknown` > `Ok`).
    #[must_use]
    pub fn worst(self, other: Self) -> Self {
        self.max(other)
    }

    /// The lowercase word used in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Unknown => "unknown",
            Self::Degraded => "degraded",
            Self::Down => "down",
        }
    }
}
