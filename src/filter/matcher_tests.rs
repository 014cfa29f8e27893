//! Unit tests of matching in Rust, and agreement between SQL and Rust on every term.

use bytes::Bytes;
use rusqlite::Connection;

use super::*;
use crate::event::{Classification, HeaderList, Ingress};
use crate::filter::parse;

fn sample() -> (EventSummary, Event) {
    let mut headers = HeaderList::default();
    headers.push("Content-Type", b"application/json".to_vec());
    headers.push("X-Foo", b"bar-1".to_vec());
    let body =
        br#"{"action":"social","platform":"instagram","n":3,"items":[{"id":"a"},{"id":"b"}]}"#;
    let event = Event {
        uid: "u1".into(),
        received_at: 1_000,
        ingress: Ingress::Local,
        method: "POST".into(),
        path: "/hooks/ayrshare".into(),
        query: Some("token=Zebra".into()),
        remote_addr: None,
        headers,
        body: Bytes::from_static(body),
        class: Classification::default(),
        derived_from: None,
    };
    let summary = EventSummary {
        id: 42,
        uid: "u1".into(),
        received_at: 1_000,
        ingress: "local".into(),
        method: "POST".into(),
        path: "/hooks/ayrshare".into(),
        query: Some("token=Zebra".into()),
        remote_addr: None,
        body_size: body.len() as u64,
        body_sha256: String::new(),
        provider: "ayrshare".into(),
        event_type: Some("social.unlink".into()),
        provider_event_id: None,
        summary: None,
        signature: "invalid".into(),
        derived_from: None,
        deliveries: 2,
        status: Some(503),
        outcome: Some("ok".into()),
        duration_us: Some(10),
        replayed: true,
        duplicate_of: None,
        signature_detail: None,
        held_since: None,
    };
    (summary, event)
}

/// (filter, matches the sample)
const CASES: &[(&str, bool)] = &[
    ("method:post", true),
    ("method:GET", false),
    ("path:/hooks/*", true),
    ("path:/hooks", false),
    ("path:/hooks/ayr?hare", true),
    ("status:5xx", true),
    ("status:503", true),
    ("status:400..499", false),
    ("-status:2xx", true),
    ("outcome:ok", true),
    ("outcome:failed", false),
    ("provider:ayrshare", true),
    ("provider:github", false),
    ("type:social.*", true),
    ("type:scheduled", false),
    ("sig:invalid", true),
    ("sig:valid", false),
    ("after:1970-01-01T00:00:00Z", true),
    ("before:1970-01-01T00:00:00Z", false),
    ("id:40..50", true),
    ("id:43..", false),
    ("replayed", true),
    ("-replayed", false),
    ("header:x-foo=bar*", true),
    ("header:X-FOO", true),
    ("header:x-foo=baz", false),
    ("header:x-missing", false),
    ("json:.platform=instagram", true),
    ("json:.platform=insta*", true),
    ("json:.n=3", true),
    ("json:.items[1].id=b", true),
    ("json:.items[].id=b", true),
    ("json:.items[2].id", false),
    ("json:.missing", false),
    ("instagram", true),
    ("INSTAGRAM", true),
    ("zebra", true),
    (r#""\"platform\":\"instagram\"""#, true),
    (r#""platform":"instagram""#, false),
    ("facebook", false),
    ("-facebook", true),
    ("provider:ayrshare status:5xx instagram", true),
    ("provider:ayrshare status:4xx instagram", false),
];

#[test]
fn every_term_matches_in_rust() {
    let (s, e) = sample();
    for (text, want) in CASES {
        let f = parse(text).unwrap();
        assert_eq!(f.matches(&s, &e), *want, "{text}");
        if let Some(answer) = f.matches_summary(&s) {
            assert_eq!(answer, *want, "summary: {text}");
            assert!(!f.needs_body() || !answer, "{text}");
        } else {
            assert!(f.needs_body(), "{text}");
        }
    }
}

#[test]
fn sql_agrees_with_rust_on_indexed_terms() {
    let (s, _) = sample();
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, method, path, status, outcome, provider,
         event_type, signature, received_at, replayed)",
    )
    .unwrap();
    conn.execute(
        "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        rusqlite::params![
            s.id,
            s.method,
            s.path,
            s.status,
            s.outcome,
            s.provider,
            s.event_type,
            s.signature,
            s.received_at,
            s.replayed
        ],
    )
    .unwrap();
    for (text, _) in CASES {
        let f = parse(text).unwrap();
        let Some(want) = f.matches_summary(&s) else {
            continue;
        };
        let sql = f.sql();
        let n: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM events WHERE {}", sql.clause),
                rusqlite::params_from_iter(sql.params),
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n == 1, want, "{text}");
    }
}

#[test]
fn null_status_fails_positive_and_passes_negated_terms() {
    let (mut s, e) = sample();
    s.status = None;
    s.event_type = None;
    assert!(!parse("status:5xx").unwrap().matches(&s, &e));
    assert!(parse("-status:5xx").unwrap().matches(&s, &e));
    assert!(parse("-type:x*").unwrap().matches(&s, &e));
}

#[test]
fn globs() {
    assert!(glob("*", ""));
    assert!(glob("a*c", "abbbc"));
    assert!(glob("a?c", "abc"));
    assert!(!glob("a?c", "ac"));
    assert!(glob("*.unlink", "social.unlink"));
    assert!(!glob("social", "social.unlink"));
    assert!(glob("a*b*c", "aXbYbZc"));
    assert!(!glob("A", "a"));
}
