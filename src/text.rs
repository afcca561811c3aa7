//! Display-safe text: what may reach the terminal from a log line or a node.
//!
//! Log messages, node answers and AWS strings are written by other programs; nothing in
//! them may move the cursor, change colours, set the window title, open hyperlinks or
//! otherwise change the terminal. Everything shown on screen or printed by a subcommand
//! passes through [`sanitize`] (or [`sanitize_bytes`] for raw bytes). This module only
//! transforms strings; it never writes anywhere.
//!
//! The rules, in one place:
//!
//! - **Escape sequences are removed whole**: CSI (`ESC [` … final byte), OSC (`ESC ]` …
//!   up to BEL or ST), DCS (`ESC P`), SOS (`ESC X`), PM (`ESC ^`) and APC (`ESC _`)
//!   strings up to their terminator (ST is `ESC \` or U+009C; BEL is accepted too), and
//!   short escapes (`ESC 7`, `ESC c`, `ESC ( B`, …). Their 8-bit C1 forms (U+009B CSI,
//!   U+009D OSC, U+0090 DCS, U+0098 SOS, U+009E PM, U+009F APC) are removed the same way.
//!   A string sequence with no terminator swallows the rest of the text, as a terminal
//!   would. Colour codes (SGR) are removed too: the console colours by its own theme.
//! - **A lone ESC** (not followed by a sequence) shows as `␛`.
//! - **Other C0 controls and DEL show as Unicode control pictures**: `␈` for backspace,
//!   `␍` for CR, `␇` for BEL, `␊` for a line feed inside a message, `␡` for DEL, and so
//!   on (U+2400 + code). A single trailing line ending is dropped first.
//! - **Other C1 controls** (U+0080–U+009F) show as `�`.
//! - **Bidirectional overrides and isolates** (U+202A–U+202E, U+2066–U+2069) are removed,
//!   so a line cannot reorder what follows it; U+2028/U+2029 show as `␤`.
//! - **Tabs** expand to spaces up to the next multiple of [`TAB_WIDTH`] display columns
//!   (8, as terminals do), counting wide characters as two columns.
//! - **Invalid UTF-8** is decoded lossily (`�`) by [`sanitize_bytes`].
//!
//! [`truncate_to_width`] and [`display_width`] measure in terminal columns with
//! `unicode-width`, so a cut never splits a wide character.

use unicode_width::UnicodeWidthChar;

/// Tab stops are every this many display columns.
pub const TAB_WIDTH: usize = 8;

/// What a lone ESC shows as.
pub const ESC_PICTURE: char = '␛';

/// What a C1 control outside a sequence shows as.
pub const C1_PICTURE: char = '\u{FFFD}';

/// Returns `text` made display-safe (see the module documentation for the rules).
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    sanitize_into(text, &mut out);
    out
}

/// [`sanitize`] without a copy when `text` is display-safe already (most log lines).
pub fn sanitize_cow(text: &str) -> std::borrow::Cow<'_, str> {
    let stripped = strip_line_ending(text);
    if is_plain(stripped) {
        std::borrow::Cow::Borrowed(stripped)
    } else {
        std::borrow::Cow::Owned(sanitize(text))
    }
}

/// Decodes `bytes` as UTF-8 (invalid sequences become `�`) and makes it display-safe.
pub fn sanitize_bytes(bytes: &[u8]) -> String {
    sanitize(&String::from_utf8_lossy(bytes))
}

/// Appends `text`, made display-safe, to `out` (the allocation-free form of [`sanitize`]).
pub fn sanitize_into(text: &str, out: &mut String) {
    let text = strip_line_ending(text);
    if is_plain(text) {
        out.push_str(text);
        return;
    }
    let mut column = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => {
                let spaces = TAB_WIDTH - column % TAB_WIDTH;
                out.extend(std::iter::repeat_n(' ', spaces));
                column += spaces;
                continue;
            }
            '\u{1b}' => {
                if !skip_escape(&mut chars) {
                    out.push(ESC_PICTURE);
                    column += 1;
                }
                continue;
            }
            '\u{9b}' => {
                skip_csi_body(&mut chars);
                continue;
            }
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => {
                skip_string_body(&mut chars);
                continue;
            }
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => continue,
            _ => {}
        }
        let shown = visible(c);
        out.push(shown);
        column += shown.width().unwrap_or(0);
    }
}

/// The display width of `text` in terminal columns (controls count as zero; sanitise
/// first to measure what will be shown).
pub fn display_width(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// The longest prefix of `text` that fits in `cols` terminal columns, never splitting a
/// character: a wide character that would straddle the edge is left out whole.
/// Zero-width characters (combining marks) that follow the last fitting character stay
/// with it.
pub fn truncate_to_width(text: &str, cols: usize) -> &str {
    let mut used = 0usize;
    for (at, c) in text.char_indices() {
        let w = c.width().unwrap_or(0);
        if used + w > cols {
            return &text[..at];
        }
        used += w;
    }
    text
}

/// Whether `text` needs no change at all: no control, escape, C1, bidi or tab. This is
/// the fast path taken by almost every log line.
fn is_plain(text: &str) -> bool {
    // 0xC2 leads U+0080..U+00BF (the C1 range among them); 0xE2 leads U+2000..U+2FFF
    // (the bidi controls and separators among them). Both are checked precisely below.
    let bytes = text.as_bytes();
    if !bytes
        .iter()
        .any(|&b| b < 0x20 || b == 0x7f || b == 0xc2 || b == 0xe2)
    {
        return true;
    }
    !text.chars().any(needs_care)
}

fn needs_care(c: char) -> bool {
    matches!(c,
        '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{2028}' | '\u{2029}')
}

/// Drops one trailing `\n` or `\r\n` (a message's own line ending is not content).
fn strip_line_ending(text: &str) -> &str {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.strip_suffix('\r').unwrap_or(text)
}

/// What a single character shows as, once sequences have been dealt with.
fn visible(c: char) -> char {
    match c {
        // C0 controls map onto the Control Pictures block, U+2400 + code.
        '\0'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or(C1_PICTURE),
        '\u{7f}' => '␡',
        '\u{80}'..='\u{9f}' => C1_PICTURE,
        '\u{2028}' | '\u{2029}' => '␤',
        _ => c,
    }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After an ESC: consumes the sequence it starts and returns true, or returns false (and
/// consumes nothing) when the ESC starts no sequence.
fn skip_escape(chars: &mut Chars<'_>) -> bool {
    match chars.peek().copied() {
        Some('[') => {
            chars.next();
            skip_csi_body(chars);
            true
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            chars.next();
            skip_string_body(chars);
            true
        }
        // nF escapes: intermediates 0x20–0x2F, then one final byte 0x30–0x7E.
        Some('\u{20}'..='\u{2f}') => {
            while chars
                .next_if(|c| matches!(c, '\u{20}'..='\u{2f}'))
                .is_some()
            {}
            chars.next_if(|c| matches!(c, '\u{30}'..='\u{7e}'));
            true
        }
        // Fp, Fe and Fs escapes: one final byte (ESC 7, ESC c, ESC =, ESC M, ...).
        Some('\u{30}'..='\u{7e}') => {
            chars.next();
            true
        }
        _ => false,
    }
}

/// Consumes a CSI's parameter (0x30–0x3F) and intermediate (0x20–0x2F) bytes and its
/// final byte (0x40–0x7E). Anything else ends the sequence without being consumed, so a
/// malformed sequence cannot swallow the text after it.
fn skip_csi_body(chars: &mut Chars<'_>) {
    while chars
        .next_if(|c| matches!(c, '\u{20}'..='\u{3f}'))
        .is_some()
    {}
    chars.next_if(|c| matches!(c, '\u{40}'..='\u{7e}'));
}

/// Consumes a control string (OSC, DCS, SOS, PM, APC) up to and including its
/// terminator: BEL, `ESC \` or U+009C. Without a terminator it runs to the end.
fn skip_string_body(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

/// `word`, quoted for a POSIX shell when it needs it.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_inert(s: &str) {
        assert!(
            !s.chars().any(needs_care) && !s.contains('\t'),
            "not inert: {s:?}"
        );
    }

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(sanitize("hello, world"), "hello, world");
        assert_eq!(sanitize("日本語のログ"), "日本語のログ");
        assert_eq!(
            sanitize("curly ’quotes’ and … ¡olé!"),
            "curly ’quotes’ and … ¡olé!"
        );
        assert_eq!(sanitize(""), "");
    }

    #[test]
    fn clear_screen_is_removed() {
        assert_eq!(sanitize("\x1b[2Jgone"), "gone");
        assert_eq!(sanitize("a\x1b[H\x1b[2Jb"), "ab");
    }

    #[test]
    fn colours_are_removed() {
        assert_eq!(sanitize("\x1b[32mINFO\x1b[0m ok"), "INFO ok");
        assert_eq!(sanitize("\x1b[1;38;5;196mred\x1b[m"), "red");
        assert_eq!(sanitize("\x1b[?25lhidden cursor"), "hidden cursor");
    }

    #[test]
    fn window_title_is_removed() {
        assert_eq!(sanitize("\x1b]0;title\x07after"), "after");
        assert_eq!(sanitize("\x1b]2;title\x1b\\after"), "after");
        assert_eq!(sanitize("\x1b]0;title\u{9c}after"), "after");
    }

    #[test]
    fn hyperlinks_are_removed_and_their_text_kept() {
        assert_eq!(
            sanitize("\x1b]8;;https://example.invalid\x1b\\click\x1b]8;;\x1b\\ here"),
            "click here"
        );
    }

    #[test]
    fn device_control_and_private_strings_are_removed() {
        assert_eq!(sanitize("a\x1bPq#0;2;0;0;0\x1b\\b"), "ab");
        assert_eq!(sanitize("a\x1b_apc payload\x1b\\b"), "ab");
        assert_eq!(sanitize("a\x1b^pm\x1b\\b"), "ab");
        assert_eq!(sanitize("a\x1bXsos\x1b\\b"), "ab");
    }

    #[test]
    fn unterminated_strings_swallow_the_rest() {
        assert_eq!(sanitize("shown\x1b]0;never ends"), "shown");
    }

    #[test]
    fn short_escapes_are_removed() {
        assert_eq!(sanitize("a\x1b7b\x1b8c"), "abc");
        assert_eq!(sanitize("a\x1bcb"), "ab");
        assert_eq!(sanitize("a\x1b(Bb"), "ab");
        assert_eq!(sanitize("a\x1b#8b"), "ab");
    }

    #[test]
    fn lone_escape_is_visible() {
        assert_eq!(sanitize("end\x1b"), "end␛");
        assert_eq!(sanitize("a\x1b\x1b[0mb"), "a␛b");
        assert_eq!(sanitize("a\x1bé"), "a␛é");
    }

    #[test]
    fn c1_sequences_are_removed() {
        assert_eq!(sanitize("a\u{9b}2Jb"), "ab");
        assert_eq!(sanitize("a\u{9b}31mred"), "ared");
        assert_eq!(sanitize("a\u{9d}0;title\u{9c}b"), "ab");
        assert_eq!(sanitize("a\u{90}dcs\u{9c}b"), "ab");
        assert_eq!(sanitize("a\u{85}b\u{8d}c"), "a�b�c");
    }

    #[test]
    fn c1_csi_byte_in_invalid_utf8_is_inert() {
        let s = sanitize_bytes(b"a\x9b2Jb");
        assert_eq!(s, "a\u{FFFD}2Jb");
        assert_inert(&s);
    }

    #[test]
    fn carriage_return_overwrite_trick_is_visible() {
        // A terminal would show "evil" over "safe text"; we show both.
        assert_eq!(sanitize("safe text\revil"), "safe text␍evil");
        assert_eq!(
            sanitize("password: hunter2\r\x1b[K***"),
            "password: hunter2␍***"
        );
    }

    #[test]
    fn backspace_and_bell_are_visible() {
        assert_eq!(sanitize("abc\x08\x08xy"), "abc␈␈xy");
        assert_eq!(sanitize("ding\x07"), "ding␇");
        assert_eq!(sanitize("nul\0"), "nul␀");
        assert_eq!(sanitize("del\x7f"), "del␡");
    }

    #[test]
    fn line_endings() {
        assert_eq!(sanitize("one line\n"), "one line");
        assert_eq!(sanitize("one line\r\n"), "one line");
        assert_eq!(sanitize("two\nlines\n"), "two␊lines");
        assert_eq!(sanitize("a\u{2028}b"), "a␤b");
    }

    #[test]
    fn bidi_overrides_are_removed() {
        assert_eq!(sanitize("user\u{202e}gnp.exe"), "usergnp.exe");
        assert_eq!(sanitize("a\u{2066}b\u{2069}c"), "abc");
    }

    #[test]
    fn tabs_expand_to_stops_of_eight() {
        assert_eq!(sanitize("\tx"), "        x");
        assert_eq!(sanitize("ab\tx"), "ab      x");
        assert_eq!(sanitize("abcdefgh\tx"), "abcdefgh        x");
        assert_eq!(sanitize("a\tb\tc"), "a       b       c");
        // A wide character counts two columns.
        assert_eq!(sanitize("日\tx"), "日      x");
        // Removed sequences take no columns.
        assert_eq!(sanitize("\x1b[1mab\x1b[0m\tx"), "ab      x");
    }

    #[test]
    fn invalid_utf8_is_decoded_lossily() {
        assert_eq!(
            sanitize_bytes(b"ok \xff\xfe end"),
            "ok \u{FFFD}\u{FFFD} end"
        );
        assert_eq!(sanitize_bytes(b"\x1b[2Jx\xc3"), "x\u{FFFD}");
    }

    #[test]
    fn everything_nasty_at_once_is_inert() {
        let nasty =
            "\x1b[2J\x1b]0;t\x07\x1b]8;;u\x1b\\l\x1b]8;;\x1b\\\r\x08\x07\x7f\u{9b}1m\u{85}\t\x1b";
        let s = sanitize(nasty);
        assert_inert(&s);
        assert!(!s.contains('\u{1b}'));
    }

    #[test]
    fn every_single_char_is_inert() {
        for code in 0u32..0x3000 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let s = sanitize(&format!("x{c}y"));
            assert_inert(&s);
        }
    }

    #[test]
    fn widths() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("日本"), 4);
        assert_eq!(display_width("e\u{301}"), 1);
    }

    #[test]
    fn truncation_never_splits_a_wide_char() {
        assert_eq!(truncate_to_width("hello", 3), "hel");
        assert_eq!(truncate_to_width("hello", 10), "hello");
        assert_eq!(truncate_to_width("日本語", 4), "日本");
        assert_eq!(truncate_to_width("日本語", 5), "日本");
        assert_eq!(truncate_to_width("日本語", 1), "");
        assert_eq!(truncate_to_width("a日", 2), "a");
        assert_eq!(truncate_to_width("", 0), "");
        assert_eq!(truncate_to_width("abc", 0), "");
        // A combining mark stays with its base character.
        assert_eq!(truncate_to_width("ae\u{301}x", 2), "ae\u{301}");
        for cols in 0..8 {
            assert!(display_width(truncate_to_width("日本語ab", cols)) <= cols);
        }
    }
}
