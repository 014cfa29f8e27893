//! Facts from outside (the Store's bus, the workers' replies) and the detail pane's state.

use super::*;
use crate::tui::text;

/// Pending Events remembered for the count; past this the memory starts over (Events whose
/// Delivery the bus dropped would otherwise stay forever).
const PENDING_KEPT: usize = 4096;

impl App {
    pub(super) fn bus(&mut self, change: Change) -> Option<Effect> {
        match change {
            Change::Event(s) => {
                if matches!(s.ingress.as_str(), "local" | "relay") {
                    self.stats.received += 1;
                    if s.outcome.as_deref() == Some("pending") {
                        self.stats.in_flight += 1;
                    }
                }
                let now = self.filter.matches_summary(&s);
                self.count(Some(false), now);
                if s.outcome.as_deref() == Some("pending") {
                    // Its Delivery will change it: remember how it stood for the count.
                    if self.pending.len() >= PENDING_KEPT {
                        self.pending.clear();
                    }
                    self.pending.insert(s.id, s.clone());
                }
                self.upsert(&s, None);
                None
            }
            Change::Delivery { summary, kind, .. } => {
                self.stats.delivered(summary.id, kind, summary.status);
                match summary.outcome.as_deref() {
                    Some("ok") => self.target_up = Some(true),
                    Some("failed") => self.target_up = Some(false),
                    _ => {}
                }
                let was = self.was_matching(summary.id);
                let now = self.filter.matches_summary(&summary);
                self.upsert(&summary, was.flatten());
                match was {
                    Some(was) => {
                        self.count(was, now);
                        None
                    }
                    // How it stood is not known here: count again from the Store.
                    None if self.total.is_some() => self.recount(),
                    None => None,
                }
            }
            Change::Reload => {
                self.pending.clear();
                self.list.stale = true;
                self.list.refresh().map(|l| self.query(l))
            }
        }
    }

    /// Whether Event `id` matched the filter before the Delivery that just finished, as far as
    /// the screen knows: as it arrived (if it arrived pending), as its row shows, or not at
    /// all when the window would hold it if it did. `None`: not known.
    fn was_matching(&mut self, id: i64) -> Option<Option<bool>> {
        if let Some(before) = self.pending.remove(&id) {
            return Some(self.filter.matches_summary(&before));
        }
        if let Some(row) = self.list.held(id) {
            return Some(self.filter.matches_summary(row));
        }
        self.list.covers(id).then_some(Some(false))
    }

    /// Keeps the count of matching Events in step with a change that took an Event from
    /// verdict `was` to `now`.
    fn count(&mut self, was: Option<bool>, now: Option<bool>) {
        let Some(total) = self.total else {
            return;
        };
        self.total = Some(match (was == Some(true), now == Some(true)) {
            (false, true) => total + 1,
            (true, false) => total.saturating_sub(1),
            _ => total,
        });
    }

    /// Reads the rows and the count again (a refresh always brings a count).
    fn recount(&mut self) -> Option<Effect> {
        self.list.stale = true;
        self.list.refresh().map(|l| self.query(l))
    }

    fn upsert(&mut self, s: &EventSummary, was: Option<bool>) {
        let prev = self.list.selected_id();
        let held = self.list.rows.len();
        self.list.upsert(s, &self.filter, was);
        if self.list.rows.len() < held {
            // A row left: no empty space below the last one.
            self.list.scroll_into_view(self.areas().list_rows());
        }
        if self.detail.as_ref().is_some_and(|d| d.summary.id == s.id) {
            // The Event on show changed (a new Delivery): load it again.
            self.detail_version += 1;
        }
        self.after_select(prev);
    }

    pub(super) fn reply(&mut self, reply: Reply) -> Option<Effect> {
        match reply {
            Reply::Loaded {
                generation,
                load,
                rows,
                more,
            } => {
                if generation != self.filter_gen {
                    return None;
                }
                self.searching = None;
                let prev = self.list.selected_id();
                let next = self.list.loaded(load, rows, more, self.areas().list_rows());
                self.after_select(prev);
                next.map(|l| self.query(l))
            }
            Reply::Counted { generation, total } => {
                if generation == self.filter_gen {
                    self.total = Some(total);
                }
                None
            }
            Reply::Searching { generation, done } => {
                if generation == self.filter_gen && self.list.loading.is_some() {
                    self.searching = Some(done);
                }
                None
            }
            Reply::StoreChanged => {
                self.list.stale = true;
                self.list.refresh().map(|l| self.query(l))
            }
            Reply::Detail(d) => {
                if self.list.selected_id() != Some(d.summary.id) {
                    return None;
                }
                let same = self.detail.as_ref().map(|o| o.summary.id) == Some(d.summary.id);
                self.detail = Some(*d);
                if same && self.diff.is_some() {
                    self.diff = None;
                    self.toggle_diff();
                }
                self.rebuild();
                None
            }
            Reply::Replayed { line, ok, .. } => {
                self.say(line, !ok);
                None
            }
            Reply::EditText { id, text } => Some(Effect::Editor { id, text }),
            Reply::Clip(clip) => Some(Effect::Clipboard(clip)),
            Reply::Failed(text) => {
                self.list.loading = None;
                self.searching = None;
                self.say(text, true);
                None
            }
        }
    }

    /// After the selection may have moved: a new Event starts on a clean detail pane.
    pub(super) fn after_select(&mut self, prev: Option<i64>) {
        if self.list.selected_id() != prev {
            self.scroll = 0;
            self.delivery = None;
            self.mark = None;
            self.diff = None;
            if self.list.selected_id().is_none() {
                self.detail = None;
                self.focus = Focus::List;
                self.rebuild();
            }
        }
    }

    pub(super) fn set_tab(&mut self, tab: Tab) {
        if self.tab != tab {
            self.tab = tab;
            self.scroll = 0;
            self.rebuild();
        }
    }

    pub(super) fn max_scroll(&self) -> usize {
        self.detail_text
            .len()
            .saturating_sub(self.areas().detail_rows())
    }

    pub(super) fn scroll_by(&mut self, delta: isize) {
        let next = (self.scroll as isize + delta).max(0) as usize;
        self.scroll = next.min(self.max_scroll());
    }

    /// `j`/`k` in the Deliveries tab: which Delivery the Response tab (and a diff) shows.
    pub(super) fn pick_delivery(&mut self, delta: isize) {
        let Some(current) = self.delivery_index() else {
            return;
        };
        let n = self.detail.as_ref().map_or(0, |d| d.deliveries.len());
        self.delivery = Some((current as isize + delta).clamp(0, n as isize - 1) as usize);
        if self.diff.is_some() {
            self.diff = None;
            self.toggle_diff();
        }
        self.rebuild();
    }

    /// `d`: compare two Deliveries (the marked one, or the original, with the picked one, or
    /// the latest replay), or close the comparison.
    pub(super) fn toggle_diff(&mut self) {
        if self.diff.take().is_some() {
            self.rebuild();
            return;
        }
        let Some(d) = &self.detail else {
            self.say("no Event selected", true);
            return;
        };
        let ds = &d.deliveries;
        let id = d.summary.id;
        let Ok((a, b)) = crate::pretty::diff::pick(ds, id, None) else {
            let n = ds.len();
            self.say(
                format!("#{id} has {n} Delivery: r replays it, then d compares the two"),
                false,
            );
            return;
        };
        let index = |want: i64| ds.iter().position(|x| x.id == want).unwrap_or(0);
        let (ia, mut ib) = (
            self.mark.unwrap_or(index(a.id)),
            self.delivery.unwrap_or(index(b.id)),
        );
        if ia == ib {
            // The same one twice: compare with the latest other one.
            let last = ds.len() - 1;
            ib = if ia == last { last - 1 } else { last };
        }
        self.diff = Some(crate::pretty::diff::lines(&ds[ia], &ds[ib]));
        self.mark = Some(ia);
        self.delivery = Some(ib);
        self.tab = Tab::Deliveries;
        self.rebuild();
    }

    /// Rebuilds the detail pane's text for the current tab and width.
    pub(super) fn rebuild(&mut self) {
        let width = self.areas().detail.width as usize;
        let (lines, body) = match &self.detail {
            Some(d) => {
                let sel = text::Selection {
                    delivery: self.delivery_index(),
                    mark: self.mark,
                    diff: self.diff.as_deref(),
                    width,
                };
                text::tab(d, self.tab, &sel, &self.clock)
            }
            None => (Vec::new(), None),
        };
        // A large body's rows are indexed once per width (one pass over it), not per rebuild.
        let body = body.map(|t| {
            let rows = match self.detail_text.body() {
                Some((old, rows)) if old.same(&t) && rows.width() == width.max(1) => rows.clone(),
                _ => t.rows(width),
            };
            (t, rows)
        });
        self.detail_text = text::Pane::new(text::wrap(lines, width), body);
        self.scroll = self.scroll.min(self.max_scroll());
    }
}
