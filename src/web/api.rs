//! The JSON API's reads: pages of the list by filter and cursor (the `list --json` objects),
//! one Event (the `show --json` record plus its notes), its editable text, curl command, body,
//! a diff of two Deliveries, and exports (the `export` code, streamed).

use std::sync::Arc;

use http::StatusCode;
use serde_json::{Value, json};

use super::Ctx;
use super::query::Query;
use super::reply::{self, Reply};
use crate::export::{self, Format};
use crate::filter::{self, Filter, Page};
use crate::store::EventSummary;

/// Rows per page when the client does not say.
const DEFAULT_LIMIT: usize = 100;
/// The most rows one page returns.
const MAX_LIMIT: usize = 500;

/// A list row: the `list --json` object plus what the TUI's badges need.
pub fn row_json(s: &EventSummary) -> Value {
    let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("replayed".into(), json!(s.replayed));
        map.insert("duplicate_of".into(), json!(s.duplicate_of));
    }
    v
}

/// Parses the `filter` parameter; a bad one is a 400 with the CLI's message and its column.
pub fn parse_filter(q: &Query) -> Result<Filter, Box<Reply>> {
    let text = q.get("filter").unwrap_or_default();
    filter::parse(&text).map_err(|e| {
        Box::new(reply::json(
            StatusCode::BAD_REQUEST,
            &json!({ "error": e.to_string(), "column": e.column }),
        ))
    })
}

/// `GET /api/events?filter=&before=&limit=`: newest first; `next` is the cursor of the page
/// after this one (`null` at the end).
pub async fn list(ctx: &Arc<Ctx>, q: &Query) -> Reply {
    let filter = match parse_filter(q) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let before = match q
        .get("before")
        .filter(|b| !b.is_empty())
        .map(|b| b.parse::<i64>())
    {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            return reply::error(
                StatusCode::BAD_REQUEST,
                "before takes an event id (the cursor `next` gave)",
            );
        }
        None => None,
    };
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        Some(Ok(n)) if n > 0 => n.min(MAX_LIMIT),
        Some(_) => {
            return reply::error(StatusCode::BAD_REQUEST, "limit takes a count of at least 1");
        }
        None => DEFAULT_LIMIT,
    };
    let page = Page {
        before,
        ..Page::first(limit)
    };
    let rows = ctx.read(move |r| r.list(&filter, &page)).await;
    match rows {
        Ok(rows) => {
            let next = (rows.len() == limit)
                .then(|| rows.last().map(|s| s.id.to_string()))
                .flatten();
            let events: Vec<Value> = rows.iter().map(row_json).collect();
            reply::json(StatusCode::OK, &json!({ "events": events, "next": next }))
        }
        Err(e) => internal(e),
    }
}

/// `GET /api/events/ID`: the `show --json` record, plus `notes` (signature detail, retries,
/// links, drift, as `show` prints them) and `body_decoded` when the body was compressed.
pub async fn show(ctx: &Arc<Ctx>, id: i64) -> Reply {
    let found = ctx
        .read(move |r| {
            let Some((summary, event)) = r.event(id)? else {
                return Ok(None);
            };
            let deliveries = r.deliveries(id)?;
            let notes = crate::explain::notes(r, &summary, &event)?;
            let mut record = crate::record::event_json(&summary, &event, &deliveries);
            if let Value::Object(map) = &mut record {
                map.insert("notes".into(), json!(notes));
                map.insert("replayed".into(), json!(summary.replayed));
                map.insert("duplicate_of".into(), json!(summary.duplicate_of));
                map.insert("raw".into(), json!(crate::replay::raw_request(&event).ok()));
                if let Some(decoded) = crate::pretty::body::decode(&event.headers, &event.body) {
                    map.insert(
                        "body_decoded".into(),
                        match decoded {
                            Ok((name, bytes)) => {
                                json!({ "coding": name, "text": String::from_utf8_lossy(&bytes) })
                            }
                            Err(e) => json!({ "error": e }),
                        },
                    );
                }
            }
            Ok(Some(record))
        })
        .await;
    match found {
        Ok(Some(record)) => reply::json(StatusCode::OK, &record),
        Ok(None) => no_event(id),
        Err(e) => internal(e),
    }
}

/// `GET /api/events/ID/curl`: the command `export --format curl` writes (secrets masked).
pub async fn curl(ctx: &Arc<Ctx>, id: i64) -> Reply {
    let text = ctx
        .read(move |r| {
            let Some((summary, mut event)) = r.event(id)? else {
                return Ok(None);
            };
            let deliveries = r.deliveries(id)?;
            let target = export::curl::last_target(&event, &deliveries);
            event.headers = export::mask(&event.headers, false);
            Ok(Some(export::curl::command(
                &summary,
                &event,
                target.as_deref(),
            )))
        })
        .await;
    match text {
        Ok(Some(t)) => reply::bytes(StatusCode::OK, "text/plain; charset=utf-8", t),
        Ok(None) => no_event(id),
        Err(e) => internal(e),
    }
}

/// `GET /api/events/ID/body`: the body's exact bytes, as a download.
pub async fn body(ctx: &Arc<Ctx>, id: i64) -> Reply {
    match ctx
        .read(move |r| Ok(r.event(id)?.map(|(_, e)| e.body)))
        .await
    {
        Ok(Some(b)) => reply::attachment(
            reply::bytes(StatusCode::OK, "application/octet-stream", b),
            &format!("event-{id}.body"),
        ),
        Ok(None) => no_event(id),
        Err(e) => internal(e),
    }
}

/// `GET /api/events/ID/diff?a=&b=`: two Deliveries compared, as `show --diff` prints them
/// (the original and the latest replay when `a` and `b` are not given).
pub async fn diff(ctx: &Arc<Ctx>, id: i64, q: &Query) -> Reply {
    let named = match (q.get("a").map(|a| a.parse()), q.get("b").map(|b| b.parse())) {
        (Some(Ok(a)), Some(Ok(b))) => Some((a, b)),
        (None, None) => None,
        _ => return reply::error(StatusCode::BAD_REQUEST, "a and b take two Delivery ids"),
    };
    let lines = ctx
        .read(move |r| {
            let deliveries = r.deliveries(id)?;
            let (a, b) = crate::pretty::diff::pick(&deliveries, id, named)?;
            Ok(crate::pretty::diff::lines(a, b))
        })
        .await;
    match lines {
        Ok(lines) => reply::json(StatusCode::OK, &json!({ "lines": lines })),
        Err(e) => reply::error(StatusCode::BAD_REQUEST, format!("{e:#}")),
    }
}

/// `GET /api/export?format=har|ndjson&filter=&include_secrets=`: every match, oldest first,
/// through `export` (secrets masked unless asked, as `export --include-secrets`).
pub async fn export(ctx: &Arc<Ctx>, q: &Query) -> Reply {
    let filter = match parse_filter(q) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let (format, name, content_type) = match q.get("format").as_deref() {
        Some("har") | None => (Format::Har, "hooktap.har", "application/json"),
        Some("ndjson") => (Format::Ndjson, "hooktap.ndjson", "application/x-ndjson"),
        Some(_) => return reply::error(StatusCode::BAD_REQUEST, "format takes har or ndjson"),
    };
    let options = export::Options {
        include_secrets: q
            .get("include_secrets")
            .is_some_and(|v| v == "true" || v == "1"),
        target: None,
    };
    let reader = match ctx.take_reader().await {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(reply::STREAM_QUEUE);
    let ctx2 = ctx.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = reply::ChannelWriter::new(tx);
        if let Err(e) = export::export(&reader, &filter, format, &options, &mut out) {
            tracing::debug!("web export stopped: {e:#}");
        }
        ctx2.give_back(reader);
    });
    reply::attachment(reply::stream(content_type, rx), name)
}

/// A Store failure as a 500 whose message says what failed.
pub fn internal(e: anyhow::Error) -> Reply {
    reply::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("cannot read the Store: {e:#}"),
    )
}

/// The 404 for a missing Event.
pub fn no_event(id: i64) -> Reply {
    reply::error(StatusCode::NOT_FOUND, format!("no event #{id}"))
}
