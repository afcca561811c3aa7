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
//!
//! [`write_frame`] first looks for rows that moved as a block, up or down (a log view
//! following new lines, the body moving when the problem strip grows): the terminal
//! moves them itself (a scroll region and `ESC[nL` / `ESC[nM`, as curses does), and
//! only what is new is drawn.
//!
//! The writer trusts its model of the screen (the frame it wrote last): it must not be
//! used after anything else wrote to the terminal until [`REPAINT`] is written and the
//! model is dropped, so that the next frame is written whole on a blank screen.

use std::io::Write as _;

use ratatui::buffer::{Buffer, Cell};
use ratatui::style::{Color, Modifier};
use unicode_width::UnicodeWidthStr;

/// The bytes that put the terminal back in the state frames are written in, whatever
/// wrote to it since (an SSO prompt, `wall`): no scroll region, the default pen, the
/// basic character set, the cursor hidden, and a blank screen. After them the writer's
/// model of the screen is a blank buffer.
pub const REPAINT: &[u8] = b"\x1b[r\x1b[0m\x1b(B\x0f\x1b[?25l\x1b[2J";

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

/// How far rows may move as a block and still be found.
const MAX_SHIFT: u16 = 12;

/// Rows that moved as a block: rows `from..=to` of the new frame are rows
/// `from - by..=to - by` of the shown one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shift {
    from: u16,
    to: u16,
    /// Rows moved; positive: down.
    by: i32,
    /// Rows it saves drawing.
    gain: u16,
}

/// Appends to `out` the bytes that turn the screen from `shown` into `next` (same area),
/// and makes `shown` what the screen then shows.
pub fn write_frame(out: &mut Vec<u8>, shown: &mut Buffer, next: &Buffer) {
    if let Some(moved) = find_shift(shown, next) {
        scroll(out, shown, moved);
    }
    encode(out, &updates(shown, next));
    shown.content.clone_from_slice(&next.content);
}

/// The cells to write: those that changed ([`Buffer::diff`]), and the right halves of
/// wide symbols that a narrower symbol overwrites. The terminal erases such a half
/// itself, and not the same way everywhere: tmux leaves a blank in default colours,
/// others (the vt100 crate) a blank in the colours of the symbol just written. Writing
/// the half again makes it what the frame says.
fn updates<'a>(shown: &Buffer, next: &'a Buffer) -> Vec<(u16, u16, &'a Cell)> {
    let mut updates = shown.diff(next);
    let width = |cell: &Cell| u16::try_from(cell.symbol().width()).unwrap_or(1).max(1);
    let columns = next.area.width;
    let mut halves = Vec::new();
    for &(x, y, cell) in &updates {
        let end = x.saturating_add(width(cell)).min(columns);
        // Where the symbols shown under the new one end: past `end`, a wide one's half.
        let covered = (x..end)
            .map(|p| p.saturating_add(width(&shown[(p, y)])))
            .max()
            .unwrap_or(end)
            .min(columns);
        for p in end..covered {
            // Not a column the next frame covers with a wide symbol of its own.
            if width(&next[(p - 1, y)]) < 2 {
                halves.push((p, y));
            }
        }
    }
    if halves.is_empty() {
        return updates;
    }
    updates.extend(halves.into_iter().map(|(x, y)| (x, y, &next[(x, y)])));
    updates.sort_by_key(|&(x, y, _)| (y, x));
    updates.dedup_by_key(|&mut (x, y, _)| (x, y));
    updates
}

fn row(buffer: &Buffer, y: u16) -> &[Cell] {
    let width = usize::from(buffer.area.width);
    let start = usize::from(y) * width;
    &buffer.content[start..start + width]
}

/// The block move that saves the most rows, if it saves at least three. Rows are
/// compared cell by cell, stopping at the first difference; small moves are tried
/// first (a log view following new lines moves by a line or two) and the search stops
/// once a move explains nearly every changed row.
fn find_shift(shown: &Buffer, next: &Buffer) -> Option<Shift> {
    let height = next.area.height;
    let changed: Vec<bool> = (0..height).map(|y| row(shown, y) != row(next, y)).collect();
    let changed_rows = changed.iter().filter(|c| **c).count();
    if changed_rows < 3 {
        return None;
    }
    let blank = |y: u16| row(next, y).iter().all(|c| *c == Cell::EMPTY);
    let mut best: Option<Shift> = None;
    for distance in 1..=MAX_SHIFT.min(height.saturating_sub(1)) {
        for shift in [-i32::from(distance), i32::from(distance)] {
            // Row y of the new frame is row y - shift of the shown one.
            let moves = |y: u16| {
                u16::try_from(i32::from(y) - shift)
                    .ok()
                    .filter(|source| *source < height)
                    .is_some_and(|source| row(shown, source) == row(next, y))
            };
            // Only changed rows can save drawing: a move needs three of them first.
            let moving_changed = (0..height)
                .filter(|y| changed[usize::from(*y)] && moves(*y))
                .take(3)
                .count();
            if moving_changed < 3 {
                continue;
            }
            let mut y = 0;
            while y < height {
                if !moves(y) {
                    y += 1;
                    continue;
                }
                let from = y;
                let mut saved = 0u16;
                while y < height && moves(y) {
                    saved += u16::from(changed[usize::from(y)]);
                    y += 1;
                }
                let to = y - 1;
                // The rows the move leaves blank: drawn again unless blank or redrawn anyway.
                let band = if shift > 0 {
                    from - distance..from
                } else {
                    to + 1..to + 1 + distance
                };
                let lost = band
                    .filter(|b| !changed[usize::from(*b)] && !blank(*b))
                    .count();
                let gain = saved.saturating_sub(u16::try_from(lost).unwrap_or(u16::MAX));
                if gain >= 3 && best.is_none_or(|b| gain > b.gain) {
                    best = Some(Shift {
                        from,
                        to,
                        by: shift,
                        gain,
                    });
                }
            }
            if best.is_some_and(|b| usize::from(b.gain) + 2 >= changed_rows) {
                return best;
            }
        }
    }
    best
}

/// Moves the rows of `moved` on the terminal and in `shown`: a scroll region around the
/// rows involved, lines inserted (down) or deleted (up) at its top, the region reset.
fn scroll(out: &mut Vec<u8>, shown: &mut Buffer, moved: Shift) {
    let distance = moved.by.unsigned_abs() as u16;
    let (top, bottom) = if moved.by > 0 {
        (moved.from - distance, moved.to)
    } else {
        (moved.from, moved.to + distance)
    };
    let verb = if moved.by > 0 { 'L' } else { 'M' };
    let _ = write!(
        out,
        "\x1b[{};{}r\x1b[{};1H\x1b[{distance}{verb}\x1b[r",
        u32::from(top) + 1,
        u32::from(bottom) + 1,
        u32::from(top) + 1,
    );
    let width = usize::from(shown.area.width);
    let rows = usize::from(top) * width..(usize::from(bottom) + 1) * width;
    let region = &mut shown.content[rows];
    let by = usize::from(distance) * width;
    if moved.by > 0 {
        region.rotate_right(by);
        region[..by].iter_mut().for_each(Cell::reset);
    } else {
        region.rotate_left(by);
        let len = region.len();
        region[len - by..].iter_mut().for_each(Cell::reset);
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
    // Parameters go straight into `out`, separated by ';' (a frame sets the pen often).
    out.extend_from_slice(b"\x1b[");
    let mut first = true;
    let mut param = |out: &mut Vec<u8>, code: &dyn std::fmt::Display| {
        if !first {
            out.push(b';');
        }
        first = false;
        let _ = write!(out, "{code}");
    };
    let reset = !(from.modifier - to.modifier).is_empty();
    let from = if reset {
        param(out, &0);
        Pen::DEFAULT
    } else {
        from
    };
    for (flag, code) in ATTRIBUTES {
        if to.modifier.contains(flag) && !from.modifier.contains(flag) {
            param(out, &code);
        }
    }
    if to.fg != from.fg {
        param(out, &color_code(to.fg, false));
    }
    if to.bg != from.bg {
        param(out, &color_code(to.bg, true));
    }
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
        play_on(Buffer::empty(area), bytes)
    }

    /// Plays the bytes on `grid` (what the screen showed before).
    fn play_on(mut grid: Buffer, bytes: &str) -> Buffer {
        let area = grid.area;
        let mut region = (0, area.height - 1);
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
                    "r" => {
                        region = if params.is_empty() {
                            (0, area.height - 1)
                        } else {
                            (nums[0] - 1, nums[1] - 1)
                        };
                        (x, y) = (0, 0);
                    }
                    "L" | "M" => {
                        assert!((region.0..=region.1).contains(&y), "outside the region");
                        let w = usize::from(area.width);
                        let rows =
                            &mut grid.content[usize::from(y) * w..(usize::from(region.1) + 1) * w];
                        let by = (usize::from(nums[0]) * w).min(rows.len());
                        if kind == "L" {
                            rows.rotate_right(by);
                            rows[..by].iter_mut().for_each(Cell::reset);
                        } else {
                            rows.rotate_left(by);
                            let len = rows.len();
                            rows[len - by..].iter_mut().for_each(Cell::reset);
                        }
                    }
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

    /// An independent terminal emulator (the vt100 crate) the size of `area`, blank.
    fn emulator(area: Rect) -> vt100::Parser {
        let size = |n: u16| std::num::NonZeroU16::new(n).expect("not empty");
        vt100::Parser::new(size(area.height), size(area.width), 0)
    }

    /// An emulator that shows `frame`, written on its blank screen.
    fn emulator_showing(frame: &Buffer) -> vt100::Parser {
        let mut parser = emulator(frame.area);
        let (bytes, _) = frame_bytes(&Buffer::empty(frame.area), frame);
        parser.process(bytes.as_bytes());
        parser
    }

    fn vt100_color(color: Color) -> vt100::Color {
        use vt100::Color::{Default, Idx, Rgb};
        match color {
            Color::Reset => Default,
            Color::Black => Idx(0),
            Color::Red => Idx(1),
            Color::Green => Idx(2),
            Color::Yellow => Idx(3),
            Color::Blue => Idx(4),
            Color::Magenta => Idx(5),
            Color::Cyan => Idx(6),
            Color::Gray => Idx(7),
            Color::DarkGray => Idx(8),
            Color::LightRed => Idx(9),
            Color::LightGreen => Idx(10),
            Color::LightYellow => Idx(11),
            Color::LightBlue => Idx(12),
            Color::LightMagenta => Idx(13),
            Color::LightCyan => Idx(14),
            Color::White => Idx(15),
            Color::Indexed(i) => Idx(i),
            Color::Rgb(r, g, b) => Rgb(r, g, b),
        }
    }

    /// A cell as the emulator keeps it: symbol, colours, and the attributes it knows
    /// (bold, dim, italic, underlined, reversed; blinking, hidden and crossed-out are
    /// not kept). vt100 keeps bold and dim as one intensity: no frame here sets both.
    type Shown = (String, vt100::Color, vt100::Color, [bool; 5]);

    /// Asserts that the emulator shows `frame`, cell by cell. The right half of a wide
    /// symbol is skipped: ratatui keeps a blank cell there, the emulator the symbol's
    /// continuation.
    fn assert_emulator_shows(parser: &vt100::Parser, frame: &Buffer, bytes: &str) {
        let screen = parser.screen();
        let mut wrong: Vec<((u16, u16), Shown, Shown)> = Vec::new();
        for y in 0..frame.area.height {
            for x in 0..frame.area.width {
                let got = screen.cell(y, x).expect("inside the screen");
                if got.is_wide_continuation() {
                    continue;
                }
                let cell = &frame[(x, y)];
                let want: Shown = (
                    cell.symbol().to_owned(),
                    vt100_color(cell.fg),
                    vt100_color(cell.bg),
                    [
                        Modifier::BOLD,
                        Modifier::DIM,
                        Modifier::ITALIC,
                        Modifier::UNDERLINED,
                        Modifier::REVERSED,
                    ]
                    .map(|m| cell.modifier.contains(m)),
                );
                let contents = got.contents();
                let got: Shown = (
                    if contents.is_empty() { " " } else { contents }.to_owned(),
                    got.fgcolor(),
                    got.bgcolor(),
                    [
                        got.bold(),
                        got.dim(),
                        got.italic(),
                        got.underline(),
                        got.inverse(),
                    ],
                );
                if got != want {
                    wrong.push(((x, y), want, got));
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "{} cells differ; first (x, y), frame, emulator: {:?}\nscreen:\n{}\nbytes: {bytes:?}",
            wrong.len(),
            &wrong[..wrong.len().min(3)],
            screen.contents(),
        );
    }

    fn frame_bytes(shown: &Buffer, next: &Buffer) -> (String, Buffer) {
        let mut out = Vec::new();
        let mut after = shown.clone();
        write_frame(&mut out, &mut after, next);
        assert_eq!(after, *next, "the model of the screen follows the frame");
        (String::from_utf8(out).expect("utf-8"), after)
    }

    /// A box of log lines `first..first + 8` between a title row and a footer row.
    fn log_view(first: usize) -> Buffer {
        let mut b = Buffer::empty(Rect::new(0, 0, 40, 10));
        b.set_string(0, 0, "╭ Logs ─────────", Style::default().fg(Color::Cyan));
        for (i, n) in (first..first + 8).enumerate() {
            let y = u16::try_from(i).expect("small") + 1;
            let style = if n % 3 == 0 {
                Style::default().fg(Color::LightRed)
            } else {
                Style::default()
            };
            b.set_string(0, y, format!("│12:00:{n:02} api line {n}"), style);
        }
        b.set_string(
            0,
            9,
            " 123 lines · following",
            Style::default().fg(Color::DarkGray),
        );
        b
    }

    #[test]
    fn new_log_lines_scroll_the_box_and_only_they_are_drawn() {
        let shown = log_view(0);
        let next = log_view(2);
        let (bytes, _) = frame_bytes(&shown, &next);
        assert!(
            bytes.starts_with("\x1b[2;9r\x1b[2;1H\x1b[2M\x1b[r"),
            "{bytes:?}"
        );
        assert!(
            !bytes.contains("line 3 "),
            "moved rows are not drawn: {bytes:?}"
        );
        assert!(
            bytes.contains("12:00:08") && bytes.contains("line 9"),
            "{bytes:?}"
        );
        let mut plain = Vec::new();
        encode(&mut plain, &shown.diff(&next));
        assert!(
            bytes.len() * 2 < plain.len(),
            "{} vs {}",
            bytes.len(),
            plain.len()
        );
        let mut emulator = emulator_showing(&shown);
        emulator.process(bytes.as_bytes());
        assert_emulator_shows(&emulator, &next, &bytes);
        assert_eq!(styles(&play_on(shown, &bytes)), styles(&next));
    }

    #[test]
    fn a_growing_strip_moves_the_body_down() {
        let shown = log_view(0);
        let mut next = Buffer::empty(shown.area);
        // Two new rows on top; the rest moves down; the footer stays.
        next.set_string(
            0,
            0,
            " ✖ 1s problem one",
            Style::default().fg(Color::LightRed),
        );
        next.set_string(
            0,
            1,
            " ✖ 1s problem two",
            Style::default().fg(Color::LightRed),
        );
        for y in 0..8 {
            let src = row(&shown, y).to_vec();
            let w = usize::from(next.area.width);
            let at = usize::from(y + 2) * w;
            next.content[at..at + w].clone_from_slice(&src);
        }
        let footer = row(&shown, 9).to_vec();
        next.content[9 * 40..10 * 40].clone_from_slice(&footer);
        let (bytes, _) = frame_bytes(&shown, &next);
        assert!(bytes.contains("L\x1b[r"), "{bytes:?}");
        let mut emulator = emulator_showing(&shown);
        emulator.process(bytes.as_bytes());
        assert_emulator_shows(&emulator, &next, &bytes);
        assert_eq!(styles(&play_on(shown, &bytes)), styles(&next));
    }

    /// What else might write to the terminal (an SSO prompt, `wall`): text, colours,
    /// the cursor shown, a narrowed scroll region, the line-drawing character set.
    const GARBAGE: &[u8] = b"\x1b[?25h\x1b[1;35;44mMessage from root\r\n\x1b[3;6r\x1b[4;2H\
        lines\r\nthat\r\nscroll\x1b[2Kx\x1b(0qqq\x0e";

    #[test]
    fn moves_found_or_not_the_screen_ends_as_the_frame() {
        // Many frames made of shifted blocks, edited rows and blank rows, each played on
        // the one before: on the project's own model of a terminal, and on an
        // independent emulator. Now and then something else writes to the terminal and
        // the screen is repainted (Ctrl-l). Seeded: the same 400 frames every run.
        let area = Rect::new(0, 0, 12, 16);
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let words = ["a", "bb", "● x", "コ", "", "line", "│ 1", "zz top", "日本"];
        let styles_of = [
            Style::default(),
            Style::default().fg(Color::Yellow),
            Style::default()
                .bg(Color::Blue)
                .add_modifier(Modifier::BOLD),
            Style::default()
                .fg(Color::Indexed(208))
                .add_modifier(Modifier::ITALIC | Modifier::UNDERLINED),
            Style::default()
                .fg(Color::Rgb(200, 10, 30))
                .bg(Color::DarkGray)
                .add_modifier(Modifier::DIM | Modifier::REVERSED),
            Style::default().bg(Color::Rgb(0, 40, 0)),
        ];
        let mut shown = Buffer::empty(area);
        let mut screen = Buffer::empty(area);
        let mut emulator = emulator(area);
        let mut repaints = 0;
        for _ in 0..400 {
            let mut next = shown.clone();
            let w = usize::from(area.width);
            // A block of rows moves.
            let (from, len) = (rand(16) as usize, 1 + rand(16) as usize);
            let to = (from + len).min(16);
            let by = rand(5) as i64 - 2;
            let block: Vec<Cell> = shown.content[from * w..to * w].to_vec();
            for (i, chunk) in block.chunks(w).enumerate() {
                let y = from as i64 + i as i64 + by;
                if (0..16).contains(&y) {
                    let at = usize::try_from(y).expect("row") * w;
                    next.content[at..at + w].clone_from_slice(chunk);
                }
            }
            // Some rows are new.
            for _ in 0..rand(4) {
                let y = u16::try_from(rand(16)).expect("row");
                let at = usize::from(y) * w;
                next.content[at..at + w].iter_mut().for_each(Cell::reset);
                let word = words[rand(words.len() as u64) as usize];
                let style = styles_of[rand(styles_of.len() as u64) as usize];
                next.set_string(u16::try_from(rand(6)).expect("col"), y, word, style);
            }
            if rand(25) == 0 {
                // Garbage, then Ctrl-l: the model dropped, the terminal cleared, the
                // frame written whole.
                emulator.process(GARBAGE);
                emulator.process(REPAINT);
                shown = Buffer::empty(area);
                screen = Buffer::empty(area);
                repaints += 1;
            }
            let (bytes, after) = frame_bytes(&shown, &next);
            screen = play_on(screen, &bytes);
            assert_eq!(styles(&screen), styles(&next), "{bytes:?}");
            emulator.process(bytes.as_bytes());
            assert_emulator_shows(&emulator, &next, &bytes);
            shown = after;
        }
        assert!(repaints > 5, "{repaints} repaints");
    }

    #[test]
    fn a_repaint_draws_the_whole_frame_over_what_else_was_written() {
        let shown = log_view(0);
        let next = log_view(1);
        // Without a repaint, the next frame's changes leave the garbage on screen.
        let (changes, _) = frame_bytes(&shown, &next);
        let mut without = emulator_showing(&shown);
        without.process(GARBAGE);
        without.process(changes.as_bytes());
        assert!(without.screen().contents().contains("Message from root"));
        // Ctrl-l: the terminal cleared and set back, the frame written whole.
        let mut emulator = emulator_showing(&shown);
        emulator.process(GARBAGE);
        emulator.process(REPAINT);
        let screen = emulator.screen();
        assert_eq!(screen.contents(), "", "a blank screen");
        assert!(screen.hide_cursor(), "the cursor hidden again");
        let (whole, _) = frame_bytes(&Buffer::empty(next.area), &next);
        emulator.process(whole.as_bytes());
        assert_emulator_shows(&emulator, &next, &whole);
        // The pen and the scroll region are the writer's again: a later frame that
        // moves rows shows right too.
        let later = log_view(3);
        let (more, _) = frame_bytes(&next, &later);
        assert!(more.contains("M\x1b[r"), "{more:?}");
        emulator.process(more.as_bytes());
        assert_emulator_shows(&emulator, &later, &more);
    }

    #[test]
    fn wide_symbols_over_narrow_ones_and_back_on_an_emulator() {
        let area = Rect::new(0, 0, 10, 2);
        let mut first = Buffer::empty(area);
        first.set_string(0, 0, "abcdefghij", Style::default());
        first.set_string(0, 1, "コンニチハ", Style::default().fg(Color::Green));
        let mut second = Buffer::empty(area);
        second.set_string(0, 0, "aコdeコhij", Style::default().fg(Color::Cyan));
        second.set_string(0, 1, "x●yコzz", Style::default().bg(Color::Red));
        let mut third = Buffer::empty(area);
        third.set_string(0, 0, "日本", Style::default().add_modifier(Modifier::BOLD));
        third.set_string(3, 1, "ab", Style::default());
        // A wide symbol over two, one column off: the second loses its right half.
        let mut fourth = first.clone();
        fourth.set_string(0, 1, "aコ", Style::default().bg(Color::Blue));
        let mut emulator = emulator(area);
        let mut shown = Buffer::empty(area);
        for frame in [&first, &second, &third, &first, &fourth] {
            let (bytes, after) = frame_bytes(&shown, frame);
            emulator.process(bytes.as_bytes());
            assert_emulator_shows(&emulator, frame, &bytes);
            shown = after;
        }
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
        let mut emulator = emulator(area);
        emulator.process(bytes(&blank, &first).as_bytes());
        assert_emulator_shows(&emulator, &first, &both);
        emulator.process(bytes(&first, &second).as_bytes());
        assert_emulator_shows(&emulator, &second, &both);
    }
}
