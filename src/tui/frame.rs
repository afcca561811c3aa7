//! Writes a frame's changed cells to the terminal in few bytes.
//!
//! ratatui's own writer starts every frame assuming default colours and ends it with four
//! reset sequences (20 bytes), and names every colour by its 256-colour index
//! (`ESC[38;5;9;49m`). On a console left open for hours, where a frame is often one age
//! that moved, that overhead is most of what is sent. Here a frame:
//! - carries its colours and attributes over from cell to cell and sets only what
//!   changes; attributes that go away are cleared with one full reset (`ESC[0;…m`);
//! - names the sixteen basic colours by their short codes (`ESC[91m` for light red: the
//!   same palette entry as index 9);
//! - moves the cursor only where the next cell is not where the last symbol left it, and
//!   forward on the same row with `ESC[nC` (shorter than an absolute move);
//! - ends with one `ESC[0m`, and only when it leaves attributes set, so that whatever the
//!   terminal does next (clearing on resize, leaving the screen) uses default colours.

use std::io::Write as _;

use ratatui::buffer::Cell;
use ratatui::style::{Color, Modifier};
use unicode_width::UnicodeWidthStr;

/// The SGR codes of each attribute, in the order they are written.
const ATTRIBUTES: [(Modifier, u8); 9] = [
    (Modifier::BOLD, 1),
    (Modifier::DIM, 2),
    (Modifier::ITALIC, 3),
    (Modifier::UNDERLINED, 4),
    (Modifier::SLOW_BLINK, 5),
    (Modifier::RAPID_BLINK, 6),
    (Modifier::REVERSED, 7),
    (Modifier::HIDDEN, 8),
    (Modifier::CROSSED_OUT, 9),
];

/// The pen: the colours and attributes the terminal currently draws with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pen {
    fg: Color,
    bg: Color,
    modifier: Modifier,
}

impl Pen {
    const DEFAULT: Self = Self {
        fg: Color::Reset,
        bg: Color::Reset,
        modifier: Modifier::empty(),
    };

    fn of(cell: &Cell) -> Self {
        Self {
            fg: cell.fg,
            bg: cell.bg,
            modifier: cell.modifier,
        }
    }
}

/// Appends the bytes that draw `updates` (from [`ratatui::buffer::Buffer::diff`]) to
/// `out`. The terminal's pen is assumed to be the default one, as every frame written by
/// this function leaves it.
pub fn encode(out: &mut Vec<u8>, updates: &[(u16, u16, &Cell)]) {
    let mut pen = Pen::DEFAULT;
    // Where the cursor is: after a symbol one column wide, the next column.
    let mut cursor: Option<(u16, u16)> = None;
    for &(x, y, cell) in updates {
        match cursor {
            Some((cx, cy)) if cy == y && cx == x => {}
            Some((cx, cy)) if cy == y && cx < x && x - cx < 1000 => {
                // "ESC[nC" is 3 bytes and n; "ESC[r;cH" is 4 bytes and both numbers.
                let _ = write!(out, "\x1b[{}C", x - cx);
            }
            _ => {
                let _ = write!(out, "\x1b[{};{}H", u32::from(y) + 1, u32::from(x) + 1);
            }
        }
        let next = Pen::of(cell);
        if next != pen {
            set_pen(out, pen, next);
            pen = next;
        }
        let symbol = cell.symbol();
        out.extend_from_slice(symbol.as_bytes());
        // After a symbol one column wide the cursor is on the next column: the width the
        // buffer itself gives it (ratatui's diff relies on the same widths). After any
        // other symbol the next cell is placed absolutely.
        let narrow = match symbol.as_bytes() {
            [b] => (b' '..=b'~').contains(b),
            _ => UnicodeWidthStr::width(symbol) == 1,
        };
        cursor = narrow.then(|| (x.saturating_add(1), y));
    }
    if pen != Pen::DEFAULT {
        out.extend_from_slice(b"\x1b[0m");
    }
}

/// Writes the one SGR sequence that changes the pen from `from` to `to`.
fn set_pen(out: &mut Vec<u8>, from: Pen, to: Pen) {
    let mut codes: Vec<String> = Vec::with_capacity(4);
    let reset = !(from.modifier - to.modifier).is_empty();
    let from = if reset {
        codes.push("0".into());
        Pen::DEFAULT
    } else {
        from
    };
    for (flag, code) in ATTRIBUTES {
        if to.modifier.contains(flag) && !from.modifier.contains(flag) {
            codes.push(code.to_string());
        }
    }
    if to.fg != from.fg {
        codes.push(color_code(to.fg, false));
    }
    if to.bg != from.bg {
        codes.push(color_code(to.bg, true));
    }
    out.extend_from_slice(b"\x1b[");
    out.extend_from_slice(codes.join(";").as_bytes());
    out.push(b'm');
}

/// The SGR parameters of a foreground (or background) colour.
fn color_code(color: Color, background: bool) -> String {
    let base: u8 = if background { 40 } else { 30 };
    let basic = |n: u8| (base + n).to_string();
    let bright = |n: u8| (base + 60 + n).to_string();
    let extended = if background { 48 } else { 38 };
    match color {
        Color::Reset => (base + 9).to_string(),
        Color::Black => basic(0),
        Color::Red => basic(1),
        Color::Green => basic(2),
        Color::Yellow => basic(3),
        Color::Blue => basic(4),
        Color::Magenta => basic(5),
        Color::Cyan => basic(6),
        Color::Gray => basic(7),
        Color::DarkGray => bright(0),
        Color::LightRed => bright(1),
        Color::LightGreen => bright(2),
        Color::LightYellow => bright(3),
        Color::LightBlue => bright(4),
        Color::LightMagenta => bright(5),
        Color::LightCyan => bright(6),
        Color::White => bright(7),
        Color::Indexed(i) => format!("{extended};5;{i}"),
        Color::Rgb(r, g, b) => format!("{extended};2;{r};{g};{b}"),
    }
}

#[cfg(test)]
mod tests {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    use super::*;

    fn bytes(prev: &Buffer, next: &Buffer) -> String {
        let mut out = Vec::new();
        encode(&mut out, &prev.diff(next));
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn plain_text_is_one_move_and_the_text() {
        let area = Rect::new(0, 0, 20, 3);
        let prev = Buffer::empty(area);
        let mut next = Buffer::empty(area);
        next.set_string(2, 1, "ab", Style::default());
        assert_eq!(bytes(&prev, &next), "\x1b[2;3Hab");
    }

    #[test]
    fn colours_carry_over_and_one_reset_ends_the_frame() {
        let area = Rect::new(0, 0, 20, 3);
        let prev = Buffer::empty(area);
        let mut next = Buffer::empty(area);
        let red = Style::default()
            .fg(Color::LightRed)
            .add_modifier(Modifier::BOLD);
        next.set_string(4, 0, "1", red);
        next.set_string(4, 1, "1", red);
        next.set_string(4, 2, "1", Style::default().fg(Color::Yellow));
        assert_eq!(
            bytes(&prev, &next),
            "\x1b[1;5H\x1b[1;91m1\x1b[2;5H1\x1b[3;5H\x1b[0;33m1\x1b[0m"
        );
    }

    #[test]
    fn gaps_on_a_row_are_skipped_forward() {
        let area = Rect::new(0, 0, 40, 2);
        let prev = Buffer::empty(area);
        let mut next = Buffer::empty(area);
        next.set_string(1, 0, "a", Style::default());
        next.set_string(30, 0, "b", Style::default());
        assert_eq!(bytes(&prev, &next), "\x1b[1;2Ha\x1b[28Cb");
    }

    #[test]
    fn after_a_wide_symbol_the_cursor_is_placed_again() {
        let area = Rect::new(0, 0, 10, 1);
        let prev = Buffer::empty(area);
        let mut next = Buffer::empty(area);
        next.set_string(0, 0, "●a", Style::default());
        next.set_string(4, 0, "コb", Style::default());
        assert_eq!(bytes(&prev, &next), "\x1b[1;1H●a\x1b[2Cコ\x1b[1;7Hb");
    }

    #[test]
    fn every_colour_has_its_code() {
        assert_eq!(color_code(Color::Reset, false), "39");
        assert_eq!(color_code(Color::Reset, true), "49");
        assert_eq!(color_code(Color::DarkGray, false), "90");
        assert_eq!(color_code(Color::Gray, true), "47");
        assert_eq!(color_code(Color::White, true), "107");
        assert_eq!(color_code(Color::Indexed(208), false), "38;5;208");
        assert_eq!(color_code(Color::Rgb(1, 2, 3), true), "48;2;1;2;3");
    }

    /// Plays the bytes on a grid the size of the buffer: what a terminal would show.
    fn play(area: Rect, bytes: &str) -> Buffer {
        let mut grid = Buffer::empty(area);
        let (mut x, mut y) = (0u16, 0u16);
        let mut pen = Style::default();
        let mut rest = bytes;
        while !rest.is_empty() {
            if let Some(seq) = rest.strip_prefix("\x1b[") {
                let end = seq.find(|c: char| c.is_ascii_alphabetic()).expect("final");
                let (params, kind) = (&seq[..end], &seq[end..=end]);
                let nums: Vec<u16> = params.split(';').map(|p| p.parse().unwrap_or(0)).collect();
                match kind {
                    "H" => (y, x) = (nums[0] - 1, nums[1] - 1),
                    "C" => x += nums[0],
                    "m" => pen = sgr(pen, &nums),
                    other => panic!("unexpected {other}"),
                }
                rest = &seq[end + 1..];
            } else {
                let c = rest.chars().next().expect("a char");
                let s = c.to_string();
                let width =
                    u16::try_from(unicode_width::UnicodeWidthStr::width(s.as_str())).unwrap_or(1);
                let cell = &mut grid[(x, y)];
                cell.set_symbol(&s);
                cell.fg = pen.fg.unwrap_or(Color::Reset);
                cell.bg = pen.bg.unwrap_or(Color::Reset);
                cell.modifier = pen.add_modifier;
                for covered in x + 1..x + width {
                    grid[(covered, y)].reset();
                }
                x += width;
                rest = &rest[c.len_utf8()..];
            }
        }
        assert!(
            pen.fg.unwrap_or(Color::Reset) == Color::Reset
                && pen.bg.unwrap_or(Color::Reset) == Color::Reset
                && pen.add_modifier.is_empty(),
            "the frame leaves the default pen"
        );
        grid
    }

    fn sgr(mut pen: Style, nums: &[u16]) -> Style {
        let mut i = 0;
        let named = [
            Color::Black,
            Color::Red,
            Color::Green,
            Color::Yellow,
            Color::Blue,
            Color::Magenta,
            Color::Cyan,
            Color::Gray,
        ];
        let bright = [
            Color::DarkGray,
            Color::LightRed,
            Color::LightGreen,
            Color::LightYellow,
            Color::LightBlue,
            Color::LightMagenta,
            Color::LightCyan,
            Color::White,
        ];
        while i < nums.len() {
            let n = nums[i];
            match n {
                0 => pen = Style::default(),
                1..=9 => {
                    let flag = ATTRIBUTES.iter().find(|(_, c)| u16::from(*c) == n);
                    pen = pen.add_modifier(flag.expect("attribute").0);
                }
                30..=37 => pen = pen.fg(named[usize::from(n - 30)]),
                39 => pen = pen.fg(Color::Reset),
                40..=47 => pen = pen.bg(named[usize::from(n - 40)]),
                49 => pen = pen.bg(Color::Reset),
                90..=97 => pen = pen.fg(bright[usize::from(n - 90)]),
                100..=107 => pen = pen.bg(bright[usize::from(n - 100)]),
                38 | 48 => {
                    let color = if nums[i + 1] == 5 {
                        i += 2;
                        Color::Indexed(u8::try_from(nums[i]).expect("index"))
                    } else {
                        i += 4;
                        let c = |k: usize| u8::try_from(nums[k]).expect("rgb");
                        Color::Rgb(c(i - 2), c(i - 1), c(i))
                    };
                    pen = if n == 38 {
                        pen.fg(color)
                    } else {
                        pen.bg(color)
                    };
                }
                other => panic!("unexpected SGR {other}"),
            }
            i += 1;
        }
        pen
    }

    /// Normalises a style as a cell holds it, for comparison with a played grid.
    fn styles(buffer: &Buffer) -> Vec<(String, Color, Color, Modifier)> {
        buffer
            .content
            .iter()
            .map(|c| (c.symbol().to_owned(), c.fg, c.bg, c.modifier))
            .collect()
    }

    #[test]
    fn played_back_the_bytes_show_the_frame_from_a_blank_screen_and_after_a_change() {
        let area = Rect::new(0, 0, 24, 4);
        let colours = [
            Style::default()
                .fg(Color::LightRed)
                .add_modifier(Modifier::BOLD),
            Style::default().fg(Color::Indexed(208)).bg(Color::Blue),
            Style::default()
                .fg(Color::Rgb(10, 20, 30))
                .add_modifier(Modifier::REVERSED | Modifier::DIM),
            Style::default().add_modifier(Modifier::UNDERLINED),
            Style::default(),
        ];
        let mut first = Buffer::empty(area);
        let mut second = Buffer::empty(area);
        for (i, style) in colours.iter().enumerate() {
            let i = u16::try_from(i).expect("small");
            first.set_string(i * 2, i % 4, "ab·c", *style);
            second.set_string(
                i * 3 + 1,
                (i + 1) % 4,
                "x●yコz",
                colours[(i as usize + 1) % 5],
            );
        }
        let blank = Buffer::empty(area);
        let shown = play(area, &bytes(&blank, &first));
        assert_eq!(styles(&shown), styles(&first));
        // The second frame is written over the first: play both.
        let both = format!("{}{}", bytes(&blank, &first), bytes(&first, &second));
        assert_eq!(styles(&play(area, &both)), styles(&second));
    }
}
