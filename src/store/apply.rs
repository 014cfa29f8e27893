//! The SQL of each write the capture path makes: insert an Event (with its body, a pending
//! Delivery and its payload shape), open a Delivery, finish a Delivery. Run by the writer
//! thread inside its group transaction.

use std::sync::Arc;

use rusqlite::{OptionalExtension, Transaction, params};

use super::drift::Prepared;
use super::row::{EventSummary, SUMMARY_COLUMNS};
use super::writer::{DuplicateUid, Inserted, NewDelivery};
use crate::event::{DeliveryKind, DeliveryResult, Event, Ingress, Outcome};

pub(super) fn insert_event(
    tx: &Transaction<'_>,
    event: &Event,
    delivery: Option<&NewDelivery>,
    shape: Option<&Prepared>,
    sha: &[u8; 32],
    packed: Option<&[u8]>,
) -> anyhow::Result<Inserted> {
    if event.ingress == Ingress::Relay
        && let Some(id) = tx
            .prepare_cached("SELECT id FROM events WHERE uid = ?1")?
            .query_row([&event.uid], |r| r.get(0))
            .optional()?
    {
        return Err(DuplicateUid {
            uid: event.uid.clone(),
            id,
        }
        .into());
    }
    let class = &event.class;
    // A provider retry: the same provider event id seen before on live traffic.
    // The CASTs keep the parameters out of SQLite's plan estimates: a bare `column = ?` there
    // makes SQLite re-prepare the statement at every new binding, costing more than the query.
    let duplicate_of: Option<i64> = match (&class.provider_event_id, event.ingress) {
        (Some(pid), Ingress::Local | Ingress::Relay) => tx
            .prepare_cached(
                "SELECT id FROM events INDEXED BY events_provider_event_id \
                 WHERE provider_event_id = CAST(?1 AS TEXT) AND provider = CAST(?2 AS TEXT) \
                 AND ingress IN ('local', 'relay') ORDER BY id LIMIT 1",
            )?
            .query_row(params![pid, class.provider], |r| r.get(0))
            .optional()?,
        _ => None,
    };
    let (deliveries, outcome) = match delivery {
        Some(_) => (1, Some(Outcome::Pending.as_str())),
        None => (0, None),
    };
    let event_id = tx
        .prepare_cached(
            "INSERT INTO events (uid, received_at, ingress, method, path, query, remote_addr, \
             body_size, body_sha256, provider, event_type, provider_event_id, summary, signature, \
             signature_detail, derived_from, duplicate_of, deliveries, outcome) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
             ?18, ?19) RETURNING id",
        )?
        .query_row(
            params![
                event.uid,
                event.received_at,
                event.ingress.as_str(),
                event.method,
                event.path,
                event.query,
                event.remote_addr,
                event.body.len() as i64,
                &sha[..],
                class.provider,
                class.event_type,
                class.provider_event_id,
                class.summary,
                class.signature.as_str(),
                class.signature_detail,
                event.derived_from,
                duplicate_of,
                deliveries,
                outcome,
            ],
            |r| r.get(0),
        )?;
    let (body, encoding) = stored_form(&event.body, packed);
    tx.prepare_cached(
        "INSERT INTO bodies (event_id, headers, body, encoding) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![event_id, event.headers.encode(), body, encoding])?;
    super::drift::record(tx, event_id, event, shape)?;
    let delivery_id = match delivery {
        Some(d) => Some(insert_delivery(tx, event_id, d)?),
        None => None,
    };
    let summary = Arc::new(EventSummary {
        id: event_id,
        uid: event.uid.clone(),
        received_at: event.received_at,
        ingress: event.ingress.as_str().into(),
        method: event.method.clone(),
        path: event.path.clone(),
        query: event.query.clone(),
        remote_addr: event.remote_addr.clone(),
        body_size: event.body.len() as u64,
        body_sha256: hex::encode(sha),
        provider: class.provider.clone(),
        event_type: class.event_type.clone(),
        provider_event_id: class.provider_event_id.clone(),
        summary: class.summary.clone(),
        signature: class.signature.as_str().into(),
        derived_from: event.derived_from,
        deliveries,
        status: None,
        outcome: outcome.map(Into::into),
        duration_us: None,
        replayed: false,
        duplicate_of,
        signature_detail: class.signature_detail.clone(),
        // An Event held as it is stored (`--respond accept`) is in flight, not yet held back.
        held_since: None,
    });
    Ok(Inserted {
        event_id,
        delivery_id,
        summary,
    })
}

fn insert_delivery(tx: &Transaction<'_>, event_id: i64, d: &NewDelivery) -> anyhow::Result<i64> {
    Ok(tx
        .prepare_cached(
            "INSERT INTO deliveries (event_id, kind, target, started_at, outcome) \
             VALUES (?1, ?2, ?3, ?4, 'pending') RETURNING id",
        )?
        .query_row(
            params![event_id, d.kind.as_str(), d.target, d.started_at],
            |r| r.get(0),
        )?)
}

pub(super) fn start_delivery(
    tx: &Transaction<'_>,
    event_id: i64,
    d: &NewDelivery,
) -> anyhow::Result<i64> {
    let changed = tx
        .prepare_cached(
            "UPDATE events SET deliveries = deliveries + 1, outcome = 'pending', status = NULL, \
             duration_us = NULL WHERE id = ?1",
        )?
        .execute([event_id])?;
    if changed == 0 {
        anyhow::bail!("no event #{event_id}");
    }
    insert_delivery(tx, event_id, d)
}

/// Holds Event `event_id` for redelivery from now (`listen --redeliver`).
pub(super) fn hold(tx: &Transaction<'_>, event_id: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE events SET held_since = ?1 WHERE id = ?2")?
        .execute(params![crate::event::now_micros(), event_id])?;
    Ok(())
}

/// Which Delivery finishes, and what it does to its Event.
pub(super) struct Finish {
    pub id: i64,
    pub event_id: i64,
    pub kind: DeliveryKind,
    /// Hold the Event for redelivery unless this Delivery was answered.
    pub hold: bool,
}

pub(super) fn finish_delivery(
    tx: &Transaction<'_>,
    f: Finish,
    r: &DeliveryResult,
    packed: Option<&[u8]>,
) -> anyhow::Result<Arc<EventSummary>> {
    let Finish {
        id,
        event_id,
        kind,
        hold,
    } = f;
    let (body, encoding) = stored_form(&r.body, packed);
    tx.prepare_cached(
        "UPDATE deliveries SET duration_us = ?1, outcome = ?2, status = ?3, error = ?4, \
         headers = ?5, body = ?6, encoding = ?7 WHERE id = ?8",
    )?
    .execute(params![
        r.duration_us,
        r.outcome.as_str(),
        r.status,
        r.error,
        r.headers.encode(),
        body,
        encoding,
        id
    ])?;
    // A Delivery the app answered (even one whose body could not be read whole, which keeps
    // its status) releases a held Event; a replay only when it went where the Event first went
    // (a copy sent to a debug server with --to is not the app getting it).
    let answered = r.outcome == Outcome::Ok || r.status.is_some();
    let releases = answered && (kind != DeliveryKind::Replay || to_first_target(tx, id, event_id)?);
    let sql = format!(
        "UPDATE events SET status = ?1, outcome = ?2, duration_us = ?3, \
         replayed = replayed OR ?4, held_since = CASE WHEN ?8 THEN NULL \
         WHEN ?6 THEN coalesce(held_since, ?7) ELSE held_since END WHERE id = ?5 RETURNING {}",
        SUMMARY_COLUMNS.replace("events.id", "id")
    );
    let summary = tx.prepare_cached(&sql)?.query_row(
        params![
            r.status,
            r.outcome.as_str(),
            r.duration_us,
            kind == DeliveryKind::Replay,
            event_id,
            hold,
            crate::event::now_micros(),
            releases,
        ],
        EventSummary::from_row,
    )?;
    Ok(Arc::new(summary))
}

/// Whether Delivery `id` went to the same URL as the first Delivery of its Event.
fn to_first_target(tx: &Transaction<'_>, id: i64, event_id: i64) -> rusqlite::Result<bool> {
    tx.prepare_cached(
        "SELECT (SELECT target FROM deliveries WHERE id = ?1) = \
         (SELECT target FROM deliveries WHERE event_id = ?2 ORDER BY id LIMIT 1)",
    )?
    .query_row(params![id, event_id], |r| r.get::<_, Option<bool>>(0))
    .map(|same| same.unwrap_or(false))
}

/// What goes into a body column and its `encoding`: the compressed form when there is one.
fn stored_form<'a>(body: &'a [u8], packed: Option<&'a [u8]>) -> (&'a [u8], Option<&'static str>) {
    match packed {
        Some(packed) => (packed, Some(super::body::LZ4)),
        None => (body, None),
    }
}
