//! The simulated CloudWatch Logs of one environment: a bounded store of log records per
//! log group, their rendering into the lines each container really writes, and
//! FilterLogEvents over them.
//!
//! Records are compact (a timestamp, an id, a stream and a [`Line`] with numbers); the
//! text is rendered only when a query reads it, so a long catch-up stays cheap. The
//! store keeps a fixed window of ticks per group. Nothing here decides what is logged
//! (the log writer does) or reads the clock.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::backend::{BackendError, BackendResult};
use crate::clock::{EpochMs, iso_utc};
use crate::model::logs::{LogEvent, LogPage, LogQuery};

use super::rng::{hash_str, hex_of, mix};
use super::topology::{CLUSTERS, EnvSpec, block_hash, validator_address};

/// FilterLogEvents' default and largest page.
const MAX_PAGE: usize = 10_000;

/// Severity of an application line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn word(self) -> &'static str {
        match self {
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
        }
    }

    fn python_word(self) -> &'static str {
        match self {
            Self::Info => "INFO",
            Self::Warn => "WARNING",
            Self::Error => "ERROR",
        }
    }

    fn nginx_word(self) -> &'static str {
        match self {
            Self::Info => "notice",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// How a container formats its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    /// One JSON object per line, with this logger name.
    Json(&'static str),
    /// `2026-11-28 12:00:01,123 INFO [logger] message` (the batch jobs).
    Plain(&'static str),
    /// nginx's error log.
    Nginx,
    /// Geth's terminal format.
    Geth,
}

/// One log line, before rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Line {
    /// An nginx access line of a wallet request.
    Access {
        client: u16,
        route: u8,
        arg: u32,
        status: u16,
        bytes: u32,
        micros: u32,
        agent: u8,
    },
    /// An nginx access line of an ALB health check.
    HealthCheck { client: u16 },
    /// The API's line for a request.
    ApiRequest {
        route: u8,
        arg: u32,
        status: u16,
        millis: u32,
        worker: u8,
    },
    /// A fixed text with up to two numbers: `{a}`, `{b}`, `{ha}` (short hash of block a),
    /// `{addr}` (an address derived from a).
    Text {
        style: Style,
        level: Level,
        text: &'static str,
        a: u64,
        b: u64,
    },
    /// Geth: blocks imported.
    Imported {
        blocks: u32,
        txs: u32,
        number: u64,
        micros: u32,
    },
    /// Geth on the proposer: block sealed.
    Sealed { number: u64, micros: u32 },
    /// Geth on the other validators: block committed.
    Committed {
        number: u64,
        round: u32,
        proposer: u8,
    },
    /// Geth on validators: the proposer did not propose in time.
    RoundChange {
        number: u64,
        round: u32,
        proposer: u8,
    },
}

/// One stored record.
#[derive(Debug, Clone)]
pub(super) struct LogRecord {
    pub at: EpochMs,
    pub id: u64,
    pub stream: Arc<str>,
    pub line: Line,
}

/// One log group.
#[derive(Debug, Clone)]
struct LogGroup {
    name: String,
    cluster: usize,
    records: VecDeque<LogRecord>,
}

/// The log groups of one environment.
#[derive(Debug, Clone, Default)]
pub(super) struct LogStore {
    groups: Vec<LogGroup>,
}

impl LogStore {
    /// Adds a group; returns its index.
    pub(super) fn add_group(&mut self, name: String, cluster: usize) -> usize {
        self.groups.push(LogGroup {
            name,
            cluster,
            records: VecDeque::new(),
        });
        self.groups.len() - 1
    }

    /// Appends a record; records arrive in (timestamp, id) order.
    pub(super) fn push(&mut self, group: usize, record: LogRecord) {
        if let Some(g) = self.groups.get_mut(group) {
            g.records.push_back(record);
        }
    }

    /// Drops every record at or before `cutoff`.
    pub(super) fn evict_through(&mut self, cutoff: EpochMs) {
        for g in &mut self.groups {
            while g.records.front().is_some_and(|r| r.at <= cutoff) {
                g.records.pop_front();
            }
        }
    }

    /// Records held, over all groups.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.groups.iter().map(|g| g.records.len()).sum()
    }

    /// FilterLogEvents.
    pub(super) fn filter(&self, query: &LogQuery, env: &EnvSpec) -> BackendResult<LogPage> {
        let Some(group) = self.groups.iter().find(|g| g.name == query.group) else {
            return Err(BackendError::NotFound(format!(
                "log group {} (The specified log group does not exist.)",
                query.group
            )));
        };
        let pattern = Pattern::parse(query.filter_pattern.as_deref().unwrap_or(""));
        let limit = query
            .limit
            .map_or(MAX_PAGE, |l| l as usize)
            .clamp(1, MAX_PAGE);
        let records = &group.records;
        let first = match query.next_token.as_deref() {
            Some(token) => {
                let (at, id) = parse_token(token)?;
                records.partition_point(|r| (r.at, r.id) <= (at, id))
            }
            None => records.partition_point(|r| r.at < query.start),
        };
        let mut events = Vec::new();
        let mut next_token = None;
        for record in records.range(first..) {
            if query.end.is_some_and(|end| record.at > end) {
                break;
            }
            if record.at < query.start || !stream_selected(query, &record.stream) {
                continue;
            }
            let message = render(&record.line, record.at, env, group.cluster);
            if !pattern.matches(&message) {
                continue;
            }
            if events.len() == limit {
                next_token = events
                    .last()
                    .map(|e: &(i64, u64, LogEvent)| token(e.0, e.1));
                break;
            }
            events.push((
                record.at,
                record.id,
                LogEvent {
                    timestamp: record.at,
                    ingestion: record.at + 180 + (record.id % 600) as i64,
                    event_id: format!("{:020}{:036}", record.at, record.id),
                    group: group.name.clone(),
                    stream: record.stream.to_string(),
                    message,
                },
            ));
        }
        Ok(LogPage {
            events: events.into_iter().map(|(_, _, e)| e).collect(),
            next_token,
        })
    }
}

fn stream_selected(query: &LogQuery, stream: &str) -> bool {
    if !query.streams.is_empty() {
        return query.streams.iter().any(|s| s == stream);
    }
    query
        .stream_prefix
        .as_deref()
        .is_none_or(|p| stream.starts_with(p))
}

fn token(at: EpochMs, id: u64) -> String {
    format!("sim-{at}-{id}")
}

fn parse_token(token: &str) -> BackendResult<(EpochMs, u64)> {
    let invalid = || BackendError::Other(format!("invalid next token: {token}"));
    let rest = token.strip_prefix("sim-").ok_or_else(invalid)?;
    let (at, id) = rest.split_once('-').ok_or_else(invalid)?;
    Ok((
        at.parse().map_err(|_| invalid())?,
        id.parse().map_err(|_| invalid())?,
    ))
}

/// A CloudWatch filter pattern, the simple part: terms that must all appear (`ERROR`,
/// `"exact phrase"`), `?a ?b` (any of them), `-term` (must not appear), and
/// `{ $.key = "value" }` / `{ $.key != "value" }` over JSON lines.
#[derive(Debug, Default, PartialEq, Eq)]
struct Pattern {
    all: Vec<String>,
    any: Vec<String>,
    none: Vec<String>,
}

impl Pattern {
    fn parse(text: &str) -> Self {
        let mut pattern = Self::default();
        let text = text.trim();
        if let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            let inner = inner.trim().trim_start_matches("$.");
            let (key, negate, value) = if let Some((k, v)) = inner.split_once("!=") {
                (k, true, v)
            } else if let Some((k, v)) = inner.split_once('=') {
                (k, false, v)
            } else {
                (inner, false, "")
            };
            let value = value.trim().trim_matches('"');
            let needle = format!("\"{}\":\"{value}\"", key.trim());
            if negate {
                pattern.none.push(needle);
            } else {
                pattern.all.push(needle);
            }
            return pattern;
        }
        let mut rest = text;
        while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
            rest = &rest[start..];
            let (prefix, body) = match rest.chars().next() {
                Some(c @ ('?' | '-')) => (Some(c), &rest[1..]),
                _ => (None, rest),
            };
            let (term, after) = if let Some(quoted) = body.strip_prefix('"') {
                match quoted.find('"') {
                    Some(end) => (&quoted[..end], &quoted[end + 1..]),
                    None => (quoted, ""),
                }
            } else {
                let end = body.find(char::is_whitespace).unwrap_or(body.len());
                (&body[..end], &body[end..])
            };
            rest = after;
            if term.is_empty() {
                continue;
            }
            let list = match prefix {
                Some('?') => &mut pattern.any,
                Some(_) => &mut pattern.none,
                None => &mut pattern.all,
            };
            list.push(term.to_string());
        }
        pattern
    }

    fn matches(&self, message: &str) -> bool {
        self.all.iter().all(|t| message.contains(t.as_str()))
            && !self.none.iter().any(|t| message.contains(t.as_str()))
            && (self.any.is_empty() || self.any.iter().any(|t| message.contains(t.as_str())))
    }
}

/// A wallet or AP route: method, path (`{addr}` is filled in), weight.
pub(super) struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub weight: u32,
    /// Whether it reads the chain through the internal ALB.
    pub chain: bool,
}

const fn route(method: &'static str, path: &'static str, weight: u32, chain: bool) -> Route {
    Route {
        method,
        path,
        weight,
        chain,
    }
}

/// Routes of the wallet API (node-api).
const WALLET_ROUTES: &[Route] = &[
    route("GET", "/v3/NodeInfo", 5, false),
    route("GET", "/v3/Eth/TransactionCount/{addr}", 15, true),
    route("POST", "/v3/Eth/SendRawTransaction", 8, true),
    route(
        "GET",
        "/v3/Token/StraightBond/Tokens?offset=0&limit=20",
        10,
        false,
    ),
    route("GET", "/v3/Token/Share/Tokens?offset=0&limit=20", 6, false),
    route("GET", "/v3/Position/{addr}/StraightBond", 14, true),
    route("GET", "/v3/Position/{addr}/Share", 10, true),
    route("GET", "/v3/Notifications?address={addr}", 12, false),
    route("GET", "/v3/Company/{addr}", 6, false),
    route("GET", "/v3/E2EMessaging/EncryptionKey/{addr}", 4, true),
];

/// Routes of the issuer API.
const ISSUER_ROUTES: &[Route] = &[
    route("GET", "/bond/tokens", 10, false),
    route("GET", "/bond/tokens/{addr}/holders", 8, true),
    route("POST", "/bond/transfers", 4, true),
    route("GET", "/positions/{addr}", 6, true),
    route("GET", "/ledger/{addr}/history", 3, false),
    route("GET", "/share/tokens", 5, false),
];

/// Routes of the bank-integration API.
const BANK_ROUTES: &[Route] = &[
    route("GET", "/bank/accounts/{addr}/balance", 10, true),
    route("POST", "/bank/deposits", 3, true),
    route("POST", "/bank/withdrawals", 2, true),
    route("GET", "/bank/transfers?status=pending", 6, false),
];

/// The routes served by a cluster's API.
pub(super) fn routes_of(cluster: usize) -> &'static [Route] {
    match CLUSTERS.get(cluster).map(|c| c.name) {
        Some("issuer") => ISSUER_ROUTES,
        Some("bank") => BANK_ROUTES,
        _ => WALLET_ROUTES,
    }
}

const WALLET_AGENTS: &[&str] = &[
    "ibet-wallet/2.14.0 (iPhone; iOS 17.5; Scale/3.00)",
    "ibet-wallet/2.14.0 (Android 14; Pixel 8)",
    "ibet-wallet/2.13.2 (iPhone; iOS 16.7.8; Scale/3.00)",
    "ibet-wallet/2.14.0 (Android 13; SO-51C)",
];

const SERVICE_AGENTS: &[&str] = &["python-requests/2.31.0", "Java/17.0.9", "axios/1.6.8"];

/// How many user agents a cluster's clients use.
pub(super) fn agents_of(cluster: usize) -> &'static [&'static str] {
    match CLUSTERS.get(cluster).map(|c| c.name) {
        Some("node-api") => WALLET_AGENTS,
        _ => SERVICE_AGENTS,
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The pieces of a UTC time: `YYYY`, `MM`, `DD`, `HH:MM:SS`, `mmm`.
struct Stamp {
    iso: String,
}

impl Stamp {
    fn new(at: EpochMs) -> Self {
        Self { iso: iso_utc(at) }
    }
    fn year(&self) -> &str {
        &self.iso[0..4]
    }
    fn month(&self) -> &str {
        &self.iso[5..7]
    }
    fn day(&self) -> &str {
        &self.iso[8..10]
    }
    fn hms(&self) -> &str {
        &self.iso[11..19]
    }
    fn millis(&self) -> &str {
        &self.iso[20..23]
    }
    fn month_name(&self) -> &'static str {
        let m: usize = self.month().parse().unwrap_or(1);
        MONTHS[(m.clamp(1, 12)) - 1]
    }
}

/// Geth's short hash: `8d2f1c..9a0b11`.
fn short_hash(hash: &str) -> String {
    let h = hash.trim_start_matches("0x");
    if h.len() < 12 {
        return h.to_string();
    }
    format!("{}..{}", &h[..6], &h[h.len() - 6..])
}

/// Geth's number format: thousands separated by commas from 100000 on.
fn geth_number(n: u64) -> String {
    let digits = n.to_string();
    if n < 100_000 {
        return digits;
    }
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An address derived from a number.
fn address(n: u64) -> String {
    format!("0x{}", hex_of(mix(n, 0xadd2), 40))
}

fn fill(text: &str, a: u64, b: u64, env: &EnvSpec) -> String {
    let mut out = text
        .replace("{a}", &a.to_string())
        .replace("{b}", &b.to_string());
    if out.contains("{ha}") {
        out = out.replace("{ha}", &short_hash(&block_hash(env.name, a)));
    }
    if out.contains("{addr}") {
        out = out.replace("{addr}", &address(a));
    }
    out
}

fn json_line(stamp: &Stamp, level: Level, logger: &str, message: &str) -> String {
    let message = serde_json::to_string(message).unwrap_or_default();
    format!(
        "{{\"time\":\"{}\",\"level\":\"{}\",\"logger\":\"{logger}\",\"message\":{message}}}",
        stamp.iso,
        level.word()
    )
}

fn geth_line(stamp: &Stamp, level: Level, message: &str, context: &str) -> String {
    let level = match level {
        Level::Info => "INFO ",
        Level::Warn => "WARN ",
        Level::Error => "ERROR",
    };
    let head = format!(
        "{level}[{}-{}|{}.{}] {message}",
        stamp.month(),
        stamp.day(),
        stamp.hms(),
        stamp.millis()
    );
    if context.is_empty() {
        head
    } else {
        format!("{head:<66} {context}")
    }
}

fn client_ip(env: &EnvSpec, client: u16) -> String {
    format!("{}.{}.{}", env.net, client >> 8, client & 0xff)
}

fn path_of(route: &Route, arg: u32) -> String {
    route.path.replace("{addr}", &address(u64::from(arg)))
}

/// Renders a record as the container wrote it.
pub(super) fn render(line: &Line, at: EpochMs, env: &EnvSpec, cluster: usize) -> String {
    let stamp = Stamp::new(at);
    match *line {
        Line::Access {
            client,
            route,
            arg,
            status,
            bytes,
            micros,
            agent,
        } => {
            let routes = routes_of(cluster);
            let r = &routes[usize::from(route) % routes.len()];
            let agents = agents_of(cluster);
            let forwarded = format!(
                "{}.{}",
                ["203.0.113", "198.51.100", "192.0.2"][(arg % 3) as usize],
                arg % 251 + 2
            );
            format!(
                "{} - - [{}/{}/{}:{} +0000] \"{} {} HTTP/1.1\" {status} {bytes} \"-\" \"{}\" \"{forwarded}\" rt={}.{:03}",
                client_ip(env, client),
                stamp.day(),
                stamp.month_name(),
                stamp.year(),
                stamp.hms(),
                r.method,
                path_of(r, arg),
                agents[usize::from(agent) % agents.len()],
                micros / 1_000_000,
                (micros / 1000) % 1000,
            )
        }
        Line::HealthCheck { client } => format!(
            "{} - - [{}/{}/{}:{} +0000] \"GET /healthcheck HTTP/1.1\" 200 2 \"-\" \"ELB-HealthChecker/2.0\" \"-\" rt=0.001",
            client_ip(env, client),
            stamp.day(),
            stamp.month_name(),
            stamp.year(),
            stamp.hms(),
        ),
        Line::ApiRequest {
            route,
            arg,
            status,
            millis,
            worker,
        } => {
            let routes = routes_of(cluster);
            let r = &routes[usize::from(route) % routes.len()];
            let level = if status >= 500 {
                Level::Error
            } else {
                Level::Info
            };
            let message = format!(
                "{} {} {status} {}.{:03}s",
                r.method,
                path_of(r, arg),
                millis / 1000,
                millis % 1000
            );
            let message = serde_json::to_string(&message).unwrap_or_default();
            format!(
                "{{\"time\":\"{}\",\"level\":\"{}\",\"logger\":\"app.access\",\"pid\":{},\"message\":{message}}}",
                stamp.iso,
                level.word(),
                7 + u32::from(worker)
            )
        }
        Line::Text {
            style,
            level,
            text,
            a,
            b,
        } => {
            let message = fill(text, a, b, env);
            match style {
                Style::Json(logger) => json_line(&stamp, level, logger, &message),
                Style::Plain(logger) => format!(
                    "{}-{}-{} {},{} {} [{logger}] {message}",
                    stamp.year(),
                    stamp.month(),
                    stamp.day(),
                    stamp.hms(),
                    stamp.millis(),
                    level.python_word()
                ),
                Style::Nginx => format!(
                    "{}/{}/{} {} [{}] {message}",
                    stamp.year(),
                    stamp.month(),
                    stamp.day(),
                    stamp.hms(),
                    level.nginx_word()
                ),
                Style::Geth => match message.split_once("  ") {
                    Some((head, context)) => geth_line(&stamp, level, head, context.trim()),
                    None => geth_line(&stamp, level, &message, ""),
                },
            }
        }
        Line::Imported {
            blocks,
            txs,
            number,
            micros,
        } => geth_line(
            &stamp,
            Level::Info,
            "Imported new chain segment",
            &format!(
                "blocks={blocks} txs={txs} mgas={}.{:03} elapsed={}.{:03}ms mgasps={}.{:03} number={} hash={} dirty=0.00B",
                txs / 20,
                (txs * 53) % 1000,
                micros / 1000,
                micros % 1000,
                txs / 5,
                (txs * 311) % 1000,
                geth_number(number),
                short_hash(&block_hash(env.name, number))
            ),
        ),
        Line::Sealed { number, micros } => geth_line(
            &stamp,
            Level::Info,
            "Successfully sealed new block",
            &format!(
                "number={} sealhash={} hash={} elapsed={}.{:03}ms",
                geth_number(number),
                short_hash(&hex_of(mix(hash_str(env.name), number ^ 0x5ea1), 64)),
                short_hash(&block_hash(env.name, number)),
                micros / 1000,
                micros % 1000
            ),
        ),
        Line::Committed {
            number,
            round,
            proposer,
        } => geth_line(
            &stamp,
            Level::Info,
            "QBFT: block proposal committed",
            &format!(
                "number={} hash={} round={round} author={}",
                geth_number(number),
                short_hash(&block_hash(env.name, number)),
                validator_address(env.name, usize::from(proposer))
            ),
        ),
        Line::RoundChange {
            number,
            round,
            proposer,
        } => geth_line(
            &stamp,
            Level::Warn,
            "QBFT: round change timeout, moving to next round",
            &format!(
                "number={} round={round} missing_proposer={}",
                geth_number(number),
                validator_address(env.name, usize::from(proposer))
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::topology::ENVS;

    #[test]
    fn patterns_parse_like_cloudwatch() {
        let p = Pattern::parse(r#"ERROR "Connection refused" -healthcheck"#);
        assert_eq!(p.all, ["ERROR", "Connection refused"]);
        assert_eq!(p.none, ["healthcheck"]);
        assert!(p.matches("ERROR: Connection refused by peer"));
        assert!(!p.matches("ERROR: Connection refused on /healthcheck"));
        let any = Pattern::parse("?WARN ?ERROR");
        assert!(any.matches("a WARN b"));
        assert!(!any.matches("INFO"));
        let json = Pattern::parse(r#"{ $.level = "ERROR" }"#);
        assert!(json.matches(r#"{"level":"ERROR","message":"x"}"#));
        assert!(!json.matches(r#"{"level":"INFO","message":"x"}"#));
        assert!(Pattern::parse("").matches("anything"));
    }

    #[test]
    fn lines_render_like_the_containers() {
        let env = &ENVS[1];
        let at = 1_795_000_000_123;
        let nginx = render(
            &Line::Access {
                client: (1 << 8) | 0x17,
                route: 2,
                arg: 7,
                status: 200,
                bytes: 512,
                micros: 12_000,
                agent: 0,
            },
            at,
            env,
            0,
        );
        assert!(
            nginx.starts_with(
                "10.20.1.23 - - [18/Nov/2026:11:06:40 +0000] \"POST /v3/Eth/SendRawTransaction HTTP/1.1\" 200 512"
            ),
            "{nginx}"
        );
        let geth = render(
            &Line::Imported {
                blocks: 1,
                txs: 0,
                number: 4_812_345,
                micros: 1_234,
            },
            at,
            env,
            0,
        );
        assert!(geth.starts_with("INFO [11-18|11:06:40.123] Imported new chain segment"));
        assert!(geth.contains("number=4,812,345 hash="));
        let json = render(
            &Line::Text {
                style: Style::Json("notification"),
                level: Level::Warn,
                text: "Retrying {a} pushes",
                a: 3,
                b: 0,
            },
            at,
            env,
            0,
        );
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["message"], "Retrying 3 pushes");
    }

    #[test]
    fn numbers_and_tokens() {
        assert_eq!(geth_number(99_999), "99999");
        assert_eq!(geth_number(4_812_345), "4,812,345");
        assert_eq!(geth_number(123_456_789), "123,456,789");
        assert_eq!(parse_token(&token(5, 6)), Ok((5, 6)));
        assert!(parse_token("garbage").is_err());
    }
}
