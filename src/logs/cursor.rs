//! Where the next poll of one log group starts, and which events were already delivered.
//!
//! FilterLogEvents is asked for events from a start time on. Each poll restarts from the
//! newest timestamp seen (inclusive), so events that share that timestamp come back; the
//! cursor remembers the ids of the events it delivered from a floor on
//! ([`TailCursor::remembered_from`]) and drops them when they return. Every event is
//! therefore delivered exactly once, and events with identical timestamps across polls are
//! not lost.
//!
//! **Late events.** When several streams are merged, one stream's batch can arrive after a
//! newer event of another stream was seen (the `awslogs` driver sends every few seconds):
//! an event may land up to the look-back after its timestamp. The events of one stream
//! arrive in timestamp order, so a stream's next event is never older than the newest
//! one seen of it. The cursor splits the streams it follows in two:
//! - **flowing** streams logged within the look-back of the group's newest event. The
//!   group's poll restarts at the oldest of their newest timestamps: what is read again
//!   is only what shares those timestamps, not the whole look-back.
//! - **quiet** streams (not seen yet, or silent for longer than the look-back) may still
//!   send a batch older than that start. They are read by a **sweep**
//!   ([`TailCursor::quiet_streams`], [`TailCursor::sweep_start`]): a request naming only
//!   them, from the look-back before the last complete sweep on, made every few seconds
//!   by the tail engine. Quiet streams send little, so the sweep returns little; a quiet
//!   stream's event that is not late is read by the group's poll at once, and from then
//!   on the stream flows.
//!
//! So the events of a busy stream are downloaded about once, however many quiet tasks
//! share its group; the ids remembered cover both the poll's and the sweep's ranges, so
//! a start that moves back (a quiet stream flowing again) delivers nothing twice.
//!
//! The price, paid where one request must serve streams at different positions: a stream
//! that flows behind the others (a batching driver's, or a quiet one whose late batch the
//! sweep just found) holds the poll's start at its newest event while it is within the
//! look-back, and the other streams' events after that are read again on each poll until
//! it catches up or turns quiet. Streams written as they log (one event a call) cost
//! nothing of the kind.
//!
//! Without the exact stream names (a whole group, or streams read by their common prefix
//! because one does not exist yet) there is no sweep: the poll restarts a whole look-back
//! before the newest event while any stream followed is quiet, as it must.
//!
//! - **floor**: a group that stays quiet (or whose filter matches nothing) would be
//!   re-scanned from the same old start on every poll. After a complete poll that began
//!   at wall time `T`, the start never falls before `T - ingest_slack`.
//! - **never before what is remembered**: ids older than [`TailCursor::remembered_from`]
//!   are forgotten after each poll and no request starts before it. A stream that joins
//!   late is read before it by a separate catch-up (see the tail engine).
//!
//! **Following by Live Tail.** A Live Tail session brings each event once, as it is
//! ingested, without an id; a read by FilterLogEvents (the catch-up after a session
//! opens) may bring some of them too. The tail engine then names every event of the
//! group by its content (stream, ingestion time, message, and its rank among identical
//! ones) instead of its id, so both sources name it alike; [`TailCursor::admit_streamed`]
//! delivers a streamed event older than what is remembered (a late batch: no read can
//! bring it again), and [`TailCursor::hold_from`] keeps the ids of the last minute,
//! whatever the start, so that an event read by a catch-up and streamed a second later
//! is delivered once.
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
    /// Events older than this are neither asked for nor remembered.
    remembered_from: EpochMs,
    /// The streams followed, when known (`None`: every stream of the group).
    followed: Option<Vec<Box<str>>>,
    /// Newest timestamp per stream, of completed polls.
    stream_newest: HashMap<Box<str>, EpochMs>,
    /// Newest timestamp per stream in the poll under way.
    round_stream_newest: HashMap<Box<str>, EpochMs>,
    /// Where the next sweep of the quiet streams starts.
    sweep_from: EpochMs,
    delivered: BTreeSet<(EpochMs, Box<str>)>,
    /// Ids from this time on are kept whatever the start ([`TailCursor::hold_from`]).
    hold: Option<EpochMs>,
}

impl TailCursor {
    /// A cursor that reads from `window_start` (the backfill window) on, with a look-back
    /// of `lookback_ms` for streams that merge (see the module docs).
    pub fn new(window_start: EpochMs, lookback_ms: i64) -> Self {
        Self {
            window_start,
            lookback_ms: lookback_ms.max(0),
            newest: None,
            round_newest: None,
            floor: window_start,
            remembered_from: window_start,
            followed: None,
            stream_newest: HashMap::new(),
            round_stream_newest: HashMap::new(),
            sweep_from: window_start,
            delivered: BTreeSet::new(),
            hold: None,
        }
    }

    /// The exact streams followed (`None`: any stream of the group, e.g. a whole group).
    /// Knowing them lets the start follow the per-stream newest timestamps, and the quiet
    /// ones be swept.
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

    /// Whether quiet streams are read by a sweep: the streams are known by name and more
    /// than one merge.
    pub fn sweeps(&self) -> bool {
        self.lookback_ms > 0 && self.followed.is_some()
    }

    /// The start time (inclusive) of the group's next poll.
    pub fn start(&self) -> EpochMs {
        let from_newest = self.newest.map_or(self.window_start, |n| {
            let look_back = n - self.lookback_ms;
            if self.sweeps() {
                // Quiet streams are the sweep's: restart at the flowing streams' oldest
                // newest (at worst the look-back).
                self.flowing_oldest(n)
                    .map_or(n, |oldest| oldest.max(look_back))
            } else {
                self.oldest_stream_newest()
                    .map_or(look_back, |oldest| look_back.max(oldest))
            }
        });
        self.window_start
            .max(self.floor)
            .max(self.remembered_from)
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

    /// The oldest newest timestamp of the streams that logged within the look-back of
    /// `newest` (the group's).
    fn flowing_oldest(&self, newest: EpochMs) -> Option<EpochMs> {
        let followed = self.followed.as_ref()?;
        followed
            .iter()
            .filter_map(|s| self.stream_newest.get(s).copied())
            .filter(|n| *n >= newest - self.lookback_ms)
            .min()
    }

    /// The followed streams the next sweep reads: not seen yet, or silent for longer than
    /// the look-back. Empty when there is no sweep (see [`TailCursor::sweeps`]) or
    /// nothing was seen yet (the poll then reads every stream from the same start).
    pub fn quiet_streams(&self) -> Vec<String> {
        let (Some(newest), Some(followed), true) = (self.newest, &self.followed, self.sweeps())
        else {
            return Vec::new();
        };
        followed
            .iter()
            .filter(|s| {
                self.stream_newest
                    .get(*s)
                    .is_none_or(|n| *n < newest - self.lookback_ms)
            })
            .map(ToString::to_string)
            .collect()
    }

    /// The start time (inclusive) of the next sweep: the look-back before the last
    /// complete sweep (or poll that read every stream from one start).
    pub fn sweep_start(&self) -> EpochMs {
        self.sweep_from
            .max(self.remembered_from)
            .max(self.window_start)
    }

    /// Makes the next sweep start no later than `at` (a stream joining: its events from
    /// `at` on are the polls' and the sweeps', those before it its catch-up's).
    pub fn sweep_no_later_than(&mut self, at: EpochMs) {
        self.sweep_from = self.sweep_from.min(at).max(self.remembered_from);
    }

    /// The start of the backfill window: nothing older is delivered.
    pub fn window_start(&self) -> EpochMs {
        self.window_start
    }

    /// The newest timestamp of a completed poll.
    pub fn newest(&self) -> Option<EpochMs> {
        self.newest
    }

    /// How many delivered event ids are remembered.
    pub fn remembered(&self) -> usize {
        self.delivered.len()
    }

    /// The oldest timestamp whose events are remembered: no request starts before it.
    pub fn remembered_from(&self) -> EpochMs {
        self.remembered_from
    }

    /// Keeps the events of one page that were not delivered before, in page order, and
    /// remembers them as delivered. Events older than [`TailCursor::remembered_from`] are
    /// dropped too: they lie outside what the cursor can vouch for.
    pub fn admit(&mut self, events: Vec<LogEvent>) -> Vec<LogEvent> {
        let mut fresh = Vec::with_capacity(events.len());
        for event in events {
            if event.timestamp < self.remembered_from {
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

    /// [`TailCursor::admit`] for events a Live Tail session streamed: an event older
    /// than [`TailCursor::remembered_from`] was ingested late, after every read that
    /// could have brought it, and is delivered (not remembered).
    pub fn admit_streamed(&mut self, events: Vec<LogEvent>) -> Vec<LogEvent> {
        let (old, recent): (Vec<LogEvent>, Vec<LogEvent>) = events
            .into_iter()
            .partition(|e| e.timestamp < self.remembered_from);
        let mut fresh = old;
        fresh.extend(self.admit(recent));
        fresh
    }

    /// Keeps the ids of events from `at` on when the next polls complete, however far
    /// the start moves (following by Live Tail: a streamed event may arrive after a read
    /// brought it).
    pub fn hold_from(&mut self, at: EpochMs) {
        self.hold = Some(at);
    }

    /// Ends a poll that read every page of every request of the group, begun at wall
    /// time `began_at`: moves the start forward and forgets ids that no later request
    /// can return. `covered_quiet` says the poll read the quiet streams too (a sweep ran,
    /// or there were none): late events from then on are newer than
    /// `began_at - look-back`, where the next sweep starts.
    ///
    /// A poll that failed part-way is simply not completed: the start stays where it was,
    /// the next poll reads the same range again, and the remembered ids keep what was
    /// already delivered from being delivered twice.
    pub fn complete_round(&mut self, began_at: EpochMs, ingest_slack_ms: i64, covered_quiet: bool) {
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
        if covered_quiet {
            self.sweep_from = self.sweep_from.max(began_at - self.lookback_ms);
        }
        self.floor = self.floor.max(began_at - ingest_slack_ms.max(0));
        let keep_from = match (self.sweeps(), self.newest) {
            // A start may move back to the look-back before the newest event (a quiet
            // stream flowing again), and the sweep reads from its own start.
            (true, Some(n)) => (n - self.lookback_ms)
                .min(self.sweep_from)
                .max(self.floor.min(self.sweep_from)),
            _ => self.start(),
        };
        let keep_from = self.hold.map_or(keep_from, |hold| keep_from.min(hold));
        self.remembered_from = self.remembered_from.max(keep_from);
        self.prune();
    }

    fn prune(&mut self) {
        self.delivered = self
            .delivered
            .split_off(&(self.remembered_from, Box::from("")));
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
        c.complete_round(0, 0, true);
        assert_eq!(c.start(), 2_000);
        assert_eq!(c.remembered(), 1);
    }

    #[test]
    fn identical_timestamps_across_polls_are_each_delivered_once_in_order() {
        let mut c = TailCursor::new(0, 0);
        assert_eq!(ids(&c.admit(vec![ev(5, "1"), ev(5, "2")])), ["1", "2"]);
        c.complete_round(0, 0, true);
        // Between polls two more events with the same timestamp were written.
        let again = c.admit(vec![ev(5, "1"), ev(5, "2"), ev(5, "3"), ev(5, "4")]);
        assert_eq!(ids(&again), ["3", "4"]);
        c.complete_round(0, 0, true);
        let later = c.admit(vec![
            ev(5, "1"),
            ev(5, "2"),
            ev(5, "3"),
            ev(5, "4"),
            ev(6, "5"),
        ]);
        assert_eq!(ids(&later), ["5"]);
        c.complete_round(0, 0, true);
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
        c.complete_round(0, 0, true);
        c.admit(vec![]);
        c.complete_round(0, 0, true);
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
        c.complete_round(0, 0, true);
        assert_eq!(c.start(), 90);
        let got = c.admit(vec![
            ev(90, "a1"),
            ev(95, "a2"),
            ev(100, "b1"),
            ev(101, "b2"),
        ]);
        assert_eq!(ids(&got), ["a2", "b2"]);
        c.complete_round(0, 0, true);
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
        c.complete_round(0, 0, true);
        // Both streams seen: restart at a's newest, not 10 s before b's.
        assert_eq!(c.start(), 50_000);
        // b's late batch cannot be older than b's newest; a's next either.
        let got = c.admit(vec![on("a", 50_000, "a1"), on("a", 50_200, "a2")]);
        assert_eq!(ids(&got), ["a2"]);
        c.complete_round(0, 0, true);
        assert_eq!(c.start(), 50_100);
    }

    #[test]
    fn a_stream_not_seen_yet_is_swept_not_looked_back_for() {
        let mut c = TailCursor::new(0, 10_000);
        c.follow_streams(Some(&names(&["a", "b"])));
        c.admit(vec![on("a", 50_000, "a1")]);
        c.complete_round(52_000, 60_000, true);
        // a flows: the poll restarts at its newest; b is the sweep's, from the look-back
        // before the poll that read both.
        assert_eq!(c.start(), 50_000);
        assert_eq!(c.quiet_streams(), ["b"]);
        assert_eq!(c.sweep_start(), 42_000);
        // The sweep finds b's late batch: every id it holds is delivered once.
        let swept = c.admit(vec![on("b", 45_000, "b1")]);
        assert_eq!(ids(&swept), ["b1"]);
        let polled = c.admit(vec![on("a", 50_000, "a1"), on("a", 70_000, "a2")]);
        assert_eq!(ids(&polled), ["a2"]);
        c.complete_round(71_000, 60_000, true);
        // b logged 25 s before a's newest: still quiet, still swept; a alone sets the start.
        assert_eq!(c.start(), 70_000);
        assert_eq!(c.quiet_streams(), ["b"]);
        assert_eq!(c.sweep_start(), 61_000);
        // Nothing the sweep may read again is forgotten.
        assert!(c.remembered_from() <= c.sweep_start());
        assert!(c.admit(vec![on("a", 70_000, "a2")]).is_empty());
    }

    #[test]
    fn a_quiet_stream_that_flows_again_moves_the_start_back_without_doubles() {
        let mut c = TailCursor::new(0, 10_000);
        c.follow_streams(Some(&names(&["a", "b"])));
        c.admit(vec![on("b", 10_000, "b0"), on("a", 50_000, "a1")]);
        c.complete_round(50_500, 60_000, true);
        assert_eq!(c.quiet_streams(), ["b"]);
        c.admit(vec![on("a", 51_000, "a2"), on("a", 52_000, "a3")]);
        c.complete_round(52_500, 60_000, false);
        assert_eq!(c.start(), 52_000);
        // b's batch from 50.8 s lands late; the sweep reads it, and b flows again.
        assert_eq!(ids(&c.admit(vec![on("b", 50_800, "b1")])), ["b1"]);
        c.complete_round(53_000, 60_000, true);
        assert_eq!(c.quiet_streams(), Vec::<String>::new());
        assert_eq!(c.start(), 50_800);
        // The poll reads a's events after 50.8 s again: none is delivered twice.
        let again = c.admit(vec![
            on("b", 50_800, "b1"),
            on("a", 51_000, "a2"),
            on("a", 52_000, "a3"),
            on("a", 53_000, "a4"),
        ]);
        assert_eq!(ids(&again), ["a4"]);
    }

    #[test]
    fn the_start_never_moves_back_when_a_stream_joins() {
        let mut c = TailCursor::new(0, 10_000);
        c.follow_streams(Some(&names(&["a"])));
        c.admit(vec![on("a", 50_000, "a1"), on("a", 55_000, "a2")]);
        c.complete_round(0, 0, true);
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
        c.complete_round(1_000, 0, true);
        assert_eq!(c.start(), 1_000);
        c.complete_round(500, 0, true);
        assert_eq!(c.start(), 1_000, "the floor never moves back");
        c.complete_round(70_000, 60_000, true);
        assert_eq!(c.start(), 10_000);
    }

    #[test]
    fn held_ids_outlive_the_start_and_late_streamed_events_pass() {
        let mut c = TailCursor::new(0, 0);
        c.hold_from(1_000);
        c.admit(vec![ev(1_500, "a"), ev(2_000, "b")]);
        c.complete_round(3_000, 0, true);
        assert_eq!(c.start(), 3_000);
        assert_eq!(c.remembered_from(), 1_000);
        // Streamed a moment after the read brought them: nothing twice.
        assert!(
            c.admit_streamed(vec![ev(1_500, "a"), ev(2_000, "b")])
                .is_empty()
        );
        // Older than anything remembered: a late batch, delivered.
        assert_eq!(ids(&c.admit_streamed(vec![ev(900, "late")])), ["late"]);
    }

    #[test]
    fn an_abandoned_round_rereads_the_same_range() {
        let mut c = TailCursor::new(0, 0);
        c.admit(vec![ev(10, "a")]);
        c.complete_round(0, 0, true);
        // Chunk 1 of the group answered, chunk 2 failed.
        assert_eq!(ids(&c.admit(vec![ev(20, "b")])), ["b"]);
        // (a failed poll is not completed)
        assert_eq!(c.start(), 10);
        // The retry returns both chunks; b is not delivered again, c (t=15) is not lost.
        let got = c.admit(vec![ev(10, "a"), ev(15, "c"), ev(20, "b")]);
        assert_eq!(ids(&got), ["c"]);
        c.complete_round(0, 0, true);
        assert_eq!(c.start(), 20);
    }
}
