//! Pruning: delete the oldest Events (and their Deliveries) to keep the Store bounded, by count,
//! age or size. Deletes go through the writer in small batches, so capture never waits long;
//! SQLite reuses the freed pages (no VACUUM).

use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::filter::{Filter, Order, Test};
use crate::store::{Change, Reader, Writer};

/// How many Events one write transaction deletes.
const BATCH: usize = 500;
/// How often `listen --keep/--max-db-size` checks the Store.
const EVERY: Duration = Duration::from_secs(10);

/// What `prune` deletes: Events matching the filter, older than a time, beyond the newest N.
#[derive(Clone, Debug, Default)]
pub struct Rule {
    /// Keep this many of the newest matching Events.
    pub keep: Option<u64>,
    /// Only Events received before this time.
    pub before: Option<crate::event::Micros>,
}

/// The ids `rule` would delete among the Events matching `filter`, oldest first.
pub fn select(reader: &Reader, filter: &Filter, rule: &Rule) -> anyhow::Result<Vec<i64>> {
    let old = match rule.before {
        Some(t) => filter.clone().and(Test::Before(t)),
        None => filter.clone(),
    };
    let mut ids = reader.ids(&old, Order::NewestFirst)?;
    if let Some(keep) = rule.keep {
        // The newest N are counted among all matches, old or not.
        let kept: std::collections::HashSet<i64> = reader
            .ids(filter, Order::NewestFirst)?
            .into_iter()
            .take(keep as usize)
            .collect();
        ids.retain(|id| !kept.contains(id));
    }
    ids.reverse();
    Ok(ids)
}

/// The ids of the Events held for redelivery (`listen --redeliver`): few, from a partial index.
pub fn held(reader: &Reader) -> anyhow::Result<std::collections::HashSet<i64>> {
    let mut stmt = reader
        .conn()
        .prepare("SELECT id FROM events INDEXED BY events_held WHERE held_since IS NOT NULL")?;
    let ids = stmt.query_map([], |r| r.get(0))?;
    Ok(ids.collect::<Result<_, _>>()?)
}

/// Deletes `ids` in batches through the writer, except Events held for redelivery. Returns how
/// many Events were deleted.
pub async fn delete(writer: &Writer, ids: &[i64]) -> anyhow::Result<u64> {
    let mut deleted = 0;
    for chunk in ids.chunks(BATCH) {
        let chunk = chunk.to_vec();
        let (tx, rx) = tokio::sync::oneshot::channel();
        writer
            .run(move |t| {
                // Held Events (`listen --redeliver`) are owed to the app: never deleted here.
                let mut stmt =
                    t.prepare_cached("DELETE FROM events WHERE id = ?1 AND held_since IS NULL")?;
                let mut n = 0;
                for id in chunk {
                    n += stmt.execute([id])? as u64;
                }
                let _ = tx.send(n);
                Ok(Change::Reload)
            })
            .await?;
        deleted += rx.await.unwrap_or(0);
    }
    Ok(deleted)
}

/// Bounds for `listen --keep N` and `--max-db-size`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bounds {
    /// The most Events kept.
    pub keep: Option<u64>,
    /// The most bytes of pages in use (the file does not shrink; freed pages are reused).
    pub max_bytes: Option<u64>,
}

impl Bounds {
    /// Whether any bound is set.
    pub fn any(&self) -> bool {
        self.keep.is_some() || self.max_bytes.is_some()
    }
}

/// How many of the oldest Events to delete now to respect `bounds`.
pub fn excess(reader: &Reader, bounds: &Bounds) -> anyhow::Result<u64> {
    let count = reader.count()?;
    let mut excess = bounds.keep.map_or(0, |k| count.saturating_sub(k));
    if let Some(max) = bounds.max_bytes {
        let pragma = |name: &str| -> anyhow::Result<u64> {
            let v: i64 = reader
                .conn()
                .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))?;
            Ok(v as u64)
        };
        let used = (pragma("page_count")? - pragma("freelist_count")?) * pragma("page_size")?;
        if used > max && count > 0 {
            // Go 10% below the bound so the next check does not prune again at once.
            let per_event = (used / count).max(1);
            let want = (used - max * 9 / 10).div_ceil(per_event);
            excess = excess.max(want.min(count));
        }
    }
    Ok(excess)
}

/// Keeps the Store within `bounds` until `shutdown`: checks at start and every few seconds,
/// deleting the oldest Events in small batches.
pub async fn keep_bounded(
    writer: Writer,
    db: PathBuf,
    bounds: Bounds,
    shutdown: CancellationToken,
) {
    loop {
        if let Err(e) = prune_once(&writer, &db, &bounds).await {
            tracing::warn!("cannot prune the Store: {e:#}");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}

/// One bounded pruning pass; returns how many Events were deleted.
pub async fn prune_once(
    writer: &Writer,
    db: &std::path::Path,
    bounds: &Bounds,
) -> anyhow::Result<u64> {
    let ids: Vec<i64> = {
        let reader = Reader::open(db)?;
        let n = excess(&reader, bounds)?;
        if n == 0 {
            return Ok(0);
        }
        // Held Events (`--redeliver`) were promised to the app: bounds never drop them.
        let mut stmt = reader
            .conn()
            .prepare("SELECT id FROM events WHERE held_since IS NULL ORDER BY id LIMIT ?1")?;
        let rows = stmt.query_map([n as i64], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let deleted = delete(writer, &ids).await?;
    if deleted > 0 {
        tracing::info!("pruned {deleted} old event(s) to keep the Store bounded");
    }
    Ok(deleted)
}
