//! An in-memory CloudWatch Logs for the tail engine's tests: it answers FilterLogEvents
//! as AWS does (interleaved pages, next tokens, a missing named stream is an error) and
//! can be told to throttle or fail. Test-only; it must not grow into a demo world.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::backend::{BackendError, BackendResult, LogsApi};
use crate::model::logs::{LogEvent, LogPage, LogQuery};

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
        state
            .groups
            .entry(group.into())
            .or_default()
            .entry(stream.into())
            .or_default()
            .push(LogEvent {
                timestamp,
                ingestion: timestamp,
                event_id: id,
                group: group.into(),
                stream: stream.into(),
                message: message.into(),
            });
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
