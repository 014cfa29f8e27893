//! The detail pane's text as the app keeps it: wrapped lines for all but a large body, then
//! that body as a window (its bytes shared with the loaded Event, and the index of its rows).

use std::sync::Arc;

use ratatui::text::Line;

use super::body::{Rows, Text};

/// The current tab's text, wrapped to the pane.
#[derive(Debug, Default)]
pub struct Pane {
    head: Vec<Line<'static>>,
    body: Option<(Text, Arc<Rows>)>,
}

impl Pane {
    /// Wrapped `head` lines, then `body`'s rows.
    pub fn new(head: Vec<Line<'static>>, body: Option<(Text, Arc<Rows>)>) -> Pane {
        Pane { head, body }
    }

    /// How many lines there are in all.
    pub fn len(&self) -> usize {
        self.head.len() + self.body.as_ref().map_or(0, |(_, rows)| rows.len())
    }

    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lines `from..from + n` (fewer at the end): only these are made.
    pub fn lines(&self, from: usize, n: usize) -> Vec<Line<'static>> {
        let mut out: Vec<Line<'static>> = self.head.iter().skip(from).take(n).cloned().collect();
        if let Some((text, rows)) = &self.body
            && out.len() < n
        {
            let start = from.saturating_sub(self.head.len());
            out.extend(text.lines(rows, start, n - out.len()));
        }
        out
    }

    /// Line `i`, if there is one.
    pub fn line(&self, i: usize) -> Option<Line<'static>> {
        self.lines(i, 1).pop()
    }

    /// The large body's text and rows, for reuse when the pane is built again at that width.
    pub fn body(&self) -> Option<&(Text, Arc<Rows>)> {
        self.body.as_ref()
    }
}
