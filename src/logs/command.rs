//! The core of the `logs` subcommand: print a window of logs, optionally following them.
//!
//! It drives the same [`Tail`] engine as the log view and prints one line per event:
//! `TIMESTAMP SOURCE MESSAGE`, with an ISO UTC timestamp and the sanitised message (a
//! message can never change the terminal it is printed on). Errors go to a separate
//! writer. The clap wiring lives with the CLI; this module only writes to the writers it
//! is given.

use std::io::Write;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::discovery::LogSource;
use super::line::LogLine;
use super::tail::{Tail, TailEvent};
use crate::backend::BackendError;
use crate::clock::Zone;

/// How [`print_logs`] writes a line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineFormat {
    /// The zone of the timestamps (RFC 3339: `Z` in UTC, else the zone's offset).
    pub zone: Zone,
    /// Structured lines (JSON, logfmt) in their compact form instead of as written.
    pub compact: bool,
    /// Account IDs and IP addresses masked ([`crate::redact`]).
    pub redact: bool,
}

/// What [`print_logs`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrintSummary {
    /// Lines printed.
    pub lines: u64,
    /// Errors reported (retried ones included).
    pub errors: u64,
}

/// Why [`print_logs`] failed.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// Writing the output failed (a closed pipe is not an error: printing just stops).
    #[error("cannot write the logs: {0}")]
    Io(#[from] std::io::Error),
    /// Not following, and part of the window could not be read.
    #[error("log group {group}: {error}")]
    Incomplete {
        /// The group that could not be read.
        group: String,
        /// The first error that lost data.
        error: BackendError,
    },
}

/// Prints the lines of `sources` read by `tail`: the backfill window of its config, then,
/// when it follows, new lines as they arrive (until the output closes or the future is
/// dropped, e.g. on Ctrl-C). Lines go to `out` as `TIMESTAMP SOURCE MESSAGE`; errors go
/// to `errors` as `error: GROUP: WHAT (hint: …)`.
///
/// Not following, it returns once the window has been read, with
/// [`PrintError::Incomplete`] if some of it could not be (after printing the rest).
pub async fn print_logs(
    tail: Tail,
    sources: Vec<LogSource>,
    format: &LineFormat,
    out: &mut impl Write,
    errors: &mut impl Write,
) -> Result<PrintSummary, PrintError> {
    // The sender stays alive for as long as printing goes on: the sources never change.
    let (_sources_tx, sources_rx) = watch::channel(sources);
    print_logs_of(tail, sources_rx, format, out, errors).await
}

/// [`print_logs`] of sources that may change while it follows (tasks that come during a
/// deployment): each change sent on `sources` applies from the tail's next round, a
/// stream that joins is read from the start of the window.
pub async fn print_logs_of(
    tail: Tail,
    sources: watch::Receiver<Vec<LogSource>>,
    format: &LineFormat,
    out: &mut impl Write,
    errors: &mut impl Write,
) -> Result<PrintSummary, PrintError> {
    let follow = tail.config().follow;
    let (tx, mut rx) = mpsc::channel(16);
    let engine = tail.run(sources, tx);
    let printer = async move {
        let mut summary = PrintSummary::default();
        let mut lost: Option<PrintError> = None;
        while let Some(event) = rx.recv().await {
            match event {
                TailEvent::Lines(lines) => {
                    for line in &lines {
                        match write_line(out, line, format) {
                            Ok(()) => summary.lines += 1,
                            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                                return Ok(summary);
                            }
                            Err(e) => return Err(PrintError::Io(e)),
                        }
                    }
                    flush(out)?;
                }
                TailEvent::Error {
                    group,
                    error,
                    retrying,
                } => {
                    summary.errors += 1;
                    write_error(errors, &group, &error)?;
                    if !retrying && !follow && lost.is_none() {
                        lost = Some(PrintError::Incomplete { group, error });
                    }
                }
                TailEvent::Backfilled => {}
                TailEvent::Following { group, how } => {
                    if let Some(notice) = how.notice() {
                        writeln!(errors, "note: {group}: {notice}")?;
                    }
                }
            }
        }
        match lost {
            Some(e) => Err(e),
            None => Ok(summary),
        }
    };
    // The printer owns the receiver: when it stops early, the engine's next send fails
    // and the engine stops too.
    let (result, ()) = tokio::join!(printer, engine);
    result
}

/// Prints one line: `TIMESTAMP SOURCE MESSAGE`, the message as written (display-safe) or
/// compact.
fn write_line(out: &mut impl Write, line: &LogLine, format: &LineFormat) -> std::io::Result<()> {
    let text = line.text(!format.compact);
    let text = if format.redact {
        crate::redact::text(&text)
    } else {
        text
    };
    writeln!(
        out,
        "{} {} {}",
        format.zone.iso(line.timestamp),
        line.source,
        text
    )
}

fn flush(out: &mut impl Write) -> Result<(), PrintError> {
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(PrintError::Io(e)),
        _ => Ok(()),
    }
}

fn write_error(errors: &mut impl Write, group: &str, error: &BackendError) -> std::io::Result<()> {
    let what = crate::text::sanitize(&error.to_string());
    match error.hint() {
        Some(hint) => writeln!(errors, "error: {group}: {what} (hint: {hint})"),
        None => writeln!(errors, "error: {group}: {what}"),
    }
}

/// Why a `--since` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a duration: use a number and a unit, e.g. 90s, 10m, 2h, 1d or 1h30m")]
pub struct ParseSinceError(pub String);

/// Parses a `--since` duration: one or more `NUMBER UNIT` parts with units `s`, `m`, `h`,
/// `d` (`90s`, `10m`, `2h`, `1h30m`).
pub fn parse_since(text: &str) -> Result<Duration, ParseSinceError> {
    let refuse = || ParseSinceError(text.to_string());
    let mut total: u64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(refuse());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(refuse());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| refuse())?;
        let unit = rest[digits..].chars().next().ok_or_else(refuse)?;
        let seconds = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return Err(refuse()),
        };
        total = number
            .checked_mul(seconds)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(refuse)?;
        rest = &rest[digits + unit.len_utf8()..];
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::backend::LogsApi;
    use crate::clock::ManualClock;
    use crate::logs::fake::FakeLogs;
    use crate::logs::tail::TailConfig;

    const NOW: i64 = 1_700_000_000_000;

    fn tail(fake: &Arc<FakeLogs>, follow: bool) -> Tail {
        let logs: Arc<dyn LogsApi> = fake.clone();
        Tail::new(logs, Arc::new(ManualClock::new(NOW))).with_config(TailConfig {
            follow,
            ..TailConfig::default()
        })
    }

    fn sources() -> Vec<LogSource> {
        vec![LogSource {
            group: "/ecs/api".into(),
            stream: Some("ecs/api/1a2b3c4d5e6f".into()),
            label: Arc::from("api/1a2b3c4d"),
        }]
    }

    #[tokio::test(start_paused = true)]
    async fn prints_the_window_sanitised_and_returns() {
        let fake = Arc::new(FakeLogs::new(10_000));
        let stream = "ecs/api/1a2b3c4d5e6f";
        fake.put("/ecs/api", stream, NOW - 2_000, "INFO started\n");
        fake.put(
            "/ecs/api",
            stream,
            NOW - 1_000,
            "\x1b[2J\x1b]0;pwned\x07ERROR\tboom\rfake",
        );
        let (mut out, mut errors) = (Vec::new(), Vec::new());
        let summary = print_logs(
            tail(&fake, false),
            sources(),
            &LineFormat::default(),
            &mut out,
            &mut errors,
        )
        .await
        .unwrap();
        assert_eq!(
            summary,
            PrintSummary {
                lines: 2,
                errors: 0
            }
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2023-11-14T22:13:18.000Z api/1a2b3c4d INFO started\n\
             2023-11-14T22:13:19.000Z api/1a2b3c4d ERROR   boom␍fake\n"
        );
        assert!(errors.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_that_could_not_be_read_is_an_error() {
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.fail_with([BackendError::SsoExpired {
            profile: Some("ibet-stg".into()),
        }]);
        let (mut out, mut errors) = (Vec::new(), Vec::new());
        let result = print_logs(
            tail(&fake, false),
            sources(),
            &LineFormat::default(),
            &mut out,
            &mut errors,
        )
        .await;
        assert!(matches!(
            result,
            Err(PrintError::Incomplete { ref group, error: BackendError::SsoExpired { .. } })
                if group == "/ecs/api"
        ));
        assert_eq!(
            String::from_utf8(errors).unwrap(),
            "error: /ecs/api: the AWS SSO session of profile `ibet-stg` has expired \
             (hint: run `aws sso login --profile ibet-stg`)\n"
        );
    }

    /// A pipe whose reader goes away after `room` lines.
    struct ClosingPipe {
        room: usize,
        written: Vec<u8>,
    }

    impl Write for ClosingPipe {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            let lines = String::from_utf8_lossy(buf).matches('\n').count();
            self.room -= lines.min(self.room);
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn following_stops_quietly_when_the_pipe_closes() {
        let fake = Arc::new(FakeLogs::new(10_000));
        let stream = "ecs/api/1a2b3c4d5e6f";
        for i in 0..5 {
            fake.put("/ecs/api", stream, NOW - 1_000 + i, &format!("line {i}"));
        }
        let mut out = ClosingPipe {
            room: 2,
            written: Vec::new(),
        };
        let summary = print_logs(
            tail(&fake, true),
            sources(),
            &LineFormat::default(),
            &mut out,
            &mut Vec::new(),
        )
        .await
        .unwrap();
        assert_eq!(summary.lines, 2);
        assert_eq!(String::from_utf8_lossy(&out.written).lines().count(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn following_goes_on_while_quiet_until_dropped() {
        let fake = Arc::new(FakeLogs::new(10_000));
        fake.create("/ecs/api", "ecs/api/1a2b3c4d5e6f");
        let mut out = ClosingPipe {
            room: 0,
            written: Vec::new(),
        };
        // Nothing to print: the printer waits, the engine polls quietly. Dropping the
        // future (as Ctrl-C does) ends both.
        let mut errors = Vec::new();
        let format = LineFormat::default();
        let printing = print_logs(tail(&fake, true), sources(), &format, &mut out, &mut errors);
        let waited = tokio::time::timeout(std::time::Duration::from_secs(60), printing).await;
        assert!(waited.is_err(), "still following after a quiet minute");
        assert!(fake.queries().len() > 10);
    }

    #[test]
    fn since_values() {
        assert_eq!(parse_since("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_since("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_since("2h"), Ok(Duration::from_secs(7_200)));
        assert_eq!(parse_since("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_since("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_since(" 5m "), Ok(Duration::from_secs(300)));
        for bad in [
            "",
            "10",
            "m",
            "10x",
            "-5m",
            "1.5h",
            "10m5",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_since(bad), Err(ParseSinceError(bad.into())), "{bad}");
        }
    }

    #[test]
    fn printed_lines() {
        let line = LogLine::new(1_000, "api/1a2b3c4d".into(), "\x1b]0;x\x07hi\tthere".into());
        let mut out = Vec::new();
        write_line(&mut out, &line, &LineFormat::default()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1970-01-01T00:00:01.000Z api/1a2b3c4d hi      there\n"
        );
    }

    #[test]
    fn printed_as_written_or_compact_in_a_zone() {
        let raw =
            r#"{"time":"1970-01-01T00:00:01Z","level":"error","msg":"boom","peer":"10.0.0.9"}"#;
        let line = LogLine::new(1_000, "api/1".into(), raw.into());
        let mut out = Vec::new();
        write_line(&mut out, &line, &LineFormat::default()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("1970-01-01T00:00:01.000Z api/1 {raw}\n"),
            "as written by default: scripts and jq read it"
        );
        let compact = LineFormat {
            zone: Zone::named("Asia/Tokyo").unwrap(),
            compact: true,
            redact: true,
        };
        let mut out = Vec::new();
        write_line(&mut out, &line, &compact).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1970-01-01T09:00:01.000+09:00 api/1 ERROR boom peer=**.*.*.*\n"
        );
    }
}
