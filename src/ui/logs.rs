//! The log view: the lines of one tail, with what is followed in the title, a status line
//! below, and the pretty JSON of a line over them. Also the container picker that `l`
//! opens over the tasks screen on a task with several containers ([`render_picker`]).
//!
//! ```text
//! ╭ Logs · production/node-api/api · 2 streams · following ───────────────────────────╮
//! │03:01:58.123 api/1a2b3c4d {"level":"info","msg":"GET /Account 200",…}             │
//! │03:01:58.412 api/5e6f7a8b {"level":"error","msg":"contract call reverted",…}      │ lines
//! ╰───────────────────────────────────────────────────────────────────────────────────╯
//!  ✖ /ecs/ibet-prd/node-api/api: throttled: Rate exceeded · retrying · hint: …          tail error
//!  12,345 lines · 4.1 MiB · UTC · live · /timeout            saved 12,345 lines to …    status
//! ```
//!
//! Only the lines on screen are laid out: the cost of a frame depends on its size, never
//! on the number of lines buffered. Text comes from [`LogLine::display`], already
//! display-safe; error texts are sanitised here. The view reads the state and changes
//! nothing: it returns the geometry it drew, which the loop hands back to the state
//! ([`crate::ui::Drawn`]).
//!
//! [`LogLine::display`]: crate::logs::LogLine::display

use std::borrow::Cow;
use std::ops::Range;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use unicode_width::UnicodeWidthChar;

use super::Theme;
use super::widgets::{inner, pane};
use crate::app::log_picker::{ContainerPicker, PickerPurpose};
use crate::app::logview::{
    Geometry, InputKind, LogViewState, MAX_SOURCE_WIDTH, NoteKind, count, row_end,
};
use crate::clock::{Zone, short_age, short_duration};
use crate::logs::tail::{Following, PollReason};
use crate::logs::{Level, LogLine};
use crate::text::sanitize;

/// Width of `HH:MM:SS.mmm`.
const TIME_WIDTH: usize = 12;

/// Draws the log view into `area`; returns the rows and message columns of its lines.
pub fn render(
    view: &LogViewState,
    zone: &Zone,
    redact: bool,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) -> Geometry {
    // Plain arithmetic rather than a `Layout`: the split is fixed, and the frame stays
    // cheap.
    let problem_rows = u16::from(view.problem().is_some() && area.height > 4);
    let status_rows = u16::from(area.height > 3);
    let body = Rect {
        height: area.height - problem_rows - status_rows,
        ..area
    };
    let problem = Rect {
        y: body.bottom(),
        height: problem_rows,
        ..area
    };
    let status = Rect {
        y: problem.bottom(),
        height: status_rows,
        ..area
    };
    frame.render_widget(pane(title(view, theme, body.width), theme, true), body);
    let lines_area = inner(body);
    let geometry = render_lines(view, zone, redact, theme, frame.buffer_mut(), lines_area);
    if problem_rows > 0 {
        render_problem(view, theme, frame, problem);
    }
    render_status(view, zone, theme, frame, status);
    if view.popup().is_some() {
        render_popup(view, theme, frame, lines_area);
    }
    geometry
}

/// `Logs · production/node-api/api · 2 streams · following`. When the pane is too
/// narrow, the stream count goes first, then the environment and cluster: whether the
/// view follows always shows.
fn title<'a>(view: &LogViewState, theme: &Theme, width: u16) -> Line<'a> {
    let streams = match view.streams() {
        Some(1) => "1 stream".to_string(),
        Some(n) => format!("{n} streams"),
        None if view.discovery_error().is_some() => "no streams".to_string(),
        None => "finding streams…".to_string(),
    };
    let (state, state_style) = if view.following() {
        ("following ", theme.health(crate::model::Health::Ok))
    } else {
        ("paused (G to follow) ", theme.warn())
    };
    let full = view.title();
    let short = view.target().to_string();
    let room = usize::from(width).saturating_sub(" Logs ".len() + state.len() + 3);
    let what = [
        format!("· {full} · {streams} · "),
        format!("· {full} · "),
        format!("· {short} · "),
    ]
    .into_iter()
    .find(|w| w.chars().count() <= room)
    .unwrap_or_else(|| "· ".to_string());
    Line::from(vec![
        Span::styled(" Logs ", theme.accent()),
        Span::styled(what, theme.text()),
        Span::styled(state, state_style),
    ])
}

/// The columns before the message: timestamp and source, each with a space after.
fn prefix_width(view: &LogViewState) -> usize {
    let mut w = 0;
    if view.timestamps() {
        w += TIME_WIDTH + 1;
    }
    if view.sources() {
        w += view.source_width().max(1) + 1;
    }
    w
}

fn render_lines(
    view: &LogViewState,
    zone: &Zone,
    redact: bool,
    theme: &Theme,
    buf: &mut Buffer,
    area: Rect,
) -> Geometry {
    if area.width == 0 || area.height == 0 {
        return view.drawn();
    }
    let width = usize::from(area.width);
    let prefix = prefix_width(view).min(width.saturating_sub(8));
    let cols = (width - prefix).max(1);
    let geometry = Geometry {
        rows: area.height,
        cols: cols as u16,
    };
    let lines = view.buffer();
    if lines.is_empty() {
        render_empty(view, theme, buf, area);
        return geometry;
    }
    let window = view.window(usize::from(area.height), cols);
    let matcher = crate::logs::buffer::Matcher::new(view.search());
    let selection = selection_style(theme);
    let mut y = area.y;
    let bottom = area.y + area.height;
    for index in window {
        let Some(line) = lines.get(index) else {
            break;
        };
        let mut text = line.text(view.raw());
        // Masked before it wraps: an address cut over two rows is masked whole too.
        if redact && let Cow::Owned(masked) = crate::redact::text(&text) {
            text = Cow::Owned(masked);
        }
        let ranges = matcher
            .as_ref()
            .map(|m| m.ranges(&text))
            .unwrap_or_default();
        let current = view.current_match() == Some(index);
        let shown = Shown {
            text: &text,
            level: line.level,
            tag_len: line.tag_len(view.raw()),
        };
        let rows = message_rows(&shown, &ranges, current, theme, cols, view.wrap());
        if !view.following() && index == view.selected() {
            // The selection's background goes under the text, so matches stay visible.
            let height = (rows.len() as u16).min(bottom - y);
            buf.set_style(Rect::new(area.x, y, area.width, height), selection);
        }
        let right = area.x + area.width;
        for (i, row) in rows.iter().enumerate() {
            if y >= bottom {
                break;
            }
            let mut x = area.x;
            if i == 0 {
                x = put_spans(
                    buf,
                    x,
                    y,
                    right,
                    &prefix_spans(view, zone, line, theme, prefix),
                );
            } else {
                x += prefix as u16;
            }
            put_spans(buf, x, y, right, row);
            y += 1;
        }
        if y >= bottom {
            break;
        }
    }
    geometry
}

fn render_empty(view: &LogViewState, theme: &Theme, buf: &mut Buffer, area: Rect) {
    let window = match view.window_secs() {
        s if s % 60 == 0 && s >= 120 => format!("{} minutes", s / 60),
        s => short_duration(i64::try_from(s).unwrap_or(0) * 1000),
    };
    let filtered = view
        .filter()
        .map(|f| format!(" matching the filter \"{}\"", sanitize(f)))
        .unwrap_or_default();
    let lines: Vec<Line> = if let Some(e) = view.discovery_error() {
        vec![
            Line::from(Span::styled(
                "✖ no log streams to follow".to_string(),
                theme.error(),
            )),
            Line::from(Span::styled(format!("  {e}"), theme.text())),
        ]
    } else if view.streams().is_none() {
        vec![Line::from(Span::styled(
            "finding the log streams…",
            theme.dim(),
        ))]
    } else if !view.backfilled() {
        vec![Line::from(Span::styled(
            format!("reading the last {window}{filtered}…"),
            theme.dim(),
        ))]
    } else {
        vec![Line::from(Span::styled(
            format!("no lines in the last {window}{filtered}; new lines appear as they arrive"),
            theme.dim(),
        ))]
    };
    for (i, line) in lines.iter().enumerate() {
        let y = area.y + i as u16;
        if y >= area.y + area.height {
            break;
        }
        buf.set_line(area.x, y, line, area.width);
    }
}

/// Writes `spans` from column `x` of row `y`, never at or past column `right`; returns
/// the column after the last one written. The text is display-safe already, so an ASCII
/// span is one cell per byte and is written directly; anything else goes through
/// ratatui's grapheme-aware path.
fn put_spans(buf: &mut Buffer, mut x: u16, y: u16, right: u16, spans: &[Span<'_>]) -> u16 {
    for span in spans {
        if x >= right {
            break;
        }
        if span.content.is_ascii() {
            for b in span.content.bytes() {
                if x >= right {
                    break;
                }
                buf[(x, y)].set_char(char::from(b)).set_style(span.style);
                x += 1;
            }
        } else {
            x = buf.set_span(x, y, span, right - x).0;
        }
    }
    x
}

/// The timestamp and source columns of a line's first row.
fn prefix_spans<'a>(
    view: &LogViewState,
    zone: &Zone,
    line: &'a LogLine,
    theme: &Theme,
    width: usize,
) -> Vec<Span<'a>> {
    let mut spans = Vec::with_capacity(2);
    let mut used = 0;
    if view.timestamps() && width > 0 {
        spans.push(Span::styled(
            format!("{} ", zone.hms_ms(line.timestamp)),
            theme.dim(),
        ));
        used += TIME_WIDTH + 1;
    }
    if view.sources() && width > used {
        let w = (width - used).saturating_sub(1).min(MAX_SOURCE_WIDTH);
        let label = fit_end(&line.source, w);
        let pad = w.saturating_sub(label.chars().count());
        spans.push(Span::styled(
            format!("{label}{} ", " ".repeat(pad)),
            Style::new().fg(theme.accent),
        ));
    }
    spans
}

/// `label` in at most `width` characters: a long one keeps its end (the task id tells
/// the streams of a service apart), behind an ellipsis.
fn fit_end(label: &str, width: usize) -> String {
    let n = label.chars().count();
    if n <= width {
        return label.to_string();
    }
    let keep = width.saturating_sub(1);
    let mut out = String::from("…");
    out.extend(label.chars().skip(n - keep));
    out
}

/// The style of a message by its level.
fn level_style(level: Level, theme: &Theme) -> Style {
    match level {
        Level::Error if theme.color => Style::new().fg(theme.error),
        Level::Error => Style::new().add_modifier(Modifier::BOLD),
        Level::Warn => theme.warn(),
        Level::Debug | Level::Trace => theme.dim(),
        Level::Info | Level::Unknown => theme.text(),
    }
}

fn selection_style(theme: &Theme) -> Style {
    if theme.color {
        Style::new().bg(theme.selected_bg)
    } else {
        Style::new().add_modifier(Modifier::REVERSED)
    }
}

/// A line's text as the view shows it (compact or raw), its level and the bytes of its
/// level tag.
struct Shown<'a> {
    text: &'a str,
    level: Level,
    tag_len: usize,
}

/// The rows of a line's message: wrapped at `cols`, or one row cut with an ellipsis;
/// search matches (`ranges`) highlighted, the current match underlined too; a structured
/// line's level tag in bold.
fn message_rows<'a>(
    line: &Shown<'a>,
    ranges: &[Range<usize>],
    current: bool,
    theme: &Theme,
    cols: usize,
    wrap: bool,
) -> Vec<Vec<Span<'a>>> {
    let text = line.text;
    let base = level_style(line.level, theme);
    let mut highlight = theme.highlight();
    if current {
        highlight = highlight.add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
    }
    let tag = Tag {
        end: line.tag_len,
        style: base.add_modifier(Modifier::BOLD),
    };
    if wrap {
        let mut rows = Vec::new();
        let mut start = 0;
        while start < text.len() {
            let end = row_end(text, start, cols);
            rows.push(styled(text, start..end, ranges, base, highlight, tag));
            start = end;
        }
        if rows.is_empty() {
            rows.push(Vec::new());
        }
        return rows;
    }
    // The current match, when it lies past the edge, is brought into view: the line is
    // shown from a little before it, behind an ellipsis.
    let mut from = 0;
    let mut row = Vec::new();
    if current
        && let Some(first) = ranges.first()
        && crate::text::display_width(&text[..first.end]) > cols.saturating_sub(1)
    {
        from = skip_columns(text, first.start, cols / 3);
        row.push(Span::styled("…", theme.dim()));
    }
    let room = cols.saturating_sub(usize::from(from > 0));
    let rest = &text[from..];
    match cut_point(rest, room) {
        None => row.extend(styled(text, from..text.len(), ranges, base, highlight, tag)),
        Some(cut) => {
            row.extend(styled(text, from..from + cut, ranges, base, highlight, tag));
            row.push(Span::styled("…", theme.dim()));
        }
    }
    vec![row]
}

/// The byte offset that leaves about `context` columns of `text` before byte `at`.
fn skip_columns(text: &str, at: usize, context: usize) -> usize {
    let mut used = 0;
    for (i, c) in text[..at].char_indices().rev() {
        used += c.width().unwrap_or(0);
        if used > context {
            return i + c.len_utf8();
        }
    }
    0
}

/// Where to cut `text` so that it and an ellipsis fit in `cols` columns; `None` when
/// the whole text fits. Looks at no more of the text than fits.
fn cut_point(text: &str, cols: usize) -> Option<usize> {
    let mut used = 0;
    let mut cut = None;
    for (i, c) in text.char_indices() {
        let w = c.width().unwrap_or(0);
        if cut.is_none() && used + w > cols.saturating_sub(1) {
            cut = Some(i);
        }
        if used + w > cols {
            return cut;
        }
        used += w;
    }
    None
}

/// The level tag at the start of a structured line: its end (bytes) and style.
#[derive(Clone, Copy)]
struct Tag {
    end: usize,
    style: Style,
}

/// Spans of `text[part]`, the parts inside `ranges` in `highlight`, the level tag in its
/// style, the rest in `base`.
fn styled<'a>(
    text: &'a str,
    part: Range<usize>,
    ranges: &[Range<usize>],
    base: Style,
    highlight: Style,
    tag: Tag,
) -> Vec<Span<'a>> {
    let mut spans = Vec::new();
    let mut at = part.start;
    let plain = |spans: &mut Vec<Span<'a>>, from: usize, to: usize| {
        let split = tag.end.clamp(from, to);
        if from < split {
            spans.push(Span::styled(&text[from..split], tag.style));
        }
        if split < to {
            spans.push(Span::styled(&text[split..to], base));
        }
    };
    for r in ranges {
        let (start, end) = (r.start.max(at), r.end.min(part.end));
        if start >= end {
            continue;
        }
        if at < start {
            plain(&mut spans, at, start);
        }
        spans.push(Span::styled(&text[start..end], highlight));
        at = end;
    }
    if at < part.end {
        plain(&mut spans, at, part.end);
    }
    spans
}

fn render_problem(view: &LogViewState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(p) = view.problem() else {
        return;
    };
    let mut spans = vec![
        Span::styled(" ✖ ", theme.error()),
        Span::styled(
            format!("{}: {}", sanitize(&p.group), sanitize(&p.error.to_string())),
            theme.error(),
        ),
        Span::styled(
            format!(
                " · {} · {} ago",
                if p.retrying {
                    "retrying"
                } else {
                    "next round re-reads it"
                },
                short_age(view.now() - p.at)
            ),
            theme.dim(),
        ),
    ];
    if let Some(hint) = p.error.hint() {
        spans.push(Span::styled(" · hint: ", theme.accent()));
        spans.push(Span::styled(sanitize(&hint), theme.text()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_status(view: &LogViewState, zone: &Zone, theme: &Theme, frame: &mut Frame, area: Rect) {
    if let Some(input) = view.input() {
        let (label, done) = match input.kind {
            InputKind::Search => ("/", "search"),
            InputKind::Filter => ("filter pattern: ", "restart the tail with it"),
            InputKind::SavePath => ("save to: ", "save"),
        };
        let line = Line::from(vec![
            Span::styled(format!(" {label}"), theme.accent()),
            Span::styled(input.text.as_str(), theme.text()),
            Span::styled("█", theme.accent()),
            Span::styled(
                format!("   ⏎ {done}  Esc cancel  Ctrl-u erase"),
                theme.dim(),
            ),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let buffer = view.buffer();
    let mut spans = vec![Span::styled(
        format!(" {} lines", count(buffer.len())),
        theme.text(),
    )];
    if buffer.evicted() > 0 {
        spans.push(Span::styled(
            format!(
                " ({} older dropped)",
                count(usize::try_from(buffer.evicted()).unwrap_or(usize::MAX))
            ),
            theme.dim(),
        ));
    }
    spans.push(Span::styled(
        format!(" · {}", bytes(buffer.approx_bytes())),
        theme.dim(),
    ));
    if view.timestamps() {
        spans.push(Span::styled(
            format!(" · {}", zone.label(view.now())),
            theme.dim(),
        ));
    }
    // How new lines come, after the zone the times need: a Live Tail session, or polls
    // (and why, when they were not chosen).
    if let Some(how) = view.follows_by() {
        let style = match how {
            Following::Live => theme.accent(),
            Following::Polling {
                why: PollReason::Chosen,
                ..
            } => theme.dim(),
            Following::Polling { .. } => theme.warn(),
        };
        spans.push(Span::styled(" · ", theme.dim()));
        spans.push(Span::styled(how.label(), style));
    }
    if view.wrap() {
        spans.push(Span::styled(" · wrap", theme.dim()));
    }
    if view.raw() {
        spans.push(Span::styled(" · raw", theme.dim()));
    }
    if let Some(f) = view.filter() {
        spans.push(Span::styled(" · filter ", theme.dim()));
        spans.push(Span::styled(sanitize(f), theme.accent()));
    }
    if !view.search().is_empty() {
        spans.push(Span::styled(" · ", theme.dim()));
        spans.push(Span::styled(
            format!("/{}", sanitize(view.search())),
            theme.highlight(),
        ));
        if let Some(m) = view.current_match() {
            spans.push(Span::styled(format!(" line {}", count(m + 1)), theme.dim()));
        }
    }
    if let Some(note) = view.note() {
        // A note answers the last key: it goes first, where it is read.
        let style = match note.kind {
            NoteKind::Info => theme.accent(),
            NoteKind::Warn => theme.warn(),
            NoteKind::Error => theme.error(),
        };
        spans.insert(0, Span::styled(" ·", theme.dim()));
        spans.insert(0, Span::styled(format!(" {}", note.text), style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// `812 B`, `41 KiB`, `4.1 MiB`.
fn bytes(n: usize) -> String {
    const KIB: f64 = 1024.0;
    let n = n as f64;
    if n < KIB {
        format!("{n} B")
    } else if n < KIB * KIB {
        format!("{:.0} KiB", n / KIB)
    } else {
        format!("{:.1} MiB", n / KIB / KIB)
    }
}

fn render_popup(view: &LogViewState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(popup) = view.popup() else {
        return;
    };
    let widest = popup
        .lines
        .iter()
        .map(|l| crate::text::display_width(l))
        .max()
        .unwrap_or(0);
    let width = (widest as u16 + 4)
        .clamp(30, area.width.saturating_sub(2).max(30))
        .min(area.width);
    let height = (popup.lines.len() as u16 + 2)
        .min(area.height)
        .max(3.min(area.height));
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let lines: Vec<Line> = popup
        .lines
        .iter()
        .skip(popup.scroll)
        .take(usize::from(rect.height))
        .map(|l| Line::from(Span::styled(l.as_str(), theme.text())))
        .collect();
    let block = pane(
        Line::from(vec![
            Span::styled(
                format!(" JSON · line {} ", count(popup.line_number)),
                theme.accent(),
            ),
            Span::styled("· ↑↓ scroll · Esc close ", theme.dim()),
        ]),
        theme,
        true,
    );
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        rect,
    );
}

/// Draws the container picker centred over `area`:
///
/// ```text
/// ╭ Logs of api/1a2b3c4d ─────────╮
/// │ 0  all containers             │
/// │ 1  web                        │
/// │ 2  notification               │
/// ╰ ↑↓ ⏎ open · Esc cancel ───────╯
/// ```
pub fn render_picker(picker: &ContainerPicker, theme: &Theme, frame: &mut Frame, area: Rect) {
    let exec = picker.purpose == PickerPurpose::Exec;
    let title = if exec {
        format!(" Session in {} ", sanitize(&picker.task_label))
    } else {
        format!(" Logs of {} ", sanitize(&picker.task_label))
    };
    let keys = " ↑↓ ⏎ open · Esc cancel ";
    let names = std::iter::once("all containers")
        .filter(|_| !exec)
        .chain(picker.containers.iter().map(String::as_str));
    let widest = names
        .clone()
        .map(|n| crate::text::display_width(&sanitize(n)) + 6)
        .chain([
            crate::text::display_width(&title) + 2,
            crate::text::display_width(keys) + 2,
        ])
        .max()
        .unwrap_or(0);
    let width = u16::try_from(widest).unwrap_or(u16::MAX).min(area.width);
    let wanted = u16::try_from(picker.rows() + 2).unwrap_or(u16::MAX);
    let height = wanted.min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    // Keep the selected row in view on a very short terminal.
    let shown = usize::from(height.saturating_sub(2)).max(1);
    let skip = (picker.row + 1).saturating_sub(shown);
    let lines: Vec<Line> = names
        .enumerate()
        .skip(skip)
        .take(shown)
        .map(|(i, name)| {
            let number = picker.number_of_row(i);
            let number = if number < 10 {
                number.to_string()
            } else {
                " ".into()
            };
            let style = if i == picker.row {
                selection_style(theme)
            } else {
                Style::new()
            };
            Line::from(vec![
                Span::styled(format!(" {number}  "), theme.accent().patch(style)),
                Span::styled(sanitize(name), theme.text().patch(style)),
            ])
            .style(style)
        })
        .collect();
    let block = pane(Line::from(Span::styled(title, theme.accent())), theme, true)
        .title_bottom(Line::from(Span::styled(keys, theme.dim())));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::app::logview::LogsMsg;
    use crate::logs::TailEvent;

    fn view(messages: &[&str]) -> LogViewState {
        let mut v = LogViewState::new("production", "node-api", "api", 100, 0);
        v.apply(LogsMsg::Started {
            tail: 1,
            result: Ok(1),
        });
        let lines = messages
            .iter()
            .enumerate()
            .map(|(i, m)| LogLine::new(i as i64 * 1000, Arc::from("api/1"), (*m).to_string()))
            .collect();
        v.ingest(TailEvent::Lines(lines));
        v
    }

    fn draw(v: &LogViewState, w: u16, h: u16) -> Buffer {
        draw_with_geometry(v, w, h).0
    }

    /// The frame and the geometry it reports.
    fn draw_with_geometry(v: &LogViewState, w: u16, h: u16) -> (Buffer, Geometry) {
        let theme = Theme::default_theme();
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        let mut geometry = Geometry::default();
        t.draw(|f| geometry = render(v, &Zone::utc(), false, &theme, f, f.area()))
            .unwrap();
        (t.backend().buffer().clone(), geometry)
    }

    /// The row of the screen holding `needle`, and its column.
    fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
        for y in 0..buf.area.height {
            let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            if let Some(at) = row.find(needle) {
                return (row[..at].chars().count() as u16, y);
            }
        }
        panic!("{needle} not on screen");
    }

    #[test]
    fn levels_have_their_colours_and_matches_are_highlighted() {
        let theme = Theme::default_theme();
        let mut v = view(&[
            "ERROR boom",
            "WARN slow",
            "INFO fine",
            "DEBUG noise",
            "plain",
        ]);
        let buf = draw(&v, 60, 10);
        let fg = |needle: &str| {
            let (x, y) = find(&buf, needle);
            buf[(x, y)].fg
        };
        assert_eq!(fg("ERROR"), theme.error);
        assert_eq!(fg("WARN"), theme.warn);
        assert_eq!(fg("INFO"), theme.text);
        assert_eq!(fg("DEBUG"), theme.dim);
        assert_eq!(fg("00:00:00.000"), theme.dim, "timestamps are dim");
        // Search: every match highlighted.
        v.handle_key(KeyEvent::new(KeyCode::Char('/'), KeyModifiers::NONE), 8);
        v.handle_key(KeyEvent::new(KeyCode::Char('o'), KeyModifiers::NONE), 8);
        v.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE), 8);
        let buf = draw(&v, 60, 10);
        let (x, y) = find(&buf, "boom");
        assert_eq!(buf[(x + 1, y)].bg, theme.highlight_bg);
        assert_ne!(buf[(x, y)].bg, theme.highlight_bg, "b is not a match");
        let (x, y) = find(&buf, "slow");
        assert_eq!(buf[(x + 2, y)].bg, theme.highlight_bg);
        assert_eq!(buf[(x + 2, y)].fg, theme.highlight_fg);
    }

    #[test]
    fn long_lines_are_cut_with_an_ellipsis_and_the_current_match_brought_into_view() {
        let long = format!("start {} needle end", "x".repeat(200));
        let mut v = view(&[&long]);
        let buf = draw(&v, 60, 6);
        let (x, y) = find(&buf, "start");
        let row: String = (0..60).map(|x| buf[(x, y)].symbol()).collect();
        assert_eq!(buf[(58, y)].symbol(), "…", "cut at the pane's edge: {row}");
        assert!(x < 58);
        for c in "/needle".chars() {
            v.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE), 4);
        }
        v.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE), 4);
        let buf = draw(&v, 60, 6);
        let (x, y) = find(&buf, "needle");
        assert_eq!(buf[(x, y)].bg, Theme::default_theme().highlight_bg);
    }

    fn screen_text(buf: &Buffer) -> String {
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_tail_error_shows_with_its_hint_and_the_lines_stay() {
        let mut v = view(&["INFO before"]);
        v.set_now(12_000);
        v.ingest(TailEvent::Error {
            group: "/ecs/ibet-prd/node-api/api".into(),
            error: crate::backend::BackendError::SsoExpired {
                profile: Some("ibet-prd".into()),
            },
            retrying: false,
        });
        v.set_now(20_000);
        let text = screen_text(&draw(&v, 180, 8));
        assert!(text.contains("INFO before"), "{text}");
        assert!(
            text.contains(
                "✖ /ecs/ibet-prd/node-api/api: the AWS SSO session of profile `ibet-prd` has \
                 expired"
            ),
            "{text}"
        );
        assert!(text.contains("8s ago"), "{text}");
        assert!(
            text.contains("hint: run `aws sso login --profile ibet-prd`"),
            "{text}"
        );
    }

    #[test]
    fn no_streams_and_waiting_say_so() {
        let mut v = LogViewState::new("staging", "bank", "batch", 10, 0);
        let text = screen_text(&draw(&v, 100, 8));
        assert!(text.contains("finding streams…"), "{text}");
        v.apply(LogsMsg::Started {
            tail: 1,
            result: Err("`batch` has no awslogs log configuration".into()),
        });
        let text = screen_text(&draw(&v, 100, 8));
        assert!(text.contains("no log streams to follow"), "{text}");
        assert!(text.contains("has no awslogs log configuration"), "{text}");
        let mut v = LogViewState::new("staging", "bank", "batch", 10, 0);
        v.apply(LogsMsg::Started {
            tail: 1,
            result: Ok(1),
        });
        let text = screen_text(&draw(&v, 100, 8));
        assert!(text.contains("reading the last 10 minutes…"), "{text}");
        v.ingest(TailEvent::Backfilled);
        let text = screen_text(&draw(&v, 100, 8));
        assert!(text.contains("no lines in the last 10 minutes"), "{text}");
    }

    #[test]
    fn a_narrow_title_keeps_the_follow_state() {
        let mut v = LogViewState::new("production", "node-api", "nginx-proxy/91aaa512", 10, 0);
        v.apply(LogsMsg::Started {
            tail: 1,
            result: Ok(1),
        });
        v.ingest(TailEvent::Lines(vec![
            LogLine::new(1, Arc::from("s"), "a".into()),
            LogLine::new(2, Arc::from("s"), "b".into()),
        ]));
        v.handle_key(KeyEvent::new(KeyCode::Up, KeyModifiers::NONE), 4);
        let row = |w: u16| {
            let buf = draw(&v, w, 8);
            (0..w).map(|x| buf[(x, 0)].symbol()).collect::<String>()
        };
        assert!(row(120).contains("production/node-api/nginx-proxy/91aaa512 · 1 stream · paused"));
        assert!(
            row(80).contains("Logs · production/node-api/nginx-proxy/91aaa512 · paused"),
            "{}",
            row(80)
        );
        assert!(row(56).contains("Logs · nginx-proxy/91aaa512 · paused (G to follow)"));
    }

    #[test]
    fn a_frame_lays_out_only_what_it_shows() {
        // 100,000 lines of which one matches: drawing stays the same size of work.
        let mut v = LogViewState::new("e", "c", "t", 100_000, 0);
        v.apply(LogsMsg::Started {
            tail: 1,
            result: Ok(1),
        });
        let lines = (0..100_000)
            .map(|i| LogLine::new(i, Arc::from("s"), format!("line {i}")))
            .collect();
        v.ingest(TailEvent::Lines(lines));
        let (buf, geometry) = draw_with_geometry(&v, 80, 12);
        let (_, y) = find(&buf, "line 99999");
        assert_eq!(y, 9, "the newest line is at the bottom of the pane");
        assert_eq!(
            geometry.rows, 9,
            "the frame says how many rows of lines it drew"
        );
    }

    #[test]
    fn times_of_day_in_the_zone_named_beside_them() {
        let mut v = view(&["hello"]);
        v.set_now(1_795_748_400_123);
        let tokyo = Zone::named("Asia/Tokyo").unwrap();
        let backend = TestBackend::new(60, 6);
        let mut terminal = Terminal::new(backend).unwrap();
        terminal
            .draw(|f| {
                render(&v, &tokyo, false, &Theme::default_theme(), f, f.area());
            })
            .unwrap();
        let text = screen_text(terminal.backend().buffer());
        assert!(text.contains("09:00:00.000 api/1 hello"), "{text}");
        assert!(text.contains("· JST"), "{text}");
        assert_eq!(
            Zone::utc().hms_ms(1_795_748_400_123 + 3_723_004),
            "04:02:03.127"
        );
    }

    #[test]
    fn cuts_leave_room_for_the_ellipsis() {
        assert_eq!(cut_point("abcdef", 6), None);
        assert_eq!(cut_point("abcdefg", 6), Some(5));
        assert_eq!(cut_point("日本語", 6), None);
        assert_eq!(
            cut_point("日本語x", 6),
            Some(6),
            "a wide char is never split"
        );
        assert_eq!(cut_point("", 0), None);
    }

    const NO_TAG: Tag = Tag {
        end: 0,
        style: Style::new(),
    };

    #[test]
    fn highlighted_parts() {
        let text = "one two one";
        let spans = styled(
            text,
            0..text.len(),
            &[0..3, 8..11],
            Style::new(),
            Style::new().add_modifier(Modifier::BOLD),
            NO_TAG,
        );
        let parts: Vec<&str> = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(parts, ["one", " two ", "one"]);
        let spans = styled(
            text,
            2..9,
            &[0..3, 8..11],
            Style::new(),
            Style::new(),
            NO_TAG,
        );
        let parts: Vec<&str> = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(parts, ["e", " two ", "o"]);
        let tag = Tag {
            end: 4,
            style: Style::new().add_modifier(Modifier::BOLD),
        };
        let spans = styled(
            text,
            0..text.len(),
            &[8..11, 20..20],
            Style::new(),
            Style::new(),
            tag,
        );
        let parts: Vec<(&str, bool)> = spans
            .iter()
            .map(|s| {
                (
                    s.content.as_ref(),
                    s.style.add_modifier.contains(Modifier::BOLD),
                )
            })
            .collect();
        assert_eq!(parts, [("one ", true), ("two ", false), ("one", false)]);
    }

    #[test]
    fn long_sources_keep_their_task_id() {
        assert_eq!(fit_end("api/1a2b3c4d", 20), "api/1a2b3c4d");
        assert_eq!(fit_end("quorum-validator-1/25189abc", 12), "…-1/25189abc");
        assert_eq!(fit_end("abc", 0), "…");
    }

    #[test]
    fn context_before_a_match() {
        assert_eq!(skip_columns("abcdefghij", 8, 3), 5);
        assert_eq!(skip_columns("abc", 2, 5), 0);
        assert_eq!(skip_columns("日本語x", 9, 2), 6);
    }

    #[test]
    fn sizes() {
        assert_eq!(bytes(812), "812 B");
        assert_eq!(bytes(41 * 1024), "41 KiB");
        assert_eq!(bytes(4_300_000), "4.1 MiB");
    }
}
