//! Payload drift: the Store remembers the JSON shape (key paths and value kinds) of each
//! provider event type, and notes on an Event whose shape differs from every earlier one of its
//! type: "new field `details.code`", "`code` is now string (was number)", "`refId` missing".
//!
//! Shapes are stored once per distinct shape (hashed), so an Event of a known shape costs one
//! indexed lookup in the writer's transaction.

mod shape;

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

pub use shape::{Shape, shape_of};
use shape::{from_text, kinds_of, to_text};

use crate::event::{Event, Ingress};

/// Bodies larger than this are not shaped (drift is about webhooks, not uploads).
const MAX_BODY: usize = 1 << 20;

/// How `shape` differs from every earlier shape of its type; `None` when it adds, changes and
/// drops nothing.
pub fn diff(shape: &Shape, earlier: &[Shape]) -> Option<String> {
    let mut seen: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in earlier {
        for (p, k) in s {
            seen.entry(p).or_default().extend(k.split('|'));
        }
    }
    let always: BTreeSet<&str> = seen
        .keys()
        .copied()
        .filter(|p| earlier.iter().all(|s| s.contains_key(*p)))
        .collect();
    // Only the outermost of a new (or missing) subtree is named.
    let outermost = |paths: &BTreeSet<&str>, p: &str| {
        !paths.iter().any(|q| {
            q.len() < p.len()
                && (p.starts_with(&format!("{q}.")) || p.starts_with(&format!("{q}[]")))
        })
    };
    let added: BTreeSet<&str> = shape
        .keys()
        .map(String::as_str)
        .filter(|p| !seen.contains_key(p))
        .collect();
    let missing: BTreeSet<&str> = always
        .iter()
        .copied()
        .filter(|p| !shape.contains_key(*p))
        .collect();
    let mut parts = Vec::new();
    let added: Vec<String> = added
        .iter()
        .filter(|p| outermost(&added, p))
        .map(|p| format!("`{p}`"))
        .collect();
    match added.len() {
        0 => {}
        1 => parts.push(format!("new field {}", added[0])),
        _ => parts.push(format!("new fields {}", added.join(", "))),
    }
    for (p, kinds) in shape {
        if let Some(before) = seen.get(p.as_str())
            && !kinds.split('|').all(|k| before.contains(k))
        {
            let was: Vec<&str> = before.iter().copied().collect();
            parts.push(format!("`{p}` is now {kinds} (was {})", was.join("|")));
        }
    }
    let missing: Vec<String> = missing
        .iter()
        .filter(|p| outermost(&missing, p))
        .map(|p| format!("`{p}`"))
        .collect();
    if !missing.is_empty() {
        parts.push(format!(
            "{} missing (always present before)",
            missing.join(", ")
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// An Event's shape, worked out before it reaches the writer (on the caller's task, so the one
/// writer thread only does the lookup): its text as stored, and the hash that names it.
pub(super) struct Prepared {
    hash: [u8; 16],
    text: String,
}

/// The shape to record for `event`, if it has one worth recording.
pub(super) fn prepare(event: &Event) -> Option<Prepared> {
    let class = &event.class;
    if class.event_type.is_none() || class.provider == "unknown" {
        return None;
    }
    if event.ingress == Ingress::Edit || event.body.len() > MAX_BODY {
        return None;
    }
    let text = to_text(&kinds_of(&event.body)?);
    let mut hash = [0; 16];
    hash.copy_from_slice(&Sha256::digest(text.as_bytes())[..16]);
    Some(Prepared { hash, text })
}

/// Remembers the shape of a newly inserted Event and notes its drift. Called by the writer in
/// the Event's own transaction; cheap for unknown providers and known shapes.
pub(super) fn record(
    tx: &Transaction<'_>,
    event_id: i64,
    event: &Event,
    prepared: Option<&Prepared>,
) -> anyhow::Result<()> {
    let (Some(p), Some(kind)) = (prepared, event.class.event_type.as_deref()) else {
        return Ok(());
    };
    let class = &event.class;
    let (hash, text) = (&p.hash[..], &p.text);
    let known = tx
        .prepare_cached(
            "SELECT 1 FROM shapes WHERE provider = ?1 AND event_type = ?2 AND hash = ?3",
        )?
        .query_row(params![class.provider, kind, hash], |_| Ok(()))
        .optional()?
        .is_some();
    if known {
        return Ok(());
    }
    let earlier: Vec<Shape> = tx
        .prepare_cached("SELECT paths FROM shapes WHERE provider = ?1 AND event_type = ?2")?
        .query_map(params![class.provider, kind], |r| r.get::<_, String>(0))?
        .map(|t| t.map(|t| from_text(&t)))
        .collect::<Result<_, _>>()?;
    tx.prepare_cached(
        "INSERT INTO shapes (provider, event_type, hash, paths, first_event_id) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![class.provider, kind, hash, text, event_id])?;
    if !earlier.is_empty()
        && let Some(note) = diff(&from_text(text), &earlier)
    {
        tx.prepare_cached("INSERT INTO drift (event_id, note) VALUES (?1, ?2)")?
            .execute(params![event_id, note])?;
    }
    Ok(())
}

/// The drift note of an Event, if its shape differed from earlier ones of its type.
pub fn note(conn: &Connection, event_id: i64) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT note FROM drift WHERE event_id = ?1")?
        .query_row([event_id], |r| r.get(0))
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(json: &str) -> Shape {
        shape_of(json.as_bytes()).unwrap()
    }

    #[test]
    fn diff_names_new_changed_and_missing_fields() {
        let before = [shape(
            r#"{"code":200,"details":{"status":"x"},"refId":"r"}"#,
        )];
        assert_eq!(diff(&before[0], &before), None);
        let now = shape(r#"{"code":"200","details":{"status":"x","code":161},"extra":{"a":1}}"#);
        assert_eq!(
            diff(&now, &before).unwrap(),
            "new fields `details.code`, `extra`; `code` is now string (was number); \
             `refId` missing (always present before)"
        );
    }

    #[test]
    fn optional_fields_seen_before_are_not_drift() {
        let earlier = [shape(r#"{"a":1}"#), shape(r#"{"a":1,"b":2}"#)];
        assert_eq!(diff(&shape(r#"{"a":2,"b":3}"#), &earlier), None);
        assert_eq!(diff(&shape(r#"{"a":2}"#), &earlier), None);
    }
}
