//! Structured log lines (a JSON object, or logfmt `key=value` pairs) in a compact form an
//! operator can read at 80 columns: the level as a tag, the message, then the other
//! fields as `key=value`, without the fields the log view shows in its own columns (the
//! time) or as the tag (the level).
//!
//! ```text
//! {"time":"2026-12-02T08:11:34.603Z","level":"INFO","msg":"request","path":"/v1","ms":12}
//!   → INFO  request path=/v1 ms=12
//! time=2026-12-02T08:11:34Z level=warn msg="slow query" table=ledger
//!   → WARN  slow query table=ledger
//! ```
//!
//! Nested JSON objects are flattened into dotted keys (`http.status=200`); arrays stay
//! JSON. Anything else is not structured and is shown as it came. The compact form is
//! built once, at ingest; it is raw text still (a value may hold control characters), so
//! the caller sanitises it like any message.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::level::Level;

/// Keys whose string value is the message, in order of preference.
const MESSAGE_KEYS: &[&str] = &["msg", "message", "@message", "log"];
/// Keys of the event time: the view shows it in its own column.
const TIME_KEYS: &[&str] = &[
    "time",
    "timestamp",
    "ts",
    "@timestamp",
    "datetime",
    "asctime",
];
/// Keys of the level: shown as the tag.
const LEVEL_KEYS: &[&str] = &["level", "severity", "lvl", "levelname", "loglevel"];
/// Nested objects deeper than this stay JSON.
const MAX_DEPTH: usize = 4;

/// A structured line in its compact form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compact {
    /// `LEVEL message key=value …` (the tag padded to five columns and a space, when the
    /// line names a level).
    pub text: String,
    /// The level the line names, if any.
    pub level: Option<Level>,
    /// Bytes of `text` that are the level tag (with its padding), 0 without one.
    pub tag_len: usize,
}

/// The compact form of `raw` when it is a JSON object or logfmt pairs; `None` for any
/// other line.
pub fn compact(raw: &str) -> Option<Compact> {
    let trimmed = raw.trim();
    if trimmed.starts_with('{') && trimmed.ends_with('}') {
        return json(trimmed);
    }
    logfmt(trimmed)
}

/// A JSON object line.
fn json(raw: &str) -> Option<Compact> {
    let Fields(fields) = serde_json::from_str(raw).ok()?;
    let mut level = None;
    let mut message = None;
    let mut rest = Vec::with_capacity(fields.len());
    for (key, value) in fields {
        let k: &str = &key;
        if level.is_none()
            && LEVEL_KEYS.contains(&k)
            && let Some(l) = string_value(value).as_deref().and_then(Level::from_name)
        {
            level = Some(l);
            continue;
        }
        if TIME_KEYS.contains(&k) {
            continue;
        }
        if message.is_none()
            && MESSAGE_KEYS.contains(&k)
            && let Some(m) = string_value(value)
        {
            message = Some(m);
            continue;
        }
        rest.push((key, value));
    }
    let mut out = Builder::new(level);
    if let Some(m) = message {
        out.word(m.trim_end());
    }
    for (key, value) in rest {
        out.json_field(&key, value, 0);
    }
    Some(out.finish())
}

/// A logfmt line: every token a `key=value` pair (values may be quoted), at least two of
/// them, and one naming the level or the message (so `a=b and more` stays as it is).
fn logfmt(raw: &str) -> Option<Compact> {
    let first = raw.split(' ').next()?;
    if !first.contains('=') {
        return None;
    }
    let pairs = logfmt_pairs(raw)?;
    let named = pairs
        .iter()
        .any(|(k, _)| LEVEL_KEYS.contains(k) || MESSAGE_KEYS.contains(k));
    if pairs.len() < 2 || !named {
        return None;
    }
    let mut level = None;
    let mut message = None;
    let mut rest = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        if level.is_none()
            && LEVEL_KEYS.contains(&key)
            && let Some(l) = Level::from_name(&unquote(value))
        {
            level = Some(l);
            continue;
        }
        if TIME_KEYS.contains(&key) {
            continue;
        }
        if message.is_none() && MESSAGE_KEYS.contains(&key) {
            message = Some(unquote(value));
            continue;
        }
        rest.push((key, value));
    }
    let mut out = Builder::new(level);
    if let Some(m) = message {
        out.word(&m);
    }
    for (key, value) in rest {
        out.pair(key, value);
    }
    Some(out.finish())
}

/// The `key=value` tokens of a logfmt line, values as written (quotes kept); `None` when
/// a token is not a pair.
fn logfmt_pairs(raw: &str) -> Option<Vec<(&str, &str)>> {
    let bytes = raw.as_bytes();
    let mut pairs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b' ' {
            i += 1;
            continue;
        }
        let key_start = i;
        while i < bytes.len() && is_key_byte(bytes[i]) {
            i += 1;
        }
        if i == key_start || bytes.get(i) != Some(&b'=') {
            return None;
        }
        let key = &raw[key_start..i];
        i += 1;
        let value_start = i;
        if bytes.get(i) == Some(&b'"') {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            if i >= bytes.len() {
                return None;
            }
            i += 1;
            if i < bytes.len() && bytes[i] != b' ' {
                return None;
            }
        } else {
            while i < bytes.len() && bytes[i] != b' ' {
                i += 1;
            }
        }
        pairs.push((key, &raw[value_start..i.min(bytes.len())]));
    }
    Some(pairs)
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/' | b'@')
}

/// A logfmt value without its quotes (`\"` and `\\` unescaped).
fn unquote(value: &str) -> Cow<'_, str> {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return Cow::Borrowed(value);
    };
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(next) = chars.next()
        {
            out.push(match next {
                'n' => '\n',
                't' => '\t',
                other => other,
            });
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The string a JSON value holds, unescaped; `None` for any other value.
fn string_value(value: &RawValue) -> Option<Cow<'_, str>> {
    if !value.get().starts_with('"') {
        return None;
    }
    serde_json::from_str::<Str>(value.get()).ok().map(|s| s.0)
}

/// Writes the compact text.
struct Builder {
    text: String,
    level: Option<Level>,
    tag_len: usize,
}

impl Builder {
    fn new(level: Option<Level>) -> Self {
        let mut text = String::with_capacity(128);
        if let Some(l) = level {
            let _ = write!(text, "{:<5} ", l.as_str());
        }
        let tag_len = text.len();
        Self {
            text,
            level,
            tag_len,
        }
    }

    fn space(&mut self) {
        if self.text.len() > self.tag_len {
            self.text.push(' ');
        }
    }

    fn word(&mut self, word: &str) {
        if !word.is_empty() {
            self.space();
            self.text.push_str(word);
        }
    }

    fn pair(&mut self, key: &str, value: &str) {
        self.space();
        self.text.push_str(key);
        self.text.push('=');
        self.text.push_str(value);
    }

    /// `key=value`; an object's fields as `key.inner=value`.
    fn json_field(&mut self, key: &str, value: &RawValue, depth: usize) {
        let raw = value.get();
        if raw.starts_with('{')
            && depth < MAX_DEPTH
            && let Ok(Fields(fields)) = serde_json::from_str(raw)
        {
            for (inner, v) in fields {
                self.json_field(&format!("{key}.{inner}"), v, depth + 1);
            }
            return;
        }
        match string_value(value) {
            Some(s) => {
                let bare = !s.is_empty()
                    && !s
                        .bytes()
                        .any(|b| matches!(b, b' ' | b'=' | b'"') || b.is_ascii_control());
                if bare {
                    self.pair(key, &s);
                } else {
                    self.pair(key, raw);
                }
            }
            None => self.pair(key, raw),
        }
    }

    fn finish(self) -> Compact {
        Compact {
            text: self.text,
            level: self.level,
            tag_len: self.tag_len,
        }
    }
}

/// A JSON object's fields in the order written: keys unescaped, values as raw JSON.
struct Fields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((Str(k), v)) = map.next_entry::<Str<'de>, &'de RawValue>()? {
                    fields.push((k, v));
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(FieldsVisitor)
    }
}

/// A JSON string, borrowed when it holds no escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(StrVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(raw: &str) -> Option<String> {
        compact(raw).map(|c| c.text)
    }

    #[test]
    fn json_lines_read_as_level_message_and_fields() {
        let c = compact(
            r#"{"time":"2026-12-02T08:11:34.603Z","level":"INFO","msg":"request done","path":"/v1/x","ms":12,"ok":true}"#,
        )
        .unwrap();
        assert_eq!(c.text, "INFO  request done path=/v1/x ms=12 ok=true");
        assert_eq!(c.level, Some(Level::Info));
        assert_eq!(c.tag_len, 6);
    }

    #[test]
    fn nested_objects_flatten_and_odd_strings_keep_their_quotes() {
        assert_eq!(
            text(r#"{"severity":"error","message":"boom","http":{"status":502,"peer":{"ip":"10.0.0.1"}},"tags":["a","b"],"who":"a b","empty":""}"#).unwrap(),
            r#"ERROR boom http.status=502 http.peer.ip=10.0.0.1 tags=["a","b"] who="a b" empty="""#
        );
    }

    #[test]
    fn escaped_text_is_unescaped_and_no_level_means_no_tag() {
        let c = compact(r#"{"msg":"line one\nline \"two\"","n":1}"#).unwrap();
        assert_eq!(c.text, "line one\nline \"two\" n=1");
        assert_eq!((c.level, c.tag_len), (None, 0));
    }

    #[test]
    fn an_unknown_level_stays_a_field() {
        assert_eq!(
            text(r#"{"level":"loud","msg":"x"}"#).unwrap(),
            "x level=loud"
        );
    }

    #[test]
    fn logfmt_lines_read_the_same_way() {
        let c =
            compact(r#"time=2026-12-02T08:11:34Z level=warn msg="slow query" table=ledger ms=812"#)
                .unwrap();
        assert_eq!(c.text, "WARN  slow query table=ledger ms=812");
        assert_eq!(c.level, Some(Level::Warn));
        assert_eq!(
            text(r#"lvl=info msg="say \"hi\"" x="a b""#).unwrap(),
            "INFO  say \"hi\" x=\"a b\""
        );
    }

    #[test]
    fn other_lines_are_not_structured() {
        for raw in [
            "INFO [12-02|08:11:34.603] Imported new chain segment  number=123 hash=0xab",
            "a=b and more words",
            "x=1 y=2",
            "GET /v1 200",
            "{not json}",
            "{\"unterminated\":",
            r#"level="open quote"#,
            "",
            "[1,2]",
        ] {
            assert_eq!(compact(raw), None, "{raw}");
        }
    }
}
