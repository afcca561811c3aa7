//! The observed world: everything the pollers saw and what the console judges of it, per
//! environment and cluster, free of any screen.
//!
//! A [`World`] holds each cluster's ECS snapshot, request path topology and ALB switch
//! view as [`Panel`]s (the last good data, its age, the last error), each Quorum node's
//! samples, each environment's CloudWatch series (the last half hour) and alarms in
//! ALARM, the operators' recent actions, and the problems list with how long each
//! problem has lasted. It changes only through [`World::apply`] of an [`Observation`]
//! (a poll's result, a poller's pace, the clock moving on), which says what it changed
//! ([`Change`]): the TUI draws when something shown changed, `status` applies one poll of
//! everything and reports.
//!
//! It must not know of keys, screens, selections or dialogs: those are the TUI's
//! (`app::State` holds a `World` beside them). Judgements that read it ([`crate::problems`],
//! [`crate::path`], [`crate::quorum`]) are functions of it.

use crate::backend::BackendError;
use crate::backend::lock::LockRecord;
use crate::clock::EpochMs;
use crate::config::{Config, QuorumNode};
use crate::model::Health;
use crate::model::alb::{PathTopology, SwitchView};
use crate::model::ecs::ClusterSnapshot;
use crate::model::metrics::{Alarm, MetricBatch, MetricSeries, MetricThresholds, PathResources};
use crate::model::quorum::NodeSample;
use crate::ops::shared_audit::RecentAction;
use crate::problems::{Problem, ProblemSince};
use crate::quorum::{NodeHistory, NodeView, QuorumThresholds, best_height, node_view};

/// The longest anything computed from the clock goes without being computed again (ms),
/// even when it says nothing in it moves with the clock: a frame on screen, the problems
/// list.
pub const LONGEST_STILL_MS: i64 = 10_000;

/// When something computed at `now` is due again, given when it said it changes with the
/// clock alone ([`crate::clock::watch_changes`]): then, or after [`LONGEST_STILL_MS`] at
/// most, as a bound for a detail that fails to say so.
pub fn due_at(now: EpochMs, changes_in: Option<i64>) -> EpochMs {
    let until = changes_in.map_or(LONGEST_STILL_MS, |ms| ms.min(LONGEST_STILL_MS));
    now.saturating_add(until)
}

/// Where a poll result belongs: environment and cluster indexes into the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClusterAddr {
    /// Environment index.
    pub env: usize,
    /// Cluster index within the environment.
    pub cluster: usize,
}

/// Which of a cluster's pollers: its ECS poller (the request path is read after it), its
/// ALB switch poller, or the poller of a Quorum node (index within the cluster's
/// `quorum_nodes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Poller {
    Cluster,
    Switch,
    Node(usize),
}

/// Something seen: what a poller read, a poller's changed pace, the audit log's latest
/// actions, or the clock having moved on. The pollers send them; [`World::apply`] is the
/// only place they change the world.
///
/// `when` is when a poll finished; `slowed_ms` how much longer than its rhythm a poller
/// now pauses, its reads repeating (0: its rhythm).
#[derive(Debug)]
#[allow(missing_docs)]
pub enum Observation {
    /// An ECS poll of a cluster.
    Ecs {
        at: ClusterAddr,
        result: Result<ClusterSnapshot, BackendError>,
        when: EpochMs,
    },
    /// A cluster's services alone, read while its first full poll is still reading the
    /// tasks: shown at once, replaced by that poll ([`ClusterState::tasks_pending`]
    /// meanwhile). Ignored once the cluster has been read whole.
    EcsServices {
        at: ClusterAddr,
        result: Result<ClusterSnapshot, BackendError>,
        when: EpochMs,
    },
    /// A request-path discovery (load balancers, target health) of a cluster.
    Paths {
        at: ClusterAddr,
        result: Result<PathTopology, BackendError>,
        when: EpochMs,
    },
    /// An ALB switch poll of a cluster.
    Switch {
        at: ClusterAddr,
        result: Result<SwitchView, BackendError>,
        when: EpochMs,
    },
    /// A Quorum node poll (`node`: index within the cluster's `quorum_nodes`).
    Node {
        at: ClusterAddr,
        node: usize,
        sample: Box<NodeSample>,
    },
    /// A poller now pauses longer than its rhythm, or no longer does.
    Pace {
        at: ClusterAddr,
        poller: Poller,
        slowed_ms: i64,
    },
    /// The latest operator actions from the audit log and the team's group, newest
    /// first, another operator's marked.
    RecentActions(Vec<RecentAction>),
    /// A GetMetricData read of an environment's series (`env`: its index): the newest
    /// minutes of every key asked.
    Metrics {
        env: usize,
        result: Result<MetricBatch, BackendError>,
        when: EpochMs,
    },
    /// A read of an environment's CloudWatch alarms in ALARM.
    Alarms {
        env: usize,
        result: Result<Vec<Alarm>, BackendError>,
        when: EpochMs,
    },
    /// A read of an environment's action locks (`env`: its index); `Err`: why not.
    Locks {
        env: usize,
        result: Result<Vec<LockRecord>, String>,
    },
    /// The clock reads `now`: ages move, data turns stale, problems may change.
    Clock(EpochMs),
}

/// What applying an observation changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Change {
    /// Something drawn from the world changed: data, an error, a panel's freshness, a
    /// poller's pace, the problems list.
    pub shown: bool,
    /// Data may now turn stale sooner than a frame already drawn was told: whatever was
    /// computed from the clock is due again now.
    pub sooner: bool,
}

/// Data from one poller, with its freshness and last error. A failed poll keeps the last
/// good data (shown with its age). `slowed_ms` is how much longer than its rhythm the
/// panel's poller pauses now (quiet polling): the data may be that much older before it
/// is stale.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct Panel<T> {
    pub data: Option<T>,
    pub updated_at: Option<EpochMs>,
    pub error: Option<PanelError>,
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

    /// Applies a poll to a panel whose title says when its data is stale: whether what
    /// is shown changed (the data, the error, or the panel showed as stale).
    fn apply_fresh(
        &mut self,
        result: Result<T, BackendError>,
        when: EpochMs,
        now: EpochMs,
        stale_after_ms: i64,
    ) -> bool {
        let was_stale = self.is_stale(now, stale_after_ms);
        self.apply(result, when) || was_stale
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

/// A failed poll, kept as state: `since` is when this error first appeared (in a run of
/// identical errors), `at` when it last happened.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct PanelError {
    pub error: BackendError,
    pub since: EpochMs,
    pub at: EpochMs,
}

/// One Quorum node: its configuration, its recent samples, and how much longer than its
/// rhythm its poller pauses now, its answers repeating (ms).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct NodeSlot {
    pub config: QuorumNode,
    pub history: NodeHistory,
    pub slowed_ms: i64,
}

/// One cluster of an environment as observed: `name` is the configured display name,
/// `ecs_cluster` the ECS cluster's; `switch` is there when an ALB switch is configured;
/// `paths` holds the load balancers and target health of its request path.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct ClusterState {
    pub name: String,
    pub ecs_cluster: String,
    pub ecs: Panel<ClusterSnapshot>,
    /// The services shown are read, the tasks not yet (the first poll is under way).
    pub tasks_pending: bool,
    pub nodes: Vec<NodeSlot>,
    pub switch: Option<Panel<SwitchView>>,
    pub paths: Panel<PathTopology>,
    /// The WAF, RDS instances and SQS queues of its request path (config).
    pub resources: PathResources,
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

    /// Whether some poller of the cluster pauses longer than its rhythm.
    fn slowed(&self) -> bool {
        self.ecs.slowed_ms > 0
            || self.paths.slowed_ms > 0
            || self.switch.as_ref().is_some_and(|s| s.slowed_ms > 0)
            || self.nodes.iter().any(|n| n.slowed_ms > 0)
    }
}

/// One environment as observed: `danger` gives the production look and typed
/// confirmations; `read_only` refuses mutations (unless `--write`).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct EnvState {
    pub name: String,
    pub danger: bool,
    pub read_only: bool,
    pub clusters: Vec<ClusterState>,
    /// The action locks held in the environment, as last read (expired ones included).
    pub locks: Vec<LockRecord>,
    /// The CloudWatch series of the last half hour (one read a minute).
    pub metrics: Panel<MetricSeries>,
    /// The CloudWatch alarms in ALARM.
    pub alarms: Panel<Vec<Alarm>>,
}

impl EnvState {
    /// The lock held on `cluster` (its switch) or one of its services (`service`), if
    /// any: the scope `ENV/CLUSTER` or `ENV/CLUSTER/SERVICE`.
    pub fn lock_on(&self, cluster: &str, service: Option<&str>) -> Option<&LockRecord> {
        let scope = match service {
            Some(service) => format!("{}/{cluster}/{service}", self.name),
            None => format!("{}/{cluster}", self.name),
        };
        self.locks.iter().find(|l| l.lock_id == scope)
    }

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

    /// Whether some poller of the environment pauses longer than its rhythm, what it
    /// reads repeating (quiet polling; any key brings the rhythm back).
    pub fn idle(&self) -> bool {
        self.clusters.iter().any(ClusterState::slowed)
    }

    /// While idle: the longest pause between two reads of any of the environment's
    /// pollers now (ms), given the ECS refresh and node poll rhythms.
    pub fn longest_pause_ms(&self, refresh_ms: i64, rpc_poll_ms: i64) -> Option<i64> {
        self.longest_pause_among_ms(|_| true, refresh_ms, rpc_poll_ms)
    }

    /// [`EnvState::longest_pause_ms`] counting the ECS and ELB reads only of the clusters
    /// `shown` picks by index (every node's): what a screen that shows only those says,
    /// as a key calls back only their reads.
    pub fn longest_pause_among_ms(
        &self,
        shown: impl Fn(usize) -> bool,
        refresh_ms: i64,
        rpc_poll_ms: i64,
    ) -> Option<i64> {
        // (slowed by, the rhythm it slows from) of every poller counted.
        let slowed: Vec<(i64, i64)> = self
            .clusters
            .iter()
            .enumerate()
            .flat_map(|(i, c)| {
                let aws = [Some(c.ecs.slowed_ms), Some(c.paths.slowed_ms)]
                    .into_iter()
                    .chain([c.switch.as_ref().map(|s| s.slowed_ms)])
                    .flatten()
                    .filter(|_| shown(i))
                    .map(|slowed| (slowed, refresh_ms));
                let nodes = c.nodes.iter().map(|n| (n.slowed_ms, rpc_poll_ms));
                aws.chain(nodes).collect::<Vec<_>>()
            })
            .collect();
        if !slowed.iter().any(|(by, _)| *by > 0) {
            return None;
        }
        slowed.into_iter().map(|(by, every)| every + by).max()
    }

    /// When the oldest of the environment's ECS reads was made (`None` before every
    /// cluster was read once).
    pub fn oldest_read(&self) -> Option<EpochMs> {
        self.clusters
            .iter()
            .map(|c| c.ecs.updated_at)
            .try_fold(EpochMs::MAX, |oldest, at| at.map(|at| oldest.min(at)))
            .filter(|_| !self.clusters.is_empty())
    }
}

/// Everything observed and judged, across environments (see the module doc).
///
/// `now` is the clock as of the last observation; `refresh_ms` the ECS refresh interval
/// (for staleness) and `rpc_poll_ms` the node poll interval; `problems` every current problem, worst first, recomputed when data
/// arrives and, on the clock, once `problems_due_at` says the list would change with
/// time alone (a node turns stalled, data turns stale, an age in a summary ticks over).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct World {
    pub envs: Vec<EnvState>,
    pub now: EpochMs,
    pub refresh_ms: i64,
    pub rpc_poll_ms: i64,
    pub thresholds: QuorumThresholds,
    pub metric_thresholds: MetricThresholds,
    pub problems: Vec<Problem>,
    pub problem_since: ProblemSince,
    pub problems_due_at: Option<EpochMs>,
    pub recent_actions: Vec<RecentAction>,
}

impl World {
    /// The world of a configuration before anything is observed.
    pub fn new(config: &Config, now: EpochMs) -> Self {
        let envs = config
            .environments
            .iter()
            .map(|e| EnvState {
                name: e.name.clone(),
                danger: e.danger,
                read_only: e.is_read_only(),
                locks: Vec::new(),
                metrics: Panel::default(),
                alarms: Panel::default(),
                clusters: e
                    .clusters
                    .iter()
                    .map(|c| ClusterState {
                        name: c.name.clone(),
                        ecs_cluster: c.ecs_cluster.clone(),
                        ecs: Panel::default(),
                        tasks_pending: false,
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
                        resources: c.path_resources(),
                    })
                    .collect(),
            })
            .collect();
        Self {
            envs,
            now,
            refresh_ms: (config.refresh_secs.max(1) * 1000) as i64,
            rpc_poll_ms: (config.rpc_poll_secs.max(1) * 1000) as i64,
            thresholds: config.quorum,
            metric_thresholds: config.metrics,
            problems: Vec::new(),
            problem_since: ProblemSince::default(),
            problems_due_at: None,
            recent_actions: Vec::new(),
        }
    }

    /// How old ECS and request-path data may be before it shows as stale (ms): three
    /// refreshes (more while its poller is slowed: [`Panel::stale_since`]).
    pub fn stale_after_ms(&self) -> i64 {
        self.refresh_ms * 3
    }

    /// The cluster at `at`.
    pub fn cluster(&self, at: ClusterAddr) -> Option<&ClusterState> {
        self.envs.get(at.env)?.clusters.get(at.cluster)
    }

    fn cluster_mut(&mut self, at: ClusterAddr) -> Option<&mut ClusterState> {
        self.envs.get_mut(at.env)?.clusters.get_mut(at.cluster)
    }

    /// Applies one observation; says what changed.
    ///
    /// The problems list is recomputed after a poll that changed something, and on the
    /// clock once the list would change with time alone (`problems_due_at`). A poll that
    /// brought what the world already held, the common case on a quiet system, costs no
    /// recomputation and no frame.
    pub fn apply(&mut self, observation: Observation) -> Change {
        let mut change = Change::default();
        let data = matches!(
            observation,
            Observation::Ecs { .. }
                | Observation::EcsServices { .. }
                | Observation::Paths { .. }
                | Observation::Switch { .. }
                | Observation::Node { .. }
                | Observation::Locks { .. }
                | Observation::Metrics { .. }
                | Observation::Alarms { .. }
        );
        let clock = matches!(observation, Observation::Clock(_));
        match observation {
            Observation::Clock(now) => {
                self.now = now;
            }
            Observation::Ecs { at, result, when } => {
                self.now = self.now.max(when);
                let (now, stale_after) = (self.now, self.stale_after_ms());
                if let Some(c) = self.cluster_mut(at) {
                    change.shown = c.ecs.apply_fresh(result, when, now, stale_after);
                    change.shown |= std::mem::take(&mut c.tasks_pending);
                }
            }
            Observation::EcsServices { at, result, when } => {
                self.now = self.now.max(when);
                let (now, stale_after) = (self.now, self.stale_after_ms());
                if let Some(c) = self.cluster_mut(at)
                    && c.ecs.updated_at.is_none()
                    && let Ok(services) = result
                {
                    change.shown = c.ecs.apply_fresh(Ok(services), when, now, stale_after);
                    c.tasks_pending = true;
                }
            }
            Observation::Paths { at, result, when } => {
                let (now, stale_after) = (self.now.max(when), self.stale_after_ms());
                if let Some(c) = self.cluster_mut(at) {
                    change.shown = c.paths.apply_fresh(result, when, now, stale_after);
                }
            }
            Observation::Switch { at, result, when } => {
                if let Some(panel) = self.cluster_mut(at).and_then(|c| c.switch.as_mut()) {
                    change.shown = panel.apply(result, when);
                }
            }
            Observation::Node { at, node, sample } => {
                if let Some(slot) = self.cluster_mut(at).and_then(|c| c.nodes.get_mut(node)) {
                    // Shown again when the poll brought news: a failure (the count moves),
                    // or an answer that differs in anything shown (height, peers, txpool).
                    let failures = slot.history.consecutive_failures();
                    let news = slot
                        .history
                        .last_answer()
                        .is_none_or(|last| !last.same_news(&sample));
                    slot.history.record(*sample);
                    change.shown = news || failures != slot.history.consecutive_failures();
                }
            }
            Observation::Pace {
                at,
                poller,
                slowed_ms,
            } => change = self.pace(at, poller, slowed_ms),
            Observation::RecentActions(entries) => {
                change.shown = entries != self.recent_actions;
                self.recent_actions = entries;
            }
            Observation::Metrics { env, result, when } => {
                if let Some(state) = self.envs.get_mut(env) {
                    let panel = &mut state.metrics;
                    change.shown = match result {
                        Ok(batch) => {
                            let mut series = panel.data.take().unwrap_or_default();
                            let moved = series.merge(batch, when);
                            let mended = panel.error.take().is_some();
                            let first = panel.updated_at.is_none();
                            panel.data = Some(series);
                            panel.updated_at = Some(when);
                            moved || mended || first
                        }
                        Err(e) => panel.apply(Err(e), when),
                    };
                }
            }
            Observation::Alarms { env, result, when } => {
                if let Some(state) = self.envs.get_mut(env) {
                    change.shown = state.alarms.apply(result, when);
                }
            }
            // A read that failed keeps what was last read: the op's plan reads again.
            Observation::Locks { env, result } => {
                if let (Some(state), Ok(locks)) = (self.envs.get_mut(env), result) {
                    change.shown = state.locks != locks;
                    state.locks = locks;
                }
            }
        }
        let problems_due = self.problems_due_at.is_none_or(|at| self.now >= at);
        if (clock && problems_due) || (data && change.shown) {
            change.shown |= self.refresh_problems();
        }
        change
    }

    /// A poller's pause changed: its panels may be that much older before they are stale.
    fn pace(&mut self, at: ClusterAddr, poller: Poller, slowed_ms: i64) -> Change {
        let idle = self.envs.get(at.env).is_some_and(EnvState::idle);
        let mut was = 0;
        if let Some(c) = self.cluster_mut(at) {
            let slots = match poller {
                Poller::Cluster => vec![&mut c.ecs.slowed_ms, &mut c.paths.slowed_ms],
                Poller::Switch => c.switch.iter_mut().map(|p| &mut p.slowed_ms).collect(),
                Poller::Node(i) => c
                    .nodes
                    .get_mut(i)
                    .map(|n| &mut n.slowed_ms)
                    .into_iter()
                    .collect(),
            };
            for slot in slots {
                was = was.max(std::mem::replace(slot, slowed_ms));
            }
        }
        let change = Change {
            shown: idle != self.envs.get(at.env).is_some_and(EnvState::idle),
            // Data may now turn stale sooner than the screen and the problems were told.
            sooner: slowed_ms < was,
        };
        if change.sooner {
            self.problems_due_at = Some(self.now);
        }
        change
    }

    /// Recomputes the problems list (after new data or as time passes); whether it
    /// changed.
    pub fn refresh_problems(&mut self) -> bool {
        let (mut problems, changes_in) =
            crate::clock::watch_changes(|| crate::problems::current(self));
        self.problems_due_at = Some(due_at(self.now, changes_in));
        self.problem_since.track(&mut problems, self.now);
        if problems == self.problems {
            return false;
        }
        self.problems = problems;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ecs::Service;

    fn config() -> Config {
        Config::parse(
            r#"
            [[environments]]
            name = "staging"
            [[environments.clusters]]
            name = "node-api"
            ecs_cluster = "ibet-stg-node-api"
            [[environments.clusters]]
            name = "issuer"
            ecs_cluster = "ibet-stg-issuer"
            "#,
            std::path::Path::new("test.toml"),
        )
        .expect("config")
    }

    const AT: ClusterAddr = ClusterAddr { env: 0, cluster: 0 };

    fn snapshot(running: u32) -> ClusterSnapshot {
        ClusterSnapshot {
            cluster: "ibet-stg-node-api".into(),
            services: vec![Service {
                name: "api".into(),
                desired: 2,
                running,
                ..Service::default()
            }],
            ..ClusterSnapshot::default()
        }
    }

    fn ecs(running: u32, when: EpochMs) -> Observation {
        Observation::Ecs {
            at: AT,
            result: Ok(snapshot(running)),
            when,
        }
    }

    #[test]
    fn a_lock_past_its_lease_becomes_a_warning_when_the_clock_passes_it() {
        let mut world = World::new(&config(), 1_000_000);
        world.apply(ecs(2, 1_000_000));
        let lock = LockRecord {
            lock_id: "staging/node-api/api".into(),
            owner: "carol@bastion-3".into(),
            caller_arn: "unknown".into(),
            action: "force a new deployment of staging/node-api/api".into(),
            since: 900,
            expires_at: 1_030,
            token: "t".into(),
        };
        let change = world.apply(Observation::Locks {
            env: 0,
            result: Ok(vec![lock]),
        });
        assert!(change.shown, "a lock is shown");
        assert!(world.problems.is_empty(), "{:?}", world.problems);
        assert!(world.envs[0].lock_on("node-api", Some("api")).is_some());
        // Its lease ends at 1,030 s: the problems are due then, not before.
        assert!(world.problems_due_at.is_some_and(|at| at <= 1_031_000));
        world.apply(Observation::Clock(1_045_000));
        let problem = world.problems.first().expect("a problem");
        assert_eq!(problem.severity, crate::problems::Severity::Warning);
        assert_eq!(problem.subject, "api");
        assert!(
            problem
                .summary
                .starts_with("lock of carol@bastion-3 past its lease by"),
            "{}",
            problem.summary
        );
        // A failed read keeps what was read.
        let change = world.apply(Observation::Locks {
            env: 0,
            result: Err("no table".into()),
        });
        assert!(!change.shown);
        assert_eq!(world.envs[0].locks.len(), 1);
    }

    #[test]
    fn a_rollout_ecs_rolled_back_is_not_offered_as_the_way_back() {
        use crate::model::ecs::{Deployment, Rollout};
        let deployment = |status: &str, revision: u32, rollout| Deployment {
            status: status.into(),
            task_definition: format!("ibet-api:{revision}"),
            rollout,
            ..Deployment::default()
        };
        let mut world = World::new(&config(), 1_000_000);
        let mut snap = snapshot(2);
        // ECS's circuit breaker put :42 back; the failed deployment of :43 drains.
        snap.services[0].task_definition = "ibet-api:42".into();
        snap.services[0].deployments = vec![
            deployment("PRIMARY", 42, Rollout::InProgress),
            deployment("ACTIVE", 43, Rollout::Failed),
        ];
        world.apply(Observation::Ecs {
            at: AT,
            result: Ok(snap),
            when: 1_000_000,
        });
        let problem = world
            .problems
            .iter()
            .find(|p| p.subject == "api")
            .expect("a problem");
        assert_eq!(problem.severity, crate::problems::Severity::Warning);
        assert_eq!(
            problem.summary,
            "rolled back by ECS: the rollout of ibet-api:43 failed"
        );
        assert_eq!(
            problem.next_step.as_deref(),
            Some("Enter: its tasks and their stop reasons")
        );
    }

    #[test]
    fn the_services_alone_are_shown_until_the_first_whole_read_and_never_after() {
        let mut world = World::new(&config(), 0);
        let services = |running, when| Observation::EcsServices {
            at: AT,
            result: Ok(snapshot(running)),
            when,
        };
        assert!(world.apply(services(2, 100)).shown, "drawn at once");
        let c = world.cluster(AT).expect("cluster");
        assert!(c.tasks_pending);
        assert_eq!(c.ecs.data.as_ref().map(|s| s.services.len()), Some(1));
        assert!(world.apply(ecs(2, 1_000)).shown, "the tasks are read");
        assert!(!world.cluster(AT).expect("cluster").tasks_pending);
        // A late services-only answer never replaces a whole read.
        assert!(!world.apply(services(0, 1_100)).shown);
        let c = world.cluster(AT).expect("cluster");
        assert!(!c.tasks_pending);
        assert_eq!(c.ecs.data.as_ref().map(|s| s.services[0].running), Some(2));
    }

    #[test]
    fn a_read_that_repeats_changes_nothing_shown_and_a_new_one_does() {
        let mut world = World::new(&config(), 0);
        assert!(world.apply(ecs(2, 1_000)).shown, "the first read");
        assert_eq!(
            world.apply(ecs(2, 2_000)),
            Change::default(),
            "the same read"
        );
        assert_eq!(
            world.cluster(AT).and_then(|c| c.ecs.updated_at),
            Some(2_000)
        );
        let change = world.apply(ecs(1, 3_000));
        assert!(change.shown, "a service lost a task");
        assert!(
            world.problems.iter().any(|p| p.subject == "api"),
            "the problems follow the data at once: {:?}",
            world.problems
        );
        assert!(world.apply(ecs(2, 4_000)).shown);
        assert!(world.problems.is_empty(), "{:?}", world.problems);
    }

    #[test]
    fn an_error_keeps_the_data_and_is_news_once() {
        let mut world = World::new(&config(), 0);
        world.apply(ecs(2, 1_000));
        let failing = |when| Observation::Ecs {
            at: AT,
            result: Err(BackendError::Timeout { secs: 5 }),
            when,
        };
        assert!(world.apply(failing(2_000)).shown);
        assert!(!world.apply(failing(3_000)).shown, "the same error again");
        let c = world.cluster(AT).expect("cluster");
        assert!(c.ecs.data.is_some(), "the last good data stays");
        assert_eq!(c.ecs.error.as_ref().map(|e| e.since), Some(2_000));
    }

    #[test]
    fn the_clock_moves_stale_data_into_the_problems_when_due() {
        let mut world = World::new(&config(), 0);
        world.apply(ecs(2, 0));
        assert!(world.problems.is_empty());
        let due = world.problems_due_at.expect("due");
        assert!(
            due <= world.stale_after_ms() + 1,
            "told when it turns stale: {due}"
        );
        // Before it is due, the clock recomputes nothing.
        assert!(!world.apply(Observation::Clock(1_000)).shown);
        let change = world.apply(Observation::Clock(world.stale_after_ms() + 1));
        assert!(change.shown, "{:?}", world.problems);
        assert!(world.problems.iter().any(|p| p.summary.contains("stale")));
    }

    #[test]
    fn a_poller_slowed_then_back_says_sooner_and_the_environment_is_idle_meanwhile() {
        let mut world = World::new(&config(), 0);
        let pace = |slowed_ms| Observation::Pace {
            at: ClusterAddr { env: 0, cluster: 1 },
            poller: Poller::Cluster,
            slowed_ms,
        };
        let slowed = world.apply(pace(20_000));
        assert!(slowed.shown && !slowed.sooner);
        assert!(world.envs[0].idle());
        assert_eq!(world.apply(pace(20_000)), Change::default());
        let back = world.apply(pace(0));
        assert!(back.shown && back.sooner, "{back:?}");
        assert!(!world.envs[0].idle());
        assert_eq!(world.problems_due_at, Some(world.now));
    }

    #[test]
    fn observations_of_unknown_places_change_nothing() {
        let mut world = World::new(&config(), 0);
        let before = world.clone();
        let far = ClusterAddr { env: 3, cluster: 9 };
        world.apply(Observation::Ecs {
            at: far,
            result: Ok(snapshot(1)),
            when: 0,
        });
        world.apply(Observation::Pace {
            at: far,
            poller: Poller::Node(4),
            slowed_ms: 5,
        });
        assert_eq!(world.envs, before.envs);
    }
}
