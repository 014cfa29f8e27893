//! Bodies in the detail pane. A small one is rendered in full (JSON indented and coloured); a
//! large one is a window over its bytes, kept once: an index of every 64th row's start, built
//! once per width, finds the rows on screen, and only those become [`Line`]s.

use std::sync::Arc;

use bytes::Bytes;
use ratatui::text::Line;
use unicode_width::UnicodeWidthChar;

use crate::config::format_size;
use crate::event::HeaderList;
use crate::pretty::{self, Shown};
use crate::tui::json;

/// Bodies up to this size are indented and coloured; larger ones are shown as their text.
pub const PRETTY_MAX: usize = 1 << 20;
/// The most lines of a rendered (small) body.
const MAX_LINES: usize = 20_000;
/// One row start in the index per this many rows.
const STEP: usize = 64;

/// A body ready for the detail pane.
#[derive(Clone, Debug)]
pub enum Body {
    /// Rendered in full: small, binary (a capped hex dump), or not valid UTF-8.
    Lines(Shown),
    /// A large text, shown as a window over it.
    Text(Text),
}

/// A large text body: its notes (decoded from what, cut where) and its bytes, valid UTF-8.
#[derive(Clone, Debug)]
pub struct Text {
    /// Lines shown above the text.
    pub notes: Vec<String>,
    bytes: Bytes,
}

/// Where a large body's rows start at one width: every [`STEP`]th row's byte offset.
#[derive(Debug, Default)]
pub struct Rows {
    width: usize,
    count: usize,
    marks: Vec<usize>,
}

/// `body` for the pane; `cut` says why only its start was read, when it was.
pub fn prepare(headers: &HeaderList, body: Bytes, cut: Option<String>) -> Body {
    if body.len() <= PRETTY_MAX && cut.is_none() {
        let mut shown = pretty::render(headers, &body);
        if shown.lines.len() > MAX_LINES {
            let more = shown.lines.len() - MAX_LINES;
            shown.lines.truncate(MAX_LINES);
            shown
                .lines
                .push(format!("… {more} more lines (y copies the whole body)"));
        }
        return Body::Lines(shown);
    }
    let mut notes: Vec<String> = cut.into_iter().collect();
    let bytes = match pretty::decode(headers, &body) {
        Some(Ok((name, decoded))) => {
            notes.push(format!(
                "{name}-compressed, {} on the wire; shown decoded",
                format_size(body.len() as u64)
            ));
            Bytes::from(decoded)
        }
        Some(Err(e)) => {
            notes.push(format!("could not decode it: {e}"));
            body
        }
        None => body,
    };
    let valid = match std::str::from_utf8(&bytes) {
        Ok(_) => bytes.len(),
        // Cut in the middle of a character: show up to it.
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => {
            let note = (!notes.is_empty()).then(|| notes.join("; "));
            let lines = pretty::hex_dump(&bytes);
            return Body::Lines(Shown { lines, note });
        }
    };
    Body::Text(Text {
        notes,
        bytes: bytes.slice(..valid),
    })
}

/// One line of body text as shown: the one place body text becomes spans, each made safe by
/// [`super::clean`] (crate::text).
pub fn line(text: &str, json_like: bool) -> Line<'static> {
    let mut line = if json_like {
        Line::from(json::spans(text))
    } else {
        Line::raw(text.to_string())
    };
    for span in &mut line.spans {
        super::clean(span);
    }
    line
}

impl Text {
    fn str(&self) -> &str {
        // Checked in `prepare`; an empty text otherwise, never a panic.
        std::str::from_utf8(&self.bytes).unwrap_or_default()
    }

    /// Whether `other` is this same text (the same bytes in memory), for reusing its [`Rows`].
    pub fn same(&self, other: &Text) -> bool {
        self.bytes.as_ptr() == other.bytes.as_ptr() && self.bytes.len() == other.bytes.len()
    }

    /// The index of its rows wrapped to `width` columns: one pass over the text.
    pub fn rows(&self, width: usize) -> Arc<Rows> {
        let (text, width) = (self.str(), width.max(1));
        let (mut pos, mut count, mut marks) = (0, 0, Vec::new());
        while pos < text.len() {
            if count % STEP == 0 {
                marks.push(pos);
            }
            pos = next_row(text, pos, width).1;
            count += 1;
        }
        Arc::new(Rows {
            width,
            count,
            marks,
        })
    }

    /// Rows `from..from + n` as lines.
    pub fn lines(&self, rows: &Rows, from: usize, n: usize) -> Vec<Line<'static>> {
        let text = self.str();
        let Some(&mark) = rows.marks.get(from / STEP) else {
            return Vec::new();
        };
        let mut pos = mark;
        for _ in 0..from % STEP {
            pos = next_row(text, pos, rows.width).1;
        }
        let mut out = Vec::with_capacity(n.min(rows.count.saturating_sub(from)));
        while out.len() < n && pos < text.len() {
            let (end, next) = next_row(text, pos, rows.width);
            out.push(line(&text[pos..end], false));
            pos = next;
        }
        out
    }
}

impl Rows {
    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The width they were wrapped to.
    pub fn width(&self) -> usize {
        self.width
    }
}

/// The row starting at byte `pos` of `text`, `width` columns wide, wrapped as [`super::wrap`]
/// wraps: (where its text ends, where the next row starts). A line ends at `\n` (and a `\r`
/// before it is dropped); a long one breaks after its last space in the row's second half, or
/// else where the row is full.
fn next_row(text: &str, pos: usize, width: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let (mut used, mut chars) = (0, 0);
    let mut space: Option<(usize, usize)> = None;
    for (i, c) in text[pos..].char_indices() {
        let at = pos + i;
        if c == '\n' {
            let end = if at > pos && bytes[at - 1] == b'\r' {
                at - 1
            } else {
                at
            };
            return (end, at + 1);
        }
        let w = match c {
            ' '..='~' => 1,
            c => c.width().unwrap_or(0),
        };
        if used + w > width && chars > 0 {
            let end = match space {
                Some((byte, index)) if index >= chars / 2 => byte + 1,
                _ => at,
            };
            return (end, end);
        }
        if c == ' ' {
            space = Some((at, chars));
        }
        used += w;
        chars += 1;
    }
    (text.len(), text.len())
}

#[cfg(test)]
#[path = "body_tests.rs"]
mod tests;
