//! Which of a log view's lines fit the rows and columns drawn: following, the newest
//! fill the view from the bottom; paused, the view starts at its top line. Wrapped lines
//! take as many rows as their text needs. Pure: it reads the state and changes nothing.

use std::ops::Range;

use unicode_width::UnicodeWidthChar;

use super::LogViewState;

impl LogViewState {
    /// The lines shown in `rows` rows with `cols` message columns: a range of indexes.
    ///
    /// Following, the newest lines fill the view from the bottom. Paused, the view starts
    /// at the remembered top, moved just enough to show the selected line whole, and
    /// leaves no blank rows below while older lines exist. Only the lines shown are
    /// measured: the cost is proportional to `rows`, never to the buffer.
    pub fn window(&self, rows: usize, cols: usize) -> Range<usize> {
        let len = self.buffer.len();
        if len == 0 || rows == 0 {
            return 0..0;
        }
        if self.follow {
            return self.fill_up_to(len - 1, rows, cols);
        }
        let selected = self.selected.min(len - 1);
        let start = self.top.min(selected);
        let mut used = 0;
        let mut end = start;
        while end < len && used < rows {
            used += self.rows_of(end, cols);
            end += 1;
        }
        let selected_cut = selected + 1 == end && used > rows && selected != start;
        if selected >= end || selected_cut {
            return self.fill_up_to(selected, rows, cols);
        }
        if end == len && used < rows {
            return self.fill_up_to(len - 1, rows, cols);
        }
        start..end
    }

    /// The lines ending at `last` that fit in `rows` (at least `last` itself).
    fn fill_up_to(&self, last: usize, rows: usize, cols: usize) -> Range<usize> {
        let mut start = last;
        let mut used = self.rows_of(last, cols);
        while start > 0 {
            let more = self.rows_of(start - 1, cols);
            if used + more > rows {
                break;
            }
            used += more;
            start -= 1;
        }
        start..last + 1
    }

    /// Rows line `index` takes.
    fn rows_of(&self, index: usize, cols: usize) -> usize {
        if !self.wrap {
            return 1;
        }
        self.buffer
            .get(index)
            .map_or(1, |l| wrapped_rows(&l.text(self.raw), cols))
    }
}

/// The byte offset where a row of at most `cols` columns that starts at `start` ends:
/// long messages wrap at any character, never splitting one, and a row holds at least
/// one character.
pub fn row_end(text: &str, start: usize, cols: usize) -> usize {
    let mut used = 0;
    for (i, c) in text[start..].char_indices() {
        let w = c.width().unwrap_or(0);
        if used + w > cols && i > 0 {
            return start + i;
        }
        used += w;
    }
    text.len()
}

/// The rows `text` takes when wrapped at `cols` columns (at least one).
pub fn wrapped_rows(text: &str, cols: usize) -> usize {
    let cols = cols.max(1);
    let mut rows = 0;
    let mut start = 0;
    while start < text.len() {
        start = row_end(text, start, cols);
        rows += 1;
    }
    rows.max(1)
}
