//! The list thread: pages of the list by filter, newest first, one query at a time; a newer
//! query stops a running search between steps; the count follows the first page; and for
//! `hooktap ui`, `PRAGMA data_version` tells when another process committed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::Sender;

use super::{Query, Reply};
use crate::filter::{Filter, Order, Page};
use crate::store::{EventSummary, Reader};
use crate::tui::window::{Load, MAX_ROWS, PAGE};

/// Ids read per step of a search that needs bodies, between checks for a newer query.
const CHUNK: i64 = 2048;
/// How often a running search reports how far it got.
const PROGRESS_EVERY: Duration = Duration::from_millis(150);
/// How often `hooktap ui` looks for commits by another process (`PRAGMA data_version`).
const POLL_EVERY: Duration = Duration::from_millis(400);

pub(super) fn run(
    reader: Reader,
    rx: mpsc::Receiver<(u64, Query)>,
    out: Sender<Reply>,
    latest: Arc<AtomicU64>,
    poll: bool,
) {
    let mut version = reader.data_version().ok();
    let mut counted: Option<u64> = None;
    loop {
        let (seq, query) = match rx.recv_timeout(POLL_EVERY) {
            Ok(next) => next,
            Err(RecvTimeoutError::Timeout) => {
                if poll {
                    let now = reader.data_version().ok();
                    if now != version {
                        version = now;
                        if out.blocking_send(Reply::StoreChanged).is_err() {
                            return;
                        }
                    }
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        // Only the newest query matters.
        let (seq, query) = rx.try_iter().last().unwrap_or((seq, query));
        if poll {
            // What this query reads is current as of now.
            version = reader.data_version().ok();
        }
        let cancelled = || latest.load(Ordering::SeqCst) != seq;
        let mut last_progress = Instant::now();
        let mut progress = |done: f32| {
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                let _ = out.blocking_send(Reply::Searching {
                    generation: query.generation,
                    done,
                });
            }
        };
        let reply = match fetch(
            &reader,
            &query.filter,
            query.load,
            &cancelled,
            &mut progress,
        ) {
            Ok(Some((rows, more))) => Reply::Loaded {
                generation: query.generation,
                load: query.load,
                rows,
                more,
            },
            Ok(None) => continue,
            Err(e) => Reply::Failed(format!("cannot read the Store: {e:#}")),
        };
        if out.blocking_send(reply).is_err() {
            return;
        }
        // The count comes after the first page, so it never delays a frame.
        if (counted != Some(query.generation) || query.count) && !query.filter.needs_body() {
            counted = Some(query.generation);
            if let Ok(total) = reader.count_indexed(&query.filter) {
                let _ = out.blocking_send(Reply::Counted {
                    generation: query.generation,
                    total,
                });
            }
        }
    }
}

/// The page a [`Load`] asks for.
fn page_of(load: Load) -> (Page, bool) {
    let (page, reverse) = match load {
        Load::Newest => (Page::first(PAGE), false),
        Load::Older { before } => (
            Page {
                before: Some(before),
                ..Page::first(PAGE)
            },
            false,
        ),
        Load::Newer { after } => (
            Page {
                after: Some(after),
                order: Order::OldestFirst,
                ..Page::first(PAGE)
            },
            true,
        ),
        Load::Oldest => (
            Page {
                order: Order::OldestFirst,
                ..Page::first(PAGE)
            },
            true,
        ),
        Load::Refresh {
            low,
            high,
            open_top,
        } => (
            Page {
                after: Some(low - 1),
                before: (!open_top).then_some(high + 1),
                ..Page::first(MAX_ROWS)
            },
            false,
        ),
    };
    (page, reverse)
}

/// Reads the rows of `load`, newest first, and whether more lie beyond them. `None` when a
/// newer query made this one pointless.
pub fn fetch(
    reader: &Reader,
    filter: &Filter,
    load: Load,
    cancelled: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(f32),
) -> anyhow::Result<Option<(Vec<EventSummary>, bool)>> {
    let (page, reverse) = page_of(load);
    let rows = if filter.needs_body() {
        match search(reader, filter, &page, cancelled, progress)? {
            Some(rows) => rows,
            None => return Ok(None),
        }
    } else {
        reader.list(filter, &page)?
    };
    let more = rows.len() >= page.limit;
    let mut rows = rows;
    if reverse {
        rows.reverse();
    }
    Ok(Some((rows, more)))
}

/// A page for a filter that reads bodies, found by walking the ids in steps of [`CHUNK`] so a
/// newer query can stop it between steps.
fn search(
    reader: &Reader,
    filter: &Filter,
    page: &Page,
    cancelled: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(f32),
) -> anyhow::Result<Option<Vec<EventSummary>>> {
    if filter.index_query().is_some() {
        // The text search index answers in one go (after indexing a short backlog); only a
        // long one, an existing Store not indexed yet, is scanned in steps.
        let (mark, max) = crate::store::search::progress(reader.conn())?;
        if max - mark <= reader.search_catch_up() {
            return Ok(Some(reader.list(filter, page)?));
        }
    }
    let (min, max): (Option<i64>, Option<i64>) =
        reader
            .conn()
            .query_row("SELECT min(id), max(id) FROM events", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
    let (Some(min), Some(max)) = (min, max) else {
        return Ok(Some(Vec::new()));
    };
    let low = page.after.map_or(min, |a| a.saturating_add(1)).max(min);
    let high = page.before.map_or(max, |b| b.saturating_sub(1)).min(max);
    let span = (high - low + 1).max(1) as f32;
    let mut out = Vec::new();
    let step = |from: i64, to: i64, out: &mut Vec<EventSummary>| -> anyhow::Result<()> {
        let rows = reader.list(
            filter,
            &Page {
                before: Some(to + 1),
                after: Some(from - 1),
                limit: page.limit - out.len(),
                order: page.order,
            },
        )?;
        out.extend(rows);
        Ok(())
    };
    match page.order {
        Order::NewestFirst => {
            let mut top = high;
            while top >= low && out.len() < page.limit {
                let bottom = (top - CHUNK + 1).max(low);
                step(bottom, top, &mut out)?;
                top = bottom - 1;
                if cancelled() {
                    return Ok(None);
                }
                progress((high - top) as f32 / span);
            }
        }
        Order::OldestFirst => {
            let mut bottom = low;
            while bottom <= high && out.len() < page.limit {
                let top = (bottom + CHUNK - 1).min(high);
                step(bottom, top, &mut out)?;
                bottom = top + 1;
                if cancelled() {
                    return Ok(None);
                }
                progress((bottom - low) as f32 / span);
            }
        }
    }
    Ok(Some(out))
}
