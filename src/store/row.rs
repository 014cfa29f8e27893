//! Rows as the rest of hooktap sees them: the Event summary (the guide's JSON object) and the
//! full Event with its Deliveries.

use bytes::Bytes;
use rusqlite::Row;
use serde::Serialize;

use super::body::{Damaged, unpack};
use crate::event::{
    Classification, Delivery, DeliveryKind, DeliveryResult, Event, HeaderList, Ingress, Micros,
    Outcome, Signature, format_time,
};

/// The columns [`EventSummary::from_row`] reads, in its order. Never the body or headers.
pub const SUMMARY_COLUMNS: &str = "events.id, uid, received_at, ingress, method, path, query, \
    remote_addr, body_size, body_sha256, provider, event_type, provider_event_id, summary, \
    signature, derived_from, deliveries, status, outcome, duration_us, replayed, duplicate_of, \
    signature_detail, held_since";

/// One Event as listed: everything but headers and body, with its latest Delivery folded in.
/// Serialises to exactly the JSON object of the guide (section 2).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventSummary {
    pub id: i64,
    pub uid: String,
    #[serde(serialize_with = "as_time")]
    pub received_at: Micros,
    pub ingress: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub remote_addr: Option<String>,
    pub body_size: u64,
    pub body_sha256: String,
    pub provider: String,
    pub event_type: Option<String>,
    pub provider_event_id: Option<String>,
    pub summary: Option<String>,
    pub signature: String,
    pub derived_from: Option<i64>,
    pub deliveries: u32,
    pub status: Option<u16>,
    pub outcome: Option<String>,
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration_us: Option<i64>,
    /// Whether any replay of it was made.
    #[serde(skip)]
    pub replayed: bool,
    /// The first Event with the same provider event id (this one is a provider retry).
    #[serde(skip)]
    pub duplicate_of: Option<i64>,
    /// Why the signature is invalid, when it is.
    #[serde(skip)]
    pub signature_detail: Option<String>,
    /// Since when it waits for `listen --redeliver` (its latest Delivery got no answer).
    #[serde(serialize_with = "as_optional_time")]
    pub held_since: Option<Micros>,
}

fn as_optional_time<S: serde::Serializer>(
    micros: &Option<Micros>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match micros {
        Some(m) => s.serialize_str(&format_time(*m)),
        None => s.serialize_none(),
    }
}

fn as_time<S: serde::Serializer>(micros: &Micros, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(*micros))
}

fn as_millis<S: serde::Serializer>(us: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match us {
        // Rounded to 0.1 µs precision so the JSON stays short.
        Some(us) => s.serialize_f64((*us as f64 / 100.0).round() / 10.0),
        None => s.serialize_none(),
    }
}

impl EventSummary {
    /// What its latest Delivery came to, in one word: the status code, else `held` (waiting for
    /// `listen --redeliver`), else the outcome (`failed`, `pending`, ...), else `-`.
    pub fn status_word(&self) -> String {
        match (self.status, &self.held_since, self.outcome.as_deref()) {
            (Some(code), _, _) => code.to_string(),
            (None, Some(_), _) => "held".into(),
            (None, None, Some(outcome)) => outcome.to_string(),
            (None, None, None) => "-".into(),
        }
    }

    /// Reads a row selected with [`SUMMARY_COLUMNS`].
    pub fn from_row(row: &Row<'_>) -> rusqlite::Result<EventSummary> {
        Ok(EventSummary {
            id: row.get(0)?,
            uid: row.get(1)?,
            received_at: row.get(2)?,
            ingress: row.get(3)?,
            method: row.get(4)?,
            path: row.get(5)?,
            query: row.get(6)?,
            remote_addr: row.get(7)?,
            body_size: row.get::<_, i64>(8)? as u64,
            body_sha256: hex::encode(row.get::<_, Vec<u8>>(9)?),
            provider: row.get(10)?,
            event_type: row.get(11)?,
            provider_event_id: row.get(12)?,
            summary: row.get(13)?,
            signature: row.get(14)?,
            derived_from: row.get(15)?,
            deliveries: row.get(16)?,
            status: row.get(17)?,
            outcome: row.get(18)?,
            duration_us: row.get(19)?,
            replayed: row.get(20)?,
            duplicate_of: row.get(21)?,
            signature_detail: row.get(22)?,
            held_since: row.get(23)?,
        })
    }
}

/// The columns [`event_from_row`] reads after the summary columns, from `bodies`.
pub const EVENT_EXTRA_COLUMNS: &str = "bodies.headers, bodies.body, bodies.encoding";

/// The `FROM` clause for full Events: `events` joined with their `bodies`.
pub const EVENT_FROM: &str = "events JOIN bodies ON bodies.event_id = events.id";

/// Rebuilds a full [`Event`] from a row selected with
/// `SELECT {SUMMARY_COLUMNS}, {EVENT_EXTRA_COLUMNS} FROM {EVENT_FROM}`.
pub fn event_from_row(row: &Row<'_>) -> rusqlite::Result<(EventSummary, Event)> {
    let summary = EventSummary::from_row(row)?;
    let headers: Vec<u8> = row.get(24)?;
    let encoding: Option<String> = row.get(26)?;
    let whose = || format!("the body of Event #{}", summary.id);
    let body = unpack(row.get(25)?, encoding.as_deref()).map_err(|e| damaged(whose(), &e))?;
    // LZ4 blocks carry no checksum: a damaged one may still decode, most often to another size.
    if body.len() as u64 != summary.body_size {
        return Err(damaged(whose(), &Damaged::Size(summary.body_size)));
    }
    let headers = HeaderList::decode(&headers).unwrap_or_default();
    let event = event_of(&summary, headers, Bytes::from(body));
    Ok((summary, event))
}

/// The [`Event`] a summary row describes, with its `headers` and `body`.
pub fn event_of(summary: &EventSummary, headers: HeaderList, body: Bytes) -> Event {
    Event {
        uid: summary.uid.clone(),
        received_at: summary.received_at,
        ingress: Ingress::parse(&summary.ingress).unwrap_or(Ingress::Local),
        method: summary.method.clone(),
        path: summary.path.clone(),
        query: summary.query.clone(),
        remote_addr: summary.remote_addr.clone(),
        headers,
        body,
        class: Classification {
            provider: summary.provider.clone(),
            event_type: summary.event_type.clone(),
            provider_event_id: summary.provider_event_id.clone(),
            summary: summary.summary.clone(),
            signature: Signature::parse(&summary.signature).unwrap_or(Signature::Unchecked),
            signature_detail: summary.signature_detail.clone(),
        },
        derived_from: summary.derived_from,
    }
}

/// A body that cannot be read back, saying whose it is; SQLite's words for that kind of trouble
/// follow in the error's chain ("database disk image is malformed").
fn damaged(whose: String, e: &Damaged) -> rusqlite::Error {
    let code = match e {
        Damaged::Encoding(_) => rusqlite::ffi::SQLITE_MISMATCH,
        Damaged::Lz4 | Damaged::Size(_) => rusqlite::ffi::SQLITE_CORRUPT,
    };
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(code),
        Some(format!("{whose} {e}")),
    )
}

/// The columns [`delivery_from_row`] reads.
pub const DELIVERY_COLUMNS: &str = "id, event_id, kind, target, started_at, duration_us, outcome, \
     status, error, headers, body, encoding";

/// Reads a row selected with [`DELIVERY_COLUMNS`].
pub fn delivery_from_row(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    let kind: String = row.get(2)?;
    let outcome: String = row.get(6)?;
    let headers: Vec<u8> = row.get(9)?;
    let encoding: Option<String> = row.get(11)?;
    let body = unpack(row.get(10)?, encoding.as_deref()).map_err(|e| {
        let (id, event): (i64, i64) = (row.get(0).unwrap_or(0), row.get(1).unwrap_or(0));
        damaged(format!("the answer of Delivery #{id} (Event #{event})"), &e)
    })?;
    Ok(Delivery {
        id: row.get(0)?,
        event_id: row.get(1)?,
        kind: DeliveryKind::parse(&kind).unwrap_or(DeliveryKind::Original),
        target: row.get(3)?,
        started_at: row.get(4)?,
        result: DeliveryResult {
            duration_us: row.get::<_, Option<i64>>(5)?.unwrap_or(0),
            outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Failed),
            status: row.get(7)?,
            error: row.get(8)?,
            headers: HeaderList::decode(&headers).unwrap_or_default(),
            body: Bytes::from(body),
        },
    })
}

/// An Event summary for tests: an Ayrshare unlink, answered 200.
#[cfg(test)]
impl EventSummary {
    pub(crate) fn sample() -> EventSummary {
        EventSummary {
            id: 42,
            uid: "01JD".into(),
            received_at: 1_795_800_000_123_456,
            ingress: "local".into(),
            method: "POST".into(),
            path: "/hooks/ayrshare".into(),
            query: Some("a=1".into()),
            remote_addr: Some("127.0.0.1:50312".into()),
            body_size: 812,
            body_sha256: "ab".into(),
            provider: "ayrshare".into(),
            event_type: Some("social.unlink".into()),
            provider_event_id: Some("TK".into()),
            summary: Some("x".into()),
            signature: "valid".into(),
            derived_from: None,
            deliveries: 1,
            status: Some(200),
            outcome: Some("ok".into()),
            duration_us: Some(3_210),
            replayed: false,
            duplicate_of: None,
            signature_detail: None,
            held_since: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_guide_shape() {
        let s = EventSummary::sample();
        let keys: Vec<String> =
            match serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap() {
                serde_json::Value::Object(map) => map.keys().cloned().collect(),
                _ => unreachable!(),
            };
        let want = vec![
            "id",
            "uid",
            "received_at",
            "ingress",
            "method",
            "path",
            "query",
            "remote_addr",
            "body_size",
            "body_sha256",
            "provider",
            "event_type",
            "provider_event_id",
            "summary",
            "signature",
            "derived_from",
            "deliveries",
            "status",
            "outcome",
            "duration_ms",
            "held_since",
        ];
        assert_eq!(keys, want, "the guide's order, then held_since");
        assert!(
            serde_json::to_string(&s)
                .unwrap()
                .contains("\"duration_ms\":3.2")
        );
        assert!(
            serde_json::to_string(&s)
                .unwrap()
                .contains("\"received_at\":\"2026-11-27T17:20:00.123456Z\"")
        );
    }
}
