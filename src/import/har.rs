//! One HAR entry as an Event: the request's method, path and query from its URL, its headers
//! (pseudo-headers dropped, base64 values decoded), its body, and hooktap's own fields when the
//! file is one of its exports.

use anyhow::Context;
use bytes::Bytes;
use serde_json::Value;

use super::{body, check, class, header_bytes, request_target, text, time};
use crate::event::{Event, HeaderList, Ingress, new_uid, now_micros};

/// An Event from one HAR entry; only `request.method` and `request.url` are required.
pub fn from_har(entry: &Value) -> anyhow::Result<Event> {
    let request = entry.get("request").context("no \"request\"")?;
    let method = text(request, "method").context("no request.method")?;
    let url = text(request, "url").context("no request.url")?;
    check::method(method).context("request.method")?;
    let (path, query) = path_and_query(url).context("request.url")?;
    let mut headers = HeaderList::default();
    for h in request
        .get("headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(n), Some(val)) = (text(h, "name"), text(h, "value")) else {
            anyhow::bail!("a request header has no name or value");
        };
        // HTTP/2 pseudo-headers (`:authority`) are not headers of the request we replay.
        if n.starts_with(':') {
            continue;
        }
        match text(h, "_encoding") {
            Some("base64") => headers.push(n, header_bytes(n, val)?),
            _ => headers.push(n, check::header(n, val.as_bytes().to_vec())?),
        }
    }
    let body = match request.get("postData") {
        Some(post) => body(post, "text", None)?,
        None => Bytes::new(),
    };
    let ours = entry.get("_hooktap");
    Ok(Event {
        uid: ours
            .and_then(|h| text(h, "uid"))
            .map(str::to_string)
            .unwrap_or_else(new_uid),
        received_at: ours
            .and_then(|h| time(h, "received_at"))
            .or_else(|| time(entry, "startedDateTime"))
            .unwrap_or_else(now_micros),
        ingress: Ingress::Import,
        method: method.to_string(),
        path,
        query,
        remote_addr: ours
            .and_then(|h| text(h, "remote_addr"))
            .map(str::to_string),
        class: class(ours, &headers, &body),
        headers,
        body,
        derived_from: None,
    })
}

/// The path and query of a HAR `request.url`, which HAR requires to be absolute
/// (`https://example.com/hooks?a=1`); the fragment is dropped.
fn path_and_query(url: &str) -> anyhow::Result<(String, Option<String>)> {
    let not_a_url =
        || anyhow::anyhow!("'{url}' is not an absolute URL (e.g. https://example.com/hooks)");
    let uri: http::Uri = url.parse().map_err(|_| not_a_url())?;
    if uri.scheme().is_none() || uri.authority().is_none() {
        return Err(not_a_url());
    }
    let path = match uri.path() {
        "" => "/",
        p => p,
    };
    let query = uri.query().map(str::to_string);
    request_target(path, query.as_deref())?;
    Ok((path.to_string(), query))
}
