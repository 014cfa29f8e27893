//! Rows arriving in the window: a page the loop read, a refresh after an unexplained change,
//! and a live Event (or its finished Delivery) from the bus.

use super::{Load, MAX_ROWS, Window};
use crate::filter::Filter;
use crate::store::EventSummary;

impl Window {
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
            self.pending = 0;
        } else if self.pending != 0 {
            self.go(self.selected as isize + self.pending);
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.scroll_into_view(height);
        self.need(height)
    }

    /// Selects the row with id `id` if held, else the row nearest to it, else `fallback`.
    pub(super) fn select_id_or(&mut self, id: Option<i64>, fallback: usize) {
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
                // Holding the oldest Event, read from the start: an older Event may have come
                // to match (a replay changed its status).
                low: if self.more_older { last.id } else { 1 },
                high: first.id,
                open_top: !self.more_newer,
            },
            _ => Load::Newest,
        };
        self.want(load)
    }

    /// The row of Event `id`, when the window holds it.
    pub fn held(&self, id: i64) -> Option<&EventSummary> {
        let i = self.rows.binary_search_by(|r| id.cmp(&r.id)).ok()?;
        self.rows.get(i)
    }

    /// Whether the window would hold Event `id` if it matched the filter: its id lies in the
    /// stretch of the list the rows cover, and no load or refresh is owed. Then an Event the
    /// window does not hold is one that does not match.
    pub fn covers(&self, id: i64) -> bool {
        if !self.loaded || self.loading.is_some() || self.stale {
            return false;
        }
        let above = !self.more_newer;
        let below = !self.more_older;
        match (self.rows.first(), self.rows.last()) {
            (Some(first), Some(last)) => (id <= first.id || above) && (id >= last.id || below),
            _ => above && below,
        }
    }

    /// A new or changed Event from the bus. `was` says whether the screen knew it as matching
    /// before this change (`None`: a new Event, or not known), so a row that moves in or out
    /// of the filter is counted once. The filter's verdict `None` (it needs the body) marks the
    /// window stale instead. Returns whether the screen changed.
    pub fn upsert(&mut self, row: &EventSummary, filter: &Filter, was: Option<bool>) -> bool {
        let verdict = filter.matches_summary(row);
        if let Ok(i) = self.rows.binary_search_by(|r| row.id.cmp(&r.id)) {
            if verdict == Some(false) {
                // Its new Delivery took it out of the filter (`status:5xx` answered 200).
                self.remove(i);
            } else {
                self.rows[i] = row.clone();
            }
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
        let unseen_above = above && (self.more_newer || self.loading.is_some());
        match verdict {
            Some(false) => {
                if unseen_above && was == Some(true) {
                    // Counted as new above the window, and no longer matching.
                    self.unseen = self.unseen.saturating_sub(1);
                    return true;
                }
                false
            }
            None => {
                self.stale = true;
                false
            }
            Some(true) if unseen_above => {
                // The rows above the window are not held: count it, load on `g`/`f`. A page in
                // flight may have been read before this Event was stored: look again after it.
                if was != Some(true) {
                    self.unseen += 1;
                }
                self.stale |= self.loading.is_some();
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
                        self.new_above += 1;
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

    /// Drops row `i`, keeping the selection on the same Event (or, if it was this one, on
    /// the next older row) and the rows on screen where they were.
    fn remove(&mut self, i: usize) {
        self.rows.remove(i);
        if i < self.offset {
            self.offset -= 1;
            if i < self.new_above as usize {
                self.new_above -= 1;
            }
        }
        if self.follow {
            self.selected = 0;
        } else if i < self.selected {
            self.selected -= 1;
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.offset = self.offset.min(self.selected);
    }
}
