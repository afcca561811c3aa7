//! Time as an injected dependency.
//!
//! Everything that needs "now" (pollers, gates, the demo world, ages on screen) asks a
//! [`Clock`], so tests can pin time and advance it by hand. Times are milliseconds since
//! the Unix epoch ([`EpochMs`]); this module does no I/O besides reading the system clock.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch.
pub type EpochMs = i64;

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time in milliseconds since the Unix epoch.
    fn now_ms(&self) -> EpochMs;
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> EpochMs {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as EpochMs)
    }
}

/// A clock that only moves when told to: for tests and for rendering snapshots.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: EpochMs) -> Self {
        Self {
            now: AtomicI64::new(start),
        }
    }

    /// Moves the clock forward by `ms` milliseconds.
    pub fn advance(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: EpochMs) {
        self.now.store(at, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> EpochMs {
        self.now.load(Ordering::SeqCst)
    }
}

/// Formats a duration in milliseconds briefly: `42s`, `3m`, `5h`, `2d` (a setting, a
/// window, how long something took). For an age that grows as the clock moves, use
/// [`short_age`].
pub fn short_duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86_400)
    }
}

/// Formats an age (how long ago something happened, at the time being drawn) like
/// [`short_duration`], and notes when the text will next change ([`watch_changes`]).
pub fn short_age(ms: i64) -> String {
    note_change_in(until_next_step(ms, age_step(ms)));
    short_duration(ms)
}

/// Like [`short_age`], but ten seconds at a time from 10 s to a minute: `7s`, `40s`, `3m`.
///
/// For ages that stay on screen while they grow (how long a problem has lasted, how old a
/// stalled head is): the exact second tells an operator nothing there, and an age that
/// changes every second redraws the screen every second on an otherwise still console.
pub fn coarse_age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if (10..60).contains(&s) {
        note_change_in(until_next_step(ms, 10_000));
        format!("{}s", s / 10 * 10)
    } else {
        short_age(ms)
    }
}

/// The unit [`short_duration`] shows `ms` in.
fn age_step(ms: i64) -> i64 {
    match ms.max(0) / 1000 {
        0..60 => 1000,
        60..3600 => 60_000,
        3600..86_400 => 3_600_000,
        _ => 86_400_000,
    }
}

/// Milliseconds until an age of `ms`, shown in whole `step`s, shows the next step.
fn until_next_step(ms: i64, step: i64) -> i64 {
    let shown = ms.max(0) / step * step;
    shown + step - ms
}

thread_local! {
    /// While [`watch_changes`] runs: the soonest change noted, in ms from the time drawn.
    static NEXT_CHANGE: Cell<Option<i64>> = const { Cell::new(None) };
}

/// Notes, for the frame being drawn, that something on it changes in `ms` milliseconds
/// with nothing but the clock moving (an age ticks over, a head turns stale). Does
/// nothing outside [`watch_changes`].
pub fn note_change_in(ms: i64) {
    NEXT_CHANGE.with(|next| {
        if let Some(soonest) = next.get() {
            next.set(Some(soonest.min(ms.max(1))));
        }
    });
}

/// Whether a [`watch_changes`] is running: work done only to tell when something changes
/// can be skipped outside one.
pub fn watching_changes() -> bool {
    NEXT_CHANGE.with(|next| next.get().is_some())
}

/// Runs `draw` and returns with its result how soon (ms from the time drawn) what it drew
/// changes as the clock moves: `None` when it does not. Everything drawn that depends on
/// the time says so through [`note_change_in`] (the age formatters do it themselves), so
/// the event loop can skip the frames that would come out the same.
pub fn watch_changes<R>(draw: impl FnOnce() -> R) -> (R, Option<i64>) {
    let outer = NEXT_CHANGE.with(|next| next.replace(Some(i64::MAX)));
    let result = draw();
    let soonest = NEXT_CHANGE
        .with(|next| next.replace(outer))
        .filter(|ms| *ms < i64::MAX);
    if let Some(ms) = soonest {
        note_change_in(ms);
    }
    (result, soonest)
}

/// The time zone times are shown in (`timezone` in the config): UTC, the host's local
/// zone, or an IANA zone such as `Asia/Tokyo`. Machine output (JSON, the audit log,
/// saved logs) stays in UTC whatever the zone; people read times in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    tz: Option<jiff::tz::TimeZone>,
    name: String,
}

impl Default for Zone {
    fn default() -> Self {
        Self::utc()
    }
}

impl Zone {
    /// UTC.
    pub fn utc() -> Self {
        Self {
            tz: None,
            name: "UTC".into(),
        }
    }

    /// The zone a config names: `UTC`, `local` (the host's zone: `TZ`, else
    /// `/etc/localtime`) or an IANA name. The error says what was not understood.
    pub fn named(name: &str) -> Result<Self, String> {
        let trimmed = name.trim();
        if trimmed.eq_ignore_ascii_case("utc") || trimmed.eq_ignore_ascii_case("z") {
            return Ok(Self::utc());
        }
        if trimmed.eq_ignore_ascii_case("local") {
            let tz = jiff::tz::TimeZone::try_system().map_err(|e| {
                format!("the host's local time zone could not be read ({e}); name one, e.g. \"Asia/Tokyo\"")
            })?;
            let name = tz.iana_name().unwrap_or("local").to_string();
            return Ok(Self::from_tz(tz, name));
        }
        let tz = jiff::tz::TimeZone::get(trimmed).map_err(|_| {
            format!(
                "unknown time zone `{trimmed}`: use \"UTC\", \"local\" or an IANA name such as \"Asia/Tokyo\""
            )
        })?;
        Ok(Self::from_tz(tz, trimmed.to_string()))
    }

    fn from_tz(tz: jiff::tz::TimeZone, name: String) -> Self {
        if tz == jiff::tz::TimeZone::UTC || name == "Etc/UTC" || name == "UTC" {
            return Self::utc();
        }
        Self { tz: Some(tz), name }
    }

    /// The zone's name: `UTC`, or the IANA name (`Asia/Tokyo`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether times are shown in UTC.
    pub fn is_utc(&self) -> bool {
        self.tz.is_none()
    }

    /// The offset from UTC at `at`, in seconds.
    fn offset_secs(&self, at: EpochMs) -> i64 {
        let Some(tz) = &self.tz else {
            return 0;
        };
        jiff::Timestamp::from_millisecond(at).map_or(0, |ts| i64::from(tz.to_offset(ts).seconds()))
    }

    /// The zone's abbreviation at `at` as people write it (`JST`, `UTC`, `CET`), else
    /// its offset (`+09:00`).
    pub fn label(&self, at: EpochMs) -> String {
        let Some(tz) = &self.tz else {
            return "UTC".into();
        };
        let Ok(ts) = jiff::Timestamp::from_millisecond(at) else {
            return "UTC".into();
        };
        let info = tz.to_offset_info(ts);
        let abbr = info.abbreviation();
        if abbr.chars().all(|c| c.is_ascii_alphabetic()) && !abbr.is_empty() {
            abbr.to_string()
        } else {
            offset_text(i64::from(info.offset().seconds()))
        }
    }

    /// `HH:MM:SS` in this zone.
    pub fn hms(&self, at: EpochMs) -> String {
        split(at, self.offset_secs(at)).1
    }

    /// `HH:MM:SS.mmm` in this zone.
    pub fn hms_ms(&self, at: EpochMs) -> String {
        let (_, hms, ms) = split(at, self.offset_secs(at));
        format!("{hms}.{ms:03}")
    }

    /// `YYYY-MM-DD HH:MM:SS` in this zone.
    pub fn date_time(&self, at: EpochMs) -> String {
        let (date, hms, _) = split(at, self.offset_secs(at));
        format!("{date} {hms}")
    }

    /// RFC 3339 with milliseconds in this zone: `…Z` in UTC, else with the offset
    /// (`2026-12-02T17:11:34.603+09:00`).
    pub fn iso(&self, at: EpochMs) -> String {
        let offset = self.offset_secs(at);
        if self.is_utc() {
            return iso_utc(at);
        }
        let (date, hms, ms) = split(at, offset);
        format!("{date}T{hms}.{ms:03}{}", offset_text(offset))
    }
}

/// The epoch time of an RFC 3339 timestamp (`2026-11-18T11:06:40.123Z`, or with an
/// offset); `None` when it is not one.
pub fn parse_iso(text: &str) -> Option<EpochMs> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_millisecond)
}

/// `+09:00`, `-03:30`.
fn offset_text(secs: i64) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let m = secs.abs() / 60;
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

/// Formats an epoch time as UTC `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn iso_utc(at: EpochMs) -> String {
    let (date, hms, ms) = split_utc(at);
    format!("{date}T{hms}.{ms:03}Z")
}

/// Formats an epoch time as UTC `HH:MM:SS`.
pub fn hms_utc(at: EpochMs) -> String {
    split_utc(at).1
}

fn split_utc(at: EpochMs) -> (String, String, i64) {
    split(at, 0)
}

/// The date, time of day and milliseconds of `at` shifted by `offset` seconds.
fn split(at: EpochMs, offset: i64) -> (String, String, i64) {
    let ms = at.rem_euclid(1000);
    let secs = at.div_euclid(1000) + offset;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, (rem / 60) % 60, rem % 60),
        ms,
    )
}

/// Converts days since 1970-01-01 to a (year, month, day) civil date.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_utc(1_795_000_000_123), "2026-11-18T11:06:40.123Z");
        assert_eq!(hms_utc(1_795_000_000_123), "11:06:40");
    }

    #[test]
    fn zones_format_local_times_and_name_themselves() {
        let at = 1_795_000_000_123; // 2026-11-18T11:06:40.123Z
        let tokyo = Zone::named("Asia/Tokyo").unwrap();
        assert_eq!(tokyo.hms(at), "20:06:40");
        assert_eq!(tokyo.hms_ms(at), "20:06:40.123");
        assert_eq!(tokyo.date_time(at), "2026-11-18 20:06:40");
        assert_eq!(tokyo.iso(at), "2026-11-18T20:06:40.123+09:00");
        assert_eq!(tokyo.label(at), "JST");
        assert_eq!(tokyo.name(), "Asia/Tokyo");
        let utc = Zone::named("utc").unwrap();
        assert!(utc.is_utc());
        assert_eq!(utc.iso(at), "2026-11-18T11:06:40.123Z");
        assert_eq!(utc.label(at), "UTC");
        assert_eq!(Zone::default(), utc);
        let kolkata = Zone::named("Asia/Kolkata").unwrap();
        assert_eq!(kolkata.hms(at), "16:36:40");
        assert!(
            Zone::named("Mars/Olympus")
                .unwrap_err()
                .contains("unknown time zone")
        );
        assert!(Zone::named("local").is_ok());
        assert_eq!(parse_iso("2026-11-18T11:06:40.123Z"), Some(at));
        assert_eq!(parse_iso("2026-11-18T20:06:40.123+09:00"), Some(at));
        assert_eq!(parse_iso("yesterday"), None);
    }

    #[test]
    fn short_ages() {
        assert_eq!(short_age(999), "0s");
        assert_eq!(short_age(61_000), "1m");
        assert_eq!(short_age(7_200_000), "2h");
        assert_eq!(short_age(-5), "0s");
    }

    #[test]
    fn drawn_ages_tell_when_their_text_changes() {
        let ((), next) = watch_changes(|| {
            short_age(1_500);
        });
        assert_eq!(next, Some(500));
        assert_eq!(watch_changes(|| coarse_age(12_000)).1, Some(8_000));
        assert_eq!(watch_changes(|| coarse_age(9_999)).1, Some(1));
        assert_eq!(watch_changes(|| coarse_age(61_000)).1, Some(59_000));
        assert_eq!(watch_changes(|| short_age(7_200_000)).1, Some(3_600_000));
        assert_eq!(watch_changes(|| short_age(-5)).1, Some(1_005));
        // A duration is not an age; nothing noted outside a watch is kept.
        assert_eq!(watch_changes(|| short_duration(1_500)).1, None);
        note_change_in(5);
        assert!(!watching_changes());
        assert_eq!(watch_changes(|| ()).1, None);
        assert!(watch_changes(watching_changes).0);
        // The soonest wins, and an inner watch's change is the outer one's too.
        let ((), outer) = watch_changes(|| {
            short_age(30_500);
            let ((), inner) = watch_changes(|| note_change_in(200));
            assert_eq!(inner, Some(200));
        });
        assert_eq!(outer, Some(200));
    }

    #[test]
    fn coarse_ages() {
        assert_eq!(coarse_age(9_999), "9s");
        assert_eq!(coarse_age(10_000), "10s");
        assert_eq!(coarse_age(47_000), "40s");
        assert_eq!(coarse_age(59_999), "50s");
        assert_eq!(coarse_age(61_000), "1m");
        assert_eq!(coarse_age(-5), "0s");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(10);
        assert_eq!(c.now_ms(), 10);
        c.advance(5);
        assert_eq!(c.now_ms(), 15);
    }
}
