//! The Event list as a window onto the Store: a few hundred rows around the selection, loaded a
//! page at a time by id (never all rows), kept up to date from the bus, and the follow mode.
//! Pure state: it says which [`Load`] it needs; the loop runs it and hands back the rows.

use crate::filter::Filter;
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
    Older { before: i64 },
    /// The page of Events newer than `after` (read oldest first, then reversed).
    Newer { after: i64 },
    /// The oldest page.
    Oldest,
    /// The rows between `low` and `high` (inclusive) again, and, with `open_top`, everything
    /// newer: after the Store changed in ways the bus did not describe.
    Refresh { low: i64, high: i64, open_top: bool },
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
    /// The Store changed in ways the bus did not describe: refresh when nothing is loading.
    pub stale: bool,
    /// Every row has been loaded once (the first page came back).
    pub loaded: bool,
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
        let last = self.rows.len() - 1;
        let target = self.selected as isize + delta;
        self.selected = target.clamp(0, last as isize) as usize;
        if delta < 0 && target < 0 && !self.more_newer {
            // Up past the newest row: back to following.
            self.follow = self.selected == 0;
        }
        self.scroll_into_view(height);
        self.need(height)
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

    /// Takes the rows of `load` (newest first); `more` says the Store holds more beyond them.
    /// Returns a follow-up load when the selection still needs one.
    pub fn loaded(
        &mut self,
        load: Load,
        rows: Vec<EventSummary>,
        more: bool,
        height: usize,
    ) -> Option<Load> {
        if self.loading == Some(load) {
            self.loading = None;
        }
        self.loaded = true;
        let keep = self.selected_id();
        match load {
            Load::Newest => {
                self.rows = rows;
                self.more_newer = false;
                self.more_older = more;
                self.unseen = 0;
                self.select_id_or(keep, 0);
            }
            Load::Oldest => {
                self.rows = rows;
                self.more_older = false;
                self.more_newer = more;
                self.selected = self.rows.len().saturating_sub(1);
            }
            Load::Older { before } => {
                // Only if the window still ends where the load started.
                if self.rows.last().map(|r| r.id) != Some(before) {
                    return None;
                }
                self.rows.extend(rows);
                self.more_older = more;
                if self.rows.len() > MAX_ROWS {
                    let drop = self.rows.len() - MAX_ROWS;
                    self.rows.drain(..drop);
                    self.selected = self.selected.saturating_sub(drop);
                    self.offset = self.offset.saturating_sub(drop);
                    self.more_newer = true;
                }
            }
            Load::Newer { after } => {
                if self.rows.first().map(|r| r.id) != Some(after) {
                    return None;
                }
                let added = rows.len();
                let mut all = rows;
                all.append(&mut self.rows);
                self.rows = all;
                self.selected += added;
                self.offset += added;
                self.more_newer = more;
                if !more {
                    self.unseen = 0;
                }
                if self.rows.len() > MAX_ROWS {
                    self.rows.truncate(MAX_ROWS);
                    self.more_older = true;
                }
            }
            Load::Refresh { open_top, .. } => {
                self.rows = rows;
                if open_top {
                    self.unseen = 0;
                }
                // Refresh reads at most MAX_ROWS: any cut is at the old end.
                self.more_older |= more;
                let first = if self.follow { None } else { keep };
                self.select_id_or(first, 0);
            }
        }
        if self.follow {
            self.selected = 0;
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.scroll_into_view(height);
        self.need(height)
    }

    /// Selects the row with id `id` if held, else the row nearest to it, else `fallback`.
    fn select_id_or(&mut self, id: Option<i64>, fallback: usize) {
        self.selected = match id {
            Some(id) => match self.rows.binary_search_by(|r| id.cmp(&r.id)) {
                Ok(i) | Err(i) => i,
            },
            None => fallback,
        };
    }

    /// The load that brings the window up to date after an unexplained change.
    pub fn refresh(&mut self) -> Option<Load> {
        if self.loading.is_some() || !self.loaded {
            return None;
        }
        self.stale = false;
        let load = match (self.rows.first(), self.rows.last()) {
            (Some(first), Some(last)) => Load::Refresh {
                low: last.id,
                high: first.id,
                open_top: !self.more_newer,
            },
            _ => Load::Newest,
        };
        self.want(load)
    }

    /// A new or changed Event from the bus. `matches` is the filter's verdict (`None`: it needs
    /// the body, so the window is marked stale instead). Returns whether the screen changed.
    pub fn upsert(&mut self, row: &EventSummary, filter: &Filter) -> bool {
        if let Ok(i) = self.rows.binary_search_by(|r| row.id.cmp(&r.id)) {
            self.rows[i] = row.clone();
            return true;
        }
        let newest = self.rows.first().map(|r| r.id);
        let above = newest.is_none_or(|n| row.id > n);
        let oldest = self.rows.last().map(|r| r.id);
        // Inside the window's id range, or above it when the window reaches the top.
        let inside = oldest.is_some_and(|o| row.id > o) && !above;
        if !(inside || above) {
            return false;
        }
        match filter.matches_summary(row) {
            Some(false) => false,
            None => {
                self.stale = true;
                false
            }
            Some(true) if above && (self.more_newer || self.loading.is_some()) => {
                // The rows above the window are not held: count it, load on `g`/`f`.
                self.unseen += 1;
                true
            }
            Some(true) => {
                let at = match self.rows.binary_search_by(|r| row.id.cmp(&r.id)) {
                    Ok(i) | Err(i) => i,
                };
                self.rows.insert(at, row.clone());
                if self.follow {
                    self.selected = 0;
                    self.offset = 0;
                } else if at <= self.selected {
                    // Keep the same Event selected and still on screen where it was.
                    self.selected += 1;
                    if at <= self.offset {
                        self.offset += 1;
                    }
                }
                if self.rows.len() > MAX_ROWS {
                    self.rows.truncate(MAX_ROWS);
                    self.more_older = true;
                    self.selected = self.selected.min(MAX_ROWS - 1);
                    self.offset = self.offset.min(self.selected);
                }
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn row(id: i64) -> EventSummary {
        EventSummary {
            id,
            uid: format!("u{id}"),
            received_at: id * 1_000_000,
            ingress: "local".into(),
            method: "POST".into(),
            path: "/hooks".into(),
            query: None,
            remote_addr: None,
            body_size: 10,
            body_sha256: String::new(),
            provider: "unknown".into(),
            event_type: None,
            provider_event_id: None,
            summary: None,
            signature: "unchecked".into(),
            derived_from: None,
            deliveries: 1,
            status: Some(200),
            outcome: Some("ok".into()),
            duration_us: Some(1000),
            replayed: false,
            duplicate_of: None,
            signature_detail: None,
        }
    }

    fn rows(ids: impl Iterator<Item = i64>) -> Vec<EventSummary> {
        ids.map(row).collect()
    }

    fn ids(w: &Window) -> Vec<i64> {
        w.rows.iter().map(|r| r.id).collect()
    }

    #[test]
    fn pages_down_then_drops_the_far_end() {
        let mut w = Window::new();
        assert_eq!(w.reset(), Load::Newest);
        assert_eq!(
            w.loaded(Load::Newest, rows((901..=1000).rev()), true, 10),
            None
        );
        assert_eq!(w.selected_id(), Some(1000));
        // Moving near the end asks for the next page, once.
        let load = w.move_by(85, 10);
        assert_eq!(load, Some(Load::Older { before: 901 }));
        assert!(!w.follow);
        assert_eq!(w.move_by(1, 10), None, "one load at a time");
        w.loaded(
            Load::Older { before: 901 },
            rows((801..=900).rev()),
            true,
            10,
        );
        assert_eq!(w.rows.len(), 200);
        assert_eq!(w.selected_id(), Some(1000 - 86));
        // Far down, the newest rows are dropped and come back on the way up.
        for before in [801, 701, 601] {
            assert_eq!(w.move_by(100, 10), Some(Load::Older { before }));
            w.loaded(
                Load::Older { before },
                rows((before - 100..before).rev()),
                true,
                10,
            );
        }
        assert_eq!(ids(&w).first(), Some(&900));
        assert_eq!((w.rows.len(), w.more_newer), (MAX_ROWS, true));
        let up = w.move_by(-(w.selected as isize), 10);
        assert_eq!(up, Some(Load::Newer { after: 900 }));
        assert_eq!(w.selected_id(), Some(900));
        w.loaded(
            Load::Newer { after: 900 },
            rows((901..=1000).rev()),
            false,
            10,
        );
        assert_eq!(ids(&w).first(), Some(&1000));
        assert_eq!(ids(&w).last(), Some(&601));
        assert!(!w.more_newer && w.more_older);
        assert_eq!(
            w.selected_id(),
            Some(900),
            "the selection stays on its Event"
        );
    }

    #[test]
    fn follow_keeps_the_newest_selected_and_pauses_on_a_move() {
        let mut w = Window::new();
        w.reset();
        w.loaded(Load::Newest, rows((1..=5).rev()), false, 10);
        let all = Filter::all();
        assert!(w.upsert(&row(6), &all));
        assert_eq!((w.selected_id(), w.offset), (Some(6), 0));
        w.move_by(2, 10);
        assert!(!w.follow);
        assert_eq!(w.selected_id(), Some(4));
        assert!(w.upsert(&row(7), &all));
        assert_eq!(w.selected_id(), Some(4), "paused: the selection stays put");
        assert_eq!(w.follow(10), None);
        assert_eq!(w.selected_id(), Some(7));
        // A changed row is replaced in place.
        let mut changed = row(5);
        changed.status = Some(500);
        assert!(w.upsert(&changed, &all));
        assert_eq!(w.rows[2].status, Some(500));
        assert_eq!(ids(&w), vec![7, 6, 5, 4, 3, 2, 1]);
    }

    #[test]
    fn live_rows_respect_the_filter_and_the_window() {
        let mut w = Window::new();
        w.reset();
        w.loaded(Load::Newest, rows((1..=3).rev()), false, 10);
        let only_500 = crate::filter::parse("status:500").unwrap();
        assert!(!w.upsert(&row(4), &only_500));
        let text = crate::filter::parse("needle").unwrap();
        assert!(!w.upsert(&row(5), &text));
        assert!(w.stale, "a body term cannot be decided from the bus");
        assert!(matches!(
            w.refresh(),
            Some(Load::Refresh {
                low: 1,
                high: 3,
                open_top: true
            })
        ));
        // Far down the history, new rows above are only counted.
        let mut w = Window::new();
        w.reset();
        w.loaded(Load::Oldest, rows((1..=3).rev()), true, 10);
        assert!(w.upsert(&row(100), &Filter::all()));
        assert_eq!((w.unseen, w.rows.len()), (1, 3));
        assert_eq!(w.top(10), Some(Load::Newest));
    }

    #[test]
    fn bottom_loads_the_oldest_page_and_stale_loads_are_ignored() {
        let mut w = Window::new();
        w.reset();
        w.loaded(Load::Newest, rows((501..=600).rev()), true, 10);
        assert_eq!(w.bottom(10), Some(Load::Oldest));
        w.loaded(Load::Oldest, rows((1..=100).rev()), true, 10);
        assert_eq!(w.selected_id(), Some(1));
        assert!(w.more_newer && !w.more_older);
        // An Older page for a window that moved on is dropped.
        assert_eq!(
            w.loaded(Load::Older { before: 501 }, rows(1..2), true, 10),
            None
        );
        assert_eq!(w.rows.len(), 100);
        assert_eq!(w.top(10), Some(Load::Newest));
    }

    #[test]
    fn scrolling_keeps_the_selection_on_screen() {
        let mut w = Window::new();
        w.reset();
        w.loaded(Load::Newest, rows((1..=50).rev()), false, 10);
        w.move_by(15, 10);
        assert_eq!((w.selected, w.offset), (15, 6));
        w.move_by(-10, 10);
        assert_eq!((w.selected, w.offset), (5, 5));
        w.bottom(10);
        assert_eq!((w.selected, w.offset), (49, 40));
        w.scroll_into_view(60);
        assert_eq!(w.offset, 0, "a tall screen shows everything");
    }
}
