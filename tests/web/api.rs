//! The JSON API against a real `listen`: the shapes of `list --json` / `show --json`, cursor
//! paging, the CLI's filter errors, replay and edit, export, SSE, and the guards.

use std::time::Duration;

use bytes::Bytes;
use serde_json::json;

use crate::common::ok_on;
use crate::support::{Inspected, request, sse_until};

#[tokio::test]
async fn pages_by_cursor_newest_first_with_the_cli_s_shapes_and_filter_errors() {
    let h = Inspected::start().await;
    for i in 0..5 {
        h.webhook(
            &format!("/hooks/{}", if i % 2 == 0 { "even" } else { "odd" }),
            &format!("{{\"n\":{i}}}"),
        )
        .await;
    }
    let first = h.get_json("/api/events?limit=2").await;
    let ids: Vec<i64> = first["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [5, 4]);
    assert_eq!(first["next"], "4");
    let second = h.get_json("/api/events?limit=2&before=4").await;
    let ids: Vec<i64> = second["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [3, 2]);
    // Each row is exactly `list --json`'s object, plus the badges' fields.
    let cli: serde_json::Value =
        serde_json::from_str(ok_on(&h.db, &["list", "--json", "-n", "1"]).trim()).unwrap();
    let mut row = first["events"][0].clone();
    let map = row.as_object_mut().unwrap();
    assert_eq!(map.remove("replayed"), Some(json!(false)));
    map.remove("duplicate_of");
    assert_eq!(row, cli);
    let odd = h.get_json("/api/events?filter=path%3A%2Fhooks%2Fodd").await;
    assert_eq!(odd["events"].as_array().unwrap().len(), 2);
    // A bad filter: 400 with the CLI's message and column.
    let (status, _, body) = h.get("/api/events?filter=status%3A5xx+stauts%3A2xx").await;
    assert_eq!(status, 400);
    let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["column"], 12);
    let cli = crate::common::on_store(&h.db, &["list", "status:5xx", "stauts:2xx"]);
    let cli_err = String::from_utf8_lossy(&cli.stderr);
    assert!(
        cli_err.contains(err["error"].as_str().unwrap()),
        "{cli_err} vs {err}"
    );
}

#[tokio::test]
async fn show_replay_and_edit_go_through_the_cli_s_code() {
    let h = Inspected::start().await;
    let id = h.webhook("/hooks/a", r#"{"hello":"world"}"#).await;
    let shown = h.get_json(&format!("/api/events/{id}")).await;
    let cli: serde_json::Value =
        serde_json::from_str(ok_on(&h.db, &["show", &id.to_string(), "--json"]).trim()).unwrap();
    for key in [
        "id",
        "uid",
        "body",
        "headers",
        "deliveries",
        "provider",
        "signature",
    ] {
        assert_eq!(shown[key], cli[key], "{key}");
    }
    assert!(
        shown["raw"]
            .as_str()
            .unwrap()
            .starts_with("POST /hooks/a HTTP/1.1\n")
    );
    // Without the token, or from another origin: refused, nothing sent.
    let url = h.url(&format!("/api/events/{id}/replay"));
    let (status, _, _) = request("POST", &url, &[], Bytes::from("{}")).await;
    assert_eq!(status, 403);
    let evil = [
        ("x-hooktap-token", h.token.as_str()),
        ("origin", "http://evil.example"),
    ];
    let (status, _, _) = request("POST", &url, &evil, Bytes::from("{}")).await;
    assert_eq!(status, 403);
    assert_eq!(h.target.count(), 1);
    let (status, done) = h
        .post_json(&format!("/api/events/{id}/replay"), json!({}))
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], 200);
    assert_eq!(h.target.count(), 2);
    let shown = h.get_json(&format!("/api/events/{id}")).await;
    assert_eq!(shown["deliveries"][1]["kind"], "replay");
    let diff = h.get_json(&format!("/api/events/{id}/diff")).await;
    assert!(diff["lines"].as_array().is_some());
    // Edit and replay: a new Event derived from the original, as `replay --edit` stores it.
    let raw = "POST /hooks/edited HTTP/1.1\ncontent-type: application/json\n\n{\"hello\":\"edit\"}";
    let (status, done) = h
        .post_json(&format!("/api/events/{id}/replay"), json!({ "raw": raw }))
        .await;
    assert_eq!(status, 200, "{done}");
    let new_id = done["event_id"].as_i64().unwrap();
    assert_ne!(new_id, id);
    let edited = h.get_json(&format!("/api/events/{new_id}")).await;
    assert_eq!(edited["derived_from"], id);
    assert_eq!(edited["body"], "{\"hello\":\"edit\"}");
    let (status, err) = h
        .post_json(
            &format!("/api/events/{id}/replay"),
            json!({ "to": "ftp://x" }),
        )
        .await;
    assert_eq!(status, 400, "{err}");
}

#[tokio::test]
async fn guards_and_headers_on_every_answer() {
    let h = Inspected::start().await;
    let addr: std::net::SocketAddr = h.base.trim_start_matches("http://").parse().unwrap();
    let (text, _) = crate::common::raw(
        addr,
        b"GET /api/events HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 403"), "{text}");
    let (text, _) = crate::common::raw(
        addr,
        format!(
            "GET / HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n",
            addr.port()
        )
        .as_bytes(),
        Duration::from_secs(5),
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(&format!(
        "<meta name=\"hooktap-token\" content=\"{}\">",
        h.token
    )));
    let (status, headers, _) = h.get("/api/events").await;
    assert_eq!(status, 200);
    let has = |n: &str, v: &str| headers.iter().any(|(hn, hv)| hn == n && hv == v);
    assert!(has(
        "content-security-policy",
        "default-src 'self'; frame-ancestors 'none'"
    ));
    assert!(has("x-content-type-options", "nosniff"));
    assert!(has("referrer-policy", "no-referrer"));
    assert!(
        !headers
            .iter()
            .any(|(n, _)| n.starts_with("access-control-"))
    );
    h.webhook("/hooks/x", r#"{"a":1}"#).await;
    let (status, headers, body) = h.get("/api/export?format=ndjson").await;
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(n, v)| n == "content-disposition" && v.starts_with("attachment"))
    );
    assert_eq!(String::from_utf8_lossy(&body).lines().count(), 1);
}

#[tokio::test]
async fn the_stream_sends_commits_and_resumes_after_last_event_id() {
    let h = Inspected::start().await;
    let first = h.webhook("/hooks/before", "{}").await;
    let url = h.url("/api/stream");
    let text = sse_until(&url, None, "\"path\":\"/hooks/live\"", async || {
        h.webhook("/hooks/live", "{}").await;
    })
    .await;
    assert!(
        !text.contains("/hooks/before"),
        "a fresh stream starts at now: {text}"
    );
    assert!(text.contains("event: event\n"), "{text}");
    // Resuming from the id before the first Event sends both, in order.
    let text = sse_until(
        &url,
        Some(&format!("{}-0", first - 1)),
        "/hooks/live",
        async || {},
    )
    .await;
    let before = text
        .find("/hooks/before")
        .expect("the missed Event is sent");
    assert!(before < text.find("/hooks/live").unwrap());
    // A filter applies to the stream as to the list.
    let filtered = h.url("/api/stream?filter=path%3A%2Fhooks%2Fwanted");
    let text = sse_until(&filtered, None, "/hooks/wanted", async || {
        h.webhook("/hooks/unwanted", "{}").await;
        h.webhook("/hooks/wanted", "{}").await;
    })
    .await;
    assert!(!text.contains("/hooks/unwanted"), "{text}");
}
