//! Where the next poll of one log group starts, and which events were already delivered.
//!
//! FilterLogEvents is asked for events from a start time on. Each poll restarts from the
//! newest timestamp seen (inclusive), so events that share that timestamp come back; the
//! cursor remembers the ids of the events it delivered at and after the next start and
//! drops them when they return. Every event is therefore delivered exactly once, and
//! events with identical timestamps across polls are not lost.
//!
//! Refinements:
//! - **look-back**: when several streams are merged, one stream's batch can arrive after
//!   a newer event of another stream was seen (the `awslogs` driver sends every few
//!   seconds). A look-back restarts the poll that much before the newest timestamp; the
//!   remembered ids cover the whole overlap, so nothing is delivered twice.
//! - **per-stream newest**: the events of one stream arrive in timestamp order, so a
//!   stream's next event is never older than the newest one seen of it. When the cursor
//!   knows every stream it follows ([`TailCursor::follow_streams`]) and has seen each of
//!   them, the poll restarts at the oldest of those per-stream newest timestamps when
//!   that is later than the look-back: streams that flow are not re-downloaded for the
//!   whole look-back on every poll. A stream not seen yet keeps the full look-back.
//! - **floor**: a group that stays quiet (or whose filter matches nothing) would be
//!   re-scanned from the same old start on every poll. After a complete poll that began
//!   at wall time `T`, the start never falls before `T - ingest_slack`.
//! - **never backwards**: the ids before the start are forgotten after each poll, so the
//!   start never moves back (a stream joining, or a longer look-back, would otherwise
//!   re-read events whose ids are gone and deliver them twice). A stream that joins
//!   late is read before the start by a separate catch-up (see the tail engine).
//!
//! Pure logic, no I/O: the tail engine drives it and the tests exercise it directly.

use std::collections::{BTreeSet, HashMap};

use crate::clock::EpochMs;
use crate::model::logs::LogEvent;

/// The read position of one log group.
#[derive(Debug, Clone)]
pub struct TailCursor {
    window_start: EpochMs,
    lookback_ms: i64,
    newest: Option<EpochMs>,
    round_newest: Option<EpochMs>,
    floor: EpochMs,
    /// The start of the last completed poll: never go back before it.
    horizon: EpochMs,
    /// The streams followed, when known (`None`: every stream of the group).
    followed: Option<Vec<Box<str>>>,
    /// Newest timestamp per stream, of completed polls.
    stream_newest: HashMap<Box<str>, EpochMs>,
    /// Newest timestamp per stream in the poll under way.
    round_stream_newest: HashMap<Box<str>, EpochMs>,
    delivered: BTreeSet<(EpochMs, Box<str>)>,
}

impl TailCursor {
    /// A cursor that reads from `window_start` (the backfill window) on, restarting each
    /// poll `lookback_ms` before the newest timestamp seen.
    pub fn new(window_start: EpochMs, lookback_ms: i64) -> Self {
        Self {
            window_start,
            lookback_ms: lookback_ms.max(0),
            newest: None,
            round_newest: None,
            floor: window_start,
            horizon: window_start,
            followed: None,
            stream_newest: HashMap::new(),
            round_stream_newest: HashMap::new(),
            delivered: BTreeSet::new(),
        }
    }

    /// The exact streams followed (`None`: any stream of the group, e.g. a whole group).
    /// Knowing them lets the start follow the per-stream newest timestamps.
    pub fn follow_streams(&mut self, streams: Option<&[String]>) {
        self.followed = streams.map(|names| names.iter().map(|n| Box::from(n.as_str())).collect());
        if let Some(followed) = &self.followed {
            self.stream_newest
                .retain(|stream, _| followed.contains(stream));
        }
    }

    /// Changes the look-back (e.g. when a second stream joins the group).
    pub fn set_lookback(&mut self, lookback_ms: i64) {
        self.lookback_ms = lookback_ms.max(0);
    }

    /// The start time (inclusive) of the next poll.
    pub fn start(&self) -> EpochMs {
        let from_newest = self.newest.map_or(self.window_start, |n| {
            let look_back = n - self.lookback_ms;
            self.oldest_stream_newest()
                .map_or(look_back, |oldest| look_back.max(oldest))
        });
        self.window_start
            .max(self.floor)
            .max(self.horizon)
            .max(from_newest)
    }

    /// The oldest of the followed streams' newest timestamps, when every followed
    /// stream has been seen.
    fn oldest_stream_newest(&self) -> Option<EpochMs> {
        let followed = self.followed.as_ref()?;
        let mut oldest: Option<EpochMs> = None;
        for stream in followed {
            let newest = *self.stream_newest.get(stream)?;
            oldest = Some(oldest.map_or(newest, |o| o.min(newest)));
        }
        oldest
    }

    /// The newest timestamp of a completed poll.
    pub fn newest(&self) -> Option<EpochMs> {
        self.newest
    }

    /// How many delivered event ids are remembered.
    pub fn remembered(&self) -> usize {
        self.delivered.len()
    }

    /// Keeps the events of one page that were not delivered before, in page order, and
    /// remembers them as delivered. Events older than [`TailCursor::start`] are dropped
    /// too: they lie outside what the cursor can vouch for.
    pub fn admit(&mut self, events: Vec<LogEvent>) -> Vec<LogEvent> {
        let start = self.start();
        let mut fresh = Vec::with_capacity(events.len());
        for event in events {
            if event.timestamp < start {
                continue;
            }
            let newest = self
                .round_stream_newest
                .entry(Box::from(event.stream.as_str()))
                .or_insert(event.timestamp);
            *newest = (*newest).max(event.timestamp);
            let key = (event.timestamp, Box::<str>::from(event.event_id.as_str()));
            if self.delivered.insert(key) {
                self.round_newest = Some(
                    self.round_newest
                        .map_or(event.timestamp, |n| n.max(event.timestamp)),
                );
                fresh.push(event);
            }
        }
        fresh
    }

    /// Ends a poll that read every page of every request of the group, begun at wall
    /// time `began_at`: moves the start forward and forgets ids that the next poll
    /// cannot return.
    ///
    /// A poll that failed part-way is simply not completed: the start stays where it was,
    /// the next poll reads the same range again, and the remembered ids keep what was
    /// already delivered from being delivered twice.
    pub fn complete_round(&mut self, began_at: EpochMs, ingest_slack_ms: i64) {
        if let Some(n) = self.round_newest.take() {
            self.newest = Some(self.newest.map_or(n, |old| old.max(n)));
        }
        for (stream, n) in self.round_stream_newest.drain() {
            let followed = self.followed.as_ref().is_none_or(|f| f.contains(&stream));
            if followed {
                let newest = self.stream_newest.entry(stream).or_insert(n);
                *newest = (*newest).max(n);
            }
        }
        self.floor = self.floor.max(began_at - ingest_slack_ms.max(0));
        self.horizon = self.start();
        self.prune();
    }

    fn prune(&mut self) {
        let start = self.start();
        self.delivered = self.delivered.split_off(&(start, Box::from("")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ts: i64, id: &str) -> LogEvent {
        LogEvent {
            timestamp: ts,
            event_id: id.into(),
            message: format!("m{id}"),
            ..LogEvent::default()
        }
    }

    fn ids(events: &[LogEvent]) -> Vec<&str> {
        events.iter().map(|e| e.event_id.as_str()).collect()
    }

    #[test]
    fn restarts_from_the_newest_timestamp_inclusive() {
        let mut c = TailCursor::new(1_000, 0);
        assert_eq!(c.start(), 1_000);
        let got = c.admit(vec![ev(1_000, "a"), ev(1_500, "b"), ev(2_000, "c")]);
        assert_eq!(ids(&got), ["a", "b", "c"]);
        c.complete_round(0, 0);
        assert_eq!(c.start(), 2_000);
        assert_eq!(c.remembered(), 1);
    }

    #[test]
    fn identical_timestamps_across_polls_are_each_delivered_once_in_order() {
        let mut c = TailCursor::new(0, 0);
        assert_eq!(ids(&c.admit(vec![ev(5, "1"), ev(5, "2")])), ["1", "2"]);
        c.complete_round(0, 0);
        // Between polls two more events with the same timestamp were written.
        let again = c.admit(vec![ev(5, "1"), ev(5, "2"), ev(5, "3"), ev(5, "4")]);
        assert_eq!(ids(&again), ["3", "4"]);
        c.complete_round(0, 0);
        let later = c.admit(vec![
            ev(5, "1"),
            ev(5, "2"),
            ev(5, "3"),
            ev(5, "4"),
            ev(6, "5"),
        ]);
        assert_eq!(ids(&later), ["5"]);
        c.complete_round(0, 0);
        assert_eq!(c.start(), 6);
        assert_eq!(c.remembered(), 1);
    }

    #[test]
    fn the_same_event_twice_in_one_poll_is_delivered_once() {
        let mut c = TailCursor::new(0, 0);
        assert_eq!(ids(&c.admit(vec![ev(1, "x"), ev(1, "x")])), ["x"]);
    }

    #[test]
    fn an_empty_poll_keeps_the_start() {
        let mut c = TailCursor::new(100, 0);
        c.admit(vec![ev(150, "a")]);
        c.complete_round(0, 0);
        c.admit(vec![]);
        c.complete_round(0, 0);
        assert_eq!(c.start(), 150);
    }

    #[test]
    fn events_before_the_start_are_dropped() {
        let mut c = TailCursor::new(100, 0);
        assert!(c.admit(vec![ev(99, "old")]).is_empty());
    }

    #[test]
    fn look_back_catches_a_late_stream_without_duplicates() {
        let mut c = TailCursor::new(0, 10);
        // Stream B sent up to t=100; stream A's batch for t=95 is not ingested yet.
        assert_eq!(
            ids(&c.admit(vec![ev(90, "a1"), ev(100, "b1")])),
            ["a1", "b1"]
        );
        c.complete_round(0, 0);
        assert_eq!(c.start(), 90);
        let got = c.admit(vec![
            ev(90, "a1"),
            ev(95, "a2"),
            ev(100, "b1"),
            ev(101, "b2"),
        ]);
        assert_eq!(ids(&got), ["a2", "b2"]);
        c.complete_round(0, 0);
        assert_eq!(c.start(), 91);
        // Everything at or after the next start is still remembered.
        assert_eq!(c.remembered(), 3);
    }

    fn on(stream: &str, ts: i64, id: &str) -> LogEvent {
        LogEvent {
            stream: stream.into(),
            ..ev(ts, id)
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn streams_that_flow_restart_at_the_oldest_of_their_newest() {
        let mut c = TailCursor::new(0, 10_000);
        c.follow_streams(Some(&names(&["a", "b"])));
        c.admit(vec![on("a", 50_000, "a1"), on("b", 50_100, "b1")]);
        c.complete_round(0, 0);
        // Both streams seen: restart at a's newest, not 10 s before b's.
        assert_eq!(c.start(), 50_000);
        // b's late batch cannot be older than b's newest; a's next either.
        let got = c.admit(vec![on("a", 50_000, "a1"), on("a", 50_200, "a2")]);
        assert_eq!(ids(&got), ["a2"]);
        c.complete_round(0, 0);
        assert_eq!(c.start(), 50_100);
    }

    #[test]
    fn a_stream_not_seen_yet_keeps_the_whole_look_back() {
        let mut c = TailCursor::new(0, 10_000);
        c.follow_streams(Some(&names(&["a", "b"])));
        c.admit(vec![on("a", 50_000, "a1")]);
        c.complete_round(0, 0);
        assert_eq!(c.start(), 40_000);
        // A stream gone quiet for longer than the look-back no longer holds it back.
        c.admit(vec![on("b", 45_000, "b1"), on("a", 70_000, "a2")]);
        c.complete_round(0, 0);
        assert_eq!(c.start(), 60_000);
    }

    #[test]
    fn the_start_never_moves_back_when_a_stream_joins() {
        let mut c = TailCursor::new(0, 10_000);
        c.follow_streams(Some(&names(&["a"])));
        c.admit(vec![on("a", 50_000, "a1"), on("a", 55_000, "a2")]);
        c.complete_round(0, 0);
        assert_eq!(c.start(), 55_000);
        // b joins: without a newest of b the look-back would restart at 45 s and
        // deliver a1 again (its id is forgotten); the start stays.
        c.follow_streams(Some(&names(&["a", "b"])));
        assert_eq!(c.start(), 55_000);
        let got = c.admit(vec![on("a", 50_000, "a1"), on("a", 55_000, "a2")]);
        assert!(got.is_empty());
    }

    #[test]
    fn a_quiet_group_is_not_rescanned_from_long_ago() {
        let mut c = TailCursor::new(0, 0);
        c.admit(vec![ev(10, "a")]);
        c.complete_round(1_000, 0);
        assert_eq!(c.start(), 1_000);
        c.complete_round(500, 0);
        assert_eq!(c.start(), 1_000, "the floor never moves back");
        c.complete_round(70_000, 60_000);
        assert_eq!(c.start(), 10_000);
    }

    #[test]
    fn an_abandoned_round_rereads_the_same_range() {
        let mut c = TailCursor::new(0, 0);
        c.admit(vec![ev(10, "a")]);
        c.complete_round(0, 0);
        // Chunk 1 of the group answered, chunk 2 failed.
        assert_eq!(ids(&c.admit(vec![ev(20, "b")])), ["b"]);
        // (a failed poll is not completed)
        assert_eq!(c.start(), 10);
        // The retry returns both chunks; b is not delivered again, c (t=15) is not lost.
        let got = c.admit(vec![ev(10, "a"), ev(15, "c"), ev(20, "b")]);
        assert_eq!(ids(&got), ["c"]);
        c.complete_round(0, 0);
        assert_eq!(c.start(), 20);
    }
}
