//! Masking for screens shown to an audience (`--redact`, `redact = true`): AWS account
//! IDs (twelve digits standing alone, as in the account part of an ARN) and IPv4
//! addresses have their digits replaced by `*`, so a screen share of staging gives
//! neither away. A masked text keeps its width (a digit becomes one `*`), so the layout
//! of a screen never moves.
//!
//! [`text`] masks a string; [`buffer`] masks a drawn frame row by row, which covers every
//! view at once; [`json`] masks the strings of a JSON document and leaves its numbers,
//! so it stays valid. Pure functions: no I/O.

use std::borrow::Cow;
use std::ops::Range;

use ratatui::buffer::Buffer;

/// What a masked digit shows as.
pub const MASK: char = '*';

/// `text` with its account IDs and IPv4 addresses masked (borrowed when there is none).
pub fn text(text: &str) -> Cow<'_, str> {
    let ranges = sensitive(text);
    if ranges.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in ranges {
        out.push_str(&text[at..r.start]);
        out.extend(
            text[r.clone()]
                .chars()
                .map(|c| if c.is_ascii_digit() { MASK } else { c }),
        );
        at = r.end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// Masks every string in a JSON value (keys and numbers are left as they are).
pub fn json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            if let Cow::Owned(masked) = text(s) {
                *s = masked;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(json),
        serde_json::Value::Object(map) => map.values_mut().for_each(json),
        _ => {}
    }
}

/// Masks what a drawn frame shows, row by row: each digit cell inside an account ID or
/// an IPv4 address becomes `*` in the same style.
pub fn buffer(buf: &mut Buffer) {
    let area = buf.area;
    let mut row = String::with_capacity(usize::from(area.width) * 2);
    let mut starts: Vec<usize> = Vec::with_capacity(usize::from(area.width));
    for y in area.top()..area.bottom() {
        row.clear();
        starts.clear();
        for x in area.left()..area.right() {
            starts.push(row.len());
            row.push_str(buf[(x, y)].symbol());
        }
        if !row.bytes().any(|b| b.is_ascii_digit()) {
            continue;
        }
        for r in sensitive(&row) {
            for (i, start) in starts.iter().enumerate() {
                if r.contains(start) {
                    let cell = &mut buf[(area.left() + i as u16, y)];
                    if cell.symbol().bytes().all(|b| b.is_ascii_digit())
                        && !cell.symbol().is_empty()
                    {
                        cell.set_char(MASK);
                    }
                }
            }
        }
    }
}

/// Byte ranges of `text` that are account IDs or IPv4 addresses, in order.
fn sensitive(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let inside_dotted = i >= 2 && bytes[i - 1] == b'.' && bytes[i - 2].is_ascii_digit();
        if !bytes[i].is_ascii_digit() || (i > 0 && is_word(bytes[i - 1])) || inside_dotted {
            i += 1;
            continue;
        }
        if let Some(end) = ipv4_at(bytes, i) {
            found.push(i..end);
            i = end;
            continue;
        }
        let run = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        let end = i + run;
        if run == 12 && !bytes.get(end).is_some_and(|b| is_word(*b)) {
            found.push(i..end);
        }
        i = end;
    }
    found
}

/// The end of an IPv4 address starting at `i` (four dotted numbers up to 255, not part
/// of a longer dotted number or a word).
fn ipv4_at(bytes: &[u8], mut i: usize) -> Option<usize> {
    for part in 0..4 {
        let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 3 {
            return None;
        }
        let value: u32 = std::str::from_utf8(&bytes[i..i + digits])
            .ok()?
            .parse()
            .ok()?;
        if value > 255 {
            return None;
        }
        i += digits;
        if part < 3 {
            if bytes.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    let continues = bytes.get(i).is_some_and(|b| is_word(*b))
        || (bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
    (!continues).then_some(i)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use ratatui::layout::Rect;
    use ratatui::style::{Color, Style};

    use super::*;

    #[test]
    fn account_ids_and_addresses_are_masked_in_place() {
        assert_eq!(
            text("arn:aws:iam::123456789012:role/ecsTaskRole"),
            "arn:aws:iam::************:role/ecsTaskRole"
        );
        assert_eq!(
            text("target 10.1.2.3:8545 and 192.168.100.254"),
            "target **.*.*.*:8545 and ***.***.***.***"
        );
        assert_eq!(
            text("ibet-prd-123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/api:1.4"),
            "ibet-prd-************.dkr.ecr.ap-northeast-1.amazonaws.com/api:1.4"
        );
    }

    #[test]
    fn other_numbers_stay() {
        for plain in [
            "block 12345678 at 1795000000123",
            "0x123456789012abcd",
            "v1.2.3",
            "1.2.3.4.5",
            "300.1.2.3",
            "1234567890123",
            "id12345678901234",
            "task 85b5a216 revision :56",
        ] {
            assert_eq!(text(plain), plain);
            assert!(matches!(text(plain), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn json_strings_are_masked_and_numbers_kept() {
        let mut v = serde_json::json!({
            "arn": "arn:aws:ecs:ap-northeast-1:123456789012:service/x",
            "n": 123_456_789_012_u64,
            "list": ["10.0.0.1"],
        });
        json(&mut v);
        assert_eq!(
            v["arn"],
            "arn:aws:ecs:ap-northeast-1:************:service/x"
        );
        assert_eq!(v["n"], 123_456_789_012_u64);
        assert_eq!(v["list"][0], "**.*.*.*");
    }

    #[test]
    fn a_frame_is_masked_cell_by_cell_keeping_styles() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 30, 2));
        let red = Style::new().fg(Color::Red);
        buf.set_string(0, 0, "peer 10.0.12.7 ok", red);
        buf.set_string(0, 1, "acct 123456789012 日本", Style::new());
        buffer(&mut buf);
        let row =
            |y: u16| -> String { (0..30).map(|x| buf[(x, y)].symbol().to_string()).collect() };
        assert!(row(0).starts_with("peer **.*.**.* ok"), "{}", row(0));
        assert!(row(1).starts_with("acct ************ 日"), "{}", row(1));
        assert_eq!(buf[(5, 0)].fg, Color::Red);
    }
}
