//! The console's state: the observed world and what the screen needs beside it (screen,
//! focus, selections, filter, the modal layer). Plain data, drawn by `ui` and changed
//! only by `update`; it holds no terminal and no backend.

use super::logview::LogViewState;
use crate::clock::EpochMs;
use crate::config::Config;
use crate::model::ecs::{Service, Task};
use crate::poll::OnScreen;
use crate::world::{ClusterAddr, ClusterState, EnvState, World, due_at};

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

/// What draws over the screen and takes the keys while it is open: at most one at a
/// time.
#[derive(Debug, Clone, PartialEq)]
pub enum Modal {
    /// The `?` overlay, scrolled down `scroll` rows (when it is taller than the screen).
    Help {
        /// Rows scrolled down.
        scroll: u16,
    },
    /// An action's dialog: plan, gate, confirmation, then the outcome or the rollout.
    Dialog(Box<super::dialog::OpDialog>),
    /// The release picker (revisions of a service and their diff).
    Revisions(Box<super::release::RevisionPicker>),
    /// The container picker `l` opened on a task with several containers.
    Containers(super::log_picker::ContainerPicker),
}

/// The console's state: the observed [`World`] and what the screen needs beside it.
///
/// `clusters` is the selected cluster of each environment (kept when another environment
/// is shown); `service_row`, `task_row` and `path_row` are selections in the filtered
/// lists; `help_scroll_max` is how far the help can scroll at the size it was last drawn
/// (from the frame's [`crate::ui::Drawn`] report); `redraw_at` is when the frame on
/// screen changes with the clock alone (see [`crate::clock::watch_changes`]): the tick
/// marks the screen dirty only from then on.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct State {
    pub world: World,
    pub env: usize,
    pub clusters: Vec<usize>,
    pub screen: Screen,
    pub focus: Focus,
    pub service_row: usize,
    pub task_row: usize,
    pub path_row: usize,
    pub filter: Filter,
    pub modal: Option<Modal>,
    pub help_scroll_max: u16,
    pub write_enabled: bool,
    pub demo: bool,
    /// A one-line notice for the footer, with when it was set.
    pub notice: Option<(String, EpochMs)>,
    /// Set when something visible changed since the last frame.
    pub dirty: bool,
    pub redraw_at: Option<EpochMs>,
    pub quit: bool,
    /// How to get started, shown instead of the overview when nothing is configured.
    pub setup: Option<Vec<String>>,
    /// The problem the `e` key jumped to last.
    pub problem_cursor: usize,
    /// Lines a log view keeps.
    pub log_capacity: usize,
    /// The zone clock times are shown in.
    pub zone: crate::clock::Zone,
    /// Account IDs and IP addresses are masked on every frame ([`crate::redact`]).
    pub redact: bool,
}

impl State {
    /// The initial state for a configuration.
    pub fn new(config: &Config, now: EpochMs) -> Self {
        let world = World::new(config, now);
        Self {
            clusters: vec![0; world.envs.len()],
            world,
            env: 0,
            screen: Screen::Overview,
            focus: Focus::Services,
            service_row: 0,
            task_row: 0,
            path_row: 0,
            filter: Filter::default(),
            modal: None,
            help_scroll_max: 0,
            write_enabled: false,
            demo: false,
            notice: None,
            dirty: true,
            redraw_at: None,
            quit: false,
            setup: None,
            problem_cursor: 0,
            log_capacity: config.log_buffer_lines,
            zone: config.zone(),
            redact: config.redacted(),
        }
    }

    /// Now, as of the last message.
    pub fn now(&self) -> EpochMs {
        self.world.now
    }

    /// The open action dialog.
    pub fn dialog(&self) -> Option<&super::dialog::OpDialog> {
        match &self.modal {
            Some(Modal::Dialog(d)) => Some(d),
            _ => None,
        }
    }

    /// The open action dialog, to change.
    pub fn dialog_mut(&mut self) -> Option<&mut super::dialog::OpDialog> {
        match &mut self.modal {
            Some(Modal::Dialog(d)) => Some(d),
            _ => None,
        }
    }

    /// The open release picker.
    pub fn picker(&self) -> Option<&super::release::RevisionPicker> {
        match &self.modal {
            Some(Modal::Revisions(p)) => Some(p),
            _ => None,
        }
    }

    /// Whether the help overlay is open.
    pub fn help_open(&self) -> bool {
        matches!(self.modal, Some(Modal::Help { .. }))
    }

    /// Sets the footer's notice.
    pub fn say(&mut self, text: impl Into<String>) {
        self.notice = Some((text.into(), self.world.now));
    }

    /// The selected cluster's index in the selected environment.
    pub fn selected_cluster(&self) -> usize {
        self.clusters.get(self.env).copied().unwrap_or(0)
    }

    /// The selected cluster's address.
    pub fn selected_addr(&self) -> ClusterAddr {
        ClusterAddr {
            env: self.env,
            cluster: self.selected_cluster(),
        }
    }

    /// What the screen shows of the clusters' AWS reads: the selected cluster on the
    /// overview and the tasks, none on the log view. A key calls only those pollers back
    /// to their full rhythm.
    pub fn on_screen(&self) -> OnScreen {
        match self.screen {
            Screen::Logs { .. } => OnScreen::NoCluster,
            Screen::Overview | Screen::Tasks { .. } => OnScreen::Cluster(self.selected_addr()),
        }
    }

    /// Whether the current environment is idle: some poller pauses longer than its
    /// rhythm, what it reads repeating (quiet polling; any key brings the rhythm back).
    pub fn idle(&self) -> bool {
        self.current_env().is_some_and(EnvState::idle)
    }

    /// Whether slowed pollers go back to their full rhythm after `msg`: someone is looking
    /// (a key, a resize), or, on every tick, an action is open or being watched through
    /// (its dialog reads the polls).
    pub fn wants_full_rhythm(&self, msg: &super::msg::Msg) -> bool {
        use super::msg::Msg;
        match msg {
            Msg::Key(_) | Msg::Resize => true,
            Msg::Tick(_) => self.dialog().is_some(),
            _ => false,
        }
    }

    /// Whether `msg` brings the first sight of something on screen, drawn at once
    /// rather than at the next frame of the rhythm: a cluster's first look at its
    /// services (once per cluster), and the first poll of a node of the cluster shown.
    pub fn first_sight(&self, msg: &super::msg::Msg) -> bool {
        use super::msg::Msg;
        use crate::world::Observation;
        match msg {
            Msg::Observed(Observation::EcsServices { .. }) => true,
            Msg::Observed(Observation::Node { at, node, .. }) => {
                *at == self.selected_addr()
                    && self
                        .world
                        .cluster(*at)
                        .and_then(|c| c.nodes.get(*node))
                        .is_some_and(|n| {
                            n.history.last_answer().is_none()
                                && n.history.consecutive_failures() == 0
                        })
            }
            _ => false,
        }
    }

    /// Takes what a frame of this state reported ([`crate::ui::Drawn`]): when it changes
    /// with the clock alone (the clock tick marks the screen dirty again only from then
    /// on), how far the help can scroll, the log view's geometry.
    pub fn drawn(&mut self, drawn: crate::ui::Drawn) {
        // A frame with nothing that moves with the clock is still drawn again now and
        // then: a time-dependent detail that failed to say so stays wrong that long at
        // most.
        self.redraw_at = Some(due_at(self.world.now, drawn.changes_in));
        self.dirty = false;
        if let Some(max) = drawn.help_scroll_max {
            self.help_scroll_max = max;
        }
        if let (Some(geometry), Screen::Logs { view, .. }) = (drawn.log_geometry, &mut self.screen)
        {
            view.set_drawn(geometry);
        }
    }

    /// The selected cluster's request path, when it has one.
    pub fn current_path(&self) -> Option<crate::path::RequestPath> {
        let at = self.selected_addr();
        crate::path::for_cluster(&self.world, at.env, at.cluster)
    }

    /// The selected environment.
    pub fn current_env(&self) -> Option<&EnvState> {
        self.world.envs.get(self.env)
    }

    /// The selected cluster.
    pub fn current_cluster(&self) -> Option<&ClusterState> {
        self.world.cluster(self.selected_addr())
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
