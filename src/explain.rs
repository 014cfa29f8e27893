//! What hooktap can say about one stored Event beyond its summary line: the signature verdict's
//! reason, provider retries, the Ayrshare post a `tikTokPublished` follow-up belongs to,
//! payload drift, and whether it is held for redelivery. Used by `show`, and meant for the TUI's detail view.

use rusqlite::OptionalExtension;

use crate::event::Event;
use crate::providers::ayrshare;
use crate::store::{EventSummary, Reader, body};

/// How many bodies that contain the post's id a link lookup parses at most.
const LINK_CANDIDATES: usize = 50;

/// Notes on an Event, one line each, most important first.
pub fn notes(
    reader: &Reader,
    summary: &EventSummary,
    event: &Event,
) -> anyhow::Result<Vec<String>> {
    let mut notes = Vec::new();
    if let Some(detail) = &summary.signature_detail {
        notes.push(format!("signature {}: {detail}", summary.signature));
    }
    if let Some(first) = summary.duplicate_of {
        let id = if summary.provider == "ayrshare" {
            "hookId"
        } else {
            "provider event id"
        };
        notes.push(format!(
            "provider retry: same {id} {} as #{first}",
            summary.provider_event_id.as_deref().unwrap_or("?")
        ));
    }
    if summary.provider == "ayrshare" {
        notes.extend(ayrshare_links(reader, summary, event)?);
    }
    if let Some(drift) = reader.drift(summary.id)? {
        notes.push(format!("payload drift: {drift}"));
    }
    let held: Option<i64> = reader
        .conn()
        .prepare_cached("SELECT held_since FROM events WHERE id = ?1")?
        .query_row([summary.id], |r| r.get(0))
        .optional()?
        .flatten();
    if let Some(since) = held {
        notes.push(format!(
            "held for redelivery since {}: the sender got 202, and `listen --redeliver` sends \
             it until the app answers",
            crate::event::local_list_time(since)
        ));
    }
    Ok(notes)
}

/// A `tikTokPublished` follow-up names its `scheduled` Event, and the other way round.
fn ayrshare_links(
    reader: &Reader,
    summary: &EventSummary,
    event: &Event,
) -> anyhow::Result<Vec<String>> {
    let (other_type, earlier) = match summary.event_type.as_deref() {
        Some("scheduled.tikTokPublished") => ("scheduled", true),
        Some("scheduled") => ("scheduled.tikTokPublished", false),
        _ => return Ok(Vec::new()),
    };
    let Some(post) = ayrshare::post_id(&event.body) else {
        return Ok(Vec::new());
    };
    let Some(other) = find_post(reader, other_type, &post, summary.id, earlier)? else {
        return Ok(Vec::new());
    };
    Ok(vec![if earlier {
        format!("follow-up of #{other}, the scheduled Event of post {post}")
    } else {
        format!("TikTok published post {post} later: #{other}")
    }])
}

/// The Ayrshare Event of `event_type` whose body names `post` as its `id`: the nearest one
/// before `id` (`earlier`; a provider retry of it gives the first delivery instead), or the next
/// one after it. Walking outwards from `id` finds a follow-up's post among the last few bodies
/// instead of decompressing the whole history from its start. A byte search narrows the rows;
/// the body is then read properly.
fn find_post(
    reader: &Reader,
    event_type: &str,
    post: &str,
    id: i64,
    earlier: bool,
) -> anyhow::Result<Option<i64>> {
    let sql = if earlier {
        "SELECT id, body, encoding, duplicate_of FROM events JOIN bodies ON event_id = id \
         WHERE provider = 'ayrshare' AND event_type = ?1 AND id < ?2 ORDER BY id DESC"
    } else {
        "SELECT id, body, encoding, duplicate_of FROM events JOIN bodies ON event_id = id \
         WHERE provider = 'ayrshare' AND event_type = ?1 AND id > ?2 ORDER BY id"
    };
    let needle = memchr::memmem::Finder::new(post.as_bytes());
    let mut stmt = reader.conn().prepare_cached(sql)?;
    let mut rows = stmt.query((event_type, id))?;
    let mut candidates = 0;
    while let Some(row) = rows.next()? {
        let encoding: Option<String> = row.get(2)?;
        let body = match body::unpack(row.get(1)?, encoding.as_deref()) {
            Ok(body) => body,
            // One damaged row elsewhere must not take this Event's notes with it.
            Err(e) => {
                let other: i64 = row.get(0)?;
                tracing::warn!("the body of Event #{other} {e}; skipped in a TikTok link lookup");
                continue;
            }
        };
        if needle.find(&body).is_none() {
            continue;
        }
        if ayrshare::post_id(&body).as_deref() == Some(post) {
            let found: i64 = row.get(0)?;
            let first: Option<i64> = row.get(3)?;
            // The first delivery may have been pruned since; then this one stands for it.
            return Ok(Some(match first {
                Some(first) if reader.summary(first)?.is_some() => first,
                _ => found,
            }));
        }
        candidates += 1;
        if candidates == LINK_CANDIDATES {
            break;
        }
    }
    Ok(None)
}
