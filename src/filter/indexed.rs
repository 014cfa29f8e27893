//! Text searches through the text search index (`store::search`): the Events at or below the
//! index mark come from the index as candidates, newest (or oldest) first in growing batches,
//! and only those are read and checked by the matcher; the Events above the mark are scanned.

use rusqlite::types::Value;

use super::Filter;
use super::query::{Flow, Order, Page};
use crate::event::Event;
use crate::store::search;
use crate::store::{
    EVENT_EXTRA_COLUMNS, EVENT_FROM, EventSummary, Reader, SUMMARY_COLUMNS, event_from_row,
};

/// The first batch of candidates (a page of 50 needs no more when most match); each next one
/// is twice as large, up to [`MAX_BATCH`].
const FIRST_BATCH: usize = 64;
const MAX_BATCH: usize = 1024;

type Visit<'a> = dyn FnMut(EventSummary, Event) -> anyhow::Result<Flow> + 'a;

impl Reader {
    /// [`Reader::walk`] for a filter with an index query `expr` (see [`Filter::index_query`]).
    pub(super) fn walk_indexed(
        &self,
        filter: &Filter,
        expr: &str,
        page: &Page,
        visit: &mut Visit<'_>,
    ) -> anyhow::Result<()> {
        let mark = self.search_mark()?;
        // Above the mark: not indexed yet, scanned. At or below it: asked of the index.
        let above = Page {
            after: Some(page.after.unwrap_or(i64::MIN).max(mark)),
            ..*page
        };
        let below = Page {
            before: Some(page.before.unwrap_or(i64::MAX).min(mark.saturating_add(1))),
            ..*page
        };
        let flow = match page.order {
            Order::NewestFirst => self.scan(filter, &above, visit)?,
            Order::OldestFirst => self.candidates(filter, expr, &below, visit)?,
        };
        if flow == Flow::Stop {
            return Ok(());
        }
        match page.order {
            Order::NewestFirst => self.candidates(filter, expr, &below, visit)?,
            Order::OldestFirst => self.scan(filter, &above, visit)?,
        };
        Ok(())
    }

    /// The index mark, after indexing a backlog of at most [`Reader::search_catch_up`] Events
    /// (on a write connection of its own). A search still answers when that fails (a read-only Store, a
    /// lock held too long): the backlog is then scanned.
    fn search_mark(&self) -> anyhow::Result<i64> {
        let (mark, max) = search::progress(self.conn())?;
        let limit = self.search_catch_up();
        if max > mark && max - mark <= limit {
            if let Err(e) = search::catch_up(self.path(), limit) {
                tracing::debug!("search scans {} Events not indexed yet: {e:#}", max - mark);
            }
            return Ok(search::indexed_to(self.conn())?);
        }
        Ok(mark)
    }

    /// Visits the Events the index names for `expr` within `page`'s bounds that match `filter`.
    fn candidates(
        &self,
        filter: &Filter,
        expr: &str,
        page: &Page,
        visit: &mut Visit<'_>,
    ) -> anyhow::Result<Flow> {
        let order = match page.order {
            Order::NewestFirst => "DESC",
            Order::OldestFirst => "ASC",
        };
        let ids_query = format!(
            "SELECT rowid FROM search WHERE search MATCH ?1 AND rowid < ?2 AND rowid > ?3 \
             ORDER BY rowid {order} LIMIT ?4"
        );
        let sql = filter.sql();
        let rows_query = format!(
            "SELECT {SUMMARY_COLUMNS}, {EVENT_EXTRA_COLUMNS} FROM {EVENT_FROM} \
             WHERE events.id IN (SELECT value FROM json_each(?)) AND ({}) \
             ORDER BY events.id {order}",
            sql.clause
        );
        let mut cursor = *page;
        let mut batch = FIRST_BATCH;
        loop {
            let ids: Vec<i64> = self
                .conn()
                .prepare_cached(&ids_query)?
                .query_map(
                    (
                        expr,
                        cursor.before.unwrap_or(i64::MAX),
                        cursor.after.unwrap_or(i64::MIN),
                        batch as i64,
                    ),
                    |r| r.get(0),
                )?
                .collect::<Result<_, _>>()?;
            let Some(&last) = ids.last() else {
                return Ok(Flow::Continue);
            };
            let list: Vec<String> = ids.iter().map(i64::to_string).collect();
            let mut params = vec![Value::Text(format!("[{}]", list.join(",")))];
            params.extend(sql.params.iter().cloned());
            let mut stmt = self.conn().prepare_cached(&rows_query)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(params), event_from_row)?;
            for row in rows {
                let (summary, event) = row?;
                if filter.matches(&summary, &event) && visit(summary, event)? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
            }
            if ids.len() < batch {
                return Ok(Flow::Continue);
            }
            match cursor.order {
                Order::NewestFirst => cursor.before = Some(last),
                Order::OldestFirst => cursor.after = Some(last),
            }
            batch = (batch * 2).min(MAX_BATCH);
        }
    }
}
