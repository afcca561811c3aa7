//! The confirmation dialog of an operator action: the plan with its checks (the sync
//! gate's live values for an ALB switch), the typed confirmation of a danger
//! environment, the separate override of a failed gate, progress, and the outcome.
//!
//! After a release or rollback, the done dialog follows the rollout
//! ([`RolloutWatch`]) and offers the one-step rollback when it fails or sticks.
//!
//! Pure: keys produce a [`DialogAction`]; the event loop turns actions into ops-layer
//! calls. Nothing here can run an op by itself, and the executor checks everything
//! again, so a dialog bug cannot bypass a guard.

use crossterm::event::{KeyCode, KeyEvent};

use super::release::RolloutWatch;
use crate::ops::gate::GatePoll;
use crate::ops::{Approval, Confirmation, Op, OpReport, Outcome, Plan, Readiness};

/// Where a dialog stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// Reading the state the plan depends on.
    Planning,
    /// Showing the plan; waiting for the operator.
    Review,
    /// Typing the environment name (danger environments).
    Typing {
        /// What was typed so far.
        input: String,
        /// Whether this is the second, override confirmation.
        for_override: bool,
    },
    /// Asking for the separate override confirmation (non-danger environments).
    ConfirmOverride,
    /// The op is running.
    Running,
    /// The op ended.
    Done(Box<OpReport>),
}

/// What a key asks the event loop to do.
#[derive(Debug, Clone, PartialEq)]
pub enum DialogAction {
    /// Nothing beyond redrawing.
    None,
    /// Close the dialog (and stop its gate poller).
    Close,
    /// Run the plan with this approval.
    Execute(Box<Plan>, Approval),
    /// Open a new dialog for another op (switch back after a failed verification).
    Open(Op),
}

/// An op being confirmed.
#[derive(Debug, Clone, PartialEq)]
pub struct OpDialog {
    /// The op.
    pub op: Op,
    /// Environment index.
    pub env: usize,
    /// The plan, once made.
    pub plan: Option<Box<Plan>>,
    /// The stage.
    pub stage: Stage,
    /// The first confirmation, kept while the override is asked.
    confirmed: Option<Confirmation>,
    /// The node the switch started from (to offer switching back).
    pub switched_from: Option<String>,
    /// The rollout followed after a release or rollback was done.
    pub rollout: Option<RolloutWatch>,
    /// When the op ended (what the console reads of AWS after it is the state after).
    pub done_at: Option<crate::clock::EpochMs>,
    /// The operator confirmed a switch while its sync gate was not yet open: it runs as
    /// soon as the gate holds ([`OpDialog::run_if_armed`]), without a second key.
    armed: Option<Confirmation>,
}

impl OpDialog {
    /// A dialog for `op` in environment `env`, waiting for its plan.
    pub fn new(op: Op, env: usize, switched_from: Option<String>) -> Self {
        Self {
            op,
            env,
            plan: None,
            stage: Stage::Planning,
            confirmed: None,
            switched_from,
            rollout: None,
            done_at: None,
            armed: None,
        }
    }

    /// The plan arrived.
    pub fn plan_ready(&mut self, plan: Plan) {
        if plan.op == self.op && self.stage == Stage::Planning {
            self.plan = Some(Box::new(plan));
            self.stage = Stage::Review;
        }
    }

    /// A session that needs no typed name starts as soon as its plan is ready: opening
    /// it was the request, and it changes nothing in ECS. Its checks failing, or a
    /// danger environment, keep the dialog in review.
    pub fn run_at_once(&mut self) -> Option<DialogAction> {
        let ready = self.plan.as_ref().is_some_and(|p| {
            matches!(p.op, Op::Exec { .. })
                && p.readiness == Readiness::Ready
                && p.typed_confirmation.is_none()
        });
        (ready && self.stage == Stage::Review).then(|| self.finish(Some(Confirmation::Yes), None))
    }

    /// A gate poll arrived; returns whether it was taken.
    pub fn gate_poll(&mut self, poll: GatePoll) -> bool {
        match (&mut self.plan, &self.stage) {
            (Some(plan), Stage::Review | Stage::Typing { .. } | Stage::ConfirmOverride) => {
                plan.record_gate(poll)
            }
            _ => false,
        }
    }

    /// Whether the operator confirmed and the op waits for its sync gate to hold.
    pub fn armed(&self) -> bool {
        self.armed.is_some()
    }

    /// After a gate poll: the execution of a confirmed switch whose gate now holds.
    pub fn run_if_armed(&mut self) -> Option<DialogAction> {
        let ready = self
            .plan
            .as_ref()
            .is_some_and(|p| p.readiness == Readiness::Ready);
        if self.stage != Stage::Review || !ready {
            return None;
        }
        let confirmation = self.armed.take()?;
        Some(self.finish(Some(confirmation), None))
    }

    /// Whether the plan waits only on its sync gate: a gate, and every failed check one
    /// that passes polls can fix (an override could pass it too).
    fn waits_for_gate(&self) -> bool {
        self.plan.as_ref().is_some_and(|p| {
            p.gate.is_some()
                && p.readiness == Readiness::NeedsOverride
                && p.failed_checks().all(|c| c.overridable)
        })
    }

    /// The op finished at `now`.
    pub fn done(&mut self, report: OpReport, now: crate::clock::EpochMs) {
        if report.op == self.op {
            self.stage = Stage::Done(Box::new(report));
            self.done_at = Some(now);
        }
    }

    /// Whether the gate should be polled now.
    pub fn wants_gate_polls(&self) -> bool {
        self.plan.as_ref().is_some_and(|p| p.gate.is_some())
            && matches!(
                self.stage,
                Stage::Review | Stage::Typing { .. } | Stage::ConfirmOverride
            )
    }

    /// Handles a key.
    pub fn handle_key(&mut self, key: KeyEvent) -> DialogAction {
        match &mut self.stage {
            Stage::Planning => match key.code {
                KeyCode::Esc | KeyCode::Char('n' | 'q') => DialogAction::Close,
                _ => DialogAction::None,
            },
            Stage::Running => DialogAction::None,
            Stage::Done(report) => match key.code {
                KeyCode::Char('b') if self.rollout.as_ref().is_some_and(|w| w.offer.is_some()) => {
                    self.rollout
                        .as_ref()
                        .map_or(DialogAction::None, |w| DialogAction::Open(w.back_op()))
                }
                KeyCode::Char('b') => match (&report.op, &self.switched_from, report.outcome) {
                    (
                        Op::SwitchAlb { env, cluster, .. },
                        Some(from),
                        Outcome::VerifyFailed | Outcome::Failed,
                    ) => DialogAction::Open(Op::SwitchAlb {
                        env: env.clone(),
                        cluster: cluster.clone(),
                        to: from.clone(),
                    }),
                    _ => DialogAction::None,
                },
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q' | 'n') => DialogAction::Close,
                _ => DialogAction::None,
            },
            Stage::Typing {
                input,
                for_override,
            } => match key.code {
                KeyCode::Esc => {
                    self.stage = Stage::Review;
                    self.confirmed = None;
                    DialogAction::None
                }
                KeyCode::Backspace => {
                    input.pop();
                    DialogAction::None
                }
                KeyCode::Char(c) if !c.is_control() && input.chars().count() < 64 => {
                    input.push(c);
                    DialogAction::None
                }
                KeyCode::Enter => {
                    let typed = Confirmation::Typed(std::mem::take(input));
                    if *for_override {
                        self.finish(self.confirmed.clone(), Some(typed))
                    } else if self.needs_override() {
                        self.confirmed = Some(typed);
                        self.stage = Stage::Typing {
                            input: String::new(),
                            for_override: true,
                        };
                        DialogAction::None
                    } else {
                        self.finish(Some(typed), None)
                    }
                }
                _ => DialogAction::None,
            },
            Stage::ConfirmOverride => match key.code {
                KeyCode::Char('y') => self.finish(Some(Confirmation::Yes), Some(Confirmation::Yes)),
                KeyCode::Esc | KeyCode::Char('n') => {
                    self.stage = Stage::Review;
                    DialogAction::None
                }
                _ => DialogAction::None,
            },
            Stage::Review => {
                let readiness = self
                    .plan
                    .as_ref()
                    .map_or(Readiness::Blocked, |p| p.readiness);
                let typed = self
                    .plan
                    .as_ref()
                    .and_then(|p| p.typed_confirmation.clone());
                match (key.code, readiness, typed) {
                    (KeyCode::Esc | KeyCode::Char('n' | 'q'), _, _) => DialogAction::Close,
                    (KeyCode::Char('y'), Readiness::Ready, None) => {
                        self.finish(Some(Confirmation::Yes), None)
                    }
                    // The gate flickers (two nodes polled a moment apart, a block each
                    // second): a `y` that meets it counting again is kept, and the switch
                    // runs when the gate holds. The gate is never skipped.
                    (KeyCode::Char('y'), Readiness::NeedsOverride, None)
                        if self.waits_for_gate() =>
                    {
                        self.armed = Some(Confirmation::Yes);
                        DialogAction::None
                    }
                    (KeyCode::Char('O'), Readiness::NeedsOverride, None) => {
                        self.stage = Stage::ConfirmOverride;
                        DialogAction::None
                    }
                    (KeyCode::Char('y'), Readiness::Ready, Some(_))
                    | (KeyCode::Char('O'), Readiness::NeedsOverride, Some(_)) => {
                        self.stage = Stage::Typing {
                            input: String::new(),
                            for_override: false,
                        };
                        DialogAction::None
                    }
                    _ => DialogAction::None,
                }
            }
        }
    }

    fn needs_override(&self) -> bool {
        self.plan
            .as_ref()
            .is_some_and(|p| p.readiness == Readiness::NeedsOverride)
    }

    fn finish(
        &mut self,
        first: Option<Confirmation>,
        second: Option<Confirmation>,
    ) -> DialogAction {
        let (Some(plan), Some(first)) = (&self.plan, first) else {
            return DialogAction::None;
        };
        let approval = Approval {
            confirmation: first,
            override_gate: second,
        };
        self.stage = Stage::Running;
        DialogAction::Execute(plan.clone(), approval)
    }
}
