//! How the Store keeps bodies, the requests' and the app's answers: compressed on disk when
//! that pays, always read back byte for byte.

use serde_json::Value;

use crate::support::{answer, event, fill, ids, ok, temp_db};

#[test]
fn json_bodies_are_kept_compressed_and_read_back_exactly() {
    let (_dir, db) = temp_db();
    let posts: Vec<String> = (0..60)
        .map(|i| {
            format!(
                r#"{{"id":"post{i}","platform":"tiktok","status":"success","postUrl":"https://example.com/p/{i}"}}"#
            )
        })
        .collect();
    let body = format!(
        r#"{{"action":"batch","note":"needle-7731","posts":[{}]}}"#,
        posts.join(",")
    );
    let small = br#"{"action":"feed"}"#;
    let got = fill(
        &db,
        vec![
            (
                event("ayrshare", Some("batch"), "/big", body.as_bytes()),
                None,
            ),
            (event("x", None, "/small", small), None),
        ],
    );

    let conn = rusqlite::Connection::open(&db).unwrap();
    let rows: Vec<(Option<String>, i64, i64)> = conn
        .prepare(
            "SELECT encoding, length(bodies.body), body_size FROM bodies \
             JOIN events ON id = event_id ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows[0].0.as_deref(), Some("lz4"));
    assert!(rows[0].1 * 3 < rows[0].2, "{rows:?}");
    let small_len = small.len() as i64;
    assert_eq!(
        rows[1],
        (None, small_len, small_len),
        "small bodies stay as they are"
    );

    let shown: Value =
        serde_json::from_str(&ok(&db, &["show", &got[0].to_string(), "--json"])).unwrap();
    assert_eq!(shown["body"], body.as_str());
    assert_eq!(shown["body_size"], body.len());
    let found = ok(&db, &["list", "--json", "needle-7731"]);
    assert_eq!(
        ids(&found),
        vec![got[0]],
        "a body search reads compressed bodies"
    );
}

#[test]
fn an_error_page_from_the_app_is_kept_compressed_and_shown_exactly() {
    let (_dir, db) = temp_db();
    // What a web framework's debug page looks like to a webhook sender: a lot of repetitive HTML.
    let frames: String = (0..200)
        .map(|i| {
            format!("<tr><td>app/handlers.py</td><td>line {i}</td><td>handle_webhook</td></tr>\n")
        })
        .collect();
    let page =
        format!("<html><body><h1>KeyError at /hooks/x</h1><table>{frames}</table></body></html>");
    let got = fill(
        &db,
        vec![(
            event("x", None, "/hooks/x", b"{}"),
            Some(("http://127.0.0.1:9", answer(Some(500), &page))),
        )],
    );

    let conn = rusqlite::Connection::open(&db).unwrap();
    let (encoding, stored): (Option<String>, i64) = conn
        .query_row("SELECT encoding, length(body) FROM deliveries", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(encoding.as_deref(), Some("lz4"));
    assert!(stored * 5 < page.len() as i64, "{stored} of {}", page.len());

    let shown: Value =
        serde_json::from_str(&ok(&db, &["show", &got[0].to_string(), "--json"])).unwrap();
    assert_eq!(shown["deliveries"][0]["status"], 500);
    assert_eq!(shown["deliveries"][0]["body"], page.as_str());
}

#[test]
fn a_damaged_body_is_named_and_does_not_hide_other_events_links() {
    let (_dir, db) = temp_db();
    let scheduled = include_str!("../../assets/ayrshare/scheduled.json");
    let published = include_str!("../../assets/ayrshare/scheduled-tiktok-published.json");
    let post = "Qm7xT2pLk9VbR4sNw8Ze";
    assert!(scheduled.contains(post) && published.contains(post));
    let other = scheduled.replace(post, "Zz9yX8wV7uT6sR5qP4oN");
    let got = fill(
        &db,
        vec![
            (
                event("ayrshare", Some("scheduled"), "/a", other.as_bytes()),
                None,
            ),
            (
                event("ayrshare", Some("scheduled"), "/a", scheduled.as_bytes()),
                None,
            ),
            (
                event(
                    "ayrshare",
                    Some("scheduled.tikTokPublished"),
                    "/a",
                    published.as_bytes(),
                ),
                None,
            ),
        ],
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let damaged = conn
        .execute(
            "UPDATE bodies SET body = substr(body, 1, 20) WHERE event_id = ?1 AND encoding = 'lz4'",
            [got[0]],
        )
        .unwrap();
    assert_eq!(damaged, 1, "the first body was stored compressed");

    let shown = ok(&db, &["show", &got[2].to_string()]);
    assert!(
        shown.contains(&format!(
            "follow-up of #{}, the scheduled Event of post {post}",
            got[1]
        )),
        "{shown}"
    );
    let out = crate::support::hooktap(&db, &["show", &got[0].to_string()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "the body of Event #{} does not decompress",
            got[0]
        )),
        "{err}"
    );

    // Damage that still reads (here: other bytes, stored plain) shows in the recorded size.
    conn.execute(
        "UPDATE bodies SET body = x'7b7d', encoding = NULL WHERE event_id = ?1",
        [got[1]],
    )
    .unwrap();
    let out = crate::support::hooktap(&db, &["show", &got[1].to_string()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let recorded = format!(
        "the body of Event #{} does not have the {} bytes recorded for it",
        got[1],
        scheduled.len()
    );
    assert!(err.contains(&recorded), "{err}");
}
