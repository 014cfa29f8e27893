//! `GET /api/stream?filter=`: Server-Sent Events of what the Store committed. The bus (or,
//! beside another process, `PRAGMA data_version`) only wakes the stream; what it sends is read
//! from the Store after a cursor, so a reconnect with `Last-Event-ID` gets exactly what it
//! missed and a subscriber that fell behind on the bus just reads further.
//!
//! Messages: `event` (a new Event, the list row), `update` (an Event whose Delivery finished),
//! `reload` (many rows changed: reload the list). Each batch ends with the cursor as its `id`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::Ctx;
use super::api::{internal, parse_filter, row_json};
use super::query::Query;
use super::reply::{self, Reply};
use crate::filter::Filter;
use crate::store::{Change, EventSummary, Reader, SUMMARY_COLUMNS};

/// How often a stream beside another process looks for its commits.
const POLL_EVERY: Duration = Duration::from_millis(250);
/// A comment line this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The most new Events one catch-up sends; beyond, the page reloads instead.
const MAX_BATCH: usize = 500;
/// Deliveries re-read on a first connection, to catch those in flight at that moment.
const IN_FLIGHT: i64 = 64;

/// Where a stream is: the last Event sent, the Deliveries all finished up to, and those
/// finished (and sent) above that.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub events: i64,
    pub deliveries: i64,
    pub seen: BTreeSet<i64>,
}

impl Cursor {
    /// Parses `Last-Event-ID` (`EVENTS-DELIVERIES`).
    pub fn parse(text: &str) -> Option<Cursor> {
        let (e, d) = text.trim().split_once('-')?;
        Some(Cursor {
            events: e.parse().ok()?,
            deliveries: d.parse().ok()?,
            seen: BTreeSet::new(),
        })
    }

    fn id(&self) -> String {
        format!("{}-{}", self.events, self.deliveries)
    }

    /// The cursor at the Store's present end; Deliveries still in flight stay ahead of it.
    fn now(r: &Reader) -> anyhow::Result<Cursor> {
        let max = |sql| -> anyhow::Result<i64> {
            Ok(r.conn()
                .query_row(sql, [], |row| row.get::<_, Option<i64>>(0))?
                .unwrap_or(0))
        };
        let deliveries = (max("SELECT max(id) FROM deliveries")? - IN_FLIGHT).max(0);
        let mut stmt = r
            .conn()
            .prepare_cached("SELECT id FROM deliveries WHERE id > ?1 AND outcome != 'pending'")?;
        let seen = stmt
            .query_map([deliveries], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(Cursor {
            events: max("SELECT max(id) FROM events")?,
            deliveries,
            seen,
        })
    }
}

/// Starts a stream for `q`'s filter, from `last` (`Last-Event-ID`) or from now.
pub async fn stream(ctx: &Arc<Ctx>, q: &Query, last: Option<&str>) -> Reply {
    let filter = match parse_filter(q) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    // Subscribed before the cursor is read: nothing committed in between is missed.
    let bus = ctx.bus.as_ref().map(|b| b.subscribe());
    let last = last.and_then(Cursor::parse);
    let db = ctx.db.clone();
    let opened = tokio::task::spawn_blocking(move || -> anyhow::Result<(Reader, Cursor)> {
        let r = Reader::open(&db)?;
        let cursor = match last {
            Some(c) => c,
            None => Cursor::now(&r)?,
        };
        Ok((r, cursor))
    })
    .await;
    let (reader, cursor) = match opened {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return internal(e),
        Err(e) => return internal(e.into()),
    };
    let (tx, rx) = mpsc::channel(reply::STREAM_QUEUE);
    let follow = Follow {
        reader: Some(reader),
        filter: Arc::new(filter),
        cursor,
        tx,
    };
    tokio::spawn(follow.run(bus, ctx.poll, ctx.shutdown.clone()));
    let mut r = reply::stream("text/event-stream", rx);
    *r.status_mut() = StatusCode::OK;
    r
}

struct Follow {
    reader: Option<Reader>,
    filter: Arc<Filter>,
    cursor: Cursor,
    tx: mpsc::Sender<Bytes>,
}

impl Follow {
    async fn run(
        mut self,
        mut bus: Option<tokio::sync::broadcast::Receiver<Change>>,
        poll: bool,
        stop: tokio_util::sync::CancellationToken,
    ) {
        if self
            .tx
            .send(Bytes::from_static(b"retry: 1000\n\n"))
            .await
            .is_err()
        {
            return;
        }
        let mut version = None;
        let mut tick = tokio::time::interval(POLL_EVERY);
        let mut idle =
            tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
        loop {
            // Sends what was committed after the cursor (all of it on a reconnect).
            match self.catch_up().await {
                Ok(Some(text)) => {
                    if self.tx.send(Bytes::from(text)).await.is_err() {
                        return;
                    }
                    idle.reset();
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!("the inspector's stream stopped: {e:#}");
                    return;
                }
            }
            loop {
                let woke = tokio::select! {
                    () = stop.cancelled() => return,
                    () = self.tx.closed() => return,
                    change = recv(&mut bus) => change,
                    _ = tick.tick(), if poll => {
                        let now = self.data_version().await;
                        if now == version { continue }
                        version = now;
                        Ok(None)
                    }
                    _ = idle.tick() => {
                        if self.tx.send(Bytes::from_static(b": keep-alive\n\n")).await.is_err() { return }
                        continue;
                    }
                };
                match woke {
                    // Many rows changed (import, prune): the page reloads; the cursor restarts.
                    Ok(Some(Change::Reload)) => {
                        if self.restart().await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    // Fell behind on the bus: the Store holds all it missed.
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => bus = None,
                }
                // Wake-ups that came meanwhile are answered by the same read.
                if let Some(b) = bus.as_mut() {
                    while b.try_recv().is_ok() {}
                }
                break;
            }
        }
    }

    async fn blocking<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&Reader, &Filter, &mut Cursor) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let reader = self
            .reader
            .take()
            .ok_or_else(|| anyhow::anyhow!("no reader"))?;
        let filter = self.filter.clone();
        let mut cursor = std::mem::take(&mut self.cursor);
        let (reader, cursor, out) = tokio::task::spawn_blocking(move || {
            let out = f(&reader, &filter, &mut cursor);
            (reader, cursor, out)
        })
        .await?;
        self.reader = Some(reader);
        self.cursor = cursor;
        out
    }

    async fn catch_up(&mut self) -> anyhow::Result<Option<String>> {
        self.blocking(catch_up).await
    }

    async fn data_version(&mut self) -> Option<i64> {
        self.blocking(|r, _, _| r.data_version()).await.ok()
    }

    async fn restart(&mut self) -> anyhow::Result<()> {
        self.blocking(|r, _, c| {
            *c = Cursor::now(r)?;
            Ok(())
        })
        .await?;
        let text = format!("id: {}\nevent: reload\ndata: {{}}\n\n", self.cursor.id());
        self.tx.send(Bytes::from(text)).await?;
        Ok(())
    }
}

async fn recv(
    bus: &mut Option<tokio::sync::broadcast::Receiver<Change>>,
) -> Result<Option<Change>, RecvError> {
    match bus {
        Some(rx) => rx.recv().await.map(Some),
        None => std::future::pending().await,
    }
}

/// Reads what was committed after `c`, moves `c` past it, and returns it as SSE text (`None`
/// when there is nothing new).
pub fn catch_up(r: &Reader, filter: &Filter, c: &mut Cursor) -> anyhow::Result<Option<String>> {
    let mut out = String::new();
    let add = |out: &mut String, name: &str, s: &EventSummary| {
        out.push_str(&format!(
            "event: {name}\ndata: {}\n\n",
            crate::text::to_json_string(&row_json(s))
        ));
    };
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM events WHERE id > ?1 ORDER BY id LIMIT ?2");
    let mut stmt = r.conn().prepare_cached(&sql)?;
    let fresh: Vec<EventSummary> = stmt
        .query_map((c.events, MAX_BATCH as i64), EventSummary::from_row)?
        .collect::<Result<_, _>>()?;
    let mut moved = false;
    if fresh.len() == MAX_BATCH {
        *c = Cursor::now(r)?;
        out.push_str("event: reload\ndata: {}\n\n");
        moved = true;
    } else {
        for s in &fresh {
            if matches(r, filter, s)? {
                add(&mut out, "event", s);
            }
            c.events = s.id;
            moved = true;
        }
    }
    // Deliveries finished since: their Events' rows changed.
    let mut stmt = r.conn().prepare_cached(
        "SELECT id, event_id, outcome = 'pending' FROM deliveries WHERE id > ?1 ORDER BY id LIMIT 1000",
    )?;
    let rows: Vec<(i64, i64, bool)> = stmt
        .query_map([c.deliveries], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut changed = BTreeSet::new();
    let mut contiguous = true;
    for (id, event_id, pending) in rows {
        if pending {
            contiguous = false;
            continue;
        }
        if contiguous {
            c.deliveries = id;
            moved = true;
        }
        if c.seen.insert(id) {
            changed.insert(event_id);
        }
    }
    let floor = c.deliveries;
    c.seen.retain(|&id| id > floor);
    for id in changed {
        if let Some(s) = r.summary(id)?
            && matches(r, filter, &s)?
        {
            add(&mut out, "update", &s);
            moved = true;
        }
    }
    if out.is_empty() && !moved {
        return Ok(None);
    }
    out.push_str(&format!("id: {}\ndata: {{}}\nevent: cursor\n\n", c.id()));
    Ok(Some(out))
}

fn matches(r: &Reader, filter: &Filter, s: &EventSummary) -> anyhow::Result<bool> {
    if let Some(answer) = filter.matches_summary(s) {
        return Ok(answer);
    }
    let event = r.event(s.id)?.map(|(_, e)| e);
    Ok(event.is_some_and(|e| filter.matches(s, &e)))
}
