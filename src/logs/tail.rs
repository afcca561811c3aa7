//! The tail engine: backfill a window of CloudWatch Logs, then follow it live.
//!
//! A [`Tail`] reads a set of [`LogSource`]s through a [`LogsApi`]:
//!
//! 1. **Grouping.** Sources are grouped by log group; the streams of one group are asked
//!    in one FilterLogEvents request (up to [`TailConfig::streams_per_request`] names
//!    each), so a service with ten tasks costs one request per poll, not ten. If AWS
//!    answers that a named stream does not exist (a task that has not logged yet), the
//!    group falls back to the streams' common name prefix and drops foreign streams
//!    itself.
//! 2. **Rounds.** Each round polls every group from its [`TailCursor`] start, follows
//!    `next_token` to the end, drops events already delivered, and sends the new lines of
//!    all groups merged in timestamp order as one [`TailEvent::Lines`]. The first round is
//!    the backfill of [`TailConfig::since`]; [`TailEvent::Backfilled`] follows it. A
//!    stream that joins a group already followed (a task discovered late) is first read
//!    once from the window's start up to where the group's polls begin for it, so its
//!    lines older than the look-back are not lost.
//! 3. **Late events without re-reading.** A group's poll restarts at the newest event of
//!    each stream that flows, not a whole look-back before it; the group's quiet streams
//!    (not seen yet, or silent longer than the look-back), whose batch may land late, are
//!    read by a sweep: one request naming only them, every [`TailConfig::sweep_every`]
//!    while there are any (see [`TailCursor`]). A busy stream's events are downloaded
//!    about once however many quiet tasks share its group: one request per group per
//!    round, and one sweep every few seconds while a group has quiet streams.
//! 4. **Pacing.** A round starts [`TailConfig::fast_poll`] after the one before started
//!    while lines flowed within [`TailConfig::quiet_after`] (or the tail started within
//!    it), so a line waits at most about one interval and a request; after that the
//!    interval doubles up to
//!    [`TailConfig::slow_poll`]. A short lull (a writer that pauses, a slow answer) does
//!    not slow the tail down. Every request first takes a token from the
//!    [`RequestBudget`] shared by all tails. A throttled request is retried after an
//!    exponential back-off with jitter.
//! 5. **Following by Live Tail** ([`TailConfig::live`], `tail/live.rs`). After the
//!    backfill each group follows by one CloudWatch Logs Live Tail session instead of
//!    polls: one long-lived streaming request whose updates bring every event as it is
//!    ingested, about once a second. Each session start is followed by one catch-up read
//!    from the group's cursor (what landed between the backfill, or the session before,
//!    and this one). Events are then named by their content, so a line read and streamed
//!    is delivered once. A group falls back to the polls above when the backend has no
//!    live tail, when StartLiveTail is denied, when sessions keep closing early (tried
//!    again some minutes later), or when an update is sampled (then polls are the only
//!    exact reading). [`TailEvent::Following`] says how each group follows.
//! 6. **Errors are messages.** A failed request becomes a [`TailEvent::Error`]; the tail
//!    goes on, and the next round re-reads what the failed one missed.
//!
//! Time: the window and cursor floors use the injected [`SharedClock`]; sleeps use tokio's
//! clock, so tests run with `tokio::time::pause()`. The engine knows nothing of the
//! terminal: it produces [`LogLine`]s whose display text is already sanitised.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::budget::{Backoff, RequestBudget};
use super::cursor::TailCursor;
use super::discovery::LogSource;
use super::line::LogLine;
use crate::backend::{BackendError, LogsApi};
use crate::clock::{EpochMs, SharedClock};
use crate::model::logs::{LogEvent, LogQuery};

mod live;

/// How a tail reads.
#[derive(Debug, Clone, PartialEq)]
pub struct TailConfig {
    /// The backfill window: read from `now - since` on. Default 10 minutes.
    pub since: Duration,
    /// A CloudWatch filter pattern applied by the service.
    pub filter_pattern: Option<String>,
    /// Keep polling after the backfill (false: stop after it).
    pub follow: bool,
    /// Poll interval while lines flow, from the start of one round to the next.
    /// Default 500 ms.
    pub fast_poll: Duration,
    /// Poll interval when quiet (reached by doubling). Default 4 s.
    pub slow_poll: Duration,
    /// How long after the last line the tail keeps polling at `fast_poll`. Default 10 s.
    pub quiet_after: Duration,
    /// How often a group's quiet streams are swept for late events. Default 5 s.
    pub sweep_every: Duration,
    /// Look-back applied to groups that merge several streams (see [`TailCursor`]).
    /// Default 10 s: the `awslogs` driver sends every 5 s, so one task's lines can land
    /// after a newer line of another task.
    pub lookback: Duration,
    /// After a complete poll begun at `T`, never restart before `T - ingest_slack`.
    /// Default 60 s.
    pub ingest_slack: Duration,
    /// Page size asked of FilterLogEvents (`None`: the service's default, 10,000).
    pub page_limit: Option<u32>,
    /// Stream names per request (FilterLogEvents takes at most 100).
    pub streams_per_request: usize,
    /// First back-off after throttling. Default 1 s.
    pub throttle_base: Duration,
    /// Longest back-off after throttling. Default 30 s.
    pub throttle_max: Duration,
    /// Throttled retries of one request before the round gives the group up.
    pub throttle_retries: u32,
    /// Seed of the back-off jitter.
    pub jitter_seed: u64,
    /// Most lines per [`TailEvent::Lines`] message.
    pub batch_lines: usize,
    /// After the backfill, follow each group by a Live Tail session when the backend
    /// has one (false: poll). Default false; the config's `[logs] follow` sets it.
    pub live: bool,
    /// A session that ends sooner than this closed early. Default 30 s.
    pub live_min_session: Duration,
    /// Early closes in a row before a group polls instead. Default 3.
    pub live_early_closes: u32,
    /// The first pause before reopening a session that closed early (doubles with each
    /// early close). Default 1 s.
    pub live_reopen_after: Duration,
    /// How long a group polls after sessions closed early or an update was sampled,
    /// before it tries Live Tail again. Default 5 minutes.
    pub live_retry_after: Duration,
}

impl Default for TailConfig {
    fn default() -> Self {
        Self {
            since: Duration::from_secs(600),
            filter_pattern: None,
            follow: true,
            fast_poll: Duration::from_millis(500),
            slow_poll: Duration::from_secs(4),
            quiet_after: Duration::from_secs(10),
            sweep_every: Duration::from_secs(5),
            lookback: Duration::from_secs(10),
            ingest_slack: Duration::from_secs(60),
            page_limit: None,
            streams_per_request: 100,
            throttle_base: Duration::from_secs(1),
            throttle_max: Duration::from_secs(30),
            throttle_retries: 5,
            jitter_seed: 0x1b37_c0de,
            batch_lines: 10_000,
            live: false,
            live_min_session: Duration::from_secs(30),
            live_early_closes: 3,
            live_reopen_after: Duration::from_secs(1),
            live_retry_after: Duration::from_secs(300),
        }
    }
}

/// What a tail reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TailEvent {
    /// New lines, in timestamp order, each delivered once.
    Lines(Vec<LogLine>),
    /// A request failed. The tail goes on.
    Error {
        /// The log group asked.
        group: String,
        /// What went wrong.
        error: BackendError,
        /// True when the same request is retried after a back-off (nothing is lost);
        /// false when this round gave the group up (the next round re-reads it).
        retrying: bool,
    },
    /// The backfill window has been read (once, after the first round).
    Backfilled,
    /// How a group follows now (sent after the backfill, and when it changes).
    Following {
        /// The log group.
        group: String,
        /// How.
        how: Following,
    },
}

/// How a group of a tail follows new lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Following {
    /// A Live Tail session streams them.
    Live,
    /// Polled with FilterLogEvents, every `every` while lines flow.
    Polling {
        /// The interval while lines flow.
        every: Duration,
        /// Why it polls.
        why: PollReason,
    },
}

/// Why a group polls instead of following by Live Tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollReason {
    /// Polling was chosen (`[logs] follow = "poll"`, `logs --poll`), or the backend has
    /// no live tail (the demo world).
    Chosen,
    /// A session was denied, for the rest of this tail: `action` (`logs:StartLiveTail`,
    /// or `logs:DescribeLogGroups`, which finds the group's ARN) is not allowed.
    NotAllowed {
        /// The IAM action denied.
        action: &'static str,
    },
    /// Sessions kept closing early; Live Tail is tried again later.
    ClosedEarly,
    /// An update was sampled (more lines than a session streams); Live Tail is tried
    /// again later.
    Sampled,
}

impl Following {
    /// A few words for a status line: `live`, `polling 0.5 s`, `sampled · polling 0.5 s`.
    pub fn label(self) -> String {
        match self {
            Self::Live => "live".into(),
            Self::Polling { every, why } => {
                let every = format!("polling {} s", seconds(every));
                match why {
                    PollReason::Chosen => every,
                    PollReason::NotAllowed { .. } => format!("{every} (live tail not allowed)"),
                    PollReason::ClosedEarly => format!("{every} (live tail closed)"),
                    PollReason::Sampled => format!("sampled · {every}"),
                }
            }
        }
    }

    /// The one-line notice `logs --follow` prints when a group does not follow live
    /// as configured; `None` when there is nothing to say.
    pub fn notice(self) -> Option<String> {
        match self {
            Self::Live => Some("following by live tail".into()),
            Self::Polling { every, why } => {
                let every = seconds(every);
                match why {
                    PollReason::Chosen => None,
                    PollReason::NotAllowed { action } => Some(format!(
                        "live tail not allowed ({action}): polling every {every} s"
                    )),
                    PollReason::ClosedEarly => Some(format!(
                        "live tail sessions keep closing: polling every {every} s, live tail again in a few minutes"
                    )),
                    PollReason::Sampled => Some(format!(
                        "live tail sampled the lines (too many a second): polling every {every} s"
                    )),
                }
            }
        }
    }
}

/// `0.5`, `1`, `2.5`: seconds with at most one decimal.
fn seconds(d: Duration) -> String {
    let tenths = d.as_millis().div_ceil(100);
    if tenths.is_multiple_of(10) {
        (tenths / 10).to_string()
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

/// A tail, ready to run: the backend, the shared budget, the clock and the settings.
#[derive(Clone)]
pub struct Tail {
    logs: Arc<dyn LogsApi>,
    budget: Arc<RequestBudget>,
    clock: SharedClock,
    config: TailConfig,
}

impl std::fmt::Debug for Tail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tail")
            .field("budget", &self.budget)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A running tail: its events, and a way to change what it follows. Dropping it stops
/// the tail.
#[derive(Debug)]
pub struct TailHandle {
    events: mpsc::Receiver<TailEvent>,
    sources: watch::Sender<Vec<LogSource>>,
    task: JoinHandle<()>,
}

impl TailHandle {
    /// The next event; `None` once the tail has stopped (not following, and done).
    pub async fn recv(&mut self) -> Option<TailEvent> {
        self.events.recv().await
    }

    /// The next event if one is waiting (for a draw loop that must not wait).
    pub fn try_recv(&mut self) -> Option<TailEvent> {
        self.events.try_recv().ok()
    }

    /// Follows these sources from the next round on. Groups already followed keep their
    /// position; a new group is backfilled over the configured window.
    pub fn set_sources(&self, sources: Vec<LogSource>) {
        self.sources.send_replace(sources);
    }

    /// Stops the tail.
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for TailHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Tail {
    /// A tail over `logs` with its own default budget and the default settings.
    pub fn new(logs: Arc<dyn LogsApi>, clock: SharedClock) -> Self {
        Self {
            logs,
            budget: Arc::new(RequestBudget::default()),
            clock,
            config: TailConfig::default(),
        }
    }

    /// Uses `budget` (share one between every tail of an AWS account and region).
    #[must_use]
    pub fn with_budget(mut self, budget: Arc<RequestBudget>) -> Self {
        self.budget = budget;
        self
    }

    /// Uses these settings.
    #[must_use]
    pub fn with_config(mut self, config: TailConfig) -> Self {
        self.config = config;
        self
    }

    /// The settings.
    pub fn config(&self) -> &TailConfig {
        &self.config
    }

    /// The shared request budget.
    pub fn budget(&self) -> &Arc<RequestBudget> {
        &self.budget
    }

    /// Runs the tail on a spawned task; events arrive on the handle. `capacity` bounds
    /// the queue of undelivered messages (the tail waits when it is full).
    pub fn spawn(self, sources: Vec<LogSource>, capacity: usize) -> TailHandle {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let (sources_tx, sources_rx) = watch::channel(sources);
        let task = tokio::spawn(self.run(sources_rx, tx));
        TailHandle {
            events: rx,
            sources: sources_tx,
            task,
        }
    }

    /// Runs the tail in the current task until it is done (not following) or `events`
    /// is closed. Changes sent on `sources` apply from the next round.
    pub async fn run(
        self,
        mut sources: watch::Receiver<Vec<LogSource>>,
        events: mpsc::Sender<TailEvent>,
    ) {
        let initial = sources.borrow_and_update().clone();
        let receiver_gone = events.clone();
        let (live_tx, mut live_rx) = mpsc::channel(live::QUEUE);
        let mut engine = Engine {
            groups: Vec::new(),
            backoff: Backoff::new(
                self.config.throttle_base,
                self.config.throttle_max,
                self.config.jitter_seed,
            ),
            tail: self,
            events,
            live_tx,
            sessions: 0,
            following: false,
        };
        engine.set_sources(&initial);
        let mut sources_open = true;
        let mut delay = engine.tail.config.fast_poll;
        let mut first = true;
        // A tail just opened is looked at: it polls fast as if lines had just flowed.
        let mut last_lines = Some(tokio::time::Instant::now());
        let mut next_round = tokio::time::Instant::now();
        loop {
            if sources.has_changed().unwrap_or(false) {
                let changed = sources.borrow_and_update().clone();
                engine.set_sources(&changed);
            }
            if engine.live_catch_ups().await.is_err() {
                return;
            }
            if first || (engine.any_polling() && tokio::time::Instant::now() >= next_round) {
                let began = tokio::time::Instant::now();
                let Ok(outcome) = engine.round(first).await else {
                    return;
                };
                if outcome == RoundOutcome::Lines {
                    last_lines = Some(began);
                }
                if first {
                    first = false;
                    if engine.events.send(TailEvent::Backfilled).await.is_err() {
                        return;
                    }
                    if !engine.tail.config.follow {
                        return;
                    }
                    if engine.start_following().await.is_err() {
                        return;
                    }
                }
                let since_lines = last_lines.map(|at| at.elapsed());
                delay = next_delay(delay, outcome, since_lines, &engine.tail.config);
                next_round = began + delay;
            }
            engine.live_timers();
            // Wait for the next round, counted from this one's start, or for a session to
            // open again; a change of sources starts a round at once, and a closed
            // receiver ends the tail even when there is nothing to send.
            let round_at = engine.any_polling().then_some(next_round);
            let wake = match (round_at, engine.next_live_timer()) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => tokio::time::Instant::now() + Duration::from_secs(3_600),
            };
            let sleep = tokio::time::sleep_until(wake);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    () = &mut sleep => break,
                    () = receiver_gone.closed() => return,
                    changed = sources.changed(), if sources_open => {
                        if changed.is_ok() {
                            let changed = sources.borrow_and_update().clone();
                            engine.set_sources(&changed);
                            next_round = tokio::time::Instant::now();
                            break;
                        }
                        // A closed sender means the sources never change again.
                        sources_open = false;
                    }
                    Some(note) = live_rx.recv() => {
                        match engine.on_live(note).await {
                            Err(Closed) => return,
                            Ok(live::Wake::Nothing) => {}
                            Ok(live::Wake::Timer) => break,
                            Ok(live::Wake::Round) => {
                                next_round = tokio::time::Instant::now();
                                break;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What one round did, for pacing the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundOutcome {
    /// New lines arrived.
    Lines,
    /// Nothing new.
    Quiet,
    /// A group could not be read.
    Failed,
}

/// The interval before the next round (from the start of this one): fast while lines
/// flowed within `quiet_after` (`since_lines`: how long ago the last round with lines
/// began), doubling up to slow when quiet longer, slow after a failure.
pub fn next_delay(
    previous: Duration,
    outcome: RoundOutcome,
    since_lines: Option<Duration>,
    config: &TailConfig,
) -> Duration {
    let slow = config.slow_poll.max(config.fast_poll);
    let lately = since_lines.is_some_and(|d| d < config.quiet_after);
    match outcome {
        RoundOutcome::Lines => config.fast_poll,
        RoundOutcome::Quiet if lately => config.fast_poll,
        RoundOutcome::Quiet => previous.saturating_mul(2).clamp(config.fast_poll, slow),
        RoundOutcome::Failed => slow,
    }
}

/// The receiver of events went away: stop.
struct Closed;

struct Engine {
    tail: Tail,
    groups: Vec<GroupTail>,
    backoff: Backoff,
    events: mpsc::Sender<TailEvent>,
    /// Where the Live Tail sessions' tasks report.
    live_tx: mpsc::Sender<live::LiveNote>,
    /// Sessions opened so far (the id of the next).
    sessions: u64,
    /// The backfill is done and the groups follow.
    following: bool,
}

/// The streams of one log group followed together.
#[derive(Debug)]
struct GroupTail {
    group: String,
    /// Exact stream names, sorted.
    streams: Vec<String>,
    /// Label per stream.
    labels: HashMap<String, Arc<str>>,
    /// Set when a source follows every stream of the group: the label of the rest.
    whole_group: Option<Arc<str>>,
    /// Read by the streams' common prefix, after AWS said a named stream is missing.
    by_prefix: bool,
    cursor: TailCursor,
    /// Streams that joined after the group was first read, still to be read from the
    /// window's start up to where the group's polls began for them.
    catch_ups: Vec<CatchUp>,
    /// When the quiet streams are next swept (`None`: at the first round with any).
    next_sweep: Option<tokio::time::Instant>,
    /// How the group follows by Live Tail, and its session.
    live: live::GroupLive,
}

/// The history of one stream that joined a group already followed (a task discovered
/// late): read over `[start, end]` before the group's own polls and sweeps, which read
/// it from `end + 1` on. The ranges are disjoint, so nothing is delivered twice; its own
/// cursor keeps a page read again from delivering anything twice. It is read every
/// round until the look-back has passed `end` (`settled_at`): a batch of the stream
/// that lands late, or a stream that does not exist yet when it joins, is not lost.
#[derive(Debug)]
struct CatchUp {
    stream: String,
    end: EpochMs,
    settled_at: EpochMs,
    cursor: TailCursor,
    /// Read to its end once (following by Live Tail, it is not read every round).
    read: bool,
}

/// Which cursor a request reads for.
#[derive(Debug, Clone, Copy)]
enum Reader {
    /// The group's polls.
    Group,
    /// The sweep of the group's quiet streams (the group's cursor too).
    Sweep,
    /// The catch-up at this index.
    CatchUp(usize),
}

impl GroupTail {
    fn merges_streams(&self) -> bool {
        self.whole_group.is_some() || self.streams.len() > 1
    }

    /// The label of an event's stream, or `None` for a stream not followed.
    fn label_of(&self, stream: &str) -> Option<Arc<str>> {
        self.labels
            .get(stream)
            .cloned()
            .or_else(|| self.whole_group.clone())
    }

    /// The requests of one round, all from `start`.
    fn queries(&self, start: EpochMs, config: &TailConfig) -> Vec<LogQuery> {
        let base = LogQuery {
            group: self.group.clone(),
            start,
            filter_pattern: config.filter_pattern.clone(),
            limit: config.page_limit,
            ..LogQuery::default()
        };
        if self.whole_group.is_some() {
            return vec![base];
        }
        if self.by_prefix {
            let prefix = common_prefix(&self.streams);
            return vec![LogQuery {
                stream_prefix: (!prefix.is_empty()).then(|| prefix.to_string()),
                ..base
            }];
        }
        self.streams
            .chunks(config.streams_per_request.clamp(1, 100))
            .map(|chunk| LogQuery {
                streams: chunk.to_vec(),
                ..base.clone()
            })
            .collect()
    }
}

/// The longest common prefix of `names`, cut at a character boundary.
fn common_prefix(names: &[String]) -> &str {
    let Some(first) = names.first() else {
        return "";
    };
    let mut len = first.len();
    for name in &names[1..] {
        len = first
            .bytes()
            .zip(name.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    &first[..len]
}

impl Engine {
    /// Regroups the sources; groups already followed keep their cursors.
    fn set_sources(&mut self, sources: &[LogSource]) {
        let config = &self.tail.config;
        let window_start = self.tail.clock.now_ms() - duration_ms(config.since);
        let mut by_group: BTreeMap<&str, Vec<&LogSource>> = BTreeMap::new();
        for source in sources {
            by_group.entry(&source.group).or_default().push(source);
        }
        let mut old: HashMap<String, GroupTail> = self
            .groups
            .drain(..)
            .map(|g| (g.group.clone(), g))
            .collect();
        for (group, members) in by_group {
            let mut streams: Vec<String> =
                members.iter().filter_map(|s| s.stream.clone()).collect();
            streams.sort();
            streams.dedup();
            let labels = members
                .iter()
                .filter_map(|s| Some((s.stream.clone()?, s.label.clone())))
                .collect();
            let whole_group = members
                .iter()
                .find(|s| s.stream.is_none())
                .map(|s| s.label.clone());
            let previous = old.remove(group);
            let joined: Vec<String> = match &previous {
                Some(previous) if whole_group.is_none() => streams
                    .iter()
                    .filter(|s| !previous.streams.contains(s))
                    .cloned()
                    .collect(),
                _ => Vec::new(),
            };
            let (cursor, by_prefix, mut catch_ups, next_sweep, live) = match previous {
                Some(previous) => {
                    let same = previous.streams == streams;
                    (
                        previous.cursor,
                        previous.by_prefix && same,
                        previous.catch_ups,
                        previous.next_sweep,
                        previous.live,
                    )
                }
                None => (
                    TailCursor::new(window_start, 0),
                    false,
                    Vec::new(),
                    None,
                    live::GroupLive::new(self.following && config.live),
                ),
            };
            catch_ups.retain(|c| streams.contains(&c.stream));
            let mut tail = GroupTail {
                group: group.to_string(),
                streams,
                labels,
                whole_group,
                by_prefix,
                cursor,
                catch_ups,
                next_sweep,
                live,
            };
            let lookback = if tail.merges_streams() {
                duration_ms(config.lookback)
            } else {
                0
            };
            tail.cursor.set_lookback(lookback);
            // By prefix (a named stream is missing) the names do not make the request,
            // so there is no sweep: the look-back covers the quiet streams.
            let exact =
                (tail.whole_group.is_none() && !tail.by_prefix).then_some(tail.streams.as_slice());
            tail.cursor.follow_streams(exact);
            // The group's polls (and sweeps, the stream being quiet until seen) read a
            // joining stream from their start on; its history in the window before that
            // start is read once by a catch-up.
            let polled_from = if tail.cursor.sweeps() {
                if !joined.is_empty() {
                    // A late batch of the joining stream, newer than its catch-up, is
                    // the sweep's.
                    let start = tail.cursor.start();
                    tail.cursor.sweep_no_later_than(start);
                }
                tail.cursor.start().min(tail.cursor.sweep_start())
            } else {
                tail.cursor.start()
            };
            // Followed by a session, the stream's lines from now on are streamed.
            let end = if tail.live.is_streamed() {
                self.tail.clock.now_ms()
            } else {
                polled_from - 1
            };
            if end >= window_start {
                let settled_at = end.saturating_add(duration_ms(config.lookback));
                tail.catch_ups
                    .extend(joined.into_iter().map(|stream| CatchUp {
                        stream,
                        end,
                        settled_at,
                        cursor: TailCursor::new(window_start, 0),
                        read: false,
                    }));
            }
            live::restart_if_changed(&mut tail, config);
            self.groups.push(tail);
        }
    }

    /// Polls every group once (`all`), or every group that polls rather than follows by
    /// Live Tail, and sends what is new.
    async fn round(&mut self, all: bool) -> Result<RoundOutcome, Closed> {
        let began_at = self.tail.clock.now_ms();
        let mut lines = Vec::new();
        let mut failed = false;
        for index in 0..self.groups.len() {
            if !all && !self.groups[index].live.polls() {
                continue;
            }
            match self.poll_group(index, &mut lines).await? {
                Some(covered_quiet) => self.complete(index, began_at, covered_quiet),
                None => failed = true,
            }
        }
        let delivered = !lines.is_empty();
        self.send_lines(lines).await?;
        Ok(if failed {
            RoundOutcome::Failed
        } else if delivered {
            RoundOutcome::Lines
        } else {
            RoundOutcome::Quiet
        })
    }

    /// Ends a complete read of group `index` begun at `began_at` (see
    /// [`TailCursor::complete_round`]). Following by Live Tail, the ids of the last
    /// `ingest_slack` are kept whatever the start: a line read now may be streamed later.
    fn complete(&mut self, index: usize, began_at: EpochMs, covered_quiet: bool) {
        let slack = duration_ms(self.tail.config.ingest_slack);
        let cursor = &mut self.groups[index].cursor;
        if self.tail.config.live {
            cursor.hold_from(began_at - slack);
        }
        cursor.complete_round(began_at, slack, covered_quiet);
    }

    /// Sends lines in time order, in messages of at most `batch_lines`.
    async fn send_lines(&self, mut lines: Vec<LogLine>) -> Result<(), Closed> {
        // Stable: lines with equal timestamps keep the order the service gave them.
        lines.sort_by_key(|l: &LogLine| l.timestamp);
        let batch = self.tail.config.batch_lines.max(1);
        while !lines.is_empty() {
            let rest = lines.split_off(batch.min(lines.len()));
            self.send(TailEvent::Lines(lines)).await?;
            lines = rest;
        }
        Ok(())
    }

    /// Reads one group's requests to their last page, and sweeps its quiet streams when
    /// that is due. Returns `None` when a request failed, else whether the quiet streams
    /// were read too (swept, or there were none).
    async fn poll_group(
        &mut self,
        index: usize,
        lines: &mut Vec<LogLine>,
    ) -> Result<Option<bool>, Closed> {
        if !self.catch_up(index, lines).await? {
            return Ok(None);
        }
        let quiet = self.groups[index].cursor.quiet_streams();
        let start = self.groups[index].cursor.start();
        let mut queries = self.groups[index].queries(start, &self.tail.config);
        let mut q = 0;
        while q < queries.len() {
            match self
                .read_query(index, Reader::Group, &mut queries[q], lines)
                .await?
            {
                QueryEnd::Done => q += 1,
                QueryEnd::Failed => return Ok(None),
                QueryEnd::StreamMissing => {
                    // Re-plan this group by prefix; what was read is remembered.
                    self.fall_back_to_prefix(index);
                    queries = self.groups[index].queries(start, &self.tail.config);
                    q = 0;
                }
            }
        }
        if quiet.is_empty() || self.groups[index].by_prefix {
            return Ok(Some(quiet.is_empty()));
        }
        let now = tokio::time::Instant::now();
        let due = self.groups[index].next_sweep.get_or_insert(now);
        if now < *due {
            return Ok(Some(false));
        }
        *due = now + self.tail.config.sweep_every;
        let base = LogQuery {
            group: self.groups[index].group.clone(),
            start: self.groups[index].cursor.sweep_start(),
            filter_pattern: self.tail.config.filter_pattern.clone(),
            limit: self.tail.config.page_limit,
            ..LogQuery::default()
        };
        for chunk in quiet.chunks(self.tail.config.streams_per_request.clamp(1, 100)) {
            let mut query = LogQuery {
                streams: chunk.to_vec(),
                ..base.clone()
            };
            match self
                .read_query(index, Reader::Sweep, &mut query, lines)
                .await?
            {
                QueryEnd::Done => {}
                QueryEnd::Failed => return Ok(None),
                QueryEnd::StreamMissing => {
                    // The next round reads the group by prefix, with the look-back.
                    self.fall_back_to_prefix(index);
                    return Ok(Some(false));
                }
            }
        }
        Ok(Some(true))
    }

    /// Reads the group by its streams' common prefix from now on (a named stream does
    /// not exist): the names no longer make the request, so the cursor looks back.
    fn fall_back_to_prefix(&mut self, index: usize) {
        let group = &mut self.groups[index];
        group.by_prefix = true;
        group.cursor.follow_streams(None);
    }

    /// Reads the group's catch-ups (streams that joined late) to their ends; those read
    /// completely are done. Returns whether all were.
    async fn catch_up(&mut self, index: usize, lines: &mut Vec<LogLine>) -> Result<bool, Closed> {
        let now = self.tail.clock.now_ms();
        let mut complete = true;
        let mut c = 0;
        while c < self.groups[index].catch_ups.len() {
            let catch_up = &self.groups[index].catch_ups[c];
            let mut query = LogQuery {
                group: self.groups[index].group.clone(),
                streams: vec![catch_up.stream.clone()],
                start: catch_up.cursor.start(),
                end: Some(catch_up.end),
                filter_pattern: self.tail.config.filter_pattern.clone(),
                limit: self.tail.config.page_limit,
                ..LogQuery::default()
            };
            match self
                .read_query(index, Reader::CatchUp(c), &mut query, lines)
                .await?
            {
                // Read (or not there yet: nothing to read so far); done once nothing
                // older than its end can still land.
                QueryEnd::Done | QueryEnd::StreamMissing => {
                    self.groups[index].catch_ups[c].read = true;
                    if now > self.groups[index].catch_ups[c].settled_at {
                        self.groups[index].catch_ups.remove(c);
                    } else {
                        c += 1;
                    }
                }
                QueryEnd::Failed => {
                    complete = false;
                    c += 1;
                }
            }
        }
        Ok(complete)
    }

    async fn read_query(
        &mut self,
        index: usize,
        reader: Reader,
        query: &mut LogQuery,
        lines: &mut Vec<LogLine>,
    ) -> Result<QueryEnd, Closed> {
        // Following by Live Tail, events are named by their content (see `live`); the
        // rank of identical ones counts over every page of the request.
        let mut ranks = live::Ranks::default();
        loop {
            self.tail.budget.acquire().await;
            match self.tail.logs.filter(query).await {
                Ok(page) => {
                    self.backoff.reset();
                    let group = &mut self.groups[index];
                    let mut followed: Vec<LogEvent> = page
                        .events
                        .into_iter()
                        .filter(|e| group.label_of(&e.stream).is_some())
                        .collect();
                    if self.tail.config.live {
                        ranks.identify(&mut followed);
                    }
                    let cursor = match reader {
                        Reader::Group | Reader::Sweep => &mut group.cursor,
                        Reader::CatchUp(c) => &mut group.catch_ups[c].cursor,
                    };
                    let admitted = cursor.admit(followed);
                    for event in admitted {
                        if let Some(label) = group.label_of(&event.stream) {
                            lines.push(LogLine::new(event.timestamp, label, event.message));
                        }
                    }
                    match page.next_token {
                        Some(token) if query.next_token.as_deref() != Some(token.as_str()) => {
                            query.next_token = Some(token);
                        }
                        _ => return Ok(QueryEnd::Done),
                    }
                }
                Err(error) if error.is_throttling() => {
                    let retrying = self.backoff.attempts() < self.tail.config.throttle_retries;
                    self.report(index, error, retrying).await?;
                    if !retrying {
                        self.backoff.reset();
                        return Ok(QueryEnd::Failed);
                    }
                    tokio::time::sleep(self.backoff.next_delay()).await;
                }
                Err(BackendError::NotFound(_))
                    if !query.streams.is_empty()
                        && (matches!(reader, Reader::CatchUp(_))
                            || !self.groups[index].by_prefix) =>
                {
                    return Ok(QueryEnd::StreamMissing);
                }
                Err(error) => {
                    self.report(index, error, false).await?;
                    return Ok(QueryEnd::Failed);
                }
            }
        }
    }

    async fn report(
        &self,
        index: usize,
        error: BackendError,
        retrying: bool,
    ) -> Result<(), Closed> {
        let group = self.groups[index].group.clone();
        self.send(TailEvent::Error {
            group,
            error,
            retrying,
        })
        .await
    }

    async fn send(&self, event: TailEvent) -> Result<(), Closed> {
        self.events.send(event).await.map_err(|_| Closed)
    }
}

/// How reading one request ended.
enum QueryEnd {
    Done,
    Failed,
    StreamMissing,
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock as _, ManualClock};
    use crate::logs::fake::FakeLogs;

    const NOW: EpochMs = 1_700_000_000_000;
    const G: &str = "/ecs/api";

    fn source(group: &str, stream: &str, label: &str) -> LogSource {
        LogSource {
            group: group.into(),
            stream: Some(stream.into()),
            label: Arc::from(label),
        }
    }

    fn tail(fake: &Arc<FakeLogs>, config: TailConfig) -> (Tail, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(NOW));
        let budget = Arc::new(RequestBudget::new(1_000.0, 1_000));
        let logs: Arc<dyn LogsApi> = fake.clone();
        let tail = Tail::new(logs, clock.clone())
            .with_budget(budget)
            .with_config(config);
        (tail, clock)
    }

    fn backfill_only() -> TailConfig {
        TailConfig {
            follow: false,
            ..TailConfig::default()
        }
    }

    /// Collects events until `Backfilled` or the end; returns lines and errors.
    async fn recv(h: &mut TailHandle) -> Option<TailEvent> {
        tokio::time::timeout(Duration::from_secs(600), h.recv())
            .await
            .expect("no event within ten (virtual) minutes")
    }

    async fn until_backfilled(h: &mut TailHandle) -> (Vec<LogLine>, Vec<TailEvent>) {
        let mut lines = Vec::new();
        let mut other = Vec::new();
        while let Some(event) = recv(h).await {
            match event {
                TailEvent::Lines(l) => lines.extend(l),
                TailEvent::Backfilled => break,
                e @ TailEvent::Error { .. } => other.push(e),
                TailEvent::Following { .. } => {}
            }
        }
        (lines, other)
    }

    /// The next batch of lines (errors are skipped).
    async fn next_lines(h: &mut TailHandle) -> Vec<LogLine> {
        loop {
            match recv(h).await {
                Some(TailEvent::Lines(l)) => return l,
                Some(_) => {}
                None => return Vec::new(),
            }
        }
    }

    fn texts(lines: &[LogLine]) -> Vec<String> {
        lines
            .iter()
            .map(|l| format!("{} {}", l.source, l.display))
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn backfills_the_window_in_order_then_stops() {
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.put(G, "ecs/api/t1", NOW - 700_000, "too old");
        fake.put(G, "ecs/api/t1", NOW - 3_000, "a");
        fake.put(G, "ecs/api/t2", NOW - 2_000, "b");
        fake.put(G, "ecs/api/t1", NOW - 1_000, "c");
        fake.put(G, "ecs/other/x", NOW - 1_500, "not followed");
        let (tail, _) = tail(&fake, backfill_only());
        let mut h = tail.spawn(
            vec![
                source(G, "ecs/api/t1", "api/t1"),
                source(G, "ecs/api/t2", "api/t2"),
            ],
            8,
        );
        let (lines, errors) = until_backfilled(&mut h).await;
        assert!(errors.is_empty());
        assert_eq!(texts(&lines), ["api/t1 a", "api/t2 b", "api/t1 c"]);
        assert_eq!(
            h.recv().await,
            None,
            "not following: done after the backfill"
        );
        let queries = fake.queries();
        assert_eq!(queries.len(), 1, "both streams in one request");
        assert_eq!(queries[0].streams, ["ecs/api/t1", "ecs/api/t2"]);
        assert_eq!(queries[0].start, NOW - 600_000);
    }

    #[tokio::test(start_paused = true)]
    async fn identical_timestamps_written_between_polls_arrive_once_each_in_order() {
        let fake = Arc::new(FakeLogs::new(10_000));
        let s = "ecs/api/t1";
        for i in 0..3 {
            fake.put(G, s, NOW - 1_000, &format!("first {i}"));
        }
        let (tail, _) = tail(&fake, TailConfig::default());
        let mut h = tail.spawn(vec![source(G, s, "api/t1")], 8);
        let (lines, _) = until_backfilled(&mut h).await;
        assert_eq!(lines.len(), 3);
        for round in 0..3 {
            for i in 0..4 {
                fake.put(G, s, NOW - 1_000, &format!("again {round}.{i}"));
            }
            let lines = next_lines(&mut h).await;
            let want: Vec<String> = (0..4)
                .map(|i| format!("api/t1 again {round}.{i}"))
                .collect();
            assert_eq!(texts(&lines), want);
        }
        // Every later poll restarted at the boundary timestamp.
        assert!(
            fake.queries()
                .iter()
                .skip(1)
                .all(|q| q.start == NOW - 1_000)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn follows_next_tokens_to_the_end_of_each_poll() {
        let fake = Arc::new(FakeLogs::new(7));
        let s = "ecs/api/t1";
        for i in 0..50 {
            fake.put(G, s, NOW - 60_000 + i, &format!("m{i}"));
        }
        let (tail, _) = tail(&fake, backfill_only());
        let mut h = tail.spawn(vec![source(G, s, "api/t1")], 8);
        let (lines, _) = until_backfilled(&mut h).await;
        let want: Vec<String> = (0..50).map(|i| format!("api/t1 m{i}")).collect();
        assert_eq!(texts(&lines), want);
        assert_eq!(fake.queries().len(), 8, "50 events in pages of 7");
    }

    #[tokio::test(start_paused = true)]
    async fn streams_are_batched_by_group_and_groups_interleaved() {
        let fake = Arc::new(FakeLogs::new(10_000));
        let mut sources = Vec::new();
        for i in 0..150 {
            let stream = format!("ecs/api/task{i:03}");
            fake.put(G, &stream, NOW - 10_000 + 2 * i, &format!("api {i}"));
            sources.push(source(G, &stream, &format!("api/{i}")));
        }
        fake.put("/ecs/nginx", "nginx/nginx/n1", NOW - 10_000 + 1, "nginx 0");
        fake.put("/ecs/nginx", "nginx/nginx/n1", NOW - 10_000 + 3, "nginx 1");
        sources.push(source("/ecs/nginx", "nginx/nginx/n1", "nginx/n1"));
        let (tail, _) = tail(&fake, backfill_only());
        let mut h = tail.spawn(sources, 8);
        let (lines, _) = until_backfilled(&mut h).await;
        assert_eq!(lines.len(), 152);
        assert_eq!(
            texts(&lines[..5]),
            [
                "api/0 api 0",
                "nginx/n1 nginx 0",
                "api/1 api 1",
                "nginx/n1 nginx 1",
                "api/2 api 2"
            ]
        );
        assert!(lines.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
        let sizes: Vec<(String, usize)> = fake
            .queries()
            .iter()
            .map(|q| (q.group.clone(), q.streams.len()))
            .collect();
        assert_eq!(
            sizes,
            [(G.into(), 100), (G.into(), 50), ("/ecs/nginx".into(), 1)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn polls_fast_while_lines_flow_and_back_off_when_quiet() {
        let fake = Arc::new(FakeLogs::new(10_000));
        let s = "ecs/api/t1";
        fake.put(G, s, NOW - 1, "x");
        let (tail, _) = tail(&fake, TailConfig::default());
        let mut h = tail.spawn(vec![source(G, s, "api/t1")], 8);
        until_backfilled(&mut h).await;
        let t0 = tokio::time::Instant::now();
        // Quiet from now on: every 0.5 s for the 10 s after the last line, then the
        // interval doubles: +11, +13, +17 s.
        tokio::time::sleep(Duration::from_millis(15_600)).await;
        assert_eq!(fake.queries().len(), 1 + 20 + 2);
        fake.put(G, s, NOW, "y");
        let lines = next_lines(&mut h).await;
        assert_eq!(texts(&lines), ["api/t1 y"]);
        assert_eq!(t0.elapsed(), Duration::from_secs(17));
        // Lines flowed: the next poll comes after the fast interval again.
        fake.put(G, s, NOW + 1, "z");
        let t1 = tokio::time::Instant::now();
        next_lines(&mut h).await;
        assert_eq!(t1.elapsed(), Duration::from_millis(500));
    }

    #[test]
    fn delays() {
        let c = TailConfig::default();
        let ms = Duration::from_millis;
        let long_ago = Some(ms(60_000));
        assert_eq!(
            next_delay(ms(4_000), RoundOutcome::Lines, None, &c),
            ms(500)
        );
        assert_eq!(
            next_delay(ms(500), RoundOutcome::Quiet, long_ago, &c),
            ms(1_000)
        );
        assert_eq!(
            next_delay(ms(3_000), RoundOutcome::Quiet, None, &c),
            ms(4_000)
        );
        assert_eq!(next_delay(ms(0), RoundOutcome::Quiet, None, &c), ms(500));
        assert_eq!(
            next_delay(ms(500), RoundOutcome::Failed, None, &c),
            ms(4_000)
        );
        // A lull shorter than `quiet_after` keeps the fast interval.
        assert_eq!(
            next_delay(ms(500), RoundOutcome::Quiet, Some(ms(9_000)), &c),
            ms(500)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_retried_with_backoff_and_reported() {
        let fake = Arc::new(FakeLogs::new(10_000));
        let s = "ecs/api/t1";
        fake.put(G, s, NOW - 1, "after the storm");
        fake.fail_with([
            BackendError::Throttled("Rate exceeded".into()),
            BackendError::Throttled("Rate exceeded".into()),
        ]);
        let (tail, _) = tail(&fake, backfill_only());
        let t0 = tokio::time::Instant::now();
        let mut h = tail.spawn(vec![source(G, s, "api/t1")], 8);
        let (lines, errors) = until_backfilled(&mut h).await;
        assert_eq!(texts(&lines), ["api/t1 after the storm"]);
        assert_eq!(errors.len(), 2);
        assert!(errors.iter().all(|e| matches!(
            e,
            TailEvent::Error {
                retrying: true,
                error: BackendError::Throttled(_),
                ..
            }
        )));
        // Waited between half of 1 s + 2 s and all of it.
        let waited = t0.elapsed();
        assert!(waited >= Duration::from_millis(1_500) && waited <= Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn endless_throttling_gives_the_group_up_for_the_round() {
        let fake = Arc::new(FakeLogs::new(10_000));
        let s = "ecs/api/t1";
        fake.put(G, s, NOW - 1, "x");
        fake.fail_with((0..6).map(|_| BackendError::Throttled("Rate exceeded".into())));
        let (tail, _) = tail(&fake, backfill_only());
        let mut h = tail.spawn(vec![source(G, s, "api/t1")], 8);
        let (lines, errors) = until_backfilled(&mut h).await;
        assert!(lines.is_empty());
        assert_eq!(errors.len(), 6);
        assert!(matches!(
            errors[5],
            TailEvent::Error {
                retrying: false,
                ..
            }
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_is_a_message_and_the_tail_goes_on() {
        let fake = Arc::new(FakeLogs::new(10_000));
        let s = "ecs/api/t1";
        fake.put(G, s, NOW - 2, "before");
        fake.fail_with([BackendError::AccessDenied {
            action: "logs:FilterLogEvents".into(),
            principal: None,
            resource: None,
            reason: Some("no".into()),
        }]);
        let (tail, _) = tail(&fake, TailConfig::default());
        let mut h = tail.spawn(vec![source(G, s, "api/t1")], 8);
        let (lines, errors) = until_backfilled(&mut h).await;
        assert!(lines.is_empty());
        assert!(matches!(
            &errors[..],
            [TailEvent::Error { group, error: BackendError::AccessDenied { .. }, retrying: false }]
                if group == G
        ));
        // The next round (after the slow interval) reads the window that was missed.
        assert_eq!(texts(&next_lines(&mut h).await), ["api/t1 before"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_stream_falls_back_to_the_common_prefix() {
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.put(G, "ecs/api/t1", NOW - 3, "one");
        fake.put(G, "ecs/api/old", NOW - 2, "foreign");
        let (tail, _) = tail(&fake, backfill_only());
        let mut h = tail.spawn(
            vec![
                source(G, "ecs/api/t1", "api/t1"),
                source(G, "ecs/api/t2-not-yet", "api/t2"),
            ],
            8,
        );
        let (lines, errors) = until_backfilled(&mut h).await;
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(texts(&lines), ["api/t1 one"]);
        let queries = fake.queries();
        assert_eq!(queries.len(), 2);
        assert_eq!(queries[1].stream_prefix.as_deref(), Some("ecs/api/t"));
        assert!(queries[1].streams.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_whole_group_source_reads_every_stream() {
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.put("/nginx", "a", NOW - 3, "one");
        fake.put("/nginx", "b", NOW - 2, "two");
        let (tail, _) = tail(&fake, backfill_only());
        let whole = LogSource {
            group: "/nginx".into(),
            stream: None,
            label: Arc::from("nginx"),
        };
        let mut h = tail.spawn(vec![whole, source("/nginx", "b", "nginx/b")], 8);
        let (lines, _) = until_backfilled(&mut h).await;
        assert_eq!(texts(&lines), ["nginx one", "nginx/b two"]);
        assert!(fake.queries()[0].streams.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_batch_of_another_stream_is_caught_by_the_look_back() {
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.put(G, "ecs/api/b", NOW - 1_000, "b at -1.0s");
        let (tail, _) = tail(&fake, TailConfig::default());
        let mut h = tail.spawn(
            vec![source(G, "ecs/api/a", "a"), source(G, "ecs/api/b", "b")],
            8,
        );
        fake.create(G, "ecs/api/a");
        let (lines, _) = until_backfilled(&mut h).await;
        assert_eq!(texts(&lines), ["b b at -1.0s"]);
        // Task a's batch lands late with older timestamps.
        fake.put(G, "ecs/api/a", NOW - 4_000, "a at -4.0s");
        fake.put(G, "ecs/api/a", NOW - 500, "a at -0.5s");
        assert_eq!(
            texts(&next_lines(&mut h).await),
            ["a a at -4.0s", "a a at -0.5s"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn new_sources_join_a_running_tail() {
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.put(G, "ecs/api/t1", NOW - 5, "api");
        fake.put("/ecs/web", "web/web/w1", NOW - 4, "web backfill");
        let (tail, _) = tail(&fake, TailConfig::default());
        let mut h = tail.spawn(vec![source(G, "ecs/api/t1", "api/t1")], 8);
        let (lines, _) = until_backfilled(&mut h).await;
        assert_eq!(texts(&lines), ["api/t1 api"]);
        h.set_sources(vec![
            source(G, "ecs/api/t1", "api/t1"),
            source("/ecs/web", "web/web/w1", "web/w1"),
        ]);
        assert_eq!(texts(&next_lines(&mut h).await), ["web/w1 web backfill"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_joins_late_is_read_from_the_window_start_once() {
        let fake = Arc::new(FakeLogs::new(3));
        fake.put(G, "ecs/api/t1", NOW - 5_000, "t1 old");
        let (tail, _) = tail(&fake, TailConfig::default());
        let mut h = tail.spawn(vec![source(G, "ecs/api/t1", "t1")], 8);
        let (lines, _) = until_backfilled(&mut h).await;
        assert_eq!(texts(&lines), ["t1 t1 old"]);
        // A task started two minutes ago, discovered only now: its lines are far older
        // than any look-back, and some are newer than t1's.
        for i in 0..5 {
            fake.put(G, "ecs/api/t2", NOW - 120_000 + i, &format!("t2 early {i}"));
        }
        fake.put(G, "ecs/api/t2", NOW - 1_000, "t2 recent");
        fake.put(G, "ecs/api/t1", NOW - 500, "t1 recent");
        h.set_sources(vec![
            source(G, "ecs/api/t1", "t1"),
            source(G, "ecs/api/t2", "t2"),
        ]);
        let mut got = next_lines(&mut h).await;
        // A few more rounds bring nothing twice.
        for _ in 0..3 {
            fake.put(G, "ecs/api/t2", NOW, "t2 now");
            got.extend(next_lines(&mut h).await);
        }
        let got = texts(&got);
        let mut want: Vec<String> = (0..5).map(|i| format!("t2 t2 early {i}")).collect();
        want.extend(["t2 t2 recent".into(), "t1 t1 recent".into()]);
        want.extend((0..3).map(|_| "t2 t2 now".to_string()));
        assert_eq!(got, want);
        let catch_up: Vec<_> = fake
            .queries()
            .into_iter()
            .filter(|q| q.end.is_some())
            .collect();
        assert!(!catch_up.is_empty());
        assert!(catch_up.iter().all(|q| q.streams == ["ecs/api/t2"]
            && q.start == NOW - 600_000
            && q.end == Some(NOW - 5_001)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_joining_stream_created_after_it_joined_is_not_lost() {
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.put(G, "ecs/api/t1", NOW - 100, "t1");
        let (tail, clock) = tail(&fake, TailConfig::default());
        let mut h = tail.spawn(vec![source(G, "ecs/api/t1", "t1")], 8);
        until_backfilled(&mut h).await;
        // t2 joins before its stream exists; its first batch lands a few seconds later,
        // older than where the group's polls read it from.
        h.set_sources(vec![
            source(G, "ecs/api/t1", "t1"),
            source(G, "ecs/api/t2", "t2"),
        ]);
        fake.put(G, "ecs/api/t1", NOW, "t1 again");
        assert_eq!(texts(&next_lines(&mut h).await), ["t1 t1 again"]);
        clock.advance(4_000);
        fake.put(G, "ecs/api/t2", NOW - 3_000, "t2 late batch");
        assert_eq!(texts(&next_lines(&mut h).await), ["t2 t2 late batch"]);
        // Settled after the look-back: no more catch-up requests.
        clock.advance(20_000);
        fake.put(G, "ecs/api/t1", NOW + 1, "t1 later");
        next_lines(&mut h).await;
        let before = fake.queries().len();
        fake.put(G, "ecs/api/t1", NOW + 2, "t1 last");
        next_lines(&mut h).await;
        let after = fake.queries();
        assert_eq!(after.len(), before + 1, "one request a round again");
        assert!(after[before].end.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_joining_beside_flowing_ones_is_read_once_by_catch_up_and_sweep() {
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.put(G, "ecs/api/t1", NOW - 9_000, "t1 a");
        fake.put(G, "ecs/api/t2", NOW - 9_000, "t2 a");
        let (tail, clock) = tail(&fake, TailConfig::default());
        let both = vec![source(G, "ecs/api/t1", "t1"), source(G, "ecs/api/t2", "t2")];
        let mut h = tail.spawn(both.clone(), 8);
        until_backfilled(&mut h).await;
        clock.advance(3_000);
        fake.put(G, "ecs/api/t1", NOW + 2_000, "t1 b");
        fake.put(G, "ecs/api/t2", NOW + 2_000, "t2 b");
        next_lines(&mut h).await;
        // t3 joins: its lines lie before the group's start, some of them inside the
        // range the sweep reads.
        for (at, text) in [
            (-120_000, "early"),
            (-8_000, "in the sweep's range"),
            (0, "now"),
        ] {
            fake.put(G, "ecs/api/t3", NOW + at, &format!("t3 {text}"));
        }
        let mut all = both;
        all.push(source(G, "ecs/api/t3", "t3"));
        h.set_sources(all);
        let mut got = Vec::new();
        for _ in 0..30 {
            fake.put(G, "ecs/api/t1", clock.now_ms(), "t1 tick");
            got.extend(next_lines(&mut h).await);
            clock.advance(500);
        }
        let t3: Vec<String> = texts(&got)
            .into_iter()
            .filter(|t| t.starts_with("t3"))
            .collect();
        assert_eq!(
            t3,
            ["t3 t3 early", "t3 t3 in the sweep's range", "t3 t3 now"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_stream_joining_redelivers_nothing() {
        let fake = Arc::new(FakeLogs::new(10_000));
        for i in 0..4 {
            fake.put(G, "ecs/api/t1", NOW - 4_000 + i * 1_000, &format!("t1 {i}"));
        }
        let (tail, _) = tail(&fake, TailConfig::default());
        let mut h = tail.spawn(vec![source(G, "ecs/api/t1", "t1")], 8);
        let (lines, _) = until_backfilled(&mut h).await;
        assert_eq!(lines.len(), 4);
        // One stream had no look-back; with two the group gets one, and must not read
        // t1's lines again.
        h.set_sources(vec![
            source(G, "ecs/api/t1", "t1"),
            source(G, "ecs/api/t2", "t2"),
        ]);
        fake.put(G, "ecs/api/t2", NOW, "t2 first");
        assert_eq!(texts(&next_lines(&mut h).await), ["t2 t2 first"]);
        fake.put(G, "ecs/api/t1", NOW + 1, "t1 next");
        assert_eq!(texts(&next_lines(&mut h).await), ["t1 t1 next"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_filter_pattern_is_passed_to_the_service() {
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.put(G, "s", NOW - 3, "GET /health 200");
        fake.put(G, "s", NOW - 2, "POST /tx 500");
        let config = TailConfig {
            filter_pattern: Some("500".into()),
            ..backfill_only()
        };
        let (tail, _) = tail(&fake, config);
        let mut h = tail.spawn(vec![source(G, "s", "s")], 8);
        let (lines, _) = until_backfilled(&mut h).await;
        assert_eq!(texts(&lines), ["s POST /tx 500"]);
    }

    /// A task writing ten events a second, one per call, for 60 s beside a task that
    /// stays quiet and, when asked, sends one batch 4 s late. Returns, per event, how long
    /// after its put it was delivered (doubles fail the test), the requests and the events
    /// the service returned meanwhile.
    async fn ten_a_second(late_batch: bool) -> (HashMap<String, Duration>, usize, usize) {
        const EVENTS: usize = 600;
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.create(G, "ecs/api/busy");
        fake.create(G, "ecs/api/quiet");
        let (tail, clock) = tail(&fake, TailConfig::default());
        let mut h = tail.spawn(
            vec![
                source(G, "ecs/api/busy", "busy"),
                source(G, "ecs/api/quiet", "quiet"),
            ],
            64,
        );
        until_backfilled(&mut h).await;
        let (queries_before, returned_before) = (fake.queries().len(), fake.returned());
        let writer = {
            let (fake, clock) = (Arc::clone(&fake), Arc::clone(&clock));
            tokio::spawn(async move {
                let mut put_at = HashMap::new();
                for i in 0..EVENTS {
                    // A lull of 3 s half-way.
                    let pause = if i == EVENTS / 2 { 3_000 } else { 100 };
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                    clock.advance(i64::try_from(pause).unwrap());
                    fake.put(G, "ecs/api/busy", clock.now_ms(), &format!("e{i}"));
                    put_at.insert(format!("e{i}"), tokio::time::Instant::now());
                    if late_batch && i == EVENTS / 3 {
                        fake.put(G, "ecs/api/quiet", clock.now_ms() - 4_000, "late");
                        put_at.insert("late".into(), tokio::time::Instant::now());
                    }
                }
                put_at
            })
        };
        let want = EVENTS + usize::from(late_batch);
        let mut seen: HashMap<String, tokio::time::Instant> = HashMap::new();
        while seen.len() < want {
            for line in next_lines(&mut h).await {
                let first = seen.insert(line.display.clone(), tokio::time::Instant::now());
                assert!(first.is_none(), "{} twice", line.display);
            }
        }
        let put_at = writer.await.unwrap();
        let latency = seen
            .iter()
            .map(|(name, at)| (name.clone(), at.duration_since(put_at[name])))
            .collect();
        (
            latency,
            fake.queries().len() - queries_before,
            fake.returned() - returned_before,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn ten_events_a_second_each_arrive_within_the_bound_once() {
        let config = TailConfig::default();
        let (latency, _, _) = ten_a_second(true).await;
        let late = latency["late"];
        let slow: Vec<_> = latency
            .iter()
            .filter(|(name, d)| *name != "late" && **d > config.fast_poll)
            .collect();
        // Within one poll interval, the lull included; the late batch by the next sweep.
        assert!(slow.is_empty(), "{slow:?}");
        assert!(late <= config.sweep_every + config.fast_poll, "{late:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_stream_beside_a_quiet_one_is_downloaded_about_once() {
        let config = TailConfig::default();
        let (latency, queries, returned) = ten_a_second(false).await;
        // 63 s: a round every 0.5 s, and a sweep of the quiet stream every 5 s.
        let secs = 63;
        let per_sec = |every: Duration| secs * 1_000 / every.as_millis() + 1;
        let most = per_sec(config.fast_poll) + per_sec(config.sweep_every);
        assert!(queries as u128 <= most, "{queries} requests > {most}");
        // Each event once, and the one at the restart timestamp again each round.
        let events = latency.len();
        assert!(
            returned * 2 <= events * 3,
            "{returned} returned for {events}"
        );
    }

    #[test]
    fn common_prefixes() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        assert_eq!(
            common_prefix(&names(&["ecs/api/a1", "ecs/api/b2"])),
            "ecs/api/"
        );
        assert_eq!(common_prefix(&names(&["x"])), "x");
        assert_eq!(common_prefix(&names(&["ab", "cd"])), "");
        assert_eq!(common_prefix(&names(&["日本", "日曜"])), "日");
        assert_eq!(common_prefix(&[]), "");
    }
}
