//! The full record of an Event: the guide's summary object plus headers, body and every
//! Delivery. The shape of `show --json` and of each line of an NDJSON export.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::event::{Delivery, Event, HeaderList, format_time};
use crate::store::EventSummary;

/// Headers as an ordered array of `[name, value]` pairs. HTTP allows bytes beyond ASCII in a
/// value; one that is not UTF-8 becomes `[name, base64, "base64"]`, so an export keeps every
/// byte and `import` restores it.
pub fn headers_json(headers: &HeaderList) -> Value {
    Value::Array(
        headers
            .iter()
            .map(|(n, v)| match std::str::from_utf8(v) {
                Ok(text) => json!([n, text]),
                Err(_) => json!([n, STANDARD.encode(v), "base64"]),
            })
            .collect(),
    )
}

/// Puts `body` (valid UTF-8) or `body_base64` into `map`.
pub fn put_body(map: &mut Map<String, Value>, body: &[u8]) {
    match std::str::from_utf8(body) {
        Ok(text) => map.insert("body".into(), Value::String(text.into())),
        Err(_) => map.insert("body_base64".into(), Value::String(STANDARD.encode(body))),
    };
}

/// One Delivery as JSON.
pub fn delivery_json(d: &Delivery) -> Value {
    let r = &d.result;
    let mut map = Map::new();
    map.insert("id".into(), json!(d.id));
    map.insert("kind".into(), json!(d.kind.as_str()));
    map.insert("target".into(), json!(d.target));
    map.insert("started_at".into(), json!(format_time(d.started_at)));
    map.insert(
        "duration_ms".into(),
        json!((r.duration_us as f64 / 100.0).round() / 10.0),
    );
    map.insert("outcome".into(), json!(r.outcome.as_str()));
    map.insert("status".into(), json!(r.status));
    map.insert("headers".into(), headers_json(&r.headers));
    if r.status.is_some() {
        put_body(&mut map, &r.body);
    } else {
        // No answer came back: no body, which an empty answer body would not say.
        map.insert("body".into(), Value::Null);
    }
    map.insert("error".into(), json!(r.error));
    Value::Object(map)
}

/// The full record: summary fields, `headers`, `body`/`body_base64`, and `deliveries` as an array.
pub fn event_json(summary: &EventSummary, event: &Event, deliveries: &[Delivery]) -> Value {
    let mut map = match serde_json::to_value(summary) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    map.insert("headers".into(), headers_json(&event.headers));
    put_body(&mut map, &event.body);
    map.insert(
        "deliveries".into(),
        Value::Array(deliveries.iter().map(delivery_json).collect()),
    );
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_keeps_the_guide_s_key_order() {
        let d = Delivery {
            id: 7,
            event_id: 1,
            kind: crate::event::DeliveryKind::Original,
            target: "http://t/x".into(),
            started_at: 0,
            result: crate::event::DeliveryResult {
                outcome: crate::event::Outcome::Ok,
                status: Some(200),
                headers: HeaderList::default(),
                body: bytes::Bytes::from_static(b"ok"),
                error: None,
                duration_us: 1_500,
            },
        };
        let text = delivery_json(&d).to_string();
        assert!(text.contains(r#""body":"ok""#), "{text}");
        assert!(
            text.starts_with(r#"{"id":7,"kind":"original","target":"http://t/x","started_at":"#),
            "{text}"
        );
        let mut failed = d.clone();
        failed.result.status = None;
        failed.result.body = bytes::Bytes::new();
        assert_eq!(delivery_json(&failed)["body"], Value::Null);
    }
}
