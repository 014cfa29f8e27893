//! The Event list as a window onto the Store: a few hundred rows around the selection, loaded a
//! page at a time by id (never all rows), kept up to date from the bus, and the follow mode.
//! Pure state: it says which [`Load`] it needs; the loop runs it and hands back the rows.

mod arrive;

use crate::store::EventSummary;

/// Rows per load.
pub const PAGE: usize = 100;
/// The most rows kept; past this the far end is dropped (and loaded again when needed).
pub const MAX_ROWS: usize = 400;
/// Load the next page when the selection comes this close to the window's end.
const MARGIN: usize = 20;

/// A page to read from the Store (all newest first, as the window holds them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Load {
    /// The newest page.
    Newest,
    /// The page of Events older than `before`.
    Older {
        /// The oldest id held.
        before: i64,
    },
    /// The page of Events newer than `after` (read oldest first, then reversed).
    Newer {
        /// The newest id held.
        after: i64,
    },
    /// The oldest page.
    Oldest,
    /// The rows between `low` and `high` (inclusive) again, and, with `open_top`, everything
    /// newer: after the Store changed in ways the bus did not describe.
    Refresh {
        /// The oldest id held (1 when the window reaches the oldest Event).
        low: i64,
        /// The newest id held.
        high: i64,
        /// Newer Events too (the window reaches the top).
        open_top: bool,
    },
}

/// The window: rows newest first, the selection and the scroll position.
#[derive(Clone, Debug, Default)]
pub struct Window {
    /// The rows held, newest first (ids strictly descending).
    pub rows: Vec<EventSummary>,
    /// Index of the selected row in `rows`.
    pub selected: usize,
    /// Index of the first row on screen.
    pub offset: usize,
    /// Matching Events newer than `rows[0]` exist in the Store.
    pub more_newer: bool,
    /// Matching Events older than the last row exist in the Store.
    pub more_older: bool,
    /// Follow mode: the newest Event stays selected as Events arrive.
    pub follow: bool,
    /// The load in flight, if any (one at a time).
    pub loading: Option<Load>,
    /// New Events that arrived above the window while the user looked further down.
    pub unseen: u64,
    /// New Events held but above the screen, inserted while the user looked further down.
    pub new_above: u64,
    /// The Store changed in ways the bus did not describe: refresh when nothing is loading.
    pub stale: bool,
    /// Every row has been loaded once (the first page came back).
    pub loaded: bool,
    /// Rows the selection still has to move once the page it ran into arrives (keys pressed
    /// faster than pages load are not lost).
    pub pending: isize,
}

impl Window {
    /// A new window in follow mode, waiting for its first page.
    pub fn new() -> Window {
        Window {
            follow: true,
            ..Window::default()
        }
    }

    /// The selected row.
    pub fn selected_row(&self) -> Option<&EventSummary> {
        self.rows.get(self.selected)
    }

    /// The selected Event's id.
    pub fn selected_id(&self) -> Option<i64> {
        self.selected_row().map(|r| r.id)
    }

    /// Starts `load` unless another is in flight.
    fn want(&mut self, load: Load) -> Option<Load> {
        if self.loading.is_some() {
            return None;
        }
        self.loading = Some(load);
        Some(load)
    }

    /// Starts over from the newest page (a new filter, or `g` from far down).
    pub fn reset(&mut self) -> Load {
        self.loading = Some(Load::Newest);
        self.pending = 0;
        self.unseen = 0;
        self.stale = false;
        Load::Newest
    }

    /// Moves the selection by `delta` rows on a screen of `height` rows; may need a page.
    pub fn move_by(&mut self, delta: isize, height: usize) -> Option<Load> {
        if self.rows.is_empty() {
            return None;
        }
        self.follow = false;
        let target = self.selected as isize + self.pending + delta;
        self.go(target);
        if delta < 0 && target < 0 && !self.more_newer {
            // Up past the newest row: back to following.
            self.follow = self.selected == 0;
        }
        self.scroll_into_view(height);
        self.need(height)
    }

    /// Selects row `target`, keeping what lies beyond the rows held as `pending`.
    fn go(&mut self, target: isize) {
        let last = self.rows.len().saturating_sub(1) as isize;
        self.pending = match target {
            t if t > last && self.more_older => t - last,
            t if t < 0 && self.more_newer => t,
            _ => 0,
        };
        self.selected = target.clamp(0, last) as usize;
    }

    /// `g`: the newest Event (loading it if the window is further down).
    pub fn top(&mut self, height: usize) -> Option<Load> {
        self.follow = true;
        if self.more_newer || self.unseen > 0 {
            return Some(self.reset());
        }
        self.selected = 0;
        self.scroll_into_view(height);
        None
    }

    /// `G`: the oldest Event.
    pub fn bottom(&mut self, height: usize) -> Option<Load> {
        self.follow = false;
        self.pending = 0;
        if self.more_older {
            self.loading = None;
            return self.want(Load::Oldest);
        }
        self.selected = self.rows.len().saturating_sub(1);
        self.scroll_into_view(height);
        None
    }

    /// `f`: follow the newest Event again.
    pub fn follow(&mut self, height: usize) -> Option<Load> {
        self.top(height)
    }

    /// Keeps the selection on screen after a move or a resize.
    pub fn scroll_into_view(&mut self, height: usize) {
        let height = height.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        // No empty space below the last row when rows could fill it.
        let max_offset = self.rows.len().saturating_sub(height);
        self.offset = self.offset.min(max_offset);
        if self.offset == 0 && !self.more_newer {
            self.new_above = 0;
        }
    }

    /// The page the selection is about to need, if any.
    fn need(&mut self, height: usize) -> Option<Load> {
        let near_end = self.selected + MARGIN.max(height) >= self.rows.len();
        if near_end
            && self.more_older
            && let Some(last) = self.rows.last()
        {
            return self.want(Load::Older { before: last.id });
        }
        if self.selected < MARGIN.max(height)
            && self.more_newer
            && let Some(first) = self.rows.first()
        {
            return self.want(Load::Newer { after: first.id });
        }
        None
    }
}

#[cfg(test)]
mod tests;
