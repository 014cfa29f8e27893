//! HAR 1.2 entries: one per Event, its latest Delivery as the response, every hooktap field
//! (and all Deliveries) under `_hooktap`. Bodies that are not UTF-8 are base64 with
//! `"encoding": "base64"`, as the spec has it for response content.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::event::{Delivery, Event, HeaderList, format_time};
use crate::record;
use crate::store::EventSummary;

/// Writes the HAR document's opening, up to the entries array.
pub fn begin(out: &mut dyn Write) -> std::io::Result<()> {
    let creator = json!({"name": "hooktap", "version": env!("CARGO_PKG_VERSION")});
    writeln!(
        out,
        "{{\"log\":{{\"version\":\"1.2\",\"creator\":{creator},\"entries\":["
    )
}

/// Closes what [`begin`] opened.
pub fn end(out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(b"\n]}}\n")
}

fn headers(list: &HeaderList) -> Value {
    Value::Array(
        list.iter()
            .map(|(n, v)| match std::str::from_utf8(v) {
                Ok(text) => json!({"name": n, "value": text}),
                // HAR has no encoding for header values: ours says base64 (import reads it).
                Err(_) => json!({"name": n, "value": STANDARD.encode(v), "_encoding": "base64"}),
            })
            .collect(),
    )
}

/// `text` (and `encoding` when base64) for a body.
fn put_text(map: &mut Map<String, Value>, body: &[u8]) {
    match std::str::from_utf8(body) {
        Ok(text) => map.insert("text".into(), json!(text)),
        Err(_) => {
            map.insert("encoding".into(), json!("base64"));
            map.insert("text".into(), json!(STANDARD.encode(body)))
        }
    };
}

/// One HAR entry for an Event.
pub fn entry(s: &EventSummary, e: &Event, deliveries: &[Delivery]) -> Value {
    let host = e.headers.get_str("host").unwrap_or("localhost");
    let url = format!("http://{host}{}", e.path_and_query());
    let query: Vec<Value> = e
        .query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            json!({"name": n, "value": v})
        })
        .collect();
    let mime = e.headers.get_str("content-type").unwrap_or("");
    let mut post = Map::new();
    post.insert("mimeType".into(), json!(mime));
    put_text(&mut post, &e.body);
    let mut request = json!({
        "method": e.method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": headers(&e.headers),
        "queryString": query,
        "headersSize": -1,
        "bodySize": e.body.len(),
    });
    if !e.body.is_empty() {
        request["postData"] = Value::Object(post);
    }
    let latest = deliveries.last();
    let (response, time) = match latest {
        Some(d) => {
            let r = &d.result;
            let mut content = Map::new();
            content.insert("size".into(), json!(r.body.len()));
            content.insert(
                "mimeType".into(),
                json!(r.headers.get_str("content-type").unwrap_or("")),
            );
            put_text(&mut content, &r.body);
            let mut response = json!({
                "status": r.status.unwrap_or(0),
                "statusText": r.status.and_then(|c| http::StatusCode::from_u16(c).ok())
                    .and_then(|c| c.canonical_reason()).unwrap_or(""),
                "httpVersion": "HTTP/1.1",
                "cookies": [],
                "headers": headers(&r.headers),
                "content": content,
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": r.body.len(),
            });
            if let Some(err) = &r.error {
                response["_error"] = json!(err);
            }
            (response, r.duration_us as f64 / 1000.0)
        }
        None => (
            json!({"status": 0, "statusText": "", "httpVersion": "HTTP/1.1", "cookies": [],
                   "headers": [], "content": {"size": 0, "mimeType": ""}, "redirectURL": "",
                   "headersSize": -1, "bodySize": -1, "_error": "never delivered"}),
            0.0,
        ),
    };
    let mut hooktap = match serde_json::to_value(s) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    hooktap.insert(
        "deliveries".into(),
        Value::Array(deliveries.iter().map(record::delivery_json).collect()),
    );
    json!({
        "startedDateTime": format_time(s.received_at),
        "time": time,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": time, "receive": 0},
        "_hooktap": hooktap,
    })
}
