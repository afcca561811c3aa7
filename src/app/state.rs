//! The console's state: plain data, drawn by `ui` and changed only by `update`.

use super::logview::LogViewState;
use crate::backend::BackendError;
use crate::clock::EpochMs;
use crate::config::{Config, QuorumNode};
use crate::model::Health;
use crate::model::alb::{PathTopology, SwitchView};
use crate::model::ecs::{ClusterSnapshot, Service, Task};
use crate::quorum::{NodeHistory, NodeView, QuorumThresholds, best_height, node_view};

/// The longest a frame stays on screen without being drawn again (ms), even when nothing
/// on it moves with the clock.
pub const LONGEST_STILL_MS: i64 = 10_000;

/// When something computed at `now` is due again, given when it said it changes with the
/// clock alone ([`crate::clock::watch_changes`]): then, or after [`LONGEST_STILL_MS`] at
/// most, as a bound for a detail that fails to say so.
fn due_at(now: EpochMs, changes_in: Option<i64>) -> EpochMs {
    let until = changes_in.map_or(LONGEST_STILL_MS, |ms| ms.min(LONGEST_STILL_MS));
    now.saturating_add(until)
}

/// Data from one poller, with its freshness and last error.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel<T> {
    /// The last good data.
    pub data: Option<T>,
    /// When the last good data arrived.
    pub updated_at: Option<EpochMs>,
    /// The last error, when the last poll failed.
    pub error: Option<PanelError>,
    /// How much longer than its rhythm the panel's poller pauses now, its reads
    /// repeating (ms): the data may be that much older before it is stale.
    pub slowed_ms: i64,
}

impl<T> Default for Panel<T> {
    fn default() -> Self {
        Self {
            data: None,
            updated_at: None,
            error: None,
            slowed_ms: 0,
        }
    }
}

impl<T: PartialEq> Panel<T> {
    /// Applies a poll result: good data replaces the old and clears the error; an error
    /// keeps the last good data (shown with its age).
    ///
    /// Returns whether the data or the error changed: a poll that brings what the panel
    /// already shows changes nothing on screen but times, which the clock tick redraws.
    pub fn apply(&mut self, result: Result<T, BackendError>, when: EpochMs) -> bool {
        match result {
            Ok(d) => {
                let changed = self.error.is_some() || self.data.as_ref() != Some(&d);
                self.data = Some(d);
                self.updated_at = Some(when);
                self.error = None;
                changed
            }
            Err(e) => {
                let since = match &self.error {
                    Some(prev) if prev.error == e => prev.since,
                    _ => when,
                };
                let changed = self.error.as_ref().is_none_or(|prev| prev.error != e);
                self.error = Some(PanelError {
                    error: e,
                    since,
                    at: when,
                });
                changed
            }
        }
    }
}

impl<T> Panel<T> {
    /// Whether the data is older than `max_age_ms` (or missing) at `now`.
    pub fn is_stale(&self, now: EpochMs, max_age_ms: i64) -> bool {
        self.updated_at.is_none() || self.stale_since(now, max_age_ms).is_some()
    }

    /// When the data is older than `max_age_ms` at `now` (plus what its poller's pause is
    /// slowed by): the time it is from. While it is fresh, tells a frame being drawn when
    /// it turns stale ([`crate::clock::note_change_in`]).
    pub fn stale_since(&self, now: EpochMs, max_age_ms: i64) -> Option<EpochMs> {
        let t = self.updated_at?;
        let age = now - t;
        let max_age_ms = max_age_ms.saturating_add(self.slowed_ms);
        if age > max_age_ms {
            return Some(t);
        }
        crate::clock::note_change_in(max_age_ms - age + 1);
        None
    }
}

/// A failed poll, kept as state.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelError {
    /// What failed.
    pub error: BackendError,
    /// When this error first appeared (in a run of identical errors).
    pub since: EpochMs,
    /// When it last happened.
    pub at: EpochMs,
}

/// One Quorum node and what we have seen of it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSlot {
    /// Its configuration.
    pub config: QuorumNode,
    /// Recent samples.
    pub history: NodeHistory,
    /// How much longer than its rhythm the node's poller pauses now, its answers
    /// repeating (ms).
    pub slowed_ms: i64,
}

/// One cluster of an environment.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterState {
    /// Display name.
    pub name: String,
    /// ECS cluster name.
    pub ecs_cluster: String,
    /// ECS data.
    pub ecs: Panel<ClusterSnapshot>,
    /// Quorum nodes.
    pub nodes: Vec<NodeSlot>,
    /// The ALB switch, when configured.
    pub switch: Option<Panel<SwitchView>>,
    /// The load balancers and target health of the cluster's request path.
    pub paths: Panel<PathTopology>,
}

impl ClusterState {
    /// Overall health of the cluster for the cluster list: the ECS services' worst, and
    /// degraded when a Quorum node is not synced.
    pub fn health(&self, views: &[NodeView]) -> Health {
        let ecs = match (&self.ecs.data, &self.ecs.error) {
            (_, Some(_)) => Health::Down,
            (Some(s), None) => s.health(),
            (None, None) => Health::Unknown,
        };
        let nodes = views
            .iter()
            .map(|v| match v.state {
                crate::model::quorum::NodeState::Synced => Health::Ok,
                crate::model::quorum::NodeState::Unknown => Health::Unknown,
                _ => Health::Degraded,
            })
            .fold(Health::Ok, Health::worst);
        if views.is_empty() {
            ecs
        } else {
            ecs.worst(nodes)
        }
    }
}

impl EnvState {
    /// The best block height among the environment's nodes (they share one chain).
    pub fn best_height(&self, thresholds: &QuorumThresholds) -> Option<u64> {
        best_height(
            self.clusters
                .iter()
                .flat_map(|c| c.nodes.iter().map(|n| &n.history)),
            thresholds,
        )
    }

    /// The judged rows of `cluster`'s nodes at `now`.
    pub fn node_views(
        &self,
        cluster: usize,
        now: EpochMs,
        thresholds: &QuorumThresholds,
    ) -> Vec<NodeView> {
        let best = self.best_height(thresholds);
        self.clusters
            .get(cluster)
            .map(|c| {
                c.nodes
                    .iter()
                    .map(|n| node_view(&n.history, best, now, thresholds))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// One environment.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvState {
    /// Name.
    pub name: String,
    /// Production look and typed confirmations.
    pub danger: bool,
    /// Mutations refused (unless `--write`).
    pub read_only: bool,
    /// Clusters.
    pub clusters: Vec<ClusterState>,
    /// Selected cluster.
    pub selected_cluster: usize,
}

/// Which pane of the overview has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    /// The cluster list.
    Clusters,
    /// The services table.
    #[default]
    Services,
    /// The request-path panel.
    Path,
}

/// The screen shown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Screen {
    /// Environments, clusters, services, Quorum nodes.
    #[default]
    Overview,
    /// The tasks of one service.
    Tasks {
        /// Service name.
        service: String,
    },
    /// The live logs of a service or a task.
    Logs {
        /// The log view.
        view: Box<LogViewState>,
        /// The screen to go back to.
        back: Box<Screen>,
    },
}

/// A `/` filter on the current table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// The text typed.
    pub text: String,
    /// Whether keys go to the filter input.
    pub editing: bool,
}

/// The whole console state.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Environments, in tab order.
    pub envs: Vec<EnvState>,
    /// Selected environment.
    pub env: usize,
    /// The screen.
    pub screen: Screen,
    /// Which overview pane has focus.
    pub focus: Focus,
    /// Selected service row (in the filtered list).
    pub service_row: usize,
    /// Selected task row (in the filtered list).
    pub task_row: usize,
    /// Selected hop of the request-path panel.
    pub path_row: usize,
    /// The filter of the current table.
    pub filter: Filter,
    /// Help overlay shown.
    pub help: bool,
    /// Rows the help overlay is scrolled down (when it is taller than the screen).
    pub help_scroll: u16,
    /// The furthest the help can scroll at the size it was last drawn (recorded by the
    /// view while drawing).
    pub help_scroll_max: std::cell::Cell<u16>,
    /// Now, as of the last message.
    pub now: EpochMs,
    /// ECS refresh interval (ms), for staleness.
    pub refresh_ms: i64,
    /// Started with `--write`.
    pub write_enabled: bool,
    /// Whether this is the demo world.
    pub demo: bool,
    /// A one-line notice for the footer, with when it was set.
    pub notice: Option<(String, EpochMs)>,
    /// Set when something visible changed since the last frame.
    pub dirty: bool,
    /// When the last frame drawn changes with the clock alone (an age ticks over, data
    /// turns stale): the clock tick marks the screen dirty only from then on. `None`
    /// until a frame is drawn. See [`crate::clock::watch_changes`].
    pub redraw_at: Option<EpochMs>,
    /// When the problems list changes with the clock alone (a node turns stalled, data
    /// turns stale, an age in a summary ticks over): the clock tick recomputes it only
    /// from then on. `None` until it is first computed.
    pub problems_due_at: Option<EpochMs>,
    /// Set when the console should exit.
    pub quit: bool,
    /// How to get started, shown instead of the overview when nothing is configured.
    pub setup: Option<Vec<String>>,
    /// Quorum judgement thresholds.
    pub thresholds: QuorumThresholds,
    /// Every current problem, worst first (recomputed when data arrives).
    pub problems: Vec<crate::problems::Problem>,
    /// When each problem was first seen.
    pub problem_since: crate::problems::ProblemSince,
    /// The problem the `e` key jumped to last.
    pub problem_cursor: usize,
    /// The open action dialog.
    pub dialog: Option<super::dialog::OpDialog>,
    /// The open release picker (revisions of a service and their diff).
    pub picker: Option<super::release::RevisionPicker>,
    /// The latest operator actions from the audit log, newest first.
    pub recent_actions: Vec<crate::ops::audit::AuditEntry>,
    /// Lines a log view keeps.
    pub log_capacity: usize,
    /// The container picker `l` opened on a task with several containers.
    pub log_picker: Option<super::log_picker::ContainerPicker>,
}

impl State {
    /// The initial state for a configuration.
    pub fn new(config: &Config, now: EpochMs) -> Self {
        let envs = config
            .environments
            .iter()
            .map(|e| EnvState {
                name: e.name.clone(),
                danger: e.danger,
                read_only: e.is_read_only(),
                selected_cluster: 0,
                clusters: e
                    .clusters
                    .iter()
                    .map(|c| ClusterState {
                        name: c.name.clone(),
                        ecs_cluster: c.ecs_cluster.clone(),
                        ecs: Panel::default(),
                        nodes: c
                            .quorum_nodes
                            .iter()
                            .map(|n| NodeSlot {
                                config: n.clone(),
                                history: NodeHistory::new(n.name.clone(), n.role),
                                slowed_ms: 0,
                            })
                            .collect(),
                        switch: c.alb_switch.as_ref().map(|_| Panel::default()),
                        paths: Panel::default(),
                    })
                    .collect(),
            })
            .collect();
        Self {
            envs,
            env: 0,
            screen: Screen::Overview,
            focus: Focus::Services,
            service_row: 0,
            task_row: 0,
            path_row: 0,
            filter: Filter::default(),
            help: false,
            help_scroll: 0,
            help_scroll_max: std::cell::Cell::new(0),
            now,
            refresh_ms: (config.refresh_secs.max(1) * 1000) as i64,
            write_enabled: false,
            demo: false,
            notice: None,
            dirty: true,
            redraw_at: None,
            problems_due_at: None,
            quit: false,
            setup: None,
            thresholds: config.quorum,
            dialog: None,
            picker: None,
            recent_actions: Vec::new(),
            problems: Vec::new(),
            problem_since: crate::problems::ProblemSince::default(),
            problem_cursor: 0,
            log_capacity: config.log_buffer_lines,
            log_picker: None,
        }
    }

    /// Whether some poller of the current environment pauses longer than its rhythm,
    /// what it reads repeating (quiet polling; any key brings the rhythm back).
    pub fn polls_slowed(&self) -> bool {
        self.current_env().is_some_and(|env| {
            env.clusters.iter().any(|c| {
                c.ecs.slowed_ms > 0
                    || c.paths.slowed_ms > 0
                    || c.switch.as_ref().is_some_and(|s| s.slowed_ms > 0)
                    || c.nodes.iter().any(|n| n.slowed_ms > 0)
            })
        })
    }

    /// Whether slowed pollers go back to their full rhythm after `msg`: someone is looking
    /// (a key, a resize), or, on every tick, an action is open or being watched through
    /// (its dialog reads the polls).
    pub fn wants_full_rhythm(&self, msg: &super::msg::Msg) -> bool {
        use super::msg::Msg;
        match msg {
            Msg::Key(_) | Msg::Resize => true,
            Msg::Tick(_) => self.dialog.is_some(),
            _ => false,
        }
    }

    /// How old ECS and request-path data may be before it shows as stale (ms): three
    /// refreshes (more while its poller is slowed: [`Panel::stale_since`]).
    pub fn stale_after_ms(&self) -> i64 {
        self.refresh_ms * 3
    }

    /// Records that a frame of this state was drawn, which changes `changes_in` ms from
    /// now with the clock alone (`None`: it does not), as [`crate::clock::watch_changes`]
    /// returned it. The clock tick marks the screen dirty again only from then on.
    pub fn drawn(&mut self, changes_in: Option<i64>) {
        // A frame with nothing that moves with the clock is still drawn again now and
        // then: a time-dependent detail that failed to say so stays wrong that long at
        // most.
        self.redraw_at = Some(due_at(self.now, changes_in));
        self.dirty = false;
    }

    /// Recomputes the problems list (after new data or as time passes).
    pub fn refresh_problems(&mut self) {
        let (mut problems, changes_in) =
            crate::clock::watch_changes(|| crate::problems::current(self));
        self.problems_due_at = Some(due_at(self.now, changes_in));
        self.problem_since.track(&mut problems, self.now);
        if problems != self.problems {
            self.problems = problems;
            self.dirty = true;
        }
    }

    /// The selected environment.
    pub fn current_env(&self) -> Option<&EnvState> {
        self.envs.get(self.env)
    }

    /// The selected cluster.
    pub fn current_cluster(&self) -> Option<&ClusterState> {
        self.current_env()
            .and_then(|e| e.clusters.get(e.selected_cluster))
    }

    /// The services of the selected cluster that pass the filter, sorted by name.
    pub fn visible_services(&self) -> Vec<&Service> {
        let filter = match self.screen {
            Screen::Overview => self.filter.text.to_lowercase(),
            Screen::Tasks { .. } | Screen::Logs { .. } => String::new(),
        };
        self.current_cluster()
            .and_then(|c| c.ecs.data.as_ref())
            .map(|s| {
                s.services
                    .iter()
                    .filter(|svc| filter.is_empty() || svc.name.to_lowercase().contains(&filter))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The selected service (overview) or the drilled-into one (tasks screen).
    pub fn selected_service(&self) -> Option<&Service> {
        match &self.screen {
            Screen::Overview => self.visible_services().get(self.service_row).copied(),
            Screen::Tasks { service } => self
                .current_cluster()
                .and_then(|c| c.ecs.data.as_ref())
                .and_then(|s| s.services.iter().find(|x| &x.name == service)),
            Screen::Logs { .. } => None,
        }
    }

    /// The tasks of the drilled-into service that pass the filter: running first, then
    /// stopped, newest first within each.
    pub fn visible_tasks(&self) -> Vec<&Task> {
        let Screen::Tasks { service } = &self.screen else {
            return Vec::new();
        };
        let filter = self.filter.text.to_lowercase();
        let Some(snap) = self.current_cluster().and_then(|c| c.ecs.data.as_ref()) else {
            return Vec::new();
        };
        let mut tasks: Vec<&Task> = snap
            .tasks_of(service)
            .filter(|t| {
                filter.is_empty()
                    || t.id.to_lowercase().contains(&filter)
                    || t.last_status.to_lowercase().contains(&filter)
                    || t.stopped_reason
                        .as_deref()
                        .is_some_and(|r| r.to_lowercase().contains(&filter))
            })
            .collect();
        tasks.sort_by(|a, b| {
            a.is_stopped()
                .cmp(&b.is_stopped())
                .then(b.created_at.cmp(&a.created_at))
                .then(a.id.cmp(&b.id))
        });
        tasks
    }
}
