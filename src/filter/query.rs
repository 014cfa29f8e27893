//! Paged queries over the Store by filter: the one way `list`, `export`, `replay`, `prune` and
//! the TUI read many Events. Rows come in bounded batches by id (keyset paging), so no query
//! ever loads the whole Store.
//!
//! These are methods of [`Reader`], written here so the Store itself stays free of the filter
//! language (the Store imports only `event`).

use anyhow::Context;
use rusqlite::types::Value;

use super::Filter;
use crate::event::{Event, Micros};
use crate::store::{
    EVENT_EXTRA_COLUMNS, EVENT_FROM, EventSummary, Reader, SUMMARY_COLUMNS, event_from_row,
};

/// How many rows one batch reads when rows are checked in Rust.
const BATCH: usize = 256;
/// The index that holds every filterable column in id order (schema migration 2). Filtered
/// walks use it so their cost is a dense scan of small entries, never a sort or a body read.
const SCAN: &str = "INDEXED BY events_scan";

/// Which end of the history comes first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// Highest id first (the default of `list` and the TUI).
    #[default]
    NewestFirst,
    /// Arrival order (`--reverse`, exports, bulk replay).
    OldestFirst,
}

/// One page of a listing: ids strictly between `after` and `before`, at most `limit` rows.
///
/// To page towards older Events pass the last id shown as `before`; towards newer ones, the
/// first id shown as `after` with [`Order::OldestFirst`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// Only Events with an id below this.
    pub before: Option<i64>,
    /// Only Events with an id above this.
    pub after: Option<i64>,
    /// The most rows returned.
    pub limit: usize,
    /// Which end comes first.
    pub order: Order,
}

impl Page {
    /// The newest `limit` Events.
    pub fn first(limit: usize) -> Page {
        Page {
            before: None,
            after: None,
            limit,
            order: Order::NewestFirst,
        }
    }
}

/// Whether a streaming walk should go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

impl Reader {
    /// One page of the Events that match `filter`, in `page.order`.
    ///
    /// Indexed terms run as SQL. When the filter needs headers or body, rows are read in
    /// batches of 256 and checked in Rust until the page is full or the history ends.
    pub fn list(&self, filter: &Filter, page: &Page) -> anyhow::Result<Vec<EventSummary>> {
        if page.limit == 0 {
            return Ok(Vec::new());
        }
        if !filter.needs_body() {
            let (rows, _) = self.batch(filter, page, page.limit, false)?;
            return Ok(rows.into_iter().map(|(s, _)| s).collect());
        }
        let mut out = Vec::with_capacity(page.limit.min(BATCH));
        self.walk(filter, page, |summary, _| {
            out.push(summary);
            Ok(if out.len() >= page.limit {
                Flow::Stop
            } else {
                Flow::Continue
            })
        })?;
        Ok(out)
    }

    /// Calls `visit` with every matching Event in full, in `page.order`, within `page`'s id
    /// bounds (its `limit` is ignored), reading 256 rows at a time.
    ///
    /// A bare word or phrase of 3 characters or more is looked up in the text search index for
    /// the Events it covers (see `store::search`); the rest are scanned. Either way each
    /// candidate is checked by [`Filter::matches`], so the Events found are the same.
    pub fn walk(
        &self,
        filter: &Filter,
        page: &Page,
        mut visit: impl FnMut(EventSummary, Event) -> anyhow::Result<Flow>,
    ) -> anyhow::Result<()> {
        match filter.index_query() {
            Some(expr) => self.walk_indexed(filter, &expr, page, &mut visit),
            None => self.scan(filter, page, &mut visit).map(|_| ()),
        }
    }

    /// [`Reader::walk`] without the text search index, reading every row the indexed terms
    /// leave: what the index must agree with (tests and benchmarks compare the two).
    pub fn walk_scan(
        &self,
        filter: &Filter,
        page: &Page,
        mut visit: impl FnMut(EventSummary, Event) -> anyhow::Result<Flow>,
    ) -> anyhow::Result<()> {
        self.scan(filter, page, &mut visit).map(|_| ())
    }

    /// [`Reader::walk`] without the index: every row the indexed terms leave is read and checked.
    pub(super) fn scan(
        &self,
        filter: &Filter,
        page: &Page,
        visit: &mut dyn FnMut(EventSummary, Event) -> anyhow::Result<Flow>,
    ) -> anyhow::Result<Flow> {
        let mut cursor = *page;
        loop {
            let (rows, last) = self.batch(filter, &cursor, BATCH, true)?;
            for (summary, event) in rows {
                let Some(event) = event else { continue };
                if filter.matches(&summary, &event) && visit(summary, event)? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
            }
            match (last, cursor.order) {
                (None, _) => return Ok(Flow::Continue),
                (Some(id), Order::NewestFirst) => cursor.before = Some(id),
                (Some(id), Order::OldestFirst) => cursor.after = Some(id),
            }
        }
    }

    /// The ids of every matching Event in `order`. Reads only ids when SQL settles the
    /// filter; otherwise walks the rows in batches.
    pub fn ids(&self, filter: &Filter, order: Order) -> anyhow::Result<Vec<i64>> {
        Ok(self
            .arrivals(filter, order)?
            .into_iter()
            .map(|(id, _)| id)
            .collect())
    }

    /// The id and arrival time of every matching Event in `order`, read from the index alone
    /// when SQL settles the filter (no body is read); otherwise walks the rows in batches.
    pub fn arrivals(&self, filter: &Filter, order: Order) -> anyhow::Result<Vec<(i64, Micros)>> {
        let mut found = Vec::new();
        let all = Page {
            order,
            ..Page::first(usize::MAX)
        };
        if filter.needs_body() {
            self.walk(filter, &all, |s, _| {
                found.push((s.id, s.received_at));
                Ok(Flow::Continue)
            })?;
            return Ok(found);
        }
        let sql = filter.sql();
        let dir = match order {
            Order::NewestFirst => "DESC",
            Order::OldestFirst => "ASC",
        };
        let query = format!(
            "SELECT id, received_at FROM events {SCAN} WHERE {} ORDER BY id {dir}",
            sql.clause
        );
        let mut stmt = self.conn().prepare(&query)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(sql.params), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        for row in rows {
            found.push(row?);
        }
        Ok(found)
    }

    /// How many Events match the indexed terms of `filter` (terms on headers or body are not
    /// counted; see [`Filter::needs_body`]).
    pub fn count_indexed(&self, filter: &Filter) -> anyhow::Result<u64> {
        let sql = filter.sql();
        let query = format!("SELECT count(*) FROM events {SCAN} WHERE {}", sql.clause);
        let n: i64 = self
            .conn()
            .prepare_cached(&query)?
            .query_row(rusqlite::params_from_iter(sql.params), |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Up to `limit` rows by SQL alone, and the id of the last row read (`None` when fewer
    /// than `limit` came back, i.e. the end).
    #[allow(clippy::type_complexity)]
    fn batch(
        &self,
        filter: &Filter,
        page: &Page,
        limit: usize,
        full: bool,
    ) -> anyhow::Result<(Vec<(EventSummary, Option<Event>)>, Option<i64>)> {
        let sql = filter.sql();
        let columns = if full {
            format!("{SUMMARY_COLUMNS}, {EVENT_EXTRA_COLUMNS}")
        } else {
            SUMMARY_COLUMNS.to_string()
        };
        let order = match page.order {
            Order::NewestFirst => "DESC",
            Order::OldestFirst => "ASC",
        };
        // The ids come from the narrow `events_scan` index, walked in id order; only the rows
        // of the page are then read from the table.
        let from = if full { EVENT_FROM } else { "events" };
        let query = format!(
            "SELECT {columns} FROM {from} WHERE events.id IN (SELECT id FROM events {SCAN} \
             WHERE {} AND id < ? AND id > ? ORDER BY id {order} LIMIT ?) ORDER BY events.id {order}",
            sql.clause
        );
        let mut params = sql.params;
        params.push(Value::Integer(page.before.unwrap_or(i64::MAX)));
        params.push(Value::Integer(page.after.unwrap_or(i64::MIN)));
        params.push(Value::Integer(limit as i64));
        let mut stmt = self
            .conn()
            .prepare_cached(&query)
            .context("cannot query the Store")?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |row| {
            if full {
                event_from_row(row).map(|(s, e)| (s, Some(e)))
            } else {
                EventSummary::from_row(row).map(|s| (s, None))
            }
        })?;
        let rows: Vec<_> = rows.collect::<Result<_, _>>()?;
        let last = (rows.len() >= limit)
            .then(|| rows.last().map(|(s, _)| s.id))
            .flatten();
        Ok((rows, last))
    }
}
