//! Following a log group by CloudWatch Logs Live Tail, for the tail engine.
//!
//! After the backfill, each group of a tail that follows live ([`TailConfig::live`])
//! opens one session ([`LogsApi::live_tail`]) on a task of its own, which reports the
//! session's start, its updates and its end as [`LiveNote`]s. The engine then:
//!
//! - on the start, reads the group once with FilterLogEvents from its cursor (what was
//!   ingested between the backfill, or the session before, and this session), the
//!   quiet streams swept and the streams that joined caught up;
//! - on an update, delivers the events it has not delivered yet. Live Tail gives events
//!   no id, so while a tail follows live every event, read or streamed, is named by its
//!   content ([`Ranks`]): the same event from both sources is delivered once;
//! - reopens a session that ended after a long life (AWS ends each after three hours),
//!   at once, with a catch-up; one that closed early (a failure, or a server that
//!   answers and closes) after a pause that doubles, and after
//!   [`TailConfig::live_early_closes`] of them in a row the group polls for
//!   [`TailConfig::live_retry_after`] before it tries again: never a loop of sessions;
//! - polls instead when the backend has no live tail, when StartLiveTail is denied (for
//!   the rest of the tail), or when an update is sampled (the service left events out:
//!   only polls are exact), trying live again later.
//!
//! A session is named by its request: the group's streams by a common prefix (`ecs/api/`,
//! so a task that starts is in the session at once, and joins with a catch-up of its
//! history) when there are several, by name otherwise; a change of the request reopens
//! the session. Dropping the engine (the tail stopped, the view closed) aborts the
//! sessions' tasks, which closes the sessions. Opening a session takes a token of the
//! shared budget like any request.
//!
//! Nothing here knows the SDK or the terminal: a session is a backend's
//! [`crate::backend::LiveSession`], and how a group follows is told as
//! [`TailEvent::Following`] for the views to say. It never delivers a line twice to save
//! a request, and never keeps a group on a session it cannot trust (sampled, closing).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{
    Closed, Engine, Following, GroupTail, PollReason, TailConfig, TailEvent, common_prefix,
};
use crate::backend::{BackendError, LogsApi};
use crate::clock::EpochMs;
use crate::logs::budget::RequestBudget;
use crate::logs::line::LogLine;
use crate::model::logs::{LiveQuery, LiveUpdate, LogEvent};

/// How many session reports may wait for the engine.
pub(super) const QUEUE: usize = 64;

/// What a session's task reports to the engine.
#[derive(Debug)]
pub(super) struct LiveNote {
    group: String,
    id: u64,
    msg: LiveMsg,
}

#[derive(Debug)]
enum LiveMsg {
    /// The session has started.
    Started,
    /// An update.
    Update(LiveUpdate),
    /// The session ended (`None`), failed, or could not open.
    Ended(Option<BackendError>),
    /// The backend has no live tail.
    Unsupported,
}

/// What the engine's wait must do after a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wake {
    /// Nothing: keep waiting.
    Nothing,
    /// A session opens again at a time: wait again, until then at the latest.
    Timer,
    /// The group polls now: a round at once.
    Round,
}

/// How one group follows by Live Tail.
#[derive(Debug)]
pub(super) struct GroupLive {
    state: State,
    /// Sessions that closed early in a row.
    early_closes: u32,
    /// What the last [`TailEvent::Following`] said.
    shown: Option<Following>,
    /// The ranks of identical events streamed in this session.
    ranks: Ranks,
}

#[derive(Debug)]
enum State {
    /// Polled; Live Tail is tried again at `retry` (never when `None`).
    Polling { retry: Option<Instant> },
    /// A session, opening (`opened` is `None`) or open.
    Session {
        id: u64,
        query: LiveQuery,
        opened: Option<Instant>,
        _task: SessionTask,
    },
    /// Between two sessions: the next opens at `at`.
    Reopening { at: Instant },
}

/// A session's task: aborted (the session closed) when dropped.
#[derive(Debug)]
struct SessionTask(JoinHandle<()>);

impl Drop for SessionTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl GroupLive {
    /// A group that polls until the tail starts following; `live_now`: a group that
    /// joins a tail already following live, which tries a session after its backfill.
    pub(super) fn new(live_now: bool) -> Self {
        Self {
            state: State::Polling {
                retry: live_now.then(Instant::now),
            },
            early_closes: 0,
            shown: None,
            ranks: Ranks::default(),
        }
    }

    /// Whether the group is polled (no session, and none about to open).
    pub(super) fn polls(&self) -> bool {
        matches!(self.state, State::Polling { .. })
    }

    /// Whether an open session streams the group's lines.
    pub(super) fn is_streamed(&self) -> bool {
        matches!(
            self.state,
            State::Session {
                opened: Some(_),
                ..
            }
        )
    }

    fn timer(&self) -> Option<Instant> {
        match self.state {
            State::Reopening { at } => Some(at),
            State::Polling { retry } => retry,
            State::Session { .. } => None,
        }
    }
}

/// The Live Tail request of a group: its streams by their common prefix when there
/// are several and they share one, else by name (up to the service's 100), else the
/// whole group (the engine drops foreign streams).
pub(super) fn live_query(group: &GroupTail, config: &TailConfig) -> LiveQuery {
    let mut query = LiveQuery {
        group: group.group.clone(),
        filter_pattern: config.filter_pattern.clone(),
        ..LiveQuery::default()
    };
    if group.whole_group.is_some() {
        return query;
    }
    if group.streams.len() > 1 {
        let prefix = stream_prefix(&group.streams);
        if !prefix.is_empty() {
            query.stream_prefixes = vec![prefix.to_string()];
            return query;
        }
    }
    if group.streams.len() <= 100 {
        query.streams.clone_from(&group.streams);
    }
    query
}

/// The streams' common prefix up to its last `/` (`ecs/api/` for the tasks of one
/// container), or the whole common prefix when it has none.
fn stream_prefix(streams: &[String]) -> &str {
    let common = common_prefix(streams);
    match common.rfind('/') {
        Some(at) => &common[..=at],
        None => common,
    }
}

/// After the group's sources changed: a session whose request no longer fits is
/// closed and opened again at once (with its catch-up).
pub(super) fn restart_if_changed(group: &mut GroupTail, config: &TailConfig) {
    let State::Session { query, .. } = &group.live.state else {
        return;
    };
    if *query != live_query(group, config) {
        group.live.state = State::Reopening { at: Instant::now() };
    }
}

/// Names events by their content: a hash of the stream, the ingestion time and the
/// message, and the event's rank among identical ones (two copies of a line written in
/// one call are two events). Identical events are ingested together, so a read and a
/// session that both bring them rank them alike.
#[derive(Debug, Default)]
pub(super) struct Ranks(HashMap<(EpochMs, u64), u32>);

impl Ranks {
    /// Replaces each event's id with its content name.
    pub(super) fn identify(&mut self, events: &mut [LogEvent]) {
        for event in events {
            let mut hasher = DefaultHasher::new();
            (
                event.stream.as_str(),
                event.ingestion,
                event.message.as_str(),
            )
                .hash(&mut hasher);
            let hash = hasher.finish();
            let rank = self.0.entry((event.timestamp, hash)).or_insert(0);
            event.event_id = format!("{hash:016x}.{rank}");
            *rank += 1;
        }
    }

    fn forget_before(&mut self, at: EpochMs) {
        self.0.retain(|(timestamp, _), _| *timestamp >= at);
    }
}

/// Opens one session and reports it until it ends or the engine goes away.
async fn run_session(
    logs: Arc<dyn LogsApi>,
    budget: Arc<RequestBudget>,
    query: LiveQuery,
    id: u64,
    tx: mpsc::Sender<LiveNote>,
) {
    let note = |msg| LiveNote {
        group: query.group.clone(),
        id,
        msg,
    };
    budget.acquire().await;
    let mut session = match logs.live_tail(&query).await {
        Ok(Some(session)) => session,
        Ok(None) => {
            let _ = tx.send(note(LiveMsg::Unsupported)).await;
            return;
        }
        Err(error) => {
            let _ = tx.send(note(LiveMsg::Ended(Some(error)))).await;
            return;
        }
    };
    if tx.send(note(LiveMsg::Started)).await.is_err() {
        return;
    }
    loop {
        let msg = match session.next().await {
            Ok(Some(update)) => LiveMsg::Update(update),
            Ok(None) => LiveMsg::Ended(None),
            Err(error) => LiveMsg::Ended(Some(error)),
        };
        let ended = matches!(msg, LiveMsg::Ended(_));
        if tx.send(note(msg)).await.is_err() || ended {
            return;
        }
    }
}

impl Engine {
    /// The backfill is done: every group follows, by a session or by polls.
    pub(super) async fn start_following(&mut self) -> Result<(), Closed> {
        self.following = true;
        for index in 0..self.groups.len() {
            if self.tail.config.live {
                self.open_session(index);
            } else {
                let how = self.polling(PollReason::Chosen);
                self.announce(index, how).await?;
            }
        }
        Ok(())
    }

    /// Whether any group is polled.
    pub(super) fn any_polling(&self) -> bool {
        self.groups.iter().any(|g| g.live.polls())
    }

    fn polling(&self, why: PollReason) -> Following {
        Following::Polling {
            every: self.tail.config.fast_poll,
            why,
        }
    }

    fn open_session(&mut self, index: usize) {
        self.sessions += 1;
        let id = self.sessions;
        let query = live_query(&self.groups[index], &self.tail.config);
        let task = tokio::spawn(run_session(
            Arc::clone(&self.tail.logs),
            Arc::clone(&self.tail.budget),
            query.clone(),
            id,
            self.live_tx.clone(),
        ));
        let live = &mut self.groups[index].live;
        live.ranks = Ranks::default();
        live.state = State::Session {
            id,
            query,
            opened: None,
            _task: SessionTask(task),
        };
    }

    /// Opens the sessions whose time has come (a reopening, or Live Tail tried again).
    pub(super) fn live_timers(&mut self) {
        let now = Instant::now();
        for index in 0..self.groups.len() {
            if self.groups[index].live.timer().is_some_and(|at| at <= now) {
                self.open_session(index);
            }
        }
    }

    /// When a session opens next.
    pub(super) fn next_live_timer(&self) -> Option<Instant> {
        self.groups.iter().filter_map(|g| g.live.timer()).min()
    }

    /// Reads the history of the streams that joined groups followed by an open session
    /// (a task started: by prefix, its lines are streamed already).
    pub(super) async fn live_catch_ups(&mut self) -> Result<(), Closed> {
        let mut lines = Vec::new();
        for index in 0..self.groups.len() {
            let group = &self.groups[index];
            if group.live.is_streamed() && group.catch_ups.iter().any(|c| !c.read) {
                self.catch_up(index, &mut lines).await?;
            }
        }
        self.send_lines(lines).await
    }

    /// Applies a session's report.
    pub(super) async fn on_live(&mut self, note: LiveNote) -> Result<Wake, Closed> {
        let Some(index) = self.groups.iter().position(|g| g.group == note.group) else {
            return Ok(Wake::Nothing);
        };
        let State::Session { id, opened, .. } = &self.groups[index].live.state else {
            return Ok(Wake::Nothing);
        };
        if *id != note.id {
            return Ok(Wake::Nothing);
        }
        let opened = *opened;
        match note.msg {
            LiveMsg::Started => self.session_started(index).await,
            LiveMsg::Update(update) => self.session_update(index, update, opened).await,
            LiveMsg::Unsupported => {
                self.groups[index].live.state = State::Polling { retry: None };
                let how = self.polling(PollReason::Chosen);
                self.announce(index, how).await?;
                Ok(Wake::Round)
            }
            LiveMsg::Ended(error) => self.session_ended(index, error, opened).await,
        }
    }

    /// The session is open: read what it cannot bring (ingested before it opened).
    async fn session_started(&mut self, index: usize) -> Result<Wake, Closed> {
        let now = Instant::now();
        if let State::Session { opened, .. } = &mut self.groups[index].live.state {
            *opened = Some(now);
        }
        let began_at = self.tail.clock.now_ms();
        // The quiet streams are swept too: a late batch may have landed meanwhile.
        self.groups[index].next_sweep = None;
        let mut lines = Vec::new();
        let read = self.poll_group(index, &mut lines).await?;
        self.send_lines(lines).await?;
        let Some(covered_quiet) = read else {
            // The gap could not be read: the next session reads it again.
            self.groups[index].live.state = State::Reopening {
                at: now + self.tail.config.slow_poll,
            };
            return Ok(Wake::Timer);
        };
        self.complete(index, began_at, covered_quiet);
        self.announce(index, Following::Live).await?;
        Ok(Wake::Nothing)
    }

    async fn session_update(
        &mut self,
        index: usize,
        update: LiveUpdate,
        opened: Option<Instant>,
    ) -> Result<Wake, Closed> {
        let config = &self.tail.config;
        if update.sampled {
            // Some events were left out: only polls read them all.
            self.groups[index].live.state = State::Polling {
                retry: Some(Instant::now() + config.live_retry_after),
            };
            let how = self.polling(PollReason::Sampled);
            self.announce(index, how).await?;
            return Ok(Wake::Round);
        }
        let group = &mut self.groups[index];
        if opened.is_some_and(|at| at.elapsed() >= config.live_min_session) {
            group.live.early_closes = 0;
        }
        let began_at = self.tail.clock.now_ms();
        let window_start = group.cursor.window_start();
        let mut events: Vec<LogEvent> = update
            .events
            .into_iter()
            .filter(|e| e.timestamp >= window_start && group.label_of(&e.stream).is_some())
            .collect();
        group.live.ranks.identify(&mut events);
        let mut lines = Vec::new();
        for event in events {
            // A joining stream's history is its catch-up's: the same event, read there
            // and streamed here, is delivered once.
            let admitted = match group
                .catch_ups
                .iter_mut()
                .find(|c| c.stream == event.stream && event.timestamp <= c.end)
            {
                Some(catch_up) => catch_up.cursor.admit(vec![event]),
                None => group.cursor.admit_streamed(vec![event]),
            };
            for event in admitted {
                if let Some(label) = group.label_of(&event.stream) {
                    lines.push(LogLine::new(event.timestamp, label, event.message));
                }
            }
        }
        group
            .catch_ups
            .retain(|c| !(c.read && began_at > c.settled_at));
        self.complete(index, began_at, true);
        let group = &mut self.groups[index];
        group
            .live
            .ranks
            .forget_before(group.cursor.remembered_from());
        self.send_lines(lines).await?;
        Ok(Wake::Nothing)
    }

    async fn session_ended(
        &mut self,
        index: usize,
        error: Option<BackendError>,
        opened: Option<Instant>,
    ) -> Result<Wake, Closed> {
        let config = &self.tail.config;
        let now = Instant::now();
        if let Some(BackendError::AccessDenied { action, .. }) = &error {
            let action = if action.contains("DescribeLogGroups") {
                "logs:DescribeLogGroups"
            } else {
                "logs:StartLiveTail"
            };
            self.groups[index].live.state = State::Polling { retry: None };
            let how = self.polling(PollReason::NotAllowed { action });
            self.announce(index, how).await?;
            return Ok(Wake::Round);
        }
        let live = &mut self.groups[index].live;
        if opened.is_some_and(|at| now.duration_since(at) >= config.live_min_session) {
            // A session that lived (AWS ends each after three hours): the next at once.
            live.early_closes = 0;
            live.state = State::Reopening { at: now };
            return Ok(Wake::Timer);
        }
        live.early_closes += 1;
        if live.early_closes >= config.live_early_closes.max(1) {
            live.early_closes = 0;
            live.state = State::Polling {
                retry: Some(now + config.live_retry_after),
            };
            let how = self.polling(PollReason::ClosedEarly);
            self.announce(index, how).await?;
            return Ok(Wake::Round);
        }
        let pause = config
            .live_reopen_after
            .saturating_mul(1 << (live.early_closes - 1).min(8));
        live.state = State::Reopening { at: now + pause };
        Ok(Wake::Timer)
    }

    /// Says how group `index` follows, when that changed.
    async fn announce(&mut self, index: usize, how: Following) -> Result<(), Closed> {
        let group = &mut self.groups[index];
        if group.live.shown == Some(how) {
            return Ok(());
        }
        group.live.shown = Some(how);
        let group = group.group.clone();
        self.send(TailEvent::Following { group, how }).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{Tail, TailConfig, TailEvent, TailHandle};
    use super::*;
    use crate::clock::{Clock as _, ManualClock};
    use crate::logs::discovery::LogSource;
    use crate::logs::fake::{FakeLogs, LiveMode};

    const NOW: EpochMs = 1_700_000_000_000;
    const G: &str = "/ecs/api";

    fn source(stream: &str, label: &str) -> LogSource {
        LogSource {
            group: G.into(),
            stream: Some(stream.into()),
            label: Arc::from(label),
        }
    }

    fn live_tail(fake: &Arc<FakeLogs>) -> (Tail, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(NOW));
        let logs: Arc<dyn LogsApi> = fake.clone();
        let tail = Tail::new(logs, clock.clone())
            .with_budget(Arc::new(RequestBudget::new(1_000.0, 1_000)))
            .with_config(TailConfig {
                live: true,
                ..TailConfig::default()
            });
        (tail, clock)
    }

    /// Everything the tail sends within `wait` of virtual time.
    async fn drain(h: &mut TailHandle, wait: Duration) -> (Vec<String>, Vec<Following>) {
        let (mut lines, mut following) = (Vec::new(), Vec::new());
        let end = tokio::time::Instant::now() + wait;
        while let Ok(Some(event)) = tokio::time::timeout_at(end, h.recv()).await {
            match event {
                TailEvent::Lines(batch) => {
                    lines.extend(batch.iter().map(|l| format!("{} {}", l.source, l.display)));
                }
                TailEvent::Following { how, .. } => following.push(how),
                TailEvent::Backfilled | TailEvent::Error { .. } => {}
            }
        }
        (lines, following)
    }

    fn polling(why: PollReason) -> Following {
        Following::Polling {
            every: TailConfig::default().fast_poll,
            why,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_gap_before_a_session_is_caught_up_and_nothing_is_doubled() {
        let fake = Arc::new(FakeLogs::new(10_000));
        // Sessions also stream what landed in the last 2 s: the catch-up reads it too.
        fake.live(LiveMode::Stream { replay_ms: 2_000 });
        fake.put(G, "ecs/api/t1", NOW - 5_000, "backfilled");
        let (tail, clock) = live_tail(&fake);
        let mut h = tail.spawn(vec![source("ecs/api/t1", "t1")], 64);
        let (lines, following) = drain(&mut h, Duration::from_secs(2)).await;
        assert_eq!(lines, ["t1 backfilled"]);
        assert_eq!(following, [Following::Live]);
        let reads = fake.queries().len();
        for i in 0..20 {
            clock.advance(100);
            fake.put(G, "ecs/api/t1", clock.now_ms(), &format!("live {i}"));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (lines, _) = drain(&mut h, Duration::from_secs(1)).await;
        let want: Vec<String> = (0..20).map(|i| format!("t1 live {i}")).collect();
        assert_eq!(lines, want);
        assert_eq!(
            fake.queries().len(),
            reads,
            "no polls while the session streams"
        );
        // The session ends after a long life; lines land before the next one opens and
        // while it opens (streamed by it and read by its catch-up).
        tokio::time::sleep(Duration::from_secs(60)).await;
        fake.end_sessions();
        clock.advance(100);
        fake.put(G, "ecs/api/t1", clock.now_ms(), "in the gap");
        let (lines, _) = drain(&mut h, Duration::from_secs(2)).await;
        assert_eq!(lines, ["t1 in the gap"]);
        assert_eq!(fake.sessions_opened(), 2);
        assert_eq!(fake.queries().len(), reads + 1, "one catch-up read");
        clock.advance(100);
        fake.put(G, "ecs/api/t1", clock.now_ms(), "after");
        let (lines, _) = drain(&mut h, Duration::from_secs(1)).await;
        assert_eq!(lines, ["t1 after"]);
    }

    #[tokio::test(start_paused = true)]
    async fn identical_lines_read_and_streamed_are_each_shown_once() {
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.live(LiveMode::Stream { replay_ms: 10_000 });
        let (tail, clock) = live_tail(&fake);
        fake.create(G, "ecs/api/t1");
        let mut h = tail.spawn(vec![source("ecs/api/t1", "t1")], 64);
        drain(&mut h, Duration::from_millis(10)).await;
        tokio::time::sleep(Duration::from_secs(40)).await;
        fake.end_sessions();
        // Two identical lines in the gap: the catch-up reads both, the new session
        // replays both; each is shown once.
        clock.advance(1_000);
        fake.put(G, "ecs/api/t1", clock.now_ms(), "same");
        fake.put(G, "ecs/api/t1", clock.now_ms(), "same");
        let (lines, _) = drain(&mut h, Duration::from_secs(2)).await;
        assert_eq!(lines, ["t1 same", "t1 same"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_sampled_update_turns_the_group_to_polling_then_live_again() {
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.live(LiveMode::Stream { replay_ms: 0 });
        let (tail, clock) = live_tail(&fake);
        fake.create(G, "ecs/api/t1");
        let mut h = tail.spawn(vec![source("ecs/api/t1", "t1")], 64);
        drain(&mut h, Duration::from_millis(10)).await;
        fake.sample();
        let (_, following) = drain(&mut h, Duration::from_millis(10)).await;
        assert_eq!(following, [polling(PollReason::Sampled)]);
        assert_eq!(fake.sessions_open(), 0, "the session is closed");
        let reads = fake.queries().len();
        clock.advance(100);
        fake.put(G, "ecs/api/t1", clock.now_ms(), "polled");
        let (lines, _) = drain(&mut h, Duration::from_secs(1)).await;
        assert_eq!(lines, ["t1 polled"]);
        assert!(fake.queries().len() > reads);
        // Five minutes later, live again.
        let (_, following) = drain(&mut h, Duration::from_secs(301)).await;
        assert_eq!(following, [Following::Live]);
        assert_eq!(fake.sessions_opened(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn sessions_that_close_at_once_fall_back_to_polling_without_a_loop() {
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.live(LiveMode::CloseAtOnce);
        fake.put(G, "ecs/api/t1", NOW - 1_000, "one");
        let (tail, clock) = live_tail(&fake);
        let mut h = tail.spawn(vec![source("ecs/api/t1", "t1")], 64);
        let (lines, following) = drain(&mut h, Duration::from_secs(60)).await;
        // The one-shot sessions bring the backfilled line again: shown once.
        assert_eq!(lines, ["t1 one"]);
        assert_eq!(
            following,
            [Following::Live, polling(PollReason::ClosedEarly)]
        );
        assert_eq!(fake.sessions_opened(), 3);
        clock.advance(100);
        fake.put(G, "ecs/api/t1", clock.now_ms(), "two");
        // Polled, at the quiet interval after a minute without lines.
        let (lines, _) = drain(&mut h, Duration::from_secs(5)).await;
        assert_eq!(lines, ["t1 two"]);
        // Tried again after five minutes: three more at most.
        drain(&mut h, Duration::from_secs(300)).await;
        assert_eq!(fake.sessions_opened(), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn a_denied_live_tail_polls_and_says_why_once() {
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.live(LiveMode::Deny);
        fake.create(G, "ecs/api/t1");
        let (tail, clock) = live_tail(&fake);
        let mut h = tail.spawn(vec![source("ecs/api/t1", "t1")], 64);
        clock.advance(100);
        fake.put(G, "ecs/api/t1", clock.now_ms(), "polled");
        let (lines, following) = drain(&mut h, Duration::from_secs(600)).await;
        assert_eq!(lines, ["t1 polled"]);
        assert_eq!(
            following,
            [polling(PollReason::NotAllowed {
                action: "logs:StartLiveTail"
            })]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_backend_without_live_tail_polls() {
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.create(G, "ecs/api/t1");
        let (tail, _) = live_tail(&fake);
        let mut h = tail.spawn(vec![source("ecs/api/t1", "t1")], 64);
        let (_, following) = drain(&mut h, Duration::from_secs(1)).await;
        assert_eq!(following, [polling(PollReason::Chosen)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_starts_joins_the_prefix_session_with_its_history() {
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.live(LiveMode::Stream { replay_ms: 0 });
        fake.create(G, "ecs/api/t1");
        fake.create(G, "ecs/api/t2");
        let (tail, clock) = live_tail(&fake);
        let mut h = tail.spawn(
            vec![source("ecs/api/t1", "t1"), source("ecs/api/t2", "t2")],
            64,
        );
        drain(&mut h, Duration::from_millis(10)).await;
        // t3 starts and logs before the console sees it, then while it does.
        clock.advance(1_000);
        fake.put(G, "ecs/api/t3", clock.now_ms() - 60_000, "t3 early");
        fake.put(G, "ecs/api/t3", clock.now_ms(), "t3 before joining");
        drain(&mut h, Duration::from_millis(10)).await;
        h.set_sources(vec![
            source("ecs/api/t1", "t1"),
            source("ecs/api/t2", "t2"),
            source("ecs/api/t3", "t3"),
        ]);
        let (lines, _) = drain(&mut h, Duration::from_millis(10)).await;
        assert_eq!(lines, ["t3 t3 early", "t3 t3 before joining"]);
        clock.advance(100);
        fake.put(G, "ecs/api/t3", clock.now_ms(), "t3 joined");
        let (lines, _) = drain(&mut h, Duration::from_secs(1)).await;
        assert_eq!(lines, ["t3 t3 joined"]);
        assert_eq!(fake.sessions_opened(), 1, "by prefix: no new session");
    }

    #[test]
    fn a_session_names_streams_by_their_prefix_or_by_name() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        assert_eq!(
            stream_prefix(&names(&["ecs/api/a1", "ecs/api/a2"])),
            "ecs/api/"
        );
        assert_eq!(stream_prefix(&names(&["a1", "a2"])), "a");
        assert_eq!(stream_prefix(&names(&["x/1", "y/2"])), "");
    }
}
