//! Reading records: HAR entries, NDJSON lines, and what is refused.

use super::*;
use serde_json::json;

#[test]
fn a_har_entry_from_another_tool_imports() {
    let entry = json!({
        "startedDateTime": "2026-01-02T03:04:05.000Z",
        "request": {"method": "POST", "url": "https://example.com/hooks/x?a=1#frag",
                    "headers": [{"name": ":authority", "value": "example.com"},
                                {"name": "Content-Type", "value": "text/plain"}],
                    "postData": {"mimeType": "text/plain", "text": "hi"}},
        "response": {"status": 200}
    });
    let e = from_har(&entry).unwrap();
    assert_eq!((e.method.as_str(), e.path.as_str()), ("POST", "/hooks/x"));
    assert_eq!(e.query.as_deref(), Some("a=1"));
    assert_eq!(e.headers.len(), 1);
    assert_eq!(&e.body[..], b"hi");
    assert_eq!(e.received_at, 1_767_323_045_000_000);
    assert_eq!(e.ingress, Ingress::Import);
    // No body, no headers: still an Event.
    let e = from_har(&json!({"request": {"method": "GET", "url": "http://x"}})).unwrap();
    assert_eq!((e.path.as_str(), e.body.len()), ("/", 0));
    let err = from_har(&json!({"response": {}})).unwrap_err().to_string();
    assert!(err.contains("no \"request\""), "{err}");
}

#[test]
fn a_har_entry_needs_an_absolute_url_and_a_record_a_path() {
    let entry = |url: &str| json!({"request": {"method": "POST", "url": url}});
    for bad in ["not a url", "/hooks/x", "example.com/hooks", "http://x/a b"] {
        let err = format!("{:#}", from_har(&entry(bad)).unwrap_err());
        assert!(err.starts_with("request.url: "), "{bad}: {err}");
        assert!(err.contains("not an absolute URL"), "{bad}: {err}");
    }
    let e = from_har(&entry("http://x:8080?a=1")).unwrap();
    assert_eq!((e.path.as_str(), e.query.as_deref()), ("/", Some("a=1")));
    let record = |path: &str| from_record(&json!({"method": "POST", "path": path}));
    let err = format!("{:#}", record("hooks").unwrap_err());
    assert!(err.contains("\"path\": 'hooks' is not a path"), "{err}");
    assert!(record("/a b").is_err());
    assert!(record("/a").is_ok());
}

#[test]
fn a_json_object_that_is_neither_kind_says_so() {
    for text in ["{}\n", "{\n  \"a\": 1\n}\n"] {
        let err = read_from(text.as_bytes(), "obj.har", |_| Ok(())).unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.starts_with("obj.har is neither a HAR file (it has no log.entries) nor an NDJSON"),
            "{err}"
        );
    }
}

#[test]
fn base64_bodies_decode() {
    let e = from_record(&json!({"method": "POST", "path": "/", "body_base64": "/wA="}));
    assert_eq!(&e.unwrap().body[..], &[0xff, 0x00]);
    let bad = from_record(&json!({"method": "POST", "path": "/", "body_base64": "!!"}));
    assert!(bad.unwrap_err().to_string().contains("does not decode"));
    assert!(from_record(&json!({"path": "/"})).is_err());
}

#[test]
fn base64_header_values_decode_to_bytes_http_allows() {
    let record = |b64: &str| {
        from_record(&json!({"method": "POST", "path": "/",
            "headers": [["x-latin1", b64, "base64"]]}))
    };
    let e = record("Y2Fm6Q==").unwrap();
    assert_eq!(e.headers.get("x-latin1"), Some(&b"caf\xe9"[..]));
    // "a\r\nx: y": a header that would smuggle another one.
    let err = record("YQ0KeDogeQ==").unwrap_err();
    assert!(
        format!("{err:#}").contains("bytes HTTP does not allow"),
        "{err:#}"
    );
    let plain = from_record(&json!({"method": "POST", "path": "/",
        "headers": [["x-a", "a\r\nx: y"]]}));
    assert!(plain.is_err(), "a plain value with CR LF is refused too");
}
