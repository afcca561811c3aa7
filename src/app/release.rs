//! The release flow's own state: the revision picker (a service's task-definition
//! revisions, newest first, the running one marked, a cursor) and the watch of a rollout
//! after a release or rollback ran (its phase as the ECS polls report it, and whether a
//! one-step rollback is offered).
//!
//! Pure, like `update`: keys produce a [`PickerAction`], and the ECS snapshots the normal
//! pollers bring are observed by [`RolloutWatch::observe`]. Nothing here runs an op:
//! choosing a revision opens the normal op dialog (plan, guard, confirm, audit, verify).
//! The diff is `ops::release::task_definition_diff`, never computed here. The one backend
//! read, [`read_revisions`], runs in a task the event loop spawns.

use crossterm::event::{KeyCode, KeyEvent};
use futures_util::future::join_all;

use crate::backend::{BackendError, BackendResult, EcsApi};
use crate::clock::EpochMs;
use crate::model::ecs::{Service, TaskDefinition, task_definition_revision};
use crate::ops::release::{
    DiffLine, RolloutPhase, WaitUntil, back_op, rollback_target, rollout_phase,
    task_definition_diff, task_definition_family,
};
use crate::ops::{Op, OpReport, Outcome, Plan};

/// Revisions of a family the picker reads at most (the newest, plus the running one).
pub const MAX_REVISIONS: usize = 12;

/// A rollout still in progress this long after the op is called stuck.
pub const STUCK_AFTER_MS: EpochMs = 5 * 60_000;

/// How long a watch waits for a poll that shows the service on the target before it
/// believes polls that do not.
const FIRST_SIGHT_MS: EpochMs = 60_000;

/// Reads the revisions the picker shows: the newest [`MAX_REVISIONS`] active revisions of
/// `current`'s family and `current` itself, newest first.
pub async fn read_revisions(ecs: &dyn EcsApi, current: &str) -> BackendResult<Vec<TaskDefinition>> {
    let family = task_definition_family(current);
    let mut arns = ecs.task_definition_revisions(family).await?;
    arns.truncate(MAX_REVISIONS);
    if !arns.iter().any(|arn| arn == current) {
        arns.push(current.to_string());
    }
    let read = join_all(arns.iter().map(|arn| ecs.task_definition(arn))).await;
    let mut revisions = read.into_iter().collect::<BackendResult<Vec<_>>>()?;
    revisions.sort_by_key(|td| std::cmp::Reverse(td.revision));
    Ok(revisions)
}

/// What the picker was opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickerIntent {
    /// `u`: choose any revision.
    Choose,
    /// `b`: go straight to the rollback's confirmation once the revisions are read.
    RollBack,
}

/// The revisions as far as they are read.
#[derive(Debug, Clone, PartialEq)]
pub enum Revisions {
    /// Being read.
    Loading,
    /// The read failed.
    Failed {
        /// What failed.
        error: String,
        /// What to do about it.
        hint: Option<String>,
    },
    /// Newest first.
    Ready(Vec<TaskDefinition>),
}

/// What a key asks of the event loop.
#[derive(Debug, Clone, PartialEq)]
pub enum PickerAction {
    /// Nothing beyond redrawing.
    None,
    /// Close the picker.
    Close,
    /// Close the picker and open the op dialog for this op.
    Open(Op),
    /// Tell the operator something in the footer.
    Notice(String),
}

/// The revision picker of one service.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionPicker {
    /// Environment index.
    pub env: usize,
    /// Cluster index within the environment.
    pub cluster: usize,
    /// Environment name (for the op).
    pub env_name: String,
    /// Cluster display name (for the op).
    pub cluster_name: String,
    /// Service name.
    pub service: String,
    /// The task definition the service runs (ARN).
    pub current: String,
    /// Why it was opened.
    pub intent: PickerIntent,
    /// The revisions.
    pub revisions: Revisions,
    /// The chosen row.
    pub cursor: usize,
}

impl RevisionPicker {
    /// A picker for `service`, running `current`, waiting for its revisions.
    pub fn new(
        (env, cluster): (usize, usize),
        env_name: &str,
        cluster_name: &str,
        service: &str,
        current: &str,
        intent: PickerIntent,
    ) -> Self {
        Self {
            env,
            cluster,
            env_name: env_name.to_string(),
            cluster_name: cluster_name.to_string(),
            service: service.to_string(),
            current: current.to_string(),
            intent,
            revisions: Revisions::Loading,
            cursor: 0,
        }
    }

    /// Whether a read for (`env`, `cluster`, `service`) belongs to this picker.
    pub fn is_for(&self, env: usize, cluster: usize, service: &str) -> bool {
        self.env == env && self.cluster == cluster && self.service == service
    }

    /// The revisions arrived: the cursor goes to the newest revision newer than the
    /// running one, else to the running one.
    pub fn loaded(&mut self, result: Result<Vec<TaskDefinition>, BackendError>) {
        self.revisions = match result {
            Ok(mut revisions) => {
                revisions.sort_by_key(|td| std::cmp::Reverse(td.revision));
                Revisions::Ready(revisions)
            }
            Err(e) => Revisions::Failed {
                hint: e.hint(),
                error: e.to_string(),
            },
        };
        let running = task_definition_revision(&self.current);
        self.cursor = match self.list() {
            [newest, ..] if running.is_some_and(|r| newest.revision > r) => 0,
            list => list
                .iter()
                .position(|td| td.arn == self.current)
                .unwrap_or(0),
        };
    }

    /// The revisions read so far, newest first.
    pub fn list(&self) -> &[TaskDefinition] {
        match &self.revisions {
            Revisions::Ready(list) => list,
            _ => &[],
        }
    }

    /// The running revision, once read.
    pub fn running(&self) -> Option<&TaskDefinition> {
        self.list().iter().find(|td| td.arn == self.current)
    }

    /// The revision under the cursor.
    pub fn chosen(&self) -> Option<&TaskDefinition> {
        self.list().get(self.cursor)
    }

    /// The chosen revision against the running one (secret values masked).
    pub fn diff(&self) -> Option<Vec<DiffLine>> {
        Some(task_definition_diff(self.running()?, self.chosen()?))
    }

    /// The op that moves the service to `target`: a release when it is newer than the
    /// running revision, a rollback when older; `None` for the running one.
    pub fn op_for(&self, target: &TaskDefinition) -> Option<Op> {
        if target.arn == self.current {
            return None;
        }
        let (env, cluster, service) = (
            self.env_name.clone(),
            self.cluster_name.clone(),
            self.service.clone(),
        );
        let to_task_definition = target.arn.clone();
        let older = task_definition_revision(&self.current).is_some_and(|r| target.revision < r);
        Some(if older {
            Op::Rollback {
                env,
                cluster,
                service,
                to_task_definition,
            }
        } else {
            Op::Release {
                env,
                cluster,
                service,
                to_task_definition,
            }
        })
    }

    /// The one-step rollback of `service` (as the last poll saw it), over the revisions
    /// read: the previous deployment's revision while ECS lists it, else the revision
    /// before the running one.
    pub fn rollback_op(&self, service: &Service) -> Option<Op> {
        let arns: Vec<String> = self.list().iter().map(|td| td.arn.clone()).collect();
        let target = rollback_target(service, &arns)?;
        Some(Op::Rollback {
            env: self.env_name.clone(),
            cluster: self.cluster_name.clone(),
            service: self.service.clone(),
            to_task_definition: target.task_definition,
        })
    }

    /// Handles a key.
    pub fn handle_key(&mut self, key: KeyEvent) -> PickerAction {
        let n = self.list().len();
        let step = |cursor: usize, delta: i64| -> usize {
            if n == 0 {
                return 0;
            }
            (cursor as i64 + delta).clamp(0, n as i64 - 1) as usize
        };
        match key.code {
            KeyCode::Esc | KeyCode::Char('q' | 'n') => return PickerAction::Close,
            KeyCode::Up | KeyCode::Char('k') => self.cursor = step(self.cursor, -1),
            KeyCode::Down | KeyCode::Char('j') => self.cursor = step(self.cursor, 1),
            KeyCode::PageUp => self.cursor = step(self.cursor, -10),
            KeyCode::PageDown => self.cursor = step(self.cursor, 10),
            KeyCode::Home | KeyCode::Char('g') => self.cursor = 0,
            KeyCode::End | KeyCode::Char('G') => self.cursor = n.saturating_sub(1),
            KeyCode::Enter => {
                let Some(chosen) = self.chosen() else {
                    return PickerAction::None;
                };
                return match self.op_for(chosen) {
                    Some(op) => PickerAction::Open(op),
                    None => PickerAction::Notice(format!(
                        "{} already runs {}: choose another revision",
                        self.service,
                        crate::model::ecs::short_task_definition(&self.current)
                    )),
                };
            }
            _ => {}
        }
        PickerAction::None
    }
}

/// Why a one-step rollback is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollbackReason {
    /// The rollout failed.
    Failed,
    /// Still in progress after [`STUCK_AFTER_MS`].
    Stuck,
    /// Tasks of the new revision failed.
    TasksFailing,
}

impl RollbackReason {
    /// A few words for the operator.
    pub fn text(self) -> &'static str {
        match self {
            Self::Failed => "the rollout failed",
            Self::Stuck => "the rollout seems stuck",
            Self::TasksFailing => "tasks of the new revision are failing",
        }
    }
}

/// A rollout being watched after a release or rollback ran.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutWatch {
    /// The op that started it.
    pub op: Op,
    /// The service.
    pub service: String,
    /// The task definition rolled out (ARN).
    pub target: String,
    /// The task definition the service ran before (ARN): where a rollback goes.
    pub previous: String,
    /// When the op ended.
    pub since: EpochMs,
    /// What it waits for: the TUI waits until the service is stable.
    pub until: WaitUntil,
    /// The phase as of the last poll.
    pub phase: RolloutPhase,
    /// Whether a poll has shown the service on the target yet.
    pub seen_target: bool,
    /// When the watch saw the rollout end.
    pub ended_at: Option<EpochMs>,
    /// Failed tasks of the target's deployment, as of the last poll.
    pub failed_tasks: u32,
    /// When the last poll was observed.
    pub observed_at: Option<EpochMs>,
    /// The most tasks of the older deployments seen running at once: what the rollout
    /// has to drain.
    pub old_peak: u32,
    /// Why a rollback is offered, if it is.
    pub offer: Option<RollbackReason>,
}

impl RolloutWatch {
    /// The watch that follows `report`'s op, when it is a release or rollback that was
    /// done (the target and the previous revision come from its plan's preview).
    pub fn after(report: &OpReport, plan: Option<&Plan>, now: EpochMs) -> Option<Self> {
        if report.outcome != Outcome::Ok
            || !matches!(report.op, Op::Release { .. } | Op::Rollback { .. })
        {
            return None;
        }
        let preview = plan?.release.as_ref()?;
        Some(Self {
            op: report.op.clone(),
            service: report.op.service()?.to_string(),
            target: preview.target.clone(),
            previous: preview.current.clone(),
            since: now,
            until: WaitUntil::default(),
            phase: RolloutPhase::InProgress,
            seen_target: false,
            ended_at: None,
            failed_tasks: 0,
            observed_at: None,
            old_peak: 0,
            offer: None,
        })
    }

    /// Observes the service as a poll at `when` saw it; returns whether anything shown
    /// changed. Until a poll shows the service on the target, polls that do not are
    /// taken for older than the op (for [`FIRST_SIGHT_MS`]). Once the rollout completed
    /// or failed, the phase stays.
    pub fn observe(&mut self, service: &Service, when: EpochMs) -> bool {
        let before = self.clone();
        self.observed_at = Some(when);
        if service.task_definition == self.target {
            self.seen_target = true;
        }
        if self.ended_at.is_none() && (self.seen_target || when - self.since > FIRST_SIGHT_MS) {
            self.phase = rollout_phase(service, &self.target, self.until);
            if self.phase != RolloutPhase::InProgress {
                self.ended_at = Some(when);
            }
        }
        if self.seen_target {
            self.old_peak = self.old_peak.max(old_running(service));
        }
        self.failed_tasks = service
            .deployments
            .iter()
            .filter(|d| d.task_definition == self.target)
            .map(|d| d.failed)
            .sum();
        let rolled_back = service.task_definition == self.previous;
        self.offer = match self.phase {
            // ECS's circuit breaker put the previous revision back already.
            RolloutPhase::Failed if rolled_back => None,
            RolloutPhase::Failed => Some(RollbackReason::Failed),
            RolloutPhase::InProgress if self.failed_tasks > 0 => Some(RollbackReason::TasksFailing),
            RolloutPhase::InProgress if when - self.since > STUCK_AFTER_MS => {
                Some(RollbackReason::Stuck)
            }
            RolloutPhase::InProgress | RolloutPhase::Completed => None,
        };
        *self != before
    }

    /// The op that goes back to the previous revision.
    pub fn back_op(&self) -> Op {
        back_op(&self.op, &self.previous)
    }

    /// Where the rollout stands in `service`: the target's running tasks against the
    /// desired count, and the older deployments' tasks still running.
    pub fn progress(&self, service: &Service) -> Progress {
        let desired = service.desired;
        if self.phase == RolloutPhase::Completed {
            return Progress {
                new_running: desired,
                desired,
                old_running: 0,
                old_peak: self.old_peak,
            };
        }
        let new_running = service
            .deployments
            .iter()
            .filter(|d| d.status == "PRIMARY" && d.task_definition == self.target)
            .map(|d| d.running)
            .sum::<u32>()
            .min(desired);
        let old_running = old_running(service);
        Progress {
            new_running,
            desired,
            old_running,
            old_peak: self.old_peak.max(old_running),
        }
    }
}

/// Tasks running in the deployments other than the PRIMARY one.
fn old_running(service: &Service) -> u32 {
    service
        .deployments
        .iter()
        .filter(|d| d.status != "PRIMARY")
        .map(|d| d.running)
        .sum()
}

/// Where a rollout stands: new tasks up, old tasks drained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Tasks of the target running (at most `desired`).
    pub new_running: u32,
    /// Tasks the service wants.
    pub desired: u32,
    /// Tasks of older deployments still running.
    pub old_running: u32,
    /// The most tasks of older deployments seen running.
    pub old_peak: u32,
}

impl Progress {
    /// Done so far, from 0 to 1: starting the new tasks and draining the old ones count
    /// alike, task by task.
    pub fn ratio(self) -> f64 {
        let total = self.desired + self.old_peak;
        if total == 0 {
            return 1.0;
        }
        let done = self.new_running + self.old_peak.saturating_sub(self.old_running);
        f64::from(done.min(total)) / f64::from(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ecs::{Deployment, Rollout};
    use crossterm::event::KeyModifiers;

    const ARN: &str = "arn:aws:ecs:ap-northeast-1:1:task-definition/ibet-api";

    fn td(revision: u32) -> TaskDefinition {
        TaskDefinition {
            arn: format!("{ARN}:{revision}"),
            family: "ibet-api".into(),
            revision,
            ..TaskDefinition::default()
        }
    }

    fn picker(current: u32, revisions: &[u32]) -> RevisionPicker {
        let mut p = RevisionPicker::new(
            (1, 0),
            "staging",
            "node-api",
            "api",
            &format!("{ARN}:{current}"),
            PickerIntent::Choose,
        );
        p.loaded(Ok(revisions.iter().map(|r| td(*r)).collect()));
        p
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn the_cursor_starts_on_the_newest_newer_revision() {
        let p = picker(43, &[42, 45, 43, 44]);
        let order: Vec<u32> = p.list().iter().map(|t| t.revision).collect();
        assert_eq!(order, [45, 44, 43, 42], "newest first");
        assert_eq!(p.chosen().map(|t| t.revision), Some(45));
        let settled = picker(45, &[45, 44]);
        assert_eq!(settled.chosen().map(|t| t.revision), Some(45));
    }

    #[test]
    fn enter_opens_a_release_or_a_rollback() {
        let mut p = picker(43, &[45, 44, 43, 42]);
        assert!(matches!(
            p.handle_key(key(KeyCode::Enter)),
            PickerAction::Open(Op::Release { to_task_definition, .. }) if to_task_definition.ends_with(":45")
        ));
        p.handle_key(key(KeyCode::Down));
        p.handle_key(key(KeyCode::Down));
        assert!(matches!(
            p.handle_key(key(KeyCode::Enter)),
            PickerAction::Notice(_)
        ));
        p.handle_key(key(KeyCode::End));
        p.handle_key(key(KeyCode::Down));
        assert!(matches!(
            p.handle_key(key(KeyCode::Enter)),
            PickerAction::Open(Op::Rollback { to_task_definition, .. }) if to_task_definition.ends_with(":42")
        ));
        assert_eq!(p.handle_key(key(KeyCode::Esc)), PickerAction::Close);
    }

    fn service(td_revision: u32, deployments: &[(u32, Rollout, u32, u32)]) -> Service {
        Service {
            name: "api".into(),
            task_definition: format!("{ARN}:{td_revision}"),
            desired: 2,
            running: deployments.iter().map(|(_, _, running, _)| running).sum(),
            deployments: deployments
                .iter()
                .enumerate()
                .map(|(i, (r, rollout, running, failed))| Deployment {
                    id: format!("d{r}"),
                    status: if i == 0 { "PRIMARY" } else { "ACTIVE" }.into(),
                    task_definition: format!("{ARN}:{r}"),
                    rollout: *rollout,
                    running: *running,
                    failed: *failed,
                    ..Deployment::default()
                })
                .collect(),
            ..Service::default()
        }
    }

    fn watch() -> RolloutWatch {
        RolloutWatch {
            op: Op::Release {
                env: "staging".into(),
                cluster: "node-api".into(),
                service: "api".into(),
                to_task_definition: format!("{ARN}:44"),
            },
            service: "api".into(),
            target: format!("{ARN}:44"),
            previous: format!("{ARN}:43"),
            since: 1_000,
            until: WaitUntil::Stable,
            phase: RolloutPhase::InProgress,
            seen_target: false,
            ended_at: None,
            failed_tasks: 0,
            observed_at: None,
            old_peak: 0,
            offer: None,
        }
    }

    #[test]
    fn a_poll_from_before_the_op_is_not_a_failure() {
        let mut w = watch();
        w.observe(&service(43, &[(43, Rollout::Completed, 2, 0)]), 2_000);
        assert_eq!(w.phase, RolloutPhase::InProgress);
        assert_eq!(w.offer, None);
        w.observe(
            &service(
                44,
                &[
                    (44, Rollout::InProgress, 1, 0),
                    (43, Rollout::Completed, 2, 0),
                ],
            ),
            5_000,
        );
        assert_eq!(w.phase, RolloutPhase::InProgress);
        let half = w.progress(&service(
            44,
            &[
                (44, Rollout::InProgress, 2, 0),
                (43, Rollout::Completed, 2, 0),
            ],
        ));
        assert_eq!(
            (half.new_running, half.old_running, half.old_peak),
            (2, 2, 2)
        );
        assert!(
            (half.ratio() - 0.5).abs() < 1e-9,
            "new up, old not drained yet"
        );
        w.observe(&service(44, &[(44, Rollout::Completed, 2, 0)]), 20_000);
        assert_eq!(w.phase, RolloutPhase::Completed);
        assert_eq!(w.ended_at, Some(20_000));
        assert_eq!(w.offer, None);
    }

    #[test]
    fn a_failed_rollout_offers_the_way_back() {
        let mut w = watch();
        w.observe(
            &service(
                44,
                &[
                    (44, Rollout::InProgress, 0, 2),
                    (43, Rollout::Completed, 2, 0),
                ],
            ),
            9_000,
        );
        assert_eq!(w.offer, Some(RollbackReason::TasksFailing));
        w.observe(
            &service(
                44,
                &[(44, Rollout::Failed, 0, 3), (43, Rollout::Completed, 2, 0)],
            ),
            20_000,
        );
        assert_eq!(w.phase, RolloutPhase::Failed);
        assert_eq!(w.offer, Some(RollbackReason::Failed));
        let mut undone = w.clone();
        undone.observe(
            &service(
                43,
                &[(43, Rollout::InProgress, 2, 0), (44, Rollout::Failed, 0, 3)],
            ),
            25_000,
        );
        assert_eq!(undone.offer, None, "ECS rolled it back by itself");
        assert_eq!(
            w.back_op(),
            Op::Rollback {
                env: "staging".into(),
                cluster: "node-api".into(),
                service: "api".into(),
                to_task_definition: format!("{ARN}:43"),
            }
        );
    }

    #[test]
    fn a_long_rollout_is_called_stuck() {
        let mut w = watch();
        let rolling = service(
            44,
            &[
                (44, Rollout::InProgress, 1, 0),
                (43, Rollout::Completed, 2, 0),
            ],
        );
        w.observe(&rolling, 60_000);
        assert_eq!(w.offer, None);
        w.observe(&rolling, 1_000 + STUCK_AFTER_MS + 1);
        assert_eq!(w.offer, Some(RollbackReason::Stuck));
    }
}
