//! Pollers: one tokio task per environment × cluster (ECS, ALB switch), per Quorum
//! node, and per environment for its action locks (one list a poll), its CloudWatch
//! alarms (one DescribeAlarms a poll, every two refreshes while someone looks, slowing
//! like the locks) and its CloudWatch metrics
//! (one GetMetricData a minute of every series its clusters' views need, which the ECS
//! pollers name as they read services and load balancers), each calling its
//! backend at its [`Pace`] and sending what it read as an [`Observation`] for the world
//! ([`crate::world`]). The ECS poller also discovers the cluster's request path: after a
//! snapshot it asks ELBv2 about the target groups the path draws (the services', but
//! those the Quorum general nodes run in, and the ALB switch's) when the snapshot differs
//! from the one before, when a refresh was asked for, and when the next poll would leave
//! the target health older than the quiet rhythm or two refreshes (10 s by default):
//! every poll of a still cluster, every other one while someone looks.
//!
//! Quiet polling: a poller whose reads repeat pauses longer each time, up to the
//! configured quiet rhythm, and tells the world so ([`Observation::Pace`]: its panels
//! turn stale that much later, the header says "idle · refresh 9s"); a
//! change, a failed poll, a key or a refresh asked for brings the full rhythm back. A key
//! calls back the ECS and ELB pollers of the cluster on screen only ([`OnScreen`]): the
//! others, and all of them under the log view, keep their pace, never slower than the
//! quiet rhythm, so what they read still shows within it.
//!
//! The first screen first: each cluster's poller starts with a look at its services
//! alone, and every other read (the clusters' tasks, task definitions and request
//! paths, the ALB switches, the Quorum nodes, the locks and alarms; the metrics wait for
//! the snapshots anyway) waits until every cluster's first look is over, or
//! [`FIRST_LOOK_CAP`] has passed: the services table does not share the one thread and
//! the endpoints with some sixty node requests and the snapshots' reads.
//!
//! The draw loop never waits on these: a hung endpoint makes its panel stale, never the
//! screen frozen.
//!
//! `status` polls once ([`observe_once`]) and must reach a judgement: a node that does not
//! answer is polled again at a short interval until it answers or has failed
//! `down_after_failures` polls in a row, all within a bounded wait ([`NodeWait`]), so a
//! refused port or a hung listener is reported `down`, not `unknown`. Throttling backs off exponentially with jitter ([`Backoff`], the one the
//! log tail uses); other errors are retried at the full rhythm so recovery shows within
//! one or two polls.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::backend::{BackendError, EnvBackends, MetricsApi, RpcApi};
use crate::clock::{EpochMs, SharedClock};
use crate::config::{Config, QuorumNode};
use crate::logs::budget::Backoff;
use crate::model::metrics::{MINUTE_MS, MetricKey, WINDOW_MS, keys_for_cluster};
use crate::model::quorum::NodeSample;
use crate::path::target_groups_of_cluster;
use crate::world::{ClusterAddr, Observation, Poller, World};

/// How long the full rhythm holds after the operator pressed a key or asked for a
/// refresh: someone is looking.
pub const AWAKE_AFTER_KEY: Duration = Duration::from_secs(60);

/// How long a poller pauses between polls: its rhythm while what it reads changes; the
/// pause doubles with every poll that reads exactly what the one before read, up to a
/// quiet rhythm. A change or a failed poll brings the rhythm back; so does a key the
/// operator pressed or a refresh asked for, and then it holds for [`AWAKE_AFTER_KEY`]. A
/// still world costs little; a moving one, or one being looked at, is seen as fast as
/// ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    every: Duration,
    quiet: Duration,
    /// Polls in a row that read what the one before read.
    repeats: u32,
    /// Until when the rhythm holds whatever the polls read.
    awake_until: Option<tokio::time::Instant>,
}

impl Pace {
    /// A pace of `every`, slowing to at most `quiet` (never below `every`).
    pub fn new(every: Duration, quiet: Duration) -> Self {
        Self {
            every,
            quiet: quiet.max(every),
            repeats: 0,
            awake_until: None,
        }
    }

    /// Records a poll that finished at `now`: whether it read what the one before read (a
    /// failed poll never does).
    pub fn polled(&mut self, repeated: bool, now: tokio::time::Instant) {
        let awake = self.awake_until.is_some_and(|until| now < until);
        self.repeats = if repeated && !awake {
            self.repeats.saturating_add(1)
        } else {
            0
        };
    }

    /// Records a poll that finished at `now` by what it read (`None`: it failed), against
    /// what the poll before read, which `last` then holds.
    fn read<T: PartialEq>(
        &mut self,
        read: Option<T>,
        last: &mut Option<T>,
        now: tokio::time::Instant,
    ) {
        self.polled(read.is_some() && *last == read, now);
        *last = read;
    }

    /// The rhythm while what the poller reads changes.
    pub fn every(&self) -> Duration {
        self.every
    }

    /// Back to the full rhythm, held for [`AWAKE_AFTER_KEY`] from `now`.
    pub fn wake(&mut self, now: tokio::time::Instant) {
        self.repeats = 0;
        self.awake_until = Some(now + AWAKE_AFTER_KEY);
    }

    /// The pause before the next poll.
    pub fn delay(&self) -> Duration {
        let factor = 1_u32.checked_shl(self.repeats.min(20)).unwrap_or(u32::MAX);
        self.every.saturating_mul(factor).min(self.quiet)
    }

    /// How much longer than its rhythm the pause now is.
    pub fn slowed_by(&self) -> Duration {
        self.delay().saturating_sub(self.every)
    }
}

/// A digest of what a poll read: enough to tell a repeat without keeping a copy of it
/// (a cluster's snapshot can be large). `None` when it does not serialize.
fn digest<T: serde::Serialize>(value: &T) -> Option<u64> {
    use std::hash::Hasher;
    struct Sink(std::collections::hash_map::DefaultHasher);
    impl std::io::Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.write(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut sink = Sink(std::collections::hash_map::DefaultHasher::new());
    serde_json::to_writer(&mut sink, value).ok()?;
    Some(sink.0.finish())
}

/// The pause before the next poll after `result`: throttling backs off on its own,
/// longer than the pace when it must be.
fn floor_after<T>(result: &Result<T, BackendError>, backoff: &mut Backoff) -> Duration {
    match result {
        Err(e) if e.is_throttling() => backoff.next_delay(),
        _ => {
            backoff.reset();
            Duration::ZERO
        }
    }
}

/// What a poller, pausing, listens to.
struct Wakes {
    /// Counts refreshes asked for (poll now).
    refresh: watch::Receiver<u64>,
    /// Counts keys the operator pressed (back to the full rhythm).
    attention: watch::Receiver<u64>,
    /// The cluster whose reads the operator's screen shows, as of the last key.
    on_screen: watch::Receiver<OnScreen>,
    /// The cluster this poller reads, when it reads one cluster's ECS or ELB.
    reads: Option<ClusterAddr>,
}

impl Wakes {
    /// Whether the last key pressed calls this poller back to its full rhythm: every
    /// poller, but those of a cluster the screen does not show.
    fn called(&self) -> bool {
        match (*self.on_screen.borrow(), self.reads) {
            (OnScreen::Cluster(shown), Some(mine)) => shown == mine,
            (OnScreen::NoCluster, Some(_)) => false,
            (OnScreen::Everything, _) | (_, None) => true,
        }
    }
}

/// What the operator's screen shows of the clusters' AWS reads, which decides which
/// pollers a key calls back to their full rhythm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnScreen {
    /// Every cluster (an action dialog following one, or a caller that cannot tell).
    Everything,
    /// One cluster's services and request path (the overview, the tasks screen); the
    /// others keep their pace, never slower than the quiet rhythm.
    Cluster(ClusterAddr),
    /// None: the log view. Every cluster keeps its pace; the problems strip still shows
    /// what their reads find within the quiet rhythm.
    NoCluster,
}

/// The running pollers; dropping this stops them.
#[derive(Debug)]
pub struct Pollers {
    handles: Vec<JoinHandle<()>>,
    refresh: watch::Sender<u64>,
    attention: watch::Sender<u64>,
    on_screen: watch::Sender<OnScreen>,
}

impl Pollers {
    /// Asks every poller to poll now (and at its full rhythm from then on).
    pub fn refresh_now(&self) {
        self.refresh.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The operator pressed a key: a slowed poller goes back to its full rhythm, polling
    /// at once when its last poll is older than that.
    pub fn attention(&self) {
        self.attention_to(OnScreen::Everything);
    }

    /// The operator pressed a key on a screen that shows `on_screen`: as
    /// [`Pollers::attention`], but the ECS and ELB pollers of a cluster the screen does
    /// not show keep their pace (at most the quiet rhythm, so what they read still shows
    /// within it).
    pub fn attention_to(&self, on_screen: OnScreen) {
        self.on_screen.send_if_modified(|now| {
            let changed = *now != on_screen;
            *now = on_screen;
            changed
        });
        self.attention.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn wakes(&self, reads: Option<ClusterAddr>) -> Wakes {
        Wakes {
            refresh: self.refresh.subscribe(),
            attention: self.attention.subscribe(),
            on_screen: self.on_screen.subscribe(),
            reads,
        }
    }
}

impl Drop for Pollers {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

/// Pauses as `pace` says, and at least `floor` (throttling): less when a refresh is asked
/// for, or when a key was pressed (then what is left of the full rhythm). Returns false
/// when the console is gone.
async fn pause(pace: &mut Pace, floor: Duration, wakes: &mut Wakes) -> bool {
    let start = tokio::time::Instant::now();
    let mut until = start + pace.delay().max(floor);
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(until) => return true,
            r = wakes.refresh.changed() => {
                pace.wake(tokio::time::Instant::now());
                return r.is_ok();
            }
            r = wakes.attention.changed() => {
                if r.is_err() {
                    return false;
                }
                if wakes.called() {
                    pace.wake(tokio::time::Instant::now());
                    until = until.min(start + pace.delay().max(floor));
                }
            }
        }
    }
}

/// Tells the state how much longer than its rhythm a poller now pauses, when that
/// changed since it last told. False when the console is gone.
async fn tell_pace(
    tx: &mpsc::Sender<Observation>,
    at: ClusterAddr,
    poller: Poller,
    pace: &Pace,
    told: &mut Duration,
) -> bool {
    let slowed = pace.slowed_by();
    if slowed == *told {
        return true;
    }
    *told = slowed;
    let slowed_ms = i64::try_from(slowed.as_millis()).unwrap_or(i64::MAX);
    tx.send(Observation::Pace {
        at,
        poller,
        slowed_ms,
    })
    .await
    .is_ok()
}

/// The longest the other reads wait for the clusters' first looks at their services: a
/// slow or hung ECS never holds the Quorum panel back longer than this.
pub const FIRST_LOOK_CAP: Duration = Duration::from_millis(200);

/// The clusters' first looks at their services, as the pollers wait on them: how many
/// are still under way, and the deadline after which nobody waits any more.
#[derive(Clone)]
struct FirstLooks {
    left: watch::Receiver<usize>,
    until: tokio::time::Instant,
    over: bool,
}

impl FirstLooks {
    /// Waits until every cluster's first look at its services is over (read, sent, or
    /// failed), or the deadline; at once from then on.
    async fn over(&mut self) {
        if !self.over {
            let _ = tokio::time::timeout_at(self.until, self.left.wait_for(|n| *n == 0)).await;
            self.over = true;
        }
    }
}

/// One cluster's first look, under way until this is dropped (also when its poller
/// ends early).
struct FirstLook(Option<Arc<watch::Sender<usize>>>);

impl FirstLook {
    fn done(&mut self) {
        if let Some(left) = self.0.take() {
            left.send_modify(|n| *n = n.saturating_sub(1));
        }
    }
}

impl Drop for FirstLook {
    fn drop(&mut self) {
        self.done();
    }
}

/// The longest pause between two lists of an environment's locks on a still console.
pub const LOCKS_QUIET: Duration = Duration::from_secs(60);

/// How much later than its bound the request path may be read: what a poll itself takes
/// (every other poll at 5 s is 10 s and a little apart).
const PATH_SLACK: Duration = Duration::from_millis(500);

/// The request path as a cluster's poller last read it: what decides whether the next
/// poll reads it again.
struct PathRead {
    at: tokio::time::Instant,
    /// The snapshot it was read after.
    seen: Option<u64>,
    groups: Vec<String>,
    /// Refreshes asked for by then.
    asked: u64,
    digest: u64,
}

/// The pause between two GetMetricData reads of an environment: the series' resolution.
pub const METRICS_EVERY: Duration = Duration::from_secs(60);

/// How long an environment's first metrics read waits for every cluster's services and
/// load balancers to be known (it reads what is known by then).
const METRICS_FIRST_WAIT: Duration = Duration::from_secs(15);

/// Minutes read again after the first read: CloudWatch fills the newest ones in late.
const METRICS_NEWEST_MINUTES: i64 = 3;

/// The series each cluster of an environment needs, as its ECS poller last learned
/// them (`None`: not read yet); the environment's metrics poller reads them all.
type MetricTargets = Arc<watch::Sender<Vec<Option<Vec<MetricKey>>>>>;

/// One environment's metrics poller: one GetMetricData read a minute of every key its
/// clusters need, the half hour on the first read (and when keys are new), the newest
/// minutes after. Refreshes and keys do not hurry it: the data has one-minute
/// resolution.
fn spawn_metrics(
    env: usize,
    metrics: Arc<dyn MetricsApi>,
    targets: &MetricTargets,
    clock: SharedClock,
    tx: mpsc::Sender<Observation>,
) -> JoinHandle<()> {
    let mut targets = targets.subscribe();
    tokio::spawn(async move {
        let _ = tokio::time::timeout(
            METRICS_FIRST_WAIT,
            targets.wait_for(|t| t.iter().all(Option::is_some)),
        )
        .await;
        let mut backoff = Backoff::new(METRICS_EVERY, METRICS_EVERY * 10, env as u64 ^ 0xC10D);
        let mut read_until: Option<EpochMs> = None;
        let mut known: Vec<MetricKey> = Vec::new();
        loop {
            let keys = env_keys(&targets.borrow());
            if keys.is_empty() {
                // Nothing to read yet: wait for a cluster to name something.
                if targets.changed().await.is_err() {
                    return;
                }
                continue;
            }
            let (start, end) = metrics_window(clock.now_ms(), read_until, &known, &keys);
            let result = metrics
                .metric_data(&keys, start, end)
                .await
                .map(|series| keys.iter().cloned().zip(series).collect::<Vec<_>>());
            let floor = floor_after(&result, &mut backoff);
            if result.is_ok() {
                read_until = Some(end);
                known = keys;
            }
            let msg = Observation::Metrics {
                env,
                result,
                when: clock.now_ms(),
            };
            if tx.send(msg).await.is_err() {
                return;
            }
            tokio::time::sleep(METRICS_EVERY.max(floor)).await;
        }
    })
}

/// Every key of an environment's clusters, each once, in cluster order.
fn env_keys(targets: &[Option<Vec<MetricKey>>]) -> Vec<MetricKey> {
    let mut seen = std::collections::HashSet::new();
    targets
        .iter()
        .flatten()
        .flatten()
        .filter(|k| seen.insert(*k))
        .cloned()
        .collect()
}

/// The minutes a metrics read at `now` asks (ms, whole minutes, the one under way left
/// out): the half hour when nothing was read yet or a key is new, else from a few
/// minutes before the end of the last read.
fn metrics_window(
    now: EpochMs,
    read_until: Option<EpochMs>,
    known: &[MetricKey],
    keys: &[MetricKey],
) -> (EpochMs, EpochMs) {
    let end = now - now.rem_euclid(MINUTE_MS);
    let all_known = keys.iter().all(|k| known.contains(k));
    let start = match read_until {
        Some(until) if all_known => {
            (until - METRICS_NEWEST_MINUTES * MINUTE_MS).max(end - WINDOW_MS)
        }
        _ => end - WINDOW_MS,
    };
    (start, end)
}

/// Starts every poller for `config`, one backend bundle per environment.
pub fn spawn(
    config: &Config,
    backends: &[EnvBackends],
    clock: &SharedClock,
    tx: &mpsc::Sender<Observation>,
) -> Pollers {
    let (refresh, _) = watch::channel(0u64);
    let (attention, _) = watch::channel(0u64);
    let (on_screen, _) = watch::channel(OnScreen::Everything);
    let mut pollers = Pollers {
        handles: Vec::new(),
        refresh,
        attention,
        on_screen,
    };
    let ecs_pace = Pace::new(
        Duration::from_secs(config.refresh_secs.max(1)),
        Duration::from_secs(config.quiet_refresh_secs),
    );
    let rpc_pace = Pace::new(
        Duration::from_secs(config.rpc_poll_secs.max(1)),
        Duration::from_secs(config.quiet_rpc_poll_secs),
    );
    let ecs_interval = ecs_pace.every();
    // The oldest a request path's target health may get: the quiet rhythm, or two
    // refreshes (every other poll while someone looks).
    let path_within = Duration::from_secs(
        config
            .quiet_refresh_secs
            .max(2 * config.refresh_secs.max(1)),
    );
    let clusters = config.environments.iter().map(|e| e.clusters.len()).sum();
    let (left, looks) = watch::channel(clusters);
    let left = Arc::new(left);
    let first_looks = FirstLooks {
        left: looks,
        until: tokio::time::Instant::now() + FIRST_LOOK_CAP,
        over: false,
    };
    let alarms_every = (2 * ecs_interval).min(LOCKS_QUIET);
    for (ei, (env, be)) in config.environments.iter().zip(backends).enumerate() {
        // The environment's action locks: one list per refresh while someone looks,
        // slowing to one a minute on a still console (an action checks the lock itself
        // before it asks for confirmation, whatever the list showed).
        {
            let locks = Arc::clone(&be.locks);
            let prefix = format!("{}/", env.name);
            let tx = tx.clone();
            let mut wakes = pollers.wakes(None);
            let mut pace = Pace::new(ecs_pace.every(), LOCKS_QUIET);
            let mut first_looks = first_looks.clone();
            pollers.handles.push(tokio::spawn(async move {
                first_looks.over().await;
                let mut last = None;
                loop {
                    let result = locks.list(&prefix).await.map_err(|e| e.to_string());
                    let read = result.as_ref().ok().and_then(digest);
                    pace.read(read, &mut last, tokio::time::Instant::now());
                    let msg = Observation::Locks { env: ei, result };
                    if tx.send(msg).await.is_err()
                        || !pause(&mut pace, Duration::ZERO, &mut wakes).await
                    {
                        return;
                    }
                }
            }));
        }
        // The environment's CloudWatch alarms in ALARM: every two refreshes while someone
        // looks (an alarm's state moves at most once an evaluation period, a minute for
        // most), slowing like the locks on a still console.
        {
            let metrics = Arc::clone(&be.metrics);
            let prefix = env.alarm_prefix.clone();
            let tx = tx.clone();
            let clock = Arc::clone(clock);
            let mut wakes = pollers.wakes(None);
            let mut pace = Pace::new(alarms_every, LOCKS_QUIET);
            let mut first_looks = first_looks.clone();
            pollers.handles.push(tokio::spawn(async move {
                first_looks.over().await;
                let mut backoff = Backoff::new(ecs_interval, Duration::from_secs(300), ei as u64);
                let mut last = None;
                loop {
                    let result = metrics.alarms(prefix.as_deref()).await;
                    let floor = floor_after(&result, &mut backoff);
                    let read = result.as_ref().ok().and_then(digest);
                    pace.read(read, &mut last, tokio::time::Instant::now());
                    let msg = Observation::Alarms {
                        env: ei,
                        result,
                        when: clock.now_ms(),
                    };
                    if tx.send(msg).await.is_err() || !pause(&mut pace, floor, &mut wakes).await {
                        return;
                    }
                }
            }));
        }
        let targets: MetricTargets = Arc::new(watch::channel(vec![None; env.clusters.len()]).0);
        pollers.handles.push(spawn_metrics(
            ei,
            Arc::clone(&be.metrics),
            &targets,
            Arc::clone(clock),
            tx.clone(),
        ));
        for (ci, cluster) in env.clusters.iter().enumerate() {
            let at = ClusterAddr {
                env: ei,
                cluster: ci,
            };
            let seed = (ei as u64) << 32 | ci as u64;
            // ECS, then the request path of what the snapshot names
            {
                let ecs = Arc::clone(&be.ecs);
                let elb = Arc::clone(&be.elb);
                let name = cluster.ecs_cluster.clone();
                let cluster_config = cluster.clone();
                let tx = tx.clone();
                let clock = Arc::clone(clock);
                let mut wakes = pollers.wakes(Some(at));
                let mut pace = ecs_pace;
                let targets = Arc::clone(&targets);
                let resources = cluster.path_resources();
                let mut first_looks = first_looks.clone();
                let mut look = FirstLook(Some(Arc::clone(&left)));
                pollers.handles.push(tokio::spawn(async move {
                    let mut backoff =
                        Backoff::new(ecs_interval, Duration::from_secs(120), seed ^ 0xEC5);
                    // What the metrics poller needs of this cluster: its services and
                    // load balancers, as last read.
                    let mut services: Option<Vec<String>> = None;
                    let mut topology: Option<crate::model::alb::PathTopology> = None;
                    let mut groups = target_groups_of_cluster(None, &cluster_config);
                    let mut last = None;
                    let mut last_path: Option<PathRead> = None;
                    let mut first_look = true;
                    let mut told = Duration::ZERO;
                    loop {
                        let result = if first_look {
                            first_look = false;
                            // The services are drawn as soon as they are read; the
                            // whole snapshot (tasks, task definitions) follows, reading
                            // the tasks without describing the services again. One
                            // after the other: side by side they would share the
                            // endpoint's answers and the first screen would wait.
                            // The snapshot, like every other read, waits for the other
                            // clusters' first looks.
                            match ecs.services_only(&name).await {
                                Ok(Some(services)) => {
                                    let msg = Observation::EcsServices {
                                        at,
                                        result: Ok(services),
                                        when: clock.now_ms(),
                                    };
                                    if tx.send(msg).await.is_err() {
                                        return;
                                    }
                                    look.done();
                                    first_looks.over().await;
                                    ecs.poll_snapshot(&name).await
                                }
                                Ok(None) => {
                                    look.done();
                                    first_looks.over().await;
                                    ecs.poll_snapshot(&name).await
                                }
                                // Not asked twice: the snapshot would fail the same way.
                                Err(e) => {
                                    look.done();
                                    Err(e)
                                }
                            }
                        } else {
                            ecs.poll_snapshot(&name).await
                        };
                        let floor = floor_after(&result, &mut backoff);
                        if let Ok(snapshot) = &result {
                            groups = target_groups_of_cluster(Some(snapshot), &cluster_config);
                            services =
                                Some(snapshot.services.iter().map(|s| s.name.clone()).collect());
                        }
                        // The snapshot's task definitions are not serialized: their
                        // ARNs stand for them (a revision never changes).
                        let seen = result.as_ref().ok().and_then(|s| {
                            digest(&(s, s.task_definitions.keys().collect::<Vec<_>>()))
                        });
                        let msg = Observation::Ecs {
                            at,
                            result,
                            when: clock.now_ms(),
                        };
                        if tx.send(msg).await.is_err() {
                            return;
                        }
                        let mut path = None;
                        // The request path is read when the cluster moved, when asked
                        // to refresh, and when the next poll would leave its target
                        // health older than `path_within`.
                        let now = tokio::time::Instant::now();
                        let asked = *wakes.refresh.borrow();
                        let kept = last_path.as_ref().map(|p| p.digest);
                        let so_far = seen.map(|s| (s, kept.filter(|_| !groups.is_empty())));
                        let mut probe = pace;
                        probe.polled(so_far.is_some() && so_far == last, now);
                        let due = match &last_path {
                            None => true,
                            Some(p) => {
                                p.seen != seen
                                    || p.groups != groups
                                    || p.asked != asked
                                    || now.duration_since(p.at) + probe.delay()
                                        > path_within + PATH_SLACK
                            }
                        };
                        if !groups.is_empty() && due {
                            // (After a failed first look, the switch's groups.)
                            first_looks.over().await;
                            let result = elb.discover_paths(&groups).await;
                            if let Ok(read) = &result {
                                topology = Some(read.clone());
                            }
                            let read = result.as_ref().ok().and_then(digest);
                            path = Some(read);
                            last_path = read.map(|digest| PathRead {
                                at: now,
                                seen,
                                groups: groups.clone(),
                                asked,
                                digest,
                            });
                            let msg = Observation::Paths {
                                at,
                                result,
                                when: clock.now_ms(),
                            };
                            if tx.send(msg).await.is_err() {
                                return;
                            }
                        } else if !groups.is_empty() {
                            path = Some(last_path.as_ref().map(|p| p.digest));
                        }
                        if let Some(services) = &services {
                            let keys =
                                keys_for_cluster(&name, services, topology.as_ref(), &resources);
                            targets.send_if_modified(|t| match t.get_mut(ci) {
                                Some(slot) if slot.as_ref() != Some(&keys) => {
                                    *slot = Some(keys);
                                    true
                                }
                                _ => false,
                            });
                        }
                        // What the poll read, when all of it was read: the snapshot
                        // and, when it was asked, the path.
                        let read = match (seen, path) {
                            (Some(s), None) => Some((s, None)),
                            (Some(s), Some(Some(p))) => Some((s, Some(p))),
                            _ => None,
                        };
                        pace.read(read, &mut last, tokio::time::Instant::now());
                        if !tell_pace(&tx, at, Poller::Cluster, &pace, &mut told).await
                            || !pause(&mut pace, floor, &mut wakes).await
                        {
                            return;
                        }
                    }
                }));
            }
            // ALB switch
            if let Some(sw) = cluster.alb_switch.clone() {
                let elb = Arc::clone(&be.elb);
                let tx = tx.clone();
                let clock = Arc::clone(clock);
                let mut wakes = pollers.wakes(Some(at));
                let mut pace = ecs_pace;
                let mut first_looks = first_looks.clone();
                pollers.handles.push(tokio::spawn(async move {
                    first_looks.over().await;
                    let mut backoff =
                        Backoff::new(ecs_interval, Duration::from_secs(120), seed ^ 0xA1B);
                    let mut last = None;
                    let mut told = Duration::ZERO;
                    loop {
                        let result = elb.read_switch(&sw).await;
                        let floor = floor_after(&result, &mut backoff);
                        let read = result.as_ref().ok().and_then(digest);
                        pace.read(read, &mut last, tokio::time::Instant::now());
                        let msg = Observation::Switch {
                            at,
                            result,
                            when: clock.now_ms(),
                        };
                        if tx.send(msg).await.is_err()
                            || !tell_pace(&tx, at, Poller::Switch, &pace, &mut told).await
                            || !pause(&mut pace, floor, &mut wakes).await
                        {
                            return;
                        }
                    }
                }));
            }
            // Quorum nodes
            for (ni, node) in cluster.quorum_nodes.iter().enumerate() {
                let rpc = Arc::clone(&be.rpc);
                let node = node.clone();
                let tx = tx.clone();
                let mut wakes = pollers.wakes(None);
                let mut pace = rpc_pace;
                let mut first_looks = first_looks.clone();
                pollers.handles.push(tokio::spawn(async move {
                    first_looks.over().await;
                    let mut first = true;
                    let mut last: Option<NodeSample> = None;
                    let mut told = Duration::ZERO;
                    loop {
                        let sample = rpc.sample(&node, first).await;
                        first = first && !sample.reachable;
                        let answered = sample.reachable && sample.error.is_none();
                        let repeated =
                            answered && last.as_ref().is_some_and(|l| l.same_news(&sample));
                        pace.polled(repeated, tokio::time::Instant::now());
                        last = answered.then(|| sample.clone());
                        let msg = Observation::Node {
                            at,
                            node: ni,
                            sample: Box::new(sample),
                        };
                        if tx.send(msg).await.is_err()
                            || !tell_pace(&tx, at, Poller::Node(ni), &pace, &mut told).await
                            || !pause(&mut pace, Duration::ZERO, &mut wakes).await
                        {
                            return;
                        }
                    }
                }));
            }
        }
    }
    pollers
}

/// Polls everything once, concurrently, and returns the results as messages in a fixed
/// order (environment, cluster, then ECS and the request path, switch, nodes). Used by
/// tests; `status` uses [`observe_once`], which also waits for silent nodes.
pub async fn poll_once(
    config: &Config,
    backends: &[EnvBackends],
    clock: &SharedClock,
) -> Vec<Observation> {
    poll_all(config, backends, clock, None).await
}

/// How `status` waits for a Quorum node that does not answer: it asks again
/// [`NodeWait::retry_after`] after a failed poll, and while a poll hangs it starts
/// another every `bound / down_after_failures`, so that a node silent for the whole
/// [`NodeWait::bound`] has failed `down_after_failures` polls and is judged down when the
/// wait ends. A node that answers within the bound is judged on its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeWait {
    /// The longest wait for a node, from its first poll.
    pub bound: Duration,
    /// The pause after a failed poll before the next.
    pub retry_after: Duration,
}

impl Default for NodeWait {
    fn default() -> Self {
        Self {
            bound: Duration::from_secs(3),
            retry_after: Duration::from_millis(250),
        }
    }
}

/// Polls `node` until it answers or has failed `needed` polls in a row, within
/// `wait.bound` (see [`NodeWait`]). Returns the samples in the order their polls ended;
/// polls still under way once the node is judged are dropped.
async fn sample_until_judged(
    rpc: &dyn RpcApi,
    node: &QuorumNode,
    wait: NodeWait,
    needed: u32,
    clock: &SharedClock,
) -> Vec<NodeSample> {
    use futures_util::StreamExt as _;
    use futures_util::stream::FuturesUnordered;

    let needed = needed.max(1);
    let start = tokio::time::Instant::now();
    let deadline = start + wait.bound;
    let spacing = wait.bound / needed;
    let mut polls = FuturesUnordered::new();
    let mut samples = Vec::new();
    let mut failures = 0_u32;
    let mut next_poll = start;
    while failures < needed {
        let under_way = u32::try_from(polls.len()).unwrap_or(u32::MAX);
        let may_poll = failures.saturating_add(under_way) < needed && next_poll < deadline;
        if !may_poll && polls.is_empty() {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep_until(next_poll), if may_poll => {
                polls.push(tokio::time::timeout_at(deadline, rpc.sample(node, true)));
                next_poll = tokio::time::Instant::now() + spacing;
            }
            Some(ended) = polls.next(), if !polls.is_empty() => {
                let sample = ended.unwrap_or_else(|_| NodeSample {
                    at: clock.now_ms(),
                    reachable: false,
                    error: Some(format!(
                        "no answer within {} s",
                        wait.bound.as_secs_f64()
                    )),
                    latency_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
                    ..NodeSample::default()
                });
                let answered = sample.reachable && sample.block.is_some();
                samples.push(sample);
                if answered {
                    break;
                }
                failures += 1;
                next_poll = next_poll.min(tokio::time::Instant::now() + wait.retry_after);
            }
        }
    }
    samples
}

/// [`poll_once`], and with `judge` each node that does not answer is polled again until
/// judged ([`sample_until_judged`]: the wait, and the failures that make it down).
async fn poll_all(
    config: &Config,
    backends: &[EnvBackends],
    clock: &SharedClock,
    judge: Option<NodeWait>,
) -> Vec<Observation> {
    type Job<'a> =
        std::pin::Pin<Box<dyn std::future::Future<Output = Vec<Observation>> + Send + 'a>>;
    let mut jobs: Vec<Job<'_>> = Vec::new();
    for (ei, (env, be)) in config.environments.iter().zip(backends).enumerate() {
        jobs.push(Box::pin(async move {
            let prefix = format!("{}/", env.name);
            let result = be.locks.list(&prefix).await.map_err(|e| e.to_string());
            vec![Observation::Locks { env: ei, result }]
        }));
        jobs.push(Box::pin(async move {
            let result = be.metrics.alarms(env.alarm_prefix.as_deref()).await;
            vec![Observation::Alarms {
                env: ei,
                result,
                when: clock.now_ms(),
            }]
        }));
        for (ci, cluster) in env.clusters.iter().enumerate() {
            let at = ClusterAddr {
                env: ei,
                cluster: ci,
            };
            jobs.push(Box::pin(async move {
                let result = be.ecs.snapshot(&cluster.ecs_cluster).await;
                let groups = target_groups_of_cluster(result.as_ref().ok(), cluster);
                let mut msgs = vec![Observation::Ecs {
                    at,
                    result,
                    when: clock.now_ms(),
                }];
                if !groups.is_empty() {
                    let result = be.elb.discover_paths(&groups).await;
                    msgs.push(Observation::Paths {
                        at,
                        result,
                        when: clock.now_ms(),
                    });
                }
                msgs
            }));
            if let Some(sw) = &cluster.alb_switch {
                jobs.push(Box::pin(async move {
                    let result = be.elb.read_switch(sw).await;
                    vec![Observation::Switch {
                        at,
                        result,
                        when: clock.now_ms(),
                    }]
                }));
            }
            for (ni, node) in cluster.quorum_nodes.iter().enumerate() {
                let needed = config.quorum.down_after_failures;
                jobs.push(Box::pin(async move {
                    let samples = match judge {
                        Some(wait) => {
                            sample_until_judged(be.rpc.as_ref(), node, wait, needed, clock).await
                        }
                        None => vec![be.rpc.sample(node, true).await],
                    };
                    samples
                        .into_iter()
                        .map(|sample| Observation::Node {
                            at,
                            node: ni,
                            sample: Box::new(sample),
                        })
                        .collect()
                }));
            }
        }
    }
    let mut observations: Vec<Observation> = futures_util::future::join_all(jobs)
        .await
        .into_iter()
        .flatten()
        .collect();
    // Then one metrics read per environment, of what the first reads named.
    let reads = config
        .environments
        .iter()
        .zip(backends)
        .enumerate()
        .map(|(ei, (env, be))| {
            let keys = env_keys(&status_targets(env, ei, &observations));
            async move {
                if keys.is_empty() {
                    return None;
                }
                let (start, end) = metrics_window(clock.now_ms(), None, &[], &keys);
                let result = be
                    .metrics
                    .metric_data(&keys, start, end)
                    .await
                    .map(|series| keys.iter().cloned().zip(series).collect::<Vec<_>>());
                Some(Observation::Metrics {
                    env: ei,
                    result,
                    when: clock.now_ms(),
                })
            }
        });
    observations.extend(
        futures_util::future::join_all(reads)
            .await
            .into_iter()
            .flatten(),
    );
    observations
}

/// The series of environment `ei`'s clusters named by one poll's observations.
fn status_targets(
    env: &crate::config::Environment,
    ei: usize,
    observations: &[Observation],
) -> Vec<Option<Vec<MetricKey>>> {
    env.clusters
        .iter()
        .enumerate()
        .map(|(ci, cluster)| {
            let at = ClusterAddr {
                env: ei,
                cluster: ci,
            };
            let services: Vec<String> = observations
                .iter()
                .find_map(|o| match o {
                    Observation::Ecs {
                        at: a,
                        result: Ok(s),
                        ..
                    } if *a == at => Some(s.services.iter().map(|s| s.name.clone()).collect()),
                    _ => None,
                })
                .unwrap_or_default();
            let topology = observations.iter().find_map(|o| match o {
                Observation::Paths {
                    at: a,
                    result: Ok(t),
                    ..
                } if *a == at => Some(t),
                _ => None,
            });
            let resources = cluster.path_resources();
            Some(keys_for_cluster(
                &cluster.ecs_cluster,
                &services,
                topology,
                &resources,
            ))
        })
        .collect()
}

/// A world that saw one poll of everything ([`poll_once`]), each silent node polled
/// again until judged within the default [`NodeWait`], as of the clock's time after it:
/// what `status` reports.
pub async fn observe_once(config: &Config, backends: &[EnvBackends], clock: &SharedClock) -> World {
    observe_once_within(config, backends, clock, NodeWait::default()).await
}

/// [`observe_once`] with this wait for silent nodes.
pub async fn observe_once_within(
    config: &Config,
    backends: &[EnvBackends],
    clock: &SharedClock,
    wait: NodeWait,
) -> World {
    let observations = poll_all(config, backends, clock, Some(wait)).await;
    let mut world = World::new(config, clock.now_ms());
    for observation in observations {
        world.apply(observation);
    }
    world
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_throttling_backs_off() {
        let mut b = Backoff::new(Duration::from_secs(5), Duration::from_secs(60), 7);
        let other: Result<(), _> = Err(BackendError::Timeout { secs: 1 });
        assert_eq!(floor_after(&other, &mut b), Duration::ZERO);
        let thr: Result<(), _> = Err(BackendError::Throttled("slow down".into()));
        assert!(floor_after(&thr, &mut b) > Duration::ZERO);
    }

    #[test]
    fn equal_reads_have_equal_digests() {
        use crate::model::ecs::{ClusterSnapshot, Service};
        let snapshot = |running| ClusterSnapshot {
            cluster: "c".into(),
            services: vec![Service {
                name: "api".into(),
                desired: 2,
                running,
                ..Service::default()
            }],
            ..ClusterSnapshot::default()
        };
        assert_eq!(digest(&snapshot(2)), digest(&snapshot(2).clone()));
        assert!(digest(&snapshot(2)).is_some());
        assert_ne!(digest(&snapshot(2)), digest(&snapshot(1)));
    }

    #[test]
    fn repeated_reads_double_the_pause_up_to_the_quiet_rhythm() {
        let secs = Duration::from_secs;
        let t0 = tokio::time::Instant::now();
        let mut pace = Pace::new(secs(5), secs(30));
        let mut pauses = Vec::new();
        for repeated in [false, true, true, true, true, true] {
            pace.polled(repeated, t0);
            pauses.push(pace.delay().as_secs());
        }
        assert_eq!(pauses, [5, 10, 20, 30, 30, 30]);
        assert_eq!(pace.slowed_by(), secs(25));
        pace.polled(false, t0);
        assert_eq!((pace.delay(), pace.slowed_by()), (secs(5), Duration::ZERO));
        // Woken: the rhythm holds a minute whatever the polls read, then slows again.
        pace.polled(true, t0);
        pace.wake(t0);
        assert_eq!(pace.delay(), secs(5));
        pace.polled(true, t0 + secs(59));
        assert_eq!(pace.delay(), secs(5));
        pace.polled(true, t0 + AWAKE_AFTER_KEY);
        assert_eq!(pace.delay(), secs(10));
        // A quiet rhythm below the normal one never speeds polling up.
        let mut even = Pace::new(secs(5), secs(1));
        even.polled(true, t0);
        assert_eq!(even.delay(), secs(5));
        // Very long runs of repeats do not overflow.
        let mut long = Pace::new(secs(1), secs(5));
        for _ in 0..100 {
            long.polled(true, t0);
        }
        assert_eq!(long.delay(), secs(5));
    }

    /// A node that refuses at once, never answers, or answers after a delay.
    enum SlowNode {
        Refuses,
        Hangs,
        AnswersAfter(Duration),
    }

    #[async_trait::async_trait]
    impl RpcApi for SlowNode {
        async fn sample(&self, _: &QuorumNode, _: bool) -> NodeSample {
            match self {
                Self::Refuses => NodeSample {
                    error: Some("connection refused".into()),
                    ..NodeSample::default()
                },
                Self::Hangs => std::future::pending().await,
                Self::AnswersAfter(after) => {
                    tokio::time::sleep(*after).await;
                    NodeSample {
                        reachable: true,
                        block: Some(7),
                        ..NodeSample::default()
                    }
                }
            }
        }

        async fn block_hash_at(
            &self,
            _: &QuorumNode,
            _: u64,
        ) -> crate::backend::BackendResult<Option<String>> {
            Ok(None)
        }
    }

    /// Judges `node` with the default wait and three failures to be down: whether each
    /// sample answered, and when the judgement was reached.
    async fn judge(node: SlowNode) -> (Vec<bool>, Duration) {
        use crate::clock::ManualClock;
        let clock: SharedClock = Arc::new(ManualClock::new(1_800_000_000_000));
        let config = QuorumNode {
            name: "general-1".into(),
            rpc_url: "http://127.0.0.1:1".into(),
            role: crate::model::quorum::NodeRole::General,
            service: None,
            exec_command: None,
        };
        let t0 = tokio::time::Instant::now();
        let samples = sample_until_judged(&node, &config, NodeWait::default(), 3, &clock).await;
        let outcomes = samples.iter().map(|s| s.reachable).collect();
        (outcomes, t0.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_node_fails_three_polls_a_quarter_second_apart() {
        let (outcomes, took) = judge(SlowNode::Refuses).await;
        assert_eq!(outcomes, [false, false, false]);
        assert_eq!(took, Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_node_that_never_answers_is_down_when_the_wait_ends() {
        let (outcomes, took) = judge(SlowNode::Hangs).await;
        assert_eq!(outcomes, [false, false, false], "three polls, overlapping");
        assert_eq!(took, NodeWait::default().bound);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_answer_within_the_wait_counts() {
        let slow = SlowNode::AnswersAfter(Duration::from_secs(2));
        let (outcomes, took) = judge(slow).await;
        assert_eq!(outcomes, [true]);
        assert_eq!(took, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_node_that_answers_at_once_is_polled_once() {
        let fast = SlowNode::AnswersAfter(Duration::ZERO);
        assert_eq!(judge(fast).await, (vec![true], Duration::ZERO));
    }

    /// Pollers on the demo world, its clock standing still (every poll reads the same),
    /// and what they send.
    fn still_demo() -> (Config, Pollers, mpsc::Receiver<Observation>) {
        use crate::backend::sim::{SimWorld, demo_config};
        use crate::clock::ManualClock;

        let clock: SharedClock = Arc::new(ManualClock::new(1_800_000_000_000));
        let world = SimWorld::new(7, Arc::clone(&clock));
        let config = demo_config();
        let backends: Vec<EnvBackends> = config
            .environments
            .iter()
            .map(|e| world.backends(&e.name).expect("a demo environment"))
            .collect();
        let (tx, rx) = mpsc::channel(4096);
        let pollers = spawn(&config, &backends, &clock, &tx);
        (config, pollers, rx)
    }

    /// The demo's ECS, its first look at the services of `slow` taking `after` (`None`:
    /// never answering), every other cluster's at once.
    struct SlowFirstLook {
        inner: Arc<dyn crate::backend::EcsApi>,
        slow: String,
        after: Option<Duration>,
    }

    #[async_trait::async_trait]
    impl crate::backend::EcsApi for SlowFirstLook {
        async fn snapshot(
            &self,
            cluster: &str,
        ) -> crate::backend::BackendResult<crate::model::ecs::ClusterSnapshot> {
            self.inner.snapshot(cluster).await
        }
        async fn services_only(
            &self,
            cluster: &str,
        ) -> crate::backend::BackendResult<Option<crate::model::ecs::ClusterSnapshot>> {
            if cluster == self.slow {
                match self.after {
                    Some(after) => tokio::time::sleep(after).await,
                    None => std::future::pending().await,
                }
            }
            let mut services = self.inner.snapshot(cluster).await?;
            services.tasks.clear();
            services.task_definitions.clear();
            Ok(Some(services))
        }
        async fn task_definition(
            &self,
            arn: &str,
        ) -> crate::backend::BackendResult<crate::model::ecs::TaskDefinition> {
            self.inner.task_definition(arn).await
        }
        async fn task_definition_revisions(
            &self,
            family: &str,
        ) -> crate::backend::BackendResult<Vec<String>> {
            self.inner.task_definition_revisions(family).await
        }
        async fn stop_task(
            &self,
            cluster: &str,
            task: &str,
            reason: &str,
        ) -> crate::backend::BackendResult<()> {
            self.inner.stop_task(cluster, task, reason).await
        }
        async fn update_service(
            &self,
            cluster: &str,
            service: &str,
            update: &crate::backend::ServiceUpdate,
        ) -> crate::backend::BackendResult<()> {
            self.inner.update_service(cluster, service, update).await
        }
    }

    /// What the pollers of the demo world send in their first second when the first
    /// look at the last cluster's services takes `after`: each observation's kind and
    /// when it came (ms after the start), the metrics left out (they wait for every
    /// cluster's snapshot anyway).
    async fn first_second(after: Option<Duration>) -> Vec<(&'static str, ClusterAddr, u64)> {
        use crate::backend::sim::{SimWorld, demo_config};
        use crate::clock::ManualClock;

        let clock: SharedClock = Arc::new(ManualClock::new(1_800_000_000_000));
        let world = SimWorld::new(7, Arc::clone(&clock));
        let config = demo_config();
        let slow = config.environments[0]
            .clusters
            .last()
            .expect("a demo cluster")
            .ecs_cluster
            .clone();
        let backends: Vec<EnvBackends> = config
            .environments
            .iter()
            .map(|e| {
                let mut be = world.backends(&e.name).expect("a demo environment");
                be.ecs = Arc::new(SlowFirstLook {
                    inner: be.ecs,
                    slow: slow.clone(),
                    after,
                });
                be
            })
            .collect();
        let (tx, mut rx) = mpsc::channel(4096);
        let _pollers = spawn(&config, &backends, &clock, &tx);
        let start = tokio::time::Instant::now();
        let end = start + Duration::from_secs(1);
        let env = |env| ClusterAddr { env, cluster: 0 };
        let mut seen = Vec::new();
        while let Ok(Some(msg)) = tokio::time::timeout_at(end, rx.recv()).await {
            let (kind, at) = match msg {
                Observation::EcsServices { at, .. } => ("services", at),
                Observation::Ecs { at, .. } => ("snapshot", at),
                Observation::Paths { at, .. } => ("path", at),
                Observation::Switch { at, .. } => ("switch", at),
                Observation::Node { at, .. } => ("node", at),
                Observation::Locks { env: e, .. } => ("locks", env(e)),
                Observation::Alarms { env: e, .. } => ("alarms", env(e)),
                _ => continue,
            };
            let ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
            seen.push((kind, at, ms));
        }
        seen
    }

    /// The first screen first: every cluster's services are read before anything else
    /// (tasks, request paths, ALB switches, Quorum nodes, locks, alarms), which all
    /// start the moment the last cluster's services are in.
    #[tokio::test(start_paused = true)]
    async fn every_other_read_starts_once_every_cluster_has_shown_its_services() {
        let slow = Duration::from_millis(120);
        let seen = first_second(Some(slow)).await;
        let last = ClusterAddr {
            env: 0,
            cluster: demo_clusters(0) - 1,
        };
        let services: Vec<_> = seen.iter().filter(|(k, ..)| *k == "services").collect();
        let clusters: usize = (0..demo_envs()).map(demo_clusters).sum();
        assert_eq!(services.len(), clusters, "{seen:?}");
        for (_, at, ms) in &services {
            assert_eq!(*ms, if *at == last { 120 } else { 0 }, "{seen:?}");
        }
        let others: Vec<_> = seen.iter().filter(|(k, ..)| *k != "services").collect();
        for kind in ["snapshot", "path", "switch", "node", "locks", "alarms"] {
            assert!(others.iter().any(|(k, ..)| *k == kind), "{kind}: {seen:?}");
        }
        let earliest = others.iter().map(|(.., ms)| *ms).min();
        assert_eq!(earliest, Some(120), "{seen:?}");
    }

    /// A first look that never ends holds the rest back [`FIRST_LOOK_CAP`] at most: the
    /// Quorum panel, the other clusters' tasks and the locks do not wait on a hung ECS.
    #[tokio::test(start_paused = true)]
    async fn a_hung_first_look_holds_the_other_reads_back_only_until_the_cap() {
        let seen = first_second(None).await;
        let last = ClusterAddr {
            env: 0,
            cluster: demo_clusters(0) - 1,
        };
        let cap = u64::try_from(FIRST_LOOK_CAP.as_millis()).unwrap_or(0);
        let others: Vec<_> = seen.iter().filter(|(k, ..)| *k != "services").collect();
        assert_eq!(
            others.iter().map(|(.., ms)| *ms).min(),
            Some(cap),
            "{seen:?}"
        );
        for kind in ["node", "switch", "locks", "alarms"] {
            assert!(
                others.iter().any(|(k, _, ms)| *k == kind && *ms == cap),
                "{kind} at the cap: {seen:?}"
            );
        }
        // The hung cluster shows nothing of ECS; the others their services at once and
        // their tasks at the cap.
        assert!(
            !seen
                .iter()
                .any(|(k, at, _)| *at == last && ["services", "snapshot"].contains(k)),
            "{seen:?}"
        );
        assert!(
            seen.iter()
                .any(|(k, at, ms)| *k == "snapshot" && *at != last && *ms == cap),
            "{seen:?}"
        );
    }

    fn demo_envs() -> usize {
        crate::backend::sim::demo_config().environments.len()
    }

    fn demo_clusters(env: usize) -> usize {
        crate::backend::sim::demo_config().environments[env]
            .clusters
            .len()
    }

    /// The demo world with its clock standing still reads the same on every poll.
    #[tokio::test(start_paused = true)]
    async fn a_still_world_is_polled_less_and_a_key_brings_the_rhythm_back() {
        let (_config, pollers, mut rx) = still_demo();
        let start = tokio::time::Instant::now();
        let first = ClusterAddr { env: 0, cluster: 0 };
        // Seconds after the start of each ECS and node-0 poll of the first cluster, and
        // what its pollers told of their pace, until `end`.
        let mut ecs = Vec::new();
        let mut node = Vec::new();
        let mut paces = Vec::new();
        let mut watch_until = async |end: u64, ecs: &mut Vec<u64>, node: &mut Vec<u64>| {
            while let Ok(Some(msg)) =
                tokio::time::timeout_at(start + Duration::from_secs(end), rx.recv()).await
            {
                let t = start.elapsed().as_secs();
                match msg {
                    Observation::Ecs { at, result, .. } if at == first => {
                        assert!(result.is_ok());
                        ecs.push(t);
                    }
                    Observation::Node { at, node: 0, .. } if at == first => node.push(t),
                    Observation::Pace {
                        at,
                        poller,
                        slowed_ms,
                    } if at == first => paces.push((t, poller, slowed_ms)),
                    _ => {}
                }
            }
        };
        watch_until(120, &mut ecs, &mut node).await;
        assert_eq!(
            ecs,
            [0, 5, 14, 23, 32, 41, 50, 59, 68, 77, 86, 95, 104, 113],
            "ECS: 5 s, doubling up to 9 s: a change is never more than 9 s from a poll"
        );
        // (The first answer also carries the client version, asked once: the second
        // differs from it.)
        let quiet: Vec<u64> = (13..120).step_by(5).collect();
        assert_eq!(node[..5], [0, 1, 2, 4, 8], "node: 1 s, doubling up to 5 s");
        assert_eq!(node[5..], quiet[..]);
        // A key: every slowed poller polls at once, its last poll being older than its
        // rhythm, and says it is back to it.
        pollers.attention();
        let (mut ecs, mut node) = (Vec::new(), Vec::new());
        watch_until(123, &mut ecs, &mut node).await;
        assert_eq!(ecs, [120], "ECS polled at once");
        assert_eq!(node, [120, 121, 122], "the node at once, then every second");
        assert!(
            paces.contains(&(120, Poller::Cluster, 0)),
            "told back to the rhythm: {paces:?}"
        );
        assert!(paces.contains(&(5, Poller::Cluster, 4_000)), "{paces:?}");
    }

    /// A key calls back the ECS poller of the cluster on screen; another cluster's keeps
    /// its pace (the quiet rhythm at most), and on the log view none is called back.
    #[tokio::test(start_paused = true)]
    async fn a_key_calls_back_only_the_cluster_on_screen() {
        let (_config, pollers, mut rx) = still_demo();
        let start = tokio::time::Instant::now();
        let first = ClusterAddr { env: 0, cluster: 0 };
        let second = ClusterAddr { env: 0, cluster: 1 };
        // Seconds after the start of each ECS poll of the two clusters until `end`.
        let mut polls = async |end: u64| {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            while let Ok(Some(msg)) =
                tokio::time::timeout_at(start + Duration::from_secs(end), rx.recv()).await
            {
                let t = start.elapsed().as_secs();
                match msg {
                    Observation::Ecs { at, .. } if at == first => a.push(t),
                    Observation::Ecs { at, .. } if at == second => b.push(t),
                    _ => {}
                }
            }
            (a, b)
        };
        let (a, b) = polls(120).await;
        assert_eq!(a.last(), Some(&113));
        assert_eq!(b.last(), Some(&113), "both slowed to the quiet rhythm");
        pollers.attention_to(OnScreen::Cluster(first));
        let (a, b) = polls(150).await;
        assert_eq!(
            a,
            [120, 125, 130, 135, 140, 145],
            "on screen: at once, then 5 s"
        );
        assert_eq!(b, [122, 131, 140, 149], "off screen: still 9 s");
        // Once slowed again, the log view calls neither back.
        let _ = polls(300).await;
        pollers.attention_to(OnScreen::NoCluster);
        let (a, b) = polls(330).await;
        for reads in [a, b] {
            let gaps: Vec<u64> = reads.windows(2).map(|w| w[1] - w[0]).collect();
            assert!(gaps.iter().all(|g| *g == 9), "{reads:?}");
        }
        // A tick with an action open calls every one back: each polls within its rhythm.
        pollers.attention_to(OnScreen::Everything);
        let (a, b) = polls(336).await;
        assert_eq!(a.first(), Some(&330), "{a:?}");
        assert!(b.first().is_some_and(|t| *t <= 335), "{b:?}");
        assert!(b.windows(2).all(|w| w[1] - w[0] == 5), "{b:?}");
    }

    /// One metrics read per environment a minute, whatever the keys and refreshes: the
    /// half hour first, then only the newest minutes; alarms paced like the locks.
    #[tokio::test(start_paused = true)]
    async fn metrics_are_read_once_a_minute_and_alarms_with_the_refresh() {
        let (config, pollers, mut rx) = still_demo();
        let start = tokio::time::Instant::now();
        let end = start + Duration::from_secs(600);
        let envs = config.environments.len();
        let mut reads = vec![Vec::new(); envs];
        let mut alarms = vec![0; envs];
        let mut refreshed = false;
        while let Ok(Some(msg)) = tokio::time::timeout_at(end, rx.recv()).await {
            if !refreshed && start.elapsed() > Duration::from_secs(200) {
                refreshed = true;
                pollers.refresh_now();
            }
            match msg {
                Observation::Metrics { env, result, .. } => {
                    let batch = result.expect("demo metrics");
                    let most = batch.iter().map(|(_, p)| p.len()).max().unwrap_or(0);
                    reads[env].push((start.elapsed().as_secs(), most));
                }
                Observation::Alarms { env, .. } => alarms[env] += 1,
                _ => {}
            }
        }
        for env in &reads {
            assert_eq!(env.len(), 10, "{env:?}");
            let gaps: Vec<u64> = env.windows(2).map(|w| w[1].0 - w[0].0).collect();
            assert!(gaps.iter().all(|g| *g == 60), "{gaps:?}");
            assert!(env[0].1 >= 29, "the half hour first: {env:?}");
            assert!(
                env[1..].iter().all(|(_, n)| *n <= 4),
                "then the newest: {env:?}"
            );
        }
        // Alarms: every 5 s, slowing to a minute on a still console; a refresh brings
        // the rhythm back for a while.
        for count in alarms {
            assert!((12..=60).contains(&count), "{count} alarm reads in 10 min");
        }
    }

    /// An hour of stillness: no read of a cluster or a node is ever further apart than
    /// its quiet rhythm, so a change of any kind (service counts, a task stopping, a
    /// target turning unhealthy, a deployment starting: the ECS and path reads; a node
    /// stopping: its polls) shows within 9 s of happening, 10 s with the poll itself.
    #[tokio::test(start_paused = true)]
    async fn after_an_hour_of_stillness_no_read_is_further_apart_than_the_quiet_rhythm() {
        let (config, _pollers, mut rx) = still_demo();
        let start = tokio::time::Instant::now();
        let end = start + Duration::from_secs(3600);
        let first = ClusterAddr { env: 0, cluster: 0 };
        let (mut ecs, mut paths, mut node) = (Vec::new(), Vec::new(), Vec::new());
        while let Ok(Some(msg)) = tokio::time::timeout_at(end, rx.recv()).await {
            let t = start.elapsed();
            match msg {
                Observation::Ecs { at, .. } if at == first => ecs.push(t),
                Observation::Paths { at, .. } if at == first => paths.push(t),
                Observation::Node { at, node: 0, .. } if at == first => node.push(t),
                _ => {}
            }
        }
        let widest = |reads: &[Duration]| {
            reads
                .windows(2)
                .map(|w| w[1].saturating_sub(w[0]))
                .max()
                .unwrap_or(Duration::MAX)
        };
        assert!(ecs.len() > 390, "{} ECS reads in an hour", ecs.len());
        assert_eq!(widest(&ecs), Duration::from_secs(config.quiet_refresh_secs));
        assert!(
            widest(&paths) <= Duration::from_secs(10),
            "{:?} {:?}",
            widest(&paths),
            &paths[..paths.len().min(12)]
        );
        assert!(widest(&node) <= Duration::from_secs(config.quiet_rpc_poll_secs));
        assert!(!paths.is_empty() && !node.is_empty());
    }
}
