//! Operator actions as data: op → plan → guard → confirm → audit → execute → verify.
//!
//! Every mutating action of the console (switch the internal ALB, stop a task, force a
//! deployment, release, roll back) passes through the same pipeline, whether a TUI
//! dialog or a `switch`/`restart`/`release`/`rollback` subcommand started it:
//!
//! 1. **op**: what the operator asked for, as data ([`Op`]); nothing is read yet.
//! 2. **plan**: [`plan()`] reads the state the op depends on through the backend traits
//!    and returns a [`Plan`]: the checks with their measured values, exactly what will
//!    change, warnings, and the confirmation it takes. It never fails and changes
//!    nothing.
//! 3. **guard**: the rules run as checks inside the plan: [`guard`] (read-only
//!    environments, validator quorum, the active general node, rollouts) and [`gate`]
//!    (the sync gate of an ALB switch, counted over consecutive polls), and for a
//!    release or rollback [`verify`] (what the target names exists: images, secrets,
//!    roles). A failed check blocks the plan, unless it is a gate or release check, which
//!    an explicit override may pass.
//! 4. **confirm**: the operator's [`Approval`] must fit the environment (the typed name
//!    on a danger environment), and an override takes its own second confirmation
//!    ([`Approval::override_gate`]).
//! 5. **lock and audit**: the [`Executor`] claims the op's target ([`OpKey`]: one op per
//!    target at a time in this process, a plan runs at most once), takes the action
//!    [`lock`] shared with the other consoles (a held one refuses, naming its holder),
//!    plans again and refuses when the state moved, then writes and flushes the
//!    "before" line of the [`audit`] log.
//! 6. **execute**: exactly one mutating backend call.
//! 7. **verify**: the result is read back from AWS ([`Outcome::VerifyFailed`] when it
//!    does not show), the "after" line is written, the lock released, and an
//!    [`OpReport`] says how it ended. A lock whose renewal failed stops the op before
//!    its next AWS call.
//!
//! Read-only is enforced in step 5 as well as in the plan, before any backend call: the
//! executor trusts nothing its caller showed. [`switch`] and [`restart`] turn their ops
//! into plans; [`release`] previews a release or rollback (the task-definition diff,
//! secrets masked). Nothing here draws, parses command lines or sleeps on its own, except
//! [`switch::wait_for_gate`], which a command-line caller asks for.
//!
//! One file per stage: `op` (the op and its key), `plan` (planning, checks, the context
//! it runs in), `approval` (confirmations), `executor` (the run), `report` (outcomes and
//! exit codes); their items are re-exported here, so `crate::ops::Plan` is the path to
//! use.

mod approval;
pub mod audit;
pub mod exec;
mod executor;
pub mod gate;
pub mod guard;
pub mod lock;
mod op;
mod plan;
pub mod release;
mod report;
pub mod restart;
pub mod shared_audit;
pub mod switch;
pub mod verify;

pub use approval::{Approval, Confirmation};
pub use executor::{Executor, SessionRunner, release_into};
pub use op::{Op, OpKey, task_id};
pub use plan::{Check, OpContext, Plan, PlanId, Readiness, plan};
pub(crate) use plan::{Mutation, Verification};
pub use report::{EXIT_FAILED, EXIT_OK, EXIT_REFUSED, OpReport, Outcome, Repeat};
