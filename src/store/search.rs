//! The text search index (schema 6): an FTS5 `trigram` table of what a bare word or quoted
//! phrase searches (path, query and body as received, see `filter::matcher`), filled off the
//! capture path by [`Indexer`] (in the background, while capture is quiet) and by
//! [`catch_up`] (a search first indexes a small backlog, then answers).
//!
//! The index only narrows: it answers "which Events may hold this text" for ids up to the mark
//! `search_state.indexed_to`; the filter's matcher then checks each candidate exactly (ASCII
//! case, raw bytes), and ids above the mark are scanned as before. So a search gives the same
//! Events whether the index is empty, partial or complete.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rusqlite::{Connection, TransactionBehavior};

use super::body::unpack;

/// The most Events one indexing transaction takes (it holds the write lock while it runs).
const BATCH: usize = 128;
/// ... and the most text, so a few huge bodies do not hold the lock long either.
const BATCH_BYTES: usize = 1 << 20;
/// A search indexes a backlog up to this many Events before answering; a longer one is left
/// to the background [`Indexer`] and its part is scanned meanwhile.
pub const CATCH_UP: i64 = 20_000;
/// How often the background indexer looks at the Store.
const TICK: Duration = Duration::from_millis(500);
/// More new Events than this per tick means capture is busy: the indexer waits.
const BUSY: i64 = 25;

/// The text the index holds for one Event: path, query and body, one per line (a match that
/// spans two of them is a false candidate the matcher drops). Invalid UTF-8 becomes U+FFFD and
/// NUL a space: neither can be part of a needle the index is asked about (see [`match_expr`]).
pub fn text_of(path: &str, query: Option<&str>, body: &[u8]) -> String {
    let body = String::from_utf8_lossy(body);
    let mut text = String::with_capacity(path.len() + body.len() + 2);
    text.push_str(path);
    text.push('\n');
    text.push_str(query.unwrap_or(""));
    text.push('\n');
    text.push_str(&body);
    text.replace('\0', " ")
}

/// An FTS5 query that every Event holding all of `needles` (ignoring ASCII case) matches: each
/// trigram of each needle, ANDed. `None` when no needle has 3 characters or more (the index
/// cannot help); needles that cannot be asked (shorter, or with NUL) are left to the matcher.
pub fn match_expr<'a>(needles: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut grams: Vec<String> = Vec::new();
    for needle in needles {
        if needle.contains('\0') {
            continue;
        }
        let chars: Vec<char> = needle.chars().collect();
        for w in chars.windows(3) {
            let gram: String = w.iter().collect();
            let quoted = format!("\"{}\"", gram.replace('"', "\"\""));
            if !grams.contains(&quoted) {
                grams.push(quoted);
            }
        }
    }
    (!grams.is_empty()).then(|| grams.join(" AND "))
}

/// The highest Event id in the index (every Event at or below it is indexed).
pub fn indexed_to(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT indexed_to FROM search_state")?
        .query_row([], |r| r.get(0))
}

/// The index mark and the highest Event id: how far indexing has come.
pub fn progress(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.prepare_cached(
        "SELECT (SELECT indexed_to FROM search_state), (SELECT coalesce(max(id), 0) FROM events)",
    )?
    .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
}

/// Indexes the next Events above the mark in one short write transaction. Returns how many.
pub fn index_batch(conn: &mut Connection) -> anyhow::Result<usize> {
    // Read inside the write transaction: a prune running meanwhile cannot leave a row behind.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mark = indexed_to(&tx)?;
    let mut rows: Vec<(i64, String)> = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT events.id, events.path, events.query, bodies.body, bodies.encoding \
             FROM events JOIN bodies ON bodies.event_id = events.id \
             WHERE events.id > ?1 ORDER BY events.id LIMIT ?2",
        )?;
        let mut found = stmt.query((mark, BATCH as i64))?;
        let mut bytes = 0;
        while let Some(row) = found.next()? {
            let id: i64 = row.get(0)?;
            let path: String = row.get(1)?;
            let query: Option<String> = row.get(2)?;
            let encoding: Option<String> = row.get(4)?;
            // A body that does not decode is indexed by path and query only; showing it
            // reports the damage as before.
            let body = unpack(row.get(3)?, encoding.as_deref()).unwrap_or_default();
            let text = text_of(&path, query.as_deref(), &body);
            bytes += text.len();
            rows.push((id, text));
            if bytes >= BATCH_BYTES {
                break;
            }
        }
    }
    let Some(&(last, _)) = rows.last() else {
        return Ok(0);
    };
    {
        let mut insert = tx.prepare_cached("INSERT INTO search (rowid, text) VALUES (?1, ?2)")?;
        for (id, text) in &rows {
            insert.execute((id, text))?;
        }
    }
    tx.execute("UPDATE search_state SET indexed_to = ?1", [last])?;
    tx.commit()?;
    Ok(rows.len())
}

/// A write connection of its own for indexing (the Store's writer thread stays free).
fn open(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)
        .with_context(|| format!("cannot open the Store {} to index it", path.display()))?;
    conn.busy_timeout(super::BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Indexes the Events above the mark when at most `limit` are missing, so the search that
/// follows needs no scan. Returns whether the index then covers every Event.
pub fn catch_up(path: &Path, limit: i64) -> anyhow::Result<bool> {
    let mut conn = open(path)?;
    let (mark, max) = progress(&conn)?;
    if max <= mark {
        return Ok(true);
    }
    if max - mark > limit {
        return Ok(false);
    }
    while index_batch(&mut conn)? > 0 {
        if indexed_to(&conn)? >= max {
            break;
        }
    }
    Ok(indexed_to(&conn)? >= max)
}

/// The background indexer of a long-running process (`listen`, `ui`): a thread that indexes in
/// short batches while capture is quiet and sleeps while it is busy or caught up. It stops
/// when dropped.
pub struct Indexer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Indexer {
    /// Starts indexing the Store at `path`.
    pub fn spawn(path: &Path) -> anyhow::Result<Indexer> {
        let path: PathBuf = path.to_owned();
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("hooktap-index".into())
            .spawn(move || {
                if let Err(e) = run(&path, &stopped) {
                    tracing::warn!("the text search index stopped: {e:#}");
                }
            })
            .context("cannot start the text search indexer")?;
        Ok(Indexer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Indexer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Whether the owner asked the thread to stop, after waiting up to `wait`.
fn stopped(rx: &mpsc::Receiver<()>, wait: Duration) -> bool {
    !matches!(rx.recv_timeout(wait), Err(mpsc::RecvTimeoutError::Timeout))
}

fn run(path: &Path, stop: &mpsc::Receiver<()>) -> anyhow::Result<()> {
    let mut conn = open(path)?;
    let mut last_max = progress(&conn)?.1;
    loop {
        if stopped(stop, TICK) {
            return Ok(());
        }
        let (mark, max) = progress(&conn)?;
        let busy = max - last_max > BUSY;
        last_max = max;
        if busy || mark >= max {
            continue;
        }
        // Quiet and behind: index until caught up, pausing as long as each batch took (at
        // most half a core), and yielding as soon as capture picks up again.
        loop {
            let started = Instant::now();
            if index_batch(&mut conn)? == 0 {
                break;
            }
            if stopped(stop, started.elapsed()) {
                return Ok(());
            }
            let (mark, max) = progress(&conn)?;
            let busy = max - last_max > BUSY;
            last_max = max;
            if mark >= max || busy {
                break;
            }
        }
    }
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
