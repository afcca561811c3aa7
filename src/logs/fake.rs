//! An in-memory CloudWatch Logs for the tail engine's tests: it answers FilterLogEvents
//! as AWS does (interleaved pages, next tokens, a missing named stream is an error) and
//! can be told to throttle or fail, and streams Live Tail sessions when told to
//! ([`FakeLogs::live`]). Test-only; it must not grow into a demo world.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::backend::{BackendError, BackendResult, LiveSession, LogsApi};
use crate::model::logs::{LiveQuery, LiveUpdate, LogEvent, LogPage, LogQuery};

/// How the fake answers StartLiveTail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveMode {
    /// Sessions stream each event put from then on, as its own update; a new session
    /// first streams the events put within `replay_ms` before it (as a session may
    /// bring lines a read brings too).
    Stream { replay_ms: i64 },
    /// AccessDenied.
    Deny,
    /// Every event of the group in one update, then the end (as moto does).
    CloseAtOnce,
}

/// An in-memory log service.
#[derive(Debug, Default)]
pub struct FakeLogs {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// group → stream → events (in put order).
    groups: BTreeMap<String, BTreeMap<String, Vec<LogEvent>>>,
    next_id: u64,
    /// Errors to answer with, before answering normally.
    failures: VecDeque<BackendError>,
    queries: Vec<LogQuery>,
    /// Events returned over all answers.
    returned: usize,
    page_size: usize,
    live: Option<LiveMode>,
    sessions: Vec<(LiveQuery, mpsc::UnboundedSender<LiveUpdate>)>,
    sessions_opened: usize,
}

impl FakeLogs {
    pub fn new(page_size: usize) -> Self {
        let fake = Self::default();
        fake.lock().page_size = page_size.max(1);
        fake
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// Creates a stream (and its group).
    pub fn create(&self, group: &str, stream: &str) {
        self.lock()
            .groups
            .entry(group.into())
            .or_default()
            .entry(stream.into())
            .or_default();
    }

    /// Appends an event.
    pub fn put(&self, group: &str, stream: &str, timestamp: i64, message: &str) {
        let mut state = self.lock();
        state.next_id += 1;
        let id = format!("{:020}", state.next_id);
        let event = LogEvent {
            timestamp,
            ingestion: timestamp,
            event_id: id,
            group: group.into(),
            stream: stream.into(),
            message: message.into(),
        };
        state.sessions.retain(|(query, tx)| {
            !matches(query, &event)
                || tx
                    .send(LiveUpdate {
                        events: vec![streamed(&event)],
                        sampled: false,
                    })
                    .is_ok()
        });
        state
            .groups
            .entry(group.into())
            .or_default()
            .entry(stream.into())
            .or_default()
            .push(event);
    }

    /// Answers StartLiveTail this way (without: no live tail).
    pub fn live(&self, mode: LiveMode) {
        self.lock().live = Some(mode);
    }

    /// Ends every open session.
    pub fn end_sessions(&self) {
        self.lock().sessions.clear();
    }

    /// Sends every open session a sampled update (with no events).
    pub fn sample(&self) {
        let state = self.lock();
        for (_, tx) in &state.sessions {
            let _ = tx.send(LiveUpdate {
                events: Vec::new(),
                sampled: true,
            });
        }
    }

    /// Sessions opened so far.
    pub fn sessions_opened(&self) -> usize {
        self.lock().sessions_opened
    }

    /// Sessions open now.
    pub fn sessions_open(&self) -> usize {
        let mut state = self.lock();
        state.sessions.retain(|(_, tx)| !tx.is_closed());
        state.sessions.len()
    }

    /// The next calls fail with these errors, in order.
    pub fn fail_with(&self, errors: impl IntoIterator<Item = BackendError>) {
        self.lock().failures.extend(errors);
    }

    /// Every query asked so far.
    pub fn queries(&self) -> Vec<LogQuery> {
        self.lock().queries.clone()
    }

    /// How many events all answers so far held (an event returned twice counts twice).
    pub fn returned(&self) -> usize {
        self.lock().returned
    }
}

#[async_trait]
impl LogsApi for FakeLogs {
    async fn live_tail(&self, query: &LiveQuery) -> BackendResult<Option<Box<dyn LiveSession>>> {
        let mut state = self.lock();
        let Some(mode) = state.live else {
            return Ok(None);
        };
        if mode == LiveMode::Deny {
            return Err(BackendError::AccessDenied {
                action: "logs:StartLiveTail".into(),
                principal: None,
                resource: None,
                reason: None,
            });
        }
        state.sessions_opened += 1;
        let (tx, rx) = mpsc::unbounded_channel();
        let all: Vec<LogEvent> = state
            .groups
            .get(&query.group)
            .into_iter()
            .flat_map(|streams| streams.values().flatten())
            .filter(|e| matches(query, e))
            .map(streamed)
            .collect();
        match mode {
            LiveMode::Stream { replay_ms } => {
                let newest = all.iter().map(|e| e.ingestion).max().unwrap_or(0);
                let recent: Vec<LogEvent> = all
                    .into_iter()
                    .filter(|e| e.ingestion > newest - replay_ms)
                    .collect();
                if replay_ms > 0 && !recent.is_empty() {
                    let _ = tx.send(LiveUpdate {
                        events: recent,
                        sampled: false,
                    });
                }
                state.sessions.push((query.clone(), tx));
            }
            _ => {
                let _ = tx.send(LiveUpdate {
                    events: all,
                    sampled: false,
                });
            }
        }
        Ok(Some(Box::new(FakeSession(rx))))
    }

    async fn filter(&self, query: &LogQuery) -> BackendResult<LogPage> {
        let mut state = self.lock();
        state.queries.push(query.clone());
        if let Some(error) = state.failures.pop_front() {
            return Err(error);
        }
        let page_size = query
            .limit
            .map_or(state.page_size, |l| (l as usize).min(state.page_size));
        let Some(streams) = state.groups.get(&query.group) else {
            return Err(BackendError::NotFound(
                "The specified log group does not exist.".into(),
            ));
        };
        if query.streams.iter().any(|s| !streams.contains_key(s)) {
            return Err(BackendError::NotFound(
                "The specified log stream does not exist.".into(),
            ));
        }
        let mut events: Vec<&LogEvent> = streams
            .iter()
            .filter(|(name, _)| {
                (query.streams.is_empty() || query.streams.contains(name))
                    && query
                        .stream_prefix
                        .as_ref()
                        .is_none_or(|p| name.starts_with(p.as_str()))
            })
            .flat_map(|(_, events)| events.iter())
            .filter(|e| {
                e.timestamp >= query.start && query.end.is_none_or(|end| e.timestamp <= end)
            })
            .filter(|e| {
                query
                    .filter_pattern
                    .as_ref()
                    .is_none_or(|p| e.message.contains(p.as_str()))
            })
            .collect();
        events.sort_by(|a, b| (a.timestamp, &a.event_id).cmp(&(b.timestamp, &b.event_id)));
        let skip: usize = query
            .next_token
            .as_ref()
            .map_or(0, |t| t.parse().unwrap_or(0));
        let page: Vec<LogEvent> = events
            .iter()
            .skip(skip)
            .take(page_size)
            .map(|e| (*e).clone())
            .collect();
        let next = skip + page.len();
        let more = next < events.len();
        state.returned += page.len();
        Ok(LogPage {
            next_token: more.then(|| next.to_string()),
            events: page,
        })
    }
}

/// Whether a session's request takes this event.
fn matches(query: &LiveQuery, event: &LogEvent) -> bool {
    query.group == event.group
        && (query.streams.is_empty() || query.streams.contains(&event.stream))
        && (query.stream_prefixes.is_empty()
            || query
                .stream_prefixes
                .iter()
                .any(|p| event.stream.starts_with(p.as_str())))
}

/// An event as Live Tail sends it: no id.
fn streamed(event: &LogEvent) -> LogEvent {
    LogEvent {
        event_id: String::new(),
        ..event.clone()
    }
}

struct FakeSession(mpsc::UnboundedReceiver<LiveUpdate>);

#[async_trait]
impl LiveSession for FakeSession {
    async fn next(&mut self) -> BackendResult<Option<LiveUpdate>> {
        Ok(self.0.recv().await)
    }
}
