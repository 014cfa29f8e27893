//! Import: Events from a HAR file (ours or another tool's) or an NDJSON export, read back with
//! their exact bytes and added with ingress `import`.

mod check;
mod har;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::Value;

use crate::event::{
    Classification, DeliveryKind, DeliveryResult, Event, HeaderList, Ingress, Outcome, Signature,
    new_uid, now_micros,
};
use crate::providers::Providers;
use crate::store::NewDelivery;
use check::is_invalid;
pub use check::{Limits, MAX_BODY, Refused};
pub use har::from_har;

/// One Event read from a file, with the Deliveries recorded beside it (in hooktap's exports).
#[derive(Clone, Debug)]
pub struct Imported {
    pub event: Event,
    pub deliveries: Vec<(NewDelivery, DeliveryResult)>,
    /// Its id in the Store it was exported from, and the id there of the Event it was edited
    /// from: ids change on import, so the link is made again once both are in.
    pub source: Option<(i64, Option<i64>)>,
}

impl Imported {
    /// Whether an export masked some of its header values (`[masked]`): a replay would send
    /// the masks.
    pub fn masked(&self) -> bool {
        self.event
            .headers
            .iter()
            .any(|(_, value)| value == crate::export::MASK.as_bytes())
    }
}

/// The kinds of file `import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Har,
    Ndjson,
}

/// Reads `path` and calls `each` with every record in it, in file order: an Event, or a
/// record refused (see [`check`]). Returns the kind.
pub fn read(
    path: &Path,
    limits: &Limits,
    each: impl FnMut(Result<Imported, Refused>) -> anyhow::Result<()>,
) -> anyhow::Result<Kind> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    read_records(
        BufReader::new(file),
        &path.display().to_string(),
        limits,
        each,
    )
}

/// [`read_records`] with the default [`Limits`], skipping refused records. (The fuzz target
/// feeds bytes.)
pub fn read_from(
    input: impl BufRead,
    name: &str,
    mut each: impl FnMut(Imported) -> anyhow::Result<()>,
) -> anyhow::Result<Kind> {
    read_records(input, name, &Limits::default(), |item| match item {
        Ok(imported) => each(imported),
        Err(_) => Ok(()),
    })
}

/// [`read`] over any reader; `name` stands for it in messages. A record that is not one
/// hooktap could have captured, or is over `limits`, is handed to `each` as [`Refused`]; a
/// file that is not an export, or a record missing what every one has, ends the read.
pub fn read_records(
    mut input: impl BufRead,
    name: &str,
    limits: &Limits,
    mut each: impl FnMut(Result<Imported, Refused>) -> anyhow::Result<()>,
) -> anyhow::Result<Kind> {
    let mut first = String::new();
    input
        .read_line(&mut first)
        .with_context(|| format!("cannot read {name}"))?;
    // An NDJSON export holds a whole object on its first line; a HAR is one document.
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&first)
        && !map.contains_key("log")
    {
        // One JSON object, but not one of our records either (`{}`): say it is neither kind,
        // rather than that line 1 of an NDJSON export lacks a field.
        if !map.contains_key("method") {
            anyhow::bail!(
                "{name} is neither a HAR file (it has no log.entries) nor an NDJSON export from \
                 hooktap (its first line has no \"method\")"
            );
        }
        let first = Value::Object(map);
        let record = with_deliveries(from_record(&first), Some(&first), limits);
        hand(record, "line 1".into(), &mut each)?;
        for (i, line) in input.lines().enumerate() {
            let line = line.with_context(|| format!("cannot read {name}"))?;
            if line.trim().is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(&line)
                .with_context(|| format!("line {} is not JSON", i + 2))?;
            let record = with_deliveries(from_record(&value), Some(&value), limits);
            hand(record, format!("line {}", i + 2), &mut each)?;
        }
        return Ok(Kind::Ndjson);
    }
    let mut rest = first;
    input
        .read_to_string(&mut rest)
        .with_context(|| format!("cannot read {name}"))?;
    let doc: Value = serde_json::from_str(&rest).map_err(|e| {
        anyhow::anyhow!("{name} is neither a HAR file nor an NDJSON export from hooktap ({e})")
    })?;
    let entries = doc
        .pointer("/log/entries")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{name} is neither a HAR file (it has no log.entries) nor an NDJSON export from \
                 hooktap (one JSON object per line)"
            )
        })?;
    for (i, entry) in entries.iter().enumerate() {
        let record = with_deliveries(from_har(entry), entry.get("_hooktap"), limits);
        hand(record, format!("HAR entry {}", i + 1), &mut each)?;
    }
    Ok(Kind::Har)
}

/// Hands one record read at `at` to `each`: an Event, or a refusal; any other error ends the
/// read.
fn hand(
    record: anyhow::Result<Imported>,
    at: String,
    each: &mut impl FnMut(Result<Imported, Refused>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    match record {
        Ok(imported) => each(Ok(imported)),
        Err(e) if is_invalid(&e) => each(Err(Refused {
            at,
            why: format!("{e:#}"),
        })),
        Err(e) => Err(e.context(at)),
    }
}

/// Adds the Deliveries that `record` (an NDJSON line or a HAR entry's `_hooktap`) lists.
fn with_deliveries(
    event: anyhow::Result<Event>,
    record: Option<&Value>,
    limits: &Limits,
) -> anyhow::Result<Imported> {
    let event = event?;
    check::body_size("the body", event.body.len(), limits)?;
    let list = record
        .and_then(|r| r.get("deliveries"))
        .and_then(Value::as_array);
    let deliveries = list
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, d)| delivery(d, limits).with_context(|| format!("delivery {}", i + 1)))
        .collect::<anyhow::Result<_>>()?;
    let id = |key: &str| record.and_then(|r| r.get(key)).and_then(Value::as_i64);
    let source = id("id").map(|own| (own, id("derived_from")));
    Ok(Imported {
        event,
        deliveries,
        source,
    })
}

/// A Delivery in the shape of `show --json`.
fn delivery(d: &Value, limits: &Limits) -> anyhow::Result<(NewDelivery, DeliveryResult)> {
    let kind = text(d, "kind")
        .and_then(DeliveryKind::parse)
        .context("no known \"kind\"")?;
    let outcome = text(d, "outcome")
        .and_then(Outcome::parse)
        .context("no known \"outcome\"")?;
    let new = NewDelivery {
        kind,
        target: text(d, "target").context("no \"target\"")?.to_string(),
        started_at: time(d, "started_at").unwrap_or_else(now_micros),
    };
    let body = body(d, "body", Some("body_base64"))?;
    check::body_size("the response body", body.len(), limits)?;
    let result = DeliveryResult {
        outcome,
        status: check::status(d)?,
        headers: header_pairs(d)?,
        body,
        error: text(d, "error").map(str::to_string),
        duration_us: d
            .get("duration_ms")
            .and_then(Value::as_f64)
            .map_or(0, |ms| (ms * 1000.0) as i64),
    };
    Ok((new, result))
}

/// `headers` as `[[name, value], ...]`; `[name, base64, "base64"]` for a value that is not
/// UTF-8 (see `record::headers_json`).
fn header_pairs(v: &Value) -> anyhow::Result<HeaderList> {
    let mut headers = HeaderList::default();
    for pair in v
        .get("headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = |i: usize| pair.get(i).and_then(Value::as_str);
        match (text(0), text(1), pair.get(2)) {
            (Some(n), Some(val), None) => {
                headers.push(n, check::header(n, val.as_bytes().to_vec())?)
            }
            (Some(n), Some(val), Some(_)) if text(2) == Some("base64") => {
                headers.push(n, header_bytes(n, val)?)
            }
            _ => anyhow::bail!("a header is not a [name, value] pair"),
        }
    }
    Ok(headers)
}

/// A header value exported as base64.
fn header_bytes(name: &str, base64: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = STANDARD
        .decode(base64)
        .with_context(|| format!("the value of header {name:?} is marked base64 but is not"))?;
    check::header(name, bytes)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn time(v: &Value, key: &str) -> Option<i64> {
    text(v, key)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_micros())
}

/// A body from `text` (+ `encoding: base64`) or `body` / `body_base64`.
fn body(v: &Value, text_key: &str, base64_key: Option<&str>) -> anyhow::Result<Bytes> {
    let base64 = |s: &str| {
        STANDARD
            .decode(s.as_bytes())
            .map(Bytes::from)
            .context("a body marked base64 does not decode")
    };
    if let Some(b) = base64_key.and_then(|k| text(v, k)) {
        return base64(b);
    }
    match text(v, text_key) {
        Some(t) if text(v, "encoding") == Some("base64") => base64(t),
        Some(t) => Ok(Bytes::from(t.to_string())),
        None => Ok(Bytes::new()),
    }
}

/// Classification from exported fields when present, else worked out from the request.
fn class(v: Option<&Value>, headers: &HeaderList, body: &[u8]) -> Classification {
    let Some(v) = v.filter(|v| text(v, "provider").is_some()) else {
        return Providers::default().classify(headers, body);
    };
    let field = |k: &str| text(v, k).map(str::to_string);
    Classification {
        provider: field("provider").unwrap_or_else(|| "unknown".into()),
        event_type: field("event_type"),
        provider_event_id: field("provider_event_id"),
        summary: field("summary"),
        // The file's verdict is only its word: the signature was not checked here.
        signature: Signature::Unchecked,
        signature_detail: None,
    }
}

/// An Event from one record of an NDJSON export (the `show --json` shape).
pub fn from_record(v: &Value) -> anyhow::Result<Event> {
    let method = text(v, "method").context("no \"method\": not an NDJSON export from hooktap")?;
    check::method(method)?;
    let path = text(v, "path").context("no \"path\": not an NDJSON export from hooktap")?;
    let query = text(v, "query").map(str::to_string);
    request_target(path, query.as_deref()).context("\"path\"")?;
    let headers = header_pairs(v)?;
    let body = body(v, "body", Some("body_base64"))?;
    Ok(Event {
        uid: text(v, "uid").map(str::to_string).unwrap_or_else(new_uid),
        received_at: time(v, "received_at").unwrap_or_else(now_micros),
        ingress: Ingress::Import,
        method: method.to_string(),
        path: path.to_string(),
        query,
        remote_addr: text(v, "remote_addr").map(str::to_string),
        class: class(Some(v), &headers, &body),
        headers,
        body,
        derived_from: None,
    })
}

/// Checks that `path` and `query` make a request target that replay can send: a path that
/// starts with `/`, and nothing HTTP does not allow in a URL.
fn request_target(path: &str, query: Option<&str>) -> anyhow::Result<()> {
    if !path.starts_with('/') {
        anyhow::bail!("'{path}' is not a path: it must start with /");
    }
    let target = match query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    target
        .parse::<http::uri::PathAndQuery>()
        .map_err(|_| anyhow::anyhow!("'{target}' holds characters a URL cannot"))?;
    Ok(())
}

/// Keeps uids seen in this import, to skip an Event the file holds twice.
#[derive(Default)]
pub struct Seen(HashSet<String>);

impl Seen {
    /// Whether `uid` is new (and remembers it).
    pub fn first(&mut self, uid: &str) -> bool {
        self.0.insert(uid.to_string())
    }
}

#[cfg(test)]
mod tests;
