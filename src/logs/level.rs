//! Log levels, detected from a message's text.
//!
//! Detection is a cheap scan of the message's head, fast enough for every ingested line:
//! a JSON `"level"`/`"severity"`/`"lvl"` field, a logfmt `level=` pair, an upper-case
//! level word (`ERROR`, `WARN`, `INFO` … as geth/Quorum, Python and uvicorn print them),
//! or nginx's bracketed lower-case `[error]`. It never parses JSON in full and never
//! allocates.

use serde::Serialize;

/// How many bytes of a message are looked at for a level.
const SCAN_LIMIT: usize = 256;

/// The severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// ERROR, FATAL, CRITICAL, PANIC, nginx crit/alert/emerg.
    Error,
    /// WARN, WARNING.
    Warn,
    /// INFO, NOTICE.
    Info,
    /// DEBUG.
    Debug,
    /// TRACE.
    Trace,
    /// No level found.
    #[default]
    Unknown,
}

impl Level {
    /// The upper-case word shown in the log view.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "ERROR",
            Self::Warn => "WARN",
            Self::Info => "INFO",
            Self::Debug => "DEBUG",
            Self::Trace => "TRACE",
            Self::Unknown => "-",
        }
    }

    /// Detects the level of `message` (see the module documentation).
    pub fn detect(message: &str) -> Self {
        let head = head(message);
        let bytes = head.as_bytes();
        if bytes.first() == Some(&b'{')
            && let Some(level) = json_level(head)
        {
            return level;
        }
        scan_words(bytes)
    }

    /// Parses a level name in any case (`error`, `Warning`, `dbg`, …).
    pub fn from_name(name: &str) -> Option<Self> {
        let mut buf = [0u8; 8];
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() > buf.len() {
            return None;
        }
        for (b, n) in buf.iter_mut().zip(bytes) {
            *b = n.to_ascii_lowercase();
        }
        Some(match &buf[..bytes.len()] {
            b"error" | b"err" | b"fatal" | b"critical" | b"crit" | b"panic" | b"alert"
            | b"emerg" | b"severe" => Self::Error,
            b"warn" | b"warning" => Self::Warn,
            b"info" | b"notice" => Self::Info,
            b"debug" | b"dbg" => Self::Debug,
            b"trace" | b"trce" => Self::Trace,
            _ => return None,
        })
    }
}

fn head(message: &str) -> &str {
    if message.len() <= SCAN_LIMIT {
        return message;
    }
    let mut end = SCAN_LIMIT;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

/// `"level": "info"` (or `severity`, `lvl`, `levelname`) in a JSON object's head.
fn json_level(head: &str) -> Option<Level> {
    for key in ["\"level\"", "\"severity\"", "\"lvl\"", "\"levelname\""] {
        let Some(at) = head.find(key) else {
            continue;
        };
        let rest = head[at + key.len()..].trim_start();
        let rest = rest.strip_prefix(':')?.trim_start();
        let rest = rest.strip_prefix('"')?;
        let value = &rest[..rest.find('"')?];
        return Level::from_name(value);
    }
    None
}

/// Upper-case level words, logfmt `level=x`, and bracketed `[error]`.
fn scan_words(bytes: &[u8]) -> Level {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let at_word_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if at_word_start && b.is_ascii_alphabetic() {
            let end = bytes[i..]
                .iter()
                .position(|c| !c.is_ascii_alphanumeric())
                .map_or(bytes.len(), |n| i + n);
            let word = &bytes[i..end];
            if word.iter().all(u8::is_ascii_uppercase) {
                if let Some(level) = upper_word(word) {
                    return level;
                }
            } else if word.eq_ignore_ascii_case(b"level") || word.eq_ignore_ascii_case(b"lvl") {
                if let Some(level) = logfmt_value(&bytes[end..]) {
                    return level;
                }
            } else if i > 0
                && bytes[i - 1] == b'['
                && bytes.get(end) == Some(&b']')
                && let Some(level) = std::str::from_utf8(word).ok().and_then(Level::from_name)
            {
                return level;
            }
            i = end;
        } else {
            i += 1;
        }
    }
    Level::Unknown
}

fn upper_word(word: &[u8]) -> Option<Level> {
    Some(match word {
        b"ERROR" | b"FATAL" | b"CRITICAL" | b"CRIT" | b"PANIC" | b"EROR" | b"ERR" => Level::Error,
        b"WARN" | b"WARNING" => Level::Warn,
        b"INFO" | b"NOTICE" => Level::Info,
        b"DEBUG" | b"DBUG" => Level::Debug,
        b"TRACE" | b"TRCE" => Level::Trace,
        _ => return None,
    })
}

/// The value after `level` in `level=info`, `level: "warn"`.
fn logfmt_value(rest: &[u8]) -> Option<Level> {
    let rest = match rest.first()? {
        b'=' | b':' => &rest[1..],
        _ => return None,
    };
    let rest = rest.strip_prefix(b"\"").unwrap_or(rest);
    let end = rest
        .iter()
        .position(|c| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    std::str::from_utf8(&rest[..end])
        .ok()
        .and_then(Level::from_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_case_words() {
        assert_eq!(
            Level::detect("INFO [03-04|12:00:00.000] Imported new chain segment"),
            Level::Info
        );
        assert_eq!(
            Level::detect("WARN [03-04|12:00:00.000] Stale peer"),
            Level::Warn
        );
        assert_eq!(
            Level::detect("2024-05-01 12:00:00,123 - app - ERROR - boom"),
            Level::Error
        );
        assert_eq!(Level::detect("INFO:     127.0.0.1 - GET /"), Level::Info);
        assert_eq!(Level::detect("[DEBUG] cache miss"), Level::Debug);
        assert_eq!(Level::detect("TRACE something"), Level::Trace);
        assert_eq!(Level::detect("FATAL: cannot start"), Level::Error);
    }

    #[test]
    fn lower_case_prose_is_not_a_level() {
        assert_eq!(Level::detect("no error here, just info"), Level::Unknown);
        assert_eq!(Level::detect("INFORMATION only"), Level::Unknown);
        assert_eq!(Level::detect("see INFO-12 ticket"), Level::Info);
        assert_eq!(Level::detect("ERRORS happen"), Level::Unknown);
        assert_eq!(Level::detect(""), Level::Unknown);
    }

    #[test]
    fn json_fields() {
        assert_eq!(
            Level::detect(r#"{"level":"warning","msg":"slow"}"#),
            Level::Warn
        );
        assert_eq!(
            Level::detect(r#"{"time": 1, "severity": "ERROR", "msg": "x"}"#),
            Level::Error
        );
        assert_eq!(
            Level::detect(r#"{"levelname": "DEBUG", "message": "x"}"#),
            Level::Debug
        );
        assert_eq!(Level::detect(r#"{"msg":"INFO inside"}"#), Level::Info);
        assert_eq!(Level::detect(r#"{"msg":"nothing"}"#), Level::Unknown);
    }

    #[test]
    fn logfmt_and_nginx() {
        assert_eq!(Level::detect("ts=1 level=debug msg=x"), Level::Debug);
        assert_eq!(Level::detect("time=1 lvl=\"info\""), Level::Info);
        assert_eq!(
            Level::detect("2024/05/01 12:00:00 [error] 7#7: *1 connect() failed"),
            Level::Error
        );
        assert_eq!(
            Level::detect("2024/05/01 12:00:00 [notice] 1#1: start worker"),
            Level::Info
        );
        assert_eq!(Level::detect("2024/05/01 [warn] x"), Level::Warn);
    }

    #[test]
    fn only_the_head_is_scanned() {
        let late = format!("{} ERROR", "x".repeat(SCAN_LIMIT));
        assert_eq!(Level::detect(&late), Level::Unknown);
        let wide = format!("{}ERROR", "日".repeat(100));
        assert_eq!(Level::detect(&wide), Level::Unknown);
    }

    #[test]
    fn names() {
        assert_eq!(Level::from_name("Warning"), Some(Level::Warn));
        assert_eq!(Level::from_name("verylongname"), None);
        assert_eq!(Level::from_name(""), None);
        assert_eq!(Level::Error.as_str(), "ERROR");
    }
}
